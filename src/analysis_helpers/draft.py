"""Draft a study file from an export: the first step with a new study.

``python -m analysis_helpers draft-study data/raw/acme/wave1.sav`` reads the export (SPSS
``.sav``, Excel ``.xlsx``, a Qualtrics CSV, a CSV or Parquet file), looks at every column
once and writes a commented starting study file, ``config/<name>.yml``:

- **items**: columns of whole numbers in a small range (0-10 at most, at least three
  different answers), on the scale their value labels span (SPSS) or the one their
  answers suggest (1-5, 1-7, 0-10 or 1-10). Codes far outside the scale (90 and more,
  negative ones) and the file's own missing values become ``missing_codes``;
- **KPIs** from the names and labels: a 0-10 or 1-10 "recommend" item is the NPS item,
  "overall" satisfaction the outcome, "effort" the CES item, "repurchase" / "renew" /
  "stay" the loyalty items; ``exp_<item>`` is paired with ``<item>`` as its expectation;
- **segments**: labelled categorical columns (their codes are labelled from the file) and
  text columns with few different values;
- the **respondent id** (a column named like one, unique in the file), the **wave**
  column, the **completion time** and the **weight**;
- open-ended text as ``text_columns``; everything else is listed as not used.

What needs a person (areas and indicators, labels, the waves' labels, the quality rules)
is left as ``# TODO`` comments. The draft validates as written: a study without areas has
no satisfaction index until they are added.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .io import Export, read_export

__all__ = ["ColumnGuess", "guess_columns", "draft_study", "write_draft", "detect_format"]

_QUALTRICS_META = {
    "StartDate", "EndDate", "Status", "IPAddress", "Progress", "Finished", "RecordedDate",
    "RecipientLastName", "RecipientFirstName", "RecipientEmail", "ExternalReference",
    "LocationLatitude", "LocationLongitude", "DistributionChannel", "UserLanguage",
}  # fmt: skip
_ID = re.compile(
    r"^(resp(ondent)?[_ .]?(id|no|nr|number)|response[_ ]?id|id|case[_ ]?(id|no)?|record[_ ]?id"
    r"|uuid|serial|interview[_ ]?id|participant[_ ]?id|lfdn)$",
    re.IGNORECASE,
)
_WAVE = re.compile(r"^(wave|welle|period|quarter|round|survey[_ ]?wave|year|month)$", re.I)
_DURATION = re.compile(r"(duration|seconds|secs|time[_ ]?taken|interview[_ ]?length|^loi$)", re.I)
_WEIGHT = re.compile(
    r"^(weight|wt|wgt|w|gewicht|poids|peso|design[_ ]?weight|weight[_ ]?\w*)$", re.I
)
_SEGMENT_FIRST = {
    "region", "gender", "sex", "age", "type", "group", "segment", "channel", "plan", "tenure",
    "country", "city", "state", "province", "income", "tier", "branch", "store", "product",
    "department", "education", "occupation", "cohort", "customer", "market", "area", "zone",
}  # fmt: skip
_SEGMENT_LAST = {
    "type", "group", "segment", "tier", "cohort", "region", "channel", "class", "category",
    "band", "gender", "tenure", "country", "city", "province",
}  # fmt: skip
_NPS = re.compile(r"(recommend|nps|推荐|empfehl|recomend|recommand)", re.I)
_OVERALL = re.compile(r"(overall|osat|total[_ ]satisf|总体|整体|gesamt|global)", re.I)
_CES = re.compile(r"(^ces$|effort|费力|省力|aufwand)", re.I)
_LOYALTY = re.compile(
    r"(repurchase|renew|stay|loyal|continue|retention|再次|续约|继续|wieder)", re.I
)
_EXPECTATION = re.compile(r"^(exp|expect|expectation|imp|importance)[_ .]", re.I)
_ANCHOR = re.compile(
    r"(satisf|agree|likely|good|poor|excellent|bad|important|easy|difficult|very|"
    r"not at all|extremely|满意|同意|可能|好|差|重要|容易|非常|zufrieden|stimme|wahrscheinlich)",
    re.I,
)
_NAME_OK = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")
_SCALES = {4: (1, 4), 5: (1, 5), 6: (1, 6), 7: (1, 7), 10: (1, 10)}


def detect_format(path: str | Path) -> str:
    """Return the study-file format of an export from its name and first lines.

    ``.sav`` -> ``spss``, ``.xlsx``/``.xlsm`` -> ``excel``, ``.parquet`` -> ``parquet``; a
    CSV whose third line holds Qualtrics import ids (``{"ImportId":...}``) -> ``qualtrics``,
    any other CSV -> ``csv``.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".sav", ".zsav"):
        return "spss"
    if suffix in (".xlsx", ".xlsm"):
        return "excel"
    if suffix in (".parquet", ".pq"):
        return "parquet"
    with open(path, "rb") as fh:
        head = fh.read(1 << 16)
    lines = head.decode("utf-8", errors="replace").splitlines()
    if len(lines) >= 3 and '"ImportId"' in lines[2].replace('""', '"'):
        return "qualtrics"
    return "csv"


