"""Audit read-back benchmark (issue 4), run by `make bench`.

In one run, against one moto_server and the same stored objects: (a) raw boto3 download of each object
(get_object, streamed to nowhere in 1 MiB reads) and (b) Coda's fixity check of the same replicas
(archive.assurance.fixity.audit_replicas, as beat, `manage.py audit` and the API run it: stream, SHA-256, compare,
record the event; each copy is read on a helper thread while it is hashed, and the next copy is opened and starts
arriving while the current one is hashed and recorded) and (c) the same replicas audited two at a time on two
threads (as two worker slots would), which must not take longer in total than (b). Prints the times and one
JSON line with audit_vs_raw_download (best audit / best raw) and audit_vs_limit: best audit / the real limit,
the slower of the best raw download and the best SHA-256 of the same bytes already in memory (timed in the same
repetitions; the audit can go no faster than either). For context it also times raw downloads that request the
next object ahead the same way. JSON keys: audit_vs_limit, audit_vs_raw_download, audit_parallel_vs_serial.

Usage: python benchmarks/audit.py [--size-mib 512] [--objects 2] [--repeat 3]
"""

import argparse
import hashlib
import json
import os
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from harness import environment, make_file, moto_store, s3_location  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mib", type=int, default=512)
    parser.add_argument("--objects", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    bucket = "coda-audit-bench"
    with moto_store(bucket, prefix="coda-audit-bench-") as store:
        client, tmp = store.client, store.tmp
        os.environ.update(environment(tmp, s3_location(store.endpoint, bucket), in_process=True))
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        from archive.assurance import fixity
        from archive.ingest import services
        from archive.models import Replica, SnapshotFile
        from archive.tasks import snapshot_file_ingest, snapshot_replicate
        from catalogue.models import AIModel, Provider

        snapshot_file_ingest.delay = lambda file_id: None
        snapshot_replicate.delay = lambda snapshot_id: None
        source = tmp / "staging" / "model"
        source.mkdir(parents=True)
        for i in range(args.objects):
            make_file(source / f"shard-{i}.safetensors", args.size_mib * 1024 * 1024)
        provider = Provider.objects.create(slug="bench", name="bench")
        model = AIModel.objects.create(provider=provider, name="audit")
        job = services.snapshot_ingest_start(model=model, source=str(source))
        for row in SnapshotFile.objects.filter(snapshot=job.snapshot):
            services.snapshot_file_ingest(file_id=row.pk)
        shards = sorted(source.iterdir())  # the same bytes as the stored objects, for the in-memory hashing
        replicas = list(Replica.objects.select_related("blob", "location"))
        keys = [f"{r.key}" for r in replicas]
        raw_times, audit_times, ahead_times, hash_times, parallel_times = [], [], [], [], []
        for rep in range(args.repeat):
            start = time.perf_counter()
            for key in keys:
                body = client.get_object(Bucket=bucket, Key=key)["Body"]
                while body.read(1024 * 1024):
                    pass
            raw_times.append(time.perf_counter() - start)
            start = time.perf_counter()
            report = fixity.audit_replicas(Replica.objects.filter(pk__in=[r.pk for r in replicas]), agent="bench")
            audit_times.append(time.perf_counter() - start)
            assert report.ok == report.checked == len(replicas), report
            # Parallel audits (two at a time, as two worker slots would run them): each replica audited on its own
            # thread; their total must not exceed the audit of the same replicas one after another.
            start = time.perf_counter()
            with ThreadPoolExecutor(max_workers=2) as pool:
                reports = list(pool.map(
                    lambda pk: fixity.audit_replicas(Replica.objects.filter(pk=pk), agent="bench"),
                    [r.pk for r in replicas],
                ))
            parallel_times.append(time.perf_counter() - start)
            assert all(r.ok == r.checked == 1 for r in reports), reports
            # Context only (not the ratio): raw downloads that also request the next object ahead.
            start = time.perf_counter()
            with ThreadPoolExecutor(max_workers=1) as pool:
                ahead = pool.submit(client.get_object, Bucket=bucket, Key=keys[0])
                for index in range(len(keys)):
                    body = ahead.result()["Body"]
                    if index + 1 < len(keys):
                        ahead = pool.submit(client.get_object, Bucket=bucket, Key=keys[index + 1])
                    while body.read(1024 * 1024):
                        pass
            ahead_times.append(time.perf_counter() - start)
            # The other half of the limit: SHA-256 of the same bytes already in memory, in the audit's 1 MiB steps.
            hashing = 0.0
            for shard in shards:
                data = memoryview(shard.read_bytes())
                start = time.perf_counter()
                digest = hashlib.sha256()
                for offset in range(0, len(data), 1024 * 1024):
                    digest.update(data[offset:offset + 1024 * 1024])
                hashing += time.perf_counter() - start
                del data
            hash_times.append(hashing)
            print(f"rep {rep}: raw download {raw_times[-1]:.2f}s, in-memory SHA-256 {hash_times[-1]:.2f}s, "
                  f"audit {audit_times[-1]:.2f}s, two audits in parallel {parallel_times[-1]:.2f}s, "
                  f"raw with next request ahead {ahead_times[-1]:.2f}s", flush=True)
        total = args.objects * args.size_mib
        print(f"{total} MiB in {args.objects} objects; best raw {min(raw_times):.2f}s, best audit {min(audit_times):.2f}s, "
              f"best raw with next request ahead {min(ahead_times):.2f}s "
              f"(audit / that: {min(audit_times) / min(ahead_times):.3f}; median audit/raw: "
              f"{statistics.median(audit_times) / statistics.median(raw_times):.3f})")
        limit = max(min(raw_times), min(hash_times))
        print(f"limit (slower of best raw download {min(raw_times):.2f}s and best in-memory SHA-256 "
              f"{min(hash_times):.2f}s): {limit:.2f}s; audit / limit {min(audit_times) / limit:.3f}")
        print(f"parallel audits (2 threads, one replica each): best {min(parallel_times):.2f}s vs one after another "
              f"{min(audit_times):.2f}s")
        print(json.dumps({"audit_vs_limit": round(min(audit_times) / limit, 3),
                          "audit_vs_raw_download": round(min(audit_times) / min(raw_times), 3),
                          "audit_parallel_vs_serial": round(min(parallel_times) / min(audit_times), 3),
                          "audit_parallel_vs_serial_median": round(
                              statistics.median(parallel_times) / statistics.median(audit_times), 3)}))


if __name__ == "__main__":
    main()
