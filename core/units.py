"""One convention for sizes and counts everywhere Coda shows them to people (pages, commands, bag-info): sizes in
binary units labelled as such (B, KiB, MiB, GiB, TiB: 1 MiB = 1,048,576 bytes), counts with thousands
separators. Exact byte counts stay plain integers in the API, manifests and exports."""

UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")


def size_label(octets: int | float | None) -> str:
    """'0 B', '812 B', '1.2 MiB', '3.0 GiB'."""
    value = float(octets or 0)
    for unit in UNITS:
        if abs(value) < 1024 or unit == UNITS[-1]:
            return f"{int(value)} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def count_label(count: int | None) -> str:
    """'1,234,567'."""
    return f"{int(count or 0):,}"
