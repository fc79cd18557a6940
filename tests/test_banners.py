"""Banner tables (analysis_helpers.banners): checked against R ``survey`` on public data with
strata and clusters (tests/reference/r_banner_tests.json, made by
tests/reference/r/banner_tests.R: svyby, svycontrast, svyttest, regTermTest, svychisq), against
pingouin (Welch ANOVA, Games-Howell), against the package's own banner (cross.banner), by hand
(Cramér's V, Holm and Benjamini-Hochberg), and on bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis_helpers.banners import (
    BANNER_PAIR_COLUMNS,
    BANNER_TABLE_COLUMNS,
    BANNER_TEST_COLUMNS,
    BannerRow,
    IndexRow,
    banner_footnote,
    banner_html,
    banner_rows,
    banner_show,
    banner_table,
    cramers_v,
    default_banner,
    study_banner,
    study_banners,
)
from analysis_helpers.cross import letters_for
from analysis_helpers.estimation import SurveyDesign
from analysis_helpers.trend import adjust_p

ROOT = Path(__file__).resolve().parents[1]
REF = ROOT / "tests" / "reference"
R = json.loads((REF / "r_banner_tests.json").read_text(encoding="utf-8"))["entries"]
DESIGNS = {
    # the design_call of the entries: svydesign(id=~1, strata=~stype, weights=~pw, fpc=~fpc)
    "apistrat": SurveyDesign(weight="pw", strata="stype", fpc="fpc"),
    # svydesign(id=~dnum, weights=~pw, data=apiclus1, fpc=~fpc)
    "apiclus1": SurveyDesign(weight="pw", cluster="dnum", fpc="fpc"),
}
ITEMS = ("api00", "hi700", "nps_code")


def api(name: str) -> pd.DataFrame:
    """The R data set with the derived columns of the references and numeric codes."""
    d = pd.read_csv(REF / "data" / f"survey_{name}.csv")
    der = pd.read_csv(REF / "data" / "survey_api_derived.csv")
    der = der[der["dataset"] == name].drop(columns="dataset")
    d = d.merge(der, on="snum", how="left", validate="1:1")
    d["awards_code"] = (d["awards"] == "Yes").astype(int)  # No = 0, Yes = 1 (R's order)
    d["sch.wide_code"] = (d["sch.wide"] == "Yes").astype(int)
    d["stype_code"] = d["stype"].map({"E": 1, "H": 2, "M": 3})
    d["meals_band_code"] = d["meals_band"].map({"0-25": 1, "26-50": 2, "51-75": 3, "76-100": 4})
    return d


def api_rows(d: pd.DataFrame) -> list[BannerRow]:
    lo, hi = int(d["api00"].min()), int(d["api00"].max())
    return [
        BannerRow("api00", ("mean",), "API 2000", lo, hi),
        BannerRow("hi700", ("mean",), "API >= 700", 0, 1),
        BannerRow("nps_code", ("mean",), "NPS-type code", -1, 1),
        BannerRow("awards_code", ("distribution",), "Awards", 0, 1, top=(1,), bottom=(0,)),
        BannerRow(
            "sch.wide_code", ("distribution",), "School-wide target", 0, 1, top=(1,), bottom=(0,)
        ),  # fmt: skip
        BannerRow("stype_code", ("distribution",), "School type", 1, 3),
        BannerRow("meals_band_code", ("distribution",), "Meals band", 1, 4),
    ]


CASES = [("apistrat", "stype"), ("apistrat", "meals_band"), ("apiclus1", "stype"),
         ("apiclus1", "meals_band")]  # fmt: skip


@pytest.fixture(scope="module", params=CASES, ids=[f"{a}-{b}" for a, b in CASES])
def ref_case(request):
    name, by = request.param
    d = api(name)
    res = banner_table(
        d, rows=api_rows(d), by=[by], design=DESIGNS[name], min_base=1, suppress_below=0
    )
    return name, by, d, res


def _r(name, by, key):
    return R[f"{name}.{by}.{key}"]


def test_domain_means_shares_and_nps_match_svyby(ref_case):
    name, by, _, res = ref_case
    t = res.table.set_index(["row", "column"])
    for item in ITEMS:
        ref = _r(name, by, f"{item}.domains")["values"]
        tol = _r(name, by, f"{item}.domains")["tolerance"]
        for value, est in ref["estimate"].items():
            cell = t.loc[(f"{item}:mean", f"{by}={value}")]
            assert cell["estimate"] == pytest.approx(est, rel=tol.get("estimate", 1e-8))
            assert cell["se"] == pytest.approx(ref["se"][value], rel=tol.get("se", 1e-8))


def test_against_total_and_rest_match_svycontrast_and_svyttest(ref_case):
    name, by, _, res = ref_case
    t = res.table.set_index(["row", "column"])
    for item in ITEMS:
        comp = _r(name, by, f"{item}.vs_complement")["values"]
        tot = _r(name, by, f"{item}.vs_total")["values"]
        for value in comp["estimate"]:
            cell = t.loc[(f"{item}:mean", f"{by}={value}")]
            assert cell["difference_rest"] == pytest.approx(comp["estimate"][value], rel=1e-8)
            assert cell["se_rest"] == pytest.approx(comp["se"][value], rel=1e-7)
            assert cell["difference_total"] == pytest.approx(tot["estimate"][value], rel=1e-8)
            assert cell["se_total"] == pytest.approx(tot["se"][value], rel=1e-7)
            key = f"{name}.{by}.{item}.svyttest_{value}_vs_rest"
            if key in R:  # svyttest(y ~ I(cell), D): df = degf(D) - 1
                assert cell["p_rest"] == pytest.approx(R[key]["values"]["p_value"], rel=1e-6)


def test_pairwise_tests_match_svycontrast_and_svyttest(ref_case):
    name, by, _, res = ref_case
    pairs = res.pairs.set_index(["row", "column_1", "column_2"])
    for item in ITEMS:
        ref = _r(name, by, f"{item}.pairwise")["values"]
        for contrast, est in ref["estimate"].items():
            a, b = contrast.split(" - ")  # a - b; our pairs are column_2 - column_1
            p = pairs.loc[(f"{item}:mean", f"{by}={a}", f"{by}={b}")]
            assert p["difference"] == pytest.approx(-est, rel=1e-8)
            assert p["se"] == pytest.approx(ref["se"][contrast], rel=1e-7)
            key = f"{name}.{by}.{item}.svyttest_{b}_vs_{a}"
            if key in R:  # svyttest on the two domains: df = degf(subset) - 1
                tt = R[key]["values"]
                assert p["df"] == tt["parameter"]["df"]
                assert p["statistic"] == pytest.approx(tt["statistic"]["t"], rel=1e-7)
                assert p["p_value"] == pytest.approx(tt["p_value"], rel=1e-6)


def test_letters_are_the_holm_adjusted_svyttests():
    """Letters of apistrat by stype, from R's svyttest p-values and p.adjust(holm)."""
    d = api("apistrat")
    res = banner_table(d, rows=api_rows(d)[:1], by=["stype"], design=DESIGNS["apistrat"],
                       min_base=1, suppress_below=0)  # fmt: skip
    p = [R[f"apistrat.stype.api00.svyttest_{k}"]["values"]["p_value"]
         for k in ("H_vs_E", "M_vs_E", "M_vs_H")]  # fmt: skip
    adj = adjust_p(p, correction="holm")
    assert adj[0] < 0.05 and adj[1] > 0.05 and adj[2] > 0.05  # only E > H
    t = res.table[res.table["row"] == "api00:mean"].set_index("value")
    assert t.loc["E", "letter"] == "A" and t.loc["H", "letter"] == "B"
    assert t.loc["E", "letters"] == "B"
    assert t.loc["H", "letters"] == "" and t.loc["M", "letters"] == ""
    # a second level at 0.15 gives E a lower-case c (Holm p 0.131 < 0.15)
    res2 = banner_table(d, rows=api_rows(d)[:1], by=["stype"], design=DESIGNS["apistrat"],
                        min_base=1, suppress_below=0, second_alpha=0.15)  # fmt: skip
    t2 = res2.table[res2.table["row"] == "api00:mean"].set_index("value")
    assert t2.loc["E", "letters"] == "B" and t2.loc["E", "letters_second"] == "c"


