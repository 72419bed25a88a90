"""Log redaction: no password or key reaches a log line, even by mistake."""

import json
import logging
from collections.abc import Iterator

import pytest
import structlog
from structlog.testing import capture_logs

from shared.logging import REDACTED, configure_logging, get_logger, redact_secrets, redact_text


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """configure_logging is process-global; put structlog and the root logger back after."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    structlog.reset_defaults()
    root.handlers[:] = handlers
    root.setLevel(level)


class TestRedactText:
    def test_masks_the_password_of_a_url(self):
        text = "cannot reach postgresql://backup:s3cr3t@db.example:5432/shop"

        assert redact_text(text) == (
            f"cannot reach postgresql://backup:{REDACTED}@db.example:5432/shop"
        )

    def test_leaves_a_url_without_password_alone(self):
        text = "amqp://rabbit.example:5672/ and postgresql://postgres@127.0.0.1/x"

        assert redact_text(text) == text


class TestRedactSecrets:
    def test_masks_password_like_keys_at_any_depth(self):
        with capture_logs(processors=[redact_secrets]) as logs:
            get_logger("test").info(
                "server_registered",
                password="hunter2",
                secret_key="abc",
                api_token="t0k3n",
                spec={"host": "db", "password": "hunter2", "nested": {"access_key": "AK"}},
                host="db",
            )

        entry = logs[0]
        assert entry["password"] == REDACTED
        assert entry["secret_key"] == REDACTED
        assert entry["api_token"] == REDACTED
        assert entry["spec"]["password"] == REDACTED
        assert entry["spec"]["nested"]["access_key"] == REDACTED
        assert entry["spec"]["host"] == "db"
        assert entry["host"] == "db"

    def test_masks_url_passwords_inside_values(self):
        with capture_logs(processors=[redact_secrets]) as logs:
            get_logger("test").warning(
                "broker_unreachable", url="amqp://guest:guest@127.0.0.1:5672/"
            )

        assert logs[0]["url"] == f"amqp://guest:{REDACTED}@127.0.0.1:5672/"


@pytest.mark.usefixtures("restore_logging")
class TestConfiguredOutput:
    def test_renders_one_json_line_without_the_secret(self, capsys):
        configure_logging("info", json=True)
        with structlog.contextvars.bound_contextvars(snapshot_id="5f1d"):
            get_logger("test").info(
                "dump_failed", reason="login to mysql://root:topsecret@db/ failed", password="x1"
            )

        lines = capsys.readouterr().err.strip().splitlines()
        assert len(lines) == 1
        record = json.loads(lines[0])
        assert record["event"] == "dump_failed"
        assert record["snapshot_id"] == "5f1d"
        assert record["level"] == "info"
        assert record["timestamp"].endswith("Z")
        assert record["password"] == REDACTED
        assert "topsecret" not in lines[0]
        assert "x1" not in lines[0].replace(REDACTED, "")

    def test_filters_below_the_configured_level(self, capsys):
        configure_logging("warning", json=True)
        log = get_logger("test")
        log.info("chunk_stored")
        log.warning("volume_nearly_full")

        events = [json.loads(line)["event"] for line in capsys.readouterr().err.splitlines()]
        assert events == ["volume_nearly_full"]

    def test_routes_stdlib_loggers_through_the_same_redaction(self, capsys):
        configure_logging("info", json=True)
        logging.getLogger("uvicorn.error").info("connecting to %s", "amqp://u:pw@host/")

        record = json.loads(capsys.readouterr().err.strip())
        assert record["event"] == f"connecting to amqp://u:{REDACTED}@host/"
        assert record["logger"] == "uvicorn.error"
