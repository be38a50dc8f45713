"""BagIt 1.0 (RFC 8493) for sealed snapshots: export as a tar streamed from storage (tarfile in stream mode,
each stored file read once through the streaming primitive and checked against its recorded SHA-256). Import is archive.bags.imports."""

import hashlib
import io
import math
import queue
import tarfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from django.conf import settings
from django.utils import timezone

from archive import selectors
from archive.delivery import downloads as delivery
from archive.descriptions import rocrate, signing
from archive.descriptions.facts import snapshot_facts
from archive.exceptions import ChecksumMismatch, SizeMismatch
from archive.models import Replica, Snapshot, SnapshotFile
from archive.sealing import description as sealing
from archive.storage.streaming import HashingReader
from core.exceptions import DomainError
from core.text import clean_text
from core.units import size_label

BAGIT_TXT = b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
TAR_FORMAT = tarfile.PAX_FORMAT  # long and non-ASCII paths, exactly
TAR_ENCODING = "utf-8"
PIPE_DEPTH = 4  # chunks buffered between the tar writer thread and the HTTP response


class BagInvalid(DomainError):
    code = "bag_invalid"


@dataclass
class BagMember:
    """One payload file: where it goes in the tar and which stored copy feeds it."""

    row: SnapshotFile
    replica: Replica
    tar_name: str
    size: int
    sha256: str
    sealed: bool = False  # the stored ciphertext, as `data/<path>.age` (a bag for other archives)


@dataclass
class BagPlan:
    """Everything needed to write the bag, decided before the first byte is sent (exact size included)."""

    name: str
    snapshot: Snapshot
    tag_files: list[tuple[str, bytes]]
    members: list[BagMember]
    mtime: int
    tar_size: int = field(default=0)


# --- planning --------------------------------------------------------------------------------


def manifest_path(path: str) -> str:
    """RFC 8493 §2.1.3: CR, LF and % in a manifest path are percent-encoded (paths here have no CR/LF)."""
    return "data/" + path.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _tag_value(value) -> str:
    return " ".join(clean_text(str(value)).split())  # one line per tag: no line break can start a tag of its own


