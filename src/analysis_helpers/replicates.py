"""Replicate-weight designs: given replicate columns, or made from a design (``as_replicate``).

:class:`ReplicateDesign` (from the design kernel) takes the full-sample weight and the
replicate analysis weights with their ``scale`` / ``rscales`` / ``mse`` (R ``svrepdesign``);
every estimator accepts it where it accepts a :class:`~analysis_helpers.estimation.SurveyDesign`.
:func:`as_replicate` builds jackknife replicates from a one-stage design, as R
``as.svrepdesign(type="JK1")`` / ``type="JKn"`` does.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._checks import check_frame
from ._design import ReplicateDesign, SurveyDesign

__all__ = ["ReplicateDesign", "as_replicate"]


def as_replicate(
    data: pd.DataFrame, design: SurveyDesign, *, type: str = "JK1", prefix: str = "rep"
) -> tuple[pd.DataFrame, ReplicateDesign]:
    """Return ``data`` with jackknife replicate weights and their :class:`ReplicateDesign`.

    Parameters
    ----------
    data : DataFrame
        One row per respondent.
    design : SurveyDesign
        A one-stage design (weight, strata, cluster, fpc).
    type : {"JK1", "JKn"}
        ``"JK1"`` (unstratified): replicate ``r`` drops PSU ``r`` and multiplies the other
        weights by ``n / (n - 1)``; ``scale = (1 - f) (n - 1) / n``. ``"JKn"``: within each
        stratum, ``rscales = (1 - f_h) (n_h - 1) / n_h``, ``scale = 1``.
    prefix : str
        Name stem of the new columns (``rep1``, ``rep2``, ...).

    Returns
    -------
    (DataFrame, ReplicateDesign)
        A copy of ``data`` with the replicate columns added, and the design.

    Raises
    ------
    ValueError
        An unknown type, a multi-stage design, JK1 on a stratified design, or a stratum
        with one PSU under JKn.

    References
    ----------
    Wolter, K. M. (2007). *Introduction to Variance Estimation*, 2nd ed. Springer, ch. 4;
    R ``survey::as.svrepdesign``, ``jk1weights``, ``jknweights``.
    """
    func = "as_replicate"
    check_frame(data, func)
    if type not in ("JK1", "JKn"):
        raise ValueError(f"{func}: type {type!r}: use 'JK1' or 'JKn'")
    if len(design.clusters) > 1:
        raise ValueError(f"{func}: multi-stage designs are not supported; use the first stage")
    if type == "JK1" and design.strata is not None:
        raise ValueError(f"{func}: JK1 ignores strata; use type='JKn' for a stratified design")
    prep = design.prepare(data, func=func)
    unit = prep.psu if prep.psu is not None else np.arange(prep.n)
    unit_stratum = prep.psu_stratum if prep.psu_stratum is not None else prep.stratum
    nh = prep.n_psu[unit_stratum]  # PSUs in each unit's stratum
    if type == "JKn" and (prep.n_psu < 2).any():
        raise ValueError(f"{func}: JKn needs at least 2 PSUs in every stratum")
    P = len(unit_stratum)
    row_stratum = prep.stratum
    cols = {}
    for r in range(P):
        h = unit_stratum[r]
        in_h = row_stratum == h
        mult = np.where(in_h, nh[r] / (nh[r] - 1.0), 1.0)
        mult[unit == r] = 0.0
        cols[f"{prefix}{r + 1}"] = prep.w * mult
    out = pd.concat([data, pd.DataFrame(cols, index=data.index)], axis=1)
    f = prep.f[unit_stratum]
    if type == "JK1":
        rep = ReplicateDesign(
            weight=design.weight, replicates=tuple(cols), type="JK1",
            scale=float((1 - prep.f[0]) * (P - 1) / P),
        )  # fmt: skip
    else:
        rep = ReplicateDesign(
            weight=design.weight, replicates=tuple(cols), type="JKn", scale=1.0,
            rscales=tuple(((1 - f) * (nh - 1) / nh).tolist()), df=P - prep.n_strata,
        )  # fmt: skip
    return out, rep
