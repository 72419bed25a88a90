"""Start the uploader: `python -m services.uploader [serve|migrate]`."""

from services._entrypoint import run_service
from services.uploader.app import build_app, build_settings, migrations

if __name__ == "__main__":
    run_service("uploader", build_app, build_settings, migrations)