@pytest.mark.parametrize("correction,r_name", [("holm", "holm"), ("fdr_bh", "BH"),
                                               ("bonferroni", "bonferroni")])  # fmt: skip
def test_corrections_match_p_adjust(correction, r_name):
    for key, e in R.items():
        if key.endswith(".pairwise") and "p_adjust_t" in e["values"]:
            v = e["values"]
            names = list(v["p_t"])
            got = adjust_p([v["p_t"][k] for k in names], correction=correction)
            want = [v["p_adjust_t"][r_name][k] for k in names]
            np.testing.assert_allclose(got, want, rtol=1e-10)


def test_corrections_by_hand():
    p = [0.01, 0.04, 0.03, 0.20]
    # Holm: sorted 0.01, 0.03, 0.04, 0.20 times 4, 3, 2, 1 -> 0.04, 0.09, 0.08 -> 0.09, 0.2
    np.testing.assert_allclose(adjust_p(p, correction="holm"), [0.04, 0.09, 0.09, 0.2])
    # BH: 0.2*4/4 = 0.2, 0.04*4/3 = 0.0533, 0.03*4/2 = 0.06 -> min with next 0.0533, 0.01*4
    np.testing.assert_allclose(
        adjust_p(p, correction="fdr_bh"), [0.04, 0.04 * 4 / 3, 0.04 * 4 / 3, 0.2]
    )
    np.testing.assert_allclose(adjust_p(p, correction="none"), p)
    assert np.isnan(adjust_p([np.nan, 0.01], correction="holm")[0])
    with pytest.raises(ValueError, match="adjust_p: correction='sidak'; use one of"):
        adjust_p(p, correction="sidak")


