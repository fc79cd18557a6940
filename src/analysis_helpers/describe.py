"""What the descriptive page (``20-describe``) shows and says, for a study of any shape.

The tables come from :mod:`analysis_helpers.study_tables`; the functions here turn them
into what a client reads: display tables (labels, the scale of each KPI in words, the
hierarchy indented) and the takeaways, each one or two sentences of safe Markdown
(:func:`~analysis_helpers.safe_output.md`: every label, title and value is escaped; pass
it to ``ctx.say`` as it is).

Every takeaway is written for any study: one wave or many, weighted or not, one area or
many, no significant result, every cell too small. A sentence never carries a number that
means nothing ("from 1.00 to 1.00", "1 waves", "0 of 0", a "shortfall" with a positive
gap): where a comparison degenerates it says so in words, and expectation gaps are worded
by their sign. The confidence level is the study's (``reporting.confidence``).

A section that cannot apply at all (no segments, no weights, no index, ...) is the
notebook's business: it asks ``ctx.lacks(part)`` before calling anything here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .formatting import (
    confidence_label,
    fmt_ci,
    fmt_list,
    fmt_p,
    fmt_pct,
    fmt_value,
)
from .safe_output import Md, md
from .study import Study
from .study_tables import band_widths, banded_distribution, flag_bases, study_design
from .text import count, join, template, text

__all__ = [
    "pick_wave",
    "wave_note",
    "pick_segments",
    "overview",
    "profile_columns",
    "profile_takeaway",
    "wave_profile_grid",
    "wave_profile_takeaway",
    "weighting_columns",
    "weighting_takeaway",
    "kpi_view",
    "kpi_titles",
    "kpi_takeaway",
    "area_takeaway",
    "answer_distribution",
    "distribution_title",
    "distribution_note",
    "distribution_ends",
    "distribution_takeaway",
    "hierarchy_view",
    "hierarchy_takeaway",
    "gap_takeaway",
    "reliability_blocks",
    "reliability_takeaway",
    "bases_takeaway",
    "choose_cut",
    "cut_cells",
    "cut_grid",
    "cut_caption",
    "cut_takeaway",
    "CORRECTIONS",
    "HIERARCHY_STATS",
    "KPI_COLUMNS",
    "GAP_COLUMNS",
    "GAP_KINDS",
    "BASES_COLUMNS",
    "hierarchy_columns",
    "localise_columns",
    "wave_profile_labels",
]

#: the statistic columns of the hierarchy table (blanked in suppressed cells)
HIERARCHY_STATS = [
    f"{stat}{part}"
    for stat in ("mean", "top2", "index")
    for part in ("", "_se", "_ci_low", "_ci_high")
]

#: ``reporting.correction`` as people name it
CORRECTIONS = {"holm": "Holm", "fdr_bh": "Benjamini-Hochberg", "bonferroni": "Bonferroni"}


def _confidence(study: Study) -> str:
    return confidence_label(study)


def _lang(study: Study | str) -> str:
    return study if isinstance(study, str) else study.language


def _t(study: Study | str, key: str, /, **values: object) -> Md:
    """Return the sentence of ``key`` in the study's language (see :mod:`.text`)."""
    return text(key, _lang(study), **values)


def _ci(study: Study | str, low: Any, high: Any, *, kind: str) -> str:
    """Return :func:`fmt_ci` in the study's language ("-8.5 to -0.4" / "-8.5 至 -0.4")."""
    return fmt_ci(low, high, kind=kind, language=_lang(study))


def _n(study: Study | str, n: int, key: str) -> str:
    """Return a count with its noun in the study's language: "3 cells", "3 个单元格"."""
    return count(n, key, _lang(study))


def _count(study: Study | str, n: int, key: str) -> str:
    """``"no cells"`` / ``"没有单元格"`` for 0, else :func:`_n` (``"1 cell"``, ``"12 cells"``)."""
    if int(n) == 0:
        return template("count.none", _lang(study)).format(
            things=count(2, key, _lang(study)).split(" ", 1)[1]
        )
    return _n(study, int(n), key)


def _same(a: float, b: float, kind: str) -> bool:
    """Whether two values print the same (then "from a to b" says nothing)."""
    return fmt_value(a, kind) == fmt_value(b, kind)


def _range(study: Study | str, low: float, high: float, kind: str, *, verb: str = "ranges") -> Md:
    """``"ranges from 40% to 55%"``, or ``"is 40% throughout"`` when both print alike."""
    if _same(low, high, kind):
        return _t(study, "describe.throughout", v=fmt_value(low, kind))
    key = "describe.range_runs" if verb == "runs" else "describe.range"
    return _t(study, key, lo=fmt_value(low, kind), hi=fmt_value(high, kind))


def _of_them(study: Study | str, k: int, total: int) -> str:
    """How many of a group: "none of them", "one of them", "both", "all of them", "3 of them"."""
    lang = _lang(study)
    if k == 0:
        return template("describe.none_of_them", lang)
    if k == total:
        return template("describe.both" if total == 2 else "describe.all_of_them", lang)
    if k == 1:
        return template("describe.one_of_them", lang)
    return template("describe.k_of_them", lang).format(k=k)


def _wave_phrase(study: Study, wave: str) -> Md:
    """``"In Q3 2024, "`` - or nothing for a study whose exports carry no wave."""
    if not study.waves_declared:
        return md("")
    return _t(study, "describe.in_wave_lead", wave=study.wave_label(wave))


def _cap(text: Md) -> Md:
    """Return a sentence with its first letter in upper case (Markdown markup left alone)."""
    s = str(text)
    for i, ch in enumerate(s):
        if ch in "*_":
            continue
        return Md(s[:i] + ch.upper() + s[i + 1 :]) if ch.isalpha() else text
    return text


# ---- parameters -------------------------------------------------------------------------
def pick_wave(data: pd.DataFrame, *, study: Study, wave: str = "") -> str:
    """Return the wave a page describes: ``wave`` if given, else the latest wave with a base.

    The default is the latest wave with at least ``reporting.min_base`` respondents; when
    no wave reaches it, the latest wave with respondents. A latest wave of a handful of
    interviews (a wave still in the field) is thus not what the pages describe unless it
    is asked for; :func:`wave_note` says so on the page.

    Parameters
    ----------
    data : DataFrame
        The clean analysis file.
    study : Study
    wave : str
        A wave code of the study, or ``""`` for the default.

    Raises
    ------
    ValueError
        ``wave`` is not a wave of the study, or has no respondents.
    """
    counts = _wave_counts(data, study)
    if wave != "" and wave is not None:
        wave = str(wave)
        if wave not in study.waves:
            raise ValueError(f"wave {wave!r} is not one of the study's waves {study.waves}")
        if counts.get(wave, 0) == 0:
            raise ValueError(f"wave {wave!r} has no respondents in the clean data")
        return wave
    with_data = [w for w in study.waves if counts.get(w, 0) > 0]
    if not with_data:
        raise ValueError("the clean data has no respondents in any wave of the study")
    based = [w for w in with_data if counts[w] >= study.reporting.min_base]
    return (based or with_data)[-1]


def _wave_counts(data: pd.DataFrame, study: Study) -> dict[str, int]:
    """Return the respondents per wave code (as text), from the distinct codes."""
    counts = pd.Series(data[study.wave_column]).value_counts(dropna=True)
    return {str(k): int(v) for k, v in counts.items()}


