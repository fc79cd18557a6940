"""The 0-100 satisfaction index of every construct, and the importance-performance map.

Index (Fornell et al. 1996, J. Marketing 60(4); ECSI Technical Committee 1998)
--------------------------------------------------------------------------
Each item is put on 0-100, ``x100 = 100 (x - scale_min) / (scale_max - scale_min)``, and
each construct's outer weights are taken on the raw item metric (unstandardised),
converted to the 0-100 metric (``w_i (scale_max_i - scale_min_i)``) and rescaled to sum to
1 within the block. A respondent's index of a construct is the weighted average of the
0-100 items they answered (the weights renormalised over those items); the index of a
group is the survey-weighted mean of its respondents' scores. With complete answers this
is exactly ``sum_i w_i * mean(x100_i)``, the published formula.

**Standard errors.** The index is a domain mean of a per-respondent score, so its SE, its
interval and the tests of differences between segments or waves are those of
:func:`~analysis_helpers.estimation.survey_mean` and
:func:`~analysis_helpers.estimation.domain_difference` (Taylor linearisation with the
design's strata and clusters, R ``svymean`` / ``svyby`` / ``svyttest``). The outer weights
are held fixed at the model's estimates in these SEs: they answer "did customers rate the
items differently", with one set of weights for every group, which is how national
indices compare companies and years. The uncertainty of the weights themselves is in the
``index`` rows of :func:`~analysis_helpers.pls.pls_bootstrap`.

Importance-performance map (IPMA; Ringle & Sarstedt 2016, Ind. Management & Data Systems
116(9))
--------------------------------------------------------------------------------------
*Importance* of a construct is its unstandardised total effect on the target construct
when every construct is scored on 0-100 as above: one point more of its performance moves
the target by ``importance`` points. Since a 0-100 score is ``c_j`` times the standardised
score plus a constant, with ``c_j = 100 / sum_i w_i (scale_max_i - scale_min_i)``, the
unstandardised total effect is the standardised one times ``c_target / c_j``. *Performance*
is the construct's index. For items, importance is the item's 0-100 weight times its
construct's importance, performance the item's mean on 0-100. Per segment, the model is
estimated within each segment (importance differs between segments; that is the point).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from analysis_helpers.estimation import SurveyDesign, domain_difference, survey_mean
from analysis_helpers.pls import _kernel
from analysis_helpers.pls.bootstrap import _item_ranges
from analysis_helpers.pls.fit import PLSFit, fit_pls
from analysis_helpers.pls.model import PathModel, PathModelError
from analysis_helpers.text import template

__all__ = [
    "index_weights",
    "index_scores",
    "construct_index",
    "index_difference",
    "ipma",
    "ipma_items",
    "ipma_action",
    "ACTION_KEYS",
    "ACTION_TEMPLATE",
]

#: the text-table key of the action sentence by ``reason``; every field is a column of
#: :func:`ipma_action`
ACTION_KEYS = {
    "concentrate here": "pls.action_concentrate",
    "highest importance": "pls.action_highest",
}
#: the action sentence by ``reason`` in English (``text/en.yml``)
ACTION_TEMPLATE = {reason: template(key, "en") for reason, key in ACTION_KEYS.items()}


def _ranges(fit: PLSFit, scale_min, scale_max, who: str) -> tuple[np.ndarray, np.ndarray]:
    r = _item_ranges(fit.model, scale_min, scale_max, who)
    if r is None:
        raise ValueError(f"{who}: scale_min and scale_max are required (the items' scale range)")
    return r


def _w100(fit: PLSFit, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Per item: the 0-100 index weight (sums to 1 within each block)."""
    raw = fit.raw_weights().to_numpy() * (hi - lo)
    st = fit.model.structure()
    sums = np.bincount(st.block_of, weights=raw, minlength=st.n_blocks)
    return raw / sums[st.block_of]


