"""One report per unit: the unit filter, folder names, the units, the comparison with the total.

``python -m analysis_helpers report --per region`` writes one complete report per value of
the segment (a *unit*: a region, a store, a customer type) with only that unit's
respondents, and an index of the units (:mod:`analysis_helpers.runner`):

- the cleaning step runs once, on every respondent (the raked weights are the whole
  sample's); each unit's report then runs every analysis notebook on the unit's rows:
  :func:`~analysis_helpers.notebook.setup` reads the unit from the report folder's
  ``unit.json`` and :func:`~analysis_helpers.cleaning.load_clean` returns
  :func:`unit_rows` only. A unit's pages are therefore the pages of the full report
  computed on the unit's data (its respondents treated as a sample of their own: strata
  and clusters within the unit);
- :func:`plan_units` decides which values get a report: a value with fewer respondents in
  the latest wave than ``reporting.min_base`` gets one sentence in the index instead;
- :func:`unit_comparison` compares each unit with the total: the study's KPIs and index in
  the latest wave for the unit, the whole sample and the difference, with the design-based
  test of the unit against the rest of the sample from
  :func:`~analysis_helpers.cross.banner` (domain estimation on the whole design; the test
  of unit - rest is the test of unit - total, because unit - total = (1 - s)(unit - rest)
  for the unit's weighted share s). It is the unit summary's last section and the units
  index's table, with the same numbers.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Collection

import numpy as np
import pandas as pd

from .formatting import fmt_count, fmt_list, fmt_value
from .safe_output import Md, md
from .study import Study, code_text

__all__ = [
    "UNIT_FILE",
    "COMPARISON_COLUMNS",
    "RESERVED_FOLDERS",
    "safe_folder",
    "segment_folder",
    "unit_rows",
    "plan_units",
    "unit_comparison",
    "comparison_heading",
    "comparison_caption",
    "comparison_takeaway",
    "index_table",
]

#: the file in a unit report's folder that names its unit (written by the runner)
UNIT_FILE = "unit.json"

#: names a unit folder never takes: the files and folders beside it and inside a report
RESERVED_FOLDERS = frozenset(
    {"tables", "figures", "deliverables", "index", "run", "units", "latest", "cleaning"}
)

#: the columns of the comparison as the unit summary shows it
COMPARISON_COLUMNS: dict[str, str | None] = {
    "label": "KPI",
    "estimate": "This unit",
    "ci": None,
    "n": None,
    "total": "Total",
    "total_difference": "Difference to the total",
    "significant": "Sig. vs rest",
    "flag": None,
}

_SLUG = re.compile(r"[^a-z0-9_]+")


def safe_folder(value: object, *, taken: Collection[str] = ()) -> str:
    r"""Return a folder name for a code: lower-case ASCII letters, digits, ``_`` and ``-``.

    Accents are dropped, any other run of characters becomes ``-``; nothing can climb out
    of the folder (no ``/``, ``\\``, ``..`` or leading dot). A name that comes out empty,
    reserved (:data:`RESERVED_FOLDERS`), longer than 40 characters or already ``taken``
    gets a short hash of the code, so different codes never share a folder.

    Examples
    --------
    >>> safe_folder("North"), safe_folder("../etc/passwd"), safe_folder("Île-de-France")
    ('north', 'etc-passwd', 'ile-de-france')
    >>> safe_folder("华北")
    'unit-591c83ea'
    """
    text = unicodedata.normalize("NFKD", str(value)).encode("ascii", "ignore").decode()
    slug = _SLUG.sub("-", text.lower()).strip("-_")[:40].strip("-_")
    taken = set(taken)
    if slug and slug not in RESERVED_FOLDERS and slug not in taken:
        return slug
    digest = hashlib.sha256(str(value).encode("utf-8")).hexdigest()
    stem = slug or "unit"
    for k in range(8, 65, 4):
        candidate = f"{stem}-{digest[:k]}"
        if candidate not in taken:
            return candidate
    raise ValueError(f"safe_folder: no free folder name for {value!r}")  # pragma: no cover


def segment_folder(column: str) -> str:
    """Return the folder of a segment's unit reports, ``by-<column>`` (see :func:`safe_folder`).

    Examples
    --------
    >>> segment_folder("region"), segment_folder("Main channel")
    ('by-region', 'by-main-channel')
    """
    return f"by-{safe_folder(column)}"


def _codes(data: pd.DataFrame, column: str) -> pd.Series:
    """Return a segment column's codes as the study file writes them (``None`` if missing)."""
    return data[column].map(lambda x: None if pd.isna(x) else code_text(x))


