"""The drivers page for any study: what it can analyse, at which level, and the takeaways.

``notebooks/50-drivers.ipynb`` calls these helpers so that it works on every study shape
(see :data:`analysis_helpers.demo.SHAPES`):

* :func:`driver_setup` reads the study: the outcome (the overall-satisfaction item, else
  the first loyalty item, else the likelihood-to-recommend item), the loyalty outcome
  compared with it, the segment, and the drivers - the area scores when the study has at
  least two areas, otherwise its satisfaction items as a flat list; it also checks and
  keeps the page's choices (performance measure, crosshair, penalty-reward share, base
  rule, bootstrap replicates, seed), which the section helpers read from it;
* :func:`driver_data` gives one frame with the drivers, outcomes, items, segment, wave and
  weight of the respondents analysed;
* :func:`usable_base` counts the respondents a model can use and the number it needs
  (``min_per_driver`` per driver), so a page says "only 135 respondents ... need 200" in
  one sentence instead of failing;
* :func:`penalty_reward_plan`, :func:`area_performance`, :func:`index_weight_table` build
  the inputs of the IPA, penalty-reward and index-weight sections at the level the base
  supports;
* one call per section: :func:`driver_base`, :func:`outcome_importance` (satisfaction
  and loyalty), :func:`permutation_table`, :func:`loyalty_problem` / :func:`loyalty_table`,
  :func:`group_drivers` (segments and waves), :func:`derived_hierarchy`; the ``*_display``
  functions give the ``ctx.show`` arguments of each table (columns, kinds, caption), so
  that a section reads ``ctx.show(table, **importance_display(table, setup=plan))``;
* the ``*_takeaway`` functions write each section's sentences from its computed table
  (safe Markdown, :func:`analysis_helpers.safe_output.md`): no number is typed, nothing is
  said that the data do not show ("from 16.1% to 16.1%" cannot appear).

The estimators themselves live in :mod:`analysis_helpers.drivers`; nothing here changes
their numbers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ._checks import check_choice
from ._design import SurveyDesign
from .drivers import (
    DriverError,
    driver_importance,
    importance_performance,
    importance_to_index_weights,
    penalty_reward,
    permutation_importance_check,
    scale_cutoffs,
    segment_importance,
    with_index_weights,
)
from .estimation import survey_mean
from .formatting import confidence_label, fmt_ci
from .safe_output import Md, md
from .study import Study
from .study_tables import area_scores, item_performance, study_design
from .text import count, join, template, text, words

__all__ = [
    "DriverSetup",
    "driver_setup",
    "driver_data",
    "UsableBase",
    "usable_base",
    "small_base_sentence",
    "ranked_importance",
    "item_scales",
    "PenaltyRewardPlan",
    "penalty_reward_plan",
    "run_penalty_reward",
    "IpaInputs",
    "ipa_inputs",
    "ipa_table",
    "ipa_fallback_sentence",
    "importance_by",
    "skipped_sentence",
    "SKIPPED",
    "area_performance",
    "index_weight_table",
    "intro_takeaway",
    "importance_takeaway",
    "permutation_takeaway",
    "ipa_takeaway",
    "penalty_reward_takeaway",
    "loyalty_takeaway",
    "group_takeaway",
    "index_weight_takeaway",
    "driver_base",
    "outcome_importance",
    "importance_display",
    "permutation_table",
    "permutation_display",
    "action_display",
    "factor_display",
    "loyalty_problem",
    "loyalty_table",
    "GroupDrivers",
    "group_drivers",
    "derived_hierarchy",
    "index_weight_display",
    "skipped_note",
]

_CORRECTIONS = {
    "holm": "Holm",
    "fdr_bh": "Benjamini-Hochberg",
    "bonferroni": "Bonferroni",
    "none": "no",
}

#: the count keys of the drivers' nouns (the text tables)
_NOUNS = {"item": "count.item", "area": "count.area"}
#: the nouns themselves
_NOUN_WORDS = {"item": "drivers.noun_item", "area": "drivers.noun_area"}
#: the factor classes of penalty-reward as the table shows them
_FACTORS = {
    "basic": "drivers.factor_basic",
    "performance": "drivers.factor_performance",
    "excitement": "drivers.factor_excitement",
}


def _lang(study: Study | str) -> str:
    return study if isinstance(study, str) else study.language


def _t(study: Study | str, key: str, /, **values: Any) -> Md:
    """Return the sentence of ``key`` in the study's language (see :mod:`.text`)."""
    return text(key, _lang(study), **values)


def _ci(study: Study | str, low: Any, high: Any, *, kind: str) -> str:
    """Return :func:`fmt_ci` in the study's language ("-8.5 to -0.4" / "-8.5 至 -0.4")."""
    return fmt_ci(low, high, kind=kind, language=_lang(study))


def _n(study: Study | str, n: int, key: str) -> str:
    """Return a count with its noun in the study's language: "3 areas", "3 个领域"."""
    return count(n, key, _lang(study))


def _level_title(level: str, language: str) -> str:
    """Return the header of a driver column of ``level``: "Item" / "Area" (or the level)."""
    keys = {"item": "col.item", "area": "col.area"}
    return template(keys[level], language) if level in keys else level.capitalize()


# --------------------------------------------------------------------------------------
# what the study allows
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DriverSetup:
    """What the drivers page analyses for one study.

    Attributes
    ----------
    outcome : str or None
        The outcome item; None when the study has none (then ``reason`` says why).
    outcome_role : str
        ``"overall"``, ``"loyalty"``, ``"nps"`` or ``"given"`` (a parameter named it).
    loyalty : str or None
        The loyalty outcome compared with overall satisfaction (only when ``outcome`` is
        the overall-satisfaction item and the study has a loyalty or recommend item).
    segment : str or None
        The segment column whose drivers are compared; None when the study has none.
    wave : str
        The wave analysed; ``""`` for all waves pooled.
    level : {"area", "item"}
        The drivers are area scores (0-100) or the items themselves (a flat list).
    drivers : list of str
        The driver columns (area names or item names).
    items : list of str
        The satisfaction items (for importance-performance and penalty-reward).
    reason : str or None
        Why the page cannot find drivers at all (no outcome, fewer than two drivers).
    performance : {"mean", "top2"}
        The item performance of the importance-performance map.
    crosshair : {"mean", "midpoint"}
        Where the map's crosshair sits.
    pr_share : float
        Bottom / top share of each scale counted low / high in penalty-reward.
    min_per_driver : float
        Respondents a model needs per driver.
    n_boot : int
        Bootstrap replicates of the importance intervals (0: none).
    random_state : int or None
        Seed of the bootstrap and of the permutation check.
    language : str
        The report's language (``reporting.language``): the words of the page's sentences.
    """

    outcome: str | None
    outcome_role: str
    loyalty: str | None
    segment: str | None
    wave: str
    level: str
    drivers: list[str] = field(default_factory=list)
    items: list[str] = field(default_factory=list)
    reason: Md | None = None
    performance: str = "mean"
    crosshair: str = "mean"
    pr_share: float = 0.25
    min_per_driver: float = 10
    n_boot: int = 0
    random_state: int | None = None
    language: str = "en"

    @property
    def methods(self) -> tuple[str, ...]:
        """The importance measures: LMG (Shapley) only up to 12 drivers, relative weights always.

        Up to 12 drivers LMG's exact ``2^p`` decomposition and its bootstrap stay fast; relative
        weights track it.
        """
        base = ("correlation", "beta", "relative_weight")
        return (*base, "lmg") if len(self.drivers) <= 12 else base

    @property
    def driver_title(self) -> str:
        """The header of the driver column: "Area" or "Item" (in the setup's language)."""
        return template("col.area" if self.level == "area" else "col.item", self.language)

    @property
    def driver_noun(self) -> str:
        """The driver in words: "area" or "item"."""
        return "area" if self.level == "area" else "item"


def _first_outcome(study: Study) -> tuple[str | None, str]:
    k = study.kpis
    if k.overall:
        return k.overall, "overall"
    if k.loyalty:
        return k.loyalty[0], "loyalty"
    if k.nps:
        return k.nps, "nps"
    return None, "none"


