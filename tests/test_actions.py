"""The action register: difference in differences against R survey, the study's actions.

R references: ``tests/reference/r_trend_contrasts.json`` (``tests/reference/r/
trend_contrasts.R``): ``svycontrast(svyby(~targeted+untargeted, ~wave, D, svymean,
covmat=TRUE), list(change_targeted=c(-1, 1, 0, 0), change_untargeted=c(0, 0, -1, 1),
did=c(-1, 1, 1, -1)))`` on apistrat with a fake wave split (waves share strata) and on two
stacked independent waves (apistrat as w1, the cluster sample apiclus1 as w2).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from analysis_helpers.actions import (
    action_items,
    action_scores,
    action_sentence,
    actions_takeaway,
    difference_in_differences,
    evaluate_actions,
)
from analysis_helpers.estimation import SurveyDesign, domain_difference
from analysis_helpers.study import load_study
from conftest import REFERENCE, assert_close

R = json.loads((REFERENCE / "r_trend_contrasts.json").read_text(encoding="utf-8"))["entries"]


def _api(name: str) -> pd.DataFrame:
    d = pd.read_csv(REFERENCE / "data" / f"survey_{name}.csv")
    der = pd.read_csv(REFERENCE / "data" / "survey_api_derived.csv")
    der = der[der["dataset"] == name].drop(columns="dataset")
    return d.merge(der, on="snum", how="left", validate="1:1")


def _stacked() -> pd.DataFrame:
    s1 = _api("apistrat").assign(wave="w1")
    s1["psu"] = "s" + s1["snum"].astype(str)
    s1["vstrat"] = "w1." + s1["stype"]
    s2 = _api("apiclus1").assign(wave="w2")
    s2["psu"] = "d" + s2["dnum"].astype(str)
    s2["vstrat"] = "w2"
    cols = ["psu", "vstrat", "fpc", "pw", "wave", "targeted", "untargeted"]
    return pd.concat([s1[cols], s2[cols]], ignore_index=True)


CASES = {
    # svydesign(id=~1, strata=~stype, weights=~pw, data=apistrat, fpc=~fpc)
    "apistrat_fakewave.did": (
        lambda: _api("apistrat"),
        SurveyDesign(weight="pw", strata="stype", fpc="fpc"),
    ),
    # svydesign(id=~psu, strata=~vstrat, fpc=~fpc, weights=~pw, data=stacked, nest=TRUE)
    "stacked.did": (_stacked, SurveyDesign(weight="pw", strata="vstrat", cluster="psu", fpc="fpc")),
}


@pytest.mark.parametrize("entry", list(CASES))
def test_did_matches_r_svycontrast(entry):
    data, design = CASES[entry]
    ref = R[entry]["values"]
    r = difference_in_differences(
        data(),
        targeted="targeted",
        comparison="untargeted",
        period="wave",
        values=("w1", "w2"),
        design=design,
    ).iloc[0]
    assert_close(r["targeted_change"], ref["estimate"]["change_targeted"])
    assert_close(r["compare_change"], ref["estimate"]["change_untargeted"])
    assert_close(r["estimate"], ref["estimate"]["did"])
    assert_close(r["targeted_change_se"], ref["se"]["change_targeted"])
    assert_close(r["compare_change_se"], ref["se"]["change_untargeted"])
    assert_close(r["se"], ref["se"]["did"])
    assert_close(r["ci_low"], ref["ci_normal"]["lower"]["did"])
    assert_close(r["ci_high"], ref["ci_normal"]["upper"]["did"])


def test_did_domain_means_match_r_svyby():
    ref = R["apistrat_fakewave.domain_means"]["values"]["estimate"]
    r = difference_in_differences(
        _api("apistrat"),
        targeted="targeted",
        comparison="untargeted",
        period="wave",
        values=("w1", "w2"),
        design=SurveyDesign(weight="pw", strata="stype", fpc="fpc"),
    ).iloc[0]
    assert_close(
        r[["targeted_before", "targeted_after", "compare_before", "compare_after"]].astype(float),
        [ref["w1:targeted"], ref["w2:targeted"], ref["w1:untargeted"], ref["w2:untargeted"]],
    )


def test_did_equals_the_difference_of_respondent_differences():
    """Without missing scores, the DiD is the wave difference of targeted - comparison."""
    d = _api("apistrat")
    design = SurveyDesign(weight="pw", strata="stype", fpc="fpc")
    r = difference_in_differences(
        d, targeted="targeted", comparison="untargeted", period="wave",
        values=("w1", "w2"), design=design,
    ).iloc[0]  # fmt: skip
    dd = domain_difference(
        d.assign(diff=d["targeted"] - d["untargeted"]), items="diff", by="wave",
        values=("w1", "w2"), design=design, distribution="normal",
    ).iloc[0]  # fmt: skip
    assert_close(r["estimate"], dd["estimate"])
    assert_close(r["se"], dd["se"])
    assert_close(r["p_value"], dd["p_value"])


def test_did_hand_example_and_domain():
    df = pd.DataFrame(
        {
            "t": [50.0, 60, 55, 65, 70, 60, 0, 0],
            "c": [40.0, 50, 45, 49, 54, 47, 90, 90],
            "p": ["before"] * 3 + ["after"] * 3 + ["before", "after"],
            "in": [True] * 6 + [False, False],
        }
    )
    r = difference_in_differences(df, targeted="t", comparison="c", period="p", domain="in")
    r = r.iloc[0]
    assert r["n_before"] == 3 and r["n_after"] == 3
    assert_close([r["targeted_change"], r["compare_change"], r["estimate"]], [10.0, 5.0, 5.0])
    # SRS, weight 1: the respondent difference t - c is 10, 10, 10 before and 16, 16, 13
    # after; the variance of a domain mean is sum (d_i - dbar)^2 / n_d^2 * n / (n - 1)
    dev = np.array([0, 0, 0, 1, 1, -2.0])
    var = (dev**2).sum() / 9 * 8 / 7
    assert_close(r["se"], np.sqrt(var))


def test_did_validation():
    df = pd.DataFrame({"t": [1.0, 2], "c": [1.0, 2], "p": ["before", "before"]})
    with pytest.raises(ValueError, match="no respondent of period 'after'"):
        difference_in_differences(df, targeted="t", comparison="c", period="p")
    with pytest.raises(ValueError, match="two different values"):
        difference_in_differences(df, targeted="t", comparison="c", period="p", values=("a", "a"))
    with pytest.raises(KeyError, match="'q'"):
        difference_in_differences(df, targeted="t", comparison="c", period="q")


# --------------------------------------------------------------------------------------
# the study's actions
# --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def demo():
    return load_study("config/demo.yml")


def test_action_items_defaults(demo):
    acts = {a.name: a for a in demo.actions}
    assert acts, "the demo study lists actions"
    for act in acts.values():
        targeted, comparison = action_items(act, study=demo)
        assert targeted and comparison
        assert not set(targeted) & set(comparison)
    cb = acts["hotline_upgrade"]
    targeted, comparison = action_items(cb, study=demo)
    assert targeted == ["hot_menu", "hot_fcr"]
    assert comparison == ["hot_wait", "hot_attitude", "hot_knowledge"]


def test_action_scores_rescale_and_average(demo):
    df = pd.DataFrame({"hot_wait": [1.0, 5, np.nan], "brand_trust": [10.0, 1, np.nan]})
    s = action_scores(df, study=demo, items=["hot_wait", "brand_trust"])
    assert_close(s.iloc[:2], [50.0, 50.0])
    assert np.isnan(s.iloc[2])


def test_demo_actions_golden(demo, truths):
    """The planted action works, the planted non-action shows no effect."""
    from analysis_helpers.cleaning import load_clean

    data = load_clean(demo)
    table = evaluate_actions(data, study=demo)
    verdict = dict(zip(table["action"], table["verdict"], strict=True))
    for name, planted in truths["actions"].items():
        assert verdict[name] == ("worked" if planted["works"] else "no effect"), table
    works = table[table["action"] == "hotline_upgrade"].iloc[0]
    assert works["estimate"] > 3 and works["ci_low"] > 0
    text = str(actions_takeaway(table, study=demo))
    assert "worked" in text and "no effect" in text
    assert "n/a" not in text


def test_action_sentence_not_measurable(demo):
    row = pd.Series({"label": "X", "verdict": "not measurable", "reason": "no wave before Q1"})
    assert str(action_sentence(row, study=demo)) == "**X** cannot be evaluated: no wave before Q1."


# --------------------------------------------------------------------------------------
# the study file: actions and data.respondent_operations
# --------------------------------------------------------------------------------------
def _act(**kw):
    return {"name": "a1", "targets": ["hot_wait"], "start": "2025Q1", **kw}


STUDY_CASES = [
    (
        "unknown item",
        lambda r: r.update(actions=[_act(targets=["hot_wait", "nope"])]),
        "actions[0].targets[1]: unknown item or area 'nope' (areas: ['billing', 'brand', "
        "'complaint', 'hotline', 'network', 'outlets', 'promotions', 'value'])",
    ),
    (
        "kpi item",
        lambda r: r.update(actions=[_act(targets=["osat"])]),
        "actions[0].targets[0]: item 'osat' is not a satisfaction item of an area; actions "
        "target areas or the satisfaction items of the index",
    ),
    (
        "wave outside the study",
        lambda r: r.update(actions=[_act(start="2026Q1")]),
        "actions[0].start: wave '2026Q1' is outside the study (waves: ['2024Q1', '2024Q2', "
        "'2024Q3', '2024Q4', '2025Q1', '2025Q2'])",
    ),
    (
        "first wave",
        lambda r: r.update(actions=[_act(start="2024Q1")]),
        "actions[0].start: wave '2024Q1' is the study's first wave; an action needs at least "
        "one wave before it to compare with",
    ),
    (
        "unknown segment",
        lambda r: r.update(actions=[_act(segments={"plan": ["x"]})]),
        "actions[0].segments.plan: not a segment column (segments: ['channel', "
        "'customer_type', 'region', 'tenure'])",
    ),
    (
        "unknown segment value",
        lambda r: r.update(actions=[_act(segments={"customer_type": ["vip"]})]),
        "actions[0].segments.customer_type: 'vip' is not a value of segment 'customer_type' "
        "(values: ['contract', 'high_bill', 'prepaid'])",
    ),
    (
        "compare overlaps",
        lambda r: r.update(actions=[_act(compare=["hot_wait", "hot_fcr"])]),
        "actions[0].compare: ['hot_wait'] are also targets of the action",
    ),
    (
        "duplicate name",
        lambda r: r.update(actions=[_act(), _act()]),
        "actions: name 'a1' is used 2 times",
    ),
    (
        "unknown key",
        lambda r: r.update(actions=[_act(start_wave="2025Q1")]),
        "actions[0].start_wave: unexpected key (check the spelling; see docs/study-file.md)",
    ),
    (
        "respondent operations without an id",
        lambda r: r["data"].pop("respondent_id"),
        "data.respondent_operations: needs data.respondent_id: the file is joined to "
        "respondents by their id",
    ),
    (
        "respondent operations outcome",
        lambda r: r["data"]["respondent_operations"].update(outcome="nope"),
        "data.respondent_operations.outcome: unknown item or area 'nope'",
    ),
]


@pytest.mark.parametrize(
    "mutate,message", [c[1:] for c in STUDY_CASES], ids=[c[0] for c in STUDY_CASES]
)
def test_action_study_file_errors(tmp_path, mutate, message):
    import copy

    import yaml

    from analysis_helpers.study import StudyFileError

    raw = copy.deepcopy(yaml.safe_load((REFERENCE.parents[1] / "config" / "demo.yml").read_text()))
    mutate(raw)
    (tmp_path / "config").mkdir()
    path = tmp_path / "config" / "study.yml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(StudyFileError) as info:
        load_study(path, check_files=False)
    assert any(line.endswith(f"study.yml: {message}") for line in str(info.value).splitlines()), (
        str(info.value)
    )


def test_demo_has_actions_and_respondent_operations(demo):
    assert demo.has_actions and demo.has_respondent_operations
    assert demo.absent("actions") is None
    assert [a.name for a in demo.actions] == ["hotline_upgrade", "bill_redesign"]
    assert demo.actions[1].segments == {"customer_type": ["prepaid"]}


def test_demo_actions_pre_trends_and_chart_data(demo):
    """Both planted actions start from parallel trends; the placebo is the DiD of the
    earlier pre-waves against the last one; the chart's points are the domain means."""
    import matplotlib

    matplotlib.use("Agg")
    from analysis_helpers.actions import _design_columns, action_waves, pre_trend_sentence
    from analysis_helpers.cleaning import load_clean
    from analysis_helpers.estimation import survey_mean
    from analysis_helpers.plots import apply_theme
    from analysis_helpers.study_tables import study_design
    from analysis_helpers.trend_plots import action_chart

    data = load_clean(demo)
    table = evaluate_actions(data, study=demo).set_index("action")
    hot = table.loc["hotline_upgrade"]
    assert (hot["pre_from"], hot["pre_to"]) == ("2024Q1, 2024Q2, 2024Q3", "2024Q4")
    assert set(table["pre_trend"]) == {"parallel"}
    targeted, comparison = action_items(next(a for a in demo.actions if a.name == "hotline_upgrade"),
                                        study=demo)  # fmt: skip
    design = study_design(demo)
    wv = data["wave"].astype(str)
    frame = pd.concat([pd.DataFrame({
        "t": action_scores(data, study=demo, items=targeted),
        "c": action_scores(data, study=demo, items=comparison),
        "p": np.where(wv.isin(["2024Q1", "2024Q2", "2024Q3"]), "before",
                      np.where(wv == "2024Q4", "after", "")),
    }, index=data.index), data[_design_columns(design, data)]], axis=1)  # fmt: skip
    placebo = difference_in_differences(frame, targeted="t", comparison="c", period="p",
                                        design=design).iloc[0]  # fmt: skip
    assert hot["pre_estimate"] == pytest.approx(placebo["estimate"], rel=1e-12)
    assert hot["pre_se"] == pytest.approx(placebo["se"], rel=1e-12)
    said = str(pre_trend_sentence(hot, study=demo))
    assert said.startswith("Before it started, the targeted and comparable items moved in parallel")
    one = evaluate_actions(data, study=demo, window=1)  # one wave on each side of the start
    assert set(one["pre_trend"]) == {"cannot check"} and one["pre_estimate"].isna().all()
    said = str(actions_takeaway(one, study=demo))
    assert said.count("cannot be checked: only one wave before the start") == 2
    points = action_waves(data, study=demo, actions=table.reset_index())
    assert len(points) == 2 * 2 * 6  # two actions, two series, six waves
    p = points[(points["action"] == "hotline_upgrade") & (points["wave"] == "2024Q4")
               & (points["series"] == "targeted")].iloc[0]  # fmt: skip
    own = survey_mean(frame[wv == "2024Q4"].assign(t=lambda d: d["t"]), items=["t"],
                      design=design).iloc[0]  # fmt: skip
    assert p["estimate"] == pytest.approx(own["estimate"], rel=1e-12)
    assert p["period"] == "before"
    apply_theme()  # the embedded font has the labels' Chinese characters
    fig = action_chart(points, order=demo.waves, starts=dict(zip(table.index, table["start"], strict=True)),
                       labels=demo.wave_labels())  # fmt: skip
    assert len([a for a in fig.axes if a.get_visible()]) == 2


