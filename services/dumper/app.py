"""The dumper's composition root."""

import functools
from pathlib import Path
from uuid import uuid4

from faststream.asgi import AsgiFastStream
from faststream.rabbit import RabbitBroker

from services.dumper import handlers
from services.dumper.adapters.discovery import ToolFinder
from services.dumper.adapters.dump_sizes import DumpSizes
from services.dumper.adapters.process import ToolProcess
from services.dumper.adapters.servers import ServerGateway
from services.dumper.adapters.targets import TargetGateway
from services.dumper.dumping import Dumper
from services.dumper.ports import SizeMemory
from services.dumper.restoring import Restorer
from services.dumper.rewrapping import Rewrapper
from services.dumper.settings import DumperSettings
from shared.messaging import Publish
from shared.sealing import Sealer
from shared.service import Runtime, build_service_app, migrate_only
from shared.settings import refuse_dev_secrets
from shared.staging import open_staging
from shared.topology import Topology
from shared.volumes import open_volume

migrations_folder = Path(__file__).parent / "migrations"


def build_settings() -> DumperSettings:
    settings = DumperSettings()
    refuse_dev_secrets(settings, settings.seal)
    return settings


def build_dumper(
    settings: DumperSettings, publish: Publish, sizes: SizeMemory | None = None
) -> Dumper:
    """The dumper's working parts, wired to real tools, staging and the broker."""
    finder = ToolFinder(postgres_glob=settings.postgres_bin_glob, search_dirs=settings.search_dirs)
    return Dumper(
        settings=settings,
        sealer=Sealer(settings.seal.key),
        staging=open_staging(settings.staging),
        gateway=ServerGateway(finder, connect_timeout=settings.connect_timeout),
        launch=ToolProcess,
        publish=publish,
        sizes=sizes,
    )


def build_restorer(settings: DumperSettings, publish: Publish) -> Restorer:
    """The restore engine, wired to real servers, volumes and the broker."""
    finder = ToolFinder(postgres_glob=settings.postgres_bin_glob, search_dirs=settings.search_dirs)
    return Restorer(
        sealer=Sealer(settings.seal.key),
        targets=TargetGateway(finder, connect_timeout=settings.connect_timeout),
        open_volume=functools.partial(open_volume, outbound=settings.outbound.policy()),
        publish=publish,
        progress_interval=settings.progress_interval,
        keyring=settings.keyring(),
    )


def build_rewrapper(settings: DumperSettings, publish: Publish) -> Rewrapper:
    """Master-key rotation: re-wraps data keys in manifests on the volumes."""
    return Rewrapper(
        sealer=Sealer(settings.seal.key),
        keyring=settings.keyring(),
        open_volume=functools.partial(open_volume, outbound=settings.outbound.policy()),
        publish=publish,
    )


def build_app(settings: DumperSettings, *, replica: str | None = None) -> AsgiFastStream:
    """Wire the dumper: broker, pool, migrations, subscribers, health endpoints.

    `replica` names this process's control queue; a fresh uuid unless given (the AsyncAPI
    document fixes it to stay stable).
    """
    replica_id = replica or str(uuid4())

    def register(broker: RabbitBroker, topology: Topology, runtime: Runtime) -> None:
        if runtime.publishers is None:
            raise RuntimeError("the dumper's publishers are declared before its subscribers")
        publish = runtime.publishers.publish
        sizes = DumpSizes(lambda: runtime.pool, settings.schema_name)
        dumper = build_dumper(settings, publish, sizes)
        restorer = build_restorer(settings, publish)
        handlers.register(
            broker,
            topology,
            runtime,
            settings,
            dumper,
            restorer=restorer,
            replica=replica_id,
            rewrapper=build_rewrapper(settings, publish),
        )

    return build_service_app(
        service="dumper",
        settings=settings,
        schema=settings.schema_name,
        migrations=migrations_folder,
        register=register,
        publishes=handlers.PUBLISHES,
    )


async def migrations(settings: DumperSettings) -> list[int]:
    return await migrate_only(
        settings.database, schema=settings.schema_name, migrations=migrations_folder
    )
