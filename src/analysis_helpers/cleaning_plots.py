"""Charts of the cleaning step: the funnel per wave.

Plot functions take the tidy output of :mod:`analysis_helpers.cleaning`, draw on
``ax=None`` and return the Axes.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from .cleaning import funnel_long
from .plots import PALETTE

__all__ = ["plot_funnel"]


def plot_funnel(
    funnel: pd.DataFrame,
    *,
    wave_labels: dict[str, str] | None = None,
    ax=None,
):
    """Plot the cleaning funnel: share of rows read left after each rule, one line per wave.

    Parameters
    ----------
    funnel : DataFrame
        :attr:`analysis_helpers.cleaning.CleaningResult.funnel`.
    wave_labels : dict, optional
        Wave -> label for the legend.
    ax : matplotlib Axes, optional

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
            label=f"{labels.get(str(wave), wave)} (read {n_read:,})",
        )
    ax.set_xticks(range(len(steps)), [s.replace("_", " ") for s in steps], rotation=30, ha="right")
    ax.set_ylabel("rows remaining, % of rows read")
    ax.set_title("Cleaning funnel per wave")
    ax.legend(fontsize="small", frameon=False)
    return ax
