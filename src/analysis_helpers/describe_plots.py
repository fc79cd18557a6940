"""Descriptive charts drawn from the tidy tables of the estimation and KPI modules.

The tables come from :mod:`analysis_helpers.kpis` and :mod:`analysis_helpers.estimation`.

Every function draws on ``ax`` (a new figure when None) and returns the Axes. None of them
computes a statistic from respondent rows: they take pre-aggregated tables (shares,
estimates and interval bounds), which keeps a chart at 1M respondents as fast as at 100.
Fonts are left to the report theme (:func:`analysis_helpers.plots.apply_theme`), so
labels in any language render.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.colors import to_rgb
from matplotlib.ticker import FuncFormatter
from matplotlib.transforms import blended_transform_factory

from ._compat import renamed, warn_deprecated
from .formatting import fmt_value, kind_for_unit
from .plots import bar_with_ci
from .text import template

__all__ = [
    "diverging_likert",
    "grouped_likert",
    "distribution_chart",
    "kpi_bars_with_ci",
    "kpi_panels",
    "gap_chart",
]

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
    ra, rb = np.array(to_rgb(a)), np.array(to_rgb(b))
    return tuple(ra + (rb - ra) * t)


@renamed(dist_table="table", label_col="label", code_col="code", share_col="share")
def diverging_likert(
    table: pd.DataFrame,
    *,
    label: str = "item",
    code: str = "code",
    share: str = "share",
    neutral: float | None = None,
    code_labels: dict | None = None,
    labels: dict | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Draw diverging stacked bars of answer shares: negative codes left of 0, positive right.

    Parameters
    ----------
    table : DataFrame
        One row per bar and answer code, e.g. :func:`~analysis_helpers.kpis.item_distribution`
        for one group (filter groups first).
    label : str
        The bar (y axis) column.
    code, share : str
        The answer code column and its share in [0, 1].
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
    dist_table, label_col, code_col, share_col = table, label, code, share
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
    """Draw bars with intervals (deprecated: use :func:`analysis_helpers.plots.bar_with_ci`).

    The new function takes ``label=`` and ``by=``.

    Removed in the next release.
    """
    warn_deprecated(
        "kpi_bars_with_ci is deprecated; use analysis_helpers.plots.bar_with_ci "
        "(label_col= is label=, hue= is by=)"
    )
    return bar_with_ci(
        table, label=label_col, estimate=estimate, ci_low=ci_low, ci_high=ci_high, by=hue,
        labels=labels, base=None, percent=percent, sort=sort, ax=ax,
    )  # fmt: skip


@renamed(gap_table="table", label_col="label")
def gap_chart(
    table: pd.DataFrame,
    *,
    label: str = "satisfaction",
    expectation: str = "mean_expectation",
    satisfaction: str = "mean_satisfaction",
    significant: str | None = "p_value",
    alpha: float = 0.05,
    labels: dict | None = None,
    ax: Axes | None = None,
    language: str = "en",
) -> Axes:
    """Draw a dumbbell chart of expectation vs satisfaction per aspect, largest shortfall on top.

    Parameters
    ----------
    table : DataFrame
        Output of :func:`~analysis_helpers.kpis.expectation_gap` (one group).
    label : str
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
    language : str
        The language of the legend and the axis title (``"en"`` or ``"zh"``).

    Returns
    -------
    Axes
    """
    gap_table, label_col = table, label
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
    ax.scatter(
        t[expectation], y, color=_NEG, label=template("plots.expectation", language), zorder=2
    )
    ax.scatter(
        t[satisfaction], y, color=_POS, label=template("plots.satisfaction", language), zorder=2
    )
    ax.set_yticks(y, [(labels or {}).get(n, str(n)) for n in t[label_col]])
    ax.set_xlabel(template("plots.mean_score", language))
    ax.legend(frameon=False, loc="lower right")
    return ax


@renamed(
    dist_table="table",
    group_col="by",
    label_col="label",
    code_col="code",
    share_col="share",
    group_labels="by_labels",
)
def grouped_likert(
    table: pd.DataFrame,
    *,
    by: str | None,
    label: str = "item",
    code: str = "code",
    share: str = "share",
    neutral: float | None = None,
    code_labels: dict | None = None,
    labels: dict | None = None,
    by_labels: dict | None = None,
    annotate: bool = True,
    ax: Axes | None = None,
) -> Axes:
    """Draw :func:`diverging_likert` for many items in groups (e.g. the items of each area).

    Bars keep the order of ``table``; a thin line separates consecutive groups and
    each group's name is written beside its bars on the right. With ``annotate`` the
    share of the low codes is printed at the left end of each bar and the share of the
    high codes at the right end (the neutral code counts in neither). The legend sits
    above the chart, where a tall chart keeps it in view; the x axis shows unsigned
    percentages on both sides.

    Parameters
    ----------
    table : DataFrame
        One row per bar and answer code, with a ``by`` value constant within each bar.
    by : str or None
        The group of each bar; None draws the bars without groups.
    label, code, share, neutral, code_labels, labels
        As :func:`diverging_likert`.
    by_labels : dict, optional
        Display text per group.
    annotate : bool
        Print the low and high shares (in %) at the ends of each bar.
    ax : Axes, optional
        Where to draw.

    Returns
    -------
    Axes
    """
    dist_table, group_col, label_col, code_col, share_col = table, by, label, code, share
    group_labels = by_labels
    if group_col is None:
        group_col = "_group"
        dist_table = dist_table.assign(_group="")
        group_labels = {"": ""}
    _need(dist_table, [group_col, label_col, code_col, share_col], "grouped_likert")
    groups_per_bar = dist_table.groupby(label_col, sort=False)[group_col].nunique()
    if (groups_per_bar > 1).any():
        bad = groups_per_bar.index[groups_per_bar > 1][0]
        raise ValueError(f"grouped_likert: bar {bad!r} lies in more than one {group_col!r}")
    bars = list(dict.fromkeys(dist_table[label_col]))
    ax = _ax(ax, (9, 0.3 * len(bars) + 2))
    diverging_likert(
        dist_table,
        label=label_col,
        code=code_col,
        share=share_col,
        neutral=neutral,
        code_labels=code_labels,
        labels=labels,
        ax=ax,
    )
    y = dict(zip(bars, np.arange(len(bars))[::-1], strict=True))
    group = dist_table.drop_duplicates(label_col).set_index(label_col)[group_col]
    trans = blended_transform_factory(ax.transAxes, ax.transData)
    runs: list[tuple[object, list]] = []
    for b in bars:
        if runs and runs[-1][0] == group[b]:
            runs[-1][1].append(b)
        else:
            runs.append((group[b], [b]))
    for k, (g, members) in enumerate(runs):
        ys = [y[b] for b in members]
        if k > 0:
            ax.axhline(max(ys) + 0.5, color="0.55", linewidth=0.8)
        name = str((group_labels or {}).get(g, g))
        if not name:
            continue
        ax.text(
            1.01,
            float(np.mean(ys)),
            name,
            transform=trans,
            va="center",
            ha="left",
            fontsize=9,
        )
    ax.set_ylim(-0.6, len(bars) - 0.4)
    if annotate:
        wide = dist_table.pivot_table(
            index=label_col, columns=code_col, values=share_col, aggfunc="sum", sort=False
        ).fillna(0.0)
        codes = sorted(wide.columns)
        k = len(codes)
        mid = neutral if neutral is not None else (codes[k // 2] if k % 2 else None)
        low = [c for c in codes if (c < mid if mid is not None else codes.index(c) < k / 2)]
        high = [c for c in codes if c not in low and c != mid]
        half = wide[mid] / 2 if mid is not None else 0.0
        left = (wide[low].sum(axis=1) + half) * 100
        right = (wide[high].sum(axis=1) + half) * 100
        for b in bars:
            ax.text(-left[b] - 1, y[b], f"{wide.loc[b, low].sum() * 100:.0f}%", ha="right",
                    va="center", fontsize=7, color="0.3")  # fmt: skip
            ax.text(right[b] + 1, y[b], f"{wide.loc[b, high].sum() * 100:.0f}%", ha="left",
                    va="center", fontsize=7, color="0.3")  # fmt: skip
        ax.set_xlim(-(left.max() + 9), right.max() + 9)
    handles, texts = ax.get_legend_handles_labels()
    ax.legend(
        handles,
        texts,
        ncol=min(len(texts), 7),
        loc="lower center",
        bbox_to_anchor=(0.5, 1.0),
        frameon=False,
        fontsize=8,
    )
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{abs(v):.0f}"))
    return ax


def distribution_chart(
    table: pd.DataFrame,
    *,
    by: str | None = None,
    label: str = "item",
    code: str = "band",
    share: str = "share",
    panel: str = "n_bands",
    codes: str = "codes",
    scale: str = "scale",
    labels: dict | None = None,
    by_labels: dict | None = None,
    title: str | None = None,
    width: float = 10.0,
    language: str = "en",
) -> np.ndarray:
    """Draw the answers to many items: one diverging panel per number of bands.

    Each panel is a :func:`grouped_likert` with its own legend.

    Items whose scales have the same number of bands (1-5 codes and 1-10 bands of two)
    share a panel and a legend; others (1-7 codes) get a panel of their own, so that no
    legend entry stands for two different things. Each legend entry lists the codes the
    band holds on every scale of the panel ("1 | 1-2"), and the legend's title says which
    scale is which ("1-5 items: codes | 1-10 items: bands").

    Parameters
    ----------
    table : DataFrame
        :func:`~analysis_helpers.study_tables.banded_distribution` for one group.
    by : str, optional
        The group of each bar (e.g. ``"area"``), named beside its bars; None: no groups.
    label, code, share : str
        The bar, band and share columns.
    panel : str
        The column whose values get a panel each (the number of bands).
    codes, scale : str
        The codes of each band ("9-10") and the scale of each item ("1-10").
    labels, by_labels : dict, optional
        Display text per bar and per group.
    title : str, optional
        The figure's title, above the first panel.
    width : float
        Figure width in inches.
    language : str
        The language of the legend titles and the axis title (``"en"`` or ``"zh"``).

    Returns
    -------
    ndarray of Axes
        One per panel, top to bottom.
    """
    _need(table, [label, code, share, panel, codes, scale], "distribution_chart")
    keys = list(dict.fromkeys(table[panel]))
    sizes = [int(table.loc[table[panel] == k, label].nunique()) for k in keys]
    fig, grid = plt.subplots(
        len(keys),
        1,
        figsize=(width, 0.32 * sum(sizes) + 1.5 * len(keys) + (0.5 if title else 0.0)),
        gridspec_kw={"height_ratios": [s + 3 for s in sizes]},
        squeeze=False,
        layout="constrained",
    )
    axes = np.asarray(grid[:, 0], dtype=object)
    for ax, key in zip(axes, keys, strict=True):
        t = table[table[panel] == key]
        scales = list(dict.fromkeys(t[scale]))
        per_band = t.drop_duplicates([scale, code])
        code_labels = {
            b: " | ".join(g.set_index(scale).loc[scales, codes].astype(str))
            for b, g in per_band.groupby(code, sort=True)
        }
        kinds = []
        for sc in scales:
            m = re.fullmatch(r"(-?\d+)-(-?\d+)", str(sc))
            n_codes = int(m.group(2)) - int(m.group(1)) + 1 if m else -1
            every = t.loc[t[scale] == sc, code].nunique() == n_codes
            key = "plots.items_codes" if every else "plots.items_bands"
            kinds.append(template(key, language).format(scale=sc))
        grouped_likert(
            t, by=by, label=label, code=code, share=share, code_labels=code_labels,
            labels=labels, by_labels=by_labels, ax=ax,
        )  # fmt: skip
        legend = ax.get_legend()
        legend.set_title(" | ".join(kinds), prop={"size": 8})
        ax.set_xlabel("")
    axes[-1].set_xlabel(template("plots.dist_axis", language))
    if title:
        fig.suptitle(title, x=0.01, ha="left")
    return axes


@renamed(label_col="label", unit_col="unit", base_col="base")
def kpi_panels(
    table: pd.DataFrame,
    *,
    label: str = "label",
    unit: str = "unit",
    percent_units: Sequence[str] = ("share",),
    base: str | None = "n",
    estimate: str = "estimate",
    ci_low: str = "ci_low",
    ci_high: str = "ci_high",
    titles: dict | None = None,
    axes: Sequence[Axes] | None = None,
) -> np.ndarray:
    """Draw KPIs on different scales side by side: one panel of bars with CIs per unit.

    A mean on 1-10, a share, NPS points and a 0-100 index cannot share an axis; each unit
    gets its own panel (panel heights follow the number of KPIs in it), shares are shown
    in percent, and every bar is labelled with its estimate and base.

    Parameters
    ----------
    table : DataFrame
        e.g. :func:`~analysis_helpers.study_tables.kpi_summary` for one group.
    label : str
        The bar labels.
    unit : str
        The unit of each KPI; one panel per unit, in order of appearance, titled with it.
    percent_units : sequence of str
        Units whose values are shares in [0, 1], drawn as percent.
    base : str or None
        The base printed beside each bar as ``n=...``; None prints none.
    estimate, ci_low, ci_high : str
        Estimate and interval columns.
    titles : dict, optional
        Panel title per unit (e.g. "NPS points (-100 to 100)" for "points"); default the
        unit itself ("% of respondents" for the percent units).
    axes : sequence of Axes, optional
        One Axes per unit; default a new figure with one row per unit.

    Returns
    -------
    ndarray of Axes
        One per unit.
    """
    label_col, unit_col, base_col = label, unit, base
    cols = [label_col, unit_col, estimate, ci_low, ci_high] + ([base_col] if base_col else [])
    _need(table, cols, "kpi_panels")
    units = list(dict.fromkeys(table[unit_col]))
    sizes = [int((table[unit_col] == u).sum()) for u in units]
    if axes is None:
        _, grid = plt.subplots(
            len(units),
            1,
            figsize=(9, 0.45 * sum(sizes) + 0.9 * len(units)),
            gridspec_kw={"height_ratios": sizes},
            squeeze=False,
            layout="constrained",
        )
        panels = np.asarray(grid[:, 0], dtype=object)
    else:
        panels = np.asarray(axes, dtype=object).ravel()
    if len(panels) != len(units):
        raise ValueError(
            f"kpi_panels: {len(units)} units need {len(units)} axes, got {len(panels)}"
        )
    for ax, name in zip(panels, units, strict=True):
        t = table[table[unit_col] == name]
        pct = name in set(percent_units)
        bar_with_ci(
            t, label=label_col, estimate=estimate, ci_low=ci_low, ci_high=ci_high,
            base=None, percent=pct, ax=ax,
        )  # fmt: skip
        scale = 100.0 if pct else 1.0
        est = t[estimate].to_numpy(dtype=float) * scale
        hi = t[ci_high].to_numpy(dtype=float) * scale
        lo = t[ci_low].to_numpy(dtype=float) * scale
        ys = np.arange(len(t))  # bar_with_ci puts the first row at 0, on top
        kind = kind_for_unit(name)
        for i in range(len(t)):
            if pct:
                text = f"{est[i]:.0f}%"
            elif kind in ("mean", "index", "nps"):
                text = fmt_value(est[i], kind)
            else:
                text = f"{est[i]:.{2 if abs(est[i]) < 10 else 1}f}"
            if base_col:
                text += f"  (n={int(t[base_col].iloc[i]):,})"
            ax.annotate(text, (max(hi[i], 0), ys[i]), xytext=(5, 0), textcoords="offset points",
                        va="center", fontsize=8, color="0.25")  # fmt: skip
        left = min(0.0, float(np.nanmin(lo)) * 1.15)
        right = max(0.0, float(np.nanmax(hi)))
        ax.set_xlim(left, right + (right - left) * 0.45 + 1e-9)
        ax.set_xlabel("")
        title = (titles or {}).get(name, "% of respondents" if pct else str(name))
        ax.set_title(title, fontsize=9, loc="left")
    return panels
