"""The curators' preservation-health page: its bar charts laid out server-side as SVG coordinates (presentation
attributes, no inline style, so the page stays within `default-src 'self'`); the figures come from
`archive.preservation.archive_health`."""

from dataclasses import dataclass

LABEL_W = 210  # room for the longest bin label
BAR_H = 20
GAP = 10
COUNT_W = 70  # room after the longest bar for its count


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    kind: str  # CSS class suffix: ok, warn, bad
    x: int
    y: int
    w: int
    text_y: int


@dataclass(frozen=True)
class BarChart:
    width: int
    height: int
    label_x: int
    bars: list[Bar]


def bar_chart(rows: list[tuple[str, int, str]], *, width: int = 640) -> BarChart:
    """Horizontal bars, one per (label, value, kind), scaled to the largest value (an empty chart draws no bar)."""
    peak = max((value for _, value, _ in rows), default=0) or 1
    room = width - LABEL_W - COUNT_W
    bars = []
    for i, (label, value, kind) in enumerate(rows):
        y = GAP + i * (BAR_H + GAP)
        w = round(room * value / peak) if value else 0
        bars.append(Bar(label=label, value=value, kind=kind, x=LABEL_W, y=y, w=w, text_y=y + BAR_H - 5))
    return BarChart(width=width, height=GAP + len(rows) * (BAR_H + GAP), label_x=LABEL_W - 8, bars=bars)


def health_charts(health: dict) -> dict:
    """The two pictures: verified copies per stored file (short of the copy policy in red) and days since each
    verified copy was last checked (past the audit interval in red)."""
    copies = [
        (f"{row['copies']} verified cop{'y' if row['copies'] == 1 else 'ies'}", row["files"],
         "ok" if row["enough"] else "bad")
        for row in health["copies_per_file"]
    ]
    ages = [(row["label"], row["copies"], "bad" if row["overdue"] and row["copies"] else "ok") for row in health["histogram"]]
    if health["copies_never_verified"]:
        ages.append(("no verification date", health["copies_never_verified"], "warn"))
    return {"copies": bar_chart(copies), "ages": bar_chart(ages)}
