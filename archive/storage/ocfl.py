"""OCFL 1.1 mirror locations: a filesystem root laid out as an OCFL storage root, readable by any OCFL tool without
Coda. Storage layout extension 0003 (hashed n-tuple with the object id encapsulated: ids contain '/').

One OCFL object per sealed snapshot, with one version (v1): a snapshot is immutable, so its object never grows a
second version; a model's later snapshot (a dossier-only one, say) is a sibling object and can never make the
weights look deleted, and no two replications ever write the same object. The object id is
'coda:<provider>/<name>@<revision>'. Content paths are the logical paths (v1/content/<path>); two files with the same
bytes in a snapshot are one content file. Digests are SHA-256 (what Coda records), with MD5 in the fixity block."""

import hashlib
import json
import os
import uuid

from archive.exceptions import InvalidSource
from archive.storage.filesystem import VERIFICATION, FilesystemBackend, _fsync_dir
from archive.storage.base import StoreResult

SPEC = "1.1"
INVENTORY_TYPE = "https://ocfl.io/1.1/spec/#inventory"
LAYOUT = "0003-hash-and-id-n-tuple-storage-layout"
LAYOUT_CONFIG = {"extensionName": LAYOUT, "digestAlgorithm": "sha256", "tupleSize": 3, "numberOfTuples": 3}
VERSION = "v1"
ID_SCHEME = "coda:"
_SAFE = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def object_id(repo_id: str, revision: str) -> str:
    """A URI (OCFL says ids SHOULD be): 'coda:<provider>/<name>@<revision>'."""
    return f"{ID_SCHEME}{repo_id}@{revision}"


def object_id_parse(identifier: str) -> tuple[str, str]:
    """(repo_id, revision) from an object id."""
    repo_id, _, revision = identifier.removeprefix(ID_SCHEME).rpartition("@")
    if not identifier.startswith(ID_SCHEME) or not repo_id or not revision:
        raise ValueError(f"{identifier!r} is not a Coda OCFL object id")
    return repo_id, revision


def object_root(identifier: str) -> str:
    """Extension 0003: three 3-character tuples of the id's SHA-256, then the id percent-encoded (lower-case hex),
    cut at 100 characters and followed by the digest when longer."""
    digest = hashlib.sha256(identifier.encode("utf-8")).hexdigest()
    encoded = "".join(c if c in _SAFE else "".join(f"%{b:02x}" for b in c.encode("utf-8")) for c in identifier)
    if len(encoded) > 100:
        encoded = f"{encoded[:100]}-{digest}"
    return f"{digest[0:3]}/{digest[3:6]}/{digest[6:9]}/{encoded}"


def content_path(path: str) -> str:
    """A file's content path inside its object (relative to the object root)."""
    return f"{VERSION}/content/{path}"


def content_key(identifier: str, path: str) -> str:
    return f"{object_root(identifier)}/{content_path(path)}"


def inventory_build(*, identifier: str, files: list[dict], created: str, message: str, user: dict) -> dict:
    """The inventory of a one-version object. `files`: {path, sha256, md5} each; content is stored once per digest,
    at the first path (by UTF-8 bytes) that has it."""
    manifest: dict[str, list[str]] = {}
    state: dict[str, list[str]] = {}
    fixity: dict[str, list[str]] = {}
    for entry in sorted(files, key=lambda f: f["path"].encode("utf-8")):
        state.setdefault(entry["sha256"], []).append(entry["path"])
        if entry["sha256"] not in manifest:
            manifest[entry["sha256"]] = [content_path(entry["path"])]
            if entry.get("md5"):
                fixity.setdefault(entry["md5"], []).append(content_path(entry["path"]))
    inventory = {
        "id": identifier,
        "type": INVENTORY_TYPE,
        "digestAlgorithm": "sha256",
        "head": VERSION,
        "contentDirectory": "content",
        "manifest": manifest,
        "versions": {VERSION: {"created": created, "message": message, "state": state, "user": user}},
    }
    if fixity:
        inventory["fixity"] = {"md5": fixity}
    return inventory


