"""Estimate a PLS path model (PLS-PM) with survey weights, and its result tables.

Method
------
Wold's PLS path modelling as Lohmoeller (1989) and Tenenhaus et al. (2005, CSDA 48) state
it, in R ``plspm``'s exact form (see :mod:`analysis_helpers.pls._kernel`): with the same
settings the results equal ``plspm(..., scaled=, scheme=, tol=1e-6, maxiter=100)``.

**Survey weights** (weighted PLS): every mean, variance, covariance and regression is
weighted. The algorithm needs only the weighted item covariance matrix (divisor = sum of
weights), so integer weights give exactly the results of the data with each row repeated
that many times, and weights of 1 give the unweighted fit. Strata and clusters do not
change the estimates; they enter the bootstrap (:func:`~analysis_helpers.pls.pls_bootstrap`)
and the design-based standard errors of the inner model.

**Missing values** (``missing=``):

* ``"mean"`` (default; SmartPLS' and seminr's *mean replacement*): a missing answer is
  replaced by the item's weighted mean over the respondents who answered it, so it
  adds nothing to the item's covariances while the respondent still counts in the
  denominator. Respondents who answered none of the model's items are left out.
* ``"listwise"``: respondents with any missing model item are left out.

``PLSFit.n`` is the number of respondents used and ``PLSFit.n_excluded`` the number left
out. Scores of respondents with missing items are computed from the imputed values.

**Scaling** (``scaled=``): True (default, as ``plspm`` and SmartPLS) standardises the
items (divisor N) before estimation, so weights are in standard-deviation units; False
only centres them (``plspm(scaled=FALSE)``), so weights are in the items' raw metric.
Index weights (:func:`~analysis_helpers.pls.index_weights`) are on the raw metric either
way.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from scipy.linalg import blas

from analysis_helpers._checks import show
from analysis_helpers.estimation import PreparedDesign, SurveyDesign, survey_glm
from analysis_helpers.pls import _kernel
from analysis_helpers.pls.model import PathModel, PathModelError

__all__ = ["PLSFit", "fit_pls"]


# --------------------------------------------------------------------------------------
# Data preparation
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Data:
    """Respondent-level arrays of a model's items (internal)."""

    dev: np.ndarray  # (n, p) deviations from the weighted means, missing -> 0
    w: np.ndarray  # (n,) survey weights
    mean: np.ndarray  # (p,) weighted means (available cases)
    rows: np.ndarray  # (n,) positions in ``data`` of the rows used
    n_excluded: int
    answered: np.ndarray  # (n, p) bool
    prep: PreparedDesign  # the design of the whole of ``data``


def _prepare(
    data: pd.DataFrame,
    model: PathModel,
    design: SurveyDesign | None,
    missing: str,
    who: str,
) -> _Data:
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"{who}: data must be a pandas DataFrame, got {type(data).__name__}")
    if not isinstance(model, PathModel):
        raise TypeError(f"{who}: model must be a PathModel, got {type(model).__name__}")
    if missing not in ("mean", "listwise"):
        raise ValueError(f"{who}: missing {missing!r}: use 'mean' or 'listwise'")
    design = design if design is not None else SurveyDesign()
    if not isinstance(design, SurveyDesign):
        raise TypeError(f"{who}: design must be a SurveyDesign, got {type(design).__name__}")
    items = model.items
    absent = [c for c in items if c not in data.columns]
    if absent:
        owner = {i: c for c, its in model.blocks.items() for i in its}
        raise KeyError(
            f"{who}: item column {absent[0]!r} of construct {owner[absent[0]]!r} is not in the data"
        )
    X = np.empty((len(data), len(items)), order="F")  # columns contiguous, as BLAS likes
    for k, c in enumerate(items):
        s = data[c]
        if not (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)):
            raise ValueError(f"{who}: item column {c!r} must be numeric, got dtype {s.dtype}")
        x = s.to_numpy(dtype=float, na_value=np.nan)
        bad = np.isinf(x)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"{who}: item column {c!r}: row {show(data.index[i])} has value {x[i]}"
            )
        X[:, k] = x
    prep = design.prepare(data)
    w_all = prep.w
    ok = ~np.isnan(X)
    keep = ok.all(axis=1) if missing == "listwise" else ok.any(axis=1)
    rows = np.flatnonzero(keep)
    if len(rows) < 3:
        raise ValueError(
            f"{who}: {len(rows)} respondents have usable answers to the model's items; need 3 or more"
        )
    if len(rows) < len(X):
        X, ok, w = X[rows], ok[rows], w_all[rows]
    else:
        w = w_all
    complete = bool(ok.all())
    wsum = np.full(X.shape[1], w.sum()) if complete else w @ ok
    if (wsum == 0).any():
        c = items[int(np.flatnonzero(wsum == 0)[0])]
        raise ValueError(f"{who}: item column {c!r} has no answers")
    X0 = X if complete else np.where(ok, X, 0.0)
    mean = (w @ X0) / wsum
    X0 -= mean
    dev = X0 if complete else np.where(ok, X0, 0.0)
    return _Data(dev, w, mean, rows, len(data) - len(rows), ok, prep)


