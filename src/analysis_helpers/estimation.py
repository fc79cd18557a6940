"""Design-based estimation: means, totals, proportions, ratios, variances, domain
differences, Rao-Scott chi-square and linear regression with Taylor-linearised SEs.

Every estimator reproduces R's ``survey`` package (Lumley) for a one-stage design
``svydesign(id=~cluster, strata=~strata, weights=~weight, fpc=~fpc, nest=TRUE)``.

Method
------
An estimator is written as a smooth function of weighted totals; its *influence values*
``z_i`` (one per respondent, zero outside the estimation domain) give the variance of the
estimate as the design variance of the total ``sum_i z_i``:

``V = sum_h (1 - f_h) n_h / (n_h - 1) sum_j (t_hj - tbar_h)^2``

where ``t_hj`` are the PSU totals of ``z`` in stratum ``h`` (each respondent is its own
PSU when there is no cluster column), ``n_h`` the number of PSUs of the stratum in the
*whole* sample and ``f_h`` the first-stage sampling fraction (0 without fpc). This is the
with-replacement (ultimate cluster) variance of ``survey::svyrecvar``.

Conventions (all as R ``survey`` does unless stated):

* **Missing values** of an item are a domain: the rows stay in the design (they keep the
  PSU counts) with zero influence - ``svymean(..., na.rm=TRUE)``.
* **By-groups** are domains of the whole design - ``svyby``. Rows with a missing ``by``
  value belong to no group but stay in the design.
* **Clusters** are nested within strata (``nest=TRUE``): a PSU is a (stratum, cluster)
  pair.
* **fpc**: a population size (number of PSUs) per stratum, or a sampling fraction <= 1;
  all values must be of one kind and constant within a stratum.
* **Lonely PSUs** (a stratum with a single PSU): ``SurveyDesign(lonely_psu="fail")``, R's
  default, raises; ``"adjust"`` centres the lonely PSU total at the grand mean of PSU
  totals (``options(survey.lonely.psu="adjust")``, survey >= 4.2); ``"remove"`` lets the
  stratum contribute nothing.
* **Confidence intervals** of means, totals, ratios and variances are normal
  (``confint`` on a ``svystat``). Logit intervals of proportions use Student's t with the
  domain degrees of freedom, as ``svyciprop(method="logit")``.
* **Degrees of freedom** of t-based tests and intervals are the design's: the number of
  PSUs minus the number of strata among the rows that enter the estimate (``degf`` of the
  subset design); minus 1 for a two-domain difference (``svyttest``); plus 1 minus the
  number of coefficients for a regression (``svyglm``).
* **Design effect** (``deff``) is R's ``deff=TRUE``: the design variance over the variance
  of simple random sampling without replacement of the same size,
  ``s^2_w (1 - n / N_hat) / n`` with ``N_hat`` the sum of weights. When the weights do not
  expand to a population (``N_hat <= n``, e.g. weights normalised to mean 1, or no
  weights) R returns Inf; here the with-replacement reference ``s^2_w / n`` is used
  instead (R's ``deff="replace"``), so unweighted simple random samples give ``deff == 1``.

All work is vectorised: per-group sums are ``np.bincount`` over integer codes, never a
Python loop over respondents.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

__all__ = [
    "SurveyDesign",
    "PreparedDesign",
    "survey_mean",
    "survey_total",
    "survey_proportion",
    "survey_ratio",
    "survey_var",
    "domain_difference",
    "survey_ttest",
    "survey_chisq",
    "survey_glm",
    "sample_profile",
]

_LONELY = ("fail", "adjust", "remove")


# --------------------------------------------------------------------------------------
# Design
# --------------------------------------------------------------------------------------
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
        """The design roles that are set, mapped to their column names."""
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

    def validate(self, data: pd.DataFrame) -> None:
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
        self.prepare(data)

    def prepare(self, data: pd.DataFrame) -> PreparedDesign:
        """Validate the design against ``data`` and return its integer-coded form."""
        return PreparedDesign.from_data(data, self)


def _show(value: object) -> str:
    """``repr`` of a value for an error message, numpy scalars as plain Python values."""
    if isinstance(value, np.generic):
        value = value.item()
    return repr(value)


def _bad_row(data: pd.DataFrame, mask: np.ndarray) -> object:
    return data.index[int(np.flatnonzero(mask)[0])]


def _numeric(data: pd.DataFrame, col: str, role: str) -> np.ndarray:
    s = data[col]
    if not (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)):
        raise ValueError(f"{role} column {col!r} must be numeric, got dtype {s.dtype}")
    return s.to_numpy(dtype=float, na_value=np.nan)


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
    def from_data(cls, data: pd.DataFrame, design: SurveyDesign) -> PreparedDesign:
        if not isinstance(data, pd.DataFrame):
            raise TypeError(f"data must be a pandas DataFrame, got {type(data).__name__}")
        if design.lonely_psu not in _LONELY:
            raise ValueError(f"lonely_psu {design.lonely_psu!r}: use one of {list(_LONELY)}")
        for role, col in design.roles().items():
            if col not in data.columns:
                raise KeyError(f"design column {col!r} ({role}) is not in the data")
        n = len(data)
        if n == 0:
            raise ValueError("data has no rows")
        if design.weight is not None:
            w = _numeric(data, design.weight, "weight")
            bad = ~np.isfinite(w) | (w <= 0)
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise ValueError(
                    f"weight column {design.weight!r}: row {_show(data.index[i])} has weight "
                    f"{_show(w[i])}; weights must be finite and > 0"
                )
        else:
            w = np.ones(n)
        if design.strata is not None:
            s = data[design.strata]
            if s.isna().any():
                raise ValueError(
                    f"strata column {design.strata!r}: row {_show(_bad_row(data, s.isna().to_numpy()))}"
                    " has a missing stratum"
                )
            stratum, strata_values = pd.factorize(s, sort=True)
            strata_values = np.asarray(strata_values)
        else:
            stratum, strata_values = np.zeros(n, dtype=np.int64), np.array([None])
        stratum = stratum.astype(np.int64)
        H = len(strata_values)
        if design.cluster is not None:
            c = data[design.cluster]
            if c.isna().any():
                raise ValueError(
                    f"cluster column {design.cluster!r}: row {_show(_bad_row(data, c.isna().to_numpy()))}"
                    " has a missing cluster"
                )
            ccode = pd.factorize(c)[0].astype(np.int64)
            psu = np.unique(stratum * (ccode.max() + 1) + ccode, return_inverse=True)[1]
            psu = psu.astype(np.int64)
            P = int(psu.max()) + 1
            psu_stratum = np.zeros(P, dtype=np.int64)
            psu_stratum[psu] = stratum
            n_psu = np.bincount(psu_stratum, minlength=H)
        else:
            psu, psu_stratum = None, None
            n_psu = np.bincount(stratum, minlength=H)
        f = np.zeros(H)
        if design.fpc is not None:
            fpc = _numeric(data, design.fpc, "fpc")
            bad = ~np.isfinite(fpc) | (fpc <= 0)
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise ValueError(
                    f"fpc column {design.fpc!r}: row {_show(data.index[i])} has fpc {_show(fpc[i])};"
                    " fpc must be finite and > 0"
                )
            big = fpc > 1
            if big.any() and not big.all():
                i = int(np.flatnonzero(~big)[0])
                raise ValueError(
                    f"fpc column {design.fpc!r}: row {_show(data.index[i])} has fpc {_show(fpc[i])} but "
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
                    f"fpc column {design.fpc!r} varies within stratum {_show(strata_values[h])}: "
                    f"row {_show(data.index[i])} has fpc {_show(fpc[i])}, row "
                    f"{_show(data.index[in_h[0]])} has {_show(first)}"
                )
            if big.all():
                too_small = lo < n_psu
                if too_small.any():
                    h = int(np.flatnonzero(too_small)[0])
                    i = int(np.flatnonzero(stratum == h)[0])
                    raise ValueError(
                        f"fpc column {design.fpc!r}: row {_show(data.index[i])} has population size "
                        f"{_show(lo[h])} below the {n_psu[h]} sampled PSUs of stratum "
                        f"{_show(strata_values[h])}"
                    )
                f = n_psu / lo
            else:
                f = lo
        lonely = n_psu == 1
        if lonely.any() and design.lonely_psu == "fail":
            h = int(np.flatnonzero(lonely)[0])
            raise ValueError(
                f"stratum {_show(strata_values[h])} of column {design.strata!r} has only one PSU; "
                "use SurveyDesign(lonely_psu='adjust' or 'remove') or merge strata"
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
        """Design covariance matrix of the totals of the columns of ``z`` (n x k)."""
        z = np.asarray(z, dtype=float)
        if z.ndim == 1:
            z = z[:, None]
        H = self.n_strata
        if self.psu is not None:
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


# --------------------------------------------------------------------------------------
# Groups (domains)
# --------------------------------------------------------------------------------------
class _Groups:
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
        if prep.psu is None:
            self.cell = np.where(self.member, codes * H + prep.stratum, G * H)
            self.gp = None
        else:
            P = len(prep.psu_stratum)
            key = np.where(self.member, codes * P + prep.psu, G * P)
            gp, uniq = pd.factorize(key)
            self.gp = gp.astype(np.int64)
            uniq = np.asarray(uniq, dtype=np.int64)
            g_of = uniq // P
            self.gp_cell = np.where(g_of < G, g_of * H + prep.psu_stratum[uniq % P], G * H)

    def sums(self, x: np.ndarray) -> np.ndarray:
        """Per-group sums of ``x`` (rows outside every group ignored)."""
        return np.bincount(self.gi, weights=x, minlength=self.G + 1)[: self.G]

    def expand(self, per_group: np.ndarray) -> np.ndarray:
        """A per-group array broadcast to the rows (0 for rows outside every group)."""
        return np.append(per_group, 0.0)[self.gi]

    def var(self, z: np.ndarray) -> np.ndarray:
        """Design variance of the group totals of ``z`` (each row counts for its group)."""
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
        """Per-group design df: PSUs minus strata among the ``valid`` rows of the group."""
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
# Validation helpers
# --------------------------------------------------------------------------------------
def _as_list(x: str | Sequence[str], what: str) -> list[str]:
    if isinstance(x, str):
        return [x]
    out = list(x)
    if not all(isinstance(c, str) for c in out):
        raise ValueError(f"{what} must be column names (str), got {out!r}")
    return out


def _check_columns(data: pd.DataFrame, cols: Sequence[str], what: str) -> None:
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    for c in cols:
        if c not in data.columns:
            raise KeyError(f"{what} column {c!r} is not in the data")


def _check_level(level: float) -> float:
    if not (isinstance(level, int | float) and 0 < level < 1):
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    return float(level)


def _numeric_item(data: pd.DataFrame, col: str) -> np.ndarray:
    s = data[col]
    if not (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)):
        raise ValueError(f"item column {col!r} must be numeric, got dtype {s.dtype}")
    y = s.to_numpy(dtype=float, na_value=np.nan)
    if np.isinf(y).any():
        i = int(np.flatnonzero(np.isinf(y))[0])
        raise ValueError(f"item column {col!r}: row {_show(data.index[i])} has value {_show(y[i])}")
    return y


def _setup(data, design, by, cols, what="item"):
    design = design if design is not None else SurveyDesign()
    if not isinstance(design, SurveyDesign):
        raise TypeError(f"design must be a SurveyDesign, got {type(design).__name__}")
    by = _as_list(by, "by")
    _check_columns(data, by, "by")
    _check_columns(data, cols, what)
    overlap = sorted(set(by) & set(cols))
    if overlap:
        raise ValueError(f"column(s) {overlap} are both a {what} and a by column")
    prep = design.prepare(data)
    return prep, _Groups(data, by, prep)


def _z(level: float) -> float:
    return float(stats.norm.ppf(0.5 + level / 2))


# --------------------------------------------------------------------------------------
# Core: domain means and totals
# --------------------------------------------------------------------------------------
def _mean_parts(groups: _Groups, y: np.ndarray, valid: np.ndarray | None = None) -> dict:
    """Domain means of ``y`` per group with linearised variances (R svymean / svyby)."""
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


def _srs_factor(n: np.ndarray, W: np.ndarray) -> np.ndarray:
    """``(1 - n/N_hat)`` as R's deff=TRUE, or 1 where the weights do not expand (N_hat <= n)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(W > n, 1 - n / W, 1.0)


