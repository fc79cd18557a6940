"""The design kernel (private): a validated survey design in integer codes.

It computes domain sums and influence-value variances.

Every design-based estimator of the package (:mod:`~analysis_helpers.estimation`,
:mod:`~analysis_helpers.kpis` and the modules built on them) is written on this interface;
nothing outside this module needs its internals.

Offered here:

* :class:`SurveyDesign` - the design as column names (weight, strata, cluster, fpc,
  lonely-PSU rule); re-exported by :mod:`analysis_helpers.estimation`, where users
  import it.
* :class:`PreparedDesign` - the design validated against the data (:meth:`SurveyDesign.prepare`):
  weights ``w``, stratum and PSU codes, PSUs per stratum, sampling fractions;
  ``degf`` (design degrees of freedom, PSUs minus strata) and :meth:`PreparedDesign.vcov`
  (the design covariance of the totals of several influence-value columns).
* :class:`Groups` - integer codes of the estimation domains (``by`` groups) with
  ``sums`` (per-domain sums), ``expand`` (a per-domain value back on the rows),
  ``var`` (the design variance of per-domain totals of influence values: the
  with-replacement, ultimate-cluster variance of R ``survey::svyrecvar``) and ``degf``
  (per-domain degrees of freedom among given rows).
* :func:`setup` - validate ``data``, ``design``, ``by`` and the analysed columns and
  return ``(PreparedDesign, Groups)``: the first line of every estimator.
* :func:`mean_parts` - domain means of a variable with their influence values and
  linearised variances (``svymean`` / ``svyby``), the building block of means, shares,
  NPS, CSI and gaps.
* :func:`base_columns` - the ``n``, ``n_weighted``, ``n_effective`` (Kish) columns.
* :func:`srs_factor` - the finite-population factor of the simple-random-sampling
  variance in a design effect.
* :func:`normal_quantile`, :func:`t_quantile`, :func:`logit_ci` - interval helpers.
* :func:`category_values` - the categories of a column in their order.
* :func:`finish` - per-domain result rows as a tidy frame, the ``by`` columns first.

The variance formula and the conventions (missing values are a domain, lonely PSUs, fpc,
degrees of freedom) are described in :mod:`analysis_helpers.estimation`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ._checks import as_names, check_columns, check_frame, numeric_values, show, weight_values

__all__ = [
    "SurveyDesign",
    "PreparedDesign",
    "Stage",
    "Replicates",
    "ReplicateDesign",
    "Calibration",
    "PreparedCalibration",
    "Groups",
    "setup",
    "mean_parts",
    "rep_mean_sums",
    "base_columns",
    "srs_factor",
    "normal_quantile",
    "t_quantile",
    "logit_ci",
    "category_values",
    "finish",
]

_LONELY = ("fail", "adjust", "remove", "average")


def _names(value: str | Sequence[str] | None, role: str) -> tuple[str, ...]:
    """Return a design role's column names as a tuple (a single name or a list of stages)."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    names = tuple(value)
    if not names or not all(isinstance(v, str) for v in names):
        raise TypeError(f"SurveyDesign: {role} must be a column name or a list of column names")
    return names


@dataclass(frozen=True)
class SurveyDesign:
    """The sampling design, as column names of the analysis data.

    Parameters
    ----------
    weight : str, optional
        Sampling weights (finite, > 0). None: every respondent weighs 1.
    strata : str, optional
        Stratum of each respondent.
    cluster : str or sequence of str, optional
        Primary sampling unit (PSU), nested within strata. None: each respondent is a PSU.
        A list gives the clusters of each stage of a multi-stage sample, outermost first
        (``[district, school]``, R ``id=~district+school``); each stage is nested in the
        previous one.
    fpc : str or sequence of str, optional
        Finite population correction as in R ``survey``: the population number of PSUs
        in the stratum (> 1), or the sampling fraction (<= 1). Constant within a stratum.
        A list gives one per stage (``[fpc1, fpc2]``, R ``fpc=~fpc1+fpc2``): stage ``s``
        counts the stage-``s`` units in the stage-``s-1`` unit; stages without an fpc are
        sampled with replacement. Without ``weight`` the weights are derived from the fpc
        (the product over stages of population over sample size), as R does.
    lonely_psu : {"fail", "adjust", "remove", "average"}
        What to do with a stratum that has a single PSU (see the module notes).
    calibration : Calibration, optional
        How ``weight`` was raked or calibrated: SEs then use the calibration residuals
        (R's variance after ``rake()`` / ``calibrate()``). None: the weights are fixed.
    """

    weight: str | None = None
    strata: str | None = None
    cluster: str | Sequence[str] | None = None
    fpc: str | Sequence[str] | None = None
    lonely_psu: str = "fail"
    calibration: Calibration | None = None

    def __post_init__(self) -> None:
        """Store list-valued cluster and fpc as tuples (one column: a plain name)."""
        for role in ("cluster", "fpc"):
            names = _names(getattr(self, role), role)
            if len(names) > 1:
                object.__setattr__(self, role, names)
            elif names:
                object.__setattr__(self, role, names[0])

    @property
    def clusters(self) -> tuple[str, ...]:
        """Return the cluster column of each stage (empty without clusters)."""
        return _names(self.cluster, "cluster")

    @property
    def fpcs(self) -> tuple[str, ...]:
        """Return the fpc column of each stage (empty without fpc)."""
        return _names(self.fpc, "fpc")

    def roles(self) -> dict[str, str]:
        """Return the design roles that are set, mapped to their column names.

        Later stages are ``cluster2``, ``fpc2`` and so on.
        """
        out = {}
        if self.weight is not None:
            out["weight"] = self.weight
        if self.strata is not None:
            out["strata"] = self.strata
        for role, names in (("cluster", self.clusters), ("fpc", self.fpcs)):
            for k, col in enumerate(names):
                out[role if k == 0 else f"{role}{k + 1}"] = col
        return out

    def validate(self, data: pd.DataFrame, *, func: str = "SurveyDesign.validate") -> None:
        """Check the design columns of ``data``; raise on the first problem.

        Raises
        ------
        KeyError
            A design column is not in ``data``.
        ValueError
            Naming the column, the row index and the bad value: a weight that is
            missing, not finite or <= 0; a missing stratum or cluster; an fpc that is
            missing, <= 0, mixes population sizes and fractions, varies within a stratum
            or implies more than 100% sampling; a lonely PSU with ``lonely_psu="fail"``.
        """
        self.prepare(data, func=func)

    def prepare(self, data: pd.DataFrame, *, func: str = "SurveyDesign.prepare") -> PreparedDesign:
        """Validate the design against ``data`` and return its integer-coded form.

        ``func`` names the public function in error messages.
        """
        return PreparedDesign.from_data(data, self, func=func)


def _prepared_calibration(
    data: pd.DataFrame, calibration: Calibration | None, w: np.ndarray, func: str
) -> PreparedCalibration | None:
    """Return the design's calibration for ``data`` (None: the weights are fixed).

    Raises
    ------
    TypeError
        ``calibration`` is not a :class:`Calibration`.
    KeyError, ValueError
        As :meth:`Calibration.prepare`, unless ``if_missing="fixed"``.
    """
    if calibration is None:
        return None
    if not isinstance(calibration, Calibration):
        raise TypeError(f"{func}: calibration must be a Calibration")
    try:
        return calibration.prepare(data, w, func=func)
    except (KeyError, ValueError):
        if calibration.if_missing != "fixed":
            raise
    return None


def _bad_row(data: pd.DataFrame, mask: np.ndarray) -> object:
    return data.index[int(np.flatnonzero(mask)[0])]


@dataclass(frozen=True, eq=False)
class Stage:
    """A later stage (2, 3, ...) of a multi-stage design in integer codes (internal).

    Attributes
    ----------
    unit : ndarray
        Code of each row's unit at this stage, 0..U-1.
    parent : ndarray
        Code of each unit's parent: its unit at the previous stage.
    n : ndarray
        Number of sampled units per parent.
    c : ndarray
        Variance factor per parent: ``(1 - f) n / (n - 1)`` times the sampling fractions of
        the earlier stages (R ``multistage``); 0 for a parent with one unit (``remove``,
        ``adjust``) or all its units sampled.
    """

    unit: np.ndarray
    parent: np.ndarray
    n: np.ndarray
    c: np.ndarray


