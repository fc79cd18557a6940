"""What a pipeline notebook needs around its analyses: the study, the report folder, output.

Every notebook starts with::

    ctx = setup(study_file, report_dir, notebook="20-describe")
    study = ctx.study

and then writes its tables and figures through ``ctx.save_table`` / ``ctx.save_figure`` into
the report folder, and shows them with ``ctx.show`` / ``ctx.say``. Anything that came from
respondents or the study file is HTML-escaped when shown, so a comment such as
``<script>`` displays as text and never runs.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .study import Study, load_study, project_root

__all__ = ["ReportContext", "setup", "escape_markdown", "fmt_num", "fmt_pct"]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def escape_markdown(text: str) -> str:
    """Escape HTML special characters so text shows literally in a Markdown cell."""
    return html.escape(str(text), quote=False)


def fmt_num(x: float, digits: int = 1) -> str:
    """A number for a sentence, with thousands separators (rounding only for display)."""
    return f"{x:,.{digits}f}"


def fmt_pct(x: float, digits: int = 0) -> str:
    """A share in [0, 1] as a percentage string for a sentence."""
    return f"{100 * x:.{digits}f}%"


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
        The notebook's name, e.g. ``"20-describe"``; prefixes nothing, recorded only.
    """

    study: Study
    report_dir: Path
    notebook: str

    @property
    def tables_dir(self) -> Path:
        return self.report_dir / "tables"

    @property
    def figures_dir(self) -> Path:
        return self.report_dir / "figures"

    def _target(self, folder: Path, name: str, suffix: str) -> Path:
        if not _NAME.match(name):
            raise ValueError(
                f"output name {name!r} must start with a letter or digit and use only "
                "letters, digits, '_', '-' and '.'"
            )
        folder.mkdir(parents=True, exist_ok=True)
        return folder / f"{name}{suffix}"

    def save_table(self, table: pd.DataFrame, name: str) -> Path:
        """Write a table as UTF-8 CSV (with BOM, so Excel shows Chinese labels) to
        ``tables/<name>.csv`` and return its path. Values are written unrounded."""
        path = self._target(self.tables_dir, name, ".csv")
        table.to_csv(path, index=False, encoding="utf-8-sig")
        return path

    def save_figure(self, figure, name: str, *, close: bool = False) -> Path:
        """Save a matplotlib Figure (or the figure of an Axes) to ``figures/<name>.png``."""
        fig = figure.get_figure() if hasattr(figure, "get_figure") else figure
        fig = getattr(fig, "figure", fig)
        path = self._target(self.figures_dir, name, ".png")
        fig.savefig(path)
        if close:
            import matplotlib.pyplot as plt

            plt.close(fig)
        return path

    def show(
        self,
        table: pd.DataFrame,
        *,
        caption: str | None = None,
        digits: int = 3,
        max_rows: int = 60,
    ) -> None:
        """Display a table in the notebook, HTML-escaped, numbers shown to ``digits``.

        Only the display is rounded; saved tables keep full precision.
        """
        from IPython.display import HTML, display

        shown = table.head(max_rows)
        text = shown.to_html(
            index=False,
            escape=True,
            float_format=lambda v: f"{v:,.{digits}f}",
            na_rep="–",
            border=0,
            classes="report-table",
        )
        if caption:
            text = f"<p><b>{escape_markdown(caption)}</b></p>" + text
        if len(table) > max_rows:
            text += (
                f"<p><i>{max_rows} of {len(table):,} rows shown; the full table is saved.</i></p>"
            )
        display(HTML(text))

    def say(self, text: str) -> None:
        """Display a Markdown takeaway; ``<``, ``>`` and ``&`` are shown as text."""
        from IPython.display import Markdown, display

        display(Markdown(escape_markdown(text)))


def setup(study_file: str, report_dir: str = "", *, notebook: str) -> ReportContext:
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

    Returns
    -------
    ReportContext
    """
    from .plots import apply_theme

    root = project_root()
    path = Path(study_file)
    study: Study = load_study(path if path.is_absolute() else root / path)
    out = Path(report_dir) if report_dir else root / "reports" / "scratch"
    if not out.is_absolute():
        out = root / out
    out.mkdir(parents=True, exist_ok=True)
    apply_theme()
    return ReportContext(study=study, report_dir=out, notebook=notebook)
