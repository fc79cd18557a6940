"""What a pipeline notebook needs around its analyses: the study, the report folder, output.

Every notebook starts with::

    ctx = setup(study_file, report_dir, notebook="20-describe")
    study = ctx.study

then writes its tables and figures with ``ctx.save_table`` / ``ctx.save_figure`` (CSV
unrounded, text cells safe for spreadsheets) and shows them to the reader with:

``ctx.show(table, columns=..., caption=...)``
    the table as a client reads it (labels, percentages, decimals by statistic, intervals
    as "6.54-6.70", p-values as "< 0.001", significance as coloured arrows); see
    :mod:`analysis_helpers.formatting` for the kinds and defaults. For example::

        ctx.show(
            kpis,
            columns={"label": "KPI", "estimate": None, "ci": None, "n": None, "flag": None},
            caption=f"KPIs, {study.wave_label(current)}",
        )

    shows "Overall satisfaction: mean | 6.62 | 6.54-6.70 | 1,505 |" and
    "...: top-2-box | 9% | 8-11% | 1,505 |", headed "KPI | Estimate | 95% CI | Base | Note"
    (the level from ``reporting.confidence``).

``ctx.text(key, **values)``, ``ctx.say(key=..., **values)``
    a sentence in the report's language (``reporting.language``): the template of ``key``
    in the template tables of :mod:`analysis_helpers.text` (``text/en.yml``, ``zh.yml``),
    filled as below; ``ctx.say(ctx.text("summary.movers", a=..., b=..., moved=...))``.
    Pages write their sentences this way, never in code.

``ctx.say(template, **values)``
    a takeaway in Markdown. The template is the author's text - a plain string literal,
    never an f-string - and keeps its ``**bold**`` and ``*italics*``; every ``{name}`` is
    filled with an escaped value, so nothing from the data can become markup or a link::

        ctx.say(
            "**{area}** scores highest ({score:index}); the {confidence} interval is {ci}.",
            area=best["area"], score=best["estimate"], ci=fmt_ci(lo, hi, kind="index"),
        )

    Specs name a kind (``{x:share}`` -> "45%", ``{x:share.1}``, ``{x:mean}``,
    ``{x:index}``, ``{p:p}``, ``{n:base}``) or are Python's (``{n:,}``); ``{confidence}``
    is the study's level ("95%") unless given. Pieces with markup of their own are built
    with :func:`md` and passed as values.

Every ``show``, ``save_figure`` and ``say`` is also recorded in the report folder's
manifest (``deliverables/<notebook>.jsonl``), from which the runner builds the Excel
workbook and the PowerPoint deck (:mod:`analysis_helpers.deliverables`). A chart whose
tidy data are given becomes a native, editable chart in the deck::

    ctx.save_figure(fig, "kpi_trend", data=by_wave, chart={"type": "line", "x": "wave",
                    "y": "estimate", "series": "label"})

Respondent free text (the study's ``text_columns``) is redacted for e-mail addresses,
phone and ID numbers wherever it is shown; ``setup(..., redact=False)`` turns that off.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .deliverables.manifest import Chart, Recorder
from .formatting import (
    confidence_label,
    fmt_base,
    fmt_change,
    fmt_ci,
    fmt_count,
    fmt_list,
    fmt_num,
    fmt_p,
    fmt_pct,
    fmt_value,
    format_table,
    plural,
)
from .io import read_unit_file, write_report_figure, write_report_table
from .plots import apply_theme
from .safe_output import Md, escape_markdown, md, plain_text, render_markdown
from .study import Study, load_study, project_root
from .study_tables import index_notes as study_index_notes

__all__ = [
    "ReportContext",
    "setup",
    "md",
    "escape_markdown",
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
]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def _display(html: str, text: str) -> None:
    from IPython.display import display

    display({"text/html": html, "text/plain": text}, raw=True)


@dataclass
class ReportContext:
    """The study of a notebook run and the report folder it writes into.

    Attributes
    ----------
    study : Study
        The validated study file.
    report_dir : Path
        The report folder; ``tables/`` and ``figures/`` are created inside it.
    notebook : str
        The notebook's name, e.g. ``"20-describe"``; names the tables' HTML ids.
    redact : bool
        Redact e-mail addresses, phone and ID numbers in respondent free text when shown.
    """

    study: Study
    report_dir: Path
    notebook: str
    redact: bool = True
    _shown: int = field(default=0, repr=False)
    _recorder: Recorder | None = field(default=None, repr=False)

    @property
    def recorder(self) -> Recorder:
        """What this notebook shows, recorded for the deliverables.

        See :mod:`analysis_helpers.deliverables.manifest`.
        """
        if self._recorder is None:
            self._recorder = Recorder(self.report_dir, self.notebook, self.study)
        return self._recorder

    @property
    def tables_dir(self) -> Path:
        """The report's ``tables/`` folder."""
        return self.report_dir / "tables"

    @property
    def figures_dir(self) -> Path:
        """The report's ``figures/`` folder."""
        return self.report_dir / "figures"

    @property
    def language(self) -> str:
        """The report's language (``reporting.language``): ``"en"`` or ``"zh"``."""
        return self.study.language

    def text(self, key: str, /, **values: Any) -> Md:
        """Return the sentence of ``key`` in the report's language, ``values`` filled in.

        See :func:`analysis_helpers.text.text`; ``{confidence}`` is the study's level
        unless given.
        """
        from .text import placeholders, template, text

        if "confidence" in placeholders(template(key, self.language)):
            values = {"confidence": self.confidence, **values}
        return text(key, self.language, **values)

    def caption(self, key: str, /, **values: Any) -> str:
        """Return plain text of ``key`` in the report's language: a caption, a chart title.

        As :meth:`text`, but plain (captions and titles are escaped where they are shown).
        """
        from .text import template

        return template(key, self.language).format(**{"confidence": self.confidence, **values})

    @property
    def confidence(self) -> str:
        """The study's confidence level as people write it, e.g. ``"95%"``."""
        return confidence_label(self.study)

    def _target(self, folder: Path, name: str, suffix: str) -> Path:
        if not _NAME.match(name):
            raise ValueError(
                f"output name {name!r} must start with a letter or digit and use only "
                "letters, digits, '_', '-' and '.'"
            )
        folder.mkdir(parents=True, exist_ok=True)
        return folder / f"{name}{suffix}"

    def save_table(self, table: pd.DataFrame, name: str) -> Path:
        """Write a table to ``tables/<name>.csv`` and return its path.

        See :func:`io.write_report_table`: UTF-8 with BOM, unrounded, text cells safe for
        spreadsheets.
        """
        return write_report_table(table, self._target(self.tables_dir, name, ".csv"))

    def save_figure(
        self,
        figure,
        name: str,
        *,
        close: bool = False,
        data: pd.DataFrame | None = None,
        chart: Chart | dict | str | None = None,
        caption: str | None = None,
        takeaway: str | None = None,
        note: str | None = None,
    ) -> Path:
        """Save a matplotlib Figure (or the figure of an Axes) to ``figures/<name>.png``.

        The figure is also a slide of the deck: titled by ``takeaway`` (default: the next
        ``ctx.say`` of the notebook), with ``note`` and the base (from an ``n`` column of
        ``data``) in its footer.

        Parameters
        ----------
        data : DataFrame, optional
            The tidy data behind a bar, column, line or scatter chart: the deck then draws
            it as a native, editable chart instead of placing the PNG.
        chart : Chart, mapping or str, optional
            How ``data`` is drawn: ``{"type": "bar", "x": "label", "y": "estimate",
            "series": "wave"}`` (see :class:`deliverables.Chart`), or a type alone (``x``
            the first column, ``y`` the other numeric ones).
        caption, takeaway, note : str, optional
            Plain text: a caption (default: the figure's title), the slide title, a
            footnote.
        """
        fig = figure.get_figure() if hasattr(figure, "get_figure") else figure
        fig = getattr(fig, "figure", fig)
        path = write_report_figure(fig, self._target(self.figures_dir, name, ".png"))
        _show_saved_png(fig, path)
        self.recorder.figure(
            path,
            name=name,
            size=tuple(fig.get_size_inches()),
            caption=caption or _figure_title(fig),
            takeaway=takeaway,
            note=note,
            data=data,
            chart=chart,
        )
        if close:
            import matplotlib.pyplot as plt

            plt.close(fig)
        return path

    def show(
        self,
        table: pd.DataFrame,
        columns: Any = None,
        *,
        caption: str | None = None,
        labels: dict | None = None,
        kinds: dict | None = None,
        unit: str | None = None,
        note: str | None = None,
        intervals: bool = True,
        free_text: list[str] | None = None,
        max_rows: int = 60,
        html: str | None = None,
    ) -> None:
        """Show a table as a client reads it (see :func:`formatting.format_table`).

        Parameters
        ----------
        table : DataFrame
            A result table; it is not changed, and the saved CSV keeps full precision.
        columns : sequence or mapping, optional
            The columns to show in order; a mapping also gives their labels (``None``:
            the default label). ``ci`` / ``X_ci`` name merged intervals.
        caption, note : str, optional
            Plain text above / below the table.
        labels, kinds, unit, intervals, free_text
            See :func:`formatting.format_table`.
        max_rows : int
            Rows shown (the rest is in the saved table).
        html : str, optional
            A styled HTML fragment shown on the page instead of the default rendering
            (e.g. :func:`analysis_helpers.banners.banner_html`); the deliverables still get
            ``table`` with its number formats.
        """
        view = format_table(
            table,
            columns,
            labels=labels,
            kinds=kinds,
            unit=unit,
            study=self.study,
            intervals=intervals,
            free_text=free_text,
            redacted=self.redact,
            caption=caption,
            note=note,
        )
        self._shown += 1
        self.recorder.table(view)
        if html is None:
            html = view.to_html(table_id=f"{self.notebook}-{self._shown}", max_rows=max_rows)
        _display(html, view.to_text(max_rows))

    def say(
        self, template: str | Md | None = None, /, *, key: str | None = None, **values: Any
    ) -> None:
        """Show a takeaway: Markdown ``template`` with escaped ``values`` (see :func:`md`).

        ``{confidence}`` is the study's confidence level ("95%") unless given. With
        ``key`` instead of a template, the sentence is the template table's (see
        :meth:`text`).
        """
        if key is not None:
            template, values = self.text(key, **values), {}
        if template is None:
            raise TypeError("say: give a template or a key")
        if isinstance(template, Md):
            text = md(template, **values) if values else template
        else:
            text = md(template, **{"confidence": self.confidence, **values})
        html = render_markdown(text)
        # a section heading said on the page is no takeaway: the deck titles no slide by it
        heading = re.match(r"\s*<h[1-6][ >]", html) is not None
        self.recorder.say(plain_text(html), kind="heading" if heading else "say")
        _display(
            f'<div class="report-say tex2jax_ignore mathjax_ignore">{html}</div>', plain_text(html)
        )

    def not_applicable(self, template: str | Md, /, **values: Any) -> None:
        """Say in one sentence why a section does not apply, in place of the section.

        For reasons found in the data ("Only 12 respondents answered every driver; a
        regression needs at least 30."); the template and values work as in :meth:`say`.
        The sentence is shown as a note (class ``report-na``), so pages and tests can tell
        a section that was skipped from one that was shown.
        """
        if isinstance(template, Md):
            text = md(template, **values) if values else template
        else:
            text = md(template, **{"confidence": self.confidence, **values})
        html = render_markdown(text)
        self.recorder.say(plain_text(html), kind="na")
        _display(
            f'<div class="report-na tex2jax_ignore mathjax_ignore"><em>{html}</em></div>',
            plain_text(html),
        )

    def lacks(self, *parts: str) -> bool:
        """Return whether the study lacks any of ``parts``; the page then says why, once.

        Parameters
        ----------
        *parts : str
            Optional parts of a study, the keys of :data:`study.PARTS` (``"waves"``,
            ``"weights"``, ``"segments"``, ``"nps"``, ``"expectations"``, ...).

        Returns
        -------
        bool
            False when the study has every part (nothing is shown); True after showing
            the first missing part's sentence (:meth:`Study.absent`), e.g. "This study has
            one wave; comparisons over time need two or more."

        Examples
        --------
        In a notebook cell::

            if not ctx.lacks("waves"):
                ...  # the trend section
        """
        for part in parts:
            sentence = self.study.absent(part)
            if sentence is not None:
                self.not_applicable(Md(escape_markdown(sentence)))
                return True
        return False

    def index_notes(self, data: pd.DataFrame, *, unanswered: bool = True) -> None:
        """Say which items the satisfaction index leaves out, and where, if any.

        One sentence for items without a single answer (out of the index) and one per set
        of waves that were not asked some items (their index rolls up the rest); nothing
        when the index is complete. See :func:`~analysis_helpers.study_tables.index_notes`.

        Parameters
        ----------
        data : DataFrame
            The clean analysis data the page works on.
        unanswered : bool, default True
            False leaves out the sentence on items without any answer (the cleaning page
            names them in its data dictionary).
        """
        for sentence in study_index_notes(data, study=self.study, unanswered=unanswered):
            self.say(Md(escape_markdown(sentence)))