def _moments(d: _Data) -> np.ndarray:
    """Weighted covariance (divisor = sum of weights) of the mean-imputed items.

    One symmetric rank-k update (BLAS ``dsyrk``) of the column-major ``sqrt(w) * dev``:
    half the work of a general product, and several times faster than ``(X'w) @ X``.
    """
    xs = np.asfortranarray(d.dev * np.sqrt(d.w)[:, None])
    upper = blas.dsyrk(1.0, xs, trans=1)
    S = np.triu(upper) + np.triu(upper, 1).T
    return S / d.w.sum()


def _scaled_cov(S: np.ndarray, scaled: bool) -> tuple[np.ndarray, np.ndarray]:
    """Return the matrix the algorithm runs on (correlations if ``scaled``) and the item SDs."""
    sd = np.sqrt(np.diagonal(S, axis1=-2, axis2=-1))
    if scaled:
        return S / (sd[..., :, None] * sd[..., None, :]), sd
    return S, sd


def _check_variance(S: np.ndarray, model: PathModel, who: str) -> None:
    var = np.diag(S)
    items = model.items
    owner = {i: c for c, its in model.blocks.items() for i in its}
    for k, v in enumerate(var):
        if not v > 1e-12 * max(1.0, float(np.abs(var).max())):
            raise PathModelError(
                f"{who}: item {items[k]!r} of construct {owner[items[k]]!r} has no variance "
                "(every respondent gave the same answer); drop it from the construct"
            )
    st = model.structure()
    for j, name in enumerate(model.constructs):
        if model.mode(name) != "B":
            continue
        idx = st.items_of(j)
        sub = S[np.ix_(idx, idx)]
        if np.linalg.matrix_rank(sub, tol=1e-10 * np.abs(sub).max()) < len(idx):
            raise PathModelError(
                f"{who}: the items of mode-B construct {name!r} are linearly dependent; "
                "drop a redundant item or use mode A"
            )


def _convergence_error(sol: _kernel.Solution, model: PathModel, max_iter: int, who: str):
    change = sol.change[0]
    j = int(np.argmax(change))
    worst = model.constructs[j]
    return PathModelError(
        f"{who}: the PLS algorithm did not converge in {max_iter} iteration"
        f"{'s' if max_iter != 1 else ''}; the weights of "
        f"construct {worst!r} changed most in the last one (by {change[j]:.3g} in squared "
        "absolute value); raise max_iter, check that construct's items (codes, reversed "
        "items) or try scheme='path'"
    )


