"""Chart theme and shared chart helpers.

:func:`apply_theme` sets the house chart style and makes sure labels in any language
render: the Noto Sans CJK font that ships with the ``mplfonts`` package is registered with
matplotlib and put in the font fallback list, so Chinese, Japanese and Korean labels draw
with real glyphs instead of empty boxes. Plot functions draw on ``ax=None`` and return the
Axes; they take a helper's tidy output and never compute statistics on raw rows.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib import font_manager
from matplotlib.axes import Axes

from ._compat import renamed, warn_deprecated

__all__ = [
    "apply_theme",
    "cjk_font_path",
    "PALETTE",
    "kpi_trend",
    "bar_with_ci",
    "fit_tick_labels",
]

#: colour-blind-safe palette (Okabe-Ito) used across the report
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]

_CJK_FILE = "NotoSansCJKsc-Regular.otf"
_CJK_NAME = "Noto Sans CJK SC"


def cjk_font_path() -> Path:
    """Return the path of the bundled Noto Sans CJK font (from the ``mplfonts`` package).

    Raises
    ------
    FileNotFoundError
        If ``mplfonts`` is not installed or no longer ships the font.
    """
    spec = importlib.util.find_spec("mplfonts")
    if spec is None or spec.origin is None:
        raise FileNotFoundError(
            "the CJK font comes with the 'mplfonts' package, which is not installed; "
            "run `make env` to build the project environment"
        )
    path = Path(spec.origin).parent / "fonts" / _CJK_FILE
    if not path.is_file():
        raise FileNotFoundError(f"mplfonts does not ship {_CJK_FILE} at {path}")
    return path


def apply_theme(*, context: str = "notebook", dpi: int = 110) -> None:
    """Set the report chart style and enable CJK (and other non-Latin) labels.

    Latin text keeps DejaVu Sans; glyphs it lacks fall back to Noto Sans CJK SC, so a
    label such as "Network service 网络服务" renders completely.

    Parameters
    ----------
    context : {"notebook", "talk", "paper"}
        seaborn plotting context (font scale).
    dpi : int
        Figure resolution for inline display and saved PNGs.
    """
    import seaborn as sns

    path = cjk_font_path()
    if _CJK_NAME not in {f.name for f in font_manager.fontManager.ttflist}:
        font_manager.fontManager.addfont(str(path))
    sns.set_theme(context=context, style="whitegrid", palette=PALETTE)
    mpl.rcParams.update(
        {
            # explicit family names: matplotlib falls back glyph by glyph only along an
            # explicit list, not within the generic "sans-serif" alias
            "font.family": ["DejaVu Sans", _CJK_NAME],
            "font.sans-serif": ["DejaVu Sans", _CJK_NAME],
            "axes.unicode_minus": False,
            "figure.dpi": dpi,
            "savefig.dpi": dpi,
            "savefig.bbox": "tight",
            "axes.titleweight": "normal",  # the bundled CJK font has no bold face
            "axes.titlelocation": "left",
            "figure.figsize": (8, 4.5),
        }
    )


def bar_with_ci(
    table: pd.DataFrame,
    *,
    label: str | None = None,
    estimate: str = "estimate",
    ci_low: str = "ci_low",
    ci_high: str = "ci_high",
    by: str | None = None,
    labels: Mapping | None = None,
    base: str | None = "n",
    percent: bool = False,
    sort: bool = False,
    horizontal: bool = True,
    axis_label: str | None = None,
    color: str | None = None,
    ax: Axes | None = None,
    **deprecated: Any,
) -> Axes:
    """Draw bars of an estimate with its confidence interval, optionally side by side per group.

    Parameters
    ----------
    table : DataFrame
        A helper's tidy output (e.g. :func:`~analysis_helpers.kpis.top_box`): one row per
        bar (and per ``by`` value).
    label : str, default "item"
        The column naming each bar.
    estimate, ci_low, ci_high : str
        The estimate and interval columns.
    by : str, optional
        A column that splits the bars into series drawn side by side (e.g. a segment),
        with a legend.
    labels : mapping, optional
        Display text per value of ``label``.
    base : str or None
        The base column, printed beside each bar as ``n=...`` when the table has it;
        None prints none.
    percent : bool
        Shares in [0, 1] shown in percent.
    sort : bool
        Largest estimate first (only without ``by``).
    horizontal : bool
        Horizontal bars (the default, readable with long labels), first bar on top.
    axis_label : str, optional
        Text of the value axis; default "estimate with confidence interval".
    color : str, optional
        Bar colour without ``by`` (default the first palette colour); series take the
        palette in order.
    ax : Axes, optional
        Where to draw.

    Returns
    -------
    matplotlib.axes.Axes
    """
    if deprecated:
        label, estimate, ci_low, ci_high, axis_label = _old_bar_arguments(
            deprecated, label, estimate, ci_low, ci_high, axis_label
        )
    label = label if label is not None else "item"
    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"bar_with_ci: expected a DataFrame, got {type(table).__name__}")
    if len(table) == 0:
        raise ValueError("bar_with_ci: table is empty")
    cols = [label, estimate, ci_low, ci_high] + ([by] if by else [])
    missing = [c for c in cols if c not in table.columns]
    if base is not None and base not in table.columns and base != "n":
        missing.append(base)
    if missing:
        raise KeyError(f"bar_with_ci: table has no column(s) {missing}")
    show_base = base is not None and base in table.columns
    t = table.reset_index(drop=True)
    if sort and by is None:
        t = t.sort_values(estimate, ascending=False, kind="stable").reset_index(drop=True)
    scale = 100.0 if percent else 1.0
    names = list(dict.fromkeys(t[label]))
    series = list(dict.fromkeys(t[by])) if by else [None]
    if ax is None:
        depth = 0.45 * len(names) * max(1.0, len(series) * 0.6) + 1.5
        _, ax = plt.subplots(figsize=(8, depth) if horizontal else (max(6, depth), 4.5))
    width = 0.8 / len(series)
    slot = {n: i for i, n in enumerate(names)}
    for k, value in enumerate(series):
        part = t if value is None else t[t[by] == value]
        offset = (k - (len(series) - 1) / 2) * width
        pos = np.array([slot[n] for n in part[label]], dtype=float) + offset
        est = part[estimate].to_numpy(dtype=float) * scale
        lo = part[ci_low].to_numpy(dtype=float) * scale
        hi = part[ci_high].to_numpy(dtype=float) * scale
        err = np.vstack([est - lo, hi - est])
        colour = (color or PALETTE[0]) if value is None else PALETTE[k % len(PALETTE)]
        name = None if value is None else str(value)
        style: dict[str, Any] = {
            "capsize": 3,
            "error_kw": {"lw": 1},
            "color": colour,
            "label": name,
        }
        if horizontal:
            ax.barh(pos, est, height=width * 0.9, xerr=err, **style)
        else:
            ax.bar(pos, est, width=width * 0.9, yerr=err, **style)
        if show_base:
            for p, h, n in zip(pos, hi, part[base], strict=True):
                xy, shift = ((h, p), (4, 0)) if horizontal else ((p, h), (0, 3))
                ax.annotate(
                    f"n={int(n):,}", xy, xytext=shift, textcoords="offset points",
                    va="center" if horizontal else "bottom",
                    ha="left" if horizontal else "center", fontsize=8, color="0.35",
                )  # fmt: skip
    ticks = [(labels or {}).get(n, str(n)) for n in names]
    text = axis_label or ("% " if percent else "") + "estimate with confidence interval"
    if horizontal:
        ax.set_yticks(range(len(names)), ticks)
        ax.set_ylim(len(names) - 0.5, -0.5)  # first bar on top
        ax.set_xlabel(text)
    else:
        ax.set_xticks(range(len(names)), ticks, rotation=30, ha="right")
        ax.set_ylabel(text)
    if by:
        ax.legend(frameon=False)
    return ax


def _old_bar_arguments(old: dict, label, estimate, ci_low, ci_high, axis_label):
    """Map the deprecated spellings of ``bar_with_ci`` (x, y, low, high; label = axis text)."""
    unknown = sorted(set(old) - {"x", "y", "low", "high"})
    if unknown:
        raise TypeError(f"bar_with_ci: unexpected argument(s) {unknown}")
    new = {"x": "label", "y": "estimate", "low": "ci_low", "high": "ci_high"}
    for name in old:
        warn_deprecated(f"bar_with_ci: {name}= is deprecated; use {new[name]}=", stacklevel=4)
    if "x" in old:
        if label is not None:  # the old label= was the value axis text
            warn_deprecated(
                "bar_with_ci: label= with x= is the axis text; use axis_label=", stacklevel=4
            )
            axis_label = axis_label or label
        label = old["x"]
        axis_label = axis_label or old.get("y", estimate)
    return (
        label,
        old.get("y", estimate),
        old.get("low", ci_low),
        old.get("high", ci_high),
        axis_label,
    )


@renamed(hue="by", low="ci_low", high="ci_high", label="axis_label")
def kpi_trend(
    table: pd.DataFrame,
    *,
    x: str = "wave",
    y: str = "estimate",
    by: str | None = None,
    ci_low: str = "ci_low",
    ci_high: str = "ci_high",
    order: list[str] | None = None,
    labels: Mapping | None = None,
    axis_label: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Plot a KPI over waves: one line per ``by`` group with a shaded confidence band.

    Parameters
    ----------
    table : DataFrame
        Tidy estimates by wave (e.g. :func:`~analysis_helpers.study_tables.kpi_summary`
        with ``by=["wave"]``).
    x, y : str
        The wave and the estimate columns.
    by : str, optional
        A column that splits the table into lines (with a legend).
    ci_low, ci_high : str
        The interval columns, drawn as a band.
    order : list of str, optional
        Waves in time order (default: as they first appear). Every wave of ``order`` has
        a place on the axis, so a line that lacks a wave keeps its waves in their places.
    labels : mapping, optional
        Display text per wave code (e.g. :meth:`Study.wave_labels`); default the codes.
    axis_label : str, optional
        Text of the value axis; default ``y``.
    ax : Axes, optional
        Where to draw.

    Returns
    -------
    matplotlib.axes.Axes
        The wave labels are fitted with :func:`fit_tick_labels` (wrapped, turned or
        thinned so that none overlap); call it again after changing the figure's layout.
    """
    if ax is None:
        _, ax = plt.subplots()
    waves = [str(v) for v in (order if order is not None else dict.fromkeys(table[x]))]
    slot = {w: k for k, w in enumerate(waves)}
    groups = [(None, table)] if by is None else list(table.groupby(by, sort=False, observed=True))
    for k, (name, g) in enumerate(groups):
        g = g[g[x].astype(str).isin(slot)]
        g = g.assign(_slot=g[x].astype(str).map(slot)).sort_values("_slot")
        xs = g["_slot"].to_numpy(dtype=float)
        colour = PALETTE[k % len(PALETTE)]
        ax.plot(xs, g[y], marker="o", color=colour, label=None if name is None else str(name))
        ax.fill_between(xs, g[ci_low], g[ci_high], color=colour, alpha=0.15, lw=0)
    ax.set_xticks(range(len(waves)), [str((labels or {}).get(w, w)) for w in waves])
    ax.set_xlim(-0.5, len(waves) - 0.5)
    ax.set_ylabel(axis_label or y)
    ax.set_xlabel("")
    if by is not None:
        ax.legend(frameon=False, fontsize=8, loc="best")
    fit_tick_labels(ax)
    return ax


