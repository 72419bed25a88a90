"""The dumper's exceptions; each carries a sentence a person can read."""


class DumperError(Exception):
    """Base of every dumper error."""


class DumpError(DumperError):
    """A dump cannot complete for a reason a person can act on; ends in DumpFailed."""

    def __init__(self, reason: str, *, exit_code: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.exit_code = exit_code


class ToolNotFoundError(DumpError):
    """No suitable dump tool is installed."""


class ServerUnreachableError(DumpError):
    """The database server refused or did not answer the connection."""


class DatabaseGoneError(ServerUnreachableError):
    """The server has no database of that name (any more: it may have been dropped since it
    was listed)."""


class ToolFailedError(DumpError):
    """The dump tool exited with an error, or was killed for staying silent too long."""


class StagingStalledError(DumpError):
    """Staged chunks were not taken by the uploader within the stall timeout."""


class DumpCancelledError(DumpError):
    """A user cancelled the snapshot; the attempt is discarded and the snapshot fails."""


class ArtifactError(DumperError):
    """The artifact or its manifest cannot be restored; the message is a sentence."""
