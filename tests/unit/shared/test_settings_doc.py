"""README's configuration tables match the settings classes (docs match code)."""

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from services.api.settings import DEV_CREDENTIALS_KEY
from shared.settings import DEV_SEAL_KEY

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def settings_doc() -> ModuleType:
    spec = importlib.util.spec_from_file_location("settings_doc", ROOT / "scripts/settings_doc.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class TestSettingsDoc:
    def test_readme_tables_are_up_to_date(self, settings_doc):
        readme = (ROOT / "README.md").read_text()

        assert settings_doc.readme_block(readme) == settings_doc.render(), (
            "README.md's configuration tables differ from the settings classes; run `make docs`"
        )

    @pytest.mark.parametrize(
        "variable",
        [
            "BROKER_URL",
            "BROKER_NAMESPACE",
            "BROKER_DELIVERY_LIMIT",
            "DATABASE_URL",
            "SEAL_KEY",
            "STAGING_PATH",
            "API_HTTP_PORT",
            "DUMPER_HTTP_PORT",
            "UPLOADER_HTTP_PORT",
            "CATALOG_HTTP_PORT",
        ],
    )
    def test_documents_each_variable_once(self, settings_doc, variable):
        assert settings_doc.render().count(f"| `{variable}` |") == 1

    def test_never_prints_a_secret_default(self, settings_doc):
        text = settings_doc.render()

        assert DEV_SEAL_KEY not in text
        assert DEV_CREDENTIALS_KEY not in text
        assert "guest:guest" not in text

    def test_every_row_has_a_description(self, settings_doc):
        rows = [line for line in settings_doc.render().splitlines() if line.startswith("| `")]

        assert rows
        for row in rows:
            cells = row.strip("|").split(" | ")
            assert len(cells) == 3, row
            assert cells[-1].strip(), row
