"""Part sizing: chunks grow with the expected size so an S3 artifact fits its part limit."""

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from pydantic import SecretStr

from services.dumper.compression import CompressionOptions, block_compressor
from services.dumper.part_sizing import GIB, MIB, PartLimitError, PartPlan, plan_parts
from services.dumper.pipeline import Pipeline
from services.dumper.tools import DumpPlan, Tool
from shared.events import Destination, DumpFailed, DumpFinished, DumpStarted
from shared.specs import ConnectionSpec, S3VolumeConfig, S3VolumeSpec
from tests.unit.dumper.fakes import BytesSource, MemorySink
from tests.unit.dumper.test_dumping import PASSWORD, WRITE_6_MIB, FakeGateway, Harness
from tests.unit.dumper.test_pipeline import KIB, config, dump_like

TIB = 1024 * GIB


def sized(expected: int | None, *, max_parts: int | None = 10_000) -> PartPlan:
    return plan_parts(expected, min_part_size=8 * MIB, max_part_size=256 * MIB, max_parts=max_parts)


class TestPlanParts:
    def test_without_an_estimate_chunks_keep_the_smallest_size(self):
        assert sized(None).part_size == 8 * MIB

    def test_a_small_database_keeps_the_smallest_size(self):
        assert sized(5 * GIB).part_size == 8 * MIB

    def test_a_big_database_gets_parts_that_fit_with_headroom(self):
        plan = sized(100 * GIB)
        # 100 GiB x 1.5 over 10,000 parts is 15.36 MiB, rounded up to whole MiB.
        assert plan.part_size == 16 * MIB
        assert plan.part_size * plan.max_parts >= 100 * GIB * 1.5

    def test_part_size_is_whole_mib(self):
        assert sized(123_456_789_012).part_size % MIB == 0

    def test_parts_never_grow_past_the_largest_size(self):
        assert sized(2 * TIB).part_size == 256 * MIB

    def test_a_backup_that_cannot_fit_fails_up_front_with_the_numbers(self):
        with pytest.raises(PartLimitError) as caught:
            sized(3 * TIB)
        assert caught.value.reason.startswith(
            "the database is about 3072.0 GiB; with parts of 256.0 MiB that needs 12288 parts, "
            "more than the volume allows (10000)"
        )

    def test_a_forced_small_limit_grows_parts(self):
        plan = plan_parts(30 * MIB, min_part_size=5 * MIB, max_part_size=16 * MIB, max_parts=3)
        assert plan.part_size == 15 * MIB

    def test_without_a_part_limit_nothing_is_refused_and_chunks_grow_the_same(self):
        plan = sized(3 * TIB, max_parts=None)
        assert plan.part_size == 256 * MIB
        assert plan.max_parts is None
        assert sized(100 * GIB, max_parts=None).part_size == 16 * MIB


class TestCheckSeq:
    def test_the_last_allowed_part_passes_and_the_next_fails(self):
        plan = PartPlan(8 * MIB, max_parts=3, expected_size=20 * MIB)
        plan.check_seq(2, staged_bytes=16 * MIB)
        with pytest.raises(PartLimitError, match=r"more than the volume allows \(3\)"):
            plan.check_seq(3, staged_bytes=24 * MIB)

    def test_no_limit_never_fails(self):
        PartPlan(8 * MIB, max_parts=None).check_seq(1_000_000, staged_bytes=0)


class TestPipelineParts:
    def compress(self):
        return block_compressor("gzip", CompressionOptions(gzip_engine="zlib"))

    async def test_chunks_reach_the_planned_part_size(self):
        sink = MemorySink()
        data = dump_like(1200 * KIB)
        plan = PartPlan(100 * KIB, max_parts=None)
        cfg = config(min_part_size=20 * KIB)
        await Pipeline(BytesSource(data), self.compress(), sink, cfg, parts=plan).run()
        assert len(sink.chunks) >= 2
        assert all(chunk.size >= 100 * KIB for chunk in sink.chunks[:-1])

    async def test_a_dump_that_outgrows_its_plan_fails_mid_dump(self):
        sink = MemorySink()
        source = BytesSource(dump_like(3000 * KIB))
        plan = PartPlan(40 * KIB, max_parts=2, expected_size=60 * KIB)
        with pytest.raises(PartLimitError, match="the dump outgrew its plan"):
            await Pipeline(source, self.compress(), sink, config(), parts=plan).run()
        assert len(sink.chunks) == 2  # never a third part, and not after the whole dump


