"""Benchmark the driver analysis: exact Shapley, bootstrap relative weights, correlation at 1M.

Run ``python benchmarks/bench_drivers.py`` (optionally ``--rows 200000`` for a quicker run).
Prints wall times with their CPU seconds (user + system of this process and its threads;
on a shared, loaded machine the wall time says little), the load average, the goals of
issue 12 (1,000 replicates of relative weights at 1M <= 5 s; 20 drivers with bootstrap at
1M <= 2 GiB) and the peak resident memory of the process; PERFORMANCE.md lists targets.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time

import numpy as np
import pandas as pd

from analysis_helpers.drivers import driver_importance, weighted_correlation
from analysis_helpers.drivers.importance import _measures
from analysis_helpers.estimation import SurveyDesign


def _correlation_matrix(p: int, rng: np.random.Generator) -> np.ndarray:
    """A random positive definite correlation matrix with the outcome first."""
    a = rng.standard_normal((4 * p, p + 1))
    a[:, 0] = a[:, 1:].sum(1) + a[:, 0]
    c = np.cov(a, rowvar=False)
    d = np.sqrt(np.diag(c))
    return c / np.outer(d, d)


def _survey(n: int, p: int, rng: np.random.Generator) -> pd.DataFrame:
    """n respondents rating p drivers and an outcome on 0-10, with survey weights."""
    latent = rng.standard_normal((n, 1))
    x = 0.7 * latent + rng.standard_normal((n, p))
    coef = np.linspace(1.0, 0.1, p)
    y = x @ coef + rng.standard_normal(n) * 2
    ratings = np.clip(np.rint(5 + 1.5 * x), 0, 10)
    sat = np.clip(np.rint(5 + 1.5 * y / y.std()), 0, 10)
    frame = pd.DataFrame(ratings, columns=[f"q{j + 1:02d}" for j in range(p)])
    frame.insert(0, "sat", sat)
    frame["w"] = rng.gamma(4.0, 0.25, n)
    return frame


LAST_CPU = [0.0]


def _timed(func, repeat: int = 1) -> float:
    """Return the best wall time of ``repeat`` runs; its CPU seconds go to ``LAST_CPU``."""
    best = np.inf
    for _ in range(repeat):
        start, cpu = time.perf_counter(), time.process_time()
        func()
        wall = time.perf_counter() - start
        if wall < best:
            best, LAST_CPU[0] = wall, time.process_time() - cpu
    return best


def _cpu() -> str:
    return f"({LAST_CPU[0]:.2f} s CPU)"


def _peak_gib() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform != "darwin" else peak / 2**30


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--drivers", type=int, default=10)
    parser.add_argument("--replicates", type=int, default=1000)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(2024)

    print("exact Shapley/LMG from a correlation matrix (all 2^p subsets):")
    for p in (10, 15, 20):
        corr = _correlation_matrix(p, rng)
        seconds = _timed(lambda c=corr: _measures(c, ["lmg"], True), 3 if p < 20 else 1)
        print(f"  {p:2d} drivers ({2**p:>9,} subsets): {seconds:8.3f} s")

    data = _survey(args.rows, args.drivers, rng)
    drivers = [c for c in data.columns if c.startswith("q")]
    columns = ["sat", *drivers]
    print(f"\ndata: {args.rows:,} respondents x {args.drivers} drivers, weighted")
    seconds = _timed(
        lambda: weighted_correlation(data, items=columns, design=SurveyDesign(weight="w")), 3
    )
    print(f"  weighted correlation matrix (listwise):      {seconds:8.3f} s")
    seconds = _timed(
        lambda: weighted_correlation(
            data, items=columns, design=SurveyDesign(weight="w"), missing="pairwise"
        )
    )
    print(f"  weighted correlation matrix (pairwise):      {seconds:8.3f} s")
    seconds = _timed(
        lambda: driver_importance(
            data,
            outcome="sat",
            drivers=drivers,
            design=SurveyDesign(weight="w"),
            methods=("relative_weight",),
        )
    )
    print(f"  relative weights, point estimate:            {seconds:8.3f} s")
    seconds = _timed(
        lambda: driver_importance(
            data,
            outcome="sat",
            drivers=drivers,
            design=SurveyDesign(weight="w"),
            methods=("relative_weight",),
            n_boot=args.replicates,
            random_state=1,
        )
    )
    print(
        f"  {args.replicates:,} bootstrap replicates, relative weights: {seconds:8.3f} s {_cpu()}"
        "  (goal <= 5 s at 1,000 x 1M)"
    )
    seconds = _timed(
        lambda: driver_importance(
            data,
            outcome="sat",
            drivers=drivers,
            design=SurveyDesign(weight="w"),
            n_boot=args.replicates,
            random_state=1,
        )
    )
    print(
        f"  {args.replicates:,} replicates, all default measures (LMG bootstrapped up to 12 "
        f"drivers): {seconds:8.3f} s {_cpu()}"
    )
    wide = _survey(args.rows, 20, rng)
    twenty = [c for c in wide.columns if c.startswith("q")]
    seconds = _timed(
        lambda: driver_importance(
            wide,
            outcome="sat",
            drivers=twenty,
            design=SurveyDesign(weight="w"),
            n_boot=args.replicates,
            random_state=1,
        )
    )
    print(
        f"  20 drivers, {args.replicates:,} bootstrap replicates (point LMG, intervals of the "
        f"rest): {seconds:8.3f} s {_cpu()}; peak so far {_peak_gib():.2f} GiB (goal <= 2 GiB)"
    )
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"load average (1, 5, 15 min): {load} on {os.cpu_count()} cores")

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    peak_mb = peak / 1024 if sys.platform != "darwin" else peak / 2**20
    print(
        f"\npeak resident memory: {peak_mb:,.0f} MB (the 20-driver data frame itself "
        f"{wide.memory_usage(deep=True).sum() / 2**20:,.0f} MB)"
    )


if __name__ == "__main__":
    main()
