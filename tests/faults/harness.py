"""Everything one fault run needs, started in order and removed in reverse.

- a private RabbitMQ node and a private PostgreSQL cluster (the services' own tables), so
  the suite can restart them without touching the machine's shared servers;
- SeaweedFS behind a TCP proxy the suite closes to make S3 unreachable;
- a small tmpfs for staging the suite fills up;
- the four services, with `replicas` each of dumper and uploader;
- source databases on the shared PostgreSQL, servers and volumes registered through the api.
"""

import asyncio
import contextlib
import secrets
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from tests.e2e.client import Api
from tests.faults.argv import ArgvSampler
from tests.faults.maria_sources import (
    create_maria_sources,
    drop_maria,
    drop_maria_user,
    maria_fingerprint,
    maria_user,
)
from tests.faults.sources import Fingerprint, create_sources, drop_databases, fingerprint
from tests.fixtures.resources import MariaDB, database_url, unique
from tests.support.env import url_for
from tests.support.private_postgres import PrivatePostgres
from tests.support.private_rabbit import PrivateRabbit
from tests.support.proxy import TcpProxy
from tests.support.seaweed import SeaweedProcess
from tests.support.stack import SERVICES, Stack, create_token, stack_env
from tests.support.staging_disk import StagingDisk


@dataclass(frozen=True)
class RunSettings:
    """The size of one run: the short one inside `make test`, the full one for `make faults`."""

    backups: int
    burst: int
    """Requests sent around each fault: the fault strikes halfway through its burst."""
    interval: float
    """Seconds between two requests of a burst."""
    fault_period: float
    """Seconds of calm after each fault and its burst (faults follow injector.CYCLE)."""
    s3_outage: float
    restore_sample: int | None
    """How many completed snapshots to restore and compare; None: every one."""
    sources: int = 6
    maria_sources: int = 2
    servers: int = 3
    """Server records for the one PostgreSQL, so a per-server limit still lets work overlap."""
    replicas: int = 2
    progress_timeout: float = 40.0
    grace: float = 150.0
    """Seconds after the stream and the last fault end within which all must be terminal."""


SERVICE_SETTINGS = {
    "BROKER_DELIVERY_LIMIT": "5",
    "CATALOG_SWEEP_INTERVAL": "5",
    "CATALOG_PENDING_TIMEOUT": "1800",
    "DATABASE_POOL_MAX": "4",
    # A SIGKILLed dumper's job is taken over once its lease is this stale: well within the
    # catalog's progress timeout, so the takeover is not failed as "timed out" first.
    "DUMPER_LEASE_TIMEOUT": "10",
}


@dataclass
class Harness:
    """A running fault environment."""

    settings: RunSettings
    rabbit: PrivateRabbit
    postgres: PrivatePostgres
    seaweed: SeaweedProcess
    s3_proxy: TcpProxy
    staging: StagingDisk
    stack: Stack
    api: Api
    argv: ArgvSampler
    source_admin_url: str
    maria: MariaDB
    sources: dict[str, Fingerprint]
    engines: dict[str, str]
    """Each source database's engine: `postgresql` or `mariadb`."""
    server_ids: dict[str, list[str]]
    """The server records of each engine."""
    server_password: str
    volumes: dict[str, dict[str, object]] = field(default_factory=dict)
    """`local` and `s3`: the api's volume record plus where the suite looks at it."""
    bucket: str = ""
    local_root: Path = Path()


