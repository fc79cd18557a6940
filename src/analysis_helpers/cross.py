"""Cross-analysis: banner tables of the study's KPIs by segment, and the weak spots.

The banner's column letters come from design-based tests; the weak spots are segment x
area cells far below the rest.

A *banner* is the table analysts read first (SPSS Custom Tables, Displayr/Q): the study's
KPIs and area indices down the side, Total and every value of every segment across. Each
segment value is a *column* with a letter (A, B, C, ... across the whole banner); a cell
carries the letters of the columns **of the same segment** that it is significantly
higher than.

Tests are design-based (Taylor linearisation, as R ``survey``): every row is a linear
combination of domain means - a mean, a top-box share (the mean of a 0/1 dummy), an NPS
(100 x the mean of the +1/0/-1 score), a satisfaction index (its items' rescaled means
with the study's path weights, as :func:`~analysis_helpers.kpis.csi`). The difference of
two columns is the same combination of the two domains' mean differences; its influence
values are the second domain's minus the first's, so its standard error includes the
covariance the design induces between domains (shared strata and PSUs). With one item
this is exactly :func:`~analysis_helpers.estimation.domain_difference` (R ``svyttest``):
Student's t on the design degrees of freedom of the two domains' rows minus 1.

- Pairwise tests are corrected within each row and segment with the study's
  ``reporting.correction`` and judged at ``reporting.alpha``.
- Each column is also tested against the rest of the sample (its complement); these
  p-values are corrected within each row over all columns.
- Cells with fewer than ``reporting.min_base`` respondents are flagged "low base" and never
  tested; below ``reporting.suppress_below`` they are "suppressed" (no estimate).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ._checks import check_columns
from ._design import normal_quantile
from .formatting import MISSING, fmt_change, fmt_p, fmt_value, kind_for_unit
from .safe_output import Md, md
from .study import Study, code_text
from .study_tables import study_design
from .text import count, size, template, text
from .trend import adjust_p

__all__ = [
    "BANNER_COLUMNS",
    "banner",
    "banner_view",
    "banner_note",
    "banner_highlights",
    "segment_index_by_wave",
    "segment_index_view",
    "segment_index_takeaway",
    "weak_spots",
    "significance_phrase",
    "difference_text",
    "letters_for",
]

#: the columns of :func:`banner`, in order
BANNER_COLUMNS = [
    "row",
    "level",
    "label",
    "unit",
    "column",
    "segment",
    "segment_label",
    "value",
    "value_label",
    "letter",
    "n",
    "n_weighted",
    "n_effective",
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "letters",
    "difference_rest",
    "se_rest",
    "p_rest",
    "p_rest_adjusted",
    "significant_rest",
    "flag",
]

TOTAL = "total"
LOW_BASE_MARK = "†"


def letters_for(k: int) -> str:
    """Return the letter of the ``k``-th column (0-based): A..Z, then AA, AB, ...

    Examples
    --------
    >>> [letters_for(k) for k in (0, 1, 25, 26, 27)]
    ['A', 'B', 'Z', 'AA', 'AB']
    """
    if k < 0:
        raise ValueError(f"letters_for: k must be >= 0, got {k}")
    out = ""
    k += 1
    while k:
        k, r = divmod(k - 1, 26)
        out = chr(65 + r) + out
    return out


def banner(
    data: pd.DataFrame,
    *,
    study: Study,
    segments: Sequence[str] | None = None,
    areas: bool = True,
    confidence: float | None = None,
) -> pd.DataFrame:
    """Compute the banner: every KPI and area index of the study by every segment value.

    Column letters come from design-based pairwise tests, and each cell has a test against
    the rest.

    Parameters
    ----------
    data : DataFrame
        Clean analysis data, one row per respondent (e.g. one wave).
    study : Study
        Supplies the KPIs, scales, top boxes, hierarchy and weights, segments and their
        value labels, the design and the reporting rules (``min_base``,
        ``suppress_below``, ``alpha``, ``correction``, ``confidence``).
    segments : sequence of str, optional
        The banner's segment columns, in order; default every segment of the study.
    areas : bool
        Add a row per area index (when the study has an index).
    confidence : float, optional
        Level of the intervals; default the study's ``reporting.confidence``.

    Returns
    -------
    DataFrame
        One row per banner row and column (:data:`BANNER_COLUMNS`): ``row`` (the KPI key of
        :func:`~analysis_helpers.study_tables.kpi_summary`, or ``area:<name>``),
        ``level`` ("kpi", "index", "area"), ``label``, ``unit``; ``column`` ("total" or
        ``"<segment>=<value>"``), ``segment``, ``segment_label``, ``value``, ``value_label``
        ("" for Total), ``letter`` ("" for Total); ``n``, ``n_weighted``, ``n_effective``
        (respondents with an answer); ``estimate``, ``se``, ``ci_low``, ``ci_high`` (normal
        interval); ``letters`` (the letters of the same segment's columns this cell is
        significantly higher than, e.g. "AC"); ``difference_rest``, ``se_rest``,
        ``p_rest``, ``p_rest_adjusted`` and ``significant_rest`` (the cell against the
        rest of the sample); ``flag`` ("", "low base", "suppressed"). Shares are in
        [0, 1], NPS in points, indices 0-100. No rows for a study without KPIs or index.

    Raises
    ------
    KeyError
        A segment column is not in ``data`` or not a segment of the study.
    """
    from .banners import banner_table, index_rows_of

    rep = study.reporting
    confidence = confidence or rep.confidence
    cols = list(segments) if segments is not None else study.segment_columns()
    for col in cols:
        study.segment(col)  # KeyError for a column that is not a segment
    check_columns(data, cols, "segment", "banner")
    rows, keys = _kpi_rows(study)
    index_levels = ["csi", "areas"] if areas else ["csi"]
    h = study.hierarchy() if study.has_index else None
    if h is not None:
        labels = {a: study.label(a) for a in h["area"]}
        rows += index_rows_of(h, index_levels, labels, language=study.language)
    if not rows or len(data) == 0:
        return pd.DataFrame(columns=BANNER_COLUMNS)
    by, frame = cols, data
    if not cols:  # Total only: one banner variable with one value, its column dropped
        by, frame = ["_total"], data.assign(_total=1)
    values = _banner_values(data, study, cols)
    result = banner_table(
        frame,
        rows=rows,
        by=by,
        design=study_design(study),
        hierarchy=h,
        labels={c: study.segment(c).values for c in cols},
        values=values,
        correction=rep.correction,
        alpha=rep.alpha,
        confidence=confidence,
        min_base=rep.min_base,
        suppress_below=rep.suppress_below,
        omnibus=False,
    )
    t = result.table if cols else result.table[result.table["column"] == TOTAL]
    return _from_engine(t, result.pairs, keys, study)


def _banner_values(data: pd.DataFrame, study: Study, cols: Sequence[str]) -> dict[str, list]:
    """Return per segment column the study's values that occur in ``data``, in its order.

    The banner's columns are these, then any other codes of the data, sorted.
    """
    values = {}
    for col in cols:
        present = {code_text(v) for v in pd.unique(data[col].dropna())}  # distinct values
        values[col] = [v for v in study.segment(col).values if v in present]
    return values


def _column_letters(data: pd.DataFrame, study: Study, cols: Sequence[str]) -> dict[str, str]:
    """Return the letter of every column of :func:`banner` on ``data`` (Total: ``""``).

    The letters run across the segments in column order, exactly as the banner assigns
    them - without computing the banner.
    """
    from .banners import _banner_letters, _variable

    values = _banner_values(data, study, cols)
    variables = [_variable(data, c, {}, {c: values[c]}) for c in cols]
    out = {TOTAL: ""}
    for v, letters in zip(variables, _banner_letters(variables), strict=True):
        out.update({f"{v.name}={x}": lt for x, lt in zip(v.values, letters, strict=True)})
    return out


def _kpi_rows(study: Study) -> tuple[list, dict[str, tuple[str, str, str]]]:
    """Return the KPI rows of the banner and the map engine row key -> (row, level, unit).

    Parameters
    ----------
    study : Study
        Supplies the KPI roles, scales and top boxes.

    Returns
    -------
    rows : list of BannerRow
        Overall mean and top box, NPS, CES mean, each loyalty item's top box.
    keys : dict
        The engine's row key of each KPI row -> this banner's ``row``, ``level``, ``unit``.
    """
    from .banners import BannerRow

    items = study.items
    k = study.kpis
    rows: list = []
    keys: dict[str, tuple[str, str, str]] = {}

    def add(name: str, stat: str, row: str, unit: str | None = None) -> None:
        rows.append(BannerRow.of_item(name, items[name], (stat,), study.language))
        keys[f"{name}:{stat}"] = (row, "kpi", unit or "")

    if k.overall:
        add(k.overall, "mean", "overall_mean")
        add(k.overall, "top_box", "overall_top2")
    if k.nps:
        add(k.nps, "nps", "nps")
    if k.ces:
        it = items[k.ces]
        add(k.ces, "mean", "ces_mean", f"mean ({it.scale.min}-{it.scale.max}, lower is better)")
    for name in k.loyalty:
        add(name, "top_box", f"{name}_top2")
    return rows, keys


def _from_engine(
    t: pd.DataFrame, pairs: pd.DataFrame, keys: dict[str, tuple[str, str, str]], study: Study
) -> pd.DataFrame:
    """Return the engine's banner (:func:`analysis_helpers.banners.banner_table`) in this form.

    Rows renamed to the KPI keys of :func:`~analysis_helpers.study_tables.kpi_summary`,
    ``level`` added, letters joined with spaces once a letter has two characters, the
    test against the rest corrected within each row over all columns, flags as before
    ("no respondents" / "one respondent" as "suppressed" / "low base").
    """
    t = t.copy()
    row = t["row"].map(lambda r: keys.get(r, (r, "", ""))[0])
    level = t["row"].map(lambda r: keys[r][1] if r in keys else ("index" if r == "csi" else "area"))
    unit = t["row"].map(lambda r: keys[r][2] if r in keys else "")
    t["unit"] = np.where(unit != "", unit, t["unit"])
    t["row"], t["level"] = row, level
    t["segment_label"] = t["variable"].map(
        lambda c: "" if c == "_total" else study.segment(c).title
    )
    t.loc[t["column"] == TOTAL, ["segment", "segment_label", "value_label"]] = ""
    t = t.drop_duplicates(["row", "column"]).reset_index(drop=True)
    t["flag"] = t["flag"].replace({"no respondents": "suppressed", "one respondent": "low base"})
    # letters from the pairs (unambiguous past Z)
    multi = (t["letter"].str.len() > 1).any()
    sig = pairs[pairs["significant"]]
    hi = np.where(sig["difference"] > 0, sig["column_2"], sig["column_1"])
    lo = np.where(sig["difference"] > 0, sig["letter_1"], sig["letter_2"])
    got: dict[tuple[str, str], list[str]] = {}
    for r, c, lt in zip(sig["row"].map(lambda r: keys.get(r, (r,))[0]), hi, lo, strict=True):
        got.setdefault((r, c), []).append(lt)
    t["letters"] = [
        (" " if multi else "").join(sorted(got.get((r, c), []), key=lambda s: (len(s), s)))
        for r, c in zip(t["row"], t["column"], strict=True)
    ]
    t["p_rest_adjusted"] = np.nan
    for _, idx in t.groupby("row", sort=False).groups.items():
        t.loc[idx, "p_rest_adjusted"] = adjust_p(
            t.loc[idx, "p_rest"].to_numpy(), correction=study.reporting.correction
        )
    p = t["p_rest_adjusted"]
    t["significant_rest"] = np.isfinite(p) & (p < study.reporting.alpha)
    return t[BANNER_COLUMNS]


def _cell_text(r: Any) -> str:
    """Return a banner cell as shown: the value and its letters, "†" (low base) or "–"."""
    if r.flag == "suppressed":
        return MISSING
    text = fmt_value(r.estimate, r.unit)
    if r.flag == "low base":
        return f"{text} {LOW_BASE_MARK}"
    return f"{text} {r.letters}" if r.letters else text


def banner_view(table: pd.DataFrame, *, study: Study, bases: bool = True) -> pd.DataFrame:
    """Return the banner as a client reads it.

    Rows down the side, Total and the segment values across, each cell the formatted
    estimate followed by its letters.

    Parameters
    ----------
    table : DataFrame
        The output of :func:`banner`.
    study : Study
        Supplies the reporting rules (the base rows) and whether the study is weighted.
    bases : bool
        Start with a "Base" row (respondents in the column) and, for a weighted study, an
        "Effective base" row.

    Returns
    -------
    DataFrame
        Text cells; the index is named "KPI" (the row labels); the columns are a
        MultiIndex (segment title, "value label (letter)"), Total first as ("", "Total").
        Suppressed cells show "–"; low-base cells end in "†" and carry no letters.
    """
    lang = study.language
    if len(table) == 0:
        return pd.DataFrame(index=pd.Index([], name=template("cross.kpi", lang)))
    heads = table.drop_duplicates("column")
    total = template("cross.total", lang)
    keys = [
        ("", total) if c == TOTAL else (t, f"{v} ({lt})")
        for c, t, v, lt in zip(
            heads["column"],
            heads["segment_label"],
            heads["value_label"],
            heads["letter"],
            strict=True,
        )
    ]
    key_of = dict(zip(heads["column"], keys, strict=True))
    body: dict[str, dict] = {}
    for r in table.itertuples(index=False):
        body.setdefault(r.label, {})[key_of[r.column]] = _cell_text(r)
    frame = pd.DataFrame.from_dict(body, orient="index")
    frame = frame[keys]
    if bases:
        # the column's respondents: the largest base of its rows
        n = table.groupby("column", sort=False)["n"].max()
        base = template("cross.base_row", lang)
        extra = {base: {key_of[c]: fmt_value(v, "base") for c, v in n.items()}}
        if study.is_weighted:
            ne = table.groupby("column", sort=False)["n_effective"].max()
            eff = template("cross.effective_row", lang)
            extra[eff] = {key_of[c]: fmt_value(v, "base") for c, v in ne.items()}
        frame = pd.concat([pd.DataFrame.from_dict(extra, orient="index")[keys], frame])
    frame.columns = pd.MultiIndex.from_tuples(keys)
    frame.index.name = template("cross.kpi", lang)
    return frame


def banner_note(table: pd.DataFrame, *, study: Study) -> str:
    """Return the banner's footnote (plain text, from the study's settings).

    What the letters mean, the test, level and correction, and the base rules when a cell
    is flagged.
    """
    rep, lang = study.reporting, study.language
    note = template("cross.note_letters", lang).format(
        design=template("cross.weighted", lang) if study.is_weighted else "",
        test=significance_phrase(study, within="within each row and segment"),
    )
    flags = set(table["flag"]) if len(table) else set()
    if "low base" in flags:
        note += template("cross.note_low", lang).format(mark=LOW_BASE_MARK, n=rep.min_base)
    if "suppressed" in flags:
        note += template("cross.note_suppressed", lang).format(mark=MISSING, n=rep.suppress_below)
    return note


_CORRECTION_NAMES = {"holm": "Holm", "fdr_bh": "Benjamini-Hochberg", "bonferroni": "Bonferroni"}


def significance_phrase(study: Study, *, within: str = "") -> str:
    """Say how the tests are judged, from the study: ``"p < 0.05, Holm-adjusted"``.

    Plus ``within``, e.g. "within each row"; ``"p < 0.05"`` without a correction. In the
    study's language (``reporting.language``): "within each row" and "within each row and
    segment" are the text tables' ``cross.within_row`` and ``cross.within_row_segment``.
    """
    rep, lang = study.reporting, study.language
    corr = _CORRECTION_NAMES.get(rep.correction)
    if not corr:
        return f"p < {rep.alpha:g}"
    keys = {"within each row": "cross.within_row",
            "within each row and segment": "cross.within_row_segment"}  # fmt: skip
    where = template(keys[within], lang) if within in keys else within
    return template("cross.adjusted", lang).format(
        alpha=f"{rep.alpha:g}",
        correction=corr,
        within=template("cross.within", lang).format(within=where) if where else "",
    )


def difference_text(difference: float, unit: str, language: str = "en") -> str:
    """Return the size of a difference in words, by the row's unit.

    ``"46 points"`` (NPS), ``"35.7 pp"`` (shares), ``"4.1 index points"``, ``"0.52"``
    (means).

    Examples
    --------
    >>> difference_text(-46.2, "points"), difference_text(0.357, "share")
    ('46 points', '35.7 pp')
    >>> difference_text(-4.12, "index (0-100)"), difference_text(0.517, "mean (1-10)")
    ('4.1 index points', '0.52')
    >>> difference_text(-4.12, "index (0-100)", "zh")
    '4.1 个指数点'
    """
    if language != "en":
        return size(difference, unit, language)
    text = fmt_change(abs(difference), unit).lstrip("+")
    kind = kind_for_unit(unit)
    if kind == "nps":
        return f"{text} points"
    if kind == "index":
        return f"{text} index points"
    return text


def banner_highlights(
    table: pd.DataFrame, *, levels: Sequence[str] = ("kpi", "index")
) -> pd.DataFrame:
    """Return, per banner row, the significant segment value that differs most from the rest.

    Among the values significant against the rest (``significant_rest``), for takeaways.

    Parameters
    ----------
    table : DataFrame
        The output of :func:`banner`.
    levels : sequence of str
        The banner levels to look at.

    Returns
    -------
    DataFrame
        One row per banner row with a significant cell, in banner order: ``row``,
        ``label``, ``unit``, ``segment_label``, ``value_label``, ``n``, ``estimate``,
        ``difference`` (cell - rest), ``p_adjusted``, ``direction`` ("below" / "above").
    """
    cols = ["row", "label", "unit", "segment_label", "value_label", "n", "estimate",
            "difference", "p_adjusted", "direction"]  # fmt: skip
    t = table[table["level"].isin(list(levels)) & table["significant_rest"].astype(bool)]
    if t.empty:
        return pd.DataFrame(columns=cols)
    t = t.assign(_abs=t["difference_rest"].abs(), _o=pd.factorize(t["row"])[0])
    best = t.sort_values(["_o", "_abs"], ascending=[True, False], kind="stable")
    best = best.drop_duplicates("row")
    out = best.rename(columns={"difference_rest": "difference", "p_rest_adjusted": "p_adjusted"})
    out = out.assign(direction=np.where(out["difference"] < 0, "below", "above"))
    return out[cols].reset_index(drop=True)


def weak_spots(
    table: pd.DataFrame, *, study: Study, levels: Sequence[str] = ("area",)
) -> pd.DataFrame:
    """Rank every segment value x area cell of a banner by its difference to the rest.

    The p-values of the cells against the rest of the sample (:func:`banner`'s
    ``p_rest``) are corrected again over all ranked cells with ``reporting.correction``
    (the search runs over all of them), and judged at ``reporting.alpha``. Flagged cells
    (low base, suppressed) are left out.

    Parameters
    ----------
    table : DataFrame
        The output of :func:`banner`.
    study : Study
        Supplies the reporting rules.
    levels : sequence of str
        The banner levels to rank ("area", "index", "kpi"); rows of other units than
        the index scale are not comparable with areas, so the default is areas only.

    Returns
    -------
    DataFrame
        Largest shortfall first: ``rank``, ``segment``, ``segment_label``, ``value``,
        ``value_label``, ``row``, ``label``, ``unit``, ``n``, ``estimate``, ``estimate_rest``
        (the rest of the sample), ``difference`` (cell - rest), ``se``, ``ci_low``,
        ``ci_high`` (of the difference, normal at ``reporting.confidence``), ``p_value``,
        ``p_adjusted``, ``significant``, ``direction`` ("below" / "above").
    """
    rep = study.reporting
    cols = [
        "rank", "segment", "segment_label", "value", "value_label", "row", "label", "unit", "n",
        "estimate", "estimate_rest", "difference", "se", "ci_low", "ci_high", "p_value",
        "p_adjusted", "significant", "direction",
    ]  # fmt: skip
    t = table[
        table["level"].isin(list(levels))
        & (table["column"] != TOTAL)
        & (table["flag"] == "")
        & table["difference_rest"].notna()
    ]
    if t.empty:
        return pd.DataFrame(columns=cols)
    q = normal_quantile(rep.confidence)
    t = t.sort_values("difference_rest", kind="stable").reset_index(drop=True)
    d, se = t["difference_rest"], t["se_rest"]
    p_adj = adjust_p(t["p_rest"], correction=rep.correction)
    out = t[
        [
            "segment",
            "segment_label",
            "value",
            "value_label",
            "row",
            "label",
            "unit",
            "n",
            "estimate",
        ]
    ].assign(  # fmt: skip
        estimate_rest=t["estimate"] - d,
        difference=d,
        se=se,
        ci_low=d - q * se,
        ci_high=d + q * se,
        p_value=t["p_rest"],
        p_adjusted=p_adj,
        significant=np.isfinite(p_adj) & (p_adj < rep.alpha),
        direction=np.where(d < 0, "below", "above"),
    )
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    return out[cols]


def segment_index_by_wave(
    data: pd.DataFrame,
    *,
    study: Study,
    segments: Sequence[str] | None = None,
    waves: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Compute the satisfaction index of every segment value in every wave, with letters.

    Each wave is a banner of its own (:func:`banner`, index row only): the index of each
    segment value with its interval, the design-based pairwise tests within the wave
    (letters, corrected within the segment as the banner corrects them) and the test
    against the rest of that wave's sample. A segment value keeps one letter across the
    waves (its letter in the banner of all waves pooled), so that "B" means the same group
    in every column of the view.

    Parameters
    ----------
    data : DataFrame
        Clean analysis data with the study's wave column.
    study : Study
        Supplies the hierarchy, weights, design, segments and reporting rules.
    segments : sequence of str, optional
        Segment columns; default every segment of the study.
    waves : sequence of str, optional
        Wave codes in time order; default the study's waves with at least
        ``reporting.suppress_below`` respondents (and at least 2: a wave of one respondent
        has no variance, every cell of a smaller wave would be suppressed).

    Returns
    -------
    DataFrame
        The columns of :func:`banner` for the ``csi`` row (Total and every segment value)
        plus ``wave`` and ``wave_label`` first; ``letter`` and ``letters`` are the pooled
        letters. No rows for a study without an index or without waves in ``data``.
    """
    cols = ["wave", "wave_label", *BANNER_COLUMNS]
    wave_col = study.wave_column
    if not study.has_index or wave_col not in data.columns:
        return pd.DataFrame(columns=cols)
    n_of = {str(k): int(v) for k, v in data[wave_col].value_counts(dropna=True).items()}
    least = 1 if waves is not None else max(2, study.reporting.suppress_below)
    order = [
        str(w)
        for w in (waves if waves is not None else study.waves)
        if n_of.get(str(w), 0) >= least
    ]
    seg_cols = list(segments) if segments is not None else study.segment_columns()
    # each column's letter in the banner of all waves pooled (no need to compute that banner)
    letter_of = _column_letters(data, study, seg_cols)
    parts = []
    wave_text = data[wave_col].astype(str)  # once, not once per wave (a million rows each)
    for w in order:
        b = banner(data[wave_text == w], study=study, segments=segments, areas=False)
        b = b[b["row"] == "csi"].copy()
        if b.empty:
            continue
        column_of = dict(zip(b["letter"], b["column"], strict=True))
        b["letters"] = [
            _translate_letters(lt, column_of, letter_of) for lt in b["letters"].astype(str)
        ]
        b["letter"] = b["column"].map(letter_of).fillna("")
        b.insert(0, "wave_label", study.wave_label(w))
        b.insert(0, "wave", w)
        parts.append(b)
    if not parts:
        return pd.DataFrame(columns=cols)
    return pd.concat(parts, ignore_index=True)[cols]


