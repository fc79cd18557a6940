"""The drivers page's study-aware helpers: outcome, level and segment from the study, bases,
fall-backs, and takeaways that say only what the tables show."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from analysis_helpers.demo import write_study_shape
from analysis_helpers.driver_report import (
    SKIPPED,
    DriverSetup,
    IpaInputs,
    PenaltyRewardPlan,
    UsableBase,
    action_display,
    derived_hierarchy,
    driver_base,
    driver_setup,
    factor_display,
    group_drivers,
    group_takeaway,
    importance_display,
    importance_takeaway,
    index_weight_display,
    index_weight_takeaway,
    ipa_inputs,
    ipa_table,
    ipa_takeaway,
    loyalty_problem,
    loyalty_table,
    loyalty_takeaway,
    outcome_importance,
    penalty_reward_plan,
    permutation_display,
    permutation_table,
    permutation_takeaway,
    run_penalty_reward,
    skipped_sentence,
    small_base_sentence,
    usable_base,
)
from analysis_helpers.report_checks import sentence_problems
from analysis_helpers.safe_output import plain_text, render_markdown
from analysis_helpers.study import load_study


@pytest.fixture(scope="module")
def shapes(tmp_path_factory):
    root = tmp_path_factory.mktemp("shapes")
    names = ["full", "no_overall", "no_kpis", "no_hierarchy", "no_segments", "minimal", "one_wave"]
    return {n: load_study(write_study_shape(root / n, n)) for n in names}


def _words(text) -> str:
    """A takeaway as the reader sees it (Markdown rendered, escapes resolved)."""
    return plain_text(render_markdown(text)).strip()


def _clean(text) -> list:
    html = f"<p>{text}</p>"
    return sentence_problems(html)["problem"].tolist()


# ---- what the study allows ---------------------------------------------------------------
def test_setup_reads_outcome_loyalty_segment_and_areas_from_the_study(shapes):
    s = driver_setup(shapes["full"])
    assert (s.outcome, s.outcome_role, s.loyalty) == ("osat", "overall", "repurchase")
    assert s.segment == shapes["full"].segment_columns()[0]
    assert s.level == "area" and s.drivers == ["network", "hotline", "billing", "value"]
    assert len(s.items) == 20 and "osat" not in s.items
    assert s.reason is None and s.methods[-1] == "lmg"
    assert (s.driver_title, s.driver_noun) == ("Area", "area")


def test_setup_without_overall_uses_loyalty_and_compares_nothing(shapes):
    s = driver_setup(shapes["no_overall"])
    assert (s.outcome, s.outcome_role, s.loyalty) == ("repurchase", "loyalty", None)


def test_setup_without_hierarchy_has_a_flat_item_list_without_lmg(shapes):
    s = driver_setup(shapes["no_hierarchy"])
    assert s.level == "item" and len(s.drivers) == 20 and s.drivers == s.items
    assert "lmg" not in s.methods  # 2^20 subsets per bootstrap replicate is too slow
    assert s.driver_title == "Item"


def test_setup_without_outcome_says_why(shapes):
    for name in ("no_kpis", "minimal"):
        s = driver_setup(shapes[name])
        assert s.outcome is None
        assert "no outcome to find the drivers of" in s.reason
        assert skipped_sentence(s, None, study=shapes[name]) == s.reason
    assert driver_setup(shapes["no_segments"]).segment is None


def test_setup_parameters_are_checked(shapes):
    study = shapes["full"]
    assert driver_setup(study, segment="region").segment == "region"
    assert driver_setup(study, outcome="repurchase").outcome_role == "given"
    with pytest.raises(ValueError, match="segment 'customer_typ' is not one"):
        driver_setup(study, segment="customer_typ")
    with pytest.raises(ValueError, match="wave '2019' is not one"):
        driver_setup(study, wave="2019")
    with pytest.raises(ValueError, match="outcome 'nope' is not an item"):
        driver_setup(study, outcome="nope")


# ---- bases -------------------------------------------------------------------------------
def test_usable_base_counts_listwise_and_pairwise():
    t = pd.DataFrame({"y": [1, 2, 3, 4, 5], "a": [1, None, 3, 4, 5], "b": [2, 1, None, 3, None]})
    lw = usable_base(t, outcome="y", drivers=["a", "b"])
    assert (lw.n, lw.needed, lw.drivers, lw.ok) == (2, 20, 2, False)
    pw = usable_base(t, outcome="y", drivers=["a", "b"], missing="pairwise", min_per_driver=1)
    assert (pw.n, pw.needed, pw.ok) == (2, 4, False)  # a and b are both answered twice
    assert usable_base(t, outcome="y", drivers=["a"], min_per_driver=1).needed == 3  # p + 2
    with pytest.raises(ValueError, match="missing='both'"):
        usable_base(t, outcome="y", drivers=["a"], missing="both")


def test_small_base_sentence_states_the_base_and_the_need(shapes):
    base = usable_base(
        pd.DataFrame({"osat": range(135), **{f"x{k}": range(135) for k in range(20)}}),
        outcome="osat",
        drivers=[f"x{k}" for k in range(20)],
    )
    text = _words(small_base_sentence(base, study=shapes["full"], outcome="osat", what="items"))
    assert text == (
        "Only 135 respondents answered Overall satisfaction and all 20 items; 20 drivers "
        "need at least 200 (10 per driver), so this analysis is left out."
    )
    assert _clean(text) == [] and "see the top" in SKIPPED


# ---- penalty-reward at the level the base supports ------------------------------------------
#: three 1-5 items of the shape studies
ITEMS = {"i1": "net_cov_home", "i2": "hot_wait", "i3": "bill_clear"}
I1, I2, I3 = ITEMS.values()


def _ratings(n: int, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.integers(1, 6, (n, 3)).astype(float)
    y = x @ [0.6, 0.3, 0.1] + rng.normal(0, 1, n)
    return pd.DataFrame({I1: x[:, 0], I2: x[:, 1], I3: x[:, 2], "y": y})


def test_penalty_reward_falls_back_to_areas_then_says_why(shapes):
    study = shapes["full"]
    data = _ratings(60).assign(a1=lambda t: 25 * (t[I1] - 1), a2=lambda t: 25 * (t[I2] - 1))
    items = DriverSetup("y", "given", None, None, "", "item", [I1, I2, I3], [I1, I2, I3])
    plan = penalty_reward_plan(data, study=study, setup=items)
    assert plan.level == "item" and plan.drivers == [I1, I2, I3]
    assert plan.cuts.loc[I1, ["low_max", "high_min"]].tolist() == [2, 4]
    areas = DriverSetup("y", "given", None, None, "", "area", ["a1", "a2"], [I1, I2, I3])
    plan = penalty_reward_plan(data, study=study, setup=areas, min_per_driver=25)  # 75 > 60
    assert plan.level == "area" and plan.base.needed == 75
    assert plan.cuts.loc["a1", ["low_max", "high_min"]].tolist() == [25, 75]
    table, why = run_penalty_reward(data, plan, study=study, outcome="y", design=None)
    assert why is None and table["factor_label"].isin(["Basic", "Performance", "Excitement"]).all()
    flat = penalty_reward_plan(data, study=study, setup=items, min_per_driver=25)
    assert flat.level == "none"
    table, why = run_penalty_reward(data, flat, study=study, outcome="y", design=None)
    assert table is None and "Only 60 respondents answered" in why and "need at least 75" in why


def test_penalty_reward_drops_an_item_nobody_rates_low(shapes):
    data = _ratings(200).assign(**{I3: lambda t: t[I3].clip(lower=3)})
    s = DriverSetup("y", "given", None, None, "", "item", [I1, I2, I3], [I1, I2, I3])
    plan = penalty_reward_plan(data, study=shapes["full"], setup=s)
    assert plan.dropped == [I3] and plan.drivers == [I1, I2]


# ---- takeaways -----------------------------------------------------------------------------
def _imp(values, labels=("Network", "Hotline", "Billing"), ci=True):
    t = pd.DataFrame(
        {
            "driver": [x.lower() for x in labels],
            "label": list(labels),
            "relative_weight_pct": values,
            "r2": 0.5,
            "n": 400,
            "rank": range(1, len(values) + 1),
        }
    )
    if ci:
        t["relative_weight_pct_ci_low"] = [v - 5 for v in values]
        t["relative_weight_pct_ci_high"] = [v + 5 for v in values]
    return t


def test_importance_takeaway_names_leader_interval_and_ties(shapes):
    text = _words(
        importance_takeaway(_imp([50.0, 30.0, 20.0]), study=shapes["full"], outcome="osat")
    )
    assert text == (
        "Together the drivers explain 50% of the variation in Overall satisfaction (n = 400). "
        "Network matters most, with 50.0% of the explained variance (95% CI 45.0–55.0%), "
        "followed by Hotline (30.0%); the least important is Billing (20.0%). Neighbours in "
        "the ranking whose intervals overlap cannot be told apart at this sample size: "
        "Hotline and Billing."
    )
    many = _words(
        importance_takeaway(
            _imp([20.0, 19, 18, 17, 16, 10], labels="abcdef"), study=shapes["full"], outcome="osat"
        )
    )
    assert "The intervals of 5 of the 5 neighbouring pairs in the ranking overlap" in many


def test_permutation_takeaway_handles_a_useless_tree():
    perm = pd.DataFrame(
        {"label": ["A", "B"], "rank": [1, 2], "linear_rank": [2, 1], "r2_test": -0.1}
    )
    text = _words(permutation_takeaway(perm, _imp([60.0, 40.0], labels=("A", "B"))))
    assert text.startswith("The tree model predicts held-out respondents no better than their mean")
    assert "rank correlation of -1.00 - read the linear ranking with care" in text


def test_ipa_takeaway_counts_quadrants_in_words():
    ipa = pd.DataFrame(
        {
            "quadrant": ["concentrate here", "possible overkill"],
            "importance_cut": 50.0,
            "performance_cut": 60.0,
        }
    )
    actions = pd.DataFrame(
        {"label": ["Net"], "area_label": [None], "importance": [70.0], "performance": [40.0],
         "performance_gap": [-20.0]}
    )  # fmt: skip
    text = _words(ipa_takeaway(ipa, actions, crosshair="mean", noun="area"))
    assert text.startswith(
        "With the crosshair at the area means (importance 50.0% of R², performance 60.0), 1 of "
        "the 2 areas falls in concentrate here"
    )
    assert text.endswith(
        "First on the list: Net, with 70.0% of R² and a performance of 40.0, 20.0 below the line."
    )
    assert "No important area" in _words(
        ipa_takeaway(ipa, actions.head(0), crosshair="mean", noun="area")
    )


def test_group_takeaway_never_says_from_x_to_x():
    same = pd.DataFrame(
        {"label": ["A", "B", "A", "B"], "g": ["1", "1", "2", "2"],
         "relative_weight_pct": [60.0, 40.0, 60.01, 39.99]}
    )  # fmt: skip
    text = _words(group_takeaway(same, by="g", labels={"1": "Q1", "2": "Q2"}, kind="wave"))
    assert text == (
        "A is the top driver in every wave. No driver's share of R² differs by 0.1 points "
        "or more between the waves."
    )
    moved = same.assign(relative_weight_pct=[60.0, 40.0, 30.0, 70.0])
    text = _words(group_takeaway(moved, by="g", labels={"1": "Q1", "2": "Q2"}, order=["1", "2"]))
    assert text == (
        "The top driver differs: A in Q1 and B in Q2. The share that differs most is A's: "
        "60.0% of R² in Q1 against 30.0% in Q2."
    )
    assert _clean(text) == []


def test_loyalty_takeaway_with_identical_orders(shapes):
    imp = _imp([50.0, 30.0, 20.0])
    text = _words(
        loyalty_takeaway(imp, imp, study=shapes["full"], outcome="osat", loyalty="repurchase")
    )
    assert (
        "Both orders are the same" in text and "rank correlation of the two orders is 1.00" in text
    )


def test_index_weight_takeaway(shapes):
    table = pd.DataFrame(
        {"label": ["Net", "Bill"], "weight_equal": 0.5, "weight_derived": [0.7, 0.3],
         "weight_ci_low": [0.6, 0.2], "weight_ci_high": [0.8, 0.4], "area_score": [50.0, 70.0]}
    )  # fmt: skip
    text = _words(index_weight_takeaway(table, study=shapes["full"]))
    assert text == (
        "Weighted by derived importance, the index of the area scores is 56.0 instead of 60.0 "
        "with equal weights (it moves down: the most important areas score below the rest); "
        "Net would carry 70.0% of the index (95% CI 60.0–80.0%) instead of 50.0%."
    )
    flat = table.assign(area_score=60.0)
    assert "stays at 60.0, as with equal weights" in _words(
        index_weight_takeaway(flat, study=shapes["full"])
    )


# ---- one call per section ------------------------------------------------------------------
def test_setup_keeps_the_page_choices_and_checks_them(shapes):
    s = driver_setup(
        shapes["full"], performance="top2", crosshair="midpoint", pr_share=0.2,
        min_per_driver=5, n_boot=10, random_state=1,
    )  # fmt: skip
    assert (s.performance, s.crosshair, s.pr_share) == ("top2", "midpoint", 0.2)
    assert (s.min_per_driver, s.n_boot, s.random_state) == (5, 10, 1)
    assert driver_setup(shapes["full"]).min_per_driver == 10  # the defaults of the page
    with pytest.raises(ValueError, match="performance='median'; use one of 'mean', 'top2'"):
        driver_setup(shapes["full"], performance="median")
    with pytest.raises(ValueError, match="crosshair='centre'; use one of 'mean', 'midpoint'"):
        driver_setup(shapes["full"], crosshair="centre")
    with pytest.raises(ValueError, match=r"pr_share=0.7; give a share in \(0, 0.5\]"):
        driver_setup(shapes["full"], pr_share=0.7)


def _frame(n: int = 300, seed: int = 3) -> pd.DataFrame:
    """Three 1-5 items driving ``y`` (0.6, 0.3, 0.1), a loyalty item ``y2`` driven the other
    way round, two regions and three waves, weight 1."""
    t = _ratings(n, seed)
    rng = np.random.default_rng(seed + 1)
    return t.assign(
        y2=t[I3] * 0.8 + t[I1] * 0.1 + rng.normal(0, 1, n),
        region=np.where(np.arange(n) % 2 == 0, "north", "south"),
        wave=np.array(["2024Q1", "2024Q2", "2024Q3"])[np.arange(n) % 3],
        rake_weight=1.0,
    )


def _items(**choices) -> DriverSetup:
    return DriverSetup(
        "y", "overall", "y2", "region", "", "item", [I1, I2, I3], [I1, I2, I3], **choices
    )


def test_driver_base_is_none_without_a_model_and_counts_listwise_otherwise(shapes):
    assert driver_base(_frame(), setup=driver_setup(shapes["no_kpis"])) is None
    data = _frame(40).assign(**{I1: lambda t: t[I1].where(t.index >= 5)})
    base = driver_base(data, setup=_items(min_per_driver=12))
    assert (base.n, base.needed, base.ok) == (35, 36, False)  # 40 - 5 missing; 12 x 3


def test_outcome_importance_ranks_relative_weights_that_add_up_to_r2(shapes):
    data = _frame()
    imp = outcome_importance(data, study=shapes["full"], setup=_items())
    assert imp["driver"].tolist() == [I1, I2, I3] and imp["rank"].tolist() == [1, 2, 3]
    assert imp["label"].tolist() == ["Coverage at home", "Waiting time", "Bill easy to understand"]
    x = np.column_stack([np.ones(len(data)), data[[I1, I2, I3]].to_numpy()])
    fitted = x @ np.linalg.lstsq(x, data["y"].to_numpy(), rcond=None)[0]
    r2 = 1 - ((data["y"] - fitted) ** 2).sum() / ((data["y"] - data["y"].mean()) ** 2).sum()
    assert imp["relative_weight"].sum() == pytest.approx(r2, abs=1e-10)
    assert imp["r2"].iloc[0] == pytest.approx(r2, abs=1e-10)
    loy = outcome_importance(data, study=shapes["full"], setup=_items(), outcome="y2")
    assert loy["driver"].iloc[0] == I3  # the loyalty item follows the third item
    shown = importance_display(imp, setup=_items())
    assert shown["caption"] == "Derived importance of each item (% of R²)"
    assert list(shown["columns"])[-1] == "lmg_pct" and shown["columns"]["label"] == "Item"
    assert (
        "lmg_pct" not in importance_display(imp.drop(columns="lmg_pct"), setup=_items())["columns"]
    )


def test_permutation_table_sits_beside_the_linear_rank(shapes):
    data = _frame()
    study = shapes["full"]
    imp = outcome_importance(data, study=study, setup=_items())
    perm = permutation_table(data, study=study, setup=_items(random_state=0), importance=imp)
    assert perm["rank"].tolist() == [1, 2, 3] and perm["driver"].iloc[0] == I1
    assert perm.set_index("driver")["linear_rank"].to_dict() == {I1: 1, I2: 2, I3: 3}
    assert perm["label"].iloc[0] == "Coverage at home" and perm["n"].iloc[0] == 300
    shown = permutation_display(_items())
    assert shown["columns"]["label"] == "Item" and shown["kinds"]["importance"] == "number.3"


def test_action_display_follows_the_level_and_the_measure():
    base = UsableBase(100, 30, 3, 10)
    items = IpaInputs("item", pd.DataFrame(), pd.DataFrame(), "top-2-box, %", base, "top2")
    actions = pd.DataFrame({"label": ["A"], "area_label": ["Network"]})
    shown = action_display(actions, items)
    assert list(shown["columns"])[:3] == ["priority", "label", "area_label"]
    assert shown["columns"]["label"] == "Item"
    assert (shown["kinds"]["performance"], shown["kinds"]["performance_gap"]) == (
        "percent",
        "number.1",
    )
    areas = IpaInputs("area", pd.DataFrame(), pd.DataFrame(), "mean area score, 0-100", base)
    shown = action_display(actions.assign(area_label=None), areas)
    assert "area_label" not in shown["columns"] and shown["columns"]["label"] == "Area"
    assert shown["kinds"]["performance"] == "index"
    plan = PenaltyRewardPlan("area", [], pd.DataFrame(), [], base)
    assert factor_display(plan)["caption"] == "Areas that are not plain performance factors"


def test_ipa_inputs_take_the_measure_and_crosshair_of_the_setup(shapes):
    data = _frame()
    setup = _items(performance="top2", crosshair="midpoint")
    imp = outcome_importance(data, study=shapes["full"], setup=setup)
    ipa_in = ipa_inputs(data, study=shapes["full"], setup=setup, importance=imp)
    assert (ipa_in.level, ipa_in.measure, ipa_in.crosshair) == ("item", "top2", "midpoint")
    top2 = ((data[I1] >= 4).mean()) * 100
    assert ipa_in.performance.set_index("item").loc[I1, "estimate"] == pytest.approx(top2)
    table = ipa_table(ipa_in, study=shapes["full"])
    assert (table["performance_cut"] == 50).all()  # the midpoint crosshair


def test_loyalty_problem_says_why_in_one_sentence(shapes):
    full = shapes["full"]
    assert loyalty_problem(_frame(), study=full, setup=_items()) is None
    small = _words(loyalty_problem(_frame(25), study=full, setup=_items()))
    assert small.startswith("Only 25 respondents answered y2 and all 3 items; 3 drivers need")
    no_overall = driver_setup(shapes["no_overall"])
    assert _words(loyalty_problem(_frame(), study=shapes["no_overall"], setup=no_overall)) == (
        "The outcome above is already Would stay at contract renewal; the study has no "
        "overall-satisfaction item to compare its drivers with."
    )
    none = replace(_items(), loyalty=None)
    assert "names no loyalty or recommend item" in _words(
        loyalty_problem(_frame(), study=full, setup=none)
    )
    imp = outcome_importance(_frame(), study=full, setup=_items())
    both = loyalty_table(imp, imp.head(2), setup=_items())
    assert both.columns[0] == "outcome" and both["outcome"].tolist() == ["y"] * 3 + ["y2"] * 2


def test_group_drivers_by_segment_and_by_wave(shapes):
    full = shapes["full"]
    data = _frame(600)
    seg = group_drivers(data, study=full, setup=_items(), kind="segment")
    assert (seg.by, seg.groups, seg.problem) == ("region", ["north", "south"], None)
    assert seg.title == "Drivers of y by Region"
    north = seg.table[seg.table["region"] == "north"].set_index("driver")
    assert north["value_label"].iloc[0] == "North"
    alone = outcome_importance(data[data["region"] == "north"], study=full, setup=_items())
    assert north.loc[I1, "relative_weight"] == pytest.approx(
        alone.set_index("driver").loc[I1, "relative_weight"]
    )
    assert "top driver in every segment" in _words(seg.takeaway())
    waves = group_drivers(data, study=full, setup=_items(), kind="wave")
    assert waves.by == "wave" and waves.groups == ["2024Q1", "2024Q2", "2024Q3"]
    assert waves.table["wave_label"].iloc[0] == "Q1 2024" and waves.title == "Drivers of y by wave"
    few = group_drivers(data.head(100), study=full, setup=_items(min_per_driver=20), kind="wave")
    assert few.groups == [] and _words(few.problem) == (
        "Fewer than two waves have enough respondents for their own model (60 needed each), "
        "so the drivers cannot be compared over time."
    )
    with pytest.raises(ValueError, match="kind='area'; use one of 'segment', 'wave'"):
        group_drivers(data, study=full, setup=_items(), kind="area")


def test_index_weights_default_to_the_rescaled_relative_weights(shapes):
    full = shapes["full"]
    imp = pd.DataFrame(
        {"driver": ["network", "hotline", "billing", "value"],
         "relative_weight": [0.2, 0.1, 0.06, 0.04]}
    )  # fmt: skip
    h = derived_hierarchy(imp, study=full)
    w = h.drop_duplicates("area").set_index("area")["weight_area"]
    assert w.to_dict() == pytest.approx({"network": 0.5, "hotline": 0.25, "billing": 0.15,
                                         "value": 0.1})  # fmt: skip
    table = pd.DataFrame({"weight_stated": [np.nan, np.nan]})
    shown = index_weight_display(table)
    assert "weight_stated" not in shown["columns"] and shown["kinds"]["area_score"] == "index"
    assert "weight_stated" in index_weight_display(table.assign(weight_stated=0.5))["columns"]