def bag_info(*, snapshot: Snapshot, files: list[dict], today, show_replacement: bool = True) -> list[tuple[str, str]]:
    """bag-info.txt: the reserved tags, then Coda's description of the model's lifecycle and retirement
    (the replacement only when the bag's reader may see it: `show_replacement`)."""
    model = snapshot.model
    octets = sum(f["size"] for f in files)
    tags = [
        ("Source-Organization", settings.CODA_BAG_SOURCE_ORGANIZATION),
        ("External-Identifier", f"{model.repo_id}@{snapshot.revision}"),
        ("External-Description", f"Snapshot {snapshot.revision} of {model.repo_id}, preserved by Coda."),
        ("Bagging-Date", today.isoformat()),
        ("Payload-Oxum", f"{octets}.{len(files)}"),
        ("Bag-Size", size_label(octets)),
        ("Bag-Software-Agent", "Coda (archive.bags)"),
        ("Coda-Model-Id", model.repo_id),
        ("Coda-Revision", snapshot.revision),
        ("Coda-Revision-Recipe", "sha256 over 'path<TAB>size<TAB>sha256<LF>' lines sorted by UTF-8 path; first 40 hex"),
        ("Coda-Sealed-At", snapshot.sealed_at.isoformat()),
        ("Coda-Lifecycle-Status", model.status),
        ("Coda-Deprecated-On", model.deprecated_on),
        ("Coda-Retires-On", model.retires_on),
        ("Coda-Replacement", model.replacement.repo_id if model.replacement_id and show_replacement else None),
    ]
    retirement = getattr(model, "retirement", None) if hasattr(model, "retirement") else None
    if retirement is not None:
        tags += [
            ("Coda-Retirement-Reason-Category", retirement.reason_category),
            ("Coda-Retirement-Reason", retirement.reason),
            ("Coda-Access-After-Retirement", retirement.access_after_retirement),
            ("Coda-Access-Note", retirement.access_note),
            ("Coda-Preservation-Statement", retirement.preservation_statement),
            ("Coda-Preserved-Until", retirement.preserved_until),
            ("Coda-Preserved-For-Lifetime", "yes" if retirement.preserved_for_lifetime else None),
        ]
    return [(label, _tag_value(value)) for label, value in tags if value not in (None, "")]


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _tarinfo(name: str, size: int, mtime: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = size, mtime, 0o644
    info.uname = info.gname = ""
    return info


def bag_plan(snapshot: Snapshot, *, today=None, show_replacement: bool = True, keep_sealed: bool = False) -> BagPlan:
    """Tag files (bagit.txt, bag-info.txt, the manifests, ro-crate-metadata.json, model.sig when signed), payload
    members with a verified stored copy each, and the exact tar size. An HTTP door passes
    `show_replacement` from catalogue.permissions.visible_replacement for its reader.

    `keep_sealed` (a bag for another archive, `manage.py export_bag`): a file whose content Coda keeps sealed goes
    into the bag as its stored age ciphertext, `data/<path>.age`, read from a sealed copy without any key, and the
    tag file `encryption.json` says how to open it (the manifests list the bytes the bag holds; model.sig and the
    RO-Crate describe the files once decrypted). Otherwise every file is delivered as plaintext."""
    files = selectors.manifest_files(snapshot)  # sealed only; the archive's recorded digests
    model = snapshot.model
    name = f"{model.provider.slug}_{model.name}_{snapshot.revision}"
    rows = {row.path: row for row in snapshot.files.select_related("blob", "snapshot__model")}
    sealed = sealing.sealed_copies_of(list(rows.values())) if keep_sealed else {}
    payload = [
        {"path": sealing.sealed_path(f["path"]), "size": copy.ciphertext_size, "sha256": copy.ciphertext_sha256}
        if (copy := sealed.get(rows[f["path"]].blob_id)) else f
        for f in files
    ]
    if len({p["path"] for p in payload}) != len(payload):
        raise BagInvalid("A sealed file's name with .age added is the name of another file of the snapshot: "
                         "export it with its files decrypted.")
    manifest = "".join(f"{p['sha256']}  {manifest_path(p['path'])}\n" for p in payload).encode()
    info = "".join(f"{label}: {value}\n" for label, value in bag_info(
        snapshot=snapshot, files=payload, today=today or timezone.localdate(), show_replacement=show_replacement
    )).encode()
    tags = [("bagit.txt", BAGIT_TXT), ("bag-info.txt", info), ("manifest-sha256.txt", manifest)]
    # Descriptions as tag files at the bag's root: the RO-Crate (its root is the bag, its files under data/) and
    # the model-signing signature, which verifies the extracted data/ directory.
    tags.append((rocrate.METADATA_NAME, rocrate.crate_json(snapshot_facts(snapshot), prefix="data/")))
    if snapshot.signature:
        tags.append((signing.SIGNATURE_NAME, snapshot.signature.encode("utf-8")))
    if sealed:
        tags.append((sealing.NAME, sealing.encryption_json([
            sealing.file_entry(path=f["path"], blob=rows[f["path"]].blob, replica=sealed[rows[f["path"]].blob_id])
            for f in files if rows[f["path"]].blob_id in sealed
        ])))
    tagmanifest = "".join(f"{_sha256(data)}  {path}\n" for path, data in tags).encode()
    tags.append(("tagmanifest-sha256.txt", tagmanifest))

    members = []
    for f, p in zip(files, payload):
        row = rows[f["path"]]
        copy = sealed.get(row.blob_id)
        replica = copy if copy is not None else delivery.readable_replica(row.blob)
        members.append(BagMember(row, replica, f"{name}/data/{p['path']}", p["size"], p["sha256"], sealed=copy is not None))
    plan = BagPlan(name=name, snapshot=snapshot, tag_files=tags, members=members, mtime=int(snapshot.sealed_at.timestamp()))
    plan.tar_size = _tar_size(plan)
    return plan


def bag_probe(plan: BagPlan) -> None:
    """Reach the storage feeding the bag before the first byte is sent: the first member's stored copy at each
    location the bag reads from (TransientStorageError or StoredCopyUnavailable otherwise). One request per
    location, not per file: a bag of thousands of files starts at once, and an outage that begins later still
    shows as a body shorter than Content-Length."""
    probed = set()
    for member in plan.members:
        if member.replica.location_id not in probed:
            probed.add(member.replica.location_id)
            delivery.replica_probe(member.replica)


def _tar_size(plan: BagPlan) -> int:
    """What tarfile will write: a header (PAX records included) and 512-byte blocks per member, two zero
    blocks, padded to a whole record. Lets the HTTP answer carry Content-Length, so truncation is detectable."""
    entries = [(f"{plan.name}/{path}", len(data)) for path, data in plan.tag_files]
    entries += [(m.tar_name, m.size) for m in plan.members]
    total = 0
    for name, size in entries:
        total += len(_tarinfo(name, size, plan.mtime).tobuf(TAR_FORMAT, TAR_ENCODING, "surrogateescape"))
        total += math.ceil(size / tarfile.BLOCKSIZE) * tarfile.BLOCKSIZE
    total += 2 * tarfile.BLOCKSIZE
    return math.ceil(total / tarfile.RECORDSIZE) * tarfile.RECORDSIZE


# --- writing ---------------------------------------------------------------------------------


class _ChunkReader:
    """read(n) over an iterator of chunks, returning exactly n bytes until the end (as tarfile requires)."""

    def __init__(self, chunks: Iterator[bytes]):
        self.chunks, self.buffer = chunks, bytearray()

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self.buffer) < size:
            chunk = next(self.chunks, None)
            if chunk is None:
                break
            self.buffer += chunk
        size = len(self.buffer) if size < 0 else size
        data = bytes(self.buffer[:size])
        del self.buffer[:size]
        return data

    def close(self) -> None:
        self.chunks.close()