def test_wald_f_matches_regtermtest(ref_case):
    name, by, _, res = ref_case
    tests = res.tests.set_index("row")
    for item in ITEMS:
        ref = _r(name, by, f"{item}.wald_F")["values"]
        got = tests.loc[f"{item}:mean"]
        assert got["test"] == "wald_f"
        assert got["f_statistic"] == pytest.approx(ref["F"], rel=1e-7)
        assert got["df_num"] == ref["df"] and got["df_den"] == ref["ddf"]
        assert got["p_value"] == pytest.approx(ref["p"], rel=1e-6)
        chi = _r(name, by, f"{item}.wald_chisq")["values"]
        assert got["chisq"] == pytest.approx(chi["chisq"], rel=1e-7)


def test_rao_scott_matches_svychisq(ref_case):
    name, by, _, res = ref_case
    tests = res.tests.set_index("row")
    found = 0
    for other in ("awards", "sch.wide", "stype", "meals_band"):
        key = f"{name}.{by}.svychisq_{other}_F"
        if other == by or key not in R:
            continue
        got = tests.loc[f"{other}_code:distribution"]
        f = R[key]["values"]
        chi = R[f"{name}.{by}.svychisq_{other}_Chisq"]["values"]
        assert got["test"] == "rao_scott"
        assert got["f_statistic"] == pytest.approx(f["statistic"]["F"], rel=1e-7)
        assert got["df_num"] == pytest.approx(f["parameter"]["ndf"], rel=1e-7)
        assert got["df_den"] == pytest.approx(f["parameter"]["ddf"], rel=1e-7)
        assert got["p_value"] == pytest.approx(f["p_value"], rel=1e-6)
        assert got["chisq"] == pytest.approx(chi["statistic"]["X-squared"], rel=1e-8)
        assert got["p_chisq"] == pytest.approx(chi["p_value"], rel=1e-6)
        r, c = len(R[f"{name}.{by}.total_pct_{other}"]["values"]["estimate"]), got["k"]
        assert got["cramers_v"] == pytest.approx(
            np.sqrt(got["chisq"] / (got["n"] * (min(r, c) - 1))), rel=1e-12
        )
        found += 1
    assert found >= 2


def test_distribution_rows_are_svyby_column_percentages(ref_case):
    name, by, _, res = ref_case
    t = res.table.set_index(["row", "column"])
    ref = _r(name, by, "column_pct_awards")["values"]
    for key, est in ref["estimate"].items():
        value, cat = key.split(":")
        code = "1" if cat == "awardsYes" else "0"
        cell = t.loc[(f"awards_code:{code}", f"{by}={value}")]
        assert cell["estimate"] == pytest.approx(est, rel=1e-10)
        assert cell["se"] == pytest.approx(ref["se"][key], rel=1e-7)
    # the nets of a 0/1 item are its two codes
    top = t.loc[("awards_code:top", f"{by}={value}")]
    assert top["estimate"] == pytest.approx(ref["estimate"][f"{value}:awardsYes"], rel=1e-10)
    total = _r(name, by, "total_pct_awards")["values"]
    cell = t.loc[("awards_code:1", "total")]
    assert cell["estimate"] == pytest.approx(total["estimate"]["awardsYes"], rel=1e-10)
    assert cell["se"] == pytest.approx(total["se"]["awardsYes"], rel=1e-7)


def test_nested_banner_matches_svyby_of_the_interaction():
    d = api("apiclus1")
    res = banner_table(d, rows=api_rows(d)[:1], by=[["stype", "sch.wide"]],
                       design=DESIGNS["apiclus1"], min_base=1, suppress_below=0)  # fmt: skip
    ref = R["apiclus1.nested_stype_sch.wide.api00.domains"]["values"]
    t = res.table[res.table["row"] == "api00:mean"].set_index("value")
    for key, est in ref["estimate"].items():
        s, w = key.split(".")
        assert t.loc[f"{s} / {w}", "estimate"] == pytest.approx(est, rel=1e-10)
        assert t.loc[f"{s} / {w}", "se"] == pytest.approx(ref["se"][key], rel=1e-7)
    assert t.loc["E / No", "outer_value"] == "E"
    within = R["apiclus1.nested_stype_sch.wide.api00.pairwise_within"]["values"]
    pairs = res.pairs.set_index(["column_1", "column_2"])
    v = "stype > sch.wide"
    assert len(pairs) == 3  # only within each school type: E.No-E.Yes, H..., M...
    for key, est in within["estimate"].items():
        s = key[0]
        p = pairs.loc[(f"{v}={s} / No", f"{v}={s} / Yes")]
        assert p["difference"] == pytest.approx(est, rel=1e-8)
        assert p["se"] == pytest.approx(within["se"][key], rel=1e-7)


