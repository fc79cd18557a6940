"""Charts of the PLS path model: the model diagram and the importance-performance map.

Each function takes the tidy output of a :mod:`analysis_helpers.pls` helper, draws on
``ax`` (a new figure when ``None``) and returns the Axes. No font is set here:
:func:`analysis_helpers.plots.apply_theme` does that, so Chinese labels render.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.patches import FancyBboxPatch
from matplotlib.transforms import Bbox

from analysis_helpers.plots import PALETTE
from analysis_helpers.text import template

__all__ = ["ipma_map", "path_diagram", "diagram_layout"]

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
    """Put each text next to its point where it overlaps no other label, point or edge.

    The offset is the first free one of :data:`_OFFSETS` (the last one tried otherwise);
    the edge is the axes' edge.
    """
    fig = ax.figure
    fig.canvas.draw()
    renderer = _renderer(fig)
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
    language: str = "en",
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
    language : str
        The language of the axis captions and quadrant names (the text tables).

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
        "concentrate here": (0.01, 0.99, "left", "top", "pls.q_concentrate"),
        "keep up the good work": (0.99, 0.99, "right", "top", "pls.q_keep"),
        "low priority": (0.01, 0.01, "left", "bottom", "pls.q_low"),
        "possible overkill": (0.99, 0.01, "right", "bottom", "pls.q_overkill"),
    }
    for name, (cx, cy, ha, va, key) in corners.items():
        ax.text(cx, cy, template(key, language), transform=ax.transAxes, ha=ha, va=va,
                fontsize="small", color=_QUADRANT_COLOURS[name])  # fmt: skip
    target = str(table["target"].iloc[0])
    ax.set_xlabel(template("pls.axis_performance", language))
    ylabel = template("pls.axis_importance", language).format(target=labels.get(target, target))
    wide = sum(2 if ord(ch) >= 0x2E80 else 1 for ch in ylabel)  # CJK characters are wide
    if wide > 36:  # a long target label: the parenthesis on a line of its own
        cut = min((k for k in (ylabel.find(" ("), ylabel.find("（")) if k > 0), default=-1)
        if cut > 0:  # and the parenthesis wrapped at its spaces
            rest = "\n".join(textwrap.wrap(ylabel[cut:].lstrip(), 30)) or ylabel[cut:]
            ylabel = ylabel[:cut].rstrip() + "\n" + rest
    ax.set_ylabel(ylabel)
    if not numbered:
        _place_labels(ax, x, y, names)
    else:
        prio = table["priority"].to_numpy(int)
        _place_labels(ax, x, y, [str(p) for p in prio], fontsize="x-small")
        order = np.argsort(prio, kind="stable")
        lines = [f"{prio[i]:>2}  {names[i]}" for i in order]
        renderer = _renderer(ax.figure)
        to_axes = ax.transAxes.inverted()
        left = 1.02
        for start in range(0, len(lines), key_rows):
            block = ax.text(left, 1.0, "\n".join(lines[start : start + key_rows]),
                            transform=ax.transAxes, ha="left", va="top", fontsize="x-small",
                            linespacing=1.35)  # fmt: skip
            right = to_axes.transform(block.get_window_extent(renderer))[1, 0]
            left = right + 0.03
    return ax


# --------------------------------------------------------------------------------------
# The model diagram
# --------------------------------------------------------------------------------------
_X_STEP, _BOX_W, _BOX_H = 4.0, 2.4, 0.62
# where a path's coefficient is tried along its arrow (share of the way from the source)
_ALONG = (0.32, 0.45, 0.22, 0.58, 0.15, 0.68, 0.38, 0.27, 0.52, 0.75)


def diagram_layout(model) -> pd.DataFrame:
    """Where each construct sits in the model diagram.

    Columns follow the causal order: a construct's column is the length of the longest
    chain of paths leading to it (sources in column 0). Within a column the constructs
    are stacked one unit apart and centred; the first column keeps the model's order, the
    others are sorted by the mean height of their predecessors, so arrows cross little.

    Parameters
    ----------
    model : PathModel

    Returns
    -------
    DataFrame
        One row per construct: ``block``, ``column``, ``x``, ``y`` (data units of
        :func:`path_diagram`; y runs down from 0 at the top).
    """
    order = model.causal_order()
    layer: dict[str, int] = {}
    for c in order:
        pred = model.predecessors(c)
        layer[c] = 1 + max(layer[p] for p in pred) if pred else 0
    n_cols = max(layer.values()) + 1
    y: dict[str, float] = {}
    height = max(sum(1 for c in layer if layer[c] == k) for k in range(n_cols))
    for k in range(n_cols):
        members = [c for c in model.constructs if layer[c] == k]
        if k:
            members.sort(key=lambda c: np.mean([y[p] for p in model.predecessors(c)]))
        top = (height - len(members)) / 2
        for j, c in enumerate(members):
            y[c] = top + j
    return pd.DataFrame(
        {
            "block": model.constructs,
            "column": [layer[c] for c in model.constructs],
            "x": [layer[c] * _X_STEP for c in model.constructs],
            "y": [y[c] for c in model.constructs],
        }
    )


def _edge_point(cx, cy, tx, ty, w, h):
    """Where the line from a box centre (cx, cy) towards (tx, ty) leaves the box."""
    dx, dy = tx - cx, ty - cy
    if dx == 0 and dy == 0:
        return cx, cy
    sx = (w / 2) / abs(dx) if dx else np.inf
    sy = (h / 2) / abs(dy) if dy else np.inf
    s = min(sx, sy)
    return cx + s * dx, cy + s * dy


def _bezier(p0, p2, rad, t):
    """Return a point of matplotlib's ``arc3`` curve (display coordinates) at ``t``."""
    p0, p2 = np.asarray(p0, float), np.asarray(p2, float)
    mid = (p0 + p2) / 2
    d = p2 - p0
    c = mid + rad * np.array([d[1], -d[0]])
    t = np.asarray(t, float)[:, None]
    return (1 - t) ** 2 * p0 + 2 * t * (1 - t) * c + t**2 * p2


