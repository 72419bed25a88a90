"""What the fault run left behind, counted: the figures the suite prints and asserts.

The catalog's own table is the authority on what is known (the api would show an accepted
request it cannot find in the catalog as "pending", hiding a loss); the volumes, the S3
bucket and the staging disk are looked at directly.
"""

import asyncio
import hashlib
import random
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg

from shared.naming import manifest_key
from tests.faults.harness import Harness
from tests.faults.maria_sources import restore_maria_and_compare
from tests.faults.sources import restore_and_compare
from tests.faults.stream import Request

TERMINAL = {"completed", "failed"}
RESTORES_AT_ONCE = 3
SNAPSHOTS = """
SELECT id::text, status, error, path, volume_id::text AS volume_id, compression, database, sha256
FROM catalog.snapshots
"""


LEFTOVERS = (
    "orphan part files (local)",
    "incomplete multipart uploads (S3)",
    "objects without a completed snapshot",
    "staged chunks left",
)


@dataclass(frozen=True)
class Snapshot:
    id: str
    status: str
    error: str | None
    path: str | None
    volume_id: str | None
    compression: str | None
    database: str | None
    sha256: str | None


@dataclass
class Figures:
    """Every figure of the run; `must_be_zero` names those the suite asserts are 0."""

    values: dict[str, int] = field(default_factory=dict)
    details: dict[str, list[str]] = field(default_factory=dict)

    must_be_zero = (
        "answered 500 (a stack trace, not a sentence)",
        "lost",
        "stuck",
        "failed without a reason",
        *LEFTOVERS,
        "wrong but completed",
        "secrets in logs",
        "secrets in argv",
    )

    def note(self, name: str, items: list[str]) -> None:
        self.values[name] = len(items)
        if items:
            self.details[name] = items

    def nonzero(self) -> dict[str, list[str]]:
        return {
            name: self.details.get(name, [])
            for name in self.must_be_zero
            if self.values.get(name, 0) != 0
        }


async def catalog_snapshots(harness: Harness) -> dict[str, Snapshot]:
    conn = await asyncpg.connect(harness.postgres.url("databasement"))
    try:
        return {r["id"]: Snapshot(**dict(r)) for r in await conn.fetch(SNAPSHOTS)}
    finally:
        await conn.close()


async def count_in_flight(harness: Harness, requests: list[Request]) -> int | None:
    """Accepted snapshots the catalog does not hold as terminal yet; None if it cannot tell."""
    accepted = {r.snapshot_id for r in requests if r.snapshot_id}
    try:
        known = await asyncio.wait_for(catalog_snapshots(harness), timeout=5)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return None
    return sum(1 for i in accepted if i not in known or known[i].status not in TERMINAL)


async def wait_settled(harness: Harness, accepted: list[str]) -> dict[str, Snapshot]:
    """Poll the catalog until every accepted snapshot is terminal, or the grace period ends."""
    deadline = time.monotonic() + harness.settings.grace
    while True:
        try:
            known = await catalog_snapshots(harness)
        except (OSError, asyncpg.PostgresError):
            known = {}
        if all(i in known and known[i].status in TERMINAL for i in accepted):
            return known
        if time.monotonic() > deadline:
            return known
        await asyncio.sleep(2)


def volume_files(harness: Harness) -> dict[str, set[str]]:
    """Every key on each volume: files under the local root, objects in the bucket."""
    local = {
        str(p.relative_to(harness.local_root)) for p in harness.local_root.rglob("*") if p.is_file()
    }
    client = harness.seaweed.server.client()
    s3 = {o.object_name for o in client.list_objects(harness.bucket, recursive=True)}
    return {"local": local, "s3": s3}


def open_uploads(harness: Harness) -> list[str]:
    client = harness.seaweed.server.client()
    result = client._list_multipart_uploads(harness.bucket)
    return [f"{u.object_name} ({u.upload_id})" for u in result.uploads]


def count_leftovers(harness: Harness, known: dict[str, Snapshot], figures: Figures) -> None:
    """Orphan parts, open multipart uploads, unexplained objects and staged chunks."""
    volume_of = {str(v["id"]): name for name, v in harness.volumes.items()}
    expected: dict[str, set[str]] = {"local": set(), "s3": set()}
    for snap in known.values():
        if snap.status == "completed" and snap.path and snap.volume_id in volume_of:
            expected[volume_of[snap.volume_id]] |= {snap.path, manifest_key(snap.path)}
    files = volume_files(harness)
    parts = sorted(k for k in files["local"] if k.startswith(".parts/"))
    figures.note("orphan part files (local)", parts)
    figures.note("incomplete multipart uploads (S3)", open_uploads(harness))
    unexplained = [
        f"{name}: {key}"
        for name, keys in files.items()
        for key in sorted(keys - expected[name])
        if not key.startswith(".parts/")
    ]
    figures.note("objects without a completed snapshot", unexplained)
    figures.note("staged chunks left", [str(p) for p in harness.staging.leftovers()])


