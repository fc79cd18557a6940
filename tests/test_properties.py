"""Property-based tests (hypothesis): the readers never fail with anything but a
DataFileError, whatever the bytes; the estimators do not depend on the order of the rows
or on the scale of the weights.

Kept fast for `make test`: few examples, a deadline per example, no stored database.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis_helpers.cleaning import CleaningError, clean
from analysis_helpers.estimation import SurveyDesign, survey_mean, survey_proportion
from analysis_helpers.io import DataFileError, read_csv_export, read_qualtrics_export
from analysis_helpers.study import load_study
from analysis_helpers.weighting import RakingError

ROOT = Path(__file__).resolve().parents[1]
GOOD = (ROOT / "tests/bad_inputs/data/raw/good_w1.csv").read_bytes()

FAST = settings(
    max_examples=60,
    deadline=5000,  # ms per example: generous for a loaded machine
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

#: pieces CSV exports are made of, and the bytes that break them
PIECES = [
    b",", b"\n", b"\r\n", b"\r", b'"', b'""', b" ", b"\t", b"\xef\xbb\xbf", b"\xff\xfe",
    b"\x00", b"\xe9", b"\xc4\xe3", b"\xe4\xb8\xad", b"\x81\x30", b"=1+1", b"-0.5", b"99",
    b"rid", b"wave", b"q1", b"osat", b"osat ", b"\xe2\x80\x8b", b"\xef\xbc\xaf", b"W1", b"3",
]  # fmt: skip

csv_like = st.lists(st.sampled_from(PIECES) | st.binary(max_size=6), max_size=60).map(b"".join)
any_bytes = st.binary(max_size=400) | csv_like


def _mutated(data: bytes, at: int, insert: bytes, cut: int) -> bytes:
    at = at % (len(data) + 1)
    return data[:at] + insert + data[at + cut :]


good_mutated = st.builds(
    _mutated, st.just(GOOD), st.integers(0, len(GOOD)), csv_like, st.integers(0, 40)
)


@FAST
@given(raw=any_bytes | good_mutated)
def test_csv_readers_fail_only_with_data_file_error(tmp_path_factory, raw):
    path = tmp_path_factory.mktemp("csv") / "x.csv"
    path.write_bytes(raw)
    for reader in (read_csv_export, read_qualtrics_export):
        try:
            got = reader(path)
        except DataFileError as exc:
            assert str(exc).startswith(str(path))
        else:
            assert all(str(t) == "str" for t in got.data.dtypes)
            assert len(set(got.data.columns)) == len(got.data.columns)


BASE = yaml.safe_load((ROOT / "tests/bad_inputs/config/base.yml").read_text(encoding="utf-8"))


@settings(FAST, max_examples=30)
@given(raw=good_mutated)
def test_cleaning_a_damaged_export_fails_only_with_a_message(tmp_path_factory, raw):
    """From reading to cleaning: a damaged export gives a message, never a traceback."""
    root = tmp_path_factory.mktemp("study")
    (root / "config").mkdir()
    (root / "data" / "raw").mkdir(parents=True)
    (root / "data" / "raw" / "good_w1.csv").write_bytes(raw)
    (root / "config" / "s.yml").write_text(yaml.safe_dump(BASE), encoding="utf-8")
    study = load_study(root / "config" / "s.yml")
    try:
        result = clean(study)
    except (DataFileError, CleaningError, RakingError) as exc:
        assert str(exc)
    else:
        assert len(result.data) + len(result.exclusions) == int(result.funnel["read"].sum())


# ---- the estimators ---------------------------------------------------------------------
@st.composite
def samples(draw, *, binary: bool = False):
    n = draw(st.integers(4, 40))
    values = st.integers(0, 1) if binary else st.integers(1, 5)
    y = draw(st.lists(values, min_size=n, max_size=n))
    w = draw(st.lists(st.floats(0.1, 10, allow_nan=False), min_size=n, max_size=n))
    g = draw(st.lists(st.sampled_from(["a", "b"]), min_size=n, max_size=n))
    missing = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    df = pd.DataFrame({"y": np.array(y, dtype=float), "w": w, "g": g})
    df.loc[np.array(missing) & (np.arange(n) > 1), "y"] = np.nan  # two rows always answer
    order = draw(st.permutations(list(range(n))))
    scale = draw(st.sampled_from([0.001, 0.37, 3.0, 1000.0]))
    by = draw(st.sampled_from([[], ["g"]]))
    return df, order, scale, by


STATS = ["estimate", "se", "ci_low", "ci_high", "n", "n_effective"]


def _same(a: pd.DataFrame, b: pd.DataFrame, cols: list[str]) -> None:
    keys = [c for c in ("g", "item", "level", "value") if c in a.columns]
    a = a.sort_values(keys).reset_index(drop=True) if keys else a
    b = b.sort_values(keys).reset_index(drop=True) if keys else b
    for c in cols:
        if c in a.columns:
            np.testing.assert_allclose(
                a[c].to_numpy(float), b[c].to_numpy(float), rtol=1e-9, atol=1e-12, err_msg=c
            )


ESTIMATES = settings(FAST, max_examples=30)


@ESTIMATES
@given(sample=samples())
def test_survey_mean_ignores_row_order_and_weight_scale(sample):
    df, order, scale, by = sample
    design = SurveyDesign(weight="w")
    base = survey_mean(df, items="y", by=list(by), design=design)
    shuffled = survey_mean(df.iloc[order], items="y", by=list(by), design=design)
    scaled = survey_mean(df.assign(w=df["w"] * scale), items="y", by=list(by), design=design)
    _same(base, shuffled, [*STATS, "n_weighted"])
    _same(base, scaled, STATS)
    np.testing.assert_allclose(scaled["n_weighted"], base["n_weighted"] * scale, rtol=1e-9)


@ESTIMATES
@given(sample=samples(binary=True))
def test_survey_proportion_ignores_row_order_and_weight_scale(sample):
    df, order, scale, by = sample
    design = SurveyDesign(weight="w")
    base = survey_proportion(df, items="y", by=list(by), design=design)
    shuffled = survey_proportion(df.iloc[order], items="y", by=list(by), design=design)
    scaled = survey_proportion(df.assign(w=df["w"] * scale), items="y", by=list(by), design=design)
    _same(base, shuffled, STATS)
    _same(base, scaled, STATS)