def _base_frame(groups: _Groups, n, W, W2) -> dict:
    with np.errstate(divide="ignore", invalid="ignore"):
        neff = np.where(W2 > 0, W * W / W2, 0.0)
    return {"n": n.astype(np.int64), "n_weighted": W, "n_effective": neff}


def _finish(groups: _Groups, rows: list[dict], cols: list[str]) -> pd.DataFrame:
    if not rows:
        return pd.DataFrame(columns=[*groups.by, *cols])
    parts = []
    for r in rows:
        k = groups.keys.copy() if groups.by else pd.DataFrame(index=range(groups.G))
        for c in cols:
            k[c] = r[c]
        parts.append(k)
    out = pd.concat(parts, ignore_index=True)
    return out[[*groups.by, *cols]]


_MEAN_COLS = [
    "item",
    "n",
    "n_weighted",
    "n_effective",
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "deff",
]


def survey_mean(
    data: pd.DataFrame,
    *,
    items: str | Sequence[str],
    by: str | Sequence[str] = (),
    design: SurveyDesign | None = None,
    level: float = 0.95,
) -> pd.DataFrame:
    """Weighted means with design-based standard errors (R ``svymean`` / ``svyby``).

    Parameters
    ----------
    data : DataFrame
        One row per respondent.
    items : str or sequence of str
        Numeric item columns. Missing values are a domain (``na.rm=TRUE``).
    by : str or sequence of str
        Grouping columns; each group is a domain of the whole design.
    design : SurveyDesign, optional
        Weight, strata, cluster and fpc columns. None: unweighted simple random sample
        (with replacement), whose SE is the textbook ``s / sqrt(n)``.
    level : float
        Confidence level of the normal interval.

    Returns
    -------
    DataFrame
        One row per group and item: the ``by`` columns, ``item``, ``n`` (unweighted
        non-missing), ``n_weighted``, ``n_effective`` (Kish), ``estimate``, ``se``,
        ``ci_low``, ``ci_high``, ``deff``. A group with no answers has NaN statistics.

    Examples
    --------
    >>> survey_mean(df, items=["q1", "q2"], by=["wave"], design=SurveyDesign(weight="w"))
    ... # doctest: +SKIP
    """
    items = _as_list(items, "items")
    level = _check_level(level)
    prep, groups = _setup(data, design, by, items)
    q = _z(level)
    rows = []
    for item in items:
        y = _numeric_item(data, item)
        p = _mean_parts(groups, y)
        se = np.sqrt(p["var"])
        n = p["n"]
        with np.errstate(divide="ignore", invalid="ignore"):
            s2 = n / (n - 1) * p["ss"] / p["W"]
            deff = p["var"] / (s2 / n * _srs_factor(n, p["W"]))
        est = np.where(n > 0, p["estimate"], np.nan)
        se = np.where(n > 0, se, np.nan)
        rows.append(
            {
                "item": item,
                **_base_frame(groups, n, p["W"], p["W2"]),
                "estimate": est,
                "se": se,
                "ci_low": est - q * se,
                "ci_high": est + q * se,
                "deff": deff,
            }
        )
    return _finish(groups, rows, _MEAN_COLS)


