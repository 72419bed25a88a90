"""Connection-test arithmetic: grant parsing, missing privileges, cascade, TLS options."""

import asyncio
from pathlib import Path
from uuid import uuid4

import pytest
from pydantic import SecretStr

from services.dumper.cancellation import Cancellations
from services.dumper.checks import CheckList, mysql_missing, parse_grants, pg_privileges_detail
from services.dumper.errors import DumpCancelledError
from services.dumper.tools import mysql_options, pg_environment
from shared.specs import ConnectionSpec

USER = "TO `u`@`%`"


def spec(**tls) -> ConnectionSpec:
    return ConnectionSpec(
        type="mariadb", host="db", port=3306, username="u", password=SecretStr("pw"), **tls
    )


class TestMysqlPrivileges:
    def test_missing_privileges_are_named_in_a_fixed_order(self):
        grants = parse_grants(
            [f"GRANT USAGE ON *.* {USER}", f"GRANT SELECT, LOCK TABLES ON `shop`.* {USER}"]
        )
        assert mysql_missing(grants, ["shop"]) == ["SHOW VIEW", "TRIGGER", "EVENT", "PROCESS"]

    def test_all_privileges_on_star_covers_everything(self):
        grants = parse_grants([f"GRANT ALL PRIVILEGES ON *.* {USER} WITH GRANT OPTION"])
        assert mysql_missing(grants, ["shop", "crm"]) == []

    def test_all_on_one_database_does_not_cover_another_or_process(self):
        grants = parse_grants([f"GRANT ALL PRIVILEGES ON `shop`.* {USER}"])
        assert mysql_missing(grants, ["shop"]) == ["PROCESS"]
        assert "SELECT" in mysql_missing(grants, ["crm"])

    def test_database_wildcards_match_like_mysql(self):
        line = f"GRANT SELECT, SHOW VIEW, TRIGGER, EVENT, LOCK TABLES ON `shop\\_%`.* {USER}"
        grants = parse_grants([line, f"GRANT PROCESS ON *.* {USER}"])
        assert mysql_missing(grants, ["shop_eu"]) == []
        assert mysql_missing(grants, ["shopxeu"]) != []

    def test_table_level_and_column_grants_do_not_cover_the_database(self):
        grants = parse_grants(
            [f"GRANT SELECT (id), INSERT ON `shop`.`orders` {USER}", f"GRANT PROCESS ON *.* {USER}"]
        )
        assert "SELECT" in mysql_missing(grants, ["shop"])

    def test_role_and_proxy_lines_are_ignored(self):
        grants = parse_grants(["GRANT `reader` TO `u`@`%`", f"GRANT PROXY ON ''@'%' {USER}"])
        assert grants == []


class TestCheckList:
    def test_checks_after_a_failure_are_not_checked(self):
        checks = CheckList()
        checks.passed("reachable", "ok")
        checks.failed_with("authenticated", "denied")
        result = checks.finish()
        assert [c.check for c in result] == [
            "reachable", "authenticated", "server_version", "privileges", "dump_tool"
        ]  # fmt: skip
        assert [c.ok for c in result] == [True, False, False, False, False]
        assert result[2].detail == "not checked: authenticated failed"

    def test_pg_detail_names_missing_objects_and_counts_the_rest(self):
        names = [f"public.t{i}" for i in range(25)]
        detail = pg_privileges_detail(names, tables=25, sequences=0, where="shop")
        assert detail.startswith("missing SELECT on public.t0, public.t1")
        assert detail.endswith("and 5 more")
        ok = pg_privileges_detail([], tables=3, sequences=1, where="shop")
        assert ok == "SELECT on all 3 tables and 1 sequences of shop"


class TestTls:
    def test_postgres_gets_sslmode_and_a_root_cert_file(self):
        env = pg_environment(
            spec(tls_mode="verify-full"), database="d", connect_timeout=5, ca_file=Path("/t/ca")
        )
        assert (env["PGSSLMODE"], env["PGSSLROOTCERT"]) == ("verify-full", "/t/ca")
        assert "PGSSLMODE" not in pg_environment(spec(), database="d", connect_timeout=5)

    @pytest.mark.parametrize(
        ("mode", "present", "absent"),
        [
            ("disable", ["skip-ssl"], ["ssl-ca", "ssl-verify-server-cert"]),
            ("require", ["\nssl\n"], ["skip-ssl", "ssl-verify-server-cert"]),
            ("verify-ca", ['ssl-ca="/t/ca.pem"', "ssl-verify-server-cert"], ["skip-ssl"]),
            (None, [], ["ssl"]),
        ],
    )
    def test_mysql_options_follow_the_mode(self, mode, present, absent):
        text = mysql_options(
            spec(tls_mode=mode, tls_ca="PEM"), connect_timeout=5, ca_file=Path("/t/ca.pem")
        )
        for fragment in present:
            assert fragment in text
        for fragment in absent:
            assert fragment not in text.split("[mysql]")[0].replace("[client]", "")


class TestCancellations:
    async def test_a_cancel_stops_the_running_attempt_with_its_reason(self):
        cancellations = Cancellations()
        started = asyncio.Event()

        async def attempt() -> str:
            started.set()
            await asyncio.sleep(60)
            return "done"

        sid = uuid4()
        task = asyncio.create_task(cancellations.run(sid, attempt()))
        await started.wait()
        assert cancellations.cancel(sid, "cancelled")
        with pytest.raises(DumpCancelledError, match="cancelled"):
            await task
        assert not cancellations.is_running(sid)
        assert cancellations.reason(sid) == "cancelled"

    async def test_stopping_the_caller_is_not_a_cancel(self):
        cancellations = Cancellations()
        started = asyncio.Event()

        async def attempt() -> None:
            started.set()
            await asyncio.sleep(60)

        task = asyncio.create_task(cancellations.run(uuid4(), attempt()))
        await started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    def test_cancelling_an_unknown_snapshot_only_remembers_it(self):
        cancellations = Cancellations(remembered=2)
        ids = [uuid4() for _ in range(3)]
        for sid in ids:
            assert not cancellations.cancel(sid, "cancelled")
        assert cancellations.reason(ids[0]) is None
        assert cancellations.reason(ids[2]) == "cancelled"
