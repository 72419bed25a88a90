"""A database name full of shell and SQL metacharacters is a name, never code.

Each name carries a command substitution that would create a marker file, a quote of every
kind, a statement separator, a comment and a DROP. The backup and the restore (into a target
named just as badly) must round-trip the data, and no marker file may appear: the dump and
client tools get the name as one argv item, and every SQL statement quotes it.
"""

import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from tests.e2e.client import Api
from tests.fixtures.resources import MariaDB

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ROWS = [(1, "it's"), (2, 'say "hi"; DROP TABLE t; --'), (3, "$(touch /tmp/nope) `id`"), (4, None)]


def marker_places(marker: str) -> list[Path]:
    """Where a `touch` run by a shell in any of our processes would have put the file."""
    places = [Path(marker)] if marker.startswith("/") else []
    folders = {Path.cwd(), Path(tempfile.gettempdir()), Path.home(), Path("/")}
    return places + [folder / Path(marker).name for folder in folders]


def hostile(prefix: str, marker: str) -> str:
    return f"{prefix}'b\"c; $(touch {marker}) `x` --; DROP"


@pytest.fixture
def markers() -> Iterator[list[str]]:
    made: list[str] = []
    yield made
    for marker in made:
        for place in marker_places(marker):
            place.unlink(missing_ok=True)


def new_marker(markers: list[str], *, absolute: bool) -> str:
    name = f"dbm_pwn_{uuid.uuid4().hex[:8]}"
    marker = str(Path(tempfile.gettempdir()) / name) if absolute else name
    markers.append(marker)
    return marker


def quoted_pg(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quoted_maria(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


@pytest.fixture
async def pg_names(postgres_url: str, markers: list[str]) -> AsyncIterator[tuple[str, str]]:
    """(a source database with rows, a restore target not made yet), both named badly."""
    source = hostile("a", new_marker(markers, absolute=True))
    target = hostile("r", new_marker(markers, absolute=True))
    assert len(source.encode()) <= 63, source
    admin = await asyncpg.connect(postgres_url)
    try:
        await admin.execute(f"CREATE DATABASE {quoted_pg(source)}")
        conn = await asyncpg.connect(postgres_url, database=source)
        try:
            await conn.execute("CREATE TABLE t (id int PRIMARY KEY, txt text)")
            await conn.executemany("INSERT INTO t VALUES ($1, $2)", ROWS)
        finally:
            await conn.close()
        yield source, target
    finally:
        for name in (source, target):
            await admin.execute(f"DROP DATABASE IF EXISTS {quoted_pg(name)} WITH (FORCE)")
        await admin.close()


@pytest.fixture
def maria_names(mariadb: MariaDB, markers: list[str]) -> Iterator[tuple[str, str]]:
    """The same for MariaDB, whose names may hold no '/', '\\' or '.': relative markers."""
    source = hostile("a", new_marker(markers, absolute=False))
    target = hostile("r", new_marker(markers, absolute=False))
    with mariadb.connect() as conn, conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE {quoted_maria(source)} CHARACTER SET utf8mb4")
        cur.execute(f"CREATE TABLE {quoted_maria(source)}.t (id int PRIMARY KEY, txt text)")
        cur.executemany(f"INSERT INTO {quoted_maria(source)}.t VALUES (%s, %s)", ROWS)
        conn.commit()
    try:
        yield source, target
    finally:
        with mariadb.connect() as conn, conn.cursor() as cur:
            for name in (source, target):
                cur.execute(f"DROP DATABASE IF EXISTS {quoted_maria(name)}")


async def round_trip(api: Api, server: dict, source: str, target: str, volume: Path) -> dict:
    registered = await api.add_local_volume(volume)
    [pending] = await api.backup(server["id"], source, registered["id"], "gzip")
    snapshot = await api.wait_terminal(pending["id"])
    assert snapshot["status"] == "completed", snapshot.get("error")
    assert snapshot["database"] == source
    restore = await api.wait_restore(
        (await api.restore(snapshot["id"], server["id"], target))["id"]
    )
    assert restore["status"] == "completed", restore.get("error")
    return snapshot


def assert_no_marker(markers: list[str]) -> None:
    found = [str(p) for m in markers for p in marker_places(m) if p.exists()]
    assert found == [], f"an injected command ran: {found}"


class TestHostileDatabaseNames:
    async def test_postgres_backs_up_and_restores_a_hostile_name(
        self, api, postgres_url, pg_names, markers, volume_dir
    ):
        source, target = pg_names
        server = await api.add_postgres_server()

        snapshot = await round_trip(api, server, source, target, volume_dir)

        conn = await asyncpg.connect(postgres_url, database=target)
        try:
            rows = [tuple(r) for r in await conn.fetch("SELECT id, txt FROM t ORDER BY id")]
        finally:
            await conn.close()
        assert rows == ROWS
        artifact = volume_dir / snapshot["path"]
        assert artifact.is_file()
        # The stored path is made of safe segments; the name itself never became a path.
        assert artifact.resolve().is_relative_to(volume_dir.resolve())
        assert_no_marker(markers)

    async def test_mariadb_backs_up_and_restores_a_hostile_name(
        self, api, mariadb, maria_names, markers, volume_dir
    ):
        source, target = maria_names
        server = await api.add_maria_server(mariadb)

        snapshot = await round_trip(api, server, source, target, volume_dir)

        with mariadb.connect(target) as conn, conn.cursor() as cur:
            cur.execute("SELECT id, txt FROM t ORDER BY id")
            rows = [tuple(r) for r in cur.fetchall()]
        assert rows == ROWS
        assert (volume_dir / snapshot["path"]).resolve().is_relative_to(volume_dir.resolve())
        assert_no_marker(markers)
