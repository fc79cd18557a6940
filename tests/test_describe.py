"""The descriptive page's takeaways and display tables, for studies of every shape.

Each takeaway is checked word for word on small hand-made tables, and against the sentence
check (no "1 waves", no "from X to X", no shortfall with a positive gap, no nan).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis_helpers.demo import write_study_shape
from analysis_helpers.describe import (
    area_takeaway,
    bases_takeaway,
    choose_cut,
    cut_caption,
    cut_grid,
    distribution_ends,
    distribution_note,
    distribution_takeaway,
    gap_takeaway,
    hierarchy_view,
    kpi_takeaway,
    kpi_view,
    overview,
    pick_segments,
    pick_wave,
    profile_columns,
    profile_takeaway,
    reliability_blocks,
    reliability_takeaway,
    wave_profile_grid,
    wave_profile_takeaway,
    weighting_columns,
    weighting_takeaway,
)
from analysis_helpers.report_checks import sentence_problems
from analysis_helpers.safe_output import plain_text, render_markdown
from analysis_helpers.study import Reporting, Study, load_study

ROOT = Path(__file__).resolve().parents[1]


def text(m) -> str:
    """What the reader sees of a takeaway."""
    return plain_text(render_markdown(m)).strip()


def clean(m) -> str:
    """The takeaway's text, asserting the sentence check finds nothing in it."""
    t = text(m)
    found = sentence_problems(f"<p>{t}</p>", page="test")
    assert found.empty, found.to_string()
    return t


@pytest.fixture(scope="module")
def demo() -> Study:
    return load_study(ROOT / "config" / "demo.yml", check_files=False)


@pytest.fixture(scope="module")
def shapes(tmp_path_factory) -> dict[str, Study]:
    base = tmp_path_factory.mktemp("shapes")
    return {
        name: load_study(write_study_shape(base / name, name))
        for name in ("unweighted", "one_wave", "no_wave_column", "delivered_weights")
    }


def with_reporting(study: Study, **rules) -> Study:
    spec = study.spec.model_copy(update={"reporting": Reporting(**rules)})
    return Study(spec, path=study.path, root=study.root)


# ---- parameters ----------------------------------------------------------------------------
def test_pick_wave_takes_the_latest_wave_with_data_and_checks_a_given_one(demo):
    data = pd.DataFrame({"wave": ["2024Q1", "2024Q3", "2024Q3"]})
    assert pick_wave(data, study=demo) == "2024Q3"
    assert pick_wave(data, study=demo, wave="2024Q1") == "2024Q1"
    with pytest.raises(ValueError, match="wave '2030Q1' is not one of the study's waves"):
        pick_wave(data, study=demo, wave="2030Q1")
    with pytest.raises(ValueError, match="wave '2024Q2' has no respondents"):
        pick_wave(data, study=demo, wave="2024Q2")
    with pytest.raises(ValueError, match="no respondents in any wave"):
        pick_wave(data.iloc[:0], study=demo)


def test_the_default_wave_skips_a_latest_wave_below_the_minimum_base(demo):
    from analysis_helpers.describe import wave_note

    data = pd.DataFrame({"wave": ["2024Q1"] * 40 + ["2024Q2"] * 30 + ["2024Q3"]})
    assert pick_wave(data, study=demo) == "2024Q2"  # min_base 30: Q3's 1 interview is short
    assert clean(wave_note(data, study=demo, current="2024Q2")) == (
        "The latest wave, Q3 2024, has only 1 respondent (fewer than the minimum base of 30), "
        "so this page describes Q2 2024; ask for Q3 2024 with the wave parameter."
    )
    assert pick_wave(data, study=demo, wave="2024Q3") == "2024Q3"  # asked for: honoured
    assert text(wave_note(data, study=demo, current="2024Q3")) == ""
    few = pd.DataFrame({"wave": ["2024Q1"] * 5 + ["2024Q3"] * 2})  # no wave reaches 30
    assert pick_wave(few, study=demo) == "2024Q3"
    assert text(wave_note(few, study=demo, current="2024Q3")) == ""


