"""Index weights from driver importance: item or area weights for the index roll-up.

The roll-up is :func:`analysis_helpers.kpis.csi`.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from ._common import DriverError

__all__ = ["importance_to_index_weights", "with_index_weights"]


def importance_to_index_weights(
    importance: pd.DataFrame | pd.Series, *, measure: str = "relative_weight"
) -> pd.Series:
    """Derive item weights for an index roll-up, proportional to an importance measure.

    Parameters
    ----------
    importance : DataFrame or Series
        A :func:`driver_importance` table (one row per driver; one segment) or a Series
        item -> importance.
    measure : str
        The column to use (e.g. ``"relative_weight"``, ``"lmg"``, ``"beta"``).

    Returns
    -------
    Series
        Indexed by item (index name ``item``), named ``weight``: non-negative weights that
        sum to 1, in the order of the drivers - the ``weight_item`` form an index roll-up
        takes. Negative importances (possible for ``beta``, ``pratt``, ``correlation``)
        count as 0.

    Raises
    ------
    DriverError
        The measure is missing for a driver (e.g. Shapley skipped) or no importance is
        positive.
    """
    if isinstance(importance, pd.DataFrame):
        if "driver" not in importance.columns or measure not in importance.columns:
            raise KeyError(
                f"importance_to_index_weights: importance needs a 'driver' column and a {measure!r} column "
                f"(it has {list(importance.columns)})"
            )
        if importance["driver"].duplicated().any():
            dup = importance["driver"][importance["driver"].duplicated()].iloc[0]
            raise ValueError(
                f"importance_to_index_weights: driver {dup!r} appears more than once; pass the rows of one segment"
            )
        values = pd.Series(
            importance[measure].to_numpy(dtype=float), index=importance["driver"].tolist()
        )
    else:
        values = pd.Series(importance, dtype=float)
    if values.isna().any():
        raise DriverError(
            f"importance_to_index_weights: {measure!r} is missing for: {', '.join(map(repr, values.index[values.isna()]))}"
        )
    clipped = values.clip(lower=0)
    if clipped.sum() <= 0:
        raise DriverError(
            f"importance_to_index_weights: no driver has a positive {measure!r}; cannot weight an index"
        )
    out = clipped / clipped.sum()
    out.index = pd.Index(list(values.index), name="item")
    out.name = "weight"
    return out


def with_index_weights(
    hierarchy: pd.DataFrame, weights: pd.Series | Mapping[str, float], *, level: str = "area"
) -> pd.DataFrame:
    """Return the hierarchy table with derived weights at one level, ready for the index roll-up.

    Parameters
    ----------
    hierarchy : DataFrame
        :meth:`Study.hierarchy`: one row per item with ``item``, ``indicator``, ``area``
        and the stated ``weight_indicator`` / ``weight_area``.
    weights : Series or mapping
        Weight per area (or indicator, or item), e.g. from
        :func:`importance_to_index_weights`.
    level : {"area", "indicator", "item"}
        The level the weights are for; they go into ``weight_<level>``.

    Returns
    -------
    DataFrame
        A copy of ``hierarchy`` whose ``weight_<level>`` column holds the weights (the
        form :func:`analysis_helpers.kpis.csi` rolls up with).
    """
    if level not in {"area", "indicator", "item"}:
        raise ValueError(f"with_index_weights: level={level!r}: use 'area', 'indicator' or 'item'")
    if level not in hierarchy.columns:
        raise KeyError(f"with_index_weights: hierarchy lacks the column {level!r}")
    w = pd.Series(weights, dtype=float)
    units = list(dict.fromkeys(hierarchy[level]))
    absent = [u for u in units if u not in w.index]
    if absent:
        raise KeyError(
            f"with_index_weights: no weight for {level}(s) {', '.join(map(repr, absent))}"
        )
    extra = [u for u in w.index if u not in units]
    if extra:
        raise KeyError(
            f"with_index_weights: weights for unknown {level}(s) {', '.join(map(repr, extra))}"
        )
    if w.isna().any() or (w < 0).any():
        raise ValueError("with_index_weights: weights must be non-negative numbers")
    return hierarchy.assign(**{f"weight_{level}": hierarchy[level].map(w).astype(float)})
