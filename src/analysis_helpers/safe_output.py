r"""Safe output: nothing from the data can become markup, a link, a formula or leaked PII.

Every client-facing output (report pages, notebooks, CSV tables, and later the Excel
workbook and the PowerPoint deck) goes through this one module:

- :func:`escape_html` for text placed in HTML;
- :func:`escape_markdown` for text placed in Markdown: its result is safe in Markdown
  *and* in HTML alike (every character that could start markup - emphasis, links, images,
  raw HTML, autolinks, headings, lists, math - is written as an HTML character reference,
  which every Markdown flavour and every browser shows as the character itself);
- :class:`Md` / :func:`md`: Markdown whose template text is the notebook author's (bold,
  italics and code spans work) and whose interpolated values are escaped;
- :func:`spreadsheet_safe` / :func:`spreadsheet_safe_frame`: text cells that a spreadsheet
  would read as a formula (starting with ``=``, ``+``, ``-``, ``@``, tab or carriage
  return) are quote-prefixed, numbers are left alone;
- :func:`redact`: respondent free text with e-mail addresses, phone numbers and ID numbers
  (Chinese resident ID, bank card and other long digit runs) replaced by ``[email]``,
  ``[phone]``, ``[ID number]``. Client-facing output redacts the study's free-text columns
  by default; ``setup(..., redact=False)`` (or ``ReportContext.redact = False``) turns it
  off for an analyst's own run.

Examples
--------
>>> md("**{label}** scores {score}", label="[x](javascript:alert(1))", score="6.62")
Md('**&#91;x&#93;&#40;javascript&#58;alert&#40;1&#41;&#41;** scores 6&#46;62')
>>> spreadsheet_safe("=HYPERLINK(\"http://x\")")
'\'=HYPERLINK("http://x")'
>>> redact("Call me on 138 1234 5678 or mail li.wei@example.com")
'Call me on [phone] or mail [email]'
"""

from __future__ import annotations

import html
import re
import string
from collections.abc import Callable, Iterable, Mapping
from html.parser import HTMLParser
from typing import Any

import pandas as pd

__all__ = [
    "Md",
    "md",
    "escape_html",
    "escape_markdown",
    "clean_text",
    "render_markdown",
    "plain_text",
    "spreadsheet_safe",
    "spreadsheet_safe_frame",
    "redact",
    "redact_frame",
    "client_text",
    "FORMULA_PREFIXES",
]

#: first characters that make a spreadsheet cell a formula (OWASP "CSV injection")
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

# control characters (except tab and newline) and bidirectional overrides that could
# make a label read differently from what it is ("Trojan source" text)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u202a-\u202e\u2066-\u2069]")

# ASCII punctuation that can start or end Markdown syntax in some flavour (CommonMark,
# GFM autolinks, JupyterLab's marked and MathJax, mistune in nbconvert). ``,;?%/`` are
# harmless and stay readable.
_MARKDOWN_ACTIVE = set("!\"#$&'()*+-.:<=>@[\\]^_`{|}~")
_MD_TABLE = {ord(c): f"&#{ord(c)};" for c in _MARKDOWN_ACTIVE}


def clean_text(value: Any) -> str:
    """``str(value)`` without control characters and bidirectional overrides."""
    return _CONTROL.sub("", str(value))


def escape_html(value: Any) -> str:
    """Return text for an HTML page: ``& < > " '`` as character references.

    Control characters and bidirectional overrides are removed.
    """
    return html.escape(clean_text(value), quote=True)


def escape_markdown(value: Any) -> str:
    """Text for a Markdown cell or template, shown literally in Markdown *and* in HTML.

    Every character that can start Markdown or HTML syntax is written as a numeric
    character reference (``*`` -> ``&#42;``), line breaks become spaces (so a value can
    never start a heading, list or table), control characters and bidirectional overrides
    are removed. Renderers parse syntax on the raw text and decode references only into
    text, so ``[x](javascript:...)``, ``![i](...)``, ``<b>``, ``<http://...>``,
    ``https://...``, ``a@b.com``, ``$x$`` and ``**bold**`` all show as typed and never
    become a link, an image, markup or math.
    """
    text = re.sub(r"\s*[\r\n]+\s*", " ", clean_text(value))
    return text.translate(_MD_TABLE)


