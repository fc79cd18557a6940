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
from scipy import stats

from ._checks import check_confidence, check_frame
from ._design import PreparedDesign, SurveyDesign, normal_quantile

__all__ = ["decompose_change", "decompose_changes", "wave_periods", "year_earlier", "NOT_KNOWN"]

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
    if isinstance(values.dtype, pd.CategoricalDtype):
        order = [str(c) for c in values.cat.categories]
    else:
        order = sorted({str(v) for v in values.dropna()})
    text = values.astype("string").fillna(NOT_KNOWN).to_numpy(dtype=object)
    seen = set(text)
    names = [c for c in order if c in seen] + ([NOT_KNOWN] if NOT_KNOWN in seen else [])
    codes = pd.Categorical(text, categories=names).codes
    return codes.astype(np.int64), names


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
    wv = data[wave].astype(str).to_numpy()
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
    parts = []
    for segment in segments:
        seg, names = _segment_codes(data[segment].iloc[pos])
        for kpi, columns in kpis.items():
            d = _decompose(prep, rows, in_b, w, seg, names, values, columns, wave_from, wave_to)
            d.insert(0, "kpi", kpi)
            d.insert(1, "segment_column", segment)
            parts.append(d)
    out = pd.concat(parts, ignore_index=True)
    q = normal_quantile(confidence)
    out["ci_low"] = out["estimate"] - q * out["se"]
    out["ci_high"] = out["estimate"] + q * out["se"]
    with np.errstate(invalid="ignore", divide="ignore"):
        zstat = out["estimate"] / out["se"].where(out["se"] > 0)
    out["p_value"] = 2 * stats.norm.sf(np.abs(zstat))
    order = ["kpi", "segment_column", "component", "segment", "estimate", "se", "ci_low",
             "ci_high", "p_value", "share_from", "share_to", "mean_from", "mean_to"]  # fmt: skip
    return out[order]


