"""Leases on long work (one file's ingest, a replication, an audit): at most one worker does a piece of work at a
time, and work whose worker dies is resumed within minutes.

The holder's heartbeat thread renews the lease every CODA_HEARTBEAT_SECONDS. A lease whose last beat is older
than CODA_WORK_STALE_SECONDS belongs to nobody: the work-resume beat (`work_resume`) requeues its task, and the
next worker to take it first aborts the multipart uploads the dead holder left open (recorded on the lease as
they are opened). A holder that loses its lease (taken over, or cancelled by a curator) stops at its next read
and records nothing: `LeaseLost`. A redelivered copy of a task whose work is still beating steps aside."""

import logging
import threading
import time
import uuid
from contextlib import contextmanager
from datetime import timedelta

from celery import current_app
from django.conf import settings
from django.db import IntegrityError, connections, transaction
from django.utils import timezone

from archive.models import EventOutcome, EventType, Lease, StorageLocation
from archive.events import event_record
from archive.storage.locations import backend_for

logger = logging.getLogger(__name__)
ACTIVE = (Lease.State.QUEUED, Lease.State.RUNNING)


class LeaseLost(BaseException):
    """This worker no longer holds the work (taken over after missed heartbeats, or cancelled): stop and record
    nothing. A BaseException, like KeyboardInterrupt, so the `except Exception` around reads and storage calls
    cannot swallow it; multipart uploads are aborted on the way out (they catch BaseException)."""


def _cutoff():
    return timezone.now() - timedelta(seconds=settings.CODA_WORK_STALE_SECONDS)


class _Guarded:
    """A stream that stops with LeaseLost once the lease is gone (CODA_TEST_READ_DELAY slows it, for fault tests)."""

    def __init__(self, raw, holder: "Holder"):
        self.raw, self.holder = raw, holder

    def read(self, size: int = -1) -> bytes:
        self.holder.check()
        if settings.CODA_TEST_READ_DELAY:
            time.sleep(settings.CODA_TEST_READ_DELAY)
        return self.raw.read(size)

    def close(self) -> None:
        close = getattr(self.raw, "close", None)
        if close:
            close()


class Holder:
    """This worker's hold on a lease: guard streams with it, record uploads through it, confirm it before writing."""

    def __init__(self, lease: Lease):
        self.lease = lease
        self.token = lease.token
        self.lost = threading.Event()

    @property
    def started_at(self):
        """When this piece of work was first asked for (kept across takeovers)."""
        return self.lease.created_at

    def check(self) -> None:
        if self.lost.is_set():
            raise LeaseLost(f"{self.lease.name}: this worker no longer holds the work")

    def guard(self, stream):
        return _Guarded(stream, self)

    def beat(self) -> bool:
        """Renew the lease; False (and lost) when another worker or a curator has taken it."""
        held = Lease.objects.filter(pk=self.lease.pk, token=self.token, state=Lease.State.RUNNING).update(
            heartbeat_at=timezone.now()
        )
        if not held:
            self.lost.set()
        return bool(held)

    def confirm(self) -> None:
        """Inside the transaction that records the work's result: lock the lease, raise LeaseLost unless still held."""
        if not Lease.objects.select_for_update().filter(
            pk=self.lease.pk, token=self.token, state=Lease.State.RUNNING
        ).exists():
            self.lost.set()
            raise LeaseLost(f"{self.lease.name}: taken over or cancelled before the result was recorded")

    def upload_recorder(self, location: StorageLocation):
        """For Backend.store(on_upload=...): note each multipart upload as it opens, so a successor can abort it."""

        def record(key: str, upload_id: str) -> None:
            with transaction.atomic():
                lease = Lease.objects.select_for_update().filter(pk=self.lease.pk, token=self.token).first()
                if lease is None:
                    self.lost.set()
                    raise LeaseLost(f"{self.lease.name}: lost before the upload started")
                lease.uploads = [*lease.uploads, {"location": location.pk, "key": key, "upload_id": upload_id}]
                lease.save(update_fields=["uploads"])

        return record


def lease_acquire(*, name: str, task: str, args: list, agent: str, event_type: str = "", subject: dict | None = None
                  ) -> Holder | None:
    """Take the work called `name`: a new lease, a queued one, or one whose holder stopped beating. None while a
    live holder has it. Uploads a dead holder left open are aborted before this one starts."""
    now = timezone.now()
    token = uuid.uuid4().hex
    leftovers: list = []
    with transaction.atomic():
        lease = Lease.objects.select_for_update().filter(name=name, state__in=ACTIVE).first()
        if lease is None:
            try:
                with transaction.atomic():
                    lease = Lease.objects.create(
                        name=name, task=task, args=args, event_type=event_type, subject=subject or {},
                        state=Lease.State.RUNNING, token=token, holder=agent, attempts=1, claimed_at=now,
                        heartbeat_at=now,
                    )
            except IntegrityError:
                return None  # another worker created it a moment ago
            return Holder(lease)
        if lease.state == Lease.State.RUNNING and lease.heartbeat_at and lease.heartbeat_at > _cutoff():
            return None
        leftovers = lease.uploads
        lease.state, lease.token, lease.holder, lease.uploads = Lease.State.RUNNING, token, agent, []
        lease.attempts += 1
        lease.claimed_at = lease.heartbeat_at = now
        lease.save(update_fields=["state", "token", "holder", "uploads", "attempts", "claimed_at", "heartbeat_at"])
    uploads_abort(lease, leftovers, agent=agent)
    return Holder(lease)


