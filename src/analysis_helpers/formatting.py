"""One formatting layer for what a client sees: every report table, every number in a sentence.

Tables
------
:func:`format_table` turns a tidy result table into a :class:`TableView`: client labels
as headers, every number formatted by what it is (its *kind*), intervals as one column,
significance as coloured arrows, flags as readable markers, text left and numbers right,
missing values as an en dash. ``ReportContext.show`` uses it, so a notebook only says
which columns to show and what to call them::

    ctx.show(kpis, columns={"label": "KPI", "unit": "Scale", "estimate": None, "ci": None,
                            "n": None, "flag": None}, caption="KPIs, Q2 2025")

- ``columns``: the columns to show, in order; a mapping gives their labels (``None``: the
  default label). ``ci_low``/``ci_high`` are shown together as ``ci`` ("6.54-6.70"), and
  ``X_ci_low``/``X_ci_high`` as ``X_ci``; name the merged column or either bound.
- kinds are read off the column names (``n`` -> base, ``p_adjusted`` -> p, ``share*`` ->
  share, ``*_pct`` -> percent, ``mean*`` -> mean, ``index*`` -> index, ``significant`` ->
  arrows, ``flag`` -> marker, ...); the statistic columns (``estimate``, ``se``, ``ci``,
  ``change``, from/to) follow the row's ``unit`` column ("share", "points", "mean (1-10)",
  "index (0-100)") or the ``unit=`` argument. ``kinds={"gap_100": "index", "top2":
  "share.1"}`` overrides (``.1``: one decimal).
- the confidence level in the interval header comes from the study
  (``reporting.confidence``), the significance footnote from ``reporting.alpha`` and
  ``reporting.correction``: no level is ever typed.

========== =============================== ===================== ==========
kind       shown as                        default decimals      Excel format
========== =============================== ===================== ==========
text       as given (escaped), left        -                     ``@``
base       1,505 (weighted bases rounded)  0                     ``#,##0``
integer    12                              0                     ``0``
share      45% (a share in [0, 1])         0 (``<1%``, ``>99%``) ``0%``
percent    45.1% (already 0-100)           1                     ``0.0"%"``
mean       6.62                            2                     ``0.00``
index      63.4 (0-100)                    1                     ``0.0``
nps        -4 (points)                     0                     ``0``
coef       0.62 (correlations, alphas)     2                     ``0.00``
number     by the column's magnitude       3 / 2 / 1 / 0         ``0.00``
p          < 0.001, 0.034                  3                     ``[<0.001]"< 0.001";0.000``
significance ▲ / ▼ coloured (* undirected) -                     -
flag       "Low base", "Suppressed"        -                     -
bool       yes / no                        -                     -
formatted  as given, right ("6.62 AB")     -                     -
========== =============================== ===================== ==========

Deltas (``change``, ``difference``, ``*_gap``, ``gap_*``) are signed ("+0.17"); deltas of
shares are percentage points ("+2.3 pp").

Sentences
---------
:func:`fmt_num`, :func:`fmt_pct`, :func:`fmt_p`, :func:`fmt_ci`, :func:`fmt_base`,
:func:`fmt_value`, :func:`fmt_change`, :func:`confidence_label`, :func:`fmt_count` (plural
aware: "1 wave", "6 waves") and :func:`fmt_list` give the same look to numbers in
takeaways; the kinds are also format specs of ``ctx.say`` templates (``{x:share}``).

Why pandas Styler (not great-tables)
------------------------------------
Styler ships with pandas (no new dependency), writes one self-contained ``<table>`` with
CSS scoped to its id that inherits the page font (so the embedded CJK font applies to
headers and every row), renders MultiIndex headers as spanners, and its HTML is plain
enough to test. great-tables renders beautiful tables but brings its own font stack and
several dependencies, and its label processing would need the same escaping review. The
kinds here are independent of Styler: the Excel and PowerPoint deliverables reuse them
(:attr:`Kind.excel`) on the unrounded numbers.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .safe_output import escape_html, redact

if TYPE_CHECKING:
    from .study import Study

__all__ = [
    "Kind",
    "KINDS",
    "TableView",
    "format_table",
    "kind_for_unit",
    "fmt_num",
    "fmt_pct",
    "fmt_p",
    "fmt_ci",
    "fmt_base",
    "fmt_value",
    "fmt_change",
    "fmt_count",
    "fmt_list",
    "plural",
    "confidence_label",
    "MISSING",
    "UP",
    "DOWN",
]

#: how a missing value is shown in a table
MISSING = "–"
#: how a missing value is shown in a sentence (the sentence check flags it)
NA_TEXT = "n/a"
UP, DOWN, UNDIRECTED = "▲", "▼", "*"
#: colours of good and bad changes (Okabe-Ito bluish green and vermillion, as the charts)
GOOD, BAD = "#009E73", "#D55E00"


def _missing(x: Any) -> bool:
    if x is None or x is pd.NA or x is pd.NaT:
        return True
    if isinstance(x, (float, np.floating)):
        return not math.isfinite(float(x))
    try:
        return bool(pd.isna(x))
    except (TypeError, ValueError):
        return False


def _number(x: Any, decimals: int, *, signed: bool = False, missing: str = MISSING) -> str:
    """Return a number with thousands separators, ``decimals`` places, no ``-0``."""
    if _missing(x):
        return missing
    v = float(x)
    text = f"{v:,.{decimals}f}"
    if re.fullmatch(r"-[0,.]*", text):  # -0.00 -> 0.00
        text = text[1:]
    if signed and not text.startswith("-") and re.search(r"[1-9]", text):
        text = "+" + text
    return text


def _percent(x: Any, decimals: int, *, scale: float, signed: bool, missing: str, tiny: bool) -> str:
    if _missing(x):
        return missing
    v = float(x) * scale
    if tiny and not signed:
        step = 0.5 * 10.0**-decimals
        if 0 < v < step:
            return f"<{10.0**-decimals:.{decimals}f}%"
        if 100 - step < v < 100:
            return f">{100 - 10.0**-decimals:.{decimals}f}%"
    return _number(v, decimals, signed=signed, missing=missing) + "%"


def _p(x: Any, decimals: int | None = None, *, missing: str = MISSING) -> str:
    if _missing(x):
        return missing
    d = 3 if decimals is None else decimals
    v = float(x)
    floor = 10.0**-d
    return f"< {floor:.{d}f}" if v < floor else f"{v:.{d}f}"


# ---- kinds ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Kind:
    """How one kind of value is shown.

    Attributes
    ----------
    name : str
        The kind's name, as used in ``kinds=`` and in template specs (``{x:share}``).
    decimals : int or None
        Default decimals (None: not a number, or chosen per column).
    align : {"left", "right", "center"}
        Cell alignment.
    excel : str or None
        The Excel number format for the unrounded value (None: written as text).
    """

    name: str
    decimals: int | None
    align: str
    excel: str | None
    numeric: bool = True

    def format(
        self,
        value: Any,
        decimals: int | None = None,
        *,
        signed: bool = False,
        missing: str = MISSING,
    ) -> str:
        """``value`` as text (``decimals`` overrides the default)."""
        d = self.decimals if decimals is None else decimals
        n = self.name
        if n in ("text", "flag", "significance", "formatted"):
            return missing if _missing(value) else str(value)
        if n == "bool":
            return missing if _missing(value) else ("yes" if bool(value) else "no")
        if n == "p":
            return _p(value, d, missing=missing)
        if n == "share":
            return _percent(value, d or 0, scale=100, signed=signed, missing=missing, tiny=True)
        if n == "percent":
            return _percent(value, d or 0, scale=1, signed=signed, missing=missing, tiny=True)
        if n in ("base", "integer"):
            return _number(value, 0, signed=signed, missing=missing)
        return _number(value, 2 if d is None else d, signed=signed, missing=missing)


KINDS: dict[str, Kind] = {
    k.name: k
    for k in [
        Kind("text", None, "left", "@", numeric=False),
        Kind("base", 0, "right", "#,##0"),
        Kind("integer", 0, "right", "0"),
        Kind("share", 0, "right", "0%"),
        Kind("percent", 1, "right", '0.0"%"'),
        Kind("mean", 2, "right", "0.00"),
        Kind("index", 1, "right", "0.0"),
        Kind("nps", 0, "right", "0"),
        Kind("coef", 2, "right", "0.00"),
        Kind("number", None, "right", "0.00"),
        Kind("p", 3, "right", '[<0.001]"< 0.001";0.000'),
        Kind("significance", None, "center", None, numeric=False),
        Kind("flag", None, "left", None, numeric=False),
        Kind("bool", None, "center", None, numeric=False),
        # text a helper already formatted as a figure ("6.62 AB"), right-aligned
        Kind("formatted", None, "right", None, numeric=False),
    ]
}


def _kind(spec: str) -> tuple[Kind, int | None]:
    """Return the kind (and decimals) a kind or unit text names.

    ``"share"`` or ``"share.1"`` -> (kind, decimals); a unit text such as ``"mean
    (1-10)"`` or ``"points"`` -> the unit's kind.
    """
    name, _, digits = str(spec).partition(".")
    if name in KINDS and (not digits or digits.isdigit()):
        return KINDS[name], (int(digits) if digits else None)
    by_unit = kind_for_unit(spec)
    if by_unit != "number":
        return KINDS[by_unit], None
    raise ValueError(
        f"unknown kind {spec!r}: use one of {sorted(KINDS)}, optionally with decimals such as "
        "'share.1', or a unit such as 'share', 'points', 'mean (1-10)', 'index (0-100)'"
    )


def kind_for_unit(unit: Any) -> str:
    """Return the kind of a ``unit`` column's value.

    "share" -> share, "points" -> nps, "mean (1-10)" -> mean, "index (0-100)" -> index,
    "percent" / "%" -> percent, else number.
    """
    u = "" if _missing(unit) else str(unit).strip().lower()
    for prefix, kind in [
        ("share", "share"),
        ("proportion", "share"),
        ("percent", "percent"),
        ("%", "percent"),
        ("points", "nps"),
        ("nps", "nps"),
        ("mean", "mean"),
        ("index", "index"),
        ("count", "base"),
    ]:
        if u.startswith(prefix):
            return kind
    return "number"


def _lower_is_better(unit: Any) -> bool:
    return not _missing(unit) and "lower is better" in str(unit).lower()


# ---- sentence helpers -------------------------------------------------------------------
def fmt_num(x: float, digits: int = 1) -> str:
    """Format a number for a sentence, with thousands separators ("12,345.7"); ``n/a`` if none."""
    return _number(x, digits, missing=NA_TEXT)


def fmt_pct(x: float, digits: int = 0) -> str:
    """Format a share in [0, 1] as a percentage for a sentence ("46%", "<1%"), ``n/a`` if none."""
    return _percent(x, digits, scale=100, signed=False, missing=NA_TEXT, tiny=True)


def fmt_p(p: float, *, prefix: bool = False, digits: int = 3) -> str:
    """Format a p-value: ``"< 0.001"`` or ``"0.034"``.

    With ``prefix``: ``"p < 0.001"`` / ``"p = 0.034"``.
    """
    text = _p(p, digits, missing=NA_TEXT)
    if not prefix:
        return text
    return f"p {text}" if text.startswith("<") else f"p = {text}"


def fmt_value(x: Any, kind: str = "number", digits: int | None = None) -> str:
    """Format a value as its kind for a sentence: ``fmt_value(0.451, "share")`` -> ``"45%"``.

    The kind may also be given as a ``unit`` text such as "share" or "mean (1-10)".
    """
    k, d = _kind(kind if kind in KINDS or "." in str(kind) else kind_for_unit(kind))
    return k.format(x, d if digits is None else digits, missing=NA_TEXT)


def fmt_change(x: Any, kind: str = "number", digits: int | None = None) -> str:
    """Format a signed change: ``"+0.17"``; for shares percentage points (``"-2.3 pp"``)."""
    k, d = _kind(kind if kind in KINDS or "." in str(kind) else kind_for_unit(kind))
    return _signed(k, x, d if digits is None else digits, missing=NA_TEXT)


def _signed(k: Kind, x: Any, d: int | None, *, missing: str = MISSING) -> str:
    if k.name == "share":
        text = _number(
            None if _missing(x) else 100 * float(x),
            1 if d is None else d,
            signed=True,
            missing=missing,
        )
        return text if text == missing else text + " pp"
    if k.name == "percent":
        text = _number(x, 1 if d is None else d, signed=True, missing=missing)
        return text if text == missing else text + " pp"
    return k.format(x, d, signed=True, missing=missing)


def fmt_ci(
    low: Any, high: Any, *, kind: str = "number", digits: int | None = None, language: str = "en"
) -> str:
    """Format an interval: ``"6.54-6.70"`` (en dash), ``"8-11%"`` for shares.

    A bound below zero gives ``"-8.5 to -0.4"`` (``"-8.5 至 -0.4"`` in Chinese).
    """
    return _interval(low, high, kind, digits, missing=NA_TEXT, language=language)


def _interval(
    low: Any,
    high: Any,
    kind: str,
    digits: int | None,
    *,
    missing: str = MISSING,
    language: str = "en",
) -> str:
    k, d = _kind(kind if kind in KINDS or "." in str(kind) else kind_for_unit(kind))
    d = d if digits is None else digits
    if _missing(low) and _missing(high):
        return missing
    lo, hi = k.format(low, d, missing="?"), k.format(high, d, missing="?")
    negative = any(not _missing(v) and float(v) < 0 for v in (low, high))
    if k.name in ("share", "percent") and not negative and lo.endswith("%") and hi.endswith("%"):
        if not lo.startswith(("<", ">")):
            lo = lo[:-1]
    if negative:
        return _words("table.interval", language, lo=lo, hi=hi)
    return f"{lo}–{hi}"


def fmt_base(n: Any, *, prefix: bool = False) -> str:
    """Format a base as a whole number ("1,505"; weighted bases rounded).

    With ``prefix``: ``"n = 1,505"``.
    """
    text = _number(n, 0, missing=NA_TEXT)
    return f"n = {text}" if prefix else text


def confidence_label(confidence: float | Study) -> str:
    """Return the confidence level as people write it: ``0.95`` -> ``"95%"``.

    ``0.995`` -> ``"99.5%"``; give the level or the study (its ``reporting.confidence``).
    """
    level = confidence if isinstance(confidence, (int, float)) else confidence.reporting.confidence
    if not 0 < float(level) < 1:
        raise ValueError(f"confidence_label: confidence {level!r} is not in (0, 1)")
    return f"{100 * float(level):.10g}%"


_IRREGULAR = {
    "analysis": "analyses",
    "person": "people",
    "child": "children",
    "criterion": "criteria",
    "datum": "data",
    "index": "indices",
    "matrix": "matrices",
    "axis": "axes",
}


def plural(n: float, noun: str, plural_form: str | None = None) -> str:
    """``noun`` in the form that goes with ``n``: singular for exactly 1 (and -1)."""
    if abs(float(n)) == 1:
        return noun
    if plural_form:
        return plural_form
    if noun in _IRREGULAR:
        return _IRREGULAR[noun]
    if re.search(r"(s|x|z|ch|sh)$", noun):
        return noun + "es"
    if re.search(r"[^aeiou]y$", noun):
        return noun[:-1] + "ies"
    return noun + "s"


def fmt_count(n: float, noun: str, plural_form: str | None = None) -> str:
    """Format a count with its noun: ``"1 wave"``, ``"6 waves"``, ``"1,505 respondents"``."""
    return f"{_number(n, 0, missing=NA_TEXT)} {plural(n, noun, plural_form)}"


def fmt_list(items: Iterable[Any], *, conjunction: str = "and", empty: str = "none") -> str:
    """Join items in words: ``["a", "b", "c"]`` -> ``"a, b and c"``; ``empty`` for no items."""
    parts = [str(x) for x in items]
    if not parts:
        return empty
    if len(parts) == 1:
        return parts[0]
    return f"{', '.join(parts[:-1])} {conjunction} {parts[-1]}"


def template_specs() -> dict[str, Callable[[Any, int | None], str]]:
    """Return the named format specs of ``md`` / ``ctx.say`` templates.

    Every kind, plus ``pct`` (= share) and ``num`` (a number, 1 decimal by default, as
    :func:`fmt_num`).
    """
    specs = {name: _kind_spec(k) for name, k in KINDS.items()}
    specs["pct"] = specs["share"]
    specs["num"] = lambda v, d: fmt_num(v, 1 if d is None else d)
    specs["change"] = lambda v, d: _signed(KINDS["number"], v, d, missing=NA_TEXT)
    return specs


def _kind_spec(kind: Kind) -> Callable[[Any, int | None], str]:
    """Return the template spec that formats a value as ``kind`` (missing -> ``NA_TEXT``)."""
    return lambda v, d: kind.format(v, d, missing=NA_TEXT)


# ---- column roles -------------------------------------------------------------------------
_BASE = {
    "n",
    "n_weighted",
    "n_effective",
    "n_low",
    "n_high",
    "n_test",
    "n_cells",
    "n_hit",
    "n_excluded",
    "n_items",
    "n_boot",
    "count",
    "count_weighted",
    "cells",
    "valid_n",
    "missing_n",
    "read",
    "analysed",
    "min_n",
    "median_n",
    "max_n",
    "low_base",
    "suppressed",
    "sum",
}
_INTEGER = {"rank", "priority", "linear_rank", "scale_min", "scale_max", "ways", "band", "df"}
_COEF = {
    "correlation",
    "beta",
    "alpha",
    "alpha_standardized",
    "rho",
    "slope",
    "statistic",
    "z",
    "t",
    "penalty",
    "reward",
    "difference",
    "loading",
}
_NUMBER2 = {"deff", "deff_weighting", "cv", "ratio_max_min", "min", "max", "mean_weight"}
#: statistic columns whose kind is the row's unit when the table has one
_UNIT_COLUMNS = {"estimate", "se", "estimate_from", "estimate_to", "change", "value_estimate"}
_DELTA = re.compile(r"^(change|difference|diff|gap)$|_gap$|^gap_|_change$|_difference$")


def default_kind(column: Any, values: pd.Series | None = None) -> str:
    """Return the kind a column's name (and dtype) implies; ``"number"`` when nothing is known."""
    name = str(column)
    kind = _kind_by_role(name, values) or _kind_by_statistic(name)
    if kind is not None:
        return kind
    if values is not None and pd.api.types.is_integer_dtype(values.dtype):
        return "integer"
    return "number"


