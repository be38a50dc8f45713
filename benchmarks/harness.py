"""The benchmarks' shared scaffolding: moto_server, buckets, temporary directory, Coda's environment, servers."""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MIB = 1024**2
GIB = 1024**3


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_moto() -> tuple[subprocess.Popen, str]:
    """moto_server on a free port, keeping objects in memory: up to 2 GiB in its own buffers, larger ones spooled
    to a RAM-backed tmpfs where there is one (MOTO_TMPDIR, default /dev/shm). The server's disk writeback is not
    what is being compared, and left in it swamps the differences between the clients."""
    port = free_port()
    env = dict(os.environ)
    tmpdir = os.environ.get("MOTO_TMPDIR", "/dev/shm")
    if os.path.isdir(tmpdir):
        env["TMPDIR"] = tmpdir
    # Objects up to 2 GiB stay in the server's memory (moto spools anything over 5 MiB to a file by default).
    env.setdefault("MOTO_S3_DEFAULT_KEY_BUFFER_SIZE", str(2 * GIB))
    proc = subprocess.Popen(
        [str(Path(sys.executable).with_name("moto_server")), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("moto_server did not start")


def s3(endpoint, **config):
    """A boto3 S3 client for the moto_server at `endpoint`: plain boto3 defaults, except response checksum
    validation (moto echoes a stale checksum on copied objects) and any further botocore Config options given."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="bench", aws_secret_access_key="bench",
        config=Config(response_checksum_validation="when_required", **config),
    )


def empty_bucket(client, bucket):
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for obj in page.get("Contents", []):
            client.delete_object(Bucket=bucket, Key=obj["Key"])


@dataclass
class MotoStore:
    proc: subprocess.Popen  # the moto_server
    endpoint: str
    client: object  # s3(endpoint)
    tmp: Path | None  # the temporary directory, when one was asked for


@contextmanager
def moto_store(*buckets: str, prefix: str | None = None) -> Iterator[MotoStore]:
    """A fresh moto_server holding `buckets` and, given a prefix, a temporary directory of that prefix. On exit the
    buckets are emptied, the server stopped and the directory (with the generated files in it) removed."""
    proc, endpoint = start_moto()
    tmp = None
    try:
        client = s3(endpoint)
        for bucket in buckets:
            client.create_bucket(Bucket=bucket)
        tmp = Path(tempfile.mkdtemp(prefix=prefix)) if prefix else None
        try:
            yield MotoStore(proc, endpoint, client, tmp)
        finally:
            for bucket in buckets:
                empty_bucket(client, bucket)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


def make_file(path: Path, size: int) -> None:
    block = os.urandom(8 * 1024 * 1024)
    with open(path, "wb") as out:
        written = 0
        while written < size:
            n = min(len(block), size - written)
            out.write(block[:n])
            written += n
            block = block[1:] + block[:1]  # cheap variation so blocks differ


def vary(path: Path) -> None:
    """New first bytes, so that no run is answered by an earlier one's blob."""
    with open(path, "r+b") as f:
        f.write(os.urandom(16))


def s3_location(endpoint: str, bucket: str) -> dict:
    """The bench's primary storage location on the moto_server at `endpoint`, for CODA_STORAGE_LOCATIONS."""
    return {"name": "bench", "kind": "s3", "endpoint_url": endpoint, "bucket": bucket, "region": "us-east-1",
            "access_key_env": "AWS_ACCESS_KEY_ID", "secret_key_env": "AWS_SECRET_ACCESS_KEY", "primary": True}


def filesystem_location(root: Path, name: str = "bench") -> dict:
    """A primary storage location in the directory `root`, for CODA_STORAGE_LOCATIONS."""
    return {"name": name, "kind": "filesystem", "root": str(root), "primary": True}


def environment(var_dir: Path, location: dict, *, staging: Path | None = None, in_process: bool = False) -> dict:
    """The environment of a Coda process: this one's, with Django's settings, CODA_VAR_DIR `var_dir`, the staging
    root `staging` (default var_dir/staging), `location` as the only storage location (with the moto credentials
    when it is S3) and WARNING logs.

    in_process: the ingest runs in that one process, on its own SQLite file in var_dir and the in-memory broker.
    Otherwise a worker in another process shares them: DATABASE_URL and CELERY_BROKER_URL as configured, by default
    that SQLite file and the local Redis."""
    env = dict(os.environ)
    database = f"sqlite:///{var_dir / 'bench.sqlite3'}"
    if in_process:
        env.update(DATABASE_URL=database, CELERY_BROKER_URL="memory://")
    else:
        env.setdefault("DATABASE_URL", database)
        env.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        CODA_VAR_DIR=str(var_dir),
        CODA_STAGING_ROOTS=str(staging if staging is not None else var_dir / "staging"),
        CODA_LOG_LEVEL="WARNING",
        CODA_STORAGE_LOCATIONS=json.dumps([location]),
    )
    if location["kind"] == "s3":
        env.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench")
    return env


def start_worker(env: dict, *options: str) -> subprocess.Popen:
    """A Celery worker (`celery -A config worker`, as `make worker`) with WARNING logs and `options`, output dropped."""
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--loglevel", "WARNING", *options],
        env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


def start_gunicorn(port: int, workers: int, env: dict[str, str] | None = None, *, timeout: int | None = None,
                   quiet: bool = False) -> subprocess.Popen:
    """gunicorn serving config.wsgi as `make run` does on 127.0.0.1:`port`, returned once /api/v1/providers/
    answers (60 s at the most). timeout: gunicorn's worker timeout (its default when None); quiet: output dropped."""
    gunicorn = Path(sys.executable).with_name("gunicorn")
    command = [str(gunicorn), "config.wsgi:application", "--bind", f"127.0.0.1:{port}", "--workers", str(workers)]
    if timeout is not None:
        command += ["--timeout", str(timeout)]
    output = subprocess.DEVNULL if quiet else None
    process = subprocess.Popen(
        [*command, "--log-level", "warning"],
        cwd=ROOT,
        env=env if env is not None else os.environ.copy(),
        stdout=output,
        stderr=output,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/providers/", timeout=5).read()
            return process
        except OSError:
            time.sleep(0.2)
    process.terminate()
    raise RuntimeError("gunicorn did not start")
