"""A dump attempt end to end with a real child process, a local staging dir and fake servers."""

import asyncio
import gzip
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from pydantic import SecretStr

from services.dumper.adapters.process import ToolProcess
from services.dumper.dumping import Dumper
from services.dumper.errors import ServerUnreachableError
from services.dumper.settings import DumperSettings
from services.dumper.tools import DumpPlan, Tool
from shared.events import (
    BackupRequested,
    ChunkStaged,
    Destination,
    DumpFailed,
    DumpFinished,
    DumpStarted,
    Event,
    utc_now,
)
from shared.sealing import Sealer
from shared.settings import DEV_SEAL_KEY, StagingSettings
from shared.specs import ConnectionSpec, LocalVolumeConfig, LocalVolumeSpec
from shared.staging import LocalStaging, attempt_prefix

PASSWORD = "tops3cret-pw"
MIB = 1024 * 1024
WRITE_6_MIB = (
    "import sys, random\n"
    "r = random.Random(1)\n"
    "for _ in range(96):\n"
    "    sys.stdout.buffer.write(bytes(r.getrandbits(8) % 16 + 65 for _ in range(65536)))\n"
)


class FakeGateway:
    def __init__(self, script: str, *, error: str | None = None) -> None:
        self.script = script
        self.error = error

    @asynccontextmanager
    async def plan(self, _spec: ConnectionSpec, _database: str) -> AsyncIterator[DumpPlan]:
        if self.error:
            raise ServerUnreachableError(self.error)
        tool = Tool(Path(sys.executable), "python 3")
        yield DumpPlan(tool, [sys.executable, "-c", self.script], {}, "15.1", (PASSWORD,))

    async def databases(self, _spec: ConnectionSpec) -> list[str]:
        return ["shop"]


class Harness:
    def __init__(self, tmp_path: Path, gateway: FakeGateway) -> None:
        self.sealer = Sealer(SecretStr(DEV_SEAL_KEY))
        self.staging = LocalStaging(tmp_path / "staging")
        self.events: list[Event] = []
        self.processes: list[ToolProcess] = []
        settings = DumperSettings(
            staging=StagingSettings(path=tmp_path / "staging"),
            block_size=512 * 1024,
            min_part_size=5 * MIB,
            max_staged_chunks=100,
        )

        def launch(argv, env):
            process = ToolProcess(argv, env)
            self.processes.append(process)
            return process

        async def publish(event: Event) -> None:
            self.events.append(event)

        self.dumper = Dumper(
            settings=settings,
            sealer=self.sealer,
            staging=self.staging,
            gateway=gateway,
            launch=launch,
            publish=publish,
        )

    def request(self) -> BackupRequested:
        spec = ConnectionSpec(
            type="postgresql", host="h", port=5432, username="u", password=SecretStr(PASSWORD)
        )
        volume = LocalVolumeSpec(config=LocalVolumeConfig(path="/srv/backups"))
        return BackupRequested(
            snapshot_id=uuid.uuid4(),
            server_id=uuid.uuid4(),
            server_name="s",
            server_type="postgresql",
            database="shop",
            connection=self.sealer.seal(spec),
            destination=Destination(
                volume_id=uuid.uuid4(),
                volume=self.sealer.seal(volume),
                artifact_key="s/shop/x.sql.gz",
                compression="gzip",
            ),
            requested_at=utc_now(),
        )

    def of(self, kind):
        return [e for e in self.events if isinstance(e, kind)]

    def announced(self) -> set[str]:
        return {e.staged_key for e in self.of(ChunkStaged)}

    def left_in_staging(self, snapshot_id: uuid.UUID) -> set[str]:
        """The staged chunks of a snapshot still in the staging area, as keys."""
        folder = self.staging.root / attempt_prefix(snapshot_id)
        return {str(p.relative_to(self.staging.root)) for p in folder.rglob("*.chunk")}


