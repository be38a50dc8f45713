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

    def drain(self, chunk_size: int, *, read_ahead: int = 4) -> int:
        """Read to the end keeping only the digests (fixity checks). One thread reads the next chunks
        while this one hashes, so network and hashing overlap; at most `read_ahead` chunks are held."""
        chunks: queue.Queue = queue.Queue(maxsize=read_ahead)
        failure: list[BaseException] = []

        def produce():
            try:
                while True:
                    data = self.raw.read(chunk_size)
                    chunks.put(data)
                    if not data:
                        return
            except BaseException as exc:  # handed to the consumer, raised there
                failure.append(exc)
                chunks.put(b"")

        reader = threading.Thread(target=produce, name="coda-read-ahead", daemon=True)
        reader.start()
        while True:
            data = chunks.get()
            if not data:
                break
            self._consume(data)
        reader.join()
        if failure:
            raise failure[0]
        return self.bytes_read

    def hexdigest(self) -> str:
        return self.sha256.hexdigest()

    def close(self) -> None:
        close = getattr(self.raw, "close", None)
        if close:
            close()
