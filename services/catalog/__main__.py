"""Start the catalog: `python -m services.catalog [serve|migrate]`."""

from services._entrypoint import run_service
from services.catalog.app import build_app, build_settings, migrations

if __name__ == "__main__":
    run_service("catalog", build_app, build_settings, migrations)
