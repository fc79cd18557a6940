"""Bootstrap confidence intervals of a PLS path model, with the survey design.

Method
------
**Resampling.** Rao & Wu's (1988) rescaling bootstrap, R ``survey``'s
``as.svrepdesign(type="subbootstrap")``: in each stratum ``h`` with ``n_h`` PSUs, draw
``n_h - 1`` PSUs with replacement; a respondent's replicate weight is its survey weight
times ``n_h / (n_h - 1)`` times the number of draws of its PSU. Without strata and clusters
every respondent is a PSU of one stratum (an ordinary weighted bootstrap of n - 1 of n).
Strata with one PSU keep their weights (they add no variance). The finite population
correction is ignored (with-replacement bootstrap).

**Vectorised.** The model needs only the weighted item covariance matrix, so a replicate
is one row of a (replicates x respondents) multiplier matrix times the respondents'
weighted cross-products: ``M @ F`` gives every replicate's moments in one matrix product,
and the PLS iteration then runs on the stack of replicate covariance matrices at once,
warm-started from the full-sample weights. Replicates that do not converge are dropped
and counted (``n_boot`` column).

**Intervals.** ``method="percentile"``: the ``(1 - confidence)/2`` and ``(1 + confidence)/2``
quantiles of the replicates. ``method="bca"``: bias-corrected and accelerated (Efron 1987,
JASA 82; Efron & Tibshirani 1993, ch. 14.3): bias ``z0 = Phi^-1(share of replicates below
the estimate, ties counted half)``, acceleration ``a = sum d^3 / (6 (sum d^2)^1.5)`` from
jackknife values ``d = mean(theta_(g)) - theta_(g)``, the jackknife deleting one PSU at a
time (or one of at most 2,000 random groups of PSUs when there are more), and quantile
levels ``Phi(z0 + (z0 + z_q) / (1 - a (z0 + z_q)))``. ``se`` is the standard deviation of the
replicates; ``statistic = estimate / se`` and its two-sided normal ``p_value`` are what
SmartPLS reports as the bootstrap t test.

Missing answers are replaced once by the full-sample means (``missing="mean"``), so the
replicates resample the imputed data.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy import sparse, stats

from analysis_helpers._checks import check_confidence
from analysis_helpers._progress import steps
from analysis_helpers.estimation import PreparedDesign, SurveyDesign
from analysis_helpers.pls import _kernel
from analysis_helpers.pls.fit import _Data, _fit_arrays, _prepare, _scaled_cov
from analysis_helpers.pls.model import PathModel

__all__ = ["pls_bootstrap", "bca_interval", "percentile_interval"]

_MAX_CELLS = 16_000_000  # entries of a multiplier or feature block (128 MB of float64)
_MAX_JACK_GROUPS = 2000
KINDS = (
    "weight",
    "loading",
    "path",
    "indirect_effect",
    "total_effect",
    "r_squared",
    "htmt",
    "index",
)


# --------------------------------------------------------------------------------------
# Intervals
# --------------------------------------------------------------------------------------
def percentile_interval(boot: np.ndarray, *, confidence: float = 0.95) -> np.ndarray:
    """Percentile interval per column of ``boot`` (replicates x statistics): (2, K).

    Parameters
    ----------
    boot : array (B, K)
        Bootstrap replicates.
    confidence : float
        Coverage of the interval.

    References
    ----------
    Efron, B., & Tibshirani, R. J. (1993). *An Introduction to the Bootstrap*. Chapman &
    Hall, ch. 13.

    Examples
    --------
    The 2.5% and 97.5% quantiles of 1, 2, ..., 99 are 1 + 0.025 * 98 and 1 + 0.975 * 98:

    >>> percentile_interval(np.arange(1.0, 100.0)[:, None]).round(2)
    array([[ 3.45],
           [96.55]])
    """
    confidence = check_confidence(confidence, "percentile_interval")
    a = (1 - confidence) / 2
    return np.quantile(np.asarray(boot, float), [a, 1 - a], axis=0)


def bca_interval(
    estimate: np.ndarray, boot: np.ndarray, jack: np.ndarray, *, confidence: float = 0.95
) -> np.ndarray:
    """BCa interval per statistic (Efron 1987): (2, K) lower and upper limits.

    Parameters
    ----------
    estimate : array (K,)
        Full-sample estimates.
    boot : array (B, K)
        Bootstrap replicates.
    jack : array (G, K)
        Jackknife (leave-one-out or leave-one-group-out) estimates, for the acceleration.
    confidence : float
        Coverage of the interval.

    References
    ----------
    Efron, B. (1987). Better bootstrap confidence intervals. *Journal of the American
    Statistical Association*, 82(397), 171-185.

    Examples
    --------
    Replicates centred on the estimate (no bias) and a symmetric jackknife (no acceleration)
    give the percentile interval:

    >>> boot = np.arange(1.0, 100.0)[:, None]
    >>> bca_interval(np.array([50.0]), boot, np.array([[-1.0], [0.0], [1.0]])).round(2)
    array([[ 3.45],
           [96.55]])
    """
    confidence = check_confidence(confidence, "bca_interval")
    estimate = np.atleast_1d(np.asarray(estimate, float))
    boot = np.asarray(boot, float).reshape(len(boot), -1)
    jack = np.asarray(jack, float).reshape(len(jack), -1)
    B = len(boot)
    below = (boot < estimate).sum(axis=0) + 0.5 * (boot == estimate).sum(axis=0)
    prop = np.clip(below / B, 1 / (2 * B), 1 - 1 / (2 * B))
    z0 = stats.norm.ppf(prop)
    d = jack.mean(axis=0) - jack
    ss = (d**2).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        acc = np.where(ss > 0, (d**3).sum(axis=0) / (6 * ss**1.5), 0.0)
    a = (1 - confidence) / 2
    out = np.empty((2, boot.shape[1]))
    for r, q in enumerate((stats.norm.ppf(a), stats.norm.ppf(1 - a))):
        level = stats.norm.cdf(z0 + (z0 + q) / (1 - acc * (z0 + q)))
        for k in range(boot.shape[1]):
            out[r, k] = np.quantile(boot[:, k], level[k])
    flat = boot.max(axis=0) == boot.min(axis=0)
    out[:, flat] = boot[0, flat]
    return out


# --------------------------------------------------------------------------------------
# Replicate moments
# --------------------------------------------------------------------------------------
def _psu_codes(prep: PreparedDesign, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """PSU code of each used row, stratum of each PSU, PSUs per stratum (used rows only)."""
    psu_full, stratum_full = np.arange(prep.n), prep.stratum
    if prep.psu is not None and prep.psu_stratum is not None:  # clusters come with their strata
        psu_full, stratum_full = prep.psu, prep.psu_stratum
    used, psu = np.unique(psu_full[rows], return_inverse=True)
    strat = stratum_full[used]
    n_h = np.bincount(strat, minlength=prep.n_strata)
    return psu.astype(np.int64), strat.astype(np.int64), n_h


def _multipliers(strat: np.ndarray, n_h: np.ndarray, n_boot: int, rng) -> np.ndarray:
    """Rao-Wu multipliers (n_boot, n_psu): draws of each PSU x n_h / (n_h - 1)."""
    P = len(strat)
    out = np.ones((n_boot, P))
    order = np.argsort(strat, kind="stable")
    starts = np.concatenate([[0], np.cumsum(n_h)])
    for h in range(len(n_h)):
        k = int(n_h[h])
        if k < 2:
            continue
        members = order[starts[h] : starts[h + 1]]
        draws = rng.integers(0, k, size=(n_boot, k - 1))
        flat = (draws + (np.arange(n_boot) * k)[:, None]).ravel()
        counts = np.bincount(flat, minlength=n_boot * k).reshape(n_boot, k)
        out[:, members] = counts * (k / (k - 1))
    return out


def _features(d: _Data, rows: slice) -> np.ndarray:
    x = d.dev[rows]
    p = x.shape[1]
    iu, ju = np.triu_indices(p)
    f = np.concatenate([np.ones((len(x), 1)), x, x[:, iu] * x[:, ju]], axis=1)
    return f * d.w[rows, None]


def _moments_from_sums(total: np.ndarray, p: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weight sum, mean shift and covariance per replicate from summed features."""
    iu, ju = np.triu_indices(p)
    s0 = total[:, 0]
    mu = total[:, 1 : p + 1] / s0[:, None]
    S = np.empty((len(total), p, p))
    S[:, iu, ju] = total[:, p + 1 :]
    S[:, ju, iu] = total[:, p + 1 :]
    S = S / s0[:, None, None] - mu[:, :, None] * mu[:, None, :]
    return s0, mu, S


