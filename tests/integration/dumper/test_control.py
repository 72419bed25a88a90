"""The dumper's connection test and cancellations, on the real broker and servers."""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest
from faststream import TestApp
from pydantic import SecretStr

from services.dumper.app import build_app
from shared.events import ChunkStaged, DumpFailed, DumpStarted, SnapshotCancelRequested
from shared.queries import TestConnection
from shared.specs import ConnectionSpec
from tests.fixtures.resources import MariaDB, unique
from tests.integration.dumper.conftest import maria_spec, pg_spec, pg_url, staged_files
from tests.integration.dumper.test_dumper import PG_SOURCE

pytestmark = pytest.mark.integration

CHECKS = ["reachable", "authenticated", "server_version", "privileges", "dump_tool"]


async def run_checks(dumper, spec: ConnectionSpec, database: str | None = None):
    reply = await dumper.ask(TestConnection(connection=dumper.sealer.seal(spec), database=database))
    assert reply["ok"], reply
    assert [c["check"] for c in reply["checks"]] == CHECKS
    return {c["check"]: c for c in reply["checks"]}


@pytest.fixture
def maria_user(mariadb: MariaDB, maria_database: str) -> Iterator[ConnectionSpec]:
    """A MariaDB user with SELECT, TRIGGER, LOCK TABLES and PROCESS, but no SHOW VIEW or EVENT."""
    user, password = unique("dbm_u"), "pw-" + unique("")
    with mariadb.connect() as conn, conn.cursor() as cur:
        cur.execute(f"CREATE USER '{user}'@'%' IDENTIFIED BY '{password}'")
        cur.execute(f"GRANT SELECT, TRIGGER, LOCK TABLES ON `{maria_database}`.* TO '{user}'@'%'")
        cur.execute(f"GRANT PROCESS ON *.* TO '{user}'@'%'")
    try:
        yield ConnectionSpec(
            type="mariadb", host=mariadb.host, port=mariadb.port, username=user,
            password=SecretStr(password),
        )  # fmt: skip
    finally:
        with mariadb.connect() as conn, conn.cursor() as cur:
            cur.execute(f"DROP USER IF EXISTS '{user}'@'%'")


@pytest.fixture
async def pg_role(postgres_url, pg_source) -> AsyncIterator[tuple[ConnectionSpec, str]]:
    """A role that can read public.items but not public.orders nor its sequence."""
    role, database = unique("dbm_r"), await pg_source()
    admin = await asyncpg.connect(postgres_url)
    await admin.execute(f"CREATE ROLE {role} LOGIN PASSWORD 'pw'")
    conn = await asyncpg.connect(pg_url(postgres_url, database))
    await conn.execute(
        "CREATE TABLE items (id int PRIMARY KEY); CREATE TABLE orders (id serial PRIMARY KEY);"
        f"GRANT SELECT ON items TO {role}"
    )
    await conn.close()
    try:
        yield pg_spec(postgres_url, user=role), database
    finally:
        conn = await asyncpg.connect(pg_url(postgres_url, database))
        await conn.execute(f"DROP OWNED BY {role}")
        await conn.close()
        with contextlib.suppress(asyncpg.PostgresError):
            await admin.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
        await admin.execute(f"DROP ROLE IF EXISTS {role}")
        await admin.close()


