"""The OpenAPI document and Swagger UI need a sign-in (API_DOCS), load nothing from another
host, and every response carries the security headers."""

import re
from typing import Any

import httpx
import pytest

from tests.integration.api.conftest import api_settings, running_api
from tests.integration.api.test_access import anonymous

pytestmark = pytest.mark.integration

ASSET = re.compile(r'(?:src|href)="([^"]+)"')


class TestDocsNeedASignIn:
    async def test_the_openapi_document_without_a_token_is_401(self, api):
        async with anonymous(api) as client:
            document = await client.get("/openapi.json")
            docs = await client.get("/docs")
        assert document.status_code == 401
        assert document.json() == {"detail": "not authenticated"}
        assert docs.status_code == 303
        assert docs.headers["location"] == "/ui/login?next=/docs"

    async def test_a_wrong_token_is_401_too(self, api):
        async with anonymous(api, "dbm_not-a-token") as client:
            assert (await client.get("/openapi.json")).status_code == 401

    async def test_a_token_reads_the_document_and_the_page(self, api):
        document = await api.get("/openapi.json")
        page = await api.get("/docs")

        assert document.status_code == 200
        assert "/api/v1/servers" in document.json()["paths"]
        assert page.status_code == 200
        assert "swagger-ui" in page.text

    async def test_the_docs_page_loads_only_its_own_vendored_assets(self, api):
        page = (await api.get("/docs")).text
        assets = ASSET.findall(page)

        assert assets, page
        assert all(a.startswith("/ui/static/") for a in assets), assets
        assert "<script>" not in page  # no inline script: the CSP would refuse it
        for asset in assets:
            assert (await api.get(asset)).status_code == 200, asset

    async def test_redoc_is_not_served(self, api):
        assert (await api.get("/redoc")).status_code == 404


class TestDocsSetting:
    @pytest.mark.parametrize(("mode", "status"), [("off", 404), ("public", 200)])
    async def test_off_hides_them_and_public_opens_them(
        self, rabbit_url, namespace, pg_database, mode, status
    ):
        settings = api_settings(rabbit_url, namespace, pg_database, docs=mode)
        async with running_api(settings) as api, anonymous(api) as client:
            assert (await client.get("/openapi.json")).status_code == status
            assert (await client.get("/docs")).status_code == status


def headers_of(response: httpx.Response) -> dict[str, Any]:
    return {k: response.headers.get(k) for k in ("x-content-type-options", "referrer-policy")}


class TestSecurityHeaders:
    async def test_ui_pages_get_a_csp_without_inline_script(self, api):
        async with anonymous(api) as client:
            page = await client.get("/ui/login")
        policy = page.headers["content-security-policy"]

        assert "script-src 'self';" in policy
        assert "'unsafe-inline'" not in policy.split("script-src", 1)[1].split(";", 1)[0]
        assert "frame-ancestors 'none'" in policy
        assert headers_of(page) == {
            "x-content-type-options": "nosniff",
            "referrer-policy": "no-referrer",
        }
        assert page.headers["x-frame-options"] == "DENY"

    async def test_api_responses_get_a_closed_policy(self, api):
        listed = await api.get("/api/v1/servers")
        async with anonymous(api) as client:
            refused = await client.get("/api/v1/servers")
        for response in (listed, refused):
            assert response.headers["content-security-policy"] == (
                "default-src 'none'; frame-ancestors 'none'"
            )
            assert response.headers["x-content-type-options"] == "nosniff"
