"""Server-rendered SVG: the radar of the axis scores (the page puts an accessible table beside it)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from lti_tool.content.schemas import Text

SIZE = 320
CENTER = SIZE / 2
RADIUS = 110


@dataclass(frozen=True)
class Radar:
    size: int
    rings: list[str]  # polygon points for 25/50/75/100
    spokes: list[tuple[float, float, float, float]]
    labels: list[tuple[float, float, str, Text]]  # x, y, text-anchor, name
    series: list[str]  # polygon points per series (current first)


def _point(index: int, count: int, value: float) -> tuple[float, float]:
    angle = -math.pi / 2 + 2 * math.pi * index / count
    r = RADIUS * max(0.0, min(value, 100.0)) / 100
    return CENTER + r * math.cos(angle), CENTER + r * math.sin(angle)


def _polygon(values: list[float]) -> str:
    return " ".join(f"{x:.1f},{y:.1f}" for x, y in (_point(i, len(values), v) for i, v in enumerate(values)))


def radar(names: list[Text], series: list[list[float]]) -> Radar:
    count = len(names)
    rings = [_polygon([level] * count) for level in (25, 50, 75, 100)]
    spokes = [(CENTER, CENTER, *_point(i, count, 100)) for i in range(count)]
    labels = []
    for i, name in enumerate(names):
        x, y = _point(i, count, 122)
        anchor = "middle" if abs(x - CENTER) < 5 else ("start" if x > CENTER else "end")
        labels.append((x, y + 4, anchor, name))
    return Radar(SIZE, rings, spokes, labels, [_polygon(values) for values in series])
