"""Checking a backup request's database: one question to the dumper for a burst, and an older
list believed while the dumper does not answer."""

import asyncio
from typing import Any

import pytest

from services.api.databases import DatabaseLists
from services.api.errors import InvalidRequestError, UnavailableError
from services.api.models import Server
from services.api.questions import check_database
from tests.unit.api.test_outbox_payload import keys, server


class SlowDumper:
    """Lists `databases` after `release`, or does not answer at all (`silent`)."""

    def __init__(self, databases: list[str], *, silent: bool = False) -> None:
        self.databases = databases
        self.silent = silent
        self.asked = 0
        self.release = asyncio.Event()
        self.ready = asyncio.Event()
        self.ready.set()

    async def ask_dumper(self, body: dict[str, Any], *, wait: float | None = None) -> dict:
        del body, wait
        self.asked += 1
        if self.silent:
            raise UnavailableError("the dumper did not answer within 5 s")
        await self.release.wait()
        return {"databases": self.databases}


def with_an_old_list(databases: list[str]) -> tuple[Server, DatabaseLists]:
    """A server whose list is remembered and a minute old (its TTL is 30 s)."""
    vault, _ = keys()
    now = [100.0]
    prod, lists = server(vault), DatabaseLists(ttl=30, clock=lambda: now[0])
    lists.remember(prod.id, databases)
    now[0] += 60
    return prod, lists


class TestABurstAsksOnce:
    async def test_requests_at_the_same_moment_share_one_question(self):
        vault, _ = keys()
        prod, lists, dumper = server(vault), DatabaseLists(ttl=30), SlowDumper(["shop"])
        checks = [
            asyncio.create_task(check_database(prod, "shop", "sealed", dumper, lists=lists))  # type: ignore[arg-type]
            for _ in range(20)
        ]
        await asyncio.sleep(0.01)
        dumper.release.set()
        await asyncio.gather(*checks)
        assert dumper.asked == 1
        assert lists.cached(prod.id) == ["shop"]

    async def test_a_missing_database_is_refused_for_every_one_of_them(self):
        vault, _ = keys()
        prod, lists, dumper = server(vault), DatabaseLists(ttl=30), SlowDumper(["shop"])
        dumper.release.set()
        results = await asyncio.gather(
            *(check_database(prod, "blog", "sealed", dumper, lists=lists) for _ in range(3)),  # type: ignore[arg-type]
            return_exceptions=True,
        )
        assert all(isinstance(r, InvalidRequestError) for r in results), results
        assert dumper.asked == 1


class TestAnOlderList:
    async def test_names_its_databases_at_once_and_a_fresh_one_is_fetched_behind(self):
        prod, lists = with_an_old_list(["shop"])
        dumper = SlowDumper(["shop", "blog"])
        for _ in range(10):
            await check_database(prod, "shop", "sealed", dumper, lists=lists)  # type: ignore[arg-type]
        assert lists.cached(prod.id) is None  # answered before the dumper was
        assert len(lists._refreshing) == 1
        dumper.release.set()
        async with asyncio.timeout(5):
            while lists.cached(prod.id) is None:
                await asyncio.sleep(0.01)
        assert lists.cached(prod.id) == ["shop", "blog"]
        assert dumper.asked == 1

    async def test_a_database_it_lacks_is_asked_about_now(self):
        vault, _ = keys()
        prod, lists = server(vault), DatabaseLists(ttl=30)
        lists.remember(prod.id, ["shop"])
        dumper = SlowDumper(["shop", "new_one"])
        dumper.release.set()
        await check_database(prod, "new_one", "sealed", dumper, lists=lists)  # type: ignore[arg-type]
        with pytest.raises(InvalidRequestError, match="'gone' does not exist"):
            await check_database(prod, "gone", "sealed", dumper, lists=lists)  # type: ignore[arg-type]
        assert dumper.asked == 2


class TestASilentDumper:
    async def test_the_older_list_serves_for_another_ttl_and_is_not_asked_for_each_request(self):
        prod, lists = with_an_old_list(["shop"])
        dumper = SlowDumper([], silent=True)
        for _ in range(5):
            await check_database(prod, "shop", "sealed", dumper, lists=lists)  # type: ignore[arg-type]
            await asyncio.sleep(0.01)  # the refresh behind it runs, and fails
        assert dumper.asked == 1
        assert lists.cached(prod.id) == ["shop"]

    async def test_without_a_list_naming_it_the_request_is_unavailable(self):
        vault, _ = keys()
        prod, lists = server(vault), DatabaseLists(ttl=0)
        dumper = SlowDumper([], silent=True)
        with pytest.raises(UnavailableError):
            await check_database(prod, "shop", "sealed", dumper, lists=lists)  # type: ignore[arg-type]
        lists.remember(prod.id, ["blog"])
        with pytest.raises(UnavailableError):
            await check_database(prod, "shop", "sealed", dumper, lists=lists)  # type: ignore[arg-type]
