"""Helpers for the foundation's integration tests: brokers and polling on real servers."""

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

import aio_pika
import pytest
from faststream.rabbit import RabbitBroker
from prometheus_client import CollectorRegistry

from shared.logging import get_logger
from shared.messaging import build_broker
from shared.settings import BrokerSettings
from shared.topology import Topology

T = TypeVar("T")


async def eventually(
    probe: Callable[[], Awaitable[T]],
    done: Callable[[T], bool],
    *,
    timeout: float = 30.0,
    interval: float = 0.05,
) -> T:
    """Poll `probe` until `done(result)`; fail the test with the last result after `timeout`."""
    deadline = time.monotonic() + timeout
    result = await probe()
    while not done(result):
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met after {timeout}s; last value: {result!r}")
        await asyncio.sleep(interval)
        result = await probe()
    return result


def broker_settings(rabbit_url: str, namespace: str, **overrides: object) -> BrokerSettings:
    return BrokerSettings.model_validate({"url": rabbit_url, "namespace": namespace, **overrides})


def make_broker(settings: BrokerSettings, service: str = "test") -> RabbitBroker:
    """A broker built the way every service builds its own."""
    return build_broker(
        settings, service=service, registry=CollectorRegistry(), logger=get_logger(service)
    )


@pytest.fixture
def topology(namespace: str) -> Topology:
    return Topology(namespace, delivery_limit=2)


@pytest.fixture
async def amqp(rabbit_url: str) -> AsyncIterator[aio_pika.abc.AbstractChannel]:
    """A raw aio-pika channel, to look into queues the way an operator would."""
    connection = await aio_pika.connect(rabbit_url)
    async with connection:
        yield await connection.channel()
