"""The drivers page for any study: what it can analyse, at which level, and the takeaways.

``notebooks/50-drivers.ipynb`` calls these helpers so that it works on every study shape
(see :data:`analysis_helpers.demo.SHAPES`):

* :func:`driver_setup` reads the study: the outcome (the overall-satisfaction item, else
  the first loyalty item, else the likelihood-to-recommend item), the loyalty outcome
  compared with it, the segment, and the drivers - the area scores when the study has at
  least two areas, otherwise its satisfaction items as a flat list;
* :func:`driver_data` gives one frame with the drivers, outcomes, items, segment, wave and
  weight of the respondents analysed;
* :func:`usable_base` counts the respondents a model can use and the number it needs
  (``min_per_driver`` per driver), so a page says "only 135 respondents ... need 200" in
  one sentence instead of failing;
* :func:`penalty_reward_plan`, :func:`area_performance`, :func:`index_weight_table` build
  the inputs of the IPA, penalty-reward and index-weight sections at the level the base
  supports;
* the ``*_takeaway`` functions write each section's sentences from its computed table
  (safe Markdown, :func:`analysis_helpers.safe_output.md`): no number is typed, nothing is
  said that the data do not show ("from 16.1% to 16.1%" cannot appear).

The estimators themselves live in :mod:`analysis_helpers.drivers`; nothing here changes
their numbers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ._design import SurveyDesign
from .drivers import (
    DriverError,
    driver_importance,
    importance_performance,
    penalty_reward,
    scale_cutoffs,
    segment_importance,
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


def _outcome_of(setup: DriverSetup) -> str:
    """Return the setup's outcome item.

    Raises
    ------
    ValueError
        The setup has no outcome (its ``reason`` says why).
    """
    if setup.outcome is None:
        raise ValueError(f"the driver page has no outcome: {setup.reason or 'none was found'}")
    return setup.outcome


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

    Returns
    -------
    DriverSetup

    Raises
    ------
    ValueError
        A parameter names an item, segment or wave the study does not have.

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
    needed = int(max(np.ceil(min_per_driver * p), p + 2))
    return UsableBase(n=n, needed=needed, drivers=p, min_per_driver=min_per_driver)


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
    share: float = 0.25,
    min_per_driver: float = 10,
) -> PenaltyRewardPlan:
    """Choose the level of the penalty-reward analysis the base supports.

    Items when at least ``min_per_driver`` respondents per item rated the outcome and
    every item; otherwise the area scores (0-100; low = bottom ``share`` of the range,
    high = top) when the page works on areas; otherwise ``"none"``. Drivers nobody rates
    low, or nobody rates high, are dropped (they cannot show a penalty or a reward).

    Returns
    -------
    PenaltyRewardPlan
    """
    outcome = _outcome_of(setup)
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
    weights: pd.Series,
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
    weights : Series
        The derived weights (:func:`importance_to_index_weights`), indexed by area.

    Returns
    -------
    DataFrame
        One row per area, largest derived weight first: ``area``, ``label``,
        ``weight_stated`` (share; NaN where the study states none), ``weight_equal``,
        ``weight_derived``, ``weight_ci_low``, ``weight_ci_high`` (the relative weight's
        bootstrap interval as a share), ``area_score`` (mean, 0-100).
    """
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
    """

    level: str
    importance: pd.DataFrame
    performance: pd.DataFrame
    unit: str
    base: UsableBase


def ipa_inputs(
    data: pd.DataFrame,
    *,
    study: Study,
    setup: DriverSetup,
    importance: pd.DataFrame,
    performance: str = "mean",
    min_per_driver: float = 10,
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
    performance : {"mean", "top2"}
        Item performance (areas always use their mean score, 0-100).

    Returns
    -------
    IpaInputs or None
        None when neither level has the base.
    """
    base = usable_base(
        data, outcome=_outcome_of(setup), drivers=setup.items, missing="pairwise",
        min_per_driver=min_per_driver,
    )  # fmt: skip
    unit = "mean, 0-100" if performance == "mean" else "top-2-box, %"
    confidence = study.reporting.confidence
    if setup.level == "item" or base.ok:
        imp = importance
        if setup.level == "area":
            imp = driver_importance(
                data,
                outcome=_outcome_of(setup),
                drivers=setup.items,
                design=study_design(study),
                missing="pairwise",
                methods=("correlation", "relative_weight"),
                min_per_driver=min_per_driver,
            )
        perf = item_performance(
            data, study=study, items=list(imp["driver"]), measure=performance, confidence=confidence
        )
        return IpaInputs("item", imp, perf, unit, base)
    perf = area_performance(data, study=study, areas=setup.drivers, confidence=confidence)
    return IpaInputs("area", importance, perf, "mean area score, 0-100", base)


def ipa_table(inputs: IpaInputs, *, study: Study, crosshair: str = "mean") -> pd.DataFrame:
    """Return the importance-performance table of :func:`ipa_inputs`, labelled.

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
        crosshair=crosshair,
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
            outcome=_outcome_of(setup),
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
        base, study=study, outcome=_outcome_of(setup), what=setup.driver_noun
    )


#: what each section shows when the page has no driver model (the reason is on top)
SKIPPED = md("Left out: this study supports no driver model (see the top of the page).")


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
        outcome=study.label(_outcome_of(setup)),
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
