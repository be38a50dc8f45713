"""Sealing and opening as streams: plaintext in, age ciphertext out (ingest), and a stored sealed copy read
back as plaintext, whole or a byte range (deliveries, deep audits). Memory stays at a chunk or two."""

import io
from collections.abc import Iterator

from archive.sealing import age
from archive.storage.streaming import ReadAhead


class SealingReader:
    """A readable stream of the age ciphertext of `plain` (read once, in pieces): it sits between the hashing
    reader of the source and the storage backend, so the source is read once and both digests come from one pass.
    Memory: the piece the backend asks for, plus at most one chunk held back."""

    def __init__(self, plain, recipients: list[age.Recipient], *, plaintext_size: int):
        self.plain = plain
        self.encryptor = age.Encryptor(recipients)
        self.size = age.ciphertext_size(plaintext_size, self.encryptor.header_size)
        self._pieces: list[bytes] = []
        self._held = 0
        self._done = False

    @property
    def header_size(self) -> int:
        return self.encryptor.header_size

    def read(self, size: int = -1) -> bytes:
        want = size if size >= 0 else self.size
        while self._held < want and not self._done:
            data = self.plain.read(max(want - self._held, age.CHUNK))
            piece = self.encryptor.update(data) if data else self.encryptor.finish()
            self._done = not data
            if piece:
                self._pieces.append(piece)
                self._held += len(piece)
        data = self._pieces[0] if len(self._pieces) == 1 else b"".join(self._pieces)
        result, rest = (data, b"") if len(data) <= want else (data[:want], data[want:])
        self._pieces, self._held = ([rest] if rest else []), len(rest)
        return result

    def close(self) -> None:
        close = getattr(self.plain, "close", None)
        if close:
            close()


def open_plaintext(open_object, *, identities: list[age.Identity], header_size: int, plaintext_size: int,
                   start: int = 0, end: int | None = None) -> Iterator[bytes]:
    """The plaintext of a sealed object, or bytes start..end of it, from `open_object(start, end)` (a ranged
    read of the stored object: backend.open). The header is read and the payload opened now (storage and key
    failures raise here, before a caller starts an answer); the iterator then reads only the chunks that hold the
    range. A read from the first chunk (a whole download) is one request for header and payload alike; a range
    further in reads the header, then its own chunks."""
    end = plaintext_size - 1 if end is None else end
    first, last = start // age.CHUNK, end // age.CHUNK
    base = header_size + age.NONCE
    stop = base + min((last + 1) * (age.CHUNK + age.TAG), plaintext_size + (last + 1) * age.TAG) - 1
    offset = base + first * (age.CHUNK + age.TAG)
    stream = open_object(0, stop) if first == 0 else None
    head = stream if stream is not None else open_object(0, base - 1)
    try:
        opened = age.open_header(io.BytesIO(_read_exactly(head, base)).read, identities)
    except BaseException:
        head.close()
        raise
    if stream is None:
        head.close()
        stream = open_object(offset, stop)
    if plaintext_size == 0:
        stream.close()
        return _nothing()  # a generator, closable like every other answer here
    return _plaintext_chunks(stream, opened, offset, plaintext_size, start, end)


def _nothing() -> Iterator[bytes]:
    yield from ()


GROUP = 16  # age chunks read and decrypted together: about 1 MiB per storage read and per piece handed on


def _plaintext_chunks(stream, opened: age.Opened, offset: int, size: int, start: int, end: int) -> Iterator[bytes]:
    """The plaintext of start..end as a pipeline of three threads, each of which lets go of the GIL for its heavy
    part: the stored bytes are read ahead (network), decrypted a group at a time on a second helper thread
    (decrypt_into), and handed on here to be sent. Memory: two groups of ciphertext and two of plaintext."""
    ciphertext = ReadAhead(stream, GROUP * (age.CHUNK + age.TAG), depth=2)
    plaintext = ReadAhead(_Decrypting(ciphertext, opened, size, start, end), GROUP * age.CHUNK, depth=2)
    try:
        while piece := plaintext.read():
            yield piece
    finally:
        plaintext.close()  # closes the decrypting stage, which closes the read-ahead and the stored stream


class _Decrypting:
    """A readable stream of the plaintext of start..end: each read decrypts the next GROUP chunks straight into
    one buffer and returns the part of it inside the range."""

    def __init__(self, ciphertext, opened: age.Opened, size: int, start: int, end: int):
        self.ciphertext, self.opened, self.size, self.start, self.end = ciphertext, opened, size, start, end
        self.index, self.last = start // age.CHUNK, end // age.CHUNK
        self.final = max(0, -(-size // age.CHUNK) - 1)

    def read(self, _size: int = -1) -> bytes:
        index = self.index
        if index > self.last:
            return b""
        count = min(GROUP, self.last - index + 1)
        lengths = [min(age.CHUNK, self.size - i * age.CHUNK) + age.TAG for i in range(index, index + count)]
        data = memoryview(_read_exactly(self.ciphertext, sum(lengths)))
        if len(data) != sum(lengths):
            raise age.AgeError("The payload is truncated.")
        out = bytearray(sum(lengths) - count * age.TAG)
        view, position, written = memoryview(out), 0, 0
        for i, length in zip(range(index, index + count), lengths):
            self.opened.chunk_into(i, data[position:position + length], i == self.final,
                                   view[written:written + length - age.TAG])
            position += length
            written += length - age.TAG
        lo = self.start - index * age.CHUNK if index == self.start // age.CHUNK else 0
        hi = self.end - index * age.CHUNK + 1 if index + count - 1 == self.last else len(out)
        piece = bytes(view[lo:hi]) if (lo, hi) != (0, len(out)) else bytes(out)
        view.release()
        self.index = index + count
        return piece

    def close(self) -> None:
        self.ciphertext.close()


def _read_exactly(stream, n: int) -> bytes:
    """n bytes from `stream` (fewer only at its end); a first read that returns them all is handed on uncopied."""
    piece = stream.read(n)
    if len(piece) >= n or not piece:
        return piece
    out = bytearray(piece)
    while len(out) < n:
        piece = stream.read(n - len(out))
        if not piece:
            break
        out += piece
    return bytes(out)