def driver_setup(
    study: Study,
    *,
    outcome: str = "",
    loyalty_outcome: str = "",
    segment: str = "",
    wave: str = "",
    performance: str = "mean",
    crosshair: str = "mean",
    pr_share: float = 0.25,
    min_per_driver: float = 10,
    n_boot: int = 0,
    random_state: int | None = None,
) -> DriverSetup:
    """Return what the drivers page can analyse for ``study``; empty parameters read the study.

    Parameters
    ----------
    study : Study
    outcome : str
        The outcome item; ``""``: the overall-satisfaction item (``kpis.overall``), else the
        first loyalty item, else the likelihood-to-recommend item (``kpis.nps``).
    loyalty_outcome : str
        The loyalty outcome set against overall satisfaction; ``""``: the first loyalty
        item, else the recommend item. Only used when the outcome is overall satisfaction.
    segment : str
        The segment column; ``""``: the study's first segment (None if it has none).
    wave : str
        A wave code to analyse alone; ``""``: all waves pooled.
    performance, crosshair, pr_share, min_per_driver, n_boot, random_state
        The page's choices, kept in the setup (see :class:`DriverSetup`) so that the
        section helpers read them from one place.

    Returns
    -------
    DriverSetup

    Raises
    ------
    ValueError
        A parameter names an item, segment or wave the study does not have, or
        ``performance`` / ``crosshair`` is not one of its options, or ``pr_share`` is not
        in (0, 0.5].

    Examples
    --------
    A study with areas and every KPI gets area drivers of overall satisfaction, the first
    loyalty item and the first segment; without areas the items are the drivers.
    """
    if wave and wave not in study.waves:
        raise ValueError(
            f"driver_setup: wave {wave!r} is not one of the study's waves {study.waves}"
        )
    if segment and segment not in study.segment_columns():
        raise ValueError(
            f"driver_setup: segment {segment!r} is not one of the study's segments "
            f"{study.segment_columns()}"
        )
    for name, role in ((outcome, "outcome"), (loyalty_outcome, "loyalty_outcome")):
        if name and name not in study.items:
            raise ValueError(f"driver_setup: {role} {name!r} is not an item of the study")
    check_choice(performance, ("mean", "top2"), "performance", "driver_setup")
    check_choice(crosshair, ("mean", "midpoint"), "crosshair", "driver_setup")
    if not 0 < pr_share <= 0.5:
        raise ValueError(f"driver_setup: pr_share={pr_share!r}; give a share in (0, 0.5]")
    target, target_role = (outcome, "given") if outcome else _first_outcome(study)
    loyalty = None
    if target is not None and (target == study.kpis.overall):
        candidates = [loyalty_outcome] if loyalty_outcome else [*study.kpis.loyalty]
        if not loyalty_outcome and study.kpis.nps:
            candidates.append(study.kpis.nps)
        loyalty = next((c for c in candidates if c and c != target), None)
    seg = segment or (study.segment_columns()[0] if study.has_segments else None)
    items = [i for i in study.item_names("satisfaction") if i != target and i != loyalty]
    areas = [a.name for a in study.spec.areas if study.item_names("satisfaction", area=a.name)]
    level, drivers = ("area", areas) if len(areas) >= 2 else ("item", items)
    reason = None
    if target is None:
        reason = _t(study, "drivers.no_outcome")
    elif len(drivers) < 2:
        reason = _t(
            study,
            "drivers.too_few",
            n=_n(study, len(drivers), "count.satisfaction_item"),
        )
    return DriverSetup(
        outcome=target,
        outcome_role=target_role,
        loyalty=loyalty,
        segment=seg,
        wave=wave,
        level=level,
        drivers=drivers,
        items=items,
        reason=reason,
        performance=performance,
        crosshair=crosshair,
        pr_share=pr_share,
        min_per_driver=min_per_driver,
        n_boot=n_boot,
        random_state=random_state,
        language=study.language,
    )


def driver_data(
    data: pd.DataFrame, *, study: Study, setup: DriverSetup, all_waves: bool = False
) -> pd.DataFrame:
    """Return the respondents analysed, with every column the page uses.

    Parameters
    ----------
    data : DataFrame
        The clean analysis data (:func:`analysis_helpers.cleaning.load_clean`).
    study : Study
    setup : DriverSetup
    all_waves : bool
        Keep every wave even when ``setup.wave`` names one (for the wave comparison).

    Returns
    -------
    DataFrame
        Same index as ``data`` (only the wave ``setup.wave`` when one is given): the area
        scores (0-100, :func:`study_tables.area_scores`) when ``setup.level == "area"``,
        then the outcome, loyalty, item, segment, wave and design columns.
    """
    keep = [
        setup.outcome,
        setup.loyalty,
        *setup.items,
        setup.segment,
        study.wave_column,
        *study.design_columns().values(),
    ]
    keep = [c for c in dict.fromkeys(keep) if c and c in data.columns]
    out = data[keep]
    if setup.level == "area":
        out = area_scores(data, study=study).join(out)
    if setup.wave and not all_waves:
        out = out[out[study.wave_column].astype(str) == setup.wave]
    return out


# --------------------------------------------------------------------------------------
# bases
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class UsableBase:
    """Respondents a model can use, and how many it needs.

    Attributes
    ----------
    n : int
        Respondents with the outcome and every driver (listwise) or, pairwise, the
        smallest number answering any pair of them.
    needed : int
        ``max(ceil(min_per_driver * p), p + 2)`` for ``p`` drivers (the rule of
        :func:`analysis_helpers.drivers.driver_importance`).
    drivers : int
        Number of drivers ``p``.
    min_per_driver : float
    """

    n: int
    needed: int
    drivers: int
    min_per_driver: float

    @property
    def ok(self) -> bool:
        """Whether the base reaches what the model needs (``n >= needed``)."""
        return self.n >= self.needed


def usable_base(
    data: pd.DataFrame,
    *,
    outcome: str,
    drivers: Sequence[str],
    missing: str = "listwise",
    min_per_driver: float = 10,
) -> UsableBase:
    """Count the respondents a driver model of ``outcome`` on ``drivers`` can use.

    Parameters
    ----------
    data : DataFrame
    outcome : str
    drivers : sequence of str
    missing : {"listwise", "pairwise"}
        As in :func:`analysis_helpers.drivers.driver_importance`.
    min_per_driver : float
        Respondents needed per driver (default 10, the rule of ``driver_importance``).

    Returns
    -------
    UsableBase

    Examples
    --------
    >>> t = pd.DataFrame({"y": [1, 2, 3, 4], "a": [1, None, 3, 4], "b": [2, 1, None, 3]})
    >>> b = usable_base(t, outcome="y", drivers=["a", "b"], min_per_driver=1)
    >>> (b.n, b.needed, b.ok)
    (2, 4, False)
    """
    if missing not in {"listwise", "pairwise"}:
        raise ValueError(f"usable_base: missing={missing!r}: use 'listwise' or 'pairwise'")
    cols = [outcome, *drivers]
    answered = data[cols].notna().to_numpy()
    if missing == "listwise":
        n = int(answered.all(axis=1).sum())
    else:
        m = answered.astype(int)
        n = int((m.T @ m).min())
    p = len(drivers)
    return UsableBase(
        n=n, needed=_needed(p, min_per_driver), drivers=p, min_per_driver=min_per_driver
    )


def _needed(p: int, min_per_driver: float) -> int:
    """Respondents a model of ``p`` drivers needs (the rule of ``driver_importance``)."""
    return int(max(np.ceil(min_per_driver * p), p + 2))


