#!/usr/bin/env python
"""API at scale on SQLite and PostgreSQL: 10,000 models, 200,000 snapshot files, gunicorn, p50/p95.

Runs benchmarks/api_scale_db.py --no-http once per database, one after the other (Django binds one database per
process: seeding, search plans, queries per request, in-process latency and CPU time per request), passing its
output through; then serves each database with its own gunicorn and measures them over HTTP interleaved, in
alternating blocks of 10 requests with the order rotated, so that what else the machine runs meanwhile falls on
all of them alike. Prints one JSON line with each database's summary under its name: {"sqlite": {"api_list_p95_ms": ..., "api_search_p95_ms": ..., "api_detail_p95_ms": ..., ...},
"postgresql": {..., "search_index_scan": true, ...}, "databases": [...], "list_p95_ms": ..., ...}. The older
top-level keys (list_p95_ms, search_p95_ms, detail_p95_ms, queries_page10, ...) repeat the first database's.

Databases (`--databases`, default `sqlite,postgresql`):
- sqlite: var/bench/api_scale.sqlite3, or DATABASE_URL when that is a sqlite:// URL;
- postgresql: --postgres-url, else $BENCH_POSTGRES_URL, else DATABASE_URL when that is a postgres:// URL, else
  postgres://postgres@127.0.0.1:5432/api_bench. Give it a database of its own (the bench refuses one holding
  other models). Unreachable, the run stops before measuring anything (exit status 2); leave it out with
  `--databases sqlite`.
Seeding is skipped when a database already holds the bench data (seeding PostgreSQL takes about a minute).
Usage: `python benchmarks/api_scale.py [--databases sqlite,postgresql] [--requests N] [--workers N]`.
"""

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from api_http import http_summary, measure_interleaved, print_table, request_counts, server_env
from harness import free_port, start_gunicorn

HERE = Path(__file__).resolve().parent
SQLITE_URL = f"sqlite:///{HERE.parent / 'var' / 'bench' / 'api_scale.sqlite3'}"
POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/api_bench"
LEGACY_KEYS = ("list_p95_ms", "search_p95_ms", "detail_p95_ms", "queries_page10", "queries_page100")


def database_url(name: str, postgres_url: str | None) -> str:
    configured = os.environ.get("DATABASE_URL", "")
    if name == "sqlite":
        return configured if configured.startswith("sqlite:") else SQLITE_URL
    if name == "postgresql":
        if postgres_url or os.environ.get("BENCH_POSTGRES_URL"):
            return postgres_url or os.environ["BENCH_POSTGRES_URL"]
        return configured if configured.startswith(("postgres:", "postgresql:")) else POSTGRES_URL
    sys.exit(f"unknown database {name!r}: use sqlite and/or postgresql")


def check_postgres(url: str) -> None:
    """Fail loudly, before anything is measured, when the PostgreSQL database cannot be reached."""
    import psycopg  # the driver Django uses here; imported only when PostgreSQL is asked for

    try:
        psycopg.connect(url, connect_timeout=5).close()
    except psycopg.Error as exc:
        print(f"PostgreSQL for the API benchmark is unreachable at {url}: {exc}".strip(), file=sys.stderr)
        print("Start it, point --postgres-url / BENCH_POSTGRES_URL at a database of its own, or pass --databases sqlite.",
              file=sys.stderr)
        sys.exit(2)


def run_one(url: str, args: argparse.Namespace) -> dict:
    """Prepare and measure one database in process, in its own process; echo its output, return its JSON line."""
    command = [sys.executable, str(HERE / "api_scale_db.py"), "--no-http", "--requests", str(args.requests),
               "--workers", str(args.workers)]
    process = subprocess.Popen(command, env={**os.environ, "DATABASE_URL": url}, stdout=subprocess.PIPE, text=True)
    last = ""
    for line in process.stdout:
        print(line, end="", flush=True)
        if line.strip():
            last = line
    if process.wait() != 0:
        sys.exit(f"api_scale_db.py failed on {url} (exit status {process.returncode})")
    return json.loads(last)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--databases", default="sqlite,postgresql", help="comma-separated: sqlite, postgresql")
    parser.add_argument("--postgres-url", help=f"PostgreSQL to seed and measure (default: $BENCH_POSTGRES_URL or {POSTGRES_URL})")
    parser.add_argument("--requests", type=int, default=300, help="requests per measured endpoint")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    args = parser.parse_args()

    names = [name.strip() for name in args.databases.split(",") if name.strip()]
    urls = {name: database_url(name, args.postgres_url) for name in names}
    if "postgresql" in urls:
        check_postgres(urls["postgresql"])
    summaries = {}
    for name, url in urls.items():
        print(f"\n=== {name} ===", flush=True)
        summaries[name] = run_one(url, args)

    print(f"\n=== HTTP via gunicorn ({args.workers} workers per database), {', '.join(names)} interleaved ===", flush=True)
    load_before = os.getloadavg()[0]
    servers, bases = [], {}
    try:
        for name, url in urls.items():
            port = free_port()
            servers.append(start_gunicorn(port, args.workers, server_env(url)))
            bases[name] = f"http://127.0.0.1:{port}"
        results: dict[str, dict] = {name: {} for name in names}
        for endpoint, count in request_counts(args.requests).items():
            measured = measure_interleaved(
                {name: (bases[name], summaries[name]["paths"][endpoint]) for name in names}, count
            )
            for name in names:
                results[name][endpoint] = measured[name]
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=30)
    load_after = os.getloadavg()[0]
    for name in names:
        print(f"\n{name}:", end="")
        print_table(results[name])
        rest = {key: value for key, value in summaries[name].items() if key not in ("database", "paths")}
        summaries[name] = {"database": summaries[name]["database"], **http_summary(results[name]), **rest}
    print(f"load average (1 min) before/after: {load_before:.2f} / {load_after:.2f} on {os.cpu_count()} CPUs")

    print("\n=== summary (p95 ms; goal: list and search < 50, detail < 20) ===")
    for name, summary in summaries.items():
        index = f", search index-backed: {summary['search_index_scan']}" if "search_index_scan" in summary else ""
        print(f"{name:<11} list {summary['api_list_p95_ms']:>6}  search {summary['api_search_p95_ms']:>6}  "
              f"detail {summary['api_detail_p95_ms']:>6}  queries per list page (10 / 100 rows): "
              f"{summary['queries_page10']} / {summary['queries_page100']}{index}")
    first = summaries[names[0]]
    print(json.dumps({**summaries, "databases": names, "load_average": round(load_after, 2),
                      **{key: first[key] for key in LEGACY_KEYS}}))


if __name__ == "__main__":
    main()
