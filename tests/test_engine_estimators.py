"""The out-of-core engine gives the in-memory numbers (1e-10) for every estimator family."""

import numpy as np
import pandas as pd
import pytest

from analysis_helpers import engine as E
from analysis_helpers import estimation, kpis
from analysis_helpers.drivers import weighted_correlation
from analysis_helpers.engine import sql
from analysis_helpers.estimation import SurveyDesign

ITEMS = ["q0", "q1", "q2", "q3"]
BY = ["wave", "seg"]
HIER = pd.DataFrame(
    {
        "item": ITEMS,
        "indicator": ["i1", "i1", "i2", "i3"],
        "area": ["A", "A", "A", "B"],
        "scale_min": 1,
        "scale_max": 5,
    }
)
DESIGNS = {
    "srs": None,
    "strata": SurveyDesign(weight="w", strata="region"),
    "strata_psu_fpc": SurveyDesign(weight="w", strata="region", cluster="psu", fpc="N"),
    "psu_lonely_adjust": SurveyDesign(
        weight="w", strata="stratum2", cluster="psu", lonely_psu="adjust"
    ),
    "lonely_average": SurveyDesign(
        weight="w", strata="stratum2", cluster="psu", lonely_psu="average"
    ),
}


def make_data(n=2500, seed=1):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "wave": rng.choice(["w1", "w2", "w3"], n),
            "seg": rng.choice(["a", "b"], n),
            "region": rng.choice(["n", "s", "e", "w"], n),
            "w": rng.uniform(0.5, 2, n),
        }
    )
    df["psu"] = df["region"] + "-" + rng.integers(0, 12, n).astype(str)
    df["N"] = df["region"].map({"n": 100, "s": 80, "e": 90, "w": 70})
    # a stratum of one PSU, for the lonely-PSU rules
    df["stratum2"] = np.where(df["psu"] == "n-0", "solo", df["region"])
    for k in range(4):
        x = rng.integers(1, 6, n).astype(float)
        x[rng.random(n) < 0.1] = np.nan
        df[f"q{k}"] = x
    df.loc[df["wave"] == "w3", "q3"] = np.nan  # an item not asked in a wave
    df["rec"] = rng.integers(0, 11, n)
    df.loc[rng.random(n) < 0.02, "seg"] = None  # outside every group
    return df


@pytest.fixture(scope="module")
def data():
    return make_data()


@pytest.fixture(scope="module", params=["frame", "file", "parts"])
def engine(request, data, tmp_path_factory):
    if request.param == "frame":
        eng = E.DuckEngine(data)
    else:
        folder = tmp_path_factory.mktemp("parquet")
        if request.param == "file":
            data.to_parquet(folder / "all.parquet")
            eng = E.DuckEngine(folder / "all.parquet", memory_limit="500MB")
        else:  # a folder of parts
            for k, part in enumerate(np.array_split(np.arange(len(data)), 4)):
                data.iloc[part].to_parquet(folder / f"part-{k}.parquet")
            eng = E.DuckEngine(folder, memory_limit="500MB", threads=1)
    yield eng
    eng.close()


def same(a, b):
    assert list(a.columns) == list(b.columns)
    assert len(a) == len(b)
    for c in a.columns:
        if pd.api.types.is_numeric_dtype(a[c]):
            np.testing.assert_allclose(
                b[c].to_numpy(float), a[c].to_numpy(float), rtol=1e-10, atol=1e-12
            )
        else:
            assert a[c].astype(object).tolist() == b[c].astype(object).tolist(), c


@pytest.mark.parametrize("name", list(DESIGNS))
def test_mean_and_total(engine, data, name):
    d = DESIGNS[name]
    same(
        estimation.survey_mean(data, items=ITEMS, by=BY, design=d),
        E.survey_mean(engine, items=ITEMS, by=BY, design=d),
    )
    same(
        estimation.survey_total(data, items=ITEMS, by=BY, design=d),
        E.survey_total(engine, items=ITEMS, by=BY, design=d),
    )


@pytest.mark.parametrize("name", list(DESIGNS))
def test_top_box_and_nps(engine, data, name):
    d = DESIGNS[name]
    same(
        kpis.top_box(data, items=ITEMS, top=(4, 5), by=BY, design=d),
        E.top_box(engine, items=ITEMS, top=(4, 5), by=BY, design=d),
    )
    same(
        kpis.nps(data, items="rec", by=["wave"], design=d),
        E.nps(engine, items="rec", by=["wave"], design=d),
    )


@pytest.mark.parametrize("name", list(DESIGNS))
def test_index(engine, data, name):
    d = DESIGNS[name]
    same(
        kpis.csi(data, hierarchy=HIER, by=BY, design=d),
        E.csi(engine, hierarchy=HIER, by=BY, design=d),
    )


