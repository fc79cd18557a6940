"""The study-aware layer: every table computed from a study file and the data.

The estimators in :mod:`analysis_helpers.estimation` and :mod:`analysis_helpers.kpis` take
column names; the functions here take a :class:`~analysis_helpers.study.Study` and know
which items are the KPIs, which scale each has, what counts as top box and what the
sampling design is, so that every notebook computes the same KPI the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations

import numpy as np
import pandas as pd

from ._checks import as_names, check_columns, numeric_values
from ._compat import renamed
from ._design import ReplicateDesign
from .estimation import Calibration, SurveyDesign, sample_profile, survey_mean
from .kpis import csi, expectation_gap, flag_small_bases, item_distribution, nps, top_box
from .study import Study
from .text import template
from .trend import adjust_p
from .weighting import weighting_report

__all__ = [
    "study_design",
    "study_calibration",
    "kpi_summary",
    "segment_kpis",
    "profile_by_segment",
    "area_scores",
    "segment_area_index",
    "flag_bases",
    "weighting_by_wave",
    "band_widths",
    "banded_distribution",
    "hierarchy_table",
    "expectation_gaps",
    "cut_bases",
    "item_performance",
    "unasked_items",
    "index_notes",
    "KPI_COLUMNS",
]

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


def study_design(study: Study, *, raking_se: bool | None = None) -> SurveyDesign:
    """Return the survey design the study file states.

    The weight, strata, cluster, fpc columns and ``lonely_psu``. When the study rakes
    (``weighting:``) and the design weight is the raked one, the design carries the
    raking (:class:`~analysis_helpers.estimation.Calibration` of the margin columns, within
    each wave with ``by_wave``) so SEs are raking-aware, unless ``weighting.raking_se`` is
    false; ``raking_se`` given here overrides the study file. With
    ``data.design.replicates`` it is a :class:`~analysis_helpers.replicates.ReplicateDesign`
    (the weight and the replicate columns, type, scale, rscales, mse, df), with the same
    raking: every replicate weight is then raked again to the margins (R ``rake()`` on an
    ``svrepdesign``).
    """
    cols = study.design_columns()
    reps = study.replicates
    if reps is not None:
        return ReplicateDesign(
            weight=cols.get("weight"), replicates=tuple(reps.names()), type=reps.type,
            scale=reps.resolved_scale(),
            rscales=tuple(reps.rscales) if reps.rscales is not None else None,
            mse=reps.mse, df=reps.df, calibration=study_calibration(study, raking_se=raking_se),
        )  # fmt: skip
    return SurveyDesign(
        weight=cols.get("weight"),
        strata=cols.get("strata"),
        cluster=study.design_stages("cluster") or None,
        fpc=study.design_stages("fpc") or None,
        lonely_psu=study.lonely_psu,
        calibration=study_calibration(study, raking_se=raking_se),
    )


def study_calibration(study: Study, *, raking_se: bool | None = None) -> Calibration | None:
    """Return the raking of the study as a design calibration, None if SEs ignore it.

    None when the study does not rake, the design weight is not the raked weight, or
    ``weighting.raking_se`` is false (``raking_se`` given here overrides it). Data
    without the margin (or wave) columns get fixed-weight SEs (``if_missing="fixed"``).
    """
    wt = study.weighting
    if wt is None or study.weight_column != wt.output:
        return None
    if not (wt.raking_se if raking_se is None else raking_se):
        return None
    within = study.wave_column if wt.by_wave else None
    # reduced tables without the margin columns get fixed-weight SEs
    return Calibration(list(wt.margins), method="rake", within=within, if_missing="fixed")


def _take(table: pd.DataFrame, by: list[str], kpi: str, label: str, unit: str) -> pd.DataFrame:
    out = table.assign(kpi=kpi, label=label, unit=unit)
    return out[[*by, *KPI_COLUMNS]]


@renamed(level="confidence")
def kpi_summary(
    data: pd.DataFrame,
    *,
    study: Study,
    by: Sequence[str] = (),
    confidence: float | None = None,
    design: SurveyDesign | None = None,
    index: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Estimate every headline KPI of the study, weighted, with design-based SEs and CIs.

    The KPIs are: overall satisfaction (mean and top-2-box share), NPS (points), customer
    effort (mean; lower is better), each loyalty item's top-2-box share, and the customer
    satisfaction index (0-100, equal weights at each level unless the study file states
    weights). KPIs the study does not have (see :meth:`Study.kpi_items` and
    ``Study.has_index``) are left out; a study with none gives an empty table.

    Parameters
    ----------
    data : DataFrame
        Clean analysis data, one row per respondent.
    study : Study
        The study: KPI items, scales, top boxes and design.
    by : sequence of str
        Grouping columns (e.g. ``["wave"]`` or ``["wave", "customer_type"]``).
    confidence : float, optional
        Confidence level; default the study's ``reporting.confidence``.
    design : SurveyDesign, optional
        The design; default :func:`study_design` (e.g. to compare raking-aware SEs with
        fixed-weight ones).
    index : DataFrame, optional
        :func:`~analysis_helpers.kpis.csi` of ``data`` by the same ``by`` columns, with the
        study's hierarchy, design and this confidence, when the caller has it already (the
        CSI rows are then taken from it instead of being computed again).

    Returns
    -------
    DataFrame
        One row per group and KPI: the ``by`` columns, then ``kpi``, ``label``, ``unit``,
        ``n``, ``n_weighted``, ``n_effective``, ``estimate``, ``se``, ``ci_low``,
        ``ci_high``. Shares are in [0, 1]; NPS in points (-100..100); CSI in 0..100.

    Notes
    -----
    With ``engine: duckdb`` in the study file (or ``auto`` and a clean data file larger
    than ``engine.memory_fraction`` of memory) the table comes from the SQL aggregates of
    :mod:`analysis_helpers.engine` (the same numbers); calibrated designs stay in memory.
    """
    by = list(by)
    confidence = confidence or study.reporting.confidence
    design = design if design is not None else study_design(study)
    from .engine.choose import engine_kpi_summary  # the study file's engine: (DuckDB)

    table = engine_kpi_summary(
        data, study=study, by=by, confidence=confidence, design=design, index=index
    )
    if table is not None:
        return table
    items = study.items
    k = study.kpis
    lang = study.language

    def kpi_name(key: str, label: str = "") -> str:  # a KPI label in the report language
        return template(key, lang).format(label=label)

    parts = [pd.DataFrame(columns=[*by, *KPI_COLUMNS])]
    if k.overall:
        osat = items[k.overall]
        scale = f"{osat.scale.min}-{osat.scale.max}"
        parts.append(
            _take(
                survey_mean(data, items=[k.overall], by=by, design=design, confidence=confidence),
                by,
                "overall_mean",
                kpi_name("kpi.mean", osat.label),
                f"mean ({scale})",
            )
        )
        parts.append(
            _take(
                top_box(
                    data,
                    items=[k.overall],
                    top=osat.top_codes,
                    by=by,
                    design=design,
                    confidence=confidence,
                ),
                by,
                "overall_top2",
                kpi_name("kpi.top2", osat.label),
                "share",
            )
        )
    if k.nps:
        t = nps(data, items=k.nps, by=by, design=design, confidence=confidence)
        parts.append(_take(t, by, "nps", kpi_name("kpi.nps", items[k.nps].label), "points"))
    if k.ces:
        ces = items[k.ces]
        t = survey_mean(data, items=[k.ces], by=by, design=design, confidence=confidence)
        parts.append(
            _take(
                t,
                by,
                "ces_mean",
                kpi_name("kpi.mean", ces.label),
                f"mean ({ces.scale.min}-{ces.scale.max}, lower is better)",
            )
        )
    for name in k.loyalty:
        it = items[name]
        t = top_box(
            data, items=[name], top=it.top_codes, by=by, design=design, confidence=confidence
        )
        parts.append(_take(t, by, f"{name}_top2", kpi_name("kpi.top2", it.label), "share"))
    if study.has_index:
        if index is None:
            index = csi(
                data, hierarchy=study.hierarchy(), by=by, design=design, confidence=confidence
            )
        index = index[index["level"] == "index"]
        parts.append(_take(index, by, "csi", kpi_name("kpi.csi"), "index (0-100)"))
    if len(parts) == 1:
        return parts[0]
    return pd.concat(parts[1:], ignore_index=True)