def inventory_bytes(inventory: dict) -> bytes:
    return (json.dumps(inventory, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def content_files(inventory: dict) -> list[tuple[str, str]]:
    """(logical path, content path) of every file in the head version's state."""
    content = {digest: paths[0] for digest, paths in inventory["manifest"].items()}
    state = inventory["versions"][inventory["head"]]["state"]
    return [(path, content[digest]) for digest, paths in state.items() for path in paths]


class OcflObjects:
    """The storage root and its objects, over any backend's put_bytes, size_of, list_keys and read_small: one
    implementation for the filesystem root (OcflBackend) and the S3 prefix (ocfl_s3.OcflS3Backend). Content files
    go through the backend's own store (streamed, hashed on the way)."""

    def read_small(self, key: str) -> bytes:
        """A small file of the root (inventory, sidecar, declaration); FileNotFoundError when absent."""
        raise NotImplementedError

    def root_declare(self) -> None:
        """The storage root's declaration, layout file and layout extension config (once)."""
        if self.size_of(f"0=ocfl_{SPEC}") is not None:
            return
        layout = {"extension": LAYOUT, "description": "Hashed Truncated N-tuple Trees with Object ID Encapsulating "
                                                      "Directory (OCFL extension 0003); ids are 'coda:<provider>/<name>@<revision>'"}
        self.put_bytes(f"extensions/{LAYOUT}/config.json", (json.dumps(LAYOUT_CONFIG, indent=2) + "\n").encode())
        self.put_bytes("ocfl_layout.json", (json.dumps(layout, indent=2) + "\n").encode())
        self.put_bytes(f"0=ocfl_{SPEC}", f"ocfl_{SPEC}\n".encode())

    def object_exists(self, identifier: str) -> bool:
        return self.size_of(f"{object_root(identifier)}/inventory.json") is not None

    def object_write(self, inventory: dict) -> None:
        """Declare the object and write its inventory (with sidecars) once every content file is in place: the
        version's copy first, the root copy last, so a root inventory means a complete object."""
        self.root_declare()
        base = object_root(inventory["id"])
        data = inventory_bytes(inventory)
        sidecar = f"{hashlib.sha256(data).hexdigest()} inventory.json\n".encode()
        for prefix in (f"{base}/{VERSION}/", f"{base}/"):
            if prefix == f"{base}/":
                self.put_bytes(f"{base}/0=ocfl_object_{SPEC}", f"ocfl_object_{SPEC}\n".encode())
            self.put_bytes(prefix + "inventory.json", data)
            self.put_bytes(prefix + "inventory.json.sha256", sidecar)

    def inventory_check(self, identifier: str) -> str | None:
        """None when the object's root inventory matches its sidecar and its version copy; else what is wrong."""
        base = object_root(identifier)
        try:
            data = self.read_small(f"{base}/inventory.json")
            sidecar = self.read_small(f"{base}/inventory.json.sha256").decode().split()[0]
            version_copy = self.read_small(f"{base}/{VERSION}/inventory.json")
        except (FileNotFoundError, IndexError, UnicodeDecodeError) as exc:
            return f"inventory of {identifier} unreadable: {exc}"
        if hashlib.sha256(data).hexdigest() != sidecar:
            return f"inventory of {identifier} does not match its sidecar digest"
        if data != version_copy:
            return f"inventory of {identifier} differs from its {VERSION} copy"
        return None

    def inventory_read(self, identifier: str) -> dict:
        return json.loads(self.read_small(f"{object_root(identifier)}/inventory.json"))

    def inventories(self):
        """(object root, parsed inventory) of every object under the storage root."""
        declaration = f"/0=ocfl_object_{SPEC}"
        for key in sorted(self.list_keys("")):
            if key.endswith(declaration):
                folder = key[: -len(declaration)]
                yield folder, json.loads(self.read_small(f"{folder}/inventory.json"))


class OcflBackend(OcflObjects, FilesystemBackend):
    """An OCFL 1.1 storage root on a filesystem. Blobs go only where the caller says (their content path in a
    snapshot's object); temporary files sit beside their final name, so nothing but objects appears in the tree."""

    def store(self, reader, *, size, is_stored, before_commit=lambda: None, key=None, on_upload=None) -> StoreResult:
        if key is None:
            raise InvalidSource("An OCFL location stores a blob only at a content path inside an object.")
        self.root_declare()
        final = self._path(key)
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = final.parent / f".tmp-{uuid.uuid4().hex}"
        try:
            self._write_checked(reader, tmp, size)
            before_commit()
            os.replace(tmp, final)
            _fsync_dir(final.parent)
        finally:
            tmp.unlink(missing_ok=True)
        return StoreResult(key, reader.hexdigest(), size, False, VERIFICATION)

    def read_small(self, key: str) -> bytes:
        return self._path(key).read_bytes()
