"""The connection test's archiving verdict against real servers (issue #18, first slice).

Private servers set up for archiving answer "ready"; the machine's shared servers, set up
for dumps only (no replication line in pg_hba.conf, no binary log), answer "no" with the
change to make. The ordinary checks pass either way: the verdict is advice.
"""

import subprocess
from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from services.dumper.adapters.discovery import ToolFinder
from services.dumper.adapters.probing import ConnectionTester
from services.dumper.connection_test import ConnectionReport
from services.dumper.settings import DumperSettings
from shared.queries import TestConnection
from shared.specs import ConnectionSpec
from tests.fixtures.resources import MariaDB, unique
from tests.integration.dumper.conftest import maria_spec, pg_spec
from tests.support.private_mariadb import PrivateMariaDB, mariadb_available
from tests.support.private_postgres import BIN, PrivatePostgres, postgres_available

pytestmark = pytest.mark.integration

PASSWORD = "pw-" + unique("")
HBA = """\
local all all trust
host replication dbm_rep 127.0.0.1/32 scram-sha-256
host replication dbm_norep 127.0.0.1/32 scram-sha-256
host all all 127.0.0.1/32 scram-sha-256
"""
ROLES = f"""
CREATE ROLE dbm_rep LOGIN REPLICATION PASSWORD '{PASSWORD}';
CREATE ROLE dbm_norep LOGIN PASSWORD '{PASSWORD}';
CREATE ROLE dbm_nohba LOGIN REPLICATION PASSWORD '{PASSWORD}';
"""
DUMP = "SELECT, SHOW VIEW, TRIGGER, EVENT, LOCK TABLES, PROCESS"
GRANTS = f"""
CREATE USER 'dbm_rep'@'%' IDENTIFIED BY '{PASSWORD}';
GRANT {DUMP}, RELOAD, REPLICATION SLAVE, BINLOG MONITOR ON *.* TO 'dbm_rep'@'%';
CREATE USER 'dbm_plain'@'%' IDENTIFIED BY '{PASSWORD}';
GRANT {DUMP} ON *.* TO 'dbm_plain'@'%';
"""


@pytest.fixture(scope="module")
def archiving_postgres() -> Iterator[PrivatePostgres]:
    """PostgreSQL 15 as shipped (wal_level replica), with replication lines for dbm_*."""
    if not postgres_available():
        pytest.skip("PostgreSQL server binaries are not installed")
    server = PrivatePostgres()
    try:
        server.start()
        psql = [str(BIN / "psql"), "-h", str(server.root), "-p", str(server.port)]
        subprocess.run(
            [*psql, "-U", "postgres", "-v", "ON_ERROR_STOP=1"],  # the passwords on stdin
            input=ROLES.encode(), check=True, capture_output=True, timeout=30,
        )  # fmt: skip
        (server.data / "pg_hba.conf").write_text(HBA)
        server.reload()
        yield server
    finally:
        server.remove()


@pytest.fixture(scope="module")
def archiving_mariadb() -> Iterator[PrivateMariaDB]:
    """MariaDB with log_bin, binlog_format ROW and server_id 7."""
    if not mariadb_available():
        pytest.skip("MariaDB server binaries are not installed")
    server = PrivateMariaDB()
    try:
        server.start()
        server.sql(GRANTS)
        yield server
    finally:
        server.remove()


async def connection_report(spec: ConnectionSpec) -> ConnectionReport:
    settings = DumperSettings()
    finder = ToolFinder(postgres_glob=settings.postgres_bin_glob, search_dirs=settings.search_dirs)
    return await ConnectionTester(finder, timeout=5).run(spec, None)


def role(server: PrivatePostgres, name: str) -> ConnectionSpec:
    return ConnectionSpec(
        type="postgresql", host="127.0.0.1", port=server.port, username=name,
        password=SecretStr(PASSWORD),
    )  # fmt: skip


def failed(report: ConnectionReport) -> dict[str, str]:
    assert all(c.ok for c in report.checks), report.checks  # advice never fails the test
    return {c.check: c.detail for c in report.archiving.checks if not c.ok}


