"""Benchmark: the trend page's computations (30-trend) at 1,000,000 respondents x 12 waves.

Builds a 12-wave version of the demo study (quarterly, 2023Q1 to 2025Q4, the demo's 40
items, KPIs, four segments, raked weights, region strata) with numpy, then times what
30-trend computes: KPIs by wave, wave-over-wave changes, the index of every node by wave,
the area changes, the alerts, the item x wave heatmap (previous wave and a year earlier),
the mix / rate decomposition of every KPI over every segment column and the CSI's change by
area; apart from the page's total, the per-customer threshold fit with its bootstrap
(every respondent linked). Prints the seconds per step, the totals and the peak memory; the goal (issue 16) is
<= 5 s at 1,000,000 x 12. ``--figures DIR`` also draws the 12-wave charts into DIR.

    python benchmarks/bench_trend.py --n 1000000
    python benchmarks/bench_trend.py --n 1000000 --fixed-weights   # raking_se: false
    python benchmarks/bench_trend.py --n 20000 --figures /tmp/trend12
    python benchmarks/bench_trend.py --n 1000000 --blas-threads 1   # one BLAS thread
"""

from __future__ import annotations

import argparse
import copy
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from analysis_helpers.kpis import csi  # noqa: E402
from analysis_helpers.linkage import threshold_fit  # noqa: E402
from analysis_helpers.study import load_study  # noqa: E402
from analysis_helpers.study_tables import kpi_summary, study_design  # noqa: E402
from analysis_helpers.trend_report import (  # noqa: E402
    area_attribution,
    area_changes,
    kpi_changes,
    kpi_decomposition,
    trend_alerts,
    wave_heatmap,
    year_pairs,
)

WAVES = [f"{y}Q{q}" for y in (2023, 2024, 2025) for q in (1, 2, 3, 4)]


def twelve_wave_study(folder: Path, *, raking_se: bool = True):
    """Write the demo study file with 12 quarterly waves into ``folder``; load it.

    ``raking_se=False``: SEs treat the raked weights as fixed (``weighting.raking_se``).
    """
    raw = yaml.safe_load((ROOT / "config" / "demo.yml").read_text(encoding="utf-8"))
    raw = copy.deepcopy(raw)
    if not raking_se:
        raw["weighting"]["raking_se"] = False
    raw["data"]["files"] = [{"path": f"w{w}.csv", "format": "csv", "wave": w} for w in WAVES]
    raw["data"]["wave"]["order"] = WAVES
    raw["data"]["wave"]["labels"] = {w: f"Q{w[-1]} {w[:4]}" for w in WAVES}
    raw["data"]["root"] = "data/raw/bench"
    raw["data"].pop("operations", None)
    (folder / "config").mkdir(parents=True, exist_ok=True)
    (folder / "pyproject.toml").write_text("[project]\nname='bench'\n")
    path = folder / "config" / "bench.yml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return load_study(path, check_files=False)


def make_data(study, n: int, seed: int = 1) -> pd.DataFrame:
    """``n`` respondents over the 12 waves, with a dip of the first area in the ninth wave."""
    rng = np.random.default_rng(seed)
    wave_idx = rng.integers(0, len(WAVES), n)
    cols: dict[str, object] = {"wave": pd.Categorical.from_codes(wave_idx, WAVES)}
    for s in study.spec.segments:
        codes = list(s.values)
        cols[s.column] = pd.Categorical.from_codes(rng.integers(0, len(codes), n), codes)
    cols["rake_weight"] = rng.lognormal(0, 0.35, n)
    latent = rng.normal(0, 1, n)
    first_area = study.spec.areas[0].name
    dip = np.where(wave_idx == 8, -0.6, 0.0)
    for item in study.spec.items:
        lo, hi = item.scale.min, item.scale.max
        shift = dip if item.area == first_area else 0.0
        z = 0.7 * latent + shift + rng.normal(0, 0.8, n)
        x = np.clip(np.rint(lo + (hi - lo) * (0.62 + 0.18 * z)), lo, hi)
        x[rng.random(n) < 0.03] = np.nan
        cols[item.name] = x.astype(np.float32)
    return pd.DataFrame(cols)


