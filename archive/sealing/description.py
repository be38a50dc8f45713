"""encryption.json: how to open a set of sealed files without Coda, written beside them where they leave the
archive's database (the OCFL mirror's objects, bags for other archives). A data format that outlives the
software: its own module, plain JSON, every field explained by its name and `how_to_decrypt`."""

import json

from archive.models import Replica
from archive.sealing.age import Recipient
from archive.sealing.keys import key_id_for

NAME = "encryption.json"
SUFFIX = ".age"
FORMAT = "age-encryption.org/v1"


def sealed_path(path: str) -> str:
    return path + SUFFIX


def sealed_copies_of(files: list) -> dict:
    """blob id -> a verified sealed copy, for the files (SnapshotFile rows) whose content is kept sealed."""
    replicas = Replica.objects.filter(blob__in=[f.blob_id for f in files], sealed_with__isnull=False,
                                      state=Replica.State.VERIFIED).select_related("sealed_with", "location", "blob")
    return {r.blob_id: r for r in replicas}


def file_entry(*, path: str, blob, replica) -> dict:
    """What encryption_json needs of one sealed file: its plaintext identity and the sealed copy's facts."""
    return {"path": path, "sha256": blob.sha256, "size": blob.size,
            "ciphertext_sha256": replica.ciphertext_sha256, "ciphertext_size": replica.ciphertext_size,
            "header_size": replica.age_header_size, "archive_key_id": replica.sealed_with.key_id,
            "recipients": replica.sealed_recipients}


def encryption_json(files: list[dict]) -> bytes:
    """`files`: {path, sha256, size, ciphertext_sha256, ciphertext_size, header_size, archive_key_id, recipients}
    for each sealed file. Recipients are listed once with their key ids; each file names those it opens for."""
    recipients: dict[str, dict] = {}
    entries = []
    for f in sorted(files, key=lambda f: f["path"].encode("utf-8")):
        for text in f["recipients"]:
            key_id = key_id_for(Recipient.parse(text))
            role = "archive" if key_id == f["archive_key_id"] else "custodian"
            recipients.setdefault(key_id, {"key_id": key_id, "recipient": text, "role": role})
        entries.append({
            "path": f["path"], "sealed_path": sealed_path(f["path"]),
            "sha256": f["sha256"], "size": f["size"],
            "ciphertext_sha256": f["ciphertext_sha256"], "ciphertext_size": f["ciphertext_size"],
            "header_size": f["header_size"], "archive_key_id": f["archive_key_id"],
            "recipient_key_ids": [key_id_for(Recipient.parse(text)) for text in f["recipients"]],
        })
    document = {
        "format": FORMAT,
        "how_to_decrypt": "age -d -i IDENTITY_FILE -o PATH SEALED_PATH, with the identity of any recipient listed "
                          "for the file (https://age-encryption.org); then sha256sum PATH equals its sha256.",
        "recipients": sorted(recipients.values(), key=lambda r: (r["role"], r["key_id"])),
        "files": entries,
    }
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def encryption_parse(data: bytes) -> dict:
    """The document back, checked for the fields a reader needs (ValueError otherwise)."""
    document = json.loads(data)
    if document.get("format") != FORMAT or not isinstance(document.get("files"), list):
        raise ValueError("not an encryption.json of age-sealed files")
    for entry in document["files"]:
        if not {"path", "sealed_path", "sha256", "size", "ciphertext_sha256"} <= set(entry):
            raise ValueError(f"encryption.json entry lacks fields: {entry!r}")
    return document
