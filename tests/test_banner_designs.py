"""Banners on replicate-weight and multi-stage designs against R ``survey`` 4.1.1.

References: ``tests/reference/r_banner_designs.json`` (made by
``tests/reference/r/banner_designs.R``): JK1 replicates of apiclus1 (``as.svrepdesign``; the
frozen replicate weights ``data/rep_apiclus1_jk1.csv`` R made) and the two-stage apiclus2
sample with an fpc per stage (``svydesign(id=~dnum+snum, fpc=~fpc1+fpc2)``).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis_helpers.banners import BannerRow, banner_table
from analysis_helpers.estimation import SurveyDesign, survey_mean
from analysis_helpers.kpis import csi
from analysis_helpers.replicates import ReplicateDesign

REF = Path(__file__).resolve().parent / "reference"
R = json.loads((REF / "r_banner_designs.json").read_text(encoding="utf-8"))["entries"]
JK1 = json.loads((REF / "r_survey_designs.json").read_text(encoding="utf-8"))["entries"][
    "apiclus1_JK1.design"
]["values"]
LEVELS = ("E", "H", "M")


def _data(name: str) -> pd.DataFrame:
    d = pd.read_csv(REF / "data" / f"survey_{name}.csv")
    d["hi700"] = (d["api00"] >= 700).astype(float)  # the entries' setup
    d["awards_code"] = (d["awards"] == "Yes").astype(int)
    return d


def jk1() -> tuple[pd.DataFrame, ReplicateDesign]:
    """apiclus1 with R's JK1 replicate weights and the design R reported (scale, df)."""
    d = _data("apiclus1")
    reps = pd.read_csv(REF / "data" / "rep_apiclus1_jk1.csv")
    cols = [c for c in reps.columns if c.startswith("rep")]
    d = d.merge(reps[["snum", *cols]], on="snum", validate="1:1")
    design = ReplicateDesign(
        weight="pw", replicates=cols, type="JK1", scale=JK1["scale"], rscales=JK1["rscales"],
        mse=JK1["mse"], df=JK1["df"],
    )  # fmt: skip
    return d, design


def twostage() -> tuple[pd.DataFrame, SurveyDesign]:
    """apiclus2 as R's svydesign(id=~dnum+snum, fpc=~fpc1+fpc2) (weights from the fpc)."""
    return _data("apiclus2"), SurveyDesign(cluster=["dnum", "snum"], fpc=["fpc1", "fpc2"])


CASES = {"apiclus1_JK1": jk1, "apiclus2_twostage": twostage}


@pytest.fixture(scope="module", params=list(CASES))
def case(request):
    d, design = CASES[request.param]()
    lo, hi = int(d["api00"].min()), int(d["api00"].max())
    rows = [
        BannerRow("api00", ("mean",), "API 2000", lo, hi),
        BannerRow("hi700", ("mean",), "API >= 700", 0, 1),
        BannerRow("awards_code", ("distribution",), "Awards", 0, 1),
    ]
    res = banner_table(d, rows=rows, by=["stype"], design=design, min_base=1, suppress_below=0)
    return request.param, d, design, res


def ref(name: str, key: str) -> dict:
    return R[f"{name}.{key}"]["values"]


def test_cells_match_svyby(case):
    name, _, _, res = case
    t = res.table.set_index(["row", "column"])
    for item in ("api00", "hi700"):
        r = ref(name, f"{item}.domains")
        for v in LEVELS:
            cell = t.loc[(f"{item}:mean", f"stype={v}")]
            assert cell["estimate"] == pytest.approx(r["estimate"][v], rel=1e-8)
            assert cell["se"] == pytest.approx(r["se"][v], rel=1e-8)


def test_against_rest_and_total_match_svycontrast(case):
    name, _, _, res = case
    t = res.table.set_index(["row", "column"])
    for item in ("api00", "hi700"):
        comp, tot = ref(name, f"{item}.vs_complement"), ref(name, f"{item}.vs_total")
        for v in LEVELS:
            cell = t.loc[(f"{item}:mean", f"stype={v}")]
            assert cell["difference_rest"] == pytest.approx(comp["estimate"][v], rel=1e-8)
            assert cell["se_rest"] == pytest.approx(comp["se"][v], rel=1e-8)
            assert cell["difference_total"] == pytest.approx(tot["estimate"][v], rel=1e-8)
            assert cell["se_total"] == pytest.approx(tot["se"][v], rel=1e-8)
        tt = ref(name, f"{item}.svyttest_H_vs_rest")  # svyttest: df = degf(D) - 1
        cell = t.loc[(f"{item}:mean", "stype=H")]
        assert cell["p_rest"] == pytest.approx(tt["p_value"], rel=1e-7)


def test_pairs_and_their_df(case):
    name, _, design, res = case
    pairs = res.pairs.set_index(["row", "column_1", "column_2"])
    df = ref(name, "df")["df"]
    for item in ("api00", "hi700"):
        r = ref(name, f"{item}.pairwise")
        for contrast, est in r["estimate"].items():
            a, b = contrast.split(" - ")
            p = pairs.loc[(f"{item}:mean", f"stype={a}", f"stype={b}")]
            assert p["difference"] == pytest.approx(-est, rel=1e-8)
            assert p["se"] == pytest.approx(r["se"][contrast], rel=1e-8)
            if isinstance(design, ReplicateDesign):  # the replicates' df minus 1
                assert p["df"] == df - 1


