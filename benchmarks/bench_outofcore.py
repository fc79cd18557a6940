"""Benchmark of the out-of-core engine: the KPI tables of N respondents from Parquet on disk.

Writes a demo-like study of N respondents x the demo's 40 items (plus overall
satisfaction, NPS, effort and loyalty) over W waves as Parquet parts, one chunk at a time
(never the whole frame in memory): each chunk is drawn with the demo's own latent model
(``analysis_helpers.demo``: its areas, items, rating cut-points and reversed item) in
whole-column draws. Then it runs the DuckDB engine's ``kpi_summary`` by wave x customer
type with the demo study's design (weights, strata by region; ``--cluster`` adds PSUs)
and prints the time and the peak memory of this process (resident set size sampled
every 0.1 s with psutil, DuckDB's threads included), ending with one line such as
``total 92.4 s, peak 1.83 GiB``. The machine's load average is printed too.

    python benchmarks/bench_outofcore.py --n 100000000 --out /work/bench100m
    python benchmarks/bench_outofcore.py --n 100000000 --repeat 10 --cluster   # 10M drawn, x10
    python benchmarks/bench_outofcore.py --n 10000000 --out /tmp/bench10m --memory-limit 2GB
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import threading
import time
from pathlib import Path

import numpy as np
import psutil
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

CHUNK = 2_000_000


def wave_codes(waves: int) -> list[str]:
    """Return ``waves`` quarter codes from 2024Q1 on."""
    return [f"{2024 + k // 4}Q{k % 4 + 1}" for k in range(waves)]


def chunk_table(rng: np.random.Generator, n: int, wave: str, t: int, psus: int) -> pa.Table:
    """Draw ``n`` respondents of one wave with the demo's latent model (whole columns)."""
    from analysis_helpers.demo import AREAS, REVERSED, DemoSpec, _items, _rate

    spec = DemoSpec()
    types = np.array(["contract", "high_bill", "prepaid"])
    regions = np.array(["north", "south", "east", "west"])
    ctype = rng.choice(3, size=n, p=[0.4, 0.3, 0.3])
    region = rng.integers(0, 4, size=n)
    g = rng.normal(size=n).astype(np.float32)
    base = np.array([0.0, -0.1, 0.2], dtype=np.float32)[ctype]
    latent = {}
    for area in AREAS:
        a = 0.3 + spec.general_loading * g + 0.8 * rng.standard_normal(n, dtype=np.float32) + base
        if area == spec.trough[2]:
            a += spec.trough[3] * (ctype == 1)
        latent[area] = a
    cols: dict[str, pa.Array] = {
        "wave": pa.DictionaryArray.from_arrays(np.zeros(n, dtype=np.int8), pa.array([wave])),
        "customer_type": pa.DictionaryArray.from_arrays(ctype.astype(np.int8), pa.array(types)),
        "region": pa.DictionaryArray.from_arrays(region.astype(np.int8), pa.array(regions)),
        "psu": pa.array((region * psus + rng.integers(0, psus, size=n)).astype(np.int32)),
    }
    w = np.array([1.1, 0.6, 1.3], dtype=np.float64)[ctype] * rng.uniform(0.7, 1.4, size=n)
    cols["rake_weight"] = pa.array(np.round(w, 6))
    overall = np.zeros(n, dtype=np.float32)
    for item, _, _, area, smax in _items(spec.short_scale):
        r = _rate(latent[area] + 0.65 * rng.standard_normal(n, dtype=np.float32), smax)
        if item in REVERSED:
            r = spec.short_scale + 1 - r
        r = r.astype(np.int8)
        missing = rng.random(n, dtype=np.float32) < 0.02
        cols[item] = pa.array(r, mask=missing)
    for area, wgt in spec.driver_weights:
        overall += wgt * latent[area]
    o = overall + 0.35 * rng.standard_normal(n, dtype=np.float32)
    cols["osat"] = pa.array(np.clip(np.rint(6.6 + 1.6 * (o - 0.25)), 1, 10).astype(np.int8))
    rec = 0.75 * (o - 0.25) + 0.5 * rng.standard_normal(n, dtype=np.float32)
    cols["nps_recommend"] = pa.array(np.clip(np.rint(7.2 + 1.9 * rec), 0, 10).astype(np.int8))
    eff = -0.25 * (latent["hotline"] + latent["complaint"]) + 0.7 * rng.standard_normal(
        n, dtype=np.float32
    )
    cols["ces"] = pa.array(np.clip(np.rint(3.0 + 1.4 * eff), 1, 7).astype(np.int8))
    loy = (
        0.4 * latent["value"]
        + 0.3 * latent["brand"]
        + 0.45 * rng.standard_normal(n, dtype=np.float32)
    )
    cols["repurchase"] = pa.array(_rate(loy, 5, 0.1).astype(np.int8))
    return pa.table(cols)


