"""The runner's index pages: what a client reads first (private to the runner).

- ``reports/<study>/<date>/index.html``: the study's title, client and description, and
  each part of the report with its one-line question;
- ``run.html`` beside it: how the report was made (times, code version, parameters, input
  hashes, packages) - kept off the client page;
- ``reports/<study>/index.html``: the study's reports, newest first;
- ``reports/index.html``: the studies, each with its latest report.

Everything that comes from the study file or a notebook is HTML-escaped; links are built
from the runner's own folder and file names, percent-encoded.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import html
import json
import re
import urllib.parse
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "DATE_RE",
    "dated_reports",
    "esc",
    "href",
    "question",
    "read_json",
    "report_index_html",
    "reports_index_html",
    "run_html",
    "study_index_html",
]

DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
#: the font stack of pages.SANS (not imported: pages imports pandas, and every worker
#: process imports this module); pages.font_face puts the embedded CJK font before it
_SANS = '-apple-system, BlinkMacSystemFont, "Segoe UI", "Helvetica Neue", Arial, sans-serif'

_QUESTION_WORDS = {
    "what",
    "who",
    "how",
    "which",
    "where",
    "why",
    "when",
    "do",
    "does",
    "did",
    "is",
    "are",
    "can",
}


def _plain(markdown: str) -> str:
    """Markdown inline text as plain text (links, emphasis and code marks dropped)."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", markdown)
    text = re.sub(r"[*_`]+", "", text)
    return " ".join(text.split())


def _part(title: str) -> str:
    """Return a part's short name: its heading before the colon ("Trend: how ...?" -> "Trend")."""
    return re.split(r"[:：]", title, maxsplit=1)[0].strip() or title


def question(nb: Any, title: str) -> str:
    """Return a part's one-line question.

    The heading after the colon when it asks one ("Trend: how have the KPIs moved?"), else
    the first sentence of the ``**Question.**`` paragraph ("" when the notebook has
    neither).
    """
    parts = re.split(r"[:：]", title, maxsplit=1)
    subtitle = _plain(parts[1] if len(parts) > 1 else "")
    if subtitle and (
        subtitle.endswith(("?", "？")) or subtitle.split()[0].lower().strip(",") in _QUESTION_WORDS
    ):
        return subtitle[0].upper() + subtitle[1:]
    for cell in nb.cells[:4]:
        if cell.cell_type != "markdown":
            continue
        for para in re.split(r"\n\s*\n", cell.source):
            m = re.match(
                r"\s*\*\*(?:Question|问题)[.:。：]?\*\*[.:]?\s*(.+)", para, flags=re.DOTALL
            )
            if m:
                text = _plain(m.group(1))
                first = re.match(r"(.+?[?!？！。]|.+?\.)(\s|$)", text)
                return first.group(1) if first else text
    return ""


