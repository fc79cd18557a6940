"""Importance-performance analysis (Martilla & James 1977): a quadrant per item.

And the action list of the items to concentrate on.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

__all__ = ["QUADRANTS", "importance_performance", "action_list"]

QUADRANTS = {
    (True, False): "concentrate here",
    (True, True): "keep up the good work",
    (False, False): "low priority",
    (False, True): "possible overkill",
}


def _as_series(values, role: str, func: str, measure: str | None = None) -> pd.Series:
    if isinstance(values, pd.DataFrame):
        key = next((k for k in ("driver", "item") if k in values.columns), None)
        col = measure if measure is not None else "estimate"
        if key is None or col not in values.columns:
            raise KeyError(
                f"{func}: {role}: a DataFrame needs a 'driver' or 'item' column and a {col!r} column"
            )
        if values[key].duplicated().any():
            dup = values[key][values[key].duplicated()].iloc[0]
            raise ValueError(
                f"{func}: {role}: item {dup!r} appears more than once; pass one segment"
            )
        return pd.Series(values[col].to_numpy(dtype=float), index=values[key].tolist())
    series = pd.Series(values, dtype=float)
    if series.index.duplicated().any():
        raise ValueError(
            f"{func}: {role}: item {series.index[series.index.duplicated()][0]!r} repeats"
        )
    return series


def importance_performance(
    importance: pd.Series | Mapping[str, float] | pd.DataFrame,
    performance: pd.Series | Mapping[str, float] | pd.DataFrame,
    *,
    crosshair: str = "mean",
    scale_midpoint: float | None = None,
    measure: str = "relative_weight_pct",
) -> pd.DataFrame:
    """Place every item in an importance-performance quadrant (Martilla & James 1977).

    Parameters
    ----------
    importance : Series, mapping or DataFrame
        Importance per item: a Series/mapping item -> value, or the output of
        :func:`driver_importance` (the ``measure`` column is used).
    performance : Series, mapping or DataFrame
        Performance per item (e.g. the weighted mean rating): a Series/mapping, or a frame
        with an ``item`` (or ``driver``) column and an ``estimate`` column.
    crosshair : {"mean", "midpoint"}
        Where the quadrant lines cross. ``"mean"``: at the mean importance and the mean
        performance over the items (the data-centred crosshair). ``"midpoint"``: the
        performance line at ``scale_midpoint`` (e.g. 3 on a 1-5 scale) and the importance
        line halfway between the least and most important item.
    scale_midpoint : float, optional
        Required with ``crosshair="midpoint"``.
    measure : str
        Column of a :func:`driver_importance` table to use as importance.

    Returns
    -------
    DataFrame
        One row per item, in the order of ``importance``: ``item``, ``importance``,
        ``performance``, ``importance_cut``, ``performance_cut``, ``importance_gap``
        (importance - cut), ``performance_gap`` (performance - cut), ``quadrant`` - one of
        "concentrate here" (important, low performance), "keep up the good work"
        (important, high), "low priority" (unimportant, low), "possible overkill"
        (unimportant, high). An item exactly on a line counts as important / high.

    References
    ----------
    Martilla, J. A., & James, J. C. (1977). Importance-performance analysis. *Journal of
    Marketing*, 41(1), 77-79.

    Examples
    --------
    >>> ipa = importance_performance({"a": 0.5, "b": 0.2, "c": 0.3},
    ...                              {"a": 60.0, "b": 80.0, "c": 70.0})
    >>> ipa[["item", "quadrant"]]
      item           quadrant
    0    a   concentrate here
    1    b  possible overkill
    2    c  possible overkill
    """
    imp = _as_series(importance, "importance", "importance_performance", measure)
    perf = _as_series(performance, "performance", "importance_performance")
    missing_perf = [i for i in imp.index if i not in perf.index]
    missing_imp = [i for i in perf.index if i not in imp.index]
    if missing_perf or missing_imp:
        raise KeyError(
            "importance_performance: importance and performance must cover the same items; "
            f"no performance for {missing_perf}, no importance for {missing_imp}"
        )
    perf = perf.loc[imp.index]
    for role, s in (("importance", imp), ("performance", perf)):
        if s.isna().any():
            raise ValueError(
                f"importance_performance: {role} is missing for item {s.index[s.isna()][0]!r}"
            )
    if crosshair == "mean":
        imp_cut, perf_cut = float(imp.mean()), float(perf.mean())
    elif crosshair == "midpoint":
        if scale_midpoint is None:
            raise ValueError(
                "importance_performance: crosshair='midpoint' needs scale_midpoint (e.g. 3 on a 1-5 scale)"
            )
        imp_cut, perf_cut = float(imp.min() + imp.max()) / 2, float(scale_midpoint)
    else:
        raise ValueError(
            f"importance_performance: crosshair={crosshair!r}: use 'mean' or 'midpoint'"
        )
    important = imp.to_numpy() >= imp_cut
    high = perf.to_numpy() >= perf_cut
    return pd.DataFrame(
        {
            "item": list(imp.index),
            "importance": imp.to_numpy(),
            "performance": perf.to_numpy(),
            "importance_cut": imp_cut,
            "performance_cut": perf_cut,
            "importance_gap": imp.to_numpy() - imp_cut,
            "performance_gap": perf.to_numpy() - perf_cut,
            "quadrant": [
                QUADRANTS[(bool(a), bool(b))] for a, b in zip(important, high, strict=True)
            ],
        }
    )


def action_list(ipa: pd.DataFrame) -> pd.DataFrame:
    """Return the "concentrate here" items, most important first.

    Parameters
    ----------
    ipa : DataFrame
        Output of :func:`importance_performance`.

    Returns
    -------
    DataFrame
        The "concentrate here" rows ordered by ``importance_gap`` (how far above the
        importance line), largest first, ties broken by the lower performance; a
        ``priority`` column (1 = first) is added.
    """
    needed = {"item", "quadrant", "importance_gap", "performance_gap"}
    absent = sorted(needed - set(ipa.columns))
    if absent:
        raise KeyError(
            f"action_list: ipa lacks column(s) {absent}; pass importance_performance() output"
        )
    out = ipa[ipa["quadrant"] == QUADRANTS[(True, False)]]
    out = out.sort_values(
        ["importance_gap", "performance_gap"], ascending=[False, True], kind="stable"
    ).reset_index(drop=True)
    return out.assign(priority=np.arange(1, len(out) + 1))
