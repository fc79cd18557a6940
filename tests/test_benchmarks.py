"""The benchmark scripts keep running (at a small size; `make bench` runs them at 1M).

Marked slow: run by `make test-slow`, not by `make test`. They assert that each script
finishes and prints its figures; the figures themselves are reported, not asserted.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow

CASES = [
    ("bench_cleaning.py", ["--n", "50000"], ["clean (read + validate + rules)", "peak memory"]),
    ("bench_estimation.py", ["--n", "50000"], ["total KPI time", "peak resident memory"]),
    ("bench_drivers.py", ["--rows", "50000", "--replicates", "50"],
     ["20 drivers", "bootstrap replicates", "peak resident memory"]),
    ("bench_pls.py", ["--n", "50000", "--boot-n", "2000", "--replicates", "50", "--repeat", "1"],
     ["fit (path scheme", "bootstrap replicates, bca", "s CPU)", "load average", "peak resident memory"]),
    ("bench_comments.py", ["--n", "20000"],
     ["code 8 themes", "frequent terms", "total comments time", "peak resident memory"]),
    ("bench_trend.py", ["--n", "20000"], ["trend page computations", "peak memory"]),
    ("bench_deliverables.py", ["--tables", "5", "--figures", "4"],
     ["report.xlsx:", "report.pptx:", "both files:"]),
    ("bench_design.py", ["--n", "20000"], ["replicate design", "one-stage linearised", "peak memory"]),
    ("bench_raking.py", ["--n", "20000", "--repeat", "1"],
     ["one-stage, raked weights fixed", "raking-aware adds", "peak memory"]),
    ("bench_report.py", ["--n", "3000", "--waves", "3"],
     ["20-describe", "50-drivers", "load average", "total ", ", peak "]),
]  # fmt: skip


@pytest.mark.parametrize("script,args,expect", CASES, ids=[c[0] for c in CASES])
def test_benchmark_runs_and_prints_its_figures(script, args, expect):
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), *args],
                          capture_output=True, text=True, timeout=600, cwd=ROOT)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    for text in expect:
        assert text in done.stdout, (text, done.stdout[-2000:])