class Md(str):
    """Markdown known to be safe: the author's template with escaped values.

    ``Md`` is a ``str``; combining it with plain strings escapes them, so values can never
    smuggle markup in::

        Md("**{x}**").format(x="<b>")     # values escaped
        Md("a ") + "<b>"                   # the plain string is escaped
        Md(", ").join(["*x*", Md("**y**")])  # plain items escaped, Md items kept

    Use :func:`md` to build one from a template and values.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        """Return ``Md('<text>')``."""
        return f"Md({str.__repr__(self)})"

    def __add__(self, other: Any) -> Md:
        """Append text, escaped unless it is :class:`Md` already."""
        if isinstance(other, str):
            return Md(str.__add__(self, _as_md(other)))
        return NotImplemented

    def __radd__(self, other: Any) -> Md:
        """Prepend text, escaped unless it is :class:`Md` already."""
        if isinstance(other, str):
            return Md(str.__add__(_as_md(other), self))
        return NotImplemented

    def join(self, parts: Iterable[Any]) -> Md:
        """Join ``parts`` with this text, each part escaped unless it is :class:`Md` already."""
        return Md(str.join(self, [_as_md(p) for p in parts]))

    def format(self, *args: Any, **kwargs: Any) -> Md:
        """Fill the template's fields, each value escaped (format specs of the formatting layer)."""
        return Md(_FORMATTER.vformat(str(self), args, kwargs))


def _as_md(value: Any) -> str:
    return str(value) if isinstance(value, Md) else escape_markdown(value)


def _specs() -> Mapping[str, Callable[[Any, int | None], str]]:
    """Return the named format specs of templates: the kinds of the formatting layer."""
    from .formatting import template_specs

    return template_specs()


class _EscapingFormatter(string.Formatter):
    """``str.format`` whose every field is escaped for Markdown (``Md`` values are kept).

    A format spec can name a kind of the formatting layer, optionally with decimals:
    ``{x:share}``, ``{x:share.1}``, ``{x:mean}``, ``{p:p}``, ``{n:base}``; any other spec
    is Python's own (``{n:,}``, ``{x:.2f}``).
    """

    def format_field(self, value: Any, format_spec: str) -> str:
        if isinstance(value, Md) and not format_spec:
            return str(value)
        name, _, digits = format_spec.partition(".")
        specs = _specs() if name.isidentifier() else {}
        if name in specs and (not digits or digits.isdigit()):
            text = specs[name](value, int(digits) if digits else None)
        else:
            text = format(value, format_spec)
        return escape_markdown(text)

    def convert_field(self, value: Any, conversion: str | None) -> Any:
        if conversion in ("r", "a"):
            raise ValueError("md: !r and !a show Python representations; format the value")
        return super().convert_field(value, conversion)

    def get_value(self, key: int | str, args: Any, kwargs: Mapping[str, Any]) -> Any:
        try:
            return super().get_value(key, args, kwargs)
        except (KeyError, IndexError):
            raise KeyError(
                f"md: the template names {{{key}}} but no value {key}= was given"
            ) from None

    def get_field(self, field_name: str, args: Any, kwargs: Mapping[str, Any]) -> Any:
        if any(c in field_name for c in ".["):
            raise ValueError(
                f"md: {{{field_name}}} looks up an attribute or item inside the template; "
                "pass the value itself as a keyword"
            )
        return super().get_field(field_name, args, kwargs)


_FORMATTER = _EscapingFormatter()


