"""The operator's hooks: named commands defined in a file on the host (`API_HOOKS_FILE`).

A backup configuration only names a hook; what runs is what the operator wrote, so an API
token can choose among the operator's commands but never make up one. The file is TOML (or
JSON when its name ends in `.json`), one table per hook:

    [notify-ops]
    argv = ["/usr/local/bin/notify-ops", "--quiet"]
    timeout = 60
    description = "Tell the ops channel"
    events = ["post_backup"]

It is read once at start-up; a file that cannot be read or parsed stops the api with a
sentence, so a typo never silently turns every hook off.
"""

import json
import pwd
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from services.api.errors import InvalidRequestError

HookEvent = Literal["post_backup", "post_restore"]
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
HookName = Annotated[str, Field(pattern=NAME_PATTERN, examples=["notify-ops"])]
Argument = Annotated[str, Field(min_length=1, max_length=4096, pattern=r"^[^\x00]+$")]
VariableName = Annotated[str, Field(pattern=r"^[A-Z_][A-Z0-9_]{0,99}$")]
REFUSED_COMMAND = "hooks are defined by the operator in API_HOOKS_FILE; pick one by name"


def _all_events() -> list[HookEvent]:
    return ["post_backup", "post_restore"]


class HookFileError(ValueError):
    """The hooks file cannot be read or holds an invalid hook; the api does not start."""


class HookDefinition(BaseModel):
    """One hook as the operator defined it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    argv: list[Argument] = Field(min_length=1, max_length=64, description="Run without a shell.")
    timeout: float | None = Field(
        default=None, gt=0, le=86400, description="Seconds; API_NOTIFY_HOOK_TIMEOUT when unset."
    )
    description: str = Field(default="", max_length=500)
    events: list[HookEvent] = Field(default_factory=_all_events, min_length=1)
    environment: dict[VariableName, str] = Field(
        default_factory=dict,
        description="Variables of the operator's own for this hook (never the api's).",
    )
    user: str | None = Field(
        default=None,
        description="Run as this OS user (the api needs root or CAP_SETUID/CAP_SETGID for it).",
    )

    @field_validator("environment")
    @classmethod
    def _not_ours(cls, value: dict[str, str]) -> dict[str, str]:
        taken = sorted(k for k in value if k == "PATH" or k.startswith("DATABASEMENT_"))
        if taken:
            raise ValueError(f"environment: {taken[0]} is set by the api itself")
        return value

    @field_validator("user")
    @classmethod
    def _known_user(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                pwd.getpwnam(value)
            except KeyError:
                raise ValueError(f"user {value!r} does not exist on this host") from None
        return value


class HookPublic(BaseModel):
    """A hook as the API shows it: what it is for, never what it runs."""

    name: str = Field(examples=["notify-ops"])
    description: str = Field(examples=["Tell the ops channel"])
    timeout: float = Field(description="Seconds it may run before it is killed.")
    events: list[HookEvent] = Field(description="Where a configuration may use it.")


@dataclass(frozen=True)
class HookCatalog:
    """Every hook the operator defined, by name; empty when no file is configured."""

    hooks: Mapping[str, HookDefinition]
    default_timeout: float = 300.0

    def timeout_of(self, hook: HookDefinition) -> float:
        return hook.timeout if hook.timeout is not None else self.default_timeout

    def get(self, name: str) -> HookDefinition | None:
        return self.hooks.get(name)

    def public(self) -> list[HookPublic]:
        return [
            HookPublic(
                name=name,
                description=hook.description,
                timeout=self.timeout_of(hook),
                events=hook.events,
            )
            for name, hook in sorted(self.hooks.items())
        ]

    def check(self, name: str | None, event: HookEvent) -> None:
        """InvalidRequestError unless `name` is None or a hook defined for `event`."""
        if name is None:
            return
        hook = self.hooks.get(name)
        if hook is None:
            known = ", ".join(sorted(self.hooks)) or "none (API_HOOKS_FILE defines no hook)"
            raise InvalidRequestError(
                f"{event}_hook: no hook is named {name!r}; the operator defined: {known}"
            )
        if event not in hook.events:
            raise InvalidRequestError(
                f"{event}_hook: hook {name!r} is defined only for {', '.join(hook.events)}"
            )


def parse_hooks(data: Any, *, source: str) -> dict[str, HookDefinition]:
    """The hooks of a parsed file (a table of tables); HookFileError naming the first fault."""
    if not isinstance(data, dict):
        raise HookFileError(f"{source}: expected a table of hooks by name")
    hooks = {}
    for name, body in data.items():
        if not isinstance(name, str) or not re.match(NAME_PATTERN, name):
            raise HookFileError(
                f"{source}: {name!r} is not a hook name (letters, digits, '_', '.', '-')"
            )
        try:
            hooks[name] = HookDefinition.model_validate(body)
        except ValidationError as exc:
            problem = exc.errors()[0]
            where = ".".join(str(part) for part in problem["loc"])
            raise HookFileError(
                f"{source}: hook {name!r}: {where + ': ' if where else ''}{problem['msg']}"
            ) from None
    return hooks


def load_hooks(path: Path | None, *, default_timeout: float) -> HookCatalog:
    """The catalog from `path` (TOML, or JSON by its suffix); empty without a path."""
    if path is None:
        return HookCatalog({}, default_timeout)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise HookFileError(
            f"API_HOOKS_FILE {path} cannot be read: {exc.strerror or type(exc).__name__}"
        ) from None
    try:
        data = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        raise HookFileError(f"API_HOOKS_FILE {path} is not valid: {exc}") from None
    return HookCatalog(parse_hooks(data, source=f"API_HOOKS_FILE {path}"), default_timeout)
