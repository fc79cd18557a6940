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
from .io import (
    PROBLEM_COLUMNS,
    DataFileError,
    RawData,
    manifest_is_current,
    read_processed,
    read_study_files,
)
from .study import Study
from .weighting import RakingError, rake, weighting_report

__all__ = [
    "RULES",
    "CleaningResult",
    "clean",
    "load_clean",
    "data_dictionary",
    "problem_summary",
    "funnel_long",
    "parse_numbers",
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
        ``unknown_segment_value``, ``invalid_weight``) or column (``missing_column``,
        ``unexpected_column``; ``row`` missing).
    funnel : DataFrame
        One row per wave with data: ``wave``, ``read``, one column per rule in :data:`RULES` (rows
        remaining after it), ``analysed``.
    log : DataFrame
        One row per wave x rule: ``wave``, ``rule``, ``action``, ``n_hit`` (rows the rule
        applies to, whatever its action), ``n_excluded`` (rows removed at this step: hit
        by this rule and by no earlier excluding rule).
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
        Text values as read (missing = blank).

    Returns
    -------
    values : ndarray of float64
        The number, NaN where blank or not a number.
    status : ndarray of int8
        0 blank, 1 a number, 2 full-width digits read as a number (``"５"``), 3 not a
        number (``"N/A"``, ``"five"``).
    """
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
                "value": np.concatenate(
                    [raw[c].take(i).to_numpy(dtype=object) for c, _, i in self.parts]
                ),
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


def _check_mostly_text(
    raw: pd.DataFrame, col: str, status: np.ndarray, file_codes: np.ndarray, files: list[str]
) -> None:
    """A column whose values are mostly not numbers is a structural error, per file."""
    k = len(files)
    nonblank = np.bincount(file_codes, weights=status != BLANK, minlength=k)
    invalid = np.bincount(file_codes, weights=status == INVALID, minlength=k)
    for j in range(k):
        if nonblank[j] >= 10 and invalid[j] > 0.5 * nonblank[j]:
            first = int(np.flatnonzero((file_codes == j) & (status == INVALID))[0])
            raise DataFileError(
                files[j],
                f"{int(invalid[j])} of {int(nonblank[j])} values are not numbers: the column "
                "holds text, not this numeric item (shifted columns or a wrong header?); fix "
                "the export or the item's name in the study file",
                row=int(raw["_row"].iat[first]),
                column=col,
                value=raw[col].iat[first],
            )


# --------------------------------------------------------------------------------------
# the cleaning step
# --------------------------------------------------------------------------------------
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
        A structural problem (see :func:`analysis_helpers.io.read_study_files`), or a
        numeric column that holds mostly text.
    """
    if not isinstance(study, Study):
        raise TypeError(f"study must be a Study (from load_study), not {type(study).__name__}")
    raw = raw if raw is not None else read_study_files(study)
    frame = raw.frame
    n = len(frame)
    spec = study.spec
    id_col, wave_col = study.id_column, study.wave_column
    waves = study.waves
    wave_cat = pd.Categorical(frame[wave_col], categories=waves, ordered=True)
    wave_codes = np.asarray(wave_cat.codes, dtype=np.int64)
    file_cat = pd.Categorical(frame["_file"], categories=[f.path for f in spec.data.files])
    file_codes = np.asarray(file_cat.codes, dtype=np.int64)
    file_labels = [str(raw.meta[f.path].file) for f in spec.data.files]
    cells = _Cells()

    # items -------------------------------------------------------------------------
    items = study.items
    item_values: dict[str, np.ndarray] = {}  # cleaned, reverse-coded
    given: dict[str, np.ndarray] = {}  # cleaned, as answered (before reverse coding)
    invalid_count = np.zeros(n, dtype=np.int64)
    recode_rows = []
    present = raw.alignment.set_index("column")
    for name, item in items.items():
        text = frame[name]
        values, status = parse_numbers(text)
        _check_mostly_text(frame, name, status, file_codes, file_labels)
        num_codes = []
        str_codes = set()
        for code in item.missing_codes:
            if isinstance(code, str):
                try:
                    num_codes.append(float(code))
                except ValueError:
                    str_codes.add(code.strip().casefold())
            else:
                num_codes.append(float(code))
        missing = np.zeros(n, dtype=bool)
        numeric = status != BLANK
        if num_codes:
            missing |= numeric & np.isin(values, num_codes)
        if str_codes:
            bad = status == INVALID
            if bad.any():
                idx = np.flatnonzero(bad)
                txt = text.to_numpy(dtype=object)[idx]
                hit = np.array([str(v).strip().casefold() in str_codes for v in txt], dtype=bool)
                missing[idx[hit]] = True
        missing |= _user_missing_mask(raw, name, values)
        invalid_text = (status == INVALID) & ~missing
        sc = item.scale
        with np.errstate(invalid="ignore"):
            oor = (
                ((status == NUMBER) | (status == RECOVERED))
                & ~missing
                & ((values < sc.min) | (values > sc.max) | (values != np.round(values)))
            )
        cells.add(name, "non_numeric", invalid_text)
        cells.add(name, "full_width_digits", (status == RECOVERED) & ~missing & ~oor)
        cells.add(name, "out_of_range", oor)
        invalid_count += invalid_text | oor
        clean_vals = np.where(missing | oor | invalid_text, np.nan, values)
        given[name] = clean_vals
        rev = np.zeros(n, dtype=bool)
        if item.reverse:
            rev = ~np.isnan(clean_vals)
            clean_vals = np.where(rev, sc.min + sc.max - clean_vals, clean_vals)
        item_values[name] = clean_vals
        miss_by_wave = np.bincount(wave_codes, weights=missing, minlength=len(waves))
        rev_by_wave = np.bincount(wave_codes, weights=rev, minlength=len(waves))
        for k, w in enumerate(waves):
            if w in present.columns:
                recode_rows.append(
                    {
                        "wave": w,
                        "item": name,
                        "present": bool(present.at[name, w]),
                        "missing_codes": int(miss_by_wave[k]),
                        "reversed": int(rev_by_wave[k]),
                    }
                )

    # other columns -------------------------------------------------------------------
    out: dict[str, object] = {id_col: frame[id_col].str.strip()}
    out[wave_col] = wave_cat
    for seg in study.segments:
        col = seg.column
        txt = frame[col].str.strip()
        unknown = (txt.notna() & ~txt.isin(list(seg.values))).to_numpy()
        cells.add(col, "unknown_segment_value", unknown)
        out[col] = txt.mask(unknown)
    design = study.raw_design_columns()
    for role, col in design.items():
        if not col or col in out:
            continue
        if role in ("weight", "fpc"):
            values, status = parse_numbers(frame[col])
            bad = (status == INVALID) | (status == BLANK)
            if role == "weight":
                with np.errstate(invalid="ignore"):
                    bad |= ~(values > 0)
            else:
                bad = status == INVALID
            cells.add(col, f"invalid_{role}", bad)
            out[col] = np.where(bad, np.nan, values)
        else:
            out[col] = frame[col].str.strip()
    duration = spec.data.duration
    dur = None
    if duration:
        values, status = parse_numbers(frame[duration])
        with np.errstate(invalid="ignore"):
            bad = (status == INVALID) | (values < 0)
        cells.add(duration, "non_numeric", bad)
        dur = np.where(bad, np.nan, values)
        out[duration] = dur
    out.update(item_values)
    for col in spec.data.text_columns:
        out[col] = frame[col]

    # quality rules ------------------------------------------------------------------------
    q = spec.quality
    actions = {r: getattr(q, _RULE_CONFIG[r]).action for r in RULES}
    hits: dict[str, np.ndarray] = {}
    names = list(items)
    given_mat = _stack([given[c] for c in names], n)
    # items a wave's file lacks do not count towards the answered share
    has_item = np.ones((len(waves), len(names)), dtype=bool)
    for k, w in enumerate(waves):
        if w in present.columns:
            has_item[k] = present.loc[names, w].to_numpy(dtype=bool)
    n_items = has_item.sum(axis=1)[np.clip(wave_codes, 0, None)]
    answered = (~np.isnan(given_mat)).sum(axis=1)
    share = answered / np.maximum(n_items, 1)
    ids = out[id_col]
    key = pd.DataFrame({"w": wave_codes, "id": ids})
    hits["duplicate_id"] = key.duplicated(keep="first").to_numpy()
    answers = pd.util.hash_pandas_object(
        pd.DataFrame(given_mat, copy=False), index=False
    ).to_numpy()
    comparable = answered > 0
    dup = pd.DataFrame({"w": wave_codes, "h": answers})[comparable].duplicated(keep="first")
    hits["duplicate_answers"] = np.zeros(n, dtype=bool)
    hits["duplicate_answers"][np.flatnonzero(comparable)[dup.to_numpy()]] = True
    sp = q.speeders
    if dur is not None:
        with np.errstate(invalid="ignore", divide="ignore"):
            if sp.method == "median_fraction":
                med = pd.Series(dur).groupby(wave_codes).transform("median").to_numpy()
                hits["speeders"] = dur < sp.fraction * med
            else:
                logd = pd.Series(np.log(np.where(dur > 0, dur, np.nan)))
                g = logd.groupby(wave_codes)
                z = ((logd - g.transform("mean")) / g.transform("std")).to_numpy()
                hits["speeders"] = z < -sp.z
    else:
        hits["speeders"] = np.zeros(n, dtype=bool)
    st = q.straightliners
    grid = list(st.grid) or _default_grid(study)
    if grid:
        g = _stack([given[c] for c in grid], n)
        g_ans = (~np.isnan(g)).sum(axis=1)
        lo = min(items[c].scale.min for c in grid)
        hi = max(items[c].scale.max for c in grid)
        modal = np.zeros(n, dtype=np.int64)
        for v in range(lo, hi + 1):
            np.maximum(modal, (g == v).sum(axis=1), out=modal)
        hits["straightliners"] = (g_ans >= st.min_items) & (
            modal >= st.max_run_share * g_ans - 1e-9
        )
    else:
        hits["straightliners"] = np.zeros(n, dtype=bool)
    hits["incomplete"] = share < q.incomplete.min_answered_share
    hits["out_of_range"] = invalid_count > q.out_of_range.max_per_respondent
    for r in RULES:
        if actions[r] == "off":
            hits[r] = np.zeros(n, dtype=bool)

    # exclusions, flags, funnel, log -----------------------------------------------------
    excl_bits = np.zeros(n, dtype=np.int64)
    flag_bits = np.zeros(n, dtype=np.int64)
    for b, r in enumerate(RULES):
        if actions[r] == "exclude":
            excl_bits |= hits[r].astype(np.int64) << b
        elif actions[r] == "flag":
            flag_bits |= hits[r].astype(np.int64) << b
    excluded = excl_bits > 0
    reasons = _bits_to_text(excl_bits)
    flags = _bits_to_text(flag_bits)
    funnel_rows, log_rows = [], []
    wave_n = np.bincount(wave_codes, minlength=len(waves))
    removed_before = np.zeros(n, dtype=bool)
    step_removed = {}
    for r in RULES:
        step = hits[r] & ~removed_before if actions[r] == "exclude" else np.zeros(n, dtype=bool)
        step_removed[r] = np.bincount(wave_codes, weights=step, minlength=len(waves))
        removed_before |= step
    for k, w in enumerate(waves):
        if wave_n[k] == 0:  # a wave of the study file without data (yet)
            continue
        in_w = wave_codes == k
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
                    "n_hit": int((hits[r] & in_w).sum()),
                    "n_excluded": int(step_removed[r][k]),
                }
            )
        row["analysed"] = int((in_w & ~excluded).sum())
        funnel_rows.append(row)
    funnel = pd.DataFrame(funnel_rows)
    log = pd.DataFrame(log_rows)
    excl_by_wave = np.bincount(wave_codes, weights=excluded, minlength=len(waves))[wave_n > 0]
    if not (funnel["read"].to_numpy() == funnel["analysed"].to_numpy() + excl_by_wave).all():
        raise RuntimeError("rows read != rows kept + rows excluded: a bug in clean()")

    out["_file"] = frame["_file"]
    out["_row"] = frame["_row"].to_numpy()
    out["flags"] = flags
    data = pd.DataFrame(out)
    keep = ~excluded
    data = data[keep].reset_index(drop=True)
    exclusions = (
        frame[excluded]
        .assign(reasons=reasons[excluded], flags=flags[excluded])
        .reset_index(drop=True)
    )
    problems = pd.concat(
        [x for x in (raw.problems, cells.frame(frame, id_col)) if len(x)]
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
        funnel=funnel,
        log=log,
        alignment=raw.alignment,
        recodes=pd.DataFrame(recode_rows),
        files=raw.files,
    )
    if study.weighting is not None:
        result.data, result.weighting = apply_weighting(result.data, study=study)
    result.dictionary = data_dictionary(study, result.data)
    return result


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
    for wave, index in groups:
        part = data.loc[index]
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
    """Columns side by side (column-major: each column written contiguously, fast)."""
    out = np.empty((n, len(columns)), dtype=np.float64, order="F")
    for k, col in enumerate(columns):
        out[:, k] = col
    return out


