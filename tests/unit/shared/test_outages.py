"""A message that failed because a server is briefly away is held before its nack, longer on
each delivery, so a short restart does not burn the delivery limit in a second."""

from types import SimpleNamespace

import asyncpg
import pytest

from shared import outages
from shared.outages import BackOffOnOutageMiddleware, backoff, delivery_count


def message(count: object = None) -> SimpleNamespace:
    return SimpleNamespace(headers={} if count is None else {"x-delivery-count": count})


@pytest.fixture
def waits(monkeypatch) -> list[float]:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr(outages.asyncio, "sleep", sleep)
    return slept


async def run(error: Exception, msg: SimpleNamespace) -> None:
    async def handler(_msg):
        raise error

    middleware = BackOffOnOutageMiddleware(None, context=None)
    await middleware.consume_scope(handler, msg)


class TestBackOffOnOutage:
    def test_waits_grow_with_each_delivery_up_to_a_ceiling(self):
        assert [backoff(n) for n in range(6)] == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]

    def test_delivery_count_comes_from_the_quorum_queue_header(self):
        assert delivery_count(message()) == 0
        assert delivery_count(message(3)) == 3
        assert delivery_count(message("junk")) == 0

    @pytest.mark.parametrize(
        "error",
        [
            ConnectionRefusedError(111, "refused"),
            asyncpg.exceptions.CannotConnectNowError("the database system is shutting down"),
            asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed"),
        ],
        ids=["refused", "shutting-down", "closed"],
    )
    async def test_an_outage_is_held_then_raised_for_the_nack(self, error, waits):
        with pytest.raises(type(error)):
            await run(error, message(2))
        assert waits == [4.0]

    async def test_other_failures_reach_the_nack_at_once(self, waits):
        with pytest.raises(ValueError, match="bad"):
            await run(ValueError("bad"), message(2))
        assert waits == []

    async def test_a_handled_message_passes_through(self, waits):
        async def handler(_msg):
            return "done"

        middleware = BackOffOnOutageMiddleware(None, context=None)
        assert await middleware.consume_scope(handler, message()) == "done"
        assert waits == []
