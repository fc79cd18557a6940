"""The report's KPI table through the engine (:func:`analysis_helpers.study_tables.kpi_summary`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
from sqlglot import exp

from .._design import SurveyDesign
from ..study import Study
from ..text import template
from . import estimators as est
from . import sql

__all__ = ["kpi_summary"]


def kpi_summary(
    engine: Any,
    *,
    study: Study,
    by: Sequence[str] = (),
    confidence: float | None = None,
    design: SurveyDesign | None = None,
    index: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Estimate every headline KPI of the study through the engine.

    The same KPIs, rows and columns as :func:`analysis_helpers.study_tables.kpi_summary`
    (overall mean and top-2 box, NPS, customer effort, each loyalty item's top-2 box and
    the CSI), each computed from SQL aggregates over the engine's data.

    Parameters
    ----------
    engine : DuckEngine
        The engine over the clean analysis data.
    study, by, confidence, design, index
        As :func:`~analysis_helpers.study_tables.kpi_summary` (``index``: the CSI rows
        are taken from it instead of being computed).

    Returns
    -------
    DataFrame
        One row per group and KPI: the ``by`` columns, then ``kpi``, ``label``, ``unit``,
        ``n``, ``n_weighted``, ``n_effective``, ``estimate``, ``se``, ``ci_low``,
        ``ci_high``.

    Raises
    ------
    EngineUnsupported
        The design is calibrated, replicate-weighted or multi-stage.
    """
    from ..study_tables import KPI_COLUMNS, study_design

    by = list(by)
    confidence = confidence or study.reporting.confidence
    design = design if design is not None else study_design(study)
    items, k, lang = study.items, study.kpis, study.language

    def take(table: pd.DataFrame, kpi: str, label: str, unit: str) -> pd.DataFrame:
        return table.assign(kpi=kpi, label=label, unit=unit)[[*by, *KPI_COLUMNS]]

    def name(key: str, label: str = "") -> str:
        return template(key, lang).format(label=label)

    rows: list[tuple[str, str, str, Any]] = []  # (kpi, label, unit, rows of the cells)
    variables: list = []
    if k.overall:
        osat = items[k.overall]
        variables += [
            sql.item_variable("om", k.overall),
            sql.indicator_variable("ot", k.overall, osat.top_codes),
        ]
        scale = f"{osat.scale.min}-{osat.scale.max}"
        rows.append(("overall_mean", name("kpi.mean", osat.label), f"mean ({scale})",
                     lambda c: est._mean_rows(c, "om", confidence)))  # fmt: skip
        rows.append(("overall_top2", name("kpi.top2", osat.label), "share",
                     lambda c: est._share_rows(c, "ot", confidence, "logit")))  # fmt: skip
    if k.nps:
        variables += est._nps_variables("n", k.nps, 9, 6)
        rows.append(("nps", name("kpi.nps", items[k.nps].label), "points",
                     lambda c: est._nps_rows(c, "n", confidence)))  # fmt: skip
    if k.ces:
        ces = items[k.ces]
        variables.append(sql.item_variable("cm", k.ces))
        unit = f"mean ({ces.scale.min}-{ces.scale.max}, lower is better)"
        rows.append(("ces_mean", name("kpi.mean", ces.label), unit,
                     lambda c: est._mean_rows(c, "cm", confidence)))  # fmt: skip
    for j, item in enumerate(k.loyalty):
        it = items[item]
        variables.append(sql.indicator_variable(f"l{j}", item, it.top_codes))
        rows.append((f"{item}_top2", name("kpi.top2", it.label), "share",
                     lambda c, key=f"l{j}": est._share_rows(c, key, confidence, "logit")))  # fmt: skip
    plan = None
    if study.has_index and index is None:
        plan = est._CsiPlan(study.hierarchy(), None, ("index",))
        variables += plan.variables
    if not variables:
        if study.has_index and index is not None:
            index = index[index["level"] == "index"]
            return take(index, "csi", name("kpi.csi"), "index (0-100)").reset_index(drop=True)
        return pd.DataFrame(columns=[*by, *KPI_COLUMNS])
    used = [v for v in {c for v in variables for c in v.value.find_all(exp.Column)}]
    est._check(engine, by, sorted({c.name for c in used}), "kpi_summary")
    cells = est._Cells(engine, by, design, variables, "kpi_summary")
    parts = []
    for kpi, label, unit, of in rows:
        parts.append(take(cells.finish([{"item": "", **of(cells)}], KPI_ROW), kpi, label, unit))
    if plan is not None:
        index = plan.finish(cells, confidence)
    if study.has_index and index is not None:
        index = index[index["level"] == "index"]
        parts.append(take(index, "csi", name("kpi.csi"), "index (0-100)"))
    return pd.concat(parts, ignore_index=True)


KPI_ROW = ["n", "n_weighted", "n_effective", "estimate", "se", "ci_low", "ci_high"]
