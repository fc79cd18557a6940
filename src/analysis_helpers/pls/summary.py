"""Report tables of a fitted PLS path model: what the index page shows.

Each function takes a :class:`~analysis_helpers.pls.PLSFit` (and the bootstrap table of
:func:`~analysis_helpers.pls.pls_bootstrap` where intervals are needed) and returns a tidy
frame; nothing is rounded, printed or drawn here.

* :func:`model_problem` - why a study's model cannot be estimated (no ``model:`` section,
  an item not in the data, too few respondents), as one sentence, or None.
* :func:`path_summary` - the paths with bootstrap intervals and a significance verdict.
* :func:`quality_criteria` / :func:`htmt_summary` - reliability, convergent and
  discriminant validity against their usual thresholds (Hair et al. 2022).
* :func:`index_comparison` - the index of one construct per group, each group tested
  against the rest of the sample or the previous wave with the survey design
  (:func:`~analysis_helpers.estimation.domain_difference`, outer weights held fixed).
* :func:`derived_area_weights` - area weights for the CSI roll-up from the model's total
  effects on the target, beside the study's own weights.

References
----------
Hair, J. F., Hult, G. T. M., Ringle, C. M. & Sarstedt, M. (2022). *A Primer on Partial
Least Squares Structural Equation Modeling (PLS-SEM)*, 3rd ed. Sage, ch. 4-6.

Henseler, J., Ringle, C. M. & Sarstedt, M. (2015). A new criterion for assessing
discriminant validity in variance-based structural equation modeling. *J. Academy of
Marketing Science* 43, 115-135.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis_helpers.estimation import SurveyDesign, domain_difference, survey_mean
from analysis_helpers.pls.bootstrap import pls_bootstrap
from analysis_helpers.pls.fit import PLSFit, fit_pls
from analysis_helpers.pls.index import _importance, _ranges, _w100, index_scores
from analysis_helpers.pls.model import PathModel, PathModelError
from analysis_helpers.text import template
from analysis_helpers.trend import adjust_p

__all__ = [
    "THRESHOLDS",
    "min_respondents",
    "model_problem",
    "path_summary",
    "quality_criteria",
    "htmt_summary",
    "index_comparison",
    "derived_area_weights",
    "rollup_comparison",
    "ModelRun",
    "estimate_model",
]

#: usual thresholds (Hair et al. 2022): reliability >= 0.7, AVE >= 0.5, HTMT < 0.85
THRESHOLDS: dict[str, float] = {"alpha": 0.7, "rho_a": 0.7, "rho_c": 0.7, "ave": 0.5, "htmt": 0.85}

_CORRECTIONS = {"holm": "holm", "fdr_bh": "fdr_bh", "bonferroni": "bonferroni"}


def min_respondents(model: PathModel, *, floor: int = 30) -> int:
    """Return the smallest base the model is estimated on: the "ten times rule".

    Ten respondents per arrow pointing at the construct with the most arrows (inner paths,
    or the items of a formative block), and at least ``floor`` (Barclay, Higgins &
    Thompson 1995; Hair et al. 2022, ch. 1).

    Examples
    --------
    >>> from analysis_helpers.pls import PathModel
    >>> m = PathModel(blocks={"a": ["x1"], "b": ["x2"], "c": ["x3"]},
    ...               paths=[("a", "c"), ("b", "c")])
    >>> min_respondents(m), min_respondents(m, floor=10)
    (30, 20)
    """
    arrows = [len(model.predecessors(c)) for c in model.constructs]
    arrows += [len(model.blocks[c]) for c in model.constructs if model.mode(c) == "B"]
    return max(int(floor), 10 * max(arrows))


def model_problem(
    data: pd.DataFrame, *, model: PathModel | None, floor: int = 30, language: str = "en"
) -> str | None:
    """Say why the model cannot be estimated on ``data``, in one sentence; None when it can.

    Parameters
    ----------
    data : DataFrame
        The respondents the model would be fitted on.
    model : PathModel or None
        The study's model (:func:`~analysis_helpers.pls.study_path_model`); None when the
        study file has no ``model:`` section.
    floor : int
        Smallest base at all (see :func:`min_respondents`).
    language : str
        The report's language (text tables ``pls.no_model``, ``pls.item_absent``,
        ``pls.too_few``).

    Returns
    -------
    str or None
    """
    if model is None:
        return template("pls.no_model", language)
    absent = [i for i in model.items if i not in data.columns]
    if absent:
        owner = next(c for c, its in model.blocks.items() if absent[0] in its)
        return template("pls.item_absent", language).format(
            item=absent[0], construct=model.label(owner)
        )
    answered = int(data[model.items].notna().any(axis=1).sum())
    need = min_respondents(model, floor=floor)
    if answered < need:
        return template("pls.too_few", language).format(answered=answered, need=need)
    return None


def path_summary(
    boot: pd.DataFrame, *, model: PathModel, labels: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """Return the inner paths with their bootstrap intervals and a verdict.

    Parameters
    ----------
    boot : DataFrame
        :func:`~analysis_helpers.pls.pls_bootstrap` output.
    model : PathModel
    labels : mapping, optional
        Display text of the constructs (default: the model's labels).

    Returns
    -------
    DataFrame
        One row per path in the model's order: ``from``, ``to``, ``from_label``,
        ``to_label``, ``estimate`` (standardised path coefficient), ``se``, ``ci_low``,
        ``ci_high``, ``p_value`` (bootstrap t test), ``significant`` (the interval
        excludes 0), ``rank`` (1 = largest absolute coefficient among the paths into the
        same construct).
    """
    lab = {c: model.label(c) for c in model.constructs} | dict(labels or {})
    p = boot[boot["kind"] == "path"]
    if len(p) != len(model.paths):
        raise ValueError(
            f"path_summary: the bootstrap table has {len(p)} paths; the model has "
            f"{len(model.paths)} (was it run on another model?)"
        )
    out = pd.DataFrame(
        {
            "from": p["from"].to_numpy(),
            "to": p["to"].to_numpy(),
            "from_label": p["from"].map(lab).to_numpy(),
            "to_label": p["to"].map(lab).to_numpy(),
            "estimate": p["estimate"].to_numpy(float),
            "se": p["se"].to_numpy(float),
            "ci_low": p["ci_low"].to_numpy(float),
            "ci_high": p["ci_high"].to_numpy(float),
            "p_value": p["p_value"].to_numpy(float),
        }
    )
    out["significant"] = (out["ci_low"] > 0) | (out["ci_high"] < 0)
    out["rank"] = (
        out.assign(_a=-out["estimate"].abs()).groupby("to")["_a"].rank(method="first").astype(int)
    )
    return out


def quality_criteria(
    fit: PLSFit, *, labels: Mapping[str, str] | None = None, language: str = "en"
) -> pd.DataFrame:
    """Return the reliability and convergent validity of every multi-item reflective block.

    Parameters
    ----------
    fit : PLSFit
    labels : mapping, optional
        Display text of the constructs (default: the model's labels).
    language : str
        The language of ``shortfall`` (text tables ``pls.short_*``).

    Returns
    -------
    DataFrame
        One row per construct in mode A with two or more items: ``block``, ``label``,
        ``n_items``, ``alpha`` (Cronbach), ``rho_a`` (Dijkstra-Henseler), ``rho_c``
        (composite reliability), ``ave``, ``reliable`` (alpha, rho_A and rho_c all >= 0.7),
        ``convergent`` (AVE >= 0.5), ``too_high`` (a reliability above 0.95: items may be
        near copies of each other), ``shortfall`` (what falls short, or empty). Single-item and
        formative blocks are left out: these criteria do not apply to them.
    """
    lab = {c: fit.model.label(c) for c in fit.constructs} | dict(labels or {})
    rel = fit.reliability()
    rel = rel[(rel["mode"] == "A") & (rel["n_items"] > 1)].copy()
    rel.insert(1, "label", rel["block"].map(lab))
    t = THRESHOLDS
    rel["reliable"] = (
        (rel["alpha"] >= t["alpha"]) & (rel["rho_a"] >= t["rho_a"]) & (rel["rho_c"] >= t["rho_c"])
    )
    rel["convergent"] = rel["ave"] >= t["ave"]
    rel["too_high"] = rel[["alpha", "rho_a", "rho_c"]].max(axis=1) > 0.95
    flags = []
    for r in rel.itertuples():
        f = []
        if not r.reliable:
            f.append(template("pls.short_low", language))
        if not r.convergent:
            f.append(template("pls.short_ave", language))
        if r.too_high:
            f.append(template("pls.short_high", language))
        flags.append(template("words.sep", language).join(f))
    rel["shortfall"] = flags
    return rel.drop(columns="mode").reset_index(drop=True)


def htmt_summary(
    fit: PLSFit, boot: pd.DataFrame | None = None, *, labels: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """Return the HTMT of every pair of multi-item constructs, with its bootstrap interval.

    Discriminant validity holds for a pair when the HTMT is below 0.85 (Henseler et al.
    2015); with an interval, when its upper limit is below 0.85 too (the stricter check).

    Returns
    -------
    DataFrame
        One row per pair of blocks with two or more items each: ``block_1``, ``block_2``,
        ``label_1``, ``label_2``, ``htmt``, ``ci_low``, ``ci_high`` (NaN without
        ``boot``), ``distinct`` (HTMT below 0.85, and its upper limit when known).
    """
    lab = {c: fit.model.label(c) for c in fit.constructs} | dict(labels or {})
    h = fit.htmt().dropna(subset=["htmt"]).reset_index(drop=True)
    h["label_1"] = h["block_1"].map(lab)
    h["label_2"] = h["block_2"].map(lab)
    h["ci_low"] = np.nan
    h["ci_high"] = np.nan
    if boot is not None:
        b = boot[boot["kind"] == "htmt"].set_index(["from", "to"])
        key = list(zip(h["block_1"], h["block_2"], strict=True))
        h["ci_low"] = [float(b.loc[k, "ci_low"]) for k in key]
        h["ci_high"] = [float(b.loc[k, "ci_high"]) for k in key]
    upper = h["ci_high"].fillna(h["htmt"])
    h["distinct"] = (h["htmt"] < THRESHOLDS["htmt"]) & (upper < THRESHOLDS["htmt"])
    return h[["block_1", "block_2", "label_1", "label_2", "htmt", "ci_low", "ci_high", "distinct"]]


def index_comparison(
    data: pd.DataFrame,
    *,
    fit: PLSFit,
    scale_min: float | Mapping[str, float],
    scale_max: float | Mapping[str, float],
    by: str,
    block: str | None = None,
    order: Sequence | None = None,
    against: str = "rest",
    design: SurveyDesign | None = None,
    confidence: float = 0.95,
    correction: str = "holm",
) -> pd.DataFrame:
    """Compare the 0-100 index of one construct between groups, each tested with the design.

    Every respondent's index is scored with the model's outer weights
    (:func:`~analysis_helpers.pls.index_scores`); a group's index is its survey-weighted
    mean. Each group is compared with the rest of the sample (``against="rest"``: "this
    segment vs everyone else"), with the group before it in ``order``
    (``against="previous"``: wave on wave), or with every other group (``against="pairs"``:
    one row per pair, the later group of ``order`` against the earlier; "67 vs 63, p ="). Differences are domain differences of the
    whole design (:func:`~analysis_helpers.estimation.domain_difference`, R
    ``svyttest``), so strata, clusters and weights enter the SEs; p-values are adjusted
    over the groups with ``correction``.

    Parameters
    ----------
    data : DataFrame
        One row per respondent, with the model's items, ``by`` and the design columns.
    fit : PLSFit
    scale_min, scale_max : number or mapping item -> number
    by : str
        The group column (a segment or the wave).
    block : str, optional
        The construct; default the model's target.
    order : sequence, optional
        The groups in display order (default: sorted values of ``by``); groups with no
        respondents are left out.
    against : {"rest", "previous", "pairs"}
    design : SurveyDesign, optional
        Default: the design of ``fit``.
    confidence : float
    correction : {"holm", "fdr_bh", "bonferroni", "none"}

    Returns
    -------
    DataFrame
        One row per group in ``order`` (per pair with ``"pairs"``): ``group`` (the code as
        text), ``n``, ``estimate`` (0-100),
        ``reference`` (the value compared with: ``"rest"`` or the previous group; empty
        for the first group with ``"previous"``), ``estimate_reference``, ``difference``
        (group - reference), ``se``, ``ci_low``, ``ci_high`` (of the difference),
        ``p_value``, ``p_adjusted``, ``significant`` (``p_adjusted`` below
        ``1 - confidence``).
    """
    who = "index_comparison"
    if against not in ("rest", "previous", "pairs"):
        raise ValueError(f"{who}: against={against!r}: use 'rest', 'previous' or 'pairs'")
    if correction not in (*_CORRECTIONS, "none"):
        raise ValueError(f"{who}: correction {correction!r}: use holm, fdr_bh, bonferroni or none")
    block = block if block is not None else fit.model.target_construct
    if block not in fit.constructs:
        raise KeyError(f"{who}: block {block!r} is not a construct of the model")
    if by not in data.columns:
        raise KeyError(f"{who}: by column {by!r} is not in the data")
    design = design if design is not None else fit.design
    design = design if design is not None else SurveyDesign()
    scores = index_scores(data, fit=fit, scale_min=scale_min, scale_max=scale_max)[block]
    codes = data[by].map(lambda v: None if pd.isna(v) else str(v))  # codes compared as text
    frame = pd.DataFrame({"__index": scores.to_numpy(), "__group": codes.to_numpy()})
    for col in design.roles().values():
        frame[col] = data[col].to_numpy()
    present = set(frame["__group"].dropna().tolist())
    order = [str(g) for g in order] if order is not None else sorted(present)
    groups = [g for g in order if g in present]
    if len(groups) < 2:
        raise ValueError(f"{who}: {by!r} has {len(groups)} group(s) with respondents; need 2")
    est = survey_mean(frame.dropna(subset=["__group"]), items=["__index"], by=["__group"],
                      design=design, confidence=confidence).set_index("__group")  # fmt: skip
    if against == "pairs":  # every pair once: the later group against the earlier one
        tasks = [(g, groups[i]) for j, g in enumerate(groups) for i in range(j)]
    elif against == "previous":
        tasks = [(g, groups[k - 1] if k else "") for k, g in enumerate(groups)]
    else:
        tasks = [(g, "rest") for g in groups]
    rows = []
    for g, ref in tasks:
        row = {"group": g, "n": int(est.loc[g, "n"]), "estimate": float(est.loc[g, "estimate"]),
               "reference": "", "estimate_reference": np.nan, "difference": np.nan,
               "se": np.nan, "ci_low": np.nan, "ci_high": np.nan, "p_value": np.nan}  # fmt: skip
        if not ref:
            rows.append(row)
            continue
        if ref == "rest":
            cmp = np.where(frame["__group"] == g, "group", "reference").astype(object)
            cmp[frame["__group"].isna().to_numpy()] = None
        else:
            cmp = np.full(len(frame), None, dtype=object)
            cmp[(frame["__group"] == ref).to_numpy()] = "reference"
            cmp[(frame["__group"] == g).to_numpy()] = "group"
        r = domain_difference(frame.assign(__cmp=cmp), items="__index", by="__cmp",
                              values=("reference", "group"), design=design,
                              confidence=confidence).iloc[0]  # fmt: skip
        row.update(reference=ref, estimate_reference=float(r["estimate_1"]),
                   difference=float(r["estimate"]), se=float(r["se"]),
                   ci_low=float(r["ci_low"]), ci_high=float(r["ci_high"]),
                   p_value=float(r["p_value"]))  # fmt: skip
        rows.append(row)
    out = pd.DataFrame(rows)
    out["p_adjusted"] = adjust_p(out["p_value"].to_numpy(float), correction=correction)
    out["significant"] = out["p_adjusted"] < (1 - confidence)
    return out


def derived_area_weights(
    fit: PLSFit,
    *,
    hierarchy: pd.DataFrame,
    scale_min: float | Mapping[str, float],
    scale_max: float | Mapping[str, float],
    target: str | None = None,
) -> pd.DataFrame:
    """Derive area weights for the CSI roll-up from the model, beside the study's.

    An item's importance is the 0-100 points the target gains per 0-100 point of the item
    (its index weight times its construct's unstandardised total effect on the target,
    the item IPMA of Ringle & Sarstedt 2016). An area's derived weight is the sum of its
    items' importances, negative ones counted as 0, normalised over the areas to sum to 1;
    ``kpis.csi(hierarchy=drivers.with_index_weights(hierarchy, weights))`` then rolls the
    index up with them. The study's weights are its ``areas[].weight`` normalised (equal
    when none is stated).

    Parameters
    ----------
    fit : PLSFit
    hierarchy : DataFrame
        :meth:`Study.hierarchy` (``item``, ``area``, ``area_label``, ``weight_area``).
    scale_min, scale_max : number or mapping item -> number
        The scale range of every model item (the target's too:
        :func:`~analysis_helpers.pls.study_scales`).
    target : str, optional
        Default: the model's target.

    Returns
    -------
    DataFrame
        One row per area of the hierarchy, in its order: ``area``, ``area_label``,
        ``n_items`` (the area's items in the model), ``importance`` (summed item
        importance, target points per 0-100 point of every item of the area),
        ``weight_study``, ``weight_derived`` (NaN for an area with no item driving the
        target), ``difference`` (derived - study, in shares).
    """
    who = "derived_area_weights"
    need = ["item", "area", "area_label", "weight_area"]
    absent = [c for c in need if c not in hierarchy.columns]
    if absent:
        raise KeyError(f"{who}: hierarchy lacks column(s) {absent}")
    if hierarchy.empty:
        raise ValueError(f"{who}: the hierarchy has no items (the study has no index)")
    target = target if target is not None else fit.model.target_construct
    if target not in fit.constructs:
        raise KeyError(f"{who}: target {target!r} is not a construct of the model")
    lo, hi = _ranges(fit, scale_min, scale_max, who)
    imp = _importance(fit, target, lo, hi)
    w = _w100(fit, lo, hi)
    item_imp = {
        item: w[k] * imp[b][0]
        for k, (b, item) in enumerate(zip(fit._blocks, fit.items, strict=True))
        if b in imp and b != target
    }
    areas = list(dict.fromkeys(hierarchy["area"]))
    first = hierarchy.drop_duplicates("area").set_index("area")
    raw = pd.to_numeric(first["weight_area"], errors="coerce")
    study_w = raw / raw.sum() if raw.notna().all() and raw.sum() > 0 else pd.Series(
        1.0 / len(areas), index=first.index
    )  # fmt: skip
    rows = []
    for a in areas:
        its = [i for i in hierarchy.loc[hierarchy["area"] == a, "item"] if i in item_imp]
        rows.append({"area": a, "area_label": first.loc[a, "area_label"], "n_items": len(its),
                     "importance": float(sum(item_imp[i] for i in its)) if its else np.nan,
                     "weight_study": float(study_w[a])})  # fmt: skip
    out = pd.DataFrame(rows)
    pos = out["importance"].clip(lower=0)
    total = pos.sum()
    out["weight_derived"] = pos / total if total > 0 else np.nan
    out["difference"] = out["weight_derived"] - out["weight_study"]
    return out


def rollup_comparison(
    data: pd.DataFrame,
    *,
    hierarchy: pd.DataFrame,
    weights: pd.DataFrame,
    design: SurveyDesign | None = None,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Roll the CSI up with the study's area weights and with the model's.

    Parameters
    ----------
    data : DataFrame
    hierarchy : DataFrame
        :meth:`Study.hierarchy`.
    weights : DataFrame
        :func:`derived_area_weights` output; areas with no derived weight get 0.
    design : SurveyDesign, optional
    confidence : float

    Returns
    -------
    DataFrame
        Two rows, ``weights`` ``"study"`` and ``"model"``: ``n``, ``estimate`` (CSI,
        0-100), ``se``, ``ci_low``, ``ci_high`` (:func:`analysis_helpers.kpis.csi`).
    """
    from analysis_helpers.drivers import with_index_weights
    from analysis_helpers.kpis import csi

    derived = weights.set_index("area")["weight_derived"].fillna(0.0)
    if not derived.sum() > 0:
        raise ValueError("rollup_comparison: no area has a positive derived weight")
    rows = []
    for name, h in (("study", hierarchy), ("model", with_index_weights(hierarchy, derived))):
        r = csi(data, hierarchy=h, design=design, confidence=confidence)
        top = r[r["level"] == "index"].iloc[0]
        rows.append({"weights": name, "n": int(top["n"]), "estimate": float(top["estimate"]),
                     "se": float(top["se"]), "ci_low": float(top["ci_low"]),
                     "ci_high": float(top["ci_high"])})  # fmt: skip
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class ModelRun:
    """A fitted model with its bootstrap, or the one sentence why there is none.

    Attributes
    ----------
    fit : PLSFit or None
    boot : DataFrame or None
        :func:`~analysis_helpers.pls.pls_bootstrap` output (with the index rows).
    problem : str or None
        Why the model or its bootstrap could not be estimated (then ``fit`` and ``boot``
        are None): the page shows this sentence in place of the model.
    """

    fit: PLSFit | None
    boot: pd.DataFrame | None
    problem: str | None = None


def estimate_model(
    data: pd.DataFrame,
    *,
    model: PathModel | None,
    design: SurveyDesign | None,
    scale_min: float | Mapping[str, float] | None,
    scale_max: float | Mapping[str, float] | None,
    n_boot: int = 200,
    method: str = "percentile",
    confidence: float = 0.95,
    random_state: int | None = None,
    floor: int = 30,
    language: str = "en",
) -> ModelRun:
    """Fit the model and bootstrap it, turning what cannot be done into a sentence.

    :func:`model_problem` first (no model, an item not in the data, too small a base);
    then :func:`~analysis_helpers.pls.fit_pls` - a :class:`PathModelError` (an item
    without variance, no convergence) becomes ``problem``; then
    :func:`~analysis_helpers.pls.pls_bootstrap` - too few converged replicates become
    ``problem`` too (every table of the page needs the intervals). The sentences are in
    ``language`` (the text tables).

    Returns
    -------
    ModelRun
    """
    problem = model_problem(data, model=model, floor=floor, language=language)
    if problem is not None:
        return ModelRun(None, None, problem)
    assert model is not None
    try:
        fit = fit_pls(data, model=model, design=design)
    except (PathModelError, ValueError) as exc:
        return ModelRun(None, None, template("pls.not_estimated", language).format(error=exc))
    try:
        boot = pls_bootstrap(data, model=model, design=design, n_boot=n_boot, method=method,
                             confidence=confidence, random_state=random_state,
                             scale_min=scale_min, scale_max=scale_max)  # fmt: skip
    except (PathModelError, ValueError) as exc:
        return ModelRun(None, None, template("pls.no_bootstrap", language).format(error=exc))
    return ModelRun(fit, boot)
