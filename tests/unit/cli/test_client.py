"""The CLI's client turns every way a request can go wrong into one sentence."""

import httpx
import pytest

from services.cli.client import Client, items_of, resolve
from services.cli.errors import CliError


def client_answering(handler) -> Client:
    client = Client("http://api.test", "dbm_token")
    client.http = httpx.Client(
        base_url=client.url, headers=client.http.headers, transport=httpx.MockTransport(handler)
    )
    return client


class TestClientErrors:
    def test_401_names_the_token_settings(self):
        client = client_answering(
            lambda _: httpx.Response(401, json={"detail": "not authenticated"})
        )
        with pytest.raises(CliError, match=r"the API refused the token \(set DATABASEMENT_TOKEN"):
            client.get("/api/v1/servers")

    def test_4xx_is_the_apis_own_sentence(self):
        detail = "database 'x' does not exist on server 'pg'"
        client = client_answering(lambda _: httpx.Response(422, json={"detail": detail}))
        with pytest.raises(CliError) as caught:
            client.post("/api/v1/backups", {})
        assert str(caught.value) == detail

    def test_fastapi_validation_list_becomes_one_line(self):
        body = {"detail": [{"msg": "field required"}, {"msg": "not a uuid"}]}
        client = client_answering(lambda _: httpx.Response(422, json=body))
        with pytest.raises(CliError, match=r"^field required; not a uuid$"):
            client.get("/x")

    def test_5xx_says_the_api_failed(self):
        client = client_answering(lambda _: httpx.Response(500, text="Internal Server Error"))
        with pytest.raises(CliError, match=r"^the API failed \(HTTP 500\): Internal Server Error$"):
            client.get("/x")

    def test_connection_refused_names_the_url(self):
        def refuse(request):
            raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

        client = client_answering(refuse)
        with pytest.raises(
            CliError, match=r"^cannot reach the API at http://api.test: \[Errno 111\]"
        ):
            client.get("/x")

    def test_the_token_is_sent_as_bearer(self):
        seen = []

        def record(request):
            seen.append(request.headers.get("authorization"))
            return httpx.Response(200, json=[])

        client_answering(record).get("/api/v1/servers")
        assert seen == ["Bearer dbm_token"]


class TestResolve:
    def test_by_name_from_the_listing(self):
        servers = [{"id": "a", "name": "one"}, {"id": "b", "name": "two"}]
        client = client_answering(lambda _: httpx.Response(200, json=servers))
        assert resolve(client, "servers", "two")["id"] == "b"

    def test_unknown_name_is_a_sentence(self):
        client = client_answering(lambda _: httpx.Response(200, json=[]))
        with pytest.raises(CliError, match=r"^no volume is named 'nas'$"):
            resolve(client, "volumes", "nas")

    def test_items_of_reads_both_listing_shapes(self):
        assert items_of([{"id": 1}]) == [{"id": 1}]
        assert items_of({"items": [{"id": 2}], "next_cursor": None}) == [{"id": 2}]
