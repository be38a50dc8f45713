"""The leaf data of an event: a canonical serialization every verifier can rebuild from the event's fields.

Leaf data = the UTF-8 bytes of the RFC 8785 (JCS) canonical JSON of
{"v": 1, "id", "type", "outcome", "agent", "model", "snapshot", "snapshot_file", "blob", "location", "job",
 "detail", "created_at"} — object ids as integers (or null), created_at in UTC as YYYY-MM-DDTHH:MM:SS.ffffffZ.
This format is a contract with outside verifiers (docs/log.md): change it only with a new "v"."""

import json
from datetime import UTC, datetime
from decimal import Decimal

VERSION = 1
OBJECT_FIELDS = ("model", "snapshot", "snapshot_file", "blob", "location", "job")


def timestamp(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event_object(event) -> dict:
    """The leaf object of an event row (a model instance; historical models in migrations too)."""
    return {
        "v": VERSION,
        "id": event.pk,
        "type": event.event_type,
        "outcome": event.outcome,
        "agent": event.agent,
        **{name: getattr(event, f"{name}_id") for name in OBJECT_FIELDS},
        # What the JSON column gives back: the recorded dict as JSON would store it (tuples become lists ...).
        "detail": json.loads(json.dumps(event.detail if event.detail is not None else {})),
        "created_at": timestamp(event.created_at),
    }


def _number(value) -> str:
    """ECMAScript Number-to-string of the double nearest `value` (RFC 8785 §3.2.2.3)."""
    if isinstance(value, int) and abs(value) < 2**53:
        return str(value)
    value = float(value)
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError("NaN and infinities have no JSON form")
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    digits_tuple, exponent = Decimal(repr(abs(value))).as_tuple()[1:]
    digits = "".join(map(str, digits_tuple)).rstrip("0")
    exponent += len("".join(map(str, digits_tuple))) - len(digits)
    k, n = len(digits), len(digits) + exponent  # value = 0.digits x 10^n
    if k <= n <= 21:
        text = digits + "0" * (n - k)
    elif 0 < n <= 21:
        text = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        text = "0." + "0" * -n + digits
    else:
        e = n - 1
        text = digits[0] + ("." + digits[1:] if k > 1 else "") + "e" + ("+" if e > 0 else "-") + str(abs(e))
    return sign + text


def canonical(value) -> str:
    """RFC 8785 JSON Canonicalization Scheme (keys sorted by UTF-16 code units, no whitespace)."""
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, (int, float)):
        return _number(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(canonical(v) for v in value) + "]"
    if isinstance(value, dict):
        items = sorted(((str(k), v) for k, v in value.items()), key=lambda kv: kv[0].encode("utf-16-be"))
        return "{" + ",".join(json.dumps(k, ensure_ascii=False) + ":" + canonical(v) for k, v in items) + "}"
    raise TypeError(f"{type(value).__name__} has no canonical JSON form")


def leaf_data(obj: dict) -> bytes:
    return canonical(obj).encode("utf-8")
