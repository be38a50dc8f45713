"""Sealing and opening as streams: plaintext in, age ciphertext out (ingest), and a stored sealed copy read
back as plaintext, whole or a byte range (deliveries, deep audits). Memory stays at a chunk or two."""

from collections.abc import Iterator

from archive.sealing import age


class SealingReader:
    """A readable stream of the age ciphertext of `plain` (read once, in pieces): it sits between the hashing
    reader of the source and the storage backend, so the source is read once and both digests come from one pass."""

    def __init__(self, plain, recipients: list[age.Recipient], *, plaintext_size: int):
        self.plain = plain
        self.encryptor = age.Encryptor(recipients)
        self.size = age.ciphertext_size(plaintext_size, self.encryptor.header_size)
        self._out = bytearray()
        self._done = False

    @property
    def header_size(self) -> int:
        return self.encryptor.header_size

    def read(self, size: int = -1) -> bytes:
        want = size if size >= 0 else self.size
        while len(self._out) < want and not self._done:
            data = self.plain.read(max(want - len(self._out), age.CHUNK))
            if data:
                self._out += self.encryptor.update(data)
            else:
                self._out += self.encryptor.finish()
                self._done = True
        piece = bytes(self._out[:want])
        del self._out[:want]
        return piece

    def close(self) -> None:
        close = getattr(self.plain, "close", None)
        if close:
            close()


def open_plaintext(open_object, *, identities: list[age.Identity], header_size: int, plaintext_size: int,
                   start: int = 0, end: int | None = None) -> Iterator[bytes]:
    """The plaintext of a sealed object, or bytes start..end of it, from `open_object(start, end)` (a ranged
    read of the stored object: backend.open). The header is read and the payload opened now (storage and key
    failures raise here, before a caller starts an answer); the iterator then reads only the chunks that hold the
    range."""
    end = plaintext_size - 1 if end is None else end
    head = open_object(0, header_size + age.NONCE - 1)
    try:
        opened = age.open_header(head.read, identities)
    finally:
        head.close()
    if plaintext_size == 0:
        return iter(())
    first, last = start // age.CHUNK, end // age.CHUNK
    base = header_size + age.NONCE
    stop = base + min((last + 1) * (age.CHUNK + age.TAG), plaintext_size + (last + 1) * age.TAG) - 1
    stream = open_object(base + first * (age.CHUNK + age.TAG), stop)
    return _plaintext_chunks(stream, opened, base + first * (age.CHUNK + age.TAG), plaintext_size, start, end)


def _plaintext_chunks(stream, opened: age.Opened, offset: int, size: int, start: int, end: int) -> Iterator[bytes]:
    try:
        def read_at(position: int, length: int) -> bytes:
            nonlocal offset
            assert position == offset, "chunks are read in order"
            data = _read_exactly(stream, length)
            offset += len(data)
            return data

        yield from age.decrypt_range(read_at, opened, size, start, end)
    finally:
        stream.close()


def _read_exactly(stream, n: int) -> bytes:
    out = bytearray()
    while len(out) < n:
        piece = stream.read(n - len(out))
        if not piece:
            break
        out += piece
    return bytes(out)
