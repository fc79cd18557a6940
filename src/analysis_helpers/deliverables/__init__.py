"""What a consultant hands over: ``report.xlsx`` and ``report.pptx``.

Both are built from what the notebooks showed.

Every ``ctx.show`` / ``ctx.save_figure`` / ``ctx.say`` of a notebook records an entry in
the report folder's manifest (:mod:`.manifest`); once every notebook has succeeded, the
runner calls :func:`build_deliverables`, which writes

- ``report.xlsx`` (:mod:`.workbook`): a contents sheet and every shown table on a sheet
  of its own, unrounded, with number formats, frozen headers and footnotes;
- ``report.pptx`` (:mod:`.deck`): a title slide, the executive summary when there is
  one, and one slide per chart with its takeaway as the title - a native, editable chart
  where the notebook gave the chart's data (``ctx.save_figure(fig, name, data=...,
  chart="bar")``), the PNG otherwise.

Both go through the safe-output layer: respondent text redacted, every text written as
text (no formulas, no links). A report that shows nothing still gets both files.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .manifest import CHART_TYPES, FOLDER, Chart, Recorder, excel_format, read_manifest

if TYPE_CHECKING:
    from ..study import Study

__all__ = [
    "WORKBOOK",
    "DECK",
    "FOLDER",
    "CHART_TYPES",
    "Chart",
    "Recorder",
    "build_deliverables",
    "excel_format",
    "read_manifest",
    "template_path",
]

WORKBOOK = "report.xlsx"
DECK = "report.pptx"


def template_path(study: Study) -> Path | None:
    """Return the study's PowerPoint template (``deliverables.pptx_template``), checked.

    Raises
    ------
    FileNotFoundError
        The template named in the study file does not exist.
    """
    spec = getattr(study.spec, "deliverables", None)
    name = getattr(spec, "pptx_template", None)
    if not name:
        return None
    path = study.resolve(name)
    if not path.is_file():
        raise FileNotFoundError(
            f"deliverables.pptx_template: file not found: {name} (relative to the project "
            f"root {study.root})"
        )
    return path


def build_deliverables(
    report_dir: str | Path,
    study: Study,
    *,
    date: str | None = None,
    titles: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Write ``report.xlsx`` and ``report.pptx`` into a report folder from its manifest.

    Parameters
    ----------
    report_dir : str or Path
        The report folder (the notebooks have run into it).
    study : Study
    date : str, optional
        The report date (ISO), on the contents sheet and the title slide.
    titles : mapping, optional
        Notebook name -> the title of its part.

    Returns
    -------
    dict
        ``files``: one dict per file (``file``, ``bytes`` and what it holds: ``sheets`` /
        ``tables`` for the workbook, ``slides``, ``charts``, ``pictures``, ``template`` for
        the deck), ``entries`` (manifest entries read) and ``seconds``.
    """
    # imported here, not at the top: every notebook imports the manifest through this
    # package, and python-pptx with openpyxl would add half a second to each kernel
    from .deck import write_deck
    from .workbook import write_workbook

    start = time.perf_counter()
    report_dir = Path(report_dir)
    entries = read_manifest(report_dir)
    spec = getattr(study.spec, "deliverables", None)
    font = getattr(spec, "east_asian_font", None)
    book = write_workbook(
        entries, study, report_dir / WORKBOOK, report_dir=report_dir, date=date, titles=titles
    )
    deck_kw: dict[str, Any] = {"east_asian_font": font} if font else {}
    deck = write_deck(
        entries,
        study,
        report_dir / DECK,
        report_dir=report_dir,
        date=date,
        titles=titles,
        template=template_path(study),
        **deck_kw,
    )
    files = []
    for info in (book, deck):
        info = dict(info)
        info["bytes"] = (report_dir / info["file"]).stat().st_size
        files.append(info)
    return {
        "files": files,
        "entries": len(entries),
        "seconds": round(time.perf_counter() - start, 3),
    }