def survey_total(
    data: pd.DataFrame,
    *,
    items: str | Sequence[str],
    by: str | Sequence[str] = (),
    design: SurveyDesign | None = None,
    level: float = 0.95,
) -> pd.DataFrame:
    """Weighted totals with design-based standard errors (R ``svytotal``, ``na.rm=TRUE``).

    Parameters
    ----------
    data, items, by, design, level
        As :func:`survey_mean`.

    Returns
    -------
    DataFrame
        Same columns as :func:`survey_mean`; ``estimate`` is the estimated population
        total of the item in the group (missing answers count as not in the domain).
    """
    items = _as_list(items, "items")
    level = _check_level(level)
    prep, groups = _setup(data, design, by, items)
    q = _z(level)
    rows = []
    for item in items:
        y = _numeric_item(data, item)
        valid = ~np.isnan(y) & groups.member
        wd = np.where(valid, prep.w, 0.0)
        y0 = np.where(valid, y, 0.0)
        tot = groups.sums(wd * y0)
        var = groups.var(wd * y0)
        p = _mean_parts(groups, y)
        n, W = p["n"], p["W"]
        with np.errstate(divide="ignore", invalid="ignore"):
            s2 = n / (n - 1) * p["ss"] / W
            deff = var / (s2 * W * W / n * _srs_factor(n, W))
        se = np.sqrt(var)
        rows.append(
            {
                "item": item,
                **_base_frame(groups, n, W, p["W2"]),
                "estimate": tot,
                "se": se,
                "ci_low": tot - q * se,
                "ci_high": tot + q * se,
                "deff": deff,
            }
        )
    return _finish(groups, rows, _MEAN_COLS)


