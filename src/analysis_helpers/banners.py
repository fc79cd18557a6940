"""Banner tables (issue 11) with significance letters and tests.

Items, KPIs and answer distributions down the side, Total and the values of one or more
banner variables across (optionally nested), with significance letters, tests against Total
and against the rest of the sample, and an omnibus test per row.

Every cell estimate is a ratio of two domain totals - a mean ``sum(w y) / sum(w)``, a share
(the mean of a 0/1 dummy: one answer category, a net such as top-2 or bottom-2), an NPS
(100 x the mean of the +1/0/-1 score). Its linearised influence values give the design
covariance of all the cells of a banner at once (Taylor linearisation, with-replacement
ultimate-cluster variance with strata, clusters, fpc and the lonely-PSU rule, as R
``survey::svyrecvar`` and :mod:`analysis_helpers._design`). Nothing loops over cells or
respondents in Python: per item, three ``bincount`` passes give the sums of ``1``, ``w`` and
``w^2`` per (stratum or PSU, banner cell, answer category); every row, column and test is
computed from those small tables.

Tests
-----
* **Pairwise** (the letters): Student's t of the difference of two domain estimates with the
  design SE of the difference (R ``svyttest`` / ``svycontrast``; :func:`~analysis_helpers.
  estimation.domain_difference`), on the design df of the two columns' respondents (PSUs minus
  strata) minus 1. Corrected within each row and banner variable (within each outer value of a
  nested banner) with ``correction``; a cell carries the upper-case letters of the columns it
  is significantly higher than at ``alpha``, and lower-case letters for those significant
  only at ``second_alpha``.
* **Against Total** and **against the rest** of the sample (the complement): the same t test,
  on the design df of all respondents minus 1 (R ``svyttest(y ~ I(cell), D)``); corrected
  within each row over the banner's columns.
* **Omnibus** per row and banner variable: for means, shares and NPS the design-based Wald
  F of "all column means are equal" (R ``regTermTest(svyglm(y ~ column), ~column)``: F on
  ``k - 1`` and ``df - k + 1`` degrees of freedom); for an answer distribution the
  Rao-Scott second-order corrected Pearson chi-square (R ``svychisq(statistic="F")``) and
  its first-order form (``statistic="Chisq"``), with Cramér's V of the weighted table. For
  an unweighted simple random sample also Welch's ANOVA and Games-Howell pairwise tests
  (the formulas of pingouin's ``welch_anova`` and ``pairwise_gameshowell``, computed from the
  columns' means, variances and counts; the tests check them against pingouin).

Bases: columns with fewer than ``min_base`` respondents are flagged "low base", below
``suppress_below`` "suppressed" (no estimate), and never tested; a column without
respondents is "no respondents".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, cast

import numpy as np
import pandas as pd
from scipy import special, stats

from ._checks import check_frame, numeric_values
from ._design import SurveyDesign, normal_quantile
from .banner_index import INDEX_UNIT, IndexRow, IndexTables, index_rows_of
from .cross import letters_for
from .formatting import BAD as BAD_COLOUR
from .formatting import GOOD as GOOD_COLOUR
from .formatting import MISSING, fmt_value
from .safe_output import escape_html
from .study import NPS_SCALES, BannerSpec, Study, code_text
from .study_tables import study_design
from .text import template
from .trend import adjust_p

__all__ = [
    "BannerRow",
    "IndexRow",
    "index_rows_of",
    "BannerResult",
    "BANNER_TABLE_COLUMNS",
    "BANNER_TEST_COLUMNS",
    "BANNER_PAIR_COLUMNS",
    "banner_table",
    "cramers_v",
    "default_banner",
    "banner_rows",
    "study_banner",
    "study_banners",
    "banner_footnote",
    "banner_frame",
    "banner_html",
    "banner_show",
]

#: the columns of :attr:`BannerResult.table`, in order
BANNER_TABLE_COLUMNS = [
    "row", "item", "statistic", "category", "label", "unit",
    "variable", "column", "segment", "value", "value_label", "outer_value", "letter",
    "n", "n_weighted", "n_effective", "estimate", "se", "ci_low", "ci_high",
    "letters", "letters_second",
    "difference_total", "se_total", "p_total", "p_total_adjusted", "significant_total",
    "difference_rest", "se_rest", "p_rest", "p_rest_adjusted", "significant_rest",
    "flag",
]  # fmt: skip

#: the columns of :attr:`BannerResult.tests`, in order
BANNER_TEST_COLUMNS = [
    "row", "item", "statistic", "label", "variable", "test", "k", "n",
    "chisq", "f_statistic", "df_num", "df_den", "p_value", "p_chisq", "cramers_v",
    "welch_f", "welch_df_num", "welch_df_den", "welch_p", "flag",
]  # fmt: skip

#: the columns of :attr:`BannerResult.pairs`, in order
BANNER_PAIR_COLUMNS = [
    "row", "variable", "column_1", "column_2", "letter_1", "letter_2", "difference", "se",
    "df", "statistic", "p_value", "p_adjusted", "significant", "significant_second",
    "games_howell_p",
]  # fmt: skip

TOTAL = "total"
STATISTICS = ("mean", "top_box", "bottom_box", "nps", "distribution")


@dataclass(frozen=True)
class BannerRow:
    """One item's rows of a banner.

    Parameters
    ----------
    item : str
        The data column (numeric answer codes).
    statistics : sequence of str
        Any of "mean", "top_box", "bottom_box", "nps" (0-10 items: promoters 9-10,
        detractors 0-6), "distribution" (one share row per answer code ``scale_min`` ..
        ``scale_max``, followed by the nets ``top`` and ``bottom``).
    label : str
        Display label of the item.
    scale_min, scale_max : int
        The valid answer codes.
    top, bottom : sequence of int, optional
        Codes of the top and bottom nets; default the two highest / two lowest codes.
    language : str
        The language of the row labels (``"mean"``, ``"top-2-box"`` ...; the text tables).
    """

    item: str
    statistics: tuple[str, ...]
    label: str
    scale_min: int
    scale_max: int
    top: tuple[int, ...] | None = None
    bottom: tuple[int, ...] | None = None
    language: str = "en"

    def __post_init__(self) -> None:
        """Check the statistics and the scale; raise ``ValueError`` naming the item."""
        bad = [s for s in self.statistics if s not in STATISTICS]
        if bad:
            raise ValueError(
                f"banner_table: row {self.item!r}: unknown statistic {bad[0]!r}; use "
                f"{list(STATISTICS)}"
            )
        if self.scale_min >= self.scale_max:
            raise ValueError(
                f"banner_table: row {self.item!r}: scale_min {self.scale_min} is not below "
                f"scale_max {self.scale_max}"
            )

    @classmethod
    def of_item(cls, name: str, item: Any, statistics: Sequence[str], language: str) -> BannerRow:
        """Return the rows of a study item (``Study.items[name]``): its label, scale, top box."""
        return cls(
            name,
            tuple(statistics),
            item.label,
            item.scale.min,
            item.scale.max,
            top=tuple(item.top_codes),
            language=language,
        )

    @property
    def codes(self) -> np.ndarray:
        """Return the valid answer codes, ``scale_min`` to ``scale_max``."""
        return np.arange(self.scale_min, self.scale_max + 1)

    @property
    def top_codes(self) -> tuple[int, ...]:
        """Return the codes of the top net: ``top``, default the two highest codes."""
        return self.top or (self.scale_max - 1, self.scale_max)

    @property
    def bottom_codes(self) -> tuple[int, ...]:
        """Return the codes of the bottom net: ``bottom``, default the two lowest codes."""
        return self.bottom or (self.scale_min, self.scale_min + 1)

    def scores(self) -> list[tuple[str, str, str, str, np.ndarray, str]]:
        """``(row key, statistic, category, label, score per code, unit)`` of every row."""
        codes = self.codes
        rng = f"{self.scale_min}-{self.scale_max}"
        out = []

        def net(c: Sequence[int]) -> np.ndarray:
            return np.isin(codes, list(c)).astype(float)

        def span(c: Sequence[int]) -> str:
            c = sorted(c)
            return f"{c[0]}-{c[-1]}" if c == list(range(c[0], c[-1] + 1)) else ",".join(map(str, c))

        lang, lab = self.language, self.label

        def name(key: str, **values: Any) -> str:
            return template(key, lang).format(label=lab, **values)

        for s in self.statistics:
            if s == "mean":
                out.append((f"{self.item}:mean", s, "", name("banner.mean"), codes * 1.0,
                            f"mean ({rng})"))  # fmt: skip
            elif s == "top_box":
                t = self.top_codes
                out.append((f"{self.item}:top_box", s, "", name("banner.top_box", k=len(t)),
                            net(t), "share"))  # fmt: skip
            elif s == "bottom_box":
                b = self.bottom_codes
                out.append((f"{self.item}:bottom_box", s, "",
                            name("banner.bottom_box", k=len(b)), net(b), "share"))  # fmt: skip
            elif s == "nps":
                f = np.where(codes >= 9, 100.0, np.where(codes <= 6, -100.0, 0.0))
                out.append((f"{self.item}:nps", s, "", name("banner.nps"), f, "points"))
            else:
                for c in codes:
                    out.append((f"{self.item}:{c}", s, str(c), name("banner.code", code=c),
                                (codes == c) * 1.0, "share"))  # fmt: skip
                t, b = self.top_codes, self.bottom_codes
                out.append((f"{self.item}:top", s, f"top ({span(t)})",
                            name("banner.top_net", k=len(t), span=span(t)), net(t),
                            "share"))  # fmt: skip
                out.append((f"{self.item}:bottom", s, f"bottom ({span(b)})",
                            name("banner.bottom_net", k=len(b), span=span(b)), net(b),
                            "share"))  # fmt: skip
        return out


@dataclass
class BannerResult:
    """The output of :func:`banner_table`.

    Attributes
    ----------
    table : DataFrame
        One row per banner row and column (:data:`BANNER_TABLE_COLUMNS`): ``row`` (e.g.
        ``"q1:mean"``, ``"q1:4"``, ``"q1:top"``), ``item``, ``statistic``, ``category``
        (answer code or net of a distribution row, else ""), ``label``, ``unit``;
        ``variable`` (the banner variable: a column, or ``"outer > inner"`` when nested),
        ``column`` ("total" or ``"<variable>=<value>"``), ``segment`` (the data column(s)),
        ``value`` (the code; ``"outer / inner"`` nested), ``value_label``, ``outer_value``
        (nested: the outer code, else ""), ``letter`` ("" for Total); ``n`` (respondents
        with an answer), ``n_weighted``, ``n_effective``; ``estimate`` (shares in [0, 1],
        NPS in points), ``se``, ``ci_low``, ``ci_high`` (normal interval at
        ``confidence``); ``letters`` (upper case: the columns this cell is significantly
        higher than at ``alpha``), ``letters_second`` (lower case: significant at
        ``second_alpha`` only); ``difference_total``, ``se_total``, ``p_total``,
        ``p_total_adjusted``, ``significant_total`` ("above", "below" or "") - the cell
        against Total; the same ``*_rest`` columns against the rest of the sample
        (``significant_rest`` a bool); ``flag`` ("", "low base", "suppressed",
        "no respondents", "one respondent"; flagged cells are never tested).
    tests : DataFrame
        One omnibus test per row and banner variable (:data:`BANNER_TEST_COLUMNS`):
        ``test`` ("wald_f" or "rao_scott"), ``k`` (columns tested), ``n``, ``chisq`` (Wald
        chi-square, or the Pearson X^2 of the weighted table scaled to ``n``),
        ``f_statistic``, ``df_num``, ``df_den``, ``p_value`` (Wald F, or the Rao-Scott
        second-order F), ``p_chisq`` (the Rao-Scott first-order chi-square), ``cramers_v``
        (distributions), ``welch_*`` (unweighted simple random samples, means), ``flag``
        ("" or the reason there is no test: "fewer than 2 columns", "no variance").
    pairs : DataFrame
        Every pairwise test behind the letters (:data:`BANNER_PAIR_COLUMNS`):
        ``difference`` = column_2 - column_1, ``se``, ``df``, ``statistic``, ``p_value``,
        ``p_adjusted``, ``significant``, ``significant_second``, ``games_howell_p``
        (unweighted simple random samples, means).
    settings : dict
        ``correction``, ``alpha``, ``second_alpha``, ``confidence``, ``min_base``,
        ``suppress_below``, ``weighted``, ``design`` (a short description) - for the
        footnote.
    """

    table: pd.DataFrame
    tests: pd.DataFrame
    pairs: pd.DataFrame
    settings: dict = field(default_factory=dict)


def cramers_v(chisq: float, n: float, rows: int, cols: int) -> float:
    """Return Cramér's V = sqrt(X^2 / (n (min(rows, cols) - 1))) of a ``rows x cols`` table.

    Examples
    --------
    >>> round(cramers_v(10.0, 100, 2, 3), 6)  # sqrt(10 / 100)
    0.316228
    """
    d = min(rows, cols) - 1
    if d < 1 or not n > 0:
        return float("nan")
    return float(np.sqrt(chisq / (n * d)))


# --------------------------------------------------------------------------------------
# Banner variables and the joint groups
# --------------------------------------------------------------------------------------
@dataclass
class _Variable:
    name: str  # "region" or "region > customer_type"
    segment: str  # data column(s), "region" or "region, customer_type"
    codes: np.ndarray  # cell code per respondent, C for none
    values: list[str]
    labels: list[str]
    outer: list[str]  # outer value per column ("" unless nested)

    @property
    def C(self) -> int:
        return len(self.values)


def _codes_of(data: pd.DataFrame, col: str) -> tuple[np.ndarray, list[str]]:
    """Return the integer codes of a column (-1 missing) and the code texts.

    The texts are written as the study file writes them ("1" for 1 and 1.0, text trimmed);
    the texts of equal codes are merged.
    """
    raw, uniq = pd.factorize(data[col])
    texts = [code_text(u) for u in uniq]
    distinct = list(dict.fromkeys(texts))
    pos = {t: k for k, t in enumerate(distinct)}
    remap = np.array([pos[t] for t in texts] + [-1], dtype=np.int64)
    return remap[raw], distinct


def _variable(
    data: pd.DataFrame,
    spec: str | Sequence[str],
    labels: Mapping[str, Mapping[str, str]],
    orders: Mapping[str, Sequence[str]],
) -> _Variable:
    cols = [spec] if isinstance(spec, str) else list(spec)
    if not 1 <= len(cols) <= 2:
        raise ValueError(
            f"banner_table: a banner variable is a column or a pair [outer, inner], got {cols}"
        )
    if len(cols) == 2 and cols[0] == cols[1]:
        raise ValueError(f"banner_table: cannot nest {cols[0]!r} within itself")
    for c in cols:
        if c not in data.columns:
            raise KeyError(
                f"banner_table: banner variable {c!r} is not a column of the data "
                f"(columns: {list(data.columns)[:20]}{' ...' if data.shape[1] > 20 else ''})"
            )
    parts = []
    for c in cols:
        raw, texts = _codes_of(data, c)
        stated = [str(v) for v in orders.get(c, [])]
        # stated values absent from the data stay, as columns flagged "no respondents"
        order = stated + sorted(set(texts) - set(stated))
        index = {v: k for k, v in enumerate(order)}
        to_order = np.array([index[t] for t in texts] + [len(order)], dtype=np.int64)
        parts.append((c, to_order[raw], order))
    lab = {c: dict(labels.get(c, {})) for c in cols}
    if len(parts) == 1:
        c, code, order = parts[0]
        return _Variable(
            c, c, code, order, [str(lab[c].get(v, v)) for v in order], [""] * len(order)
        )
    (c1, k1, o1), (c2, k2, o2) = parts
    values = [f"{a} / {b}" for a in o1 for b in o2]
    labs = [f"{lab[c1].get(a, a)} / {lab[c2].get(b, b)}" for a in o1 for b in o2]
    outer = [a for a in o1 for _ in o2]
    none = (k1 == len(o1)) | (k2 == len(o2))
    code = np.where(none, len(values), k1 * len(o2) + k2)
    # drop combinations that never occur (a nested banner shows the cells that exist)
    seen = np.bincount(code, minlength=len(values) + 1)[: len(values)] > 0
    keep = np.flatnonzero(seen)
    remap = np.full(len(values) + 1, len(keep), dtype=np.int64)
    remap[keep] = np.arange(len(keep))
    return _Variable(
        f"{c1} > {c2}",
        f"{c1}, {c2}",
        remap[code],
        [values[k] for k in keep],
        [labs[k] for k in keep],
        [outer[k] for k in keep],
    )


class _Joint:
    """Group the respondents by (stratum, or PSU) x the cell of every banner variable.

    Per banner variable it also holds the sparse map from those groups to its (unit, cell)
    table.
    """

    def __init__(self, prep, variables: list[_Variable]):
        from scipy import sparse

        self.prep = prep
        n = prep.n
        clustered = prep.psu is not None
        unit = prep.psu if clustered else prep.stratum
        key = unit.astype(np.int64)
        span = int(key.max()) + 1 if n else 1
        for v in variables:
            key = key * (v.C + 1) + v.codes
            span *= v.C + 1
        if span <= 20_000_000:
            seen = np.bincount(key, minlength=span) > 0
            uniq = np.flatnonzero(seen)
            remap = np.cumsum(seen) - 1
            self.codes = remap[key]
        else:
            uniq, self.codes = np.unique(key, return_inverse=True)
        self.J = len(uniq)
        rest = uniq
        cells = []
        for v in variables[::-1]:
            cells.append(rest % (v.C + 1))
            rest = rest // (v.C + 1)
        self.cells = cells[::-1]  # per variable: cell of each group
        self.clustered = clustered
        self.H = prep.n_strata
        self.U = len(prep.psu_stratum) if clustered else self.H  # units: PSUs or strata
        self.weighted = not np.all(prep.w == 1.0)
        self.maps = [
            sparse.csr_matrix(
                (np.ones(self.J), (rest * (v.C + 1) + cell, np.arange(self.J))),
                shape=(self.U * (v.C + 1), self.J),
            )
            for v, cell in zip(variables, self.cells, strict=True)
        ]
        if clustered:
            P = self.U
            self.to_stratum = sparse.csr_matrix(
                (np.ones(P), (prep.psu_stratum, np.arange(P))), shape=(self.H, P)
            )


# --------------------------------------------------------------------------------------
# The covariance of the cells of one variable
# --------------------------------------------------------------------------------------
def _sigma(joint: _Joint, Yu: np.ndarray, Wu: np.ndarray, sq: tuple | None) -> np.ndarray:
    """Return the design covariance of the 2 C1 totals (sum w y, then sum w per cell).

    Computed from their per-unit totals ``Yu``, ``Wu`` (U x C1); unclustered, ``sq`` holds
    the per-stratum sums of w^2 y^2, w^2 y and w^2 (each respondent is a PSU).
    """
    prep = joint.prep
    c = prep.scale
    ok = ~prep.lonely
    C1 = Yu.shape[1]
    Z = np.hstack([Yu, Wu])
    if not joint.clustered:
        A, B, D = cast(tuple, sq)  # unclustered: always given
        co = np.where(ok, c, 0.0)
        S = np.zeros((2 * C1, 2 * C1))
        i = np.arange(C1)
        S[i, i] = co @ A
        S[i, C1 + i] = S[C1 + i, i] = co @ B
        S[C1 + i, C1 + i] = co @ D
        T = Z
    else:
        cw = np.where(ok, c, 0.0)[prep.psu_stratum]
        S = (Z * cw[:, None]).T @ Z
        T = joint.to_stratum @ Z
    S -= (T[ok] * (c[ok] / prep.n_psu[ok])[:, None]).T @ T[ok]
    if prep.lonely.any() and prep.lonely_psu == "adjust":
        d = T[prep.lonely] - T.sum(axis=0) / prep.n_psus
        S += (d * c[prep.lonely][:, None]).T @ d
    return S * prep.average_factor


def _t_p(est: np.ndarray, se: np.ndarray, df: np.ndarray, tiny: float) -> np.ndarray:
    """Two-sided Student t p-values; NaN where the SE is 0 up to rounding (``tiny``)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        t = est / se
        p = 2 * special.stdtr(np.maximum(df, 1), -np.abs(t))  # = 2 stats.t.sf(|t|, df)
    return np.where(np.isfinite(t) & (se > tiny) & (df >= 1), p, np.nan)


