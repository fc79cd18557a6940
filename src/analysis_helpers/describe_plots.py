"""Descriptive charts drawn from the tidy tables of :mod:`analysis_helpers.kpis` and
:mod:`analysis_helpers.estimation`.

Every function draws on ``ax`` (a new figure when None) and returns the Axes. None of them
computes a statistic from respondent rows: they take pre-aggregated tables (shares,
estimates and interval bounds), which keeps a chart at 1M respondents as fast as at 100.
Fonts are left to the report theme (:func:`analysis_helpers.plots.apply_theme`), so
labels in any language render.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes

__all__ = ["diverging_likert", "kpi_bars_with_ci", "gap_chart"]

_NEG = "#D55E00"
_POS = "#0072B2"
_MID = "#BBBBBB"


def _need(table: pd.DataFrame, cols: Sequence[str], what: str) -> None:
    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"{what}: expected a DataFrame, got {type(table).__name__}")
    missing = [c for c in cols if c not in table.columns]
    if missing:
        raise KeyError(f"{what}: table has no column(s) {missing}")
    if len(table) == 0:
        raise ValueError(f"{what}: table is empty")


def _ax(ax: Axes | None, size: tuple[float, float]) -> Axes:
    if ax is None:
        _, ax = plt.subplots(figsize=size)
    return ax


def _blend(a: str, b: str, t: float) -> tuple[float, float, float]:
    from matplotlib.colors import to_rgb

    ra, rb = np.array(to_rgb(a)), np.array(to_rgb(b))
    return tuple(ra + (rb - ra) * t)


def diverging_likert(
    dist_table: pd.DataFrame,
    *,
    label_col: str = "item",
    code_col: str = "code",
    share_col: str = "share",
    neutral: float | None = None,
    code_labels: dict | None = None,
    labels: dict | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Diverging stacked bars of answer shares: negative codes left of 0, positive right.

    Parameters
    ----------
    dist_table : DataFrame
        One row per bar and answer code, e.g. :func:`~analysis_helpers.kpis.item_distribution`
        for one group (filter groups first).
    label_col : str
        The bar (y axis) column.
    code_col, share_col : str
        Answer code and its share in [0, 1].
    neutral : float, optional
        The midpoint code, split half left and half right; default the middle code when
        the number of codes is odd, none when even.
    code_labels : dict, optional
        Legend text per code.
    labels : dict, optional
        Display text per bar (e.g. item labels).
    ax : Axes, optional
        Where to draw.

    Returns
    -------
    Axes
        x axis in percent of respondents.
    """
    _need(dist_table, [label_col, code_col, share_col], "diverging_likert")
    wide = dist_table.pivot_table(
        index=label_col, columns=code_col, values=share_col, aggfunc="sum", sort=False
    ).fillna(0.0)
    codes = sorted(wide.columns)
    wide = wide[codes]
    k = len(codes)
    if neutral is None and k % 2 == 1:
        neutral = codes[k // 2]
    if neutral is not None and neutral not in codes:
        raise ValueError(f"diverging_likert: neutral code {neutral!r} is not among {codes}")
    ax = _ax(ax, (8, 0.45 * len(wide) + 1.5))
    y = np.arange(len(wide))[::-1]
    neg = [
        c
        for c in codes
        if neutral is None and codes.index(c) < k / 2 or neutral is not None and c < neutral
    ]
    pos = [c for c in codes if c not in neg and c != neutral]
    mid = wide[neutral].to_numpy() * 100 / 2 if neutral is not None else np.zeros(len(wide))
    left = -mid - wide[neg].to_numpy().sum(axis=1) * 100 if neg else -mid
    start = left.copy()
    for i, c in enumerate(neg):
        v = wide[c].to_numpy() * 100
        col = _blend(_NEG, "#FFFFFF", 0.65 * i / max(len(neg), 1))
        ax.barh(y, v, left=start, color=col, label=(code_labels or {}).get(c, str(c)))
        start = start + v
    if neutral is not None:
        v = wide[neutral].to_numpy() * 100
        ax.barh(y, v, left=start, color=_MID, label=(code_labels or {}).get(neutral, str(neutral)))
        start = start + v
    for i, c in enumerate(pos):
        v = wide[c].to_numpy() * 100
        col = _blend(_POS, "#FFFFFF", 0.65 * (len(pos) - 1 - i) / max(len(pos), 1))
        ax.barh(y, v, left=start, color=col, label=(code_labels or {}).get(c, str(c)))
        start = start + v
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_yticks(y, [(labels or {}).get(i, str(i)) for i in wide.index])
    ax.set_xlabel("% of respondents")
    ax.legend(ncol=min(k, 7), loc="upper center", bbox_to_anchor=(0.5, -0.12), frameon=False)
    return ax


def kpi_bars_with_ci(
    table: pd.DataFrame,
    *,
    label_col: str = "item",
    estimate: str = "estimate",
    ci_low: str = "ci_low",
    ci_high: str = "ci_high",
    hue: str | None = None,
    labels: dict | None = None,
    percent: bool = False,
    sort: bool = False,
    ax: Axes | None = None,
) -> Axes:
    """Horizontal bars of estimates with their confidence intervals as error bars.

    Parameters
    ----------
    table : DataFrame
        A tidy estimate table (e.g. :func:`~analysis_helpers.kpis.top_box`).
    label_col : str
        The bar column.
    estimate, ci_low, ci_high : str
        Estimate and interval columns.
    hue : str, optional
        A grouping column (e.g. a segment) drawn as side-by-side bars.
    labels : dict, optional
        Display text per bar label.
    percent : bool
        Multiply shares by 100 for display.
    sort : bool
        Order bars by estimate (largest on top); only without ``hue``.
    ax : Axes, optional
        Where to draw.

    Returns
    -------
    Axes
    """
    cols = [label_col, estimate, ci_low, ci_high] + ([hue] if hue else [])
    _need(table, cols, "kpi_bars_with_ci")
    t = table[cols].copy()
    if sort and hue is None:
        t = t.sort_values(estimate, ascending=True)
    scale = 100.0 if percent else 1.0
    names = list(dict.fromkeys(t[label_col]))
    hues = list(dict.fromkeys(t[hue])) if hue else [None]
    ax = _ax(ax, (8, 0.45 * len(names) * max(1, len(hues) * 0.6) + 1.5))
    height = 0.8 / len(hues)
    pos = (
        {n: i for i, n in enumerate(names)}
        if sort and hue is None
        else {n: len(names) - 1 - i for i, n in enumerate(names)}
    )
    for j, hv in enumerate(hues):
        sub = t if hv is None else t[t[hue] == hv]
        y = np.array([pos[n] for n in sub[label_col]]) + (j - (len(hues) - 1) / 2) * height
        est = sub[estimate].to_numpy(dtype=float) * scale
        err = np.vstack(
            [
                est - sub[ci_low].to_numpy(dtype=float) * scale,
                sub[ci_high].to_numpy(dtype=float) * scale - est,
            ]
        )
        ax.barh(
            y,
            est,
            height=height * 0.9,
            xerr=err,
            capsize=2,
            label=None if hv is None else str(hv),
            error_kw={"linewidth": 0.8},
        )
    ax.set_yticks(list(pos.values()), [(labels or {}).get(n, str(n)) for n in pos])
    if hue:
        ax.legend(frameon=False)
    ax.set_xlabel(("% " if percent else "") + "estimate with confidence interval")
    return ax


def gap_chart(
    gap_table: pd.DataFrame,
    *,
    label_col: str = "satisfaction",
    expectation: str = "mean_expectation",
    satisfaction: str = "mean_satisfaction",
    significant: str | None = "p_value",
    alpha: float = 0.05,
    labels: dict | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Dumbbell chart of expectation vs satisfaction per aspect, largest shortfall on top.

    Parameters
    ----------
    gap_table : DataFrame
        Output of :func:`~analysis_helpers.kpis.expectation_gap` (one group).
    label_col : str
        The aspect column.
    expectation, satisfaction : str
        The two mean columns.
    significant : str, optional
        A p-value column; gaps with ``p < alpha`` get a solid line, others dashed.
    alpha : float
        Significance level for the line style.
    labels : dict, optional
        Display text per aspect.
    ax : Axes, optional
        Where to draw.

    Returns
    -------
    Axes
    """
    cols = [label_col, expectation, satisfaction] + ([significant] if significant else [])
    _need(gap_table, cols, "gap_chart")
    t = gap_table[cols].copy()
    t["_gap"] = t[satisfaction] - t[expectation]
    t = t.sort_values("_gap", ascending=False).reset_index(drop=True)
    ax = _ax(ax, (8, 0.45 * len(t) + 1.5))
    y = np.arange(len(t))
    for i, r in t.iterrows():
        sig = significant is None or (r[significant] < alpha)
        ax.plot(
            [r[expectation], r[satisfaction]],
            [y[i], y[i]],
            color="#777777",
            linestyle="-" if sig else "--",
            linewidth=1.5,
            zorder=1,
        )
    ax.scatter(t[expectation], y, color=_NEG, label="expectation", zorder=2)
    ax.scatter(t[satisfaction], y, color=_POS, label="satisfaction", zorder=2)
    ax.set_yticks(y, [(labels or {}).get(n, str(n)) for n in t[label_col]])
    ax.set_xlabel("mean score")
    ax.legend(frameon=False, loc="lower right")
    return ax
