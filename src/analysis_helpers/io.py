"""Reading wave exports as delivered, and writing the processed files of the cleaning step.

All file input and output of the project's data lives here. The readers return the values
*as read*: every column as text (pandas ``str`` dtype, missing where the cell was blank),
so that nothing is converted or lost before the cleaning step decides what a value means
and lists what it could not use. Each reader also returns what the file says about itself
(encoding, header rows, variable and value labels, user-missing values, question text).

Formats (``data.files[].format`` in the study file):

- ``csv``: UTF-8, UTF-8 with BOM, or GBK / GB18030 (Chinese Excel exports). The encoding is
  declared in the study file or detected (BOM, then UTF-8, then GB18030).
- ``excel``: one named (or numbered) sheet of an ``.xlsx`` workbook, header in row 1.
- ``spss``: ``.sav`` with variable labels, value labels and user-missing values.
- ``qualtrics``: a Qualtrics CSV export with three header rows (field names, question
  text, import ids).
- ``parquet``.

Every problem that stops reading raises :class:`DataFileError`, whose message names the
file and, where it applies, the row (as a user sees it in the file), column and value, and
says what to fix.
"""

from __future__ import annotations

import hashlib
import io
import json
import unicodedata
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

if TYPE_CHECKING:
    from .study import Study

__all__ = [
    "DataFileError",
    "Export",
    "ExportMeta",
    "RawData",
    "read_csv_export",
    "read_excel_export",
    "read_spss_export",
    "read_qualtrics_export",
    "read_parquet_export",
    "read_export",
    "read_study_files",
    "read_study_file",
    "stack_exports",
    "resolve_segment_values",
    "study_columns",
    "write_processed",
    "read_processed",
    "manifest_is_current",
    "file_sha256",
    "write_csv_export",
    "write_qualtrics_export",
    "write_excel_export",
    "write_spss_export",
    "write_parquet_export",
    "read_operations",
    "read_respondent_operations",
]

PROBLEM_COLUMNS = ["file", "row", "respondent_id", "column", "value", "rule"]


class DataFileError(ValueError):
    """A data file cannot be read or does not fit the study file.

    Attributes
    ----------
    file, row, column, value
        Where the problem is (``None`` where it does not apply). ``row`` is the row as a
        user sees it in the file (spreadsheet-style, header rows counted).
    """

    def __init__(
        self,
        file: str | Path,
        message: str,
        *,
        row: int | None = None,
        column: str | None = None,
        value: Any = None,
    ) -> None:
        self.file = str(file)
        self.row = row
        self.column = column
        self.value = value
        where = [self.file]
        if row is not None:
            where.append(f"row {row}")
        if column is not None:
            where.append(f"column {column!r}")
        if value is not None:
            where.append(f"value {value!r}")
        super().__init__(": ".join(where) + ": " + message)


@dataclass
class ExportMeta:
    """What an export says about itself.

    Attributes
    ----------
    file : str
        The file as shown in messages.
    format : str
        ``csv``, ``excel``, ``spss``, ``qualtrics`` or ``parquet``.
    header_rows : int
        Rows above the first respondent; ``_row`` = position + header_rows + 1. SPSS and
        Parquet files have no header rows: ``_row`` is the case number.
    encoding : str or None
        The text encoding used (declared or detected), for text formats.
    variable_labels : dict
        Column -> label (SPSS variable labels, Qualtrics question text).
    value_labels : dict
        Column -> {code: label} (SPSS).
    user_missing : dict
        Column -> list of values the file declares missing (SPSS user-missing values,
        discrete values and ranges as ``(low, high)`` tuples).
    import_ids : dict
        Column -> Qualtrics import id.
    repeated_header_rows : list of int
        Rows of a CSV that repeat the header (exports joined into one file), left out.
    """

    file: str
    format: str
    header_rows: int
    encoding: str | None = None
    variable_labels: dict[str, str] = field(default_factory=dict)
    value_labels: dict[str, dict[Any, str]] = field(default_factory=dict)
    user_missing: dict[str, list[Any]] = field(default_factory=dict)
    import_ids: dict[str, str] = field(default_factory=dict)
    repeated_header_rows: list[int] = field(default_factory=list)


@dataclass
class Export:
    """One export as read: ``data`` (every column text), its ``meta`` and the file rows.

    Where rows were left out (repeated header rows), ``rows`` holds the row in the file of
    each row of ``data`` (default: consecutive from the first row after the header).
    """

    data: pd.DataFrame
    meta: ExportMeta
    rows: np.ndarray | None = None


@dataclass
class RawData:
    """Every data file of a study, read and stacked, values as read.

    Attributes
    ----------
    frame : DataFrame
        All waves stacked, every column text (but the number columns of the study,
        :func:`number_columns`, that every file stores as typed numbers), plus ``_file`` (the file as named in the
        study file), ``_row`` (the row as a user sees it in that file) and the wave column
        filled.
    alignment : DataFrame
        One row per column of the study (and per unexpected column): ``column``, ``role``,
        one boolean column per wave (present in that wave's file) and ``status``
        (``"all waves"``, ``"added in <wave>"``, ``"dropped from <wave>"``, ``"missing in
        <waves>"``, ``"not in the study file"``).
    problems : DataFrame
        Problems found while reading (``file``, ``row``, ``respondent_id``, ``column``,
        ``value``, ``rule``): columns missing in a wave, unexpected columns.
    files : DataFrame
        One row per file: ``file``, ``format``, ``encoding``, ``wave``, ``rows``,
        ``header_rows``.
    meta : dict
        File name -> :class:`ExportMeta`.
    """

    frame: pd.DataFrame
    alignment: pd.DataFrame
    problems: pd.DataFrame
    files: pd.DataFrame
    meta: dict[str, ExportMeta]


# --------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------
_STR = {
    pa.string(): pd.StringDtype(na_value=np.nan),
    pa.large_string(): pd.StringDtype(na_value=np.nan),
}


def _as_text(col: pd.Series) -> pd.Series:
    """Return a column as text (``str`` dtype), blanks and missing as NA, integers without '.0'."""
    if isinstance(col.dtype, pd.StringDtype) or col.dtype == object:
        out = col.astype("str")
    elif pd.api.types.is_bool_dtype(col.dtype):
        out = col.astype("str")
    elif pd.api.types.is_integer_dtype(col.dtype):
        arr = pa.array(col, from_pandas=True)
        out = pc.cast(arr, pa.string()).to_pandas(types_mapper=_STR.get).set_axis(col.index)
    elif pd.api.types.is_numeric_dtype(col.dtype):
        arr = pa.array(col.to_numpy(dtype=float, na_value=np.nan), from_pandas=True)
        out = pc.cast(arr, pa.string()).to_pandas(types_mapper=_STR.get).set_axis(col.index)
    else:
        out = col.astype("str")
    blank = out.isna() | (out.str.strip() == "")
    return out.mask(blank)


def _is_number_column(col: pd.Series) -> bool:
    """Return whether a column holds typed numbers (integers or floats, not booleans)."""
    dtype = col.dtype
    return (
        pd.api.types.is_numeric_dtype(dtype)
        and not pd.api.types.is_bool_dtype(dtype)
        and not pd.api.types.is_complex_dtype(dtype)
    )


def _text_frame(df: pd.DataFrame, keep: Collection[str] = ()) -> pd.DataFrame:
    """Return every column as text, but the typed number columns named in ``keep``."""
    return pd.DataFrame(
        {
            c: df[c] if c in keep and _is_number_column(df[c]) else _as_text(df[c])
            for c in df.columns
        },
        index=df.index,
        copy=False,  # the kept number columns are not copied into one block
    )


def cells_as_text(col: pd.Series) -> pd.Series:
    """Return a column as the readers' text: numbers as :func:`read_export` writes them.

    Integers without ``.0``, blanks missing; a text column is returned as it is.
    """
    return _as_text(col) if _is_number_column(col) else col


