"""Replicate-weight designs: given replicate columns, or made from a design (``as_replicate``).

:class:`ReplicateDesign` (from the design kernel) takes the full-sample weight and the
replicate analysis weights with their ``scale`` / ``rscales`` / ``mse`` (R ``svrepdesign``);
every estimator accepts it where it accepts a :class:`~analysis_helpers.estimation.SurveyDesign`.
:func:`as_replicate` builds replicates from a one-stage design as R ``as.svrepdesign`` does:
jackknife (``"JK1"``, ``"JKn"``), balanced repeated replication (``"BRR"``, ``"Fay"``) and
the bootstraps (``"bootstrap"``, Canty-Davison; ``"subbootstrap"``, Rao-Wu). R's
``as.svrepdesign`` makes no successive-difference (SDR) replicates: those come with the
data (``ReplicateDesign(type="SDR", scale=4 / R)``).

:func:`rao_wu_multipliers` gives the Rao-Wu rescaling bootstrap multipliers of a prepared
design (PSUs resampled within strata); the driver bootstrap uses them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._checks import check_frame, show
from ._design import PreparedDesign, ReplicateDesign, SurveyDesign

__all__ = ["ReplicateDesign", "as_replicate", "hadamard", "rao_wu_multipliers"]

_TYPES = ("JK1", "JKn", "BRR", "Fay", "bootstrap", "subbootstrap")


def as_replicate(
    data: pd.DataFrame,
    design: SurveyDesign,
    *,
    type: str = "JK1",
    prefix: str = "rep",
    rho: float = 0.0,
    replicates: int = 50,
    random_state: int | np.random.Generator | None = None,
    hadamard_matrix: np.ndarray | None = None,
) -> tuple[pd.DataFrame, ReplicateDesign]:
    """Return ``data`` with replicate weights and their :class:`ReplicateDesign`.

    Parameters
    ----------
    data : DataFrame
        One row per respondent.
    design : SurveyDesign
        A one-stage design (weight, strata, cluster, fpc).
    type : {"JK1", "JKn", "BRR", "Fay", "bootstrap", "subbootstrap"}
        ``"JK1"`` (unstratified): replicate ``r`` drops PSU ``r`` and multiplies the other
        weights by ``n / (n - 1)``; ``scale = (1 - f) (n - 1) / n``. ``"JKn"``: within each
        stratum, ``rscales = (1 - f_h) (n_h - 1) / n_h``, ``scale = 1``. ``"BRR"``: every
        stratum has 2 PSUs; replicate ``r`` doubles the weights of one PSU per stratum
        and zeroes the other, chosen by row ``h + 1`` of a Hadamard matrix of order
        ``R`` > strata (:func:`hadamard`); ``scale = 1 / R``. ``"Fay"``: the same with
        factors ``2 - rho`` and ``rho``; ``scale = 1 / (R (1 - rho)^2)``. The fpc is
        dropped for both (as R). ``"bootstrap"`` (Canty & Davison): ``replicates``
        resamples of the ``n_h`` PSUs of each stratum, with replacement (without fpc) or,
        with an fpc, without replacement from the sample repeated to the population size;
        the multiplier is the PSU's count; ``scale = n / ((n - 1) (R - 1))`` with ``n`` the
        harmonic mean of the ``n_h``. ``"subbootstrap"`` (Rao & Wu 1988): ``n_h - 1``
        draws with replacement, multiplier ``count * n_h / (n_h - 1)``; ``scale =
        1 / (R - 1)`` (no fpc).
    prefix : str
        Name stem of the new columns (``rep1``, ``rep2``, ...).
    rho : float
        Fay's factor, in (0, 1) for ``"Fay"`` (R ``fay.rho``).
    replicates : int
        Number of bootstrap replicates (the other types have a fixed number).
    random_state : int, Generator or None
        Seed of the bootstraps (the same seed gives the same replicates).
    hadamard_matrix : array, optional
        BRR / Fay: a two-valued matrix of at least ``strata + 1`` rows to use instead of
        :func:`hadamard` (R ``hadamard.matrix``; R's own matrices are not all
        reproduced here): in replicate ``r`` (column), the first PSU of stratum ``h``
        (strata sorted, PSUs in order of appearance) is down-weighted where row ``h + 1``
        has the value of the matrix's first cell, as R does. Rows ``1..strata`` must be
        orthogonal (as +-1).

    Returns
    -------
    (DataFrame, ReplicateDesign)
        A copy of ``data`` with the replicate columns added (and ``<prefix>_weight``, the
        weights the design implies, when it has no weight column), and the design
        (``mse=False`` as R's default; ``df`` PSUs minus strata, as R's rank of the
        replicates minus 1).

    Raises
    ------
    ValueError
        An unknown type, a multi-stage design, JK1 on a stratified design, BRR / Fay
        without strata or with a stratum that has other than 2 PSUs, a stratum with one
        PSU under JKn or a bootstrap, ``rho`` outside (0, 1) for Fay, fewer than 2
        replicates.

    References
    ----------
    Wolter, K. M. (2007). *Introduction to Variance Estimation*, 2nd ed. Springer, ch. 3-5.
    Rao, J. N. K. & Wu, C. F. J. (1988). Resampling inference with complex survey data.
    *JASA*, 83(401), 231-241. Canty, A. J. & Davison, A. C. (1999). Resampling-based
    variance estimation for labour force surveys. *The Statistician*, 48(3), 379-391.
    Judkins, D. R. (1990). Fay's method for variance estimation. *Journal of Official
    Statistics*, 6(3), 223-239. R ``survey::as.svrepdesign``, ``jk1weights``,
    ``jknweights``, ``brrweights``, ``bootweights``, ``subbootweights``.

    Examples
    --------
    Three strata of two PSUs: four BRR replicates (a Hadamard matrix of order 4).

    >>> d = pd.DataFrame({"h": [1, 1, 2, 2, 3, 3], "y": [1.0, 2, 3, 4, 5, 6]})
    >>> out, rep = as_replicate(d, SurveyDesign(strata="h", cluster="y"), type="BRR")
    >>> rep.replicates, rep.scale
    (('rep1', 'rep2', 'rep3', 'rep4'), 0.25)
    >>> out[["rep1", "rep2"]].to_numpy().T.tolist()
    [[2.0, 0.0, 2.0, 0.0, 2.0, 0.0], [0.0, 2.0, 2.0, 0.0, 0.0, 2.0]]
    """
    func = "as_replicate"
    check_frame(data, func)
    if type not in _TYPES:
        raise ValueError(f"{func}: type {type!r}: use one of {list(_TYPES)}")
    if len(design.clusters) > 1:
        raise ValueError(f"{func}: multi-stage designs are not supported; use the first stage")
    if type == "JK1" and design.strata is not None:
        raise ValueError(f"{func}: JK1 ignores strata; use type='JKn' for a stratified design")
    if type in ("BRR", "Fay") and design.strata is None:
        raise ValueError(f"{func}: {type} needs strata of 2 PSUs; use JK1 or a bootstrap")
    if type == "Fay" and not 0 < rho < 1:
        raise ValueError(f"{func}: Fay's rho {rho!r} must be between 0 and 1")
    if type in ("bootstrap", "subbootstrap") and int(replicates) < 2:
        raise ValueError(f"{func}: replicates={replicates!r}: give at least 2")
    prep = design.prepare(data, func=func)
    unit = prep.psu if prep.psu is not None else np.arange(prep.n)
    unit_stratum = prep.psu_stratum if prep.psu_stratum is not None else prep.stratum
    if type in ("JK1", "JKn"):
        mult, scale, rscales = _jackknife(prep, unit, unit_stratum, type, func)
    elif type in ("BRR", "Fay"):
        mult, scale, rscales = _brr(data, prep, unit_stratum, design, rho, hadamard_matrix, func)
    else:
        _two_per_stratum(prep, design, func, type)
        rng = np.random.default_rng(random_state)
        if type == "bootstrap":
            mult, scale = _bootstrap(prep, unit_stratum, int(replicates), rng)
        else:
            mult = rao_wu_multipliers(prep, int(replicates), rng)
            scale = 1.0 / (int(replicates) - 1)
        rscales = None
    row_mult = mult[unit]
    names = [f"{prefix}{r + 1}" for r in range(row_mult.shape[1])]
    cols = pd.DataFrame(row_mult * prep.w[:, None], index=data.index, columns=names)
    weight = design.weight
    if weight is None:  # the weights the design implies (1, or derived from the fpc)
        weight = f"{prefix}_weight"
        cols.insert(0, weight, prep.w)
    out = pd.concat([data, cols], axis=1)
    df = min(prep.n_psus - prep.n_strata, len(names) - 1)
    rep = ReplicateDesign(
        weight=weight, replicates=tuple(names), type=type, scale=float(scale), rscales=rscales, df=df,
    )  # fmt: skip
    return out, rep


def _jackknife(
    prep: PreparedDesign, unit: np.ndarray, unit_stratum: np.ndarray, type: str, func: str
) -> tuple[np.ndarray, float, tuple[float, ...] | None]:
    """Return the PSU x replicate multipliers, scale and rscales of JK1 / JKn."""
    nh = prep.n_psu[unit_stratum]  # PSUs in each unit's stratum
    if type == "JKn" and (prep.n_psu < 2).any():
        raise ValueError(f"{func}: JKn needs at least 2 PSUs in every stratum")
    P = len(unit_stratum)
    same = unit_stratum[:, None] == unit_stratum[None, :]
    mult = np.where(same, (nh / (nh - 1.0))[None, :], 1.0)
    np.fill_diagonal(mult, 0.0)
    f = prep.f[unit_stratum]
    if type == "JK1":
        return mult, float((1 - prep.f[0]) * (P - 1) / P), None
    return mult, 1.0, tuple(((1 - f) * (nh - 1) / nh).tolist())


def _two_per_stratum(prep: PreparedDesign, design: SurveyDesign, func: str, type: str) -> None:
    """Raise unless every stratum has at least 2 PSUs (the bootstraps need them)."""
    if (prep.n_psu < 2).any():
        where = "a stratum" if design.strata is not None else "the data"
        raise ValueError(f"{func}: {type} needs at least 2 PSUs in every stratum; {where} has 1")


def _brr(
    data: pd.DataFrame,
    prep: PreparedDesign,
    unit_stratum: np.ndarray,
    design: SurveyDesign,
    rho: float,
    given: np.ndarray | None,
    func: str,
) -> tuple[np.ndarray, float, None]:
    """Return the PSU x replicate multipliers and the scale of BRR / Fay (R ``brrweights``)."""
    bad = prep.n_psu != 2
    if bad.any():
        h = int(np.flatnonzero(bad)[0])
        value = pd.factorize(data[design.strata], sort=True)[1][h]
        raise ValueError(
            f"{func}: BRR and Fay need exactly 2 PSUs in every stratum; stratum "
            f"{show(value)} of column {design.strata!r} has {int(prep.n_psu[h])}"
        )
    H = prep.n_strata
    if given is None:
        had = hadamard(H + 1)
    else:
        had = _given_hadamard(np.asarray(given), H, func)
    R = had.shape[1]
    # the first PSU of each stratum is the one whose first row comes first (as R)
    P = len(unit_stratum)
    unit = prep.psu if prep.psu is not None else np.arange(prep.n)
    first_row = np.full(P, prep.n)
    np.minimum.at(first_row, unit, np.arange(prep.n))
    lead = np.full(H, prep.n)
    np.minimum.at(lead, unit_stratum, first_row)
    first = first_row == lead[unit_stratum]
    sign = had[1 + unit_stratum]  # P x R, +1 / -1
    up = np.where(first[:, None], sign > 0, sign < 0)
    mult = np.where(up, 2.0 - rho, rho)
    return mult, 1.0 / (R * (1.0 - rho) ** 2), None


def _given_hadamard(m: np.ndarray, H: int, func: str) -> np.ndarray:
    """Return a user's Hadamard matrix as +1 (down-weight the first PSU: R) / -1 (up)."""
    values = pd.unique(m.ravel(order="F")) if m.ndim == 2 else []
    if m.ndim != 2 or len(values) != 2 or m.shape[0] < H + 1:
        raise ValueError(
            f"{func}: hadamard_matrix must be a matrix of two values with at least "
            f"{H + 1} rows (strata + 1)"
        )
    pm = np.where(m == values[0], -1.0, 1.0)  # -1: the first PSU goes down (R's convention)
    used = pm[1 : H + 1]
    gram = used @ used.T
    if not np.allclose(gram - np.diag(np.diag(gram)), 0.0):
        raise ValueError(f"{func}: hadamard_matrix: rows 2 to {H + 1} are not orthogonal")
    return pm


