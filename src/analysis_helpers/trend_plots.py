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

__all__ = [
    "kpi_trend_panels",
    "area_trend",
    "operational_scatter",
    "wave_heatmap_chart",
    "contribution_chart",
    "action_chart",
    "AXIS_TEXTS",
]


def _wrap(text: str, width: int) -> str:
    return "\n".join(textwrap.wrap(str(text), width=max(8, width))) or str(text)


#: the value axis' words per kind of unit (the page passes them in its language)
AXIS_TEXTS = {"share": "Share of respondents", "nps": "NPS (points)", "index": "Index (0-100)"}


def _axis_text(unit: str, texts: Mapping[str, str] | None = None) -> str:
    kind = kind_for_unit(unit)
    return {**AXIS_TEXTS, **(texts or {})}.get(kind, str(unit)[:1].upper() + str(unit)[1:])


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
    axis_texts: Mapping[str, str] | None = None,
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
    axis_texts : mapping, optional
        ``"share"`` / ``"nps"`` / ``"index"`` -> the value axis' words (default
        :data:`AXIS_TEXTS`); means are captioned by their ``scale`` column when the table
        has one (:func:`~analysis_helpers.trend_report.kpi_words`), else their unit.

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
        words = str(t["scale"].iloc[0]) if "scale" in t.columns else unit  # a mean's scale
        kind = kind_for_unit(unit)
        kpi_trend(
            t,
            x=wave,
            order=list(order),
            labels=labels,
            axis_label=_axis_text(unit, axis_texts) if kind in AXIS_TEXTS else _axis_text(words),
            ax=ax,
        )
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
    axis_label: str = "Index (0-100)",
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
    axis_label : str
        The value axis' caption.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, ax = plt.subplots(figsize=(9, 4.5))
    kpi_trend(table, x=wave, by="area", order=list(order), labels=labels,
              axis_label=axis_label, ax=ax)  # fmt: skip
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


