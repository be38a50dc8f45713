"""Filesystem source → filesystem store benchmark (issue 20 part 4), run by `make bench`.

In one run, interleaved, on the same disk and the same generated file:
  (a) `cp SOURCE DEST && sync DEST`: the copy, made durable as Coda makes its blob durable (fsync)
  (b) Coda's ingest of that file from a staging directory into a filesystem location (the CHILD of
      benchmarks/ingest.py: a fresh process, warmed by one small ingest, the file ingest timed)
Page cache, the same for both: before each timed run everything dirty is written back (`sync`) and the source is
read once, so both start with the source in the page cache and nothing of the other's writes pending; the
destination is removed. (Dropping the cache needs root and would hit everyone else on a shared machine.)
Prints the times and one JSON line with fs_ingest_vs_cp (best Coda / best cp).

Usage: python benchmarks/fs_ingest.py [--size-gib 1] [--repeat 3]
"""

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from harness import GIB, filesystem_location, make_file  # noqa: E402
from ingest import coda_ingest  # noqa: E402


def settle(path: Path) -> None:
    """Same starting state for each contender: no dirty pages pending, the source in the page cache."""
    subprocess.run(["sync"], check=True)
    with open(path, "rb") as f:
        while f.read(8 * 1024 * 1024):
            pass


def cp(path: Path, dest: Path) -> float:
    start = time.perf_counter()
    subprocess.run(["cp", str(path), str(dest)], check=True)
    subprocess.run(["sync", str(dest)], check=True)
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-gib", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dir", default=None, help="where source and store live (one disk); default: a temp dir")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="coda-fs-bench-", dir=args.dir) as tmp:
        tmp = Path(tmp)
        source = tmp / "staging" / "model"
        source.mkdir(parents=True)
        path = source / "model.safetensors"
        make_file(path, int(args.size_gib * GIB))
        times = {"cp": [], "coda": []}
        for rep in range(args.repeat):
            for name in (["cp", "coda"] if rep % 2 == 0 else ["coda", "cp"]):
                work = tmp / f"work-{rep}-{name}"
                work.mkdir()
                settle(path)
                if name == "cp":
                    times[name].append(cp(path, work / "copy"))
                else:
                    times[name].append(coda_ingest(filesystem_location(work / "store"), source, work)["seconds"])
                shutil.rmtree(work)
            print(f"rep {rep}: cp+sync {times['cp'][-1]:.2f}s, coda {times['coda'][-1]:.2f}s", flush=True)
        best_cp, best_coda = min(times["cp"]), min(times["coda"])
        print(f"{args.size_gib:g} GiB on {tmp}: best cp+sync {best_cp:.2f}s, best coda {best_coda:.2f}s "
              f"(median ratio {statistics.median(times['coda']) / statistics.median(times['cp']):.3f})")
        print(json.dumps({"fs_ingest_vs_cp": round(best_coda / best_cp, 3)}))


if __name__ == "__main__":
    main()
