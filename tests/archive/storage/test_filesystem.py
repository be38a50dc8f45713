"""The filesystem store's write: hashed in one thread, written and read back in another, the copy proven by
comparing every chunk read back from the file with the bytes hashed; a failure on either side leaves nothing
behind."""

import hashlib
import io
import os

import pytest

from archive.exceptions import ChecksumMismatch, SizeMismatch
from archive.models import StorageLocation
from archive.storage import filesystem
from archive.storage.base import blob_key
from archive.storage.filesystem import VERIFICATION, FilesystemBackend
from archive.storage.streaming import HashingReader
from tests.archive.helpers import random_bytes


@pytest.fixture
def backend(tmp_path, settings):
    settings.CODA_CHUNK_SIZE = 64 * 1024  # many chunks in flight for a small file
    return FilesystemBackend(StorageLocation(name="fs", kind="filesystem", root_path=str(tmp_path / "store")))


def _leftovers(backend) -> list[str]:
    return sorted(p.name for p in (backend.root / "blobs").rglob(".tmp-*"))


def test_store_writes_the_bytes_hashed_and_names_its_proof(backend, monkeypatch):
    monkeypatch.setattr(filesystem, "_WRITEBACK_WINDOW", 256 * 1024)  # early writeback requested several times
    data = random_bytes(3 * 1024 * 1024 + 12345)
    result = backend.store(HashingReader(io.BytesIO(data)), size=len(data), is_stored=lambda sha: None)
    assert result.sha256 == hashlib.sha256(data).hexdigest()
    assert result.key == blob_key(result.sha256)
    assert result.verification == VERIFICATION
    assert backend._path(result.key).read_bytes() == data
    assert _leftovers(backend) == []


def test_a_byte_read_back_differently_fails_the_store_and_leaves_nothing(backend, monkeypatch):
    """A disk that returns other bytes than were written (simulated at the one read-back call) is caught before
    the file becomes visible."""
    data = random_bytes(1024 * 1024)
    real_pread = os.pread
    calls = []

    def corrupting_pread(fd, n, offset):
        calls.append(offset)
        back = bytearray(real_pread(fd, n, offset))
        if len(calls) == 3:
            back[100] ^= 0x01
        return bytes(back)

    monkeypatch.setattr(filesystem.os, "pread", corrupting_pread)
    with pytest.raises(ChecksumMismatch, match="read back"):
        backend.store(HashingReader(io.BytesIO(data)), size=len(data), is_stored=lambda sha: None)
    assert not any(p.is_file() for p in (backend.root / "blobs").rglob("*"))


def test_a_source_failing_midway_leaves_nothing(backend):
    class Failing(io.BytesIO):
        def read(self, size=-1):
            if self.tell() >= 512 * 1024:
                raise OSError("source disk went away")
            return super().read(size)

    with pytest.raises(OSError, match="went away"):
        backend.store(HashingReader(Failing(random_bytes(1024 * 1024))), size=1024 * 1024, is_stored=lambda sha: None)
    assert not any(p.is_file() for p in (backend.root / "blobs").rglob("*"))


def test_a_short_source_is_a_size_mismatch_and_leaves_nothing(backend):
    data = random_bytes(200 * 1024)
    with pytest.raises(SizeMismatch):
        backend.store(HashingReader(io.BytesIO(data)), size=len(data) + 1, is_stored=lambda sha: None)
    assert not any(p.is_file() for p in (backend.root / "blobs").rglob("*"))
