"""Options that many commands share, declared once so their flags and help read the same."""

from typing import Annotated

import typer

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
NoWait = Annotated[bool, typer.Option("--no-wait", help="Return once the request is queued.")]
Timeout = Annotated[float | None, typer.Option(help="Give up waiting after this many seconds.")]
