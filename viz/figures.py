"""The page's pictures as inline SVG: the partnership network, time series, fan charts.

Hand-written SVG rather than matplotlib or a JavaScript charting library: a frame
costs about a millisecond to make (matplotlib took about 0.1 s per figure here, and
one server serves every visitor), it needs no front-end files (nothing to fetch
offline), and it stays sharp on any projector. Each function returns an HTML
string (an ``<svg>`` and, where there is one, an HTML legend) for
``solara.HTML(unsafe_innerHTML=...)``; all text in it is escaped.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence

import numpy as np

from viz.labels import ACCESS_LINES, MEMBERSHIP_LINES, SYNERGY_LINES, TYPE_COLOURS, TYPE_LABELS
from viz.session import Snapshot

WIDTH, HEIGHT = 600, 300  # time-series viewBox
MARGIN = {"left": 52, "right": 14, "top": 14, "bottom": 38}
NET_SIZE = 520  # network viewBox (square)
EMPTY_GREY = "#9a9a9a"
MARK_COLOUR = "#a3262a"
FONT = "font-family:Roboto,Arial,sans-serif"


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _legend(items: Sequence[tuple[str, str]], kind: str = "line") -> str:
    """An HTML legend: (label, CSS colour or a ready-made swatch) pairs."""
    chips = []
    for label, swatch in items:
        if kind == "line":
            mark = f'<span style="display:inline-block;width:18px;height:3px;background:{_e(swatch)};vertical-align:middle"></span>'
        else:
            mark = swatch
        chips.append(f'<span style="margin-right:14px;white-space:nowrap">{mark} {_e(label)}</span>')
    return f'<div class="viz-legend" style="font-size:13px;line-height:1.9;{FONT}">{"".join(chips)}</div>'


# ---------------------------------------------------------------------------- the network
def _circle(x: float, y: float, r: float, fill: str, stroke: str, width: float, extra: str = "", title: str = "") -> str:
    t = f"<title>{_e(title)}</title>" if title else ""
    return (f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}" fill="{fill}" stroke="{stroke}" '
            f'stroke-width="{width}"{extra}>{t}</circle>')  # fmt: skip


def network_svg(snap: Snapshot) -> str:
    """The table: seats coloured by stakeholder type, sized by engagement; ties by trust; a legend below."""
    n = len(snap.seat_state)
    size = NET_SIZE
    pad = 34 if n <= 60 else 14
    half = size / 2 - pad
    xy = snap.positions * half + size / 2 if n else np.zeros((0, 2))
    xy[:, 1] = size - xy[:, 1] if n else xy[:, 1]
    r_min, r_span = (6.0, 13.0) if n <= 60 else (2.0, 3.5)
    parts = [
        (
            f'<svg viewBox="0 0 {size} {size}" role="img" aria-label="{_e(_network_caption(snap))}" '
            f'style="width:100%;max-width:{size + 80}px;display:block;margin:auto" xmlns="http://www.w3.org/2000/svg">'
        )
    ]
    for u, v, w in snap.edges:
        (x1, y1), (x2, y2) = xy[u], xy[v]
        parts.append(
            f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="#222" '
            f'stroke-opacity="{0.12 + 0.7 * w:.2f}" stroke-width="{0.6 + 4.0 * w:.2f}"/>'
        )
    for seat in range(n):
        x, y = xy[seat]
        kind = snap.seat_type[seat]
        colour = TYPE_COLOURS.get(kind, "#666")
        state = snap.seat_state[seat]
        who = TYPE_LABELS.get(kind, kind)
        if state == "occupied":
            e = float(snap.engagement[seat])
            r = r_min + r_span * math.sqrt(max(0.0, e))
            if seat == snap.lead_seat:
                parts.append(_circle(x, y, r + 4, "none", "#000", 2.2))
            parts.append(_circle(x, y, r, colour, "#fff", 1.2, title=f"Seat {seat}: {who}, engagement {e:.2f}"))
        elif state == "vacant":
            parts.append(_circle(x, y, r_min + 0.3 * r_span, "#fff", colour, 2.4,
                                 title=f"Seat {seat}: {who} left; the organisation will name someone"))  # fmt: skip
        else:
            parts.append(_circle(x, y, r_min + 0.3 * r_span, "none", EMPTY_GREY, 1.5, ' stroke-dasharray="2,2"',
                                 title=f"Seat {seat}: given up by its organisation"))  # fmt: skip
    parts.append("</svg>")
    items = [(TYPE_LABELS[t], _dot(TYPE_COLOURS[t], TYPE_COLOURS[t])) for t in TYPE_COLOURS]
    items += [
        ("Member left, seat waiting", _dot("#fff", "#555", 2.4)),
        ("Seat given up", _dot("none", EMPTY_GREY, 1.5, dashed=True)),
        ("Lead", _dot("none", "#000", 2.2)),
        ("Relationship (thicker, darker = more trust)",
         '<span style="display:inline-block;width:22px;height:4px;background:#444;vertical-align:middle"></span>'),
    ]  # fmt: skip
    caption = f'<div class="viz-caption" style="font-size:15px;font-weight:500;{FONT}">{_e(_network_caption(snap))}</div>'
    return caption + "".join(parts) + _legend(items, kind="swatch")


def _dot(fill: str, stroke: str, width: float = 1.0, dashed: bool = False) -> str:
    dash = ' stroke-dasharray="2,2"' if dashed else ""
    return (f'<svg width="16" height="16" style="vertical-align:middle"><circle cx="8" cy="8" r="6" fill="{fill}" '
            f'stroke="{stroke}" stroke-width="{width}"{dash}/></svg>')  # fmt: skip


def _network_caption(snap: Snapshot) -> str:
    states = snap.seat_state
    n = len(states)
    occupied = sum(s == "occupied" for s in states)
    vacant = sum(s == "vacant" for s in states)
    text = f"Month {snap.month}: {occupied} of {n} seats filled"
    if vacant:
        text += f", {vacant} waiting for a new person"
    if snap.dissolved:
        text += " (the partnership has dissolved)"
    return text


# ---------------------------------------------------------------------------- charts
def _nice_step(span: float, target: int) -> float:
    raw = span / max(1, target)
    mag = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1.0
    for m in (1, 2, 2.5, 5, 10):
        if m * mag >= raw:
            return m * mag
    return 10 * mag


class Chart:
    """A plot area with axes in SVG: x in months 0..xmax, y in ymin..ymax."""

    def __init__(self, xmax: float, ymin: float, ymax: float, ylabel: str, label: str):
        self.xmax, self.ymin, self.ymax = max(1.0, float(xmax)), float(ymin), float(ymax)
        self.x0, self.x1 = MARGIN["left"], WIDTH - MARGIN["right"]
        self.y0, self.y1 = HEIGHT - MARGIN["bottom"], MARGIN["top"]
        self.parts = [
            (
                f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{_e(label)}" '
                f'style="width:100%;display:block" xmlns="http://www.w3.org/2000/svg">'
            ),
            f'<g style="{FONT};font-size:12px;fill:#333">',
        ]
        self._axes(ylabel)

    def sx(self, x: np.ndarray | float) -> np.ndarray | float:
        return self.x0 + (np.asarray(x, dtype=float) / self.xmax) * (self.x1 - self.x0)

    def sy(self, y: np.ndarray | float) -> np.ndarray | float:
        span = self.ymax - self.ymin or 1.0
        return self.y0 - (np.asarray(y, dtype=float) - self.ymin) / span * (self.y0 - self.y1)

    def _axes(self, ylabel: str) -> None:
        p = self.parts
        ystep = _nice_step(self.ymax - self.ymin, 4)
        y = math.ceil(self.ymin / ystep) * ystep
        while y <= self.ymax + 1e-9:
            py = float(self.sy(y))
            p.append(f'<line x1="{self.x0}" x2="{self.x1}" y1="{py:.1f}" y2="{py:.1f}" stroke="#e3e3e3"/>')
            p.append(f'<text x="{self.x0 - 6}" y="{py + 4:.1f}" text-anchor="end">{_tick(y)}</text>')
            y += ystep
        xstep = 12 if self.xmax <= 120 else _nice_step(self.xmax, 6)
        if self.xmax <= 24:
            xstep = 6 if self.xmax > 12 else (3 if self.xmax > 6 else 1)
        x = 0.0
        while x <= self.xmax + 1e-9:
            px = float(self.sx(x))
            p.append(f'<line x1="{px:.1f}" x2="{px:.1f}" y1="{self.y0}" y2="{self.y0 + 5}" stroke="#666"/>')
            p.append(f'<text x="{px:.1f}" y="{self.y0 + 18}" text-anchor="middle">{_tick(x)}</text>')
            x += xstep
        p.append(f'<line x1="{self.x0}" x2="{self.x1}" y1="{self.y0}" y2="{self.y0}" stroke="#666"/>')
        p.append(f'<line x1="{self.x0}" x2="{self.x0}" y1="{self.y0}" y2="{self.y1}" stroke="#666"/>')
        p.append(f'<text x="{(self.x0 + self.x1) / 2:.0f}" y="{HEIGHT - 4}" text-anchor="middle">month</text>')
        cy = (self.y0 + self.y1) / 2
        p.append(f'<text x="12" y="{cy:.0f}" text-anchor="middle" transform="rotate(-90 12 {cy:.0f})">{_e(ylabel)}</text>')

    def line(self, x: np.ndarray, y: np.ndarray, colour: str, width: float, label: str = "") -> None:
        if len(x) == 0:
            return
        pts = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(self.sx(x), self.sy(y), strict=True))
        title = f"<title>{_e(label)}</title>" if label else ""
        if len(x) == 1:
            cx, cy = float(self.sx(x[0])), float(self.sy(y[0]))
            self.parts.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="{width + 1:.1f}" fill="{colour}">{title}</circle>')
            return
        self.parts.append(
            f'<polyline points="{pts}" fill="none" stroke="{colour}" stroke-width="{width}" '
            f'stroke-linejoin="round">{title}</polyline>'
        )

    def band(self, x: np.ndarray, low: np.ndarray, high: np.ndarray, colour: str) -> None:
        if len(x) == 0:
            return
        upper = [f"{a:.1f},{b:.1f}" for a, b in zip(self.sx(x), self.sy(high), strict=True)]
        lower = [f"{a:.1f},{b:.1f}" for a, b in zip(self.sx(x[::-1]), self.sy(low[::-1]), strict=True)]
        self.parts.append(f'<polygon points="{" ".join(upper + lower)}" fill="{colour}" fill-opacity="0.2" stroke="none"/>')

    def marks(self, marks: Sequence[tuple[int, str]]) -> None:
        """A dashed vertical line at each month something was done, labelled with the numbers of what was done.

        The numbers refer to the list under the chart (:func:`_marks_list`): several things done in
        one month would not fit as words along one line.
        """
        by_month: dict[int, list[int]] = {}
        for number, (month, _words) in enumerate(marks, start=1):
            by_month.setdefault(month, []).append(number)
        for month, numbers in by_month.items():
            if month > self.xmax:
                continue
            px = float(self.sx(month))
            words = "; ".join(marks[n - 1][1] for n in numbers)
            self.parts.append(
                f'<line x1="{px:.1f}" x2="{px:.1f}" y1="{self.y0}" y2="{self.y1}" stroke="{MARK_COLOUR}" '
                f'stroke-width="1.4" stroke-dasharray="5,4"><title>{_e(f"Month {month}: {words}")}</title></line>'
            )
            label = ",".join(str(n) for n in numbers)
            width = 7 * len(label) + 8
            self.parts.append(
                f'<rect x="{px - width / 2:.1f}" y="{self.y1 - 2}" width="{width}" height="16" rx="3" '
                f'fill="{MARK_COLOUR}"/><text x="{px:.1f}" y="{self.y1 + 10}" text-anchor="middle" '
                f'style="fill:#fff;font-size:11px;font-weight:bold">{label}</text>'
            )

    def svg(self) -> str:
        return "".join(self.parts) + "</g></svg>"


def _tick(v: float) -> str:
    if abs(v - round(v)) < 1e-9:
        return str(round(v))
    return f"{v:g}"


def lines_svg(snap: Snapshot, lines: dict[str, tuple[str, str]], label: str, ylabel: str,
              ylim: tuple[float, float] | None = (0.0, 1.0)) -> str:  # fmt: skip
    """Per-month outputs over months 0..horizon (the first thick), interventions marked, an HTML legend."""
    x = snap.series["step"]
    if ylim is None:
        top = max([float(np.max(snap.series[n])) for n in lines if len(snap.series[n])] + [1.0])
        ylim = (0.0, float(math.ceil(top * 1.15)))
    chart = Chart(snap.horizon, ylim[0], ylim[1], ylabel, label)
    first = True
    items = []
    for name, (words, colour) in reversed(list(lines.items())):  # the thick line last, on top
        first = name == next(iter(lines))
        chart.line(x, snap.series[name], colour, 3.2 if first else 1.6, words)
    for name, (words, colour) in lines.items():
        items.append((words, colour))
    chart.marks(snap.marks)
    return chart.svg() + _legend(items) + _marks_list(snap.marks)


def _marks_list(marks: Sequence[tuple[int, str]]) -> str:
    """The numbered list of what was done, under a chart (empty when nothing was)."""
    if not marks:
        return ""
    items = "".join(
        f'<span style="margin-right:14px;white-space:nowrap"><b style="color:#fff;background:{MARK_COLOUR};'
        f'border-radius:3px;padding:0 4px">{n}</b> <span>{_e(words)}</span> <span style="color:#666">'
        f"(month {month})</span></span>"
        for n, (month, words) in enumerate(marks, start=1)
    )
    return f'<div class="viz-marks" style="font-size:13px;line-height:1.9;{FONT}">{items}</div>'


def synergy_svg(snap: Snapshot) -> str:
    return lines_svg(snap, SYNERGY_LINES, "Synergy and its four signs over the months", "0 = none, 1 = full")


def access_svg(snap: Snapshot) -> str:
    return lines_svg(snap, ACCESS_LINES, "Access to care over the months", "share of people")


def membership_svg(snap: Snapshot) -> str:
    return lines_svg(snap, MEMBERSHIP_LINES, "Membership over the months", "people", ylim=None)


def fan_svg(label: str, ylabel: str, arms: Sequence[tuple[str, str, np.ndarray, np.ndarray]]) -> str:
    """Median and 90% band of each arm: (words, colour, months, quantiles (3 x months): 5%, 50%, 95%)."""
    xmax = max((float(a[2][-1]) for a in arms if len(a[2])), default=1.0)
    chart = Chart(xmax, 0.0, 1.0, ylabel, label)
    for _words, colour, months, q in arms:
        chart.band(months, q[0], q[2], colour)
    for words, colour, months, q in arms:
        chart.line(months, q[1], colour, 3.0, f"{words}: median")
    return chart.svg() + _legend([(f"{w}: median, band = 90% of runs", c) for w, c, _, _ in arms])