def wave_note(data: pd.DataFrame, *, study: Study, current: str) -> Md:
    """Return the sentence naming later waves the page skipped for their small base.

    Empty when ``current`` is the latest wave with respondents (always so when the wave
    was asked for by name, or the study has one wave).

    Parameters
    ----------
    data : DataFrame
        The clean analysis file.
    study : Study
    current : str
        The wave the page describes (:func:`pick_wave`).
    """
    counts = _wave_counts(data, study)
    later = [w for w in study.waves[study.waves.index(current) + 1 :] if counts.get(w, 0) > 0]
    if not later:
        return md("")
    return _t(
        study,
        "describe.wave_skipped",
        latest=study.wave_label(later[-1]),
        n=_n(study, counts[later[-1]], "count.respondent"),
        min_base=study.reporting.min_base,
        wave=study.wave_label(current),
    )


def pick_segments(study: Study, columns: Sequence[str] = ()) -> list[str]:
    """Return the segment columns a page crosses: ``columns`` if given, else every segment.

    Raises
    ------
    ValueError
        A column is not a segment of the study.
    """
    chosen = list(columns) or study.segment_columns()
    unknown = [c for c in chosen if c not in study.segment_columns()]
    if unknown:
        raise ValueError(f"{unknown} are not segments of the study {study.segment_columns()}")
    return chosen


# ---- the overview ---------------------------------------------------------------------
def overview(data: pd.DataFrame, *, study: Study, wave: str) -> Md:
    """Return the page's opening sentence: the study, the wave described, the bases, the rules.

    Parameters
    ----------
    data : DataFrame
        The clean analysis file (every wave).
    study : Study
    wave : str
        The wave the page describes.

    Returns
    -------
    Md
        E.g. "**Customer survey** for Demo Telecom, Q3 2024: 487 respondents in the
        analysis file (1,473 over 3 waves). Cells with fewer than 30 respondents are
        flagged *low base*; cells with fewer than 10 are suppressed (left blank)."
    """
    wave_col = study.wave_column
    now = int((data[wave_col] == wave).sum())
    present = int(pd.Series(data[wave_col]).nunique())
    client = _t(study, "describe.for_client", client=study.client) if study.client else md("")
    when = (
        _t(study, "describe.in_wave", wave=study.wave_label(wave))
        if study.waves_declared
        else md("")
    )
    total = (
        _t(study, "describe.over_waves", all=len(data), waves=_n(study, present, "count.wave"))
        if present > 1
        else md("")
    )
    rules = study.reporting
    suppress = (
        _t(study, "describe.suppressed_below", s=rules.suppress_below)
        if rules.suppress_below > 0
        else md("")
    )
    return _t(
        study,
        "describe.overview",
        title=study.title,
        client=client,
        when=when,
        now=_n(study, now, "count.respondent"),
        total=total,
        min_base=rules.min_base,
        suppress=suppress,
    )


# ---- 1. the sample profile ------------------------------------------------------------
def profile_takeaway(profile: pd.DataFrame, *, study: Study, total: pd.Series) -> Md:
    """Say in words what the sample profile of one wave shows.

    Weighted: what the interviews are worth (Kish effective n, efficiency) and the group
    whose share weighting moves most. Unweighted: the largest and the smallest group.
    Either way, the groups below the minimum base (named when there are up to four).

    Parameters
    ----------
    profile : DataFrame
        :func:`~analysis_helpers.study_tables.profile_by_segment` of one wave (with
        ``flag`` from :func:`~analysis_helpers.study_tables.flag_bases`).
    study : Study
    total : Series
        The wave's row of :func:`~analysis_helpers.estimation.sample_profile` (``n``,
        ``n_effective``).
    """
    n = int(total["n"])
    lang = study.language
    low = profile[profile["flag"] != ""] if "flag" in profile else profile.iloc[:0]
    names = (
        _t(
            study,
            "describe.low_groups_named",
            names=join(
                (
                    md("{v} ({s})", v=v, s=s)
                    for v, s in zip(low["value_label"], low["segment_label"], strict=True)
                ),
                lang,
            ),
        )
        if 0 < len(low) <= 4
        else md("")
    )
    few = (
        _t(
            study,
            "describe.low_group" if len(low) == 1 else "describe.low_groups",
            k=_n(study, len(low), "count.group"),
            min_base=study.reporting.min_base,
            names=names,
        )
        if len(low)
        else md("")
    )
    shown = profile["share_weighted"] if study.is_weighted else profile["share"]
    if not shown.notna().any():  # every group below the base: no share to name
        return _t(study, "describe.profile_hidden", n=n, min_base=study.reporting.min_base)
    if not study.is_weighted:
        big = profile.loc[profile["share"].idxmax()]
        small = profile.loc[profile["share"].idxmin()]
        return _t(
            study,
            "describe.profile_unweighted",
            big=big["value_label"],
            big_seg=big["segment_label"],
            big_share=big["share"],
            n=n,
            small=small["value_label"],
            small_seg=small["segment_label"],
            small_share=small["share"],
            small_n=int(small["n"]),
            few=few,
        )
    moved = (profile["share_weighted"] - profile["share"]).abs()
    big = profile.loc[moved.idxmax()]
    move = (
        _t(
            study,
            "describe.weighting_moves",
            group=big["value_label"],
            segment=big["segment_label"],
            share=big["share"],
            weighted=big["share_weighted"],
        )
        if not _same(big["share"], big["share_weighted"], "share")
        else _t(study, "describe.weighting_moves_none")
    )
    return _t(
        study,
        "describe.profile_weighted",
        n=n,
        n_eff=total["n_effective"],
        efficiency=total["n_effective"] / n,
        move=move,
        few=few,
    )


def profile_columns(study: Study) -> dict[str, str | None]:
    """Return the columns of the sample profile to show, with their headers.

    These are the interviews and shares, plus the weighted and effective bases and the
    weighted share when the study is weighted (unweighted they equal the interviews).
    """
    lang = study.language
    cols: dict[str, str | None] = {
        "segment_label": template("col.segment", lang),
        "value_label": template("col.value", lang),
        "n": template("describe.col_interviews", lang),
    }
    if study.is_weighted:
        cols.update(
            {
                "n_weighted": template("describe.col_weighted", lang),
                "n_effective": template("describe.col_effective", lang),
            }
        )
    cols["share"] = template("describe.col_share_interviews", lang)
    if study.is_weighted:
        cols["share_weighted"] = template("col.share_weighted", lang)
    cols["flag"] = None
    return cols


def wave_profile_labels(study: Study) -> dict[str, str]:
    """Return the headers of :func:`wave_profile_grid`'s columns in the study's language."""
    lang = study.language
    return {
        "segment_label": template("col.segment", lang),
        "value_label": template("col.value", lang),
        "n": template("describe.col_interviews", lang),
        "n_weighted": template("describe.col_weighted", lang),
        "n_effective": template("describe.col_effective", lang),
    }


def wave_profile_grid(by_wave: pd.DataFrame, *, study: Study) -> pd.DataFrame:
    """Return the profile of every wave side by side.

    One row per segment group, a column block per wave (in the study's order, headed by the
    wave label).

    Parameters
    ----------
    by_wave : DataFrame
        :func:`~analysis_helpers.study_tables.profile_by_segment` with ``by=[wave
        column]``.
    study : Study

    Returns
    -------
    DataFrame
        Index ``segment_label``, ``value_label``; columns (wave label, statistic) with the
        statistics ``n``, ``n_weighted``, ``n_effective`` - only ``n`` for an unweighted
        study, where the other two equal it.
    """
    wave_col = study.wave_column
    stats = ["n", "n_weighted", "n_effective"] if study.is_weighted else ["n"]
    present = set(by_wave[wave_col].astype(str))
    waves = [w for w in study.waves if w in present]
    t = by_wave.assign(_wave=by_wave[wave_col].astype(str).map(study.wave_label))
    grid = t.pivot_table(
        index=["segment_label", "value_label"],
        columns="_wave",
        values=stats,
        sort=False,
        observed=True,
    )
    grid = grid.reindex(columns=[(s, study.wave_label(w)) for w in waves for s in stats])
    grid = grid.swaplevel(axis=1)
    grid.columns.names = [None, None]
    return grid


