"""Benchmark of the cleaning step: one generated wave of N respondents x 40 items.

Generates a CSV export (with missing codes, out-of-range and text entries, speeders,
straightliners and duplicates) and its study file in a temporary folder, then reads and
cleans it in a fresh process and prints the seconds and the peak memory (max RSS) of that
process. Target at 1,000,000 respondents: under 30 s and under 4 GiB on 2 cores.

    python benchmarks/bench_cleaning.py --n 1000000
"""

from __future__ import annotations

import argparse
import json
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
import yaml

N_ITEMS = 40
# run from a checkout without installing the package
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))


def make_wave(folder: Path, n: int, seed: int = 1) -> Path:
    """Write ``data/raw/bench/wave.csv`` and ``config/bench.yml`` under ``folder``."""
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
        s = pc.cast(pa.array(v), pa.string())
        dirt = rng.random(n)
        s = pc.if_else(pa.array(dirt < 0.02), pa.scalar("99"), s)
        s = pc.if_else(pa.array((dirt > 0.02) & (dirt < 0.0201)), pa.scalar("7"), s)
        s = pc.if_else(pa.array((dirt > 0.03) & (dirt < 0.03005)), pa.scalar("N/A"), s)
        s = pc.if_else(pa.array((dirt > 0.04) & (dirt < 0.0401)), pa.scalar(None, pa.string()), s)
        cols[f"q{j + 1:02d}"] = s
    cols["comment"] = pa.array(np.where(rng.random(n) < 0.1, "网络信号很好", ""))
    table = pa.table(cols)
    dup = table.take(pa.array(rng.choice(n, size=n // 1000, replace=False)))
    table = pa.concat_tables([table, dup])
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
            "files": [{"path": "wave.csv", "format": "csv", "encoding": "utf-8", "wave": "W1"}],
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
    out.update(
        read=int(f["read"]),
        kept=len(result.data),
        excluded=len(result.exclusions),
        problems=len(result.problems),
        peak_rss_gib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="respondents in the wave")
    parser.add_argument("--no-write", action="store_true", help="skip write_processed")
    parser.add_argument("--run", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        print(json.dumps(run(Path(args.run), write=not args.no_write)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        (Path(tmp) / "pyproject.toml").write_text("", encoding="utf-8")
        study_file = make_wave(Path(tmp), args.n)
        size = (Path(tmp) / "data/raw/bench/wave.csv").stat().st_size
        print(
            f"generated {args.n:,} respondents x {N_ITEMS} items ({size / 2**20:.0f} MiB CSV) "
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
    print(f"clean (read + validate + rules): {r['clean_seconds']:.1f} s")
    if "write_seconds" in r:
        print(f"write_processed: {r['write_seconds']:.1f} s")
    print(f"peak memory (max RSS of the cleaning process): {r['peak_rss_gib']:.2f} GiB")


if __name__ == "__main__":
    main()
