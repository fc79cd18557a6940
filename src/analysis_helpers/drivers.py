"""Drivers of satisfaction: derived importance, importance-performance, penalty-reward.

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
* ``shapley`` - the LMG / Shapley-value decomposition of R^2 (Lindeman, Merenda & Gold 1980;
  Groemping 2006, Journal of Statistical Software 17(1)): the average increase in R^2 when a
  driver joins, over all orders. It is computed exactly over all ``2^p`` subsets, each
  subset's R^2 solved from the correlation matrix in batches grouped by subset size (no
  regression is refitted on the data). Time doubles per driver (about 5 ms for 10 drivers,
  0.2 s for 15, a few seconds for 20); above ``shapley_max_drivers`` the table says so in
  its ``note`` column and relative weights, which track LMG closely, should be read instead;
* ``first``, ``last``, ``betasq``, ``pratt`` - the other ``relaimpo`` metrics (squared
  zero-order correlation, R^2 lost when the driver is dropped last, squared beta, Pratt's
  ``beta * r``), available on request through ``methods``.

Bootstrap intervals re-weight respondents rather than resample them: each replicate gives
every respondent a Poisson(1) count (Hanley & MacGibbon 2006; Chamandy et al. 2012) times
the survey weight, so the replicate moment matrices of all replicates come from one chunked
matrix product of the count matrix with the respondents' cross-products, and the measures
follow from the small replicate correlation matrices. The counts come from a 16-bit
inverse-CDF table of the Poisson(1) law (probabilities exact to 1/65536). The bootstrap
treats respondents as independent draws: it ignores strata and clusters of a complex design.

Around the linear measures: :func:`permutation_importance_check` (a tree ensemble and
permutation importance, a non-linear cross-check), :func:`importance_performance` and
:func:`action_list` (Martilla & James 1977), :func:`penalty_reward` (penalty-reward contrast
analysis; Brandt 1987, Matzler & Sauerwein 2002) with :func:`scale_cutoffs`,
:func:`segment_importance`, :func:`importance_to_index_weights` and
:func:`with_index_weights`. One function reads the study file: :func:`item_performance`
(the performance axis of IPA, with design-based SEs from
:mod:`analysis_helpers.estimation`); every other function takes column names.

Data problems (constant or collinear drivers, too few respondents, missing or non-numeric
columns) raise :class:`DriverError` with a message that names the columns involved; a
missing column raises :class:`MissingColumnError`, which is both a ``DriverError`` and a
``KeyError``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from math import comb
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import stats

from ._checks import as_names, check_columns, check_frame, numeric_values, weight_values

if TYPE_CHECKING:
    from .study import Study

__all__ = [
    "DriverError",
    "MissingColumnError",
    "QUADRANTS",
    "weighted_correlation",
    "importance_from_correlation",
    "driver_importance",
    "permutation_importance_check",
    "importance_performance",
    "action_list",
    "penalty_reward",
    "segment_importance",
    "importance_to_index_weights",
    "with_index_weights",
    "scale_cutoffs",
    "item_performance",
]

#: the four importance-performance quadrants (Martilla & James 1977), keyed by
#: (important, high performance)
QUADRANTS = {
    (True, False): "concentrate here",
    (True, True): "keep up the good work",
    (False, False): "low priority",
    (False, True): "possible overkill",
}

_METHODS = (
    "correlation",
    "beta",
    "relative_weights",
    "shapley",
    "first",
    "last",
    "betasq",
    "pratt",
)
#: output columns of each method, in order
_METHOD_COLUMNS = {
    "correlation": ("correlation",),
    "beta": ("beta",),
    "relative_weights": ("relative_weight", "relative_weight_pct"),
    "shapley": ("shapley", "shapley_pct"),
    "first": ("first",),
    "last": ("last",),
    "betasq": ("betasq",),
    "pratt": ("pratt",),
}
_SHAPLEY_HARD_MAX = 25
_COLLINEAR_TOL = 1e-8


class DriverError(ValueError):
    """The data cannot support a driver analysis; the message names the columns involved."""


class MissingColumnError(DriverError, KeyError):
    """A column named in the call is not in the data (a ``DriverError`` and a ``KeyError``)."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


# --------------------------------------------------------------------------------------
# validation and preparation
# --------------------------------------------------------------------------------------


def _names(value: str | Sequence[str], role: str, func: str) -> list[str]:
    return as_names(value, role, func, empty=False, unique=True)


def _check_columns(
    data: pd.DataFrame, columns: Sequence[str], weight: str | None, func: str
) -> None:
    check_frame(data, func)
    wanted = [*columns, *([weight] if weight is not None else [])]
    check_columns(data, wanted, "the", func, error=MissingColumnError)
    for c in wanted:
        numeric_values(data, c, "weight" if c == weight else "the", func, error=DriverError)


def _float(data: pd.DataFrame, column: str, func: str) -> np.ndarray:
    return numeric_values(data, column, "the", func, error=DriverError)


def _weights(data: pd.DataFrame, weight: str | None, func: str) -> np.ndarray:
    if weight is None:
        return np.ones(len(data))
    return weight_values(data, weight, func, error=DriverError)


class _Prepared:
    """Standardised data ready for weighted moments (internal).

    ``z`` holds the columns centred and scaled by their (available-case) weighted mean and
    standard deviation, with 0 where missing; ``mask`` marks answered cells (``None`` under
    listwise deletion, where every kept row is complete); ``w`` the weights of the kept rows.
    """

    def __init__(self, z, mask, w, names, n, n_effective):
        self.z, self.mask, self.w, self.names = z, mask, w, names
        self.n, self.n_effective = n, n_effective


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
        raise ValueError(f"missing={missing!r}: use 'listwise' or 'pairwise'")
    _check_columns(data, columns, weight, func)
    raw = [_float(data, c, func) for c in columns]
    w = _weights(data, weight, func)
    keep = w > 0
    if missing == "listwise":
        for col in raw:
            keep &= ~np.isnan(col)
    if not keep.any():
        raise DriverError(
            "no respondent has a positive weight and an answer to every one of "
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
            raise DriverError(f"column {c!r} has no answers among the respondents used")
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
                f"outcome {c!r} is constant (every respondent used has {v:g}): "
                "there is no variation to explain"
            )
        listed = ", ".join(f"{c!r} (always {v:g})" for c, v in constant)
        raise DriverError(
            f"constant (zero-variance) driver(s): {listed}; a driver that does not vary "
            "cannot explain anything - drop it"
        )
    if missing == "listwise":
        n = len(w)
        n_eff = w.sum() ** 2 / (w**2).sum()
        return _Prepared(z, None, w, columns, n, n_eff)
    m = answered.astype(float)
    counts = m.T @ m
    sw = (m * w[:, None]).T @ m
    sw2 = (m * (w**2)[:, None]).T @ m
    if (counts == 0).any():
        i, j = np.argwhere(counts == 0)[0]
        raise DriverError(
            f"no respondent answered both {columns[i]!r} and {columns[j]!r}; "
            "pairwise correlations need overlapping answers"
        )
    n_eff = float(np.min(sw**2 / sw2))
    return _Prepared(z, m, w, columns, int(counts.min()), n_eff)


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


