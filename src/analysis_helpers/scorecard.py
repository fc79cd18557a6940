"""The study-aware layer: KPI scorecards by any grouping, read off the study file.

The estimators in :mod:`analysis_helpers.estimation` and :mod:`analysis_helpers.kpis` take
column names; the functions here take a :class:`~analysis_helpers.study.Study` and know
which items are the KPIs, which scale each has, what counts as top box and what the
sampling design is, so that every notebook computes the same KPI the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import pandas as pd

from .study import Study

if TYPE_CHECKING:
    from .estimation import SurveyDesign

__all__ = ["study_design", "kpi_summary", "segment_kpis", "KPI_COLUMNS"]

KPI_COLUMNS = [
    "kpi",
    "label",
    "unit",
    "n",
    "n_weighted",
    "n_effective",
    "estimate",
    "se",
    "ci_low",
    "ci_high",
]


def study_design(study: Study) -> SurveyDesign:
    """The survey design (weight, strata, cluster, fpc columns) the study file states."""
    from .estimation import SurveyDesign

    return SurveyDesign(**study.design_columns())


def _take(table: pd.DataFrame, by: list[str], kpi: str, label: str, unit: str) -> pd.DataFrame:
    out = table.assign(kpi=kpi, label=label, unit=unit)
    return out[[*by, *KPI_COLUMNS]]


def kpi_summary(
    data: pd.DataFrame, *, study: Study, by: Sequence[str] = (), level: float | None = None
) -> pd.DataFrame:
    """Every headline KPI of the study, weighted, with design-based SEs and CIs.

    The KPIs are: overall satisfaction (mean and top-2-box share), NPS (points), customer
    effort (mean; lower is better), each loyalty item's top-2-box share, and the customer
    satisfaction index (0-100, equal weights at each level unless the study file states
    weights).

    Parameters
    ----------
    data : DataFrame
        Clean analysis data, one row per respondent.
    study : Study
        The study: KPI items, scales, top boxes and design.
    by : sequence of str
        Grouping columns (e.g. ``["wave"]`` or ``["wave", "customer_type"]``).
    level : float, optional
        Confidence level; default the study's ``reporting.confidence``.

    Returns
    -------
    DataFrame
        One row per group and KPI: the ``by`` columns, then ``kpi``, ``label``, ``unit``,
        ``n``, ``n_weighted``, ``n_effective``, ``estimate``, ``se``, ``ci_low``,
        ``ci_high``. Shares are in [0, 1]; NPS in points (-100..100); CSI in 0..100.
    """
    from .estimation import survey_mean
    from .kpis import csi, nps, top_box

    by = list(by)
    level = level or study.reporting.confidence
    design = study_design(study)
    items = study.items
    k = study.kpis
    parts = []
    osat = items[k.overall]
    scale = f"{osat.scale.min}-{osat.scale.max}"
    parts.append(
        _take(
            survey_mean(data, items=[k.overall], by=by, design=design, level=level),
            by,
            "overall_mean",
            f"{osat.label}: mean",
            f"mean ({scale})",
        )
    )
    parts.append(
        _take(
            top_box(data, items=[k.overall], top=osat.top_codes, by=by, design=design, level=level),
            by,
            "overall_top2",
            f"{osat.label}: top-2-box",
            "share",
        )
    )
    if k.nps:
        t = nps(data, item=k.nps, by=by, design=design, level=level)
        parts.append(_take(t, by, "nps", f"NPS ({items[k.nps].label})", "points"))
    if k.ces:
        ces = items[k.ces]
        t = survey_mean(data, items=[k.ces], by=by, design=design, level=level)
        parts.append(
            _take(
                t,
                by,
                "ces_mean",
                f"{ces.label}: mean",
                f"mean ({ces.scale.min}-{ces.scale.max}, lower is better)",
            )
        )
    for name in k.loyalty:
        it = items[name]
        t = top_box(data, items=[name], top=it.top_codes, by=by, design=design, level=level)
        parts.append(_take(t, by, f"{name}_top2", f"{it.label}: top-2-box", "share"))
    index = csi(data, hierarchy=study.hierarchy(), by=by, design=design, level=level)
    index = index[index["level"] == "index"]
    parts.append(_take(index, by, "csi", "Customer satisfaction index (CSI)", "index (0-100)"))
    return pd.concat(parts, ignore_index=True)


def segment_kpis(
    data: pd.DataFrame,
    *,
    study: Study,
    segments: Sequence[str] | None = None,
    level: float | None = None,
) -> pd.DataFrame:
    """:func:`kpi_summary` for every segment column, stacked, with value labels.

    Returns
    -------
    DataFrame
        ``segment``, ``segment_label``, ``value``, ``value_label``, then the KPI columns.
        Segment values follow the study file's order.
    """
    segments = list(segments) if segments is not None else study.segment_columns()
    parts = []
    for col in segments:
        seg = study.segment(col)
        t = kpi_summary(data, study=study, by=[col], level=level)
        t = t.rename(columns={col: "value"})
        t.insert(0, "segment", col)
        t.insert(1, "segment_label", seg.label)
        t.insert(3, "value_label", t["value"].map(seg.values).fillna(t["value"]))
        order = {v: i for i, v in enumerate(seg.values)}
        t = t.assign(_o=t["value"].map(order)).sort_values(["_o"], kind="stable")
        parts.append(t.drop(columns="_o"))
    return pd.concat(parts, ignore_index=True)


def profile_by_segment(data: pd.DataFrame, *, study: Study, by: Sequence[str] = ()) -> pd.DataFrame:
    """Sample profile: unweighted n, weighted n and Kish effective n of every segment value.

    Parameters
    ----------
    data : DataFrame
        Clean analysis data.
    study : Study
        Supplies the segments, their value labels and order, and the weight.
    by : sequence of str
        Extra grouping columns (e.g. ``["wave"]``).

    Returns
    -------
    DataFrame
        ``segment``, ``segment_label``, ``value``, ``value_label``, the ``by`` columns, then
        ``n``, ``n_weighted``, ``n_effective``, ``share`` and ``share_weighted`` (within the
        segment and ``by`` group).
    """
    from .estimation import sample_profile

    design = study_design(study)
    parts = []
    for seg in study.segments:
        t = sample_profile(data, by=[*by, seg.column], design=design).rename(
            columns={seg.column: "value"}
        )
        t.insert(0, "segment", seg.column)
        t.insert(1, "segment_label", seg.label)
        t.insert(3, "value_label", t["value"].map(seg.values).fillna(t["value"]))
        order = {v: i for i, v in enumerate(seg.values)}
        t = t.assign(_o=t["value"].map(order)).sort_values([*by, "_o"], kind="stable")
        parts.append(t.drop(columns="_o"))
    return pd.concat(parts, ignore_index=True)


def area_scores(data: pd.DataFrame, *, study: Study, min_answered: float = 0.5) -> pd.DataFrame:
    """Per-respondent area scores on a common 0-100 scale.

    Each item is rescaled to 0-100 by ``100 (x - min) / (max - min)``; an area's score is
    the mean of its answered items, missing when fewer than ``min_answered`` of its items
    were answered.

    Returns
    -------
    DataFrame
        Same index as ``data``; one float column per area, in study order.
    """
    if not 0 < min_answered <= 1:
        raise ValueError(f"min_answered must be in (0, 1], got {min_answered}")
    h = study.hierarchy()
    missing = sorted(set(h["item"]) - set(data.columns))
    if missing:
        raise KeyError(f"area_scores: data has no column(s) {missing}")
    out = {}
    for area, g in h.groupby("area", sort=False):
        x = data[g["item"].tolist()].astype(float)
        scaled = (
            100 * (x - g["scale_min"].to_numpy()) / (g["scale_max"] - g["scale_min"]).to_numpy()
        )
        answered = scaled.notna().mean(axis=1)
        out[area] = scaled.mean(axis=1).where(answered >= min_answered)
    return pd.DataFrame(out, index=data.index)


def segment_area_index(
    data: pd.DataFrame,
    *,
    study: Study,
    segments: Sequence[str] | None = None,
    level: float | None = None,
) -> pd.DataFrame:
    """The satisfaction index of every area for every segment value (the trough grid).

    Returns
    -------
    DataFrame
        ``segment``, ``value``, ``value_label``, ``name`` (the area), ``area`` (its label),
        then the index columns of :func:`~analysis_helpers.kpis.csi` (``estimate`` 0-100,
        ``se``, ``ci_low``, ``ci_high`` and the bases).
    """
    from .kpis import csi

    design = study_design(study)
    level = level or study.reporting.confidence
    parts = []
    for col in list(segments) if segments is not None else study.segment_columns():
        seg = study.segment(col)
        t = csi(data, hierarchy=study.hierarchy(), by=[col], design=design, level=level)
        t = t[t["level"] == "area"].rename(columns={col: "value"})
        t.insert(0, "segment", col)
        t.insert(2, "value_label", t["value"].map(seg.values).fillna(t["value"]))
        parts.append(t)
    out = pd.concat(parts, ignore_index=True)
    out.insert(out.columns.get_loc("name") + 1, "area", out["name"].map(study.label))
    return out
