"""The PLS-PM algorithm on covariance matrices, batched over samples (internal).

Every quantity of a PLS path model with metric items is a function of the item
covariance matrix ``S`` (weighted, divisor = the sum of weights): the construct scores
are ``Y = X W``, so ``cov(X, Y) = S W`` and ``cov(Y) = W' S W``; mode A weights are
covariances of items with the inner proxies, mode B weights the regressions of the
proxies on the block's items; path coefficients and R^2 come from ``cor(Y)``. Working on
``S`` makes a fit on a million respondents one pass over the data (to form ``S``) plus
microseconds of matrix algebra, and a bootstrap a stack of ``S`` matrices that is solved
in one batched iteration instead of a Python loop over resamples.

The iteration is R ``plspm``'s ``get_weights`` (Sanchez 2013), step for step, so that its
results are reproduced to machine precision: start from unit weights scaled to unit
variance; external estimate ``Y = XW`` standardised and multiplied by ``(N-1)/N`` (plspm's
``scale(Y) * sdv``); inner weights by the centroid, factorial or path scheme (Lohmoeller
1989); mode A ``w_j = X_j' Z_j / N``, mode B ``w_j = (X_j'X_j)^-1 X_j' Z_j``; stop when
``sum((|w_old| - |w_new|)^2) < tol``. Final weights give scores of variance 1 (divisor N)
and each block's sign is set so that most of its loadings are positive (plspm's
``get_scores``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SCHEMES = ("path", "centroid", "factorial")


@dataclass(frozen=True)
class Structure:
    """The model in integer codes: items to blocks, modes, the inner adjacency.

    ``adjacency[j, k]`` is 1 when there is a path from construct ``j`` to construct ``k``.
    ``order`` lists the constructs so that every path goes from an earlier to a later one.
    """

    block_of: np.ndarray  # (p,) block index of each item
    modes: tuple[str, ...]  # (J,) "A" or "B"
    adjacency: np.ndarray  # (J, J)
    scheme: str

    @property
    def n_blocks(self) -> int:
        return len(self.modes)

    def items_of(self, j: int) -> np.ndarray:
        return np.flatnonzero(self.block_of == j)

    def predecessors(self, k: int) -> np.ndarray:
        return np.flatnonzero(self.adjacency[:, k])

    def successors(self, k: int) -> np.ndarray:
        return np.flatnonzero(self.adjacency[k, :])

    @property
    def endogenous(self) -> np.ndarray:
        return np.flatnonzero(self.adjacency.sum(axis=0) > 0)


@dataclass
class Solution:
    """Batched results: ``B`` samples, ``p`` items, ``J`` constructs."""

    W: np.ndarray  # (B, p, J) outer weights, scores of unit variance
    R: np.ndarray  # (B, J, J) construct correlations
    loadings: np.ndarray  # (B, p, J) item-construct correlations (cross-loadings)
    paths: np.ndarray  # (B, J, J) path coefficients, [from, to]
    r2: np.ndarray  # (B, J) R^2 of the endogenous constructs (0 for exogenous)
    iterations: np.ndarray  # (B,)
    converged: np.ndarray  # (B,) bool
    change: np.ndarray  # (B, J) last change of each block's weights (convergence check)


def _diag(a: np.ndarray) -> np.ndarray:
    return np.diagonal(a, axis1=-2, axis2=-1)


def _inner_weights(R: np.ndarray, st: Structure) -> np.ndarray:
    """Inner weights ``E`` (B, J, J); the inner proxy of ``k`` is ``sum_j Y_j E[j, k]``."""
    A = st.adjacency.astype(float)
    nb = A + A.T
    if st.scheme == "centroid":
        return np.sign(R * nb)
    if st.scheme == "factorial":
        return R * nb
    E = np.zeros_like(R)
    for k in range(st.n_blocks):
        pred = st.predecessors(k)
        if len(pred):
            # regression of Y_k on its predecessors (plspm: lm(LV[,k] ~ LV[,follow] - 1))
            E[:, pred, k] = np.linalg.solve(R[:, pred[:, None], pred], R[:, pred, k][..., None])[
                ..., 0
            ]
        succ = st.successors(k)
        if len(succ):
            E[:, succ, k] = R[:, k, succ]
    return E


def _outer_step(S: np.ndarray, W: np.ndarray, st: Structure, c: np.ndarray) -> np.ndarray:
    """One plspm outer update from the current weights."""
    SW = S @ W
    C = np.swapaxes(W, 1, 2) @ SW
    d = np.sqrt(np.maximum(_diag(C), 1e-300))
    R = C / (d[:, :, None] * d[:, None, :])
    E = _inner_weights(R, st)
    # cov(X, Y) with Y = XW / sd(XW) * (N-1)/N, then cov(X, Z) with Z = Y E
    G = SW / d[:, None, :] * c[:, None, None]
    G = G @ E
    new = np.zeros_like(W)
    for j in range(st.n_blocks):
        idx = st.items_of(j)
        if st.modes[j] == "A":
            new[:, idx, j] = G[:, idx, j]
        else:
            new[:, idx, j] = np.linalg.solve(S[:, idx[:, None], idx], G[:, idx, j][..., None])[
                ..., 0
            ]
    return new


def _normalise(S: np.ndarray, W: np.ndarray) -> np.ndarray:
    var = (W * (S @ W)).sum(axis=1)
    return W / np.sqrt(np.maximum(var, 1e-300))[:, None, :]


def solve(
    S: np.ndarray,
    st: Structure,
    *,
    c: np.ndarray,
    tol: float = 1e-6,
    max_iter: int = 100,
    start: np.ndarray | None = None,
) -> Solution:
    """Run the PLS-PM iteration on a stack of covariance matrices ``S`` (B, p, p).

    ``c`` is plspm's ``(N-1)/N`` per sample (it scales the weights the convergence test
    compares). ``start``: initial weights (p, J) or (B, p, J) - a warm start for bootstrap
    replicates; by default unit weights scaled to unit variance, as plspm.
    """
    S = np.asarray(S, dtype=float)
    B, p, _ = S.shape
    J = st.n_blocks
    M = np.zeros((p, J))
    M[np.arange(p), st.block_of] = 1.0
    if start is None:
        W = _normalise(S, np.broadcast_to(M, (B, p, J)).copy())
    else:
        W = np.broadcast_to(np.asarray(start, dtype=float), (B, p, J)).copy()
    w_old = W.sum(axis=2)
    converged = np.zeros(B, dtype=bool)
    iterations = np.zeros(B, dtype=np.int64)
    change = np.full((B, J), np.inf)
    active = np.arange(B)
    for it in range(1, max_iter + 1):
        Wa = _outer_step(S[active], W[active], st, c[active])
        w_new = Wa.sum(axis=2)
        step = (np.abs(w_old[active]) - np.abs(w_new)) ** 2
        dif = step.sum(axis=1)
        W[active] = Wa
        w_old[active] = w_new
        iterations[active] = it
        per_block = np.zeros((len(active), J))
        np.add.at(per_block.T, st.block_of, step.T)
        change[active] = per_block
        done = dif < tol
        if it < max_iter:  # plspm: stopping at max_iter counts as a failure
            converged[active[done]] = True
        active = active[~done]
        if len(active) == 0:
            break
    W = _normalise(S, W)
    sd = np.sqrt(np.maximum(_diag(S), 1e-300))
    L = (S @ W) / sd[:, :, None]
    # sign: most loadings of a block positive (ties flip, as plspm's get_scores)
    for j in range(J):
        idx = st.items_of(j)
        s = np.sign(np.sign(L[:, idx, j]).sum(axis=1))
        s[s == 0] = -1
        W[:, :, j] *= s[:, None]
        L[:, :, j] *= s[:, None]
    R = np.swapaxes(W, 1, 2) @ (S @ W)
    paths, r2 = path_coefficients(R, st)
    return Solution(W, R, L, paths, r2, iterations, converged, change)


def path_coefficients(R: np.ndarray, st: Structure) -> tuple[np.ndarray, np.ndarray]:
    """OLS paths ``[from, to]`` and R^2 from construct correlations (B, J, J)."""
    B, J, _ = R.shape
    P = np.zeros((B, J, J))
    r2 = np.zeros((B, J))
    for k in st.endogenous:
        pred = st.predecessors(k)
        b = np.linalg.solve(R[:, pred[:, None], pred], R[:, pred, k][..., None])[..., 0]
        P[:, pred, k] = b
        r2[:, k] = (b * R[:, pred, k]).sum(axis=1)
    return P, r2


def total_effects(P: np.ndarray) -> np.ndarray:
    """Total effects ``[from, to]``: the sum of all powers of the path matrix."""
    J = P.shape[-1]
    eye = np.eye(J)
    return np.linalg.inv(eye - P) - eye


def htmt(Rx: np.ndarray, block_of: np.ndarray, J: int) -> np.ndarray:
    """Heterotrait-monotrait ratios (B, J, J) from item correlations (B, p, p).

    Henseler, Ringle & Sarstedt (2015): mean heterotrait correlation over the geometric
    mean of the two blocks' mean monotrait (within-block, off-diagonal) correlations.
    NaN where a block has a single item (no monotrait correlation).
    """
    B = Rx.shape[0]
    out = np.full((B, J, J), np.nan)
    mono = np.full((B, J), np.nan)
    for j in range(J):
        idx = np.flatnonzero(block_of == j)
        k = len(idx)
        if k > 1:
            sub = Rx[:, idx[:, None], idx]
            mono[:, j] = (sub.sum(axis=(1, 2)) - _diag(sub).sum(axis=1)) / (k * (k - 1))
    for i in range(J):
        a = np.flatnonzero(block_of == i)
        for j in range(i + 1, J):
            b = np.flatnonzero(block_of == j)
            hetero = Rx[:, a[:, None], b].mean(axis=(1, 2))
            with np.errstate(invalid="ignore"):
                out[:, i, j] = out[:, j, i] = hetero / np.sqrt(mono[:, i] * mono[:, j])
    return out
