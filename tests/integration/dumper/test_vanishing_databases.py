"""A server-wide connection test on a server whose databases come and go (real PostgreSQL)."""

import pytest

from services.dumper.adapters import postgres
from services.dumper.adapters.discovery import ToolFinder
from services.dumper.adapters.probing import ConnectionTester
from services.dumper.settings import DumperSettings
from tests.fixtures.resources import unique
from tests.integration.dumper.conftest import pg_spec

pytestmark = pytest.mark.integration


def connection_tester() -> ConnectionTester:
    settings = DumperSettings()
    finder = ToolFinder(postgres_glob=settings.postgres_bin_glob, search_dirs=settings.search_dirs)
    return ConnectionTester(finder, timeout=10)


class TestDatabasesDroppedWhileChecked:
    async def test_a_database_dropped_after_the_listing_is_skipped(self, postgres_url, monkeypatch):
        """The listing names a database that no longer exists when its privileges are read."""
        gone = unique("dbm_gone_")
        monkeypatch.setattr(
            postgres,
            "DATABASES",
            f"SELECT '{gone}' AS datname UNION ALL ({postgres.DATABASES})",
        )

        report = await connection_tester().run(pg_spec(postgres_url), None)
        checks = {c.check: c for c in report.checks}

        assert checks["privileges"].ok, checks["privileges"].detail
        assert gone not in checks["privileges"].detail
        assert checks["dump_tool"].ok

    async def test_a_named_database_that_does_not_exist_still_fails_with_the_reason(
        self, postgres_url
    ):
        gone = unique("dbm_gone_")

        checks = (await connection_tester().run(pg_spec(postgres_url), gone)).checks

        authenticated = next(c for c in checks if c.check == "authenticated")
        assert not authenticated.ok
        assert gone in authenticated.detail
