"""Notifications: signing, backoff, trigger rules, payloads. No sockets."""

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from services.api.adapters.notification_configs import config_facts
from services.api.notifications import messages, rules
from services.api.notifications.channels import public_view, split_config
from services.api.notifications.overdue import due_by
from services.api.notifications.schemas import EmailConfig, SlackConfig, WebhookConfig
from services.api.notifications.signing import is_valid, signature, signed_headers

NOW = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)


class TestSigning:
    def test_signature_is_hmac_sha256_of_timestamp_dot_body(self) -> None:
        body = b'{"kind":"backup_failed"}'
        expected = hmac.new(b"s3cret-s3cret-s3cret", b"1700000000." + body, hashlib.sha256)
        assert (
            signature("s3cret-s3cret-s3cret", 1700000000, body) == "sha256=" + expected.hexdigest()
        )

    def test_receiver_accepts_the_signed_request_and_refuses_a_changed_one(self) -> None:
        body = b'{"a":1}'
        headers = signed_headers("k" * 20, 1700000000, body)
        timestamp = headers["X-Databasement-Timestamp"]
        header = headers["X-Databasement-Signature"]
        assert is_valid("k" * 20, timestamp, body, header)
        assert not is_valid("k" * 20, timestamp, b'{"a":2}', header)
        assert not is_valid("k" * 20, "1700000001", body, header)
        assert not is_valid("other-secret-value", timestamp, body, header)
        assert not is_valid("k" * 20, "not-a-number", body, header)


class TestBackoff:
    def test_doubles_from_the_base(self) -> None:
        waits = [rules.backoff(n, base=10, cap=3600) for n in range(1, 6)]
        assert waits == [10, 20, 40, 80, 160]

    def test_is_capped(self) -> None:
        assert rules.backoff(40, base=10, cap=3600) == 3600
        assert rules.backoff(1000, base=10, cap=60) == 60


class TestTriggerRules:
    @pytest.mark.parametrize(
        ("trigger", "kind", "wanted"),
        [
            ("failure", "backup_failed", True),
            ("failure", "backup_completed", False),
            ("failure", "backup_overdue", True),
            ("failure", "verify_failed", True),
            ("failure", "volume_over_quota", True),
            ("success", "backup_completed", True),
            ("success", "backup_failed", False),
            ("success", "restore_completed", True),
            ("all", "backup_failed", True),
            ("all", "verify_completed", True),
            (None, "backup_failed", True),
            (None, "backup_completed", False),
            ("nonsense", "backup_completed", False),
        ],
    )
    def test_trigger_decides(self, trigger: str | None, kind: rules.Kind, wanted: bool) -> None:
        assert rules.wanted(trigger, kind) is wanted

    def test_only_terminal_statuses_notify(self) -> None:
        assert rules.snapshot_kind("completed") == "backup_completed"
        assert rules.snapshot_kind("failed") == "backup_failed"
        assert rules.snapshot_kind("in_progress") is None
        assert rules.snapshot_kind("deleted") is None

    def test_a_verify_with_differing_counts_is_a_failed_verify(self) -> None:
        assert rules.restore_kind(mode="verify", finished=True, verify_ok=False) == "verify_failed"
        assert rules.restore_kind(mode="verify", finished=False, verify_ok=None) == "verify_failed"
        assert (
            rules.restore_kind(mode="verify", finished=True, verify_ok=True) == "verify_completed"
        )
        assert (
            rules.restore_kind(mode="restore", finished=True, verify_ok=None) == "restore_completed"
        )
        assert (
            rules.restore_kind(mode="restore", finished=False, verify_ok=None) == "restore_failed"
        )


class TestPayloads:
    def test_failed_backup_says_where_and_why(self) -> None:
        body = messages.payload(
            "backup_failed",
            {"server": "prod", "database": "shop", "error": "pg_dump exited 1", "size": None},
            occurred_at=NOW,
        )
        assert body["message"] == "Backup of shop on prod failed: pg_dump exited 1"
        assert body["title"] == "Backup failed"
        assert "size" not in body
        json.dumps(body)

    def test_every_kind_has_a_sentence(self) -> None:
        for kind in messages.TITLES:
            assert messages.sentence(kind, {})  # type: ignore[arg-type]

    def test_email_subject_and_body(self) -> None:
        body = messages.payload(
            "backup_overdue", {"server": "p", "database": "d", "rpo_hours": 1}, occurred_at=NOW
        )
        subject, text = messages.email_text(body)
        assert subject.startswith("[Databasement] Backup overdue: No completed backup of d on p")
        assert "rpo_hours: 1" in text