def _kind_by_role(name: str, values: pd.Series | None) -> str | None:
    """Return the kind of a flag, text, base, p-value or count column (None: not one)."""
    if name == "significant" or name.endswith("_significant"):
        return "significance"
    if name == "flag":
        return "flag"
    if values is not None and pd.api.types.is_bool_dtype(values.dtype):
        return "bool"
    if values is not None and not pd.api.types.is_numeric_dtype(values.dtype):
        return "text"
    if name in _BASE or name.startswith("n_") or name.endswith("_n"):
        return "base"
    if name in ("p", "p_value", "p_adjusted") or name.endswith(("_p_value", "_p_adjusted")):
        return "p"
    if name in _INTEGER:
        return "integer"
    return None


def _kind_by_statistic(name: str) -> str | None:
    """Return the kind a statistic column's name implies (None: no rule applies)."""
    if name.endswith("_pct") or "_pct_" in name or name.endswith(" %") or "%" in name:
        return "percent"
    if (
        name.startswith(("share", "top2", "top_box", "r2", "weight_"))
        or name.endswith("_share")
        or name in ("efficiency", "max_margin_error")
    ):
        return "share"
    if name == "nps" or name.startswith("nps_"):
        return "nps"
    if (
        name.startswith(("index", "csi"))
        or name.endswith("_100")
        or name
        in (
            "area_score",
            "gap_100",
        )
    ):
        return "index"
    if name.startswith("mean") or name.endswith("_mean"):
        return "mean"
    if name in _COEF or name.startswith(("correlation", "beta", "alpha")):
        return "coef"
    if name in _NUMBER2:
        return "number.2"
    return None


