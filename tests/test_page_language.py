"""40-cross and 60-index in Chinese (reporting.language: zh): the helpers' headers, captions,
sentences and chart texts come from the zh text table, and English stays as it was."""

from __future__ import annotations

import dataclasses
import re

import matplotlib.pyplot as plt
import pytest

from analysis_helpers.banners import banner_footnote, banner_frame, study_banners
from analysis_helpers.cleaning import clean
from analysis_helpers.cross import (
    banner,
    banner_note,
    banner_view,
    difference_text,
    segment_index_by_wave,
    segment_index_takeaway,
    significance_phrase,
)
from analysis_helpers.cross_plots import area_heatmap
from analysis_helpers.demo import write_study_shape
from analysis_helpers.index_report import (
    estimate_index_model,
    headers,
    index_setup,
    model_takeaway,
    path_display,
    path_takeaway,
)
from analysis_helpers.plots import apply_theme
from analysis_helpers.pls.summary import path_summary
from analysis_helpers.pls_plots import ipma_map, path_diagram
from analysis_helpers.safe_output import plain_text, render_markdown
from analysis_helpers.study import Study, load_study

#: three English words in a row (labels of the 'full' shape are English single words or
#: names such as "Network service", so three in a row mean a template left in English)
ENGLISH = re.compile(r"[A-Za-z]{2,}(?: [A-Za-z]{2,}){2,}")


def _words(text) -> str:
    return plain_text(render_markdown(text)).strip()


@pytest.fixture(scope="module", autouse=True)
def _cjk_font():
    apply_theme()  # the report's charts fall back to Noto Sans CJK for Chinese glyphs


@pytest.fixture(scope="module")
def full(tmp_path_factory):
    study = load_study(write_study_shape(tmp_path_factory.mktemp("lang"), "full"))
    return study, clean(study).data


@pytest.fixture
def zh(monkeypatch):
    monkeypatch.setattr(Study, "language", property(lambda self: "zh"))


def _english(text: str, study: Study) -> list[str]:
    labels = [*study.labels().values(), *(s.title for s in study.segments)]
    for s in study.segments:
        labels += list(s.values.values())
    for lab in sorted(labels, key=len, reverse=True):
        text = text.replace(lab, "")
    return ENGLISH.findall(text)


def test_the_banner_in_chinese(full, zh):
    study, data = full
    table = banner(data, study=study)
    view = banner_view(table, study=study)
    assert view.index.name == "KPI" and view.index[0] == "样本量"
    assert ("", "总体") in view.columns
    assert "客户满意度指数（CSI）" in view.index
    assert any(r.endswith("：均值") for r in view.index)
    note = banner_note(table, study=study)
    assert note.startswith("字母：该单元格显著高于") and _english(note, study) == []
    assert significance_phrase(study) == "p < 0.05，经 Holm 校正"
    assert difference_text(-4.12, "index (0-100)", "zh") == "4.1 个指数点"
    by_wave = segment_index_by_wave(data, study=study)
    said = _words(segment_index_takeaway(by_wave, study=study))
    assert "相对其余样本的指数最低" in said and _english(said, study) == []
    ax = area_heatmap(table, title="t", language="zh")
    assert ax.figure.axes[-1].get_ylabel() == "相对总体的指数点"
    plt.close(ax.figure)


def test_the_study_banners_in_chinese(full, zh):
    study, data = full
    _, _, result = study_banners(data, study=study)[0]
    frame = banner_frame(result)
    assert list(frame.index[:2]) == ["样本量", "有效样本量"] and frame.index.name == "行"
    note = banner_footnote(result)
    assert note.startswith("字母：") and "检验" in note
    assert _english(note, study) == []


def test_the_english_banner_is_unchanged(full):
    study, data = full
    table = banner(data, study=study)
    view = banner_view(table, study=study)
    assert view.index[0] == "Base" and ("", "Total") in view.columns
    assert banner_note(table, study=study).startswith(
        "Letters: the cell is significantly higher than the columns of the same segment"
    )
    assert headers() == {"ci": "95% CI", "p_value": "p", "p_adjusted": "Adjusted p (Holm)",
                         "n": "Base", "flag": "Note"}  # fmt: skip


def test_the_index_page_in_chinese(full):
    study, data = full
    run = estimate_index_model(data, study=study, setup=index_setup(study, n_boot=20,
                                                                    random_state=1))  # fmt: skip
    zh_run = dataclasses.replace(run, language="zh")
    said = _words(model_takeaway(zh_run, study=study))
    assert said.startswith("路径模型含") and _english(said, study) == []
    paths = path_summary(run.boot, model=run.model, labels=run.labels)
    said = _words(path_takeaway(paths, run=zh_run))
    assert said.startswith("模型解释了") and _english(said, study) == []
    shown = path_display("zh")
    assert shown["caption"] == "路径系数及其自助法区间"
    assert shown["columns"]["ci"] == "95% 置信区间"
    ax = path_diagram(paths, model=run.model, r_squared=run.fit.r_squared(), language="zh")
    assert ax.texts[-1].get_text().startswith("箭头上的数字")
    plt.close(ax.figure)
    english = _words(model_takeaway(run, study=study))
    assert english.startswith("A path model of ")


def test_the_ipma_chart_in_chinese(full):
    import pandas as pd

    t = pd.DataFrame({"block": ["a", "b"], "importance": [0.1, 0.2], "performance": [50, 60],
                      "importance_mean": [0.15] * 2, "performance_mean": [55] * 2,
                      "quadrant": ["concentrate here", "keep up the good work"],
                      "priority": [1, 2], "target": ["s", "s"]})  # fmt: skip
    ax = ipma_map(t, labels={"s": "Overall satisfaction 总体满意度"}, language="zh")
    texts = {x.get_text() for x in ax.texts}
    assert {"重点改进", "继续保持", "低优先级", "可能过度投入"} <= texts
    assert ax.get_xlabel() == "表现（指数 0-100）"
    assert ax.get_ylabel() == "重要性\n（对Overall satisfaction\n总体满意度的总效应）"
    plt.close(ax.figure)