def wave_profile_takeaway(by_wave: pd.DataFrame, *, study: Study) -> Md:
    """Say in words how small the cells of the waves get and how far the sample mix drifts.

    The takeaway names the smallest segment cell of any wave, how many cells are below the
    minimum base, and how far the sample mix drifts between waves (and whether weighting
    holds it).

    Parameters
    ----------
    by_wave : DataFrame
        :func:`~analysis_helpers.study_tables.profile_by_segment` by wave, with ``flag``.
    study : Study
    """
    wave_col = study.wave_column
    small = by_wave.loc[by_wave["n"].idxmin()]
    flagged = int((by_wave["flag"] != "").sum())
    rules = study.reporting
    below = (
        _t(study, "describe.no_cell_below", m=rules.min_base)
        if flagged == 0
        else _t(
            study,
            "describe.cell_below" if flagged == 1 else "describe.cells_below",
            k=flagged,
            cells=len(by_wave),
            m=rules.min_base,
        )
    )
    eff = (
        _t(study, "describe.effective_n", n_eff=small["n_effective"])
        if study.is_weighted
        else md("")
    )
    first = _t(
        study,
        "describe.smallest_cell",
        group=small["value_label"],
        segment=small["segment_label"],
        wave=study.wave_label(str(small[wave_col])),
        n=_n(study, int(small["n"]), "count.interview"),
        eff=eff,
        below=below,
    )
    drift = by_wave.groupby(["segment", "value_label"], sort=False, observed=True).agg(
        label=("segment_label", "first"),
        low=("share", "min"),
        high=("share", "max"),
        wlow=("share_weighted", "min"),
        whigh=("share_weighted", "max"),
    )
    top = drift.loc[(drift["high"] - drift["low"]).round(9).idxmax()]
    if _same(top["low"], top["high"], "share"):
        return first + _t(study, "describe.mix_stable")
    mix = _t(
        study,
        "describe.mix_drifts",
        group=top.name[1],
        segment=top["label"],
        range=_range(study, top["low"], top["high"], "share"),
    )
    if not study.is_weighted:
        return first + mix + _t(study, "describe.mix_unweighted")
    held = top["whigh"] - top["wlow"] < 0.02
    return (
        first
        + mix
        + _t(
            study,
            "describe.mix_weighted",
            range=_range(study, top["wlow"], top["whigh"], "share", verb="runs"),
            verdict=(
                _t(study, "describe.mix_held") if held else _t(study, "describe.mix_not_held")
            ),
        )
    )


# ---- 2. weighting -----------------------------------------------------------------------
def weighting_columns(weights: pd.DataFrame, language: str = "en") -> dict[str, str | None]:
    """Return the columns of the weighting report worth showing, with their headers.

    The margin error and the share at a trimming bound are left out when the study does
    not rake or trim (the columns are all missing).

    Parameters
    ----------
    weights : DataFrame
        :func:`~analysis_helpers.study_tables.weighting_by_wave` (with ``flag``).
    language : str
        The headers' language (``"en"`` or ``"zh"``).
    """
    cols: dict[str, str | None] = {
        "wave_label": template("col.wave", language),
        "n": template("describe.col_interviews", language),
        "n_effective": template("col.n_effective", language),
        "efficiency": None,
        "deff_weighting": None,
        "min": template("describe.col_min_weight", language),
        "max": template("describe.col_max_weight", language),
        "ratio_max_min": None,
        "cv": None,
        "share_at_trim": None,
        "max_margin_error": template("describe.col_margin_error", language),
        "flag": None,
    }
    for c in ("share_at_trim", "max_margin_error"):
        if c not in weights or weights[c].isna().all():
            cols.pop(c)
    return cols


def weighting_takeaway(weights: pd.DataFrame, *, study: Study, wave: str) -> Md:
    """Say in words what the weights do and what they cost.

    How raking fits the margins, the spread of the weights in the wave described, the
    efficiency and the design effect due to weighting, and (with several waves) the range
    of the efficiency.

    Parameters
    ----------
    weights : DataFrame
        :func:`~analysis_helpers.study_tables.weighting_by_wave`.
    study : Study
        A weighted study.
    wave : str
        The wave described.
    """
    spec = study.weighting
    several = len(weights) > 1
    if spec is not None:
        error = 100 * float(weights["max_margin_error"].max())
        within = (
            _t(study, "describe.within_005")
            if error < 0.05
            else _t(study, "describe.within", e=error)
        )
        how = _t(
            study,
            "describe.raking",
            margins=join([study.label(c) for c in spec.margins], study.language),
            within=within,
            every=_t(study, "describe.in_every_wave") if several else md(""),
        )
    else:
        how = _t(study, "describe.no_raking")
    row = weights.set_index("wave").loc[wave]
    low, high = row["min"] / row["mean"], row["max"] / row["mean"]
    trim = (
        _t(study, "describe.at_trim", at=row["share_at_trim"])
        if spec is not None and spec.trim is not None and not pd.isna(row["share_at_trim"])
        else md("")
    )
    spread = (
        _t(study, "describe.weights_equal")
        if _same(low, high, "number.2")
        else _t(study, "describe.weights_run", low=low, high=high, trim=trim)
    )
    lead = _wave_phrase(study, wave)
    spread = md("{lead}{spread}", lead=lead, spread=spread if str(lead) else _cap(spread))
    across = (
        _t(
            study,
            "describe.efficiency_across",
            range=_range(study, weights["efficiency"].min(), weights["efficiency"].max(), "share"),
        )
        if several
        else md("")
    )
    return _t(
        study,
        "describe.weighting",
        how=how,
        spread=spread,
        efficiency=row["efficiency"],
        n=int(row["n"]),
        n_eff=row["n_effective"],
        deff=row["deff_weighting"],
        wider=np.sqrt(row["deff_weighting"]) - 1,
        across=across,
    )


# ---- 3. headline KPIs ----------------------------------------------------------------------
def _sep(study: Study | str) -> Md:
    """Return what joins two sentences: a space in English, nothing in Chinese."""
    return Md("") if _lang(study) == "zh" else Md(" ")


def _scale_words(unit: str, language: str = "en") -> str:
    u = str(unit)
    if u == "share":
        return template("describe.scale_share", language)
    if u == "points":
        return template("describe.scale_nps", language)
    if u.startswith("mean (") and u.endswith(")"):
        inner = u[len("mean (") : -1]
        if ", lower" in inner:
            return template("describe.scale_mean_lower", language).format(
                scale=inner.split(",", 1)[0]
            )
        return template("describe.scale_mean", language).format(scale=inner)
    if u.startswith("index (") and u.endswith(")"):
        return template("describe.scale_index", language).format(scale=u[len("index (") : -1])
    return u[:1].upper() + u[1:]


