"""Customer-satisfaction KPIs with design-based standard errors.

CSAT (mean score), top-box share, NPS, customer effort (CES), the customer satisfaction
index (CSI) rolled up item > indicator > area > index, the expectation-satisfaction gap,
Cronbach's alpha, answer distributions and small-base flags. Every function takes the
design of :class:`~analysis_helpers.estimation.SurveyDesign` and returns a tidy frame with
the unweighted ``n``, weighted ``n_weighted`` and Kish ``n_effective`` bases; standard
errors are Taylor-linearised exactly as in :mod:`analysis_helpers.estimation`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from ._checks import (
    as_names,
    check_choice,
    check_columns,
    check_confidence,
    numeric_values,
    show,
    weight_values,
)
from ._compat import renamed, warn_deprecated
from ._design import (
    Groups,
    SurveyDesign,
    base_columns,
    finish,
    logit_ci,
    mean_parts,
    normal_quantile,
    setup,
    srs_factor,
    t_quantile,
)
from .drivers.index_weights import with_index_weights
from .estimation import domain_difference, survey_mean

__all__ = [
    "default_top_box",
    "csat",
    "top_box",
    "nps",
    "nps_difference",
    "ces",
    "csi",
    "with_item_weights",
    "expectation_gap",
    "cronbach_alpha",
    "flag_small_bases",
    "item_distribution",
]


def default_top_box(scale_min: int, scale_max: int) -> tuple[int, int]:
    """Return the top-2 box of an integer scale: ``(scale_max - 1, scale_max)``.

    Examples
    --------
    >>> default_top_box(1, 5)
    (4, 5)
    >>> default_top_box(0, 10)
    (9, 10)
    """
    if scale_max - scale_min < 2:
        raise ValueError(
            f"default_top_box: scale {scale_min}-{scale_max} is too short for a top-2 box"
        )
    return (int(scale_max) - 1, int(scale_max))


@renamed(level="confidence")
def csat(
    data: pd.DataFrame,
    *,
    items: str | Sequence[str],
    by: str | Sequence[str] = (),
    design: SurveyDesign | None = None,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Compute CSAT: the weighted mean score of each item (see :func:`~.estimation.survey_mean`)."""
    return survey_mean(data, items=items, by=by, design=design, confidence=confidence)


def _share_rows(groups: Groups, y: np.ndarray, valid: np.ndarray, df, confidence, method):
    p = mean_parts(groups, y, valid=valid)
    n, W = p["n"], p["W"]
    est = np.where(n > 0, p["estimate"], np.nan)
    se = np.where(n > 0, np.sqrt(p["var"]), np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        s2 = n / (n - 1) * p["ss"] / W
        deff = p["var"] / (s2 / n * srs_factor(n, W))
    if method == "logit":
        lo, hi = logit_ci(est, se, df, confidence)
    else:
        q = normal_quantile(confidence)
        lo, hi = est - q * se, est + q * se
    # a share of exactly 0 or 1 has a zero linearised SE, and any SE-based interval
    # collapses to a point; use the Clopper-Pearson bound on the Kish effective n instead
    # (as R's svyciprop(method = "beta") does), so "0%" never reads as certain
    with np.errstate(divide="ignore", invalid="ignore"):
        n_eff = W**2 / p["W2"]
        tail = ((1 - confidence) / 2) ** (1 / n_eff)
    zero, one = (n > 0) & (est == 0), (n > 0) & (est == 1)
    lo, hi = np.where(zero, 0.0, lo), np.where(zero, 1 - tail, hi)
    lo, hi = np.where(one, tail, lo), np.where(one, 1.0, hi)
    return {
        **base_columns(groups, n, W, p["W2"]),
        "estimate": est,
        "se": se,
        "ci_low": lo,
        "ci_high": hi,
        "deff": deff,
    }


@renamed(level="confidence")
def top_box(
    data: pd.DataFrame,
    *,
    items: str | Sequence[str],
    top: Collection[float],
    by: str | Sequence[str] = (),
    design: SurveyDesign | None = None,
    confidence: float = 0.95,
    method: str = "logit",
) -> pd.DataFrame:
    """Estimate the share of respondents answering in the top box, per group and item.

    Parameters
    ----------
    data : DataFrame
        One row per respondent.
    items : str or sequence of str
        Numeric rating columns; missing answers are left out of the base (a domain).
    top : collection of numbers
        The codes counted as top box, e.g. ``(4, 5)`` on 1-5 or ``(9, 10)`` on 0-10
        (:func:`default_top_box`).
    by, design, confidence
        As :func:`~.estimation.survey_mean`.
    method : {"logit", "wald"}
        Interval as :func:`~.estimation.survey_proportion`.

    Returns
    -------
    DataFrame
        The ``by`` columns, ``item``, ``n``, ``n_weighted``, ``n_effective``, ``estimate``
        in [0, 1], ``se``, ``ci_low``, ``ci_high``, ``deff``.

    References
    ----------
    Lumley, T. (2010). *Complex Surveys*, ch. 2 (``svyciprop``, logit interval);
    Clopper, C. J., & Pearson, E. S. (1934). *Biometrika*, 26(4), 404-413 (the interval
    of a share of exactly 0 or 1, on the Kish effective n).

    Examples
    --------
    >>> df = pd.DataFrame({"q": [4.0, 5, 3, 4]})
    >>> float(top_box(df, items="q", top=(4, 5))["estimate"].iloc[0])
    0.75
    """
    items = as_names(items, "items", "top_box")
    top = list(top) if not isinstance(top, str) else None
    if not top:
        raise ValueError(f"top_box: top must be a non-empty collection of codes, got {top!r}")
    if method not in ("logit", "wald"):
        raise ValueError(f"top_box: method {method!r}: use 'logit' or 'wald'")
    confidence = check_confidence(confidence, "top_box")
    prep, groups = setup(data, design, by, items, func="top_box")
    top_arr = np.asarray(top, dtype=float)
    rows = []
    for item in items:
        x = numeric_values(data, item, "item", "top_box")
        valid = ~np.isnan(x)
        y = np.isin(x, top_arr).astype(float)
        df = groups.degf(valid)
        rows.append({"item": item, **_share_rows(groups, y, valid, df, confidence, method)})
    cols = ["item", "n", "n_weighted", "n_effective", "estimate", "se", "ci_low", "ci_high", "deff"]
    return finish(groups, rows, cols)


def _check_range(data, item, x, lo, hi, func):
    bad = ~np.isnan(x) & ((x < lo) | (x > hi))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"{func}: item column {item!r}: row {show(data.index[i])} has value {show(x[i])} "
            f"outside the scale {lo}-{hi}"
        )


