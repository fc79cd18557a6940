"""Every deprecated spelling (docs/api.md, "Deprecated spellings") still works for one
release: it warns with a DeprecationWarning that names the new word and gives the same
result as the new spelling."""

from __future__ import annotations

import importlib
import sys

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from analysis_helpers import (  # noqa: E402
    describe_plots,
    driver_plots,
    kpis,  # noqa: E402
    plots,
    study_tables,
    trend,
)
from analysis_helpers import drivers as drv  # noqa: E402
from analysis_helpers import estimation as est  # noqa: E402
from analysis_helpers import weighting as wt  # noqa: E402
from analysis_helpers.estimation import SurveyDesign  # noqa: E402


@pytest.fixture(scope="module")
def frame():
    rng = np.random.default_rng(11)
    n = 300
    x = rng.standard_normal((n, 3))
    return pd.DataFrame(
        {
            "y": np.clip(np.rint(5 + x @ [1.0, 0.5, 0.2] + rng.standard_normal(n)), 0, 10),
            "a": np.clip(np.rint(5 + 1.5 * x[:, 0]), 0, 10),
            "b": np.clip(np.rint(5 + 1.5 * x[:, 1]), 0, 10),
            "c": np.clip(np.rint(5 + 1.5 * x[:, 2]), 0, 10),
            "g": np.where(rng.random(n) < 0.5, "m", "f"),
            "cat": rng.choice(["x", "y", "z"], n),
            "w": rng.uniform(0.5, 2, n),
        }
    )


W = SurveyDesign(weight="w")

# (function, old keyword arguments, new keyword arguments, the new word the warning names)
CASES = [
    (
        est.survey_mean,
        {"items": "a", "level": 0.9},
        {"items": "a", "confidence": 0.9},
        "confidence=",
    ),
    (
        est.survey_total,
        {"items": "a", "level": 0.9},
        {"items": "a", "confidence": 0.9},
        "confidence=",
    ),
    (
        est.survey_var,
        {"items": "a", "level": 0.9},
        {"items": "a", "confidence": 0.9},
        "confidence=",
    ),
    (
        est.survey_ratio,
        {"numerator": "a", "denominator": "b", "level": 0.9},
        {"numerator": "a", "denominator": "b", "confidence": 0.9},
        "confidence=",
    ),
    (est.survey_proportion, {"item": "cat"}, {"items": "cat"}, "items="),
    (
        est.domain_difference,
        {"item": "a", "by": "g", "levels": ("m", "f")},
        {"items": "a", "by": "g", "values": ("m", "f")},
        "values=",
    ),
    (est.survey_ttest, {"item": "a", "group": "g"}, {"items": "a", "by": "g"}, "by="),
    (
        est.survey_glm,
        {"outcome": "y", "predictors": ["a", "b"]},
        {"outcome": "y", "drivers": ["a", "b"]},
        "drivers=",
    ),
    (kpis.csat, {"items": "a", "level": 0.9}, {"items": "a", "confidence": 0.9}, "confidence="),
    (
        kpis.top_box,
        {"items": "a", "top": (9, 10), "level": 0.9},
        {"items": "a", "top": (9, 10), "confidence": 0.9},
        "confidence=",
    ),
    (kpis.nps, {"item": "y"}, {"items": "y"}, "items="),
    (
        kpis.nps_difference,
        {"item": "y", "by": "g", "levels": ("m", "f")},
        {"items": "y", "by": "g", "values": ("m", "f")},
        "values=",
    ),
    (
        kpis.ces,
        {"items": "a", "easy": (9, 10), "level": 0.9},
        {"items": "a", "easy": (9, 10), "confidence": 0.9},
        "confidence=",
    ),
    (
        kpis.expectation_gap,
        {"pairs": [("a", "b")], "level": 0.9},
        {"pairs": [("a", "b")], "confidence": 0.9},
        "confidence=",
    ),
    (
        kpis.cronbach_alpha,
        {"items": {"abc": ["a", "b", "c"]}},
        {"blocks": {"abc": ["a", "b", "c"]}},
        "blocks=",
    ),
    (
        kpis.cronbach_alpha,
        {"items": ["a", "b", "c"], "level": 0.9},
        {"items": ["a", "b", "c"], "confidence": 0.9},
        "confidence=",
    ),
    (
        drv.weighted_correlation,
        {"columns": ["y", "a"], "weight": "w"},
        {"items": ["y", "a"], "design": W},
        "design=",
    ),
    (
        drv.driver_importance,
        {
            "outcome": "y",
            "drivers": ["a", "b", "c"],
            "weight": "w",
            "level": 0.9,
            "shapley_max_drivers": 5,
        },
        {
            "outcome": "y",
            "drivers": ["a", "b", "c"],
            "design": W,
            "confidence": 0.9,
            "lmg_max_drivers": 5,
        },
        "lmg_max_drivers=",
    ),
    (
        drv.segment_importance,
        {"outcome": "y", "drivers": ["a", "b"], "by": "g", "weight": "w"},
        {"outcome": "y", "drivers": ["a", "b"], "by": "g", "design": W},
        "design=",
    ),
    (
        drv.penalty_reward,
        {
            "outcome": "y",
            "drivers": ["a", "b"],
            "low_max": 3,
            "high_min": 7,
            "weight": "w",
            "level": 0.9,
        },
        {
            "outcome": "y",
            "drivers": ["a", "b"],
            "low_max": 3,
            "high_min": 7,
            "design": W,
            "confidence": 0.9,
        },
        "design=",
    ),
    (
        drv.permutation_importance_check,
        {"outcome": "y", "drivers": ["a", "b"], "weight": "w", "random_state": 1, "n_repeats": 2},
        {"outcome": "y", "drivers": ["a", "b"], "design": W, "random_state": 1, "n_repeats": 2},
        "design=",
    ),
]


