"""Small charts drawn as inline SVG on the server: no JavaScript, readable by screen
readers through a title and a data table next to them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from markupsafe import Markup, escape

WIDTH, HEIGHT, BASE = 600, 160, 140
INSET = 2  # glyphs reach a little past their anchor: the end labels stay this far inside


def bar_chart(points: Sequence[tuple[str, float]], title: str) -> Markup:
    """One bar per point, labelled at the first, middle and last bar. The first label
    starts at the left edge and the last ends at the right one, so neither is cut off."""
    if not points:
        return Markup("")
    top = max((v for _, v in points), default=0) or 1
    step = WIDTH / len(points)
    bars = []
    for i, (label, value) in enumerate(points):
        h = (BASE - 10) * value / top
        bars.append(
            f'<rect class="bar" x="{i * step + 1:.1f}" y="{BASE - h:.1f}" '
            f'width="{max(step - 2, 1):.1f}" height="{h:.1f}"><title>{escape(label)}: '
            f"{value:g}</title></rect>"
        )
    last = len(points) - 1
    labels = []
    for i in sorted({0, len(points) // 2, last}):
        if i == 0:
            x, anchor = float(INSET), "start"
        elif i == last:
            x, anchor = float(WIDTH - INSET), "end"
        else:
            x, anchor = i * step + step / 2, "middle"
        labels.append(
            f'<text x="{x:.1f}" y="{HEIGHT - 4}" text-anchor="{anchor}">'
            f"{escape(points[i][0])}</text>"
        )
    return Markup(
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}; highest {top:g}">'
        f"<title>{escape(title)}</title>"
        f'<line x1="0" y1="{BASE}" x2="{WIDTH}" y2="{BASE}"></line>'
        f'<text x="2" y="10">{top:g}</text>' + "".join(bars) + "".join(labels) + "</svg>"
    )


def day_label(day: dt.date) -> str:
    return day.strftime("%-d %b")
