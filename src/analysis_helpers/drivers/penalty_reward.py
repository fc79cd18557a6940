"""Penalty-reward contrast analysis: Kano-style factor classes from ordinary ratings.

After Brandt (1987) and Matzler & Sauerwein (2002), with cut-offs from each item's scale.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from .._checks import check_confidence
from .._compat import renamed
from .._design import SurveyDesign
from ..trend import adjust_p
from ._common import (
    DriverError,
    _check_columns,
    _design_weight,
    _float,
    _names,
    _weight_to_design,
    _weights,
)

__all__ = ["scale_cutoffs", "penalty_reward"]


def scale_cutoffs(scales: pd.DataFrame, *, share: float = 0.25) -> pd.DataFrame:
    """Derive the low and high cut-offs for penalty-reward analysis from each item's scale.

    A rating is *low* when it lies in the bottom ``share`` of the scale's range and
    *high* when it lies in the top ``share``; the codes between are the reference. With
    the default 0.25: 1-5 -> low 1-2, high 4-5 (the top-2 box); 1-7 -> low 1-2, high
    6-7; 1-10 -> low 1-3, high 8-10; 0-10 -> low 0-2, high 8-10.

    Parameters
    ----------
    scales : DataFrame
        ``item``, ``scale_min``, ``scale_max`` (e.g. :meth:`Study.hierarchy`).
    share : float
        Share of the range at each end, in (0, 0.5).

    Returns
    -------
    DataFrame
        ``item``, ``scale_min``, ``scale_max``, ``low_max`` = floor(min + share (max -
        min)), ``high_min`` = ceil(max - share (max - min)).

    Raises
    ------
    ValueError
        A scale too short to leave at least one middle code between low and high.
    """
    absent = [c for c in ("item", "scale_min", "scale_max") if c not in scales.columns]
    if absent:
        raise KeyError(f"scale_cutoffs: scales lacks column(s) {absent}")
    if not 0 < share < 0.5:
        raise ValueError(
            f"scale_cutoffs: share={share!r}: give a share of the scale between 0 and 0.5"
        )
    lo = scales["scale_min"].to_numpy(float)
    hi = scales["scale_max"].to_numpy(float)
    span = hi - lo
    low_max = np.floor(lo + share * span + 1e-9)
    high_min = np.ceil(hi - share * span - 1e-9)
    bad = high_min - low_max < 2  # penalty-reward needs a middle (reference) rating
    if bad.any():
        item = scales["item"].iloc[int(np.argmax(bad))]
        raise ValueError(
            f"scale_cutoffs: item {item!r}: its scale is too short to leave a middle band at share={share}"
        )
    return pd.DataFrame(
        {
            "item": scales["item"].to_numpy(),
            "scale_min": lo,
            "scale_max": hi,
            "low_max": low_max,
            "high_min": high_min,
        }
    )


def _per_driver(value, drivers: list[str], role: str, func: str) -> dict[str, float]:
    if isinstance(value, Mapping | pd.Series):
        absent = [d for d in drivers if d not in value]
        if absent:
            raise KeyError(
                f"{func}: {role} has no cut-off for driver(s) {', '.join(map(repr, absent))}"
            )
        return {d: float(value[d]) for d in drivers}
    return dict.fromkeys(drivers, float(value))


@renamed(weight=("design", _weight_to_design), level="confidence")
def penalty_reward(
    data: pd.DataFrame,
    *,
    outcome: str,
    drivers: Sequence[str],
    low_max: float | Mapping[str, float],
    high_min: float | Mapping[str, float],
    design: SurveyDesign | None = None,
    confidence: float = 0.95,
    rule: str = "difference",
    ratio: float = 2.0,
    cov_type: str = "HC1",
    correction: str = "none",
) -> pd.DataFrame:
    """Classify attributes as basic, performance or excitement factors by penalty-reward contrasts.

    For each attribute two dummies mark low performance (rating <= ``low_max``) and high
    performance (rating >= ``high_min``); the middle is the reference. One (weighted) least
    squares regression of the outcome on all dummies gives per attribute the penalty
    ``-coef(low)`` (the drop in the outcome for a low rating, positive when low ratings
    hurt) and the reward ``coef(high)`` (Brandt 1987; Matzler & Sauerwein 2002).

    Parameters
    ----------
    data : DataFrame
        One row per respondent; respondents missing the outcome or an attribute are left
        out (listwise).
    outcome : str
        Overall satisfaction (or another outcome).
    drivers : sequence of str
        The attribute ratings.
    low_max, high_min : float, mapping or Series
        Cut-offs: a rating at or below ``low_max`` is low, at or above ``high_min`` high.
        A scalar for all attributes, or a mapping / Series per attribute for mixed scales
        (:func:`scale_cutoffs` derives them from each item's scale).
    design : SurveyDesign, optional
        Supplies the survey weight: the regression is weighted least squares.
    confidence : float
        Confidence level of the intervals; ``1 - confidence`` is the significance level of the
        classification rule.
    rule : {"difference", "ratio", "significance"}
        How attributes are classed. ``"difference"``: *basic* if the penalty is
        significantly > 0 and significantly larger than the reward (test of penalty -
        reward), *excitement* the mirror, else *performance*. ``"ratio"``: *basic* if the
        penalty is significantly > 0 and at least ``ratio`` times the reward, *excitement*
        the mirror, else *performance*. ``"significance"`` (Matzler & Sauerwein's pattern):
        *basic* if only the penalty is significantly > 0, *excitement* if only the reward
        is, else *performance*. Significance is two-sided at ``1 - confidence``.
    ratio : float
        Ratio for ``rule="ratio"``.
    cov_type : {"HC1", "HC0", "HC2", "HC3", "nonrobust"}
        Standard errors: heteroscedasticity-consistent sandwich (default HC1, appropriate
        for dummy regressors and for survey weights, which are not precision weights), or
        the model-based WLS covariance. Intervals and p-values use the t distribution with
        ``n - k`` degrees of freedom (as statsmodels with ``use_t=True``). The design
        (strata, clusters) is not taken into account.
    correction : {"none", "holm", "fdr_bh", "bonferroni"}
        Multiple-comparison adjustment of the p-values the rule uses, applied across the
        attributes within each family (penalties, rewards, differences), as
        :func:`analysis_helpers.trend.adjust_p` does. With many attributes
        (e.g. 40) some asymmetry is "significant" by chance; ``"holm"`` keeps the
        family-wise error at ``1 - confidence``.

    Returns
    -------
    DataFrame
        One row per attribute: ``driver``, ``low_max``, ``high_min``, ``n_low``,
        ``n_high`` (respondents), ``share_low``, ``share_high`` (weighted shares),
        ``penalty``, ``penalty_se``, ``penalty_ci_low``, ``penalty_ci_high``,
        ``penalty_p_value``, ``reward`` and its ``reward_*`` columns, ``difference``
        (penalty - reward) with ``difference_se`` and ``difference_p_value``,
        ``penalty_p_adjusted``, ``reward_p_adjusted``, ``difference_p_adjusted`` (equal to
        the raw p-values when ``correction="none"``), ``factor_class`` ("basic", "performance", "excitement"), ``significant`` (penalty
        or reward significantly > 0; a "performance" attribute without it has no clear
        effect), ``r2`` (of the dummy regression), ``n``.

    Raises
    ------
    DriverError
        Nobody is low (or high) on an attribute, the dummies are collinear (e.g. a 2-point
        scale), too few respondents, or the usual column problems.

    References
    ----------
    Brandt, D. R. (1987). A procedure for identifying value-enhancing service components
    using customer satisfaction survey data. In *Add Value to Your Service*, AMA, 61-65.
    Matzler, K., & Sauerwein, E. (2002). The factor structure of customer satisfaction.
    *International Journal of Service Industry Management*, 13(4), 314-332.

    Examples
    --------
    With one attribute the penalty is the mean outcome of the middle ratings minus that of
    the low ones (7 - 4 = 3) and the reward that of the high ones minus the middle
    (8 - 7 = 1); only the penalty is significant, so the attribute is *basic*:

    >>> p = pd.DataFrame(
    ...     {
    ...         "x": [1, 2, 1, 2, 3, 3, 3, 3, 4, 5, 4, 5],
    ...         "y": [3, 5, 4, 4, 6, 8, 7, 7, 8, 9, 7, 8],
    ...     }
    ... )
    >>> r = penalty_reward(
    ...     p, outcome="y", drivers=["x"], low_max=2, high_min=4, rule="significance"
    ... )
    >>> r[["driver", "n_low", "n_high", "penalty", "reward", "factor_class"]].round(3)
      driver  n_low  n_high  penalty  reward factor_class
    0      x      4       4      3.0     1.0        basic
    """
    driver_names = _names(drivers, "drivers", "penalty_reward")
    if outcome in driver_names:
        raise ValueError(f"penalty_reward: outcome {outcome!r} is also listed as a driver")
    if rule not in {"difference", "ratio", "significance"}:
        raise ValueError(
            f"penalty_reward: rule={rule!r}: use 'difference', 'ratio' or 'significance'"
        )
    valid_cov = {"HC0", "HC1", "HC2", "HC3", "nonrobust"}
    if cov_type not in valid_cov:
        raise ValueError(f"penalty_reward: cov_type={cov_type!r}: use one of {sorted(valid_cov)}")
    confidence = check_confidence(confidence, "penalty_reward")
    weight = _design_weight(design, "penalty_reward")
    if ratio < 1:
        raise ValueError(f"penalty_reward: ratio={ratio!r}: give a ratio of at least 1")
    corrections = {"none", "holm", "fdr_bh", "bonferroni"}
    if correction not in corrections:
        raise ValueError(
            f"penalty_reward: correction={correction!r}: use one of {sorted(corrections)}"
        )
    lows = _per_driver(low_max, driver_names, "low_max", "penalty_reward")
    highs = _per_driver(high_min, driver_names, "high_min", "penalty_reward")
    for d in driver_names:
        if not lows[d] < highs[d]:
            raise ValueError(
                f"penalty_reward: driver {d!r}: low_max={lows[d]:g} must be below high_min={highs[d]:g}"
            )
    names = [outcome, *driver_names]
    _check_columns(data, names, weight, "penalty_reward")
    y = _float(data, outcome, "penalty_reward")
    x = np.column_stack([_float(data, c, "penalty_reward") for c in driver_names])
    w = _weights(data, weight, "penalty_reward")
    keep = (w > 0) & ~np.isnan(y) & ~np.isnan(x).any(axis=1)
    y, x, w = y[keep], x[keep], w[keep]
    p = len(driver_names)
    k = 1 + 2 * p
    if len(y) < k + 2:
        raise DriverError(
            f"penalty_reward: only {len(y)} complete respondents for {outcome!r} and {p} attributes; "
            f"need more than {k + 1} for {k} coefficients"
        )
    if y.min() == y.max():
        raise DriverError(f"penalty_reward: outcome {outcome!r} is constant (all {y[0]:g})")
    low = x <= np.array([lows[d] for d in driver_names])
    high = x >= np.array([highs[d] for d in driver_names])
    _check_bands(low, high, driver_names, lows, highs)
    dummies = np.column_stack([np.ones(len(y)), low, high]).astype(float)
    xtwx = dummies.T @ (dummies * w[:, None])
    _check_collinear(xtwx, driver_names)
    coef = np.linalg.solve(xtwx, dummies.T @ (w * y))
    resid = y - dummies @ coef
    n = len(y)
    cov = _dummy_cov(dummies, w, resid, xtwx, cov_type)
    ybar = (w * y).sum() / w.sum()
    r2 = 1 - (w * resid**2).sum() / (w * (y - ybar) ** 2).sum()
    idx_low = np.arange(1, 1 + p)
    idx_high = np.arange(1 + p, 1 + 2 * p)
    se_low = np.sqrt(cov[idx_low, idx_low])
    se_high = np.sqrt(cov[idx_high, idx_high])
    penalty, reward = -coef[idx_low], coef[idx_high]
    diff = penalty - reward
    se_diff = np.sqrt(se_low**2 + se_high**2 + 2 * cov[idx_low, idx_high])
    df = n - k
    tcrit = stats.t.ppf(0.5 + confidence / 2, df)

    def pval(est, se):
        return 2 * stats.t.sf(np.abs(est / se), df)

    raw_p = pval(penalty, se_low), pval(reward, se_high), pval(diff, se_diff)
    alpha = 1 - confidence
    p_pen, p_rew, p_diff = (adjust_p(pv, correction=correction) for pv in raw_p)
    sig_pen = (p_pen < alpha) & (penalty > 0)
    sig_rew = (p_rew < alpha) & (reward > 0)
    factor = _factor_class(rule, penalty, reward, sig_pen, sig_rew, p_diff < alpha, ratio)
    wsum = w.sum()
    return pd.DataFrame(
        {
            "driver": driver_names,
            "low_max": [lows[d] for d in driver_names],
            "high_min": [highs[d] for d in driver_names],
            "n_low": low.sum(0),
            "n_high": high.sum(0),
            "share_low": (low * w[:, None]).sum(0) / wsum,
            "share_high": (high * w[:, None]).sum(0) / wsum,
            "penalty": penalty,
            "penalty_se": se_low,
            "penalty_ci_low": penalty - tcrit * se_low,
            "penalty_ci_high": penalty + tcrit * se_low,
            "penalty_p_value": raw_p[0],
            "reward": reward,
            "reward_se": se_high,
            "reward_ci_low": reward - tcrit * se_high,
            "reward_ci_high": reward + tcrit * se_high,
            "reward_p_value": raw_p[1],
            "difference": diff,
            "difference_se": se_diff,
            "difference_p_value": raw_p[2],
            "penalty_p_adjusted": p_pen,
            "reward_p_adjusted": p_rew,
            "difference_p_adjusted": p_diff,
            "factor_class": factor.tolist(),
            "significant": sig_pen | sig_rew,
            "r2": r2,
            "n": n,
        }
    )


def _check_bands(
    low: np.ndarray,
    high: np.ndarray,
    driver_names: list[str],
    lows: Mapping[str, float],
    highs: Mapping[str, float],
) -> None:
    """Raise :class:`DriverError` for a driver nobody or everybody rates low, or nobody high."""
    for j, d in enumerate(driver_names):
        # low and high exclude each other, so "all high" is caught as "none low"
        if not low[:, j].any():
            raise DriverError(
                f"penalty_reward: driver {d!r}: no respondent rates it low (<= {lows[d]:g}); move the cut-off"
            )
        if low[:, j].all():
            raise DriverError(
                f"penalty_reward: driver {d!r}: every respondent rates it low (<= {lows[d]:g}); move the cut-off"
            )
        if not high[:, j].any():
            raise DriverError(
                f"penalty_reward: driver {d!r}: no respondent rates it high (>= {highs[d]:g}); move the cut-off"
            )


def _check_collinear(xtwx: np.ndarray, driver_names: list[str]) -> None:
    """Raise :class:`DriverError` naming the dummies when ``X'WX`` is (nearly) singular."""
    eig = np.linalg.eigvalsh(xtwx / np.diag(xtwx).max())
    if eig.min() < 1e-10:
        _, vec = np.linalg.eigh(xtwx)
        involved = np.abs(vec[1:, 0]) > 0.01
        labels = [f"{d} (low)" for d in driver_names] + [f"{d} (high)" for d in driver_names]
        bad = ", ".join(lab for lab, b in zip(labels, involved, strict=True) if b)
        raise DriverError(
            f"penalty_reward: the low/high dummies are collinear: {bad}; with these cut-offs no rating is "
            "left in the middle - widen the middle band"
        )


def _dummy_cov(
    dummies: np.ndarray, w: np.ndarray, resid: np.ndarray, xtwx: np.ndarray, cov_type: str
) -> np.ndarray:
    """Return the covariance of the dummy regression's coefficients (``cov_type``)."""
    n, k = dummies.shape
    bread = np.linalg.inv(xtwx)
    if cov_type == "nonrobust":
        sigma2 = (w * resid**2).sum() / (n - k)
        return bread * sigma2
    u = resid
    if cov_type in {"HC2", "HC3"}:
        lev = np.einsum("ij,jk,ik->i", dummies, bread, dummies) * w
        u = resid / (np.sqrt(1 - lev) if cov_type == "HC2" else (1 - lev))
    meat = (dummies * (w * u)[:, None]).T @ (dummies * (w * u)[:, None])
    cov = bread @ meat @ bread
    if cov_type == "HC1":
        cov *= n / (n - k)
    return cov


def _factor_class(
    rule: str,
    penalty: np.ndarray,
    reward: np.ndarray,
    sig_pen: np.ndarray,
    sig_rew: np.ndarray,
    sig_diff: np.ndarray,
    ratio: float,
) -> np.ndarray:
    """Return each attribute's class under ``rule``: basic, performance or excitement."""
    diff = penalty - reward
    if rule == "difference":
        basic = sig_pen & (diff > 0) & sig_diff
        excite = sig_rew & (diff < 0) & sig_diff
    elif rule == "ratio":
        basic = sig_pen & (penalty >= ratio * np.maximum(reward, 0))
        excite = sig_rew & (reward >= ratio * np.maximum(penalty, 0))
    else:
        basic = sig_pen & ~sig_rew
        excite = sig_rew & ~sig_pen
    return np.where(basic, "basic", np.where(excite, "excitement", "performance"))
