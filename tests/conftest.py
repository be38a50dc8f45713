"""Shared fixtures: roles and API clients, the Celery worker, the S3 server, staging directories.

Services: with DATABASE_URL / CELERY_BROKER_URL set (CI), the suite runs against those real
servers and fails loudly when one is unreachable; with nothing set it uses embedded defaults
(SQLite, in-memory broker with an in-process worker, moto_server over HTTP).
"""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest
from knox.models import AuthToken
from rest_framework.test import APIClient

from tests.factories import CuratorFactory, UserFactory
from tests.plugins import REQUIRE_SERVICES

BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
# CI sets this: every service, browser and client must be there, so a skip is a failure (no silent skips).
# A skipped test fails under CODA_REQUIRE_SERVICES=1 (CI): see the plugin.
pytest_plugins = ["tests.plugins.require_services"]


def _reachable(url: str) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 6379), timeout=3):
            return True
    except OSError:
        return False


def pytest_configure(config):
    if REQUIRE_SERVICES and not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        raise pytest.UsageError("CODA_REQUIRE_SERVICES=1 needs DATABASE_URL=postgres://… (the real database)")
    if REQUIRE_SERVICES and not BROKER_URL.startswith("redis"):
        raise pytest.UsageError("CODA_REQUIRE_SERVICES=1 needs CELERY_BROKER_URL=redis://… (the real broker)")
    if BROKER_URL and not BROKER_URL.startswith(("memory", "filesystem")):
        if not _reachable(BROKER_URL):
            raise pytest.UsageError(f"CELERY_BROKER_URL={BROKER_URL} is configured but unreachable")
    from config.celery import app

    app.conf.broker_url = BROKER_URL if BROKER_URL.startswith(("redis", "amqp")) else "memory://"
    app.conf.broker_transport_options = {"visibility_timeout": 3600} if BROKER_URL.startswith("redis") else {}


def pytest_report_header(config):
    from django.conf import settings

    return [
        f"coda database: {settings.DATABASES['default']['ENGINE']}",
        f"coda broker: {BROKER_URL or 'memory:// (embedded)'}",
    ]


@pytest.fixture(scope="session")
def _sealing_key_dir(tmp_path_factory) -> Path:
    """One key directory for the session: rows a module-scoped fixture made (and their key files) outlive a test."""
    return tmp_path_factory.mktemp("sealing-keys")


@pytest.fixture(autouse=True)
def _isolated_var(settings, tmp_path, _sealing_key_dir):
    """Staging and storage roots live in the test's temporary directory."""
    staging = tmp_path / "staging"
    staging.mkdir()
    settings.CODA_STAGING_ROOTS = [staging.resolve()]
    settings.CODA_STORAGE_LOCATIONS = [
        {"name": "local", "kind": "filesystem", "root": str(tmp_path / "storage"), "primary": True}
    ]
    settings.CODA_SIGNING_KEY_FILE = str(tmp_path / "signing" / "archive-key.pem")  # none unless a test makes one
    settings.CODA_SEALING_KEY_DIR = str(_sealing_key_dir)  # outside every storage and staging root
    return staging


@pytest.fixture(autouse=True)
def _isolated_cache(settings, request):
    """Each test its own cache, so sign-in/token throttling counters never carry over between tests."""
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": request.node.nodeid}
    }


@pytest.fixture
def staging_dir(settings) -> Path:
    return settings.CODA_STAGING_ROOTS[0]


def _token_client(user) -> APIClient:
    client = APIClient()
    _, token = AuthToken.objects.create(user=user, expiry=None)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    client.user = user
    client.token = token
    return client


@pytest.fixture
def anon_client() -> APIClient:
    return APIClient()


@pytest.fixture
def researcher(db):
    return UserFactory(username="researcher")


@pytest.fixture
def curator(db):
    return CuratorFactory(username="curator")


@pytest.fixture
def researcher_client(researcher) -> APIClient:
    return _token_client(researcher)


@pytest.fixture
def curator_client(curator) -> APIClient:
    return _token_client(curator)


# --- S3 server -------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class MotoServer:
    """moto_server in its own process: a real S3-compatible HTTP server that can be stopped and restarted."""

    def __init__(self):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = None

    def start(self):
        moto = Path(sys.executable).with_name("moto_server")
        self.process = subprocess.Popen(
            [str(moto), "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("moto_server did not start")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)

    def freeze(self):
        """SIGSTOP: the port still accepts connections (the kernel's backlog) but nothing answers."""
        os.kill(self.process.pid, signal.SIGSTOP)

    def thaw(self):
        os.kill(self.process.pid, signal.SIGCONT)


@pytest.fixture(scope="session")
def s3_server():
    server = MotoServer().start()
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    yield server
    server.stop()


# --- Celery worker ------------------------------------------------------------------------------


@pytest.fixture
def celery_worker(transactional_db, settings):
    """A real Celery worker consuming from the configured broker (Redis on CI; in-memory otherwise),
    running in this process so it shares the test database."""
    from celery.contrib.testing.worker import start_worker

    from config.celery import app

    settings.CODA_TASK_RETRY_BACKOFF = 0
    app.conf.task_always_eager = False
    app.control.purge()  # nothing left over from earlier tests
    with start_worker(app, pool="threads", concurrency=2, perform_ping_check=False, shutdown_timeout=30) as worker:
        yield worker


def wait_for(predicate, timeout=60.0, interval=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("condition not met within timeout")


@pytest.fixture
def s3_location(s3_server, settings, request):
    """A fresh bucket on the S3 server, configured as the primary storage location."""
    import boto3

    bucket = f"coda-{abs(hash(request.node.nodeid)) % 10**10}"
    from botocore.config import Config

    client = boto3.client(
        "s3",
        endpoint_url=s3_server.url,
        region_name="us-east-1",
        config=Config(response_checksum_validation="when_required"),
    )
    client.create_bucket(Bucket=bucket)
    settings.CODA_STORAGE_LOCATIONS = [
        {
            "name": "s3main",
            "kind": "s3",
            "endpoint_url": s3_server.url,
            "bucket": bucket,
            "prefix": "archive",
            "region": "us-east-1",
            "access_key_env": "AWS_ACCESS_KEY_ID",
            "secret_key_env": "AWS_SECRET_ACCESS_KEY",
            "primary": True,
        }
    ]
    client.bucket = bucket
    return client