def _per_segment(study: Study, segments: Sequence[str] | None, table_of) -> pd.DataFrame:
    """Stack ``table_of(column)`` over segment columns, labelled and in study order.

    Each table's segment column is renamed ``value``; ``segment`` and ``segment_label``
    come first, ``value_label`` right after ``value``, and rows follow the study file's
    value order within any grouping columns that stand before the segment column.
    """
    parts = []
    for col in list(segments) if segments is not None else study.segment_columns():
        seg = study.segment(col)
        t = table_of(col).rename(columns={col: "value"})
        keys = list(t.columns[: t.columns.get_loc("value")])
        t.insert(0, "segment", col)
        t.insert(1, "segment_label", seg.title)
        t.insert(
            t.columns.get_loc("value") + 1,
            "value_label",
            t["value"].map(seg.values).fillna(t["value"]),
        )
        order = t["value"].map({v: i for i, v in enumerate(seg.values)})
        parts.append(
            t.assign(_o=order).sort_values([*keys, "_o"], kind="stable").drop(columns="_o")
        )
    if not parts:  # a study without segments
        return pd.DataFrame(columns=["segment", "segment_label", "value", "value_label"])
    return pd.concat(parts, ignore_index=True)


@renamed(level="confidence")
def segment_kpis(
    data: pd.DataFrame,
    *,
    study: Study,
    segments: Sequence[str] | None = None,
    confidence: float | None = None,
) -> pd.DataFrame:
    """Run :func:`kpi_summary` for every segment column, stacked, with value labels.

    Returns
    -------
    DataFrame
        ``segment``, ``segment_label``, ``value``, ``value_label``, then the KPI columns.
        Segment values follow the study file's order.
    """
    return _per_segment(
        study, segments, lambda col: kpi_summary(data, study=study, by=[col], confidence=confidence)
    )


