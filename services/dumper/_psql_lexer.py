"""psql's reading of SQL, as far as it decides where a backslash command can start.

It mirrors psqlscan.l: quotes ('...', E'...', B'...', X'...', U&'...', "..."), dollar
quotes, `--` and nested `/* */` comments, and where a statement ends (a `;` outside
parentheses, and outside the BEGIN ... END of `CREATE [OR REPLACE] FUNCTION|PROCEDURE` in
psql 14 and later). It works on any cut of the input, carrying a short unfinished token.
"""

import re
from dataclasses import dataclass, field

NORMAL = "normal"
SQUOTE = "string"
EQUOTE = "escape string"
BQUOTE = "bit string"
UQUOTE = "unicode string"
DQUOTE = "quoted identifier"
DOLLAR = "dollar quote"
LCOMMENT = "line comment"
BCOMMENT = "block comment"

MAX_TAG = 255
"""A longer dollar-quote tag is refused (pg_dump writes `$$`, `$_$`, `$__$` ...)."""
CARRY_MAX = 4096

_TOKEN = re.compile(
    rb"(?P<ws>[ \t\r\f\v]+)"
    rb"|(?P<nl>\n)"
    rb"|(?P<word>[A-Za-z_\x80-\xff][A-Za-z_0-9$\x80-\xff]*)"
    rb"|(?P<num>[0-9][A-Za-z_0-9\x80-\xff]*)"
    rb"|(?P<lc>--)"
    rb"|(?P<bc>/\*)"
    rb"|(?P<dollar>\$(?:[A-Za-z_\x80-\xff][A-Za-z_0-9\x80-\xff]*)?\$)"
    rb"|(?P<one>.)",
    re.DOTALL,
)
_SETTLED_STOP = re.compile(rb"[-/'\"$\\;()\n]")
"""What still matters once a statement is known to be neither COPY nor a routine."""
_IDENT_BYTES = frozenset(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_$"
) | frozenset(range(0x80, 0x100))
_OPEN_TAG = re.compile(rb"\$[A-Za-z_\x80-\xff][A-Za-z_0-9\x80-\xff]*")
_SQUOTE_STOP = re.compile(rb"['\n]")
_EQUOTE_STOP = re.compile(rb"\\.|''|'|\n|[\x80-\xff](?=\\)", re.DOTALL)
_COMMENT_STOP = re.compile(rb"/\*|\*/|\n")
_PREFIXED = {b"e'": EQUOTE, b"b'": BQUOTE, b"x'": BQUOTE, b"n'": SQUOTE}
"""Letters that make the quote after them a special string (not an identifier, to psql)."""
_HEURISTIC_WORDS = frozenset({"create", "function", "procedure", "or", "replace"})
_BLOCK_WORDS = ("begin", "end", "case")
_COPY_GRAMMAR: dict[tuple[str, str], str] = {
    ("start", "copy"): "name",
    ("name", "name"): "after_name",
    ("after_name", "."): "name",
    ("after_name", "("): "column",
    ("after_name", "from"): "from",
    ("column", "name"): "after_column",
    ("after_column", ","): "column",
    ("after_column", ")"): "after_columns",
    ("after_columns", "from"): "from",
    ("from", "stdin"): "yes",
}
BACKSLASH = "contains a psql command outside COPY data"


class RefusedInputError(Exception):
    """The dump cannot go to the client; the message is a sentence (or, from the lexer, the
    middle of one, with the byte `position` it was found at)."""

    def __init__(self, message: str, position: int = 0) -> None:
        super().__init__(message)
        self.position = position


