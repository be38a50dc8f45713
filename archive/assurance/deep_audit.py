"""Deep audits of sealed copies: decrypt each one and check the plaintext's SHA-256 and size against the blob's,
in one pass. The scheduled fixity audit proves the ciphertext without a key; this less frequent check proves
that the ciphertext still opens with the archive's key and holds the preserved bytes. Each decryption is
recorded (the event's `decrypted`: key id, why)."""

import hashlib
import logging
from datetime import timedelta

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from archive.alerts import alert_raise
from archive.assurance.fixity import replica_repair
from archive.events import event_record
from archive.exceptions import KeyUnavailable, TransientStorageError
from archive.models import EventOutcome, EventType, Replica
from archive.preservation import blobs_released, models_refresh_for_blobs
from archive.sealing.age import AgeError
from archive.sealing.keys import identity_load
from archive.sealing.stream import open_plaintext
from archive.storage.locations import backend_for

logger = logging.getLogger(__name__)


def replicas_deep_due(*, now=None) -> QuerySet[Replica]:
    """Sealed copies not deep-audited within CODA_DEEP_AUDIT_INTERVAL_DAYS, never audited first."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.CODA_DEEP_AUDIT_INTERVAL_DAYS)
    return (
        Replica.objects.filter(sealed_with__isnull=False, state=Replica.State.VERIFIED)
        .filter(Q(deep_verified_at__isnull=True) | Q(deep_verified_at__lt=cutoff))
        .exclude(blob__in=blobs_released())
        .order_by("deep_verified_at", "pk")
    )


def replica_deep_check(replica: Replica, *, agent: str) -> str:
    """'ok', 'corrupt' (does not open, or opens to other bytes), 'missing' or 'unavailable' (storage or key)."""
    blob = replica.blob
    backend = backend_for(replica.location)
    decrypted = {"key_id": replica.sealed_with.key_id, "why": "deep audit"}
    digest, size, error = hashlib.sha256(), 0, ""
    try:
        chunks = open_plaintext(lambda first, last: backend.open(replica.key, start=first, end=last,
                                                                     version_id=replica.version_id),
                                identities=[identity_load(replica.sealed_with)], header_size=replica.age_header_size,
                                plaintext_size=blob.size)
        for chunk in chunks:
            digest.update(chunk)
            size += len(chunk)
    except FileNotFoundError:
        outcome = "missing"
    except (KeyUnavailable, TransientStorageError) as exc:
        event_record(event_type=EventType.FIXITY, outcome=EventOutcome.WARNING, agent=agent, blob=blob,
                     location=replica.location, detail={"audit": "deep (decrypted)", "error": str(exc)})
        return "unavailable"
    except AgeError as exc:
        outcome, error = "corrupt", str(exc)
    else:
        outcome = "ok" if (digest.hexdigest() == blob.sha256 and size == blob.size) else "corrupt"
    if outcome == "ok":
        Replica.objects.filter(pk=replica.pk).update(deep_verified_at=timezone.now())
    else:
        Replica.objects.filter(pk=replica.pk).update(
            state=Replica.State.MISSING if outcome == "missing" else Replica.State.CORRUPT)
    event_record(
        event_type=EventType.FIXITY, outcome=EventOutcome.SUCCESS if outcome == "ok" else EventOutcome.FAILURE,
        agent=agent, blob=blob, location=replica.location,
        detail={"audit": "deep (decrypted)", "expected": blob.sha256, "expected_size": blob.size,
                "found": digest.hexdigest() if outcome != "missing" else None, "found_size": size, "result": outcome,
                "key": replica.key, "decrypted": decrypted, **({"error": error} if error else {})},
    )
    return outcome


def deep_audit(replicas: QuerySet[Replica], *, agent: str) -> dict:
    """Deep-check each sealed copy; a bad one is alerted on and repaired from a good copy (as any corruption)."""
    report = {"checked": 0, "ok": 0, "corrupt": 0, "missing": 0, "unavailable": 0, "repaired": 0}
    touched = set()
    for replica in replicas.select_related("blob", "location", "sealed_with"):
        outcome = replica_deep_check(replica, agent=agent)
        report["checked"] += 1
        report[outcome] += 1
        touched.add(replica.blob_id)
        if outcome in ("corrupt", "missing"):
            alert_raise(kind=f"replica {outcome}", message=f"Sealed copy of sha256:{replica.blob.sha256} at "
                        f"{replica.location.name} is {outcome} (deep audit).", sha256=replica.blob.sha256,
                        location=replica.location.name)
            replica.refresh_from_db()
            report["repaired"] += int(replica_repair(replica, agent=agent))
    models_refresh_for_blobs(touched)
    return report


def deep_audit_due(*, agent: str) -> dict:
    """The scheduled deep audit: the next CODA_DEEP_AUDIT_BATCH sealed copies that are due."""
    ids = list(replicas_deep_due().values_list("pk", flat=True)[: settings.CODA_DEEP_AUDIT_BATCH])
    return deep_audit(Replica.objects.filter(pk__in=ids), agent=agent)