def kpi_view(kpis: pd.DataFrame, language: str = "en") -> pd.DataFrame:
    """Return the KPI table with its scale in words, for showing.

    Parameters
    ----------
    kpis : DataFrame
        :func:`~analysis_helpers.study_tables.kpi_summary`.
    language : str
        The language of the words (``"en"`` or ``"zh"``).

    Returns
    -------
    DataFrame
        ``kpis`` with a ``scale`` column: "Mean on 1-10", "% of respondents", "NPS points
        (-100 to 100)", "Mean on 1-7 (lower is better)", "Index (0-100)". The ``unit``
        column stays (it sets how each row's numbers are shown).
    """
    return kpis.assign(scale=kpis["unit"].map(lambda u: _scale_words(u, language)))


def kpi_titles(kpis: pd.DataFrame, language: str = "en") -> dict[str, str]:
    """Each KPI unit of ``kpis`` mapped to its scale in words (the chart's panel titles)."""
    return {u: _scale_words(u, language) for u in dict.fromkeys(kpis["unit"])}


def kpi_takeaway(kpis: pd.DataFrame, *, study: Study) -> Md:
    """Say the headline KPIs in words, only those the study has.

    Overall satisfaction (mean and top-2-box), NPS, customer effort, each loyalty item and
    the satisfaction index, each with its interval at the study's confidence level.

    Parameters
    ----------
    kpis : DataFrame
        :func:`~analysis_helpers.study_tables.kpi_summary` of one wave (possibly flagged).
    study : Study
    """
    k = kpis.set_index("kpi")
    conf = _confidence(study)
    lang = study.language
    items = study.items
    parts: list[Md] = []

    def ci(key: str, kind: str) -> str:
        return _ci(study, k.loc[key, "ci_low"], k.loc[key, "ci_high"], kind=kind)

    overall, ces_item = study.kpis.overall, study.kpis.ces
    if (
        overall is not None
        and "overall_mean" in k.index
        and not pd.isna(k.loc["overall_mean", "estimate"])
    ):
        osat = items[overall]
        top = (
            _t(
                study,
                "describe.kpi_top2",
                top2=k.loc["overall_top2", "estimate"],
                codes=(
                    fmt_list(map(str, osat.top_codes), conjunction="or")
                    if lang == "en"
                    else template("describe.or", lang).join(map(str, osat.top_codes))
                ),
            )
            if "overall_top2" in k.index and not pd.isna(k.loc["overall_top2", "estimate"])
            else md("")
        )
        parts.append(
            _t(
                study,
                "describe.kpi_overall",
                label=osat.label,
                mean=k.loc["overall_mean", "estimate"],
                lo=osat.scale.min,
                hi=osat.scale.max,
                conf=conf,
                ci=ci("overall_mean", "mean"),
                top=top,
            )
        )
    if "nps" in k.index and not pd.isna(k.loc["nps", "estimate"]):
        parts.append(
            _t(
                study,
                "describe.kpi_nps",
                nps=k.loc["nps", "estimate"],
                points=_points(k.loc["nps", "estimate"], lang),
                conf=conf,
                ci=ci("nps", "nps"),
            )
        )
    if (
        ces_item is not None
        and "ces_mean" in k.index
        and not pd.isna(k.loc["ces_mean", "estimate"])
    ):
        ces = items[ces_item]
        parts.append(
            _t(
                study,
                "describe.kpi_ces",
                label=ces.label,
                mean=k.loc["ces_mean", "estimate"],
                lo=ces.scale.min,
                hi=ces.scale.max,
                conf=conf,
                ci=ci("ces_mean", "mean"),
            )
        )
    loyal = [
        _t(
            study,
            "describe.kpi_loyal_item",
            share=k.loc[f"{n}_top2", "estimate"],
            label=items[n].label,
        )
        for n in study.kpis.loyalty
        if f"{n}_top2" in k.index and not pd.isna(k.loc[f"{n}_top2", "estimate"])
    ]
    if loyal:
        parts.append(
            _t(study, "describe.kpi_loyalty", list=md(template("words.list", lang)).join(loyal))
        )
    if "csi" in k.index and not pd.isna(k.loc["csi", "estimate"]):
        parts.append(
            _t(
                study,
                "describe.kpi_csi",
                csi=k.loc["csi", "estimate"],
                conf=conf,
                ci=ci("csi", "index"),
            )
        )
    n = kpis["n"].dropna()
    if len(n) and n.nunique() == 1:
        parts.append(_t(study, "describe.kpi_base", n=int(n.iloc[0])))
    elif len(n):
        parts.append(_t(study, "describe.kpi_bases", lo=int(n.min()), hi=int(n.max())))
    if not parts:
        return _t(study, "describe.kpi_none")
    return _sep(study).join(parts)


# ---- 4. the index by area ---------------------------------------------------------------------
def area_takeaway(areas: pd.DataFrame, *, study: Study) -> Md:
    """Name the best and the worst area on the 0-100 index, and the gap between them.

    Parameters
    ----------
    areas : DataFrame
        The ``area`` rows of :func:`~analysis_helpers.kpis.csi` with an ``area`` label
        column (any order).
    study : Study
    """
    t = areas.dropna(subset=["estimate"]).sort_values("estimate", ascending=False)
    conf = _confidence(study)
    if len(t) == 0:
        return _t(study, "describe.area_none")
    best, worst = t.iloc[0], t.iloc[-1]
    if len(t) == 1:
        return _t(
            study,
            "describe.area_one",
            area=best["area"],
            score=best["estimate"],
            conf=conf,
            ci=_ci(study, best["ci_low"], best["ci_high"], kind="index"),
        )
    if _same(best["estimate"], worst["estimate"], "index"):
        return _t(study, "describe.area_all_same", k=len(t), score=best["estimate"])
    apart = best["ci_low"] > worst["ci_high"]
    return _t(
        study,
        "describe.area_best_worst",
        best=best["area"],
        high=best["estimate"],
        conf=conf,
        hci=_ci(study, best["ci_low"], best["ci_high"], kind="index"),
        worst=worst["area"],
        low=worst["estimate"],
        lci=_ci(study, worst["ci_low"], worst["ci_high"], kind="index"),
        gap=best["estimate"] - worst["estimate"],
        verdict=_t(study, "describe.area_apart" if apart else "describe.area_noise"),
    )


# ---- 5. distributions -------------------------------------------------------------------------
_SCALE = re.compile(r"(-?\d+)-(-?\d+)")
_CODE = re.compile(r"-?\d+")


def _scales(dist: pd.DataFrame) -> pd.DataFrame:
    """Return one row per scale of the items.

    Columns ``scale``, ``n_bands``, ``codes`` (the bands' codes, lowest first), ``every``
    (a band per code), ``items``.
    """
    rows = []
    for sc, g in dist.groupby("scale", sort=False):
        bands = g.drop_duplicates("band").sort_values("band")
        codes = [str(c) for c in bands["codes"]]
        rows.append(
            {
                "scale": sc,
                "n_bands": int(g["n_bands"].iloc[0]),
                "codes": codes,
                "every": all(_CODE.fullmatch(c) for c in codes),
                "items": int(g["item"].nunique()),
            }
        )
    return pd.DataFrame(rows)


