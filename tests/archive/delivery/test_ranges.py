"""The one Range parser and each endpoint's reading of it: the download API answers 416 with a message for any
range it cannot serve; the Hub API ignores malformed/reversed ranges and a stale If-Range, and answers 416 only
for unsatisfiable ones."""

import pytest

from archive.delivery.ranges import RangeNotSatisfiable, hub_range, range_parse


@pytest.mark.parametrize(
    "header, size, expected",
    [
        ("", 10, None),
        ("bytes=0-3", 10, (0, 3)),
        ("bytes=4-", 10, (4, 9)),
        ("bytes=4-100", 10, (4, 9)),
        ("bytes=-3", 10, (7, 9)),
        ("bytes=-30", 10, (0, 9)),
        (" bytes=2-2 ", 10, (2, 2)),
    ],
)
def test_range_parse_serves(header, size, expected):
    assert range_parse(header, size) == expected


@pytest.mark.parametrize(
    "header, message",
    [
        ("bytes=0-1,4-5", "Unsupported Range 'bytes=0-1,4-5'"),
        ("items=0-1", "Unsupported Range"),
        ("bytes=-", "Unsupported Range"),
        ("bytes= 0-1", "Unsupported Range"),
        ("bytes=-0", "An empty suffix range selects no bytes."),
        ("bytes=10-", "Range 'bytes=10-' is outside the file's 10 bytes."),
        ("bytes=5-3", "Range 'bytes=5-3' is outside the file's 10 bytes."),
        ("bytes=12-3", "Range 'bytes=12-3' is outside the file's 10 bytes."),
    ],
)
def test_range_parse_refuses_with_416(header, message):
    with pytest.raises(RangeNotSatisfiable) as caught:
        range_parse(header, 10)
    assert caught.value.status_code == 416 and caught.value.code == "range_not_satisfiable"
    assert caught.value.message.startswith(message)


@pytest.mark.parametrize(
    "header, if_range, size, expected",
    [
        ("", None, 10, None),
        ("bytes=0-3", None, 10, (0, 3)),
        ("bytes= 0 - 3", None, 10, (0, 3)),  # spaces are dropped, as the Hub does
        ("bytes=0-3", '"etag"', 10, (0, 3)),
        ("bytes=0-3", '"other"', 10, None),  # stale If-Range: the whole file
        ("bytes=0-1,4-5", None, 10, None),  # several ranges: the whole file
        ("bytes=5-3", None, 10, None),  # reversed: ignored
        ("bytes=12-3", None, 10, None),
        ("bytes=-0", None, 10, "unsatisfiable"),
        ("bytes=10-", None, 10, "unsatisfiable"),
        ("bytes=-3", None, 0, "unsatisfiable"),
        ("bytes=-3", None, 10, (7, 9)),
    ],
)
def test_hub_range(header, if_range, size, expected):
    assert hub_range(header, if_range=if_range, size=size, current_etag='"etag"') == expected