def _nps_score(data, item, promoter_min, detractor_max, func):
    if not promoter_min > detractor_max:
        raise ValueError(
            f"{func}: promoter_min ({promoter_min}) must exceed detractor_max ({detractor_max})"
        )
    x = numeric_values(data, item, "item", func)
    _check_range(data, item, x, 0, 10, func)
    score = np.where(x >= promoter_min, 1.0, np.where(x <= detractor_max, -1.0, 0.0))
    return x, np.where(np.isnan(x), np.nan, score)


@renamed(item="items", level="confidence")
def nps(
    data: pd.DataFrame,
    *,
    items: str | Sequence[str],
    by: str | Sequence[str] = (),
    design: SurveyDesign | None = None,
    confidence: float = 0.95,
    promoter_min: int = 9,
    detractor_max: int = 6,
) -> pd.DataFrame:
    """Compute the Net Promoter Score with design-based and adjusted-Wald intervals.

    Each respondent scores +1 (promoter, ``>= promoter_min``), -1 (detractor,
    ``<= detractor_max``) or 0; NPS is 100 times the weighted mean of the score, so its
    ``se`` is the design-based SE of that mean (in points), and ``ci_low``/``ci_high`` the
    normal interval from it.

    Two simple-random-sampling intervals are given beside it, computed from the shares
    ``p_pro``, ``p_det`` and a sample size ``m``, which is the unweighted ``n`` without
    weights and the Kish effective ``n_effective`` with them (the weighted shares are
    treated as coming from ``m`` independent answers):

    * ``wald_low``/``wald_high``: ``NPS +- z sqrt((p_pro + p_det - NPS^2) / m)``;
    * ``adj_wald_low``/``adj_wald_high``: Rocks (2016), The American Statistician 70(4):
      add 3/4 to the promoter and detractor counts and 3 to ``m``, then the Wald formula.
      Better coverage at small bases.

    Parameters
    ----------
    data : DataFrame
        One row per respondent.
    items : str or sequence of str
        The 0-10 recommendation question(s); values outside 0-10 are an error.
    by, design, confidence
        As :func:`~.estimation.survey_mean`.
    promoter_min, detractor_max : int
        Promoters answer ``>= promoter_min``, detractors ``<= detractor_max``.

    Returns
    -------
    DataFrame
        One row per group and item: the ``by`` columns, ``item``, ``n``, ``n_weighted``,
        ``n_effective``, ``pct_promoters``, ``pct_passives``, ``pct_detractors`` (0-100), ``estimate`` (NPS
        points, -100..100), ``se``, ``ci_low``, ``ci_high``, ``wald_low``, ``wald_high``,
        ``adj_wald_low``, ``adj_wald_high``.

    References
    ----------
    Reichheld, F. F. (2003). The one number you need to grow. *Harvard Business Review*,
    81(12), 46-54. Rocks, S. A. (2016). Interval estimation for the "net promoter score".
    *The American Statistician*, 70(4), 365-372.

    Examples
    --------
    >>> r = pd.DataFrame({"rec": [10, 9, 8, 6, 3, 10]})
    >>> t = nps(r, items="rec")
    >>> t[["item", "n", "pct_promoters"]].to_dict("records")
    [{'item': 'rec', 'n': 6, 'pct_promoters': 50.0}]
    >>> round(float(t["estimate"].iloc[0]), 2)  # 50% promoters - 33.3% detractors
    16.67
    """
    items = as_names(items, "items", "nps", empty=False)
    confidence = check_confidence(confidence, "nps")
    prep, groups = setup(data, design, by, items, func="nps")
    q = normal_quantile(confidence)
    rows = []
    for item in items:
        x, score = _nps_score(data, item, promoter_min, detractor_max, "nps")
        valid = ~np.isnan(x)
        p = mean_parts(groups, score, valid=valid)
        pro = mean_parts(groups, (score == 1).astype(float), valid=valid)["estimate"]
        det = mean_parts(groups, (score == -1).astype(float), valid=valid)["estimate"]
        base = base_columns(groups, p["n"], p["W"], p["W2"])
        has = p["n"] > 0
        est = np.where(has, p["estimate"], np.nan)
        se = np.where(has, np.sqrt(p["var"]), np.nan)
        m = base["n_effective"] if design is not None and design.weight is not None else p["n"]
        with np.errstate(divide="ignore", invalid="ignore"):
            wald_se = np.sqrt((pro + det - est**2) / m)
            ma = m + 3
            pro_a = (pro * m + 0.75) / ma
            det_a = (det * m + 0.75) / ma
            nps_a = pro_a - det_a
            adj_se = np.sqrt((pro_a + det_a - nps_a**2) / ma)
        rows.append(
            {
                "item": item,
                **base,
                "pct_promoters": 100 * pro,
                "pct_passives": 100 * (1 - pro - det),
                "pct_detractors": 100 * det,
                "estimate": 100 * est,
                "se": 100 * se,
                "ci_low": 100 * (est - q * se),
                "ci_high": 100 * (est + q * se),
                "wald_low": 100 * (est - q * wald_se),
                "wald_high": 100 * (est + q * wald_se),
                "adj_wald_low": 100 * (nps_a - q * adj_se),
                "adj_wald_high": 100 * (nps_a + q * adj_se),
            }
        )
    return finish(groups, rows, list(rows[0]))


