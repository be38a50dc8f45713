"""Two large sealed downloads at once do not stop the site (issue 27 part 4), through gunicorn exactly as `make run`
starts it (config/run.py's web command: 2 workers, gthread threads) against the test database and moto S3/KMS over
HTTP. Two curators' downloads of a sealed file (decrypted on the fly) are opened and left unread after their first
MiB, so each holds a server thread blocked on a full socket; the API and the model page must still answer, then
both downloads finish byte-identical. With gunicorn's sync workers the two stalled answers would hold both
workers and the third request would wait until a download ends."""

import hashlib
import http.client
import json
import os
import socket
import subprocess
import time
from argparse import Namespace

import pytest
from knox.models import AuthToken

from archive.sealing import keys
from config.run import commands
from tests.archive.assurance.test_assurance import preserve, sync_tasks, two_locations  # noqa: F401 (fixtures)
from tests.archive.assurance.test_faults import database_url
from tests.archive.helpers import make_tree, random_bytes
from tests.archive.sealing.test_sealed_holdings import sealing  # noqa: F401 (fixture)
from tests.factories import AIModelFactory, CuratorFactory, ProviderFactory

MIB = 1024 * 1024
SIZE = 48 * MIB
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def sealed_server(transactional_db, sealing, two_locations, sync_tasks, staging_dir, settings, tmp_path):  # noqa: F811
    keys.sealing_key_init()
    model = AIModelFactory(provider=ProviderFactory(slug="lab"), name="big-sealed", file_access="gated")
    data = random_bytes(SIZE, seed=11)
    make_tree(staging_dir / "big", {"model.safetensors": data})
    snapshot = preserve(model, staging_dir / "big", sync_tasks)
    assert snapshot.files.get().blob.replicas.filter(sealed_with__isnull=False).exists()
    curator = CuratorFactory(username="reader")
    _, token = AuthToken.objects.create(user=curator, expiry=None)

    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CODA_", "DJANGO_"))}
    env.update(
        DATABASE_URL=database_url(), CODA_VAR_DIR=str(tmp_path / "var"),
        CODA_STORAGE_LOCATIONS=json.dumps(settings.CODA_STORAGE_LOCATIONS),
        CODA_SEALING_KEY_DIR=settings.CODA_SEALING_KEY_DIR, CODA_KMS_KEY_ID=settings.CODA_KMS_KEY_ID,
        CODA_KMS_ENDPOINT_URL=settings.CODA_KMS_ENDPOINT_URL, CODA_ENCRYPT_AT_REST="gated",
        CODA_ESCROW_RECIPIENTS=",".join(settings.CODA_ESCROW_RECIPIENTS),
        CODA_DOWNLOAD_S3_REDIRECT="false",
    )
    web = commands(Namespace(host="127.0.0.1", port=port, web_workers=2, web_threads=8,
                                worker_concurrency=1), tmp_path / "var")["web"]
    log = open(tmp_path / "gunicorn.log", "wb")
    server = subprocess.Popen(web, cwd=ROOT, env=env, stdout=log, stderr=log, start_new_session=True)
    deadline = time.monotonic() + 60
    while True:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/api/v1/providers/")
            if connection.getresponse().status == 200:
                break
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                raise AssertionError((tmp_path / "gunicorn.log").read_text()) from None
            time.sleep(0.3)
    try:
        yield {"port": port, "token": token, "model": model, "snapshot": snapshot, "data": data}
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def _get(port: int, path: str, timeout: float, headers: dict | None = None) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    connection.request("GET", path, headers=headers or {})
    response = connection.getresponse()
    return response.status, response.read()


def test_two_stalled_sealed_downloads_leave_the_site_answering(sealed_server):
    port, token, model = sealed_server["port"], sealed_server["token"], sealed_server["model"]
    path = f"/api/v1/models/{model.repo_id}/snapshots/{sealed_server['snapshot'].revision}/files/model.safetensors"
    downloads = []
    for _ in range(2):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        connection.connect()  # a small receive window, so the unread answer soon fills the socket: 48 MiB never fit
        connection.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        connection.request("GET", path, headers={"Authorization": f"Bearer {token}"})
        response = connection.getresponse()
        assert response.status == 200, response.read()[:300]
        digest = hashlib.sha256(response.read(MIB))
        downloads.append((connection, response, digest))
    # Both answers are open and unread: their server threads are blocked writing decrypted bytes.
    for page in ("/api/v1/models/", f"/models/{model.repo_id}/", "/api/v1/providers/"):
        status, _ = _get(port, page, timeout=20)
        assert status == 200, page
    for connection, response, digest in downloads:
        for chunk in iter(lambda: response.read(4 * MIB), b""):
            digest.update(chunk)
        connection.close()
        assert digest.hexdigest() == hashlib.sha256(sealed_server["data"]).hexdigest()
