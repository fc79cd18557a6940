"""Why did a KPI move? Mix and rate components of a change between two waves.

A KPI that is a weighted mean (a mean rating, a top-2-box share, NPS as the mean of a
+100/0/-100 score) or a fixed linear combination of such means (the CSI and its areas:
``sum_i c_i xbar_i + c_0``) is, in each wave, the segment shares times the segments' own
means: ``xbar_t = sum_s p_st m_st``. Its change from wave ``a`` to wave ``b`` splits
exactly into

* **mix**: ``sum_s (p_sb - p_sa) (m_sa + m_sb) / 2`` - the segment composition changed;
* **rate**: ``sum_s (p_sa + p_sb) / 2 (m_sb - m_sa)`` - the segments' own scores changed

(the symmetric Kitagawa / Das Gupta split: no interaction term is left over). Both are
smooth functions of domain totals, so their standard errors come from Taylor
linearisation: each respondent's influence value is the gradient of the component with
respect to the totals, applied to the respondent's contributions, and its design variance
is that of R ``survey``'s ``svycontrast`` of the totals (with-replacement, ultimate
cluster, over the whole design, so strata shared by the waves are respected).

Respondents whose segment is missing count as a segment of their own ("not known"), so the
components always add up to the KPI's change.

Wave periods: :func:`wave_periods` reads a wave's year and quarter, month or half from its
code or label (``2024Q1``, ``Q1 2024``, ``2024-03``, ``2024 H1``, ``2024``), and
:func:`year_earlier` pairs each wave with the wave one year before it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import sparse, stats

from ._checks import check_confidence, check_frame
from ._design import PreparedDesign, SurveyDesign, normal_quantile

__all__ = [
    "decompose_change",
    "decompose_changes",
    "wave_periods",
    "wave_text",
    "year_earlier",
    "NOT_KNOWN",
]

#: the segment of respondents whose segment value is missing
NOT_KNOWN = "(not known)"

_QUARTER = [
    re.compile(r"(?P<y>(?:19|20)\d\d)\s*[-_/ ]?\s*Q(?P<p>[1-4])", re.I),
    re.compile(r"Q(?P<p>[1-4])\s*[-_/' ]?\s*(?P<y>(?:19|20)\d\d)", re.I),
]
_HALF = [
    re.compile(r"(?P<y>(?:19|20)\d\d)\s*[-_/ ]?\s*H(?P<p>[12])", re.I),
    re.compile(r"H(?P<p>[12])\s*[-_/' ]?\s*(?P<y>(?:19|20)\d\d)", re.I),
]
_MONTH = [re.compile(r"^(?P<y>(?:19|20)\d\d)\s*[-_/.]?\s*(?P<p>0[1-9]|1[0-2])$")]
_YEAR = [re.compile(r"^(?:FY\s*)?(?P<y>(?:19|20)\d\d)$", re.I)]
_KINDS = (("quarter", 4, _QUARTER), ("half", 2, _HALF), ("month", 12, _MONTH), ("year", 1, _YEAR))


def _period(text: str) -> tuple[str, int, int] | None:
    for kind, _, patterns in _KINDS:
        for pat in patterns:
            m = pat.search(text.strip())
            if m:
                part = int(m.group("p")) if "p" in m.groupdict() else 1
                return kind, int(m.group("y")), part
    return None


def wave_periods(waves: Sequence[str], labels: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Read each wave's period (year and quarter, half, month) from its code or label.

    Parameters
    ----------
    waves : sequence of str
        Wave codes in time order.
    labels : mapping, optional
        Wave code -> label; a code that does not read as a period is tried by its label.

    Returns
    -------
    DataFrame
        One row per wave: ``wave``, ``kind`` ("quarter", "half", "month", "year" or ""),
        ``year``, ``part`` (quarter, half or month number; 1 for a year), ``per_year``
        (waves of that kind in a year; 0 when the wave reads as no period).

    Examples
    --------
    >>> wave_periods(["2024Q4", "w2"], {"w2": "Q1 2025"})[["wave", "kind", "year", "part"]]
         wave     kind  year  part
    0  2024Q4  quarter  2024     4
    1      w2  quarter  2025     1
    """
    per = {kind: n for kind, n, _ in _KINDS}
    rows = []
    for w in waves:
        found = _period(str(w)) or _period(str((labels or {}).get(w, "")))
        kind, year, part = found if found else ("", 0, 0)
        rows.append({"wave": str(w), "kind": kind, "year": year, "part": part,
                     "per_year": per.get(kind, 0)})  # fmt: skip
    return pd.DataFrame(rows, columns=["wave", "kind", "year", "part", "per_year"])


