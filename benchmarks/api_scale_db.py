#!/usr/bin/env python
"""API at scale on one database (run by benchmarks/api_scale.py once per database; runs alone as well).

Seeds 10,000 models and 200,000 snapshot files into DATABASE_URL (default: the SQLite file
var/bench/api_scale.sqlite3) unless they are there already; prints the plan of each search statement, p50/p95
latency and CPU time per request of the model list, search and model detail in process (Django's test client),
the SQL queries per request at page sizes 10 and 100, and, served by gunicorn, p50/p95 latency of the model list
(plain and filtered), search, model detail, snapshot detail and the web home page; then one JSON line for that
database (api_list_p95_ms, api_search_p95_ms, api_detail_p95_ms, search_index_scan, the older list_p95_ms,
search_p95_ms, detail_p95_ms, queries_page10, queries_page100 and extras). With --no-http the gunicorn part is
left to the caller, and the JSON line carries the paths to measure.
Usage: `DATABASE_URL=... python benchmarks/api_scale_db.py [--requests N] [--workers N] [--no-http]`.
"""

import argparse
import hashlib
import json
import os
import random
import sys
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from api_http import (  # noqa: E402  benchmarks/, the script's directory, is on sys.path
    WEB_HOME_PATHS, WEB_PRESERVATION_PATHS, http_summary, measure, print_table, request_counts, server_env, summarize,
)
from harness import free_port, start_gunicorn  # noqa: E402

BENCH_DIR = ROOT / "var" / "bench"
BENCH_DIR.mkdir(parents=True, exist_ok=True)
os.environ.update(server_env(os.environ.get("DATABASE_URL") or f"sqlite:///{BENCH_DIR / 'api_scale.sqlite3'}"))

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from archive.models import Blob, Replica, Snapshot, SnapshotFile, StorageLocation  # noqa: E402
from catalogue.models import AIModel, PlatformAvailability, Provider, Retirement, Tag  # noqa: E402

SEARCH_INDEX = "catalogue_aimodel_search_trgm"  # catalogue/migrations/0006 (PostgreSQL)
MODELS = 10_000
FILES_PER_MODEL = 20  # 200,000 snapshot files
PROVIDERS = 25
WORDS = ["chat", "vision", "code", "instruct", "reasoning", "audio", "embedding", "long-context", "mini", "turbo"]


def seeded() -> bool:
    return AIModel.objects.count() >= MODELS and SnapshotFile.objects.count() >= MODELS * FILES_PER_MODEL


