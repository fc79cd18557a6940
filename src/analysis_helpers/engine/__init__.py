"""The out-of-core engine: survey estimates from SQL aggregates over Parquet files.

The aggregates that every estimator needs (weighted sums and sums of squares per group x
stratum x PSU, weighted count cubes, cross-products for correlations) are written once
as dialect-neutral SQL (:mod:`.sql`, built with sqlglot) and run by DuckDB over Parquet
files with a memory limit (:class:`DuckEngine`), or by Spark SQL (:mod:`.spark`). The
estimators (:mod:`.estimators`) turn the aggregates into the same tidy frames as the
in-memory functions; :func:`kpi_summary` is the report's KPI table. See docs/engine.md.
"""

from .connection import DEFAULT_MEMORY_LIMIT, DuckEngine, parquet_files
from .estimators import (
    EngineUnsupported,
    csi,
    item_distribution,
    nps,
    survey_mean,
    survey_total,
    top_box,
    weighted_correlation,
)

__all__ = [
    "DEFAULT_MEMORY_LIMIT",
    "DuckEngine",
    "EngineUnsupported",
    "parquet_files",
    "survey_mean",
    "survey_total",
    "top_box",
    "nps",
    "csi",
    "item_distribution",
    "weighted_correlation",
]
