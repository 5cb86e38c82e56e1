"""Run every benchmark section, print a table, write bench/results/latest.json.

Each section is a module in bench/ with `run(quick: bool) -> list[Figure]`.
"""

from __future__ import annotations

import argparse
import importlib
import json
import platform
import sys
import time
import traceback
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench.common import Figure

# Module names under bench/, in the order they run.
SECTIONS: list[str] = ["feeds", "render", "subscribers", "campaign", "scale", "events", "admin"]
RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for development")
    parser.add_argument("--only", action="append", help="run only these sections")
    args = parser.parse_args(argv)
    console = Console()
    figures: list[Figure] = []
    failures: list[str] = []
    for section in args.only or SECTIONS:
        console.print(f"[bold]bench {section}[/bold] ...")
        started = time.perf_counter()
        try:
            module = importlib.import_module(f"bench.{section}")
            figures.extend(module.run(quick=args.quick))
        except Exception:
            failures.append(section)
            console.print(traceback.format_exc(), style="red")
        console.print(f"  done in {time.perf_counter() - started:.1f}s")
    table = Table("section", "figure", "value", "target", "met")
    for f in figures:
        target = "" if f.target is None else f"{'≥' if f.direction == 'min' else '≤'} {f.target:g}"
        met = {None: "", True: "[green]yes[/green]", False: "[red]NO[/red]"}[f.met]
        table.add_row(f.section, f.name, f"{f.value:,.2f} {f.unit}", target, met)
    console.print(table)
    for f in figures:
        if f.note:
            console.print(f"  [dim]{f.section} · {f.name}:[/dim] {f.note}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "quick": args.quick,
                "machine": {"python": sys.version.split()[0], "platform": platform.platform()},
                "figures": [f.as_dict() for f in figures],
                "failed_sections": failures,
            },
            indent=2,
        )
    )
    console.print(f"wrote {RESULTS}")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