def md(template: str, /, **values: Any) -> Md:
    """Safe Markdown from the author's ``template`` and data ``values``.

    The template is trusted text written in the notebook (a literal, never an f-string:
    the notebook tests check that): its ``**bold**``, ``*italics*`` and ```code``` work.
    Every ``{name}`` is replaced by the escaped value; a spec can name a kind of the
    formatting layer (``{x:share}`` -> ``"45%"``, ``{x:mean}``, ``{x:index}``, ``{p:p}``,
    ``{n:base}``, ``{x:share.1}`` for one decimal) or be a Python spec (``{n:,}``).
    Values that are themselves :class:`Md` are inserted as they are.

    Examples
    --------
    >>> md("**{area}** leads with {share:share}", area="Network <网络>", share=0.4512)
    Md('**Network &#60;网络&#62;** leads with 45%')
    """
    if isinstance(template, Md):
        if values:
            raise TypeError("md: the template is formatted already; pass a plain string")
        return template
    return Md(template).format(**values)


def render_markdown(text: Md | str) -> str:
    """Markdown to HTML with the same renderer nbconvert uses for pages (mistune).

    Give it an :class:`Md` (or a trusted literal): character references are decoded only
    into text, so escaped values stay text.
    """
    import mistune

    renderer = mistune.create_markdown(escape=False, plugins=["strikethrough"])
    return str(renderer(str(text)))


class _TextOnly(HTMLParser):
    _BLOCK = {
        "p",
        "div",
        "li",
        "tr",
        "br",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "caption",
        "header",
        "section",
        "table",
        "ul",
        "ol",
        "title",
    }

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip: list[str] = []

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        anchor = tag == "a" and "anchor-link" in (dict(attrs).get("class") or "")
        if tag in ("style", "script") or anchor:
            self._skip.append(tag)
        elif tag in self._BLOCK:
            self.parts.append("\n")
        elif tag in ("td", "th"):
            self.parts.append("\t")

    def handle_endtag(self, tag: str) -> None:
        if self._skip and tag == self._skip[-1]:
            self._skip.pop()
        elif tag in self._BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(re.sub(r"\s+", " ", data))


def plain_text(html_text: str) -> str:
    """Return the visible text of an HTML fragment: one block per line, cells tab-separated.

    Tags are dropped, references decoded, styles, scripts and heading anchors skipped.
    """
    parser = _TextOnly()
    parser.feed(html_text)
    parser.close()
    lines = (re.sub(r" +", " ", line).strip(" ") for line in "".join(parser.parts).split("\n"))
    return "\n".join(line.strip("\t ") for line in lines if line.strip("\t "))


# ---- spreadsheets ---------------------------------------------------------------------
def spreadsheet_safe(value: Any) -> Any:
    """Return a cell value a spreadsheet will not run.

    Text starting with ``= + - @``, tab or CR gets a leading apostrophe (shown as text by
    Excel, LibreOffice and Google Sheets); anything that is not text (numbers, dates,
    missing values) is returned unchanged.
    """
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def spreadsheet_safe_frame(table: pd.DataFrame) -> pd.DataFrame:
    """Return a copy of ``table`` whose text cells and column names are :func:`spreadsheet_safe`.

    Numeric, boolean and datetime columns are untouched, so CSV tables stay unrounded.
    """
    out = table.copy()
    for col in out.columns:
        s = out[col]
        if isinstance(s.dtype, pd.CategoricalDtype):
            s = s.astype(object)
        if s.dtype == object or pd.api.types.is_string_dtype(s.dtype):
            out[col] = s.map(spreadsheet_safe, na_action="ignore")
    if isinstance(out.columns, pd.MultiIndex):
        out.columns = pd.MultiIndex.from_tuples(
            [tuple(spreadsheet_safe(str(x)) for x in c) for c in out.columns],
            names=out.columns.names,
        )
    else:
        out.columns = [spreadsheet_safe(c) if isinstance(c, str) else c for c in out.columns]
    return out


