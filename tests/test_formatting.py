"""The formatting layer: every kind, the sentence helpers and client tables, checked by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from analysis_helpers.formatting import (
    KINDS,
    confidence_label,
    fmt_base,
    fmt_change,
    fmt_ci,
    fmt_count,
    fmt_list,
    fmt_num,
    fmt_p,
    fmt_pct,
    fmt_value,
    format_table,
    kind_for_unit,
    plural,
)
from analysis_helpers.study import load_study


@pytest.fixture(scope="module")
def study():
    return load_study("config/demo.yml")


@pytest.mark.parametrize(
    ("kind", "value", "decimals", "expected"),
    [
        ("share", 0.4512, None, "45%"),
        ("share", 0.4512, 1, "45.1%"),
        ("share", 0.004, None, "<1%"),
        ("share", 0.9961, None, ">99%"),
        ("share", 0.0, None, "0%"),
        ("share", 1.0, None, "100%"),
        ("percent", 32.66, None, "32.7%"),
        ("base", 680.733, None, "681"),
        ("base", 12345, None, "12,345"),
        ("integer", 3.0, None, "3"),
        ("mean", 6.622063, None, "6.62"),
        ("index", 62.619, None, "62.6"),
        ("nps", -4.4692, None, "-4"),
        ("nps", -0.405, None, "0"),  # no "-0"
        ("coef", 0.6149, None, "0.61"),
        ("number", -0.0004, 3, "0.000"),
        ("p", 5.1e-67, None, "< 0.001"),
        ("p", 0.03441, None, "0.034"),
        ("p", 1.0, None, "1.000"),
        ("bool", True, None, "yes"),
        ("bool", False, None, "no"),
        ("mean", float("nan"), None, "–"),
        ("share", None, None, "–"),
        ("index", math.inf, None, "–"),
        ("p", pd.NA, None, "–"),
    ],
)
def test_kinds(kind, value, decimals, expected):
    assert KINDS[kind].format(value, decimals) == expected


def test_sentence_helpers():
    assert fmt_num(12345.678) == "12,345.7" and fmt_num(float("nan")) == "n/a"
    assert fmt_pct(0.4567) == "46%" and fmt_pct(0.4567, 1) == "45.7%"
    assert fmt_p(5.1e-67) == "< 0.001" and fmt_p(5.1e-67, prefix=True) == "p < 0.001"
    assert fmt_p(0.0412, prefix=True) == "p = 0.041"
    assert fmt_base(1512.74) == "1,513" and fmt_base(1505, prefix=True) == "n = 1,505"
    assert fmt_value(0.451, "share") == "45%" and fmt_value(6.6221, "mean (1-10)") == "6.62"
    assert fmt_value(-4.47, "points") == "-4" and fmt_value(62.61, "index (0-100)") == "62.6"
    assert fmt_change(0.1734, "mean") == "+0.17" and fmt_change(-0.0561, "share") == "-5.6 pp"
    assert fmt_change(0.0, "index") == "0.0"


def test_intervals():
    assert fmt_ci(6.544357, 6.699769, kind="mean") == "6.54–6.70"
    assert fmt_ci(0.0750677, 0.1070768, kind="share") == "8–11%"
    assert fmt_ci(0.001, 0.0107, kind="share") == "<1%–1%"
    assert fmt_ci(-8.533, -0.405, kind="nps") == "-9 to 0"
    assert fmt_ci(-0.8, 1.2, kind="number.2") == "-0.80 to 1.20"
    assert fmt_ci(31.22, 33.80, kind="percent") == "31.2–33.8%"
    assert fmt_ci(float("nan"), float("nan"), kind="mean") == "n/a"


def test_confidence_label(study):
    assert confidence_label(0.95) == "95%"
    assert confidence_label(0.9) == "90%"
    assert confidence_label(0.995) == "99.5%"
    assert confidence_label(study) == "95%"
    with pytest.raises(ValueError, match="not in \\(0, 1\\)"):
        confidence_label(95)


def test_counts_and_plurals():
    assert fmt_count(1, "wave") == "1 wave" and fmt_count(6, "wave") == "6 waves"
    assert (
        fmt_count(0, "wave") == "0 waves" and fmt_count(1505, "respondent") == "1,505 respondents"
    )
    assert fmt_count(1, "analysis") == "1 analysis" and fmt_count(2, "analysis") == "2 analyses"
    assert plural(2, "category") == "categories" and plural(3, "box") == "boxes"
    assert plural(2, "day") == "days" and plural(2, "criterion") == "criteria"
    assert fmt_count(2, "person", "people") == "2 people"
    assert fmt_list([]) == "none" and fmt_list(["a"]) == "a"
    assert fmt_list(["a", "b", "c"]) == "a, b and c"
    assert fmt_list(["a", "b"], conjunction="or") == "a or b"


def test_units():
    assert kind_for_unit("share") == "share"
    assert kind_for_unit("mean (1-7, lower is better)") == "mean"
    assert kind_for_unit("points") == "nps" and kind_for_unit("index (0-100)") == "index"
    assert kind_for_unit(None) == "number" and kind_for_unit("weird") == "number"


def kpi_table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "kpi": ["overall_mean", "overall_top2", "nps", "ces_mean", "csi"],
            "label": ["Satisfaction 满意度: mean", "Top-2", "NPS", "Effort", "CSI"],
            "unit": [
                "mean (1-10)",
                "share",
                "points",
                "mean (1-7, lower is better)",
                "index (0-100)",
            ],
            "n": [1505, 1505, 1505, 1505, 20],
            "n_weighted": [1512.741, 1512.741, 1512.741, 1512.741, 19.6],
            "estimate": [6.622063, 0.0897949, -4.469201, 2.80238, np.nan],
            "se": [0.0396, 0.00813, 2.0736, 0.02978, np.nan],
            "ci_low": [6.544357, 0.0750677, -8.533357, 2.74402, np.nan],
            "ci_high": [6.699769, 0.1070768, -0.405045, 2.86074, np.nan],
            "flag": ["", "", "", "", "suppressed"],
        }
    )


def test_format_table_follows_the_row_units(study):
    view = format_table(kpi_table(), study=study)
    assert [c.label[-1] for c in view.columns] == [
        "KPI",
        "Name",
        "Unit",
        "Base",
        "Weighted base",
        "Estimate",
        "Std. error",
        "95% CI",
        "Note",
    ]
    t = view.text
    assert list(t.iloc[:, 5]) == ["6.62", "9%", "-4", "2.80", "–"]
    assert list(t.iloc[:, 6]) == ["0.040", "0.8%", "2.1", "0.030", "–"]
    assert list(t.iloc[:, 7]) == ["6.54–6.70", "8–11%", "-9 to 0", "2.74–2.86", "–"]
    assert list(t.iloc[:, 4]) == ["1,513", "1,513", "1,513", "1,513", "20"]
    assert list(t.iloc[:, 8]) == ["", "", "", "", "Suppressed"]
    assert view.classes.iloc[4, 8] == "flag-suppressed"
    assert [c.align for c in view.columns] == ["left"] * 3 + ["right"] * 5 + ["left"]
    assert view.notes == [
        "Low base: fewer than 30 respondents; suppressed: fewer than 10 (estimates left blank)."
    ]


def test_confidence_in_the_header_comes_from_the_study_settings(study):
    view = format_table(kpi_table(), ["label", "ci"], confidence=0.9)
    assert [c.label for c in view.columns] == [("Name",), ("90% CI",)]
    view = format_table(kpi_table(), ["label", "ci_high"], study=study)
    assert view.columns[1].label == ("95% CI",) and view.columns[1].sources == (
        ("ci_low",),
        ("ci_high",),
    )


def test_columns_mapping_selects_orders_and_labels():
    view = format_table(kpi_table(), {"estimate": "Score", "label": "KPI", "n": None})
    assert [c.label[-1] for c in view.columns] == ["Score", "KPI", "Base"]
    with pytest.raises(KeyError, match="the table has no column 'nope'"):
        format_table(kpi_table(), ["label", "nope"])


def test_kinds_override_and_unit_argument():
    t = pd.DataFrame({"area": ["A", "B"], "estimate": [63.4135, 60.72], "top2": [0.45123, 0.4]})
    view = format_table(t, kinds={"top2": "share.1"}, unit="index (0-100)")
    assert list(view.text.iloc[:, 1]) == ["63.4", "60.7"]
    assert list(view.text.iloc[:, 2]) == ["45.1%", "40.0%"]
    view = format_table(t, kinds={"estimate": "mean (1-5)"})
    assert list(view.text.iloc[:, 1]) == ["63.41", "60.72"]
    with pytest.raises(ValueError, match="unknown kind 'weird'"):
        format_table(t, kinds={"estimate": "weird"})


def test_significance_is_a_coloured_arrow(study):
    t = pd.DataFrame(
        {
            "label": ["CSI", "CSI", "Effort", "Effort"],
            "unit": ["index (0-100)"] * 2 + ["mean (1-7, lower is better)"] * 2,
            "change": [-2.69, 1.1, -0.12, 0.2],
            "p_adjusted": [5.6e-8, 0.33, 0.01, 0.02],
            "significant": [True, False, True, True],
        }
    )
    view = format_table(t, study=study)
    assert list(view.text.iloc[:, 2]) == ["-2.7", "+1.1", "-0.12", "+0.20"]
    assert list(view.text.iloc[:, 3]) == ["< 0.001", "0.330", "0.010", "0.020"]
    assert list(view.text.iloc[:, 4]) == ["▼", "", "▼", "▲"]
    # down is bad for the index, good for effort (lower is better)
    assert list(view.classes.iloc[:, 4]) == ["down-bad", "", "down-good", "up-bad"]
    assert view.columns[3].label == ("Adjusted p (Holm)",)
    assert view.notes == [
        "▲ ▼ significant rise / fall (p < 0.05, Holm-adjusted); green is better, red is worse."
    ]
    direction = t.drop(columns="change").assign(direction=["down", "up", "up", "down"])
    assert list(format_table(direction).text.iloc[:, 3]) == ["▼", "", "▲", "▼"]


def test_pivot_with_wave_codes_and_spanning_headers(study):
    long = pd.DataFrame(
        {
            "segment_label": ["Region 地区"] * 4,
            "value_label": ["North 华北", "North 华北", "South 华南", "South 华南"],
            "wave": ["2024Q1", "2024Q2", "2024Q1", "2024Q2"],
            "n": [364, 375, 381, 369],
            "n_effective": [328.4, 327.2, 318.0, 329.9],
        }
    )
    grid = long.pivot_table(
        index=["segment_label", "value_label"], columns="wave", values=["n", "n_effective"]
    ).swaplevel(axis=1)
    grid = grid[[(w, s) for w in ["2024Q1", "2024Q2"] for s in ["n", "n_effective"]]]
    view = format_table(grid, study=study, labels={"n_effective": "Effective"})
    assert [c.label for c in view.columns] == [
        ("", "Segment"),
        ("", "Group"),
        ("Q1 2024", "Base"),
        ("Q1 2024", "Effective"),
        ("Q2 2024", "Base"),
        ("Q2 2024", "Effective"),
    ]
    assert view.text.iloc[0].tolist() == ["Region 地区", "North 华北", "364", "328", "375", "327"]
    html = view.to_html(table_id="pivot")
    assert 'colspan="2"' in html and "Q1 2024" in html


def test_study_labels_wave_and_segment_values(study):
    t = pd.DataFrame({"wave": ["2024Q1"], "customer_type": ["contract"], "osat": [6.5]})
    view = format_table(t, study=study)
    assert view.text.iloc[0].tolist() == ["Q1 2024", "Contract 合约", "6.50"]
    assert [c.label[0] for c in view.columns] == [
        "Wave",
        "Customer type 客户类型",
        study.label("osat"),
    ]


def test_named_index_is_shown_and_booleans_read_as_words():
    t = pd.DataFrame({"reverse": [True, False]}, index=pd.Index(["a", "b"], name="item"))
    view = format_table(t)
    assert view.text.values.tolist() == [["a", "yes"], ["b", "no"]]


def test_free_text_is_redacted_unless_switched_off(study):
    t = pd.DataFrame({"comment": ["call 13812345678 or mail a@b.com"], "n": [1]})
    assert format_table(t, study=study).text.iloc[0, 0] == "call [phone] or mail [email]"
    assert format_table(t, study=study, redacted=False).text.iloc[0, 0].endswith("a@b.com")
    assert format_table(t, free_text=["comment"]).text.iloc[0, 0].startswith("call [phone]")


def test_html_escapes_every_text_and_aligns_numbers():
    t = pd.DataFrame(
        {
            "<b>label</b>": ["[x](javascript:alert(1))", "<script>alert(1)</script>"],
            "estimate": [1.5, 2.25],
        }
    )
    html = format_table(t, caption="<i>cap</i> & more", note="<u>note</u>").to_html(
        table_id="t 1", max_rows=1
    )
    assert "<script>" not in html and "<b>label" not in html and "<i>cap" not in html
    assert "&lt;b&gt;label&lt;/b&gt;" in html and "&lt;i&gt;cap&lt;/i&gt; &amp; more" in html
    assert "[x](javascript:alert(1))" in html and "href" not in html
    assert "&lt;u&gt;note&lt;/u&gt;" in html
    assert 'id="T_t-1"' in html
    assert "1 of 2 rows shown" in html
    assert "#T_t-1 td.col1" in html and "text-align: right" in html
    assert "mathjax_ignore" in html


def test_to_text_is_plain():
    text = format_table(kpi_table(), ["label", "estimate"], caption="KPIs").to_text()
    assert text.splitlines()[:3] == ["KPIs", "Name\tEstimate", "Satisfaction 满意度: mean\t6.62"]


def test_generic_numbers_get_decimals_by_magnitude():
    t = pd.DataFrame(
        {"a": [0.0123, 0.05], "b": [12.345, 3.2], "c": [512.3, 700.1], "d": [1e4, 2e4 + 0.5]}
    )
    view = format_table(t)
    assert view.text.iloc[0].tolist() == ["0.012", "12.35", "512.3", "10,000"]


def test_formatted_kind_keeps_the_text_and_aligns_right():
    view = format_table(pd.DataFrame({"a": ["6.62 AB", None]}), kinds={"a": "formatted"})
    assert view.text.iloc[:, 0].tolist() == ["6.62 AB", "–"]
    assert view.columns[0].align == "right"
