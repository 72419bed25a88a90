"""SQL and asyncpg stay in adapters: logic modules speak in typed models, not in queries."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("services", "shared")

# Keywords as the codebase writes SQL: upper case, so prose ("select a server") never matches.
SQL = re.compile(
    r"\bSELECT\b"
    r"|\bINSERT\s+INTO\b"
    r"|\bUPDATE\s+[\w.\"{}?`]+\s+SET\b"
    r"|\bDELETE\s+FROM\b"
    r"|\bCREATE\s+(?:UNIQUE\s+|TEMP\s+|TEMPORARY\s+|OR\s+REPLACE\s+)*"
    r"(?:TABLE|INDEX|DATABASE|SCHEMA|EXTENSION|TYPE|VIEW|FUNCTION|SEQUENCE|TRIGGER|ROLE|USER)\b"
    r"|\b(?:DROP|ALTER)\s+(?:TABLE|INDEX|DATABASE|SCHEMA|VIEW|ROLE|USER)\b"
    r"|\bTRUNCATE\s+(?:TABLE\s+)?[\w.\"{?`]"
    r"|\bSHOW\s+(?:GRANTS|DATABASES|TABLES|VARIABLES)\b"
)

ALLOWED: dict[str, str] = {
    "shared/database.py": "creates the pool and names its types and outage errors for the rest",
    "shared/migrations.py": "runs the migration files and keeps the table of those applied",
    "services/dumper/checks.py": "names MySQL privileges (SELECT, SHOW VIEW...): no statement",
    "services/dumper/rowcount.py": "recognises INSERT INTO in the dump it reads: sends no query",
    "services/api/schemas/servers.py": "an OpenAPI example of a check's detail names SELECT",
    "services/dumper/readiness/postgres.py": "advises ALTER ROLE in a sentence: sends no query",
    "shared/queries/dumper.py": "an AsyncAPI example of the archiving verdict names ALTER ROLE",
}


def _modules() -> list[Path]:
    return sorted(p for top in SCANNED for p in (ROOT / top).rglob("*.py"))


def _in_adapters(path: Path) -> bool:
    return "adapters" in path.relative_to(ROOT).parts[:-1]


def _docstrings(tree: ast.Module) -> set[int]:
    """The ids of the string nodes that document a module, class or function."""
    found: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def _strings(tree: ast.Module) -> list[tuple[int, str]]:
    """Every str and bytes constant outside docstrings; an f-string is read whole, holes `?`."""
    skip = _docstrings(tree)
    skip |= {
        id(part)
        for node in ast.walk(tree)
        if isinstance(node, ast.JoinedStr)
        for part in node.values
    }
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            text = "".join(
                part.value if isinstance(part, ast.Constant) else "?" for part in node.values
            )
            found.append((node.lineno, text))
        elif isinstance(node, ast.Constant) and id(node) not in skip:
            if isinstance(node.value, str):
                found.append((node.lineno, node.value))
            elif isinstance(node.value, bytes):  # SQL piped to a client is bytes
                found.append((node.lineno, node.value.decode("latin-1")))
    return found


def _imports_asyncpg(tree: ast.Module) -> list[int]:
    lines: list[int] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names = [node.module or ""]
        else:
            continue
        if any(name == "asyncpg" or name.startswith("asyncpg.") for name in names):
            lines.append(node.lineno)
    return lines


def _offences() -> dict[str, list[str]]:
    offences: dict[str, list[str]] = {}
    for path in _modules():
        if _in_adapters(path):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        found = [f"line {n}: imports asyncpg" for n in _imports_asyncpg(tree)]
        found += [
            f"line {n}: SQL {match.group(0)!r}"
            for n, text in _strings(tree)
            if (match := SQL.search(text))
        ]
        if found:
            offences[path.relative_to(ROOT).as_posix()] = found
    return offences


class TestSqlInAdapters:
    def test_no_module_outside_adapters_holds_sql_or_imports_asyncpg(self) -> None:
        offences = {path: found for path, found in _offences().items() if path not in ALLOWED}
        assert offences == {}

    def test_every_allowed_module_still_needs_its_place(self) -> None:
        """An allowlist entry whose module has moved on would hide the next offence there."""
        offending = _offences()
        stale = [path for path in ALLOWED if path not in offending]
        assert stale == []

    def test_the_scanner_sees_sql_in_every_kind_of_string(self) -> None:
        tree = ast.parse(
            'Q = """\n    SELECT id\n    FROM t\n"""\n'
            'R = f"DELETE FROM {table} WHERE id = $1"\n'
            'S = "UPDATE {schema}.snapshots SET locked = $2 WHERE id = $1"\n'
            'T = b"DROP DATABASE x"\n'
        )
        assert [bool(SQL.search(text)) for _, text in _strings(tree)] == [True] * 4

    def test_the_scanner_ignores_prose_and_docstrings(self) -> None:
        tree = ast.parse('"""SELECT is documented here."""\nX = "select a server from the list"\n')
        assert [bool(SQL.search(text)) for _, text in _strings(tree)] == [False]
