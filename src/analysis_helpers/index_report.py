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
from .formatting import confidence_label, fmt_ci, fmt_p
from .pls import (
    ACTION_KEYS,
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
from .text import count, join, template, text

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
    "area_weight_display",
    "headers",
    "path_display",
    "quality_display",
    "htmt_display",
    "index_display",
    "pairs_display",
    "chart_title",
    "page_text",
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
    language : str
        The report's language (``reporting.language``): every sentence, caption and
        header of the page's helpers is in it.
    correction : str
        The study's multiple-comparison correction (``reporting.correction``).
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
    language: str = "en"
    correction: str = "holm"

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
        language=study.language,
    )
    label = confidence_label(study)
    return IndexRun(
        setup, sample, model, lo, hi, run.fit, run.boot, run.problem, label, study.language,
        study.reporting.correction,
    )  # fmt: skip


def model_takeaway(run: IndexRun, *, study: Study) -> Md:
    """Return what the page estimates: constructs, paths, respondents, waves, replicates.

    Returns
    -------
    Md
        E.g. "A path model of 7 constructs and 10 paths, estimated on 3,012 respondents
        (all waves pooled) with the survey weights; intervals from 200 bootstrap
        replicates of the survey design. The index is **Satisfaction**."
    """
    model, fit, lang = run._model(), run._fit(), run.language
    if run.setup.wave:
        waves = text("pls.model_wave", lang, w=study.wave_label(run.setup.wave))
    else:
        waves = text("pls.model_pooled", lang) if study.is_multiwave else md("")
    boot = run.boot if run.boot is not None else pd.DataFrame({"n_boot": [0]})
    return text(
        "pls.model",
        lang,
        constructs=count(len(model.constructs), "count.construct", lang),
        paths=count(len(model.paths), "count.path", lang),
        respondents=count(fit.n, "count.respondent", lang),
        waves=waves,
        boot=count(int(boot["n_boot"].iloc[0]), "count.replicate", lang),
        target=run.labels[run.target],
    )


#: the names of the corrections in a header ("Adjusted p (Holm)")
_CORRECTION_NAMES = {"holm": "Holm", "fdr_bh": "Benjamini-Hochberg", "bonferroni": "Bonferroni"}


def headers(language: str = "en", *, confidence: str = "95%", correction: str = "holm") -> dict:
    """Return the page's headers of the common columns in ``language``.

    ``ci`` ("95% CI"), ``p_value`` ("p"), ``p_adjusted`` ("Adjusted p (Holm)"), ``n``
    ("Base") and ``flag`` ("Note"), from the text tables (in English the same as the
    report's default headers).
    """
    name = _CORRECTION_NAMES.get(correction)
    return {
        "ci": template("pls.col_ci", language).format(confidence=confidence),
        "p_value": "p",
        "p_adjusted": template("pls.col_p_adjusted", language).format(correction=name)
        if name
        else template("pls.col_p_plain", language),
        "n": template("pls.col_base", language),
        "flag": template("pls.col_note", language),
    }


# --------------------------------------------------------------------------------------
# 1. paths
# --------------------------------------------------------------------------------------
def path_display(language: str = "en", *, confidence: str = "95%") -> dict[str, Any]:
    """Return the ``ctx.show`` arguments of :func:`path_view` in ``language``."""
    common = headers(language, confidence=confidence)
    return {
        "columns": {
            "from_label": template("pls.col_from", language),
            "to_label": template("pls.col_to", language),
            "estimate": template("pls.col_path", language),
            "ci": common["ci"],
            "p_value": common["p_value"],
            "significant": template("pls.col_significant", language),
        },
        "kinds": {"estimate": "coef", "significant": "bool"},
        "caption": template("pls.cap_paths", language),
    }


#: ``ctx.show`` arguments of :func:`path_view` (English; :func:`path_display` for others)
PATH_DISPLAY: dict[str, Any] = path_display()


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
    target, lang = run.target, run.language
    into = paths[paths["to"] == target].sort_values("rank")
    weak = paths.loc[~paths["significant"]]
    names = list(weak["from_label"] + " → " + weak["to_label"])
    second = (
        text("pls.paths_second", lang, b=into["from_label"].iloc[1], v=into["estimate"].iloc[1])
        if len(into) > 1
        else md("")
    )
    return text(
        "pls.paths",
        lang,
        r2=run._fit().r_squared()[target],
        target=run.labels[target],
        top=into["from_label"].iloc[0],
        top_b=into["estimate"].iloc[0],
        confidence=run.confidence,
        top_ci=fmt_ci(into["ci_low"].iloc[0], into["ci_high"].iloc[0], kind="coef"),
        second=second,
        weak=text("pls.paths_weak", lang, w=join(names, lang))
        if names
        else text("pls.paths_all", lang),
    )


