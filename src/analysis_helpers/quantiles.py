"""Design-based quantiles (median, percentiles) with Woodruff intervals (R ``svyquantile``).

The quantile of an item in a domain is R's default ``qrule="math"``: the smallest answer
whose weighted cumulative share reaches ``p`` (the lower answer when the share hits ``p``
exactly), so every estimate and interval end is an answer that occurs in the data.

Its interval is Woodruff's (1952) as ``svyquantile(interval.type="mean")`` computes it in
survey >= 4.0: the share ``F = mean(y <= q)`` of the domain with its design SE, its
Student-t interval ``F -/+ t(df) se`` on the domain's design degrees of freedom, and the
quantiles (same rule) at the two ends; an end outside [0, 1] has no quantile (NaN). The SE
reported is R's: the interval's width over ``2 t(df)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ._checks import as_names, check_confidence, numeric_values
from ._design import Groups, SurveyDesign, finish, mean_parts, setup, t_quantile

__all__ = ["survey_quantile"]

_COLS = ["item", "quantile", "n", "estimate", "se", "ci_low", "ci_high", "df"]


def _rule_math(x: np.ndarray, cumw: np.ndarray, total: float, p: np.ndarray) -> np.ndarray:
    """Return R's ``qrule_math`` quantiles of sorted ``x`` with cumulative weights ``cumw``.

    ``p`` may hold NaN (no quantile).
    """
    out = np.full(len(p), np.nan)
    k = len(x)
    for i, pi in enumerate(p):
        if not np.isfinite(pi):
            continue
        below = np.flatnonzero(cumw <= pi * total)
        pos = int(below[-1]) if len(below) else 0  # R's last(): 1 when none
        nxt = pos if pos == k - 1 else pos + 1
        out[i] = x[pos] if pi - cumw[pos] / total == 0 else x[nxt]
    return out


def survey_quantile(
    data: pd.DataFrame,
    *,
    items: str | Sequence[str],
    quantiles: float | Sequence[float] = 0.5,
    by: str | Sequence[str] = (),
    design: SurveyDesign | None = None,
    confidence: float = 0.95,
    interval: str = "mean",
) -> pd.DataFrame:
    """Estimate weighted quantiles with Woodruff intervals (R ``svyquantile``, ``svyby``).

    Parameters
    ----------
    data : DataFrame
        One row per respondent.
    items : str or sequence of str
        Numeric item columns; missing answers are left out (``na.rm=TRUE``).
    quantiles : float or sequence of float
        Probabilities in (0, 1): 0.5 for the median.
    by : str or sequence of str
        Grouping columns; each group is a domain of the design.
    design : SurveyDesign, optional
        The sampling design (None: unweighted simple random sample).
    confidence : float
        Confidence level of the interval.
    interval : {"mean", "quantile"}
        ``"mean"``: Woodruff's interval (R's default ``interval.type="mean"``; with a
        replicate design the SE of the share below the quantile comes from the
        replicates). ``"quantile"`` (replicate designs only, R
        ``interval.type="quantile"``): the quantile is recomputed with each replicate
        weight, its SE is their replicate spread and the interval ``estimate -/+ t(df) se``.

    Returns
    -------
    DataFrame
        One row per group, item and quantile: the ``by`` columns, ``item``, ``quantile``
        (the probability), ``n`` (answers), ``estimate``, ``se`` (interval width over
        ``2 t(df)``), ``ci_low``, ``ci_high`` (NaN where the share interval leaves [0, 1])
        and ``df``. A group with no answers has NaN statistics.

    Raises
    ------
    ValueError
        A probability outside (0, 1).

    References
    ----------
    Woodruff, R. S. (1952). Confidence intervals for medians and other position measures.
    *JASA*, 47(260), 635-646. Lumley, T. (2010). *Complex Surveys*. Wiley, sec. 2.4;
    R ``survey`` >= 4.0 ``svyquantile`` (``qrule="math"``, ``interval.type="mean"``).

    Examples
    --------
    >>> df = pd.DataFrame({"q": [1.0, 2, 3, 4, 5], "w": [1.0, 1, 1, 1, 4]})
    >>> t = survey_quantile(df, items="q", design=SurveyDesign(weight="w"))
    >>> float(t["estimate"].iloc[0])  # R: svyquantile(~q, svydesign(~1, weights=~w), 0.5)
    4.0
    """
    func = "survey_quantile"
    items = as_names(items, "items", func)
    confidence = check_confidence(confidence, func)
    probs = np.atleast_1d(np.asarray(quantiles, dtype=float))
    bad = ~((probs > 0) & (probs < 1))
    if bad.any():
        raise ValueError(f"{func}: quantile {float(probs[bad][0])!r} is not between 0 and 1")
    if interval not in ("mean", "quantile"):
        raise ValueError(f"{func}: interval {interval!r}: use 'mean' or 'quantile'")
    prep, groups = setup(data, design, by, items, func=func)
    if interval == "quantile" and prep.rep is None:
        raise ValueError(
            f"{func}: interval='quantile' needs a replicate-weight design (ReplicateDesign)"
        )
    rows = []
    for item in items:
        y = numeric_values(data, item, "item", func)
        valid = ~np.isnan(y) & groups.member
        order = np.lexsort((y, groups.gi))  # by group, then answer (stable)
        for p in probs:
            est, lo, hi, n, df = _quantile_rows(groups, y, valid, order, prep.w, p, confidence)
            q = t_quantile(confidence, df)
            if interval == "quantile":
                se = _replicate_se(groups, y, valid, order, est, p)
                lo, hi = est - q * se, est + q * se
            else:
                with np.errstate(divide="ignore", invalid="ignore"):
                    se = (hi - lo) / (2 * q)
            rows.append(
                {
                    "item": item,
                    "quantile": p,
                    "n": n.astype(np.int64),
                    "estimate": est,
                    "se": se,
                    "ci_low": lo,
                    "ci_high": hi,
                    "df": df,
                }
            )
    return finish(groups, rows, _COLS)


def _replicate_se(
    groups: Groups, y: np.ndarray, valid: np.ndarray, order: np.ndarray, est: np.ndarray, p: float
) -> np.ndarray:
    """Return per group the replicate SE of the quantile ``p`` recomputed per replicate."""
    rep = groups.prep.rep
    assert rep is not None
    G = groups.G
    se = np.full(G, np.nan)
    sorted_valid = order[valid[order]]
    starts = np.searchsorted(groups.gi[sorted_valid], np.arange(G + 1))
    for g in range(G):
        idx = sorted_valid[starts[g] : starts[g + 1]]
        if len(idx) == 0:
            continue
        x, W = y[idx], rep.weights[idx]
        reps = np.full(W.shape[1], np.nan)
        for r in range(W.shape[1]):
            pos = W[:, r] > 0  # R's qrule drops zero weights
            if pos.any():  # sums in extended precision as R's cumsum / sum (ties at p)
                cw_ext = np.cumsum(W[pos, r].astype(np.longdouble))
                cw = cw_ext.astype(float)
                reps[r] = _rule_math(x[pos], cw, float(cw_ext[-1]), np.array([p]))[0]
        se[g] = np.sqrt(rep.spread(np.array([est[g]]), reps[None, :]))[0]
    return se


def _quantile_rows(
    groups: Groups,
    y: np.ndarray,
    valid: np.ndarray,
    order: np.ndarray,
    w: np.ndarray,
    p: float,
    confidence: float,
) -> tuple[np.ndarray, ...]:
    """Return per group the quantile ``p``, its Woodruff interval, answers and df."""
    G = groups.G
    est = np.full(G, np.nan)
    ends = np.full((G, 2), np.nan)
    sorted_valid = order[valid[order]]
    gs = groups.gi[sorted_valid]
    starts = np.searchsorted(gs, np.arange(G + 1))
    per: list[tuple[np.ndarray, np.ndarray, float] | None] = []
    for g in range(G):
        idx = sorted_valid[starts[g] : starts[g + 1]]
        if len(idx) == 0:
            per.append(None)
            continue
        x, cw, total = y[idx], np.cumsum(w[idx]), float(w[idx].sum())
        per.append((x, cw, total))
        est[g] = _rule_math(x, cw, total, np.array([p]))[0]
    below = valid & (y <= groups.expand(np.nan_to_num(est, nan=-np.inf)))
    parts = mean_parts(groups, below.astype(float), valid)
    df = groups.degf(valid)
    t = t_quantile(confidence, df)
    se = np.sqrt(parts["var"])
    p_lo = parts["estimate"] - t * se
    p_hi = parts["estimate"] + t * se
    for g, item in enumerate(per):
        if item is None:
            continue
        pe = np.array([p_lo[g] if p_lo[g] >= 0 else np.nan, p_hi[g] if p_hi[g] <= 1 else np.nan])
        ends[g] = _rule_math(item[0], item[1], item[2], pe)
    return est, ends[:, 0], ends[:, 1], parts["n"], df