def _bootstrap(
    prep: PreparedDesign, unit_stratum: np.ndarray, R: int, rng: np.random.Generator
) -> tuple[np.ndarray, float]:
    """Return the Canty-Davison bootstrap multipliers (PSU x R) and scale (R ``bootweights``)."""
    P = len(unit_stratum)
    mult = np.zeros((P, R))
    for h in range(prep.n_strata):
        units = np.flatnonzero(unit_stratum == h)
        n = len(units)
        f = float(prep.f[h])
        for r in range(R):
            if f > 0:  # without replacement from the sample repeated to the population size
                N = int(round(n / f))
                draw = rng.choice(N, size=n, replace=False) % n
            else:
                draw = rng.integers(0, n, size=n)
            mult[units, r] = np.bincount(draw, minlength=n)
    nbar = 1.0 / np.mean(1.0 / prep.n_psu)
    return mult, float(nbar / ((nbar - 1) * (R - 1)))


def rao_wu_multipliers(
    prep: PreparedDesign, replicates: int, rng: np.random.Generator, *, dtype: type = np.float64
) -> np.ndarray:
    """Return Rao-Wu rescaling bootstrap multipliers, one row per PSU, one column per replicate.

    Within each stratum of ``n_h`` PSUs, ``n_h - 1`` PSUs are drawn with replacement and a
    PSU's multiplier is its count times ``n_h / (n_h - 1)``: mean 1, variance 1 and
    covariance ``-1 / (n_h - 1)`` within the stratum, so the replicate variance of a total
    is the with-replacement variance ``n_h / (n_h - 1) sum (t_i - t_bar)^2`` per stratum
    (Rao & Wu 1988). A stratum of one PSU keeps multiplier 1 (it adds no variance). Without
    clusters each respondent is a PSU. The rows follow the PSU codes of ``prep`` (``psu``),
    or the respondents without clusters.

    Parameters
    ----------
    prep : PreparedDesign
        The prepared design (:meth:`SurveyDesign.prepare`).
    replicates : int
        Number of replicates.
    rng : numpy.random.Generator
        The random generator (a seeded one gives the same multipliers).
    dtype : numpy dtype
        Type of the result (``float32`` halves the memory of large designs).

    Returns
    -------
    ndarray
        PSUs x replicates.

    References
    ----------
    Rao, J. N. K. & Wu, C. F. J. (1988). Resampling inference with complex survey data.
    *JASA*, 83(401), 231-241; Rao, Wu & Yue (1992), *Survey Methodology* 18(2), 209-217.
    """
    unit_stratum = prep.psu_stratum if prep.psu_stratum is not None else prep.stratum
    P = len(unit_stratum)
    mult: np.ndarray = np.ones((P, replicates), dtype=dtype)
    for h in range(prep.n_strata):
        units = np.flatnonzero(unit_stratum == h)
        n = len(units)
        if n < 2:
            continue
        scale = n / (n - 1.0)
        for r in range(replicates):
            draw = rng.integers(0, n, size=n - 1)
            mult[units, r] = np.bincount(draw, minlength=n) * scale
    return mult