def test_pick_segments(demo):
    assert pick_segments(demo) == ["customer_type", "tenure", "region", "channel"]
    assert pick_segments(demo, ["region"]) == ["region"]
    with pytest.raises(ValueError, match=r"\['gender'\] are not segments of the study"):
        pick_segments(demo, ["gender"])


# ---- overview and profile ----------------------------------------------------------------------
def test_overview_names_the_study_wave_bases_and_rules(demo, shapes):
    data = pd.DataFrame({"wave": ["2024Q1"] * 3 + ["2025Q2"] * 2})
    assert clean(overview(data, study=demo, wave="2025Q2")) == (
        "Network operator customer satisfaction 客户满意度 (demo) for Demo Telecom, Q2 2025: "
        "2 respondents in the analysis file (5 over 2 waves). Cells with fewer than 30 "
        "respondents are flagged low base; cells with fewer than 10 are suppressed (left blank)."
    )
    one = shapes["one_wave"]
    t = clean(overview(pd.DataFrame({"wave": ["2024Q1"]}), study=one, wave="2024Q1"))
    assert t.startswith(
        "Network operator customer survey, Q1 2024: 1 respondent in the analysis file."
    )
    none = shapes["no_wave_column"]
    t = clean(overview(pd.DataFrame({"wave": ["all"] * 4}), study=none, wave="all"))
    assert t.startswith("Network operator customer survey: 4 respondents in the analysis file.")
    rules = with_reporting(none, min_base=20, suppress_below=0)
    assert text(overview(pd.DataFrame({"wave": ["all"]}), study=rules, wave="all")).endswith(
        "Cells with fewer than 20 respondents are flagged low base."
    )


def _profile(weighted: bool) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "segment": ["customer_type"] * 3 + ["region"] * 2,
            "segment_label": ["Customer type"] * 3 + ["Region"] * 2,
            "value": ["contract", "high_bill", "prepaid", "north", "south"],
            "value_label": ["Contract", "High-bill", "Prepaid", "North", "South"],
            "n": [50, 25, 25, 60, 40],
            "n_weighted": [45.0, 15.0, 40.0, 60.0, 40.0] if weighted else [50.0, 25, 25, 60, 40],
            "n_effective": [40.0, 20.0, 20.0, 50.0, 30.0],
            "share": [0.5, 0.25, 0.25, 0.6, 0.4],
            "share_weighted": [0.45, 0.15, 0.40, 0.6, 0.4]
            if weighted
            else [0.5, 0.25, 0.25, 0.6, 0.4],
            "flag": ["", "low base", "low base", "", ""],
        }
    )


def test_profile_takeaway_weighted_and_unweighted(demo, shapes):
    total = pd.Series({"n": 100, "n_effective": 80.0})
    assert clean(profile_takeaway(_profile(True), study=demo, total=total)) == (
        "The 100 interviews are worth an effective sample of 80 respondents after weighting "
        "(80% efficiency). Weighting moves the share of Prepaid (Customer type) from 25% of "
        "interviews to 40% of customers. 2 groups are below the minimum base of 30: "
        "High-bill (Customer type) and Prepaid (Customer type)."
    )
    un = shapes["unweighted"]
    assert clean(profile_takeaway(_profile(False), study=un, total=total)) == (
        "The largest group is North (Region: 60% of the 100 interviews); the smallest is "
        "High-bill (Customer type: 25%, n = 25). 2 groups are below the minimum base of 30: "
        "High-bill (Customer type) and Prepaid (Customer type)."
    )
    hidden = _profile(True).assign(share=np.nan, share_weighted=np.nan)  # all suppressed
    for study in (demo, un):
        assert clean(profile_takeaway(hidden, study=study, total=total)) == (
            "No group of the 100 interviews reaches the minimum base of 30, so the profile "
            "shows no shares."
        )
    assert "n_weighted" in profile_columns(demo) and "share_weighted" in profile_columns(demo)
    assert list(profile_columns(un)) == ["segment_label", "value_label", "n", "share", "flag"]


