"""The small MariaDB source databases of the fault suite, and the check that a restore
(`gunzip -c f.sql.gz | mysql`) equals one: row counts and CHECKSUM TABLE per table."""

import asyncio
import subprocess
from pathlib import Path

from tests.e2e.sources import mysql_client
from tests.faults.sources import DECOMPRESS, Fingerprint
from tests.fixtures.resources import MariaDB, unique

SCHEMA = (
    "CREATE TABLE customers (id INT PRIMARY KEY, name VARCHAR(100) NOT NULL, email TEXT)",
    (
        "CREATE TABLE orders (id BIGINT AUTO_INCREMENT PRIMARY KEY, customer_id INT,"
        " amount DECIMAL(12, 2) NOT NULL, note TEXT, placed_at DATETIME NOT NULL,"
        " FOREIGN KEY (customer_id) REFERENCES customers (id))"
    ),
    (
        "INSERT INTO customers SELECT seq, CONCAT('customer ', seq),"
        " IF(seq % 7 = 0, NULL, CONCAT('c', seq, '@example.org')) FROM seq_1_to_$ROWS"
    ),
    (
        "INSERT INTO orders (customer_id, amount, note, placed_at)"
        " SELECT 1 + seq % $ROWS, (seq * 37 % 100000) / 100, REPEAT(MD5(seq), 1 + seq % 4),"
        " '2026-01-01' + INTERVAL seq MINUTE FROM seq_1_to_$ORDERS"
    ),
)


def create_maria_sources(server: MariaDB, count: int) -> list[str]:
    prefix = unique("dbm_faults_m")
    names = [f"{prefix}_{i}" for i in range(count)]
    for index, name in enumerate(names):
        rows = 200 + 150 * index
        with server.connect() as conn, conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
            cur.execute(f"USE `{name}`")
            for statement in SCHEMA:
                cur.execute(statement.replace("$ROWS", str(rows)).replace("$ORDERS", str(rows * 3)))
    return names


def maria_user(server: MariaDB, databases: list[str], password: str) -> str:
    """A dump user of the suite's own whose password is one of the secrets it scans for."""
    user = unique("dbm_fu")
    with server.connect() as conn, conn.cursor() as cur:
        cur.execute(f"CREATE USER '{user}'@'%%' IDENTIFIED BY %s", (password,))
        for database in databases:
            rights = "SELECT, SHOW VIEW, TRIGGER, EVENT, LOCK TABLES, EXECUTE"
            cur.execute(f"GRANT {rights} ON `{database}`.* TO '{user}'@'%'")
        cur.execute(f"GRANT PROCESS, SELECT ON *.* TO '{user}'@'%'")
    return user


def drop_maria(server: MariaDB, names: list[str]) -> None:
    with server.connect() as conn, conn.cursor() as cur:
        for name in names:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")


def drop_maria_user(server: MariaDB, user: str) -> None:
    with server.connect() as conn, conn.cursor() as cur:
        cur.execute(f"DROP USER IF EXISTS '{user}'@'%'")


def maria_fingerprint(server: MariaDB, database: str) -> Fingerprint:
    result: Fingerprint = {}
    with server.connect(database) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s"
            " AND TABLE_TYPE = 'BASE TABLE' ORDER BY 1",
            (database,),
        )
        for (table,) in cur.fetchall():
            cur.execute(f"SELECT COUNT(*) FROM `{table}`")
            (count,) = cur.fetchone()
            cur.execute(f"CHECKSUM TABLE `{table}` EXTENDED")
            checksum = cur.fetchone()
            result[table] = (count, str(checksum[1] if checksum else None))
    return result


async def restore_maria_and_compare(
    server: MariaDB, artifact: Path, compression: str, expected: Fingerprint
) -> str | None:
    """Decompress with the plain tool, pipe into `mysql` in a fresh database, compare."""
    return await asyncio.to_thread(_restore, server, artifact, compression, expected)


def _restore(
    server: MariaDB, artifact: Path, compression: str, expected: Fingerprint
) -> str | None:
    target = unique("dbm_faults_restored_")
    with server.connect() as conn, conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{target}` CHARACTER SET utf8mb4")
    try:
        plain = subprocess.run(
            [*DECOMPRESS[compression], str(artifact)], capture_output=True, check=False
        )
        if plain.returncode != 0:
            return f"{DECOMPRESS[compression][0]} failed: {plain.stderr.decode(errors='replace')}"
        try:
            mysql_client(server, target, plain.stdout)
        except subprocess.CalledProcessError as exc:
            return f"mysql failed: {exc.stderr.decode(errors='replace')[-500:]}"
        restored = maria_fingerprint(server, target)
        if restored != expected:
            differing = sorted(
                t for t in {*restored, *expected} if restored.get(t) != expected.get(t)
            )
            return f"restored tables differ from the source: {', '.join(differing)}"
        return None
    finally:
        with server.connect() as conn, conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{target}`")
