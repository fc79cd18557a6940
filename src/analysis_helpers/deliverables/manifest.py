"""The deliverables' manifest: what each notebook showed, recorded as it was shown.

Every ``ctx.show``, ``ctx.save_figure`` and ``ctx.say`` of a notebook appends one JSON line
to ``deliverables/<notebook>.jsonl`` in the report folder (notebooks run side by side in
processes of their own, so each writes its own file; each line is written with one
``write`` on a file opened for appending). Tables and chart data go beside it as Parquet
files (``deliverables/<notebook>/t003.parquet``), unrounded. The workbook and the deck are
built from these entries after every notebook has succeeded: no number is typed twice,
and no deliverable depends on the name of a notebook's table.

Entries (``type``):

``table``
    ``caption``, ``notes`` (the table's footnotes: significance key, base rules, the
    author's note), ``footnote`` (base, test, confidence level, correction), ``columns``
    (one per workbook column: ``label`` - a list, one text per header level -, ``kind``,
    ``format`` - the Excel number format, or None for text -, ``width`` in characters,
    ``formats`` - one format per row where the column follows the row's unit -, ``styles``
    - the page's class per row, e.g. ``up-good`` for a green arrow), ``data``
    (the Parquet file: one column per workbook column, numbers unrounded, text as shown -
    value labels, respondent text redacted), ``rows``.
``figure``
    ``name``, ``png`` (path in the report folder), ``size`` (inches), ``caption``,
    ``takeaway``, ``note``, ``base``, and ``chart`` when the notebook gave the data behind
    a bar, line or scatter chart (``type``, ``x``, ``y``, ``series``, ``label``,
    ``format``, ``data``).
``say``
    ``text``: the takeaway as plain text (what a reader sees).
``na``
    ``text``: a section that does not apply, in one sentence.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..formatting import (
    _CORRECTIONS,
    KINDS,
    MISSING,
    TableView,
    _kind,
    _leaf_label,
    confidence_label,
    default_kind,
    kind_for_unit,
)
from ..safe_output import clean_text
from ..text import template

if TYPE_CHECKING:
    from ..study import Study

__all__ = [
    "FOLDER",
    "CHART_TYPES",
    "Chart",
    "Recorder",
    "excel_format",
    "read_manifest",
]

#: the folder of the manifest inside a report folder
FOLDER = "deliverables"
#: chart types the deck draws as native charts
CHART_TYPES = ("bar", "column", "line", "scatter")


# ---- number formats -----------------------------------------------------------------
def excel_format(kind: str, decimals: int | None = None, *, signed: bool = False) -> str | None:
    """Return the Excel number format of a value of ``kind`` shown with ``decimals``.

    The same choices as the report pages (:mod:`analysis_helpers.formatting`): shares as
    percentages, means with 2 decimals, indices with 1, bases as whole numbers with
    thousands separators, p-values as "< 0.001"; deltas are signed, deltas of shares in
    percentage points (the value is then written times 100). None for text.

    Examples
    --------
    >>> excel_format("share"), excel_format("share", 1), excel_format("base")
    ('0%', '0.0%', '#,##0')
    >>> excel_format("mean", signed=True)
    '+0.00;-0.00;0.00'
    >>> excel_format("share", signed=True)
    '+0.0" pp";-0.0" pp";0.0" pp"'
    """
    k = KINDS.get(kind)
    if k is None or not k.numeric or k.name == "bool":
        return None
    d = k.decimals if decimals is None else decimals
    if k.name == "p":
        d = 3 if d is None else d
        floor = f"0.{'0' * (d - 1)}1" if d > 0 else "1"
        return f'[<{floor}]"< {floor}";0.{"0" * d}' if d > 0 else "0"
    if k.name in ("base", "integer"):
        body = "#,##0" if k.name == "base" else "0"
        return f"+{body};-{body};0" if signed else body
    frac = f".{'0' * d}" if d else ""
    if k.name == "share":
        if signed:
            dd = 1 if decimals is None else decimals
            p = "0" + (f".{'0' * dd}" if dd else "")
            return f'+{p}" pp";-{p}" pp";{p}" pp"'
        return f"0{frac}%"
    if k.name == "percent":
        if signed:
            dd = 1 if decimals is None else decimals
            p = "0" + (f".{'0' * dd}" if dd else "")
            return f'+{p}" pp";-{p}" pp";{p}" pp"'
        return f'0{frac}"%"'
    d = 2 if d is None else d
    frac = f".{'0' * d}" if d else ""
    body = f"#,##0{frac}" if k.name == "number" else f"0{frac}"
    return f"+{body};-{body};{body}" if signed else body


def _text_width(text: str) -> int:
    """Display width in characters (East Asian wide characters count twice)."""
    return sum(2 if "\u1100" <= ch and _wide(ch) else 1 for ch in text)


def _wide(ch: str) -> bool:
    import unicodedata

    return unicodedata.east_asian_width(ch) in ("W", "F")


# ---- chart spec ---------------------------------------------------------------------
@dataclass(frozen=True)
class Chart:
    """What a native chart in the deck needs: its type and the columns of its tidy data.

    Attributes
    ----------
    type : {"bar", "column", "line", "scatter"}
        ``bar`` horizontal bars, ``column`` vertical bars, ``line`` lines with markers,
        ``scatter`` points (``x`` numeric).
    x : str
        The categories (bar, column, line) or the horizontal values (scatter).
    y : str or list of str
        The value column(s); several columns are several series (wide data).
    series : str, optional
        A column whose values are the series (long data), e.g. ``wave`` or ``label``.
    label : str, optional
        Scatter: a column naming each point (shown as its data label).
    kind : str, optional
        The values' kind (``"share"``, ``"mean"``, ``"index"``, ...; default from the
        column name, as for tables): sets the axis and label number format.
    x_title, y_title : str, optional
        Axis titles (plain text).
    """

    type: str
    x: str
    y: str | Sequence[str]
    series: str | None = None
    label: str | None = None
    kind: str | None = None
    x_title: str | None = None
    y_title: str | None = None

    @classmethod
    def coerce(cls, chart: Chart | Mapping[str, Any] | str, data: pd.DataFrame) -> Chart:
        """Return a :class:`Chart` from a Chart, a mapping of its fields or a type name.

        From a type name, ``x`` is the first column and ``y`` every other numeric column.
        """
        if isinstance(chart, Chart):
            return chart
        if isinstance(chart, str):
            cols = list(data.columns)
            if len(cols) < 2:
                raise ValueError("save_figure: chart data needs a category and a value column")
            ys = [c for c in cols[1:] if pd.api.types.is_numeric_dtype(data[c])]
            return cls(type=chart, x=cols[0], y=ys)
        if isinstance(chart, Mapping):
            unknown = set(chart) - set(cls.__dataclass_fields__)
            if unknown:
                raise ValueError(f"save_figure: unknown chart keys {sorted(unknown)}")
            return cls(**chart)
        raise TypeError(f"save_figure: chart= takes a Chart, a mapping or a type, got {chart!r}")

    @property
    def ys(self) -> list[str]:
        """The value columns, as a list (one column or several)."""
        return [self.y] if isinstance(self.y, str) else list(self.y)

    def check(self, data: pd.DataFrame) -> None:
        """Check the chart against its data: a known type, every named column present."""
        if self.type not in CHART_TYPES:
            raise ValueError(
                f"save_figure: chart type {self.type!r} is not one of {list(CHART_TYPES)}"
            )
        needed = [self.x, *self.ys] + [c for c in (self.series, self.label) if c]
        missing = [c for c in needed if c not in data.columns]
        if missing:
            raise KeyError(
                f"save_figure: the chart data has no column(s) {missing}; it has "
                f"{list(data.columns)}"
            )
        if not self.ys:
            raise ValueError("save_figure: the chart needs at least one value column (y)")
        if self.series and len(self.ys) > 1:
            raise ValueError("save_figure: give several y columns or a series column, not both")
        for c in self.ys + ([self.x] if self.type == "scatter" else []):
            if not pd.api.types.is_numeric_dtype(data[c]):
                raise ValueError(f"save_figure: chart column {c!r} is not numeric")


# ---- the recorder -------------------------------------------------------------------
def _plain(value: Any) -> Any:
    """Return a JSON-safe value (numpy scalars to Python, NaN to None)."""
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        v = float(value)
        return v if math.isfinite(v) else None
    if isinstance(value, (np.bool_,)):
        return bool(value)
    return value


@dataclass
class Recorder:
    """Appends a notebook's entries to ``deliverables/<notebook>.jsonl``.

    The first entry of a recorder clears what an earlier run of the same notebook left
    in the folder (a notebook re-run by hand starts afresh).
    """

    report_dir: Path
    notebook: str
    study: Study
    _seq: int = field(default=0, repr=False)

    @property
    def folder(self) -> Path:
        """The folder of the report's deliverable records."""
        return self.report_dir / FOLDER

    @property
    def path(self) -> Path:
        """The notebook's record file (``<notebook>.jsonl``)."""
        return self.folder / f"{self.notebook}.jsonl"

    @property
    def data_dir(self) -> Path:
        """The folder of the notebook's table and chart data."""
        return self.folder / self.notebook

    def _start(self) -> None:
        if self._seq == 0:
            self.folder.mkdir(parents=True, exist_ok=True)
            if self.path.exists():
                self.path.unlink()
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def _write(self, entry: dict[str, Any]) -> dict[str, Any]:
        line = json.dumps(entry, ensure_ascii=False, allow_nan=False, default=_plain) + "\n"
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line.encode("utf-8"))
        finally:
            os.close(fd)
        return entry

    def _next(self, kind: str) -> dict[str, Any]:
        self._start()
        self._seq += 1
        return {"type": kind, "notebook": self.notebook, "seq": self._seq}

    def _frame(self, frame: pd.DataFrame, stem: str) -> str:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        path = self.data_dir / f"{stem}.parquet"
        frame.to_parquet(path, index=False)
        return path.relative_to(self.report_dir).as_posix()

    # -- entries --
    def say(self, text: str, kind: str = "say") -> dict[str, Any]:
        """Record a sentence said on the page.

        ``kind`` is ``"say"`` (a takeaway), ``"na"`` (a section that does not apply) or
        ``"heading"`` (a section heading said on the page).
        """
        entry = self._next(kind)
        entry["text"] = clean_text(text).strip()
        return self._write(entry)

    def table(self, view: TableView, *, note: str | None = None) -> dict[str, Any]:
        """Record a shown table: its workbook columns, formats and unrounded data."""
        entry = self._next("table")
        columns, frame = workbook_columns(view)
        entry["caption"] = clean_text(view.caption) if view.caption else None
        entry["notes"] = [clean_text(n) for n in view.notes]
        entry["footnote"] = table_footnote(view, self.study)
        entry["columns"] = columns
        entry["rows"] = len(frame)
        frame.columns = [f"c{j}" for j in range(frame.shape[1])]
        entry["data"] = self._frame(frame, f"t{entry['seq']:03d}")
        return self._write(entry)

    def figure(
        self,
        png: Path,
        *,
        name: str,
        size: tuple[float, float],
        caption: str | None,
        takeaway: str | None,
        note: str | None,
        data: pd.DataFrame | None,
        chart: Chart | Mapping[str, Any] | str | None,
    ) -> dict[str, Any]:
        """Record a saved figure, with the tidy data behind it when given."""
        entry = self._next("figure")
        entry["name"] = name
        entry["png"] = png.relative_to(self.report_dir).as_posix()
        entry["size"] = [float(size[0]), float(size[1])]
        entry["caption"] = clean_text(caption) if caption else None
        entry["takeaway"] = clean_text(takeaway) if takeaway else None
        entry["note"] = clean_text(note) if note else None
        entry["base"] = None
        entry["chart"] = None
        if data is not None:
            if chart is None:
                raise ValueError("save_figure: data= needs chart= (bar, column, line or scatter)")
            spec = Chart.coerce(chart, data)
            spec.check(data)
            tidy = chart_frame(data, spec, self.study)
            entry["base"] = _base_text(data, self.study.language)
            entry["chart"] = {
                "type": spec.type,
                "x": spec.x,
                "y": spec.ys,
                "series": spec.series,
                "label": spec.label,
                "format": excel_format(*_value_kind(spec, data)),
                "x_title": clean_text(spec.x_title) if spec.x_title else None,
                "y_title": clean_text(spec.y_title) if spec.y_title else None,
                "data": self._frame(tidy, f"f{entry['seq']:03d}"),
            }
        elif chart is not None:
            raise ValueError("save_figure: chart= needs data= (the tidy table behind the chart)")
        return self._write(entry)