@dataclass(frozen=True, eq=False)
class Replicates:
    """Replicate analysis weights of a replicate-weight design (internal).

    The variance of a statistic is ``scale * sum_r rscales_r (theta_r - c)^2`` with ``c``
    the full-sample estimate (``mse=True``) or the mean of the replicates (R ``svrVar``).
    """

    weights: np.ndarray  # n x R analysis weights
    scale: float
    rscales: np.ndarray
    mse: bool
    df: int

    def spread(self, full: np.ndarray, reps: np.ndarray) -> np.ndarray:
        """Return the replicate variance of estimates ``full`` (k) from ``reps`` (k x R)."""
        c = full[:, None] if self.mse else reps.mean(axis=1, keepdims=True)
        return self.scale * ((reps - c) ** 2 * self.rscales).sum(axis=1)

    def cov(self, full: np.ndarray, reps: np.ndarray) -> np.ndarray:
        """Return the replicate covariance (k x k) of estimates ``full`` (k) from ``reps`` (k x R)."""
        c = full[:, None] if self.mse else reps.mean(axis=1, keepdims=True)
        d = reps - c
        return self.scale * (d * self.rscales) @ d.T

    def estimates(self, stat: Any, full: np.ndarray) -> np.ndarray:
        """Return ``stat(weights)`` for every replicate weight column, stacked as k x R.

        ``stat`` maps an n-vector of weights to the k estimates (the exact refit of R
        ``svrepdesign``: the statistic is recomputed with each replicate weight).
        """
        out = np.empty((len(full), self.weights.shape[1]))
        for r in range(self.weights.shape[1]):
            out[:, r] = stat(self.weights[:, r])
        return out