def as_text_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Return ``df`` with its number columns as text, as the readers give them.

    Text columns are returned as they are (no copy of their values); numbers are written
    as :func:`read_export` writes them (integers without ``.0``, blanks missing).
    """
    typed = [c for c in df.columns if c not in SYSTEM_COLUMNS and _is_number_column(df[c])]
    if not typed:
        return df
    return df.assign(**{c: cells_as_text(df[c]) for c in typed})


#: characters that are never part of a header name: BOMs and zero-width characters
_INVISIBLE = dict.fromkeys(map(ord, "\ufeff\u200b\u200c\u200d\u2060\u180e\u00ad"))


def normalise_name(name: Any) -> str:
    """Return a header name as matched against the study file.

    Unicode NFKC (full-width ``ｏｓａｔ`` -> ``osat``, non-breaking spaces -> spaces),
    byte-order marks and zero-width characters removed, surrounding whitespace stripped.
    """
    text = "" if name is None else str(name)
    return unicodedata.normalize("NFKC", text).translate(_INVISIBLE).strip()


def _check_header(label: str, names: list[Any], *, header_row: int = 1) -> list[str]:
    """Return the header's names, normalised (:func:`normalise_name`) and checked.

    No name may be empty, and no two columns may have the same name (as written, or once
    normalised).
    """
    given = ["" if n is None else str(n) for n in names]
    names = [normalise_name(n) for n in given]
    for k, name in enumerate(names):
        if name == "":
            raise DataFileError(
                label,
                f"column {k + 1} of header row {header_row} has no name; name it in the "
                "export or remove the empty column",
            )
    dup = [n for n, c in Counter(names).items() if c > 1]
    if dup:
        pos = [k for k, n in enumerate(names) if n == dup[0]]
        shown = [given[k] for k in pos]
        if len(set(shown)) == 1:
            raise DataFileError(
                label,
                f"duplicated column name {dup[0]!r} in the header (columns "
                f"{', '.join(str(k + 1) for k in pos)}); rename or remove one of them in the "
                "export",
            )
        both = " and ".join(f"{k + 1} ({given[k]!r})" for k in pos)
        raise DataFileError(
            label,
            f"columns {both} of the header are the same name {dup[0]!r} once surrounding "
            "spaces, invisible characters (BOM, zero-width) and full-width forms are "
            "removed: the study file could not tell them apart; rename or remove one of them "
            "in the export",
        )
    return names


_BOM = "\ufeff"
#: Latin-1 / cp1252 characters of real Western European text besides the letters
_LATIN_PUNCT = set("\u00a0€‘’“”„–—…«»°£§¡¿·")


def _common_cjk(ch: str) -> bool:
    """Return whether a character is in GB2312, the common simplified-Chinese set.

    The set holds punctuation, symbols and the 6,763 common hanzi.
    """
    try:
        b = ch.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return len(b) == 2 and 0xA1 <= b[0] <= 0xF7 and b[0] not in range(0xAA, 0xB0)


def _common_latin(text: str, k: int, run: tuple[int, int]) -> bool:
    """Return whether ``text[k]`` reads as Western European text.

    That is a letter or common punctuation in a short run of non-ASCII characters next to
    ASCII text.
    """
    ch = text[k]
    if ch in _LATIN_PUNCT:
        return True
    if not unicodedata.category(ch).startswith("L") or ch in "ªº":
        return False
    lo, hi = run
    if hi - lo > 2:  # hanzi read as Latin-1 come in long runs of accented letters
        return False
    left = text[lo - 1] if lo > 0 else " "
    right = text[hi] if hi < len(text) else " "
    return left.isalpha() or right.isalpha() or left in " '-" and right in " '-,.;"


def _plausibility(text: str, kind: str) -> float:
    """Return the share of the non-ASCII characters of ``text`` common in that kind of text.

    ``"cjk"``: GB2312 characters; ``"latin"``: see :func:`_common_latin`.
    """
    total = good = 0
    k, n = 0, len(text)
    while k < n:
        if ord(text[k]) < 128:
            k += 1
            continue
        j = k
        while j < n and ord(text[j]) >= 128:
            j += 1
        for m in range(k, j):
            total += 1
            ok = _common_cjk(text[m]) if kind == "cjk" else _common_latin(text, m, (k, j))
            good += ok
        k = j
    return good / total if total else 1.0


#: the encodings tried when a file is not UTF-8, and what their text looks like
_GUESSES = (("gb18030", "cjk", "common Chinese"), ("cp1252", "latin", "Western European"))


def _guess_encoding(raw: bytes, label: str, exc: UnicodeDecodeError) -> tuple[str, str]:
    """Pick the encoding of a file that is not UTF-8 by how plausible its text reads."""
    line = raw.count(b"\n", 0, exc.start) + 1
    bad = raw[exc.start : exc.start + 4]
    where = f"not UTF-8 (line {line}, byte {exc.start}: {bad!r})"
    sample = raw if len(raw) <= 1 << 20 else raw[: 1 << 20]
    found = []
    for enc, kind, what in _GUESSES:
        try:
            text = raw.decode(enc)
        except UnicodeDecodeError:
            if enc != "cp1252":
                continue
            enc, text = "latin-1", raw.decode("latin-1")
        part = text if sample is raw else sample.decode(enc, errors="ignore")
        found.append((enc, text, _plausibility(part, kind), what))
    plausible = [f for f in found if f[2] >= 0.8]
    if len(plausible) == 1 and all(f[2] < 0.5 for f in found if f is not plausible[0]):
        return plausible[0][1], plausible[0][0]
    tried = "; ".join(
        f"as {enc}, {score:.0%} of its non-ASCII characters read as {what} text"
        for enc, _, score, what in found
    )
    if not plausible:
        raise DataFileError(
            label,
            f"cannot decode the file: {where}, and no other encoding reads it plausibly "
            f"({tried}); declare its encoding in the study file (data.files[].encoding, e.g. "
            "latin-1, cp1252, gb18030, big5, shift_jis or utf-16)",
        )
    names = ", ".join(f[0] for f in plausible)
    raise DataFileError(
        label,
        f"cannot tell the file's encoding: {where}; it reads plausibly in more than one encoding "
        f"({tried}); declare the right one in the study file (data.files[].encoding: one of "
        f"{names})",
    )


def _decode(raw: bytes, label: str, encoding: str | None) -> tuple[str, str]:
    """Decode file bytes; return (text, encoding used).

    Byte-order marks are removed wherever they are (exports joined into one file carry one
    per part).
    """
    text, used = _decode_raw(raw, label, encoding)
    return text.replace(_BOM, ""), used


def _decode_raw(raw: bytes, label: str, encoding: str | None) -> tuple[str, str]:
    if encoding is None:
        if raw.startswith(b"\xef\xbb\xbf"):
            encoding = "utf-8-sig"
        else:
            try:
                return raw.decode("utf-8"), "utf-8"
            except UnicodeDecodeError as exc:
                return _guess_encoding(raw, label, exc)
    enc = encoding.lower().replace("_", "-")
    if enc in {"utf-8", "utf8"} and raw.startswith(b"\xef\xbb\xbf"):
        enc = "utf-8-sig"
    try:
        return raw.decode(enc), enc
    except LookupError:
        raise DataFileError(
            label, f"unknown encoding {encoding!r} in the study file (try utf-8 or gb18030)"
        ) from None
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        bad = raw[exc.start : exc.start + 4]
        hint = ""
        if enc.startswith("utf"):
            try:
                raw.decode("gb18030")
                hint = " (it decodes as gb18030: a Chinese Excel export?)"
            except UnicodeDecodeError:
                pass
        raise DataFileError(
            label,
            f"cannot decode the file as {encoding} at line {line}, byte {exc.start}: {bad!r}; "
            f"fix data.files[].encoding in the study file{hint}",
        ) from None


def _parse_csv(text_bytes: bytes, label: str, names: list[str], skip_rows: int) -> pd.DataFrame:
    """Parse UTF-8 CSV bytes into a text frame; every row must have ``len(names)`` fields."""
    bad: list[tuple[int, int, str]] = []

    def on_invalid(row) -> str:
        bad.append((row.expected_columns, row.actual_columns, row.text))
        return "skip"

    try:
        table = pacsv.read_csv(
            io.BytesIO(text_bytes),
            read_options=pacsv.ReadOptions(
                column_names=names, skip_rows=skip_rows, block_size=1 << 24
            ),
            parse_options=pacsv.ParseOptions(
                newlines_in_values=True, invalid_row_handler=on_invalid
            ),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                null_values=[""],
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
            ),
        )
    except pa.ArrowInvalid as exc:
        raise DataFileError(
            label, f"cannot be read as CSV ({str(exc).removeprefix('CSV parse error: ')})"
        ) from None
    if bad:
        expected, actual, row_text = bad[0]
        text = text_bytes.decode("utf-8")
        pos = text.find(row_text)
        line = text.count("\n", 0, pos) + 1 if pos >= 0 else None
        last = pos >= 0 and text[pos + len(row_text) :].strip() == ""
        why = (
            "the file ends in the middle of a row: it looks truncated; export it again"
            if last and actual < expected
            else "a row has a different number of fields than the header (an unquoted "
            "separator or a broken line?)"
        )
        raise DataFileError(
            label,
            f"expected {expected} fields, found {actual} ({len(bad)} such row"
            f"{'s' if len(bad) > 1 else ''}): {why}",
            row=line,
        )
    columns = []
    for col in table.columns:
        blank = pc.equal(pc.utf8_trim_whitespace(col), "")
        if pc.any(blank).as_py():  # whitespace-only cells are blank
            col = pc.if_else(blank, pa.scalar(None, pa.string()), col)
        columns.append(col)
    table = pa.table(columns, names=table.column_names)
    return table.to_pandas(types_mapper=_STR.get)


def _first_lines(text: str, n: int, label: str) -> list[list[str]]:
    import csv

    cut = 0
    for _ in range(n + 1):  # enough text for n rows unless a header has quoted newlines
        cut = text.find("\n", cut) + 1
        if cut == 0:
            cut = len(text)
            break
    head = text[:cut] if '"' not in text[:cut] else text[: max(cut, 1 << 20)]
    reader = csv.reader(io.StringIO(head, newline=""))
    out: list[list[str]] = []
    try:
        for row in reader:
            out.append(row)
            if len(out) == n:
                break
    except csv.Error as exc:
        raise DataFileError(
            label, f"header row {len(out) + 1} cannot be read as CSV ({exc})"
        ) from None
    return out


def _read_delimited(
    path: str | Path, *, encoding: str | None, header_rows: int, fmt: str, label: str | None
) -> Export:
    path = Path(path)
    label = label or str(path)
    if not path.is_file():
        raise DataFileError(label, "file not found; check data.root and data.files[].path")
    raw = path.read_bytes()
    if not raw.strip():
        raise DataFileError(label, "the file is empty (0 bytes or only blank lines)")
    text, used = _decode(raw, label, encoding)
    text = text.removeprefix("\ufeff")
    head = _first_lines(text, header_rows + 1, label)
    for k, row in enumerate(head[:header_rows]):
        if not any(cell.strip() for cell in row):
            raise DataFileError(
                label,
                f"header row {k + 1} is empty (a blank line above the column names?); "
                "remove it from the export",
            )
    if len(head) < header_rows:
        raise DataFileError(
            label,
            f"expected {header_rows} header rows, found {len(head)}; "
            + ("is this a Qualtrics export?" if fmt == "qualtrics" else "the file is cut short"),
        )
    names = _check_header(label, head[0])
    meta = ExportMeta(file=label, format=fmt, header_rows=header_rows, encoding=used)
    if fmt == "qualtrics":
        question, imports = head[1], head[2]
        if len(question) != len(names) or len(imports) != len(names):
            raise DataFileError(
                label,
                "the three Qualtrics header rows (field names, question text, import ids) "
                "have different numbers of fields; export again with 'Use choice text' off",
            )
        meta.variable_labels = dict(zip(names, question, strict=True))
        for name, imp in zip(names, imports, strict=True):
            try:
                meta.import_ids[name] = str(json.loads(imp).get("ImportId", imp))
            except (ValueError, AttributeError):
                meta.import_ids[name] = imp
    if len(head) == header_rows:
        raise DataFileError(
            label, "no data rows: the file has a header only (an empty wave?); supply the export"
        )
    if used in {"utf-8", "utf-8-sig"}:
        body = raw.replace(b"\xef\xbb\xbf", b"")  # every BOM, as in the text
    else:
        body = text.encode("utf-8")
    data = _parse_csv(body, label, names, header_rows)
    first = header_rows + 1
    data, rows, meta.repeated_header_rows = _drop_repeated_headers(data, names, label, first)
    if len(data) == 0:
        raise DataFileError(
            label, "no data rows: the file has a header only (an empty wave?); supply the export"
        )
    return Export(data=data, meta=meta, rows=rows)


def _drop_repeated_headers(
    data: pd.DataFrame, names: list[str], label: str, first: int
) -> tuple[pd.DataFrame, np.ndarray, list[int]]:
    """Leave out rows that repeat the header (exports joined into one file).

    Returns the data without them, the row (as seen in the file) of each row kept and the
    rows left out. A row that holds the header's names in another order stops: the parts'
    columns differ.
    """
    rows = np.arange(first, first + len(data), dtype=np.int64)
    if not len(data) or not names:
        return data, rows, []
    known = set(names)
    lead = data[names[0]]
    maybe = np.flatnonzero(
        lead.notna().to_numpy()
        & lead.map(normalise_name, na_action="ignore").isin(known).to_numpy()
    )
    if not len(maybe):
        return data, rows, []
    repeated = []
    for k in maybe:
        values = [normalise_name(v) if isinstance(v, str) else "" for v in data.iloc[k].tolist()]
        if values == names:
            repeated.append(k)
        elif sorted(values) == sorted(names):
            raise DataFileError(
                label,
                "this row repeats the header with the columns in another order: two exports "
                "with different columns joined into one file? List each part as its own file "
                "in data.files",
                row=int(rows[k]),
            )
    if not repeated:
        return data, rows, []
    keep = np.ones(len(data), dtype=bool)
    keep[repeated] = False
    return data[keep].reset_index(drop=True), rows[keep], rows[~keep].tolist()


# --------------------------------------------------------------------------------------
# readers
# --------------------------------------------------------------------------------------
def read_csv_export(
    path: str | Path, *, encoding: str | None = None, label: str | None = None
) -> Export:
    """Read a CSV export with one header row, every value as text.

    Parameters
    ----------
    path : str or Path
        The file.
    encoding : str, optional
        As declared in the study file (``utf-8``, ``utf-8-sig``, ``gbk``, ``gb18030``...);
        by default detected: a UTF-8 BOM, else UTF-8, else GB18030.
    label : str, optional
        How the file is named in messages (default: the path).

    Returns
    -------
    Export
        ``data`` with one text column per header field (blank cells missing) and ``meta``
        (``header_rows`` 1, the encoding used).

    Raises
    ------
    DataFileError
        The file is missing or empty, cannot be decoded (the message gives line and byte),
        has a duplicated or empty column name, a row with the wrong number of fields (a
        truncated file), or no data rows.
    """
    return _read_delimited(path, encoding=encoding, header_rows=1, fmt="csv", label=label)


def read_qualtrics_export(
    path: str | Path, *, encoding: str | None = None, label: str | None = None
) -> Export:
    """Read a Qualtrics CSV export: three header rows, then one row per response.

    Row 1 holds the field names (the column names), row 2 the question text (kept as
    ``meta.variable_labels``) and row 3 the import ids (``{"ImportId":"QID1"}``, kept as
    ``meta.import_ids``). The first respondent is on line 4, so ``_row`` starts at 4.

    Parameters and errors are those of :func:`read_csv_export`.
    """
    return _read_delimited(path, encoding=encoding, header_rows=3, fmt="qualtrics", label=label)


def read_excel_export(
    path: str | Path, *, sheet: str | int | None = None, label: str | None = None
) -> Export:
    """Read one sheet of an ``.xlsx`` export (header in row 1), every value as text.

    Parameters
    ----------
    path : str or Path
    sheet : str or int, optional
        Sheet name (or 0-based position); default the first sheet.
    label : str, optional
        How the file is named in messages.

    Raises
    ------
    DataFileError
        The file or sheet is missing (the message lists the sheets), the header has a
        duplicated or empty name, or there are no data rows.
    """
    from openpyxl import load_workbook

    path = Path(path)
    label = label or str(path)
    if not path.is_file():
        raise DataFileError(label, "file not found; check data.root and data.files[].path")
    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # zipfile.BadZipFile, InvalidFileException, KeyError...
        raise DataFileError(
            label, f"not a readable .xlsx workbook ({type(exc).__name__}: {exc})"
        ) from None
    try:
        names = wb.sheetnames
        if sheet is None:
            ws = wb[names[0]]
        elif isinstance(sheet, int):
            if not 0 <= sheet < len(names):
                raise DataFileError(label, f"no sheet number {sheet}; sheets: {names}")
            ws = wb[names[sheet]]
        elif sheet not in names:
            raise DataFileError(label, f"no sheet named {sheet!r}; the workbook has sheets {names}")
        else:
            ws = wb[sheet]
        rows = ws.iter_rows(values_only=True)
        header = next(rows, None)
        if header is None:
            raise DataFileError(label, f"sheet {ws.title!r} is empty")
        while header and header[-1] is None:
            header = header[:-1]
        cols = _check_header(label, list(header))
        width = len(cols)
        body = [r[:width] for r in rows]
    finally:
        wb.close()
    while body and all(v is None for v in body[-1]):
        body.pop()
    if not body:
        raise DataFileError(
            label, f"sheet {ws.title!r}: no data rows (an empty wave?); supply the export"
        )
    columns = {}
    for k, name in enumerate(cols):
        vals = [r[k] if k < len(r) else None for r in body]
        columns[name] = _excel_text(vals)
    data = pd.DataFrame(columns)
    return Export(data=data, meta=ExportMeta(file=label, format="excel", header_rows=1))


def _excel_text(values: list[Any]) -> pd.Series:
    out: list[str | None] = []
    for v in values:
        if v is None:
            out.append(None)
        elif isinstance(v, float) and v.is_integer():
            out.append(str(int(v)))
        else:
            out.append(str(v))
    return _as_text(pd.Series(out, dtype="str"))


def read_spss_export(
    path: str | Path, *, label: str | None = None, keep_numbers: Collection[str] = ()
) -> Export:
    """Read an SPSS ``.sav`` export with its labels and user-missing values.

    Values are returned as text (numbers without a trailing ``.0``); user-missing values
    are kept as values (not turned into blanks) and listed in ``meta.user_missing``, so
    the cleaning step maps them to missing and counts them.

    Returns
    -------
    Export
        ``data`` and ``meta`` with ``variable_labels``, ``value_labels`` and
        ``user_missing``; ``header_rows`` is 0 (``_row`` is the SPSS case number).
        Numeric columns named in ``keep_numbers`` stay numbers (float64, blanks NaN).
    """
    import pyreadstat

    path = Path(path)
    label = label or str(path)
    if not path.is_file():
        raise DataFileError(label, "file not found; check data.root and data.files[].path")
    try:
        df, m = pyreadstat.read_sav(str(path), user_missing=True, apply_value_formats=False)
    except Exception as exc:  # pyreadstat.ReadstatError and friends
        raise DataFileError(label, f"not a readable SPSS .sav file ({exc})") from None
    _check_header(label, list(df.columns))
    if len(df) == 0:
        raise DataFileError(label, "no cases (an empty wave?); supply the export")
    user_missing: dict[str, list[Any]] = {}
    for col, vals in (m.missing_user_values or {}).items():
        user_missing.setdefault(col, []).extend(vals)
    for col, ranges in (m.missing_ranges or {}).items():
        for r in ranges:
            if not isinstance(r, dict):  # pyreadstat gives ranges as {"lo": .., "hi": ..}
                user_missing.setdefault(col, []).append(r)
                continue
            lo, hi = r["lo"], r["hi"]
            user_missing.setdefault(col, []).append(lo if lo == hi else (lo, hi))
    meta = ExportMeta(
        file=label,
        format="spss",
        header_rows=0,
        encoding=m.file_encoding,
        variable_labels={k: v for k, v in (m.column_names_to_labels or {}).items() if v},
        value_labels=dict(m.variable_value_labels or {}),
        user_missing={k: sorted(set(v), key=str) for k, v in user_missing.items()},
    )
    return Export(data=_text_frame(df, keep_numbers), meta=meta)


def read_parquet_export(
    path: str | Path, *, label: str | None = None, keep_numbers: Collection[str] = ()
) -> Export:
    """Read a Parquet export, every value as text (``_row`` is the record number).

    Typed number columns named in ``keep_numbers`` stay numbers (the cleaning step reads
    them without turning them into text and back).
    """
    path = Path(path)
    label = label or str(path)
    if not path.is_file():
        raise DataFileError(label, "file not found; check data.root and data.files[].path")
    try:
        df = pd.read_parquet(path)
    except Exception as exc:  # pyarrow.ArrowInvalid and friends
        raise DataFileError(label, f"not a readable Parquet file ({exc})") from None
    _check_header(label, list(df.columns))
    if len(df) == 0:
        raise DataFileError(label, "no rows (an empty wave?); supply the export")
    return Export(
        data=_text_frame(df.reset_index(drop=True), keep_numbers),
        meta=ExportMeta(file=label, format="parquet", header_rows=0),
    )


def read_export(
    path: str | Path,
    *,
    format: str = "csv",  # noqa: A002 - the study file's key
    encoding: str | None = None,
    sheet: str | int | None = None,
    label: str | None = None,
    keep_numbers: Collection[str] = (),
) -> Export:
    """Read one export with the reader of its ``format``.

    ``keep_numbers``: columns that stay typed numbers where the file stores them so
    (Parquet, SPSS); every other value is text.
    """
    if format == "csv":
        return read_csv_export(path, encoding=encoding, label=label)
    if format == "qualtrics":
        return read_qualtrics_export(path, encoding=encoding, label=label)
    if format == "excel":
        return read_excel_export(path, sheet=sheet, label=label)
    if format == "spss":
        return read_spss_export(path, label=label, keep_numbers=keep_numbers)
    if format == "parquet":
        return read_parquet_export(path, label=label, keep_numbers=keep_numbers)
    raise ValueError(f"unknown format {format!r} (csv, excel, spss, qualtrics, parquet)")


# --------------------------------------------------------------------------------------
# the study's files, stacked
# --------------------------------------------------------------------------------------
def _label(study: Study, rel: str) -> str:
    path = study.raw_dir / rel
    try:
        return str(path.resolve().relative_to(study.root))
    except ValueError:
        return str(path)


def study_columns(study: Study) -> dict[str, str]:
    """Every export column the study file names, mapped to its role (in a fixed order).

    The wave column is listed even where the study's files declare their waves (it is
    then added to the data); the respondent id only when the study file names one.
    """
    spec = study.spec.data
    cols: dict[str, str] = {}
    if study.has_id:
        cols[study.id_column] = "id"
    cols[study.wave_column] = "wave"
    for seg in study.segment_columns():
        cols.setdefault(seg, "segment")
    for role, col in study.raw_design_columns().items():
        if col:
            cols.setdefault(col, role)
    if spec.duration:
        cols.setdefault(spec.duration, "duration")
    for name in study.items:
        cols.setdefault(name, "item")
    for col in spec.text_columns:
        cols.setdefault(col, "text")
    return cols


def number_columns(study: Study) -> set[str]:
    """Return the export columns the cleaning step reads as numbers (items, weights, fpc...).

    :func:`read_study_file` keeps them as typed numbers where the file stores them so.
    """
    numeric = ("item", "duration", "weight")
    return {
        c
        for c, role in study_columns(study).items()
        if role in numeric or role.startswith(("fpc", "replicate"))
    }


#: columns the reader adds to every row: the file, the row in it and (without a
#: respondent id column) the id made of both
SYSTEM_COLUMNS = ("_id", "_file", "_row")


def _problems(rows: list[dict]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=PROBLEM_COLUMNS)
    return df.astype({"row": "Int64"})


def _rows_text(rows: list[int]) -> str:
    return ", ".join(map(str, rows[:10])) + (" ..." if len(rows) > 10 else "")


def _check_ids(study: Study, df: pd.DataFrame, label: str, rows: np.ndarray) -> None:
    id_col = study.id_column
    if id_col not in df.columns:
        raise DataFileError(
            label,
            f"the respondent id column {id_col!r} (data.respondent_id) is missing; "
            f"the file has columns {list(df.columns)[:12]}. Without a respondent id, remove "
            "data.respondent_id: rows are then named by file and row",
        )
    blank = df[id_col].isna().to_numpy()
    if blank.any():
        at = rows[np.flatnonzero(blank)].tolist()
        raise DataFileError(
            label,
            f"respondent id is blank in {len(at)} row{'s' if len(at) > 1 else ''} "
            f"({_rows_text(at)}); every row needs an id: fill them in or remove the rows",
            row=at[0],
            column=id_col,
        )


def _fill_wave(
    study: Study, j: int, df: pd.DataFrame, label: str, rows: np.ndarray
) -> pd.DataFrame:
    """Return the file's rows with the wave column filled (declared) or checked (stacked)."""
    wave_col, wave = study.wave_column, study.file_wave(j)
    if wave is not None:
        if wave_col in df.columns and not study.waves_declared:
            raise DataFileError(
                label,
                f"the file has a column {wave_col!r}, but the study file declares no waves: "
                "name the waves in data.wave (column and order) to use it, or declare the "
                "file's wave in data.files[].wave",
                column=wave_col,
            )
        if wave_col in df.columns:
            given = df[wave_col].str.strip()
            off = (given.notna() & (given != wave)).to_numpy()
            if off.any():
                k = int(np.flatnonzero(off)[0])
                raise DataFileError(
                    label,
                    f"the file is declared as wave {wave!r} (data.files[{j}].wave) but "
                    f"{int(off.sum())} rows say otherwise; fix the declaration or the file",
                    row=int(rows[k]),
                    column=wave_col,
                    value=df[wave_col].iloc[k],
                )
        return df.assign(**{wave_col: pd.Series(wave, index=df.index, dtype="str")})
    if wave_col not in df.columns:
        raise DataFileError(
            label,
            f"the wave column {wave_col!r} is missing: a stacked file needs it, or "
            f"declare the file's wave in data.files[{j}].wave",
        )
    w = df[wave_col].str.strip()
    bad = (w.isna() | ~w.isin(study.waves)).to_numpy()
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise DataFileError(
            label,
            f"{int(bad.sum())} rows have a blank wave or one not in data.wave.order "
            f"{study.waves}; add the wave to the study file or fix the rows",
            row=int(rows[k]),
            column=wave_col,
            value=None if pd.isna(df[wave_col].iloc[k]) else df[wave_col].iloc[k],
        )
    return df.assign(**{wave_col: w})