def _poisson_table() -> np.ndarray:
    """Poisson(1) counts by inverse CDF on a 16-bit grid (65536 equally likely codes)."""
    k = np.arange(32)
    pmf = np.exp(-1.0 - np.cumsum(np.log(np.maximum(k, 1))))
    cdf = np.cumsum(pmf)
    u = (np.arange(65536) + 0.5) / 65536
    return np.searchsorted(cdf, u, side="right").astype(np.float32)


def _features(prep: _Prepared, rows: slice) -> np.ndarray:
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


def _corr_bootstrap(prep: _Prepared, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """Replicate correlation matrices (n_boot, q, q) from Poisson(1) replicate weights.

    The (replicates x respondents) count matrix is generated one block of rows at a time
    and multiplied with that block's weighted cross-products; blocks are sized so that
    neither factor exceeds about 64 MB, so memory stays flat in the number of respondents.
    """
    table = _poisson_table()
    n = len(prep.w)
    n_feat = _features(prep, slice(0, 1)).shape[1]
    chunk = int(max(256, min(n, 16_000_000 // max(n_boot, n_feat))))
    total = np.zeros((n_boot, n_feat))
    bitgen = rng.bit_generator
    for start in range(0, n, chunk):
        rows = slice(start, min(n, start + chunk))
        size = rows.stop - rows.start
        words = -(-n_boot * size // 4)
        codes = bitgen.random_raw(words).view(np.uint16)[: n_boot * size]
        counts = table[codes.reshape(n_boot, size)]
        total += counts @ _features(prep, rows)
    return _sums_to_corr(prep, total)


def weighted_correlation(
    data: pd.DataFrame,
    *,
    columns: Sequence[str],
    weight: str | None = None,
    missing: str = "listwise",
) -> pd.DataFrame:
    """Survey-weighted Pearson correlation matrix.

    Parameters
    ----------
    data : DataFrame
        One row per respondent.
    columns : sequence of str
        Numeric columns to correlate.
    weight : str, optional
        Column of non-negative survey weights (complete). Rows with weight 0 are left out.
        Without it every respondent counts once.
    missing : {"listwise", "pairwise"}
        ``"listwise"`` uses the respondents who answered every column; ``"pairwise"`` uses,
        for each pair, the respondents who answered both (weighted means and variances of
        that overlap), which may give a matrix that is not positive definite.

    Returns
    -------
    DataFrame
        The square correlation matrix, indexed by ``columns`` on both axes. ``attrs`` holds
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
    """
    names = _names(columns, "columns", "weighted_correlation")
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
        if "relative_weights" in methods:
            lam, vec = np.linalg.eigh(rxx)
            lam = np.where(lam > 0, lam, np.nan)
            vt = np.swapaxes(vec, -1, -2)
            half = (vec * np.sqrt(lam)[..., None, :]) @ vt
            coef = vec @ (((vt @ rxy[..., None])[..., 0] / np.sqrt(lam))[..., None])
            raw = (half**2) @ (coef**2)
            out["relative_weight"] = raw[..., 0]
            out["relative_weight_pct"] = 100 * raw[..., 0] / r2[..., None]
        if "shapley" in methods and shapley:
            lmg = _shapley_from_r2(_subset_r2(rxx, rxy), p)
            out["shapley"] = lmg
            out["shapley_pct"] = 100 * lmg / r2[..., None]
    return out


def _solve_or_nan(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    try:
        return np.linalg.solve(a, b)
    except np.linalg.LinAlgError:
        return np.full_like(b, np.nan)


def _check_collinear(corr: np.ndarray, drivers: list[str], missing: str) -> None:
    """Raise DriverError naming the drivers in a (near) linear dependency."""
    rxx = corr[1:, 1:]
    lam, vec = np.linalg.eigh(rxx)
    if np.isnan(lam).any():
        raise DriverError("the correlation matrix of the drivers could not be computed")
    small = lam < _COLLINEAR_TOL
    if not small.any():
        r2 = corr[1:, 0] @ np.linalg.solve(rxx, corr[1:, 0])
        if r2 > 1 + 1e-9:
            raise DriverError(
                f"R^2 = {r2:.4g} > 1 from the pairwise correlation matrix; use missing='listwise'"
            )
        return
    involved = np.abs(vec[:, small]).max(axis=1) > 0.01
    names = ", ".join(repr(d) for d, bad in zip(drivers, involved, strict=True) if bad)
    if missing == "pairwise" and lam.min() < -_COLLINEAR_TOL:
        raise DriverError(
            "the pairwise correlation matrix of the drivers is not positive definite "
            f"(smallest eigenvalue {lam.min():.3g}); the drivers involved: {names}. "
            "Use missing='listwise'"
        )
    raise DriverError(
        f"drivers are (nearly) perfectly collinear: {names} (smallest eigenvalue of their "
        f"correlation matrix {lam.min():.3g}); drop or combine one of them"
    )


def _validate_common(n_boot: int, level: float, min_per_driver: float) -> None:
    if not 0 < level < 1:
        raise ValueError(f"level={level!r}: give a confidence level between 0 and 1")
    if int(n_boot) != n_boot or n_boot < 0:
        raise ValueError(f"n_boot={n_boot!r}: give a non-negative whole number")
    if min_per_driver < 0:
        raise ValueError(f"min_per_driver={min_per_driver!r}: give a non-negative number")


def importance_from_correlation(
    corr: pd.DataFrame,
    *,
    outcome: str,
    drivers: Sequence[str] | None = None,
    methods: Sequence[str] = ("correlation", "beta", "relative_weights", "shapley"),
    shapley_max_drivers: int = 20,
) -> pd.DataFrame:
    """Importance measures from a correlation matrix (no data needed).

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
        Any of ``"correlation"``, ``"beta"``, ``"relative_weights"``, ``"shapley"``,
        ``"first"``, ``"last"``, ``"betasq"``, ``"pratt"``.
    shapley_max_drivers : int
        Above this many drivers the exact Shapley decomposition is skipped (see the
        ``note`` column).

    Returns
    -------
    DataFrame
        As :func:`driver_importance`, without ``n`` and ``n_effective``.
    """
    if outcome not in corr.columns or outcome not in corr.index:
        raise MissingColumnError(f"outcome {outcome!r} is not in the correlation matrix")
    names = (
        [c for c in corr.columns if c != outcome]
        if drivers is None
        else _names(drivers, "drivers", "importance_from_correlation")
    )
    absent = [d for d in names if d not in corr.columns or d not in corr.index]
    if absent:
        raise MissingColumnError(
            f"driver(s) not in the correlation matrix: {', '.join(map(repr, absent))}"
        )
    methods = _check_methods(methods, shapley_max_drivers)
    order = [outcome, *names]
    r = corr.loc[order, order].to_numpy(dtype=float)
    if np.isnan(r).any():
        raise DriverError("the correlation matrix has missing values")
    _check_collinear(r, names, "pairwise")
    table, _ = _importance_table(r, names, methods, shapley_max_drivers, None, 0.95)
    return table


def _check_methods(methods: Sequence[str], shapley_max_drivers: int) -> list[str]:
    methods = [methods] if isinstance(methods, str) else list(methods)
    unknown = [m for m in methods if m not in _METHODS]
    if unknown or not methods:
        raise ValueError(
            f"methods: unknown {', '.join(map(repr, unknown)) or '(none given)'}; "
            f"use any of {', '.join(_METHODS)}"
        )
    if not 0 <= shapley_max_drivers <= _SHAPLEY_HARD_MAX:
        raise ValueError(
            f"shapley_max_drivers={shapley_max_drivers!r}: exact Shapley over 2^p subsets is "
            f"limited to p <= {_SHAPLEY_HARD_MAX}"
        )
    return methods


def _importance_table(
    corr: np.ndarray,
    drivers: list[str],
    methods: list[str],
    shapley_max_drivers: int,
    boot: np.ndarray | None,
    level: float,
) -> tuple[pd.DataFrame, list[str]]:
    p = len(drivers)
    do_shapley = p <= shapley_max_drivers
    notes = []
    if "shapley" in methods and not do_shapley:
        notes.append(
            f"shapley skipped: {p} drivers > shapley_max_drivers={shapley_max_drivers} "
            f"(2^{p} subsets); read relative_weight, which tracks Shapley/LMG closely"
        )
    point = _measures(corr, methods, do_shapley)
    reps = _measures(boot, methods, do_shapley) if boot is not None else None
    if reps is not None:
        bad = int(np.isnan(reps["r2"]).sum())
        if bad:
            notes.append(f"{bad} of {len(boot)} bootstrap replicates were singular and left out")
    alpha = 1 - level
    cols: dict[str, object] = {"driver": drivers}

    def interval(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = np.nanquantile(values, [alpha / 2, 1 - alpha / 2], axis=0)
        return lo, hi

    for method in methods:
        for col in _METHOD_COLUMNS[method]:
            cols[col] = point[col] if col in point else np.full(p, np.nan)
            if reps is not None:
                if col in reps:
                    lo, hi = interval(reps[col])
                else:
                    lo = hi = np.full(p, np.nan)
                cols[f"{col}_ci_low"], cols[f"{col}_ci_high"] = lo, hi
        if method == "beta":
            cols["sign"] = _sign_labels(point["sign"])
    if "sign" not in cols:
        cols["sign"] = _sign_labels(point["sign"])
    cols["r2"] = np.full(p, float(point["r2"]))
    if reps is not None:
        lo, hi = interval(reps["r2"])
        cols["r2_ci_low"], cols["r2_ci_high"] = np.full(p, lo), np.full(p, hi)
    table = pd.DataFrame(cols)
    return table, notes


def _sign_labels(sign: np.ndarray) -> list[str]:
    return ["+" if s > 0 else "-" if s < 0 else "0" for s in sign]


def driver_importance(
    data: pd.DataFrame,
    *,
    outcome: str,
    drivers: Sequence[str],
    weight: str | None = None,
    missing: str = "listwise",
    methods: Sequence[str] = ("correlation", "beta", "relative_weights", "shapley"),
    shapley_max_drivers: int = 20,
    n_boot: int = 0,
    level: float = 0.95,
    random_state: int | np.random.Generator | None = None,
    min_per_driver: float = 10,
) -> pd.DataFrame:
    """Derived importance of each driver for an outcome, with bootstrap intervals.

    Parameters
    ----------
    data : DataFrame
        One row per respondent.
    outcome : str
        The outcome (e.g. overall satisfaction, or likelihood to recommend).
    drivers : sequence of str
        The numeric driver items.
    weight : str, optional
        Column of survey weights; all moments are weighted.
    missing : {"listwise", "pairwise"}
        Deletion of incomplete answers, see :func:`weighted_correlation`.
    methods : sequence of str
        Measures to report: ``"correlation"``, ``"beta"``, ``"relative_weights"``,
        ``"shapley"``, and optionally ``"first"``, ``"last"``, ``"betasq"``, ``"pratt"``.
    shapley_max_drivers : int
        Exact Shapley costs ``2^p`` small solves; with more drivers than this the Shapley
        columns are left empty and the ``note`` column (and ``attrs["notes"]``) says so.
        At most 25.
    n_boot : int
        Bootstrap replicates for percentile intervals; 0 for none.
    level : float
        Confidence level of the intervals.
    random_state : int, Generator or None
        Seed of the bootstrap.
    min_per_driver : float
        Minimum respondents per driver (default 10, a common rule of thumb); below
        ``max(min_per_driver * p, p + 2)`` respondents a :class:`DriverError` is raised.

    Returns
    -------
    DataFrame
        One row per driver, in the order given: ``driver``; per method its columns
        (``correlation``; ``beta``; ``relative_weight`` - Johnson's raw epsilon - and
        ``relative_weight_pct`` - % of R^2; ``shapley`` - the LMG share of R^2 - and
        ``shapley_pct``; ``first``, ``last``, ``betasq``, ``pratt``), each followed by
        ``<column>_ci_low`` and ``<column>_ci_high`` when ``n_boot > 0``; ``sign`` ("+" or
        "-", of the full-model coefficient); ``r2`` of the full model (with its interval);
        ``n`` (respondents used); ``n_effective`` (Kish); ``note`` ("" when there is
        nothing to note, else e.g. why Shapley was skipped). ``attrs`` holds ``notes`` (a
        list of the same notes), ``outcome``, ``weight``, ``missing``, ``n_boot``,
        ``level``.

    Raises
    ------
    MissingColumnError
        The outcome, a driver or the weight is not in ``data``.
    DriverError
        Non-numeric columns, a constant outcome or driver, perfectly collinear drivers
        (named), too few respondents, missing or negative weights.

    Notes
    -----
    Raw relative weights and Shapley shares each sum to ``r2``. Intervals are bootstrap
    percentiles from Poisson(1) replicate weights (see the module notes); the bootstrap
    ignores strata and clusters. Under ``missing="pairwise"`` each replicate recomputes
    the pairwise moments.

    References
    ----------
    Johnson, J. W. (2000). A heuristic method for estimating the relative weight of
    predictor variables in multiple regression. Multivariate Behavioral Research, 35(1).
    Groemping, U. (2006). Relative importance for linear regression in R: the package
    relaimpo. Journal of Statistical Software, 17(1).
    """
    driver_names = _names(drivers, "drivers", "driver_importance")
    if not isinstance(outcome, str):
        raise ValueError(f"outcome must be one column name, not {outcome!r}")
    if outcome in driver_names:
        raise ValueError(f"outcome {outcome!r} is also listed as a driver")
    methods = _check_methods(methods, shapley_max_drivers)
    _validate_common(n_boot, level, min_per_driver)
    names = [outcome, *driver_names]
    role = {outcome: "outcome"}
    prep = _prepare(data, names, weight, missing, role)
    p = len(driver_names)
    needed = int(max(np.ceil(min_per_driver * p), p + 2))
    if prep.n < needed:
        raise DriverError(
            f"only {prep.n} respondents with usable answers to {outcome!r} and the {p} "
            f"drivers ({', '.join(map(repr, driver_names))}); need at least {needed} "
            f"(min_per_driver={min_per_driver:g})"
        )
    corr = _corr_point(prep)
    _check_collinear(corr, driver_names, missing)
    boot = None
    if n_boot > 0:
        rng = np.random.default_rng(random_state)
        boot = _corr_bootstrap(prep, int(n_boot), rng)
    table, notes = _importance_table(corr, driver_names, methods, shapley_max_drivers, boot, level)
    table["n"] = int(prep.n)
    table["n_effective"] = float(prep.n_effective)
    table["note"] = "; ".join(notes)
    table.attrs.update(
        notes=notes,
        outcome=outcome,
        weight=weight,
        missing=missing,
        n_boot=int(n_boot),
        level=level,
    )
    return table


# --------------------------------------------------------------------------------------
# non-linear cross-check
# --------------------------------------------------------------------------------------


def permutation_importance_check(
    data: pd.DataFrame,
    *,
    outcome: str,
    drivers: Sequence[str],
    weight: str | None = None,
    random_state: int | np.random.Generator | None,
    n_repeats: int = 10,
    model: str = "hist_gradient_boosting",
    max_rows: int = 5000,
    test_size: float = 0.3,
) -> pd.DataFrame:
    """Permutation importance of a tree ensemble: a non-linear check on the linear measures.

    A scikit-learn ensemble is fitted on a training split (with the survey weights as
    ``sample_weight``); :func:`sklearn.inspection.permutation_importance` then measures,
    on the held-out split, how much the weighted R^2 drops when one driver's values are
    shuffled.

    Parameters
    ----------
    data : DataFrame
        One row per respondent; respondents missing the outcome or a driver are left out.
    outcome, drivers, weight
        As in :func:`driver_importance`.
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

    driver_names = _names(drivers, "drivers", "permutation_importance_check")
    if outcome in driver_names:
        raise ValueError(f"outcome {outcome!r} is also listed as a driver")
    if model not in {"hist_gradient_boosting", "random_forest"}:
        raise ValueError(f"model={model!r}: use 'hist_gradient_boosting' or 'random_forest'")
    if not 0 < test_size < 1:
        raise ValueError(f"test_size={test_size!r}: give a share between 0 and 1")
    if n_repeats < 1 or max_rows < 20:
        raise ValueError("n_repeats must be at least 1 and max_rows at least 20")
    names = [outcome, *driver_names]
    _check_columns(data, names, weight, "permutation_importance_check")
    x = np.column_stack([_float(data, c, "permutation_importance_check") for c in driver_names])
    y = _float(data, outcome, "permutation_importance_check")
    w = _weights(data, weight, "permutation_importance_check")
    keep = (w > 0) & ~np.isnan(y) & ~np.isnan(x).any(axis=1)
    x, y, w = x[keep], y[keep], w[keep]
    if len(y) < max(20, 2 * len(driver_names)):
        raise DriverError(
            f"only {len(y)} complete respondents for {outcome!r} and "
            f"{', '.join(map(repr, driver_names))}; need at least "
            f"{max(20, 2 * len(driver_names))}"
        )
    if y.min() == y.max():
        raise DriverError(f"outcome {outcome!r} is constant (all {y[0]:g})")
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
            "r2_test": float(est.score(x_te, y_te, sample_weight=w_te)),
            "n": len(y),
            "n_test": len(y_te),
            "model": model,
        }
    )


# --------------------------------------------------------------------------------------
# importance-performance analysis
# --------------------------------------------------------------------------------------


def _as_series(values, role: str, measure: str | None = None) -> pd.Series:
    if isinstance(values, pd.DataFrame):
        key = next((k for k in ("driver", "item") if k in values.columns), None)
        col = measure if measure is not None else "estimate"
        if key is None or col not in values.columns:
            raise KeyError(
                f"{role}: a DataFrame needs a 'driver' or 'item' column and a {col!r} column"
            )
        if values[key].duplicated().any():
            dup = values[key][values[key].duplicated()].iloc[0]
            raise ValueError(f"{role}: item {dup!r} appears more than once; pass one segment")
        return pd.Series(values[col].to_numpy(dtype=float), index=values[key].tolist())
    series = pd.Series(values, dtype=float)
    if series.index.duplicated().any():
        raise ValueError(f"{role}: item {series.index[series.index.duplicated()][0]!r} repeats")
    return series


def importance_performance(
    importance: pd.Series | Mapping[str, float] | pd.DataFrame,
    performance: pd.Series | Mapping[str, float] | pd.DataFrame,
    *,
    crosshair: str = "mean",
    scale_midpoint: float | None = None,
    measure: str = "relative_weight_pct",
) -> pd.DataFrame:
    """Importance-performance analysis (Martilla & James 1977): a quadrant per item.

    Parameters
    ----------
    importance : Series, mapping or DataFrame
        Importance per item: a Series/mapping item -> value, or the output of
        :func:`driver_importance` (the ``measure`` column is used).
    performance : Series, mapping or DataFrame
        Performance per item (e.g. the weighted mean rating): a Series/mapping, or a frame
        with an ``item`` (or ``driver``) column and an ``estimate`` column.
    crosshair : {"mean", "midpoint"}
        Where the quadrant lines cross. ``"mean"``: at the mean importance and the mean
        performance over the items (the data-centred crosshair). ``"midpoint"``: the
        performance line at ``scale_midpoint`` (e.g. 3 on a 1-5 scale) and the importance
        line halfway between the least and most important item.
    scale_midpoint : float, optional
        Required with ``crosshair="midpoint"``.
    measure : str
        Column of a :func:`driver_importance` table to use as importance.

    Returns
    -------
    DataFrame
        One row per item, in the order of ``importance``: ``item``, ``importance``,
        ``performance``, ``importance_cut``, ``performance_cut``, ``importance_gap``
        (importance - cut), ``performance_gap`` (performance - cut), ``quadrant`` - one of
        "concentrate here" (important, low performance), "keep up the good work"
        (important, high), "low priority" (unimportant, low), "possible overkill"
        (unimportant, high). An item exactly on a line counts as important / high.
    """
    imp = _as_series(importance, "importance", measure)
    perf = _as_series(performance, "performance")
    missing_perf = [i for i in imp.index if i not in perf.index]
    missing_imp = [i for i in perf.index if i not in imp.index]
    if missing_perf or missing_imp:
        raise KeyError(
            "importance and performance must cover the same items; "
            f"no performance for {missing_perf}, no importance for {missing_imp}"
        )
    perf = perf.loc[imp.index]
    for role, s in (("importance", imp), ("performance", perf)):
        if s.isna().any():
            raise ValueError(f"{role} is missing for item {s.index[s.isna()][0]!r}")
    if crosshair == "mean":
        imp_cut, perf_cut = float(imp.mean()), float(perf.mean())
    elif crosshair == "midpoint":
        if scale_midpoint is None:
            raise ValueError("crosshair='midpoint' needs scale_midpoint (e.g. 3 on a 1-5 scale)")
        imp_cut, perf_cut = float(imp.min() + imp.max()) / 2, float(scale_midpoint)
    else:
        raise ValueError(f"crosshair={crosshair!r}: use 'mean' or 'midpoint'")
    important = imp.to_numpy() >= imp_cut
    high = perf.to_numpy() >= perf_cut
    return pd.DataFrame(
        {
            "item": list(imp.index),
            "importance": imp.to_numpy(),
            "performance": perf.to_numpy(),
            "importance_cut": imp_cut,
            "performance_cut": perf_cut,
            "importance_gap": imp.to_numpy() - imp_cut,
            "performance_gap": perf.to_numpy() - perf_cut,
            "quadrant": [
                QUADRANTS[(bool(a), bool(b))] for a, b in zip(important, high, strict=True)
            ],
        }
    )


def action_list(ipa: pd.DataFrame) -> pd.DataFrame:
    """The "concentrate here" items, most important first.

    Parameters
    ----------
    ipa : DataFrame
        Output of :func:`importance_performance`.

    Returns
    -------
    DataFrame
        The "concentrate here" rows ordered by ``importance_gap`` (how far above the
        importance line), largest first, ties broken by the lower performance; a
        ``priority`` column (1 = first) is added.
    """
    needed = {"item", "quadrant", "importance_gap", "performance_gap"}
    absent = sorted(needed - set(ipa.columns))
    if absent:
        raise KeyError(f"ipa lacks column(s) {absent}; pass importance_performance() output")
    out = ipa[ipa["quadrant"] == QUADRANTS[(True, False)]]
    out = out.sort_values(
        ["importance_gap", "performance_gap"], ascending=[False, True], kind="stable"
    ).reset_index(drop=True)
    return out.assign(priority=np.arange(1, len(out) + 1))


def item_performance(
    data: pd.DataFrame,
    *,
    study: Study,
    items: Sequence[str] | None = None,
    measure: str = "mean",
    level: float | None = None,
) -> pd.DataFrame:
    """Performance of each item on a common 0-100 axis, for importance-performance analysis.

    A study-aware convenience: the scale, top box and survey design come from the study
    file, and the estimates (with design-based SEs) from
    :func:`analysis_helpers.estimation.survey_mean`.

    Parameters
    ----------
    data : DataFrame
        Clean analysis data, one row per respondent.
    study : Study
        Supplies each item's scale and top-box codes and the design.
    items : sequence of str, optional
        The items; by default every satisfaction item of the study.
    measure : {"mean", "top2"}
        ``"mean"``: the weighted mean rescaled to 0-100, ``100 (mean - min) / (max - min)``.
        ``"top2"``: the weighted share (in %) rating in the item's top box (the study
        file's ``top_box``, else the top two codes of its scale).
    level : float, optional
        Confidence level; default the study's ``reporting.confidence``.

    Returns
    -------
    DataFrame
        One row per item, in the order given: ``item``, ``label``, ``measure``, ``n``,
        ``n_weighted``, ``estimate`` (0-100), ``se``, ``ci_low``, ``ci_high``.
    """
    from .estimation import survey_mean
    from .scorecard import study_design

    if measure not in {"mean", "top2"}:
        raise ValueError(f"measure={measure!r}: use 'mean' or 'top2'")
    known = study.items
    names = (
        study.item_names("satisfaction")
        if items is None
        else _names(items, "items", "item_performance")
    )
    unknown = [i for i in names if i not in known]
    if unknown:
        raise KeyError(f"item(s) not in the study: {', '.join(map(repr, unknown))}")
    _check_columns(data, names, None, "item_performance")
    design = study_design(study)
    design_cols = [c for c in study.design_columns().values() if c is not None]
    frame = data[design_cols].copy()
    for name in names:
        x = data[name].astype(float)
        sc = known[name].scale
        if measure == "mean":
            frame[name] = 100 * (x - sc.min) / (sc.max - sc.min)
        else:
            frame[name] = (100 * x.isin(known[name].top_codes)).where(x.notna())
    level = level or study.reporting.confidence
    out = survey_mean(frame, items=names, design=design, level=level)
    out.insert(1, "label", out["item"].map(study.label))
    out.insert(2, "measure", measure)
    return out[["item", "label", "measure", "n", "n_weighted", "estimate", "se", "ci_low",
                "ci_high"]].reset_index(drop=True)  # fmt: skip


# --------------------------------------------------------------------------------------
# penalty-reward contrast analysis
# --------------------------------------------------------------------------------------


def scale_cutoffs(scales: pd.DataFrame, *, share: float = 0.25) -> pd.DataFrame:
    """Low and high cut-offs for penalty-reward analysis, from each item's scale.

    A rating is *low* when it lies in the bottom ``share`` of the scale's range and
    *high* when it lies in the top ``share``; the codes between are the reference. With
    the default 0.25: 1-5 -> low 1-2, high 4-5 (the top-2 box); 1-7 -> low 1-2, high
    6-7; 1-10 -> low 1-3, high 8-10; 0-10 -> low 0-2, high 8-10.

    Parameters
    ----------
    scales : DataFrame
        ``item``, ``scale_min``, ``scale_max`` (e.g. :meth:`Study.hierarchy`).
    share : float
        Share of the range at each end, in (0, 0.5).

    Returns
    -------
    DataFrame
        ``item``, ``scale_min``, ``scale_max``, ``low_max`` = floor(min + share (max -
        min)), ``high_min`` = ceil(max - share (max - min)).

    Raises
    ------
    ValueError
        A scale too short to leave at least one middle code between low and high.
    """
    absent = [c for c in ("item", "scale_min", "scale_max") if c not in scales.columns]
    if absent:
        raise KeyError(f"scales lacks column(s) {absent}")
    if not 0 < share < 0.5:
        raise ValueError(f"share={share!r}: give a share of the scale between 0 and 0.5")
    lo = scales["scale_min"].to_numpy(float)
    hi = scales["scale_max"].to_numpy(float)
    span = hi - lo
    low_max = np.floor(lo + share * span + 1e-9)
    high_min = np.ceil(hi - share * span - 1e-9)
    bad = high_min - low_max < 2  # penalty-reward needs a middle (reference) rating
    if bad.any():
        item = scales["item"].iloc[int(np.argmax(bad))]
        raise ValueError(
            f"item {item!r}: its scale is too short to leave a middle band at share={share}"
        )
    return pd.DataFrame(
        {
            "item": scales["item"].to_numpy(),
            "scale_min": lo,
            "scale_max": hi,
            "low_max": low_max,
            "high_min": high_min,
        }
    )


def _per_driver(value, drivers: list[str], role: str) -> dict[str, float]:
    if isinstance(value, Mapping | pd.Series):
        absent = [d for d in drivers if d not in value]
        if absent:
            raise KeyError(f"{role} has no cut-off for driver(s) {', '.join(map(repr, absent))}")
        return {d: float(value[d]) for d in drivers}
    return dict.fromkeys(drivers, float(value))


def penalty_reward(
    data: pd.DataFrame,
    *,
    outcome: str,
    drivers: Sequence[str],
    low_max: float | Mapping[str, float],
    high_min: float | Mapping[str, float],
    weight: str | None = None,
    level: float = 0.95,
    rule: str = "difference",
    ratio: float = 2.0,
    cov_type: str = "HC1",
    correction: str = "none",
) -> pd.DataFrame:
    """Penalty-reward contrast analysis: Kano-style factor classes from ordinary ratings.

    For each attribute two dummies mark low performance (rating <= ``low_max``) and high
    performance (rating >= ``high_min``); the middle is the reference. One (weighted) least
    squares regression of the outcome on all dummies gives per attribute the penalty
    ``-coef(low)`` (the drop in the outcome for a low rating, positive when low ratings
    hurt) and the reward ``coef(high)`` (Brandt 1987; Matzler & Sauerwein 2002).

    Parameters
    ----------
    data : DataFrame
        One row per respondent; respondents missing the outcome or an attribute are left
        out (listwise).
    outcome : str
        Overall satisfaction (or another outcome).
    drivers : sequence of str
        The attribute ratings.
    low_max, high_min : float, mapping or Series
        Cut-offs: a rating at or below ``low_max`` is low, at or above ``high_min`` high.
        A scalar for all attributes, or a mapping / Series per attribute for mixed scales
        (:func:`scale_cutoffs` derives them from each item's scale).
    weight : str, optional
        Survey weights: the regression is weighted least squares.
    level : float
        Confidence level of the intervals; ``1 - level`` is the significance level of the
        classification rule.
    rule : {"difference", "ratio", "significance"}
        How attributes are classed. ``"difference"``: *basic* if the penalty is
        significantly > 0 and significantly larger than the reward (test of penalty -
        reward), *excitement* the mirror, else *performance*. ``"ratio"``: *basic* if the
        penalty is significantly > 0 and at least ``ratio`` times the reward, *excitement*
        the mirror, else *performance*. ``"significance"`` (Matzler & Sauerwein's pattern):
        *basic* if only the penalty is significantly > 0, *excitement* if only the reward
        is, else *performance*. Significance is two-sided at ``1 - level``.
    ratio : float
        Ratio for ``rule="ratio"``.
    cov_type : {"HC1", "HC0", "HC2", "HC3", "nonrobust"}
        Standard errors: heteroscedasticity-consistent sandwich (default HC1, appropriate
        for dummy regressors and for survey weights, which are not precision weights), or
        the model-based WLS covariance. Intervals and p-values use the t distribution with
        ``n - k`` degrees of freedom (as statsmodels with ``use_t=True``). The design
        (strata, clusters) is not taken into account.
    correction : {"none", "holm", "fdr_bh", "bonferroni"}
        Multiple-comparison adjustment of the p-values the rule uses, applied across the
        attributes within each family (penalties, rewards, differences), as
        :func:`statsmodels.stats.multitest.multipletests` does. With many attributes
        (e.g. 40) some asymmetry is "significant" by chance; ``"holm"`` keeps the
        family-wise error at ``1 - level``.

    Returns
    -------
    DataFrame
        One row per attribute: ``driver``, ``low_max``, ``high_min``, ``n_low``,
        ``n_high`` (respondents), ``share_low``, ``share_high`` (weighted shares),
        ``penalty``, ``penalty_se``, ``penalty_ci_low``, ``penalty_ci_high``,
        ``penalty_p_value``, ``reward`` and its ``reward_*`` columns, ``difference``
        (penalty - reward) with ``difference_se`` and ``difference_p_value``,
        ``penalty_p_adjusted``, ``reward_p_adjusted``, ``difference_p_adjusted`` (equal to
        the raw p-values when ``correction="none"``), ``factor_class`` ("basic", "performance", "excitement"), ``significant`` (penalty
        or reward significantly > 0; a "performance" attribute without it has no clear
        effect), ``r2`` (of the dummy regression), ``n``.

    Raises
    ------
    DriverError
        Nobody is low (or high) on an attribute, the dummies are collinear (e.g. a 2-point
        scale), too few respondents, or the usual column problems.
    """
    driver_names = _names(drivers, "drivers", "penalty_reward")
    if outcome in driver_names:
        raise ValueError(f"outcome {outcome!r} is also listed as a driver")
    if rule not in {"difference", "ratio", "significance"}:
        raise ValueError(f"rule={rule!r}: use 'difference', 'ratio' or 'significance'")
    valid_cov = {"HC0", "HC1", "HC2", "HC3", "nonrobust"}
    if cov_type not in valid_cov:
        raise ValueError(f"cov_type={cov_type!r}: use one of {sorted(valid_cov)}")
    if not 0 < level < 1:
        raise ValueError(f"level={level!r}: give a confidence level between 0 and 1")
    if ratio < 1:
        raise ValueError(f"ratio={ratio!r}: give a ratio of at least 1")
    corrections = {"none", "holm", "fdr_bh", "bonferroni"}
    if correction not in corrections:
        raise ValueError(f"correction={correction!r}: use one of {sorted(corrections)}")
    lows = _per_driver(low_max, driver_names, "low_max")
    highs = _per_driver(high_min, driver_names, "high_min")
    for d in driver_names:
        if not lows[d] < highs[d]:
            raise ValueError(
                f"driver {d!r}: low_max={lows[d]:g} must be below high_min={highs[d]:g}"
            )
    names = [outcome, *driver_names]
    _check_columns(data, names, weight, "penalty_reward")
    y = _float(data, outcome, "penalty_reward")
    x = np.column_stack([_float(data, c, "penalty_reward") for c in driver_names])
    w = _weights(data, weight, "penalty_reward")
    keep = (w > 0) & ~np.isnan(y) & ~np.isnan(x).any(axis=1)
    y, x, w = y[keep], x[keep], w[keep]
    p = len(driver_names)
    k = 1 + 2 * p
    if len(y) < k + 2:
        raise DriverError(
            f"only {len(y)} complete respondents for {outcome!r} and {p} attributes; "
            f"need more than {k + 1} for {k} coefficients"
        )
    if y.min() == y.max():
        raise DriverError(f"outcome {outcome!r} is constant (all {y[0]:g})")
    low = x <= np.array([lows[d] for d in driver_names])
    high = x >= np.array([highs[d] for d in driver_names])
    for j, d in enumerate(driver_names):
        # low and high exclude each other, so "all high" is caught as "none low"
        if not low[:, j].any():
            raise DriverError(
                f"driver {d!r}: no respondent rates it low (<= {lows[d]:g}); move the cut-off"
            )
        if low[:, j].all():
            raise DriverError(
                f"driver {d!r}: every respondent rates it low (<= {lows[d]:g}); move the cut-off"
            )
        if not high[:, j].any():
            raise DriverError(
                f"driver {d!r}: no respondent rates it high (>= {highs[d]:g}); move the cut-off"
            )
    design = np.column_stack([np.ones(len(y)), low, high]).astype(float)
    xtwx = design.T @ (design * w[:, None])
    eig = np.linalg.eigvalsh(xtwx / np.diag(xtwx).max())
    if eig.min() < 1e-10:
        _, vec = np.linalg.eigh(xtwx)
        involved = np.abs(vec[1:, 0]) > 0.01
        labels = [f"{d} (low)" for d in driver_names] + [f"{d} (high)" for d in driver_names]
        bad = ", ".join(lab for lab, b in zip(labels, involved, strict=True) if b)
        raise DriverError(
            f"the low/high dummies are collinear: {bad}; with these cut-offs no rating is "
            "left in the middle - widen the middle band"
        )
    coef = np.linalg.solve(xtwx, design.T @ (w * y))
    resid = y - design @ coef
    n = len(y)
    bread = np.linalg.inv(xtwx)
    if cov_type == "nonrobust":
        sigma2 = (w * resid**2).sum() / (n - k)
        cov = bread * sigma2
    else:
        u = resid
        if cov_type in {"HC2", "HC3"}:
            lev = np.einsum("ij,jk,ik->i", design, bread, design) * w
            u = resid / (np.sqrt(1 - lev) if cov_type == "HC2" else (1 - lev))
        meat = (design * (w * u)[:, None]).T @ (design * (w * u)[:, None])
        cov = bread @ meat @ bread
        if cov_type == "HC1":
            cov *= n / (n - k)
    ybar = (w * y).sum() / w.sum()
    r2 = 1 - (w * resid**2).sum() / (w * (y - ybar) ** 2).sum()
    idx_low = np.arange(1, 1 + p)
    idx_high = np.arange(1 + p, 1 + 2 * p)
    se_low = np.sqrt(cov[idx_low, idx_low])
    se_high = np.sqrt(cov[idx_high, idx_high])
    penalty, reward = -coef[idx_low], coef[idx_high]
    diff = penalty - reward
    se_diff = np.sqrt(se_low**2 + se_high**2 + 2 * cov[idx_low, idx_high])
    df = n - k
    tcrit = stats.t.ppf(0.5 + level / 2, df)

    def pval(est, se):
        return 2 * stats.t.sf(np.abs(est / se), df)

    raw_p = pval(penalty, se_low), pval(reward, se_high), pval(diff, se_diff)
    alpha = 1 - level
    if correction == "none":
        p_pen, p_rew, p_diff = raw_p
    else:
        from statsmodels.stats.multitest import multipletests

        p_pen, p_rew, p_diff = (
            multipletests(pv, alpha=alpha, method=correction)[1] for pv in raw_p
        )
    sig_pen = (p_pen < alpha) & (penalty > 0)
    sig_rew = (p_rew < alpha) & (reward > 0)
    if rule == "difference":
        basic = sig_pen & (diff > 0) & (p_diff < alpha)
        excite = sig_rew & (diff < 0) & (p_diff < alpha)
    elif rule == "ratio":
        basic = sig_pen & (penalty >= ratio * np.maximum(reward, 0))
        excite = sig_rew & (reward >= ratio * np.maximum(penalty, 0))
    else:
        basic = sig_pen & ~sig_rew
        excite = sig_rew & ~sig_pen
    factor = np.where(basic, "basic", np.where(excite, "excitement", "performance"))
    wsum = w.sum()
    return pd.DataFrame(
        {
            "driver": driver_names,
            "low_max": [lows[d] for d in driver_names],
            "high_min": [highs[d] for d in driver_names],
            "n_low": low.sum(0),
            "n_high": high.sum(0),
            "share_low": (low * w[:, None]).sum(0) / wsum,
            "share_high": (high * w[:, None]).sum(0) / wsum,
            "penalty": penalty,
            "penalty_se": se_low,
            "penalty_ci_low": penalty - tcrit * se_low,
            "penalty_ci_high": penalty + tcrit * se_low,
            "penalty_p_value": raw_p[0],
            "reward": reward,
            "reward_se": se_high,
            "reward_ci_low": reward - tcrit * se_high,
            "reward_ci_high": reward + tcrit * se_high,
            "reward_p_value": raw_p[1],
            "difference": diff,
            "difference_se": se_diff,
            "difference_p_value": raw_p[2],
            "penalty_p_adjusted": p_pen,
            "reward_p_adjusted": p_rew,
            "difference_p_adjusted": p_diff,
            "factor_class": factor.tolist(),
            "significant": sig_pen | sig_rew,
            "r2": r2,
            "n": n,
        }
    )


# --------------------------------------------------------------------------------------
# segments and index weights
# --------------------------------------------------------------------------------------


def segment_importance(
    data: pd.DataFrame,
    *,
    outcome: str,
    drivers: Sequence[str],
    by: str | Sequence[str],
    weight: str | None = None,
    missing: str = "listwise",
    methods: Sequence[str] = ("correlation", "beta", "relative_weights", "shapley"),
    shapley_max_drivers: int = 20,
    n_boot: int = 0,
    level: float = 0.95,
    random_state: int | np.random.Generator | None = None,
    min_per_driver: float = 10,
    errors: str = "note",
) -> pd.DataFrame:
    """Driver importance per segment or wave, stacked so shifts show.

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
    outcome, drivers, weight, missing, methods, shapley_max_drivers, n_boot, level, \
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
            f"segment column(s) not in the data: {', '.join(map(repr, absent))}"
        )
    if errors not in {"note", "raise", "skip"}:
        raise ValueError(f"errors={errors!r}: use 'note', 'raise' or 'skip'")
    driver_names = _names(drivers, "drivers", "segment_importance")
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
                weight=weight,
                missing=missing,
                methods=methods,
                shapley_max_drivers=shapley_max_drivers,
                n_boot=n_boot,
                level=level,
                random_state=rng,
                min_per_driver=min_per_driver,
            )
            notes += [f"{label}: {note}" for note in table.attrs["notes"]]
            analysed += 1
        except DriverError as err:
            if errors == "raise":
                raise DriverError(f"segment {label}: {err}") from err
            notes.append(f"{label}: {err}")
            if errors == "skip":
                continue
            table = pd.DataFrame({"driver": driver_names})
            table["n"] = len(group)
            table["note"] = str(err)
        table = table.copy()
        for k, v in zip(reversed(keys), reversed(key), strict=True):
            table.insert(0, k, v)
        frames.append(table)
    if not analysed:
        raise DriverError(f"no segment of {', '.join(keys)} could be analysed: {'; '.join(notes)}")
    for f in frames:
        f.attrs = {}
    out = pd.concat(frames, ignore_index=True)
    template = next((f for f in frames if "r2" in f.columns), frames[0])
    out = out[[*template.columns, *[c for c in out.columns if c not in template.columns]]]
    out.attrs["notes"] = notes
    return out


def importance_to_index_weights(
    importance: pd.DataFrame | pd.Series, *, measure: str = "relative_weight"
) -> pd.Series:
    """Item weights for an index roll-up, proportional to an importance measure.

    Parameters
    ----------
    importance : DataFrame or Series
        A :func:`driver_importance` table (one row per driver; one segment) or a Series
        item -> importance.
    measure : str
        The column to use (e.g. ``"relative_weight"``, ``"shapley"``, ``"beta"``).

    Returns
    -------
    Series
        Indexed by item (index name ``item``), named ``weight``: non-negative weights that
        sum to 1, in the order of the drivers - the ``weight_item`` form an index roll-up
        takes. Negative importances (possible for ``beta``, ``pratt``, ``correlation``)
        count as 0.

    Raises
    ------
    DriverError
        The measure is missing for a driver (e.g. Shapley skipped) or no importance is
        positive.
    """
    if isinstance(importance, pd.DataFrame):
        if "driver" not in importance.columns or measure not in importance.columns:
            raise KeyError(
                f"importance needs a 'driver' column and a {measure!r} column "
                f"(it has {list(importance.columns)})"
            )
        if importance["driver"].duplicated().any():
            dup = importance["driver"][importance["driver"].duplicated()].iloc[0]
            raise ValueError(f"driver {dup!r} appears more than once; pass the rows of one segment")
        values = pd.Series(
            importance[measure].to_numpy(dtype=float), index=importance["driver"].tolist()
        )
    else:
        values = pd.Series(importance, dtype=float)
    if values.isna().any():
        raise DriverError(
            f"{measure!r} is missing for: {', '.join(map(repr, values.index[values.isna()]))}"
        )
    clipped = values.clip(lower=0)
    if clipped.sum() <= 0:
        raise DriverError(f"no driver has a positive {measure!r}; cannot weight an index")
    out = clipped / clipped.sum()
    out.index = pd.Index(list(values.index), name="item")
    out.name = "weight"
    return out


def with_index_weights(
    hierarchy: pd.DataFrame, weights: pd.Series | Mapping[str, float], *, level: str = "area"
) -> pd.DataFrame:
    """The hierarchy table with derived weights at one level, ready for the index roll-up.

    Parameters
    ----------
    hierarchy : DataFrame
        :meth:`Study.hierarchy`: one row per item with ``item``, ``indicator``, ``area``
        and the stated ``weight_indicator`` / ``weight_area``.
    weights : Series or mapping
        Weight per area (or indicator, or item), e.g. from
        :func:`importance_to_index_weights`.
    level : {"area", "indicator", "item"}
        The level the weights are for; they go into ``weight_<level>``.

    Returns
    -------
    DataFrame
        A copy of ``hierarchy`` whose ``weight_<level>`` column holds the weights (the
        form :func:`analysis_helpers.kpis.csi` rolls up with).
    """
    if level not in {"area", "indicator", "item"}:
        raise ValueError(f"level={level!r}: use 'area', 'indicator' or 'item'")
    if level not in hierarchy.columns:
        raise KeyError(f"hierarchy lacks the column {level!r}")
    w = pd.Series(weights, dtype=float)
    units = list(dict.fromkeys(hierarchy[level]))
    absent = [u for u in units if u not in w.index]
    if absent:
        raise KeyError(f"no weight for {level}(s) {', '.join(map(repr, absent))}")
    extra = [u for u in w.index if u not in units]
    if extra:
        raise KeyError(f"weights for unknown {level}(s) {', '.join(map(repr, extra))}")
    if w.isna().any() or (w < 0).any():
        raise ValueError("weights must be non-negative numbers")
    return hierarchy.assign(**{f"weight_{level}": hierarchy[level].map(w).astype(float)})
