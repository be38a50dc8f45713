"""ReadAhead: the stream a fixity check reads, filled on a helper thread. It must hand over exactly the bytes of
the underlying stream, in order and in any read size, raise the underlying failure after the bytes read before
it, hold at most `depth` chunks, and stop its thread on close even when nobody reads."""

import hashlib
import io
import threading
import time

import pytest

from archive.storage.streaming import HashingReader, ReadAhead
from tests.archive.helpers import random_bytes


class Counting(io.BytesIO):
    def __init__(self, data: bytes):
        super().__init__(data)
        self.reads = 0
        self.closed_by_reader = False

    def read(self, size=-1):
        self.reads += 1
        return super().read(size)

    def close(self):
        self.closed_by_reader = True
        super().close()


@pytest.mark.parametrize("read_size", [1000, 64 * 1024, 1024 * 1024])
def test_hands_over_every_byte_in_order_at_any_read_size(read_size):
    data = random_bytes(3 * 64 * 1024 + 777)
    stream = ReadAhead(io.BytesIO(data), 64 * 1024)
    got = []
    while chunk := stream.read(read_size):
        assert len(chunk) <= read_size
        got.append(chunk)
    assert b"".join(got) == data
    assert stream.read(10) == b""
    stream.close()


def test_drain_through_read_ahead_gives_the_digest_of_the_bytes():
    data = random_bytes(5 * 1024 * 1024 + 3)
    reader = HashingReader(ReadAhead(io.BytesIO(data), 1024 * 1024))
    assert reader.drain(1024 * 1024) == len(data)
    assert reader.hexdigest() == hashlib.sha256(data).hexdigest()


def test_a_failure_midway_is_raised_after_the_bytes_before_it():
    class Failing(io.BytesIO):
        def read(self, size=-1):
            if self.tell() >= 128 * 1024:
                raise ConnectionResetError("connection dropped")
            return super().read(size)

    data = random_bytes(512 * 1024)
    stream = ReadAhead(Failing(data), 64 * 1024)
    got = b""
    with pytest.raises(ConnectionResetError, match="dropped"):
        while chunk := stream.read(64 * 1024):
            got += chunk
    assert got == data[: 128 * 1024]
    stream.close()


def test_reads_at_most_depth_chunks_ahead_and_close_stops_the_helper():
    raw = Counting(random_bytes(64 * 1024 * 20))
    stream = ReadAhead(raw, 64 * 1024, depth=2)
    deadline = time.monotonic() + 5
    while raw.reads < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)  # give a runaway helper the chance to read on
    # Two chunks queued, one more read and waiting for room: never the whole stream.
    assert raw.reads == 3
    stream.close()
    assert raw.closed_by_reader
    assert not any(t.name == "coda-read-ahead" and t.is_alive() for t in threading.enumerate())
