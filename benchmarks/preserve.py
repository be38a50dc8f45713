"""End-to-end benchmark of the curator's paths (issue 20 part 2), run by `make bench`.

Two doors, each against a real Celery worker (`celery -A config worker`, as `make worker`) on the configured
broker, compared with the fast raw upload of the same file (benchmarks/ingest.py: unsigned payload, Coda's part
size and concurrency, tuned TransferConfig), interleaved in the same run against the same moto_server:
  - the command: `manage.py preserve PROVIDER/NAME SOURCE --create --wait`, timed from the command's start to its
    exit (a fresh process each time, as a curator runs it);
  - the API: the REST API served by gunicorn (as `make run` serves it: `config.wsgi`, 2 workers; DEBUG off and
    persistent database connections, as in production) on the same database and worker, a curator's token, and
    the Python client's `Coda.preserve(..., wait=True)`: POST /api/v1/models/P/N/snapshots/, then GET
    /api/v1/ingest-jobs/ID/ until the job has ended (the client's poll starts at 20 ms and backs off to 250 ms),
    timed in this process from just before the POST to the sealed answer. The model is registered beforehand
    (POST /api/v1/models/, not timed).
For a model of many small files it also reports how far each door's time is above the ingest job itself (the
job's created_at → finished_at, recorded by the worker).

Each repetition changes the file's first bytes, so no run is answered by an earlier one's blob.

The broker and database come from CELERY_BROKER_URL / DATABASE_URL (a worker in another process needs a real
broker: Redis, and a database both processes reach: PostgreSQL, or the SQLite file made here by default).
Prints the figures, then one JSON line with preserve_wait_vs_fast_raw, preserve_small_above_job_s,
api_preserve_vs_fast_raw and api_small_above_job_s.

Usage: python benchmarks/preserve.py [--size-gib 1] [--repeat 3] [--small-files 10]
"""

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "client"))

from coda_client import Coda  # noqa: E402
from harness import (  # noqa: E402
    GIB, MotoStore, empty_bucket, environment, free_port, make_file, moto_store, s3_location, start_gunicorn,
    start_worker, vary,
)
from ingest import fast_raw_upload  # noqa: E402


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


CURATOR_TOKEN = (
    "from django.contrib.auth import get_user_model\n"
    "from catalogue import accounts\n"
    "user, _ = get_user_model().objects.get_or_create(username='bench-curator', defaults={'is_staff': True})\n"
    "print(accounts.api_token_create(user=user, never_expires=True)[1])\n"
)


def start_web(env: dict) -> tuple[subprocess.Popen, str]:
    """gunicorn serving config.wsgi as `make run` does (2 workers), DEBUG off, persistent database connections."""
    port = free_port()
    web_env = {**env, "DJANGO_DEBUG": "false", "DJANGO_CONN_MAX_AGE": env.get("DJANGO_CONN_MAX_AGE", "60")}
    return start_gunicorn(port, 2, web_env, timeout=120, quiet=True), f"http://127.0.0.1:{port}"


POSTS: list[float] = []  # seconds the POST took (to its 202), each API preserve


def api_preserve(coda: Coda, name: str, source: Path) -> float:
    """Seconds from just before the POST to the client's sealed answer (the model is registered first, untimed)."""
    coda.request("POST", "models/", body={"provider": "bench", "name": name})
    answered = []
    start = time.perf_counter()
    # The client calls progress() first with the POST's answer, then after each poll.
    job = coda.preserve(f"bench/{name}", str(source), wait=True, timeout=600,
                        progress=lambda _job: answered.append(time.perf_counter()))
    elapsed = time.perf_counter() - start
    if job.state != "succeeded":
        raise RuntimeError(f"API preserve of {name}: job {job.id} {job.state}")
    POSTS.append(answered[0] - start)
    return elapsed


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-gib", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--small-files", type=int, default=10)
    args = parser.parse_args()
    bucket, raw_bucket = "coda-preserve-bench", "coda-preserve-raw"
    with moto_store(bucket, raw_bucket, prefix="coda-preserve-bench-") as store:
        run(args, store, bucket, raw_bucket)


