"""Charts of the PLS path model: the importance-performance map (IPMA).

Each function takes the tidy output of a :mod:`analysis_helpers.pls` helper, draws on
``ax`` (a new figure when ``None``) and returns the Axes. No font is set here:
:func:`analysis_helpers.plots.apply_theme` does that, so Chinese labels render.
"""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.transforms import Bbox

from analysis_helpers.plots import PALETTE

__all__ = ["ipma_map"]

_QUADRANT_COLOURS = {
    "concentrate here": PALETTE[3],
    "keep up the good work": PALETTE[2],
    "low priority": "#999999",
    "possible overkill": PALETTE[0],
}
# label offsets (points) tried in turn: right, left, above, below, then the diagonals
_OFFSETS = [(7, 0), (-7, 0), (0, 7), (0, -7), (7, 7), (-7, 7), (7, -7), (-7, -7),
            (14, 10), (-14, 10), (14, -10), (-14, -10), (0, 16), (0, -16)]  # fmt: skip


def _place_labels(ax: Axes, x, y, texts, *, fontsize="small") -> list:
    """Put each text next to its point where it overlaps no other label, point or the
    axes' edge (first free offset of :data:`_OFFSETS`; the last one tried otherwise)."""
    fig = ax.figure
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    axes_box = ax.get_window_extent(renderer)
    pts = ax.transData.transform(np.column_stack([x, y]))
    r = 4.0 * fig.dpi / 72
    point_boxes = [Bbox.from_extents(px - r, py - r, px + r, py + r) for px, py in pts]
    taken: list[Bbox] = []
    placed = []
    # most important first, so they get the best spots
    for k in np.argsort(-np.asarray(y), kind="stable"):
        best = None
        for dx, dy in _OFFSETS:
            ha = "left" if dx > 0 else "right" if dx < 0 else "center"
            va = "bottom" if dy > 0 else "top" if dy < 0 else "center"
            t = ax.annotate(texts[k], (x[k], y[k]), xytext=(dx, dy), textcoords="offset points",
                            ha=ha, va=va, fontsize=fontsize, zorder=4)  # fmt: skip
            box = t.get_window_extent(renderer).expanded(1.04, 1.1)
            inside = (box.x0 >= axes_box.x0 and box.x1 <= axes_box.x1 and
                      box.y0 >= axes_box.y0 and box.y1 <= axes_box.y1)  # fmt: skip
            clash = any(box.overlaps(b) for b in taken) or any(
                box.overlaps(b) for j, b in enumerate(point_boxes) if j != k
            )
            if inside and not clash:
                best = (t, box)
                break
            t.remove()
        if best is None:  # no free spot: fall back to the first offset
            dx, dy = _OFFSETS[0]
            t = ax.annotate(texts[k], (x[k], y[k]), xytext=(dx, dy), textcoords="offset points",
                            ha="left", va="center", fontsize=fontsize, zorder=4)  # fmt: skip
            best = (t, t.get_window_extent(renderer))
        taken.append(best[1])
        placed.append(best[0])
    return placed


