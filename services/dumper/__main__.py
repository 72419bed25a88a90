"""Start the dumper: `python -m services.dumper [serve|migrate]`."""

from services._entrypoint import run_service
from services.dumper.app import build_app, build_settings, migrations

if __name__ == "__main__":
    run_service("dumper", build_app, build_settings, migrations)
