"""Benchmark: banners with letters on a large study (issue 11).

Generates respondents with numpy (weights, 10 strata, 60 items on 1-5 with ~3% missing,
three banner variables of 20 values each), then computes 3 banners x 20 columns x 60 rows
(the mean of every item) with pairwise letters (Holm), tests against Total and the rest and
a Wald F per row, all design-based. Prints the seconds, the cells and tests computed and the
peak resident memory. The target (issue 11): <= 3 s and <= 1 GiB on 1,000,000 respondents.

    python benchmarks/bench_banner.py --n 1000000
    python benchmarks/bench_banner.py --n 1000000 --distribution   # + 5 distribution rows
    python benchmarks/bench_banner.py --n 1000000 --index   # + the CSI and 6 area indices

Index rows: their covariance comes from per-(unit, column cell) totals of every item's
``w y`` and ``w`` and, without clusters, one Gram matrix of those per-row values per column
cell - the rows are read once per banner variable, not once per index row (issue 15; before,
each row and banner variable built an n x (2C + 1) influence matrix). Measured 2026-12-03 on
the shared 2-core machine with OPENBLAS_NUM_THREADS=1, banner_table's CPU seconds:
200,000 --index 9.3 s before, 2.9 s after (load 20-23; 1.8 s without --index);
1,000,000 --index 40.6 s before (load 22.8, 2.6 GiB), 10.6 s after (load 18.3, 1.7 GiB).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from analysis_helpers.banners import BannerRow, banner_table, index_rows_of  # noqa: E402
from analysis_helpers.estimation import SurveyDesign  # noqa: E402

N_ITEMS = 60
N_VALUES = 20


def make_data(n: int, seed: int = 1) -> pd.DataFrame:
    """``n`` respondents: weight, stratum, three banner variables b1..b3, items q01..q60."""
    rng = np.random.default_rng(seed)
    cols: dict[str, np.ndarray] = {
        "weight": rng.lognormal(0, 0.4, n),
        "stratum": rng.integers(0, 10, n).astype(np.int8),
    }
    for b in range(3):
        cols[f"b{b + 1}"] = rng.integers(0, N_VALUES, n).astype(np.int8)
    latent = rng.normal(0, 1, n).astype(np.float32) - 0.05 * cols["b1"]
    for j in range(N_ITEMS):
        x = np.clip(np.round(3.4 + 0.8 * latent + rng.normal(0, 0.9, n)), 1, 5)
        x[rng.random(n) < 0.03] = np.nan
        cols[f"q{j + 1:02d}"] = x.astype(np.float32)  # the compact dtype of an export
    return pd.DataFrame(cols)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="respondents")
    parser.add_argument("--distribution", action="store_true", help="add 5 distribution rows")
    parser.add_argument(
        "--index", action="store_true", help="add the CSI and 6 area indices (10 items each)"
    )
    args = parser.parse_args()
    data = make_data(args.n)
    rss_data = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rows = [BannerRow(f"q{j + 1:02d}", ("mean",), f"Item {j + 1}", 1, 5) for j in range(N_ITEMS)]
    if args.distribution:
        rows += [BannerRow(f"q{j + 1:02d}", ("distribution",), f"Item {j + 1}", 1, 5)
                 for j in range(5)]  # fmt: skip
    hierarchy = pd.DataFrame(
        {
            "item": [f"q{j + 1:02d}" for j in range(N_ITEMS)],
            "indicator": [f"area{j // 10 + 1}" for j in range(N_ITEMS)],
            "area": [f"area{j // 10 + 1}" for j in range(N_ITEMS)],
            "scale_min": 1,
            "scale_max": 5,
        }
    )
    if args.index:
        rows += index_rows_of(hierarchy, ["csi", "areas"])
    design = SurveyDesign(weight="weight", strata="stratum")
    t0, c0 = time.perf_counter(), time.process_time()
    res = banner_table(data, rows=rows, by=["b1", "b2", "b3"], design=design, hierarchy=hierarchy)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    load = os.getloadavg()[0]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    cells = res.table[res.table["column"] != "total"]
    print(f"respondents: {args.n:,}")
    print(f"banner rows: {res.table['row'].nunique()} x 3 banner variables x {N_VALUES} columns")
    print(f"cells: {len(cells):,}, with letters: {(cells['letters'] != '').sum():,}")
    print(f"pairwise tests: {len(res.pairs):,}, omnibus tests: {len(res.tests):,}")
    print(f"seconds: {seconds:.2f} wall, {cpu:.2f} CPU (load average {load:.1f})")
    print(f"peak memory: {peak:,.0f} MiB (data alone: {rss_data:,.0f} MiB)")


if __name__ == "__main__":
    main()