def customers(data: pd.DataFrame, study, seed: int = 2) -> pd.DataFrame:
    """Every respondent's waiting minutes, with satisfaction 5 points lower above 8 minutes."""
    rng = np.random.default_rng(seed)
    wait = np.round(rng.gamma(2.0, 3.0, len(data)), 1)
    sat = np.where(wait <= 8, 75.0, 70.0 - 2 * (wait - 8)) + rng.normal(0, 15, len(data))
    d = study_design(study)
    keep = [c for c in (d.weight, d.strata) if c and c in data.columns]
    return data[keep].assign(wait_minutes=wait, _sat=sat)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="respondents (all waves)")
    parser.add_argument("--figures", default="", help="folder for the 12-wave charts")
    parser.add_argument(
        "--fixed-weights",
        action="store_true",
        help="SEs with the raked weights as fixed (weighting.raking_se: false)",
    )
    parser.add_argument(
        "--blas-threads",
        type=int,
        default=0,
        help="limit the BLAS threads of this process (threadpoolctl); 0: as the environment has it",
    )
    args = parser.parse_args()
    if args.blas_threads:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=args.blas_threads, user_api="blas")
    with tempfile.TemporaryDirectory() as tmp:
        study = twelve_wave_study(Path(tmp), raking_se=not args.fixed_weights)
    data = make_data(study, args.n)
    rss_data = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    wave = study.wave_column
    steps: dict[str, tuple[float, float]] = {}
    t_all, c_all = time.perf_counter(), time.process_time()

    def step(name, func):
        t0, c0 = time.perf_counter(), time.process_time()
        out = func()
        steps[name] = (time.perf_counter() - t0, time.process_time() - c0)
        return out

    index = step("index of every node by wave", lambda: csi(
        data, hierarchy=study.hierarchy(), by=[wave], design=study_design(study),
        confidence=study.reporting.confidence))  # fmt: skip
    by_wave = step("KPIs by wave (the CSI from the index)",
                   lambda: kpi_summary(data, study=study, by=[wave], index=index))  # fmt: skip
    changes = step("KPI changes", lambda: kpi_changes(by_wave, study=study))
    areas, moves = step("area changes", lambda: area_changes(data, study=study, index=index))
    alerts = step("alerts", lambda: trend_alerts(changes, moves, study=study, bases=by_wave,
                                                 area_bases=areas))  # fmt: skip
    year, _ = year_pairs(study, WAVES)
    heat = step("heatmap (previous wave, a year earlier)",
                lambda: wave_heatmap(index, study=study, waves=WAVES, year=year))  # fmt: skip
    kpis = list(dict.fromkeys(by_wave["kpi"]))
    segs = study.segment_columns()
    dec = step("mix / rate: every KPI x segment column", lambda: kpi_decomposition(
        data, study=study, kpis=kpis, wave_from=WAVES[-2], wave_to=WAVES[-1], segments=segs))  # fmt: skip
    att = step("CSI change by area", lambda: area_attribution(
        data, study=study, wave_from=WAVES[-2], wave_to=WAVES[-1], segment=segs[0]))  # fmt: skip
    seconds, cpu = time.perf_counter() - t_all, time.process_time() - c_all
    thr = step("per-customer threshold (200 bootstrap replicates)", lambda: threshold_fit(
        customers(data, study), metric="wait_minutes", outcome="_sat",
        design=study_design(study)))  # fmt: skip
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"respondents: {args.n:,} over {len(WAVES)} waves, {len(study.spec.items)} items; "
        f"SEs {'with raked weights as fixed' if args.fixed_weights else 'raking-aware'}; "
        f"BLAS threads {args.blas_threads or 'as the environment has it'}"
    )
    for name, (sec, cpu_s) in steps.items():
        print(f"  {name}: {sec:.2f} s wall, {cpu_s:.2f} s CPU")
    print(f"heatmap cells: {len(heat):,} ({int(heat['sig_prev'].sum())} significant against the "
          f"previous wave, {int(heat['sig_year'].sum())} against a year earlier)")  # fmt: skip
    print(f"decomposition rows: {len(dec):,}; area contributions: {len(att)}; alerts: "
          f"{len(alerts)}")  # fmt: skip
    print(f"trend page computations: {seconds:.2f} s wall, {cpu:.2f} s CPU "
          f"(load average {os.getloadavg()[0]:.1f}); goal <= 5 s")  # fmt: skip
    sec, cpu_s = steps["per-customer threshold (200 bootstrap replicates)"]
    print(f"with the per-customer threshold (every respondent linked; threshold "
          f"{thr['threshold'].iloc[0]:g}, CI {thr['ci_low'].iloc[0]:g} to "
          f"{thr['ci_high'].iloc[0]:g}): {seconds + sec:.2f} s wall, {cpu + cpu_s:.2f} s CPU")  # fmt: skip
    print(f"peak memory: {peak:,.0f} MiB (data alone: {rss_data:,.0f} MiB)")
    if args.figures:
        import matplotlib

        matplotlib.use("Agg")
        from analysis_helpers.plots import apply_theme
        from analysis_helpers.trend_plots import area_trend, kpi_trend_panels, wave_heatmap_chart

        apply_theme()

        out = Path(args.figures)
        out.mkdir(parents=True, exist_ok=True)
        labels = study.wave_labels()
        t0 = time.perf_counter()
        kpi_trend_panels(by_wave, wave=wave, order=WAVES, labels=labels).savefig(
            out / "kpi_trend_12.png", dpi=100)  # fmt: skip
        area_trend(areas, wave=wave, order=WAVES, labels=labels,
                   title="Index by area").savefig(out / "area_trend_12.png", dpi=100)  # fmt: skip
        wave_heatmap_chart(heat, wave=wave, order=WAVES, labels=labels).savefig(
            out / "heatmap_12.png", dpi=100)  # fmt: skip
        print(f"charts: 3 in {time.perf_counter() - t0:.2f} s, in {out}")


if __name__ == "__main__":
    main()