def ipma_map(
    table: pd.DataFrame,
    *,
    labels: Mapping[str, str] | None = None,
    ax: Axes | None = None,
    max_labels: int = 12,
    key_rows: int = 20,
) -> Axes:
    """Importance-performance map (Ringle & Sarstedt 2016) of one group.

    Performance (0-100 index) runs along x, importance (unstandardised total effect on
    the target) up y; dashed lines at the means split the four quadrants, whose names sit
    in the corners; the priority-1 point is ringed. Up to ``max_labels`` points are
    labelled by name, placed so that no two labels overlap; with more (an item map),
    points carry their priority number and a numbered key is written to the right (save
    with ``bbox_inches="tight"`` to keep it).

    Parameters
    ----------
    table : DataFrame
        One group of :func:`~analysis_helpers.pls.ipma` or
        :func:`~analysis_helpers.pls.ipma_items` (filter a per-segment table first).
    labels : mapping, optional
        Display text of construct or item names.
    ax : Axes, optional
    max_labels, key_rows : int
        Most points labelled by name; lines per column of the numbered key.

    Returns
    -------
    Axes
    """
    need = ["block", "importance", "performance", "importance_mean", "performance_mean",
            "quadrant", "priority", "target"]  # fmt: skip
    absent = [c for c in need if c not in table.columns]
    if absent:
        raise KeyError(f"ipma_map: table lacks column(s) {absent}")
    if table.empty:
        raise ValueError("ipma_map: the table has no rows")
    if table["target"].nunique() != 1 or table["importance_mean"].nunique() != 1:
        raise ValueError(
            "ipma_map: the table holds more than one map (several groups or targets); "
            "draw one group at a time"
        )
    labels = dict(labels or {})
    name_col = "item" if "item" in table.columns else "block"
    names = [labels.get(n, n) for n in table[name_col].astype(str)]
    numbered = len(table) > max_labels
    if ax is None:
        _, ax = plt.subplots(figsize=(10, 6.5) if numbered else (7.5, 6))
    x = table["performance"].to_numpy(float)
    y = table["importance"].to_numpy(float)
    colours = [_QUADRANT_COLOURS.get(q, PALETTE[0]) for q in table["quadrant"]]
    ax.scatter(x, y, c=colours, s=50, zorder=3, edgecolors="white", lw=0.6)
    first = table["priority"].to_numpy() == 1
    ax.scatter(x[first], y[first], s=170, facecolors="none", edgecolors=PALETTE[3], lw=1.4,
               zorder=3)  # fmt: skip
    x_cut = float(table["performance_mean"].iloc[0])
    y_cut = float(table["importance_mean"].iloc[0])
    ax.axvline(x_cut, color="#777777", ls="--", lw=1, zorder=1)
    ax.axhline(y_cut, color="#777777", ls="--", lw=1, zorder=1)
    x_lo, x_hi = min(x.min(), x_cut), max(x.max(), x_cut)
    y_lo, y_hi = min(y.min(), y_cut), max(y.max(), y_cut)
    x_pad = 0.25 * (x_hi - x_lo or 1.0)
    y_pad = 0.2 * (y_hi - y_lo or abs(y_hi) * 0.2 or 1.0)
    ax.set_xlim(x_lo - x_pad, x_hi + x_pad)
    ax.set_ylim(y_lo - y_pad, y_hi + y_pad)
    corners = {
        "concentrate here": (0.01, 0.99, "left", "top"),
        "keep up the good work": (0.99, 0.99, "right", "top"),
        "low priority": (0.01, 0.01, "left", "bottom"),
        "possible overkill": (0.99, 0.01, "right", "bottom"),
    }
    for name, (cx, cy, ha, va) in corners.items():
        ax.text(cx, cy, name, transform=ax.transAxes, ha=ha, va=va, fontsize="small",
                color=_QUADRANT_COLOURS[name])  # fmt: skip
    target = str(table["target"].iloc[0])
    ax.set_xlabel("Performance (index 0-100)")
    ax.set_ylabel(f"Importance (total effect on {labels.get(target, target)})")
    if not numbered:
        _place_labels(ax, x, y, names)
    else:
        prio = table["priority"].to_numpy(int)
        _place_labels(ax, x, y, [str(p) for p in prio], fontsize="x-small")
        order = np.argsort(prio, kind="stable")
        lines = [f"{prio[i]:>2}  {names[i]}" for i in order]
        renderer = ax.figure.canvas.get_renderer()
        to_axes = ax.transAxes.inverted()
        left = 1.02
        for start in range(0, len(lines), key_rows):
            block = ax.text(left, 1.0, "\n".join(lines[start : start + key_rows]),
                            transform=ax.transAxes, ha="left", va="top", fontsize="x-small",
                            linespacing=1.35)  # fmt: skip
            right = to_axes.transform(block.get_window_extent(renderer))[1, 0]
            left = right + 0.03
    return ax
