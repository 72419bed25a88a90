"""The api's questions over a real RabbitMQ: many in flight on one reply consumer.

One question waiting on a slow service must not hold another one back, each reply reaches
the question that asked it, and questions are answered again after the connection to the
broker is cut and restored.
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
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


@dataclass
class Service:
    """A service on two queries queues: `slow` answers once `release` is set, `fast` at once."""

    slow: RabbitQueue
    fast: RabbitQueue
    release: asyncio.Event = field(default_factory=asyncio.Event)


@pytest.fixture
async def service(rabbit_url: str, namespace: str) -> AsyncIterator[Service]:
    answers = Service(
        RabbitQueue(f"{namespace}.slow.queries", auto_delete=True),
        RabbitQueue(f"{namespace}.fast.queries", auto_delete=True),
    )
    broker = RabbitBroker(rabbit_url)

    @broker.subscriber(answers.slow, ack_policy=AckPolicy.ACK)
    async def answer_slow(body: dict[str, Any]) -> dict[str, Any]:
        await answers.release.wait()
        return {"ok": True, "echo": body["n"], "queue": "slow"}

    @broker.subscriber(answers.fast, ack_policy=AckPolicy.ACK)
    async def answer_fast(body: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "echo": body["n"], "queue": "fast"}

    await broker.start()
    try:
        yield answers
    finally:
        answers.release.set()
        await broker.stop()


@contextlib.asynccontextmanager
async def connected(url: str, namespace: str) -> AsyncIterator[BrokerLink]:
    link = BrokerLink(RabbitBroker(url), Topology(namespace, 2), query_timeout=5)
    assert await link.connect()
    try:
        yield link
    finally:
        await link.close()


async def test_a_slow_answer_holds_no_other_question_back(rabbit_url, namespace, service) -> None:
    async with connected(rabbit_url, namespace) as link:
        waiting = asyncio.create_task(link.ask(service.slow, {"n": 0}, who="slow service", wait=20))
        answers = await asyncio.wait_for(
            asyncio.gather(
                *(link.ask(service.fast, {"n": n}, who="fast service") for n in range(1, 30))
            ),
            timeout=10,
        )
        assert [a["echo"] for a in answers] == list(range(1, 30))
        assert not waiting.done(), "the slow question was answered before it was released"
        service.release.set()
        assert await waiting == {"ok": True, "echo": 0, "queue": "slow"}


async def test_an_unanswered_question_times_out_with_a_sentence(
    rabbit_url, namespace, service
) -> None:
    async with connected(rabbit_url, namespace) as link:
        with pytest.raises(
            UnavailableError, match=r"the slow service did not answer within 0\.5 s"
        ):
            await link.ask(service.slow, {"n": 1}, who="slow service", wait=0.5)
        service.release.set()
        # The late reply to the abandoned question is dropped; the next one gets its own.
        assert (await link.ask(service.fast, {"n": 2}, who="fast service"))["echo"] == 2


async def test_questions_are_answered_again_after_the_connection_is_cut(
    rabbit_url, namespace, service
) -> None:
    parts = urlsplit(rabbit_url)
    proxy = TcpProxy(parts.hostname or "127.0.0.1", parts.port or 5672)
    await proxy.open()
    credentials = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
    through_proxy = parts._replace(netloc=f"{credentials}127.0.0.1:{proxy.port}").geturl()
    try:
        async with connected(through_proxy, namespace) as link:
            assert (await link.ask(service.fast, {"n": 1}, who="fast service"))["echo"] == 1
            await proxy.close()
            await proxy.open()

            async def answered() -> dict[str, Any] | None:
                try:
                    return await link.ask(service.fast, {"n": 2}, who="fast service", wait=1)
                except UnavailableError:
                    return None  # the robust connection is still reopening its channel

            reply = await poll_until(
                answered, lambda r: r is not None, timeout=30, what="an answer"
            )
            assert reply is not None
            assert reply["echo"] == 2
    finally:
        await proxy.close()
