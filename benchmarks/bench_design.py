"""Benchmark: replicate-weight means and raking-aware SEs at scale (issue 15).

Generates respondents with numpy (weight, 6 waves x 4 segments, 40 items on 1-5 with ~3%
missing, 80 replicate weights), then times means + SEs of the 40 items by wave x segment
with the replicate design, and the same with the one-stage linearised design (strata) for
comparison. Prints wall and CPU seconds, the load average and the peak resident memory
(on a shared machine the CPU seconds are the figure to compare). The replicate means are
matrix products: the replicate weights sorted by group once, then per group one product
of 10 items' (value, answered) columns with them (X' W_rep). Targets (issue 15): replicate
means <= 5 s on 1,000,000 respondents; raking-aware SEs <= +50% of the one-stage time
(not built yet: printed as such).

    python benchmarks/bench_design.py --n 1000000
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # threaded BLAS stalls on a shared machine

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from analysis_helpers.estimation import SurveyDesign, survey_mean  # noqa: E402
from analysis_helpers.replicates import ReplicateDesign  # noqa: E402

N_ITEMS = 40
N_REPS = 80


def make_data(n: int, seed: int = 1) -> pd.DataFrame:
    """``n`` respondents: weight, wave, segment, stratum, items q01..q40, rep1..rep80."""
    rng = np.random.default_rng(seed)
    cols: dict[str, np.ndarray] = {
        "weight": rng.lognormal(0, 0.4, n),
        "wave": rng.integers(0, 6, n).astype(np.int8),
        "segment": rng.integers(0, 4, n).astype(np.int8),
        "stratum": rng.integers(0, 10, n).astype(np.int8),
    }
    for j in range(N_ITEMS):
        y = rng.integers(1, 6, n).astype(float)
        y[rng.random(n) < 0.03] = np.nan
        cols[f"q{j + 1:02d}"] = y
    psu = rng.integers(0, N_REPS, n)  # 80 random groups: delete-a-group jackknife
    for r in range(N_REPS):
        cols[f"rep{r + 1}"] = np.where(psu == r, 0.0, cols["weight"] * N_REPS / (N_REPS - 1))
    return pd.DataFrame(cols)


def main() -> None:
    """Run the benchmark and print the figures."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1_000_000)
    args = ap.parse_args()
    data = make_data(args.n)
    items = [f"q{j + 1:02d}" for j in range(N_ITEMS)]
    reps = [f"rep{r + 1}" for r in range(N_REPS)]
    rep = ReplicateDesign(weight="weight", replicates=reps, type="JK1", scale=(N_REPS - 1) / N_REPS)
    lin = SurveyDesign(weight="weight", strata="stratum")
    t0, c0 = time.perf_counter(), time.process_time()
    a = survey_mean(data, items=items, by=["wave", "segment"], design=rep)
    t_rep, c_rep = time.perf_counter() - t0, time.process_time() - c0
    t0, c0 = time.perf_counter(), time.process_time()
    b = survey_mean(data, items=items, by=["wave", "segment"], design=lin)
    t_lin, c_lin = time.perf_counter() - t0, time.process_time() - c0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    print(f"respondents: {args.n:,}; estimates: {len(a):,} (40 items x wave x segment)")
    print(
        f"replicate design ({N_REPS} JK1 replicates): {t_rep:.2f} s wall, {c_rep:.2f} s CPU "
        "(target <= 5 s)"
    )
    print(f"one-stage linearised (10 strata): {t_lin:.2f} s wall, {c_lin:.2f} s CPU")
    print("load average (1, 5, 15 min): " + ", ".join(f"{x:.2f}" for x in os.getloadavg()))
    print("raking-aware SEs: not built yet (issue 15 item 3)")
    print(f"median SE ratio replicate / linearised: {np.nanmedian(a['se'] / b['se']):.3f}")
    print(f"peak memory: {peak:.2f} GiB")


if __name__ == "__main__":
    main()
