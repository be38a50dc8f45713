"""Tamper-evident log benchmark (issue 28 part 3), run by `make bench`: what the log costs ingest, and what signing
a checkpoint costs.

1. ingest_log_on_vs_off: Coda's ingest (archive.ingest.services.snapshot_ingest_start, then
   snapshot_file_ingest of every file, seal included) of one source of --files small files (64 KiB, so events,
   not bytes, dominate: two events per file plus the seal's) and one --big-mib file, to a filesystem location,
   timed in a fresh child process (its own SQLite database, or BENCH_DATABASE_URL, and the in-memory broker)
   after one warm-up ingest; CODA_EVENT_LOG=true (each event's leaf recorded in its transaction; numbered later, before
   each checkpoint) vs false. Interleaved, the order rotated, --repeat times; the ratio is of medians, goal: within noise.
2. event_record_ms_on / _off: the time to record one event (core.events.event_record, each in its own
   transaction as a worker records them), --events of them in one child process per setting, log on vs off: what
   the log adds to every event, whatever the ingest around it.
3. checkpoint_sign_seconds: archive.log.services.checkpoint_sign over a log of --leaves leaves (read every leaf
   hash, compute the root, sign, write to the location, record the event), once, in a child process.
Ends with one JSON line of the figures.

Usage: python benchmarks/event_log.py [--files 300] [--big-mib 64] [--repeat 5] [--events 2000] [--leaves 100000]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from harness import MIB, environment, filesystem_location, make_file  # noqa: E402

INGEST = r'''
import json, os, sys, time
sys.path.insert(0, os.environ["CODA_ROOT"])
import django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from archive.ingest import services
from archive.models import LogLeaf, PreservationEvent, Snapshot, SnapshotFile
from archive.tasks import snapshot_file_ingest, snapshot_replicate
from catalogue.models import AIModel, Provider

snapshot_file_ingest.delay = lambda file_id: None  # run in this process, timed
snapshot_replicate.delay = lambda snapshot_id: None
provider, _ = Provider.objects.get_or_create(slug="bench", defaults={"name": "bench"})

def ingest(source, name):
    job = services.snapshot_ingest_start(model=AIModel.objects.create(provider=provider, name=name), source=source)
    for row in SnapshotFile.objects.filter(snapshot=job.snapshot).order_by("pk"):
        services.snapshot_file_ingest(file_id=row.pk)
    return Snapshot.objects.get(pk=job.snapshot_id)

ingest(os.environ["BENCH_WARMUP"], f"warm-{time.time_ns()}")
start = time.perf_counter()
snapshot = ingest(os.environ["BENCH_SOURCE"], f"timed-{time.time_ns()}")
elapsed = time.perf_counter() - start
assert snapshot.state == "sealed", snapshot.state
print(json.dumps({"seconds": elapsed, "events": PreservationEvent.objects.count(), "leaves": LogLeaf.objects.count()}))
'''

RECORD = r'''
import json, os, sys, time
sys.path.insert(0, os.environ["CODA_ROOT"])
import django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from core.events import EventOutcome, EventType, event_record

n = int(os.environ["BENCH_EVENTS"])
for i in range(50):  # warm-up
    event_record(event_type=EventType.FIXITY, outcome=EventOutcome.SUCCESS, agent="worker:bench", detail={"n": i})
start = time.perf_counter()
for i in range(n):
    event_record(event_type=EventType.FIXITY, outcome=EventOutcome.SUCCESS, agent="worker:bench",
                 detail={"n": i, "sha256": "ab" * 32})
elapsed = time.perf_counter() - start
print(json.dumps({"ms_per_event": elapsed / n * 1000}))
'''

SIGN = r'''
import json, os, sys, time
sys.path.insert(0, os.environ["CODA_ROOT"])
import django
django.setup()
from pathlib import Path
from django.conf import settings
from django.core.management import call_command
call_command("migrate", verbosity=0)
from archive.descriptions import signing
from archive.log import services
from archive.models import LogHead, LogLeaf

signing.key_generate(Path(settings.CODA_SIGNING_KEY_FILE))
n = int(os.environ["BENCH_LEAVES"])
for lo in range(0, n, 10000):
    LogLeaf.objects.bulk_create([LogLeaf(event_id=10**9 + i, index=i, leaf_hash=os.urandom(32))
                                 for i in range(lo, min(n, lo + 10000))])
LogHead.objects.update_or_create(pk=1, defaults={"size": n})
start = time.perf_counter()
checkpoint = services.checkpoint_sign(agent="worker:bench")
elapsed = time.perf_counter() - start
assert checkpoint.size == n
print(json.dumps({"seconds": elapsed, "leaves": n}))
'''


def child(code: str, env: dict, **extra) -> dict:
    done = subprocess.run([sys.executable, "-c", code], env={**env, **extra}, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-3000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def coda_env(work: Path, staging: Path, log: bool) -> dict:
    env = environment(work, filesystem_location(work / "storage"), staging=staging, in_process=True)
    if os.environ.get("BENCH_DATABASE_URL"):
        env["DATABASE_URL"] = os.environ["BENCH_DATABASE_URL"]
    env.update(CODA_ROOT=str(ROOT), CODA_EVENT_LOG="true" if log else "false", CODA_OCFL_ROOT="",
               CODA_SIGNING_KEY_FILE=str(work / "signing" / "key.pem"))
    return env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=300)
    parser.add_argument("--big-mib", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--leaves", type=int, default=100_000)
    args = parser.parse_args()
    figures: dict = {}
    with tempfile.TemporaryDirectory(prefix="coda-bench-log-") as tmp:
        tmp = Path(tmp)
        staging = tmp / "staging"
        source, warmup = staging / "source", staging / "warmup"
        source.mkdir(parents=True)
        warmup.mkdir()
        for i in range(args.files):
            (source / f"shard-{i:04d}.json").write_bytes(os.urandom(64 * 1024))
        make_file(source / "model.safetensors", args.big_mib * MIB)
        (warmup / "config.json").write_bytes(os.urandom(1024))
        print(f"== 1. ingest of {args.files} x 64 KiB + {args.big_mib} MiB, CODA_EVENT_LOG on vs off ==", flush=True)
        times: dict = {"on": [], "off": []}
        for rep in range(args.repeat):
            for name in (["on", "off"] if rep % 2 == 0 else ["off", "on"]):
                work = tmp / f"{name}-{rep}"
                work.mkdir()
                result = child(INGEST, coda_env(work, staging, name == "on"), BENCH_SOURCE=str(source),
                               BENCH_WARMUP=str(warmup))
                assert (result["leaves"] == result["events"]) if name == "on" else result["leaves"] == 0, result
                times[name].append(result["seconds"])
                print(f"  {name}: {result['seconds']:.2f}s ({result['events']} events)", flush=True)
        for name, values in times.items():
            print(f"log {name}: median {statistics.median(values):.2f}s, best {min(values):.2f}s, "
                  f"spread {max(values) - min(values):.2f}s over {len(values)}")
        figures["ingest_log_on_vs_off"] = round(statistics.median(times["on"]) / statistics.median(times["off"]), 3)
        figures["ingest_log_on_vs_off_best"] = round(min(times["on"]) / min(times["off"]), 3)
        print(f"ingest, log on / off: {figures['ingest_log_on_vs_off']} (medians), "
              f"{figures['ingest_log_on_vs_off_best']} (best)")
        print(f"== 2. recording {args.events} events, one transaction each, log on vs off ==", flush=True)
        per_event: dict = {"on": [], "off": []}
        for rep in range(3):
            for name in (["on", "off"] if rep % 2 == 0 else ["off", "on"]):
                work = tmp / f"record-{name}-{rep}"
                work.mkdir()
                per_event[name].append(child(RECORD, coda_env(work, staging, name == "on"),
                                             BENCH_EVENTS=str(args.events))["ms_per_event"])
        for name, values in per_event.items():
            figures[f"event_record_ms_{name}"] = round(statistics.median(values), 3)
        print(f"one event: {figures['event_record_ms_on']} ms with the log, {figures['event_record_ms_off']} ms "
              f"without (medians of 3)")
        print(f"== 3. signing a checkpoint over {args.leaves} leaves ==", flush=True)
        work = tmp / "sign"
        work.mkdir()
        result = child(SIGN, coda_env(work, staging, True), BENCH_LEAVES=str(args.leaves))
        figures["checkpoint_sign_seconds"] = round(result["seconds"], 3)
        figures["checkpoint_sign_leaves"] = args.leaves
        print(f"checkpoint of {args.leaves} leaves signed in {result['seconds']:.2f}s")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
