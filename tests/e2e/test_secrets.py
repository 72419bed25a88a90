"""No secret (passwords, keys, the API token) in any event, log line or argv while backups run.

The event spy and the argv sampler run for the whole e2e session, so this scan also covers
every backup the other end-to-end tests ran before it; this test adds one of its own with a
password-protected MariaDB user and an S3 volume, so it holds even when run alone.
"""

from collections.abc import Iterator

import pytest

from tests.e2e.test_s3 import s3_config
from tests.fixtures.resources import MariaDB, unique

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture
def secret_user(mariadb: MariaDB, maria_source: str) -> Iterator[tuple[str, str]]:
    user, password = unique("dbm_u"), unique("Secr3t-pw-")
    with mariadb.connect() as conn, conn.cursor() as cur:
        cur.execute(f"CREATE USER '{user}'@'%' IDENTIFIED BY '{password}'")
        rights = "SELECT, SHOW VIEW, TRIGGER, EVENT, LOCK TABLES, EXECUTE"
        cur.execute(f"GRANT {rights} ON `{maria_source}`.* TO '{user}'@'%'")
        cur.execute(f"GRANT PROCESS, SELECT ON *.* TO '{user}'@'%'")
    yield user, password
    with mariadb.connect() as conn, conn.cursor() as cur:
        cur.execute(f"DROP USER IF EXISTS '{user}'@'%'")


class TestNoSecretLeaks:
    async def test_no_secret_in_events_logs_or_argv(
        self,
        api,
        stack,
        event_spy,
        argv_sampler,
        mariadb,
        maria_source,
        secret_user,
        s3_server,
        s3_bucket,
    ):
        user, password = secret_user
        server = await api.add_maria_server(mariadb, username=user, password=password)
        volume = await api.add_volume(unique("s3-"), "s3", s3_config(s3_server, s3_bucket))
        [pending] = await api.backup(server["id"], maria_source, volume["id"])
        snapshot = await api.wait_terminal(pending["id"])
        assert snapshot["status"] == "completed", snapshot.get("error")
        responses = [
            (await api.http.get(f"/api/v1/servers/{server['id']}")).text,
            (await api.http.get(f"/api/v1/volumes/{volume['id']}")).text,
            (await api.http.get(f"/api/v1/snapshots/{snapshot['id']}")).text,
        ]

        secrets = {
            "database password": password,
            "S3 secret key": s3_server.admin.secret_key,
            "seal key": stack.env["SEAL_KEY"],
            "credentials key": stack.env["API_CREDENTIALS_KEY"],
            "API token": stack.token,
        }
        assert stack.token, "the stack has no token: the scan would prove nothing"
        events = b"\n".join(event_spy.bodies).decode(errors="replace")
        assert event_spy.bodies, "the spy saw no events: the scan would prove nothing"
        logs = stack.logs()
        argv = "\n".join(argv_sampler.seen)
        for what, secret in secrets.items():
            assert secret not in events, f"the {what} is in an event"
            assert secret not in logs, f"the {what} is in a log line"
            assert secret not in argv, f"the {what} is in a process's argv"
            for body in responses:
                assert secret not in body, f"the {what} is in an HTTP response"