def seed() -> None:
    """Bulk-insert the catalogue and archive rows (no bytes are stored: the API reads metadata only)."""
    rng = random.Random(42)
    today = timezone.localdate()
    started = time.perf_counter()
    with transaction.atomic():
        providers = Provider.objects.bulk_create(
            [Provider(slug=f"prov-{i:02d}", name=f"Provider {i}") for i in range(PROVIDERS)]
        )
        tags = Tag.objects.bulk_create([Tag(slug=w, name=w) for w in WORDS])
        models = []
        for i in range(MODELS):
            kind = i % 4  # active, legacy, deprecated, retired
            deprecated = retires = legacy = None
            if kind == 1:
                legacy = today - timedelta(days=rng.randint(1, 300))
            elif kind == 2:
                deprecated = today - timedelta(days=rng.randint(1, 100))
                retires = today + timedelta(days=rng.randint(1, 400))
            elif kind == 3:
                retires = date(2019, 1, 1) + timedelta(days=rng.randint(0, 2400))
                deprecated = retires - timedelta(days=rng.randint(60, 365))
            words = rng.sample(WORDS, 2)
            models.append(
                AIModel(
                    provider=providers[i % PROVIDERS],
                    name=f"model-{i:05d}-{words[0]}",
                    repo_key=f"{providers[i % PROVIDERS].slug}/model-{i:05d}-{words[0]}",  # bulk_create skips save()
                    display_name=f"Model {i} {words[0].title()}",
                    family=f"family-{i % 300}",
                    description=f"A {words[0]} and {words[1]} model number {i}. " * 3,
                    release_date=date(2018, 1, 1) + timedelta(days=rng.randint(0, 2500)),
                    legacy_on=legacy,
                    deprecated_on=deprecated,
                    retires_on=retires,
                    file_access=rng.choice(["public", "gated", "gated", "restricted"]),
                )
            )
        models = AIModel.objects.bulk_create(models, batch_size=2000)
        PlatformAvailability.objects.bulk_create(
            [
                PlatformAvailability(
                    model=m, platform="maker-api", identifier=m.name, is_maker_platform=True,
                    deprecated_on=m.deprecated_on, retires_on=m.retires_on,
                )
                for m in models
            ],
            batch_size=2000,
        )
        through = AIModel.tags.through
        through.objects.bulk_create(
            [through(aimodel_id=m.pk, tag_id=tags[j % len(tags)].pk) for k, m in enumerate(models) for j in (k, k + 3)],
            batch_size=5000,
        )
        Retirement.objects.bulk_create(
            [Retirement(model=m, reason_category="superseded", reason="bench") for m in models if m.retires_on and m.retires_on <= today],
            batch_size=2000,
        )
        location, _ = StorageLocation.objects.get_or_create(
            name="bench", defaults={"kind": "filesystem", "root_path": str(BENCH_DIR / "storage"), "is_primary": False}
        )
        now = timezone.now()
        snapshots = Snapshot.objects.bulk_create(
            [
                Snapshot(model=m, revision=hashlib.sha1(m.name.encode()).hexdigest(), state="sealed", source="bench", sealed_at=now)
                for m in models
            ],
            batch_size=2000,
        )
        blobs = Blob.objects.bulk_create(
            [
                Blob(sha256=hashlib.sha256(f"{s.pk}/{j}".encode()).hexdigest(), size=1000 + j)
                for s in snapshots
                for j in range(FILES_PER_MODEL)
            ],
            batch_size=5000,
        )
        Replica.objects.bulk_create(
            [Replica(blob=b, location=location, key=f"blobs/{b.sha256}", state="verified", last_verified_at=now) for b in blobs],
            batch_size=5000,
        )
        SnapshotFile.objects.bulk_create(
            [
                SnapshotFile(
                    snapshot=snapshots[n // FILES_PER_MODEL],
                    path=f"shards/part-{n % FILES_PER_MODEL:03d}.safetensors",
                    size=b.size,
                    blob=b,
                    kind="weights",
                    format="safetensors",
                    state="stored",
                    bytes_done=b.size,
                )
                for n, b in enumerate(blobs)
            ],
            batch_size=5000,
        )
    with connection.cursor() as cursor:
        # PostgreSQL: autovacuum would vacuum and analyse after a load this size within a minute or so; done here
        # so that measuring does not race it. (Outside the transaction above: VACUUM cannot run inside one.)
        cursor.execute("ANALYZE" if connection.vendor == "sqlite" else "VACUUM ANALYZE")
    print(f"seeded {MODELS} models, {SnapshotFile.objects.count()} snapshot files in {time.perf_counter() - started:.1f} s")


def database_cpu_seconds() -> float | None:
    """CPU time used so far by the PostgreSQL backend serving this connection (local server only), else None.
    SQLite runs inside this process, so process_time() already holds its share."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:  # a server on another machine
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def in_process(paths: list[str], requests: int) -> dict:
    """Server-side time without HTTP or scheduling between processes (Django test client, same database), and
    the CPU time a request costs (this process plus the PostgreSQL backend). CPU time depends less than latency
    on what else the machine runs, but on a shared machine it still varies (25-40 ms for the same list here)."""
    client = Client()
    for path in paths[:5]:
        client.get(path)  # warm-up, as measure() does over HTTP
    samples = []
    cpu_started, db_started = time.process_time(), database_cpu_seconds()
    for i in range(requests):
        started = time.perf_counter()
        client.get(paths[i % len(paths)])
        samples.append((time.perf_counter() - started) * 1000)
    cpu = time.process_time() - cpu_started
    db_cpu = None if db_started is None else database_cpu_seconds() - db_started
    result = summarize(samples)
    result["cpu_ms"] = (cpu + (db_cpu or 0)) * 1000 / requests
    result["db_cpu_ms"] = None if db_cpu is None else db_cpu * 1000 / requests
    return result


def queries_for(path: str) -> int:
    client = Client()
    client.get(path)  # warm caches (content types, etc.)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return len(ctx.captured_queries)


def search_plans(paths: list[str]) -> dict[str, str]:
    """The plan of the statement that finds each search's page of models (the first one with a LIKE), as the API
    sends it: EXPLAIN ANALYZE on PostgreSQL, EXPLAIN QUERY PLAN on SQLite."""
    client = Client()
    plans = {}
    for path in paths:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(path).status_code == 200, path
        sql = next(q["sql"] for q in ctx.captured_queries if " LIKE " in q["sql"])
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
                plans[path] = "\n".join(row[0] for row in cursor.fetchall())
            else:
                cursor.execute("EXPLAIN QUERY PLAN " + sql)
                plans[path] = "\n".join(str(row[-1]) for row in cursor.fetchall())
    return plans


def index_backed(plan: str) -> bool:
    """PostgreSQL: the models are reached through an index (the trigram one, or the sort key's index walked in
    order and stopped at the page's end when matches are common), never by a sequential scan."""
    return "Seq Scan on catalogue_aimodel " not in plan


def search_index_present() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", [SEARCH_INDEX])
        return cursor.fetchone()[0] is not None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300, help="requests per measured endpoint")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--no-http", action="store_true",
                        help="skip the gunicorn measurements and put the paths to measure in the JSON line "
                             "(api_scale.py then measures every database's server interleaved)")
    args = parser.parse_args()

    print(f"database: {connection.vendor} ({connection.settings_dict['NAME']}), "
          f"DJANGO_CONN_MAX_AGE={os.environ['DJANGO_CONN_MAX_AGE']}, gunicorn workers={args.workers}, "
          f"CODA_GC_FREEZE={settings.CODA_GC_FREEZE}")
    call_command("migrate", verbosity=0)
    if not seeded():
        if AIModel.objects.exists():
            sys.exit("The benchmark database holds other data; point DATABASE_URL at an empty database.")
        seed()
    else:
        print("bench data already present; not seeding again")

    rng = random.Random(7)
    sample = AIModel.objects.select_related("provider").filter(
        pk__in=rng.sample(sorted(AIModel.objects.values_list("pk", flat=True)), 50)
    )
    lists = [
        "/api/v1/models/?page_size=50",
        "/api/v1/models/?page_size=50&status=retired",
        "/api/v1/models/?page_size=50&provider=prov-07",
        "/api/v1/models/?page_size=50&status=deprecated&provider=prov-03,prov-04",
        "/api/v1/models/?page_size=50&retiring_after=2021-01-01&retiring_before=2022-12-31",
        "/api/v1/models/?page_size=50&ordering=-retires_on",
    ]
    searches = [
        "/api/v1/models/?page_size=50&q=vision",
        "/api/v1/models/?page_size=50&q=model-0042",
        "/api/v1/models/?page_size=50&q=reasoning+code",
        "/api/v1/models/?page_size=50&q=family-12",
    ]
    paths = {
        "list": lists,
        "search": searches,
        "detail": [f"/api/v1/models/{m.provider.slug}/{m.name}/" for m in sample],
        "snapshot_detail": [f"/api/v1/models/{m.provider.slug}/{m.name}/snapshots/main/" for m in sample],
        "web_home": WEB_HOME_PATHS,
        "web_preservation": WEB_PRESERVATION_PATHS,
    }

    import config.wsgi  # noqa: F401  the web process's own setup (config.gc_tuning), as gunicorn loads it

    plans = search_plans(searches)
    for path, plan in plans.items():
        print(f"\nsearch plan ({connection.vendor}) for {path}:\n{plan}")

    load_before = os.getloadavg()[0]
    inproc = {
        "list (in-process)": in_process(lists, 120),
        "search (in-process)": in_process(searches, 120),
        "detail (in-process)": in_process(paths["detail"], 120),
    }
    queries_page10 = queries_for("/api/v1/models/?page_size=10")
    queries_page100 = queries_for("/api/v1/models/?page_size=100")
    # Filtered and searched lists too: extra queries would come from their joins, not the plain list.
    filtered, searched = "/api/v1/models/?status=deprecated&provider=prov-03,prov-04&tag=vision", "/api/v1/models/?q=model+vision"
    queries_other = {
        f"queries_{name}_page{size}": queries_for(f"{url}&page_size={size}")
        for name, url in (("filtered", filtered), ("search", searched))
        for size in (10, 100)
    }
    web_queries_home = queries_for("/")

    results = {}
    if not args.no_http:
        port = free_port()
        server = start_gunicorn(port, args.workers)
        base = f"http://127.0.0.1:{port}"
        try:
            results = {name: measure(base, paths[name], count) for name, count in request_counts(args.requests).items()}
        finally:
            server.terminate()
            server.wait(timeout=30)

    load_after = os.getloadavg()[0]
    print_table({**{f"{name} (HTTP via gunicorn)": r for name, r in results.items()}, **inproc})
    print(f"load average (1 min) before/after: {load_before:.2f} / {load_after:.2f} on {os.cpu_count()} CPUs")
    for name, r in inproc.items():
        db = "" if r["db_cpu_ms"] is None else f" (of which the PostgreSQL backend {r['db_cpu_ms']:.1f} ms)"
        print(f"CPU per request, {name.split()[0]}: {r['cpu_ms']:.1f} ms{db}")
    print(f"\nSQL queries per model-list request: page_size=10 -> {queries_page10}, page_size=100 -> {queries_page100}")
    print(f"SQL queries per filtered / searched list request: {queries_other}")
    print(f"SQL queries for the web home page: {web_queries_home}")
    summary = {
        "database": connection.vendor,
        **(http_summary(results) if results else {}),
        "queries_page10": queries_page10,
        "queries_page100": queries_page100,
        **queries_other,
        "queries_constant_in_page_size": queries_page10 == queries_page100
        and all(queries_other[f"queries_{n}_page10"] == queries_other[f"queries_{n}_page100"] for n in ("filtered", "search")),
    }
    if connection.vendor == "postgresql":
        used = [path for path, plan in plans.items() if f"Index Scan on {SEARCH_INDEX}" in plan]
        summary["search_index_present"] = search_index_present()
        summary["search_index_scan"] = bool(used) and all(index_backed(plan) for plan in plans.values())
        summary["search_trigram_plans"] = f"{len(used)}/{len(plans)}"
    summary.update({
        "list_inprocess_p95_ms": round(inproc["list (in-process)"]["p95"], 1),
        "search_inprocess_p95_ms": round(inproc["search (in-process)"]["p95"], 1),
        "detail_inprocess_p95_ms": round(inproc["detail (in-process)"]["p95"], 1),
        **{f"{name.split()[0]}_cpu_ms": round(r["cpu_ms"], 1) for name, r in inproc.items()},
        "load_average": round(load_after, 2),
    })
    if args.no_http:
        summary["paths"] = paths
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
