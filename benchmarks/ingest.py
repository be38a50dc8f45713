"""Ingest benchmark (issue 3), run by `make bench`.

In one run, against a moto_server (a real S3 HTTP server) and the same generated file:
  (a) fast raw: boto3 upload_file, no hashing, in the fastest correct configuration for this endpoint:
      unsigned payload (as Coda), CRC32 per part (as Coda), Coda's part size and concurrency, TransferConfig
      tuned (threshold one part, 1 MiB reads)
  (b) default raw: boto3 upload_file with boto3's defaults (over plain HTTP the payload is signed: one more
      SHA-256 pass over every byte)
  (c) naive two passes: hashlib SHA-256 over the file, then upload_file (defaults)
  (d) Coda's ingest of that file through archive.ingest.services.snapshot_file_ingest, in a fresh process
and for each size Coda's peak RSS (ru_maxrss of the ingest process) and source bytes read.
Larger sizes (4 GiB by default) run (a) and (d) only, interleaved, --repeat-large times: ingest_vs_fast_raw_4gib.
Prints the figures, then one JSON line with ingest_vs_fast_raw, ingest_vs_default_raw, ingest_vs_raw (against
the faster of the two raw contenders), ingest_vs_two_pass, bytes_read_ratio, rss_mb_1gib, rss_mb_4gib.

Each timed run gets a fresh moto_server; the order of (a), (b), (c) rotates between repetitions. The ratios
use each contender's best (minimum) time; the median ratio is printed too.

Usage: python benchmarks/ingest.py [--sizes-gib 1,4] [--repeat 5]
"""

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness import GIB, environment, make_file, moto_store, s3, s3_location  # noqa: E402


def raw_upload(endpoint, bucket, path) -> float:
    """boto3's defaults: over plain HTTP SigV4 signs the payload (one more SHA-256 pass over every byte),
    8 MiB parts, 10 threads."""
    client = s3(endpoint)
    start = time.perf_counter()
    client.upload_file(str(path), bucket, "raw/object")
    return time.perf_counter() - start


def fast_s3(endpoint):
    """The fastest correct boto3 client for this endpoint: the payload is not signed (Coda's default,
    CODA_S3_SIGN_PAYLOAD=false), each part still carries the CRC32 the server checks (boto3's default request
    checksum, as Coda's), and the connection pool holds every part in flight."""
    return s3(
        endpoint,
        max_pool_connections=max(10, CODA_CONCURRENCY * 2),
        s3={"addressing_style": "path", "payload_signing_enabled": False},
    )


CODA_PART_SIZE = 8 * 1024 * 1024  # Coda's defaults (CODA_PART_SIZE, CODA_UPLOAD_CONCURRENCY)
CODA_CONCURRENCY = 8


def fast_transfer_config():
    """TransferConfig tuned to Coda's part size and concurrency, threshold at one part (as Coda's), reads of a
    whole part at a time from the file (io_chunksize) so the threads do not loop over 256 KiB reads."""
    from boto3.s3.transfer import TransferConfig

    return TransferConfig(
        multipart_threshold=CODA_PART_SIZE, multipart_chunksize=CODA_PART_SIZE, max_concurrency=CODA_CONCURRENCY,
        io_chunksize=1024 * 1024, max_io_queue=1000, use_threads=True,
    )


def fast_raw_upload(endpoint, bucket, path, key="fastraw/object") -> float:
    client = fast_s3(endpoint)
    config = fast_transfer_config()
    start = time.perf_counter()
    client.upload_file(str(path), bucket, key, Config=config)
    return time.perf_counter() - start


def two_pass(endpoint, bucket, path) -> float:
    client = s3(endpoint)
    start = time.perf_counter()
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1024 * 1024):
            digest.update(chunk)
    client.upload_file(str(path), bucket, f"twopass/{digest.hexdigest()}")
    return time.perf_counter() - start


