"""Operational linkage both ways: per wave with lags, and per respondent (30-trend).

*Per wave*: the operations file of the study (``data.operations``, one row per wave and
cell) is linked to the areas' indices by :func:`analysis_helpers.trend_report.operational_links`;
:func:`lag_operations` adds each metric one and two waves earlier, so that a metric that
acts with a delay (a waiting-time problem in one quarter, lower satisfaction the next) is
linked too.

*Per respondent*: an operational file with one row per customer (``data.respondent_
operations``: e.g. the minutes a customer last waited on the hotline, a repair time, a
bill-shock flag) is joined to the respondents by their id (:func:`join_operations`: ids
of the file that match no respondent and respondents without a record are counted and
reported, never silently dropped). Then, for each metric:

* the **satisfaction curve by operational bands** (:func:`band_curve`): the design-based
  mean of the outcome in quantile bands of the metric;
* the **threshold** where satisfaction starts to drop (:func:`threshold_fit`): a segmented
  ("hinge") regression, flat up to the threshold and linear after it, fitted by weighted
  least squares over a grid of candidate thresholds, with a bootstrap interval;
* the **correlation** with its interval (:func:`design_correlation`): the survey-weighted
  Pearson correlation, its design-based standard error by linearisation and a Fisher-z
  interval.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from ._checks import check_columns, check_confidence, numeric_values
from ._design import SurveyDesign, normal_quantile, setup
from .estimation import survey_mean
from .formatting import fmt_ci, fmt_p
from .safe_output import Md
from .study import Study
from .study_tables import study_design

__all__ = [
    "lag_operations",
    "join_operations",
    "join_report_sentence",
    "join_study_operations",
    "respondent_outcome",
    "band_curve",
    "threshold_fit",
    "design_correlation",
    "respondent_links",
    "respondent_takeaway",
]


def lag_operations(
    operations: pd.DataFrame, *, study: Study, lags: Sequence[int] = (1, 2)
) -> pd.DataFrame:
    """Add each metric of a per-wave operations table as it was ``lag`` waves earlier.

    Parameters
    ----------
    operations : DataFrame
        :func:`~analysis_helpers.io.read_operations` output: the wave column, text key
        columns (e.g. region) and numeric metric columns.
    study : Study
        The waves in time order.
    lags : sequence of int
        Lags in waves (each >= 1).

    Returns
    -------
    DataFrame
        A copy with a column ``"<metric> (lag k)"`` per metric and lag: the metric of the
        same cell ``k`` waves earlier (missing for the first ``k`` waves).

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> s = SimpleNamespace(wave_column="wave", waves=["Q1", "Q2", "Q3"])
    >>> ops = pd.DataFrame({"wave": ["Q1", "Q2", "Q3"], "wait": [2.0, 4.0, 3.0]})
    >>> lag_operations(ops, study=s, lags=[1])["wait (lag 1)"].tolist()
    [nan, 2.0, 4.0]
    """
    wave = study.wave_column
    if wave not in operations.columns:
        raise KeyError(f"lag_operations: the operations table has no wave column {wave!r}")
    bad = [k for k in lags if not isinstance(k, int | np.integer) or k < 1]
    if bad:
        raise ValueError(f"lag_operations: lags must be whole numbers >= 1, got {bad}")
    metrics = [
        c for c in operations.columns if c != wave and pd.api.types.is_numeric_dtype(operations[c])
    ]
    keys = [c for c in operations.columns if c not in metrics and c != wave]
    rank = {w: k for k, w in enumerate(study.waves)}
    out = operations.copy()
    pos = out[wave].astype(str).map(rank)
    for k in lags:
        earlier = out[[*keys, *metrics]].assign(_pos=pos + k)
        earlier = earlier.rename(columns={m: f"{m} (lag {k})" for m in metrics})
        merged = out[keys].assign(_pos=pos).merge(earlier, on=[*keys, "_pos"], how="left")
        for m in metrics:
            out[f"{m} (lag {k})"] = merged[f"{m} (lag {k})"].to_numpy()
    return out


def join_operations(
    data: pd.DataFrame,
    operations: pd.DataFrame,
    *,
    id: str,
    ops_id: str,
    excluded: Sequence[str] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Join a per-customer operational table to the respondents by their id.

    Ids are compared as text (trimmed). Every respondent is kept (those without a record
    get missing metrics); records whose id matches no respondent are counted.

    Parameters
    ----------
    data : DataFrame
        One row per respondent, with the id column ``id``.
    operations : DataFrame
        One row per customer: the id column ``ops_id`` (unique) and metric columns.
    id, ops_id : str
        The id columns of ``data`` and of ``operations``.
    excluded : sequence of str, optional
        Ids of respondents the cleaning step excluded: records of theirs are counted as
        ``excluded_respondents``, apart from the ids that are not in the survey at all.
        None: not known (every unmatched record is an ``unknown_ids``).

    Returns
    -------
    (joined, report) : tuple of DataFrame
        ``joined``: ``data`` with the metric columns added (same rows, same order).
        ``report``: one row per count, columns ``what`` and ``n``: ``records`` (rows of
        the file), ``matched`` (respondents with a record), ``unknown_ids`` (records whose
        id matches no respondent), ``without_record`` (respondents without a record); its
        ``attrs["unknown_examples"]`` lists up to five unknown ids.

    Raises
    ------
    KeyError
        An id column is missing.
    ValueError
        The operations table repeats an id, or a metric column is also a column of
        ``data``.
    """
    func = "join_operations"
    check_columns(data, [id], "id", func)
    check_columns(operations, [ops_id], "id", func)
    metrics = [c for c in operations.columns if c != ops_id]
    clash = [c for c in metrics if c in data.columns]
    if clash:
        raise ValueError(f"{func}: metric column(s) {clash} are already columns of the survey data")
    keys = operations[ops_id].astype(str).str.strip()
    dup = keys[keys.duplicated(keep=False)]
    if len(dup):
        raise ValueError(
            f"{func}: id {dup.iloc[0]!r} appears {int((keys == dup.iloc[0]).sum())} times"
        )
    ids = data[id].astype(str).str.strip()
    # one hash look-up of every respondent's id among the records (no per-row Python)
    pos = pd.Index(keys.to_numpy(dtype=object)).get_indexer(ids.to_numpy(dtype=object))
    found = pos >= 0
    joined = data.copy()
    for m in metrics:  # as ids.map(metric): the record's value, missing without a record
        joined[m] = pd.Series(operations[m].to_numpy()).reindex(pos).to_numpy()
    has_respondent = np.zeros(len(keys), dtype=bool)
    has_respondent[pos[found]] = True
    unmatched = keys[~has_respondent]
    dropped = unmatched.isin({str(e).strip() for e in excluded or ()})
    unknown = unmatched[~dropped]
    report = pd.DataFrame(
        {
            "what": ["records", "matched", "excluded_respondents", "unknown_ids", "without_record"],
            "n": [
                len(operations), int(found.sum()), int(dropped.sum()), len(unknown),
                int((~found).sum()),
            ],
        }
    )  # fmt: skip
    report.attrs["unknown_examples"] = unknown.head(5).tolist()
    report.attrs["excluded_known"] = excluded is not None
    return joined, report