@dataclass
class _Statement:
    """What psql knows about the statement it is collecting."""

    paren: int = 0
    begin: int = 0
    idents: list[str] = field(default_factory=lambda: ["", "", "", ""])
    ident_count: int = 0
    copy: str = "start"
    empty: bool = True

    def counts_blocks(self) -> bool:
        first = self.idents
        routine = first[1] in {"f", "p"} or (first[1:3] == ["o", "r"] and first[3] in {"f", "p"})
        return first[0] == "c" and routine and self.paren == 0

    def settled(self, *, begin_blocks: bool) -> bool:
        """Whether no word can change what this statement means to psql any more."""
        if self.copy not in {"yes", "no"}:
            return False
        if not begin_blocks:
            return True
        first, count = self.idents, self.ident_count
        return (
            (count >= 1 and first[0] != "c")
            or (count >= 2 and first[1] not in {"f", "p", "o"})
            or (count >= 3 and first[1] == "o" and first[2] != "r")
            or (count >= 4 and first[1] == "o" and first[3] not in {"f", "p"})
        )

    def token(self, kind: str, *, word: bool = False) -> None:
        """Advance the `COPY name [(columns)] FROM stdin` grammar; anything else says no.
        A `word` that is no keyword where it stands is a name (a table may be `stdin`)."""
        self.empty = False
        if self.copy not in {"yes", "no"}:
            step = _COPY_GRAMMAR.get((self.copy, kind))
            if step is None and word:
                step = _COPY_GRAMMAR.get((self.copy, "name"))
            self.copy = step or "no"