def test_welch_and_games_howell_match_pingouin():
    pg = pytest.importorskip("pingouin")
    rng = np.random.default_rng(3)
    n = 400
    g = rng.choice(["a", "b", "c", "d"], n, p=[0.4, 0.3, 0.2, 0.1])
    shift = pd.Series(g).map({"a": 0.0, "b": 0.4, "c": -0.3, "d": 0.1}).to_numpy()
    y = np.clip(np.round(3 + shift + rng.normal(0, 1 + (g == "c"), n)), 1, 5)
    d = pd.DataFrame({"g": g, "y": y})
    res = banner_table(d, rows=[BannerRow("y", ("mean",), "Y", 1, 5)], by=["g"],
                       min_base=2, suppress_below=0)  # fmt: skip
    welch = pg.welch_anova(data=d, dv="y", between="g").iloc[0]
    got = res.tests.iloc[0]
    assert got["welch_f"] == pytest.approx(welch["F"], rel=1e-9)
    assert got["welch_df_den"] == pytest.approx(welch["ddof2"], rel=1e-9)
    assert got["welch_p"] == pytest.approx(welch["p_unc"] if "p_unc" in welch else welch["p-unc"],
                                           rel=1e-6)  # fmt: skip
    gh = pg.pairwise_gameshowell(data=d, dv="y", between="g").set_index(["A", "B"])
    for r in res.pairs.itertuples():
        a, b = r.column_1.split("=")[1], r.column_2.split("=")[1]
        want = gh.loc[(a, b), "pval"]
        assert r.games_howell_p == pytest.approx(want, rel=1e-6, abs=1e-12)
    # a weighted design has no Welch or Games-Howell
    d["w"] = rng.uniform(0.5, 2, n)
    res_w = banner_table(d, rows=[BannerRow("y", ("mean",), "Y", 1, 5)], by=["g"],
                         design=SurveyDesign(weight="w"), min_base=2, suppress_below=0)  # fmt: skip
    assert res_w.tests["welch_f"].isna().all() and res_w.pairs["games_howell_p"].isna().all()


def test_cramers_v_by_hand():
    # 2 x 2 table [[30, 10], [10, 30]] (n = 80): X^2 = 20, V = sqrt(20 / 80) = 0.5
    assert cramers_v(20.0, 80, 2, 2) == pytest.approx(0.5)
    assert cramers_v(10.0, 100, 3, 4) == pytest.approx(np.sqrt(10 / 200))
    assert np.isnan(cramers_v(1.0, 10, 1, 3))
    d = pd.DataFrame({"g": ["a"] * 40 + ["b"] * 40, "y": [1] * 30 + [0] * 10 + [1] * 10 + [0] * 30})
    res = banner_table(d, rows=[BannerRow("y", ("distribution",), "Y", 0, 1)], by=["g"],
                       min_base=1, suppress_below=0)  # fmt: skip
    t = res.tests.iloc[0]
    assert t["chisq"] == pytest.approx(20.0) and t["cramers_v"] == pytest.approx(0.5)
    # simple random sample: the design effect is n / (n - 1) per cell, so the Rao-Scott F
    # is X^2 / ((n - 1) / n) scaled to 1 df
    assert t["df_num"] == pytest.approx(1.0)
    assert t["f_statistic"] == pytest.approx(20.0 * 79 / 80, rel=1e-9)


def test_letters_and_columns():
    assert [letters_for(k) for k in (0, 1, 25, 26, 27)] == ["A", "B", "Z", "AA", "AB"]
    with pytest.raises(ValueError, match="k must be >= 0"):
        letters_for(-1)


# --------------------------------------------------------------------------------------
# Bad input: a clear message or a documented flag, never a crash
# --------------------------------------------------------------------------------------
@pytest.fixture()
def small():
    rng = np.random.default_rng(5)
    n = 300
    return pd.DataFrame(
        {
            "seg": rng.choice(["a", "b", "c"], n),
            "q": rng.integers(1, 6, n).astype(float),
            "same": np.full(n, 4.0),
        }
    )


def test_banner_variable_not_in_data(small):
    with pytest.raises(KeyError, match="banner variable 'region' is not a column of the data"):
        banner_table(small, rows=[BannerRow("q", ("mean",), "Q", 1, 5)], by=["region"])
    with pytest.raises(KeyError, match="item 'nope' is not a column of the data"):
        banner_table(small, rows=[BannerRow("nope", ("mean",), "Q", 1, 5)], by=["seg"])
    with pytest.raises(ValueError, match="at least one banner variable"):
        banner_table(small, rows=[BannerRow("q", ("mean",), "Q", 1, 5)], by=[])
    with pytest.raises(ValueError, match="unknown statistic 'median'"):
        BannerRow("q", ("median",), "Q", 1, 5)
    with pytest.raises(ValueError, match="second_alpha 0.01 must be above alpha 0.05"):
        banner_table(small, rows=[BannerRow("q", ("mean",), "Q", 1, 5)], by=["seg"],
                     second_alpha=0.01)  # fmt: skip
    with pytest.raises(ValueError, match=r"has the value 7 in row 0; its codes are the integers"):
        banner_table(small.assign(q=np.r_[7.0, small["q"][1:]]),
                     rows=[BannerRow("q", ("mean",), "Q", 1, 5)], by=["seg"])  # fmt: skip


