"""The end of a tool's stderr, turned into a reason a person can read without any secret."""

import re
from collections import deque

from shared.logging import REDACTED, redact_text

MAX_LINES = 6
MAX_CHARS = 800

_SECRET_ASSIGNMENT = re.compile(
    r"(?P<key>\b(?:password|passwd|pwd|pgpassword|secret|token)\b\s*[=:]\s*)"
    r"(?!(?:YES|NO)\))(?P<value>\"[^\"]*\"|'[^']*'|\S+)",
    re.IGNORECASE,
)
_NOISE = re.compile(r"^\s*(?:/\*M!999999\\- enable the sandbox mode \*/)?\s*$")


class StderrTail:
    """Keeps the last lines a tool wrote to stderr; memory stays bounded."""

    def __init__(self, *, lines: int = 50) -> None:
        self._lines: deque[str] = deque(maxlen=lines)

    def feed(self, data: bytes) -> None:
        for line in data.decode("utf-8", "replace").splitlines():
            self._lines.append(line[:MAX_CHARS])

    @property
    def text(self) -> str:
        return "\n".join(self._lines)


def sanitise(text: str, *, secrets: tuple[str, ...] = ()) -> str:
    """The last meaningful lines of `text` on one line, with every secret removed."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    text = redact_text(text)
    text = _SECRET_ASSIGNMENT.sub(lambda m: m.group("key") + REDACTED, text)
    lines = [line.strip() for line in text.splitlines() if not _NOISE.match(line)]
    summary = " ".join(lines[-MAX_LINES:])
    return summary[-MAX_CHARS:]


def tool_failure(tool: str, exit_code: int, stderr: str, *, secrets: tuple[str, ...]) -> str:
    """`pg_dump exited with code 1: <last stderr lines>`."""
    detail = sanitise(stderr, secrets=secrets)
    reason = f"{tool} exited with code {exit_code}"
    if exit_code < 0:
        reason = f"{tool} was killed by signal {-exit_code}"
    return f"{reason}: {detail}" if detail else reason