def read_study_file(study: Study, index: int) -> Export:
    """Read one data file of a study (``data.files[index]``), checked and prepared.

    The wave column is filled (a per-wave file) or checked (a stacked file); ``_file`` (the
    file as named in the study file) and ``_row`` (the row as a user sees it in the file)
    are added, and, when the study file names no respondent id, ``_id`` =
    ``"<file>:<row>"``.

    Raises
    ------
    DataFileError
        See :func:`read_study_files`.
    """
    f = study.spec.data.files[index]
    label = _label(study, f.path)
    exp = read_export(
        study.raw_dir / f.path,
        format=f.format,
        encoding=f.encoding,
        sheet=f.sheet,
        label=label,
        keep_numbers=number_columns(study),
    )
    df = exp.data
    first = exp.meta.header_rows + 1
    rows = exp.rows if exp.rows is not None else np.arange(first, first + len(df), dtype=np.int64)
    if study.has_id:
        _check_ids(study, df, label, rows)
    for col in SYSTEM_COLUMNS:
        if col in df.columns:
            raise DataFileError(
                label,
                f"the file has a column {col!r}, a name the cleaning step uses for itself; "
                "rename it in the export",
                column=col,
            )
    df = _fill_wave(study, index, df, label, rows)
    extra = {
        "_file": pd.Series(f.path, index=df.index, dtype="str"),
        "_row": rows,
    }
    if not study.has_id:
        extra["_id"] = pd.Series([f"{f.path}:{r}" for r in rows], index=df.index, dtype="str")
    return Export(data=df.assign(**extra), meta=exp.meta, rows=rows)


