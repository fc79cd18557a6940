"""Benchmark: every KPI with design-based SEs by wave x segment on a large study.

Generates a study with numpy (6 waves, 4 segments, 40 items on 1-5 with ~3% missing, a
0-10 recommendation item, an effort item, weights, strata = region x wave), then times
each step and prints seconds per step, the total and the peak resident memory.

    python benchmarks/bench_estimation.py --n 1000000
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from analysis_helpers.estimation import SurveyDesign, sample_profile, survey_mean  # noqa: E402
from analysis_helpers.kpis import ces, csi, nps, top_box  # noqa: E402

N_ITEMS = 40


def make_study(n: int, seed: int = 1) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    wave = rng.integers(0, 6, n)
    segment = rng.integers(0, 4, n)
    region = rng.integers(0, 5, n)
    latent = rng.normal(0, 1, n) + 0.1 * wave - 0.2 * (segment == 2)
    cols = {
        "wave": pd.Categorical.from_codes(wave, [f"W{i + 1}" for i in range(6)]),
        "segment": pd.Categorical.from_codes(
            segment, ["prepaid", "postpaid", "business", "family"]
        ),
        "stratum": region * 6 + wave,
        "weight": rng.lognormal(0, 0.4, n),
    }
    for j in range(N_ITEMS):
        x = np.clip(np.round(3.4 + 0.8 * latent + rng.normal(0, 0.9, n)), 1, 5)
        x[rng.random(n) < 0.03] = np.nan
        cols[f"q{j + 1:02d}"] = x
    cols["recommend"] = np.clip(np.round(7 + 1.8 * latent + rng.normal(0, 1.5, n)), 0, 10)
    cols["effort"] = np.clip(np.round(2.5 - 0.6 * latent + rng.normal(0, 0.8, n)), 1, 5)
    data = pd.DataFrame(cols)
    items = [f"q{j + 1:02d}" for j in range(N_ITEMS)]
    hierarchy = pd.DataFrame(
        {
            "item": items,
            "indicator": [f"ind{j // 3}" for j in range(N_ITEMS)],
            "area": [f"area{j // 5}" for j in range(N_ITEMS)],
            "scale_min": 1,
            "scale_max": 5,
        }
    )
    # an indicator must sit in one area: put each indicator in the area of its first item
    first_area = hierarchy.groupby("indicator")["area"].transform("first")
    hierarchy["area"] = first_area
    return data, hierarchy


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000, help="respondents")
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    data, hierarchy = make_study(args.n)
    gen = time.perf_counter() - t0
    items = list(hierarchy["item"])
    design = SurveyDesign(weight="weight", strata="stratum")
    by = ["wave", "segment"]
    steps = [
        ("sample profile", lambda: sample_profile(data, by=by, design=design)),
        ("means, 40 items", lambda: survey_mean(data, items=items, by=by, design=design)),
        (
            "top-2 box, 40 items",
            lambda: top_box(data, items=items, top=(4, 5), by=by, design=design),
        ),
        ("NPS", lambda: nps(data, items="recommend", by=by, design=design)),
        (
            "CES (mean + easy share)",
            lambda: ces(data, items="effort", easy=(1, 2), by=by, design=design),
        ),
        (
            "CSI roll-up (40 items, SEs)",
            lambda: csi(data, hierarchy=hierarchy, by=by, design=design),
        ),
    ]
    print(
        f"{args.n:,} respondents x {N_ITEMS} items; by wave x segment "
        f"({data['wave'].nunique() * data['segment'].nunique()} groups); "
        f"design: weights + {data['stratum'].nunique()} strata"
    )
    print(f"{'data generation (not counted)':34s} {gen:7.2f} s")
    total = 0.0
    for name, fn in steps:
        t = time.perf_counter()
        out = fn()
        dt = time.perf_counter() - t
        total += dt
        print(f"{name:34s} {dt:7.2f} s   ({len(out):,} rows)")
    print(f"{'total KPI time':34s} {total:7.2f} s")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory: {peak:,.0f} MB (ru_maxrss, includes the data)")


if __name__ == "__main__":
    main()
