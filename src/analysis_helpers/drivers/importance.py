"""Derived importance of drivers: correlation, beta, relative weights, LMG, bootstrap.

Every linear importance measure here is a function of one matrix: the (survey-weighted)
correlation matrix of the outcome and the drivers. :func:`weighted_correlation` computes it
from weighted moments (the ``cov.wt`` moment matrix R's ``relaimpo`` uses with weights), and
the measures follow from that small matrix:

* ``correlation`` - the zero-order correlation of each driver with the outcome;
* ``beta`` - the standardised coefficient of the full linear model, ``Rxx^-1 rxy``;
* ``relative_weight`` - Johnson's (2000) relative weights: the outcome is regressed on the
  orthogonal counterpart ``Z = X Rxx^(-1/2)`` of the drivers and the R^2 is mapped back
  through the squared loadings ``Rxx^(1/2)`` (Johnson 2000, Multivariate Behavioral Research
  35(1), 1-19). The raw weights sum to R^2;
* ``lmg`` - the LMG / Shapley-value decomposition of R^2 (Lindeman, Merenda & Gold 1980;
  Groemping 2006, Journal of Statistical Software 17(1)): the average increase in R^2 when a
  driver joins, over all orders. It is computed exactly over all ``2^p`` subsets, each
  subset's R^2 solved from the correlation matrix in batches grouped by subset size (no
  regression is refitted on the data). Time doubles per driver (about 5 ms for 10 drivers,
  0.2 s for 15, a few seconds for 20); above ``lmg_max_drivers`` the table says so in
  its ``note`` column and relative weights, which track LMG closely, should be read instead;
* ``first``, ``last``, ``betasq``, ``pratt`` - the other ``relaimpo`` metrics (squared
  zero-order correlation, R^2 lost when the driver is dropped last, squared beta, Pratt's
  ``beta * r``), available on request through ``methods``.

Bootstrap intervals follow the design: the Rao-Wu rescaling bootstrap (Rao & Wu 1988;
Rao, Wu & Yue 1992) resamples ``n_h - 1`` of the ``n_h`` PSUs of each stratum with
replacement and multiplies a PSU's weights by its count times ``n_h / (n_h - 1)``;
without clusters every respondent is a PSU, and without strata the sample is one stratum,
so a design of weights only gets the ordinary (with-replacement) bootstrap of
respondents. A clustered design's replicates move whole PSUs, so its intervals are wider
where answers cluster. A :class:`~analysis_helpers.replicates.ReplicateDesign` supplies
its own replicate weights instead, and the intervals are the estimate -/+ z times the
replicate standard error (``scale``, ``rscales``, ``mse``) as R ``svrepdesign`` gives
them. The replicate moment matrices of all replicates come from block-wise matrix
products of the multipliers with the respondents' (or PSUs') weighted cross-products,
and the measures follow from the small replicate correlation matrices. Only the first
stage's clusters are resampled (the with-replacement, ultimate-cluster approximation);
the fpc is not used.

Around the linear measures: :func:`permutation_importance_check` (a tree ensemble and
permutation importance, a non-linear cross-check) and :func:`segment_importance` (the
measures per segment or wave, stacked).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from math import comb

import numpy as np
import pandas as pd
from scipy import sparse, stats

from .._checks import check_confidence
from .._compat import renamed, warn_deprecated
from .._design import ReplicateDesign, Replicates, SurveyDesign
from .._progress import steps
from ._common import (
    DriverError,
    MissingColumnError,
    _check_columns,
    _design_weight,
    _float,
    _names,
    _weight_to_design,
    _weights,
)

__all__ = [
    "weighted_correlation",
    "importance_from_correlation",
    "driver_importance",
    "permutation_importance_check",
    "segment_importance",
]

_METHODS = (
    "correlation",
    "beta",
    "relative_weight",
    "lmg",
    "first",
    "last",
    "betasq",
    "pratt",
)
#: output columns of each method, in order
_METHOD_COLUMNS = {
    "correlation": ("correlation",),
    "beta": ("beta",),
    "relative_weight": ("relative_weight", "relative_weight_pct"),
    "lmg": ("lmg", "lmg_pct"),
    "first": ("first",),
    "last": ("last",),
    "betasq": ("betasq",),
    "pratt": ("pratt",),
}
#: deprecated method names -> the method (= column) names
_METHOD_ALIASES = {"relative_weights": "relative_weight", "shapley": "lmg"}
_DEFAULT_METHODS = ("correlation", "beta", "relative_weight", "lmg")
_SHAPLEY_HARD_MAX = 25
_COLLINEAR_TOL = 1e-8


class _Prepared:
    """Standardised data ready for weighted moments (internal).

    ``z`` holds the columns centred and scaled by their (available-case) weighted mean and
    standard deviation, with 0 where missing; ``mask`` marks answered cells (``None`` under
    listwise deletion, where every kept row is complete); ``w`` the weights of the kept rows.
    """

    def __init__(self, z, mask, w, names, n, n_effective, keep=None):
        self.z, self.mask, self.w, self.names = z, mask, w, names
        self.n, self.n_effective = n, n_effective
        self.keep = keep  # the rows of the data used (a boolean mask)


def _prepare(
    data: pd.DataFrame,
    columns: list[str],
    weight: str | None,
    missing: str,
    role: Mapping[str, str] | None = None,
    func: str = "driver_importance",
) -> _Prepared:
    """Validate and standardise ``columns``; raise DriverError for constant columns."""
    if missing not in {"listwise", "pairwise"}:
        raise ValueError(f"{func}: missing={missing!r}: use 'listwise' or 'pairwise'")
    _check_columns(data, columns, weight, func)
    raw = [_float(data, c, func) for c in columns]
    w = _weights(data, weight, func)
    keep = w > 0
    if missing == "listwise":
        for col in raw:
            keep &= ~np.isnan(col)
    if not keep.any():
        raise DriverError(
            f"{func}: no respondent has a positive weight and an answer to every one of "
            f"{', '.join(map(repr, columns))}"
        )
    w = w[keep]
    role = role or {}
    constant = []
    z = np.empty((len(w), len(columns)), order="F")
    answered = np.ones((len(w), len(columns)), dtype=bool, order="F")
    for j, (c, col) in enumerate(zip(columns, raw, strict=True)):
        col = col[keep]
        if missing == "pairwise":
            answered[:, j] = ok = ~np.isnan(col)
            v, wv = col[ok], w[ok]
        else:
            v, wv = col, w
        if v.size == 0:
            raise DriverError(f"{func}: column {c!r} has no answers among the respondents used")
        if v.min() == v.max():
            constant.append((c, v[0]))
            continue
        mean = (wv @ v) / wv.sum()
        centred = v - mean
        sd = np.sqrt((wv @ centred**2) / wv.sum())
        if missing == "pairwise":
            z[:, j] = 0.0
            z[ok, j] = centred / sd
        else:
            z[:, j] = centred / sd
    if constant:
        outcome = [(c, v) for c, v in constant if role.get(c) == "outcome"]
        if outcome:
            c, v = outcome[0]
            raise DriverError(
                f"{func}: outcome {c!r} is constant (every respondent used has {v:g}): "
                "there is no variation to explain"
            )
        listed = ", ".join(f"{c!r} (always {v:g})" for c, v in constant)
        raise DriverError(
            f"{func}: constant (zero-variance) driver(s): {listed}; a driver that does not vary "
            "cannot explain anything - drop it"
        )
    if missing == "listwise":
        n = len(w)
        n_eff = w.sum() ** 2 / (w**2).sum()
        return _Prepared(z, None, w, columns, n, n_eff, keep)
    m = answered.astype(float)
    counts = m.T @ m
    sw = (m * w[:, None]).T @ m
    sw2 = (m * (w**2)[:, None]).T @ m
    if (counts == 0).any():
        i, j = np.argwhere(counts == 0)[0]
        raise DriverError(
            f"{func}: no respondent answered both {columns[i]!r} and {columns[j]!r}; "
            "pairwise correlations need overlapping answers"
        )
    n_eff = float(np.min(sw**2 / sw2))
    return _Prepared(z, m, w, columns, int(counts.min()), n_eff, keep)


# --------------------------------------------------------------------------------------
# weighted moments -> correlation matrices (single and bootstrap replicates)
# --------------------------------------------------------------------------------------


def _corr_from_sums(sw, sx, sxx, sxy) -> np.ndarray:
    """Correlation matrices from weighted sums, batched over leading axes.

    ``sw[i, j]`` is the weight of respondents answering i and j, ``sx[i, j]`` the weighted
    sum of x_i over them, ``sxx[i, j]`` of x_i^2 and ``sxy[i, j]`` of x_i x_j.
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        mx = sx / sw
        cov = sxy / sw - mx * np.swapaxes(mx, -1, -2)
        var = sxx / sw - mx**2
        corr = cov / np.sqrt(var * np.swapaxes(var, -1, -2))
    q = corr.shape[-1]
    corr[..., np.arange(q), np.arange(q)] = 1.0
    return corr


