"""Alerts for integrity problems: logged at ERROR, optionally POSTed as JSON to CODA_ALERT_WEBHOOK_URL."""

import json
import logging
import urllib.request

from django.conf import settings

logger = logging.getLogger("archive.alerts")


def alert_raise(*, kind: str, message: str, **detail) -> None:
    logger.error("%s: %s %s", kind, message, json.dumps(detail, default=str))
    url = settings.CODA_ALERT_WEBHOOK_URL
    if not url:
        return
    body = json.dumps({"source": "coda", "kind": kind, "message": message, **detail}, default=str).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"}, method="POST")
    try:
        urllib.request.urlopen(request, timeout=10).close()
    except OSError as exc:  # an unreachable webhook must not stop the audit
        logger.error("alert webhook %s failed: %s", url, exc)
