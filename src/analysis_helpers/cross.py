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
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ._checks import check_columns, numeric_values
from ._design import Groups, base_columns, mean_parts, normal_quantile
from .formatting import MISSING, fmt_change, fmt_count, fmt_p, fmt_value, kind_for_unit
from .kpis import _level_weights
from .safe_output import Md, md
from .study import Study, code_text
from .study_tables import study_design
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


@dataclass(frozen=True)
class _Row:
    """One banner row: ``estimate = constant + sum(coef * domain mean of column)``."""

    row: str
    level: str
    label: str
    unit: str
    terms: tuple[tuple[float, str], ...]  # (coefficient, variable key)
    constant: float = 0.0


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


def _rows(
    data: pd.DataFrame, study: Study, areas: bool
) -> tuple[list[_Row], dict[str, np.ndarray]]:
    """Return the study's banner rows and the per-respondent variables they average."""
    items = study.items
    k = study.kpis
    rows: list[_Row] = []
    var: dict[str, np.ndarray] = {}

    def raw(name: str) -> str:
        if name not in var:
            var[name] = numeric_values(data, name, "item", "banner")
        return name

    def dummy(name: str) -> str:
        key = f"{name}|top"
        if key not in var:
            x = numeric_values(data, name, "item", "banner")
            var[key] = np.where(np.isnan(x), np.nan, np.isin(x, items[name].top_codes) * 1.0)
        return key

    if k.overall:
        it = items[k.overall]
        scale = f"{it.scale.min}-{it.scale.max}"
        rows.append(
            _Row(
                "overall_mean",
                "kpi",
                f"{it.label}: mean",
                f"mean ({scale})",
                ((1.0, raw(k.overall)),),
            )
        )
        rows.append(
            _Row(
                "overall_top2", "kpi", f"{it.label}: top-2-box", "share", ((1.0, dummy(k.overall)),)
            )
        )
    if k.nps:
        x = numeric_values(data, k.nps, "item", "banner")
        var["nps|score"] = np.where(
            np.isnan(x), np.nan, np.where(x >= 9, 1.0, np.where(x <= 6, -1.0, 0.0))
        )
        rows.append(
            _Row("nps", "kpi", f"NPS ({items[k.nps].label})", "points", ((100.0, "nps|score"),))
        )
    if k.ces:
        it = items[k.ces]
        rows.append(
            _Row(
                "ces_mean",
                "kpi",
                f"{it.label}: mean",
                f"mean ({it.scale.min}-{it.scale.max}, lower is better)",
                ((1.0, raw(k.ces)),),
            )
        )
    for name in k.loyalty:
        rows.append(
            _Row(
                f"{name}_top2",
                "kpi",
                f"{items[name].label}: top-2-box",
                "share",
                ((1.0, dummy(name)),),
            )
        )
    if study.has_index:
        h = study.hierarchy()
        # path weights from the index itself (normalised within each parent)
        # the path weights of the index, normalised within each parent as csi() does
        levels = (
            ("item", "weight_item", "indicator"),
            ("indicator", "weight_indicator", "area"),
            ("area", "weight_area", None),
        )
        w = {
            (lv, nm): float(wt)
            for lv, col, parent in levels
            for nm, wt in _level_weights(h, col, lv, parent).items()
        }

        def combo(
            sel: pd.DataFrame, with_area: bool
        ) -> tuple[tuple[tuple[float, str], ...], float]:
            terms, const = [], 0.0
            for item, ind, area, lo, hi in zip(
                sel["item"],
                sel["indicator"],
                sel["area"],
                sel["scale_min"],
                sel["scale_max"],
                strict=True,
            ):
                a = (
                    w[("item", item)]
                    * w[("indicator", ind)]
                    * (w[("area", area)] if with_area else 1.0)
                )
                terms.append((100.0 * a / (hi - lo), raw(item)))
                const -= 100.0 * a * lo / (hi - lo)
            return tuple(terms), const

        terms, const = combo(h, True)
        rows.append(
            _Row("csi", "index", "Customer satisfaction index (CSI)", "index (0-100)", terms, const)
        )
        if areas:
            for area, g in h.groupby("area", sort=False):
                terms, const = combo(g, False)
                rows.append(
                    _Row(f"area:{area}", "area", study.label(area), "index (0-100)", terms, const)
                )
    return rows, var


