"""The engine's statements on pyspark in local mode give DuckDB's numbers (slow; needs Java)."""

import shutil

import numpy as np
import pandas as pd
import pytest
from test_engine_estimators import HIER, ITEMS, make_data

from analysis_helpers import engine as E
from analysis_helpers.estimation import SurveyDesign

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def spark():
    pyspark = pytest.importorskip(
        "pyspark", reason="pyspark is not installed (pip install -e '.[spark]')"
    )
    if shutil.which("java") is None:
        pytest.skip("no Java runtime (apt-get install openjdk-17-jre-headless)")
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[1]")
        .appName("engine-test")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.driver.memory", "1g")
        .getOrCreate()
    )
    del pyspark
    yield session
    session.stop()


@pytest.fixture(scope="module")
def engines(spark, tmp_path_factory):
    folder = tmp_path_factory.mktemp("spark")
    data = make_data(n=800, seed=3)
    for k, part in enumerate(np.array_split(np.arange(len(data)), 2)):
        data.iloc[part].to_parquet(folder / f"part-{k}.parquet")
    from analysis_helpers.engine.spark import SparkEngine

    return E.DuckEngine(folder), SparkEngine(folder, spark=spark)


def same(a, b):
    assert list(a.columns) == list(b.columns) and len(a) == len(b)
    for c in a.columns:
        if pd.api.types.is_numeric_dtype(a[c]):
            np.testing.assert_allclose(
                b[c].to_numpy(float), a[c].to_numpy(float), rtol=1e-10, atol=1e-12
            )
        else:
            assert a[c].astype(object).tolist() == b[c].astype(object).tolist()


@pytest.mark.parametrize(
    "design",
    [
        SurveyDesign(weight="w", strata="region"),
        SurveyDesign(weight="w", strata="region", cluster="psu", fpc="N"),
    ],
    ids=["strata", "psu_fpc"],
)
def test_spark_gives_duckdb_numbers(engines, design):
    duck, spark = engines
    by = ["wave", "seg"]
    same(
        E.survey_mean(duck, items=ITEMS, by=by, design=design),
        E.survey_mean(spark, items=ITEMS, by=by, design=design),
    )
    same(
        E.top_box(duck, items=ITEMS, top=(4, 5), by=by, design=design),
        E.top_box(spark, items=ITEMS, top=(4, 5), by=by, design=design),
    )
    same(
        E.csi(duck, hierarchy=HIER, by=by, design=design),
        E.csi(spark, hierarchy=HIER, by=by, design=design),
    )
    same(
        E.item_distribution(duck, items=ITEMS, by=by, design=design, codes=range(1, 6)),
        E.item_distribution(spark, items=ITEMS, by=by, design=design, codes=range(1, 6)),
    )
    # the statements Spark ran are the same statements, in its dialect
    assert len(spark.statements) > 0 and all("`" in s for s in spark.statements)


def test_spark_correlation(engines):
    duck, spark = engines
    for missing in ("listwise", "pairwise"):
        a = E.weighted_correlation(
            duck, items=ITEMS[:3], design=SurveyDesign(weight="w"), missing=missing
        )
        b = E.weighted_correlation(
            spark, items=ITEMS[:3], design=SurveyDesign(weight="w"), missing=missing
        )
        np.testing.assert_allclose(b.to_numpy(), a.to_numpy(), rtol=1e-10)
