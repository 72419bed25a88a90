"""Count each table's rows in a plain dump as it streams past, block by block.

The counts come from the dump itself, so no second query races the dump. Keys are the
names a restored database shows: `schema.table` for PostgreSQL (the schema and table names
unquoted, as `information_schema.tables` lists them), `table` for MySQL/MariaDB (the dump is
of one database). Every table with a data section is counted, empty ones as 0.

- PostgreSQL (pg_dump --format=plain): a `COPY schema.table (...) FROM stdin;` line starts
  a table's data, one row per line (newlines in values are escaped as `\\n`), up to the
  line `\\.`. A data line cannot be `\\.`: a backslash in a value is written `\\\\`.
- MySQL/MariaDB (mysqldump, mariadb-dump): `-- Dumping data for table `t`` names a table,
  then `INSERT INTO `t` VALUES (...),(...);` statements; each `(` outside a quoted string is
  one row. Statements end with `;` and a newline, which never occurs inside a string.

Scanning uses bytes methods only (find, count, replace, translate), never a Python loop per
row, so it keeps up with the dump in the pipeline's reading thread.
"""

import re
from typing import Protocol, TypeAlias

Block: TypeAlias = bytes | bytearray

_COPY_END = b"\n\\.\n"
_PG_HEADER = re.compile(
    rb'COPY ((?:"(?:[^"]|"")+"|[^".\s]+))\.((?:"(?:[^"]|"")+"|[^"\s]+))(?: \(.*\))? +FROM stdin;'
)
"""pg_dump writes two spaces before FROM for a table without columns."""
_MY_DATA = re.compile(rb"-- Dumping data for table `((?:[^`]|``)+)`$")
_MY_INSERT = re.compile(
    rb"INSERT INTO `((?:[^`]|``)+)`(?: \((?:`(?:[^`]|``)*`(?:, ?)?)*\))? VALUES"
)
_MY_INSERT_START = b"INSERT INTO `"
_MY_HEADER_MAX = 64 * 1024
"""An INSERT line longer than this without `VALUES` in it is not one the counter reads."""
_KEEP_QUOTES_AND_PARENS = bytes(b for b in range(256) if b not in b"'(")


class RowCounter(Protocol):
    """Fed the dump's bytes in order; tells the rows per table seen so far."""

    def feed(self, block: Block) -> None: ...

    @property
    def table_rows(self) -> dict[str, int]: ...


def row_counter(server_type: str) -> RowCounter:
    """The counter for a dump made from a server of `server_type`."""
    return PostgresRowCounter() if server_type == "postgresql" else MysqlRowCounter()


class _Lines:
    """Splits the non-data parts of a dump into whole lines, keeping a partial last line."""

    def __init__(self) -> None:
        self.partial = b""

    def next_line(self, block: Block, pos: int) -> tuple[bytes | None, int]:
        """The next whole line from `pos` (without its newline) and where the rest begins;
        (None, len(block)) when the block ends inside the line (kept for the next block)."""
        end = block.find(b"\n", pos)
        if end == -1:
            self.partial += bytes(block[pos:])
            return None, len(block)
        line = self.partial + bytes(block[pos:end])
        self.partial = b""
        return line, end + 1


def _pg_name(quoted: bytes) -> str:
    name = quoted[1:-1].replace(b'""', b'"') if quoted.startswith(b'"') else quoted
    return name.decode("utf-8", "replace")


class PostgresRowCounter:
    """Rows of each COPY section of a plain pg_dump."""

    def __init__(self) -> None:
        self._rows: dict[str, int] = {}
        self._lines = _Lines()
        self._table: str | None = None
        self._tail = b""
        """The last bytes (up to 3) of the current COPY section, to find `\\.` across blocks;
        a section starts with the header's newline."""

    @property
    def table_rows(self) -> dict[str, int]:
        return dict(self._rows)

    def feed(self, block: Block) -> None:
        pos = 0
        while pos < len(block):
            pos = self._in_copy(block, pos) if self._table else self._in_ddl(block, pos)

    def _in_ddl(self, block: Block, pos: int) -> int:
        if not self._lines.partial and not block.startswith(b"COPY ", pos):
            # Skip to the next line that may start a COPY section; keep the last line whole.
            found = block.find(b"\nCOPY ", pos)
            if found == -1:
                cut = block.rfind(b"\n", pos)
                self._lines.partial = bytes(block[cut + 1 :])
                return len(block)
            pos = found + 1
        line, pos = self._lines.next_line(block, pos)
        if line is not None and (header := _PG_HEADER.fullmatch(line)):
            self._table = f"{_pg_name(header.group(1))}.{_pg_name(header.group(2))}"
            self._rows.setdefault(self._table, 0)
            self._tail = b"\n"
        return pos

    def _in_copy(self, block: Block, pos: int) -> int:
        table = self._table
        assert table is not None  # noqa: S101 - only called inside a section
        tail = self._tail
        edge = (tail + bytes(block[pos : pos + 3])).find(_COPY_END)
        if 0 <= edge < len(tail):  # the end line began in the previous block
            self._table = None
            return pos + edge + len(_COPY_END) - len(tail)
        end = block.find(_COPY_END, pos)
        if end == -1:
            self._rows[table] += block.count(b"\n", pos)
            rest = len(block) - pos
            self._tail = bytes(block[-3:]) if rest >= 3 else (tail + bytes(block[pos:]))[-3:]
            return len(block)
        self._rows[table] += block.count(b"\n", pos, end + 1)
        self._table = None
        return end + len(_COPY_END)


