"""A campaign's deliveries and clicks over time, as a PNG.

matplotlib's object API with the Agg canvas: no pyplot global state, no display,
safe in a web worker thread.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

from matplotlib import dates as mdates
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from feedback.reports import Timeline


def timeline_png(timeline: Timeline, title: str | None = None) -> bytes:
    """The plot; the title (the timeline's own by default) is also the PNG's Title metadata."""
    title = timeline.title if title is None else title
    figure = Figure(figsize=(9, 4.5), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    series = [
        ("sent", timeline.sent),
        ("delivered", timeline.delivered),
        ("link clicks", timeline.clicks),
        ("sponsor clicks", timeline.sponsor_clicks),
    ]
    drawn = 0
    for label, times in series:
        if times:
            axes.step(
                mdates.date2num(times),
                _cumulative(times),
                where="post",
                label=f"{label} ({len(times)})",
            )
            drawn += 1
    if not drawn:
        axes.text(0.5, 0.5, "no deliveries yet", ha="center", va="center", transform=axes.transAxes)
    else:
        axes.legend(loc="upper left")
    axes.xaxis_date(tz=dt.UTC)
    axes.set_title(title)
    axes.set_xlabel("time (UTC)")
    axes.set_ylabel("cumulative count")
    axes.grid(alpha=0.3)
    figure.autofmt_xdate()
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(out, format="png", metadata={"Title": title})
    return out.getvalue()


def write_timeline_png(timeline: Timeline, path: Path, title: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(timeline_png(timeline, title))
    return path


def _cumulative(times: list[dt.datetime]) -> list[int]:
    return list(range(1, len(times) + 1))
