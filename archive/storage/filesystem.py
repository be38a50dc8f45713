"""Filesystem locations: blobs under a root directory, written through a temp file (each chunk read back and compared
with the bytes hashed), fsync and atomic rename. Blobs are read-only (0444) once written and never replaced, except to
repair a copy proven corrupt: the good bytes are written beside it, verified, then renamed over it."""

import os
import queue
import threading
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import BinaryIO

from django.conf import settings

from archive.exceptions import ChecksumMismatch, InvalidSource, SizeMismatch, TransientStorageError
from archive.models import StorageLocation
from archive.storage.base import Backend, StoreResult, blob_key
from archive.storage.streaming import HashingReader

# Chunks read and hashed ahead of the writer thread (each CODA_CHUNK_SIZE bytes).
_PIPELINE_DEPTH = 4
# Bytes written between two requests to the kernel to start writing back (posix_fadvise DONTNEED, where it exists).
_WRITEBACK_WINDOW = 32 * 1024 * 1024
_fadvise = getattr(os, "posix_fadvise", None)
# How a filesystem copy is proven when stored: every chunk read back from the written file equals the bytes hashed.
VERIFICATION = "read-back compare with hashed bytes"
BLOB_MODE = 0o444  # a stored blob is read-only: nothing in Coda writes into one, a repair renames a new file over it


