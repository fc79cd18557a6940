"""The trend page's charts: wave labels on every axis, no text that overlaps, CJK renders."""

from __future__ import annotations

import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from analysis_helpers.plots import apply_theme  # noqa: E402
from analysis_helpers.report_checks import text_overlaps  # noqa: E402
from analysis_helpers.trend_plots import (  # noqa: E402
    area_trend,
    kpi_trend_panels,
    operational_scatter,
)

WAVES = ["2024Q1", "2024Q2", "2024Q3", "2024Q4", "2025Q1", "2025Q2"]
LABELS = {w: f"Q{w[-1]} {w[:4]}" for w in WAVES}
KPIS = [
    ("overall_mean", "Overall satisfaction 总体满意度: mean", "mean (1-10)", 6.6),
    ("overall_top2", "Overall satisfaction 总体满意度: top-2-box", "share", 0.12),
    ("nps", "NPS (Likelihood to recommend 推荐意愿)", "points", -4.0),
    ("ces_mean", "Effort to get things done (1 = very little): mean", "mean (1-7, lower is better)", 3.1),
    ("csi", "Customer satisfaction index (CSI)", "index (0-100)", 62.0),
]  # fmt: skip


@pytest.fixture(autouse=True)
def _theme():
    apply_theme()
    yield
    plt.close("all")


def by_wave(kpis=KPIS) -> pd.DataFrame:
    rows = []
    for k, (kpi, label, unit, base) in enumerate(kpis):
        for j, w in enumerate(WAVES):
            est = base * (1 + 0.02 * ((j + k) % 3))
            rows.append({"wave": w, "kpi": kpi, "label": label, "unit": unit, "estimate": est,
                         "ci_low": est * 0.97, "ci_high": est * 1.03})  # fmt: skip
    return pd.DataFrame(rows)


def test_kpi_panels_one_per_kpi_with_wave_labels_and_no_overlap():
    fig = kpi_trend_panels(by_wave(), order=WAVES, labels=LABELS)
    shown = [ax for ax in fig.axes if ax.get_visible()]
    assert len(shown) == 5 and len(fig.axes) == 6  # 2 x 3, the sixth hidden
    for ax in shown:
        ticks = [t.get_text().replace("\n", " ") for t in ax.get_xticklabels() if t.get_text()]
        assert set(ticks) <= set(LABELS.values()) and ticks[-1] == "Q2 2025"
    assert shown[1].get_ylabel() == "Share of respondents"
    assert shown[1].yaxis.get_major_formatter()(0.12, 0) == "12%"
    assert shown[2].get_ylabel() == "NPS (points)"
    assert "\n" in shown[3].get_title(loc="left")  # a long KPI label is wrapped to its panel
    assert text_overlaps(fig).empty, text_overlaps(fig)


def test_kpi_panels_draw_what_the_study_has():
    fig = kpi_trend_panels(by_wave(KPIS[-1:]), order=WAVES[:2], labels=LABELS)
    assert len(fig.axes) == 1
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["Q1 2024", "Q2 2024"]
    assert text_overlaps(fig).empty
    with pytest.raises(ValueError, match=r"no KPI\(s\) \['nps'\]"):
        kpi_trend_panels(by_wave(KPIS[-1:]), order=WAVES, kpis=["nps"])
    with pytest.raises(KeyError, match=r"no column\(s\) \['unit'\]"):
        kpi_trend_panels(by_wave().drop(columns="unit"), order=WAVES)


def test_chinese_labels_render(tmp_path):
    fig = kpi_trend_panels(
        by_wave(KPIS[:2]), order=WAVES, labels={w: f"{w[:4]}年第{w[-1]}季度" for w in WAVES}
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "Glyph ... missing from font(s)" would raise
        fig.savefig(tmp_path / "zh.png")
    assert text_overlaps(fig).empty


def test_area_trend_legend_beside_and_wave_labels():
    rows = by_wave(KPIS[:1]).assign(area="Network 网络服务")
    t = pd.concat([rows, rows.assign(area="Hotline 客服热线", estimate=rows["estimate"] - 1)])
    fig = area_trend(t, order=WAVES, labels=LABELS, title="Satisfaction index by area")
    ax = fig.axes[0]
    assert [x.get_text() for x in ax.get_legend().get_texts()] == [
        "Network 网络服务",
        "Hotline 客服热线",
    ]
    assert ax.get_xticklabels()[0].get_text().replace("\n", " ") == "Q1 2024"
    assert text_overlaps(fig).empty


def test_operational_scatter_colours_waves_by_label():
    cells = pd.DataFrame({"wave": ["2024Q2", "2024Q1", "2024Q2"], "wait": [2.0, 3.0, 4.0],
                          "estimate": [70.0, 65.0, 60.0]})  # fmt: skip
    ax = operational_scatter(cells, metric="wait", order=WAVES, labels=LABELS, x_label="Wait")
    assert [x.get_text() for x in ax.get_legend().get_texts()] == ["Q1 2024", "Q2 2024"]
    assert ax.get_xlabel() == "Wait" and text_overlaps(ax).empty
    with pytest.raises(KeyError, match=r"no column\(s\) \['queue'\]"):
        operational_scatter(cells, metric="queue", order=WAVES)