def index_weights(
    fit: PLSFit,
    *,
    scale_min: float | Mapping[str, float],
    scale_max: float | Mapping[str, float],
) -> pd.DataFrame:
    """Return the items' index weights: rescaled unstandardised outer weights (Fornell et al. 1996).

    Parameters
    ----------
    fit : PLSFit
    scale_min, scale_max : number or mapping item -> number
        Each item's scale range.

    Returns
    -------
    DataFrame
        One row per item: ``block``, ``item``, ``weight`` (outer weight on the raw item
        metric), ``index_weight`` (on the 0-100 metric, summing to 1 within the block -
        the weights to feed a CSI roll-up, :func:`analysis_helpers.kpis.with_item_weights`),
        ``flag`` (``"negative weight"`` where a weight is below 0: the item then lowers
        the index as its score rises; check its coding).

    References
    ----------
    Fornell, C., Johnson, M. D., Anderson, E. W., Cha, J., & Bryant, B. E. (1996). The
    American Customer Satisfaction Index: Nature, purpose, and findings. *Journal of
    Marketing*, 60(4), 7-18.

    Examples
    --------
    On items of one range the index weights are the raw outer weights scaled to sum to 1
    within each block: 0.4686 / (0.4686 + 0.3838) = 0.5498.

    >>> df = pd.DataFrame(
    ...     {
    ...         "a1": [1, 2, 3, 4, 5, 2, 4, 3],
    ...         "a2": [2, 2, 3, 5, 4, 1, 4, 3],
    ...         "b1": [2, 1, 3, 4, 5, 2, 5, 2],
    ...         "b2": [1, 2, 4, 4, 5, 3, 4, 3],
    ...     }
    ... )
    >>> m = PathModel(blocks={"A": ["a1", "a2"], "B": ["b1", "b2"]}, paths=[("A", "B")])
    >>> fit = fit_pls(df, model=m)
    >>> w = index_weights(fit, scale_min=1, scale_max=5)
    >>> w[["block", "item", "weight", "index_weight"]].round(4)
      block item  weight  index_weight
    0     A   a1  0.4686        0.5498
    1     A   a2  0.3838        0.4502
    2     B   b1  0.3743        0.4625
    3     B   b2  0.4350        0.5375
    """
    lo, hi = _ranges(fit, scale_min, scale_max, "index_weights")
    w = _w100(fit, lo, hi)
    raw = fit.raw_weights().to_numpy()
    return pd.DataFrame(
        {
            "block": fit._blocks,
            "item": fit.items,
            "weight": raw,
            "index_weight": w,
            "flag": np.where(w < 0, "negative weight", ""),
        }
    )


def index_scores(
    data: pd.DataFrame,
    *,
    fit: PLSFit,
    scale_min: float | Mapping[str, float],
    scale_max: float | Mapping[str, float],
) -> pd.DataFrame:
    """Compute each respondent's 0-100 index of every construct.

    The weighted average of the respondent's 0-100 item scores with the index weights,
    renormalised over the items answered; NaN where none of the block's items is answered.

    Returns
    -------
    DataFrame
        Indexed as ``data``, one column per construct.
    """
    lo, hi = _ranges(fit, scale_min, scale_max, "index_scores")
    absent = [c for c in fit.items if c not in data.columns]
    if absent:
        raise KeyError(f"index_scores: item column {absent[0]!r} is not in the data")
    X = data[fit.items].to_numpy(dtype=float, na_value=np.nan)
    x100 = (X - lo) / (hi - lo) * 100.0
    w = _w100(fit, lo, hi)
    ok = ~np.isnan(x100)
    st = fit.model.structure()
    out = {}
    for j, c in enumerate(fit.constructs):
        idx = st.items_of(j)
        num = (np.where(ok[:, idx], x100[:, idx], 0.0) * w[idx]).sum(axis=1)
        den = (ok[:, idx] * w[idx]).sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[c] = np.where(ok[:, idx].any(axis=1), num / den, np.nan)
    return pd.DataFrame(out, index=data.index)


def _score_frame(data, fit, scale_min, scale_max, design, keep: Sequence[str], who: str):
    sc = index_scores(data, fit=fit, scale_min=scale_min, scale_max=scale_max)
    names = {c: f"__index_{k}" for k, c in enumerate(fit.constructs)}
    frame = sc.rename(columns=names)
    cols = list(dict.fromkeys([*keep, *(design.roles().values() if design else [])]))
    for col in cols:
        if col not in data.columns:
            raise KeyError(f"{who}: column {col!r} is not in the data")
        frame[col] = data[col].to_numpy()
    return frame, names


