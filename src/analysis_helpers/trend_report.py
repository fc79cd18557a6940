"""The trend page (30-trend): study-aware tables and takeaways built on :mod:`trend`.

The estimators live in :mod:`analysis_helpers.trend` (wave-over-wave z tests, turning
points, the operational meta-regression); this module applies them to a study - its waves
and wave labels, its KPIs, its areas, its operations file, its significance level and
correction - and words the results as a client reads them. Every sentence is built with
:func:`~analysis_helpers.safe_output.md`, so values from the study or the data are escaped,
and none carries a degenerate number ("0 of 0", a change "from X to X", "1 waves").
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from .formatting import (
    confidence_label,
    fmt_change,
    fmt_ci,
    fmt_count,
    fmt_list,
    fmt_p,
    fmt_value,
    kind_for_unit,
)
from .kpis import csi
from .safe_output import Md, md
from .study import Study
from .study_tables import study_design
from .trend import adjust_p, operational_link, turning_points, wave_over_wave

__all__ = [
    "observed_waves",
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
]

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


def significance_words(study: Study) -> str:
    """Say how the page names its test: ``"p < 0.05, Holm-adjusted"``.

    The level and correction come from the study's ``reporting``.
    """
    rep = study.reporting
    adj = _CORRECTIONS.get(rep.correction, "")
    return f"p < {rep.alpha:g}" + (f", {adj}-adjusted" if adj else "")


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
        md("{n:base} a wave", n=low)
        if low == high
        else md("{a:base} to {b:base} a wave", a=low, b=high)
    )
    return md(
        "{respondents} over {waves} ({first} to {last}), {bases}.",
        respondents=fmt_count(len(data), "respondent"),
        waves=fmt_count(len(waves), "wave"),
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


def _moved(row: pd.Series, unit: str) -> Md:
    """'**CSI** fell 7.8 index points (from 65.1 to 57.4)' for one change row."""
    kind = kind_for_unit(unit)
    verb = "rose" if row["change"] > 0 else "fell"
    size = fmt_change(abs(row["change"]), kind).lstrip("+")
    if kind == "index":
        size += " index points"
    elif kind == "nps":
        size += " points"
    return md(
        "**{label}** {verb} {size} (from {a} to {b})",
        label=row["label"],
        verb=verb,
        size=size,
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
        in_latest = md(
            "From {a} to {b}, {moved}.",
            a=first,
            b=last,
            moved=Md("; ").join(_moved(r, r["unit"]) for _, r in moved.iterrows()),
        )
    else:
        top = latest.loc[(latest["change"] / latest["se"]).abs().idxmax()]
        largest = (
            md(" The largest move, not significant: {moved}.", moved=_moved(top, top["unit"]))
            if top["change"] != 0
            else Md("")
        )
        n_pairs = changes[["wave_from", "wave_to"]].drop_duplicates().shape[0]
        in_latest = md(
            "From {a} to {b}, no KPI changed significantly{test}.{largest}",
            a=first,
            b=last,
            test=md(" ({test})", test=test) if n_pairs == 1 else Md(""),
            largest=largest,
        )
    n_pairs = changes[["wave_from", "wave_to"]].drop_duplicates().shape[0]
    if n_pairs == 1:
        return in_latest
    n_sig = int(changes["significant"].astype(bool).sum())
    n_kpis = changes["kpi"].nunique()
    counted = (
        md(
            "{n} of the {total} wave-over-wave comparisons ({kpis} over {pairs}) {verb} "
            "significant ({test}).",
            n=n_sig,
            total=len(changes),
            kpis=fmt_count(n_kpis, "KPI"),
            pairs=fmt_count(n_pairs, "pair of waves", "pairs of waves"),
            verb="is" if n_sig == 1 else "are",
            test=test,
        )
        if n_sig
        else md(
            "No wave-over-wave change is significant ({test}; {total} comparisons: {kpis} over "
            "{pairs}).",
            total=len(changes),
            kpis=fmt_count(n_kpis, "KPI"),
            pairs=fmt_count(n_pairs, "pair of waves", "pairs of waves"),
            test=test,
        )
    )
    return counted + " " + in_latest


def area_changes(data: pd.DataFrame, *, study: Study) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Compute the satisfaction index of every area by wave, and its wave-over-wave changes.

    Parameters
    ----------
    data : DataFrame
        Clean analysis data.
    study : Study
        A study with an index (``study.has_index``).

    Returns
    -------
    (areas, changes) : tuple of DataFrame
        ``areas``: :func:`~analysis_helpers.kpis.csi` rows of level "area" by wave, with
        an ``area`` column (the area's label). ``changes``:
        :func:`~analysis_helpers.trend.wave_over_wave` by ``name`` and ``area`` at the
        study's level and correction.
    """
    wave = study.wave_column
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
        return md(
            "No area's index changed significantly ({test}) by {m:num.1} index points or more "
            "{what}.",
            test=test,
            m=min_change,
            what="from one wave to the next" if n_pairs > 1 else "between the two waves",
        )
    top = turns.iloc[0]
    others = len(turns) - 1
    more = (
        md(
            " {n} more significant {changes} in the table.",
            n=others,
            changes="change is" if others == 1 else "changes are",
        )
        if others
        else Md("")
    )
    return md(
        "The {largest}: **{area}** {verb} {size:num.1} index points from {a} to {b} "
        "(from {before:index} to {after:index}, adjusted {p}).{more}",
        largest="largest turn" if n_pairs > 1 else "largest change",
        area=top["area"],
        verb="rose" if top["change"] > 0 else "fell",
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
    cells = " x ".join("wave" if k == study.wave_column else _key_word(study, k) for k in keys)
    tried = (
        md(" ({n} links tried, p-values corrected over them)", n=len(links))
        if len(links) > 1
        else Md("")
    )
    slope = md(
        "each extra unit of **{metric}** goes with {slope:num.2} index points of **{area}** "
        "({confidence} CI {ci}, adjusted {p}, over {cells}: {what})",
        metric=metric_label(top["metric"]),
        slope=top["slope"],
        area=top["area"],
        confidence=confidence_label(study),
        ci=fmt_ci(top["ci_low"], top["ci_high"], kind="number.2"),
        p=fmt_p(top["p_adjusted"], prefix=True),
        cells=fmt_count(int(top["n_cells"]), "cell"),
        what=cells,
    )
    if bool(top["significant"]):
        return md(
            "The strongest link{tried}: {slope}. This is an association across the cells, "
            "not proof of cause.",
            tried=tried,
            slope=slope,
        )
    return md(
        "No operational metric is significantly linked to an area's index{tried}; the "
        "strongest: {slope}.",
        tried=tried,
        slope=slope,
    )


def cell_words(keys: Sequence[str], *, study: Study) -> str:
    """Return the cells of an operations file in words: ``["wave", "region"]`` -> "wave x Region".

    Segment columns are named by their titles.
    """
    return " x ".join("wave" if k == study.wave_column else _key_word(study, k) for k in keys)


def _key_word(study: Study, column: str) -> str:
    if column in study.segment_columns():
        return study.segment(column).title
    return metric_label(column).lower()


def metric_label(column: str) -> str:
    """Return a column name as words: ``"hotline_wait_min"`` -> ``"Hotline wait min"``."""
    text = str(column).replace("_", " ").strip()
    return text[:1].upper() + text[1:] if text else str(column)
