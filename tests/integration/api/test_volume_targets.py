"""Where volumes may point: local paths under the operator's roots, clear of the staging
area; through the real api on a real database."""

from pathlib import Path

import pytest

from services.api.volume_paths import CODE_DIR
from shared.settings import StagingSettings
from tests.integration.api.conftest import VOLUME_ROOTS

pytestmark = pytest.mark.integration


@pytest.fixture
def api_options(tmp_path: Path) -> dict:
    staging = tmp_path / "volumes" / "staging"  # an operator's root holding the staging area
    staging.mkdir(parents=True)
    return {
        "query_timeout": 3.0,
        "usage_timeout": 0.3,
        "local_volume_roots": [tmp_path / "volumes", *VOLUME_ROOTS[:1]],
        "staging": StagingSettings(path=staging),
    }


async def add_local(api, path: Path | str):
    return await api.post(
        "/api/v1/volumes", json={"name": "nas", "type": "local", "config": {"path": str(path)}}
    )


class TestLocalVolumeRoots:
    async def test_a_path_under_a_root_is_taken(self, api, tmp_path):
        response = await add_local(api, tmp_path / "volumes" / "nas")
        assert response.status_code == 201, response.text

    @pytest.mark.parametrize("path", ["/", "/etc", "/srv/../etc/backups", "/srvx"])
    async def test_a_path_elsewhere_is_422_naming_the_roots(self, api, tmp_path, path):
        response = await add_local(api, path)
        assert response.status_code == 422
        assert response.json()["detail"] == (
            f"local volume path {path!r} is not under an allowed root "
            f"({tmp_path / 'volumes'}, /srv); the operator sets them in API_LOCAL_VOLUME_ROOTS"
        )

    async def test_a_symlink_out_of_a_root_is_resolved_and_refused(self, api, tmp_path):
        (tmp_path / "volumes" / "escape").symlink_to("/etc")
        response = await add_local(api, tmp_path / "volumes" / "escape" / "backups")
        assert response.status_code == 422
        assert "is not under an allowed root" in response.json()["detail"]

    @pytest.mark.parametrize("inside", ["", "staging/nas", "link/nas"])
    async def test_the_staging_area_is_refused_even_under_a_root(self, api, tmp_path, inside):
        (tmp_path / "volumes" / "link").symlink_to(tmp_path / "volumes" / "staging")
        response = await add_local(api, tmp_path / "volumes" / inside)
        assert response.status_code == 422
        assert "overlaps the staging area" in response.json()["detail"]

    async def test_moving_a_volume_out_of_the_roots_is_422(self, api, tmp_path):
        created = (await add_local(api, tmp_path / "volumes" / "nas")).json()
        path = f"/api/v1/volumes/{created['id']}"
        response = await api.patch(path, json={"config": {"path": "/etc"}})
        assert response.status_code == 422
        assert "is not under an allowed root" in response.json()["detail"]
        assert (await api.patch(path, json={"name": "renamed"})).status_code == 200


class TestTheServicesOwnFiles:
    @pytest.fixture
    def api_options(self, tmp_path: Path) -> dict:
        return {"local_volume_roots": [CODE_DIR.parent], "staging": StagingSettings(path=tmp_path)}

    async def test_a_path_holding_the_code_is_refused(self, api):
        response = await add_local(api, CODE_DIR)
        assert response.status_code == 422
        assert "holds the services' own files" in response.json()["detail"]