CHILD = r'''
import json, os, resource, sys, time
sys.path.insert(0, os.environ["CODA_ROOT"])
import django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from archive.ingest import services, sources
from archive.models import SnapshotFile, Snapshot
from archive.tasks import snapshot_file_ingest
from catalogue.models import AIModel, Provider

counted = [0]
original = sources.OpenedSource.__enter__
def counting_enter(self):
    stream = original(self)
    raw = stream.read
    def read(n=-1):
        data = raw(n)
        counted[0] += len(data)
        return data
    stream.read = read
    return stream
sources.OpenedSource.__enter__ = counting_enter
snapshot_file_ingest.delay = lambda file_id: None  # run in this process, timed
provider, _ = Provider.objects.get_or_create(slug="bench", defaults={"name": "bench"})
# Warm up as a running worker is warm (the raw baseline's client is also made before its clock starts): one
# small ingest first builds the cached S3 client, runs lazy imports and opens the database.
warm = os.path.join(os.path.dirname(os.environ["BENCH_SOURCE"]), f"warmup-{time.time_ns()}")
os.makedirs(warm)
with open(os.path.join(warm, "config.json"), "wb") as f:
    f.write(os.urandom(1024))
warm_job = services.snapshot_ingest_start(model=AIModel.objects.create(provider=provider, name=f"warm-{time.time_ns()}"), source=warm)
for row in SnapshotFile.objects.filter(snapshot=warm_job.snapshot):
    services.snapshot_file_ingest(file_id=row.pk)
counted[0] = 0
model, _ = AIModel.objects.get_or_create(provider=provider, name=f"model-{time.time_ns()}")
job = services.snapshot_ingest_start(model=model, source=os.environ["BENCH_SOURCE"])
rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
for row in SnapshotFile.objects.filter(snapshot=job.snapshot):
    services.snapshot_file_ingest(file_id=row.pk)
elapsed = time.perf_counter() - start
snapshot = Snapshot.objects.get(pk=job.snapshot_id)
assert snapshot.state == "sealed", snapshot.state
print(json.dumps({"seconds": elapsed, "bytes_read": counted[0],
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "rss_before_mb": rss_before / 1024}))
'''