def _presence(joint: _Joint, n_u: np.ndarray) -> tuple:
    """Return the PSUs and strata with answers per cell, their overlaps and the design df.

    From the answers per (unit, cell): PSUs and strata with answers per cell, their
    pairwise overlaps, and the design df of all answers (PSUs minus strata).
    """
    if joint.clustered:
        pf = (n_u > 0).astype(float)
        psus = pf.sum(axis=0)
        psu_inter = pf.T @ pf
        psus_all = float((n_u.sum(axis=1) > 0).sum())
        st = (joint.to_stratum @ pf) > 0
    else:
        psus = n_u.sum(axis=0)
        psu_inter = np.diag(psus)
        psus_all = float(psus.sum())
        st = n_u > 0
    sf = st.astype(float)
    strata = sf.sum(axis=0)
    strata_inter = sf.T @ sf
    strata_all = float(st.any(axis=1).sum())
    return psus, psu_inter, strata, strata_inter, psus_all - strata_all


# --------------------------------------------------------------------------------------
# Omnibus tests
# --------------------------------------------------------------------------------------
def _wald(est: np.ndarray, V: np.ndarray, df: float) -> tuple[float, float, float, float]:
    """Wald test that the k estimates are equal: chi-square, F, df_den, p (R regTermTest)."""
    k = len(est)
    L = np.hstack([-np.ones((k - 1, 1)), np.eye(k - 1)])
    d = L @ est
    M = L @ V @ L.T
    try:
        chisq = float(d @ np.linalg.solve(M, d))
    except np.linalg.LinAlgError:
        return np.nan, np.nan, np.nan, np.nan
    ddf = df - k + 1
    f = chisq / (k - 1)
    p = float(stats.f.sf(f, k - 1, ddf)) if ddf > 0 else np.nan
    return chisq, f, ddf, p


def _rao_scott(
    p: np.ndarray, V: np.ndarray, N: float, nu: float
) -> tuple[float, float, float, float, float, float]:
    """Return the Rao-Scott tests of a ``r x c`` table of cell shares ``p``.

    Rows are categories, columns banner columns; ``V`` is their design covariance in
    column-major order as R's ``interaction(rows, cols)``. Returns X^2, F, ndf, ddf, p(F)
    and p(first-order chi-square).
    """
    r, c = p.shape
    vec = p.flatten(order="F")
    rows = np.tile(np.arange(r), c)
    cols = np.repeat(np.arange(c), r)
    R = (rows[:, None] == np.arange(r)[None, :]).astype(float)
    K = (cols[:, None] == np.arange(c)[None, :]).astype(float)
    X1 = np.hstack([np.ones((r * c, 1)), R[:, 1:], K[:, 1:]])
    inter = np.column_stack([R[:, i] * K[:, j] for j in range(1, c) for i in range(1, r)])
    Cmat = inter - X1 @ np.linalg.lstsq(X1, inter, rcond=None)[0]
    iD = np.where(vec > 0, 1 / np.where(vec > 0, vec, 1), 0.0)
    denom = Cmat.T @ (iD[:, None] / N * Cmat)
    numr = Cmat.T @ (iD[:, None] * V * iD[None, :]) @ Cmat
    try:
        Delta = np.linalg.solve(denom, numr)
    except np.linalg.LinAlgError:  # a degenerate table (e.g. a column with one answer)
        Delta = np.linalg.pinv(denom) @ numr
    tr, tr2 = float(np.trace(Delta)), float(np.trace(Delta @ Delta))
    if not (tr > 0 and tr2 > 0):
        return (np.nan,) * 6
    expected = np.outer(p.sum(axis=1), p.sum(axis=0))
    with np.errstate(divide="ignore", invalid="ignore"):
        chisq = float(N * np.where(expected > 0, (p - expected) ** 2 / expected, 0.0).sum())
    d0 = tr * tr / tr2
    f = chisq / tr
    p_f = float(stats.f.sf(f, d0, d0 * nu))
    p_chi = float(stats.chi2.sf(chisq / (tr / Cmat.shape[1]), Cmat.shape[1]))
    return chisq, f, d0, d0 * nu, p_f, p_chi


