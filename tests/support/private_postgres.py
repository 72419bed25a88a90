"""A private PostgreSQL cluster on a free loopback port, that a fault test may restart.

The machine's PostgreSQL (5432) is shared by everyone's tests and must never be restarted;
this cluster (`initdb` + `pg_ctl`) holds only the services' own tables of one test run.
PostgreSQL refuses to run as root, so as root the cluster belongs to the `postgres` user.
"""

import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.support.env import free_port

BIN = Path("/usr/lib/postgresql/15/bin")
TIMEOUT = 60


def postgres_available() -> bool:
    return (BIN / "initdb").is_file() and (BIN / "pg_ctl").is_file()


class PrivatePostgres:
    """A trust-auth cluster listening on 127.0.0.1:`port` (and a socket in its own folder)."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="dbm-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self._owner: pwd.struct_passwd | None = None
        if os.geteuid() == 0:
            self._owner = pwd.getpwnam("postgres")
            os.chown(self.root, self._owner.pw_uid, self._owner.pw_gid)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *argv: str) -> None:
        result = subprocess.run(
            argv,
            capture_output=True,
            check=False,
            timeout=TIMEOUT,
            user=self._owner.pw_uid if self._owner else None,
            group=self._owner.pw_gid if self._owner else None,
            cwd=self.root,
            stdin=subprocess.DEVNULL,
        )
        if result.returncode != 0:
            raise RuntimeError(f"{argv[0]} failed: {result.stderr.decode(errors='replace')}")

    def start(self) -> None:
        if not self.data.exists():
            self._run(
                str(BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust", "-N"
            )
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
            " -c max_connections=200"
        )
        self._run(
            str(BIN / "pg_ctl"), "-D", str(self.data), "-o", options, "-l",
            str(self.root / "server.log"), "-w", "-t", str(TIMEOUT), "start",
        )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        """`fast` closes every session, as a restart by an operator does."""
        if (self.data / "postmaster.pid").exists():
            self._run(str(BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def reload(self) -> None:
        """Re-read pg_hba.conf and postgresql.conf, as `pg_ctl reload` does."""
        self._run(str(BIN / "pg_ctl"), "-D", str(self.data), "reload")

    def restart(self) -> None:
        self.stop()
        self.start()

    def remove(self) -> None:
        try:
            self.stop("immediate")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