def _corr_point(prep: _Prepared) -> np.ndarray:
    z, w = prep.z, prep.w
    if prep.mask is None:
        q = z.shape[1]
        s2 = (z * w[:, None]).T @ z
        s1 = w @ z
        sw = np.full((q, q), w.sum())
        sx = np.broadcast_to(s1[:, None], (q, q))
        sxx = np.broadcast_to(np.diag(s2)[:, None], (q, q))
        return _corr_from_sums(sw, sx, sxx, s2)
    m = prep.mask
    wm = m * w[:, None]
    wz = z * w[:, None]
    return _corr_from_sums(wm.T @ m, wz.T @ m, (wz * z).T @ m, wz.T @ z)


def _features(prep: _Prepared, rows: slice | np.ndarray) -> np.ndarray:
    """Per-respondent cross-products whose weighted sums give the moment sums."""
    z = prep.z[rows]
    w = prep.w[rows, None]
    q = z.shape[1]
    if prep.mask is None:
        iu, ju = np.triu_indices(q)
        f = np.concatenate([np.ones((len(z), 1)), z, z[:, iu] * z[:, ju]], axis=1)
    else:
        m = prep.mask[rows]
        ii, jj = np.indices((q, q)).reshape(2, -1)
        f = np.concatenate(
            [
                m[:, ii] * m[:, jj],
                z[:, ii] * m[:, jj],
                z[:, ii] ** 2 * m[:, jj],
                z[:, ii] * z[:, jj],
            ],
            axis=1,
        )
    return (f * w).astype(np.float32)


def _sums_to_corr(prep: _Prepared, total: np.ndarray) -> np.ndarray:
    q = prep.z.shape[1]
    b = total.shape[0]
    if prep.mask is None:
        iu, ju = np.triu_indices(q)
        s0, s1 = total[:, 0], total[:, 1 : q + 1]
        s2 = np.empty((b, q, q))
        s2[:, iu, ju] = total[:, q + 1 :]
        s2[:, ju, iu] = total[:, q + 1 :]
        sw = np.broadcast_to(s0[:, None, None], (b, q, q))
        sx = np.broadcast_to(s1[:, :, None], (b, q, q))
        d = np.diagonal(s2, axis1=1, axis2=2)
        sxx = np.broadcast_to(d[:, :, None], (b, q, q))
        return _corr_from_sums(sw, sx, sxx, s2)
    parts = total.reshape(b, 4, q, q)
    return _corr_from_sums(parts[:, 0], parts[:, 1], parts[:, 2], parts[:, 3])


def _unit_codes(
    data: pd.DataFrame, design: SurveyDesign | None, keep: np.ndarray
) -> tuple[np.ndarray, np.ndarray, bool]:
    """Return the resampling unit of each kept row, each unit's stratum, and if clustered.

    Units are the design's PSUs (or respondents without clusters) among the kept rows,
    coded 0..U-1; strata are the design's (one without strata).
    """
    n = int(keep.sum())
    if design is None or not (design.strata or design.clusters):
        return np.arange(n), np.zeros(n, dtype=np.int64), False
    # lonely PSUs do not stop a bootstrap: a stratum of one PSU keeps multiplier 1; only the
    # strata and PSUs are needed (not the calibration)
    first = dataclasses.replace(
        design, cluster=design.clusters[0] if design.clusters else None, fpc=None,
        lonely_psu="adjust", calibration=None,
    )  # fmt: skip
    full = first.prepare(data, func="driver_importance")
    if full.psu is None:
        return np.arange(n), full.stratum[keep], False
    unit, _ = pd.factorize(full.psu[keep])
    unit = unit.astype(np.int64)
    unit_stratum = np.zeros(int(unit.max()) + 1, dtype=np.int64)
    unit_stratum[unit] = full.stratum[keep]
    return unit, unit_stratum, True


