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


SIGNAL_WIDTH, SIGNAL_LEFT, SIGNAL_BAR = 640, 200, 28
ORANGE, BLACK = "#f47738", "#0b0c0c"


def signal_chart(row, chart_id: str) -> Markup:
    """A flagged signal as three bars: the provider's figure, what it is compared with, and where it flags.

    ``row``: an ``integrity.model.Signal``. Shares (every figure from 0 to 1) are drawn from 0% to 100%; other
    figures (an OGRS3 mean, a PSI) from 0 to a little over the largest. The same figures are in the table under
    the chart; the chart's title and description say them in words.
    """
    bars = [
        (f"{row.provider_code}'s figure", row.statistic, ORANGE),
        ("Expected", row.expected, BLUE),
        ("Threshold", row.threshold, BLACK),
    ]
    bars = [(label, float(value), colour) for label, value, colour in bars if value is not None]
    if not bars:
        return Markup("")
    share = all(0 <= v <= 1 for _, v, _ in bars)
    top = 1.0 if share else max(max(v for _, v, _ in bars) * 1.1, 1e-9)
    shown = {label: _shown(v, share) for label, v, _ in bars}
    height = TOP + len(bars) * (SIGNAL_BAR + 12) + BOTTOM
    inner = SIGNAL_WIDTH - SIGNAL_LEFT - RIGHT - 60
    said = "; ".join(f"{label}: {shown[label]}" for label, _, _ in bars)
    cid = escape(chart_id)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {SIGNAL_WIDTH} {height}" width="100%" role="img" '
        f'aria-labelledby="{cid}-title {cid}-desc" focusable="false">',
        f'<title id="{cid}-title">{escape(row.signal)} {escape(row.measure)}: the provider\'s figure against '
        "what it is compared with and the threshold</title>",
        f'<desc id="{cid}-desc">{escape(said)}. The figures are in the table below.</desc>',
    ]
    for i, (label, value, colour) in enumerate(bars):
        y = TOP + i * (SIGNAL_BAR + 12)
        w = inner * max(0.0, min(1.0, value / top))
        parts.append(
            f'<text x="{SIGNAL_LEFT - 8}" y="{y + SIGNAL_BAR / 2 + 4:.1f}" font-size="13" text-anchor="end" '
            f'fill="{BLACK}">{escape(label)}</text>'
        )
        parts.append(f'<rect x="{SIGNAL_LEFT}" y="{y}" width="{w:.1f}" height="{SIGNAL_BAR}" fill="{colour}"/>')
        parts.append(
            f'<text x="{SIGNAL_LEFT + w + 6:.1f}" y="{y + SIGNAL_BAR / 2 + 4:.1f}" font-size="13" '
            f'fill="{BLACK}">{escape(shown[label])}</text>'
        )
    axis_y = height - BOTTOM + 8
    parts.append(
        f'<line x1="{SIGNAL_LEFT}" x2="{SIGNAL_LEFT + inner}" y1="{axis_y}" y2="{axis_y}" stroke="{GREY}" '
        'stroke-width="1"/>'
    )
    for tick in (0, 0.5, 1):
        x = SIGNAL_LEFT + inner * tick
        parts.append(
            f'<text x="{x:.1f}" y="{axis_y + 16}" font-size="12" text-anchor="middle" fill="{BLACK}">'
            f"{escape(_shown(top * tick, share))}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def _shown(value: float, share: bool) -> str:
    return f"{value:.1%}" if share else f"{value:,.2f}"
