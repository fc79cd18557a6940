"""Design-based estimates from the engine's aggregates, in the shapes of the in-memory functions.

Each function takes a :class:`~.connection.DuckEngine` (or any object with ``query`` and
``register``, such as :class:`~.spark.SparkEngine`) instead of a DataFrame and returns the
same tidy frame as its in-memory twin: :func:`survey_mean` as
:func:`analysis_helpers.estimation.survey_mean`, :func:`survey_total`, :func:`top_box`,
:func:`nps`, :func:`csi` and :func:`item_distribution` as those of
:mod:`analysis_helpers.kpis`, :func:`weighted_correlation` as
:func:`analysis_helpers.drivers.weighted_correlation`. The numbers agree to rounding
(the tests hold them to 1e-10).

The variance is the same Taylor linearisation: the influence values of a domain mean are
``w (y - m) / W``; their totals per PSU (or, without clusters, their sums and sums of
squares per stratum, from ``sum w^2 y^2``, ``sum w^2 y`` and ``sum w^2``) are sums the
SQL returns per group x stratum (x PSU) cell, so no respondent-level data leaves the
engine. Supported designs: weights, strata, one stage of clusters, its fpc and every
``lonely_psu`` rule; calibrated (raking-aware), replicate-weight and multi-stage designs
raise :class:`EngineUnsupported` (the caller then uses the in-memory path).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sqlglot import exp

from .._design import ReplicateDesign, SurveyDesign, logit_ci, normal_quantile
from . import sql as q

__all__ = [
    "EngineUnsupported",
    "survey_mean",
    "survey_total",
    "top_box",
    "nps",
    "csi",
    "item_distribution",
    "weighted_correlation",
]

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


class EngineUnsupported(ValueError):
    """The engine cannot compute this estimate for this design (use the in-memory path)."""


# --------------------------------------------------------------------------------------
# the design, as SQL pieces and per-stratum numbers
# --------------------------------------------------------------------------------------
@dataclass
class _Design:
    weight: exp.Expr
    stratum: exp.Expr
    psu: exp.Expr | None
    fpc: str | None
    lonely_psu: str
    weighted: bool


def _design(design: SurveyDesign | None, func: str) -> _Design:
    d = design if design is not None else SurveyDesign()
    if not isinstance(d, SurveyDesign):
        raise TypeError(f"{func}: design must be a SurveyDesign, got {type(d).__name__}")
    if isinstance(d, ReplicateDesign):
        raise EngineUnsupported(f"{func}: the engine does not do replicate-weight designs")
    if d.calibration is not None:
        raise EngineUnsupported(f"{func}: the engine does not do calibrated (raking-aware) SEs")
    if len(d.clusters) > 1 or len(d.fpcs) > 1:
        raise EngineUnsupported(f"{func}: the engine does one-stage designs only")
    if d.weight is None and d.fpcs:
        raise EngineUnsupported(f"{func}: the engine needs a weight column with an fpc")
    return _Design(
        weight=q.double(q.col(d.weight)) if d.weight else q.num(1.0),
        stratum=q.col(d.strata) if d.strata else exp.Literal.number(0),
        psu=q.col(d.clusters[0]) if d.clusters else None,
        fpc=d.fpcs[0] if d.fpcs else None,
        lonely_psu=d.lonely_psu,
        weighted=d.weight is not None,
    )


@dataclass
class _Strata:
    values: pd.Index
    n_psu: np.ndarray
    f: np.ndarray
    lonely: np.ndarray
    rule: str

    @property
    def scale(self) -> np.ndarray:
        nh = self.n_psu.astype(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(nh > 1, (1 - self.f) * nh / (nh - 1), 1 - self.f)


def _strata(engine: Any, d: _Design, func: str) -> _Strata:
    t = engine.query(q.stratum_sizes(d.stratum, d.psu, d.fpc, d.weight))
    if t["h"].isna().any():
        raise ValueError(f"{func}: the strata column has a missing stratum")
    if t["bad_weight"].fillna(0).sum() > 0:
        raise ValueError(
            f"{func}: {int(t['bad_weight'].sum())} row(s) have a missing or non-positive weight"
        )
    t = t.sort_values("h", kind="stable").reset_index(drop=True)
    n_psu = t["psus"].to_numpy(dtype=np.int64)
    f = np.zeros(len(t))
    if d.fpc is not None:
        lo, hi = t["fpc_lo"].to_numpy(float), t["fpc_hi"].to_numpy(float)
        if (lo != hi).any():
            h = t["h"][lo != hi].iloc[0]
            raise ValueError(f"{func}: fpc column {d.fpc!r} varies within stratum {h!r}")
        if (~np.isfinite(lo) | (lo <= 0)).any():
            raise ValueError(f"{func}: fpc column {d.fpc!r}: fpc must be finite and > 0")
        if (lo > 1).any():
            if (lo < 1).any():
                raise ValueError(f"{func}: fpc column {d.fpc!r} mixes sizes and fractions")
            if (lo < n_psu).any():
                raise ValueError(f"{func}: fpc column {d.fpc!r}: a population below its sample")
            f = n_psu / lo
        else:
            f = lo
    lonely = (n_psu == 1) & (f < 1 - 1e-7)
    if lonely.any() and d.lonely_psu == "fail":
        raise ValueError(
            f"{func}: stratum {t['h'][lonely].iloc[0]!r} has only one PSU, so its variance "
            "cannot be estimated; set data.design.lonely_psu in the study file"
        )
    return _Strata(pd.Index(t["h"]), n_psu, np.asarray(f, float), lonely, d.lonely_psu)


# --------------------------------------------------------------------------------------
# cells: the sums per group x stratum (x PSU)
# --------------------------------------------------------------------------------------
class _Cells:
    """The cell sums of some variables, with group and stratum codes of each cell."""

    def __init__(
        self,
        engine: Any,
        by: Sequence[str],
        design: SurveyDesign | None,
        variables: Sequence[q.Variable],
        func: str,
    ) -> None:
        self.engine, self.by, self.func = engine, list(by), func
        self.d = _design(design, func)
        self.strata = _strata(engine, self.d, func)
        self.clustered = self.d.psu is not None
        stmt = q.cell_sums(
            by, self.d.stratum, self.d.psu, self.d.weight, variables, squares=not self.clustered
        )
        cells = engine.query(stmt)
        gcols = [f"g{k}" for k in range(len(self.by))]
        if gcols:
            cells = cells.sort_values(gcols, kind="stable").reset_index(drop=True)
            self.gi = cells.groupby(gcols, sort=True).ngroup().to_numpy()
            keys = cells[gcols].drop_duplicates().reset_index(drop=True)
            for c in gcols:  # a frame's categorical comes back as one: its values, as in memory
                if isinstance(keys[c].dtype, pd.CategoricalDtype):
                    keys[c] = keys[c].astype(keys[c].cat.categories.dtype)
            self.keys = keys.set_axis(self.by, axis=1)
        else:
            self.gi = np.zeros(len(cells), dtype=np.int64)
            self.keys = pd.DataFrame(index=range(1))
        self.G = len(self.keys)
        self.H = len(self.strata.values)
        self.hi = self.strata.values.get_indexer(cells["h"])
        self.gh = self.gi * self.H + self.hi
        self.reach = (np.bincount(self.gh, minlength=self.G * self.H) > 0).reshape(self.G, self.H)
        self.cells = cells

    def get(self, name: str) -> np.ndarray:
        """Return a sum column per cell (0 where the cell has none)."""
        return self.cells[name].fillna(0.0).to_numpy(dtype=float)

    def sums(self, x: np.ndarray) -> np.ndarray:
        """Return the per-group sums of a per-cell array."""
        return np.bincount(self.gi, weights=x, minlength=self.G)

    def var(self, t: np.ndarray, tt: np.ndarray | None = None) -> np.ndarray:
        """Return the variance of group totals from the cells' influence totals ``t``.

        Clustered cells are PSUs (``t`` their totals); otherwise ``tt`` holds each
        cell's sum of squared respondent values.
        """
        G, H, st = self.G, self.H, self.strata
        m = G * H
        S = np.bincount(self.gh, weights=t * t if tt is None else tt, minlength=m).reshape(G, H)
        T = np.bincount(self.gh, weights=t, minlength=m).reshape(G, H)
        c = st.scale
        ok = ~st.lonely
        v = ((S[:, ok] - T[:, ok] ** 2 / st.n_psu[ok]) * c[ok]).sum(axis=1)
        if st.lonely.any() and st.rule == "adjust":
            n_reach = np.maximum(self.reach @ st.n_psu, 1)
            centre = T.sum(axis=1, keepdims=True) / n_reach[:, None]
            v = v + ((T[:, st.lonely] - centre) ** 2 * c[st.lonely]).sum(axis=1)
        if st.lonely.any() and st.rule == "average":
            n_strata = self.reach.sum(axis=1)
            kept = (self.reach & ~st.lonely).sum(axis=1)
            with np.errstate(divide="ignore", invalid="ignore"):
                v = v * np.where(kept > 0, n_strata / np.maximum(kept, 1), np.nan)
        return np.maximum(v, 0.0)

    def degf(self, key: str) -> np.ndarray:
        """Return the per-group design df of variable ``key``: PSUs minus strata answering."""
        has = self.get(f"n_{key}") > 0
        n_strata_cells = np.bincount(self.gh[has], minlength=self.G * self.H).reshape(
            self.G, self.H
        )
        n_strata = (n_strata_cells > 0).sum(axis=1)
        if self.clustered:
            n_psu = np.bincount(self.gi[has], minlength=self.G)
        else:
            n_psu = self.sums(self.get(f"n_{key}"))
        return (n_psu - n_strata).astype(float)

    def mean(self, key: str) -> dict:
        """Return the domain mean parts of variable ``key`` (as ``_design.mean_parts``)."""
        n, W, W2 = (self.sums(self.get(f"{s}_{key}")) for s in ("n", "w", "ww"))
        w, y = self.get(f"w_{key}"), self.get(f"y_{key}")
        Y, YY = self.sums(y), self.sums(self.get(f"yy_{key}"))
        Ws = np.where(W > 0, W, 1.0)
        m = Y / Ws
        mc, Wc = m[self.gi], Ws[self.gi]
        t = (y - mc * w) / Wc  # the cell's total of the influence values
        if self.clustered:
            var = self.var(t)
        else:
            wy2, wyy2, ww = (self.get(f"{s}_{key}") for s in ("wy2", "wyy2", "ww"))
            var = self.var(t, (wyy2 - 2 * mc * wy2 + mc * mc * ww) / (Wc * Wc))
        ss = YY - 2 * m * Y + m * m * W
        return {
            "n": n, "W": W, "W2": W2, "estimate": np.where(W > 0, m, np.nan), "var": var,
            "ss": ss, "t": t,
        }  # fmt: skip

    def total_var(self, key: str) -> np.ndarray:
        """Return the variance of the group totals of ``w y`` of variable ``key``."""
        y = self.get(f"y_{key}")
        return self.var(y) if self.clustered else self.var(y, self.get(f"wyy2_{key}"))

    def finish(self, rows: list[dict], cols: list[str]) -> pd.DataFrame:
        """Stack per-group result rows into the in-memory functions' tidy frame."""
        if not rows:
            return pd.DataFrame(columns=[*self.by, *cols])
        index = pd.RangeIndex(self.G)
        out = pd.concat(
            [pd.DataFrame({c: r[c] for c in cols}, index=index) for r in rows], ignore_index=True
        )
        if self.by:
            keys = self.keys.iloc[np.tile(np.arange(self.G), len(rows))].reset_index(drop=True)
            out = pd.concat([keys, out], axis=1)
        return out[[*self.by, *cols]]


