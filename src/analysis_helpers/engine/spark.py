"""The engine's statements on Spark SQL (optional: ``pip install -e ".[spark]"`` and Java).

:class:`SparkEngine` has the interface of :class:`~.connection.DuckEngine` (``query``,
``register``, ``columns``), so every estimator of :mod:`.estimators` runs on it
unchanged: the statements are rendered in sqlglot's ``spark`` dialect and executed by
``spark.sql``; only the small aggregates come back to the driver.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from sqlglot import exp

from .connection import parquet_files
from .sql import SOURCE, render

__all__ = ["SparkEngine"]


class SparkEngine:
    """A Spark session whose view :data:`~.sql.SOURCE` is the survey data.

    Parameters
    ----------
    source : path or list of paths
        Parquet file(s) or folder(s) of Parquet parts (a local path, or a URL Spark reads
        such as ``s3a://bucket/survey/`` when ``check_files=False``).
    spark : SparkSession, optional
        The session (default: ``SparkSession.builder.getOrCreate()``).
    check_files : bool
        Resolve local paths to their Parquet files first (False: pass them to Spark).
    """

    dialect = "spark"

    def __init__(
        self,
        source: str | Path | Sequence[str | Path],
        *,
        spark: Any = None,
        check_files: bool = True,
    ) -> None:
        from pyspark.sql import SparkSession

        self.spark = spark if spark is not None else SparkSession.builder.getOrCreate()
        if check_files:
            files = parquet_files(source)
        else:
            files = [str(source)] if isinstance(source, str | Path) else [str(s) for s in source]
        self.spark.read.parquet(*files).createOrReplaceTempView(SOURCE)
        self.statements: list[str] = []

    def columns(self) -> list[str]:
        """Return the column names of the data."""
        return list(self.spark.table(SOURCE).columns)

    def register(self, name: str, frame: pd.DataFrame) -> None:
        """Make ``frame`` a temporary view named ``name`` (the estimators' parameters)."""
        self.spark.createDataFrame(frame).createOrReplaceTempView(name)

    def query(self, statement: exp.Expr) -> pd.DataFrame:
        """Run a statement on Spark SQL and return its (small) result as a DataFrame."""
        text = render(statement, self.dialect)
        self.statements.append(text)
        out = self.spark.sql(text).toPandas()
        for c in out.columns:  # Spark sums decimal literals as decimals
            if out[c].dtype == object and len(out) and _is_decimal(out[c]):
                out[c] = out[c].astype(float)
        return out

    def close(self) -> None:
        """Leave the session running (it may be shared); drop the data view."""
        self.spark.catalog.dropTempView(SOURCE)

    def __enter__(self) -> SparkEngine:
        """Return the engine (a context manager closes it)."""
        return self

    def __exit__(self, *exc: object) -> None:
        """Close the engine."""
        self.close()


def _is_decimal(s: pd.Series) -> bool:
    from decimal import Decimal

    v = s.dropna()
    return len(v) > 0 and isinstance(v.iloc[0], Decimal)
