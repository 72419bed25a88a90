"""The api's layers, checked by reading its modules' source (nothing is imported).

- A route module (one that builds an `APIRouter` outside services/api/ui/) imports no other
  route module: what two routes share lives in a use case or in services/api/deps.py.
- Nothing under services/api/ui/ imports a route module: the pages call the use cases.
- The use cases and the workers speak no HTTP: they import neither FastAPI nor the routes'
  dependencies, nor a page or a route.
- SQL and asyncpg stay in services/api/adapters/.
"""

import ast
import re
from pathlib import Path

import pytest

API = Path(__file__).resolve().parents[2] / "services" / "api"
UI = API / "ui"
USECASES = API / "usecases"
WORKERS = API / "workers"
ADAPTERS = API / "adapters"

SQL = re.compile(
    r"^\s*(SELECT\s.+\sFROM\s|INSERT\s+INTO\s|UPDATE\s+\S+\s+SET\s|DELETE\s+FROM\s|"
    r"WITH\s+\w+\s+AS\s*\(|CREATE\s+(TABLE|INDEX)\s|ALTER\s+TABLE\s)",
    re.IGNORECASE | re.DOTALL,
)
"""A string that starts like a SQL statement (a sentence that mentions SELECT does not)."""


def _module_name(path: Path) -> str:
    parts = path.relative_to(API.parents[1]).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(path): path for path in sorted(API.rglob("*.py"))}


def _tree(name: str) -> ast.Module:
    return ast.parse(MODULES[name].read_text(), filename=str(MODULES[name]))


def _builds_a_router(tree: ast.Module) -> bool:
    return any(
        isinstance(node, ast.Call)
        and (
            (isinstance(node.func, ast.Name) and node.func.id == "APIRouter")
            or (isinstance(node.func, ast.Attribute) and node.func.attr == "APIRouter")
        )
        for node in ast.walk(tree)
    )


def _imported(tree: ast.Module) -> set[str]:
    """Every module the tree imports, `from a import b` counting as `a` and as `a.b`."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def _in(path: Path, folder: Path) -> bool:
    return folder in path.parents


ROUTE_MODULES = sorted(
    name for name, path in MODULES.items() if not _in(path, UI) and _builds_a_router(_tree(name))
)


class TestRouteModules:
    def test_are_found_where_they_are_expected(self) -> None:
        """The scan sees the known route modules, so a rule below cannot pass vacuously."""
        assert {
            "services.api.routes.backups",
            "services.api.routes.snapshots",
            "services.api.notifications.routes",
            "services.api.notifications.hook_routes",
        } <= set(ROUTE_MODULES)

    @pytest.mark.parametrize("name", ROUTE_MODULES)
    def test_a_route_module_imports_no_other_route_module(self, name: str) -> None:
        others = _imported(_tree(name)) & (set(ROUTE_MODULES) - {name})
        assert not others, f"{name} imports route module(s) {sorted(others)}"


class TestUi:
    @pytest.mark.parametrize("name", sorted(n for n, p in MODULES.items() if _in(p, UI)))
    def test_the_ui_imports_no_route_module(self, name: str) -> None:
        routes = _imported(_tree(name)) & set(ROUTE_MODULES)
        assert not routes, f"{name} imports route module(s) {sorted(routes)}"


HTTP_MODULES = ("fastapi", "starlette", "services.api.deps", "services.api.ui")


class TestUseCasesAndWorkers:
    @pytest.mark.parametrize(
        "name", sorted(n for n, p in MODULES.items() if _in(p, USECASES) or _in(p, WORKERS))
    )
    def test_speak_no_http(self, name: str) -> None:
        imported = _imported(_tree(name))
        http = {m for m in imported if m.startswith(HTTP_MODULES)} | (imported & set(ROUTE_MODULES))
        assert not http, f"{name} imports {sorted(http)}"


OUTSIDE_ADAPTERS = sorted(n for n, p in MODULES.items() if not _in(p, ADAPTERS))


class TestAdapters:
    @pytest.mark.parametrize("name", OUTSIDE_ADAPTERS)
    def test_asyncpg_is_imported_only_by_adapters(self, name: str) -> None:
        asyncpg = {m for m in _imported(_tree(name)) if m.split(".")[0] == "asyncpg"}
        assert not asyncpg, f"{name} imports {sorted(asyncpg)}"

    @pytest.mark.parametrize("name", OUTSIDE_ADAPTERS)
    def test_sql_is_written_only_in_adapters(self, name: str) -> None:
        statements = [
            node.value
            for node in ast.walk(_tree(name))
            if isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and SQL.match(node.value)
        ]
        assert not statements, f"{name} holds SQL: {statements[0][:80]!r}"

    def test_the_sql_check_recognises_sql(self) -> None:
        assert SQL.match("\nSELECT id FROM {schema}.servers WHERE id = $1")
        assert SQL.match("INSERT INTO t (a) VALUES ($1)")
        assert SQL.match("UPDATE {schema}.overdue_state SET x = 1")
        assert not SQL.match("missing SELECT on public.orders")
