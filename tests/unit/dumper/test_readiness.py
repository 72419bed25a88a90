"""Archiving readiness: each prerequisite's verdict and the sentence that says what to change."""

from dataclasses import replace

from services.dumper.checks import parse_grants
from services.dumper.readiness import (
    MysqlFacts,
    PostgresFacts,
    ReplicationAttempt,
    hba_line,
    mysql_readiness,
    not_checked,
    postgres_readiness,
)

READY_PG = PostgresFacts(
    role="backup",
    superuser=False,
    replication=True,
    wal_level="replica",
    max_wal_senders=10,
    wal_senders_used=1,
    max_replication_slots=10,
    slots_used=2,
    client_address="10.0.0.5",
    password_encryption="scram-sha-256",
    attempt=ReplicationAttempt("accepted"),
)
READY_MARIA = MysqlFacts(
    version="10.11.6-MariaDB-0+deb12u1",
    account="backup@%",
    log_bin=True,
    binlog_format="ROW",
    server_id=1,
    grants=parse_grants(["GRANT RELOAD, REPLICATION SLAVE, BINLOG MONITOR ON *.* TO `backup`@`%`"]),
)


def details(readiness) -> dict[str, str]:
    return {c.check: c.detail for c in readiness.checks if not c.ok}


class TestPostgresReadiness:
    def test_a_replication_role_on_a_replica_server_is_ready(self):
        readiness = postgres_readiness(READY_PG)
        assert readiness.ready
        assert readiness.summary == "ready for point-in-time recovery: yes"
        assert [c.check for c in readiness.checks] == [
            "replication_role", "wal_level", "wal_senders", "replication_slots",
            "replication_connection",
        ]  # fmt: skip

    def test_a_role_without_replication_is_told_the_alter_role(self):
        facts = replace(
            READY_PG, replication=False, attempt=ReplicationAttempt("not_replication_role")
        )
        readiness = postgres_readiness(facts)
        assert not readiness.ready
        assert details(readiness)["replication_role"] == (
            "role backup lacks REPLICATION: ALTER ROLE backup REPLICATION"
        )
        assert details(readiness)["replication_connection"].startswith(
            "pg_hba.conf lets backup connect for replication from 10.0.0.5, but"
        )
        assert readiness.summary.startswith("ready for point-in-time recovery: no: role backup")

    def test_a_superuser_needs_no_replication_attribute(self):
        readiness = postgres_readiness(replace(READY_PG, superuser=True, replication=False))
        assert readiness.ready
        assert readiness.checks[0].detail == "role backup is a superuser"

    def test_a_missing_hba_line_is_given_the_line_to_add(self):
        facts = replace(READY_PG, attempt=ReplicationAttempt("no_hba_line"))
        assert details(postgres_readiness(facts)) == {
            "replication_connection": "pg_hba.conf has no replication line for backup from "
            "10.0.0.5: add `host replication backup 10.0.0.5/32 scram-sha-256` and reload "
            "the server"
        }

    def test_the_hba_line_fits_ipv6_md5_and_a_quoted_role(self):
        facts = replace(
            READY_PG, role="Backup", client_address="fd00::5", password_encryption="md5"
        )
        assert hba_line(facts) == 'host replication "Backup" fd00::5/128 md5'

    def test_wal_level_minimal_is_not_enough(self):
        readiness = postgres_readiness(replace(READY_PG, wal_level="minimal"))
        assert details(readiness) == {
            "wal_level": "wal_level is minimal: set wal_level = replica in postgresql.conf and "
            "restart the server"
        }

    def test_logical_wal_level_is_enough(self):
        assert postgres_readiness(replace(READY_PG, wal_level="logical")).ready

    def test_fewer_than_two_free_wal_senders_are_not_enough(self):
        readiness = postgres_readiness(replace(READY_PG, max_wal_senders=2, wal_senders_used=1))
        assert details(readiness)["wal_senders"].startswith(
            "max_wal_senders is 2, 1 in use: archiving needs 2 free"
        )

    def test_every_slot_taken_leaves_none_for_the_stream(self):
        readiness = postgres_readiness(replace(READY_PG, max_replication_slots=2, slots_used=2))
        assert "no slot is free" in details(readiness)["replication_slots"]

    def test_another_refusal_is_quoted(self):
        facts = replace(READY_PG, attempt=ReplicationAttempt("refused", "too many clients"))
        assert details(postgres_readiness(facts)) == {
            "replication_connection": "the replication connection was refused: too many clients"
        }