def write_parts(
    folder: Path, n: int, waves: int, psus: int, seed: int = 20261122, repeat: int = 1
) -> None:
    """Write ``n`` respondents over ``waves`` waves as Parquet parts of at most CHUNK rows.

    ``repeat`` > 1 draws ``n / repeat`` respondents and links each part ``repeat`` times
    (the same rows again: the engine's work is that of ``n`` rows, the drawing is not).
    """
    n = n // repeat
    folder.mkdir(parents=True, exist_ok=True)
    codes = wave_codes(waves)
    per_wave = n // waves
    part = 0
    for t, wave in enumerate(codes):
        left = per_wave + (n - per_wave * waves if t == waves - 1 else 0)
        while left > 0:
            m = min(CHUNK, left)
            rng = np.random.default_rng([seed, part])
            pq.write_table(chunk_table(rng, m, wave, t, psus), folder / f"part-{part:05d}.parquet",
                           compression="zstd", row_group_size=500_000)  # fmt: skip
            part += 1
            left -= m
    for k in range(1, repeat):
        for p in sorted(folder.glob("part-?????.parquet")):
            os.link(p, folder / f"{p.stem}-copy{k}.parquet")


class PeakSampler(threading.Thread):
    """Sample this process's resident set size every ``every`` seconds; keep the peak."""

    def __init__(self, every: float = 0.1) -> None:
        super().__init__(daemon=True)
        self.proc, self.every, self.peak, self.done = psutil.Process(), every, 0, False

    def run(self) -> None:  # noqa: D102
        while not self.done:
            self.peak = max(self.peak, self.proc.memory_info().rss)
            time.sleep(self.every)


def run_engine(folder: Path, memory_limit: str, threads: int | None, cluster: bool) -> None:
    """Run the engine's KPI table by wave x customer type and print it (head) with timings."""
    from analysis_helpers.engine import DuckEngine
    from analysis_helpers.engine.kpis import kpi_summary
    from analysis_helpers.estimation import SurveyDesign
    from analysis_helpers.study import load_study

    study = load_study(ROOT / "config" / "demo.yml", check_files=False)
    design = SurveyDesign(weight="rake_weight", strata="region", cluster="psu" if cluster else None)
    cpu0 = sum(psutil.Process().cpu_times()[:2])
    t0 = time.perf_counter()
    with DuckEngine(folder, memory_limit=memory_limit, threads=threads,
                    temp_directory=str(folder / ".spill")) as eng:  # fmt: skip
        table = kpi_summary(eng, study=study, by=["wave", "customer_type"], design=design)
    secs = time.perf_counter() - t0
    cpu = sum(psutil.Process().cpu_times()[:2]) - cpu0
    print(table.head(12).to_string(max_colwidth=24))
    print(f"kpi rows {len(table)}; engine {secs:.1f} s wall, {cpu:.1f} s CPU")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000_000)
    ap.add_argument("--waves", type=int, default=12)
    ap.add_argument("--psus", type=int, default=500, help="PSUs per region (with --cluster)")
    ap.add_argument("--out", type=Path, default=Path("/work/bench100m"))
    ap.add_argument("--memory-limit", default="2GB")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--cluster", action="store_true", help="PSUs as clusters in the design")
    ap.add_argument("--keep", action="store_true", help="reuse the parts in --out if present")
    ap.add_argument("--repeat", type=int, default=1,
                    help="draw n/R respondents and link each part R times (drawing is slow)")  # fmt: skip
    args = ap.parse_args()
    sampler = PeakSampler()
    sampler.start()
    t0 = time.perf_counter()
    folder = args.out / f"n{args.n}_w{args.waves}"
    if not (args.keep and folder.exists()):
        shutil.rmtree(folder, ignore_errors=True)
        write_parts(folder, args.n, args.waves, args.psus, repeat=args.repeat)
        size = sum(p.stat().st_size for p in folder.glob("*.parquet"))
        print(f"wrote {args.n:,} respondents in {len(list(folder.glob('*.parquet')))} parts, "
              f"{size / 2**30:.2f} GiB, in {time.perf_counter() - t0:.1f} s")  # fmt: skip
    t1 = time.perf_counter()
    gen_peak, sampler.peak = sampler.peak, 0  # the engine's own peak from here
    run_engine(folder, args.memory_limit, args.threads, args.cluster)
    total = time.perf_counter() - t1
    sampler.done = True
    sampler.join()
    load = os.getloadavg()
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; peak while writing "
          f"{gen_peak / 2**30:.2f} GiB")  # fmt: skip
    print(f"total {total:.1f} s, peak {sampler.peak / 2**30:.2f} GiB")


if __name__ == "__main__":
    main()