class SqlLexer:
    """psql's lexer state; `lex` advances it over one line (or what there is of it)."""

    def __init__(self, *, begin_blocks: bool, strict: bool) -> None:
        self._begin_blocks = begin_blocks
        self._strict = strict
        """Refuse what psql could read differently (needed where psql is not restricted)."""
        self.state = NORMAL
        self._statement = _Statement()
        self._tag = b""
        self._depth = 0
        self._run = 0
        self._high = False
        self._long_word = False
        self.copies_pending = 0
        self.seen_sql = False
        self.significant = False
        """Whether the last `lex` met anything but blanks and comments."""

    @property
    def statement_empty(self) -> bool:
        return self._statement.empty and self.state == NORMAL

    def lex(self, buf: bytes, pos: int, *, final: bool) -> int:
        """Lex from `pos` to just after the next newline, or to where the input runs out
        (short of a token that may go on); the position reached."""
        self.significant = False
        while pos < len(buf):
            before = pos
            pos = self._step(buf, pos, final=final)
            if pos == before or buf[pos - 1 : pos] == b"\n":
                return pos
        return pos

    def _step(self, buf: bytes, pos: int, *, final: bool) -> int:
        state = self.state
        if state == NORMAL:
            return self._normal(buf, pos, final=final)
        self.significant = self.significant or state not in {LCOMMENT, BCOMMENT}
        if state in {DQUOTE, BQUOTE, UQUOTE}:
            quote = b'"' if state == DQUOTE else b"'"
            return self._quoted(buf, pos, quote, doubled=state != BQUOTE, final=final)
        step = {
            SQUOTE: self._plain_string,
            EQUOTE: self._escape_string,
            DOLLAR: self._dollar,
            BCOMMENT: self._block_comment,
            LCOMMENT: self._line_comment,
        }[state]
        return step(buf, pos, final=final)

    def _line_comment(self, buf: bytes, pos: int, *, final: bool) -> int:  # noqa: ARG002 - the steps' common signature
        newline = buf.find(b"\n", pos)
        if newline < 0:
            return len(buf)
        self.state = NORMAL
        return newline + 1

    def _settled(self, buf: bytes, pos: int, *, final: bool) -> int:
        """Skip to the next byte that can matter; the words and operators between it and
        `pos` only need telling apart from blanks."""
        found = _SETTLED_STOP.search(buf, pos)
        stop = found.start() if found else len(buf)
        if buf[pos:stop].strip():
            self.significant = True
        if found is None:
            # A word at the end may go on (or be the E of E'...'): the token rules take it.
            return stop if final else _word_start(buf, pos, stop)
        if stop == pos:
            return stop
        if buf[stop] not in b"'\"$":
            return stop
        # A quote or `$` right after a word (or after `word&`): back up to the word, so the
        # token rules read `E'`, `U&'` and `word$` as psql does.
        end = stop - 1 if buf[stop - 1] == ord("&") and buf[stop] != ord("$") else stop
        start = _word_start(buf, pos, end)
        return start if start < end else stop

    def _normal(self, buf: bytes, pos: int, *, final: bool) -> int:  # noqa: C901, PLR0911 - one branch per token kind, as in psqlscan.l
        if not self._long_word and self._statement.settled(begin_blocks=self._begin_blocks):
            skipped = self._settled(buf, pos, final=final)
            if skipped > pos:
                return skipped
        found = _TOKEN.match(buf, pos)
        assert found is not None  # noqa: S101 - `one` matches any byte
        kind, end = found.lastgroup, found.end()
        text = found.group()
        may_go_on = kind in {"word", "num"} or text in {b"-", b"/", b"$"}
        if may_go_on and not final and end + 2 > len(buf):
            if end - pos <= CARRY_MAX:
                return pos  # it may go on in the next piece
            self._long_word = True  # too long to carry: the rest is more of the same word
            return end
        continuing, self._long_word = self._long_word, False
        if kind in {"ws", "nl"}:
            return end
        if kind == "lc":
            self.state = LCOMMENT
            return end
        if kind == "bc":
            self.state, self._depth = BCOMMENT, 1
            return end
        self.significant = self.seen_sql = True
        statement = self._statement
        if kind == "dollar":
            if len(text) > MAX_TAG + 2:
                raise RefusedInputError("has a dollar-quote tag too long to read", pos)
            self.state, self._tag = DOLLAR, text
            statement.token("other")
            return end
        if kind in {"word", "num"}:
            return end if continuing else self._word(buf, pos, text, kind=kind or "")
        return self._punctuation(buf, pos, text, final=final)

    def _word(self, buf: bytes, pos: int, text: bytes, *, kind: str) -> int:
        end = pos + len(text)
        statement = self._statement
        lowered = text.lower().decode("latin-1")
        if kind == "num":
            if self._strict and statement.counts_blocks() and _has_block_word(lowered):
                raise RefusedInputError(
                    "runs digits into BEGIN, END or CASE inside a function, which psql "
                    "versions read differently",
                    pos,
                )
            statement.token("other")
            return end
        prefixed = _PREFIXED.get(text.lower() + buf[end : end + 1])
        if prefixed is not None:
            self._enter_string(prefixed)
            statement.token("other")
            return end + 1
        if lowered == "u" and buf[end : end + 2] in {b"&'", b'&"'}:
            self._enter_string(UQUOTE if buf[end + 1 : end + 2] == b"'" else DQUOTE)
            if self.state == UQUOTE:
                statement.token("other")
            return end + 2
        self._identifier(lowered)
        keyword = lowered if lowered in {"copy", "from", "stdin"} else "name"
        statement.token(keyword, word=True)
        return end

    def _identifier(self, word: str) -> None:
        """psql 14+'s guess at BEGIN ... END blocks in SQL-standard function bodies."""
        statement = self._statement
        if word in _HEURISTIC_WORDS and statement.ident_count < len(statement.idents):
            statement.idents[statement.ident_count] = word[0]
        statement.ident_count += 1
        if not (self._begin_blocks and statement.counts_blocks()):
            return
        if word == "begin" or (word == "case" and statement.begin >= 1):
            statement.begin += 1
        elif word == "end" and statement.begin > 0:
            statement.begin -= 1

    def _punctuation(self, buf: bytes, pos: int, text: bytes, *, final: bool) -> int:
        statement = self._statement
        end = pos + 1
        if text == b"\\":
            raise RefusedInputError(BACKSLASH, pos)
        if text == b"'":
            self._enter_string(SQUOTE)
            statement.token("other")
        elif text == b'"':
            self._enter_string(DQUOTE)
        elif text == b"$" and _OPEN_TAG.fullmatch(buf, pos) and not final:
            if len(buf) - pos > MAX_TAG + 2:
                raise RefusedInputError("has a dollar-quote tag too long to read", pos)
            return pos  # a tag still arriving
        elif text == b";" and statement.paren == 0 and statement.begin == 0:
            if statement.copy == "yes":
                self.copies_pending += 1
            self._statement = _Statement()
        elif text in {b"(", b")"}:
            statement.paren = statement.paren + 1 if text == b"(" else max(0, statement.paren - 1)
            statement.token(text.decode())
        else:
            statement.token(text.decode("latin-1") if text in {b".", b","} else "other")
        return end

    def _enter_string(self, state: str) -> None:
        self.state, self._run, self._high = state, 0, False

    def _plain_string(self, buf: bytes, pos: int, *, final: bool) -> int:
        """A '...' string: psql ends it at a quote only if standard_conforming_strings is on
        or the backslashes before that quote are even, so an odd run is refused; so is a run
        after a byte that a multibyte client encoding could pair with its first backslash."""
        found = _SQUOTE_STOP.search(buf, pos)
        stop = found.start() if found else len(buf)
        self._track_backslashes(buf[pos:stop])
        if found is None:
            return stop
        if found.group() == b"\n":
            self._run, self._high = 0, False
            return stop + 1
        if self._strict and (self._run % 2 or (self._run and self._high)):
            raise RefusedInputError(
                "has a string literal whose end depends on psql's settings", stop
            )
        if not final and stop + 1 == len(buf):
            return stop  # a doubled quote may be arriving
        self._run, self._high = 0, False
        if buf[stop + 1 : stop + 2] == b"'":
            return stop + 2
        self.state = NORMAL
        return stop + 1

    def _track_backslashes(self, segment: bytes) -> None:
        if not segment:
            return
        rest = segment.rstrip(b"\\")
        trailing = len(segment) - len(rest)
        if rest:
            self._run, self._high = trailing, rest[-1] >= 0x80
        else:
            self._run += trailing

    def _escape_string(self, buf: bytes, pos: int, *, final: bool) -> int:
        """An E'...' string: backslash escapes, refused after a non-ASCII byte (a
        multibyte client encoding may take that backslash as the character's second byte)."""
        found = _EQUOTE_STOP.search(buf, pos)
        if found is None:
            last = buf[-1:]
            if not final and last and (last[0] >= 0x80 or last in {b"\\", b"'"}):
                return max(pos, len(buf) - 1)
            return len(buf)
        token = found.group()
        if token[0] >= 0x80 and self._strict:
            raise RefusedInputError(
                "has a string literal whose end depends on psql's settings", found.start()
            )
        if token == b"'" and not final and found.end() == len(buf):
            return found.start()
        if token == b"'":
            self.state = NORMAL
        return found.end()

    def _quoted(self, buf: bytes, pos: int, quote: bytes, *, doubled: bool, final: bool) -> int:
        """A quoted identifier or a B/X/U& string: no escapes, `""`/`''` doubling."""
        newline = buf.find(b"\n", pos)
        close = buf.find(quote, pos, newline if newline >= 0 else len(buf))
        if close < 0:
            return newline + 1 if newline >= 0 else len(buf)
        if doubled and buf[close + 1 : close + 2] == quote:
            return close + 2
        if doubled and not final and close + 1 == len(buf):
            return close
        if self.state == DQUOTE:
            self._statement.token("name")
        self.state = NORMAL
        return close + 1

    def _dollar(self, buf: bytes, pos: int, *, final: bool) -> int:
        newline = buf.find(b"\n", pos)
        limit = newline if newline >= 0 else len(buf)
        close = buf.find(self._tag, pos, limit)
        if close >= 0:
            self.state = NORMAL
            return close + len(self._tag)
        if newline >= 0:
            return newline + 1
        return len(buf) if final else max(pos, len(buf) - len(self._tag) + 1)

    def _block_comment(self, buf: bytes, pos: int, *, final: bool) -> int:
        found = _COMMENT_STOP.search(buf, pos)
        if found is None:
            if not final and buf[-1:] in {b"/", b"*"}:
                return max(pos, len(buf) - 1)
            return len(buf)
        token = found.group()
        if token == b"/*":
            self._depth += 1
        elif token == b"*/":
            self._depth -= 1
            if self._depth == 0:
                self.state = NORMAL
        return found.end()


def _word_start(buf: bytes, pos: int, end: int) -> int:
    """Where the word that ends at `end` begins (not before `pos`)."""
    start = end
    while start > pos and buf[start - 1] in _IDENT_BYTES:
        start -= 1
    return start


def _has_block_word(text: str) -> bool:
    return any(word in text for word in _BLOCK_WORDS)
