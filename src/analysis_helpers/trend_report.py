"""The trend page (30-trend): study-aware tables and takeaways built on :mod:`trend`.

The estimators live in :mod:`analysis_helpers.trend` (wave-over-wave z tests, turning
points, the operational meta-regression); this module applies them to a study - its waves
and wave labels, its KPIs, its areas, its operations file, its significance level and
correction - and words the results as a client reads them. Every sentence is built with
:func:`~analysis_helpers.safe_output.md`, so values from the study or the data are escaped,
and none carries a degenerate number ("0 of 0", a change "from X to X", "1 waves").
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from .formatting import (
    confidence_label,
    fmt_change,
    fmt_ci,
    fmt_list,
    fmt_p,
    fmt_value,
    kind_for_unit,
)
from .kpis import _level_weights, _node_path, csi
from .safe_output import Md, md
from .study import Study
from .study_tables import study_design
from .trend import adjust_p, compare_waves, operational_link, turning_points, wave_over_wave
from .trend_decompose import decompose_changes, wave_periods, wave_text, year_earlier

__all__ = [
    "observed_waves",
    "kpi_words",
    "trend_intro",
    "by_wave_wide",
    "kpi_changes",
    "changes_takeaway",
    "area_changes",
    "area_takeaway",
    "operations_parts",
    "operational_links",
    "operations_takeaway",
    "significance_words",
    "metric_label",
    "cell_words",
    "year_pairs",
    "wave_heatmap",
    "heatmap_takeaway",
    "kpi_columns",
    "kpi_decomposition",
    "decomposition_takeaway",
    "decomposition_wide",
    "area_attribution",
    "attribution_takeaway",
    "trend_alerts",
    "alerts_takeaway",
]


def _t(study: Study, key: str, /, **values) -> Md:
    """Return the sentence of ``key`` in the study's report language (see ``text.text``)."""
    from .text import text

    return text(key, study.language, **values)


def _n(study: Study, n: float, key: str) -> str:
    """Return a count with its noun in the report's language (see ``text.count``)."""
    from .text import count

    return count(n, key, study.language)


_CORRECTIONS = {"holm": "Holm", "fdr_bh": "Benjamini-Hochberg", "bonferroni": "Bonferroni"}


def observed_waves(data: pd.DataFrame, *, study: Study) -> list[str]:
    """Return the study's waves that have respondents in ``data``, in time order.

    Parameters
    ----------
    data : DataFrame
        Clean analysis data with the study's wave column.
    study : Study

    Returns
    -------
    list of str
        Wave codes (a wave that lost every respondent in cleaning is left out).
    """
    col = study.wave_column
    if col not in data.columns:
        return []
    present = {str(w) for w in pd.unique(data[col].dropna())}  # distinct values, not per row
    return [w for w in study.waves if w in present]


def kpi_words(table: pd.DataFrame, *, study: Study) -> pd.DataFrame:
    """Return a KPI table with its labels, and a ``scale`` column, in the report's language.

    :func:`~analysis_helpers.study_tables.kpi_summary` names its KPIs in English ("Overall
    satisfaction: mean"); this rewords each label from its ``kpi`` code and the item's label
    with the text tables, and adds ``scale`` (the ``unit`` in words; ``unit`` itself, which
    decides the number formats, is kept). In English the labels are unchanged.

    Parameters
    ----------
    table : DataFrame
        With ``kpi``, ``label`` and ``unit`` columns.
    study : Study

    Returns
    -------
    DataFrame
        A copy with ``label`` reworded and ``scale`` after ``unit``.
    """
    from .text import template

    lang = study.language
    k = study.kpis
    items = study.items

    def word(key: str, **values) -> str:
        return template(key, lang).format(**values)

    def label(kpi: str, old: str) -> str:
        if kpi == "csi":
            return word("trend.csi_name")
        if kpi == "nps" and k.nps:
            return word("trend.kpi_nps", item=items[k.nps].label)
        if kpi in ("overall_mean", "ces_mean"):
            name = k.overall if kpi == "overall_mean" else k.ces
            return word("trend.kpi_mean", item=items[name].label) if name else old
        if kpi.endswith("_top2"):
            name = k.overall if kpi == "overall_top2" else kpi.removesuffix("_top2")
            return word("trend.kpi_top2", item=items[name].label) if name in items else old
        return old

    def scale(unit: str) -> str:
        kind = kind_for_unit(unit)
        keys = {
            "share": "trend.scale_share",
            "nps": "trend.scale_nps",
            "index": "trend.scale_index",
        }
        if kind in keys:
            return word(keys[kind])
        m = re.fullmatch(r"mean \(([^,]*)(, lower is better)?\)", str(unit))
        if m:
            return word(
                "trend.scale_mean_low" if m.group(2) else "trend.scale_mean", scale=m.group(1)
            )
        return str(unit)

    out = table.copy()
    if lang != "en":
        out["label"] = [
            label(str(a), str(b)) for a, b in zip(out["kpi"], out["label"], strict=True)
        ]
    out.insert(out.columns.get_loc("unit") + 1, "scale", out["unit"].map(scale))
    return out


def significance_words(study: Study) -> str:
    """Say how the page names its test: ``"p < 0.05, Holm-adjusted"``.

    The level and correction come from the study's ``reporting``; the words from the text
    tables in the report's language ("p < 0.05，经 Holm 校正").
    """
    from .text import template

    rep = study.reporting
    adj = _CORRECTIONS.get(rep.correction, "")
    lang = study.language
    adjusted = template("trend.sig_adjusted", lang).format(name=adj) if adj else ""
    return template("trend.sig_words", lang).format(alpha=f"{rep.alpha:g}", adjusted=adjusted)