def _translate_letters(letters: str, column_of: dict[str, str], letter_of: dict[str, str]) -> str:
    """Return a wave's letters ("AC") as the pooled letters of the same columns."""
    if not letters:
        return ""
    got = letters.split(" ") if " " in letters else list(letters)
    out = sorted((letter_of[column_of[g]] for g in got), key=lambda s: (len(s), s))
    return ("" if all(len(g) == 1 for g in out) else " ").join(out)


def segment_index_view(table: pd.DataFrame, *, language: str = "en") -> pd.DataFrame:
    """Return :func:`segment_index_by_wave` as a client reads it.

    Parameters
    ----------
    table : DataFrame
        The output of :func:`segment_index_by_wave`.
    language : str
        The language of "Total" and the index names ("Segment", "Group").

    Returns
    -------
    DataFrame
        Text cells: rows (segment title, "value label (letter)"), Total first; one column
        per wave label in time order; each cell the index with one decimal and its letters
        (the groups of the same segment it is significantly higher than in that wave);
        "–" for a suppressed cell, "†" after a low-base cell, "" where a group has no
        respondent in a wave.
    """
    if len(table) == 0:
        return pd.DataFrame()
    waves = list(dict.fromkeys(table["wave_label"]))
    heads = table.drop_duplicates("column")
    total = template("cross.total", language)
    keys = {
        c: ("", total) if c == TOTAL else (t, f"{v} ({lt})")
        for c, t, v, lt in zip(
            heads["column"], heads["segment_label"], heads["value_label"], heads["letter"],
            strict=True,
        )
    }  # fmt: skip
    body: dict[tuple, dict[str, str]] = {k: dict.fromkeys(waves, "") for k in keys.values()}
    for r in table.itertuples(index=False):
        body[keys[r.column]][r.wave_label] = _cell_text(r)
    frame = pd.DataFrame.from_dict(body, orient="index")[waves]
    names = [template("cross.col_segment", language), template("cross.col_group", language)]
    frame.index = pd.MultiIndex.from_tuples(list(body), names=names)
    return frame


