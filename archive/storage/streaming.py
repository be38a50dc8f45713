"""The one streaming primitive: every byte read from a source passes through a HashingReader once,
feeding the SHA-256, the byte counter and any observers, on its way to
its destination. Ingest, replication, fixity audit and export all read through it; memory stays
bounded by the size of the reads the caller makes."""

import hashlib
import queue
import threading
import time
from collections.abc import Callable, Iterable
from typing import BinaryIO, Protocol


class Observer(Protocol):
    def feed(self, data: bytes) -> None: ...


class HashingReader:
    """Wraps a binary stream; read() returns the same bytes and updates digests on the way."""

    def __init__(
        self,
        raw: BinaryIO,
        *,
        observers: Iterable[Observer] = (),
        on_progress: Callable[[int], None] | None = None,
        progress_interval: float = 1.0,
    ):
        self.raw = raw
        self.sha256 = hashlib.sha256()
        self.bytes_read = 0
        self.observers = list(observers)
        self._on_progress = on_progress
        self._progress_interval = progress_interval
        self._last_progress = time.monotonic()

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        if data:
            self._consume(data)
        return data

    def _consume(self, data: bytes) -> None:
        if data:
            self.sha256.update(data)
            self.bytes_read += len(data)
            for observer in self.observers:
                observer.feed(data)
            if self._on_progress is not None:
                now = time.monotonic()
                if now - self._last_progress >= self._progress_interval:
                    self._last_progress = now
                    self._on_progress(self.bytes_read)

    def read_exact(self, size: int) -> bytes:
        """Read up to `size` bytes, looping over short reads (network bodies); b'' only at EOF. A file gives
        the whole block in one read: no second copy to join pieces."""
        chunks = []
        remaining = size
        while remaining > 0:
            data = self.read(remaining)
            if not data:
                break
            chunks.append(data)
            remaining -= len(data)
        return b"".join(chunks) if len(chunks) != 1 else chunks[0]

    def chunks(self, chunk_size: int):
        """Iterate over the rest of the stream in chunks of at most chunk_size bytes."""
        while True:
            data = self.read(chunk_size)
            if not data:
                return
            yield data

    def drain(self, chunk_size: int) -> int:
        """Read to the end keeping only the digests (fixity checks). Give it a ReadAhead stream to overlap the
        network with hashing."""
        for _ in self.chunks(chunk_size):
            pass
        return self.bytes_read

    def hexdigest(self) -> str:
        return self.sha256.hexdigest()

    def close(self) -> None:
        close = getattr(self.raw, "close", None)
        if close:
            close()


class ReadAhead:
    """A stream read on a helper thread from the moment it is made, at most `depth` chunks of `chunk_size` ahead
    of the reader: a fixity check opens the next stored copy while it still hashes this one, so the next copy's
    bytes arrive while this one's result is recorded, and network and hashing overlap within a copy. Memory:
    depth × chunk_size per stream. A failure of the underlying read is raised to the reader, after the bytes
    read before it."""

    def __init__(self, raw: BinaryIO, chunk_size: int, *, depth: int = 3):
        self.raw = raw
        self.chunk_size = chunk_size
        self._chunks: queue.Queue = queue.Queue(maxsize=depth)
        self._failure: BaseException | None = None
        self._closed = threading.Event()
        self._pending = memoryview(b"")
        self._eof = False
        self._thread = threading.Thread(target=self._produce, name="coda-read-ahead", daemon=True)
        self._thread.start()

    def _produce(self) -> None:
        try:
            while not self._closed.is_set():
                data = self.raw.read(self.chunk_size)
                self._put(data)
                if not data:
                    return
        except BaseException as exc:  # handed to the reader, raised there
            self._failure = exc
            self._put(b"")

    def _put(self, data: bytes) -> None:
        while not self._closed.is_set():
            try:
                self._chunks.put(data, timeout=0.1)
                return
            except queue.Full:
                continue

    def read(self, size: int = -1) -> bytes:
        if not self._pending:
            if self._eof:
                return b""
            data = self._chunks.get()
            if not data:
                self._eof = True
                if self._failure is not None:
                    raise self._failure
                return b""
            if size < 0 or len(data) <= size:
                return data
            self._pending = memoryview(data)
        size = len(self._pending) if size < 0 else size
        piece, self._pending = self._pending[:size], self._pending[size:]
        return bytes(piece)

    def close(self) -> None:
        """Stop reading ahead and close the underlying stream (which ends a read the helper is blocked in)."""
        self._closed.set()
        close = getattr(self.raw, "close", None)
        if close:
            close()
        self._thread.join(timeout=5)
