"""Which client versions get which protection against commands in a dump."""

from pathlib import Path

import pytest

from services.dumper.client_input import input_guard
from services.dumper.client_versions import (
    mysql_restore_flags,
    psql_can_restrict,
    psql_counts_begin_blocks,
)
from services.dumper.mysql_guard import MysqlInputGuard
from services.dumper.tools import Tool


def tool(name: str, version: str) -> Tool:
    return Tool(path=Path(f"/usr/bin/{name}"), version=version)


class TestPsql:
    @pytest.mark.parametrize(
        ("version", "restricts"),
        [
            ("psql (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)", True),
            ("psql (PostgreSQL) 15.13", False),
            ("psql (PostgreSQL) 15.14", True),
            ("psql (PostgreSQL) 16.9", False),
            ("psql (PostgreSQL) 16.10", True),
            ("psql (PostgreSQL) 17.6", True),
            ("psql (PostgreSQL) 13.22", True),
            ("psql (PostgreSQL) 12.22", False),
            ("psql (PostgreSQL) 18.1", True),
            ("psql (PostgreSQL) 19devel", True),
        ],
    )
    def test_restrict_from_the_fixed_minor_of_each_major(self, version, restricts):
        assert psql_can_restrict(tool("psql", version)) is restricts

    def test_a_restricting_psql_gets_a_fresh_key_first(self):
        psql = tool("psql", "psql (PostgreSQL) 16.10")
        first = input_guard("postgresql", psql).feed(b"SELECT 1;\n")
        second = input_guard("postgresql", psql).feed(b"SELECT 1;\n")
        assert first.startswith(b"\\restrict ")
        assert first.endswith(b"\nSELECT 1;\n")
        assert first != second

    def test_an_old_psql_gets_the_filter_alone(self):
        psql = tool("psql", "psql (PostgreSQL) 13.5")
        assert input_guard("postgresql", psql).feed(b"SELECT 1;\n") == b"SELECT 1;\n"
        assert not psql_counts_begin_blocks(psql)
        assert psql_counts_begin_blocks(tool("psql", "psql (PostgreSQL) 14.0"))


class TestMysqlClients:
    @pytest.mark.parametrize(
        ("version", "flags"),
        [
            (
                "mariadb  Ver 15.1 Distrib 10.11.19-MariaDB, for debian-linux-gnu (x86_64)",
                ["--binary-mode", "--sandbox"],
            ),
            ("mysql  Ver 15.1 Distrib 10.11.7-MariaDB, for debian-linux-gnu", ["--binary-mode"]),
            ("mariadb  Ver 15.1 Distrib 10.6.18-MariaDB", ["--binary-mode", "--sandbox"]),
            ("mariadb  Ver 15.1 Distrib 10.5.24-MariaDB", ["--binary-mode"]),
            ("mariadb from 11.4.2-MariaDB, client 15.2 for Linux", ["--binary-mode", "--sandbox"]),
            ("mariadb from 11.3.2-MariaDB, client 15.2 for Linux", ["--binary-mode"]),
            ("mariadb from 11.8.3-MariaDB, client 15.2 for Linux", ["--binary-mode", "--sandbox"]),
            (
                "mysql  Ver 8.0.36 for Linux on x86_64 (MySQL Community Server - GPL)",
                ["--binary-mode"],
            ),
        ],
    )
    def test_binary_mode_always_and_the_sandbox_where_the_client_has_it(self, version, flags):
        assert mysql_restore_flags(tool("mysql", version)) == flags

    def test_mysql_and_mariadb_input_goes_through_the_string_filter(self):
        client = tool("mysql", "mysql  Ver 8.0.36 for Linux")
        assert isinstance(input_guard("mysql", client), MysqlInputGuard)
