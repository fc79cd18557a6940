"""Benchmark: time to build report.xlsx and report.pptx for a report.

Either from an existing report folder (``--report reports/demo/latest``: its manifest is
read as the runner reads it; the files are written into a scratch copy) or, by default,
from a demo-like report made here: the demo study, ``--tables`` shown tables (KPI tables
with intervals, tests and arrows, 6 to 60 rows) and ``--figures`` figures, half of them
with the data for a native chart (bar, line, scatter), half PNG only. Prints seconds for
the workbook, the deck and both, the files' sizes, sheets, slides and native charts.

    python benchmarks/bench_deliverables.py
    python benchmarks/bench_deliverables.py --report reports/demo/latest
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

ROOT = Path(__file__).resolve().parents[1]


def _demo_report(folder: Path, tables: int, figures: int) -> object:
    import matplotlib

    matplotlib.use("Agg")
    import IPython.display
    import matplotlib.pyplot as plt

    from analysis_helpers.notebook import setup

    IPython.display.display = lambda *a, **k: None  # the pages are not benchmarked
    rng = np.random.default_rng(1)
    ctx = setup(str(ROOT / "config" / "demo.yml"), str(folder), notebook="20-describe")
    study = ctx.study
    items = study.item_names()
    units = ["mean (1-10)", "share", "points", "index (0-100)"]
    for k in range(tables):
        rows = int(rng.integers(6, 61))
        est = rng.uniform(0.1, 0.9, rows)
        t = pd.DataFrame(
            {
                "item": [items[i % len(items)] for i in range(rows)],
                "unit": [units[i % 4] for i in range(rows)],
                "estimate": est,
                "ci_low": est - 0.05,
                "ci_high": est + 0.05,
                "n": rng.integers(200, 1600, rows),
                "change": rng.normal(0, 0.03, rows),
                "p_value": rng.uniform(0, 1, rows),
                "significant": rng.uniform(0, 1, rows) < 0.2,
            }
        )
        ctx.show(t, caption=f"Table {k + 1}: items by wave, {study.wave_label(study.waves[-1])}")
    fig, ax = plt.subplots()
    ax.plot([1, 2, 3])
    for k in range(figures):
        if k % 2:
            ctx.save_figure(fig, f"fig{k}")
        else:
            kind = ["bar", "line", "scatter"][(k // 2) % 3]
            if kind == "line":
                data = pd.DataFrame(
                    {
                        "wave": np.repeat(study.waves, 4),
                        "label": np.tile(["CSAT", "NPS", "CES", "Index"], len(study.waves)),
                        "estimate": rng.uniform(0.3, 0.8, 4 * len(study.waves)),
                    }
                )
                chart = {"type": "line", "x": "wave", "y": "estimate", "series": "label"}
            elif kind == "scatter":
                data = pd.DataFrame(
                    {
                        "item": items[:20],
                        "imp": rng.uniform(0, 0.3, 20),
                        "perf": rng.uniform(50, 80, 20),
                    }
                )
                chart = {"type": "scatter", "x": "imp", "y": "perf", "label": "item"}
            else:
                data = pd.DataFrame(
                    {"item": items[:12], "estimate": rng.uniform(0.3, 0.8, 12), "n": 1505}
                )
                chart = {"type": "bar", "x": "item", "y": "estimate", "kind": "share"}
            ctx.save_figure(fig, f"fig{k}", data=data, chart=chart)
        ctx.say("Figure {k} shows what moved: **{x:share}** of customers.", k=k + 1, x=0.42)
    return study


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report", help="an existing report folder (default: a demo-like one)")
    parser.add_argument("--tables", type=int, default=30)
    parser.add_argument("--figures", type=int, default=20)
    args = parser.parse_args()

    from analysis_helpers.deliverables import DECK, WORKBOOK, read_manifest
    from analysis_helpers.deliverables.deck import write_deck
    from analysis_helpers.deliverables.workbook import write_workbook
    from analysis_helpers.study import load_study

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "report"
        if args.report:
            src = Path(args.report).resolve()
            shutil.copytree(src, folder)
            import json

            record = json.loads((folder / "run.json").read_text(encoding="utf-8"))
            study = load_study(record["study_file"])
            print(f"report: {src}")
        else:
            start = time.perf_counter()
            study = _demo_report(folder, args.tables, args.figures)
            print(f"demo-like report: {args.tables} tables, {args.figures} figures "
                  f"(recorded in {time.perf_counter() - start:.2f} s)")  # fmt: skip
        entries = read_manifest(folder)
        t0 = time.perf_counter()
        book = write_workbook(entries, study, folder / WORKBOOK, report_dir=folder)
        t1 = time.perf_counter()
        deck = write_deck(entries, study, folder / DECK, report_dir=folder)
        t2 = time.perf_counter()
        kb = {f: (folder / f).stat().st_size / 1024 for f in (WORKBOOK, DECK)}
        print(f"report.xlsx: {t1 - t0:.2f} s, {book['sheets']} table sheets, {kb[WORKBOOK]:.0f} KB")
        print(f"report.pptx: {t2 - t1:.2f} s, {deck['slides']} slides, {deck['charts']} native "
              f"charts, {deck['pictures']} pictures, {kb[DECK]:.0f} KB")  # fmt: skip
        print(f"both files: {t2 - t0:.2f} s")


if __name__ == "__main__":
    main()