def test_wald_and_rao_scott_match_r(case):
    name, _, _, res = case
    tests = res.tests.set_index("row")
    for item in ("api00", "hi700"):
        r = ref(name, f"{item}.wald_F")
        got = tests.loc[f"{item}:mean"]
        assert got["f_statistic"] == pytest.approx(r["F"], rel=1e-7)
        assert got["df_den"] == r["ddf"]
        assert got["p_value"] == pytest.approx(r["p"], rel=1e-6)
    got = tests.loc["awards_code:distribution"]
    f, chi = ref(name, "svychisq_awards_F"), ref(name, "svychisq_awards_Chisq")
    assert got["f_statistic"] == pytest.approx(f["statistic"]["F"], rel=1e-7)
    assert got["df_num"] == pytest.approx(f["parameter"]["ndf"], rel=1e-7)
    assert got["df_den"] == pytest.approx(f["parameter"]["ddf"], rel=1e-7)
    assert got["p_value"] == pytest.approx(f["p_value"], rel=1e-6)
    assert got["chisq"] == pytest.approx(chi["statistic"]["X-squared"], rel=1e-8)
    assert got["p_chisq"] == pytest.approx(chi["p_value"], rel=1e-6)


def test_replicate_cells_are_the_spread_of_the_replicate_ratios():
    d, design = jk1()
    res = banner_table(d, rows=[BannerRow("hi700", ("mean",), "Hi", 0, 1)], by=["stype"],
                       design=design, min_base=1, suppress_below=0)  # fmt: skip
    cell = res.table.set_index("column").loc["stype=H"]
    W = d[list(design.replicates)].to_numpy()
    y, h = d["hi700"].to_numpy(), (d["stype"] == "H").to_numpy()
    # by hand: each replicate's share in H minus its share in the rest
    diff = (W[h].T @ y[h]) / W[h].sum(axis=0) - (W[~h].T @ y[~h]) / W[~h].sum(axis=0)
    rs = np.asarray(design.rscales)
    se = np.sqrt(design.scale * (rs * (diff - diff.mean()) ** 2).sum())
    assert cell["se_rest"] == pytest.approx(se, rel=1e-12)
    tot = survey_mean(d, items="hi700", by="stype", design=design).set_index("stype")
    assert cell["se"] == pytest.approx(float(tot.loc["H", "se"]), rel=1e-12)


# --------------------------------------------------------------------------------------
# index rows and csi(by=...) (the items of banner_index.R)
# --------------------------------------------------------------------------------------
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


def _items(d: pd.DataFrame) -> pd.DataFrame:
    """The items of the entries' setup (``items()``)."""
    cut5 = lambda x: 1.0 + np.searchsorted([550, 650, 750, 850], x, side="left")  # noqa: E731
    d = d.copy()
    d["q1"] = cut5(d["api00"])
    d["q2"] = np.where(d["snum"] % 4 == 0, np.nan, cut5(d["api99"]))
    q3 = 1.0 + np.searchsorted([20, 40, 60, 80], d["meals"], side="left")
    d["q3"] = np.where(d["stype"] == "H", np.nan, q3)
    return d


@pytest.mark.parametrize("name", list(CASES))
def test_index_rows_and_csi_by_group_match_r(name):
    from analysis_helpers.banner_index import IndexRow

    d, design = CASES[name]()
    d = _items(d)
    res = banner_table(d, rows=[IndexRow("index", "index", "CSI")], by=["stype"], design=design,
                       hierarchy=HIER, min_base=2, suppress_below=1)  # fmt: skip
    t = res.table.set_index("column")
    r, rd = ref(name, "index"), ref(name, "index_differences")
    assert t.loc["total", "estimate"] == pytest.approx(r["estimate"]["total"], rel=1e-8)
    assert t.loc["total", "se"] == pytest.approx(r["se"]["total"], rel=1e-8)
    for v in LEVELS:
        cell = t.loc[f"stype={v}"]
        assert cell["estimate"] == pytest.approx(r["estimate"][v], rel=1e-8)
        assert cell["se"] == pytest.approx(r["se"][v], rel=1e-8)
        assert cell["difference_rest"] == pytest.approx(rd["estimate"][f"{v} - rest"], rel=1e-8)
        assert cell["se_rest"] == pytest.approx(rd["se"][f"{v} - rest"], rel=1e-8)
    pair = res.pairs.set_index(["column_1", "column_2"]).loc[("stype=E", "stype=H")]
    assert pair["difference"] == pytest.approx(rd["estimate"]["H - E"], rel=1e-8)
    assert pair["se"] == pytest.approx(rd["se"]["H - E"], rel=1e-8)
    # csi(by=...) refits every replicate the same way (issue 15: no linearised replicates)
    c = csi(d, hierarchy=HIER, by="stype", design=design)
    c = c[c["level"] == "index"].set_index("stype")
    for v in LEVELS:
        assert c.loc[v, "estimate"] == pytest.approx(r["estimate"][v], rel=1e-8)
        assert c.loc[v, "se"] == pytest.approx(r["se"][v], rel=1e-8)
    overall = csi(d, hierarchy=HIER, design=design).set_index(["level", "name"])
    assert overall.loc[("index", "index"), "se"] == pytest.approx(r["se"]["total"], rel=1e-8)


