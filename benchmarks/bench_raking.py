"""Benchmark: raking-aware SEs against fixed-weight one-stage SEs at scale (issue 15 item 3).

Generates respondents with numpy (design weight, 10 strata, 6 waves x 4 segments, two
raking margins - region with 5 values and age with 4 - and 40 items on 1-5 with ~3%
missing), rakes the weights to the margins within each wave (``rake``, timed apart), then
times means + SEs of the 40 items by wave x segment twice: with the raked weights treated
as fixed (one-stage linearised, strata) and raking-aware (the same design carrying the
raking: ``SurveyDesign(calibration=Calibration(["region", "age"], within="wave"))``).
Prints wall and CPU seconds of each (best of ``--repeat``), the overhead of the
raking-aware SEs, the load average and the peak resident memory. Target (issue 15):
raking-aware SEs add <= 50% to the one-stage time at 1,000,000 respondents.

    python benchmarks/bench_raking.py --n 1000000
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

from analysis_helpers.estimation import Calibration, SurveyDesign, survey_mean  # noqa: E402
from analysis_helpers.weighting import rake  # noqa: E402

N_ITEMS = 40
MARGINS = {
    "region": {0: 0.3, 1: 0.25, 2: 0.2, 3: 0.15, 4: 0.1},
    "age": {0: 0.2, 1: 0.3, 2: 0.3, 3: 0.2},
}


def make_data(n: int, seed: int = 1) -> pd.DataFrame:
    """``n`` respondents: weight, stratum, wave, segment, region, age, items q01..q40."""
    rng = np.random.default_rng(seed)
    cols: dict[str, np.ndarray] = {
        "weight": rng.lognormal(0, 0.4, n),
        "stratum": rng.integers(0, 10, n).astype(np.int8),
        "wave": rng.integers(0, 6, n).astype(np.int8),
        "segment": rng.integers(0, 4, n).astype(np.int8),
        "region": rng.choice(5, n, p=[0.4, 0.2, 0.2, 0.1, 0.1]).astype(np.int8),
        "age": rng.choice(4, n, p=[0.1, 0.3, 0.3, 0.3]).astype(np.int8),
    }
    for j in range(N_ITEMS):  # items related to the margins, so raking matters
        y = np.clip(
            np.round(2.5 + 0.3 * cols["region"] - 0.2 * cols["age"] + rng.normal(0, 1, n)), 1, 5
        )
        y[rng.random(n) < 0.03] = np.nan
        cols[f"q{j + 1:02d}"] = y
    return pd.DataFrame(cols)


def timed(fn, repeat: int) -> tuple[float, float, object]:
    """Return the best wall and CPU seconds of ``repeat`` runs of ``fn`` and its result."""
    best_wall = best_cpu = float("inf")
    out = None
    for _ in range(repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        best_wall = min(best_wall, time.perf_counter() - w0)
        best_cpu = min(best_cpu, time.process_time() - c0)
    return best_wall, best_cpu, out


def main() -> None:
    """Run the benchmark and print the figures."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    data = make_data(args.n)
    items = [f"q{j + 1:02d}" for j in range(N_ITEMS)]
    w0, c0 = time.perf_counter(), time.process_time()
    raked = np.empty(len(data))
    for _, idx in data.groupby("wave").indices.items():
        part = data.iloc[idx]
        raked[idx] = rake(part, margins=MARGINS, design=SurveyDesign(weight="weight")).to_numpy()
    data["rake_weight"] = raked
    t_rake = (time.perf_counter() - w0, time.process_time() - c0)
    fixed = SurveyDesign(weight="rake_weight", strata="stratum")
    aware = SurveyDesign(
        weight="rake_weight",
        strata="stratum",
        calibration=Calibration(list(MARGINS), method="rake", within="wave"),
    )
    by = ["wave", "segment"]
    wf, cf, a = timed(lambda: survey_mean(data, items=items, by=by, design=fixed), args.repeat)
    wa, ca, b = timed(lambda: survey_mean(data, items=items, by=by, design=aware), args.repeat)
    load = os.getloadavg()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    ratio = np.asarray(b["se"]) / np.asarray(a["se"])
    print(f"respondents: {args.n:,}; estimates: {len(a):,} (40 items x wave x segment)")
    print(f"raking within 6 waves (2 margins): {t_rake[0]:.2f} s wall, {t_rake[1]:.2f} s CPU")
    print(f"one-stage, raked weights fixed: {wf:.2f} s wall, {cf:.2f} s CPU")
    print(f"raking-aware: {wa:.2f} s wall, {ca:.2f} s CPU")
    print(
        f"raking-aware adds {100 * (ca / cf - 1):+.0f}% CPU ({100 * (wa / wf - 1):+.0f}% wall); "
        "target <= +50%"
    )
    print(
        f"SE ratio raking-aware / fixed: median {np.nanmedian(ratio):.3f}, "
        f"range {np.nanmin(ratio):.3f}-{np.nanmax(ratio):.3f}"
    )
    print(f"load average (1, 5, 15 min): {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    print(f"peak memory: {peak:.2f} GiB")


if __name__ == "__main__":
    main()
