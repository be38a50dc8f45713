"""Re-sealing: when a snapshot's files must now be sealed (its access became more restrictive, or
CODA_ENCRYPT_AT_REST now names its level), each plaintext copy of them is read once, sealed in the same pass
and stored as a new object; the new copy replaces the old one only once the plaintext read hashed to the blob's
digest and the ciphertext was proven stored. The plaintext object is then deleted, or reported as kept when
storage refuses (retention)."""

import logging

from django.db import transaction
from django.utils import timezone

from archive.events import event_record
from archive.exceptions import ChecksumMismatch, SizeMismatch, TransientStorageError
from archive.models import Blob, EventOutcome, EventType, Replica, Snapshot
from archive.sealing.keys import recipients_for_sealing
from archive.sealing.policy import sealing_required_q
from archive.sealing.stream import SealingReader
from archive.storage.locations import backend_for
from archive.storage.streaming import HashingReader

logger = logging.getLogger(__name__)


def replicas_to_reseal():
    """Verified plaintext copies of blobs that a sealed snapshot now needs sealed."""
    condition = sealing_required_q()
    if condition is None:
        return Replica.objects.none()
    snapshots = Snapshot.objects.filter(condition, state=Snapshot.State.SEALED, bytes_deleted_at__isnull=True)
    blobs = Blob.objects.filter(snapshot_files__snapshot__in=snapshots).values("pk")
    return Replica.objects.filter(blob__in=blobs, sealed_with__isnull=True, state=Replica.State.VERIFIED)


def replica_reseal(replica: Replica, *, agent: str, key_row, recipients) -> bool:
    """Seal one plaintext copy in place (a new object at the same location); True once replaced."""
    blob, location = replica.blob, replica.location
    backend = backend_for(location)
    stream = backend.open(replica.key, version_id=replica.version_id)
    plain = HashingReader(stream)

    def plaintext_matches():
        if plain.bytes_read != blob.size or plain.hexdigest() != blob.sha256:
            raise ChecksumMismatch(f"The plaintext copy hashes to {plain.hexdigest()} ({plain.bytes_read} bytes), "
                                   f"expected {blob.sha256} ({blob.size} bytes).")

    try:
        sealer = SealingReader(plain, recipients, plaintext_size=blob.size)
        result = backend.store(HashingReader(sealer), size=sealer.size, is_stored=lambda sha256: None,
                               before_commit=plaintext_matches)
    except (ChecksumMismatch, SizeMismatch) as exc:
        Replica.objects.filter(pk=replica.pk).update(state=Replica.State.CORRUPT)
        event_record(event_type=EventType.FIXITY, outcome=EventOutcome.FAILURE, agent=agent, blob=blob,
                     location=location, detail={"expected": blob.sha256, "during": "encryption", "error": str(exc)})
        return False
    finally:
        stream.close()
    old_key, old_version = replica.key, replica.version_id
    with transaction.atomic():
        Replica.objects.filter(pk=replica.pk).update(
            key=result.key, version_id=result.version_id, retain_until=result.retain_until, sealed_with=key_row, ciphertext_sha256=result.sha256, ciphertext_size=result.size,
            age_header_size=sealer.header_size, sealed_recipients=[str(r) for r in recipients],
            last_verified_at=timezone.now(),
            verification=f"{result.verification} (of the ciphertext)",
        )
        event_record(event_type=EventType.ENCRYPTION, outcome=EventOutcome.SUCCESS, agent=agent, blob=blob,
                     location=location,
                     detail={"format": "age-encryption.org/v1", "key_id": key_row.key_id, "recipients": len(recipients),
                             "from_key": old_key, "key": result.key, "plaintext_sha256": blob.sha256,
                             "ciphertext_sha256": result.sha256, "ciphertext_size": result.size})
    try:
        backend.delete(old_key, version_id=old_version)
    except Exception as exc:  # retention (Object Lock) or an outage: the plaintext copy stays, and we say so
        event_record(event_type=EventType.DELETION, outcome=EventOutcome.WARNING, agent=agent, blob=blob,
                     location=location, detail={"key": old_key, "kept": True, "error": str(exc),
                                                "reason": "plaintext copy re-sealed; storage refused its deletion"})
        return True
    event_record(event_type=EventType.DELETION, outcome=EventOutcome.SUCCESS, agent=agent, blob=blob,
                 location=location, detail={"key": old_key, "reason": "plaintext copy re-sealed"})
    return True


def reseal_pending(*, agent: str, limit: int = 100) -> dict:
    """Re-seal up to `limit` plaintext copies that must now be sealed."""
    replicas = list(replicas_to_reseal().select_related("blob", "location")[:limit])
    report = {"pending": len(replicas), "resealed": 0, "failed": 0}
    if not replicas:
        return report
    key_row, recipients = recipients_for_sealing()
    for replica in replicas:
        try:
            report["resealed" if replica_reseal(replica, agent=agent, key_row=key_row, recipients=recipients)
                   else "failed"] += 1
        except (TransientStorageError, FileNotFoundError) as exc:
            report["failed"] += 1
            event_record(event_type=EventType.ENCRYPTION, outcome=EventOutcome.FAILURE, agent=agent,
                         blob=replica.blob, location=replica.location, detail={"error": str(exc), "retry": True})
    return report
