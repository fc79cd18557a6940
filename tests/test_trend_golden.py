"""Issue 16 on the demo study: the heatmap, why it moved and the alerts find the planted truths.

The demo plants a turning point (``truths.json``: network falls in 2024Q4 and recovers by a
third each wave after) and rakes every wave to the same customer-type, region and tenure
margins, so the segment mix of those columns cannot move a KPI: their mix part is 0.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis_helpers.cleaning import clean
from analysis_helpers.kpis import csi
from analysis_helpers.report_checks import sentence_problems
from analysis_helpers.safe_output import plain_text, render_markdown
from analysis_helpers.study import load_study
from analysis_helpers.study_tables import kpi_summary, study_design
from analysis_helpers.trend_report import (
    alerts_takeaway,
    area_attribution,
    area_changes,
    attribution_takeaway,
    decomposition_takeaway,
    decomposition_wide,
    heatmap_takeaway,
    kpi_changes,
    kpi_decomposition,
    observed_waves,
    trend_alerts,
    wave_heatmap,
    year_pairs,
)

ROOT = Path(__file__).resolve().parents[1]


def words(text) -> str:
    found = sentence_problems(f"<p>{render_markdown(text)}</p>", page="t")
    assert found.empty, found.to_string()
    return plain_text(render_markdown(text)).strip()


@pytest.fixture(scope="module")
def demo(demo_data):
    study = load_study(ROOT / "config" / "demo.yml")
    data = clean(study).data
    index = csi(data, hierarchy=study.hierarchy(), by=[study.wave_column],
                design=study_design(study))  # fmt: skip
    return study, data, index


def test_heatmap_marks_the_turning_point_and_the_year_earlier_waves(demo, truths):
    study, data, index = demo
    waves = observed_waves(data, study=study)
    year, note = year_pairs(study, waves)
    assert year == {"2025Q1": "2024Q1", "2025Q2": "2024Q2"} and not note
    heat = wave_heatmap(index, study=study, waves=waves, year=year)
    tp = truths["turning_point"]
    cell = heat[(heat["level"] == "area") & (heat["name"] == tp["area"])
                & (heat["wave"] == tp["wave"])].iloc[0]  # fmt: skip
    assert cell["sig_prev"] and cell["change_prev"] < -10
    # the largest significant fall of any area is the planted one
    areas = heat[(heat["level"] == "area") & heat["sig_prev"]]
    top = areas.loc[areas["change_prev"].idxmin()]
    assert (top["name"], top["wave"]) == (tp["area"], tp["wave"])
    # a year after the first waves, network is still below (it recovers by a third a wave)
    net = heat[(heat["level"] == "area") & (heat["name"] == tp["area"])].set_index("wave")
    assert net.loc["2025Q1", "sig_year"] and net.loc["2025Q1", "change_year"] < 0
    assert not net.loc["2024Q2", "sig_year"] and np.isnan(net.loc["2024Q2", "change_year"])
    # rows top-down: the index, then each area before its indicators and items
    assert heat["level"].iloc[0] == "index"
    first_area = heat[heat["level"] == "area"]["name"].iloc[0]
    assert first_area == study.spec.areas[0].name
    assert len(heat) == len(index[index["estimate"].notna()])
    assert "Against the same wave a year earlier" in words(heatmap_takeaway(heat, study=study))


def test_csi_fall_is_attributed_to_network(demo, truths):
    study, data, index = demo
    tp = truths["turning_point"]
    before = study.waves[study.waves.index(tp["wave"]) - 1]
    att = area_attribution(data, study=study, wave_from=before, wave_to=tp["wave"],
                           segment="customer_type")  # fmt: skip
    total = index[(index["level"] == "index")].set_index("wave")["estimate"]
    # contributions add up to the CSI's change
    assert att["contribution"].sum() == pytest.approx(total[tp["wave"]] - total[before], abs=1e-9)
    assert att["name"].iloc[0] == tp["area"] and att["contribution"].iloc[0] < 0
    assert att["ci_high"].iloc[0] < 0  # significant
    # each area's contribution is its weight in the index times its own change
    areas = index[index["level"] == "area"].pivot(index="name", columns="wave", values="estimate")
    w = index[(index["level"] == "area")].drop_duplicates("name").set_index("name")["weight"]
    expected = (w * (areas[tp["wave"]] - areas[before])).rename("c")
    got = att.set_index("name")["contribution"]
    pd.testing.assert_series_equal(got.sort_index(), expected.sort_index().rename("contribution"),
                                   check_names=False, atol=1e-9)  # fmt: skip
    text = words(attribution_takeaway(att, study=study, wave_from=before, wave_to=tp["wave"],
                                      segment="customer_type"))  # fmt: skip
    assert text.startswith("From Q3 2024 to Q4 2024 the CSI fell 2.7 points; 2.0 of them come "
                           "from Network service")  # fmt: skip
    assert "mostly among" in text


def test_raked_segments_have_no_mix_part(demo):
    study, data, _ = demo
    dec = kpi_decomposition(data, study=study, kpis=["overall_mean", "nps", "csi"],
                            wave_from="2024Q3", wave_to="2024Q4",
                            segments=["customer_type", "region", "channel"])  # fmt: skip
    wide = decomposition_wide(dec, kpi_labels={})
    raked = wide[wide["segment_column"].isin(["customer_type", "region"])]
    # every wave is raked to the same margins: the mix part is nil (up to the raking's
    # tolerance, and to items a few respondents skipped, whose answer shares differ slightly)
    assert (raked["mix"].abs() < 0.01).all()
    assert (raked.loc[raked["kpi"] == "overall_mean", "mix"].abs() < 1e-4).all()
    assert np.allclose(wide["mix"] + wide["rate"], wide["change"], atol=1e-9)
    # the change decomposed is the KPI's own change
    kpis = kpi_summary(data, study=study, by=["wave"]).set_index(["kpi", "wave"])["estimate"]
    for k in ("overall_mean", "nps", "csi"):
        got = wide.loc[wide["kpi"] == k, "change"].to_numpy()
        assert got == pytest.approx(kpis[(k, "2024Q4")] - kpis[(k, "2024Q3")], abs=1e-9)
    assert "No KPI's change owes a significant part" in words(
        decomposition_takeaway(dec, study=study, kpi_labels={})
    )


def test_alerts_follow_the_study_thresholds(demo):
    study, data, index = demo
    by_wave = kpi_summary(data, study=study, by=["wave"])
    changes = kpi_changes(by_wave, study=study)
    areas, moves = area_changes(data, study=study, index=index)
    alerts = trend_alerts(changes, moves, study=study, bases=by_wave, area_bases=areas)
    latest = moves[moves["wave_to"] == "2025Q2"]
    expect = latest[latest["significant"] & (latest["change"].abs() >= 3.0)]["name"]
    assert set(alerts.loc[alerts["what"] == "area", "name"]) == set(expect)
    assert len(expect) >= 1  # the hotline recovers in the last wave
    assert (alerts["n"] > 1000).all() and (alerts["wave_to"] == "2025Q2").all()
    text = words(alerts_takeaway(alerts, study=study))
    assert "threshold 3.0" in text and "n = " in text
    none = trend_alerts(changes.iloc[:0], moves.iloc[:0], study=study)
    assert none.empty
    assert "No alert" in words(alerts_takeaway(none, study=study))
