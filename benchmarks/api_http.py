"""HTTP side of the API benchmark (no Django here): server environment, timed requests, percentiles, summary keys."""

import os
import statistics
import time
import urllib.request

# How many requests each measured endpoint gets, relative to --requests (the web pages are slow and few).
WEB_HOME_PATHS = ["/", "/?status=retired", "/?q=vision", "/?provider=prov-03"]
# Derived on the fly from 200,000 files and their replicas (archive/preservation.py snapshot_health).
WEB_PRESERVATION_PATHS = ["/?preservation=preserved", "/?preservation=not_preserved"]


def server_env(database_url: str) -> dict[str, str]:
    """The environment the measured servers (and the in-process client) run with."""
    env = {**os.environ, "DATABASE_URL": database_url, "DJANGO_DEBUG": "false"}  # production's: no debug query log
    env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    # Persistent connections, as production should run: without them every request reconnects (and, on
    # SQLite, re-runs the WAL pragma), which cost ~15 ms per request here.
    env.setdefault("DJANGO_CONN_MAX_AGE", "60")
    env.setdefault("CODA_LOG_LEVEL", "WARNING")
    return env


def request_counts(requests: int) -> dict[str, int]:
    return {
        "list": requests, "search": requests, "detail": requests, "snapshot_detail": requests,
        "web_home": max(40, requests // 5), "web_preservation": 10,
    }


def timed(url: str) -> float:
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=30) as response:
        response.read()
        if response.status != 200:
            raise RuntimeError(f"{url} answered {response.status}")
    return (time.perf_counter() - started) * 1000


def summarize(samples: list[float]) -> dict:
    samples = sorted(samples)

    def pct(q: float) -> float:
        return samples[max(0, int(round(q * len(samples))) - 1)]

    return {"p50": statistics.median(samples), "p95": pct(0.95), "p99": pct(0.99), "max": samples[-1], "n": len(samples)}


def measure(base: str, paths: list[str], requests: int) -> dict:
    for path in paths[:5]:
        timed(base + path)  # warm-up
    samples = [timed(base + paths[i % len(paths)]) for i in range(requests)]
    return summarize(samples)


def measure_interleaved(servers: dict[str, tuple[str, list[str]]], requests: int, block: int = 10) -> dict[str, dict]:
    """Several servers (name -> base URL, paths) measured in alternating blocks of `block` requests, the order
    rotated each round, so that whatever else the machine does in the meantime falls on all of them alike."""
    for base, paths in servers.values():
        for path in paths[:5]:
            timed(base + path)  # warm-up
    samples: dict[str, list[float]] = {name: [] for name in servers}
    names = list(servers)
    done = 0
    while done < requests:
        size = min(block, requests - done)
        for name in names:
            base, paths = servers[name]
            samples[name] += [timed(base + paths[(done + i) % len(paths)]) for i in range(size)]
        names = names[1:] + names[:1]
        done += size
    return {name: summarize(values) for name, values in samples.items()}


def print_table(results: dict[str, dict]) -> None:
    print(f"\n{'endpoint':<38}{'p50 ms':>10}{'p95 ms':>10}{'p99 ms':>10}{'max ms':>10}{'n':>6}")
    for name, r in results.items():
        print(f"{name:<38}{r['p50']:>10.1f}{r['p95']:>10.1f}{r['p99']:>10.1f}{r['max']:>10.1f}{r['n']:>6}")


def http_summary(results: dict[str, dict]) -> dict:
    """The JSON keys taken from the HTTP measurements (api_* are the goal's; the others are the older names)."""
    return {
        "api_list_p95_ms": round(results["list"]["p95"], 1),
        "api_search_p95_ms": round(results["search"]["p95"], 1),
        "api_detail_p95_ms": round(results["detail"]["p95"], 1),
        "list_p95_ms": round(results["list"]["p95"], 1),
        "search_p95_ms": round(results["search"]["p95"], 1),
        "detail_p95_ms": round(results["detail"]["p95"], 1),
        "list_p50_ms": round(results["list"]["p50"], 1),
        "list_p99_ms": round(results["list"]["p99"], 1),
        "search_p99_ms": round(results["search"]["p99"], 1),
        "search_p50_ms": round(results["search"]["p50"], 1),
        "detail_p50_ms": round(results["detail"]["p50"], 1),
        "detail_p99_ms": round(results["detail"]["p99"], 1),
        "snapshot_detail_p50_ms": round(results["snapshot_detail"]["p50"], 1),
        "snapshot_detail_p95_ms": round(results["snapshot_detail"]["p95"], 1),
        "web_home_p95_ms": round(results["web_home"]["p95"], 1),
        "web_preservation_filter_p95_ms": round(results["web_preservation"]["p95"], 1),
    }
