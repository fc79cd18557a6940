"""The report's words in every language: one template table per language.

Headings, captions, narrative sentences and chart titles are not written in code: each
is a template in ``text/<language>.yml`` (``en.yml``, ``zh.yml``), a flat mapping of keys
to Markdown templates with named placeholders, read with ``yaml.safe_load``::

    summary.movers: "The biggest significant {moves} from {a} to {b}: {moved} (see [Trend](30-trend.html))."

The study file's ``reporting.language`` picks the table (:attr:`Study.language`); a
notebook says ``ctx.say(ctx.text("summary.movers", a=..., b=..., moved=...))``.
Labels (items, areas, segments, waves) stay as the study file gives them.

Both tables have the same keys and the same placeholders in every template (checked by
:func:`table_problems` and the tests); a value is filled in escaped (see
:func:`analysis_helpers.safe_output.md`). Number formats suit the language: Chinese joins a
list with "、" and "和", counts without plurals ("3 个文件"), and writes changes as
"2.1 个指数点" or "3.2 个百分点".
"""

from __future__ import annotations

import string
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from ..formatting import fmt_change, fmt_num, kind_for_unit
from ..safe_output import Md, md

__all__ = [
    "LANGUAGES",
    "load_table",
    "template",
    "text",
    "placeholders",
    "table_problems",
    "join",
    "words",
    "count",
    "localise_notebook",
    "size",
]

#: the report languages: code -> name (``reporting.language``)
LANGUAGES: dict[str, str] = {"en": "English", "zh": "Chinese"}

_HERE = Path(__file__).parent


@cache
def load_table(language: str) -> dict[str, str]:
    """Return the template table of ``language``: key -> template.

    Parameters
    ----------
    language : str
        ``"en"`` or ``"zh"``.

    Returns
    -------
    dict
        Every key of ``text/<language>.yml`` with its template (a string).

    Raises
    ------
    ValueError
        If the language is unknown, or the file is not a flat mapping of strings (naming
        the file and the key).
    """
    if language not in LANGUAGES:
        raise ValueError(f"unknown language {language!r}: use one of {list(LANGUAGES)}")
    path = _HERE / f"{language}.yml"
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(raw, dict):
        raise ValueError(f"{path.name}: expected a mapping of keys to templates")
    for key, value in raw.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise ValueError(f"{path.name}: {key!r}: expected text, got {type(value).__name__}")
    return dict(raw)


def template(key: str, language: str = "en") -> str:
    """Return the template of ``key`` in ``language``'s table.

    Raises
    ------
    KeyError
        Naming the key and the table when the table lacks it.
    """
    table = load_table(language)
    if key not in table:
        raise KeyError(f"text/{language}.yml has no key {key!r}")
    return table[key]


def text(key: str, language: str = "en", /, **values: Any) -> Md:
    """Return the sentence of ``key`` in ``language``, its placeholders filled escaped.

    Parameters
    ----------
    key : str
        A key of the template tables, e.g. ``"summary.movers"``.
    language : str
        ``"en"`` or ``"zh"``.
    **values
        One per placeholder; specs work as in :func:`~analysis_helpers.safe_output.md`
        (``{x:share}``, ``{n:base}``); :class:`Md` values are inserted as they are.

    Returns
    -------
    Md

    Examples
    --------
    >>> text("summary.kpi_in_wave", "zh", wave="Q2 2025")
    Md('**Q2 2025**：')
    """
    return md(template(key, language), **values)


def placeholders(source: str) -> set[str]:
    """Return the names of a template's placeholders (``"{a} to {b:share}"`` -> a, b)."""
    return {name for _, name, _, _ in string.Formatter().parse(source) if name}


def table_problems() -> list[str]:
    """Return what is wrong between the tables: keys or placeholders that differ.

    Returns
    -------
    list of str
        One line per problem, naming the table and the key; empty when the tables agree.
    """
    tables = {lang: load_table(lang) for lang in LANGUAGES}
    reference = tables["en"]
    out = []
    for lang, table in tables.items():
        if lang == "en":
            continue
        for key in sorted(set(reference) - set(table)):
            out.append(f"text/{lang}.yml: missing key {key!r} (in en.yml)")
        for key in sorted(set(table) - set(reference)):
            out.append(f"text/{lang}.yml: key {key!r} is not in en.yml")
        for key in sorted(set(reference) & set(table)):
            a, b = placeholders(reference[key]), placeholders(table[key])
            if a != b:
                out.append(
                    f"text/{lang}.yml: {key!r}: placeholders {sorted(b)} differ from "
                    f"en.yml's {sorted(a)}"
                )
    return out


def join(parts: Iterable[Any], language: str = "en") -> Md:
    """Join pieces in words: ``a, b and c`` in English, ``a、b和c`` in Chinese.

    Pieces that are :class:`Md` are kept as they are; others are escaped.
    """
    pieces = [p if isinstance(p, Md) else md("{p}", p=p) for p in parts]
    sep, last = (Md("、"), Md("和")) if language == "zh" else (Md(", "), Md(" and "))
    if len(pieces) <= 1:
        return Md("").join(pieces)
    return sep.join(pieces[:-1]) + last + pieces[-1]


def words(parts: Iterable[Any], language: str = "en") -> str:
    """Join plain text in words: ``a, b and c`` / ``a、b和c`` (for plain-text sentences)."""
    items = [str(p) for p in parts]
    sep, last = ("、", "和") if language == "zh" else (", ", " and ")
    if len(items) <= 1:
        return "".join(items)
    return sep.join(items[:-1]) + last + items[-1]


def localise_notebook(nb: Any, language: str) -> int:
    """Replace the Markdown cells that name a table key (metadata ``text``) by its template.

    The notebooks hold the English text so that they read well in JupyterLab; the runner
    puts the report language's text in before it executes them.

    Parameters
    ----------
    nb : NotebookNode or mapping
        A notebook; changed in place.
    language : str

    Returns
    -------
    int
        The number of cells replaced.
    """
    n = 0
    for cell in nb["cells"]:
        key = cell.get("metadata", {}).get("text")
        if cell.get("cell_type") == "markdown" and key:
            cell["source"] = template(key, language)
            n += 1
    return n


def count(n: float, key: str, language: str = "en") -> str:
    """Return a count with its noun from the table: ``"1 file"``, ``"3 files"``, ``"3 个文件"``.

    The template of ``key`` holds ``{n}`` and, in English, the singular and the plural form
    separated by ``" | "`` (``"{n} file | {n} files"``).
    """
    forms = template(key, language).split(" | ")
    form = forms[0] if abs(float(n)) == 1 or len(forms) == 1 else forms[1]
    return form.format(n=fmt_num(n, 0))


def size(change: float, unit: str, language: str = "en") -> str:
    """Return the size of a change in words, without its sign.

    ``"2.1 index points"`` / ``"2.1 个指数点"`` (index), ``"5 points"`` / ``"5 个点"`` (NPS),
    ``"3.2 pp"`` / ``"3.2 个百分点"`` (shares), ``"0.17"`` (means).

    Parameters
    ----------
    change : float
        The change.
    unit : str
        The unit of the statistic (as in the KPI tables: ``"index (0-100)"``, ``"share"``,
        ``"NPS points"``, ``"mean"``) or a kind.
    language : str
        ``"en"`` or ``"zh"``.
    """
    kind = kind_for_unit(unit)
    number = fmt_change(abs(float(change)), unit).lstrip("+").removesuffix(" pp").strip()
    key = {"index": "unit.index_points", "nps": "unit.points", "share": "unit.pp"}.get(kind)
    return template(key, language).format(x=number) if key else number