def test_columns_with_0_or_1_respondents(small):
    one = small.copy()
    one.loc[0, "seg"] = "d"  # a column of one respondent
    rows = [BannerRow("q", ("mean", "distribution"), "Q", 1, 5)]
    res = banner_table(one, rows=rows, by=["seg"], values={"seg": ["a", "b", "c", "d", "e"]})
    t = res.table[res.table["row"] == "q:mean"].set_index("value")
    assert t.loc["d", "flag"] == "suppressed" and np.isnan(t.loc["d", "estimate"])
    assert t.loc["e", "flag"] == "no respondents" and t.loc["e", "n"] == 0
    assert t.loc[["d", "e"], "letters"].eq("").all()
    assert not res.pairs["column_1"].str.endswith(("=d", "=e")).any()
    # with every base rule off, the single respondent has an estimate but no variance:
    # nothing is tested (p NaN), nothing crashes
    res1 = banner_table(one, rows=rows, by=["seg"], min_base=1, suppress_below=0)
    d = res1.table[(res1.table["row"] == "q:mean") & (res1.table["value"] == "d")].iloc[0]
    assert d["n"] == 1 and d["se"] == 0 and d["flag"] == "one respondent"
    assert np.isnan(d["p_rest"]) and d["estimate"] == one.loc[0, "q"]
    pairs = res1.pairs[res1.pairs["column_2"] == "seg=d"]
    assert pairs["p_value"].isna().all() and not pairs["significant"].any()


def test_a_row_without_variance(small):
    res = banner_table(small, rows=[BannerRow("same", ("mean", "distribution"), "S", 1, 5)],
                       by=["seg"])  # fmt: skip
    t = res.table
    np.testing.assert_allclose(t.loc[t["row"] == "same:mean", "estimate"], 4.0)
    assert (t["letters"] == "").all() and t["p_rest"].isna().all()
    tests = res.tests.set_index("row")
    assert tests.loc["same:mean", "flag"] == "no variance"
    assert tests.loc["same:distribution", "flag"] == "no variance"
    assert np.isnan(tests.loc["same:mean", "p_value"])


def test_all_cells_suppressed(small):
    res = banner_table(small.head(12), rows=[BannerRow("q", ("mean", "distribution"), "Q", 1, 5)],
                       by=["seg"])  # fmt: skip
    cells = res.table[res.table["column"] != "total"]
    assert set(cells["flag"]) == {"suppressed"} and cells["estimate"].isna().all()
    assert res.pairs.empty
    assert set(res.tests["flag"]) == {"fewer than 2 columns"}
    total = res.table[res.table["column"] == "total"]
    assert (total["flag"] == "low base").all() and total["estimate"].notna().all()


def test_missing_banner_values_count_in_total_and_in_every_rest(small):
    d = small.copy()
    d.loc[:19, "seg"] = np.nan
    res = banner_table(d, rows=[BannerRow("q", ("mean",), "Q", 1, 5)], by=["seg"])
    t = res.table.set_index("column")
    assert t.loc["total", "n"] == len(d)
    assert t.loc[["seg=a", "seg=b", "seg=c"], "n"].sum() == len(d) - 20
    for v in "abc":
        rest = d[d["seg"] != v]["q"].mean()  # NaN segment is in the rest
        assert t.loc[f"seg={v}", "estimate"] - t.loc[f"seg={v}", "difference_rest"] == (
            pytest.approx(rest)
        )


def test_result_columns(small):
    res = banner_table(small, rows=[BannerRow("q", ("mean", "top_box", "bottom_box",
                                                     "distribution"), "Q", 1, 5)],
                       by=["seg"])  # fmt: skip
    assert list(res.table.columns) == BANNER_TABLE_COLUMNS
    assert list(res.tests.columns) == BANNER_TEST_COLUMNS
    assert list(res.pairs.columns) == BANNER_PAIR_COLUMNS
    rows = list(dict.fromkeys(res.table["row"]))
    assert rows == ["q:mean", "q:top_box", "q:bottom_box", "q:1", "q:2", "q:3", "q:4", "q:5",
                    "q:top", "q:bottom"]  # fmt: skip
    t = res.table.set_index(["row", "column"])
    for col in ("total", "seg=a"):
        shares = sum(t.loc[(f"q:{k}", col), "estimate"] for k in range(1, 6))
        assert shares == pytest.approx(1.0)
        assert t.loc[("q:top", col), "estimate"] == pytest.approx(
            t.loc[("q:4", col), "estimate"] + t.loc[("q:5", col), "estimate"]
        )
        assert t.loc[("q:top", col), "estimate"] == t.loc[("q:top_box", col), "estimate"]
    q = small["q"]
    assert t.loc[("q:mean", "total"), "estimate"] == pytest.approx(q.mean())
    assert t.loc[("q:mean", "total"), "se"] == pytest.approx(q.std() / np.sqrt(len(q)))
    assert res.settings["design"] == "simple random sample"


