"""Volume quotas: refuse with a sentence, warn through the hook, never block on silence."""

from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import pytest
from structlog.testing import capture_logs

from services.api.errors import InvalidRequestError, UnavailableError
from services.api.models import Volume
from services.api.quotas import OverQuota, QuotaExceededError, check_quotas, quota_change
from services.api.schemas.volumes import VolumeUpdate


class FakeLink:
    """Answers the catalog's volume_usage with `used[volume_id]`; records what was asked."""

    def __init__(self, used: dict[str, int] | None = None, *, down: bool = False) -> None:
        self.used = used or {}
        self.down = down
        self.asked: list[dict[str, Any]] = []

    async def ask_catalog(
        self, body: dict[str, Any], *, wait: float | None = None
    ) -> dict[str, Any]:
        del wait
        self.asked.append(body)
        if self.down:
            raise UnavailableError("the catalog did not answer")
        return {"ok": True, "bytes": self.used.get(body["volume_id"], 0), "snapshots": 1}


def volume(quota: int | None, action: str = "refuse", name: str = "nas") -> Volume:
    return Volume(
        id=uuid4(),
        name=name,
        type="local",
        config={"path": "/srv"},
        spec_sealed="x",
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
        quota_bytes=quota,
        quota_action=action,  # type: ignore[arg-type]
    )


class Hook:
    def __init__(self, *, fails: bool = False) -> None:
        self.seen: list[OverQuota] = []
        self.fails = fails

    async def __call__(self, over: OverQuota) -> None:
        self.seen.append(over)
        if self.fails:
            raise RuntimeError("notification channel down")


class TestCheckQuotas:
    async def test_no_quota_asks_nothing(self):
        link = FakeLink()
        assert await check_quotas([volume(None)], link=link) == []  # type: ignore[arg-type]
        assert link.asked == []

    async def test_under_the_quota_passes(self):
        nas = volume(1000)
        link = FakeLink({str(nas.id): 999})
        hook = Hook()
        assert await check_quotas([nas], link=link, on_over_quota=hook) == []  # type: ignore[arg-type]
        assert hook.seen == []

    async def test_at_the_quota_refuses_with_volume_usage_and_quota(self):
        nas = volume(1000, name="nas-1")
        link = FakeLink({str(nas.id): 1000})
        hook = Hook()
        with pytest.raises(QuotaExceededError) as refused:
            await check_quotas([nas], link=link, on_over_quota=hook)  # type: ignore[arg-type]
        assert str(refused.value) == (
            "volume 'nas-1' uses 1000 bytes, at or over its quota of 1000 bytes: "
            "the backup is refused"
        )
        assert isinstance(refused.value, InvalidRequestError)  # 422, and a failed firing
        assert [o.action for o in hook.seen] == ["refuse"]

    async def test_warn_accepts_and_calls_the_hook(self):
        nas = volume(10, action="warn")
        link = FakeLink({str(nas.id): 50})
        hook = Hook()
        warned = await check_quotas([nas], link=link, on_over_quota=hook)  # type: ignore[arg-type]
        assert warned == hook.seen
        assert (warned[0].used_bytes, warned[0].quota_bytes, warned[0].action) == (50, 10, "warn")

    async def test_the_default_hook_logs_volume_over_quota(self):
        nas = volume(10, action="warn")
        with capture_logs() as logs:
            await check_quotas([nas], link=FakeLink({str(nas.id): 10}))  # type: ignore[arg-type]
        events = [e for e in logs if e["event"] == "volume_over_quota"]
        assert events == [
            {
                "event": "volume_over_quota",
                "log_level": "warning",
                "volume_id": str(nas.id),
                "volume": "nas",
                "used_bytes": 10,
                "quota_bytes": 10,
                "action": "warn",
            }
        ]

    async def test_a_failing_hook_never_decides_the_backup(self):
        nas = volume(10, action="warn")
        warned = await check_quotas(
            [nas],
            link=FakeLink({str(nas.id): 20}),  # type: ignore[arg-type]
            on_over_quota=Hook(fails=True),
        )
        assert len(warned) == 1

    async def test_a_silent_catalog_accepts_unchecked(self):
        nas = volume(10)
        with capture_logs() as logs:
            assert await check_quotas([nas], link=FakeLink(down=True)) == []  # type: ignore[arg-type]
        assert any(e["event"] == "quota_not_checked" for e in logs)

    async def test_every_volume_is_checked_and_one_refusal_is_enough(self):
        fine, full = volume(100, name="a"), volume(100, name="b")
        link = FakeLink({str(fine.id): 1, str(full.id): 100})
        with pytest.raises(QuotaExceededError, match="'b'"):
            await check_quotas([fine, full], link=link)  # type: ignore[arg-type]


class TestQuotaChange:
    def test_only_given_fields_change(self):
        assert quota_change(VolumeUpdate(name="x")) == {}
        assert quota_change(VolumeUpdate(quota_bytes=5)) == {"quota_bytes": 5}
        assert quota_change(VolumeUpdate(quota_action="warn")) == {"quota_action": "warn"}

    def test_a_given_null_removes_the_quota(self):
        assert quota_change(VolumeUpdate.model_validate({"quota_bytes": None})) == {
            "quota_bytes": None
        }

    @pytest.mark.parametrize("body", [{"quota_bytes": 0}, {"quota_action": "delete"}])
    def test_invalid_quotas_are_refused(self, body):
        with pytest.raises(ValueError, match="quota"):
            VolumeUpdate.model_validate(body)