def _status(has: dict[str, bool], wave_list: list[str]) -> str:
    if all(has.values()):
        return "all waves"
    flags = list(has.values())
    first_in = flags.index(True)
    last_in = len(flags) - 1 - flags[::-1].index(True)
    contiguous = all(flags[first_in : last_in + 1])
    if contiguous and last_in == len(flags) - 1:
        return f"added in {wave_list[first_in]}"
    if contiguous and first_in == 0:
        return f"dropped from {wave_list[last_in + 1]}"
    return "missing in " + ", ".join(w for w, h in has.items() if not h)


def _nowhere(study: Study, col: str, role: str, files: list[str]) -> DataFileError:
    return DataFileError(
        ", ".join(files) if len(files) <= 3 else f"{len(files)} data files",
        f"column {col!r} ({role} in the study file) is in none of the data files; "
        "fix its name in the study file or in the exports",
        column=col,
    )


def _alignment(
    study: Study,
    frame: pd.DataFrame,
    present: dict[str, set[str]],
    file_rows: list[dict],
    errors: list[Exception] | None = None,
) -> tuple[pd.DataFrame, list[dict]]:
    """Which study columns each wave's file has, and a problem per column a wave lacks.

    A study column in none of the files raises :class:`DataFileError`, or, when
    ``errors`` is a list, is appended to it (and filled with blanks).
    """
    expected = study_columns(study)
    wave_col = study.wave_column
    wave_list = [w for w in study.waves if w in present]
    rows, problems = [], []
    extra = [c for c in frame.columns if c not in expected and c not in SYSTEM_COLUMNS]
    for col in [*expected, *extra]:
        role = expected.get(col, "not used")
        has = {w: (col in present[w]) or col == wave_col for w in wave_list}
        if role == "not used":
            status = "not used"
        elif not any(has.values()):
            exc = _nowhere(study, col, role, [r["file"] for r in file_rows])
            if errors is None:
                raise exc
            errors.append(exc)
            frame[col] = pd.Series(pd.NA, index=frame.index, dtype="str")
            status = "in no file"
        else:
            status = _status(has, wave_list)
        rows.append({"column": col, "role": role, **has, "status": status})
        for w, h in has.items():
            if not h and status not in ("not used", "in no file"):
                problems.append(
                    {
                        "file": ";".join(r["file"] for r in file_rows if w in r["waves"])
                        or "(stacked)",
                        "row": None,
                        "respondent_id": None,
                        "column": col,
                        "value": w,
                        "rule": "missing_column",
                    }
                )
    return pd.DataFrame(rows), problems


