"""Tests of :mod:`analysis_helpers.trend_decompose`: mix / rate split, wave periods.

The decomposition's estimates and SEs are checked against R ``survey`` (svycontrast of
domain totals, delta method), frozen in ``tests/reference/r_trend_contrasts.json`` by
``tests/reference/r/trend_contrasts.R``: the entry's ``call`` is the R call.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis_helpers.estimation import SurveyDesign
from analysis_helpers.trend_decompose import (
    NOT_KNOWN,
    decompose_change,
    wave_periods,
    year_earlier,
)

REF = Path(__file__).parent / "reference"
R = json.loads((REF / "r_trend_contrasts.json").read_text(encoding="utf-8"))["entries"]


def _api(name: str) -> pd.DataFrame:
    d = pd.read_csv(REF / "data" / name)
    der = pd.read_csv(REF / "data" / "survey_api_derived.csv")
    der = der[der["dataset"] == name.removeprefix("survey_").removesuffix(".csv")]
    return d.merge(der.drop(columns="dataset"), on="snum", validate="one_to_one")


def _by_name(t: pd.DataFrame) -> dict[str, pd.Series]:
    out = {}
    for r in t.itertuples():
        key = r.component if r.segment == "" else f"{r.component}_{r.segment}"
        out[key] = r
    return out


def test_mix_rate_matches_r_survey_on_one_stratified_design():
    """apistrat with fake waves (strata shared by the waves): svycontrast of the totals."""
    d = _api("survey_apistrat.csv")
    ref = R["apistrat_fakewave.mix_rate.decomposition"]["values"]
    t = decompose_change(
        d, columns={"api00": 1.0}, segment="meals_band", wave="wave", wave_from="w1",
        wave_to="w2", design=SurveyDesign(weight="pw", strata="stype", fpc="fpc"),
    )  # fmt: skip
    got = _by_name(t)
    for ours, theirs in (("change", "total_change"), ("mix", "mix_symmetric"),
                         ("rate", "rate_symmetric")):  # fmt: skip
        assert got[ours].estimate == pytest.approx(ref["estimate"][theirs], rel=1e-9)
        assert got[ours].se == pytest.approx(ref["se"][theirs], rel=1e-7)


def _stacked() -> pd.DataFrame:
    s1 = _api("survey_apistrat.csv")
    s1 = s1.assign(wave="w1", psu="s" + s1["snum"].astype(str), vstrat="w1." + s1["stype"])
    s2 = _api("survey_apiclus1.csv")
    s2 = s2.assign(wave="w2", psu="d" + s2["dnum"].astype(str), vstrat="w2")
    cols = ["api00", "meals_band", "pw", "fpc", "wave", "psu", "vstrat"]
    return pd.concat([s1[cols], s2[cols]], ignore_index=True)


def test_mix_rate_and_segment_pieces_match_r_survey_on_stacked_waves():
    """Two independent waves (stratified, then clustered) stacked: every piece and its SE."""
    ref = R["stacked.mix_rate.decomposition"]["values"]
    t = decompose_change(
        _stacked(), columns={"api00": 1.0}, segment="meals_band", wave="wave",
        wave_from="w1", wave_to="w2",
        design=SurveyDesign(weight="pw", strata="vstrat", cluster="psu", fpc="fpc"),
    )  # fmt: skip
    got = _by_name(t)
    pairs = {"change": "total_change", "mix": "mix_symmetric", "rate": "rate_symmetric"}
    for band in ("0-25", "26-50", "51-75", "76-100"):
        pairs[f"rate_{band}"] = f"rate_{band}"
        pairs[f"mix_{band}"] = f"mix_centred_{band}"  # the page's per-segment mix is centred
    for ours, theirs in pairs.items():
        assert got[ours].estimate == pytest.approx(ref["estimate"][theirs], rel=1e-9), ours
        assert got[ours].se == pytest.approx(ref["se"][theirs], rel=1e-7), ours


def test_pieces_add_up_and_weights_of_one_give_the_unweighted_answer():
    rng = np.random.default_rng(3)
    n = 400
    d = pd.DataFrame({
        "w": rng.choice(["a", "b", "c"], n), "s": rng.choice(["x", "y", "z"], n),
        "y1": rng.integers(1, 6, n).astype(float), "y2": rng.integers(1, 11, n).astype(float),
    })  # fmt: skip
    d.loc[rng.random(n) < 0.1, "y2"] = np.nan
    d.loc[rng.random(n) < 0.05, "s"] = None
    cols = {"y1": 25.0, "y2": 100 / 9 * 0.5}
    t = decompose_change(d, columns=cols, segment="s", wave="w", wave_from="a", wave_to="c")
    tot = t[t["segment"] == ""].set_index("component")["estimate"]
    # the change is the change of the KPI itself
    kpi = {w: sum(c * d.loc[d["w"] == w, k].mean() for k, c in cols.items()) for w in ("a", "c")}
    assert tot["change"] == pytest.approx(kpi["c"] - kpi["a"], rel=1e-12)
    assert tot["mix"] + tot["rate"] == pytest.approx(tot["change"], rel=1e-12)
    seg = t[t["segment"] != ""]
    for comp in ("mix", "rate"):
        assert seg.loc[seg["component"] == comp, "estimate"].sum() == pytest.approx(tot[comp])
    assert NOT_KNOWN in set(seg["segment"])  # missing segment values are a segment
    ones = decompose_change(
        d.assign(wt=1.0), columns=cols, segment="s", wave="w", wave_from="a", wave_to="c",
        design=SurveyDesign(weight="wt"),
    )  # fmt: skip
    pd.testing.assert_frame_equal(ones, t)


def test_a_segment_missing_from_one_wave_keeps_the_sum():
    d = pd.DataFrame({"w": list("aaabbb"), "s": list("xxyxxx"), "y": [1.0, 3, 5, 2, 2, 5]})
    t = decompose_change(d, columns={"y": 1.0}, segment="s", wave="w", wave_from="a", wave_to="b")
    got = _by_name(t)
    assert got["change"].estimate == pytest.approx(3.0 - 3.0)
    assert got["rate_y"].estimate == 0.0  # y is absent from wave b: no rate of its own
    assert got["mix"].estimate + got["rate"].estimate == pytest.approx(0.0, abs=1e-12)


def test_bad_input_is_named():
    d = pd.DataFrame({"w": list("aabb"), "s": list("xyxy"), "y": [1.0, 2, 3, 4]})
    with pytest.raises(KeyError, match=r"no column\(s\) \['nope'\]"):
        decompose_change(d, columns={"nope": 1.0}, segment="s", wave="w", wave_from="a",
                         wave_to="b")  # fmt: skip
    with pytest.raises(ValueError, match="no respondent in wave 'c' of column 'w'"):
        decompose_change(d, columns={"y": 1.0}, segment="s", wave="w", wave_from="a",
                         wave_to="c")  # fmt: skip
    with pytest.raises(ValueError, match="column 'y' has no answer in wave 'b'"):
        decompose_change(d.assign(y=[1.0, 2, np.nan, np.nan]), columns={"y": 1.0}, segment="s",
                         wave="w", wave_from="a", wave_to="b")  # fmt: skip


def test_wave_periods_and_year_earlier():
    p = wave_periods(["2024Q1", "Q2 2024", "2024-03", "2024 H2", "FY2023", "wave 7"])
    assert p["kind"].tolist() == ["quarter", "quarter", "month", "half", "year", ""]
    assert p["part"].tolist()[:4] == [1, 2, 3, 2]
    waves = ["2024Q1", "2024Q2", "2024Q3", "2024Q4", "2025Q1", "2025Q2"]
    assert year_earlier(waves) == {"2025Q1": "2024Q1", "2025Q2": "2024Q2"}
    # labels decide when the codes do not say
    assert year_earlier(["w1", "w2", "w3"], {"w1": "2023", "w2": "2024", "w3": "2025"}) == {
        "w2": "w1",
        "w3": "w2",
    }
    # a quarter missing from the series: the pair is by period, not by position
    assert year_earlier(["2024Q1", "2024Q3", "2025Q1"]) == {"2025Q1": "2024Q1"}
    assert year_earlier(["w1", "w2", "w3"]) == {}  # no period: no pairs
    assert year_earlier(["2024Q1", "2024-06"]) == {}  # mixed kinds
    assert year_earlier(["a", "b", "c", "d"], per_year=2) == {"c": "a", "d": "b"}
    with pytest.raises(ValueError, match="per_year must be 1 or more"):
        year_earlier(["a"], per_year=0)


def test_two_wave_rows_with_the_whole_sample_give_the_whole_sample_answer():
    from analysis_helpers.trend_decompose import decompose_changes

    d = _api("survey_apistrat.csv")
    design = SurveyDesign(weight="pw", strata="stype", fpc="fpc")
    args = dict(kpis={"api": {"api00": 1.0}}, segments=["meals_band"], wave="wave",
                wave_from="w1", wave_to="w2", design=design)  # fmt: skip
    full = decompose_changes(d, **args)
    part = decompose_changes(d[d["wave"] == "w2"].pipe(lambda x: pd.concat([d[d["wave"] == "w1"], x]))
                             [["wave", "meals_band", "api00"]], sample=d, **args)  # fmt: skip
    pd.testing.assert_frame_equal(full, part)
    with pytest.raises(ValueError, match="rows that are not in the sample"):
        decompose_changes(d.set_axis(d.index + 10_000), sample=d, **args)


@pytest.mark.parametrize("clustered", [False, True])
def test_cell_sums_give_the_row_by_row_influence_values(clustered):
    """The per-cell coefficients reproduce the row-by-row implementation to 1e-10.

    Three columns with gaps, a segment missing for some rows and absent from the first
    wave, a third wave outside the pair, weights, strata (and clusters).
    """
    from trend_reference import reference_decompose

    from analysis_helpers.trend_decompose import _kpi_matrix, _segment_codes, decompose_changes

    rng = np.random.default_rng(7)
    n = 3000
    d = pd.DataFrame({
        "wave": rng.choice(["w0", "w1", "w2"], n), "w": rng.lognormal(0, 0.4, n),
        "h": rng.choice(list("ABCD"), n), "psu": rng.integers(0, 120, n),
        "seg": rng.choice(["p", "q", "r", "s"], n, p=[0.4, 0.3, 0.2, 0.1]).astype(object),
    })  # fmt: skip
    d.loc[(d["wave"] == "w1") & (d["seg"] == "s"), "seg"] = "q"  # s only in the second wave
    d.loc[rng.random(n) < 0.05, "seg"] = None
    for k, col in enumerate(["a", "b", "c"]):
        x = rng.integers(1, 6, n).astype(float) + k * (d["seg"] == "p")
        x[rng.random(n) < 0.1 * (k + 1)] = np.nan
        d[col] = x
    d["psu"] = d["h"] + d["psu"].astype(str)
    design = SurveyDesign(weight="w", strata="h", cluster="psu" if clustered else None)
    columns = {"a": 0.5, "b": -1.25, "c": 2.0}
    got = decompose_changes(d, kpis={"k": columns}, segments=["seg"], wave="wave",
                            wave_from="w1", wave_to="w2", design=design)  # fmt: skip
    prep = design.prepare(d, func="test")
    wv = d["wave"].to_numpy()
    rows = np.flatnonzero((wv == "w1") | (wv == "w2"))
    seg, names = _segment_codes(d["seg"].iloc[rows])
    values = {c: d[c].to_numpy(float)[rows] for c in columns}
    ref = reference_decompose(prep, rows, wv[rows] == "w2", prep.w[rows], seg, names, values,
                              columns, "w1", "w2")  # fmt: skip
    assert len(got) == len(ref) == 3 + 2 * 5
    for col in ["estimate", "se", "share_from", "share_to", "mean_from", "mean_to"]:
        np.testing.assert_allclose(got[col], ref[col], rtol=1e-10, atol=1e-12)
    assert (got["segment"] == ref["segment"]).all()
    assert _kpi_matrix(values, columns, prep.w[rows]).shape == (len(rows), 6)


def test_calibrated_design_adds_the_raking_through_the_design_sums(monkeypatch):
    """On a raked design the SEs equal the full-sample calibration residuals' (vcov) path."""
    import analysis_helpers._design as dz
    import analysis_helpers.trend_decompose as td
    from analysis_helpers.estimation import Calibration

    rng = np.random.default_rng(3)
    n = 2000
    d = pd.DataFrame({
        "wave": rng.choice(["w1", "w2"], n), "w": rng.lognormal(0, 0.3, n),
        "h": rng.choice(list("AB"), n), "m": rng.choice(list("xyz"), n),
        "seg": rng.choice(list("pq"), n), "y": rng.integers(1, 6, n).astype(float),
    })  # fmt: skip
    design = SurveyDesign(weight="w", strata="h",
                          calibration=Calibration(["m"], method="rake", within="wave"))  # fmt: skip
    args = dict(kpis={"k": {"y": 1.0}}, segments=["seg", "m"], wave="wave", wave_from="w1",
                wave_to="w2", design=design)  # fmt: skip
    fast = td.decompose_changes(d, **args)
    fixed = td.decompose_changes(d, **{**args, "design": SurveyDesign(weight="w", strata="h")})

    def full_vcov(prep, rows, Z):
        full = np.zeros((prep.n, Z.shape[0]))
        full[rows] = Z.T
        return np.maximum(np.diag(prep.vcov(full)), 0.0)

    monkeypatch.setattr(td, "_total_var", full_vcov)
    monkeypatch.setattr(dz.PreparedDesign, "calibration_correction_rows",
                        lambda self, rows, v: np.zeros((v.shape[1],) * 2))  # fmt: skip
    slow = td.decompose_changes(d, **args)
    np.testing.assert_allclose(fast["se"], slow["se"], rtol=1e-10, atol=1e-12)
    assert not np.allclose(fast["se"], fixed["se"])  # the raking counts