def lease_release(holder: Holder) -> None:
    """The work is finished (done or failed for good): nobody holds it, nothing is left open."""
    Lease.objects.filter(pk=holder.lease.pk, token=holder.token).update(
        state=Lease.State.DONE, token="", finished_at=timezone.now(), uploads=[]
    )


def _beating(holder: Holder, stop: threading.Event) -> None:
    try:
        while not stop.wait(settings.CODA_HEARTBEAT_SECONDS):
            try:
                if not holder.beat():
                    return
            except Exception:  # a database blip: keep trying; a long outage lets the lease go stale
                logger.warning("heartbeat for %s failed", holder.lease.name, exc_info=True)
    finally:
        connections.close_all()


@contextmanager
def held(*, name: str, task: str, args: list, agent: str, event_type: str = "", subject: dict | None = None):
    """Hold the lease on `name` while the block runs, beating on a helper thread. Yields None (run nothing) while
    another worker holds it. LeaseLost inside the block ends it quietly: the work belongs to someone else now."""
    holder = lease_acquire(name=name, task=task, args=args, agent=agent, event_type=event_type, subject=subject)
    if holder is None:
        logger.info("%s is held by a live worker; this delivery steps aside", name)
        yield None
        return
    stop = threading.Event()
    beater = threading.Thread(target=_beating, args=(holder, stop), name=f"coda-lease-{holder.lease.pk}", daemon=True)
    beater.start()
    try:
        yield holder
    except LeaseLost as exc:
        logger.warning("stopped: %s", exc)
    except BaseException:
        lease_release(holder)
        raise
    else:
        lease_release(holder)
    finally:
        stop.set()
        beater.join()


def uploads_abort(lease: Lease, uploads: list, *, agent: str) -> int:
    """Abort multipart uploads an earlier holder of `lease` left open; each one aborted leaves a `deletion` event."""
    aborted = 0
    for entry in uploads:
        location = StorageLocation.objects.filter(pk=entry["location"]).first()
        if location is None or not backend_for(location).abort_upload(entry["key"], entry["upload_id"]):
            continue  # completed or already aborted
        event_record(event_type=EventType.DELETION, outcome=EventOutcome.SUCCESS, agent=agent, location=location,
                     detail={"incomplete_multipart_upload": entry["key"], "work": lease.name,
                             "reason": "left open by a worker that stopped"}, **lease.subject)
        aborted += 1
    return aborted


def lease_cancel(name: str, *, agent: str) -> Lease | None:
    """Take the work away from whoever holds it (a curator's cancel or retry); its holder stops at its next read or
    heartbeat and aborts its own upload on the way out. A silent holder's uploads are aborted here, once the
    caller's transaction commits (a live one's, should it die first, by the work-resume beat)."""
    lease = Lease.objects.select_for_update().filter(name=name, state__in=ACTIVE).first()
    if lease is None:
        return None
    silent = lease.heartbeat_at is None or lease.heartbeat_at <= _cutoff()
    uploads = lease.uploads if silent else []
    Lease.objects.filter(pk=lease.pk).update(
        state=Lease.State.CANCELLED, token="", finished_at=timezone.now(), uploads=[] if silent else lease.uploads
    )
    if uploads:
        transaction.on_commit(lambda: uploads_abort(lease, uploads, agent=agent))
    return lease


def work_resume(*, agent: str) -> int:
    """The work-resume beat: requeue every piece of work whose holder stopped beating (a killed or lost worker),
    with an event saying so, and abort the uploads it left open."""
    resumed = 0
    for lease in Lease.objects.filter(state=Lease.State.RUNNING, heartbeat_at__lt=_cutoff()):
        now = timezone.now()
        with transaction.atomic():
            taken = Lease.objects.filter(pk=lease.pk, token=lease.token, state=Lease.State.RUNNING).update(
                state=Lease.State.QUEUED, token="", holder="", uploads=[], heartbeat_at=now
            )
            if not taken:
                continue
            event_record(
                event_type=lease.event_type or EventType.INGESTION, outcome=EventOutcome.WARNING, agent=agent,
                detail={"work": lease.name, "resumed": True, "attempt": lease.attempts, "holder": lease.holder,
                        "last_heartbeat": lease.heartbeat_at.isoformat(),
                        "reason": f"no heartbeat for over {settings.CODA_WORK_STALE_SECONDS:g} s; queued again"},
                **lease.subject,
            )
            transaction.on_commit(lambda lease=lease: current_app.send_task(lease.task, args=lease.args))
        uploads_abort(lease, lease.uploads, agent=agent)
        logger.warning("%s: worker %s stopped beating; queued again", lease.name, lease.holder)
        resumed += 1
    # Cancelled while its worker was alive, and that worker died before aborting its own upload.
    for lease in Lease.objects.filter(state=Lease.State.CANCELLED, heartbeat_at__lt=_cutoff()).exclude(uploads=[]):
        if Lease.objects.filter(pk=lease.pk, uploads=lease.uploads).update(uploads=[]):
            uploads_abort(lease, lease.uploads, agent=agent)
    return resumed


def last_heartbeat(names: list[str]):
    """The newest heartbeat among the active leases called `names` (None when none is active)."""
    beats = Lease.objects.filter(name__in=names, state__in=ACTIVE).exclude(heartbeat_at=None)
    return beats.order_by("-heartbeat_at").values_list("heartbeat_at", flat=True).first()