#: the attribute of a saved figure holding its PNG (base64) and its fingerprint then
_SAVED_PNG = "_analysis_helpers_saved_png"


def _fingerprint(fig: Any) -> tuple:
    """Return what would make a figure look different: its size, artists, texts and limits.

    Cheap next to drawing it (a few milliseconds): a figure changed after it was saved (an
    artist added or removed, a text or an axis limit changed, resized) has another one.
    """
    from matplotlib.text import Text

    artists = fig.findobj()
    return (
        tuple(fig.get_size_inches()),
        float(fig.dpi),
        len(artists),
        tuple(t.get_text() for t in artists if isinstance(t, Text)),
        tuple((ax.get_xlim(), ax.get_ylim(), ax.get_position().bounds) for ax in fig.axes),
    )


def _show_saved_png(fig: Any, path: Path) -> None:
    """Let the page show the PNG just saved instead of drawing the figure a second time.

    In a Jupyter kernel with the inline backend, the figure is drawn again as PNG when the
    cell ends (``plt.show()``): as costly as saving it. The saved file is the same picture
    (the theme's resolution, tight bounding box), so the kernel's PNG formatter is given the
    saved bytes, as long as the figure has not changed since (see :func:`_fingerprint`);
    otherwise, and outside a kernel, nothing changes.
    """
    import base64
    import sys

    if "IPython" not in sys.modules:
        return
    from IPython import get_ipython

    shell = get_ipython()
    formatter = getattr(getattr(shell, "display_formatter", None), "formatters", {}).get(
        "image/png"
    )
    if formatter is None:
        return
    from matplotlib.figure import Figure

    try:
        draw = formatter.lookup_by_type(Figure)
    except KeyError:
        return
    if not getattr(draw, _SAVED_PNG, False):
        keywords = getattr(draw, "keywords", {})
        # only the inline backend's plain PNG (base64 text): not retina, not another format
        if keywords.get("fmt") != "png" or not keywords.get("base64"):
            return

        def png(figure: Any, _draw: Any = draw) -> Any:
            saved = getattr(figure, _SAVED_PNG, None)
            if saved is not None and saved[1] == _fingerprint(figure):
                return saved[0]
            return _draw(figure)

        setattr(png, _SAVED_PNG, True)
        formatter.for_type(Figure, png)
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    setattr(fig, _SAVED_PNG, (data, _fingerprint(fig)))