#: the columns with a default header: ``col.<name>`` of the template tables
#: (:mod:`analysis_helpers.text`), e.g. ``n`` -> "Base" / "样本量"
_LABELS = frozenset(
    {
        "n",
        "n_weighted",
        "n_effective",
        "n_low",
        "n_high",
        "n_test",
        "n_items",
        "n_cells",
        "valid_n",
        "missing_n",
        "estimate",
        "se",
        "p",
        "p_value",
        "p_adjusted",
        "significant",
        "direction",
        "flag",
        "label",
        "name",
        "item",
        "driver",
        "area",
        "area_label",
        "indicator",
        "indicator_label",
        "segment",
        "segment_label",
        "value",
        "value_label",
        "wave",
        "wave_label",
        "wave_from",
        "wave_to",
        "estimate_from",
        "estimate_to",
        "change",
        "kpi",
        "unit",
        "level",
        "share",
        "share_weighted",
        "share_unweighted",
        "mean",
        "top2",
        "index",
        "rank",
        "linear_rank",
        "correlation",
        "beta",
        "relative_weight",
        "relative_weight_pct",
        "shapley",
        "shapley_pct",
        "lmg",
        "lmg_pct",
        "r2",
        "r2_test",
        "statistic",
        "df",
        "deff",
        "deff_weighting",
        "efficiency",
        "cv",
        "ratio_max_min",
        "share_at_trim",
        "max_margin_error",
        "min",
        "max",
        "alpha",
        "alpha_standardized",
        "quadrant",
        "priority",
        "importance",
        "performance",
        "factor_class",
        "scale_min",
        "scale_max",
        "penalty",
        "reward",
        "weight",
    }
)