def construct_index(
    data: pd.DataFrame,
    *,
    fit: PLSFit,
    scale_min: float | Mapping[str, float],
    scale_max: float | Mapping[str, float],
    by: str | Sequence[str] = (),
    design: SurveyDesign | None = None,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Compute the 0-100 index of every construct, overall or per group, with design-based CIs.

    Parameters
    ----------
    data : DataFrame
        One row per respondent (the fitted data, or another wave scored with the same
        weights).
    fit : PLSFit
    scale_min, scale_max : number or mapping item -> number
    by : str or sequence of str
        Groups (segments, waves); each a domain of the whole design.
    design : SurveyDesign, optional
        Default: the design ``fit`` was estimated with.
    confidence : float

    Returns
    -------
    DataFrame
        The ``by`` columns, ``block``, ``n``, ``n_weighted``, ``n_effective``,
        ``estimate`` (0-100), ``se``, ``ci_low``, ``ci_high`` (outer weights held fixed;
        see the module notes).

    References
    ----------
    Fornell, C., Johnson, M. D., Anderson, E. W., Cha, J., & Bryant, B. E. (1996). The
    American Customer Satisfaction Index: Nature, purpose, and findings. *Journal of
    Marketing*, 60(4), 7-18.

    Examples
    --------
    Both items of ``A`` have mean 3 on 1-5, so its index is 100 (3 - 1) / 4 = 50 whatever
    the weights; ``B``'s items score 50 and 56.25, weighted 0.4625 and 0.5375: 53.36.

    >>> df = pd.DataFrame(
    ...     {
    ...         "a1": [1, 2, 3, 4, 5, 2, 4, 3],
    ...         "a2": [2, 2, 3, 5, 4, 1, 4, 3],
    ...         "b1": [2, 1, 3, 4, 5, 2, 5, 2],
    ...         "b2": [1, 2, 4, 4, 5, 3, 4, 3],
    ...     }
    ... )
    >>> m = PathModel(blocks={"A": ["a1", "a2"], "B": ["b1", "b2"]}, paths=[("A", "B")])
    >>> fit = fit_pls(df, model=m)
    >>> t = construct_index(df, fit=fit, scale_min=1, scale_max=5)
    >>> t[["block", "n", "estimate"]].round(2)
      block  n  estimate
    0     A  8     50.00
    1     B  8     53.36
    """
    design = design if design is not None else fit.design
    by = [by] if isinstance(by, str) else list(by)
    frame, names = _score_frame(data, fit, scale_min, scale_max, design, by, "construct_index")
    res = survey_mean(
        frame, items=list(names.values()), by=by, design=design, confidence=confidence
    )
    back = {v: k for k, v in names.items()}
    res["block"] = res.pop("item").map(back)
    cols = [*by, "block", "n", "n_weighted", "n_effective", "estimate", "se", "ci_low", "ci_high"]
    return res[cols]


def index_difference(
    data: pd.DataFrame,
    *,
    fit: PLSFit,
    scale_min: float | Mapping[str, float],
    scale_max: float | Mapping[str, float],
    by: str,
    values: Sequence | None = None,
    within: str | Sequence[str] = (),
    design: SurveyDesign | None = None,
    confidence: float = 0.95,
    distribution: str = "t",
) -> pd.DataFrame:
    """Test the difference of every construct's index between two groups with the design.

    "67 vs 63": the index of the second value of ``by`` minus the first, its SE with the
    covariance the design induces between the groups, a t (or z) test and interval
    (:func:`~analysis_helpers.estimation.domain_difference`, R ``svyttest``), outer weights
    held fixed.

    Parameters
    ----------
    by : str
        The column that defines the two groups (a segment, or the wave).
    values : pair, optional
        ``(first, second)`` values of ``by``; default its two values.
    within : str or sequence of str
        A difference per group of these columns (e.g. wave-on-wave within each segment).
    design : SurveyDesign, optional
        Default: the design ``fit`` was estimated with.
    distribution : {"t", "normal"}

    Returns
    -------
    DataFrame
        The ``within`` columns, ``block``, ``value_1``, ``value_2``, ``n_1``, ``n_2``,
        ``estimate_1``, ``estimate_2``, ``estimate`` (2 - 1), ``se``, ``statistic``,
        ``df``, ``p_value``, ``ci_low``, ``ci_high``.
    """
    design = design if design is not None else fit.design
    within = [within] if isinstance(within, str) else list(within)
    frame, names = _score_frame(
        data, fit, scale_min, scale_max, design, [by, *within], "index_difference"
    )
    parts = []
    for c, col in names.items():
        r = domain_difference(frame, items=col, by=by, values=values, within=within,
                              design=design, confidence=confidence,
                              distribution=distribution)  # fmt: skip
        r["item"] = c
        parts.append(r.rename(columns={"item": "block"}))
    out = pd.concat(parts, ignore_index=True)
    cols = [*within, "block", "value_1", "value_2", "n_1", "n_2", "estimate_1", "estimate_2",
            "estimate", "se", "statistic", "df", "p_value", "ci_low", "ci_high"]  # fmt: skip
    return out[cols]


# --------------------------------------------------------------------------------------
# IPMA
# --------------------------------------------------------------------------------------
def _groups(data: pd.DataFrame, by: list[str], who: str):
    for col in by:
        if col not in data.columns:
            raise KeyError(f"{who}: by column {col!r} is not in the data")
    if not by:
        yield {}, data
        return
    for key, part in data.groupby(by, sort=True, observed=True, dropna=True):
        key = key if isinstance(key, tuple) else (key,)
        yield dict(zip(by, key, strict=True)), part


def _weight_only(design: SurveyDesign | None) -> SurveyDesign | None:
    """Return the weight of a design: all a group's fit and point estimates need.

    A segment may hold a single PSU of some stratum, which a full design would reject.
    """
    if design is None or design.weight is None:
        return None
    return SurveyDesign(weight=design.weight)


def _fit_group(part, model, design, scaled, missing, key, who):
    try:
        return fit_pls(part, model=model, design=design, scaled=scaled, missing=missing)
    except (PathModelError, ValueError) as exc:
        where = ", ".join(f"{k}={v!r}" for k, v in key.items())
        raise type(exc)(f"{who}: in group {where}: {exc}") from None


def _importance(fit: PLSFit, target: str, lo, hi) -> dict[str, tuple[float, float]]:
    """Per construct with an effect on ``target``: (unstandardised, standardised) total."""
    raw = fit.raw_weights().to_numpy() * (hi - lo)
    st = fit.model.structure()
    c = 100.0 / np.bincount(st.block_of, weights=raw, minlength=st.n_blocks)
    T = _kernel.total_effects(fit._sol.paths)[0]
    names = fit.constructs
    t = names.index(target)
    reach = _kernel.total_effects(st.adjacency[None].astype(float))[0][:, t] > 0
    return {names[j]: (T[j, t] * c[t] / c[j], T[j, t]) for j in range(len(names)) if reach[j]}


def ipma(
    data: pd.DataFrame,
    *,
    model: PathModel,
    scale_min: float | Mapping[str, float],
    scale_max: float | Mapping[str, float],
    target: str | None = None,
    by: str | Sequence[str] = (),
    design: SurveyDesign | None = None,
    scaled: bool = True,
    missing: str = "mean",
) -> pd.DataFrame:
    """Compute the importance-performance map of the constructs that drive the target.

    After Ringle & Sarstedt (2016), overall or per segment.

    Parameters
    ----------
    data : DataFrame
    model : PathModel
        Estimated within each group of ``by``.
    scale_min, scale_max : number or mapping item -> number
    target : str, optional
        Default: ``model.target_construct``.
    by : str or sequence of str
        Segments; one map per segment.
    design : SurveyDesign, optional
        Only its weight is used (the map has no standard errors; the bootstrap gives
        intervals of the total effects and indices).
    scaled, missing
        As :func:`~analysis_helpers.pls.fit_pls`.

    Returns
    -------
    DataFrame
        One row per group and construct with a total effect on the target: the ``by``
        columns, ``target``, ``block``, ``importance`` (unstandardised total effect on the
        0-100 target per 0-100 point of the construct), ``total_effect`` (standardised),
        ``performance`` (the construct's 0-100 index), ``importance_mean``,
        ``performance_mean`` (the map's crosshair: means over the group's constructs),
        ``quadrant`` ("concentrate here" = importance above and performance below the
        means, "keep up the good work", "low priority", "possible overkill"), ``priority``
        (1 = improve first: "concentrate here" constructs by importance, then the rest by
        importance), ``n`` (respondents in the group's model).

    References
    ----------
    Ringle, C. M., & Sarstedt, M. (2016). Gain more insight from your PLS-SEM results: The
    importance-performance map analysis. *Industrial Management & Data Systems*, 116(9),
    1865-1886.

    Examples
    --------
    One driver ``A`` of the target ``B``: its importance is the unstandardised total effect
    on the 0-100 metrics, its performance its 0-100 index (see :func:`construct_index`).

    >>> df = pd.DataFrame(
    ...     {
    ...         "a1": [1, 2, 3, 4, 5, 2, 4, 3],
    ...         "a2": [2, 2, 3, 5, 4, 1, 4, 3],
    ...         "b1": [2, 1, 3, 4, 5, 2, 5, 2],
    ...         "b2": [1, 2, 4, 4, 5, 3, 4, 3],
    ...     }
    ... )
    >>> m = PathModel(blocks={"A": ["a1", "a2"], "B": ["b1", "b2"]}, paths=[("A", "B")])
    >>> t = ipma(df, model=m, scale_min=1, scale_max=5)
    >>> t[["target", "block", "importance", "total_effect", "performance", "n"]].round(4)
      target block  importance  total_effect  performance  n
    0      B     A      0.9562        0.9079         50.0  8
    """
    who = "ipma"
    target = target if target is not None else model.target_construct
    if target not in model.blocks:
        raise PathModelError(f"{who}: target {target!r} is not a construct of the model")
    by = [by] if isinstance(by, str) else list(by)
    design = _weight_only(design)
    rows = []
    for key, part in _groups(data, by, who):
        fit = _fit_group(part, model, design, scaled, missing, key, who)
        lo, hi = _ranges(fit, scale_min, scale_max, who)
        imp = _importance(fit, target, lo, hi)
        perf = construct_index(part, fit=fit, scale_min=scale_min, scale_max=scale_max,
                               design=design).set_index("block")["estimate"]  # fmt: skip
        for c, (u, s) in imp.items():
            rows.append({**key, "target": target, "block": c, "importance": u,
                         "total_effect": s, "performance": float(perf[c]), "n": fit.n})  # fmt: skip
    out = pd.DataFrame(rows)
    return _quadrants(out, by)


def _quadrants(out: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    if out.empty:
        return out
    g = out.groupby(by, sort=False) if by else None
    out["importance_mean"] = g["importance"].transform("mean") if g else out["importance"].mean()
    out["performance_mean"] = g["performance"].transform("mean") if g else out["performance"].mean()
    hi_imp = out["importance"] > out["importance_mean"]
    hi_perf = out["performance"] >= out["performance_mean"]
    out["quadrant"] = np.select(
        [hi_imp & ~hi_perf, hi_imp & hi_perf, ~hi_imp & ~hi_perf],
        ["concentrate here", "keep up the good work", "low priority"],
        "possible overkill",
    )
    key = (out["quadrant"] != "concentrate here").astype(int) * 1e12 - out["importance"]
    out["_key"] = key
    out["priority"] = (
        out.groupby(by, sort=False)["_key"].rank(method="first") if by else key.rank(method="first")
    ).astype(int)
    cols = [*by, "target", "block", *(["item"] if "item" in out.columns else []),
            "importance", "total_effect", "performance",
            "importance_mean", "performance_mean", "quadrant", "priority", "n"]  # fmt: skip
    cols += [c for c in out.columns if c not in cols and c != "_key"]
    return out[cols].reset_index(drop=True)


def ipma_items(
    data: pd.DataFrame,
    *,
    model: PathModel,
    scale_min: float | Mapping[str, float],
    scale_max: float | Mapping[str, float],
    target: str | None = None,
    by: str | Sequence[str] = (),
    design: SurveyDesign | None = None,
    scaled: bool = True,
    missing: str = "mean",
) -> pd.DataFrame:
    """Compute the item-level IPMA: the items of the constructs that drive the target.

    Returns
    -------
    DataFrame
        One row per group and item (the target's own items excluded): the ``by``
        columns, ``target``, ``block``, ``item``, ``importance`` (the item's index weight
        x its construct's importance: target points per 0-100 point of the item),
        ``performance`` (the item's weighted mean on 0-100), then the crosshair,
        ``quadrant`` and ``priority`` columns as :func:`ipma` (over the group's items),
        ``n``.
    """
    who = "ipma_items"
    target = target if target is not None else model.target_construct
    if target not in model.blocks:
        raise PathModelError(f"{who}: target {target!r} is not a construct of the model")
    by = [by] if isinstance(by, str) else list(by)
    design = _weight_only(design)
    rows = []
    for key, part in _groups(data, by, who):
        fit = _fit_group(part, model, design, scaled, missing, key, who)
        lo, hi = _ranges(fit, scale_min, scale_max, who)
        imp = _importance(fit, target, lo, hi)
        w = _w100(fit, lo, hi)
        perf = (fit.means.to_numpy() - lo) / (hi - lo) * 100.0
        for k, (b, item) in enumerate(zip(fit._blocks, fit.items, strict=True)):
            if b in imp:
                rows.append({**key, "target": target, "block": b, "item": item,
                             "importance": w[k] * imp[b][0], "total_effect": np.nan,
                             "performance": perf[k], "n": fit.n})  # fmt: skip
    out = _quadrants(pd.DataFrame(rows), by)
    return out.drop(columns=["total_effect"]) if not out.empty else out


def ipma_action(table: pd.DataFrame, *, labels: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Return what to improve first, per group: the data of the action sentence.

    The construct (or item) with ``priority`` 1 of :func:`ipma` (or :func:`ipma_items`):
    the most important one in the "concentrate here" quadrant, or the most important one
    overall when that quadrant is empty. Fill ``ACTION_TEMPLATE[row.reason]`` with a row's
    fields (``str.format(**row)``).

    Parameters
    ----------
    table : DataFrame
        Output of :func:`ipma` or :func:`ipma_items`.
    labels : mapping, optional
        Display text of construct and item names (default: the names).

    Returns
    -------
    DataFrame
        One row per group: the group columns, ``target``, ``target_label``, ``block``
        (and ``item`` for an item map), ``label``, ``importance``, ``performance``,
        ``headroom`` (100 - performance), ``gain`` (importance x headroom: target points
        if it reached 100), ``quadrant``, ``reason`` (``"concentrate here"`` or
        ``"highest importance"``), ``runner_up`` (the next priority, or empty),
        ``runner_up_importance``.
    """
    need = ["target", "block", "importance", "performance", "quadrant", "priority"]
    absent = [c for c in need if c not in table.columns]
    if absent:
        raise KeyError(f"ipma_action: table lacks column(s) {absent}")
    labels = dict(labels or {})
    # the statistics and display columns; every other column is a group key ("label", a
    # display column added to a map, is not: grouping by it made every item its own group)
    stat = {"target", "block", "item", "importance", "total_effect", "performance",
            "importance_mean", "performance_mean", "quadrant", "priority", "n",
            "label"}  # fmt: skip
    by = [c for c in table.columns if c not in stat]
    name_col = "item" if "item" in table.columns else "block"
    rows = []
    groups = table.groupby(by, sort=False) if by else [((), table)]
    for key, part in groups:
        part = part.sort_values("priority")
        first = part.iloc[0]
        second = part.iloc[1] if len(part) > 1 else None
        key = key if isinstance(key, tuple) else (key,)
        row = dict(zip(by, key, strict=True))
        row.update(
            target=first["target"],
            target_label=labels.get(first["target"], first["target"]),
            block=first["block"],
        )
        if name_col == "item":
            row["item"] = first["item"]
        row.update(
            label=labels.get(first[name_col], first[name_col]),
            importance=float(first["importance"]),
            performance=float(first["performance"]),
            headroom=100.0 - float(first["performance"]),
            gain=float(first["importance"]) * (100.0 - float(first["performance"])),
            quadrant=first["quadrant"],
            reason="concentrate here"
            if first["quadrant"] == "concentrate here"
            else "highest importance",
            runner_up="" if second is None else labels.get(second[name_col], second[name_col]),
            runner_up_importance=np.nan if second is None else float(second["importance"]),
        )
        rows.append(row)
    return pd.DataFrame(rows)
