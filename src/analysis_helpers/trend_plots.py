"""Charts of the trend page: KPI panels over waves, area lines, an operational scatter.

Each draws a helper's tidy output, labels waves with the study's wave labels (never the
codes) and keeps every text apart: panel titles are wrapped to the panel, wave labels are
fitted with :func:`~analysis_helpers.plots.fit_tick_labels` after the layout is final.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from .formatting import kind_for_unit
from .plots import PALETTE, fit_tick_labels, kpi_trend

__all__ = ["kpi_trend_panels", "area_trend", "operational_scatter"]


def _wrap(text: str, width: int) -> str:
    return "\n".join(textwrap.wrap(str(text), width=max(8, width))) or str(text)


def _axis_text(unit: str) -> str:
    kind = kind_for_unit(unit)
    return {
        "share": "Share of respondents",
        "nps": "NPS (points)",
        "index": "Index (0-100)",
    }.get(kind, str(unit)[:1].upper() + str(unit)[1:])


def _finish(fig: Figure, axes: Sequence[Axes]) -> None:
    """Lay the figure out, then fit the wave labels to the final panel widths.

    Twice: a turned label changes the layout.
    """
    for _ in range(2):
        fig.tight_layout()
        for ax in axes:
            fit_tick_labels(ax)


def kpi_trend_panels(
    table: pd.DataFrame,
    *,
    wave: str = "wave",
    order: Sequence[str],
    labels: Mapping | None = None,
    kpis: Sequence[str] | None = None,
    ncols: int = 3,
    panel_size: tuple[float, float] = (4.2, 3.2),
) -> Figure:
    """Draw one small chart per KPI: its estimate by wave with the confidence band.

    Parameters
    ----------
    table : DataFrame
        :func:`~analysis_helpers.study_tables.kpi_summary` by wave: ``wave``, ``kpi``,
        ``label``, ``unit``, ``estimate``, ``ci_low``, ``ci_high``.
    wave : str
        The wave column.
    order : sequence of str
        Waves in time order.
    labels : mapping, optional
        Wave code -> label.
    kpis : sequence of str, optional
        The KPIs to draw, in order; default every KPI of the table, in its order.
    ncols : int
        Panels per row.
    panel_size : (float, float)
        Width and height of one panel in inches.

    Returns
    -------
    matplotlib.figure.Figure
        Shares are drawn in percent; the value axis says what the unit is.
    """
    missing = [c for c in (wave, "kpi", "label", "unit", "estimate", "ci_low", "ci_high")
               if c not in table.columns]  # fmt: skip
    if missing:
        raise KeyError(f"kpi_trend_panels: table has no column(s) {missing}")
    names = list(kpis) if kpis is not None else list(dict.fromkeys(table["kpi"]))
    unknown = [k for k in names if k not in set(table["kpi"])]
    if unknown or not names:
        raise ValueError(f"kpi_trend_panels: no KPI(s) {unknown or names} in the table")
    ncols = max(1, min(ncols, len(names)))
    nrows = int(np.ceil(len(names) / ncols))
    fig, grid = plt.subplots(
        nrows, ncols, figsize=(panel_size[0] * ncols, panel_size[1] * nrows), squeeze=False
    )
    used = []
    for ax, kpi in zip(grid.flat, names, strict=False):
        t = table[table["kpi"] == kpi]
        unit = str(t["unit"].iloc[0])
        kpi_trend(t, x=wave, order=list(order), labels=labels, axis_label=_axis_text(unit), ax=ax)
        if kind_for_unit(unit) == "share":
            ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        ax.set_title(_wrap(t["label"].iloc[0], int(panel_size[0] * 9)), fontsize=10)
        used.append(ax)
    for ax in list(grid.flat)[len(names) :]:
        ax.set_visible(False)
    _finish(fig, used)
    return fig


def area_trend(
    table: pd.DataFrame,
    *,
    wave: str = "wave",
    order: Sequence[str],
    labels: Mapping | None = None,
    title: str | None = None,
) -> Figure:
    """Plot the index of every area by wave, one line each, the legend beside the chart.

    Parameters
    ----------
    table : DataFrame
        Area rows of :func:`~analysis_helpers.kpis.csi` by wave, with an ``area`` column
        (the label): ``wave``, ``area``, ``estimate``, ``ci_low``, ``ci_high``.
    wave : str
        The wave column.
    order : sequence of str
        Waves in time order.
    labels : mapping, optional
        Wave code -> label.
    title : str, optional
        Chart title.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, ax = plt.subplots(figsize=(9, 4.5))
    kpi_trend(table, x=wave, by="area", order=list(order), labels=labels,
              axis_label="Index (0-100)", ax=ax)  # fmt: skip
    ax.legend(frameon=False, fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
    if title:
        ax.set_title(title)
    _finish(fig, [ax])
    return fig


def operational_scatter(
    cells: pd.DataFrame,
    *,
    metric: str,
    wave: str = "wave",
    order: Sequence[str],
    labels: Mapping | None = None,
    x_label: str | None = None,
    y_label: str = "Index (0-100)",
    title: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Draw the cells of an operational link: the score against the metric, coloured by wave.

    Parameters
    ----------
    cells : DataFrame
        One row per cell: ``wave``, ``metric`` and ``estimate``.
    metric : str
        The metric column (x axis).
    wave : str
        The wave column (colours, legend with wave labels).
    order : sequence of str
        Waves in time order.
    labels : mapping, optional
        Wave code -> label.
    x_label, y_label, title : str, optional
        Axis texts and title.
    ax : Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    missing = [c for c in (wave, metric, "estimate") if c not in cells.columns]
    if missing:
        raise KeyError(f"operational_scatter: cells have no column(s) {missing}")
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4.2))
    present = set(cells[wave].astype(str))
    for k, w in enumerate(o for o in map(str, order) if o in present):
        part = cells[cells[wave].astype(str) == w]
        ax.scatter(part[metric], part["estimate"], color=PALETTE[k % len(PALETTE)],
                   label=str((labels or {}).get(w, w)), s=28)  # fmt: skip
    ax.set_xlabel(x_label or metric)
    ax.set_ylabel(y_label)
    if title:
        ax.set_title(title)
    ax.legend(frameon=False, fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
    return ax
