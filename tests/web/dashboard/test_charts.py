"""The dashboard's inline SVG chart."""

from __future__ import annotations

import re

from web.dashboard.charts import INSET, WIDTH, bar_chart


def test_the_end_labels_are_anchored_inside_the_chart() -> None:
    svg = str(bar_chart([(f"{d} Nov", d) for d in range(1, 31)], "Sign-ups"))
    labels = re.findall(r'<text x="([\d.]+)" y="\d+" text-anchor="(\w+)">([^<]+)</text>', svg)
    assert labels == [
        (f"{INSET:.1f}", "start", "1 Nov"),
        (f"{15 * WIDTH / 30 + WIDTH / 60:.1f}", "middle", "16 Nov"),
        (f"{WIDTH - INSET:.1f}", "end", "30 Nov"),
    ]


def test_one_point_is_one_label_that_starts_at_the_left_edge() -> None:
    svg = str(bar_chart([("7 Dec", 3)], "Sign-ups"))
    assert re.findall(r'text-anchor="(\w+)">7 Dec<', svg) == ["start"]