def fit_tick_labels(ax: Axes, *, axis: str = "x", gap: float = 3.0) -> Axes:
    """Make an axis's tick labels readable side by side: none may overlap another.

    Tries, in order, until no two labels (as drawn) come closer than ``gap`` pixels:
    the labels as they are; wrapped at spaces onto two lines ("Q1 2024" -> "Q1" over
    "2024"); turned by 45 degrees; turned and thinned (every k-th label shown, the last
    one always). Only the x axis is fitted by default (y tick labels stack vertically).

    Parameters
    ----------
    ax : Axes
        An Axes with its ticks set; its figure's size and layout should be final.
    axis : {"x", "y"}
        The axis to fit.
    gap : float
        Smallest space between two labels, in pixels.

    Returns
    -------
    matplotlib.axes.Axes
    """
    if axis not in ("x", "y"):
        raise ValueError(f"fit_tick_labels: axis must be 'x' or 'y', not {axis!r}")
    ticks = ax.get_xticklabels() if axis == "x" else ax.get_yticklabels()
    if axis == "y" or len(ticks) < 2:
        return ax
    fig: Any = ax.get_figure()
    current = [t.get_text() for t in ticks]
    # fitted before (e.g. again after a layout change): start from the labels as given
    before, fitted = getattr(ax, "_fitted_ticks", (None, None))
    original: list[str] = list(before) if before is not None and fitted == current else current
    positions = list(ax.get_xticks())
    wrapped = [t.replace(" ", "\n", 1) if " " in t else t for t in original]

    def crowded(texts: list[str], rotation: float) -> bool:
        renderer = fig.canvas.get_renderer()
        shown = [t for t in ax.get_xticklabels() if t.get_text()]
        if rotation:  # parallel slanted labels: their distance across the slant counts
            at = [p for p, t in zip(positions, texts, strict=True) if t]
            xs = sorted(ax.transData.transform((p, 0))[0] for p in at)
            height = max(float(t.get_fontsize()) * fig.dpi / 72 * 1.25 for t in shown)
            return any(
                (b - a) * np.sin(np.radians(rotation)) < height + gap
                for a, b in zip(xs, xs[1:], strict=False)
            )
        boxes = sorted((t.get_window_extent(renderer) for t in shown), key=lambda b: b.x0)
        return any(b.x0 - a.x1 < gap for a, b in zip(boxes, boxes[1:], strict=False))

    attempts: list[tuple[list[str], float, int]] = [(original, 0, 1), (wrapped, 0, 1)]
    attempts += [(original, 45, step) for step in range(1, len(original))]
    for text, rotation, step in attempts:
        texts = [t if (k % step == 0 or k == len(text) - 1) else "" for k, t in enumerate(text)]
        if step > 1 and (len(text) - 1) % step:
            texts[-1 - (len(text) - 1) % step] = ""  # the last label stays; its neighbour goes
        ax.set_xticks(positions, texts)
        for t in ax.get_xticklabels():
            t.set_rotation(rotation)
            t.set_horizontalalignment("right" if rotation else "center")
            t.set_rotation_mode("anchor" if rotation else "default")
        if not crowded(texts, rotation):
            break
    ax._fitted_ticks = (original, [t.get_text() for t in ax.get_xticklabels()])  # type: ignore[attr-defined]
    return ax
