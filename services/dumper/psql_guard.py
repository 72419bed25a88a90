"""A streaming filter that keeps psql's backslash commands out of a restore's input.

psql runs `\\!`, `\\o |cmd`, `\\copy ... program` and friends wherever a backslash stands
outside a quoted string or comment, and those run inside the dumper. pg_dump's plain output
has exactly one kind of line where a backslash stands outside SQL quoting: COPY data (and
the `\\restrict`/`\\unrestrict` pair pg_dump writes around the whole dump). So the filter
lexes the SQL the way psql does (quotes, E-strings, dollar quotes, nested comments, paren
and BEGIN ... END depth for where a statement ends), skips the data that follows a
`COPY name [(columns)] FROM stdin` statement up to its `\\.` line, and refuses the dump at
the first backslash anywhere else. Where psql's reading could differ from ours (a string
whose end depends on standard_conforming_strings or on a multibyte client encoding, a NUL
byte, digits glued to BEGIN/END in a function), the dump is refused too when psql cannot be
restricted: refusing a strange dump is safe, reading it differently from psql is not. Under
our own `\\restrict` key psql refuses every command itself, so the filter then reads strings
as pg_dump writes them (standard_conforming_strings on) and lets such literals pass.

Memory stays bounded: only a short unfinished token is carried from one piece to the next.
"""

import re
from dataclasses import dataclass, field

from services.dumper._psql_lexer import NORMAL, RefusedInputError, SqlLexer

__all__ = ["PsqlInputGuard", "RefusedInputError"]

RESTRICT_LINE = re.compile(rb"\\(restrict|unrestrict) ([A-Za-z0-9]{1,256})(\r?\n|\Z)")
_LINE_PREFIX_MAX = 300
_NUL = b"\0"


@dataclass
class _Restrict:
    """pg_dump's own `\\restrict KEY` ... `\\unrestrict KEY` pair, as found in the dump."""

    key: bytes | None = None
    closed: bool = False
    dropped_lines: list[int] = field(default_factory=list)


class PsqlInputGuard:
    """Feed it the dump piece by piece; it returns what may go to psql or raises
    RefusedInputError with a sentence. `restrict_key` makes psql itself refuse every
    backslash command too (psql 13.22+, 14.19+, 15.14+, 16.10+, 17.6+)."""

    def __init__(self, *, restrict_key: str | None = None, begin_blocks: bool = True) -> None:
        self._lexer = SqlLexer(begin_blocks=begin_blocks, strict=restrict_key is None)
        self._carry = b""
        self._line = 1
        self._copies = 0
        """COPY data blocks still to skip before SQL resumes."""
        self._at_line_start = True
        self._restrict = _Restrict()
        self._prefix = f"\\restrict {restrict_key}\n".encode() if restrict_key else b""

    def feed(self, data: bytes) -> bytes:
        return self._run(self._carry + data if self._carry else data, final=False)

    def finish(self) -> bytes:
        return self._run(self._carry, final=True)

    def _refuse(self, buf: bytes, pos: int, what: str) -> RefusedInputError:
        line = self._line + buf.count(b"\n", 0, pos)
        return RefusedInputError(f"the dump {what} (line {line}): refused")

    def _run(self, buf: bytes, *, final: bool) -> bytes:
        nul = buf.find(_NUL)
        if nul >= 0:
            raise self._refuse(buf, nul, "contains a NUL byte")
        out: list[bytes] = [self._prefix]
        self._prefix = b""
        pos = 0
        while pos < len(buf):
            start = pos
            if self._copies:
                pos = self._skip_copy_data(buf, pos, final=final)
                out.append(buf[start:pos])
            else:
                pos, keep = self._sql(buf, pos, final=final)
                if keep:
                    out.append(buf[start:pos])
                else:
                    out.append(b"\n")  # the line pg_dump's \restrict stood on, emptied
            if pos == start:
                break
        self._line += buf.count(b"\n", 0, pos)
        self._carry = buf[pos:]
        return out[1] if len(out) == 2 and not out[0] else b"".join(out)

    def _skip_copy_data(self, buf: bytes, pos: int, *, final: bool) -> int:
        """Past COPY data up to (and with) the `\\.` line ending each pending block."""
        while self._copies:
            if self._at_line_start:
                end = self._terminator_end(buf, pos, final=final)
                if end is None:
                    return pos  # too few bytes to tell yet
                if end > pos:
                    self._copies -= 1
                    pos = end
                    continue
            candidate = buf.find(b"\n\\.", pos)
            if candidate >= 0:
                pos, self._at_line_start = candidate + 1, True
                continue
            last = buf.rfind(b"\n", pos)
            tail = buf[last + 1 :]
            if last >= 0 and not final and b"\\.\r\n".startswith(tail):
                self._at_line_start = True  # a short last line that may yet be `\\.`
                return last + 1
            self._at_line_start = last >= 0 and not tail
            return len(buf)
        return pos

    @staticmethod
    def _terminator_end(buf: bytes, pos: int, *, final: bool) -> int | None:
        """End of a `\\.` line starting at `pos`, `pos` if none starts there, None if unsure."""
        head = buf[pos : pos + 4]
        for line in (b"\\.\n", b"\\.\r\n"):
            if head.startswith(line):
                return pos + len(line)
        if final:
            return pos + len(head) if head in {b"\\.", b"\\.\r"} else pos
        unsure = len(head) < 4 and b"\\.\r\n".startswith(head)
        return None if unsure else pos

    def _sql(self, buf: bytes, pos: int, *, final: bool) -> tuple[int, bool]:
        """Lex SQL from `pos` to the end of its line; (where it stopped, forward it?)."""
        lexer = self._lexer
        if self._at_line_start and lexer.state == NORMAL and buf.startswith(b"\\", pos):
            handled = self._restrict_line(buf, pos, final=final)
            if handled is not None:
                return handled, handled == pos
        try:
            stop = lexer.lex(buf, pos, final=final)
        except RefusedInputError as exc:
            raise self._refuse(buf, exc.position, str(exc)) from None
        if self._restrict.closed and lexer.significant:
            raise self._refuse(buf, pos, "continues after its \\unrestrict line")
        ended_line = stop > pos and buf[stop - 1 : stop] == b"\n"
        self._at_line_start = ended_line or (stop == pos and self._at_line_start)
        if ended_line and lexer.copies_pending:
            self._copies, lexer.copies_pending = lexer.copies_pending, 0
        return stop, True

    def _restrict_line(self, buf: bytes, pos: int, *, final: bool) -> int | None:
        """Take pg_dump's `\\restrict KEY` line (first, before any SQL) or its matching
        `\\unrestrict KEY` (last); the end of the line, `pos` to wait, None if not one."""
        found = RESTRICT_LINE.match(buf, pos)
        if found is None:
            if not final and b"\n" not in buf[pos : pos + _LINE_PREFIX_MAX]:
                return pos if len(buf) - pos < _LINE_PREFIX_MAX else None
            return None
        command, key, ending = found.groups()
        if not ending and not final:
            return pos  # the key may go on in the next piece
        state, lexer = self._restrict, self._lexer
        if command == b"restrict" and state.key is None and not lexer.seen_sql:
            state.key = key
        elif command == b"unrestrict" and key == state.key and lexer.statement_empty:
            state.closed = True
        else:
            return None
        self._at_line_start = True
        return found.end()