def _welch(n: np.ndarray, m: np.ndarray, v: np.ndarray) -> tuple[float, float, float, float]:
    """Welch's ANOVA from group counts, means and variances (pingouin ``welch_anova``)."""
    k = len(n)
    wt = n / v
    sw = wt.sum()
    grand = (wt * m).sum() / sw
    lam = ((1 - wt / sw) ** 2 / (n - 1)).sum()
    f = ((wt * (m - grand) ** 2).sum() / (k - 1)) / (1 + 2 * (k - 2) / (k * k - 1) * lam)
    ddf = (k * k - 1) / (3 * lam)
    return f, k - 1.0, ddf, float(stats.f.sf(f, k - 1, ddf))


def _games_howell(n: np.ndarray, m: np.ndarray, v: np.ndarray, i: np.ndarray, j: np.ndarray):
    """Games-Howell p-values of the pairs (i, j) (pingouin ``pairwise_gameshowell``)."""
    k = len(n)
    a, b = v[i] / n[i], v[j] / n[j]
    se = np.sqrt(a + b)
    t = np.abs(m[j] - m[i]) / se
    df = (a + b) ** 2 / (a * a / (n[i] - 1) + b * b / (n[j] - 1))
    return np.clip(stats.studentized_range.sf(t * np.sqrt(2), k, df), 0, 1)


# --------------------------------------------------------------------------------------
# The banner
# --------------------------------------------------------------------------------------
def banner_table(
    data: pd.DataFrame,
    *,
    rows: Sequence[BannerRow | IndexRow],
    by: Sequence[str | Sequence[str]],
    design: SurveyDesign | None = None,
    hierarchy: pd.DataFrame | None = None,
    labels: Mapping[str, Mapping[str, str]] | None = None,
    values: Mapping[str, Sequence[str]] | None = None,
    correction: str = "holm",
    alpha: float = 0.05,
    second_alpha: float | None = None,
    confidence: float = 0.95,
    min_base: int = 30,
    suppress_below: int = 10,
    omnibus: bool = True,
) -> BannerResult:
    """Compute a banner with significance letters.

    Rows of items (means, top / bottom boxes, NPS, answer distributions with nets) by Total
    and every value of the banner variables, with significance letters.

    Parameters
    ----------
    data : DataFrame
        One row per respondent.
    rows : sequence of BannerRow or IndexRow
        The items and their statistics, and the index rows (the CSI, area and indicator
        indices of ``hierarchy``, see :func:`index_rows_of`), in display order.
    by : sequence of str or [outer, inner]
        The banner variables, side by side; a pair nests ``inner`` within ``outer`` (one
        column per combination that occurs; letters compare columns within the same outer
        value).
    design : SurveyDesign, optional
        Weights, strata, clusters, fpc; None: simple random sample.
    hierarchy : DataFrame, optional
        The indicator hierarchy of the index rows (as :func:`~analysis_helpers.kpis.csi`:
        ``item``, ``indicator``, ``area``, ``scale_min``, ``scale_max``, optional weights);
        required with index rows. Each index cell is the node's weighted sum of its items'
        rescaled means (0-100), with the weights renormalised over the items the column
        (Total, the rest) answered at all, as ``csi(by=...)`` does per group; its SE comes
        from the joint design covariance of the items' means (module
        :mod:`analysis_helpers.banner_index`). Hierarchy items not in ``data`` count as not
        asked.
    labels : mapping column -> {code: label}, optional
        Value labels of the banner variables.
    values : mapping column -> codes, optional
        The order of each banner variable's values (stated values without respondents are
        kept as columns flagged "no respondents"); codes not listed follow, sorted.
    correction : {"holm", "fdr_bh", "bonferroni", "none"}
        Multiple-comparison correction within each row and banner variable.
    alpha : float
        Level of the upper-case letters and the tests against Total and the rest.
    second_alpha : float, optional
        A second, less strict level (> ``alpha``) for lower-case letters.
    confidence : float
        Level of the intervals.
    min_base, suppress_below : int
        Columns with fewer respondents (with an answer) are flagged "low base" or
        "suppressed" and never tested.
    omnibus : bool
        Compute the omnibus tests (Wald F, Rao-Scott) per row.

    Returns
    -------
    BannerResult
        ``table``, ``tests``, ``pairs`` and ``settings`` (see :class:`BannerResult`).

    Raises
    ------
    KeyError
        A banner variable or an item is not a column of ``data``.
    ValueError
        No banner variable, a bad correction or level, an item with non-numeric answers.
    """
    _check_banner_arguments(data, rows, by, correction, alpha, second_alpha, confidence)
    if hierarchy is None and any(isinstance(r, IndexRow) for r in rows):
        raise ValueError("banner_table: index rows need the hierarchy (hierarchy=...)")
    design = design if design is not None else SurveyDesign()
    prep = design.prepare(data, func="banner_table")
    labels = labels or {}
    values = values or {}
    variables = [_variable(data, spec, labels, values) for spec in by]
    joint = _Joint(prep, variables)
    srs = design.weight is None and design.strata is None and design.cluster is None
    q = normal_quantile(confidence)
    settings = {
        "correction": correction, "alpha": alpha, "second_alpha": second_alpha,
        "confidence": confidence, "min_base": min_base, "suppress_below": suppress_below,
        "weighted": design.weight is not None, "srs": srs,
        "design": _design_text(design),
    }  # fmt: skip
    letters = _banner_letters(variables)
    run = _Run(
        joint=joint,
        variables=variables,
        letters=letters,
        col_names=[np.array([f"{v.name}={x}" for x in v.values], dtype=object) for v in variables],
        col_letters=[np.array(x, dtype=object) for x in letters],
        correction=correction,
        alpha=alpha,
        second_alpha=second_alpha,
        min_base=min_base,
        suppress_below=suppress_below,
        omnibus=omnibus,
        srs=srs,
        w2=prep.w * prep.w if joint.weighted else None,
        reps=np.ascontiguousarray(prep.rep.weights) if prep.rep is not None else None,
    )
    offsets: dict[int, np.ndarray] = {}
    index_tables: IndexTables | None = None
    for brow in rows:
        if isinstance(brow, IndexRow):
            if index_tables is None:
                index_tables = IndexTables(
                    data,
                    cast(pd.DataFrame, hierarchy),
                    prep,
                    [r for r in rows if isinstance(r, IndexRow)],
                )
            for vi, var in enumerate(variables):
                _index_row(run, index_tables, brow, vi, var)
            continue
        item = _item_counts(data, brow, joint, run.w2, offsets, run.reps)
        for vi, var in enumerate(variables):
            _variable_rows(run, item, vi, var)
    return _banner_result(run, q, settings)


def _check_banner_arguments(
    data: pd.DataFrame,
    rows: Sequence[BannerRow | IndexRow],
    by: Sequence[str | Sequence[str]],
    correction: str,
    alpha: float,
    second_alpha: float | None,
    confidence: float,
) -> None:
    """Raise ``ValueError`` / ``KeyError`` for bad arguments of :func:`banner_table`.

    Parameters
    ----------
    data, rows, by, correction, alpha, second_alpha, confidence
        As :func:`banner_table`.
    """
    check_frame(data, "banner_table")
    if not by:
        raise ValueError("banner_table: give at least one banner variable in by")
    if correction not in ("holm", "fdr_bh", "bonferroni", "none"):
        raise ValueError(
            f"banner_table: correction {correction!r}: use 'holm', 'fdr_bh', 'bonferroni' or 'none'"
        )
    for name, x in (("alpha", alpha), ("confidence", confidence)):
        if not 0 < x < 1:
            raise ValueError(f"banner_table: {name} must be in (0, 1), got {x}")
    if second_alpha is not None and not alpha < second_alpha < 1:
        raise ValueError(
            f"banner_table: second_alpha {second_alpha} must be above alpha {alpha} and below 1"
        )
    for r in rows:
        if isinstance(r, BannerRow) and r.item not in data.columns:
            raise KeyError(f"banner_table: item {r.item!r} is not a column of the data")


def _banner_letters(variables: Sequence[_Variable]) -> list[list[str]]:
    """Return the column letters of every banner variable; they run across the whole banner.

    Parameters
    ----------
    variables : sequence of _Variable
        The banner variables, in order.

    Returns
    -------
    list of list of str
        Per variable, the letter of each of its columns (A, B, ... continuing over variables).
    """
    letters: list[list[str]] = []
    k = 0
    for v in variables:
        letters.append([letters_for(k + j) for j in range(v.C)])
        k += v.C
    return letters


@dataclass
class _Run:
    """The fixed inputs of one :func:`banner_table` call and the records it collects."""

    joint: _Joint
    variables: list[_Variable]
    letters: list[list[str]]
    col_names: list[np.ndarray]
    col_letters: list[np.ndarray]
    correction: str
    alpha: float
    second_alpha: float | None
    min_base: int
    suppress_below: int
    omnibus: bool
    srs: bool
    w2: np.ndarray | None
    reps: np.ndarray | None = None  # replicate designs: the n x R weights, row-major
    cells: dict[str, list] = field(default_factory=lambda: {c: [] for c in BANNER_TABLE_COLUMNS})
    tests: list[dict] = field(default_factory=list)
    pairs: dict[str, list] = field(default_factory=lambda: {c: [] for c in BANNER_PAIR_COLUMNS})


@dataclass
class _Item:
    """One item's answer counts (and sums of w, w^2) per (joint group, answer code)."""

    brow: BannerRow
    K: int  # answer codes; bin K holds the respondents without an answer
    cnt: np.ndarray  # J x (K + 1)
    Wk: np.ndarray | None  # weighted designs only
    W2k: np.ndarray | None
    specs: list[tuple[str, str, str, str, np.ndarray, str]]
    F: np.ndarray  # K x rows: the score of each code in each row
    tiny: float  # SEs below this are rounding noise of a row without variance
    icat: np.ndarray | None = None  # calibrated designs: each respondent's answer bin
    RWk: np.ndarray | None = None  # replicate designs: J x (K + 1) x R replicate sums of w


def _item_counts(
    data: pd.DataFrame,
    brow: BannerRow,
    joint: _Joint,
    w2: np.ndarray | None,
    offsets: dict[int, np.ndarray],
    reps: np.ndarray | None = None,
) -> _Item:
    """Return one item's counts and sums of weights per (joint group, answer code).

    Parameters
    ----------
    data : DataFrame
        The respondents.
    brow : BannerRow
        The item and its statistics.
    joint : _Joint
        The respondents' joint groups.
    w2 : ndarray, optional
        The squared weights (weighted designs only).
    offsets : dict
        Cache of the group offsets per number of bins (filled in place).
    reps : ndarray, optional
        Replicate designs: the replicate weights (n x R, row-major); the item then also
        gets the replicate sums of the weights per (joint group, answer code).

    Returns
    -------
    _Item
        The three ``bincount`` tables, the row scores and the noise level of the SEs.
    """
    K = len(brow.codes)
    K1 = K + 1  # the last bin holds the respondents without an answer
    col = data[brow.item]
    if col.dtype.kind == "f":
        y = col.to_numpy()  # no copy
    else:
        y = numeric_values(data, brow.item, "item", "banner_table")
    icat = _categories(y, brow, data)
    if K1 not in offsets:
        offsets[K1] = joint.codes * K1
    idx = offsets[K1] + icat
    m = joint.J * K1
    cnt = np.bincount(idx, minlength=m).reshape(joint.J, K1).astype(float)
    Wk = W2k = None
    if joint.weighted:
        Wk = np.bincount(idx, weights=joint.prep.w, minlength=m).reshape(joint.J, K1)
        W2k = np.bincount(idx, weights=w2, minlength=m).reshape(joint.J, K1)
    specs = brow.scores()
    F = np.column_stack([s[4] for s in specs])  # K x rows
    tiny = 1e-9 * max(1.0, float(np.abs(F).max()))
    prep = joint.prep
    # raking-aware SEs and later design stages need the rows
    icat_kept = icat if prep.cal is not None or prep.stages else None
    RWk = None
    if reps is not None:  # one sparse product: the replicate sums per (group, code)
        from scipy import sparse

        M = sparse.csr_matrix((np.ones(len(idx)), (idx, np.arange(len(idx)))), shape=(m, len(idx)))
        RWk = np.asarray(M @ reps).reshape(joint.J, K1, reps.shape[1])
    return _Item(brow, K, cnt, Wk, W2k, specs, F, tiny, icat_kept, RWk)


