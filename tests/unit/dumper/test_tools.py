"""Tool choice, argv and environment: the right binary, and never a password in argv."""

from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from services.dumper.errors import ToolNotFoundError
from services.dumper.settings import DumperSettings
from services.dumper.stderr import sanitise, tool_failure
from services.dumper.tools import (
    MYSQL_DUMPS,
    Tool,
    choose_pg_dump,
    mysql_dump_argv,
    mysql_options,
    mysql_query_argv,
    pg_dump_argv,
    pg_environment,
)
from shared.specs import ConnectionSpec

PASSWORD = 's3cr"et\\pw'


def spec(kind: str = "postgresql") -> ConnectionSpec:
    return ConnectionSpec(
        type=kind, host="db.example", port=5432, username="backup", password=SecretStr(PASSWORD)
    )


def pg(major: str, where: str = "/usr/lib/postgresql") -> Tool:
    return Tool(Path(f"{where}/{major}/bin/pg_dump"), f"pg_dump (PostgreSQL) {major}.3 (Debian)")


class TestPgDumpChoice:
    def test_picks_the_closest_version_not_older_than_the_server(self):
        chosen = choose_pg_dump([pg("17"), pg("15"), pg("13")], "15.20 (Debian 15.20-0+deb12u1)")
        assert chosen.major == 15

    def test_a_newer_pg_dump_serves_an_older_server(self):
        assert choose_pg_dump([pg("16"), pg("17")], "14.1").major == 16

    def test_no_fitting_pg_dump_says_which_version_is_needed(self):
        with pytest.raises(ToolNotFoundError) as caught:
            choose_pg_dump([pg("15")], "17.2")
        assert "pg_dump 17 or newer is needed for server version 17.2" in caught.value.reason
        assert "pg_dump (PostgreSQL) 15.3" in caught.value.reason

    def test_version_major_ignores_the_product_name(self):
        assert Tool(Path("pg_dump"), "pg_dump (PostgreSQL) 9.6.24").major == 9


class TestArgv:
    def test_pg_dump_gets_the_password_only_in_its_environment(self):
        argv = pg_dump_argv(pg("15"))
        env = pg_environment(spec(), database="-shop", connect_timeout=5)
        assert argv[1:] == ["--format=plain", "--no-password"]
        assert env["PGPASSWORD"] == PASSWORD
        assert env["PGDATABASE"] == "-shop"
        assert not any(PASSWORD in part for part in argv)

    def test_mysqldump_reads_the_options_file_first_and_takes_the_reference_flags(self):
        tool = Tool(Path("/usr/bin/mysqldump"), "mysqldump Ver 10.19")
        argv = mysql_dump_argv(tool, options_file=Path("/run/x.cnf"), database="shop")
        assert argv[1] == "--defaults-extra-file=/run/x.cnf"
        for flag in ("--single-transaction", "--routines", "--triggers", "--events"):
            assert flag in argv
        assert "--skip-dump-date" in argv
        assert argv[-2:] == ["--", "shop"]
        assert not any(PASSWORD in part for part in argv)

    def test_the_query_client_reads_the_options_file_first(self):
        argv = mysql_query_argv(Path("/usr/bin/mysql"), options_file=Path("/o"), query="SELECT 1")
        assert argv[1] == "--defaults-extra-file=/o"
        assert argv[-1] == "SELECT 1"

    def test_the_options_file_quotes_the_password(self):
        text = mysql_options(spec("mariadb"), connect_timeout=5)
        assert 'password="s3cr\\"et\\\\pw"' in text
        assert text.startswith("[client]\n")

    def test_mariadb_servers_prefer_mariadb_dump_and_mysql_servers_get_mysqldump(self):
        assert MYSQL_DUMPS["mariadb"][0] == "mariadb-dump"
        assert MYSQL_DUMPS["mysql"] == ("mysqldump",)


class TestStderr:
    def test_the_password_is_removed_wherever_it_appears(self):
        text = f"pg_dump: error: something with {PASSWORD} in it"
        assert PASSWORD not in sanitise(text, secrets=(PASSWORD,))

    def test_url_and_assignment_passwords_are_removed(self):
        text = "could not use postgresql://u:hunter22@h/db\npassword=hunter33 failed"
        clean = sanitise(text)
        assert "hunter22" not in clean
        assert "hunter33" not in clean

    def test_mysql_using_password_yes_stays_readable(self):
        text = "ERROR 1045 (28000): Access denied for user 'x'@'h' (using password: YES)"
        assert "(using password: YES)" in sanitise(text)

    def test_only_the_last_lines_are_kept_on_one_line(self):
        text = "\n".join(f"line {n}" for n in range(20))
        assert sanitise(text) == " ".join(f"line {n}" for n in range(14, 20))

    def test_failure_sentence_names_tool_and_code(self):
        reason = tool_failure("pg_dump", 1, "pg_dump: error: boom\n", secrets=())
        assert reason == "pg_dump exited with code 1: pg_dump: error: boom"

    def test_a_killed_tool_says_which_signal(self):
        assert tool_failure("mysqldump", -9, "", secrets=()) == "mysqldump was killed by signal 9"


class TestSettingsAndAttempts:
    def test_a_part_size_below_the_s3_minimum_is_refused(self):
        with pytest.raises(ValidationError, match="5 MiB"):
            DumperSettings(min_part_size=4 * 1024 * 1024)

    def test_threads_default_to_the_cpu_count(self):
        assert DumperSettings().compression_threads(6) == 6
        assert DumperSettings(threads=3).compression_threads(6) == 3