def _default_grid(study: Study) -> list[str]:
    """The satisfaction items on the most common scale."""
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
def load_clean(study: Study) -> pd.DataFrame:
    """The clean analysis file of a study, as the analysis notebooks use it.

    Reads ``data/processed/<study>/clean.parquet`` when its ``manifest.json`` matches the
    current raw files and study file (SHA-256); otherwise cleans in memory (writing
    nothing: ``data/processed`` is written only by the cleaning step) and returns
    ``clean(study).data``.

    Returns
    -------
    DataFrame
        See :attr:`CleaningResult.data`; the wave column is an ordered Categorical in the
        study's wave order.
    """
    if manifest_is_current(study):
        data = read_processed(study, "clean")
        wave_col = study.wave_column
        data[wave_col] = pd.Categorical(
            data[wave_col].astype("str"), categories=study.waves, ordered=True
        )
        return data
    return clean(study).data


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
        ``item``, ``label``, ``role``, ``area``, ``scale_min``, ``scale_max``, ``reverse``,
        ``valid_n``, ``missing_n``, ``mean`` (unweighted, after reverse coding).

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
                "area": item.area,
                "scale_min": item.scale.min,
                "scale_max": item.scale.max,
                "reverse": item.reverse,
                "valid_n": valid,
                "missing_n": len(col) - valid,
                "mean": float(col.mean()) if valid else np.nan,
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
    """The funnel as one row per wave x step: ``wave``, ``step``, ``step_no``, ``rows``,
    ``share`` (of rows read)."""
    steps = ["read", *RULES, "analysed"]
    missing = [c for c in ["wave", *steps] if c not in funnel.columns]
    if missing:
        raise KeyError(f"funnel has no column {missing[0]!r}")
    long = funnel.melt(id_vars="wave", value_vars=steps, var_name="step", value_name="rows")
    long["step_no"] = long["step"].map({s: k for k, s in enumerate(steps)})
    long["share"] = long["rows"] / long["wave"].map(funnel.set_index("wave")["read"])
    return long.sort_values(["wave", "step_no"]).reset_index(drop=True)