class _Domains:
    """Influence values of domain means over one design, cached per (variable, domain)."""

    def __init__(self, groups: Groups, var: dict[str, np.ndarray]):
        self.groups = groups
        self.var = var
        self.cache: dict[tuple[str, str], dict] = {}

    def part(self, key: str, name: str, mask: np.ndarray) -> dict:
        hit = self.cache.get((key, name))
        if hit is None:
            y = self.var[key]
            hit = mean_parts(self.groups, y, valid=~np.isnan(y) & mask)
            self.cache[(key, name)] = hit
        return hit

    def combine(self, row: _Row, name: str, mask: np.ndarray) -> dict:
        n = self.groups.prep.n
        est, z, valid = row.constant, np.zeros(n), np.zeros(n, dtype=bool)
        for coef, key in row.terms:
            p = self.part(key, name, mask)
            est = est + coef * float(p["estimate"][0])
            z = z + coef * p["z"]
            valid |= p["valid"]
        return {"estimate": est, "z": z, "valid": valid}

    def difference(self, a: dict, b: dict) -> tuple[float, float, float, float]:
        """``b - a``: estimate, SE, design df (PSUs - strata of both domains' rows, - 1), p."""
        est = b["estimate"] - a["estimate"]
        se = float(np.sqrt(self.groups.var(b["z"] - a["z"])[0]))
        df = float(self.groups.degf(a["valid"] | b["valid"])[0]) - 1
        if not np.isfinite(est) or not se > 0 or df < 1:
            return est, se, df, np.nan
        return est, se, df, float(2 * stats.t.sf(abs(est / se), df))


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
    rep = study.reporting
    confidence = confidence or rep.confidence
    cols = list(segments) if segments is not None else study.segment_columns()
    for col in cols:
        study.segment(col)  # KeyError for a column that is not a segment
    check_columns(data, cols, "segment", "banner")
    rows, var = _rows(data, study, areas)
    if not rows or len(data) == 0:
        return pd.DataFrame(columns=BANNER_COLUMNS)
    design = study_design(study)
    prep = design.prepare(data, func="banner")
    groups = Groups(data, [], prep)
    dom = _Domains(groups, var)
    q = normal_quantile(confidence)
    w = prep.w

    columns = _banner_columns(data, study, cols)

    out: list[dict] = []
    for row in rows:
        cells: list[dict] = []
        for name, col, title, value, vlabel, letter, mask in columns:
            c = dom.combine(row, name, mask)
            valid = c["valid"]
            wv = np.where(valid, w, 0.0)
            base = base_columns(
                groups,
                np.array([valid.sum()], float),
                np.array([wv.sum()]),
                np.array([(wv * w).sum()]),
            )
            n = int(base["n"][0])
            se = float(np.sqrt(groups.var(c["z"])[0])) if n else np.nan
            est = c["estimate"] if n else np.nan
            flag = (
                "suppressed" if n < rep.suppress_below else "low base" if n < rep.min_base else ""
            )
            rest = {"difference_rest": np.nan, "se_rest": np.nan, "p_rest": np.nan}
            if name != TOTAL and not flag:
                other = dom.combine(row, f"not {name}", ~mask)
                if other["valid"].sum() >= rep.min_base:
                    d, s, _, p = dom.difference(other, c)
                    rest = {"difference_rest": d, "se_rest": s, "p_rest": p}
            cells.append(
                {
                    "row": row.row,
                    "level": row.level,
                    "label": row.label,
                    "unit": row.unit,
                    "column": name,
                    "segment": col,
                    "segment_label": title,
                    "value": value,
                    "value_label": vlabel,
                    "letter": letter,
                    "n": n,
                    "n_weighted": float(base["n_weighted"][0]),
                    "n_effective": float(base["n_effective"][0]),
                    "estimate": np.nan if flag == "suppressed" else est,
                    "se": np.nan if flag == "suppressed" else se,
                    "ci_low": np.nan if flag == "suppressed" else est - q * se,
                    "ci_high": np.nan if flag == "suppressed" else est + q * se,
                    "letters": [],
                    **rest,
                    "flag": flag,
                    "_c": c,
                }
            )
        # pairwise letters within each segment, corrected within the row and segment
        for col in cols:
            idx = [i for i, x in enumerate(cells) if x["segment"] == col and not x["flag"]]
            pairs, ps = [], []
            for a in range(len(idx)):
                for b in range(a + 1, len(idx)):
                    i, j = idx[a], idx[b]
                    d, _, _, p = dom.difference(cells[i]["_c"], cells[j]["_c"])
                    pairs.append((i, j, d))
                    ps.append(p)
            adj = adjust_p(ps, correction=rep.correction)
            for (i, j, d), p in zip(pairs, adj, strict=True):
                if np.isfinite(p) and p < rep.alpha:
                    hi, lo = (j, i) if d > 0 else (i, j)
                    cells[hi]["letters"].append(cells[lo]["letter"])
        for x in cells:
            got = sorted(x["letters"], key=lambda s: (len(s), s))
            x["letters"] = ("" if all(len(g) == 1 for g in got) else " ").join(got)
            del x["_c"]
        p_rest = [x["p_rest"] for x in cells]
        adj = adjust_p(p_rest, correction=rep.correction)
        for x, p in zip(cells, adj, strict=True):
            x["p_rest_adjusted"] = p
            x["significant_rest"] = bool(np.isfinite(p) and p < rep.alpha)
        out.extend(cells)
    return pd.DataFrame(out)[BANNER_COLUMNS]


