"""Database patterns are matched by RE2, over a bounded list, off the loop, with a deadline."""

import asyncio
import time

import pytest
from pydantic import ValidationError

from services.api.configs.model import DatabaseSelection
from services.api.configs.patterns import MAX_PATTERN_LENGTH
from services.api.configs.selection import (
    MAX_LISTED,
    select_databases,
    select_databases_off_loop,
)
from services.api.errors import InvalidRequestError

BACKTRACKER = "(a+)+$"
"""Exponential in Python's `re` against a run of a's that ends in something else."""


def pattern(text: str) -> DatabaseSelection:
    return DatabaseSelection(mode="pattern", pattern=text)


class TestPatternSyntax:
    @pytest.mark.parametrize(
        ("text", "words"),
        [
            (r"(shop)_\1", "invalid escape sequence: \\1"),
            ("shop(?!_test)", "invalid perl operator: (?!"),
        ],
    )
    def test_what_re2_cannot_run_in_linear_time_is_refused_with_its_reason(self, text, words):
        with pytest.raises(ValidationError) as caught:
            pattern(text)
        message = str(caught.value)
        assert "is not a valid regular expression (RE2 syntax" in message
        assert words in message

    def test_a_pattern_longer_than_the_bound_is_refused(self):
        with pytest.raises(ValidationError, match=f"at most {MAX_PATTERN_LENGTH}"):
            pattern("a" * (MAX_PATTERN_LENGTH + 1))

    def test_python_named_groups_still_work(self):
        assert select_databases(pattern("(?P<app>shop)_(eu|us)"), ["shop_eu", "shop"]) == [
            "shop_eu"
        ]

    def test_a_stored_pattern_re2_refuses_fails_the_selection_with_a_sentence(self):
        """Rows saved before RE2 stay readable; their firings fail with the reason."""
        stored = DatabaseSelection.model_validate(
            {"mode": "pattern", "pattern": r"(a)\1"}, context={"stored": True}
        )
        with pytest.raises(InvalidRequestError, match="not a valid regular expression"):
            select_databases(stored, ["aa"])


class TestBoundedMatching:
    def test_a_backtracking_pattern_runs_in_linear_time(self):
        names = ["a" * 250 + "b" for _ in range(MAX_LISTED - 1)] + ["aaaa"]
        started = time.monotonic()
        assert select_databases(pattern(BACKTRACKER), names) == ["aaaa"]
        assert time.monotonic() - started < 1.0

    def test_more_names_than_the_bound_fail_with_a_sentence(self):
        names = [f"db{i}" for i in range(MAX_LISTED + 1)]
        with pytest.raises(InvalidRequestError, match=f"matched against at most {MAX_LISTED}"):
            select_databases(pattern("db.*"), names)

    def test_names_too_long_for_any_engine_never_match(self):
        assert select_databases(pattern("a+"), ["a" * 256, "a" * 255]) == ["a" * 255]

    def test_past_the_deadline_the_selection_fails_with_a_sentence(self):
        with pytest.raises(InvalidRequestError, match="took longer than"):
            select_databases(pattern("a"), ["a", "b"], seconds=-1)

    async def test_off_the_loop_the_event_loop_keeps_running(self):
        names = ["a" * 250 + "b" for _ in range(MAX_LISTED)]
        beats = 0

        async def heartbeat() -> None:
            nonlocal beats
            while True:
                beats += 1
                await asyncio.sleep(0)

        ticking = asyncio.create_task(heartbeat())
        try:
            assert await select_databases_off_loop(pattern(BACKTRACKER), names) == []
        finally:
            ticking.cancel()
        assert beats > 1
