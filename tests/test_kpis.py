"""KPIs against the shared references, pingouin, scipy and hand-computed examples."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis_helpers.drivers import with_index_weights
from analysis_helpers.estimation import SurveyDesign, survey_mean
from analysis_helpers.kpis import (
    ces,
    cronbach_alpha,
    csat,
    csi,
    default_top_box,
    expectation_gap,
    flag_small_bases,
    item_distribution,
    nps,
    nps_difference,
    top_box,
    with_item_weights,
)

Z = stats.norm.ppf(0.975)
BLOCKS = {
    "IMAG": [f"imag{i}" for i in range(1, 6)],
    "EXPE": [f"expe{i}" for i in range(1, 6)],
    "QUAL": [f"qual{i}" for i in range(1, 6)],
    "VAL": [f"val{i}" for i in range(1, 5)],
    "SAT": [f"sat{i}" for i in range(1, 5)],
    "LOY": [f"loy{i}" for i in range(1, 5)],
}


@pytest.fixture(scope="module")
def sat(reference_data):
    return reference_data("plspm_satisfaction.csv")


@pytest.fixture(scope="module")
def ref(reference):
    return reference["survey"]["results"]["nps_plspm_satisfaction"]


# --------------------------------------------------------------------------------------
# NPS and top box against R survey (svydesign(id=~1, weights=~1))
# --------------------------------------------------------------------------------------
def test_nps_matches_r_survey(sat, ref, close):
    t = nps(sat, items="loy3").iloc[0]
    assert t["n"] == ref["n"]
    close(t["estimate"], ref["nps_points"])
    close(t["se"], ref["nps_se_points"])
    close(t["pct_promoters"], 100 * ref["estimate"]["promoter"])
    close(t["pct_detractors"], 100 * ref["estimate"]["detractor"])
    c = ref["counts"]
    close(t["pct_passives"], 100 * c["passives"] / ref["n"])
    close([t["ci_low"], t["ci_high"]], [t["estimate"] - Z * t["se"], t["estimate"] + Z * t["se"]])


def test_nps_by_gender_matches_svyby(sat, ref, close):
    rows = [ref["by_gender"]["table"][k] for k in ("1", "2")]
    t = nps(sat, items="loy3", by="gender")
    assert t["gender"].tolist() == [r["gender"] for r in rows]
    close(t["estimate"], [100 * r["nps_loy3"] for r in rows])
    close(t["se"], [100 * r["se"] for r in rows])


def test_nps_same_design_weights_give_same_answer(sat):
    a = nps(sat, items="loy3", by="gender")
    b = nps(sat.assign(w=1.0), items="loy3", by="gender", design=SurveyDesign(weight="w"))
    pd.testing.assert_frame_equal(a, b)


def test_top2_of_0_10_matches_r_survey(sat, ref, close):
    t = top_box(sat, items="sat1", top=default_top_box(0, 10)).iloc[0]
    close(t["estimate"], ref["estimate"]["sat1_top2"])
    close(t["se"], ref["se"]["sat1_top2"])
    p, se = t["estimate"], t["se"]
    q = stats.t.ppf(0.975, len(sat) - 1)
    eta, s = np.log(p / (1 - p)), se / (p * (1 - p))
    close([t["ci_low"], t["ci_high"]], 1 / (1 + np.exp(-np.array([eta - q * s, eta + q * s]))))
    w = top_box(sat, items="sat1", top=(9, 10), method="wald").iloc[0]
    close([w["ci_low"], w["ci_high"]], [p - Z * se, p + Z * se])


def test_nps_difference_of_independent_srs_domains(sat, close):
    by = nps(sat, items="loy3", by="gender").set_index("gender")
    d = nps_difference(sat, items="loy3", by="gender", values=("female", "male")).iloc[0]
    close(d["estimate"], by.loc["male", "estimate"] - by.loc["female", "estimate"])
    # SRS, disjoint domains: the domain means' influence sums are zero, so no covariance
    close(d["se"], np.hypot(by.loc["male", "se"], by.loc["female", "se"]))
    close(d["p_value"], 2 * stats.norm.sf(abs(d["estimate"] / d["se"])))
    assert d["item"] == "loy3"


# --------------------------------------------------------------------------------------
# NPS hand examples: Wald and adjusted Wald (Rocks 2016)
# --------------------------------------------------------------------------------------
def test_nps_wald_and_adjusted_wald_by_hand(close):
    # 10 answers: 5 promoters, 3 passives, 2 detractors
    frame = pd.DataFrame({"r": [10, 9, 9, 10, 9, 8, 7, 7, 3, 6]})
    t = nps(frame, items="r").iloc[0]
    close(t["estimate"], 30.0)
    close([t["pct_promoters"], t["pct_passives"], t["pct_detractors"]], [50, 30, 20])
    close(t["wald_low"], 100 * (0.3 - Z * np.sqrt((0.7 - 0.09) / 10)))
    pa, da = 5.75 / 13, 2.75 / 13
    adj = pa - da
    half = Z * np.sqrt((pa + da - adj**2) / 13)
    close([t["adj_wald_low"], t["adj_wald_high"]], [100 * (adj - half), 100 * (adj + half)])
    # design SE of the mean +1/0/-1 score: s / sqrt(n)
    score = np.array([1, 1, 1, 1, 1, 0, 0, 0, -1, -1])
    close(t["se"], 100 * score.std(ddof=1) / np.sqrt(10))


def test_nps_adjusted_wald_uses_kish_n_with_weights(close):
    frame = pd.DataFrame({"r": [10, 9, 7, 3, 0, 10], "w": [1.0, 2, 1, 1, 3, 1]})
    t = nps(frame, items="r", design=SurveyDesign(weight="w")).iloc[0]
    w = frame["w"]
    m = w.sum() ** 2 / (w**2).sum()
    pro = w[frame["r"] >= 9].sum() / w.sum()
    det = w[frame["r"] <= 6].sum() / w.sum()
    close(t["n_effective"], m)
    close(t["estimate"], 100 * (pro - det))
    pa, da = (pro * m + 0.75) / (m + 3), (det * m + 0.75) / (m + 3)
    close(t["adj_wald_high"], 100 * (pa - da + Z * np.sqrt((pa + da - (pa - da) ** 2) / (m + 3))))


def test_nps_validation():
    frame = pd.DataFrame({"r": [10, 11, 3]})
    with pytest.raises(
        ValueError, match="item column 'r': row 1 has value 11.0 outside the scale 0-10"
    ):
        nps(frame, items="r")
    with pytest.raises(ValueError, match="promoter_min \\(6\\) must exceed detractor_max"):
        nps(frame.iloc[[0, 2]], items="r", promoter_min=6, detractor_max=6)
    with pytest.raises(ValueError, match="nps: items must be column names"):
        nps(frame, items=[3])


# --------------------------------------------------------------------------------------
# CSAT, top box, CES
# --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def ratings():
    rng = np.random.default_rng(11)
    n = 300
    frame = pd.DataFrame(
        {
            "q1": rng.integers(1, 6, n).astype(float),
            "q2": rng.integers(1, 6, n).astype(float),
            "q3": rng.integers(1, 6, n).astype(float),
            "e1": rng.integers(1, 6, n).astype(float),
            "seg": rng.choice(["x", "y"], n),
            "w": rng.uniform(0.5, 2, n),
        }
    )
    frame.loc[::17, "q2"] = np.nan
    return frame


def test_csat_is_survey_mean(ratings):
    pd.testing.assert_frame_equal(
        csat(ratings, items=["q1", "q2"], by="seg"),
        survey_mean(ratings, items=["q1", "q2"], by="seg"),
    )


def test_top_box_share_by_hand(ratings, close):
    t = top_box(
        ratings, items="q2", top=(4, 5), by="seg", design=SurveyDesign(weight="w")
    ).set_index("seg")
    for seg, g in ratings.groupby("seg"):
        ok = g["q2"].notna()
        w = g.loc[ok, "w"]
        close(t.loc[seg, "estimate"], w[g.loc[ok, "q2"] >= 4].sum() / w.sum())
        assert t.loc[seg, "n"] == ok.sum()
    assert default_top_box(1, 5) == (4, 5) and default_top_box(0, 10) == (9, 10)
    with pytest.raises(ValueError, match="scale 1-2 is too short"):
        default_top_box(1, 2)
    with pytest.raises(ValueError, match="top must be a non-empty collection"):
        top_box(ratings, items="q1", top=())
    with pytest.raises(ValueError, match="method 'exact'"):
        top_box(ratings, items="q1", top=(5,), method="exact")


def test_ces_mean_and_easy_share(ratings, close):
    t = ces(ratings, items="e1", easy=(1, 2), by="seg")
    assert t["measure"].tolist() == ["mean", "mean", "easy_share", "easy_share"]
    x = ratings[ratings["seg"] == "x"]["e1"]
    close(t["estimate"].iloc[0], x.mean())
    close(t["estimate"].iloc[2], (x <= 2).mean())


# --------------------------------------------------------------------------------------
# CSI
# --------------------------------------------------------------------------------------
def test_csi_hand_example(close):
    frame = pd.DataFrame({"a": [5.0, 4, 3, 5], "b": [1.0, 2, 2, 3], "c": [10.0, 0, 5, 5]})
    h = pd.DataFrame(
        {
            "item": ["a", "b", "c"],
            "indicator": ["i1", "i1", "i2"],
            "area": ["A", "A", "B"],
            "scale_min": [1, 1, 0],
            "scale_max": [5, 5, 10],
            "weight_item": [3.0, 1.0, np.nan],
        }
    )
    t = csi(frame, hierarchy=h).set_index("name")
    s_a, s_b, s_c = 100 * (4.25 - 1) / 4, 100 * (2 - 1) / 4, 100 * 5 / 10
    close(t.loc["a", "estimate"], s_a)
    close(t.loc["i1", "estimate"], 0.75 * s_a + 0.25 * s_b)
    close(t.loc["i1", "evaluation"], (s_a + s_b) / 2)
    close(t.loc["index", "estimate"], 0.5 * (0.75 * s_a + 0.25 * s_b) + 0.5 * s_c)
    close(t.loc["index", "evaluation"], (s_a + s_b + s_c) / 3)
    assert t["level"].tolist() == [
        "index",
        "area",
        "area",
        "indicator",
        "indicator",
        "item",
        "item",
        "item",
    ]
    close(t.loc[["a", "b"], "weight"], [0.75, 0.25])


def test_csi_se_is_se_of_the_linear_score(ratings, close):
    # with no missing answers the index is the mean of a per-respondent linear score
    frame = ratings.dropna()
    h = pd.DataFrame(
        {
            "item": ["q1", "q2", "q3"],
            "indicator": ["i1", "i1", "i2"],
            "area": ["A", "A", "B"],
            "scale_min": 1,
            "scale_max": 5,
            "weight_area": [2.0, 2.0, 1.0],
        }
    )
    d = SurveyDesign(weight="w")
    t = csi(frame, hierarchy=h, by="seg", design=d)
    idx = t[t["level"] == "index"].set_index("seg")
    score = 100 * ((2 / 3) * (frame["q1"] + frame["q2"]) / 2 + (1 / 3) * frame["q3"] - 1) / 4
    ref = survey_mean(frame.assign(score=score), items="score", by="seg", design=d).set_index("seg")
    close(idx["estimate"], ref["estimate"])
    close(idx["se"], ref["se"])
    close(idx["n_effective"], ref["n_effective"])


def _waves_with_gaps(seed=1, n=400):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "wave": np.repeat(["a", "b", "c"], [n // 4, n // 4, n // 2]),
            "w": rng.uniform(0.5, 2, n),
            "st": rng.integers(0, 3, n),
        }
    )
    for c in "pqrs":
        frame[c] = rng.integers(1, 6, n).astype(float)
    frame.loc[frame["wave"] == "b", "q"] = np.nan  # not asked in wave b
    frame.loc[frame["wave"] == "c", "s"] = np.nan  # area B's only item not asked in c
    h = pd.DataFrame(
        {
            "item": list("pqrs"),
            "indicator": ["i1", "i1", "i2", "i3"],
            "area": ["A", "A", "A", "B"],
            "scale_min": 1,
            "scale_max": 5,
            "weight_area": [2.0, 2.0, 2.0, 1.0],
            "weight_item": [3.0, 1.0, 1.0, 1.0],
        }
    )
    return frame, h


def test_csi_wave_without_an_item_rolls_up_the_rest(close):
    # independent route: the same estimator with the unasked item left out of the
    # hierarchy gives that wave's index, SE, base and evaluation exactly
    frame, h = _waves_with_gaps()
    d = SurveyDesign(weight="w", strata="st")
    out = csi(frame, hierarchy=h, by="wave", design=d)
    for wave, gone in [("b", ["q"]), ("c", ["s"])]:
        got = out[(out["wave"] == wave) & ~out["name"].isin([*gone, "i3", "B"])]
        ref = csi(frame, hierarchy=h[~h["item"].isin(gone)], by="wave", design=d)
        ref = ref[(ref["wave"] == wave) & ~ref["name"].isin(["i3", "B"])]
        got = got.set_index("name")
        ref = ref.set_index("name").loc[got.index]
        for col in ["estimate", "se", "n", "n_effective", "evaluation"]:
            close(got[col], ref[col])
    # the gaps themselves are NaN, never 0
    t = out.set_index(["wave", "name"])
    assert np.isnan(t.loc[("b", "q"), "estimate"])
    assert np.isnan(t.loc[("c", "s"), "estimate"]) and np.isnan(t.loc[("c", "B"), "se"])
    assert np.isnan(t.loc[("c", "i3"), "evaluation"])
    # wave a answered everything: the study's weights (A 2/3, B 1/3; p 3/4, q 1/4)
    a = out[out["wave"] == "a"].set_index("name")["estimate"]
    close(a["i1"], 0.75 * a["p"] + 0.25 * a["q"])
    close(a["index"], (2 / 3) * (0.5 * a["i1"] + 0.5 * a["r"]) + (1 / 3) * a["s"])
    # hand check of wave b: i1 is p alone, so A is the mean of p and r
    b = out[out["wave"] == "b"].set_index("name")["estimate"]
    close(b["i1"], b["p"])
    close(b["index"], (2 / 3) * (0.5 * b["p"] + 0.5 * b["r"]) + (1 / 3) * b["s"])
    # wave c has no area B: the index is area A alone
    c = out[out["wave"] == "c"].set_index("name")["estimate"]
    close(c["index"], c["A"])
    # the weight column keeps the study's weights
    close(out[(out["wave"] == "c") & (out["name"] == "A")]["weight"], [2 / 3])


def test_csi_item_without_any_answer_no_longer_makes_the_index_nan(close):
    frame, h = _waves_with_gaps()
    frame["q"] = np.nan
    t = csi(frame, hierarchy=h).set_index("name")
    ref = csi(frame, hierarchy=h[h["item"] != "q"]).set_index("name")
    close(t.loc["index", ["estimate", "se"]], ref.loc["index", ["estimate", "se"]])
    assert np.isnan(t.loc["q", "estimate"])


def test_csi_item_weight_hook(ratings, close):
    h = pd.DataFrame(
        {"item": ["q1", "q3"], "indicator": "i", "area": "A", "scale_min": 1, "scale_max": 5}
    )
    derived = pd.Series({"q1": 0.2, "q3": 0.6})
    a = csi(ratings, hierarchy=h, item_weights=derived)
    b = csi(ratings, hierarchy=with_index_weights(h, derived, level="item"))
    pd.testing.assert_frame_equal(a, b)
    m = ratings[["q1", "q3"]].mean()
    close(a.loc[0, "estimate"], 100 * (0.25 * (m["q1"] - 1) + 0.75 * (m["q3"] - 1)) / 4)
    with pytest.raises(KeyError, match="no weight for item\\(s\\) 'q3'"):
        csi(ratings, hierarchy=h, item_weights={"q1": 1.0})
    with pytest.raises(KeyError, match="weights for unknown item\\(s\\) 'zz'"):
        csi(ratings, hierarchy=h, item_weights={"q1": 1.0, "q3": 1.0, "zz": 1.0})
    with pytest.warns(
        DeprecationWarning, match='with_index_weights\\(hierarchy, weights, level="item"\\)'
    ):
        old = with_item_weights(h, derived)
    pd.testing.assert_frame_equal(old, with_index_weights(h, derived, level="item"))


def test_csi_validation(ratings):
    base = pd.DataFrame(
        {
            "item": ["q1", "q2"],
            "indicator": ["i1", "i2"],
            "area": "A",
            "scale_min": 1,
            "scale_max": 5,
        }
    )
    with pytest.raises(KeyError, match="hierarchy has no column\\(s\\) \\['scale_max'\\]"):
        csi(ratings, hierarchy=base.drop(columns="scale_max"))
    with pytest.raises(ValueError, match="hierarchy lists item 'q1' twice"):
        csi(ratings, hierarchy=base.assign(item="q1"))
    with pytest.raises(ValueError, match="item 'q2' has scale 5.0-5.0"):
        csi(ratings, hierarchy=base.assign(scale_min=[1, 5]))
    with pytest.raises(ValueError, match="some but not all weights under 'i1'"):
        csi(ratings, hierarchy=base.assign(indicator="i1", weight_item=[1.0, np.nan]))
    with pytest.raises(ValueError, match="'weight_indicator' varies within indicator 'i1'"):
        csi(ratings, hierarchy=base.assign(indicator="i1", weight_indicator=[1.0, 2.0]))
    with pytest.raises(ValueError, match="indicator 'i1' sits in more than one area"):
        csi(ratings, hierarchy=base.assign(indicator="i1", area=["A", "B"]))
    with pytest.raises(ValueError, match="'weight_area': area 'A' has weight -1.0"):
        csi(ratings, hierarchy=base.assign(weight_area=-1.0))
    with pytest.raises(ValueError, match="the weights under 'index' sum to 0"):
        csi(ratings, hierarchy=base.assign(weight_area=0.0))
    bad = ratings.assign(q1=ratings["q1"].where(ratings.index != 4, 7.0))
    with pytest.raises(ValueError, match="item column 'q1': row 4 has value 7.0 outside"):
        csi(bad, hierarchy=base)
    with pytest.raises(KeyError, match="item column 'qx' is not in the data"):
        csi(ratings, hierarchy=base.assign(item=["q1", "qx"]))


# --------------------------------------------------------------------------------------
# Expectation gap
# --------------------------------------------------------------------------------------
def test_gap_unweighted_is_paired_t_test(ratings, close):
    t = expectation_gap(ratings, pairs=[("q1", "q3")]).iloc[0]
    res = stats.ttest_rel(ratings["q3"], ratings["q1"])
    d = ratings["q3"] - ratings["q1"]
    close(t["estimate"], d.mean())
    close(t["se"], d.std(ddof=1) / np.sqrt(len(d)))
    close(t["statistic"], res.statistic)
    close(t["p_value"], res.pvalue)
    assert t["df"] == len(d) - 1 and t["n"] == len(d)
    close(t["mean_satisfaction"] - t["mean_expectation"], t["estimate"])


def test_gap_with_missing_is_domain_mean_of_difference(ratings, close):
    d = SurveyDesign(weight="w")
    t = expectation_gap(ratings, pairs=[("q1", "q2")], by="seg", design=d)
    ref = survey_mean(
        ratings.assign(d=ratings["q2"] - ratings["q1"]), items="d", by="seg", design=d
    )
    close(t["estimate"], ref["estimate"])
    close(t["se"], ref["se"])
    assert t["n"].tolist() == ref["n"].tolist()


def test_gap_hand_example_with_weights(close):
    frame = pd.DataFrame({"exp": [5.0, 4, 5, 3], "sat": [4.0, 4, 2, np.nan], "w": [1.0, 1, 2, 5]})
    t = expectation_gap(frame, pairs=[("exp", "sat")], design=SurveyDesign(weight="w")).iloc[0]
    close(t["estimate"], (1 * -1 + 1 * 0 + 2 * -3) / 4)
    assert t["n"] == 3
    with pytest.raises(ValueError, match="pairs is empty"):
        expectation_gap(frame, pairs=[])
    with pytest.raises(ValueError, match="each pair must be"):
        expectation_gap(frame, pairs=[("exp", "sat", "w")])


# --------------------------------------------------------------------------------------
# Cronbach's alpha
# --------------------------------------------------------------------------------------
def test_alpha_matches_pingouin(sat, close):
    import pingouin as pg

    t = cronbach_alpha(sat, blocks=BLOCKS).set_index("block")
    for name, cols in BLOCKS.items():
        a, ci = pg.cronbach_alpha(sat[cols])
        close(t.loc[name, "alpha"], a)
        # pingouin rounds its interval to 3 decimals
        close([t.loc[name, "ci_low"], t.loc[name, "ci_high"]], ci, rtol=0, atol=5e-4 + 1e-12)


def test_standardised_alpha_matches_plspm(sat, close):
    path = (
        Path(__file__).resolve().parent
        / "reference"
        / "plspm_r_outputs"
        / "satisfaction_unidim.csv"
    )
    ref = pd.read_csv(path, index_col=0)
    t = cronbach_alpha(sat, blocks=BLOCKS).set_index("block")
    close(t.loc[ref.index, "alpha_standardized"], ref["cronbach_alpha"])


def test_alpha_weights(sat, close):
    cols = BLOCKS["SAT"]
    a = cronbach_alpha(sat, items=cols)
    b = cronbach_alpha(sat.assign(w=1.0), items=cols, design=SurveyDesign(weight="w"))
    close(
        a[["alpha", "alpha_standardized", "ci_low"]], b[["alpha", "alpha_standardized", "ci_low"]]
    )
    rng = np.random.default_rng(3)
    w = rng.uniform(0.2, 4, len(sat))
    c = cronbach_alpha(sat.assign(w=w), items=cols, design=SurveyDesign(weight="w"))
    d = cronbach_alpha(sat.assign(w=10 * w), items=cols, design=SurveyDesign(weight="w"))
    close(c["alpha"], d["alpha"])
    assert abs(c["alpha"].iloc[0] - a["alpha"].iloc[0]) > 1e-6
    close(c["n_effective"], w.sum() ** 2 / (w**2).sum())


def test_alpha_validation(sat):
    with pytest.raises(ValueError, match="block 'items' needs at least two items"):
        cronbach_alpha(sat, items=["sat1"])
    with pytest.raises(ValueError, match="give items= \\(one set\\) or blocks="):
        cronbach_alpha(sat, items=["sat1", "sat2"], blocks={"a": ["sat1", "sat2"]})
    with pytest.raises(ValueError, match="reverse names \\['loy1'\\], which are in no block"):
        cronbach_alpha(sat, items=["sat1", "sat2"], reverse=["loy1"])
    with pytest.raises(ValueError, match="nan_policy='drop'"):
        cronbach_alpha(sat, items=["sat1", "sat2"], nan_policy="drop")
    with pytest.raises(KeyError, match="item column 'sat9' is not in the data"):
        cronbach_alpha(sat, items=["sat1", "sat9"])


# --------------------------------------------------------------------------------------
# Small bases, distributions
# --------------------------------------------------------------------------------------
def test_flag_small_bases():
    t = pd.DataFrame(
        {
            "g": ["a", "b", "c"],
            "n": [5, 20, 40],
            "estimate": [1.0, 2, 3],
            "se": [0.1, 0.2, 0.3],
            "ci_low": [0.0, 1, 2],
            "ci_high": [2.0, 3, 4],
        }
    )
    out = flag_small_bases(t)
    assert out["flag"].tolist() == ["suppressed", "low base", ""]
    assert out.loc[0, ["estimate", "se", "ci_low", "ci_high"]].isna().all()
    assert out.loc[1, "estimate"] == 2.0 and out.loc[0, "n"] == 5
    assert "flag" not in t.columns and t.loc[0, "estimate"] == 1.0
    with pytest.raises(KeyError, match="base column 'n_effective' is not in the table"):
        flag_small_bases(t, base="n_effective")
    with pytest.raises(ValueError, match="suppress_below \\(50\\) must not exceed min_base"):
        flag_small_bases(t, suppress_below=50)
    with pytest.raises(KeyError, match="value column\\(s\\) \\['p'\\]"):
        flag_small_bases(t, value_cols=["p"])


def test_item_distribution(ratings, close):
    d = item_distribution(
        ratings,
        items=["q1", "q2"],
        by="seg",
        design=SurveyDesign(weight="w"),
        codes=[1, 2, 3, 4, 5],
    )
    close(d.groupby(["seg", "item"])["share"].sum(), np.ones(4))
    sub = d[(d["seg"] == "x") & (d["item"] == "q2")]
    x = ratings[(ratings["seg"] == "x") & ratings["q2"].notna()]
    assert sub["count"].tolist() == [int((x["q2"] == c).sum()) for c in range(1, 6)]
    close(sub["share"], [x.loc[x["q2"] == c, "w"].sum() / x["w"].sum() for c in range(1, 6)])
    assert (sub["n"] == len(x)).all()
    with pytest.raises(ValueError, match="row 0 has value 1.0, not one of the codes"):
        item_distribution(ratings.assign(q1=1.0), items="q1", codes=[2, 3])


def test_share_of_zero_or_one_gets_a_clopper_pearson_interval():
    """A cell where nobody (or everybody) is in the top box has SE 0; its interval is the
    exact binomial bound on the effective n, not the point 0-0."""
    data = pd.DataFrame({"q": [1, 2, 3, 2, 1, 3, 2, 1, 2, 3], "g": ["a"] * 5 + ["b"] * 5})
    data.loc[5:, "q"] = 5
    t = top_box(data, items="q", top=(4, 5), by="g").set_index("g")
    assert t.loc["a", "estimate"] == 0 and t.loc["a", "ci_low"] == 0
    assert t.loc["a", "ci_high"] == pytest.approx(1 - 0.025 ** (1 / 5))  # 0.5218
    assert t.loc["a", "ci_high"] == pytest.approx(stats.beta.ppf(0.975, 1, 5))
    assert t.loc["b", "estimate"] == 1 and t.loc["b", "ci_high"] == 1
    assert t.loc["b", "ci_low"] == pytest.approx(stats.beta.ppf(0.025, 5, 1))


def test_alpha_reverse_keys_items(sat, close):
    """A reverse-worded item keyed back gives the alpha of the item as if asked forward:
    pingouin on 11 - x (the 1-10 scale reversed) is the reference."""
    import pingouin as pg

    cols = ["sat1", "sat2", "sat3", "sat4"]
    flipped = sat.assign(sat4=11 - sat["sat4"])
    t = cronbach_alpha(flipped, items=cols, reverse=["sat4"]).iloc[0]
    ref_alpha, ref_ci = pg.cronbach_alpha(sat[cols])
    close(t["alpha"], ref_alpha)
    close([round(t["ci_low"], 3), round(t["ci_high"], 3)], ref_ci)
    # not keyed back, the flipped item pulls alpha down
    assert cronbach_alpha(flipped, items=cols).iloc[0]["alpha"] < ref_alpha - 0.2
    blocks = cronbach_alpha(flipped, blocks={"SAT": cols, "LOY": ["loy1", "loy2"]},
                            reverse=["sat4"]).set_index("block")  # fmt: skip
    close(blocks.loc["SAT", "alpha"], ref_alpha)


def test_nps_several_items_stack_with_an_item_column(sat):
    both = nps(sat, items=["loy3", "sat1"], by="gender")
    assert both.columns[:2].tolist() == ["gender", "item"]
    for item in ("loy3", "sat1"):
        one = nps(sat, items=item, by="gender").reset_index(drop=True)
        part = both[both["item"] == item].reset_index(drop=True)
        pd.testing.assert_frame_equal(part, one)
    d = nps_difference(sat, items=["loy3", "sat1"], by="gender", values=("female", "male"))
    assert d["item"].tolist() == ["loy3", "sat1"]
    assert d.loc[0, "estimate"] == pytest.approx(
        nps_difference(sat, items="loy3", by="gender", values=("female", "male"))["estimate"][0]
    )