def _corr_design_bootstrap(
    prep: _Prepared,
    unit: np.ndarray,
    unit_stratum: np.ndarray,
    clustered: bool,
    n_boot: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Replicate correlation matrices (n_boot, q, q) of the Rao-Wu rescaling bootstrap."""
    total = _design_bootstrap_sums(prep, unit, unit_stratum, clustered, n_boot, rng)
    return _sums_to_corr(prep, total)


def _design_bootstrap_sums(
    prep: _Prepared,
    unit: np.ndarray,
    unit_stratum: np.ndarray,
    clustered: bool,
    n_boot: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Replicate sums (n_boot x features) of the weighted cross-products, Rao-Wu multipliers.

    Within each stratum of ``n_h`` units (PSUs, or respondents without clusters),
    ``n_h - 1`` units are drawn with replacement and a unit's multiplier is its count times
    ``n_h / (n_h - 1)`` (Rao & Wu 1988; a stratum of one unit keeps multiplier 1). The
    draws of a stratum are split over blocks of units by a multinomial of the block sizes
    and then drawn within each block, so the multipliers of one block at a time are in
    memory: one matrix product per block with the block's (per-PSU summed) cross-products.
    """
    n_feat = _features(prep, slice(0, 1)).shape[1]
    total = np.zeros((n_boot, n_feat))
    if clustered:  # cross-products summed per PSU (a PSU's rows share its multiplier)
        U = len(unit_stratum)
        F = np.zeros((U, n_feat))
        step = int(max(256, 16_000_000 // n_feat))
        for start in range(0, len(unit), step):
            rows = slice(start, min(len(unit), start + step))
            k = rows.stop - rows.start
            onehot = sparse.csr_matrix((np.ones(k), (unit[rows], np.arange(k))), shape=(U, k))
            F += onehot @ _features(prep, rows)
    block = int(max(64, 4_000_000 // n_boot))
    for h in steps(
        np.unique(unit_stratum), desc=f"bootstrap ({n_boot} replicates)", unit="stratum"
    ):
        units = np.flatnonzero(unit_stratum == h)
        n_h = len(units)

        def feats(u: np.ndarray) -> np.ndarray:
            return F[u] if clustered else _features(prep, u)

        if n_h == 1:
            total += feats(units).sum(axis=0)[None, :]
            continue
        starts = np.arange(0, n_h, block)
        sizes = np.diff(np.append(starts, n_h))
        per_block = rng.multinomial(n_h - 1, sizes / n_h, size=n_boot)  # n_boot x blocks
        scale = n_h / (n_h - 1.0)
        for b, (s0, size) in enumerate(zip(starts, sizes, strict=True)):
            m = per_block[:, b]
            picks = rng.integers(0, size, size=int(m.sum()))
            cell = np.repeat(np.arange(n_boot) * size, m) + picks
            counts = np.bincount(cell, minlength=n_boot * size).reshape(n_boot, size)
            total += scale * (counts.astype(np.float32) @ feats(units[s0 : s0 + size]))
    return total


def _corr_given_replicates(prep: _Prepared, mult: np.ndarray) -> np.ndarray:
    """Replicate correlation matrices from given replicate multipliers (kept rows x R)."""
    n, R = mult.shape
    n_feat = _features(prep, slice(0, 1)).shape[1]
    total = np.zeros((R, n_feat))
    step = int(max(256, 16_000_000 // max(R, n_feat)))
    for start in range(0, n, step):
        rows = slice(start, min(n, start + step))
        total += mult[rows].T.astype(np.float32) @ _features(prep, rows)
    return _sums_to_corr(prep, total)


def _bootstrap_corr(
    data: pd.DataFrame,
    design: SurveyDesign | None,
    prep: _Prepared,
    n_boot: int,
    random_state: int | np.random.Generator | None,
) -> tuple[np.ndarray, Replicates | None]:
    """Return the replicate correlation matrices of the design, and given replicates if any.

    A :class:`ReplicateDesign` gives its own replicates (intervals from their variance);
    otherwise the Rao-Wu bootstrap of the design's strata and PSUs (``n_boot`` replicates).
    """
    keep = prep.keep
    if isinstance(design, ReplicateDesign):
        rep = design.prepare(data, func="driver_importance").rep
        assert rep is not None
        mult = rep.weights[keep] / prep.w[:, None]
        return _corr_given_replicates(prep, mult), rep
    rng = np.random.default_rng(random_state)
    unit, unit_stratum, clustered = _unit_codes(data, design, keep)
    return _corr_design_bootstrap(prep, unit, unit_stratum, clustered, n_boot, rng), None


@renamed(columns="items", weight=("design", _weight_to_design))
def weighted_correlation(
    data: pd.DataFrame,
    *,
    items: Sequence[str],
    design: SurveyDesign | None = None,
    missing: str = "listwise",
) -> pd.DataFrame:
    """Compute the survey-weighted Pearson correlation matrix.

    Parameters
    ----------
    data : DataFrame
        One row per respondent.
    items : sequence of str
        Numeric columns to correlate.
    design : SurveyDesign, optional
        Supplies the survey weight (finite and > 0 in every row); without one every
        respondent counts once. Strata and clusters do not enter.
    missing : {"listwise", "pairwise"}
        ``"listwise"`` uses the respondents who answered every column; ``"pairwise"`` uses,
        for each pair, the respondents who answered both (weighted means and variances of
        that overlap), which may give a matrix that is not positive definite.

    Returns
    -------
    DataFrame
        The square correlation matrix, indexed by ``items`` on both axes. ``attrs`` holds
        ``n`` (respondents used; under pairwise deletion the smallest pair count),
        ``n_effective`` (Kish's ``(sum w)^2 / sum w^2``, smallest over pairs when pairwise),
        ``missing`` and ``weight``.

    Raises
    ------
    MissingColumnError
        A column is not in ``data``.
    DriverError
        A column is not numeric or is constant, weights are missing or negative, or no
        respondent is left.

    Notes
    -----
    The correlations are those of the weighted moment matrix (R's ``cov.wt``), so they do
    not depend on how the weights are scaled, and integer weights give the same answer as
    repeating each row that many times.

    Examples
    --------
    >>> df = pd.DataFrame({"y": [1.0, 2, 3, 4], "x": [1.0, 3, 2, 4], "w": [1.0, 1, 1, 1]})
    >>> float(weighted_correlation(df, items=["y", "x"]).loc["y", "x"])
    0.8
    """
    names = _names(items, "items", "weighted_correlation")
    weight = _design_weight(design, "weighted_correlation")
    prep = _prepare(data, names, weight, missing, func="weighted_correlation")
    corr = _corr_point(prep)
    out = pd.DataFrame(corr, index=pd.Index(names), columns=pd.Index(names))
    out.attrs.update(
        n=int(prep.n), n_effective=float(prep.n_effective), missing=missing, weight=weight
    )
    return out


# --------------------------------------------------------------------------------------
# importance measures from correlation matrices (batched over replicates)
# --------------------------------------------------------------------------------------


def _subset_r2(rxx: np.ndarray, rxy: np.ndarray) -> np.ndarray:
    """R^2 of every subset of drivers, indexed by bit mask, batched over leading axes.

    Subsets of the same size k are gathered into (..., N, k, k) blocks of ``Rxx`` and
    solved together; R^2(S) = r_S' Rxx_S^-1 r_S. Blocks are capped at about 32 MB.
    """
    p = rxx.shape[-1]
    lead = rxx.shape[:-2]
    n_lead = int(np.prod(lead)) if lead else 1
    rxx = rxx.reshape(n_lead, p, p)
    rxy = rxy.reshape(n_lead, p)
    masks = np.arange(1 << p, dtype=np.int64)
    size = np.bitwise_count(masks)
    out = np.zeros((n_lead, 1 << p))
    bits = np.arange(p, dtype=np.int64)
    for k in range(1, p + 1):
        mk = masks[size == k]
        step = max(1, int(4_000_000 // (n_lead * k * k)))
        for start in range(0, len(mk), step):
            sub = mk[start : start + step]
            cols = np.nonzero((sub[:, None] >> bits) & 1)[1].reshape(len(sub), k)
            a = rxx[:, cols[:, :, None], cols[:, None, :]]
            b = rxy[:, cols]
            sol = np.linalg.solve(a, b[..., None])[..., 0]
            out[:, sub] = (b * sol).sum(-1)
    return out.reshape(*lead, 1 << p)


def _shapley_from_r2(r2: np.ndarray, p: int) -> np.ndarray:
    """LMG shares: sum over S not containing j of |S|!(p-|S|-1)!/p! [R2(S+j) - R2(S)]."""
    masks = np.arange(1 << p, dtype=np.int64)
    size = np.bitwise_count(masks)
    weight = np.array([1.0 / (p * comb(p - 1, s)) for s in range(p)])
    out = np.empty((*r2.shape[:-1], p))
    for j in range(p):
        without = masks[((masks >> j) & 1) == 0]
        gain = r2[..., without | (1 << j)] - r2[..., without]
        out[..., j] = gain @ weight[size[without]]
    return out


def _measures(corr: np.ndarray, methods: Sequence[str], shapley: bool) -> dict[str, np.ndarray]:
    """All requested measures from correlation matrices (..., q, q); outcome first."""
    rxx = corr[..., 1:, 1:]
    rxy = corr[..., 1:, 0]
    p = rxx.shape[-1]
    with np.errstate(invalid="ignore", divide="ignore"):
        try:
            beta = np.linalg.solve(rxx, rxy[..., None])[..., 0]
        except np.linalg.LinAlgError:  # a singular replicate: fall back one by one
            beta = np.stack(
                [
                    _solve_or_nan(a, b)
                    for a, b in zip(rxx.reshape(-1, p, p), rxy.reshape(-1, p), strict=True)
                ]
            ).reshape(rxy.shape)
        r2 = (beta * rxy).sum(-1)
        out: dict[str, np.ndarray] = {"r2": r2, "sign": np.sign(beta)}
        if "correlation" in methods:
            out["correlation"] = rxy
        if "beta" in methods:
            out["beta"] = beta
        if "first" in methods:
            out["first"] = rxy**2
        if "betasq" in methods:
            out["betasq"] = beta**2
        if "pratt" in methods:
            out["pratt"] = beta * rxy
        if "last" in methods:
            inv_diag = np.diagonal(np.linalg.pinv(rxx, hermitian=True), axis1=-2, axis2=-1)
            out["last"] = beta**2 / inv_diag
        if "relative_weight" in methods:
            lam, vec = np.linalg.eigh(rxx)
            lam = np.where(lam > 0, lam, np.nan)
            vt = np.swapaxes(vec, -1, -2)
            half = (vec * np.sqrt(lam)[..., None, :]) @ vt
            coef = vec @ (((vt @ rxy[..., None])[..., 0] / np.sqrt(lam))[..., None])
            raw = (half**2) @ (coef**2)
            out["relative_weight"] = raw[..., 0]
            out["relative_weight_pct"] = 100 * raw[..., 0] / r2[..., None]
        if "lmg" in methods and shapley:
            lmg = _shapley_from_r2(_subset_r2(rxx, rxy), p)
            out["lmg"] = lmg
            out["lmg_pct"] = 100 * lmg / r2[..., None]
    return out


def _solve_or_nan(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    try:
        return np.linalg.solve(a, b)
    except np.linalg.LinAlgError:
        return np.full_like(b, np.nan)


def _check_collinear(corr: np.ndarray, drivers: list[str], missing: str, func: str) -> None:
    """Raise DriverError naming the drivers in a (near) linear dependency."""
    rxx = corr[1:, 1:]
    lam, vec = np.linalg.eigh(rxx)
    if np.isnan(lam).any():
        raise DriverError(f"{func}: the correlation matrix of the drivers could not be computed")
    small = lam < _COLLINEAR_TOL
    if not small.any():
        r2 = corr[1:, 0] @ np.linalg.solve(rxx, corr[1:, 0])
        if r2 > 1 + 1e-9:
            raise DriverError(
                f"{func}: R^2 = {r2:.4g} > 1 from the pairwise correlation matrix; use missing='listwise'"
            )
        return
    involved = np.abs(vec[:, small]).max(axis=1) > 0.01
    names = ", ".join(repr(d) for d, bad in zip(drivers, involved, strict=True) if bad)
    if missing == "pairwise" and lam.min() < -_COLLINEAR_TOL:
        raise DriverError(
            f"{func}: the pairwise correlation matrix of the drivers is not positive definite "
            f"(smallest eigenvalue {lam.min():.3g}); the drivers involved: {names}. "
            "Use missing='listwise'"
        )
    raise DriverError(
        f"{func}: drivers are (nearly) perfectly collinear: {names} (smallest eigenvalue of their "
        f"correlation matrix {lam.min():.3g}); drop or combine one of them"
    )


def _validate_common(n_boot: int, confidence: float, min_per_driver: float, func: str) -> None:
    check_confidence(confidence, func)
    if int(n_boot) != n_boot or n_boot < 0:
        raise ValueError(f"{func}: n_boot={n_boot!r}: give a non-negative whole number")
    if min_per_driver < 0:
        raise ValueError(f"{func}: min_per_driver={min_per_driver!r}: give a non-negative number")


@renamed(shapley_max_drivers="lmg_max_drivers")
def importance_from_correlation(
    corr: pd.DataFrame,
    *,
    outcome: str,
    drivers: Sequence[str] | None = None,
    methods: Sequence[str] = _DEFAULT_METHODS,
    lmg_max_drivers: int = 20,
) -> pd.DataFrame:
    """Compute importance measures from a correlation matrix (no data needed).

    Parameters
    ----------
    corr : DataFrame
        A square correlation matrix labelled on both axes, e.g. from
        :func:`weighted_correlation`.
    outcome : str
        The outcome's label in ``corr``.
    drivers : sequence of str, optional
        The drivers; by default every other label.
    methods : sequence of str
        Any of ``"correlation"``, ``"beta"``, ``"relative_weight"``, ``"lmg"``,
        ``"first"``, ``"last"``, ``"betasq"``, ``"pratt"`` (each gives the column of its
        name).
    lmg_max_drivers : int
        Above this many drivers the exact LMG (Shapley) decomposition is skipped (see the
        ``note`` column).

    Returns
    -------
    DataFrame
        As :func:`driver_importance`, without ``n`` and ``n_effective``.

    References
    ----------
    Johnson, J. W. (2000). A heuristic method for estimating the relative weight of
    predictor variables in multiple regression. *Multivariate Behavioral Research*, 35(1),
    1-19. Lindeman, R. H., Merenda, P. F., & Gold, R. Z. (1980). *Introduction to Bivariate
    and Multivariate Analysis*. Scott, Foresman (LMG). Groemping, U. (2006). Relative
    importance for linear regression in R: the package relaimpo. *Journal of Statistical
    Software*, 17(1), 1-27.

    Examples
    --------
    Two drivers correlated 0.5 with each other and 0.6 and 0.5 with the outcome:
    ``R^2 = (0.36 + 0.25 - 2 * 0.6 * 0.5 * 0.5) / (1 - 0.25) = 0.4133``. LMG averages each
    driver's gain in R^2 over both orders: ``x1`` gets (0.36 + (0.4133 - 0.25)) / 2 = 0.2617,
    ``x2`` the rest; with two drivers the relative weights agree.

    >>> corr = pd.DataFrame(
    ...     [[1, 0.6, 0.5], [0.6, 1, 0.5], [0.5, 0.5, 1]],
    ...     index=["y", "x1", "x2"],
    ...     columns=["y", "x1", "x2"],
    ... )
    >>> t = importance_from_correlation(corr, outcome="y")
    >>> t[["driver", "beta", "relative_weight", "lmg", "lmg_pct", "r2"]].round(4)
      driver    beta  relative_weight     lmg  lmg_pct      r2
    0     x1  0.4667           0.2617  0.2617  63.3065  0.4133
    1     x2  0.2667           0.1517  0.1517  36.6935  0.4133
    """
    if outcome not in corr.columns or outcome not in corr.index:
        raise MissingColumnError(
            f"importance_from_correlation: outcome {outcome!r} is not in the correlation matrix"
        )
    names = (
        [c for c in corr.columns if c != outcome]
        if drivers is None
        else _names(drivers, "drivers", "importance_from_correlation")
    )
    absent = [d for d in names if d not in corr.columns or d not in corr.index]
    if absent:
        raise MissingColumnError(
            f"importance_from_correlation: driver(s) not in the correlation matrix: {', '.join(map(repr, absent))}"
        )
    methods, legacy = _check_methods(methods, lmg_max_drivers, "importance_from_correlation")
    order = [outcome, *names]
    r = corr.loc[order, order].to_numpy(dtype=float)
    if np.isnan(r).any():
        raise DriverError("importance_from_correlation: the correlation matrix has missing values")
    _check_collinear(r, names, "pairwise", "importance_from_correlation")
    table, _ = _importance_table(r, names, methods, lmg_max_drivers, None, 0.95)
    return _legacy_columns(table, legacy)


def _check_methods(
    methods: Sequence[str], lmg_max_drivers: int, func: str
) -> tuple[list[str], bool]:
    """Return the methods with deprecated names mapped; True when "shapley" was asked for."""
    methods = [methods] if isinstance(methods, str) else list(methods)
    legacy = "shapley" in methods
    for old, new in _METHOD_ALIASES.items():
        if old in methods:
            warn_deprecated(
                f"{func}: method {old!r} is deprecated; use {new!r} (the column it gives)",
                stacklevel=5,
            )
    methods = list(dict.fromkeys(_METHOD_ALIASES.get(m, m) for m in methods))
    unknown = [m for m in methods if m not in _METHODS]
    if unknown or not methods:
        raise ValueError(
            f"{func}: methods: unknown {', '.join(map(repr, unknown)) or '(none given)'}; "
            f"use any of {', '.join(_METHODS)}"
        )
    if not 0 <= lmg_max_drivers <= _SHAPLEY_HARD_MAX:
        raise ValueError(
            f"{func}: lmg_max_drivers={lmg_max_drivers!r}: exact LMG over 2^p subsets is "
            f"limited to p <= {_SHAPLEY_HARD_MAX}"
        )
    return methods, legacy


def _legacy_columns(table: pd.DataFrame, legacy: bool) -> pd.DataFrame:
    """With the deprecated method name "shapley", also the old ``shapley*`` columns."""
    if not legacy:
        return table
    for col in [c for c in table.columns if c.startswith("lmg")]:
        table[col.replace("lmg", "shapley", 1)] = table[col]
    return table


def _importance_table(
    corr: np.ndarray,
    drivers: list[str],
    methods: list[str],
    lmg_max_drivers: int,
    boot: np.ndarray | None,
    confidence: float,
    given: Replicates | None = None,
) -> tuple[pd.DataFrame, list[str]]:
    p = len(drivers)
    do_shapley = p <= lmg_max_drivers
    notes = []
    if "lmg" in methods and not do_shapley:
        notes.append(
            f"lmg skipped: {p} drivers > lmg_max_drivers={lmg_max_drivers} "
            f"(2^{p} subsets); read relative_weight, which tracks LMG closely"
        )
    point = _measures(corr, methods, do_shapley)
    reps = _measures(boot, methods, do_shapley) if boot is not None else None
    if reps is not None and boot is not None:
        bad = int(np.isnan(reps["r2"]).sum())
        if bad:
            notes.append(f"{bad} of {len(boot)} bootstrap replicates were singular and left out")
    alpha = 1 - confidence
    cols: dict[str, object] = {"driver": drivers}

    def interval(values: np.ndarray, centre: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if given is not None:  # given replicates: centre -/+ z x their replicate SE
            ok = ~np.isnan(values).any(axis=1)
            c = np.atleast_1d(np.asarray(centre, dtype=float))
            v = values[ok].reshape(int(ok.sum()), -1).T
            sub = dataclasses.replace(given, rscales=given.rscales[ok])
            se = np.sqrt(sub.spread(c, v))
            z = stats.norm.ppf(1 - alpha / 2)
            return c - z * se, c + z * se
        lo, hi = np.nanquantile(values, [alpha / 2, 1 - alpha / 2], axis=0)
        return lo, hi

    for method in methods:
        for col in _METHOD_COLUMNS[method]:
            cols[col] = point[col] if col in point else np.full(p, np.nan)
            if reps is not None:
                if col in reps:
                    lo, hi = interval(reps[col], point[col])
                else:
                    lo = hi = np.full(p, np.nan)
                cols[f"{col}_ci_low"], cols[f"{col}_ci_high"] = lo, hi
        if method == "beta":
            cols["sign"] = _sign_labels(point["sign"])
    if "sign" not in cols:
        cols["sign"] = _sign_labels(point["sign"])
    cols["r2"] = np.full(p, float(point["r2"]))
    if reps is not None:
        lo, hi = interval(np.asarray(reps["r2"]).reshape(-1, 1), point["r2"])
        cols["r2_ci_low"], cols["r2_ci_high"] = np.full(p, lo), np.full(p, hi)
    table = pd.DataFrame(cols)
    return table, notes


def _sign_labels(sign: np.ndarray) -> list[str]:
    return ["+" if s > 0 else "-" if s < 0 else "0" for s in sign]


@renamed(
    weight=("design", _weight_to_design),
    shapley_max_drivers="lmg_max_drivers",
    level="confidence",
)
def driver_importance(
    data: pd.DataFrame,
    *,
    outcome: str,
    drivers: Sequence[str],
    design: SurveyDesign | None = None,
    missing: str = "listwise",
    methods: Sequence[str] = _DEFAULT_METHODS,
    lmg_max_drivers: int = 20,
    n_boot: int = 0,
    confidence: float = 0.95,
    random_state: int | np.random.Generator | None = None,
    min_per_driver: float = 10,
) -> pd.DataFrame:
    """Compute the derived importance of each driver for an outcome, with bootstrap intervals.

    Parameters
    ----------
    data : DataFrame
        One row per respondent.
    outcome : str
        The outcome (e.g. overall satisfaction, or likelihood to recommend).
    drivers : sequence of str
        The numeric driver items.
    design : SurveyDesign or ReplicateDesign, optional
        Supplies the survey weight (all moments are weighted) and, for the intervals, the
        strata and first-stage clusters the bootstrap resamples (Rao-Wu), or the given
        replicate weights of a :class:`~analysis_helpers.replicates.ReplicateDesign`.
    missing : {"listwise", "pairwise"}
        Deletion of incomplete answers, see :func:`weighted_correlation`.
    methods : sequence of str
        Measures to report, each named as its column: ``"correlation"``, ``"beta"``,
        ``"relative_weight"``, ``"lmg"``, and optionally ``"first"``, ``"last"``,
        ``"betasq"``, ``"pratt"``. The deprecated names ``"relative_weights"`` and
        ``"shapley"`` still work; ``"shapley"`` also gives the old ``shapley`` and
        ``shapley_pct`` columns (copies of ``lmg`` and ``lmg_pct``) for one release.
    lmg_max_drivers : int
        Exact LMG costs ``2^p`` small solves; with more drivers than this the LMG
        columns are left empty and the ``note`` column (and ``attrs["notes"]``) says so.
        At most 25.
    n_boot : int
        Bootstrap replicates for percentile intervals; 0 for none. With a
        ``ReplicateDesign`` any positive value asks for intervals from its replicates.
    confidence : float
        Confidence level of the intervals.
    random_state : int, Generator or None
        Seed of the bootstrap (the same seed gives the same intervals).
    min_per_driver : float
        Minimum respondents per driver (default 10, a common rule of thumb); below
        ``max(min_per_driver * p, p + 2)`` respondents a :class:`DriverError` is raised.

    Returns
    -------
    DataFrame
        One row per driver, in the order given: ``driver``; per method its columns
        (``correlation``; ``beta``; ``relative_weight`` - Johnson's raw epsilon - and
        ``relative_weight_pct`` - % of R^2; ``lmg`` - the LMG (Shapley) share of R^2 -
        and ``lmg_pct``; ``first``, ``last``, ``betasq``, ``pratt``), each followed by
        ``<column>_ci_low`` and ``<column>_ci_high`` when ``n_boot > 0``; ``sign`` ("+" or
        "-", of the full-model coefficient); ``r2`` of the full model (with its interval);
        ``n`` (respondents used); ``n_effective`` (Kish); ``note`` ("" when there is
        nothing to note, else e.g. why LMG was skipped). ``attrs`` holds ``notes`` (a
        list of the same notes), ``outcome``, ``weight`` (the design's weight column),
        ``missing``, ``n_boot``, ``confidence``.

    Raises
    ------
    MissingColumnError
        The outcome, a driver or the weight is not in ``data``.
    DriverError
        Non-numeric columns, a constant outcome or driver, perfectly collinear drivers
        (named), too few respondents, missing or negative weights.

    Notes
    -----
    Raw relative weights and LMG shares each sum to ``r2``. Intervals are percentiles of
    the design-based (Rao-Wu) bootstrap over the design's strata and PSUs, or normal
    intervals from the given replicates of a ``ReplicateDesign`` (see the module notes).
    Under ``missing="pairwise"`` each replicate recomputes the pairwise moments.

    References
    ----------
    Johnson, J. W. (2000). A heuristic method for estimating the relative weight of
    predictor variables in multiple regression. *Multivariate Behavioral Research*, 35(1),
    1-19. Lindeman, R. H., Merenda, P. F., & Gold, R. Z. (1980). *Introduction to Bivariate
    and Multivariate Analysis*. Scott, Foresman (LMG). Groemping, U. (2006). Relative
    importance for linear regression in R: the package relaimpo. *Journal of Statistical
    Software*, 17(1), 1-27. Rao, J. N. K., Wu, C. F. J. & Yue, K. (1992). Some recent
    work on resampling methods for complex surveys. *Survey Methodology*, 18(2), 209-217.

    Examples
    --------
    Two uncorrelated drivers and ``y = 2 x1 + x2``: R^2 = 1, split as the squared
    correlations 4/5 and 1/5 by both relative weights and LMG.

    >>> d = pd.DataFrame({"x1": [1.0, 1, -1, -1] * 2, "x2": [1.0, -1, 1, -1] * 2})
    >>> d["y"] = 2 * d["x1"] + d["x2"]
    >>> t = driver_importance(d, outcome="y", drivers=["x1", "x2"], min_per_driver=4)
    >>> t[["driver", "correlation", "relative_weight", "lmg", "r2", "n"]].round(4)
      driver  correlation  relative_weight  lmg   r2  n
    0     x1       0.8944              0.8  0.8  1.0  8
    1     x2       0.4472              0.2  0.2  1.0  8
    """
    driver_names = _names(drivers, "drivers", "driver_importance")
    if not isinstance(outcome, str):
        raise ValueError(f"driver_importance: outcome must be one column name, not {outcome!r}")
    if outcome in driver_names:
        raise ValueError(f"driver_importance: outcome {outcome!r} is also listed as a driver")
    weight = _design_weight(design, "driver_importance")
    methods, legacy = _check_methods(methods, lmg_max_drivers, "driver_importance")
    _validate_common(n_boot, confidence, min_per_driver, "driver_importance")
    names = [outcome, *driver_names]
    role = {outcome: "outcome"}
    prep = _prepare(data, names, weight, missing, role)
    p = len(driver_names)
    needed = int(max(np.ceil(min_per_driver * p), p + 2))
    if prep.n < needed:
        raise DriverError(
            f"driver_importance: only {prep.n} respondents with usable answers to {outcome!r} and the {p} "
            f"drivers ({', '.join(map(repr, driver_names))}); need at least {needed} "
            f"(min_per_driver={min_per_driver:g})"
        )
    corr = _corr_point(prep)
    _check_collinear(corr, driver_names, missing, "driver_importance")
    boot, given = None, None
    if n_boot > 0:
        boot, given = _bootstrap_corr(data, design, prep, int(n_boot), random_state)
    table, notes = _importance_table(
        corr, driver_names, methods, lmg_max_drivers, boot, confidence, given
    )
    table["n"] = int(prep.n)
    table["n_effective"] = float(prep.n_effective)
    table["note"] = "; ".join(notes)
    table.attrs.update(
        notes=notes,
        outcome=outcome,
        weight=weight,
        missing=missing,
        n_boot=int(n_boot),
        confidence=confidence,
    )
    return _legacy_columns(table, legacy)


# --------------------------------------------------------------------------------------
# non-linear cross-check
# --------------------------------------------------------------------------------------


@renamed(weight=("design", _weight_to_design))
def permutation_importance_check(
    data: pd.DataFrame,
    *,
    outcome: str,
    drivers: Sequence[str],
    design: SurveyDesign | None = None,
    random_state: int | np.random.Generator | None,
    n_repeats: int = 10,
    model: str = "hist_gradient_boosting",
    max_rows: int = 5000,
    test_size: float = 0.3,
) -> pd.DataFrame:
    """Compute the permutation importance of a tree ensemble, a non-linear check on the others.

    A scikit-learn ensemble is fitted on a training split (with the survey weights as
    ``sample_weight``); :func:`sklearn.inspection.permutation_importance` then measures,
    on the held-out split, how much the weighted R^2 drops when one driver's values are
    shuffled.

    Parameters
    ----------
    data : DataFrame
        One row per respondent; respondents missing the outcome or a driver are left out.
    outcome, drivers, design
        As in :func:`driver_importance` (the weight is the models' ``sample_weight``).
    random_state : int, Generator or None
        Seed of the subsample, split, model and permutations (required: pass ``None``
        explicitly for an unseeded run).
    n_repeats : int
        Permutations per driver.
    model : {"hist_gradient_boosting", "random_forest"}
        ``HistGradientBoostingRegressor`` (default, fast) or ``RandomForestRegressor``.
    max_rows : int
        Above this many usable respondents a simple random subsample of ``max_rows`` rows
        (drawn with ``random_state``, weights kept) is used, so the check takes about a
        second at any sample size.
    test_size : float
        Share of rows held out for the permutations.

    Returns
    -------
    DataFrame
        One row per driver: ``driver``, ``importance`` (mean drop in held-out R^2),
        ``importance_sd`` (over repeats), ``importance_pct`` (% of the sum of the positive
        importances; negative ones count as 0), ``rank`` (1 = most important), ``r2_test``
        (held-out R^2 of the model), ``n`` (rows used, after subsampling), ``n_test``,
        ``model``.
    """
    from sklearn.ensemble import HistGradientBoostingRegressor, RandomForestRegressor
    from sklearn.inspection import permutation_importance
    from sklearn.model_selection import train_test_split
    from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

    driver_names = _names(drivers, "drivers", "permutation_importance_check")
    if outcome in driver_names:
        raise ValueError(
            f"permutation_importance_check: outcome {outcome!r} is also listed as a driver"
        )
    if model not in {"hist_gradient_boosting", "random_forest"}:
        raise ValueError(
            f"permutation_importance_check: model={model!r}: use 'hist_gradient_boosting' or 'random_forest'"
        )
    if not 0 < test_size < 1:
        raise ValueError(
            f"permutation_importance_check: test_size={test_size!r}: give a share between 0 and 1"
        )
    if n_repeats < 1 or max_rows < 20:
        raise ValueError(
            "permutation_importance_check: n_repeats must be at least 1 and max_rows at least 20"
        )
    names = [outcome, *driver_names]
    weight = _design_weight(design, "permutation_importance_check")
    _check_columns(data, names, weight, "permutation_importance_check")
    x = np.column_stack([_float(data, c, "permutation_importance_check") for c in driver_names])
    y = _float(data, outcome, "permutation_importance_check")
    w = _weights(data, weight, "permutation_importance_check")
    keep = (w > 0) & ~np.isnan(y) & ~np.isnan(x).any(axis=1)
    x, y, w = x[keep], y[keep], w[keep]
    if len(y) < max(20, 2 * len(driver_names)):
        raise DriverError(
            f"permutation_importance_check: only {len(y)} complete respondents for {outcome!r} and "
            f"{', '.join(map(repr, driver_names))}; need at least "
            f"{max(20, 2 * len(driver_names))}"
        )
    if y.min() == y.max():
        raise DriverError(
            f"permutation_importance_check: outcome {outcome!r} is constant (all {y[0]:g})"
        )
    rng = np.random.default_rng(random_state)
    seeds = rng.integers(0, 2**31 - 1, size=4)
    if len(y) > max_rows:
        pick = np.sort(np.random.default_rng(seeds[0]).choice(len(y), max_rows, replace=False))
        x, y, w = x[pick], y[pick], w[pick]
    x_tr, x_te, y_tr, y_te, w_tr, w_te = train_test_split(
        x, y, w, test_size=test_size, random_state=int(seeds[1])
    )
    if model == "hist_gradient_boosting":
        est = HistGradientBoostingRegressor(max_iter=150, random_state=int(seeds[2]))
    else:
        est = RandomForestRegressor(
            n_estimators=200, min_samples_leaf=5, max_features=0.5, random_state=int(seeds[2])
        )
    # one OpenMP thread: on survey-sized data threads only add overhead, and on a busy
    # machine their spin-waits made this check 30 times slower; the results are identical
    with threadpool_limits(limits=1, user_api="openmp"):
        est.fit(x_tr, y_tr, sample_weight=w_tr)
        result = permutation_importance(
            est,
            x_te,
            y_te,
            scoring="r2",
            n_repeats=n_repeats,
            random_state=int(seeds[3]),
            sample_weight=w_te,
        )
        r2_test = float(est.score(x_te, y_te, sample_weight=w_te))
    imp = result.importances_mean
    positive = np.clip(imp, 0, None)
    pct = 100 * positive / positive.sum() if positive.sum() > 0 else np.full_like(imp, np.nan)
    return pd.DataFrame(
        {
            "driver": driver_names,
            "importance": imp,
            "importance_sd": result.importances_std,
            "importance_pct": pct,
            "rank": stats.rankdata(-imp, method="min").astype(int),
            "r2_test": r2_test,
            "n": len(y),
            "n_test": len(y_te),
            "model": model,
        }
    )


# --------------------------------------------------------------------------------------
# segments and index weights
# --------------------------------------------------------------------------------------


@renamed(
    weight=("design", _weight_to_design),
    shapley_max_drivers="lmg_max_drivers",
    level="confidence",
)
def segment_importance(
    data: pd.DataFrame,
    *,
    outcome: str,
    drivers: Sequence[str],
    by: str | Sequence[str],
    design: SurveyDesign | None = None,
    missing: str = "listwise",
    methods: Sequence[str] = _DEFAULT_METHODS,
    lmg_max_drivers: int = 20,
    n_boot: int = 0,
    confidence: float = 0.95,
    random_state: int | np.random.Generator | None = None,
    min_per_driver: float = 10,
    errors: str = "note",
) -> pd.DataFrame:
    """Compute driver importance per segment or wave, stacked so shifts show.

    Parameters
    ----------
    data : DataFrame
        One row per respondent.
    by : str or sequence of str
        Segment / wave columns; rows with a missing key are left out.
    errors : {"note", "raise", "skip"}
        What to do with a segment whose data cannot support the analysis (too few
        respondents, a constant driver ...): ``"note"`` keeps its rows with empty measures
        and the reason in ``note`` (and ``attrs["notes"]``), ``"skip"`` leaves it out (the
        reason still goes to ``attrs["notes"]``), ``"raise"`` re-raises the
        :class:`DriverError`. If no segment at all can be analysed a ``DriverError`` is
        raised whatever ``errors`` says.
    outcome, drivers, design, missing, methods, lmg_max_drivers, n_boot, confidence, \
random_state, min_per_driver
        As in :func:`driver_importance`; one generator seeded by ``random_state`` serves
        the segments in turn, so the result is reproducible.

    Returns
    -------
    DataFrame
        The ``by`` columns first, then the :func:`driver_importance` columns, one row per
        segment and driver, segments in sorted order. For a noted segment ``n`` is its
        number of rows.
    """
    keys = _names(by, "by", "segment_importance")
    absent = [k for k in keys if k not in data.columns]
    if absent:
        raise MissingColumnError(
            f"segment_importance: segment column(s) not in the data: {', '.join(map(repr, absent))}"
        )
    if errors not in {"note", "raise", "skip"}:
        raise ValueError(f"segment_importance: errors={errors!r}: use 'note', 'raise' or 'skip'")
    driver_names = _names(drivers, "drivers", "segment_importance")
    weight = _design_weight(design, "segment_importance")
    _check_columns(data, [outcome, *driver_names], weight, "segment_importance")
    rng = np.random.default_rng(random_state)
    frames, notes, analysed = [], [], 0
    for key, group in data.groupby(keys, observed=True, dropna=True, sort=True):
        key = key if isinstance(key, tuple) else (key,)
        label = ", ".join(f"{k}={v}" for k, v in zip(keys, key, strict=True))
        try:
            table = driver_importance(
                group,
                outcome=outcome,
                drivers=driver_names,
                design=design,
                missing=missing,
                methods=methods,
                lmg_max_drivers=lmg_max_drivers,
                n_boot=n_boot,
                confidence=confidence,
                random_state=rng,
                min_per_driver=min_per_driver,
            )
            notes += [f"{label}: {note}" for note in table.attrs["notes"]]
            analysed += 1
        except DriverError as err:
            reason = str(err).removeprefix("driver_importance: ")
            if errors == "raise":
                raise DriverError(f"segment_importance: segment {label}: {reason}") from err
            notes.append(f"{label}: {reason}")
            if errors == "skip":
                continue
            table = pd.DataFrame({"driver": driver_names})
            table["n"] = len(group)
            table["note"] = reason
        table = table.copy()
        for k, v in zip(reversed(keys), reversed(key), strict=True):
            table.insert(0, k, v)
        frames.append(table)
    if not analysed:
        raise DriverError(
            f"segment_importance: no segment of {', '.join(keys)} could be analysed: {'; '.join(notes)}"
        )
    for f in frames:
        f.attrs = {}
    out = pd.concat(frames, ignore_index=True)
    template = next((f for f in frames if "r2" in f.columns), frames[0])
    out = out[[*template.columns, *[c for c in out.columns if c not in template.columns]]]
    out.attrs["notes"] = notes
    return out