def test_action_and_page_sentences_in_chinese(demo):
    """reporting.language zh: the action register, the join and the page's sentences are
    Chinese templates, with no English template words left."""
    import re

    from analysis_helpers.cleaning import load_clean
    from analysis_helpers.linkage import join_report_sentence
    from analysis_helpers.trend_report import significance_words, trend_intro

    zh = load_study("config/demo-zh.yml")
    assert zh.language == "zh"
    data = load_clean(demo)
    table = evaluate_actions(data, study=zh)
    said = str(actions_takeaway(table, study=zh))
    assert "有效" in said and "未见效果" in said and "走势平行" in said
    assert significance_words(zh) == "p < 0.05，经 Holm 校正"
    intro = str(trend_intro(data, study=zh))
    assert "名受访者" in intro and "respondents" not in intro
    report = pd.DataFrame({"what": ["records", "matched", "excluded_respondents", "unknown_ids",
                                    "without_record"], "n": [10, 6, 1, 3, 2]})  # fmt: skip
    join = str(join_report_sentence(report, file="ops.csv", study=zh))
    assert join.startswith("ops&#46;csv 共有 10 条记录") or join.startswith(
        "ops.csv 共有 10 条记录"
    )
    assert "1 条记录属于被清洗步骤排除的受访者" in join and "3 个 ID" in join
    english = re.sub(r"\*\*[^*]*\*\*|Q[1-4] 20\d\d|CI|p", "", said)  # labels and waves stay
    assert not re.search(r"\b(worked|shows|points|before|comparable)\b", english), english
