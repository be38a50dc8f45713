"""End-to-end benchmark of the curator's path (issue 20 part 2), run by `make bench`.

`manage.py preserve PROVIDER/NAME SOURCE --create --wait` is timed from the command's start to its exit (a fresh
process each time, as a curator runs it), against a real Celery worker (`celery -A config worker`, as `make
worker`) on the configured broker, and compared with the fast raw upload of the same file (benchmarks/ingest.py:
unsigned payload, Coda's part size and concurrency, tuned TransferConfig), interleaved in the same run against the
same moto_server. For a model of many small files it also reports how far the command's time is above the ingest
job itself (the job's created_at → finished_at, recorded by the worker).

Each repetition changes the file's first bytes, so no run is answered by an earlier one's blob.

The broker and database come from CELERY_BROKER_URL / DATABASE_URL (a worker in another process needs a real
broker: Redis, and a database both processes reach: PostgreSQL, or the SQLite file made here by default).
Prints the figures, then one JSON line with preserve_wait_vs_fast_raw and preserve_small_above_job_s.

Usage: python benchmarks/preserve.py [--size-gib 1] [--repeat 3] [--small-files 10]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from ingest import GIB, empty_bucket, fast_raw_upload, make_file, s3, start_moto  # noqa: E402


def environment(endpoint: str, bucket: str, tmp: Path) -> dict:
    env = dict(os.environ)
    env.setdefault("DATABASE_URL", f"sqlite:///{tmp / 'bench.sqlite3'}")
    env.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        CODA_VAR_DIR=str(tmp),
        CODA_STAGING_ROOTS=str(tmp / "staging"),
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        CODA_LOG_LEVEL="WARNING",
        CODA_STORAGE_LOCATIONS=json.dumps(
            [{"name": "bench", "kind": "s3", "endpoint_url": endpoint, "bucket": bucket, "region": "us-east-1",
              "access_key_env": "AWS_ACCESS_KEY_ID", "secret_key_env": "AWS_SECRET_ACCESS_KEY", "primary": True}]
        ),
    )
    return env


def manage(env, *args, check=True) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], env=env, capture_output=True, text=True,
                          check=check)


def preserve(env, name: str, source: Path) -> float:
    """Seconds from the command's start to its exit."""
    start = time.perf_counter()
    result = manage(env, "preserve", f"bench/{name}", str(source), "--create", "--wait", "--timeout", "600",
                    check=False)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise RuntimeError(result.stdout[-2000:] + result.stderr[-2000:])
    return elapsed


def job_seconds(env, name: str) -> float:
    """The ingest job's own time (created → finished), as the worker recorded it."""
    code = (
        "import django; django.setup()\n"
        "from archive.models import IngestJob\n"
        f"j = IngestJob.objects.filter(snapshot__model__name={name!r}).latest('pk')\n"
        "print((j.finished_at - j.created_at).total_seconds())\n"
    )
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=ROOT,
                            check=True)
    return float(result.stdout.strip().splitlines()[-1])


def vary(path: Path) -> None:
    with open(path, "r+b") as f:
        f.write(os.urandom(16))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-gib", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--small-files", type=int, default=10)
    args = parser.parse_args()
    moto, endpoint = start_moto()
    bucket, raw_bucket = "coda-preserve-bench", "coda-preserve-raw"
    client = s3(endpoint)
    client.create_bucket(Bucket=bucket)
    client.create_bucket(Bucket=raw_bucket)
    tmp = Path(tempfile.mkdtemp(prefix="coda-preserve-bench-"))
    env = environment(endpoint, bucket, tmp)
    manage(env, "migrate", "--verbosity", "0")
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--loglevel", "WARNING"],
        env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    figures = {}
    stamp = time.time_ns()
    try:
        big = tmp / "staging" / "big"
        big.mkdir(parents=True)
        path = big / "model.safetensors"
        make_file(path, int(args.size_gib * GIB))
        small = tmp / "staging" / "small"
        small.mkdir()
        for i in range(args.small_files):
            make_file(small / f"file-{i}.bin", 64 * 1024)
        # Warm-up (not timed): the worker's first task builds its S3 client and runs lazy imports, as any
        # running worker has already done.
        preserve(env, f"warm-{stamp}", small)
        times = {"fast-raw": [], "preserve": []}
        small_cmd, small_job = [], []
        for rep in range(args.repeat):
            vary(path)
            order = ["fast-raw", "preserve"] if rep % 2 == 0 else ["preserve", "fast-raw"]
            for name in order:
                if name == "fast-raw":
                    times[name].append(fast_raw_upload(endpoint, raw_bucket, path, key=f"raw-{rep}"))
                    client.delete_object(Bucket=raw_bucket, Key=f"raw-{rep}")
                else:
                    times[name].append(preserve(env, f"big-{stamp}-{rep}", big))
                    empty_bucket(client, bucket)  # moto keeps objects in memory
            for f in small.iterdir():
                vary(f)
            small_cmd.append(preserve(env, f"small-{stamp}-{rep}", small))
            small_job.append(job_seconds(env, f"small-{stamp}-{rep}"))
            print(f"rep {rep}: fast raw {times['fast-raw'][-1]:.2f}s, preserve --wait {times['preserve'][-1]:.2f}s; "
                  f"{args.small_files} small files: preserve --wait {small_cmd[-1]:.2f}s, job {small_job[-1]:.2f}s",
                  flush=True)
        fast, whole = min(times["fast-raw"]), min(times["preserve"])
        above = [c - j for c, j in zip(small_cmd, small_job)]
        figures.update(
            size_gib=args.size_gib, fast_raw_s=round(fast, 3), preserve_wait_s=round(whole, 3),
            preserve_wait_vs_fast_raw=round(whole / fast, 3),
            preserve_wait_vs_fast_raw_median=round(
                statistics.median(times["preserve"]) / statistics.median(times["fast-raw"]), 3),
            preserve_small_s=round(min(small_cmd), 3), preserve_small_job_s=round(min(small_job), 3),
            preserve_small_above_job_s=round(statistics.median(above), 3),
        )
        print("figures:", json.dumps(figures))
        print(json.dumps({k: figures[k] for k in ("preserve_wait_vs_fast_raw", "preserve_small_above_job_s")}))
    finally:
        worker.terminate()
        worker.wait(timeout=60)
        empty_bucket(client, bucket)
        moto.terminate()


if __name__ == "__main__":
    main()