def _levels(s: pd.Series) -> list:
    if isinstance(s.dtype, pd.CategoricalDtype):
        return list(s.cat.categories)
    return sorted(s.dropna().unique().tolist())


def _logit_ci(p, se, df, level):
    q = stats.t.ppf(0.5 + level / 2, df)
    with np.errstate(divide="ignore", invalid="ignore"):
        eta = np.log(p / (1 - p))
        s = se / (p * (1 - p))
        lo = 1 / (1 + np.exp(-(eta - q * s)))
        hi = 1 / (1 + np.exp(-(eta + q * s)))
    edge = (p <= 0) | (p >= 1)
    return np.where(edge, p, lo), np.where(edge, p, hi)


def survey_proportion(
    data: pd.DataFrame,
    *,
    item: str,
    by: str | Sequence[str] = (),
    design: SurveyDesign | None = None,
    level: float = 0.95,
    method: str = "logit",
) -> pd.DataFrame:
    """Weighted shares of each category of an item (R ``svymean`` on a factor, ``svyciprop``).

    Parameters
    ----------
    data : DataFrame
        One row per respondent.
    item : str
        A categorical, string or numeric column; each distinct non-missing value is a
        category (categorical columns keep all their categories, in order).
    by, design
        As :func:`survey_mean`.
    level : float
        Confidence level.
    method : {"logit", "wald"}
        ``"logit"``: interval on the logit scale with Student's t on the domain degrees
        of freedom, as ``svyciprop(method="logit")`` (a share of exactly 0 or 1 gets the
        degenerate interval [p, p]). ``"wald"``: normal interval ``p +- z se``.

    Returns
    -------
    DataFrame
        One row per group and category: the ``by`` columns, ``level`` (the category),
        ``n`` (unweighted non-missing base of the item), ``n_weighted``, ``n_effective``,
        ``count`` (unweighted respondents in the category), ``estimate`` in [0, 1],
        ``se``, ``ci_low``, ``ci_high``, ``deff``, ``df``.
    """
    if method not in ("logit", "wald"):
        raise ValueError(f"method {method!r}: use 'logit' or 'wald'")
    if not isinstance(item, str):
        raise ValueError(f"item must be one column name, got {item!r}")
    level = _check_level(level)
    prep, groups = _setup(data, design, by, [item])
    s = data[item]
    notna = s.notna().to_numpy()
    cats = _levels(s)
    df = groups.degf(notna)
    q = _z(level)
    rows = []
    for cat in cats:
        y = np.where(notna, (s == cat).to_numpy(dtype=bool, na_value=False), np.nan)
        p = _mean_parts(groups, y.astype(float), valid=notna)
        n, W = p["n"], p["W"]
        est = np.where(n > 0, p["estimate"], np.nan)
        se = np.where(n > 0, np.sqrt(p["var"]), np.nan)
        with np.errstate(divide="ignore", invalid="ignore"):
            s2 = n / (n - 1) * p["ss"] / W
            deff = p["var"] / (s2 / n * _srs_factor(n, W))
        if method == "logit":
            lo, hi = _logit_ci(est, se, df, level)
        else:
            lo, hi = est - q * se, est + q * se
        count = groups.sums((y == 1).astype(float)).astype(np.int64)
        rows.append(
            {
                "level": cat,
                **_base_frame(groups, n, W, p["W2"]),
                "count": count,
                "estimate": est,
                "se": se,
                "ci_low": lo,
                "ci_high": hi,
                "deff": deff,
                "df": df,
            }
        )
    cols = [
        "level",
        "n",
        "n_weighted",
        "n_effective",
        "count",
        "estimate",
        "se",
        "ci_low",
        "ci_high",
        "deff",
        "df",
    ]
    out = _finish(groups, rows, cols)
    if groups.by:
        order = np.argsort(np.tile(np.arange(groups.G), len(cats)), kind="stable")
        out = out.iloc[order].reset_index(drop=True)
    return out