class TestConnectionTest:
    async def test_a_full_postgres_login_passes_every_check(self, dumper, postgres_url, pg_source):
        checks = await run_checks(dumper, pg_spec(postgres_url), await pg_source())
        assert all(c["ok"] for c in checks.values()), checks
        assert checks["server_version"]["detail"].startswith("PostgreSQL 1")
        assert checks["dump_tool"]["detail"].startswith("pg_dump 1")
        assert " at /" in checks["dump_tool"]["detail"]

    async def test_a_postgres_role_without_select_on_a_table_is_told_which(self, dumper, pg_role):
        spec, database = pg_role
        checks = await run_checks(dumper, spec, database)
        assert checks["authenticated"]["ok"]
        privileges = checks["privileges"]
        assert not privileges["ok"]
        assert privileges["detail"] == "missing SELECT on public.orders, public.orders_id_seq"
        assert checks["dump_tool"] == {
            "check": "dump_tool", "ok": False, "detail": "not checked: privileges failed"
        }  # fmt: skip

    async def test_a_mariadb_user_without_show_view_and_event_is_told_which(
        self, dumper, maria_user, maria_database
    ):
        checks = await run_checks(dumper, maria_user, maria_database)
        assert checks["authenticated"]["ok"], checks
        assert checks["server_version"]["detail"].startswith("MariaDB")
        privileges = checks["privileges"]
        assert not privileges["ok"]
        assert privileges["detail"].startswith("missing: SHOW VIEW, EVENT")
        assert "pw-" not in str(checks)

    async def test_a_full_mariadb_login_passes_every_check(self, dumper, mariadb, maria_database):
        checks = await run_checks(dumper, maria_spec(mariadb), maria_database)
        assert all(c["ok"] for c in checks.values()), checks
        assert checks["dump_tool"]["detail"].split()[0] in {"mariadb-dump", "mysqldump"}

    async def test_a_wrong_password_fails_authentication_without_the_password(
        self, dumper, maria_user, maria_database
    ):
        spec = maria_user.model_copy(update={"password": SecretStr("wrong-secret-xyz")})
        checks = await run_checks(dumper, spec, maria_database)
        assert checks["reachable"]["ok"]
        assert not checks["authenticated"]["ok"]
        assert "Access denied" in checks["authenticated"]["detail"]
        assert "wrong-secret-xyz" not in str(checks)
        assert checks["server_version"]["detail"] == "not checked: authenticated failed"

    async def test_a_closed_port_fails_reachable_and_nothing_else_is_checked(
        self, dumper, postgres_url
    ):
        checks = await run_checks(dumper, pg_spec(postgres_url, port=1))
        assert not checks["reachable"]["ok"]
        assert "refused" in checks["reachable"]["detail"]
        for name in CHECKS[1:]:
            assert checks[name]["detail"] == "not checked: reachable failed"


class TestCancel:
    async def test_cancelling_a_running_dump_kills_it_and_leaves_only_announced_chunks(
        self, dumper_env, postgres_url, pg_source
    ):
        source = await pg_source()
        conn = await asyncpg.connect(pg_url(postgres_url, source))
        await conn.execute(PG_SOURCE)
        await conn.close()
        request = dumper_env.request(pg_spec(postgres_url), source)
        held = dumper_env.settings.model_copy(update={"max_staged_chunks": 1})
        dumper_env.take_chunks = False  # the uploader is away: back-pressure holds the dump

        async with TestApp(build_app(held)):
            await dumper_env.publish(request)
            async with asyncio.timeout(30):
                while not dumper_env.of(request.snapshot_id, ChunkStaged):
                    await asyncio.sleep(0.05)
            assert staged_files(dumper_env.staging.root, request.snapshot_id)
            await dumper_env.publish(SnapshotCancelRequested(snapshot_id=request.snapshot_id))
            failed = await dumper_env.outcome(request.snapshot_id, timeout=20)
            assert isinstance(failed, DumpFailed)
            assert failed.reason == "cancelled"
            assert failed.destination == request.destination
            started = dumper_env.of(request.snapshot_id, DumpStarted)[0]
            assert failed.attempt_id == started.attempt_id
            # The announced chunk is the uploader's to drop when it hears DumpFailed.
            left = set(staged_files(dumper_env.staging.root, request.snapshot_id))
            assert left == dumper_env.announced_files(request.snapshot_id)
            # The request was acked: nothing comes back for another attempt.
            await asyncio.sleep(1)
            assert len(dumper_env.of(request.snapshot_id, DumpStarted)) == 1

    async def test_a_request_cancelled_while_queued_is_refused_without_dumping(
        self, dumper, postgres_url, pg_source
    ):
        request = dumper.request(pg_spec(postgres_url), await pg_source())
        await dumper.publish(SnapshotCancelRequested(snapshot_id=request.snapshot_id))
        await dumper.cancel_recorded(request.snapshot_id)
        await dumper.publish(request)
        failed = await dumper.outcome(request.snapshot_id)
        assert isinstance(failed, DumpFailed)
        assert failed.reason == "cancelled"
        assert failed.attempt_id is None
        assert not dumper.of(request.snapshot_id, DumpStarted)

    async def test_a_recorded_cancel_survives_a_restart_of_the_dumper(
        self, dumper_env, postgres_url, pg_source
    ):
        request = dumper_env.request(pg_spec(postgres_url), await pg_source())
        async with TestApp(build_app(dumper_env.settings)):
            await dumper_env.publish(SnapshotCancelRequested(snapshot_id=request.snapshot_id))
            await dumper_env.cancel_recorded(request.snapshot_id)
        async with TestApp(build_app(dumper_env.settings)):
            await dumper_env.publish(request)
            failed = await dumper_env.outcome(request.snapshot_id)
        assert isinstance(failed, DumpFailed)
        assert failed.reason == "cancelled"
        assert not dumper_env.of(request.snapshot_id, DumpStarted)
