"""PLS path model: R plspm on the ECSI bank data, seminr for rho_A / rho_C / HTMT, weighted
PLS against replicated rows, the index by hand, bootstrap properties, every validation
message."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis_helpers.estimation import SurveyDesign
from analysis_helpers.pls import (
    ACTION_TEMPLATE,
    PathModel,
    PathModelError,
    bca_interval,
    construct_index,
    ecsi_model,
    fit_pls,
    index_difference,
    index_scores,
    index_weights,
    ipma,
    ipma_action,
    ipma_items,
    percentile_interval,
    pls_bootstrap,
)

REF = Path(__file__).parent / "reference"
OUT = REF / "plspm_r_outputs"
EXPECTED = json.loads((REF / "expected.json").read_text())
TOL = EXPECTED["tolerance"]["pls"]  # 1e-6
CASE = EXPECTED["pls_path_model"]["results"]["satisfaction_plspm"]
BLOCKS = CASE["model"]["blocks"]
PATHS = [tuple(p.split(" -> ")) for p in CASE["model"]["structure"]]
#: plspm's settings: plspm(sat, path, blocks, modes, scaled=FALSE, tol=1e-6, maxiter=100)
PLSPM = {"scaled": False, "tol": 1e-6, "max_iter": 100}


@pytest.fixture(scope="module")
def sat() -> pd.DataFrame:
    return pd.read_csv(REF / "data" / "plspm_satisfaction.csv")


def model(scheme="centroid", **kw) -> PathModel:
    return PathModel(blocks=BLOCKS, paths=PATHS, scheme=scheme, **kw)


@pytest.fixture(scope="module")
def centroid(sat):
    return fit_pls(sat, model=model("centroid"), **PLSPM)


# --------------------------------------------------------------------------------------
# R plspm reference
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "scheme,key,csv",
    [
        ("centroid", "centroid", "satisfaction.outer-model.csv"),
        ("path", "path_scheme", "satisfaction.outer-model-path.csv"),
        ("factorial", "factorial_scheme", "satisfaction.outer-model-factorial.csv"),
    ],
)
def test_outer_model_reproduces_plspm(sat, scheme, key, csv):
    fit = fit_pls(sat, model=model(scheme), **PLSPM)
    om = fit.outer_model().set_index("item")
    ref = pd.read_csv(OUT / csv).set_index("name")
    assert list(om.index) == list(ref.index)
    assert (om["block"] == ref["block"]).all()
    for col in ("weight", "loading", "communality", "redundancy"):
        np.testing.assert_allclose(om[col], ref[col], rtol=0, atol=TOL)
        as_json = pd.DataFrame(CASE[key]["outer_model"]).T[col].astype(float)
        np.testing.assert_allclose(om[col], as_json[om.index], rtol=0, atol=TOL)
    # the default (tighter) convergence lands within the tolerance of plspm's iterate too
    tight = fit_pls(sat, model=model(scheme), scaled=False).outer_model()
    np.testing.assert_allclose(tight["weight"], ref["weight"], rtol=0, atol=TOL)
    np.testing.assert_allclose(tight["loading"], ref["loading"], rtol=0, atol=TOL)


def test_paths_effects_and_gof_reproduce_plspm(centroid):
    pc = centroid.path_coefficients()
    ref = CASE["centroid"]["path_coefficients"]
    assert [f"{a} -> {b}" for a, b in zip(pc["from"], pc["to"], strict=True)] == list(ref)
    np.testing.assert_allclose(pc["estimate"], list(ref.values()), rtol=0, atol=TOL)
    ef = centroid.effects()
    ref_ef = pd.read_csv(OUT / "satisfaction.effects.csv", index_col=0)
    assert list(zip(ef["from"], ef["to"], strict=True)) == list(
        zip(ref_ef["from"], ref_ef["to"], strict=True)
    )
    for col in ("direct", "indirect", "total"):
        np.testing.assert_allclose(ef[col], ref_ef[col], rtol=0, atol=TOL)
    assert centroid.goodness_of_fit() == pytest.approx(CASE["centroid"]["gof"], abs=TOL)


def test_inner_model_reproduces_plspm(centroid):
    im = centroid.inner_model()
    sat_rows = im[im["to"] == "SAT"].set_index("from")
    ref = pd.read_csv(OUT / "satisfaction.inner-model.csv", index_col=0)
    np.testing.assert_allclose(sat_rows.loc[ref.index, "estimate"], ref["Estimate"], atol=TOL)
    np.testing.assert_allclose(sat_rows.loc[ref.index, "se"], ref["Std. Error"], atol=TOL)
    np.testing.assert_allclose(sat_rows.loc[ref.index, "statistic"], ref["t value"], atol=TOL)
    np.testing.assert_allclose(sat_rows.loc[ref.index, "p_value"], ref["Pr(>|t|)"], atol=TOL)
    assert (im["method"] == "ols").all() and (sat_rows["df"] == 250 - 4 - 1).all()


def test_crossloadings_scores_inner_summary_unidim(sat, centroid):
    cl = centroid.crossloadings().set_index("item")
    ref = pd.read_csv(OUT / "satisfaction.crossloadings.csv").set_index("name")
    for c in BLOCKS:
        np.testing.assert_allclose(cl[c], ref[c], rtol=0, atol=TOL)
    scores = centroid.scores(sat)
    ref_sc = pd.read_csv(OUT / "satisfaction.scores.csv")
    np.testing.assert_allclose(scores[list(BLOCKS)], ref_sc[list(BLOCKS)], rtol=0, atol=TOL)
    # plspm's scores: mean 0, standardised with divisor N
    np.testing.assert_allclose(scores.std(ddof=0), 1.0, atol=1e-12)
    ins = centroid.inner_summary().set_index("block")
    ref_in = pd.read_csv(OUT / "satisfaction.inner-summary.csv", index_col=0)
    assert (ins["type"] == ref_in["type"]).all()
    for col in ("r_squared", "block_communality", "mean_redundancy", "ave"):
        np.testing.assert_allclose(ins[col], ref_in[col], rtol=0, atol=TOL)
    un = centroid.unidimensionality().set_index("block")
    ref_un = pd.read_csv(OUT / "satisfaction_unidim.csv", index_col=0)
    assert (un["n_items"] == ref_un["mvs"]).all()
    for col in ("cronbach_alpha", "dillon_goldstein_rho", "eig_1st", "eig_2nd"):
        np.testing.assert_allclose(un[col], ref_un[col], rtol=0, atol=TOL)


def test_mode_b_inner_summary_reproduces_plspm(sat):
    fit = fit_pls(sat, model=model("centroid", modes=dict.fromkeys(BLOCKS, "B")), **PLSPM)
    ins = fit.inner_summary().set_index("block")
    ref = pd.read_csv(OUT / "satisfaction.modeb.inner-summary.csv", index_col=0)
    np.testing.assert_allclose(ins["r_squared"], ref["r_squared"], rtol=0, atol=TOL)
    np.testing.assert_allclose(ins["block_communality"], ref["block_communality"], atol=TOL)
    np.testing.assert_allclose(ins["mean_redundancy"], ref["mean_Redundancy"], atol=TOL)
    assert ins["ave"].isna().all()  # AVE does not apply to formative blocks (NA as plspm-python)
    assert fit.reliability()[["alpha", "rho_a", "rho_c", "ave"]].isna().all().all()


# seminr 0.2.1 (Python port of R seminr, parity 1e-5 with R seminr 2.3):
#   estimate_pls(sat[items], constructs(composite(lv, items) ...), relationships(paths(...)))
#   (standardised items, path weighting); summarize(m).reliability / .validity.htmt
SEMINR_RELIABILITY = {  # alpha, rhoA, rhoC, AVE
    "IMAG": [0.830226690205339, 0.8551797166315853, 0.8806019652185997, 0.5998921036367716],
    "EXPE": [0.8465840789252612, 0.8513194245149036, 0.8907178290252031, 0.6202091965429635],
    "QUAL": [0.8713249547696428, 0.8745777405581245, 0.9068820675124514, 0.6611769744547551],
    "VAL": [0.8357228405117972, 0.8471806359720523, 0.8897499556757765, 0.6690397930457881],
    "SAT": [0.8940109126765582, 0.9059945742281474, 0.9265127815401112, 0.759601363640966],
    "LOY": [0.8194216410299608, 0.8685810940568544, 0.8792930995287295, 0.6481367699152765],
}
SEMINR_HTMT = {
    ("IMAG", "EXPE"): 0.6438293153098582, ("IMAG", "QUAL"): 0.7015500143722833,
    ("EXPE", "QUAL"): 0.9819025596205511, ("IMAG", "VAL"): 0.8116502835124867,
    ("EXPE", "VAL"): 0.7874661258984638, ("QUAL", "VAL"): 0.8783567329637108,
    ("IMAG", "SAT"): 0.7580543885751231, ("EXPE", "SAT"): 0.703047850873816,
    ("QUAL", "SAT"): 0.7852919119485873, ("VAL", "SAT"): 0.9293178285877861,
    ("IMAG", "LOY"): 0.7190520505938908, ("EXPE", "LOY"): 0.5517920276165118,
    ("QUAL", "LOY"): 0.7001706577954414, ("VAL", "LOY"): 0.8002987587072508,
    ("SAT", "LOY"): 0.7432488516635073,
}  # fmt: skip
SEMINR_PATHS = [0.559672112796464, 0.1855606088941915, 0.28916928064565517,
                0.8455650657192033, 0.11750876466426455, 0.008486716697245248,
                0.6600858344200453, 0.13760444719607026, 0.5800320363288387,
                0.47373212492837247]  # fmt: skip


def test_reliability_and_htmt_match_seminr(sat):
    fit = fit_pls(sat, model=model("path"))  # standardised items, as seminr
    np.testing.assert_allclose(fit.path_coefficients()["estimate"], SEMINR_PATHS, atol=1e-6)
    rel = fit.reliability().set_index("block")
    got = rel[["alpha", "rho_a", "rho_c", "ave"]].loc[list(SEMINR_RELIABILITY)].to_numpy()
    np.testing.assert_allclose(got, list(SEMINR_RELIABILITY.values()), atol=1e-6)
    h = fit.htmt()
    got = {tuple(sorted((a, b))): v for a, b, v in h.itertuples(index=False)}
    for pair, v in SEMINR_HTMT.items():
        assert got[tuple(sorted(pair))] == pytest.approx(v, abs=1e-9)
    # plspm's alpha is the standardised alpha (the reference's known trap)
    assert rel["alpha"].to_numpy() == pytest.approx(
        pd.read_csv(OUT / "satisfaction_unidim.csv")["cronbach_alpha"].to_numpy(), abs=1e-12
    )


# --------------------------------------------------------------------------------------
# Weights and missing values: independent routes
# --------------------------------------------------------------------------------------
def _same_fit(a, b, atol=1e-10):
    for t in ("outer_model", "path_coefficients", "effects", "inner_summary", "reliability"):
        x, y = getattr(a, t)(), getattr(b, t)()
        # adjusted R^2 counts respondents (rows), not weights, so it is not compared
        num = x.select_dtypes("number").columns.drop(["r_squared_adj", "n_items"], errors="ignore")
        np.testing.assert_allclose(x[num].to_numpy(float), y[num].to_numpy(float), atol=atol)
    assert a.goodness_of_fit() == pytest.approx(b.goodness_of_fit(), abs=atol)


@pytest.mark.parametrize("scheme", ["centroid", "path", "factorial"])
def test_integer_weights_equal_replicated_rows(sat, scheme):
    rng = np.random.default_rng(3)
    df = sat.assign(w=rng.integers(1, 4, len(sat)))
    weighted = fit_pls(df, model=model(scheme), design=SurveyDesign(weight="w"), **PLSPM)
    repeated = fit_pls(df.loc[df.index.repeat(df["w"])], model=model(scheme), **PLSPM)
    _same_fit(weighted, repeated)
    assert weighted.n == len(sat) and repeated.n == df["w"].sum()


def test_unit_weights_equal_unweighted_and_scale_of_weights_is_irrelevant(sat):
    one = fit_pls(sat.assign(w=1.0), model=model(), design=SurveyDesign(weight="w"))
    _same_fit(one, fit_pls(sat, model=model()), atol=1e-12)
    rng = np.random.default_rng(5)
    w = rng.uniform(0.2, 3.0, len(sat))
    a = fit_pls(sat.assign(w=w), model=model(), design=SurveyDesign(weight="w"))
    b = fit_pls(sat.assign(w=w * 1000), model=model(), design=SurveyDesign(weight="w"))
    _same_fit(a, b, atol=1e-9)
    assert not np.allclose(a.weights, fit_pls(sat, model=model()).weights, atol=1e-4)


def test_missing_mean_replacement_equals_fit_on_imputed_data(sat):
    rng = np.random.default_rng(11)
    holes = sat.astype({c: float for c in sat.columns if c != "gender"})
    items = [i for b in BLOCKS.values() for i in b]
    mask = rng.random((len(sat), len(items))) < 0.05
    vals = holes[items].to_numpy(float)
    vals[mask] = np.nan
    holes[items] = vals
    holes.loc[7, items] = np.nan  # answered nothing: left out
    w = rng.uniform(0.5, 2.0, len(sat))
    holes["w"] = w
    fit = fit_pls(holes, model=model(), design=SurveyDesign(weight="w"))
    assert fit.n == len(sat) - 1 and fit.n_excluded == 1
    kept = holes.drop(index=7)
    means = {c: np.average(kept[c].dropna(), weights=kept.loc[kept[c].notna(), "w"]) for c in items}
    imputed = kept.fillna(means)
    _same_fit(fit, fit_pls(imputed, model=model(), design=SurveyDesign(weight="w")))
    listwise = fit_pls(holes, model=model(), missing="listwise")
    _same_fit(listwise, fit_pls(holes.dropna(subset=items), model=model()))
    assert listwise.n_excluded == holes[items].isna().any(axis=1).sum()


def test_design_based_inner_model(sat):
    df = sat.assign(w=np.random.default_rng(2).uniform(0.5, 2, len(sat)))
    fit = fit_pls(df, model=model(), design=SurveyDesign(weight="w", strata="gender"))
    im = fit.inner_model(df)
    assert (im["method"] == "linearisation").all()
    np.testing.assert_allclose(im["estimate"], fit.path_coefficients()["estimate"], atol=1e-10)
    with pytest.raises(ValueError, match="a fit with a design needs data="):
        fit.inner_model()


# --------------------------------------------------------------------------------------
# Index
# --------------------------------------------------------------------------------------
def test_index_reproduces_the_derived_reference(sat, centroid):
    der = CASE["DERIVED_csi_index"]
    iw = index_weights(centroid, scale_min=0, scale_max=10)
    for r in iw.itertuples():
        assert r.index_weight == pytest.approx(der[r.block]["weights_sum1"][r.item], abs=1e-12)
    ci = construct_index(sat, fit=centroid, scale_min=0, scale_max=10).set_index("block")
    for b, v in der.items():
        assert ci.loc[b, "estimate"] == pytest.approx(v["index_0_100"], abs=1e-10)
    assert (iw["flag"] == "").all()


def test_index_by_hand_on_a_small_frame():
    df = pd.DataFrame(
        {
            "a1": [1, 2, 3, 4, 5, 2], "a2": [2, 2, 4, 5, 4, 1],
            "b1": [1, 3, 3, 5, 4, 2], "b2": [1, 7, 6, 7, 5, 4],
        }
    )  # fmt: skip
    m = PathModel(blocks={"A": ["a1", "a2"], "B": ["b1", "b2"]}, paths=[("A", "B")])
    fit = fit_pls(df, model=m)
    lo, hi = {"a1": 1, "a2": 1, "b1": 1, "b2": 1}, {"a1": 5, "a2": 5, "b1": 5, "b2": 7}
    raw = fit.raw_weights()
    wa = np.array([raw["a1"] * 4, raw["a2"] * 4])
    wb = np.array([raw["b1"] * 4, raw["b2"] * 6])
    wa, wb = wa / wa.sum(), wb / wb.sum()
    xa = [(df["a1"].mean() - 1) / 4 * 100, (df["a2"].mean() - 1) / 4 * 100]
    xb = [(df["b1"].mean() - 1) / 4 * 100, (df["b2"].mean() - 1) / 6 * 100]
    ci = construct_index(df, fit=fit, scale_min=lo, scale_max=hi).set_index("block")
    assert ci.loc["A", "estimate"] == pytest.approx(wa @ xa, abs=1e-12)
    assert ci.loc["B", "estimate"] == pytest.approx(wb @ xb, abs=1e-12)
    # one missing answer: that respondent's score is the weighted mean of what they answered
    holes = df.astype(float)
    holes.loc[0, "b2"] = np.nan
    sc = index_scores(holes, fit=fit, scale_min=lo, scale_max=hi)
    assert sc.loc[0, "B"] == pytest.approx(0.0)  # b1 = 1 is the scale minimum
    assert sc.loc[1, "B"] == pytest.approx(wb @ [50.0, 100.0])


def test_index_difference_is_domain_difference_of_index_scores(sat, centroid):
    d = index_difference(sat, fit=centroid, scale_min=0, scale_max=10, by="gender")
    by_g = construct_index(sat, fit=centroid, scale_min=0, scale_max=10, by="gender")
    sat_row = d.set_index("block").loc["SAT"]
    assert (sat_row["value_1"], sat_row["value_2"]) == ("female", "male")
    f = by_g[(by_g.gender == "female") & (by_g.block == "SAT")]["estimate"].item()
    m = by_g[(by_g.gender == "male") & (by_g.block == "SAT")]["estimate"].item()
    assert sat_row["estimate"] == pytest.approx(m - f, abs=1e-10)
    # unweighted, two independent groups: Welch-type SE from the two domain SEs
    se_f = by_g[(by_g.gender == "female") & (by_g.block == "SAT")]["se"].item()
    se_m = by_g[(by_g.gender == "male") & (by_g.block == "SAT")]["se"].item()
    assert sat_row["se"] == pytest.approx(np.hypot(se_f, se_m), rel=1e-10)
    assert 0 < sat_row["p_value"] < 1


# --------------------------------------------------------------------------------------
# Bootstrap
# --------------------------------------------------------------------------------------
def test_bootstrap_is_reproducible_and_sensible(sat):
    m = model("path")
    a = pls_bootstrap(sat, model=m, n_boot=200, random_state=7, scale_min=0, scale_max=10)
    b = pls_bootstrap(sat, model=m, n_boot=200, random_state=7, scale_min=0, scale_max=10)
    c = pls_bootstrap(sat, model=m, n_boot=200, random_state=8, scale_min=0, scale_max=10)
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(a["se"], c["se"])
    fit = fit_pls(sat, model=m)
    paths = a[a["kind"] == "path"]
    np.testing.assert_allclose(paths["estimate"], fit.path_coefficients()["estimate"], atol=1e-12)
    assert (paths["ci_low"] <= paths["estimate"]).all() and (
        paths["estimate"] <= paths["ci_high"]
    ).all()
    # bootstrap SEs of the SAT regression are of the size of the OLS SEs
    ols = fit.inner_model().set_index(["from", "to"])["se"]
    boot = paths.set_index(["from", "to"])["se"]
    assert ((boot / ols[boot.index]).between(0.6, 1.8)).all()
    idx = a[a["kind"] == "index"].set_index("block")
    ci = construct_index(sat, fit=fit, scale_min=0, scale_max=10).set_index("block")
    np.testing.assert_allclose(idx["estimate"], ci.loc[idx.index, "estimate"], atol=1e-10)
    assert a.loc[a["kind"] == "index", "p_value"].isna().all()
    assert (a["n_boot"] == 200).all()
    assert set(a["kind"]) == {"weight", "loading", "path", "indirect_effect", "total_effect",
                              "r_squared", "htmt", "index"}  # fmt: skip


def test_bootstrap_unit_weights_and_strata_run_the_same_stream(sat):
    m = model("path")
    plain = pls_bootstrap(sat, model=m, n_boot=50, random_state=1)
    ones = pls_bootstrap(sat.assign(w=1.0), model=m, n_boot=50, random_state=1,
                         design=SurveyDesign(weight="w"))  # fmt: skip
    pd.testing.assert_frame_equal(plain, ones)
    strat = pls_bootstrap(sat, model=m, n_boot=50, random_state=1, method="bca",
                          design=SurveyDesign(strata="gender"))  # fmt: skip
    assert strat["ci_low"].notna().all() and (strat["method"] == "bca").all()


def test_percentile_and_bca_intervals_on_known_cases():
    rng = np.random.default_rng(0)
    boot = rng.normal(size=(4001, 1))
    boot = np.concatenate([boot, -boot])  # symmetric about 0
    jack = np.concatenate([np.linspace(-1, 1, 11)])[:, None]  # symmetric: no acceleration
    pct = percentile_interval(boot, confidence=0.9)
    np.testing.assert_allclose(pct[:, 0], np.quantile(boot[:, 0], [0.05, 0.95]))
    bca = bca_interval(np.array([0.0]), boot, jack, confidence=0.9)
    np.testing.assert_allclose(bca, pct, atol=1e-12)  # z0 = 0 and a = 0: BCa = percentile
    # a hand case: estimate below 60% of replicates, skewed jackknife
    boot = np.arange(1, 101, dtype=float)[:, None]
    jack = np.array([0.0, 0.0, 0.0, 3.0])[:, None]
    z0 = -0.2533471031357997  # Phi^-1(0.4): 40 of 100 replicates are below 40.5
    d = jack.mean() - jack[:, 0]
    a = (d**3).sum() / (6 * (d**2).sum() ** 1.5)
    from scipy import stats

    lev = [
        stats.norm.cdf(z0 + (z0 + q) / (1 - a * (z0 + q))) for q in stats.norm.ppf([0.025, 0.975])
    ]
    want = np.quantile(boot[:, 0], lev)
    np.testing.assert_allclose(bca_interval(np.array([40.5]), boot, jack)[:, 0], want)
    assert want[0] < 2.5 + 1 and want[1] < 97.5  # shifted down by the bias correction


# --------------------------------------------------------------------------------------
# IPMA
# --------------------------------------------------------------------------------------
def test_ipma_importance_is_the_unstandardised_total_effect(sat):
    m = model("path", target="SAT")
    table = ipma(sat, model=m, scale_min=0, scale_max=10)
    # independent route: regress the 0-100 scores on each other, multiply along paths
    fit = fit_pls(sat, model=m)
    s100 = index_scores(sat, fit=fit, scale_min=0, scale_max=10)
    B = pd.DataFrame(0.0, index=list(BLOCKS), columns=list(BLOCKS))
    for to in BLOCKS:
        pred = m.predecessors(to)
        if pred:
            X = np.column_stack([np.ones(len(s100)), s100[pred]])
            beta = np.linalg.lstsq(X, s100[to], rcond=None)[0][1:]
            B.loc[pred, to] = beta
    T = np.linalg.inv(np.eye(6) - B.to_numpy()) - np.eye(6)
    total = pd.DataFrame(T, index=B.index, columns=B.columns)["SAT"]
    got = table.set_index("block")
    assert list(got.index) == ["IMAG", "EXPE", "QUAL", "VAL"]
    np.testing.assert_allclose(got["importance"], total[got.index], atol=1e-9)
    ci = construct_index(sat, fit=fit, scale_min=0, scale_max=10).set_index("block")
    np.testing.assert_allclose(got["performance"], ci.loc[got.index, "estimate"], atol=1e-12)
    assert sorted(got["priority"]) == [1, 2, 3, 4]
    action = ipma_action(table, labels={"VAL": "Perceived value", "SAT": "Satisfaction"})
    first = action.iloc[0]
    top = got[got["quadrant"] == "concentrate here"]["importance"].idxmax()
    assert first["block"] == top
    sentence = ACTION_TEMPLATE[first["reason"]].format(**first.to_dict())
    assert f"{first['importance']:.2f}" in sentence and "nan" not in sentence


def test_ipma_per_segment_and_items(sat):
    m = model("path", target="SAT")
    seg = ipma(sat, model=m, scale_min=0, scale_max=10, by="gender")
    assert set(seg["gender"]) == {"female", "male"} and len(seg) == 8
    female = sat[sat.gender == "female"]
    alone = ipma(female, model=m, scale_min=0, scale_max=10)
    np.testing.assert_allclose(seg[seg.gender == "female"]["importance"], alone["importance"])
    items = ipma_items(sat, model=m, scale_min=0, scale_max=10)
    assert set(items["block"]) == {"IMAG", "EXPE", "QUAL", "VAL"}
    per_block = items.groupby("block")["importance"].sum()
    cons = ipma(sat, model=m, scale_min=0, scale_max=10).set_index("block")["importance"]
    np.testing.assert_allclose(per_block[cons.index], cons)  # index weights sum to 1
    act = ipma_action(seg)
    assert list(act["gender"]) == ["female", "male"]
    assert set(act["reason"]) <= {"concentrate here", "highest importance"}


# --------------------------------------------------------------------------------------
# The model and bad input
# --------------------------------------------------------------------------------------
def test_ecsi_model_keeps_the_paths_of_the_constructs_given():
    m = ecsi_model({"quality": ["q1", "q2"], "value": ["v1", "v2"], "satisfaction": ["s1"],
                    "loyalty": ["l1", "l2"]})  # fmt: skip
    assert m.paths == [("quality", "value"), ("quality", "satisfaction"),
                       ("value", "satisfaction"), ("satisfaction", "loyalty")]  # fmt: skip
    assert m.target_construct == "satisfaction" and m.label("value") == "Perceived value"
    full = ecsi_model({k: [f"{k}{i}" for i in (1, 2)] for k in
                       ["image", "expectation", "quality", "value", "satisfaction",
                        "complaints", "loyalty"]})  # fmt: skip
    assert len(full.paths) == 12
    with pytest.raises(PathModelError, match="ecsi_model: unknown ECSI construct 'price'"):
        ecsi_model({"price": ["p"], "satisfaction": ["s"]})
    with pytest.raises(PathModelError, match="needs a 'satisfaction' construct"):
        ecsi_model({"quality": ["q"], "value": ["v"]})


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"blocks": {"A": ["a"]}, "paths": []}, "needs at least two constructs"),
        ({"blocks": {"A": [], "B": ["b"]}, "paths": [("A", "B")]}, "construct 'A' has no items"),
        ({"blocks": {"A": ["a"], "B": ["a"]}, "paths": [("A", "B")]},
         "item 'a' is in constructs 'A' and 'B'"),
        ({"blocks": {"A": ["a"], "B": ["b", "c"]}, "paths": [("A", "B")], "modes": {"A": "B"}},
         r"construct 'A' is in mode B \(formative\) with one item \('a'\)"),
        ({"blocks": {"A": ["a"], "B": ["b"]}, "paths": [("A", "B")], "modes": {"A": "C"}},
         "construct 'A' has mode 'C'"),
        ({"blocks": {"A": ["a"], "B": ["b"]}, "paths": [("A", "C")]},
         "path A -> C names unknown construct 'C'"),
        ({"blocks": {"A": ["a"], "B": ["b"]}, "paths": [("A", "A"), ("A", "B")]},
         "path A -> A points to itself"),
        ({"blocks": {"A": ["a"], "B": ["b"], "C": ["c"]},
          "paths": [("A", "B"), ("B", "C"), ("C", "A")]},
         "the paths make a cycle A -> B -> C -> A"),
        ({"blocks": {"A": ["a"], "B": ["b"], "C": ["c"]}, "paths": [("A", "B")]},
         "construct 'C' is on no path"),
        ({"blocks": {"A": ["a"], "B": ["b"]}, "paths": [("A", "B")], "target": "A"},
         "target 'A' has no incoming path"),
        ({"blocks": {"A": ["a"], "B": ["b"]}, "paths": [("A", "B")], "scheme": "pca"},
         "scheme 'pca'"),
        ({"blocks": {"A": ["a"], "B": ["b"]}, "paths": []}, "the inner model has no paths"),
        ({"blocks": {"A": ["a"], "B": ["b"]}, "paths": [("A", "B"), ("A", "B")]},
         "path A -> B is listed twice"),
    ],
)  # fmt: skip
def test_path_model_validation_messages(kwargs, message):
    with pytest.raises(PathModelError, match=message):
        PathModel(**kwargs)


def test_estimation_errors_name_the_construct(sat):
    with pytest.raises(
        PathModelError, match=r"did not converge in 1 iteration; the weights of construct '\w+'"
    ):
        fit_pls(sat, model=model(), max_iter=1)
    flat = sat.assign(qual3=5)
    with pytest.raises(PathModelError, match="item 'qual3' of construct 'QUAL' has no variance"):
        fit_pls(flat, model=model())
    dup = sat.assign(val4=sat["val1"] + sat["val2"])
    with pytest.raises(
        PathModelError, match="items of mode-B construct 'VAL' are linearly dependent"
    ):
        fit_pls(dup, model=model(modes={"VAL": "B"}))
    with pytest.raises(KeyError, match="item column 'sat4' of construct 'SAT' is not in the data"):
        fit_pls(sat.drop(columns="sat4"), model=model())
    with pytest.raises(ValueError, match="item column 'gender' must be numeric"):
        fit_pls(sat, model=PathModel(blocks={"G": ["gender"], "S": ["sat1"]}, paths=[("G", "S")]))
    with pytest.raises(ValueError, match="missing 'pairwise': use 'mean' or 'listwise'"):
        fit_pls(sat, model=model(), missing="pairwise")
    with pytest.raises(ValueError, match="weight column 'w' has the value -1.0 in row 3"):
        fit_pls(sat.assign(w=np.where(sat.index == 3, -1.0, 1.0)), model=model(),
                design=SurveyDesign(weight="w"))  # fmt: skip
    with pytest.raises(ValueError, match="pls_bootstrap: method 'normal'"):
        pls_bootstrap(sat, model=model(), method="normal")
    with pytest.raises(ValueError, match="n_boot must be an integer >= 2"):
        pls_bootstrap(sat, model=model(), n_boot=1)
    with pytest.raises(ValueError, match="confidence must be in"):
        pls_bootstrap(sat, model=model(), confidence=95)
    fit = fit_pls(sat, model=model())
    with pytest.raises(ValueError, match="give both scale_min and scale_max"):
        pls_bootstrap(sat, model=model(), scale_min=0)
    with pytest.raises(ValueError, match="item 'imag1' has scale_min 10.0 >= scale_max 0.0"):
        index_weights(fit, scale_min=10, scale_max=0)
    with pytest.raises(KeyError, match="scale_max has no value for item 'imag1'"):
        index_weights(fit, scale_min=0, scale_max={"sat1": 10})
    with pytest.raises(PathModelError, match="target 'XX' is not a construct"):
        ipma(sat, model=model(), scale_min=0, scale_max=10, target="XX")


# --------------------------------------------------------------------------------------
# The study file's model section
# --------------------------------------------------------------------------------------
STUDY_DEMO = Path(__file__).resolve().parents[1] / "config" / "demo.yml"
ECSI_SECTION = {
    "ecsi": {
        "image": "brand",
        "quality": ["network", "hotline", "billing"],
        "value": "value",
        "satisfaction": ["osat"],
        "loyalty": ["nps_recommend", "repurchase"],
    }
}


def _study_with(tmp_path, section):
    import copy

    import yaml

    from analysis_helpers.study import load_study

    raw = copy.deepcopy(yaml.safe_load(STUDY_DEMO.read_text(encoding="utf-8")))
    raw.pop("model", None)  # the demo states its own model now
    if section is not None:
        raw["model"] = section
    (tmp_path / "config").mkdir(exist_ok=True)
    path = tmp_path / "config" / "study.yml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return load_study(path, check_files=False)


def test_study_ecsi_mapping_gives_the_ecsi_model(tmp_path):
    from analysis_helpers.pls import ECSI_CONSTRUCTS, study_path_model, study_scales
    from analysis_helpers.study import ECSI_NAMES

    assert list(ECSI_NAMES) == list(ECSI_CONSTRUCTS)
    study = _study_with(tmp_path, ECSI_SECTION)
    m = study_path_model(study)
    assert m.constructs == ["image", "quality", "value", "satisfaction", "loyalty"]
    assert m.blocks["image"] == study.item_names(area="brand")
    assert len(m.blocks["quality"]) == 15 and m.blocks["loyalty"] == ["nps_recommend", "repurchase"]
    assert ("quality", "value") in m.paths and ("image", "expectation") not in m.paths
    assert m.target_construct == "satisfaction" and m.scheme == "path"
    lo, hi = study_scales(study, m)
    assert (lo["brand_trust"], hi["brand_trust"], lo["nps_recommend"], hi["repurchase"]) == (
        1,
        10,
        0,
        5,
    )
    assert study_path_model(_study_with(tmp_path, None)) is None


def test_study_explicit_model(tmp_path):
    from analysis_helpers.pls import study_path_model

    section = {
        "constructs": [
            {"name": "net", "area": "network"},
            {"name": "val", "area": "value", "mode": "B", "label": "Value"},
            {"name": "sat", "items": ["osat"], "label": "Satisfaction"},
        ],
        "paths": ["net -> val", ["net", "sat"], "val -> sat"],
        "target": "sat",
        "scheme": "centroid",
    }
    m = study_path_model(_study_with(tmp_path, section))
    assert m.paths == [("net", "val"), ("net", "sat"), ("val", "sat")]
    assert m.mode("val") == "B" and m.scheme == "centroid"
    assert m.label("net") == "Network service 网络服务" and m.label("val") == "Value"


_C = [{"name": "net", "area": "network"}, {"name": "sat", "items": ["osat"]}]


@pytest.mark.parametrize(
    "section,message",
    [
        ({"scheme": "path"}, r"model: give 'ecsi' \(ECSI constructs mapped to areas or items\) or 'constructs' and 'paths'"),
        ({"constructs": _C}, "model: 'paths' is required with 'constructs'"),
        ({"constructs": [{"name": "net"}], "paths": ["net -> net"]},
         r"model.constructs\[0\]: construct 'net' has no items: give 'items'"),
        ({"constructs": [{"name": "net", "items": []}, _C[1]], "paths": ["net -> sat"]},
         r"model.constructs\[0\]: construct 'net' has no items"),
        ({"constructs": [{"name": "net", "area": "network", "items": ["a"]}, _C[1]], "paths": ["net -> sat"]},
         "give 'items' or 'area', not both"),
        ({"constructs": [{"name": "net", "area": "netwrk"}, _C[1]], "paths": ["net -> sat"]},
         r"model.constructs\[0\].area: unknown area 'netwrk'"),
        ({"constructs": [_C[0], {"name": "sat", "items": ["osat", "nope"]}], "paths": ["net -> sat"]},
         r"model.constructs\[1\].items\[1\]: unknown item 'nope'"),
        ({"constructs": [_C[0], {"name": "sat", "items": ["osat"], "mode": "B"}], "paths": ["net -> sat"]},
         r"model: construct 'sat' is in mode B \(formative\) with one item \('osat'\)"),
        ({"constructs": _C, "paths": ["net -> sat", "sat -> net"]},
         "model: paths: the paths make a cycle net -> sat -> net"),
        ({"constructs": _C, "paths": ["net -> loyalty"]},
         r"model: paths\[0\]: net -> loyalty: unknown construct 'loyalty'"),
        ({"constructs": _C, "paths": ["net sat"]}, r"model.paths: paths\[0\]: 'net sat' is not of the form 'from -> to'"),
        ({"constructs": _C, "paths": ["net -> sat"], "target": "net"},
         "model.target: 'net' has no incoming path"),
        ({"constructs": _C, "paths": ["net -> sat"], "target": "loy"},
         "model.target: unknown construct 'loy'"),
        ({"constructs": [*_C, {"name": "x", "items": ["osat"]}], "paths": ["net -> sat", "net -> x"]},
         "model: item 'osat' is in constructs 'sat' and 'x'"),
        ({"constructs": [*_C, {"name": "x", "items": ["ces"]}], "paths": ["net -> sat"]},
         "model: construct 'x' is on no path"),
        ({"ecsi": {"price": "value", "satisfaction": ["osat"]}}, "model: ecsi: unknown ECSI construct 'price'"),
        ({"ecsi": {"value": "value"}}, "model: ecsi: the ECSI model needs a 'satisfaction' construct"),
        ({"ecsi": {"value": "valu", "satisfaction": ["osat"]}}, "model.ecsi.value: unknown area or item 'valu'"),
        ({"ecsi": {"value": "value", "satisfaction": ["osat"]}, "modes": {"quality": "B"}},
         r"model.modes.quality: unknown construct \(constructs: \['value', 'satisfaction'\]\)"),
        ({"ecsi": ECSI_SECTION["ecsi"], "constructs": _C}, "give 'ecsi' or 'constructs' and 'paths', not both"),
        ({"constructs": _C, "paths": ["net -> sat"], "scheme": "pca"}, "model.scheme"),
    ],
)  # fmt: skip
def test_study_model_validation_messages(tmp_path, section, message):
    from analysis_helpers.study import StudyFileError

    with pytest.raises(StudyFileError, match=message):
        _study_with(tmp_path, section)


def test_ipma_per_segment_uses_only_the_weight_of_the_design(sat):
    # stratum 1 has one respondent of each gender: fine for the whole design, a lonely PSU
    # within each segment - the segment maps need only the weights
    st = np.zeros(len(sat), dtype=int)
    st[[sat.index[sat.gender == "female"][0], sat.index[sat.gender == "male"][0]]] = 1
    df = sat.assign(st=st, w=np.random.default_rng(4).uniform(0.5, 2, len(sat)))
    design = SurveyDesign(weight="w", strata="st")
    seg = ipma(df, model=model("path", target="SAT"), scale_min=0, scale_max=10, by="gender",
               design=design)  # fmt: skip
    alone = ipma(df[df.gender == "male"], model=model("path", target="SAT"), scale_min=0,
                 scale_max=10, design=SurveyDesign(weight="w"))  # fmt: skip
    np.testing.assert_allclose(seg[seg.gender == "male"]["importance"], alone["importance"])


def test_bootstrap_of_a_replicate_design_uses_its_replicate_weights(sat):
    """A ReplicateDesign: SEs from its replicates (scale, rscales), not a resampling.

    By hand: the model refitted with each JK1 replicate weight (the rows it keeps), the
    replicate variance ``(R - 1) / R * sum (theta_r - mean theta)^2`` of each path, and
    the interval estimate -/+ z se. The bootstrap sums the replicate moments in single
    precision (deviations from the full sample), hence rtol 1e-4.
    """
    from analysis_helpers.replicates import as_replicate

    data = sat.assign(psu=np.arange(len(sat)) // 10, w=1.0 + (np.arange(len(sat)) % 3) / 2)
    out, rep = as_replicate(data, SurveyDesign(weight="w", cluster="psu"), type="JK1")
    m = model("path")
    boot = pls_bootstrap(out, model=m, design=rep, n_boot=2, random_state=1)
    paths = boot[boot["kind"] == "path"].set_index(["from", "to"])
    reps = []
    for col in rep.replicates:
        part = out[out[col] > 0]
        reps.append(fit_pls(part, model=m, design=SurveyDesign(weight=col))
                    .path_coefficients().set_index(["from", "to"])["estimate"])  # fmt: skip
    theta = pd.concat(reps, axis=1).loc[paths.index].to_numpy()
    se = np.sqrt(rep.scale * ((theta - theta.mean(axis=1, keepdims=True)) ** 2).sum(axis=1))
    np.testing.assert_allclose(paths["se"], se, rtol=1e-4)
    z = 1.959963984540054
    np.testing.assert_allclose(paths["ci_low"], paths["estimate"] - z * se, rtol=1e-4)
    assert (boot["method"] == "replicate").all()
    assert (boot["n_boot"] == len(rep.replicates)).all()
    # the seed does not matter: the replicates are the design's
    again = pls_bootstrap(out, model=m, design=rep, n_boot=2, random_state=99)
    pd.testing.assert_frame_equal(boot, again)