def survey_ratio(
    data: pd.DataFrame,
    *,
    numerator: str,
    denominator: str,
    by: str | Sequence[str] = (),
    design: SurveyDesign | None = None,
    level: float = 0.95,
) -> pd.DataFrame:
    """Ratio of two weighted totals (R ``svyratio``), on rows where both are answered.

    Parameters
    ----------
    data : DataFrame
        One row per respondent.
    numerator, denominator : str
        Numeric columns; the estimate is ``sum w y / sum w x``.
    by, design, level
        As :func:`survey_mean`.

    Returns
    -------
    DataFrame
        The ``by`` columns, ``numerator``, ``denominator``, ``n``, ``n_weighted``,
        ``n_effective``, ``estimate``, ``se``, ``ci_low``, ``ci_high`` (normal).
    """
    level = _check_level(level)
    prep, groups = _setup(data, design, by, [numerator, denominator])
    y = _numeric_item(data, numerator)
    x = _numeric_item(data, denominator)
    valid = ~np.isnan(y) & ~np.isnan(x) & groups.member
    wd = np.where(valid, prep.w, 0.0)
    y0, x0 = np.where(valid, y, 0.0), np.where(valid, x, 0.0)
    Y, X = groups.sums(wd * y0), groups.sums(wd * x0)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = Y / X
        z = np.nan_to_num(wd * (y0 - groups.expand(r) * x0) / groups.expand(X))
    se = np.sqrt(groups.var(z))
    q = _z(level)
    base = _base_frame(
        groups, groups.sums(valid.astype(float)), groups.sums(wd), groups.sums(wd * prep.w)
    )
    row = {
        "numerator": numerator,
        "denominator": denominator,
        **base,
        "estimate": r,
        "se": se,
        "ci_low": r - q * se,
        "ci_high": r + q * se,
    }
    return _finish(groups, [row], list(row))


def survey_var(
    data: pd.DataFrame,
    *,
    items: str | Sequence[str],
    by: str | Sequence[str] = (),
    design: SurveyDesign | None = None,
    level: float = 0.95,
) -> pd.DataFrame:
    """Population variance of items with a design-based SE (R ``svyvar``).

    The estimate is ``n/(n-1) sum w (y - ybar)^2 / sum w`` over the non-missing rows of
    the group; its SE is that of the weighted mean of ``n/(n-1) (y - ybar)^2`` (the mean's
    own uncertainty drops out of the linearisation).

    Returns
    -------
    DataFrame
        The ``by`` columns, ``item``, ``n``, ``n_weighted``, ``n_effective``, ``estimate``,
        ``se``, ``ci_low``, ``ci_high`` (normal).
    """
    items = _as_list(items, "items")
    level = _check_level(level)
    prep, groups = _setup(data, design, by, items)
    q = _z(level)
    rows = []
    for item in items:
        y = _numeric_item(data, item)
        p = _mean_parts(groups, y)
        n = p["n"]
        with np.errstate(divide="ignore", invalid="ignore"):
            u = (y - groups.expand(p["estimate"])) ** 2 * groups.expand(n / (n - 1))
        u = np.where(p["valid"], u, np.nan)
        pv = _mean_parts(groups, u, valid=p["valid"])
        se = np.sqrt(pv["var"])
        est = pv["estimate"]
        rows.append(
            {
                "item": item,
                **_base_frame(groups, n, p["W"], p["W2"]),
                "estimate": est,
                "se": se,
                "ci_low": est - q * se,
                "ci_high": est + q * se,
            }
        )
    return _finish(groups, rows, _MEAN_COLS[:-1])