def _by_wave(shares: list[float], weighted: list[float]) -> pd.DataFrame:
    rows = []
    for w, s, sw in zip(["2024Q1", "2024Q2"], shares, weighted, strict=True):
        for v, lab, share, wshare in (("a", "A", s, sw), ("b", "B", 1 - s, 1 - sw)):
            rows.append(
                {"segment": "seg", "segment_label": "Plan", "value": v, "value_label": lab,
                 "wave": w, "n": int(100 * share), "n_weighted": 100 * wshare,
                 "n_effective": 80 * share, "share": share, "share_weighted": wshare}
            )  # fmt: skip
    t = pd.DataFrame(rows)
    return t.assign(flag=np.where(t["n"] < 30, "low base", ""))


def test_wave_profile_takeaway_drift_held_or_not(demo, shapes):
    held = _by_wave([0.2, 0.35], [0.3, 0.3])
    assert clean(wave_profile_takeaway(held, study=demo)) == (
        "The smallest segment cell is A (Plan) in Q1 2024 with 20 interviews (effective n 16); "
        "1 of the 4 segment-by-wave cells falls below the minimum base of 30. The sample mix "
        "drifts most for A (Plan): its share of a wave's interviews ranges from 20% to 35%; "
        "after weighting its share is 30% throughout, so wave-to-wave changes are not an "
        "artefact of who answered."
    )
    moved = _by_wave([0.4, 0.5], [0.4, 0.5])
    t = clean(wave_profile_takeaway(moved, study=demo))
    assert "no segment-by-wave cell falls below the minimum base of 30" in t
    assert t.endswith("after weighting its share runs from 40% to 50%, so read wave-to-wave "
                      "changes with the mix in mind.")  # fmt: skip
    stable = _by_wave([0.4, 0.4], [0.4, 0.4])
    assert clean(wave_profile_takeaway(stable, study=demo)).endswith(
        "The sample mix is stable: every group's share of the interviews is the same in every "
        "wave, to the percentage point."
    )
    un = shapes["unweighted"]
    t = clean(wave_profile_takeaway(moved, study=un))
    assert "effective" not in t and t.endswith("may come from who answered.")


def test_wave_profile_grid_has_a_block_per_wave_in_order(demo, shapes):
    t = _by_wave([0.2, 0.35], [0.3, 0.3])
    grid = wave_profile_grid(t.iloc[::-1], study=demo)
    assert list(grid.columns)[:3] == [("Q1 2024", "n"), ("Q1 2024", "n_weighted"),
                                      ("Q1 2024", "n_effective")]  # fmt: skip
    assert grid.loc[("Plan", "A"), ("Q2 2024", "n")] == 35
    un = wave_profile_grid(t, study=shapes["unweighted"])
    assert [c[1] for c in un.columns] == ["n", "n"]


# ---- weighting -----------------------------------------------------------------------------------
def _weights(n_waves: int, *, raked: bool) -> pd.DataFrame:
    t = pd.DataFrame(
        {
            "wave": ["2024Q1", "2024Q2"][:n_waves],
            "wave_label": ["Q1 2024", "Q2 2024"][:n_waves],
            "n": [100, 120][:n_waves],
            "mean": [1.0, 2.0][:n_waves],
            "min": [0.5, 1.0][:n_waves],
            "max": [2.0, 5.0][:n_waves],
            "n_effective": [80.0, 90.0][:n_waves],
            "efficiency": [0.8, 0.75][:n_waves],
            "deff_weighting": [1.25, 1 / 0.75][:n_waves],
            "max_margin_error": [0.0001, 0.002][:n_waves] if raked else [np.nan] * n_waves,
            "share_at_trim": [0.05, 0.1][:n_waves] if raked else [np.nan] * n_waves,
        }
    )
    return t


