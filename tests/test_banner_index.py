"""Index rows of banners (analysis_helpers.banner_index, banners.banner_table).

Checked against R ``survey`` (tests/reference/r_banner_index.json, made by
tests/reference/r/banner_index.R: the index as a delta-method function of svyby domain
totals, on stratified and clustered samples, with item nonresponse and an item one column
never answered), against :func:`analysis_helpers.kpis.csi` by group (the renormalisation
over asked items), by hand, and on bad input.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis_helpers.banners import BannerRow, IndexRow, banner_table, index_rows_of
from analysis_helpers.estimation import SurveyDesign
from analysis_helpers.kpis import csi

ROOT = Path(__file__).resolve().parents[1]
REF = ROOT / "tests" / "reference"
R = json.loads((REF / "r_banner_index.json").read_text(encoding="utf-8"))["entries"]
HIER = pd.DataFrame(
    {
        "item": ["q1", "q2", "q3"],
        "indicator": ["A", "A", "B"],
        "area": ["A", "A", "B"],
        "scale_min": [1, 1, 1],
        "scale_max": [5, 5, 5],
        "weight_area": [3.0, 3.0, 1.0],
    }
)
DESIGNS = {
    # svydesign(id=~1, strata=~stype, weights=~pw, data=apistrat, fpc=~fpc)
    "apistrat": (SurveyDesign(weight="pw", strata="stype", fpc="fpc"), "meals_half"),
    # svydesign(id=~dnum, weights=~pw, data=apiclus1, fpc=~fpc)
    "apiclus1": (SurveyDesign(weight="pw", cluster="dnum", fpc="fpc"), "stype"),
}
NODES = {"csi": "csi", "area_A": "area:A", "area_B": "area:B"}


def api_items(name: str) -> pd.DataFrame:
    """The R data set with the items of the reference's setup (``items()``)."""
    d = pd.read_csv(REF / "data" / f"survey_{name}.csv")
    cut5 = lambda x: 1.0 + np.searchsorted([550, 650, 750, 850], x, side="left")  # noqa: E731
    d["q1"] = cut5(d["api00"])
    d["q2"] = np.where(d["snum"] % 4 == 0, np.nan, cut5(d["api99"]))
    q3 = 1.0 + np.searchsorted([20, 40, 60, 80], d["meals"], side="left")
    d["q3"] = np.where(d["stype"] == "H", np.nan, q3)
    d["meals_half"] = np.where(d["meals"] > 50, "high", "low")
    return d


@pytest.fixture(scope="module", params=list(DESIGNS))
def case(request):
    name = request.param
    design, by = DESIGNS[name]
    d = api_items(name)
    rows = index_rows_of(HIER, ["csi", "areas"])
    res = banner_table(d, rows=rows, by=[by], design=design, hierarchy=HIER, min_base=2,
                       suppress_below=1)  # fmt: skip
    (entry,) = [v for k, v in R.items() if k.startswith(f"{name}.")]
    return res, entry["values"], by


def test_index_cells_match_r_survey(case):
    res, ref, by = case
    t = res.table.set_index(["row", "column"])
    for node, key in NODES.items():
        r = ref[node]
        for value, est in r["estimate"].items():
            cell = t.loc[(key, f"{by}={value}")]
            assert cell["estimate"] == pytest.approx(est, rel=1e-9)
            assert cell["se"] == pytest.approx(r["se"][value], rel=1e-9)
        tot = t.loc[(key, "total")]
        assert tot["estimate"] == pytest.approx(r["total"]["estimate"], rel=1e-9)
        assert tot["se"] == pytest.approx(r["total"]["se"], rel=1e-9)


def test_index_rest_and_pairwise_differences_match_r_survey(case):
    res, ref, by = case
    t = res.table.set_index(["row", "column"])
    pairs = res.pairs.set_index(["row", "column_1", "column_2"])
    for node, key in NODES.items():
        r = ref[node]
        for value, diff in r["rest_difference"].items():
            cell = t.loc[(key, f"{by}={value}")]
            assert cell["difference_rest"] == pytest.approx(diff, rel=1e-9)
            assert cell["se_rest"] == pytest.approx(r["rest_se"][value], rel=1e-9)
        for name, diff in r["pairwise_difference"].items():
            j, i = name.split(" - ")
            p = pairs.loc[(key, f"{by}={i}", f"{by}={j}")]
            assert p["difference"] == pytest.approx(diff, rel=1e-9)
            assert p["se"] == pytest.approx(r["pairwise_se"][name], rel=1e-9)


