"""The index page (60-index) for any study: its choices, its tables and its sentences.

``notebooks/60-index.ipynb`` calls these helpers so that every section is one call and the
page works on every study shape (a study without a ``model:`` section gets one sentence):

* :func:`index_setup` checks the page's parameters (wave, segment, bootstrap interval);
* :func:`estimate_index_model` fits the study's PLS path model on the respondents of the
  wave (or all waves) and bootstraps it, or says in one sentence why it cannot
  (:class:`IndexRun`);
* the ``*_table`` functions build each section's table from the run (labels, bootstrap
  intervals, small bases flagged by the study's rules), the ``*_DISPLAY`` constants and
  ``*_display`` functions are the ``ctx.show`` arguments (columns, kinds, caption);
* the ``*_takeaway`` functions write each section's sentences from its computed table
  (safe Markdown, :func:`analysis_helpers.safe_output.md`): no number is typed.

The estimators live in :mod:`analysis_helpers.pls`; nothing here changes their numbers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ._checks import check_choice
from .formatting import confidence_label, fmt_ci, fmt_count, fmt_list, fmt_p
from .pls import (
    ACTION_TEMPLATE,
    PathModel,
    PLSFit,
    construct_index,
    ipma,
    ipma_action,
    ipma_items,
    study_path_model,
    study_scales,
)
from .pls.summary import (
    THRESHOLDS,
    derived_area_weights,
    estimate_model,
    index_comparison,
    rollup_comparison,
)
from .safe_output import Md, md
from .study import Study
from .study_tables import flag_bases, study_design

__all__ = [
    "ipma_item_table",
    "ipma_segment_table",
    "ipma_segment_takeaway",
    "segment_pairs",
    "segment_pairs_takeaway",
    "IndexSetup",
    "index_setup",
    "IndexRun",
    "estimate_index_model",
    "model_takeaway",
    "PATH_DISPLAY",
    "path_view",
    "path_takeaway",
    "QUALITY_DISPLAY",
    "quality_takeaway",
    "HTMT_DISPLAY",
    "htmt_view",
    "htmt_takeaway",
    "INDEX_DISPLAY",
    "index_table",
    "index_takeaway",
    "index_by_wave",
    "wave_index_display",
    "wave_index_takeaway",
    "index_by_segment",
    "segment_index_display",
    "segment_index_takeaway",
    "ipma_table",
    "ipma_takeaway",
    "AREA_WEIGHT_DISPLAY",
    "area_weights",
    "rollup_table",
    "area_weight_takeaway",
    "csi_weights_note",
]

#: the statistic columns of an index comparison, blanked in suppressed cells
_STATS = [
    "estimate",
    "estimate_reference",
    "difference",
    "se",
    "ci_low",
    "ci_high",
    "p_value",
    "p_adjusted",
]


# --------------------------------------------------------------------------------------
# the page's choices and the model
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class IndexSetup:
    """What the index page analyses.

    Attributes
    ----------
    wave : str
        The wave the model is estimated on; ``""`` for all waves pooled.
    segment : str or None
        The segment column of the index by segment; None when the study has none.
    interval : {"percentile", "bca"}
        The bootstrap interval.
    n_boot : int
        Bootstrap replicates.
    random_state : int or None
        Seed of the bootstrap.
    """

    wave: str = ""
    segment: str | None = None
    interval: str = "percentile"
    n_boot: int = 200
    random_state: int | None = None


def index_setup(
    study: Study,
    *,
    wave: str = "",
    segment: str = "",
    interval: str = "percentile",
    n_boot: int = 200,
    random_state: int | None = None,
) -> IndexSetup:
    """Return the index page's checked choices; empty parameters read the study.

    Parameters
    ----------
    study : Study
    wave : str
        A wave code to estimate the model on alone; ``""``: all waves pooled.
    segment : str
        The segment column; ``""``: the study's first segment (None if it has none).
    interval : {"percentile", "bca"}
    n_boot : int
    random_state : int or None

    Returns
    -------
    IndexSetup

    Raises
    ------
    ValueError
        ``wave`` or ``segment`` is not one of the study's, or ``interval`` is not an
        interval method.
    """
    if wave and wave not in study.waves:
        raise ValueError(
            f"index_setup: wave {wave!r} is not one of the study's waves {study.waves}"
        )
    if segment and segment not in study.segment_columns():
        raise ValueError(
            f"index_setup: segment {segment!r} is not one of the study's segments "
            f"{study.segment_columns()}"
        )
    check_choice(interval, ("percentile", "bca"), "interval", "index_setup")
    chosen = segment or (study.segment_columns()[0] if study.has_segments else None)
    return IndexSetup(wave, chosen, interval, n_boot, random_state)


@dataclass(frozen=True)
class IndexRun:
    """The study's path model fitted on the page's respondents, or why it is not.

    Attributes
    ----------
    setup : IndexSetup
    sample : DataFrame
        The respondents of ``setup.wave`` (every wave when it is empty).
    model : PathModel or None
        The study's model; None without a ``model:`` section.
    scale_min, scale_max : mapping item -> number, or None
        The items' scale ranges (:func:`~analysis_helpers.pls.study_scales`).
    fit : PLSFit or None
    boot : DataFrame or None
        :func:`~analysis_helpers.pls.pls_bootstrap` output.
    problem : str or None
        Why there is no model (then the page shows this one sentence).
    confidence : str
        The study's confidence level in words, e.g. ``"95%"``.
    """

    setup: IndexSetup
    sample: pd.DataFrame
    model: PathModel | None
    scale_min: Any
    scale_max: Any
    fit: PLSFit | None = None
    boot: pd.DataFrame | None = None
    problem: str | None = None
    confidence: str = "95%"

    @property
    def labels(self) -> dict[str, str]:
        """Construct name -> label."""
        return {} if self.model is None else {c: self.model.label(c) for c in self.model.constructs}

    @property
    def target(self) -> str:
        """The target construct (the index)."""
        return self._model().target_construct

    def _model(self) -> PathModel:
        if self.model is None:
            raise ValueError(f"IndexRun: there is no model ({self.problem})")
        return self.model

    def _fit(self) -> PLSFit:
        if self.fit is None:
            raise ValueError(f"IndexRun: the model was not estimated ({self.problem})")
        return self.fit


def estimate_index_model(data: pd.DataFrame, *, study: Study, setup: IndexSetup) -> IndexRun:
    """Return the study's path model fitted and bootstrapped, or the sentence why not.

    :func:`~analysis_helpers.pls.summary.estimate_model` on the respondents of the
    setup's wave with the study's model, item scales, design, confidence level and
    minimum base.

    Parameters
    ----------
    data : DataFrame
        The clean analysis data (:func:`analysis_helpers.cleaning.load_clean`).
    study : Study
    setup : IndexSetup

    Returns
    -------
    IndexRun
    """
    sample = data[data[study.wave_column].astype(str) == setup.wave] if setup.wave else data
    model = study_path_model(study)
    lo, hi = study_scales(study, model) if model is not None else (None, None)
    run = estimate_model(
        sample,
        model=model,
        design=study_design(study),
        scale_min=lo,
        scale_max=hi,
        n_boot=setup.n_boot,
        method=setup.interval,
        confidence=study.reporting.confidence,
        random_state=setup.random_state,
        floor=study.reporting.min_base,
    )
    label = confidence_label(study)
    return IndexRun(setup, sample, model, lo, hi, run.fit, run.boot, run.problem, label)


def model_takeaway(run: IndexRun, *, study: Study) -> Md:
    """Return what the page estimates: constructs, paths, respondents, waves, replicates.

    Returns
    -------
    Md
        E.g. "A path model of 7 constructs and 10 paths, estimated on 3,012 respondents
        (all waves pooled) with the survey weights; intervals from 200 bootstrap
        replicates of the survey design. The index is **Satisfaction**."
    """
    model, fit = run._model(), run._fit()
    if run.setup.wave:
        waves = md(" ({w})", w=study.wave_label(run.setup.wave))
    else:
        waves = md(" (all waves pooled)") if study.is_multiwave else md("")
    boot = run.boot if run.boot is not None else pd.DataFrame({"n_boot": [0]})
    return md(
        "A path model of {constructs} and {paths}, estimated on {respondents}{waves} with "
        "the survey weights; intervals from {boot} of the survey design. The index is "
        "**{target}**.",
        constructs=fmt_count(len(model.constructs), "construct"),
        paths=fmt_count(len(model.paths), "path"),
        respondents=fmt_count(fit.n, "respondent"),
        waves=waves,
        boot=fmt_count(int(boot["n_boot"].iloc[0]), "bootstrap replicate"),
        target=run.labels[run.target],
    )


# --------------------------------------------------------------------------------------
# 1. paths
# --------------------------------------------------------------------------------------
#: ``ctx.show`` arguments of :func:`path_view`
PATH_DISPLAY: dict[str, Any] = {
    "columns": {
        "from_label": "From",
        "to_label": "To",
        "estimate": "Path coefficient",
        "ci": None,
        "p_value": None,
        "significant": "Significant",
    },
    "kinds": {"estimate": "coef", "significant": "bool"},
    "caption": "Path coefficients with bootstrap intervals",
}


def path_view(paths: pd.DataFrame, *, model: PathModel) -> pd.DataFrame:
    """Return the paths in reading order: by the construct they point to, strongest first.

    Parameters
    ----------
    paths : DataFrame
        :func:`~analysis_helpers.pls.summary.path_summary` output.
    model : PathModel

    Returns
    -------
    DataFrame
        ``paths`` sorted by the model's order of ``to``, then by ``rank``.
    """
    order = {c: k for k, c in enumerate(model.constructs)}
    return paths.sort_values(
        ["to", "rank"], key=lambda s: s.map(order) if s.name == "to" else s, ignore_index=True
    )


def path_takeaway(paths: pd.DataFrame, *, run: IndexRun) -> Md:
    """Return the R² of the index, its two strongest drivers and the paths not significant.

    Parameters
    ----------
    paths : DataFrame
        :func:`~analysis_helpers.pls.summary.path_summary` output.
    run : IndexRun

    Returns
    -------
    Md
    """
    target = run.target
    into = paths[paths["to"] == target].sort_values("rank")
    weak = paths.loc[~paths["significant"]]
    names = list(weak["from_label"] + " → " + weak["to_label"])
    second = (
        md(", then {b} ({v:num.2})", b=into["from_label"].iloc[1], v=into["estimate"].iloc[1])
        if len(into) > 1
        else md("")
    )
    return md(
        "The model explains {r2:share} of the variation in {target}. Its strongest driver is "
        "**{top}** ({top_b:num.2}; {confidence} interval {top_ci}){second}. {weak}",
        r2=run._fit().r_squared()[target],
        target=run.labels[target],
        top=into["from_label"].iloc[0],
        top_b=into["estimate"].iloc[0],
        confidence=run.confidence,
        top_ci=fmt_ci(into["ci_low"].iloc[0], into["ci_high"].iloc[0], kind="coef"),
        second=second,
        weak=md("Not significant: {w}.", w=fmt_list(names))
        if names
        else md("Every path is significant."),
    )


# --------------------------------------------------------------------------------------
# 2. measurement
# --------------------------------------------------------------------------------------
#: ``ctx.show`` arguments of :func:`~analysis_helpers.pls.summary.quality_criteria`
QUALITY_DISPLAY: dict[str, Any] = {
    "columns": {
        "label": "Construct",
        "n_items": "Items",
        "alpha": "Cronbach's alpha",
        "rho_a": "rho_A",
        "rho_c": "Composite reliability",
        "ave": "AVE",
        "shortfall": "Falls short",
    },
    "kinds": {"alpha": "coef", "rho_a": "coef", "rho_c": "coef", "ave": "coef"},
    "caption": "Reliability and convergent validity (thresholds 0.7 and AVE 0.5)",
}


def quality_takeaway(quality: pd.DataFrame) -> Md:
    """Return the constructs short of a threshold and the lowest reliability and AVE.

    Parameters
    ----------
    quality : DataFrame
        :func:`~analysis_helpers.pls.summary.quality_criteria` output (not empty).

    Returns
    -------
    Md
    """
    short = quality.loc[quality["shortfall"] != "", "label"]
    return md(
        "{verdict} The lowest composite reliability is {low:num.2} ({low_label}); the lowest "
        "AVE {ave:num.2} ({ave_label}).",
        verdict=md("Every construct meets the usual thresholds.")
        if short.empty
        else md("Short of a threshold: {c}.", c=fmt_list(list(short))),
        low=quality["rho_c"].min(),
        low_label=quality.loc[quality["rho_c"].idxmin(), "label"],
        ave=quality["ave"].min(),
        ave_label=quality.loc[quality["ave"].idxmin(), "label"],
    )


#: ``ctx.show`` arguments of :func:`htmt_view`
HTMT_DISPLAY: dict[str, Any] = {
    "columns": {
        "label_1": "Construct",
        "label_2": "and",
        "htmt": "HTMT",
        "ci": None,
        "distinct": "Distinct",
    },
    "kinds": {"htmt": "coef"},
    "caption": "Discriminant validity: the highest HTMT ratios",
}


def htmt_view(htmt: pd.DataFrame, *, top: int = 10) -> pd.DataFrame:
    """Return the ``top`` pairs of constructs with the highest HTMT, highest first."""
    return htmt.sort_values("htmt", ascending=False).head(top)


def htmt_takeaway(htmt: pd.DataFrame, *, confidence: str = "95%") -> Md:
    """Return whether every pair of constructs is distinct, and the closest pair.

    Parameters
    ----------
    htmt : DataFrame
        :func:`~analysis_helpers.pls.summary.htmt_summary` output (not empty).
    confidence : str
        The level of its intervals in words.

    Returns
    -------
    Md
    """
    worst = htmt.loc[htmt["htmt"].idxmax()]
    verdict = (
        md(
            "Every pair of constructs is distinct (HTMT and its upper limit below {t:num.2}).",
            t=THRESHOLDS["htmt"],
        )
        if htmt["distinct"].all()
        else md(
            "{k} of {n} pairs are not clearly distinct: read their paths with care.",
            k=int((~htmt["distinct"]).sum()),
            n=len(htmt),
        )
    )
    return md(
        "{verdict} The closest pair is {a} and {b} (HTMT {h:num.2}, {confidence} interval "
        "up to {hi:num.2}).",
        verdict=verdict,
        a=worst["label_1"],
        b=worst["label_2"],
        h=worst["htmt"],
        confidence=confidence,
        hi=worst["ci_high"],
    )


# --------------------------------------------------------------------------------------
# 3. the index
# --------------------------------------------------------------------------------------
#: ``ctx.show`` arguments of :func:`index_table`
INDEX_DISPLAY: dict[str, Any] = {
    "columns": {
        "label": "Construct",
        "estimate": "Index",
        "ci": None,
        "boot_ci": "Interval with the weights re-estimated",
        "n": None,
    },
    "unit": "index (0-100)",
    "caption": "Index of every construct (0-100)",
}


def index_table(run: IndexRun, *, study: Study) -> pd.DataFrame:
    """Return the 0-100 index of every construct with both of its intervals.

    Parameters
    ----------
    run : IndexRun
    study : Study
        Supplies the confidence level.

    Returns
    -------
    DataFrame
        :func:`~analysis_helpers.pls.construct_index` output (``block``, ``n``,
        ``estimate``, ``se``, ``ci_low``, ``ci_high``: the design-based interval with the
        outer weights held fixed) plus ``label`` and ``boot_ci_low`` / ``boot_ci_high``
        (the bootstrap interval, the weights re-estimated in every replicate).
    """
    index = construct_index(
        run.sample,
        fit=run._fit(),
        scale_min=run.scale_min,
        scale_max=run.scale_max,
        confidence=study.reporting.confidence,
    )
    boot = run.boot if run.boot is not None else pd.DataFrame(columns=["kind", "block"])
    b = boot[boot["kind"] == "index"].set_index("block")
    return index.assign(
        label=index["block"].map(run.labels),
        boot_ci_low=index["block"].map(b["ci_low"]),
        boot_ci_high=index["block"].map(b["ci_high"]),
    )


def index_takeaway(index: pd.DataFrame, *, run: IndexRun) -> Md:
    """Return the index of the target construct with its interval."""
    top = index.set_index("block").loc[run.target]
    return md(
        "The index (**{target}**) is {value:index} of 100 ({confidence} interval {ci}).",
        target=run.labels[run.target],
        value=top["estimate"],
        confidence=run.confidence,
        ci=fmt_ci(top["ci_low"], top["ci_high"], kind="index"),
    )


def index_by_wave(run: IndexRun, *, study: Study) -> pd.DataFrame:
    """Return the target's index in every wave, each wave tested against the one before.

    Parameters
    ----------
    run : IndexRun
        A run on all waves pooled.
    study : Study

    Returns
    -------
    DataFrame
        :func:`~analysis_helpers.pls.summary.index_comparison` output (``against=
        "previous"``, the study's correction) with the study's small-base ``flag`` and
        ``wave`` / ``previous`` (the labels of the wave and of the wave before).
    """
    by_wave = index_comparison(
        run.sample,
        fit=run._fit(),
        scale_min=run.scale_min,
        scale_max=run.scale_max,
        by=study.wave_column,
        order=study.waves,
        against="previous",
        confidence=study.reporting.confidence,
        correction=study.reporting.correction,
    )
    return flag_bases(by_wave, study=study, value_cols=_STATS).assign(
        wave=by_wave["group"].map(study.wave_label),
        previous=by_wave["reference"].map(lambda w: study.wave_label(w) if w else ""),
    )


def wave_index_display(run: IndexRun) -> dict[str, Any]:
    """Return the ``ctx.show`` arguments of :func:`index_by_wave`: columns, kinds, caption."""
    return {
        "columns": {
            "wave": "Wave",
            "estimate": "Index",
            "difference": "Change from the wave before",
            "ci": "Change interval",
            "p_adjusted": None,
            "n": None,
            "flag": None,
        },
        "unit": "index (0-100)",
        "kinds": {"difference": "index"},
        "caption": f"{run.labels[run.target]}: index by wave",
    }


def wave_index_takeaway(by_wave: pd.DataFrame) -> Md:
    """Return the last wave's index and its change from the wave before, in words.

    Parameters
    ----------
    by_wave : DataFrame
        :func:`index_by_wave` output.

    Returns
    -------
    Md
        E.g. "In Q3 2024 the index is 71.2, 1.4 points lower than in Q2 2024 (p = 0.003;
        a significant change)."; when the last wave is suppressed, the sentence says it
        has too few respondents.
    """
    last = by_wave.iloc[-1]
    if last["flag"] == "suppressed":
        return md("The last wave has too few respondents to compare its index.")
    d = float(last["difference"])
    if d > 0:
        change = md("{d:num.1} points higher than in {prev}", d=d, prev=last["previous"])
    elif d < 0:
        change = md("{d:num.1} points lower than in {prev}", d=-d, prev=last["previous"])
    else:
        change = md("the same as in {prev}", prev=last["previous"])
    return md(
        "In {last} the index is {value:index}, {change} ({p}; {verdict}).",
        last=last["wave"],
        value=last["estimate"],
        change=change,
        p=fmt_p(last["p_adjusted"], prefix=True),
        verdict="a significant change" if last["significant"] else "within sampling error",
    )


def index_by_segment(run: IndexRun, *, study: Study) -> pd.DataFrame:
    """Return the target's index in every group of the setup's segment, against the rest.

    Parameters
    ----------
    run : IndexRun
    study : Study

    Returns
    -------
    DataFrame
        :func:`~analysis_helpers.pls.summary.index_comparison` output (``against="rest"``,
        the study's correction) with the study's small-base ``flag`` and ``value`` (the
        group's label).
    """
    column = run.setup.segment
    if column is None:
        raise ValueError("index_by_segment: the setup has no segment (the study has none)")
    seg = study.segment(column)
    by_seg = index_comparison(
        run.sample,
        fit=run._fit(),
        scale_min=run.scale_min,
        scale_max=run.scale_max,
        by=column,
        order=list(seg.values),
        against="rest",
        confidence=study.reporting.confidence,
        correction=study.reporting.correction,
    )
    return flag_bases(by_seg, study=study, value_cols=_STATS).assign(
        value=by_seg["group"].map(lambda v: seg.values.get(v, v))
    )


def segment_index_display(run: IndexRun, *, study: Study) -> dict[str, Any]:
    """Return the ``ctx.show`` arguments of :func:`index_by_segment`."""
    title = study.label(run.setup.segment) if run.setup.segment else "segment"
    return {
        "columns": {
            "value": title,
            "estimate": "Index",
            "estimate_reference": "Everyone else",
            "difference": "Difference",
            "ci": "Difference interval",
            "p_adjusted": None,
            "n": None,
            "flag": None,
        },
        "unit": "index (0-100)",
        "kinds": {"difference": "index"},
        "caption": f"{run.labels[run.target]}: index by {title}",
    }


def segment_index_takeaway(by_seg: pd.DataFrame, *, segment: str) -> Md:
    """Return the range of the index over the groups and the groups that differ.

    Parameters
    ----------
    by_seg : DataFrame
        :func:`index_by_segment` output.
    segment : str
        The segment's title.

    Returns
    -------
    Md
        The lowest and the highest group with their index and the groups significantly
        different from everyone else; when fewer than two groups are shown (the others
        suppressed), a sentence saying so.
    """
    shown = by_seg[by_seg["flag"] != "suppressed"]
    if len(shown) < 2:
        return md(
            "Too few respondents per group of {segment} to compare the index.", segment=segment
        )
    hi, lo = shown.loc[shown["estimate"].idxmax()], shown.loc[shown["estimate"].idxmin()]
    sig = shown[shown["significant"]]
    parts = [
        f"{v} ({d:+.1f} points, {fmt_p(p, prefix=True)})"
        for v, d, p in zip(sig["value"], sig["difference"], sig["p_adjusted"], strict=True)
    ]
    return md(
        "By {segment}, the index runs from {lo_v:index} ({lo}) to {hi_v:index} ({hi}). {verdict}",
        segment=segment,
        lo=lo["value"],
        lo_v=lo["estimate"],
        hi=hi["value"],
        hi_v=hi["estimate"],
        verdict=md("Significantly different from everyone else: {s}.", s=fmt_list(parts))
        if parts
        else md("No group differs significantly from everyone else."),
    )


# --------------------------------------------------------------------------------------
# 4. importance and performance; 5. weights for the roll-up
# --------------------------------------------------------------------------------------
def ipma_table(run: IndexRun, *, study: Study) -> pd.DataFrame:
    """Return the importance-performance map of the constructs that drive the target.

    Returns
    -------
    DataFrame
        :func:`~analysis_helpers.pls.ipma` output (the study's design) with ``label``.
    """
    imap = ipma(
        run.sample,
        model=run._model(),
        scale_min=run.scale_min,
        scale_max=run.scale_max,
        design=study_design(study),
    )
    return imap.assign(label=imap["block"].map(run.labels))


def ipma_takeaway(imap: pd.DataFrame, *, labels: Mapping[str, str]) -> Md:
    """Return what to improve first (:data:`~analysis_helpers.pls.ACTION_TEMPLATE`)."""
    action = ipma_action(imap, labels=labels).iloc[0]
    return md(ACTION_TEMPLATE[action["reason"]], **action.to_dict())


def ipma_item_table(run: IndexRun, *, study: Study) -> pd.DataFrame:
    """Return the item-level importance-performance map (the drivers' items).

    Returns
    -------
    DataFrame
        :func:`~analysis_helpers.pls.ipma_items` output (the study's design) with ``label``
        (the item's label).
    """
    imap = ipma_items(
        run.sample,
        model=run._model(),
        scale_min=run.scale_min,
        scale_max=run.scale_max,
        design=study_design(study),
    )
    return imap.assign(label=imap["item"].map(study.label))


def ipma_segment_table(run: IndexRun, *, study: Study) -> pd.DataFrame:
    """Return the construct IPMA per group of the setup's segment (the model fitted per group).

    Returns
    -------
    DataFrame
        :func:`~analysis_helpers.pls.ipma` output with ``by`` the segment, ``value`` (the
        group's label) and ``label``; groups under ``reporting.min_base`` respondents are
        left out (a path model per group needs the base). Empty without a segment.
    """
    column = run.setup.segment
    if column is None:
        return pd.DataFrame()
    seg = study.segment(column)
    counts = run.sample[column].map(lambda v: None if pd.isna(v) else str(v)).value_counts()
    keep = [v for v in counts.index if counts[v] >= study.reporting.min_base]
    part = run.sample[run.sample[column].astype(str).isin(keep)]
    if part.empty:
        return pd.DataFrame()
    imap = ipma(
        part,
        model=run._model(),
        scale_min=run.scale_min,
        scale_max=run.scale_max,
        by=column,
        design=study_design(study),
    )
    order = {str(v): k for k, v in enumerate(seg.values)}
    imap = imap.assign(
        value=imap[column].map(lambda v: seg.values.get(str(v), str(v))),
        label=imap["block"].map(run.labels),
        _o=imap[column].map(lambda v: order.get(str(v), len(order))),
    )
    return imap.sort_values("_o", kind="stable").drop(columns="_o").reset_index(drop=True)


def ipma_segment_takeaway(imap: pd.DataFrame, *, run: IndexRun, study: Study) -> list[Md]:
    """Return one action sentence per segment group (what that group should improve first).

    Parameters
    ----------
    imap : DataFrame
        :func:`ipma_segment_table` output.
    run : IndexRun
    study : Study

    Returns
    -------
    list of Md
        "**Group**: " followed by :data:`~analysis_helpers.pls.ACTION_TEMPLATE`; one
        sentence saying there is no group to map when ``imap`` is empty.
    """
    if imap.empty:
        return [
            md(
                "No group of {segment} has {n:,} respondents or more, so there is no map per group.",
                segment=study.label(run.setup.segment or "segment"),
                n=study.reporting.min_base,
            )
        ]
    column = run.setup.segment
    out = []
    for _, part in imap.groupby(column, sort=False):
        action = ipma_action(part.drop(columns=["value", "label"]), labels=run.labels).iloc[0]
        out.append(
            md(
                "**{group}**: {sentence}",
                group=part["value"].iloc[0],
                sentence=md(ACTION_TEMPLATE[action["reason"]], **action.to_dict()),
            )
        )
    return out


def segment_pairs(run: IndexRun, *, study: Study) -> pd.DataFrame:
    """Return the target's index of every pair of groups of the setup's segment, tested.

    Returns
    -------
    DataFrame
        :func:`~analysis_helpers.pls.summary.index_comparison` with ``against="pairs"``
        (design-based domain differences, the study's correction over the pairs), with
        ``value`` and ``value_reference`` (the two groups' labels).
    """
    column = run.setup.segment
    if column is None:
        raise ValueError("segment_pairs: the setup has no segment (the study has none)")
    seg = study.segment(column)
    pairs = index_comparison(
        run.sample,
        fit=run._fit(),
        scale_min=run.scale_min,
        scale_max=run.scale_max,
        by=column,
        order=list(seg.values),
        against="pairs",
        confidence=study.reporting.confidence,
        correction=study.reporting.correction,
    )
    return pairs.assign(
        value=pairs["group"].map(lambda v: seg.values.get(v, v)),
        value_reference=pairs["reference"].map(lambda v: seg.values.get(v, v)),
    )


def segment_pairs_takeaway(pairs: pd.DataFrame) -> Md:
    """Return the widest pair of groups: "A 67.0 vs B 63.0, a difference of 4.0 points (p)".

    Parameters
    ----------
    pairs : DataFrame
        :func:`segment_pairs` output.

    Returns
    -------
    Md
        The pair with the largest absolute difference, with its adjusted p-value and
        whether it is significant.
    """
    top = pairs.loc[pairs["difference"].abs().idxmax()]
    hi, lo = (
        (top["value"], top["value_reference"])
        if top["difference"] > 0
        else (top["value_reference"], top["value"])
    )
    hi_v = max(top["estimate"], top["estimate_reference"])
    lo_v = min(top["estimate"], top["estimate_reference"])
    return md(
        "The widest gap between two groups: {hi} {hi_v:index} vs {lo} {lo_v:index}, "
        "{d:index} index points ({p}, {verdict}).",
        hi=hi,
        hi_v=hi_v,
        lo=lo,
        lo_v=lo_v,
        d=abs(top["difference"]),
        p=fmt_p(top["p_adjusted"], prefix=True),
        verdict="significant" if bool(top["significant"]) else "not significant",
    )


#: ``ctx.show`` arguments of :func:`~analysis_helpers.pls.summary.derived_area_weights`
AREA_WEIGHT_DISPLAY: dict[str, Any] = {
    "columns": {
        "area_label": "Area",
        "weight_study": "Study weight",
        "weight_derived": "Weight from the model",
        "difference": None,
    },
    "kinds": {"weight_study": "share.1", "weight_derived": "share.1", "difference": "share.1"},
    "caption": "Area weights: the study's and the model's",
}


def area_weights(run: IndexRun, *, study: Study) -> pd.DataFrame:
    """Return :func:`~analysis_helpers.pls.summary.derived_area_weights` of the study."""
    return derived_area_weights(
        run._fit(), hierarchy=study.hierarchy(), scale_min=run.scale_min, scale_max=run.scale_max
    )


def rollup_table(run: IndexRun, weights: pd.DataFrame, *, study: Study) -> pd.DataFrame:
    """Return the CSI rolled up with the study's weights and with the model's, labelled.

    Returns
    -------
    DataFrame
        :func:`~analysis_helpers.pls.summary.rollup_comparison` output (rows ``study``
        and ``model``) with ``label`` ("Study weights", "Weights from the model").
    """
    rollup = rollup_comparison(
        run.sample,
        hierarchy=study.hierarchy(),
        weights=weights,
        design=study_design(study),
        confidence=study.reporting.confidence,
    )
    names = {"study": "Study weights", "model": "Weights from the model"}
    return rollup.assign(label=rollup["weights"].map(names))


def area_weight_takeaway(weights: pd.DataFrame, rollup: pd.DataFrame, *, run: IndexRun) -> Md:
    """Return the heaviest area by the model and the CSI with both sets of weights.

    Parameters
    ----------
    weights : DataFrame
        :func:`area_weights` output.
    rollup : DataFrame
        :func:`rollup_table` output.
    run : IndexRun

    Returns
    -------
    Md
    """
    most = weights.loc[weights["weight_derived"].idxmax()]
    outside = weights.loc[weights["weight_derived"].isna(), "area_label"]
    by = rollup.set_index("weights")
    return md(
        "By the model, **{most}** should weigh {w:share.1} of the index, against {ws:share.1} "
        "in the study's roll-up. With the model's weights the CSI is {csi_m:index} "
        "({confidence} interval {ci_m}), against {csi_s:index} with the study's.{outside}",
        most=most["area_label"],
        w=most["weight_derived"],
        ws=most["weight_study"],
        csi_m=by.loc["model", "estimate"],
        confidence=run.confidence,
        ci_m=fmt_ci(by.loc["model", "ci_low"], by.loc["model", "ci_high"], kind="index"),
        csi_s=by.loc["study", "estimate"],
        outside=md(" Areas outside the model get no weight: {a}.", a=fmt_list(list(outside)))
        if len(outside)
        else "",
    )


def csi_weights_note(study: Study) -> Md:
    """Return the sentence on which weights the CSI of the report's pages uses.

    ``index.weights`` of the study file: ``stated`` (the study file's area and indicator
    weights, equal where none is stated) or ``model`` (each area's items weighted by the
    model's rescaled outer weights, :meth:`Study.model_index_weights`).

    Returns
    -------
    Md
        One sentence in the report's language (text tables ``pls.csi_weights_stated``,
        ``pls.csi_weights_model``).
    """
    from .text import text

    if study.index_weights == "model":
        return text("pls.csi_weights_model", study.language)
    return text("pls.csi_weights_stated", study.language)