# --------------------------------------------------------------------------------------
# The study's banners
# --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def study():
    from analysis_helpers.study import load_study

    return load_study(ROOT / "config" / "demo.yml", check_files=False)


def _demo_frame(study, n=600):
    """``n`` respondents of the demo study as in tests/test_cross.py (two waves here)."""
    rng = np.random.default_rng(11)
    cols = {}
    for name, it in study.items.items():
        x = rng.integers(it.scale.min, it.scale.max + 1, n).astype(float)
        x[rng.random(n) < 0.05] = np.nan
        cols[name] = x
    frame = pd.DataFrame(cols)
    for seg in study.segments:
        frame[seg.column] = rng.choice(list(seg.values), n)
    frame["rake_weight"] = rng.uniform(0.5, 2.0, n)
    frame["wave"] = rng.choice(study.waves[-2:], n)
    hb = frame["customer_type"] == "high_bill"
    low = study.items[study.kpis.overall].scale.min
    frame.loc[hb, study.kpis.overall] = np.where(
        rng.random(hb.sum()) < 0.6, low, frame.loc[hb, study.kpis.overall]
    )
    return frame


def test_study_banner_agrees_with_cross_banner(study):
    """The KPI rows of the study's banner are cross.banner's cells: estimates, SEs, bases,
    letters and the tests against the rest (both design-based, Holm within the segment)."""
    from analysis_helpers.cross import banner

    frame = _demo_frame(study)
    spec = default_banner(study)
    res = study_banner(frame, study=study, banner=spec)
    old = banner(frame, study=study, areas=False).set_index(["row", "column"])
    keys = {"osat:mean": "overall_mean", "osat:top_box": "overall_top2", "ces:mean": "ces_mean",
            "nps_recommend:nps": "nps", "repurchase:top_box": "repurchase_top2"}  # fmt: skip
    t = res.table
    assert set(t["row"]) == set(keys)
    for r in t.itertuples():
        o = old.loc[(keys[r.row], r.column)]
        assert r.estimate == pytest.approx(o["estimate"], rel=1e-10, nan_ok=True)
        assert r.se == pytest.approx(o["se"], rel=1e-8, nan_ok=True)
        assert r.n == o["n"]
        assert r.n_effective == pytest.approx(o["n_effective"], rel=1e-10)
        if r.column != "total":
            assert r.letters == o["letters"].replace(" ", "")
            assert r.p_rest == pytest.approx(o["p_rest"], rel=1e-7, nan_ok=True)
    hb = t[(t["row"] == "osat:mean") & (t["value"] == "high_bill")].iloc[0]
    assert hb["significant_total"] == "below"
    assert hb["variable_label"] == study.segment("customer_type").title


def test_study_banners_from_the_study_file(study, tmp_path):
    from analysis_helpers.study import BannerSpec

    frame = _demo_frame(study)
    spec = BannerSpec(name="nested", by=[["region", "customer_type"]], items=["osat"],
                      statistics=["distribution"], correction="fdr_bh", second_alpha=0.1,
                      by_wave=True, tests=["pairwise", "omnibus"])  # fmt: skip
    frame = _demo_frame(study, n=2400)
    st = study.__class__(
        study.spec.model_copy(update={"banners": [spec]}), path=study.path, root=study.root
    )
    out = study_banners(frame, study=st)
    assert [w for _, w, _ in out] == study.waves[-2:]
    res = out[0][2]
    assert res.settings["correction"] == "fdr_bh" and res.settings["second_alpha"] == 0.1
    t = res.table
    assert (t["variable"] == "region > customer_type").all()
    titles = [study.segment(c).title for c in ("region", "customer_type")]
    assert t["variable_label"].iloc[0] == " × ".join(titles)
    pairs = res.pairs
    outer = pairs["column_1"].str.split("=").str[1].str.split(" / ").str[0]
    outer2 = pairs["column_2"].str.split("=").str[1].str.split(" / ").str[0]
    assert (outer == outer2).all()  # letters only within a region
    assert "osat:distribution" in set(res.tests["row"])
    rows = banner_rows(st, spec)
    assert [r.item for r in rows][:1] == [study.kpis.overall]


def test_study_banner_without_segments_or_rows(study):
    from analysis_helpers.study import BannerSpec

    frame = _demo_frame(study)
    res = study_banner(frame, study=study, banner=BannerSpec(name="x", by=["region"], kpis=False))
    assert res.table.empty and list(res.table.columns) == BANNER_TABLE_COLUMNS
    with pytest.raises(KeyError, match="no banner named 'nope'"):
        study_banner(frame, study=study, banner="nope")


# --------------------------------------------------------------------------------------
# The banners: section of the study file
# --------------------------------------------------------------------------------------
def _banner(**kw):
    return {"name": "b", "by": ["region"], **kw}