def esc(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def href(*parts: str) -> str:
    return esc("/".join(urllib.parse.quote(p) for p in parts))


def _long_date(date: str, language: str = "en") -> str:
    from .text import template

    d = dt.date.fromisoformat(date)
    month = f"{d:%B}" if language == "en" else d.month
    return template("index.date", language).format(day=d.day, month=month, year=d.year)


def _say(key: str, language: str, **values: Any) -> str:
    """Return the table's sentence of ``key`` as HTML (its Markdown links as links)."""
    from .safe_output import render_markdown
    from .text import text

    html_text = render_markdown(text(key, language, **values)).strip()
    return re.sub(r"^<p>(.*)</p>$", r"\1", html_text, flags=re.DOTALL)


def _paragraphs(text: str | None) -> str:
    if not text:
        return ""
    paras = [" ".join(p.split()) for p in re.split(r"\n\s*\n", text) if p.strip()]
    return "".join(f'<p class="description">{esc(p)}</p>\n' for p in paras)


_CSS = f"""
body {{ font-family: {_SANS}; margin: 2.5rem auto; max-width: 52rem; padding: 0 1rem;
       color: #222; line-height: 1.45; }}
header {{ border-bottom: 2px solid #0072B2; margin-bottom: 1.5rem; padding-bottom: .8rem; }}
.client {{ color: #555; text-transform: uppercase; letter-spacing: .06em; font-size: .85rem;
          margin: 0; }}
h1 {{ margin: .2rem 0 .4rem; }}
.date {{ color: #555; margin: 0 0 .6rem; }}
.parts {{ padding-left: 1.4rem; }}
.parts li {{ margin: .7rem 0; }}
.parts a {{ font-weight: 600; font-size: 1.08rem; }}
.question {{ display: block; color: #444; }}
a {{ color: #0072B2; }}
table {{ border-collapse: collapse; width: 100%; margin: .5rem 0 1.2rem; }}
td, th {{ border-bottom: 1px solid #ddd; padding: .35rem .6rem; text-align: left;
         vertical-align: top; }}
td.num, th.num {{ text-align: right; font-variant-numeric: tabular-nums; }}
code {{ font-size: .9em; word-break: break-all; }}
footer, .secondary {{ color: #666; font-size: .9rem; margin-top: 2rem;
                    border-top: 1px solid #ddd; padding-top: .8rem; }}
"""


def _page(title: str, body: str, lang: str = "en") -> str:
    return (
        f'<!DOCTYPE html>\n<html lang="{lang}"><head><meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{esc(title)}</title>\n<style>{_CSS}</style></head>\n<body>\n{body}</body></html>\n"
    )


def _header(info: Mapping[str, Any], subtitle: str = "", lang: str = "") -> str:
    client = f'<p class="client">{esc(info["client"])}</p>\n' if info.get("client") else ""
    # a subtitle from the text tables (lang given) is HTML already, others are plain text
    shown = subtitle if lang else esc(subtitle)
    sub = f'<p class="date">{shown}</p>\n' if subtitle else ""
    return (  # the study header of every report page (pages.page_header on the others)
        f'<header class="report-header">\n{client}<h1>{esc(info["title"])}</h1>\n{sub}'
        f"{_paragraphs(info.get('description'))}</header>\n"
    )


def report_index_html(
    info: Mapping[str, Any],
    date: str,
    runs: Sequence[Any],
    *,
    deliverables: Sequence[Mapping[str, Any]] = (),
) -> str:
    """Return the report's entry page: title, client, description, the parts and their question.

    ``info`` holds the study's ``title``, ``client`` and ``description``; each run has the
    notebook's ``name``, ``title``, ``question`` and ``html`` (its page's file name);
    ``deliverables`` lists the workbook and the deck (``file``, ``sheets`` / ``slides``).
    """
    items = []
    for r in runs:
        question = f'<span class="question">{esc(r.question)}</span>' if r.question else ""
        items.append(
            f'<li><a href="{href(r.html)}">{esc(_part(r.title or r.name))}</a>{question}</li>'
        )
    parts = "\n".join(items)
    lang = str(info.get("language") or "en")
    when = _long_date(date, lang)
    return _page(
        f"{info['title']} – {when}",
        _header(info, _say("index.report_of", lang, date=when), lang)
        + f'<h2>{_say("index.contents", lang)}</h2>\n<ol class="parts">\n{parts}\n</ol>\n'
        + _deliverables_html(deliverables, lang)
        + f"<h2>{_say('index.tables', lang)}</h2>\n<p>{_say('index.tables_text', lang)}</p>\n"
        + f"<footer><p>{_say('index.footer', lang)}</p></footer>\n",
        lang,
    )


def _deliverables_html(files: Sequence[Mapping[str, Any]], lang: str = "en") -> str:
    """Return the workbook and the deck, linked, with what each holds."""
    from .text import count

    items = []
    for f in files:
        name = str(f.get("file", ""))
        if name.endswith(".xlsx"):
            n = int(f.get("sheets", 0))
            what = count(n, "index.workbook", lang) if n else _say("index.workbook_empty", lang)
        elif name.endswith(".pptx"):
            what = count(int(f.get("slides", 0)), "index.deck", lang)
        else:
            continue
        items.append(f'<li><a href="{href(name)}">{esc(name)}</a> <span>{esc(what)}</span></li>')
    if not items:
        return ""
    return (
        f'<h2>{_say("index.deliverables", lang)}</h2>\n<ul class="deliverables">\n'
        + "\n".join(items)
        + "\n</ul>\n"
    )


def _deliverables_row(built: Mapping[str, Any] | None, lang: str = "en") -> str:
    if not built:
        return ""
    names = ", ".join(str(f.get("file")) for f in built.get("files", []))
    seconds = f"{float(built.get('seconds', 0)):.1f}"
    return (
        f"<tr><td>{_say('run.deliverables', lang)}</td>"
        f"<td>{_say('run.built', lang, files=names, s=seconds)}</td></tr>\n"
    )


def run_html(info: Mapping[str, Any], record: Mapping[str, Any]) -> str:
    """Return the run page: timings, commit, parameters, input hashes, package versions.

    Headings and sentences in the study's language (``info["language"]``).
    """
    from .text import template

    lang = str(info.get("language") or "en")
    nb_rows = "\n".join(
        f'<tr><td><a href="{href(n["html"])}">{esc(n["title"] or n["name"])}</a></td>'
        f'<td><a href="{href(n["name"] + ".ipynb")}"><code>{esc(n["name"])}.ipynb</code></a>'
        f"</td><td>{esc(n['status'])}</td>"
        f'<td class="num">{_say("run.seconds", lang, s=format(n["seconds"], ".1f"))}</td></tr>'
        for n in record["notebooks"]
    )
    params = "\n".join(
        f"<tr><td><code>{esc(k)}</code></td><td><code>{esc(json.dumps(v, ensure_ascii=False))}"
        "</code></td></tr>"
        for k, v in record["parameters"].items()
    )
    inputs = "\n".join(
        f"<tr><td><code>{esc(k)}</code></td><td><code>{esc(v)}</code></td></tr>"
        for k, v in record["inputs"].items()
    )
    packages = ", ".join(f"{esc(k)} {esc(v)}" for k, v in record["packages"].items() if v)
    git = record["git"]
    commit = str(git["commit"] or "unknown")
    commit = _say("run.uncommitted", lang, commit=commit) if git["dirty"] else esc(commit)
    limits = record["runner"]

    def secs(v: float | None) -> str:
        return (
            template("run.no_limit", lang)
            if v is None
            else template("run.seconds", lang).format(s=f"{v:g}")
        )

    def row(key: str, value: str) -> str:
        return f"<tr><td>{_say(key, lang)}</td><td>{value}</td></tr>\n"

    when = _long_date(record["date"], lang)
    platform = record["platform"]
    return _page(
        template("run.title", lang).format(title=info["title"], date=when),
        _header(info, _say("run.record_of", lang, date=when), lang)
        + f"<p>{_say('run.back', lang)}</p>\n"
        + f"<h2>{_say('run.run', lang)}</h2>\n<table>\n"
        + row("run.started", esc(record["started"]))
        + row("run.finished", esc(record["finished"]))
        + row("run.duration", _say("run.seconds", lang, s=f"{record['seconds']:.1f}"))
        + row("run.code", f"<code>{commit}</code>")
        + row("run.kernel", f"<code>{esc(record['kernel'])}</code>")
        + _deliverables_row(record.get("deliverables"), lang)
        + row(
            "run.limits",
            _say(
                "run.limits_text",
                lang,
                notebook=secs(limits["timeout"]),
                run=secs(limits["run_timeout"]),
            ),
        )
        + row(
            "run.machine",
            _say("run.cores", lang, system=str(platform["system"]), n=str(platform["cpus"])),
        )
        + "</table>\n"
        f"<h2>{_say('run.notebooks', lang)}</h2>\n<table><thead><tr>"
        f"<th>{_say('run.part', lang)}</th><th>{_say('run.executed', lang)}</th>"
        f'<th>{_say("run.status", lang)}</th><th class="num">{_say("run.time", lang)}</th>'
        f"</tr></thead>\n<tbody>\n{nb_rows}\n</tbody></table>\n"
        f"<h2>{_say('run.parameters', lang)}</h2>\n<table>\n" + params + "\n</table>\n"
        f"<h2>{_say('run.inputs', lang)}</h2>\n<table>\n" + inputs + "\n</table>\n"
        f"<h2>{_say('run.packages', lang)}</h2>\n<p>{packages}</p>\n"
        f"<p>{_say('run.json', lang)}</p>\n",
        lang,
    )


def dated_reports(study_dir: Path) -> list[str]:
    """Return the dates of the complete reports in a study folder, newest first."""
    out = []
    with contextlib.suppress(OSError):
        for p in study_dir.iterdir():
            if DATE_RE.match(p.name) and p.is_dir() and not p.is_symlink():
                if (p / "run.json").is_file():
                    out.append(p.name)
    return sorted(out, reverse=True)


def read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def study_index_html(info: Mapping[str, Any], study_dir: Path) -> str:
    """Return a study's page: its reports, newest first, and its reports by unit.

    Headings and sentences in the study's language (``info["language"]``).
    """
    from .text import template

    lang = str(info.get("language") or "en")
    rows = []
    for date in dated_reports(study_dir):
        record = read_json(study_dir / date / "run.json") or {}
        n = len(record.get("notebooks", []))
        rows.append(
            f'<tr><td><a href="{href(date, "index.html")}">{esc(_long_date(date, lang))}</a>'
            f'</td><td class="num">{n}</td></tr>'
        )
    body = (
        f"<table><thead><tr><th>{_say('study.report', lang)}</th>"
        f'<th class="num">{_say("study.parts", lang)}</th></tr></thead>\n<tbody>\n'
        + "\n".join(rows)
        + "\n</tbody></table>\n"
        if rows
        else f"<p>{_say('study.no_report', lang)}</p>\n"
    )
    from ._unitpages import unit_runs_links  # the reports by unit (report --per)

    return _page(
        template("study.reports_title", lang).format(title=info["title"]),
        _header(info)
        + f"<h2>{_say('study.reports', lang)}</h2>\n"
        + body
        + unit_runs_links(study_dir)
        + f'<p class="secondary">{_say("study.all", lang)}</p>\n',
        lang,
    )


def reports_index_html(reports: Path) -> str:
    """Return the index of studies at ``reports/index.html``.

    Each study's title, client, description and latest report.
    """
    try:
        folders = sorted(p for p in reports.iterdir() if p.is_dir() and not p.is_symlink())
    except OSError:
        folders = []
    rows = []
    for p in folders:
        info = read_json(p / ".study.json")
        if not info or not info.get("title"):
            continue
        dates = dated_reports(p)
        if not dates:
            continue
        client = f'<p class="client">{esc(info["client"])}</p>' if info.get("client") else ""
        latest = href(p.name, dates[0], "index.html")
        rows.append(
            f'<li>{client}<a href="{href(p.name, "index.html")}">{esc(info["title"])}</a>'
            f'<span class="question">Latest report: <a href="{latest}">'
            f"{esc(_long_date(dates[0]))}</a> ({len(dates)} in all)</span>"
            f"{_paragraphs(info.get('description'))}</li>"
        )
    body = (
        '<ul class="parts">\n' + "\n".join(rows) + "\n</ul>\n"
        if rows
        else "<p>No complete report yet.</p>\n"
    )
    return _page("Survey reports", "<header><h1>Survey reports</h1></header>\n" + body)