def unit_rows(
    data: pd.DataFrame, *, study: Study, segment: str | None = None, value: object = None
) -> np.ndarray:
    """Return which respondents belong to a unit (a boolean mask over the rows of ``data``).

    Parameters
    ----------
    data : DataFrame
        Clean analysis data.
    study : Study
    segment, value : optional
        The unit; default the study's own (:attr:`Study.unit`).

    Returns
    -------
    ndarray of bool
        True for the rows whose segment code equals the unit's (codes compared as text:
        ``1``, ``1.0`` and ``"1"`` are one code).

    Raises
    ------
    KeyError
        ``segment`` is not a segment of the study (the message names the valid ones) or
        not a column of ``data``; ValueError when no unit is given and the study has none.
    """
    if segment is None:
        if study.unit is None:
            raise ValueError("unit_rows: no unit given and the study has none (Study.unit)")
        segment, value = study.unit
    if segment not in study.segment_columns():
        valid = ", ".join(study.segment_columns()) or "none"
        raise KeyError(
            f"unit_rows: {segment!r} is not a segment of study {study.name!r}; its segments: "
            f"{valid}"
        )
    if segment not in data.columns:
        raise KeyError(f"unit_rows: segment column {segment!r} is not in the data")
    return (_codes(data, segment) == code_text(value)).to_numpy(dtype=bool)


def _latest(data: pd.DataFrame, study: Study) -> tuple[pd.DataFrame, str | None]:
    """Return the latest wave's rows with respondents, and its code (None: no waves)."""
    if not study.waves_declared or study.wave_column not in data.columns:
        return data, None
    waves = data[study.wave_column].astype("string")
    present = set(waves.dropna())
    with_data = [w for w in study.waves if w in present]
    if not with_data:
        return data.iloc[:0], None
    return data[(waves == with_data[-1]).fillna(False).to_numpy(dtype=bool)], with_data[-1]


def plan_units(data: pd.DataFrame, *, study: Study, segment: str) -> pd.DataFrame:
    """Return the units of a segment and whether each gets a report.

    A value gets a report when the latest wave (the wave the pages describe) has at least
    ``reporting.min_base`` of its respondents; otherwise the index says why in one
    sentence. Values are those of the study file (or the data's, see
    :meth:`Study.segment`), then codes found only in the data.

    Parameters
    ----------
    data : DataFrame
        The clean analysis data of the whole sample.
    study : Study
    segment : str
        A segment column of the study.

    Returns
    -------
    DataFrame
        One row per value: ``value`` (the code), ``value_label``, ``folder`` (safe,
        unique), ``n`` (respondents in the latest wave), ``n_all`` (in every wave),
        ``report`` (bool) and ``note`` ("" when it gets a report).

    Raises
    ------
    KeyError
        ``segment`` is not a segment of the study; the message names the valid ones.
    """
    if segment not in study.segment_columns():
        valid = ", ".join(study.segment_columns()) or "none"
        raise KeyError(
            f"{segment!r} is not a segment of study {study.name!r}; its segments: {valid}"
        )
    seg = study.segment(segment)
    latest, wave = _latest(data, study)
    codes_all, codes_now = _codes(data, segment), _codes(latest, segment)
    present = set(codes_all.dropna())
    order = list(seg.values) + sorted(present - set(seg.values))
    counts_all, counts_now = codes_all.value_counts(), codes_now.value_counts()
    min_base = study.reporting.min_base
    where = f" in {study.wave_label(wave)}" if wave is not None and study.is_multiwave else ""
    rows: list[dict] = []
    taken: set[str] = set()
    for v in order:
        folder = safe_folder(v, taken=taken)
        taken.add(folder)
        n, n_all = int(counts_now.get(v, 0)), int(counts_all.get(v, 0))
        label = str(seg.values.get(v, v))
        note = ""
        if n < min_base:
            has = "no respondents" if n == 0 else fmt_count(n, "respondent")
            note = (
                f"{label} has {has}{where}, fewer than the {min_base:,} a report needs "
                "(reporting.min_base), so it has no report of its own."
            )
        rows.append(
            {
                "value": v,
                "value_label": label,
                "folder": folder,
                "n": n,
                "n_all": n_all,
                "report": not note,
                "note": note,
            }
        )
    return pd.DataFrame(
        rows, columns=["value", "value_label", "folder", "n", "n_all", "report", "note"]
    )


