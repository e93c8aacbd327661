"""The one exception type for problems a user can fix (bad paths, bad files, bad flags)."""


class DataError(ValueError):
    """Raised with a one-line message that names the problem and the fix.

    The CLIs turn it into ``error: <message>`` and exit code 2, so the message
    must stand on its own, without a traceback.
    """


def first_line(error: BaseException) -> str:
    """An exception's first line, for a one-line error that says why (its type when it has no text)."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
