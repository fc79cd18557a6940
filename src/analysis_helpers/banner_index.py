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
from typing import Any, cast

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
        # V = [Y, A], row-major: the Gram matrices gather whole rows
        self.V = np.zeros((n, 2 * m))
        self.Y = self.V[:, :m]  # w y where answered
        self.A = self.V[:, m:]  # w where answered
        self.answered = np.zeros((n, m), dtype=bool, order="F")
        a_j = np.empty(n)
        self.keys = list(dict.fromkeys((r.level, r.name) for r in rows))
        self.paths = {
            (r.level, r.name): _node_path(
                h, r.level, r.name, self.w_item, self.w_ind, self.w_area,
                self.item_ind, self.ind_area,
            )
            for r in rows
        }  # fmt: skip
        self._cache: dict[int, Any] = {}
        for j, item in enumerate(self.items):
            if item not in data.columns:
                continue
            y = pd.to_numeric(data[item], errors="coerce").to_numpy(dtype=float)
            ok = ~np.isnan(y)
            np.multiply(w, ok, out=a_j)
            self.A[:, j] = a_j
            self.Y[:, j] = a_j * np.where(ok, y, 0.0)
            self.answered[:, j] = ok
        self.prep = prep
        self._answered: dict[tuple[str, str], np.ndarray] = {}

    def _variable(self, vi: int, codes: np.ndarray, C: int, sel: np.ndarray) -> tuple:
        """Return (cached per banner variable) the items' totals and every node's weights.

        Per item and selection the sums of ``w`` and ``w y`` over its answers, and per
        node the path weights renormalised over the items each selection answered.
        """
        if vi not in self._cache:
            m = len(self.items)
            unit_tot = self._unit_totals(codes, C)  # units x (C + 1) x 2m
            tot = unit_tot.sum(axis=0)  # (C + 1) x 2m: Y then A
            Y_c, W_c = tot[:, :m].T, tot[:, m:].T
            W_s, Y_s = W_c @ sel, Y_c @ sel  # items x S
            asked = {i: W_s[j] > 0 for j, i in enumerate(self.items)}
            coef = _group_coefficients(
                self.h, self.items, self.keys, self.paths, asked,
                self.w_item, self.w_ind, self.w_area,
            )  # fmt: skip
            self._cache[vi] = (W_s, Y_s, dict(zip(self.keys, coef, strict=True)), unit_tot)
        return self._cache[vi]

    def _unit_totals(self, codes: np.ndarray, C: int) -> np.ndarray:
        """Return the totals of ``w y`` and ``w`` (answers only) per (unit, column cell, item).

        Units are the PSUs (clustered designs) or the strata; the last axis holds the m
        items' ``w y`` and then their ``w`` (``units x (C + 1) x 2m``).
        """
        prep = self.prep
        C1, m = C + 1, len(self.items)
        clustered = prep.psu is not None and prep.psu_stratum is not None
        unit = prep.psu if clustered and prep.psu is not None else prep.stratum
        U = len(prep.psu_stratum) if clustered and prep.psu_stratum is not None else prep.n_strata
        key = unit.astype(np.int64) * C1 + codes
        M = sparse.csr_matrix((np.ones(prep.n), (key, np.arange(prep.n))), shape=(U * C1, prep.n))
        return np.asarray(M @ self.V).reshape(U, C1, 2 * m)

    def _cell_grams(self, vi: int, codes: np.ndarray, C: int) -> np.ndarray:
        """Return (cached) per column cell the Gram matrix of the rows' ``[w y, w]`` values.

        Unclustered designs: ``G_c = sum_{r in c} f_h(r) v_r v_r'`` with ``v_r`` the row's
        ``w y`` and ``w`` of every item (2m) and ``f_h`` the stratum's variance factor (0 for
        a lonely stratum), so that the sum of squares of any linear influence values of the
        cell is a quadratic form in ``G_c`` - the rows are read once per banner variable.
        """
        key = -1000 - vi
        if key not in self._cache:
            prep = self.prep
            m = len(self.items)
            cw = np.sqrt(np.where(~prep.lonely, prep.scale, 0.0))[prep.stratum]
            order = np.argsort(codes, kind="stable")
            starts = np.searchsorted(codes[order], np.arange(C + 2))
            G = np.zeros((C + 1, 2 * m, 2 * m))
            for c in range(C + 1):
                for a in range(starts[c], starts[c + 1], _CHUNK):
                    rows = order[a : min(a + _CHUNK, starts[c + 1])]
                    v = self.V[rows]
                    v *= cw[rows, None]
                    G[c] += np.dot(v.T, v)  # symmetric rank-k update
            self._cache[key] = G
        return cast(np.ndarray, self._cache[key])

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
        W_all, Y_all, coef, unit_tot = self._variable(vi, codes, C, sel)
        path = self.paths[(row.level, row.name)]
        cols = [self.items.index(i) for i in path]
        W_s, Y_s = W_all[cols], Y_all[cols]
        a_mat = np.vstack([np.asarray(coef[(row.level, row.name)][i], dtype=float) for i in path])
        k = self.k[cols][:, None]
        lo = self.lo[cols][:, None]
        with np.errstate(divide="ignore", invalid="ignore"):
            R = np.where(W_s > 0, Y_s / np.where(W_s > 0, W_s, 1.0), 0.0)
            B = np.where(W_s > 0, a_mat * k / np.where(W_s > 0, W_s, 1.0), 0.0)
        any_asked = (W_s > 0).any(axis=0)
        est = np.where(any_asked, (a_mat * k * np.where(W_s > 0, R - lo, 0.0)).sum(axis=0), np.nan)
        prep = self.prep
        if prep.rep is not None:
            cov = self._replicate_covariance(vi, codes, C, sel, cols, a_mat, est, R, W_s > 0)
        elif prep.stages or (prep.cal is not None and not self._sums_calibrate()):
            # multi-stage, or raked with clusters / pooled lonely PSUs: the rows, by vcov
            A, Y = self.A[:, cols], self.Y[:, cols]
            cov = prep.vcov((Y @ B - A @ _br(B, R)) * (sel > 0)[codes])
        else:
            cov = self._covariance(vi, codes, C, sel, cols, B, _br(B, R), unit_tot)
            if prep.cal is not None:  # raked: the calibration's part, from the same totals
                cov = cov + self._calibration_part(vi, codes, C, sel, cols, B, _br(B, R))
        key = (row.level, row.name)
        if key not in self._answered:
            self._answered[key] = np.asarray(self.answered[:, cols].any(axis=1))
        return est, cov, self._answered[key]

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

    def _sums_calibrate(self) -> bool:
        """Whether the calibration's part of the variance comes from sums (one-stage strata).

        As :meth:`PreparedDesign.calibration_correction`: unclustered designs without the
        ``adjust`` / ``average`` lonely-PSU rules.
        """
        prep = self.prep
        lonely_rule = prep.lonely.any() and prep.lonely_psu in ("adjust", "average")
        return prep.psu is None and not prep.stages and not lonely_rule

    def _calibration_part(
        self,
        vi: int,
        codes: np.ndarray,
        C: int,
        sel: np.ndarray,
        cols: list[int],
        B: np.ndarray,
        BR: np.ndarray,
    ) -> np.ndarray:
        """Return what the raking adds to the covariance of a node's selection totals.

        The influence values are linear in the rows' ``[w y, w]`` of each column cell, so
        the calibration's part of their totals' covariance is a quadratic form in that of
        the per-cell totals of every item's ``w y`` and ``w``
        (:meth:`PreparedDesign.calibration_correction`, computed once per banner variable).
        """
        key = -2000 - vi
        if key not in self._cache:
            self._cache[key] = self.prep.calibration_correction(codes, C + 1, self.V)
        corr = self._cache[key]
        m, C1 = len(self.items), C + 1
        Q = np.zeros((2 * m, sel.shape[1]))
        Q[cols], Q[m + np.asarray(cols)] = B, -BR
        L = (Q[:, None, :] * (sel > 0)[None, :, :]).reshape(2 * m * C1, -1)  # (j, cell) x S
        return cast(np.ndarray, L.T @ corr @ L)

    def _covariance(
        self,
        vi: int,
        codes: np.ndarray,
        C: int,
        sel: np.ndarray,
        cols: list[int],
        B: np.ndarray,
        BR: np.ndarray,
        unit_tot: np.ndarray,
    ) -> np.ndarray:
        """Return the design covariance of the selections' totals of a node's influence values.

        The influence of respondent r in selection s is ``member(r, s) (Y_r . B_s - A_r .
        BR_s)``, linear in the row's values ``v_r = [Y_r, A_r]`` with coefficients ``q_s =
        [B_s, -BR_s]``. Its per-unit totals are the per-(unit, cell) totals of ``v`` times
        ``q_s``; without clusters the within-stratum sums of squares are ``q_s' G_c q_t``
        summed over the cells in both selections (:meth:`_cell_grams`). The totals are then
        combined within strata as :meth:`PreparedDesign.vcov` does (fpc, lonely PSUs).
        """
        prep = self.prep
        m = len(self.items)
        idx = np.r_[cols, m + np.asarray(cols)]
        Q = np.vstack([B, -BR])  # 2k x S
        member = (sel > 0).astype(float)  # (C + 1) x S
        c = prep.scale
        ok = ~prep.lonely
        # per-unit totals of the influence values in each selection: units x S
        zc = unit_tot[:, :, idx] @ Q  # units x (C + 1) x S
        t = np.einsum("ucs,cs->us", zc, member)
        clustered = prep.psu is not None and prep.psu_stratum is not None
        if clustered and prep.psu_stratum is not None:
            ts = prep.psu_stratum
            cw = np.where(ok, c, 0.0)[ts]
            gram = (t * cw[:, None]).T @ t
            T = _onehot(ts, prep.n_strata) @ t
        else:
            G = self._cell_grams(vi, codes, C)[:, idx][:, :, idx]  # (C + 1) x 2k x 2k
            gram = np.zeros((sel.shape[1], sel.shape[1]))
            for cell in range(C + 1):
                if member[cell].any():
                    qm = Q * member[cell]
                    gram += qm.T @ G[cell] @ qm
            T = t
        V = gram - (T[ok] * (c[ok] / prep.n_psu[ok])[:, None]).T @ T[ok]
        if prep.lonely.any() and prep.lonely_psu == "adjust":
            d = T[prep.lonely] - T.sum(axis=0) / prep.n_psus
            V += (d * c[prep.lonely][:, None]).T @ d
        return cast(np.ndarray, V * prep.average_factor)


def _br(B: np.ndarray, R: np.ndarray) -> np.ndarray:
    """Return the coefficients of the answered weights: ``B * R`` (items x selections)."""
    return B * R


def _onehot(codes: np.ndarray, size: int) -> sparse.csr_matrix:
    """Return the sparse ``size x len(codes)`` matrix that sums rows by code."""
    m = len(codes)
    return sparse.csr_matrix((np.ones(m), (codes, np.arange(m))), shape=(size, m))
