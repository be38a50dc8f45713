"""The log's writes and its full check against real PostgreSQL: a leaf is recorded in the event's transaction (a
rolled-back one leaves neither), indexes are gap-free under concurrent writers, checkpoints are signed only when
the tree grew, land on every storage location (filesystem, S3 over HTTP, the OCFL mirror, valid for ocfl-validate),
and any event row edited, deleted or reordered in the database is found, naming the first bad leaf."""

import threading

import pytest
from django.db import connection, transaction

from archive.log import leaves, notes, selectors, services, tree
from archive.models import LogCheckpoint, LogHead, LogLeaf, PreservationEvent
from archive.storage import ocfl
from core.events import EventOutcome, EventType, event_record
from tests.archive.storage.test_ocfl import ocfl_validate
from tests.factories import AIModelFactory


def record(n: int = 1, **extra) -> list[PreservationEvent]:
    return [event_record(event_type=EventType.FIXITY, outcome=EventOutcome.SUCCESS, agent="worker:test",
                         detail={"n": i, "ratio": 0.5, "note": "caf\u00e9"}, **extra) for i in range(n)]


def test_leaf_recorded_with_its_event_and_rolled_back_with_it(db):
    with pytest.raises(RuntimeError):
        with transaction.atomic():
            (event,) = record()
            assert LogLeaf.objects.filter(event_id=event.pk).exists()
            raise RuntimeError("the recording transaction fails")
    assert not PreservationEvent.objects.exists() and not LogLeaf.objects.exists()
    (event,) = record()
    leaf = LogLeaf.objects.get(event_id=event.pk)
    event.refresh_from_db()  # the leaf was computed from what was recorded; re-read from the database it matches
    assert bytes(leaf.leaf_hash) == tree.leaf_hash(leaves.leaf_data(leaves.event_object(event)))
    assert services.log_sequence() == 1 and LogLeaf.objects.get(event_id=event.pk).index == 0


def test_leaf_data_is_the_documented_canonical_json(db):
    model = AIModelFactory()
    (event,) = record(model=model)
    data = leaves.leaf_data(leaves.event_object(PreservationEvent.objects.get(pk=event.pk)))
    expected = ('{"agent":"worker:test","blob":null,"created_at":"%s","detail":{"n":0,"note":"caf\u00e9","ratio":0.5},'
                '"id":%d,"job":null,"location":null,"model":%d,"outcome":"success","snapshot":null,'
                '"snapshot_file":null,"type":"fixity check","v":1}'
                % (event.created_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), event.pk, model.pk))
    assert data == expected.encode("utf-8")


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_and_sequencers_give_gap_free_indexes():
    if connection.vendor != "postgresql":
        pytest.skip("concurrency needs PostgreSQL")
    errors, writing = [], threading.Event()
    writing.set()

    def writer():
        try:
            for _ in range(25):
                with transaction.atomic():
                    record(2)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    def sequencer():  # numbering while the writers commit, two at once
        try:
            while writing.is_set():
                services.log_sequence()
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    writers = [threading.Thread(target=writer) for _ in range(6)]
    sequencers = [threading.Thread(target=sequencer) for _ in range(2)]
    for t in writers + sequencers:
        t.start()
    for t in writers:
        t.join()
    writing.clear()
    for t in sequencers:
        t.join()
    assert not errors
    services.log_sequence()  # what committed after the sequencers' last pass
    indexes = sorted(LogLeaf.objects.values_list("index", flat=True))
    assert indexes == list(range(300)) and LogHead.objects.get().size == 300
    assert set(LogLeaf.objects.values_list("event_id", flat=True)) == set(PreservationEvent.objects.values_list("pk", flat=True))
    assert selectors.log_check().ok