def _banner_columns(
    data: pd.DataFrame, study: Study, cols: list[str]
) -> list[tuple[str, str, str, str, str, str, np.ndarray]]:
    """Return the banner's columns: Total, then each segment value in the study's order.

    Each is ``(name, segment, segment title, value, value label, letter, row mask)``.
    """
    columns: list[tuple[str, str, str, str, str, str, np.ndarray]] = [
        (TOTAL, "", "", "", "", "", np.ones(len(data), dtype=bool))
    ]
    k = 0
    for col in cols:
        seg = study.segment(col)
        # codes as the study file writes them ("1" for 1 and 1.0, text trimmed)
        codes = data[col].map(lambda x: None if pd.isna(x) else code_text(x))
        present = set(codes.dropna().unique())
        order = [v for v in seg.values if v in present] + sorted(present - set(seg.values))
        for v in order:
            mask = (codes == v).to_numpy(dtype=bool)
            label = str(seg.values.get(v, v))
            columns.append((f"{col}={v}", col, seg.title, v, label, letters_for(k), mask))
            k += 1
    return columns


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
    if len(table) == 0:
        return pd.DataFrame(index=pd.Index([], name="KPI"))
    heads = table.drop_duplicates("column")
    keys = [
        ("", "Total") if c == TOTAL else (t, f"{v} ({lt})")
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
        extra = {"Base": {key_of[c]: fmt_value(v, "base") for c, v in n.items()}}
        if study.is_weighted:
            ne = table.groupby("column", sort=False)["n_effective"].max()
            extra["Effective base"] = {key_of[c]: fmt_value(v, "base") for c, v in ne.items()}
        frame = pd.concat([pd.DataFrame.from_dict(extra, orient="index")[keys], frame])
    frame.columns = pd.MultiIndex.from_tuples(keys)
    frame.index.name = "KPI"
    return frame


def banner_note(table: pd.DataFrame, *, study: Study) -> str:
    """Return the banner's footnote (plain text, from the study's settings).

    What the letters mean, the test, level and correction, and the base rules when a cell
    is flagged.
    """
    rep = study.reporting
    design = "weighted, " if study.is_weighted else ""
    text = (
        "Letters: the cell is significantly higher than the columns of the same segment with "
        f"those letters (design-based t test of the difference, {design}"
        f"{significance_phrase(study, within='within each row and segment')})."
    )
    flags = set(table["flag"]) if len(table) else set()
    if "low base" in flags:
        text += f" {LOW_BASE_MARK} Low base: fewer than {rep.min_base:,} respondents, not tested."
    if "suppressed" in flags:
        text += f" {MISSING} Suppressed: fewer than {rep.suppress_below:,} respondents."
    return text


_CORRECTION_NAMES = {"holm": "Holm", "fdr_bh": "Benjamini-Hochberg", "bonferroni": "Bonferroni"}


def significance_phrase(study: Study, *, within: str = "") -> str:
    """Say how the tests are judged, from the study: ``"p < 0.05, Holm-adjusted"``.

    Plus ``within``, e.g. "within each row"; ``"p < 0.05"`` without a correction.
    """
    rep = study.reporting
    corr = _CORRECTION_NAMES.get(rep.correction)
    text = f"p < {rep.alpha:g}"
    if corr:
        text += f", {corr}-adjusted" + (f" {within}" if within else "")
    return text


def difference_text(difference: float, unit: str) -> str:
    """Return the size of a difference in words, by the row's unit.

    ``"46 points"`` (NPS), ``"35.7 pp"`` (shares), ``"4.1 index points"``, ``"0.52"``
    (means).

    Examples
    --------
    >>> difference_text(-46.2, "points"), difference_text(0.357, "share")
    ('46 points', '35.7 pp')
    >>> difference_text(-4.12, "index (0-100)"), difference_text(0.517, "mean (1-10)")
    ('4.1 index points', '0.52')
    """
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
        Wave codes in time order; default the study's waves that have respondents.

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
    present = set(data[wave_col].dropna().astype(str))
    order = [str(w) for w in (waves if waves is not None else study.waves) if str(w) in present]
    pooled = banner(data, study=study, segments=segments, areas=False)
    pooled = pooled[pooled["row"] == "csi"]
    letter_of = dict(zip(pooled["column"], pooled["letter"], strict=True))
    parts = []
    for w in order:
        b = banner(
            data[data[wave_col].astype(str) == w], study=study, segments=segments, areas=False
        )
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


def segment_index_view(table: pd.DataFrame) -> pd.DataFrame:
    """Return :func:`segment_index_by_wave` as a client reads it.

    Parameters
    ----------
    table : DataFrame
        The output of :func:`segment_index_by_wave`.

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
    keys = {
        c: ("", "Total") if c == TOTAL else (t, f"{v} ({lt})")
        for c, t, v, lt in zip(
            heads["column"], heads["segment_label"], heads["value_label"], heads["letter"],
            strict=True,
        )
    }  # fmt: skip
    body: dict[tuple, dict[str, str]] = {k: dict.fromkeys(waves, "") for k in keys.values()}
    for r in table.itertuples(index=False):
        body[keys[r.column]][r.wave_label] = _cell_text(r)
    frame = pd.DataFrame.from_dict(body, orient="index")[waves]
    frame.index = pd.MultiIndex.from_tuples(list(body), names=["Segment", "Group"])
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
    cells = table[(table["column"] != TOTAL) & (table["flag"] == "")]
    if cells.empty:
        return md("No segment group has a base large enough to be compared in any wave.")
    last = cells["wave"].iloc[-1]
    now = cells[cells["wave"] == last].dropna(subset=["difference_rest"])
    if now.empty:
        return md("No segment group can be compared with the rest of the sample.")
    low = now.loc[now["difference_rest"].idxmin()]
    lowest = cells.loc[cells.groupby(["wave", "segment"])["estimate"].idxmin()]
    n_low = int((lowest["column"] == low["column"]).sum())
    n_waves = int(cells["wave"].nunique())
    head = md(
        "In {wave}, **{group}** ({segment}) have the lowest index relative to the rest of "
        "the sample: {score:index},",
        wave=low["wave_label"],
        group=low["value_label"],
        segment=low["segment_label"],
        score=low["estimate"],
    )
    if bool(low["significant_rest"]):
        gap = md(
            " {gap:index} index points below the rest ({p}, n = {n:,})",
            gap=-low["difference_rest"],
            p=fmt_p(low["p_rest_adjusted"], prefix=True),
            n=int(low["n"]),
        )
    else:
        gap = md(
            " not significantly below the rest ({p}, n = {n:,})",
            p=fmt_p(low["p_rest_adjusted"], prefix=True),
            n=int(low["n"]),
        )
    tail = md(
        "; they had the lowest index of their segment in {k} of {m}.",
        k=n_low,
        m=fmt_count(n_waves, "wave"),
    )
    return md("{a}{b}{c}", a=head, b=gap, c=tail)