def coda_ingest(location: dict, source_dir: Path, workdir: Path) -> dict:
    """Coda's ingest of source_dir into `location` in a fresh process (CHILD), its own database in workdir."""
    env = environment(workdir, location, staging=source_dir.parent, in_process=True)
    env.update(CODA_ROOT=str(ROOT), BENCH_SOURCE=str(source_dir))
    result = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, text=True)
    if os.environ.get("BENCH_SHOW_STDERR"):
        print(result.stderr[-4000:], file=sys.stderr)
    if result.returncode != 0:
        raise RuntimeError(result.stderr[-3000:])
    return json.loads(result.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes-gib", default="1,4")
    parser.add_argument("--repeat", type=int, default=5, help="timed repetitions of (a), (b), (c) on the first size")
    parser.add_argument("--repeat-large", type=int, default=2, help="repetitions of fast raw and Coda on each larger size")
    args = parser.parse_args()
    sizes = [float(s) for s in args.sizes_gib.split(",")]
    bucket = "coda-bench"
    figures = {}
    with tempfile.TemporaryDirectory(prefix="coda-bench-") as tmp:
        tmp = Path(tmp)
        for index, size_gib in enumerate(sizes):
            size = int(size_gib * GIB)
            source = tmp / "staging" / f"model-{index}"
            source.mkdir(parents=True)
            path = source / "model.safetensors"
            make_file(path, size)
            print(f"== {size_gib:g} GiB file ==", flush=True)
            if index == 0:
                times = {"fast-raw": [], "default-raw": [], "two-pass": [], "coda": []}

                def run(name, rep):
                    # A moto_server of its own for each timed run: no run inherits another's objects, memory or
                    # warm-up.
                    with moto_store(bucket) as store:
                        endpoint = store.endpoint
                        if name == "fast-raw":
                            return fast_raw_upload(endpoint, bucket, path)
                        if name == "default-raw":
                            return raw_upload(endpoint, bucket, path)
                        if name == "two-pass":
                            return two_pass(endpoint, bucket, path)
                        work = tmp / f"work-{index}-{rep}"
                        work.mkdir()
                        return coda_ingest(s3_location(endpoint, bucket), source, work)["seconds"]

                names = list(times)
                for rep in range(args.repeat):  # interleaved, order rotated: drift and position hit all alike
                    shift = rep % len(names)
                    for name in names[shift:] + names[:shift]:
                        times[name].append(run(name, rep))
                    print("  rep {}: ".format(rep) + "  ".join(f"{n} {times[n][-1]:.2f}s" for n in names), flush=True)
                for name in names:
                    print(f"  {name}: min {min(times[name]):.2f}s, median {statistics.median(times[name]):.2f}s")
                fast, default, naive, coda = (min(times[n]) for n in names)
                figures["fast_raw_s"], figures["default_raw_s"] = fast, default
                figures["two_pass_s"], figures["coda_s"] = naive, coda
                figures["ingest_vs_fast_raw"] = round(coda / fast, 3)
                figures["ingest_vs_default_raw"] = round(coda / default, 3)
                # Goals are stated against the faster raw contender, whichever it was in this run.
                figures["ingest_vs_raw"] = round(coda / min(fast, default), 3)
                figures["ingest_vs_two_pass"] = round(coda / naive, 3)
                figures["ingest_vs_fast_raw_median"] = round(
                    statistics.median(times["coda"]) / statistics.median(times["fast-raw"]), 3
                )
            else:
                # Larger sizes: fast raw and Coda only, interleaved (each run is long), `--repeat-large` times.
                large = {"fast-raw": [], "coda": []}
                for rep in range(args.repeat_large):
                    for name in (["fast-raw", "coda"] if rep % 2 == 0 else ["coda", "fast-raw"]):
                        with moto_store(bucket) as store:
                            endpoint = store.endpoint
                            if name == "fast-raw":
                                large[name].append(fast_raw_upload(endpoint, bucket, path))
                            else:
                                work = tmp / f"work-{index}-{rep}"
                                work.mkdir()
                                large[name].append(coda_ingest(s3_location(endpoint, bucket), source, work)["seconds"])
                    print(f"  rep {rep}: fast-raw {large['fast-raw'][-1]:.2f}s  coda {large['coda'][-1]:.2f}s", flush=True)
                figures[f"fast_raw_s_{size_gib:g}gib"] = min(large["fast-raw"])
                figures[f"coda_s_{size_gib:g}gib"] = min(large["coda"])
                figures[f"ingest_vs_fast_raw_{size_gib:g}gib"] = round(min(large["coda"]) / min(large["fast-raw"]), 3)
            work = tmp / f"work-{index}-rss"
            work.mkdir()
            with moto_store(bucket) as store:
                result = coda_ingest(s3_location(store.endpoint, bucket), source, work)
            figures[f"bytes_read_ratio_{size_gib:g}gib"] = round(result["bytes_read"] / size, 4)
            figures[f"rss_mb_{size_gib:g}gib"] = round(result["rss_mb"], 1)
            print(f"  coda: {result['seconds']:.2f}s, read {result['bytes_read']} of {size} bytes, "
                  f"peak RSS {result['rss_mb']:.1f} MB (after setup {result['rss_before_mb']:.1f} MB)", flush=True)
            path.unlink()
    ratios = [v for k, v in figures.items() if k.startswith("bytes_read_ratio_")]
    summary = {
        "ingest_vs_fast_raw": figures.get("ingest_vs_fast_raw"),
        "ingest_vs_default_raw": figures.get("ingest_vs_default_raw"),
        "ingest_vs_fast_raw_4gib": figures.get("ingest_vs_fast_raw_4gib"),
        "ingest_vs_raw": figures.get("ingest_vs_raw"),
        "ingest_vs_two_pass": figures.get("ingest_vs_two_pass"),
        "bytes_read_ratio": max(ratios) if ratios else None,
        "rss_mb_1gib": figures.get("rss_mb_1gib"),
        "rss_mb_4gib": figures.get("rss_mb_4gib"),
    }
    print("figures:", json.dumps(figures))
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