def run(args, store: MotoStore, bucket: str, raw_bucket: str) -> None:
    endpoint, client, tmp = store.endpoint, store.client, store.tmp
    env = environment(tmp, s3_location(endpoint, bucket))
    manage(env, "migrate", "--verbosity", "0")
    worker = start_worker(env)
    web, base = start_web(env)
    coda = Coda(base, manage(env, "shell", "-c", CURATOR_TOKEN).stdout.strip().splitlines()[-1])
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
        for i in range(3):  # each gunicorn worker's first preserve loads the broker transport (kombu), once
            for f in small.iterdir():
                vary(f)
            api_preserve(coda, f"warm-api-{stamp}-{i}", small)
        POSTS.clear()
        times = {"fast-raw": [], "preserve": [], "api": []}
        small_times = {"preserve": [], "api": []}
        small_above = {"preserve": [], "api": []}
        small_jobs = {"preserve": [], "api": []}
        names = list(times)
        for rep in range(args.repeat):
            vary(path)
            shift = rep % len(names)  # order rotated: drift and position hit all alike
            for name in names[shift:] + names[:shift]:
                if name == "fast-raw":
                    times[name].append(fast_raw_upload(endpoint, raw_bucket, path, key=f"raw-{rep}"))
                    client.delete_object(Bucket=raw_bucket, Key=f"raw-{rep}")
                    continue
                if name == "preserve":
                    times[name].append(preserve(env, f"big-{stamp}-{rep}", big))
                else:
                    times[name].append(api_preserve(coda, f"big-api-{stamp}-{rep}", big))
                empty_bucket(client, bucket)  # moto keeps objects in memory
                vary(path)  # the other door must not find this run's blob already stored
            for door in ("preserve", "api") if rep % 2 == 0 else ("api", "preserve"):
                for f in small.iterdir():
                    vary(f)
                model = f"small-{door}-{stamp}-{rep}"
                took = preserve(env, model, small) if door == "preserve" else api_preserve(coda, model, small)
                small_times[door].append(took)
                small_jobs[door].append(job_seconds(env, model))
                small_above[door].append(took - small_jobs[door][-1])
            print(f"rep {rep}: fast raw {times['fast-raw'][-1]:.2f}s, preserve --wait {times['preserve'][-1]:.2f}s, "
                  f"API {times['api'][-1]:.2f}s; {args.small_files} small files: preserve --wait "
                  f"{small_times['preserve'][-1]:.2f}s ({small_above['preserve'][-1]:.2f}s above the job), API "
                  f"{small_times['api'][-1]:.2f}s ({small_above['api'][-1]:.2f}s above the job)", flush=True)
        fast, whole, api = min(times["fast-raw"]), min(times["preserve"]), min(times["api"])
        figures.update(
            size_gib=args.size_gib, fast_raw_s=round(fast, 3), preserve_wait_s=round(whole, 3),
            preserve_wait_vs_fast_raw=round(whole / fast, 3),
            preserve_wait_vs_fast_raw_median=round(
                statistics.median(times["preserve"]) / statistics.median(times["fast-raw"]), 3),
            preserve_small_s=round(min(small_times["preserve"]), 3),
            preserve_small_job_s=round(min(small_jobs["preserve"]), 3),
            preserve_small_above_job_s=round(statistics.median(small_above["preserve"]), 3),
            api_preserve_s=round(api, 3), api_preserve_vs_fast_raw=round(api / fast, 3),
            api_preserve_vs_fast_raw_median=round(
                statistics.median(times["api"]) / statistics.median(times["fast-raw"]), 3),
            api_small_s=round(min(small_times["api"]), 3), api_small_job_s=round(min(small_jobs["api"]), 3),
            api_post_s_median=round(statistics.median(POSTS), 3),
            api_small_above_job_s=round(statistics.median(small_above["api"]), 3),
        )
        print("figures:", json.dumps(figures))
        keys = ("preserve_wait_vs_fast_raw", "preserve_small_above_job_s", "api_preserve_vs_fast_raw",
                "api_small_above_job_s")
        print(json.dumps({k: figures[k] for k in keys}))
    finally:
        web.terminate()
        worker.terminate()
        worker.wait(timeout=60)
        web.wait(timeout=60)


if __name__ == "__main__":
    main()