# --------------------------------------------------------------------------------------
# The fit
# --------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class PLSFit:
    """A fitted PLS path model. Create it with :func:`fit_pls`.

    Attributes
    ----------
    model : PathModel
    design : SurveyDesign or None
    scaled : bool
    n : int
        Respondents used.
    n_excluded : int
        Respondents left out (no answer to any model item, or any missing with
        ``missing="listwise"``).
    n_weighted : float
        Sum of the weights of the respondents used.
    iterations : int
        Iterations of the outer loop.
    means, sds : Series
        Weighted item means (available cases) and SDs (divisor N, mean-imputed data).
    weights : DataFrame
        Outer weights (items x constructs, zero outside the block) in the metric of the
        analysed items (standardised if ``scaled``), scores of unit variance.
    """

    model: PathModel
    design: SurveyDesign | None
    scaled: bool
    missing: str
    n: int
    n_excluded: int
    n_weighted: float
    iterations: int
    means: pd.Series
    sds: pd.Series
    cov: np.ndarray
    _sol: _kernel.Solution

    # basics ---------------------------------------------------------------------
    @property
    def constructs(self) -> list[str]:
        """Construct names, in the model's block order."""
        return self.model.constructs

    @property
    def items(self) -> list[str]:
        """All item columns, block by block."""
        return self.model.items

    @property
    def _blocks(self) -> list[str]:
        return [c for c, its in self.model.blocks.items() for _ in its]

    @property
    def weights(self) -> pd.DataFrame:
        """The outer weights: one row per item, one column per construct."""
        return pd.DataFrame(self._sol.W[0], index=self.items, columns=self.constructs)

    def raw_weights(self) -> pd.Series:
        """Outer weight of each item on the raw item metric (score = sum w * (x - mean))."""
        w = (self._sol.W[0] * (self._onehot())).sum(axis=1)
        if self.scaled:
            w = w / self.sds.to_numpy()
        return pd.Series(w, index=self.items, name="weight")

    def _onehot(self) -> np.ndarray:
        st = self.model.structure()
        M = np.zeros((len(self.items), len(self.constructs)))
        M[np.arange(len(self.items)), st.block_of] = 1.0
        return M

    def scores(self, data: pd.DataFrame) -> pd.DataFrame:
        """Construct scores of the respondents of ``data`` (mean 0, variance 1 in the fit).

        Missing answers are replaced by the fit's item means. Returns a frame indexed as
        ``data`` with one column per construct; rows without any model item answered are
        NaN.
        """
        missing_cols = [c for c in self.items if c not in data.columns]
        if missing_cols:
            raise KeyError(f"PLSFit.scores: item column {missing_cols[0]!r} is not in the data")
        X = data[self.items].to_numpy(dtype=float, na_value=np.nan)
        dev = np.where(np.isnan(X), 0.0, X - self.means.to_numpy())
        if self.scaled:
            dev = dev / self.sds.to_numpy()
        Y = dev @ self._sol.W[0]
        Y[np.isnan(X).all(axis=1)] = np.nan
        return pd.DataFrame(Y, index=data.index, columns=self.constructs)

    # outer model ---------------------------------------------------------------
    def outer_model(self) -> pd.DataFrame:
        """Outer weights and loadings (R ``plspm``'s ``$outer_model``).

        Returns
        -------
        DataFrame
            One row per item: ``block``, ``item``, ``mode``, ``weight`` (in the analysed
            metric), ``loading`` (correlation of the item with its construct),
            ``communality`` (loading^2), ``redundancy`` (communality x the construct's
            R^2; 0 for exogenous constructs).
        """
        M = self._onehot()
        load = (self._sol.loadings[0] * M).sum(axis=1)
        weight = (self._sol.W[0] * M).sum(axis=1)
        r2 = M @ self._sol.r2[0]
        return pd.DataFrame(
            {
                "block": self._blocks,
                "item": self.items,
                "mode": [self.model.mode(b) for b in self._blocks],
                "weight": weight,
                "loading": load,
                "communality": load**2,
                "redundancy": load**2 * r2,
            }
        )

    def crossloadings(self) -> pd.DataFrame:
        """Correlations of every item with every construct (``$crossloadings``).

        Returns
        -------
        DataFrame
            One row per item: ``block``, ``item``, then one column per construct. An item
            should correlate more with its own construct than with any other.
        """
        out = pd.DataFrame({"block": self._blocks, "item": self.items})
        L = self._sol.loadings[0]
        for j, c in enumerate(self.constructs):
            out[c] = L[:, j]
        return out

    # inner model ---------------------------------------------------------------
    def path_coefficients(self) -> pd.DataFrame:
        """Path coefficients (standardised).

        Returns
        -------
        DataFrame
            One row per path, in the model's order: ``from``, ``to``, ``estimate``.
        """
        pos = {c: k for k, c in enumerate(self.constructs)}
        P = self._sol.paths[0]
        return pd.DataFrame(
            {
                "from": [a for a, _ in self.model.paths],
                "to": [b for _, b in self.model.paths],
                "estimate": [P[pos[a], pos[b]] for a, b in self.model.paths],
            }
        )

    def inner_model(self, data: pd.DataFrame | None = None) -> pd.DataFrame:
        """Return the regressions of the inner model with standard errors.

        Without a design (or a design without weights, strata and clusters) these are the
        OLS results on the construct scores that R ``plspm`` reports (``$inner_model``):
        ``se = sqrt((1 - R^2) / (N - k - 1) [R_xx^-1]_jj)``, t on ``N - k - 1`` df. With a
        design the standard errors are design-based (Taylor linearisation of the
        regression on the scores, :func:`~analysis_helpers.estimation.survey_glm`, scores
        held fixed), which needs ``data``. Either way these SEs ignore that the scores are
        estimated; :func:`~analysis_helpers.pls.pls_bootstrap` does not.

        Returns
        -------
        DataFrame
            One row per path: ``from``, ``to``, ``estimate``, ``se``, ``statistic`` (t),
            ``df``, ``p_value``, ``method`` (``"ols"`` or ``"linearisation"``).
        """
        design = self.design
        if design is not None and design.roles():
            if data is None:
                raise ValueError(
                    "PLSFit.inner_model: a fit with a design needs data= for its "
                    "design-based standard errors"
                )
            return self._inner_design(data, design)
        pos = {c: k for k, c in enumerate(self.constructs)}
        R = self._sol.R[0]
        r2 = self._sol.r2[0]
        P = self._sol.paths[0]
        rows = []
        for to in self.constructs:
            pred = self.model.predecessors(to)
            if not pred:
                continue
            k = pos[to]
            ip = [pos[p] for p in pred]
            df = self.n - len(ip) - 1
            inv = np.linalg.inv(R[np.ix_(ip, ip)])
            se = np.sqrt((1 - r2[k]) / df * np.diag(inv))
            for p_name, j, s in zip(pred, ip, se, strict=True):
                t = P[j, k] / s
                rows.append(
                    {
                        "from": p_name,
                        "to": to,
                        "estimate": P[j, k],
                        "se": s,
                        "statistic": t,
                        "df": float(df),
                        "p_value": 2 * stats.t.sf(abs(t), df),
                        "method": "ols",
                    }
                )
        return self._in_path_order(pd.DataFrame(rows))

    def _in_path_order(self, table: pd.DataFrame) -> pd.DataFrame:
        order = {p: k for k, p in enumerate(self.model.paths)}
        key = [order[(a, b)] for a, b in zip(table["from"], table["to"], strict=True)]
        return table.iloc[np.argsort(key, kind="stable")].reset_index(drop=True)

    def _inner_design(self, data: pd.DataFrame, design: SurveyDesign) -> pd.DataFrame:
        sc = self.scores(data)
        names = {c: f"_pls_{k}" for k, c in enumerate(self.constructs)}
        frame = sc.rename(columns=names)
        for col in design.roles().values():
            frame[col] = data[col].to_numpy()
        rows = []
        for to in self.constructs:
            pred = self.model.predecessors(to)
            if not pred:
                continue
            g = survey_glm(
                frame, outcome=names[to], drivers=[names[p] for p in pred], design=design
            )
            g = g.set_index("term")
            for p_name in pred:
                r = g.loc[names[p_name]]
                rows.append(
                    {
                        "from": p_name,
                        "to": to,
                        "estimate": float(r["estimate"]),
                        "se": float(r["se"]),
                        "statistic": float(r["statistic"]),
                        "df": float(r["df"]),
                        "p_value": float(r["p_value"]),
                        "method": "linearisation",
                    }
                )
        return self._in_path_order(pd.DataFrame(rows))

    def effects(self) -> pd.DataFrame:
        """Direct, indirect and total effects between constructs (``$effects``).

        Returns
        -------
        DataFrame
            One row per ordered pair (from, to) linked by at least one directed path,
            constructs in causal order: ``from``, ``to``, ``direct``, ``indirect``,
            ``total`` (total = direct + indirect = the sum over all directed paths of
            the products of their coefficients).
        """
        P = self._sol.paths[0]
        T = _kernel.total_effects(P[None])[0]
        pos = {c: k for k, c in enumerate(self.constructs)}
        order = self.model.causal_order()
        rows = []
        for a_i, a in enumerate(order):
            for b in order[a_i + 1 :]:
                i, j = pos[a], pos[b]
                if abs(T[i, j]) > 0 or P[i, j] != 0:
                    rows.append(
                        {
                            "from": a,
                            "to": b,
                            "direct": P[i, j],
                            "indirect": T[i, j] - P[i, j],
                            "total": T[i, j],
                        }
                    )
        return pd.DataFrame(rows, columns=["from", "to", "direct", "indirect", "total"])

    def r_squared(self) -> pd.Series:
        """R^2 of each construct (0 for exogenous), indexed by construct."""
        return pd.Series(self._sol.r2[0], index=self.constructs, name="r_squared")

    def inner_summary(self) -> pd.DataFrame:
        """Per construct: type, R^2, communality, redundancy, AVE (``$inner_summary``).

        Returns
        -------
        DataFrame
            One row per construct: ``block``, ``type`` ("Exogenous"/"Endogenous"),
            ``r_squared``, ``r_squared_adj`` (``1 - (1 - R^2)(n - 1)/(n - k - 1)``),
            ``block_communality`` (mean communality), ``mean_redundancy``, ``ave``
            (average variance extracted; NaN for mode B, where it does not apply).
        """
        om = self.outer_model()
        g = om.groupby("block", sort=False)
        r2 = self._sol.r2[0]
        rows = []
        for k, c in enumerate(self.constructs):
            pred = self.model.predecessors(c)
            q = len(pred)
            adj = 1 - (1 - r2[k]) * (self.n - 1) / (self.n - q - 1) if q else 0.0
            rows.append(
                {
                    "block": c,
                    "type": "Endogenous" if q else "Exogenous",
                    "r_squared": r2[k],
                    "r_squared_adj": adj,
                    "block_communality": g.get_group(c)["communality"].mean(),
                    "mean_redundancy": g.get_group(c)["redundancy"].mean(),
                    "ave": g.get_group(c)["communality"].mean()
                    if self.model.mode(c) == "A"
                    else np.nan,
                }
            )
        return pd.DataFrame(rows)

    def goodness_of_fit(self) -> float:
        """Tenenhaus et al.'s (2004) GoF as ``plspm`` reports it.

        ``sqrt(mean communality x mean R^2)``: the communality averaged over the items of
        the blocks with more than one item, the R^2 over the endogenous constructs.

        References
        ----------
        Tenenhaus, M., Amato, S., & Esposito Vinzi, V. (2004). A global goodness-of-fit index
        for PLS structural equation modelling. In *Proceedings of the XLII SIS Scientific
        Meeting*, 739-742.

        Examples
        --------
        >>> df = pd.DataFrame(
        ...     {
        ...         "a1": [1, 2, 3, 4, 5, 2, 4, 3],
        ...         "a2": [2, 2, 3, 5, 4, 1, 4, 3],
        ...         "b1": [2, 1, 3, 4, 5, 2, 5, 2],
        ...         "b2": [1, 2, 4, 4, 5, 3, 4, 3],
        ...     }
        ... )
        >>> m = PathModel(blocks={"A": ["a1", "a2"], "B": ["b1", "b2"]}, paths=[("A", "B")])
        >>> fit = fit_pls(df, model=m)
        >>> round(fit.goodness_of_fit(), 4)
        0.8664
        >>> com = fit.outer_model()["communality"].mean()
        >>> round(float(np.sqrt(com * fit.r_squared()["B"])), 4)
        0.8664
        """
        om = self.outer_model()
        sizes = om.groupby("block", sort=False)["item"].transform("size")
        com = om.loc[sizes > 1, "communality"].mean()
        endo = [k for k, c in enumerate(self.constructs) if self.model.predecessors(c)]
        return float(np.sqrt(com * self._sol.r2[0][endo].mean()))

    # blocks ----------------------------------------------------------------------
    def _item_corr(self) -> np.ndarray:
        sd = np.sqrt(np.diag(self.cov))
        return self.cov / np.outer(sd, sd)

    def unidimensionality(self) -> pd.DataFrame:
        """Block unidimensionality as R ``plspm``'s ``$unidim``.

        Cronbach's alpha here is the *standardised* alpha (from the item correlations)
        and Dillon-Goldstein's rho uses the block's first principal component, both as
        plspm computes them; both are 0 for mode B blocks (plspm's convention). The
        eigenvalues are those of the block's item correlation matrix.

        Returns
        -------
        DataFrame
            One row per construct: ``block``, ``mode``, ``n_items``, ``cronbach_alpha``,
            ``dillon_goldstein_rho``, ``eig_1st``, ``eig_2nd``.
        """
        Rx = self._item_corr()
        st = self.model.structure()
        rows = []
        for j, c in enumerate(self.constructs):
            idx = st.items_of(j)
            k = len(idx)
            mode = self.model.mode(c)
            if k == 1:
                rows.append(dict(block=c, mode=mode, n_items=1, cronbach_alpha=1.0,
                                 dillon_goldstein_rho=1.0, eig_1st=1.0, eig_2nd=0.0))  # fmt: skip
                continue
            sub = Rx[np.ix_(idx, idx)]
            ev, vec = np.linalg.eigh(sub)
            ev, vec = ev[::-1], vec[:, ::-1]
            if mode == "A":
                off = sub.sum() - k
                alpha = max(0.0, off / sub.sum() * k / (k - 1))
                r = np.sqrt(ev[0]) * vec[:, 0]
                rho = r.sum() ** 2 / (r.sum() ** 2 + k - (r**2).sum())
            else:
                alpha = rho = 0.0
            rows.append(dict(block=c, mode=mode, n_items=k, cronbach_alpha=alpha,
                             dillon_goldstein_rho=rho, eig_1st=ev[0], eig_2nd=ev[1]))  # fmt: skip
        return pd.DataFrame(rows)

    def reliability(self) -> pd.DataFrame:
        """Reliability and convergent validity of each reflective block.

        * ``alpha``: Cronbach's alpha of the standardised items (as SmartPLS and seminr
          report it, and plspm's alpha): ``k rbar / (1 + (k - 1) rbar)``.
        * ``rho_a``: Dijkstra & Henseler's (2015, MIS Quarterly 39(2)) consistent
          reliability ``(w'w)^2 w'(R - diag R)w / w'(ww' - diag ww')w`` from the
          standardised outer weights ``w`` (unit-variance score) and item correlations
          ``R``.
        * ``rho_c``: composite reliability (Joereskog 1971; Dillon-Goldstein rho computed
          from the PLS loadings, as SmartPLS and seminr), ``(sum l)^2 / ((sum l)^2 +
          sum(1 - l^2))``.
        * ``ave``: average variance extracted (Fornell & Larcker 1981), mean of l^2.

        Usual thresholds: alpha, rho_a and rho_c >= 0.7 (0.6 in exploratory work, above
        0.95 suspicious), AVE >= 0.5 (Hair et al. 2022). Mode B (formative) blocks get NaN:
        these criteria do not apply to them. Single-item blocks get 1.

        Returns
        -------
        DataFrame
            One row per construct: ``block``, ``mode``, ``n_items``, ``alpha``, ``rho_a``,
            ``rho_c``, ``ave``.

        References
        ----------
        Dijkstra, T. K., & Henseler, J. (2015). Consistent partial least squares path modeling.
        *MIS Quarterly*, 39(2), 297-316. Fornell, C., & Larcker, D. F. (1981). Evaluating
        structural equation models with unobservable variables and measurement error. *Journal
        of Marketing Research*, 18(1), 39-50. Joereskog, K. G. (1971). Statistical analysis of
        sets of congeneric tests. *Psychometrika*, 36(2), 109-133.

        Examples
        --------
        With two items correlated ``r``, alpha is ``2 r / (1 + r)``; ``ave`` is the mean
        squared loading.

        >>> df = pd.DataFrame(
        ...     {
        ...         "a1": [1, 2, 3, 4, 5, 2, 4, 3],
        ...         "a2": [2, 2, 3, 5, 4, 1, 4, 3],
        ...         "b1": [2, 1, 3, 4, 5, 2, 5, 2],
        ...         "b2": [1, 2, 4, 4, 5, 3, 4, 3],
        ...     }
        ... )
        >>> m = PathModel(blocks={"A": ["a1", "a2"], "B": ["b1", "b2"]}, paths=[("A", "B")])
        >>> fit = fit_pls(df, model=m)
        >>> fit.reliability().round(4)
          block mode  n_items   alpha   rho_a   rho_c     ave
        0     A    A        2  0.9091  0.9356  0.9561  0.9159
        1     B    A        2  0.8956  0.8957  0.9504  0.9055
        >>> r = df["a1"].corr(df["a2"])
        >>> round(float(2 * r / (1 + r)), 4)
        0.9091
        """
        Rx = self._item_corr()
        st = self.model.structure()
        W = self._sol.W[0]
        L = self._sol.loadings[0]
        sd = np.sqrt(np.diag(self.cov))
        rows = []
        for j, c in enumerate(self.constructs):
            idx = st.items_of(j)
            k = len(idx)
            mode = self.model.mode(c)
            row = {"block": c, "mode": mode, "n_items": k}
            if mode == "B":
                row.update(alpha=np.nan, rho_a=np.nan, rho_c=np.nan, ave=np.nan)
            elif k == 1:
                row.update(alpha=1.0, rho_a=1.0, rho_c=1.0, ave=float(L[idx[0], j] ** 2))
            else:
                sub = Rx[np.ix_(idx, idx)]
                rbar = (sub.sum() - k) / (k * (k - 1))
                w = W[idx, j] * (1.0 if self.scaled else sd[idx])
                w = w / np.sqrt(w @ sub @ w)
                ww = np.outer(w, w)
                rho_a = (
                    (w @ w) ** 2
                    * (w @ (sub - np.diag(np.diag(sub))) @ w)
                    / (w @ (ww - np.diag(np.diag(ww))) @ w)
                )
                lam = L[idx, j]
                row.update(
                    alpha=k * rbar / (1 + (k - 1) * rbar),
                    rho_a=rho_a,
                    rho_c=lam.sum() ** 2 / (lam.sum() ** 2 + (1 - lam**2).sum()),
                    ave=float((lam**2).mean()),
                )
            rows.append(row)
        return pd.DataFrame(rows)

    def htmt(self) -> pd.DataFrame:
        """Compute the heterotrait-monotrait ratio of correlations for every pair of constructs.

        The criterion of Henseler, Ringle & Sarstedt (2015): the mean correlation of items
        of different blocks over the geometric mean of the mean within-block correlations.

        Values below 0.85 (0.90 for conceptually close constructs) support discriminant
        validity. NaN where a block has one item.

        Returns
        -------
        DataFrame
            One row per pair, in block order: ``block_1``, ``block_2``, ``htmt``.

        References
        ----------
        Henseler, J., Ringle, C. M., & Sarstedt, M. (2015). A new criterion for assessing
        discriminant validity in variance-based structural equation modeling. *Journal of the
        Academy of Marketing Science*, 43(1), 115-135.

        Examples
        --------
        With two items per block, HTMT is the mean of the four between-block correlations over
        the geometric mean of the two within-block ones:

        >>> df = pd.DataFrame(
        ...     {
        ...         "a1": [1, 2, 3, 4, 5, 2, 4, 3],
        ...         "a2": [2, 2, 3, 5, 4, 1, 4, 3],
        ...         "b1": [2, 1, 3, 4, 5, 2, 5, 2],
        ...         "b2": [1, 2, 4, 4, 5, 3, 4, 3],
        ...     }
        ... )
        >>> m = PathModel(blocks={"A": ["a1", "a2"], "B": ["b1", "b2"]}, paths=[("A", "B")])
        >>> fit_pls(df, model=m).htmt().round(4)
          block_1 block_2    htmt
        0       A       B  0.9967
        >>> r = df.corr()
        >>> hetero = r.loc[["a1", "a2"], ["b1", "b2"]].to_numpy().mean()
        >>> round(float(hetero / np.sqrt(r.loc["a1", "a2"] * r.loc["b1", "b2"])), 4)
        0.9967
        """
        H = _kernel.htmt(self._item_corr()[None], self.model.structure().block_of,
                         len(self.constructs))[0]  # fmt: skip
        rows = [
            {"block_1": a, "block_2": b, "htmt": H[i, j]}
            for i, a in enumerate(self.constructs)
            for j, b in enumerate(self.constructs)
            if j > i
        ]
        return pd.DataFrame(rows)


