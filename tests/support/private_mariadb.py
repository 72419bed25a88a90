"""A private MariaDB with a binary log (log_bin, ROW format) on a free loopback port.

The machine's MariaDB (3306) is shared and runs without a binary log; archiving tests need
one that has it. `mariadb-install-db` plus `mariadbd` take about a second. MariaDB refuses
to run as root, so as root the data belongs to the `mysql` user.
"""

import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from tests.support.env import free_port

INSTALL_DB = shutil.which("mariadb-install-db")
SERVER = shutil.which("mariadbd", path="/usr/sbin:/usr/bin")
CLIENT = shutil.which("mariadb")
TIMEOUT = 30.0


def mariadb_available() -> bool:
    return None not in (INSTALL_DB, SERVER, CLIENT)


class PrivateMariaDB:
    """root with an empty password on 127.0.0.1:`port`; `sql()` runs statements as root."""

    def __init__(self, *, server_id: int = 7) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="dbm-maria-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.server_id = server_id
        self._user: list[str] = []
        self._process: subprocess.Popen[bytes] | None = None
        if os.geteuid() == 0:
            owner = pwd.getpwnam("mysql")
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
            self._user = ["--user=mysql"]

    def start(self) -> None:
        if INSTALL_DB is None or SERVER is None:
            raise RuntimeError("MariaDB is not installed")
        subprocess.run(
            [INSTALL_DB, "--no-defaults", f"--datadir={self.data}", *self._user,
             "--auth-root-authentication-method=normal", "--skip-test-db"],
            capture_output=True, check=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        self._process = subprocess.Popen(
            [SERVER, "--no-defaults", f"--datadir={self.data}", *self._user,
             f"--port={self.port}", "--bind-address=127.0.0.1",
             f"--socket={self.root / 'sock'}", f"--pid-file={self.root / 'pid'}",
             f"--log-bin={self.data / 'mariadb-bin'}", "--binlog-format=ROW",
             f"--server-id={self.server_id}", "--skip-name-resolve",
             "--innodb-buffer-pool-size=16M", f"--log-error={self.root / 'error.log'}"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + TIMEOUT
        while self._try("SELECT 1").returncode != 0:
            if time.monotonic() > deadline or self._process.poll() is not None:
                raise RuntimeError(f"mariadbd did not start: see {self.root / 'error.log'}")
            time.sleep(0.05)

    def sql(self, statements: str) -> str:
        done = self._try(statements)
        if done.returncode != 0:
            raise RuntimeError(done.stderr.decode(errors="replace"))
        return done.stdout.decode()

    def _try(self, statements: str) -> subprocess.CompletedProcess[bytes]:
        """Statements go on stdin: a CREATE USER's password never sits in an argv."""
        if CLIENT is None:
            raise RuntimeError("the mariadb client is not installed")
        return subprocess.run(
            [CLIENT, "--no-defaults", "-h127.0.0.1", f"-P{self.port}", "-uroot", "-N", "-B"],
            input=statements.encode(), capture_output=True, check=False, timeout=TIMEOUT,
        )  # fmt: skip

    def remove(self) -> None:
        try:
            if self._process is not None and self._process.poll() is None:
                self._process.terminate()
                self._process.wait(TIMEOUT)
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