_CORRECTIONS = {"holm": "Holm", "fdr_bh": "Benjamini-Hochberg", "bonferroni": "Bonferroni"}


def _words(key: str, language: str, **values: Any) -> str:
    """Return the plain text of ``key`` in ``language``'s template table, ``values`` filled."""
    from .text import template  # the text tables format their numbers with this module

    return template(key, language).format(**values)


def _language(study: Study | None) -> str:
    return getattr(study, "language", "en") if study is not None else "en"


def _humanize(name: str) -> str:
    text = re.sub(r"_pct$", "", name).replace("_pct_", "_").replace("_", " ").strip()
    return text[:1].upper() + text[1:] if text else name


# ---- the table view --------------------------------------------------------------------
@dataclass
class Column:
    """One shown column of a :class:`TableView`.

    Attributes
    ----------
    key : tuple
        The column of the source table (a 1-tuple for flat columns); merged intervals are
        keyed ``(..., "X_ci")``.
    label : tuple of str
        The header text, one entry per header level (plain text, not escaped).
    kind : str
        The kind (``"row unit"`` when it follows the row's unit).
    decimals : int or None
        Decimals when fixed for the column.
    sources : tuple of tuples
        The source columns (two for an interval).
    align : str
    """

    key: tuple
    label: tuple
    kind: str
    decimals: int | None
    sources: tuple
    align: str
    signed: bool = False