def test_a_replicate_study_gets_its_banners(tmp_path):
    """40-cross no longer leaves replicate studies out: the study's banner (and cross.banner)
    use the replicates - the Total of the overall item is survey_mean's replicate SE."""
    import copy

    import yaml

    from analysis_helpers.banners import default_banner, study_banner
    from analysis_helpers.cross import banner
    from analysis_helpers.study import load_study
    from analysis_helpers.study_tables import study_design

    root = Path(__file__).resolve().parents[1]
    raw = copy.deepcopy(yaml.safe_load((root / "config" / "demo.yml").read_text("utf-8")))
    cols = ["ra", "rb", "rc", "rd"]
    raw["data"]["design"].update(
        strata=None, cluster=None, fpc=None, replicates={"columns": cols, "type": "JK1"}
    )
    (tmp_path / "config").mkdir()
    path = tmp_path / "config" / "study.yml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    study = load_study(path, check_files=False)
    rng = np.random.default_rng(5)
    n = 400
    frame = pd.DataFrame(
        {
            name: rng.integers(it.scale.min, it.scale.max + 1, n).astype(float)
            for name, it in study.items.items()
            if it.scale is not None
        }
    )
    for seg in study.segments:
        frame[seg.column] = rng.choice(list(seg.values), n)
    frame["rake_weight"] = rng.uniform(0.5, 2.0, n)
    for k, col in enumerate(cols):
        frame[col] = np.where(np.arange(n) % 4 == k, 0.0, frame["rake_weight"] * 4 / 3)
    design = study_design(study)
    assert isinstance(design, ReplicateDesign)
    res = study_banner(frame, study=study, banner=default_banner(study))
    overall = study.kpis.overall
    tot = res.table[(res.table["row"] == f"{overall}:mean") & (res.table["column"] == "total")]
    want = survey_mean(frame, items=overall, design=design)
    assert float(tot["se"].iloc[0]) == pytest.approx(float(want["se"].iloc[0]), rel=1e-10)
    assert (res.pairs["df"] == 2).all()  # the replicates' df (3) minus 1
    old = banner(frame, study=study, areas=False)
    assert old["se"].notna().any()


def test_raked_index_rows_equal_csi_by_group_and_the_projected_rows():
    """Raked one-stage design: the index cells' SEs (fixed part from sums, calibration part
    from the per-cell totals) are csi(by=...)'s raking-aware SEs, and the rest's SE is the
    variance of the projected influence values (PreparedDesign.vcov on the rows)."""
    from analysis_helpers.banner_index import IndexRow
    from analysis_helpers.estimation import Calibration

    d = _items(_data("apistrat"))
    d["half"] = np.where(d["meals"] > 50, "high", "low")
    design = SurveyDesign(weight="pw", strata="stype", fpc="fpc",
                          calibration=Calibration(["sch.wide", "awards"]))  # fmt: skip
    res = banner_table(d, rows=[IndexRow("index", "index", "CSI")], by=["half"], design=design,
                       hierarchy=HIER, min_base=2, suppress_below=1)  # fmt: skip
    t = res.table.set_index("column")
    c = csi(d, hierarchy=HIER, by="half", design=design)
    c = c[c["level"] == "index"].set_index("half")
    for v in ("high", "low"):
        assert t.loc[f"half={v}", "estimate"] == pytest.approx(c.loc[v, "estimate"], rel=1e-10)
        assert t.loc[f"half={v}", "se"] == pytest.approx(c.loc[v, "se"], rel=1e-9)
    fixed = csi(d, hierarchy=HIER, by="half", design=SurveyDesign(weight="pw", strata="stype",
                fpc="fpc")).set_index(["half", "level"])  # fmt: skip
    assert abs(fixed.loc[("high", "index"), "se"] - c.loc["high", "se"]) > 1e-6  # raking counts
    # high minus the rest (= low): the projected rows' variance of the difference
    prep = design.prepare(d)
    w = prep.w
    z = np.zeros(len(d))
    for sign, v in ((1.0, "high"), (-1.0, "low")):
        m = (d["half"] == v).to_numpy()
        for item, a in (("q1", 3 / 8), ("q2", 3 / 8), ("q3", 1 / 4)):
            y = d[item].to_numpy()
            ok = m & ~np.isnan(y)
            mean = (w[ok] @ y[ok]) / w[ok].sum()
            z[ok] += sign * a * 25 * w[ok] * (y[ok] - mean) / w[ok].sum()
    se = float(np.sqrt(prep.vcov(z[:, None])[0, 0]))
    assert t.loc["half=high", "se_rest"] == pytest.approx(se, rel=1e-9)
