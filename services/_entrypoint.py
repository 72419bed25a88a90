"""The one command line every service shares: `python -m services.<name> [serve|migrate]`."""

import asyncio
import sys
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from pydantic import ValidationError

from shared.logging import configure_logging, get_logger
from shared.service import serve
from shared.settings import CommonSettings

S = TypeVar("S", bound=CommonSettings)

USAGE = (
    "usage: python -m services.{name} [serve|migrate]"
    " (the api also has create-token and rotate-credentials-key)"
)


def run_service(
    name: str,
    build_app: Callable[[S], Any],
    build_settings: Callable[[], S],
    migrate: Callable[[S], Coroutine[Any, Any, Any]] | None = None,
) -> None:
    """Parse the command, build settings once, and serve or migrate."""
    command = sys.argv[1] if len(sys.argv) > 1 else "serve"
    try:
        settings = build_settings()
    except (ValidationError, ValueError) as exc:
        sys.stderr.write(f"{name}: invalid settings: {exc}\n")
        raise SystemExit(2) from None
    configure_logging(settings.log_level)
    log = get_logger(f"services.{name}")
    if command == "serve":
        serve(
            build_app(settings),
            host=settings.http_host,
            port=settings.http_port,
            service=name,
            # Only the api takes clients' requests, and only it has the setting.
            trusted_proxies=getattr(settings, "trusted_proxies", None),
        )
    elif command == "migrate" and migrate is not None:
        versions = asyncio.run(migrate(settings))
        log.info("migrations_done", service=name, applied=versions)
    else:
        sys.stderr.write(USAGE.format(name=name) + "\n")
        raise SystemExit(2)