@pytest.mark.django_db(transaction=True)
def test_checkpoint_signed_when_grown_and_written_to_every_location(signing_key, settings, tmp_path, s3_location):
    settings.CODA_STORAGE_LOCATIONS = settings.CODA_STORAGE_LOCATIONS + [
        {"name": "local", "kind": "filesystem", "root": str(tmp_path / "storage")},
        {"name": "ocfl", "kind": "ocfl", "root": str(tmp_path / "ocfl")},
    ]
    record(5)
    first = services.checkpoint_sign(agent="worker:test")
    assert first.size == 5 and bytes(first.root_hash) == tree.root(selectors.leaf_hashes(5))
    assert notes.verify(first.note, name=settings.CODA_LOG_ORIGIN, public_key=signing_key.public_key()).size == 5
    # Its own signature event is the only newer leaf: nothing to sign until something else happens.
    signature_event = PreservationEvent.objects.get(pk=first.event_id)
    assert signature_event.event_type == EventType.SIGNATURE and signature_event.detail["log_size"] == 5
    assert sorted(signature_event.detail["written_to"]) == ["local", "ocfl", "s3main"]
    assert services.checkpoint_sign(agent="worker:test") is None
    record(1)
    second = services.checkpoint_sign(agent="worker:test")
    assert second.size == 7 and LogCheckpoint.objects.count() == 2
    # On each location, beside the objects: the S3 bucket over HTTP, the filesystem, and the OCFL mirror.
    body = s3_location.get_object(Bucket=s3_location.bucket, Key="archive/log/checkpoints/7")["Body"].read()
    assert body.decode() == second.note
    assert (tmp_path / "storage" / "log" / "checkpoints" / "5").read_text() == first.note
    identifier = f"{services.OCFL_ID_PREFIX}7"
    assert (tmp_path / "ocfl" / ocfl.object_root(identifier) / "v1" / "content" / "checkpoint").read_text() == second.note
    valid, out = ocfl_validate(tmp_path / "ocfl")
    assert valid, out
    assert out.count("is VALID") == 2


def _tamper(sql: str, *params):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


@pytest.mark.parametrize("how", ["edit", "delete", "reorder"])
def test_event_rows_changed_in_the_database_name_the_first_bad_leaf(db, how):
    events = record(6)
    services.log_sequence()
    assert selectors.log_check().ok
    table = PreservationEvent._meta.db_table
    if how == "edit":
        _tamper(f"UPDATE {table} SET outcome = 'failure' WHERE id = %s", events[3].pk)
        bad = 3
    elif how == "delete":
        _tamper(f"DELETE FROM {table} WHERE id = %s", events[2].pk)
        bad = 2
    else:  # two events swap places: each row now holds the other's recorded time
        _tamper(f"UPDATE {table} SET created_at = CASE id WHEN %s THEN %s ELSE %s END WHERE id IN (%s, %s)",
                events[1].pk, events[4].created_at, events[1].created_at, events[1].pk, events[4].pk)
        bad = 1
    report = selectors.log_check()
    assert not report.ok and report.first_bad_leaf == bad and f"leaf {bad}:" in report.problem


def test_rewritten_leaf_table_refuses_to_sign_and_fails_the_check(db, signing_key):
    events = record(4)
    checkpoint = services.checkpoint_sign(agent="worker:test")
    # A thorough forger edits an event and recomputes its leaf hash: every leaf matches its event again ...
    _tamper(f"UPDATE {PreservationEvent._meta.db_table} SET agent = 'user:forger' WHERE id = %s", events[0].pk)
    forged = tree.leaf_hash(leaves.leaf_data(leaves.event_object(PreservationEvent.objects.get(pk=events[0].pk))))
    LogLeaf.objects.filter(event_id=events[0].pk).update(leaf_hash=forged)
    # ... but not the signed checkpoint: the check says so, and the next checkpoint is refused.
    report = selectors.log_check()
    assert not report.ok and "checkpoint of 4" in report.problem
    record(1)
    assert services.checkpoint_sign(agent="worker:test") is None
    failure = PreservationEvent.objects.filter(event_type=EventType.VALIDATION).get()
    assert failure.outcome == EventOutcome.FAILURE and "rewritten" in failure.detail["error"]
    assert LogCheckpoint.objects.get() == checkpoint


def test_backfill_adds_leaves_for_events_recorded_with_the_log_off(db, settings):
    record(2)
    settings.CODA_EVENT_LOG = False
    record(3)
    settings.CODA_EVENT_LOG = True
    assert LogLeaf.objects.count() == 2
    assert services.log_backfill() == 3
    assert LogHead.objects.get().size == 5 and selectors.log_check().ok