def _figure_title(fig: Any) -> str | None:
    """Return the figure's own title: its suptitle, else the title of its only Axes."""
    sup = getattr(fig, "_suptitle", None)
    if sup is not None and sup.get_text().strip():
        return sup.get_text().strip()
    titled = [
        ax.get_title(loc).strip()
        for ax in fig.get_axes()
        for loc in ("left", "center", "right")
        if ax.get_title(loc).strip()
    ]
    return titled[0] if len(titled) == 1 else None


def setup(
    study_file: str, report_dir: str = "", *, notebook: str, redact: bool = True
) -> ReportContext:
    """Load the study, apply the chart theme and prepare the report folder.

    Parameters
    ----------
    study_file : str
        The study file, absolute or relative to the project root.
    report_dir : str
        The report folder; ``""`` means ``reports/scratch`` under the project root (for
        interactive runs and nbval, which run notebooks with their defaults).
    notebook : str
        The calling notebook's name.
    redact : bool
        Redact personal data in respondent free text shown on the page (default).

    A report folder with a ``unit.json`` (written by ``report --per SEGMENT``) is the
    report of one unit: the study's :attr:`~analysis_helpers.study.Study.unit` is set, so
    :func:`~analysis_helpers.cleaning.load_clean` returns that unit's respondents only.

    Returns
    -------
    ReportContext
    """
    root = project_root()
    path = Path(study_file)
    study: Study = load_study(path if path.is_absolute() else root / path)
    out = Path(report_dir) if report_dir else root / "reports" / "scratch"
    if not out.is_absolute():
        out = root / out
    out.mkdir(parents=True, exist_ok=True)
    unit = read_unit_file(out)  # a report of one unit (report --per SEGMENT)
    if unit is not None:
        study.set_unit(unit["segment"], unit["value"])
    apply_theme()
    return ReportContext(study=study, report_dir=out, notebook=notebook, redact=redact)