class TestPostgresArchiving:
    async def test_a_replication_role_with_a_replication_line_is_ready(self, archiving_postgres):
        report = await connection_report(role(archiving_postgres, "dbm_rep"))
        assert failed(report) == {}
        assert report.archiving.summary == "ready for point-in-time recovery: yes"
        details = {c.check: c.detail for c in report.archiving.checks}
        assert details["replication_connection"] == (
            "a replication connection as dbm_rep from 127.0.0.1 is accepted"
        )

    async def test_a_role_without_replication_is_told_the_alter_role(self, archiving_postgres):
        report = await connection_report(role(archiving_postgres, "dbm_norep"))
        assert failed(report) == {
            "replication_role": "role dbm_norep lacks REPLICATION: ALTER ROLE dbm_norep "
            "REPLICATION",
            "replication_connection": "pg_hba.conf lets dbm_norep connect for replication "
            "from 127.0.0.1, but the server refuses to stream WAL to a role without REPLICATION",
        }
        assert report.archiving.summary.startswith("ready for point-in-time recovery: no: ")
        assert PASSWORD not in str(report)

    async def test_a_role_without_a_replication_line_is_given_the_line(self, archiving_postgres):
        report = await connection_report(role(archiving_postgres, "dbm_nohba"))
        assert failed(report) == {
            "replication_connection": "pg_hba.conf has no replication line for dbm_nohba from "
            "127.0.0.1: add `host replication dbm_nohba 127.0.0.1/32 scram-sha-256` and "
            "reload the server"
        }

    async def test_the_machines_postgres_answers_not_ready_on_the_wire(self, dumper, postgres_url):
        """The shared server has no replication line; its ordinary checks still pass."""
        reply = await dumper.ask(
            TestConnection(connection=dumper.sealer.seal(pg_spec(postgres_url)))
        )
        assert reply["ok"], reply
        assert all(c["ok"] for c in reply["checks"]), reply["checks"]
        archiving = reply["archiving"]
        assert archiving["ready"] is False
        assert archiving["summary"].startswith("ready for point-in-time recovery: no: pg_hba.conf")
        assert [c["check"] for c in archiving["checks"]] == [
            "replication_role", "wal_level", "wal_senders", "replication_slots",
            "replication_connection",
        ]  # fmt: skip


class TestMariadbArchiving:
    async def test_a_server_with_a_row_binlog_and_the_grants_is_ready(self, archiving_mariadb):
        spec = ConnectionSpec(
            type="mariadb", host="127.0.0.1", port=archiving_mariadb.port, username="dbm_rep",
            password=SecretStr(PASSWORD),
        )  # fmt: skip
        report = await connection_report(spec)
        assert failed(report) == {}
        assert report.archiving.ready

    async def test_a_user_without_replication_grants_is_given_the_grant(self, archiving_mariadb):
        spec = ConnectionSpec(
            type="mariadb", host="127.0.0.1", port=archiving_mariadb.port,
            username="dbm_plain", password=SecretStr(PASSWORD),
        )  # fmt: skip
        report = await connection_report(spec)
        assert failed(report) == {
            "replication_privileges": "'dbm_plain'@'%' lacks REPLICATION SLAVE, BINLOG MONITOR, "
            "RELOAD on *.*: GRANT REPLICATION SLAVE, BINLOG MONITOR, RELOAD ON *.* TO "
            "'dbm_plain'@'%'"
        }
        assert PASSWORD not in str(report)

    async def test_the_machines_mariadb_without_a_binlog_answers_not_ready_on_the_wire(
        self, dumper, mariadb: MariaDB
    ):
        reply = await dumper.ask(TestConnection(connection=dumper.sealer.seal(maria_spec(mariadb))))
        assert reply["ok"], reply
        archiving = {c["check"]: c for c in reply["archiving"]["checks"]}
        if archiving["log_bin"]["ok"]:
            pytest.skip("this machine's MariaDB keeps a binary log")
        assert reply["archiving"]["ready"] is False
        assert archiving["log_bin"]["detail"].startswith("log_bin is OFF: the server keeps no")
        assert "log_bin is OFF" in reply["archiving"]["summary"]