def path_diagram(
    paths: pd.DataFrame,
    *,
    model,
    r_squared: Mapping[str, float] | pd.Series | None = None,
    labels: Mapping[str, str] | None = None,
    confidence: str = "95%",
    ax: Axes | None = None,
    wrap: int = 20,
    language: str = "en",
) -> Axes:
    """Draw the path model as boxes and arrows, each arrow carrying its coefficient.

    Constructs are boxes laid out by :func:`diagram_layout` (causes left, effects right),
    endogenous ones with their R². Each path is an arrow whose width grows with the
    coefficient; solid and dark when its bootstrap interval excludes 0 (``significant``),
    dashed and grey otherwise. An arrow that would cross another box is drawn as an arc.
    Coefficients sit on their arrows where they overlap no box and no other coefficient
    (the first free spot along the arrow); a key under the diagram says how to read it.

    Parameters
    ----------
    paths : DataFrame
        :func:`~analysis_helpers.pls.summary.path_summary` output (``from``, ``to``,
        ``estimate``, ``significant``).
    model : PathModel
    r_squared : mapping or Series, optional
        R² per construct (e.g. ``fit.r_squared()``); shown in endogenous boxes.
    labels : mapping, optional
        Box text per construct (default: the model's labels).
    confidence : str
        The confidence level as written in the key (the study's, e.g. ``"95%"``).
    ax : Axes, optional
    wrap : int
        Characters per line of a box's text.
    language : str
        The language of the key under the diagram (the text tables).

    Returns
    -------
    Axes
    """
    need = ["from", "to", "estimate", "significant"]
    absent = [c for c in need if c not in paths.columns]
    if absent:
        raise KeyError(f"path_diagram: paths lacks column(s) {absent}")
    known = set(model.constructs)
    for a, b in zip(paths["from"], paths["to"], strict=True):
        if a not in known or b not in known:
            raise ValueError(f"path_diagram: path {a} -> {b} is not in the model")
    lab = {c: model.label(c) for c in model.constructs} | dict(labels or {})
    r2 = dict(r_squared) if r_squared is not None else {}
    lay = diagram_layout(model).set_index("block")
    n_cols = int(lay["column"].max()) + 1
    n_rows = int(lay.groupby("column").size().max())
    if ax is None:
        width = min(13.0, max(6.0, 3.4 * n_cols))
        _, ax = plt.subplots(figsize=(width, max(2.6, 0.78 * n_rows + 1.0)))
    fig = ax.figure
    ax.set_xlim(-_BOX_W / 2 - 0.3, (n_cols - 1) * _X_STEP + _BOX_W / 2 + 0.3)
    span = max(n_rows, 2.4)  # a short diagram keeps boxes of a sensible height
    mid = (n_rows - 1) / 2
    ax.set_ylim(mid + span / 2 + 0.15, mid - span / 2 - 0.15)
    ax.set_axis_off()
    box_artists = _draw_boxes(ax, lay, model, lab, r2, wrap)
    fig.canvas.draw()
    renderer = _renderer(fig)
    to_px = ax.transData.transform
    px_boxes = {c: p.get_window_extent(renderer) for c, p in box_artists.items()}
    # arrows
    est = paths["estimate"].to_numpy(float)
    big = max(float(np.nanmax(np.abs(est))) if len(est) else 1.0, 1e-9)
    taken: list[Bbox] = []
    ports = _arrow_ports(paths, lay)
    for a, b, e, sig in zip(paths["from"], paths["to"], est, paths["significant"], strict=True):
        xa, ya = lay.loc[a, ["x", "y"]].astype(float)
        xb, yb = lay.loc[b, ["x", "y"]].astype(float)
        if xb > xa:  # causes left of effects: leave from the right edge, enter at the left
            out_off, in_off = ports.get((a, b), (0.0, 0.0))
            start = (xa + _BOX_W / 2 + 0.02, ya + out_off)
            end = (xb - _BOX_W / 2 - 0.06, yb + in_off)
        else:
            start = _edge_point(xa, ya, xb, yb, _BOX_W + 0.04, _BOX_H + 0.04)
            end = _edge_point(xb, yb, xa, ya, _BOX_W + 0.12, _BOX_H + 0.12)
        p0, p2 = to_px(start), to_px(end)
        grown = [bx.padded(4.0) for c, bx in px_boxes.items() if c not in (a, b)]
        rad = _least_crossing_rad(p0, p2, grown, px_boxes[a].height)
        colour = "#333333" if sig else "#9A9A9A"
        ax.annotate("", xy=end, xytext=start, zorder=2,
                    arrowprops=dict(arrowstyle="-|>", color=colour, lw=0.8 + 2.4 * abs(e) / big,
                                    ls="-" if sig else "--", shrinkA=0, shrinkB=0,
                                    connectionstyle=f"arc3,rad={rad}", mutation_scale=12))  # fmt: skip
        obstacles = [*taken, *px_boxes.values()]
        taken.append(_place_coefficient(ax, p0, p2, rad, f"{e:.2f}", sig, renderer, obstacles))
    ax.text(0.0, -0.01, template("pls.diagram_key", language).format(confidence=confidence),
            transform=ax.transAxes, ha="left", va="top", fontsize="x-small", color="#555555",
            wrap=True)  # fmt: skip
    return ax


