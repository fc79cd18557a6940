"""The report's template tables (analysis_helpers.text): both languages agree, every key used
exists and every key is used, Chinese formatting, and the Chinese executive summary."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from test_summary import tables

from analysis_helpers import text as tx
from analysis_helpers._runpages import report_index_html
from analysis_helpers.formatting import _LABELS
from analysis_helpers.safe_output import Md, plain_text, render_markdown
from analysis_helpers.study import PARTS, StudyFileError, load_study
from analysis_helpers.summary import ACTIONS, summary_findings

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src/analysis_helpers"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
#: keys the code builds from parts (f-strings), each with the code that builds it
BUILT = {
    *(f"summary.{action}" for action in ACTIONS),  # summary.py: f"summary.{action}"
    *(f"notes.unasked_{a}_{b}" for a in ("item", "items") for b in ("wave", "waves")),
    *(key for _, key in PARTS.values()),  # Study.absent
    *(f"col.{c}" for c in _LABELS),  # formatting.py: f"col.{leaf}", the default headers
}
KEY = re.compile(r"[\"']([a-z0-9_]+(?:\.[a-z0-9_]+)+)[\"']")


def say(text: Md) -> str:
    return plain_text(render_markdown(text))


def sources() -> dict[str, str]:
    out = {str(p.relative_to(ROOT)): p.read_text(encoding="utf-8") for p in SRC.rglob("*.py")}
    for nb in NOTEBOOKS:
        cells = json.loads(nb.read_text(encoding="utf-8"))["cells"]
        out[nb.name] = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    return out


def notebook_keys() -> dict[str, str]:
    """Return the Markdown cells that name a key: key -> the cell's text."""
    out = {}
    for nb in NOTEBOOKS:
        for cell in json.loads(nb.read_text(encoding="utf-8"))["cells"]:
            key = cell["metadata"].get("text")
            if key:
                out[key] = "".join(cell["source"])
    return out


# ---- the tables ---------------------------------------------------------------------------
def test_both_tables_have_the_same_keys_and_placeholders():
    assert tx.table_problems() == []
    assert set(tx.load_table("en")) == set(tx.load_table("zh"))
    for key, en in tx.load_table("en").items():
        assert tx.placeholders(en) == tx.placeholders(tx.load_table("zh")[key]), key


def test_the_tables_are_flat_mappings_of_text_read_with_safe_load():
    for lang in tx.LANGUAGES:
        raw = yaml.safe_load((SRC / "text" / f"{lang}.yml").read_text(encoding="utf-8"))
        assert isinstance(raw, dict) and all(isinstance(v, str) for v in raw.values())
        assert raw == tx.load_table(lang)


def test_table_problems_names_the_key(monkeypatch):
    en = dict(tx.load_table("en"))
    zh = dict(tx.load_table("zh"))
    zh["summary.rose"] = "**{label}** 上升 {size}"  # {p} dropped
    del zh["index.contents"]
    monkeypatch.setattr(tx, "load_table", lambda lang: en if lang == "en" else zh)
    problems = tx.table_problems()
    assert "text/zh.yml: missing key 'index.contents' (in en.yml)" in problems
    assert (
        "text/zh.yml: 'summary.rose': placeholders ['label', 'size'] differ from en.yml's "
        "['label', 'p', 'size']"
    ) in problems


def test_every_key_used_exists_and_every_key_is_used():
    table = tx.load_table("en")
    named: set[str] = set()
    for name, source in sources().items():
        # a key is named as a literal in a call: text("a.b", ...), ctx.text("a.b"), key="a.b"
        for m in re.finditer(
            r"\b(?:text|template|count|_say)\(\s*[\"']([a-z0-9_]+(?:\.[a-z0-9_]+)+)[\"']", source
        ):
            assert m.group(1) in table, f"{name}: unknown text key {m.group(1)!r}"
            named.add(m.group(1))
        for m in re.finditer(r"\bkey=[\"']([a-z0-9_]+(?:\.[a-z0-9_]+)+)[\"']", source):
            assert m.group(1) in table, f"{name}: unknown text key {m.group(1)!r}"
            named.add(m.group(1))
        named |= {k for k in KEY.findall(source) if k in table}  # e.g. a conditional key
    named |= set(notebook_keys()) | BUILT
    assert BUILT <= set(table)
    assert sorted(set(table) - named) == []


def test_notebooks_hold_the_english_text_of_their_keys():
    table = tx.load_table("en")
    for key, source in notebook_keys().items():
        assert source == table[key], key


def test_a_notebook_is_localised_by_its_cell_keys():
    nb = json.loads((ROOT / "notebooks/00-summary.ipynb").read_text(encoding="utf-8"))
    assert tx.localise_notebook(nb, "zh") == 2
    assert "".join(nb["cells"][0]["source"]).startswith("# 执行摘要：")
    assert nb["cells"][4]["source"] == "## 发现（按重要性排序）"


def test_unknown_keys_and_languages_are_named():
    with pytest.raises(KeyError, match=r"text/zh.yml has no key 'summary.nope'"):
        tx.text("summary.nope", "zh")
    with pytest.raises(ValueError, match=r"unknown language 'fr'"):
        tx.load_table("fr")


