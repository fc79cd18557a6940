"""``report.pptx``: the report's charts as a deck a consultant can present and edit.

- a title slide: the study's title, its client, the waves and the report date;
- the executive summary (the takeaways of a ``00-*`` summary notebook, when the report
  has one), one bullet per finding;
- one slide per chart, in the report's order: its takeaway as the slide title (the first
  sentence; the rest below it), the chart, and in the footer the base, the author's note
  and the part of the report it comes from; the full takeaway and the chart's caption are
  also in the speaker notes;
- native, editable PowerPoint charts (bar, column, line, scatter) where the notebook gave
  the tidy data behind the chart (``ctx.save_figure(..., data=..., chart=...)``); the
  PNG otherwise;
- a client template (``deliverables.pptx_template`` in the study file): its slide size,
  masters, layouts and theme are used (its own slides are dropped);
- Chinese, Japanese and Korean text: every run names an East Asian font
  (``deliverables.east_asian_font``), so PowerPoint never shows boxes.

Text is plain (python-pptx escapes it for XML): a label such as ``<script>`` or
``=HYPERLINK(...)`` is shown as typed; the deck holds no links.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..safe_output import clean_text
from ..text import template as phrase
from .manifest import _text_width

if TYPE_CHECKING:
    from ..study import Study

__all__ = ["write_deck", "split_takeaway", "DEFAULT_EAST_ASIAN_FONT"]

DEFAULT_EAST_ASIAN_FONT = "Microsoft YaHei"
#: series colours: Okabe-Ito, as the report's charts
PALETTE = ["0072B2", "E69F00", "009E73", "D55E00", "CC79A7", "56B4E9", "F0E442", "000000"]
_CJK = re.compile(
    r"[\u1100-\u11ff\u2e80-\u9fff\ua960-\ua97f\uac00-\ud7ff\uf900-\ufaff\uff00-\uffef]"
)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"“(«])|(?<=[。！？])\s*")


def split_takeaway(text: str, limit: int = 150) -> tuple[str, str]:
    """Split a takeaway into a slide title and the rest.

    The title is the first sentence, at most ``limit`` characters.

    Examples
    --------
    >>> split_takeaway("Hotline scores lowest (5.9). It fell 0.4 points since Q1 2025.")
    ('Hotline scores lowest (5.9).', 'It fell 0.4 points since Q1 2025.')
    >>> split_takeaway("满意度下降。热线最低。")
    ('满意度下降。', '热线最低。')
    """
    text = " ".join(clean_text(text).split())
    parts = [p for p in _SENTENCE_END.split(text) if p.strip()]
    if not parts:
        return "", ""
    first, rest = parts[0].strip(), " ".join(p.strip() for p in parts[1:])
    if len(first) > limit:
        cut = first.rfind(" ", 0, limit - 1)
        cut = cut if cut > limit // 2 else limit - 1
        rest = (first[cut:].strip() + " " + rest).strip()
        first = first[:cut].rstrip(" ,;:") + "…"
    return first, rest


# ---- text with an East Asian font -------------------------------------------------------
def _set_ea(rpr: Any, font: str, text: str) -> None:
    """Name the East Asian typeface of a run (``<a:ea>``, after ``<a:latin>``)."""
    from pptx.oxml.ns import qn

    ea = rpr.find(qn("a:ea"))
    if ea is None:
        ea = rpr.makeelement(qn("a:ea"), {})
        latin = rpr.find(qn("a:latin"))
        if latin is not None:
            latin.addnext(ea)
        else:
            follow = [qn(t) for t in ("a:cs", "a:sym", "a:hlinkClick", "a:hlinkMouseOver")]
            after = next((c for c in rpr if c.tag in follow), None)
            if after is not None:
                after.addprevious(ea)
            else:
                rpr.append(ea)
    ea.set("typeface", font)
    if _CJK.search(text or ""):
        rpr.set("lang", "zh-CN")
        rpr.set("altLang", "en-US")


def _text(
    frame: Any,
    paragraphs: Sequence[str],
    *,
    font: str,
    size: float | None = None,
    bold: bool = False,
    color: str | None = None,
    bullets: bool = False,
) -> None:
    from pptx.dml.color import RGBColor
    from pptx.util import Pt

    frame.clear()
    frame.word_wrap = True
    for k, para in enumerate(paragraphs):
        p = frame.paragraphs[0] if k == 0 else frame.add_paragraph()
        run = p.add_run()
        run.text = clean_text(para)
        if size:
            run.font.size = Pt(size)
        if bold:
            run.font.bold = True
        if color:
            run.font.color.rgb = RGBColor.from_string(color)
        _set_ea(run.font._rPr, font, para)
        if bullets:
            p.level = 0


def _font_of_chart(chart: Any, font: str, size: float = 12) -> None:
    from pptx.util import Pt

    chart.font.size = Pt(size)
    rpr = chart.font._rPr if hasattr(chart.font, "_rPr") else chart.font._element
    _set_ea(rpr, font, "")


# ---- chart data whose embedded workbook holds no formula or link ---------------------------
#: xlsxwriter options: every string is written as a string (python-pptx's own writer
#: would turn a category "=HYPERLINK(...)" into a formula of the chart's workbook)
SAFE_XLSX = {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}


def _safe_chart_data(kind: str, number_format: str) -> Any:
    from contextlib import contextmanager

    from pptx.chart.data import CategoryChartData, XyChartData
    from pptx.chart.xlsx import CategoryWorkbookWriter, XyWorkbookWriter
    from xlsxwriter import Workbook

    base_data, base_writer = (
        (XyChartData, XyWorkbookWriter)
        if kind == "xy"
        else (CategoryChartData, CategoryWorkbookWriter)
    )

    class Writer(base_writer):  # type: ignore[misc, valid-type]
        @contextmanager
        def _open_worksheet(self, xlsx_file: Any) -> Any:
            workbook = Workbook(xlsx_file, {"in_memory": True, **SAFE_XLSX})
            worksheet = workbook.add_worksheet()
            yield workbook, worksheet
            workbook.close()

    class Data(base_data):  # type: ignore[misc, valid-type]
        @property
        def _workbook_writer(self) -> Any:
            writer = self.__dict__.get("_safe_writer")
            if writer is None:
                writer = self.__dict__["_safe_writer"] = Writer(self)
            return writer

    return Data(number_format=number_format)


# ---- layouts ------------------------------------------------------------------------------
def _placeholder_types(layout: Any) -> set[Any]:
    return {ph.placeholder_format.type for ph in layout.placeholders}


def _find_layout(prs: Any, want: str) -> Any:
    from pptx.enum.shapes import PP_PLACEHOLDER as PH

    layouts = list(prs.slide_layouts)
    furniture = {PH.DATE, PH.FOOTER, PH.SLIDE_NUMBER}
    names = {
        "title": ("title slide",),
        "chart": ("title only",),
        "bullets": ("title and content",),
    }[want]
    for layout in layouts:
        if layout.name.strip().lower() in names:
            return layout
    for layout in layouts:
        types = _placeholder_types(layout) - furniture
        if want == "title" and PH.CENTER_TITLE in types:
            return layout
        if want == "chart" and types == {PH.TITLE}:
            return layout
        if want == "bullets" and PH.TITLE in types and types & {PH.BODY, PH.OBJECT}:
            return layout
    for layout in layouts:
        if _placeholder_types(layout) & {PH.TITLE, PH.CENTER_TITLE}:
            return layout
    return layouts[0]


def _widen(prs: Any, width: int) -> None:
    """Make python-pptx's 4:3 default deck 16:9.

    The slide and every placed shape of its master and layouts are stretched to the new
    width.
    """
    factor = width / prs.slide_width
    prs.slide_width = width
    masters = list(prs.slide_masters)
    for part in [*masters, *(lay for m in masters for lay in m.slide_layouts)]:
        for shape in part.shapes:
            xfrm = getattr(shape._element, "xfrm", None)
            if xfrm is None or shape.left is None:
                continue
            shape.left = int(shape.left * factor)
            shape.width = int(shape.width * factor)


def _drop_slides(prs: Any) -> None:
    """Remove the slides a template came with (its masters and layouts stay)."""
    ids = prs.slides._sldIdLst
    for sld in list(ids):
        prs.part.drop_rel(sld.rId)
        ids.remove(sld)


def _title_box(slide: Any) -> Any:
    from pptx.util import Inches

    if slide.shapes.title is not None:
        return slide.shapes.title
    return slide.shapes.add_textbox(Inches(0.5), Inches(0.3), Inches(9), Inches(1))


def _subtitle(slide: Any) -> Any | None:
    from pptx.enum.shapes import PP_PLACEHOLDER as PH

    for ph in slide.placeholders:
        if ph.placeholder_format.type in (PH.SUBTITLE, PH.BODY, PH.OBJECT):
            return ph
    return None


def _remove_empty_placeholders(slide: Any) -> None:
    for ph in list(slide.placeholders):
        if ph.has_text_frame and not ph.text_frame.text.strip():
            ph._element.getparent().remove(ph._element)


# ---- the deck ---------------------------------------------------------------------------
def write_deck(
    entries: Sequence[Mapping[str, Any]],
    study: Study,
    path: str | Path,
    *,
    report_dir: str | Path,
    date: str | None = None,
    titles: Mapping[str, str] | None = None,
    template: str | Path | None = None,
    east_asian_font: str = DEFAULT_EAST_ASIAN_FONT,
) -> dict[str, Any]:
    """Write ``report.pptx`` from the manifest.

    Parameters
    ----------
    entries : sequence of dict
        The manifest (:func:`manifest.read_manifest`).
    study : Study
    path : str or Path
        The deck to write.
    report_dir : str or Path
        The report folder the entries' paths are relative to.
    date : str, optional
        The report date (ISO), on the title slide.
    titles : mapping, optional
        Notebook name -> the title of its part (the footer's source line).
    template : str or Path, optional
        A client's ``.pptx`` whose masters, layouts and theme the deck uses.
    east_asian_font : str
        The East Asian typeface named in every run.

    Returns
    -------
    dict
        ``file``, ``slides`` (count), ``charts`` (native charts), ``pictures`` (PNGs
        placed), ``template`` (the template's file name or None).
    """
    from pptx import Presentation
    from pptx.util import Inches

    report_dir = Path(report_dir)
    titles = dict(titles or {})
    if template is not None:
        prs = Presentation(str(template))
        _drop_slides(prs)
    else:
        prs = Presentation()
        _widen(prs, Inches(13.333))
    font = east_asian_font
    _title_slide(prs, study, date, font)
    summary = [
        e["text"]
        for e in entries
        if e.get("type") == "say" and str(e.get("notebook", "")).startswith("00") and e["text"]
    ]
    lang = study.language
    heading = phrase("deck.summary", lang)
    continued = phrase("deck.continued", lang).format(title=heading)
    for k, part in enumerate(_summary_pages(summary, width_in=prs.slide_width / 914400 - 1.2)):
        _bullet_slide(prs, continued if k else heading, part, font)
    figures = _figures_with_takeaways(entries)
    counts = {"charts": 0, "pictures": 0}
    for fig in figures:
        kind = _figure_slide(prs, fig, report_dir, titles, font, lang)
        counts[kind] += 1
    if not figures:
        _bullet_slide(prs, phrase("deck.charts", lang), [phrase("deck.no_charts", lang)], font)
    prs.core_properties.title = clean_text(study.title)[:250]
    prs.core_properties.author = "analysis_helpers"
    prs.save(str(path))
    return {
        "file": Path(path).name,
        "slides": len(prs.slides),
        **counts,
        "template": Path(template).name if template else None,
    }


def _figures_with_takeaways(entries: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Return the figure entries, each with its takeaway.

    The takeaway is the one given to ``save_figure``, else the first ``ctx.say`` after it
    in its notebook (before the next figure), else its caption.
    """
    out: list[dict[str, Any]] = []
    for k, e in enumerate(entries):
        if e.get("type") != "figure":
            continue
        fig = dict(e)
        if not fig.get("takeaway"):
            for later in entries[k + 1 :]:
                if later.get("notebook") != e.get("notebook") or later.get("type") == "figure":
                    break
                if later.get("type") == "say" and later.get("text"):
                    fig["takeaway"] = later["text"]
                    break
        out.append(fig)
    return out


def _title_slide(prs: Any, study: Study, date: str | None, font: str) -> None:
    slide = prs.slides.add_slide(_find_layout(prs, "title"))
    _text(_title_box(slide).text_frame, [study.title], font=font)
    lines = []
    if study.client:
        lines.append(study.client)
    waves = [study.wave_label(w) for w in study.waves]
    if len(waves) == 1:
        lines.append(waves[0])
    elif waves:
        lines.append(
            phrase("deck.waves", study.language).format(
                first=waves[0], last=waves[-1], n=len(waves)
            )
        )
    if date:
        when = _long_date(date, study.language)
        lines.append(phrase("index.report_of", study.language).format(date=when))
    sub = _subtitle(slide)
    if sub is not None:
        _text(sub.text_frame, lines, font=font)
    else:
        from pptx.util import Inches

        box = slide.shapes.add_textbox(
            Inches(0.8), prs.slide_height // 2, prs.slide_width - Inches(1.6), Inches(1.5)
        )
        _text(box.text_frame, lines, font=font, size=20)
    _remove_empty_placeholders(slide)


def _long_date(date: str, lang: str = "en") -> str:
    import datetime as dt

    try:
        d = dt.date.fromisoformat(date)
    except ValueError:
        return date
    if lang != "en":
        return phrase("index.date", lang).format(day=d.day, month=d.month, year=d.year)
    return f"{d.day} {d:%B %Y}"


#: lines of 16-point text the body of a bullet slide holds
SUMMARY_LINES = 17


def _summary_pages(
    bullets: Sequence[str], *, width_in: float, lines: int = SUMMARY_LINES
) -> list[list[str]]:
    """Split the summary's findings over slides.

    Whole findings, in order, at most ``lines`` lines of 16-point text a slide (a finding
    longer than that has a slide of its own).
    """
    per_line = max(20, int(width_in * 72 / (16 * 0.55)))
    pages: list[list[str]] = []
    used = float(lines)
    for text in bullets:
        need = math.ceil(_text_width(text) / per_line) + 0.3  # the paragraph's spacing
        if used + need > lines and (not pages or pages[-1]):
            pages.append([])
            used = 0.0
        pages[-1].append(text)
        used += need
    return pages


def _bullet_slide(prs: Any, title: str, bullets: Sequence[str], font: str) -> None:
    from pptx.util import Inches

    slide = prs.slides.add_slide(_find_layout(prs, "bullets"))
    _text(_title_box(slide).text_frame, [title], font=font)
    body = _subtitle(slide)
    if body is None:
        body = slide.shapes.add_textbox(
            Inches(0.6), Inches(1.5), prs.slide_width - Inches(1.2), prs.slide_height - Inches(2.2)
        )
    long = len(bullets) > 5 or sum(len(b) for b in bullets) > 600
    _text(body.text_frame, list(bullets), font=font, size=16 if long else 18)
    _remove_empty_placeholders(slide)


def _area(prs: Any, slide: Any, title: Any) -> tuple[int, int, int, int]:
    from pptx.util import Inches

    left = title.left if title.left is not None else Inches(0.5)
    width = title.width if title.width is not None else prs.slide_width - 2 * left
    top = (title.top or 0) + (title.height or Inches(1)) + Inches(0.1)
    bottom = prs.slide_height - Inches(0.65)
    return int(left), int(top), int(width), int(max(bottom - top, Inches(1.5)))


def _figure_slide(
    prs: Any,
    fig: Mapping[str, Any],
    report_dir: Path,
    titles: Mapping[str, str],
    font: str,
    lang: str = "en",
) -> str:
    from pptx.util import Emu, Inches

    slide = prs.slides.add_slide(_find_layout(prs, "chart"))
    title = _title_box(slide)
    nb = str(fig.get("notebook", ""))
    heading, rest = split_takeaway(fig.get("takeaway") or fig.get("caption") or titles.get(nb, nb))
    size = 28 if len(heading) <= 60 else 24 if len(heading) <= 100 else 20
    _text(title.text_frame, [heading], font=font, size=size)
    left, top, width, height = _area(prs, slide, title)
    if rest:
        rest, lines = _fit_lines(rest, width_in=width / 914400, size=14, max_lines=3)
        tall = Inches(0.1 + 0.25 * lines)
        box = slide.shapes.add_textbox(left, top, width, tall)
        _text(box.text_frame, [rest], font=font, size=14, color="404040")
        top += tall + Inches(0.05)
        height -= tall + Inches(0.05)
    caption = fig.get("caption")
    if caption and caption != heading:
        box = slide.shapes.add_textbox(left, top, width, Inches(0.35))
        _text(box.text_frame, [caption], font=font, size=12, bold=True, color="404040")
        top += Inches(0.4)
        height -= Inches(0.4)
    kind = "pictures"
    chart = fig.get("chart")
    if chart:
        data = pd.read_parquet(report_dir / chart["data"])
        if _native_chart(slide, chart, data, (left, top, width, height), font):
            kind = "charts"
    if kind == "pictures":
        _picture(slide, report_dir / fig["png"], (left, top, width, height))
    foot = [x for x in (fig.get("base"), fig.get("note")) if x]
    foot.append(phrase("deck.source", lang).format(page=titles.get(nb, nb)))
    box = slide.shapes.add_textbox(
        left, prs.slide_height - Inches(0.6), width, Emu(int(Inches(0.45)))
    )
    _text(box.text_frame, [" · ".join(foot)], font=font, size=10, color="595959")
    notes = [
        fig.get("takeaway") or "",
        caption or "",
        phrase("deck.chart", lang).format(file=fig.get("png")),
    ]
    _text(
        slide.notes_slide.notes_text_frame,
        [n for n in notes if n],
        font=font,
    )
    _remove_empty_placeholders(slide)
    return kind


def _fit_lines(text: str, *, width_in: float, size: float, max_lines: int) -> tuple[str, int]:
    """Cut ``text`` to about ``max_lines`` lines of a box; return it and the lines it takes.

    The box is ``width_in`` wide at ``size`` points; the rest goes in the speaker notes.
    """
    per_line = max(20, int(width_in * 72 / (size * 0.55)))
    lines = math.ceil(_text_width(text) / per_line)
    if lines <= max_lines:
        return text, max(1, lines)
    out, used = [], 0
    for word in text.split(" "):
        w = _text_width(word) + 1
        if used + w > per_line * max_lines - 2:
            break
        out.append(word)
        used += w
    return " ".join(out).rstrip(" ,;:") + " …", max_lines


def _picture(slide: Any, png: Path, box: tuple[int, int, int, int]) -> None:
    from PIL import Image

    left, top, width, height = box
    with Image.open(png) as im:
        w, h = im.size
    scale = min(width / w, height / h)
    pw, ph = int(w * scale), int(h * scale)
    slide.shapes.add_picture(str(png), left + (width - pw) // 2, top + (height - ph) // 2, pw, ph)


def _native_chart(
    slide: Any,
    spec: Mapping[str, Any],
    data: pd.DataFrame,
    box: tuple[int, int, int, int],
    font: str,
) -> bool:
    """Draw the chart natively; False when its data cannot make one (then the PNG)."""
    from pptx.enum.chart import XL_LEGEND_POSITION

    if spec["type"] == "scatter":  # a point needs a finite x and y (a NaN x broke the deck)
        x = pd.to_numeric(data["x"], errors="coerce").to_numpy(dtype=float)
        y = pd.to_numeric(data["y"], errors="coerce").to_numpy(dtype=float)
        data = data[np.isfinite(x) & np.isfinite(y)]
    if data.empty:
        return False
    fmt = spec.get("format") or "General"
    series_names = list(dict.fromkeys(data["series"].astype(str)))
    made = _chart_data(spec, data, series_names, fmt)
    if made is None:
        return False
    chart_type, cd = made
    left, top, width, height = box
    frame = slide.shapes.add_chart(chart_type, left, top, width, height, cd)
    chart = frame.chart
    _font_of_chart(chart, font)
    multi = len(series_names) > 1
    chart.has_legend = multi
    if multi:
        chart.legend.position = XL_LEGEND_POSITION.BOTTOM
        chart.legend.include_in_layout = False
    va = chart.value_axis
    va.tick_labels.number_format = fmt
    va.tick_labels.number_format_is_linked = False
    va.has_major_gridlines = True
    if spec["type"] == "bar":
        chart.category_axis.reverse_order = True  # the first category on top, as read
    for title, axis in ((spec.get("y_title"), va), (spec.get("x_title"), chart.category_axis)):
        if title:
            axis.has_title = True
            _text(axis.axis_title.text_frame, [title], font=font, size=12)
    n_points = len(data)
    _colour_series(chart, spec["type"])
    plot = chart.plots[0]
    if spec["type"] in ("bar", "column") and n_points <= 40:
        plot.has_data_labels = True
        plot.data_labels.number_format = fmt
        plot.data_labels.number_format_is_linked = False
        if spec["type"] in ("bar", "column"):
            plot.gap_width = 60
    if spec["type"] == "scatter" and spec.get("label"):
        _label_points(plot, data, series_names, font)
    return True


def _chart_data(
    spec: Mapping[str, Any], data: pd.DataFrame, series_names: list[str], fmt: str
) -> tuple[Any, Any] | None:
    """Return the chart type and chart data of a chart; None for more than 60 categories."""
    from pptx.enum.chart import XL_CHART_TYPE

    if spec["type"] == "scatter":
        cd = _safe_chart_data("xy", fmt)
        for name in series_names:
            part = data[data["series"].astype(str) == name]
            s = cd.add_series(name or spec["y"][0])
            for x, y in zip(part["x"], part["y"], strict=True):
                s.add_data_point(float(x), float(y))
        return XL_CHART_TYPE.XY_SCATTER, cd
    cats = list(dict.fromkeys(data["x"].astype(str)))
    if len(cats) > 60:
        return None
    cd = _safe_chart_data("category", fmt)
    cd.categories = cats
    for name in series_names:
        part = data[data["series"].astype(str) == name].drop_duplicates("x")
        values = dict(zip(part["x"].astype(str), part["y"], strict=True))
        cd.add_series(
            name or (spec["y"][0] if spec["y"] else ""),
            [_num(values.get(c)) for c in cats],
        )
    chart_type = {
        "bar": XL_CHART_TYPE.BAR_CLUSTERED,
        "column": XL_CHART_TYPE.COLUMN_CLUSTERED,
        "line": XL_CHART_TYPE.LINE_MARKERS,
    }[spec["type"]]
    return chart_type, cd


def _colour_series(chart: Any, kind: str) -> None:
    """Colour each series from the palette: filled bars, or lines with round markers."""
    from pptx.dml.color import RGBColor
    from pptx.enum.chart import XL_MARKER_STYLE

    for k, series in enumerate(chart.plots[0].series):
        color = RGBColor.from_string(PALETTE[k % len(PALETTE)])
        if kind in ("bar", "column"):
            series.format.fill.solid()
            series.format.fill.fore_color.rgb = color
        else:
            series.format.line.color.rgb = color
            series.marker.style = XL_MARKER_STYLE.CIRCLE
            series.marker.format.fill.solid()
            series.marker.format.fill.fore_color.rgb = color
            if kind == "scatter":
                series.format.line.fill.background()  # points only


def _label_points(plot: Any, data: pd.DataFrame, series_names: list[str], font: str) -> None:
    """Write each scatter point's ``label`` next to it (empty labels are left out)."""
    for k, name in enumerate(series_names):
        part = data[data["series"].astype(str) == name]
        series = plot.series[k]
        for i, label in enumerate(part["label"]):
            if label:
                tf = series.points[i].data_label.text_frame
                _text(tf, [str(label)], font=font, size=9)


def _num(v: Any) -> float | None:
    if v is None:
        return None
    v = float(v)
    return v if math.isfinite(v) else None