def test_weighting_takeaway_raked_and_delivered(demo, shapes):
    t = clean(weighting_takeaway(_weights(2, raked=True), study=demo, wave="2024Q2"))
    assert t == (
        "Raking to the Customer type 客户类型, Region 地区 and Tenure 在网时长 margins "
        "reproduces every population share to within 0.2 percentage points in every wave. In "
        "Q2 2024, the weights run from 0.50 to 2.50 times the average weight (10% of "
        "respondents sit at a trimming bound). The price is an efficiency of 75%: the 120 "
        "interviews carry the precision of 90 unweighted ones. The design effect due to "
        "weighting of 1.33 widens confidence intervals by about 15%. Across the waves the "
        "efficiency ranges from 75% to 80%."
    )
    one = _weights(1, raked=False).assign(wave="all", wave_label="all respondents")
    study = shapes["delivered_weights"]
    t = clean(weighting_takeaway(one, study=shapes["no_wave_column"], wave="all"))
    assert t.startswith("The study file sets no raking") or t.startswith("Raking")
    assert "Across the waves" not in t and "In all respondents" not in t
    t = clean(weighting_takeaway(_weights(1, raked=False), study=study, wave="2024Q1"))
    assert t.startswith(
        "The study file sets no raking; the design weight is used as delivered. In Q1 2024, "
        "the weights run from 0.50 to 2.00 times the average weight. The price"
    )
    cols = weighting_columns(_weights(1, raked=False))
    assert "max_margin_error" not in cols and "share_at_trim" not in cols
    assert "max_margin_error" in weighting_columns(_weights(1, raked=True))
    flat = _weights(1, raked=False).assign(min=1.0, max=1.0)
    assert "every weight equals the average weight" in text(
        weighting_takeaway(flat, study=study, wave="2024Q1")
    )


# ---- KPIs and areas ------------------------------------------------------------------------------
def _kpis(keys: list[str]) -> pd.DataFrame:
    rows = {
        "overall_mean": ("Overall satisfaction: mean", "mean (1-10)", 6.5, 6.3, 6.7),
        "overall_top2": ("Overall satisfaction: top-2-box", "share", 0.1, 0.08, 0.12),
        "nps": ("NPS (Likelihood to recommend)", "points", -4.2, -9.0, 0.6),
        "ces_mean": ("Effort: mean", "mean (1-7, lower is better)", 2.9, 2.8, 3.0),
        "repurchase_top2": ("Would stay: top-2-box", "share", 0.55, 0.5, 0.6),
        "csi": ("Customer satisfaction index (CSI)", "index (0-100)", 61.0, 60.0, 62.0),
    }
    return pd.DataFrame(
        [
            {"kpi": k, "label": rows[k][0], "unit": rows[k][1], "n": 400, "estimate": rows[k][2],
             "ci_low": rows[k][3], "ci_high": rows[k][4]}
            for k in keys
        ]
    )  # fmt: skip


def test_kpi_takeaway_says_only_what_the_study_has(demo):
    every = ["overall_mean", "overall_top2", "nps", "ces_mean", "repurchase_top2", "csi"]
    t = clean(kpi_takeaway(_kpis(every), study=demo))
    for piece in [
        "averages 6.50 on 1-10 (95% CI 6.30–6.70), with 10% giving a top-2-box answer (9 or 10).",
        "The NPS is -4 points (95% CI -9 to 1).",
        "averages 2.90 on 1-7, where lower is better (95% CI 2.80–3.00).",
        "Top-2-box loyalty: 55% for",
        "The satisfaction index is 61.0 out of 100 (95% CI 60.0–62.0). Base: 400 respondents.",
    ]:
        assert piece in t
    assert "NPS" not in text(kpi_takeaway(_kpis(["overall_mean", "csi"]), study=demo))
    one = _kpis(["nps"]).assign(estimate=-1.2, ci_low=-15.0, ci_high=13.0)
    assert "The NPS is -1 point (95% CI -15 to 13)." in clean(kpi_takeaway(one, study=demo))
    only = clean(kpi_takeaway(_kpis(["csi"]), study=with_reporting(demo, confidence=0.9)))
    assert (
        only
        == "The satisfaction index is 61.0 out of 100 (90% CI 60.0–62.0). Base: 400 respondents."
    )
    view = kpi_view(_kpis(every)).set_index("kpi")["scale"]
    assert view.to_dict() == {
        "overall_mean": "Mean on 1-10",
        "overall_top2": "% of respondents",
        "nps": "NPS points (-100 to 100)",
        "ces_mean": "Mean on 1-7 (lower is better)",
        "repurchase_top2": "% of respondents",
        "csi": "Index (0-100)",
    }


