"""Storage locations: the database's rows kept in step with CODA_STORAGE_LOCATIONS, the primary location, and the
backend that serves a location."""

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction

from archive.models import StorageLocation
from archive.storage.base import Backend
from archive.storage.filesystem import FilesystemBackend
from archive.storage.ocfl import OcflBackend
from archive.storage.ocfl_s3 import OcflS3Backend
from archive.storage.s3 import S3Backend


def backend_for(location: StorageLocation) -> Backend:
    """The backend serving `location` (S3-compatible or filesystem; an OCFL mirror on an S3 prefix when it names a
    bucket, else on a filesystem root)."""
    if location.kind == StorageLocation.Kind.S3:
        return S3Backend(location)
    if location.kind == StorageLocation.Kind.OCFL:
        return OcflS3Backend(location) if location.bucket else OcflBackend(location)
    return FilesystemBackend(location)


def _values(entry: dict, *, primary_name: str) -> dict:
    return {
        "kind": entry.get("kind", "filesystem"),
        "endpoint_url": entry.get("endpoint_url", "") or "",
        "bucket": entry.get("bucket", "") or "",
        "prefix": entry.get("prefix", "") or "",
        "region": entry.get("region", "") or "",
        "root_path": str(entry.get("root", "") or ""),
        "access_key_env": entry.get("access_key_env", "") or "",
        "secret_key_env": entry.get("secret_key_env", "") or "",
        "is_primary": entry["name"] == primary_name,
        "is_active": True,
    }


def object_lock_check() -> list[str]:
    """With CODA_S3_OBJECT_LOCK asking for it, every configured S3 bucket has Object Lock: a missing bucket is created
    with it, an existing one without it raises ImproperlyConfigured naming the location and bucket (at start-up: the
    system check `archive.E001`, run by migrate and the web and worker processes, and every locations_sync). Needs no
    database. Returns what was done per location."""
    done = []
    for entry in settings.CODA_STORAGE_LOCATIONS:
        location = StorageLocation(name=entry["name"], **_values(entry, primary_name=""))
        if location.on_s3:
            done.append(f"{location.name}: {S3Backend(location).object_lock_prepare()}")
    return done


@transaction.atomic
def locations_sync() -> list[StorageLocation]:
    """Make the database's storage locations match CODA_STORAGE_LOCATIONS (credentials stay in the environment);
    buckets are checked for Object Lock first when CODA_S3_OBJECT_LOCK asks for it (object_lock_check)."""
    object_lock_check()
    configured = settings.CODA_STORAGE_LOCATIONS
    names = []
    primary_name = next((c["name"] for c in configured if c.get("primary")), configured[0]["name"])
    if any(c["name"] == primary_name and c.get("kind") == StorageLocation.Kind.OCFL for c in configured):
        raise ImproperlyConfigured("An OCFL location is a mirror kept by replication; it cannot be the primary.")
    StorageLocation.objects.exclude(name=primary_name).update(is_primary=False)
    for entry in configured:
        values = _values(entry, primary_name=primary_name)
        location, _ = StorageLocation.objects.update_or_create(name=entry["name"], defaults=values)
        names.append(location.name)
    StorageLocation.objects.exclude(name__in=names).update(is_active=False, is_primary=False)
    return list(StorageLocation.objects.filter(name__in=names))


def primary_location() -> StorageLocation:
    """The primary location; configuration is synced at ingest start (and here only when none is recorded)."""
    location = StorageLocation.objects.filter(is_primary=True, is_active=True).first()
    if location is None:
        locations_sync()
        location = StorageLocation.objects.get(is_primary=True)
    return location
