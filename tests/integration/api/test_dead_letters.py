"""`GET /api/v1/dead-letters`, `POST .../replay` and `databasement dlq` on the real broker."""

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from uuid import uuid4

import aio_pika
import pytest

from shared.events import ChunkStaged
from shared.topology import Topology
from tests.integration.api.conftest import api_settings
from tests.support.dead_letters import publish_raw
from tests.support.served_api import ServedApi, served_api
from tests.support.waiting import polled_message

pytestmark = pytest.mark.integration

CLI = Path(sys.executable).with_name("databasement")


@pytest.fixture
async def served(rabbit_url, namespace, pg_database) -> AsyncIterator[ServedApi]:
    async with served_api(api_settings(rabbit_url, namespace, pg_database)) as api:
        yield api


@pytest.fixture
def topology(namespace) -> Topology:
    return Topology(namespace, delivery_limit=2)


async def dead_letter(
    rabbit_url: str, topology: Topology, body: bytes, *, message_type: str | None = None
) -> str:
    """Publish `body` as a ChunkStaged and have the uploader's queue reject it, as a consumer
    refusing a malformed message does: the broker dead-letters it with a real x-death.

    With `message_type`, it goes straight to the queue through the default exchange instead
    (as a postponed backup returns), so x-death names the queue, not an event key."""
    if message_type is None:
        message_id = await publish_raw(rabbit_url, topology, ChunkStaged.routing_key, body)
    else:
        message_id = await publish_to_queue(
            rabbit_url, topology.queue("uploader").name, body, message_type=message_type
        )
    connection = await aio_pika.connect(rabbit_url)
    async with connection:
        channel = await connection.channel()
        queue = await channel.get_queue(topology.queue("uploader").name)
        message = await polled_message(queue)
        assert message.message_id == message_id
        await message.reject(requeue=False)
    return message_id


