"""What the CLI reports instead of a traceback: one sentence and an exit code."""

EXIT_ERROR = 1
"""The request could not be made or the API refused it."""

EXIT_FAILED = 3
"""The request was carried out and its outcome is a failure (a failed backup or check)."""


class CliError(Exception):
    """An error the user can act on; its message is the whole sentence shown."""

    def __init__(self, sentence: str, *, exit_code: int = EXIT_ERROR) -> None:
        super().__init__(sentence)
        self.exit_code = exit_code
