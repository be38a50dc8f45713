"""`make run` for real: gunicorn and the Celery worker (+beat) on embedded defaults (SQLite, filesystem broker) in a
temporary CODA_VAR_DIR, a page and a static file answer 200, then SIGTERM to make, or SIGINT to make's process
group (a terminal's Ctrl-C), stops every process it started within 10 s and frees the port.

The install step is left out (UV=true): this environment is the one under test, and `make test` synced it."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from argparse import Namespace
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parents[2]
STOP_WITHIN = 10.0

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _port_free(port: int) -> bool:
    """Nothing accepts connections on the port and a server may bind it again (SO_REUSEADDR, as gunicorn does:
    closed connections may linger in TIME_WAIT, which is not listening)."""
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", port)) == 0:
            return False
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
            sock.listen()
            return True
        except OSError:
            return False


def _get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, response.read()


@pytest.fixture(scope="module")
def var_dir(tmp_path_factory):
    """One temporary var/ for both runs: the second run's migrations are then already applied."""
    return tmp_path_factory.mktemp("make-run-var")


def _start(var_dir: Path, *, home: Path | None = None, sample: bool = True):
    if not shutil.which("make"):
        pytest.skip("make is not installed")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "CELERY_", "DJANGO_", "CODA_"))}
    env.update(CODA_VAR_DIR=str(var_dir), CODA_STAGING_ROOTS=str(var_dir / "staging"), PYTHONUNBUFFERED="1")
    if home is not None:  # where gunicorn would put its control socket by default
        env["HOME"] = str(home)
        env.pop("XDG_RUNTIME_DIR", None)
    sample_uv = (os.environ.get("UV") or shutil.which("uv") or "true") if sample else "true"  # "true": no sample
    make = subprocess.Popen(
        ["make", "--no-print-directory", "run", "UV=true", f"SAMPLE_UV={sample_uv}", f"PORT={port}"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
    )
    output: list[bytes] = []
    threading.Thread(target=lambda: output.extend(iter(make.stdout.readline, b"")), daemon=True).start()
    return make, port, output


def _serving(make, port, output) -> list[psutil.Process]:
    """Wait for a page and a static file; returns every process make started (gunicorn and its workers, the
    Celery worker and its pool)."""
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        assert make.poll() is None, b"".join(output).decode(errors="replace")[-3000:]
        try:
            status, body = _get(base + "/")
            break
        except OSError:
            assert time.monotonic() < deadline, b"".join(output).decode(errors="replace")[-3000:]
            time.sleep(0.3)
    assert status == 200 and b"<html" in body.lower()
    status, css = _get(base + "/static/web/coda.css")
    assert status == 200 and css == (ROOT / "web/static/web/coda.css").read_bytes()

    def tree():
        return psutil.Process(make.pid).children(recursive=True)

    # gunicorn master + 2 workers, celery worker + 2 pool processes, celery beat: all up before the stop.
    while len([p for p in tree() if "gunicorn" in " ".join(p.cmdline()) or "celery" in " ".join(p.cmdline())]) < 7:
        assert time.monotonic() < deadline, [p.cmdline() for p in tree()]
        time.sleep(0.2)
    return [psutil.Process(make.pid), *tree()]


def _assert_quiet_start(port, output) -> None:
    """The URL banner once the site answers (after the supervisor's 'waiting' line), no admin hint when an admin
    exists is tested in test_run_banner; no kombu hostname warning, no Celery start-up banner."""
    deadline = time.monotonic() + 30
    while b"Coda at http://" not in b"".join(output):
        assert time.monotonic() < deadline, b"".join(output).decode(errors="replace")[-3000:]
        time.sleep(0.2)
    text = b"".join(output).decode(errors="replace")
    assert text.index("waiting for the site to answer") < text.index(f"Coda at http://127.0.0.1:{port}/")
    assert "No hostname was supplied" not in text
    assert "[config]" not in text and ".> app:" not in text and "Configuration ->" not in text  # Celery banners


def _assert_stopped(processes, port, output):
    started = time.monotonic()
    gone, alive = psutil.wait_procs(processes, timeout=STOP_WITHIN)
    assert not alive, (alive, b"".join(output).decode(errors="replace")[-3000:])
    assert time.monotonic() - started < STOP_WITHIN
    assert _port_free(port), f"something still listens on {port}"


def _cleanup(make, processes):
    """After a failure: nothing of this run may outlive the test."""
    for process in [*processes, psutil.Process(make.pid)] if make.poll() is None else processes:
        try:
            process.kill()
        except psutil.NoSuchProcess:
            pass


def _sample_sealed(port: int, output) -> dict:
    """The first run's worker preserves the sample model: its snapshot seals, listed by the API."""
    url = f"http://127.0.0.1:{port}/api/v1/models/snakers4/silero-vad/snapshots/"
    deadline = time.monotonic() + 60
    while True:
        status, body = _get(url)
        sealed = [s for s in json.loads(body)["results"] if s["state"] == "sealed"]
        if sealed:
            return sealed[0]
        assert time.monotonic() < deadline, b"".join(output).decode(errors="replace")[-3000:]
        time.sleep(0.5)


def test_sigterm_to_make_stops_everything(var_dir):
    make, port, output = _start(var_dir)
    processes = []
    try:
        processes = _serving(make, port, output)
        _assert_quiet_start(port, output)
        if os.environ.get("UV") or shutil.which("uv"):  # uv fetches the pinned package (else Coda runs without it)
            assert b"ingest queued" in b"".join(output), b"".join(output).decode(errors="replace")[-3000:]
            sealed = _sample_sealed(port, output)
            assert sealed["revision"] and sealed["signing_key_id"]  # make run configures a signing key
            # Public, so anyone's huggingface_hub gets it from /hf without a token (the line make run prints).
            assert b"HF_ENDPOINT=http://127.0.0.1:%d/hf hf download snakers4/silero-vad" % port in b"".join(output)
            status, body = _get(f"http://127.0.0.1:{port}/hf/api/models/snakers4/silero-vad/revision/main")
            assert status == 200 and json.loads(body)["sha"] == sealed["revision"]
            status, body = _get(f"http://127.0.0.1:{port}/hf/snakers4/silero-vad/resolve/main/README.md")
            assert status == 200 and b"Provenance" in body
        make.send_signal(signal.SIGTERM)
        _assert_stopped(processes, port, output)
    finally:
        _cleanup(make, processes)
    assert (var_dir / "broker" / "control").is_dir() and (var_dir / "run").is_dir()  # runtime files under var/


def test_sigint_to_the_process_group_stops_everything(var_dir):
    make, port, output = _start(var_dir)
    processes = []
    try:
        processes = _serving(make, port, output)
        assert b"ingest queued" not in b"".join(output)  # the first run's sample is not ingested again
        os.killpg(make.pid, signal.SIGINT)
        _assert_stopped(processes, port, output)
    finally:
        _cleanup(make, processes)


def test_each_instance_gets_its_own_control_socket_under_its_var_run(tmp_path):
    """gunicorn's control socket defaults to ~/.gunicorn/gunicorn.ctl, one for every instance the user runs; the
    command run.py starts names one under the instance's own var/run instead."""
    from config import run

    first, second = (run.commands(Namespace(host="127.0.0.1", port=port, web_workers=2, web_threads=8,
                                            worker_concurrency=2), tmp_path / name)
                     for name, port in (("a", 8000), ("b", 8001)))
    # Threaded workers: a long streamed download holds a thread, and the timeout watches the worker, not the answer.
    assert first["web"][first["web"].index("--worker-class") + 1] == "gthread"
    sockets = []
    for var, web in ((tmp_path / "a", first["web"]), (tmp_path / "b", second["web"])):
        assert "--no-control-socket" not in web
        path = Path(web[web.index("--control-socket") + 1])
        assert path.parent == var / "run" and path.parent.is_dir()  # created, as gunicorn expects
        sockets.append(path)
    assert sockets[0] != sockets[1]


def test_two_instances_do_not_share_a_control_socket(tmp_path_factory):
    """Two `make run`s by one user at once: each gunicorn's control socket is its own, under its own var/run,
    nothing is created under ~/.gunicorn, and stopping the second leaves the first's socket (and the first) serving."""
    home = tmp_path_factory.mktemp("home")
    runs = []  # (make, port, output, var_dir, processes)
    try:
        for name in ("first", "second"):
            var = tmp_path_factory.mktemp(f"make-run-{name}")
            make, port, output = _start(var, home=home, sample=False)
            runs.append((make, port, output, var, []))
        for make, port, output, _var, processes in runs:
            processes.extend(_serving(make, port, output))
        sockets = [var / "run" / f"gunicorn-{port}.ctl" for _make, port, _output, var, _ in runs]
        for path in sockets:
            assert path.is_socket(), sorted(p.name for p in path.parent.iterdir())
            ctl = subprocess.run([str(Path(sys.executable).with_name("gunicornc")), "-s", str(path), "-c",
                                  "show workers", "-j"], capture_output=True, text=True, timeout=30)
            assert ctl.returncode == 0, ctl.stderr  # a live control interface, not a stale file
        assert not (home / ".gunicorn").exists()

        make, port, output, _var, processes = runs[1]
        make.send_signal(signal.SIGTERM)
        _assert_stopped(processes, port, output)
        assert not sockets[1].exists()  # gunicorn removes its own socket when it stops ...
        assert sockets[0].is_socket()  # ... and only its own
        first_port = runs[0][1]
        assert _get(f"http://127.0.0.1:{first_port}/")[0] == 200
        make, port, output, _var, processes = runs[0]
        make.send_signal(signal.SIGTERM)
        _assert_stopped(processes, port, output)
        assert not sockets[0].exists()
    finally:
        for make, _port, _output, _var, processes in runs:
            _cleanup(make, processes)


def test_run_banner_names_the_url_and_hints_at_an_admin_only_when_none_exists(db, django_user_model, monkeypatch):
    from config import run

    monkeypatch.setattr(run, "superuser_exists", lambda: False)
    assert "make superuser" in run.banner("127.0.0.1", 8000)
    assert "http://127.0.0.1:8000/api/docs/" in run.banner("127.0.0.1", 8000)
    monkeypatch.setattr(run, "superuser_exists", lambda: True)
    assert "make superuser" not in run.banner("127.0.0.1", 8000)


def test_the_runtime_install_holds_no_test_tools(tmp_path):
    """`make run` installs from the lock file without the dev group: the service's packages, none of the test tools
    (a fresh environment, synced as make's install-runtime target does), and Django starts in it."""
    uv = os.environ.get("UV") or shutil.which("uv") or str(ROOT / "var/bootstrap/bin/uv")
    if not Path(uv).exists() and not shutil.which(uv):
        pytest.skip("no uv to sync with")
    env = {**os.environ, "UV_PROJECT_ENVIRONMENT": str(tmp_path / "venv")}
    make = subprocess.run(["make", "--no-print-directory", "install-runtime", f"UV={uv}"], cwd=ROOT, env=env,
                          capture_output=True, timeout=600)
    assert make.returncode == 0, make.stderr.decode(errors="replace")[-2000:]
    python = str(tmp_path / "venv" / "bin" / "python")
    probe = ("import importlib.util as u; "
             "print(*[m for m in ('django', 'celery', 'boto3', 'gunicorn', 'coda_client') if not u.find_spec(m)]); "
             "print(*[m for m in ('pytest', 'moto', 'playwright', 'schemathesis', 'numpy') if u.find_spec(m)])")
    missing, present = subprocess.run([python, "-c", probe], capture_output=True, text=True, check=True,
                                      timeout=60).stdout.split("\n")[:2]
    assert missing == "" and present == "", (missing, present)
    check = subprocess.run([python, "manage.py", "check"], cwd=ROOT, capture_output=True, text=True, timeout=120,
                           env={k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "CODA_"))}
                           | {"CODA_VAR_DIR": str(tmp_path / "var")})
    assert check.returncode == 0, check.stderr[-2000:]
