"""The uploader's exceptions; each carries a sentence a person can read."""


class UploaderError(Exception):
    """Base of every uploader error."""