# --------------------------------------------------------------------------------------
# Domain differences (svyttest)
# --------------------------------------------------------------------------------------
def domain_difference(
    data: pd.DataFrame,
    *,
    item: str,
    by: str,
    levels: Sequence | None = None,
    within: str | Sequence[str] = (),
    design: SurveyDesign | None = None,
    level: float = 0.95,
    distribution: str = "t",
) -> pd.DataFrame:
    """Difference of the mean of ``item`` between two domains, with the design covariance.

    The difference ``mean(level_2) - mean(level_1)`` is a smooth function of domain totals
    of the same design; its influence values are the second domain's minus the first's,
    so its SE includes the covariance the design induces between the domains (shared
    strata and PSUs). With two domains this is R's ``svyttest(item ~ by, design)``.

    Parameters
    ----------
    data : DataFrame
        One row per respondent.
    item : str
        Numeric column (missing values are a domain).
    by : str
        The column defining the domains (e.g. the wave).
    levels : pair, optional
        ``(first, second)`` values of ``by``; default: the column's two values (error if
        it has more).
    within : str or sequence of str
        Further grouping (e.g. segment): one difference per group.
    design : SurveyDesign, optional
        The sampling design.
    level : float
        Confidence level.
    distribution : {"t", "normal"}
        Reference distribution for the test and interval: Student's t with ``df`` = design
        df of the two domains' rows (PSUs minus strata) minus 1, as ``svyttest``; or the
        normal (a z test).

    Returns
    -------
    DataFrame
        The ``within`` columns, ``item``, ``level_1``, ``level_2``, ``n_1``, ``n_2``,
        ``estimate_1``, ``estimate_2``, ``estimate`` (difference 2 - 1), ``se``,
        ``statistic`` (t or z), ``df``, ``p_value`` (two-sided), ``ci_low``, ``ci_high``.
    """
    if distribution not in ("t", "normal"):
        raise ValueError(f"distribution {distribution!r}: use 't' or 'normal'")
    if not isinstance(by, str):
        raise ValueError(f"by must be one column name, got {by!r}")
    level = _check_level(level)
    within = _as_list(within, "within")
    _check_columns(data, [by], "by")
    if by in within:
        raise ValueError(f"column {by!r} is both by and within")
    prep, groups = _setup(data, design, within, [item])
    s = data[by]
    if levels is None:
        levels = _levels(s)
        if len(levels) != 2:
            raise ValueError(
                f"by column {by!r} has {len(levels)} values {levels!r}; give levels=(first, second)"
            )
    levels = list(levels)
    if len(levels) != 2 or levels[0] == levels[1]:
        raise ValueError(f"levels must be two different values of {by!r}, got {levels!r}")
    present = set(s.dropna().unique().tolist())
    for lv in levels:
        if lv not in present:
            raise ValueError(f"by column {by!r} has no value {lv!r}")
    y = _numeric_item(data, item)
    parts = []
    for lv in levels:
        d = (s == lv).to_numpy(dtype=bool, na_value=False)
        parts.append(_mean_parts(groups, y, valid=~np.isnan(y) & d))
    est = parts[1]["estimate"] - parts[0]["estimate"]
    z = parts[1]["z"] - parts[0]["z"]
    se = np.sqrt(groups.var(z))
    union = parts[0]["valid"] | parts[1]["valid"]
    df = groups.degf(union) - 1
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = est / se
    if distribution == "t":
        p = 2 * stats.t.sf(np.abs(stat), df)
        q = stats.t.ppf(0.5 + level / 2, df)
    else:
        p = 2 * stats.norm.sf(np.abs(stat))
        q = _z(level)
    row = {
        "item": item,
        "level_1": levels[0],
        "level_2": levels[1],
        "n_1": parts[0]["n"].astype(np.int64),
        "n_2": parts[1]["n"].astype(np.int64),
        "estimate_1": parts[0]["estimate"],
        "estimate_2": parts[1]["estimate"],
        "estimate": est,
        "se": se,
        "statistic": stat,
        "df": df,
        "p_value": p,
        "ci_low": est - q * se,
        "ci_high": est + q * se,
    }
    return _finish(groups, [row], list(row))


def survey_ttest(
    data: pd.DataFrame,
    *,
    item: str,
    group: str,
    design: SurveyDesign | None = None,
    level: float = 0.95,
) -> pd.DataFrame:
    """Design-based t test of a mean difference between two groups (R ``svyttest``).

    A thin wrapper of :func:`domain_difference` with the t distribution; ``group`` must
    have exactly two values, and the difference is second minus first (sorted order, or
    category order for a categorical column).

    Returns
    -------
    DataFrame
        One row, columns as :func:`domain_difference`.
    """
    return domain_difference(
        data, item=item, by=group, design=design, level=level, distribution="t"
    )


