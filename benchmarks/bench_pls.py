"""Benchmark the PLS path model: a fit at 1,000,000 respondents x 27 items, and 1,000
bootstrap replicates at 10,000 respondents (targets: <= 3 s and <= 10 s).

Run ``python benchmarks/bench_pls.py`` (``--n 50000 --boot-n 2000 --replicates 50`` for a
quick run). The data follow the ECSI model of R plspm's bank example (6 constructs, 27
items on 0-10, survey weights). Prints wall times (best of ``--repeat``), the CPU seconds of
that best run (user + system of this process and its threads: on a shared, loaded machine the
wall time says little), the load average and the peak resident memory of the process.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time

import numpy as np
import pandas as pd

from analysis_helpers.estimation import SurveyDesign
from analysis_helpers.pls import PathModel, construct_index, fit_pls, ipma, pls_bootstrap

BLOCKS = {
    "IMAG": [f"imag{i}" for i in range(1, 6)],
    "EXPE": [f"expe{i}" for i in range(1, 6)],
    "QUAL": [f"qual{i}" for i in range(1, 6)],
    "VAL": [f"val{i}" for i in range(1, 5)],
    "SAT": [f"sat{i}" for i in range(1, 5)],
    "LOY": [f"loy{i}" for i in range(1, 5)],
}
PATHS = [("IMAG", "EXPE"), ("IMAG", "SAT"), ("IMAG", "LOY"), ("EXPE", "QUAL"), ("EXPE", "VAL"),
         ("EXPE", "SAT"), ("QUAL", "VAL"), ("QUAL", "SAT"), ("VAL", "SAT"), ("SAT", "LOY")]  # fmt: skip
BETA = {("IMAG", "EXPE"): 0.6, ("IMAG", "SAT"): 0.2, ("IMAG", "LOY"): 0.3, ("EXPE", "QUAL"): 0.8,
        ("EXPE", "VAL"): 0.1, ("EXPE", "SAT"): 0.05, ("QUAL", "VAL"): 0.6, ("QUAL", "SAT"): 0.15,
        ("VAL", "SAT"): 0.5, ("SAT", "LOY"): 0.5}  # fmt: skip


def survey(n: int, rng: np.random.Generator) -> pd.DataFrame:
    """n respondents: latent scores by the planted paths, items on 0-10, weights."""
    lv: dict[str, np.ndarray] = {}
    for c in BLOCKS:
        pred = [a for a, b in PATHS if b == c]
        z = sum((BETA[(a, c)] * lv[a] for a in pred), np.zeros(n))
        lv[c] = z + rng.standard_normal(n) * np.sqrt(max(0.2, 1 - np.var(z)))
        lv[c] = (lv[c] - lv[c].mean()) / lv[c].std()
    cols = {}
    for c, items in BLOCKS.items():
        for k, item in enumerate(items):
            x = 7 + 1.4 * (0.9 - 0.08 * k) * lv[c] + rng.standard_normal(n)
            cols[item] = np.clip(np.rint(x), 0, 10)
    frame = pd.DataFrame(cols)
    frame["w"] = rng.gamma(4.0, 0.25, n)
    frame["segment"] = rng.integers(0, 4, n)
    return frame


#: CPU seconds of the best run of the last :func:`timed` call
LAST_CPU = [0.0]


def timed(func, repeat: int) -> float:
    """Return the best wall time of ``repeat`` runs; its CPU seconds go to ``LAST_CPU``."""
    best = np.inf
    for _ in range(repeat):
        start, cpu = time.perf_counter(), time.process_time()
        func()
        wall = time.perf_counter() - start
        if wall < best:
            best, LAST_CPU[0] = wall, time.process_time() - cpu
    return best


def cpu() -> str:
    """The CPU seconds of the last timed run, as printed after its wall time."""
    return f"({LAST_CPU[0]:.3f} s CPU)"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=1_000_000, help="respondents of the fit")
    parser.add_argument("--boot-n", type=int, default=10_000, help="respondents of the bootstrap")
    parser.add_argument("--replicates", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--page-replicates",
        type=int,
        default=200,
        help="replicates of the bootstrap at --n respondents (0: skip)",
    )
    args = parser.parse_args(argv)
    rng = np.random.default_rng(2026)
    model = PathModel(blocks=BLOCKS, paths=PATHS, target="SAT")
    design = SurveyDesign(weight="w")

    data = survey(args.n, rng)
    print(f"data: {args.n:,} respondents x 27 items, 6 constructs, weighted")
    print("load average (1, 5, 15 min) at the start: " + ", ".join(
        f"{x:.2f}" for x in os.getloadavg()))  # fmt: skip
    fit = fit_pls(data, model=model, design=design)
    seconds = timed(lambda: fit_pls(data, model=model, design=design), args.repeat)
    print(
        f"  fit (path scheme, mode A, {fit.iterations} iterations): {seconds:8.3f} s {cpu()}  "
        "(target <= 3 s)"
    )
    got = dict(zip(zip(*(fit.path_coefficients()[c] for c in ("from", "to")), strict=True),
                   fit.path_coefficients()["estimate"], strict=True))  # fmt: skip
    print("  planted vs estimated paths: " + ", ".join(
        f"{a}->{b} {BETA[(a, b)]:.2f}/{got[(a, b)]:.2f}" for a, b in PATHS[:4]))  # fmt: skip
    seconds = timed(lambda: fit.outer_model(), args.repeat) + timed(lambda: fit.reliability(), 1)
    print(f"  outer model + reliability tables:            {seconds:8.3f} s")
    seconds = timed(
        lambda: construct_index(data, fit=fit, scale_min=0, scale_max=10, by="segment"), 1
    )
    print(f"  0-100 index of 6 constructs x 4 segments, design SEs: {seconds:8.3f} s")
    seconds = timed(lambda: ipma(data, model=model, scale_min=0, scale_max=10, design=design), 1)
    print(f"  IPMA (refit + index):                        {seconds:8.3f} s")

    if args.page_replicates:
        seconds = timed(
            lambda: pls_bootstrap(data, model=model, design=design, n_boot=args.page_replicates,
                                  random_state=1, scale_min=0, scale_max=10),
            1,
        )  # fmt: skip
        print(
            f"  {args.page_replicates:,} bootstrap replicates at {args.n:,} (the 60-index "
            f"page's):  {seconds:8.3f} s {cpu()}"
        )

    small = survey(args.boot_n, rng)
    print(f"\nbootstrap: {args.boot_n:,} respondents, {args.replicates:,} replicates, weighted")
    for method in ("percentile", "bca"):
        seconds = timed(
            lambda m=method: pls_bootstrap(small, model=model, design=design,
                                           n_boot=args.replicates, method=m, random_state=1,
                                           scale_min=0, scale_max=10),
            args.repeat,
        )  # fmt: skip
        print(
            f"  {args.replicates:,} bootstrap replicates, {method:<10}  {seconds:8.3f} s {cpu()}  "
            "(target <= 10 s)"
        )
    strat = small.assign(stratum=small["segment"])
    seconds = timed(
        lambda: pls_bootstrap(strat, model=model, n_boot=args.replicates, random_state=1,
                              design=SurveyDesign(weight="w", strata="stratum")),
        1,
    )  # fmt: skip
    print(f"  {args.replicates:,} replicates, 4 strata (Rao-Wu)    {seconds:8.3f} s {cpu()}")

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    peak_mb = peak / 1024 if sys.platform != "darwin" else peak / 2**20
    print(f"\npeak resident memory: {peak_mb:,.0f} MB")
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"load average (1, 5, 15 min) at the end: {load} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