@dataclass
class _Tables:
    """One item's sums per (unit, column) of one banner variable, and what follows from them."""

    WU: np.ndarray  # U x C1 x K: sum of w
    W2U: np.ndarray  # U x C1 x K: sum of w^2
    Wu: np.ndarray  # U x C1
    n_c: np.ndarray  # C1: respondents with an answer
    W_c: np.ndarray
    W2_c: np.ndarray
    flag: np.ndarray  # C: base flags
    testable: np.ndarray  # C
    psus: np.ndarray
    psu_inter: np.ndarray
    strata: np.ndarray
    strata_inter: np.ndarray
    df_all: float  # design df of all answers minus 1
    sel: np.ndarray  # C1 x (2 C + 1): the C cells, Total, the C complements
    inv: np.ndarray  # 1 / the weighted base of each selection
    YU: np.ndarray  # U x C1 x rows: sum of w y
    AU: np.ndarray | None  # unclustered: sums of w^2 y^2 and w^2 y, and of w^2
    BU: np.ndarray | None
    D2: np.ndarray | None
    RW: np.ndarray | None = None  # replicate designs: C1 x K x R replicate sums of w
    rep_df: float | None = None  # replicate designs: the replicates' df


def _variable_tables(run: _Run, item: _Item, vi: int, var: _Variable) -> _Tables:
    """Return the sums of one item per (unit, column) of the ``vi``-th banner variable.

    Parameters
    ----------
    run : _Run
        The banner's inputs.
    item : _Item
        The item's counts per joint group.
    vi : int
        The index of the banner variable.
    var : _Variable
        The banner variable.

    Returns
    -------
    _Tables
        Bases, flags, the design df, the selections of cells, Total and complements, and
        the per-unit totals of every row's score.
    """
    joint = run.joint
    C, C1, K = var.C, var.C + 1, item.K
    U = joint.U
    M = joint.maps[vi]
    cntU = (M @ item.cnt).reshape(U, C1, K + 1)[:, :, :K]
    if item.Wk is not None and item.W2k is not None:
        WU = (M @ item.Wk).reshape(U, C1, K + 1)[:, :, :K]
        W2U = (M @ item.W2k).reshape(U, C1, K + 1)[:, :, :K]
    else:
        WU = W2U = cntU
    n_u = cntU.sum(axis=2)
    Wu = WU.sum(axis=2)
    n_c, W_c, W2_c = n_u.sum(axis=0), Wu.sum(axis=0), W2U.sum(axis=(0, 2))
    flag = _flags(n_c[:C], run.min_base, run.suppress_below)
    psus, psu_inter, strata, strata_inter, df_all = _presence(joint, n_u)
    # selections: the C cells, Total, the C complements (the hidden cell C holds
    # respondents without a value of this variable: in Total and every complement)
    sel = np.zeros((C1, 2 * C + 1))
    sel[np.arange(C), np.arange(C)] = 1
    sel[:, C] = 1
    sel[:, C + 1 :] = 1
    sel[np.arange(C), C + 1 + np.arange(C)] = 0
    sW = sel.T @ W_c
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = np.where(sW > 0, 1 / sW, np.nan)
    AU = BU = D2 = None
    if not joint.clustered:
        D2 = W2U.sum(axis=2)
        AU, BU = W2U @ (item.F * item.F), W2U @ item.F
    RW, rep_df = None, None
    rep = joint.prep.rep
    if rep is not None and item.RWk is not None:  # replicate designs: U is 1
        R_ = item.RWk.shape[2]
        RW = (M @ item.RWk.reshape(joint.J, -1)).reshape(C1, K + 1, R_)[:, :K, :]
        rep_df = float(rep.df)
        df_all = rep_df  # every test on the replicates' df (minus 1, as svyttest)
    return _Tables(
        WU, W2U, Wu, n_c, W_c, W2_c, flag, flag == "", psus, psu_inter, strata,
        strata_inter, df_all - 1, sel, inv, WU @ item.F, AU, BU, D2, RW, rep_df,
    )  # fmt: skip


def _variable_rows(run: _Run, item: _Item, vi: int, var: _Variable) -> None:
    """Add one item's cells, pairs and tests for the ``vi``-th banner variable to ``run``.

    Parameters
    ----------
    run : _Run
        The banner's inputs; its ``cells``, ``pairs`` and ``tests`` grow in place.
    item : _Item
        The item's counts per joint group.
    vi : int
        The index of the banner variable.
    var : _Variable
        The banner variable.
    """
    tab = _variable_tables(run, item, vi, var)
    for ri, spec in enumerate(item.specs):
        _score_row(run, item, tab, vi, var, ri, spec)
    if run.omnibus and "distribution" in item.brow.statistics:
        run.tests.append(
            _distribution_test(
                run.joint,
                tab.WU,
                tab.W2U,
                tab.n_c,
                tab.testable,
                item.brow,
                var,
                run.joint.prep,
                icat=item.icat,
                RW=tab.RW,
            )
        )


def _selections(C: int) -> np.ndarray:
    """Return the ``(C + 1) x (2 C + 1)`` cells of the C columns, Total and the C complements.

    The hidden cell C holds the respondents without a value of the variable: they are in
    Total and in every complement.
    """
    sel = np.zeros((C + 1, 2 * C + 1))
    sel[np.arange(C), np.arange(C)] = 1
    sel[:, C] = 1
    sel[:, C + 1 :] = 1
    sel[np.arange(C), C + 1 + np.arange(C)] = 0
    return sel


@dataclass
class _IndexItem:
    """What the cell and test records need of an index row (its key and noise level)."""

    brow: Any
    tiny: float = 1e-7


def _index_row(run: _Run, it: IndexTables, irow: IndexRow, vi: int, var: _Variable) -> None:
    """Add one index row's cells, pairs and omnibus test for one banner variable to ``run``.

    Parameters
    ----------
    run : _Run
        The banner's inputs; its ``cells``, ``pairs`` and ``tests`` grow in place.
    it : IndexTables
        The hierarchy's items.
    irow : IndexRow
        The node.
    vi : int
        The index of the banner variable.
    var : _Variable
        The banner variable.
    """
    joint = run.joint
    C, C1 = var.C, var.C + 1
    sel = _selections(C)
    R, cov, anyans = it.node(irow, vi, var.codes, C, sel)
    w = joint.prep.w
    n_c = np.bincount(var.codes, weights=anyans.astype(float), minlength=C1)
    W_c = np.bincount(var.codes, weights=np.where(anyans, w, 0.0), minlength=C1)
    W2_c = np.bincount(var.codes, weights=np.where(anyans, w * w, 0.0), minlength=C1)
    unit = joint.prep.psu if joint.clustered and joint.prep.psu is not None else joint.prep.stratum
    n_u = np.bincount(
        unit * C1 + var.codes, weights=anyans.astype(float), minlength=joint.U * C1
    ).reshape(joint.U, C1)
    flag = _flags(n_c[:C], run.min_base, run.suppress_below)
    psus, psu_inter, strata, strata_inter, df_all = _presence(joint, n_u)
    none = np.empty(0)
    rep_df = float(joint.prep.rep.df) if joint.prep.rep is not None else None
    tab = _Tables(
        none, none, none, n_c, W_c, W2_c, flag, flag == "", psus, psu_inter, strata,
        strata_inter, (df_all if rep_df is None else rep_df) - 1, sel, none, none, None,
        None, None, None, rep_df,
    )  # fmt: skip
    spec = (irow.key, "index", "", irow.label, np.zeros(0), INDEX_UNIT)
    item = cast(_Item, _IndexItem(SimpleNamespace(item=irow.name)))
    se = np.sqrt(np.clip(np.diag(cov), 0, None))
    against = _against_total_and_rest(run, tab, R, cov, C, item.tiny)
    pairs = _pairwise(run, tab, vi, var, R[:C], cov, item.tiny)
    _add_pairs(run, irow.key, vi, var, pairs, np.full(len(pairs.ii), np.nan))
    if run.omnibus:
        run.tests.append(_wald_record(item, tab, var, spec, R[:C], se[:C], cov, (np.nan,) * 4))
    _add_cells(run, item, tab, vi, var, spec, R, se, against, pairs)