def profile_by_segment(data: pd.DataFrame, *, study: Study, by: Sequence[str] = ()) -> pd.DataFrame:
    """Profile the sample: unweighted, weighted and Kish effective n of every segment value.

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
    design = study_design(study)
    return _per_segment(study, None, lambda col: sample_profile(data, by=[*by, col], design=design))


def area_scores(data: pd.DataFrame, *, study: Study, min_answered: float = 0.5) -> pd.DataFrame:
    """Compute per-respondent area scores on a common 0-100 scale.

    Each item is rescaled to 0-100 by ``100 (x - min) / (max - min)``; an area's score is
    the mean of its answered items, missing when fewer than ``min_answered`` of its items
    were answered.

    Returns
    -------
    DataFrame
        Same index as ``data``; one float column per area, in study order.
    """
    if not 0 < min_answered <= 1:
        raise ValueError(f"area_scores: min_answered must be in (0, 1], got {min_answered}")
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


@renamed(level="confidence")
def segment_area_index(
    data: pd.DataFrame,
    *,
    study: Study,
    segments: Sequence[str] | None = None,
    confidence: float | None = None,
) -> pd.DataFrame:
    """Compute the satisfaction index of every area for every segment value (the trough grid).

    Returns
    -------
    DataFrame
        ``segment``, ``segment_label``, ``value``, ``value_label``, ``name`` (the area),
        ``area`` (its label),
        then the index columns of :func:`~analysis_helpers.kpis.csi` (``estimate`` 0-100,
        ``se``, ``ci_low``, ``ci_high`` and the bases). No rows (the first six columns only)
        for a study without segments or without an index.
    """
    if not study.has_index or not (study.has_segments or segments):
        # no index or no segments: nothing to grid (see Study.absent("index" / "segments"))
        return pd.DataFrame(
            columns=["segment", "segment_label", "value", "value_label", "name", "area"]
        )
    design = study_design(study)
    confidence = confidence or study.reporting.confidence
    hierarchy = study.hierarchy()
    out = _per_segment(
        study,
        segments,
        lambda col: csi(
            data, hierarchy=hierarchy, by=[col], design=design, confidence=confidence
        ).query("level == 'area'"),
    )
    out.insert(out.columns.get_loc("name") + 1, "area", out["name"].map(study.label))
    return out


# --------------------------------------------------------------------------------------
# Descriptive tables of the 20-describe notebook
# --------------------------------------------------------------------------------------
@renamed(base_col="base")
def flag_bases(
    table: pd.DataFrame,
    *,
    study: Study,
    base: str = "n",
    value_cols: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Flag small bases with the study's reporting rules (:func:`~.kpis.flag_small_bases`).

    Cells with ``base`` below ``reporting.min_base`` are flagged "low base"; below
    ``reporting.suppress_below`` they are flagged "suppressed" and their statistics blanked.

    Parameters
    ----------
    table : DataFrame
        A tidy estimate table with a base column.
    study : Study
        Supplies ``reporting.min_base`` and ``reporting.suppress_below``.
    base : str
        The base column.
    value_cols : sequence of str, optional
        Columns blanked in suppressed cells; default every statistic column
        :func:`~analysis_helpers.kpis.flag_small_bases` knows.

    Returns
    -------
    DataFrame
        A copy of ``table`` with a ``flag`` column ("suppressed", "low base" or "").
    """
    rep = study.reporting
    return flag_small_bases(
        table,
        min_base=rep.min_base,
        suppress_below=rep.suppress_below,
        base=base,
        value_cols=value_cols,
    )


def weighting_by_wave(data: pd.DataFrame, *, study: Study) -> pd.DataFrame:
    """Return the weighting report of every wave: what the design weight costs in precision.

    For each wave, :func:`~analysis_helpers.weighting.weighting_report` of the study's
    design weight (all weights 1 when the study has none), plus two checks of raking when
    the study file has a ``weighting:`` section: the largest gap between a weighted margin
    share and its population target, and the share of respondents whose weight sits at a
    trimming bound.

    Parameters
    ----------
    data : DataFrame
        Clean analysis data with the wave column and the weight.
    study : Study
        Supplies the wave column and order, the weight and the raking margins.

    Returns
    -------
    DataFrame
        One row per wave present, in study order: ``wave``, ``wave_label``, ``n``, ``sum``,
        ``mean``, ``min``, ``max``, ``ratio_max_min``, ``cv``, ``n_effective``,
        ``efficiency`` (``n_effective / n``), ``deff_weighting`` (``1 + CV^2``),
        ``max_margin_error`` (absolute, as a share in [0, 1]; NaN without raking margins)
        and ``share_at_trim`` (in [0, 1]; NaN without trimming).

    Raises
    ------
    KeyError
        The wave column, the weight or a margin column is not in ``data``.
    """
    wave_col = study.wave_column
    weight = study.weight_column
    need = [wave_col] + ([weight] if weight else [])
    spec = study.weighting
    if spec is not None:
        need += list(spec.margins)
    missing = [c for c in need if c not in data.columns]
    if missing:
        raise KeyError(f"weighting_by_wave: data has no column(s) {missing}")
    order = {w: i for i, w in enumerate(study.waves)}
    waves = sorted(pd.unique(data[wave_col]), key=lambda w: order.get(w, len(order)))
    rows = []
    for wv in waves:
        g = data[data[wave_col] == wv]
        w = g[weight].astype(float) if weight else pd.Series(1.0, index=g.index)
        rep = weighting_report(w).drop(columns="weights").iloc[0].to_dict()
        err = trim = np.nan
        if spec is not None:
            err = 0.0
            for col, target in spec.margins.items():
                t = pd.Series(dict(target), dtype=float)
                got = w.groupby(g[col].to_numpy()).sum() / w.sum()
                diff = got.reindex(t.index, fill_value=0.0) - t / t.sum()
                err = max(err, float(diff.abs().max()))
            if spec.trim is not None:
                lo, hi = spec.trim
                m = w.mean()
                at = (w <= lo * m * (1 + 1e-9)) | (w >= hi * m * (1 - 1e-9))
                trim = float(at.mean())
        rows.append(
            {
                "wave": wv,
                "wave_label": study.wave_label(wv),
                **rep,
                "max_margin_error": err,
                "share_at_trim": trim,
            }
        )
    out = pd.DataFrame(rows)
    return out.astype({"n": int})