class MysqlRowCounter:
    """Tuples of each table's extended INSERTs in a mysqldump / mariadb-dump."""

    def __init__(self) -> None:
        self._rows: dict[str, int] = {}
        self._lines = _Lines()
        self._table: str | None = None
        self._in_string = False
        self._escaped = False
        """The previous block ended with a backslash inside a string: the next byte is its."""
        self._semicolon = False
        """The previous block ended with `;` outside a string: a newline now ends the INSERT."""
        self._routines = False

    @property
    def table_rows(self) -> dict[str, int]:
        return dict(self._rows)

    def feed(self, block: Block) -> None:
        pos = 0
        while pos < len(block):
            pos = self._in_values(block, pos) if self._table else self._in_ddl(block, pos)

    def _in_ddl(self, block: Block, pos: int) -> int:
        partial = self._lines.partial
        if (partial or block.startswith(b"INSERT", pos)) and not self._routines:
            head = partial + bytes(block[pos : pos + _MY_HEADER_MAX])
            if head.startswith(_MY_INSERT_START) and (insert := _MY_INSERT.match(head)):
                self._start_insert(insert.group(1))
                self._lines.partial = b""
                return pos + insert.end() - len(partial)
        line, pos = self._lines.next_line(block, pos)
        if line is None:
            return pos
        if line.startswith(b"DELIMITER "):
            # Routines and triggers sit between `DELIMITER ;;` and `DELIMITER ;`: their
            # bodies may hold INSERT statements that are not data.
            self._routines = line.strip() != b"DELIMITER ;"
        elif not self._routines and (data := _MY_DATA.match(line)):
            self._rows.setdefault(_my_name(data.group(1)), 0)
        return pos

    def _start_insert(self, quoted: bytes) -> None:
        self._table = _my_name(quoted)
        self._rows.setdefault(self._table, 0)
        self._in_string = self._escaped = self._semicolon = False

    def _in_values(self, block: Block, pos: int) -> int:
        if self._semicolon and block.startswith(b"\n", pos):
            self._table = None
            return pos + 1
        self._semicolon = False
        while True:
            end = _statement_end(block, pos)
            if end == -1:
                self._scan(block, pos, len(block))
                self._semicolon = block.endswith(b";") and not self._in_string
                return len(block)
            self._scan(block, pos, end)
            if not self._in_string:
                self._table = None
                return end + 2
            self._scan(block, end, end + 2)  # a string holding a raw ";\n"
            pos = end + 2

    def _scan(self, block: Block, start: int, stop: int) -> None:
        """Count the row openings in block[start:stop], carrying the string state on."""
        table = self._table
        assert table is not None  # noqa: S101 - only called inside an INSERT
        if self._escaped and start < stop:
            start += 1
            self._escaped = False
        segment = bytes(block[start:stop])
        if b"\\" in segment:
            if segment.endswith(b"\\"):
                run = len(segment) - len(segment.rstrip(b"\\"))
                if run % 2:
                    segment = segment[:-1]
                    self._escaped = True
            segment = segment.replace(b"\\\\", b"").replace(b"\\'", b"")
        marks = segment.translate(None, _KEEP_QUOTES_AND_PARENS)
        while b"''" in marks:  # dropping adjacent quotes keeps every other mark's parity
            marks = marks.replace(b"''", b"")
        parts = marks.split(b"'")
        outside = parts[1::2] if self._in_string else parts[0::2]
        self._rows[table] += sum(part.count(b"(") for part in outside)
        self._in_string ^= bool((len(parts) - 1) % 2)


def _statement_end(block: Block, pos: int) -> int:
    """Where the next `;` + newline is (a one-byte find is far faster than a two-byte one)."""
    while (end := block.find(b";", pos)) != -1 and not block.startswith(b"\n", end + 1):
        if end + 1 == len(block):
            return -1
        pos = end + 1
    return end


def _my_name(quoted: bytes) -> str:
    return quoted.replace(b"``", b"`").decode("utf-8", "replace")
