"""The notebook context: outputs land in the report folder, shown text is escaped."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from analysis_helpers.notebook import escape_markdown, fmt_num, fmt_pct, setup  # noqa: E402


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
    assert escape_markdown("<script>alert('x')</script> & **bold**") == (
        "&lt;script&gt;alert('x')&lt;/script&gt; &amp; **bold**"
    )


def test_show_escapes_respondent_text(ctx, monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj: shown.append(obj))
    ctx.show(pd.DataFrame({"comment": ["<b>hi</b>"], "x": [1.23456]}), caption="A & B")
    html = shown[0].data
    assert "&lt;b&gt;hi&lt;/b&gt;" in html and "<b>hi</b>" not in html
    assert "1.235" in html and "A &amp; B" in html


def test_formatting():
    assert fmt_num(12345.678) == "12,345.7"
    assert fmt_pct(0.4567) == "46%"
    assert fmt_pct(0.4567, 1) == "45.7%"