def join_report_sentence(report: pd.DataFrame, *, file: str, study: Study | None = None) -> Md:
    """Say how the operational file joined: matched respondents, unknown ids, no record.

    Ids of respondents the cleaning step excluded and ids that match no respondent at all
    are counted apart (neither is dropped silently).

    Parameters
    ----------
    report : DataFrame
        The ``report`` of :func:`join_operations`.
    file : str
        The file's name as the study file gives it.
    study : Study, optional
        For the report's language (default English).

    Returns
    -------
    Md
        E.g. "customer_ops.csv has 9,625 records: 9,600 respondents matched; 25 ids match
        no respondent (e.g. 99-00001) and are left out of the link; 12 respondents have
        no record."
    """
    from .text import count, text

    lang = study.language if study is not None else "en"
    n = dict(zip(report["what"], report["n"], strict=True))

    def say(keys: tuple[str, str], many: int, **values) -> Md:
        return text(keys[0] if many == 1 else keys[1], lang, **values)

    matched = count(n["matched"], "trend.n_respondents", lang)
    parts = [text("trend.join_s_matched", lang, m=matched)]
    if n["excluded_respondents"]:
        k = int(n["excluded_respondents"])
        parts.append(
            say(
                ("trend.join_s_excluded_1", "trend.join_s_excluded_n"),
                k,
                k=count(k, "trend.n_records", lang),
            )
        )
    if n["unknown_ids"]:
        k = int(n["unknown_ids"])
        examples = report.attrs.get("unknown_examples") or []
        who = "trend.join_who_any" if report.attrs.get("excluded_known") else "trend.join_who"
        parts.append(say(
            ("trend.join_s_unknown_1", "trend.join_s_unknown_n"), k, k=count(k, "trend.n_ids", lang),
            who=text(who, lang),
            eg=text("trend.join_eg", lang, x=", ".join(map(str, examples[:3])))
            if examples else Md(""),
        ))  # fmt: skip
    if n["without_record"]:
        k = int(n["without_record"])
        parts.append(
            say(
                ("trend.join_s_without_1", "trend.join_s_without_n"),
                k,
                k=count(k, "trend.n_respondents", lang),
            )
        )
    return text(
        "trend.join_sentence", lang, file=file,
        records=count(n["records"], "trend.n_records", lang),
        parts=Md(text("trend.join_sep", lang)).join(parts),
    )  # fmt: skip