def year_earlier(
    waves: Sequence[str],
    labels: Mapping[str, str] | None = None,
    *,
    per_year: int | None = None,
) -> dict[str, str]:
    """Pair each wave with the wave one year before it, where the study has one.

    With ``per_year`` (the study file's ``trend.waves_per_year``) the wave ``per_year``
    places earlier in the order. Otherwise every wave must read as a period of the same
    kind (:func:`wave_periods`), and the wave of the same part of the previous year is
    taken; waves that do not all read as periods of one kind give no pairs.

    Parameters
    ----------
    waves : sequence of str
        Wave codes in time order.
    labels : mapping, optional
        Wave code -> label.
    per_year : int, optional
        Waves per year, evenly spaced.

    Returns
    -------
    dict
        Wave -> the wave a year earlier, for the waves that have one (may be empty).

    Examples
    --------
    >>> year_earlier(["2024Q1", "2024Q2", "2024Q3", "2024Q4", "2025Q1"])
    {'2025Q1': '2024Q1'}
    >>> year_earlier(["a", "b", "c"], per_year=2)
    {'c': 'a'}
    """
    waves = [str(w) for w in waves]
    if per_year is not None:
        if int(per_year) < 1:
            raise ValueError(f"year_earlier: per_year must be 1 or more, got {per_year!r}")
        return {w: waves[k - per_year] for k, w in enumerate(waves) if k >= per_year}
    p = wave_periods(waves, labels)
    if p.empty or (p["kind"] == "").any() or p["kind"].nunique() != 1:
        return {}
    at = {(int(r.year), int(r.part)): r.wave for r in p.itertuples()}
    out = {}
    for r in p.itertuples():
        before = at.get((int(r.year) - 1, int(r.part)))
        if before is not None:
            out[r.wave] = before
    return out