def test_area_takeaway_one_area_equal_areas_and_a_gap(demo):
    areas = pd.DataFrame(
        {"area": ["Billing", "Network"], "estimate": [64.0, 52.0], "ci_low": [61.0, 49.0],
         "ci_high": [67.0, 55.0]}
    )  # fmt: skip
    assert clean(area_takeaway(areas, study=demo)) == (
        "Billing scores highest (64.0, 95% CI 61.0–67.0) and Network lowest (52.0, CI "
        "49.0–55.0): a gap of 12.0 index points, and the intervals do not overlap."
    )
    assert clean(area_takeaway(areas.iloc[:1], study=demo)) == (
        "The one area, Billing, scores 64.0 out of 100 (95% CI 61.0–67.0)."
    )
    tied = areas.assign(estimate=[60.01, 60.02])
    assert clean(area_takeaway(tied, study=demo)) == "All 2 areas score 60.0 out of 100."


# ---- distributions --------------------------------------------------------------------------
def _dist() -> pd.DataFrame:
    rows = []
    for item, label, scale, codes, shares in [
        ("a", "Item A", "1-5", ["1", "2", "3", "4", "5"], [0.1, 0.2, 0.3, 0.2, 0.2]),
        ("b", "Item B", "1-10", ["1-2", "3-4", "5-6", "7-8", "9-10"], [0.05, 0.05, 0.2, 0.3, 0.4]),
        ("c", "Item C", "1-7", list("1234567"), [0.3, 0.1, 0.1, 0.1, 0.1, 0.1, 0.2]),
    ]:
        for band, (code, share) in enumerate(zip(codes, shares, strict=True), start=1):
            rows.append({"item": item, "label": label, "area": "", "scale": scale, "band": band,
                         "n_bands": len(codes), "codes": code, "n": 100, "share": share})  # fmt: skip
    return pd.DataFrame(rows)


def test_distribution_ends_by_hand():
    ends = distribution_ends(_dist()).set_index("item")
    assert ends.loc["a", "low"] == pytest.approx(0.3) and ends.loc["a", "high"] == pytest.approx(
        0.4
    )
    assert ends.loc["b", "low"] == pytest.approx(0.1) and ends.loc["b", "high"] == pytest.approx(
        0.7
    )
    assert ends.loc["c", "low"] == pytest.approx(0.5) and ends.loc["c", "high"] == pytest.approx(
        0.4
    )
    assert clean(distribution_takeaway(_dist())) == (
        "Item C draws the most low answers: 50% answer below the middle of its 1-7 scale "
        "(n = 100). Item B draws the most high answers: 70% answer above the middle (n = 100)."
    )


def test_distribution_note_follows_the_scales(demo):
    t = clean(distribution_note(_dist().query("item != 'c'"), study=demo))
    assert t.startswith(
        "The 1-5 items show each of their 5 codes; the 1-10 items are drawn in 5 bands "
        "(1-2, 3-4, 5-6, 7-8, 9-10). Scales with the same number of bands share a chart and a "
        "legend."
    )
    t = clean(distribution_note(_dist(), study=demo))
    assert "the 1-7 items show each of their 7 codes" in t
    assert "Scales with a different number of bands get a chart each." in t


