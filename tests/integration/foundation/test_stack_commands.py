"""`make up` / `make down` (scripts/stack.sh): all four ready, and nothing left behind."""

import os
import subprocess
from pathlib import Path

import httpx
import psutil
import pytest

from tests.support.stack import SERVICES, stack_env

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[3]
STACK = ROOT / "scripts" / "stack.sh"


def stack(command: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(STACK), command], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def write_env_file(path: Path, env: dict[str, str]) -> None:
    """The variables the test stack sets, as honcho reads them (they override the shell's)."""
    own = {k: v for k, v in env.items() if os.environ.get(k) != v}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{key}={value}\n" for key, value in sorted(own.items())))


def alive(processes: list[psutil.Process]) -> list[str]:
    left = []
    for process in processes:
        try:
            if process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
                left.append(f"{process.pid} {' '.join(process.cmdline())}")
        except psutil.NoSuchProcess:
            continue
    return left


class TestStackCommands:
    def test_up_serves_every_endpoint_and_down_leaves_no_process(
        self, namespace, pg_database, tmp_path
    ):
        var = tmp_path / "var"
        env = stack_env(namespace=namespace, database_url=pg_database, staging=var / "staging")
        write_env_file(var / "dev.env", env)
        ports = {s: env[f"{s.upper()}_HTTP_PORT"] for s in SERVICES}
        shell_env = {**env, "STACK_VAR_DIR": str(var)}

        up = stack("up", shell_env)
        try:
            assert up.returncode == 0, up.stdout + up.stderr + (var / "log/stack.log").read_text()
            honcho = psutil.Process(int((var / "run/stack.pid").read_text()))
            processes = [honcho, *honcho.children(recursive=True)]
            commands = " ".join(" ".join(p.cmdline()) for p in processes)
            for service in SERVICES:
                assert f"services.{service}" in commands
                metrics = env["API_METRICS_PORT"] if service == "api" else ports[service]
                for path, at in (("/readyz", ports[service]), ("/metrics", metrics)):
                    response = httpx.get(f"http://127.0.0.1:{at}{path}", timeout=5)
                    assert response.status_code == 200, (service, path, response.text)
                response = httpx.get(f"http://127.0.0.1:{ports[service]}/healthz", timeout=5)
                assert response.status_code == 200, (service, response.text)
        finally:
            down = stack("down", shell_env)

        assert down.returncode == 0, down.stderr
        assert "stack: down" in down.stdout
        assert alive(processes) == []
        assert not (var / "run/stack.pid").exists()
        for service in SERVICES:
            with pytest.raises(httpx.ConnectError):
                httpx.get(f"http://127.0.0.1:{ports[service]}/healthz", timeout=2)