def resolve_segment_values(study: Study, frame: pd.DataFrame, metas: dict[str, ExportMeta]) -> None:
    """Fill in the value labels of segments whose study file entry lists no ``values``.

    From the files' own value labels (SPSS), codes as text (``1.0`` -> ``"1"``) in code
    order, leaving out codes the file declares missing; otherwise the codes found in the
    data, sorted (numbers by value), each labelled with itself. See
    :meth:`analysis_helpers.study.Study.segment`.
    """
    from .study import code_text

    for seg in study.spec.segments:
        if seg.values:
            continue
        col = seg.column
        labels: dict[str, str] = {}
        missing: set[str] = set()
        for meta in metas.values():
            for code, text in (meta.value_labels.get(col) or {}).items():
                labels.setdefault(code_text(code), str(text))
            for code in meta.user_missing.get(col, []):
                if not isinstance(code, tuple):
                    missing.add(code_text(code))
        labels = {k: v for k, v in labels.items() if k not in missing}
        if labels:
            study.set_segment_values(
                col, dict(sorted(labels.items(), key=_code_order)), source="file labels"
            )
            continue
        found = frame[col].str.strip().dropna().unique() if col in frame.columns else []
        codes = sorted(
            {code_text(_number_or_text(v)) for v in found}, key=lambda c: _code_order((c, c))
        )
        study.set_segment_values(col, {c: c for c in codes}, source="data")