# ---- formatting that suits the language ---------------------------------------------------
def test_chinese_lists_counts_and_changes():
    assert tx.join(["A", "B", "C"], "zh") == Md("A、B和C")
    assert tx.join(["A", "B", "C"], "en") == Md("A, B and C")
    assert tx.join([Md("**A**")], "zh") == Md("**A**")
    assert tx.words(["Q1 2024", "Q2 2024"], "zh") == "Q1 2024和Q2 2024"
    assert tx.count(1, "count.file") == "1 file"
    assert tx.count(3, "count.file") == "3 files"
    assert tx.count(3, "count.file", "zh") == "3 个文件"
    assert tx.count(1505, "count.file", "zh") == "1,505 个文件"
    assert tx.size(-15.81, "index (0-100)", "zh") == "15.8 个指数点"
    assert tx.size(-15.81, "index (0-100)") == "15.8 index points"
    assert tx.size(0.032, "share", "zh") == "3.2 个百分点"
    assert tx.size(0.032, "share") == "3.2 pp"
    assert tx.size(3, "NPS points", "zh") == "3 个点"
    assert tx.size(-0.171, "mean", "zh") == "0.17"


def test_values_are_escaped_in_any_language():
    out = tx.text("summary.kpi_in_wave", "zh", wave="<b>Q2</b>")
    assert "<b>" not in str(out) and say(out) == "<b>Q2</b>："


# ---- the study file ---------------------------------------------------------------------
def test_the_chinese_demo_extends_the_demo():
    en, zh = load_study(ROOT / "config/demo.yml"), load_study(ROOT / "config/demo-zh.yml")
    assert (en.language, zh.language) == ("en", "zh")
    assert zh.name == "demo-zh" and zh.raw_dir == en.raw_dir
    assert zh.spec.items == en.spec.items and zh.waves == en.waves
    assert zh.absent("waves") is None
    assert zh.spec.reporting.alpha == en.spec.reporting.alpha


def test_extends_errors_name_the_file(tmp_path):
    (tmp_path / "config").mkdir()
    path = tmp_path / "config/x.yml"
    path.write_text("extends: nothing.yml\n", encoding="utf-8")
    with pytest.raises(StudyFileError, match=r"x\.yml: extends: study file not found: .*nothing"):
        load_study(path, check_files=False)
    (tmp_path / "config/a.yml").write_text("extends: b.yml\n", encoding="utf-8")
    path.write_text("extends: a.yml\n", encoding="utf-8")
    with pytest.raises(StudyFileError, match="only one level is supported"):
        load_study(path, check_files=False)


def test_absent_parts_are_said_in_the_report_language(tmp_path):
    (tmp_path / "config").mkdir()
    (tmp_path / "pyproject.toml").write_text("[project]\nname='x'\n")
    path = tmp_path / "config/one.yml"
    path.write_text(
        "study: {name: one}\ndata: {root: data, files: [{path: w1.csv}]}\n"
        "items: [{name: q1, label: Q1, scale: {min: 1, max: 5}}]\nreporting: {language: zh}\n",
        encoding="utf-8",
    )
    study = load_study(path, check_files=False)
    assert study.absent("waves") == "本研究只有一期数据；跨期比较至少需要两期。"
    assert study.absent("segments") == tx.template("absent.segments", "zh")


# ---- the pages --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def zh_demo():
    return load_study(ROOT / "config/demo-zh.yml")


def test_the_chinese_summary_names_the_planted_truths(zh_demo):
    f = summary_findings(tables(), study=zh_demo, outcome_label="Overall satisfaction")
    s = {r.section: say(r.text) for r in f.itertuples()}
    assert s["turning_point"] == (
        "转折点：Network 从 Q3 2024 到 Q4 2024 下降 15.8 个指数点（p < 0.001），是 6 期中最大的"
        "显著领域变化（见趋势）。"
    )
    assert s["weak_spots"].startswith(
        "最薄弱的环节：High-bill（Customer type）对 Complaints 的评分比其余受访者低 26.9 个指数点"
        "（p < 0.001，n = 451）；"
    )
    assert s["drivers"] == (
        "按解释方差占比，Overall satisfaction 的主要驱动因素：Network（32.7%）、Value（21.0%）和"
        "Hotline（15.8%）（见驱动因素）。"
    )
    assert s["kpis"].startswith("Q2 2025：Overall 6.62（较 Q1 2025 上升 0.17，p = 0.004）；")
    assert s["fix"].startswith("优先改进：B（重要性 6.5%，表现 58.0）")
    for row in f.itertuples():
        assert f"]({row.page}.html)" in row.text  # the links stay
        assert "{" not in row.text and "}" not in row.text  # every placeholder filled


def test_no_english_template_is_left_in_the_chinese_summary(zh_demo):
    f = summary_findings(tables(), study=zh_demo, outcome_label="Overall satisfaction")
    page = " ".join(say(t) for t in f["text"])
    for words in ("rose", "fell", "index points", "The ", "see ", "significant", "below"):
        assert words not in page, words


def test_the_index_page_in_chinese():
    info = {"title": "T", "client": None, "description": None, "language": "zh"}
    page = report_index_html(
        info, "2026-12-02", [], deliverables=[{"file": "report.xlsx", "sheets": 32}]
    )
    assert '<html lang="zh">' in page
    for words in ("目录", "2026年12月2日", "工作簿和演示文稿", "共 32 张", "运行记录页"):
        assert words in page, words
    for words in ("Contents", "Report of", "Every table", "run page"):
        assert words not in page, words
    en = report_index_html({**info, "language": "en"}, "2026-12-02", [])
    assert "<h2>Contents</h2>" in en and "Report of 2 December 2026" in en
