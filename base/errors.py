"""The one exception type for problems a user can fix (bad paths, bad files, bad flags)."""


class DataError(ValueError):
    """Raised with a one-line message that names the problem and the fix.

    The CLIs turn it into ``error: <message>`` and exit code 2, so the message
    must stand on its own, without a traceback.
    """