def small_base_sentence(base: UsableBase, *, study: Study, outcome: str, what: str) -> Md:
    """Say in one sentence why a model is not estimated on this base.

    Parameters
    ----------
    base : UsableBase
    study : Study
    outcome : str
        The outcome item (its label is shown).
    what : str
        The drivers in words, e.g. "items" or "areas".

    Returns
    -------
    Md
        E.g. "Only 135 respondents answered Overall satisfaction and all 20 items; 20
        drivers need at least 200 (10 per driver), so this analysis is left out."
    """
    return _t(
        study,
        "drivers.small_base",
        n=_n(study, base.n, "count.respondent"),
        outcome=study.label(outcome),
        p=_n(study, base.drivers, _NOUNS.get(what.rstrip("s"), "count.item")),
        drivers=_n(study, base.drivers, "count.driver"),
        needed=base.needed,
        per=f"{base.min_per_driver:g}",
    )


# --------------------------------------------------------------------------------------
# tables
# --------------------------------------------------------------------------------------
def ranked_importance(
    table: pd.DataFrame, *, study: Study, measure: str = "relative_weight"
) -> pd.DataFrame:
    """Return a :func:`driver_importance` table with labels, sorted by ``measure``, ranked.

    Returns
    -------
    DataFrame
        The input's columns plus ``label`` (the driver's study label) and ``rank`` (1 =
        most important), sorted by ``measure``, largest first.
    """
    out = table.assign(label=table["driver"].map(study.label)).sort_values(
        measure, ascending=False, ignore_index=True
    )
    out["rank"] = np.arange(1, len(out) + 1)
    return out


def item_scales(study: Study, items: Sequence[str]) -> pd.DataFrame:
    """Return ``item``, ``scale_min``, ``scale_max`` of ``items`` (any item, in an area or not)."""
    known = study.items
    return pd.DataFrame(
        {
            "item": list(items),
            "scale_min": [known[i].scale.min for i in items],
            "scale_max": [known[i].scale.max for i in items],
        }
    )


@dataclass(frozen=True)
class PenaltyRewardPlan:
    """The drivers of a penalty-reward analysis and their cut-offs.

    Attributes
    ----------
    level : {"item", "area", "none"}
    drivers : list of str
        The drivers kept.
    cuts : DataFrame
        :func:`scale_cutoffs` of the drivers, indexed by ``item``.
    dropped : list of str
        Drivers left out because nobody rated them low (or high).
    base : UsableBase
        The base of the item-level model (the reason for falling back to areas).
    language : str
        The report's language.
    """

    level: str
    drivers: list[str]
    cuts: pd.DataFrame
    dropped: list[str]
    base: UsableBase
    language: str = "en"


def penalty_reward_plan(
    data: pd.DataFrame,
    *,
    study: Study,
    setup: DriverSetup,
    share: float | None = None,
    min_per_driver: float | None = None,
) -> PenaltyRewardPlan:
    """Choose the level of the penalty-reward analysis the base supports.

    Items when at least ``min_per_driver`` respondents per item rated the outcome and
    every item; otherwise the area scores (0-100; low = bottom ``share`` of the range,
    high = top) when the page works on areas; otherwise ``"none"``. Drivers nobody rates
    low, or nobody rates high, are dropped (they cannot show a penalty or a reward).
    ``share`` and ``min_per_driver`` default to the setup's (``pr_share``,
    ``min_per_driver``).

    Returns
    -------
    PenaltyRewardPlan
    """
    share = setup.pr_share if share is None else share
    min_per_driver = setup.min_per_driver if min_per_driver is None else min_per_driver
    outcome = _outcome(setup, "penalty_reward_plan")
    lang = study.language
    base = usable_base(data, outcome=outcome, drivers=setup.items, min_per_driver=min_per_driver)
    if base.ok:
        level, drivers = "item", list(setup.items)
        scales = item_scales(study, drivers)
    elif setup.level == "area":
        area_base = usable_base(
            data, outcome=outcome, drivers=setup.drivers, min_per_driver=min_per_driver
        )
        if not area_base.ok:
            return PenaltyRewardPlan("none", [], pd.DataFrame(), [], base, lang)
        level, drivers = "area", list(setup.drivers)
        scales = pd.DataFrame({"item": drivers, "scale_min": 0.0, "scale_max": 100.0})
    else:
        return PenaltyRewardPlan("none", [], pd.DataFrame(), [], base, lang)
    cuts = scale_cutoffs(scales, share=share).set_index("item")
    complete = data[[outcome, *drivers]].dropna()
    dropped = [
        d
        for d in drivers
        if not (complete[d] <= cuts.loc[d, "low_max"]).any()
        or not (complete[d] >= cuts.loc[d, "high_min"]).any()
        or (complete[d] <= cuts.loc[d, "low_max"]).all()
    ]
    kept = [d for d in drivers if d not in dropped]
    if len(kept) < 2:
        return PenaltyRewardPlan("none", kept, cuts.loc[kept], dropped, base, lang)
    return PenaltyRewardPlan(level, kept, cuts.loc[kept], dropped, base, lang)


def area_performance(
    data: pd.DataFrame,
    *,
    study: Study,
    areas: Sequence[str],
    confidence: float | None = None,
) -> pd.DataFrame:
    """Return the mean score (0-100) of each area, for an area-level importance-performance map.

    Returns
    -------
    DataFrame
        One row per area: ``item`` (the area), ``label``, ``n``, ``estimate`` (0-100),
        ``se``, ``ci_low``, ``ci_high``.
    """
    level = study.reporting.confidence if confidence is None else confidence
    t = survey_mean(data, items=list(areas), design=study_design(study), confidence=level)
    t = t.assign(label=t["item"].map(study.label))
    return t[["item", "label", "n", "estimate", "se", "ci_low", "ci_high"]]


def index_weight_table(
    importance: pd.DataFrame,
    data: pd.DataFrame,
    *,
    study: Study,
    weights: pd.Series | None = None,
    confidence: float | None = None,
) -> pd.DataFrame:
    """Return the equal, stated and derived area weights side by side, with the area scores.

    Parameters
    ----------
    importance : DataFrame
        The area-level :func:`driver_importance` table (with bootstrap intervals).
    data : DataFrame
        The area scores (see :func:`driver_data`).
    study : Study
    weights : Series, optional
        The derived weights, indexed by area; default the relative weights of
        ``importance`` rescaled to sum to 1 (:func:`importance_to_index_weights`).

    Returns
    -------
    DataFrame
        One row per area, largest derived weight first: ``area``, ``label``,
        ``weight_stated`` (share; NaN where the study states none), ``weight_equal``,
        ``weight_derived``, ``weight_ci_low``, ``weight_ci_high`` (the relative weight's
        bootstrap interval as a share), ``area_score`` (mean, 0-100).
    """
    if weights is None:
        weights = importance_to_index_weights(importance, measure="relative_weight")
    areas = list(weights.index)
    perf = area_performance(data, study=study, areas=areas, confidence=confidence)
    stated = {a.name: a.weight for a in study.spec.areas}
    stated_w = pd.Series([stated.get(a) for a in areas], index=areas, dtype=float)
    if stated_w.notna().any():
        stated_w = stated_w / stated_w.sum()
    imp = importance.set_index("driver")
    ci_low = imp.reindex(areas).get("relative_weight_pct_ci_low")
    ci_high = imp.reindex(areas).get("relative_weight_pct_ci_high")
    nan = pd.Series(np.nan, index=areas)
    return pd.DataFrame(
        {
            "area": areas,
            "label": [study.label(a) for a in areas],
            "weight_stated": stated_w.to_numpy(),
            "weight_equal": 1 / len(areas),
            "weight_derived": weights.to_numpy(dtype=float),
            "weight_ci_low": (ci_low if ci_low is not None else nan).to_numpy(float) / 100,
            "weight_ci_high": (ci_high if ci_high is not None else nan).to_numpy(float) / 100,
            "area_score": perf.set_index("item").loc[areas, "estimate"].to_numpy(float),
        }
    ).sort_values("weight_derived", ascending=False, ignore_index=True)


