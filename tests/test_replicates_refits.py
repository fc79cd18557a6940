"""Exact replicate refits and replicate generators against R ``survey`` 4.1.1.

References: ``tests/reference/r_survey_designs.json`` (made by
``tests/reference/r/survey_designs.R``), on the frozen replicate analysis weights
``tests/reference/data/rep_*.csv`` (R's random and Hadamard-based replicates, as R made them).
The bootstraps this package draws itself are checked by their distribution, not by R's draws.
"""

from __future__ import annotations

import itertools
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
    survey_ratio,
    survey_total,
)
from analysis_helpers.quantiles import survey_quantile
from analysis_helpers.replicates import (
    ReplicateDesign,
    as_replicate,
    hadamard,
    rao_wu_multipliers,
)

REFERENCE = Path(__file__).resolve().parent / "reference"
ENTRIES = json.loads((REFERENCE / "r_survey_designs.json").read_text(encoding="utf-8"))["entries"]

#: R design key -> (main data, frozen replicate file)
FROZEN = {
    "apiclus1_JK1": ("survey_apiclus1.csv", "rep_apiclus1_jk1.csv"),
    "apiclus1_bootstrap": ("survey_apiclus1.csv", "rep_apiclus1_bootstrap.csv"),
    "apiclus1_subbootstrap": ("survey_apiclus1.csv", "rep_apiclus1_subbootstrap.csv"),
    "apiclus2_mrbbootstrap": ("survey_apiclus2.csv", "rep_apiclus2_mrbbootstrap.csv"),
    "apistrat_halfsample_BRR": ("survey_apistrat.csv", "rep_apistrat_brr.csv"),
    "apistrat_halfsample_Fay": ("survey_apistrat.csv", "rep_apistrat_fay.csv"),
    "apistrat_SDR": ("survey_apistrat.csv", "rep_apistrat_sdr.csv"),
}


def entry(key: str) -> dict:
    return ENTRIES[key]["values"]


def given(reference_data, key: str) -> tuple[pd.DataFrame, ReplicateDesign]:
    """The main data joined with R's replicate weights, and the design R reported."""
    main, reps = FROZEN[key]
    api = reference_data(main)
    rep = reference_data(reps)
    cols = [c for c in rep.columns if c.startswith("rep")]
    data = api.merge(rep[["snum", *cols]], on="snum", validate="1:1")
    d = entry(f"{key}.design")
    design = ReplicateDesign(
        weight="pw", replicates=cols, type="other", scale=d["scale"], rscales=d["rscales"],
        mse=d["mse"], df=d["df"],
    )  # fmt: skip
    return data, design


@pytest.mark.parametrize("key", list(FROZEN))
def test_ratio_regression_quantiles_refit_per_replicate(reference_data, key, close):
    data, design = given(reference_data, key)
    r = entry(f"{key}.svyratio_api.stu_enroll")
    t = survey_ratio(data, numerator="api.stu", denominator="enroll", design=design)
    close(t["estimate"], r["estimate"])
    close(t["se"], r["se"])
    r = entry(f"{key}.svyglm_api00")
    t = survey_glm(data, outcome="api00", drivers=["ell", "meals", "mobility"], design=design)
    close(t["estimate"], list(r["estimate"].values()))
    close(t["se"], list(r["se"].values()))
    close(t["df"], r["df_residual"])
    r = entry(f"{key}.svyquantile_api00")["variables"]["api00"]
    t = survey_quantile(data, items="api00", quantiles=[0.25, 0.5, 0.75], design=design)
    close(t["estimate"], r["quantile"])
    close(t["ci_low"], r["ci_lower"])
    close(t["ci_high"], r["ci_upper"])
    close(t["se"], r["se"])
    r = entry(f"{key}.svyby_api00_by_stype")
    t = survey_mean(data, items="api00", by="stype", design=design)
    close(t["estimate"], [r["estimate"][k] for k in "EHM"])
    close(t["se"], [r["se"][k] for k in "EHM"])
    r = entry(f"{key}.svymean_sch.wide")
    t = survey_mean(data.assign(yes=(data["sch.wide"] == "Yes").astype(float)), items="yes",
                    design=design)  # fmt: skip
    close(t["se"], r["se"]["sch.wideYes"])