def _fit_arrays(d: _Data, model: PathModel, *, scaled, tol, max_iter, who) -> tuple:
    S = _moments(d)
    _check_variance(S, model, who)
    A, sd = _scaled_cov(S, scaled)
    N = d.w.sum()
    sol = _kernel.solve(A[None], model.structure(), c=np.array([(N - 1) / N]), tol=tol,
                        max_iter=max_iter)  # fmt: skip
    if not sol.converged[0]:
        raise _convergence_error(sol, model, max_iter, who)
    return S, A, sd, sol


def fit_pls(
    data: pd.DataFrame,
    *,
    model: PathModel,
    design: SurveyDesign | None = None,
    scaled: bool = True,
    missing: str = "mean",
    tol: float = 1e-10,
    max_iter: int = 300,
) -> PLSFit:
    """Estimate a PLS path model (PLS-PM; Wold, Lohmoeller 1989, Tenenhaus et al. 2005).

    Parameters
    ----------
    data : DataFrame
        One row per respondent, with the model's item columns (numeric).
    model : PathModel
        Constructs, modes, paths and the inner scheme.
    design : SurveyDesign, optional
        Its weight makes the fit a weighted PLS; strata and clusters enter the
        design-based SEs of :meth:`PLSFit.inner_model` and the bootstrap.
    scaled : bool
        Standardise the items (True, plspm's and SmartPLS' default) or only centre them.
    missing : {"mean", "listwise"}
        Missing answers: mean replacement or listwise deletion (see the module notes).
    tol, max_iter : float, int
        Convergence: stop when the sum over items of ``(|w_old| - |w_new|)^2`` falls below
        ``tol`` (plspm's rule). The default 1e-10 gives the fixed point to about 1e-9
        (SmartPLS-like precision; its maximum of 300 iterations too); ``tol=1e-6,
        max_iter=100`` are plspm's defaults and reproduce its iterates exactly (their
        results differ from the fixed point by less than 1e-6 on the ECSI bank data).

    Returns
    -------
    PLSFit
        With the tables ``outer_model()``, ``crossloadings()``, ``path_coefficients()``,
        ``inner_model()``, ``effects()``, ``inner_summary()``, ``unidimensionality()``,
        ``reliability()``, ``htmt()`` and ``goodness_of_fit()``.

    Raises
    ------
    KeyError
        An item column is not in ``data``.
    PathModelError
        An item without variance, linearly dependent mode-B items, or no convergence
        (naming the construct whose weights still moved most).
    ValueError
        Non-numeric items, bad weights, fewer than 3 usable respondents.

    References
    ----------
    Wold, H. (1982). Soft modeling: the basic design and some extensions. In K. G.
    Joereskog & H. Wold (Eds.), *Systems under Indirect Observation*, Part II, 1-54.
    North-Holland. Lohmoeller, J.-B. (1989). *Latent Variable Path Modeling with Partial
    Least Squares*. Physica. Tenenhaus, M., Esposito Vinzi, V., Chatelin, Y.-M., & Lauro,
    C. (2005). PLS path modeling. *Computational Statistics & Data Analysis*, 48(1),
    159-205.

    Examples
    --------
    Two reflective constructs of two items each, ``A -> B``: the path coefficient is the
    correlation of the two construct scores.

    >>> df = pd.DataFrame(
    ...     {
    ...         "a1": [1, 2, 3, 4, 5, 2, 4, 3],
    ...         "a2": [2, 2, 3, 5, 4, 1, 4, 3],
    ...         "b1": [2, 1, 3, 4, 5, 2, 5, 2],
    ...         "b2": [1, 2, 4, 4, 5, 3, 4, 3],
    ...     }
    ... )
    >>> m = PathModel(blocks={"A": ["a1", "a2"], "B": ["b1", "b2"]}, paths=[("A", "B")])
    >>> fit = fit_pls(df, model=m)
    >>> fit.path_coefficients().round(4)
      from to  estimate
    0    A  B    0.9079
    >>> s = fit.scores(df)
    >>> round(float(s["A"].corr(s["B"])), 4)
    0.9079
    """
    who = "fit_pls"
    d = _prepare(data, model, design, missing, who)
    S, _, sd, sol = _fit_arrays(d, model, scaled=scaled, tol=tol, max_iter=max_iter, who=who)
    items = model.items
    return PLSFit(
        model=model,
        design=design,
        scaled=bool(scaled),
        missing=missing,
        n=len(d.rows),
        n_excluded=d.n_excluded,
        n_weighted=float(d.w.sum()),
        iterations=int(sol.iterations[0]),
        means=pd.Series(d.mean, index=items, name="mean"),
        sds=pd.Series(sd, index=items, name="sd"),
        cov=S,
        _sol=sol,
    )
