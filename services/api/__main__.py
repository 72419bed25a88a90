"""Start the api: `python -m services.api [serve|migrate]`."""

from services._entrypoint import run_service
from services.api.app import build_app, build_settings, migrations

if __name__ == "__main__":
    run_service("api", build_app, build_settings, migrations)
