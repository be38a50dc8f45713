"""Sharded models in parallel (issue 20 part 3), run by `make bench`.

Against a fresh moto_server, a real Celery worker (`celery -A config worker --concurrency 2`, prefork, as
`make worker` runs it on a 2-core machine) on the configured broker and a database both processes reach, in the
same run and interleaved:
  (a) single shard: a model of one SHARD_MIB file, ingested by the worker;
  (b) sharded: a model of SHARDS files of SHARD_MIB each, its per-file tasks spread over the worker's processes.
Throughput = bytes / the ingest job's own time (created_at → finished_at, both recorded in the database: the
job row is created by snapshot_ingest_start here, finished_at is set by the worker that seals it), so queueing,
the per-file tasks and the seal are inside, process start-up is not.
  shards_parallel_efficiency = aggregate (b) / (2 × single (a)); the goal is ≥ 0.8.
Each file's own interval (its lease's claimed_at → finished_at) shows whether two files really ran at the same
time (`max_files_at_once`) and on which worker process; the worker processes' CPU time and the moto_server's
are sampled per phase, with the machine's CPU utilisation, to show what bounds the figure.

The same two shapes are also run with the fast raw upload (benchmarks/ingest.py: one process for one shard,
two processes at once for the sharded model): `raw_parallel_efficiency` is what this machine and moto_server
allow two uploaders at all, the ceiling for Coda's figure here.

Peak RSS of each worker process (sampled from psutil every 50 ms, and VmHWM at the end) is reported for the
warm-up (small files), the single-shard run and the sharded run: it must stay flat.

Each repetition changes the files' first bytes, so no run is answered by an earlier one's blobs.

The broker and database come from CELERY_BROKER_URL / DATABASE_URL (as benchmarks/preserve.py: use Redis and
PostgreSQL; the SQLite default serialises the two workers' writes). Prints the figures, then one JSON line with
shards_parallel_efficiency and the raw figures.

--store filesystem runs the same against a directory on the local disk (the raw ceiling then is write + fsync
copies); --nodes 2 --concurrency 1 starts two worker nodes of one process each instead of one of two.

Usage: python benchmarks/shards.py [--shards 8] [--shard-mib 256] [--repeat 2] [--concurrency 2] [--nodes 1]
       [--store s3|filesystem] [--no-raw]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))

from harness import (  # noqa: E402
    MIB, MotoStore, empty_bucket, environment, filesystem_location, make_file, moto_store, s3_location, start_worker,
    vary,
)


class Sampler:
    """Peak RSS of each worker process, sampled on a thread; CPU seconds of the worker and moto per phase."""

    def __init__(self, workers: list[psutil.Process], moto: psutil.Process, interval: float = 0.05):
        self.workers, self.moto, self.interval = workers, moto, interval
        self.phase = "setup"
        self.peaks: dict[str, dict[int, int]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def children(self) -> list[psutil.Process]:
        return [child for worker in self.workers for child in worker.children()]

    def start(self):
        self._thread.start()

    def stop(self):
        self._stop.set()
        self._thread.join()

    def _run(self):
        while not self._stop.wait(self.interval):
            peaks = self.peaks.setdefault(self.phase, {})
            for child in self.children():
                try:
                    rss = child.memory_info().rss
                except psutil.Error:
                    continue
                peaks[child.pid] = max(peaks.get(child.pid, 0), rss)

    def cpu(self) -> dict:
        """CPU seconds so far: each worker child, the worker's main process, moto_server."""
        out = {}
        for name, proc in [(f"worker-main-{w.pid}", w) for w in self.workers] + [("moto", self.moto)] + [
            (f"child-{c.pid}", c) for c in self.children()
        ]:
            try:
                t = proc.cpu_times()
                out[name] = t.user + t.system
            except psutil.Error:
                pass
        machine = psutil.cpu_times()
        out["machine-idle"] = machine.idle + getattr(machine, "iowait", 0.0)
        out["machine-total"] = sum(machine)
        return out

    def peak_mb(self, phase: str) -> dict[int, float]:
        return {pid: round(v / MIB, 1) for pid, v in self.peaks.get(phase, {}).items()}