def test_index_without_groups_and_headline_only(engine, data):
    d = DESIGNS["strata"]
    same(kpis.csi(data, hierarchy=HIER, design=d), E.csi(engine, hierarchy=HIER, design=d))
    full = kpis.csi(data, hierarchy=HIER, by=BY, design=d)
    same(
        full[full["level"] == "index"].reset_index(drop=True),
        E.csi(engine, hierarchy=HIER, by=BY, design=d, levels=("index",)),
    )


def test_domain_se_by_hand():
    # two strata of two PSUs, fpc = 4 PSUs per stratum; the domain is g == "x"
    df = pd.DataFrame(
        {
            "g": ["x", "x", "y", "x", "x", "y"],
            "h": [1, 1, 1, 2, 2, 2],
            "p": [1, 2, 2, 3, 4, 4],
            "N": [4, 4, 4, 4, 4, 4],
            "w": [1.0, 2, 1, 1, 1, 1],
            "y": [1.0, 3, 5, 2, 4, 6],
        }
    )
    d = SurveyDesign(weight="w", strata="h", cluster="p", fpc="N")
    got = E.survey_mean(E.DuckEngine(df), items="y", by="g", design=d)
    x = got[got["g"] == "x"].iloc[0]
    W, m = 5.0, (1 + 6 + 2 + 4) / 5  # 2.6
    t = np.array([1 * (1 - m), 2 * (3 - m), 1 * (2 - m), 1 * (4 - m)]) / W  # PSU totals
    v = sum(
        0.5 * 2 * ((t[a] - t[a : a + 2].mean()) ** 2 + (t[a + 1] - t[a : a + 2].mean()) ** 2)
        for a in (0, 2)
    )
    assert x["estimate"] == pytest.approx(2.6, rel=1e-12)
    assert x["se"] == pytest.approx(np.sqrt(v), rel=1e-10)
    same(estimation.survey_mean(df, items="y", by="g", design=d), got)


def test_count_cube(engine, data):
    d = DESIGNS["strata"]
    same(
        kpis.item_distribution(data, items=ITEMS, by=BY, design=d, codes=range(1, 6)),
        E.item_distribution(engine, items=ITEMS, by=BY, design=d, codes=range(1, 6)),
    )
    with pytest.raises(ValueError, match="not one of the codes"):
        E.item_distribution(engine, items=ITEMS, design=d, codes=range(1, 5))


@pytest.mark.parametrize("missing", ["listwise", "pairwise"])
def test_correlation(engine, data, missing):
    d = SurveyDesign(weight="w")
    a = weighted_correlation(data, items=ITEMS[:3], design=d, missing=missing)
    b = E.weighted_correlation(engine, items=ITEMS[:3], design=d, missing=missing)
    np.testing.assert_allclose(b.to_numpy(), a.to_numpy(), rtol=1e-10)
    assert b.attrs["n"] == a.attrs["n"]
    assert b.attrs["n_effective"] == pytest.approx(a.attrs["n_effective"], rel=1e-10)


def test_unsupported_designs_and_bad_data(data):
    eng = E.DuckEngine(data)
    from analysis_helpers.estimation import Calibration

    cal = SurveyDesign(weight="w", calibration=Calibration(["region"]))
    with pytest.raises(E.EngineUnsupported, match="calibrated"):
        E.survey_mean(eng, items="q0", design=cal)
    with pytest.raises(E.EngineUnsupported, match="one-stage"):
        E.survey_mean(eng, items="q0", design=SurveyDesign(weight="w", cluster=["region", "psu"]))
    with pytest.raises(ValueError, match="only one PSU"):
        E.survey_mean(
            eng, items="q0", design=SurveyDesign(weight="w", strata="stratum2", cluster="psu")
        )
    with pytest.raises(KeyError, match="nope"):
        E.survey_mean(eng, items="nope")
    bad = data.assign(w=np.where(np.arange(len(data)) == 3, -1.0, data["w"]))
    with pytest.raises(ValueError, match="non-positive weight"):
        E.survey_mean(E.DuckEngine(bad), items="q0", design=SurveyDesign(weight="w"))


def test_statements_render_for_duckdb_and_spark():
    v = [sql.item_variable("v0", "q 0"), sql.indicator_variable("t0", "q 0", (4, 5))]
    stmt = sql.cell_sums(
        ["wave"], sql.col("region"), sql.col("psu"), sql.col("w"), v, squares=False
    )
    duck, spark = sql.render(stmt, "duckdb"), sql.render(stmt, "spark")
    assert '"q 0"' in duck and "`q 0`" in spark
    assert "GROUP BY" in duck and "GROUP BY" in spark
    assert spark.count("SUM(") == duck.count("SUM(") == 10