# --------------------------------------------------------------------------------------
# Rao-Scott chi-square (svychisq)
# --------------------------------------------------------------------------------------
def survey_chisq(
    data: pd.DataFrame,
    *,
    row: str,
    col: str,
    design: SurveyDesign | None = None,
    statistic: str = "F",
) -> pd.DataFrame:
    """Rao-Scott test of association in a weighted two-way table (R ``svychisq``).

    Pearson's X^2 of the weighted table rescaled to the sample size is corrected by the
    design effects of the cell proportions: ``Delta = (C' D^-1 C / N)^-1 C' D^-1 V D^-1 C``
    with ``C`` a basis of the interaction contrasts, ``D`` the diagonal of cell shares and
    ``V`` their design covariance (Rao & Scott 1984, Ann. Stat. 12(1)).

    Parameters
    ----------
    data : DataFrame
        One row per respondent; rows with a missing ``row`` or ``col`` are left out
        (R counts them in the rescaling total N; here N is the complete rows).
    row, col : str
        The two categorical columns.
    design : SurveyDesign, optional
        The sampling design.
    statistic : {"F", "Chisq"}
        ``"F"``: ``X^2 / trace(Delta)`` on ``F(d, d nu)`` with the Satterthwaite
        ``d = trace(Delta)^2 / trace(Delta^2)`` and ``nu`` the design df (PSUs - strata)
        - the second-order correction. ``"Chisq"``: as R, ``statistic`` is Pearson's X^2
        and the p-value is from ``X^2 / mean(eigenvalues of Delta)`` on
        ``(r-1)(c-1)`` df - the first-order correction.

    Returns
    -------
    DataFrame
        One row: ``statistic``, ``pearson`` (uncorrected X^2), ``adjusted`` (the statistic
        the p-value is read from), ``ndf``, ``ddf`` (NaN for Chisq), ``df`` ((r-1)(c-1)),
        ``p_value``, ``method``.
    """
    if statistic not in ("F", "Chisq"):
        raise ValueError(f"statistic {statistic!r}: use 'F' or 'Chisq'")
    prep, _ = _setup(data, design, [], [row, col], what="table")
    if row == col:
        raise ValueError(f"row and col are the same column {row!r}")
    r_codes, r_lev = pd.factorize(data[row], sort=True)
    c_codes, c_lev = pd.factorize(data[col], sort=True)
    nr, nc = len(r_lev), len(c_lev)
    for name, k in ((row, nr), (col, nc)):
        if k < 2:
            raise ValueError(f"column {name!r} needs at least two values, has {k}")
    ok = (r_codes >= 0) & (c_codes >= 0)
    cell = np.where(ok, c_codes * nr + r_codes, -1)  # rows vary fastest, as R interaction()
    K = nr * nc
    N = int(ok.sum())
    w = np.where(ok, prep.w, 0.0)
    Wt = w.sum()
    Z = np.zeros((prep.n, K))
    idx = np.flatnonzero(ok)
    Z[idx, cell[idx]] = 1.0
    p = Z.T @ w / Wt
    infl = (Z - p) * (w / Wt)[:, None]
    infl[~ok] = 0.0
    V = prep.vcov(infl)
    table = (p * N).reshape(nc, nr).T
    expected = np.outer(table.sum(1), table.sum(0)) / N
    pearson = float(((table - expected) ** 2 / expected).sum())
    rr, cc = np.tile(np.arange(nr), nc), np.repeat(np.arange(nc), nr)
    X1 = np.column_stack(
        [np.ones(K)]
        + [(rr == i).astype(float) for i in range(1, nr)]
        + [(cc == j).astype(float) for j in range(1, nc)]
    )
    X12 = np.column_stack(
        [((rr == i) & (cc == j)).astype(float) for j in range(1, nc) for i in range(1, nr)]
    )
    Cmat = X12 - X1 @ np.linalg.lstsq(X1, X12, rcond=None)[0]
    with np.errstate(divide="ignore"):
        idm = np.where(p == 0, 0.0, 1 / p)
    denom = (Cmat * (idm / N)[:, None]).T @ Cmat
    numr = (Cmat * idm[:, None]).T @ V @ (Cmat * idm[:, None])
    Delta = np.linalg.solve(denom, numr)
    tr = float(np.trace(Delta))
    d0 = tr**2 / float(np.trace(Delta @ Delta))
    nu = prep.degf
    df = (nr - 1) * (nc - 1)
    if statistic == "F":
        stat = pearson / tr
        out = {
            "statistic": stat,
            "pearson": pearson,
            "adjusted": stat,
            "ndf": d0,
            "ddf": d0 * nu,
            "df": df,
            "p_value": float(stats.f.sf(stat, d0, d0 * nu)),
            "method": "Rao-Scott F (second-order)",
        }
    else:
        adj = pearson / (tr / df)
        out = {
            "statistic": pearson,
            "pearson": pearson,
            "adjusted": adj,
            "ndf": np.nan,
            "ddf": np.nan,
            "df": df,
            "p_value": float(stats.chi2.sf(adj, df)),
            "method": "Rao-Scott chi-square (first-order)",
        }
    return pd.DataFrame([out])