@dataclass
class TableView:
    """A table as a client sees it: display text per cell plus what the deliverables need.

    Attributes
    ----------
    data : DataFrame
        The source rows (unrounded; index reset).
    columns : list of Column
        The shown columns.
    text : DataFrame
        Display text per cell (plain text, not escaped), one column per shown column.
    classes : DataFrame
        A CSS class per cell (``""``, ``"up-good"``, ``"down-bad"``, ``"flag-low"``, ...).
    caption : str or None
    notes : list of str
        Footnotes (significance key, base rules, the author's note).
    """

    data: pd.DataFrame
    columns: list[Column]
    text: pd.DataFrame
    classes: pd.DataFrame
    caption: str | None = None
    notes: list[str] = field(default_factory=list)
    language: str = "en"

    @property
    def labels(self) -> list[tuple]:
        """The column headers, in column order."""
        return [c.label for c in self.columns]

    def to_text(self, max_rows: int | None = None) -> str:
        """Plain text: a tab-separated header and rows (for ``text/plain`` and checks)."""
        rows = self.text if max_rows is None else self.text.head(max_rows)
        head = "\t".join(" ".join(x for x in c.label if x) for c in self.columns)
        body = ["\t".join(r) for r in rows.itertuples(index=False, name=None)]
        lines = ([self.caption] if self.caption else []) + [head, *body] + self.notes
        return "\n".join(lines)

    def to_html(self, *, table_id: str = "report", max_rows: int | None = None) -> str:
        """Return the table as an HTML fragment (pandas Styler), every text escaped.

        Parameters
        ----------
        table_id : str
            Makes the element id ``T_<table_id>`` (letters, digits, ``_`` and ``-``).
        max_rows : int, optional
            Show only the first rows, with a line saying how many are shown.
        """
        from pandas.io.formats.style import Styler

        uid = re.sub(r"[^A-Za-z0-9_-]", "-", table_id)
        n_rows = len(self.text)
        shown = self.text if max_rows is None else self.text.head(max_rows)
        classes = self.classes.loc[shown.index]
        cells = pd.DataFrame(
            {
                j: [
                    f'<span class="{cls}">{escape_html(t)}</span>' if cls else escape_html(t)
                    for t, cls in zip(shown.iloc[:, j], classes.iloc[:, j], strict=True)
                ]
                for j in range(len(self.columns))
            },
            index=shown.index,
        )
        depth = max((len(c.label) for c in self.columns), default=1)
        heads = [
            tuple(escape_html(x) for x in ("",) * (depth - len(c.label)) + tuple(c.label))
            for c in self.columns
        ]
        cells.columns = pd.MultiIndex.from_tuples(heads) if depth > 1 else [h[0] for h in heads]
        styles = [
            {
                "selector": "",
                "props": "border-collapse: collapse; font-variant-numeric: tabular-nums;",
            },
            {
                "selector": "caption",
                "props": "caption-side: top; text-align: left; font-weight: bold; "
                "padding: 0 0 .4em 0; color: inherit;",
            },
            {"selector": "th, td", "props": "padding: .3em .6em; vertical-align: baseline;"},
            {"selector": "thead th", "props": "vertical-align: bottom;"},
            {
                "selector": "span.up-good, span.down-good",
                "props": f"color: {GOOD}; font-weight: bold;",
            },
            {
                "selector": "span.up-bad, span.down-bad",
                "props": f"color: {BAD}; font-weight: bold;",
            },
            {"selector": "span.sig", "props": "font-weight: bold;"},
            {"selector": "span.flag-low", "props": "color: #8a5a00; font-style: italic;"},
            {
                "selector": "span.flag-suppressed, span.flag-other",
                "props": "color: #6e7781; font-style: italic;",
            },
        ]
        for j, c in enumerate(self.columns):
            styles.append(
                {
                    "selector": f"td.col{j}, th.col_heading.col{j}",
                    "props": f"text-align: {c.align};"
                    + (" white-space: nowrap;" if c.align == "right" else ""),
                }
            )
        sty = Styler(cells, uuid=uid, cell_ids=False)
        sty.hide(axis="index")
        if self.caption:
            sty.set_caption(escape_html(self.caption))
        sty.set_table_styles(styles, overwrite=True)
        body = sty.to_html()
        notes = list(self.notes)
        if max_rows is not None and n_rows > max_rows:
            notes.append(
                _words("table.rows_shown", self.language, shown=f"{max_rows:,}", rows=f"{n_rows:,}")
            )
        foot = "".join(
            '<p class="report-table-note" style="font-size: 0.85em; color: #57606a; '
            f'margin: 0.2em 0 0 0;">{escape_html(n)}</p>'
            for n in notes
        )
        return (
            '<div class="report-table tex2jax_ignore mathjax_ignore" '
            'style="overflow-x: auto; margin-bottom: 1em;">'
            f"{body}{foot}</div>"
        )