EXTRAS = json.loads((REFERENCE / "r_replicate_extras.json").read_text(encoding="utf-8"))["entries"]


def test_domain_difference_and_chisq_use_the_replicate_estimates(reference_data, close):
    data, _ = given(reference_data, "apiclus1_bootstrap")
    cols = [c for c in data.columns if c.startswith("rep")]
    # the design call of r_replicate_extras.json (svrepdesign: degf = rank - 1 = 14)
    design = ReplicateDesign(
        weight="pw", replicates=cols, type="bootstrap", scale=0.021865889212828, df=14
    )
    r = EXTRAS["apiclus1_user_bootstrap.domain_diff_api00_H_minus_E"]["values"]
    t = domain_difference(data, items="api00", by="stype", values=("E", "H"), design=design)
    close(t["estimate"], r["estimate"])
    close(t["se"], r["se"])
    # by hand: the spread of the replicate differences of means
    reps, y = data[cols].to_numpy(), data["api00"].to_numpy()
    e, h = (data["stype"] == "E").to_numpy(), (data["stype"] == "H").to_numpy()
    rd = np.array([(w[h] @ y[h]) / w[h].sum() - (w[e] @ y[e]) / w[e].sum() for w in reps.T])
    close(t["se"], np.sqrt(design.scale * ((rd - rd.mean()) ** 2).sum()))
    for stat in ("F", "Chisq"):
        r = EXTRAS[f"apiclus1_user_bootstrap.svychisq_{stat}"]["values"]
        t = survey_chisq(data, row="stype", col="sch.wide", design=design, statistic=stat)
        close(t["statistic"], r["statistic"])
        close(t["p_value"], r["p_value"])
        if stat == "F":
            close(t[["ndf", "ddf"]].to_numpy()[0], [r["ndf"], r["ddf"]])


