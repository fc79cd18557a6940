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
from .formatting import confidence_label, fmt_ci, fmt_count, fmt_list
from .safe_output import Md, md
from .study import Study
from .study_tables import area_scores, item_performance, study_design

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
]

_CORRECTIONS = {
    "holm": "Holm",
    "fdr_bh": "Benjamini-Hochberg",
    "bonferroni": "Bonferroni",
    "none": "no",
}


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
        """The header of the driver column: "Area" or "Item"."""
        return "Area" if self.level == "area" else "Item"

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
        reason = md(
            "The study file names no overall-satisfaction, loyalty or recommend item (kpis), "
            "so there is no outcome to find the drivers of."
        )
    elif len(drivers) < 2:
        reason = md(
            "The study has {n} besides the outcome; a driver analysis compares two or more.",
            n=fmt_count(len(drivers), "satisfaction item"),
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
    return md(
        "Only {n} answered **{outcome}** and all {p}; {drivers} need at least {needed:,} "
        "({per:g} per driver), so this analysis is left out.",
        n=fmt_count(base.n, "respondent"),
        outcome=study.label(outcome),
        p=fmt_count(base.drivers, what.rstrip("s")),
        drivers=fmt_count(base.drivers, "driver"),
        needed=base.needed,
        per=base.min_per_driver,
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
    """

    level: str
    drivers: list[str]
    cuts: pd.DataFrame
    dropped: list[str]
    base: UsableBase


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
    base = usable_base(data, outcome=outcome, drivers=setup.items, min_per_driver=min_per_driver)
    if base.ok:
        level, drivers = "item", list(setup.items)
        scales = item_scales(study, drivers)
    elif setup.level == "area":
        area_base = usable_base(
            data, outcome=outcome, drivers=setup.drivers, min_per_driver=min_per_driver
        )
        if not area_base.ok:
            return PenaltyRewardPlan("none", [], pd.DataFrame(), [], base)
        level, drivers = "area", list(setup.drivers)
        scales = pd.DataFrame({"item": drivers, "scale_min": 0.0, "scale_max": 100.0})
    else:
        return PenaltyRewardPlan("none", [], pd.DataFrame(), [], base)
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
        return PenaltyRewardPlan("none", kept, cuts.loc[kept], dropped, base)
    return PenaltyRewardPlan(level, kept, cuts.loc[kept], dropped, base)


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
            return None, md(
                "Too few items have both low and high ratings for a penalty-reward analysis "
                "(left out: {names}).",
                names=fmt_list(study.label(d) for d in plan.dropped),
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
        return None, md(
            "The penalty-reward model cannot be estimated on these data: {r}.", r=reason
        )
    return (
        table.assign(
            label=table["driver"].map(study.label),
            factor_label=table["factor_class"].str.capitalize(),
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
    """

    level: str
    importance: pd.DataFrame
    performance: pd.DataFrame
    unit: str
    base: UsableBase
    measure: str = "mean"
    crosshair: str = "mean"


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
    unit = "mean, 0-100" if performance == "mean" else "top-2-box, %"
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
        return IpaInputs("item", imp, perf, unit, base, performance, setup.crosshair)
    perf = area_performance(data, study=study, areas=setup.drivers, confidence=confidence)
    area_unit = "mean area score, 0-100"
    return IpaInputs("area", importance, perf, area_unit, base, "mean", setup.crosshair)


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
    return md(
        "The base is too small to separate the {items} ({n} answered each pair; {need:,} "
        "needed), so the map shows the {areas}.",
        items=fmt_count(inputs.base.drivers, "item"),
        n=fmt_count(inputs.base.n, "respondent"),
        need=inputs.base.needed,
        areas=fmt_count(n_areas, "area"),
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
    then show :data:`SKIPPED`).
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
        "relative_weight_pct": "Relative weight",
        "relative_weight_pct_ci": None,
    }
    if "lmg_pct" in table.columns:
        columns["lmg_pct"] = "LMG (Shapley)"
    caption = f"Derived importance of each {setup.driver_noun} (% of R²)"
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
    return {
        "columns": {
            "rank": "Tree rank",
            "linear_rank": "Linear rank",
            "label": setup.driver_title,
            "importance": "R² lost when shuffled",
            "importance_sd": "SD over shuffles",
            "importance_pct": "Share of importance",
        },
        "kinds": {"importance": "number.3", "importance_sd": "number.3"},
        "caption": "Permutation importance of a tree model",
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
    columns: dict[str, str | None] = {"priority": None, "label": inputs.level.capitalize()}
    if "area_label" in actions.columns and actions["area_label"].notna().any():
        columns["area_label"] = "Area"
    columns |= {
        "importance": "Importance (% of R²)",
        "performance": "Performance",
        "importance_gap": "Importance above the line",
        "performance_gap": "Performance below the line",
        "n": None,
    }
    kinds = {
        "importance": "percent.1",
        "importance_gap": "number.1",
        "performance": "index" if mean else "percent",
        "performance_gap": "index" if mean else "number.1",
    }
    return {"columns": columns, "kinds": kinds, "caption": "Concentrate here: the action list"}


def factor_display(plan: PenaltyRewardPlan) -> dict[str, Any]:
    """Return the ``ctx.show`` arguments of the drivers that are not performance factors.

    Examples
    --------
    >>> plan = PenaltyRewardPlan("item", [], pd.DataFrame(), [], UsableBase(0, 2, 0, 10))
    >>> factor_display(plan)["caption"]
    'Items that are not plain performance factors'
    """
    noun = plan.level.capitalize()
    return {
        "columns": {
            "label": noun,
            "factor_label": "Factor class",
            "penalty": None,
            "penalty_ci": None,
            "reward": None,
            "reward_ci": None,
            "difference": "Penalty - reward",
            "difference_p_adjusted": "Adjusted p",
            "n_low": None,
            "n_high": None,
        },
        "caption": f"{noun}s that are not plain performance factors",
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
            return md(
                "The outcome above is already **{x}**; the study has no overall-satisfaction "
                "item to compare its drivers with.",
                x=study.label(_outcome(setup, "loyalty_problem")),
            )
        return md(
            "The study file names no loyalty or recommend item (kpis.loyalty, kpis.nps), so "
            "there are no loyalty drivers to compare."
        )
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
    """

    kind: str
    by: str
    table: pd.DataFrame
    groups: list[str]
    labels: Mapping[Any, str]
    title: str
    problem: Md | None = None

    def takeaway(self) -> Md:
        """Return :func:`group_takeaway` of the table: who leads where, what differs most."""
        return group_takeaway(
            self.table, by=self.by, labels=self.labels, order=self.groups, kind=self.kind
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
        title = f"Drivers of {outcome} by {study.label(by)}"
        problem = md(
            "Fewer than two of the {m} groups of **{segment}** have enough respondents for "
            "their own model ({need:,} needed each), so their drivers cannot be compared.",
            m=len(labels),
            segment=study.label(by),
            need=need,
        )
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
        title = f"Drivers of {outcome} by wave"
        problem = md(
            "Fewer than two waves have enough respondents for their own model ({need:,} "
            "needed each), so the drivers cannot be compared over time.",
            need=need,
        )
    return GroupDrivers(
        kind, by, table, groups, labels, title, problem if len(groups) < 2 else None
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


def index_weight_display(table: pd.DataFrame) -> dict[str, Any]:
    """Return the ``ctx.show`` arguments of :func:`index_weight_table`.

    Returns
    -------
    dict
        ``columns`` (the stated weight only when the study states one), ``kinds``
        (weights as shares with one decimal, the area score as an index) and ``caption``.
    """
    columns: dict[str, str | None] = {"label": "Area"}
    if table["weight_stated"].notna().any():
        columns["weight_stated"] = "Stated weight"
    columns |= {
        "weight_equal": "Equal weight",
        "weight_derived": "Derived weight",
        "weight_ci": None,
        "area_score": "Area score",
    }
    share = "share.1"
    kinds = {"weight_stated": share, "weight_equal": share, "weight_derived": share,
             "weight_ci": share, "area_score": "index"}  # fmt: skip
    return {
        "columns": columns,
        "kinds": kinds,
        "caption": "Area weights: equal and derived from importance",
    }


# --------------------------------------------------------------------------------------
# takeaways
# --------------------------------------------------------------------------------------
def intro_takeaway(setup: DriverSetup, data: pd.DataFrame, *, study: Study) -> Md:
    """Say what the page analyses: the outcome(s), the respondents, the wave(s), the drivers."""
    if setup.wave:
        when = md(" in {w}", w=study.wave_label(setup.wave))
    elif study.is_multiwave:
        when = md(", {w} pooled", w=fmt_count(study.n_waves, "wave"))
    else:
        when = md("")
    drivers = (
        md(
            "the {n} (0-100, the mean of each area's items)",
            n=fmt_count(len(setup.drivers), "area score"),
        )
        if setup.level == "area"
        else md(
            "the {n} (the study has no areas to group them)",
            n=fmt_count(len(setup.drivers), "item"),
        )
    )
    also = md(" and of **{x}**", x=study.label(setup.loyalty)) if setup.loyalty else md("")
    role = {
        "loyalty": md(
            " (the study has no overall-satisfaction item; its first loyalty item is the outcome)"
        ),
        "nps": md(
            " (the study has no overall-satisfaction or loyalty item; likelihood to recommend is the outcome)"
        ),
    }.get(setup.outcome_role, md(""))
    weights = (
        md(" Estimates use the survey weights.")
        if study.is_weighted
        else md(" Every respondent counts once (the study has no weights).")
    )
    return md(
        "Drivers of **{outcome}**{also}{role} among {n}{when}: {drivers}.{weights}",
        outcome=study.label(_outcome(setup, "intro_takeaway")),
        also=also,
        role=role,
        n=fmt_count(len(data), "respondent"),
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
    top = imp.iloc[0]
    has_ci = "relative_weight_pct_ci_low" in imp.columns
    ties = []
    if has_ci:
        for k in range(len(imp) - 1):
            if (
                imp["relative_weight_pct_ci_low"].iloc[k]
                <= imp["relative_weight_pct_ci_high"].iloc[k + 1]
            ):
                ties.append(f"{imp['label'].iloc[k]} and {imp['label'].iloc[k + 1]}")
    if not has_ci:
        tie_text = md("")
    elif len(ties) > 3:
        tie_text = md(
            " The intervals of {k} of the {m} neighbouring pairs in the ranking overlap: "
            "drivers close in rank cannot be told apart at this sample size.",
            k=len(ties),
            m=len(imp) - 1,
        )
    elif ties:
        tie_text = md(
            " Neighbours in the ranking whose intervals overlap cannot be told apart at this "
            "sample size: {ties}.",
            ties="; ".join(ties),
        )
    else:
        tie_text = md(" Every neighbour in the ranking is separated by its bootstrap interval.")
    ci = (
        md(
            " ({c} CI {ci})",
            c=confidence_label(study),
            ci=fmt_ci(
                top["relative_weight_pct_ci_low"],
                top["relative_weight_pct_ci_high"],
                kind="percent",
            ),
        )
        if has_ci
        else md("")
    )
    rest = (
        md(
            ", followed by {second} ({second_pct:percent}); the least important is {last} "
            "({last_pct:percent}).",
            second=imp["label"].iloc[1],
            second_pct=imp["relative_weight_pct"].iloc[1],
            last=imp["label"].iloc[-1],
            last_pct=imp["relative_weight_pct"].iloc[-1],
        )
        if len(imp) > 2
        else md(
            ", {second} the rest ({second_pct:percent}).",
            second=imp["label"].iloc[1],
            second_pct=imp["relative_weight_pct"].iloc[1],
        )
    )
    return md(
        "Together the drivers explain {r2:share} of the variation in {target} (n = {n:,}). "
        "**{top}** matters most, with {top_pct:percent} of the explained variance{ci}{rest}{ties}",
        r2=top["r2"],
        target=study.label(outcome),
        n=int(top["n"]),
        top=top["label"],
        top_pct=top["relative_weight_pct"],
        ci=ci,
        rest=rest,
        ties=tie_text,
    )


def permutation_takeaway(perm: pd.DataFrame, imp: pd.DataFrame) -> Md:
    """Say the tree model's check in words: its held-out R², its leader, rank agreement.

    Parameters
    ----------
    perm : DataFrame
        :func:`permutation_importance_check` output with ``label`` and ``linear_rank``.
    imp : DataFrame
        :func:`ranked_importance` output.
    """
    from scipy.stats import spearmanr

    first = perm.sort_values("rank", kind="stable").iloc[0]
    r2_tree = float(perm["r2_test"].iloc[0])
    if perm["rank"].nunique() > 1 and perm["linear_rank"].nunique() > 1:
        rho = float(spearmanr(perm["rank"], perm["linear_rank"]).statistic)
    else:
        rho = float("nan")
    if not np.isfinite(rho):
        agree = md("its ranking cannot be compared with the linear one (ties)")
    else:
        agree = md(
            "its ranking agrees with the relative weights with a rank correlation of {rho:coef} "
            "- {verdict}",
            rho=rho,
            verdict=(
                "the linear measures are a fair summary"
                if rho >= 0.8
                else "read the linear ranking with care: the link may not be linear"
            ),
        )
    fit = (
        md("explains {r2:share} of the variation on held-out respondents", r2=r2_tree)
        if r2_tree > 0
        else md("predicts held-out respondents no better than their mean")
    )
    return md(
        "The tree model {fit}, against {linear:share} for the linear model, and ranks {first} "
        "first; {agree}.",
        fit=fit,
        linear=float(imp["r2"].iloc[0]),
        first=first["label"],
        agree=agree,
    )


def ipa_takeaway(ipa: pd.DataFrame, actions: pd.DataFrame, *, crosshair: str, noun: str) -> Md:
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
    """
    counts = ipa["quadrant"].value_counts()
    first = actions.iloc[0] if len(actions) else None
    if first is None:
        lead = md(" No important {noun} performs below the line.", noun=noun)
    else:
        where = (
            md(" ({a})", a=first["area_label"])
            if "area_label" in actions.columns and isinstance(first.get("area_label"), str)
            else md("")
        )
        lead = md(
            " First on the list: **{label}**{where}, with {importance:percent.1} of R² and a "
            "performance of {performance:num}, {below:num} below the line.",
            label=first["label"],
            where=where,
            importance=first["importance"],
            performance=first["performance"],
            below=-first["performance_gap"],
        )
    return md(
        "With the crosshair at the {where} (importance {imp_cut:percent.1} of R², performance "
        "{perf_cut:num}), {concentrate} of the {n} {verb} in *concentrate here* (important, "
        "below the line), {keep} in *keep up the good work*, {overkill} in *possible overkill* and "
        "{low} in *low priority*.{lead}",
        where=f"{noun} means" if crosshair == "mean" else "scale midpoint",
        imp_cut=ipa["importance_cut"].iloc[0],
        perf_cut=ipa["performance_cut"].iloc[0],
        concentrate=int(counts.get("concentrate here", 0)),
        verb="falls" if int(counts.get("concentrate here", 0)) == 1 else "fall",
        n=fmt_count(len(ipa), noun),
        keep=int(counts.get("keep up the good work", 0)),
        overkill=int(counts.get("possible overkill", 0)),
        low=int(counts.get("low priority", 0)),
        lead=lead,
    )


def _bands(cuts: pd.DataFrame) -> str:
    rows = cuts[["scale_min", "scale_max", "low_max", "high_min"]].drop_duplicates()
    return "; ".join(
        f"{lo:g}-{lm:g} low and {hm:g}-{hi:g} high on the {lo:g}-{hi:g} scale"
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
    noun = "area" if plan.level == "area" else "item"
    described = {}
    for c in ("basic", "excitement"):
        t = prca[prca["factor_class"] == c].sort_values("difference", ascending=(c != "basic"))
        described[c] = md(", ").join(
            md(
                "**{label}** (penalty {penalty:num.2}, reward {reward:num.2})",
                label=r.label,
                penalty=r.penalty,
                reward=r.reward,
            )
            for r in t.itertuples()
        ) or md("none")
    n_perf = int((prca["factor_class"] == "performance").sum())
    others = (
        md(
            "The other {n} {verb} performance factors",
            n=fmt_count(n_perf, noun),
            verb="is a" if n_perf == 1 else "are",
        )
        if n_perf
        else md("No {noun} is a plain performance factor", noun=noun)
    )
    fallback = (
        md(
            " The base is too small for {items} ({n} rated every one; {need:,} needed), so "
            "the areas are analysed instead.",
            items=fmt_count(plan.base.drivers, "item"),
            n=fmt_count(plan.base.n, "respondent"),
            need=plan.base.needed,
        )
        if plan.level == "area"
        else md("")
    )
    dropped = (
        md(
            " Left out because nobody rated them low or high: {names}.",
            names=fmt_list(study.label(d) for d in plan.dropped),
        )
        if plan.dropped
        else md("")
    )
    correction = study.reporting.correction
    return md(
        "Cut-offs: {bands}. Basic factors: {basic}. Excitement factors: {excitement}. {others} "
        "(points of {target}; n = {n:,} respondents who rated every {noun}, {correction} "
        "adjustment over {count}).{fallback}{dropped} A basic factor must simply not fail; an "
        "excitement factor pays off when it is delivered well.",
        bands=_bands(plan.cuts),
        basic=described["basic"],
        excitement=described["excitement"],
        others=others,
        target=study.label(outcome),
        n=int(prca["n"].iloc[0]),
        noun=noun,
        correction=_CORRECTIONS.get(correction, correction),
        count=fmt_count(len(prca), noun),
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
    corr = (
        md("; the rank correlation of the two orders is {rho:coef}", rho=rho)
        if np.isfinite(rho)
        else md("")
    )
    if shift.abs().max() == 0:
        moves = md(" Both orders are the same: the satisfaction priorities serve loyalty too.")
    else:
        up, down = shift.index[-1], shift.index[0]
        moves = md(
            " {up} ranks {up_sat} for satisfaction but {up_loy} for loyalty, while {down} ranks "
            "{down_sat} for satisfaction and {down_loy} for loyalty: plans to keep customers "
            "should not simply copy the satisfaction priorities.",
            up=up,
            up_sat=int(ranks.loc[up, "sat"]),
            up_loy=int(ranks.loc[up, "loy"]),
            down=down,
            down_sat=int(ranks.loc[down, "sat"]),
            down_loy=int(ranks.loc[down, "loy"]),
        )
    return md(
        "{loyalty} is driven most by **{first}** ({first_pct:percent} of its R² of {r2:share}), "
        "{target} by {top}{corr}.{moves}",
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
    if leaders.nunique() == 1:
        lead = md(
            "**{a}** is the top driver in every {kind}.",
            a=leaders.iloc[0],
            kind=kind,
        )
    else:
        by_driver: dict[str, list[str]] = {}
        for g, a in leaders.items():
            by_driver.setdefault(a, []).append(name[g])
        lead = md(
            "The top driver differs: {parts}.",
            parts=fmt_list(f"{a} in {fmt_list(gs)}" for a, gs in by_driver.items()),
        )
    spread = (wide.max(axis=1) - wide.min(axis=1)).sort_values(ascending=False, kind="stable")
    widest = spread.index[0]
    if round(float(spread.iloc[0]), 1) < 0.1:
        return md(
            "{lead} No driver's share of R² differs by 0.1 points or more between the {kind}s.",
            lead=lead,
            kind=kind,
        )
    hi_g, lo_g = wide.loc[widest].idxmax(), wide.loc[widest].idxmin()
    verdict = md("")
    if "relative_weight_pct_ci_low" in t.columns:
        ci = t.set_index(["label", by])
        apart = (
            ci.loc[(widest, hi_g), "relative_weight_pct_ci_low"]
            > ci.loc[(widest, lo_g), "relative_weight_pct_ci_high"]
        )
        verdict = md(
            " - {v}",
            v="their bootstrap intervals do not overlap"
            if apart
            else "but their bootstrap intervals overlap, so it may be chance",
        )
    return md(
        "{lead} The share that differs most is **{widest}**'s: {high:percent} of R² in {high_g} "
        "against {low:percent} in {low_g}{verdict}.",
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
        md(
            " ({c} CI {ci})",
            c=confidence_label(study),
            ci=fmt_ci(heavy["weight_ci_low"], heavy["weight_ci_high"], kind="share.1"),
        )
        if pd.notna(heavy["weight_ci_low"])
        else md("")
    )
    if round(derived, 1) == round(equal, 1):
        move = md(
            "Weighted by derived importance, the index of the area scores stays at {x:index}, "
            "as with equal weights",
            x=derived,
        )
    else:
        move = md(
            "Weighted by derived importance, the index of the area scores is {derived:index} "
            "instead of {equal:index} with equal weights (it moves {way}: the most important "
            "areas score {where} the rest)",
            derived=derived,
            equal=equal,
            way="down" if derived < equal else "up",
            where="below" if derived < equal else "above",
        )
    return md(
        "{move}; {heavy} would carry {weight:share.1} of the index{ci} instead of "
        "{equal_weight:share.1}.",
        move=move,
        heavy=heavy["label"],
        weight=heavy["weight_derived"],
        ci=ci,
        equal_weight=heavy["weight_equal"],
    )
