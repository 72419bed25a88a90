"""Volumes: PATCH (type change refused while it holds snapshots), DELETE, /test, usage."""

from typing import Any

import pytest
from pydantic import SecretStr

from shared.sealing import Sealer
from shared.settings import DEV_SEAL_KEY
from shared.specs import LocalVolumeSpec, S3VolumeSpec

pytestmark = pytest.mark.integration

MISSING = "00000000-0000-4000-8000-000000000000"
SECRET = "wJalrXUtnFEMI-secret"
S3 = {
    "endpoint": "s3.example.com",
    "bucket": "backups",
    "access_key": "AKIAEXAMPLE",
    "secret_key": SECRET,
}
PROBE_CHECKS = [
    {"check": "write", "ok": True, "detail": "wrote .databasement-probe-1"},
    {"check": "read", "ok": True, "detail": "read it back"},
    {"check": "delete", "ok": True, "detail": "deleted it"},
]


async def add_volume(api, name: str = "nas", **body: Any) -> dict[str, Any]:
    payload = {"name": name, "type": "local", "config": {"path": "/srv/backups"}} | body
    response = await api.post("/api/v1/volumes", json=payload)
    assert response.status_code == 201, response.text
    return response.json()


def unseal(sealed: str) -> dict[str, Any]:
    return Sealer(SecretStr(DEV_SEAL_KEY)).unseal(sealed)


class TestPatch:
    async def test_s3_config_change_keeps_the_secret(self, api, fake_uploader):
        created = await add_volume(api, "s3", type="s3", config=S3)
        response = await api.patch(
            f"/api/v1/volumes/{created['id']}", json={"config": {"bucket": "backups-2"}}
        )
        assert response.status_code == 200, response.text
        assert response.json()["config"]["bucket"] == "backups-2"
        assert SECRET not in response.text
        fake_uploader.replies["test_volume"] = {"ok": True, "checks": PROBE_CHECKS}
        await api.post(f"/api/v1/volumes/{created['id']}/test")
        spec = S3VolumeSpec.model_validate(unseal(fake_uploader.asked[-1]["volume"]))
        assert spec.config.bucket == "backups-2"
        assert spec.config.secret_key.get_secret_value() == SECRET

    @pytest.mark.parametrize("change", [{"endpoint": "attacker.example:9000"}, {"secure": False}])
    async def test_moving_an_s3_endpoint_without_the_secret_key_is_422(
        self, api, fake_uploader, change
    ):
        """The stored secret key never follows the volume to another endpoint."""
        created = await add_volume(api, "s3", type="s3", config=S3)
        path = f"/api/v1/volumes/{created['id']}"
        response = await api.patch(path, json={"config": change})
        assert response.status_code == 422
        assert response.json()["detail"].startswith(
            "enter the secret key again when the endpoint changes"
        )
        fake_uploader.replies["test_volume"] = {"ok": True, "checks": PROBE_CHECKS}
        await api.post(f"{path}/test")
        spec = S3VolumeSpec.model_validate(unseal(fake_uploader.asked[-1]["volume"]))
        assert spec.config.endpoint == "s3.example.com"
        assert spec.config.secure is True

    async def test_moving_an_s3_endpoint_with_the_secret_key_is_taken(self, api, fake_uploader):
        created = await add_volume(api, "s3", type="s3", config=S3)
        path = f"/api/v1/volumes/{created['id']}"
        change = {"endpoint": "s3-2.example.com", "secret_key": "another-secret-key"}
        response = await api.patch(path, json={"config": change | {"bucket": "backups"}})
        assert response.status_code == 200, response.text
        fake_uploader.replies["test_volume"] = {"ok": True, "checks": PROBE_CHECKS}
        await api.post(f"{path}/test")
        spec = S3VolumeSpec.model_validate(unseal(fake_uploader.asked[-1]["volume"]))
        assert spec.config.endpoint == "s3-2.example.com"
        assert spec.config.secret_key.get_secret_value() == "another-secret-key"

    async def test_rename_and_taken_name(self, api):
        created = await add_volume(api)
        await add_volume(api, "other")
        renamed = await api.patch(f"/api/v1/volumes/{created['id']}", json={"name": "nas-2"})
        assert renamed.json()["name"] == "nas-2"
        taken = await api.patch(f"/api/v1/volumes/{created['id']}", json={"name": "other"})
        assert taken.status_code == 409
        assert taken.json() == {"detail": "a volume named 'other' already exists"}

    async def test_type_change_refused_while_it_holds_snapshots(self, api, fake_catalog):
        created = await add_volume(api)
        fake_catalog.replies["volume_activity"] = {"ok": True, "snapshots": 3}
        response = await api.patch(
            f"/api/v1/volumes/{created['id']}", json={"type": "s3", "config": S3}
        )
        assert response.status_code == 409
        assert response.json() == {
            "detail": "volume 'nas' holds 3 snapshot(s); its type cannot change"
        }
        assert SECRET not in response.text

    async def test_type_change_of_an_empty_volume(self, api, fake_catalog):
        created = await add_volume(api)
        fake_catalog.replies["volume_activity"] = {"ok": True, "snapshots": 0}
        response = await api.patch(
            f"/api/v1/volumes/{created['id']}", json={"type": "s3", "config": S3}
        )
        assert response.status_code == 200, response.text
        assert response.json()["type"] == "s3"
        assert "secret_key" not in response.json()["config"]

    async def test_type_change_without_a_config_is_422(self, api):
        created = await add_volume(api)
        response = await api.patch(f"/api/v1/volumes/{created['id']}", json={"type": "s3"})
        assert response.status_code == 422
        assert response.json() == {"detail": "changing the volume type needs a whole new config"}

    async def test_an_invalid_config_is_422_without_the_secret(self, api):
        created = await add_volume(api, "s3", type="s3", config=S3)
        response = await api.patch(
            f"/api/v1/volumes/{created['id']}", json={"config": {"bucket": "x"}}
        )
        assert response.status_code == 422
        assert "config.bucket" in response.json()["detail"]
        assert SECRET not in response.text

    async def test_unknown_volume_is_404(self, api):
        response = await api.patch(f"/api/v1/volumes/{MISSING}", json={"name": "x"})
        assert response.status_code == 404


