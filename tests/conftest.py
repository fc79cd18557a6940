"""What every test module shares: the project paths, the frozen reference results, one
tolerance assertion, the demo data and a clean slate of figures.

* ``ROOT``, ``REFERENCE`` - the checkout and ``tests/reference`` (a frozen copy of
  ``shared/reference``: R ``survey``, ``plspm``, ``relaimpo``, ``rwa`` results);
* ``reference`` (fixture) - ``tests/reference/expected.json`` as a dict;
  ``reference_data`` (fixture) - a reference data set by file name, as a DataFrame;
* ``close`` (fixture) - the tolerance assertion: ``close(actual, expected)`` to
  ``rtol=1e-8, atol=1e-10`` (the precision ``expected.json`` states for estimates and
  standard errors) unless told otherwise;
* ``truths`` (fixture) - the demo's planted truths (``data/raw/demo/truths.json``);
* the demo study's raw files are written before the first test when they are missing, so
  plain ``pytest`` on a fresh clone works (``make data`` does the same); a file lock keeps
  pytest-xdist workers from writing them twice;
* every test ends with ``plt.close("all")`` when pyplot is in use, so figures never pile up.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import json
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path

os.environ.setdefault("MPLBACKEND", "Agg")  # before any test imports pyplot

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "tests" / "reference"
DEMO_RAW = ROOT / "data" / "raw" / "demo"

RTOL = 1e-8  # expected.json: estimates and standard errors to 1e-8
ATOL = 1e-10


def assert_close(actual, expected, rtol: float = RTOL, atol: float = ATOL) -> None:
    """``numpy.testing.assert_allclose`` on floats, at the reference tolerance."""
    np.testing.assert_allclose(
        np.asarray(actual, dtype=float), np.asarray(expected, dtype=float), rtol=rtol, atol=atol
    )


@cache
def _expected() -> dict:
    return json.loads((REFERENCE / "expected.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def reference() -> dict:
    """``tests/reference/expected.json``: every reference result by section."""
    return _expected()


@pytest.fixture(scope="session")
def reference_data() -> Callable[[str], pd.DataFrame]:
    """Read a reference data set, e.g. ``reference_data("survey_apistrat.csv")``."""

    @cache
    def read(name: str) -> pd.DataFrame:
        return pd.read_csv(REFERENCE / "data" / name)

    return lambda name: read(name).copy()


@pytest.fixture(scope="session")
def close() -> Callable[..., None]:
    """The tolerance assertion, :func:`assert_close`."""
    return assert_close


@pytest.fixture(scope="session")
def truths(demo_data: Path) -> dict:
    """The demo's planted truths (driver order, trough, turning point, factor classes)."""
    return json.loads((demo_data / "truths.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session", autouse=True)
def demo_data() -> Path:
    """The demo study's raw files, written once if any is missing (as ``make data``)."""
    from analysis_helpers.cli import main

    lock_file = Path(tempfile.gettempdir()) / f"analysis-helpers-demo-{ROOT.name}.lock"
    with open(lock_file, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one xdist worker writes, the others wait
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                status = main(["demo-data", "--out", str(DEMO_RAW), "--if-missing"])
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    if status != 0:
        pytest.exit(f"could not write the demo data into {DEMO_RAW}", returncode=1)
    return DEMO_RAW


@pytest.fixture(autouse=True)
def _close_figures() -> Iterator[None]:
    yield
    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")