def segment_index_takeaway(table: pd.DataFrame, *, study: Study) -> Md:
    """Return the sentence on the group with the lowest index in the latest wave.

    Among the tested cells of the latest wave (no low base, not suppressed), the segment
    value furthest below the rest of that wave's sample, with its test against the rest,
    and in how many waves it had its segment's lowest index.

    Parameters
    ----------
    table : DataFrame
        The output of :func:`segment_index_by_wave`.
    study : Study
        Supplies the test's wording.

    Returns
    -------
    Md
        E.g. "In Q2 2025, High-bill customers (Customer type) have the lowest index, 56.5,
        6.9 index points below the rest of the sample (p < 0.001, n = 1,020); they had
        the lowest index of their segment in 6 of 6 waves."
    """
    lang = study.language
    cells = table[(table["column"] != TOTAL) & (table["flag"] == "")]
    if cells.empty:
        return text("cross.lowest_none", lang)
    last = cells["wave"].iloc[-1]
    now = cells[cells["wave"] == last].dropna(subset=["difference_rest"])
    if now.empty:
        return text("cross.lowest_no_rest", lang)
    low = now.loc[now["difference_rest"].idxmin()]
    lowest = cells.loc[cells.groupby(["wave", "segment"])["estimate"].idxmin()]
    n_low = int((lowest["column"] == low["column"]).sum())
    n_waves = int(cells["wave"].nunique())
    head = text(
        "cross.lowest",
        lang,
        wave=low["wave_label"],
        group=low["value_label"],
        segment=low["segment_label"],
        score=low["estimate"],
    )
    if bool(low["significant_rest"]):
        gap = text(
            "cross.lowest_gap",
            lang,
            gap=-low["difference_rest"],
            p=fmt_p(low["p_rest_adjusted"], prefix=True),
            n=int(low["n"]),
        )
    else:
        gap = text(
            "cross.lowest_not",
            lang,
            p=fmt_p(low["p_rest_adjusted"], prefix=True),
            n=int(low["n"]),
        )
    tail = text("cross.lowest_tail", lang, k=n_low, m=count(n_waves, "count.wave", lang))
    return md("{a}{b}{c}", a=head, b=gap, c=tail)