# --------------------------------------------------------------------------------------
# Linear regression (svyglm, gaussian)
# --------------------------------------------------------------------------------------
def survey_glm(
    data: pd.DataFrame,
    *,
    outcome: str,
    predictors: Sequence[str],
    design: SurveyDesign | None = None,
    level: float = 0.95,
) -> pd.DataFrame:
    """Survey-weighted linear regression with sandwich SEs (R ``svyglm``, gaussian).

    Coefficients solve the weighted normal equations ``X'WX b = X'Wy`` on complete rows;
    the covariance is ``A^-1 V A^-1`` with ``A = X'WX`` and ``V`` the design covariance of
    the score totals ``w_i x_i e_i``. Tests and intervals use Student's t on
    ``df_residual = degf + 1 - p`` (``summary.svyglm``).

    Parameters
    ----------
    data : DataFrame
        One row per respondent.
    outcome : str
        Numeric response.
    predictors : sequence of str
        Numeric predictors; an intercept is added.
    design : SurveyDesign, optional
        The sampling design.
    level : float
        Confidence level.

    Returns
    -------
    DataFrame
        One row per term (``"(Intercept)"`` first): ``term``, ``estimate``, ``se``,
        ``statistic`` (t), ``df``, ``p_value``, ``ci_low``, ``ci_high``, ``n``.
    """
    predictors = _as_list(predictors, "predictors")
    level = _check_level(level)
    if not predictors:
        raise ValueError("predictors is empty")
    prep, groups = _setup(data, design, [], [outcome, *predictors], what="model")
    y = _numeric_item(data, outcome)
    X = np.column_stack([np.ones(prep.n)] + [_numeric_item(data, c) for c in predictors])
    ok = ~np.isnan(y) & ~np.isnan(X).any(axis=1)
    k = X.shape[1]
    if ok.sum() <= k:
        raise ValueError(f"survey_glm: only {int(ok.sum())} complete rows for {k} coefficients")
    w = np.where(ok, prep.w, 0.0)
    Xo = np.where(ok[:, None], X, 0.0)
    yo = np.where(ok, y, 0.0)
    A = (Xo * w[:, None]).T @ Xo
    if np.linalg.matrix_rank(A) < k:
        raise ValueError(f"survey_glm: the predictors {predictors} are collinear")
    beta = np.linalg.solve(A, (Xo * w[:, None]).T @ yo)
    e = yo - Xo @ beta
    U = Xo * (w * e)[:, None]
    Ainv = np.linalg.inv(A)
    cov = Ainv @ prep.vcov(U) @ Ainv
    se = np.sqrt(np.diag(cov))
    df = float(groups.degf(ok)[0]) + 1 - k
    t = beta / se
    q = stats.t.ppf(0.5 + level / 2, df)
    return pd.DataFrame(
        {
            "term": ["(Intercept)", *predictors],
            "estimate": beta,
            "se": se,
            "statistic": t,
            "df": df,
            "p_value": 2 * stats.t.sf(np.abs(t), df),
            "ci_low": beta - q * se,
            "ci_high": beta + q * se,
            "n": int(ok.sum()),
        }
    )


# --------------------------------------------------------------------------------------
# Sample profile
# --------------------------------------------------------------------------------------
def sample_profile(
    data: pd.DataFrame,
    *,
    by: str | Sequence[str] = (),
    design: SurveyDesign | None = None,
) -> pd.DataFrame:
    """Unweighted, weighted and effective sample size per group, with shares.

    Parameters
    ----------
    data : DataFrame
        One row per respondent.
    by : str or sequence of str
        Grouping columns. Shares are those of the *last* ``by`` column within each
        combination of the others (e.g. ``by=["wave", "segment"]``: each segment's share of
        its wave); with one column, each value's share of the sample.
    design : SurveyDesign, optional
        Supplies the weight.

    Returns
    -------
    DataFrame
        The ``by`` columns, ``n``, ``n_weighted``, ``n_effective`` (Kish
        ``(sum w)^2 / sum w^2``), ``share`` (of ``n``) and ``share_weighted`` (of
        ``n_weighted``), both in [0, 1].
    """
    prep, groups = _setup(data, design, by, [])
    w = prep.w
    one = groups.member.astype(float)
    n = groups.sums(one)
    W = groups.sums(w)
    out = groups.keys.copy() if groups.by else pd.DataFrame(index=range(1))
    base = _base_frame(groups, n, W, groups.sums(w * w))
    for c, v in base.items():
        out[c] = v
    outer = groups.by[:-1]
    if outer:
        tot_n = out.groupby(outer, sort=False, observed=True)["n"].transform("sum")
        tot_w = out.groupby(outer, sort=False, observed=True)["n_weighted"].transform("sum")
    else:
        tot_n, tot_w = out["n"].sum(), out["n_weighted"].sum()
    out["share"] = out["n"] / tot_n
    out["share_weighted"] = out["n_weighted"] / tot_w
    return out
