#!/usr/bin/env python
"""API at scale on SQLite and PostgreSQL: 10,000 models, 200,000 snapshot files, gunicorn, p50/p95.

Runs benchmarks/api_scale_db.py once per database, one after the other (Django binds one database per
process), passing its figures and search plans through, then prints one JSON line with each database's summary
under its name: {"sqlite": {"api_list_p95_ms": ..., "api_search_p95_ms": ..., "api_detail_p95_ms": ..., ...},
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
    """Run the one-database bench in its own process, echo its output, return its final JSON line."""
    command = [sys.executable, str(HERE / "api_scale_db.py"), "--requests", str(args.requests), "--workers", str(args.workers)]
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

    print("\n=== summary (p95 ms; goal: list and search < 50, detail < 20) ===")
    for name, summary in summaries.items():
        index = f", search index-backed: {summary['search_index_scan']}" if "search_index_scan" in summary else ""
        print(f"{name:<11} list {summary['api_list_p95_ms']:>6}  search {summary['api_search_p95_ms']:>6}  "
              f"detail {summary['api_detail_p95_ms']:>6}  queries per list page (10 / 100 rows): "
              f"{summary['queries_page10']} / {summary['queries_page100']}{index}")
    first = summaries[names[0]]
    print(json.dumps({**summaries, "databases": names, **{key: first[key] for key in LEGACY_KEYS}}))


if __name__ == "__main__":
    main()
