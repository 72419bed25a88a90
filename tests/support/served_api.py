"""The api app behind a real uvicorn socket in this process, with a token to call it."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from uuid import uuid4

import httpx
import uvicorn
from fastapi import FastAPI

from services.api.adapters.tokens import TokenRepository
from services.api.app import build_app
from services.api.settings import ApiSettings
from services.api.tokens import new_token, token_hash


@dataclass
class ServedApi:
    app: FastAPI
    url: str
    token: str
    client: httpx.AsyncClient


@asynccontextmanager
async def served_api(settings: ApiSettings) -> AsyncIterator[ServedApi]:
    """Chunked bodies and subprocess clients (the CLI) reach it as they do in production."""
    app = build_app(settings)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, lifespan="on")
    )
    serving = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(30):
            while not server.started:
                await asyncio.sleep(0.05)
        port = server.servers[0].sockets[0].getsockname()[1]
        token = new_token()
        await TokenRepository(app.state.runtime.pool, settings.schema_name).add(
            uuid4(), "tests", token_hash(token)
        )
        url = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(
            base_url=url, headers={"Authorization": f"Bearer {token}"}
        ) as client:
            yield ServedApi(app, url, token, client)
    finally:
        server.should_exit = True
        await serving
