"""The operator's local volume roots: read from the environment, never `/`."""

from pathlib import Path

import pytest
from pydantic import ValidationError

from services.api.errors import InvalidRequestError
from services.api.settings import ApiSettings
from services.api.volume_paths import check_local_path


class TestRootsSetting:
    def test_a_comma_separated_list_is_read(self, monkeypatch):
        monkeypatch.setenv("API_LOCAL_VOLUME_ROOTS", "/srv/backups, /mnt/nas")
        assert ApiSettings().local_volume_roots == [Path("/srv/backups"), Path("/mnt/nas")]

    @pytest.mark.parametrize("roots", ["/", "/srv,/tmp/../"])
    def test_the_root_of_everything_is_refused(self, monkeypatch, roots):
        monkeypatch.setenv("API_LOCAL_VOLUME_ROOTS", roots)
        with pytest.raises(ValidationError, match="`/` would allow every path"):
            ApiSettings()

    def test_the_dev_default_is_var_volumes(self, monkeypatch):
        monkeypatch.delenv("API_LOCAL_VOLUME_ROOTS", raising=False)
        assert ApiSettings().local_volume_roots == [Path("var/volumes")]


class TestCheck:
    def test_no_roots_refuse_every_path(self):
        with pytest.raises(InvalidRequestError, match="none are configured"):
            check_local_path("/srv/x", roots=[], staging=None)

    def test_dot_dot_is_resolved_before_comparing(self, tmp_path):
        with pytest.raises(InvalidRequestError, match="not under an allowed root"):
            check_local_path(f"{tmp_path}/a/../../x", roots=[tmp_path / "a"], staging=None)
        check_local_path(f"{tmp_path}/a/b/../c", roots=[tmp_path / "a"], staging=None)

    def test_a_volume_holding_the_staging_area_is_refused(self, tmp_path):
        with pytest.raises(InvalidRequestError, match="overlaps the staging area"):
            check_local_path(str(tmp_path), roots=[tmp_path], staging=tmp_path / "staging")
