"""Migration discovery: which files count, and in what order they apply."""

from pathlib import Path

from shared.migrations import discover

SERVICES = Path(__file__).resolve().parents[3] / "services"


def _touch(folder: Path, *names: str) -> None:
    for name in names:
        (folder / name).write_text("SELECT 1;\n")


class TestDiscover:
    def test_orders_by_version_not_by_listing(self, tmp_path):
        _touch(tmp_path, "0010_tenth.sql", "0002_second.sql", "0001_initial.sql")

        found = discover(tmp_path)

        assert [(version, name) for version, name, _ in found] == [
            (1, "initial"),
            (2, "second"),
            (10, "tenth"),
        ]
        assert [path.name for _, _, path in found] == [
            "0001_initial.sql",
            "0002_second.sql",
            "0010_tenth.sql",
        ]

    def test_ignores_files_that_are_not_numbered_sql(self, tmp_path):
        _touch(
            tmp_path,
            "0001_initial.sql",
            "README.md",
            "0002_draft.sql.bak",
            "3_short_version.sql",
            "0004_Mixed_Case.sql",
        )

        assert [name for _, name, _ in discover(tmp_path)] == ["initial"]

    def test_every_service_folder_has_distinct_consecutive_versions(self):
        folders = sorted(SERVICES.glob("*/migrations"))
        assert folders
        for folder in folders:
            versions = [version for version, _, _ in discover(folder)]
            assert versions == list(range(1, len(versions) + 1)), folder
