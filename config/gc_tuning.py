"""Keep the web process's garbage collector off the request path.

A web worker holds about 140,000 long-lived tracked objects (modules, classes, URL patterns, template
and translation caches) once it has served its first requests. Every request's short-lived objects
that happen to be alive during a young-generation collection are promoted and count towards the next
full collection, which then walks all of them: measured at ~90 ms, once every ~23 list requests, so the
API's p95 sat right at the edge of that pause. `gc.freeze()` moves what exists into a permanent
generation the collector never walks. It runs after requests 1, 2, 4, ... 64 (long-lived state is
built lazily by the first requests), each time after a full collection so no garbage is frozen.
"""

import gc

from django.core.signals import request_finished

FREEZE_AFTER = frozenset(2**k for k in range(7))  # requests 1, 2, 4, ..., 64


class _FreezeAfterWarmup:
    def __init__(self):
        self.served = 0

    def __call__(self, sender, **kwargs):
        self.served += 1
        if self.served in FREEZE_AFTER:
            gc.collect()
            gc.freeze()
        if self.served >= max(FREEZE_AFTER):
            request_finished.disconnect(self)


def install() -> None:
    """Called once per web process (config/wsgi.py), never in workers or tests."""
    request_finished.connect(_FreezeAfterWarmup(), weak=False)