def _as_key(column: Any, nlevels: int) -> tuple:
    if isinstance(column, tuple) and len(column) == nlevels:
        return column
    return (column,) if nlevels == 1 else tuple(column) if isinstance(column, tuple) else (column,)


def format_table(
    table: pd.DataFrame,
    columns: Sequence[Any] | Mapping[Any, str | None] | None = None,
    *,
    labels: Mapping[Any, str] | None = None,
    kinds: Mapping[Any, str] | None = None,
    unit: str | None = None,
    study: Study | None = None,
    confidence: float | None = None,
    alpha: float | None = None,
    correction: str | None = None,
    intervals: bool = True,
    free_text: Iterable[str] | None = None,
    redacted: bool = True,
    caption: str | None = None,
    note: str | None = None,
) -> TableView:
    """Format a result table for a client.

    Parameters
    ----------
    table : DataFrame
        A tidy result table (a named or MultiIndex row index is shown as columns; MultiIndex
        columns are shown as spanning headers).
    columns : sequence or mapping, optional
        The columns to show, in order (default: all). A mapping gives their labels; a label
        ``None`` keeps the default. Merged intervals are named ``ci`` / ``X_ci`` (naming
        either bound also works).
    labels : mapping, optional
        Labels for columns, header-level values (e.g. wave codes of a pivot) or, for a
        MultiIndex, the last level's names.
    kinds : mapping, optional
        Column -> kind name (``"share"``, ``"mean"``, ``"index"``, ``"share.1"``, ...), see
        :data:`KINDS`.
    unit : str, optional
        The unit of every row's statistic columns (``"share"``, ``"mean (1-5)"``,
        ``"index (0-100)"``, ``"points"``); default: the table's ``unit`` column, if any.
    study : Study, optional
        Gives labels of items, segments and waves, wave labels for wave codes, segment value
        labels, the confidence level, ``alpha``, ``correction`` and the free-text columns.
    confidence, alpha, correction : optional
        Override the study's reporting settings (0.95, 0.05, "holm" without a study).
    intervals : bool
        Show ``X_ci_low``/``X_ci_high`` pairs as one interval column.
    free_text : iterable of str, optional
        Columns holding respondent free text (default: the study's ``text_columns``).
    redacted : bool
        Replace e-mail addresses, phone and ID numbers in the free-text columns.
    caption, note : str, optional
        Caption above and footnote below the table (plain text; escaped when rendered).

    Returns
    -------
    TableView
    """
    data = _with_index(table)
    nlev = data.columns.nlevels
    keys = [_as_key(c, nlev) for c in data.columns]
    rep = getattr(study, "reporting", None)
    confidence = confidence or (rep.confidence if rep else 0.95)
    alpha = alpha or (rep.alpha if rep else 0.05)
    correction = correction or (rep.correction if rep else "none")
    level = confidence_label(confidence)
    kinds = {_as_key(k, nlev): v for k, v in (kinds or {}).items()}
    label_map = dict(labels or {})
    text_cols = set(free_text if free_text is not None else _study_text_columns(study))

    merged = _merged_intervals(keys) if intervals else {}
    wanted = _wanted_columns(keys, columns, merged, nlev)

    unit_col = _find(keys, "unit")
    row_units = (
        pd.Series(unit, index=data.index)
        if unit is not None
        else data[_col(unit_col)]
        if unit_col is not None
        else None
    )

    out_cols: list[Column] = []
    text: dict[int, list[str]] = {}
    classes: dict[int, list[str]] = {}
    notes: list[str] = []
    for j, (k, author_label) in enumerate(wanted):
        sources = merged.get(k, (k,))
        series = data[_col(sources[0])]
        leaf = str(k[-1])
        base_leaf = leaf[: -len("_ci")] if k in merged and leaf != "ci" else leaf
        spec = kinds.get(k) or kinds.get(sources[0])
        if spec is None and k in merged:
            spec = kinds.get((*k[:-1], base_leaf))
        follows_unit = False
        if spec is None:
            base_key = (*k[:-1], "estimate" if leaf == "ci" else base_leaf)
            base_values = data[_col(base_key)] if base_key in keys else series
            spec = default_kind(base_key[-1], base_values)
            if row_units is not None and (base_key[-1] in _UNIT_COLUMNS or spec == "number"):
                follows_unit, spec = True, "number"
        kind, decimals = _kind(spec)
        if kind.name == "number" and decimals is None and not follows_unit:
            decimals = _auto_decimals(data[[_col(s) for s in sources]])
        signed = bool(_DELTA.search(base_leaf)) and kind.numeric and kind.name not in ("p", "base")
        label = _label(k, author_label, label_map, study, level, correction, merged, base_leaf)
        col_text, col_cls = _format_column(
            data,
            sources,
            kind,
            decimals,
            follows_unit=follows_unit,
            units=row_units,
            se=leaf == "se",
            signed=signed,
            study=study,
            leaf=leaf,
            keys=keys,
            key=k,
            redacted=redacted and leaf in text_cols,
        )
        text[j], classes[j] = col_text, col_cls
        shown_kind = "row unit" if follows_unit else kind.name
        out_cols.append(
            Column(
                key=k,
                label=label,
                kind=shown_kind,
                decimals=decimals,
                sources=tuple(sources),
                align="right" if (kind.numeric or follows_unit) else kind.align,
                signed=signed,
            )
        )
        if (
            kind.name == "significance"
            and any(col_text)
            and not any("significant" in n for n in notes)
        ):
            adj = _CORRECTIONS.get(correction or "", "")
            lang = _language(study)
            notes.append(
                _words(
                    "table.sig_note",
                    lang,
                    up=UP,
                    down=DOWN,
                    alpha=f"{alpha:g}",
                    adjusted=_words("table.sig_adjusted", lang, method=adj) if adj else "",
                )
            )
    frame_text = pd.DataFrame(text, index=data.index)
    frame_cls = pd.DataFrame(classes, index=data.index)
    flagged = any(
        t for c, j in zip(out_cols, text, strict=True) if c.kind == "flag" for t in text[j]
    )
    if flagged and rep is not None:
        notes.append(
            _words(
                "table.base_note",
                _language(study),
                min_base=f"{rep.min_base:,}",
                suppress=f"{rep.suppress_below:,}",
            )
        )
    if note:
        notes.append(note)
    return TableView(
        data=data,
        columns=out_cols,
        text=frame_text,
        classes=frame_cls,
        caption=caption,
        notes=notes,
        language=_language(study),
    )


