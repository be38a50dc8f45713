"""Retirement timelines drawn on the server as SVG: one lane per model (release → deprecation → retirement),
grouped by provider, a 'today' line, replacements linked. Plain geometry here; the templates
(`catalogue/_timeline_svg.html`) draw it with classes from the one stylesheet (no inline style or script)."""

from dataclasses import dataclass, field
from datetime import date

LABEL_W = 250  # room for the model names, left of the plot
PLOT_W = 900
AXIS_H = 34
GROUP_H = 26
LANE_H = 22
BAR_H = 10


@dataclass
class Lane:
    model: object
    y: int
    segments: list[dict] = field(default_factory=list)  # {"kind", "x", "w"}
    marks: list[dict] = field(default_factory=list)  # {"kind", "x", "label", "date"}
    description: str = ""
    replacement: object = None
    replacement_y: int | None = None

    @property
    def bar_y(self) -> int:
        return self.y + (LANE_H - BAR_H) // 2

    @property
    def mid_y(self) -> int:
        return self.y + LANE_H // 2

    @property
    def text_y(self) -> int:
        return self.y + 15

    @property
    def link_x(self) -> float | None:
        """Where the line to the replacement's lane starts: the retirement mark, else the deprecation's."""
        marks = {m["kind"]: m["x"] for m in self.marks}
        return marks.get("retired", marks.get("deprecated"))


@dataclass
class Timeline:
    width: int
    height: int
    ticks: list[dict]
    today_x: float
    today: date
    groups: list[dict]  # {"provider", "y", "lanes": [Lane]}
    undated: int = 0
    label_x: int = LABEL_W - 8
    plot_x: int = LABEL_W


def _bounds(dates: list[date], today: date) -> tuple[date, date]:
    first = min(dates + [today])
    last = max(dates + [today])
    return date(first.year, 1, 1), date(last.year + 1, 1, 1)


def _describe(model, today: date) -> str:
    name = model.display_name or model.name
    parts = []
    for label, day in (("released", model.release_date), ("deprecated", model.deprecated_on), ("retired", model.retires_on)):
        if day:
            verb = label if day <= today else {"released": "to be released", "deprecated": "to be deprecated", "retired": "retires"}[label]
            parts.append(f"{verb} {day.isoformat()}")
    return f"{name}: " + (", ".join(parts) if parts else "no dates recorded")


def timeline_layout(models, *, today: date, replacements: dict | None = None) -> Timeline:
    """Lanes for `models` (ordered by provider), the ones with no lifecycle date left out and counted.
    `replacements` maps a model's pk to the replacement the viewer may see (never model.replacement itself)."""
    replacements = replacements or {}
    dated = [m for m in models if m.release_date or m.deprecated_on or m.retires_on]
    days = [d for m in dated for d in (m.release_date, m.deprecated_on, m.retires_on) if d]
    start, end = _bounds(days, today)
    span = (end - start).days

    def x(day: date) -> float:
        return round(LABEL_W + (day - start).days / span * PLOT_W, 1)

    groups, lanes_by_pk, y = [], {}, AXIS_H
    for model in dated:
        if not groups or groups[-1]["provider"].pk != model.provider_id:
            groups.append({"provider": model.provider, "y": y + 17, "lanes": []})
            y += GROUP_H
        lane = Lane(model=model, y=y, description=_describe(model, today), replacement=replacements.get(model.pk))
        begin = model.release_date
        stop_active = model.deprecated_on or model.retires_on or end
        if begin and begin < stop_active:
            lane.segments.append({"kind": "active", "x": x(begin), "w": round(x(stop_active) - x(begin), 1)})
        if model.deprecated_on:
            stop = model.retires_on or end
            lane.segments.append({"kind": "deprecated", "x": x(model.deprecated_on), "w": round(x(stop) - x(model.deprecated_on), 1)})
        for kind, day in (("released", model.release_date), ("deprecated", model.deprecated_on), ("retired", model.retires_on)):
            if day:
                lane.marks.append({"kind": kind, "x": x(day), "date": day, "planned": day > today})
        lanes_by_pk[model.pk] = lane
        groups[-1]["lanes"].append(lane)
        y += LANE_H
    for lane in lanes_by_pk.values():
        if lane.replacement is not None and lane.replacement.pk in lanes_by_pk:
            lane.replacement_y = lanes_by_pk[lane.replacement.pk].y
    ticks = [{"x": x(date(year, 1, 1)), "label": str(year)} for year in range(start.year, end.year + 1)]
    return Timeline(
        width=LABEL_W + PLOT_W + 20, height=y + 10, ticks=ticks, today_x=x(today), today=today,
        groups=groups, undated=len(models) - len(dated),
    )