def trend_intro(data: pd.DataFrame, *, study: Study) -> Md:
    """Return the page's first sentence: respondents, waves, the period and the bases per wave.

    Parameters
    ----------
    data : DataFrame
        Clean analysis data with at least two observed waves.
    study : Study

    Returns
    -------
    Md
        E.g. "1,200 respondents over 6 waves (Q1 2024 to Q2 2025), 180 to 220 a wave."
    """
    waves = observed_waves(data, study=study)
    if len(waves) < 2:
        raise ValueError("trend_intro: the data hold fewer than two waves")
    per_wave = data[study.wave_column].astype(str).value_counts()
    low, high = int(per_wave[waves].min()), int(per_wave[waves].max())
    bases = (
        _t(study, "trend.intro_base", n=low)
        if low == high
        else _t(study, "trend.intro_bases", a=low, b=high)
    )
    return _t(
        study,
        "trend.intro",
        respondents=_n(study, len(data), "trend.n_respondents"),
        waves=_n(study, len(waves), "trend.n_waves"),
        first=study.wave_label(waves[0]),
        last=study.wave_label(waves[-1]),
        bases=bases,
    )


def by_wave_wide(
    table: pd.DataFrame,
    *,
    study: Study,
    index: Sequence[str] = ("label", "unit"),
    value: str = "estimate",
) -> pd.DataFrame:
    """One row per series, one column per wave (the study's codes, in time order).

    Unlike :meth:`DataFrame.pivot` the rows keep the table's order (KPIs as the study lists
    them), and waves without an estimate are left out.

    Parameters
    ----------
    table : DataFrame
        Tidy estimates by wave: the study's wave column, the ``index`` columns and ``value``.
    study : Study
    index : sequence of str
        The columns naming a series.
    value : str
        The column to spread over the waves.

    Returns
    -------
    DataFrame
        The ``index`` columns, then one column per wave code holding ``value``.
    """
    index = list(index)
    wave = study.wave_column
    missing = [c for c in [wave, *index, value] if c not in table.columns]
    if missing:
        raise KeyError(f"by_wave_wide: table has no column(s) {missing}")
    t = table[table[value].notna()].astype({wave: str})
    waves = [w for w in study.waves if w in set(t[wave])]
    order = list(dict.fromkeys(map(tuple, t[index].to_numpy().tolist())))
    wide = t.pivot_table(index=index, columns=wave, values=value, aggfunc="first", sort=False)
    wide = wide.reindex(pd.MultiIndex.from_tuples(order, names=index))[waves]
    wide.columns = pd.Index(waves, name=None)
    return wide.reset_index()


def kpi_changes(by_wave: pd.DataFrame, *, study: Study) -> pd.DataFrame:
    """Each KPI's change from one wave to the next, tested at the study's level.

    Parameters
    ----------
    by_wave : DataFrame
        :func:`~analysis_helpers.study_tables.kpi_summary` by the wave column.
    study : Study
        Waves in time order, ``reporting.alpha`` and ``reporting.correction``.

    Returns
    -------
    DataFrame
        :func:`~analysis_helpers.trend.wave_over_wave` output by ``kpi``, ``label`` and
        ``unit``: ``wave_from``, ``wave_to``, ``estimate_from``, ``estimate_to``,
        ``change``, ``se``, ``statistic``, ``p_value``, ``p_adjusted``, ``significant``,
        ``direction``; KPIs in the table's order.
    """
    t = by_wave[by_wave["estimate"].notna() & by_wave["se"].notna()]
    t = t.astype({study.wave_column: str})
    out = wave_over_wave(
        t,
        wave=study.wave_column,
        order=study.waves,
        by=["kpi", "label", "unit"],
        alpha=study.reporting.alpha,
        correction=study.reporting.correction,
    )
    rank = {k: i for i, k in enumerate(dict.fromkeys(by_wave["kpi"]))}
    return out.sort_values("kpi", key=lambda s: s.map(rank), kind="stable").reset_index(drop=True)


def _moved(row: pd.Series, unit: str, study: Study) -> Md:
    """'**CSI** fell 7.8 index points (from 65.1 to 57.4)' for one change row."""
    from .text import size as size_words

    kind = kind_for_unit(unit)
    return _t(
        study,
        "trend.moved_rose" if row["change"] > 0 else "trend.moved_fell",
        label=row["label"],
        size=size_words(row["change"], kind, study.language),
        a=fmt_value(row["estimate_from"], kind),
        b=fmt_value(row["estimate_to"], kind),
    )


def changes_takeaway(changes: pd.DataFrame, *, study: Study) -> Md:
    """Return the takeaway of the wave-over-wave table, worded for two waves or many.

    Two waves: which KPIs changed significantly (or that none did, and the largest move).
    More waves: how many of the comparisons are significant, then the latest wave.

    Parameters
    ----------
    changes : DataFrame
        :func:`kpi_changes` output with at least one row.
    study : Study

    Returns
    -------
    Md
    """
    if changes.empty:
        raise ValueError("changes_takeaway: no wave-over-wave comparisons")
    test = significance_words(study)
    last_to = [w for w in study.waves if w in set(changes["wave_to"].astype(str))][-1]
    latest = changes[changes["wave_to"].astype(str) == last_to]
    first = study.wave_label(latest["wave_from"].iloc[0])
    last = study.wave_label(last_to)
    moved = latest[latest["significant"].astype(bool)]
    if len(moved):
        in_latest = _t(
            study,
            "trend.changes_moved",
            a=first,
            b=last,
            moved=Md(_t(study, "trend.sep")).join(
                _moved(r, r["unit"], study) for _, r in moved.iterrows()
            ),
        )
    else:
        top = latest.loc[(latest["change"] / latest["se"]).abs().idxmax()]
        largest = (
            _t(study, "trend.changes_largest", moved=_moved(top, top["unit"], study))
            if top["change"] != 0
            else Md("")
        )
        n_pairs = changes[["wave_from", "wave_to"]].drop_duplicates().shape[0]
        in_latest = _t(
            study,
            "trend.changes_none",
            a=first,
            b=last,
            test=_t(study, "trend.paren", x=test) if n_pairs == 1 else Md(""),
            largest=largest,
        )
    n_pairs = changes[["wave_from", "wave_to"]].drop_duplicates().shape[0]
    if n_pairs == 1:
        return in_latest
    n_sig = int(changes["significant"].astype(bool).sum())
    n_kpis = changes["kpi"].nunique()
    kpis = _n(study, n_kpis, "trend.n_kpis")
    pairs = _n(study, n_pairs, "trend.n_pairs")
    counted = (
        _t(
            study,
            "trend.changes_counted_1" if n_sig == 1 else "trend.changes_counted_n",
            n=n_sig,
            total=len(changes),
            kpis=kpis,
            pairs=pairs,
            test=test,
        )
        if n_sig
        else _t(
            study, "trend.changes_no_sig", total=len(changes), kpis=kpis, pairs=pairs, test=test
        )
    )
    return counted + " " + in_latest


