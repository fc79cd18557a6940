"""Check that two report folders hold the same tables: every ``tables/*.csv``, byte for byte.

For speed work that must not change a number: run the demo report before and after the
change (into two folders) and compare them.

    python -m analysis_helpers report --out /tmp/before --date 2026-01-01
    # ... change the code ...
    python -m analysis_helpers report --out /tmp/after --date 2026-01-01
    python benchmarks/compare_tables.py /tmp/before/demo/2026-01-01 /tmp/after/demo/2026-01-01

Prints the tables that differ (with the first differing line) or are missing on one side,
and exits 1 if any does.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def tables(folder: Path) -> dict[str, Path]:
    """Return the report's tables by their path relative to the report folder."""
    return {str(p.relative_to(folder)): p for p in sorted(folder.rglob("tables/*.csv"))}


def first_difference(a: Path, b: Path) -> str:
    """Return the first line that differs between two text files, as ``line N: a | b``."""
    la = a.read_text(encoding="utf-8").splitlines()
    lb = b.read_text(encoding="utf-8").splitlines()
    for k, (x, y) in enumerate(zip(la, lb, strict=False)):
        if x != y:
            return f"line {k + 1}: {x[:120]!r} | {y[:120]!r}"
    return f"{len(la)} lines against {len(lb)}"


def main() -> int:
    """Compare the tables of two report folders; return the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    args = parser.parse_args()
    ta, tb = tables(args.before), tables(args.after)
    if not ta:
        sys.exit(f"no tables/*.csv under {args.before}")
    bad = 0
    for name in sorted(set(ta) | set(tb)):
        if name not in tb or name not in ta:
            print(f"only in {'before' if name in ta else 'after'}: {name}")
            bad += 1
        elif ta[name].read_bytes() != tb[name].read_bytes():
            print(f"differs: {name} ({first_difference(ta[name], tb[name])})")
            bad += 1
    print(f"{len(ta)} tables compared: {bad} differ" if bad else f"{len(ta)} tables identical")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