class TestDelete:
    async def test_a_volume_holding_snapshots_is_409(self, api, fake_catalog):
        created = await add_volume(api)
        fake_catalog.replies["volume_activity"] = {"ok": True, "snapshots": 1}
        response = await api.delete(f"/api/v1/volumes/{created['id']}")
        assert response.status_code == 409
        assert response.json() == {"detail": "volume 'nas' holds 1 snapshot(s); delete them first"}

    async def test_an_empty_volume_is_deleted(self, api, fake_catalog):
        created = await add_volume(api)
        fake_catalog.replies["volume_activity"] = {"ok": True, "snapshots": 0}
        assert (await api.delete(f"/api/v1/volumes/{created['id']}")).status_code == 204
        assert (await api.get(f"/api/v1/volumes/{created['id']}")).status_code == 404

    async def test_unknown_volume_is_404(self, api):
        assert (await api.delete(f"/api/v1/volumes/{MISSING}")).status_code == 404


class TestVolumeTest:
    async def test_the_uploaders_checks_are_returned(self, api, fake_uploader):
        created = await add_volume(api)
        fake_uploader.replies["test_volume"] = {"ok": True, "checks": PROBE_CHECKS}
        response = await api.post(f"/api/v1/volumes/{created['id']}/test")
        assert response.status_code == 200
        assert response.json() == {"checks": PROBE_CHECKS}
        spec = LocalVolumeSpec.model_validate(unseal(fake_uploader.asked[-1]["volume"]))
        assert spec.config.path == "/srv/backups"

    @pytest.fixture
    def api_options(self) -> dict[str, Any]:
        return {"test_timeout": 0.3, "usage_timeout": 0.2}

    async def test_no_uploader_answering_is_503(self, api):
        created = await add_volume(api)
        response = await api.post(f"/api/v1/volumes/{created['id']}/test")
        assert response.status_code == 503
        assert response.json() == {"detail": "the uploader did not answer within 0.3 s"}


class TestUsage:
    async def test_usage_comes_from_the_catalog_and_the_uploader(
        self, api, fake_catalog, fake_uploader
    ):
        created = await add_volume(api)
        fake_catalog.replies["volume_usage"] = {"ok": True, "bytes": 4096, "snapshots": 2}
        fake_uploader.replies["volume_free_space"] = {
            "ok": True,
            "free_bytes": 10_000,
            "total_bytes": 20_000,
        }
        one = (await api.get(f"/api/v1/volumes/{created['id']}")).json()
        assert one["usage"] == {"bytes": 4096, "snapshots": 2, "free_bytes": 10_000}
        [listed] = (await api.get("/api/v1/volumes")).json()
        assert listed["usage"] == one["usage"]

    async def test_a_silent_uploader_leaves_only_free_space_null(self, api, fake_catalog):
        created = await add_volume(api)
        fake_catalog.replies["volume_usage"] = {"ok": True, "bytes": 1, "snapshots": 1}
        one = (await api.get(f"/api/v1/volumes/{created['id']}")).json()
        assert one["usage"] == {"bytes": 1, "snapshots": 1, "free_bytes": None}