def _names(value: str | Sequence[str], role: str, func: str) -> list[str]:
    names = [value] if isinstance(value, str) else list(value)
    if not names or not all(isinstance(v, str) for v in names):
        raise TypeError(f"{func}: {role} must be a column name or a list of column names")
    return names


def _check(engine: Any, by: Sequence[str], items: Sequence[str], func: str) -> None:
    have = set(engine.columns())
    missing = [c for c in [*by, *items] if c not in have]
    if missing:
        raise KeyError(f"{func}: column(s) {missing} are not in the data")
    overlap = sorted(set(by) & set(items))
    if overlap:
        raise ValueError(f"{func}: column(s) {overlap} are both item and by columns")


def _base(n: np.ndarray, W: np.ndarray, W2: np.ndarray) -> dict:
    with np.errstate(divide="ignore", invalid="ignore"):
        neff = np.where(W2 > 0, W * W / W2, 0.0)
    return {"n": n.astype(np.int64), "n_weighted": W, "n_effective": neff}


def _srs_factor(n: np.ndarray, W: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(W > n, 1 - n / W, 1.0)


# --------------------------------------------------------------------------------------
# estimators
# --------------------------------------------------------------------------------------
def _mean_rows(cells: _Cells, key: str, confidence: float) -> dict:
    """Return the rows of a domain mean (as ``estimation.survey_mean``)."""
    z = normal_quantile(confidence)
    p = cells.mean(key)
    n, W = p["n"], p["W"]
    with np.errstate(divide="ignore", invalid="ignore"):
        s2 = n / (n - 1) * p["ss"] / W
        deff = p["var"] / (s2 / n * _srs_factor(n, W))
    est = np.where(n > 0, p["estimate"], np.nan)
    se = np.where(n > 0, np.sqrt(p["var"]), np.nan)
    return {**_base(n, W, p["W2"]), "estimate": est, "se": se, "ci_low": est - z * se,
            "ci_high": est + z * se, "deff": deff}  # fmt: skip


def survey_mean(
    engine: Any,
    *,
    items: str | Sequence[str],
    by: str | Sequence[str] = (),
    design: SurveyDesign | None = None,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Estimate weighted means with design SEs, as :func:`analysis_helpers.estimation.survey_mean`.

    Returns
    -------
    DataFrame
        The ``by`` columns, ``item``, ``n``, ``n_weighted``, ``n_effective``,
        ``estimate``, ``se``, ``ci_low``, ``ci_high``, ``deff``.
    """
    items, by = _names(items, "items", "survey_mean"), _names(by, "by", "survey_mean") if by else []
    _check(engine, by, items, "survey_mean")
    cells = _Cells(
        engine,
        by,
        design,
        [q.item_variable(f"v{k}", c) for k, c in enumerate(items)],
        "survey_mean",
    )
    rows = [
        {"item": item, **_mean_rows(cells, f"v{k}", confidence)} for k, item in enumerate(items)
    ]
    return cells.finish(rows, _MEAN_COLS)


def survey_total(
    engine: Any,
    *,
    items: str | Sequence[str],
    by: str | Sequence[str] = (),
    design: SurveyDesign | None = None,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Estimate weighted totals with design SEs, as :func:`analysis_helpers.estimation.survey_total`.

    Returns
    -------
    DataFrame
        Same columns as :func:`survey_mean`; ``estimate`` is the population total.
    """
    items, by = (
        _names(items, "items", "survey_total"),
        _names(by, "by", "survey_total") if by else [],
    )
    _check(engine, by, items, "survey_total")
    cells = _Cells(
        engine,
        by,
        design,
        [q.item_variable(f"v{k}", c) for k, c in enumerate(items)],
        "survey_total",
    )
    z = normal_quantile(confidence)
    rows = []
    for k, item in enumerate(items):
        p = cells.mean(f"v{k}")
        n, W = p["n"], p["W"]
        tot = cells.sums(cells.get(f"y_v{k}"))
        var = cells.total_var(f"v{k}")
        with np.errstate(divide="ignore", invalid="ignore"):
            s2 = n / (n - 1) * p["ss"] / W
            deff = var / (s2 * W * W / n * _srs_factor(n, W))
        se = np.sqrt(var)
        rows.append(
            {"item": item, **_base(n, W, p["W2"]), "estimate": tot, "se": se,
             "ci_low": tot - z * se, "ci_high": tot + z * se, "deff": deff}
        )  # fmt: skip
    return cells.finish(rows, _MEAN_COLS)


def _share_rows(cells: _Cells, key: str, confidence: float, method: str) -> dict:
    """Return the rows of a share (as ``kpis._share_rows``): logit or Wald interval, 0/1 edges."""
    p = cells.mean(key)
    n, W = p["n"], p["W"]
    est = np.where(n > 0, p["estimate"], np.nan)
    se = np.where(n > 0, np.sqrt(p["var"]), np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        s2 = n / (n - 1) * p["ss"] / W
        deff = p["var"] / (s2 / n * _srs_factor(n, W))
    if method == "logit":
        lo, hi = logit_ci(est, se, cells.degf(key), confidence)
    else:
        zq = normal_quantile(confidence)
        lo, hi = est - zq * se, est + zq * se
    with np.errstate(divide="ignore", invalid="ignore"):
        n_eff = W**2 / p["W2"]
        tail = ((1 - confidence) / 2) ** (1 / n_eff)
    zero, one = (n > 0) & (est == 0), (n > 0) & (est == 1)
    lo, hi = np.where(zero, 0.0, lo), np.where(zero, 1 - tail, hi)
    lo, hi = np.where(one, tail, lo), np.where(one, 1.0, hi)
    return {
        **_base(n, W, p["W2"]),
        "estimate": est,
        "se": se,
        "ci_low": lo,
        "ci_high": hi,
        "deff": deff,
    }


def top_box(
    engine: Any,
    *,
    items: str | Sequence[str],
    top: Collection[float],
    by: str | Sequence[str] = (),
    design: SurveyDesign | None = None,
    confidence: float = 0.95,
    method: str = "logit",
) -> pd.DataFrame:
    """Estimate top-box shares with design SEs, as :func:`analysis_helpers.kpis.top_box`.

    Returns
    -------
    DataFrame
        The ``by`` columns, ``item``, ``n``, ``n_weighted``, ``n_effective``, ``estimate``
        in [0, 1], ``se``, ``ci_low``, ``ci_high``, ``deff``.
    """
    items, by = _names(items, "items", "top_box"), _names(by, "by", "top_box") if by else []
    codes = list(top) if not isinstance(top, str) else []
    if not codes:
        raise ValueError(f"top_box: top must be a non-empty collection of codes, got {top!r}")
    if method not in ("logit", "wald"):
        raise ValueError(f"top_box: method {method!r}: use 'logit' or 'wald'")
    _check(engine, by, items, "top_box")
    variables = [q.indicator_variable(f"v{k}", c, codes) for k, c in enumerate(items)]
    cells = _Cells(engine, by, design, variables, "top_box")
    rows = [
        {"item": item, **_share_rows(cells, f"v{k}", confidence, method)}
        for k, item in enumerate(items)
    ]
    return cells.finish(rows, _MEAN_COLS)


def nps(
    engine: Any,
    *,
    items: str | Sequence[str],
    by: str | Sequence[str] = (),
    design: SurveyDesign | None = None,
    confidence: float = 0.95,
    promoter_min: float = 9,
    detractor_max: float = 6,
) -> pd.DataFrame:
    """Estimate the Net Promoter Score with design SEs, as :func:`analysis_helpers.kpis.nps`.

    Returns
    -------
    DataFrame
        The ``by`` columns, ``item``, ``n``, ``n_weighted``, ``n_effective``,
        ``pct_promoters``, ``pct_passives``, ``pct_detractors``, ``estimate`` (points),
        ``se``, ``ci_low``, ``ci_high``, ``wald_low``, ``wald_high``, ``adj_wald_low``,
        ``adj_wald_high``.
    """
    items, by = _names(items, "items", "nps"), _names(by, "by", "nps") if by else []
    if not promoter_min > detractor_max:
        raise ValueError(
            f"nps: promoter_min ({promoter_min}) must exceed detractor_max ({detractor_max})"
        )
    _check(engine, by, items, "nps")
    variables = [
        v for k, c in enumerate(items) for v in _nps_variables(k, c, promoter_min, detractor_max)
    ]
    cells = _Cells(engine, by, design, variables, "nps")
    rows = [{"item": item, **_nps_rows(cells, k, confidence)} for k, item in enumerate(items)]
    cols = ["item", "n", "n_weighted", "n_effective", "pct_promoters", "pct_passives",
            "pct_detractors", "estimate", "se", "ci_low", "ci_high", "wald_low", "wald_high",
            "adj_wald_low", "adj_wald_high"]  # fmt: skip
    return cells.finish(rows, cols)


def _nps_variables(k: int | str, item: str, promoter_min: float, detractor_max: float) -> list:
    return [
        q.score_variable(f"s{k}", item, promoter_min, detractor_max),
        q.flag_variable(f"p{k}", item, at_least=promoter_min),
        q.flag_variable(f"d{k}", item, at_most=detractor_max),
    ]


def _nps_rows(cells: _Cells, k: int | str, confidence: float) -> dict:
    """Return the rows of an NPS (as ``kpis.nps``) from the variables of :func:`_nps_variables`."""
    z = normal_quantile(confidence)
    p = cells.mean(f"s{k}")
    pro = cells.mean(f"p{k}")["estimate"]
    det = cells.mean(f"d{k}")["estimate"]
    base = _base(p["n"], p["W"], p["W2"])
    has = p["n"] > 0
    est = np.where(has, p["estimate"], np.nan)
    se = np.where(has, np.sqrt(p["var"]), np.nan)
    m = base["n_effective"] if cells.d.weighted else p["n"]
    with np.errstate(divide="ignore", invalid="ignore"):
        wald_se = np.sqrt((pro + det - est**2) / m)
        ma = m + 3
        pro_a = (pro * m + 0.75) / ma
        det_a = (det * m + 0.75) / ma
        nps_a = pro_a - det_a
        adj_se = np.sqrt((pro_a + det_a - nps_a**2) / ma)
    return {
        **base,
        "pct_promoters": 100 * pro, "pct_passives": 100 * (1 - pro - det),
        "pct_detractors": 100 * det, "estimate": 100 * est, "se": 100 * se,
        "ci_low": 100 * (est - z * se), "ci_high": 100 * (est + z * se),
        "wald_low": 100 * (est - z * wald_se), "wald_high": 100 * (est + z * wald_se),
        "adj_wald_low": 100 * (nps_a - z * adj_se), "adj_wald_high": 100 * (nps_a + z * adj_se),
    }  # fmt: skip


def item_distribution(
    engine: Any,
    *,
    items: str | Sequence[str],
    codes: Sequence[float],
    by: str | Sequence[str] = (),
    design: SurveyDesign | None = None,
) -> pd.DataFrame:
    """Return the weighted count cube, as :func:`analysis_helpers.kpis.item_distribution`.

    Unlike the in-memory function ``codes`` is required (the engine does not scan for
    the observed codes first).

    Returns
    -------
    DataFrame
        One row per group, item and code: the ``by`` columns, ``item``, ``code``, ``n``,
        ``n_weighted``, ``count``, ``count_weighted``, ``share``, ``share_unweighted``.
    """
    items, by = (
        _names(items, "items", "item_distribution"),
        _names(by, "by", "item_distribution") if by else [],
    )
    _check(engine, by, items, "item_distribution")
    d = _design(design, "item_distribution")
    code_arr = np.asarray(list(codes), dtype=float)
    cube = engine.query(q.count_cube(by, d.weight, items, code_arr))
    gcols = [f"g{k}" for k in range(len(by))]
    if gcols:
        cube = cube.sort_values(gcols, kind="stable").reset_index(drop=True)
    K, G = len(code_arr), len(cube)
    parts = []
    for i, item in enumerate(items):
        bad = cube[f"o_{i}"].fillna(0)
        if (bad > 0).any():
            raise ValueError(
                f"item_distribution: item column {item!r} has {int(bad.sum())} value(s) not "
                f"one of the codes {code_arr.tolist()}"
            )
        cnt = (
            np.column_stack([cube[f"c_{i}_{k}"].fillna(0).to_numpy(float) for k in range(K)])
            if K
            else np.zeros((G, 0))
        )
        cw = (
            np.column_stack([cube[f"cw_{i}_{k}"].fillna(0).to_numpy(float) for k in range(K)])
            if K
            else np.zeros((G, 0))
        )
        cnt = cnt.astype(np.int64)
        n = cnt.sum(axis=1, keepdims=True)
        W = cw.sum(axis=1, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            t = pd.DataFrame(
                {
                    "item": item,
                    "code": np.tile(code_arr, G),
                    "n": np.repeat(n[:, 0], K),
                    "n_weighted": np.repeat(W[:, 0], K),
                    "count": cnt.ravel(),
                    "count_weighted": cw.ravel(),
                    "share": (cw / W).ravel(),
                    "share_unweighted": (cnt / n).ravel(),
                }
            )
        if by:
            keys = (
                cube[gcols]
                .set_axis(by, axis=1)
                .iloc[np.repeat(np.arange(G), K)]
                .reset_index(drop=True)
            )
            t = pd.concat([keys, t], axis=1)
        parts.append(t)
    return pd.concat(parts, ignore_index=True)


def weighted_correlation(
    engine: Any,
    *,
    items: Sequence[str],
    design: SurveyDesign | None = None,
    missing: str = "listwise",
) -> pd.DataFrame:
    """Return the survey-weighted correlation matrix from cross-product sums.

    As :func:`analysis_helpers.drivers.weighted_correlation` (weights only; strata and
    clusters do not enter): the square matrix indexed by ``items`` on both axes, with
    ``attrs`` ``n``, ``n_effective``, ``missing`` and ``weight``.
    """
    items = _names(items, "items", "weighted_correlation")
    if missing not in ("listwise", "pairwise"):
        raise ValueError(f"weighted_correlation: missing {missing!r}: use 'listwise' or 'pairwise'")
    _check(engine, [], items, "weighted_correlation")
    d = design if design is not None else SurveyDesign()
    w = q.double(q.col(d.weight)) if d.weight else q.num(1.0)
    s = engine.query(q.cross_products([], w, items, pairwise=missing == "pairwise")).iloc[0]
    k = len(items)
    if missing == "listwise":
        sw = float(s["sw"])
        mx = np.array([s[f"s_{i}"] for i in range(k)], dtype=float) / sw
        sxy = np.empty((k, k))
        for i in range(k):
            for j in range(i, k):
                sxy[i, j] = sxy[j, i] = s[f"s_{i}_{j}"]
        cov = sxy / sw - np.outer(mx, mx)
        sd = np.sqrt(np.diag(cov))
        corr = cov / np.outer(sd, sd)
        n = int(s["n"])
        ww = engine.query(_ww_listwise(w, items)).iloc[0, 0]
        n_eff = sw**2 / float(ww)
    else:
        swm, sww, sx, sxx, sxy = (np.empty((k, k)) for _ in range(5))
        counts = np.empty((k, k))
        for i in range(k):
            for j in range(k):
                a, b = min(i, j), max(i, j)
                swm[i, j], counts[i, j], sxy[i, j] = (
                    s[f"sw_{a}_{b}"],
                    s[f"n_{a}_{b}"],
                    s[f"sxy_{a}_{b}"],
                )
                sww[i, j] = s[f"sww_{a}_{b}"]
                sx[i, j], sxx[i, j] = s[f"sx_{i}_{j}"], s[f"sxx_{i}_{j}"]
        with np.errstate(invalid="ignore", divide="ignore"):
            mx = sx / swm
            cov = sxy / swm - mx * mx.T
            var = sxx / swm - mx**2
            corr = cov / np.sqrt(var * var.T)
        if (counts == 0).any():
            raise ValueError(
                "weighted_correlation: some pair of items has no respondent answering both"
            )
        n = int(counts.min())
        n_eff = float(np.min(swm**2 / sww))
    corr[np.arange(k), np.arange(k)] = 1.0
    out = pd.DataFrame(corr, index=pd.Index(items), columns=pd.Index(items))
    out.attrs.update({"n": n, "n_effective": n_eff, "missing": missing, "weight": d.weight})
    return out


def _ww_listwise(w: exp.Expr, items: Sequence[str]) -> exp.Select:
    ok = [exp.Not(this=exp.Is(this=q.col(c), expression=exp.Null())) for c in items]
    cond: exp.Expr = ok[0]
    for c in ok[1:]:
        cond = exp.And(this=cond, expression=c)
    return (
        exp.select(exp.alias_(exp.Sum(this=exp.Mul(this=w.copy(), expression=w.copy())), "ww"))
        .from_(exp.to_table(q.SOURCE))
        .where(cond)
    )


# --------------------------------------------------------------------------------------
# the index (CSI)
# --------------------------------------------------------------------------------------
def csi(
    engine: Any,
    *,
    hierarchy: pd.DataFrame,
    by: str | Sequence[str] = (),
    design: SurveyDesign | None = None,
    confidence: float = 0.95,
    item_weights: Mapping | pd.Series | None = None,
    levels: Collection[str] = ("index", "area", "indicator", "item"),
) -> pd.DataFrame:
    """Compute the 0-100 satisfaction index rolled up, as :func:`analysis_helpers.kpis.csi`.

    ``levels`` keeps only the nodes of those levels (``("index",)`` for the headline
    index alone: in a design without clusters each aggregate node adds a term per item to
    the second pass over the data that gives the nodes' variances).

    Returns
    -------
    DataFrame
        Per group, top-down: the ``by`` columns, ``level``, ``name``, ``parent``,
        ``weight``, ``n``, ``n_weighted``, ``n_effective``, ``estimate`` (0-100), ``se``,
        ``ci_low``, ``ci_high``, ``evaluation`` (0-100).
    """
    by = _names(by, "by", "csi") if by else []
    plan = _CsiPlan(hierarchy, item_weights, levels)
    _check(engine, by, plan.items, "csi")
    cells = _Cells(engine, by, design, plan.variables, "csi")
    return plan.finish(cells, confidence)


class _CsiPlan:
    """The nodes, path weights and variables of the CSI (the in-memory csi's own rules)."""

    def __init__(
        self,
        hierarchy: pd.DataFrame,
        item_weights: Mapping | pd.Series | None,
        levels: Collection[str],
        prefix: str = "c",
    ) -> None:
        from ..kpis import _csi_hierarchy, _level_weights, _node_path

        h = self.h = _csi_hierarchy(hierarchy, item_weights)
        items = self.items = list(h["item"])
        self.prefix = prefix
        self.lo = dict(zip(items, h["scale_min"].astype(float), strict=True))
        span = h["scale_max"].astype(float) - h["scale_min"].astype(float)
        self.rng = dict(zip(items, span, strict=True))
        self.w_item = _level_weights(h, "weight_item", "item", "indicator")
        self.w_ind = _level_weights(h, "weight_indicator", "indicator", "area")
        self.w_area = _level_weights(h, "weight_area", "area", None)
        nodes = [("index", "index", "", 1.0)]
        nodes += [("area", a, "index", self.w_area[a]) for a in self.w_area.index]
        ind_area = h.drop_duplicates("indicator").set_index("indicator")["area"]
        nodes += [("indicator", i, ind_area[i], self.w_ind[i]) for i in self.w_ind.index]
        item_ind = h.set_index("item")["indicator"]
        nodes += [("item", i, item_ind[i], self.w_item[i]) for i in items]
        self.nodes = nodes
        self.keep = [k for k, nd in enumerate(nodes) if nd[0] in set(levels)]
        self.keys = [(lvl, name) for lvl, name, _, _ in nodes]
        self.coef = {
            key: _node_path(h, *key, self.w_item, self.w_ind, self.w_area, item_ind, ind_area)
            for key in self.keys
        }
        self.agg = [k for k in self.keep if nodes[k][0] != "item"]
        variables = [q.item_variable(f"{prefix}v{j}", c) for j, c in enumerate(items)]
        for k in self.agg:  # answered any of the node's items
            its = list(self.coef[self.keys[k]])
            cond = variables[items.index(its[0])].valid
            for i in its[1:]:
                cond = exp.Or(this=cond.copy(), expression=variables[items.index(i)].valid.copy())
            variables.append(q.Variable(f"{prefix}a{k}", q.num(1.0), exp.paren(cond)))
        self.variables = variables

    def finish(self, cells: _Cells, confidence: float) -> pd.DataFrame:
        """Return the csi rows from the cells of :attr:`variables`."""
        from ..kpis import _group_coefficients

        items, keys, coef, rng, lo = self.items, self.keys, self.coef, self.rng, self.lo
        G, pre = cells.G, self.prefix
        _check_ranges(cells.engine, items, lo, rng)
        parts = {j: cells.mean(f"{pre}v{j}") for j in range(len(items))}
        asked = {i: parts[j]["W"] > 0 for j, i in enumerate(items)}
        gcoef = _group_coefficients(
            self.h, items, keys, coef, asked, self.w_item, self.w_ind, self.w_area
        )
        n_nodes = len(self.nodes)
        est, evals, counts = (np.zeros((n_nodes, G)) for _ in range(3))
        for j, item in enumerate(items):
            score = 100 * (parts[j]["estimate"] - lo[item]) / rng[item]
            has = asked[item]
            for k, key in enumerate(keys):
                if item in coef[key]:
                    est[k] += gcoef[k][item] * np.where(has, score, 0.0)
                    evals[k] += np.where(has, score, 0.0)
                    counts[k] += has
        with np.errstate(invalid="ignore", divide="ignore"):
            evals = np.where(counts > 0, evals / np.where(counts > 0, counts, 1.0), np.nan)
        est = np.where(counts > 0, est, np.nan)
        node_var = _node_vars(cells, items, self.agg, keys, coef, gcoef, parts, rng)
        zq = normal_quantile(confidence)
        rows = []
        for k in self.keep:
            lvl, name, parent, wgt = self.nodes[k]
            if lvl == "item":
                p = parts[items.index(name)]
                se = np.sqrt(p["var"] * (100 / rng[name]) ** 2)
                base = _base(p["n"], p["W"], p["W2"])
            else:
                se = np.where(counts[k] > 0, np.sqrt(node_var[k]), np.nan)
                base = _base(*(cells.sums(cells.get(f"{s}_{pre}a{k}")) for s in ("n", "w", "ww")))
            rows.append(
                {"level": lvl, "name": name, "parent": parent, "weight": float(wgt), **base,
                 "estimate": est[k], "se": se, "ci_low": est[k] - zq * se,
                 "ci_high": est[k] + zq * se, "evaluation": evals[k]}
            )  # fmt: skip
        cols = ["level", "name", "parent", "weight", "n", "n_weighted", "n_effective",
                "estimate", "se", "ci_low", "ci_high", "evaluation"]  # fmt: skip
        out = cells.finish(rows, cols)
        if cells.by:
            order = np.argsort(np.tile(np.arange(G), len(rows)), kind="stable")
            out = out.iloc[order].reset_index(drop=True)
        return out


def _check_ranges(engine: Any, items: list[str], lo: dict, rng: dict) -> None:
    """Raise if an item has a value outside its scale (one statement for every item)."""
    sel = []
    for j, c in enumerate(items):
        x = q.double(q.col(c))
        sel.append(exp.alias_(exp.Min(this=x), f"lo{j}", quoted=True))
        sel.append(exp.alias_(exp.Max(this=x.copy()), f"hi{j}", quoted=True))
    r = engine.query(exp.select(*sel).from_(exp.to_table(q.SOURCE))).iloc[0]
    for j, i in enumerate(items):
        x_lo, x_hi = r[f"lo{j}"], r[f"hi{j}"]
        if pd.notna(x_lo) and (x_lo < lo[i] or x_hi > lo[i] + rng[i]):
            raise ValueError(
                f"csi: item column {i!r} has values outside the scale {lo[i]:g}-{lo[i] + rng[i]:g}"
            )


def _node_vars(
    cells: _Cells,
    items: list[str],
    agg: list[int],
    keys: list[tuple[str, str]],
    coef: dict,
    gcoef: list[dict[str, np.ndarray]],
    parts: dict[int, dict],
    rng: dict[str, float],
) -> dict[int, np.ndarray]:
    """Return the variance of each aggregate node (a linear combination of item means)."""
    if not agg:
        return {}
    if cells.clustered:  # the PSU totals of the items combine linearly
        out = {}
        for k in agg:
            t = np.zeros(len(cells.cells))
            for item in coef[keys[k]]:
                j = items.index(item)
                a = gcoef[k][item] * 100 / rng[item]
                t += a[cells.gi] * parts[j]["t"]
            out[k] = cells.var(t)
        return out
    # each respondent is a PSU: a second pass sums the squares of the nodes' scores
    engine, by = cells.engine, cells.by
    params = pd.DataFrame({f"g{n}": cells.keys[c].to_numpy() for n, c in enumerate(by)})
    terms = []
    for k in agg:
        expr: exp.Expr | None = None
        for item in coef[keys[k]]:
            j = items.index(item)
            W = parts[j]["W"]
            with np.errstate(invalid="ignore", divide="ignore"):
                c = np.where(W > 0, gcoef[k][item] * 100 / rng[item] / np.where(W > 0, W, 1.0), 0.0)
            params[f"c{k}_{j}"] = c
            params[f"m{j}"] = np.nan_to_num(parts[j]["estimate"])
            pc = exp.column(f"c{k}_{j}", table="params", quoted=True)
            pm = exp.column(f"m{j}", table="params", quoted=True)
            diff = exp.Sub(this=q.double(q.col(item)), expression=pm)
            term = exp.Case(
                ifs=[
                    exp.If(
                        this=exp.Not(this=exp.Is(this=q.col(item), expression=exp.Null())),
                        true=exp.Mul(this=pc, expression=exp.paren(diff)),
                    )
                ],
                default=q.num(0.0),
            )
            expr = term if expr is None else exp.Add(this=expr, expression=term)
        assert expr is not None
        terms.append((f"n{k}", expr))
    if not by:
        params = params.iloc[:1] if len(params) else pd.DataFrame(index=range(1))
    engine.register("params", params)
    if by:
        stmt = q.linear_sums(by, cells.d.stratum, None, cells.d.weight, terms, "params")
    else:
        stmt = _cross_params(cells.d.stratum, cells.d.weight, terms)
    res = engine.query(stmt)
    gcols = [f"g{n}" for n in range(len(by))]
    if gcols:
        gi = res.merge(cells.keys.set_axis(gcols, axis=1).reset_index(), on=gcols, how="left")[
            "index"
        ].to_numpy()
    else:
        gi = np.zeros(len(res), dtype=np.int64)
    hi = cells.strata.values.get_indexer(res["h"])
    saved = cells.gh
    cells.gh = gi * cells.H + hi
    try:
        return {
            k: cells.var(
                res[f"t_n{k}"].fillna(0).to_numpy(float), res[f"tt_n{k}"].fillna(0).to_numpy(float)
            )
            for k in agg
        }
    finally:
        cells.gh = saved


def _cross_params(
    stratum: exp.Expr, weight: exp.Expr, terms: list[tuple[str, exp.Expr]]
) -> exp.Select:
    """Return the second pass without groups: the parameters are one row, joined to every row."""
    inner: list[exp.Expr] = [exp.alias_(stratum.copy(), "h", quoted=True)]
    for key, e in terms:
        inner.append(
            exp.alias_(
                exp.Mul(this=weight.copy(), expression=exp.paren(e.copy())), f"t_{key}", quoted=True
            )
        )
    src = (
        exp.select(*inner)
        .from_(exp.to_table(q.SOURCE))
        .join(exp.to_table("params"), join_type="cross")
    )
    sel: list[exp.Expr] = [exp.column("h", quoted=True)]
    for key, _ in terms:
        t = exp.column(f"t_{key}", quoted=True)
        sel.append(exp.alias_(exp.Sum(this=t.copy()), f"t_{key}", quoted=True))
        sel.append(
            exp.alias_(
                exp.Sum(this=exp.Mul(this=t.copy(), expression=t.copy())), f"tt_{key}", quoted=True
            )
        )
    return exp.select(*sel).from_(src.subquery("psu_totals")).group_by(exp.column("h", quoted=True))
