"""The HTML page around a notebook: the embedded CJK font and the study header.

The runner renders every executed notebook to a self-contained page and finishes it with
:func:`finish_page`: the study's client, title and description on top, and a ``<style>``
that embeds the bundled Noto Sans CJK font, subset to the characters the pages use, so
Chinese (Japanese, Korean) text and full-width digits render on any machine offline.

Why Chinese showed as empty boxes in the first row of tables
------------------------------------------------------------
The embedded font used to be the *last* family of the page's font stack, after the
generic ``sans-serif``. Chromium then meets it only while falling back glyph by glyph,
when it has already shaped the text run with the system fallback: the first run of each
font style that needs the font (the bold header cells, the first body row, a bold
sentence) starts the font's load, is drawn with the fallback font's ``.notdef`` boxes and
is never shaped again; later runs find the font loaded. Without a system CJK font (a
server, a container) that is an empty box per character, in exactly the first rows.

The fix: the embedded font comes *first* in every font stack (body, JupyterLab's UI,
content and code fonts) and declares a ``unicode-range`` of exactly the characters it
holds, so Latin text never touches it and CJK text treats it as its primary font, whose
loading Chromium (and every browser) handles before drawing.
"""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from .plots import cjk_font_path
from .safe_output import escape_html, plain_text

if TYPE_CHECKING:
    from .study import Study

__all__ = [
    "FONT_FAMILY",
    "SANS",
    "CJK_RANGES",
    "font_face",
    "finish_page",
    "page_header",
    "page_text",
    "embedded_font_characters",
    "uncovered_characters",
]

FONT_FAMILY = "Report CJK"
SANS = '-apple-system, BlinkMacSystemFont, "Segoe UI", "Helvetica Neue", Arial, sans-serif'
MONO = 'Menlo, Consolas, "DejaVu Sans Mono", monospace'

#: the blocks the embedded font is used for: CJK radicals, symbols and punctuation, kana,
#: bopomofo, hangul, enclosed CJK, ideographs (and extensions), compatibility forms,
#: half- and full-width forms (full-width digits and punctuation)
CJK_RANGES: tuple[tuple[int, int], ...] = (
    (0x2E80, 0x9FFF),
    (0xA960, 0xA97F),
    (0xAC00, 0xD7FF),
    (0xF900, 0xFAFF),
    (0xFE10, 0xFE1F),
    (0xFE30, 0xFE6F),
    (0xFF00, 0xFFEF),
    (0x20000, 0x3FFFF),
)


def _in_cjk(ch: str) -> bool:
    cp = ord(ch)
    return any(lo <= cp <= hi for lo, hi in CJK_RANGES)


@lru_cache(maxsize=1)
def _font_cmap() -> frozenset[int]:
    from fontTools.ttLib import TTFont

    with TTFont(str(cjk_font_path()), lazy=True) as font:
        return frozenset(font.getBestCmap())


