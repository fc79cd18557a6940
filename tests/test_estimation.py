"""Design-based estimators against R ``survey`` (shared/reference) and independent routes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis_helpers.estimation import (
    SurveyDesign,
    domain_difference,
    sample_profile,
    survey_chisq,
    survey_glm,
    survey_mean,
    survey_proportion,
    survey_ratio,
    survey_total,
    survey_ttest,
    survey_var,
)

DESIGNS = {
    "strat_fpc": SurveyDesign(weight="pw", strata="stype", fpc="fpc"),
    "strat_nofpc": SurveyDesign(weight="pw", strata="stype"),
    "weights_only": SurveyDesign(weight="pw"),
}


@pytest.fixture(scope="module")
def ref(reference):
    return reference["survey"]["results"]


@pytest.fixture(scope="module")
def api(reference_data):
    return reference_data("survey_apistrat.csv")


# --------------------------------------------------------------------------------------
# R survey reference, all three designs
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", DESIGNS)
def test_svymean_with_deff(ref, api, name, close):
    r = ref[name]
    t = survey_mean(api, items=["api00", "api99"], design=DESIGNS[name])
    assert t["item"].tolist() == ["api00", "api99"]
    close(t["estimate"], [r["svymean_api00_api99"]["estimate"][i] for i in ("api00", "api99")])
    close(t["se"], [r["svymean_api00_api99"]["se"][i] for i in ("api00", "api99")])
    close(t["deff"].iloc[0], r["svymean_api00"]["deff"]["api00"])
    close(t["n_weighted"].iloc[0], r["sum_weights"])
    assert t["n"].tolist() == [r["n"], r["n"]]
    z = stats.norm.ppf(0.975)
    close(t["ci_low"], t["estimate"] - z * t["se"])


@pytest.mark.parametrize("name", DESIGNS)
def test_svytotal_na_rm_with_deff(ref, api, name, close):
    r = ref[name]["svytotal_enroll"]
    t = survey_total(api, items="enroll", design=DESIGNS[name])
    close(t["estimate"], r["estimate"]["enroll"])
    close(t["se"], r["se"]["enroll"])
    close(t["deff"], r["deff"]["enroll"])


@pytest.mark.parametrize("name", DESIGNS)
def test_factor_proportions_with_deff(ref, api, name, close):
    r = ref[name]["svymean_sch.wide"]
    t = survey_proportion(api, items="sch.wide", design=DESIGNS[name])
    assert t["category"].tolist() == ["No", "Yes"]
    close(t["estimate"], [r["estimate"]["sch.wideNo"], r["estimate"]["sch.wideYes"]])
    close(t["se"], [r["se"]["sch.wideNo"], r["se"]["sch.wideYes"]])
    close(t["deff"], [r["deff"]["sch.wideNo"], r["deff"]["sch.wideYes"]])


@pytest.mark.parametrize("name", DESIGNS)
def test_svyciprop_logit(ref, api, name, close):
    r = ref[name]["svyciprop_sch.wide_yes_logit"]
    t = survey_proportion(api, items="sch.wide", design=DESIGNS[name], method="logit")
    yes = t[t["category"] == "Yes"].iloc[0]
    # R's estimate comes from an IRLS fit that stops ~4e-10 short of the closed form
    close(yes["estimate"], r["estimate"])
    close(yes["se"], r["se"])
    close([yes["ci_low"], yes["ci_high"]], r["ci"])


@pytest.mark.parametrize("name", DESIGNS)
def test_svyvar(ref, api, name, close):
    r = ref[name]["svyvar_api00"]
    t = survey_var(api, items="api00", design=DESIGNS[name])
    close(t["estimate"], r["estimate"])
    close(t["se"], r["se"])


@pytest.mark.parametrize("name", DESIGNS)
def test_missing_values_are_a_domain(ref, api, name, close):
    r = ref[name]["svymean_acs.k3_narm"]
    t = survey_mean(api, items="acs.k3", design=DESIGNS[name])
    assert t["n"].iloc[0] == r["n_nonmissing"]
    close(t["estimate"], r["estimate"]["acs.k3"])
    close(t["se"], r["se"]["acs.k3"])


@pytest.mark.parametrize("name", DESIGNS)
@pytest.mark.parametrize("by", ["stype", "sch.wide"])
def test_svyby_means(ref, api, name, by, close):
    r = ref[name][f"svyby_api00_by_{by}"]["table"]
    rows = [r[k] for k in sorted(r, key=int)]
    t = survey_mean(api, items="api00", by=by, design=DESIGNS[name])
    assert t[by].tolist() == [x[by] for x in rows]
    close(t["estimate"], [x["api00"] for x in rows])
    close(t["se"], [x["se"] for x in rows])


@pytest.mark.parametrize("name", DESIGNS)
def test_svyby_factor_by_group(ref, api, name, close):
    r = ref[name]["svyby_sch.wide_by_stype"]["table"]
    rows = [r[k] for k in sorted(r, key=int)]
    t = survey_proportion(api, items="sch.wide", by="stype", design=DESIGNS[name])
    assert t.columns[:3].tolist() == ["stype", "item", "category"]
    for x in rows:
        g = t[t["stype"] == x["stype"]].set_index("category")
        close(g.loc[["No", "Yes"], "estimate"], [x["sch.wideNo"], x["sch.wideYes"]])
        close(g.loc[["No", "Yes"], "se"], [x["se.sch.wideNo"], x["se.sch.wideYes"]])


@pytest.mark.parametrize("name", DESIGNS)
def test_svytable_weighted_counts(ref, api, name, close):
    r = ref[name]["svytable_sch.wide_x_stype"]["counts"]
    t = sample_profile(api, by=["sch.wide", "stype"], design=DESIGNS[name])
    for _, row in t.iterrows():
        close(row["n_weighted"], r[row["sch.wide"]][row["stype"]])


@pytest.mark.parametrize("name", DESIGNS)
def test_svyratio(ref, api, name, close):
    r = ref[name]["svyratio_api.stu_enroll"]
    t = survey_ratio(api, numerator="api.stu", denominator="enroll", design=DESIGNS[name])
    close(t["estimate"], r["ratio"])
    close(t["se"], r["se"])


@pytest.mark.parametrize("name", DESIGNS)
def test_svyttest(ref, api, name, close):
    r = ref[name]["svyttest_api00_by_sch.wide"]
    t = survey_ttest(api, items="api00", by="sch.wide", design=DESIGNS[name]).iloc[0]
    assert (t["value_1"], t["value_2"]) == ("No", "Yes")
    close(t["estimate"], r["estimate_diff"])
    close(t["statistic"], r["t"])
    assert t["df"] == r["df"]
    close(t["p_value"], r["p_value"])


@pytest.mark.parametrize("name", DESIGNS)
def test_svychisq_F(ref, api, name, close):
    r = ref[name]["svychisq_F"]
    t = survey_chisq(api, row="sch.wide", col="stype", design=DESIGNS[name], statistic="F")
    close(t["statistic"], r["statistic"])
    close(t["ndf"], r["parameter"]["ndf"])
    close(t["ddf"], r["parameter"]["ddf"])
    close(t["p_value"], r["p_value"])


@pytest.mark.parametrize("name", DESIGNS)
def test_svychisq_Chisq(ref, api, name, close):
    r = ref[name]["svychisq_Chisq"]
    t = survey_chisq(api, row="sch.wide", col="stype", design=DESIGNS[name], statistic="Chisq")
    close(t["statistic"], r["statistic"])
    assert t["df"].iloc[0] == r["parameter"]["df"]
    close(t["p_value"], r["p_value"])
    # the Pearson statistic is that of the weighted table rescaled to n
    tab = pd.crosstab(api["sch.wide"], api["stype"], values=api["pw"], aggfunc="sum")
    close(
        t["pearson"],
        stats.chi2_contingency(tab / tab.to_numpy().sum() * len(api), correction=False)[0],
    )


@pytest.mark.parametrize("name", DESIGNS)
def test_svyglm_gaussian(ref, api, name, close):
    r = ref[name]["svyglm_api00"]
    t = survey_glm(
        api, outcome="api00", drivers=["ell", "meals", "mobility"], design=DESIGNS[name]
    ).set_index("term")
    terms = ["(Intercept)", "ell", "meals", "mobility"]
    close(t.loc[terms, "estimate"], [r["coef"][k] for k in terms])
    close(t.loc[terms, "se"], [r["se"][k] for k in terms])
    close(t.loc[terms, "statistic"], [r["t"][k] for k in terms])
    close(t.loc[terms, "p_value"], [r["p"][k] for k in terms])
    assert (t["df"] == r["df_residual"]).all()


def test_plain_weighted_with_replacement_se(ref, api, close):
    r = ref["plain_weighted_apistrat"]
    t = survey_mean(api, items="api00", design=SurveyDesign(weight="pw")).iloc[0]
    close(t["estimate"], r["weighted_mean_api00"])
    close(t["se"], r["se_wr"])
    close(t["n_effective"], r["kish_effective_n"])


# --------------------------------------------------------------------------------------
# Independent routes and invariants
# --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def small():
    rng = np.random.default_rng(7)
    n = 240
    return pd.DataFrame(
        {
            "y": rng.normal(3, 1, n).round(1),
            "x": rng.normal(0, 1, n),
            "g": rng.choice(["a", "b", "c"], n),
            "w": rng.uniform(0.5, 3, n),
            "one": 1.0,
            "h": np.repeat(["s1", "s2", "s3", "s4"], n // 4),
            "psu": np.tile(np.arange(12), n // 12),
        }
    )


def test_unweighted_mean_is_textbook(small, close):
    t = survey_mean(small, items="y").iloc[0]
    y = small["y"]
    close(t["estimate"], y.mean())
    close(t["se"], y.std(ddof=1) / np.sqrt(len(y)))
    close(t["deff"], 1.0)
    assert t["n"] == len(y) and t["n_effective"] == pytest.approx(len(y))


def test_unit_weights_equal_unweighted(small):
    a = survey_mean(small, items=["y", "x"], by="g")
    b = survey_mean(small, items=["y", "x"], by="g", design=SurveyDesign(weight="one"))
    pd.testing.assert_frame_equal(a, b)


def test_by_group_unweighted_is_textbook_domain(small, close):
    t = survey_mean(small, items="y", by="g").set_index("g")
    n = len(small)
    for g, sub in small.groupby("g"):
        # domain SE of the whole design: n/(n-1) sum z^2 with z = (y - m)/n_g in the domain
        z = (sub["y"] - sub["y"].mean()) / len(sub)
        close(t.loc[g, "se"], np.sqrt(n / (n - 1) * (z**2).sum()))
        close(t.loc[g, "estimate"], sub["y"].mean())


def test_cluster_design_matches_statsmodels_cluster_robust(small, close):
    import statsmodels.api as sm

    t = survey_mean(small, items="y", design=SurveyDesign(weight="w", cluster="psu")).iloc[0]
    fit = sm.WLS(small["y"], np.ones(len(small)), weights=small["w"]).fit(
        cov_type="cluster", cov_kwds={"groups": small["psu"]}
    )
    close(t["estimate"], fit.params.iloc[0])
    close(t["se"], fit.bse.iloc[0])


def test_strata_equal_to_domains_make_domains_independent(small, close):
    d = SurveyDesign(weight="w", strata="g")
    m = survey_mean(small, items="y", by="g", design=d).set_index("g")
    diff = domain_difference(small, items="y", by="g", values=("a", "c"), design=d).iloc[0]
    close(diff["estimate"], m.loc["c", "estimate"] - m.loc["a", "estimate"])
    close(diff["se"], np.hypot(m.loc["a", "se"], m.loc["c", "se"]))
    assert diff["df"] == len(small[small["g"].isin(["a", "c"])]) - 2 - 1


def test_domain_difference_within_groups(small, close):
    d = SurveyDesign(weight="w", strata="h", cluster="psu")
    t = domain_difference(small, items="y", by="g", values=("a", "b"), within="h", design=d)
    assert t["h"].tolist() == ["s1", "s2", "s3", "s4"]
    one = domain_difference(
        small[small["h"] == "s2"],
        items="y",
        by="g",
        values=("a", "b"),
        design=SurveyDesign(weight="w", cluster="psu"),
    )
    close(t.loc[1, "estimate"], one["estimate"].iloc[0])
    assert (t["p_value"] > 0).all() and (t["p_value"] < 1).all()


def test_fpc_as_fraction_equals_population_size(small, close):
    sizes = {"s1": 600, "s2": 900, "s3": 300, "s4": 1200}
    frame = small.assign(N=small["h"].map(sizes), f=60 / small["h"].map(sizes))
    a = survey_mean(frame, items="y", design=SurveyDesign(weight="w", strata="h", fpc="N"))
    b = survey_mean(frame, items="y", design=SurveyDesign(weight="w", strata="h", fpc="f"))
    close(a["se"], b["se"])
    c = survey_mean(frame, items="y", design=SurveyDesign(weight="w", strata="h"))
    assert a["se"].iloc[0] < c["se"].iloc[0]


def test_lonely_psu_rules(close):
    frame = pd.DataFrame(
        {"y": [1.0, 2, 4, 7, 3], "h": ["a", "a", "b", "b", "c"], "w": [1.0, 2, 1, 1, 2]}
    )
    with pytest.raises(ValueError, match="stratum 'c' of column 'h' has only one PSU"):
        survey_mean(frame, items="y", design=SurveyDesign(weight="w", strata="h"))
    W = frame["w"].sum()
    m = (frame["w"] * frame["y"]).sum() / W
    z = frame["w"] * (frame["y"] - m) / W
    ok = 0.0
    for h in ("a", "b"):
        zh = z[frame["h"] == h]
        ok += 2 * ((zh - zh.mean()) ** 2).sum()
    rem = survey_mean(
        frame, items="y", design=SurveyDesign(weight="w", strata="h", lonely_psu="remove")
    )
    close(rem["se"], np.sqrt(ok))
    adj = survey_mean(
        frame, items="y", design=SurveyDesign(weight="w", strata="h", lonely_psu="adjust")
    )
    # lonely PSU centred at the grand mean of PSU totals (0 for a mean's influence)
    close(adj["se"], np.sqrt(ok + z.iloc[4] ** 2))


def test_survey_total_unweighted(small, close):
    t = survey_total(small, items="y").iloc[0]
    n = len(small)
    close(t["estimate"], small["y"].sum())
    close(t["se"], np.sqrt(n) * small["y"].std(ddof=1))


def test_sample_profile_shares(small, close):
    t = sample_profile(small, by=["h", "g"], design=SurveyDesign(weight="w"))
    assert t["n"].sum() == len(small)
    close(t.groupby("h")["share"].sum(), np.ones(4))
    close(t.groupby("h")["share_weighted"].sum(), np.ones(4))
    one = t.iloc[0]
    sub = small[(small["h"] == one["h"]) & (small["g"] == one["g"])]
    close(one["n_effective"], sub["w"].sum() ** 2 / (sub["w"] ** 2).sum())
    whole = sample_profile(small)
    assert whole["n"].iloc[0] == len(small) and whole["share"].iloc[0] == 1.0


def test_missing_by_value_is_excluded_but_design_kept(small):
    frame = small.assign(g=small["g"].where(small.index % 10 != 0))
    t = survey_mean(frame, items="y", by="g")
    assert t["n"].sum() == len(small) - len(small) // 10
    assert t["g"].notna().all()


def test_inputs_not_mutated(small):
    before = small.copy()
    survey_mean(small, items="y", by="g", design=SurveyDesign(weight="w", strata="h"))
    survey_chisq(small, row="g", col="h", design=SurveyDesign(weight="w"))
    pd.testing.assert_frame_equal(small, before)


# --------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------
def test_design_validation_messages(small):
    with pytest.raises(KeyError, match="design column 'wt' \\(weight\\) is not in the data"):
        SurveyDesign(weight="wt").validate(small)
    bad = small.assign(w=small["w"].where(small.index != 5, -1.0))
    with pytest.raises(
        ValueError, match="SurveyDesign.validate: weight column 'w' has the value -1.0 in row 5"
    ):
        SurveyDesign(weight="w").validate(bad)
    bad = small.assign(w=small["w"].where(small.index != 3, np.nan))
    with pytest.raises(
        ValueError, match="has the value nan in row 3; weights must be finite and > 0"
    ):
        SurveyDesign(weight="w").validate(bad)
    bad = small.assign(w=small["w"].where(small.index != 4, np.inf))
    with pytest.raises(ValueError, match="has the value inf in row 4"):
        SurveyDesign(weight="w").validate(bad)
    with pytest.raises(ValueError, match="weight column 'g' must be numeric"):
        SurveyDesign(weight="g").validate(small)
    bad = small.assign(h=small["h"].where(small.index != 7))
    with pytest.raises(ValueError, match="strata column 'h': row 7 has a missing stratum"):
        SurveyDesign(strata="h").validate(bad)
    bad = small.assign(psu=small["psu"].where(small.index != 8))
    with pytest.raises(ValueError, match="cluster column 'psu': row 8 has a missing cluster"):
        SurveyDesign(cluster="psu").validate(bad)
    with pytest.raises(ValueError, match="lonely_psu 'certainty'"):
        SurveyDesign(lonely_psu="certainty").validate(small)


def test_fpc_validation_messages(small):
    frame = small.assign(N=np.where(small.index == 2, 500.0, 600.0))
    with pytest.raises(ValueError, match="fpc column 'N' varies within stratum 's1': row 2"):
        SurveyDesign(strata="h", fpc="N").validate(frame)
    frame = small.assign(N=np.where(small["h"] == "s1", 0.5, 600.0))
    with pytest.raises(ValueError, match="row 0 has fpc 0.5 but other rows are > 1"):
        SurveyDesign(strata="h", fpc="N").validate(frame)
    frame = small.assign(N=np.where(small["h"] == "s2", 10.0, 600.0))
    with pytest.raises(ValueError, match="population size 10.0 below the 60 sampled PSUs"):
        SurveyDesign(strata="h", fpc="N").validate(frame)
    frame = small.assign(N=np.where(small.index == 9, -3.0, 600.0))
    with pytest.raises(ValueError, match="row 9 has fpc -3.0"):
        SurveyDesign(strata="h", fpc="N").validate(frame)


def test_estimator_validation_messages(small):
    with pytest.raises(KeyError, match="survey_mean: item column 'nope' is not in the data"):
        survey_mean(small, items="nope")
    with pytest.raises(KeyError, match="by column 'seg' is not in the data"):
        survey_mean(small, items="y", by="seg")
    with pytest.raises(ValueError, match="item column 'g' must be numeric"):
        survey_mean(small, items="g")
    with pytest.raises(
        ValueError, match="survey_mean: column\\(s\\) \\['y'\\] are both item and by columns"
    ):
        survey_mean(small, items="y", by="y")
    with pytest.raises(ValueError, match="survey_mean: confidence must be in \\(0, 1\\), got 95"):
        survey_mean(small, items="y", confidence=95)
    bad = small.assign(y=small["y"].where(small.index != 6, np.inf))
    with pytest.raises(ValueError, match="survey_mean: item column 'y' has the value inf in row 6"):
        survey_mean(bad, items="y")
    with pytest.raises(TypeError, match="design must be a SurveyDesign"):
        survey_mean(small, items="y", design={"weight": "w"})
    with pytest.raises(ValueError, match="method='exact'"):
        survey_proportion(small, items="g", method="exact")
    with pytest.raises(ValueError, match="survey_proportion: items must be column names"):
        survey_proportion(small, items=[1])


def test_difference_validation_messages(small):
    with pytest.raises(ValueError, match="by column 'g' has 3 values"):
        domain_difference(small, items="y", by="g")
    with pytest.raises(ValueError, match="by column 'g' has no value 'z'"):
        domain_difference(small, items="y", by="g", values=("a", "z"))
    with pytest.raises(ValueError, match="values must be two different values"):
        domain_difference(small, items="y", by="g", values=("a", "a"))
    with pytest.raises(ValueError, match="distribution='f'"):
        domain_difference(small, items="y", by="g", values=("a", "b"), distribution="f")
    with pytest.raises(ValueError, match="column 'g' is both by and within"):
        domain_difference(small, items="y", by="g", values=("a", "b"), within="g")


def test_chisq_and_glm_validation_messages(small):
    with pytest.raises(ValueError, match="statistic 'Wald'"):
        survey_chisq(small, row="g", col="h", statistic="Wald")
    with pytest.raises(ValueError, match="column 'one' needs at least two values"):
        survey_chisq(small, row="g", col="one")
    with pytest.raises(ValueError, match="drivers is empty"):
        survey_glm(small, outcome="y", drivers=[])
    frame = small.assign(x2=2 * small["x"])
    with pytest.raises(ValueError, match="are collinear"):
        survey_glm(frame, outcome="y", drivers=["x", "x2"])


def test_several_items_stack_with_an_item_column(api):
    d = DESIGNS["strat_fpc"]
    props = survey_proportion(api, items=["sch.wide", "awards"], by="stype", design=d)
    assert props.columns[:3].tolist() == ["stype", "item", "category"]
    one = survey_proportion(api, items="awards", by="stype", design=d)
    pd.testing.assert_frame_equal(
        props[props["item"] == "awards"].reset_index(drop=True), one.reset_index(drop=True)
    )
    diff = domain_difference(api, items=["api00", "api99"], by="sch.wide", design=d)
    assert diff["item"].tolist() == ["api00", "api99"]
    assert diff.loc[1, "estimate"] == pytest.approx(
        domain_difference(api, items="api99", by="sch.wide", design=d)["estimate"][0], rel=1e-12
    )
    assert {"value_1", "value_2"} <= set(diff.columns) and "level_1" not in diff.columns