# --------------------------------------------------------------------------------------
# 2. measurement
# --------------------------------------------------------------------------------------
def quality_display(language: str = "en") -> dict[str, Any]:
    """Return the ``ctx.show`` arguments of the quality criteria in ``language``."""
    return {
        "columns": {
            "label": template("pls.col_construct", language),
            "n_items": template("pls.col_items", language),
            "alpha": "Cronbach's alpha",
            "rho_a": "rho_A",
            "rho_c": template("pls.col_rho_c", language),
            "ave": "AVE",
            "shortfall": template("pls.col_shortfall", language),
        },
        "kinds": {"alpha": "coef", "rho_a": "coef", "rho_c": "coef", "ave": "coef"},
        "caption": template("pls.cap_quality", language),
    }


#: ``ctx.show`` arguments of :func:`~analysis_helpers.pls.summary.quality_criteria`
#: (English; :func:`quality_display` for others)
QUALITY_DISPLAY: dict[str, Any] = quality_display()


def quality_takeaway(quality: pd.DataFrame, *, language: str = "en") -> Md:
    """Return the constructs short of a threshold and the lowest reliability and AVE.

    Parameters
    ----------
    quality : DataFrame
        :func:`~analysis_helpers.pls.summary.quality_criteria` output (not empty).
    language : str

    Returns
    -------
    Md
    """
    short = quality.loc[quality["shortfall"] != "", "label"]
    return text(
        "pls.quality",
        language,
        verdict=text("pls.quality_all", language)
        if short.empty
        else text("pls.quality_short", language, c=join(list(short), language)),
        low=quality["rho_c"].min(),
        low_label=quality.loc[quality["rho_c"].idxmin(), "label"],
        ave=quality["ave"].min(),
        ave_label=quality.loc[quality["ave"].idxmin(), "label"],
    )


def htmt_display(language: str = "en", *, confidence: str = "95%") -> dict[str, Any]:
    """Return the ``ctx.show`` arguments of :func:`htmt_view` in ``language``."""
    return {
        "columns": {
            "label_1": template("pls.col_construct", language),
            "label_2": template("pls.col_and", language),
            "htmt": "HTMT",
            "ci": headers(language, confidence=confidence)["ci"],
            "distinct": template("pls.col_distinct", language),
        },
        "kinds": {"htmt": "coef"},
        "caption": template("pls.cap_htmt", language),
    }


#: ``ctx.show`` arguments of :func:`htmt_view` (English; :func:`htmt_display` for others)
HTMT_DISPLAY: dict[str, Any] = htmt_display()


def htmt_view(htmt: pd.DataFrame, *, top: int = 10) -> pd.DataFrame:
    """Return the ``top`` pairs of constructs with the highest HTMT, highest first."""
    return htmt.sort_values("htmt", ascending=False).head(top)