def run_penalty_reward(
    data: pd.DataFrame,
    plan: PenaltyRewardPlan,
    *,
    study: Study,
    outcome: str,
    design: SurveyDesign | None,
) -> tuple[pd.DataFrame | None, Md | None]:
    """Run the penalty-reward analysis at the plan's level, or return the sentence why not.

    Returns
    -------
    (DataFrame or None, Md or None)
        The :func:`penalty_reward` table (rule "difference", the study's correction and
        confidence) with ``label`` and ``factor_label`` ("Basic", "Performance",
        "Excitement") added; or None and one sentence: the base is too small, or the data
        cannot support the model (the reason in words).
    """
    if plan.level == "none":
        if plan.dropped and plan.base.ok:
            return None, _t(
                study,
                "drivers.pr_too_few",
                names=join([study.label(d) for d in plan.dropped], study.language),
            )
        return None, small_base_sentence(plan.base, study=study, outcome=outcome, what="items")
    try:
        table = penalty_reward(
            data,
            outcome=outcome,
            drivers=plan.drivers,
            low_max=plan.cuts["low_max"],
            high_min=plan.cuts["high_min"],
            design=design,
            confidence=study.reporting.confidence,
            rule="difference",
            correction=study.reporting.correction,
        )
    except DriverError as err:
        reason = str(err).removeprefix("penalty_reward: ")
        return None, _t(study, "drivers.pr_failed", r=reason)
    return (
        table.assign(
            label=table["driver"].map(study.label),
            factor_label=table["factor_class"].map(
                lambda c: (
                    template(_FACTORS[c], study.language) if c in _FACTORS else str(c).capitalize()
                )
            ),
        ),
        None,
    )


@dataclass(frozen=True)
class IpaInputs:
    """Importance and performance for the importance-performance map, at one level.

    Attributes
    ----------
    level : {"item", "area"}
    importance : DataFrame
        A :func:`driver_importance` table (``driver``, ``relative_weight_pct``, ...).
    performance : DataFrame
        ``item``, ``label``, ``n``, ``estimate`` (0-100), ``se``, ...
    unit : str
        The performance axis in words, e.g. "mean, 0-100".
    base : UsableBase
        The item-level base (why the map falls back to areas).
    measure : {"mean", "top2"}
        What ``performance`` holds: a mean on 0-100 (always for areas) or a top-2-box %.
    crosshair : {"mean", "midpoint"}
        Where the map's crosshair sits.
    language : str
        The report's language.
    """

    level: str
    importance: pd.DataFrame
    performance: pd.DataFrame
    unit: str
    base: UsableBase
    measure: str = "mean"
    crosshair: str = "mean"
    language: str = "en"


def ipa_inputs(
    data: pd.DataFrame,
    *,
    study: Study,
    setup: DriverSetup,
    importance: pd.DataFrame,
    performance: str | None = None,
    min_per_driver: float | None = None,
) -> IpaInputs | None:
    """Return the importance and performance of the items, or of the areas on a small base.

    Items are mapped when the page's drivers are the items (their importance is
    ``importance``), or when at least ``min_per_driver`` respondents per item answered each
    pair of the outcome and the items (pairwise relative weights of all items). Otherwise
    the areas are mapped: the area importance ``importance`` against the mean area score.

    Parameters
    ----------
    data : DataFrame
        :func:`driver_data` output.
    importance : DataFrame
        The page's :func:`driver_importance` table.
    performance : {"mean", "top2"}, optional
        Item performance (areas always use their mean score, 0-100); default the
        setup's.
    min_per_driver : float, optional
        Default the setup's.

    Returns
    -------
    IpaInputs or None
        None when neither level has the base.
    """
    performance = setup.performance if performance is None else performance
    min_per_driver = setup.min_per_driver if min_per_driver is None else min_per_driver
    base = usable_base(
        data, outcome=_outcome(setup, "ipa_inputs"), drivers=setup.items, missing="pairwise",
        min_per_driver=min_per_driver,
    )  # fmt: skip
    lang = study.language
    unit = template("drivers.unit_mean" if performance == "mean" else "drivers.unit_top2", lang)
    confidence = study.reporting.confidence
    if setup.level == "item" or base.ok:
        imp = importance
        if setup.level == "area":
            imp = driver_importance(
                data,
                outcome=_outcome(setup, "ipa_inputs"),
                drivers=setup.items,
                design=study_design(study),
                missing="pairwise",
                methods=("correlation", "relative_weight"),
                min_per_driver=min_per_driver,
            )
        perf = item_performance(
            data, study=study, items=list(imp["driver"]), measure=performance, confidence=confidence
        )
        return IpaInputs("item", imp, perf, unit, base, performance, setup.crosshair, lang)
    perf = area_performance(data, study=study, areas=setup.drivers, confidence=confidence)
    area_unit = template("drivers.unit_area", lang)
    return IpaInputs("area", importance, perf, area_unit, base, "mean", setup.crosshair, lang)


def ipa_table(inputs: IpaInputs, *, study: Study, crosshair: str | None = None) -> pd.DataFrame:
    """Return the importance-performance table of :func:`ipa_inputs`, labelled.

    ``crosshair`` defaults to the inputs' (the setup's).

    Returns
    -------
    DataFrame
        :func:`importance_performance` output (relative weight in % of R² against
        performance 0-100; a midpoint crosshair at 50) with ``label``, ``n`` and
        ``area_label`` (the item's area; missing for areas and for items without one).
    """
    table = importance_performance(
        inputs.importance,
        inputs.performance,
        crosshair=inputs.crosshair if crosshair is None else crosshair,
        scale_midpoint=50,
        measure="relative_weight_pct",
    ).merge(inputs.performance[["item", "label", "n"]], on="item")
    known = study.items
    areas = [known[i].area if i in known else None for i in table["item"]]
    return table.assign(area_label=[study.label(a) if a else None for a in areas])


def ipa_fallback_sentence(inputs: IpaInputs, *, n_areas: int) -> Md:
    """Say why the map shows areas: the item base in one sentence."""
    lang = inputs.language
    return _t(
        lang,
        "drivers.ipa_fallback",
        items=_n(lang, inputs.base.drivers, "count.item"),
        n=_n(lang, inputs.base.n, "count.respondent"),
        need=inputs.base.needed,
        areas=_n(lang, n_areas, "count.area"),
    )


def importance_by(
    data: pd.DataFrame,
    *,
    study: Study,
    setup: DriverSetup,
    by: str,
    n_boot: int = 0,
    random_state: int | None = None,
    min_per_driver: float = 10,
) -> pd.DataFrame:
    """Compute the relative weights of the page's drivers in each group of ``by`` with the base.

    Returns
    -------
    DataFrame
        :func:`segment_importance` output (groups too small are left out; ``attrs["notes"]``
        says why) with ``label``; empty when no group has the base.
    """
    try:
        table = segment_importance(
            data,
            outcome=_outcome(setup, "importance_by"),
            drivers=setup.drivers,
            by=by,
            design=study_design(study),
            methods=("correlation", "relative_weight"),
            n_boot=n_boot,
            confidence=study.reporting.confidence,
            random_state=random_state,
            min_per_driver=min_per_driver,
            errors="skip",
        )
    except DriverError:
        return pd.DataFrame(columns=[by, "driver", "label", "relative_weight_pct"])
    return table.assign(label=table["driver"].map(study.label))


def skipped_sentence(setup: DriverSetup, base: UsableBase | None, *, study: Study) -> Md:
    """Return the sentence the page shows on top when it has no driver model at all.

    That is when it has no outcome, fewer than two drivers, or too small a base (sections
    then show :data:`SKIPPED`, in the first section only: said once).
    """
    if setup.reason is not None:
        return setup.reason
    if base is None:
        raise ValueError("skipped_sentence: give the base of a setup that has drivers")
    return small_base_sentence(
        base, study=study, outcome=_outcome(setup, "skipped_sentence"), what=setup.driver_noun
    )


#: what each section shows when the page has no driver model (the reason is on top)
SKIPPED = md("Left out: this study supports no driver model (see the top of the page).")


def skipped_note(language: str = "en") -> Md:
    """Return :data:`SKIPPED` in ``language``: what a section says when there is no model."""
    return _t(language, "drivers.skipped")


