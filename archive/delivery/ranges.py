"""The one HTTP Range parser (RFC 9110 `bytes=` ranges, a single range), used by the file download API and the
Hub-compatible API. Each endpoint keeps its own answer to a range it cannot serve: the download API answers 416
with the parser's message (`range_parse`); the Hub API, like the Hub, ignores a malformed range, honours If-Range
and answers 416 only for an unsatisfiable one (`hub_range`)."""

import re

from core.exceptions import DomainError

RANGE_RE = re.compile(r"^bytes=(\d*)-(\d*)$")


class RangeNotSatisfiable(DomainError):
    """No byte of the file is selected (an empty suffix, a start beyond the end)."""

    status_code = 416
    code = "range_not_satisfiable"


class RangeUnsupported(RangeNotSatisfiable):
    """Not one `bytes=first-last` range (other units, several ranges, no number)."""


class RangeReversed(RangeNotSatisfiable):
    """`bytes=first-last` with last before first: syntactically invalid."""


def range_parse(header: str, size: int) -> tuple[int, int] | None:
    """(first, last inclusive) of a single `bytes=` range of a `size`-byte file; None for no Range header.
    Raises RangeUnsupported, RangeReversed or RangeNotSatisfiable (each a 416 with a message)."""
    if not header:
        return None
    match = RANGE_RE.match(header.strip())
    if not match or (not match.group(1) and not match.group(2)):
        raise RangeUnsupported(f"Unsupported Range {header!r}; send one range like 'bytes=0-1023'.")
    first, last = match.groups()
    if first == "":  # suffix range: the last N bytes
        length = int(last)
        if length == 0:
            raise RangeNotSatisfiable("An empty suffix range selects no bytes.")
        return max(0, size - length), size - 1
    start = int(first)
    if last and int(last) < start:
        raise RangeReversed(f"Range {header!r} is outside the file's {size} bytes.")
    if start >= size:
        raise RangeNotSatisfiable(f"Range {header!r} is outside the file's {size} bytes.")
    return start, min(int(last), size - 1) if last else size - 1


def hub_range(header: str, *, if_range: str | None, size: int, current_etag: str):
    """The Hub API's reading of Range: (first, last); None = the whole file (no range, a stale If-Range, a
    malformed or reversed range, or several ranges: allowed by RFC 9110); 'unsatisfiable' → 416."""
    header = (header or "").strip()
    if not header:
        return None
    if if_range and if_range.strip() != current_etag:
        return None
    try:
        requested = range_parse(header.replace(" ", ""), size)
    except (RangeUnsupported, RangeReversed):
        return None
    except RangeNotSatisfiable:
        return "unsatisfiable"
    if size == 0:  # a suffix range of an empty file selects no bytes
        return "unsatisfiable"
    return requested