def _value_kind(spec: Chart, data: pd.DataFrame) -> tuple[str, int | None]:
    if spec.kind:
        k, d = _kind(spec.kind)
        return k.name, d
    name = default_kind(spec.ys[0], data[spec.ys[0]])
    if name == "number" and "unit" in data.columns:
        units = data["unit"].dropna().unique()
        if len(units) == 1:
            name = kind_for_unit(units[0])
    k, d = _kind(name)
    return k.name, d


def _label_value(value: Any, column: str, study: Study) -> str:
    """Return a category as the client reads it: wave, segment value, item and area labels."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return MISSING
    text = str(value)
    if text in study.waves:
        return study.wave_label(text)
    if column in study.segment_columns():
        values = study.segment(column).values
        return str(values.get(text, text))
    return clean_text(study.label(text))


def _column_label(column: str, study: Study) -> str:
    return clean_text(_leaf_label(column, study, study.reporting.correction))


def chart_frame(data: pd.DataFrame, spec: Chart, study: Study) -> pd.DataFrame:
    """Return the chart's tidy data as the deck draws it, in the data's order.

    Columns ``x`` (category labels, or numbers for a scatter), ``series`` (labels; the
    value column's label for one series), ``y`` (float), ``label`` (a point's label or
    ``""``).
    """
    rows = []
    for _, r in data.iterrows():
        for col in spec.ys:
            if spec.series:
                series = _label_value(r[spec.series], spec.series, study)
            elif len(spec.ys) > 1:
                series = _label_value(col, col, study)
            else:
                series = spec.y_title or _column_label(col, study)
            x = r[spec.x]
            rows.append(
                {
                    "x": float(x) if spec.type == "scatter" else _label_value(x, spec.x, study),
                    "series": series,
                    "y": float(r[col]) if pd.notna(r[col]) else float("nan"),
                    "label": _label_value(r[spec.label], spec.label, study) if spec.label else "",
                }
            )
    out = pd.DataFrame(rows, columns=["x", "series", "y", "label"])
    if spec.type != "scatter":
        out["x"] = out["x"].astype(str)
    return out


def _base_text(data: pd.DataFrame, lang: str = "en") -> str | None:
    """Return "Base: n = 1,505" (or a range) from a chart's ``n`` column, if it has one."""
    if "n" not in data.columns:
        return None
    n = pd.to_numeric(data["n"], errors="coerce").dropna()
    if n.empty:
        return None
    lo, hi = float(n.min()), float(n.max())
    if round(lo) == round(hi):
        return template("deliverables.base", lang).format(n=f"{lo:,.0f}")
    return template("deliverables.base_range", lang).format(low=f"{lo:,.0f}", high=f"{hi:,.0f}")