def join_study_operations(
    data: pd.DataFrame, *, study: Study
) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """Read the study's per-customer file and join it to the clean data by the respondent id.

    Parameters
    ----------
    data : DataFrame
        Clean analysis data.
    study : Study
        With ``data.respondent_operations`` and ``data.respondent_id``.

    Returns
    -------
    (joined, report, metrics) : tuple
        :func:`join_operations` output and the metric columns. The ids of excluded
        respondents come from the cleaning step's exclusion file when it is current.
    """
    from .io import manifest_is_current, read_processed, read_respondent_operations

    ops = read_respondent_operations(study)
    excluded = None
    if manifest_is_current(study) and (study.processed_dir / "exclusions.parquet").is_file():
        excl = read_processed(study, "exclusions")
        if study.id_column in excl.columns:
            excluded = excl[study.id_column].dropna().astype(str).tolist()
    metrics = [c for c in ops.columns if c != "ops_id"]
    joined, report = join_operations(
        data, ops, id=study.id_column, ops_id="ops_id", excluded=excluded
    )
    return joined, report, metrics


def respondent_outcome(data: pd.DataFrame, *, study: Study, outcome: str | None) -> pd.Series:
    """Return each respondent's satisfaction on 0-100: an item, an area, or the index items.

    Parameters
    ----------
    data : DataFrame
        Clean analysis data.
    study : Study
    outcome : str or None
        An item (rescaled with its scale), an area (the mean of its answered index items,
        each rescaled), or None: ``kpis.overall`` if the study has one, else every index
        item.

    Returns
    -------
    Series
        0-100 per row (NaN without an answer), named by what it measures (the label).
    """
    from .actions import action_scores

    if outcome is None:
        outcome = study.kpis.overall
    if outcome is not None and outcome in study.items:
        items, label = [outcome], study.label(outcome)
    elif outcome is not None:
        items = [i for i in study.index_items() if study.items[i].area == outcome]
        label = study.label(outcome)
    else:
        items, label = study.index_items(), "Satisfaction index"
    return action_scores(data, study=study, items=items).rename(label)