def hadamard(order: int) -> np.ndarray:
    """Return a +1/-1 Hadamard matrix of the smallest order >= ``order`` this module builds.

    Orders are 1, 2 and ``2^k q`` with ``q`` = 1 or ``p + 1`` for a prime ``p = 3 (mod 4)``
    (Sylvester doubling of Paley's construction I): 4, 8, 12, 16, 20, 24, 32, 40, 44, 48,
    60, 64, 68, 72, 80, 84, 88, 96, ... Where R ``survey`` has a stored matrix of another
    order (28, 36, 52, ...) this gives a few more replicates than R. The first row and column
    are all +1; the other rows are orthogonal to the first, so each row of a BRR design sums
    to 0 over the replicates (full orthogonal balance).

    References
    ----------
    Paley, R. E. A. C. (1933). On orthogonal matrices. *J. Math. Phys.* 12, 311-320.
    Wolter, K. M. (2007). *Introduction to Variance Estimation*, ch. 3 and appendix A.
    """
    if order <= 1:
        return np.ones((1, 1))
    if order <= 2:
        return np.array([[1.0, 1.0], [1.0, -1.0]])
    m = 4
    while True:
        if m >= order:
            base = _hadamard_base(m)
            if base is not None:
                return base
        m += 4


def _hadamard_base(m: int) -> np.ndarray | None:
    """Return a normalised Hadamard matrix of order ``m`` (Sylvester x Paley I) or None."""
    if m & (m - 1) == 0:  # a power of 2: Sylvester
        H = np.ones((1, 1))
        while H.shape[0] < m:
            H = np.block([[H, H], [H, -H]])
        return H
    k = 0
    q = m
    while q % 2 == 0:
        p = q - 1
        if q >= 4 and p % 4 == 3 and _is_prime(p):
            H = _paley(p)
            for _ in range(k):
                H = np.block([[H, H], [H, -H]])
            return H
        q //= 2
        k += 1
    return None


def _is_prime(p: int) -> bool:
    return p >= 2 and all(p % d for d in range(2, int(p**0.5) + 1))


def _paley(p: int) -> np.ndarray:
    """Return Paley's construction I: a normalised Hadamard matrix of order ``p + 1``."""
    residues = {(i * i) % p for i in range(1, p)}
    chi = np.array([0.0] + [1.0 if i in residues else -1.0 for i in range(1, p)])
    Q = chi[(np.arange(p)[None, :] - np.arange(p)[:, None]) % p]
    H = np.ones((p + 1, p + 1))
    H[1:, 0] = -1.0
    H[1:, 1:] = Q + np.eye(p)
    # normalise: first row and column +1
    H = H * H[0][None, :]
    H = H * H[:, 0][:, None]
    return H