# ---- tables ---------------------------------------------------------------------------
def workbook_columns(view: TableView) -> tuple[list[dict[str, Any]], pd.DataFrame]:
    """Return the workbook columns of a shown table and their cells.

    Numbers keep their unrounded values with the Excel format of their kind (intervals
    become two columns, low and high); text, markers and arrows are the shown text.

    Returns
    -------
    (list of dict, DataFrame)
        One dict per workbook column (``label``, ``kind``, ``format``, ``formats``,
        ``width``, ``numeric``) and the cells, one column per workbook column (float for
        numbers, str for text; missing values as NaN / ``""``).
    """
    data = view.data
    units = _row_units(view)
    cols: list[dict[str, Any]] = []
    cells: dict[int, list[Any]] = {}
    for j, c in enumerate(view.columns):
        label = [clean_text(x) for x in c.label]
        shown = [str(t) for t in view.text.iloc[:, j]]
        numeric = c.kind == "row unit" or (c.kind in KINDS and KINDS[c.kind].numeric)
        numeric = numeric and c.kind not in ("bool",)
        if not numeric:
            values = [clean_text(t) if t != MISSING else "" for t in shown]
            styles = [str(x) for x in view.classes.iloc[:, j]]
            cols.append(
                {
                    "label": label,
                    "kind": c.kind,
                    "format": None,
                    "formats": None,
                    "styles": styles if any(styles) else None,
                    "numeric": False,
                    "width": _width(label, values),
                }
            )
            cells[len(cols) - 1] = values
            continue
        parts = [("", c.sources[0])]
        if len(c.sources) == 2:
            parts = [(" low", c.sources[0]), (" high", c.sources[1])]
        for suffix, src in parts:
            series = data[src[0] if len(src) == 1 else src]
            values = pd.to_numeric(series, errors="coerce").astype(float)
            if c.kind == "row unit":
                kinds = [_row_kind(u, se=str(c.key[-1]) == "se") for u in units]
                scale = [100.0 if (c.signed and k == "share") else 1.0 for k, _ in kinds]
                formats = [excel_format(k, d, signed=c.signed) for k, d in kinds]
                fmt = formats[0] if len(set(formats)) == 1 and formats else None
                formats_out = None if fmt is not None else formats
                kind_name = "row unit"
            else:
                scale = [100.0 if (c.signed and c.kind == "share") else 1.0] * len(values)
                fmt = excel_format(c.kind, c.decimals, signed=c.signed)
                formats_out = None
                kind_name = c.kind
            vals = [
                v * s if math.isfinite(v) else float("nan")
                for v, s in zip(values.tolist(), scale, strict=True)
            ]
            lab = [*label[:-1], label[-1] + suffix] if suffix else label
            cols.append(
                {
                    "label": lab,
                    "kind": kind_name,
                    "format": fmt,
                    "formats": formats_out,
                    "styles": None,
                    "numeric": True,
                    "width": _width(lab, [t for t in shown]),
                }
            )
            cells[len(cols) - 1] = vals
    frame = pd.DataFrame(
        {j: pd.Series(v, dtype=float if cols[j]["numeric"] else object) for j, v in cells.items()}
    )
    for j, col in enumerate(cols):
        if not col["numeric"]:
            frame[j] = frame[j].astype(str)
    return cols, frame


