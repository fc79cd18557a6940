"""Replicate sums of per-respondent cross-products: the engine of the moment bootstraps (internal).

The driver and PLS bootstraps need, per replicate ``b``, the weighted sums
``sum_i m_bi f_i`` of each respondent's (or PSU's) cross-products ``f_i`` (weight, weighted
values, weighted squares and products) under the replicate's multipliers ``m_bi``. Those
sums are one matrix product ``M @ F`` of the multiplier matrix (replicates x units) with
the feature matrix (units x features); everything else follows from the small replicate
moment matrices.

:class:`RaoWu` holds Rao & Wu's (1988) rescaling bootstrap of a design's units: in each
stratum of ``n_h`` units, ``n_h - 1`` are drawn with replacement and a unit's multiplier is
its count times ``n_h / (n_h - 1)`` (a stratum of one unit keeps 1). The draws of a stratum
are split over blocks of units by one multinomial of the block sizes, then drawn within
each block from the block's own seed, so one block's multipliers (replicates x block) are
all that is ever in memory, and the same object gives the same multipliers every time it
is asked (several statistics, or domains, of one page share one set of replicates).
:meth:`RaoWu.sums` multiplies block by block: ``(M - 1) @ F`` in single precision (the
deviations from the full sample, whose partial sums stay small) plus the full-sample sum
``sum_i f_i`` in double precision, so the memory is bounded by the block size whatever
the number of respondents, and the cost is one pass of single-precision GEMM.

:func:`given_sums` does the same with given replicate weights (a replicate-weight design):
``(W_rep / w - 1) @ F`` in chunks of rows.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ._progress import steps

__all__ = ["RaoWu", "cross_features", "given_sums"]

_BLOCK_CELLS = 16_000_000  # multipliers of one block (16 MB of counts, 64 MB of float32)
_BLOCK_UNITS = 32_768  # units of one block at most (its features: 113 MB for 40 items)
_CACHE_CELLS = 300_000_000  # keep the counts (uint8) of all blocks below this many


class RaoWu:
    """Rao-Wu rescaling bootstrap multipliers of a design's units, in blocks.

    Parameters
    ----------
    unit_stratum : array of int
        The stratum code of each unit (PSU, or respondent without clusters).
    n_boot : int
        Number of replicates.
    rng : numpy.random.Generator
        Source of the draws (the object takes what it needs at construction).
    """

    def __init__(self, unit_stratum: np.ndarray, n_boot: int, rng: np.random.Generator):
        unit_stratum = np.asarray(unit_stratum, dtype=np.int64)
        self.n_boot = int(n_boot)
        self.n_units = len(unit_stratum)
        block = int(min(_BLOCK_UNITS, max(64, _BLOCK_CELLS // max(self.n_boot, 1))))
        #: (units, scale, draws per replicate or None for a lonely unit's block, seed)
        self.blocks: list[tuple[np.ndarray, float, np.ndarray | None, int]] = []
        order = np.argsort(unit_stratum, kind="stable")
        cuts = np.flatnonzero(np.diff(unit_stratum[order])) + 1
        for units in np.split(order, cuts):
            n_h = len(units)
            if n_h == 0:
                continue
            if n_h == 1:
                self.blocks.append((units, 1.0, None, 0))
                continue
            starts = np.arange(0, n_h, block)
            sizes = np.diff(np.append(starts, n_h))
            per_block = rng.multinomial(n_h - 1, sizes / n_h, size=self.n_boot)
            seeds = rng.integers(0, 2**63 - 1, size=len(starts))
            scale = n_h / (n_h - 1.0)
            for k, (s0, size) in enumerate(zip(starts, sizes, strict=True)):
                self.blocks.append((units[s0 : s0 + size], scale, per_block[:, k], int(seeds[k])))
        self._cache: dict[int, np.ndarray] | None = (
            {} if self.n_boot * self.n_units <= _CACHE_CELLS else None
        )

    def counts(self, k: int) -> np.ndarray:
        """Return the draws (replicates x units of block ``k``) of block ``k``."""
        units, _, m, seed = self.blocks[k]
        size = len(units)
        if m is None:
            return np.ones((self.n_boot, size), dtype=np.uint8)
        if self._cache is not None and k in self._cache:
            return self._cache[k]
        kind = np.uint16 if size <= 65_536 else np.int32  # 16-bit draws are cheaper
        picks = np.random.default_rng(seed).integers(0, size, size=int(m.sum()), dtype=kind)
        ends = np.cumsum(m)
        c = np.empty((self.n_boot, size), dtype=np.int32)
        for b in range(self.n_boot):  # one replicate's draws at a time: cache-sized counts
            c[b] = np.bincount(picks[ends[b] - m[b] : ends[b]], minlength=size)
        c = c.astype(np.uint8) if c.max() < 256 else c
        if self._cache is not None:
            self._cache[k] = c
        return c

    def multipliers(self, k: int) -> np.ndarray:
        """Return the multipliers (replicates x units, float64) of block ``k``."""
        return self.counts(k) * self.blocks[k][1]

    def sums(
        self,
        features: Callable[[np.ndarray], np.ndarray],
        point: np.ndarray,
        present: np.ndarray | None = None,
    ) -> np.ndarray:
        """Return the replicate sums (replicates x features) of the units' features.

        ``features(units)`` returns the (weighted) features of the given units, one row
        each (single precision is enough: only the deviations from the full sample are
        summed with it); ``point`` is their full-sample sum (computed by the caller in
        double precision); ``present`` (bool per unit) leaves out units that are not in
        the analysis (a domain, or rows without answers): they add nothing.
        """
        point = np.asarray(point, dtype=float)
        dev = np.zeros((self.n_boot, len(point)))
        blocks = steps(
            enumerate(self.blocks),
            desc=f"bootstrap ({self.n_boot} replicates)",
            unit="block",
            total=len(self.blocks),
        )
        for k, (units, scale, m, _) in blocks:
            if m is None:  # a stratum of one unit: multiplier 1, no deviation
                continue
            sel = None
            if present is not None:
                sel = present[units]
                if not sel.any():
                    continue
                units = units[sel]
            f = np.asarray(features(units), dtype=np.float32)
            c = self.counts(k)
            if sel is not None and not sel.all():
                c = c[:, sel]
            mult = c.astype(np.float32)
            mult -= np.float32(1.0 / scale)  # (count - 1 / scale) x scale = multiplier - 1
            dev += scale * (mult @ f)
        return point[None, :] + dev


def cross_features(x: np.ndarray, w: np.ndarray, out_dtype: type = np.float32) -> np.ndarray:
    """Return ``w * [1, x, x_i x_j (i <= j, row-major upper triangle)]`` of rows ``x`` (k, p).

    Built column block by column block in ``out_dtype`` (no (k, p^2) temporaries).
    """
    k, p = x.shape
    nf = 1 + p + p * (p + 1) // 2
    f = np.empty((k, nf), dtype=out_dtype)
    xs: np.ndarray = x.astype(out_dtype, copy=False)
    wx = xs * w.astype(out_dtype, copy=False)[:, None]
    f[:, 0] = w
    f[:, 1 : p + 1] = wx
    off = p + 1
    for i in range(p):
        np.multiply(wx[:, i : i + 1], xs[:, i:], out=f[:, off : off + p - i])
        off += p - i
    return f


def given_sums(
    mult: np.ndarray, features: Callable[[slice], np.ndarray], point: np.ndarray
) -> np.ndarray:
    """Return the replicate sums of given multipliers (rows x replicates), in chunks of rows.

    ``mult`` holds each row's replicate weight over its full-sample weight; ``features(rows)``
    the weighted features of a slice of rows; ``point`` their full-sample sum (double
    precision), as in :meth:`RaoWu.sums`.
    """
    n, R = mult.shape
    point = np.asarray(point, dtype=float)
    dev = np.zeros((R, len(point)))
    step = int(max(256, 16_000_000 // max(R, len(point))))
    for start in range(0, n, step):
        rows = slice(start, min(n, start + step))
        f = np.asarray(features(rows), dtype=np.float32)
        m = mult[rows].astype(np.float32)
        m -= np.float32(1.0)
        dev += m.T @ f
    return point[None, :] + dev
