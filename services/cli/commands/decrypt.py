"""`databasement decrypt FILE --key-file K`: an encrypted artifact back to a plain .sql.gz /
.sql.zst, offline. It needs only the file, its manifest and the master keys: no service,
broker or database: a backup stays restorable when the service is gone."""

import contextlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, BinaryIO
from uuid import UUID

import typer

from services.cli.errors import CliError
from shared.encryption import (
    ChunkOpener,
    EncryptionError,
    FrameReader,
    Keyring,
    KeyringError,
    parse_keyring,
    unwrap_data_key,
)
from shared.naming import ENCRYPTED_SUFFIX, manifest_key

READ_SIZE = 1024 * 1024
STDOUT = "-"


def decrypt(
    file: Annotated[Path, typer.Argument(help="The encrypted artifact (….sql.gz.enc).")],
    *,
    key_file: Annotated[
        Path,
        typer.Option(
            "--key-file",
            help="A file holding the master keyring line (id:base64key[,…]) or one key.",
            show_default=False,
        ),
    ],
    manifest: Annotated[
        Path | None,
        typer.Option(help="The artifact's manifest; by default the one beside FILE."),
    ] = None,
    output: Annotated[
        str | None,
        typer.Option(
            "-o",
            "--output",
            help="Where the plain .sql.gz / .sql.zst goes; '-' for stdout. Default: FILE "
            "without .enc.",
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing output.")] = False,
) -> None:
    """Decrypt FILE into a plain compressed dump, e.g.

    databasement decrypt f.sql.gz.enc --key-file k -o - | gunzip | psql
    """
    keyring = read_keyring(key_file)
    manifest_path = manifest or file.with_name(Path(manifest_key(file.name)).name)
    body = read_manifest(manifest_path)
    opener = opener_for(body, keyring, manifest_path)
    chunk_count = len(body.get("chunks") or [])
    with source_of(file) as source, sink_of(output, file, force=force) as sink:
        stream_plain(source, sink, FrameReader(opener), chunk_count=chunk_count)


def read_keyring(path: Path) -> Keyring:
    try:
        text = path.read_text()
    except OSError as exc:
        raise CliError(f"cannot read the key file {path}: {exc.strerror}") from None
    try:
        return parse_keyring(text, source=f"the key file {path}")
    except KeyringError as exc:
        raise CliError(str(exc)) from None


def read_manifest(path: Path) -> dict[str, Any]:
    try:
        body = json.loads(path.read_bytes())
    except FileNotFoundError:
        raise CliError(
            f"no manifest at {path}: the data key is kept there; pass --manifest"
        ) from None
    except OSError as exc:
        raise CliError(f"cannot read the manifest {path}: {exc.strerror}") from None
    except ValueError:
        raise CliError(f"the manifest {path} is not JSON") from None
    if not isinstance(body, dict):
        raise CliError(f"the manifest {path} is not a manifest")
    return body


def opener_for(body: dict[str, Any], keyring: Keyring, path: Path) -> ChunkOpener:
    """The artifact's chunk opener: its data key unwrapped with the keyring."""
    block = body.get("encryption")
    if not isinstance(block, dict):
        raise CliError(
            f"the manifest {path} has no encryption block: the artifact is not encrypted"
        )
    try:
        snapshot_id = UUID(str(body["snapshot_id"]))
        wrapped, key_id = str(block["wrapped_key"]), str(block["key_id"])
    except (KeyError, ValueError):
        raise CliError(f"the manifest {path} lacks the snapshot id or the wrapped key") from None
    try:
        data_key = unwrap_data_key(wrapped, keyring, snapshot_id, key_id=key_id)
    except EncryptionError as exc:
        raise CliError(str(exc)) from None
    return ChunkOpener(data_key, snapshot_id)


@contextlib.contextmanager
def source_of(file: Path) -> Iterator[BinaryIO]:
    try:
        handle = file.open("rb")
    except OSError as exc:
        raise CliError(f"cannot read {file}: {exc.strerror}") from None
    with handle:
        yield handle


@contextlib.contextmanager
def sink_of(output: str | None, file: Path, *, force: bool) -> Iterator[BinaryIO]:
    """stdout, or a file written under a temporary name and renamed once complete."""
    if output == STDOUT:
        if sys.stdout.isatty():
            raise CliError("refusing to write the compressed dump to a terminal; pipe it or use -o")
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    if output is None and not file.name.endswith(ENCRYPTED_SUFFIX):
        raise CliError(f"{file} does not end in {ENCRYPTED_SUFFIX}; name the output with -o")
    target = Path(output) if output else file.with_name(file.name.removesuffix(ENCRYPTED_SUFFIX))
    if target.exists() and not force:
        raise CliError(f"{target} exists; pass --force to replace it")
    partial = target.with_name(f".{target.name}.partial")
    try:
        handle = partial.open("wb")
    except OSError as exc:
        raise CliError(f"cannot write {target}: {exc.strerror}") from None
    try:
        with handle:
            yield handle
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(target)


def stream_plain(
    source: BinaryIO, sink: BinaryIO, reader: FrameReader, *, chunk_count: int
) -> None:
    """Open the frames one at a time (memory stays flat) and write their plaintext."""
    try:
        while block := source.read(READ_SIZE):
            sink.writelines(reader.push(block))
        reader.finish()
    except EncryptionError as exc:
        raise CliError(str(exc)) from None
    if chunk_count and reader.next_seq < chunk_count:
        raise CliError(
            f"cannot decrypt: chunk {reader.next_seq} is corrupt (the artifact ends before "
            f"it; the manifest lists {chunk_count} chunks)"
        )
    if chunk_count and reader.next_seq > chunk_count:
        raise CliError(
            f"cannot decrypt: the artifact holds {reader.next_seq} chunks; its manifest lists "
            f"{chunk_count} (is --manifest the right one?)"
        )
