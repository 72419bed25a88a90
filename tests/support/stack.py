"""Run the four services as real processes, the way `make up` does, for end-to-end tests."""

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

import httpx
from cryptography.fernet import Fernet

from shared.encryption import generate_master_key
from tests.support.env import free_port

SERVICES = ("api", "dumper", "uploader", "catalog")
READY_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0


@dataclass
class Stack:
    """A running stack: its API URL, its processes and where they log."""

    api_url: str
    env: dict[str, str]
    log_dir: Path
    ports: dict[str, int]
    processes: dict[str, list[subprocess.Popen[bytes]]] = field(default_factory=dict)
    token: str = ""
    """An API token, made on the api host with `python -m services.api create-token`."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def metrics_url(self) -> str:
        """The first api replica's metrics port (API_METRICS_PORT)."""
        return f"http://127.0.0.1:{self.env['API_METRICS_PORT']}"

    def logs(self) -> str:
        """Everything every process has logged so far."""
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.log_dir.glob("*.log")))

    def start(self, service: str, *, replica: int = 0, extra: Mapping[str, str] = {}) -> None:
        env = {**self.env, **extra}
        if replica:
            env[f"{service.upper()}_HTTP_PORT"] = str(free_port())
            if service == "api":
                env["API_METRICS_PORT"] = str(free_port())
        process = self.spawn(service, env, log_name=f"{service}-{replica}")
        self.processes.setdefault(service, []).append(process)
        port = int(env[f"{service.upper()}_HTTP_PORT"])
        wait_ready(f"http://127.0.0.1:{port}", process, self)

    def spawn(
        self, service: str, env: Mapping[str, str], *, log_name: str
    ) -> subprocess.Popen[bytes]:
        """One more process of `service` with `env`, logging to `log_name`.log beside the
        stack's; not waited for, and not stopped with the stack (the caller stops it).

        One more api on a port of its own also gets a metrics port of its own."""
        if (
            service == "api"
            and env.get("API_HTTP_PORT") != self.env.get("API_HTTP_PORT")
            and env.get("API_METRICS_PORT") == self.env.get("API_METRICS_PORT")
        ):
            env = {**env, "API_METRICS_PORT": str(free_port())}
        # The child writes to its own copy of the descriptor; ours closes at once.
        with (self.log_dir / f"{log_name}.log").open("ab") as log:
            return subprocess.Popen(
                [sys.executable, "-m", f"services.{service}"],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def kill(self, service: str, sig: int = signal.SIGKILL) -> None:
        """Kill every replica of `service` at once (a crash, not a graceful stop)."""
        for process in self.processes.pop(service, []):
            process.send_signal(sig)
            process.wait(timeout=STOP_TIMEOUT)

    def stop(self) -> None:
        for procs in self.processes.values():
            for process in procs:
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)
        for procs in self.processes.values():
            for process in procs:
                try:
                    process.wait(timeout=STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        self.processes.clear()


def wait_ready(base_url: str, process: subprocess.Popen[bytes], stack: Stack) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args} exited with {process.returncode}:\n{stack.logs()}")
        try:
            if httpx.get(f"{base_url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{process.args} not ready after {READY_TIMEOUT}s:\n{stack.logs()}")


def stack_env(
    *,
    namespace: str,
    database_url: str,
    staging: Path,
    extra: Mapping[str, str] = {},
) -> dict[str, str]:
    """The environment of one isolated stack: its own namespace, database, keys and ports."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("API_", "DUMPER_", "UPLOADER_", "CATALOG_"))
    }
    env.update(
        {
            "BROKER_NAMESPACE": namespace,
            "DATABASE_URL": database_url,
            "STAGING_PATH": str(staging),
            # Local volumes of tests live in tmp_path; scripts' under ./var.
            "API_LOCAL_VOLUME_ROOTS": f"{tempfile.gettempdir()},{Path('var').resolve()}",
            "SEAL_KEY": Fernet.generate_key().decode(),
            "API_CREDENTIALS_KEY": Fernet.generate_key().decode(),
            "DUMPER_MASTER_KEYS": generate_master_key("e2e"),  # encryption at rest
            "PYTHONUNBUFFERED": "1",
        }
    )
    for service in SERVICES:
        env[f"{service.upper()}_HTTP_PORT"] = str(free_port())
        env[f"{service.upper()}_ENVIRONMENT"] = "test"
    env["API_METRICS_PORT"] = str(free_port())  # /metrics is not on the api's HTTP port
    env.update(extra)
    return env


def start_stack(env: dict[str, str], log_dir: Path) -> Stack:
    """Start one replica of each service and wait until every one is ready."""
    log_dir.mkdir(parents=True, exist_ok=True)
    ports = {s: int(env[f"{s.upper()}_HTTP_PORT"]) for s in SERVICES}
    stack = Stack(api_url=f"http://127.0.0.1:{ports['api']}", env=env, log_dir=log_dir, ports=ports)
    try:
        for service in SERVICES:
            stack.start(service)
        stack.token = create_token(env, name="e2e")
    except Exception:
        stack.stop()
        raise
    return stack


def start_stack_at(
    root: Path, *, namespace: str, database_url: str, settings: Mapping[str, str] = {}
) -> Stack:
    """An isolated stack (stack_env) with its staging and logs under `root`, started and ready;
    use it as a context manager to stop it after."""
    env = stack_env(
        namespace=namespace, database_url=database_url, staging=root / "staging", extra=settings
    )
    return start_stack(env, root / "logs")


def create_token(env: dict[str, str], *, name: str) -> str:
    """A new API token, made the way an operator makes the first one (it prints only that)."""
    done = subprocess.run(
        [sys.executable, "-m", "services.api", "create-token", "--name", name],
        env=env,
        capture_output=True,
        check=True,
        timeout=READY_TIMEOUT,
    )
    return done.stdout.decode().strip()