BANNER_CASES = [
    ("unknown segment", [_banner(by=["regio"])],
     "banners[0].by[0]: 'regio' is not a segment column (segments: ['customer_type', "
     "'tenure', 'region', 'channel'])"),
    ("unknown nested segment", [_banner(by=[["region", "plan"]])],
     "banners[0].by[0][1]: 'plan' is not a segment column (segments: ['customer_type', "
     "'tenure', 'region', 'channel'])"),
    ("nested with itself", [_banner(by=[["region", "region"]])],
     "banners[0].by: [0]: a nested banner variable is [outer, inner], two different segment "
     "columns; got ['region', 'region']"),
    ("nested three deep", [_banner(by=[["region", "tenure", "channel"]])],
     "banners[0].by: [0]: a nested banner variable is [outer, inner], two different segment "
     "columns; got ['region', 'tenure', 'channel']"),
    ("unknown item", [_banner(items=["osat", "nope"])],
     "banners[0].items[1]: unknown item 'nope'"),
    ("unknown statistic", [_banner(items=["osat"], statistics=["median"])],
     "banners[0].statistics[0]: Input should be 'mean', 'top_box', 'bottom_box', 'nps' or "
     "'distribution'"),
    ("unknown test", [_banner(tests=["anova"])],
     "banners[0].tests[0]: Input should be 'pairwise', 'total', 'rest' or 'omnibus'"),
    ("unknown correction", [_banner(correction="sidak")],
     "banners[0].correction: Input should be 'holm', 'fdr_bh', 'bonferroni' or 'none'"),
    ("second level not weaker", [_banner(second_alpha=0.01)],
     "banners[0].second_alpha: 0.01 must be above alpha 0.05 (lower-case letters mark the "
     "weaker level)"),
    ("second level below the banner's alpha", [_banner(alpha=0.1, second_alpha=0.1)],
     "banners[0].second_alpha: 0.1 must be above alpha 0.1 (lower-case letters mark the "
     "weaker level)"),
    ("alpha out of range", [_banner(alpha=1.5)],
     "banners[0].alpha: Input should be less than 1"),
    ("no rows", [_banner(kpis=False)],
     "banners[0]: no rows: set kpis: true or list items or index rows"),
    ("unknown index row", [_banner(index=["csi", "items"])],
     "banners[0].index[1]: Input should be 'csi', 'areas' or 'indicators'"),
    ("no banner variable", [_banner(by=[])],
     "banners[0].by: List should have at least 1 item after validation, not 0"),
    ("duplicate names", [_banner(), _banner()], "banners: name 'b' is used 2 times"),
    ("a misspelt key", [_banner(nesting=True)],
     "banners[0].nesting: unexpected key (check the spelling; see docs/study-file.md)"),
    ("bad name", [_banner(name="my banner")],
     "banners[0].name: String should match pattern '^[A-Za-z0-9_-]+$'"),
]  # fmt: skip


@pytest.mark.parametrize(
    "banners,message", [c[1:] for c in BANNER_CASES], ids=[c[0] for c in BANNER_CASES]
)
def test_banner_section_errors(tmp_path, banners, message):
    import yaml

    from analysis_helpers.study import StudyFileError, load_study

    raw = yaml.safe_load((ROOT / "config" / "demo.yml").read_text(encoding="utf-8"))
    raw["banners"] = banners
    (tmp_path / "config").mkdir()
    path = tmp_path / "config" / "study.yml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(StudyFileError) as info:
        load_study(path, check_files=False)
    lines = str(info.value).splitlines()
    assert f"{path}: {message}" in lines, str(info.value)


def test_the_demo_study_has_banners(study):
    names = [b.name for b in study.banners]
    assert names == ["segments", "region_by_type"]
    nested = study.banners[1]
    assert nested.by == [["region", "customer_type"]] and nested.correction == "fdr_bh"
    rows = banner_rows(study, study.banners[0])
    keys = [r.key if isinstance(r, IndexRow) else r.item for r in rows]
    assert keys[:4] == ["osat", "nps_recommend", "ces", "repurchase"]
    # index: [csi, areas] - the CSI, then the 8 areas, after the KPIs and before the items
    k = keys.index("csi")
    assert k >= 4 and all(x.startswith("area:") for x in keys[k + 1 : k + 9])
    assert keys[k + 9 :] == ["cmp_speed", "cmp_resolved", "bill_no_surprise"]


# --------------------------------------------------------------------------------------
# Presentation: footnote, styled HTML, the workbook sheet
# --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def shown(study):
    from analysis_helpers.study import BannerSpec

    frame = _demo_frame(study)
    spec = BannerSpec(name="kpis", title="KPIs by customer type", by=["customer_type"],
                      items=["cmp_resolved"], statistics=["distribution"],
                      second_alpha=0.2)  # fmt: skip
    return study_banner(frame, study=study, banner=spec)