#: scales with up to this many codes are shown code by code in a distribution
MAX_CODES_SHOWN = 7


def band_widths(codes: int, bands: int | None = None) -> list[int]:
    """Return how many codes each band of a scale holds: equal bands, symmetric about the middle.

    With ``bands=None`` the number of bands follows the scale: a scale of up to
    :data:`MAX_CODES_SHOWN` codes (1-5, 1-7, 0-6) keeps every code (a band per code), a
    longer one is cut into five bands. Codes that do not divide evenly go first to the
    middle band (an odd remainder), then in pairs to the outermost bands, so that the two
    end bands are the two-code boxes wherever the codes allow: 1-10 -> 2, 2, 2, 2, 2;
    0-10 -> 2, 2, 3, 2, 2 (0-1, 2-3, 4-6, 7-8, 9-10); 1-8 -> 2, 1, 2, 1, 2; 1-7 in five
    bands -> 2, 1, 1, 1, 2.

    Parameters
    ----------
    codes : int
        The number of codes of the scale (``max - min + 1``).
    bands : int, optional
        The number of bands; default from the scale (see above).

    Returns
    -------
    list of int
        The width of each band, lowest band first; they sum to ``codes``.

    Raises
    ------
    ValueError
        Fewer than 2 bands, more bands than codes, or an odd remainder of codes with an
        even number of bands (no symmetric split).
    """
    if codes < 2:
        raise ValueError(f"band_widths: a scale needs at least 2 codes, got {codes}")
    if bands is None:
        bands = codes if codes <= MAX_CODES_SHOWN else 5
    if bands < 2:
        raise ValueError(f"band_widths: bands must be at least 2, got {bands}")
    if bands > codes:
        raise ValueError(f"band_widths: {codes} codes do not fill {bands} bands")
    base, rest = divmod(codes, bands)
    widths = [base] * bands
    if rest % 2:
        if bands % 2 == 0:
            raise ValueError(
                f"band_widths: {codes} codes do not split into {bands} bands symmetrically"
            )
        widths[bands // 2] += 1
        rest -= 1
    for k in range(rest // 2):
        widths[k] += 1
        widths[bands - 1 - k] += 1
    return widths


def banded_distribution(
    data: pd.DataFrame,
    *,
    study: Study,
    items: Sequence[str] | None = None,
    by: Sequence[str] = (),
    bands: int | None = None,
) -> pd.DataFrame:
    """Estimate the weighted answer shares of each item in bands of its scale.

    By default the bands follow each item's scale (see :func:`band_widths`): up to seven
    codes (1-5, 1-7) every code is its own band; longer scales are cut into five bands
    symmetric about the middle, 1-10 into 1-2, 3-4, 5-6, 7-8, 9-10 (the top band is the
    top-2 box and the middle band straddles the midpoint) and 0-10 into 0-1, 2-3, 4-6,
    7-8, 9-10. Items with the same number of bands share one diverging chart and one
    legend (1-5 codes and 1-10 bands; 1-7 items have a chart of their own).

    Parameters
    ----------
    data : DataFrame
        Clean analysis data.
    study : Study
        Supplies the scales, labels, areas and the design weight.
    items : sequence of str, optional
        Items to describe; default every satisfaction item, in study order.
    by : sequence of str
        Grouping columns.
    bands : int, optional
        The same number of bands for every item (>= 2); default from each scale.

    Returns
    -------
    DataFrame
        One row per group, item and band: the ``by`` columns, ``item``, ``label``,
        ``area``, ``area_label``, ``scale`` (e.g. "1-10"), ``band`` (1..``n_bands``),
        ``n_bands``, ``codes`` (the band's codes, e.g. "9-10"), ``n`` (answered the
        item), ``n_weighted``, ``count``, ``count_weighted``, ``share`` (weighted; sums
        to 1 over the bands) and ``share_unweighted``.

    Raises
    ------
    ValueError
        ``bands`` < 2, or an item's scale does not split into ``bands`` symmetric bands.
    KeyError
        An item is not in the study.
    """
    if bands is not None and bands < 2:
        raise ValueError(f"banded_distribution: bands must be at least 2, got {bands}")
    items = list(items) if items is not None else study.item_names("satisfaction")
    unknown = [i for i in items if i not in study.items]
    if unknown:
        raise KeyError(f"banded_distribution: {unknown} are not items of the study")
    by = list(by)
    design = study_design(study)
    parts = []
    for name in items:
        it = study.items[name]
        lo, hi = int(it.scale.min), int(it.scale.max)
        try:
            widths = band_widths(hi - lo + 1, bands)
        except ValueError as exc:
            raise ValueError(
                f"banded_distribution: item {name!r} on {lo}-{hi}: {str(exc).split(': ', 1)[1]}"
            ) from None
        starts = lo + np.concatenate([[0], np.cumsum(widths)[:-1]])
        d = item_distribution(data, items=[name], by=by, design=design, codes=range(lo, hi + 1))
        band = np.searchsorted(starts, d["code"].to_numpy(), side="right")
        d = d.assign(band=band.astype(int))
        keys = [*by, "band"]
        agg = d.groupby(keys, sort=False, observed=True).agg(
            n=("n", "first"),
            n_weighted=("n_weighted", "first"),
            count=("count", "sum"),
            count_weighted=("count_weighted", "sum"),
            share=("share", "sum"),
            share_unweighted=("share_unweighted", "sum"),
        )
        agg = agg.reset_index()
        first = starts[agg["band"].to_numpy() - 1]
        last = first + np.asarray(widths)[agg["band"].to_numpy() - 1] - 1
        codes = [str(a) if a == b else f"{a}-{b}" for a, b in zip(first, last, strict=True)]
        area = it.area or ""
        agg.insert(len(by), "item", name)
        agg.insert(len(by) + 1, "label", it.label)
        agg.insert(len(by) + 2, "area", area)
        agg.insert(len(by) + 3, "area_label", study.label(area) if area else "")
        agg.insert(len(by) + 4, "scale", f"{lo}-{hi}")
        agg.insert(len(by) + 6, "n_bands", len(widths))
        agg.insert(len(by) + 7, "codes", codes)
        parts.append(agg)
    return pd.concat(parts, ignore_index=True)


@renamed(level="confidence")
def hierarchy_table(
    data: pd.DataFrame,
    *,
    study: Study,
    by: Sequence[str] = (),
    confidence: float | None = None,
) -> pd.DataFrame:
    """Return the indicator hierarchy as a table: mean, top-2-box, index and base of every node.

    Rows run index, then each area followed by its indicators, each followed by its items.
    Every aggregate is rolled up from the item results with the study's weights, as
    :func:`~analysis_helpers.kpis.csi` rolls up the index: the ``index`` is the 0-100
    satisfaction index; ``top2`` is the same weighted average of the items' top-2-box
    shares (each item's top box from the study file); ``mean`` the same weighted average
    of the item means on their own scale, given only where all of a node's items share one
    scale. Standard errors come from the design covariance of the item results
    (linearisation); intervals are normal at ``confidence``.

    Parameters
    ----------
    data : DataFrame
        Clean analysis data.
    study : Study
        Supplies the hierarchy, scales, top boxes, labels, weights and design.
    by : sequence of str
        Grouping columns.
    confidence : float, optional
        Confidence level; default the study's ``reporting.confidence``.

    Returns
    -------
    DataFrame
        The ``by`` columns, ``level`` ("index", "area", "indicator", "item"), ``name``,
        ``label``, ``area``, ``indicator`` (the node's own or its parents'; "" above,
        and for the items of an area without indicators, which has no indicator rows),
        ``weight`` (normalised within the parent), ``scale_min``, ``scale_max`` (NaN for
        mixed scales), ``n``, ``n_weighted``, ``n_effective`` (answered at least one of the
        node's items), ``mean``, ``mean_se``, ``mean_ci_low``, ``mean_ci_high``, ``top2``
        (in [0, 1]), ``top2_se``, ``top2_ci_low``, ``top2_ci_high``, ``index`` (0-100),
        ``index_se``, ``index_ci_low``, ``index_ci_high``.
    """
    by = list(by)
    confidence = confidence or study.reporting.confidence
    design = study_design(study)
    h = study.hierarchy()
    items = list(h["item"])
    keys = [*by, "level", "name"]
    base = csi(data, hierarchy=h, by=by, design=design, confidence=confidence)
    # means: a common 0-offset scale so that the roll-up returns raw item means
    lo = float(h["scale_min"].min())
    span = float(h["scale_max"].max()) - lo
    raw = csi(
        data, hierarchy=h.assign(scale_min=lo, scale_max=lo + span), by=by, design=design,
        confidence=confidence,
    )  # fmt: skip
    # top-2-box: 0/1 dummies on a 0-1 scale (missing answers stay missing)
    dummies = {
        i: data[i].where(data[i].isna(), data[i].isin(study.items[i].top_codes).astype(float))
        for i in items
    }
    top = csi(
        data.assign(**dummies), hierarchy=h.assign(scale_min=0, scale_max=1), by=by,
        design=design, confidence=confidence,
    )  # fmt: skip
    out = base[[*keys, "parent", "weight", "n", "n_weighted", "n_effective"]].copy()
    out["index"] = base["estimate"].to_numpy()
    out["index_se"] = base["se"].to_numpy()
    out["index_ci_low"] = base["ci_low"].to_numpy()
    out["index_ci_high"] = base["ci_high"].to_numpy()
    for name, t, factor, shift in (("mean", raw, span / 100, lo), ("top2", top, 0.01, 0.0)):
        t = t.set_index(keys).reindex(pd.MultiIndex.from_frame(out[keys]))
        out[name] = t["estimate"].to_numpy() * factor + shift
        out[f"{name}_se"] = t["se"].to_numpy() * factor
        out[f"{name}_ci_low"] = t["ci_low"].to_numpy() * factor + shift
        out[f"{name}_ci_high"] = t["ci_high"].to_numpy() * factor + shift
    # the scale of each node: its items' common scale, or NaN when they differ
    item_area = h.set_index("item")["area"]
    item_ind = h.set_index("item")["indicator"]
    ind_area = h.drop_duplicates("indicator").set_index("indicator")["area"]
    members = {("index", "index"): items}
    members.update({("area", a): list(g["item"]) for a, g in h.groupby("area", sort=False)})
    members.update(
        {("indicator", i): list(g["item"]) for i, g in h.groupby("indicator", sort=False)}
    )
    members.update({("item", i): [i] for i in items})
    sc = {}
    for key, its in members.items():
        sub = h[h["item"].isin(its)]
        one = sub["scale_min"].nunique() == 1 and sub["scale_max"].nunique() == 1
        sc[key] = (sub["scale_min"].iloc[0], sub["scale_max"].iloc[0]) if one else (np.nan,) * 2
    node = list(zip(out["level"], out["name"], strict=True))
    out["scale_min"] = [float(sc[k][0]) for k in node]
    out["scale_max"] = [float(sc[k][1]) for k in node]
    mixed = out["scale_min"].isna()
    for c in ("mean", "mean_se", "mean_ci_low", "mean_ci_high"):
        out.loc[mixed, c] = np.nan
    out["area"] = [
        "" if lv == "index" else nm if lv == "area" else ind_area[nm] if lv == "indicator"
        else item_area[nm]
        for lv, nm in node
    ]  # fmt: skip
    out["indicator"] = [
        nm if lv == "indicator" else item_ind[nm] if lv == "item" else "" for lv, nm in node
    ]
    csi_label = template("kpi.csi", study.language)
    out["label"] = [csi_label if lv == "index" else study.label(nm) for lv, nm in node]
    # tree order: index, area, its indicators, each followed by its items
    rank = {("index", "index"): 0}
    pos = 1
    for a, ga in h.groupby("area", sort=False):
        rank[("area", a)] = pos
        pos += 1
        for i, gi in ga.groupby("indicator", sort=False):
            rank[("indicator", i)] = pos
            pos += 1
            for it in gi["item"]:
                rank[("item", it)] = pos
                pos += 1
    out["_r"] = [rank[k] for k in node]
    out = out.sort_values([*by, "_r"], kind="stable").drop(columns=["_r", "parent"])
    # an area without indicators rolls its items up directly: no indicator row of its own
    stated = {i.name for i in study.spec.indicators}
    pseudo = (out["level"] == "indicator") & ~out["name"].isin(stated)
    out = out[~pseudo]
    out.loc[~out["indicator"].isin(stated), "indicator"] = ""
    cols = [
        *by, "level", "name", "label", "area", "indicator", "weight", "scale_min",
        "scale_max", "n", "n_weighted", "n_effective", "mean", "mean_se", "mean_ci_low",
        "mean_ci_high", "top2", "top2_se", "top2_ci_low", "top2_ci_high", "index",
        "index_se", "index_ci_low", "index_ci_high",
    ]  # fmt: skip
    return out[cols].reset_index(drop=True)


@renamed(level="confidence")
def expectation_gaps(
    data: pd.DataFrame,
    *,
    study: Study,
    by: Sequence[str] = (),
    confidence: float | None = None,
) -> pd.DataFrame:
    """Compute the expectation-satisfaction gap of every pair the study file names.

    The gaps are comparable across scales and adjusted for multiple testing.

    :func:`~analysis_helpers.kpis.expectation_gap` (paired design-based t test) on the
    study's ``expectation:`` pairs, with the means and the gap also on a 0-100 scale
    (``100 (x - min) / (max - min)``, the index scale), so that a gap on a 1-10 item can be
    ranked against one on a 1-5 item, and the p-values adjusted within each group with
    ``reporting.correction``.

    Parameters
    ----------
    data : DataFrame
        Clean analysis data.
    study : Study
        Supplies the pairs, scales, labels, design and reporting rules.
    by : sequence of str
        Grouping columns.
    confidence : float, optional
        Confidence level; default the study's ``reporting.confidence``.

    Returns
    -------
    DataFrame
        The columns of :func:`~analysis_helpers.kpis.expectation_gap` (``estimate`` is the
        gap satisfaction - expectation on the item's scale; negative = shortfall), then
        ``label``, ``area``, ``area_label``, ``scale_min``, ``scale_max``,
        ``expectation_100``, ``satisfaction_100``, ``gap_100``, ``gap_100_ci_low``,
        ``gap_100_ci_high``, ``p_adjusted`` and ``significant`` (``p_adjusted <
        reporting.alpha``).

    Raises
    ------
    ValueError
        The study file pairs no expectation items.
    """
    pairs = study.expectation_pairs()
    if not pairs:
        raise ValueError(
            f"expectation_gaps: study {study.name!r} pairs no expectation items with satisfaction items"
        )
    by = list(by)
    confidence = confidence or study.reporting.confidence
    g = expectation_gap(data, pairs=pairs, by=by, design=study_design(study), confidence=confidence)
    items = study.items
    sat = g["satisfaction"]
    lo = sat.map(lambda i: float(items[i].scale.min))
    span = sat.map(lambda i: float(items[i].scale.max)) - lo
    area = sat.map(lambda i: items[i].area or "")
    g = g.assign(
        label=sat.map(study.label),
        area=area,
        area_label=area.map(lambda a: study.label(a) if a else ""),
        scale_min=lo,
        scale_max=lo + span,
        expectation_100=100 * (g["mean_expectation"] - lo) / span,
        satisfaction_100=100 * (g["mean_satisfaction"] - lo) / span,
        gap_100=100 * g["estimate"] / span,
        gap_100_ci_low=100 * g["ci_low"] / span,
        gap_100_ci_high=100 * g["ci_high"] / span,
    )
    method = study.reporting.correction
    if by:
        adj = g.groupby(by, sort=False, observed=True)["p_value"].transform(
            lambda p: pd.Series(adjust_p(p, correction=method), index=p.index)
        )
    else:
        adj = pd.Series(adjust_p(g["p_value"], correction=method), index=g.index)
    g["p_adjusted"] = adj.to_numpy()
    g["significant"] = g["p_adjusted"] < study.reporting.alpha
    return g


def cut_bases(
    data: pd.DataFrame, *, study: Study, columns: Sequence[str] | None = None
) -> pd.DataFrame:
    """Return how far the sample can be cut: the cell bases of every cross of segment columns.

    For each combination of one, two, ... of the ``columns``, the number of cells that hold
    respondents and how many of them fall below the study's ``reporting.min_base``
    (flagged) and ``reporting.suppress_below`` (suppressed). Cells nobody is in are not
    counted.

    Parameters
    ----------
    data : DataFrame
        Clean analysis data (e.g. one wave).
    study : Study
        Supplies the segment columns, labels and the reporting rules.
    columns : sequence of str, optional
        Segment columns to cross; default all of the study's segments.

    Returns
    -------
    DataFrame
        One row per combination, fewest columns first: ``cut`` (column names joined by
        " x "), ``cut_label``, ``ways``, ``cells``, ``min_n``, ``median_n``, ``max_n``,
        ``low_base`` (cells with ``min_base`` > n >= ``suppress_below``), ``suppressed``
        (cells with n < ``suppress_below``), ``share_reportable`` (cells with n >=
        ``min_base``, in [0, 1]).

    Raises
    ------
    KeyError
        A column is not in ``data``.
    """
    columns = list(columns) if columns is not None else study.segment_columns()
    if not columns:
        raise ValueError("cut_bases: no columns to cross")
    missing = [c for c in columns if c not in data.columns]
    if missing:
        raise KeyError(f"cut_bases: data has no column(s) {missing}")
    rep = study.reporting
    rows = []
    for k in range(1, len(columns) + 1):
        for combo in combinations(columns, k):
            n = data.groupby(list(combo), observed=True).size()
            rows.append(
                {
                    "cut": " x ".join(combo),
                    "cut_label": " x ".join(study.label(c) for c in combo),
                    "ways": k,
                    "cells": len(n),
                    "min_n": int(n.min()),
                    "median_n": float(n.median()),
                    "max_n": int(n.max()),
                    "low_base": int(((n < rep.min_base) & (n >= rep.suppress_below)).sum()),
                    "suppressed": int((n < rep.suppress_below).sum()),
                    "share_reportable": float((n >= rep.min_base).mean()),
                }
            )
    return pd.DataFrame(rows)


@renamed(level="confidence")
def item_performance(
    data: pd.DataFrame,
    *,
    study: Study,
    items: Sequence[str] | None = None,
    measure: str = "mean",
    confidence: float | None = None,
) -> pd.DataFrame:
    """Compute the performance of each item on a common 0-100 axis, for IPA.

    A study-aware convenience: the scale, top box and survey design come from the study
    file, and the estimates (with design-based SEs) from
    :func:`analysis_helpers.estimation.survey_mean`.

    Parameters
    ----------
    data : DataFrame
        Clean analysis data, one row per respondent.
    study : Study
        Supplies each item's scale and top-box codes and the design.
    items : sequence of str, optional
        The items; by default every satisfaction item of the study.
    measure : {"mean", "top2"}
        ``"mean"``: the weighted mean rescaled to 0-100, ``100 (mean - min) / (max - min)``.
        ``"top2"``: the weighted share (in %) rating in the item's top box (the study
        file's ``top_box``, else the top two codes of its scale).
    confidence : float, optional
        Confidence level; default the study's ``reporting.confidence``.

    Returns
    -------
    DataFrame
        One row per item, in the order given: ``item``, ``label``, ``measure``, ``n``,
        ``n_weighted``, ``estimate`` (0-100), ``se``, ``ci_low``, ``ci_high``.
    """
    if measure not in {"mean", "top2"}:
        raise ValueError(f"item_performance: measure={measure!r}: use 'mean' or 'top2'")
    known = study.items
    names = (
        study.item_names("satisfaction")
        if items is None
        else as_names(items, "items", "item_performance", empty=False)
    )
    unknown = [i for i in names if i not in known]
    if unknown:
        raise KeyError(
            f"item_performance: item(s) not in the study: {', '.join(map(repr, unknown))}"
        )
    check_columns(data, names, "item", "item_performance")
    design = study_design(study)
    design_cols = [c for c in study.design_columns().values() if c is not None]
    frame = data[design_cols].copy()
    for name in names:
        x = pd.Series(numeric_values(data, name, "item", "item_performance"), index=data.index)
        sc = known[name].scale
        if measure == "mean":
            frame[name] = 100 * (x - sc.min) / (sc.max - sc.min)
        else:
            frame[name] = (100 * x.isin(known[name].top_codes)).where(x.notna())
    confidence = confidence or study.reporting.confidence
    out = survey_mean(frame, items=names, design=design, confidence=confidence)
    out.insert(1, "label", out["item"].map(study.label))
    out.insert(2, "measure", measure)
    return out[["item", "label", "measure", "n", "n_weighted", "estimate", "se", "ci_low",
                "ci_high"]].reset_index(drop=True)  # fmt: skip


def unasked_items(data: pd.DataFrame, *, study: Study) -> pd.DataFrame:
    """Return the items of the index that a wave has no answer to.

    A question first asked in a later wave, or dropped from one wave's questionnaire,
    leaves that wave without a single answer to it. :func:`~analysis_helpers.kpis.csi`
    then rolls that wave's index up from the items it did rate (weights renormalised),
    and pages say so with :func:`index_notes`. Items without an answer in any wave are
    not listed here: they are out of the index altogether (:meth:`Study.index_note`).

    Parameters
    ----------
    data : DataFrame
        Clean analysis data.
    study : Study

    Returns
    -------
    DataFrame
        One row per (wave, item) gap, in wave then study order: ``wave``,
        ``wave_label``, ``item``, ``label``, ``area``, ``area_label``. No rows for a
        study without waves or an index.
    """
    cols = ["wave", "wave_label", "item", "label", "area", "area_label"]
    col = study.wave_column
    hier = study.hierarchy()
    if col not in data.columns or hier.empty:
        return pd.DataFrame(columns=cols)
    # the wave of every row as a code of its distinct values: no text per row
    codes, uniques = pd.factorize(data[col])
    names = [str(u) for u in uniques]
    present = set(names)
    waves = [w for w in study.waves if w in present]
    if len(waves) < 2:
        return pd.DataFrame(columns=cols)
    items = [i for i in hier["item"] if i in data.columns]
    seen = codes >= 0
    answered = data[items].notna()[seen].groupby(codes[seen]).any()
    answered.index = pd.Index([names[k] for k in answered.index])
    rows = []
    for w in waves:
        for _, h in hier[hier["item"].isin(items)].iterrows():
            if not answered.at[w, h["item"]]:
                rows.append(
                    {
                        "wave": w,
                        "wave_label": study.wave_label(w),
                        "item": h["item"],
                        "label": h["label"],
                        "area": h["area"],
                        "area_label": h["area_label"],
                    }
                )
    return pd.DataFrame(rows, columns=cols)


def index_notes(data: pd.DataFrame, *, study: Study, unanswered: bool = True) -> list[str]:
    """Return the sentences a page shows about items missing from the index.

    The first (:meth:`Study.index_note`) names the items without any answer, left out of
    the index; then one sentence per set of waves that lack the same items, e.g.
    "Ease of the app was not asked in 2024 Q1: in that wave the satisfaction index rolls
    up the other items, so compare it with later waves with care." Labels, never column
    names; an empty list when nothing is missing.

    Parameters
    ----------
    data : DataFrame
        Clean analysis data.
    study : Study
    unanswered : bool, default True
        Whether to start with :meth:`Study.index_note` (False on the cleaning page, whose
        data dictionary already names the items without answers).

    Returns
    -------
    list of str
    """
    notes = [study.index_note()] if unanswered and study.index_note() else []
    gaps = unasked_items(data, study=study)
    if gaps.empty:
        return notes
    per_wave = gaps.groupby("wave", sort=False)["label"].agg(tuple)
    groups: dict[tuple, list[str]] = {}
    for wave, labels in per_wave.items():
        groups.setdefault(labels, []).append(study.wave_label(str(wave)))
    from .text import template, words

    lang = study.language
    for labels, waves in groups.items():
        key = f"notes.unasked_{'item' if len(labels) == 1 else 'items'}_"
        key += "wave" if len(waves) == 1 else "waves"
        notes.append(
            template(key, lang).format(labels=words(labels, lang), waves=words(waves, lang))
        )
    return notes