def htmt_takeaway(htmt: pd.DataFrame, *, confidence: str = "95%", language: str = "en") -> Md:
    """Return whether every pair of constructs is distinct, and the closest pair.

    Parameters
    ----------
    htmt : DataFrame
        :func:`~analysis_helpers.pls.summary.htmt_summary` output (not empty).
    confidence : str
        The level of its intervals in words.
    language : str

    Returns
    -------
    Md
    """
    worst = htmt.loc[htmt["htmt"].idxmax()]
    verdict = (
        text("pls.htmt_distinct", language, t=THRESHOLDS["htmt"])
        if htmt["distinct"].all()
        else text("pls.htmt_not", language, k=int((~htmt["distinct"]).sum()), n=len(htmt))
    )
    return text(
        "pls.htmt",
        language,
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
def index_display(language: str = "en", *, confidence: str = "95%") -> dict[str, Any]:
    """Return the ``ctx.show`` arguments of :func:`index_table` in ``language``."""
    common = headers(language, confidence=confidence)
    return {
        "columns": {
            "label": template("pls.col_construct", language),
            "estimate": template("pls.col_index", language),
            "ci": common["ci"],
            "boot_ci": template("pls.col_boot_ci", language),
            "n": common["n"],
        },
        "unit": "index (0-100)",
        "caption": template("pls.cap_index", language),
    }


#: ``ctx.show`` arguments of :func:`index_table` (English; :func:`index_display` for others)
INDEX_DISPLAY: dict[str, Any] = index_display()


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
    return text(
        "pls.index",
        run.language,
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
    lang = run.language
    common = headers(lang, confidence=run.confidence, correction=run.correction)
    return {
        "columns": {
            "wave": template("pls.col_wave", lang),
            "estimate": template("pls.col_index", lang),
            "difference": template("pls.col_change", lang),
            "ci": template("pls.col_change_ci", lang),
            "p_adjusted": common["p_adjusted"],
            "n": common["n"],
            "flag": common["flag"],
        },
        "unit": "index (0-100)",
        "kinds": {"difference": "index"},
        "caption": template("pls.cap_wave", lang).format(target=run.labels[run.target]),
    }


def wave_index_takeaway(by_wave: pd.DataFrame, *, language: str = "en") -> Md:
    """Return the last wave's index and its change from the wave before, in words.

    Parameters
    ----------
    by_wave : DataFrame
        :func:`index_by_wave` output.
    language : str

    Returns
    -------
    Md
        E.g. "In Q3 2024 the index is 71.2, 1.4 points lower than in Q2 2024 (p = 0.003;
        a significant change)."; when the last wave is suppressed, the sentence says it
        has too few respondents.
    """
    last, lang = by_wave.iloc[-1], language
    if last["flag"] == "suppressed":
        return text("pls.wave_suppressed", lang)
    d = float(last["difference"])
    if d > 0:
        change = text("pls.wave_higher", lang, d=d, prev=last["previous"])
    elif d < 0:
        change = text("pls.wave_lower", lang, d=-d, prev=last["previous"])
    else:
        change = text("pls.wave_same", lang, prev=last["previous"])
    return text(
        "pls.wave",
        lang,
        last=last["wave"],
        value=last["estimate"],
        change=change,
        p=fmt_p(last["p_adjusted"], prefix=True),
        verdict=text("pls.verdict_change", lang)
        if last["significant"]
        else text("pls.verdict_noise", lang),
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
    lang = run.language
    common = headers(lang, confidence=run.confidence, correction=run.correction)
    title = study.label(run.setup.segment) if run.setup.segment else "segment"
    return {
        "columns": {
            "value": title,
            "estimate": template("pls.col_index", lang),
            "estimate_reference": template("pls.col_rest", lang),
            "difference": template("pls.col_difference", lang),
            "ci": template("pls.col_difference_ci", lang),
            "p_adjusted": common["p_adjusted"],
            "n": common["n"],
            "flag": common["flag"],
        },
        "unit": "index (0-100)",
        "kinds": {"difference": "index"},
        "caption": template("pls.cap_segment", lang).format(
            target=run.labels[run.target], segment=title
        ),
    }


def segment_index_takeaway(by_seg: pd.DataFrame, *, segment: str, language: str = "en") -> Md:
    """Return the range of the index over the groups and the groups that differ.

    Parameters
    ----------
    by_seg : DataFrame
        :func:`index_by_segment` output.
    segment : str
        The segment's title.
    language : str

    Returns
    -------
    Md
        The lowest and the highest group with their index and the groups significantly
        different from everyone else; when fewer than two groups are shown (the others
        suppressed), a sentence saying so.
    """
    shown, lang = by_seg[by_seg["flag"] != "suppressed"], language
    if len(shown) < 2:
        return text("pls.seg_few", lang, segment=segment)
    hi, lo = shown.loc[shown["estimate"].idxmax()], shown.loc[shown["estimate"].idxmin()]
    sig = shown[shown["significant"]]
    parts = [
        text("pls.seg_part", lang, v=v, d=f"{d:+.1f}", p=fmt_p(p, prefix=True))
        for v, d, p in zip(sig["value"], sig["difference"], sig["p_adjusted"], strict=True)
    ]
    return text(
        "pls.seg",
        lang,
        segment=segment,
        lo=lo["value"],
        lo_v=lo["estimate"],
        hi=hi["value"],
        hi_v=hi["estimate"],
        verdict=text("pls.seg_differ", lang, s=join(parts, lang))
        if parts
        else text("pls.seg_none", lang),
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


def ipma_takeaway(imap: pd.DataFrame, *, labels: Mapping[str, str], language: str = "en") -> Md:
    """Return what to improve first (:data:`~analysis_helpers.pls.ACTION_KEYS` in ``language``)."""
    action = ipma_action(imap, labels=labels).iloc[0]
    return text(ACTION_KEYS[action["reason"]], language, **action.to_dict())


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
        "**Group**: " followed by :data:`~analysis_helpers.pls.ACTION_KEYS`' sentence; one
        sentence saying there is no group to map when ``imap`` is empty.
    """
    lang = run.language
    if imap.empty:
        return [
            text(
                "pls.ipma_no_group",
                lang,
                segment=study.label(run.setup.segment or "segment"),
                n=study.reporting.min_base,
            )
        ]
    column = run.setup.segment
    out = []
    for _, part in imap.groupby(column, sort=False):
        action = ipma_action(part.drop(columns=["value", "label"]), labels=run.labels).iloc[0]
        out.append(
            text(
                "pls.ipma_group",
                lang,
                group=part["value"].iloc[0],
                sentence=text(ACTION_KEYS[action["reason"]], lang, **action.to_dict()),
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


def pairs_display(run: IndexRun, *, study: Study) -> dict[str, Any]:
    """Return the ``ctx.show`` arguments of :func:`segment_pairs` in the report's language."""
    lang = run.language
    segment = study.label(run.setup.segment) if run.setup.segment else "segment"
    return {
        "columns": {
            "value": template("pls.col_group", lang),
            "estimate": template("pls.col_index", lang),
            "value_reference": template("pls.col_compared", lang),
            "estimate_reference": template("pls.col_its_index", lang),
            "difference": template("pls.col_difference", lang),
            "p_adjusted": headers(lang, correction=run.correction)["p_adjusted"],
        },
        "unit": "index (0-100)",
        "kinds": {"estimate_reference": "index", "difference": "index"},
        "caption": template("pls.cap_pairs", lang).format(
            target=run.labels[run.target], segment=segment
        ),
    }


def chart_title(key: str, run: IndexRun, **values: str) -> str:
    """Return a chart title of the page in the report's language (text table ``key``).

    Parameters
    ----------
    key : str
        ``"pls.title_ipma"``, ``"pls.title_ipma_items"`` or ``"pls.title_ipma_segment"``.
    run : IndexRun
    **values
        The template's other fields (``segment``); ``target`` is the target's label.
    """
    return template(key, run.language).format(target=run.labels[run.target], **values)


def page_text(key: str, run: IndexRun, **values: Any) -> Md:
    """Return a heading or sentence of the page in the report's language (``{target}`` filled).

    Parameters
    ----------
    key : str
        A ``page.pls.*`` heading or a ``pls.*`` sentence of the text tables.
    run : IndexRun
    **values
        Other fields of the template.
    """
    from .text import placeholders

    if "target" in placeholders(template(key, run.language)) and run.model is not None:
        values = {"target": run.labels[run.target], **values}
    return text(key, run.language, **values)


def segment_pairs_takeaway(pairs: pd.DataFrame, *, language: str = "en") -> Md:
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
    return text(
        "pls.pairs",
        language,
        hi=hi,
        hi_v=hi_v,
        lo=lo,
        lo_v=lo_v,
        d=abs(top["difference"]),
        p=fmt_p(top["p_adjusted"], prefix=True),
        verdict=text("pls.significant", language)
        if bool(top["significant"])
        else text("pls.not_significant", language),
    )


def area_weight_display(language: str = "en") -> dict[str, Any]:
    """Return the ``ctx.show`` arguments of :func:`area_weights` in ``language``."""
    return {
        "columns": {
            "area_label": template("pls.col_area", language),
            "weight_study": template("pls.col_weight_study", language),
            "weight_derived": template("pls.col_weight_model", language),
            "difference": template("pls.col_difference", language),
        },
        "kinds": {"weight_study": "share.1", "weight_derived": "share.1", "difference": "share.1"},
        "caption": template("pls.cap_weights", language),
    }


#: ``ctx.show`` arguments of :func:`~analysis_helpers.pls.summary.derived_area_weights`
#: (English; :func:`area_weight_display` for others)
AREA_WEIGHT_DISPLAY: dict[str, Any] = area_weight_display()


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
    lang = study.language
    names = {
        "study": template("pls.rollup_study", lang),
        "model": template("pls.rollup_model", lang),
    }
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
    lang = run.language
    return text(
        "pls.weights",
        lang,
        most=most["area_label"],
        w=most["weight_derived"],
        ws=most["weight_study"],
        csi_m=by.loc["model", "estimate"],
        confidence=run.confidence,
        ci_m=fmt_ci(by.loc["model", "ci_low"], by.loc["model", "ci_high"], kind="index"),
        csi_s=by.loc["study", "estimate"],
        outside=text("pls.weights_outside", lang, a=join(list(outside), lang))
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
