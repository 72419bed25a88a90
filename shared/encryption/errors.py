"""The exceptions of encryption at rest; each message is a sentence for a person."""


class EncryptionError(Exception):
    """Base of every encryption error."""


class KeyringError(EncryptionError):
    """A master keyring setting or key file cannot be parsed."""


class WrongKeyError(EncryptionError):
    """No master key of the keyring opens the wrapped data key (or it was tampered with)."""

    def __init__(self, detail: str = "") -> None:
        super().__init__("cannot decrypt: wrong key" + (f" ({detail})" if detail else ""))


class CorruptChunkError(EncryptionError):
    """A sealed chunk does not open: tampered with, swapped, reordered or cut."""

    def __init__(self, seq: int, detail: str = "") -> None:
        super().__init__(
            f"cannot decrypt: chunk {seq} is corrupt" + (f" ({detail})" if detail else "")
        )
        self.seq = seq