class StallingStaging(LocalStaging):
    """Writes chunk `stall_at`, then hangs before the dumper can announce it."""

    def __init__(self, root: Path, stall_at: int) -> None:
        super().__init__(root)
        self.stall_at = stall_at
        self.stalled = asyncio.Event()

    async def put(self, key: str, data: bytes) -> None:
        await super().put(key, data)
        if key.endswith(f"{self.stall_at:06d}.chunk"):
            self.stalled.set()
            await asyncio.sleep(60)


class TestDumpAttempt:
    async def test_a_clean_dump_stages_chunks_and_finishes(self, tmp_path):
        harness = Harness(tmp_path, FakeGateway(WRITE_6_MIB))
        request = harness.request()
        outcome = await harness.dumper.dump(request, attempt=1)
        assert isinstance(outcome, DumpFinished)
        assert isinstance(harness.events[0], DumpStarted)
        staged = harness.of(ChunkStaged)
        assert outcome.chunk_count == len(staged)
        data = b"".join([await harness.staging.get(e.staged_key) for e in staged])
        assert outcome.size == len(data)
        assert len(gzip.decompress(data)) == outcome.raw_size == 96 * 65536

    async def test_a_failing_tool_gives_its_stderr_without_the_password(self, tmp_path):
        script = (
            WRITE_6_MIB + f"sys.stderr.write('FATAL: login with {PASSWORD} refused\\n')\n"
            "sys.exit(3)\n"
        )
        harness = Harness(tmp_path, FakeGateway(script))
        request = harness.request()
        outcome = await harness.dumper.dump(request, attempt=2)
        assert isinstance(outcome, DumpFailed)
        assert outcome.exit_code == 3
        assert outcome.reason.startswith("python")
        assert "exited with code 3: FATAL: login with [redacted] refused" in outcome.reason
        assert PASSWORD not in outcome.model_dump_json()
        # What was announced is the uploader's to drop (on DumpFailed); nothing else is left.
        assert harness.left_in_staging(request.snapshot_id) == harness.announced()

    async def test_an_unreachable_server_fails_before_any_tool_runs(self, tmp_path):
        gateway = FakeGateway("", error="PostgreSQL at h:1 is unreachable: connection refused")
        harness = Harness(tmp_path, gateway)
        outcome = await harness.dumper.dump(harness.request(), attempt=1)
        assert isinstance(outcome, DumpFailed)
        assert "unreachable" in outcome.reason
        assert not harness.processes

    async def test_cancellation_kills_the_tool_and_leaves_only_announced_chunks(self, tmp_path):
        script = (
            "import os, sys, time\n"
            "sys.stdout.buffer.write(os.urandom(8 * 2**20).hex().encode())\n"
            "sys.stdout.flush()\n"
            "time.sleep(60)\n"
        )
        harness = Harness(tmp_path, FakeGateway(script))
        request = harness.request()
        task = asyncio.create_task(harness.dumper.dump(request, attempt=1))
        async with asyncio.timeout(20):
            while not harness.of(ChunkStaged):
                await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert harness.processes[0]._proc.poll() is not None
        # The uploader may be reading an announced chunk: it stays for the uploader (dropped
        # once another attempt is stored or the snapshot failed).
        assert harness.announced()
        assert harness.left_in_staging(request.snapshot_id) == harness.announced()
        assert not harness.of(DumpFinished)
        assert not harness.of(DumpFailed)

    async def test_an_attempt_cut_short_removes_the_chunk_it_never_announced(self, tmp_path):
        random_12_mib = "import os, sys\nsys.stdout.buffer.write(os.urandom(12 * 2**20))\n"
        harness = Harness(tmp_path, FakeGateway(random_12_mib))
        staging = StallingStaging(tmp_path / "staging", stall_at=1)
        harness.dumper._staging = staging
        request = harness.request()
        task = asyncio.create_task(harness.dumper.dump(request, attempt=1))
        async with asyncio.timeout(20):
            await staging.stalled.wait()
        assert len(harness.left_in_staging(request.snapshot_id)) == 2
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        [announced] = harness.announced()
        assert announced.endswith("000000.chunk")
        assert harness.left_in_staging(request.snapshot_id) == {announced}