class TestMysqlReadiness:
    def test_binlog_in_row_format_with_the_privileges_is_ready(self):
        readiness = mysql_readiness(READY_MARIA)
        assert readiness.ready, readiness.summary
        assert [c.check for c in readiness.checks] == [
            "log_bin", "binlog_format", "server_id", "replication_privileges",
        ]  # fmt: skip

    def test_log_bin_off_is_told_how_to_switch_it_on(self):
        readiness = mysql_readiness(replace(READY_MARIA, log_bin=False))
        assert details(readiness) == {
            "log_bin": "log_bin is OFF: the server keeps no binary log; set "
            "`log_bin = mariadb-bin` under [mysqld] in its configuration and restart it"
        }

    def test_mixed_and_statement_formats_are_not_exact_enough(self):
        for binlog_format in ("MIXED", "STATEMENT"):
            detail = details(mysql_readiness(replace(READY_MARIA, binlog_format=binlog_format)))
            assert detail["binlog_format"].startswith(
                f"binlog_format is {binlog_format}: set `binlog_format = ROW`"
            )
            assert "MIXED and STATEMENT" in detail["binlog_format"]

    def test_server_id_zero_refuses_streaming(self):
        detail = details(mysql_readiness(replace(READY_MARIA, server_id=0)))
        assert detail["server_id"].startswith("server_id is 0: the server refuses")

    def test_missing_privileges_are_granted_in_one_statement(self):
        grants = parse_grants(["GRANT SELECT ON *.* TO `backup`@`%`"])
        readiness = mysql_readiness(replace(READY_MARIA, grants=grants))
        assert details(readiness) == {
            "replication_privileges": "'backup'@'%' lacks REPLICATION SLAVE, BINLOG MONITOR, "
            "RELOAD on *.*: GRANT REPLICATION SLAVE, BINLOG MONITOR, RELOAD ON *.* TO "
            "'backup'@'%'"
        }

    def test_super_does_not_give_binlog_monitor_on_mariadb_10_5_and_later(self):
        grants = parse_grants(["GRANT RELOAD, SUPER, REPLICATION SLAVE ON *.* TO `b`@`%`"])
        maria = mysql_readiness(replace(READY_MARIA, grants=grants))
        assert "lacks BINLOG MONITOR on *.*" in details(maria)["replication_privileges"]
        mysql = mysql_readiness(replace(READY_MARIA, version="8.0.36", grants=grants))
        assert mysql.ready

    def test_mysql_names_replication_client(self):
        grants = parse_grants(["GRANT RELOAD, REPLICATION SLAVE ON *.* TO `b`@`%`"])
        readiness = mysql_readiness(replace(READY_MARIA, version="8.0.36", grants=grants))
        assert "lacks REPLICATION CLIENT" in details(readiness)["replication_privileges"]

    def test_privileges_on_one_database_do_not_count(self):
        grants = parse_grants(["GRANT ALL PRIVILEGES ON `shop`.* TO `backup`@`%`"])
        assert not mysql_readiness(replace(READY_MARIA, grants=grants)).ready

    def test_all_privileges_on_star_covers_them(self):
        grants = parse_grants(["GRANT ALL PRIVILEGES ON *.* TO `root`@`localhost`"])
        assert mysql_readiness(replace(READY_MARIA, grants=grants)).ready


class TestNotChecked:
    def test_a_server_that_refused_the_login_is_not_ready_and_says_why(self):
        readiness = not_checked("authenticated failed")
        assert not readiness.ready
        assert readiness.summary == (
            "ready for point-in-time recovery: not checked: authenticated failed"
        )
        assert readiness.public() == {
            "ready": False, "summary": readiness.summary, "checks": [],
        }  # fmt: skip
