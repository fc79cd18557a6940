"""Profile one pipeline notebook without a kernel: its code cells under cProfile.

Runs the notebook's code cells in one namespace (the parameters cell given the study file
and a scratch report folder, matplotlib on Agg) and prints the functions with the most
cumulative and own time. The study's cleaned data must exist (run ``10-clean`` first, e.g.
through ``bench_report.py --keep FOLDER``), except when profiling ``10-clean`` itself.

    python benchmarks/profile_notebook.py 20-describe --project /tmp/bench --study config/bench.yml
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def cells(name: str) -> list[str]:
    """Return the code cells of ``notebooks/<name>.ipynb``."""
    nb = json.loads((ROOT / "notebooks" / f"{name}.ipynb").read_text(encoding="utf-8"))
    return ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]


def main() -> None:
    """Run the notebook's cells under the profiler and print the top functions."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebook", help="e.g. 20-describe")
    parser.add_argument("--project", default=str(ROOT), help="the study's project root")
    parser.add_argument("--study", default="config/demo.yml")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--out", help="write the raw profile here (for snakeviz, pstats)")
    args = parser.parse_args()
    os.environ["MPLBACKEND"] = "Agg"
    os.chdir(args.project)
    code = cells(args.notebook)
    with tempfile.TemporaryDirectory() as report_dir:
        ns: dict[str, object] = {"__name__": "__profiled__"}
        prof = cProfile.Profile()
        t0 = time.perf_counter()
        for k, src in enumerate(code):
            if "study_file:" in src and "report_dir:" in src:  # the parameters cell
                src += f"\nstudy_file = {args.study!r}\nreport_dir = {report_dir!r}\n"
            if src.lstrip().startswith(("%", "!")):
                continue
            t = time.perf_counter()
            prof.enable()
            exec(compile(src, f"<{args.notebook} cell {k}>", "exec"), ns)  # noqa: S102
            prof.disable()
            print(f"cell {k:2d}: {time.perf_counter() - t:6.2f} s  {src.splitlines()[0][:70]}")
        print(f"{args.notebook}: {time.perf_counter() - t0:.1f} s in all")
    if args.out:
        prof.dump_stats(args.out)
    stats = pstats.Stats(prof).strip_dirs()
    stats.sort_stats("cumulative").print_stats(args.top)
    stats.sort_stats("tottime").print_stats(args.top // 2)


if __name__ == "__main__":
    main()