def _renderer(fig: Any) -> Any:
    """Return the figure canvas's renderer (the Agg and inline canvases have one)."""
    return fig.canvas.get_renderer()


def _draw_boxes(
    ax: Axes,
    lay: pd.DataFrame,
    model: Any,
    lab: Mapping[str, str],
    r2: Mapping[str, float],
    wrap: int,
) -> dict[Any, FancyBboxPatch]:
    """Draw each construct's box with its text (and R²) and return the boxes by construct.

    A box's text is wrapped into narrower lines until it fits the box.
    """
    fig = ax.figure
    box_artists: dict[Any, FancyBboxPatch] = {}
    for c, row in lay.iterrows():
        x, y = float(row["x"]), float(row["y"])
        endo = bool(model.predecessors(c))
        patch = FancyBboxPatch((x - _BOX_W / 2, y - _BOX_H / 2), _BOX_W, _BOX_H,
                               boxstyle="round,pad=0.02,rounding_size=0.08",
                               facecolor="#EAF2F8" if endo else "#F4F4F4",
                               edgecolor=PALETTE[0] if c == model.target_construct else "#555555",
                               lw=1.8 if c == model.target_construct else 0.9,
                               zorder=3)  # fmt: skip
        ax.add_patch(patch)
        extra = f"\nR² = {r2[c]:.2f}" if endo and c in r2 and np.isfinite(r2[c]) else ""
        label_text = ax.text(x, y, textwrap.fill(str(lab[c]), wrap) + extra, ha="center",
                             va="center", fontsize="small", zorder=4, linespacing=1.15)  # fmt: skip
        renderer = _renderer(fig)
        room = patch.get_window_extent(renderer).width * 0.94
        for chars in range(wrap - 2, 5, -2):  # narrower lines until the text fits its box
            if label_text.get_window_extent(renderer).width <= room:
                break
            label_text.set_text(textwrap.fill(str(lab[c]), chars) + extra)
        box_artists[c] = patch
    return box_artists


