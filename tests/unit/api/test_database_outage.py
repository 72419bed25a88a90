"""The api's own database away (restarting, refusing connections) is a 503 with a sentence,
never a 500 with a stack trace: the fault suite found POST /backups answering 500."""

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from services.api.app import _add_error_handlers


def app_raising(error: Exception) -> FastAPI:
    app = FastAPI()
    _add_error_handlers(app)

    @app.get("/boom")
    async def boom() -> None:
        raise error

    return app


async def get_boom(app: FastAPI) -> httpx.Response:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
        return await client.get("/boom")


class TestDatabaseOutage:
    @pytest.mark.parametrize(
        "error",
        [
            ConnectionRefusedError(111, "Connect call failed"),
            asyncpg.exceptions.CannotConnectNowError("the database system is shutting down"),
            asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed"),
        ],
        ids=["refused", "shutting-down", "closed"],
    )
    async def test_database_outage_is_503_with_a_sentence(self, error):
        response = await get_boom(app_raising(error))
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "5"
        assert "database is unavailable" in response.json()["detail"]

    async def test_other_errors_are_still_500(self):
        assert (await get_boom(app_raising(RuntimeError("bug")))).status_code == 500