def test_footnote_names_test_levels_and_correction(shown):
    note = banner_footnote(shown)
    assert "upper case at p < 0.05, lower case at p < 0.2" in note
    assert "design-based t test of the difference, weighted, stratified" in note
    assert "Holm correction within each row and banner variable" in note
    assert "above (green) or below (red) Total" in note
    assert "Low base" not in note and "effective bases (Kish)" in note
    low = type(shown)(
        shown.table.assign(flag=["low base"] + [""] * (len(shown.table) - 1)),
        shown.tests, shown.pairs, {**shown.settings, "correction": "fdr_bh"},
    )  # fmt: skip
    note = banner_footnote(low)
    assert "† Low base: fewer than 30 respondents, not tested." in note
    assert "Benjamini-Hochberg (FDR) correction" in note


def test_html_has_superscript_letters_colours_and_bases(shown):
    html = banner_html(shown, caption="KPIs <by> type")
    assert "<caption>KPIs &lt;by&gt; type</caption>" in html  # escaped
    t = shown.table
    hb = t[(t["row"] == "osat:mean") & (t["value"] == "high_bill")].iloc[0]
    contract = t[(t["row"] == "osat:mean") & (t["value"] == "contract")].iloc[0]
    assert hb["significant_total"] == "below" and "B" in contract["letters"]
    assert f"<td class='below'>{hb['estimate']:.2f}</td>" in html
    assert f"{contract['estimate']:.2f}<sup>{contract['letters']}" in html
    assert "<td class='row'>Effective base</td>" in html
    lower = t[t["letters_second"] != ""]
    assert (
        not lower.empty and (lower["letters_second"] == lower["letters_second"].str.lower()).all()
    )
    from analysis_helpers.safe_output import escape_html

    assert escape_html(banner_footnote(shown)) in html


def test_the_workbook_sheet_has_numbers_letters_frozen_header_and_footnote(shown, tmp_path, study):
    import openpyxl

    from analysis_helpers.deliverables import build_deliverables
    from analysis_helpers.notebook import setup

    ctx = setup("config/demo.yml", str(tmp_path / "rep"), notebook="40-cross")
    bad = shown.table.assign(  # a value label a spreadsheet would run as a formula
        value_label=shown.table["value_label"].where(
            shown.table["value"] != "prepaid", '=HYPERLINK("http://x")'
        )
    )
    res = type(shown)(bad, shown.tests, shown.pairs, shown.settings)
    ctx.show(**banner_show(res, caption="KPIs by customer type"))
    build_deliverables(ctx.report_dir, ctx.study)
    ws = openpyxl.load_workbook(ctx.report_dir / "report.xlsx").worksheets[1]
    assert ws["A1"].value == "KPIs by customer type"
    rows = {ws.cell(r, 1).value: r for r in range(1, ws.max_row + 1)}
    heads = [ws.cell(4, c).value for c in range(1, ws.max_column + 1)]
    assert ws.freeze_panes == "A6"
    col = heads.index(f"{study.segment('customer_type').values['contract']} (A)") + 1
    r = rows["Overall satisfaction 总体满意度: mean"]
    cell = shown.table[(shown.table["row"] == "osat:mean") & (shown.table["value"] == "contract")]
    assert ws.cell(r, col).value == pytest.approx(cell["estimate"].iloc[0])
    assert ws.cell(r, col).number_format == "0.00"
    assert ws.cell(r, col + 1).value == cell["letters"].iloc[0] + cell["letters_second"].iloc[0]
    share = rows["Overall satisfaction 总体满意度: top-2-box"]
    assert ws.cell(share, col).number_format == "0%"
    assert ws.cell(rows["Base"], col).number_format == "#,##0"
    injected = [c for row in ws.iter_rows() for c in row if str(c.value).startswith("=HYPER")]
    assert injected and all(c.data_type == "s" and c.quotePrefix for c in injected)
    texts = [str(c.value) for row in ws.iter_rows() for c in row if c.value]
    assert banner_footnote(shown) in texts


def test_no_colours_or_letters_when_the_banner_does_not_test_them(study):
    from analysis_helpers.study import BannerSpec

    frame = _demo_frame(study)
    res = study_banner(frame, study=study, banner=BannerSpec(name="x", by=["customer_type"],
                                                             tests=["omnibus"]))  # fmt: skip
    html = banner_html(res)
    assert "class='below'" not in html and "<sup>" not in html
    assert (res.table["letters"] == "").all() and res.pairs.empty
    assert "Letters:" not in banner_footnote(res) and "Colour:" not in banner_footnote(res)


def test_items_a_wave_did_not_ask_have_no_rows(study):
    from analysis_helpers.study import BannerSpec

    frame = _demo_frame(study).drop(columns=["cmp_speed"])
    spec = BannerSpec(name="x", by=["region"], items=["cmp_speed", "cmp_resolved"])
    rows = set(study_banner(frame, study=study, banner=spec).table["item"])
    assert "cmp_speed" not in rows and "cmp_resolved" in rows
