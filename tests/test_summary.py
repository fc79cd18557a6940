"""The executive summary's ranking rules (analysis_helpers.summary) on hand-made tables,
and its sentences for the study shapes: one wave, no segments, no drivers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis_helpers.io import read_report_table, write_report_table
from analysis_helpers.safe_output import plain_text, render_markdown
from analysis_helpers.study import load_study
from analysis_helpers.summary import (
    headline_kpis,
    rank_actions,
    rank_drivers,
    rank_movers,
    rank_turning_points,
    rank_weak_spots,
    summary_findings,
)

ROOT = Path(__file__).resolve().parents[1]

ONE_WAVE = """\
study: {name: one, title: One wave}
data:
  root: data/raw/one
  files: [{path: w1.csv}]
  respondent_id: id
items: [{name: q1, label: Q1, scale: {min: 1, max: 5}}]
kpis: {overall: q1}
"""


@pytest.fixture(scope="module")
def demo():
    return load_study(ROOT / "config/demo.yml")


@pytest.fixture
def one_wave(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[project]\nname='x'\n")
    (tmp_path / "data/raw/one").mkdir(parents=True)
    (tmp_path / "data/raw/one/w1.csv").write_text("id,q1\n1,4\n2,5\n")
    (tmp_path / "config").mkdir()
    path = tmp_path / "config/one.yml"
    path.write_text(ONE_WAVE, encoding="utf-8")
    return load_study(path)


def text(md) -> str:
    return plain_text(render_markdown(md))


# ---- hand-made tables (demo waves: 2024Q1 ... 2025Q2) -------------------------------------
def kpis() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "kpi": ["overall_mean", "nps", "csi"],
            "label": ["Overall", "NPS", "CSI"],
            "unit": ["mean (1-10)", "points", "index (0-100)"],
            "estimate": [6.62, -4.0, 62.6],
            "n": [1505, 1505, 1505],
        }
    )


def kpi_changes() -> pd.DataFrame:
    rows = [
        # an older pair: must not be read as the latest change
        ("overall_mean", "Overall", "mean (1-10)", "2024Q1", "2024Q2", 0.5, 9.0, 0.0, True),
        ("overall_mean", "Overall", "mean (1-10)", "2025Q1", "2025Q2", 0.17, 3.1, 0.004, True),
        ("nps", "NPS", "points", "2025Q1", "2025Q2", 3.0, 1.2, 0.46, False),
        ("csi", "CSI", "index (0-100)", "2025Q1", "2025Q2", -2.5, -4.0, 0.0003, True),
    ]
    return pd.DataFrame(
        rows,
        columns=[
            "kpi", "label", "unit", "wave_from", "wave_to", "change", "statistic",
            "p_adjusted", "significant",
        ],
    ).assign(estimate_from=np.nan, estimate_to=np.nan)  # fmt: skip


def area_changes() -> pd.DataFrame:
    rows = [
        ("network", "Network", "2024Q3", "2024Q4", -15.8, -12.0, 0.0, True),
        ("network", "Network", "2025Q1", "2025Q2", 4.1, 3.5, 0.001, True),
        ("hotline", "Hotline", "2025Q1", "2025Q2", 5.0, 5.5, 0.0, True),
        ("billing", "Billing", "2025Q1", "2025Q2", 9.0, 1.5, 0.6, False),  # big, not significant
        ("value", "Value", "2024Q1", "2024Q2", 0.6, 4.0, 0.002, True),  # below min_change
    ]
    return pd.DataFrame(
        rows,
        columns=[
            "name", "area", "wave_from", "wave_to", "change", "statistic", "p_adjusted",
            "significant",
        ],
    ).assign(estimate_from=np.nan, estimate_to=np.nan)  # fmt: skip


def spots() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "rank": [1, 2, 3, 4, 5],
            "segment": ["ct", "tenure", "region", "ct", "region"],
            "segment_label": ["Customer type", "Tenure", "Region", "Customer type", "Region"],
            "value": ["high_bill", "y5p", "north", "prepaid", "south"],
            "value_label": ["High-bill", "5+ years", "North", "Prepaid", "South"],
            "label": ["Complaints", "Network", "Billing", "Value", "Brand"],
            "n": [451, 367, 200, 500, 300],
            "difference": [-26.9, -7.7, -6.0, -1.0, 4.0],
            "p_adjusted": [0.0, 0.0001, 0.2, 0.01, 0.001],
            "significant": [True, True, False, True, True],
            "direction": ["below", "below", "below", "below", "above"],
        }
    )


def importance() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "driver": ["value", "network", "hotline", "brand"],
            "label": ["Value", "Network", "Hotline", "Brand"],
            "relative_weight_pct": [21.0, 32.7, 15.8, 2.0],
            "rank": [2, 1, 3, 4],
        }
    )


def ipa() -> pd.DataFrame:
    rows = [
        # item, importance, performance, importance_gap, performance_gap, quadrant
        ("a", 6.0, 55.0, 3.5, -8.0, "concentrate here"),
        ("b", 6.5, 58.0, 4.0, -5.0, "concentrate here"),
        ("c", 6.0, 50.0, 3.5, -13.0, "concentrate here"),  # ties a on the gap, lower performance
        ("d", 6.6, 63.0, 4.1, 0.1, "keep up the good work"),
        ("e", 4.4, 65.0, 1.9, 2.4, "keep up the good work"),
        ("f", 1.0, 56.0, -1.5, -7.0, "low priority"),
        ("g", 1.6, 59.0, -0.9, -4.0, "low priority"),
        ("h", 0.5, 70.0, -2.0, 7.0, "possible overkill"),
    ]
    t = pd.DataFrame(
        rows,
        columns=[
            "item", "importance", "performance", "importance_gap", "performance_gap", "quadrant",
        ],
    )  # fmt: skip
    return t.assign(label=t["item"].str.upper())


def tables() -> dict:
    return {
        "kpi_summary": kpis(),
        "wave_changes": kpi_changes(),
        "area_changes": area_changes(),
        "weak_spots": spots(),
        "driver_importance": importance(),
        "ipa": ipa(),
    }


# ---- the ranking rules ---------------------------------------------------------------------
def test_headline_kpis_take_the_change_of_the_latest_pair(demo):
    head = headline_kpis(kpis(), kpi_changes(), study=demo)
    assert list(head["kpi"]) == ["overall_mean", "nps", "csi"]  # the study's order
    assert list(head["wave_from"]) == ["2025Q1"] * 3
    assert head["change"].tolist() == [0.17, 3.0, -2.5]  # not the 2024Q1-Q2 change
    assert head["significant"].tolist() == [True, False, True]


def test_headline_kpis_without_a_comparison(demo):
    head = headline_kpis(kpis(), None, study=demo)
    assert head["wave_from"].isna().all() and not head["significant"].any()
    # a KPI the trend page could not compare has no change
    head = headline_kpis(kpis(), kpi_changes().query("kpi != 'nps'"), study=demo)
    assert pd.isna(head.set_index("kpi").loc["nps", "wave_from"])
    assert not head.set_index("kpi").loc["nps", "significant"]


def test_movers_are_significant_changes_of_the_latest_pair_ranked_by_z(demo):
    movers = rank_movers(kpi_changes(), area_changes(), study=demo, top=10)
    # |z|: hotline 5.5, csi 4.0, network 3.5, overall 3.1; NPS and billing not significant,
    # the 2024 changes are of older pairs
    assert list(movers["name"]) == ["hotline", "csi", "network", "overall_mean"]
    assert list(movers["rank"]) == [1, 2, 3, 4]
    assert list(movers["what"]) == ["area", "kpi", "area", "kpi"]
    assert set(movers["wave_to"]) == {"2025Q2"}
    assert list(rank_movers(kpi_changes(), area_changes(), study=demo)["name"]) == [
        "hotline",
        "csi",
        "network",
    ]


def test_movers_ties_go_to_the_larger_change(demo):
    t = area_changes().assign(statistic=4.0, significant=True)
    movers = rank_movers(None, t, study=demo, top=2)
    assert list(movers["name"]) == ["billing", "hotline"]  # |change| 9.0, then 5.0


def test_no_movers_when_nothing_is_significant(demo):
    t = kpi_changes().assign(significant=False)
    assert rank_movers(t, None, study=demo).empty
    assert rank_movers(None, None, study=demo).empty


def test_turning_points_are_significant_and_large_enough():
    turns = rank_turning_points(area_changes(), min_change=1.0)
    assert list(zip(turns["name"], turns["wave_to"], strict=True)) == [
        ("network", "2024Q4"),
        ("hotline", "2025Q2"),
        ("network", "2025Q2"),
    ]
    assert list(turns["rank"]) == [1, 2, 3]
    assert "value" in set(rank_turning_points(area_changes(), min_change=0.5)["name"])


def test_weak_spots_are_significant_cells_below_the_rest():
    low = rank_weak_spots(spots(), top=5)
    # North is not significant, South is above the rest
    assert list(low["value"]) == ["high_bill", "y5p", "prepaid"]
    assert list(low["rank"]) == [1, 2, 3]
    assert list(rank_weak_spots(spots(), top=1)["value"]) == ["high_bill"]
    assert rank_weak_spots(None).empty


def test_drivers_by_rank():
    top = rank_drivers(importance(), top=3)
    assert list(top["driver"]) == ["network", "value", "hotline"]
    unranked = importance().drop(columns="rank")
    assert list(rank_drivers(unranked, top=2)["driver"]) == ["network", "value"]


def test_actions_fix_maintain_watch():
    acts = rank_actions(ipa(), top=3)
    assert list(acts["action"]) == ["fix"] * 3 + ["maintain"] * 2 + ["watch"] * 2
    by = {a: list(acts.loc[acts["action"] == a, "item"]) for a in ("fix", "maintain", "watch")}
    # fix: furthest above the importance line first; a tie goes to the lower performance
    assert by["fix"] == ["b", "c", "a"]
    assert by["maintain"] == ["d", "e"]  # most important first
    assert by["watch"] == ["f", "g"]  # lowest performance first
    assert "h" not in set(acts["item"])  # possible overkill is not an action
    assert list(rank_actions(ipa(), top=1)["item"]) == ["b", "d", "f"]


# ---- the sentences ---------------------------------------------------------------------------
def test_findings_in_order_each_with_its_numbers_and_page(demo):
    f = summary_findings(tables(), study=demo, outcome_label="Overall satisfaction")
    assert list(f["section"]) == [
        "kpis",
        "movers",
        "turning_point",
        "weak_spots",
        "drivers",
        "fix",
        "maintain",
        "watch",
    ]
    assert list(f["rank"]) == list(range(1, 9)) and set(f["kind"]) == {"finding"}
    for row in f.itertuples():
        assert f"]({row.page}.html)" in row.text, row.text  # links to its evidence
    say = {r.section: text(r.text) for r in f.itertuples()}
    assert say["kpis"] == (
        "In Q2 2025: Overall 6.62 (up 0.17 on Q1 2025, p = 0.004); NPS -4; CSI 62.6 (down "
        "2.5 index points on Q1 2025, p < 0.001) (see Descriptive statistics and Trend). The "
        "others show no significant change on Q1 2025."
    )
    assert say["movers"] == (
        "The biggest significant moves from Q1 2025 to Q2 2025: Hotline rose 5.0 index "
        "points (p < 0.001); CSI fell 2.5 index points (p < 0.001); Network rose 4.1 index "
        "points (p = 0.001) (see Trend)."
    )
    assert say["turning_point"] == (
        "The turning point: Network fell 15.8 index points from Q3 2024 to Q4 2024 (p < "
        "0.001), the largest significant area change of the 6 waves (see Trend)."
    )
    assert say["weak_spots"].startswith(
        "The weakest spots: High-bill (Customer type) rate Complaints 26.9 index points below "
        "the rest (p < 0.001, n = 451); 5+ years (Tenure) rate Network 7.7"
    )
    assert "North" not in say["weak_spots"] and "South" not in say["weak_spots"]
    assert say["drivers"] == (
        "The top drivers of Overall satisfaction, by share of the explained variance: Network "
        "(32.7%), Value (21.0%) and Hotline (15.8%) (see Drivers)."
    )
    assert say["fix"].startswith("Fix first: B (importance 6.5%, performance 58.0), C ")
    assert say["watch"].startswith("Watch: F (importance 1.0%, performance 56.0) and G ")


def test_nothing_insignificant_is_called_a_change(demo):
    t = tables()
    t["wave_changes"] = kpi_changes().assign(significant=False)
    t["area_changes"] = area_changes().assign(significant=False)
    f = summary_findings(t, study=demo)
    say = {r.section: text(r.text) for r in f.itertuples()}
    assert "turning_point" not in say
    assert say["kpis"].endswith(
        "No KPI changed significantly on Q1 2025 (p < 0.05, Holm-adjusted)."
    )
    assert say["movers"] == (
        "From Q1 2025 to Q2 2025, no KPI and no area changed significantly (p < 0.05, "
        "Holm-adjusted) (see Trend)."
    )
    for sentence in say.values():
        for verb in (" rose ", " fell ", " up ", " down "):
            assert verb not in sentence, sentence


def test_the_turning_point_is_not_repeated_when_it_is_a_mover(demo):
    t = tables()
    t["area_changes"] = area_changes()[lambda d: d["wave_to"] == "2025Q2"]
    f = summary_findings(t, study=demo)
    assert "turning_point" not in set(f["section"])


def test_one_wave_says_so_once(one_wave):
    t = {"kpi_summary": kpis().head(1)}
    f = summary_findings(t, study=one_wave)
    assert list(f["section"]) == ["kpis", "changes", "weak_spots", "drivers", "themes"]
    say = {r.section: text(r.text) for r in f.itertuples()}
    assert say["kpis"] == "Headline KPIs: Overall 6.62 (see Descriptive statistics)."
    assert say["changes"] == (
        "This study has one wave; comparisons over time need two or more. No change over "
        "time is reported."
    )
    # no segments, no drivers: said in one sentence each, as notes
    assert f.set_index("section").loc["weak_spots", "kind"] == "na"
    assert f.set_index("section").loc["drivers", "kind"] == "na"
    assert say["themes"] == one_wave.absent("text")


def test_no_weak_spot_is_significant(demo):
    t = tables()
    t["weak_spots"] = spots().assign(significant=False)
    say = {r.section: text(r.text) for r in summary_findings(t, study=demo).itertuples()}
    assert say["weak_spots"] == (
        "No segment rates an area significantly below the rest of the sample (p < 0.05, "
        "Holm-adjusted) (see Cross-analysis)."
    )


def test_report_tables_read_back_as_written(tmp_path):
    t = pd.DataFrame(
        {"wave_from": ["2024", "2025"], "label": ["=HYPERLINK(1)", "-x"], "sig": [True, False]}
    )
    write_report_table(t, tmp_path / "t.csv")
    back = read_report_table(tmp_path / "t.csv", text=["wave_from"])
    assert back is not None
    pd.testing.assert_frame_equal(back, t)
    assert read_report_table(tmp_path / "absent.csv") is None


def test_no_drivers_says_why(one_wave):
    from analysis_helpers.safe_output import md

    why = md("The study file names no **overall** item.")
    f = summary_findings({}, study=one_wave, drivers_reason=why).set_index("section")
    assert text(f.loc["drivers", "text"]) == (
        "The study file names no overall item. There is no driver or action list (see Drivers)."
    )
    f = summary_findings({}, study=one_wave).set_index("section")
    assert "(it says why)" in text(f.loc["drivers", "text"])


def theme_changes(rise: bool = True) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "theme": ["signal", "billing", "no_theme", "signal", "billing", "no_theme"],
            "theme_label": ["Signal", "Bills", "No theme matched"] * 2,
            "value_1": ["2024Q4"] * 3 + ["2025Q1"] * 3,
            "value_2": ["2025Q1"] * 3 + ["2025Q2"] * 3,
            "estimate_2": [0.20, 0.10, 0.40, 0.25, 0.16, 0.35],
            "estimate": [0.07, 0.01, 0.02, 0.05, 0.06, -0.05],
            "p_adjusted": [0.001, 0.8, 0.5, 0.02, 0.0004, 0.01],
            "direction": ["rise", "", "", "rise" if rise else "", "rise" if rise else "", "fall"],
        }
    )


def test_rising_comment_themes_of_the_latest_wave(demo):
    t = tables()
    t["theme_changes"] = theme_changes()
    f = summary_findings(t, study=demo)
    assert list(f["section"])[-1] == "themes"
    row = f.iloc[-1]
    assert row["page"] == "70-voice" and "](70-voice.html)" in row["text"]
    # the latest pair only, largest rise first; the earlier rise of signal is not named
    assert text(row["text"]) == (
        "Rising in the open comments from Q1 2025 to Q2 2025: Bills (to 16%, up 6.0 pp, "
        "p < 0.001) and Signal (to 25%, up 5.0 pp, p = 0.020) (see Customer voice)."
    )
    t["theme_changes"] = theme_changes(rise=False)
    say = text(summary_findings(t, study=demo).iloc[-1]["text"])
    assert say == (
        "In the open comments, no theme rose significantly from Q1 2025 to Q2 2025 (p < 0.05, "
        "Holm-adjusted) (see Customer voice)."
    )
    t.pop("theme_changes")
    assert "themes" not in set(summary_findings(t, study=demo)["section"])  # page saved none


def test_alerts_of_the_trend_page_become_one_finding(demo):
    alerts = pd.DataFrame(
        {
            "what": ["area", "KPI"],
            "name": ["hotline", "csi"],
            "label": ["Hotline", "CSI"],
            "unit": ["index (0-100)", "index (0-100)"],
            "wave_from": ["2025Q1", "2025Q1"],
            "wave_to": ["2025Q2", "2025Q2"],
            "change": [4.96, -1.2],
            "threshold": [3.0, 1.0],
            "p_adjusted": [0.0001, 0.02],
            "n": [1505, 1505],
        }
    )
    f = summary_findings({**tables(), "trend_alerts": alerts}, study=demo)
    row = f[f["section"] == "alerts"]
    assert len(row) == 1 and row["page"].iloc[0] == "30-trend"
    assert text(row["text"].iloc[0]).strip() == (
        "Alerts from Q1 2025 to Q2 2025, beyond the study's thresholds: Hotline rose 5.0 index "
        "points (p < 0.001), n = 1,505 and CSI fell 1.2 index points (p = 0.020), n = 1,505 "
        "(see Trend)."
    )
    # after the movers, before the weak spots
    order = f["section"].tolist()
    assert order.index("movers") < order.index("alerts") < order.index("weak_spots")
    assert "alerts" not in set(summary_findings(tables(), study=demo)["section"])


def test_actions_finding_says_which_action_worked(demo):
    effects = pd.DataFrame(
        {
            "action": ["b", "a", "c"],
            "label": ["New bill layout", "Hotline callback", "Shop refit"],
            "verdict": ["no effect", "worked", "not measurable"],
            "estimate": [-0.1, 7.58, np.nan],
            "p_adjusted": [0.88, 0.0001, np.nan],
        }
    )
    found = summary_findings({"action_effects": effects}, study=demo)
    row = found[found["section"] == "actions"]
    assert len(row) == 1 and row["page"].iloc[0] == "30-trend"
    assert text(row["text"].iloc[0]) == (
        "Actions: Hotline callback worked (+7.6 points against comparable items, p < 0.001); "
        "New bill layout showed no effect (see Trend)."
    )
    none = summary_findings({"action_effects": None}, study=demo)
    assert "actions" not in set(none["section"])


def test_actions_and_alerts_findings_follow_the_report_language():
    zh = load_study(ROOT / "config/demo-zh.yml")
    effects = pd.DataFrame(
        {
            "action": ["b", "a"],
            "label": ["New bill layout", "Hotline callback"],
            "verdict": ["no effect", "worked"],
            "estimate": [-0.1, 7.58],
            "p_adjusted": [0.88, 0.0001],
        }
    )
    alerts = pd.DataFrame(
        {
            "what": ["area"], "name": ["hotline"], "label": ["Hotline"],
            "unit": ["index (0-100)"], "wave_from": ["2025Q1"], "wave_to": ["2025Q2"],
            "change": [4.96], "threshold": [3.0], "p_adjusted": [0.0001], "n": [1505],
        }
    )  # fmt: skip
    f = summary_findings({"action_effects": effects, "trend_alerts": alerts}, study=zh)
    actions = text(f[f["section"] == "actions"]["text"].iloc[0])
    assert actions == (
        "改进措施：Hotline callback 见效（相对可比题目 +7.6 分，p < 0.001）；New bill layout 未见效果（见趋势）。"
    )
    alert = text(f[f["section"] == "alerts"]["text"].iloc[0])
    assert alert.startswith("从 Q1 2025 到 Q2 2025 超出研究设定阈值的预警：Hotline")
    assert "n = 1,505" in alert and "Alert" not in alert


# ---- the wave the report describes (the `wave` parameter, as 20-describe's) ----------------
def test_headline_kpis_of_a_chosen_wave_take_its_own_change(demo):
    head = headline_kpis(kpis(), kpi_changes(), study=demo, wave="2024Q2").set_index("kpi")
    # the 2024Q1 -> 2024Q2 row of kpi_changes(), not the latest pair's 0.17
    assert head.loc["overall_mean", "wave_from"] == "2024Q1"
    assert head.loc["overall_mean", "change"] == 0.5
    assert head.loc["overall_mean", "significant"]
    assert pd.isna(head.loc["nps", "wave_from"])  # NPS has no 2024Q2 change in the table
    # the first wave has no change at all
    first = headline_kpis(kpis(), kpi_changes(), study=demo, wave="2024Q1")
    assert first["wave_from"].isna().all() and not first["significant"].any()


def test_movers_of_a_chosen_wave(demo):
    movers = rank_movers(kpi_changes(), area_changes(), study=demo, top=10, wave="2024Q2")
    # into 2024Q2: overall (|z| 9.0) and value (|z| 4.0); nothing of the 2025 pair
    assert list(movers["name"]) == ["overall_mean", "value"]
    assert set(movers["wave_from"]) == {"2024Q1"}
    assert rank_movers(kpi_changes(), area_changes(), study=demo, wave="2024Q1").empty


def test_the_summary_honours_the_wave_of_the_report(demo):
    f = summary_findings(tables(), study=demo, wave="2024Q2")
    say = {r.section: text(r.text) for r in f.itertuples()}
    assert say["kpis"].startswith("In Q2 2024: Overall 6.62 (up 0.50 on Q1 2024, p < 0.001)")
    assert say["movers"].startswith("The biggest significant moves from Q1 2024 to Q2 2024: ")
    assert "Hotline" not in say["movers"] and "2025" not in say["movers"]
    # the turning point is over all waves, whatever the wave described
    assert say["turning_point"].startswith("The turning point: Network fell 15.8 index points")


def test_the_first_wave_has_no_change_and_says_so(demo):
    f = summary_findings(tables(), study=demo, wave="2024Q1")
    say = {r.section: text(r.text) for r in f.itertuples()}
    assert say["kpis"].startswith("In Q1 2024: Overall 6.62; NPS -4; CSI 62.6")
    assert "up" not in say["kpis"] and "down" not in say["kpis"]
    assert say["changes"] == (
        "No change into Q1 2024 is reported: the trend page compares no earlier wave with it "
        "(see Trend)."
    )
    assert "movers" not in say


def test_rising_themes_into_the_chosen_wave(demo):
    t = {**tables(), "theme_changes": theme_changes()}
    row = summary_findings(t, study=demo, wave="2025Q1").iloc[-1]
    assert text(row["text"]) == (
        "Rising in the open comments from Q4 2024 to Q1 2025: Signal (to 20%, up 7.0 pp, "
        "p = 0.001) (see Customer voice)."
    )


def test_maintain_names_the_line_not_a_verdict(demo):
    # the crosshair is the items' mean: an item above it may still score below the scale's
    # middle, so "performing well" would overstate it
    say = {r.section: text(r.text) for r in summary_findings(tables(), study=demo).itertuples()}
    assert say["maintain"] == (
        "Maintain: D (importance 6.6%, performance 63.0) and E (importance 4.4%, performance "
        "65.0) - important, and performing above the line (see Drivers)."
    )


def test_chinese_reasons_run_on_without_a_space(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[project]\nname='x'\n")
    (tmp_path / "data/raw/one").mkdir(parents=True)
    (tmp_path / "data/raw/one/w1.csv").write_text("id,q1\n1,4\n2,5\n")
    (tmp_path / "config").mkdir()
    path = tmp_path / "config/one.yml"
    path.write_text(ONE_WAVE + "reporting: {language: zh}\n", encoding="utf-8")
    zh = load_study(path)
    say = {r.section: text(r.text) for r in summary_findings({}, study=zh).itertuples()}
    # "...需要两期。因此..." - no space after the full stop of the reason
    assert say["changes"] == "本研究只有一期数据；跨期比较至少需要两期。不报告跨期变化。"
    assert (
        say["weak_spots"]
        == "研究文件未设定细分变量，因此没有按客户群体的细分分析。没有可排序的薄弱环节。"
    )
    assert "。 " not in "".join(say.values())
