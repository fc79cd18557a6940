"""Trend: KPIs wave by wave, wave-over-wave change with a test, turning points.

Waves are independent samples (different respondents each wave), so the standard error of
a wave-over-wave change is ``sqrt(se_1^2 + se_2^2)`` from the two waves' design-based SEs,
and the change is tested with a z test. Multiple comparisons across KPIs are corrected
with Holm's step-down method by default.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from ._checks import as_names, check_choice, check_confidence
from ._compat import renamed

__all__ = ["wave_over_wave", "compare_waves", "turning_points", "adjust_p"]


@renamed(method="correction")
def adjust_p(p_values: Sequence[float] | pd.Series, *, correction: str = "holm") -> np.ndarray:
    """Adjust p-values for multiple comparisons.

    Parameters
    ----------
    p_values : sequence of float
        Raw p-values; NaN stays NaN and is not counted.
    correction : {"holm", "fdr_bh", "bonferroni", "none"}
        Holm (1979) step-down, Benjamini-Hochberg false discovery rate, Bonferroni, or no
        correction. Vectorised (a banner adjusts hundreds of small families, and
        statsmodels' ``multipletests`` runs ``gc.collect()`` on every Holm call); the tests
        check it against ``multipletests`` and R's ``p.adjust``. The one correction helper
        of the package.

    Returns
    -------
    ndarray
        The adjusted p-values, in the input order.

    References
    ----------
    Holm, S. (1979). A simple sequentially rejective multiple test procedure.
    *Scandinavian Journal of Statistics*, 6(2), 65-70. Benjamini, Y., & Hochberg, Y.
    (1995). Controlling the false discovery rate. *JRSS B*, 57(1), 289-300.

    Examples
    --------
    >>> adjust_p([0.01, 0.04, 0.03], correction="holm").round(4).tolist()
    [0.03, 0.06, 0.06]
    """
    p = np.asarray(p_values, dtype=float)
    check_choice(correction, ("holm", "fdr_bh", "bonferroni", "none"), "correction", "adjust_p")
    out = p.copy()
    ok = np.flatnonzero(~np.isnan(p))
    m = len(ok)
    if correction == "none" or m == 0:
        return out
    x = p[ok]
    if correction == "bonferroni":
        adj = np.minimum(x * m, 1.0)
    elif correction == "holm":
        order = np.argsort(x, kind="stable")
        step = np.maximum.accumulate(x[order] * (m - np.arange(m)))
        adj = np.empty(m)
        adj[order] = np.minimum(step, 1.0)
    else:
        order = np.argsort(x, kind="stable")[::-1]
        step = np.minimum.accumulate(x[order] * m / (m - np.arange(m)))
        adj = np.empty(m)
        adj[order] = np.minimum(step, 1.0)
    out[ok] = adj
    return out


@renamed(keys="by")
def wave_over_wave(
    table: pd.DataFrame,
    *,
    wave: str = "wave",
    order: Sequence[str],
    by: str | Sequence[str] = ("kpi",),
    alpha: float = 0.05,
    correction: str = "holm",
) -> pd.DataFrame:
    """Test the change of each estimate from one wave to the next with a z test.

    Parameters
    ----------
    table : DataFrame
        Tidy estimates by wave: the ``wave`` column, the ``keys`` columns, ``estimate`` and
        ``se`` (design-based), and optionally ``n``.
    wave : str
        The wave column.
    order : sequence of str
        Waves in time order; waves missing from the table are skipped.
    by : str or sequence of str
        Columns that identify one series (e.g. the KPI, and a segment).
    alpha : float
        Significance level for the ``significant`` column (after correction).
    correction : str
        Multiple-comparison correction across all rows, see :func:`adjust_p`.

    Returns
    -------
    DataFrame
        One row per series and pair of consecutive waves: the ``by`` columns, ``wave_from``,
        ``wave_to``, ``estimate_from``, ``estimate_to``, ``change``, ``se``, ``statistic`` (z),
        ``p_value``, ``p_adjusted``, ``significant``, ``direction`` ("up", "down", "").

    References
    ----------
    Holm, S. (1979). A simple sequentially rejective multiple test procedure.
    *Scandinavian Journal of Statistics*, 6(2), 65-70 (the default correction).

    Examples
    --------
    Independent waves: the change's SE is ``sqrt(0.1^2 + 0.1^2)`` = 0.1414, so +0.5 has
    z = 3.54; Holm doubles the smaller of the two p-values.

    >>> t = pd.DataFrame(
    ...     {
    ...         "kpi": ["csat"] * 3,
    ...         "wave": ["Q1", "Q2", "Q3"],
    ...         "estimate": [7.0, 7.5, 7.4],
    ...         "se": [0.1, 0.1, 0.1],
    ...     }
    ... )
    >>> c = wave_over_wave(t, order=["Q1", "Q2", "Q3"])
    >>> c[["wave_from", "wave_to", "change", "statistic", "p_adjusted", "direction"]].round(4)
      wave_from wave_to  change  statistic  p_adjusted direction
    0        Q1      Q2     0.5     3.5355      0.0008        up
    1        Q2      Q3    -0.1    -0.7071      0.4795
    """
    keys = as_names(by, "by", "wave_over_wave")
    missing = [c for c in [wave, *keys, "estimate", "se"] if c not in table.columns]
    if missing:
        raise KeyError(f"wave_over_wave: table has no column(s) {missing}")
    unknown = sorted(set(table[wave].astype(str)) - set(map(str, order)))
    if unknown:
        raise ValueError(f"wave_over_wave: wave(s) {unknown} are not in the wave order")
    rank = {str(w): k for k, w in enumerate(order)}
    t = table.assign(_rank=table[wave].astype(str).map(rank)).sort_values([*keys, "_rank"])
    rows = []
    for key, g in t.groupby(keys, sort=False, observed=True, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        g = g.reset_index(drop=True)
        for k in range(1, len(g)):
            a, b = g.iloc[k - 1], g.iloc[k]
            se = float(np.hypot(a["se"], b["se"]))
            change = float(b["estimate"] - a["estimate"])
            z = change / se if se > 0 else np.nan
            rows.append(
                {
                    **dict(zip(keys, key, strict=True)),
                    "wave_from": a[wave],
                    "wave_to": b[wave],
                    "estimate_from": float(a["estimate"]),
                    "estimate_to": float(b["estimate"]),
                    "change": change,
                    "se": se,
                    "statistic": z,
                    "p_value": 2 * stats.norm.sf(abs(z)) if se > 0 else np.nan,
                }
            )
    cols = [
        *keys,
        "wave_from",
        "wave_to",
        "estimate_from",
        "estimate_to",
        "change",
        "se",
        "statistic",
        "p_value",
        "p_adjusted",
        "significant",
        "direction",
    ]
    if not rows:
        return pd.DataFrame(columns=cols)
    out = pd.DataFrame(rows)
    out["p_adjusted"] = adjust_p(out["p_value"], correction=correction)
    out["significant"] = out["p_adjusted"] < alpha
    out["direction"] = np.where(out["significant"], np.where(out["change"] > 0, "up", "down"), "")
    return out[cols]


def compare_waves(
    table: pd.DataFrame,
    *,
    wave: str = "wave",
    pairs: Mapping[str, str],
    by: str | Sequence[str] = ("kpi",),
    alpha: float = 0.05,
    correction: str = "holm",
    family: str | Sequence[str] = (),
) -> pd.DataFrame:
    """Test the change of each estimate between given pairs of waves with a z test.

    As :func:`wave_over_wave` (independent waves, ``se = sqrt(se_1^2 + se_2^2)``), but for
    any pairs: e.g. each wave against the same wave a year earlier.

    Parameters
    ----------
    table : DataFrame
        Tidy estimates by wave: ``wave``, the ``by`` columns, ``estimate``, ``se``.
    wave : str
        The wave column.
    pairs : mapping
        Later wave -> the earlier wave it is compared with.
    by : str or sequence of str
        Columns that identify one series.
    alpha : float
        Significance level (after correction).
    correction : str
        Multiple-comparison correction, see :func:`adjust_p`.
    family : str or sequence of str
        Columns of ``by`` whose values form separate families for the correction (e.g.
        the level of the hierarchy); empty: one family of every row.

    Returns
    -------
    DataFrame
        The columns of :func:`wave_over_wave`, one row per series and pair that both
        have an estimate with a positive SE, in the table's order of series and waves.

    Examples
    --------
    >>> t = pd.DataFrame({"kpi": ["x"] * 3, "wave": ["a", "b", "c"],
    ...                   "estimate": [1.0, 1.2, 1.5], "se": [0.1, 0.1, 0.1]})
    >>> compare_waves(t, pairs={"c": "a"})[["wave_from", "wave_to", "change"]].round(2)
      wave_from wave_to  change
    0         a       c     0.5
    """
    keys = as_names(by, "by", "compare_waves")
    fam = as_names(family, "family", "compare_waves")
    missing = [c for c in [wave, *keys, "estimate", "se"] if c not in table.columns]
    if missing:
        raise KeyError(f"compare_waves: table has no column(s) {missing}")
    bad = [f for f in fam if f not in keys]
    if bad:
        raise ValueError(f"compare_waves: family column(s) {bad} are not among by {keys}")
    t = table[[*keys, wave, "estimate", "se"]].astype({wave: str})
    t = t[t["estimate"].notna() & (t["se"] > 0)]
    later = t[t[wave].isin([str(k) for k in pairs])]
    later = later.assign(_from=later[wave].map({str(k): str(v) for k, v in pairs.items()}))
    m = later.merge(
        t.rename(columns={wave: "_from", "estimate": "estimate_from", "se": "se_from"}),
        on=[*keys, "_from"],
        how="inner",
    )
    out = pd.DataFrame({k: m[k] for k in keys})
    out["wave_from"] = m["_from"].to_numpy()
    out["wave_to"] = m[wave].to_numpy()
    out["estimate_from"] = m["estimate_from"].to_numpy(float)
    out["estimate_to"] = m["estimate"].to_numpy(float)
    out["change"] = out["estimate_to"] - out["estimate_from"]
    out["se"] = np.hypot(m["se"].to_numpy(float), m["se_from"].to_numpy(float))
    out["statistic"] = out["change"] / out["se"]
    out["p_value"] = 2 * stats.norm.sf(out["statistic"].abs())
    out["p_adjusted"] = np.nan
    if len(out):
        if fam:
            key = fam if len(fam) > 1 else fam[0]
            for _, idx in out.groupby(key, sort=False, observed=True).groups.items():
                out.loc[idx, "p_adjusted"] = adjust_p(
                    out.loc[idx, "p_value"], correction=correction
                )
        else:
            out["p_adjusted"] = adjust_p(out["p_value"], correction=correction)
    out["significant"] = out["p_adjusted"] < alpha
    out["direction"] = np.where(out["significant"], np.where(out["change"] > 0, "up", "down"), "")
    return out.reset_index(drop=True)


def turning_points(changes: pd.DataFrame, *, min_change: float = 0.0) -> pd.DataFrame:
    """Return the significant wave-over-wave changes, largest first: where a series turned.

    Parameters
    ----------
    changes : DataFrame
        Output of :func:`wave_over_wave`.
    min_change : float
        Also require ``|change| >= min_change`` (in the estimate's unit).

    Returns
    -------
    DataFrame
        The rows of ``changes`` that are significant and large enough, ordered by the
        size of the change (largest first).
    """
    for c in ("significant", "change"):
        if c not in changes.columns:
            raise KeyError(f"turning_points: expected the output of wave_over_wave (no {c!r})")
    hit = changes[changes["significant"] & (changes["change"].abs() >= min_change)]
    return hit.reindex(hit["change"].abs().sort_values(ascending=False).index).reset_index(
        drop=True
    )


@renamed(level="confidence")
def operational_link(
    scores: pd.DataFrame,
    metrics: pd.DataFrame,
    *,
    metric: str,
    on: Sequence[str],
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Estimate how an operational metric moves a score: a meta-regression over cells.

    Each cell (e.g. wave x region) has a design-based estimate of the score with its SE and
    a value of the metric (e.g. average queueing minutes). The estimates are regressed on
    the metric by weighted least squares with weights ``1 / se^2`` (cells measured more
    precisely count more), so the slope reads "score points per unit of the metric".

    Parameters
    ----------
    scores : DataFrame
        Tidy estimates per cell: the ``on`` columns, ``estimate``, ``se``.
    metrics : DataFrame
        The metric per cell: the ``on`` columns and ``metric``.
    metric : str
        The metric column.
    on : sequence of str
        The cell keys shared by both tables.
    confidence : float
        Confidence level of the slope's interval.

    Returns
    -------
    DataFrame
        One row: ``metric``, ``slope``, ``se``, ``ci_low``, ``ci_high``, ``p_value``,
        ``r2``, ``n_cells``, ``metric_min``, ``metric_max``.

    References
    ----------
    Thompson, S. G., & Higgins, J. P. T. (2002). How should meta-regression analyses be
    undertaken and interpreted? *Statistics in Medicine*, 21(11), 1559-1573.

    Examples
    --------
    With equal SEs the slope is that of ordinary least squares: ``Sxy / Sxx`` =
    -4.2 / 8 = -0.525 score points per minute of waiting.

    >>> s = pd.DataFrame(
    ...     {"region": ["north", "south", "west"], "estimate": [8.0, 7.1, 5.9], "se": [0.2] * 3}
    ... )
    >>> m = pd.DataFrame({"region": ["north", "south", "west"], "wait_min": [2.0, 4.0, 6.0]})
    >>> r = operational_link(s, m, metric="wait_min", on=["region"])
    >>> r[["metric", "slope", "n_cells"]].round(4)
         metric  slope  n_cells
    0  wait_min -0.525        3
    """
    import statsmodels.api as sm

    on = list(on)
    for name, table, cols in [
        ("scores", scores, [*on, "estimate", "se"]),
        ("metrics", metrics, [*on, metric]),
    ]:
        missing = [c for c in cols if c not in table.columns]
        if missing:
            raise KeyError(f"operational_link: {name} has no column(s) {missing}")
    left = scores[[*on, "estimate", "se"]].astype({c: str for c in on})
    right = metrics[[*on, metric]].astype({c: str for c in on})
    cells = left.merge(right, on=on, how="inner", validate="one_to_one").dropna()
    if len(cells) < 3:
        raise ValueError(
            f"operational_link: only {len(cells)} cells have both a score and {metric!r}; "
            "at least 3 are needed"
        )
    if cells[metric].nunique() < 2:
        raise ValueError(f"operational_link: {metric!r} does not vary across the cells")
    if (cells["se"] <= 0).any():
        raise ValueError("operational_link: every cell needs a positive standard error")
    x = sm.add_constant(cells[metric].astype(float).to_numpy())
    fit = sm.WLS(cells["estimate"].to_numpy(float), x, weights=1 / cells["se"] ** 2).fit()
    low, high = fit.conf_int(alpha=1 - check_confidence(confidence, "operational_link"))[1]
    return pd.DataFrame(
        [
            {
                "metric": metric,
                "slope": fit.params[1],
                "se": fit.bse[1],
                "ci_low": low,
                "ci_high": high,
                "p_value": fit.pvalues[1],
                "r2": fit.rsquared,
                "n_cells": len(cells),
                "metric_min": cells[metric].min(),
                "metric_max": cells[metric].max(),
            }
        ]
    )
