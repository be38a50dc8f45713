"""The S3 backend against a real S3 server over HTTP: part checksums and the proof of a stored object,
object keys per layout, payload signing, and what happens when the server's account of the bytes
differs from the bytes Coda read."""

import contextlib
import hashlib
import io

import pytest

from archive.exceptions import ChecksumMismatch
from archive.models import StorageLocation
from archive.storage.s3 import S3Backend
from archive.storage.locations import locations_sync
from archive.storage.base import blob_key
from archive.storage.streaming import HashingReader
from tests.archive.helpers import random_bytes

MIB = 1024 * 1024


@pytest.fixture
def backend(s3_location, settings, db):
    settings.CODA_PART_SIZE = 5 * MIB
    settings.CODA_UPLOAD_CONCURRENCY = 2
    locations_sync()
    return S3Backend(StorageLocation.objects.get(name="s3main"))


def store(backend, data: bytes, **kwargs):
    return backend.store(HashingReader(io.BytesIO(data)), size=len(data), is_stored=lambda sha256: None, **kwargs)


def objects(client) -> dict[str, bytes]:
    listing = client.list_objects_v2(Bucket=client.bucket).get("Contents", [])
    return {o["Key"]: client.get_object(Bucket=client.bucket, Key=o["Key"])["Body"].read() for o in listing}


@pytest.mark.parametrize(
    "mode, proof",
    [
        ("crc32", "server crc32 per part and composite"),
        ("sha256", "server sha256 per part and composite"),
        ("md5", "server etag md5 per part and composite"),
    ],
)
def test_multipart_upload_is_proven_by_each_part_checksum_mode(backend, s3_location, settings, mode, proof):
    settings.CODA_S3_PART_CHECKSUM = mode
    data = random_bytes(12 * MIB, seed=3)
    result = store(backend, data)
    assert result.sha256 == hashlib.sha256(data).hexdigest() and result.size == len(data)
    assert result.verification == proof
    assert result.key.startswith("blobs/uploads/")  # kept where it was uploaded: no server-side copy
    assert objects(s3_location) == {f"archive/{result.key}": data}
    assert not s3_location.list_multipart_uploads(Bucket=s3_location.bucket).get("Uploads")


def test_flexible_checksums_off_falls_back_to_content_md5(backend, settings):
    settings.CODA_S3_CHECKSUMS = "when_required"
    settings.CODA_S3_PART_CHECKSUM = "crc32"
    backend = S3Backend(backend.location)  # a client built for when_required
    result = store(backend, random_bytes(11 * MIB, seed=4))
    assert result.verification == "server etag md5 per part and composite"


def test_known_digest_uploads_straight_to_its_key(backend, s3_location):
    data = random_bytes(11 * MIB, seed=5)
    key = blob_key(hashlib.sha256(data).hexdigest())
    result = store(backend, data, key=key)
    assert result.key == key
    assert objects(s3_location) == {f"archive/{key}": data}


def test_sha256_layout_copies_to_the_content_addressed_key(backend, s3_location, settings):
    settings.CODA_S3_KEY_LAYOUT = "sha256"
    data = random_bytes(11 * MIB, seed=6)
    result = store(backend, data)
    assert result.key == blob_key(hashlib.sha256(data).hexdigest())
    assert objects(s3_location) == {f"archive/{result.key}": data}  # the temporary upload is gone


@contextlib.contextmanager
def injected(backend, event: str, handler):
    """A fault injected into the backend's real client at a botocore event (the server is still real)."""
    backend.client.meta.events.register(event, handler)
    try:
        yield
    finally:
        backend.client.meta.events.unregister(event, handler)


def tampered_composite(parsed, **kwargs):
    if parsed.get("ChecksumCRC32"):
        parsed["ChecksumCRC32"] = "AAAAAA==-" + parsed["ChecksumCRC32"].partition("-")[2]


def unconfirmed_part(parsed, **kwargs):
    parsed.pop("ChecksumCRC32", None)


@pytest.mark.parametrize(
    "event, handler, message",
    [
        # The server's composite checksum of the completed object, as HEAD reports it, differs from the parts sent.
        ("after-call.s3.HeadObject", tampered_composite, "CRC32 checksum"),
        # The server does not echo a part's checksum: no proof, so the part is refused.
        ("after-call.s3.UploadPart", unconfirmed_part, "did not confirm"),
    ],
)
def test_server_disagreeing_with_what_was_sent_fails_and_keeps_nothing(backend, s3_location, event, handler, message):
    with injected(backend, event, handler), pytest.raises(ChecksumMismatch, match=message):
        store(backend, random_bytes(11 * MIB, seed=7))
    assert objects(s3_location) == {}
    assert not s3_location.list_multipart_uploads(Bucket=s3_location.bucket).get("Uploads")


@pytest.mark.parametrize("sign", [False, True])
def test_payload_signing_follows_the_setting(backend, settings, sign):
    settings.CODA_S3_SIGN_PAYLOAD = sign
    backend = S3Backend(backend.location)
    seen = []

    def capture(request, **kwargs):
        value = request.headers["X-Amz-Content-SHA256"]
        seen.append(value.decode() if isinstance(value, bytes) else value)

    data = random_bytes(6 * MIB, seed=9)
    with injected(backend, "before-send.s3.UploadPart", capture):
        store(backend, data)
    parts = {hashlib.sha256(data[: 5 * MIB]).hexdigest(), hashlib.sha256(data[5 * MIB :]).hexdigest()}
    assert set(seen) == (parts if sign else {"UNSIGNED-PAYLOAD"})