# --------------------------------------------------------------------------------------
# one call per section of the page
# --------------------------------------------------------------------------------------
def driver_base(data: pd.DataFrame, *, setup: DriverSetup) -> UsableBase | None:
    """Return the base of the page's driver model, or None when it has no model at all.

    Parameters
    ----------
    data : DataFrame
        :func:`driver_data` output.
    setup : DriverSetup

    Returns
    -------
    UsableBase or None
        :func:`usable_base` of ``setup.outcome`` on ``setup.drivers`` (listwise, with
        ``setup.min_per_driver``); None when ``setup.reason`` says why there is no model
        (no outcome, fewer than two drivers).

    Examples
    --------
    >>> s = DriverSetup("y", "given", None, None, "", "item", ["a", "b"], ["a", "b"],
    ...                 min_per_driver=1)
    >>> t = pd.DataFrame({"y": [1, 2, 3, 4], "a": [1, None, 3, 4], "b": [2, 1, 5, 3]})
    >>> b = driver_base(t, setup=s)
    >>> (b.n, b.needed, b.ok)
    (3, 4, False)
    """
    if setup.reason is not None or setup.outcome is None:
        return None
    return usable_base(
        data, outcome=setup.outcome, drivers=setup.drivers, min_per_driver=setup.min_per_driver
    )


def _outcome(setup: DriverSetup, func: str) -> str:
    """Return the setup's outcome; ``ValueError`` naming ``func`` for a setup without one."""
    if setup.outcome is None:
        raise ValueError(f"{func}: the setup has no outcome ({setup.reason})")
    return setup.outcome


def outcome_importance(
    data: pd.DataFrame, *, study: Study, setup: DriverSetup, outcome: str | None = None
) -> pd.DataFrame:
    """Return the derived importance of the page's drivers for one outcome, ranked.

    :func:`~analysis_helpers.drivers.driver_importance` with the setup's measures
    (:attr:`DriverSetup.methods`), bootstrap replicates, seed and base rule and the
    study's design and confidence level, then :func:`ranked_importance`.

    Parameters
    ----------
    data : DataFrame
        :func:`driver_data` output.
    study : Study
    setup : DriverSetup
    outcome : str, optional
        Default ``setup.outcome``; the loyalty section gives ``setup.loyalty``.

    Returns
    -------
    DataFrame
        One row per driver, most important first: the ``driver_importance`` columns
        (``driver``, ``n``, ``r2``, ``correlation``, ``beta``, ``relative_weight``,
        ``relative_weight_pct``, ``lmg`` / ``lmg_pct`` up to 12 drivers, and the
        bootstrap bounds ``*_ci_low`` / ``*_ci_high`` when ``setup.n_boot`` > 0), then
        ``label`` and ``rank`` (1 = largest relative weight).
    """
    table = driver_importance(
        data,
        outcome=_outcome(setup, "outcome_importance") if outcome is None else outcome,
        drivers=setup.drivers,
        design=study_design(study),
        methods=setup.methods,
        n_boot=setup.n_boot,
        confidence=study.reporting.confidence,
        random_state=setup.random_state,
        min_per_driver=setup.min_per_driver,
    )
    return ranked_importance(table, study=study)


def importance_display(table: pd.DataFrame, *, setup: DriverSetup) -> dict[str, Any]:
    """Return the ``ctx.show`` arguments of the importance table: its columns and caption.

    Parameters
    ----------
    table : DataFrame
        :func:`outcome_importance` output.
    setup : DriverSetup

    Returns
    -------
    dict
        ``columns`` (rank, driver label, correlation, beta, relative weight in % of R²
        with its interval, and LMG when the table has it) and ``caption``; use as
        ``ctx.show(table, **importance_display(table, setup=setup))``.
    """
    columns: dict[str, str | None] = {
        "rank": None,
        "label": setup.driver_title,
        "correlation": None,
        "beta": None,
        "relative_weight_pct": template("col.relative_weight", setup.language),
        "relative_weight_pct_ci": None,
    }
    if "lmg_pct" in table.columns:
        columns["lmg_pct"] = template("col.lmg", setup.language)
    key = "drivers.cap_importance_areas" if setup.level == "area" else "drivers.cap_importance"
    caption = template(key, setup.language)
    return {"columns": columns, "caption": caption}


def permutation_table(
    data: pd.DataFrame,
    *,
    study: Study,
    setup: DriverSetup,
    importance: pd.DataFrame,
    n_repeats: int = 5,
    max_rows: int = 4000,
) -> pd.DataFrame:
    """Return the tree model's permutation importance beside the linear ranking.

    :func:`~analysis_helpers.drivers.permutation_importance_check` of the page's drivers
    (the setup's seed, the study's design weight).

    Parameters
    ----------
    data : DataFrame
        :func:`driver_data` output.
    study : Study
    setup : DriverSetup
    importance : DataFrame
        :func:`outcome_importance` output (its ``rank`` is the linear rank).
    n_repeats, max_rows : int
        As in ``permutation_importance_check``.

    Returns
    -------
    DataFrame
        The ``permutation_importance_check`` columns (``driver``, ``importance``,
        ``importance_sd``, ``importance_pct``, ``rank``, ``r2_test``, ``n``, ``n_test``,
        ``model``) plus ``label`` and ``linear_rank``, by tree rank.
    """
    perm = permutation_importance_check(
        data,
        outcome=_outcome(setup, "permutation_table"),
        drivers=setup.drivers,
        design=study_design(study),
        random_state=setup.random_state,
        n_repeats=n_repeats,
        max_rows=max_rows,
    )
    return perm.assign(
        label=perm["driver"].map(study.label),
        linear_rank=perm["driver"].map(importance.set_index("driver")["rank"]),
    ).sort_values("rank", ignore_index=True)


def permutation_display(setup: DriverSetup) -> dict[str, Any]:
    """Return the ``ctx.show`` arguments of :func:`permutation_table`: columns, kinds, caption.

    Examples
    --------
    >>> s = DriverSetup("y", "given", None, None, "", "area", ["a", "b"])
    >>> permutation_display(s)["columns"]["label"]
    'Area'
    """
    lang = setup.language
    return {
        "columns": {
            "rank": template("drivers.col_tree_rank", lang),
            "linear_rank": template("col.linear_rank", lang),
            "label": setup.driver_title,
            "importance": template("drivers.col_r2_lost", lang),
            "importance_sd": template("drivers.col_sd_shuffles", lang),
            "importance_pct": template("drivers.col_share_importance", lang),
        },
        "kinds": {"importance": "number.3", "importance_sd": "number.3"},
        "caption": template("drivers.cap_permutation", lang),
    }


def action_display(actions: pd.DataFrame, inputs: IpaInputs) -> dict[str, Any]:
    """Return the ``ctx.show`` arguments of the action list: columns, kinds, caption.

    Parameters
    ----------
    actions : DataFrame
        :func:`~analysis_helpers.drivers.action_list` output of :func:`ipa_table`.
    inputs : IpaInputs
        Its level names the first column; its measure gives the performance's kind (an
        index on 0-100 for means, a percentage for top-2-box).

    Returns
    -------
    dict
        ``columns`` (the area column only when an item of the list has an area),
        ``kinds``, ``caption``.
    """
    mean = inputs.measure == "mean"
    lang = inputs.language
    columns: dict[str, str | None] = {"priority": None, "label": _level_title(inputs.level, lang)}
    if "area_label" in actions.columns and actions["area_label"].notna().any():
        columns["area_label"] = template("col.area", lang)
    columns |= {
        "importance": template("drivers.col_importance", lang),
        "performance": template("col.performance", lang),
        "importance_gap": template("drivers.col_importance_gap", lang),
        "performance_gap": template("drivers.col_performance_gap", lang),
        "n": None,
    }
    kinds = {
        "importance": "percent.1",
        "importance_gap": "number.1",
        "performance": "index" if mean else "percent",
        "performance_gap": "index" if mean else "number.1",
    }
    return {"columns": columns, "kinds": kinds, "caption": template("drivers.cap_actions", lang)}


