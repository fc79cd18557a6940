"""Charts of the driver analysis: importance bars, the IPA quadrant chart, penalty-reward.

Importance bars show one group, or compare groups.

Each function takes the tidy output of a :mod:`analysis_helpers.drivers` helper, draws on
``ax`` (a new figure when ``None``) and returns the Axes. Nothing is computed from raw
respondents and no font is set: :func:`analysis_helpers.plots.apply_theme` does that, so
Chinese item labels render.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.colors import to_rgba

from ._compat import renamed
from .drivers import QUADRANTS
from .plots import PALETTE
from .text import template

__all__ = [
    "importance_bars",
    "importance_by_group",
    "quadrant_chart",
    "penalty_reward_chart",
    "MEASURE_LABELS",
]

#: axis labels of the importance measures
MEASURE_LABELS = {
    "correlation": "Correlation with the outcome",
    "beta": "Standardised coefficient (beta)",
    "relative_weight": "Relative weight (share of R²)",
    "relative_weight_pct": "Relative weight (% of R²)",
    "lmg": "LMG / Shapley (share of R²)",
    "lmg_pct": "LMG / Shapley (% of R²)",
    "shapley": "LMG / Shapley (share of R²)",
    "shapley_pct": "LMG / Shapley (% of R²)",
    "first": "R² alone (first)",
    "last": "R² added last",
    "betasq": "Squared beta",
    "pratt": "Pratt (beta × r)",
    "importance": "Permutation importance (drop in R²)",
    "importance_pct": "Permutation importance (%)",
}

_QUADRANT_COLOURS = {
    "concentrate here": PALETTE[3],
    "keep up the good work": PALETTE[2],
    "low priority": "#999999",
    "possible overkill": PALETTE[0],
}
#: the template keys of the measures' axis labels in other languages than English
_MEASURE_KEYS = {
    "correlation": "plots.measure_correlation",
    "beta": "plots.measure_beta",
    "relative_weight": "plots.measure_relative_weight",
    "relative_weight_pct": "plots.measure_relative_weight_pct",
    "lmg": "plots.measure_lmg",
    "lmg_pct": "plots.measure_lmg_pct",
    "shapley": "plots.measure_lmg",
    "shapley_pct": "plots.measure_lmg_pct",
    "first": "plots.measure_first",
    "last": "plots.measure_last",
    "betasq": "plots.measure_betasq",
    "pratt": "plots.measure_pratt",
    "importance": "plots.measure_importance",
    "importance_pct": "plots.measure_importance_pct",
}
#: the quadrants' and the factor classes' names as the charts show them
_NAME_KEYS = {
    "concentrate here": "plots.quadrant_concentrate",
    "keep up the good work": "plots.quadrant_keep",
    "low priority": "plots.quadrant_low",
    "possible overkill": "plots.quadrant_overkill",
    "basic": "plots.class_basic",
    "performance": "plots.class_performance",
    "excitement": "plots.class_excitement",
}


def _measure_label(measure: str, language: str) -> str:
    """Return the axis label of ``measure`` in ``language`` (:data:`MEASURE_LABELS` in English)."""
    if language == "en" or measure not in _MEASURE_KEYS:
        return MEASURE_LABELS.get(measure, measure)
    return template(_MEASURE_KEYS[measure], language)


def _name(name: str, language: str) -> str:
    """Return a quadrant's or a factor class's name in ``language``."""
    return template(_NAME_KEYS[name], language) if name in _NAME_KEYS else name


_CLASS_COLOURS = {"basic": PALETTE[3], "performance": PALETTE[0], "excitement": PALETTE[2]}


def _axes(ax: Axes | None, size: tuple[float, float]) -> Axes:
    if ax is None:
        _, ax = plt.subplots(figsize=size)
    return ax


def _need(table: pd.DataFrame, columns: list[str], role: str) -> None:
    absent = [c for c in columns if c not in table.columns]
    if absent:
        raise KeyError(f"{role} lacks column(s) {absent}")


def importance_bars(
    table: pd.DataFrame,
    *,
    measure: str = "relative_weight_pct",
    ax: Axes | None = None,
    sort: bool = True,
    color: str = PALETTE[0],
    language: str = "en",
) -> Axes:
    """Draw horizontal bars of one importance measure, with bootstrap intervals when present.

    Parameters
    ----------
    table : DataFrame
        One segment's :func:`~analysis_helpers.drivers.driver_importance` table (or a
        :func:`~analysis_helpers.drivers.permutation_importance_check` table): a
        ``driver`` column, the ``measure`` column and optionally ``<measure>_ci_low`` /
        ``<measure>_ci_high`` (drawn as whiskers).
    measure : str
        The column to draw.
    ax : Axes, optional
        Where to draw.
    sort : bool
        Most important driver on top (else the table's order, top to bottom).
    color : str
        Bar colour.
    language : str
        The language of the axis title (``"en"`` or ``"zh"``).

    Returns
    -------
    Axes
    """
    _need(table, ["driver", measure], "table")
    if table["driver"].duplicated().any():
        raise ValueError("table has a driver more than once; draw one segment per chart")
    values = table[measure].astype(float)
    if values.isna().all():
        note = table["note"].iloc[0] if "note" in table.columns else ""
        raise ValueError(f"{measure!r} is empty{': ' + note if note else ''}")
    rows = table.assign(_value=values)
    rows = rows.sort_values("_value", kind="stable") if sort else rows.iloc[::-1]
    ax = _axes(ax, (7, 0.4 * len(rows) + 1.5))
    y = np.arange(len(rows))
    ax.barh(y, rows["_value"], color=color, height=0.65)
    low, high = f"{measure}_ci_low", f"{measure}_ci_high"
    if low in rows.columns and high in rows.columns and rows[low].notna().any():
        err = np.vstack([rows["_value"] - rows[low], rows[high] - rows["_value"]])
        ax.errorbar(rows["_value"], y, xerr=err, fmt="none", ecolor="#333333", capsize=3, lw=1)
    ax.set_yticks(y, labels=rows["driver"].astype(str).tolist())
    ax.set_xlabel(_measure_label(measure, language))
    if (values < 0).any():
        ax.axvline(0, color="#333333", lw=0.8)
    if "r2" in rows.columns and rows["r2"].notna().any():
        n = f", n = {int(rows['n'].iloc[0]):,}" if "n" in rows.columns else ""
        ax.text(
            0.99, 0.01, f"R² = {rows['r2'].iloc[0]:.2f}{n}", transform=ax.transAxes,
            ha="right", va="bottom", fontsize="small", color="#555555",
        )  # fmt: skip
    return ax


def quadrant_chart(
    ipa: pd.DataFrame,
    *,
    ax: Axes | None = None,
    max_labels: int = 12,
    key_rows: int = 20,
    language: str = "en",
) -> Axes:
    """Draw the importance-performance quadrant chart (Martilla & James 1977).

    Performance runs along x, importance up y; dashed lines mark the crosshair and the
    four quadrant names sit in the corners. Up to ``max_labels`` items are labelled by
    name next to their point; with more, points carry numbers (1 = most important) and a
    numbered key is written to the right of the plot, ``key_rows`` lines per column, so 40
    items stay readable. Save such figures with ``bbox_inches="tight"`` (or leave room on
    the right) so the key is kept.

    Parameters
    ----------
    ipa : DataFrame
        Output of :func:`~analysis_helpers.drivers.importance_performance`.
    ax : Axes, optional
        Where to draw.
    max_labels : int
        Most items labelled by name.
    key_rows : int
        Lines per column of the numbered key.
    language : str
        The language of the quadrant names and the axis titles (``"en"`` or ``"zh"``).

    Returns
    -------
    Axes
    """
    _need(
        ipa,
        ["item", "importance", "performance", "importance_cut", "performance_cut", "quadrant"],
        "ipa",
    )
    numbered = len(ipa) > max_labels
    ax = _axes(ax, (10, 6.5) if numbered else (7.5, 6))
    x = ipa["performance"].to_numpy(float)
    y = ipa["importance"].to_numpy(float)
    colours = [_QUADRANT_COLOURS.get(q, PALETTE[0]) for q in ipa["quadrant"]]
    ax.scatter(x, y, c=colours, s=36 if numbered else 44, zorder=3, edgecolors="white", lw=0.5)
    x_cut, y_cut = float(ipa["performance_cut"].iloc[0]), float(ipa["importance_cut"].iloc[0])
    ax.axvline(x_cut, color="#777777", ls="--", lw=1, zorder=1)
    ax.axhline(y_cut, color="#777777", ls="--", lw=1, zorder=1)
    # keep the crosshair inside the plot with a margin around the points
    x_lo, x_hi = min(x.min(), x_cut), max(x.max(), x_cut)
    y_lo, y_hi = min(y.min(), y_cut), max(y.max(), y_cut)
    x_pad = 0.12 * (x_hi - x_lo or 1.0)
    y_pad = 0.15 * (y_hi - y_lo or 1.0)
    ax.set_xlim(x_lo - x_pad, x_hi + x_pad)
    ax.set_ylim(y_lo - y_pad, y_hi + y_pad)
    corners = {
        QUADRANTS[(True, False)]: (0.01, 0.99, "left", "top"),
        QUADRANTS[(True, True)]: (0.99, 0.99, "right", "top"),
        QUADRANTS[(False, False)]: (0.01, 0.01, "left", "bottom"),
        QUADRANTS[(False, True)]: (0.99, 0.01, "right", "bottom"),
    }
    for name, (cx, cy, ha, va) in corners.items():
        ax.text(
            cx, cy, _name(name, language), transform=ax.transAxes, ha=ha, va=va, fontsize="small",
            color=_QUADRANT_COLOURS[name],
        )  # fmt: skip
    items = ipa["item"].astype(str).tolist()
    renderer = ax.figure.canvas.get_renderer()  # type: ignore[attr-defined]  # Agg and inline canvases have it
    corner_texts = [t for t in ax.texts]
    order = np.argsort(-y, kind="stable")
    if not numbered:
        _place_labels(ax, x, y, items, order=order, fontsize="small", avoid=corner_texts)
    else:
        number = np.empty(len(y), dtype=int)
        number[order] = np.arange(1, len(y) + 1)
        _place_labels(
            ax, x, y, [str(k) for k in number], order=order, fontsize="x-small",
            avoid=corner_texts, step=3.0,
        )  # fmt: skip
        lines = [f"{number[i]:>2}  {items[i]}" for i in order]
        # key columns side by side, each placed after the measured width of the previous
        to_axes = ax.transAxes.inverted()
        left = 1.02
        for start in range(0, len(lines), key_rows):
            block = ax.text(
                left, 1.0, "\n".join(lines[start : start + key_rows]), transform=ax.transAxes,
                ha="left", va="top", fontsize="x-small", linespacing=1.35,
            )  # fmt: skip
            right = to_axes.transform(block.get_window_extent(renderer))[1, 0]
            left = right + 0.03
    ax.set_xlabel(template("col.performance", language))
    ax.set_ylabel(template("col.importance", language))
    return ax


def penalty_reward_chart(
    prca: pd.DataFrame, *, ax: Axes | None = None, language: str = "en"
) -> Axes:
    """Draw the penalty-reward chart: penalties left, rewards right, by factor class.

    Each attribute gets a bar to the left of zero for its penalty (the drop in the outcome
    when it is rated low) and one to the right for its reward, with their confidence
    intervals; colours give the factor class, and bars that are not significantly above
    zero are drawn faded (by the adjusted p-values when the table has them). Attributes are grouped by class (basic, performance, excitement)
    and ordered by penalty - reward within a class.

    Parameters
    ----------
    prca : DataFrame
        Output of :func:`~analysis_helpers.drivers.penalty_reward`.
    ax : Axes, optional
        Where to draw.
    language : str
        The language of the axis title and the legend (``"en"`` or ``"zh"``).

    Returns
    -------
    Axes
    """
    _need(
        prca,
        ["driver", "penalty", "reward", "factor_class", "penalty_ci_low", "penalty_ci_high",
         "reward_ci_low", "reward_ci_high", "penalty_p_value", "reward_p_value"],
        "prca",
    )  # fmt: skip
    rank = {"excitement": 0, "performance": 1, "basic": 2}
    rows = prca.assign(
        _class=prca["factor_class"].map(rank).fillna(1), _diff=prca["penalty"] - prca["reward"]
    ).sort_values(["_class", "_diff"], kind="stable")
    ax = _axes(ax, (8, 0.45 * len(rows) + 1.8))
    y = np.arange(len(rows))
    colours = [_CLASS_COLOURS.get(c, PALETTE[0]) for c in rows["factor_class"]]
    alpha = 0.05
    for side, sign in (("penalty", -1), ("reward", 1)):
        value = sign * rows[side].to_numpy(float)
        p_col = f"{side}_p_adjusted" if f"{side}_p_adjusted" in rows.columns else f"{side}_p_value"
        significant = (rows[p_col] < alpha) & (rows[side] > 0)
        faded = [to_rgba(c, 1.0 if s else 0.35) for c, s in zip(colours, significant, strict=True)]
        ax.barh(y, value, color=faded, height=0.6)
        lo = sign * rows[f"{side}_ci_low"].to_numpy(float)
        hi = sign * rows[f"{side}_ci_high"].to_numpy(float)
        err = np.vstack([value - np.minimum(lo, hi), np.maximum(lo, hi) - value])
        ax.errorbar(value, y, xerr=err, fmt="none", ecolor="#333333", capsize=2.5, lw=0.9)
    ax.axvline(0, color="#333333", lw=0.9)
    ax.set_yticks(y, labels=rows["driver"].astype(str).tolist())
    ax.set_xlabel(template("plots.pr_axis", language))
    limit = np.nanmax(np.abs(rows[["penalty_ci_low", "penalty_ci_high", "reward_ci_low",
                                   "reward_ci_high"]].to_numpy(float)))  # fmt: skip
    if np.isfinite(limit) and limit > 0:
        ax.set_xlim(-1.1 * limit, 1.1 * limit)
    handles = [
        plt.Rectangle((0, 0), 1, 1, color=_CLASS_COLOURS[c])
        for c in ("basic", "performance", "excitement")
    ]
    classes = [_name(c, language) for c in ("basic", "performance", "excitement")]
    ax.legend(handles, classes, loc="lower center",
              bbox_to_anchor=(0.5, 1.0), ncol=3, fontsize="small", frameon=False)  # fmt: skip
    return ax


@renamed(group="by")
def importance_by_group(
    table: pd.DataFrame,
    *,
    by: str,
    measure: str = "relative_weight_pct",
    ax: Axes | None = None,
    order: Sequence[object] | None = None,
    labels: Mapping[object, str] | None = None,
    language: str = "en",
) -> Axes:
    """Draw a dot plot of one importance measure per driver and group (segment, wave, outcome).

    Drivers run down the chart, most important (averaged over the groups) on top; each
    group has its own colour and a small vertical offset, with bootstrap whiskers when
    the table has ``<measure>_ci_low`` / ``<measure>_ci_high``. Groups whose measure is
    empty (a segment too small to analyse) are left out of the chart.

    Parameters
    ----------
    table : DataFrame
        Stacked importance tables: e.g. :func:`~analysis_helpers.drivers.segment_importance`
        output, or several :func:`~analysis_helpers.drivers.driver_importance` tables
        concatenated with a column naming the outcome.
    by : str
        The column that tells the groups apart (one colour per value).
    measure : str
        The column to draw.
    ax : Axes, optional
        Where to draw.
    order : sequence, optional
        Groups in legend order (default: order of appearance).
    labels : mapping, optional
        Legend label per group (default: the group value).
    language : str
        The language of the axis title (``"en"`` or ``"zh"``).

    Returns
    -------
    Axes
    """
    _need(table, ["driver", by, measure], "table")
    rows = table[table[measure].notna()]
    if rows.empty:
        raise ValueError(f"{measure!r} is empty for every group")
    groups = [g for g in (order if order is not None else rows[by].unique()) if
              (rows[by] == g).any()]  # fmt: skip
    drivers = rows.groupby("driver", sort=False)[measure].mean().sort_values(kind="stable").index
    pos = {d: k for k, d in enumerate(drivers)}
    ax = _axes(ax, (8, 0.55 * len(drivers) + 1.8))
    step = min(0.8 / max(len(groups), 1), 0.22)
    low, high = f"{measure}_ci_low", f"{measure}_ci_high"
    has_ci = low in rows.columns and high in rows.columns and rows[low].notna().any()
    for k, g in enumerate(groups):
        part = rows[rows[by] == g]
        # the first group sits highest, as in the legend
        y = part["driver"].map(pos).to_numpy(float) + ((len(groups) - 1) / 2 - k) * step
        x = part[measure].to_numpy(float)
        name = str(labels.get(g, g)) if labels is not None else str(g)
        colour, marker = group_style(k)
        if has_ci:
            err = np.vstack([x - part[low].to_numpy(float), part[high].to_numpy(float) - x])
            ax.errorbar(x, y, xerr=err, fmt="none", ecolor=colour, lw=1, capsize=2, alpha=0.8)
        ax.scatter(x, y, color=colour, marker=marker, s=30, zorder=3, label=name)
    ax.set_yticks(np.arange(len(drivers)), labels=[str(d) for d in drivers])
    ax.set_ylim(-0.6, len(drivers) - 0.4)
    ax.set_xlabel(_measure_label(measure, language))
    if (rows[measure] < 0).any():
        ax.axvline(0, color="#333333", lw=0.8)
    ax.legend(loc="lower right", fontsize="small", frameon=False, ncol=1 + (len(groups) - 1) // 8)
    return ax


#: marker shapes of the groups, one per round of the palette's colours
GROUP_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")


def group_style(k: int) -> tuple[str, str]:
    """Return the colour and marker of the ``k``-th group of a chart (any number of groups).

    The first eight groups get the palette's colours as dots; each further round of eight
    repeats the colours with another marker shape (squares, triangles...), so that 12 waves
    or 20 segments can still be told apart.

    Examples
    --------
    >>> group_style(0), group_style(9)
    (('#0072B2', 'o'), ('#E69F00', 's'))
    """
    return PALETTE[k % len(PALETTE)], GROUP_MARKERS[(k // len(PALETTE)) % len(GROUP_MARKERS)]


#: label offsets around a point, in units of ``step`` points: right, left, above, below
#: first, then the diagonals, then the same directions farther out
_OFFSETS = [
    (1, 0.6, "left", "bottom"), (-1, 0.6, "right", "bottom"), (1, -0.6, "left", "top"),
    (-1, -0.6, "right", "top"), (0, 1.2, "center", "bottom"), (0, -1.2, "center", "top"),
    (1, 0, "left", "center"), (-1, 0, "right", "center"),
]  # fmt: skip


def _overlap(a, b) -> float:
    w = min(a.x1, b.x1) - max(a.x0, b.x0)
    h = min(a.y1, b.y1) - max(a.y0, b.y0)
    return w * h if w > 0 and h > 0 else 0.0


def _place_labels(
    ax: Axes,
    x: np.ndarray,
    y: np.ndarray,
    labels: Sequence[str],
    *,
    order: Sequence[int] | np.ndarray,
    fontsize: str,
    avoid: Sequence[object] = (),
    step: float = 5.0,
) -> list[object]:
    """Label points without overlaps: a greedy search over positions around each point.

    Points are labelled in ``order`` (most important first). Each label tries the
    positions of :data:`_OFFSETS` at 1 to 12 times ``step`` points from its point and
    takes the first whose box overlaps no label placed before, no text of ``avoid`` (the
    quadrant names), no other point and stays inside the axes; when every position
    collides it takes the one with the least overlap. Labels moved away from their point
    get a thin leader line. The axes limits must be final before this is called.

    Returns
    -------
    list of Annotation
        The labels, in the order of ``labels``.
    """
    from matplotlib.transforms import Bbox

    renderer = ax.figure.canvas.get_renderer()  # type: ignore[attr-defined]
    pad = 1.5
    taken = [t.get_window_extent(renderer).padded(pad) for t in avoid]  # type: ignore[attr-defined]
    frame = ax.get_window_extent(renderer)
    pixels = ax.transData.transform(np.column_stack([x, y]))
    radius = 3.5 * ax.figure.dpi / 72
    dots = [
        Bbox.from_extents(px - radius, py - radius, px + radius, py + radius) for px, py in pixels
    ]
    out: list[object] = [None] * len(labels)
    for k in order:
        best, best_cost = None, np.inf
        for scale in (1.0, 2.0, 3.5, 5.5, 8.0, 12.0):
            for dx, dy, ha, va in _OFFSETS:
                note = ax.annotate(
                    labels[k], (x[k], y[k]), xytext=(dx * step * scale, dy * step * scale),
                    textcoords="offset points", ha=ha, va=va, fontsize=fontsize,
                    arrowprops=(
                        {"arrowstyle": "-", "color": "#999999", "lw": 0.6, "shrinkA": 0,
                         "shrinkB": 3} if scale > 1 else None
                    ),
                )  # fmt: skip
                box = note.get_window_extent(renderer).padded(pad)
                inside = _overlap(box, frame)
                cost = (box.width * box.height - inside) * 4
                cost += sum(_overlap(box, t) for t in taken) * 1000
                cost += sum(_overlap(box, d) for j, d in enumerate(dots) if j != k)
                if cost < best_cost:
                    if best is not None:
                        best[0].remove()
                    best, best_cost = (note, box), cost
                else:
                    note.remove()
                if best_cost == 0:
                    break
            if best_cost == 0:
                break
        assert best is not None
        out[k] = best[0]
        taken.append(best[1])
    return out