def vm_hwm_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def ingest(name: str, source: Path) -> dict:
    """Start the ingest as `preserve` does (the worker does the files), wait for it, and read back its timings."""
    from archive.ingest import services
    from archive.ingest.seal import file_lease
    from archive.models import IngestJob, Lease, Snapshot
    from catalogue import services as catalogue_services

    provider = catalogue_services.provider_get_or_create(slug="bench")
    model = catalogue_services.model_create(provider=provider, name=name)
    started = time.perf_counter()
    job = services.snapshot_ingest_start(model=model, source=str(source))
    interval = 0.02
    while True:
        job.refresh_from_db()
        if job.state in (IngestJob.State.SUCCEEDED, IngestJob.State.FAILED):
            break
        if time.perf_counter() - started > 1800:
            raise RuntimeError(f"job {job.pk} still {job.state} after 30 min: is the worker running?")
        time.sleep(interval)
        interval = min(interval * 1.5, 0.25)
    polled = time.perf_counter() - started
    if job.state != IngestJob.State.SUCCEEDED:
        raise RuntimeError(f"job {job.pk} failed: {job.error}")
    assert Snapshot.objects.get(pk=job.snapshot_id).state == Snapshot.State.SEALED
    files = list(job.snapshot.files.values_list("pk", "size"))
    names = [file_lease(pk) for pk, _ in files]
    for _ in range(100):  # the last file's worker seals the snapshot, then releases its lease: a moment later
        leases = {lease.name: lease for lease in Lease.objects.filter(name__in=names, state=Lease.State.DONE)}
        if len(leases) == len(names):
            break
        time.sleep(0.05)
    intervals = sorted(
        (leases[file_lease(pk)].claimed_at, leases[file_lease(pk)].finished_at) for pk, _ in files
    )
    return {
        "job_s": (job.finished_at - job.created_at).total_seconds(),
        "polled_s": polled,
        "bytes": sum(size for _, size in files),
        "files": len(files),
        "max_files_at_once": max_overlap(intervals),
        "intervals": [
            (round((a - job.created_at).total_seconds(), 2), round((b - job.created_at).total_seconds(), 2))
            for a, b in intervals
        ],
    }


def max_overlap(intervals) -> int:
    """How many of the (start, end) intervals were open at the same moment, at most."""
    edges = sorted([(a, 1) for a, _ in intervals] + [(b, -1) for _, b in intervals], key=lambda e: (e[0], e[1]))
    best = now = 0
    for _, step in edges:
        now += step
        best = max(best, now)
    return best


RAW_CHILD = r"""
import json, os, shutil, sys, time
sys.path.insert(0, sys.argv[1])
from ingest import fast_raw_upload
target, bucket, prefix, paths = sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]
import ingest
if target.startswith("http"):
    ingest.fast_s3(target)  # imports and the client's setup before the clock, as a warm worker
sys.stdin.readline()  # go
start = time.time()
for i, path in enumerate(paths):
    if target.startswith("http"):
        fast_raw_upload(target, bucket, path, key=f"{prefix}-{i}")
    else:  # a durable copy, as Coda's filesystem store makes one
        dest = os.path.join(target, f"{prefix}-{i}")
        with open(path, "rb") as src, open(dest, "wb") as out:
            shutil.copyfileobj(src, out, 1024 * 1024)
            out.flush()
            os.fsync(out.fileno())
        os.unlink(dest)
print(json.dumps({"start": start, "end": time.time()}))
"""


