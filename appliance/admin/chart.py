"""Small bar charts drawn as inline SVG on the server (no JavaScript)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Bar:
    """One bar: its label, value and geometry in the SVG's coordinates."""

    label: str
    value: float
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class BarChart:
    """A bar chart ready for the template to draw."""

    title: str
    unit: str
    width: int
    height: int
    bars: list[Bar]


def bar_chart(
    title: str,
    values: dict[str, float],
    *,
    unit: str = "",
    width: int = 360,
    height: int = 160,
) -> BarChart:
    """Lay out one bar per value, scaled to the largest (labels leave 30 px)."""
    plot = height - 30
    top = max(values.values(), default=0.0) or 1.0
    slot = width / max(len(values), 1)
    bars = []
    for index, (label, value) in enumerate(values.items()):
        bar_height = plot * value / top
        bars.append(
            Bar(
                label=label,
                value=value,
                x=index * slot + slot * 0.15,
                y=plot - bar_height + 10,
                width=slot * 0.7,
                height=bar_height,
            )
        )

    return BarChart(title, unit, width, height, bars)