# ---- hierarchy --------------------------------------------------------------------------------
def test_hierarchy_view_indents_by_level():
    tree = pd.DataFrame(
        {"level": ["index", "area", "indicator", "item", "area", "item"],
         "label": ["CSI", "Network", "Coverage", "At home", "Billing", "Accuracy"],
         "indicator": ["", "", "cov", "cov", "", ""]}
    )  # fmt: skip
    view = hierarchy_view(tree)
    assert list(view["label"]) == ["CSI", "Network", "\u2003Coverage", "\u2003\u2003At home",
                                   "Billing", "\u2003Accuracy"]  # fmt: skip
    assert list(view["level"]) == ["Index", "Area", "Indicator", "Item", "Area", "Item"]


# ---- expectation gaps ------------------------------------------------------------------------------
def _gaps(estimates: list[float], significant: list[bool]) -> pd.DataFrame:
    k = len(estimates)
    est = np.array(estimates)
    return pd.DataFrame(
        {
            "label": [f"Aspect {chr(65 + i)}" for i in range(k)],
            "area_label": ["Hotline"] * k,
            "mean_expectation": 4.0,
            "mean_satisfaction": 4.0 + est,
            "estimate": est,
            "ci_low": est - 0.2,
            "ci_high": est + 0.2,
            "gap_100": 25 * est,
            "p_adjusted": np.where(significant, 0.0001, 0.4),
            "significant": significant,
            "scale_min": 1.0,
            "scale_max": 5.0,
            "n": 120,
        }
    )


def test_gap_takeaway_is_worded_by_sign(demo):
    mixed = clean(gap_takeaway(_gaps([-0.8, -0.3, 0.36], [True, False, False]), study=demo))
    assert mixed == (
        "The largest shortfall is Aspect A (Hotline): customers expect 4.00 and rate it 3.20 "
        "on 1-5, a gap of -0.80 (95% CI -1.00 to -0.60; -20.0 points on 0-100; Holm-adjusted "
        "p < 0.001, n = 120). 2 of the 3 aspects fall short of expectations, one of them "
        "significantly at the 0.05 level. The largest surplus is Aspect C (Hotline): customers "
        "expect 4.00 and rate it 4.36 on 1-5, a gap of +0.36 (95% CI 0.16–0.56; +9.0 points on "
        "0-100; Holm-adjusted p = 0.400, n = 120)."
    )
    none_short = clean(gap_takeaway(_gaps([0.36, 0.1], [True, False]), study=demo))
    assert none_short.startswith(
        "No aspect falls short of expectations: every rating meets or exceeds what customers "
        "expect. The largest surplus is Aspect A"
    )
    assert "shortfall" not in none_short
    assert none_short.endswith("2 of the 2 aspects rate above expectations, one of them "
                               "significantly at the 0.05 level.")  # fmt: skip
    every = clean(gap_takeaway(_gaps([-0.5, -0.2], [True, True]), study=demo))
    assert "All 2 aspects fall short of expectations, both significantly" in every
    one = clean(gap_takeaway(_gaps([-0.5], [False]), study=demo))
    assert one == (
        "Aspect A (Hotline) falls short of expectations: customers expect 4.00 and rate it 3.50 "
        "on 1-5, a gap of -0.50 (95% CI -0.70 to -0.30; -12.5 points on 0-100; p = 0.400, "
        "n = 120). The shortfall is not significant at the 0.05 level."
    )


