"""Draw the demo channel's two video thumbnails (fictional, 480x270 PNG) into web/static/demo.

Run by hand when a sample video changes: `.venv/bin/python content/samples/draw_thumbnails.py`.
The PNGs are committed; the web app serves them at /static/demo/ and `broadsheet demo`
inlines them into its emails. PNG because email clients do not show SVG.
"""

from __future__ import annotations

from pathlib import Path

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Circle, FancyBboxPatch

OUT = Path(__file__).resolve().parents[2] / "web" / "static" / "demo"
INK, PAPER, SAGE, DUSK = "#1f2a30", "#f4efe6", "#7fa88f", "#2f3e5c"


def _canvas(background: str) -> tuple[Figure, Axes]:
    figure = Figure(figsize=(4.8, 2.7), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_axes((0, 0, 1, 1))
    axes.set_xlim(0, 480)
    axes.set_ylim(0, 270)
    axes.axis("off")
    figure.patch.set_facecolor(background)
    return figure, axes


def grounding_drill(path: Path) -> None:
    """Five, four, three, two, one: circles that shrink as the count slows down."""
    figure, axes = _canvas(PAPER)
    for i, count in enumerate((5, 4, 3, 2, 1)):
        x, r = 60 + i * 90, 38 - i * 5
        axes.add_patch(Circle((x, 165), r, color=SAGE, alpha=0.35 + i * 0.13))
        axes.text(x, 165, str(count), ha="center", va="center", fontsize=22, color=INK)
    axes.text(240, 62, "slowed down", ha="center", fontsize=20, color=INK, style="italic")
    figure.savefig(path, format="png", metadata={"Software": None})


def three_am_card(path: Path) -> None:
    """A note card on a night-blue desk, with the small hours' moon."""
    figure, axes = _canvas(DUSK)
    axes.add_patch(Circle((400, 210), 30, color="#f2e3a0"))
    axes.add_patch(Circle((388, 218), 26, color=DUSK))
    card = FancyBboxPatch((70, 50), 260, 150, boxstyle="round,pad=4", color=PAPER)
    axes.add_patch(card)
    for y in (160, 130, 100):
        axes.plot([90, 310], [y - 8, y - 8], color="#c9bfae", linewidth=1)
    axes.text(90, 158, "1. the email", fontsize=13, color=INK)
    axes.text(90, 128, "2. the rent", fontsize=13, color=INK)
    axes.text(90, 98, "look at 10 a.m.", fontsize=13, color=INK, style="italic")
    axes.text(400, 120, "3 a.m.", ha="center", fontsize=26, color=PAPER)
    figure.savefig(path, format="png", metadata={"Software": None})


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    grounding_drill(OUT / "Sg0rnd4x7Qa.png")
    three_am_card(OUT / "Sg0rnd9kLmb.png")
    print(f"wrote {OUT}")