def _number_or_text(value: str) -> float | str:
    try:
        return float(value)
    except ValueError:
        return value


def _code_order(pair: tuple[str, str]) -> tuple[int, float, str]:
    """Numbers first, by value; then text, alphabetically."""
    v = _number_or_text(pair[0])
    return (0, v, "") if isinstance(v, float) else (1, 0.0, v)


def read_study_files(study: Study) -> RawData:
    """Read every data file of a study and stack them, values as read.

    Per-wave files get the wave column filled from ``data.files[].wave`` (or, for exports
    that carry no wave at all, the single wave of the study); a stacked file must carry the
    wave column. Waves are aligned on the union of columns: a column of the study that a
    wave's file lacks is missing for that wave and reported (``alignment``, and a
    ``missing_column`` problem), never silently filled with values. Export columns the
    study file does not use are listed in ``alignment`` as "not used" (information, not a
    problem). Segments whose study file entry lists no values get them from the data
    (:func:`resolve_segment_values`).

    Parameters
    ----------
    study : Study

    Returns
    -------
    RawData

    Raises
    ------
    DataFileError
        A file cannot be read (see the readers); the respondent id column is missing or has
        blanks; a stacked file lacks the wave column or has a blank or unknown wave; a
        per-wave file's wave column disagrees with the study file; a study column is in
        none of the files.
    """
    exports = {j: read_study_file(study, j) for j in range(len(study.spec.data.files))}
    return stack_exports(study, exports)


def _same_kind(frames: list[pd.DataFrame]) -> list[pd.DataFrame]:
    """Return the frames with a column typed numbers in one file and text in another as text.

    (Objects mixing numbers and text would cost more memory than the text.)
    """
    typed: set[str] = set()
    text: set[str] = set()
    for df in frames:
        for c in df.columns:
            (typed if _is_number_column(df[c]) else text).add(c)
    mixed = typed & text
    if not mixed:
        return frames
    return [
        df.assign(
            **{c: _as_text(df[c]) for c in df.columns if c in mixed and _is_number_column(df[c])}
        )
        for df in frames
    ]


def stack_exports(
    study: Study, exports: dict[int, Export], *, errors: list[Exception] | None = None
) -> RawData:
    """Stack data files read by :func:`read_study_file` (``data.files`` index -> export).

    Parameters
    ----------
    study : Study
    exports : dict
        The files read, by their position in ``data.files`` (all of them, or those that
        could be read).
    errors : list, optional
        Collect the errors that stop :func:`read_study_files` here instead of raising them
        (a study column in none of the files), as ``validate`` does.

    Returns
    -------
    RawData
    """
    wave_col = study.wave_column
    frames, metas, file_rows = [], {}, []
    present: dict[str, set[str]] = {}
    for j, exp in exports.items():
        f = study.spec.data.files[j]
        df = exp.data
        waves_here = [str(w) for w in df[wave_col].unique()]
        for w in waves_here:
            present.setdefault(w, set()).update(exp.data.columns)
        frames.append(df)
        metas[f.path] = exp.meta
        file_rows.append(
            {
                "file": f.path,
                "format": f.format,
                "encoding": exp.meta.encoding,
                "wave": study.file_wave(j) or "(stacked)",
                "rows": len(df),
                "header_rows": exp.meta.header_rows,
                "waves": waves_here,
            }
        )
    frames = _same_kind(frames)
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    system = [c for c in SYSTEM_COLUMNS if c in frame.columns]
    frame = frame[[c for c in frame.columns if c not in system] + system]
    alignment, problems = _alignment(study, frame, present, file_rows, errors)
    for j, exp in exports.items():
        lead = next((c for c in exp.data.columns if c not in SYSTEM_COLUMNS), None)
        problems += [
            {
                "file": study.spec.data.files[j].path,
                "row": r,
                "respondent_id": None,
                "column": lead,
                "value": lead,
                "rule": "repeated_header",
            }
            for r in exp.meta.repeated_header_rows
        ]
    resolve_segment_values(study, frame, metas)
    return RawData(
        frame=frame,
        alignment=alignment,
        problems=_problems(problems),
        files=pd.DataFrame(file_rows).drop(columns="waves"),
        meta=metas,
    )