async def restore_completed(harness: Harness, completed: list[Snapshot], figures: Figures) -> None:
    """Restore every completed snapshot (or a sample) with plain tools and compare."""
    sample = harness.settings.restore_sample
    chosen = completed if sample is None else random.sample(completed, min(sample, len(completed)))
    wrong: list[str] = []
    volume_of = {str(v["id"]): name for name, v in harness.volumes.items()}
    parallel = asyncio.Semaphore(RESTORES_AT_ONCE)

    async def check(snap: Snapshot, tmp: Path) -> None:
        async with parallel:
            problem = await _restore_one(harness, snap, volume_of, tmp)
        if problem:
            wrong.append(f"{snap.id}: {problem}")

    with tempfile.TemporaryDirectory(prefix="dbm-faults-restore-") as tmp:
        await asyncio.gather(*(check(snap, Path(tmp)) for snap in chosen))
    figures.values["completed snapshots restored and compared"] = len(chosen)
    figures.note("wrong but completed", wrong)


async def _restore_one(
    harness: Harness, snap: Snapshot, volume_of: dict[str, str], tmp: Path
) -> str | None:
    if not snap.path or snap.database not in harness.sources:
        return f"completed without a path or a known source ({snap.path}, {snap.database})"
    if volume_of.get(snap.volume_id or "") == "local":
        artifact = harness.local_root / snap.path
        if not artifact.is_file():
            return "the artifact is missing from the local volume"
    else:
        artifact = tmp / snap.id
        client = harness.seaweed.server.client()
        try:
            await asyncio.to_thread(client.fget_object, harness.bucket, snap.path, str(artifact))
        except Exception as exc:  # minio's S3Error and urllib3's errors alike
            return f"the artifact cannot be read from S3: {exc}"
    digest = await asyncio.to_thread(lambda: hashlib.sha256(artifact.read_bytes()).hexdigest())
    if digest != snap.sha256:
        return "the artifact's sha256 differs from the catalog's"
    compression, expected = snap.compression or "gzip", harness.sources[snap.database]
    if harness.engines[snap.database] == "mariadb":
        return await restore_maria_and_compare(harness.maria, artifact, compression, expected)
    return await restore_and_compare(harness.source_admin_url, artifact, compression, expected)


def scan_secrets(harness: Harness, figures: Figures) -> None:
    env = harness.stack.env
    secrets = {
        "database password": harness.server_password,
        "S3 secret key": harness.seaweed.admin.secret_key,
        "seal key": env["SEAL_KEY"],
        "credentials key": env["API_CREDENTIALS_KEY"],
        "API token": harness.stack.token,
    }
    logs = harness.stack.logs()
    argv = "\n".join(harness.argv.seen)
    figures.note("secrets in logs", [w for w, s in secrets.items() if s and s in logs])
    figures.note("secrets in argv", [w for w, s in secrets.items() if s and s in argv])


async def audit(harness: Harness, requests: list[Request]) -> Figures:
    figures = Figures()
    accepted = [r.snapshot_id for r in requests if r.snapshot_id]
    figures.values["requests sent"] = len(requests)
    figures.values["accepted (202)"] = len(accepted)
    refused = [r for r in requests if r.refusal]
    figures.note("refused (not accepted)", [f"#{r.index} {r.refusal}" for r in refused])
    figures.note(
        "answered 500 (a stack trace, not a sentence)",
        [f"#{r.index}" for r in refused if (r.refusal or "").startswith("500")],
    )
    settling = time.monotonic()
    known = await wait_settled(harness, accepted)
    figures.values["seconds after the last fault until all terminal"] = round(
        time.monotonic() - settling
    )
    mine = [known[i] for i in accepted if i in known]
    completed = [s for s in mine if s.status == "completed"]
    failed = [s for s in mine if s.status == "failed"]
    figures.values["terminal (completed + failed)"] = len(completed) + len(failed)
    figures.values["completed"] = len(completed)
    figures.values["failed"] = len(failed)
    if failed:
        figures.details["failure reasons"] = sorted({f"{s.error}" for s in failed})
    figures.note("failed without a reason", [s.id for s in failed if not (s.error or "").strip()])
    figures.note("stuck", [f"{s.id} {s.status}" for s in mine if s.status not in TERMINAL])
    figures.note("lost", [i for i in accepted if i not in known])
    # The uploader tidies up right after a terminal status; give it a moment before counting.
    for _ in range(10):
        count_leftovers(harness, known, figures)
        if not any(figures.values[k] for k in LEFTOVERS):
            break
        await asyncio.sleep(2)
    await restore_completed(harness, completed, figures)
    scan_secrets(harness, figures)
    return figures
