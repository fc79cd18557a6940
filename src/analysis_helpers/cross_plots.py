"""Charts of the cross-analysis, drawn from :func:`analysis_helpers.cross.banner` output."""

from __future__ import annotations

import textwrap

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from .formatting import DOWN, MISSING, UP
from .text import template

__all__ = ["area_heatmap"]


LOW_BASE_MARK = "†"


def area_heatmap(
    table: pd.DataFrame,
    *,
    title: str | None = None,
    level: str = "area",
    ax: Axes | None = None,
    language: str = "en",
) -> Axes:
    """Area index by segment value: one row per segment value, one column per area.

    Each cell shows the index (0-100) with ▲ / ▼ where it is significantly above / below
    the rest of the sample (the banner's ``significant_rest``); low-base cells are shown
    in italics with "†" (not tested) and suppressed cells as "–". The colour is the cell's difference to
    the area's Total, so troughs stand out whatever the area's level.

    Parameters
    ----------
    table : DataFrame
        :func:`~analysis_helpers.cross.banner` output (its rows of ``level``, the Total
        column included: it is the colour's reference).
    title : str, optional
        The chart title.
    language : str
        The language of the colour bar's caption (text table ``cross.axis_heatmap``).
    level : str
        The banner level to draw ("area").
    ax : Axes, optional
        Where to draw; default a new figure sized to the grid.

    Returns
    -------
    matplotlib.axes.Axes
    """
    t = table[table["level"] == level]
    if t.empty:
        raise ValueError(f"area_heatmap: the table has no rows of level {level!r}")
    rows = t[t["column"] != "total"].drop_duplicates("column")
    if rows.empty:
        raise ValueError("area_heatmap: the table has no segment columns")
    areas = list(dict.fromkeys(t["label"]))
    cells = t.set_index(["column", "label"])
    total = t[t["column"] == "total"].set_index("label")["estimate"]
    est = np.array(
        [[cells.loc[(c, a), "estimate"] for a in areas] for c in rows["column"]], dtype=float
    )
    diff = est - total.reindex(areas).to_numpy(dtype=float)[None, :]
    if ax is None:
        width = max(6.0, 1.25 * len(areas) + 3.0)
        height = max(3.0, 0.42 * len(rows) + 1.8)
        _, ax = plt.subplots(figsize=(width, height))
    span = np.nanmax(np.abs(diff)) if np.isfinite(diff).any() else 1.0
    span = max(float(span), 1.0)
    image = ax.imshow(diff, cmap="RdYlGn", vmin=-span, vmax=span, aspect="auto")
    for i, col in enumerate(rows["column"]):
        for j, area in enumerate(areas):
            r = cells.loc[(col, area)]
            if r["flag"] == "suppressed" or not np.isfinite(r["estimate"]):
                ax.text(j, i, MISSING, ha="center", va="center", fontsize=8, color="0.45")
                continue
            mark = ""
            if r["significant_rest"]:
                mark = f" {UP}" if r["difference_rest"] > 0 else f" {DOWN}"
            elif r["flag"]:
                mark = LOW_BASE_MARK
            dark = abs(diff[i, j]) > 0.6 * span
            ax.text(
                j, i, f"{r['estimate']:.0f}{mark}", ha="center", va="center", fontsize=8,
                color="white" if dark else "black", style="italic" if r["flag"] else "normal",
            )  # fmt: skip
    ylabels = [f"{s}: {v}" for s, v in zip(rows["segment_label"], rows["value_label"], strict=True)]
    ax.set_yticks(range(len(rows)), ylabels, fontsize=8)
    ax.set_xticks(
        range(len(areas)), [textwrap.fill(str(a), 14) for a in areas], fontsize=8, rotation=0
    )
    ax.tick_params(length=0)
    ax.grid(False)
    # a thin line between segments
    seg = rows["segment"].to_numpy()
    for k in np.flatnonzero(seg[1:] != seg[:-1]):
        ax.axhline(k + 0.5, color="white", lw=2)
    bar = ax.figure.colorbar(image, ax=ax, fraction=0.04, pad=0.02)
    bar.set_label(template("cross.axis_heatmap", language), fontsize=8)
    bar.ax.tick_params(labelsize=8)
    if title:
        ax.set_title(title, pad=10)
    return ax
