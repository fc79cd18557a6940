"""The executive summary (``00-summary``): a handful of ranked, evidence-linked findings.

Each finding is one sentence whose numbers come from the tables the other pages saved,
linking to the page that shows its evidence.

The summary computes nothing new: it reads the report's tables (:data:`SUMMARY_TABLES`,
saved by 20-describe, 30-trend, 40-cross and 50-drivers; the runner runs ``00-summary``
after them) and ranks their rows by the rules below. A table that is absent (the study
has one wave, no segments, no drivers ...) drops its finding or, where a reader would
miss it, puts one sentence in its place.

Ranking rules
-------------
1. **Headline KPIs** (:func:`headline_kpis`): the KPIs of 20-describe's wave in the study's
   order (``kpis``: overall satisfaction first), each with its change against the previous
   wave from 30-trend's ``wave_changes`` (the pair ending in that wave). A change is named
   only when it is significant at ``reporting.alpha`` after ``reporting.correction``;
   otherwise the sentence says "no significant change".
2. **Biggest significant movers** (:func:`rank_movers`): the KPI and area changes of the
   latest pair of waves that are significant, ranked by the size of their test statistic
   ``|z|`` (changes of KPIs on different scales are compared in standard errors), ties by
   the larger ``|change|``; the first ``top``.
3. **Turning point** (:func:`rank_turning_points`): with three waves or more, the largest
   significant area change of any pair of waves of at least ``min_change`` index points
   (:func:`~analysis_helpers.trend.turning_points`); not repeated when it is one of the
   movers of rule 2.
4. **Weak spots** (:func:`rank_weak_spots`): the segment x area cells of 40-cross's
   ``weak_spots`` that are significantly *below* the rest of the sample (corrected over all
   cells), largest shortfall first; the first ``top``.
5. **Top drivers** (:func:`rank_drivers`): 50-drivers' ``driver_importance`` by its rank
   (relative weight, largest share of R² first); the first ``top``.
6. **Action list** (:func:`rank_actions`): from the importance-performance table ``ipa``:
   *fix* = "concentrate here" (important, performing below the line), ranked as
   :func:`~analysis_helpers.drivers.action_list` (furthest above the importance line first,
   ties by the lower performance); *maintain* = "keep up the good work" (important,
   performing above the line), most important first; *watch* = "low priority" (less important,
   performing below the line), lowest performance first. "Possible overkill" is not
   listed. The first ``top`` of each.
7. **Comment themes** that rose into the latest wave (70-voice).
8. **Actions** of the register (30-trend's ``action_effects``): "action X worked" for a
   significant positive difference in differences, those that worked first.
9. **Alerts** (:func:`_alerts_finding`): 30-trend's ``trend_alerts`` - the KPIs and areas
   whose change into the latest wave is significant and at least the study file's
   threshold (``trend.alerts``), in the page's order (largest ``|z|`` first), with size,
   adjusted p-value and base; placed after the movers. Nothing when no alert fired.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .formatting import fmt_p, fmt_value
from .safe_output import Md
from .text import join, size, template, text
from .trend import turning_points

if TYPE_CHECKING:
    from .study import Study

__all__ = [
    "SUMMARY_TABLES",
    "PAGES",
    "ACTIONS",
    "headline_kpis",
    "rank_movers",
    "rank_turning_points",
    "rank_weak_spots",
    "rank_drivers",
    "rank_actions",
    "summary_findings",
]

#: the tables the summary reads, and the page that saves each
SUMMARY_TABLES: dict[str, str] = {
    "kpi_summary": "20-describe",
    "wave_changes": "30-trend",
    "area_changes": "30-trend",
    "weak_spots": "40-cross",
    "driver_importance": "50-drivers",
    "ipa": "50-drivers",
    "theme_changes": "70-voice",
    "trend_alerts": "30-trend",
    "action_effects": "30-trend",
}
#: the pages the findings link to (their HTML file in the report folder)
PAGES = {
    "20-describe": "20-describe.html",
    "30-trend": "30-trend.html",
    "40-cross": "40-cross.html",
    "50-drivers": "50-drivers.html",
    "70-voice": "70-voice.html",
}
#: the IPA quadrant behind each action
ACTIONS = {
    "fix": "concentrate here",
    "maintain": "keep up the good work",
    "watch": "low priority",
}

_FINDING_COLUMNS = ["section", "rank", "kind", "page", "text"]


def _has(tables: Mapping[str, pd.DataFrame | None], name: str) -> bool:
    t = tables.get(name)
    return t is not None and not t.empty


def _bool(s: pd.Series) -> pd.Series:
    """Return a ``significant`` column read back from CSV (bools, or text "True"/"False")."""
    if s.dtype == bool:
        return s
    return s.map(lambda v: str(v).strip().lower() in {"true", "1", "1.0"}).astype(bool)


def _latest_pair(
    changes: pd.DataFrame, study: Study, wave: str | None = None
) -> tuple[str, str] | None:
    """Return the last ``(wave_from, wave_to)`` of a wave-over-wave table, in the study's order.

    With ``wave``, the pair that ends in that wave (None when the table has none: the first
    wave, or a wave the trend page could not compare).
    """
    if changes is None or changes.empty:
        return None
    order = {w: i for i, w in enumerate(study.waves)}
    to = changes["wave_to"].astype(str)
    if wave:
        if not (to == str(wave)).any():
            return None
        return str(changes.loc[to == str(wave), "wave_from"].astype(str).iloc[0]), str(wave)
    last = max(to.unique(), key=lambda w: order.get(w, -1))
    first = changes.loc[to == last, "wave_from"].astype(str).iloc[0]
    return first, last


# ---- ranking rules ---------------------------------------------------------------------
def headline_kpis(
    kpis: pd.DataFrame,
    changes: pd.DataFrame | None,
    *,
    study: Study,
    wave: str | None = None,
) -> pd.DataFrame:
    """Return each headline KPI with its change against the previous wave (rule 1).

    Parameters
    ----------
    kpis : DataFrame
        20-describe's ``kpi_summary``: ``kpi``, ``label``, ``unit``, ``estimate``, ``n``,
        in the study's order.
    changes : DataFrame or None
        30-trend's ``wave_changes`` (:func:`~analysis_helpers.trend_report.kpi_changes`);
        None or empty for a study of one wave.
    study : Study
    wave : str, optional
        The wave ``kpis`` describe: its change against the wave before it is taken (none
        for the first wave); default the latest pair of ``changes``.

    Returns
    -------
    DataFrame
        One row per KPI of ``kpis`` with an estimate, in its order: ``kpi``, ``label``,
        ``unit``, ``estimate``, ``n``, ``wave_from`` (None without a comparison),
        ``change``, ``p_adjusted``, ``significant`` (False without a comparison).
    """
    t = kpis[kpis["estimate"].notna()]
    out = t[["kpi", "label", "unit", "estimate", "n"]].reset_index(drop=True)
    pair = _latest_pair(changes, study, wave) if changes is not None else None
    if changes is None or pair is None:
        return out.assign(wave_from=None, change=np.nan, p_adjusted=np.nan, significant=False)
    latest = changes[changes["wave_to"].astype(str) == pair[1]].drop_duplicates("kpi")
    latest = latest.set_index(latest["kpi"].astype(str))
    key = out["kpi"].astype(str)
    has = key.isin(latest.index)
    out["wave_from"] = [pair[0] if h else None for h in has]
    out["change"] = key.map(latest["change"]).astype(float)
    out["p_adjusted"] = key.map(latest["p_adjusted"]).astype(float)
    sig = _bool(latest["significant"])
    out["significant"] = key.map(sig).fillna(False).astype(bool)
    return out


def rank_movers(
    kpi_changes: pd.DataFrame | None,
    area_changes: pd.DataFrame | None,
    *,
    study: Study,
    top: int = 3,
    wave: str | None = None,
) -> pd.DataFrame:
    """Rank the significant KPI and area changes of the latest pair of waves (rule 2).

    Parameters
    ----------
    kpi_changes, area_changes : DataFrame or None
        30-trend's ``wave_changes`` (``kpi``, ``label``, ``unit``) and ``area_changes``
        (``name``, ``area``; index points): ``wave_from``, ``wave_to``, ``change``,
        ``statistic``, ``p_adjusted``, ``significant``.
    study : Study
        The waves' order.
    top : int
        How many to return.
    wave : str, optional
        The changes into this wave instead of the latest pair's.

    Returns
    -------
    DataFrame
        ``rank``, ``what`` ("kpi" / "area"), ``name``, ``label``, ``unit``, ``wave_from``,
        ``wave_to``, ``estimate_from``, ``estimate_to``, ``change``, ``statistic``,
        ``p_adjusted``; largest ``|statistic|`` first (ties: larger ``|change|``). Empty
        when nothing moved significantly.
    """
    cols = [
        "rank", "what", "name", "label", "unit", "wave_from", "wave_to", "estimate_from",
        "estimate_to", "change", "statistic", "p_adjusted",
    ]  # fmt: skip
    parts = []
    if kpi_changes is not None and not kpi_changes.empty:
        parts.append(kpi_changes.assign(what="kpi", name=kpi_changes["kpi"]))
    if area_changes is not None and not area_changes.empty:
        parts.append(
            area_changes.assign(what="area", label=area_changes["area"], unit="index (0-100)")
        )
    if not parts:
        return pd.DataFrame(columns=cols)
    t = pd.concat(parts, ignore_index=True)
    pair = _latest_pair(t, study, wave)
    if pair is None:
        return pd.DataFrame(columns=cols)
    t = t[(t["wave_to"].astype(str) == pair[1]) & _bool(t["significant"])]
    t = t.assign(_z=t["statistic"].abs(), _c=t["change"].abs())
    t = t.sort_values(["_z", "_c"], ascending=False, kind="stable").head(top)
    t = t.reset_index(drop=True)
    t["rank"] = np.arange(1, len(t) + 1)
    return t[cols]


def rank_turning_points(
    area_changes: pd.DataFrame | None, *, min_change: float = 1.0
) -> pd.DataFrame:
    """Rank the areas' significant changes over every pair of waves (rule 3).

    Parameters
    ----------
    area_changes : DataFrame or None
        30-trend's ``area_changes``.
    min_change : float
        Smallest change, in index points, that counts as a turn (30-trend's ``min_turn``).

    Returns
    -------
    DataFrame
        :func:`~analysis_helpers.trend.turning_points` (significant, ``|change| >=
        min_change``, largest first) with a ``rank`` column first; empty without any.
    """
    if area_changes is None or area_changes.empty:
        return pd.DataFrame(columns=["rank", "name", "area", "wave_from", "wave_to", "change"])
    t = area_changes.assign(significant=_bool(area_changes["significant"]))
    turns = turning_points(t, min_change=min_change)
    turns.insert(0, "rank", np.arange(1, len(turns) + 1))
    return turns


def rank_weak_spots(spots: pd.DataFrame | None, *, top: int = 3) -> pd.DataFrame:
    """Return the significant weak spots, largest shortfall first (rule 4).

    Parameters
    ----------
    spots : DataFrame or None
        40-cross's ``weak_spots`` (:func:`~analysis_helpers.cross.weak_spots`):
        ``difference`` (cell - rest), ``p_adjusted``, ``significant``, ``direction``.
    top : int

    Returns
    -------
    DataFrame
        The rows that are significant and below the rest, ordered by ``difference``
        (most negative first), the first ``top``, ``rank`` renumbered from 1.
    """
    if spots is None or spots.empty:
        return pd.DataFrame(columns=["rank", *([] if spots is None else spots.columns)])
    low = spots[_bool(spots["significant"]) & (spots["difference"] < 0)]
    low = low.sort_values("difference", kind="stable").head(top).reset_index(drop=True)
    return low.assign(rank=np.arange(1, len(low) + 1))


def rank_drivers(importance: pd.DataFrame | None, *, top: int = 3) -> pd.DataFrame:
    """Return the most important drivers (rule 5).

    Parameters
    ----------
    importance : DataFrame or None
        50-drivers' ``driver_importance``: ``driver``, ``label``, ``relative_weight_pct``
        (and ``rank``, 1 = most important, when ranked).
    top : int

    Returns
    -------
    DataFrame
        The first ``top`` rows by ``rank`` (else by ``relative_weight_pct``, largest
        first), ``rank`` renumbered from 1.
    """
    if importance is None or importance.empty:
        return pd.DataFrame(columns=["rank", "driver", "label", "relative_weight_pct"])
    if "rank" in importance.columns:
        t = importance.sort_values("rank", kind="stable")
    else:
        t = importance.sort_values("relative_weight_pct", ascending=False, kind="stable")
    t = t.head(top).reset_index(drop=True)
    return t.assign(rank=np.arange(1, len(t) + 1))


def rank_actions(ipa: pd.DataFrame | None, *, top: int = 3) -> pd.DataFrame:
    """Return the action list: what to fix, maintain and watch (rule 6).

    Parameters
    ----------
    ipa : DataFrame or None
        50-drivers' ``ipa`` (:func:`~analysis_helpers.drivers.importance_performance`
        with ``label``): ``item``, ``importance``, ``performance``, ``importance_gap``,
        ``performance_gap``, ``quadrant``.
    top : int
        Items per action.

    Returns
    -------
    DataFrame
        ``action`` ("fix", "maintain", "watch", in that order), ``rank`` (within the
        action), then the ``ipa`` columns.
    """
    if ipa is None or ipa.empty:
        return pd.DataFrame(columns=["action", "rank", "item", "label", "importance"])
    orders = {
        "fix": (["importance_gap", "performance_gap"], [False, True]),
        "maintain": (["importance", "performance_gap"], [False, True]),
        "watch": (["performance_gap", "importance"], [True, False]),
    }
    parts = []
    for action, quadrant in ACTIONS.items():
        by, ascending = orders[action]
        t = ipa[ipa["quadrant"] == quadrant].sort_values(by, ascending=ascending, kind="stable")
        t = t.head(top).reset_index(drop=True)
        t.insert(0, "rank", np.arange(1, len(t) + 1))
        t.insert(0, "action", action)
        parts.append(t)
    return pd.concat(parts, ignore_index=True)


# ---- sentences (from the template tables of analysis_helpers.text) -----------------------
def _size(change: float, unit: str, lang: str = "en") -> str:
    """'2.1 index points', '5 points' (NPS), '3.2 pp' (shares), '0.17' (means)."""
    return size(change, unit, lang)


def _moved(label: str, change: float, unit: str, p: float, lang: str) -> Md:
    return text(
        "summary.rose" if change > 0 else "summary.fell",
        lang,
        label=label,
        size=_size(change, unit, lang),
        p=fmt_p(p, prefix=True),
    )


def _test_words(study: Study) -> str:
    """Say how the pages name their test: ``"p < 0.05, Holm-adjusted"``."""
    rep = study.reporting
    names = {"holm": "Holm", "fdr_bh": "Benjamini-Hochberg", "bonferroni": "Bonferroni"}
    if rep.correction in names:
        return template("test.adjusted", study.language).format(
            alpha=f"{rep.alpha:g}", correction=names[rep.correction]
        )
    return template("test.plain", study.language).format(alpha=f"{rep.alpha:g}")


def _join(parts: list[Md], lang: str = "en") -> Md:
    """Join Markdown pieces as ``a, b and c`` (``a、b和c``)."""
    return join(parts, lang)


def _kpi_sentence(head: pd.DataFrame, *, study: Study, wave: str | None, test: str) -> Md:
    lang = study.language
    pieces = []
    for r in head.itertuples():
        value = fmt_value(r.estimate, r.unit)
        if pd.notna(r.wave_from) and r.significant:
            pieces.append(
                text(
                    "summary.kpi_up" if r.change > 0 else "summary.kpi_down",
                    lang,
                    label=r.label,
                    value=value,
                    size=_size(r.change, r.unit, lang),
                    prev=study.wave_label(r.wave_from),
                    p=fmt_p(r.p_adjusted, prefix=True),
                )
            )
        else:
            pieces.append(text("summary.kpi", lang, label=r.label, value=value))
    where = (
        text("summary.kpi_in_wave", lang, wave=study.wave_label(wave))
        if wave
        else text("summary.kpi_headline", lang)
    )
    compared = head[head["wave_from"].notna()]
    tail = Md("")
    if len(compared):
        prev = study.wave_label(str(compared["wave_from"].iloc[0]))
        n_sig = int(compared["significant"].sum())
        if n_sig == 0:
            tail = text("summary.kpi_none_changed", lang, prev=prev, test=test)
        elif n_sig < len(compared):
            tail = text("summary.kpi_others", lang, prev=prev)
    see = text("summary.kpi_see_trend" if len(compared) else "summary.kpi_see", lang)
    return where + text("words.sep", lang).join(pieces) + see + tail


def summary_findings(
    tables: Mapping[str, pd.DataFrame | None],
    *,
    study: Study,
    wave: str | None = None,
    outcome_label: str | None = None,
    drivers_reason: str | None = None,
    top: int = 3,
    min_change: float = 1.0,
) -> pd.DataFrame:
    """Return the executive summary: one ranked sentence per finding, with its evidence page.

    Parameters
    ----------
    tables : mapping
        Table name -> DataFrame (or None when the page did not save it), the names of
        :data:`SUMMARY_TABLES`.
    study : Study
    wave : str, optional
        The wave the report describes (20-describe's ``wave``): the headline KPIs, the
        movers and the comment themes are its changes against the wave before it; default
        the latest wave of ``wave_changes``, else none named.
    outcome_label : str, optional
        What the drivers drive (e.g. "Overall satisfaction"), for the drivers sentence.
    drivers_reason : str or Md, optional
        Why the study has no drivers (:func:`~analysis_helpers.driver_report.driver_setup`'s
        ``reason``), said where the drivers would be.
    top : int
        Movers, weak spots, drivers and items per action named.
    min_change : float
        Smallest area change in index points that counts as a turning point.

    Returns
    -------
    DataFrame
        One row per sentence, in reading order: ``section`` ("kpis", "changes",
        "movers", "turning_point", "alerts", "weak_spots", "drivers", "fix", "maintain", "watch",
        "themes", "actions"),
        ``rank`` (1, 2, ... in reading order), ``kind`` ("finding", or "na" for a
        section that does not apply, said in one sentence), ``page`` (the notebook of
        the evidence) and ``text`` (:class:`~analysis_helpers.safe_output.Md`, its link
        to the page included).
    """
    rows: list[tuple[str, str, str, Md]] = []
    test = _test_words(study)
    lang = study.language
    sep = text("words.sep", lang)
    changes = tables.get("wave_changes")
    areas = tables.get("area_changes")
    source = changes if _has(tables, "wave_changes") else areas
    chosen = str(wave) if wave else None
    pair = (
        _latest_pair(source, study, chosen)
        if _has(tables, "wave_changes") or _has(tables, "area_changes")
        else None
    )
    if chosen is None and pair is not None:
        wave = pair[1]

    # 1. headline KPIs and their change
    if _has(tables, "kpi_summary"):
        kpis = tables["kpi_summary"]
        assert kpis is not None
        comparable = changes if pair is not None and wave == pair[1] else None
        head = headline_kpis(kpis, comparable, study=study, wave=pair[1] if pair else None)
        if len(head):
            rows.append(
                (
                    "kpis",
                    "finding",
                    "20-describe",
                    _kpi_sentence(
                        head, study=study, wave=wave if study.is_multiwave else None, test=test
                    ),
                )
            )
    # 2. no comparison at all: say so once
    if pair is None:
        absent = study.absent("waves")
        first = chosen is not None and study.is_multiwave and _has(tables, "wave_changes")
        rows.append(
            (
                "changes",
                "finding",
                "30-trend",
                text("summary.no_change_why", lang, why=absent)
                if absent
                else text("summary.no_earlier_wave", lang, wave=study.wave_label(chosen))
                if first and chosen is not None
                else text("summary.one_wave", lang),
            )
        )
    else:
        movers = rank_movers(
            changes if _has(tables, "wave_changes") else None,
            areas if _has(tables, "area_changes") else None,
            study=study,
            top=top,
            wave=pair[1],
        )
        a, b = study.wave_label(pair[0]), study.wave_label(pair[1])
        if movers.empty:
            rows.append(
                (
                    "movers",
                    "finding",
                    "30-trend",
                    text(
                        "summary.no_movers",
                        lang,
                        a=a,
                        b=b,
                        test=test,
                    ),
                )
            )
        else:
            moved = sep.join(
                _moved(r.label, r.change, r.unit, r.p_adjusted, lang) for r in movers.itertuples()
            )
            rows.append(
                (
                    "movers",
                    "finding",
                    "30-trend",
                    text(
                        "summary.mover" if len(movers) == 1 else "summary.movers",
                        lang,
                        a=a,
                        b=b,
                        moved=moved,
                    ),
                )
            )
        # 3. the turning point over all waves
        if len(study.waves) > 2 and _has(tables, "area_changes"):
            turns = rank_turning_points(areas, min_change=min_change)
            if len(turns):
                t = turns.iloc[0]
                named = movers[(movers["what"] == "area")]
                repeated = str(t["wave_to"]) == pair[1] and str(t["name"]) in set(
                    named["name"].astype(str)
                )
                if not repeated:
                    rows.append(
                        (
                            "turning_point",
                            "finding",
                            "30-trend",
                            text(
                                "summary.turn_rose" if t["change"] > 0 else "summary.turn_fell",
                                lang,
                                area=t["area"],
                                size=_size(float(t["change"]), "index (0-100)", lang),
                                a=study.wave_label(str(t["wave_from"])),
                                b=study.wave_label(str(t["wave_to"])),
                                p=fmt_p(float(t["p_adjusted"]), prefix=True),
                                n=len(study.waves),
                            ),
                        )
                    )

    # the alerts the study file sets thresholds for (rule 7)
    rows += _alerts_finding(tables.get("trend_alerts"), study=study)

    # 4. weak spots
    if study.has_segments and study.has_index:
        spots = rank_weak_spots(tables.get("weak_spots"), top=top)
        if spots.empty:
            rows.append(
                (
                    "weak_spots",
                    "finding",
                    "40-cross",
                    text(
                        "summary.no_weak_spots",
                        lang,
                        test=test,
                    ),
                )
            )
        else:
            cells = sep.join(
                text(
                    "summary.weak_cell",
                    lang,
                    group=r.value_label,
                    segment=r.segment_label,
                    area=r.label,
                    gap=-float(r.difference),
                    p=fmt_p(float(r.p_adjusted), prefix=True),
                    n=r.n,
                )
                for r in spots.itertuples()
            )
            rows.append(
                (
                    "weak_spots",
                    "finding",
                    "40-cross",
                    text(
                        "summary.weak_spot" if len(spots) == 1 else "summary.weak_spots",
                        lang,
                        cells=cells,
                    ),
                )
            )
    elif not study.has_segments:
        rows.append(
            (
                "weak_spots",
                "na",
                "40-cross",
                text("summary.no_segments", lang, why=study.absent("segments") or ""),
            )
        )

    # 5. drivers and 6. actions
    drivers = rank_drivers(tables.get("driver_importance"), top=top)
    if drivers.empty:
        rows.append(
            (
                "drivers",
                "na",
                "50-drivers",
                text("summary.no_drivers_why", lang, why=drivers_reason)
                if drivers_reason
                else text("summary.drivers_none_ranked", lang),
            )
        )
    else:
        named = _join(
            [
                text("summary.driver_item", lang, label=r.label, share=r.relative_weight_pct)
                for r in drivers.itertuples()
            ],
            lang,
        )
        rows.append(
            (
                "drivers",
                "finding",
                "50-drivers",
                text(
                    "summary.driver" if len(drivers) == 1 else "summary.drivers",
                    lang,
                    outcome=text("summary.outcome", lang, o=outcome_label)
                    if outcome_label
                    else text("summary.satisfaction", lang),
                    named=named,
                ),
            )
        )
        actions = rank_actions(tables.get("ipa"), top=top)
        for action in ACTIONS:
            part = actions[actions["action"] == action]
            if part.empty:
                continue
            items = _join(
                [
                    text(
                        "summary.action_item",
                        lang,
                        label=r.label,
                        imp=r.importance,
                        perf=r.performance,
                    )
                    for r in part.itertuples()
                ],
                lang,
            )
            rows.append(
                (action, "finding", "50-drivers", text(f"summary.{action}", lang, items=items))
            )

    # 7. the open-comment themes that rise
    rows += _themes_finding(tables.get("theme_changes"), study=study, test=test, wave=chosen)
    # 8. whether the actions of the register worked
    rows += _actions_finding(tables.get("action_effects"), study.language)

    out = pd.DataFrame(rows, columns=["section", "kind", "page", "text"])
    out.insert(1, "rank", np.arange(1, len(out) + 1))
    return out[_FINDING_COLUMNS]


def _actions_finding(
    effects: pd.DataFrame | None, lang: str = "en"
) -> list[tuple[str, str, str, Md]]:
    """Return whether each action of the register worked (rule 8), in one sentence.

    Rule: from 30-trend's ``action_effects``, the actions that worked (a significant
    positive difference in differences after the study's correction) first, largest
    difference first, then those that backfired, then those with no effect; an action
    that could not be measured is left out. Nothing when the page saved no actions.
    """
    if effects is None or effects.empty:
        return []
    t = effects[effects["verdict"].astype(str) != "not measurable"]
    if t.empty:
        return []
    order = {"worked": 0, "backfired": 1, "no effect": 2}
    t = t.assign(_o=t["verdict"].map(order), _d=-t["estimate"].abs())
    t = t.sort_values(["_o", "_d"], kind="stable")
    parts = []
    for r in t.itertuples():
        if r.verdict == "no effect":
            parts.append(text("summary.action_no_effect", lang, label=r.label))
        else:
            parts.append(
                text(
                    "summary.action_worked"
                    if r.verdict == "worked"
                    else "summary.action_backfired",
                    lang,
                    label=r.label,
                    d=f"{float(r.estimate):+.1f}",
                    p=fmt_p(float(r.p_adjusted), prefix=True),
                )
            )
    sep = text("summary.action_sep", lang)
    return [
        ("actions", "finding", "30-trend", text("summary.actions", lang, parts=sep.join(parts)))
    ]


def _themes_finding(
    changes: pd.DataFrame | None, *, study: Study, test: str, wave: str | None = None
) -> list[tuple[str, str, str, Md]]:
    """Return the comment themes that rose significantly into the latest wave (rule 7).

    Rule: from 70-voice's ``theme_changes``, the themes whose share of commenters rose
    significantly (after the study's correction) from the previous wave into the latest
    one (``wave``, when the report describes another), largest rise first; a sentence saying
    none did when none did. Nothing for a study
    whose comments page saved no changes (no open question, no theme dictionary, one wave),
    except the page's own reason for a study without an open question. A list of zero or
    one finding rows.
    """
    lang = study.language
    if changes is None or changes.empty:
        if not study.has_text:
            why = study.absent("text") or ""
            return [("themes", "na", "70-voice", text("summary.no_text", lang, why=why))]
        return []
    t = changes[changes["theme"].astype(str) != "no_theme"]
    waves = [w for w in study.waves if w in set(t["value_2"].astype(str))]
    if wave:
        waves = [w for w in waves if w == str(wave)]
    if not waves:
        return []
    latest = waves[-1]
    into = t[t["value_2"].astype(str) == latest]
    prev = study.wave_label(str(into["value_1"].iloc[0])) if len(into) else ""
    rise = into[into["direction"].astype(str) == "rise"].sort_values("estimate", ascending=False)
    now = study.wave_label(latest)
    if rise.empty:
        return [
            (
                "themes",
                "finding",
                "70-voice",
                text(
                    "summary.no_theme_rose",
                    lang,
                    a=prev,
                    b=now,
                    test=test,
                ),
            )
        ]
    named = _join(
        [
            text(
                "summary.theme",
                lang,
                theme=r.theme_label,
                share=float(r.estimate_2),
                size=_size(float(r.estimate), "share", lang),
                p=fmt_p(float(r.p_adjusted), prefix=True),
            )
            for r in rise.head(3).itertuples()
        ],
        lang,
    )
    return [
        (
            "themes",
            "finding",
            "70-voice",
            text(
                "summary.themes",
                lang,
                a=prev,
                b=now,
                named=named,
            ),
        )
    ]


def _alerts_finding(alerts: pd.DataFrame | None, *, study: Study) -> list[tuple[str, str, str, Md]]:
    """Return the trend page's alerts as one finding (rule 7), or nothing when none fired."""
    if alerts is None or alerts.empty:
        return []
    lang = study.language
    named = _join(
        [
            text(
                "summary.alert_item",
                lang,
                moved=_moved(str(r.label), float(r.change), str(r.unit), float(r.p_adjusted), lang),
                n=int(r.n) if pd.notna(r.n) else 0,
            )
            for r in alerts.itertuples()
        ],
        lang,
    )
    last = alerts.iloc[0]
    return [
        (
            "alerts",
            "finding",
            "30-trend",
            text(
                "summary.alert" if len(alerts) == 1 else "summary.alerts",
                lang,
                a=study.wave_label(str(last["wave_from"])),
                b=study.wave_label(str(last["wave_to"])),
                named=named,
            ),
        )
    ]