# ---- reliability and bases ---------------------------------------------------------------------------
def test_reliability_takeaway(demo):
    rel = pd.DataFrame(
        {"area": ["Network", "Billing"], "n_items": [5, 3], "n": [140, 140],
         "alpha": [0.84, 0.62], "ci_low": [0.78, 0.50], "ci_high": [0.88, 0.71]}
    )  # fmt: skip
    assert clean(reliability_takeaway(rel, study=demo, min_alpha=0.7)) == (
        "The least reliable area is Billing, with alpha 0.62 (95% CI 0.50–0.71, 3 items, "
        "n = 140); the most reliable reaches 0.84. 1 area cannot be shown to reach 0.70: "
        "Billing - read its area score with care."
    )
    assert clean(reliability_takeaway(rel.iloc[:1], study=demo, min_alpha=0.7)) == (
        "Network has an alpha of 0.84 (95% CI 0.78–0.88, 5 items, n = 140). Its interval lies "
        "above 0.70: the items hang together and can be rolled up."
    )
    assert set(reliability_blocks(demo)) == {
        "network", "complaint", "hotline", "billing", "outlets", "promotions", "brand", "value"
    }  # fmt: skip
    # the rows described: a wave not asked the hotline area, nor one billing item
    items = demo.hierarchy()
    rng = np.random.default_rng(1)
    now = pd.DataFrame({i: rng.integers(1, 6, 20).astype(float) for i in items["item"]})
    hotline = list(items.loc[items["area"] == "hotline", "item"])
    billing = list(items.loc[items["area"] == "billing", "item"])
    now[hotline] = np.nan
    now[billing[0]] = np.nan
    blocks = reliability_blocks(demo, data=now)
    assert "hotline" not in blocks and blocks["billing"] == billing[1:]
    assert blocks["network"] == list(items.loc[items["area"] == "network", "item"])
    # two items answered, but never by the same respondent: no alpha
    split = now.copy()
    net = blocks["network"]
    split[net] = np.nan
    split.loc[:9, net[0]] = 4.0
    split.loc[10:, net[1]] = 3.0
    assert "network" not in reliability_blocks(demo, data=split)


def _bases() -> pd.DataFrame:
    return pd.DataFrame(
        {"cut": ["a", "b", "a x b"], "cut_label": ["A", "B", "A x B"], "ways": [1, 1, 2],
         "cells": [3, 2, 6], "min_n": [40, 60, 5], "median_n": [45.0, 65.0, 18.0],
         "max_n": [50, 70, 30], "low_base": [0, 0, 4], "suppressed": [0, 0, 1],
         "share_reportable": [1.0, 1.0, 1 / 6]}
    )  # fmt: skip


def test_bases_takeaway_and_choose_cut(demo):
    assert clean(bases_takeaway(_bases(), study=demo)) == (
        "Crossing A x B gives 6 cells with a median base of 18: 1 cell below 10 is suppressed "
        "and 4 cells below 30 are flagged, so 17% can be read without caution. Each segment on "
        "its own keeps all its cells at 30 or more; crosses of segments need pooled waves or a "
        "larger sample."
    )
    empty = _bases().assign(suppressed=[0, 0, 6], low_base=[0, 0, 0], share_reportable=[1, 1, 0])
    assert "every cell is below 10 and suppressed" in clean(bases_takeaway(empty, study=demo))
    assert choose_cut(_bases()) == ["a"]  # the cross is mostly too small
    assert choose_cut(_bases().assign(share_reportable=[1.0, 1.0, 0.6])) == ["a", "b"]
    single = clean(bases_takeaway(_bases().iloc[:1], study=demo))
    assert (
        single
        == "Splitting by A gives 3 cells with a median base of 45: every cell reaches the minimum base of 30."
    )


def test_cut_grid_marks_low_and_suppressed_cells(demo):
    cells = pd.DataFrame(
        {"customer_type": pd.Categorical(["Contract", "Contract", "Prepaid"]),
         "region": pd.Categorical(["North", "South", "North"]),
         "estimate": [0.25, 0.5, np.nan], "n": [40, 20, 5],
         "flag": ["", "low base", "suppressed"]}
    )  # fmt: skip
    grid = cut_grid(cells, study=demo, columns=["customer_type", "region"])
    assert list(grid.columns) == ["Customer type 客户类型", "North", "South"]
    assert grid.set_index("Customer type 客户类型").to_dict("index") == {
        "Contract": {"North": "25% (40)", "South": "50% (20)*"},
        "Prepaid": {"North": "–", "South": ""},
    }
    assert cut_caption(demo, ["customer_type", "region"]).endswith(
        "by Customer type 客户类型 x Region 地区; * below 30, – suppressed below 10; empty: nobody"
    )