@renamed(item="items", levels="values", level="confidence")
def nps_difference(
    data: pd.DataFrame,
    *,
    items: str | Sequence[str],
    by: str,
    values: Sequence | None = None,
    within: str | Sequence[str] = (),
    design: SurveyDesign | None = None,
    confidence: float = 0.95,
    promoter_min: int = 9,
    detractor_max: int = 6,
) -> pd.DataFrame:
    """Test the change in NPS between two domains (e.g. waves) with a design-based z test.

    The difference of the mean +1/0/-1 scores, with the SE from the joint design (the
    covariance between the domains included), see
    :func:`~.estimation.domain_difference` with ``distribution="normal"``.

    Returns
    -------
    DataFrame
        One row per item and ``within`` group: the ``within`` columns, ``item``,
        ``value_1``, ``value_2``, ``n_1``, ``n_2``, ``estimate_1``, ``estimate_2`` (NPS points), ``estimate`` (points, 2 - 1), ``se``,
        ``statistic`` (z), ``p_value``, ``ci_low``, ``ci_high``.

    References
    ----------
    Reichheld, F. F. (2003). The one number you need to grow. *Harvard Business Review*,
    81(12), 46-54. Rocks, S. A. (2016). Interval estimation for the "net promoter score".
    *The American Statistician*, 70(4), 365-372 (the NPS as the mean of +1/0/-1 scores).

    Examples
    --------
    Q1 has one promoter and two detractors of four (NPS 25 - 50 = -25); Q2 has three
    promoters and no detractor (75), a change of 100 points:

    >>> r = pd.DataFrame(
    ...     {"wave": ["Q1"] * 4 + ["Q2"] * 4, "rec": [10, 8, 6, 3, 10, 10, 9, 7]}
    ... )
    >>> t = nps_difference(r, items="rec", by="wave")
    >>> t[["item", "value_1", "value_2", "estimate_1", "estimate_2", "estimate"]]
      item value_1 value_2  estimate_1  estimate_2  estimate
    0  rec      Q1      Q2       -25.0        75.0     100.0
    """
    func = "nps_difference"
    items = as_names(items, "items", func, empty=False)
    check_columns(data, items, "item", func)
    scores = {
        f"__nps_score_{k}__": _nps_score(data, item, promoter_min, detractor_max, func)[1]
        for k, item in enumerate(items)
    }
    out = domain_difference(
        data.assign(**scores),
        items=list(scores),
        by=by,
        values=values,
        within=within,
        design=design,
        confidence=confidence,
        distribution="normal",
    )
    for c in ("estimate_1", "estimate_2", "estimate", "se", "ci_low", "ci_high"):
        out[c] = 100 * out[c]
    out["item"] = out["item"].map(dict(zip(scores, items, strict=True)))
    return out.drop(columns="df")