def _segment_codes(values: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Code the segments: a categorical's order, else sorted; "not known" last."""
    if isinstance(values.dtype, pd.CategoricalDtype):  # from the codes: no text per row
        cats = [str(c) for c in values.cat.categories]
        raw = values.cat.codes.to_numpy().astype(np.int64)
        known = np.bincount(raw[raw >= 0], minlength=len(cats)) > 0
        if len(set(cats)) == len(cats) and NOT_KNOWN not in cats:
            keep = np.flatnonzero(known)
            remap = np.full(len(cats) + 1, len(keep), dtype=np.int64)  # -1: not known, last
            remap[keep] = np.arange(len(keep))
            names = [cats[k] for k in keep] + ([NOT_KNOWN] if (raw < 0).any() else [])
            return remap[raw], names
    # each distinct value turned into text once, then spread over the rows by its code
    raw, uniq = pd.factorize(values)
    if isinstance(values.dtype, pd.CategoricalDtype):
        order = [str(c) for c in values.cat.categories]
    else:
        order = sorted({str(v) for v in uniq})
    utext = list(pd.Series(np.asarray(uniq, dtype=object)).astype("string"))
    seen = set(utext) | ({NOT_KNOWN} if (raw < 0).any() else set())
    names = [c for c in order if c in seen] + ([NOT_KNOWN] if NOT_KNOWN in seen else [])
    at = {c: k for k, c in enumerate(names)}
    of_unique = np.array([at.get(t, -1) for t in utext] + [at.get(NOT_KNOWN, -1)], dtype=np.int64)
    return of_unique[raw], names


def wave_text(values: pd.Series) -> np.ndarray:
    """Return a wave column as text (object array; missing as ``"nan"``), cheaply.

    A categorical column is turned into text through its categories, not row by row.
    """
    if isinstance(values.dtype, pd.CategoricalDtype):
        cats = np.array([str(c) for c in values.cat.categories] + ["nan"], dtype=object)
        return cats[values.cat.codes.to_numpy()]
    return values.astype(str).to_numpy()


def decompose_change(
    data: pd.DataFrame,
    *,
    columns: Mapping[str, float],
    segment: str,
    wave: str,
    wave_from: str,
    wave_to: str,
    design: SurveyDesign | None = None,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Split the change of a KPI between two waves into mix and rate, with design-based CIs.

    The KPI is ``sum_i c_i xbar_i`` over the ``columns`` (column -> coefficient ``c_i``),
    each ``xbar_i`` the weighted mean of column ``i`` over the rows that answered it.
    Within each column the change splits over the segments (see the module notes); the
    components are summed over the columns with their coefficients.

    Parameters
    ----------
    data : DataFrame
        One row per respondent, every wave (the design is the whole sample's).
    columns : mapping
        Numeric column -> coefficient; e.g. ``{"osat": 1.0}`` for a mean, an indicator of
        the top box times 1 for a share, the CSI's path weights times ``100 / range``.
    segment : str
        The column whose composition may have changed (customer type, region ...).
    wave : str
        The wave column.
    wave_from, wave_to : str
        The two waves compared.
    design : SurveyDesign, optional
        Weights, strata, clusters (None: a simple random sample).
    confidence : float
        Level of the normal intervals.

    Returns
    -------
    DataFrame
        One row per component: ``component`` ("change", "mix", "rate"), ``segment``
        (the segment value; ``""`` for the totals), ``estimate`` (in the KPI's unit),
        ``se``, ``ci_low``, ``ci_high``, ``p_value`` (normal, two-sided), ``share_from``
        and ``share_to`` (the segment's weighted share of the first column's answers),
        ``mean_from`` and ``mean_to`` (its KPI in each wave; NaN where it has no
        answers). The totals come first (change, mix, rate); then every segment's mix
        and rate piece; the pieces add up to the totals and mix + rate = change. A
        segment's mix piece is centred, ``((m_sa + m_sb) / 2 - (M_a + M_b) / 2)
        (p_sb - p_sa)``: a segment that grew adds to the KPI only if it scores above the
        average (the centring changes no total, as the shares' changes sum to 0).

    References
    ----------
    Kitagawa, E. M. (1955). Components of a difference between two rates. *JASA*,
    50(272), 1168-1194. Das Gupta, P. (1993). *Standardization and decomposition of
    rates*. US Bureau of the Census. Binder, D. A. (1983). On the variances of
    asymptotically normal estimators from complex surveys. *International Statistical
    Review*, 51(3), 279-292 (linearisation).

    Examples
    --------
    Two segments, unweighted. Wave a: segment x has 2 rows of mean 4, y 2 rows of mean 2
    (KPI 3). Wave b: x 3 rows of mean 4, y 1 row of mean 3 (KPI 3.75). Mix =
    (0.75 - 0.5) (4 + 4) / 2 + (0.25 - 0.5) (2 + 3) / 2 = 0.375; rate =
    0.625 (4 - 4) + 0.375 (3 - 2) = 0.375; together the change of 0.75.

    >>> d = pd.DataFrame({"w": ["a"] * 4 + ["b"] * 4, "s": list("xxyy") + list("xxxy"),
    ...                   "y": [4, 4, 1, 3, 4, 3, 5, 3]})
    >>> r = decompose_change(d, columns={"y": 1.0}, segment="s", wave="w",
    ...                      wave_from="a", wave_to="b")
    >>> r[["component", "segment", "estimate"]].round(3)
      component segment  estimate
    0    change             0.750
    1       mix             0.375
    2      rate             0.375
    3       mix       x     0.156
    4      rate       x     0.000
    5       mix       y     0.219
    6      rate       y     0.375
    """
    check_frame(data, "decompose_change")
    confidence = check_confidence(confidence, "decompose_change")
    out = decompose_changes(
        data,
        kpis={"kpi": columns},
        segments=[segment],
        wave=wave,
        wave_from=wave_from,
        wave_to=wave_to,
        design=design,
        confidence=confidence,
    )
    return out.drop(columns=["kpi", "segment_column"]).reset_index(drop=True)


def _total_var(prep: PreparedDesign, rows: np.ndarray, Z: np.ndarray) -> np.ndarray:
    """Return the design variance of the totals of the rows of ``Z`` (one row per statistic).

    ``Z`` holds influence values on the ``rows`` only (every other row is 0): the same
    with-replacement ultimate-cluster variance as :meth:`Groups.var` on the whole design, at
    the cost of the non-zero rows.
    """
    H = prep.n_strata
    if prep.psu is None or prep.psu_stratum is None:
        t, cell = Z, prep.stratum[rows]
    else:
        gp, uniq = pd.factorize(prep.psu[rows])
        t = np.stack([np.bincount(gp, weights=z, minlength=len(uniq)) for z in Z])
        cell = prep.psu_stratum[np.asarray(uniq, dtype=np.int64)]
    S = np.stack([np.bincount(cell, weights=z * z, minlength=H) for z in t])
    T = np.stack([np.bincount(cell, weights=z, minlength=H) for z in t])
    c = prep.scale
    ok = ~prep.lonely
    v = ((S[:, ok] - T[:, ok] ** 2 / prep.n_psu[ok]) * c[ok]).sum(axis=1)
    if prep.lonely.any() and prep.lonely_psu == "adjust":
        centre = T.sum(axis=1, keepdims=True) / prep.n_psus
        v = v + ((T[:, prep.lonely] - centre) ** 2 * c[prep.lonely]).sum(axis=1)
    return np.maximum(v, 0.0)


def decompose_changes(
    data: pd.DataFrame,
    *,
    kpis: Mapping[str, Mapping[str, float]],
    segments: Sequence[str],
    wave: str,
    wave_from: str,
    wave_to: str,
    design: SurveyDesign | None = None,
    confidence: float = 0.95,
    sample: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Split the change of several KPIs over several segment columns (one design pass).

    As :func:`decompose_change` for every KPI and segment column; the design is validated
    once and the variances cost only the two waves' rows.

    Parameters
    ----------
    data : DataFrame
        One row per respondent, every wave.
    kpis : mapping
        KPI name -> its ``columns`` mapping (column -> coefficient).
    segments : sequence of str
        Segment columns.
    wave, wave_from, wave_to, design, confidence
        As :func:`decompose_change`.
    sample : DataFrame, optional
        The whole sample, whose design the variances use, when ``data`` holds only some of
        its rows (e.g. the two waves; same index labels, unique): the KPI columns need then
        be derived for those rows only. None: ``data`` is the whole sample.

    Returns
    -------
    DataFrame
        :func:`decompose_change`'s rows with ``kpi`` and ``segment_column`` in front.
    """
    check_frame(data, "decompose_changes")
    confidence = check_confidence(confidence, "decompose_changes")
    cols = list(dict.fromkeys(c for m in kpis.values() for c in m))
    missing = [c for c in [*cols, *segments, wave] if c not in data.columns]
    if missing:
        raise KeyError(f"decompose_change: data have no column(s) {missing}")
    empty = [k for k, m in kpis.items() if not m]
    if empty or not kpis:
        raise ValueError("decompose_change: give at least one column")
    wv = wave_text(data[wave])
    for code in (wave_from, wave_to):
        if not (wv == str(code)).any():
            raise ValueError(f"decompose_change: no respondent in wave {code!r} of column {wave!r}")
    whole = data if sample is None else sample
    prep = (design or SurveyDesign()).prepare(whole, func="decompose_change")
    pos = np.flatnonzero((wv == str(wave_from)) | (wv == str(wave_to)))
    if sample is None:
        rows = pos
    else:
        if not sample.index.is_unique:
            raise ValueError("decompose_change: the sample's index must be unique")
        rows = sample.index.get_indexer(data.index[pos])
        if (rows < 0).any():
            raise ValueError("decompose_change: data hold rows that are not in the sample")
    in_b = wv[pos] == str(wave_to)
    w = prep.w[rows]
    values = {c: pd.to_numeric(data[c].iloc[pos], errors="coerce").to_numpy(float) for c in cols}
    coded = {s: _segment_codes(data[s].iloc[pos]) for s in segments}
    cells = {s: _cells(in_b, *coded[s]) for s in segments}  # shared by the KPIs
    parts: dict[tuple[str, str], pd.DataFrame] = {}
    for kpi, columns in kpis.items():  # each KPI's statistics once, for every segment column
        X = _kpi_matrix(values, columns, w)
        for segment in segments:
            names = coded[segment][1]
            d = _decompose(prep, rows, cells[segment], X, names, columns, wave_from, wave_to)
            d.insert(0, "kpi", kpi)
            d.insert(1, "segment_column", segment)
            parts[segment, kpi] = d
        del X
    out = pd.concat([parts[s, k] for s in segments for k in kpis], ignore_index=True)
    q = normal_quantile(confidence)
    out["ci_low"] = out["estimate"] - q * out["se"]
    out["ci_high"] = out["estimate"] + q * out["se"]
    with np.errstate(invalid="ignore", divide="ignore"):
        zstat = out["estimate"] / out["se"].where(out["se"] > 0)
    out["p_value"] = 2 * stats.norm.sf(np.abs(zstat))
    order = ["kpi", "segment_column", "component", "segment", "estimate", "se", "ci_low",
             "ci_high", "p_value", "share_from", "share_to", "mean_from", "mean_to"]  # fmt: skip
    return out[order]


def _kpi_matrix(
    values: Mapping[str, np.ndarray], columns: Mapping[str, float], w: np.ndarray
) -> np.ndarray:
    """Return each row's sufficient statistics of the KPI's columns: ``[w 1{answered}, w y]``.

    One ``(rows, 2 J)`` matrix for the ``J`` columns (weights of the rows that answered
    column ``j`` in column ``j``, their weighted scores in column ``J + j``; 0 elsewhere).
    """
    J = len(columns)
    X = np.zeros((len(w), 2 * J))
    for j, col in enumerate(columns):
        y = values[col]
        valid = ~np.isnan(y)
        X[:, j] = np.where(valid, w, 0.0)
        X[:, J + j] = np.where(valid, w * np.where(valid, y, 0.0), 0.0)
    return X


def _cells(
    in_b: np.ndarray, seg: np.ndarray, names: list[str]
) -> tuple[np.ndarray, sparse.csr_matrix, np.ndarray, np.ndarray]:
    """Return each row's wave x segment cell, their indicator matrix, the rows by cell.

    The cell is ``wave * S + segment`` (wave 0 the first, 1 the second); the rows in cell
    order and where each cell starts in it (``2 S + 1`` bounds).
    """
    S, n = len(names), len(seg)
    g = in_b.astype(np.int64) * S + seg
    onehot = sparse.csr_matrix((np.ones(n), (g, np.arange(n))), shape=(2 * S, n))
    order = np.argsort(g, kind="stable")
    bounds = np.searchsorted(g[order], np.arange(2 * S + 1))
    return g, onehot, order, bounds


def _decompose(
    prep: PreparedDesign,
    rows: np.ndarray,
    cells: tuple[np.ndarray, sparse.csr_matrix, np.ndarray, np.ndarray],
    X: np.ndarray,
    names: list[str],
    columns: Mapping[str, float],
    wave_from: str,
    wave_to: str,
) -> pd.DataFrame:
    """Compute one KPI's decomposition over one segment column on the two waves' rows.

    ``X`` is :func:`_kpi_matrix` of the KPI. Every estimate comes from the weighted counts
    and sums per wave x segment cell (``X`` summed over the cell's rows); every row's
    influence value on a component is linear in the row's ``X``, with coefficients that
    depend only on its cell, so the influence values of all components are one product
    per cell (``coefficients @ X_cell.T``), and their design variance that of
    :func:`_total_var` (with a calibrated design's residuals, :meth:`PreparedDesign.vcov`).
    """
    S, J = len(names), len(columns)
    n = len(rows)
    c = np.array([float(v) for v in columns.values()])
    _, onehot, order, bounds = cells  # cell: wave (0 from, 1 to) x segment (:func:`_cells`)
    C = np.asarray(onehot @ X).reshape(2, S, 2 * J)
    N, Y = C[:, :, :J], C[:, :, J:]
    tot = N.sum(axis=1)  # (2, J)
    bad = np.flatnonzero((tot <= 0).any(axis=0))
    if len(bad):
        j = int(bad[0])
        raise ValueError(
            f"decompose_change: column {list(columns)[j]!r} has no answer in wave "
            f"{wave_from if tot[0, j] <= 0 else wave_to!r}"
        )
    p = N / tot[:, None, :]
    with np.errstate(invalid="ignore", divide="ignore"):
        m = np.where(N > 0, Y / np.where(N > 0, N, 1.0), np.nan)
    # a segment absent from one wave takes its mean from the other (its rate is 0)
    m = np.nan_to_num(np.where(np.isnan(m), m[::-1], m))
    mbar, dm = (m[0] + m[1]) / 2, m[1] - m[0]  # (S, J)
    pbar, dp = (p[0] + p[1]) / 2, p[1] - p[0]
    M = (p * m).sum(axis=1)  # (2, J): the column's mean in each wave
    cen = mbar - M.mean(axis=0)  # centred mix: sums to the total mix
    mix_s, rate_s = cen * dp, pbar * dm
    K = 3 + 2 * S  # change, mix, rate, then per segment mix_s, rate_s
    est = np.zeros(K)
    est[1], est[2] = (mix_s @ c).sum(), (rate_s @ c).sum()
    est[0] = est[1] + est[2]
    est[3::2], est[4::2] = mix_s @ c, rate_s @ c
    # influence values. For a row of wave t (sign -1 for the first, +1 for the second) in
    # segment s with statistics (xw, xy) in column j: dmean = (xy - m_ts xw) / N_ts,
    # wn = xw / tot_t, dM = (xy - M_t xw) / (2 tot_t); mix_k = cen_k dp_k moves by
    # (dmean_k / 2 - dM) dp_k + cen_k sign dshare_k, rate_k = pbar_k dm_k by
    # dshare_k dm_k / 2 + pbar_k sign dmean_k, dshare_k = wn (1{s = k} - p_tk).
    A = np.zeros((2, S, K, 2 * J))
    eye = np.eye(S)
    for t, sign in ((0, -1.0), (1, 1.0)):
        Nst = np.where(N[t] > 0, N[t], 1.0)  # (S, J)
        # outer terms, the same for every segment s of the row: (k, j)
        mix_w = c * (dp * M[t] / (2 * tot[t]) - sign * cen * p[t] / tot[t])
        mix_y = -c * dp / (2 * tot[t])
        rate_w = -c * p[t] * dm / (2 * tot[t])
        # own-segment terms (k = s): (s, j)
        own_mix_w = c * (-dp / 2 * m[t] / Nst + sign * cen / tot[t])
        own_mix_y = c * dp / 2 / Nst
        own_rate_w = c * (dm / (2 * tot[t]) - sign * pbar * m[t] / Nst)
        own_rate_y = c * sign * pbar / Nst
        Am = A[t, :, 3::2]  # (s, k, 2J)
        Ar = A[t, :, 4::2]
        Am[:, :, :J] = mix_w[None] + eye[:, :, None] * own_mix_w[:, None, :]
        Am[:, :, J:] = mix_y[None] + eye[:, :, None] * own_mix_y[:, None, :]
        Ar[:, :, :J] = rate_w[None] + eye[:, :, None] * own_rate_w[:, None, :]
        Ar[:, :, J:] = eye[:, :, None] * own_rate_y[:, None, :]
    A[:, :, 1] = A[:, :, 3::2].sum(axis=2)
    A[:, :, 2] = A[:, :, 4::2].sum(axis=2)
    A[:, :, 0] = A[:, :, 1] + A[:, :, 2]
    Z = np.zeros((K, n))
    for cell in range(2 * S):
        at = order[bounds[cell] : bounds[cell + 1]]
        if len(at):
            Z[:, at] = A[cell // S, cell % S] @ X[at].T
    var = _total_var(prep, rows, Z)
    if getattr(prep, "cal", None) is not None and getattr(prep, "rep", None) is None:
        # raked / calibrated weights: add what the calibration residuals change, from the
        # design's sums over the compared waves' rows (as the banners do)
        var = np.maximum(var + np.diag(prep.calibration_correction_rows(rows, Z.T)), 0.0)
    comp = ["change", "mix", "rate"] + ["mix", "rate"] * S
    segs = ["", "", ""] + [nm for nm in names for _ in range(2)]
    out = pd.DataFrame({"component": comp, "segment": segs, "estimate": est, "se": np.sqrt(var)})
    share = p[:, :, 0]
    means = np.einsum("tsj,j->ts", m, c)
    counts = (N > 0).sum(axis=2)
    k = np.r_[np.full(3, -1), np.repeat(np.arange(S), 2)]
    has = k >= 0
    for col, arr in (("share_from", share[0]), ("share_to", share[1])):
        out[col] = np.where(has, arr[np.maximum(k, 0)], np.nan)
    for col, t in (("mean_from", 0), ("mean_to", 1)):
        seen = np.where(counts[t] > 0, means[t], np.nan)
        out[col] = np.where(has, seen[np.maximum(k, 0)], np.nan)
    return out