def test_gap_takeaway_a_gap_that_rounds_to_zero_is_on_par(demo):
    t = clean(gap_takeaway(_gaps([-0.5, 0.002], [True, False]), study=demo))
    assert "surplus" not in t
    assert t.endswith("Aspect B meets expectations: rating and expectation round to the same mean.")
    assert t.startswith("Aspect A (Hotline) falls short of expectations")
    assert "It is the only aspect that falls short. The shortfall is significant" in t


def test_kpi_titles_are_the_scales_in_words():
    from analysis_helpers.describe import kpi_titles

    assert kpi_titles(_kpis(["nps", "csi", "overall_top2"])) == {
        "points": "NPS points (-100 to 100)",
        "index (0-100)": "Index (0-100)",
        "share": "% of respondents",
    }


def test_cut_caption_needs_an_overall_item(demo):
    spec = demo.spec
    plain = spec.model_copy(update={"kpis": spec.kpis.model_copy(update={"overall": None})})
    study = Study(plain, path=demo.path, root=demo.root)
    with pytest.raises(ValueError, match=r"no overall-satisfaction item \(kpis.overall\)"):
        cut_caption(study, ["customer_type"])


def test_the_shown_columns_of_the_gap_bases_and_hierarchy_tables(demo, tmp_path):
    from analysis_helpers.describe import (
        BASES_COLUMNS,
        GAP_COLUMNS,
        GAP_KINDS,
        hierarchy_columns,
    )
    from analysis_helpers.formatting import format_table

    def shown(view, row):
        return dict(zip([c.label[-1] for c in view.columns], view.text.iloc[row], strict=True))

    table = _gaps([-0.8], [True]).assign(flag="")
    gap = shown(format_table(table, GAP_COLUMNS, kinds=GAP_KINDS, study=demo), 0)
    assert (gap["Item"], gap["Expectation"], gap["Satisfaction"]) == ("Aspect A", "4.00", "3.20")
    assert (gap["Gap"], gap["95% CI"], gap["Gap (0-100)"]) == ("-0.80", "-1.00 to -0.60", "-20.0")
    cross = shown(format_table(_bases(), BASES_COLUMNS, study=demo), 2)
    assert (cross["Segments crossed"], cross["Smallest base"], cross["Reportable"]) == (
        "A x B",
        "5",
        "17%",
    )
    assert hierarchy_columns(demo)["label"] == "Index, area, indicator or item"
    flat = load_study(write_study_shape(tmp_path, "no_indicators"))
    assert hierarchy_columns(flat)["label"] == "Index, area or item"


def test_answer_distribution_from_the_cube_equals_the_rows():
    """The banded shares from the cleaning step's cube are those counted on the rows."""
    from analysis_helpers.cleaning import clean
    from analysis_helpers.describe import answer_distribution
    from analysis_helpers.study_tables import banded_distribution

    study = load_study(Path(__file__).resolve().parents[1] / "config/demo.yml")
    res = clean(study)
    for wave in ("2024Q1", "2025Q2"):
        now = res.data[res.data[study.wave_column] == wave]
        rows = banded_distribution(now, study=study)
        got = answer_distribution(now, study=study, wave=wave, cube=res.cube)
        pd.testing.assert_frame_equal(got, rows, check_exact=True)
        assert np.allclose(got.groupby("item")["share"].sum(), 1.0)
    assert answer_distribution(now, study=study, wave="2025Q2").equals(rows)  # no cube: rows