def wave_heatmap_chart(
    heat: pd.DataFrame,
    *,
    wave: str = "wave",
    order: Sequence[str],
    labels: Mapping | None = None,
    title: str | None = None,
    label_width: int = 38,
    scale_label: str = "Index (0-100)",
) -> Figure:
    """Draw the item x wave heatmap: each node's index by wave, significant changes marked.

    Cells are coloured by the index (0-100) and show its value; a significant change
    against the previous wave adds an arrow (up or down), a significant change against
    the same wave a year earlier a frame around the cell. The index and the areas
    are in capitals, each area followed by its indicators and items.

    Parameters
    ----------
    heat : DataFrame
        :func:`~analysis_helpers.trend_report.wave_heatmap` output: ``level``, ``name``,
        ``label``, ``depth``, ``wave``, ``estimate``, ``sig_prev``, ``change_prev``,
        ``sig_year``.
    wave : str
        The wave column.
    order : sequence of str
        Waves in time order (the columns).
    labels : mapping, optional
        Wave code -> label.
    title : str, optional
        Chart title.
    label_width : int
        Characters of a row label before it is shortened.
    scale_label : str
        The colour bar's caption.

    Returns
    -------
    matplotlib.figure.Figure
    """
    missing = [c for c in ("level", "name", "label", "depth", wave, "estimate", "sig_prev",
                           "change_prev", "sig_year") if c not in heat.columns]  # fmt: skip
    if missing:
        raise KeyError(f"wave_heatmap_chart: table has no column(s) {missing}")
    waves = [str(w) for w in order]
    rows = list(dict.fromkeys(zip(heat["level"], heat["name"], strict=True)))
    slot = {key: k for k, key in enumerate(rows)}
    col = {w: k for k, w in enumerate(waves)}
    grid = np.full((len(rows), len(waves)), np.nan)
    h = heat[heat[wave].astype(str).isin(col)]
    r_idx = np.array([slot[k] for k in zip(h["level"], h["name"], strict=True)], dtype=int)
    c_idx = h[wave].astype(str).map(col).to_numpy(int)
    grid[r_idx, c_idx] = h["estimate"].to_numpy(float)
    width = min(16.0, 4.2 + 0.72 * len(waves))
    fig, ax = plt.subplots(figsize=(width, 0.9 + 0.24 * len(rows)))
    finite = grid[np.isfinite(grid)]
    lo, hi = (
        (np.floor(finite.min() / 5) * 5, np.ceil(finite.max() / 5) * 5) if finite.size else (0, 100)
    )
    im = ax.imshow(grid, aspect="auto", cmap="RdYlGn", vmin=lo, vmax=max(hi, lo + 5))
    small = 7 if len(waves) <= 8 else 6
    first = list(plt.rcParams["font.family"])[:1]
    cell_font = first if first == ["DejaVu Sans"] else None  # the theme's: has every glyph
    for r, c, est, up, sp, sy in zip(r_idx, c_idx, h["estimate"], h["change_prev"],
                                     h["sig_prev"], h["sig_year"], strict=True):  # fmt: skip
        mark = ("\u25b2" if up > 0 else "\u25bc") if bool(sp) else ""
        dark = abs(est - (lo + hi) / 2) > 0.38 * max(hi - lo, 5)
        # inside the axes: the layout need not measure them (hundreds at 12 waves); digits
        # and arrows are all in the theme's first font, so no glyph fallback is looked up
        ax.text(c, r, f"{est:.0f}{mark}", ha="center", va="center", fontsize=small,
                color="white" if dark else "black", family=cell_font,
                in_layout=False)  # fmt: skip
        if bool(sy):
            ax.add_patch(plt.Rectangle((c - 0.46, r - 0.42), 0.92, 0.84, fill=False,
                                       lw=1.4, ec="black", in_layout=False))  # fmt: skip
    depth = dict(zip(zip(heat["level"], heat["name"], strict=True), heat["depth"], strict=False))
    text = dict(zip(zip(heat["level"], heat["name"], strict=True), heat["label"], strict=False))
    names = []
    for key in rows:
        lab = str(text[key])
        lab = lab if len(lab) <= label_width else lab[: label_width - 1] + "\u2026"
        names.append(lab.upper() if int(depth[key]) <= 1 else lab)
    ax.set_yticks(range(len(rows)), names, fontsize=7)
    ax.grid(False)
    ax.set_xticks(range(len(waves)), [str((labels or {}).get(w, w)) for w in waves])
    ax.xaxis.tick_top()
    ax.tick_params(axis="x", labelsize=8, length=0)
    ax.tick_params(axis="y", length=0)
    for y in [k - 0.5 for k, key in enumerate(rows) if key[0] == "area"]:
        ax.axhline(y, color="white", lw=2)
    fig.colorbar(im, ax=ax, fraction=0.025, pad=0.01, label=scale_label)
    if title:
        ax.set_title(title, pad=24)
    fig.tight_layout()
    fit_tick_labels(ax)
    return fig


def contribution_chart(
    attribution: pd.DataFrame,
    *,
    title: str | None = None,
    ax: Axes | None = None,
    axis_label: str = "Contribution to the CSI's change (index points)",
) -> Axes:
    """Draw each area's contribution to the CSI's change with its confidence interval.

    Parameters
    ----------
    attribution : DataFrame
        :func:`~analysis_helpers.trend_report.area_attribution` output: ``area``,
        ``contribution``, ``ci_low``, ``ci_high``.
    title : str, optional
    ax : Axes, optional
    axis_label : str
        The value axis' caption.

    Returns
    -------
    matplotlib.axes.Axes
    """
    missing = [c for c in ("area", "contribution", "ci_low", "ci_high")
               if c not in attribution.columns]  # fmt: skip
    if missing:
        raise KeyError(f"contribution_chart: table has no column(s) {missing}")
    t = attribution.iloc[::-1]
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 0.8 + 0.42 * len(t)))
    y = np.arange(len(t))
    colours = [PALETTE[0] if v >= 0 else PALETTE[1 % len(PALETTE)] for v in t["contribution"]]
    ax.barh(y, t["contribution"], color=colours)
    ax.errorbar(t["contribution"], y, xerr=[t["contribution"] - t["ci_low"],
                t["ci_high"] - t["contribution"]], fmt="none", ecolor="black", lw=1,
                capsize=3)  # fmt: skip
    ax.axvline(0, color="grey", lw=0.8)
    ax.set_yticks(y, [_wrap(a, 34) for a in t["area"]], fontsize=8)
    ax.set_xlabel(axis_label)
    if title:
        ax.set_title(title)
    return ax


