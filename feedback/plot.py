"""A campaign's deliveries and clicks over time, as a PNG.

matplotlib's object API with the Agg canvas: no pyplot global state, no display,
safe in a web worker thread. The time axis spans the data plus a margin
(`time_window`): left alone, matplotlib widens a send that took seconds to
days of empty axis.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

from matplotlib import dates as mdates
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from feedback.reports import Timeline

MIN_MARGIN = dt.timedelta(minutes=1)


def time_window(times: list[dt.datetime]) -> tuple[dt.datetime, dt.datetime] | None:
    """The x axis: first to last time, widened by 5% of the span and at least a minute."""
    if not times:
        return None
    first, last = min(times), max(times)
    margin = max((last - first) / 20, MIN_MARGIN)
    return first - margin, last + margin


def timeline_png(timeline: Timeline, title: str | None = None) -> bytes:
    """The plot; the title (the timeline's own by default) is also the PNG's Title metadata."""
    title = timeline.title if title is None else title
    figure = timeline_figure(timeline, title)
    out = io.BytesIO()
    figure.savefig(out, format="png", metadata={"Title": title})
    return out.getvalue()


def timeline_figure(timeline: Timeline, title: str) -> Figure:
    """The drawn figure (the PNG's source; tests read its axes)."""
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
    window = time_window([t for _, times in series for t in times])
    if window is not None:
        axes.set_xlim(mdates.date2num(window[0]), mdates.date2num(window[1]))
        locator = mdates.AutoDateLocator(tz=dt.UTC)
        axes.xaxis.set_major_locator(locator)
        axes.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, tz=dt.UTC))
    axes.set_title(title)
    axes.set_xlabel("time (UTC)")
    axes.set_ylabel("cumulative count")
    axes.grid(alpha=0.3)
    figure.tight_layout()
    return figure


def write_timeline_png(timeline: Timeline, path: Path, title: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(timeline_png(timeline, title))
    return path


def _cumulative(times: list[dt.datetime]) -> list[int]:
    return list(range(1, len(times) + 1))
