"""Benchmark of the cleaning step: one generated wave of N respondents x 40 items.

Generates a CSV export (with missing codes, out-of-range and text entries, speeders,
straightliners and duplicates) and its study file in a temporary folder, then reads and
cleans it in a fresh process and prints the seconds, the CPU seconds and the peak memory
(max RSS) of that process. ``--format parquet`` writes the export as Parquet with typed
integer items instead (missing codes and out-of-range codes, no text entries): the
cleaning step then reads the numbers without a text round trip. Targets at 1,000,000
respondents: CSV under 30 s and 4 GiB; Parquet under 10 s and 1.5 GiB on 2 cores.

    python benchmarks/bench_cleaning.py --n 1000000
    python benchmarks/bench_cleaning.py --n 5000000 --format parquet
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import yaml

N_ITEMS = 40
# run from a checkout without installing the package
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))


def make_wave(folder: Path, n: int, seed: int = 1, fmt: str = "csv") -> Path:
    """Write ``data/raw/bench/wave.<csv|parquet>`` and ``config/bench.yml`` under ``folder``."""
    rng = np.random.default_rng(seed)
    raw = folder / "data" / "raw" / "bench"
    raw.mkdir(parents=True, exist_ok=True)
    (folder / "config").mkdir(exist_ok=True)
    g = rng.normal(size=n)
    cols: dict[str, pa.Array] = {
        "resp_id": pa.array(np.char.add("R", np.arange(n).astype(str))),
        "segment": pa.array(rng.choice(["a", "b", "c"], n)),
        "region": pa.array(rng.choice(["north", "south", "east", "west"], n)),
        "weight": pa.array(np.round(rng.uniform(0.5, 2.0, n), 6)),
        "duration": pa.array(np.rint(np.exp(rng.normal(np.log(600), 0.35, n))).astype(np.int64)),
    }
    speed = rng.random(n) < 0.01
    cols["duration"] = pa.array(np.where(speed, 60, cols["duration"].to_numpy()))
    straight = rng.random(n) < 0.01
    for j in range(N_ITEMS):
        v = np.clip(np.rint(3 + g + rng.normal(size=n)), 1, 5).astype(np.int64)
        v = np.where(straight, 4, v)
        dirt = rng.random(n)
        if fmt == "parquet":  # typed integers: missing codes, out of range, blanks
            v = np.where(dirt < 0.02, 99, v)
            v = np.where((dirt > 0.02) & (dirt < 0.0201), 7, v)
            blank = (dirt > 0.04) & (dirt < 0.0401)
            cols[f"q{j + 1:02d}"] = pa.array(v.astype(np.int16), mask=blank)
            continue
        s = pc.cast(pa.array(v), pa.string())
        s = pc.if_else(pa.array(dirt < 0.02), pa.scalar("99"), s)
        s = pc.if_else(pa.array((dirt > 0.02) & (dirt < 0.0201)), pa.scalar("7"), s)
        s = pc.if_else(pa.array((dirt > 0.03) & (dirt < 0.03005)), pa.scalar("N/A"), s)
        s = pc.if_else(pa.array((dirt > 0.04) & (dirt < 0.0401)), pa.scalar(None, pa.string()), s)
        cols[f"q{j + 1:02d}"] = s
    cols["comment"] = pa.array(np.where(rng.random(n) < 0.1, "网络信号很好", ""))
    table = pa.table(cols)
    dup = table.take(pa.array(rng.choice(n, size=n // 1000, replace=False)))
    table = pa.concat_tables([table, dup])
    if fmt == "parquet":
        pq.write_table(table, raw / "wave.parquet")
    else:
        pacsv.write_csv(table, raw / "wave.csv")
    items = [
        {
            "name": f"q{j + 1:02d}",
            "label": f"Item {j + 1}",
            "scale": {"min": 1, "max": 5},
            "area": f"a{j // 10}",
            "indicator": f"i{j // 5}",
            "missing_codes": [99],
            "reverse": j == 3,
        }
        for j in range(N_ITEMS)
    ]
    study = {
        "study": {"name": "bench", "title": "Cleaning benchmark"},
        "data": {
            "root": "data/raw/bench",
            "files": [
                {"path": f"wave.{fmt}", "format": fmt, "wave": "W1"}
                | ({"encoding": "utf-8"} if fmt == "csv" else {})
            ],
            "respondent_id": "resp_id",
            "wave": {"column": "wave", "order": ["W1"]},
            "design": {"weight": "weight", "strata": "region"},
            "duration": "duration",
            "text_columns": ["comment"],
        },
        "areas": [{"name": f"a{k}", "label": f"Area {k}"} for k in range(4)],
        "indicators": [
            {"name": f"i{k}", "label": f"Ind {k}", "area": f"a{k // 2}"} for k in range(8)
        ],
        "items": items,
        "kpis": {"overall": "q01"},
        "segments": [
            {"column": "segment", "label": "Segment", "values": {"a": "A", "b": "B", "c": "C"}}
        ],
        "quality": {"straightliners": {"min_items": 10}},
    }
    path = folder / "config" / "bench.yml"
    path.write_text(yaml.safe_dump(study), encoding="utf-8")
    return path


def run(study_file: Path, write: bool) -> dict:
    from analysis_helpers.cleaning import clean
    from analysis_helpers.io import write_processed
    from analysis_helpers.study import load_study

    t0 = time.perf_counter()
    study = load_study(study_file)
    result = clean(study)
    t1 = time.perf_counter()
    out = {"clean_seconds": t1 - t0}
    if write:
        write_processed(result, study)
        out["write_seconds"] = time.perf_counter() - t1
    f = result.funnel.iloc[0]
    usage = resource.getrusage(resource.RUSAGE_SELF)
    out.update(
        cpu_seconds=usage.ru_utime + usage.ru_stime,
        read=int(f["read"]),
        kept=len(result.data),
        excluded=len(result.exclusions),
        problems=len(result.problems),
        peak_rss_gib=usage.ru_maxrss / 2**20,
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="respondents in the wave")
    parser.add_argument(
        "--format", choices=("csv", "parquet"), default="csv", help="the export's format"
    )
    parser.add_argument("--no-write", action="store_true", help="skip write_processed")
    parser.add_argument("--run", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        print(json.dumps(run(Path(args.run), write=not args.no_write)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        (Path(tmp) / "pyproject.toml").write_text("", encoding="utf-8")
        study_file = make_wave(Path(tmp), args.n, fmt=args.format)
        size = (Path(tmp) / f"data/raw/bench/wave.{args.format}").stat().st_size
        print(
            f"generated {args.n:,} respondents x {N_ITEMS} items "
            f"({size / 2**20:.0f} MiB {args.format}) "
            f"in {time.perf_counter() - t:.1f} s"
        )
        cmd = [sys.executable, __file__, "--run", str(study_file)]
        if args.no_write:
            cmd.append("--no-write")
        res = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if res.returncode != 0:
            sys.exit(res.stderr)
        r = json.loads(res.stdout.strip().splitlines()[-1])
    print(
        f"read {r['read']:,} rows: kept {r['kept']:,}, excluded {r['excluded']:,}, "
        f"problems {r['problems']:,}"
    )
    print(
        f"clean (read + validate + rules): {r['clean_seconds']:.1f} s "
        f"(process CPU {r['cpu_seconds']:.1f} s, load {os.getloadavg()[0]:.1f})"
    )
    if "write_seconds" in r:
        print(f"write_processed: {r['write_seconds']:.1f} s")
    print(f"peak memory (max RSS of the cleaning process): {r['peak_rss_gib']:.2f} GiB")


if __name__ == "__main__":
    main()