def unit_comparison(
    data: pd.DataFrame, *, study: Study, segment: str | None = None, value: object = None
) -> pd.DataFrame:
    """Compare a unit (or every unit of a segment) with the total, in the latest wave.

    The study's KPIs and satisfaction index (the banner's ``kpi`` and ``index`` rows, see
    :func:`~analysis_helpers.cross.banner`) for the unit and for the whole sample, the
    difference, and the design-based test of the unit against the rest of the sample
    (Taylor linearisation on the whole design, the study's correction over the units of
    each row, judged at ``reporting.alpha``). Since unit - total = (1 - s)(unit - rest),
    with s the unit's weighted share, it is also the test of unit - total = 0.

    Parameters
    ----------
    data : DataFrame
        The clean analysis data of the **whole** sample (``load_clean(study, unit=False)``).
    study : Study
    segment, value : optional
        The unit; default the study's own (:attr:`Study.unit`). ``value=None`` with a
        ``segment`` compares every value of the segment.

    Returns
    -------
    DataFrame
        One row per KPI (and unit): ``row``, ``level``, ``label``, ``unit`` (of the
        statistic), ``value``, ``value_label``, ``n``, ``estimate``, ``se``, ``ci_low``,
        ``ci_high``, ``total``, ``total_n``, ``total_difference`` (unit - total),
        ``difference_rest`` (unit - rest), ``direction`` ("higher" / "lower" than the
        rest, "" when equal or untested), ``p_rest``, ``p_rest_adjusted``,
        ``significant`` (against the rest, after correction), ``flag`` and ``wave`` ("" in
        a study without waves). Empty when the study has no KPIs and no index.

    References
    ----------
    Lumley, T. (2010). *Complex Surveys: A Guide to Analysis Using R*, ch. 2.3 (domain
    estimation: a subpopulation is estimated on the full design).

    Examples
    --------
    The total is the weighted mix of the unit and the rest, so the difference to the
    total is (1 - s) times the difference to the rest:

    >>> s, unit, rest = 0.25, 7.2, 6.8
    >>> total = s * unit + (1 - s) * rest
    >>> round(unit - total, 6) == round((1 - s) * (unit - rest), 6)
    True
    """
    from .cross import banner

    if segment is None:
        if study.unit is None:
            raise ValueError("unit_comparison: no unit given and the study has none")
        segment, value = study.unit
    latest, wave = _latest(data, study)
    columns = [
        "row",
        "level",
        "label",
        "unit",
        "value",
        "value_label",
        "n",
        "estimate",
        "se",
        "ci_low",
        "ci_high",
        "total",
        "total_n",
        "total_difference",
        "difference_rest",
        "direction",
        "p_rest",
        "p_rest_adjusted",
        "significant",
        "flag",
        "wave",
    ]
    if segment not in study.segment_columns():
        unit_rows(data, study=study, segment=segment, value=value)  # the KeyError
    table = banner(latest, study=study, segments=[segment], areas=False)
    if table.empty:
        return pd.DataFrame(columns=columns)
    total = table[table["column"] == "total"].set_index("row")
    cells = table[table["segment"] == segment].copy()
    if value is not None:
        cells = cells[cells["value"] == code_text(value)]
    cells["total"] = cells["row"].map(total["estimate"])
    cells["total_n"] = cells["row"].map(total["n"]).astype("int64")
    cells["total_difference"] = cells["estimate"] - cells["total"]
    cells["direction"] = np.where(
        cells["difference_rest"] > 0, "higher", np.where(cells["difference_rest"] < 0, "lower", "")
    )
    cells["significant"] = cells["significant_rest"]
    cells["wave"] = wave or ""
    return cells[columns].reset_index(drop=True)


def comparison_heading(table: pd.DataFrame, *, study: Study) -> Md:
    """Return the unit summary's last section: its heading and what it compares.

    Parameters
    ----------
    table : DataFrame
        :func:`unit_comparison` of one unit.
    study : Study
    """
    name = str(table["value_label"].iloc[0]) if len(table) else ""
    return md(
        "## {name} compared with the total\n\nThis report shows **{name}** only. The table "
        "sets its KPIs beside those of the whole sample; the arrows mark where it differs "
        "significantly from the rest of the sample (design-based test, {phrase}).",
        name=name or "This unit",
        phrase=_phrase(study),
    )


