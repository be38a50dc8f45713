"""The S3 client: one boto3 client per configuration, with bounded retries, timeouts and an overall deadline,
and the translation of storage outages into TransientStorageError."""

import functools
import time

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    EndpointConnectionError,
    ReadTimeoutError,
)
from django.conf import settings

from archive.exceptions import TransientStorageError

TRANSIENT_CODES = {"500", "502", "503", "504", "SlowDown", "InternalError", "RequestTimeout", "ServiceUnavailable"}


def s3_client(*, endpoint_url: str = "", region: str = "", access_key: str | None, secret_key: str | None):
    """A boto3 client with bounded retries, timeouts and deadline (CODA_S3_MAX_ATTEMPTS, CODA_S3_CONNECT_TIMEOUT,
    CODA_S3_READ_TIMEOUT, CODA_S3_DEADLINE) and configurable checksum behaviour. Clients are thread-safe and
    costly to build (hundreds of ms), so one is kept per configuration."""
    return _cached_client(
        endpoint_url, region, access_key, secret_key, settings.CODA_S3_CHECKSUMS, settings.CODA_S3_MAX_ATTEMPTS,
        settings.CODA_UPLOAD_CONCURRENCY, settings.CODA_S3_SIGN_PAYLOAD,
        (settings.CODA_S3_CONNECT_TIMEOUT, settings.CODA_S3_READ_TIMEOUT, settings.CODA_S3_DEADLINE),
    )


def _deadline_hooks(seconds: float):
    """botocore event handlers bounding one request with its retries: the deadline starts when the call does,
    and once it has passed no retry starts (a False answer to needs-retry stops botocore's retry loop).
    Together with the connect/read timeouts this bounds each call to about deadline + read timeout, so a
    stalled server fails the operation instead of holding a worker slot for max_attempts × read timeout."""

    def start(context=None, **kwargs):
        if context is not None:
            context["coda_deadline"] = time.monotonic() + seconds

    def retry_allowed(request_dict=None, **kwargs):
        deadline = (request_dict or {}).get("context", {}).get("coda_deadline")
        if deadline is not None and time.monotonic() >= deadline:
            return False
        return None  # let botocore's retry handler decide

    return start, retry_allowed


@functools.lru_cache(maxsize=32)
def _cached_client(endpoint_url, region, access_key, secret_key, mode, max_attempts, concurrency, sign_payload,
                   timeouts=(5, 60, 180)):
    # boto3 and botocore.config cost about half a second to import: only processes that talk to S3 pay it (a
    # curator's `preserve` of a staging directory, a filesystem-only `make run`, a web request that never
    # touches a bucket do not).
    import boto3
    from botocore.config import Config

    connect_timeout, read_timeout, deadline = timeouts
    config = Config(
        retries={"max_attempts": max_attempts, "mode": "standard"},
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        max_pool_connections=max(10, concurrency * 2),
        request_checksum_calculation=mode,
        # Coda hashes every byte it reads itself; botocore's response validation would only add a second
        # opinion, and some servers (moto) return stale checksums on server-side copies.
        response_checksum_validation="when_required",
        # SigV4 would otherwise hash every uploaded byte once more (always over plain HTTP, and for in-memory
        # bodies over HTTPS too). Integrity on the wire comes from the per-part checksum the server checks, in a
        # signed header; CODA_S3_SIGN_PAYLOAD=true signs the payload as well.
        s3={"addressing_style": "path", "payload_signing_enabled": sign_payload},
    )
    client = boto3.session.Session().client(
        "s3",
        endpoint_url=endpoint_url or None,
        region_name=region or "us-east-1",
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        config=config,
    )
    start, retry_allowed = _deadline_hooks(deadline)
    client.meta.events.register("before-call.s3", start)
    client.meta.events.register_first("needs-retry.s3", retry_allowed)
    return client


def is_transient(exc: Exception) -> bool:
    if isinstance(exc, (EndpointConnectionError, ConnectionClosedError, ReadTimeoutError)):
        return True
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        status = str(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))
        return error.get("Code") in TRANSIENT_CODES or status.startswith("5")
    return isinstance(exc, BotoCoreError)


def translate(exc: Exception) -> Exception:
    if is_transient(exc):
        return TransientStorageError(f"S3 storage unavailable: {exc}")
    return exc


def unreachable(exc: BaseException) -> bool:
    return isinstance(exc, TransientStorageError) or (isinstance(exc, Exception) and is_transient(exc))


class Body:
    """A GetObject body whose read errors (a server that stalls or drops mid-answer: read timeout, reset) are
    TransientStorageError like every other storage outage, whoever reads it (delivery, fixity, replication)."""

    def __init__(self, body):
        self.body = body

    def read(self, size: int = -1) -> bytes:
        try:
            return self.body.read(size if size >= 0 else None)
        except (BotoCoreError, OSError) as exc:
            raise TransientStorageError(f"S3 storage unavailable: read interrupted: {exc}") from exc

    def close(self) -> None:
        self.body.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()