class FilesystemBackend(Backend):
    """Blobs under a root directory: temp file in the blobs directory, fsync, atomic rename."""

    def __init__(self, location: StorageLocation):
        self.location = location
        self.root = Path(location.root_path).resolve()

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root):
            raise InvalidSource(f"Key {key!r} escapes the storage root.")
        return path

    def _write_atomic(self, final: Path, chunks) -> None:
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = final.parent / f".tmp-{uuid.uuid4().hex}"
        try:
            with open(tmp, "wb") as out:
                for chunk in chunks:
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, final)
            _fsync_dir(final.parent)
        finally:
            tmp.unlink(missing_ok=True)

    @staticmethod
    def _write_checked(reader, tmp: Path, size: int) -> None:
        """Stream `reader` into `tmp`, proving the copy on the way, then fsync and check the byte count (the file
        is not yet visible). This thread reads and hashes; a writer thread writes each chunk and reads it back
        from the file, comparing it with the very bytes that were hashed, so hashing overlaps the disk and no
        second SHA-256 pass is needed: every byte of the file equals a byte the digest covers. Every
        `_WRITEBACK_WINDOW` bytes the writer asks the kernel to start writing them to disk, so writeback overlaps
        hashing instead of all waiting for the closing fsync (cp + sync waits for all of it). At most
        `_PIPELINE_DEPTH` chunks are in flight (memory bounded by the chunk size)."""
        chunks: queue.Queue = queue.Queue(maxsize=_PIPELINE_DEPTH)
        failure: list[BaseException] = []
        fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)

        def write_and_compare():
            offset = unflushed = 0
            while (data := chunks.get()) is not None:
                if failure:
                    continue  # drain what the reader still hands over, write nothing more
                try:
                    view = memoryview(data)
                    written = 0
                    while written < len(data):
                        written += os.pwrite(fd, view[written:], offset + written)
                    if os.pread(fd, len(data), offset) != data:
                        raise ChecksumMismatch(f"Bytes read back from {tmp} at offset {offset} differ from those written.")
                    offset += len(data)
                    unflushed += len(data)
                    if unflushed >= _WRITEBACK_WINDOW and _fadvise is not None:
                        # Written and compared: start writing these bytes to disk now, so the closing fsync has
                        # little left, and drop them from the page cache (an archive does not read them soon).
                        _fadvise(fd, offset - unflushed, unflushed, os.POSIX_FADV_DONTNEED)
                        unflushed = 0
                except BaseException as exc:  # handed to the reading thread, raised there
                    failure.append(exc)

        writer = threading.Thread(target=write_and_compare, name="coda-fs-writer", daemon=True)
        writer.start()
        try:
            try:
                for chunk in reader.chunks(settings.CODA_CHUNK_SIZE):
                    if failure:
                        break
                    chunks.put(chunk)
            finally:
                chunks.put(None)
                writer.join()
            if failure:
                raise failure[0]
            os.fsync(fd)
            os.fchmod(fd, BLOB_MODE)
            stored = os.fstat(fd).st_size
        finally:
            os.close(fd)
        if reader.bytes_read != size:
            raise SizeMismatch(f"Read {reader.bytes_read} bytes, expected {size}.")
        if stored != size:
            raise ChecksumMismatch(f"{tmp} holds {stored} bytes after writing {size}.")

    def store(self, reader, *, size, is_stored, before_commit=lambda: None, key=None, on_upload=None) -> StoreResult:
        blobs = self.root / "blobs"
        blobs.mkdir(parents=True, exist_ok=True)
        tmp = blobs / f".tmp-{uuid.uuid4().hex}"
        try:
            self._write_checked(reader, tmp, size)
            before_commit()
            sha256 = reader.hexdigest()
            if key is None:
                if (dedup := self.deduplicated(is_stored, sha256, size)) is not None:
                    return dedup
                key = blob_key(sha256)
                final = self._path(key)
                if final.exists():
                    # Never replaced unless proven corrupt: an equal file stays as it is.
                    if _digest_of(final) == (sha256, size):
                        return StoreResult(key, sha256, size, False, "already stored here (hashed equal)")
                    verification = f"{VERIFICATION}; replaced a copy proven corrupt (hashed differently)"
                else:
                    verification = VERIFICATION
            else:
                # A known key: replication or the repair of a copy an audit proved corrupt or missing.
                final = self._path(key)
                verification = VERIFICATION + ("; repaired by rename over the corrupt copy" if final.exists() else "")
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, final)  # same filesystem: atomic; written and verified beside the copy it replaces
            _fsync_dir(final.parent)
        finally:
            tmp.unlink(missing_ok=True)
        return StoreResult(key, sha256, size, False, verification)

    def open(self, key: str, *, start: int = 0, end: int | None = None, version_id: str = "") -> BinaryIO:
        try:
            handle = open(self._path(key), "rb")
        except FileNotFoundError:
            raise
        except OSError as exc:
            raise TransientStorageError(str(exc)) from exc
        if start:
            handle.seek(start)
        if end is None:
            return handle
        return _Limited(handle, end - start + 1)

    def size_of(self, key: str, *, version_id: str = "") -> int | None:
        try:
            return self._path(key).stat().st_size
        except FileNotFoundError:
            return None
        except OSError as exc:  # an unmounted or failing disk is an outage, like an unreachable S3 server
            raise TransientStorageError(str(exc)) from exc

    def put_bytes(self, key: str, data: bytes) -> None:
        self._write_atomic(self._path(key), [data])

    def delete(self, key: str, *, version_id: str = "") -> None:
        self._path(key).unlink(missing_ok=True)

    def list_keys(self, prefix: str):
        base = self._path(prefix) if prefix else self.root
        if not base.exists():
            return
        for path in sorted(base.rglob("*")):
            if path.is_file():
                yield path.relative_to(self.root).as_posix()

    def list_objects(self, prefix: str):
        for key in self.list_keys(prefix):
            try:
                mtime = self._path(key).stat().st_mtime
            except FileNotFoundError:
                continue
            yield key, datetime.fromtimestamp(mtime, tz=timezone.utc)


class _Limited:
    """At most `remaining` bytes of a file (ranged reads)."""

    def __init__(self, handle, remaining: int):
        self.handle, self.remaining = handle, remaining

    def read(self, size: int = -1) -> bytes:
        if self.remaining <= 0:
            return b""
        size = self.remaining if size < 0 else min(size, self.remaining)
        data = self.handle.read(size)
        self.remaining -= len(data)
        return data

    def close(self) -> None:
        self.handle.close()


def _digest_of(path: Path) -> tuple[str, int]:
    """SHA-256 and size of a stored file, streamed (never the whole file in memory)."""
    with open(path, "rb") as handle:
        reader = HashingReader(handle)
        reader.drain(settings.CODA_CHUNK_SIZE)
    return reader.hexdigest(), reader.bytes_read


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
