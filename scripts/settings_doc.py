"""Write README's configuration tables from the settings classes: `make docs`.

Every setting is a pydantic-settings field, so its environment variable, default and
description are in the code; this script renders them between the README markers
`<!-- settings:start -->` and `<!-- settings:end -->`. `--check` exits 1 when the README is
out of date (a unit test runs the same comparison).
"""

import importlib
import re
import sys
import typing
from collections.abc import Iterator
from enum import Enum
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, SecretStr
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined
from pydantic_settings import BaseSettings

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as `python scripts/settings_doc.py` from anywhere
    sys.path.insert(0, str(ROOT))

from shared.logging import redact_text  # noqa: E402 - needs the repository on sys.path first

README = ROOT / "README.md"
START = "<!-- settings:start -->"
END = "<!-- settings:end -->"
SERVICES = ("api", "dumper", "uploader", "catalog")
_PREFIX_REMARK = re.compile(r"\s*\((env )?prefix `[A-Z_]+`\)")


def service_settings(service: str) -> type[BaseSettings]:
    """The one `BaseSettings` class a service's `settings.py` defines for the service."""
    module = importlib.import_module(f"services.{service}.settings")
    expected = f"{service.capitalize()}Settings"
    found = getattr(module, expected, None)
    if not (isinstance(found, type) and issubclass(found, BaseSettings)):
        raise SystemExit(f"settings_doc: services/{service}/settings.py has no {expected}")
    return found


def nested_settings(field: FieldInfo) -> type[BaseSettings] | None:
    """The settings class a field composes (it reads its own env prefix), if any."""
    for candidate in (field.annotation, *typing.get_args(field.annotation)):
        if isinstance(candidate, type) and issubclass(candidate, BaseSettings):
            return candidate
    return None


def env_name(prefix: str, name: str, field: FieldInfo) -> str:
    alias = field.validation_alias or field.alias
    if isinstance(alias, AliasChoices):
        alias = next((choice for choice in alias.choices if isinstance(choice, str)), None)
    if isinstance(alias, str):
        return alias.upper()
    return f"{prefix}{name}".upper()


def render_secret(value: SecretStr) -> str:
    """A secret's default, without the secret: empty, a URL with its password masked, or a key."""
    secret = value.get_secret_value()
    if not secret:
        return '`""`'
    if "://" in secret:
        return f"`{redact_text(secret)}`"
    return "a development key"


def render_value(value: Any) -> str:
    if isinstance(value, SecretStr):
        return render_secret(value)
    if value is None:
        return "unset"
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, bool):
        text = str(value).lower()
    elif isinstance(value, BaseModel):
        text = value.model_dump_json()
    elif isinstance(value, list):  # a comma-separated setting
        text = ",".join(str(item) for item in value)
    else:
        text = str(value)
    return f"`{text}`" if text else '`""`'


def render_default(field: FieldInfo) -> str:
    if field.default_factory is not None:
        return render_value(field.default_factory())  # type: ignore[call-arg]
    if field.default is PydanticUndefined:
        return "**required**"
    return render_value(field.default)


def choices(field: FieldInfo) -> str:
    """` One of a, b.` for a Literal field, else nothing."""
    annotation = field.annotation
    for candidate in (annotation, *typing.get_args(annotation)):
        if typing.get_origin(candidate) is Literal:
            options = ", ".join(f"`{option}`" for option in typing.get_args(candidate))
            return f" One of {options}."
    return ""


def describe(field: FieldInfo) -> str:
    text = (field.description or "").strip()
    if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel):
        text += " (JSON)"
    text += choices(field)
    return " ".join(text.split()).replace("|", "\\|")


def rows(cls: type[BaseSettings]) -> Iterator[tuple[str, str, str]]:
    """(variable, default, description) of each plain field of `cls`."""
    prefix = str(cls.model_config.get("env_prefix", ""))
    for name, field in cls.model_fields.items():
        if nested_settings(field) is None:
            yield env_name(prefix, name, field), render_default(field), describe(field)


def table(cls: type[BaseSettings]) -> list[str]:
    lines = ["| Variable | Default | Description |", "|---|---|---|"]
    lines += [f"| `{var}` | {default} | {text} |" for var, default, text in rows(cls)]
    return lines


def collect_shared(
    cls: type[BaseSettings], service: str, found: dict[type[BaseSettings], list[str]]
) -> None:
    for field in cls.model_fields.values():
        nested = nested_settings(field)
        if nested is not None:
            users = found.setdefault(nested, [])
            if service not in users:
                users.append(service)
            collect_shared(nested, service, found)


def summary(cls: type[BaseSettings]) -> str:
    """The first line of the class docstring, without its "(env prefix `X_`)" remark."""
    doc = (cls.__doc__ or cls.__name__).strip().splitlines()[0]
    return _PREFIX_REMARK.sub("", doc).rstrip(".")


def render() -> str:
    """The Markdown that belongs between the README markers."""
    services = {service: service_settings(service) for service in SERVICES}
    shared: dict[type[BaseSettings], list[str]] = {}
    for service, cls in services.items():
        collect_shared(cls, service, shared)

    lines = [
        "<!-- Generated by `make docs` (scripts/settings_doc.py) from the settings classes;",
        "     edit the Field descriptions in the code, not this table. -->",
        "",
        "### Shared by several services",
        "",
    ]
    for cls, users in shared.items():
        prefix = str(cls.model_config.get("env_prefix", "")).upper()
        used = ", ".join(users)
        lines += [f"#### `{prefix}*`: {summary(cls)}", "", f"Read by: {used}.", ""]
        lines += [*table(cls), ""]
    lines += ["### Per service", ""]
    for service, cls in services.items():
        prefix = str(cls.model_config.get("env_prefix", "")).upper()
        lines += [f"#### {service} (`{prefix}*`)", ""]
        lines += [*table(cls), ""]
    return "\n".join(lines).rstrip() + "\n"


def readme_block(text: str) -> str:
    """What the README currently holds between the markers."""
    try:
        _head, rest = text.split(START, 1)
        body, _tail = rest.split(END, 1)
    except ValueError:
        raise SystemExit(f"settings_doc: README.md lacks {START} ... {END}") from None
    return body.strip("\n") + "\n"


def replace_block(text: str, block: str) -> str:
    head, rest = text.split(START, 1)
    _body, tail = rest.split(END, 1)
    return f"{head}{START}\n{block}{END}{tail}"


def main(argv: list[str]) -> int:
    text = README.read_text()
    generated = render()
    if readme_block(text) == generated:
        return 0
    if "--check" in argv:
        print("settings_doc: README.md's settings tables are out of date; run `make docs`")
        return 1
    README.write_text(replace_block(text, generated))
    print("settings_doc: README.md's settings tables updated")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
