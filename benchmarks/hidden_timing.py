"""Does the time of an answer tell a restricted model from a missing one? (issue 26 part 5)

In one process (Django's test client, no network in the way) against one database: a restricted model with a
sealed snapshot, asked for by an anonymous client and a signed-in researcher without a grant, on every door that
looks a model up (REST detail, web page, /hf model info, cite, /hf resolve). Each sample times three requests in
a rotating order: the hidden model, a missing name, another missing name. Reported per door and role, in ms:
`hidden_minus_missing` (median of hidden - missing A) beside `missing_minus_missing` (median of |missing B -
missing A|, the noise floor). Goal: hidden_minus_missing within the noise (|value| <= the noise floor + 0.5 ms).

    python benchmarks/hidden_timing.py [--samples 60]      (DATABASE_URL as configured, else a SQLite file)
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DOORS = {
    "rest-detail": "/api/v1/models/lab/{name}/",
    "web-page": "/models/lab/{name}/",
    "hf-info": "/hf/api/models/lab/{name}",
    "cite": "/api/v1/models/lab/{name}/snapshots/{rev}/cite/bibtex",
    "resolve": "/hf/lab/{name}/resolve/main/config.json",
}


def setup(var_dir: Path):
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{var_dir / 'hidden.sqlite3'}")
    os.environ.update(DJANGO_SETTINGS_MODULE="config.settings", CODA_VAR_DIR=str(var_dir), CODA_LOG_LEVEL="WARNING",
                      CELERY_BROKER_URL=os.environ.get("CELERY_BROKER_URL", "memory://"), DJANGO_DEBUG="false")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    import logging

    logging.getLogger("django.request").setLevel(logging.ERROR)  # every request here is a 404 on purpose


def seed() -> str:
    """A restricted model with a sealed snapshot (rows only: no door reaches its bytes); its revision."""
    import hashlib
    from datetime import datetime, timezone

    from django.contrib.auth import get_user_model

    from archive.models import Blob, Snapshot, SnapshotFile
    from catalogue.models import AIModel, Provider

    lab, _ = Provider.objects.get_or_create(slug="lab", defaults={"name": "Lab"})
    model, _ = AIModel.objects.get_or_create(provider=lab, name="secret", defaults={"metadata_access": "restricted"})
    snapshot = model.snapshots.filter(state="sealed").first()
    if snapshot is None:
        revision = hashlib.sha1(b"secret").hexdigest()
        snapshot = Snapshot.objects.create(model=model, source="/x", state="sealed", revision=revision,
                                           sealed_at=datetime(2025, 1, 1, tzinfo=timezone.utc))
        blob, _ = Blob.objects.get_or_create(sha256=hashlib.sha256(b"c").hexdigest(), defaults={"size": 1})
        SnapshotFile.objects.create(snapshot=snapshot, path="config.json", size=1, blob=blob, format="json",
                                    state=SnapshotFile.State.STORED)
    get_user_model().objects.get_or_create(username="bench-researcher")
    return snapshot.revision


def measure(client, door: str, rev: str, samples: int) -> dict:
    urls = {name: DOORS[door].format(name=name, rev=rev) for name in ("secret", "absent-a", "absent-b")}
    times = {name: [] for name in urls}
    names = list(urls)
    for url in urls.values():
        client.get(url)  # warm-up
    for i in range(samples):
        order = names[i % 3:] + names[:i % 3]
        for name in order:
            start = time.perf_counter()
            response = client.get(urls[name])
            times[name].append((time.perf_counter() - start) * 1000)
            assert response.status_code == 404, (urls[name], response.status_code)
    hidden = statistics.median(h - a for h, a in zip(times["secret"], times["absent-a"]))
    noise = statistics.median(abs(b - a) for b, a in zip(times["absent-b"], times["absent-a"]))
    return {"hidden_minus_missing_ms": round(hidden, 3), "missing_minus_missing_ms": round(noise, 3),
            "missing_median_ms": round(statistics.median(times["absent-a"]), 3),
            "within_noise": abs(hidden) <= noise + 0.5}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=60)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="coda-hidden-bench-") as tmp:
        setup(Path(tmp))
        from django.contrib.auth import get_user_model
        from django.test import Client

        rev = seed()
        clients = {"anonymous": Client(), "researcher": Client()}
        clients["researcher"].force_login(get_user_model().objects.get(username="bench-researcher"))
        results = {}
        print(f"{'door':<12} {'role':<11} {'hidden-missing':>15} {'missing-missing':>16} {'missing':>9}  (ms, medians)")
        for door in DOORS:
            for role, client in clients.items():
                r = measure(client, door, rev, args.samples)
                results[f"{door}/{role}"] = r
                print(f"{door:<12} {role:<11} {r['hidden_minus_missing_ms']:>15.3f} "
                      f"{r['missing_minus_missing_ms']:>16.3f} {r['missing_median_ms']:>9.3f}"
                      f"  {'within noise' if r['within_noise'] else 'NOT within noise'}")
        worst = max(abs(r["hidden_minus_missing_ms"]) - r["missing_minus_missing_ms"] for r in results.values())
        print(json.dumps({"hidden_timing_worst_excess_ms": round(worst, 3),
                          "hidden_timing_all_within_noise": all(r["within_noise"] for r in results.values()),
                          "hidden_timing": results}))


if __name__ == "__main__":
    main()
