"""The uploader's exceptions; each carries a sentence a person can read."""


class UploaderError(Exception):
    """Base of every uploader error."""


class CorruptChunkError(UploaderError):
    """A staged chunk's bytes do not match the checksum the dumper reported."""


class MissingChunkError(UploaderError):
    """A staged chunk is gone from the staging area and not stored in the volume either."""


class IncompleteArtifactError(UploaderError):
    """The stored chunks do not add up to the artifact the dump reported."""
