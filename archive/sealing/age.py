"""The age v1 file format (age-encryption.org/v1), written and read in fixed-size pieces.

Coda stores sealed holdings in this format so that a lab can open them decades later with the `age` tool alone,
without Coda, its database or its key service. Only what Coda needs is here: X25519 recipients and identities
(Bech32 `age1…` / `AGE-SECRET-KEY-1…`), the header with its HMAC, and the STREAM payload of 64 KiB chunks
(ChaCha20-Poly1305, 11-byte big-endian counter + last-chunk flag as nonce).

Why not a binding (pyrage): Coda must encrypt while the same bytes are hashed and uploaded (one pass, memory
bounded by a chunk), and must decrypt any byte range without reading what precedes it (a Range request or /hf
resolve of a 10 GB shard). The STREAM construction allows both: chunk i of the payload starts at a fixed offset.
The primitives come from `cryptography`; tests check every output with Debian's `age` command."""

import base64
import hashlib
import hmac
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

INTRO = b"age-encryption.org/v1\n"
CHUNK = 64 * 1024  # plaintext bytes per STREAM chunk
TAG = 16  # Poly1305 tag
NONCE = 16  # the payload nonce after the header
X25519_INFO = b"age-encryption.org/v1/X25519"
MAX_HEADER = 64 * 1024  # a header longer than this is refused (thousands of recipients would fit)


class AgeError(ValueError):
    """Not an age file Coda can open: malformed header, no matching identity, or tampered bytes."""


# --- Bech32 (BIP 173), the encoding of age's keys -------------------------------------------------------------

_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


def _polymod(values: list[int]) -> int:
    generator = [0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3]
    check = 1
    for value in values:
        top = check >> 25
        check = (check & 0x1FFFFFF) << 5 ^ value
        for i in range(5):
            check ^= generator[i] if (top >> i) & 1 else 0
    return check


def _hrp_expand(hrp: str) -> list[int]:
    return [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]


def _convert(data: bytes | list[int], source: int, target: int, pad: bool) -> list[int]:
    acc, bits, out, top = 0, 0, [], (1 << target) - 1
    for value in data:
        acc = (acc << source) | value
        bits += source
        while bits >= target:
            bits -= target
            out.append((acc >> bits) & top)
    if pad and bits:
        out.append((acc << (target - bits)) & top)
    elif not pad and (bits >= source or (acc << (target - bits)) & top):
        raise AgeError("Bech32 data has leftover bits.")
    return out