@dataclass
class ColumnGuess:
    """What :func:`guess_columns` makes of one export column.

    Attributes
    ----------
    column : str
    role : str
        ``"id"``, ``"wave"``, ``"duration"``, ``"weight"``, ``"item"``, ``"segment"``,
        ``"text"`` or ``"not used"``.
    label : str
        The file's variable label (SPSS, Qualtrics question text), or ``""``.
    scale : tuple of int or None
        An item's scale.
    missing_codes : list
        An item's codes that mean "no answer".
    kpi : str or None
        ``"overall"``, ``"nps"``, ``"ces"`` or ``"loyalty"`` for a KPI item.
    values : dict
        A segment's codes -> labels (from the file's value labels or the data).
    labelled : bool
        A segment's labels come from the file (leave ``values`` out of the study file).
    note : str
        Why, for the comment in the draft.
    """

    column: str
    role: str
    label: str = ""
    scale: tuple[int, int] | None = None
    missing_codes: list[Any] = field(default_factory=list)
    kpi: str | None = None
    values: dict[str, str] = field(default_factory=dict)
    labelled: bool = False
    note: str = ""


def _numbers(text: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    from .cleaning import NUMBER, RECOVERED, parse_numbers

    values, status = parse_numbers(text)
    return values, (status == NUMBER) | (status == RECOVERED)


def _code(value: float) -> int | float:
    return int(value) if float(value).is_integer() else float(value)


def _label_codes(export: Export, col: str) -> dict[float, str]:
    out = {}
    for k, v in (export.meta.value_labels.get(col) or {}).items():
        try:
            out[float(k)] = str(v)
        except (TypeError, ValueError):
            continue
    return out


def _user_missing(export: Export, col: str) -> list[float]:
    out = []
    for v in export.meta.user_missing.get(col, []):
        if not isinstance(v, tuple):
            try:
                out.append(float(v))
            except (TypeError, ValueError):
                continue
    return out


def _item_scale(
    values: np.ndarray, labels: dict[float, str], missing: list[float]
) -> tuple[tuple[int, int], list[Any], str] | None:
    """Return the scale, missing codes and a note of a rating item, or None if it is not one.

    The scale is the span of the file's substantive value labels, else of the answers
    given by at least 0.5% of respondents (a stray 6 on a 1-5 item is an error, not the
    scale), snapped to the common scales 1-4, 1-5, 1-7, 1-10 and 0-10.
    """
    v = values[~np.isnan(values)]
    if len(v) == 0 or not (v == np.round(v)).all():
        return None
    codes, counts = np.unique(v, return_counts=True)
    far = {c for c in codes.tolist() if c >= 90 or c < 0} | (set(missing) & set(codes.tolist()))
    n_min = max(2, 0.005 * len(v))
    frequent = [
        c for c, k in zip(codes.tolist(), counts, strict=True) if c not in far and k >= n_min
    ]
    if len(frequent) < 3:
        return None
    lo, hi = min(frequent), max(frequent)
    substantive = [c for c in labels if c not in far and c not in missing and 0 <= c < 90]
    note = ""
    if len(substantive) >= 2:
        lo, hi = min(min(substantive), lo), max(max(substantive), hi)
        if lo not in (0, 1) or hi > 11:
            return None
    else:
        if hi > 10 or hi < 4 or lo > (6 if hi >= 8 else 3):
            return None
        seen = f"{_code(lo)}-{_code(hi)}"
        lo = 0 if 0 in codes and hi >= 8 else 1
        hi = {4: 4, 5: 5, 6: 7, 7: 7, 8: 10, 9: 10, 10: 10}[int(hi)]
        if seen != f"{lo}-{hi}":
            note = f"check the scale: answers seen {seen}"
    stray = [c for c in codes.tolist() if c not in far and not lo <= c <= hi]
    if stray:
        shown = ", ".join(str(_code(c)) for c in stray[:4])
        note = (note + "; " if note else "check the scale: ") + (
            f"rare answers outside {int(lo)}-{int(hi)}: {shown}"
        )
    labelled_far = {c for c in labels if not lo <= c <= hi}
    miss = sorted((far | set(missing) | labelled_far) - set(range(int(lo), int(hi) + 1)))
    return (int(lo), int(hi)), [_code(c) for c in miss], note


def _looks_like_scale(labels: dict[float, str], scale: tuple[int, int]) -> bool:
    """Value labels of a rating scale: anchors only, or anchor words."""
    inside = {c: t for c, t in labels.items() if scale[0] <= c <= scale[1]}
    if not inside:
        return True
    if len(inside) <= 2 and len(range(scale[0], scale[1] + 1)) > 3:
        return True
    return sum(bool(_ANCHOR.search(t)) for t in inside.values()) >= max(1, len(inside) // 2)


def _segmentish(col: str) -> bool:
    """Return whether a name looks like a segment: ``region``, ``plan_type``, ``customer_group``."""
    tokens = [t for t in re.split(r"[_ .\-]+", col.lower()) if t]
    return bool(tokens) and (tokens[0] in _SEGMENT_FIRST or tokens[-1] in _SEGMENT_LAST)


def _guess_one(export: Export, col: str, n: int) -> ColumnGuess:
    text = export.data[col]
    label = str(export.meta.variable_labels.get(col, "") or "")
    nonblank = text.dropna().str.strip()
    g = ColumnGuess(column=col, role="not used", label=label if label != col else "")
    if len(nonblank) == 0:
        g.note = "always blank"
        return g
    if export.meta.format == "qualtrics" and col in _QUALTRICS_META:
        g.note = "Qualtrics metadata"
        return g
    values, is_num = _numbers(text)
    numeric = is_num[text.notna().to_numpy()].mean() >= 0.95
    distinct = nonblank.nunique()
    labels = _label_codes(export, col)
    missing = _user_missing(export, col)
    if _ID.match(col) or "id" in re.split(r"[_ .]+", col.lower()):
        if distinct >= 0.95 * n and len(nonblank) == n:
            g.role = "id"
            dup = n - distinct
            g.note = "unique" if not dup else f"{dup} repeated id{'s' if dup > 1 else ''}"
            return g
        g.note = f"named like an id, but only {distinct} different values in {n} rows"
        return g
    if _WAVE.match(col) and 1 <= distinct <= 24:
        g.role = "wave"
        g.values = {v: v for v in sorted(nonblank.unique(), key=_natural)}
        return g
    if numeric and _DURATION.search(col) and np.nanmedian(values) > 10:
        g.role = "duration"
        return g
    if numeric and _WEIGHT.match(col) and np.nanmin(values) >= 0 and (values % 1 != 0).any():
        g.role = "weight"
        return g
    if not numeric and nonblank.str.len().mean() >= 20:
        g.role, g.note = "text", "open-ended answers"
        return g
    segmentish = _segmentish(col) and distinct <= 15
    scale = _item_scale(np.where(is_num, values, np.nan), labels, missing) if numeric else None
    if scale is not None and not segmentish and (not labels or _looks_like_scale(labels, scale[0])):
        g.role, (g.scale, g.missing_codes, g.note) = "item", scale
        return g
    if numeric and labels and distinct <= 15:
        g.role, g.labelled = "segment", True
        g.values = {str(_code(c)): t for c, t in sorted(labels.items()) if c not in missing}
        return g
    if 2 <= distinct <= 15 and (not numeric or segmentish):
        g.role = "segment"
        g.values = {v: v for v in sorted(nonblank.unique(), key=_natural)}
        return g
    g.note = "numbers outside a rating range" if numeric else f"{distinct} different values"
    return g


def _natural(value: str) -> tuple[int, float, str]:
    try:
        return (0, float(value), "")
    except ValueError:
        return (1, 0.0, value)


def _kpi(g: ColumnGuess) -> str | None:
    words = f"{g.column} {g.label}"
    if g.scale in ((0, 10), (1, 10)) and _NPS.search(words):
        return "nps"
    if _OVERALL.search(words):
        return "overall"
    if _CES.search(g.column) or (_CES.search(g.label) and "effort" in g.label.lower()):
        return "ces"
    if _LOYALTY.search(words):
        return "loyalty"
    return None


def guess_columns(export: Export) -> list[ColumnGuess]:
    """Guess the role of every column of an export (see the module docstring).

    Returns
    -------
    list of ColumnGuess
        One per column, in file order. At most one id, wave, duration and weight column
        (the first that fits); KPI roles at most once each (loyalty may repeat).
    """
    n = len(export.data)
    guesses = [_guess_one(export, c, n) for c in export.data.columns]
    for role in ("id", "wave", "duration", "weight"):
        for g in [g for g in guesses if g.role == role][1:]:
            g.role, g.note = "not used", f"another {role} column was chosen"
    taken: set[str] = set()
    for g in guesses:
        if g.role != "item":
            continue
        kpi = _kpi(g)
        if kpi and (kpi == "loyalty" or kpi not in taken):
            g.kpi = kpi
            taken.add(kpi)
            if kpi == "nps" and g.note and g.scale == (1, 10):  # not from value labels
                g.scale, g.note = (0, 10), g.note + "; NPS items usually run 0-10"
    return guesses


# --------------------------------------------------------------------------------------
# writing the draft
# --------------------------------------------------------------------------------------
def _q(text: Any) -> str:
    """Return a YAML scalar: numbers as they are, text double-quoted (JSON escapes are YAML)."""
    if isinstance(text, bool):
        return "true" if text else "false"
    if isinstance(text, int | float):
        return repr(text)
    return json.dumps(str(text), ensure_ascii=False)


def _key(text: str) -> str:
    return text if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", text) else _q(text)


def _name(path: Path) -> str:
    """Return the study name: the export's folder under ``data/raw/``, else the file name."""
    path = Path(path).resolve()
    stem = path.parent.name if path.parent.parent.name == "raw" else path.stem
    name = re.sub(r"[^A-Za-z0-9_-]+", "_", stem).strip("_").lower()
    return name or "study"


def draft_study(
    path: str | Path, *, name: str | None = None, root: str | Path | None = None
) -> str:
    """Draft a commented starting study file for an export, as YAML text.

    Parameters
    ----------
    path : str or Path
        The export (``.sav``, ``.xlsx``, ``.csv``, Qualtrics ``.csv``, ``.parquet``).
    name : str, optional
        The study name; default from the file name.
    root : str or Path, optional
        The project root the draft's ``data.root`` is relative to (default: found from
        the working folder); an export outside it is named by its absolute folder.

    Returns
    -------
    str
        The study file, validating as it is (see the module docstring).

    Raises
    ------
    analysis_helpers.io.DataFileError
        The export cannot be read.
    """
    from .study import project_root

    path = Path(path).resolve()
    fmt = detect_format(path)
    export = read_export(path, format=fmt, label=str(path))
    guesses = guess_columns(export)
    name = name or _name(path)
    try:
        base = Path(root).resolve() if root else project_root()
    except FileNotFoundError:
        base = path.parent
    folder = path.parent
    data_root = (
        str(folder.relative_to(base)) if folder.is_relative_to(base) else str(folder)
    ).replace("\\", "/")
    return _render(export, guesses, name=name, path=path, fmt=fmt, data_root=data_root)


def _render(
    export: Export, guesses: list[ColumnGuess], *, name: str, path: Path, fmt: str, data_root: str
) -> str:
    by_role: dict[str, list[ColumnGuess]] = {}
    for g in guesses:
        by_role.setdefault(g.role, []).append(g)
    first = {r: next(iter(by_role.get(r, [])), None) for r in ("id", "wave", "duration", "weight")}
    out = [
        f"# Study file drafted by `python -m analysis_helpers draft-study` from {path.name}.",
        "# Every key is documented in docs/study-file.md. Check it, fill in the TODOs, then run",
        f"#   python -m analysis_helpers validate --study config/{name}.yml",
        "",
        "study:",
        f"  name: {name}",
        f"  title: {_q(path.stem.replace('_', ' '))}  # TODO: the title shown on every page",
        "  # client: ...        # optional: shown on the report's index",
        "",
        "data:",
        f"  root: {_q(data_root)}",
        "  files:",
    ]
    wave = first["wave"]
    entry = f"    - {{path: {_q(path.name)}, format: {fmt}"
    if fmt == "excel":
        entry += ", sheet: 0"
    entry += "}"
    if wave is None:
        entry += '  # one wave; name it with `wave: "2024"` (more files: one entry each)'
    out.append(entry)
    out += _render_data(first, by_role)
    items = by_role.get("item", [])
    out += _render_hierarchy(items)
    out += _render_items(items, fmt)
    out += _render_kpis(items)
    out += _render_segments(by_role.get("segment", []), fmt)
    unused = by_role.get("not used", [])
    if unused:
        out += ["", "# Columns of the export not used by this study file:"]
        out += [f"#   {g.column}" + (f" ({g.note})" if g.note else "") for g in unused]
    out += [
        "",
        "# quality: the data-quality rules (duplicates, speeders, straightliners, incomplete,",
        "#   out_of_range); the defaults apply - see docs/study-file.md",
        "# reporting: min_base 30, suppress_below 10, alpha 0.05, confidence 0.95, holm",
        "",
    ]
    return "\n".join(out)


def _render_data(first: dict[str, ColumnGuess | None], by_role: dict) -> list[str]:
    out = []
    ident, wave, dur, weight = (first[r] for r in ("id", "wave", "duration", "weight"))
    if ident is not None:
        out.append(f"  respondent_id: {_q(ident.column)}  # {ident.note} in the file")
    else:
        out.append("  # respondent_id: no unique id column found; rows are named by file and row")
    if wave is not None:
        order = ", ".join(_q(v) for v in wave.values)
        out += [
            "  wave:",
            f"    column: {_q(wave.column)}",
            f"    order: [{order}]  # TODO: check the time order",
            "    # labels: {...}  # optional display labels of the waves",
        ]
    if weight is not None:
        out += ["  design:", f"    weight: {_q(weight.column)}  # TODO: check: a survey weight?"]
    else:
        out.append("  # design: {weight: ..., strata: ..., cluster: ...}  # no weight column found")
    if dur is not None:
        out.append(f"  duration: {_q(dur.column)}  # completion time in seconds (speeder rule)")
    text = by_role.get("text", [])
    if text:
        out.append(f"  text_columns: [{', '.join(_q(g.column) for g in text)}]  # open answers")
    return out


def _render_hierarchy(items: list[ColumnGuess]) -> list[str]:
    if not any(g.kpi is None for g in items):
        return []
    return [
        "",
        "# TODO: group the satisfaction items into areas (and, optionally, indicators) to get a",
        "# satisfaction index; until then every item is described on its own. For example:",
        "# areas:",
        "#   - {name: service, label: Service}",
        "# indicators:",
        "#   - {name: staff, label: Staff, area: service}",
        "# and `area: service` (or `indicator: staff`) on each item below.",
    ]


def _render_items(items: list[ColumnGuess], fmt: str) -> list[str]:
    out = ["", "items:"]
    if not items:
        out.append("  []  # TODO: no rating items found: list the rating questions here")
        return out
    names = {g.column for g in items}
    for g in items:
        if not _NAME_OK.match(g.column):
            out.append(f"  # not usable as an item name, rename it in the export: {g.column}")
            continue
        label = g.label or g.column
        fields = [f"name: {g.column}", f"label: {_q(label)}"]
        if g.scale is not None:  # every item has one (set where its role is guessed)
            fields.append(f"scale: {{min: {g.scale[0]}, max: {g.scale[1]}}}")
        exp_of = _EXPECTATION.sub("", g.column) if _EXPECTATION.match(g.column) else None
        if g.kpi:
            fields.append("role: kpi")
        elif exp_of in names:
            fields.append("role: expectation")
        if g.missing_codes:
            fields.append(f"missing_codes: [{', '.join(_q(c) for c in g.missing_codes)}]")
        for e in items:
            if _EXPECTATION.match(e.column) and _EXPECTATION.sub("", e.column) == g.column:
                if e.scale == g.scale:
                    fields.append(f"expectation: {e.column}")
        note = f"  # TODO: {g.note}" if g.note else ""
        out.append(f"  - {{{', '.join(fields)}}}{note}")
    if not any(g.label for g in items):
        out.append("  # TODO: the labels are the column names: write the questions as shown")
    return out


def _render_kpis(items: list[ColumnGuess]) -> list[str]:
    kpis = {
        k: [g.column for g in items if g.kpi == k] for k in ("overall", "nps", "ces", "loyalty")
    }
    out = ["", "kpis:"]
    lines = []
    for role, comment in (
        ("overall", "overall satisfaction: the outcome of driver analysis"),
        ("nps", "0-10 or 1-10 likelihood to recommend"),
        ("ces", "customer effort, lower is better"),
    ):
        if kpis[role]:
            lines.append(f"  {role}: {kpis[role][0]}  # {comment}")
        else:
            lines.append(f"  # {role}: ...  # TODO if the study has one: {comment}")
    if kpis["loyalty"]:
        lines.append(f"  loyalty: [{', '.join(kpis['loyalty'])}]")
    else:
        lines.append("  # loyalty: [...]  # TODO if the study has them: repurchase, renewal")
    if not any(kpis.values()):
        return ["", "# kpis: none found by name"] + ["#" + line[1:] for line in lines]
    return out + lines


def _render_segments(segments: list[ColumnGuess], fmt: str) -> list[str]:
    if not segments:
        return ["", "# segments: none found (columns with a few labelled or text values)"]
    out = ["", "segments:"]
    for g in segments:
        out.append(f"  - column: {_q(g.column)}")
        out.append(f"    label: {_q(g.label or g.column)}")
        if g.labelled:
            shown = ", ".join(f"{k} = {v}" for k, v in list(g.values.items())[:8])
            out.append(f"    # values from the file's value labels: {shown}")
        else:
            pairs = ", ".join(f"{_key(k)}: {_q(v)}" for k, v in g.values.items())
            out.append(f"    values: {{{pairs}}}  # TODO: labels, in display order")
    return out


def write_draft(
    path: str | Path,
    *,
    out: str | Path | None = None,
    name: str | None = None,
    force: bool = False,
) -> Path:
    """Write :func:`draft_study` of an export to ``config/<name>.yml`` (or ``out``).

    Raises
    ------
    FileExistsError
        The target exists and ``force`` is False.
    """
    from .study import project_root

    path = Path(path)
    try:
        root = project_root()
    except FileNotFoundError:
        root = Path.cwd()
    name = name or _name(path)
    target = Path(out) if out else root / "config" / f"{name}.yml"
    target = target if target.is_absolute() else root / target
    if target.exists() and not force:
        raise FileExistsError(f"{target} exists already; choose --out or pass --force")
    text = draft_study(path, name=name, root=root)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    return target