def action_chart(
    table: pd.DataFrame,
    *,
    wave: str = "wave",
    order: Sequence[str],
    starts: Mapping[str, str],
    labels: Mapping | None = None,
    series: Mapping[str, str] | None = None,
    axis_label: str = "Score (0-100)",
    start_label: str = "start",
    ncols: int = 2,
    panel_size: tuple[float, float] = (5.2, 3.4),
) -> Figure:
    """Draw one panel per action: targeted and comparable items by wave, the start marked.

    Parameters
    ----------
    table : DataFrame
        :func:`~analysis_helpers.actions.action_waves` output: ``action``, ``label``,
        ``series``, ``wave``, ``estimate``, ``ci_low``, ``ci_high``.
    wave : str
        The wave column.
    order : sequence of str
        Waves in time order.
    starts : mapping
        Action -> the wave it started (a dashed line just before it).
    labels : mapping, optional
        Wave code -> label.
    series : mapping, optional
        ``"targeted"`` / ``"compare"`` -> the legend's words.
    axis_label, start_label : str
        The value axis' caption; the words at the start line.
    ncols : int
        Panels per row.
    panel_size : (float, float)
        Width and height of one panel in inches.

    Returns
    -------
    matplotlib.figure.Figure
        Lines with their confidence bands (one colour per series, the same in each panel).
    """
    missing = [c for c in ("action", "label", "series", wave, "estimate", "ci_low", "ci_high")
               if c not in table.columns]  # fmt: skip
    if missing:
        raise KeyError(f"action_chart: table has no column(s) {missing}")
    names = list(dict.fromkeys(table["action"]))
    if not names:
        raise ValueError("action_chart: no action in the table")
    words = {"targeted": "Targeted items", "compare": "Comparable items", **(series or {})}
    ncols = max(1, min(ncols, len(names)))
    nrows = int(np.ceil(len(names) / ncols))
    fig, grid = plt.subplots(
        nrows, ncols, figsize=(panel_size[0] * ncols, panel_size[1] * nrows), squeeze=False
    )
    used = []
    waves = [str(w) for w in order]
    for ax, name in zip(grid.flat, names, strict=False):
        t = table[table["action"] == name].assign(_s=lambda d: d["series"].map(words))
        shown = [w for w in waves if w in set(t[wave].astype(str))]
        kpi_trend(t.astype({wave: str}), x=wave, by="_s", order=shown, labels=labels,
                  axis_label=axis_label, ax=ax)  # fmt: skip
        start = str(starts.get(name, ""))
        if start in shown:
            x = shown.index(start) - 0.5
            ax.axvline(x, color="#555555", ls="--", lw=1)
            ax.annotate(start_label, (x, 1.0), xycoords=("data", "axes fraction"),
                        xytext=(3, -10), textcoords="offset points", fontsize=8,
                        color="#555555")  # fmt: skip
        ax.set_title(_wrap(t["label"].iloc[0], int(panel_size[0] * 9)), fontsize=10)
        used.append(ax)
    for ax in list(grid.flat)[len(names) :]:
        ax.set_visible(False)
    _finish(fig, used)
    return fig