@pytest.mark.parametrize(
    ("func", "old", "new", "word"), CASES, ids=lambda c: getattr(c, "__name__", "")
)
def test_deprecated_arguments_warn_and_agree(frame, func, old, new, word):
    data = frame.drop(columns="w") if "design" not in new and "weight" not in old else frame
    with pytest.warns(DeprecationWarning) as caught:
        got = func(data, **old)
    said = [str(w.message) for w in caught]
    assert any(m.startswith(f"{func.__name__}: ") and f"use {word}" in m for m in said), said
    assert all("removed in the next release" in m for m in said)
    pd.testing.assert_frame_equal(got, func(data, **new))


def test_old_and_new_spelling_together_is_an_error(frame):
    with pytest.raises(TypeError, match="give confidence= only, not also the deprecated level="):
        est.survey_mean(frame, items="a", level=0.9, confidence=0.9)


def test_deprecated_method_names_give_the_lmg_column_and_the_old_columns(frame):
    kw = {"outcome": "y", "drivers": ["a", "b", "c"], "design": W}
    new = drv.driver_importance(frame, **kw)
    assert {"relative_weight", "lmg", "lmg_pct"} <= set(new.columns)
    assert "shapley" not in new.columns
    with pytest.warns(DeprecationWarning) as caught:
        old = drv.driver_importance(frame, **kw, methods=("relative_weights", "shapley"))
    said = " | ".join(str(w.message) for w in caught)
    assert "method 'shapley' is deprecated; use 'lmg'" in said
    assert "method 'relative_weights' is deprecated; use 'relative_weight'" in said
    np.testing.assert_array_equal(old["shapley"], new["lmg"])
    np.testing.assert_array_equal(old["shapley_pct"], new["lmg_pct"])
    np.testing.assert_array_equal(old["lmg"], new["lmg"])
    np.testing.assert_array_equal(old["relative_weight"], new["relative_weight"])
    corr = drv.weighted_correlation(frame, items=["y", "a", "b", "c"], design=W)
    with pytest.warns(DeprecationWarning, match="method 'relative_weights' is deprecated"):
        t = drv.importance_from_correlation(corr, outcome="y", methods=["relative_weights"])
    assert "relative_weight" in t.columns


