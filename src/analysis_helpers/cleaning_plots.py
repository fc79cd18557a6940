"""Charts of the cleaning step: the funnel per wave.

Plot functions take the tidy output of :mod:`analysis_helpers.cleaning`, draw on
``ax=None`` and return the Axes.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from .cleaning import funnel_long, rule_labels
from .plots import PALETTE
from .text import template

__all__ = ["plot_funnel"]


def plot_funnel(
    funnel: pd.DataFrame,
    *,
    wave_labels: dict[str, str] | None = None,
    ax=None,
    language: str = "en",
):
    """Plot the cleaning funnel: share of rows read left after each rule, one line per wave.

    Parameters
    ----------
    funnel : DataFrame
        :attr:`analysis_helpers.cleaning.CleaningResult.funnel`.
    wave_labels : dict, optional
        Wave -> label for the legend.
    ax : matplotlib Axes, optional
    language : str
        The language of the title, the axis and the steps (``"en"`` or ``"zh"``).

    Returns
    -------
    matplotlib Axes
    """
    long = funnel_long(funnel)
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 4.2))
    steps = list(dict.fromkeys(long["step"]))
    labels = wave_labels or {}
    for k, (wave, part) in enumerate(long.groupby("wave", sort=False)):
        n_read = int(part["rows"].iloc[0])
        ax.plot(
            part["step_no"],
            100 * part["share"],
            marker="o",
            color=PALETTE[k % len(PALETTE)],
            label=template("clean.funnel_wave", language).format(
                wave=labels.get(str(wave), wave), n=f"{n_read:,}"
            ),
        )
    shown = [s.replace("_", " ") for s in steps]  # English keeps the steps' own names
    if language != "en":
        names = {
            "read": template("clean.col_read", language),
            "analysed": template("clean.col_analysed", language),
            **rule_labels(language),
        }
        shown = [names.get(s, t) for s, t in zip(steps, shown, strict=True)]
    ax.set_xticks(range(len(steps)), shown, rotation=30, ha="right")
    ax.set_ylabel(template("clean.funnel_axis", language))
    ax.set_title(template("clean.funnel_title", language))
    ax.legend(fontsize="small", frameon=False)
    return ax