def factor_display(plan: PenaltyRewardPlan) -> dict[str, Any]:
    """Return the ``ctx.show`` arguments of the drivers that are not performance factors.

    Examples
    --------
    >>> plan = PenaltyRewardPlan("item", [], pd.DataFrame(), [], UsableBase(0, 2, 0, 10))
    >>> factor_display(plan)["caption"]
    'Items that are not plain performance factors'
    """
    lang = plan.language
    key = "drivers.cap_factors_areas" if plan.level == "area" else "drivers.cap_factors"
    return {
        "columns": {
            "label": _level_title(plan.level, lang),
            "factor_label": template("col.factor_class", lang),
            "penalty": None,
            "penalty_ci": None,
            "reward": None,
            "reward_ci": None,
            "difference": template("drivers.col_difference", lang),
            "difference_p_adjusted": template("col.p_adjusted", lang),
            "n_low": None,
            "n_high": None,
        },
        "caption": template(key, lang),
    }


def loyalty_problem(data: pd.DataFrame, *, study: Study, setup: DriverSetup) -> Md | None:
    """Return why the loyalty drivers cannot be compared, in one sentence, or None.

    Parameters
    ----------
    data : DataFrame
        :func:`driver_data` output.
    study : Study
    setup : DriverSetup
        A setup with a driver model.

    Returns
    -------
    Md or None
        The outcome is not overall satisfaction (nothing to compare with), the study
        names no loyalty or recommend item, or too few respondents answered the loyalty
        outcome and every driver (:func:`small_base_sentence`); None when the loyalty
        model can be estimated.
    """
    if setup.loyalty is None:
        if setup.outcome_role != "overall":
            return _t(
                study,
                "drivers.loyalty_is_outcome",
                x=study.label(_outcome(setup, "loyalty_problem")),
            )
        return _t(study, "drivers.no_loyalty")
    base = usable_base(
        data, outcome=setup.loyalty, drivers=setup.drivers, min_per_driver=setup.min_per_driver
    )
    if base.ok:
        return None
    return small_base_sentence(base, study=study, outcome=setup.loyalty, what=setup.driver_noun)


def loyalty_table(
    importance: pd.DataFrame, loyalty: pd.DataFrame, *, setup: DriverSetup
) -> pd.DataFrame:
    """Return the satisfaction and the loyalty importance stacked, outcome first.

    Parameters
    ----------
    importance, loyalty : DataFrame
        :func:`outcome_importance` of ``setup.outcome`` and of ``setup.loyalty``.
    setup : DriverSetup

    Returns
    -------
    DataFrame
        ``outcome`` (the outcome item), then the columns of both tables, the outcome's
        rows first.
    """
    both = pd.concat(
        [importance.assign(outcome=setup.outcome), loyalty.assign(outcome=setup.loyalty)],
        ignore_index=True,
    )
    both.insert(0, "outcome", both.pop("outcome"))
    return both


@dataclass(frozen=True)
class GroupDrivers:
    """Relative weights of the page's drivers in each segment group or each wave.

    Attributes
    ----------
    kind : {"segment", "wave"}
    by : str
        The group column of ``table``: the segment column, or ``"wave"``.
    table : DataFrame
        :func:`importance_by` output with the group codes as text in ``by`` and their
        labels in ``value_label`` (segments) or ``wave_label`` (waves).
    groups : list of str
        The groups with their own model, in display (for waves: time) order.
    labels : mapping
        Group code -> label.
    title : str
        The chart's title.
    problem : Md or None
        Why fewer than two groups can be compared (then the section says so).
    language : str
        The report's language.
    """

    kind: str
    by: str
    table: pd.DataFrame
    groups: list[str]
    labels: Mapping[Any, str]
    title: str
    problem: Md | None = None
    language: str = "en"

    def takeaway(self) -> Md:
        """Return :func:`group_takeaway` of the table: who leads where, what differs most."""
        return group_takeaway(
            self.table,
            by=self.by,
            labels=self.labels,
            order=self.groups,
            kind=self.kind,
            language=self.language,
        )


def group_drivers(
    data: pd.DataFrame, *, study: Study, setup: DriverSetup, kind: str = "segment"
) -> GroupDrivers:
    """Return the drivers of each group of the setup's segment, or of each wave.

    Each group with the base for a model of its own (``setup.min_per_driver`` per
    driver) gets the relative weights of the page's drivers with bootstrap intervals
    (:func:`importance_by`); the waves are compared on every wave, even when the page
    analyses one.

    Parameters
    ----------
    data : DataFrame
        The clean analysis data (:func:`analysis_helpers.cleaning.load_clean`).
    study : Study
    setup : DriverSetup
        A setup with a driver model (and a segment for ``kind="segment"``).
    kind : {"segment", "wave"}

    Returns
    -------
    GroupDrivers
    """
    check_choice(kind, ("segment", "wave"), "kind", "group_drivers")
    outcome = study.label(_outcome(setup, "group_drivers"))
    lang = study.language
    need = _needed(len(setup.drivers), setup.min_per_driver)
    if kind == "segment":
        if setup.segment is None:
            raise ValueError("group_drivers: the setup has no segment (the study has none)")
        by, labels = setup.segment, dict(study.segment(setup.segment).values)
        frame = driver_data(data, study=study, setup=setup)
        table = importance_by(frame, study=study, setup=setup, by=by, n_boot=setup.n_boot,
                              random_state=setup.random_state,
                              min_per_driver=setup.min_per_driver)  # fmt: skip
        table = table.assign(**{by: table[by].astype(str)})
        table = table.assign(value_label=table[by].map(labels))
        groups = [v for v in labels if v in set(table[by])]
        title = template("drivers.title_by_segment", lang).format(
            outcome=outcome, segment=study.label(by)
        )
        problem = _t(study, "drivers.groups_too_small", m=len(labels), segment=study.label(by),
                     need=need)  # fmt: skip
    else:
        by, labels = "wave", study.wave_labels()
        frame = driver_data(data, study=study, setup=setup, all_waves=True)
        frame = frame.assign(_wave=frame[study.wave_column].astype(str))
        table = importance_by(frame, study=study, setup=setup, by="_wave", n_boot=setup.n_boot,
                              random_state=setup.random_state,
                              min_per_driver=setup.min_per_driver)  # fmt: skip
        table = table.rename(columns={"_wave": "wave"})
        table = table.assign(wave_label=table["wave"].map(labels))
        groups = [w for w in study.waves if w in set(table["wave"])]
        title = template("drivers.title_by_wave", lang).format(outcome=outcome)
        problem = _t(study, "drivers.waves_too_small", need=need)
    return GroupDrivers(
        kind, by, table, groups, labels, title, problem if len(groups) < 2 else None, lang
    )


def derived_hierarchy(importance: pd.DataFrame, *, study: Study) -> pd.DataFrame:
    """Return the study's hierarchy with area weights derived from importance.

    Parameters
    ----------
    importance : DataFrame
        The area-level :func:`outcome_importance` table.
    study : Study

    Returns
    -------
    DataFrame
        :meth:`Study.hierarchy` with ``weight_area`` the relative weights rescaled to sum
        to 1 (:func:`~analysis_helpers.drivers.importance_to_index_weights`), the form the
        CSI roll-up reads.
    """
    weights = importance_to_index_weights(importance, measure="relative_weight")
    return with_index_weights(study.hierarchy(), weights, level="area")


def index_weight_display(table: pd.DataFrame, language: str = "en") -> dict[str, Any]:
    """Return the ``ctx.show`` arguments of :func:`index_weight_table` (headers in ``language``).

    Returns
    -------
    dict
        ``columns`` (the stated weight only when the study states one), ``kinds``
        (weights as shares with one decimal, the area score as an index) and ``caption``.
    """
    columns: dict[str, str | None] = {"label": template("col.area", language)}
    if table["weight_stated"].notna().any():
        columns["weight_stated"] = template("drivers.col_weight_stated", language)
    columns |= {
        "weight_equal": template("drivers.col_weight_equal", language),
        "weight_derived": template("drivers.col_weight_derived", language),
        "weight_ci": None,
        "area_score": template("drivers.col_area_score", language),
    }
    share = "share.1"
    kinds = {"weight_stated": share, "weight_equal": share, "weight_derived": share,
             "weight_ci": share, "area_score": "index"}  # fmt: skip
    return {
        "columns": columns,
        "kinds": kinds,
        "caption": template("drivers.cap_index_weights", language),
    }


