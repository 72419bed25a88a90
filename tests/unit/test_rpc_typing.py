"""Request/reply over the broker goes through the typed models of shared/queries/: no
service builds a query as a dict or reads an answer's `ok` by hand."""

import ast
from pathlib import Path

SERVICES = Path(__file__).resolve().parents[2] / "services"

OK_READS_ALLOWED = {
    "services/cli/commands/channels.py": "reads the HTTP answer of POST /channels/{id}/test, "
    "a route's documented body, not a broker reply",
}


def python_files() -> list[Path]:
    return sorted(SERVICES.rglob("*.py"))


def relative(path: Path) -> str:
    return str(path.relative_to(SERVICES.parent))


def op_keys(tree: ast.AST) -> list[int]:
    """Lines of dict displays with an "op" key."""
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Dict)
        and any(isinstance(k, ast.Constant) and k.value == "op" for k in node.keys)
    ]


def ok_reads(tree: ast.AST) -> list[int]:
    """Lines of `<anything>.get("ok")`."""
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "get"
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and node.args[0].value == "ok"
    ]


class TestTypedQueries:
    def test_no_service_builds_a_query_as_a_dict_with_an_op(self):
        found = {
            relative(path): lines
            for path in python_files()
            if (lines := op_keys(ast.parse(path.read_text())))
        }
        assert found == {}, "build the request from a model of shared/queries/"

    def test_no_service_reads_ok_off_a_reply(self):
        found = {
            relative(path): lines
            for path in python_files()
            if relative(path) not in OK_READS_ALLOWED
            and (lines := ok_reads(ast.parse(path.read_text())))
        }
        assert found == {}, "the reply's model says whether it was refused"

    def test_the_rules_catch_what_they_forbid(self):
        tree = ast.parse('ask({"op": "get_snapshot"})\nif reply.get("ok"): pass\n')
        assert op_keys(tree) == [1]
        assert ok_reads(tree) == [2]
