"""The report tables of a PLS model (pls.summary) on the ECSI bank data: each checked
against an independent route (the fit's own tables, the design layer, the IPMA, the CSI
roll-up) and every validation message."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.multitest import multipletests

from analysis_helpers.estimation import SurveyDesign, domain_difference, survey_mean
from analysis_helpers.kpis import csi
from analysis_helpers.pls import PathModel, fit_pls, index_scores, ipma, pls_bootstrap
from analysis_helpers.pls.summary import (
    THRESHOLDS,
    derived_area_weights,
    estimate_model,
    htmt_summary,
    index_comparison,
    min_respondents,
    model_problem,
    path_summary,
    quality_criteria,
    rollup_comparison,
)

REF = Path(__file__).parent / "reference"
CASE = json.loads((REF / "expected.json").read_text())["pls_path_model"]["results"][
    "satisfaction_plspm"
]
BLOCKS = CASE["model"]["blocks"]
PATHS = [tuple(p.split(" -> ")) for p in CASE["model"]["structure"]]
MODEL = PathModel(blocks=BLOCKS, paths=PATHS, target="SAT")
RANGE = {"scale_min": 0, "scale_max": 10}


@pytest.fixture(scope="module")
def sat() -> pd.DataFrame:
    d = pd.read_csv(REF / "data" / "plspm_satisfaction.csv")
    rng = np.random.default_rng(3)
    d["w"] = rng.uniform(0.5, 2.0, len(d))
    d["wave"] = np.where(np.arange(len(d)) < 125, "w1", "w2")
    return d


@pytest.fixture(scope="module")
def fit(sat):
    return fit_pls(sat, model=MODEL, design=SurveyDesign(weight="w"))


@pytest.fixture(scope="module")
def boot(sat):
    return pls_bootstrap(sat, model=MODEL, design=SurveyDesign(weight="w"), n_boot=60,
                         random_state=1, scale_min=0, scale_max=10)  # fmt: skip


def _hierarchy() -> pd.DataFrame:
    """The bank model's four driver blocks as the areas of an index (0-10 items)."""
    rows = [
        {
            "item": i,
            "area": b,
            "area_label": f"Area {b}",
            "indicator": b,
            "scale_min": 0,
            "scale_max": 10,
            "weight_indicator": np.nan,
            "weight_area": np.nan,
        }  # fmt: skip
        for b in ("IMAG", "EXPE", "QUAL", "VAL")
        for i in BLOCKS[b]
    ]
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------
def test_min_respondents_is_ten_per_arrow_with_a_floor():
    assert min_respondents(MODEL) == 40  # SAT has 4 incoming paths
    assert min_respondents(MODEL, floor=50) == 50
    formative = PathModel(blocks={**BLOCKS, "QUAL": BLOCKS["QUAL"]}, paths=PATHS,
                          modes={"QUAL": "B"})  # fmt: skip
    assert min_respondents(formative, floor=0) == 50  # 5 formative items


def test_model_problem_says_why_in_one_sentence(sat):
    assert model_problem(sat, model=MODEL) is None
    assert "states no structural model" in model_problem(sat, model=None)
    msg = model_problem(sat.drop(columns="qual3"), model=MODEL)
    assert "qual3" in msg and "construct QUAL" in msg
    msg = model_problem(sat.head(20), model=MODEL)
    assert msg.startswith("Only 20 respondents") and "at least 40" in msg
    blank = sat.copy()
    blank.loc[blank.index[:240], MODEL.items] = np.nan  # 10 answer anything
    assert model_problem(blank, model=MODEL).startswith("Only 10 respondents")


def test_path_summary_matches_the_fit_and_the_bootstrap(fit, boot):
    t = path_summary(boot, model=MODEL, labels={"SAT": "Satisfaction"})
    pc = fit.path_coefficients()
    assert list(zip(t["from"], t["to"], strict=True)) == PATHS
    np.testing.assert_allclose(t["estimate"], pc["estimate"], atol=1e-12)
    b = boot[boot["kind"] == "path"]
    np.testing.assert_allclose(t["ci_low"], b["ci_low"])
    assert (t["significant"] == ((t["ci_low"] > 0) | (t["ci_high"] < 0))).all()
    assert t.loc[t["to"] == "SAT", "to_label"].eq("Satisfaction").all()
    assert t.loc[t["from"] == "IMAG", "from_label"].eq("IMAG").all()
    into = t[t["to"] == "SAT"].sort_values("rank")
    assert list(into["rank"]) == [1, 2, 3, 4]
    assert into["estimate"].abs().is_monotonic_decreasing
    with pytest.raises(ValueError, match="the bootstrap table has 10 paths; the model has 1"):
        path_summary(boot, model=PathModel(blocks={"a": ["x"], "b": ["y"]}, paths=[("a", "b")]))