# ---- redaction of respondent free text ----------------------------------------------
# full-width forms (U+FF01-FF5E) and the ideographic space, mapped to ASCII one character
# for one character, so matches on the mapped text are positions in the original
_FULLWIDTH = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+\s?@\s?[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
# Chinese resident identity number: 6-digit area, 8-digit birth date, 3 digits, check
_CN_ID = re.compile(
    r"(?<![0-9])[1-9][0-9]{5}(?:19|20)[0-9]{2}[01][0-9][0-3][0-9][0-9]{3}[0-9Xx](?![0-9])"
)
# phones: an optional +country code, then digit groups separated by space, dot, hyphen or
# parentheses, 8 to 15 digits in all (mainland mobiles 1xx xxxx xxxx, landlines 010-1234
# 5678, (555) 123-4567, +44 20 7946 0958 ...)
_PHONE = re.compile(
    r"(?<![0-9A-Za-z])(?<![0-9][\s.\-])(?:\+|00)?\(?(?:[0-9][\s.()\-]{0,2}){7,14}[0-9](?![0-9]|[\s.\-][0-9])"
)
_DATE = re.compile(r"[0-9]{4}[-/.][0-9]{1,2}[-/.][0-9]{1,2}|[0-9]{1,2}[-/.][0-9]{1,2}[-/.][0-9]{4}")
# any other run of 9 or more digits (with single spaces or hyphens between groups): bank
# cards, account, passport, customer and old 15-digit ID numbers
_LONG_DIGITS = re.compile(r"(?<![0-9])[0-9](?:[ -]?[0-9]){8,}(?![0-9])")


def _digits(text: str) -> int:
    return sum(c.isdigit() for c in text)


def redact(text: Any, *, emails: bool = True, phones: bool = True, id_numbers: bool = True) -> Any:
    """Respondent free text with personal data replaced.

    E-mail addresses become ``[email]``, Chinese resident ID numbers and other runs of 9
    or more digits ``[ID number]``, phone numbers (8 to 15 digits in groups, with an
    optional ``+`` country code) ``[phone]``. Full-width digits and ``＠`` count as their
    ASCII forms. Anything that is not text (a number, a missing value) is returned as is.

    Parameters
    ----------
    text : str
        One answer.
    emails, phones, id_numbers : bool
        Which kinds of personal data to replace.

    Returns
    -------
    str
    """
    if not isinstance(text, str) or not text:
        return text
    spans: list[tuple[int, int, str]] = []
    probe = text.translate(_FULLWIDTH)

    def take(pattern: re.Pattern[str], token: str, keep: Callable[[str], bool] = bool) -> None:
        for m in pattern.finditer(probe):
            if keep(m.group()) and not any(a < m.end() and m.start() < b for a, b, _ in spans):
                spans.append((m.start(), m.end(), token))

    if emails:
        take(_EMAIL, "[email]")
    if id_numbers:
        take(_CN_ID, "[ID number]")
    if phones:
        take(_PHONE, "[phone]", _looks_like_phone)
    if id_numbers:
        take(_LONG_DIGITS, "[ID number]")
    out = text
    for start, end, token in sorted(spans, reverse=True):
        out = out[:start] + token + out[end:]
    return out


def _looks_like_phone(s: str) -> bool:
    s = s.strip()
    if not 8 <= _digits(s) <= 15 or _is_plain_number(s) or _DATE.fullmatch(s):
        return False
    # 12 or more digits in one run are an account or ID number, not a phone number,
    # unless written with a country code (+86 13812345678 / +8613812345678)
    return s.startswith(("+", "00")) or not re.search(r"[0-9]{12,}", s)


def _is_plain_number(s: str) -> bool:
    """Return whether ``s`` is a number written with thousands separators or decimals.

    Such a number ("1,234,567", "12.5") is a quantity, not a phone number.
    """
    return (
        re.fullmatch(r"[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?|[0-9]+\.[0-9]+", s.strip()) is not None
    )


def redact_frame(table: pd.DataFrame, columns: Iterable[str], **kinds: bool) -> pd.DataFrame:
    """Return a copy of ``table`` with :func:`redact` applied to the text of ``columns``.

    Only the columns present are redacted.
    """
    out = table.copy()
    for col in columns:
        if col in out.columns:
            out[col] = out[col].map(lambda v: redact(v, **kinds), na_action="ignore")
    return out


def client_text(text: Any, *, redacted: bool = True) -> str:
    """Return respondent text ready for any client deliverable.

    It is redacted (unless told not to) and cleaned of control characters; escape it for
    the target format (HTML, Markdown) where it is placed.
    """
    return clean_text(redact(text) if redacted else text)
