"""The errors that end a run with one clear line (the CLIs catch them; no traceback)."""


class UserError(ValueError):
    """A problem the user can fix: a path, a file, a flag, a device, a run to resume.

    Raised with a one-line message that names the problem and the fix. The
    CLIs turn it into ``error: <message>`` and exit code 2, so the message
    must stand on its own, without a traceback.
    """


class TrainingDiverged(RuntimeError):
    """A loss became NaN or infinite; raised before any checkpoint could store the bad weights."""


def first_line(error: BaseException) -> str:
    """An exception's first line, for a one-line error that says why (its type when it has no text)."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
