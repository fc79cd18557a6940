"""The notebook context: outputs land in the report folder, shown text is escaped."""

from __future__ import annotations

import ast
import html
from pathlib import Path

import matplotlib
import nbformat

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from analysis_helpers.notebook import escape_markdown, fmt_num, fmt_pct, md, setup  # noqa: E402

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


@pytest.fixture
def ctx(tmp_path):
    return setup("config/demo.yml", str(tmp_path / "rep"), notebook="99-test")


def test_setup_loads_study_and_makes_folder(ctx, tmp_path):
    assert ctx.study.name == "demo"
    assert ctx.report_dir == tmp_path / "rep" and ctx.report_dir.is_dir()


def test_save_table_keeps_precision_and_chinese(ctx):
    t = pd.DataFrame({"label": ["网络服务"], "estimate": [0.123456789012]})
    path = ctx.save_table(t, "kpi")
    assert path == ctx.report_dir / "tables" / "kpi.csv"
    back = pd.read_csv(path, encoding="utf-8-sig")
    assert back["label"][0] == "网络服务"
    assert back["estimate"][0] == pytest.approx(0.123456789012, abs=1e-15)
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")  # BOM for Excel


def test_save_figure_from_axes(ctx):
    fig, ax = plt.subplots()
    ax.plot([1, 2])
    path = ctx.save_figure(ax, "line", close=True)
    assert path == ctx.report_dir / "figures" / "line.png" and path.stat().st_size > 1000


@pytest.mark.parametrize("name", ["../evil", "a/b", "", ".hidden"])
def test_output_names_cannot_escape_the_folder(ctx, name):
    with pytest.raises(ValueError, match="must start with a letter or digit"):
        ctx.save_table(pd.DataFrame({"a": [1]}), name)


def test_escaping():
    out = escape_markdown("<script>alert('x')</script> & **bold**")
    assert "<" not in out and "*" not in out
    assert html.unescape(out) == "<script>alert('x')</script> & **bold**"


@pytest.fixture
def shown(monkeypatch):
    out = []
    monkeypatch.setattr("IPython.display.display", lambda obj, **kw: out.append(obj))
    return out


def test_show_escapes_respondent_text(ctx, shown):
    ctx.show(pd.DataFrame({"comment": ["<b>hi</b>"], "x": [1.23456]}), caption="A & B")
    page = shown[0]["text/html"]
    assert "&lt;b&gt;hi&lt;/b&gt;" in page and "<b>hi</b>" not in page
    assert "1.23" in page and "A &amp; B" in page
    assert shown[0]["text/plain"].splitlines()[1:3] == ["Comment\tX", "<b>hi</b>\t1.23"]


def test_show_labels_columns_and_takes_the_level_from_the_study(ctx, shown):
    t = pd.DataFrame(
        {
            "label": ["Top-2"],
            "unit": ["share"],
            "estimate": [0.45],
            "ci_low": [0.4],
            "ci_high": [0.5],
        }
    )
    spec = ctx.study.spec
    ctx.study.spec = spec.model_copy(
        update={"reporting": spec.reporting.model_copy(update={"confidence": 0.9})}
    )
    ctx.show(t, columns={"label": "KPI", "estimate": None, "ci": None})
    page = shown[0]["text/html"]
    assert ">KPI<" in page and ">Estimate<" in page and ">90% CI<" in page
    assert ">45%<" in page and ">40–50%<" in page
    ids = [ctx.show(t) for _ in range(2)]
    assert ids == [None, None] and 'id="T_99-test-3"' in shown[-1]["text/html"]


def test_say_keeps_the_authors_markup_and_escapes_values(ctx, shown):
    ctx.say(
        "**{area}** leads with {share:share} ({confidence} CI {ci}).",
        area="[Network](javascript:alert(1)) <b>网络</b>",
        share=0.4512,
        ci="40–50%",
    )
    page = shown[0]["text/html"]
    assert "<strong>[Network](javascript:alert(1)) &lt;b&gt;网络&lt;/b&gt;</strong>" in page
    assert "<a " not in page and "<b>" not in page
    assert "45% (95% CI 40–50%)." in page
    assert shown[0]["text/plain"] == (
        "[Network](javascript:alert(1)) <b>网络</b> leads with 45% (95% CI 40–50%)."
    )


def test_say_takes_md_pieces(ctx, shown):
    ctx.say("{a}, {b}", a=md("*{x}*", x="_y_"), b="*z*")
    assert "<em>_y_</em>, *z*" in shown[0]["text/html"]
    ctx.say(md("**{x}**", x="q"))
    assert "<strong>q</strong>" in shown[1]["text/html"]


def test_save_table_writes_formula_cells_as_text(ctx):
    path = ctx.save_table(pd.DataFrame({"label": ["=1+2", "ok"], "x": [-1.5, 2.0]}), "t")
    back = pd.read_csv(path, encoding="utf-8-sig")
    assert back["label"].tolist() == ["'=1+2", "ok"] and back["x"].tolist() == [-1.5, 2.0]


def _say_calls():
    for path in sorted(NOTEBOOKS.glob("[0-9][0-9]-*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        for k, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            for node in ast.walk(ast.parse(cell.source)):
                if not isinstance(node, ast.Call) or not node.args:
                    continue
                f = node.func
                name = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", "")
                if name in ("say", "md"):
                    yield path.name, k, node.args[0]


def test_notebook_templates_are_never_f_strings():
    """A template is the author's text: data reaches it only as escaped values. An f-string
    would paste data into the Markdown unescaped, so none may be a template."""
    calls = list(_say_calls())
    assert len(calls) > 30
    bad = [
        (name, k)
        for name, k, arg in calls
        if any(isinstance(n, ast.JoinedStr) for n in ast.walk(arg))
    ]
    assert bad == []


def test_formatting():
    assert fmt_num(12345.678) == "12,345.7"
    assert fmt_pct(0.4567) == "46%"
    assert fmt_pct(0.4567, 1) == "45.7%"


def test_lacks_says_why_once_and_not_applicable_is_a_note(tmp_path, capsys, monkeypatch):
    from analysis_helpers import notebook as nbmod
    from analysis_helpers.demo import write_study_shape

    shown: list[tuple[str, str]] = []
    monkeypatch.setattr(nbmod, "_display", lambda html, text: shown.append((html, text)))
    ctx = nbmod.setup(
        str(write_study_shape(tmp_path / "p", "one_wave")),
        str(tmp_path / "r"),
        notebook="30-trend",
    )
    assert ctx.lacks("segments") is False
    assert shown == []
    assert ctx.lacks("nps", "waves", "id") is True
    assert len(shown) == 1
    html, text = shown[0]
    assert 'class="report-na' in html
    assert text.strip() == "This study has one wave; comparisons over time need two or more."
    ctx.not_applicable("Only {n:base} answered {what}.", n=12, what="<b>every</b> driver")
    html, text = shown[1]
    assert "<b>" not in html and "&lt;b&gt;" in html
    assert text.strip().startswith("Only 12 answered")