# --------------------------------------------------------------------------------------
# takeaways
# --------------------------------------------------------------------------------------
def intro_takeaway(setup: DriverSetup, data: pd.DataFrame, *, study: Study) -> Md:
    """Say what the page analyses: the outcome(s), the respondents, the wave(s), the drivers."""
    if setup.wave:
        when = _t(study, "drivers.in_wave", w=study.wave_label(setup.wave))
    elif study.is_multiwave:
        when = _t(study, "drivers.pooled", w=_n(study, study.n_waves, "count.wave"))
    else:
        when = md("")
    drivers = (
        _t(study, "drivers.area_drivers", n=_n(study, len(setup.drivers), "count.area_score"))
        if setup.level == "area"
        else _t(study, "drivers.item_drivers", n=_n(study, len(setup.drivers), "count.item"))
    )
    also = _t(study, "drivers.and_of", x=study.label(setup.loyalty)) if setup.loyalty else md("")
    role = {
        "loyalty": _t(study, "drivers.role_loyalty"),
        "nps": _t(study, "drivers.role_nps"),
    }.get(setup.outcome_role, md(""))
    weights = _t(study, "drivers.weighted" if study.is_weighted else "drivers.unweighted")
    return _t(
        study,
        "drivers.intro",
        outcome=study.label(_outcome(setup, "intro_takeaway")),
        also=also,
        role=role,
        n=_n(study, len(data), "count.respondent"),
        when=when,
        drivers=drivers,
        weights=weights,
    )


def importance_takeaway(imp: pd.DataFrame, *, study: Study, outcome: str) -> Md:
    """Say the importance ranking in words: R², the leader with its interval, ties.

    Parameters
    ----------
    imp : DataFrame
        :func:`ranked_importance` output with bootstrap intervals of
        ``relative_weight_pct``.
    """
    lang = study.language
    top = imp.iloc[0]
    has_ci = "relative_weight_pct_ci_low" in imp.columns
    ties = []
    if has_ci:
        for k in range(len(imp) - 1):
            if (
                imp["relative_weight_pct_ci_low"].iloc[k]
                <= imp["relative_weight_pct_ci_high"].iloc[k + 1]
            ):
                ties.append(words([imp["label"].iloc[k], imp["label"].iloc[k + 1]], lang))
    if not has_ci:
        tie_text = md("")
    elif len(ties) > 3:
        tie_text = _t(study, "drivers.ties_many", k=len(ties), m=len(imp) - 1)
    elif ties:
        tie_text = _t(study, "drivers.ties", ties=template("words.sep", lang).join(ties))
    else:
        tie_text = _t(study, "drivers.no_ties")
    ci = (
        _t(
            study,
            "drivers.ci",
            c=confidence_label(study),
            ci=_ci(
                study,
                top["relative_weight_pct_ci_low"],
                top["relative_weight_pct_ci_high"],
                kind="percent",
            ),
        )
        if has_ci
        else md("")
    )
    rest = (
        _t(
            study,
            "drivers.importance_rest",
            second=imp["label"].iloc[1],
            second_pct=imp["relative_weight_pct"].iloc[1],
            last=imp["label"].iloc[-1],
            last_pct=imp["relative_weight_pct"].iloc[-1],
        )
        if len(imp) > 2
        else _t(
            study,
            "drivers.importance_second",
            second=imp["label"].iloc[1],
            second_pct=imp["relative_weight_pct"].iloc[1],
        )
    )
    return _t(
        study,
        "drivers.importance",
        r2=top["r2"],
        target=study.label(outcome),
        n=int(top["n"]),
        top=top["label"],
        top_pct=top["relative_weight_pct"],
        ci=ci,
        rest=rest,
        ties=tie_text,
    )


def permutation_takeaway(perm: pd.DataFrame, imp: pd.DataFrame, language: str = "en") -> Md:
    """Say the tree model's check in words: its held-out R², its leader, rank agreement.

    Parameters
    ----------
    perm : DataFrame
        :func:`permutation_importance_check` output with ``label`` and ``linear_rank``.
    imp : DataFrame
        :func:`ranked_importance` output.
    language : str
        The sentence's language (``"en"`` or ``"zh"``).
    """
    from scipy.stats import spearmanr

    first = perm.sort_values("rank", kind="stable").iloc[0]
    r2_tree = float(perm["r2_test"].iloc[0])
    if perm["rank"].nunique() > 1 and perm["linear_rank"].nunique() > 1:
        rho = float(spearmanr(perm["rank"], perm["linear_rank"]).statistic)
    else:
        rho = float("nan")
    if not np.isfinite(rho):
        agree = _t(language, "drivers.tree_ties")
    else:
        agree = _t(
            language,
            "drivers.tree_agrees",
            rho=rho,
            verdict=_t(language, "drivers.tree_fair" if rho >= 0.8 else "drivers.tree_care"),
        )
    fit = (
        _t(language, "drivers.tree_fit", r2=r2_tree)
        if r2_tree > 0
        else _t(language, "drivers.tree_no_fit")
    )
    return _t(
        language,
        "drivers.tree",
        fit=fit,
        linear=float(imp["r2"].iloc[0]),
        first=first["label"],
        agree=agree,
    )


def ipa_takeaway(
    ipa: pd.DataFrame,
    actions: pd.DataFrame,
    *,
    crosshair: str,
    noun: str,
    language: str = "en",
) -> Md:
    """Say the quadrant counts and the first item on the action list.

    Parameters
    ----------
    ipa : DataFrame
        :func:`importance_performance` output with ``label`` (and ``area_label`` for
        items in areas).
    actions : DataFrame
        :func:`action_list` output of the same table.
    crosshair : {"mean", "midpoint"}
    noun : {"item", "area"}
    language : str
        The sentence's language (``"en"`` or ``"zh"``).
    """
    counts = ipa["quadrant"].value_counts()
    first = actions.iloc[0] if len(actions) else None
    word = template(_NOUN_WORDS.get(noun, "drivers.noun_item"), language)
    if first is None:
        lead = _t(language, "drivers.ipa_none", noun=word)
    else:
        where = (
            _t(language, "drivers.paren", a=first["area_label"])
            if "area_label" in actions.columns and isinstance(first.get("area_label"), str)
            else md("")
        )
        lead = _t(
            language,
            "drivers.ipa_first",
            label=first["label"],
            where=where,
            importance=first["importance"],
            performance=first["performance"],
            below=-first["performance_gap"],
        )
    concentrate = int(counts.get("concentrate here", 0))
    return _t(
        language,
        "drivers.ipa_one" if concentrate == 1 else "drivers.ipa",
        where=(
            template("drivers.crosshair_mean", language).format(noun=word)
            if crosshair == "mean"
            else template("drivers.crosshair_midpoint", language)
        ),
        imp_cut=ipa["importance_cut"].iloc[0],
        perf_cut=ipa["performance_cut"].iloc[0],
        concentrate=concentrate,
        n=_n(language, len(ipa), _NOUNS.get(noun, "count.item")),
        keep=int(counts.get("keep up the good work", 0)),
        overkill=int(counts.get("possible overkill", 0)),
        low=int(counts.get("low priority", 0)),
        lead=lead,
    )


def _bands(cuts: pd.DataFrame, language: str = "en") -> str:
    rows = cuts[["scale_min", "scale_max", "low_max", "high_min"]].drop_duplicates()
    return template("words.sep", language).join(
        template("drivers.band", language).format(
            lo=f"{lo:g}", hi=f"{hi:g}", lm=f"{lm:g}", hm=f"{hm:g}"
        )
        for lo, hi, lm, hm in rows.itertuples(index=False)
    )


