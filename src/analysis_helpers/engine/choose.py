"""Which engine computes the report's KPI tables (the study file's ``engine:``)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from .._design import SurveyDesign

if TYPE_CHECKING:
    from ..study import Study

__all__ = ["choose_engine", "engine_kpi_summary"]

log = logging.getLogger("analysis_helpers.engine")


def _memory_bytes() -> int:
    import psutil

    return int(psutil.virtual_memory().total)


def choose_engine(study: Study, data_file: str | Path | None = None) -> tuple[str, str]:
    """Return the engine for the study's KPI tables, ``"memory"`` or ``"duckdb"``, and why.

    ``engine: duckdb`` or ``memory`` in the study file decide; ``auto`` (the default)
    chooses DuckDB when ``data_file`` (default: the clean ``clean.parquet`` of
    ``study.processed_dir``) is larger than ``engine.memory_fraction`` of the machine's
    memory.

    Examples
    --------
    >>> from analysis_helpers.study import load_study
    >>> study = load_study("config/demo.yml", check_files=False)
    >>> choose_engine(study, data_file="no/such/file.parquet")[0]
    'memory'
    """
    spec = study.engine
    if spec.name != "auto":
        return spec.name, f"the study file sets engine: {spec.name}"
    path = Path(data_file) if data_file is not None else study.processed_dir / "clean.parquet"
    if not path.is_file():
        return "memory", "engine: auto and no clean Parquet file to measure"
    size, total = path.stat().st_size, _memory_bytes()
    if size > spec.memory_fraction * total:
        return "duckdb", (
            f"engine: auto; the data file ({size / 2**30:.2f} GiB) is larger than "
            f"{spec.memory_fraction:g} of memory ({total / 2**30:.1f} GiB)"
        )
    return "memory", f"engine: auto; the data file ({size / 2**20:.1f} MiB) fits in memory"


def engine_kpi_summary(
    data: pd.DataFrame,
    *,
    study: Study,
    by: Sequence[str],
    confidence: float | None,
    design: SurveyDesign | None,
    index: pd.DataFrame | None = None,
) -> pd.DataFrame | None:
    """Return the KPI table through DuckDB when the study's engine is DuckDB, else None.

    The frame is scanned in place by DuckDB (no copy). None - the caller computes in
    memory - when the engine is ``memory``, or the design is one the engine does not do
    (calibrated, replicate-weight or multi-stage: the reason is logged). The engine that
    ran is logged (logger ``analysis_helpers.engine``, level INFO).
    """
    from .connection import DuckEngine
    from .estimators import EngineUnsupported
    from .kpis import kpi_summary

    name, why = choose_engine(study)
    if name != "duckdb":
        log.info("kpi_summary: engine memory (%s)", why)
        return None
    try:
        with DuckEngine(data, memory_limit=study.engine.memory_limit) as eng:
            table = kpi_summary(
                eng, study=study, by=by, confidence=confidence, design=design, index=index
            )
    except EngineUnsupported as e:
        log.warning("kpi_summary: engine memory, not duckdb: %s", e)
        return None
    log.info("kpi_summary: engine duckdb (%s)", why)
    return table
