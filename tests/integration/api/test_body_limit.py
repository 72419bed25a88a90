"""The api refuses an oversized body itself (413 with a sentence), declared or streamed."""

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.integration.api.conftest import api_settings
from tests.support.served_api import served_api

pytestmark = pytest.mark.integration

LIMIT = 64 * 1024


@pytest.fixture
async def served(rabbit_url, namespace, pg_database) -> AsyncIterator[httpx.AsyncClient]:
    """The api behind a real uvicorn socket: chunked bodies arrive as they do in production."""
    settings = api_settings(rabbit_url, namespace, pg_database, max_body_bytes=LIMIT)
    async with served_api(settings) as api:
        yield api.client


def server_body(size: int) -> bytes:
    return b'{"name": "' + b"x" * size + b'"}'


async def pieces(body: bytes, size: int = 8192) -> AsyncIterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


class TestBodyLimit:
    async def test_a_declared_length_over_the_limit_is_refused_unread(self, served):
        answered = await served.post(
            "/api/v1/servers",
            content=server_body(2 * LIMIT),
            headers={"content-type": "application/json"},
        )

        assert answered.status_code == 413
        assert answered.json() == {
            "detail": f"the request body is larger than the limit of {LIMIT} bytes "
            "(API_MAX_BODY_BYTES)"
        }

    async def test_a_chunked_body_is_cut_off_once_it_passes_the_limit(self, served):
        """No Content-Length to trust: the bytes are counted as they stream in."""
        answered = await served.post(
            "/api/v1/servers",
            content=pieces(server_body(4 * LIMIT)),
            headers={"content-type": "application/json"},
        )

        assert "content-length" not in answered.request.headers
        assert answered.status_code == 413
        assert "larger than the limit" in answered.json()["detail"]

    async def test_a_chunked_form_to_the_web_ui_is_cut_off_too(self, served):
        answered = await served.post(
            "/ui/login",
            content=pieces(b"token=" + b"y" * (2 * LIMIT)),
            headers={"content-type": "application/x-www-form-urlencoded"},
        )

        assert answered.status_code == 413

    async def test_a_body_under_the_limit_reaches_the_route(self, served):
        answered = await served.post(
            "/api/v1/servers",
            content=pieces(server_body(LIMIT // 2)),
            headers={"content-type": "application/json"},
        )

        # The route read it and judged it: a server needs more than a name.
        assert answered.status_code == 422
        assert "invalid request" in answered.json()["detail"]


@pytest.fixture
async def served_default(rabbit_url, namespace, pg_database) -> AsyncIterator[httpx.AsyncClient]:
    """The api with the default limit (1 MiB): a body of 7 MiB outgrows socket buffers."""
    async with served_api(api_settings(rabbit_url, namespace, pg_database)) as api:
        yield api.client


class TestLargeBodies:
    async def test_the_client_reads_the_413_rather_than_a_reset(self, served_default):
        """The api reads and drops the rest of a body up to 8x the limit before answering:
        closing on a client still sending would reset the connection under the answer."""
        limit = 1024 * 1024
        for _ in range(5):
            declared = await served_default.post(
                "/api/v1/servers",
                content=server_body(7 * limit),
                headers={"content-type": "application/json"},
            )
            streamed = await served_default.post(
                "/api/v1/servers",
                content=pieces(server_body(7 * limit), size=64 * 1024),
                headers={"content-type": "application/json"},
            )
            assert (declared.status_code, streamed.status_code) == (413, 413)
