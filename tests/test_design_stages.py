"""Multi-stage designs, lonely-PSU rules and fpc without weights against R ``survey``.

Every reference is an entry of ``tests/reference/r_survey_designs.json`` (R 4.2.2, survey
4.1.1), which names the R call that produced it (``tests/reference/r/survey_designs.R``).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis_helpers.estimation import (
    SurveyDesign,
    domain_difference,
    survey_chisq,
    survey_glm,
    survey_mean,
    survey_proportion,
    survey_ratio,
    survey_total,
)

REFERENCE = Path(__file__).resolve().parent / "reference"
ENTRIES = json.loads((REFERENCE / "r_survey_designs.json").read_text(encoding="utf-8"))["entries"]

TWO_STAGE = SurveyDesign(cluster=["dnum", "snum"], fpc=["fpc1", "fpc2"])
TWO_STAGE_PW = SurveyDesign(weight="pw", cluster=["dnum", "snum"], fpc=["fpc1", "fpc2"])
TWO_STAGE_NOFPC = SurveyDesign(weight="pw", cluster=["dnum", "snum"])


def entry(key: str) -> dict:
    return ENTRIES[key]["values"]


@pytest.fixture(scope="module")
def clus2(reference_data):
    return reference_data("survey_apiclus2.csv")


@pytest.fixture(scope="module")
def strat(reference_data):
    return reference_data("survey_apistrat.csv")


@pytest.fixture(scope="module")
def clus2_lonely(clus2):
    # setup of the apiclus2_lonely_stage2_* entries: district d0 keeps one school
    k2 = clus2.groupby("dnum").size()
    n2 = clus2.groupby("dnum")["fpc2"].max()
    d0 = int(k2.index[(n2 > k2).to_numpy()][0])
    keep = clus2.loc[clus2.dnum == d0, "snum"].min()
    r = entry("apiclus2_lonely_stage2_remove.svymean_api00")
    assert (d0, keep) == (r["district"], r["kept_snum"])
    out = clus2[(clus2.dnum != d0) | (clus2.snum == keep)].reset_index(drop=True)
    assert len(out) == r["n"]
    return out


@pytest.fixture(scope="module")
def strat_lonely(strat):
    h = strat.loc[strat.stype == "H", "snum"].min()
    return strat[(strat.stype != "H") | (strat.snum == h)].reset_index(drop=True)


# --------------------------------------------------------------------------------------
# two stages: svydesign(id=~dnum+snum, fpc=~fpc1+fpc2, data=apiclus2)
# --------------------------------------------------------------------------------------
def test_two_stage_weights_derived_from_fpc(clus2, close):
    r = entry("apiclus2.design")
    prep = TWO_STAGE.prepare(clus2)
    close(prep.w.sum(), r["sum_weights"])
    close(prep.w, clus2["pw"])  # R: weights(D) equal pw
    assert prep.degf == r["df"] and len(prep.stages) == 1


@pytest.mark.parametrize(
    "design,key",
    [
        (TWO_STAGE, "apiclus2"),
        (TWO_STAGE_PW, "apiclus2_pw"),
        (TWO_STAGE_NOFPC, "apiclus2_nofpc"),
    ],
)
def test_two_stage_mean_and_total(clus2, design, key, close):
    r = entry(f"{key}.svymean_api00")
    t = survey_mean(clus2, items="api00", design=design)
    close(t["estimate"], r["estimate"]["api00"])
    close(t["se"], r["se"]["api00"])
    close(
        t[["ci_low", "ci_high"]].iloc[0],
        [r["ci_normal"]["lower"]["api00"], r["ci_normal"]["upper"]["api00"]],
    )
    r = entry(f"{key}.svytotal_enroll")
    t = survey_total(clus2, items="enroll", design=design)
    close(t["estimate"], r["estimate"]["enroll"])
    close(t["se"], r["se"]["enroll"])


def test_two_stage_two_means_and_na(clus2, close):
    r = entry("apiclus2.svymean_api00_api99")
    t = survey_mean(clus2, items=["api00", "api99"], design=TWO_STAGE)
    close(t["estimate"], [r["estimate"]["api00"], r["estimate"]["api99"]])
    close(t["se"], [r["se"]["api00"], r["se"]["api99"]])
    r = entry("apiclus2.svymean_enroll")
    t = survey_mean(clus2, items="enroll", design=TWO_STAGE)
    close(t["estimate"], r["estimate"]["enroll"])
    close(t["se"], r["se"]["enroll"])


def test_two_stage_shares(clus2, close):
    r = entry("apiclus2.svymean_sch.wide")
    t = survey_proportion(clus2, items="sch.wide", design=TWO_STAGE)
    close(t["estimate"], [r["estimate"]["sch.wideNo"], r["estimate"]["sch.wideYes"]])
    close(t["se"], [r["se"]["sch.wideNo"], r["se"]["sch.wideYes"]])
    assert (t["df"] == r["df"]).all()


def test_two_stage_ratio(clus2, close):
    r = entry("apiclus2.svyratio_api.stu_enroll")
    t = survey_ratio(clus2, numerator="api.stu", denominator="enroll", design=TWO_STAGE)
    close(t["estimate"], r["estimate"])
    close(t["se"], r["se"])


def test_two_stage_by_domain(clus2, close):
    r = entry("apiclus2.svyby_api00_by_stype")
    t = survey_mean(clus2, items="api00", by="stype", design=TWO_STAGE)
    assert t["stype"].tolist() == ["E", "H", "M"]
    close(t["estimate"], [r["estimate"][k] for k in "EHM"])
    close(t["se"], [r["se"][k] for k in "EHM"])
    r = entry("apiclus2.svyby_sch.wide_by_stype")
    t = survey_proportion(clus2, items="sch.wide", by="stype", design=TWO_STAGE)
    yes = t[t["category"] == "Yes"]
    close(yes["estimate"], [row["sch.wideYes"] for row in r["table"]])
    close(yes["se"], [row["se.sch.wideYes"] for row in r["table"]])


def test_two_stage_domain_difference(clus2, close):
    r = entry("apiclus2.domain_diff_api00_sch.wide_Yes_minus_No")
    t = domain_difference(
        clus2, items="api00", by="sch.wide", values=("No", "Yes"), design=TWO_STAGE
    )
    close(t["estimate"], r["estimate"]["contrast"])
    close(t["se"], r["se"]["contrast"])


def test_two_stage_regression(clus2, close):
    r = entry("apiclus2.svyglm_api00")
    t = survey_glm(clus2, outcome="api00", drivers=["ell", "meals", "mobility"], design=TWO_STAGE)
    names = ["(Intercept)", "ell", "meals", "mobility"]
    close(t["estimate"], [r["estimate"][k] for k in names])
    close(t["se"], [r["se"][k] for k in names])
    assert (t["df"] == r["df_residual"]).all()


@pytest.mark.parametrize("statistic", ["F", "Chisq"])
def test_two_stage_chisq(clus2, statistic, close):
    r = entry(f"apiclus2.svychisq_{statistic}")
    t = survey_chisq(clus2, row="sch.wide", col="stype", design=TWO_STAGE, statistic=statistic)
    close(t["statistic"], r["statistic"]["F" if statistic == "F" else "X-squared"])
    close(t["p_value"], r["p_value"])


# --------------------------------------------------------------------------------------
# lonely PSUs
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("rule", ["adjust", "average", "remove"])
def test_lonely_stratum_rules(strat_lonely, rule, close):
    d = SurveyDesign(weight="pw", strata="stype", lonely_psu=rule)
    r = entry(f"apistrat_lonely_{rule}.svymean_api00")
    t = survey_mean(strat_lonely, items="api00", design=d)
    close(t["estimate"], r["estimate"]["api00"])
    close(t["se"], r["se"]["api00"])
    r = entry(f"apistrat_lonely_{rule}.svytotal_enroll")
    t = survey_total(strat_lonely, items="enroll", design=d)
    if rule != "adjust":
        close(t["se"], r["se"]["enroll"])
    else:
        # survey 4.1 (the reference) leaves the lonely PSU total t_H uncentred; survey >= 4.2,
        # and this package, centre it at the mean of all PSU totals: the variances differ by
        # exactly t_H^2 - (t_H - T / n_PSU)^2
        y = strat_lonely["enroll"].to_numpy(float)
        zt = np.where(np.isnan(y), 0.0, strat_lonely["pw"].to_numpy() * y)
        t_h = zt[(strat_lonely["stype"] == "H").to_numpy()].sum()
        centred = t_h - zt.sum() / len(strat_lonely)
        close(r["se"]["enroll"] ** 2 - t["se"].iloc[0] ** 2, t_h**2 - centred**2)
    r = entry(f"apistrat_lonely_{rule}.svyby_api00_by_sch.wide")
    t = survey_mean(strat_lonely, items="api00", by="sch.wide", design=d)
    close(t["estimate"], [r["estimate"]["No"], r["estimate"]["Yes"]])
    close(t["se"], [r["se"]["No"], r["se"]["Yes"]])


def test_lonely_stratum_fails_with_message(strat_lonely):
    assert "Stratum (H) has only one PSU" in entry("apistrat_lonely_fail.svymean_api00")["error"]
    with pytest.raises(ValueError, match="stratum 'H' of column 'stype' has only one PSU"):
        survey_mean(strat_lonely, items="api00", design=SurveyDesign(weight="pw", strata="stype"))


@pytest.mark.parametrize("rule", ["fail", "adjust", "average", "remove"])
def test_certainty_districts_are_not_lonely(clus2, rule, close):
    # every single-school district of apiclus2 has fpc2 = 1: no option changes anything
    r = entry(f"apiclus2.lonely_option_{rule}.svymean_api00")
    d = SurveyDesign(cluster=["dnum", "snum"], fpc=["fpc1", "fpc2"], lonely_psu=rule)
    t = survey_mean(clus2, items="api00", design=d)
    close(t["se"], r["se"]["api00"])


@pytest.mark.parametrize("rule", ["adjust", "remove"])
def test_lonely_unit_at_stage_two(clus2_lonely, rule, close):
    d = SurveyDesign(cluster=["dnum", "snum"], fpc=["fpc1", "fpc2"], lonely_psu=rule)
    prep = d.prepare(clus2_lonely)
    lonely = (clus2_lonely["dnum"] == 200).to_numpy()
    f1 = 40 / 757  # first-stage sampling fraction
    f2 = 1 / clus2_lonely.loc[lonely, "fpc2"].iloc[0]
    for stat, item, fn in (("svymean", "api00", survey_mean), ("svytotal", "enroll", survey_total)):
        r = entry(f"apiclus2_lonely_stage2_{rule}.{stat}_{item}")
        t = fn(clus2_lonely, items=item, design=d)
        close(t["estimate"], r["estimate"][item])
        if rule == "remove":
            close(t["se"], r["se"][item])
            continue
        # 'adjust' at stage 2: survey 4.1 (the reference) adds the lonely school's
        # uncentred total, (1 - f2) f1 t^2; survey >= 4.2 centres it at the mean of its
        # district's schools (itself), adding nothing - as here (and as 'remove')
        y = clus2_lonely[item].to_numpy(float)
        ok = ~np.isnan(y)
        w = prep.w
        if stat == "svymean":
            m = (w * y)[ok].sum() / w[ok].sum()
            z = np.where(ok, w * (y - m) / w[ok].sum(), 0.0)
        else:
            z = np.where(ok, w * y, 0.0)
        t_u = z[lonely].sum()
        close(r["se"][item] ** 2 - t["se"].iloc[0] ** 2, (1 - f2) * f1 * t_u**2)


def test_lonely_unit_at_stage_two_refused(clus2_lonely):
    assert "only one PSU at stage 2" in entry("apiclus2_lonely_stage2_fail.svymean_api00")["error"]
    assert entry("apiclus2_lonely_stage2_average.svymean_api00")["se"]["api00"] is None  # R: NaN
    msg = (
        r"survey_mean: cluster column 'snum' \(stage 2\): dnum 200 has only one sampled snum, "
        r"so its stage-2 variance cannot be estimated"
    )
    with pytest.raises(ValueError, match=msg + "; set data.design.lonely_psu"):
        survey_mean(clus2_lonely, items="api00", design=TWO_STAGE)
    with pytest.raises(ValueError, match=msg + r" \(R's 'average' gives NaN here\)"):
        d = SurveyDesign(cluster=["dnum", "snum"], fpc=["fpc1", "fpc2"], lonely_psu="average")
        survey_mean(clus2_lonely, items="api00", design=d)


# --------------------------------------------------------------------------------------
# fpc without weights: R derives N/n
# --------------------------------------------------------------------------------------
def test_fpc_without_weights_derives_them(strat, reference_data, close):
    r = entry("apistrat_fpc_noweights.design")
    d = SurveyDesign(strata="stype", fpc="fpc")
    prep = d.prepare(strat)
    close(prep.w.sum(), r["sum_weights"])
    for s, w in r["weights_by_stype"].items():
        close(prep.w[(strat.stype == s).to_numpy()], w)
    for stat, item, fn in (
        ("svytotal", "enroll", survey_total),
        ("svymean", "api00", survey_mean),
        ("svytotal", "api.stu", survey_total),
    ):
        r = entry(f"apistrat_fpc_noweights.{stat}_{item}")
        t = fn(strat, items=item, design=d)
        close(t["estimate"], r["estimate"][item])
        close(t["se"], r["se"][item])
    # fpc as the sampling fraction n_h / N_h
    frame = strat.assign(fpc_rate=strat.groupby("stype")["fpc"].transform("size") / strat["fpc"])
    r = entry("apistrat_fpc_rate_noweights.svytotal_enroll")
    t = survey_total(frame, items="enroll", design=SurveyDesign(strata="stype", fpc="fpc_rate"))
    close(t["estimate"], r["estimate"]["enroll"])
    close(t["se"], r["se"]["enroll"])
    clus1 = reference_data("survey_apiclus1.csv")
    d1 = SurveyDesign(cluster="dnum", fpc="fpc")
    r = entry("apiclus1_fpc_noweights.design")
    close(d1.prepare(clus1).w, r["weights"])
    for stat, item, fn in (("svytotal", "enroll", survey_total), ("svymean", "api00", survey_mean)):
        r = entry(f"apiclus1_fpc_noweights.{stat}_{item}")
        t = fn(clus1, items=item, design=d1)
        close(t["estimate"], r["estimate"][item])
        close(t["se"], r["se"][item])


def test_weights_cannot_come_from_a_partial_fpc(clus2):
    with pytest.raises(
        ValueError,
        match=r"survey_mean: no weight column, and the weights cannot be derived from the fpc: "
        r"2 sampling stages but 1 fpc column\(s\) \['fpc1'\]",
    ):
        survey_mean(clus2, items="api00", design=SurveyDesign(cluster=["dnum", "snum"], fpc="fpc1"))


def test_stage_validation_messages(clus2):
    with pytest.raises(ValueError, match=r"2 fpc columns \['fpc1', 'fpc2'\] but 1 sampling stage"):
        SurveyDesign(cluster="dnum", fpc=["fpc1", "fpc2"]).validate(clus2)
    bad = clus2.copy()
    bad.loc[3, "fpc2"] = 99
    with pytest.raises(
        ValueError, match=r"fpc column 'fpc2' varies within dnum \d+: row 3 has fpc 99"
    ):
        TWO_STAGE.validate(bad)
    bad = clus2.copy()
    bad["fpc2"] = 1
    i = int(np.flatnonzero(bad.groupby("dnum")["snum"].transform("size") > 1)[0])
    with pytest.raises(
        ValueError,
        match=rf"row {i} has population size 1.0 below the \d sampled snum units of dnum",
    ):
        TWO_STAGE.validate(bad)
    with pytest.raises(TypeError, match="cluster must be a column name or a list of column names"):
        SurveyDesign(cluster=[])
    bad = clus2.copy()
    bad.loc[5, "snum"] = np.nan
    with pytest.raises(ValueError, match="cluster column 'snum': row 5 has a missing cluster"):
        TWO_STAGE.validate(bad)


def test_multistage_roles_and_one_stage_equivalence(clus2, close):
    assert TWO_STAGE.roles() == {
        "cluster": "dnum",
        "cluster2": "snum",
        "fpc": "fpc1",
        "fpc2": "fpc2",
    }
    assert SurveyDesign(cluster=["dnum"]).cluster == "dnum"
    # a second stage of single respondents adds the within-PSU variance only with fpc
    one = survey_mean(clus2, items="api00", design=SurveyDesign(weight="pw", cluster="dnum"))
    two = survey_mean(clus2, items="api00", design=TWO_STAGE_NOFPC)
    close(one["se"], two["se"])


def test_vcov_equals_group_variance(clus2, close):
    prep = TWO_STAGE.prepare(clus2)
    z = pd.get_dummies(clus2["stype"]).to_numpy(float) * clus2[["api00"]].to_numpy()
    from analysis_helpers._design import Groups

    g = Groups(clus2, ["stype"], prep)
    zz = z.sum(axis=1)
    close(np.diag(prep.vcov(z)), g.var(zz))
