"""The pages of the reports by unit (``report --per SEGMENT``), private to the runner.

- ``reports/<study>/by-<segment>/<date>/index.html``: the units of the segment, each with
  its base, its KPIs against the total (marked where significantly different from the rest
  of the sample) and a link to its report, or the one sentence saying why it has none;
- ``reports/<study>/by-<segment>/index.html``: the runs by unit, newest first.

Everything from the study file or the data is HTML-escaped; links are built from the
runner's own (safe) folder names, percent-encoded.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ._runpages import _header, _long_date, _page, dated_reports, esc, href, read_json

__all__ = ["units_index_html", "units_runs_html", "unit_runs_links"]


def units_index_html(
    info: Mapping[str, Any],
    date: str,
    *,
    segment_title: str,
    table: Sequence[Mapping[str, Any]],
    kpis: Sequence[str],
    footnote: str,
) -> str:
    """Return the index of the units of one run.

    ``table`` holds the rows of :func:`analysis_helpers.units.index_table` (the total
    first), ``kpis`` its KPI columns (labels; the cells are formatted text).
    """
    head = "".join(f'<th class="num">{esc(k)}</th>' for k in kpis)
    rows = []
    notes = []
    for r in table:
        name = esc(r["value_label"])
        if r.get("report") and r.get("folder"):
            name = f'<a href="{href(str(r["folder"]), "index.html")}">{name}</a>'
        elif r.get("value") != "":
            name = f"{name}*"
        cells = "".join(f'<td class="num">{esc(r.get(k, ""))}</td>' for k in kpis)
        strong = ' style="font-weight:600"' if r.get("value") == "" else ""
        rows.append(f'<tr{strong}><td>{name}</td><td class="num">{int(r["n"]):,}</td>{cells}</tr>')
        if r.get("note"):
            notes.append(f"<li>{esc(r['note'])}</li>")
    body = (
        f"<h2>Reports by {esc(segment_title)}</h2>\n"
        "<p>Each unit's report has every part of the report on that unit's respondents "
        "only, and its summary compares the unit with the total. Click a unit to open its "
        "report.</p>\n"
        f'<table><thead><tr><th>{esc(segment_title)}</th><th class="num">Base</th>{head}'
        f"</tr></thead>\n<tbody>\n" + "\n".join(rows) + "\n</tbody></table>\n"
        f'<p class="secondary">{esc(footnote)}</p>\n'
    )
    if notes:
        body += "<h2>Units without a report</h2>\n<ul>\n" + "\n".join(notes) + "\n</ul>\n"
        body += '<p class="secondary">* no report of its own (see above).</p>\n'
    body += (
        '<footer><p>The comparison, unrounded: <a href="units.csv">units.csv</a>; how the '
        'reports were produced: <a href="run.json">run.json</a>.</p></footer>\n'
    )
    return _page(
        f"{info['title']} – by {segment_title}, {_long_date(date)}",
        _header(info, f"Reports by {segment_title} of {_long_date(date)}") + body,
    )


def units_runs_html(info: Mapping[str, Any], by_dir: Path) -> str:
    """Return the page of a segment's runs by unit, newest first."""
    rows = []
    for date in dated_reports(by_dir):
        record = read_json(by_dir / date / "run.json") or {}
        units = record.get("units", [])
        done = sum(1 for u in units if u.get("status") == "ok")
        rows.append(
            f'<tr><td><a href="{href(date, "index.html")}">{esc(_long_date(date))}</a></td>'
            f'<td class="num">{done}</td><td class="num">{len(units)}</td></tr>'
        )
    title = str(info.get("segment_title") or info.get("segment") or "unit")
    body = (
        '<table><thead><tr><th>Run</th><th class="num">Reports</th>'
        '<th class="num">Units</th></tr></thead>\n<tbody>\n'
        + "\n".join(rows)
        + "\n</tbody></table>\n"
        if rows
        else "<p>No complete run yet.</p>\n"
    )
    return _page(
        f"{info['title']} – reports by {title}",
        _header(info)
        + f"<h2>Reports by {esc(title)}</h2>\n"
        + body
        + '<p class="secondary"><a href="../index.html">All reports of the study</a></p>\n',
    )


def unit_runs_links(study_dir: Path) -> str:
    """Return the study page's list of its reports by unit (``by-*`` folders), or ""."""
    items = []
    try:
        folders = sorted(p for p in study_dir.iterdir() if p.name.startswith("by-"))
    except OSError:
        return ""
    for p in folders:
        info = read_json(p / ".study.json")
        dates = dated_reports(p)
        if not info or not dates or not p.is_dir() or p.is_symlink():
            continue
        title = str(info.get("segment_title") or info.get("segment") or p.name)
        items.append(
            f'<li><a href="{href(p.name, "index.html")}">By {esc(title)}</a>: latest '
            f'<a href="{href(p.name, dates[0], "index.html")}">{esc(_long_date(dates[0]))}</a>'
            "</li>"
        )
    if not items:
        return ""
    return "<h2>Reports by unit</h2>\n<ul>\n" + "\n".join(items) + "\n</ul>\n"