def _merged_intervals(keys: list[tuple]) -> dict[tuple, tuple[tuple, tuple]]:
    """Return the interval columns to merge: ``(..., "X_ci")`` -> its low and high keys.

    ``(..., "X_ci_low")`` and ``(..., "X_ci_high")`` merge into ``(..., "X_ci")`` when both
    are present.
    """
    merged: dict[tuple, tuple[tuple, tuple]] = {}
    for k in keys:
        leaf = str(k[-1])
        if leaf == "ci_low" or leaf.endswith("_ci_low"):
            hi = (*k[:-1], leaf[: -len("low")] + "high")
            if hi in keys:
                merged[(*k[:-1], leaf[: -len("_low")])] = (k, hi)
    return merged


def _wanted_columns(
    keys: list[tuple],
    columns: Sequence[Any] | Mapping[Any, str | None] | None,
    merged: dict[tuple, tuple[tuple, tuple]],
    nlev: int,
) -> list[tuple[tuple, str | None]]:
    """Return the columns to show, in order, each with its author label (None: default).

    Raises
    ------
    KeyError
        A requested column is not in the table.
    """
    bound_of = {b: m for m, pair in merged.items() for b in pair}
    wanted: list[tuple[tuple, str | None]] = []
    if columns is None:
        seen: set[tuple] = set()
        for k in keys:
            k2 = bound_of.get(k, k)
            if k2 not in seen:
                seen.add(k2)
                wanted.append((k2, None))
        return wanted
    items = columns.items() if isinstance(columns, Mapping) else ((c, None) for c in columns)
    for c, lab in items:
        k = _as_key(c, nlev)
        k = bound_of.get(k, k)
        if k not in keys and k not in merged:
            raise KeyError(
                f"show: the table has no column {c!r}; it has {[_plain_key(x) for x in keys]}"
            )
        if k not in [w for w, _ in wanted]:
            wanted.append((k, lab))
    return wanted


def _with_index(table: pd.DataFrame) -> pd.DataFrame:
    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"show: expected a DataFrame, got {type(table).__name__}")
    named = any(n is not None for n in table.index.names)
    if named or isinstance(table.index, pd.MultiIndex):
        if isinstance(table.columns, pd.MultiIndex):
            return table.reset_index(col_level=-1, col_fill="")
        return table.reset_index()
    return table.reset_index(drop=True)


def _col(key: tuple) -> Any:
    return key[0] if len(key) == 1 else key


def _plain_key(key: tuple) -> Any:
    return key[0] if len(key) == 1 else key


def _find(keys: list[tuple], leaf: str) -> tuple | None:
    for k in keys:
        if str(k[-1]) == leaf:
            return k
    return None


def _study_text_columns(study: Study | None) -> list[str]:
    try:
        return list(study.spec.data.text_columns) if study is not None else []
    except AttributeError:
        return []


def _auto_decimals(values: pd.DataFrame) -> int:
    v = pd.to_numeric(values.stack(), errors="coerce").abs()
    v = v[np.isfinite(v) & (v > 0)]
    if v.empty:
        return 2
    if (v == v.round()).all():
        return 0
    m = float(v.median())
    return 3 if m < 0.1 else 2 if m < 100 else 1 if m < 1000 else 0


def _label(
    key: tuple,
    author: str | None,
    label_map: Mapping[Any, str],
    study: Study | None,
    level: str,
    correction: str | None,
    merged: Mapping[tuple, Any],
    base_leaf: str,
) -> tuple:
    def one(value: Any) -> str:
        if value in label_map:
            return str(label_map[value])
        if study is not None and isinstance(value, str) and value:
            if value in study.waves:
                return study.wave_label(value)
            lab = study.label(value)
            if lab != value:
                return lab
        return "" if value is None else str(value)

    leaf = key[-1]
    upper = tuple(one(v) for v in key[:-1])
    if author is not None:
        return (*upper, author)
    plain = _plain_key(key)
    if plain in label_map:
        return (*upper, str(label_map[plain]))
    if leaf in label_map:
        return (*upper, str(label_map[leaf]))
    if key in merged:
        lang = _language(study)
        if leaf == "ci":
            return (*upper, _words("col.ci", lang, level=level))
        stat = _leaf_label(base_leaf, study, correction)
        return (*upper, _words("col.stat_ci", lang, stat=stat, level=level))
    return (*upper, _leaf_label(leaf, study, correction))