def _cube_item(cube: pd.DataFrame, name: str, lo: int, hi: int) -> pd.DataFrame:
    """One item's answers in the cube as :func:`~analysis_helpers.kpis.item_distribution` gives them."""
    part = cube[cube["item"] == name]
    k = hi - lo + 1
    by_code = dict(
        zip(part["code"], zip(part["count"], part["count_weighted"], strict=True), strict=True)
    )
    got = [by_code.get(float(c), (0, 0.0)) for c in range(lo, hi + 1)]
    cnt = np.array([g[0] for g in got], dtype=np.int64).reshape(1, k)
    cw = np.array([g[1] for g in got], dtype=np.float64).reshape(1, k)
    n = cnt.sum(axis=1, keepdims=True)
    w = cw.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        return pd.DataFrame(
            {
                "item": name,
                "code": np.arange(lo, hi + 1, dtype=np.float64),
                "n": np.repeat(n[:, 0], k),
                "n_weighted": np.repeat(w[:, 0], k),
                "count": cnt.ravel(),
                "count_weighted": cw.ravel(),
                "share": (cw / w).ravel(),
                "share_unweighted": (cnt / n).ravel(),
            }
        )


def answer_distribution(
    data: pd.DataFrame, *, study: Study, wave: str, cube: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Return the banded answer shares of every satisfaction item in one wave.

    The table of :func:`analysis_helpers.study_tables.banded_distribution` of the wave's
    rows, the same numbers; from the answer cube the cleaning step wrote
    (:func:`analysis_helpers.cleaning.read_cube`) when given, without a pass over the
    rows, else from ``data``.

    Parameters
    ----------
    data : DataFrame
        The wave's respondents (used without a cube).
    study : Study
    wave : str
        The wave described (the cube's rows of that wave, all respondents).
    cube : DataFrame, optional
        :func:`analysis_helpers.cleaning.answer_cube` of the clean file.

    Returns
    -------
    DataFrame
        ``item``, ``label``, ``area``, ``area_label``, ``scale``, ``band``, ``n_bands``,
        ``codes``, ``n``, ``n_weighted``, ``count``, ``count_weighted``, ``share`` and
        ``share_unweighted``, as :func:`~analysis_helpers.study_tables.banded_distribution`.
    """
    items = study.item_names("satisfaction")
    if cube is None or not set(items) <= set(cube["item"].unique()):
        return banded_distribution(data, study=study)
    cube = cube[(cube["wave"] == str(wave)) & (cube["segment"] == "")]
    parts = []
    for name in items:
        it = study.items[name]
        lo, hi = int(it.scale.min), int(it.scale.max)
        widths = band_widths(hi - lo + 1)
        starts = lo + np.concatenate([[0], np.cumsum(widths)[:-1]])
        d = _cube_item(cube, name, lo, hi)
        band = np.searchsorted(starts, d["code"].to_numpy(), side="right")
        d = d.assign(band=band.astype(int))
        agg = d.groupby(["band"], sort=False, observed=True).agg(
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
        agg.insert(0, "item", name)
        agg.insert(1, "label", it.label)
        agg.insert(2, "area", area)
        agg.insert(3, "area_label", study.label(area) if area else "")
        agg.insert(4, "scale", f"{lo}-{hi}")
        agg.insert(6, "n_bands", len(widths))
        agg.insert(7, "codes", codes)
        parts.append(agg)
    return pd.concat(parts, ignore_index=True)


def _codes_of(band: str) -> tuple[int, ...]:
    m = _SCALE.fullmatch(band)
    if m is None:
        return (int(band),)
    return tuple(range(int(m.group(1)), int(m.group(2)) + 1))


def distribution_title(dist: pd.DataFrame, *, study: Study, wave: str) -> str:
    """Return the chart title: "Answers to the 20 items, Q3 2024" (plain text, for matplotlib)."""
    n = int(dist["item"].nunique())
    where = (
        template("describe.in_wave", study.language).format(wave=study.wave_label(wave))
        if study.waves_declared
        else ""
    )
    return template("describe.title_answers", study.language).format(
        items=_n(study, n, "count.item"), where=where
    )


def distribution_note(dist: pd.DataFrame, *, study: Study) -> Md:
    """Say how the chart shows each scale.

    Which items show every code, which are banded (and into which bands), which share a
    chart, and what the printed numbers are.

    Parameters
    ----------
    dist : DataFrame
        :func:`~analysis_helpers.study_tables.banded_distribution`.
    study : Study
    """
    sc = _scales(dist)
    parts = []
    for r in sc.itertuples():
        if r.every:
            parts.append(_t(study, "describe.dist_every", scale=r.scale, k=r.n_bands))
        else:
            parts.append(
                _t(
                    study,
                    "describe.dist_bands",
                    scale=r.scale,
                    k=r.n_bands,
                    bands=", ".join(r.codes),
                )
            )
    text = _cap(md(template("words.sep", study.language)).join(parts)) + _t(
        study, "describe.full_stop"
    )
    shared = sc.groupby("n_bands")["scale"].agg(list)
    if (shared.map(len) > 1).any():
        text += _t(study, "describe.dist_shared")
    if len(shared) > 1:
        text += _t(study, "describe.dist_apart")
    banded = sc[~sc["every"]]
    if len(banded):
        tops = []
        for r in banded.itertuples():
            names = dist.loc[dist["scale"] == r.scale, "item"].unique()
            top = {tuple(sorted(study.items[i].top_codes)) for i in names if i in study.items}
            if top == {_codes_of(r.codes[-1])}:
                tops.append(r.codes[-1])
        if tops:
            text += _t(study, "describe.dist_top_band", bands=join(tops, study.language))
    odd = sc["n_bands"] % 2 == 1
    text += _t(study, "describe.dist_numbers_odd" if odd.all() else "describe.dist_numbers_even")
    return text


def distribution_ends(dist: pd.DataFrame) -> pd.DataFrame:
    """Return the share of low and of high answers of each item.

    Low answers are the bands below the middle band (for an odd number of bands; the
    middle band counts in neither), or the lower half of the bands; high answers the bands
    above it.

    Parameters
    ----------
    dist : DataFrame
        :func:`~analysis_helpers.study_tables.banded_distribution` (one group).

    Returns
    -------
    DataFrame
        One row per item, in the table's order: ``item``, ``label``, ``area``,
        ``scale``, ``n``, ``low``, ``high`` (shares in [0, 1]).
    """
    half = dist["n_bands"] / 2
    low = dist["share"].where(dist["band"] < half + 0.5, 0.0)
    high = dist["share"].where(dist["band"] > half + 1, 0.0)
    return (
        dist.assign(low=low, high=high)
        .groupby(["item", "label", "area", "scale"], sort=False)
        .agg(n=("n", "first"), low=("low", "sum"), high=("high", "sum"))
        .reset_index()
    )


def distribution_takeaway(dist: pd.DataFrame, language: str = "en") -> Md:
    """Name the item with the most low answers and the one with the most high answers.

    Parameters
    ----------
    dist : DataFrame
        :func:`~analysis_helpers.study_tables.banded_distribution` (one group).
    language : str
        The sentence's language (``"en"`` or ``"zh"``).
    """
    ends = distribution_ends(dist).dropna(subset=["low", "high"])
    if len(ends) == 0:
        return _t(language, "describe.dist_none")
    sour, sweet = ends.loc[ends["low"].idxmax()], ends.loc[ends["high"].idxmax()]
    if len(ends) == 1:
        return _t(
            language,
            "describe.dist_one",
            item=sour["label"],
            low=sour["low"],
            scale=sour["scale"],
            high=sour["high"],
            n=int(sour["n"]),
        )
    return _t(
        language,
        "describe.dist_ends",
        sour=sour["label"],
        low=sour["low"],
        sour_scale=sour["scale"],
        n_low=int(sour["n"]),
        sweet=sweet["label"],
        high=sweet["high"],
        n_high=int(sweet["n"]),
    )


# ---- 6. the hierarchy ---------------------------------------------------------------------------
#: the levels of the hierarchy as the table shows them
_LEVELS = {
    "index": "describe.level_index",
    "area": "describe.level_area",
    "indicator": "describe.level_indicator",
    "item": "describe.level_item",
}


def hierarchy_view(tree: pd.DataFrame, language: str = "en") -> pd.DataFrame:
    """Return the hierarchy table for showing: labels indented by level, levels capitalised.

    Parameters
    ----------
    tree : DataFrame
        :func:`~analysis_helpers.study_tables.hierarchy_table`.
    language : str
        The language of the level names (``"en"`` or ``"zh"``).

    Returns
    -------
    DataFrame
        ``tree`` with ``label`` indented (areas flush, indicators by one em space, items
        by two; items of an area without indicators by one) and ``level`` as "Index",
        "Area", "Indicator", "Item".
    """
    depth = tree["level"].map({"index": 0, "area": 0, "indicator": 1, "item": 2})
    depth = depth.where(~((tree["level"] == "item") & (tree["indicator"] == "")), 1)
    return tree.assign(
        label=[("\u2003" * int(d)) + str(x) for d, x in zip(depth, tree["label"], strict=True)],
        level=tree["level"].map(
            lambda v: template(_LEVELS[v], language) if v in _LEVELS else str(v).capitalize()
        ),
    )


def hierarchy_takeaway(tree: pd.DataFrame, *, study: Study) -> Md:
    """Name the items with the lowest and the highest top-2-box share, and the weakest indicator.

    The weakest indicator is named when the study has indicators.

    Parameters
    ----------
    tree : DataFrame
        :func:`~analysis_helpers.study_tables.hierarchy_table` (possibly flagged).
    study : Study
    """
    conf = _confidence(study)
    items = tree[(tree["level"] == "item")].dropna(subset=["top2"])
    if len(items) == 0:
        return _t(study, "describe.tree_none")
    low, high = items.loc[items["top2"].idxmin()], items.loc[items["top2"].idxmax()]
    area = _t(study, "describe.paren", x=study.label(low["area"])) if low["area"] else md("")
    if len(items) == 1 or _same(low["top2"], high["top2"], "share"):
        text = _t(study, "describe.tree_same", share=low["top2"])
    else:
        text = _t(
            study,
            "describe.tree_low_high",
            low=low["label"],
            area=area,
            low_top2=low["top2"],
            conf=conf,
            ci=_ci(study, low["top2_ci_low"], low["top2_ci_high"], kind="share"),
            n=int(low["n"]),
            high_top2=high["top2"],
            high=high["label"],
        )
    inds = tree[tree["level"] == "indicator"].dropna(subset=["index"])
    if len(inds) > 1:
        weak = inds.loc[inds["index"].idxmin()]
        text += _t(
            study,
            "describe.tree_weak_indicator",
            k=_n(study, len(inds), "count.indicator"),
            weak=weak["label"],
            index=weak["index"],
            conf=conf,
            ci=_ci(study, weak["index_ci_low"], weak["index_ci_high"], kind="index"),
        )
    return text


# ---- 7. expectation gaps ----------------------------------------------------------------------
def gap_takeaway(gaps: pd.DataFrame, *, study: Study) -> Md:
    """Say the expectation gaps in words, by sign.

    First the largest shortfall (rating below expectation) and how many aspects fall short,
    and significantly so; then the largest surplus (rating above expectation) where there is
    one. A shortfall is never called a surplus or the other way round, and each is its own
    sentence.

    Parameters
    ----------
    gaps : DataFrame
        :func:`~analysis_helpers.study_tables.expectation_gaps` (possibly flagged).
    study : Study

    Returns
    -------
    Md
        E.g. "The largest shortfall is **Waiting time** (Hotline): customers expect 4.10
        and rate it 3.32 on 1-5, a gap of -0.78 (95% CI -0.92 to -0.64; -19.5 points on
        0-100; Holm-adjusted p < 0.001, n = 139). 2 of the 4 aspects fall short of
        expectations, both significantly at the 0.05 level. The largest surplus is ..."
    """
    g = gaps.dropna(subset=["estimate"])
    if len(g) == 0:
        return _t(study, "describe.gap_none")
    rules = study.reporting
    conf = _confidence(study)
    method = CORRECTIONS.get(rules.correction) if len(g) > 1 else None
    # a gap that prints as 0.00 on the item's scale is neither a shortfall nor a surplus
    shown = g["estimate"].map(lambda x: fmt_value(x, "mean")).str.lstrip("-")
    par = shown.str.fullmatch(r"[0.]+")
    short = g[(g["estimate"] < 0) & ~par].sort_values("gap_100")
    over = g[(g["estimate"] > 0) & ~par].sort_values("gap_100", ascending=False)
    level = _t(study, "describe.at_level", alpha=rules.alpha)

    def signed(x: float, kind: str) -> str:
        text = fmt_value(x, kind)
        return text if x < 0 else "+" + text

    def detail(r: pd.Series) -> Md:
        p = fmt_p(r["p_adjusted"], prefix=True)
        return _t(
            study,
            "describe.gap_detail",
            expect=r["mean_expectation"],
            rate=r["mean_satisfaction"],
            lo=int(r["scale_min"]),
            hi=int(r["scale_max"]),
            gap=signed(r["estimate"], "mean"),
            conf=conf,
            ci=_ci(study, r["ci_low"], r["ci_high"], kind="mean"),
            gap_100=signed(r["gap_100"], "index"),
            p=_t(study, "describe.p_adjusted", method=method, p=p) if method else p,
            n=int(r["n"]),
        )

    def where(r: pd.Series) -> Md:
        return _t(study, "describe.paren", x=r["area_label"]) if r["area_label"] else md("")

    parts = []
    sig_short = int(short["significant"].sum())
    if len(short) == 1:
        r = short.iloc[0]
        parts.append(
            _t(study, "describe.gap_short_one", label=r["label"], where=where(r), detail=detail(r))
        )
        parts.append(
            _t(
                study,
                "describe.gap_short_sig" if sig_short else "describe.gap_short_not_sig",
                only=_t(study, "describe.gap_only_short") if len(g) > 1 else md(""),
                level=level,
            )
        )
    elif len(short):
        r = short.iloc[0]
        parts.append(
            _t(study, "describe.gap_short_max", label=r["label"], where=where(r), detail=detail(r))
        )
        parts.append(
            _t(
                study,
                "describe.gap_short_count",
                count=(
                    _t(study, "describe.gap_all_aspects", m=len(g))
                    if len(short) == len(g)
                    else _t(study, "describe.gap_k_aspects", k=len(short), m=len(g))
                ),
                k=_of_them(study, sig_short, len(short)),
                level=level,
            )
        )
    else:
        parts.append(_t(study, "describe.gap_no_short"))
    if len(over):
        r = over.iloc[0]
        sig_over = int(over["significant"].sum())
        parts.append(
            _t(study, "describe.gap_over_max", label=r["label"], where=where(r), detail=detail(r))
        )
        if len(over) > 1:
            parts.append(
                _t(
                    study,
                    "describe.gap_over_count",
                    k=len(over),
                    m=len(g),
                    s=_of_them(study, sig_over, len(over)),
                    level=level,
                )
            )
    even = g[par]
    if len(even):
        parts.append(
            _t(
                study,
                "describe.gap_even_one" if len(even) == 1 else "describe.gap_even",
                names=join(even["label"], study.language),
            )
        )
    return _sep(study).join(parts)


def _points(nps: float, language: str = "en") -> str:
    """Return "point" for an NPS shown as 1 or -1, else "points"."""
    one = fmt_value(nps, "nps").lstrip("+-−") == "1"
    return template("describe.point" if one else "describe.points", language)


# ---- 8. reliability -----------------------------------------------------------------------------
def reliability_blocks(study: Study, *, data: pd.DataFrame | None = None) -> dict[str, list[str]]:
    """Return the items of every area with at least two items (alpha needs two).

    Parameters
    ----------
    study : Study
    data : DataFrame, optional
        The rows the page describes. Given, an area keeps only the items these rows
        answered (a wave that was not asked an item, or a whole area), and needs at least
        two respondents who answered all of them.

    Returns
    -------
    dict
        Area name -> item names, in study order.
    """
    h = study.hierarchy()
    out = {}
    for area, g in h.groupby("area", sort=False):
        items = list(g["item"])
        if data is not None:
            items = [i for i in items if i in data.columns and data[i].notna().any()]
            if len(items) >= 2 and data[items].notna().all(axis=1).sum() < 2:
                continue
        if len(items) >= 2:
            out[area] = items
    return out


def reliability_takeaway(rel: pd.DataFrame, *, study: Study, min_alpha: float) -> Md:
    """Name the least reliable area, the most reliable alpha, and the areas below ``min_alpha``.

    The areas named last cannot be shown to reach ``min_alpha`` (the lower bound of their
    interval is below it).

    Parameters
    ----------
    rel : DataFrame
        :func:`~analysis_helpers.kpis.cronbach_alpha` by area with an ``area`` label column
        (possibly flagged).
    study : Study
    min_alpha : float
        The alpha an area needs to count as one reliable scale.
    """
    r = rel.dropna(subset=["alpha"])
    conf = _confidence(study)
    if len(r) == 0:
        return _t(study, "describe.rel_none")
    worst = r.loc[r["alpha"].idxmin()]
    below = r[r["ci_low"] < min_alpha]
    values = {
        "area": worst["area"],
        "alpha": worst["alpha"],
        "conf": conf,
        "ci": _ci(study, worst["ci_low"], worst["ci_high"], kind="coef"),
        "items": _n(study, int(worst["n_items"]), "count.item"),
        "n": int(worst["n"]),
    }
    lead = (
        _t(study, "describe.rel_one", **values)
        if len(r) == 1
        else _t(study, "describe.rel_least", best=r["alpha"].max(), **values)
    )
    if below.empty:
        verdict = _t(
            study, "describe.rel_ok_one" if len(r) == 1 else "describe.rel_ok", m=min_alpha
        )
    elif len(r) == 1:
        verdict = _t(study, "describe.rel_below_one", m=min_alpha)
    else:
        verdict = _t(
            study,
            "describe.rel_below" if len(below) > 1 else "describe.rel_below_single",
            areas=_cap(md("{a}", a=_n(study, len(below), "count.area"))),
            m=min_alpha,
            names=join(below["area"], study.language),
        )
    return lead + verdict


# ---- 9. small bases -------------------------------------------------------------------------------
def bases_takeaway(bases: pd.DataFrame, *, study: Study) -> Md:
    """Say how far the sample can be cut.

    The finest cross (its cells, median base, suppressed and low-base cells) and the deepest
    cut whose every cell reaches the minimum base.

    Parameters
    ----------
    bases : DataFrame
        :func:`~analysis_helpers.study_tables.cut_bases`.
    study : Study
    """
    rules = study.reporting
    fine = bases.iloc[-1]
    fully = bases.groupby("ways")["share_reportable"].min().eq(1)
    safe = int(fully.cumprod().sum())
    cells, suppressed, low = int(fine["cells"]), int(fine["suppressed"]), int(fine["low_base"])
    counts = []
    if suppressed:
        counts.append(
            _t(
                study,
                "describe.cells_suppressed_one" if suppressed == 1 else "describe.cells_suppressed",
                k=_count(study, suppressed, "count.cell"),
                s=rules.suppress_below,
            )
        )
    if low:
        counts.append(
            _t(
                study,
                "describe.cells_flagged_one" if low == 1 else "describe.cells_flagged",
                k=_count(study, low, "count.cell"),
                m=rules.min_base,
            )
        )
    if suppressed == cells:
        status = _t(study, "describe.cells_all_suppressed", s=rules.suppress_below)
    elif counts:
        status = _t(
            study,
            "describe.cells_status",
            counts=join(counts, study.language),
            r=(
                _t(study, "describe.none_share")
                if fine["share_reportable"] == 0
                else md("{r:share}", r=fine["share_reportable"])
            ),
        )
    else:
        status = _t(study, "describe.cells_all_ok", m=rules.min_base)
    if len(bases) == 1:
        depth = md("")
    elif safe == int(bases["ways"].max()):
        depth = _t(study, "describe.depth_all", m=rules.min_base)
    elif safe == 1:
        depth = _t(study, "describe.depth_single", m=rules.min_base)
    elif safe:
        depth = _t(study, "describe.depth_k", k=safe, m=rules.min_base)
    else:
        depth = _t(study, "describe.depth_none", m=rules.min_base)
    return _t(
        study,
        "describe.bases_crossing" if int(fine["ways"]) > 1 else "describe.bases_splitting",
        cut=fine["cut_label"],
        cells=_n(study, cells, "count.cell"),
        median=fine["median_n"],
        status=status,
        depth=depth,
    )


def choose_cut(bases: pd.DataFrame, *, min_reportable: float = 0.5) -> list[str]:
    """Return the finest cross of segments worth showing cell by cell.

    The cross of the most segments in which at least ``min_reportable`` of the cells reach
    the minimum base (among crosses of as many segments, the one with the largest such
    share, then the first); when no cross qualifies, the single segment with the largest
    share.

    Parameters
    ----------
    bases : DataFrame
        :func:`~analysis_helpers.study_tables.cut_bases`.
    min_reportable : float
        The share of cells that must reach the minimum base.

    Returns
    -------
    list of str
        The segment columns of the cross.
    """
    if bases.empty:
        raise ValueError("choose_cut: no crosses to choose from")
    ok = bases[bases["share_reportable"] >= min_reportable]
    if ok.empty:
        ok = bases[bases["ways"] == 1]
    else:
        ok = ok[ok["ways"] == ok["ways"].max()]
    best = ok.loc[ok["share_reportable"].idxmax()]
    return str(best["cut"]).split(" x ")


def cut_cells(data: pd.DataFrame, *, study: Study, columns: Sequence[str]) -> pd.DataFrame:
    """Compute the top-2-box share of overall satisfaction in every cell of a cross of segments.

    The study's base rules are applied and the segment values shown as their labels.

    Parameters
    ----------
    data : DataFrame
        Clean analysis data (one wave).
    study : Study
        A study with ``kpis.overall`` and the segments.
    columns : sequence of str
        The segment columns crossed.

    Returns
    -------
    DataFrame
        :func:`~analysis_helpers.kpis.top_box` by ``columns`` with ``flag``; each segment
        column holds its value labels as an ordered Categorical in the study's order.
    """
    from .kpis import top_box

    columns = list(columns)
    osat = study.items[_overall_item(study)]
    cells = top_box(
        data,
        items=[osat.name],
        top=osat.top_codes,
        by=columns,
        design=study_design(study),
        confidence=study.reporting.confidence,
    )
    cells = flag_bases(cells, study=study)
    for c in columns:
        values = study.segment(c).values
        shown = cells[c].astype(str).map(values).fillna(cells[c].astype(str))
        order = list(dict.fromkeys([*values.values(), *shown]))
        cells[c] = pd.Categorical(shown, categories=order, ordered=True)
    return cells


def _overall_item(study: Study) -> str:
    """Return the study's overall-satisfaction item (``kpis.overall``).

    Raises
    ------
    ValueError
        The study file names no overall-satisfaction item.
    """
    overall = study.kpis.overall
    if overall is None:
        raise ValueError(
            "the study file names no overall-satisfaction item (kpis.overall), so there is "
            "no top-2-box to cut by segments"
        )
    return overall


def cut_grid(cells: pd.DataFrame, *, study: Study, columns: Sequence[str]) -> pd.DataFrame:
    """Return the cells of :func:`cut_cells` as a grid of "top-2-box % (base)" texts.

    The first half of the ``columns`` (rounded up) label the rows, the rest the columns
    (joined by " / "). Low-base cells carry a ``*``; suppressed cells show an en dash;
    crosses nobody is in stay empty.

    Returns
    -------
    DataFrame
        One row per row cell: the row segments (headed by their titles), then one text
        column per column cell.
    """
    columns = list(columns)
    text = (
        cells["estimate"].map(lambda v: fmt_pct(v)) + " (" + cells["n"].map("{:,.0f}".format) + ")"
    )
    text = text.where(cells["flag"] != "low base", text + "*")
    text = text.where(cells["flag"] != "suppressed", "–")
    half = (len(columns) + 1) // 2
    grid = cells.assign(cell=text).set_index(columns)["cell"]
    if columns[half:]:
        grid = grid.unstack(columns[half:], fill_value="").sort_index(axis=1)
        grid = grid.loc[:, (grid != "").any(axis=0)]
        grid.columns = [
            " / ".join(map(str, c)) if isinstance(c, tuple) else str(c) for c in grid.columns
        ]
        grid = grid.fillna("")
    else:
        grid = grid.to_frame(
            name=template("describe.col_top2_of", study.language).format(
                label=study.label(_overall_item(study))
            )
        )
    grid = grid.reset_index()
    return grid.rename(columns={c: study.segment(c).title for c in columns})


def cut_caption(study: Study, columns: Sequence[str]) -> str:
    """Return the caption of the grid of :func:`cut_grid` (plain text).

    It says what the cells hold and what the marks mean.
    """
    rules = study.reporting
    lang = study.language
    by = " x ".join(study.segment(c).title for c in columns)
    suppressed = (
        template("describe.cap_cut_suppressed", lang).format(s=rules.suppress_below)
        if rules.suppress_below > 0
        else ""
    )
    return template("describe.cap_cut", lang).format(
        label=study.label(_overall_item(study)), by=by, m=rules.min_base, suppressed=suppressed
    )


def cut_takeaway(cells: pd.DataFrame, *, study: Study, columns: Sequence[str]) -> Md:
    """Why small cells matter: the widest interval among the cells that can be shown.

    Parameters
    ----------
    cells : DataFrame
        :func:`cut_cells`.
    study : Study
    columns : sequence of str
        The segment columns crossed.
    """
    columns = list(columns)
    shown = cells[cells["flag"] != "suppressed"].dropna(subset=["ci_low", "ci_high"])
    title = join([study.segment(c).title for c in columns], study.language)
    if len(shown) == 0:
        return _t(
            study, "describe.cut_all_suppressed", title=title, s=study.reporting.suppress_below
        )
    wide = shown.loc[(shown["ci_high"] - shown["ci_low"]).idxmax()]
    where = " / ".join(str(wide[c]) for c in columns)
    return _t(
        study,
        "describe.cut_widest",
        title=title,
        where=where,
        estimate=wide["estimate"],
        n=int(wide["n"]),
        flag=_t(study, "describe.low_base_mark") if wide["flag"] else md(""),
        conf=_confidence(study),
        ci=_ci(study, wide["ci_low"], wide["ci_high"], kind="share"),
    )


# ---- what each table shows (the columns and kinds of ctx.show) --------------------------
#: the headline KPI table's columns (:func:`kpi_view` of ``kpi_summary``)
KPI_COLUMNS: dict[str, str | None] = {
    "label": "KPI",
    "scale": "Scale",
    "estimate": None,
    "ci": None,
    "n": None,
    "n_effective": None,
    "flag": None,
}

#: the expectation-gap table's columns and kinds (``expectation_gaps``): both means and
#: the gap on the item's scale, the gap on 0-100 and the test
GAP_COLUMNS: dict[str, str | None] = {
    "label": "Item",
    "area_label": "Area",
    "n": None,
    "mean_expectation": "Expectation",
    "mean_satisfaction": "Satisfaction",
    "estimate": "Gap",
    "ci": None,
    "gap_100": "Gap (0-100)",
    "p_adjusted": None,
    "significant": None,
    "flag": None,
}
GAP_KINDS: dict[str, str] = {
    "mean_expectation": "mean",
    "mean_satisfaction": "mean",
    "estimate": "mean",
    "ci": "mean",
}

#: the cell-base table's columns (``cut_bases``)
BASES_COLUMNS: dict[str, str | None] = {
    "cut_label": "Segments crossed",
    "cells": "Cells",
    "min_n": "Smallest base",
    "median_n": "Median base",
    "max_n": "Largest base",
    "low_base": "Low-base cells",
    "suppressed": "Suppressed cells",
    "share_reportable": "Reportable",
}

#: the headers of the column lists above: English header -> key of the template tables
_HEADERS = {
    "KPI": "col.kpi",
    "Scale": "describe.col_scale",
    "Item": "col.item",
    "Area": "col.area",
    "Expectation": "describe.col_expectation",
    "Satisfaction": "describe.col_satisfaction",
    "Gap": "describe.col_gap",
    "Gap (0-100)": "describe.col_gap_100",
    "Segments crossed": "describe.col_cut",
    "Cells": "col.n_cells",
    "Smallest base": "describe.col_min_n",
    "Median base": "describe.col_median_n",
    "Largest base": "describe.col_max_n",
    "Low-base cells": "describe.col_low_base",
    "Suppressed cells": "describe.col_suppressed",
    "Reportable": "describe.col_reportable",
}


def localise_columns(columns: dict[str, str | None], language: str = "en") -> dict[str, str | None]:
    """Return a column list of this module (``KPI_COLUMNS``, ...) with headers in ``language``.

    Parameters
    ----------
    columns : dict
        Column -> English header (None: the default header).
    language : str
        ``"en"`` or ``"zh"``.

    Returns
    -------
    dict
        The same columns, each header from the template tables.
    """
    return {c: template(_HEADERS[h], language) if h in _HEADERS else h for c, h in columns.items()}


def hierarchy_columns(study: Study) -> dict[str, str | None]:
    """Return the hierarchy table's columns: the node, its base, mean, top-2-box and index.

    Parameters
    ----------
    study : Study
        Names the node column "Index, area, indicator or item" when the study has
        indicators, "Index, area or item" otherwise.

    Returns
    -------
    dict
        Column -> header (None: the default header), in display order.
    """
    node = template(
        "describe.col_node_indicators" if study.has_indicators else "describe.col_node",
        study.language,
    )
    return {
        "level": None,
        "label": node,
        "n": None,
        "mean": None,
        "mean_ci": None,
        "top2": None,
        "top2_ci": None,
        "index": None,
        "index_ci": None,
        "flag": None,
    }
