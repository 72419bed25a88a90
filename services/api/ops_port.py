"""The api's operations port: `/metrics`, `/healthz` and `/readyz` on API_METRICS_PORT.

The HTTP port is what a gateway or an Ingress routes to; a second, small server in the
same process keeps the metrics (which name every server and configuration) off it. The
probes stay on the HTTP port too, which the Ingress routes only under /api and /ui.
"""

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Iterator, Sequence

import uvicorn
from starlette.applications import Starlette
from starlette.routing import Route

from shared.health import ASGIApp
from shared.logging import get_logger

log = get_logger(__name__)
START_TIMEOUT = 10.0


class _InnerServer(uvicorn.Server):
    """Leaves SIGTERM and SIGINT to the api's main server, whose shutdown stops this one."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _listening_socket(host: str, port: int) -> socket.socket:
    """Bound here, so a taken port fails the api's start-up with the OSError's sentence."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


@contextlib.asynccontextmanager
async def ops_server(
    routes: Sequence[tuple[str, ASGIApp]], *, host: str, port: int
) -> AsyncIterator[int]:
    """Serve `routes` on host:port while the context is open; yields the bound port."""
    app = Starlette(routes=[Route(path, endpoint, methods=["GET"]) for path, endpoint in routes])
    sock = _listening_socket(host, port)
    bound: int = sock.getsockname()[1]
    config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="off")
    server = _InnerServer(config)
    serving = asyncio.create_task(server.serve(sockets=[sock]), name="ops-port")
    try:
        async with asyncio.timeout(START_TIMEOUT):
            while not server.started and not serving.done():  # noqa: ASYNC110 - uvicorn has no started event
                await asyncio.sleep(0.02)
        if not server.started:
            serving.result()  # its exception, if it ended with one
            raise RuntimeError("the api's metrics port did not start")
        log.info("ops_port_listening", host=host, port=bound)
        yield bound
    finally:
        server.should_exit = True
        await serving
        sock.close()
