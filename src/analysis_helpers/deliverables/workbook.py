"""``report.xlsx``: every table the report shows, on a sheet of its own (xlsxwriter).

- a *Contents* sheet first: the study, client, waves and report date, then one row per
  table with a link to its sheet, its caption and the part of the report it comes from;
- each shown table on its own sheet: the caption above, the column labels as (frozen)
  headers - spanning headers for several levels -, the unrounded values with the number
  format of their kind (percentages, decimals by statistic, whole numbers for bases,
  p-values as "< 0.001"), intervals as a low and a high column, column widths from the
  content, and below the table its footnotes and the base, confidence level, test and
  correction;
- safe cells: every text is written as text (never a formula, a number or a link), and
  a text that a spreadsheet would read as a formula (``=``, ``+``, ``-``, ``@``, tab,
  CR) carries Excel's quote prefix, so editing the cell keeps it text; respondent text
  is redacted before it gets here (:mod:`analysis_helpers.safe_output`).

Sheet names are unique (Excel compares them without case), at most 31 characters, and
free of the characters Excel forbids.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from ..formatting import _CORRECTIONS, confidence_label
from ..safe_output import FORMULA_PREFIXES, clean_text
from ..text import template
from .manifest import notebook_number

if TYPE_CHECKING:
    from ..study import Study

__all__ = ["write_workbook", "sheet_name"]

_FORBIDDEN = re.compile(r"[\[\]:*?/\\\x00-\x1f]")
_RESERVED = {"history"}
_HEADER_BG = "#DCE6F1"
#: the page's cell classes as Excel fonts (green better, red worse: formatting.GOOD/BAD)
_STYLES: dict[str, dict[str, Any]] = {
    "up-good": {"font_color": "#009E73", "bold": True, "align": "center"},
    "down-good": {"font_color": "#009E73", "bold": True, "align": "center"},
    "up-bad": {"font_color": "#D55E00", "bold": True, "align": "center"},
    "down-bad": {"font_color": "#D55E00", "bold": True, "align": "center"},
    "sig": {"bold": True, "align": "center"},
    "flag-low": {"font_color": "#8A5A00", "italic": True},
    "flag-suppressed": {"font_color": "#6E7781", "italic": True},
    "flag-other": {"font_color": "#6E7781", "italic": True},
}


def sheet_name(text: str, taken: set[str]) -> str:
    """Return a valid, unused Excel sheet name from ``text`` (added to ``taken``, lower case).

    Examples
    --------
    >>> taken = set()
    >>> sheet_name("20-1 KPIs: Q3/2024 [all]", taken)
    '20-1 KPIs Q3 2024 all'
    >>> sheet_name("20-1 kpis q3 2024 all", taken)
    '20-1 kpis q3 2024 all (2)'
    """
    name = _FORBIDDEN.sub(" ", clean_text(text))
    name = re.sub(r"\s+", " ", name).strip().strip("'").strip() or "Table"
    if name.lower() in _RESERVED:
        name += " 1"
    if len(name) > 31:
        cut = name.rfind(" ", 0, 31)
        name = name[:cut] if cut >= 16 else name[:31]
        name = name.rstrip(" ,;-(")
    base, k = name, 1
    while name.lower() in taken:
        k += 1
        suffix = f" ({k})"
        name = base[: 31 - len(suffix)].rstrip() + suffix
    taken.add(name.lower())
    return name


def _unsafe(text: str) -> bool:
    return text.startswith(FORMULA_PREFIXES)


class _Formats:
    """xlsxwriter formats, made once per distinct look."""

    def __init__(self, book: Any, font: str | None) -> None:
        self.book = book
        self.font = font
        self.lang = "en"  # the report's language: the words of the sheets
        self.cache: dict[tuple, Any] = {}

    def get(self, **props: Any) -> Any:
        if self.font and "font_name" not in props:
            props["font_name"] = self.font
        key = tuple(sorted(props.items()))
        if key not in self.cache:
            self.cache[key] = self.book.add_format(props)
        return self.cache[key]


def _put_text(sheet: Any, row: int, col: int, text: Any, fmts: _Formats, **props: Any) -> None:
    """Write text as text: quote-prefixed when a spreadsheet would run it."""
    text = "" if text is None else clean_text(text)
    if _unsafe(text):
        props["quote_prefix"] = True
    if text == "":
        sheet.write_blank(row, col, None, fmts.get(**props))
    else:
        sheet.write_string(row, col, text, fmts.get(**props))


def write_workbook(
    entries: Sequence[Mapping[str, Any]],
    study: Study,
    path: str | Path,
    *,
    report_dir: str | Path,
    date: str | None = None,
    titles: Mapping[str, str] | None = None,
    font: str | None = None,
) -> dict[str, Any]:
    """Write ``report.xlsx`` from the manifest's table entries.

    Parameters
    ----------
    entries : sequence of dict
        The manifest (:func:`manifest.read_manifest`); only ``table`` entries are used.
    study : Study
    path : str or Path
        The workbook to write.
    report_dir : str or Path
        The report folder the entries' data paths are relative to.
    date : str, optional
        The report date (ISO), shown on the contents sheet.
    titles : mapping, optional
        Notebook name -> the title of its part, for the contents sheet.
    font : str, optional
        Font of every cell (default: Excel's own).

    Returns
    -------
    dict
        ``file`` (the name), ``sheets`` (tables written), ``tables`` (one dict per table:
        ``sheet``, ``caption``, ``notebook``, ``rows``).
    """
    import xlsxwriter

    path = Path(path)
    report_dir = Path(report_dir)
    titles = dict(titles or {})
    tables = [e for e in entries if e.get("type") == "table"]
    book = xlsxwriter.Workbook(
        str(path),
        {
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
            "nan_inf_to_errors": False,
        },
    )
    book.set_properties(
        {
            "title": clean_text(study.title),
            "company": clean_text(study.client or ""),
            "comments": "Written by analysis_helpers from the report's tables",
        }
    )
    fmts = _Formats(book, font)
    fmts.lang = lang = study.language
    taken: set[str] = set()
    contents = book.add_worksheet(sheet_name(template("workbook.contents", lang), taken))
    written: list[dict[str, Any]] = []
    counters: dict[str, int] = {}
    for entry in tables:
        nb = str(entry.get("notebook", ""))
        counters[nb] = counters.get(nb, 0) + 1
        caption = entry.get("caption") or titles.get(nb) or nb
        name = sheet_name(f"{notebook_number(nb)}-{counters[nb]} {caption}", taken)
        sheet = book.add_worksheet(name)
        frame = pd.read_parquet(report_dir / entry["data"])
        _write_table(sheet, entry, frame, fmts, caption=entry.get("caption"))
        written.append(
            {"sheet": name, "caption": entry.get("caption"), "notebook": nb, "rows": len(frame)}
        )
    _write_contents(contents, study, written, fmts, date=date, titles=titles)
    book.close()
    return {"file": path.name, "sheets": len(written), "tables": written}


def _write_contents(
    sheet: Any,
    study: Study,
    tables: Sequence[Mapping[str, Any]],
    fmts: _Formats,
    *,
    date: str | None,
    titles: Mapping[str, str],
) -> None:
    row = 0
    lang = study.language
    _put_text(sheet, row, 0, study.title, fmts, bold=True, font_size=14)
    row += 1
    facts = []
    if study.client:
        facts.append((template("workbook.client", lang), study.client))
    waves = [study.wave_label(w) for w in study.waves]
    facts.append(
        (template("workbook.waves" if len(waves) != 1 else "workbook.wave", lang), ", ".join(waves))
    )
    if date:
        facts.append((template("workbook.date", lang), date))
    rep = study.reporting
    stats = template("workbook.stats", lang).format(
        confidence=confidence_label(study), alpha=f"{rep.alpha:g}"
    )
    if rep.correction != "none":
        stats += template("workbook.stats_correction", lang).format(
            correction=_correction(rep.correction)
        )
    if study.is_weighted:
        stats += template("workbook.stats_weighted", lang)
    facts.append((template("workbook.statistics", lang), stats))
    for key, value in facts:
        _put_text(sheet, row, 0, key, fmts, bold=True)
        _put_text(sheet, row, 1, value, fmts)
        row += 1
    row += 1
    heads = [
        template(key, lang)
        for key in ("workbook.sheet", "workbook.table", "workbook.part", "workbook.rows")
    ]
    for j, h in enumerate(heads):
        _put_text(sheet, row, j, h, fmts, bold=True, bg_color=_HEADER_BG, bottom=1)
    sheet.freeze_panes(row + 1, 0)
    row += 1
    if not tables:
        _put_text(sheet, row, 0, template("workbook.no_tables", lang), fmts, italic=True)
    link = fmts.get(font_color="#0563C1", underline=1)
    for t in tables:
        target = "internal:'" + t["sheet"].replace("'", "''") + "'!A1"
        sheet.write_url(row, 0, target, link, string=t["sheet"])
        _put_text(sheet, row, 1, t["caption"] or "", fmts, text_wrap=True, valign="top")
        _put_text(sheet, row, 2, titles.get(t["notebook"], t["notebook"]), fmts, valign="top")
        sheet.write_number(row, 3, t["rows"], fmts.get(num_format="#,##0", valign="top"))
        row += 1
    widths = [
        max([10, *(len(t["sheet"]) + 2 for t in tables)]),
        60,
        max([20, *(len(titles.get(t["notebook"], t["notebook"])) + 2 for t in tables)]),
        8,
    ]
    for j, w in enumerate(widths):
        sheet.set_column(j, j, min(w, 70))
    sheet.activate()


def _correction(name: str) -> str:
    return _CORRECTIONS.get(name, name)


def _write_table(
    sheet: Any,
    entry: Mapping[str, Any],
    frame: pd.DataFrame,
    fmts: _Formats,
    *,
    caption: str | None,
) -> None:
    columns = entry["columns"]
    ncol = max(1, len(columns))
    row = 0
    if caption:
        _put_text(sheet, row, 0, caption, fmts, bold=True, font_size=12)
        row += 2
    row = _write_header(sheet, columns, row, fmts)
    first_data = row
    sheet.freeze_panes(first_data, 0)
    row = _write_cells(sheet, columns, frame, row, fmts)
    if len(frame) == 0:
        _put_text(sheet, row, 0, template("workbook.no_rows", fmts.lang), fmts, italic=True)
        row += 1
    row += 1
    notes = [*entry.get("notes", [])]
    if entry.get("footnote"):
        notes.append(entry["footnote"])
    for n in notes:
        _put_text(sheet, row, 0, n, fmts, italic=True, font_color="#57606A")
        row += 1
    for j, c in enumerate(columns):
        sheet.set_column(j, j, c["width"])
    if not columns:
        sheet.set_column(0, ncol - 1, 12)


def _write_header(sheet: Any, columns: list[dict], row: int, fmts: _Formats) -> int:
    """Write the header rows from ``row`` and return the row after them.

    A label of an upper header level spans its run of equal labels (a merged cell).
    """
    depth = max((len(c["label"]) for c in columns), default=1)
    head = dict(bold=True, bg_color=_HEADER_BG, text_wrap=True, valign="bottom")
    for level in range(depth):
        j = 0
        while j < len(columns):
            labels = columns[j]["label"]
            pad = depth - len(labels)
            text = labels[level - pad] if level >= pad else ""
            last = level == depth - 1
            # an upper-level label spans its run of equal labels
            k = j
            if not last and text:
                while (
                    k + 1 < len(columns)
                    and _level(columns[k + 1]["label"], level, depth) == text
                    and _level(columns[k + 1]["label"], level - 1, depth)
                    == _level(labels, level - 1, depth)
                ):
                    k += 1
            align = "right" if (last and columns[j]["numeric"]) else "left"
            props = dict(head, align="center" if k > j else align)
            if last:
                props["bottom"] = 1
            if k > j:
                safe = {**props, "quote_prefix": True} if _unsafe(text) else props
                sheet.merge_range(row, j, row, k, clean_text(text), fmts.get(**safe))
            else:
                _put_text(sheet, row, j, text, fmts, **props)
            j = k + 1
        row += 1
    return row


def _write_cells(
    sheet: Any, columns: list[dict], frame: pd.DataFrame, row: int, fmts: _Formats
) -> int:
    """Write the table's values from ``row`` and return the row after them.

    Numbers are written unrounded with their Excel format (non-finite ones blank), text
    with its style.
    """
    for i in range(len(frame)):
        for j, c in enumerate(columns):
            value = frame.iat[i, j]
            if c["numeric"]:
                fmt = (c.get("formats") or [None] * len(frame))[i] or c["format"]
                props = {"num_format": fmt} if fmt else {}
                v = float(value) if value is not None else float("nan")
                if math.isfinite(v):
                    sheet.write_number(row, j, v, fmts.get(**props))
                else:
                    sheet.write_blank(row, j, None, fmts.get(**props))
            else:
                style = _STYLES.get((c.get("styles") or [""] * len(frame))[i], {})
                _put_text(sheet, row, j, value, fmts, **style)
        row += 1
    return row


def _level(labels: Sequence[str], level: int, depth: int) -> str | None:
    pad = depth - len(labels)
    if level < 0:
        return None
    return labels[level - pad] if level >= pad else ""