def _row_covariance(
    joint: _Joint, tab: _Tables, ri: int, item: _Item | None = None, var: _Variable | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Return the estimates of the cells, Total and the complements of a row, and their covariance.

    Parameters
    ----------
    joint : _Joint
        The respondents' joint groups.
    tab : _Tables
        The item's sums for the banner variable.
    ri : int
        The index of the row among the item's rows.
    item, var : _Item, _Variable, optional
        The item and the banner variable: with a calibrated (raked) design, the
        covariance of the totals gets the calibration's part from the rows.

    Returns
    -------
    R : ndarray
        The ``2 C + 1`` ratio estimates: the C cells, Total, the C complements.
    cov : ndarray
        Their design covariance (Taylor linearisation).
    """
    Yu = tab.YU[:, :, ri]
    Y_c = Yu.sum(axis=0)
    R = (tab.sel.T @ Y_c) * tab.inv
    prep = joint.prep
    if prep.rep is not None and tab.RW is not None and item is not None:
        # the replicate estimates of the 2 C + 1 ratios themselves (svrepdesign)
        Yr = np.einsum("ckr,k->cr", tab.RW, item.F[:, ri])
        Wr = tab.RW.sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            Rr = (tab.sel.T @ Yr) / (tab.sel.T @ Wr)
        return R, replicate_cov(prep.rep, R, Rr)
    if prep.stages and item is not None and item.icat is not None and var is not None:
        # later design stages: the multistage recursion on the rows' totals
        f = np.append(item.F[:, ri], 0.0)[item.icat]
        v = np.column_stack([prep.w * f, prep.w * (item.icat < item.K)])
        Sig = prep.vcov(_spread(var.codes, var.C + 1, v))
        G = np.nan_to_num(np.vstack([tab.sel * tab.inv, -tab.sel * (R * tab.inv)]))
        return R, G.T @ Sig @ G
    sq = None
    if tab.AU is not None and tab.BU is not None:
        sq = (tab.AU[:, :, ri], tab.BU[:, :, ri], tab.D2)
    Sig = _sigma(joint, Yu, tab.Wu, sq)
    if prep.cal is not None and item is not None and item.icat is not None and var is not None:
        f = np.append(item.F[:, ri], 0.0)[item.icat]  # the row's score, 0 without an answer
        v = np.column_stack([prep.w * f, prep.w * (item.icat < item.K)])
        Sig = Sig + prep.calibration_correction(var.codes, var.C + 1, v)
    G = np.vstack([tab.sel * tab.inv, -tab.sel * (R * tab.inv)])
    G = np.nan_to_num(G)
    return R, G.T @ Sig @ G


def _spread(codes: np.ndarray, m: int, v: np.ndarray) -> np.ndarray:
    """Return the n x (q m) matrix with ``v[:, j]`` in column ``j * m + codes`` (0 elsewhere).

    Rows whose code is outside ``0..m-1`` are 0 (the totals of groups ``0..m-1`` of the
    columns of ``v`` as one matrix, for :meth:`PreparedDesign.vcov`).
    """
    n, q = v.shape
    z = np.zeros((n, q * m))
    rows = np.flatnonzero((codes >= 0) & (codes < m))
    for j in range(q):
        z[rows, j * m + codes[rows]] = v[rows, j]
    return z


def replicate_cov(rep: Any, full: np.ndarray, reps: np.ndarray) -> np.ndarray:
    """Return the replicate covariance of estimates ``full`` (k) from ``reps`` (k x R).

    ``scale * sum_r rscales_r (theta_r - c)(theta_r - c)'`` with ``c`` the full-sample
    estimates (``mse``) or the replicates' mean (R ``svrVar``). Estimates that are NaN in
    the full sample (a selection without answers) get 0 rows and columns.
    """
    c = full[:, None] if rep.mse else reps.mean(axis=1, keepdims=True)
    d = np.where(np.isfinite(full)[:, None], reps - c, 0.0)
    return rep.scale * (d * rep.rscales) @ d.T


@dataclass
class _Against:
    """A row's tests of every column against Total and against the rest of the sample."""

    d_tot: np.ndarray
    se_dt: np.ndarray
    p_tot: np.ndarray
    pa_tot: np.ndarray
    sig_tot: np.ndarray
    d_rest: np.ndarray
    se_dr: np.ndarray
    p_rest: np.ndarray
    pa_rest: np.ndarray


def _against_total_and_rest(
    run: _Run, tab: _Tables, R: np.ndarray, cov: np.ndarray, C: int, tiny: float
) -> _Against:
    """Return the t tests of each column against Total and against the rest of the sample.

    Parameters
    ----------
    run : _Run
        The banner's inputs (correction, alpha).
    tab : _Tables
        The item's sums for the banner variable (testable columns, design df).
    R, cov : ndarray
        The row's estimates and their covariance (:func:`_row_covariance`).
    C : int
        The number of columns of the banner variable.
    tiny : float
        SEs below this count as 0.

    Returns
    -------
    _Against
        Differences, SEs, p-values (raw and adjusted within the row) and "above" / "below".
    """
    var_d = np.clip(np.diag(cov), 0, None)
    est = R[:C]
    d_tot = est - R[C]
    se_dt = np.sqrt(np.clip(var_d[:C] + var_d[C] - 2 * cov[np.arange(C), C], 0, None))
    rest_idx = C + 1 + np.arange(C)
    d_rest = est - R[rest_idx]
    se_dr = np.sqrt(np.clip(var_d[:C] + var_d[rest_idx] - 2 * cov[np.arange(C), rest_idx], 0, None))
    df = np.full(C, tab.df_all)
    p_tot = np.where(tab.testable, _t_p(d_tot, se_dt, df, tiny), np.nan)
    p_rest = np.where(tab.testable, _t_p(d_rest, se_dr, df, tiny), np.nan)
    pa_tot = adjust_p(p_tot, correction=run.correction)
    pa_rest = adjust_p(p_rest, correction=run.correction)
    sig_tot = np.where(
        np.isfinite(pa_tot) & (pa_tot < run.alpha),
        np.where(d_tot > 0, "above", "below"),
        "",
    )
    return _Against(d_tot, se_dt, p_tot, pa_tot, sig_tot, d_rest, se_dr, p_rest, pa_rest)


@dataclass
class _Pairs:
    """A row's pairwise tests of the testable columns within each family, and the letters."""

    ii: np.ndarray
    jj: np.ndarray
    d_p: np.ndarray
    se_p: np.ndarray
    df_p: np.ndarray
    p_p: np.ndarray
    pa_p: np.ndarray
    sig1: np.ndarray
    sig2: np.ndarray
    up: list[list[str]]  # per column: letters of the columns it is higher than at alpha
    low: list[list[str]]  # ... at second_alpha only


def _pairwise(
    run: _Run, tab: _Tables, vi: int, var: _Variable, est: np.ndarray, cov: np.ndarray,
    tiny: float,
) -> _Pairs:  # fmt: skip
    """Return the pairwise t tests of a row's columns and the significance letters.

    Parameters
    ----------
    run : _Run
        The banner's inputs (letters, correction, levels).
    tab : _Tables
        The item's sums for the banner variable (testable columns, PSUs and strata).
    vi : int
        The index of the banner variable.
    var : _Variable
        The banner variable; its outer values are the families (nested banners).
    est : ndarray
        The C cell estimates.
    cov : ndarray
        The covariance of the row's estimates (:func:`_row_covariance`).
    tiny : float
        SEs below this count as 0.

    Returns
    -------
    _Pairs
        The pairs ``(ii, jj)``, their differences, SEs, dfs, p-values (adjusted within each
        family), significance at both levels, and per column the letters.
    """
    C = var.C
    var_d = np.clip(np.diag(cov), 0, None)
    testable = tab.testable
    fam_of = np.asarray(var.outer)
    ii, jj = np.triu_indices(C, 1)
    keep = testable[ii] & testable[jj] & (fam_of[ii] == fam_of[jj])
    ii, jj = ii[keep], jj[keep]
    d_p = est[jj] - est[ii]
    v_p = var_d[ii] + var_d[jj] - 2 * cov[ii, jj]
    se_p = np.sqrt(np.clip(v_p, 0, None))
    if tab.rep_df is not None:  # replicate designs: the replicates' df minus 1
        df_p = np.full(len(ii), tab.rep_df - 1.0)
    else:
        df_p = (
            (tab.psus[ii] + tab.psus[jj] - tab.psu_inter[ii, jj])
            - (tab.strata[ii] + tab.strata[jj] - tab.strata_inter[ii, jj])
            - 1
        )
    p_p = _t_p(d_p, se_p, df_p, tiny)
    pa_p = np.full(len(ii), np.nan)
    fam = fam_of[ii]
    for o in dict.fromkeys(fam):
        sel_f = fam == o
        pa_p[sel_f] = adjust_p(p_p[sel_f], correction=run.correction)
    sig1 = np.isfinite(pa_p) & (pa_p < run.alpha)
    sig2 = (
        np.isfinite(pa_p) & (pa_p < run.second_alpha) & ~sig1
        if run.second_alpha is not None
        else np.zeros(len(ii), bool)
    )
    up: list[list[str]] = [[] for _ in range(C)]
    low: list[list[str]] = [[] for _ in range(C)]
    for a, b, d, s1, s2 in zip(ii, jj, d_p, sig1, sig2, strict=True):
        if s1 or s2:
            hi, lo = (b, a) if d > 0 else (a, b)
            (up if s1 else low)[hi].append(run.letters[vi][lo])
    return _Pairs(ii, jj, d_p, se_p, df_p, p_p, pa_p, sig1, sig2, up, low)


def _srs_tests(
    run: _Run, tab: _Tables, stat: str, ri: int, est: np.ndarray, pairs: _Pairs
) -> tuple[np.ndarray, tuple[float, float, float, float]]:
    """Return the Games-Howell p-values of the pairs and Welch's ANOVA of a row.

    Only for an unweighted simple random sample and the rows of means, shares and NPS
    (else NaN), and only when at least two testable columns have a positive variance.

    Parameters
    ----------
    run : _Run
        The banner's inputs (``srs``).
    tab : _Tables
        The item's sums for the banner variable.
    stat : str
        The row's statistic.
    ri : int
        The index of the row among the item's rows.
    est : ndarray
        The C cell estimates.
    pairs : _Pairs
        The row's pairs (:func:`_pairwise`).

    Returns
    -------
    games_howell_p : ndarray
        One p-value per pair.
    welch : tuple of float
        F, df_num, df_den, p.
    """
    ii, jj = pairs.ii, pairs.jj
    gh = np.full(len(ii), np.nan)
    welch: tuple[float, float, float, float] = (np.nan,) * 4
    if not (run.srs and len(ii) and stat in ("mean", "nps", "top_box", "bottom_box")):
        return gh, welch
    if tab.AU is None:  # never: a simple random sample is unclustered
        return gh, welch
    C = len(est)
    ok_c = np.flatnonzero(tab.testable)
    nn = tab.n_c[:C]
    ss = tab.AU[:, :C, ri].sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        vv = (ss - nn * est * est) / (nn - 1)
    if len(ok_c) >= 2 and np.all(vv[ok_c] > 0):
        pos = {c: k for k, c in enumerate(ok_c)}
        gi = np.array([pos[a] for a in ii])
        gj = np.array([pos[b] for b in jj])
        gh = _games_howell(nn[ok_c], est[ok_c], vv[ok_c], gi, gj)
        welch = _welch(nn[ok_c], est[ok_c], vv[ok_c])
    return gh, welch


def _score_row(
    run: _Run,
    item: _Item,
    tab: _Tables,
    vi: int,
    var: _Variable,
    ri: int,
    spec: tuple[str, str, str, str, np.ndarray, str],
) -> None:
    """Add one row's cells, pairs and omnibus test for one banner variable to ``run``.

    Parameters
    ----------
    run : _Run
        The banner's inputs; its ``cells``, ``pairs`` and ``tests`` grow in place.
    item : _Item
        The item's counts per joint group.
    tab : _Tables
        The item's sums for the banner variable.
    vi : int
        The index of the banner variable.
    var : _Variable
        The banner variable.
    ri : int
        The index of the row among the item's rows.
    spec : tuple
        The row: ``(row key, statistic, category, label, score per code, unit)``.
    """
    key, stat, _, label, _, _ = spec
    C = var.C
    R, cov = _row_covariance(run.joint, tab, ri, item, var)
    se = np.sqrt(np.clip(np.diag(cov), 0, None))
    against = _against_total_and_rest(run, tab, R, cov, C, item.tiny)
    pairs = _pairwise(run, tab, vi, var, R[:C], cov, item.tiny)
    gh, welch = _srs_tests(run, tab, stat, ri, R[:C], pairs)
    _add_pairs(run, key, vi, var, pairs, gh)
    if run.omnibus and stat != "distribution":
        run.tests.append(_wald_record(item, tab, var, spec, R[:C], se[:C], cov, welch))
    _add_cells(run, item, tab, vi, var, spec, R, se, against, pairs)


def _add_pairs(run: _Run, key: str, vi: int, var: _Variable, pairs: _Pairs, gh: np.ndarray) -> None:
    """Add a row's pairs (:data:`BANNER_PAIR_COLUMNS`) to ``run.pairs``.

    Parameters
    ----------
    run : _Run
        The banner's inputs; ``pairs`` grows in place.
    key : str
        The row key.
    vi : int
        The index of the banner variable.
    var : _Variable
        The banner variable.
    pairs : _Pairs
        The row's pairwise tests.
    gh : ndarray
        The Games-Howell p-value of each pair.
    """
    p = pairs
    npair = len(p.ii)
    with np.errstate(divide="ignore", invalid="ignore"):
        t_p = p.d_p / p.se_p
    new = {
        "row": [key] * npair,
        "variable": [var.name] * npair,
        "column_1": run.col_names[vi][p.ii],
        "column_2": run.col_names[vi][p.jj],
        "letter_1": run.col_letters[vi][p.ii],
        "letter_2": run.col_letters[vi][p.jj],
        "difference": p.d_p, "se": p.se_p, "df": p.df_p, "statistic": t_p,
        "p_value": p.p_p, "p_adjusted": p.pa_p, "significant": p.sig1,
        "significant_second": p.sig2, "games_howell_p": gh,
    }  # fmt: skip
    for c_ in BANNER_PAIR_COLUMNS:
        run.pairs[c_].extend(list(new[c_]))


def _wald_record(
    item: _Item,
    tab: _Tables,
    var: _Variable,
    spec: tuple[str, str, str, str, np.ndarray, str],
    est: np.ndarray,
    se_c: np.ndarray,
    cov: np.ndarray,
    welch: tuple[float, float, float, float],
) -> dict:
    """Return the omnibus test of a row of means, shares or NPS (:data:`BANNER_TEST_COLUMNS`).

    Parameters
    ----------
    item : _Item
        The item (its noise level of the SEs).
    tab : _Tables
        The item's sums for the banner variable (testable columns, design df).
    var : _Variable
        The banner variable.
    spec : tuple
        The row: ``(row key, statistic, category, label, score per code, unit)``.
    est, se_c : ndarray
        The C cell estimates and their SEs.
    cov : ndarray
        The covariance of the row's estimates (:func:`_row_covariance`).
    welch : tuple of float
        Welch's ANOVA (NaN unless a simple random sample).

    Returns
    -------
    dict
        The design-based Wald F of "all column means are equal"; ``flag`` says why not.
    """
    key, stat, _, label, _, _ = spec
    ok_c = np.flatnonzero(tab.testable)
    rec = {
        "row": key, "item": item.brow.item, "statistic": stat, "label": label,
        "variable": var.name, "test": "wald_f", "k": len(ok_c),
        "n": int(tab.n_c[ok_c].sum()), "chisq": np.nan, "f_statistic": np.nan,
        "df_num": np.nan, "df_den": np.nan, "p_value": np.nan,
        "p_chisq": np.nan, "cramers_v": np.nan, "welch_f": welch[0], "welch_df_num": welch[1],
        "welch_df_den": welch[2], "welch_p": welch[3], "flag": "",
    }  # fmt: skip
    if len(ok_c) < 2:
        rec["flag"] = "fewer than 2 columns"
    elif not np.any(se_c[ok_c] > item.tiny):
        rec["flag"] = "no variance"
    else:
        chisq, fst, ddf, pv = _wald(est[ok_c], cov[np.ix_(ok_c, ok_c)], tab.df_all + 1)
        rec.update(chisq=chisq, f_statistic=fst, df_num=len(ok_c) - 1.0,
                   df_den=ddf, p_value=pv)  # fmt: skip
    return rec


def _sorted_letters(x: list[str]) -> str:
    """Return the letters joined in banner order (A..Z, then AA, AB, ...)."""
    return "".join(sorted(x, key=lambda t: (len(t), t)))


def _add_cells(
    run: _Run,
    item: _Item,
    tab: _Tables,
    vi: int,
    var: _Variable,
    spec: tuple[str, str, str, str, np.ndarray, str],
    R: np.ndarray,
    se: np.ndarray,
    against: _Against,
    pairs: _Pairs,
) -> None:
    """Add a row's Total and column cells (:data:`BANNER_TABLE_COLUMNS`) to ``run.cells``.

    Parameters
    ----------
    run : _Run
        The banner's inputs; ``cells`` grows in place (``ci_low`` and ``ci_high`` stay
        empty: :func:`_banner_result` computes them).
    item : _Item
        The item.
    tab : _Tables
        The item's sums for the banner variable (bases, flags).
    vi : int
        The index of the banner variable.
    var : _Variable
        The banner variable.
    spec : tuple
        The row: ``(row key, statistic, category, label, score per code, unit)``.
    R, se : ndarray
        The row's estimates (cells, Total, complements) and their SEs.
    against : _Against
        The tests against Total and the rest.
    pairs : _Pairs
        The pairwise tests (their letters).
    """
    key, stat, category, label, _, unit = spec
    C = var.C
    a = against
    testable = tab.testable
    n_c, W_c, W2_c = tab.n_c, tab.W_c, tab.W2_c
    n_w = W_c[:C]
    with np.errstate(divide="ignore", invalid="ignore"):
        n_e = np.where(W2_c[:C] > 0, n_w * n_w / W2_c[:C], 0.0)
        n_e_tot = W_c.sum() ** 2 / W2_c.sum() if W2_c.sum() > 0 else 0.0
    hide = np.isin(tab.flag, ["suppressed", "no respondents"])
    e_out = np.where(hide, np.nan, R[:C])
    s_out = np.where(hide, np.nan, se[:C])
    tot_flag = str(_flags(np.array([n_c.sum()]), run.min_base, run.suppress_below)[0])
    t_hide = tot_flag in ("suppressed", "no respondents")
    col_vals = {
        "column": [TOTAL] + [f"{var.name}={v}" for v in var.values],
        "segment": [""] + [var.segment] * C,
        "value": [""] + var.values,
        "value_label": ["Total"] + var.labels,
        "outer_value": [""] + var.outer,
        "letter": [""] + run.letters[vi],
        "n": np.r_[n_c.sum(), n_c[:C]].astype(np.int64),
        "n_weighted": np.r_[W_c.sum(), n_w],
        "n_effective": np.r_[n_e_tot, n_e],
        "estimate": np.r_[np.nan if t_hide else R[C], e_out],
        "se": np.r_[np.nan if t_hide else se[C], s_out],
        "letters": [""] + [_sorted_letters(x) for x in pairs.up],
        "letters_second": [""] + [_sorted_letters(x).lower() for x in pairs.low],
        "difference_total": np.r_[np.nan, np.where(testable, a.d_tot, np.nan)],
        "se_total": np.r_[np.nan, np.where(testable, a.se_dt, np.nan)],
        "p_total": np.r_[np.nan, a.p_tot],
        "p_total_adjusted": np.r_[np.nan, a.pa_tot],
        "significant_total": [""] + list(a.sig_tot),
        "difference_rest": np.r_[np.nan, np.where(testable, a.d_rest, np.nan)],
        "se_rest": np.r_[np.nan, np.where(testable, a.se_dr, np.nan)],
        "p_rest": np.r_[np.nan, a.p_rest],
        "p_rest_adjusted": np.r_[np.nan, a.pa_rest],
        "significant_rest": np.r_[False, np.isfinite(a.pa_rest) & (a.pa_rest < run.alpha)],
        "flag": [tot_flag] + list(tab.flag),
    }
    fixed = {
        "row": key, "item": item.brow.item, "statistic": stat, "category": category,
        "label": label, "unit": unit, "variable": var.name,
    }  # fmt: skip
    for c_ in BANNER_TABLE_COLUMNS:
        if c_ in fixed:
            run.cells[c_].extend([fixed[c_]] * (C + 1))
        elif c_ in ("ci_low", "ci_high"):
            continue
        else:
            run.cells[c_].extend(list(col_vals[c_]))


def _banner_result(run: _Run, q: float, settings: dict) -> BannerResult:
    """Return the :class:`BannerResult` of the collected cells, tests and pairs.

    Parameters
    ----------
    run : _Run
        The banner's collected records.
    q : float
        The normal quantile of the intervals.
    settings : dict
        The banner's settings.

    Returns
    -------
    BannerResult
        ``table`` with the normal intervals, ``tests``, ``pairs`` and ``settings``.
    """
    table = pd.DataFrame({c: v for c, v in run.cells.items() if c not in ("ci_low", "ci_high")})
    table["n"] = table["n"].astype(np.int64)
    table["ci_low"] = table["estimate"] - q * table["se"]
    table["ci_high"] = table["estimate"] + q * table["se"]
    table["significant_rest"] = table["significant_rest"].astype(bool)
    tests = pd.DataFrame(run.tests, columns=BANNER_TEST_COLUMNS)
    pairs = pd.DataFrame(run.pairs)[BANNER_PAIR_COLUMNS]
    for col in ("significant", "significant_second"):
        pairs[col] = pairs[col].astype(bool)
    return BannerResult(table[BANNER_TABLE_COLUMNS], tests, pairs, settings)


def _flags(n: np.ndarray, min_base: int, suppress_below: int) -> np.ndarray:
    """Return the base flag of each column.

    "no respondents", "suppressed" (below ``suppress_below``), "one respondent" (never
    tested, whatever the rules), "low base", or "".
    """
    return np.select(
        [n == 0, n < suppress_below, n == 1, n < min_base],
        ["no respondents", "suppressed", "one respondent", "low base"],
        "",
    )


def _categories(y: np.ndarray, brow: BannerRow, data: pd.DataFrame) -> np.ndarray:
    """Return the answer code of each respondent as 0..K-1 (K: no answer).

    A value that is not one of the codes raises ``ValueError`` naming the row.
    """
    K = brow.scale_max - brow.scale_min + 1
    cat = y - y.dtype.type(brow.scale_min)
    missing = np.isnan(cat)
    cat[missing] = K
    icat = cat.astype(np.int32)
    if len(y) and not missing.all():
        lo, hi = cat.min(), cat.max()  # K stands for a missing answer
        if (
            lo < 0
            or hi > K
            or (icat.astype(cat.dtype) != cat).any()
            or (hi == K and (~missing & (cat == K)).any())
        ):
            y64 = np.asarray(y, dtype=float)
            bad = ~missing & (
                (y64 < brow.scale_min) | (y64 > brow.scale_max) | (y64 != np.round(y64))
            )
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"banner_table: item {brow.item!r} has the value {y64[i]:g} in row "
                f"{data.index[i]!r}; its codes are the integers {brow.scale_min} to "
                f"{brow.scale_max}"
            )
    return icat