class TestChannelSecrets:
    def test_webhook_secret_is_split_off_and_only_flagged(self) -> None:
        config = WebhookConfig(url="https://example.com/h", secret="0123456789abcdef")  # type: ignore[arg-type]
        public, secrets = split_config("webhook", config)
        assert secrets == {"secret": "0123456789abcdef"}
        assert public == {"url": "https://example.com/h"}
        assert public_view("webhook", public, {"secret"}) == {
            "url": "https://example.com/h",
            "secret_set": True,
        }

    def test_slack_url_is_the_secret(self) -> None:
        public, secrets = split_config(
            "slack", SlackConfig(url="https://hooks.slack.com/services/X")
        )  # type: ignore[arg-type]
        assert public == {}
        assert secrets == {"url": "https://hooks.slack.com/services/X"}

    def test_email_password_is_sealed(self) -> None:
        config = EmailConfig(
            host="h", username="u", password="pw", from_address="a@b.c", to=["x@y.z"]
        )  # type: ignore[arg-type]
        public, secrets = split_config("email", config)
        assert secrets == {"password": "pw"}
        assert "pw" not in json.dumps(public)


class TestConfigFacts:
    def test_reads_the_contract_fields(self) -> None:
        channel = uuid4()
        row = {
            "id": str(uuid4()),
            "name": "nightly",
            "server_id": str(uuid4()),
            "enabled": True,
            "rpo_hours": 0.5,
            "notify": {"on": "all", "channel_ids": [str(channel)]},
            "post_backup_hook": "notify-ops",
            "post_restore_hook": None,
            "created_at": "2026-11-25T03:00:00+00:00",
            "databases": ["shop", "crm"],
        }
        facts = config_facts(row)
        assert facts.notify_on == "all"
        assert facts.channel_ids == [channel]
        assert facts.rpo_hours == 0.5
        assert facts.post_backup_hook == "notify-ops"
        assert facts.post_restore_hook is None
        assert facts.created_at == NOW
        assert facts.databases == ["shop", "crm"]

    def test_defaults_to_failure_without_notify(self) -> None:
        facts = config_facts({"id": str(uuid4()), "name": "n", "server_id": None})
        assert facts.notify_on == "failure"
        assert facts.channel_ids == []


class TestOverdue:
    def test_due_counts_from_the_last_success(self) -> None:
        assert due_by(NOW, NOW - timedelta(days=9), 2) == NOW + timedelta(hours=2)

    def test_due_counts_from_creation_when_none_ever(self) -> None:
        assert due_by(None, NOW, 0.001) == NOW + timedelta(hours=0.001)

    def test_nothing_to_count_from(self) -> None:
        assert due_by(None, None, 1) is None


class TestEmailHeaders:
    @pytest.mark.parametrize(
        ("text", "header"),
        [
            ("shop\nBcc: x@evil.example", "shop Bcc: x@evil.example"),
            ("a\r\nb", "a  b"),
            ("a\x00b\x1bc\x7f", "a b c"),
            ("a\u2028b\u2029c\x85d", "a b c d"),
            ("  café ✓  ", "café ✓"),
        ],
    )
    def test_header_values_lose_every_line_break_and_control_character(
        self, text: str, header: str
    ) -> None:
        assert messages.header_value(text) == header

    def test_a_database_with_a_newline_gives_one_subject_line(self) -> None:
        body = messages.payload(
            "backup_failed",
            {"server": "pg", "database": "shop\nX-Evil: 1", "error": "line one\nline two"},
            occurred_at=NOW,
        )
        subject, text = messages.email_text(body)
        assert "\n" not in subject
        assert subject.startswith("[Databasement] Backup failed: Backup of shop X-Evil: 1 on pg")
        assert "line one\nline two" in text  # the body may keep its lines

    def test_a_long_subject_is_cut(self) -> None:
        assert len(messages.header_value("x" * 500)) == 200


class TestEmailConfig:
    def test_a_tls_ca_that_is_not_pem_is_refused(self) -> None:
        with pytest.raises(ValueError, match="tls_ca is not a PEM certificate"):
            EmailConfig(host="h", from_address="a@b.c", to=["x@y.z"], tls_ca="not a cert")  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="tls_ca is not a PEM certificate"):
            EmailConfig(host="h", from_address="a@b.c", to=["x@y.z"], tls_ca="Þø")  # type: ignore[arg-type]
