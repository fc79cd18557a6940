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
    "Groups",
    "setup",
    "mean_parts",
    "base_columns",
    "srs_factor",
    "normal_quantile",
    "t_quantile",
    "logit_ci",
    "category_values",
    "finish",
]

_LONELY = ("fail", "adjust", "remove")


@dataclass(frozen=True)
class SurveyDesign:
    """The sampling design, as column names of the analysis data.

    Parameters
    ----------
    weight : str, optional
        Sampling weights (finite, > 0). None: every respondent weighs 1.
    strata : str, optional
        Stratum of each respondent.
    cluster : str, optional
        Primary sampling unit (PSU), nested within strata. None: each respondent is a PSU.
    fpc : str, optional
        Finite population correction as in R ``survey``: the population number of PSUs
        in the stratum (> 1), or the sampling fraction (<= 1). Constant within a stratum.
    lonely_psu : {"fail", "adjust", "remove"}
        What to do with a stratum that has a single PSU (see the module notes).
    """

    weight: str | None = None
    strata: str | None = None
    cluster: str | None = None
    fpc: str | None = None
    lonely_psu: str = "fail"

    def roles(self) -> dict[str, str]:
        """Return the design roles that are set, mapped to their column names."""
        return {
            role: col
            for role, col in (
                ("weight", self.weight),
                ("strata", self.strata),
                ("cluster", self.cluster),
                ("fpc", self.fpc),
            )
            if col is not None
        }

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


def _bad_row(data: pd.DataFrame, mask: np.ndarray) -> object:
    return data.index[int(np.flatnonzero(mask)[0])]


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
        Strata with one PSU.
    lonely_psu : str
        Lonely-PSU rule.
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

    @property
    def n_strata(self) -> int:
        return len(self.n_psu)

    @property
    def n_psus(self) -> int:
        return int(self.n_psu.sum())

    @property
    def degf(self) -> int:
        """Design degrees of freedom: PSUs minus strata (R ``degf``)."""
        return self.n_psus - self.n_strata

    @property
    def scale(self) -> np.ndarray:
        """Per-stratum variance factor ``(1 - f_h) n_h / (n_h - 1)`` (``1 - f_h`` if lonely)."""
        nh = self.n_psu.astype(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            c = np.where(nh > 1, (1 - self.f) * nh / (nh - 1), 1 - self.f)
        return c

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
        if design.weight is not None:
            w = weight_values(data, design.weight, func)
        else:
            w = np.ones(n)
        stratum, strata_values = _strata(data, design, func)
        psu, psu_stratum, n_psu = _clusters(data, design, stratum, len(strata_values), func)
        f: np.ndarray = np.zeros(len(strata_values))
        if design.fpc is not None:
            f = _sampling_fractions(data, design.fpc, stratum, strata_values, n_psu, func)
        lonely = n_psu == 1
        if lonely.any() and design.lonely_psu == "fail":
            h = int(np.flatnonzero(lonely)[0])
            where = (
                f"stratum {show(strata_values[h])} of column {design.strata!r} has only one PSU"
                if design.strata is not None
                else "the data have only one PSU"
            )
            raise ValueError(
                f"{func}: {where} (a wave or segment of one respondent?), so its variance "
                "cannot be estimated; set data.design.lonely_psu in the study file to 'adjust' "
                "or 'remove' (in code: SurveyDesign(lonely_psu='adjust')), or merge strata"
            )
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
        )

    # ----------------------------------------------------------------------------------
    def vcov(self, z: np.ndarray) -> np.ndarray:
        """Return the design covariance matrix of the totals of the columns of ``z`` (n x k)."""
        z = np.asarray(z, dtype=float)
        if z.ndim == 1:
            z = z[:, None]
        H = self.n_strata
        if self.psu is not None and self.psu_stratum is not None:
            P = len(self.psu_stratum)
            t = np.column_stack(
                [np.bincount(self.psu, weights=z[:, j], minlength=P) for j in range(z.shape[1])]
            )
            ts = self.psu_stratum
        else:
            t, ts = z, self.stratum
        T = np.column_stack(
            [np.bincount(ts, weights=t[:, j], minlength=H) for j in range(t.shape[1])]
        )
        c = self.scale
        ok = ~self.lonely
        cw = np.where(ok, c, 0.0)[ts]
        v = (t * cw[:, None]).T @ t
        v -= (T[ok] * (c[ok] / self.n_psu[ok])[:, None]).T @ T[ok]
        if self.lonely.any() and self.lonely_psu == "adjust":
            d = T[self.lonely] - T.sum(axis=0) / self.n_psus
            v += (d * c[self.lonely][:, None]).T @ d
        return v


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