def bech32_encode(hrp: str, data: bytes) -> str:
    words = _convert(data, 8, 5, True)
    polymod = _polymod(_hrp_expand(hrp) + words + [0] * 6) ^ 1
    checksum = [(polymod >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(_CHARSET[w] for w in words + checksum)


def bech32_decode(text: str, hrp: str) -> bytes:
    if text.lower() != text and text.upper() != text:
        raise AgeError("Bech32 string mixes upper and lower case.")
    text = text.lower()
    pos = text.rfind("1")
    if text[:pos] != hrp or pos < 1 or len(text) - pos < 7 or any(c not in _CHARSET for c in text[pos + 1:]):
        raise AgeError(f"Not a Bech32 string with prefix {hrp!r}.")
    words = [_CHARSET.index(c) for c in text[pos + 1:]]
    if _polymod(_hrp_expand(hrp) + words) != 1:
        raise AgeError("Bech32 checksum does not match.")
    return bytes(_convert(words[:-6], 5, 8, False))


# --- keys -------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Identity:
    """An X25519 age identity (secret key)."""

    secret: bytes  # 32 bytes

    @classmethod
    def generate(cls) -> "Identity":
        from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

        key = X25519PrivateKey.generate()
        return cls(key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption()))

    @classmethod
    def parse(cls, text: str) -> "Identity":
        secret = bech32_decode(text.strip(), "age-secret-key-")
        if len(secret) != 32:
            raise AgeError("An age identity holds 32 bytes.")
        return cls(secret)

    def __str__(self) -> str:
        return bech32_encode("age-secret-key-", self.secret).upper()

    def __repr__(self) -> str:  # never print the secret by accident
        return f"Identity(recipient={self.recipient})"

    @property
    def recipient(self) -> "Recipient":
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

        public = X25519PrivateKey.from_private_bytes(self.secret).public_key()
        return Recipient(public.public_bytes(Encoding.Raw, PublicFormat.Raw))


@dataclass(frozen=True)
class Recipient:
    """An X25519 age recipient (public key), `age1…`."""

    public: bytes  # 32 bytes

    @classmethod
    def parse(cls, text: str) -> "Recipient":
        public = bech32_decode(text.strip(), "age")
        if len(public) != 32:
            raise AgeError("An age recipient holds 32 bytes.")
        return cls(public)

    def __str__(self) -> str:
        return bech32_encode("age", self.public)


# --- header -----------------------------------------------------------------------------------------------------

def _hkdf(ikm: bytes, salt: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(ikm)


def _b64(data: bytes) -> bytes:
    return base64.b64encode(data).rstrip(b"=")


def _unb64(text: bytes) -> bytes:
    if not re.fullmatch(rb"[A-Za-z0-9+/]*", text):
        raise AgeError("Header base64 is not canonical.")
    try:
        data = base64.b64decode(text + b"=" * (-len(text) % 4), validate=True)
    except ValueError:
        raise AgeError("Header base64 is not valid.") from None
    if _b64(data) != text:
        raise AgeError("Header base64 is not canonical.")
    return data


def _wrap_lines(body: bytes) -> bytes:
    encoded = _b64(body)
    lines = [encoded[i:i + 64] for i in range(0, len(encoded), 64)]
    if not lines or len(lines[-1]) == 64:
        lines.append(b"")  # the last body line is always shorter than 64 columns
    return b"".join(line + b"\n" for line in lines)


def header(file_key: bytes, recipients: list[Recipient]) -> bytes:
    """The header that gives `file_key` to each recipient, with its MAC."""
    if not recipients:
        raise AgeError("At least one recipient is needed.")
    out = INTRO
    for recipient in recipients:
        ephemeral = X25519PrivateKey.generate()
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

        share = ephemeral.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        shared = ephemeral.exchange(X25519PublicKey.from_public_bytes(recipient.public))
        wrap_key = _hkdf(shared, share + recipient.public, X25519_INFO)
        body = ChaCha20Poly1305(wrap_key).encrypt(b"\x00" * 12, file_key, None)
        out += b"-> X25519 " + _b64(share) + b"\n" + _wrap_lines(body)
    out += b"---"
    mac = hmac.new(_hkdf(file_key, b"", b"header"), out, hashlib.sha256).digest()
    return out + b" " + _b64(mac) + b"\n"


def _read_header(read: Callable[[int], bytes]) -> tuple[bytes, list[tuple[list[bytes], bytes]], bytes]:
    """(header bytes up to '---', stanzas as (arguments, body), MAC) read line by line from `read`."""
    data = b""

    def line() -> bytes:
        nonlocal data
        out = b""
        while not out.endswith(b"\n"):
            byte = read(1)
            if not byte:
                raise AgeError("The file ends inside its header.")
            out += byte
            if len(data) + len(out) > MAX_HEADER:
                raise AgeError("The header is too long.")
        data += out
        return out

    if line() != INTRO:
        raise AgeError("Not an age v1 file (no 'age-encryption.org/v1' line).")
    stanzas = []
    current = line()
    while current.startswith(b"-> "):
        arguments = current[3:-1].split(b" ")
        body = b""
        while True:
            chunk = line()[:-1]
            if len(chunk) > 64:
                raise AgeError("A stanza body line is longer than 64 columns.")
            body += chunk
            if len(chunk) < 64:
                break
        stanzas.append((arguments, _unb64(body)))
        current = line()
    if not current.startswith(b"--- "):
        raise AgeError("The header does not end with its MAC line.")
    mac_text = current[4:-1]
    return data[: -len(current)] + b"---", stanzas, _unb64(mac_text)


def _unwrap(stanzas, identities: list[Identity]) -> bytes:
    for arguments, body in stanzas:
        if arguments[0] != b"X25519" or len(arguments) != 2:
            continue
        share = _unb64(arguments[1])
        if len(share) != 32 or len(body) != 32:
            raise AgeError("A malformed X25519 stanza.")
        for identity in identities:
            shared = X25519PrivateKey.from_private_bytes(identity.secret).exchange(
                X25519PublicKey.from_public_bytes(share))
            wrap_key = _hkdf(shared, share + identity.recipient.public, X25519_INFO)
            try:
                return ChaCha20Poly1305(wrap_key).decrypt(b"\x00" * 12, body, None)
            except InvalidTag:
                continue
    raise AgeError("None of the identities opens this file.")


# --- payload ----------------------------------------------------------------------------------------------------

def _nonce(counter: int, last: bool) -> bytes:
    return counter.to_bytes(11, "big") + (b"\x01" if last else b"\x00")


class Encryptor:
    """Encrypts a stream piece by piece: `update(data)` and `finish()` return ciphertext to write in order.
    Memory: at most one chunk (64 KiB) of plaintext is held back (the last chunk is marked as last)."""

    def __init__(self, recipients: list[Recipient]):
        file_key = os.urandom(16)
        nonce = os.urandom(NONCE)
        self._aead = ChaCha20Poly1305(_hkdf(file_key, nonce, b"payload"))
        self._pending = bytearray(header(file_key, recipients) + nonce)
        self._buffer = bytearray()
        self._counter = 0
        self.header_size = len(self._pending) - NONCE

    def update(self, data) -> bytes:
        """Ciphertext for `data` (any bytes-like): the header first time, then every chunk completed, sealed
        straight into one output buffer; the last (possibly final) chunk is held back."""
        view = memoryview(data)
        total = len(self._buffer) + len(view)
        count = max(0, (total - 1) // CHUNK)  # chunks sealed now: strictly more than a chunk must remain
        head = len(self._pending)
        out = bytearray(head + count * (CHUNK + TAG))
        out[:head] = self._pending
        self._pending = bytearray()
        target = memoryview(out)
        position = head
        if count and self._buffer:  # complete the chunk held back first
            take = CHUNK - len(self._buffer)
            self._buffer += view[:take]
            view = view[take:]
            self._seal_into(self._buffer, target[position:position + CHUNK + TAG], last=False)
            self._buffer = bytearray()
            position += CHUNK + TAG
            count -= 1
        for i in range(count):
            self._seal_into(view[i * CHUNK:(i + 1) * CHUNK], target[position:position + CHUNK + TAG], last=False)
            position += CHUNK + TAG
        self._buffer += view[count * CHUNK:]
        target.release()
        return bytes(out)

    def _seal_into(self, chunk, out, *, last: bool) -> None:
        self._aead.encrypt_into(_nonce(self._counter, last), chunk, None, out)
        self._counter += 1

    def _seal(self, chunk, *, last: bool) -> bytes:
        sealed = self._aead.encrypt(_nonce(self._counter, last), bytes(chunk), None)
        self._counter += 1
        return sealed

    def finish(self) -> bytes:
        out = bytes(self._pending) + self._seal(self._buffer, last=True)
        self._pending, self._buffer = bytearray(), bytearray()
        return out


def ciphertext_size(plaintext_size: int, header_size: int) -> int:
    """The size of an age file of `plaintext_size` bytes whose header takes `header_size` bytes."""
    chunks = max(1, -(-plaintext_size // CHUNK))
    return header_size + NONCE + plaintext_size + chunks * TAG


def plaintext_size(ciphertext_size_: int, header_size: int) -> int:
    payload = ciphertext_size_ - header_size - NONCE
    chunks = max(1, -(-payload // (CHUNK + TAG)))
    size = payload - chunks * TAG
    if size < 0 or (size == 0 and chunks != 1):
        raise AgeError("The payload's size is not that of an age STREAM.")
    return size


@dataclass
class Opened:
    """An age file's header read and its file key unwrapped: the payload can be read from any chunk."""

    header_size: int  # bytes before the payload nonce
    aead: ChaCha20Poly1305

    def chunk(self, index: int, data: bytes, last: bool) -> bytes:
        try:
            return self.aead.decrypt(_nonce(index, last), data, None)
        except InvalidTag:
            raise AgeError(f"Chunk {index} of the payload is corrupt or was altered.") from None

    def chunk_into(self, index: int, data, last: bool, out) -> None:
        """Decrypt chunk `index` into `out` (a writable buffer of exactly its plaintext length): no allocation."""
        try:
            self.aead.decrypt_into(_nonce(index, last), data, None, out)
        except InvalidTag:
            raise AgeError(f"Chunk {index} of the payload is corrupt or was altered.") from None


def open_header(read: Callable[[int], bytes], identities: list[Identity]) -> Opened:
    """Read the header (and the payload nonce) from `read`, check its MAC and unwrap the file key."""
    macced, stanzas, mac = _read_header(read)
    file_key = _unwrap(stanzas, identities)
    expected = hmac.new(_hkdf(file_key, b"", b"header"), macced, hashlib.sha256).digest()
    if not hmac.compare_digest(expected, mac):
        raise AgeError("The header's MAC does not match: the header was altered.")
    nonce = read(NONCE)
    if len(nonce) != NONCE:
        raise AgeError("The file ends before its payload.")
    header_size = len(macced) + 1 + len(_b64(mac)) + 1
    return Opened(header_size=header_size, aead=ChaCha20Poly1305(_hkdf(file_key, nonce, b"payload")))


def decrypt(read: Callable[[int], bytes], identities: list[Identity]) -> Iterator[bytes]:
    """The plaintext of the age file `read` returns, chunk by chunk; AgeError on any tampering or truncation."""
    opened = open_header(read, identities)
    index, current = 0, _read_exactly(read, CHUNK + TAG)
    while True:
        following = _read_exactly(read, CHUNK + TAG) if len(current) == CHUNK + TAG else b""
        last = not following
        if len(current) < TAG or (index > 0 and last and len(current) == TAG):
            raise AgeError("The payload is truncated.")
        yield opened.chunk(index, current, last)
        if last:
            return
        index, current = index + 1, following


def decrypt_range(read_at: Callable[[int, int], bytes], opened: Opened, size: int, start: int, end: int) -> Iterator[bytes]:
    """Plaintext bytes start..end (inclusive) of an age file whose plaintext is `size` bytes, reading only the
    chunks that hold them: `read_at(offset, length)` returns ciphertext bytes at that offset."""
    if not 0 <= start <= end < size:
        raise AgeError("The range lies outside the plaintext.")
    last_index = max(0, -(-size // CHUNK) - 1)
    base = opened.header_size + NONCE
    for index in range(start // CHUNK, end // CHUNK + 1):
        length = min(CHUNK, size - index * CHUNK) + TAG
        data = read_at(base + index * (CHUNK + TAG), length)
        if len(data) != length:
            raise AgeError("The payload is truncated.")
        plain = opened.chunk(index, data, index == last_index)
        lo = start - index * CHUNK if index == start // CHUNK else 0
        hi = end - index * CHUNK + 1 if index == end // CHUNK else len(plain)
        yield plain[lo:hi]


def _read_exactly(read: Callable[[int], bytes], n: int) -> bytes:
    out = b""
    while len(out) < n:
        piece = read(n - len(out))
        if not piece:
            break
        out += piece
    return out
