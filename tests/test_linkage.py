"""Operational linkage: lags per wave, the per-customer file (reader, join), bands,
threshold and correlation; golden: the demo's planted waiting-time threshold."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import yaml

from analysis_helpers.estimation import SurveyDesign, survey_mean
from analysis_helpers.io import DataFileError, read_respondent_operations
from analysis_helpers.linkage import (
    band_curve,
    design_correlation,
    join_operations,
    join_report_sentence,
    lag_operations,
    respondent_links,
    respondent_takeaway,
    threshold_fit,
)
from analysis_helpers.safe_output import plain_text, render_markdown
from analysis_helpers.study import load_study
from conftest import ROOT, assert_close


def test_lags_shift_within_each_cell():
    s = SimpleNamespace(wave_column="wave", waves=["Q1", "Q2", "Q3"])
    ops = pd.DataFrame(
        {
            "wave": ["Q3", "Q1", "Q2", "Q1", "Q2", "Q3"],
            "region": ["n", "n", "n", "s", "s", "s"],
            "wait": [3.0, 1.0, 2.0, 10.0, 20.0, 30.0],
        }
    )
    out = lag_operations(ops, study=s, lags=[1, 2])
    got = out.set_index(["region", "wave"]).sort_index()
    assert got.loc[("n", "Q3"), "wait (lag 1)"] == 2.0
    assert got.loc[("n", "Q3"), "wait (lag 2)"] == 1.0
    assert got.loc[("s", "Q2"), "wait (lag 1)"] == 10.0
    assert np.isnan(got.loc[("s", "Q1"), "wait (lag 1)"])
    assert list(out["wave"]) == list(ops["wave"])  # rows keep their order
    with pytest.raises(ValueError, match="lags must be whole numbers >= 1"):
        lag_operations(ops, study=s, lags=[0])


def test_join_counts_unknown_ids_and_respondents_without_a_record():
    data = pd.DataFrame({"id": ["a", "b", "c", "d"], "y": [1.0, 2, 3, 4]})
    ops = pd.DataFrame({"ops_id": ["b", "a ", "x", "z", "c"], "wait": [2.0, 1, 9, 9, 3]})
    joined, report = join_operations(data, ops, id="id", ops_id="ops_id", excluded=["z"])
    assert joined["wait"].tolist()[:3] == [1.0, 2.0, 3.0] and np.isnan(joined["wait"].iloc[3])
    assert len(joined) == 4  # every respondent kept
    n = dict(zip(report["what"], report["n"], strict=True))
    assert n == {
        "records": 5,
        "matched": 3,
        "excluded_respondents": 1,
        "unknown_ids": 1,
        "without_record": 1,
    }
    text = render_markdown(join_report_sentence(report, file="ops.csv"))
    assert plain_text(text) == (
        "ops.csv has 5 records: 3 respondents matched; 1 record belongs to respondents "
        "excluded by the cleaning step; 1 id matches no respondent (e.g. x) and is left out "
        "of the link; 1 respondent has no record."
    )
    with pytest.raises(ValueError, match="id 'a' appears 2 times"):
        join_operations(
            data, pd.DataFrame({"ops_id": ["a", "a"], "w": [1, 2]}), id="id", ops_id="ops_id"
        )
    with pytest.raises(ValueError, match=r"\['y'\] are already columns"):
        join_operations(data, pd.DataFrame({"ops_id": ["a"], "y": [1]}), id="id", ops_id="ops_id")


def test_band_curve_is_the_design_mean_per_band():
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 10, 300)
    df = pd.DataFrame(
        {"x": x, "y": 50 - 2 * x + rng.normal(0, 1, 300), "w": rng.uniform(0.5, 2, 300)}
    )
    design = SurveyDesign(weight="w")
    curve = band_curve(df, metric="x", outcome="y", bands=3, design=design)
    assert curve["band"].tolist() == [1, 2, 3]
    assert curve["n"].sum() == 300
    cuts = np.quantile(x, [1 / 3, 2 / 3])
    first = df[df["x"] <= cuts[0]]
    ref = survey_mean(
        df.assign(_y=np.where(df["x"] <= cuts[0], df["y"], np.nan)), items="_y", design=design
    )
    assert_close(curve["estimate"].iloc[0], ref["estimate"].iloc[0])
    assert_close(curve["se"].iloc[0], ref["se"].iloc[0])
    assert curve["metric_high"].iloc[0] == first["x"].max()
    assert curve["estimate"].is_monotonic_decreasing


def test_threshold_fit_recovers_a_noisy_hinge():
    rng = np.random.default_rng(3)
    x = np.round(rng.uniform(0, 20, 2000), 1)
    y = 70 - 2.5 * np.maximum(x - 12, 0) + rng.normal(0, 3, 2000)
    r = threshold_fit(pd.DataFrame({"x": x, "y": y}), metric="x", outcome="y", n_boot=100).iloc[0]
    assert r["ci_low"] <= 12 <= r["ci_high"]
    assert abs(r["threshold"] - 12) < 1
    assert_close(r["slope"], -2.5, rtol=0.15)


def test_design_correlation_unweighted_is_pearson_and_weights_of_one_agree():
    rng = np.random.default_rng(5)
    a = rng.normal(size=200)
    b = 0.5 * a + rng.normal(size=200)
    df = pd.DataFrame({"a": a, "b": b, "w": 1.0})
    r0 = design_correlation(df, x="a", y="b").iloc[0]
    r1 = design_correlation(df, x="a", y="b", design=SurveyDesign(weight="w")).iloc[0]
    assert_close(r0["estimate"], np.corrcoef(a, b)[0, 1])
    assert_close(r0["se"], r1["se"])
    # the linearised SE is close to the normal-theory (1 - r^2) / sqrt(n) for normal data
    assert_close(r0["se"], (1 - r0["estimate"] ** 2) / np.sqrt(200), rtol=0.2)
    assert r0["ci_low"] < r0["estimate"] < r0["ci_high"]


def test_design_correlation_weights_move_the_estimate():
    df = pd.DataFrame({"a": [1.0, 2, 3, 4], "b": [1.0, 2, 3, 1], "w": [1.0, 1, 1, 3]})
    r = design_correlation(df, x="a", y="b", design=SurveyDesign(weight="w")).iloc[0]
    # weighted moments by hand: means 2.833, 1.667; cov -0.4722; sd 1.213, 0.8498
    aw, bw, w = df["a"].to_numpy(), df["b"].to_numpy(), df["w"].to_numpy()
    ma, mb = np.average(aw, weights=w), np.average(bw, weights=w)
    cov = np.average((aw - ma) * (bw - mb), weights=w)
    ref = cov / np.sqrt(
        np.average((aw - ma) ** 2, weights=w) * np.average((bw - mb) ** 2, weights=w)
    )
    assert_close(r["estimate"], ref)


# --------------------------------------------------------------------------------------
# the reader: errors name file, row, column and value
# --------------------------------------------------------------------------------------
def _study_with(tmp_path, text: str):
    raw = yaml.safe_load((ROOT / "config" / "demo.yml").read_text(encoding="utf-8"))
    raw["data"]["root"] = "data/raw/t"
    (tmp_path / "config").mkdir(exist_ok=True)
    (tmp_path / "data" / "raw" / "t").mkdir(parents=True, exist_ok=True)
    (tmp_path / "data" / "raw" / "t" / "customer_ops.csv").write_text(text, encoding="utf-8")
    path = tmp_path / "config" / "t.yml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return load_study(path, check_files=False)


@pytest.mark.parametrize(
    "text,message",
    [
        (
            "customer_id,hotline_wait_min\na,1\nb,x\n",
            "data/raw/t/customer_ops.csv: row 3: column 'hotline_wait_min': value 'x': 1 values "
            "of metric 'hotline_wait_min' are not numbers",
        ),
        (
            "customer_id,hotline_wait_min\na,1\na,2\n",
            "data/raw/t/customer_ops.csv: row 3: column 'customer_id': value 'a': the customer "
            "id repeats row 2",
        ),
        (
            "customer_id,hotline_wait_min\na,1\n,2\n",
            "data/raw/t/customer_ops.csv: row 3: column 'customer_id': 1 rows have no customer id",
        ),
        (
            "id,hotline_wait_min\na,1\n",
            "data/raw/t/customer_ops.csv: no id column 'customer_id'",
        ),
        (
            "customer_id,other\na,1\n",
            "data/raw/t/customer_ops.csv: no metric column(s) ['hotline_wait_min']",
        ),
    ],
    ids=["not a number", "repeated id", "blank id", "no id column", "no metric"],
)
def test_reader_errors(tmp_path, text, message):
    study = _study_with(tmp_path, text)
    with pytest.raises(DataFileError) as info:
        read_respondent_operations(study)
    assert str(info.value).startswith(message), str(info.value)


def test_reader_reads_ids_as_text_and_metrics_as_numbers(tmp_path):
    study = _study_with(tmp_path, "customer_id,hotline_wait_min\n007,1.5\n 8 ,\n")
    ops = read_respondent_operations(study)
    assert ops["ops_id"].tolist() == ["007", "8"]
    assert ops["hotline_wait_min"].dtype == np.float64 and np.isnan(ops["hotline_wait_min"].iloc[1])


# --------------------------------------------------------------------------------------
# golden: the demo's planted threshold
# --------------------------------------------------------------------------------------
def test_demo_threshold_is_recovered(truths):
    from analysis_helpers.cleaning import load_clean
    from analysis_helpers.linkage import join_study_operations

    study = load_study("config/demo.yml")
    planted = truths["respondent_operations"]
    joined, report, metrics = join_study_operations(load_clean(study), study=study)
    n = dict(zip(report["what"], report["n"], strict=True))
    assert n["records"] == planted["rows"]
    assert n["unknown_ids"] >= planted["unknown_ids"]  # never silently dropped
    assert metrics == [planted["metric"]]
    links, curves = respondent_links(joined, study=study, metrics=metrics, n_boot=100)
    r = links.iloc[0]
    assert r["ci_low"] - 0.15 <= planted["threshold"] <= r["ci_high"] + 0.15
    assert abs(r["threshold"] - planted["threshold"]) <= 0.5
    assert r["drop"] < 0 and r["slope"] < 0 and r["correlation_ci_high"] < 0
    assert curves["estimate"].iloc[0] > curves["estimate"].iloc[-1]
    text = str(respondent_takeaway(links, study=study))
    assert "n/a" not in text and "flat at" in text


def test_drawn_sums_add_up_each_replicate_s_draws():
    """The bootstrap's per-value sums equal a loop over each replicate's drawn respondents."""
    from analysis_helpers.linkage import _drawn_sums

    rng = np.random.default_rng(11)
    n, V, batch = 60, 5, 4
    code = rng.integers(0, V, n)
    w, y = rng.random(n), rng.random(n)
    members = [np.flatnonzero(np.arange(n) % 3 == k) for k in range(3)]
    got = _drawn_sums(np.random.default_rng(5), members, code, (w, w * y), V, batch)
    again = np.random.default_rng(5)
    want = [np.zeros((V, batch)), np.zeros((V, batch))]
    for rows in members:
        drawn = again.integers(0, len(rows), size=(batch, len(rows)), dtype=np.int32)
        for r in range(batch):
            for i in rows[drawn[r]]:
                want[0][code[i], r] += w[i]
                want[1][code[i], r] += w[i] * y[i]
    np.testing.assert_allclose(got[0], want[0], rtol=1e-12)
    np.testing.assert_allclose(got[1], want[1], rtol=1e-12)