def _design_text(design: SurveyDesign) -> str:
    parts = []
    if design.weight:
        parts.append("weighted")
    if design.strata:
        parts.append("stratified")
    if design.cluster:
        parts.append("clustered")
    return ", ".join(parts) if parts else "simple random sample"


def _distribution_correction(prep, var, icat, ok_c, used, vec) -> np.ndarray:
    """Return the calibration's part of the covariance of the share influences' totals.

    The totals are the weighted counts per (testable column, answer code used), column
    outer; the shares' influence totals are ``T - vec * sum(T)``.
    """
    c, r = len(ok_c), int(used.sum())
    colpos = np.full(var.C + 1, -1)
    colpos[ok_c] = np.arange(c)
    codepos = np.full(len(used) + 1, -1)  # the last bin: no answer
    codepos[np.flatnonzero(used)] = np.arange(r)
    cp, kp = colpos[var.codes], codepos[icat]
    g = np.where((cp >= 0) & (kp >= 0), cp * r + kp, c * r)
    corr = prep.calibration_correction(g, c * r, prep.w[:, None], keep=False)
    M = np.eye(c * r) - np.outer(vec, np.ones(c * r))
    return M @ corr @ M.T


def _distribution_test(joint, WU, W2U, n_c, testable, brow, var, prep, icat=None, RW=None) -> dict:
    """Return the Rao-Scott test of an item's answer distribution across testable columns.

    Computed from the per-(unit, column, answer code) sums of w and w^2; with a calibrated
    (raked) design, plus the calibration's part from the rows' answer bins ``icat``; with
    later design stages, the multistage variance of the rows' influence values; with
    replicate weights, the replicate covariance of the cell shares (``RW``: the replicate
    sums of w per column and answer code).
    """
    rec = {
        "row": f"{brow.item}:distribution", "item": brow.item, "statistic": "distribution",
        "label": template("banner.distribution", brow.language).format(label=brow.label),
        "variable": var.name, "test": "rao_scott",
        "k": int(testable.sum()), "n": 0, "chisq": np.nan, "f_statistic": np.nan,
        "df_num": np.nan, "df_den": np.nan, "p_value": np.nan, "p_chisq": np.nan,
        "cramers_v": np.nan, "welch_f": np.nan, "welch_df_num": np.nan, "welch_df_den": np.nan,
        "welch_p": np.nan, "flag": "",
    }  # fmt: skip
    ok_c = np.flatnonzero(testable)
    if len(ok_c) < 2:
        rec["flag"] = "fewer than 2 columns"
        return rec
    T1 = WU[:, ok_c, :]
    Wt = T1.sum(axis=0)  # columns x codes
    used = Wt.sum(axis=0) > 0  # answer codes that occur
    if used.sum() < 2:
        rec["flag"] = "no variance"
        return rec
    T1, Wt = T1[:, :, used], Wt[:, used]
    c, r = Wt.shape
    U = T1.shape[0]
    W = Wt.sum()
    N = float(n_c[ok_c].sum())
    p = (Wt / W).T  # r x c (codes x columns)
    vec = p.flatten(order="F")  # column-major as R's interaction(rows, cols)
    T1 = T1.reshape(U, c * r)  # the same order: column outer, code inner
    # influence of the share p_kc = T_kc / W: (1[kc] - p_kc) w / W per respondent
    if prep.rep is not None or prep.stages:
        V = _distribution_cov(prep, var, icat, ok_c, used, vec, W, RW)
        return _rao_scott_record(rec, p, V, N, float(prep.degf), r, c)
    c_ = prep.scale
    ok = ~prep.lonely
    Z = T1 - np.outer(T1.sum(axis=1), vec)
    if not joint.clustered:
        W2 = W2U[:, ok_c, :][:, :, used].reshape(U, c * r)
        co = np.where(ok, c_, 0.0)
        a = co @ W2
        S = np.diag(a) - np.outer(a, vec) - np.outer(vec, a) + np.outer(vec, vec) * a.sum()
        T = Z
    else:
        cw = np.where(ok, c_, 0.0)[prep.psu_stratum]
        S = (Z * cw[:, None]).T @ Z
        T = joint.to_stratum @ Z
    S = S - (T[ok] * (c_[ok] / prep.n_psu[ok])[:, None]).T @ T[ok]
    if prep.lonely.any() and prep.lonely_psu == "adjust":
        d = T[prep.lonely] - T.sum(axis=0) / prep.n_psus
        S = S + (d * c_[prep.lonely][:, None]).T @ d
    if prep.cal is not None and icat is not None:
        S = S * prep.average_factor + _distribution_correction(prep, var, icat, ok_c, used, vec)
        V = S / (W * W)
    else:
        V = S * prep.average_factor / (W * W)
    return _rao_scott_record(rec, p, V, N, float(prep.degf), r, c)


