"""Start the api: `python -m services.api [serve|migrate|create-token|rotate-credentials-key]`."""

import sys

from services._entrypoint import run_service
from services.api.app import build_app, build_settings, migrations
from services.api.commands import COMMANDS, run_command

if __name__ == "__main__":
    if sys.argv[1:2] and sys.argv[1] in COMMANDS:
        run_command(sys.argv[1:])
    else:
        run_service("api", build_app, build_settings, migrations)
