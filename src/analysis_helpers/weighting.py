"""Survey weights: raking to population margins and a weighting-efficiency report.

Raked weights are not fixed: :func:`raking_se_effect` shows what the raking does to the
SEs of the headline KPIs (raking-aware, R's linearisation after ``rake()``, against the
raked weights treated as fixed); designs carry the raking as
:class:`~analysis_helpers.estimation.Calibration`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ._checks import check_frame, check_weights, show, weight_values
from ._compat import renamed
from ._design import SurveyDesign

__all__ = ["RakingError", "rake", "weighting_report", "raking_se_effect", "raking_se_takeaway"]


class RakingError(ValueError):
    """Raking cannot reach the margins: no convergence, or sample and margins disagree."""


def _base_design(column: str | None) -> SurveyDesign | None:
    return SurveyDesign(weight=column) if column is not None else None


@renamed(base_weight=("design", _base_design))
def rake(
    data: pd.DataFrame,
    *,
    margins: Mapping[str, Mapping[Any, float]],
    design: SurveyDesign | None = None,
    trim: tuple[float, float] | None = None,
    max_iter: int = 100,
    tol: float = 1e-6,
) -> pd.Series:
    """Rake weights to population margins by iterative proportional fitting.

    Each cycle scales the weights so the weighted distribution of each margin variable
    in turn matches its target (Deming & Stephan 1940; R ``survey::rake``). With ``trim``,
    after each cycle weights are clipped to ``[lo, hi]`` times the mean weight and the
    cycle repeats, so the result both meets the margins and respects the bounds (or
    raises).

    Parameters
    ----------
    data : DataFrame
        One row per respondent; the margin columns must have no missing values.
    margins : mapping column -> mapping value -> target
        Population shares or counts of each category. Targets of a column are used as
        proportions (normalised to sum 1). If the targets are counts (any column summing
        to more than 1.5), every column must sum to the same population total and the
        raked weights sum to it; with shares the weights sum to the sum of the base
        weights (n without a design weight).
    design : SurveyDesign, optional
        Its ``weight`` column holds the design weights raking starts from (finite, > 0);
        default 1. Strata and clusters do not enter.
    trim : (float, float), optional
        Lower and upper bound on weights relative to the mean weight, e.g. ``(0.3, 3.0)``.
    max_iter : int
        Maximum number of cycles.
    tol : float
        Convergence: the largest absolute difference between a weighted margin share and
        its target share.

    Returns
    -------
    Series
        The raked weights, indexed like ``data``, named ``"weight"``.

    Raises
    ------
    KeyError
        A margin column or the base weight is not in ``data``.
    RakingError
        A margin category is absent from the sample, a sample category has no margin, a
        margin column has missing values, targets are negative or inconsistent, or the
        iterations do not converge within ``max_iter`` (e.g. trimming bounds that cannot
        be met).

    References
    ----------
    Deming, W. E., & Stephan, F. F. (1940). On a least squares adjustment of a sampled
    frequency table when the expected marginal totals are known. *Annals of Mathematical
    Statistics*, 11(4), 427-444.

    Examples
    --------
    >>> s = pd.DataFrame({"sex": ["m", "m", "m", "f"]})
    >>> w = rake(s, margins={"sex": {"m": 0.5, "f": 0.5}})
    >>> [round(x, 4) for x in w]
    [0.6667, 0.6667, 0.6667, 2.0]
    """
    check_frame(data, "rake")
    if not margins:
        raise RakingError("rake: margins is empty")
    if max_iter < 1:
        raise ValueError(f"rake: max_iter must be >= 1, got {max_iter}")
    if not tol > 0:
        raise ValueError(f"rake: tol must be > 0, got {tol}")
    n = len(data)
    if n == 0:
        raise RakingError("rake: data has no rows")
    w0 = _base_weights(data, design)
    if trim is not None:
        lo, hi = trim
        if not 0 <= lo < 1 < hi:
            raise ValueError(f"rake: trim must be (lo, hi) with 0 <= lo < 1 < hi, got {trim!r}")
    codes, targets, totals = [], [], []
    for col, tgt in margins.items():
        code, t = _margin_codes(data, col, tgt)
        codes.append(code)
        targets.append(t.to_numpy() / t.sum())
        totals.append(t.sum())
    grand = _population_total(margins, totals, w0)
    w = w0 / w0.sum()
    for _ in range(max_iter):
        for code, tgt in zip(codes, targets, strict=True):
            cur = np.bincount(code, weights=w, minlength=len(tgt))
            with np.errstate(divide="ignore", invalid="ignore"):
                f = np.where(cur > 0, tgt / cur, 0.0)
            w = w * f[code]
        if trim is not None:
            w = _trimmed(w, trim)
        w = w / w.sum()
        err = max(
            np.abs(np.bincount(c, weights=w, minlength=len(t)) - t).max()
            for c, t in zip(codes, targets, strict=True)
        )
        if err < tol:
            return pd.Series(w * grand, index=data.index, name="weight")
    raise RakingError(
        f"rake: raking did not converge in {max_iter} iterations (largest margin "
        f"error {err:.3g} > tol {tol:g})"
        + ("; the trimming bounds may be too tight" if trim is not None else "")
    )


def _base_weights(data: pd.DataFrame, design: SurveyDesign | None) -> np.ndarray:
    """Return the design weights raking starts from (ones without a design weight).

    Raises
    ------
    KeyError
        The base weight column is not in ``data``.
    """
    base_weight = design.weight if design is not None else None
    if base_weight is None:
        return np.ones(len(data))
    if base_weight not in data.columns:
        raise KeyError(f"rake: base weight column {base_weight!r} is not in the data")
    return weight_values(data, base_weight, "rake", error=RakingError)


def _margin_codes(
    data: pd.DataFrame, col: str, tgt: Mapping[Any, float]
) -> tuple[np.ndarray, pd.Series]:
    """Return each row's category position in a margin and the margin's targets.

    Raises
    ------
    KeyError
        The margin column is not in ``data``.
    RakingError
        The column has a missing value, a target is negative or not finite, a sample
        category has no target, or a category with a target has no respondents.
    """
    if col not in data.columns:
        raise KeyError(f"rake: margin column {col!r} is not in the data")
    s = data[col]
    if s.isna().any():
        i = int(np.flatnonzero(s.isna().to_numpy())[0])
        raise RakingError(f"rake: margin column {col!r}: row {show(data.index[i])} is missing")
    t = pd.Series(dict(tgt), dtype=float)
    if (t < 0).any() or not np.isfinite(t).all():
        bad = t.index[(t < 0) | ~np.isfinite(t)][0]
        raise RakingError(f"rake: margin {col!r}: category {show(bad)} has target {show(t[bad])}")
    sample_vals = pd.unique(s)
    extra = [v for v in sample_vals if v not in t.index]
    if extra:
        raise RakingError(f"rake: margin {col!r}: sample category {show(extra[0])} has no margin")
    absent = [v for v in t.index if t[v] > 0 and v not in set(sample_vals)]
    if absent:
        raise RakingError(
            f"rake: margin {col!r}: category {show(absent[0])} has a target but no "
            "respondents in the sample"
        )
    return pd.Index(t.index).get_indexer(s), t


def _population_total(
    margins: Mapping[str, Mapping[Any, float]], totals: list[float], w0: np.ndarray
) -> float:
    """Return the total the raked weights sum to: the margins' counts, or the base weights'.

    Raises
    ------
    RakingError
        Some margins are counts and they do not all share one population total.
    """
    counts = [tot > 1.5 for tot in totals]
    if not any(counts):
        return float(w0.sum())
    if not all(counts) or not np.allclose(totals, totals[0], rtol=1e-6):
        raise RakingError(
            f"rake: margins given as counts must share one population total, got "
            f"{dict(zip(margins, totals, strict=True))}"
        )
    return float(totals[0])


def _trimmed(w: np.ndarray, trim: tuple[float, float]) -> np.ndarray:
    """Return ``w`` clipped to ``trim`` times its mean, repeated until the bounds hold."""
    for _ in range(50):  # clipping moves the mean: repeat until the bounds hold
        mean = w.mean()
        clipped = np.clip(w, trim[0] * mean, trim[1] * mean)
        if np.allclose(clipped, w, rtol=1e-12, atol=0):
            break
        w = clipped
    return w


def _report_row(w: np.ndarray, label: str) -> dict:
    n = len(w)
    s = w.sum()
    neff = s * s / (w * w).sum()
    cv = w.std() / w.mean()
    return {
        "weights": label,
        "n": n,
        "sum": s,
        "mean": w.mean(),
        "min": w.min(),
        "max": w.max(),
        "ratio_max_min": w.max() / w.min(),
        "cv": cv,
        "n_effective": neff,
        "efficiency": neff / n,
        "deff_weighting": 1 + cv * cv,
    }


def weighting_report(weights: pd.Series, *, before: pd.Series | None = None) -> pd.DataFrame:
    """Summarise a set of weights and what they cost in precision.

    Parameters
    ----------
    weights : Series
        The weights (finite, > 0).
    before : Series, optional
        The weights before adjustment (e.g. design weights before raking), reported in a
        first row for comparison.

    Returns
    -------
    DataFrame
        One row per set (``weights`` = "before" / "after", or "weights"): ``n``, ``sum``,
        ``mean``, ``min``, ``max``, ``ratio_max_min``, ``cv`` (population SD / mean),
        ``n_effective`` (Kish ``(sum w)^2 / sum w^2``), ``efficiency`` (``n_effective / n``)
        and ``deff_weighting`` (Kish's ``1 + CV^2 = n / n_effective``).

    References
    ----------
    Kish, L. (1965). *Survey Sampling*. Wiley (the effective sample size and the design
    effect of weighting, ``1 + CV^2``).

    Examples
    --------
    >>> weighting_report(pd.Series([2 / 3, 2 / 3, 2 / 3, 2.0]))[["n", "n_effective", "efficiency"]]
       n  n_effective  efficiency
    0  4          3.0        0.75
    """
    rows = []
    sets = (
        [("before", before), ("after", weights)] if before is not None else [("weights", weights)]
    )
    for label, s in sets:
        w = pd.Series(s).to_numpy(dtype=float, na_value=np.nan)
        if len(w) == 0:
            raise ValueError(f"weighting_report: {label} weights are empty")
        check_weights(w, f"{label} weights", "weighting_report")
        rows.append(_report_row(w, label))
    return pd.DataFrame(rows)


def raking_se_effect(
    data: pd.DataFrame, *, study: Any, by: Sequence[str] | None = None
) -> pd.DataFrame:
    """Compare the SEs of the headline KPIs with and without the raking in the variance.

    Raked weights depend on the sample through the margins they were fitted to; treating
    them as fixed design weights misstates the SEs (usually overstates them for items
    related to the margins). This table puts each headline KPI's SE with the raking
    residuals (R's linearisation after ``rake()``, see
    :class:`~analysis_helpers.estimation.Calibration`) beside the fixed-weight SE.

    Parameters
    ----------
    data : DataFrame
        Clean analysis data with the raked weight, the margin columns and the wave.
    study : Study
        A study that rakes (``weighting:``).
    by : sequence of str, optional
        Grouping columns; default the wave column.

    Returns
    -------
    DataFrame
        One row per group and KPI: the ``by`` columns, ``kpi``, ``label``, ``unit``, ``n``,
        ``estimate``, ``se_fixed`` (raked weights treated as fixed), ``se_raking``
        (raking-aware), ``se_ratio`` (``se_raking / se_fixed``) and ``in_use`` (True when
        the report's SEs are the raking-aware ones, i.e. ``weighting.raking_se``).

    Raises
    ------
    ValueError
        The study does not rake, or its design weight is not the raked weight.
    """
    from .study_tables import kpi_summary, study_calibration, study_design

    wt = study.weighting
    if wt is None or study_calibration(study, raking_se=True) is None:
        raise ValueError(f"raking_se_effect: study {study.name!r} does not rake its design weight")
    by = [study.wave_column] if by is None else list(by)
    fixed = kpi_summary(data, study=study, by=by, design=study_design(study, raking_se=False))
    aware = kpi_summary(data, study=study, by=by, design=study_design(study, raking_se=True))
    keys = [*by, "kpi"]
    out = fixed[[*keys, "label", "unit", "n", "estimate", "se"]].rename(columns={"se": "se_fixed"})
    out = out.merge(aware[[*keys, "se"]].rename(columns={"se": "se_raking"}), on=keys, how="left")
    with np.errstate(divide="ignore", invalid="ignore"):
        out["se_ratio"] = out["se_raking"] / out["se_fixed"]
    out["in_use"] = bool(wt.raking_se)
    return out


def raking_se_takeaway(effect: pd.DataFrame) -> dict:
    """Return the text key and values of the sentence under :func:`raking_se_effect`.

    Parameters
    ----------
    effect : DataFrame
        The table of :func:`raking_se_effect`.

    Returns
    -------
    dict
        ``key`` (``"clean.raking_se"``, or ``"clean.raking_se_off"`` when the report
        treats the raked weights as fixed) and ``low``, ``high``, ``median``: the smallest,
        largest and median relative change of the SEs (``se_raking / se_fixed - 1``) as
        signed percentages with one decimal, e.g. ``"-9.6%"``.

    Examples
    --------
    >>> t = pd.DataFrame({"se_ratio": [0.9, 0.95, 1.01], "in_use": True})
    >>> raking_se_takeaway(t)
    {'key': 'clean.raking_se', 'low': '-10.0%', 'high': '+1.0%', 'median': '-5.0%'}
    """
    change = (effect["se_ratio"].astype(float) - 1).dropna()

    def pct(x: float) -> str:
        return f"{100 * x:+.1f}%"

    in_use = bool(effect["in_use"].iloc[0]) if len(effect) else True
    return {
        "key": "clean.raking_se" if in_use else "clean.raking_se_off",
        "low": pct(float(change.min())) if len(change) else "",
        "high": pct(float(change.max())) if len(change) else "",
        "median": pct(float(change.median())) if len(change) else "",
    }
