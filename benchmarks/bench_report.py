"""Benchmark of the whole report: the demo study scaled to N respondents over W waves.

Generates the demo study (``analysis_helpers.demo``, seeded, every planted truth and kind
of dirt) with N respondents spread over W quarterly waves, writes every wave as Parquet
with a copy of the demo's study file in a temporary project (its ``notebooks/`` are this
checkout's), then runs the real report runner with HTML (``python -m analysis_helpers
report``) in a child process. Prints each notebook's seconds, the total and the peak memory
of the whole process tree (the runner, its workers and their Jupyter kernels: the sum of
their resident set sizes, sampled every 0.1 s with psutil), ending with one line such as
``total 27.3 s, peak 1.41 GiB``. The machine's load average is printed too: figures from a
shared machine are noisy. Goal at 1,000,000 x 12 waves: 30 s and 1.5 GiB.

    python benchmarks/bench_report.py --n 1000000 --waves 12
    python benchmarks/bench_report.py --n 9600 --waves 6 --keep /tmp/bench   # demo-sized
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pandas as pd
import psutil
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

ROOT = Path(__file__).resolve().parents[1]
# run from a checkout without installing the package
sys.path.insert(0, str(ROOT / "src"))


def wave_codes(waves: int) -> tuple[str, ...]:
    """Return ``waves`` quarter codes from 2024Q1 on (``2024Q1``, ``2024Q2``...)."""
    return tuple(f"{2024 + k // 4}Q{k % 4 + 1}" for k in range(waves))


def write_parquet(df: pd.DataFrame, path: Path) -> None:
    """Write an export as ``analysis_helpers.io.write_parquet_export`` does, faster.

    Numbers as numbers (integers with nulls), a column holding any text as text.
    """
    cols = {}
    for c in df.columns:
        col = df[c]
        if pd.api.types.is_numeric_dtype(col.dtype):
            cols[c] = pa.array(col.to_numpy())
            continue
        values = col.to_numpy(dtype=object)
        try:
            cols[c] = pa.array(values, from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError):  # numbers and text: all text
            cols[c] = pa.array([None if v is None else str(v) for v in values], pa.string())
    pq.write_table(pa.table(cols), path)


def make_study(folder: Path, n: int, waves: int, seed: int | None = None) -> Path:
    """Write the scaled demo study's Parquet files and study file into project ``folder``."""
    from analysis_helpers.demo import DemoSpec, generate_demo

    codes = wave_codes(waves)
    per_wave = max(1, n // waves)
    base = DemoSpec()
    spec = DemoSpec(
        seed=base.seed if seed is None else seed,
        waves=codes,
        respondents_per_wave=per_wave,
        turning_point=(
            base.turning_point[0],
            codes[min(3, len(codes) - 1)],
            base.turning_point[2],
        ),
        dirt=per_wave / base.respondents_per_wave,
        fast_dirt=per_wave > 5 * base.respondents_per_wave,
    )
    raw = folder / "data" / "raw" / "bench"
    raw.mkdir(parents=True, exist_ok=True)
    (folder / "config").mkdir(exist_ok=True)
    (folder / "pyproject.toml").write_text("", encoding="utf-8")
    (folder / "notebooks").symlink_to(ROOT / "notebooks", target_is_directory=True)
    frames, ops, customers, truths = generate_demo(spec)
    files = []
    for wave, df in frames.items():
        write_parquet(df, raw / f"wave_{wave}.parquet")
        files.append({"path": f"wave_{wave}.parquet", "format": "parquet", "wave": wave})
    del frames
    ops.to_csv(raw / "operations.csv", index=False, lineterminator="\n")
    customers.to_csv(raw / "customer_ops.csv", index=False, lineterminator="\n")
    (raw / "truths.json").write_text(json.dumps(truths, ensure_ascii=False), encoding="utf-8")
    cfg = yaml.safe_load((ROOT / "config" / "demo.yml").read_text(encoding="utf-8"))
    cfg["study"]["name"] = "bench"
    cfg["study"]["title"] = f"Report benchmark: {n:,} respondents, {waves} waves"
    cfg["data"]["root"] = "data/raw/bench"
    cfg["data"]["files"] = files
    cfg["data"]["wave"]["order"] = list(codes)
    cfg["data"]["wave"]["labels"] = {c: f"{c[4:]} {c[:4]}" for c in codes}
    # the demo's actions start in its own waves: keep those the scaled study has
    cfg["actions"] = [a for a in cfg.get("actions", []) if a["start"] in codes[1:]]
    if not cfg["actions"]:
        del cfg["actions"]
    path = folder / "config" / "bench.yml"
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


class TreeSampler(threading.Thread):
    """Sample the summed RSS of a process and all its descendants until stopped."""

    def __init__(self, pid: int, every: float = 0.1) -> None:
        super().__init__(daemon=True)
        self.root = psutil.Process(pid)
        self.every = every
        self.peak = 0
        self.done = threading.Event()

    def run(self) -> None:  # noqa: D102
        while not self.done.is_set():
            try:
                procs = [self.root, *self.root.children(recursive=True)]
            except psutil.Error:
                break
            total = 0
            for p in procs:
                try:
                    total += p.memory_info().rss
                except psutil.Error:
                    pass
            self.peak = max(self.peak, total)
            self.done.wait(self.every)


def run_report(project: Path, study_file: Path, workers: int | None) -> tuple[dict, int]:
    """Run the report runner in a child process; return its run record and peak tree RSS."""
    cmd = [sys.executable, "-m", "analysis_helpers", "report", "--study", str(study_file)]
    cmd += ["--out", str(project / "reports"), "--date", "2026-01-01", "--force"]
    if workers:
        cmd += ["--workers", str(workers)]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    sampler = TreeSampler(proc.pid)
    sampler.start()
    out, _ = proc.communicate()
    wall = time.perf_counter() - t0
    sampler.done.set()
    sampler.join()
    if proc.returncode != 0:
        sys.exit(f"the report failed (exit {proc.returncode}):\n{out}")
    record = json.loads(
        (project / "reports" / "bench" / "2026-01-01" / "run.json").read_text(encoding="utf-8")
    )
    record["wall"] = wall
    return record, sampler.peak


def main() -> None:
    """Generate the scaled study, run the report and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="respondents in all waves")
    parser.add_argument("--waves", type=int, default=12, help="number of waves")
    parser.add_argument("--workers", type=int, help="notebooks at once (default: the cores)")
    parser.add_argument("--keep", help="build the project in this folder and keep it")
    args = parser.parse_args()
    if args.waves < 2:
        parser.error("--waves: at least 2 (the trend needs two)")
    folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench-report-"))
    if args.keep and folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)  # mkdtemp has made it already
    try:
        t = time.perf_counter()
        study_file = make_study(folder, args.n, args.waves)
        size = sum(p.stat().st_size for p in (folder / "data/raw/bench").glob("*.parquet"))
        print(
            f"generated {args.n:,} respondents x {args.waves} waves ({size / 2**20:.0f} MiB "
            f"Parquet) in {time.perf_counter() - t:.1f} s"
        )
        load = os.getloadavg()
        record, peak = run_report(folder, study_file, args.workers)
        load_after = os.getloadavg()
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    for nb in record["notebooks"]:
        print(f"  {nb['name']:<14} {nb['seconds']:7.1f} s")
    print(
        f"load average {load[0]:.1f} before, {load_after[0]:.1f} after "
        f"({os.cpu_count()} cores); runner wall time {record['wall']:.1f} s"
    )
    print(f"total {record['seconds']:.1f} s, peak {peak / 2**30:.2f} GiB")


if __name__ == "__main__":
    main()
