"""No response carries a server password, an S3 secret key or a bearer token."""

import pytest

pytestmark = pytest.mark.integration

PASSWORD = "pw-4c1f9e-never-shown"
S3_SECRET = "s3-secret-77aa-never-shown"
S3 = {
    "endpoint": "s3.example.com",
    "bucket": "backups",
    "access_key": "AKIAEXAMPLE",
    "secret_key": S3_SECRET,
}


class TestNoSecretInResponses:
    async def test_every_answer_about_servers_volumes_and_tokens(self, api, fake_catalog):
        fake_catalog.replies |= {
            "server_activity": {"ok": True, "in_progress": 0, "snapshots": 0, "restores": 0},
            "volume_activity": {"ok": True, "snapshots": 0},
            "list_snapshots": {"ok": True, "snapshots": [], "next_cursor": None},
            "get_snapshot": {"ok": False, "error": "not_found"},
        }
        server_body = {
            "name": "prod",
            "type": "mysql",
            "host": "db",
            "port": 3306,
            "username": "u",
            "password": PASSWORD,
        }
        responses = [await api.post("/api/v1/servers", json=server_body)]
        server = responses[0].json()
        responses.append(await api.post("/api/v1/servers", json=server_body))  # 409
        responses.append(
            await api.post("/api/v1/servers", json=server_body | {"port": "x"})  # 422
        )
        responses.append(
            await api.post("/api/v1/volumes", json={"name": "s3", "type": "s3", "config": S3})
        )
        volume = responses[-1].json()
        responses.append(
            await api.post(
                "/api/v1/volumes",
                json={"name": "s3b", "type": "s3", "config": S3 | {"bucket": "x"}},
            )
        )  # 422 with the secret in the body
        token = await api.post("/api/v1/tokens", json={"name": "t"})
        new_token = token.json()["token"]
        responses += [
            await api.get("/api/v1/servers"),
            await api.get(f"/api/v1/servers/{server['id']}"),
            await api.patch(f"/api/v1/servers/{server['id']}", json={"password": PASSWORD + "2"}),
            await api.get("/api/v1/servers/databases"),
            await api.get("/api/v1/volumes"),
            await api.get(f"/api/v1/volumes/{volume['id']}"),
            await api.patch(f"/api/v1/volumes/{volume['id']}", json={"config": {"prefix": "p"}}),
            await api.get("/api/v1/tokens"),
            await api.get("/api/v1/snapshots"),
            await api.delete(f"/api/v1/volumes/{volume['id']}"),
            await api.delete(f"/api/v1/servers/{server['id']}"),
        ]
        seen = "\n".join(r.text + str(dict(r.headers)) for r in responses)
        for secret in (PASSWORD, S3_SECRET, api.token, new_token):
            assert secret not in seen
