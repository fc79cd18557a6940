"""Chart theme and shared chart helpers.

:func:`apply_theme` sets the house chart style and makes sure labels in any language
render: the Noto Sans CJK font that ships with the ``mplfonts`` package is registered with
matplotlib and put in the font fallback list, so Chinese, Japanese and Korean labels draw
with real glyphs instead of empty boxes. Plot functions draw on ``ax=None`` and return the
Axes; they take a helper's tidy output and never compute statistics on raw rows.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import matplotlib as mpl
import matplotlib.pyplot as plt
import pandas as pd
from matplotlib import font_manager

__all__ = ["apply_theme", "cjk_font_path", "PALETTE", "kpi_trend", "bar_with_ci"]

#: colour-blind-safe palette (Okabe-Ito) used across the report
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]

_CJK_FILE = "NotoSansCJKsc-Regular.otf"
_CJK_NAME = "Noto Sans CJK SC"


def cjk_font_path() -> Path:
    """The path of the bundled Noto Sans CJK font (from the ``mplfonts`` package).

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


def _ax(ax):
    if ax is None:
        _, ax = plt.subplots()
    return ax


def bar_with_ci(
    table: pd.DataFrame,
    *,
    x: str,
    y: str = "estimate",
    low: str = "ci_low",
    high: str = "ci_high",
    label: str | None = None,
    base: str | None = "n",
    horizontal: bool = True,
    color: str = PALETTE[0],
    ax=None,
):
    """Bars of an estimate with its confidence interval, labelled with the base.

    Parameters
    ----------
    table : DataFrame
        A helper's tidy output: one row per bar.
    x : str
        Column with the bar labels.
    y, low, high : str
        Columns with the estimate and its interval.
    label : str, optional
        Axis label of the value axis.
    base : str or None
        Column with the unweighted base, shown beside each bar as ``n=...``.
    horizontal : bool
        Horizontal bars (the default, readable with long labels).

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _ax(ax)
    t = table.reset_index(drop=True)
    pos = range(len(t))
    err = [t[y] - t[low], t[high] - t[y]]
    if horizontal:
        ax.barh(pos, t[y], xerr=err, color=color, capsize=3, error_kw={"lw": 1})
        ax.set_yticks(list(pos), [str(v) for v in t[x]])
        ax.invert_yaxis()
        ax.set_xlabel(label or y)
        if base:
            for i, row in t.iterrows():
                ax.annotate(
                    f"n={int(row[base]):,}",
                    (row[high], i),
                    xytext=(4, 0),
                    textcoords="offset points",
                    va="center",
                    fontsize=8,
                    color="0.35",
                )
    else:
        ax.bar(pos, t[y], yerr=err, color=color, capsize=3, error_kw={"lw": 1})
        ax.set_xticks(list(pos), [str(v) for v in t[x]], rotation=30, ha="right")
        ax.set_ylabel(label or y)
        if base:
            for i, row in t.iterrows():
                ax.annotate(
                    f"n={int(row[base]):,}",
                    (i, row[high]),
                    xytext=(0, 3),
                    textcoords="offset points",
                    ha="center",
                    fontsize=8,
                    color="0.35",
                )
    return ax


def kpi_trend(
    table: pd.DataFrame,
    *,
    x: str = "wave",
    y: str = "estimate",
    hue: str | None = None,
    low: str = "ci_low",
    high: str = "ci_high",
    order: list[str] | None = None,
    label: str | None = None,
    ax=None,
):
    """A KPI over waves: one line per ``hue`` group with a shaded confidence band.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _ax(ax)
    groups = [(None, table)] if hue is None else list(table.groupby(hue, sort=False, observed=True))
    for k, (name, g) in enumerate(groups):
        if order is not None:
            g = g.set_index(x).reindex([o for o in order if o in set(g[x])]).reset_index()
        xs = [str(v) for v in g[x]]
        colour = PALETTE[k % len(PALETTE)]
        ax.plot(xs, g[y], marker="o", color=colour, label=None if name is None else str(name))
        ax.fill_between(xs, g[low], g[high], color=colour, alpha=0.15, lw=0)
    ax.set_ylabel(label or y)
    ax.set_xlabel("")
    if hue is not None:
        ax.legend(frameon=False, fontsize=8, loc="best")
    return ax
