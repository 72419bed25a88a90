"""The api's questions over a real RabbitMQ: many in flight on one reply consumer.

One question waiting on a slow service must not hold another one back, each reply reaches
the question that asked it, and questions are answered again after the connection to the
broker is cut and restored.
"""

import asyncio
from typing import Any
from urllib.parse import urlsplit

import pytest
from faststream import AckPolicy
from faststream.rabbit import RabbitBroker, RabbitQueue

from services.api.adapters.broker import BrokerLink
from services.api.errors import UnavailableError
from shared.topology import Topology
from tests.support.proxy import TcpProxy
from tests.support.waiting import poll_until

pytestmark = pytest.mark.integration


async def _answerer(rabbit_url: str, slow: RabbitQueue, fast: RabbitQueue, release: asyncio.Event):
    """A service whose `slow` queue answers once `release` is set, and `fast` at once."""
    broker = RabbitBroker(rabbit_url)

    @broker.subscriber(slow, ack_policy=AckPolicy.ACK)
    async def answer_slow(body: dict[str, Any]) -> dict[str, Any]:
        await release.wait()
        return {"ok": True, "echo": body["n"], "queue": "slow"}

    @broker.subscriber(fast, ack_policy=AckPolicy.ACK)
    async def answer_fast(body: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "echo": body["n"], "queue": "fast"}

    await broker.start()
    return broker


@pytest.fixture
def queues(namespace: str) -> tuple[RabbitQueue, RabbitQueue]:
    return (
        RabbitQueue(f"{namespace}.slow.queries", auto_delete=True),
        RabbitQueue(f"{namespace}.fast.queries", auto_delete=True),
    )


async def _link(url: str, namespace: str) -> BrokerLink:
    link = BrokerLink(RabbitBroker(url), Topology(namespace, 2), query_timeout=5)
    assert await link.connect()
    return link


async def test_a_slow_answer_holds_no_other_question_back(rabbit_url, namespace, queues) -> None:
    slow, fast = queues
    release = asyncio.Event()
    service = await _answerer(rabbit_url, slow, fast, release)
    link = await _link(rabbit_url, namespace)
    try:
        waiting = asyncio.create_task(link.ask(slow, {"n": 0}, who="slow service", wait=20))
        answers = await asyncio.wait_for(
            asyncio.gather(*(link.ask(fast, {"n": n}, who="fast service") for n in range(1, 30))),
            timeout=10,
        )
        assert [a["echo"] for a in answers] == list(range(1, 30))
        assert not waiting.done(), "the slow question was answered before it was released"
        release.set()
        assert await waiting == {"ok": True, "echo": 0, "queue": "slow"}
    finally:
        release.set()
        await link.close()
        await service.stop()


async def test_an_unanswered_question_times_out_with_a_sentence(
    rabbit_url, namespace, queues
) -> None:
    slow, fast = queues
    release = asyncio.Event()
    service = await _answerer(rabbit_url, slow, fast, release)
    link = await _link(rabbit_url, namespace)
    try:
        with pytest.raises(
            UnavailableError, match=r"the slow service did not answer within 0\.5 s"
        ):
            await link.ask(slow, {"n": 1}, who="slow service", wait=0.5)
        release.set()
        # The late reply to the abandoned question is dropped; the next one gets its own.
        assert (await link.ask(fast, {"n": 2}, who="fast service"))["echo"] == 2
    finally:
        release.set()
        await link.close()
        await service.stop()


async def test_questions_are_answered_again_after_the_connection_is_cut(
    rabbit_url, namespace, queues
) -> None:
    slow, fast = queues
    release = asyncio.Event()
    release.set()
    service = await _answerer(rabbit_url, slow, fast, release)
    parts = urlsplit(rabbit_url)
    proxy = TcpProxy(parts.hostname or "127.0.0.1", parts.port or 5672)
    await proxy.open()
    credentials = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
    link = await _link(
        parts._replace(netloc=f"{credentials}127.0.0.1:{proxy.port}").geturl(), namespace
    )
    try:
        assert (await link.ask(fast, {"n": 1}, who="fast service"))["echo"] == 1
        await proxy.close()
        await proxy.open()

        async def answered() -> dict[str, Any] | None:
            try:
                return await link.ask(fast, {"n": 2}, who="fast service", wait=1)
            except UnavailableError:
                return None  # the robust connection is still reopening its channel

        reply = await poll_until(answered, lambda r: r is not None, timeout=30, what="an answer")
        assert reply is not None
        assert reply["echo"] == 2
    finally:
        await link.close()
        await proxy.close()
        await service.stop()