def penalty_reward_takeaway(
    prca: pd.DataFrame, plan: PenaltyRewardPlan, *, study: Study, outcome: str
) -> Md:
    """Say the factor classes in words, with the cut-offs, the base and the correction.

    Parameters
    ----------
    prca : DataFrame
        :func:`penalty_reward` output with a ``label`` column.
    plan : PenaltyRewardPlan
    """
    lang = study.language
    noun = "area" if plan.level == "area" else "item"
    word = template(_NOUN_WORDS[noun], lang)
    described = {}
    for c in ("basic", "excitement"):
        t = prca[prca["factor_class"] == c].sort_values("difference", ascending=(c != "basic"))
        described[c] = join(
            [
                _t(study, "drivers.pr_item", label=r.label, penalty=r.penalty, reward=r.reward)
                for r in t.itertuples()
            ],
            lang,
        ) or _t(study, "drivers.none")
    n_perf = int((prca["factor_class"] == "performance").sum())
    others = (
        _t(
            study,
            "drivers.pr_others_one" if n_perf == 1 else "drivers.pr_others",
            n=_n(study, n_perf, _NOUNS[noun]),
        )
        if n_perf
        else _t(study, "drivers.pr_no_performance", noun=word)
    )
    fallback = (
        _t(
            study,
            "drivers.pr_fallback",
            items=_n(study, plan.base.drivers, "count.item"),
            n=_n(study, plan.base.n, "count.respondent"),
            need=plan.base.needed,
        )
        if plan.level == "area"
        else md("")
    )
    dropped = (
        _t(
            study,
            "drivers.pr_dropped",
            names=join([study.label(d) for d in plan.dropped], lang),
        )
        if plan.dropped
        else md("")
    )
    correction = study.reporting.correction
    return _t(
        study,
        "drivers.pr",
        bands=_bands(plan.cuts, lang),
        basic=described["basic"],
        excitement=described["excitement"],
        others=others,
        target=study.label(outcome),
        n=int(prca["n"].iloc[0]),
        noun=word,
        correction=(
            template("drivers.no_correction", lang)
            if correction == "none"
            else _CORRECTIONS.get(correction, correction)
        ),
        count=_n(study, len(prca), _NOUNS[noun]),
        fallback=fallback,
        dropped=dropped,
    )


def loyalty_takeaway(
    imp: pd.DataFrame, loy: pd.DataFrame, *, study: Study, outcome: str, loyalty: str
) -> Md:
    """Compare satisfaction and loyalty drivers in words.

    The leaders, the rank correlation, the biggest moves in rank.

    Parameters
    ----------
    imp, loy : DataFrame
        :func:`ranked_importance` outputs for the outcome and the loyalty outcome.
    """
    from scipy.stats import spearmanr

    ranks = pd.DataFrame(
        {"sat": imp.set_index("label")["rank"], "loy": loy.set_index("label")["rank"]}
    ).dropna()
    shift = (ranks["sat"] - ranks["loy"]).sort_values(kind="stable")
    rho = float(spearmanr(ranks["sat"], ranks["loy"]).statistic) if len(ranks) > 2 else float("nan")
    corr = _t(study, "drivers.loyalty_rho", rho=rho) if np.isfinite(rho) else md("")
    if shift.abs().max() == 0:
        moves = _t(study, "drivers.loyalty_same")
    else:
        up, down = shift.index[-1], shift.index[0]
        moves = _t(
            study,
            "drivers.loyalty_moves",
            up=up,
            up_sat=int(ranks.loc[up, "sat"]),
            up_loy=int(ranks.loc[up, "loy"]),
            down=down,
            down_sat=int(ranks.loc[down, "sat"]),
            down_loy=int(ranks.loc[down, "loy"]),
        )
    return _t(
        study,
        "drivers.loyalty",
        loyalty=study.label(loyalty),
        first=loy["label"].iloc[0],
        first_pct=loy["relative_weight_pct"].iloc[0],
        r2=loy["r2"].iloc[0],
        target=study.label(outcome),
        top=imp["label"].iloc[0],
        corr=corr,
        moves=moves,
    )


def group_takeaway(
    table: pd.DataFrame,
    *,
    by: str,
    labels: Mapping[object, str],
    order: Sequence[object] | None = None,
    kind: str = "segment",
    language: str = "en",
) -> Md:
    """Say how the drivers differ between segments or waves, from their relative weights.

    Parameters
    ----------
    table : DataFrame
        :func:`segment_importance` output with ``label`` (the driver's label), the ``by``
        column and ``relative_weight_pct`` (with bootstrap bounds when present); groups
        without estimates are ignored.
    by : str
        The group column.
    labels : mapping
        Group value -> display label.
    order : sequence, optional
        The groups in display (for waves: time) order.
    kind : {"segment", "wave"}
    language : str
        The sentence's language (``"en"`` or ``"zh"``).

    Returns
    -------
    Md
        Who leads in each group; the driver whose share differs most, with both values and
        whether the bootstrap intervals separate them. When no share differs by 0.1 points
        or more, it says so instead of "from X to X".
    """
    t = table[table["relative_weight_pct"].notna()]
    wide = t.pivot(index="label", columns=by, values="relative_weight_pct")
    cols = [g for g in (order if order is not None else wide.columns) if g in wide.columns]
    wide = wide[cols]
    name = {g: str(labels.get(g, g)) for g in cols}
    leaders = wide.idxmax()
    group = template("drivers.kind_wave" if kind == "wave" else "drivers.kind_segment", language)
    if leaders.nunique() == 1:
        lead = _t(language, "drivers.group_same_leader", a=leaders.iloc[0], kind=group)
    else:
        by_driver: dict[str, list[str]] = {}
        for g, a in leaders.items():
            by_driver.setdefault(a, []).append(name[g])
        lead = _t(
            language,
            "drivers.group_leaders",
            parts=words(
                [
                    template("drivers.leader_in", language).format(a=a, groups=words(gs, language))
                    for a, gs in by_driver.items()
                ],
                language,
            ),
        )
    spread = (wide.max(axis=1) - wide.min(axis=1)).sort_values(ascending=False, kind="stable")
    widest = spread.index[0]
    if round(float(spread.iloc[0]), 1) < 0.1:
        return _t(
            language,
            "drivers.group_no_spread_waves" if kind == "wave" else "drivers.group_no_spread",
            lead=lead,
        )
    hi_g, lo_g = wide.loc[widest].idxmax(), wide.loc[widest].idxmin()
    verdict = md("")
    if "relative_weight_pct_ci_low" in t.columns:
        ci = t.set_index(["label", by])
        apart = (
            ci.loc[(widest, hi_g), "relative_weight_pct_ci_low"]
            > ci.loc[(widest, lo_g), "relative_weight_pct_ci_high"]
        )
        verdict = _t(language, "drivers.group_apart" if apart else "drivers.group_overlap")
    return _t(
        language,
        "drivers.group_spread",
        lead=lead,
        widest=widest,
        high=wide.loc[widest, hi_g],
        high_g=name[hi_g],
        low=wide.loc[widest, lo_g],
        low_g=name[lo_g],
        verdict=verdict,
    )


def index_weight_takeaway(table: pd.DataFrame, *, study: Study) -> Md:
    """Compare the index with derived weights to equal weights, and name the heaviest area.

    Parameters
    ----------
    table : DataFrame
        :func:`index_weight_table` output.
    """
    equal = float((table["weight_equal"] * table["area_score"]).sum())
    derived = float((table["weight_derived"] * table["area_score"]).sum())
    heavy = table.iloc[0]
    ci = (
        _t(
            study,
            "drivers.ci",
            c=confidence_label(study),
            ci=_ci(study, heavy["weight_ci_low"], heavy["weight_ci_high"], kind="share.1"),
        )
        if pd.notna(heavy["weight_ci_low"])
        else md("")
    )
    if round(derived, 1) == round(equal, 1):
        move = _t(study, "drivers.weights_same", x=derived)
    else:
        move = _t(
            study,
            "drivers.weights_down" if derived < equal else "drivers.weights_up",
            derived=derived,
            equal=equal,
        )
    return _t(
        study,
        "drivers.weights",
        move=move,
        heavy=heavy["label"],
        weight=heavy["weight_derived"],
        ci=ci,
        equal_weight=heavy["weight_equal"],
    )