def bag_write(plan: BagPlan, fileobj, *, on_file_done: Callable[[BagMember], None] | None = None) -> None:
    """Write the bag as a tar to `fileobj` in stream mode: tag files first, then each payload file read once
    from storage and checked against the recorded SHA-256 and size (a mismatch aborts the bag)."""
    chunk = settings.CODA_CHUNK_SIZE
    with tarfile.open(
        fileobj=fileobj, mode="w|", format=TAR_FORMAT, encoding=TAR_ENCODING, bufsize=chunk, copybufsize=chunk
    ) as tar:
        for path, data in plan.tag_files:
            tar.addfile(_tarinfo(f"{plan.name}/{path}", len(data), plan.mtime), io.BytesIO(data))
        for member in plan.members:
            chunks = delivery.iter_stored(member.replica) if member.sealed else delivery.iter_blob(member.replica)
            source = _ChunkReader(chunks)
            reader = HashingReader(source)
            try:
                tar.addfile(_tarinfo(member.tar_name, member.size, plan.mtime), reader)
                extra = reader.read(1)
            except OSError as exc:
                if "unexpected end of data" in str(exc):
                    raise SizeMismatch(f"{member.row.path}: the stored copy is shorter than {member.size} bytes.") from None
                raise
            finally:
                source.close()
            if extra or reader.hexdigest() != member.sha256:
                raise ChecksumMismatch(
                    f"{member.row.path}: the stored copy at {member.replica.location.name} does not match its recorded "
                    f"sha256 {member.sha256}; the bag was not completed."
                )
            if on_file_done is not None:
                on_file_done(member)


class _Cancelled(Exception):
    pass


def bag_stream(plan: BagPlan, *, on_file_done: Callable[[BagMember], None] | None = None) -> Iterator[bytes]:
    """The tar as an iterator of chunks for a streaming HTTP answer. tarfile pushes bytes into a file object,
    so it runs in a thread writing into a small bounded queue (memory ≈ PIPE_DEPTH × CODA_CHUNK_SIZE).
    `on_file_done` runs in the caller's thread (it may use the database)."""
    pipe: queue.Queue = queue.Queue(maxsize=PIPE_DEPTH)
    cancelled = threading.Event()

    def put(item) -> None:
        while True:
            if cancelled.is_set():
                raise _Cancelled
            try:
                pipe.put(item, timeout=0.2)
                return
            except queue.Full:
                continue

    class Writer:
        def write(self, data) -> int:
            put(("data", bytes(data)))
            return len(data)

    def produce() -> None:
        try:
            bag_write(plan, Writer(), on_file_done=lambda member: put(("done", member)))
            put(("end", None))
        except _Cancelled:
            pass
        except BaseException as exc:  # handed to the consumer, which raises it
            try:
                put(("error", exc))
            except _Cancelled:
                pass

    def consume() -> Iterator[bytes]:
        worker = threading.Thread(target=produce, name=f"bag-{plan.name}", daemon=True)
        worker.start()
        try:
            while True:
                kind, value = pipe.get()
                if kind == "data":
                    yield value
                elif kind == "done":
                    if on_file_done is not None:
                        on_file_done(value)
                elif kind == "end":
                    return
                else:
                    raise value
        finally:
            cancelled.set()  # client gone or error: stop the writer
            worker.join(timeout=30)

    return consume()