def _arrow_ports(
    paths: pd.DataFrame, lay: pd.DataFrame
) -> dict[tuple[str, str], tuple[float, float]]:
    """Return each path's vertical offsets where it leaves and enters its boxes.

    The arrows entering (leaving) a box are spread over its left (right) edge, by the height
    of the box at their other end.
    """
    ports: dict[tuple[str, str], tuple[float, float]] = {}
    for end_col, other_col in (("to", "from"), ("from", "to")):
        for c, grp in paths.groupby(end_col, sort=False):
            others = sorted(grp[other_col], key=lambda o: float(lay.loc[o, "y"]))
            k = len(others)
            for j, o in enumerate(others):
                off = (j - (k - 1) / 2) * (_BOX_H * 0.7 / max(k - 1, 1)) if k > 1 else 0.0
                key = (o, c) if end_col == "to" else (c, o)
                prev = ports.get(key, (0.0, 0.0))
                ports[key] = (off, prev[1]) if end_col == "from" else (prev[0], off)
    return ports


def _least_crossing_rad(p0: np.ndarray, p2: np.ndarray, grown: list[Bbox], box_px: float) -> float:
    """Return the arc (``rad``) of an arrow: the first crossing no box, else the least crossing.

    Arcs bulge by about 0.8, 1.2, 1.6 and 2.2 box heights whatever their length, on either
    side; a straight arrow is tried first.
    """
    ts = np.linspace(0.02, 0.98, 120)
    dist = max(float(np.hypot(*(p2 - p0))), 1.0)
    rads = [0.0] + [sg * 2 * k * box_px / dist for k in (0.8, 1.2, 1.6, 2.2) for sg in (1, -1)]
    best_hits, best_rad = None, 0.0
    for r in rads:
        pts = _bezier(p0, p2, r, ts)
        hits = sum(bx.contains(px, py) for bx in grown for px, py in pts)
        if best_hits is None or hits < best_hits:
            best_hits, best_rad = hits, r
        if hits == 0:
            break
    return best_rad


def _place_coefficient(
    ax: Axes,
    p0: np.ndarray,
    p2: np.ndarray,
    rad: float,
    label: str,
    sig: bool,
    renderer: Any,
    obstacles: list[Bbox],
) -> Bbox:
    """Write a path's coefficient on its arrow and return the text's extent (pixels).

    The text goes to the first spot of :data:`_ALONG` where it overlaps none of
    ``obstacles``; where none is free, at the first spot.
    """
    for t in _ALONG:
        pos = _bezier(p0, p2, rad, [t])[0]
        xy = ax.transData.inverted().transform(pos)
        txt = ax.text(xy[0], xy[1], label, ha="center", va="center", fontsize="small",
                      color="#111111" if sig else "#777777", zorder=5,
                      bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none"))  # fmt: skip
        bb = txt.get_window_extent(renderer).expanded(1.08, 1.15)
        if not any(bb.overlaps(x) for x in obstacles):
            return bb
        txt.remove()
    pos = _bezier(p0, p2, rad, [_ALONG[0]])[0]
    xy = ax.transData.inverted().transform(pos)
    txt = ax.text(
        xy[0],
        xy[1],
        label,
        ha="center",
        va="center",
        fontsize="small",
        zorder=5,
        bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none"),
    )
    return txt.get_window_extent(renderer)
