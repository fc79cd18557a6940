"""Checks that a report reads right: degenerate sentences and overlapping chart text.

:func:`sentence_problems` scans the text of report pages (HTML pages or executed
notebooks) for takeaways whose numbers mean nothing - a change "from 16.1% to 16.1%",
"1 waves", "0 of 0", a "shortfall" with a positive gap, ``nan``, ``None``, ``inf``,
``NaT``, ``[]``, template braces left unfilled - and returns each offending sentence with
its page. The study-shape tests run it over every page of every report they make.

:func:`text_overlaps` returns the pairs of text elements (tick labels, titles, axis
labels, legend entries, annotations, point labels) whose boxes overlap in a drawn
matplotlib figure, for tests of the form "no text bounding boxes overlap".

Examples
--------
>>> sentence_problems("<p>250 respondents over 1 waves.</p>", page="30-trend")
       page                        sentence                           problem
0  30-trend  250 respondents over 1 waves.  "1 waves": the number 1 with a plural noun
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from .safe_output import plain_text

__all__ = ["sentence_problems", "page_sentences", "text_overlaps", "SENTENCE_COLUMNS"]

SENTENCE_COLUMNS = ["page", "sentence", "problem"]

_NUM = r"[-+−]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?\s?%?"
_FROM_TO = re.compile(
    r"\b(?P<w1>from|between)\s+(?P<a>[^;:]{1,60}?)\s+(?P<w2>to|and)\s+(?P<b>[^;:]{1,60})",
    re.IGNORECASE,
)
#: a number that leads a value: "2024年第二季度" (a wave label) does not start with one
_LEAD_NUM = re.compile(rf"^\s*(?P<n>{_NUM})(?!\w)")
_ONE_PLURAL = re.compile(r"(?<![\d.,])(?<!\d\s)\b1\s+(?P<noun>[A-Za-z][a-z-]*s)\b(?![.,]\d)")
#: a capitalised word just before the "1": a name or label ("Topic 1", "Store 1")
_LABEL_BEFORE = re.compile(r"(?:^|[\s(*\"“])(?P<w>[A-Z][A-Za-z-]*)\s+$")
#: capitalised words that open a sentence before a count ("Only 1 waves ...")
_OPENERS = {
    "only", "over", "with", "in", "for", "after", "from", "all", "just", "about", "of",
    "and", "but", "across", "among", "on", "at", "by", "to", "since", "every", "the",
    "then", "so", "yet", "now", "here", "there", "these", "those", "while", "when", "as",
    "if", "or", "a", "still", "also", "again", "until", "within", "per", "than", "had",
    "has", "have", "are", "were", "is", "was", "got", "gets", "gave", "takes", "took",
}  # fmt: skip
#: words ending in s that are singular (or not nouns) after "1"
_NOT_PLURAL = {
    "is",
    "was",
    "has",
    "does",
    "its",
    "this",
    "thus",
    "plus",
    "minus",
    "less",
    "across",
    "versus",
    "vs",
    "as",
    "us",
    "yes",
    "always",
    "perhaps",
    "news",
    "series",
    "species",
    "means",
    "percentage-points",
}
_ZERO_OF_ZERO = re.compile(
    r"\b0\s+(?:\w+\s+){0,2}(?:of|out of)\s+(?:the\s+)?0\b|\b[Oo]f\s+0\s+[a-z][\w-]*|\b[Aa]ll\s+0\b"
)
_LEAKS = [
    (re.compile(r"(?<![\w.])(?:nan|NaN|NAN)(?!\w|\.\d)"), "'nan': a missing number printed"),
    (re.compile(r"<NA>|\bNaT\b"), "a missing value printed (<NA> / NaT)"),
    (re.compile(r"\bNone\b"), "'None' printed"),
    (re.compile(r"(?<![\w.])-?(?:inf|Infinity)(?!\w|\.\d)"), "'inf': an infinite number printed"),
    (re.compile(r"\[\s*\]|\{\s*\}|\(\s*\)"), "an empty list or brackets printed"),
    (
        re.compile(r"\{[A-Za-z_][A-Za-z0-9_]*(?:[!:][^{}]*)?\}|%\([a-z_]+\)[sd]|(?<!%)%[sd]\b"),
        "an unfilled template placeholder",
    ),
    (re.compile(r"\w\(s\)"), "'(s)' instead of a count-aware plural"),
    (
        re.compile(r"<(?:Figure|Axes|matplotlib[\w.]*)\b[^>]*>|\bText\(\d"),
        "a Python object's representation printed",
    ),
]
_SHORTFALL = re.compile(r"\bshortfall\b", re.IGNORECASE)
_SURPLUS = re.compile(r"\bsurplus\b", re.IGNORECASE)
_GAP_OF = re.compile(rf"\bgap of\s+(?P<g>{_NUM})", re.IGNORECASE)
_EXPECT_RATE = re.compile(
    rf"\bexpect\w*\s+(?P<e>{_NUM})\s+and\s+rate\w*\s+(?:it\s+|them\s+)?(?P<r>{_NUM})",
    re.IGNORECASE,
)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9*\"“(\u4e00-\u9fff])")


def _number(text: str) -> float | None:
    t = text.replace(",", "").replace("%", "").replace("−", "-").strip()
    try:
        return float(t)
    except ValueError:
        return None


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("−", "-")).strip(" .,").lower()


def _one_plural(sentence: str) -> list[str]:
    """Return the problems "the number 1 with a plural noun" of one sentence."""
    found = []
    for m in _ONE_PLURAL.finditer(sentence):
        noun = m.group("noun").lower()
        if noun in _NOT_PLURAL or noun.endswith(("ss", "us", "is", "ous")) or len(noun) < 3:
            continue
        before = _LABEL_BEFORE.search(sentence[: m.start()])
        if before and before.group("w").lower() not in _OPENERS:
            continue  # a label's number ("Topic 1 scores highest", "Store 1 leads"), no count
        found.append(f'"1 {m.group("noun")}": the number 1 with a plural noun')
    return found


def _check(sentence: str) -> list[str]:
    found = []
    for m in _FROM_TO.finditer(sentence):
        a, b = m.group("a"), m.group("b")
        na, nb = _LEAD_NUM.match(a), _LEAD_NUM.match(b)
        if na and nb:
            same = _norm(na.group("n")) == _norm(nb.group("n"))
        elif na or nb:
            same = False
        else:
            words = _norm(a).split()
            same = bool(words) and _norm(b).split()[: len(words)] == words
        if same:
            found.append(f'"{m.group(0).strip()}": a change from a value to the same value')
    found += _one_plural(sentence)
    for m in _ZERO_OF_ZERO.finditer(sentence):
        found.append(f'"{m.group(0)}": a count of nothing')
    if _SHORTFALL.search(sentence) or _SURPLUS.search(sentence):
        shortfall = bool(_SHORTFALL.search(sentence))
        for m in _GAP_OF.finditer(sentence):
            g = _number(m.group("g"))
            if g is not None and ((shortfall and g > 0) or (not shortfall and g < 0)):
                found.append(
                    f'"gap of {m.group("g").strip()}": a '
                    + (
                        "shortfall with a positive gap"
                        if shortfall
                        else "surplus with a negative gap"
                    )
                )
        for m in _EXPECT_RATE.finditer(sentence):
            e, r = _number(m.group("e")), _number(m.group("r"))
            if (
                e is not None
                and r is not None
                and ((shortfall and r > e) or (not shortfall and r < e))
            ):
                found.append(
                    f'"expect {m.group("e").strip()} and rate {m.group("r").strip()}": a '
                    + (
                        "shortfall where the rating exceeds the expectation"
                        if shortfall
                        else "surplus where the rating is below the expectation"
                    )
                )
    for pattern, what in _LEAKS:
        for m in pattern.finditer(sentence):
            found.append(f'"{m.group(0)}": {what}')
    return found


def _sentences(text: str) -> list[str]:
    out: list[str] = []
    for block in text.split("\n"):
        for cell in block.split("\t"):
            cell = cell.strip()
            if cell:
                out.extend(s.strip() for s in _SENTENCE_END.split(cell) if s.strip())
    return out


def _html_text(page: str) -> str:
    # code (file names, parameters) is not prose: drop it before reading the text
    page = re.sub(r"<(code|pre)\b[^>]*>.*?</\1>", " ", page, flags=re.DOTALL | re.IGNORECASE)
    return plain_text(page)


def _notebook_text(nb: dict) -> str:
    parts = []
    for cell in nb.get("cells", []):
        src = cell.get("source", "")
        src = "".join(src) if isinstance(src, list) else src
        if cell.get("cell_type") == "markdown":
            parts.append(_html_text(re.sub(r"`[^`]*`", " ", src)))
            continue
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if "text/html" in data:
                h = data["text/html"]
                parts.append(_html_text("".join(h) if isinstance(h, list) else h))
            elif "text/markdown" in data:
                m = data["text/markdown"]
                parts.append(
                    _html_text(re.sub(r"`[^`]*`", " ", "".join(m) if isinstance(m, list) else m))
                )
            elif out.get("output_type") == "stream" and out.get("name") == "stdout":
                t = out.get("text", "")
                parts.append("".join(t) if isinstance(t, list) else t)
    return "\n".join(parts)


def page_sentences(page: str | Path) -> list[str]:
    """Return the sentences (and table cells) a reader sees on a page; code is skipped.

    The page is an HTML page (path or text) or an executed notebook (``.ipynb`` path).
    """
    if isinstance(page, Path) or (
        isinstance(page, str) and "<" not in page and page.endswith((".html", ".ipynb"))
    ):
        path = Path(page)
        raw = path.read_text(encoding="utf-8")
        text = _notebook_text(json.loads(raw)) if path.suffix == ".ipynb" else _html_text(raw)
    else:
        text = _html_text(str(page))
    return _sentences(text)


def sentence_problems(pages: Any, *, page: str | None = None) -> pd.DataFrame:
    """Degenerate takeaways on report pages.

    Parameters
    ----------
    pages : str, Path or iterable of them
        HTML text, paths of HTML pages or executed notebooks, or a report folder (every
        ``*.html`` in it).
    page : str, optional
        The page name for HTML given as text (default ``"<text>"``).

    Returns
    -------
    DataFrame
        One row per problem: ``page`` (file name), ``sentence``, ``problem`` (what is wrong,
        quoting the words). Empty when every sentence is sound.
    """
    if isinstance(pages, (str, Path)):
        p = Path(pages) if not (isinstance(pages, str) and "<" in pages) else None
        if p is not None and p.is_dir():
            items: Iterable[Any] = sorted(p.glob("*.html"))
        else:
            items = [pages]
    else:
        items = pages
    rows = []
    for item in items:
        is_path = isinstance(item, Path) or (isinstance(item, str) and "<" not in item)
        name = Path(item).name if is_path else (page or "<text>")
        for s in page_sentences(Path(item) if is_path else item):
            for problem in _check(s):
                rows.append({"page": name, "sentence": s, "problem": problem})
    return pd.DataFrame(rows, columns=SENTENCE_COLUMNS).drop_duplicates(ignore_index=True)


# ---- chart text --------------------------------------------------------------------------
def _text_role(t: Any, fig: Any) -> str:
    from matplotlib.text import Annotation

    for ax in fig.axes:
        if t in (ax.title, getattr(ax, "_left_title", None), getattr(ax, "_right_title", None)):
            return "title"
        if t is ax.xaxis.label or t is ax.yaxis.label:
            return "axis label"
        if t in ax.get_xticklabels(which="both") or t in ax.get_yticklabels(which="both"):
            return "tick label"
        if t is ax.xaxis.get_offset_text() or t is ax.yaxis.get_offset_text():
            return "offset text"
        leg = ax.get_legend()
        if leg is not None and (t in leg.get_texts() or t is leg.get_title()):
            return "legend"
    if getattr(fig, "_suptitle", None) is t:
        return "suptitle"
    for leg in getattr(fig, "legends", []):
        if t in leg.get_texts() or t is leg.get_title():
            return "legend"
    if isinstance(t, Annotation):
        return "annotation"
    return "text"


def _corners(t: Any, renderer: Any, box: Any) -> list[tuple[float, float]]:
    """Return the four corners of a text's own (rotated) rectangle in display pixels.

    Its unrotated box is turned by the text's angle and placed so that its envelope is the
    drawn box (``box``), whatever the rotation mode.
    """
    import math

    angle = t.get_rotation() % 360
    if angle % 90 == 0:
        return [(box.x0, box.y0), (box.x1, box.y0), (box.x1, box.y1), (box.x0, box.y1)]
    t.set_rotation(0)
    try:
        flat = t.get_window_extent(renderer)
    finally:
        t.set_rotation(angle)
    a = math.radians(angle)
    ca, sa = math.cos(a), math.sin(a)
    pts = [
        (x * ca - y * sa, x * sa + y * ca)
        for x, y in [(0, 0), (flat.width, 0), (flat.width, flat.height), (0, flat.height)]
    ]
    dx = box.x0 - min(p[0] for p in pts)
    dy = box.y0 - min(p[1] for p in pts)
    return [(x + dx, y + dy) for x, y in pts]


def _inset(poly: list[tuple[float, float]], d: float) -> list[tuple[float, float]]:
    """Return a rectangle (4 corners in order) shrunk by ``d`` pixels on every side."""
    import math

    (x0, y0), (x1, y1), _, (x3, y3) = poly
    ux, uy = x1 - x0, y1 - y0
    vx, vy = x3 - x0, y3 - y0
    lu, lv = math.hypot(ux, uy), math.hypot(vx, vy)
    if lu <= 2 * d or lv <= 2 * d:
        return []
    ux, uy, vx, vy = ux / lu, uy / lu, vx / lv, vy / lv
    ox, oy = x0 + d * (ux + vx), y0 + d * (uy + vy)
    wu, wv = lu - 2 * d, lv - 2 * d
    return [
        (ox, oy),
        (ox + wu * ux, oy + wu * uy),
        (ox + wu * ux + wv * vx, oy + wu * uy + wv * vy),
        (ox + wv * vx, oy + wv * vy),
    ]


def _area(poly: list[tuple[float, float]]) -> float:
    return (
        abs(
            sum(
                x0 * y1 - x1 * y0
                for (x0, y0), (x1, y1) in zip(poly, poly[1:] + poly[:1], strict=True)
            )
        )
        / 2
    )


def _clip(subject: list[tuple[float, float]], clip: list[tuple[float, float]]) -> list:
    """Sutherland-Hodgman: the part of convex polygon ``subject`` inside convex ``clip``."""

    def side(p, a, b) -> float:
        return (b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0])

    orient = (
        1.0
        if sum(
            side(clip[(i + 2) % len(clip)], clip[i], clip[(i + 1) % len(clip)])
            for i in range(len(clip))
        )
        > 0
        else -1.0
    )
    out = subject
    for i in range(len(clip)):
        a, b = clip[i], clip[(i + 1) % len(clip)]
        inp, out = out, []
        if not inp:
            break
        for k in range(len(inp)):
            p, q = inp[k], inp[(k + 1) % len(inp)]
            pin, qin = orient * side(p, a, b) >= 0, orient * side(q, a, b) >= 0
            if pin:
                out.append(p)
            if pin != qin:
                sp, sq = side(p, a, b), side(q, a, b)
                t = sp / (sp - sq)
                out.append((p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1])))
    return out


def text_overlaps(figure: Any, *, tolerance: float = 1.0) -> pd.DataFrame:
    """Pairs of drawn text elements whose boxes overlap.

    The figure is drawn once (as when saved), recording every text element that is
    actually drawn - tick labels inside the view, titles, axis labels, legend entries,
    annotations and point labels - with its own box in display pixels (turned with the
    text, so rotated tick labels are compared as drawn, not by their upright envelope).

    Parameters
    ----------
    figure : Figure or Axes
        A matplotlib figure (or an Axes of it).
    tolerance : float
        Pixels each box is shrunk by on every side before comparing, so boxes that only
        touch (anti-aliased edges, tight line spacing) do not count.

    Returns
    -------
    DataFrame
        One row per overlapping pair: ``text_a``, ``role_a``, ``text_b``, ``role_b``
        (``"title"``, ``"axis label"``, ``"tick label"``, ``"legend"``, ``"annotation"``,
        ``"text"``, ...), ``overlap_px`` (area of the intersection in square pixels);
        empty when no text overlaps.
    """
    from unittest import mock

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.text import Text

    fig = figure.get_figure() if hasattr(figure, "get_figure") else figure
    fig = getattr(fig, "figure", fig)
    drawn: list[tuple[Any, Any]] = []
    original = Text.draw

    def record(self, renderer):  # noqa: ANN001
        original(self, renderer)
        if self.get_visible() and self.get_text().strip() and self.get_alpha() != 0:
            drawn.append((self, renderer))

    old_canvas = fig.canvas
    canvas = old_canvas if isinstance(old_canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    try:
        with mock.patch.object(Text, "draw", record):
            renderer = canvas.get_renderer()
            fig.draw(renderer)
        boxes = []
        seen: set[int] = set()
        for t, r in drawn:  # a text drawn twice (e.g. by an Annotation) counts once
            if id(t) in seen:
                continue
            seen.add(id(t))
            box = t.get_window_extent(r)
            if box.width > 0 and box.height > 0:
                boxes.append((t, _inset(_corners(t, r, box), tolerance)))
        roles = {id(t): _text_role(t, fig) for t, _ in boxes}
    finally:
        if canvas is not old_canvas:
            fig.set_canvas(old_canvas)
    rows = []
    for i in range(len(boxes)):
        ti, pi = boxes[i]
        for j in range(i + 1, len(boxes)):
            tj, pj = boxes[j]
            if not pi or not pj:
                continue
            inter = _clip(pi, pj)
            area = _area(inter) if len(inter) >= 3 else 0.0
            if area > 0:
                rows.append(
                    {
                        "text_a": ti.get_text(),
                        "role_a": roles[id(ti)],
                        "text_b": tj.get_text(),
                        "role_b": roles[id(tj)],
                        "overlap_px": round(area, 1),
                    }
                )
    return pd.DataFrame(rows, columns=["text_a", "role_a", "text_b", "role_b", "overlap_px"])