class SizedGateway(FakeGateway):
    def __init__(self, script: str, *, size: int | None) -> None:
        super().__init__(script)
        self.size = size

    @asynccontextmanager
    async def plan(self, _spec: ConnectionSpec, _database: str) -> AsyncIterator[DumpPlan]:
        tool = Tool(Path(sys.executable), "python 3")
        argv = [sys.executable, "-c", self.script]
        yield DumpPlan(tool, argv, {}, "15.1", (PASSWORD,), database_size=self.size)


def on_s3(harness: Harness, request):
    volume = S3VolumeSpec(
        config=S3VolumeConfig(
            endpoint="s3.example", bucket="bkt", access_key="a", secret_key=SecretStr("s")
        )
    )
    destination = Destination(
        volume_id=request.destination.volume_id,
        volume=harness.sealer.seal(volume),
        artifact_key=request.destination.artifact_key,
        compression="gzip",
    )
    return request.model_copy(update={"destination": destination})


class TestDumperPartPlan:
    async def test_a_database_too_big_for_s3_fails_before_the_tool_runs(self, tmp_path):
        harness = Harness(tmp_path, SizedGateway(WRITE_6_MIB, size=3 * TIB))
        outcome = await harness.dumper.dump(on_s3(harness, harness.request()), attempt=1)
        assert isinstance(outcome, DumpFailed)
        assert "needs 12288 parts, more than the volume allows (10000)" in outcome.reason
        assert not harness.processes
        assert not harness.of(DumpStarted)

    async def test_a_local_volume_has_no_limit_and_gets_the_same_big_chunks(self, tmp_path):
        harness = Harness(tmp_path, SizedGateway(WRITE_6_MIB, size=3 * TIB))
        outcome = await harness.dumper.dump(harness.request(), attempt=1)
        assert isinstance(outcome, DumpFinished)
        assert outcome.part_size == 256 * MIB
        assert harness.of(DumpStarted)[0].part_size == 256 * MIB

    async def test_the_last_snapshot_size_outweighs_the_servers_size(self, tmp_path):
        harness = Harness(tmp_path, SizedGateway(WRITE_6_MIB, size=3 * TIB))
        request = on_s3(harness, harness.request()).model_copy(update={"expected_size": 100 * GIB})
        outcome = await harness.dumper.dump(request, attempt=1)
        assert isinstance(outcome, DumpFinished)
        assert outcome.part_size == 16 * MIB

    async def test_the_last_dumps_size_is_remembered_and_outweighs_the_servers_size(self, tmp_path):
        sizes = RememberedSizes()
        harness = Harness(tmp_path, SizedGateway(WRITE_6_MIB, size=3 * TIB))
        harness.dumper._sizes = sizes
        request = harness.request()
        sizes.known[(request.server_id, request.database)] = 100 * GIB

        outcome = await harness.dumper.dump(on_s3(harness, request), attempt=1)

        assert isinstance(outcome, DumpFinished)
        assert outcome.part_size == 16 * MIB  # 100 GiB x 1.5 / 10,000, not the server's 3 TiB
        assert sizes.known[(request.server_id, request.database)] == outcome.size

    async def test_a_failed_dump_leaves_the_remembered_size(self, tmp_path):
        sizes = RememberedSizes()
        harness = Harness(tmp_path, SizedGateway("import sys\nsys.exit(2)\n", size=None))
        harness.dumper._sizes = sizes
        request = harness.request()
        sizes.known[(request.server_id, request.database)] = 5 * GIB

        assert isinstance(await harness.dumper.dump(request, attempt=1), DumpFailed)
        assert sizes.known == {(request.server_id, request.database): 5 * GIB}


class RememberedSizes:
    """The dumper's size memory, in a dict."""

    def __init__(self) -> None:
        self.known: dict[tuple[object, str], int] = {}

    async def last(self, server_id, database: str) -> int | None:
        return self.known.get((server_id, database))

    async def remember(self, server_id, database: str, size: int) -> None:
        self.known[(server_id, database)] = size
