"""config.gc_tuning: web processes freeze long-lived objects after warm-up, never freezing garbage."""

import gc
import os
import subprocess
import sys
import weakref
from pathlib import Path

import pytest
from django.core.signals import request_finished

from config.gc_tuning import FREEZE_AFTER, _FreezeAfterWarmup


class Node:
    pass


@pytest.fixture
def handler():
    gc.unfreeze()
    handler = _FreezeAfterWarmup()
    request_finished.connect(handler, weak=False)
    yield handler
    request_finished.disconnect(handler)
    gc.unfreeze()


def test_freezes_after_the_first_request_and_collects_garbage_first(handler):
    cycle = Node()
    cycle.self = cycle  # only the cycle collector can free this
    dead = weakref.ref(cycle)
    del cycle
    assert gc.get_freeze_count() == 0
    request_finished.send(sender=None)
    assert gc.get_freeze_count() > 0
    assert dead() is None, "garbage was frozen instead of collected"


def test_stops_after_warmup(handler):
    for _ in range(max(FREEZE_AFTER)):
        request_finished.send(sender=None)
    assert handler.served == max(FREEZE_AFTER)
    request_finished.send(sender=None)
    assert handler.served == max(FREEZE_AFTER)  # disconnected: later requests cost nothing


def test_later_objects_stay_collectable(handler):
    request_finished.send(sender=None)
    cycle = Node()
    cycle.self = cycle
    dead = weakref.ref(cycle)
    del cycle
    gc.collect()
    assert dead() is None


@pytest.mark.parametrize("value,installed", [("", True), ("false", False)])
def test_wsgi_installs_it_unless_turned_off(value, installed, tmp_path):
    env = {**os.environ, "CODA_GC_FREEZE": value, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    if not value:
        env.pop("CODA_GC_FREEZE")
    probe = (
        "import config.wsgi\n"
        "from django.core.signals import request_finished\n"
        "from config.gc_tuning import _FreezeAfterWarmup\n"
        "print(any(isinstance(r[1], _FreezeAfterWarmup) for r in request_finished.receivers))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=Path(__file__).resolve().parents[2], env=env,
        capture_output=True, text=True, check=True,
    ).stdout.strip()
    assert out == str(installed)