def _clusters(
    data: pd.DataFrame, design: SurveyDesign, stratum: np.ndarray, H: int, func: str
) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray]:
    """Return each row's PSU code, each PSU's stratum and the PSUs per stratum.

    Without clusters every respondent is a PSU: the first two are None.

    Raises
    ------
    ValueError
        A row has a missing cluster.
    """
    if design.cluster is not None:
        c = data[design.cluster]
        if c.isna().any():
            raise ValueError(
                f"{func}: cluster column {design.cluster!r}: row "
                f"{show(_bad_row(data, c.isna().to_numpy()))} has a missing cluster"
            )
        ccode = pd.factorize(c)[0].astype(np.int64)
        psu = np.unique(stratum * (ccode.max() + 1) + ccode, return_inverse=True)[1]
        psu = psu.astype(np.int64)
        P = int(psu.max()) + 1
        psu_stratum = np.zeros(P, dtype=np.int64)
        psu_stratum[psu] = stratum
        return psu, psu_stratum, np.bincount(psu_stratum, minlength=H)
    return None, None, np.bincount(stratum, minlength=H)


def _sampling_fractions(
    data: pd.DataFrame,
    fpc_col: str,
    stratum: np.ndarray,
    strata_values: np.ndarray,
    n_psu: np.ndarray,
    func: str,
) -> np.ndarray:
    """Return the sampling fraction of each stratum from the fpc column.

    The column holds population sizes (all > 1: the fraction is sampled PSUs / size) or
    sampling fractions (all <= 1), one value per stratum.

    Raises
    ------
    ValueError
        An fpc is not finite or <= 0, sizes and fractions are mixed, the fpc varies within
        a stratum, or a population size is below the stratum's sampled PSUs.
    """
    fpc = numeric_values(data, fpc_col, "fpc", func, allow_inf=True)
    H = len(strata_values)
    bad = ~np.isfinite(fpc) | (fpc <= 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"{func}: fpc column {fpc_col!r}: row {show(data.index[i])} has fpc "
            f"{show(fpc[i])};"
            " fpc must be finite and > 0"
        )
    big = fpc > 1
    if big.any() and not big.all():
        i = int(np.flatnonzero(~big)[0])
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
            f"{func}: fpc column {fpc_col!r} varies within stratum {show(strata_values[h])}: "
            f"row {show(data.index[i])} has fpc {show(fpc[i])}, row "
            f"{show(data.index[in_h[0]])} has {show(first)}"
        )
    if big.all():
        too_small = lo < n_psu
        if too_small.any():
            h = int(np.flatnonzero(too_small)[0])
            i = int(np.flatnonzero(stratum == h)[0])
            raise ValueError(
                f"{func}: fpc column {fpc_col!r}: row {show(data.index[i])} has "
                "population size "
                f"{show(lo[h])} below the {n_psu[h]} sampled PSUs of stratum "
                f"{show(strata_values[h])}"
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

    def sums(self, x: np.ndarray) -> np.ndarray:
        """Return the per-group sums of ``x`` (rows outside every group ignored)."""
        return np.bincount(self.gi, weights=x, minlength=self.G + 1)[: self.G]

    def expand(self, per_group: np.ndarray) -> np.ndarray:
        """Broadcast a per-group array to the rows (0 for rows outside every group)."""
        return np.append(per_group, 0.0)[self.gi]

    def var(self, z: np.ndarray) -> np.ndarray:
        """Return the design variance of the group totals of ``z`` (each row in its group)."""
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
            centre = T.sum(axis=1, keepdims=True) / prep.n_psus
            v = v + ((T[:, prep.lonely] - centre) ** 2 * c[prep.lonely]).sum(axis=1)
        return np.maximum(v, 0.0)

    def degf(self, valid: np.ndarray) -> np.ndarray:
        """Return the per-group design df: PSUs minus strata among the group's ``valid`` rows."""
        prep = self.prep
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
def mean_parts(groups: Groups, y: np.ndarray, valid: np.ndarray | None = None) -> dict:
    """Compute the domain means of ``y`` per group with linearised variances (svymean / svyby)."""
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
    var = groups.var(z)
    ss = groups.sums(wr * resid)
    m = np.where(W > 0, m, np.nan)
    return {"n": n, "W": W, "W2": W2, "estimate": m, "var": var, "ss": ss, "z": z, "valid": valid}


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
