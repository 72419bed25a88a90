"""Database-name patterns: RE2 syntax, compiled with bounded memory. Pure.

RE2 has no backreferences or lookaround, which is what lets it match in linear time; a
pattern using them is refused with RE2's own reason when a configuration is saved.
"""

from typing import Protocol

import re2

MAX_PATTERN_LENGTH = 500
"""Longest pattern accepted: database names are short, so are the patterns that pick them."""
_MAX_MEMORY = 8 << 20
"""Bytes RE2 may use for one compiled pattern (its default); a bigger one is refused."""


class CompiledPattern(Protocol):
    def fullmatch(self, text: str) -> object | None: ...


def compile_pattern(pattern: str) -> CompiledPattern:
    """The compiled pattern; ValueError with a sentence when RE2 refuses it."""
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise ValueError(
            f"databases: the pattern has {len(pattern)} characters; at most {MAX_PATTERN_LENGTH}"
        )
    options = re2.Options()
    options.max_mem = _MAX_MEMORY
    options.log_errors = False  # the refusal is the user's answer, not a line on stderr
    try:
        compiled: CompiledPattern = re2.compile(pattern, options)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else ""
        if isinstance(reason, bytes):
            reason = reason.decode(errors="replace")
        raise ValueError(
            f"databases: pattern {pattern!r} is not a valid regular expression "
            f"(RE2 syntax: no backreferences or lookaround): {reason}"
        ) from None
    return compiled
