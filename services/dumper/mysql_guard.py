"""A streaming filter that refuses a mysql/mariadb client command in a restore's input.

The client itself runs with `--binary-mode` (every `\\` command but `\\C` off, and the
long forms such as `system` and `source` sent to the server as SQL) and, where it has it,
MariaDB's `--sandbox`; this filter is there to fail such a dump up front with a sentence.
mysqldump output has a backslash only inside quoted strings, plus the line
`/*M!999999\\- enable the sandbox mode */` that mariadb-dump writes first (it turns the
sandbox on). So a backslash outside '...' or "..." strings and outside plain comments is
refused; `/*! ... */` version comments are SQL to the client and are read as such.
"""

import re

from services.dumper._psql_lexer import RefusedInputError

__all__ = ["MysqlInputGuard", "RefusedInputError"]

_SANDBOX_LINE = b"/*M!999999\\- enable the sandbox mode */"
_SANDBOX = re.compile(re.escape(_SANDBOX_LINE) + rb"[ \t\r]*(?:\n|\Z)")
_NORMAL_STOP = re.compile(rb"['\"`#\\\n]|--[ \t\r\n]|/\*(?!M?!)")
_ESCAPED_STOP = {q: re.compile(rb"\\.|" + q + rb"|\n", re.DOTALL) for q in (b"'", b'"')}
_CLOSERS = {b"#": b"\n", b"`": b"`", b"/*": b"*/"}
_SAFE_RUN = re.compile(
    rb"""(?:
        [^'"`#\\\n/-]++                              # plain SQL
      | \n
      | '(?:[^'\\]++|\\[\s\S])*+'                  # whole strings, escapes inside
      | "(?:[^"\\]++|\\[\s\S])*+"
      | `[^`]*+`
      | \#[^\n]*+\n                                   # whole comments
      | --(?:[ \t\r][^\n]*+)?\n
      | -(?=[^-]|-[^ \t\r\n])                         # lookaheads need a byte: at
                                                    # the piece's end, the reading
      | /\*(?=[^M!]|M[^!])(?:[^*]++|\*(?!/))*+\*/    # below waits for more
      | /(?=[^*])
      | /(?=\*!)                                     # a version comment is SQL
    )*+""",
    re.VERBOSE,
)
"""What the token-by-token reading below would pass over without a change of state, in one
match run by the regex engine: the dump is mostly strings, and reading them one regex
search at a time ran at a few MB/s. `/*M!` and anything unfinished are left to it."""
_TAIL = 3
"""Bytes that may be the start of `-- `, `/*` or `/*M!`, carried to the next piece."""


class MysqlInputGuard:
    """Feed it the dump piece by piece; it returns what may go to the client or raises
    RefusedInputError with a sentence."""

    def __init__(self) -> None:
        self._state = b""
        """b"" outside quotes, the quote byte inside one, b"#" or b"/*" in a comment."""
        self._carry = b""
        self._line = 1
        self._at_line_start = True

    def feed(self, data: bytes) -> bytes:
        return self._run(self._carry + data if self._carry else data, final=False)

    def finish(self) -> bytes:
        return self._run(self._carry, final=True)

    def _run(self, buf: bytes, *, final: bool) -> bytes:
        pos = 0
        while pos < len(buf):
            before = pos
            pos = self._step(buf, pos, final=final)
            if pos == before:
                break
        self._line += buf.count(b"\n", 0, pos)
        self._carry = buf[pos:]
        return buf[:pos]

    def _step(self, buf: bytes, pos: int, *, final: bool) -> int:
        state = self._state
        if state in {b"'", b'"'}:
            found = _ESCAPED_STOP[state].search(buf, pos)
            if found is None:
                trailing = not final and buf.endswith(b"\\")
                return self._moved(buf, len(buf) - 1 if trailing else len(buf))
            if found.group() == state:
                self._state = b""
            return self._moved(buf, found.end())
        if state:
            closer = _CLOSERS[state]
            end = buf.find(closer, pos)
            if end < 0:
                keep = 0 if final or state != b"/*" or not buf.endswith(b"*") else 1
                return self._moved(buf, len(buf) - keep)
            self._state = b""
            return self._moved(buf, end + len(closer))
        safe = _SAFE_RUN.match(buf, pos)  # it always matches, at times nothing
        if safe and safe.end() > pos:
            return self._moved(buf, safe.end())
        return self._normal(buf, pos, final=final)

    def _sandbox_line(self, buf: bytes, pos: int, *, final: bool) -> int | None:
        """Past mariadb-dump's first line, `pos` to wait for more of it, None if not it."""
        if not (self._at_line_start and buf.startswith(b"/*M!", pos)):
            return None
        sandbox = _SANDBOX.match(buf, pos)
        if sandbox and (final or sandbox.group().endswith(b"\n")):
            return self._moved(buf, sandbox.end())
        if not final and _SANDBOX_LINE.startswith(buf[pos : pos + len(_SANDBOX_LINE)]):
            return pos
        return None

    def _normal(self, buf: bytes, pos: int, *, final: bool) -> int:
        sandbox = self._sandbox_line(buf, pos, final=final)
        if sandbox is not None:
            return sandbox
        found = _NORMAL_STOP.search(buf, pos)
        if found is None:
            end = len(buf) if final else max(pos, len(buf) - _TAIL)
            return self._moved(buf, end)
        token = found.group()
        if token == b"/*" and not final and found.end() + 2 > len(buf):
            return self._moved(buf, found.start())  # `/*!` or `/*M!` may be arriving
        if token == b"\\":
            line = self._line + buf.count(b"\n", 0, found.start())
            message = f"the dump contains a mysql client command outside a string (line {line})"
            raise RefusedInputError(f"{message}: refused")
        if token == b"\n":
            self._at_line_start = True
            return found.end()
        self._state = b"/*" if token == b"/*" else token[:1]
        if token.startswith(b"--"):
            self._state = b"#"  # to the end of the line, like `#`
            return self._moved(buf, found.end() - 1)
        return self._moved(buf, found.end())

    def _moved(self, buf: bytes, end: int) -> int:
        if end > 0:
            self._at_line_start = buf[end - 1 : end] == b"\n"
        return end