def raw_parallel(target: str, bucket: str, groups: list[list[Path]], prefix: str, moto: psutil.Process
                 ) -> tuple[float, float]:
    """Wall seconds for len(groups) processes storing their files at the same time (fast raw uploads to the
    endpoint `target`, or durable copies, write + fsync, into the directory `target`), and moto's CPU seconds."""
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", RAW_CHILD, str(ROOT / "benchmarks"), target, bucket, f"{prefix}-{n}",
             *map(str, group)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        for n, group in enumerate(groups)
    ]
    time.sleep(1.5)  # let both import boto3 and build their clients
    moto_before = sum(moto.cpu_times()[:2])
    for p in procs:
        p.stdin.write("go\n")
        p.stdin.flush()
    results = []
    for p in procs:
        out, _ = p.communicate(timeout=1800)
        if p.returncode != 0:
            raise RuntimeError("raw upload process failed")
        results.append(json.loads(out.strip().splitlines()[-1]))
    return max(r["end"] for r in results) - min(r["start"] for r in results), sum(moto.cpu_times()[:2]) - moto_before


def utilisation(cpu_before: dict, cpu_after: dict, wall: float, size: int) -> dict:
    used = {k: cpu_after[k] - cpu_before.get(k, 0.0) for k in cpu_after}
    idle, total = used.pop("machine-idle"), used.pop("machine-total")
    workers = sum(v for k, v in used.items() if k.startswith("child-"))
    return {
        "worker_children_cpu_s": round(workers, 2),
        "worker_main_cpu_s": round(sum(v for k, v in used.items() if k.startswith("worker-main")), 2),
        "moto_cpu_s": round(used.get("moto", 0.0), 2),
        # CPU per MiB stored, and moto_server's share of one core over the job (one Python process: its GIL
        # lets it use about one core at most, however many clients it has).
        "worker_cpu_ms_per_mib": round(1000 * workers / (size / MIB), 2),
        "moto_cpu_ms_per_mib": round(1000 * used.get("moto", 0.0) / (size / MIB), 2),
        "moto_cores": round(used.get("moto", 0.0) / wall, 2),
        "per_child_cpu_s": {k: round(v, 2) for k, v in used.items() if k.startswith("child-")},
        # Of the machine's CPU time during the job: what these processes used, and what everything used (the
        # machine is shared: the rest is other work).
        "cpu_utilisation": round(sum(used.values()) / (wall * (os.cpu_count() or 1)), 2),
        "machine_cpu_busy": round(1 - idle / total, 2) if total else None,
    }


def clear(client, bucket: str, store_dir: Path) -> None:
    """Drop what the last run stored (its blobs are never asked for again: every run's bytes differ)."""
    empty_bucket(client, bucket)
    if store_dir.is_dir():
        for child in store_dir.iterdir():
            subprocess.run(["rm", "-rf", str(child)], check=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--shards", type=int, default=8)
    parser.add_argument("--shard-mib", type=int, default=256)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=2, help="processes per worker (celery --concurrency)")
    parser.add_argument("--nodes", type=int, default=1,
                        help="celery workers started (each with --concurrency processes); 2 with --concurrency 1 "
                             "is the other way to have two worker processes")
    parser.add_argument("--no-raw", action="store_true", help="skip the raw ceiling")
    parser.add_argument("--store", choices=["s3", "filesystem"], default="s3",
                        help="the primary location: moto_server (default) or a directory on the local disk")
    args = parser.parse_args()
    bucket, raw_bucket = "coda-shards-bench", "coda-shards-raw"
    with moto_store(bucket, raw_bucket, prefix="coda-shards-bench-") as store:
        run(args, store, bucket, raw_bucket)


