"""Docstrings and comments in services/ and shared/ describe the concept, not the issue that
added it: "issue 8" means nothing to a reader of the code."""

import ast
import io
import re
import tokenize
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TREES = ("services", "shared")
HISTORY = re.compile(r"\bissues? \d+\b", re.IGNORECASE)
ALLOWED: dict[tuple[str, str], str] = {}
"""(path, matched text) -> why that mention must stay; empty while none has to."""


def python_files() -> Iterator[Path]:
    for tree in TREES:
        yield from sorted((ROOT / tree).rglob("*.py"))


def comments(source: str) -> Iterator[tuple[int, str]]:
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            yield token.start[0], token.string


def docstrings(source: str) -> Iterator[tuple[int, str]]:
    """Every string standing alone as a statement: docstrings of modules, classes and
    functions, and the attribute docstrings under constants."""
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Expr)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        ):
            yield node.lineno, node.value.value


def history_mentions() -> list[str]:
    found = []
    for path in python_files():
        source = path.read_text()
        relative = str(path.relative_to(ROOT))
        found += [
            f"{relative}:{line}: {match.group(0)!r}"
            for line, text in [*comments(source), *docstrings(source)]
            for match in HISTORY.finditer(text)
            if (relative, match.group(0)) not in ALLOWED
        ]
    return found


class TestNoHistoryInCode:
    def test_no_docstring_or_comment_names_an_issue(self):
        assert history_mentions() == []

    def test_the_check_sees_comments_and_docstrings(self):
        source = '"""Module (issue 8)."""\nX = 1  # see issue 9\n'
        texts = [text for _, text in [*comments(source), *docstrings(source)]]
        assert [bool(HISTORY.search(text)) for text in texts] == [True, True]
