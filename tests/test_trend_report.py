"""The trend page's study-aware tables and sentences: hand-made frames on real study files
(the ``small`` shape has two waves, ``full`` three), and the cleaned ``small`` study for the
index and the operational links."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis_helpers.demo import write_study_shape
from analysis_helpers.report_checks import sentence_problems
from analysis_helpers.safe_output import plain_text, render_markdown
from analysis_helpers.study import load_study
from analysis_helpers.trend import adjust_p, operational_link, wave_over_wave
from analysis_helpers.trend_report import (
    area_changes,
    area_takeaway,
    by_wave_wide,
    cell_words,
    changes_takeaway,
    kpi_changes,
    metric_label,
    observed_waves,
    operational_links,
    operations_parts,
    operations_takeaway,
    significance_words,
    trend_intro,
)


@pytest.fixture(scope="module")
def two(tmp_path_factory):
    return load_study(write_study_shape(tmp_path_factory.mktemp("two"), "small"))


@pytest.fixture(scope="module")
def three(tmp_path_factory):
    return load_study(write_study_shape(tmp_path_factory.mktemp("three"), "full"))


@pytest.fixture(scope="module")
def clean_two(two):
    from analysis_helpers.cleaning import clean

    return clean(two).data


def words(text) -> str:
    out = plain_text(render_markdown(text)).strip()
    found = sentence_problems(f"<p>{render_markdown(text)}</p>", page="t")
    assert found.empty, found.to_string()
    return out


def by_wave(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["wave", "kpi", "label", "unit", "estimate", "se"])


KPIS = [
    ("2024Q1", "csi", "Index", "index (0-100)", 65.1, 1.0),
    ("2024Q2", "csi", "Index", "index (0-100)", 57.4, 1.2),
    ("2024Q1", "top2", "Top box", "share", 0.15, 0.04),
    ("2024Q2", "top2", "Top box", "share", 0.10, 0.04),
]


def test_observed_waves_and_the_test_in_words(two):
    data = pd.DataFrame({"wave": ["2024Q2", "2024Q2", None]})
    assert observed_waves(data, study=two) == ["2024Q2"]
    assert observed_waves(pd.DataFrame({"x": [1]}), study=two) == []
    assert significance_words(two) == "p < 0.05, Holm-adjusted"


def test_intro_counts_respondents_waves_and_bases(two):
    data = pd.DataFrame({"wave": ["2024Q1"] * 3 + ["2024Q2"] * 2})
    assert words(trend_intro(data, study=two)) == (
        "5 respondents over 2 waves (Q1 2024 to Q2 2024), 2 to 3 a wave."
    )
    even = pd.DataFrame({"wave": ["2024Q1", "2024Q2"] * 2})
    assert words(trend_intro(even, study=two)).endswith("(Q1 2024 to Q2 2024), 2 a wave.")
    with pytest.raises(ValueError, match="fewer than two waves"):
        trend_intro(data.iloc[:3], study=two)


def test_by_wave_wide_keeps_the_kpi_order_and_the_wave_order(two):
    t = by_wave(KPIS[::-1]).sort_values("kpi", ascending=False)
    wide = by_wave_wide(t, study=two)
    assert list(wide.columns) == ["label", "unit", "2024Q1", "2024Q2"]
    assert list(wide["label"]) == ["Top box", "Index"]
    assert wide.loc[1, "2024Q2"] == pytest.approx(57.4)
    with pytest.raises(KeyError, match=r"no column\(s\) \['estimate'\]"):
        by_wave_wide(t.drop(columns="estimate"), study=two)


def test_kpi_changes_are_wave_over_wave_at_the_study_level(two):
    t = by_wave(KPIS)
    out = kpi_changes(t, study=two)
    direct = wave_over_wave(t, order=two.waves, by=["kpi", "label", "unit"], correction="holm")
    assert list(out["kpi"]) == ["csi", "top2"]
    csi_row = out.iloc[0]
    assert csi_row["change"] == pytest.approx(-7.7)
    assert csi_row["se"] == pytest.approx(np.hypot(1.0, 1.2))
    assert csi_row["p_adjusted"] == pytest.approx(direct.set_index("kpi").loc["csi", "p_adjusted"])
    assert bool(csi_row["significant"]) and not bool(out.iloc[1]["significant"])


def test_two_waves_name_the_changes_never_a_count_of_comparisons(two):
    changes = kpi_changes(by_wave(KPIS), study=two)
    assert words(changes_takeaway(changes, study=two)) == (
        "From Q1 2024 to Q2 2024, Index fell 7.7 index points (from 65.1 to 57.4)."
    )
    flat = kpi_changes(by_wave(KPIS[2:]), study=two)
    assert words(changes_takeaway(flat, study=two)) == (
        "From Q1 2024 to Q2 2024, no KPI changed significantly (p < 0.05, Holm-adjusted). "
        "The largest move, not significant: Top box fell 5.0 pp (from 15% to 10%)."
    )
    same = by_wave([KPIS[2], (*KPIS[3][:4], 0.15, 0.04)])
    text = words(changes_takeaway(kpi_changes(same, study=two), study=two))
    assert (
        text == "From Q1 2024 to Q2 2024, no KPI changed significantly (p < 0.05, Holm-adjusted)."
    )
    with pytest.raises(ValueError, match="no wave-over-wave comparisons"):
        changes_takeaway(flat.iloc[:0], study=two)


def test_many_waves_count_the_comparisons_then_the_latest_wave(three):
    rows = [
        ("2024Q1", "csi", "Index", "index (0-100)", 65.0, 1.0),
        ("2024Q2", "csi", "Index", "index (0-100)", 58.0, 1.0),
        ("2024Q3", "csi", "Index", "index (0-100)", 58.5, 1.0),
        ("2024Q1", "nps", "NPS", "points", -10.0, 4.0),
        ("2024Q2", "nps", "NPS", "points", -12.0, 4.0),
        ("2024Q3", "nps", "NPS", "points", 9.0, 4.0),
    ]
    changes = kpi_changes(by_wave(rows), study=three)
    assert words(changes_takeaway(changes, study=three)) == (
        "2 of the 4 wave-over-wave comparisons (2 KPIs over 2 pairs of waves) are significant "
        "(p < 0.05, Holm-adjusted). From Q2 2024 to Q3 2024, NPS rose 21 points (from -12 to 9)."
    )
    calm = kpi_changes(by_wave([(*r[:4], 60.0, 1.0) for r in rows[:3]]), study=three)
    assert words(changes_takeaway(calm, study=three)) == (
        "No wave-over-wave change is significant (p < 0.05, Holm-adjusted; 2 comparisons: 1 KPI "
        "over 2 pairs of waves). From Q2 2024 to Q3 2024, no KPI changed significantly."
    )


def area_rows(waves, values, se=1.0):
    return pd.DataFrame(
        {
            "name": "network",
            "area": "Network service",
            "wave": waves,
            "estimate": values,
            "se": se,
        }
    )


def test_area_takeaway_a_change_on_two_waves_a_turn_on_more(two, three):
    moves = wave_over_wave(area_rows(["2024Q1", "2024Q2"], [65.1, 39.7]), order=two.waves,
                           by=["name", "area"])  # fmt: skip
    assert words(area_takeaway(moves, study=two)) == (
        "The largest change: Network service fell 25.4 index points from Q1 2024 to Q2 2024 "
        "(from 65.1 to 39.7, adjusted p < 0.001)."
    )
    calm = wave_over_wave(area_rows(["2024Q1", "2024Q2"], [65.1, 65.6]), order=two.waves,
                          by=["name", "area"])  # fmt: skip
    assert words(area_takeaway(calm, study=two)) == (
        "No area's index changed significantly (p < 0.05, Holm-adjusted) by 1.0 index points "
        "or more between the two waves."
    )
    w3 = ["2024Q1", "2024Q2", "2024Q3"]
    turn = wave_over_wave(area_rows(w3, [65.0, 55.0, 60.0]), order=three.waves, by=["name", "area"])
    assert words(area_takeaway(turn, study=three)) == (
        "The largest turn: Network service fell 10.0 index points from Q1 2024 to Q2 2024 "
        "(from 65.0 to 55.0, adjusted p < 0.001). 1 more significant change is in the table."
    )


def test_operations_parts_keys_metrics_and_why_not(two):
    data = pd.DataFrame({"wave": ["2024Q1"], "region": ["north"]})
    ops = pd.DataFrame({"wave": ["2024Q1"], "region": ["north"], "wait": [2.0], "queue": [1.0]})
    keys, metrics, problem = operations_parts(ops, data, study=two)
    assert (keys, metrics, problem) == (["wave", "region"], ["wait", "queue"], "")
    assert operations_parts(ops, data, study=two, metric="queue")[1] == ["queue"]
    with pytest.raises(KeyError, match=r"ops_metric 'queu' is not a numeric column.*\['wait'"):
        operations_parts(ops, data, study=two, metric="queu")
    _, _, problem = operations_parts(ops, data.drop(columns="region"), study=two)
    assert words(problem) == (
        "The operations file is broken down by region, which the survey data do not have."
    )
    _, _, problem = operations_parts(ops.drop(columns="wave"), data, study=two)
    assert "no wave column" in problem
    _, _, problem = operations_parts(ops[["wave", "region"]], data, study=two)
    assert "no numeric column" in problem


def test_area_changes_on_a_cleaned_study(two, clean_two):
    areas, moves = area_changes(clean_two, study=two)
    assert set(areas["name"]) == {"network", "hotline", "billing", "value"}
    assert set(areas["wave"]) == {"2024Q1", "2024Q2"}
    assert areas.set_index("name")["area"].to_dict()["network"] == two.label("network")
    assert len(moves) == 4 and set(moves["wave_to"]) == {"2024Q2"}
    net = moves.set_index("name").loc["network"]
    a = areas[(areas["name"] == "network")].set_index("wave")
    assert net["change"] == pytest.approx(a.loc["2024Q2", "estimate"] - a.loc["2024Q1", "estimate"])
    assert net["se"] == pytest.approx(np.hypot(a.loc["2024Q1", "se"], a.loc["2024Q2", "se"]))


def test_operational_links_every_area_corrected_strongest_first(two, clean_two):
    from analysis_helpers.io import read_operations

    ops = read_operations(two)
    keys, metrics, problem = operations_parts(ops, clean_two, study=two)
    assert (keys, metrics, problem) == (["wave", "region"], ["hotline_wait_min"], "")
    links, cells = operational_links(clean_two, ops, study=two, metrics=metrics, keys=keys)
    assert list(links["name"])[0] == "hotline"  # the planted link is the strongest
    assert set(links["name"]) == {"network", "hotline", "billing", "value"}
    np.testing.assert_allclose(links["p_adjusted"], adjust_p(links["p_value"], correction="holm"))
    assert list(links["p_value"]) == sorted(links["p_value"])
    hot = cells[cells["name"] == "hotline"]
    direct = operational_link(hot, ops, metric="hotline_wait_min", on=keys).iloc[0]
    assert links.iloc[0]["slope"] == pytest.approx(direct["slope"])
    assert links.iloc[0]["n_cells"] == len(hot) == 8
    one, _ = operational_links(clean_two, ops, study=two, metrics=metrics, keys=keys,
                               areas=["billing"])  # fmt: skip
    assert list(one["name"]) == ["billing"]
    with pytest.raises(KeyError, match=r"unknown area\(s\) \['outlets'\]"):
        operational_links(clean_two, ops, study=two, metrics=metrics, keys=keys, areas=["outlets"])
    text = words(operations_takeaway(links, study=two, keys=keys))
    assert text.startswith(
        "The strongest link (4 links tried, p-values corrected over them): each extra unit of "
        "Hotline wait min goes with -"
    )
    assert "index points of Hotline (95% CI " in text and "over 8 cells: wave x Region)" in text


def test_operations_takeaway_when_nothing_is_significant(two):
    links = pd.DataFrame(
        [{"metric": "queue_min", "name": "billing", "area": "Billing", "slope": 0.5,
          "ci_low": -0.2, "ci_high": 1.2, "p_adjusted": 0.4, "significant": False,
          "n_cells": 6}]
    )  # fmt: skip
    assert words(operations_takeaway(links, study=two, keys=["wave"])) == (
        "No operational metric is significantly linked to an area's index; the strongest: "
        "each extra unit of Queue min goes with 0.50 index points of Billing (95% CI -0.20 to "
        "1.20, adjusted p = 0.400, over 6 cells: wave)."
    )
    with pytest.raises(ValueError, match="no operational link"):
        operations_takeaway(links.iloc[:0], study=two, keys=["wave"])


def test_metric_label_and_cell_words(two):
    assert metric_label("hotline_wait_min") == "Hotline wait min"
    assert metric_label("queue") == "Queue"
    assert cell_words(["wave", "region"], study=two) == "wave x " + two.segment("region").title
    assert cell_words(["wave", "store_id"], study=two) == "wave x store id"


def test_kpi_summary_takes_the_page_s_index_by_wave(two, clean_two):
    """The page computes the index by wave once: the KPI table from it is the same table."""
    from analysis_helpers.kpis import csi
    from analysis_helpers.study_tables import kpi_summary, study_design

    index = csi(clean_two, hierarchy=two.hierarchy(), by=["wave"], design=study_design(two))
    own = kpi_summary(clean_two, study=two, by=["wave"])
    given = kpi_summary(clean_two, study=two, by=["wave"], index=index)
    pd.testing.assert_frame_equal(own, given)
    assert "csi" in set(given["kpi"])


def test_kpi_words_keeps_english_and_rewords_chinese():
    """English labels stay as kpi_summary writes them; Chinese ones come from the tables."""
    from analysis_helpers.trend_report import kpi_words

    en = load_study("config/demo.yml")
    zh = load_study("config/demo-zh.yml")
    t = pd.DataFrame({
        "kpi": ["overall_mean", "nps", "csi", "ces_mean"],
        "label": ["Overall satisfaction 总体满意度: mean", "NPS (x)", "CSI", "E: mean"],
        "unit": ["mean (1-10)", "points", "index (0-100)", "mean (1-7, lower is better)"],
    })  # fmt: skip
    same = kpi_words(t, study=en)
    assert same["label"].tolist() == t["label"].tolist()
    assert same["scale"].tolist() == t["unit"].tolist()
    chinese = kpi_words(t, study=zh)
    assert chinese["label"].tolist() == [
        "Overall satisfaction 总体满意度：均值", "NPS（Likelihood to recommend 推荐意愿）",
        "客户满意度指数（CSI）", f"{zh.items[zh.kpis.ces].label}：均值",
    ]  # fmt: skip
    assert chinese["scale"].tolist() == [
        "均值（1-10）",
        "分",
        "指数（0-100）",
        "均值（1-7，越低越好）",
    ]
    assert chinese["unit"].tolist() == t["unit"].tolist()  # the number formats' key stays