def band_curve(
    data: pd.DataFrame,
    *,
    metric: str,
    outcome: str,
    bands: int = 5,
    design: SurveyDesign | None = None,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Estimate the mean outcome in quantile bands of an operational metric.

    Parameters
    ----------
    data : DataFrame
        One row per respondent with ``metric`` and ``outcome`` (rows missing either are
        a domain outside every band).
    metric, outcome : str
        Numeric columns.
    bands : int
        Number of bands (quantiles of the metric among respondents with both values;
        tied cut points merge bands).
    design : SurveyDesign, optional
    confidence : float

    Returns
    -------
    DataFrame
        One row per band in metric order: ``band`` (1, 2, ...), ``band_label`` (e.g.
        "0.5–2.7"), ``metric_low``, ``metric_high`` (the band's smallest and largest
        value), ``n``, ``n_weighted``,
        ``n_effective``, ``estimate``, ``se``, ``ci_low``, ``ci_high``.
    """
    func = "band_curve"
    if bands < 2:
        raise ValueError(f"{func}: bands must be 2 or more, got {bands}")
    x = numeric_values(data, metric, "metric", func)
    y = numeric_values(data, outcome, "outcome", func)
    ok = ~np.isnan(x) & ~np.isnan(y)
    if ok.sum() < bands:
        raise ValueError(
            f"{func}: only {int(ok.sum())} respondents have {metric!r} and {outcome!r}"
        )
    cuts = np.unique(np.quantile(x[ok], np.linspace(0, 1, bands + 1)))
    band = np.where(ok, np.clip(np.searchsorted(cuts, x, side="right"), 1, len(cuts) - 1), 0)
    frame = data.assign(_band=np.where(ok, band, np.nan), _y=np.where(ok, y, np.nan))
    est = survey_mean(frame, items="_y", by="_band", design=design, confidence=confidence)
    est = est.rename(columns={"_band": "band"}).drop(columns=["item", "deff"], errors="ignore")
    rng = pd.DataFrame({"band": band[ok], "x": x[ok]}).groupby("band")["x"].agg(["min", "max"])
    est["band"] = est["band"].astype(int)
    est["metric_low"] = est["band"].map(rng["min"])
    est["metric_high"] = est["band"].map(rng["max"])
    est["band_label"] = [
        f"{a:g}–{b:g}" for a, b in zip(est["metric_low"], est["metric_high"], strict=True)
    ]
    cols = ["band", "band_label", "metric_low", "metric_high", "n", "n_weighted", "n_effective", "estimate",
            "se", "ci_low", "ci_high"]  # fmt: skip
    return est[cols].sort_values("band").reset_index(drop=True)


def _hinge_sse(
    xv: np.ndarray, sw: np.ndarray, swy: np.ndarray, swyy: np.ndarray, grid: np.ndarray
) -> np.ndarray:
    """Return the weighted residual sum of squares of the segmented fit for each threshold.

    The fit is ``y ~ a + c 1(x > t) + b (x - t)+``, computed from sufficient statistics
    per distinct metric value ``xv``: the sums of ``w``, ``w y`` and ``w y^2`` (V x R, one
    column per bootstrap replicate). Returns (R x K), one row per replicate.
    """
    above = (xv[:, None] > grid[None, :]).astype(float)  # V x K
    H = np.maximum(xv[:, None] - grid[None, :], 0.0)
    K = len(grid)
    s0 = np.repeat(sw.sum(axis=0)[:, None], K, axis=1)
    sy = np.repeat(swy.sum(axis=0)[:, None], K, axis=1)
    syy = np.repeat(swyy.sum(axis=0)[:, None], K, axis=1)
    si, sh, shh = sw.T @ above, sw.T @ H, sw.T @ (H * H)
    siy, shy = swy.T @ above, swy.T @ H
    A = np.stack(
        [np.stack([s0, si, sh], -1), np.stack([si, si, sh], -1), np.stack([sh, sh, shh], -1)], -2
    )
    rhs = np.stack([sy, siy, shy], -1)
    ok = (si > 0) & (si < s0) & (np.linalg.det(A) > 1e-9 * s0**3)
    A = np.where(ok[..., None, None], A, np.eye(3))
    beta = np.linalg.solve(A, rhs[..., None])[..., 0]
    sse = syy - (beta * rhs).sum(-1)
    return np.where(ok, sse, np.inf)


def _sums(
    code: np.ndarray, V: int, y: np.ndarray, w: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the sums of ``w``, ``w y``, ``w y^2`` per distinct value (w: n x R)."""
    from scipy import sparse

    S = sparse.csr_matrix((np.ones(len(code)), (code, np.arange(len(code)))), shape=(V, len(code)))
    return S @ w, S @ (w * y[:, None]), S @ (w * (y * y)[:, None])


def _boot_thresholds(
    code: np.ndarray,
    values: np.ndarray,
    y: np.ndarray,
    w: np.ndarray,
    prep,
    ok: np.ndarray,
    grid: np.ndarray,
    n_boot: int,
    random_state: int | np.random.Generator | None,
) -> np.ndarray:
    """Return the threshold of each bootstrap replicate (PSUs resampled within strata).

    When each respondent is its own PSU the replicates' sufficient statistics are summed
    straight from the draws (:func:`_drawn_sums`: a few bincounts over replicate x metric
    value, no respondent x replicate matrix); with clusters, the resampling counts of the
    PSUs weight the respondents.
    """
    rng = np.random.default_rng(random_state)
    unit = prep.psu[ok] if prep.psu is not None else np.arange(len(y))
    codes, inv = np.unique(unit, return_inverse=True)
    stratum = np.zeros(len(codes), dtype=np.int64)
    stratum[inv] = prep.stratum[ok]
    members = [np.flatnonzero(stratum == h) for h in np.unique(stratum)]
    reps = np.empty(n_boot)
    if len(codes) == len(y):  # one respondent a PSU: respondent i is unit i's only member
        rows = np.empty(len(y), dtype=np.int64)
        rows[inv] = np.arange(len(y))
        members = [rows[idx] for idx in members]
        V = len(values)
        stats = (w, w * y)
        batch = max(1, min(n_boot, 20_000_000 // max(len(y), 1)))
        for r0 in range(0, n_boot, batch):
            b = min(n_boot, r0 + batch) - r0
            sw, swy = _drawn_sums(rng, members, code, stats, V, b)
            # the sum of w y^2 is one constant per replicate in every threshold's residual
            # sum of squares: it moves no argmin, so the draws need not sum it
            sse = _hinge_sse(values, sw, swy, np.zeros_like(sw), grid)
            reps[r0 : r0 + b] = grid[np.argmin(sse, axis=1)]
        return reps
    for r0 in range(0, n_boot, 50):
        batch = min(n_boot, r0 + 50) - r0
        mult = np.zeros((batch, len(codes)))  # one row of resampling counts per replicate
        for idx in members:
            m = len(idx)
            draws = rng.integers(0, m, size=(batch, m)) + (np.arange(batch) * m)[:, None]
            mult[:, idx] = np.bincount(draws.ravel(), minlength=batch * m).reshape(batch, m)
        sse = _hinge_sse(values, *_sums(code, len(values), y, (mult[:, inv] * w).T), grid)
        reps[r0 : r0 + batch] = grid[np.argmin(sse, axis=1)]
    return reps


def _drawn_sums(
    rng: np.random.Generator,
    members: list[np.ndarray],
    code: np.ndarray,
    stats: tuple[np.ndarray, ...],
    V: int,
    batch: int,
) -> list[np.ndarray]:
    """Sum ``stats`` per metric value over ``batch`` with-replacement resamples per stratum.

    ``members`` are each stratum's rows; every replicate draws as many rows as the stratum
    has. Returns one ``V x batch`` array per statistic.
    """
    out = [np.zeros((batch, V)) for _ in stats]
    small = batch * V < 2**31 and len(code) < 2**31
    kind = np.int32 if small else np.int64
    for rows in members:
        m = len(rows)
        # the stratum's rows in metric order: a replicate's sum per metric value is then the
        # sum of its draw counts times the statistics over a contiguous run of rows
        by_value = np.argsort(code[rows], kind="stable")
        rank = np.empty(m, dtype=np.int64)
        rank[by_value] = np.arange(m)
        sorted_code = code[rows][by_value]
        starts = np.flatnonzero(np.r_[True, sorted_code[1:] != sorted_code[:-1]])
        present = sorted_code[starts]
        drawn = rng.integers(0, m, size=(batch, m), dtype=kind)
        key = rank[drawn]
        key += (np.arange(batch, dtype=np.int64) * m)[:, None]
        counts = np.bincount(key.ravel(), minlength=batch * m).reshape(batch, m)
        del key, drawn
        for acc, s in zip(out, stats, strict=True):
            acc[:, present] += np.add.reduceat(counts * s[rows][by_value], starts, axis=1)
    return [acc.T for acc in out]


def threshold_fit(
    data: pd.DataFrame,
    *,
    metric: str,
    outcome: str,
    design: SurveyDesign | None = None,
    confidence: float = 0.95,
    n_boot: int = 200,
    grid_size: int = 200,
    random_state: int | np.random.Generator | None = 0,
) -> pd.DataFrame:
    """Estimate the threshold of a metric above which the outcome starts to fall.

    A segmented regression ``outcome = a + c 1(metric > t) + b max(0, metric - t)``: flat
    at ``a`` up to the threshold ``t``, then a step ``c`` and a slope ``b`` per unit (a
    "hinge" when ``c`` is 0). ``t`` is the candidate (a grid over the 5th to 95th
    percentiles of the metric) with the smallest survey-weighted residual sum of squares,
    reported as the largest observed value of the metric still on the flat part. The
    interval of ``t`` is the percentile interval of a bootstrap that resamples the
    respondents within strata (and PSUs within strata when there are clusters), each
    replicate refitting the threshold.

    Parameters
    ----------
    data : DataFrame
        One row per respondent.
    metric, outcome : str
        Numeric columns (rows missing either are left out).
    design : SurveyDesign, optional
        Weights, strata and clusters of the resampling.
    confidence : float
        Level of the bootstrap interval.
    n_boot : int
        Bootstrap replicates.
    grid_size : int
        Most candidate thresholds: every distinct value of the metric between its 5th and
        95th percentiles when there are no more, else this many equally spaced.
    random_state : int, Generator or None

    Returns
    -------
    DataFrame
        One row: ``threshold``, ``ci_low``, ``ci_high``, ``level`` (outcome below the
        threshold), ``drop`` (the step at the threshold), ``slope`` (outcome change per
        unit above it), ``n``, ``metric_min``, ``metric_max``.

    References
    ----------
    Muggeo, V. M. R. (2003). Estimating regression models with unknown break-points.
    *Statistics in Medicine*, 22(19), 3055-3071. Efron, B., & Tibshirani, R. J. (1993).
    *An Introduction to the Bootstrap*. Chapman & Hall (percentile intervals).

    Examples
    --------
    Flat at 80 up to 10 minutes, then 10 points lower and 2 points less per extra minute:

    >>> x = np.arange(0.0, 20.5, 0.5)
    >>> df = pd.DataFrame({"wait": x, "sat": np.where(x <= 10, 80, 70 - 2 * (x - 10))})
    >>> r = threshold_fit(df, metric="wait", outcome="sat", n_boot=20)
    >>> r[["threshold", "level", "drop", "slope"]].round(2)
       threshold  level  drop  slope
    0       10.0   80.0 -10.0   -2.0
    """
    func = "threshold_fit"
    confidence = check_confidence(confidence, func)
    prep, _ = setup(data, design, (), [metric, outcome], func=func)
    x = numeric_values(data, metric, "metric", func)
    y = numeric_values(data, outcome, "outcome", func)
    ok = ~np.isnan(x) & ~np.isnan(y)
    if ok.sum() < 10:
        raise ValueError(
            f"{func}: only {int(ok.sum())} respondents have {metric!r} and {outcome!r}; 10 are needed"
        )
    x, y, w = x[ok], y[ok], prep.w[ok]
    lo, hi = np.quantile(x, [0.05, 0.95])
    if hi <= lo:
        raise ValueError(f"{func}: {metric!r} hardly varies (5th and 95th percentiles are equal)")
    values = np.unique(x)
    inner = values[(values >= lo) & (values <= hi)]
    grid = inner if len(inner) <= grid_size else np.linspace(lo, hi, grid_size)
    code = np.searchsorted(values, x)
    sse = _hinge_sse(values, *_sums(code, len(values), y, w[:, None]), grid)[0]
    k = int(np.argmin(sse))
    snap = values[np.maximum(np.searchsorted(values, grid, side="right") - 1, 0)]
    t = snap[k]  # the largest observed value still on the flat part
    X = np.column_stack([np.ones_like(x), (x > t).astype(float), np.maximum(x - t, 0.0)])
    coef = np.linalg.solve(X.T @ (X * w[:, None]), X.T @ (w * y))
    reps = _boot_thresholds(code, values, y, w, prep, ok, grid, n_boot, random_state)
    reps = values[np.maximum(np.searchsorted(values, reps, side="right") - 1, 0)]
    alpha = 1 - confidence
    low, high = np.quantile(reps, [alpha / 2, 1 - alpha / 2])
    return pd.DataFrame(
        [
            {
                "threshold": t,
                "ci_low": low,
                "ci_high": high,
                "level": coef[0],
                "drop": coef[1],
                "slope": coef[2],
                "n": int(ok.sum()),
                "metric_min": float(x.min()),
                "metric_max": float(x.max()),
            }
        ]
    )


def design_correlation(
    data: pd.DataFrame,
    *,
    x: str,
    y: str,
    design: SurveyDesign | None = None,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Estimate the survey-weighted Pearson correlation with a design-based interval.

    The correlation is a smooth function of weighted totals; its influence values are
    ``(u v - r (u^2 + v^2) / 2) w / W`` with ``u``, ``v`` the weighted-standardised
    values, so its variance comes from the design (strata, clusters, fpc). The interval
    is computed on Fisher's z scale (``atanh r +- q se / (1 - r^2)``) and transformed
    back, so it stays inside (-1, 1).

    Parameters
    ----------
    data : DataFrame
    x, y : str
        Numeric columns (rows missing either are a domain outside the estimate).
    design : SurveyDesign, optional
    confidence : float

    Returns
    -------
    DataFrame
        One row: ``estimate``, ``se``, ``ci_low``, ``ci_high``, ``statistic`` (z),
        ``p_value``, ``n``, ``n_effective``.

    References
    ----------
    Fisher, R. A. (1921). On the "probable error" of a coefficient of correlation deduced
    from a small sample. *Metron*, 1, 3-32. Lumley, T. (2010). *Complex Surveys*. Wiley
    (linearisation).

    Examples
    --------
    >>> df = pd.DataFrame({"a": [1.0, 2, 3, 4, 5], "b": [2.0, 1, 4, 3, 5]})
    >>> round(float(design_correlation(df, x="a", y="b")["estimate"].iloc[0]), 4)
    0.8
    """
    func = "design_correlation"
    confidence = check_confidence(confidence, func)
    prep, _ = setup(data, design, (), [x, y], func=func)
    a = numeric_values(data, x, "x", func)
    b = numeric_values(data, y, "y", func)
    ok = ~np.isnan(a) & ~np.isnan(b)
    if ok.sum() < 3:
        raise ValueError(f"{func}: only {int(ok.sum())} respondents have both {x!r} and {y!r}")
    w = np.where(ok, prep.w, 0.0)
    W = w.sum()
    a0, b0 = np.where(ok, a, 0.0), np.where(ok, b, 0.0)
    ma, mb = (w * a0).sum() / W, (w * b0).sum() / W
    da, db = np.where(ok, a0 - ma, 0.0), np.where(ok, b0 - mb, 0.0)
    sa, sb = np.sqrt((w * da * da).sum() / W), np.sqrt((w * db * db).sum() / W)
    if sa == 0 or sb == 0:
        raise ValueError(f"{func}: {x if sa == 0 else y!r} does not vary")
    u, v = da / sa, db / sb
    r = float((w * u * v).sum() / W)
    z = w * (u * v - r * (u * u + v * v) / 2) / W
    se = float(np.sqrt(max(prep.vcov(z)[0, 0], 0.0)))
    q = normal_quantile(confidence)
    fz = np.arctanh(np.clip(r, -0.999999, 0.999999))
    s_fz = se / (1 - r * r)
    stat = fz / s_fz if s_fz > 0 else np.nan
    return pd.DataFrame(
        [
            {
                "estimate": r,
                "se": se,
                "ci_low": float(np.tanh(fz - q * s_fz)),
                "ci_high": float(np.tanh(fz + q * s_fz)),
                "statistic": stat,
                "p_value": float(2 * stats.norm.sf(abs(stat))) if s_fz > 0 else np.nan,
                "n": int(ok.sum()),
                "n_effective": float(W * W / (w * w).sum()),
            }
        ]
    )


def respondent_links(
    joined: pd.DataFrame,
    *,
    study: Study,
    metrics: Sequence[str],
    n_boot: int = 200,
    random_state: int = 0,
    min_n: int = 30,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Link each per-customer metric to satisfaction: bands, threshold and correlation.

    Parameters
    ----------
    joined : DataFrame
        The ``joined`` of :func:`join_operations` (clean data with the metric columns).
    study : Study
        Its ``data.respondent_operations`` (outcome, bands), design and confidence.
    metrics : sequence of str
        The metric columns.
    n_boot, random_state
        Bootstrap of the threshold (:func:`threshold_fit`).
    min_n : int
        Fewest respondents with both the metric and the outcome for a metric to be linked.

    Returns
    -------
    (links, curves) : tuple of DataFrame
        ``links``: one row per metric with enough respondents: ``metric``, ``outcome`` (label), ``correlation``,
        ``correlation_ci_low``, ``correlation_ci_high``, ``p_value``, ``threshold``,
        ``ci_low``, ``ci_high``, ``level``, ``drop``, ``slope``, ``n``. ``curves``: the
        :func:`band_curve` rows of every metric, with a ``metric`` column first.
    """
    spec = study.spec.data.respondent_operations
    outcome = respondent_outcome(joined, study=study, outcome=spec.outcome if spec else None)
    design = study_design(study)
    conf = study.reporting.confidence
    frame = joined.assign(_outcome=outcome.to_numpy())
    rows, curves = [], []
    for m in metrics:
        if int((frame[m].notna() & frame["_outcome"].notna()).sum()) < min_n:
            continue
        cor = design_correlation(frame, x=m, y="_outcome", design=design, confidence=conf).iloc[0]
        thr = threshold_fit(
            frame, metric=m, outcome="_outcome", design=design, confidence=conf,
            n_boot=n_boot, random_state=random_state,
        ).iloc[0]  # fmt: skip
        curve = band_curve(
            frame, metric=m, outcome="_outcome", bands=spec.bands if spec else 5,
            design=design, confidence=conf,
        )  # fmt: skip
        curves.append(curve.assign(metric=m, outcome=outcome.name))
        rows.append(
            {
                "metric": m,
                "outcome": outcome.name,
                "correlation": cor["estimate"],
                "correlation_ci_low": cor["ci_low"],
                "correlation_ci_high": cor["ci_high"],
                "p_value": cor["p_value"],
                **{k: thr[k] for k in ("threshold", "ci_low", "ci_high", "level", "drop", "slope")},
                "n": int(thr["n"]),
            }
        )
    cols = ["metric", "outcome", "band", "band_label", "metric_low", "metric_high", "n", "n_weighted",
            "n_effective", "estimate", "se", "ci_low", "ci_high"]  # fmt: skip
    link_cols = ["metric", "outcome", "correlation", "correlation_ci_low",
                 "correlation_ci_high", "p_value", "threshold", "ci_low", "ci_high", "level",
                 "drop", "slope", "n"]  # fmt: skip
    if not rows:
        return pd.DataFrame(columns=link_cols), pd.DataFrame(columns=cols)
    return pd.DataFrame(rows)[link_cols], pd.concat(curves, ignore_index=True)[cols]


def respondent_takeaway(links: pd.DataFrame, *, study: Study) -> Md:
    """Return the takeaway of the per-respondent links: threshold, drop and correlation.

    Parameters
    ----------
    links : DataFrame
        The ``links`` of :func:`respondent_links`, at least one row.
    study : Study

    Returns
    -------
    Md
        One sentence per metric, e.g. "**Hotline wait min**: **Hotline** satisfaction is
        flat at 71.2 up to about 8.1 (95% CI 7.6-8.6), then falls 2.10 points per unit;
        the correlation is -0.41 (95% CI -0.43 to -0.39, p < 0.001)."
    """
    from .text import text
    from .trend_report import metric_label

    if links.empty:
        raise ValueError("respondent_takeaway: no links")
    lang = study.language
    conf = f"{study.reporting.confidence:.0%}"
    out = []
    for _, r in links.iterrows():
        corr = text(
            "trend.cust_corr", lang,
            r=r["correlation"], c=conf,
            ci=fmt_ci(r["correlation_ci_low"], r["correlation_ci_high"], kind="number.2"),
            p=fmt_p(r["p_value"], prefix=True),
        )  # fmt: skip
        after = text("trend.cust_drops", lang, c=-r["drop"], s=-r["slope"])
        if r["drop"] >= 0:
            after = text("trend.cust_falls", lang, s=-r["slope"])
        if r["drop"] < 0 or r["slope"] < 0:
            shape = text(
                "trend.cust_flat", lang,
                outcome=r["outcome"], level=r["level"], t=r["threshold"], c=conf,
                ci=fmt_ci(r["ci_low"], r["ci_high"], kind="number.1"), after=after,
            )  # fmt: skip
        else:
            shape = text("trend.cust_no_fall", lang, outcome=r["outcome"])
        out.append(
            text(
                "trend.cust_sentence",
                lang,
                metric=metric_label(r["metric"]),
                shape=shape,
                corr=corr,
            )
        )
    return Md(" ").join(out)