def _row_units(view: TableView) -> list[Any]:
    data = view.data
    unit_cols = [c for c in data.columns if (c[-1] if isinstance(c, tuple) else c) == "unit"]
    if unit_cols:
        return list(data[unit_cols[0]])
    return [None] * len(data)


def _row_kind(unit: Any, *, se: bool) -> tuple[str, int | None]:
    k, d = _kind(kind_for_unit(unit))
    if se and k.decimals is not None:
        d = k.decimals + 1
    return k.name, d


def _width(label: Sequence[str], values: Sequence[str]) -> int:
    longest = max((_text_width(v) for v in values[:500]), default=0)
    head = max((_text_width(x) for x in label[-1:]), default=0)
    return int(min(60, max(8, longest + 2, min(head, 40) + 2)))


def table_footnote(view: TableView, study: Study) -> str:
    """Return the footnote of a table in the deliverables.

    Base, confidence level, test and correction, weighting - only what the table shows.
    """
    rep = study.reporting
    lang = study.language
    parts: list[str] = []
    kinds = [c.kind for c in view.columns]
    bases = [c for c in view.columns if c.kind == "base" and str(c.key[-1]) == "n"]
    if bases:
        n = pd.to_numeric(view.data[_col(bases[0].sources[0])], errors="coerce").dropna()
        if not n.empty:
            lo, hi = float(n.min()), float(n.max())
            parts.append(
                template("deliverables.base", lang).format(n=f"{lo:,.0f}")
                if round(lo) == round(hi)
                else template("deliverables.base_range_column", lang).format(
                    low=f"{lo:,.0f}", high=f"{hi:,.0f}"
                )
            )
    if any(len(c.sources) == 2 for c in view.columns):
        parts.append(
            template("deliverables.intervals", lang).format(confidence=confidence_label(study))
        )
    if "p" in kinds or "significance" in kinds:
        adj = _CORRECTIONS.get(rep.correction)
        key = "deliverables.tests_adjusted" if adj else "deliverables.tests_plain"
        parts.append(template(key, lang).format(alpha=f"{rep.alpha:g}", correction=adj))
    if study.is_weighted:
        parts.append(template("deliverables.weighted", lang))
    stop = "。" if lang == "zh" else "."
    return ("" if lang == "zh" else " ").join(p + stop for p in parts)


def _col(key: tuple) -> Any:
    return key[0] if len(key) == 1 else key


# ---- reading ----------------------------------------------------------------------------
def read_manifest(report_dir: str | Path) -> list[dict[str, Any]]:
    """Every entry the notebooks of a report recorded, in notebook order then as shown.

    A line that cannot be read (a notebook killed while writing) is skipped.
    """
    folder = Path(report_dir) / FOLDER
    entries: list[dict[str, Any]] = []
    if not folder.is_dir():
        return entries
    for path in sorted(folder.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict) and "type" in entry:
                entries.append(entry)
    entries.sort(key=lambda e: (str(e.get("notebook")), int(e.get("seq", 0))))
    return entries


def notebook_number(name: str) -> str:
    """``"20-describe"`` -> ``"20"``."""
    m = re.match(r"^(\d+)", name)
    return m.group(1) if m else name