@lru_cache(maxsize=1)
def _latin_cmap() -> frozenset[int]:
    """Return the characters of DejaVu Sans.

    DejaVu Sans ships with matplotlib; it is the default sans-serif font of Linux desktops
    and of Chromium on a server.
    """
    from fontTools.ttLib import TTFont
    from matplotlib import get_data_path

    path = Path(get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
    with TTFont(str(path), lazy=True) as font:
        return frozenset(font.getBestCmap())


def page_text(page: str) -> str:
    """Return the text a reader sees on an HTML page (styles, scripts and tags dropped)."""
    return plain_text(page)


def _cjk_chars(texts: Iterable[str]) -> set[str]:
    return {c for t in texts for c in t if _in_cjk(c)}


def uncovered_characters(text: str) -> list[str]:
    """Return the characters of ``text`` no font of the page can draw.

    These are CJK characters the bundled font lacks, and other non-ASCII characters DejaVu
    Sans lacks. Empty when all render.
    """
    cjk, latin = _font_cmap(), _latin_cmap()
    out = set()
    for c in set(text):
        if c.isspace() or ord(c) < 0x80:
            continue
        if _in_cjk(c):
            if ord(c) not in cjk:
                out.add(c)
        elif ord(c) not in latin:
            out.add(c)
    return sorted(out)


def _ranges(codepoints: Iterable[int]) -> str:
    parts: list[tuple[int, int]] = []  # (first, last) of each run of consecutive codepoints
    for cp in sorted(set(codepoints)):
        if parts and cp == parts[-1][1] + 1:
            parts[-1] = (parts[-1][0], cp)
        else:
            parts.append((cp, cp))
    return ", ".join(f"U+{a:X}" if a == b else f"U+{a:X}-{b:X}" for a, b in parts)


def font_face(texts: Iterable[str]) -> str:
    """Return a ``<style>`` embedding the bundled CJK font, subset to the CJK characters used.

    The subset holds the CJK characters of ``texts`` (the pages); the font comes first in
    every font stack of the page. Empty when the texts use no CJK character.

    Parameters
    ----------
    texts : iterable of str
        The pages (HTML) and any other text shown with them (the study title).

    Returns
    -------
    str
    """
    from fontTools import subset

    chars = sorted(c for c in _cjk_chars(texts) if ord(c) in _font_cmap())
    if not chars:
        return ""
    opts = subset.Options()
    opts.layout_features = ["*"]
    font = subset.load_font(str(cjk_font_path()), opts)
    sub = subset.Subsetter(opts)
    sub.populate(text="".join(chars))
    sub.subset(font)
    buf = io.BytesIO()
    subset.save_font(font, buf, opts)
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    first = f'"{FONT_FAMILY}"'
    sans, mono = f"{first}, {SANS}", f"{first}, {MONO}"
    return (
        '<style id="report-fonts">\n'
        f'@font-face {{ font-family: "{FONT_FAMILY}"; '
        f'src: url(data:font/otf;base64,{data}) format("opentype"); '
        f"unicode-range: {_ranges(ord(c) for c in chars)}; }}\n"
        f":root {{ --jp-content-font-family: {sans}; --jp-ui-font-family: {sans}; "
        f"--jp-code-font-family: {mono}; --jp-code-font-family-default: {mono}; }}\n"
        f"body {{ font-family: {sans}; }}\n"
        f"code, pre, kbd, samp {{ font-family: {mono}; }}\n"
        "</style>\n"
    )


def embedded_font_characters(page: str) -> set[str]:
    """Return the characters the font embedded in ``page`` (by :func:`font_face`) can draw."""
    from fontTools.ttLib import TTFont

    m = re.search(r"url\(data:font/otf;base64,([A-Za-z0-9+/=]+)\)", page)
    if not m:
        return set()
    with TTFont(io.BytesIO(base64.b64decode(m.group(1)))) as font:
        return {chr(cp) for cp in font.getBestCmap()}


_HEADER_STYLE = """<style id="report-header-style">
.report-header { padding: 12px 20px 10px; margin: 0 0 6px; border-bottom: 1px solid #d0d7de;
  color: #57606a; font-size: 13px; line-height: 1.45;
  font-family: var(--jp-content-font-family, -apple-system, BlinkMacSystemFont, "Segoe UI",
  "Helvetica Neue", Arial, sans-serif); }
.report-header .report-client { text-transform: uppercase; letter-spacing: .04em;
  font-size: 11px; }
.report-header .report-study { color: #24292f; font-size: 15px; font-weight: 600; }
.report-header .report-description { max-width: 60rem; }
</style>
"""


def page_header(study: Study) -> str:
    """Return the header on top of every report page.

    Client, study title and description from the study file (escaped); a unit report's
    title names its unit (:attr:`Study.title <analysis_helpers.study.Study.title>`).
    """
    info = study.spec.study
    parts = []
    if info.client:
        parts.append(f'<div class="report-client">{escape_html(info.client)}</div>')
    parts.append(f'<div class="report-study">{escape_html(study.title)}</div>')
    if info.description:
        parts.append(f'<div class="report-description">{escape_html(info.description)}</div>')
    return '<header class="report-header">' + "".join(parts) + "</header>\n"


def finish_page(page: str, *, study: Study | None = None, style: str = "") -> str:
    """Return a rendered page with the font ``style`` in its head and the header on top.

    The ``style`` comes from :func:`font_face`, the header is the study's
    :func:`page_header` at the top of its body.
    """
    head = style + (_HEADER_STYLE if study is not None else "")
    if head:
        page = page.replace("</head>", head + "</head>", 1)
    if study is not None:
        page = re.sub(
            r"(<body[^>]*>)", lambda m: m.group(1) + "\n" + page_header(study), page, count=1
        )
    return page
