"""The cleaning step: raw exports in, one clean analysis file out, nothing lost.

:func:`clean` reads every data file of a study (:func:`analysis_helpers.io.read_study_files`),
validates every value against the study file and applies the data-quality rules:

1. **Values.** Items become float64: missing codes (``missing_codes`` of the item, and
   SPSS user-missing values declared in a ``.sav``) become missing; entries that are not
   numbers (``"N/A"``, ``"five"``) and codes outside the item's scale (or not whole
   numbers) become missing and are listed as problems; full-width digits such as ``"５"``
   (typed with a Chinese input method) are read as the digit and listed too; negatively
   worded items (``reverse: true``) are recoded ``x -> min + max - x``. Segment values not
   in the segment's value labels become missing and are listed.
2. **Quality rules**, in this order, each ``exclude``, ``flag`` or ``off`` in the study
   file (``quality:``), judged within each wave:

   - ``duplicate_id``: the same respondent id again (the first row is kept);
   - ``duplicate_answers``: the same answers to every item as an earlier row of the wave
     (rows without a single valid answer are not compared);
   - ``speeders``: completion time under ``fraction`` x the wave's median, or (method
     ``zscore``) more than ``z`` SD below the wave's mean of log seconds;
   - ``straightliners``: at least ``min_items`` answers in the grid and a share of at least
     ``max_run_share`` equal to the most common answer (judged on the answers as given,
     before reverse coding);
   - ``incomplete``: a share of items with a valid answer below ``min_answered_share``
     (items a wave's file lacks do not count);
   - ``out_of_range``: more than ``max_per_respondent`` invalid entries (out of range or
     not a number) in one row.

Nothing is lost: every row read is either in ``data`` (kept) or in ``exclusions`` (with its
original values and every reason), per wave; the funnel and the log count both.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ._design import SurveyDesign
from ._progress import steps
from .io import (
    PROBLEM_COLUMNS,
    DataFileError,
    RawData,
    _is_number_column,
    as_text_frame,
    cells_as_text,
    manifest_is_current,
    read_processed,
    read_study_file,
    read_study_files,
    stack_exports,
)
from .io import _label as _file_label
from .safe_output import Md, md
from .study import Study, code_text
from .weighting import RakingError, rake, weighting_report

__all__ = [
    "RULES",
    "CleaningError",
    "CleaningResult",
    "clean",
    "check_data",
    "segment_table",
    "load_clean",
    "data_dictionary",
    "problem_summary",
    "funnel_long",
    "parse_numbers",
    "RULE_LABELS",
    "PROBLEM_LABELS",
    "rule_labels",
    "rule_view",
    "problem_labels",
    "files_table",
    "unused_columns",
    "column_changes",
    "rule_summary",
    "cleaning_takeaways",
    "unanswered_items",
    "answer_cube",
    "read_cube",
    "CUBE_COLUMNS",
]

#: the quality rules, in the order they are applied (funnel columns)
RULES = (
    "duplicate_id",
    "duplicate_answers",
    "speeders",
    "straightliners",
    "incomplete",
    "out_of_range",
)
_RULE_CONFIG = {
    "duplicate_id": "duplicates",
    "duplicate_answers": "duplicates",
    "speeders": "speeders",
    "straightliners": "straightliners",
    "incomplete": "incomplete",
    "out_of_range": "out_of_range",
}
_NUMBER = r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$"
BLANK, NUMBER, RECOVERED, INVALID = 0, 1, 2, 3


@dataclass
class CleaningResult:
    """Everything the cleaning step produces.

    Attributes
    ----------
    data : DataFrame
        The clean analysis file: one row per kept respondent. Respondent id, the wave (an
        ordered Categorical in the study's wave order), segment columns (text codes),
        design columns (weight and fpc float, strata and cluster text), duration (float),
        every item (float64, NaN = missing), text columns, ``_file``, ``_row`` and
        ``flags`` (flag-only rules that hit the row, ``;``-joined, ``""`` if none).
    exclusions : DataFrame
        Every excluded row with all its original values (text, as read), ``_file``,
        ``_row``, ``reasons`` (every excluding rule that applied, ``;``-joined) and
        ``flags``.
    problems : DataFrame
        ``file``, ``row``, ``respondent_id``, ``column``, ``value``, ``rule``: one row per
        problem value (``non_numeric``, ``full_width_digits``, ``out_of_range``,
        ``unknown_segment_value``, ``invalid_weight``) or column (``missing_column``: a
        study column a wave's file lacks; ``row`` missing). Export columns the study does
        not use are not problems: ``alignment`` lists them as "not used".
    funnel : DataFrame
        One row per wave with data: ``wave``, ``read``, one column per rule in :data:`RULES` (rows
        remaining after it), ``analysed``.
    log : DataFrame
        One row per wave x rule: ``wave``, ``rule``, ``action`` (as in the study file),
        ``status`` (``"applied"``; ``"not applied"`` when the rule cannot apply, e.g. a
        speeder rule without completion times; ``"off"``), ``reason`` (why not applied or
        off; ``""`` when applied), ``n_hit`` (rows the rule hits, whatever its action; 0
        unless applied), ``n_excluded`` (rows removed at this step: hit by this rule and by
        no earlier excluding rule).
    alignment : DataFrame
        Which study columns each wave's file has (see :class:`analysis_helpers.io.RawData`).
    recodes : DataFrame
        One row per wave x item: ``wave``, ``item``, ``missing_codes`` (cells mapped to
        missing), ``reversed`` (cells reverse-coded).
    files : DataFrame
        One row per file read: format, encoding (declared or detected), wave, rows.
    dictionary : DataFrame
        :func:`data_dictionary` of ``data``.
    weighting : DataFrame
        The weighting report per wave when the study file rakes weights (see
        :func:`apply_weighting`); empty otherwise.
    segments : DataFrame
        :func:`segment_table`: every segment's codes and labels and where they come from.
    cube : DataFrame
        :func:`answer_cube` of ``data``: the weighted count cube (wave x segment group x
        item x answer code) the descriptive pages read instead of rescanning the rows.
    """

    data: pd.DataFrame
    exclusions: pd.DataFrame
    problems: pd.DataFrame
    funnel: pd.DataFrame
    log: pd.DataFrame
    alignment: pd.DataFrame
    recodes: pd.DataFrame
    files: pd.DataFrame
    dictionary: pd.DataFrame = field(default_factory=pd.DataFrame)
    weighting: pd.DataFrame = field(default_factory=pd.DataFrame)
    segments: pd.DataFrame = field(default_factory=pd.DataFrame)
    cube: pd.DataFrame = field(default_factory=pd.DataFrame)


# --------------------------------------------------------------------------------------
# values
# --------------------------------------------------------------------------------------
def _arrow(col: pd.Series) -> pa.Array | pa.ChunkedArray:
    return pa.array(col, type=pa.string(), from_pandas=True)


def parse_numbers(text: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Numbers from a text column, and what each cell was.

    Parameters
    ----------
    text : Series
        Text values as read (missing = blank), or typed numbers (a Parquet or SPSS
        column, NaN = blank): these are taken as they are, without a text round trip
        (infinities are not numbers).

    Returns
    -------
    values : ndarray of float64
        The number, NaN where blank or not a number.
    status : ndarray of int8
        0 blank, 1 a number, 2 full-width digits read as a number (``"５"``), 3 not a
        number (``"N/A"``, ``"five"``).
    """
    if _is_number_column(text):
        return _typed_numbers(text)
    arr = _arrow(text)
    n = len(text)
    null = np.asarray(pc.is_null(arr).to_numpy(zero_copy_only=False), dtype=bool)
    try:
        values = np.asarray(
            pc.cast(arr, pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64
        )
        if np.isfinite(values[~null]).all():
            status = np.where(null, BLANK, NUMBER).astype(np.int8)
            return values, status
    except pa.ArrowInvalid:
        pass
    trimmed = pc.utf8_trim_whitespace(arr)
    ok = pc.fill_null(pc.match_substring_regex(trimmed, _NUMBER), False)
    values = np.asarray(
        pc.cast(pc.if_else(ok, trimmed, pa.scalar(None, pa.string())), pa.float64()).to_numpy(
            zero_copy_only=False
        ),
        dtype=np.float64,
    )
    ok = np.asarray(ok.to_numpy(zero_copy_only=False), dtype=bool)
    blank = null | np.asarray(
        pc.fill_null(pc.equal(trimmed, ""), True).to_numpy(zero_copy_only=False), dtype=bool
    )
    status = np.full(n, NUMBER, dtype=np.int8)
    status[blank] = BLANK
    bad = ~blank & ~ok
    if bad.any():
        idx = np.flatnonzero(bad)
        raw = text.to_numpy(dtype=object)[idx]
        fixed = {}
        for v in set(raw):
            norm = unicodedata.normalize("NFKC", str(v)).strip()
            try:
                if norm != str(v).strip() and pd.Series([norm]).str.fullmatch(_NUMBER).iloc[0]:
                    fixed[v] = float(norm)
            except ValueError:
                pass
        rec = np.array([v in fixed for v in raw], dtype=bool)
        status[idx] = np.where(rec, RECOVERED, INVALID)
        values[idx[rec]] = [fixed[v] for v in raw[rec]]
    return values, status


def _typed_numbers(col: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Return :func:`parse_numbers` of a typed number column: same values and status, no text."""
    values = np.array(col.to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64)  # a copy
    status = np.full(len(values), NUMBER, dtype=np.int8)
    finite = np.isfinite(values)
    if not finite.all():
        nan = np.isnan(values)
        status[nan] = BLANK
        inf = ~finite & ~nan
        if inf.any():
            status[inf] = INVALID
            values[inf] = np.nan
    return values, status


def _text_at(frame: pd.DataFrame, col: str, idx: np.ndarray) -> np.ndarray:
    """Return the cells ``idx`` of a column as read, as text (object array; blanks NaN)."""
    return cells_as_text(frame[col].take(idx)).to_numpy(dtype=object)


@dataclass
class _Cells:
    """Problem cells collected per column, turned into one table at the end."""

    parts: list[tuple[str, str, np.ndarray]] = field(default_factory=list)

    def add(self, column: str, rule: str, mask: np.ndarray) -> None:
        if mask.any():
            self.parts.append((column, rule, np.flatnonzero(mask)))

    def frame(self, raw: pd.DataFrame, id_col: str) -> pd.DataFrame:
        if not self.parts:
            return pd.DataFrame(columns=PROBLEM_COLUMNS)
        idx = np.concatenate([i for _, _, i in self.parts])
        return pd.DataFrame(
            {
                "file": raw["_file"].take(idx).to_numpy(),
                "row": raw["_row"].take(idx).to_numpy(),
                "respondent_id": raw[id_col].take(idx).to_numpy(),
                "column": np.repeat(
                    [c for c, _, _ in self.parts], [len(i) for *_, i in self.parts]
                ),
                "value": np.concatenate([_text_at(raw, c, i) for c, _, i in self.parts]),
                "rule": np.repeat([r for _, r, _ in self.parts], [len(i) for *_, i in self.parts]),
            }
        )


def _user_missing_mask(raw: RawData, col: str, values: np.ndarray) -> np.ndarray:
    """Cells whose file declares their value missing (SPSS user-missing)."""
    mask = np.zeros(len(values), dtype=bool)
    files = None
    for name, meta in raw.meta.items():
        declared = meta.user_missing.get(col)
        if not declared:
            continue
        if files is None:
            files = raw.frame["_file"].to_numpy()
        in_file = files == name
        for d in declared:
            if isinstance(d, tuple):
                mask |= in_file & (values >= float(d[0])) & (values <= float(d[1]))
            else:
                try:
                    mask |= in_file & (values == float(d))
                except (TypeError, ValueError):
                    continue
    return mask


def _check_mostly_text(ctx: _Context, col: str, status: np.ndarray) -> None:
    """Stop, per file, on a column whose values are mostly not numbers (a structural error)."""
    raw, file_codes, files = ctx.frame, ctx.file_codes, ctx.file_labels
    k = len(files)
    nonblank = np.bincount(file_codes, weights=status != BLANK, minlength=k)
    invalid = np.bincount(file_codes, weights=status == INVALID, minlength=k)
    for j in range(k):
        if nonblank[j] >= 10 and invalid[j] > 0.5 * nonblank[j]:
            first = int(np.flatnonzero((file_codes == j) & (status == INVALID))[0])
            ctx.fail(
                DataFileError(
                    files[j],
                    f"{int(invalid[j])} of {int(nonblank[j])} values are not numbers: the column "
                    "holds text, not this numeric item (shifted columns or a wrong header?); fix "
                    "the export or the item's name in the study file",
                    row=int(raw["_row"].iat[first]),
                    column=col,
                    value=_text_at(raw, col, np.array([first]))[0],
                )
            )


# --------------------------------------------------------------------------------------
# the cleaning step
# --------------------------------------------------------------------------------------
class CleaningError(ValueError):
    """A quality rule would exclude too much of a wave, or the study file does not fit the data.

    Too much is more than the study file allows (``quality.max_excluded_share``).
    """


@dataclass
class _Context:
    """What every part of the cleaning step needs: the study, the rows read, the waves."""

    study: Study
    raw: RawData
    frame: pd.DataFrame
    waves: list[str]
    wave_codes: np.ndarray  # position of each row's wave in ``waves``
    file_codes: np.ndarray  # position of each row's file in ``data.files``
    file_labels: list[str]  # the files as named in messages
    present: pd.DataFrame  # alignment indexed by column: which wave has which column
    cells: _Cells = field(default_factory=_Cells)
    #: None: raise the first error (cleaning); a list: collect every error (validate)
    errors: list[Exception] | None = None

    @property
    def n(self) -> int:
        return len(self.frame)

    def fail(self, exc: Exception) -> None:
        if self.errors is None:
            raise exc
        self.errors.append(exc)

    def by_wave(self, mask: np.ndarray) -> np.ndarray:
        return np.bincount(self.wave_codes, weights=mask, minlength=len(self.waves))


@dataclass
class _Items:
    values: dict[str, np.ndarray]  # cleaned, reverse-coded
    given: dict[str, np.ndarray]  # cleaned, as answered (before reverse coding)
    invalid_count: np.ndarray  # invalid entries per row
    recodes: list[dict]


def _context(study: Study, raw: RawData) -> _Context:
    frame = raw.frame
    files = study.spec.data.files
    wave_cat = pd.Categorical(frame[study.wave_column], categories=study.waves, ordered=True)
    file_cat = pd.Categorical(frame["_file"], categories=[f.path for f in files])
    return _Context(
        study=study,
        raw=raw,
        frame=frame,
        waves=study.waves,
        wave_codes=np.asarray(wave_cat.codes, dtype=np.int64),
        file_codes=np.asarray(file_cat.codes, dtype=np.int64),
        file_labels=[
            str(raw.meta[f.path].file) if f.path in raw.meta else _file_label(study, f.path)
            for f in files
        ],
        present=raw.alignment.set_index("column"),
    )


def _split_codes(codes: list) -> tuple[list[float], set[str]]:
    """Missing codes as numbers and as text (casefolded)."""
    num, text = [], set()
    for code in codes:
        if isinstance(code, str):
            try:
                num.append(float(code))
            except ValueError:
                text.add(code.strip().casefold())
        else:
            num.append(float(code))
    return num, text


def _missing_mask(ctx: _Context, name: str, values: np.ndarray, status: np.ndarray) -> np.ndarray:
    """Return the cells that are missing codes.

    These are the item's and the file's user-missing values, and codes outside the scale
    that the file labels (e.g. SPSS 99 "Don't know").
    """
    item = ctx.study.items[name]
    num_codes, str_codes = _split_codes(item.missing_codes)
    missing = np.zeros(ctx.n, dtype=bool)
    if num_codes:
        missing |= (status != BLANK) & np.isin(values, num_codes)
    if str_codes:
        bad = status == INVALID
        if bad.any():
            idx = np.flatnonzero(bad)
            txt = _text_at(ctx.frame, name, idx)
            hit = np.array([str(v).strip().casefold() in str_codes for v in txt], dtype=bool)
            missing[idx[hit]] = True
    missing |= _user_missing_mask(ctx.raw, name, values)
    missing |= _labelled_outside_mask(ctx.raw, name, values, item.scale.min, item.scale.max)
    return missing


def _labelled_outside_mask(
    raw: RawData, col: str, values: np.ndarray, lo: int, hi: int
) -> np.ndarray:
    """Cells holding a code outside the scale that their file gives a value label."""
    mask = np.zeros(len(values), dtype=bool)
    files = None
    for name, meta in raw.meta.items():
        labelled = []
        for code in meta.value_labels.get(col) or {}:
            try:
                c = float(code)
            except (TypeError, ValueError):
                continue
            if not lo <= c <= hi:
                labelled.append(c)
        if not labelled:
            continue
        if files is None:
            files = raw.frame["_file"].to_numpy()
        mask |= (files == name) & np.isin(values, labelled)
    return mask


def _clean_item(ctx: _Context, name: str, items: _Items) -> None:
    """Validate one item's values, map missing codes, reverse-code; record problems."""
    item = ctx.study.items[name]
    values, status = parse_numbers(ctx.frame[name])
    _check_mostly_text(ctx, name, status)
    missing = _missing_mask(ctx, name, values, status)
    invalid_text = (status == INVALID) & ~missing
    sc = item.scale
    with np.errstate(invalid="ignore"):
        oor = (
            ((status == NUMBER) | (status == RECOVERED))
            & ~missing
            & ((values < sc.min) | (values > sc.max) | (values != np.round(values)))
        )
    _check_mostly_outside(ctx, name, oor, status != BLANK)
    ctx.cells.add(name, "non_numeric", invalid_text)
    ctx.cells.add(name, "full_width_digits", (status == RECOVERED) & ~missing & ~oor)
    ctx.cells.add(name, "out_of_range", oor)
    items.invalid_count += invalid_text | oor
    clean_vals = np.where(missing | oor | invalid_text, np.nan, values)
    items.given[name] = clean_vals
    rev = np.zeros(ctx.n, dtype=bool)
    if item.reverse:
        rev = ~np.isnan(clean_vals)
        clean_vals = np.where(rev, sc.min + sc.max - clean_vals, clean_vals)
    items.values[name] = clean_vals
    miss_by_wave, rev_by_wave = ctx.by_wave(missing), ctx.by_wave(rev)
    for k, w in enumerate(ctx.waves):
        if w in ctx.present.columns:
            items.recodes.append(
                {
                    "wave": w,
                    "item": name,
                    "present": bool(ctx.present.at[name, w]),
                    "missing_codes": int(miss_by_wave[k]),
                    "reversed": int(rev_by_wave[k]),
                }
            )


def _check_mostly_outside(ctx: _Context, col: str, oor: np.ndarray, given: np.ndarray) -> None:
    """Stop, per file, on an item whose numbers mostly lie outside its scale (the wrong scale)."""
    k = len(ctx.file_labels)
    nonblank = np.bincount(ctx.file_codes, weights=given, minlength=k)
    outside = np.bincount(ctx.file_codes, weights=oor, minlength=k)
    for j in range(k):
        if nonblank[j] >= 10 and outside[j] > 0.5 * nonblank[j]:
            rows = np.flatnonzero((ctx.file_codes == j) & oor)
            seen = pd.unique(_text_at(ctx.frame, col, rows))[:6]
            sc = ctx.study.items[col].scale
            ctx.fail(
                DataFileError(
                    ctx.file_labels[j],
                    f"{int(outside[j])} of {int(nonblank[j])} values lie outside the item's scale "
                    f"{sc.min}-{sc.max} (e.g. {', '.join(map(str, seen))}): fix the scale in the "
                    "study file, or declare codes such as 'not applicable' in missing_codes",
                    row=int(ctx.frame["_row"].iat[int(rows[0])]),
                    column=col,
                    value=_text_at(ctx.frame, col, rows[:1])[0],
                )
            )


def _clean_items(ctx: _Context) -> _Items:
    items = _Items(values={}, given={}, invalid_count=np.zeros(ctx.n, dtype=np.int64), recodes=[])
    for name in steps(ctx.study.items, desc="cleaning", unit="item"):
        _clean_item(ctx, name, items)
    return items


def _segment_codes(ctx: _Context, column: str) -> pd.Series:
    """Return a segment column as its study codes.

    Text as written, ``"1.0"`` read as ``"1"``, and a file's labelled code read as its
    label where the study file lists labels.
    """
    txt = ctx.frame[column].str.strip()
    codes = set(ctx.study.segment(column).values)
    unknown = txt.notna() & ~txt.isin(codes)
    if not unknown.any():
        return txt
    fix = {}
    for v in pd.unique(txt[unknown]):
        number = _as_number(v)
        if isinstance(number, float) and code_text(number) in codes:
            fix[v] = code_text(number)
    out = txt.where(~unknown, txt.map(fix))
    for name, meta in ctx.raw.meta.items():
        labels = meta.value_labels.get(column) or {}
        by_label = {
            code_text(k): str(v).strip() for k, v in labels.items() if str(v).strip() in codes
        }
        if not by_label:
            continue
        rows = (
            (ctx.frame["_file"] == name).to_numpy() & out.isna().to_numpy() & txt.notna().to_numpy()
        )
        if rows.any():
            mapped = {v: by_label.get(code_text(_as_number(v))) for v in pd.unique(txt[rows])}
            out.loc[rows] = txt[rows].map(mapped)
    return out


def _as_number(text: str) -> float | str:
    try:
        return float(text)
    except ValueError:
        return text


def _segment_missing(ctx: _Context, column: str) -> np.ndarray:
    """Segment cells their file declares missing (SPSS user-missing)."""
    if not any(meta.user_missing.get(column) for meta in ctx.raw.meta.values()):
        return np.zeros(ctx.n, dtype=bool)
    values, _ = parse_numbers(ctx.frame[column])
    return _user_missing_mask(ctx.raw, column, values)


def _clean_segments(ctx: _Context, out: dict[str, object]) -> None:
    for seg in ctx.study.segments:
        col = seg.column
        codes = _segment_codes(ctx, col)
        declared_missing = _segment_missing(ctx, col)
        given = ctx.frame[col].str.strip().notna().to_numpy() & ~declared_missing
        unknown = given & codes.isna().to_numpy()
        _check_mostly_unknown(ctx, col, unknown, given)
        ctx.cells.add(col, "unknown_segment_value", unknown)
        out[col] = codes.mask(~given | unknown)


def _check_mostly_unknown(ctx: _Context, col: str, unknown: np.ndarray, given: np.ndarray) -> None:
    """Stop, per file, on a segment whose values are mostly not its codes (described wrongly)."""
    k = len(ctx.file_labels)
    nonblank = np.bincount(ctx.file_codes, weights=given, minlength=k)
    bad = np.bincount(ctx.file_codes, weights=unknown, minlength=k)
    for j in range(k):
        if nonblank[j] >= 10 and bad[j] > 0.5 * nonblank[j]:
            first = int(np.flatnonzero((ctx.file_codes == j) & unknown)[0])
            codes = list(ctx.study.segment(col).values)
            ctx.fail(
                DataFileError(
                    ctx.file_labels[j],
                    f"{int(bad[j])} of {int(nonblank[j])} values are not codes of segment {col!r} "
                    f"({_shown(codes)}): list the codes the export uses in the segment's values "
                    "(numbers may be written as numbers, e.g. {1: Postpaid}), or leave values out "
                    "to take them from the data",
                    row=int(ctx.frame["_row"].iat[first]),
                    column=col,
                    value=ctx.frame[col].iat[first],
                )
            )


def _shown(values: list, k: int = 8) -> str:
    text = ", ".join(repr(v) for v in values[:k])
    return text + (", ..." if len(values) > k else "")


def _clean_design(ctx: _Context, out: dict[str, object]) -> None:
    for role, col in ctx.study.raw_design_columns().items():
        if not col or col in out:
            continue
        if role in ("weight", "fpc") or role.startswith("fpc"):  # fpc2...: later stages
            values, status = parse_numbers(ctx.frame[col])
            if role == "weight":
                with np.errstate(invalid="ignore"):
                    bad = (status == INVALID) | (status == BLANK) | ~(values > 0)
            else:
                bad = status == INVALID
            ctx.cells.add(col, f"invalid_{role.rstrip('0123456789')}", bad)
            out[col] = np.where(bad, np.nan, values)
        elif role.startswith("replicate"):  # replicate1...: replicate weights (0 is valid)
            values, status = parse_numbers(ctx.frame[col])
            with np.errstate(invalid="ignore"):
                bad = (status == INVALID) | (status == BLANK) | ~(values >= 0)
            ctx.cells.add(col, "invalid_replicate_weight", bad)
            out[col] = np.where(bad, np.nan, values)
        else:
            out[col] = ctx.frame[col].str.strip()


def _clean_duration(ctx: _Context, out: dict[str, object]) -> np.ndarray | None:
    duration = ctx.study.spec.data.duration
    if not duration:
        return None
    values, status = parse_numbers(ctx.frame[duration])
    with np.errstate(invalid="ignore"):
        bad = (status == INVALID) | (values < 0)
    ctx.cells.add(duration, "non_numeric", bad)
    dur = np.where(bad, np.nan, values)
    out[duration] = dur
    return dur


# the quality rules ----------------------------------------------------------------------
@dataclass
class _Rule:
    """One quality rule in one wave: does it apply, and if not, why."""

    status: str  # "applied", "not applied", "off"
    reason: str = ""


def _rule_status(ctx: _Context, dur: np.ndarray | None, grid: list[str]) -> dict[str, list[_Rule]]:
    """Per rule, per wave: applied, not applied (with the reason) or off."""
    study, q = ctx.study, ctx.study.spec.quality
    out = {}
    has_dur = ctx.by_wave(~np.isnan(dur)) > 0 if dur is not None else None
    st = q.straightliners
    for r in RULES:
        cfg = _RULE_CONFIG[r]
        rules = []
        for k in range(len(ctx.waves)):
            if getattr(q, cfg).action == "off":
                rule = _Rule("off", _reason(study, "clean.reason_off", cfg=cfg))
            elif r == "duplicate_id" and not study.has_id:
                rule = _Rule("not applied", _reason(study, "clean.reason_no_id"))
            elif r == "speeders" and has_dur is None:
                rule = _Rule("not applied", _reason(study, "clean.reason_no_duration"))
            elif r == "speeders" and has_dur is not None and not has_dur[k]:
                rule = _Rule("not applied", _reason(study, "clean.reason_no_times"))
            elif r == "straightliners" and len(grid) < st.min_items:
                items = _count(study, len(grid), "clean.n_grid_items")
                rule = _Rule(
                    "not applied",
                    _reason(study, "clean.reason_short_grid", items=items, min_items=st.min_items),
                )
            else:
                rule = _Rule("applied")
            rules.append(rule)
        out[r] = rules
    return out


def _duplicate_hits(ctx: _Context, out: dict, given_mat: np.ndarray, answered: np.ndarray):
    key = pd.DataFrame({"w": ctx.wave_codes, "id": out[ctx.study.id_column]})
    dup_id = key.duplicated(keep="first").to_numpy()
    answers = pd.util.hash_pandas_object(
        pd.DataFrame(given_mat, copy=False), index=False
    ).to_numpy()
    comparable = answered > 0
    dup = pd.DataFrame({"w": ctx.wave_codes, "h": answers})[comparable].duplicated(keep="first")
    dup_answers = np.zeros(ctx.n, dtype=bool)
    dup_answers[np.flatnonzero(comparable)[dup.to_numpy()]] = True
    return dup_id, dup_answers


def _speeder_hits(ctx: _Context, dur: np.ndarray | None) -> np.ndarray:
    if dur is None:
        return np.zeros(ctx.n, dtype=bool)
    sp = ctx.study.spec.quality.speeders
    with np.errstate(invalid="ignore", divide="ignore"):
        if sp.method == "median_fraction":
            med = pd.Series(dur).groupby(ctx.wave_codes).transform("median").to_numpy()
            return dur < sp.fraction * med
        logd = pd.Series(np.log(np.where(dur > 0, dur, np.nan)))
        g = logd.groupby(ctx.wave_codes)
        z = ((logd - g.transform("mean")) / g.transform("std")).to_numpy()
        return z < -sp.z


def _straightliner_hits(
    ctx: _Context, items: _Items, grid: list[str], given: tuple[list[str], np.ndarray]
) -> np.ndarray:
    """Rows answering the grid with one answer; ``given`` is the answer matrix and its items."""
    st = ctx.study.spec.quality.straightliners
    if not grid:
        return np.zeros(ctx.n, dtype=bool)
    names, mat = given
    if grid == names:  # the default: every item on one scale (no second matrix)
        g = mat
    else:
        g = _stack([items.given[c] for c in grid], ctx.n)
    g_ans = (~np.isnan(g)).sum(axis=1)
    spec_items = ctx.study.items
    lo = min(spec_items[c].scale.min for c in grid)
    hi = max(spec_items[c].scale.max for c in grid)
    modal = np.zeros(ctx.n, dtype=np.int64)
    for v in range(lo, hi + 1):
        np.maximum(modal, (g == v).sum(axis=1), out=modal)
    return (g_ans >= st.min_items) & (modal >= st.max_run_share * g_ans - 1e-9)


def _rule_hits(
    ctx: _Context, items: _Items, out: dict, dur: np.ndarray | None, grid: list[str]
) -> dict[str, np.ndarray]:
    """Which rows each quality rule hits (whatever its action)."""
    q = ctx.study.spec.quality
    names = list(ctx.study.items)
    given_mat = _stack([items.given[c] for c in names], ctx.n)
    # items a wave's file lacks do not count towards the answered share
    has_item = np.ones((len(ctx.waves), len(names)), dtype=bool)
    for k, w in enumerate(ctx.waves):
        if w in ctx.present.columns:
            has_item[k] = ctx.present.loc[names, w].to_numpy(dtype=bool)
    n_items = has_item.sum(axis=1)[np.clip(ctx.wave_codes, 0, None)]
    answered = (~np.isnan(given_mat)).sum(axis=1)
    hits = {}
    hits["duplicate_id"], hits["duplicate_answers"] = _duplicate_hits(ctx, out, given_mat, answered)
    hits["speeders"] = _speeder_hits(ctx, dur)
    hits["straightliners"] = _straightliner_hits(ctx, items, grid, (names, given_mat))
    hits["incomplete"] = answered / np.maximum(n_items, 1) < q.incomplete.min_answered_share
    hits["out_of_range"] = items.invalid_count > q.out_of_range.max_per_respondent
    return hits


@dataclass
class _Outcome:
    excluded: np.ndarray
    reasons: np.ndarray
    flags: np.ndarray
    funnel: pd.DataFrame
    log: pd.DataFrame


def _apply_rules(
    ctx: _Context, hits: dict[str, np.ndarray], status: dict[str, list[_Rule]]
) -> _Outcome:
    """Exclusions, flags, the funnel and the log from the rules' hits."""
    q = ctx.study.spec.quality
    actions = {r: getattr(q, _RULE_CONFIG[r]).action for r in RULES}
    applies = {}
    for r in RULES:
        ok = np.array([s.status == "applied" for s in status[r]], dtype=bool)
        applies[r] = hits[r] & ok[np.clip(ctx.wave_codes, 0, None)]
    excl_bits = np.zeros(ctx.n, dtype=np.int64)
    flag_bits = np.zeros(ctx.n, dtype=np.int64)
    for b, r in enumerate(RULES):
        if actions[r] == "exclude":
            excl_bits |= applies[r].astype(np.int64) << b
        elif actions[r] == "flag":
            flag_bits |= applies[r].astype(np.int64) << b
    excluded = excl_bits > 0
    wave_n = np.bincount(ctx.wave_codes, minlength=len(ctx.waves))
    removed_before = np.zeros(ctx.n, dtype=bool)
    step_removed = {}
    for r in RULES:
        step = applies[r] & ~removed_before if actions[r] == "exclude" else np.zeros(ctx.n, bool)
        step_removed[r] = ctx.by_wave(step)
        removed_before |= step
    funnel_rows, log_rows = [], []
    for k, w in enumerate(ctx.waves):
        if wave_n[k] == 0:  # a wave of the study file without data (yet)
            continue
        in_w = ctx.wave_codes == k
        row = {"wave": w, "read": int(wave_n[k])}
        left = int(wave_n[k])
        for r in RULES:
            left -= int(step_removed[r][k])
            row[r] = left
            log_rows.append(
                {
                    "wave": w,
                    "rule": r,
                    "action": actions[r],
                    "status": status[r][k].status,
                    "reason": status[r][k].reason,
                    "n_hit": int((applies[r] & in_w).sum()),
                    "n_excluded": int(step_removed[r][k]),
                }
            )
        row["analysed"] = int((in_w & ~excluded).sum())
        funnel_rows.append(row)
    funnel = pd.DataFrame(funnel_rows)
    excl_by_wave = ctx.by_wave(excluded)[wave_n > 0]
    if not (funnel["read"].to_numpy() == funnel["analysed"].to_numpy() + excl_by_wave).all():
        raise RuntimeError("rows read != rows kept + rows excluded: a bug in clean()")
    return _Outcome(
        excluded=excluded,
        reasons=_bits_to_text(excl_bits),
        flags=_bits_to_text(flag_bits),
        funnel=funnel,
        log=pd.DataFrame(log_rows),
    )


_RULE_HINTS = {
    "duplicate_id": (
        "is data.respondent_id ({id!r}) really unique per respondent? Without a unique id, "
        "remove data.respondent_id: rows are then named by file and row, and duplicates are "
        "found by identical answers"
    ),
    "duplicate_answers": "many rows give identical answers: are the items' names right?",
    "speeders": "is data.duration ({duration!r}) the completion time in seconds?",
    "straightliners": "check the grid (quality.straightliners.grid) and max_run_share",
    "incomplete": (
        "are the items' names right? Items asked of only some respondents lower the answered "
        "share: lower quality.incomplete.min_answered_share"
    ),
    "out_of_range": "check the items' scales and missing codes",
}


def _check_excluded_share(ctx: _Context, log: pd.DataFrame, funnel: pd.DataFrame) -> None:
    """Stop when one rule would exclude more of a wave than the study file allows."""
    q = ctx.study.spec.quality
    limit = q.max_excluded_share
    read = funnel.set_index("wave")["read"]
    hit = log[(log["action"] == "exclude") & (log["status"] == "applied")]
    for row in hit.itertuples(index=False):
        n = int(read[row.wave])
        if row.n_hit > limit * n:
            data = ctx.study.spec.data
            hint = _RULE_HINTS[row.rule].format(id=data.respondent_id, duration=data.duration)
            stop = "" if hint.endswith(("?", "!", ".")) else "."
            ctx.fail(
                CleaningError(
                    f"{ctx.study.path.name}: quality rule {row.rule!r} would exclude {row.n_hit:,} "
                    f"of {n:,} rows ({row.n_hit / n:.0%}) of wave {ctx.study.wave_label(row.wave)!r}, "
                    f"more than quality.max_excluded_share ({limit:.0%}): {hint}{stop} To go ahead "
                    f"anyway, set quality.{_RULE_CONFIG[row.rule]}.action to flag, or raise "
                    "quality.max_excluded_share"
                )
            )


def _check_margins(ctx: _Context) -> None:
    """Raking margins of segments whose values come from the data name known codes."""
    study = ctx.study
    wt = study.weighting
    if wt is None:
        return
    for col, targets in wt.margins.items():
        if study.segment_source(col) == "study file":
            continue
        known = list(study.segment(col).values)
        unknown = [v for v in targets if v not in known]
        if unknown:
            ctx.fail(
                CleaningError(
                    f"{study.path.name}: weighting.margins.{col}.{unknown[0]}: not a code of "
                    f"segment {col!r} in the data ({_shown(known)})"
                )
            )
        missing = [v for v in known if v not in targets]
        if missing:
            ctx.fail(
                CleaningError(
                    f"{study.path.name}: weighting.margins.{col}: no target for code {missing[0]!r}"
                )
            )


def clean(study: Study, *, raw: RawData | None = None) -> CleaningResult:
    """Clean a study's raw data: validate values, apply the quality rules, keep a record.

    Parameters
    ----------
    study : Study
        The validated study file.
    raw : RawData, optional
        Already-read raw data (default: :func:`analysis_helpers.io.read_study_files`).

    Returns
    -------
    CleaningResult
        Rows read = rows kept + rows excluded, per wave. Writes nothing: call
        :func:`analysis_helpers.io.write_processed` to save it.

    Raises
    ------
    DataFileError
        A structural problem (see :func:`analysis_helpers.io.read_study_files`), a numeric
        column that holds mostly text or mostly values outside its scale, or a segment
        column whose values are mostly not its codes.
    CleaningError
        A quality rule would exclude more than ``quality.max_excluded_share`` of a wave;
        raking margins name codes the data do not have.
    """
    if not isinstance(study, Study):
        raise TypeError(f"study must be a Study (from load_study), not {type(study).__name__}")
    raw = raw if raw is not None else read_study_files(study)
    ctx = _context(study, raw)
    out, items, outcome = _run(ctx)
    return _result(ctx, out, items, outcome)


def _run(ctx: _Context) -> tuple[dict[str, object], _Items, _Outcome]:
    """Values, then quality rules: everything of the cleaning step but the result tables."""
    study = ctx.study
    items = _clean_items(ctx)
    out: dict[str, object] = {study.id_column: ctx.frame[study.id_column].str.strip()}
    out[study.wave_column] = pd.Categorical(
        ctx.frame[study.wave_column], categories=ctx.waves, ordered=True
    )
    _clean_segments(ctx, out)
    _clean_design(ctx, out)
    dur = _clean_duration(ctx, out)
    out.update(items.values)
    for col in study.spec.data.text_columns:
        out[col] = ctx.frame[col]
    grid = list(study.spec.quality.straightliners.grid) or _default_grid(study)
    hits = _rule_hits(ctx, items, out, dur, grid)
    outcome = _apply_rules(ctx, hits, _rule_status(ctx, dur, grid))
    _check_excluded_share(ctx, outcome.log, outcome.funnel)
    _check_empty_waves(ctx, outcome)
    _check_margins(ctx)
    _check_kept_weights(ctx, out, outcome)
    _check_kept_margin_codes(ctx, out, outcome)
    return out, items, outcome


def _original(ctx: _Context, col: str, k: int) -> str:
    """Return the value of row ``k`` of column ``col`` as read (``''`` for a blank cell)."""
    v = _text_at(ctx.frame, col, np.array([k]))[0] if col in ctx.frame.columns else None
    return "" if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v)


def _fail_rows(ctx: _Context, col: str, bad: np.ndarray, what: tuple[str, str], tail: str) -> None:
    """Raise one :class:`DataFileError` per file with rows in ``bad``, at its first such row.

    The error names the file, the row in it, the column and the value as read.
    """
    for j, label in enumerate(ctx.file_labels):
        at = np.flatnonzero(bad & (ctx.file_codes == j))
        if not len(at):
            continue
        shown = pd.unique(pd.Series([_original(ctx, col, int(k)) for k in at[:200]]))[:5]
        n = len(at)
        ctx.fail(
            DataFileError(
                label,
                f"{n:,} {what[0] if n == 1 else what[1]} (e.g. "
                f"{', '.join(repr(v) for v in shown)}){tail}",
                row=int(ctx.frame["_row"].iat[int(at[0])]),
                column=col,
                value=_original(ctx, col, int(at[0])),
            )
        )


def _check_kept_weights(ctx: _Context, out: dict, outcome: _Outcome) -> None:
    """Stop on a respondent kept for analysis without a valid weight.

    The weight is the design weight, or the base weight of the raking: the cleaning step
    stops naming the file, row and value as read, rather than an estimate or the raking
    later naming a position in the data.
    """
    for role, col in ctx.study.raw_design_columns().items():
        if not col or col not in out or not (role == "weight" or role.startswith("replicate")):
            continue
        bad = np.isnan(np.asarray(out[col], dtype=float)) & ~outcome.excluded
        if bad.any():
            kind = "invalid_weight" if role == "weight" else "invalid_replicate_weight"
            _fail_rows(ctx, col, bad, _WARNINGS[kind][:2], _WARNINGS[kind][2])


def _check_kept_margin_codes(ctx: _Context, out: dict, outcome: _Outcome) -> None:
    """Stop on a kept respondent without a category of each raking margin.

    With ``by_wave``, within its wave: the value as read is named, not the ``nan`` it was
    cleaned to.
    """
    wt = ctx.study.weighting
    if wt is None:
        return
    for col, targets in wt.margins.items():
        if col not in out:
            continue
        codes = pd.Series(out[col]).astype(object)
        cats = [c for c, t in targets.items() if t > 0] or list(targets)
        bad = (codes.isna() | ~codes.isin(list(targets))).to_numpy() & ~outcome.excluded
        if bad.any():
            _fail_rows(
                ctx,
                col,
                bad,
                ("row that cannot be weighted", "rows that cannot be weighted"),
                f": the value is blank or not a category of weighting.margins.{col} "
                f"({_shown(cats)}); fix the value in the export, or give the category its "
                f"population share in weighting.margins.{col}",
            )


def _check_empty_waves(ctx: _Context, outcome: _Outcome) -> None:
    """Stop on a wave whose every row the quality rules exclude, naming the wave."""
    for r in outcome.funnel.itertuples(index=False):
        if r.read > 0 and r.analysed == 0:
            log = outcome.log[(outcome.log["wave"] == r.wave) & (outcome.log["n_excluded"] > 0)]
            why = ", ".join(f"{x.rule} {x.n_excluded:,}" for x in log.itertuples(index=False))
            keys = dict.fromkeys(f"quality.{_RULE_CONFIG[x]}.action" for x in log["rule"])
            ctx.fail(
                CleaningError(
                    f"{ctx.study.path.name}: wave {ctx.study.wave_label(r.wave)!r}: no "
                    f"respondent left after cleaning: the quality rules exclude all {r.read:,} "
                    f"rows read ({why}); check the wave's file, or set {' / '.join(keys)} to "
                    "flag to keep the rows"
                )
            )


def _result(ctx: _Context, out: dict, items: _Items, outcome: _Outcome) -> CleaningResult:
    frame, study = ctx.frame, ctx.study
    out["_file"] = frame["_file"]
    out["_row"] = frame["_row"].to_numpy()
    out["flags"] = outcome.flags
    excluded = outcome.excluded
    items.values.clear()  # the same arrays as out's: each is freed once taken
    items.given.clear()
    data = _kept_frame(out, np.flatnonzero(~excluded))
    exclusions = (
        as_text_frame(frame[excluded])
        .assign(reasons=outcome.reasons[excluded], flags=outcome.flags[excluded])
        .reset_index(drop=True)
    )
    problems = pd.concat(
        [x for x in (ctx.raw.problems, ctx.cells.frame(frame, study.id_column)) if len(x)]
        or [pd.DataFrame(columns=PROBLEM_COLUMNS)],
        ignore_index=True,
    ).astype({"row": "Int64"})
    problems = problems.astype(
        {c: "str" for c in ("file", "respondent_id", "column", "value", "rule")}
    )
    result = CleaningResult(
        data=data,
        exclusions=exclusions,
        problems=problems,
        funnel=outcome.funnel,
        log=outcome.log,
        alignment=ctx.raw.alignment,
        recodes=pd.DataFrame(items.recodes),
        files=ctx.raw.files,
        segments=segment_table(study),
    )
    if study.weighting is not None:
        result.data, result.weighting = apply_weighting(result.data, study=study)
    study.set_unanswered_items(unanswered_items(study, result.data))
    result.dictionary = data_dictionary(study, result.data)
    result.cube = answer_cube(result.data, study)
    return result


def _kept_frame(out: dict[str, object], keep: np.ndarray) -> pd.DataFrame:
    """Return the columns' kept rows as one frame, emptying ``out`` column by column.

    Each column is taken once and dropped from ``out`` as soon as it is taken, and the
    frame is built without consolidating its columns into one block (no full copy): the
    peak memory is the larger of the two, not their sum.
    """
    cols: dict[str, object] = {}
    for name in list(out):
        col = out.pop(name)
        if isinstance(col, pd.Series):
            cols[name] = col.take(keep).reset_index(drop=True)
        elif isinstance(col, pd.Categorical):
            cols[name] = col.take(keep)
        else:
            cols[name] = np.asarray(col)[keep]
        del col
    return pd.DataFrame(cols, copy=False)


def unanswered_items(study: Study, data: pd.DataFrame) -> list[str]:
    """Return the items of the study without a single answer in ``data`` (the clean file).

    In study order: they are left out of the satisfaction index, flagged in the data
    dictionary (``in_index``) and named by :meth:`~analysis_helpers.study.Study.index_note`.
    """
    return [n for n in study.items if n in data.columns and not data[n].notna().any()]


def segment_table(study: Study) -> pd.DataFrame:
    """Every segment's codes and labels, and where they come from.

    Returns
    -------
    DataFrame
        ``segment``, ``segment_label``, ``value`` (the code), ``value_label``, ``order``
        (display position, from 0) and ``source`` (``"study file"``, ``"file labels"`` or
        ``"data"``).
    """
    rows = []
    for seg in study.segments:
        for k, (code, text) in enumerate(seg.values.items()):
            rows.append(
                {
                    "segment": seg.column,
                    "segment_label": seg.title,
                    "value": code,
                    "value_label": text,
                    "order": k,
                    "source": study.segment_source(seg.column),
                }
            )
    cols = ["segment", "segment_label", "value", "value_label", "order", "source"]
    return pd.DataFrame(rows, columns=cols)


# --------------------------------------------------------------------------------------
# checking the data without cleaning it (the `validate` command)
# --------------------------------------------------------------------------------------
FINDING_COLUMNS = ["severity", "file", "row", "column", "value", "message"]

_WARNINGS = {
    "out_of_range": (
        "value outside the item's scale {scale}",
        "values outside the item's scale {scale}",
        ": set to missing by the cleaning step; a code such as 'not applicable' belongs in "
        "missing_codes",
    ),
    "non_numeric": (
        "entry that is not a number",
        "entries that are not numbers",
        ": set to missing",
    ),
    "full_width_digits": ("full-width digit", "full-width digits", ", read as numbers"),
    "unknown_segment_value": (
        "value that is not a code of the segment",
        "values that are not codes of the segment",
        ": set to missing",
    ),
    "repeated_header": (
        "row that repeats the header",
        "rows that repeat the header",
        ": left out (exports joined into one file?)",
    ),
    "invalid_weight": (
        "row without a valid weight",
        "rows without a valid weight",
        ": every respondent needs a weight above 0 (not missing, zero, negative or text)",
    ),
    "invalid_replicate_weight": (
        "row without a valid replicate weight",
        "rows without a valid replicate weight",
        ": every respondent needs each replicate weight, 0 or above (not missing or text)",
    ),
}


def _finding(severity: str, exc: Exception, study: Study) -> dict:
    if isinstance(exc, DataFileError):
        return {
            "severity": severity,
            "file": exc.file,
            "row": exc.row,
            "column": exc.column,
            "value": None if exc.value is None else str(exc.value),
            "message": str(exc),
        }
    return {
        "severity": severity,
        "file": study.path.name,
        "row": None,
        "column": None,
        "value": None,
        "message": str(exc),
    }


def _cell_findings(ctx: _Context, problems: pd.DataFrame) -> list[dict]:
    """One finding per column and kind of problem, at its first occurrence."""
    out = []
    files = ctx.study.spec.data.files
    labels = {f.path: ctx.raw.meta[f.path].file for f in files if f.path in ctx.raw.meta}
    for (column, rule), g in problems.groupby(["column", "rule"], sort=False):
        first = g.iloc[0]
        shown = labels.get(first["file"], first["file"])
        if rule == "missing_column":
            waves = ", ".join(ctx.study.wave_label(w) for w in g["value"])
            out.append(
                {
                    "severity": "warning",
                    "file": shown,
                    "row": None,
                    "column": column,
                    "value": None,
                    "message": f"{shown}: column {column!r}: not in the file of wave "
                    f"{waves}: its values are missing there",
                }
            )
            continue
        n, n_files = len(g), g["file"].nunique()
        examples = ", ".join(repr(v) for v in pd.unique(g["value"].astype(str))[:5])
        item = ctx.study.items.get(column)
        scale = f"{item.scale.min}-{item.scale.max}" if item else ""
        one, many, tail = _WARNINGS.get(rule, ("problem value", "problem values", ""))
        what = (one if n == 1 else many).format(scale=scale)
        where_else = f" in {n_files} files" if n_files > 1 else ""
        row = None if pd.isna(first["row"]) else int(first["row"])
        place = [shown] + ([f"row {row}"] if row is not None else []) + [f"column {column!r}"]
        out.append(
            {
                "severity": "error" if rule == "invalid_weight" else "warning",
                "file": shown,
                "row": row,
                "column": column,
                "value": str(first["value"]),
                "message": ": ".join([*place, f"value {str(first['value'])!r}"])
                + f": {n:,} {what}{where_else} (e.g. {examples}){tail}",
            }
        )
    return out


def _duplicate_findings(ctx: _Context, log: pd.DataFrame) -> list[dict]:
    out: list[dict] = []
    if not ctx.study.has_id:
        return out
    rows = log[(log["rule"] == "duplicate_id") & (log["n_hit"] > 0)]
    for r in rows.itertuples(index=False):
        action = {"exclude": "excludes", "flag": "flags", "off": "keeps"}[r.action]
        out.append(
            {
                "severity": "warning",
                "file": ctx.study.path.name,
                "row": None,
                "column": ctx.study.id_column,
                "value": None,
                "message": (
                    f"{ctx.study.path.name}: wave {ctx.study.wave_label(r.wave)!r}: {r.n_hit:,} "
                    f"row{'s repeat' if r.n_hit > 1 else ' repeats'} an earlier respondent id "
                    f"(column {ctx.study.id_column!r}); the duplicates rule {action} "
                    f"{'them' if r.n_hit > 1 else 'it'}"
                ),
            }
        )
    return out


def _thin_wave_findings(ctx: _Context, outcome: _Outcome) -> list[dict]:
    """Return a warning per wave left with a single respondent after cleaning."""
    out = []
    for r in outcome.funnel.itertuples(index=False):
        if r.analysed == 1:
            out.append(
                {
                    "severity": "warning",
                    "file": ctx.study.path.name,
                    "row": None,
                    "column": ctx.study.wave_column,
                    "value": None,
                    "message": (
                        f"{ctx.study.path.name}: wave {ctx.study.wave_label(r.wave)!r}: 1 "
                        f"respondent left after cleaning (of {r.read:,} read): its estimates "
                        "have no margin of error, and an analysis of that wave alone stops on "
                        "a lonely PSU unless data.design.lonely_psu is 'adjust' or 'remove'"
                    ),
                }
            )
    return out


def check_data(study: Study) -> pd.DataFrame:
    """Check a study's data files against its study file, without cleaning or reporting.

    Reads every file (header, sheet, encoding, wave and id columns) and makes one pass
    over the values: every column the study names is in a file; ids are not blank and
    not repeated so often that a rule would exclude most of a wave; item values are
    numbers within the scale; segment values are codes of the segment; waves are in the
    order; weights are valid; raking converges. Nothing is written.

    Parameters
    ----------
    study : Study

    Returns
    -------
    DataFrame
        One row per finding: ``severity`` (``"error"``: the cleaning step would stop or an
        analysis would fail; ``"warning"``: values the cleaning step sets to missing or
        rows it excludes; ``"info"``), ``file``, ``row`` (as seen in the file), ``column``,
        ``value`` and ``message`` (the whole sentence, naming file, row, column and value).
        Errors first.
    """
    findings: list[dict] = []
    exports = {}
    for j in range(len(study.spec.data.files)):
        try:
            exports[j] = read_study_file(study, j)
        except DataFileError as exc:
            findings.append(_finding("error", exc, study))
    if exports:
        errors: list[Exception] = []
        raw = stack_exports(study, exports, errors=errors)
        ctx = _context(study, raw)
        ctx.errors = errors
        out, _, outcome = _run(ctx)
        findings += [_finding("error", exc, study) for exc in errors]
        problems = pd.concat([raw.problems, ctx.cells.frame(ctx.frame, study.id_column)])
        failed = {(f["file"], f["column"]) for f in findings if f["severity"] == "error"}
        findings += [  # a column that is an error in a file is not also a warning there
            f for f in _cell_findings(ctx, problems) if (f["file"], f["column"]) not in failed
        ]
        findings += _duplicate_findings(ctx, outcome.log)
        findings += _thin_wave_findings(ctx, outcome)
        if study.weighting is not None and not any(f["severity"] == "error" for f in findings):
            findings += _raking_findings(ctx, out, outcome)
        unused = raw.alignment.loc[raw.alignment["status"] == "not used", "column"].tolist()
        if unused:
            findings.append(
                {
                    "severity": "info",
                    "file": None,
                    "row": None,
                    "column": None,
                    "value": None,
                    "message": f"{len(unused)} export column{'s' if len(unused) > 1 else ''} "
                    f"not used by the study file: {', '.join(unused[:12])}"
                    + (" ..." if len(unused) > 12 else ""),
                }
            )
    table = pd.DataFrame(findings, columns=FINDING_COLUMNS)
    order = table["severity"].map({"error": 0, "warning": 1, "info": 2})
    return (
        table.assign(_o=order)
        .sort_values("_o", kind="stable")
        .drop(columns="_o")
        .reset_index(drop=True)
        .astype({"row": "Int64"})
    )


def _raking_findings(ctx: _Context, out: dict, outcome: _Outcome) -> list[dict]:
    data = pd.DataFrame(out)[~outcome.excluded]
    try:
        apply_weighting(data, study=ctx.study)
    except (RakingError, KeyError, ValueError) as exc:
        return [_finding("error", exc, ctx.study)]
    return []


def apply_weighting(data: pd.DataFrame, *, study: Study) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rake the kept respondents to the study file's population margins.

    Runs :func:`analysis_helpers.weighting.rake` with the ``weighting`` section of the
    study file, within each wave when ``by_wave`` (each wave then represents the
    population), and adds the raked weights as the ``weighting.output`` column.

    Returns
    -------
    data : DataFrame
        A copy of ``data`` with the raked weight column.
    report : DataFrame
        :func:`analysis_helpers.weighting.weighting_report` per wave (or once), with a
        ``wave`` column first.

    Raises
    ------
    analysis_helpers.weighting.RakingError
        The raking failed; the message names the wave.
    """
    wt = study.weighting
    if wt is None:
        raise ValueError(f"study {study.name!r} has no weighting section")
    groups = (
        data.groupby(study.wave_column, observed=True, sort=False).groups.items()
        if wt.by_wave
        else [("all", data.index)]
    )
    weights = pd.Series(np.nan, index=data.index, name=wt.output)
    reports = []
    needed = list(dict.fromkeys([*wt.margins, *([wt.base_weight] if wt.base_weight else [])]))
    for wave, index in groups:
        part = data.loc[index, needed]  # what the raking reads, not a copy of every column
        try:
            w = rake(
                part,
                margins=wt.margins,
                design=SurveyDesign(weight=wt.base_weight) if wt.base_weight else None,
                trim=wt.trim,
                max_iter=wt.max_iter,
                tol=wt.tol,
            )
        except RakingError as exc:
            raise RakingError(f"{study.path.name}: weighting of wave {wave}: {exc}") from None
        weights.loc[index] = w.to_numpy()
        before = part[wt.base_weight] if wt.base_weight else None
        reports.append(weighting_report(w, before=before).assign(wave=str(wave)))
    report = pd.concat(reports, ignore_index=True)
    report = report[["wave", *[c for c in report.columns if c != "wave"]]]
    return data.assign(**{wt.output: weights.to_numpy()}), report


def _stack(columns: list[np.ndarray], n: int) -> np.ndarray:
    """Columns side by side (column-major: each column written contiguously, fast).

    float32: the clean answers are whole numbers of a scale, exact in float32 (half the
    memory of float64).
    """
    out = np.empty((n, len(columns)), dtype=np.float32, order="F")
    for k, col in enumerate(columns):
        out[:, k] = col
    return out


def _default_grid(study: Study) -> list[str]:
    """Return the satisfaction items on the most common scale."""
    sat = [study.items[c] for c in study.item_names("satisfaction")]
    if not sat:
        return []
    scales = pd.Series([(i.scale.min, i.scale.max) for i in sat])
    common = scales.mode().iloc[0]
    return [i.name for i in sat if (i.scale.min, i.scale.max) == common]


def _bits_to_text(bits: np.ndarray) -> np.ndarray:
    """Rule bitmasks to ``;``-joined rule names (one string per row)."""
    uniq, inv = np.unique(bits, return_inverse=True)
    labels = np.array(
        [";".join(r for b, r in enumerate(RULES) if u >> b & 1) for u in uniq], dtype=object
    )
    return labels[inv]


# --------------------------------------------------------------------------------------
# for the analyses
# --------------------------------------------------------------------------------------
def load_clean(study: Study, *, unit: bool = True) -> pd.DataFrame:
    """Load the clean analysis file of a study, as the analysis notebooks use it.

    Reads ``data/processed/<study>/clean.parquet`` when its ``manifest.json`` matches the
    current raw files and study file (SHA-256); otherwise cleans in memory (writing
    nothing: ``data/processed`` is written only by the cleaning step) and returns
    ``clean(study).data``.

    Segments whose study file entry lists no values get them filled in on ``study`` (from
    the data, see :meth:`analysis_helpers.study.Study.segment`).

    In a report of one unit (:attr:`Study.unit <analysis_helpers.study.Study.unit>` is set,
    ``report --per SEGMENT``) only that unit's respondents are returned, with the weights
    of the whole sample (cleaning and raking are done once, on every respondent); the items
    the unit has no answer to are then the study's unanswered items.

    Parameters
    ----------
    study : Study
    unit : bool, default True
        False returns the whole sample even in a unit report (for the comparison against
        the total, :func:`analysis_helpers.units.unit_comparison`).

    Returns
    -------
    DataFrame
        See :attr:`CleaningResult.data`; the wave column is an ordered Categorical in the
        study's wave order.
    """
    if manifest_is_current(study) and (study.processed_dir / "segments.csv").is_file():
        data = read_processed(study, "clean")
        wave_col = study.wave_column
        wave = data[wave_col]
        if isinstance(wave.dtype, pd.CategoricalDtype):  # as Parquet gives it: recode, no text
            wave = wave.cat.rename_categories([str(c) for c in wave.cat.categories])
        else:
            wave = wave.astype("str")
        data[wave_col] = pd.Categorical(wave, categories=study.waves, ordered=True)
        segments = read_processed(study, "segments")
        for col, g in segments.groupby("segment", sort=False):
            if study.segment_source(col) != "study file":
                values = dict(zip(g["value"], g["value_label"], strict=True))
                study.set_segment_values(col, values, source=g["source"].iloc[0])
    else:
        data = clean(study).data
    if study.unit is not None and not unit:
        return data  # the whole sample, for the comparison: the unit's own items stay set
    if study.unit is not None:
        from .units import unit_rows

        data = data[unit_rows(data, study=study)]
    study.set_unanswered_items(unanswered_items(study, data))
    return data


#: the columns of :func:`answer_cube`
CUBE_COLUMNS = ("wave", "segment", "group", "item", "code", "count", "count_weighted")
_CUBE_MAX_CELLS = 2_000_000  # segment crosses larger than this are counted one segment at a time


def _segment_levels(data: pd.DataFrame, study: Study) -> list[tuple[str, list, np.ndarray]]:
    """Each segment column: its codes and each row's position in them (missing: last)."""
    out = []
    for col in study.segment_columns():
        if col not in data.columns:
            continue
        codes = list(study.segment(col).values)
        pos = np.asarray(pd.Categorical(data[col], categories=codes).codes, dtype=np.int64)
        out.append((col, codes, np.where(pos < 0, len(codes), pos)))
    return out


def answer_cube(data: pd.DataFrame, study: Study) -> pd.DataFrame:
    """Count the answers once: the weighted count cube of the clean data.

    One pass per item over the rows: for every wave, every answer code of the item's scale
    and all respondents of the wave (``segment`` and ``group`` ``""``) or the respondents
    of one group of a segment, how many answered the code and their summed weight (the
    design weight of the study file; 1 per respondent without weights). Every item
    distribution, top-box share and mean without its SE is a sum over this table.

    Parameters
    ----------
    data : DataFrame
        The clean analysis file (:attr:`CleaningResult.data`).
    study : Study

    Returns
    -------
    DataFrame
        Columns :data:`CUBE_COLUMNS`: ``wave``, ``segment`` (the segment column, ``""`` for
        all respondents), ``group`` (its code, ``""``), ``item``, ``code`` (float, every
        code of the scale, answered or not), ``count`` (int64) and ``count_weighted``.
        The rows of all respondents are counted directly (the same sums as
        :func:`analysis_helpers.kpis.item_distribution` of the wave); the segments' rows
        are sums of one count over the cross of every segment.
    """
    waves = list(study.waves)
    n_w = len(waves)
    wave_pos = np.asarray(
        pd.Categorical(data[study.wave_column], categories=waves).codes, dtype=np.int64
    )
    wcol = study.design_columns().get("weight")
    w = data[wcol].to_numpy(dtype=np.float64) if wcol else np.ones(len(data))
    segs = _segment_levels(data, study)
    dims = [len(codes) + 1 for _, codes, _ in segs]
    n_cross = int(np.prod(dims)) if dims else 1
    combo = np.zeros(len(data), dtype=np.int64)
    for (_, _, pos), d in zip(segs, dims, strict=True):
        combo = combo * d + pos
    parts = []
    for name, item in study.items.items():
        if name not in data.columns:
            continue
        lo, hi = int(item.scale.min), int(item.scale.max)
        k = hi - lo + 1
        x = data[name].to_numpy(dtype=np.float64, na_value=np.nan)
        ok = ~np.isnan(x) & (wave_pos >= 0)
        with np.errstate(invalid="ignore"):
            ok &= (x >= lo) & (x <= hi) & (x == np.round(x))
        rows = np.flatnonzero(ok)
        code = (x[rows] - lo).astype(np.int64)
        cell = wave_pos[rows] * k + code
        cnt = np.bincount(cell, minlength=n_w * k).reshape(n_w, 1, k)
        cw = np.bincount(cell, weights=w[rows], minlength=n_w * k).reshape(n_w, 1, k)
        blocks = [("", [""], cnt, cw)]
        if segs and n_w * n_cross * k <= _CUBE_MAX_CELLS:
            cell = (wave_pos[rows] * n_cross + combo[rows]) * k + code
            size = n_w * n_cross * k
            full_n = np.bincount(cell, minlength=size).reshape(n_w, *dims, k)
            full_w = np.bincount(cell, weights=w[rows], minlength=size).reshape(n_w, *dims, k)
            for j, (col, codes, _) in enumerate(segs):
                other = tuple(1 + i for i in range(len(segs)) if i != j)
                g = len(codes)
                blocks.append(
                    (col, codes, full_n.sum(axis=other)[:, :g], full_w.sum(axis=other)[:, :g])
                )
        else:
            for col, codes, pos in segs:
                g = len(codes) + 1
                cell = (wave_pos[rows] * g + pos[rows]) * k + code
                c_n = np.bincount(cell, minlength=n_w * g * k).reshape(n_w, g, k)
                c_w = np.bincount(cell, weights=w[rows], minlength=n_w * g * k).reshape(n_w, g, k)
                blocks.append((col, codes, c_n[:, : g - 1], c_w[:, : g - 1]))
        for col, codes, c_n, c_w in blocks:
            g = len(codes)
            parts.append(
                pd.DataFrame(
                    {
                        "wave": np.repeat(waves, g * k),
                        "segment": col,
                        "group": np.tile(np.repeat(np.asarray(codes, dtype=object), k), n_w),
                        "item": name,
                        "code": np.tile(np.arange(lo, hi + 1, dtype=np.float64), n_w * g),
                        "count": c_n.reshape(-1).astype(np.int64),
                        "count_weighted": c_w.reshape(-1).astype(np.float64),
                    }
                )
            )
    if not parts:
        return pd.DataFrame({c: [] for c in CUBE_COLUMNS})
    cube = pd.concat(parts, ignore_index=True)
    return cube.astype({"wave": "str", "segment": "str", "group": "str", "item": "str"})


def read_cube(study: Study) -> pd.DataFrame | None:
    """Return the answer cube the cleaning step wrote with the current clean file, or None.

    None when the processed files are not current (:func:`analysis_helpers.io.manifest_is_current`),
    when the cube was not written, or in a report of one unit (its respondents are a part of
    the cube's): the caller then counts the rows.
    """
    path = study.processed_dir / "answer_cube.parquet"
    if study.unit is not None or not path.is_file() or not manifest_is_current(study):
        return None
    return pd.read_parquet(path)


def data_dictionary(study: Study, data: pd.DataFrame) -> pd.DataFrame:
    """One row per item of the study: what it is and how much of it is usable.

    Parameters
    ----------
    study : Study
    data : DataFrame
        The clean analysis file (:attr:`CleaningResult.data`).

    Returns
    -------
    DataFrame
        ``item``, ``label``, ``role``, ``area`` (``""`` outside the hierarchy),
        ``scale_min``, ``scale_max``, ``reverse``,
        ``valid_n``, ``missing_n``, ``mean`` (unweighted, after reverse coding),
        ``in_index`` (a satisfaction item of the index that has answers: an item without
        a single answer is left out of the index).

    Raises
    ------
    KeyError
        If an item of the study is not a column of ``data``.
    """
    missing = [c for c in study.items if c not in data.columns]
    if missing:
        raise KeyError(f"item {missing[0]!r} of study {study.name!r} is not a column of data")
    rows = []
    for name, item in study.items.items():
        col = data[name]
        valid = int(col.notna().sum())
        rows.append(
            {
                "item": name,
                "label": item.label,
                "role": item.role,
                "area": item.area or "",
                "scale_min": item.scale.min,
                "scale_max": item.scale.max,
                "reverse": item.reverse,
                "valid_n": valid,
                "missing_n": len(col) - valid,
                "mean": float(col.mean()) if valid else np.nan,
                "in_index": item.role == "satisfaction" and bool(item.area) and valid > 0,
            }
        )
    return pd.DataFrame(rows)


def problem_summary(problems: pd.DataFrame) -> pd.DataFrame:
    """Problems counted per rule and column.

    Returns
    -------
    DataFrame
        ``rule``, ``column``, ``n`` (problem cells), ``respondents`` (distinct ids),
        ``example`` (one value), sorted by ``n`` descending.
    """
    for col in ("rule", "column", "value", "respondent_id"):
        if col not in problems.columns:
            raise KeyError(f"problems has no column {col!r}")
    if len(problems) == 0:
        return pd.DataFrame(columns=["rule", "column", "n", "respondents", "example"])
    g = problems.groupby(["rule", "column"], sort=False)
    out = g.agg(
        n=("value", "size"),
        respondents=("respondent_id", "nunique"),
        example=("value", "first"),
    ).reset_index()
    return out.sort_values(["n", "rule", "column"], ascending=[False, True, True]).reset_index(
        drop=True
    )


def funnel_long(funnel: pd.DataFrame) -> pd.DataFrame:
    """Return the funnel as one row per wave x step.

    Columns ``wave``, ``step``, ``step_no``, ``rows``, ``share`` (of rows read).

    Steps are ``read``, the rule columns the funnel has (all of :data:`RULES`, or those a
    page keeps, e.g. without the rules that did not apply) and ``analysed``; waves keep
    the funnel's order (the study's).
    """
    missing = [c for c in ["wave", "read", "analysed"] if c not in funnel.columns]
    if missing:
        raise KeyError(f"funnel has no column {missing[0]!r}")
    steps = ["read", *[r for r in RULES if r in funnel.columns], "analysed"]
    long = funnel.melt(id_vars="wave", value_vars=steps, var_name="step", value_name="rows")
    long["step_no"] = long["step"].map({s: k for k, s in enumerate(steps)})
    long["share"] = long["rows"] / long["wave"].map(funnel.set_index("wave")["read"])
    order = {w: k for k, w in enumerate(funnel["wave"])}
    long = long.assign(_w=long["wave"].map(order))
    return long.sort_values(["_w", "step_no"]).drop(columns="_w").reset_index(drop=True)


# --------------------------------------------------------------------------------------
# the cleaning page (10-clean): tables and takeaways for any study
# --------------------------------------------------------------------------------------
#: display labels of the quality rules
RULE_LABELS = {
    "duplicate_id": "Repeated respondent id",
    "duplicate_answers": "Identical answers",
    "speeders": "Speeders",
    "straightliners": "Straightliners",
    "incomplete": "Incomplete",
    "out_of_range": "Many invalid answers",
}
#: display labels of the problem kinds (``problems.rule``)
PROBLEM_LABELS = {
    "non_numeric": "not a number (set to missing)",
    "full_width_digits": "full-width digits (read as numbers)",
    "out_of_range": "outside the scale (set to missing)",
    "unknown_segment_value": "not a code of the segment (set to missing)",
    "invalid_weight": "not a valid weight",
    "invalid_replicate_weight": "not a valid replicate weight",
    "missing_column": "column missing in a wave's file",
}


#: the template keys of the rules' and the problem kinds' labels (:func:`rule_labels`)
_RULE_KEYS = {
    "duplicate_id": "clean.rule_duplicate_id",
    "duplicate_answers": "clean.rule_duplicate_answers",
    "speeders": "clean.rule_speeders",
    "straightliners": "clean.rule_straightliners",
    "incomplete": "clean.rule_incomplete",
    "out_of_range": "clean.rule_out_of_range",
}
_PROBLEM_KEYS = {
    "non_numeric": "clean.problem_non_numeric",
    "full_width_digits": "clean.problem_full_width_digits",
    "out_of_range": "clean.problem_out_of_range",
    "unknown_segment_value": "clean.problem_unknown_segment_value",
    "invalid_weight": "clean.problem_invalid_weight",
    "invalid_replicate_weight": "clean.problem_invalid_replicate_weight",
    "missing_column": "clean.problem_missing_column",
}
#: what the takeaway counts of each problem kind: the count key, and whether it was set to missing
_PROBLEM_PHRASES = {
    "non_numeric": ("clean.n_non_numeric", True),
    "out_of_range": ("clean.n_out_of_range", True),
    "full_width_digits": ("clean.n_full_width_digits", False),
    "unknown_segment_value": ("clean.n_unknown_segment_value", True),
    "invalid_weight": ("clean.n_invalid_weight", True),
    "invalid_replicate_weight": ("clean.n_invalid_replicate_weight", True),
    "missing_column": ("clean.n_missing_column", False),
}


def rule_labels(language: str = "en") -> dict[str, str]:
    """Return the display labels of the quality rules in ``language`` (:data:`RULE_LABELS`)."""
    from .text import template

    return {rule: template(key, language) for rule, key in _RULE_KEYS.items()}


def problem_labels(language: str = "en") -> dict[str, str]:
    """Return the display labels of the problem kinds in ``language`` (:data:`PROBLEM_LABELS`)."""
    from .text import template

    return {kind: template(key, language) for kind, key in _PROBLEM_KEYS.items()}


def _status_words(status: str, language: str) -> str:
    """Return a rule's status (:func:`rule_summary`) in ``language``: "applied in 5 of 6 waves"."""
    import re

    from .text import template

    if language == "en":
        return status
    keys = {"applied": "clean.status_applied", "not applied": "clean.status_not_applied",
            "off": "clean.status_off", "exclude": "clean.action_exclude",
            "flag": "clean.action_flag"}  # fmt: skip
    if status in keys:
        return template(keys[status], language)
    m = re.fullmatch(r"applied in (\d+) of (\d+) waves", status)
    if m:
        return template("clean.status_applied_in", language).format(k=m[1], n=m[2])
    return status


def rule_view(rules: pd.DataFrame, language: str = "en") -> pd.DataFrame:
    """Return :func:`rule_summary` for the page: action and status in ``language``.

    Returns
    -------
    DataFrame
        ``rules`` with ``action`` and ``status`` in words of the report's language (the
        values of :func:`rule_summary` in English).
    """
    return rules.assign(
        action=rules["action"].astype(str).map(lambda v: _status_words(v, language)),
        status=rules["status"].astype(str).map(lambda v: _status_words(v, language)),
    )


def _reason(study: Study, key: str, **values: object) -> str:
    """Return why a quality rule was not applied, in the report's language."""
    from .text import template

    return template(key, study.language).format(**values)


def _count(study: Study, n: int, key: str) -> str:
    """``1 file``, ``6 files``, ``6 个文件``: a count with its noun, from the text tables."""
    from .text import template

    forms = template(key, study.language).split(" | ")
    form = forms[0] if n == 1 or len(forms) == 1 else forms[1]
    return form.format(n=f"{n:,}")


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"


def _names(study: Study, names: list[str], k: int = 8) -> str:
    from .text import template

    lang = study.language
    sep = template("words.list", lang)
    shown = sep.join(names[:k])
    return shown + (
        template("clean.and_more", lang).format(k=len(names) - k) if len(names) > k else ""
    )


def _say(study: Study, key: str, /, **values: object) -> Md:
    from .text import text

    return text(key, study.language, **values)


def files_table(result: CleaningResult, study: Study) -> pd.DataFrame:
    """Return the files read, for the page.

    Columns ``file``, ``format``, ``encoding``, ``wave`` (its label; ``"(several)"`` for a
    stacked file), ``rows``.
    """
    f = result.files
    wave = ["(several)" if w == "(stacked)" else study.wave_label(w) for w in f["wave"].astype(str)]
    return pd.DataFrame(
        {
            "file": f["file"],
            "format": f["format"],
            "encoding": f["encoding"].fillna("-"),
            "wave": wave,
            "rows": f["rows"].astype(int),
        }
    )


def unused_columns(result: CleaningResult) -> list[str]:
    """Export columns the study file does not use (information, not a problem)."""
    a = result.alignment
    return a.loc[a["status"] == "not used", "column"].tolist()


def column_changes(result: CleaningResult, study: Study) -> pd.DataFrame:
    """Return the study columns a wave's file lacks.

    Columns ``column``, ``role``, ``status`` (wave codes in the status text replaced by
    their labels).
    """
    a = result.alignment
    a = a[~a["status"].isin(["all waves", "not used"])]
    status = a["status"].astype(str)
    for w in study.waves:
        status = status.str.replace(w, study.wave_label(w), regex=False)
    return pd.DataFrame({"column": a["column"], "role": a["role"], "status": status}).reset_index(
        drop=True
    )


def rule_summary(result: CleaningResult, study: Study) -> pd.DataFrame:
    """Return the quality rules over all waves, for the page.

    Returns
    -------
    DataFrame
        One row per rule in :data:`RULES` order: ``rule``, ``label``, ``action`` (as in the
        study file), ``status`` (``"applied"``, ``"not applied"``, ``"off"``, or
        ``"applied in k of n waves"``), ``reason`` (why not applied, naming the waves
        where it differs), ``n_hit``, ``n_excluded``.
    """
    rows = []
    log = result.log
    n_waves = log["wave"].nunique()
    for rule, g in log.groupby("rule", sort=False):
        applied = g[g["status"] == "applied"]
        others = g[g["status"] != "applied"]
        if len(applied) == len(g):
            status, reason = "applied", ""
        elif len(applied) == 0:
            status = g["status"].iloc[0] if g["status"].nunique() == 1 else "not applied"
            reason = "; ".join(dict.fromkeys(g["reason"]))
        else:
            status = f"applied in {len(applied)} of {n_waves} waves"
            reason = "; ".join(
                f"{study.wave_label(w)}: {r}"
                for w, r in zip(others["wave"], others["reason"], strict=True)
            )
        rows.append(
            {
                "rule": rule,
                "label": rule_labels(study.language)[rule],
                "action": g["action"].iloc[0],
                "status": status,
                "reason": reason,
                "n_hit": int(g["n_hit"].sum()),
                "n_excluded": int(g["n_excluded"].sum()),
            }
        )
    cols = ["rule", "label", "action", "status", "reason", "n_hit", "n_excluded"]
    return pd.DataFrame(rows, columns=cols)


def cleaning_takeaways(result: CleaningResult, study: Study) -> dict[str, Md]:
    """Return the cleaning page's takeaways, each one sentence or two, computed from the result.

    Written for any study: one wave or many, no rule applied, no problem found, no item
    missing. Counts carry their noun in the right number ("1 wave", "6 waves"). Each is
    safe Markdown (:func:`analysis_helpers.safe_output.md`): labels, titles and column
    names from the study and the data are escaped; pass it to ``ctx.say`` as it is. The
    sentences are the templates ``clean.*`` of the study's language.

    Returns
    -------
    dict
        ``read`` (rows read, kept, excluded), ``columns`` (waves aligned; columns not
        used), ``rules`` (what the rules removed, which did not apply and why),
        ``problems`` (values that could not be used), ``dictionary`` (the clean file).
    """
    f = result.funnel
    read, kept = int(f["read"].sum()), int(f["analysed"].sum())
    waves = (
        _say(study, "clean.in_waves", w=_count(study, len(f), "count.wave"))
        if study.is_multiwave
        else md("")
    )
    return {
        "read": _say(
            study,
            "clean.read",
            title=study.title,
            read=_count(study, read, "clean.n_rows"),
            files=_count(study, len(result.files), "count.file"),
            waves=waves,
            kept=kept,
            share=_pct(kept, read),
            excluded=read - kept,
        ),
        "columns": _columns_takeaway(result, study),
        "rules": _rules_takeaway(result, study),
        "problems": _problems_takeaway(result, study),
        "dictionary": _dictionary_takeaway(result, study),
    }


def _columns_takeaway(result: CleaningResult, study: Study) -> Md:
    changes = column_changes(result, study)
    expected = result.alignment[result.alignment["status"] != "not used"]
    n = len(expected)
    if study.is_multiwave and changes.empty:
        text = _say(study, "clean.columns_all_waves", n=n)
    elif study.is_multiwave:
        text = _say(
            study,
            "clean.columns_some_waves_one" if len(changes) == 1 else "clean.columns_some_waves",
            same=n - len(changes),
            n=n,
            k=f"{len(changes):,}",
            which=_names(
                study,
                [f"{c} ({s})" for c, s in zip(changes["column"], changes["status"], strict=True)],
            ),
        )
    else:
        text = _say(study, "clean.columns_export", n=n)
    unused = unused_columns(result)
    if unused:
        text += _say(
            study,
            "clean.unused_one" if len(unused) == 1 else "clean.unused",
            k=_count(study, len(unused), "clean.n_columns"),
            which=_names(study, unused),
        )
    return text


def _rules_takeaway(result: CleaningResult, study: Study) -> Md:
    f = result.funnel
    read, kept = int(f["read"].sum()), int(f["analysed"].sum())
    rules = rule_summary(result, study)
    labels = rule_labels(study.language)
    lower = (lambda x: x) if study.language == "zh" else str.lower
    text = _say(study, "clean.analysed", read=read, kept=kept, share=_pct(kept, read))
    removing = rules[rules["n_excluded"] > 0].sort_values("n_excluded", ascending=False)
    if removing.empty:
        text += _say(study, "clean.no_rule_excluded")
    else:
        top = removing.iloc[0]
        text += _say(
            study,
            "clean.top_rule",
            rule=lower(labels.get(top["rule"], top["label"])),
            rows=_count(study, int(top["n_excluded"]), "clean.n_rows"),
        )
    if study.is_multiwave and len(f) > 1 and kept < read:
        low = f.loc[(f["analysed"] / f["read"]).idxmin()]
        text += _say(
            study,
            "clean.lowest_retention",
            wave=study.wave_label(low["wave"]),
            share=_pct(int(low["analysed"]), int(low["read"])),
            rows=_count(study, int(low["read"]), "clean.n_rows"),
        )
    for r in rules[(rules["action"] == "flag") & (rules["n_hit"] > 0)].itertuples(index=False):
        text += _say(
            study,
            "clean.flagged",
            rule=labels.get(r.rule, r.label),
            rows=_count(study, int(r.n_hit), "clean.n_rows"),
        )
    for r in rules[rules["status"] == "not applied"].itertuples(index=False):
        text += _say(study, "clean.not_applied", rule=labels.get(r.rule, r.label), reason=r.reason)
    for r in rules[rules["status"].str.startswith("applied in")].itertuples(index=False):
        text += _say(
            study,
            "clean.applied_in",
            rule=labels.get(r.rule, r.label),
            status=_status_words(r.status, study.language),
            reason=r.reason,
        )
    off = rules[rules["status"] == "off"]
    if len(off):
        text += _say(
            study,
            "clean.off",
            rules=_list_words(study, [lower(labels.get(x, x)) for x in off["rule"]]),
        )
    return text


def _list_words(study: Study, names: list[str]) -> str:
    """Return ``names`` as a list in the study's language ("a, b" / "a、b")."""
    from .text import template

    return template("words.list", study.language).join(names)


def _problems_takeaway(result: CleaningResult, study: Study) -> Md:
    p = result.problems
    if p.empty:
        return _say(study, "clean.no_problems")
    parts = []
    for rule, n in p["rule"].value_counts().items():
        key, to_missing = _PROBLEM_PHRASES.get(rule, ("", False))
        shown = _count(study, int(n), key) if key else f"{n:,} {rule}"
        parts.append(shown + (str(_say(study, "clean.set_to_missing")) if to_missing else ""))
    return _say(
        study,
        "clean.problems",
        problems=_count(study, len(p), "clean.n_problems"),
        parts=_list_words(study, parts),
    )


def _dictionary_takeaway(result: CleaningResult, study: Study) -> Md:
    d = result.dictionary
    n = len(result.data)
    text = _say(
        study,
        "clean.dictionary",
        respondents=_count(study, n, "count.respondent"),
        items=_count(study, len(d), "count.item"),
    )
    total = d["valid_n"] + d["missing_n"]
    if n and (d["missing_n"] > 0).any():
        worst = d.loc[(d["missing_n"] / total).idxmax()]
        of = int(worst["valid_n"] + worst["missing_n"])
        text += _say(
            study,
            "clean.most_missing",
            label=worst["label"],
            missing=int(worst["missing_n"]),
            of=of,
            share=_pct(int(worst["missing_n"]), of),
        )
    elif n:
        text += _say(study, "clean.no_missing")
    empty = d.loc[d["valid_n"] == 0, "label"].tolist() if n else []
    if empty:
        in_index = any(
            study.items[i].role == "satisfaction" and study.items[i].area
            for i in d.loc[d["valid_n"] == 0, "item"]
        )
        text += _say(
            study,
            "clean.no_answers_one" if len(empty) == 1 else "clean.no_answers",
            items=_names(study, empty),
            index=_say(study, "clean.left_out") if in_index else md(""),
        )
    rev = d.loc[d["reverse"], "label"].tolist()
    if rev:
        text += _say(study, "clean.reversed", items=_names(study, rev))
    else:
        text += _say(study, "clean.no_reversed")
    return text
