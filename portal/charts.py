"""A service level against its target over the quarters, as an inline SVG (no script, no styles: the CSP holds).

The figures are also in a table under each chart; the chart's title and description say what it shows.
"""

from __future__ import annotations

from markupsafe import Markup, escape

WIDTH, HEIGHT, LEFT, RIGHT, TOP, BOTTOM = 640, 240, 48, 16, 16, 40
BLUE, RED, GREY = "#1d70b8", "#d4351c", "#b1b4b6"


def service_level_chart(measure: str, rows, name: str = "") -> Markup:
    """``rows``: the measure's figures oldest first (quarter, performance and target in per cent, or None)."""
    points = [
        (
            r.quarter,
            None if r.performance is None else r.performance / 100,
            None if r.target is None else r.target / 100,
        )
        for r in rows
    ]
    if not points:
        return Markup("")
    n = len(points)
    inner_w, inner_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(i: int) -> float:
        return LEFT + (inner_w * (i + 0.5) / n)

    def y(v: float) -> float:
        return TOP + inner_h * (1 - max(0.0, min(1.0, v)))

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" role="img" '
        f'aria-labelledby="chart-{escape(measure)}-title chart-{escape(measure)}-desc" focusable="false">',
        f'<title id="chart-{escape(measure)}-title">{escape(name or measure)}: '
        "performance against target by quarter</title>",
        f'<desc id="chart-{escape(measure)}-desc">Blue dots are the performance each quarter, red dashes the '
        f"target. The figures are in the table below.</desc>",
    ]
    for tick in (0, 0.25, 0.5, 0.75, 1):
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" stroke="{GREY}" '
            'stroke-width="1"/>'
        )
        parts.append(
            f'<text x="{LEFT - 6}" y="{y(tick) + 4:.1f}" font-size="12" text-anchor="end" fill="#0b0c0c">'
            f"{tick:.0%}</text>"
        )
    line = [f"{x(i):.1f},{y(p):.1f}" for i, (_, p, _) in enumerate(points) if p is not None]
    if len(line) > 1:
        parts.append(f'<polyline points="{" ".join(line)}" fill="none" stroke="{BLUE}" stroke-width="2"/>')
    for i, (quarter, perf, target) in enumerate(points):
        if target is not None:
            parts.append(
                f'<line x1="{x(i) - 10:.1f}" x2="{x(i) + 10:.1f}" y1="{y(target):.1f}" y2="{y(target):.1f}" '
                f'stroke="{RED}" stroke-width="3"/>'
            )
        if perf is not None:
            parts.append(f'<circle cx="{x(i):.1f}" cy="{y(perf):.1f}" r="4" fill="{BLUE}"/>')
        if n <= 12 or i % max(1, n // 12) == 0:
            parts.append(
                f'<text x="{x(i):.1f}" y="{HEIGHT - BOTTOM + 18}" font-size="12" text-anchor="middle" '
                f'fill="#0b0c0c">{escape(quarter)}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))