@dataclass(frozen=True, eq=False)
class PreparedDesign:
    """A validated design in integer codes (internal; built by :meth:`SurveyDesign.prepare`).

    Attributes
    ----------
    n : int
        Number of rows.
    w : ndarray
        Weights.
    stratum : ndarray
        Stratum code of each row, 0..H-1.
    psu : ndarray or None
        PSU code of each row, 0..P-1 (None: each row is its own PSU).
    psu_stratum : ndarray or None
        Stratum code of each PSU.
    n_psu : ndarray
        Number of PSUs per stratum.
    f : ndarray
        Sampling fraction per stratum (0 without fpc).
    lonely : ndarray
        Strata with one PSU (not sampled in full).
    lonely_psu : str
        Lonely-PSU rule.
    stages : tuple of Stage
        The later stages of a multi-stage design with an fpc (empty otherwise: the
        with-replacement, ultimate-cluster variance of the first stage).
    """

    n: int
    w: np.ndarray
    stratum: np.ndarray
    psu: np.ndarray | None
    psu_stratum: np.ndarray | None
    n_psu: np.ndarray
    f: np.ndarray
    lonely: np.ndarray
    lonely_psu: str
    stages: tuple[Stage, ...] = ()
    rep: Replicates | None = None
    cal: PreparedCalibration | None = None

    @property
    def n_strata(self) -> int:
        return len(self.n_psu)

    @property
    def n_psus(self) -> int:
        return int(self.n_psu.sum())

    @property
    def degf(self) -> int:
        """Design degrees of freedom: PSUs minus strata (R ``degf``; replicates: rank - 1)."""
        if self.rep is not None:
            return self.rep.df
        return self.n_psus - self.n_strata

    @property
    def scale(self) -> np.ndarray:
        """Per-stratum variance factor ``(1 - f_h) n_h / (n_h - 1)`` (``1 - f_h`` if lonely)."""
        nh = self.n_psu.astype(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            c = np.where(nh > 1, (1 - self.f) * nh / (nh - 1), 1 - self.f)
        return c

    @property
    def average_factor(self) -> float:
        """Return the first-stage factor of ``lonely_psu="average"``: strata over strata kept.

        1 for the other rules; NaN when every stratum is lonely.
        """
        if self.lonely_psu != "average" or not self.lonely.any():
            return 1.0
        kept = self.n_strata - int(self.lonely.sum())
        return self.n_strata / kept if kept else float("nan")

    @classmethod
    def from_data(
        cls, data: pd.DataFrame, design: SurveyDesign, *, func: str = "SurveyDesign.prepare"
    ) -> PreparedDesign:
        """Validate ``design`` against ``data`` (see :meth:`SurveyDesign.validate`)."""
        check_frame(data, func)
        if design.lonely_psu not in _LONELY:
            raise ValueError(
                f"{func}: lonely_psu {design.lonely_psu!r}: use one of {list(_LONELY)}"
            )
        for role, col in design.roles().items():
            if col not in data.columns:
                raise KeyError(f"{func}: design column {col!r} ({role}) is not in the data")
        n = len(data)
        if n == 0:
            raise ValueError(f"{func}: data has no rows")
        clusters, fpcs = design.clusters, design.fpcs
        if len(fpcs) > max(len(clusters), 1):
            raise ValueError(
                f"{func}: {len(fpcs)} fpc columns {list(fpcs)} but "
                f"{max(len(clusters), 1)} sampling stage(s); give a cluster column for every "
                "stage with an fpc (the last one may be the respondent id)"
            )
        stratum, strata_values = _strata(data, design, func)
        H = len(strata_values)
        psu, psu_stratum, n_psu = _clusters(
            data, clusters[0] if clusters else None, stratum, H, func
        )
        f: np.ndarray = np.zeros(H)
        if fpcs:

            def label(h: int) -> str:
                return f"stratum {show(strata_values[h])}"

            f = _sampling_fractions(
                data, fpcs[0], stratum, label, n_psu, "PSUs", func, _fpc_sizes(data, fpcs)
            )
        lonely = (n_psu == 1) & (f < 1 - 1e-7)
        if lonely.any() and design.lonely_psu == "fail":
            h = int(np.flatnonzero(lonely)[0])
            where = (
                f"stratum {show(strata_values[h])} of column {design.strata!r} has only one PSU"
                if design.strata is not None
                else "the data have only one PSU"
            )
            raise ValueError(
                f"{func}: {where} (a wave or segment of one respondent?), so its variance "
                "cannot be estimated; set data.design.lonely_psu in the study file to 'adjust', "
                "'remove' or 'average' (in code: SurveyDesign(lonely_psu='adjust')), or merge "
                "strata"
            )
        if design.weight is None and fpcs and len(fpcs) < max(len(clusters), 1):
            raise ValueError(
                f"{func}: no weight column, and the weights cannot be derived from the fpc: "
                f"{max(len(clusters), 1)} sampling stages but {len(fpcs)} fpc column(s) "
                f"{list(fpcs)}; give data.design.weight or an fpc for every stage"
            )
        stages: tuple[Stage, ...] = ()
        fractions = [f[stratum]]
        if len(clusters) > 1 and psu is not None and psu_stratum is not None:
            stages, later = _later_stages(data, design, psu, f[psu_stratum], func)
            fractions += later
        if design.weight is not None:
            w = weight_values(data, design.weight, func)
        elif fpcs:  # R: weights = product over stages of population / sample size
            w = 1.0 / np.prod(np.column_stack(fractions), axis=1)
        else:
            w = np.ones(n)
        cal = _prepared_calibration(data, design.calibration, w, func)
        return cls(
            n=n,
            w=w,
            stratum=stratum,
            psu=psu,
            psu_stratum=psu_stratum,
            n_psu=n_psu,
            f=np.asarray(f, dtype=float),
            lonely=lonely,
            lonely_psu=design.lonely_psu,
            stages=stages if fpcs else (),
            cal=cal,
        )

    # ----------------------------------------------------------------------------------
    def vcov(self, z: np.ndarray) -> np.ndarray:
        """Return the design covariance matrix of the totals of the columns of ``z`` (n x k)."""
        z = np.asarray(z, dtype=float)
        if z.ndim == 1:
            z = z[:, None]
        if self.cal is not None and self.rep is None:  # calibration residuals
            z = self.cal.project(z)
        if self.rep is not None:  # linearised: replicate totals of the influence values
            d = self.rep.weights.T @ (z / self.w[:, None])
            d = d - (z.sum(axis=0) if self.rep.mse else d.mean(axis=0))
            return self.rep.scale * (d * self.rep.rscales[:, None]).T @ d
        H = self.n_strata
        if self.psu is not None and self.psu_stratum is not None:
            P = len(self.psu_stratum)
            t = _rowsum(self.psu, z, P)
            ts = self.psu_stratum
        else:
            t, ts = z, self.stratum
        T = _rowsum(ts, t, H)
        c = self.scale
        ok = ~self.lonely
        cw = np.where(ok, c, 0.0)[ts]
        v = (t * cw[:, None]).T @ t
        v -= (T[ok] * (c[ok] / self.n_psu[ok])[:, None]).T @ T[ok]
        if self.lonely.any() and self.lonely_psu == "adjust":
            d = T[self.lonely] - T.sum(axis=0) / self.n_psus
            v += (d * c[self.lonely][:, None]).T @ d
        v *= self.average_factor
        for st in self.stages:
            tu = _rowsum(st.unit, z, len(st.parent))
            Tp = _rowsum(st.parent, tu, len(st.n))
            v += (tu * st.c[st.parent][:, None]).T @ tu
            v -= (Tp * (st.c / st.n)[:, None]).T @ Tp
        return v

    def calibration_correction(
        self, codes: np.ndarray, m: int, v: np.ndarray, *, keep: bool = True
    ) -> np.ndarray:
        """Return what the calibration adds to the fixed-weight covariance of group totals.

        For engines that compute the fixed-weight covariance of domain totals from sums
        (the banners): the totals are ``sum_{i: codes_i = g} v_ij`` for the groups
        ``g = 0..m-1`` and the columns ``j`` of ``v`` (n x q), ordered ``j * m + g``; the
        result (qm x qm) is ``V(e) - V(z)`` with ``e`` the calibration residuals. Zero
        without a calibration (or with replicates). ``keep=False`` for a transient
        ``codes`` array (see :meth:`PreparedCalibration.group_xt`).
        """
        v = np.asarray(v, dtype=float)
        q = v.shape[1]
        cal = self.cal
        if cal is None or self.rep is not None:
            return np.zeros((q * m, q * m))
        lonely_rule = self.lonely.any() and self.lonely_psu in ("adjust", "average")
        if self.psu is not None or self.stages or lonely_rule:
            z = np.zeros((self.n, q * m))
            rows = np.flatnonzero((codes >= 0) & (codes < m))
            for j in range(q):
                z[rows, j * m + codes[rows]] = v[rows, j]
            return self.vcov(z) - dataclasses.replace(self, cal=None).vcov(z)
        ux, cww, Bc, VQ = cal.strata_parts(self)
        H = self.n_strata
        inside = (codes >= 0) & (codes < m)
        cell = codes if inside.all() else np.where(inside, codes, m)  # kept: cached by id
        S = np.vstack([cal.group_xt(cell, m, v[:, j] * ux, keep=keep) for j in range(q)])
        T = [
            np.bincount(cell * H + self.stratum, weights=v[:, j], minlength=(m + 1) * H)[
                : m * H
            ].reshape(m, H)
            for j in range(q)
        ]
        VzQ = np.vstack(
            [cal.group_xt(cell, m, v[:, j] * cww, keep=keep) - T[j] @ Bc for j in range(q)]
        )
        A = cal.coef(S.T)
        return -VzQ @ A - A.T @ VzQ.T + A.T @ VQ @ A

    def calibration_correction_rows(self, rows: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Return :meth:`calibration_correction` of the overall totals of ``v`` on ``rows``.

        The influence values are ``v`` (len(rows) x q) on the rows ``rows`` and 0 on every
        other row; the result (q x q) equals ``calibration_correction(zeros, 1, full)`` with
        ``full`` the n x q spread of ``v``, but one-stage designs sum over ``rows`` only (a
        trend comparing two of many waves touches a fraction of the rows).
        """
        v = np.asarray(v, dtype=float)
        q = v.shape[1]
        cal = self.cal
        if cal is None or self.rep is not None:
            return np.zeros((q, q))
        lonely_rule = self.lonely.any() and self.lonely_psu in ("adjust", "average")
        if self.psu is not None or self.stages or lonely_rule:
            full = np.zeros((self.n, q))
            full[rows] = v
            return self.calibration_correction(np.zeros(self.n, dtype=np.int64), 1, full)
        ux, cww, Bc, VQ = cal.strata_parts(self)
        S = cal.xt_rows(rows, v * ux[rows, None])  # K x q
        T = _rowsum(self.stratum[rows], v, self.n_strata)  # H x q
        VzQ = (cal.xt_rows(rows, v * cww[rows, None]) - Bc.T @ T).T  # q x K
        A = cal.coef(S)
        return -VzQ @ A - A.T @ VzQ.T + A.T @ VQ @ A


_REP_TYPES = ("JK1", "JKn", "BRR", "Fay", "bootstrap", "subbootstrap", "SDR", "other")


@dataclass(frozen=True)
class ReplicateDesign(SurveyDesign):
    """A replicate-weight design: full-sample weight and replicate analysis weights.

    As R ``svrepdesign(weights=, repweights=, type=, scale=, rscales=, mse=,
    combined.weights=TRUE)``: the variance of a statistic is
    ``scale * sum_r rscales_r (theta_r - c)^2`` over the estimates ``theta_r`` with each
    replicate weight, ``c`` the full-sample estimate (``mse=True``) or the replicates' mean.
    Every estimate is recomputed with each replicate weight (exact, as R): means, shares,
    totals, ratios, quantile intervals (the replicate SE of the CDF at the quantile), domain
    differences, regression coefficients and the cell shares of the chi-square test. The
    few statistics without a refit (the covariance of influence values used by some
    report tables) use the replicate totals of their influence values (linearised).

    Parameters
    ----------
    weight : str
        Full-sample weight.
    replicates : sequence of str
        Replicate weight columns (finite, >= 0).
    type : {"JK1", "JKn", "BRR", "Fay", "bootstrap", "subbootstrap", "SDR", "other"}
        Kind of replicates (documents ``scale``; no default scale is guessed).
    scale : float
        Overall factor, e.g. JK1 ``(R - 1) / R``, BRR ``1 / R``, Fay ``1 / (R (1 - rho)^2)``,
        bootstrap ``1 / (R - 1)``, SDR ``4 / R``.
    rscales : sequence of float, optional
        Per-replicate factors (JKn: ``(n_h - 1) / n_h``); default 1.
    mse : bool
        Centre at the full-sample estimate (True) or at the mean of the replicates.
    df : int, optional
        Degrees of freedom; default the number of replicates minus 1 (R: rank - 1).
    calibration : Calibration, optional
        How ``weight`` was raked or calibrated: every replicate weight is then calibrated
        again to the same totals (:func:`recalibrate_replicates`, as R's ``rake()`` /
        ``calibrate()`` on an ``svrepdesign``), so the replicate SEs reflect the
        calibration. Replicates that already carry it are left as they are.
    """

    replicates: tuple[str, ...] = ()
    type: str = "other"
    scale: float = 1.0
    rscales: tuple[float, ...] | None = None
    mse: bool = False
    df: int | None = None

    def __post_init__(self) -> None:
        """Check the replicate settings."""
        super().__post_init__()
        object.__setattr__(self, "replicates", _names(self.replicates, "replicates"))
        if self.type not in _REP_TYPES:
            raise ValueError(f"ReplicateDesign: type {self.type!r}: use one of {list(_REP_TYPES)}")
        if self.weight is None or not self.replicates:
            raise ValueError(
                "ReplicateDesign: give the full-sample weight and the replicate columns"
            )
        if self.strata or self.cluster or self.fpc:
            raise ValueError(
                "ReplicateDesign: the replicate weights carry the design; give no strata, "
                "cluster or fpc"
            )
        if not (np.isfinite(self.scale) and self.scale > 0):
            raise ValueError(f"ReplicateDesign: scale {self.scale!r} must be finite and > 0")
        if self.rscales is not None and len(self.rscales) != len(self.replicates):
            raise ValueError(
                f"ReplicateDesign: {len(self.rscales)} rscales for "
                f"{len(self.replicates)} replicate columns"
            )

    def roles(self) -> dict[str, str]:
        """Return the weight and the replicate columns (``replicate1``, ...)."""
        out = super().roles()
        for k, col in enumerate(self.replicates, start=1):
            out[f"replicate{k}"] = col
        return out

    def prepare(self, data: pd.DataFrame, *, func: str = "SurveyDesign.prepare") -> PreparedDesign:
        """Validate the weights and replicate columns and return the prepared design.

        Raises
        ------
        KeyError
            A column is not in ``data``.
        ValueError
            A weight is missing, not finite or <= 0; a replicate weight is missing, not
            finite or negative (naming the column, row and value).
        """
        base = PreparedDesign.from_data(data, SurveyDesign(weight=self.weight), func=func)
        for col in self.replicates:
            if col not in data.columns:
                raise KeyError(f"{func}: replicate weight column {col!r} is not in the data")
        block = data[list(self.replicates)]
        if all(pd.api.types.is_float_dtype(t) for t in block.dtypes):
            reps = block.to_numpy(dtype=float)  # one copy (column-major, as pandas holds it)
        else:
            reps = np.column_stack([_replicate_values(data, c, func) for c in self.replicates])
        bad = ~np.isfinite(reps) | (reps < 0)
        if bad.any():
            i, j = (int(k[0]) for k in np.nonzero(bad))
            raise ValueError(
                f"{func}: replicate weight column {self.replicates[j]!r} has the value "
                f"{show(reps[i, j])} in row {show(data.index[i])}; replicate weights must be "
                "finite and >= 0"
            )
        cal = _prepared_calibration(data, self.calibration, base.w, func)
        if cal is not None:  # raked / calibrated: every replicate weight calibrated again
            reps = recalibrate_replicates(cal, base.w, reps)
        R = reps.shape[1]
        rs = np.ones(R) if self.rscales is None else np.asarray(self.rscales, dtype=float)
        df = R - 1 if self.df is None else int(self.df)
        rep = Replicates(weights=reps, scale=float(self.scale), rscales=rs, mse=self.mse, df=df)
        return dataclasses.replace(base, rep=rep)


_REP_RAKE_SWEEPS = 1000
_REP_RAKE_TOL = 1e-13


def recalibrate_replicates(cal: PreparedCalibration, w: np.ndarray, reps: np.ndarray) -> np.ndarray:
    """Return the replicate weights calibrated to the totals of the calibrated weights ``w``.

    As R ``rake()`` / ``calibrate()`` on an ``svrepdesign``: each replicate weight column is
    calibrated, starting from itself, to the same population totals as the full-sample
    weight - here the totals of ``w`` (already calibrated) over the calibration variables -
    so the replicate variance reflects the calibration. ``"rake"``: iterative proportional
    fitting over the margins (each replicate column scaled within every category of one
    margin after the other) until every margin of every replicate matches to a relative
    ``1e-13`` (at most 1000 sweeps); categories a replicate leaves empty stay empty.
    ``"calibrate"``: linear (GREG) calibration of each replicate, ``w_r (1 + x' lambda_r)``
    (R ``calfun="linear"``; the other distances agree to first order). Replicate weights
    already calibrated to these totals are returned unchanged (up to rounding).

    Parameters
    ----------
    cal : PreparedCalibration
        The calibration (margins or model matrix), for the full-sample weights.
    w : ndarray
        The calibrated full-sample weights (they give the population totals).
    reps : ndarray
        The replicate weights, n x R.

    Returns
    -------
    ndarray
        The calibrated replicate weights, n x R (a new array).
    """
    from scipy import sparse

    out = np.array(reps, dtype=float, order="C")
    n = len(w)
    blocks = [
        sparse.csr_matrix((np.ones(n), (c, np.arange(n))), shape=(k, n))
        for c, k in zip(cal.codes, cal.sizes, strict=True)
    ]
    if cal.method == "rake" and not cal.numeric.shape[1]:
        targets = [b @ w for b in blocks]
        for _ in range(_REP_RAKE_SWEEPS):
            worst = 0.0
            for code, b, t in zip(cal.codes, blocks, targets, strict=True):
                cur = np.asarray(b @ out)  # categories x R
                with np.errstate(divide="ignore", invalid="ignore"):
                    f = np.where(cur > 0, t[:, None] / cur, 0.0)
                    gap = np.where(cur > 0, np.abs(cur / t[:, None] - 1.0), 0.0)
                worst = max(worst, float(gap.max(initial=0.0)))
                out *= f[code]
            if worst < _REP_RAKE_TOL:
                break
        return out
    X = np.column_stack(
        [np.asarray(b.T.todense()) for b in blocks] + [cal.numeric]
    )  # n x K (calibration variables)
    T = X.T @ w
    for r in range(out.shape[1]):
        wr = out[:, r]
        lam = np.linalg.pinv(X.T @ (X * wr[:, None])) @ (T - X.T @ wr)
        out[:, r] = wr * (1.0 + X @ lam)
    return out


# --------------------------------------------------------------------------------------
# Calibration (raking / calibrate): variance from the calibration residuals
# --------------------------------------------------------------------------------------
_CAL_METHODS = ("rake", "calibrate")
_RAKE_SWEEPS = 10  # R survey::svyrecvar: ten backfitting sweeps over the margins


@dataclass(frozen=True)
class Calibration:
    """How the design's weights were calibrated, so SEs use the calibration residuals.

    After raking or calibration the weights are not fixed: they depend on the sample
    through the margins they were fitted to. The linearised variance of an estimator then
    uses the residuals of its influence values from a regression on the calibration
    variables, within the design (Deville & Sarndal 1992; Lumley 2010, ch. 7), as R
    ``survey::svyrecvar`` does after ``rake()`` / ``calibrate()``. Every estimator gets
    this through the design: influence values are projected before the variance step.

    Parameters
    ----------
    columns : str or sequence of str
        ``method="rake"``: the margin columns (categorical, no missing values).
        ``method="calibrate"``: the calibration variables; numeric columns enter as they
        are, others as one indicator per category; an intercept is added when no column
        is categorical (R ``model.matrix``: the residuals depend only on the span).
    method : {"rake", "calibrate"}
        ``"rake"`` - weights from iterative proportional fitting (:func:`rake`, R
        ``rake()``): the residuals are R's ten backfitting sweeps that remove, margin by
        margin, the unweighted category mean of the influence values per unit of weight.
        ``"calibrate"`` - weights from ``calibrate()`` with any distance (linear, raking,
        logit, bounded): the residuals of the regression on the calibration variables
        weighted by the weights before calibration (``base_weight``).
    within : str, optional
        A column the calibration was done separately within (e.g. the wave, for
        ``weighting.by_wave``): every calibration variable is interacted with it.
    base_weight : str, optional
        ``method="calibrate"``: the design weights before calibration (the regression
        weights); default 1. Not used by ``"rake"``.
    if_missing : {"raise", "fixed"}
        Data without a calibration column, or with a missing value in one: raise
        (default), or treat the weights as fixed (``"fixed"``: what the study's design
        does for reduced tables that do not carry the margin columns).
    """

    columns: str | Sequence[str] = ()
    method: str = "rake"
    within: str | None = None
    base_weight: str | None = None
    if_missing: str = "raise"

    def __post_init__(self) -> None:
        """Store the columns as a tuple and check the method."""
        cols = _names(self.columns, "calibration columns")
        if not cols:
            raise ValueError("Calibration: give at least one calibration column")
        object.__setattr__(self, "columns", cols)
        if self.method not in _CAL_METHODS:
            raise ValueError(
                f"Calibration: method {self.method!r}: use one of {list(_CAL_METHODS)}"
            )
        if self.if_missing not in ("raise", "fixed"):
            raise ValueError(f"Calibration: if_missing {self.if_missing!r}: use 'raise' or 'fixed'")

    def prepare(
        self, data: pd.DataFrame, w: np.ndarray, *, func: str = "Calibration.prepare"
    ) -> PreparedCalibration:
        """Return the calibration in integer codes / a model matrix for the final weights ``w``.

        Raises
        ------
        KeyError
            A calibration column is not in ``data``.
        ValueError
            A calibration column has a missing value; ``method="rake"`` with a numeric
            column that is not a category code.
        """
        cols = [*self.columns, *([self.within] if self.within else [])]
        cols += [self.base_weight] if self.base_weight and self.method == "calibrate" else []
        for col in cols:
            if col not in data.columns:
                raise KeyError(f"{func}: calibration column {col!r} is not in the data")
        within = None
        if self.within is not None:
            within = _cal_codes(data, self.within, func)
        blocks: list[np.ndarray] = []
        numeric: list[np.ndarray] = []
        for col in self.columns:
            s = data[col]
            if self.method == "calibrate" and _is_numeric(s):
                x = numeric_values(data, col, "calibration variable", func)
                if np.isnan(x).any():
                    raise ValueError(
                        f"{func}: calibration column {col!r}: row "
                        f"{show(_bad_row(data, np.isnan(x)))} is missing"
                    )
                numeric.append(x)
            else:
                blocks.append(_cal_codes(data, col, func))
        if self.method == "calibrate" and not blocks:
            blocks.append(np.zeros(len(data), dtype=np.int64))  # the intercept
        if within is not None:
            nw = int(within.max()) + 1
            blocks = [_dense_codes(within * (int(b.max()) + 1) + b) for b in blocks]
            numeric = [x * (within == j) for x in numeric for j in range(nw)]
        d = np.ones(len(data))
        if self.method == "calibrate" and self.base_weight is not None:
            d = weight_values(data, self.base_weight, func)
        return PreparedCalibration.build(self.method, blocks, numeric, d, w)


def _dense_codes(key: np.ndarray) -> np.ndarray:
    """Return ``key`` (int >= 0) renumbered 0..m-1 over the values that occur, in order."""
    span = int(key.max()) + 1
    if span <= 50_000_000:
        seen = np.bincount(key, minlength=span) > 0
        return (np.cumsum(seen) - 1)[key].astype(np.int64)
    return np.unique(key, return_inverse=True)[1].astype(np.int64)


def _is_numeric(s: pd.Series) -> bool:
    return bool(pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s))


def _cal_codes(data: pd.DataFrame, col: str, func: str) -> np.ndarray:
    """Return the category codes of a calibration column.

    Raises
    ------
    ValueError
        The column has a missing value.
    """
    codes = pd.factorize(data[col], sort=True)[0].astype(np.int64)
    if (codes < 0).any():
        raise ValueError(
            f"{func}: calibration column {col!r}: row {show(_bad_row(data, codes < 0))} is missing"
        )
    return codes


@dataclass(eq=False)
class PreparedCalibration:
    """A calibration in integer codes (internal; :meth:`Calibration.prepare`).

    The calibration variables are indicator blocks (one per margin, given by codes) and
    optional numeric columns; ``K`` columns in all, in that order.

    Attributes
    ----------
    method : str
        ``"rake"`` or ``"calibrate"``.
    codes : list of ndarray
        Category code of each row per indicator block.
    sizes : list of int
        Categories per block.
    numeric : ndarray
        The numeric columns (n x q, q may be 0).
    d : ndarray
        Regression weights (the weights before calibration; 1 for ``"rake"``).
    w : ndarray
        The calibrated weights.
    gram : ndarray
        ``X'X`` (``"rake"``) or ``X'DX`` (``"calibrate"``), K x K.
    """

    method: str
    codes: list[np.ndarray]
    sizes: list[int]
    numeric: np.ndarray
    d: np.ndarray
    w: np.ndarray
    gram: np.ndarray
    cache: dict = dataclasses.field(default_factory=dict)

    @classmethod
    def build(
        cls,
        method: str,
        codes: list[np.ndarray],
        numeric: list[np.ndarray],
        d: np.ndarray,
        w: np.ndarray,
    ) -> PreparedCalibration:
        """Return the prepared calibration with its Gram matrix."""
        n = len(w)
        num = np.column_stack(numeric) if numeric else np.zeros((n, 0))
        sizes = [int(c.max()) + 1 for c in codes]
        out = cls(method, codes, sizes, num, d, w, np.zeros((0, 0)))
        out.gram = out.cross(np.ones(n) if method == "rake" else d)
        return out

    @property
    def K(self) -> int:
        return sum(self.sizes) + self.numeric.shape[1]

    @property
    def offsets(self) -> np.ndarray:
        return np.concatenate([[0], np.cumsum(self.sizes)]).astype(np.int64)

    def cross(self, s: np.ndarray) -> np.ndarray:
        """Return ``X' diag(s) X`` (K x K) from codes and numeric columns."""
        off, K = self.offsets, self.K
        out = np.zeros((K, K))
        if len(self.codes) > 1 and not self.numeric.shape[1]:  # one pass over the cells
            joint, ind = self._joint()
            per_cell = np.bincount(joint, weights=s, minlength=len(ind))
            return (ind * per_cell[:, None]).T @ ind
        for a, ca in enumerate(self.codes):
            for b, cb in enumerate(self.codes):
                ka, kb = self.sizes[a], self.sizes[b]
                out[off[a] : off[a + 1], off[b] : off[b + 1]] = np.bincount(
                    ca * kb + cb, weights=s, minlength=ka * kb
                ).reshape(ka, kb)
        if self.numeric.shape[1]:
            q0 = off[-1]
            sx = self.numeric * s[:, None]
            out[q0:, q0:] = self.numeric.T @ sx
            for a, ca in enumerate(self.codes):
                block = _rowsum(ca, sx, self.sizes[a])
                out[off[a] : off[a + 1], q0:] = block
                out[q0:, off[a] : off[a + 1]] = block.T
        return out

    def _joint(self) -> tuple[np.ndarray, np.ndarray]:
        """Return each row's cell of all indicator blocks together and the cells' indicators.

        The cells observed (J of them) and a J x (indicator columns) 0/1 matrix: sums per
        (group, cell) then give every block's sums at once (one pass over the rows).
        """
        if "joint" not in self.cache:
            joint, span = np.zeros(len(self.w), dtype=np.int64), 1
            for c, k in zip(self.codes, self.sizes, strict=True):
                key, span = joint * k + c, span * k
                if span <= 50_000_000:
                    seen = np.bincount(key, minlength=span) > 0
                    joint = (np.cumsum(seen) - 1)[key]
                    span = int(seen.sum())
                else:
                    uniq, joint = np.unique(key, return_inverse=True)
                    span = len(uniq)
            first = np.full(span, -1, dtype=np.int64)
            first[joint[::-1]] = np.arange(len(joint))[::-1]  # a row of each cell
            ind = np.zeros((span, sum(self.sizes)))
            for c, off in zip(self.codes, self.offsets[:-1], strict=False):
                ind[np.arange(span), off + c[first]] = 1.0
            self.cache["joint"] = (joint, ind)
        return self.cache["joint"]

    def _cells_to_columns(self, s: np.ndarray) -> np.ndarray:
        """Return ``s @ ind`` (m x indicator columns) for sums ``s`` (m x cells) per joint cell.

        Each cell adds to one column per block: a scatter-add, not a dense product (small
        products in BLAS threads stall when the cores are busy).
        """
        _, ind = self._joint()
        if "joint_cols" not in self.cache:
            self.cache["joint_cols"] = np.nonzero(ind)[1].reshape(len(ind), len(self.codes))
        cols = self.cache["joint_cols"]
        m, k = s.shape[0], ind.shape[1]
        idx = np.arange(m)[:, None, None] * k + cols[None, :, :]
        vals = np.broadcast_to(s[:, :, None], idx.shape)
        return np.bincount(idx.ravel(), weights=vals.ravel(), minlength=m * k).reshape(m, k)

    def group_xt(
        self, codes: np.ndarray, m: int, v: np.ndarray, *, keep: bool = True
    ) -> np.ndarray:
        """Return ``sum_i v_i x_i`` per code 0..m-1 (codes may hold m: ignored), m x K.

        ``keep``: cache the (code, cell) key of the rows for the next call with the same
        ``codes`` array (False for a transient array).
        """
        parts = []
        if len(self.codes) > 1:
            joint, ind = self._joint()
            J = len(ind)
            if (m + 1) * J <= 20_000_000:
                key = ("cells", id(codes), m)
                if not keep:
                    cells = codes * J + joint
                else:
                    if key not in self.cache:  # the codes array is kept: its id stays its own
                        self.cache[key] = (codes, codes * J + joint)
                    cells = self.cache[key][1]
                s = np.bincount(cells, weights=v, minlength=(m + 1) * J)[: m * J]
                parts.append(self._cells_to_columns(s.reshape(m, J)))
        if not parts:
            parts = [
                np.bincount(codes * k + c, weights=v, minlength=(m + 1) * k)[: m * k].reshape(m, k)
                for c, k in zip(self.codes, self.sizes, strict=True)
            ]
        if self.numeric.shape[1]:
            parts.append(_rowsum(codes, self.numeric * v[:, None], m + 1)[:m])
        return np.concatenate(parts, axis=1)

    def xt(self, v: np.ndarray) -> np.ndarray:
        """Return ``X' V`` (K x k) for ``V`` n x k."""
        return self.xt_rows(None, v)

    def xt_rows(self, rows: np.ndarray | None, v: np.ndarray) -> np.ndarray:
        """Return ``X[rows]' V`` (K x k) for ``V`` len(rows) x k (``rows`` None: every row).

        Several indicator blocks: one pass per column of ``V`` over the joint cells of the
        blocks (:meth:`_joint`), whose sums give every block's (unless the cells are so many
        that the product with their indicators costs more than the passes it saves).
        """
        n_rows = len(self.w) if rows is None else len(rows)
        parts = []
        if len(self.codes) > 1:
            joint, ind = self._joint()
            if ind.size <= n_rows * (len(self.codes) - 1):
                cells = joint if rows is None else joint[rows]
                parts = [ind.T @ _rowsum(cells, v, len(ind))]
        if not parts:
            parts = [
                _rowsum(c if rows is None else c[rows], v, k)
                for c, k in zip(self.codes, self.sizes, strict=True)
            ]
        if self.numeric.shape[1]:
            num = self.numeric if rows is None else self.numeric[rows]
            parts.append(num.T @ v)
        return np.concatenate(parts, axis=0)

    def xdot(self, a: np.ndarray) -> np.ndarray:
        """Return ``X A`` (n x k) for coefficients ``A`` (K x k)."""
        off = self.offsets
        out = np.zeros((len(self.w), a.shape[1]))
        for j, c in enumerate(self.codes):
            out += a[off[j] : off[j + 1]][c]
        if self.numeric.shape[1]:
            out += self.numeric @ a[off[-1] :]
        return out

    def coef(self, s: np.ndarray) -> np.ndarray:
        """Return the coefficients (K x k) of the projection from ``X'u`` / ``X'Du`` (K x k).

        ``"rake"``: ten Gauss-Seidel sweeps over the margins on ``X'X A = X'u`` (the
        coefficient form of R's backfitting); ``"calibrate"``: the weighted least-squares
        solution (a pseudo-inverse: dependent columns are harmless).
        """
        if self.method == "calibrate":
            if "pinv" not in self.cache:
                self.cache["pinv"] = np.linalg.pinv(self.gram)
            return self.cache["pinv"] @ s
        if "sweeps" not in self.cache:  # the sweeps are linear in s: apply them to I once
            off, N = self.offsets, self.gram
            a = np.zeros((self.K, self.K))
            eye = np.eye(self.K)
            diag = np.diag(N)[:, None]
            for _ in range(_RAKE_SWEEPS):
                for j in range(len(self.codes)):
                    sl = slice(off[j], off[j + 1])
                    a[sl] += (eye[sl] - N[sl] @ a) / diag[sl]
            self.cache["sweeps"] = a
        return self.cache["sweeps"] @ s

    def strata_parts(self, prep: PreparedDesign) -> tuple[np.ndarray, ...]:
        """Return what the one-stage variance of ``w X`` needs, computed once per design.

        ``ux`` (per row: z times it gives ``u``, the regressand: ``1 / w`` or ``d / w``),
        ``cww`` (per row: the stratum's variance factor times ``w``, 0 in lonely strata),
        ``Bc`` (H x K: stratum totals of ``w X`` times ``c_h / n_h``) and ``VQ`` (K x K:
        the design covariance of the totals of ``w X``).
        """
        if "parts" not in self.cache:
            H = prep.n_strata
            cs = np.where(~prep.lonely, prep.scale, 0.0)
            cww = cs[prep.stratum] * prep.w
            B = self.group_xt(prep.stratum, H, prep.w)
            Bc = B * (cs / prep.n_psu)[:, None]
            ux = (1.0 if self.method == "rake" else self.d) / prep.w
            self.cache["parts"] = (ux, cww, Bc, self.cross(cww * prep.w) - Bc.T @ B)
        return self.cache["parts"]

    def project(self, z: np.ndarray) -> np.ndarray:
        """Return the calibration residuals of influence values ``z`` (n x k)."""
        u = z / self.w[:, None]
        a = self.coef(self.xt(u if self.method == "rake" else u * self.d[:, None]))
        return z - self.w[:, None] * self.xdot(a)


def _replicate_values(data: pd.DataFrame, col: str, func: str) -> np.ndarray:
    """Return a replicate weight column as floats; numbers as text (a cleaned export) parsed.

    Raises
    ------
    ValueError
        A text value that is not a number (naming the column, row and value).
    """
    s = data[col]
    if pd.api.types.is_object_dtype(s) or pd.api.types.is_string_dtype(s):
        text = s.astype("string").str.strip()
        values = pd.to_numeric(text, errors="coerce")
        bad = (values.isna() & text.notna() & (text != "")).to_numpy(dtype=bool)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"{func}: replicate weight column {col!r} has the value {show(s.iloc[i])} in "
                f"row {show(data.index[i])}; replicate weights must be numbers"
            )
        return values.to_numpy(dtype=float, na_value=np.nan)
    return numeric_values(data, col, "replicate weight", func)


def _rowsum(codes: np.ndarray, x: np.ndarray, m: int) -> np.ndarray:
    """Return the sums of the rows of ``x`` (n x k) per code 0..m-1 (R ``rowsum``)."""
    return np.column_stack(
        [np.bincount(codes, weights=x[:, j], minlength=m) for j in range(x.shape[1])]
    )


def _strata(data: pd.DataFrame, design: SurveyDesign, func: str) -> tuple[np.ndarray, np.ndarray]:
    """Return each row's stratum code and the strata values (one ``None`` without strata).

    Raises
    ------
    ValueError
        A row has a missing stratum.
    """
    n = len(data)
    if design.strata is not None:
        s = data[design.strata]
        if s.isna().any():
            raise ValueError(
                f"{func}: strata column {design.strata!r}: row "
                f"{show(_bad_row(data, s.isna().to_numpy()))} has a missing stratum"
            )
        stratum, strata_values = pd.factorize(s, sort=True)
        strata_values = np.asarray(strata_values)
    else:
        stratum, strata_values = np.zeros(n, dtype=np.int64), np.array([None])
    return stratum.astype(np.int64), strata_values


def _cluster_codes(data: pd.DataFrame, col: str, func: str) -> np.ndarray:
    """Return the integer codes of a cluster column.

    Raises
    ------
    ValueError
        A row has a missing cluster.
    """
    c = data[col]
    if c.isna().any():
        raise ValueError(
            f"{func}: cluster column {col!r}: row "
            f"{show(_bad_row(data, c.isna().to_numpy()))} has a missing cluster"
        )
    return pd.factorize(c)[0].astype(np.int64)


def _nest(outer: np.ndarray, inner: np.ndarray) -> np.ndarray:
    """Return codes of the (outer, inner) pairs: units of ``inner`` nested in ``outer``."""
    return np.unique(outer * (inner.max() + 1) + inner, return_inverse=True)[1].astype(np.int64)


def _clusters(
    data: pd.DataFrame, cluster: str | None, stratum: np.ndarray, H: int, func: str
) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray]:
    """Return each row's PSU code, each PSU's stratum and the PSUs per stratum.

    Without clusters every respondent is a PSU: the first two are None.

    Raises
    ------
    ValueError
        A row has a missing cluster.
    """
    if cluster is not None:
        psu = _nest(stratum, _cluster_codes(data, cluster, func))
        P = int(psu.max()) + 1
        psu_stratum = np.zeros(P, dtype=np.int64)
        psu_stratum[psu] = stratum
        return psu, psu_stratum, np.bincount(psu_stratum, minlength=H)
    return None, None, np.bincount(stratum, minlength=H)


def _later_stages(
    data: pd.DataFrame, design: SurveyDesign, psu: np.ndarray, psu_f: np.ndarray, func: str
) -> tuple[tuple[Stage, ...], list[np.ndarray]]:
    """Return the stages after the first and each row's sampling fraction at those stages.

    ``psu_f`` is the first-stage sampling fraction of each PSU. A stage without an fpc is
    sampled with replacement (fraction 0: it adds its variance but cannot give weights).

    Raises
    ------
    ValueError
        A missing cluster, a bad fpc (see :func:`_sampling_fractions`), or a unit with a
        single sampled sub-unit under ``lonely_psu="fail"`` or ``"average"``.
    """
    clusters, fpcs = design.clusters, design.fpcs
    prev, mult = psu, psu_f
    stages, fractions = [], []
    for s in range(1, len(clusters)):
        col, prev_col = clusters[s], clusters[s - 1]
        unit = _nest(prev, _cluster_codes(data, col, func))
        U = int(unit.max()) + 1
        parent = np.zeros(U, dtype=np.int64)
        parent[unit] = prev
        P = len(mult)
        n = np.bincount(parent, minlength=P)
        first = np.zeros(P, dtype=np.int64)
        first[prev[::-1]] = np.arange(len(prev))[::-1]
        values = data[prev_col].to_numpy()

        def label(
            h: int, values: Any = values, first: Any = first, prev_col: str = prev_col
        ) -> str:
            return f"{prev_col} {show(values[first[h]])}"

        if s < len(fpcs):
            frac = _sampling_fractions(
                data, fpcs[s], prev, label, n, f"{col} units", func, _fpc_sizes(data, fpcs)
            )
        else:
            frac = np.zeros(P)
        nf = n.astype(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = np.where(nf > 1, (1 - frac) * nf / (nf - 1), 1 - frac)
        lonely = (n == 1) & (frac < 1 - 1e-7) & (mult > 0)
        if lonely.any() and design.lonely_psu in ("fail", "average"):
            h = int(np.flatnonzero(lonely)[0])
            raise ValueError(
                f"{func}: cluster column {col!r} (stage {s + 1}): {label(h)} has only one "
                f"sampled {col}, so its stage-{s + 1} variance cannot be estimated"
                + (" (R's 'average' gives NaN here)" if design.lonely_psu == "average" else "")
                + "; set data.design.lonely_psu in the study file to 'adjust' or 'remove' "
                "(the unit then adds no stage variance), or give its fpc"
            )
        c = np.where(lonely, 0.0, scale * mult)
        stages.append(Stage(unit=unit, parent=parent, n=n, c=c))
        fractions.append(frac[prev])
        prev, mult = unit, (mult * frac)[parent]
    return tuple(stages), fractions


def _fpc_sizes(data: pd.DataFrame, fpcs: Sequence[str]) -> bool:
    """Return whether the fpc columns hold population sizes (some value of some stage > 1)."""
    return any(
        bool((pd.to_numeric(data[c], errors="coerce").to_numpy(float) > 1).any()) for c in fpcs
    )


def _sampling_fractions(
    data: pd.DataFrame,
    fpc_col: str,
    stratum: np.ndarray,
    label: Any,
    n_psu: np.ndarray,
    units: str,
    func: str,
    sizes: bool | None = None,
) -> np.ndarray:
    """Return the sampling fraction of each stratum from the fpc column.

    The column holds population sizes (some > 1, none < 1: the fraction is sampled units /
    size) or sampling fractions (all <= 1), one value per stratum (at later stages of a
    multi-stage design: per unit of the previous stage). ``label(h)`` names stratum ``h``
    and ``units`` the sampled units in messages.

    Raises
    ------
    ValueError
        An fpc is not finite or <= 0, sizes and fractions are mixed, the fpc varies within
        a stratum, or a population size is below the stratum's sampled units.
    """
    fpc = numeric_values(data, fpc_col, "fpc", func, allow_inf=True)
    H = len(n_psu)
    bad = ~np.isfinite(fpc) | (fpc <= 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"{func}: fpc column {fpc_col!r}: row {show(data.index[i])} has fpc "
            f"{show(fpc[i])};"
            " fpc must be finite and > 0"
        )
    # population sizes if any fpc of any stage is > 1 (R); a size of 1: sampled in full
    sizes = bool((fpc > 1).any()) if sizes is None else sizes
    if sizes and (fpc < 1).any():
        i = int(np.flatnonzero(fpc < 1)[0])
        raise ValueError(
            f"{func}: fpc column {fpc_col!r}: row {show(data.index[i])} has fpc "
            f"{show(fpc[i])} but "
            "other rows are > 1; use all population sizes (> 1) or all sampling "
            "fractions (<= 1)"
        )
    lo = np.full(H, np.inf)
    hi = np.full(H, -np.inf)
    np.minimum.at(lo, stratum, fpc)
    np.maximum.at(hi, stratum, fpc)
    varies = lo != hi
    if varies.any():
        h = int(np.flatnonzero(varies)[0])
        in_h = np.flatnonzero(stratum == h)
        first = fpc[in_h[0]]
        i = in_h[fpc[in_h] != first][0]
        raise ValueError(
            f"{func}: fpc column {fpc_col!r} varies within {label(h)}: "
            f"row {show(data.index[i])} has fpc {show(fpc[i])}, row "
            f"{show(data.index[in_h[0]])} has {show(first)}"
        )
    if sizes:
        too_small = lo < n_psu
        if too_small.any():
            h = int(np.flatnonzero(too_small)[0])
            i = int(np.flatnonzero(stratum == h)[0])
            raise ValueError(
                f"{func}: fpc column {fpc_col!r}: row {show(data.index[i])} has "
                "population size "
                f"{show(lo[h])} below the {n_psu[h]} sampled {units} of {label(h)}"
            )
        return n_psu / lo
    return lo


# --------------------------------------------------------------------------------------
# Groups (domains)
# --------------------------------------------------------------------------------------
class Groups:
    """Integer group codes of the rows, with the cell maps the variance needs."""

    def __init__(self, data: pd.DataFrame, by: Sequence[str], prep: PreparedDesign):
        n = prep.n
        self.by = list(by)
        if not self.by:
            codes = np.zeros(n, dtype=np.int64)
            self.keys = pd.DataFrame(index=range(1))
        else:
            parts, uniques = [], []
            for col in self.by:
                cde, uni = pd.factorize(data[col], sort=True)
                parts.append(cde.astype(np.int64))
                uniques.append(uni)
            sizes = [max(len(u), 1) for u in uniques]
            combined = np.zeros(n, dtype=np.int64)
            missing = np.zeros(n, dtype=bool)
            for cde, size in zip(parts, sizes, strict=True):
                missing |= cde < 0
                combined = combined * size + np.maximum(cde, 0)
            total = int(np.prod(sizes, dtype=np.float64))
            if total <= 50_000_000:
                seen = np.bincount(combined[~missing], minlength=total) > 0
                observed = np.flatnonzero(seen)
                remap = np.cumsum(seen) - 1
                codes = np.where(missing, -1, remap[combined])
            else:
                observed, inv = np.unique(combined[~missing], return_inverse=True)
                codes = np.full(n, -1, dtype=np.int64)
                codes[~missing] = inv
            keys = {}
            rest = observed
            for col, uni, size in zip(self.by[::-1], uniques[::-1], sizes[::-1], strict=True):
                keys[col] = uni.take(rest % size)
                rest = rest // size
            self.keys = pd.DataFrame(
                {
                    col: np.asarray(keys[col])
                    if not isinstance(keys[col], pd.Categorical)
                    else keys[col]
                    for col in self.by
                }
            )
        self.codes = codes
        self.G = len(self.keys)
        self.member = codes >= 0
        self.prep = prep
        H = prep.n_strata
        G = self.G
        # row -> overflow bin G for rows outside every group
        self.gi = np.where(self.member, codes, G)
        if prep.psu is None or prep.psu_stratum is None:
            self.cell = np.where(self.member, codes * H + prep.stratum, G * H)
            self.gp: np.ndarray | None = None
        else:
            P = len(prep.psu_stratum)
            key = np.where(self.member, codes * P + prep.psu, G * P)
            gp, uniq = pd.factorize(key)
            self.gp = gp.astype(np.int64)
            uniq = np.asarray(uniq, dtype=np.int64)
            g_of = uniq // P
            self.gp_cell = np.where(g_of < G, g_of * H + prep.psu_stratum[uniq % P], G * H)
        self.later = [self._stage_cells(st) for st in prep.stages]
        # strata each group reaches (R subsets the design to the domain: the lonely-PSU
        # rules count the PSUs and strata of the subset)
        reach = np.bincount(
            np.where(self.member, codes * H + prep.stratum, G * H), minlength=G * H + 1
        )[: G * H].reshape(G, H)
        self.reach = reach > 0

    def _stage_cells(self, st: Stage) -> tuple[np.ndarray, ...]:
        """Return the (group, unit) and (group, parent) cells of a later design stage."""
        G, U, P = self.G, len(st.parent), len(st.n)
        gu, uniq = pd.factorize(np.where(self.member, self.codes * U + st.unit, G * U))
        uniq = np.asarray(uniq, dtype=np.int64)
        g_u, par = uniq // U, st.parent[uniq % U]
        gp, uniq2 = pd.factorize(g_u * P + par)
        uniq2 = np.asarray(uniq2, dtype=np.int64)
        g_p, p2 = uniq2 // P, uniq2 % P
        return gu.astype(np.int64), g_u, st.c[par], gp.astype(np.int64), g_p, st.c[p2] / st.n[p2]

    def sums(self, x: np.ndarray) -> np.ndarray:
        """Return the per-group sums of ``x`` (rows outside every group ignored)."""
        return np.bincount(self.gi, weights=x, minlength=self.G + 1)[: self.G]

    def expand(self, per_group: np.ndarray) -> np.ndarray:
        """Broadcast a per-group array to the rows (0 for rows outside every group)."""
        return np.append(per_group, 0.0)[self.gi]

    def rep_sums(self, x: np.ndarray) -> np.ndarray:
        """Return the per-group sums of ``x`` under each replicate weight.

        ``x`` (n, or n x k) is per unit of full-sample weight (the replicate weights
        multiply it); the result is G x R (or G x R x k). The replicate weights are sorted
        by group once, so each group is one matrix product.
        """
        xs = self.rep_order_rows(np.asarray(x, dtype=float))
        return self.rep_sums_sorted(xs)

    def rep_order_rows(self, x: np.ndarray) -> np.ndarray:
        """Return ``x`` (n, or n x k) with its rows in the group order of :meth:`rep_sums`."""
        rep = self.prep.rep
        assert rep is not None
        if not hasattr(self, "_rep_sorted"):
            order = np.argsort(self.gi, kind="stable")
            self._rep_order = order
            self._rep_starts = np.searchsorted(self.gi[order], np.arange(self.G + 1))
            # column-major like the weights: each replicate gathered as one contiguous run
            self._rep_sorted = np.take(np.asfortranarray(rep.weights).T, order, axis=1).T
        return np.take(x, self._rep_order, axis=0)

    def rep_sums_sorted(self, xs: np.ndarray) -> np.ndarray:
        """Return :meth:`rep_sums` of ``xs`` whose rows are already in group order."""
        rep = self.prep.rep
        assert rep is not None
        flat = xs.ndim == 1
        if flat:
            xs = xs[:, None]
        out = np.empty((self.G, rep.weights.shape[1], xs.shape[1]))
        st = self._rep_starts
        for g in range(self.G):
            out[g] = (xs[st[g] : st[g + 1]].T @ self._rep_sorted[st[g] : st[g + 1]]).T
        return out[:, :, 0] if flat else out

    def var(self, z: np.ndarray) -> np.ndarray:
        """Return the design variance of the group totals of ``z`` (each row in its group)."""
        prep = self.prep
        if prep.rep is not None:  # exact for totals, linearised for the rest
            return prep.rep.spread(self.sums(z), self.rep_sums(z / prep.w))
        if prep.cal is not None:
            return np.maximum(self._calibrated_var(z, prep.cal), 0.0)
        return np.maximum(self._fixed_var(z)[0], 0.0)

    def _fixed_var(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return the variance of the group totals of ``z`` with fixed weights, and ``T``.

        ``T`` (G x H) holds the group-by-stratum totals of ``z``.
        """
        prep = self.prep
        G, H = self.G, prep.n_strata
        if self.gp is None:
            t, cell = z, self.cell
        else:
            t = np.bincount(self.gp, weights=z, minlength=len(self.gp_cell))
            cell = self.gp_cell
        m = G * H + 1
        S = np.bincount(cell, weights=t * t, minlength=m)[: G * H].reshape(G, H)
        T = np.bincount(cell, weights=t, minlength=m)[: G * H].reshape(G, H)
        c = prep.scale
        ok = ~prep.lonely
        v = ((S[:, ok] - T[:, ok] ** 2 / prep.n_psu[ok]) * c[ok]).sum(axis=1)
        if prep.lonely.any() and prep.lonely_psu == "adjust":
            n_reach = np.maximum(self.reach @ prep.n_psu, 1)
            centre = T.sum(axis=1, keepdims=True) / n_reach[:, None]
            v = v + ((T[:, prep.lonely] - centre) ** 2 * c[prep.lonely]).sum(axis=1)
        if prep.lonely.any() and prep.lonely_psu == "average":
            n_strata = self.reach.sum(axis=1)
            kept = (self.reach & ~prep.lonely).sum(axis=1)
            with np.errstate(divide="ignore", invalid="ignore"):
                v = v * np.where(kept > 0, n_strata / np.maximum(kept, 1), np.nan)
        for gu, g_u, cu, gp, g_p, cn in self.later:
            tu = np.bincount(gu, weights=z, minlength=len(g_u))
            tp = np.bincount(gp, weights=tu, minlength=len(g_p))
            v = v + np.bincount(g_u, weights=cu * tu * tu, minlength=G + 1)[:G]
            v = v - np.bincount(g_p, weights=cn * tp * tp, minlength=G + 1)[:G]
        return v, T

    def _calibrated_var(self, z: np.ndarray, cal: PreparedCalibration) -> np.ndarray:
        """Return the variance of the group totals of the calibration residuals of ``z``.

        The residual of group ``g`` is ``e_g = z_g - w X a_g`` (nonzero outside the group);
        its variance is ``V(z_g) - 2 C_g a_g + a_g' V(wX) a_g`` with ``C_g`` the design
        covariance of ``z_g`` and ``wX`` - sums over codes, no n x G matrix. Designs with
        clusters, later stages or adjusted / averaged lonely PSUs project the n x G
        residuals directly (the lonely-PSU rules then count the whole design, as R's
        subsets of calibrated designs keep every row).
        """
        prep = self.prep
        G = self.G
        ux, cww, Bc, VQ = cal.strata_parts(prep)
        a = cal.coef(cal.group_xt(self.gi, G, z * ux).T)
        lonely_rule = prep.lonely.any() and prep.lonely_psu in ("adjust", "average")
        if prep.psu is not None or prep.stages or lonely_rule:
            zd = np.zeros((prep.n, G))
            rows = np.flatnonzero(self.member)
            zd[rows, self.codes[rows]] = z[rows]
            return np.diag(prep.vcov(zd)).copy()
        v, T = self._fixed_var(z)
        C = cal.group_xt(self.gi, G, z * cww) - T @ Bc
        at = a.T
        return v - 2 * (C * at).sum(axis=1) + ((at @ VQ) * at).sum(axis=1)

    def degf(self, valid: np.ndarray) -> np.ndarray:
        """Return the per-group design df: PSUs minus strata among the group's ``valid`` rows."""
        prep = self.prep
        if prep.rep is not None:
            return np.full(self.G, float(prep.rep.df))
        G, H = self.G, prep.n_strata
        v = valid & self.member
        cells = np.bincount(
            self.cell if self.gp is None else self.gp_cell[self.gp], weights=v, minlength=G * H + 1
        )[: G * H].reshape(G, H)
        n_strata = (cells > 0).sum(axis=1)
        if self.gp is None:
            n_psu = cells.sum(axis=1)
        else:
            has = np.bincount(self.gp, weights=v, minlength=len(self.gp_cell)) > 0
            g_of = self.gp_cell // H
            n_psu = np.bincount(g_of[has], minlength=G + 1)[:G]
        return (n_psu - n_strata).astype(float)


# --------------------------------------------------------------------------------------
# Set-up and interval helpers
# --------------------------------------------------------------------------------------
def setup(
    data: pd.DataFrame,
    design: SurveyDesign | None,
    by: str | Sequence[str],
    columns: Sequence[str],
    *,
    func: str,
    role: str = "item",
) -> tuple[PreparedDesign, Groups]:
    """Validate the inputs of an estimator and return the prepared design and its domains.

    Checks that ``data`` is a DataFrame, ``design`` a :class:`SurveyDesign` (None: simple
    random sample), that the ``by`` and analysed ``columns`` exist and do not overlap, and
    validates the design columns (weights finite and > 0 and the rest).
    """
    check_frame(data, func)
    design = design if design is not None else SurveyDesign()
    if not isinstance(design, SurveyDesign):
        raise TypeError(f"{func}: design must be a SurveyDesign, got {type(design).__name__}")
    by = as_names(by, "by", func)
    check_columns(data, by, "by", func)
    check_columns(data, columns, role, func)
    overlap = sorted(set(by) & set(columns))
    if overlap:
        raise ValueError(f"{func}: column(s) {overlap} are both {role} and by columns")
    prep = design.prepare(data, func=func)
    return prep, Groups(data, by, prep)


def normal_quantile(confidence: float) -> float:
    """Return the two-sided normal quantile of a confidence level (1.96 at 0.95)."""
    return float(stats.norm.ppf(0.5 + confidence / 2))


def t_quantile(confidence: float, df: Any) -> Any:
    """Return the two-sided Student t quantile of a confidence level on ``df`` degrees."""
    return stats.t.ppf(0.5 + confidence / 2, df)


def category_values(s: pd.Series) -> list:
    """Return the categories of a column: a categorical's in order, else the sorted values."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        return list(s.cat.categories)
    return sorted(s.dropna().unique().tolist())


def logit_ci(p: Any, se: Any, df: Any, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """Return the logit-scale interval of a share with Student's t (R ``svyciprop``, logit).

    A share of exactly 0 or 1 gets the degenerate interval ``[p, p]``.
    """
    q = t_quantile(confidence, df)
    with np.errstate(divide="ignore", invalid="ignore"):
        eta = np.log(p / (1 - p))
        s = se / (p * (1 - p))
        lo = 1 / (1 + np.exp(-(eta - q * s)))
        hi = 1 / (1 + np.exp(-(eta + q * s)))
    edge = (p <= 0) | (p >= 1)
    return np.where(edge, p, lo), np.where(edge, p, hi)


# --------------------------------------------------------------------------------------
# Core: domain means and totals
# --------------------------------------------------------------------------------------
def rep_mean_sums(groups: Groups, ys: Sequence[np.ndarray], batch: int = 10) -> list[np.ndarray]:
    """Return, per variable of ``ys``, its replicate sums for :func:`mean_parts` (``rep_both``).

    The replicate sums of ``y`` and of its answered indicator for several variables at
    once: one matrix product of the replicate weights with ``2 x batch`` columns per
    group, so the replicate weights are read once per batch rather than once per variable.
    """
    out: list[np.ndarray] = []
    member = groups.rep_order_rows(groups.member)
    for start in range(0, len(ys), batch):
        chunk = ys[start : start + batch]
        xs = np.empty((len(member), 2 * len(chunk)))
        for k, y in enumerate(chunk):
            yo = groups.rep_order_rows(y)
            v0 = ~np.isnan(yo) & member
            xs[:, 2 * k] = np.where(v0, yo, 0.0)
            xs[:, 2 * k + 1] = v0
        both = groups.rep_sums_sorted(xs)
        out += [both[:, :, 2 * k : 2 * k + 2] for k in range(len(chunk))]
    return out


def mean_parts(
    groups: Groups,
    y: np.ndarray,
    valid: np.ndarray | None = None,
    rep_both: np.ndarray | None = None,
) -> dict:
    """Compute the domain means of ``y`` per group with linearised variances (svymean / svyby).

    ``rep_both`` (replicate designs, default valid rows only): the replicate sums of ``y``
    and of its answered indicator from :func:`rep_mean_sums`, computed for several items
    at once.
    """
    prep = groups.prep
    if valid is None:
        valid = ~np.isnan(y)
    valid = valid & groups.member
    w = prep.w
    wd = np.where(valid, w, 0.0)
    y0 = np.where(valid, y, 0.0)
    n = groups.sums(valid.astype(float))
    W = groups.sums(wd)
    W2 = groups.sums(wd * w)
    Ws = np.where(W > 0, W, 1.0)
    m = groups.sums(wd * y0) / Ws
    resid = y0 - groups.expand(m)  # only ever weighted by wd, which is 0 outside the domain
    wr = wd * resid
    z = wr * groups.expand(1.0 / Ws)
    if prep.rep is not None:  # the replicate means themselves (svrepdesign svymean)
        if rep_both is None:
            v0 = valid.astype(float)
            rep_both = groups.rep_sums(np.column_stack([v0 * y0, v0]))
        with np.errstate(divide="ignore", invalid="ignore"):
            m_r = rep_both[:, :, 0] / rep_both[:, :, 1]
        var = prep.rep.spread(m, m_r)
    else:
        m_r = None
        var = groups.var(z)
    ss = groups.sums(wr * resid)
    m = np.where(W > 0, m, np.nan)
    return {
        "n": n, "W": W, "W2": W2, "estimate": m, "var": var, "ss": ss, "z": z, "valid": valid,
        "replicates": m_r,
    }  # fmt: skip


def srs_factor(n: np.ndarray, W: np.ndarray) -> np.ndarray:
    """Return ``(1 - n/N_hat)`` as R's deff=TRUE, or 1 where the weights do not expand.

    The weights do not expand where ``N_hat <= n``.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(W > n, 1 - n / W, 1.0)


def base_columns(groups: Groups, n: np.ndarray, W: np.ndarray, W2: np.ndarray) -> dict:
    """Return ``n`` (int), ``n_weighted`` and Kish ``n_effective = W^2 / W2`` per domain."""
    with np.errstate(divide="ignore", invalid="ignore"):
        neff = np.where(W2 > 0, W * W / W2, 0.0)
    return {"n": n.astype(np.int64), "n_weighted": W, "n_effective": neff}


def finish(groups: Groups, rows: list[dict], cols: list[str]) -> pd.DataFrame:
    """Stack per-domain result rows (one dict of arrays per row set) into a tidy frame."""
    if not rows:
        return pd.DataFrame(columns=[*groups.by, *cols])
    # one frame per row set from its columns at once (setting them one by one into a copy
    # of the keys cost 90% of the time of small results), the keys tiled beside them
    index = pd.RangeIndex(groups.G)
    out = pd.concat(
        [pd.DataFrame({c: r[c] for c in cols}, index=index) for r in rows], ignore_index=True
    )
    if groups.by:
        keys = groups.keys.iloc[np.tile(np.arange(groups.G), len(rows))].reset_index(drop=True)
        out = pd.concat([keys.drop(columns=[c for c in cols if c in keys]), out], axis=1)
    return out[[*groups.by, *cols]]
