"""`databasement configs`: how options become a configuration's body, and refusals."""

import pytest

from services.cli.commands.configs import _databases, _retention, _selection
from services.cli.errors import CliError


class TestOptionsToBody:
    def test_no_database_option_means_all(self):
        assert _selection(None, None, None) == {
            "mode": "all",
            "names": [],
            "pattern": None,
            "exclude": [],
        }

    def test_databases_make_a_list_and_a_pattern_a_pattern(self):
        assert _selection(["a", "b"], None, ["c"])["mode"] == "list"
        assert _selection(None, "shop_.*", None)["pattern"] == "shop_.*"

    def test_a_list_and_a_pattern_together_are_refused(self):
        with pytest.raises(CliError, match="--database or --pattern, not both"):
            _selection(["a"], "b.*", None)

    def test_retention_has_only_what_was_given(self):
        assert _retention(7, None, None) == {"keep_last": 7}
        assert _retention(None, 30, "7,4,12") == {
            "keep_days": 30,
            "gfs": {"daily": 7, "weekly": 4, "monthly": 12},
        }

    @pytest.mark.parametrize("gfs", ["7,4", "7,4,x", "7;4;12", "-1,4,12"])
    def test_a_malformed_gfs_is_one_sentence(self, gfs):
        with pytest.raises(CliError, match="--gfs takes DAILY,WEEKLY,MONTHLY counts"):
            _retention(None, None, gfs)

    def test_the_selection_reads_as_words(self):
        assert _databases({"mode": "all", "exclude": ["old"]}) == "all except old"
        assert _databases({"mode": "list", "names": ["a", "b"]}) == "a, b"
        assert _databases({"mode": "pattern", "pattern": "s.*"}) == "s.*"