def test_quality_criteria_apply_the_usual_thresholds(fit):
    q = quality_criteria(fit, labels={"LOY": "Loyalty"})
    rel = fit.reliability().set_index("block")
    assert list(q["block"]) == list(BLOCKS)  # every block has several items
    for r in q.itertuples():
        for col in ("alpha", "rho_a", "rho_c", "ave"):
            assert getattr(r, col) == pytest.approx(rel.loc[r.block, col])
        assert r.reliable == (min(r.alpha, r.rho_a, r.rho_c) >= 0.7)
        assert r.convergent == (r.ave >= 0.5)
        assert ("AVE below 0.5" in r.shortfall) == (not r.convergent)
    assert q.set_index("block").loc["LOY", "label"] == "Loyalty"
    single = fit_pls(pd.DataFrame({"x": [1.0, 2, 3, 5], "y": [2.0, 1, 4, 4]}),
                     model=PathModel(blocks={"a": ["x"], "b": ["y"]}, paths=[("a", "b")]))  # fmt: skip
    assert quality_criteria(single).empty


def test_htmt_summary_carries_the_bootstrap_interval(fit, boot):
    h = htmt_summary(fit, boot)
    raw = fit.htmt()
    np.testing.assert_allclose(h["htmt"], raw["htmt"])
    b = boot[boot["kind"] == "htmt"].set_index(["from", "to"])
    first = h.iloc[0]
    assert first["ci_high"] == b.loc[(first["block_1"], first["block_2"]), "ci_high"]
    assert (h["distinct"] == ((h["htmt"] < 0.85) & (h["ci_high"] < 0.85))).all()
    no_boot = htmt_summary(fit)
    assert no_boot["ci_high"].isna().all()
    assert (no_boot["distinct"] == (no_boot["htmt"] < THRESHOLDS["htmt"])).all()


def test_index_comparison_against_the_rest_is_a_domain_difference(sat, fit):
    t = index_comparison(sat, fit=fit, scale_min=0, scale_max=10, by="gender", against="rest")
    sc = index_scores(sat, fit=fit, scale_min=0, scale_max=10)["SAT"]
    frame = pd.DataFrame({"s": sc, "g": sat["gender"], "w": sat["w"]})
    d = domain_difference(frame, items="s", by="g", values=("female", "male"),
                          design=SurveyDesign(weight="w")).iloc[0]  # fmt: skip
    male = t.set_index("group").loc["male"]
    assert male["difference"] == pytest.approx(d["estimate"], abs=1e-12)
    assert male["se"] == pytest.approx(d["se"], rel=1e-12)
    wmean = np.average(sc[sat["gender"] == "male"], weights=sat["w"][sat["gender"] == "male"])
    assert male["estimate"] == pytest.approx(wmean)
    assert male["reference"] == "rest"
    # two groups: each against the other, mirrored
    female = t.set_index("group").loc["female"]
    assert female["difference"] == pytest.approx(-male["difference"])
    assert list(t["p_adjusted"]) == pytest.approx(
        list(multipletests(t["p_value"], method="holm")[1])
    )


def test_index_comparison_wave_on_wave(sat, fit):
    t = index_comparison(sat, fit=fit, scale_min=0, scale_max=10, by="wave",
                         order=["w1", "w2"], against="previous", correction="none")  # fmt: skip
    assert list(t["group"]) == ["w1", "w2"]
    assert t["difference"].isna().iloc[0] and t["reference"].iloc[0] == ""
    sc = index_scores(sat, fit=fit, scale_min=0, scale_max=10)["SAT"]
    m = survey_mean(pd.DataFrame({"s": sc, "g": sat["wave"], "w": sat["w"]}), items=["s"],
                    by=["g"], design=SurveyDesign(weight="w")).set_index("g")["estimate"]  # fmt: skip
    assert t["difference"].iloc[1] == pytest.approx(m["w2"] - m["w1"])
    assert t["p_adjusted"].iloc[1] == t["p_value"].iloc[1]
    assert t["significant"].iloc[1] == (t["p_value"].iloc[1] < 0.05)