def _leaf_label(leaf: Any, study: Study | None, correction: str | None) -> str:
    if not isinstance(leaf, str):
        return str(leaf)
    lang = _language(study)
    if leaf == "p_adjusted" and correction in _CORRECTIONS:
        return _words("col.p_adjusted_by", lang, method=_CORRECTIONS[correction])
    if leaf in _LABELS:
        return _words(f"col.{leaf}", lang)
    if study is not None:
        if leaf in study.waves:
            return study.wave_label(leaf)
        lab = study.label(leaf)
        if lab != leaf:
            return lab
    if re.fullmatch(r"[a-z0-9]+(_[a-z0-9]+)*", leaf):
        return _humanize(leaf)
    return leaf


def _format_column(
    data: pd.DataFrame,
    sources: tuple,
    kind: Kind,
    decimals: int | None,
    *,
    follows_unit: bool,
    units: pd.Series | None,
    se: bool,
    signed: bool,
    study: Study | None,
    leaf: str,
    keys: list[tuple],
    key: tuple,
    redacted: bool,
) -> tuple[list[str], list[str]]:
    n = len(data)
    values = [data[_col(s)] for s in sources]
    if kind.name == "significance":
        return _format_significance(data, values[0], units, keys, key)
    if kind.name == "flag":
        return _format_flags(values[0], _language(study))
    if kind.name == "bool" and _language(study) != "en":  # "yes" / "no" in the language
        yes, no = _words("table.yes", _language(study)), _words("table.no", _language(study))
        return [MISSING if _missing(v) else yes if bool(v) else no for v in values[0]], [""] * n
    cls = [""] * n
    if kind.name in ("text",):
        mapper = _value_labels(leaf, study)
        out = []
        for v in values[0]:
            if _missing(v):
                out.append(MISSING)
                continue
            t = mapper.get(str(v), str(v)) if mapper else str(v)
            out.append(redact(t) if redacted else t)
        return out, cls
    unit_kinds = (
        [_kind(kind_for_unit(u)) for u in units] if follows_unit and units is not None else None
    )
    out = []
    for i in range(n):
        k, d = (unit_kinds[i][0], unit_kinds[i][1]) if unit_kinds else (kind, decimals)
        if unit_kinds and se and k.decimals is not None:
            d = k.decimals + 1
        if len(values) == 2:
            out.append(
                _interval(
                    values[0].iloc[i], values[1].iloc[i], k.name, d, language=_language(study)
                )
            )
        elif signed:
            out.append(_signed(k, values[0].iloc[i], d))
        else:
            out.append(k.format(values[0].iloc[i], d))
    return out, cls


def _format_significance(
    data: pd.DataFrame,
    significant: pd.Series,
    units: pd.Series | None,
    keys: list[tuple],
    key: tuple,
) -> tuple[list[str], list[str]]:
    """Return the arrows of a significance column and their CSS classes (good / bad)."""
    cls = [""] * len(data)
    direction = _direction(data, keys, key)
    lower_better = (
        units.map(_lower_is_better) if units is not None else pd.Series(False, index=data.index)
    )
    out = []
    for i, (sig, d, lb) in enumerate(zip(significant, direction, lower_better, strict=True)):
        if _missing(sig) or not bool(sig):
            out.append("")
            continue
        if d > 0:
            out.append(UP)
            cls[i] = "up-bad" if lb else "up-good"
        elif d < 0:
            out.append(DOWN)
            cls[i] = "down-good" if lb else "down-bad"
        else:
            out.append(UNDIRECTED)
            cls[i] = "sig"
    return out, cls


def _format_flags(flags: pd.Series, language: str = "en") -> tuple[list[str], list[str]]:
    """Return a flag column's notes, capitalized (the base notes in ``language``), and classes."""
    cls = [""] * len(flags)
    out = []
    known = {"low base": "table.flag_low", "suppressed": "table.flag_suppressed"}
    for i, v in enumerate(flags):
        t = "" if _missing(v) else str(v).strip()
        if t.lower() in known:
            out.append(_words(known[t.lower()], language))
        else:
            out.append(t[:1].upper() + t[1:] if t else "")
        if t:
            cls[i] = {"low base": "flag-low", "suppressed": "flag-suppressed"}.get(
                t.lower(), "flag-other"
            )
    return out, cls


def _direction(data: pd.DataFrame, keys: list[tuple], key: tuple) -> list[float]:
    """Return the sign of each row's change for a significance column.

    Taken from a ``direction`` column ("up"/"down") or the sign of change / difference /
    estimate.
    """
    upper = key[:-1]
    for leaf in ("direction", "change", "difference", "gap", "estimate", "statistic"):
        k = (*upper, leaf)
        if k not in keys:
            continue
        col = data[_col(k)]
        if leaf == "direction":
            words = col.astype(object).map(
                lambda v: (
                    1.0
                    if str(v).lower() in ("up", "rise", "higher", "+", "increase")
                    else -1.0
                    if str(v).lower() in ("down", "fall", "lower", "-", "decrease")
                    else 0.0
                )
            )
            return list(words)
        num = pd.to_numeric(col, errors="coerce")
        return list(np.sign(num.fillna(0.0)))
    return [0.0] * len(data)


def _value_labels(leaf: str, study: Study | None) -> dict[str, str]:
    if study is None:
        return {}
    if leaf in ("wave", "wave_from", "wave_to", study.wave_column):
        return {w: study.wave_label(w) for w in study.waves}
    if leaf in study.segment_columns():
        return {str(k): str(v) for k, v in study.segment(leaf).values.items()}
    return {}