@renamed(level="confidence")
def ces(
    data: pd.DataFrame,
    *,
    items: str | Sequence[str],
    easy: Collection[float],
    by: str | Sequence[str] = (),
    design: SurveyDesign | None = None,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Compute the customer effort score: mean effort and the share answering "easy".

    The mean is of the codes as asked. On the usual effort wording ("how much effort did
    it take", 1 = very little) **lower is better**; pass the low codes as ``easy`` (e.g.
    ``(1, 2)``). On an ease wording (5 = very easy) higher is better and ``easy`` are the
    top codes. The ``easy_share`` is always "higher is better".

    Parameters
    ----------
    data : DataFrame
        One row per respondent.
    items : str or sequence of str
        Effort items.
    easy : collection of numbers
        The codes that mean "easy / low effort".
    by, design, confidence
        As :func:`~.estimation.survey_mean`.

    Returns
    -------
    DataFrame
        One row per group, item and ``measure`` ("mean" or "easy_share"): the ``by``
        columns, ``item``, ``measure``, ``n``, ``n_weighted``, ``n_effective``,
        ``estimate``, ``se``, ``ci_low``, ``ci_high``, ``deff``.

    References
    ----------
    Dixon, M., Freeman, K., & Toman, N. (2010). Stop trying to delight your customers.
    *Harvard Business Review*, 88(7/8), 116-122.

    Examples
    --------
    Effort on 1-5 (1 = very little): the mean is 14 / 5 = 2.8 and three of five answers
    are 1 or 2.

    >>> e = pd.DataFrame({"effort": [1, 2, 2, 4, 5]})
    >>> ces(e, items="effort", easy=(1, 2))[["item", "measure", "n", "estimate"]]
         item     measure  n  estimate
    0  effort        mean  5       2.8
    1  effort  easy_share  5       0.6
    """
    mean = survey_mean(data, items=items, by=by, design=design, confidence=confidence)
    share = top_box(data, items=items, top=easy, by=by, design=design, confidence=confidence)
    by = as_names(by, "by", "ces")
    mean.insert(len(by) + 1, "measure", "mean")
    share.insert(len(by) + 1, "measure", "easy_share")
    return pd.concat([mean, share], ignore_index=True)


# --------------------------------------------------------------------------------------
# CSI
# --------------------------------------------------------------------------------------
_HIER = ["item", "indicator", "area", "scale_min", "scale_max"]


def with_item_weights(hierarchy: pd.DataFrame, weights: Mapping | pd.Series) -> pd.DataFrame:
    """Return item weights (deprecated: use ``with_index_weights(..., level="item")``).

    The new call is ``with_index_weights(hierarchy, weights, level="item")``.

    :func:`analysis_helpers.drivers.with_index_weights` sets derived weights at any level
    of the hierarchy; this spelling is removed in the next release.
    """
    warn_deprecated(
        "kpis.with_item_weights is deprecated; use "
        'analysis_helpers.drivers.with_index_weights(hierarchy, weights, level="item")'
    )
    return with_index_weights(hierarchy, weights, level="item")


def _level_weights(h: pd.DataFrame, col: str, key: str, parent: str | None) -> pd.Series:
    """Normalised weights of the ``key`` nodes within their parent (NaN = equal)."""
    nodes = h.drop_duplicates(key)
    if col in h.columns:
        per = h.groupby(key, sort=False)[col].agg(lambda s: s.nunique(dropna=False))
        if (per > 1).any():
            bad = per.index[per > 1][0]
            raise ValueError(f"hierarchy column {col!r} varies within {key} {show(bad)}")
        raw = nodes.set_index(key)[col].astype(float)
    else:
        raw = pd.Series(np.nan, index=nodes[key])
    if (raw < 0).any() or np.isinf(raw).any():
        bad = raw.index[(raw < 0) | np.isinf(raw)][0]
        raise ValueError(f"hierarchy column {col!r}: {key} {show(bad)} has weight {show(raw[bad])}")
    par = nodes.set_index(key)[parent] if parent else pd.Series("index", index=raw.index)
    out = pd.Series(np.nan, index=raw.index)
    for pv, idx in par.groupby(par, sort=False).groups.items():
        r = raw.loc[idx]
        if r.isna().all():
            out.loc[idx] = 1.0 / len(idx)
        elif r.isna().any():
            raise ValueError(
                f"hierarchy column {col!r}: some but not all weights under {pv!r} are missing"
            )
        elif r.sum() <= 0:
            raise ValueError(f"hierarchy column {col!r}: the weights under {pv!r} sum to 0")
        else:
            out.loc[idx] = r / r.sum()
    return out


def _asked_items(
    data: pd.DataFrame, items: list[str], groups: Groups, w: np.ndarray
) -> dict[str, np.ndarray]:
    """Return, per item, which groups have at least one weighted answer to it.

    An item a group never answered (a question added in a later wave, a version of the
    questionnaire without it) leaves that group's index to the items it did answer.
    """
    out = {}
    for item in items:
        answered = data[item].notna().to_numpy() & groups.member
        out[item] = groups.sums(np.where(answered, w, 0.0)) > 0
    return out


def _group_coefficients(
    h: pd.DataFrame,
    items: list[str],
    keys: list[tuple[str, str]],
    coef: dict[tuple[str, str], dict[str, float]],
    asked: dict[str, np.ndarray],
    w_item: pd.Series,
    w_ind: pd.Series,
    w_area: pd.Series,
) -> list[dict[str, np.ndarray]]:
    """Return each node's item coefficients per group, renormalised over what was asked.

    Where every group answered every item, these are the study's path weights. Where a
    group left an item unanswered, the weights are renormalised at every level over the
    children with answers (an indicator without any answered item drops out of its area,
    an area out of the index), so the node is the weighted mean of what the group rated.
    """
    n_groups = len(next(iter(asked.values())))
    if all(a.all() for a in asked.values()):
        return [{i: np.full(n_groups, c) for i, c in coef[key].items()} for key in keys]
    item_ind = h.set_index("item")["indicator"]
    ind_area = h.drop_duplicates("indicator").set_index("indicator")["area"]
    A = {i: asked[i].astype(float) for i in items}

    def renorm(weights: pd.Series, avail: dict[str, np.ndarray], parent: pd.Series | None):
        raw = {c: weights[c] * avail[c] for c in weights.index}
        total: dict[str, np.ndarray] = {}
        for c, v in raw.items():
            pv = parent[c] if parent is not None else "index"
            total[pv] = total.get(pv, 0.0) + v
        out = {}
        for c, v in raw.items():
            t = total[parent[c] if parent is not None else "index"]
            with np.errstate(invalid="ignore", divide="ignore"):
                out[c] = np.where(t > 0, v / np.where(t > 0, t, 1.0), 0.0)
        return out

    wi = renorm(w_item, A, item_ind)
    a_ind = {k: np.zeros(n_groups) for k in w_ind.index}
    for i in items:
        a_ind[item_ind[i]] = np.maximum(a_ind[item_ind[i]], A[i])
    wn = renorm(w_ind, a_ind, ind_area)
    a_area = {k: np.zeros(n_groups) for k in w_area.index}
    for k in w_ind.index:
        a_area[ind_area[k]] = np.maximum(a_area[ind_area[k]], a_ind[k])
    wa = renorm(w_area, a_area, None)
    out = []
    for lvl, name in keys:
        path = {}
        for i in coef[(lvl, name)]:
            if lvl == "item":
                path[i] = A[i]
            elif lvl == "indicator":
                path[i] = wi[i]
            elif lvl == "area":
                path[i] = wi[i] * wn[item_ind[i]]
            else:
                path[i] = wi[i] * wn[item_ind[i]] * wa[ind_area[item_ind[i]]]
        out.append(path)
    return out


@renamed(level="confidence")
def csi(
    data: pd.DataFrame,
    *,
    hierarchy: pd.DataFrame,
    by: str | Sequence[str] = (),
    design: SurveyDesign | None = None,
    confidence: float = 0.95,
    item_weights: Mapping | pd.Series | None = None,
) -> pd.DataFrame:
    """Compute the customer satisfaction index (0-100), rolled up item > indicator > area > index.

    Each item mean is rescaled to 0-100, ``s_i = 100 (xbar_i - min_i) / (max_i - min_i)``;
    a node's index is the weighted mean of its children, so every node is a weighted sum
    ``sum_i a_i s_i`` of its items with ``a_i`` the product of the normalised weights on
    the path (``CSI = 100 sum w_i (xbar_i - min_i) / ((max_i - min_i) sum w_i)`` with
    equal weights). Because the index is linear in the item means, its influence values
    are the same combination of the items' influence values, and its SE comes from the
    joint design covariance of the item means. Item means use each item's own answered
    rows (missing answers are a domain).

    A group that has no answer at all to an item (a question first asked in a later wave,
    a version of the questionnaire without it) gets the index of what it did rate: the
    weights are renormalised over the answered children at every level, so its index
    equals the index computed with that item left out of the hierarchy. A node none of
    whose items the group answered is NaN for that group. The ``weight`` column keeps the
    study's weights; :func:`~analysis_helpers.study_tables.unasked_items` lists the gaps.

    Beside it, ``evaluation`` is the plain satisfaction evaluation: the equal-weight mean
    of the node's 0-100 item scores (importance weights ignored; respondents still
    weighted). Index and evaluation can disagree; the index is what to track.

    Parameters
    ----------
    data : DataFrame
        One row per respondent.
    hierarchy : DataFrame
        One row per item: ``item``, ``indicator``, ``area``, ``scale_min``, ``scale_max``,
        optionally ``weight_item``, ``weight_indicator``, ``weight_area`` (>= 0; all NaN
        under a parent = equal weights there). Other columns are ignored.
    by, design, confidence
        As :func:`~.estimation.survey_mean` (normal intervals).
    item_weights : mapping or Series, optional
        Derived item weights (item -> weight) that replace ``weight_item``; see
        :func:`~analysis_helpers.drivers.with_index_weights` with ``level="item"``.

    Returns
    -------
    DataFrame
        Per group, top-down: the ``by`` columns, ``level`` ("index", "area",
        "indicator", "item"), ``name`` ("index" for the index), ``parent``, ``weight``
        (normalised within the parent), ``n`` / ``n_weighted`` / ``n_effective``
        (respondents who answered at least one of the node's items), ``estimate``
        (0-100), ``se``, ``ci_low``, ``ci_high``, ``evaluation`` (0-100).

    References
    ----------
    Fornell, C. (1992). A national customer satisfaction barometer: The Swedish experience.
    *Journal of Marketing*, 56(1), 6-21. Fornell, C., Johnson, M. D., Anderson, E. W.,
    Cha, J., & Bryant, B. E. (1996). The American Customer Satisfaction Index: Nature,
    purpose, and findings. *Journal of Marketing*, 60(4), 7-18 (the 0-100 index as a
    weighted mean of rescaled item means).

    Examples
    --------
    Item ``a`` (1-5) has mean 4, 100 (4 - 1) / 4 = 75; item ``b`` (1-10) has mean 7,
    100 (7 - 1) / 9 = 66.67; with equal weights the index is their mean, 70.83:

    >>> d = pd.DataFrame({"a": [5, 4, 3], "b": [10, 7, 4]})
    >>> h = pd.DataFrame(
    ...     {
    ...         "item": ["a", "b"],
    ...         "indicator": ["service", "price"],
    ...         "area": ["care", "care"],
    ...         "scale_min": [1, 1],
    ...         "scale_max": [5, 10],
    ...     }
    ... )
    >>> csi(d, hierarchy=h)[["level", "name", "weight", "estimate"]].round(2)
           level     name  weight  estimate
    0      index    index     1.0     70.83
    1       area     care     1.0     70.83
    2  indicator  service     0.5     75.00
    3  indicator    price     0.5     66.67
    4       item        a     1.0     75.00
    5       item        b     1.0     66.67
    """
    h = _csi_hierarchy(hierarchy, item_weights)
    lo = h["scale_min"].astype(float).to_numpy()
    hi = h["scale_max"].astype(float).to_numpy()
    confidence = check_confidence(confidence, "csi")
    items = list(h["item"])
    prep, groups = setup(data, design, by, items, func="csi")
    w_item = _level_weights(h, "weight_item", "item", "indicator")
    w_ind = _level_weights(h, "weight_indicator", "indicator", "area")
    w_area = _level_weights(h, "weight_area", "area", None)
    # nodes: (level, name, parent, weight-in-parent, {item: path weight}, items)
    nodes = [("index", "index", "", 1.0)]
    nodes += [("area", a, "index", w_area[a]) for a in w_area.index]
    ind_area = h.drop_duplicates("indicator").set_index("indicator")["area"]
    nodes += [("indicator", i, ind_area[i], w_ind[i]) for i in w_ind.index]
    item_ind = h.set_index("item")["indicator"]
    nodes += [("item", i, item_ind[i], w_item[i]) for i in items]
    coef: dict[tuple[str, str], dict[str, float]] = {}
    for lvl, name, _, _ in nodes:
        coef[(lvl, name)] = _node_path(h, lvl, name, w_item, w_ind, w_area, item_ind, ind_area)
    G = groups.G
    n_nodes = len(nodes)
    keys = [(lvl, name) for lvl, name, _, _ in nodes]
    asked = _asked_items(data, items, groups, prep.w)
    gcoef = _group_coefficients(h, items, keys, coef, asked, w_item, w_ind, w_area)
    est = np.zeros((n_nodes, G))
    evals = np.zeros((n_nodes, G))
    counts = np.zeros((n_nodes, G))
    # aggregates accumulate their items' influence values; items keep their own results
    agg = [k for k, (lvl, *_) in enumerate(nodes) if lvl != "item"]
    zacc = {k: np.zeros(prep.n) for k in agg}
    # replicate designs: every node recomputed with each replicate's item means
    n_rep = prep.rep.weights.shape[1] if prep.rep is not None else 0
    est_r = {k: np.zeros((groups.G, n_rep)) for k in agg} if prep.rep is not None else None
    answered = {k: np.zeros(prep.n, dtype=bool) for k in agg}
    item_var, item_base = {}, {}
    of_item = {i: [k for k, key in enumerate(keys) if i in coef[key]] for i in items}
    rng = dict(zip(items, hi - lo, strict=True))
    low = dict(zip(items, lo, strict=True))
    for item in items:
        x = numeric_values(data, item, "item", "csi")
        _check_range(data, item, x, low[item], low[item] + rng[item], "csi")
        p = mean_parts(groups, x)
        score = 100 * (p["estimate"] - low[item]) / rng[item]
        scale = 100 / rng[item]
        has = asked[item]
        for k in of_item[item]:
            a = gcoef[k][item]
            est[k] += a * np.where(has, score, 0.0)
            evals[k] += np.where(has, score, 0.0)
            counts[k] += has
            if k in zacc:
                # the same coefficient in every group (every item asked): a scalar product,
                # equal to the per-group one without spreading it over the rows
                if len(a) and (a == a[0]).all():
                    zacc[k] += (a[0] * scale) * p["z"]
                else:
                    zacc[k] += groups.expand(a * scale) * p["z"]
                answered[k] |= p["valid"]
                if est_r is not None:
                    score_r = 100 * (p["replicates"] - low[item]) / rng[item]  # G x R
                    a_g = np.broadcast_to(np.asarray(a, dtype=float), (G,))[:, None]
                    est_r[k] = est_r[k] + a_g * np.where(has[:, None], score_r, 0.0)
            else:
                item_var[k] = p["var"] * scale**2
                item_base[k] = base_columns(groups, p["n"], p["W"], p["W2"])
    with np.errstate(invalid="ignore", divide="ignore"):
        evals = np.where(counts > 0, evals / np.where(counts > 0, counts, 1.0), np.nan)
    est = np.where(counts > 0, est, np.nan)
    q = normal_quantile(confidence)
    rows = []
    for k, (lvl, name, parent, wgt) in enumerate(nodes):
        if k in zacc:
            if est_r is not None and prep.rep is not None:  # the replicate indices themselves
                v_k = prep.rep.spread(est[k], est_r[k])
            else:
                v_k = groups.var(zacc[k])
            se = np.where(counts[k] > 0, np.sqrt(v_k), np.nan)
            ans = answered[k]
            wa = np.where(ans, prep.w, 0.0)
            base = base_columns(
                groups, groups.sums(ans.astype(float)), groups.sums(wa), groups.sums(wa * prep.w)
            )
        else:
            se, base = np.sqrt(item_var[k]), item_base[k]
        rows.append(
            {
                "level": lvl,
                "name": name,
                "parent": parent,
                "weight": float(wgt),
                **base,
                "estimate": est[k],
                "se": se,
                "ci_low": est[k] - q * se,
                "ci_high": est[k] + q * se,
                "evaluation": evals[k],
            }
        )
    cols = [
        "level",
        "name",
        "parent",
        "weight",
        "n",
        "n_weighted",
        "n_effective",
        "estimate",
        "se",
        "ci_low",
        "ci_high",
        "evaluation",
    ]
    out = finish(groups, rows, cols)
    if groups.by:
        order = np.argsort(np.tile(np.arange(G), n_nodes), kind="stable")
        out = out.iloc[order].reset_index(drop=True)
    return out


def _csi_hierarchy(
    hierarchy: pd.DataFrame, item_weights: Mapping | pd.Series | None
) -> pd.DataFrame:
    """Return the checked hierarchy of :func:`csi`, with ``item_weights`` applied.

    Raises
    ------
    TypeError
        ``hierarchy`` is not a DataFrame.
    KeyError
        A hierarchy column is missing.
    ValueError
        No items, an item listed twice, a missing item, indicator or area, an indicator in
        two areas, or a scale whose maximum does not exceed its minimum.
    """
    if not isinstance(hierarchy, pd.DataFrame):
        raise TypeError(f"csi: hierarchy must be a DataFrame, got {type(hierarchy).__name__}")
    missing = [c for c in _HIER if c not in hierarchy.columns]
    if missing:
        raise KeyError(f"csi: hierarchy has no column(s) {missing}")
    if len(hierarchy) == 0:
        raise ValueError("csi: hierarchy has no items")
    if item_weights is not None:
        hierarchy = with_index_weights(hierarchy, item_weights, level="item")
    h = hierarchy.reset_index(drop=True)
    dup = h["item"][h["item"].duplicated()]
    if len(dup):
        raise ValueError(f"csi: hierarchy lists item {show(dup.iloc[0])} twice")
    for c in ("item", "indicator", "area"):
        if h[c].isna().any():
            raise ValueError(f"csi: hierarchy column {c!r} has a missing value")
    areas_per = h.groupby("indicator", sort=False)["area"].nunique()
    if (areas_per > 1).any():
        raise ValueError(
            f"csi: indicator {show(areas_per.index[areas_per > 1][0])} sits in more than one area"
        )
    lo = h["scale_min"].astype(float).to_numpy()
    hi = h["scale_max"].astype(float).to_numpy()
    bad = ~(hi > lo)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"csi: hierarchy: item {show(h['item'][i])} has scale {lo[i]}-{hi[i]}; "
            "scale_max must exceed scale_min"
        )
    return h


def _node_path(
    h: pd.DataFrame,
    lvl: str,
    name: str,
    w_item: pd.Series,
    w_ind: pd.Series,
    w_area: pd.Series,
    item_ind: pd.Series,
    ind_area: pd.Series,
) -> dict[str, float]:
    """Return each item's path weight in a node (the product of the weights down to it)."""
    if lvl == "item":
        return {name: 1.0}
    if lvl == "indicator":
        sel = list(h.loc[h["indicator"] == name, "item"])
        return {i: w_item[i] for i in sel}
    if lvl == "area":
        sel = list(h.loc[h["area"] == name, "item"])
        return {i: w_item[i] * w_ind[item_ind[i]] for i in sel}
    return {i: w_item[i] * w_ind[item_ind[i]] * w_area[ind_area[item_ind[i]]] for i in h["item"]}


# --------------------------------------------------------------------------------------
# Gap, reliability
# --------------------------------------------------------------------------------------
@renamed(level="confidence")
def expectation_gap(
    data: pd.DataFrame,
    *,
    pairs: Sequence[tuple[str, str]],
    by: str | Sequence[str] = (),
    design: SurveyDesign | None = None,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Compute the gap between satisfaction and expectation (or importance), paired per respondent.

    For each pair the per-respondent difference ``satisfaction - expectation`` is
    averaged over respondents who answered both (a negative gap: service falls short).
    Its SE is the design SE of that mean, so the pairing (the covariance of the two
    answers) is accounted for. ``t = estimate / se`` is referred to Student's t with
    ``df`` = PSUs minus strata among the respondents in the group who answered both
    (``degf`` of the subset design, as ``svyttest`` / ``svyglm`` would use); the interval
    is t-based with the same df.

    Parameters
    ----------
    data : DataFrame
        One row per respondent.
    pairs : sequence of (expectation_item, satisfaction_item)
        Numeric columns on a common scale.
    by, design, confidence
        As :func:`~.estimation.survey_mean`.

    Returns
    -------
    DataFrame
        One row per group and pair: the ``by`` columns, ``expectation``, ``satisfaction``,
        ``n``, ``n_weighted``, ``n_effective``, ``mean_expectation``,
        ``mean_satisfaction`` (on the paired rows), ``estimate`` (the gap), ``se``,
        ``statistic`` (t), ``df``, ``p_value``, ``ci_low``, ``ci_high``.
    """
    given = [tuple(pair) for pair in pairs]
    if not given:
        raise ValueError("expectation_gap: pairs is empty")
    for pair in given:
        if len(pair) != 2 or not all(isinstance(c, str) for c in pair):
            raise ValueError(
                "expectation_gap: each pair must be (expectation_item, satisfaction_item), "
                f"got {pair!r}"
            )
    pairs = [(str(a), str(b)) for a, b in given]
    confidence = check_confidence(confidence, "expectation_gap")
    cols = sorted({c for p in pairs for c in p})
    prep, groups = setup(data, design, by, cols, func="expectation_gap")
    rows = []
    for e_col, s_col in pairs:
        e = numeric_values(data, e_col, "item", "expectation_gap")
        s = numeric_values(data, s_col, "item", "expectation_gap")
        valid = ~np.isnan(e) & ~np.isnan(s)
        p = mean_parts(groups, s - e, valid=valid)
        me = mean_parts(groups, e, valid=valid)["estimate"]
        ms = mean_parts(groups, s, valid=valid)["estimate"]
        se = np.sqrt(p["var"])
        df = groups.degf(valid)
        with np.errstate(divide="ignore", invalid="ignore"):
            t = p["estimate"] / se
            qt = t_quantile(confidence, df)
        rows.append(
            {
                "expectation": e_col,
                "satisfaction": s_col,
                **base_columns(groups, p["n"], p["W"], p["W2"]),
                "mean_expectation": me,
                "mean_satisfaction": ms,
                "estimate": p["estimate"],
                "se": se,
                "statistic": t,
                "df": df,
                "p_value": 2 * stats.t.sf(np.abs(t), df),
                "ci_low": p["estimate"] - qt * se,
                "ci_high": p["estimate"] + qt * se,
            }
        )
    return finish(groups, rows, list(rows[0]))


def _weighted_cov(X: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Pairwise-complete weighted covariance; equals ``DataFrame.cov`` when w == 1."""
    k = X.shape[1]
    C = np.empty((k, k))
    ok = ~np.isnan(X)
    for a in range(k):
        for b in range(a, k):
            m = ok[:, a] & ok[:, b]
            ww = w[m]
            n = m.sum()
            xa, xb = X[m, a], X[m, b]
            W = ww.sum()
            ma, mb = (ww * xa).sum() / W, (ww * xb).sum() / W
            C[a, b] = C[b, a] = (ww * (xa - ma) * (xb - mb)).sum() / W * n / (n - 1)
    return C


@renamed(level="confidence")
def cronbach_alpha(
    data: pd.DataFrame,
    *,
    items: Sequence[str] | Mapping[str, Sequence[str]] | None = None,
    blocks: Mapping[str, Sequence[str]] | None = None,
    reverse: Sequence[str] = (),
    design: SurveyDesign | None = None,
    confidence: float = 0.95,
    nan_policy: str = "pairwise",
) -> pd.DataFrame:
    """Compute Cronbach's alpha (raw and standardised) with Feldt's confidence interval.

    Raw alpha is ``k/(k-1) (1 - trace(C) / sum(C))`` from the item covariance matrix
    ``C``; standardised alpha is ``k rbar / (1 + (k-1) rbar)`` with ``rbar`` the mean
    inter-item correlation (the alpha R ``plspm`` reports). With a weight, ``C`` is the
    weighted covariance. The interval is Feldt's F interval on the raw alpha,
    ``1 - (1 - alpha) F_{1-a/2 | a/2}(n-1, (n-1)(k-1))`` (Feldt, Woodruff & Salih 1987,
    as ``pingouin.cronbach_alpha``); with weights ``n`` is the Kish effective n of the
    rows used. Unweighted results equal ``pingouin.cronbach_alpha``.

    Parameters
    ----------
    data : DataFrame
        One row per respondent.
    items : sequence of str, optional
        One set of items (its ``block`` is named ``"items"``).
    blocks : mapping of name -> sequence of str, optional
        Several named sets, e.g. the items of each area. Give ``items`` or ``blocks``.
    reverse : sequence of str
        Items worded the other way round (agreeing means less satisfied). They are
        reverse-keyed before alpha is computed: ``x -> -x``, which is ``min + max - x`` up
        to a constant, and a constant changes no covariance.
    design : SurveyDesign, optional
        Supplies the weight (strata and clusters do not enter).
    confidence : float
        Confidence level of the interval.
    nan_policy : {"pairwise", "listwise"}
        Pairwise-complete covariances over the rows that answered at least one item, or
        complete rows only.

    Returns
    -------
    DataFrame
        One row per block: ``block``, ``n_items``, ``n``, ``n_effective``, ``alpha``,
        ``alpha_standardized``, ``ci_low``, ``ci_high``.

    References
    ----------
    Cronbach, L. J. (1951). Coefficient alpha and the internal structure of tests.
    *Psychometrika*, 16(3), 297-334.
    Feldt, L. S., Woodruff, D. J., & Salih, F. A. (1987). Statistical inference for
    coefficient alpha. *Applied Psychological Measurement*, 11(1), 93-103.

    Examples
    --------
    >>> df = pd.DataFrame({"a": [1.0, 2, 3, 4, 5], "b": [2.0, 2, 3, 5, 5],
    ...                    "c": [5.0, 4, 3, 2, 2]})
    >>> t = cronbach_alpha(df, items=["a", "b", "c"], reverse=["c"])
    >>> t[["block", "n_items", "n"]].to_dict("records")
    [{'block': 'items', 'n_items': 3, 'n': 5}]
    >>> round(float(t["alpha"].iloc[0]), 4)  # pingouin.cronbach_alpha on 6 - c: 0.9786
    0.9786
    """
    func = "cronbach_alpha"
    check_choice(nan_policy, ("pairwise", "listwise"), "nan_policy", func)
    confidence = check_confidence(confidence, func)
    if isinstance(items, Mapping):
        warn_deprecated(f"{func}: a mapping of item sets as items= is deprecated; use blocks=")
        items, blocks = None, items
    if (items is None) == (blocks is None):
        raise ValueError(f"{func}: give items= (one set) or blocks= (named sets), not both")
    sets = dict(blocks) if blocks is not None else {"items": items}
    reverse = as_names(reverse, "reverse", func)
    named = {c for cols in sets.values() for c in as_names(cols, "items", func)}
    stray = [c for c in reverse if c not in named]
    if stray:
        raise ValueError(f"{func}: reverse names {stray}, which are in no block")
    design = design if design is not None else SurveyDesign()
    if design.weight is not None:
        check_columns(data, [design.weight], "weight", func)
        weights = weight_values(data, design.weight, func)
    else:
        weights = np.ones(len(data))
    rows = []
    for name, cols in sets.items():
        cols = as_names(cols, "items", func)
        if len(cols) < 2:
            raise ValueError(f"{func}: block {name!r} needs at least two items, has {len(cols)}")
        check_columns(data, cols, "item", func)
        X = np.column_stack(
            [(-1 if c in reverse else 1) * numeric_values(data, c, "item", func) for c in cols]
        )
        keep = ~np.isnan(X).all(axis=1) if nan_policy == "pairwise" else ~np.isnan(X).any(1)
        X, w = X[keep], weights[keep]
        n = len(X)
        if n < 2:
            raise ValueError(f"{func}: block {name!r} has {n} usable rows; need at least 2")
        k = len(cols)
        C = _weighted_cov(X, w)
        alpha = k / (k - 1) * (1 - np.trace(C) / C.sum())
        sd = np.sqrt(np.diag(C))
        R = C / np.outer(sd, sd)
        rbar = R[np.triu_indices(k, 1)].mean()
        alpha_std = k * rbar / (1 + (k - 1) * rbar)
        neff = w.sum() ** 2 / (w * w).sum()
        m = neff if design.weight is not None else n
        df1, df2 = m - 1, (m - 1) * (k - 1)
        a = 1 - confidence
        rows.append(
            {
                "block": name,
                "n_items": k,
                "n": n,
                "n_effective": neff,
                "alpha": alpha,
                "alpha_standardized": alpha_std,
                "ci_low": 1 - (1 - alpha) * stats.f.isf(a / 2, df1, df2),
                "ci_high": 1 - (1 - alpha) * stats.f.isf(1 - a / 2, df1, df2),
            }
        )
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------
# Reporting helpers
# --------------------------------------------------------------------------------------
_STAT_COLS = (
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "deff",
    "p_value",
    "statistic",
    "pct_promoters",
    "pct_passives",
    "pct_detractors",
    "wald_low",
    "wald_high",
    "adj_wald_low",
    "adj_wald_high",
    "evaluation",
    "share",
    "share_weighted",
)


@renamed(base_col="base")
def flag_small_bases(
    table: pd.DataFrame,
    *,
    min_base: int = 30,
    suppress_below: int = 10,
    base: str = "n",
    value_cols: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Flag low bases and blank suppressed cells of a tidy estimate table.

    Parameters
    ----------
    table : DataFrame
        Output of an estimator, with a base column.
    min_base : int
        Cells with ``base < min_base`` are flagged "low base" (estimate kept; show with
        caution).
    suppress_below : int
        Cells with ``base < suppress_below`` are flagged "suppressed" and their statistic
        columns set to NaN (the base itself is kept, so the reader sees why).
    base : str
        The base column (``"n"``, or ``"n_effective"`` to judge weighted precision).
    value_cols : sequence of str, optional
        Columns to blank; default every statistic column present (``estimate``, ``se``,
        ``ci_low``, ``ci_high``, ``deff``, ``p_value``, ``statistic``, NPS shares and
        intervals, ``evaluation``, shares).

    Returns
    -------
    DataFrame
        A copy of ``table`` with a ``flag`` column ("suppressed", "low base" or "").
    """
    if base not in table.columns:
        raise KeyError(f"flag_small_bases: base column {base!r} is not in the table")
    if suppress_below > min_base:
        raise ValueError(
            f"flag_small_bases: suppress_below ({suppress_below}) must not exceed min_base ({min_base})"
        )
    cols = (
        list(value_cols)
        if value_cols is not None
        else [c for c in _STAT_COLS if c in table.columns]
    )
    missing = [c for c in cols if c not in table.columns]
    if missing:
        raise KeyError(f"flag_small_bases: value column(s) {missing} are not in the table")
    n = table[base].to_numpy(dtype=float)
    sup = n < suppress_below
    low = (n < min_base) & ~sup
    out = table.copy()
    out["flag"] = np.where(sup, "suppressed", np.where(low, "low base", ""))
    for c in cols:
        out[c] = out[c].astype(float).where(~sup)
    return out


def item_distribution(
    data: pd.DataFrame,
    *,
    items: str | Sequence[str],
    by: str | Sequence[str] = (),
    design: SurveyDesign | None = None,
    codes: Sequence[float] | None = None,
) -> pd.DataFrame:
    """Estimate the weighted share of each answer code, per group and item (for charts).

    Parameters
    ----------
    data : DataFrame
        One row per respondent.
    items : str or sequence of str
        Numeric rating columns.
    by, design
        As :func:`~.estimation.survey_mean`.
    codes : sequence of numbers, optional
        All answer codes in order (codes nobody chose get share 0); a value outside
        ``codes`` is an error. Default: the codes observed across the items.

    Returns
    -------
    DataFrame
        One row per group, item and code: the ``by`` columns, ``item``, ``code``, ``n``
        (unweighted base: answered the item), ``n_weighted`` (weighted base), ``count``,
        ``count_weighted``, ``share`` (weighted, sums to 1 over codes) and
        ``share_unweighted``.
    """
    items = as_names(items, "items", "item_distribution")
    prep, groups = setup(data, design, by, items, func="item_distribution")
    xs = {item: numeric_values(data, item, "item", "item_distribution") for item in items}
    if codes is None:
        allv = np.concatenate([x[~np.isnan(x)] for x in xs.values()])
        code_arr = np.unique(allv)
    else:
        code_arr = np.asarray(list(codes), dtype=float)
    K, G = len(code_arr), groups.G
    parts = []
    for item, x in xs.items():
        valid = ~np.isnan(x) & groups.member
        pos = np.searchsorted(code_arr, x)
        pos_c = np.minimum(pos, max(K - 1, 0))
        known = valid & (K > 0) & (code_arr[pos_c] == x) if K else valid & False
        if (valid & ~known).any():
            i = int(np.flatnonzero(valid & ~known)[0])
            raise ValueError(
                f"item_distribution: item column {item!r}: row {show(data.index[i])} has value {show(x[i])},"
                f" not one of the codes {code_arr.tolist()}"
            )
        cell = np.where(valid, groups.codes * K + pos_c, G * K)
        cnt = np.bincount(cell, minlength=G * K + 1)[: G * K].reshape(G, K)
        cw = np.bincount(cell, weights=prep.w, minlength=G * K + 1)[: G * K].reshape(G, K)
        n = cnt.sum(axis=1, keepdims=True)
        W = cw.sum(axis=1, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            t = pd.DataFrame(
                {
                    "item": item,
                    "code": np.tile(code_arr, G),
                    "n": np.repeat(n[:, 0], K),
                    "n_weighted": np.repeat(W[:, 0], K),
                    "count": cnt.ravel(),
                    "count_weighted": cw.ravel(),
                    "share": (cw / W).ravel(),
                    "share_unweighted": (cnt / n).ravel(),
                }
            )
        keys = groups.keys.loc[np.repeat(np.arange(G), K)].reset_index(drop=True)
        parts.append(pd.concat([keys, t], axis=1) if groups.by else t)
    return pd.concat(parts, ignore_index=True)
