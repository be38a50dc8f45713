"""`make run`'s supervisor: gunicorn (web, static files through whitenoise), a Celery worker and Celery beat.

Each child runs in its own process group, so the supervisor alone decides how they stop: SIGINT, SIGTERM or
SIGHUP to the supervisor (or to its group, as a terminal's Ctrl-C does) is passed on as SIGTERM to every
child; whatever is still alive after STOP_GRACE seconds is killed with its whole process group (gunicorn's and
the worker's own children included). When one child exits on its own, the others are stopped too. A
child also gets SIGTERM if the supervisor dies without cleaning up (PR_SET_PDEATHSIG, Linux).

Usage: python config/run.py [--host 127.0.0.1] [--port 8000] [--web-workers 2] [--web-threads 8] [--worker-concurrency 2]
Runtime files (beat schedule, pid files, gunicorn's control socket) go under CODA_VAR_DIR (default var/), never
under the user's home, so instances with var/ directories of their own share none of them.
"""

import argparse
import concurrent.futures
import ctypes
import http.client
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Seconds between SIGTERM and SIGKILL, so everything is gone within 10 s. An idle Celery worker on the filesystem
# broker needs ~4-7 s for its warm shutdown (its synchronous loop waits out a 2 s drain and 1 s timer ticks).
STOP_GRACE = 8.0
PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child, before exec: SIGTERM when the supervisor goes away (no orphaned servers)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass  # not Linux: the supervisor's own handlers still stop the children


def control_socket(run_dir: Path, port: int) -> Path:
    """This instance's gunicorn control socket: `gunicornc -s <path>` talks to this instance and no other."""
    return run_dir / f"gunicorn-{port}.ctl"


def commands(args, var_dir: Path) -> dict[str, list[str]]:
    python = sys.executable
    run_dir = var_dir / "run"
    run_dir.mkdir(parents=True, exist_ok=True)
    return {
        "web": [
            python, "-m", "gunicorn", "config.wsgi:application",
            "--bind", f"{args.host}:{args.port}",
            "--workers", str(args.web_workers),
            # Threads: a long streamed download (a sealed file decrypted on the fly, a bag) occupies one thread, not a
            # worker, so the site keeps answering; and the timeout then watches the worker, not one response (a sync
            # worker busy on one answer for 120 s is killed mid-download).
            "--worker-class", "gthread", "--threads", str(args.web_threads),
            "--timeout", "120",
            "--graceful-timeout", "5",
            "--pid", str(run_dir / "gunicorn.pid"),
            # gunicorn's control socket (gunicornc) would default to ~/.gunicorn/gunicorn.ctl (or $XDG_RUNTIME_DIR),
            # shared by every instance the user runs: a second one replaces it, and stopping that one deletes it
            # while the first keeps serving. Each instance's own, under its var/run, named after its port.
            "--control-socket", str(control_socket(run_dir, args.port)),
            "--access-logfile", "-",
        ],
        # --quiet: no start-up banner (the URL banner is the supervisor's, printed once the site answers);
        # CODA_VERBOSE=1 brings it back with the worker's debug log.
        "worker": [
            python, "-m", "celery", "-A", "config", *([] if _verbose() else ["--quiet"]), "worker",
            "--pidfile", str(run_dir / "worker.pid"),
            "--loglevel", "DEBUG" if _verbose() else "INFO",
            "--concurrency", str(args.worker_concurrency),
        ],
        # Its own process, as in production (an embedded beat slowed the worker's shutdown past 8 s).
        "beat": [
            python, "-m", "celery", "-A", "config", *([] if _verbose() else ["--quiet"]), "beat",
            "--schedule", str(var_dir / "celerybeat-schedule"),
            "--pidfile", str(run_dir / "beat.pid"),
            "--loglevel", "INFO",
        ],
    }


def _verbose() -> bool:
    return os.environ.get("CODA_VERBOSE", "").lower() in ("1", "true", "yes")


def site_answers(host: str, port: int) -> bool:
    """True once the web server answers a page (not merely accepts connections)."""
    connection = http.client.HTTPConnection(host, port, timeout=2)
    try:
        connection.request("GET", "/api/v1/providers/?page_size=1")
        return connection.getresponse().status < 500
    except OSError:
        return False
    finally:
        connection.close()


def superuser_exists() -> bool | None:
    """Whether the database has an admin account (None when that cannot be told: the hint is then shown)."""
    try:
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
        sys.path.insert(0, str(ROOT))
        import django

        django.setup()
        from django.contrib.auth import get_user_model

        return get_user_model().objects.filter(is_superuser=True).exists()
    except Exception:  # noqa: BLE001 - a hint, never a reason to stop the site
        return None


def banner(host: str, port: int, has_superuser: bool | None = None) -> str:
    base = f"http://{host}:{port}"
    lines = ["", f"  Coda at {base}/  (API: {base}/api/v1/, docs: {base}/api/docs/, admin: {base}/admin/)"]
    if not (superuser_exists() if has_superuser is None else has_superuser):
        lines.append("  Create an admin user with: make superuser")
    lines += ["  Ctrl-C stops it.", ""]
    return "\n".join(lines)


def _signal_group(process: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(process.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def stop(children: dict[str, subprocess.Popen]) -> None:
    """SIGTERM each child (gunicorn's master and Celery's main process stop their own workers), then SIGKILL
    whatever remains of its process group after STOP_GRACE seconds."""
    for process in children.values():
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE
    while time.monotonic() < deadline:
        for process in children.values():
            process.poll()
        if not any(_group_alive(p.pid) for p in children.values()):
            return
        time.sleep(0.1)
    for name, process in children.items():
        if _group_alive(process.pid):
            print(f"run: {name} still running after {STOP_GRACE:.0f}s; killing it", file=sys.stderr, flush=True)
            _signal_group(process, signal.SIGKILL)
    for process in children.values():
        try:
            process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            pass


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--web-threads", type=int, default=8)
    parser.add_argument("--worker-concurrency", type=int, default=2)
    args = parser.parse_args(argv)

    var_dir = Path(os.environ.get("CODA_VAR_DIR", ROOT / "var")).resolve()
    stopping = False

    def request_stop(signum, frame):
        nonlocal stopping
        stopping = True

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, request_stop)

    children: dict[str, subprocess.Popen] = {}
    # Whether an admin exists, found while the children start (Django's set-up takes seconds): the banner's hint.
    admin = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="admin-check").submit(superuser_exists)
    try:
        for name, command in commands(args, var_dir).items():
            if stopping:
                break
            children[name] = subprocess.Popen(command, cwd=ROOT, start_new_session=True, preexec_fn=_die_with_parent)
        if not stopping:
            pids = ", ".join(f"{name} pid {p.pid}" for name, p in children.items())
            print(f"run: started ({pids}); waiting for the site to answer", flush=True)
        announced = False
        while not stopping:
            exited = [name for name, p in children.items() if p.poll() is not None]
            if exited:
                print(f"run: {', '.join(exited)} exited; stopping the rest", file=sys.stderr, flush=True)
                break
            if not announced and site_answers(args.host, args.port):
                try:
                    has_superuser = admin.result(timeout=30)
                except concurrent.futures.TimeoutError:
                    has_superuser = None
                print(banner(args.host, args.port, bool(has_superuser)), flush=True)  # the URL, once it works
                announced = True
            time.sleep(0.2)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)  # a second Ctrl-C must not interrupt the clean-up
        stop(children)
    return 0 if stopping else 1


if __name__ == "__main__":
    sys.exit(main())