# --------------------------------------------------------------------------------------
# processed files
# --------------------------------------------------------------------------------------
def file_sha256(path: str | Path) -> str:
    """Return the SHA-256 of a file's bytes, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _input_hashes(study: Study) -> dict[str, str]:
    out = {str(study.path.name): file_sha256(study.path)}
    for f, p in zip(study.spec.data.files, study.data_files(), strict=True):
        out[f"raw/{f.path}"] = file_sha256(p)
    return out


def write_processed(result, study: Study) -> list[Path]:
    """Write the cleaning step's outputs to ``study.processed_dir``.

    Writes ``clean.parquet`` (the analysis file), ``exclusions.parquet`` and
    ``exclusions.csv`` (every excluded row with its original values and reasons),
    ``problems.csv``, ``funnel.csv``, ``cleaning_log.csv``, ``alignment.csv``,
    ``dictionary.csv``, ``segments.csv`` (every segment's codes and labels),
    ``answer_cube.parquet`` (the weighted count cube, when the result has one) and
    ``manifest.json`` (SHA-256 of every raw file and of the study
    file, row counts, the time written). CSV files are UTF-8 with BOM (Excel shows Chinese
    text). The manifest is written last, so a half-written folder is never taken as current.

    Parameters
    ----------
    result : CleaningResult
        From :func:`analysis_helpers.cleaning.clean`.
    study : Study

    Returns
    -------
    list of Path
        The files written.
    """
    out = study.processed_dir
    out.mkdir(parents=True, exist_ok=True)
    manifest = out / "manifest.json"
    if manifest.exists():
        manifest.unlink()
    written = []

    def csv(df: pd.DataFrame, name: str) -> None:
        p = out / name
        df.to_csv(p, index=False, encoding="utf-8-sig", lineterminator="\n")
        written.append(p)

    p = out / "clean.parquet"
    result.data.to_parquet(p, index=False)
    written.append(p)
    p = out / "exclusions.parquet"
    result.exclusions.to_parquet(p, index=False)
    written.append(p)
    csv(result.exclusions, "exclusions.csv")
    csv(result.problems, "problems.csv")
    csv(result.funnel, "funnel.csv")
    csv(result.log, "cleaning_log.csv")
    csv(result.alignment, "alignment.csv")
    if getattr(result, "dictionary", None) is not None:
        csv(result.dictionary, "dictionary.csv")
    if getattr(result, "segments", None) is not None:
        csv(result.segments, "segments.csv")
    cube = getattr(result, "cube", None)
    if cube is not None and len(cube):
        p = out / "answer_cube.parquet"
        cube.to_parquet(p, index=False)
        written.append(p)
    elif (out / "answer_cube.parquet").exists():  # never leave a cube of other data
        (out / "answer_cube.parquet").unlink()
    wave_col = study.wave_column
    record = {
        "study": study.name,
        "study_file": str(study.path),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "inputs": _input_hashes(study),
        "rows": {
            "read": int(result.funnel["read"].sum()),
            "kept": len(result.data),
            "excluded": len(result.exclusions),
            "problems": len(result.problems),
        },
        "rows_by_wave": {
            str(r[wave_col] if wave_col in r else r["wave"]): {
                "read": int(r["read"]),
                "kept": int(r["analysed"]),
            }
            for r in result.funnel.to_dict("records")
        },
        "outputs": [p.name for p in written],
    }
    manifest.write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    written.append(manifest)
    return written


def manifest_is_current(study: Study) -> bool:
    """Return whether ``processed_dir/manifest.json`` matches the current raw and study files."""
    manifest = study.processed_dir / "manifest.json"
    if not manifest.is_file() or not (study.processed_dir / "clean.parquet").is_file():
        return False
    try:
        record = json.loads(manifest.read_text(encoding="utf-8"))
        return record.get("inputs") == _input_hashes(study)
    except (ValueError, OSError):
        return False


def read_processed(study: Study, name: str = "clean") -> pd.DataFrame:
    """Read ``<name>.parquet`` (or ``<name>.csv``) from the study's processed folder.

    A CSV file is read with all columns as text.
    """
    path = study.processed_dir / f"{name}.parquet"
    if path.is_file() or not (study.processed_dir / f"{name}.csv").is_file():
        return pd.read_parquet(path)
    return pd.read_csv(
        study.processed_dir / f"{name}.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig"
    )


# --------------------------------------------------------------------------------------
# writing exports (the demo generator and test corpora), byte-for-byte reproducible
# --------------------------------------------------------------------------------------
_FIXED_TIME = "2024-01-01T00:00:00Z"


def write_csv_export(
    data: pd.DataFrame, path: str | Path, *, encoding: str = "utf-8", header_rows=None
) -> Path:
    r"""Write an export as CSV, ``\n`` line ends, in ``encoding`` (``utf-8-sig`` = BOM).

    ``header_rows`` (optional) is a list of extra header rows (lists of strings, one entry
    per column) written under the field names, as Qualtrics does.
    """
    path = Path(path)
    text = data.to_csv(index=False, lineterminator="\n")
    if header_rows:
        import csv

        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        for row in header_rows:
            w.writerow([str(v) for v in row])
        first, rest = text.split("\n", 1)
        text = first + "\n" + buf.getvalue() + rest
    path.write_bytes(text.encode(encoding))
    return path


def write_qualtrics_export(
    data: pd.DataFrame, path: str | Path, *, question_text: dict[str, str] | None = None
) -> Path:
    """Write an export in the Qualtrics CSV layout, UTF-8 with BOM.

    Field names, question text, import ids (``{"ImportId":"QID<k>"}``), then the responses.
    """
    question_text = question_text or {}
    cols = list(data.columns)
    questions = [question_text.get(c, c) for c in cols]
    imports = [
        json.dumps({"ImportId": f"QID{k + 1}"}, separators=(",", ":")) for k in range(len(cols))
    ]
    return write_csv_export(data, path, encoding="utf-8-sig", header_rows=[questions, imports])


def write_excel_export(data: pd.DataFrame, path: str | Path, *, sheet: str = "Sheet1") -> Path:
    """Write an export as one ``.xlsx`` sheet with fixed timestamps (same data, same bytes).

    openpyxl stamps the workbook's created/modified times and every zip member's time;
    both are set to a fixed moment so that a seeded generator gives identical files.
    """
    import zipfile

    path = Path(path)
    tmp = path.with_suffix(path.suffix + ".tmp")
    frame = data.astype(object).where(data.notna(), None)
    frame.to_excel(tmp, sheet_name=sheet, index=False, engine="openpyxl")
    with zipfile.ZipFile(tmp) as zin, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            body = zin.read(info.filename)
            if info.filename == "docProps/core.xml":
                import re

                body = re.sub(
                    rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:\2>)",
                    lambda m: m.group(1) + _FIXED_TIME.encode() + m.group(3),
                    body,
                )
            out = zipfile.ZipInfo(info.filename, date_time=(2024, 1, 1, 0, 0, 0))
            out.compress_type = zipfile.ZIP_DEFLATED
            out.external_attr = info.external_attr
            zout.writestr(out, body)
    tmp.unlink()
    return path


def write_spss_export(
    data: pd.DataFrame,
    path: str | Path,
    *,
    variable_labels: dict[str, str] | None = None,
    value_labels: dict[str, dict[float, str]] | None = None,
    user_missing: dict[str, list[float]] | None = None,
) -> Path:
    """Write an export as an SPSS ``.sav`` with labels and user-missing values.

    Columns whose values are all numbers (or blank) become numeric variables; others become
    string variables, as SPSS does when a numeric field holds text. The creation date and
    time in the file header are set to a fixed moment (same data, same bytes).
    """
    import pyreadstat

    path = Path(path)
    frame = {}
    for c in data.columns:
        col = data[c]
        num = pd.to_numeric(col, errors="coerce")
        if (num.notna() | col.isna()).all():
            frame[c] = num.astype(float)
        else:
            frame[c] = col.map(lambda v: "" if v is None or v != v else str(v)).astype(object)
    df = pd.DataFrame(frame)
    labels = variable_labels or {}
    missing: dict[str, list[Any]] = {
        c: list(v) for c, v in (user_missing or {}).items() if c in df and df[c].dtype == float
    }
    vlabels = {c: v for c, v in (value_labels or {}).items() if c in df and df[c].dtype == float}
    pyreadstat.write_sav(
        df,
        str(path),
        column_labels=[labels.get(c) for c in df.columns],
        variable_value_labels=vlabels or None,
        missing_ranges=missing or None,
    )
    raw = bytearray(path.read_bytes())
    # header: "$FL2", product (60), layout, case size, compression, weight index, cases
    # (4 x 5), bias (8), then creation date (9 bytes, "dd mmm yy") and time (8, "hh:mm:ss")
    if raw[:4] == b"$FL2":
        raw[92:101] = b"01 Jan 24"
        raw[101:109] = b"00:00:00"
    path.write_bytes(bytes(raw))
    return path


def write_parquet_export(data: pd.DataFrame, path: str | Path) -> Path:
    """Write an export as Parquet.

    Numeric columns are written as numbers (integers nullable), columns holding any text as
    text.
    """
    path = Path(path)
    frame = {}
    for c in data.columns:
        col = data[c]
        if pd.api.types.is_numeric_dtype(col.dtype):
            frame[c] = col
            continue
        num = pd.to_numeric(col, errors="coerce")
        if (num.notna() | col.isna()).all() and col.notna().any():
            whole = (num.dropna() == num.dropna().round()).all()
            frame[c] = num.astype("Int64") if whole else num.astype(float)
        else:
            frame[c] = col.astype("str")
    pd.DataFrame(frame).to_parquet(path, index=False)
    return path


def read_operations(study: Study) -> pd.DataFrame:
    """Read the study's operational metrics file (``data.operations``).

    For example waiting minutes per wave and region.

    Returns
    -------
    DataFrame
        One row per line of the file: key columns as text (``wave``, ``region``...), every
        column whose values are all numbers as float64.

    Raises
    ------
    DataFileError
        The study file names no operations file, or it cannot be read (see
        :func:`read_csv_export`).
    """
    name = study.spec.data.operations
    if not name:
        raise DataFileError(
            str(study.path.name), "the study file names no operations file (data.operations)"
        )
    exp = read_csv_export(study.raw_dir / name, label=_label(study, name))
    out = {}
    for col in exp.data.columns:
        text = exp.data[col]
        num = pd.to_numeric(text, errors="coerce")
        numeric = text.notna().any() and (num.notna() == text.notna()).all()
        out[col] = num.astype(np.float64) if numeric and col != study.wave_column else text
    return pd.DataFrame(out)


def read_respondent_operations(study: Study) -> pd.DataFrame:
    """Read the study's per-customer operational file (``data.respondent_operations``).

    One row per customer: the id column (text, trimmed) and the metric columns (numbers).
    The file is read as every CSV export is (encoding detected, header checked, truncated
    rows found); then every id must be filled in and unique, and every metric value a
    number or blank.

    Returns
    -------
    DataFrame
        The id column renamed to ``ops_id`` as text, then each metric as float64 (blank
        cells missing), in the file's row order.

    Raises
    ------
    DataFileError
        The study file names no such file; the file cannot be read; the id column or a
        listed metric is missing; an id is blank or repeated; a metric value is not a
        number; the file has no numeric metric. The message names the file, and where it
        applies the row (as a spreadsheet shows it), the column and the value.
    """
    spec = study.spec.data.respondent_operations
    if spec is None:
        raise DataFileError(
            str(study.path.name),
            "the study file names no per-customer operational file (data.respondent_operations)",
        )
    label = _label(study, spec.path)
    exp = read_csv_export(study.raw_dir / spec.path, label=label)
    data = exp.data
    rows = exp.rows if exp.rows is not None else np.arange(len(data)) + 2
    id_col = spec.id or study.spec.data.respondent_id or ""
    if id_col not in data.columns:
        raise DataFileError(
            label,
            f"no id column {id_col!r} (data.respondent_operations.id); columns: {list(data.columns)}",
        )
    ids = data[id_col].astype("string").str.strip()
    blank = ids.isna() | (ids == "")
    if blank.any():
        k = int(np.flatnonzero(blank.to_numpy())[0])
        raise DataFileError(
            label,
            f"{int(blank.sum())} rows have no customer id; every record needs one",
            row=int(rows[k]),
            column=id_col,
        )
    dup = ids.duplicated(keep="first").to_numpy()
    if dup.any():
        k = int(np.flatnonzero(dup)[0])
        first = int(np.flatnonzero((ids == ids.iloc[k]).to_numpy())[0])
        raise DataFileError(
            label,
            f"the customer id repeats row {int(rows[first])}; {int(dup.sum())} ids repeat: "
            "the file must hold one record per customer",
            row=int(rows[k]),
            column=id_col,
            value=str(ids.iloc[k]),
        )
    listed = list(spec.metrics)
    missing = [m for m in listed if m not in data.columns]
    if missing:
        raise DataFileError(
            label,
            f"no metric column(s) {missing} (data.respondent_operations.metrics); "
            f"columns: {list(data.columns)}",
        )
    out = {"ops_id": ids.astype(object).to_numpy()}
    for col in listed or [c for c in data.columns if c != id_col]:
        text = data[col]
        num = pd.to_numeric(text, errors="coerce")
        bad = (text.notna() & num.isna()).to_numpy()
        if not bad.any():
            out[col] = num.astype(np.float64).to_numpy()
        elif listed:
            k = int(np.flatnonzero(bad)[0])
            raise DataFileError(
                label,
                f"{int(bad.sum())} values of metric {col!r} are not numbers; a metric holds "
                "numbers (blank for none)",
                row=int(rows[k]),
                column=col,
                value=str(text.iloc[k]),
            )
    if len(out) == 1:
        raise DataFileError(label, "the file has no numeric metric column besides the id")
    return pd.DataFrame(out)


# ---- report tables and figures -------------------------------------------------------
def write_report_table(table: pd.DataFrame, path: str | Path) -> Path:
    """Write a report table as CSV for analysts and spreadsheets.

    UTF-8 with BOM (so Excel shows Chinese labels), no index, numbers unrounded; text cells
    and column names that a spreadsheet would run as a formula (starting with ``=``,
    ``+``, ``-``, ``@``, tab or CR) are quote-prefixed (see
    :func:`analysis_helpers.safe_output.spreadsheet_safe`).

    Parameters
    ----------
    table : DataFrame
        The table; not changed.
    path : str or Path
        The CSV file to write.

    Returns
    -------
    Path
    """
    from .safe_output import spreadsheet_safe_frame

    path = Path(path)
    spreadsheet_safe_frame(table).to_csv(path, index=False, encoding="utf-8-sig")
    return path


def read_report_table(path: str | Path, *, text: Sequence[str] = ()) -> pd.DataFrame | None:
    """Read a report table that :func:`write_report_table` wrote; None when it is absent.

    The quote prefix that kept a text cell from running as a formula is taken off again.

    Parameters
    ----------
    path : str or Path
        The CSV file.
    text : sequence of str
        Columns read as text whatever they hold (codes such as waves and segment values).

    Returns
    -------
    DataFrame or None
    """
    from .safe_output import FORMULA_PREFIXES

    path = Path(path)
    if not path.is_file():
        return None
    table = pd.read_csv(path, encoding="utf-8-sig", dtype=dict.fromkeys(text, str))
    quoted = tuple("'" + p for p in FORMULA_PREFIXES)

    def unquote(v: Any) -> Any:
        return v[1:] if isinstance(v, str) and v.startswith(quoted) else v

    for col in table.columns:
        if table[col].dtype == object or pd.api.types.is_string_dtype(table[col]):
            table[col] = table[col].map(unquote)
    return table.rename(columns=unquote)


def write_report_figure(figure, path: str | Path) -> Path:
    """Save a matplotlib Figure as PNG (the theme's resolution and tight bounding box)."""
    path = Path(path)
    figure.savefig(path)
    return path


__all__ += ["write_report_table", "write_report_figure"]


def write_unit_file(folder: str | Path, unit: dict[str, Any]) -> Path:
    """Write the unit of a unit report, ``<folder>/unit.json`` (see :mod:`analysis_helpers.units`).

    Parameters
    ----------
    folder : str or Path
        The unit report's folder.
    unit : dict
        ``segment`` (the column), ``value`` (the code as text), ``value_label``,
        ``segment_label`` and ``folder``.
    """
    import json

    missing = [k for k in ("segment", "value") if k not in unit]
    if missing:
        raise KeyError(f"write_unit_file: the unit has no {missing[0]!r}")
    path = Path(folder) / "unit.json"
    path.write_text(json.dumps(unit, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def read_unit_file(folder: str | Path) -> dict[str, Any] | None:
    """Read ``<folder>/unit.json``: the unit of a unit report, None in any other report.

    Raises
    ------
    ValueError
        The file is not a JSON object with ``segment`` and ``value`` (names the file).
    """
    import json

    path = Path(folder) / "unit.json"
    if not path.is_file():
        return None
    try:
        unit = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: not a readable unit file (JSON): {exc}") from None
    if not isinstance(unit, dict) or not isinstance(unit.get("segment"), str):
        raise ValueError(f"{path}: a unit file needs a 'segment' (text) and a 'value'")
    if "value" not in unit:
        raise ValueError(f"{path}: a unit file needs a 'segment' (text) and a 'value'")
    return unit


__all__ += ["write_unit_file", "read_unit_file"]