def _decompose(
    prep: PreparedDesign,
    rows: np.ndarray,
    in_b: np.ndarray,
    w: np.ndarray,
    seg: np.ndarray,
    names: list[str],
    values: Mapping[str, np.ndarray],
    columns: Mapping[str, float],
    wave_from: str,
    wave_to: str,
) -> pd.DataFrame:
    """Compute one KPI's decomposition over one segment column on the two waves' rows."""
    S = len(names)
    m_rows = len(rows)
    # components: 0 mix, 1 rate, then per segment: 2 + 2s mix_s, 3 + 2s rate_s
    K = 2 + 2 * S
    est = np.zeros(K)
    z = np.zeros((K, m_rows))
    share = np.full((2, S), np.nan)
    means = np.zeros((2, S))
    counts = np.zeros((2, S))
    wave_rows = (np.flatnonzero(~in_b), np.flatnonzero(in_b))
    own_mix = [np.zeros(len(r)) for r in wave_rows]
    own_rate = [np.zeros(len(r)) for r in wave_rows]
    a_mix: list[list[np.ndarray]] = [[], []]
    u_mix: list[list[np.ndarray]] = [[], []]
    a_rate: list[list[np.ndarray]] = [[], []]
    u_rate: list[list[np.ndarray]] = [[], []]
    for j, col in enumerate(columns):
        c = float(columns[col])
        y = values[col]
        valid = ~np.isnan(y)
        y0 = np.where(valid, y, 0.0)
        N = np.zeros((2, S))
        Y = np.zeros((2, S))
        for t, sel in enumerate((~in_b & valid, in_b & valid)):
            N[t] = np.bincount(seg[sel], weights=w[sel], minlength=S)
            Y[t] = np.bincount(seg[sel], weights=(w * y0)[sel], minlength=S)
        tot = N.sum(axis=1)
        if (tot <= 0).any():
            raise ValueError(
                f"decompose_change: column {col!r} has no answer in wave "
                f"{wave_from if tot[0] <= 0 else wave_to!r}"
            )
        p = N / tot[:, None]
        with np.errstate(invalid="ignore", divide="ignore"):
            m = np.where(N > 0, Y / np.where(N > 0, N, 1.0), np.nan)
        # a segment absent from one wave takes its mean from the other (its rate is 0)
        m = np.nan_to_num(np.where(np.isnan(m), m[::-1], m))
        mbar, dm = (m[0] + m[1]) / 2, m[1] - m[0]
        pbar, dp = (p[0] + p[1]) / 2, p[1] - p[0]
        M = (p * m).sum(axis=1)  # the column's mean in each wave
        Mbar = M.mean()
        mix_s, rate_s = (mbar - Mbar) * dp, pbar * dm  # centred mix: sums to the total mix
        est[0] += c * mix_s.sum()
        est[1] += c * rate_s.sum()
        est[2::2] += c * mix_s
        est[3::2] += c * rate_s
        if j == 0:
            share = p
        means += c * m
        counts += N > 0
        # influence values, per wave t (sign: +1 for b, -1 for a). With dshare_s =
        # w (1{s} - p_s) / N and dmean the row's influence on its own segment's mean:
        # mix_s = (mbar_s - Mbar) dp_s: d = (dmean_s / 2 - dMbar) dp_s
        #   + (mbar_s - Mbar) sign dshare_s;  rate_s = pbar_s dm_s: d = dshare_s dm_s / 2
        #   + pbar_s sign dmean_s. Each is an own-segment term plus outer products, summed
        #   over the columns as one matrix product per wave below.
        for t, sign in ((0, -1.0), (1, 1.0)):
            r = wave_rows[t]
            ok = valid[r]
            sr, wr, yr = seg[r], w[r], y0[r]
            Nst = np.where(N[t] > 0, N[t], 1.0)
            dmean = np.where(ok, wr * (yr - m[t][sr]) / Nst[sr], 0.0)
            wn = np.where(ok, wr / tot[t], 0.0)
            dM = np.where(ok, wr * (yr - M[t]) / tot[t] / 2, 0.0)
            cen = mbar - Mbar
            own_mix[t] += c * (dp[sr] / 2 * dmean + sign * cen[sr] * wn)
            own_rate[t] += c * (wn * dm[sr] / 2 + sign * pbar[sr] * dmean)
            a_mix[t] += [-c * dp, -c * sign * cen * p[t]]
            u_mix[t] += [dM, wn]
            a_rate[t].append(-c * p[t] * dm / 2)
            u_rate[t].append(wn)
    for t in (0, 1):
        r = wave_rows[t]
        if len(r) == 0:
            continue
        zm = np.column_stack(a_mix[t]) @ np.vstack(u_mix[t])
        zr = np.column_stack(a_rate[t]) @ np.vstack(u_rate[t])
        idx = (seg[r], np.arange(len(r)))
        np.add.at(zm, idx, own_mix[t])
        np.add.at(zr, idx, own_rate[t])
        z[2::2, r] = zm
        z[3::2, r] = zr
        z[0, r] = zm.sum(axis=0)
        z[1, r] = zr.sum(axis=0)
    var = _total_var(prep, rows, np.vstack([z[0] + z[1], z]))
    comp = ["change", "mix", "rate"] + ["mix", "rate"] * S
    segs = ["", "", ""] + [n for n in names for _ in range(2)]
    out = pd.DataFrame(
        {
            "component": comp,
            "segment": segs,
            "estimate": np.r_[est[0] + est[1], est],
            "se": np.sqrt(var),
        }  # fmt: skip
    )
    k = np.r_[np.full(3, -1), np.repeat(np.arange(S), 2)]
    has = k >= 0
    for col, arr in (("share_from", share[0]), ("share_to", share[1])):
        out[col] = np.where(has, arr[np.maximum(k, 0)], np.nan)
    for col, t in (("mean_from", 0), ("mean_to", 1)):
        seen = np.where(counts[t] > 0, means[t], np.nan)
        out[col] = np.where(has, seen[np.maximum(k, 0)], np.nan)
    return out
