"""One place that builds minio clients and turns their failures into sentences.

Used by the S3 volume driver and the S3 staging area. Nothing here does I/O until a caller
uses the client (in a thread: the SDK blocks).
"""

from collections.abc import Iterator
from contextlib import contextmanager

import certifi
import urllib3
from minio import Minio
from minio.error import InvalidResponseError, S3Error, ServerError

from shared.outbound import OutboundPolicy
from shared.volumes._base import (
    ObjectMissingError,
    UploadGoneError,
    VolumeAccessDeniedError,
    VolumeError,
    VolumeMissingError,
    VolumeUnreachableError,
)
from shared.volumes._checked_pool import RefusedTargetError, checked_pools

CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 120.0
RETRIES = 2
POOL_SIZE = 16

_DENIED = {"AccessDenied", "SignatureDoesNotMatch", "InvalidAccessKeyId", "AllAccessDisabled"}
_MISSING_OBJECT = {"NoSuchKey", "NoSuchObject"}


def read_object(client: Minio, bucket: str, name: str) -> bytes:
    """A whole object's bytes, with the HTTP connection handed back to the pool."""
    response = client.get_object(bucket, name)
    try:
        return bytes(response.read())
    finally:
        response.close()
        response.release_conn()


def bare_endpoint(endpoint: str) -> str:
    """`host[:port]` from what a person typed, with or without a scheme and trailing slash."""
    for scheme in ("https://", "http://"):
        if endpoint.lower().startswith(scheme):
            endpoint = endpoint[len(scheme) :]
    return endpoint.rstrip("/")


def build_client(
    *,
    endpoint: str,
    access_key: str,
    secret_key: str,
    secure: bool,
    region: str | None,
    outbound: OutboundPolicy | None = None,
) -> Minio:
    """A minio client with short connect timeouts and few retries.

    The SDK's default retries a refused connection five times with back-off; an unreachable
    volume should be reported within seconds instead. With `outbound`, every connection's
    address is checked against it (a user-named endpoint).
    """
    http = urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=CONNECT_TIMEOUT, read=READ_TIMEOUT),
        maxsize=POOL_SIZE,
        cert_reqs="CERT_REQUIRED",
        ca_certs=certifi.where(),
        retries=urllib3.Retry(
            total=RETRIES, backoff_factor=0.2, status_forcelist=[500, 502, 503, 504]
        ),
    )
    if outbound is not None:
        http = checked_pools(http, outbound)
    return Minio(
        bare_endpoint(endpoint),
        access_key=access_key,
        secret_key=secret_key,
        secure=secure,
        region=region or None,
        http_client=http,
    )


def explain(exc: Exception, *, endpoint: str, bucket: str) -> VolumeError | None:
    """The sentence for a minio or connection failure, or None when it is not one of those."""
    if isinstance(exc, S3Error):
        return _explain_refusal(exc, endpoint=endpoint, bucket=bucket)
    if isinstance(exc, ServerError):
        return VolumeUnreachableError(
            f"volume unreachable: {endpoint} answers HTTP {exc.status_code}"
        )
    if isinstance(exc, InvalidResponseError):
        return VolumeError(f"{endpoint} does not answer like an S3 server")
    refused = getattr(exc, "reason", exc)
    if isinstance(refused, RefusedTargetError):
        return VolumeUnreachableError(f"volume refused: {refused.sentence}")
    if isinstance(exc, urllib3.exceptions.HTTPError | ConnectionError | TimeoutError):
        return VolumeUnreachableError(f"volume unreachable: {endpoint} does not answer")
    return None


def _explain_refusal(exc: S3Error, *, endpoint: str, bucket: str) -> VolumeError:
    if exc.code == "NoSuchBucket":
        return VolumeMissingError(f"bucket {bucket} does not exist on {endpoint}")
    if exc.code in _DENIED:
        return VolumeAccessDeniedError(
            f"access denied to bucket {bucket} (check access_key/secret_key)"
        )
    if exc.code == "NoSuchUpload":
        return UploadGoneError(f"the multipart upload on {endpoint}/{bucket} is gone")
    if exc.code in _MISSING_OBJECT:
        return ObjectMissingError(f"{exc.object_name} is not in bucket {bucket}")
    return VolumeError(f"S3 server {endpoint} refused: {exc.code} {exc.message}")


@contextmanager
def s3_errors(*, endpoint: str, bucket: str) -> Iterator[None]:
    """Re-raise minio and connection failures as `VolumeError`s with a sentence."""
    try:
        yield
    except VolumeError:
        raise
    except Exception as exc:
        explained = explain(exc, endpoint=endpoint, bucket=bucket)
        if explained is None:
            raise
        raise explained from exc
