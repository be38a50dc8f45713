"""The age v1 writer and reader (archive/sealing/age.py) against Debian's `age` tool, the independent reference:
what Coda writes, `age -d` opens with each recipient's identity (the archive's and a custodian's); what `age`
writes, Coda opens; a wrong identity, a flipped byte, a cut file are refused by both; any byte range decrypts
from the chunks that hold it; memory stays at one chunk whatever the size."""

import io
import os
import shutil
import subprocess

import pytest

from archive.sealing import age

AGE = shutil.which("age")
pytestmark = pytest.mark.skipif(AGE is None, reason="Debian's age tool is missing (apt-get install age; .ci/run does)")
SIZES = [0, 1, age.CHUNK - 1, age.CHUNK, age.CHUNK + 1, 3 * age.CHUNK, 200_000]


def seal(data: bytes, recipients, piece: int = 7000) -> tuple[bytes, int]:
    encryptor = age.Encryptor(recipients)
    out = [encryptor.update(data[i:i + piece]) for i in range(0, len(data), piece)]
    out.append(encryptor.finish())
    return b"".join(out), encryptor.header_size


def age_decrypt(tmp_path, ciphertext: bytes, identity) -> subprocess.CompletedProcess:
    (tmp_path / "id.txt").write_text(f"{identity}\n")
    (tmp_path / "file.age").write_bytes(ciphertext)
    return subprocess.run([AGE, "-d", "-i", tmp_path / "id.txt", tmp_path / "file.age"], capture_output=True, timeout=60)


@pytest.mark.parametrize("size", SIZES)
def test_age_opens_what_coda_writes_with_either_identity(tmp_path, size):
    archive, custodian = age.Identity.generate(), age.Identity.generate()
    data = os.urandom(size)
    ciphertext, header_size = seal(data, [archive.recipient, custodian.recipient])
    assert len(ciphertext) == age.ciphertext_size(size, header_size)
    assert age.plaintext_size(len(ciphertext), header_size) == size
    for identity in (archive, custodian):
        result = age_decrypt(tmp_path, ciphertext, identity)
        assert result.returncode == 0 and result.stdout == data, result.stderr
    assert b"".join(age.decrypt(io.BytesIO(ciphertext).read, [custodian])) == data


def test_coda_opens_what_age_writes_and_keys_match_age_keygen(tmp_path):
    subprocess.run(["age-keygen", "-o", tmp_path / "key.txt"], check=True, capture_output=True)
    secret = next(line for line in (tmp_path / "key.txt").read_text().splitlines() if line.startswith("AGE-SECRET-KEY-1"))
    identity = age.Identity.parse(secret)
    public = subprocess.run(["age-keygen", "-y", tmp_path / "key.txt"], capture_output=True, text=True, check=True)
    assert str(identity.recipient) == public.stdout.strip()
    assert str(identity) == secret and age.Recipient.parse(public.stdout) == identity.recipient
    data = os.urandom(150_000)
    (tmp_path / "plain").write_bytes(data)
    subprocess.run([AGE, "-r", str(identity.recipient), "-o", tmp_path / "cli.age", tmp_path / "plain"], check=True)
    assert b"".join(age.decrypt(open(tmp_path / "cli.age", "rb").read, [identity])) == data


def test_a_wrong_identity_is_refused_by_both(tmp_path):
    ciphertext, _ = seal(b"weights" * 1000, [age.Identity.generate().recipient])
    stranger = age.Identity.generate()
    assert age_decrypt(tmp_path, ciphertext, stranger).returncode != 0
    with pytest.raises(age.AgeError, match="None of the identities"):
        b"".join(age.decrypt(io.BytesIO(ciphertext).read, [stranger]))


@pytest.mark.parametrize("where", ["header", "payload", "last-tag", "cut", "cut-chunk"])
def test_altered_or_cut_files_are_refused_by_both(tmp_path, where):
    identity = age.Identity.generate()
    data = os.urandom(3 * age.CHUNK + 10)
    ciphertext, header_size = seal(data, [identity.recipient])
    damaged = bytearray(ciphertext)
    if where == "header":
        damaged[30] ^= 1
    elif where == "payload":
        damaged[header_size + age.NONCE + age.CHUNK + 100] ^= 1
    elif where == "last-tag":
        damaged[-1] ^= 1
    elif where == "cut":
        damaged = damaged[:-5]
    else:  # a whole final chunk missing: the chunk before it was not marked last
        damaged = damaged[: header_size + age.NONCE + 3 * (age.CHUNK + age.TAG)]
    assert age_decrypt(tmp_path, bytes(damaged), identity).returncode != 0
    with pytest.raises(age.AgeError):
        b"".join(age.decrypt(io.BytesIO(bytes(damaged)).read, [identity]))


@pytest.mark.parametrize("size", [1, age.CHUNK, 5 * age.CHUNK + 123])
def test_any_range_decrypts_from_its_own_chunks(size):
    identity = age.Identity.generate()
    data = os.urandom(size)
    ciphertext, _ = seal(data, [identity.recipient])
    opened = age.open_header(io.BytesIO(ciphertext).read, [identity])
    reads = []

    def read_at(offset, length):
        reads.append((offset, length))
        return ciphertext[offset:offset + length]

    for start, end in [(0, size - 1), (0, 0), (size - 1, size - 1), (size // 2, size - 1), (size // 3, min(size - 1, size // 3 + age.CHUNK))]:
        reads.clear()
        assert b"".join(age.decrypt_range(read_at, opened, size, start, end)) == data[start:end + 1]
        assert len(reads) == end // age.CHUNK - start // age.CHUNK + 1  # only the chunks holding the range


def test_memory_stays_at_one_chunk():
    encryptor = age.Encryptor([age.Identity.generate().recipient])
    written = len(encryptor.update(b""))
    fed = 0
    piece = os.urandom(1024 * 1024)
    for _ in range(16):  # 16 MiB through in 1 MiB pieces
        written += len(encryptor.update(piece))
        fed += len(piece)
        held = fed - (written - encryptor.header_size - age.NONCE) * age.CHUNK // (age.CHUNK + age.TAG)
        assert 0 <= held <= age.CHUNK
    written += len(encryptor.finish())
    assert written == age.ciphertext_size(fed, encryptor.header_size)


def test_keys_refuse_malformed_text():
    for bad in ["age1qqqq", "AGE-SECRET-KEY-1" + "Q" * 58, "age1" + "x" * 58, "Age1abc", ""]:
        with pytest.raises(age.AgeError):
            age.Recipient.parse(bad) if bad.lower().startswith("age1") or not bad else age.Identity.parse(bad)
    assert "AGE-SECRET" not in repr(age.Identity.generate())