def comparison_caption(table: pd.DataFrame, *, study: Study) -> str:
    """Return the comparison table's caption (plain text): "North against the total, Q4 2025"."""
    name = str(table["value_label"].iloc[0]) if len(table) else "The unit"
    wave = str(table["wave"].iloc[0]) if len(table) else ""
    when = f", {study.wave_label(wave)}" if wave and study.is_multiwave else ""
    return f"{name} against the total{when}"


def _phrase(study: Study) -> str:
    from .cross import significance_phrase

    return significance_phrase(study, within="over the units of each KPI")


def comparison_takeaway(table: pd.DataFrame, *, study: Study) -> Md:
    """Say where the unit differs significantly from the rest of the sample.

    Parameters
    ----------
    table : DataFrame
        :func:`unit_comparison` of one unit.
    study : Study

    Returns
    -------
    Md
        "**North 华北** is significantly higher than the rest of the sample on NPS (+8
        points against the total) and lower on ...; the other 3 KPIs do not differ
        significantly." Or one sentence that nothing differs.
    """
    if table.empty:
        return md("The study has no KPIs to compare with the total.")
    name = str(table["value_label"].iloc[0])
    sig = table[table["significant"].astype(bool)]
    parts: list[str] = []
    for direction, rows in (
        ("higher", sig[sig["difference_rest"] > 0]),
        ("lower", sig[sig["difference_rest"] < 0]),
    ):
        if rows.empty:
            continue
        named = [
            f"{r.label} ({fmt_value(r.estimate, r.unit)} against {fmt_value(r.total, r.unit)} "
            "in the total)"
            for r in rows.itertuples()
        ]
        than = " than the rest of the sample" if not parts else ""
        parts.append(f"{direction}{than} on {fmt_list(named)}")
    tested = table[table["p_rest"].notna()]
    others = len(tested) - len(sig)
    if not parts:
        if tested.empty:
            return md(
                "**{name}** cannot be tested against the rest of the sample: the bases are "
                "too small.",
                name=name,
            )
        return md(
            "**{name}** does not differ significantly from the rest of the sample on any of "
            "the {n} KPIs tested.",
            name=name,
            n=len(tested),
        )
    rest = f"; the other {fmt_count(others, 'KPI')} do not differ significantly" if others else ""
    return md(
        "**{name}** is significantly {parts}{rest}.",
        name=name,
        parts=" and ".join(parts),
        rest=rest,
    )


def index_table(plan: pd.DataFrame, comparison: pd.DataFrame) -> pd.DataFrame:
    """Return the units index's table: one row per unit, one column per KPI.

    Parameters
    ----------
    plan : DataFrame
        :func:`plan_units`.
    comparison : DataFrame
        :func:`unit_comparison` of every value of the segment.

    Returns
    -------
    DataFrame
        ``value``, ``value_label``, ``folder``, ``n``, ``report``, ``note``, then per KPI
        (in banner order) a text column named by its label: the unit's value, with "▲" /
        "▼" when it is significantly higher / lower than the rest; the first row is the
        total (``value`` ""). Values are formatted by their unit; the numbers are those
        of :func:`unit_comparison`.
    """
    labels = list(dict.fromkeys(comparison["label"])) if len(comparison) else []
    total: dict[str, str] = {}
    for r in comparison.drop_duplicates("row").itertuples():
        total[r.label] = fmt_value(r.total, r.unit)
    head = {"value": "", "value_label": "Total", "folder": "", "report": False, "note": ""}
    n_total = int(comparison["total_n"].max()) if len(comparison) else int(plan["n"].sum())
    rows = [{**head, "n": n_total, **total}]
    for p in plan.itertuples():
        row = {
            "value": p.value,
            "value_label": p.value_label,
            "folder": p.folder,
            "n": int(p.n),
            "report": bool(p.report),
            "note": p.note,
        }
        cells = comparison[comparison["value"] == p.value]
        for c in cells.itertuples():
            mark = ""
            if bool(c.significant):
                mark = " ▲" if c.difference_rest > 0 else " ▼"
            row[c.label] = "–" if c.flag == "suppressed" else fmt_value(c.estimate, c.unit) + mark
        rows.append(row)
    out = pd.DataFrame(rows)
    for label in labels:
        if label not in out.columns:
            out[label] = ""
    return out[["value", "value_label", "folder", "n", "report", "note", *labels]].fillna("")
