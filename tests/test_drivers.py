"""Driver importance: published references, independent routes and invariants."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from analysis_helpers.drivers import (
    QUADRANTS,
    DriverError,
    MissingColumnError,
    action_list,
    driver_importance,
    importance_from_correlation,
    importance_performance,
    importance_to_index_weights,
    penalty_reward,
    permutation_importance_check,
    scale_cutoffs,
    segment_importance,
    weighted_correlation,
    with_index_weights,
)
from analysis_helpers.drivers.importance import (
    _corr_given_replicates,
    _design_bootstrap_sums,
    _prepare,
)
from analysis_helpers.estimation import SurveyDesign
from analysis_helpers.study_tables import item_performance

REFERENCE = Path(__file__).resolve().parent / "reference"  # frozen copy of shared/reference
ALL_METHODS = ("correlation", "beta", "relative_weight", "lmg", "first", "last", "betasq",
               "pratt")  # fmt: skip


# ---------------------------------------------------------------------------------------
# fixtures
# ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def expected(reference):
    return reference


@pytest.fixture(scope="module")
def survey():
    """400 respondents, 5 drivers on 1-10 with a known order of effects, survey weights."""
    rng = np.random.default_rng(7)
    n = 400
    common = rng.standard_normal(n)
    x = 0.6 * common[:, None] + rng.standard_normal((n, 5))
    y = x @ np.array([1.0, 0.6, 0.3, 0.1, 0.0]) + rng.standard_normal(n)
    frame = pd.DataFrame(np.clip(np.rint(5.5 + 1.5 * x), 1, 10), columns=list("abcde"))
    frame["sat"] = np.clip(np.rint(5.5 + 1.2 * y), 1, 10)
    frame["w"] = rng.integers(1, 4, n).astype(float)
    frame["region"] = np.where(rng.random(n) < 0.5, "north", "south")
    return frame


DRIVERS = list("abcde")

REF_CASES = {
    # entry: (data file, outcome, weight column)
    "swiss": ("datasets_swiss.csv", "Fertility", None),
    "mtcars_rwa": ("datasets_mtcars.csv", "mpg", None),
    "satisfaction_sat1_qual_val": ("plspm_satisfaction.csv", "sat1", None),
    "apistrat_weighted": ("survey_apistrat.csv", "api00", "pw"),
}


def _reference_table(expected, case):
    entry = expected["relative_importance"]["results"][case]
    file, outcome, weight = REF_CASES[case]
    assert entry["data"] == f"data/{file}"
    data = pd.read_csv(REFERENCE / "data" / file)
    drivers = list(entry["lmg"])
    table = driver_importance(
        data, outcome=outcome, drivers=drivers, design=SurveyDesign(weight=weight), methods=ALL_METHODS,
        min_per_driver=5,
    )  # fmt: skip
    return entry, table.set_index("driver")


# ---------------------------------------------------------------------------------------
# reference results (shared/reference/expected.json, section relative_importance)
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", list(REF_CASES))
def test_reference_lmg_relative_weights_and_relaimpo_metrics(expected, case):
    entry, table = _reference_table(expected, case)
    tol = expected["tolerance"]["estimates"]
    drivers = list(entry["lmg"])
    assert table["r2"].iloc[0] == pytest.approx(entry["R2"], abs=tol)
    pairs = {
        "lmg": entry["lmg"],
        "lmg_pct": entry["lmg_share_pct"],
        "relative_weight": entry["johnson_rw"]["raw"],
        "relative_weight_pct": entry["johnson_rw"]["rescaled_pct"],
        "beta": entry["beta_std"],
        "first": entry["first"],
        "last": entry["last"],
        "betasq": entry["betasq"],
        "pratt": entry["pratt"],
    }
    for column, ref in pairs.items():
        got = table.loc[drivers, column].to_numpy()
        np.testing.assert_allclose(got, [ref[d] for d in drivers], rtol=0, atol=tol,
                                   err_msg=column)  # fmt: skip
    assert table["n"].iloc[0] == len(pd.read_csv(REFERENCE / "data" / REF_CASES[case][0]))


def test_reference_published_relaimpo_swiss(expected):
    """Groemping (2006) printed values, to their printed precision."""
    entry, table = _reference_table(expected, "swiss")
    published = entry["published"]
    for column, key in [("lmg", "lmg"), ("last", "last"), ("first", "first"),
                        ("betasq", "betasq"), ("pratt", "pratt")]:  # fmt: skip
        for driver, value in published[key].items():
            assert table.loc[driver, column] == pytest.approx(value, abs=1e-6)


def test_reference_published_rwa_mtcars_with_signs(expected):
    entry, table = _reference_table(expected, "mtcars_rwa")
    published = entry["published"]
    assert table["r2"].iloc[0] == pytest.approx(published["rsquare"], abs=1e-7)
    for driver in published["Sign"]:
        assert table.loc[driver, "relative_weight"] == pytest.approx(
            published["Raw.RelWeight"][driver], abs=1e-7
        )
        assert table.loc[driver, "relative_weight_pct"] == pytest.approx(
            published["Rescaled.RelWeight"][driver], abs=1e-5
        )
        assert table.loc[driver, "sign"] == published["Sign"][driver]


def test_reference_weighted_correlation_n_effective(expected):
    data = pd.read_csv(REFERENCE / "data" / "survey_apistrat.csv")
    corr = weighted_correlation(
        data, items=["api00", "ell", "meals"], design=SurveyDesign(weight="pw")
    )
    c = np.cov(data[["api00", "ell", "meals"]].to_numpy().T, aweights=data["pw"])
    d = np.sqrt(np.diag(c))
    np.testing.assert_allclose(corr.to_numpy(), c / np.outer(d, d), atol=1e-12)
    assert corr.attrs["n"] == 200
    w = data["pw"].to_numpy()
    assert corr.attrs["n_effective"] == pytest.approx(w.sum() ** 2 / (w**2).sum())


# ---------------------------------------------------------------------------------------
# invariants and independent routes
# ---------------------------------------------------------------------------------------


def test_shares_sum_to_r2(survey):
    t = driver_importance(survey, outcome="sat", drivers=DRIVERS, design=SurveyDesign(weight="w"))
    r2 = t["r2"].iloc[0]
    assert t["lmg"].sum() == pytest.approx(r2, abs=1e-12)
    assert t["relative_weight"].sum() == pytest.approx(r2, abs=1e-12)
    assert t["lmg_pct"].sum() == pytest.approx(100, abs=1e-9)
    assert t["relative_weight_pct"].sum() == pytest.approx(100, abs=1e-9)
    assert list(t["driver"]) == DRIVERS
    # the planted order of effects is recovered
    assert t.sort_values("lmg", ascending=False)["driver"].iloc[0] == "a"
    assert (t["note"] == "").all() and t.attrs["notes"] == []


def test_shapley_equals_brute_force_regressions(survey):
    """LMG from the all-subsets definition, each subset an OLS fit by statsmodels."""
    drivers = DRIVERS[:4]
    p = len(drivers)
    r2 = {(): 0.0}
    for k in range(1, p + 1):
        for sub in itertools.combinations(drivers, k):
            fit = sm.OLS(survey["sat"], sm.add_constant(survey[list(sub)])).fit()
            r2[sub] = fit.rsquared
    lmg = dict.fromkeys(drivers, 0.0)
    for order in itertools.permutations(drivers):
        for i, d in enumerate(order):
            before = tuple(sorted(order[:i], key=drivers.index))
            after = tuple(sorted(order[: i + 1], key=drivers.index))
            lmg[d] += (r2[after] - r2[before]) / 24
    t = driver_importance(survey, outcome="sat", drivers=drivers).set_index("driver")
    for d in drivers:
        assert t.loc[d, "lmg"] == pytest.approx(lmg[d], abs=1e-12)


def test_weights_of_one_equal_unweighted(survey):
    ones = survey.assign(one=1.0)
    a = driver_importance(survey, outcome="sat", drivers=DRIVERS, methods=ALL_METHODS)
    b = driver_importance(
        ones, outcome="sat", drivers=DRIVERS, design=SurveyDesign(weight="one"), methods=ALL_METHODS
    )
    pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-12, atol=1e-12)


def test_integer_weights_equal_duplicated_rows(survey):
    weighted = driver_importance(survey, outcome="sat", drivers=DRIVERS, design=SurveyDesign(weight="w"),
                                 methods=ALL_METHODS)  # fmt: skip
    repeated = survey.loc[survey.index.repeat(survey["w"].astype(int))]
    plain = driver_importance(repeated, outcome="sat", drivers=DRIVERS, methods=ALL_METHODS)
    cols = [c for c in weighted.columns if c not in {"driver", "sign", "n", "n_effective", "note"}]
    np.testing.assert_allclose(weighted[cols].to_numpy(float), plain[cols].to_numpy(float),
                               atol=1e-12)  # fmt: skip
    assert plain["n"].iloc[0] == survey["w"].sum()


def test_betas_match_statsmodels_wls_standardised(survey):
    t = driver_importance(
        survey, outcome="sat", drivers=DRIVERS, design=SurveyDesign(weight="w")
    ).set_index("driver")
    fit = sm.WLS(survey["sat"], sm.add_constant(survey[DRIVERS]), weights=survey["w"]).fit()
    w = survey["w"].to_numpy()

    def wsd(v):
        m = np.average(v, weights=w)
        return np.sqrt(np.average((v - m) ** 2, weights=w))

    for d in DRIVERS:
        beta = fit.params[d] * wsd(survey[d].to_numpy()) / wsd(survey["sat"].to_numpy())
        assert t.loc[d, "beta"] == pytest.approx(beta, abs=1e-10)
        assert t.loc[d, "sign"] == ("+" if fit.params[d] > 0 else "-")
    ybar = np.average(survey["sat"], weights=w)
    r2 = 1 - (w * fit.resid**2).sum() / (w * (survey["sat"] - ybar) ** 2).sum()
    assert t["r2"].iloc[0] == pytest.approx(r2, abs=1e-12)


def test_pairwise_correlation_matches_pandas_and_a_loop(survey):
    data = survey.copy()
    rng = np.random.default_rng(3)
    for c in ["a", "b", "sat"]:
        data.loc[rng.random(len(data)) < 0.15, c] = np.nan
    cols = ["sat", "a", "b", "c"]
    unweighted = weighted_correlation(data, items=cols, missing="pairwise")
    pd.testing.assert_frame_equal(unweighted, data[cols].corr(), check_exact=False, atol=1e-12)
    assert unweighted.attrs["n"] == int(data[cols].notna().astype(int).T.dot(
        data[cols].notna().astype(int)).to_numpy().min())  # fmt: skip
    weighted = weighted_correlation(
        data, items=cols, design=SurveyDesign(weight="w"), missing="pairwise"
    )
    for i, j in itertools.combinations(cols, 2):
        both = data[[i, j, "w"]].dropna()
        c = np.cov(both[[i, j]].to_numpy().T, aweights=both["w"])
        assert weighted.loc[i, j] == pytest.approx(c[0, 1] / np.sqrt(c[0, 0] * c[1, 1]), abs=1e-12)
    listwise = weighted_correlation(data, items=cols, design=SurveyDesign(weight="w"))
    complete = data[cols + ["w"]].dropna()
    c = np.cov(complete[cols].to_numpy().T, aweights=complete["w"])
    np.testing.assert_allclose(listwise.to_numpy(), c / np.outer(*[np.sqrt(np.diag(c))] * 2),
                               atol=1e-12)  # fmt: skip
    assert listwise.attrs["n"] == len(complete)


def test_pairwise_importance_runs_and_bootstraps(survey):
    data = survey.copy()
    data.loc[data.index[::7], "b"] = np.nan
    t = driver_importance(data, outcome="sat", drivers=DRIVERS, design=SurveyDesign(weight="w"), missing="pairwise",
                          n_boot=50, random_state=1)  # fmt: skip
    assert t["relative_weight"].sum() == pytest.approx(t["r2"].iloc[0])
    assert (t["lmg_ci_low"] <= t["lmg_ci_high"]).all()


def test_importance_from_correlation_equals_driver_importance(survey):
    corr = weighted_correlation(survey, items=["sat", *DRIVERS], design=SurveyDesign(weight="w"))
    a = importance_from_correlation(corr, outcome="sat", methods=ALL_METHODS)
    b = driver_importance(
        survey, outcome="sat", drivers=DRIVERS, design=SurveyDesign(weight="w"), methods=ALL_METHODS
    )
    pd.testing.assert_frame_equal(a, b[a.columns], check_exact=False, atol=1e-14)


def test_inputs_are_not_mutated(survey):
    before = survey.copy()
    driver_importance(
        survey,
        outcome="sat",
        drivers=DRIVERS,
        design=SurveyDesign(weight="w"),
        n_boot=20,
        random_state=0,
    )
    penalty_reward(
        survey,
        outcome="sat",
        drivers=DRIVERS,
        low_max=4,
        high_min=8,
        design=SurveyDesign(weight="w"),
    )
    pd.testing.assert_frame_equal(survey, before)


# ---------------------------------------------------------------------------------------
# bootstrap
# ---------------------------------------------------------------------------------------


def test_bootstrap_is_seeded_and_brackets_the_estimate(survey):
    kw = dict(outcome="sat", drivers=DRIVERS, design=SurveyDesign(weight="w"), n_boot=200)
    a = driver_importance(survey, random_state=11, **kw)
    b = driver_importance(survey, random_state=11, **kw)
    c = driver_importance(survey, random_state=12, **kw)
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(a["lmg_ci_low"], c["lmg_ci_low"])
    for m in ["correlation", "beta", "relative_weight", "relative_weight_pct", "lmg",
              "lmg_pct", "r2"]:  # fmt: skip
        assert (a[f"{m}_ci_low"] < a[m]).all() and (a[m] < a[f"{m}_ci_high"]).all(), m
    assert a.columns.get_loc("beta_ci_low") == a.columns.get_loc("beta") + 1


@pytest.mark.parametrize("missing", ["listwise", "pairwise"])
def test_replicates_equal_weighted_correlation_with_replicate_weights(survey, missing):
    """Each replicate is the weighted correlation under weight x its multiplier."""
    data = survey.copy()
    data.loc[data.index[::9], "b"] = np.nan
    cols = ["sat", "a", "b", "c"]
    prep = _prepare(data, cols, "w", missing)
    rng = np.random.default_rng(5)
    mult = rng.integers(0, 3, size=(len(prep.w), 3)).astype(float)
    reps = _corr_given_replicates(prep, mult)
    used = data[data[cols].notna().all(axis=1)] if missing == "listwise" else data
    for b in range(3):
        drawn = mult[:, b] > 0  # a multiplier of 0 leaves the respondent out
        replicate = used[drawn].assign(rw=used["w"].to_numpy()[drawn] * mult[drawn, b])
        expected = weighted_correlation(
            replicate, items=cols, design=SurveyDesign(weight="rw"), missing=missing
        )
        np.testing.assert_allclose(reps[b], expected.to_numpy(), atol=2e-6)


def test_design_bootstrap_multipliers_are_rao_wu(survey):
    """Per stratum n_h - 1 draws, multiplier count x n_h / (n_h - 1), shared by a PSU's rows.

    With unit weights the replicate sum of the weight is the sum of the multipliers over the
    rows: n exactly in every replicate (each stratum's multipliers add up to n_h), also
    with clusters of 4 in 2 strata. The replicate variance of the sum of a standardised
    item z (mean 0, sum of squares n) is the textbook with-replacement variance
    n / (n - 1) sum (z - z_bar)^2 = n^2 / (n - 1) (Rao & Wu 1988), to Monte Carlo error.
    """
    data = survey.assign(one=1.0)
    prep = _prepare(data, ["sat", "a"], "one", "listwise")
    n = len(prep.w)
    one_stratum = np.zeros(n, dtype=np.int64)
    total = _design_bootstrap_sums(
        prep, np.arange(n), one_stratum, False, 4000, np.random.default_rng(1)
    )
    np.testing.assert_allclose(total[:, 0], np.full(4000, float(n)), rtol=1e-5)  # float32 products
    assert np.var(total[:, 1], ddof=1) == pytest.approx(n * n / (n - 1), rel=0.06)
    unit = np.arange(n) // 4
    unit_stratum = (np.arange(unit.max() + 1) % 2).astype(np.int64)
    total = _design_bootstrap_sums(prep, unit, unit_stratum, True, 40, np.random.default_rng(2))
    np.testing.assert_allclose(total[:, 0], np.full(40, float(n)), rtol=1e-5)
    # the same seed, the same replicates
    same = _design_bootstrap_sums(prep, unit, unit_stratum, True, 40, np.random.default_rng(2))
    np.testing.assert_array_equal(total, same)


def test_design_bootstrap_unstratified_is_the_ordinary_bootstrap():
    """One PSU per respondent, no strata: the SE of a correlation is the iid bootstrap's.

    For bivariate normal data the SE of r is (1 - rho^2) / sqrt(n); the Rao-Wu bootstrap
    of a weights-only design (n - 1 of n respondents drawn) gives that spread.
    """
    rng = np.random.default_rng(5)
    n, rho = 2000, 0.5
    x = rng.standard_normal(n)
    frame = pd.DataFrame({"y": rho * x + np.sqrt(1 - rho**2) * rng.standard_normal(n), "x": x,
                          "z": rng.standard_normal(n), "w": 1.0, "id": np.arange(n)})  # fmt: skip
    kw = dict(outcome="y", drivers=["x", "z"], n_boot=1000, random_state=2, confidence=0.6827)
    plain = driver_importance(frame, design=SurveyDesign(weight="w"), **kw)
    psu = driver_importance(frame, design=SurveyDesign(weight="w", cluster="id"), **kw)
    pd.testing.assert_frame_equal(plain, psu)  # a respondent per PSU = no clusters
    half = (plain["correlation_ci_high"] - plain["correlation_ci_low"]).iloc[0] / 2
    assert half == pytest.approx((1 - rho**2) / np.sqrt(n), rel=0.1)


def test_design_bootstrap_widens_with_clusters():
    """Answers shared within clusters of 20: the intervals widen by about the design effect.

    With a cluster effect on both outcome and driver the correlation's spread grows
    (intra-cluster correlation 0.5 on both, deff ~ 1 + 19 x 0.25 ~ 5.8, SE ratio ~ 2);
    the respondent bootstrap of the same data stays narrow.
    """
    rng = np.random.default_rng(11)
    k, m = 100, 20
    c = np.repeat(np.arange(k), m)
    u, v = rng.standard_normal(k)[c], rng.standard_normal(k)[c]
    x = u + rng.standard_normal(k * m)
    y = 0.5 * x + u + v + rng.standard_normal(k * m)
    frame = pd.DataFrame({"y": y, "x": x, "z": rng.standard_normal(k * m), "c": c, "w": 1.0})
    kw = dict(outcome="y", drivers=["x", "z"], n_boot=400, random_state=3)
    iid = driver_importance(frame, design=SurveyDesign(weight="w"), **kw)
    clus = driver_importance(frame, design=SurveyDesign(weight="w", cluster="c"), **kw)
    width = {
        name: float((t["correlation_ci_high"] - t["correlation_ci_low"]).iloc[0])
        for name, t in (("iid", iid), ("clus", clus))
    }
    assert 1.5 < width["clus"] / width["iid"] < 3.5
    again = driver_importance(frame, design=SurveyDesign(weight="w", cluster="c"), **kw)
    pd.testing.assert_frame_equal(clus, again)  # the same seed, the same intervals
    strat = driver_importance(
        frame.assign(h=frame["c"] % 2), design=SurveyDesign(weight="w", strata="h", cluster="c"),
        **kw,
    )  # fmt: skip
    assert np.isfinite(strat["correlation_ci_low"]).all()


def test_given_replicates_give_normal_intervals(survey):
    """With a ReplicateDesign: estimate -/+ z x replicate SE of each measure."""
    from analysis_helpers.replicates import ReplicateDesign, as_replicate

    data = survey.assign(psu=np.arange(len(survey)) // 8)
    out, rep = as_replicate(data, SurveyDesign(weight="w", cluster="psu"), type="JK1")
    t = driver_importance(out, outcome="sat", drivers=DRIVERS, design=rep, n_boot=1)
    # by hand for the correlation of a: the JK1 replicate correlations
    reps = []
    for col in rep.replicates:
        keep = out[col] > 0
        r = weighted_correlation(out[keep], items=["sat", "a"], design=SurveyDesign(weight=col))
        reps.append(r.iloc[0, 1])
    reps = np.array(reps)
    se = np.sqrt(rep.scale * ((reps - reps.mean()) ** 2).sum())
    est = t["correlation"].iloc[0]
    z = 1.959963984540054
    np.testing.assert_allclose(t["correlation_ci_low"].iloc[0], est - z * se, rtol=1e-5)
    np.testing.assert_allclose(t["correlation_ci_high"].iloc[0], est + z * se, rtol=1e-5)
    assert isinstance(rep, ReplicateDesign)


def test_bootstrap_spread_matches_the_textbook_se_of_a_correlation():
    """For bivariate normal data, se(r) ~ (1 - rho^2) / sqrt(n)."""
    rng = np.random.default_rng(5)
    n, rho = 2000, 0.5
    x = rng.standard_normal(n)
    frame = pd.DataFrame({"y": rho * x + np.sqrt(1 - rho**2) * rng.standard_normal(n), "x": x,
                          "z": rng.standard_normal(n)})  # fmt: skip
    t = driver_importance(frame, outcome="y", drivers=["x", "z"], n_boot=1000, random_state=2,
                          confidence=0.6827)  # fmt: skip
    half_width = (t["correlation_ci_high"] - t["correlation_ci_low"]).iloc[0] / 2
    assert half_width == pytest.approx((1 - rho**2) / np.sqrt(n), rel=0.15)


# ---------------------------------------------------------------------------------------
# Shapley above the limit
# ---------------------------------------------------------------------------------------


def test_shapley_skipped_above_limit_is_noted(survey):
    t = driver_importance(survey, outcome="sat", drivers=DRIVERS, lmg_max_drivers=4,
                          n_boot=20, random_state=0)  # fmt: skip
    assert t["lmg"].isna().all() and t["lmg_ci_low"].isna().all()
    assert t["relative_weight"].notna().all()
    assert t["note"].str.contains("lmg skipped: 5 drivers > lmg_max_drivers=4").all()
    assert t.attrs["notes"] == [t["note"].iloc[0]]


# ---------------------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------------------


def test_error_missing_column(survey):
    with pytest.raises(MissingColumnError, match="'nope'"):
        driver_importance(survey, outcome="sat", drivers=["a", "nope"])
    with pytest.raises(KeyError, match="'wt'"):
        driver_importance(survey, outcome="sat", drivers=["a"], design=SurveyDesign(weight="wt"))
    with pytest.raises(DriverError, match="'nope'"):
        weighted_correlation(survey, items=["nope", "a"])


def test_error_non_numeric(survey):
    with pytest.raises(DriverError, match="column 'region' must be numeric"):
        driver_importance(survey, outcome="sat", drivers=["a", "region"])


def test_error_constant_driver(survey):
    data = survey.assign(c=5.0, d=3.0)
    with pytest.raises(DriverError, match=r"constant .*'c' \(always 5\), 'd' \(always 3\)"):
        driver_importance(data, outcome="sat", drivers=DRIVERS)


def test_error_constant_outcome(survey):
    with pytest.raises(DriverError, match="outcome 'sat' is constant"):
        driver_importance(survey.assign(sat=7), outcome="sat", drivers=DRIVERS)


def test_error_collinear_set_is_named(survey):
    data = survey.assign(total=survey["a"] + 2 * survey["b"])
    with pytest.raises(DriverError, match="perfectly collinear: 'a', 'b', 'total'"):
        driver_importance(data, outcome="sat", drivers=[*DRIVERS, "total"])
    with pytest.raises(DriverError, match="collinear: 'c', 'c2'"):
        driver_importance(survey.assign(c2=survey["c"] * 2 + 1), outcome="sat",
                          drivers=["a", "c", "c2"])  # fmt: skip


def test_error_too_few_respondents(survey):
    small = survey.head(40)
    with pytest.raises(DriverError, match=r"only 40 respondents .*need at least 50"):
        driver_importance(small, outcome="sat", drivers=DRIVERS)
    assert len(driver_importance(small, outcome="sat", drivers=DRIVERS, min_per_driver=8)) == 5


def test_error_weights(survey):
    with pytest.raises(
        DriverError, match="driver_importance: weight column 'w' has the value nan in row 3"
    ):
        driver_importance(survey.assign(w=survey["w"].where(survey.index != 3)), outcome="sat",
                          drivers=DRIVERS, design=SurveyDesign(weight="w"))  # fmt: skip
    with pytest.raises(
        DriverError, match="driver_importance: weight column 'w' has the value -1.0 in row 3"
    ):
        driver_importance(survey.assign(w=survey["w"].where(survey.index != 3, -1.0)),
                          outcome="sat", drivers=DRIVERS, design=SurveyDesign(weight="w"))  # fmt: skip
    # one weight rule for the package: a zero weight is a data problem, not a dropped row
    with pytest.raises(DriverError, match="weight column 'w' has the value 0.0 in row 3"):
        driver_importance(survey.assign(w=survey["w"].where(survey.index != 3, 0.0)),
                          outcome="sat", drivers=DRIVERS, design=SurveyDesign(weight="w"))  # fmt: skip


def test_error_infinite_value(survey):
    with pytest.raises(DriverError, match="column 'a' has the value inf in row"):
        driver_importance(survey.assign(a=survey["a"].replace(5.0, np.inf)), outcome="sat",
                          drivers=DRIVERS)  # fmt: skip


def test_error_pairwise_without_overlap():
    frame = pd.DataFrame({"y": np.arange(40.0) % 7, "a": [1.0, 2, np.nan, np.nan] * 10,
                          "b": [np.nan, np.nan, 1.0, 3] * 10})  # fmt: skip
    with pytest.raises(DriverError, match="no respondent answered both 'a' and 'b'"):
        weighted_correlation(frame, items=["y", "a", "b"], missing="pairwise")


def test_error_no_complete_rows():
    frame = pd.DataFrame({"y": [1.0, np.nan], "a": [np.nan, 2.0]})
    with pytest.raises(DriverError, match="no respondent has a positive weight"):
        weighted_correlation(frame, items=["y", "a"])


def test_argument_errors(survey):
    kw = dict(outcome="sat", drivers=DRIVERS)
    with pytest.raises(ValueError, match="missing='both'"):
        driver_importance(survey, missing="both", **kw)
    with pytest.raises(ValueError, match="unknown 'dominance'"):
        driver_importance(survey, methods=("dominance",), **kw)
    with pytest.raises(ValueError, match="confidence must be in \\(0, 1\\), got 1.5"):
        driver_importance(survey, confidence=1.5, **kw)
    with pytest.raises(ValueError, match="n_boot=-1"):
        driver_importance(survey, n_boot=-1, **kw)
    with pytest.raises(ValueError, match="lmg_max_drivers=30"):
        driver_importance(survey, lmg_max_drivers=30, **kw)
    with pytest.raises(ValueError, match="outcome 'sat' is also listed"):
        driver_importance(survey, outcome="sat", drivers=["a", "sat"])
    with pytest.raises(ValueError, match="more than once: 'a'"):
        driver_importance(survey, outcome="sat", drivers=["a", "a"])


# ---------------------------------------------------------------------------------------
# permutation importance
# ---------------------------------------------------------------------------------------


def test_permutation_importance_finds_the_nonlinear_driver():
    rng = np.random.default_rng(0)
    n = 3000
    frame = pd.DataFrame(rng.uniform(-2, 2, (n, 3)), columns=["u", "v", "noise"])
    frame["y"] = frame["u"] ** 2 + 0.5 * frame["v"] + 0.3 * rng.standard_normal(n)
    frame["w"] = rng.uniform(0.5, 2, n)
    kw = dict(outcome="y", drivers=["u", "v", "noise"], design=SurveyDesign(weight="w"), random_state=4,
              n_repeats=3, max_rows=2000)  # fmt: skip
    t = permutation_importance_check(frame, **kw)
    assert list(t.columns) == ["driver", "importance", "importance_sd", "importance_pct", "rank",
                               "r2_test", "n", "n_test", "model"]  # fmt: skip
    assert t.set_index("driver")["rank"].to_dict() == {"u": 1, "v": 2, "noise": 3}
    assert t["n"].iloc[0] == 2000 and t["n_test"].iloc[0] == 600
    assert t["r2_test"].iloc[0] > 0.8
    pd.testing.assert_frame_equal(t, permutation_importance_check(frame, **kw))
    forest = permutation_importance_check(frame, model="random_forest", **kw)
    assert forest.set_index("driver")["rank"]["u"] == 1
    with pytest.raises(ValueError, match="model='svm'"):
        permutation_importance_check(frame, model="svm", **kw)
    with pytest.raises(DriverError, match="outcome 'y' is constant"):
        permutation_importance_check(frame.assign(y=1.0), **kw)
    with pytest.raises(DriverError, match="only 10 complete respondents"):
        permutation_importance_check(frame.head(10), **kw)


# ---------------------------------------------------------------------------------------
# importance-performance analysis
# ---------------------------------------------------------------------------------------


def test_quadrants_by_hand():
    importance = pd.Series({"price": 0.40, "staff": 0.30, "wait": 0.20, "decor": 0.10})
    performance = {"price": 6.0, "staff": 8.5, "wait": 7.0, "decor": 9.0}
    ipa = importance_performance(importance, performance)
    # crosshair at mean importance 0.25 and mean performance 7.625
    assert ipa["importance_cut"].iloc[0] == pytest.approx(0.25)
    assert ipa["performance_cut"].iloc[0] == pytest.approx(7.625)
    assert ipa.set_index("item")["quadrant"].to_dict() == {
        "price": "concentrate here",
        "staff": "keep up the good work",
        "wait": "low priority",
        "decor": "possible overkill",
    }
    mid = importance_performance(importance, performance, crosshair="midpoint", scale_midpoint=8)
    assert mid["importance_cut"].iloc[0] == pytest.approx(0.25)
    assert mid.set_index("item")["quadrant"]["wait"] == "low priority"
    assert set(QUADRANTS.values()) == {"concentrate here", "keep up the good work",
                                       "low priority", "possible overkill"}  # fmt: skip


def test_action_list_orders_by_importance_gap():
    importance = {"a": 0.5, "b": 0.3, "c": 0.35, "d": 0.05, "e": 0.1}
    performance = {"a": 5.0, "b": 4.0, "c": 6.0, "d": 9.0, "e": 9.5}
    ipa = importance_performance(importance, performance)
    actions = action_list(ipa)
    assert list(actions["item"]) == ["a", "c", "b"]
    assert list(actions["priority"]) == [1, 2, 3]
    assert (actions["quadrant"] == "concentrate here").all()


def test_ipa_from_importance_table(survey):
    table = driver_importance(
        survey, outcome="sat", drivers=DRIVERS, design=SurveyDesign(weight="w")
    )
    means = survey[DRIVERS].mean()
    ipa = importance_performance(table, means, measure="lmg_pct")
    np.testing.assert_allclose(ipa["importance"], table["lmg_pct"])
    perf = pd.DataFrame({"item": DRIVERS, "estimate": means.to_numpy()})
    pd.testing.assert_frame_equal(ipa, importance_performance(table, perf, measure="lmg_pct"))


def test_ipa_errors():
    with pytest.raises(KeyError, match=r"no performance for \['c'\]"):
        importance_performance({"a": 1.0, "c": 2.0}, {"a": 3.0})
    with pytest.raises(ValueError, match="needs scale_midpoint"):
        importance_performance({"a": 1.0}, {"a": 3.0}, crosshair="midpoint")
    with pytest.raises(ValueError, match="crosshair='median'"):
        importance_performance({"a": 1.0}, {"a": 3.0}, crosshair="median")
    with pytest.raises(ValueError, match="performance is missing for item 'a'"):
        importance_performance({"a": 1.0}, {"a": np.nan})
    with pytest.raises(KeyError, match="ipa lacks column"):
        action_list(pd.DataFrame({"item": ["a"]}))


# ---------------------------------------------------------------------------------------
# penalty-reward contrast analysis
# ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def kano():
    """'basic' hurts when low only, 'excite' pleases when high only, 'perf' is linear."""
    rng = np.random.default_rng(21)
    n = 3000
    frame = pd.DataFrame(rng.integers(1, 6, (n, 3)).astype(float),
                         columns=["basic", "excite", "perf"])  # fmt: skip
    frame["sat"] = (
        6
        - 1.5 * (frame["basic"] <= 2)
        + 1.5 * (frame["excite"] >= 4)
        + 0.6 * (frame["perf"] - 3)
        + rng.standard_normal(n)
    )
    frame["w"] = rng.uniform(0.5, 2.0, n)
    return frame


def test_penalty_reward_matches_statsmodels(kano):
    drivers = ["basic", "excite", "perf"]
    for cov_type in ["HC1", "HC3", "nonrobust"]:
        t = penalty_reward(kano, outcome="sat", drivers=drivers, low_max=2, high_min=4,
                           design=SurveyDesign(weight="w"), cov_type=cov_type).set_index("driver")  # fmt: skip
        low = (kano[drivers] <= 2).astype(float).add_suffix("_low")
        high = (kano[drivers] >= 4).astype(float).add_suffix("_high")
        x = sm.add_constant(pd.concat([low, high], axis=1))
        fit = sm.WLS(kano["sat"], x, weights=kano["w"]).fit(cov_type=cov_type, use_t=True)
        ci = fit.conf_int(0.05)
        for d in drivers:
            assert t.loc[d, "penalty"] == pytest.approx(-fit.params[f"{d}_low"], abs=1e-10)
            assert t.loc[d, "reward"] == pytest.approx(fit.params[f"{d}_high"], abs=1e-10)
            assert t.loc[d, "penalty_se"] == pytest.approx(fit.bse[f"{d}_low"], rel=1e-9)
            assert t.loc[d, "reward_se"] == pytest.approx(fit.bse[f"{d}_high"], rel=1e-9)
            assert t.loc[d, "penalty_p_value"] == pytest.approx(fit.pvalues[f"{d}_low"], rel=1e-6)
            assert t.loc[d, "reward_ci_low"] == pytest.approx(ci.loc[f"{d}_high", 0], rel=1e-9)
            assert t.loc[d, "penalty_ci_high"] == pytest.approx(-ci.loc[f"{d}_low", 0], rel=1e-9)
            contrast = np.zeros(len(fit.params))
            contrast[list(x.columns).index(f"{d}_low")] = -1
            contrast[list(x.columns).index(f"{d}_high")] = -1
            test = fit.t_test(contrast)
            assert t.loc[d, "difference"] == pytest.approx(float(test.effect[0]), abs=1e-10)
            assert t.loc[d, "difference_se"] == pytest.approx(float(test.sd[0, 0]), rel=1e-9)
            assert t.loc[d, "difference_p_value"] == pytest.approx(float(test.pvalue), rel=1e-6)
        assert t["r2"].iloc[0] == pytest.approx(fit.rsquared, abs=1e-10)
        assert t["n"].iloc[0] == len(kano)


def test_penalty_reward_classes(kano):
    drivers = ["basic", "excite", "perf"]
    for rule in ["difference", "ratio", "significance"]:
        t = penalty_reward(kano, outcome="sat", drivers=drivers, low_max=2, high_min=4,
                           design=SurveyDesign(weight="w"), rule=rule)  # fmt: skip
        assert t.set_index("driver")["factor_class"].to_dict() == {
            "basic": "basic", "excite": "excitement", "perf": "performance"}, rule  # fmt: skip
        assert t["significant"].all()


def test_penalty_reward_cutoffs_per_driver(kano):
    data = kano.assign(excite10=kano["excite"] * 2)  # a 2-10 scale
    t = penalty_reward(
        data,
        outcome="sat",
        drivers=["basic", "excite10"],
        low_max={"basic": 2, "excite10": 4},
        high_min={"basic": 4, "excite10": 8},
    )
    same = penalty_reward(kano, outcome="sat", drivers=["basic", "excite"], low_max=2,
                          high_min=4)  # fmt: skip
    np.testing.assert_allclose(t["reward"], same["reward"], atol=1e-12)
    assert list(t["low_max"]) == [2, 4] and list(t["n_low"]) == list(same["n_low"])


def test_penalty_reward_errors(kano):
    kw = dict(outcome="sat", drivers=["basic", "perf"])
    with pytest.raises(ValueError, match="low_max=4 must be below high_min=4"):
        penalty_reward(kano, low_max=4, high_min=4, **kw)
    with pytest.raises(DriverError, match="driver 'basic': no respondent rates it low"):
        penalty_reward(kano, low_max=0, high_min=4, **kw)
    with pytest.raises(DriverError, match="driver 'basic': every respondent rates it low"):
        penalty_reward(kano, low_max=5, high_min=6, **kw)
    with pytest.raises(DriverError, match="driver 'basic': no respondent rates it high"):
        penalty_reward(kano.assign(basic=kano["basic"].clip(upper=4)), low_max=2, high_min=5, **kw)
    two_point = kano.assign(basic=np.where(kano["basic"] > 3, 5.0, 1.0))
    with pytest.raises(DriverError, match=r"collinear: basic \(low\), basic \(high\)"):
        penalty_reward(two_point, low_max=2, high_min=4, **kw)
    with pytest.raises(KeyError, match="no cut-off for driver.*'perf'"):
        penalty_reward(kano, low_max={"basic": 2}, high_min=4, **kw)
    with pytest.raises(ValueError, match="rule='kano'"):
        penalty_reward(kano, low_max=2, high_min=4, rule="kano", **kw)
    with pytest.raises(DriverError, match="outcome 'sat' is constant"):
        penalty_reward(kano.assign(sat=1.0), low_max=2, high_min=4, **kw)


# ---------------------------------------------------------------------------------------
# segments and index weights
# ---------------------------------------------------------------------------------------


def test_segment_importance_stacks_segments(survey):
    t = segment_importance(
        survey, outcome="sat", drivers=DRIVERS, by="region", design=SurveyDesign(weight="w")
    )
    assert list(t.columns[:2]) == ["region", "driver"]
    assert list(t["region"].unique()) == ["north", "south"]
    north = driver_importance(survey[survey["region"] == "north"], outcome="sat",
                              drivers=DRIVERS, design=SurveyDesign(weight="w"))  # fmt: skip
    got = t[t["region"] == "north"].drop(columns="region").reset_index(drop=True)
    pd.testing.assert_frame_equal(got, north, check_exact=False, atol=1e-14)


def test_segment_importance_notes_small_segments(survey):
    data = survey.assign(seg=np.where(survey.index < 30, "tiny", "big"))
    t = segment_importance(data, outcome="sat", drivers=DRIVERS, by=["seg"], n_boot=10,
                           random_state=3)  # fmt: skip
    tiny = t[t["seg"] == "tiny"]
    assert tiny["lmg"].isna().all() and (tiny["n"] == 30).all()
    assert tiny["note"].str.contains("only 30 respondents").all()
    assert any(note.startswith("seg=tiny: only 30") for note in t.attrs["notes"])
    again = segment_importance(data, outcome="sat", drivers=DRIVERS, by=["seg"], n_boot=10,
                               random_state=3)  # fmt: skip
    pd.testing.assert_frame_equal(t, again)
    skipped = segment_importance(data, outcome="sat", drivers=DRIVERS, by="seg", errors="skip")
    assert list(skipped["seg"].unique()) == ["big"]
    with pytest.raises(DriverError, match="segment seg=tiny: only 30"):
        segment_importance(data, outcome="sat", drivers=DRIVERS, by="seg", errors="raise")
    with pytest.raises(KeyError, match="'wave'"):
        segment_importance(data, outcome="sat", drivers=DRIVERS, by="wave")


def test_index_weights(survey):
    t = driver_importance(survey, outcome="sat", drivers=DRIVERS, design=SurveyDesign(weight="w"))
    w = importance_to_index_weights(t)
    assert list(w.index) == DRIVERS and w.index.name == "item" and w.name == "weight"
    assert w.sum() == pytest.approx(1.0) and (w >= 0).all()
    np.testing.assert_allclose(w, t["relative_weight"] / t["relative_weight"].sum())
    beta = importance_to_index_weights(t, measure="beta")
    assert beta[t["beta"].to_numpy() < 0].eq(0).all()
    series = importance_to_index_weights(pd.Series({"x": 3.0, "y": 1.0}))
    assert series.to_dict() == {"x": 0.75, "y": 0.25}
    skipped = driver_importance(survey, outcome="sat", drivers=DRIVERS, lmg_max_drivers=2)
    with pytest.raises(DriverError, match="'lmg' is missing for: 'a'"):
        importance_to_index_weights(skipped, measure="lmg")
    with pytest.raises(DriverError, match="no driver has a positive"):
        importance_to_index_weights(pd.Series({"x": -1.0, "y": 0.0}))
    with pytest.raises(KeyError, match="'dominance' column"):
        importance_to_index_weights(t, measure="dominance")


def test_remaining_validation_branches(survey):
    kw = dict(outcome="sat", drivers=DRIVERS)
    with pytest.raises(ValueError, match="drivers is empty; give at least one column"):
        driver_importance(survey, outcome="sat", drivers=[])
    with pytest.raises(TypeError, match="must be a pandas DataFrame"):
        driver_importance(survey.to_numpy(), **kw)
    with pytest.raises(ValueError, match="n_boot=2.5"):
        driver_importance(survey, n_boot=2.5, **kw)
    with pytest.raises(ValueError, match="min_per_driver=-1"):
        driver_importance(survey, min_per_driver=-1, **kw)
    with pytest.raises(DriverError, match="column 'e' has no answers"):
        driver_importance(survey.assign(e=np.nan), missing="pairwise", **kw)


def test_importance_from_correlation_validation():
    names = ["y", "a", "b", "c"]
    not_pd = pd.DataFrame(
        [[1, 0.3, 0.3, 0.3], [0.3, 1, 0.9, -0.9], [0.3, 0.9, 1, 0.9], [0.3, -0.9, 0.9, 1]],
        index=names, columns=names,
    )  # fmt: skip
    with pytest.raises(DriverError, match="not positive definite .*'a', 'b', 'c'"):
        importance_from_correlation(not_pd, outcome="y")
    too_high = pd.DataFrame([[1, 0.8, 0.8], [0.8, 1, 0], [0.8, 0, 1]], index=names[:3],
                            columns=names[:3])  # fmt: skip
    with pytest.raises(DriverError, match=r"R\^2 = 1.28 > 1"):
        importance_from_correlation(too_high, outcome="y")
    with pytest.raises(MissingColumnError, match="outcome 'z'"):
        importance_from_correlation(too_high, outcome="z")
    with pytest.raises(MissingColumnError, match="'q'"):
        importance_from_correlation(too_high, outcome="y", drivers=["a", "q"])
    with pytest.raises(DriverError, match="has missing values"):
        importance_from_correlation(too_high.replace(0.0, np.nan), outcome="y")


def test_helper_argument_validation(survey, kano):
    with pytest.raises(ValueError, match="test_size=1.5"):
        permutation_importance_check(survey, outcome="sat", drivers=DRIVERS, random_state=0,
                                     test_size=1.5)  # fmt: skip
    with pytest.raises(ValueError, match="n_repeats must be at least 1"):
        permutation_importance_check(survey, outcome="sat", drivers=DRIVERS, random_state=0,
                                     n_repeats=0)  # fmt: skip
    table = driver_importance(survey, outcome="sat", drivers=DRIVERS)
    with pytest.raises(ValueError, match="item 'a' appears more than once"):
        importance_performance(pd.concat([table, table]), {d: 1.0 for d in DRIVERS})
    with pytest.raises(KeyError, match="'estimate' column"):
        importance_performance(table, pd.DataFrame({"item": DRIVERS}))
    with pytest.raises(ValueError, match="driver 'a' appears more than once"):
        importance_to_index_weights(pd.concat([table, table]))
    kw = dict(outcome="sat", drivers=["basic", "perf"], low_max=2, high_min=4)
    with pytest.raises(ValueError, match="cov_type='HC9'"):
        penalty_reward(kano, cov_type="HC9", **kw)
    with pytest.raises(ValueError, match="confidence must be in \\(0, 1\\), got 0"):
        penalty_reward(kano, confidence=0, **kw)
    with pytest.raises(ValueError, match="ratio=0.5"):
        penalty_reward(kano, ratio=0.5, **kw)
    with pytest.raises(DriverError, match="only 6 complete respondents"):
        penalty_reward(kano.head(6), **kw)
    with pytest.raises(ValueError, match="errors='ignore'"):
        segment_importance(survey, outcome="sat", drivers=DRIVERS, by="region", errors="ignore")
    with pytest.raises(DriverError, match="no segment of region could be analysed"):
        segment_importance(survey, outcome="sat", drivers=DRIVERS, by="region",
                           min_per_driver=1000)  # fmt: skip


# ---------------------------------------------------------------------------------------
# cut-offs from scales, multiple-comparison adjustment, item performance, index weights
# ---------------------------------------------------------------------------------------


def test_scale_cutoffs_by_hand():
    scales = pd.DataFrame({"item": ["a", "b", "c", "d"], "scale_min": [1, 1, 1, 0],
                           "scale_max": [5, 7, 10, 10]})  # fmt: skip
    t = scale_cutoffs(scales).set_index("item")
    assert t["low_max"].to_dict() == {"a": 2, "b": 2, "c": 3, "d": 2}
    assert t["high_min"].to_dict() == {"a": 4, "b": 6, "c": 8, "d": 8}
    wide = scale_cutoffs(scales, share=0.4).set_index("item")
    assert (wide.loc["a", "low_max"], wide.loc["a", "high_min"]) == (2, 4)
    assert (wide.loc["c", "low_max"], wide.loc["c", "high_min"]) == (4, 7)
    with pytest.raises(ValueError, match="between 0 and 0.5"):
        scale_cutoffs(scales, share=0.5)
    with pytest.raises(KeyError, match="lacks column"):
        scale_cutoffs(scales.drop(columns="scale_max"))
    with pytest.raises(ValueError, match="item 'x': its scale is too short"):
        scale_cutoffs(pd.DataFrame({"item": ["x"], "scale_min": [1], "scale_max": [2]}),
                      share=0.49)  # fmt: skip


def test_penalty_reward_takes_series_cutoffs_and_adjusts(kano):
    drivers = ["basic", "excite", "perf"]
    cuts = scale_cutoffs(pd.DataFrame({"item": drivers, "scale_min": 1, "scale_max": 5}))
    cuts = cuts.set_index("item")
    plain = penalty_reward(
        kano, outcome="sat", drivers=drivers, low_max=2, high_min=4, design=SurveyDesign(weight="w")
    )
    series = penalty_reward(kano, outcome="sat", drivers=drivers, low_max=cuts["low_max"],
                            high_min=cuts["high_min"], design=SurveyDesign(weight="w"))  # fmt: skip
    pd.testing.assert_frame_equal(plain, series)
    np.testing.assert_array_equal(plain["difference_p_adjusted"], plain["difference_p_value"])
    holm = penalty_reward(kano, outcome="sat", drivers=drivers, low_max=2, high_min=4,
                          design=SurveyDesign(weight="w"), correction="holm")  # fmt: skip
    for family in ("penalty", "reward", "difference"):
        raw = holm[f"{family}_p_value"].to_numpy()
        order = np.argsort(raw)
        by_hand = np.minimum(
            1, np.maximum.accumulate(raw[order] * (len(raw) - np.arange(len(raw))))
        )
        expected = np.empty_like(by_hand)
        expected[order] = by_hand
        np.testing.assert_allclose(holm[f"{family}_p_adjusted"], expected, rtol=1e-12)
    np.testing.assert_array_equal(holm["penalty_p_value"], plain["penalty_p_value"])
    # one noise attribute among the planted three: Holm keeps it a performance factor
    noise = kano.assign(noise=np.random.default_rng(3).integers(1, 6, len(kano)))
    t = penalty_reward(noise, outcome="sat", drivers=[*drivers, "noise"], low_max=2,
                       high_min=4, design=SurveyDesign(weight="w"), correction="bonferroni").set_index("driver")  # fmt: skip
    assert t.loc["noise", "factor_class"] == "performance"
    assert t.loc["basic", "factor_class"] == "basic"
    with pytest.raises(ValueError, match="correction='sidak'"):
        penalty_reward(kano, outcome="sat", drivers=drivers, low_max=2, high_min=4,
                       correction="sidak")  # fmt: skip


@pytest.fixture(scope="module")
def demo_study():
    from analysis_helpers.study import load_study

    return load_study(Path(__file__).resolve().parents[1] / "config" / "demo.yml",
                      check_files=False)  # fmt: skip


def test_item_performance_by_hand(demo_study):
    rng = np.random.default_rng(4)
    n = 200
    data = pd.DataFrame({
        "net_cov_home": rng.integers(1, 6, n).astype(float),
        "brand_trust": rng.integers(1, 11, n).astype(float),
        "rake_weight": rng.uniform(0.5, 2, n),
        "region": rng.choice(["north", "south"], n),
    })  # fmt: skip
    data.loc[:9, "net_cov_home"] = np.nan
    items = ["net_cov_home", "brand_trust"]
    mean = item_performance(data, study=demo_study, items=items).set_index("item")
    ok = data["net_cov_home"].notna()
    w = data["rake_weight"]
    by_hand = np.average(data.loc[ok, "net_cov_home"], weights=w[ok])
    assert mean.loc["net_cov_home", "estimate"] == pytest.approx(100 * (by_hand - 1) / 4)
    assert mean.loc["net_cov_home", "n"] == n - 10
    by_hand = np.average(data["brand_trust"], weights=w)
    assert mean.loc["brand_trust", "estimate"] == pytest.approx(100 * (by_hand - 1) / 9)
    assert (mean["ci_low"] < mean["estimate"]).all() and (mean["se"] > 0).all()
    assert mean.loc["brand_trust", "label"] == "Trustworthy"
    top = item_performance(data, study=demo_study, items=items, measure="top2").set_index("item")
    share = np.average(data["brand_trust"].isin([9, 10]), weights=w)
    assert top.loc["brand_trust", "estimate"] == pytest.approx(100 * share)
    share = np.average(data.loc[ok, "net_cov_home"].isin([4, 5]), weights=w[ok])
    assert top.loc["net_cov_home", "estimate"] == pytest.approx(100 * share)
    with pytest.raises(ValueError, match="measure='median'"):
        item_performance(data, study=demo_study, items=items, measure="median")
    with pytest.raises(KeyError, match="not in the study: 'nope'"):
        item_performance(data, study=demo_study, items=["nope"])
    with pytest.raises(KeyError, match="'net_indoor'"):
        item_performance(data, study=demo_study, items=["net_indoor"])


def test_with_index_weights(demo_study):
    hierarchy = demo_study.hierarchy()
    areas = list(dict.fromkeys(hierarchy["area"]))
    weights = pd.Series(np.arange(1, len(areas) + 1) / 36, index=areas)
    out = with_index_weights(hierarchy, weights)
    assert out is not hierarchy and hierarchy["weight_area"].isna().all()
    assert (out.groupby("area")["weight_area"].first() == weights.loc[sorted(areas)]).all()
    assert out.drop(columns="weight_area").equals(hierarchy.drop(columns="weight_area"))
    imp = pd.DataFrame({"driver": areas, "relative_weight": np.linspace(0.1, 0.01, len(areas))})
    out = with_index_weights(hierarchy, importance_to_index_weights(imp))
    assert out.groupby("area")["weight_area"].first().sum() == pytest.approx(1)
    with pytest.raises(KeyError, match="no weight for area"):
        with_index_weights(hierarchy, weights.iloc[1:])
    with pytest.raises(KeyError, match="unknown area"):
        with_index_weights(hierarchy, pd.concat([weights, pd.Series({"x": 0.1})]))
    with pytest.raises(ValueError, match="non-negative"):
        with_index_weights(hierarchy, weights.where(weights.index != areas[0], -1.0))
    with pytest.raises(ValueError, match="level='region'"):
        with_index_weights(hierarchy, weights, level="region")
    items = hierarchy["item"].tolist()
    out = with_index_weights(hierarchy, pd.Series(1 / len(items), index=items), level="item")
    assert out["weight_item"].sum() == pytest.approx(1)


def test_lmg_is_bootstrapped_only_when_asked_above_twelve_drivers():
    """13 drivers: the point LMG is there, its intervals only with boot_lmg=True."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((400, 13))
    frame = pd.DataFrame(x, columns=[f"x{j}" for j in range(13)])
    frame["y"] = x @ np.linspace(1, 0.1, 13) + rng.standard_normal(400)
    kw = dict(outcome="y", drivers=[f"x{j}" for j in range(13)], n_boot=20, random_state=1,
              min_per_driver=1)  # fmt: skip
    auto = driver_importance(frame, **kw)
    assert auto["lmg"].notna().all() and auto["lmg_ci_low"].isna().all()
    assert auto["relative_weight_ci_low"].notna().all()
    assert "lmg intervals not bootstrapped (13 drivers > 12" in auto["note"].iloc[0]
    asked = driver_importance(frame, boot_lmg=True, **kw)
    assert asked["lmg_ci_low"].notna().all() and asked["note"].iloc[0] == ""
    assert (asked["lmg_ci_low"] <= asked["lmg"]).all()
    pd.testing.assert_series_equal(auto["relative_weight_ci_low"], asked["relative_weight_ci_low"])
    off = driver_importance(frame.iloc[:, [0, 1, 2, 13]], outcome="y", drivers=["x0", "x1", "x2"],
                            n_boot=20, random_state=1, boot_lmg=False)  # fmt: skip
    assert off["lmg_ci_low"].isna().all() and "boot_lmg=False" in off["note"].iloc[0]
