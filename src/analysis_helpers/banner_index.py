"""Index rows of a banner: the CSI and the area and indicator indices by banner column.

A node of the indicator hierarchy (the index, an area, an indicator) is, in every banner
column, the weighted sum of its items' rescaled means, ``sum_i a_i 100 (xbar_i - min_i) /
(max_i - min_i)``, with ``a_i`` the product of the normalised weights on the path from the
node down to the item - exactly :func:`analysis_helpers.kpis.csi`. Item means use each
item's own answered rows; a column (or Total, or the rest of the sample) that has no answer
at all to an item gets the index of what it did rate: the weights are renormalised over the
answered children at every level (``kpis._group_coefficients``), as ``csi(by=...)`` does per
group.

The design covariance of a row's ``2 C + 1`` estimates (the C columns of a banner variable,
Total, the C complements) comes from their linearised influence values (Taylor
linearisation; with the path weights fixed, the influence of the index in selection ``s`` is
``sum_i a_i(s) 100 / (max_i - min_i) w (y_i - xbar_i(s)) / W_i(s)`` over the respondents of
``s`` who answered item ``i``), summed per PSU (or per respondent without clusters) and
combined within strata with the factors of :class:`analysis_helpers._design.PreparedDesign`
(fpc, lonely PSUs) - the variance of R ``survey::svyrecvar``. The influence values are built
chunk by chunk as two matrix products (answers x coefficients), so memory stays bounded.

References
----------
Fornell, C., Johnson, M. D., Anderson, E. W., Cha, J., & Bryant, B. E. (1996). The American
Customer Satisfaction Index: Nature, purpose, and findings. *Journal of Marketing*, 60(4),
7-18. Woodruff, R. S. (1971). A simple method for approximating the variance of a
complicated estimate. *JASA*, 66(334), 411-414 (linearisation of a function of totals).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse

from ._design import PreparedDesign
from .kpis import _group_coefficients, _level_weights, _node_path
from .text import template

__all__ = ["IndexRow", "INDEX_UNIT", "index_rows_of", "IndexTables"]

INDEX_UNIT = "index (0-100)"
LEVELS = ("index", "area", "indicator")
_CHUNK = 131_072


@dataclass(frozen=True)
class IndexRow:
    """One index row of a banner: a node of the indicator hierarchy.

    Parameters
    ----------
    level : {"index", "area", "indicator"}
        The node's level ("index": the CSI).
    name : str
        The area or indicator name ("index" for the CSI).
    label : str
        Display label.
    """

    level: str
    name: str
    label: str

    def __post_init__(self) -> None:
        """Check the level; raise ``ValueError`` naming the row."""
        if self.level not in LEVELS:
            raise ValueError(
                f"banner_table: index row {self.name!r}: unknown level {self.level!r}; use "
                f"{list(LEVELS)}"
            )

    @property
    def key(self) -> str:
        """Return the row key: ``"csi"``, ``"area:<name>"`` or ``"indicator:<name>"``."""
        return "csi" if self.level == "index" else f"{self.level}:{self.name}"


def index_rows_of(
    hierarchy: pd.DataFrame,
    levels: Sequence[str],
    labels: dict[str, str] | None = None,
    *,
    language: str = "en",
) -> list[IndexRow]:
    """Return the index rows of a hierarchy, top-down: the CSI, the areas, the indicators.

    Parameters
    ----------
    hierarchy : DataFrame
        One row per item: ``item``, ``indicator``, ``area`` (as :func:`~.kpis.csi`).
    levels : sequence of {"csi", "areas", "indicators"}
        Which rows: the CSI, every area, every indicator (an indicator that is its area
        itself - items rolled straight into the area - is left out).
    labels : dict, optional
        Display labels of the areas and indicators (default the names).
    language : str
        The language of the CSI row's label (text table ``cross.csi_label``).

    Returns
    -------
    list of IndexRow
        In hierarchy order: the CSI, then each area followed by its indicators.
    """
    bad = [x for x in levels if x not in ("csi", "areas", "indicators")]
    if bad:
        raise ValueError(
            f"banner index: unknown index rows {bad[0]!r}; use 'csi', 'areas', 'indicators'"
        )
    labels = labels or {}
    out: list[IndexRow] = []
    if "csi" in levels:
        out.append(IndexRow("index", "index", template("cross.csi_label", language)))
    for area, g in hierarchy.groupby("area", sort=False):
        if "areas" in levels:
            out.append(IndexRow("area", str(area), str(labels.get(str(area), area))))
        if "indicators" in levels:
            for ind in dict.fromkeys(g["indicator"]):
                if ind != area:
                    out.append(IndexRow("indicator", str(ind), str(labels.get(str(ind), ind))))
    return out


class IndexTables:
    """The hierarchy's items as arrays, shared by every index row and banner variable.

    Parameters
    ----------
    data : DataFrame
        The respondents (items not in it count as not asked).
    hierarchy : DataFrame
        ``item``, ``indicator``, ``area``, ``scale_min``, ``scale_max`` and optionally
        ``weight_item``, ``weight_indicator``, ``weight_area`` (as :func:`~.kpis.csi`).
    prep : PreparedDesign
        The design.
    rows : sequence of IndexRow
        The index rows of the banner (their weights are renormalised together).
    """

    def __init__(
        self,
        data: pd.DataFrame,
        hierarchy: pd.DataFrame,
        prep: PreparedDesign,
        rows: Sequence[IndexRow],
    ):
        h = hierarchy.reset_index(drop=True)
        self.h = h
        self.items = list(h["item"])
        self.lo = h["scale_min"].astype(float).to_numpy()
        self.k = 100.0 / (h["scale_max"].astype(float).to_numpy() - self.lo)
        self.w_item = _level_weights(h, "weight_item", "item", "indicator")
        self.w_ind = _level_weights(h, "weight_indicator", "indicator", "area")
        self.w_area = _level_weights(h, "weight_area", "area", None)
        self.item_ind = h.set_index("item")["indicator"]
        self.ind_area = h.drop_duplicates("indicator").set_index("indicator")["area"]
        n, m = prep.n, len(self.items)
        w = prep.w
        self.A = np.zeros((n, m))  # w where answered
        self.Y = np.zeros((n, m))  # w y where answered
        self.answered = np.zeros((n, m), dtype=bool)
        self.keys = list(dict.fromkeys((r.level, r.name) for r in rows))
        self.paths = {
            (r.level, r.name): _node_path(
                h, r.level, r.name, self.w_item, self.w_ind, self.w_area,
                self.item_ind, self.ind_area,
            )
            for r in rows
        }  # fmt: skip
        self._cache: dict[int, tuple] = {}
        for j, item in enumerate(self.items):
            if item not in data.columns:
                continue
            y = pd.to_numeric(data[item], errors="coerce").to_numpy(dtype=float)
            ok = ~np.isnan(y)
            self.A[:, j] = np.where(ok, w, 0.0)
            self.Y[:, j] = np.where(ok, w * y, 0.0)
            self.answered[:, j] = ok
        self.prep = prep

    def _variable(self, vi: int, codes: np.ndarray, C: int, sel: np.ndarray) -> tuple:
        """Return (cached per banner variable) the items' totals and every node's weights.

        Per item and selection the sums of ``w`` and ``w y`` over its answers, and per
        node the path weights renormalised over the items each selection answered.
        """
        if vi not in self._cache:
            C1 = C + 1
            m = len(self.items)
            W_c = np.vstack(
                [np.bincount(codes, weights=self.A[:, j], minlength=C1) for j in range(m)]
            )
            Y_c = np.vstack(
                [np.bincount(codes, weights=self.Y[:, j], minlength=C1) for j in range(m)]
            )
            W_s, Y_s = W_c @ sel, Y_c @ sel  # items x S
            asked = {i: W_s[j] > 0 for j, i in enumerate(self.items)}
            coef = _group_coefficients(
                self.h, self.items, self.keys, self.paths, asked,
                self.w_item, self.w_ind, self.w_area,
            )  # fmt: skip
            self._cache[vi] = (W_s, Y_s, dict(zip(self.keys, coef, strict=True)))
        return self._cache[vi]

    def node(
        self, row: IndexRow, vi: int, codes: np.ndarray, C: int, sel: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Return a node's estimates, covariance and bases in the selections of a variable.

        Parameters
        ----------
        row : IndexRow
            The node (one of the rows given to the constructor).
        vi : int
            The index of the banner variable (the key of the cache).
        codes : ndarray
            Each respondent's column of the banner variable, 0..C-1 (C: none).
        C : int
            The number of columns.
        sel : ndarray
            ``(C + 1) x S``: which cells (the C columns and the "none" cell) make up each
            selection (the C columns, Total, the C complements).

        Returns
        -------
        est : ndarray
            The S estimates (NaN where the selection answered none of the node's items).
        cov : ndarray
            ``S x S`` design covariance.
        answered : ndarray
            Per respondent: answered at least one of the node's items (the bases).
        """
        W_all, Y_all, coef = self._variable(vi, codes, C, sel)
        path = self.paths[(row.level, row.name)]
        cols = [self.items.index(i) for i in path]
        A, Y = self.A[:, cols], self.Y[:, cols]
        W_s, Y_s = W_all[cols], Y_all[cols]
        a_mat = np.vstack([np.asarray(coef[(row.level, row.name)][i], dtype=float) for i in path])
        k = self.k[cols][:, None]
        lo = self.lo[cols][:, None]
        with np.errstate(divide="ignore", invalid="ignore"):
            R = np.where(W_s > 0, Y_s / np.where(W_s > 0, W_s, 1.0), 0.0)
            B = np.where(W_s > 0, a_mat * k / np.where(W_s > 0, W_s, 1.0), 0.0)
        any_asked = (W_s > 0).any(axis=0)
        est = np.where(any_asked, (a_mat * k * np.where(W_s > 0, R - lo, 0.0)).sum(axis=0), np.nan)
        if self.prep.rep is not None:
            cov = self._replicate_covariance(vi, codes, C, sel, cols, a_mat, est, R, W_s > 0)
        else:
            cov = self._covariance(A, Y, B, B * R, codes, C, sel)
        answered: np.ndarray = np.asarray(self.answered[:, cols].any(axis=1))
        return est, cov, answered

    def _replicate_totals(self, vi: int, codes: np.ndarray, C: int) -> tuple:
        """Return (cached per banner variable) the replicate sums of w and w y per cell.

        Per item, column cell (0..C) and replicate: the replicate weights summed over the
        item's answers (``items x (C + 1) x R``), and the same for ``w y``.
        """
        key = -1 - vi
        if key not in self._cache:
            rep = self.prep.rep
            assert rep is not None
            order = np.argsort(codes, kind="stable")
            starts = np.searchsorted(codes[order], np.arange(C + 2))
            m, R_ = len(self.items), rep.weights.shape[1]
            Wr = np.zeros((m, C + 1, R_))
            Yr = np.zeros((m, C + 1, R_))
            w = self.prep.w
            for c in range(C + 1):
                rows = order[starts[c] : starts[c + 1]]
                if not len(rows):
                    continue
                reps = rep.weights[rows]
                inv = 1.0 / w[rows, None]
                Wr[:, c] = (self.A[rows] * inv).T @ reps
                Yr[:, c] = (self.Y[rows] * inv).T @ reps
            self._cache[key] = (Wr, Yr)
        return self._cache[key]

    def _replicate_covariance(
        self,
        vi: int,
        codes: np.ndarray,
        C: int,
        sel: np.ndarray,
        cols: list[int],
        a_mat: np.ndarray,
        est: np.ndarray,
        R: np.ndarray,
        answered: np.ndarray,
    ) -> np.ndarray:
        """Return the replicate covariance of a node's estimates (replicate-weight designs).

        Each replicate's index is recomputed from its own item means per selection (the
        path weights, renormalised over the items the full sample answered, stay fixed;
        an item mean a replicate cannot estimate - no weight on its answers - keeps the
        full-sample mean), as R ``svrepdesign`` recomputes a statistic.
        """
        rep = self.prep.rep
        assert rep is not None
        Wr, Yr = self._replicate_totals(vi, codes, C)
        Ws = np.einsum("icr,cs->isr", Wr[cols], sel)
        Ys = np.einsum("icr,cs->isr", Yr[cols], sel)
        with np.errstate(divide="ignore", invalid="ignore"):
            Rr = np.where(Ws > 0, Ys / np.where(Ws > 0, Ws, 1.0), R[:, :, None])
        k = self.k[cols][:, None, None]
        lo = self.lo[cols][:, None, None]
        asked = answered[:, :, None]
        est_r = (a_mat[:, :, None] * k * np.where(asked, Rr - lo, 0.0)).sum(axis=0)
        c = est[:, None] if rep.mse else est_r.mean(axis=1, keepdims=True)
        d = np.where(np.isfinite(est)[:, None], est_r - c, 0.0)
        return rep.scale * (d * rep.rscales) @ d.T

    def _covariance(
        self,
        A: np.ndarray,
        Y: np.ndarray,
        B: np.ndarray,
        BR: np.ndarray,
        codes: np.ndarray,
        C: int,
        sel: np.ndarray,
    ) -> np.ndarray:
        """Return the design covariance of the selections' totals of the influence values.

        The influence of respondent r in selection s is ``member(r, s) (Y_r . B_s - A_r .
        BR_s)``; chunk by chunk, the per-PSU (or per-respondent) totals are combined within
        strata as :meth:`PreparedDesign.vcov` does.
        """
        prep = self.prep
        if prep.cal is not None or prep.stages:  # raked or multi-stage: the rows, by vcov
            return prep.vcov((Y @ B - A @ BR) * (sel > 0)[codes])
        S = sel.shape[1]
        H = prep.n_strata
        c = prep.scale
        ok = ~prep.lonely
        clustered = prep.psu is not None and prep.psu_stratum is not None
        member = sel > 0  # (C + 1) x S
        gram = np.zeros((S, S))
        P = len(prep.psu_stratum) if clustered and prep.psu_stratum is not None else 0
        per_psu = np.zeros((P, S)) if clustered else None
        T = np.zeros((H, S))
        cw = np.where(ok, c, 0.0)
        for start in range(0, prep.n, _CHUNK):
            sl = slice(start, min(start + _CHUNK, prep.n))
            z = Y[sl] @ B - A[sl] @ BR
            z *= member[codes[sl]]
            if clustered and per_psu is not None and prep.psu is not None:
                per_psu += _onehot(prep.psu[sl], P) @ z
            else:
                st = prep.stratum[sl]
                gram += (z * cw[st][:, None]).T @ z
                T += _onehot(st, H) @ z
        if clustered and per_psu is not None and prep.psu_stratum is not None:
            ts = prep.psu_stratum
            gram = (per_psu * cw[ts][:, None]).T @ per_psu
            T = _onehot(ts, H) @ per_psu
        V = gram - (T[ok] * (c[ok] / prep.n_psu[ok])[:, None]).T @ T[ok]
        if prep.lonely.any() and prep.lonely_psu == "adjust":
            d = T[prep.lonely] - T.sum(axis=0) / prep.n_psus
            V += (d * c[prep.lonely][:, None]).T @ d
        return V * prep.average_factor


def _onehot(codes: np.ndarray, size: int) -> sparse.csr_matrix:
    """Return the sparse ``size x len(codes)`` matrix that sums rows by code."""
    m = len(codes)
    return sparse.csr_matrix((np.ones(m), (codes, np.arange(m))), shape=(size, m))