def _rao_scott_record(
    rec: dict, p: np.ndarray, V: np.ndarray, N: float, nu: float, r: int, c: int
) -> dict:
    """Fill the test record ``rec`` with the Rao-Scott tests of the shares ``p`` (r x c)."""
    chisq, f, d0, ddf, p_f, p_chi = _rao_scott(p, V, N, nu)
    if not np.isfinite(chisq):
        rec["flag"] = "no variance"
        return rec
    rec.update(
        n=int(N), chisq=chisq, f_statistic=f, df_num=d0, df_den=ddf, p_value=p_f, p_chisq=p_chi,
        cramers_v=cramers_v(chisq, N, r, c),
    )  # fmt: skip
    return rec


def _distribution_cov(prep, var, icat, ok_c, used, vec, W, RW) -> np.ndarray:
    """Return the covariance of the cell shares (column outer, code inner) of a distribution.

    Replicate designs: the replicate covariance of the replicate shares (``RW``, columns x
    codes x replicates, as R ``svychisq`` on an ``svrepdesign``). Multi-stage designs: the
    multistage variance (:meth:`PreparedDesign.vcov`, raking-aware when the design rakes)
    of the rows' influence values ``w (1[kc] - p_kc) / W``.
    """
    c, r = len(ok_c), int(used.sum())
    if prep.rep is not None:
        T = RW[ok_c][:, used, :].reshape(c * r, -1)
        with np.errstate(divide="ignore", invalid="ignore"):
            shares = T / T.sum(axis=0, keepdims=True)
        return replicate_cov(prep.rep, vec, shares)
    colpos = np.full(var.C + 1, -1)
    colpos[ok_c] = np.arange(c)
    codepos = np.full(len(used) + 1, -1)  # the last bin: no answer
    codepos[np.flatnonzero(used)] = np.arange(r)
    cp, kp = colpos[var.codes], codepos[icat]
    inside = (cp >= 0) & (kp >= 0)
    g = np.where(inside, cp * r + kp, c * r)
    z = _spread(g, c * r, prep.w[:, None])
    z -= np.outer(np.where(inside, prep.w, 0.0), vec)
    return prep.vcov(z) / (W * W)


# --------------------------------------------------------------------------------------
# The study's banners
# --------------------------------------------------------------------------------------
def default_banner(study: Study) -> BannerSpec:
    """Return the banner of a study without a ``banners:`` section.

    Its KPIs by every segment, side by side.
    """
    by: list[str | list[str]] = list(study.segment_columns())
    return BannerSpec(
        name="segments", title=template("banner.default_title", study.language), by=by
    )


def banner_rows(study: Study, banner: BannerSpec) -> list[BannerRow | IndexRow]:
    """Return the rows of a banner of the study.

    The KPIs (overall mean and top box, NPS, CES mean, loyalty top boxes) when ``kpis``,
    the index rows of ``index`` (the CSI, every area, every indicator of the hierarchy),
    then every listed item with the banner's ``statistics`` ("nps" only for items on a
    0-10 or 1-10 scale).
    """
    items = study.items
    out: list[BannerRow | IndexRow] = []
    index_rows: list[BannerRow | IndexRow] = []
    seen: set[tuple[str, str]] = set()

    def add(name: str, stats_: Sequence[str]) -> None:
        it = items[name]
        keep = []
        for s in stats_:
            if s == "nps" and (it.scale.min, it.scale.max) not in NPS_SCALES:
                continue
            if (name, s) not in seen:
                seen.add((name, s))
                keep.append(s)
        if keep:
            out.append(BannerRow.of_item(name, it, keep, study.language))

    k = study.kpis
    if banner.kpis:
        if k.overall:
            add(k.overall, ("mean", "top_box"))
        if k.nps:
            add(k.nps, ("nps",))
        if k.ces:
            add(k.ces, ("mean",))
        for name in k.loyalty:
            add(name, ("top_box",))
    if banner.index and study.has_index:
        h = study.hierarchy()
        labels = {**dict(zip(h["area"], h["area_label"], strict=True)),
                  **dict(zip(h["indicator"], h["indicator_label"], strict=True))}  # fmt: skip
        index_rows.extend(index_rows_of(h, banner.index, labels, language=study.language))
    out.extend(index_rows)
    for name in banner.items:
        add(name, banner.statistics)
    return out


def study_banner(
    data: pd.DataFrame,
    *,
    study: Study,
    banner: BannerSpec | str | None = None,
    confidence: float | None = None,
) -> BannerResult:
    """Compute one banner of the study on ``data`` (e.g. one wave).

    Parameters
    ----------
    data : DataFrame
        Clean analysis data.
    study : Study
        Supplies the banner (its variables, rows, tests, correction and levels), the item
        scales and labels, the segments' value labels and order, the design and the
        reporting rules (``min_base``, ``suppress_below``, ``alpha``, ``correction``,
        ``confidence``).
    banner : BannerSpec or str, optional
        A banner of ``study.banners`` or its name; default the first, or
        :func:`default_banner` when the study file has none.
    confidence : float, optional
        Level of the intervals; default ``reporting.confidence``.

    Returns
    -------
    BannerResult
        As :func:`banner_table`; ``settings`` also holds ``name``, ``title``, ``tests``.
        Items without a column in ``data`` (not asked in this wave) have no rows; a study
        without segments or rows gives empty tables.
    """
    spec = _pick(study, banner)
    rep = study.reporting
    # items the wave did not ask (no column in the data) have no rows
    rows = [
        r for r in banner_rows(study, spec) if isinstance(r, IndexRow) or r.item in data.columns
    ]
    cols = [c for e in spec.by for c in ([e] if isinstance(e, str) else e)]
    settings: dict[str, Any] = {
        "name": spec.name, "title": spec.title or spec.name, "tests": list(spec.tests),
        "correction": spec.correction or rep.correction,
        "alpha": spec.alpha if spec.alpha is not None else rep.alpha,
        "second_alpha": spec.second_alpha if "pairwise" in spec.tests else None,
        "confidence": confidence or rep.confidence,
        "min_base": rep.min_base, "suppress_below": rep.suppress_below,
        "weighted": study.is_weighted, "language": study.language,
    }  # fmt: skip
    if not rows or not cols or len(data) == 0:
        return BannerResult(
            pd.DataFrame(columns=BANNER_TABLE_COLUMNS),
            pd.DataFrame(columns=BANNER_TEST_COLUMNS),
            pd.DataFrame(columns=BANNER_PAIR_COLUMNS),
            {**settings, "design": ""},
        )
    labels = {c: study.segment(c).values for c in cols}
    result = banner_table(
        data,
        rows=rows,
        by=[e if isinstance(e, str) else list(e) for e in spec.by],
        design=study_design(study),
        hierarchy=study.hierarchy() if any(isinstance(r, IndexRow) for r in rows) else None,
        labels=labels,
        values={c: list(v) for c, v in labels.items()},
        correction=settings["correction"],
        alpha=settings["alpha"],
        second_alpha=settings["second_alpha"],
        confidence=settings["confidence"],
        min_base=rep.min_base,
        suppress_below=rep.suppress_below,
        omnibus="omnibus" in spec.tests,
    )
    t = result.table
    if "pairwise" not in spec.tests:
        t["letters"] = ""
        t["letters_second"] = ""
        result.pairs = result.pairs.iloc[0:0]
    result.settings = {**result.settings, **settings}
    # segment titles for the header
    titles = {}
    for e in spec.by:
        if isinstance(e, str):
            titles[e] = study.segment(e).title
        else:
            titles[f"{e[0]} > {e[1]}"] = (
                f"{study.segment(e[0]).title} × {study.segment(e[1]).title}"
            )
    t.insert(t.columns.get_loc("variable") + 1, "variable_label", t["variable"].map(titles))
    tests = result.tests
    tests.insert(
        tests.columns.get_loc("variable") + 1, "variable_label", tests["variable"].map(titles)
    )
    return result


def study_banners(
    data: pd.DataFrame, *, study: Study, wave: str | None = None
) -> list[tuple[BannerSpec, str | None, BannerResult]]:
    """Compute every banner of the study (or :func:`default_banner`) in the file's order.

    Returns ``(banner, wave or None, result)`` triples. A banner with ``by_wave`` gives one
    result per wave of ``data``; the others are computed on ``wave`` (default: all of
    ``data``).
    """
    specs = study.banners or [default_banner(study)]
    has_wave = study.wave_column in data.columns
    current = data[data[study.wave_column] == wave] if wave is not None and has_wave else data
    out: list[tuple[BannerSpec, str | None, BannerResult]] = []
    for spec in specs:
        if not spec.by_wave:
            out.append((spec, None, study_banner(current, study=study, banner=spec)))
        elif has_wave:
            waves = [w for w in study.waves if (data[study.wave_column] == w).any()]
            for w in waves:
                part = data[data[study.wave_column] == w]
                out.append((spec, w, study_banner(part, study=study, banner=spec)))
        else:
            out.append((spec, None, study_banner(data, study=study, banner=spec)))
    return out


def _pick(study: Study, banner: BannerSpec | str | None) -> BannerSpec:
    if isinstance(banner, BannerSpec):
        return banner
    specs = study.banners
    if banner is None:
        return specs[0] if specs else default_banner(study)
    for s in specs:
        if s.name == banner:
            return s
    raise KeyError(
        f"study_banner: no banner named {banner!r} in the study file "
        f"(banners: {[s.name for s in specs]})"
    )


# --------------------------------------------------------------------------------------
# Presentation: the footnote, the wide frame (workbook) and the styled HTML (report page)
# --------------------------------------------------------------------------------------
_CORRECTION_NAMES = {
    "holm": "Holm",
    "fdr_bh": "Benjamini-Hochberg (FDR)",
    "bonferroni": "Bonferroni",
}
#: the text-table key of each word of the design's description (:func:`_design_text`)
_DESIGN_WORDS = {
    "weighted": "banner.d_weighted",
    "stratified": "banner.d_stratified",
    "clustered": "banner.d_clustered",
    "simple random sample": "banner.d_srs",
}