def area_changes(
    data: pd.DataFrame, *, study: Study, index: pd.DataFrame | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Compute the satisfaction index of every area by wave, and its wave-over-wave changes.

    Parameters
    ----------
    data : DataFrame
        Clean analysis data.
    study : Study
        A study with an index (``study.has_index``).
    index : DataFrame, optional
        :func:`~analysis_helpers.kpis.csi` by the wave column, when already computed.

    Returns
    -------
    (areas, changes) : tuple of DataFrame
        ``areas``: :func:`~analysis_helpers.kpis.csi` rows of level "area" by wave, with
        an ``area`` column (the area's label). ``changes``:
        :func:`~analysis_helpers.trend.wave_over_wave` by ``name`` and ``area`` at the
        study's level and correction.
    """
    wave = study.wave_column
    if index is None:
        index = csi(data, hierarchy=study.hierarchy(), by=[wave], design=study_design(study))
    areas = index[(index["level"] == "area") & index["estimate"].notna()]
    areas = areas.assign(area=areas["name"].map(study.label)).astype({wave: str})
    areas = areas.reset_index(drop=True)
    changes = wave_over_wave(
        areas[areas["se"].notna()],
        wave=wave,
        order=study.waves,
        by=["name", "area"],
        alpha=study.reporting.alpha,
        correction=study.reporting.correction,
    )
    return areas, changes


def area_takeaway(changes: pd.DataFrame, *, study: Study, min_change: float = 1.0) -> Md:
    """Return the takeaway of the area changes.

    The largest significant change (a turning point when the study has three or more
    waves), or that no area moved.

    Parameters
    ----------
    changes : DataFrame
        The ``changes`` of :func:`area_changes`.
    study : Study
    min_change : float
        Smallest change in index points that counts.

    Returns
    -------
    Md
    """
    n_pairs = changes[["wave_from", "wave_to"]].drop_duplicates().shape[0]
    turns = turning_points(changes, min_change=min_change)
    test = significance_words(study)
    if turns.empty:
        return _t(
            study,
            "trend.area_none_many" if n_pairs > 1 else "trend.area_none_two",
            test=test,
            m=min_change,
        )
    top = turns.iloc[0]
    others = len(turns) - 1
    more = (
        _t(study, "trend.area_more_1" if others == 1 else "trend.area_more_n", n=others)
        if others
        else Md("")
    )
    rose = top["change"] > 0
    return _t(
        study,
        ("trend.area_turn_rose" if rose else "trend.area_turn_fell")
        if n_pairs > 1
        else ("trend.area_change_rose" if rose else "trend.area_change_fell"),
        area=top["area"],
        size=abs(top["change"]),
        a=study.wave_label(top["wave_from"]),
        b=study.wave_label(top["wave_to"]),
        before=top["estimate_from"],
        after=top["estimate_to"],
        p=fmt_p(top["p_adjusted"], prefix=True),
        more=more,
    )


def operations_parts(
    operations: pd.DataFrame, data: pd.DataFrame, *, study: Study, metric: str = ""
) -> tuple[list[str], list[str], Md]:
    """Return the cell keys and the metrics of an operations table, or why it cannot be linked.

    Keys are the text columns (the wave column among them); metrics are the numeric
    columns, or the one named.

    Parameters
    ----------
    operations : DataFrame
        :func:`~analysis_helpers.io.read_operations` output.
    data : DataFrame
        Clean analysis data: every key must be one of its columns.
    study : Study
    metric : str
        One metric column; ``""``: every numeric column.

    Returns
    -------
    (keys, metrics, problem) : tuple
        ``keys`` and ``metrics`` (lists of column names) and ``problem``: ``""``, or a
        sentence saying why the file cannot be linked to the survey (no wave column, no
        numeric column, a key the survey data lack).

    Raises
    ------
    KeyError
        ``metric`` is not a numeric column of the operations file.
    """
    wave = study.wave_column
    numeric = [
        c for c in operations.columns if c != wave and pd.api.types.is_numeric_dtype(operations[c])
    ]
    keys = [c for c in operations.columns if c not in numeric]
    if metric and metric not in numeric:
        raise KeyError(
            f"ops_metric {metric!r} is not a numeric column of the operations file "
            f"{study.spec.data.operations!r}; its metrics are {numeric}"
        )
    metrics = [metric] if metric else numeric
    absent = [k for k in keys if k not in data.columns]
    problem = Md("")
    if wave not in operations.columns:
        problem = Md(
            "The operations file has no wave column, so its metrics cannot be matched to waves."
        )
    elif not metrics:
        problem = Md("The operations file has no numeric column to use as a metric.")
    elif absent:
        problem = md(
            "The operations file is broken down by {cols}, which the survey data do not have.",
            cols=fmt_list(absent),
        )
    return keys, metrics, problem


def operational_links(
    data: pd.DataFrame,
    operations: pd.DataFrame,
    *,
    study: Study,
    metrics: Sequence[str],
    keys: Sequence[str],
    areas: Sequence[str] = (),
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every metric against every area's index, over the cells of the operations file.

    For each area (default: every area of the study) the index is estimated per cell (e.g.
    wave x region, design-based) and regressed on each metric with
    :func:`~analysis_helpers.trend.operational_link`; the p-values are corrected over all
    links with the study's correction (several areas are tried).

    Parameters
    ----------
    data : DataFrame
        Clean analysis data.
    operations : DataFrame
        The metrics per cell.
    study : Study
    metrics : sequence of str
        Metric columns of ``operations``.
    keys : sequence of str
        The cell keys (columns of both tables).
    areas : sequence of str
        Area names; empty means every area.

    Returns
    -------
    (links, cells) : tuple of DataFrame
        ``links``: one row per metric and area that has enough cells: ``metric``,
        ``name``, ``area`` (label), ``slope``, ``se``, ``ci_low``, ``ci_high``,
        ``p_value``, ``p_adjusted``, ``significant``, ``r2``, ``n_cells``,
        ``metric_min``, ``metric_max``; strongest link (smallest p) first.
        ``cells``: the cell estimates merged with the metrics: the ``keys``, ``name``,
        ``estimate``, ``se``, ``n`` and the metric columns.
    """
    keys = list(keys)
    known = list(dict.fromkeys(study.hierarchy()["area"].dropna()))
    areas = list(areas) or known
    unknown = [a for a in areas if a not in known]
    if unknown:
        raise KeyError(f"operational_links: unknown area(s) {unknown}; areas: {known}")
    index = csi(data, hierarchy=study.hierarchy(), by=keys, design=study_design(study))
    index = index[(index["level"] == "area") & index["name"].isin(areas)]
    index = index[index["estimate"].notna() & (index["se"] > 0)].astype({k: str for k in keys})
    ops = operations.astype({k: str for k in keys})
    rows = []
    for metric in metrics:
        for area in areas:
            scores = index[index["name"] == area]
            try:
                link = operational_link(
                    scores, ops, metric=metric, on=keys, confidence=study.reporting.confidence
                )
            except ValueError:
                continue  # too few cells, or the metric does not vary over them
            rows.append(link.assign(name=area, area=study.label(area)))
    cols = [
        "metric", "name", "area", "slope", "se", "ci_low", "ci_high", "p_value", "p_adjusted",
        "significant", "r2", "n_cells", "metric_min", "metric_max",
    ]  # fmt: skip
    cells = index[[*keys, "name", "estimate", "se", "n"]].merge(
        ops[[*keys, *metrics]], on=keys, how="inner"
    )
    if not rows:
        return pd.DataFrame(columns=cols), cells
    links = pd.concat(rows, ignore_index=True)
    links["p_adjusted"] = adjust_p(links["p_value"], correction=study.reporting.correction)
    links["significant"] = links["p_adjusted"] < study.reporting.alpha
    links = links.sort_values(["p_value", "metric", "name"], kind="stable").reset_index(drop=True)
    return links[cols], cells


def operations_takeaway(links: pd.DataFrame, *, study: Study, keys: Sequence[str]) -> Md:
    """Return the takeaway of the operational links: the strongest one, in the metric's units.

    Parameters
    ----------
    links : DataFrame
        The ``links`` of :func:`operational_links`, at least one row.
    study : Study
    keys : sequence of str
        The cell keys, to name the cells ("wave x region").

    Returns
    -------
    Md
    """
    if links.empty:
        raise ValueError("operations_takeaway: no operational link")
    top = links.iloc[0]
    cells = cell_words(keys, study=study)
    tried = _t(study, "trend.ops_tried", n=len(links)) if len(links) > 1 else Md("")
    slope = _t(
        study,
        "trend.ops_slope",
        metric=metric_label(top["metric"]),
        slope=top["slope"],
        area=top["area"],
        confidence=confidence_label(study),
        ci=fmt_ci(top["ci_low"], top["ci_high"], kind="number.2"),
        p=fmt_p(top["p_adjusted"], prefix=True),
        cells=_n(study, int(top["n_cells"]), "trend.n_cells"),
        what=cells,
    )
    if bool(top["significant"]):
        return _t(study, "trend.ops_strongest", tried=tried, slope=slope)
    return _t(
        study,
        "trend.ops_none",
        tried=tried,
        slope=slope,
    )


def cell_words(keys: Sequence[str], *, study: Study) -> str:
    """Return the cells of an operations file in words: ``["wave", "region"]`` -> "wave x Region".

    Segment columns are named by their titles.
    """
    from .text import template

    wave = template("trend.wave_word", study.language)
    return " x ".join(wave if k == study.wave_column else _key_word(study, k) for k in keys)


def _key_word(study: Study, column: str) -> str:
    if column in study.segment_columns():
        return study.segment(column).title
    return metric_label(column).lower()


def metric_label(column: str) -> str:
    """Return a column name as words: ``"hotline_wait_min"`` -> ``"Hotline wait min"``."""
    text = str(column).replace("_", " ").strip()
    return text[:1].upper() + text[1:] if text else str(column)


# --------------------------------------------------------------------------------------
# Issue 16: the heatmap, why it moved, alerts
# --------------------------------------------------------------------------------------
def year_pairs(study: Study, waves: Sequence[str]) -> tuple[dict[str, str], Md]:
    """Pair each observed wave with the observed wave a year earlier, or say why none.

    The study file's ``trend.waves_per_year`` decides; otherwise the wave codes or labels
    (:func:`~analysis_helpers.trend_decompose.year_earlier`).

    Parameters
    ----------
    study : Study
    waves : sequence of str
        The observed waves in time order.

    Returns
    -------
    (pairs, note) : tuple
        ``pairs``: later wave -> wave a year earlier (both observed); ``note``: ``""``,
        or one sentence saying why no wave has a year-earlier comparison.
    """
    per_year = study.spec.trend.waves_per_year
    pairs = year_earlier(list(study.waves), study.wave_labels(), per_year=per_year)
    seen = set(waves)
    pairs = {b: a for b, a in pairs.items() if a in seen and b in seen}
    if pairs:
        return pairs, Md("")
    if per_year is None and not year_earlier(list(study.waves), study.wave_labels()):
        if (wave_periods(list(study.waves), study.wave_labels())["kind"] == "").any():
            return pairs, _t(study, "trend.year_no_periods")
    return pairs, _t(
        study,
        "trend.year_none",
        first=study.wave_label(waves[0]),
        last=study.wave_label(waves[-1]),
    )


_LEVEL_ORDER = {"index": 0, "area": 1, "indicator": 2, "item": 3}


def wave_heatmap(
    index: pd.DataFrame, *, study: Study, waves: Sequence[str], year: Mapping[str, str]
) -> pd.DataFrame:
    """Return every node of the index by wave with its change against the previous wave and a year earlier.

    P-values are corrected with the study's correction within each level of the hierarchy
    and each comparison (index, areas, indicators, items; previous wave, a year earlier).

    Parameters
    ----------
    index : DataFrame
        :func:`~analysis_helpers.kpis.csi` by the wave column (every level).
    study : Study
    waves : sequence of str
        The observed waves, in time order.
    year : mapping
        Later wave -> wave a year earlier (:func:`year_pairs`).

    Returns
    -------
    DataFrame
        One row per node and wave, top-down (index, each area, its indicators, their
        items): ``level``, ``name``, ``label``, ``depth`` (0-3), the wave column,
        ``estimate`` (0-100), ``se``, ``n``, then for ``prev`` and ``year``:
        ``change_<c>``, ``p_<c>`` (adjusted), ``sig_<c>`` (bool; False where there is no
        comparison).
    """
    wave = study.wave_column
    t = index[index["estimate"].notna()].astype({wave: str})
    t = t[t[wave].isin(list(waves))]
    rep = study.reporting
    prev = {b: a for a, b in zip(waves, waves[1:], strict=False)}
    out = t[["level", "name", "parent", wave, "estimate", "se", "n"]].copy()
    for tag, pairs in (("prev", prev), ("year", dict(year))):
        c = compare_waves(
            t, wave=wave, pairs=pairs, by=["level", "name"], alpha=rep.alpha,
            correction=rep.correction, family=["level"],
        )  # fmt: skip
        c = c.rename(columns={"wave_to": wave, "change": f"change_{tag}",
                              "p_adjusted": f"p_{tag}", "significant": f"sig_{tag}"})  # fmt: skip
        out = out.merge(
            c[["level", "name", wave, f"change_{tag}", f"p_{tag}", f"sig_{tag}"]],
            on=["level", "name", wave],
            how="left",
        )
        out[f"sig_{tag}"] = out[f"sig_{tag}"].fillna(False).astype(bool)
    h = study.hierarchy()
    order: list[tuple[str, str]] = [("index", "index")]
    for area in dict.fromkeys(h["area"]):
        order.append(("area", area))
        part = h[h["area"] == area]
        for ind in dict.fromkeys(part["indicator"]):
            if ind != area:
                order.append(("indicator", ind))
            order += [("item", i) for i in part.loc[part["indicator"] == ind, "item"]]
    rank = {key: k for k, key in enumerate(order)}
    wrank = {w: k for k, w in enumerate(waves)}
    out["_r"] = [
        rank.get((lv, nm), len(rank)) for lv, nm in zip(out["level"], out["name"], strict=True)
    ]
    out["_w"] = out[wave].map(wrank)
    out = out.sort_values(["_r", "_w"], kind="stable").drop(columns=["_r", "_w", "parent"])
    from .text import template

    csi_name = template("trend.csi_name", study.language)
    out.insert(2, "label", [
        csi_name if lv == "index" else study.label(nm)
        for lv, nm in zip(out["level"], out["name"], strict=True)
    ])  # fmt: skip
    out.insert(3, "depth", out["level"].map(_LEVEL_ORDER).astype(int))
    return out.reset_index(drop=True)


def heatmap_takeaway(heat: pd.DataFrame, *, study: Study, year_note: str | Md = "") -> Md:
    """Return the heatmap's takeaway: how many cells moved, and the largest fall or rise.

    Parameters
    ----------
    heat : DataFrame
        :func:`wave_heatmap` output.
    study : Study
    year_note : str or Md
        :func:`year_pairs`' note, added when no wave has a year-earlier comparison.

    Returns
    -------
    Md
    """
    test = significance_words(study)
    sig = heat[heat["sig_prev"]]
    n_cmp = int(heat["change_prev"].notna().sum())
    n_year = int(heat["sig_year"].sum())
    yr = (
        _t(study, "trend.heat_year_1" if n_year == 1 else "trend.heat_year_n", n=n_year)
        if heat["change_year"].notna().any()
        else (md(" {note}", note=Md(year_note)) if year_note else Md(""))
    )
    if sig.empty:
        return _t(study, "trend.heat_none", test=test, n=n_cmp, yr=yr)
    top = sig.loc[sig["change_prev"].abs().idxmax()]
    return _t(
        study, "trend.heat_rose" if top["change_prev"] > 0 else "trend.heat_fell",
        k=len(sig), n=n_cmp, test=test, label=top["label"], size=abs(top["change_prev"]),
        w=study.wave_label(top[study.wave_column]), yr=yr,
    )  # fmt: skip


def _index_coefficients(
    study: Study, items: Sequence[str], node: tuple[str, str] = ("index", "index")
) -> tuple[dict[str, float], float]:
    """Return a node's coefficients on the raw item scores, and its constant.

    The node is ``sum_i a_i 100 (x_i - min_i) / range_i`` over the ``items`` (the
    hierarchy restricted to them, weights renormalised as :func:`~analysis_helpers.kpis.csi`
    does for items a group was not asked).
    """
    h = study.hierarchy()
    h = h[h["item"].isin(list(items))].reset_index(drop=True)
    w_item = _level_weights(h, "weight_item", "item", "indicator")
    w_ind = _level_weights(h, "weight_indicator", "indicator", "area")
    w_area = _level_weights(h, "weight_area", "area", None)
    item_ind = h.set_index("item")["indicator"]
    ind_area = h.drop_duplicates("indicator").set_index("indicator")["area"]
    path = _node_path(h, node[0], node[1], w_item, w_ind, w_area, item_ind, ind_area)
    lo = h.set_index("item")["scale_min"].astype(float)
    rng = h.set_index("item")["scale_max"].astype(float) - lo
    coef = {i: float(a) * 100 / rng[i] for i, a in path.items()}
    const = -sum(coef[i] * lo[i] for i in coef)
    return coef, const


def kpi_columns(
    data: pd.DataFrame, *, study: Study, kpi: str, waves: Sequence[str] = ()
) -> tuple[pd.DataFrame, dict[str, float], float, list[str]]:
    """Return the per-respondent columns of a KPI, their coefficients and constant.

    The KPI is ``sum_i c_i mean(column_i) + constant`` (the names of
    :func:`~analysis_helpers.study_tables.kpi_summary`'s ``kpi`` column).

    Parameters
    ----------
    data : DataFrame
        Clean analysis data.
    study : Study
    kpi : str
        ``overall_mean``, ``overall_top2``, ``nps``, ``ces_mean``, ``<item>_top2``,
        ``csi``, or ``area:<name>`` for an area's index.
    waves : sequence of str
        For the index: the items answered in every one of these waves are used.

    Returns
    -------
    (columns, coefficients, constant, left_out) : tuple
        A frame of the derived columns (one per item; shares as 0/1, NPS as +100/0/-100),
        column -> coefficient, the constant, and the index items left out because a
        wave did not ask them.
    """
    k = study.kpis
    item: str
    if kpi in ("overall_mean", "ces_mean"):
        item = str(k.overall if kpi == "overall_mean" else k.ces)
        return data[[item]].apply(pd.to_numeric, errors="coerce"), {item: 1.0}, 0.0, []
    if kpi == "nps":
        item = str(k.nps)
        x = pd.to_numeric(data[item], errors="coerce")
        score = np.where(x >= 9, 100.0, np.where(x <= 6, -100.0, 0.0))
        return pd.DataFrame({item: np.where(x.isna(), np.nan, score)}), {item: 1.0}, 0.0, []
    if kpi.endswith("_top2"):
        item = str(k.overall) if kpi == "overall_top2" else kpi.removesuffix("_top2")
        x = pd.to_numeric(data[item], errors="coerce")
        top = x.isin(list(study.items[item].top_codes)).astype(float).where(x.notna())
        return pd.DataFrame({item: top}), {item: 1.0}, 0.0, []
    node = ("index", "index")
    if kpi.startswith("area:"):
        node = ("area", kpi.removeprefix("area:"))
    elif kpi != "csi":
        raise KeyError(f"kpi_columns: unknown KPI {kpi!r}")
    items = list(study.hierarchy()["item"])
    wave = study.wave_column
    left_out = []
    if waves:
        wv = wave_text(data[wave])
        answered = data[items].notna().to_numpy()
        for w in waves:
            none = ~answered[wv == str(w)].any(axis=0)
            left_out += [i for i, n in zip(items, none, strict=True) if n and i not in left_out]
    keep = [i for i in items if i not in left_out]
    coef, const = _index_coefficients(study, keep, node)
    cols = data[list(coef)].apply(pd.to_numeric, errors="coerce")
    return cols, coef, const, left_out


def kpi_decomposition(
    data: pd.DataFrame,
    *,
    study: Study,
    kpis: Sequence[str],
    wave_from: str,
    wave_to: str,
    segments: Sequence[str],
) -> pd.DataFrame:
    """Split each KPI's change between two waves into mix and rate, for each segment column.

    Parameters
    ----------
    data : DataFrame
        Clean analysis data (every wave: the design is the whole sample's).
    study : Study
    kpis : sequence of str
        KPI names (:func:`kpi_columns`).
    wave_from, wave_to : str
        The two waves.
    segments : sequence of str
        Segment columns.

    Returns
    -------
    DataFrame
        :func:`~analysis_helpers.trend_decompose.decompose_change` rows with ``kpi``,
        ``segment_column``, ``segment_title`` and ``segment_label`` (the value's label)
        in front, and the CI level of the study.
    """
    wave = study.wave_column
    design = study_design(study)
    pair = data[np.isin(wave_text(data[wave]), [str(wave_from), str(wave_to)])]
    frame = pair[list(dict.fromkeys([wave, *segments]))].copy()
    coefs = {}
    for kpi in kpis:
        cols, coef, _, _ = kpi_columns(pair, study=study, kpi=kpi, waves=[wave_from, wave_to])
        for c in cols.columns:
            frame[f"{kpi}:{c}"] = cols[c].to_numpy()
        coefs[kpi] = {f"{kpi}:{c}": v for c, v in coef.items()}
    d = decompose_changes(
        frame, kpis=coefs, segments=list(segments), wave=wave, wave_from=wave_from,
        wave_to=wave_to, design=design, confidence=study.reporting.confidence, sample=data,
    )  # fmt: skip
    title = {seg: study.segment(seg).title for seg in segments}
    values = {seg: study.segment(seg).values for seg in segments}
    d.insert(2, "segment_title", d["segment_column"].map(title))
    d.insert(4, "segment_label", [values[c].get(v, v) for c, v in
                                  zip(d["segment_column"], d["segment"], strict=True)])  # fmt: skip
    return d


def area_attribution(
    data: pd.DataFrame, *, study: Study, wave_from: str, wave_to: str, segment: str | None
) -> pd.DataFrame:
    """Attribute the change of the CSI to the areas: area weight x the area's change.

    Each area's contribution is its weight in the index times the change of its own index,
    so the contributions add up to the CSI's change; its design-based CI comes from
    :func:`~analysis_helpers.trend_decompose.decompose_change` of the area's items with
    the index's coefficients. With a ``segment`` column, each area's rate part is split
    over the segments, to say where it happened.

    Parameters
    ----------
    data : DataFrame
        Clean analysis data.
    study : Study
    wave_from, wave_to : str
        The two waves.
    segment : str or None
        A segment column, or None (each contribution then has no segment split).

    Returns
    -------
    DataFrame
        One row per area, largest absolute contribution first: ``name``, ``area``
        (label), ``contribution``, ``se``, ``ci_low``, ``ci_high``, ``p_value``,
        ``share`` (of the CSI's change), ``top_segment`` (the label of the segment whose
        own scores moved the area most in the direction of its contribution; ``""``
        without a segment), ``top_segment_part`` (that segment's rate piece, in CSI
        points).
    """
    wave = study.wave_column
    design = study_design(study)
    pair = data[np.isin(wave_text(data[wave]), [str(wave_from), str(wave_to)])]
    cols, coef, _, _ = kpi_columns(pair, study=study, kpi="csi", waves=[wave_from, wave_to])
    h = study.hierarchy()
    area_of = h.set_index("item")["area"]
    frame = cols.assign(**{wave: pair[wave].to_numpy()})
    frame["_seg"] = (
        pair[segment] if segment else pd.Categorical.from_codes(np.zeros(len(pair), int), ["all"])
    )
    labels = study.segment(segment).values if segment else {}
    by_area: dict[str, dict[str, float]] = {}
    for item, value in coef.items():
        by_area.setdefault(str(area_of[item]), {})[item] = value
    dec = decompose_changes(
        frame, kpis=by_area, segments=["_seg"], wave=wave, wave_from=wave_from,
        wave_to=wave_to, design=design, confidence=study.reporting.confidence, sample=data,
    )  # fmt: skip
    rows = []
    for area, d in dec.groupby("kpi", sort=False):
        ch = d.iloc[0]
        rates = d[(d["component"] == "rate") & (d["segment"] != "")]
        sign = 1.0 if ch["estimate"] >= 0 else -1.0
        top = rates.loc[(rates["estimate"] * sign).idxmax()] if segment and len(rates) else None
        rows.append({
            "name": area, "area": study.label(str(area)), "contribution": ch["estimate"],
            "se": ch["se"], "ci_low": ch["ci_low"], "ci_high": ch["ci_high"],
            "p_value": ch["p_value"],
            "top_segment": "" if top is None else str(labels.get(top["segment"], top["segment"])),
            "top_segment_part": np.nan if top is None else float(top["estimate"]),
        })  # fmt: skip
    out = pd.DataFrame(rows)
    total = out["contribution"].sum()
    out.insert(7, "share", out["contribution"] / total if total else np.nan)
    out = out.reindex(out["contribution"].abs().sort_values(ascending=False).index)
    return out.reset_index(drop=True)


def attribution_takeaway(
    attribution: pd.DataFrame, *, study: Study, wave_from: str, wave_to: str, segment: str | None
) -> Md:
    """Return "CSI fell 3.5 points; 2.1 of them come from network service, mostly among ...".

    Parameters
    ----------
    attribution : DataFrame
        :func:`area_attribution` output.
    study : Study
    wave_from, wave_to : str
    segment : str or None
        The segment column used.

    Returns
    -------
    Md
    """
    total = float(attribution["contribution"].sum())
    top = attribution.iloc[0]
    a, b = study.wave_label(wave_from), study.wave_label(wave_to)
    if round(abs(total), 1) == 0:
        return _t(study, "trend.att_flat", a=a, b=b)
    same = np.sign(top["contribution"]) == np.sign(total)
    where = Md("")
    if segment and top["top_segment"] and abs(top["top_segment_part"]) >= 0.05:
        where = _t(
            study, "trend.att_where",
            seg=md("**{s}**", s=top["top_segment"]), part=abs(top["top_segment_part"]),
        )  # fmt: skip
    sig = _t(
        study,
        "trend.att_ci",
        confidence=confidence_label(study),
        ci=fmt_ci(top["ci_low"], top["ci_high"], kind="number.1"),
    )
    keys = {
        (True, True): "trend.att_rose",
        (False, True): "trend.att_fell",
        (True, False): "trend.att_rose_against",
        (False, False): "trend.att_fell_against",
    }
    key = keys[bool(total > 0), bool(same)]
    return _t(
        study, key, a=a, b=b, size=abs(total), part=abs(top["contribution"]),
        area=top["area"], sig=sig, where=where,
    )  # fmt: skip


def decomposition_takeaway(
    table: pd.DataFrame, *, study: Study, kpi_labels: Mapping[str, str]
) -> Md:
    """Say which KPI's change owes a significant part to a shift in the segment mix.

    Parameters
    ----------
    table : DataFrame
        :func:`kpi_decomposition` output.
    study : Study
    kpi_labels : mapping
        KPI name -> label.

    Returns
    -------
    Md
    """
    tot = table[(table["segment"] == "") & (table["component"] == "mix")]
    # a mix part that rounds to 0.00 is not news, however small its SE (on margins the
    # weights are raked to, the raking-aware SE of the mix is ~0 too)
    sig = tot[(tot["p_value"] < study.reporting.alpha) & (tot["estimate"].abs() >= 0.005)]
    if sig.empty:
        return _t(study, "trend.dec_none", alpha=f"{study.reporting.alpha:g}")
    r = sig.loc[sig["estimate"].abs().idxmax()]
    return _t(
        study,
        "trend.dec_mix",
        kpi=kpi_labels.get(r["kpi"], r["kpi"]), seg=r["segment_title"], v=r["estimate"],
        confidence=confidence_label(study), ci=fmt_ci(r["ci_low"], r["ci_high"], kind="number.2"),
    )  # fmt: skip


def decomposition_wide(table: pd.DataFrame, *, kpi_labels: Mapping[str, str]) -> pd.DataFrame:
    """Return one row per KPI and segment column: change, mix (with its CI) and rate.

    Parameters
    ----------
    table : DataFrame
        :func:`kpi_decomposition` output.
    kpi_labels : mapping
        KPI name -> label.

    Returns
    -------
    DataFrame
        ``kpi``, ``label``, ``segment_column``, ``segment_title``, ``change``, ``mix``,
        ``ci_low`` / ``ci_high`` (of the mix), ``mix_p_value``, ``rate``.
    """
    tot = table[table["segment"] == ""]
    keys = ["kpi", "segment_column", "segment_title"]
    parts = {c: tot[tot["component"] == c].set_index(keys) for c in ("change", "mix", "rate")}
    out = parts["mix"][["estimate", "ci_low", "ci_high", "p_value"]].rename(
        columns={"estimate": "mix", "p_value": "mix_p_value"}
    )
    out.insert(0, "change", parts["change"]["estimate"])
    out["rate"] = parts["rate"]["estimate"]
    out = out.reset_index()
    out.insert(1, "label", out["kpi"].map(lambda k: kpi_labels.get(k, k)))
    return out


def trend_alerts(
    changes: pd.DataFrame | None,
    area_moves: pd.DataFrame | None,
    *,
    study: Study,
    bases: pd.DataFrame | None = None,
    area_bases: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """List the KPIs and areas whose latest change is significant and above its threshold.

    The thresholds come from the study file's ``trend.alerts``; the latest change is the
    pair of waves ending in the last observed wave.

    Parameters
    ----------
    changes : DataFrame or None
        :func:`kpi_changes` output.
    area_moves : DataFrame or None
        The ``changes`` of :func:`area_changes`.
    study : Study
    bases, area_bases : DataFrame, optional
        ``kpi_summary`` by wave and the ``areas`` of :func:`area_changes`, for the base
        (``n`` of the latest wave).

    Returns
    -------
    DataFrame
        One row per alert, largest ``|z|`` first: ``what`` ("KPI" or "area"), ``name``,
        ``label``, ``unit``, ``wave_from``, ``wave_to``, ``estimate_from``,
        ``estimate_to``, ``change``, ``threshold``, ``p_adjusted``, ``n`` (base of the
        latest wave).
    """
    cfg = study.spec.trend.alerts
    wave = study.wave_column
    cols = ["what", "name", "label", "unit", "wave_from", "wave_to", "estimate_from",
            "estimate_to", "change", "threshold", "p_adjusted", "n", "statistic"]  # fmt: skip
    rows = []
    if changes is not None and len(changes) and cfg.kpis:
        last = [w for w in study.waves if w in set(changes["wave_to"].astype(str))][-1]
        latest = changes[changes["wave_to"].astype(str) == last]
        for r in latest.itertuples():
            th = cfg.kpis.get(str(r.kpi))
            if th is not None and bool(r.significant) and abs(r.change) >= th:
                rows.append({"what": "KPI", "name": r.kpi, "label": r.label, "unit": r.unit,
                             "threshold": th, **_change_fields(r)})  # fmt: skip
    if area_moves is not None and len(area_moves) and cfg.areas is not None:
        last = [w for w in study.waves if w in set(area_moves["wave_to"].astype(str))][-1]
        latest = area_moves[area_moves["wave_to"].astype(str) == last]
        for r in latest.itertuples():
            th = cfg.areas.get(str(r.name)) if isinstance(cfg.areas, dict) else cfg.areas
            if th is not None and bool(r.significant) and abs(r.change) >= th:
                rows.append({"what": "area", "name": r.name, "label": r.area,
                             "unit": "index (0-100)", "threshold": th, **_change_fields(r)})  # fmt: skip
    out = pd.DataFrame(rows, columns=cols)
    if out.empty:
        return out.drop(columns="statistic")
    n = {}
    if bases is not None:
        b = bases.astype({wave: str})
        n.update({("KPI", k, w): v for k, w, v in zip(b["kpi"], b[wave], b["n"], strict=True)})
    if area_bases is not None:
        b = area_bases.astype({wave: str})
        n.update({("area", k, w): v for k, w, v in zip(b["name"], b[wave], b["n"], strict=True)})
    out["n"] = [n.get((a, k, str(w)), np.nan) for a, k, w in
                zip(out["what"], out["name"], out["wave_to"], strict=True)]  # fmt: skip
    out = out.reindex(out["statistic"].abs().sort_values(ascending=False).index)
    return out.drop(columns="statistic").reset_index(drop=True)


def _change_fields(r) -> dict:
    return {"wave_from": str(r.wave_from), "wave_to": str(r.wave_to),
            "estimate_from": r.estimate_from, "estimate_to": r.estimate_to,
            "change": r.change, "p_adjusted": r.p_adjusted, "statistic": r.statistic}  # fmt: skip


def alerts_takeaway(alerts: pd.DataFrame, *, study: Study) -> Md:
    """Return the alerts in one paragraph, or that none fired, or that none are set.

    Parameters
    ----------
    alerts : DataFrame
        :func:`trend_alerts` output.
    study : Study

    Returns
    -------
    Md
    """
    cfg = study.spec.trend.alerts
    if not cfg.kpis and cfg.areas is None:
        return _t(study, "trend.alerts_unset")
    test = significance_words(study)
    if alerts.empty:
        return _t(study, "trend.alerts_none", test=test)
    items = Md(_t(study, "trend.sep")).join(
        _t(study, "trend.alert_item",
           moved=_moved(r, r["unit"], study), p=fmt_p(r["p_adjusted"], prefix=True),
           n=int(r["n"]) if pd.notna(r["n"]) else 0,
           th=fmt_change(r["threshold"], kind_for_unit(r["unit"])).lstrip("+"))
        for _, r in alerts.iterrows()
    )  # fmt: skip
    return _t(
        study, "trend.alert_one" if len(alerts) == 1 else "trend.alert_many",
        n=len(alerts), test=test, items=items,
    )  # fmt: skip
