"""One inspector per file, chosen by format and name, fed by the HashingReader that stores the file."""

import logging
import math

from archive.inspection.gguf_header import GGUFInspector
from archive.inspection.json_capture import JsonInspector, json_role
from archive.inspection.safetensors_header import SafetensorsInspector
from archive.inspection.stream import Problems

logger = logging.getLogger(__name__)

HEADER_LIMIT = 100 * 1024 * 1024  # a larger header is refused as a problem rather than buffered
JSON_LIMIT = 32 * 1024 * 1024  # sharded-checkpoint indexes of very large MoE models reach a few MB


def clean_json(value):
    """Make a parsed value storable in any JSON column: no NaN/Infinity, no NUL characters."""
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {clean_json(str(k)): clean_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean_json(v) for v in value]
    return value


BULKY_KEYS = ("tensors", "weight_map")  # kept for completeness checks; too long for a file listing


def inspection_summary(inspection: dict) -> dict:
    """A file's inspection without its per-tensor table or weight map (the API's file listing)."""
    summary = {k: v for k, v in (inspection or {}).items() if k not in BULKY_KEYS}
    if isinstance(summary.get("index"), dict):
        summary["index"] = {k: v for k, v in summary["index"].items() if k not in BULKY_KEYS}
        summary["index"]["tensor_count"] = len(inspection["index"].get("weight_map") or {})
    return summary


class _Container:
    """PyTorch and ONNX files: format and size, and for PyTorch whether it is a zip or a bare pickle.
    Only the first bytes are looked at; nothing is ever unpickled."""

    def __init__(self, *, path: str, fmt: str):
        self.problems = Problems(path)
        self.fmt = fmt
        self.head = b""
        self.size = 0

    def feed(self, data: bytes) -> None:
        if len(self.head) < 4:
            self.head += data[: 4 - len(self.head)]
        self.size += len(data)

    def finish(self) -> dict:
        result = {"format": self.fmt, "size": self.size}
        if self.fmt == "pytorch":
            result["container"] = "zip" if self.head.startswith(b"PK\x03\x04") else "pickle" if self.head[:1] == b"\x80" else "unknown"
        return result


class FileInspector:
    """Observer for HashingReader: sees each byte of one file as ingest reads it; `finish()` gives
    (inspection, problems) for the SnapshotFile. Never raises into ingest."""

    def __init__(self, *, path: str, format: str, size: int | None = None):
        self.path, self.format = path, format
        self.failed = False
        role = json_role(path)
        if format == "safetensors":
            self.inner = SafetensorsInspector(path=path, size=size, limit=HEADER_LIMIT)
        elif format == "gguf":
            self.inner = GGUFInspector(path=path, size=size, limit=HEADER_LIMIT)
        elif format in ("pytorch", "onnx"):
            self.inner = _Container(path=path, fmt=format)
        elif role is not None:
            self.inner = JsonInspector(path=path, role=role, limit=JSON_LIMIT)
        else:
            self.inner = None

    def feed(self, data: bytes) -> None:
        if self.inner is None or self.failed:
            return
        try:
            self.inner.feed(data)
        except Exception as exc:  # inspection is a by-product of ingest, never a reason for it to fail
            logger.exception("inspection of %s failed", self.path)
            self.inner.problems.add("inspection_error", f"The file could not be inspected: {exc}.")
            self.failed = True

    def finish(self) -> tuple[dict, list[dict]]:
        if self.inner is None:
            return {}, []
        if self.failed:
            return {"format": self.format}, clean_json(self.inner.problems.items)
        try:
            result = self.inner.finish()
        except Exception as exc:  # a bug here must not lose an otherwise good ingest
            logger.exception("inspection of %s failed", self.path)
            self.inner.problems.add("inspection_error", f"The file could not be inspected: {exc}.")
            result = {}
        return clean_json(result), clean_json(self.inner.problems.items)