def test_unasked_item_renormalises_like_csi_by_group():
    """High schools never answer q3: their CSI is area A alone (csi(by=...) per group)."""
    d = api_items("apiclus1")
    design = SurveyDesign(weight="pw", cluster="dnum", fpc="fpc")
    res = banner_table(d, rows=index_rows_of(HIER, ["csi", "areas"]), by=["stype"],
                       design=design, hierarchy=HIER, min_base=2, suppress_below=1)  # fmt: skip
    t = res.table.set_index(["row", "column"])
    ref = csi(d, hierarchy=HIER, by="stype", design=design).set_index(["stype", "level", "name"])
    for s in ("E", "H", "M"):
        for key, (lvl, name) in {"csi": ("index", "index"), "area:A": ("area", "A")}.items():
            assert t.loc[(key, f"stype={s}"), "estimate"] == pytest.approx(
                ref.loc[(s, lvl, name), "estimate"], rel=1e-12
            )
            assert t.loc[(key, f"stype={s}"), "se"] == pytest.approx(
                ref.loc[(s, lvl, name), "se"], rel=1e-12
            )
    h_csi = t.loc[("csi", "stype=H"), "estimate"]
    assert h_csi == pytest.approx(t.loc[("area:A", "stype=H"), "estimate"], rel=1e-12)
    assert t.loc[("area:B", "stype=H"), "flag"] == "no respondents"
    overall = csi(d, hierarchy=HIER, design=design).set_index(["level", "name"])
    assert t.loc[("csi", "total"), "se"] == pytest.approx(overall.loc[("index", "index"), "se"])


def test_one_item_index_by_hand():
    """One item, simple random sample: 25 (mean - 1); a column's SE is the domain SE.

    Domain of n_a of n respondents: var = n / (n - 1) sum_a (y - ybar_a)^2 / n_a^2 (R
    ``svyby``, the with-replacement variance of the domain's linearised values); the two
    columns' totals of linearised values are 0, so their covariance is 0.
    """
    d = pd.DataFrame({"q": [1, 2, 3, 4, 5, 5, 4, 4], "g": list("aaaabbbb")})
    h = pd.DataFrame({"item": ["q"], "indicator": ["x"], "area": ["x"], "scale_min": [1],
                      "scale_max": [5]})  # fmt: skip
    res = banner_table(d, rows=[IndexRow("index", "index", "CSI")], by=["g"], hierarchy=h,
                       min_base=2, suppress_below=1)  # fmt: skip
    t = res.table.set_index("column")
    a, b = np.array([1, 2, 3, 4.0]), np.array([5, 5, 4, 4.0])
    assert t.loc["g=a", "estimate"] == pytest.approx(25 * (a.mean() - 1))
    se_a = 25 * np.sqrt(8 / 7 * ((a - a.mean()) ** 2).sum() / 16)
    se_b = 25 * np.sqrt(8 / 7 * ((b - b.mean()) ** 2).sum() / 16)
    assert t.loc["g=a", "se"] == pytest.approx(se_a)
    assert t.loc["g=b", "se"] == pytest.approx(se_b)
    x = np.r_[a, b]
    assert t.loc["total", "se"] == pytest.approx(25 * x.std(ddof=1) / np.sqrt(8))
    p = res.pairs.iloc[0]
    assert p["difference"] == pytest.approx(25 * (b.mean() - a.mean()))
    assert p["se"] == pytest.approx(np.hypot(se_a, se_b))
    assert t.loc["g=b", "letters"] == "A" and t.loc["g=a", "letters"] == ""
    assert t.loc["g=b", "unit"] == "index (0-100)"


def test_index_rows_beside_item_rows_and_tests():
    d = api_items("apistrat")
    design = SurveyDesign(weight="pw", strata="stype", fpc="fpc")
    rows = [BannerRow("q1", ("mean",), "Q1", 1, 5), *index_rows_of(HIER, ["csi"])]
    res = banner_table(d, rows=rows, by=["meals_half"], design=design, hierarchy=HIER)
    assert list(dict.fromkeys(res.table["row"])) == ["q1:mean", "csi"]
    test = res.tests.set_index("row").loc["csi"]
    assert test["test"] == "wald_f" and test["p_value"] < 0.001
    # two columns: the Wald F is the square of the pairwise t
    p = res.pairs.set_index("row").loc["csi"]
    assert test["f_statistic"] == pytest.approx(p["statistic"] ** 2)


def test_index_rows_of_levels_and_labels():
    h = pd.DataFrame({"item": ["a", "b", "c"], "indicator": ["i1", "i2", "z"],
                      "area": ["x", "x", "z"], "scale_min": 1, "scale_max": 5})  # fmt: skip
    rows = index_rows_of(h, ["csi", "areas", "indicators"], {"x": "Area X", "i1": "Ind 1"})
    assert [r.key for r in rows] == ["csi", "area:x", "indicator:i1", "indicator:i2", "area:z"]
    assert rows[1].label == "Area X" and rows[2].label == "Ind 1" and rows[3].label == "i2"


def test_bad_index_input():
    d = pd.DataFrame({"q1": [1.0, 2.0], "g": ["a", "b"]})
    with pytest.raises(ValueError, match="index rows need the hierarchy"):
        banner_table(d, rows=[IndexRow("index", "index", "CSI")], by=["g"])
    with pytest.raises(ValueError, match="unknown level 'item'"):
        IndexRow("item", "q1", "Q1")
    with pytest.raises(ValueError, match="unknown index rows 'items'"):
        index_rows_of(HIER, ["csi", "items"])