async def publish_to_queue(rabbit_url: str, queue: str, body: bytes, *, message_type: str) -> str:
    message_id = str(uuid4())
    connection = await aio_pika.connect(rabbit_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        await channel.default_exchange.publish(
            aio_pika.Message(body, message_id=message_id, type=message_type or None),
            routing_key=queue,
        )
    return message_id


async def work_queue_messages(rabbit_url: str, queue_name: str) -> list[aio_pika.IncomingMessage]:
    connection = await aio_pika.connect(rabbit_url)
    taken = []
    async with connection:
        channel = await connection.channel()
        queue = await channel.get_queue(queue_name)
        async with asyncio.timeout(10):
            while (message := await queue.get(no_ack=True, fail=False)) is not None:
                taken.append(message)
    return taken


def chunk_body(snapshot_id: str) -> bytes:
    return json.dumps({"snapshot_id": snapshot_id, "schema_version": 2}).encode()


async def dead_letters(served: ServedApi, service: str = "uploader") -> dict:
    response = await served.client.get("/api/v1/dead-letters", params={"service": service})
    assert response.status_code == 200, response.text
    [queue] = response.json()
    return queue


class TestDeadLetterRoutes:
    async def test_list_describes_dead_letters_and_leaves_them_in_place(
        self, served, rabbit_url, topology
    ):
        snapshot_id = str(uuid4())
        first = await dead_letter(rabbit_url, topology, chunk_body(snapshot_id))
        second = await dead_letter(rabbit_url, topology, b"not json at all")

        queue = await dead_letters(served)
        again = await dead_letters(served)

        assert queue["service"] == "uploader"
        assert queue["queue"] == topology.dead_letter_queue("uploader").name
        assert queue["count"] == 2
        assert [item["id"] for item in queue["items"]] == [first, second]
        described = queue["items"][0]
        assert described["routing_key"] == ChunkStaged.routing_key
        assert described["event_type"] == "ChunkStaged"
        assert described["snapshot_id"] == snapshot_id
        assert described["reason"] == "rejected"
        assert described["queue"] == topology.queue("uploader").name
        assert described["first_death_at"] is not None
        assert described["deaths"][0]["count"] == 1
        assert described["deaths"][0]["routing_keys"] == [ChunkStaged.routing_key]
        assert "body" not in described
        assert queue["items"][1]["snapshot_id"] is None
        assert again["count"] == 2
        assert [item["id"] for item in again["items"]] == [first, second]

    async def test_every_service_is_listed_without_a_filter(self, served):
        response = await served.client.get("/api/v1/dead-letters")

        assert response.status_code == 200
        assert [q["service"] for q in response.json()] == [
            "dumper",
            "uploader",
            "catalog",
            "notifications",
        ]
        assert all(q["count"] == 0 and q["items"] == [] for q in response.json())

    async def test_replay_by_id_republishes_under_the_original_key_and_acks(
        self, served, rabbit_url, topology
    ):
        snapshot_id = str(uuid4())
        replayed = await dead_letter(rabbit_url, topology, chunk_body(snapshot_id))
        kept = await dead_letter(rabbit_url, topology, chunk_body(str(uuid4())))

        response = await served.client.post(
            "/api/v1/dead-letters/replay",
            json={"service": "uploader", "ids": [replayed, "no-such-id"]},
        )

        assert response.status_code == 200, response.text
        assert response.json() == {
            "service": "uploader",
            "replayed": [replayed],
            "unroutable": [],
            "not_found": ["no-such-id"],
        }
        [copy] = await work_queue_messages(rabbit_url, topology.queue("uploader").name)
        assert copy.message_id == replayed
        assert copy.routing_key == ChunkStaged.routing_key
        assert copy.body == chunk_body(snapshot_id)
        assert "x-death" not in (copy.headers or {})
        queue = await dead_letters(served)
        assert [item["id"] for item in queue["items"]] == [kept]

    async def test_replay_all_empties_the_queue(self, served, rabbit_url, topology):
        ids = [await dead_letter(rabbit_url, topology, chunk_body(str(uuid4()))) for _ in "ab"]

        response = await served.client.post(
            "/api/v1/dead-letters/replay", json={"service": "uploader", "all": True}
        )

        assert sorted(response.json()["replayed"]) == sorted(ids)
        assert (await dead_letters(served))["count"] == 0
        copies = await work_queue_messages(rabbit_url, topology.queue("uploader").name)
        assert sorted(m.message_id for m in copies) == sorted(ids)

    async def test_the_event_key_comes_from_the_type_when_x_death_names_a_queue(
        self, served, rabbit_url, topology
    ):
        typed = await dead_letter(
            rabbit_url, topology, chunk_body(str(uuid4())), message_type="ChunkStaged"
        )
        untyped = await dead_letter(rabbit_url, topology, b"{}", message_type="")

        queue = await dead_letters(served)
        response = await served.client.post(
            "/api/v1/dead-letters/replay", json={"service": "uploader", "all": True}
        )

        assert [(i["id"], i["routing_key"]) for i in queue["items"]] == [
            (typed, ChunkStaged.routing_key),
            (untyped, None),
        ]
        assert response.json()["replayed"] == [typed]
        assert response.json()["unroutable"] == [untyped]
        [copy] = await work_queue_messages(rabbit_url, topology.queue("uploader").name)
        assert copy.message_id == typed
        assert copy.routing_key == ChunkStaged.routing_key
        # Kept for the operator: nothing would have received it.
        assert [i["id"] for i in (await dead_letters(served))["items"]] == [untyped]

    @pytest.mark.parametrize(
        "body",
        [
            {"service": "uploader"},
            {"service": "uploader", "ids": ["a"], "all": True},
            {"service": "api", "all": True},
        ],
    )
    async def test_replay_needs_one_service_and_either_ids_or_all(self, served, body):
        response = await served.client.post("/api/v1/dead-letters/replay", json=body)

        assert response.status_code == 422
        assert response.json()["detail"].startswith("invalid request")


def run_cli(served: ServedApi, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATABASEMENT_")}
    env |= {"DATABASEMENT_URL": served.url, "DATABASEMENT_TOKEN": served.token, "COLUMNS": "250"}
    return subprocess.run(
        [str(CLI), *args], capture_output=True, text=True, env=env, timeout=60, check=False
    )


class TestDlqCommand:
    async def test_list_then_replay_all(self, served, rabbit_url, topology):
        snapshot_id = str(uuid4())
        message_id = await dead_letter(rabbit_url, topology, chunk_body(snapshot_id))

        listed = await asyncio.to_thread(run_cli, served, "dlq", "list", "--service", "uploader")
        as_json = await asyncio.to_thread(run_cli, served, "dlq", "list", "--json")
        replayed = await asyncio.to_thread(
            run_cli, served, "dlq", "replay", "--service", "uploader", "--all"
        )
        after = await asyncio.to_thread(run_cli, served, "dlq", "list", "--service", "uploader")

        assert listed.returncode == 0, listed.stderr
        assert "uploader: 1 dead letter(s)" in listed.stdout
        assert message_id in listed.stdout
        assert snapshot_id in listed.stdout
        assert "rejected" in listed.stdout
        queues = json.loads(as_json.stdout)
        assert [q["count"] for q in queues] == [0, 1, 0, 0]
        assert replayed.returncode == 0, replayed.stderr
        assert replayed.stdout.strip() == "replayed 1 dead letter(s) of uploader"
        assert "uploader: 0 dead letter(s)" in after.stdout

    async def test_replay_without_ids_or_all_is_one_sentence(self, served):
        result = await asyncio.to_thread(run_cli, served, "dlq", "replay", "--service", "dumper")

        assert result.returncode != 0
        assert result.stderr.strip() == (
            "databasement: name the ids to replay, or pass --all (not both)"
        )
        assert "Traceback" not in result.stderr

    async def test_an_unknown_id_fails_with_its_name(self, served):
        result = await asyncio.to_thread(
            run_cli, served, "dlq", "replay", "--service", "catalog", "nope"
        )

        assert result.returncode != 0
        assert "not in the dead-letter queue: nope" in result.stderr