@contextlib.asynccontextmanager
async def running_harness(settings: RunSettings) -> AsyncIterator[Harness]:
    """Start everything, yield it, and always remove everything it started."""
    exits = contextlib.AsyncExitStack()
    async with exits:
        work = Path(tempfile.mkdtemp(prefix="dbm-faults-"))
        (work / "rabbit").mkdir()
        rabbit = PrivateRabbit(work / "rabbit")
        exits.callback(rabbit.remove)
        postgres = PrivatePostgres()
        exits.callback(postgres.remove)
        seaweed = SeaweedProcess()
        exits.callback(seaweed.stop)
        staging = StagingDisk()
        exits.callback(staging.remove)
        await asyncio.gather(
            asyncio.to_thread(rabbit.start),
            asyncio.to_thread(postgres.start),
            asyncio.to_thread(seaweed.start),
        )
        s3_host, s3_port = seaweed.server.endpoint.split(":")
        proxy = TcpProxy(s3_host, int(s3_port))
        await proxy.open()
        exits.push_async_callback(proxy.close)

        admin_url = url_for("TEST_POSTGRES_URL")
        names = await create_sources(admin_url, settings.sources)
        exits.push_async_callback(drop_databases, admin_url, names)
        sources = {name: await fingerprint(database_url(admin_url, name)) for name in names}
        engines = dict.fromkeys(names, "postgresql")
        maria = mariadb_from_url(url_for("TEST_MARIADB_URL"))
        maria_names = await asyncio.to_thread(create_maria_sources, maria, settings.maria_sources)
        exits.callback(drop_maria, maria, maria_names)
        for name in maria_names:
            sources[name] = await asyncio.to_thread(maria_fingerprint, maria, name)
            engines[name] = "mariadb"

        argv = ArgvSampler()
        argv.start()
        exits.callback(argv.stop)
        env = stack_env(
            namespace=unique("faults"),
            database_url=postgres.url("databasement"),
            staging=staging.path,
            extra={
                **SERVICE_SETTINGS,
                "BROKER_URL": rabbit.url,
                "CATALOG_PROGRESS_TIMEOUT": str(settings.progress_timeout),
            },
        )
        stack = await start_replicas(env, work / "logs", settings.replicas, exits)
        api = Api(stack.api_url, stack.token)
        exits.push_async_callback(api.close)

        # PostgreSQL (trust auth) carries it unchecked; MariaDB's dump user really needs it.
        password = "pw-" + secrets.token_urlsafe(18)
        user = await asyncio.to_thread(maria_user, maria, maria_names, password)
        exits.callback(drop_maria_user, maria, user)
        server_ids = {
            "postgresql": [
                (await api.add_postgres_server(password=password))["id"]
                for _ in range(settings.servers)
            ],
            "mariadb": [
                (await api.add_maria_server(maria, username=user, password=password))["id"]
            ],
        }
        bucket = unique("dbm-faults-")
        seaweed.server.client().make_bucket(bucket)
        local_root = work / "volume"
        local_root.mkdir()
        harness = Harness(
            settings=settings,
            rabbit=rabbit,
            postgres=postgres,
            seaweed=seaweed,
            s3_proxy=proxy,
            staging=staging,
            stack=stack,
            api=api,
            argv=argv,
            source_admin_url=admin_url,
            maria=maria,
            sources=sources,
            engines=engines,
            server_ids=server_ids,
            server_password=password,
            bucket=bucket,
            local_root=local_root,
        )
        harness.volumes["local"] = await api.add_local_volume(local_root)
        harness.volumes["s3"] = await api.add_volume(
            unique("s3-"),
            "s3",
            {
                "endpoint": f"127.0.0.1:{proxy.port}",
                "bucket": bucket,
                "prefix": "",
                "access_key": seaweed.admin.access_key,
                "secret_key": seaweed.admin.secret_key,
                "secure": False,
            },
        )
        yield harness


async def start_replicas(
    env: dict[str, str], log_dir: Path, replicas: int, exits: contextlib.AsyncExitStack
) -> Stack:
    """api and catalog once, dumper and uploader `replicas` times, all starting together
    (migrations take an advisory lock), which on a busy machine saves most of a minute."""
    log_dir.mkdir(parents=True)
    ports = {s: int(env[f"{s.upper()}_HTTP_PORT"]) for s in SERVICES}
    stack = Stack(f"http://127.0.0.1:{ports['api']}", env, log_dir, ports)
    exits.callback(stack.stop)
    counts = {"api": 1, "catalog": 1, "dumper": replicas, "uploader": replicas}
    await asyncio.gather(
        *(
            asyncio.to_thread(stack.start, service, replica=replica)
            for service, count in counts.items()
            for replica in range(count)
        )
    )
    stack.token = await asyncio.to_thread(create_token, env, name="faults")
    return stack


def mariadb_from_url(url: str) -> MariaDB:
    parts = urlsplit(url)
    return MariaDB(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 3306,
        user=parts.username or "root",
        password=parts.password or "",
    )
