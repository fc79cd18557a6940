"""Raking / calibration-aware SEs against R ``survey`` on its ``api`` data.

References: ``tests/reference/r_survey_designs.json`` (entries ``apiclus1_raked.*``,
``apiclus1_cal_linear.*``, ``apiclus1_cal_raking.*``, ``apistrat_raked.*`` and their
``*_fixed`` twins, written by ``tests/reference/r/survey_designs.R``) and
``tests/reference/r_calibration.json`` (ratio, shares, regression; written by
``tests/reference/r/calibration.R``). The final weights are the frozen R weights in
``data/calibrated_*_weights.csv``; the design names the calibration so every estimator
projects its influence values on the calibration variables before the variance step.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis_helpers._design import Calibration
from analysis_helpers.estimation import (
    SurveyDesign,
    domain_difference,
    survey_chisq,
    survey_glm,
    survey_mean,
    survey_proportion,
    survey_quantile,
    survey_ratio,
    survey_total,
)
from analysis_helpers.weighting import rake

REF = Path(__file__).parent / "reference"
DESIGNS_JSON = json.loads((REF / "r_survey_designs.json").read_text())["entries"]
CAL_JSON = json.loads((REF / "r_calibration.json").read_text())["entries"]
TOL = 1e-8


def _clus1() -> pd.DataFrame:
    w = pd.read_csv(REF / "data" / "calibrated_apiclus1_weights.csv")
    api = pd.read_csv(REF / "data" / "survey_apiclus1.csv")
    return api.merge(w.drop(columns=["dnum", "pw"]), on="snum", validate="1:1")


def _strat() -> pd.DataFrame:
    w = pd.read_csv(REF / "data" / "calibrated_apistrat_weights.csv")
    api = pd.read_csv(REF / "data" / "survey_apistrat.csv")
    return api.merge(w[["snum", "w_raked"]], on="snum", validate="1:1")


CAL_LIN = Calibration(["stype", "api99"], method="calibrate", base_weight="pw")
CASES = {
    # prefix: (data, design)
    "apiclus1_raked": (
        _clus1,
        SurveyDesign(
            weight="w_raked",
            cluster="dnum",
            fpc="fpc",
            calibration=Calibration(["stype", "sch.wide"]),
        ),
    ),
    "apiclus1_raked_fixed": (_clus1, SurveyDesign(weight="w_raked", cluster="dnum", fpc="fpc")),
    "apiclus1_cal_linear": (
        _clus1,
        SurveyDesign(weight="w_cal_linear", cluster="dnum", fpc="fpc", calibration=CAL_LIN),
    ),
    "apiclus1_cal_raking": (
        _clus1,
        SurveyDesign(weight="w_cal_raking", cluster="dnum", fpc="fpc", calibration=CAL_LIN),
    ),
    "apiclus1_cal_linear_bounded": (
        _clus1,
        SurveyDesign(weight="w_cal_linear_bounded", cluster="dnum", fpc="fpc", calibration=CAL_LIN),
    ),
    "apistrat_raked": (
        _strat,
        SurveyDesign(
            weight="w_raked",
            strata="stype",
            fpc="fpc",
            calibration=Calibration(["sch.wide", "awards"]),
        ),
    ),
    "apistrat_raked_fixed": (_strat, SurveyDesign(weight="w_raked", strata="stype", fpc="fpc")),
}
CALIBRATED = [k for k in CASES if not k.endswith("_fixed")]


def _close(got, want, *, atol: float = 0.0) -> None:
    np.testing.assert_allclose(np.asarray(got, float), np.asarray(want, float), rtol=TOL, atol=atol)


def _case(prefix: str) -> tuple[pd.DataFrame, SurveyDesign]:
    load, design = CASES[prefix]
    return load(), design


@pytest.mark.parametrize("prefix", list(CASES))
def test_means_and_totals_match_r(prefix):
    data, design = _case(prefix)
    for key, fn, item in (
        ("svymean_api00", survey_mean, "api00"),
        ("svytotal_enroll", survey_total, "enroll"),
        ("svytotal_api.stu", survey_total, "api.stu"),
    ):
        ref = DESIGNS_JSON[f"{prefix}.{key}"]["values"]
        got = fn(data, items=item, design=design).iloc[0]
        _close(got["estimate"], ref["estimate"][item])
        _close(got["se"], ref["se"][item])


@pytest.mark.parametrize("prefix", list(CASES))
def test_domain_means_and_difference_match_r(prefix):
    data, design = _case(prefix)
    ref = DESIGNS_JSON[f"{prefix}.svyby_api00_by_stype"]["values"]
    got = survey_mean(data, items="api00", by="stype", design=design).set_index("stype")
    _close(got.loc[["E", "H", "M"], "estimate"], [ref["estimate"][k] for k in "EHM"])
    _close(got.loc[["E", "H", "M"], "se"], [ref["se"][k] for k in "EHM"])
    ref = DESIGNS_JSON[f"{prefix}.domain_diff_api00_sch.wide_Yes_minus_No_via_totals"]["values"]
    got = domain_difference(data, items="api00", by="sch.wide", design=design).iloc[0]
    assert (got["value_1"], got["value_2"]) == ("No", "Yes")
    _close(got["estimate"], ref["estimate"]["contrast"])
    _close(got["se"], ref["se"]["contrast"])


@pytest.mark.parametrize("prefix", list(CASES))
def test_quantile_se_matches_r(prefix):
    data, design = _case(prefix)
    ref = DESIGNS_JSON[f"{prefix}.svyquantile_api00"]["values"]["variables"]["api00"]
    got = survey_quantile(data, items="api00", quantiles=ref["probs"], design=design)
    _close(got["estimate"], ref["quantile"])
    _close(got["ci_low"], ref["ci_lower"])
    _close(got["ci_high"], ref["ci_upper"])
    _close(got["se"], ref["se"])


@pytest.mark.parametrize("prefix", CALIBRATED[:1] + ["apistrat_raked"])
def test_share_of_a_margin_has_no_variance(prefix):
    # a raked margin is known: the share of each category has SE 0 (R: ~1e-13)
    data, design = _case(prefix)
    col = "sch.wide"
    ref = DESIGNS_JSON[f"{prefix}.svymean_{col}"]["values"]
    got = survey_proportion(data, items=col, design=design).set_index("category")
    _close(
        got.loc[["No", "Yes"], "estimate"], [ref["estimate"][f"{col}{k}"] for k in ("No", "Yes")]
    )
    assert ref["se"][f"{col}No"] < 1e-9
    _close(got.loc[["No", "Yes"], "se"], [0.0, 0.0], atol=1e-9)


@pytest.mark.parametrize("prefix", [p for p in CALIBRATED if p != "apiclus1_cal_linear_bounded"])
def test_ratio_shares_joint_means_and_regression_match_r(prefix):
    data, design = _case(prefix)
    ref = CAL_JSON[f"{prefix}.svyratio_api00_api99"]["values"]
    got = survey_ratio(data, numerator="api00", denominator="api99", design=design).iloc[0]
    _close(got["estimate"], list(ref["estimate"].values())[0])
    _close(got["se"], list(ref["se"].values())[0])
    ref = CAL_JSON[f"{prefix}.svymean_awards"]["values"]
    got = survey_proportion(data, items="awards", design=design).set_index("category")
    # awards is a raked margin of apistrat_raked: SE ~0 there (R's ten sweeps leave 4.6e-6)
    _close(
        got.loc[["No", "Yes"], "se"], [ref["se"]["awardsNo"], ref["se"]["awardsYes"]], atol=1e-11
    )
    ref = CAL_JSON[f"{prefix}.svymean_api00_api99"]["values"]
    got = survey_mean(data, items=["api00", "api99"], design=design).set_index("item")
    # api99 is a calibration variable of the calibrate() designs: SE ~0 there (R 1e-14)
    _close(got.loc[["api00", "api99"], "se"], [ref["se"]["api00"], ref["se"]["api99"]], atol=1e-8)
    ref = CAL_JSON[f"{prefix}.svyglm_api00_ell_meals"]["values"]
    got = survey_glm(data, outcome="api00", drivers=["ell", "meals"], design=design)
    got = got.set_index("term")
    terms = ["(Intercept)", "ell", "meals"]
    _close(got.loc[terms, "estimate"], [ref["estimate"][t] for t in terms])
    _close(got.loc[terms, "se"], [ref["se"][t] for t in terms])


def test_calibration_changes_the_se_as_r_does():
    # the raking-aware SE of mean api00 in apiclus1 is 23.70 where fixed weights give 23.81
    raked = DESIGNS_JSON["apiclus1_raked.svymean_api00"]["values"]["se"]["api00"]
    fixed = DESIGNS_JSON["apiclus1_raked_fixed.svymean_api00"]["values"]["se"]["api00"]
    data, design = _case("apiclus1_raked")
    a = survey_mean(data, items="api00", design=design)["se"].iloc[0]
    b = survey_mean(data, items="api00", design=CASES["apiclus1_raked_fixed"][1])["se"].iloc[0]
    _close([a, b], [raked, fixed])
    assert a < b - 0.1


def test_our_rake_reproduces_r_weights_and_se():
    data = _clus1()
    pop = DESIGNS_JSON["apipop.margins"]["values"]
    w = rake(
        data,
        margins={"stype": pop["stype"], "sch.wide": pop["sch.wide"]},
        design=SurveyDesign(weight="pw"),
        tol=1e-13,
        max_iter=1000,
    )
    _close(w, data["w_raked"])
    data = data.assign(w_ours=w.to_numpy())
    design = SurveyDesign(
        weight="w_ours", cluster="dnum", fpc="fpc", calibration=Calibration(["stype", "sch.wide"])
    )
    got = survey_mean(data, items="api00", design=design).iloc[0]
    ref = DESIGNS_JSON["apiclus1_raked.svymean_api00"]["values"]
    _close(got["se"], ref["se"]["api00"])


def test_within_rakes_each_group_separately():
    # raking within two halves = raking to the half x margin cells: same SEs as calibrating
    # on the interaction columns directly
    data = _strat().assign(half=lambda d: np.where(d["snum"] % 2 == 0, "a", "b"))
    data["schwide_half"] = data["half"] + data["sch.wide"]
    data["awards_half"] = data["half"] + data["awards"]
    base = {"weight": "w_raked", "strata": "stype", "fpc": "fpc"}
    a = SurveyDesign(**base, calibration=Calibration(["sch.wide", "awards"], within="half"))
    b = SurveyDesign(**base, calibration=Calibration(["schwide_half", "awards_half"]))
    ga = survey_mean(data, items=["api00", "enroll"], by="stype", design=a)
    gb = survey_mean(data, items=["api00", "enroll"], by="stype", design=b)
    _close(ga["se"], gb["se"])
    fixed = survey_mean(data, items=["api00", "enroll"], by="stype", design=SurveyDesign(**base))
    assert not np.allclose(ga["se"], fixed["se"], rtol=1e-3)


def test_fast_and_dense_paths_agree():
    # a stratified design without clusters takes the code-sum path; a cluster column of
    # one row per cluster is the same design through the n x G projection
    data = _strat()
    cal = Calibration(["sch.wide", "awards"])
    a = SurveyDesign(weight="w_raked", strata="stype", fpc="fpc", calibration=cal)
    b = SurveyDesign(weight="w_raked", strata="stype", fpc="fpc", cluster="snum", calibration=cal)
    ga = survey_mean(data, items=["api00", "enroll"], by="awards", design=a)
    gb = survey_mean(data, items=["api00", "enroll"], by="awards", design=b)
    _close(ga["se"], gb["se"])


def test_calibration_errors():
    data = _strat()
    with pytest.raises(KeyError, match="calibration column 'nope'"):
        survey_mean(data, items="api00", design=SurveyDesign(calibration=Calibration(["nope"])))
    with pytest.raises(ValueError, match="method 'ipf'"):
        Calibration(["stype"], method="ipf")
    with pytest.raises(TypeError, match="calibration columns"):
        Calibration([])
    bad = data.assign(sw=data["sch.wide"].where(data.index != 3))
    with pytest.raises(ValueError, match="calibration column 'sw': row 3 is missing"):
        survey_mean(bad, items="api00", design=SurveyDesign(calibration=Calibration(["sw"])))


def test_if_missing_fixed_falls_back_to_fixed_weights():
    data = _strat()
    base = {"weight": "w_raked", "strata": "stype", "fpc": "fpc"}
    soft = SurveyDesign(**base, calibration=Calibration(["nope"], if_missing="fixed"))
    got = survey_mean(data, items="api00", design=soft)["se"].iloc[0]
    ref = DESIGNS_JSON["apistrat_raked_fixed.svymean_api00"]["values"]["se"]["api00"]
    _close(got, ref)
    with pytest.raises(ValueError, match="if_missing 'skip'"):
        Calibration(["stype"], if_missing="skip")


@pytest.mark.parametrize("prefix", ["apistrat_raked", "apiclus1_raked", "apiclus1_cal_linear"])
def test_calibration_correction_is_the_projected_minus_the_fixed_covariance(prefix):
    # the banners' hook: fixed-weight covariance of domain totals + the correction = the
    # covariance of the calibration residuals (one-stage sums path and n x G path)
    import dataclasses

    data, design = _case(prefix)
    prep = design.prepare(data)
    codes = pd.factorize(data["awards"], sort=True)[0]
    v = np.column_stack([prep.w * data["api00"].to_numpy(), prep.w])
    z = np.zeros((prep.n, 4))
    for j in range(2):
        z[np.arange(prep.n), j * 2 + codes] = v[:, j]
    fixed = dataclasses.replace(prep, cal=None).vcov(z)
    np.testing.assert_allclose(
        fixed + prep.calibration_correction(codes, 2, v), prep.vcov(z), rtol=1e-9, atol=1e-6
    )
    assert not np.allclose(prep.calibration_correction(codes, 2, v), 0.0)


@pytest.mark.parametrize("prefix", ["apistrat_raked", "apiclus1_raked", "apiclus1_cal_linear"])
def test_calibration_correction_on_rows_equals_the_spread_over_every_row(prefix):
    # the trend decomposition's hook: influence values on some rows only (two waves)
    data, design = _case(prefix)
    prep = design.prepare(data)
    rng = np.random.default_rng(3)
    rows = np.flatnonzero(rng.random(prep.n) < 0.4)
    v = np.column_stack([prep.w[rows] * data["api00"].to_numpy()[rows], prep.w[rows]])
    full = np.zeros((prep.n, 2))
    full[rows] = v
    want = prep.calibration_correction(np.zeros(prep.n, dtype=np.int64), 1, full)
    got = prep.calibration_correction_rows(rows, v)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-9 * np.abs(want).max())
    assert not np.allclose(got, 0.0)


@pytest.mark.parametrize("prefix", CALIBRATED[:3] + ["apistrat_raked"])
def test_chisq_and_banner_distribution_test_match_r(prefix):
    # svychisq(~awards+stype, D) on the calibrated design: survey_chisq (through the
    # design's projected vcov) and the banner's Rao-Scott test (its sums plus the design's
    # calibration_correction) both reproduce R's F and Chisq
    from analysis_helpers.banners import BannerRow, banner_table

    data, design = _case(prefix)
    f = CAL_JSON[f"{prefix}.svychisq_awards_stype_F"]["values"]
    chi = CAL_JSON[f"{prefix}.svychisq_awards_stype_Chisq"]["values"]
    got = survey_chisq(data, row="awards", col="stype", design=design).iloc[0]
    _close(got["statistic"], f["statistic"]["F"])
    _close([got["ndf"], got["ddf"]], [f["parameter"]["ndf"], f["parameter"]["ddf"]])
    _close(got["pearson"], chi["statistic"]["X-squared"])
    _close(got["p_value"], f["p_value"])
    d = data.assign(awards_code=(data["awards"] == "Yes").astype(int))
    row = BannerRow("awards_code", ("distribution",), "Awards", 0, 1, top=(1,), bottom=(0,))
    res = banner_table(d, rows=[row], by=["stype"], design=design, min_base=1, suppress_below=0)
    t = res.tests.set_index("row").loc["awards_code:distribution"]
    _close(t["f_statistic"], f["statistic"]["F"])
    _close([t["df_num"], t["df_den"]], [f["parameter"]["ndf"], f["parameter"]["ddf"]])
    _close(t["chisq"], chi["statistic"]["X-squared"])


@pytest.mark.parametrize("prefix", ["apiclus1_raked", "apistrat_raked"])
def test_banner_cells_are_the_raking_aware_domain_means(prefix):
    from analysis_helpers.banners import BannerRow, banner_table

    data, design = _case(prefix)
    d = data.assign(hi=(data["api00"] >= 700).astype(int))
    res = banner_table(
        d,
        rows=[BannerRow("hi", ("mean",), "API >= 700", 0, 1)],
        by=["stype"],
        design=design,
        min_base=1,
        suppress_below=0,
    )
    cells = res.table.set_index("column")
    ref = survey_mean(d, items="hi", by="stype", design=design).set_index("stype")
    for k in ("E", "H", "M"):
        cell = cells.loc[cells.index.str.endswith(f"={k}")].iloc[0]
        _close(cell["estimate"], ref.loc[k, "estimate"])
        _close(cell["se"], ref.loc[k, "se"])


def test_calibrate_within_is_the_interacted_model():
    # calibrate() within two halves = one calibration on the half x variable columns
    data = _strat().assign(half=lambda d: np.where(d["snum"] % 2 == 0, "a", "b"))
    for h in ("a", "b"):
        data[f"api99_{h}"] = data["api99"] * (data["half"] == h)
    data["schwide_half"] = data["half"] + data["sch.wide"]
    base = {"weight": "w_raked", "strata": "stype", "fpc": "fpc"}
    a = SurveyDesign(
        **base,
        calibration=Calibration(
            ["sch.wide", "api99"], method="calibrate", within="half", base_weight="pw"
        ),
    )
    b = SurveyDesign(
        **base,
        calibration=Calibration(
            ["schwide_half", "api99_a", "api99_b"], method="calibrate", base_weight="pw"
        ),
    )
    ga = survey_mean(data, items=["api00", "enroll"], by="awards", design=a)
    gb = survey_mean(data, items=["api00", "enroll"], by="awards", design=b)
    _close(ga["se"], gb["se"])
    # api99 is calibrated: its mean has (almost) no variance left
    se = survey_mean(data, items="api99", design=a)["se"].iloc[0]
    fixed = survey_mean(data, items="api99", design=SurveyDesign(**base))["se"].iloc[0]
    assert se < 1e-6 * fixed


@pytest.mark.parametrize("n_levels", [(3, 2), (4, 3, 5, 2), (40, 30, 25)])
def test_prepared_calibration_xt_rows_equals_the_dense_product(n_levels):
    """``X[rows]' V`` over the joint cells of the blocks (or per block when the cells are
    many) equals the product with the dense indicator matrix, with numeric columns too."""
    from analysis_helpers._design import PreparedCalibration

    rng = np.random.default_rng(7)
    n = 600
    codes = [rng.integers(0, k, n) for k in n_levels]
    codes = [np.concatenate([np.arange(k), c[k:]]) for k, c in zip(n_levels, codes, strict=True)]
    numeric = [rng.normal(size=n)]
    cal = PreparedCalibration.build("calibrate", codes, numeric, np.ones(n), np.ones(n))
    X = np.column_stack(
        [np.eye(k)[c] for k, c in zip(n_levels, codes, strict=True)] + [numeric[0][:, None]]
    )
    v = rng.normal(size=(n, 3))
    np.testing.assert_allclose(cal.xt(v), X.T @ v, rtol=1e-12, atol=1e-12)
    rows = np.sort(rng.choice(n, 100, replace=False))
    np.testing.assert_allclose(
        cal.xt_rows(rows, v[:100]), X[rows].T @ v[:100], rtol=1e-12, atol=1e-12
    )
    groups = rng.integers(0, 5, n)  # group_xt: per-group sums of v x_i (code 5 ignored)
    groups[:5] = 5
    dense = np.vstack([(v[:, 0] * (groups == g)) @ X for g in range(5)])
    np.testing.assert_allclose(cal.group_xt(groups, 5, v[:, 0]), dense, rtol=1e-12, atol=1e-12)
