"""Server-rendered SVG for the dashboard: horizontal bars (the funnel per module, levels, formats,
competences, attendance) and the competence heatmap. Only geometry and colours here; the templates draw
the SVG with presentation attributes (the pages' Content-Security-Policy allows no inline style), each
chart with a table of the same values beside it, and every bar or cell carries its value as text so that
colour is never the only cue. The average autodiagnostic radar reuses ``diagnostic.charts.radar``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

WIDTH = 640
LABEL_WIDTH = 220
VALUE_WIDTH = 110
ROW_HEIGHT = 22
BAR_HEIGHT = 16
GROUP_TITLE_HEIGHT = 24
LABEL_CHARS = 26  # at 13 px, what fits left of the bars

# Bars: dark enough against white (3:1 at least, WCAG 1.4.11), distinguishable from one another.
TONES = ("#1f4e79", "#3d6fa3", "#6b93c4", "#8a4b08", "#5b6b2e")

# Heatmap steps (from 0 % to 100 %): the value is written in each cell in an ink with 4.5:1 contrast.
HEAT_STEPS: tuple[tuple[float, str, str], ...] = (
    (0.2, "#f1f5fb", "#1b1b1f"),
    (0.4, "#c9daf0", "#1b1b1f"),
    (0.6, "#8fb3de", "#1b1b1f"),
    (0.8, "#3f72af", "#ffffff"),
    (1.01, "#1f4e79", "#ffffff"),
)
NO_EVIDENCE = ("#ffffff", "#4a4a55")
MET_MARK = "✓"
HEAT_LABEL_WIDTH = 180
HEAT_CELL_WIDTH = 46
HEAT_CELL_HEIGHT = 24
HEAT_HEADER_HEIGHT = 26


def shorten(text: str, limit: int = LABEL_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


@dataclass(frozen=True)
class BarInput:
    label: str
    value: float
    text: str  # what is written after the bar ("42 (84 %)")
    tone: int = 0


@dataclass(frozen=True)
class Bar:
    y: float
    label: str
    width: float
    text: str
    text_x: float
    fill: str


@dataclass(frozen=True)
class GroupTitle:
    y: float
    text: str


@dataclass(frozen=True)
class BarChart:
    width: int
    height: int
    label_width: int
    bar_height: int
    bars: list[Bar]
    titles: list[GroupTitle]


def bar_chart(groups: Sequence[tuple[str | None, Sequence[BarInput]]], maximum: float) -> BarChart:
    """Horizontal bars, in groups with an optional title (a module's funnel is one group), all on the
    same scale: ``maximum`` fills the bar area."""
    span = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    scale = span / maximum if maximum > 0 else 0.0
    y = 4.0
    bars: list[Bar] = []
    titles: list[GroupTitle] = []
    for title, items in groups:
        if title:
            titles.append(GroupTitle(y + GROUP_TITLE_HEIGHT - 8, shorten(title, 70)))
            y += GROUP_TITLE_HEIGHT
        for item in items:
            width = max(0.0, min(item.value, maximum)) * scale
            bars.append(
                Bar(
                    y=y,
                    label=shorten(item.label),
                    width=round(width, 1),
                    text=item.text,
                    text_x=round(LABEL_WIDTH + width + 6, 1),
                    fill=TONES[item.tone % len(TONES)],
                )
            )
            y += ROW_HEIGHT
        y += 6
    return BarChart(WIDTH, int(y + 4), LABEL_WIDTH, BAR_HEIGHT, bars, titles)


def heat_colours(score: float | None, has_evidence: bool = True) -> tuple[str, str]:
    """(fill, ink) of a heatmap cell for a score from 0 to 1."""
    if score is None or not has_evidence:
        return NO_EVIDENCE
    for upper, fill, ink in HEAT_STEPS:
        if score < upper:
            return fill, ink
    return HEAT_STEPS[-1][1], HEAT_STEPS[-1][2]


def heat_text(score: float | None, is_met: bool, has_evidence: bool) -> str:
    """What a cell says: the score in percent, a check mark when the competence is met, a dash when
    there is no evidence yet."""
    if not has_evidence:
        return "—"
    value = f"{round(score * 100)}" if score is not None else ""
    return f"{value} {MET_MARK}".strip() if is_met else (value or "—")


@dataclass(frozen=True)
class LegendStep:
    fill: str
    ink: str
    low: int
    high: int


def heat_legend() -> list[LegendStep]:
    steps = []
    low = 0
    for upper, fill, ink in HEAT_STEPS:
        high = min(100, round(upper * 100) - 1) if upper < 1 else 100
        steps.append(LegendStep(fill, ink, low, high))
        low = high + 1
    return steps


@dataclass(frozen=True)
class HeatCellInput:
    score: float | None
    is_met: bool
    has_evidence: bool


@dataclass(frozen=True)
class HeatCell:
    x: float
    y: float
    fill: str
    ink: str
    text: str


@dataclass(frozen=True)
class HeatmapChart:
    width: int
    height: int
    label_width: int
    cell_width: int
    cell_height: int
    columns: list[tuple[float, str]]  # centre x, code
    rows: list[tuple[float, str]]  # text baseline y, label
    cells: list[HeatCell]


def heatmap(columns: Sequence[str], rows: Sequence[tuple[str, Sequence[HeatCellInput]]]) -> HeatmapChart:
    """A grid of learners (rows) × competences (columns), each cell coloured by its score and labelled
    with it."""
    header = HEAT_HEADER_HEIGHT
    cells: list[HeatCell] = []
    labels: list[tuple[float, str]] = []
    for r, (label, values) in enumerate(rows):
        top = header + r * HEAT_CELL_HEIGHT
        labels.append((top + HEAT_CELL_HEIGHT / 2 + 5, shorten(label, 24)))
        for c, value in enumerate(values):
            fill, ink = heat_colours(value.score, value.has_evidence or value.is_met)
            cells.append(
                HeatCell(
                    x=HEAT_LABEL_WIDTH + c * HEAT_CELL_WIDTH,
                    y=top,
                    fill=fill,
                    ink=ink,
                    text=heat_text(value.score, value.is_met, value.has_evidence),
                )
            )
    return HeatmapChart(
        width=HEAT_LABEL_WIDTH + len(columns) * HEAT_CELL_WIDTH + 2,
        height=header + len(rows) * HEAT_CELL_HEIGHT + 2,
        label_width=HEAT_LABEL_WIDTH,
        cell_width=HEAT_CELL_WIDTH,
        cell_height=HEAT_CELL_HEIGHT,
        columns=[(HEAT_LABEL_WIDTH + (c + 0.5) * HEAT_CELL_WIDTH, code) for c, code in enumerate(columns)],
        rows=labels,
        cells=cells,
    )
