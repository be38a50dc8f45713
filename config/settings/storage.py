"""Storage: the staging roots ingest may read, the storage locations, and how Coda talks to S3 (transfer sizes, checksums, timeouts during outages)."""

from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_int, env_json, env_list, env_str
from config.settings.base import VAR_DIR

CODA_STAGING_ROOTS = [Path(p).resolve() for p in env_list("CODA_STAGING_ROOTS", [str(VAR_DIR / "staging")], sep=":")]
CODA_PART_SIZE = env_int("CODA_PART_SIZE", 8 * 1024 * 1024)
CODA_UPLOAD_CONCURRENCY = env_int("CODA_UPLOAD_CONCURRENCY", 8)
CODA_CHUNK_SIZE = env_int("CODA_CHUNK_SIZE", 1024 * 1024)
CODA_S3_CHECKSUMS = env_str("CODA_S3_CHECKSUMS", "when_supported")  # or when_required
# Per-part integrity on the wire: "crc32" (botocore's default flexible checksum, needs CODA_S3_CHECKSUMS=
# when_supported), "md5" (Content-MD5, validated by every S3 server) or "sha256" (x-amz-checksum-sha256).
CODA_S3_PART_CHECKSUM = env_str("CODA_S3_PART_CHECKSUM", "crc32")
# Where objects larger than one part live. "direct": uploaded once to blobs/uploads/<uuid> and kept there (the
# replica and the location's manifests record the key; proof: per-part MD5 and composite ETag). "sha256": uploaded
# to tmp/ and moved to blobs/sha256/... by a server-side copy (the server copies every byte once more).
CODA_S3_KEY_LAYOUT = env_str("CODA_S3_KEY_LAYOUT", "direct")
if CODA_S3_KEY_LAYOUT not in ("direct", "sha256"):
    raise ImproperlyConfigured(f"CODA_S3_KEY_LAYOUT must be 'direct' or 'sha256', not {CODA_S3_KEY_LAYOUT!r}.")
CODA_S3_MAX_ATTEMPTS = env_int("CODA_S3_MAX_ATTEMPTS", 5)
CODA_S3_SIGN_PAYLOAD = env_bool("CODA_S3_SIGN_PAYLOAD", False)
# Storage outages: how long one S3 request may wait to connect and between bytes of an answer, and the most one
# request may take with its retries (no retry starts after it). A stalled server then fails an operation in about
# CODA_S3_DEADLINE seconds instead of holding a worker. The API answers 503 with Retry-After while storage is down.
CODA_S3_CONNECT_TIMEOUT = env_int("CODA_S3_CONNECT_TIMEOUT", 5)
CODA_S3_READ_TIMEOUT = env_int("CODA_S3_READ_TIMEOUT", 60)
CODA_S3_DEADLINE = env_int("CODA_S3_DEADLINE", 180)
CODA_STORAGE_RETRY_AFTER = env_int("CODA_STORAGE_RETRY_AFTER", 30)
def _storage_locations() -> list[dict]:
    explicit = env_json("CODA_STORAGE_LOCATIONS", None)
    if explicit is not None:
        if not isinstance(explicit, list) or not explicit:
            raise ImproperlyConfigured("CODA_STORAGE_LOCATIONS must be a non-empty JSON list")
        return explicit
    if env_str("CODA_S3_BUCKET"):
        return [
            {
                "name": env_str("CODA_S3_LOCATION_NAME", "s3"),
                "kind": "s3",
                "endpoint_url": env_str("CODA_S3_ENDPOINT_URL"),
                "bucket": env_str("CODA_S3_BUCKET"),
                "prefix": env_str("CODA_S3_PREFIX", ""),
                "region": env_str("CODA_S3_REGION", "us-east-1"),
                "access_key_env": "CODA_S3_ACCESS_KEY_ID",
                "secret_key_env": "CODA_S3_SECRET_ACCESS_KEY",
                "primary": True,
            }
        ]
    local = {"name": "local", "kind": "filesystem", "root": env_str("CODA_STORAGE_ROOT", str(VAR_DIR / "storage")),
             "primary": True}
    # The embedded default keeps a second, standard copy: an OCFL 1.1 storage root beside the primary store.
    ocfl_root = env_str("CODA_OCFL_ROOT", str(VAR_DIR / "ocfl"))
    return [local, {"name": "ocfl", "kind": "ocfl", "root": ocfl_root}] if ocfl_root else [local]


CODA_STORAGE_LOCATIONS = _storage_locations()

# Storage-enforced retention (docs/retention.md): S3 Object Lock on every S3 location. "compliance" or "governance":
# buckets Coda creates get Object Lock (and so versioning), an existing bucket without it is refused at start-up,
# every object is written with a retention date CODA_RETENTION_DAYS ahead, and the retention-extend beat moves the
# date forward once it is within CODA_RETENTION_EXTEND_DAYS. "off": no lock (versions are still recorded and read).
CODA_S3_OBJECT_LOCK = env_str("CODA_S3_OBJECT_LOCK", "off").strip().lower()
if CODA_S3_OBJECT_LOCK not in ("compliance", "governance", "off"):
    raise ImproperlyConfigured(
        f"CODA_S3_OBJECT_LOCK must be 'compliance', 'governance' or 'off', not {CODA_S3_OBJECT_LOCK!r}."
    )
CODA_RETENTION_DAYS = env_int("CODA_RETENTION_DAYS", 365)
CODA_RETENTION_EXTEND_DAYS = env_int("CODA_RETENTION_EXTEND_DAYS", 30)
if CODA_RETENTION_DAYS < 1 or not 0 < CODA_RETENTION_EXTEND_DAYS < CODA_RETENTION_DAYS:
    raise ImproperlyConfigured("CODA_RETENTION_DAYS must be at least 1 and CODA_RETENTION_EXTEND_DAYS between 1 and "
                               "CODA_RETENTION_DAYS - 1 (retention is extended before it runs out).")