def test_index_comparison_validation(sat, fit):
    kw = {"fit": fit, "scale_min": 0, "scale_max": 10}
    with pytest.raises(ValueError, match="against='next'"):
        index_comparison(sat, by="wave", against="next", **kw)
    with pytest.raises(ValueError, match="correction 'sidak'"):
        index_comparison(sat, by="wave", correction="sidak", **kw)
    with pytest.raises(KeyError, match="block 'XYZ'"):
        index_comparison(sat, by="wave", block="XYZ", **kw)
    with pytest.raises(KeyError, match="by column 'region'"):
        index_comparison(sat, by="region", **kw)
    with pytest.raises(ValueError, match="has 1 group"):
        index_comparison(sat, by="wave", order=["w1", "w9"], **kw)


def test_derived_area_weights_are_normalised_ipma_importances(sat, fit):
    w = derived_area_weights(fit, hierarchy=_hierarchy(), **RANGE)
    imap = ipma(sat, model=MODEL, scale_min=0, scale_max=10,
                design=SurveyDesign(weight="w")).set_index("block")  # fmt: skip
    # an area that is a whole block: its importance is the block's (index weights sum to 1)
    expect = imap.loc[["IMAG", "EXPE", "QUAL", "VAL"], "importance"]
    np.testing.assert_allclose(w["importance"], expect.to_numpy(), rtol=1e-10)
    pos = expect.clip(lower=0)
    np.testing.assert_allclose(w["weight_derived"], (pos / pos.sum()).to_numpy(), rtol=1e-10)
    assert w["weight_study"].tolist() == [0.25] * 4
    assert w["weight_derived"].sum() == pytest.approx(1.0)
    np.testing.assert_allclose(w["difference"], w["weight_derived"] - 0.25)
    # stated study weights are normalised; an area outside the model gets no weight
    h = _hierarchy().assign(weight_area=lambda d: d["area"].map({"IMAG": 1, "EXPE": 1,
                                                                 "QUAL": 2, "VAL": 4}))  # fmt: skip
    extra = pd.DataFrame([{**h.iloc[0].to_dict(), "item": "other", "area": "X",
                           "area_label": "X", "weight_area": 0}])  # fmt: skip
    w2 = derived_area_weights(fit, hierarchy=pd.concat([h, extra], ignore_index=True), **RANGE)
    assert w2.set_index("area").loc["VAL", "weight_study"] == pytest.approx(0.5)
    assert np.isnan(w2.set_index("area").loc["X", "weight_derived"])
    with pytest.raises(KeyError, match="lacks column"):
        derived_area_weights(fit, hierarchy=_hierarchy().drop(columns="weight_area"), **RANGE)
    with pytest.raises(KeyError, match="target 'NOPE'"):
        derived_area_weights(fit, hierarchy=_hierarchy(), target="NOPE", **RANGE)


def test_rollup_comparison_is_the_csi_with_each_set_of_weights(sat, fit):
    h = _hierarchy()
    w = derived_area_weights(fit, hierarchy=h, **RANGE)
    t = rollup_comparison(sat, hierarchy=h, weights=w, design=SurveyDesign(weight="w"))
    assert list(t["weights"]) == ["study", "model"]
    direct = csi(sat, hierarchy=h, design=SurveyDesign(weight="w"))
    assert t["estimate"].iloc[0] == pytest.approx(
        direct.loc[direct["level"] == "index", "estimate"].iloc[0]
    )
    # by hand: the model's CSI is the derived-weight mean of the area indices
    areas = direct[direct["level"] == "area"].set_index("name")["estimate"]
    by_hand = (w.set_index("area")["weight_derived"] * areas).sum()
    assert t["estimate"].iloc[1] == pytest.approx(by_hand)
    with pytest.raises(ValueError, match="no area has a positive derived weight"):
        rollup_comparison(sat, hierarchy=h, weights=w.assign(weight_derived=0.0))


def test_estimate_model_turns_failures_into_sentences(sat):
    run = estimate_model(sat, model=MODEL, design=SurveyDesign(weight="w"), scale_min=0,
                         scale_max=10, n_boot=20, random_state=1)  # fmt: skip
    assert run.problem is None and run.fit.n == 250
    assert set(run.boot["kind"]) >= {"path", "index", "htmt"}
    assert "no structural model" in estimate_model(sat, model=None, design=None, scale_min=None,
                                                   scale_max=None).problem  # fmt: skip
    flat = sat.assign(qual3=5.0)
    run = estimate_model(flat, model=MODEL, design=None, scale_min=0, scale_max=10, n_boot=5)
    assert run.fit is None and run.problem.startswith("The model could not be estimated")
    assert "qual3" in run.problem
