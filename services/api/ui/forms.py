"""HTML forms into the api's own request schemas, and their errors back next to the fields."""

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError
from starlette.datastructures import FormData

SKIPPED = {"csrf_token"}


def form_values(form: FormData) -> dict[str, str]:
    """Every text field of the form, trimmed (file fields are never sent by these forms)."""
    return {
        key: value.strip()
        for key, value in form.items()
        if isinstance(value, str) and key not in SKIPPED
    }


def blank_to_none(values: Mapping[str, str], *names: str) -> dict[str, Any]:
    return {name: (values.get(name) or None) for name in names}


def tags_of(text: str | None) -> list[str]:
    return [tag for tag in (part.strip() for part in (text or "").split(",")) if tag]


def field_errors(exc: ValidationError) -> dict[str, str]:
    """`{field: sentence}` for the form: the innermost field name a person typed into."""
    errors: dict[str, str] = {}
    for error in exc.errors():
        names = [str(part) for part in error.get("loc", ()) if isinstance(part, str)]
        # Discriminated unions add the tag ("local") to the location; the field is last.
        field = names[-1] if names else "form"
        message = str(error.get("msg", "is not valid")).removeprefix("Value error, ")
        errors.setdefault(field, message)
    return errors