def run(args, store: MotoStore, bucket: str, raw_bucket: str) -> None:
    moto, endpoint, client, tmp = store.proc, store.endpoint, store.client, store.tmp
    store_dir = tmp / "store"
    if args.store == "filesystem":
        store_dir.mkdir()
        env = environment(tmp, filesystem_location(store_dir, name="bench-fs"))
    else:
        env = environment(tmp, s3_location(endpoint, bucket))
    raw_target = endpoint if args.store == "s3" else str(store_dir)
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    workers = [
        start_worker(env, "--pool", "prefork", "--concurrency", str(args.concurrency),
                     "--hostname", f"shards{n}-{os.getpid()}@%h")
        for n in range(args.nodes)
    ]
    sampler = Sampler([psutil.Process(w.pid) for w in workers], psutil.Process(moto.pid))
    processes = args.concurrency * args.nodes
    stamp = time.time_ns()
    try:
        deadline = time.monotonic() + 60
        while len(sampler.children()) < processes:
            if time.monotonic() > deadline or any(w.poll() is not None for w in workers):
                raise RuntimeError("the workers did not start their processes")
            time.sleep(0.2)
        sampler.start()
        print(f"workers {[w.pid for w in workers]}, processes {[c.pid for c in sampler.children()]}; "
              f"database {env['DATABASE_URL'].split('@')[-1]}, broker {env['CELERY_BROKER_URL']}, store {args.store}",
              flush=True)
        staging = tmp / "staging"
        single, sharded = staging / "single", staging / "sharded"
        single.mkdir(parents=True)
        sharded.mkdir()
        size = args.shard_mib * MIB
        make_file(single / "model.safetensors", size)
        shard_paths = [sharded / f"model-{i + 1:05d}-of-{args.shards:05d}.safetensors" for i in range(args.shards)]
        for p in shard_paths:
            make_file(p, size)
        # Warm-up (not timed): each worker process's first task builds its S3 client and runs lazy imports, as in
        # any worker already running. Files large enough that both processes get one.
        warm = staging / "warm"
        warm.mkdir()
        for i in range(processes * 2):
            make_file(warm / f"warm-{i}.bin", 16 * MIB)
        sampler.phase = "warm-up"
        ingest(f"warm-{stamp}", warm)
        clear(client, bucket, store_dir)

        runs = {"single": [], "sharded": [], "raw-single": [], "raw-parallel": []}
        usage = {"single": [], "sharded": []}
        for rep in range(args.repeat):
            for p in [single / "model.safetensors", *shard_paths]:
                vary(p)
            order = ["single", "sharded"] if rep % 2 == 0 else ["sharded", "single"]
            if not args.no_raw:
                order += ["raw-single", "raw-parallel"] if rep % 2 == 0 else ["raw-parallel", "raw-single"]
            for name in order:
                if name in ("single", "sharded"):
                    sampler.phase = name
                    before = sampler.cpu()
                    result = ingest(f"{name}-{stamp}-{rep}", single if name == "single" else sharded)
                    usage[name].append(utilisation(before, sampler.cpu(), result["job_s"], result["bytes"]))
                    runs[name].append(result)
                    clear(client, bucket, store_dir)  # moto keeps objects in memory
                    print(f"rep {rep} {name}: {result['files']} files, job {result['job_s']:.2f}s "
                          f"({result['bytes'] / MIB / result['job_s']:.1f} MiB/s), polled {result['polled_s']:.2f}s, "
                          f"files at once {result['max_files_at_once']}, "
                          f"file intervals {result['intervals']}, {usage[name][-1]}", flush=True)
                else:
                    sampler.phase = "raw"
                    if name == "raw-single":
                        wall, moto_cpu = raw_parallel(raw_target, raw_bucket, [[single / "model.safetensors"]],
                                                      f"rs-{rep}", sampler.moto)
                        total = size
                    else:
                        groups = [shard_paths[i::processes] for i in range(processes)]
                        wall, moto_cpu = raw_parallel(raw_target, raw_bucket, groups, f"rp-{rep}", sampler.moto)
                        total = size * args.shards
                    runs[name].append({"wall_s": wall, "bytes": total})
                    empty_bucket(client, raw_bucket)
                    print(f"rep {rep} {name}: {wall:.2f}s ({total / MIB / wall:.1f} MiB/s), moto "
                          f"{1000 * moto_cpu / (total / MIB):.2f} ms CPU per MiB, {moto_cpu / wall:.2f} cores",
                          flush=True)
        sampler.phase = "done"
        sampler.stop()

        def best_mib_s(name, key):
            return max(r["bytes"] / MIB / r[key] for r in runs[name])

        single_mib_s = best_mib_s("single", "job_s")
        aggregate_mib_s = best_mib_s("sharded", "job_s")
        peak = {phase: sampler.peak_mb(phase) for phase in ("warm-up", "single", "sharded")}
        figures = {
            "store": args.store, "shards": args.shards, "shard_mib": args.shard_mib, "nodes": args.nodes,
            "concurrency": args.concurrency,
            "repeat": args.repeat,
            "single_shard_mib_s": round(single_mib_s, 1),
            "aggregate_mib_s": round(aggregate_mib_s, 1),
            "shards_parallel_efficiency": round(aggregate_mib_s / (processes * single_mib_s), 3),
            "shards_parallel_efficiency_median": round(
                statistics.median(r["bytes"] / MIB / r["job_s"] for r in runs["sharded"])
                / (processes * statistics.median(r["bytes"] / MIB / r["job_s"] for r in runs["single"])), 3),
            "max_files_at_once": min(r["max_files_at_once"] for r in runs["sharded"]),
            "worker_peak_rss_mb": max(peak["sharded"].values(), default=None),
            "worker_peak_rss_mb_single": max(peak["single"].values(), default=None),
            "worker_peak_rss_mb_warmup": max(peak["warm-up"].values(), default=None),
            "worker_peak_rss_mb_by_process": peak,
            "worker_vmhwm_mb": {c.pid: vm_hwm_mb(c.pid) for c in sampler.children()},
            "cpu_single": usage["single"], "cpu_sharded": usage["sharded"],
        }
        if args.store == "s3":
            # moto_server is one Python process: about one core at most. At its CPU cost per MiB in the sharded runs,
            # one full core stores this many MiB/s, whoever uploads: the most the sharded ingest could reach here.
            per_mib = statistics.median(u["moto_cpu_ms_per_mib"] for u in usage["sharded"])
            figures["moto_one_core_mib_s"] = round(1000 / per_mib, 1)
            figures["efficiency_bound_by_moto"] = round(1000 / per_mib / (processes * single_mib_s), 3)
        if not args.no_raw:
            raw_single = best_mib_s("raw-single", "wall_s")
            raw_aggregate = best_mib_s("raw-parallel", "wall_s")
            figures.update(
                raw_single_mib_s=round(raw_single, 1), raw_aggregate_mib_s=round(raw_aggregate, 1),
                raw_parallel_efficiency=round(raw_aggregate / (processes * raw_single), 3),
                single_vs_raw=round(raw_single / single_mib_s, 3),
                # How much of what two raw uploaders got on this machine the sharded ingest got.
                aggregate_vs_raw_aggregate=round(aggregate_mib_s / raw_aggregate, 3),
            )
        print(f"single shard {single_mib_s:.1f} MiB/s, {args.shards} shards over {processes} processes "
              f"{aggregate_mib_s:.1f} MiB/s: efficiency {figures['shards_parallel_efficiency']}; peak RSS per worker "
              f"process {figures['worker_peak_rss_mb_single']} MB (one shard), {figures['worker_peak_rss_mb']} MB "
              f"({args.shards} shards)")
        if not args.no_raw:
            print(f"raw: one uploader {figures['raw_single_mib_s']} MiB/s, {processes} at once "
                  f"{figures['raw_aggregate_mib_s']} MiB/s: efficiency {figures['raw_parallel_efficiency']}")
        print("figures:", json.dumps(figures))
        keys = ["shards_parallel_efficiency", "single_shard_mib_s", "aggregate_mib_s", "max_files_at_once",
                "worker_peak_rss_mb", "worker_peak_rss_mb_single", "raw_parallel_efficiency", "raw_single_mib_s",
                "raw_aggregate_mib_s", "aggregate_vs_raw_aggregate", "moto_one_core_mib_s", "efficiency_bound_by_moto"]
        print(json.dumps({k: figures[k] for k in keys if k in figures}))
    finally:
        if sampler._thread.is_alive():
            sampler.stop()
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=60)


if __name__ == "__main__":
    main()