def _replicate_sums(d: _Data, psu: np.ndarray, mult_blocks) -> np.ndarray:
    """Sum the weighted features per replicate: sum_i m_bi w_i f_i, in blocks of rows."""
    n, p = d.dev.shape
    nf = 1 + p + p * (p + 1) // 2
    row_chunk = max(1, min(n, _MAX_CELLS // nf))
    cached = _features(d, slice(0, n)) if row_chunk >= n else None
    totals = []
    for M in mult_blocks:
        t = np.zeros((len(M), nf))
        for start in range(0, n, row_chunk):
            rows = slice(start, min(n, start + row_chunk))
            F = cached if cached is not None else _features(d, rows)
            t += M[:, psu[rows]] @ F
        totals.append(t)
    return np.concatenate(totals)


def _jackknife_sums(d: _Data, psu: np.ndarray, n_psu: int, rng) -> np.ndarray:
    """Sum the features with one PSU (or one random group of PSUs) deleted: (G, nf)."""
    n, p = d.dev.shape
    G = min(n_psu, _MAX_JACK_GROUPS)
    group_of_psu = rng.permutation(n_psu) % G if G < n_psu else np.arange(n_psu)
    g = group_of_psu[psu]
    nf = 1 + p + p * (p + 1) // 2
    row_chunk = max(1, min(n, _MAX_CELLS // nf))
    per_group = np.zeros((G, nf))
    total = np.zeros(nf)
    for start in range(0, n, row_chunk):
        rows = slice(start, min(n, start + row_chunk))
        F = _features(d, rows)
        onehot = sparse.csr_matrix(
            (np.ones(len(F)), (g[rows], np.arange(len(F)))), shape=(G, len(F))
        )
        per_group += onehot @ F
        total += F.sum(axis=0)
    return total[None, :] - per_group


# --------------------------------------------------------------------------------------
# Statistics of a batch of solutions
# --------------------------------------------------------------------------------------
def _layout(model: PathModel, has_index: bool) -> pd.DataFrame:
    """One row per bootstrapped statistic: kind, block, item, from, to."""
    rows: list[tuple[str, str | None, str | None, str | None, str | None]] = []
    for b, items in model.blocks.items():
        for i in items:
            rows.append(("weight", b, i, None, None))
    for b, items in model.blocks.items():
        for i in items:
            rows.append(("loading", b, i, None, None))
    for a, b in model.paths:
        rows.append(("path", None, None, a, b))
    st = model.structure()
    names = model.constructs
    T = _kernel.total_effects(st.adjacency[None].astype(float))[0]
    order = model.causal_order()
    pairs = [(a, b) for i, a in enumerate(order) for b in order[i + 1 :]
             if T[names.index(a), names.index(b)] > 0]  # fmt: skip
    for a, b in pairs:
        rows.append(("indirect_effect", None, None, a, b))
    for a, b in pairs:
        rows.append(("total_effect", None, None, a, b))
    for c in names:
        if model.predecessors(c):
            rows.append(("r_squared", c, None, None, None))
    for k, a in enumerate(names):
        for b in names[k + 1 :]:
            rows.append(("htmt", None, None, a, b))
    if has_index:
        for c in names:
            rows.append(("index", c, None, None, None))
    return pd.DataFrame(rows, columns=["kind", "block", "item", "from", "to"])


def _statistics(
    sol: _kernel.Solution,
    S: np.ndarray,
    mean: np.ndarray,
    model: PathModel,
    layout: pd.DataFrame,
    scaled: bool,
    ranges: tuple[np.ndarray, np.ndarray] | None,
) -> np.ndarray:
    """(B, K) values of the layout's statistics for a batch of solutions."""
    st = model.structure()
    names = model.constructs
    pos = {c: k for k, c in enumerate(names)}
    p = len(st.block_of)
    items = np.arange(p)
    cols = []
    w_own = sol.W[:, items, st.block_of]
    cols.append(w_own)
    cols.append(sol.loadings[:, items, st.block_of])
    P = sol.paths
    for a, b in model.paths:
        cols.append(P[:, pos[a], pos[b]][:, None])
    T = _kernel.total_effects(P)
    for kind in ("indirect_effect", "total_effect"):
        sub = layout[layout["kind"] == kind]
        for a, b in zip(sub["from"], sub["to"], strict=True):
            t = T[:, pos[a], pos[b]]
            cols.append((t - P[:, pos[a], pos[b]] if kind == "indirect_effect" else t)[:, None])
    for c in layout.loc[layout["kind"] == "r_squared", "block"]:
        cols.append(sol.r2[:, pos[c]][:, None])
    sd = np.sqrt(np.diagonal(S, axis1=1, axis2=2))
    Rx = S / (sd[:, :, None] * sd[:, None, :])
    H = _kernel.htmt(Rx, st.block_of, len(names))
    for a, b in zip(
        *(layout.loc[layout["kind"] == "htmt", c] for c in ("from", "to")), strict=True
    ):
        cols.append(H[:, pos[a], pos[b]][:, None])
    if ranges is not None:
        lo, hi = ranges
        raw = w_own / sd if scaled else w_own
        w100 = raw * (hi - lo) / 100.0
        perf = (mean - lo) / (hi - lo) * 100.0  # (B, p)
        J = len(names)
        num = np.zeros((len(S), J))
        den = np.zeros((len(S), J))
        for j in range(J):
            idx = st.items_of(j)
            num[:, j] = (w100[:, idx] * perf[:, idx]).sum(axis=1)
            den[:, j] = w100[:, idx].sum(axis=1)
        cols.append(num / den)
    return np.concatenate(cols, axis=1)


def _item_ranges(model: PathModel, scale_min, scale_max, who: str):
    if scale_min is None and scale_max is None:
        return None
    if scale_min is None or scale_max is None:
        raise ValueError(f"{who}: give both scale_min and scale_max (or neither)")

    def per_item(value, name):
        if isinstance(value, Mapping):
            missing = [i for i in model.items if i not in value]
            if missing:
                raise KeyError(f"{who}: {name} has no value for item {missing[0]!r}")
            return np.array([float(value[i]) for i in model.items])
        return np.full(len(model.items), float(value))

    lo, hi = per_item(scale_min, "scale_min"), per_item(scale_max, "scale_max")
    bad = np.flatnonzero(~(hi > lo))
    if len(bad):
        i = model.items[bad[0]]
        raise ValueError(f"{who}: item {i!r} has scale_min {lo[bad[0]]} >= scale_max {hi[bad[0]]}")
    return lo, hi


# --------------------------------------------------------------------------------------
# The bootstrap
# --------------------------------------------------------------------------------------
def pls_bootstrap(
    data: pd.DataFrame,
    *,
    model: PathModel,
    design: SurveyDesign | None = None,
    n_boot: int = 1000,
    method: str = "percentile",
    confidence: float = 0.95,
    random_state: int | np.random.Generator | None = None,
    scale_min: float | Mapping[str, float] | None = None,
    scale_max: float | Mapping[str, float] | None = None,
    scaled: bool = True,
    missing: str = "mean",
    tol: float = 1e-10,
    max_iter: int = 300,
) -> pd.DataFrame:
    """Bootstrap standard errors and intervals of every PLS estimate, design-aware.

    Parameters
    ----------
    data : DataFrame
        One row per respondent.
    model : PathModel
    design : SurveyDesign, optional
        Weights, strata and clusters of the resampling (see the module notes).
    n_boot : int
        Bootstrap replicates (>= 2; 1,000 or more for intervals, 5,000 for BCa in print).
    method : {"percentile", "bca"}
        Interval method.
    confidence : float
        Coverage of the intervals.
    random_state : int, Generator or None
        The only source of randomness: the same value gives the same replicates.
    scale_min, scale_max : number or mapping item -> number, optional
        The items' scale ranges; given, the constructs' 0-100 indices
        (:func:`~analysis_helpers.pls.construct_index`'s point estimates) are bootstrapped
        too, with their outer weights re-estimated in every replicate.
    scaled, missing, tol, max_iter
        As :func:`~analysis_helpers.pls.fit_pls`.

    Returns
    -------
    DataFrame
        One row per statistic: ``kind`` (``weight``, ``loading``, ``path``,
        ``indirect_effect``, ``total_effect``, ``r_squared``, ``htmt``, ``index``),
        ``block``, ``item`` (weights and loadings; ``block`` also for ``r_squared`` and
        ``index``), ``from``, ``to`` (paths, effects, HTMT pairs), ``estimate`` (full
        sample), ``boot_mean``, ``se``, ``ci_low``, ``ci_high``, ``statistic``
        (estimate / se), ``p_value`` (two-sided, normal; NaN for ``r_squared``, ``htmt``
        and ``index``, where a test of zero means nothing - read their intervals, e.g. an
        HTMT interval below 0.85 or 1), ``method``, ``n_boot`` (converged replicates used).
    """
    who = "pls_bootstrap"
    if method not in ("percentile", "bca"):
        raise ValueError(f"{who}: method {method!r}: use 'percentile' or 'bca'")
    if not (isinstance(n_boot, int | np.integer) and n_boot >= 2):
        raise ValueError(f"{who}: n_boot must be an integer >= 2, got {n_boot!r}")
    confidence = check_confidence(confidence, who)
    rng = np.random.default_rng(random_state)
    d = _prepare(data, model, design, missing, who)
    ranges = _item_ranges(model, scale_min, scale_max, who)
    S, A, sd, sol = _fit_arrays(d, model, scaled=scaled, tol=tol, max_iter=max_iter, who=who)
    st = model.structure()
    layout = _layout(model, ranges is not None)
    est = _statistics(sol, S[None], d.mean[None], model, layout, scaled, ranges)[0]

    psu, strat, n_h = _psu_codes(d.prep, d.rows)
    p = S.shape[0]
    chunk = max(1, _MAX_CELLS // max(len(strat), 1))
    blocks = (
        _multipliers(strat, n_h, min(chunk, n_boot - s), rng)
        for s in steps(
            range(0, n_boot, chunk),
            desc="PLS bootstrap",
            unit="replicate",
            scale=chunk,
            total=n_boot,
        )
    )
    total = _replicate_sums(d, psu, blocks)

    def solve_sums(tot: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        s0, mu, Sb = _moments_from_sums(tot, p)
        Ab, _ = _scaled_cov(Sb, scaled)
        sb = _kernel.solve(Ab, st, c=(s0 - 1) / s0, tol=tol, max_iter=max_iter, start=sol.W[0])
        vals = _statistics(sb, Sb, d.mean + mu, model, layout, scaled, ranges)
        return vals, sb.converged

    boot, ok = solve_sums(total)
    boot = boot[ok]
    used = int(ok.sum())
    if used < 2:
        raise ValueError(f"{who}: only {used} of {n_boot} replicates converged")
    if method == "percentile":
        lo, hi = percentile_interval(boot, confidence=confidence)
    else:
        jack, jok = solve_sums(_jackknife_sums(d, psu, len(strat), rng))
        lo, hi = bca_interval(est, boot, jack[jok], confidence=confidence)
    se = boot.std(axis=0, ddof=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.where(se > 0, est / se, np.nan)
    out = layout.copy()
    out["estimate"] = est
    out["boot_mean"] = boot.mean(axis=0)
    out["se"] = se
    out["ci_low"] = lo
    out["ci_high"] = hi
    untested = out["kind"].isin(["r_squared", "htmt", "index"]).to_numpy()
    t = np.where(untested, np.nan, t)
    out["statistic"] = t
    out["p_value"] = 2 * stats.norm.sf(np.abs(t))
    out["method"] = method
    out["n_boot"] = used
    return out
