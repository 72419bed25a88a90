"""Text fields as the api accepts them: no control characters (PostgreSQL text and jsonb
cannot hold NUL, and none belongs in a name, a host or a path)."""

from typing import Annotated, Any

from pydantic import AfterValidator, Field, SecretStr

PRINTABLE = r"^[^\x00-\x1f\x7f]+$"
"""One or more characters, none of them a control character."""

Name = Annotated[str, Field(min_length=1, max_length=100, pattern=PRINTABLE)]
Host = Annotated[str, Field(min_length=1, max_length=255, pattern=r"^[^\x00-\x20\x7f/]+$")]
Text = Annotated[str, Field(min_length=1, max_length=255, pattern=PRINTABLE)]


def no_nul(value: Any) -> Any:
    """Refuse a NUL anywhere in a value (config dicts included)."""
    text = value.get_secret_value() if isinstance(value, SecretStr) else repr(value)
    if "\x00" in text or "\\x00" in text:
        raise ValueError("must not contain NUL characters")
    return value


NoNul = AfterValidator(no_nul)