def _design_words(design: str, language: str) -> str:
    """Return the design's description (``"weighted, stratified"``) in ``language``."""
    if not design:
        return design
    parts = [template(_DESIGN_WORDS[p], language) if p in _DESIGN_WORDS else p
             for p in design.split(", ")]  # fmt: skip
    return template("words.comma", language).join(parts)


def banner_footnote(result: BannerResult) -> str:
    """Return the banner's footnote (plain text).

    What the letters and colours mean, the test, its level(s) and correction, and the base
    rules of the flagged cells.
    """
    s = result.settings
    t = result.table
    lang = s.get("language", "en")
    code = s.get("correction", "none")
    corr = _CORRECTION_NAMES.get(code) or (
        template("banner.no_correction", lang) if code == "none" else code
    )
    tests = s.get("tests", ["pairwise", "total"])
    design = _design_words(s.get("design", ""), lang)
    parts = []
    if "pairwise" in tests:
        nested = t["outer_value"].ne("").any() if len(t) else False
        scope = template("banner.scope_nested" if nested else "banner.scope", lang)
        text = template("banner.letters", lang).format(scope=scope, alpha=f"{s['alpha']:g}")
        if s.get("second_alpha"):
            text += template("banner.letters_second", lang).format(alpha=f"{s['second_alpha']:g}")
        parts.append(
            template("banner.letters_test", lang).format(text=text, design=design, correction=corr)
        )
    if "total" in tests:
        parts.append(
            template("banner.colour", lang).format(alpha=f"{s['alpha']:g}", correction=corr)
        )
    flags = set(t["flag"]) if len(t) else set()
    if flags & {"low base", "one respondent"}:
        parts.append(template("banner.low", lang).format(mark=LOW_BASE, n=s["min_base"]))
    if flags & {"suppressed", "no respondents"}:
        parts.append(
            template("banner.suppressed", lang).format(mark=MISSING, n=s["suppress_below"])
        )
    if s.get("weighted"):
        parts.append(template("banner.weighted", lang))
    return template("words.space", lang).join(parts)


def _heads(t: pd.DataFrame, language: str = "en") -> list[tuple[str, str, str, str]]:
    """(column key, group title, value label, letter) of every banner column in order."""
    h = t.drop_duplicates(["variable", "column"])
    out, seen = [], set()
    for r in h.itertuples(index=False):
        key = (r.variable, r.column)
        if r.column == TOTAL:
            if TOTAL in seen:
                continue
            seen.add(TOTAL)
            out.append((TOTAL, "", template("cross.total", language), ""))
        else:
            title = getattr(r, "variable_label", None) or r.variable
            out.append(("|".join(key), str(title), str(r.value_label), r.letter))
    return out


def _keyed(t: pd.DataFrame) -> pd.DataFrame:
    return t.assign(_key=np.where(t["column"] == TOTAL, TOTAL, t["variable"] + "|" + t["column"]))


def banner_frame(result: BannerResult) -> pd.DataFrame:
    """Return the banner as a wide table for the workbook.

    One row per banner row (index "Row": its label; a ``unit`` column), per banner column an ``estimate`` (unrounded; the
    row's unit gives its format) and a ``sig`` column (the letters, or the flag mark), under
    a two-level header (banner variable, "value (letter)"); the first rows are the bases.

    Returns
    -------
    DataFrame
        MultiIndex columns ``(group, column, "estimate" | "sig")``; empty for an empty
        banner.
    """
    t = result.table
    lang = result.settings.get("language", "en")
    if t.empty:
        return pd.DataFrame(index=pd.Index([], name=template("cross.row", lang)))
    t = _keyed(t)
    heads = _heads(t, lang)
    rows = list(dict.fromkeys(t["label"]))
    unit = t.drop_duplicates("label").set_index("label")["unit"]
    cells = t.drop_duplicates(["label", "_key"]).set_index(["label", "_key"])
    first = t[t["row"] == t["row"].iloc[0]].drop_duplicates("_key").set_index("_key")
    data: dict[tuple, list] = {("", "", "unit"): ["count", "count"] + [unit[r] for r in rows]}
    for key, group, value, letter in heads:
        name = f"{value} ({letter})" if letter else value
        est, sig = [first.loc[key, "n"], first.loc[key, "n_effective"]], ["", ""]
        for r in rows:
            c = cells.loc[(r, key)] if (r, key) in cells.index else None
            if c is None:
                est.append(np.nan)
                sig.append("")
                continue
            est.append(c["estimate"])
            mark = (
                LOW_BASE if c["flag"] in ("low base", "one respondent") else
                MISSING if c["flag"] in ("suppressed", "no respondents") else ""
            )  # fmt: skip
            sig.append(mark or (c["letters"] + c["letters_second"]))
        data[(group, name, "estimate")] = est
        data[(group, name, "sig")] = sig
    bases = [template("cross.base_row", lang), template("cross.effective_row", lang)]
    frame = pd.DataFrame(data, index=pd.Index(bases + rows, name=template("cross.row", lang)))
    frame.columns = pd.MultiIndex.from_tuples(frame.columns)
    return frame


LOW_BASE = "†"
_CSS = (
    ".banner-wrap{overflow-x:auto;max-width:100%;margin-bottom:.4em}"
    ".banner{border-collapse:separate;border-spacing:0;font-variant-numeric:tabular-nums;"
    "font-size:.9em}"
    ".banner th,.banner td{padding:.25em .5em;border-bottom:1px solid #e1e4e8;"
    "text-align:right;white-space:nowrap;background:#fff}"
    ".banner thead th{vertical-align:bottom;background:#f6f8fa;white-space:normal;"
    "min-width:4.5em;max-width:9em}"
    ".banner thead th.group{text-align:center;border-bottom:1px solid #afb8c1}"
    ".banner th.row,.banner td.row{text-align:left;white-space:normal;min-width:16em;"
    "max-width:22em;position:sticky;left:0;z-index:1;border-right:1px solid #d0d7de}"
    ".banner thead th.row{background:#f6f8fa;z-index:2}"
    ".banner tr.base td{color:#57606a;font-size:.9em}"
    ".banner tr.first-index td{border-top:2px solid #afb8c1}"
    ".banner sup{font-weight:bold;margin-left:.15em}"
    f".banner td.above{{color:{GOOD_COLOUR};font-weight:bold}}"
    f".banner td.below{{color:{BAD_COLOUR};font-weight:bold}}"
    ".banner td.flag{color:#6e7781;font-style:italic}"
    ".banner caption{caption-side:top;text-align:left;font-weight:bold;padding-bottom:.4em}"
    ".banner-note{font-size:.85em;color:#57606a;max-width:60em}"
)


def _header_rows(heads: list[tuple[str, str, str, str]], t: pd.DataFrame) -> list[str]:
    """Return the HTML header rows of a banner (escaped).

    Row 1: the banner variables' titles over their columns; for a nested banner a row of
    the outer values over their inner columns; last: each column's value (and letter).
    """
    e = escape_html
    nested_keys = set(_keyed(t).loc[t["outer_value"].ne("").to_numpy(), "_key"])
    nested = bool(nested_keys)

    def spans(labels: list[str]) -> list[tuple[str, int]]:
        out: list[tuple[str, int]] = []
        for g in labels:
            if out and out[-1][0] == g:
                out[-1] = (g, out[-1][1] + 1)
            else:
                out.append((g, 1))
        return out

    depth = 3 if nested else 2
    rows = [f"<tr><th class='row' rowspan='{depth}'></th>"]
    rows[0] += "".join(
        f"<th class='group' colspan='{k}'>{e(g)}</th>" for g, k in spans([h[1] for h in heads])
    )
    rows[0] += "</tr>"
    values = [h[2] for h in heads]
    if nested:
        outer = [
            (h[1] + "\0" + h[2].split(" / ", 1)[0]) if h[0] in nested_keys else h[1] + "\0"
            for h in heads
        ]
        rows.append(
            "<tr>"
            + "".join(
                f"<th class='group' colspan='{k}'>{e(g.split(chr(0), 1)[1])}</th>"
                for g, k in spans(outer)
            )
            + "</tr>"
        )
        values = [h[2].split(" / ", 1)[1] if h[0] in nested_keys else h[2] for h in heads]
    cells = [
        f"<th>{e(v)}" + (f"<br>({e(h[3])})" if h[3] else "") + "</th>"
        for v, h in zip(values, heads, strict=True)
    ]
    rows.append("<tr>" + "".join(cells) + "</tr>")
    return rows


def banner_html(result: BannerResult, *, caption: str | None = None) -> str:
    """Return the banner as a styled HTML fragment for the report page.

    Letters as superscripts (lower case for the second level), cells significantly above /
    below Total in green / red, formatted numbers (shares as percentages, means with 2
    decimals, NPS in points), bases and effective bases in the header rows, and the
    footnote naming the test, level(s) and correction. Every text is escaped.
    """
    t = result.table
    if t.empty:
        return ""
    lang = result.settings.get("language", "en")
    t = _keyed(t)
    heads = _heads(t, lang)
    rows = list(dict.fromkeys(t["label"]))
    cells = t.drop_duplicates(["label", "_key"]).set_index(["label", "_key"])
    first = t[t["row"] == t["row"].iloc[0]].drop_duplicates("_key").set_index("_key")
    e = escape_html
    colour = "total" in result.settings.get("tests", ["total"])
    out = [f"<style>{_CSS}</style>", '<div class="banner-wrap"><table class="banner">']
    if caption:
        out.append(f"<caption>{e(caption)}</caption>")
    out.append("<thead>")
    out += _header_rows(heads, t)
    out.append("</thead><tbody>")
    base_rows = [(template("cross.base_row", lang), "n")]
    if result.settings.get("weighted"):
        base_rows.append((template("cross.effective_row", lang), "n_effective"))
    for name, col in base_rows:
        out.append(f"<tr class='base'><td class='row'>{e(name)}</td>")
        out += [f"<td>{e(fmt_value(first.loc[k, col], 'base'))}</td>" for k, *_ in heads]
        out.append("</tr>")
    units = t.drop_duplicates("label").set_index("label")["unit"]
    first_index = next((r for r in rows if units[r] == INDEX_UNIT), None)
    for r in rows:
        cls = " class='first-index'" if r == first_index and r != rows[0] else ""
        out.append(f"<tr{cls}><td class='row'>{e(r)}</td>")
        for key, *_ in heads:
            if (r, key) not in cells.index:
                out.append("<td></td>")
                continue
            c = cells.loc[(r, key)]
            if c["flag"] in ("suppressed", "no respondents"):
                out.append(f"<td class='flag'>{MISSING}</td>")
                continue
            text = e(fmt_value(c["estimate"], c["unit"]))
            if c["flag"]:
                out.append(f"<td class='flag'>{text} {LOW_BASE}</td>")
                continue
            sup = e(c["letters"]) + e(c["letters_second"])
            cls = (
                {"above": " class='above'", "below": " class='below'"}.get(
                    c["significant_total"], ""
                )
                if colour
                else ""
            )
            out.append(f"<td{cls}>{text}" + (f"<sup>{sup}</sup>" if sup else "") + "</td>")
        out.append("</tr>")
    out.append("</tbody></table></div>")
    out.append(f"<p class='banner-note'>{e(banner_footnote(result))}</p>")
    return "".join(out)


def banner_show(result: BannerResult, *, caption: str) -> dict:
    """Return the arguments of ``ctx.show`` for a banner.

    The wide table of :func:`banner_frame` for the workbook (estimates with the number
    format of their row, letters in a text column beside each), its footnote, and the
    styled page of :func:`banner_html`. Use as ``ctx.show(**banner_show(result,
    caption=...))``.
    """
    frame = banner_frame(result)
    cols = [c for c in frame.columns if c[-1] != "unit"]
    row = template("cross.row", result.settings.get("language", "en"))
    return {
        "table": frame,
        "columns": [("", "", row), *cols],
        "kinds": {c: "text" for c in cols if c[-1] == "sig"},
        "labels": {"estimate": "", "sig": ""},
        "caption": caption,
        "note": banner_footnote(result),
        "html": banner_html(result, caption=caption),
    }