# --------------------------------------------------------------------------------------
# generators
# --------------------------------------------------------------------------------------
def halfsample(reference_data) -> pd.DataFrame:
    """apistrat re-cut into 20 variance strata of 2 PSUs (the R entries' ``setup``)."""
    hs = reference_data("survey_apistrat.csv").sort_values(["stype", "snum"])
    hs = hs.reset_index(drop=True)
    rank = hs.groupby("stype").cumcount() + 1
    hs["vstrat"] = hs["stype"] + ((rank - 1) // 10 + 1).map("{:02d}".format)
    hs["vpsu"] = hs["vstrat"] + "_" + ((rank - 1) % 2 + 1).astype(str)
    return hs


def r_hadamard_rows(hs: pd.DataFrame, frozen: pd.DataFrame) -> np.ndarray:
    """R's Hadamard rows as used, read back from R's frozen BRR replicates."""
    cols = [c for c in frozen.columns if c.startswith("rep")]
    strata = sorted(hs["vstrat"].unique())
    m = np.ones((len(strata) + 1, len(cols)))
    by_snum = frozen.set_index("snum")
    for h, s in enumerate(strata):
        first = hs.loc[hs["vstrat"] == s, "snum"].iloc[0]  # a school of the stratum's first PSU
        m[1 + h] = np.where(by_snum.loc[first, cols].to_numpy() == 0, 1.0, -1.0)
    return m


@pytest.mark.parametrize("kind,key,rho", [("BRR", "BRR", 0.0), ("Fay", "Fay", 0.3)])
def test_brr_and_fay_as_r(reference_data, kind, key, rho, close):
    hs = halfsample(reference_data)
    frozen = reference_data(f"rep_apistrat_{kind.lower()}.csv")
    cols = [c for c in frozen.columns if c.startswith("rep")]
    design = SurveyDesign(weight="pw", strata="vstrat", cluster="vpsu")
    rkey = f"apistrat_halfsample_{key}"
    d = entry(f"{rkey}.design")
    # with R's Hadamard matrix: R's replicates, so R's results for every statistic
    had = r_hadamard_rows(hs, reference_data("rep_apistrat_brr.csv"))  # Fay: the same rows
    out, rep = as_replicate(hs, design, type=kind, rho=rho, hadamard_matrix=had)
    mine = out[list(rep.replicates)].to_numpy()
    close(mine, frozen.set_index("snum").loc[hs["snum"], cols].to_numpy())
    close(rep.scale, d["scale"])
    assert (rep.type, rep.mse, rep.df) == (kind, d["mse"], d["df"])
    r = entry(f"{rkey}.svyratio_api.stu_enroll")
    close(survey_ratio(out, numerator="api.stu", denominator="enroll", design=rep)["se"], r["se"])
    # with this package's Hadamard matrix (Paley, order 24 as R's): full orthogonal balance,
    # so a total's variance is the stratified with-replacement one, R's to 1e-8
    out, rep = as_replicate(hs, design, type=kind, rho=rho)
    assert len(rep.replicates) == d["replicates"] == 24
    close(rep.scale, d["scale"])
    r = entry(f"{rkey}.svytotal_enroll")
    close(survey_total(out, items="enroll", design=rep)["se"], r["se"]["enroll"])
    lin = survey_total(hs, items="enroll", design=design)
    close(survey_total(out, items="enroll", design=rep)["se"], lin["se"])


@pytest.mark.parametrize("kind,rho", [("BRR", 0.0), ("Fay", 0.3)])
def test_brr_scd_example_equals_r(reference_data, kind, rho, close):
    scd = reference_data("survey_scd.csv")
    out, rep = as_replicate(
        scd, SurveyDesign(strata="ESA", cluster="ambulance"), type=kind, rho=rho
    )
    d = entry(f"scd_{kind}.design")
    close(out[list(rep.replicates)].to_numpy(), d["repweights"]["values"])
    close(rep.scale, d["scale"])
    r = entry(f"scd_{kind}.svyratio_alive_arrests")
    t = survey_ratio(out, numerator="alive", denominator="arrests", design=rep)
    close(t["estimate"], list(r["estimate"].values()) if isinstance(r["estimate"], dict)
          else r["estimate"])  # fmt: skip
    close(t["se"], list(r["se"].values()) if isinstance(r["se"], dict) else r["se"])


def test_hadamard_orders_and_orthogonality():
    for order in range(1, 101):
        H = hadamard(order)
        m = H.shape[0]
        assert m >= order and H.shape == (m, m)
        assert np.array_equal(H @ H.T, m * np.eye(m)), order
        assert (H[0] == 1).all() and (H[:, 0] == 1).all()
    assert [hadamard(k).shape[0] for k in (3, 5, 13, 21, 25, 41, 92)] == [4, 8, 16, 24, 32, 44, 96]


def test_brr_refuses_other_than_two_psus(reference_data):
    hs = halfsample(reference_data)
    with pytest.raises(ValueError, match="need exactly 2 PSUs in every stratum; stratum 'E' "
                       "of column 'stype' has 100"):  # fmt: skip
        as_replicate(hs, SurveyDesign(weight="pw", strata="stype"), type="BRR")
    with pytest.raises(ValueError, match="Fay's rho 1.2 must be between 0 and 1"):
        as_replicate(hs, SurveyDesign(weight="pw", strata="vstrat", cluster="vpsu"),
                     type="Fay", rho=1.2)  # fmt: skip
    with pytest.raises(ValueError, match="BRR needs strata of 2 PSUs"):
        as_replicate(hs, SurveyDesign(weight="pw"), type="BRR")
    with pytest.raises(ValueError, match="rows 2 to 21 are not orthogonal"):
        as_replicate(hs, SurveyDesign(weight="pw", strata="vstrat", cluster="vpsu"),
                     type="BRR", hadamard_matrix=np.ones((24, 24)) * np.arange(24) % 2)  # fmt: skip


@pytest.mark.parametrize("kind,key", [("bootstrap", "apiclus1_bootstrap"),
                                      ("subbootstrap", "apiclus1_subbootstrap")])  # fmt: skip
def test_bootstraps_scale_df_and_resample_sizes(reference_data, kind, key, close):
    api = reference_data("survey_apiclus1.csv")
    design = SurveyDesign(weight="pw", cluster="dnum", fpc="fpc")
    out, rep = as_replicate(api, design, type=kind, replicates=50, random_state=7)
    d = entry(f"{key}.design")
    close(rep.scale, d["scale"])
    assert (len(rep.replicates), rep.df, rep.type, rep.mse) == (50, d["df"], kind, d["mse"])
    # the multipliers are constant within a PSU and add up to the n = 15 PSUs
    mult = out[list(rep.replicates)].to_numpy() / api["pw"].to_numpy()[:, None]
    per_psu = pd.DataFrame(mult).groupby(api["dnum"].to_numpy())
    assert (per_psu.nunique() == 1).all().all()
    close(per_psu.first().sum(axis=0), np.full(50, 15.0))
    if kind == "bootstrap":  # counts of the resample
        counts = per_psu.first().to_numpy()
        assert np.array_equal(counts, np.round(counts)) and counts.max() >= 2
    else:
        counts = per_psu.first().to_numpy() * 14 / 15
        close(counts, np.round(counts))
    # the same seed, the same replicates; another seed, others
    again, _ = as_replicate(api, design, type=kind, replicates=50, random_state=7)
    assert again.equals(out)
    other, _ = as_replicate(api, design, type=kind, replicates=50, random_state=8)
    assert not other.equals(out)


def test_bootstrap_with_fpc_samples_without_replacement():
    # population of 4 per stratum, all 4 sampled: every resample is the sample itself
    d = pd.DataFrame({"h": [1] * 4 + [2] * 4, "y": np.arange(8.0), "N": 4})
    out, rep = as_replicate(
        d, SurveyDesign(strata="h", fpc="N"), type="bootstrap", replicates=20, random_state=1
    )
    assert (out[list(rep.replicates)].to_numpy() == 1.0).all()


def test_rao_wu_moments_and_textbook_variance(close):
    """Mean 1, variance 1, covariance -1/(n-1); a total's variance is n/(n-1) sum (t - t_bar)^2.

    Hand example: one stratum, 4 PSUs with totals 1, 2, 3, 6: the with-replacement variance
    is 4/3 x (4 + 1 + 0 + 9) = 18.667. Exactly (all 4^3 equally likely draws of 3 PSUs),
    the Rao-Wu replicate totals have that variance; the generator's draws agree to Monte
    Carlo error.
    """
    t = np.array([1.0, 2, 3, 6])
    textbook = 4 / 3 * ((t - t.mean()) ** 2).sum()
    close(textbook, 56 / 3)
    exact = []
    for draw in itertools.product(range(4), repeat=3):
        m = np.bincount(draw, minlength=4) * 4 / 3
        exact.append(m @ t)
    close(np.mean(exact), t.sum())
    close(np.var(exact), textbook)
    prep = SurveyDesign(cluster="psu").prepare(pd.DataFrame({"psu": [0, 1, 2, 3]}))
    mult = rao_wu_multipliers(prep, 40_000, np.random.default_rng(3))
    assert mult.shape == (4, 40_000)
    assert abs(mult.mean() - 1) < 0.01
    c = np.cov(mult)
    assert np.allclose(np.diag(c), 1.0, atol=0.03)
    assert np.allclose(c[~np.eye(4, dtype=bool)], -1 / 3, atol=0.03)
    assert abs(np.var(t @ mult, ddof=1) / textbook - 1) < 0.03
    # strata: resampled separately; a lonely stratum keeps multiplier 1
    prep = SurveyDesign(strata="h", lonely_psu="adjust").prepare(pd.DataFrame({"h": [1, 1, 1, 2]}))
    mult = rao_wu_multipliers(prep, 200, np.random.default_rng(0))
    close(mult[:3].sum(axis=0), np.full(200, 3.0))
    assert (mult[3] == 1.0).all()


def test_batched_replicate_means_equal_one_item_at_a_time(reference_data, close):
    """Many items (several batches of the X' W_rep product) give each item's own result."""
    from analysis_helpers._design import mean_parts, rep_mean_sums, setup

    data, design = given(reference_data, "apiclus1_JK1")
    items = ["api00", "api99", "enroll", "api.stu", "meals", "ell", "mobility", "acs.k3",
             "acs.46", "full", "emer", "growth", "pcttest"]  # fmt: skip
    items = [c for c in items if c in data.columns]
    assert len(items) > 10
    many = survey_mean(data, items=items, by="stype", design=design)
    for item in items:
        one = survey_mean(data, items=item, by="stype", design=design)
        close(many.loc[many["item"] == item, "se"], one["se"])
    _, groups = setup(data, design, ["stype"], items, func="test")
    ys = [data[c].to_numpy(dtype=float) for c in items]
    batched = rep_mean_sums(groups, ys, batch=4)
    for y, both in zip(ys, batched, strict=True):
        close(mean_parts(groups, y, rep_both=both)["var"], mean_parts(groups, y)["var"])


#: apiclus1's weights are all equal, so a replicate median often sits exactly on p: which
#: answer R took depends on the last bits of its in-memory weights, which the frozen CSVs
#: (15 digits) do not keep. Its JK1 replicates are rebuilt exactly with as_replicate instead.
VARIED_WEIGHTS = [k for k in FROZEN if not k.startswith("apiclus1")]


@pytest.mark.parametrize("key", [*VARIED_WEIGHTS, "apiclus1_JK1"])
def test_quantile_recomputed_per_replicate(reference_data, key, close):
    """R ``svyquantile(interval.type="quantile")``: the SE of the replicate medians."""
    if key == "apiclus1_JK1":
        api = reference_data("survey_apiclus1.csv")
        data, design = as_replicate(api, SurveyDesign(weight="pw", cluster="dnum", fpc="fpc"))
    else:
        data, design = given(reference_data, key)
    r = entry(f"{key}.svyquantile_api00_median_replicated")["variables"]["api00"]
    t = survey_quantile(data, items="api00", design=design, interval="quantile")
    close(t["estimate"], r["quantile"])
    close(t["se"], r["se"])
    close(t["ci_low"], r["ci_lower"])
    close(t["ci_high"], r["ci_upper"])
    with pytest.raises(ValueError, match="interval='quantile' needs a replicate-weight design"):
        survey_quantile(data, items="api00", design=SurveyDesign(weight="pw"), interval="quantile")


def test_brr_first_psu_is_the_first_to_appear_in_its_stratum(close):
    """Cluster labels reused across strata in another order: R's first PSU is by row order."""
    d = pd.DataFrame({"h": [1, 1, 2, 2], "psu": ["a", "b", "b", "a"], "y": [1.0, 2, 3, 4]})
    out, rep = as_replicate(d, SurveyDesign(strata="h", cluster="psu"), type="BRR")
    swapped = d.assign(psu=["a", "b", "a", "b"])
    out2, _ = as_replicate(swapped, SurveyDesign(strata="h", cluster="psu"), type="BRR")
    close(out[list(rep.replicates)].to_numpy(), out2[list(rep.replicates)].to_numpy())