def test_rake_base_weight(frame):
    margins = {"g": {"m": 0.5, "f": 0.5}}
    with pytest.warns(DeprecationWarning, match="rake: base_weight= is deprecated; use design="):
        old = wt.rake(frame, margins=margins, base_weight="w")
    pd.testing.assert_series_equal(old, wt.rake(frame, margins=margins, design=W))


def test_trend_spellings():
    p = [0.01, 0.04, 0.03]
    with pytest.warns(DeprecationWarning, match="adjust_p: method= is deprecated; use correction="):
        old = trend.adjust_p(p, method="fdr_bh")
    np.testing.assert_array_equal(old, trend.adjust_p(p, correction="fdr_bh"))
    table = pd.DataFrame({"wave": ["1", "2"], "kpi": ["x", "x"], "estimate": [1.0, 2.0],
                          "se": [0.1, 0.1]})  # fmt: skip
    with pytest.warns(DeprecationWarning, match="wave_over_wave: keys= is deprecated; use by="):
        old = trend.wave_over_wave(table, order=["1", "2"], keys=["kpi"])
    pd.testing.assert_frame_equal(old, trend.wave_over_wave(table, order=["1", "2"], by="kpi"))


def test_with_item_weights_and_moved_functions():
    with pytest.warns(
        DeprecationWarning, match="use analysis_helpers.study_tables.item_performance"
    ):
        old = drv.item_performance
    assert old is study_tables.item_performance
    sys.modules.pop("analysis_helpers.scorecard", None)
    with pytest.warns(DeprecationWarning, match="use analysis_helpers.study_tables"):
        scorecard = importlib.import_module("analysis_helpers.scorecard")
    assert scorecard.kpi_summary is study_tables.kpi_summary
    assert scorecard.study_design is study_tables.study_design


def test_study_table_spellings():
    t = pd.DataFrame({"n": [5, 50], "estimate": [1.0, 2.0]})
    with pytest.warns(DeprecationWarning, match="flag_small_bases: base_col= is deprecated"):
        old = kpis.flag_small_bases(t, base_col="n")
    pd.testing.assert_frame_equal(old, kpis.flag_small_bases(t, base="n"))


def test_plot_spellings():
    t = pd.DataFrame({"wave": ["1", "2", "1", "2"], "g": ["a", "a", "b", "b"],
                      "estimate": [1.0, 2, 3, 4], "lo": [0.5, 1.5, 2.5, 3.5],
                      "hi": [1.5, 2.5, 3.5, 4.5], "item": ["p", "p", "q", "q"]})  # fmt: skip
    with pytest.warns(DeprecationWarning) as caught:
        ax = plots.kpi_trend(t, hue="g", low="lo", high="hi", label="KPI")
    said = {str(w.message).split(" (")[0] for w in caught}
    assert said == {
        "kpi_trend: hue= is deprecated; use by=",
        "kpi_trend: low= is deprecated; use ci_low=",
        "kpi_trend: high= is deprecated; use ci_high=",
        "kpi_trend: label= is deprecated; use axis_label=",
    }
    assert len(ax.get_lines()) == 2 and ax.get_ylabel() == "KPI"
    dist = pd.DataFrame({"item": ["p"] * 3 + ["q"] * 3, "code": [1, 2, 3] * 2,
                         "share": [0.2, 0.3, 0.5, 0.1, 0.1, 0.8], "area": ["A"] * 6})  # fmt: skip
    with pytest.warns(
        DeprecationWarning, match="grouped_likert: group_col= is deprecated; use by="
    ):
        describe_plots.grouped_likert(dist, group_col="area")
    with pytest.warns(DeprecationWarning, match="diverging_likert: code_col= is deprecated"):
        describe_plots.diverging_likert(dist, code_col="code")
    imp = pd.DataFrame({"driver": ["a", "b", "a", "b"], "seg": ["x", "x", "y", "y"],
                        "relative_weight_pct": [60.0, 40, 30, 70]})  # fmt: skip
    with pytest.warns(
        DeprecationWarning, match="importance_by_group: group= is deprecated; use by="
    ):
        driver_plots.importance_by_group(imp, group="seg")
    plt.close("all")
