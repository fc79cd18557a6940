"""Study-aware descriptive tables: checked by hand and against the plain estimators."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.multitest import multipletests

from analysis_helpers.estimation import survey_mean
from analysis_helpers.kpis import csi, expectation_gap, item_distribution, top_box
from analysis_helpers.study import load_study
from analysis_helpers.study_tables import (
    banded_distribution,
    cut_bases,
    expectation_gaps,
    flag_bases,
    hierarchy_table,
    index_notes,
    study_design,
    unasked_items,
    weighting_by_wave,
)

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def study():
    return load_study(ROOT / "config" / "demo.yml", check_files=False)


@pytest.fixture(scope="module")
def data(study):
    """400 respondents in two waves with every item of the demo study, some missing."""
    rng = np.random.default_rng(7)
    n = 400
    cols = {}
    for name, it in study.items.items():
        x = rng.integers(it.scale.min, it.scale.max + 1, n).astype(float)
        x[rng.random(n) < 0.05] = np.nan
        cols[name] = x
    frame = pd.DataFrame(cols)
    frame["wave"] = np.where(np.arange(n) < 150, "2024Q1", "2024Q2")
    for seg in study.segments:
        frame[seg.column] = rng.choice(list(seg.values), n)
    frame["rake_weight"] = rng.uniform(0.5, 2.0, n)
    return frame


def test_flag_bases_applies_the_study_rules(study):
    t = pd.DataFrame({"n": [5, 20, 40], "estimate": [0.1, 0.2, 0.3], "alpha": [0.8, 0.8, 0.8]})
    out = flag_bases(t, study=study)
    assert list(out["flag"]) == ["suppressed", "low base", ""]
    assert np.isnan(out["estimate"][0]) and out["estimate"][1] == 0.2
    assert out["alpha"][0] == 0.8  # not a known statistic column: kept
    out = flag_bases(t, study=study, value_cols=["alpha"])
    assert np.isnan(out["alpha"][0]) and out["estimate"][0] == 0.1
    assert t["estimate"][0] == 0.1  # input untouched
    with pytest.raises(KeyError, match="base column 'base' is not in the table"):
        flag_bases(t, study=study, base="base")


def test_weighting_by_wave_by_hand(study, data):
    d = data.copy()
    w = d["rake_weight"].to_numpy()
    mean2 = w[150:].mean()
    d.loc[150:154, "rake_weight"] = 0.3 * mean2  # sits at the lower trimming bound
    out = weighting_by_wave(d.iloc[::-1], study=study)  # order follows the study, not the data
    assert list(out["wave"]) == ["2024Q1", "2024Q2"]
    assert list(out["wave_label"]) == ["Q1 2024", "Q2 2024"]
    w1 = d["rake_weight"].to_numpy()[:150]
    row = out.iloc[0]
    assert row["n"] == 150
    assert row["n_effective"] == pytest.approx(w1.sum() ** 2 / (w1**2).sum())
    assert row["efficiency"] == pytest.approx(row["n_effective"] / 150)
    assert row["deff_weighting"] == pytest.approx(1 / row["efficiency"])
    assert row["min"] == pytest.approx(w1.min()) and row["max"] == pytest.approx(w1.max())
    # the largest margin error, by hand
    worst = 0.0
    g = d.iloc[:150]
    for col, target in study.weighting.margins.items():
        share = g.groupby(col)["rake_weight"].sum() / g["rake_weight"].sum()
        for value, t in target.items():
            worst = max(worst, abs(share.get(value, 0.0) - t / sum(target.values())))
    assert row["max_margin_error"] == pytest.approx(worst)
    w2 = d["rake_weight"].to_numpy()[150:]
    at = (w2 <= 0.3 * w2.mean() * (1 + 1e-9)) | (w2 >= 3 * w2.mean() * (1 - 1e-9))
    assert out.iloc[1]["share_at_trim"] == pytest.approx(at.mean())
    with pytest.raises(
        KeyError, match=r"weighting_by_wave: data has no column\(s\) \['rake_weight'\]"
    ):
        weighting_by_wave(d.drop(columns="rake_weight"), study=study)


def test_banded_distribution_sums_the_codes(study, data):
    items = ["net_cov_home", "brand_trust"]
    out = banded_distribution(data, study=study, items=items)
    design = study_design(study)
    assert out.groupby("item")["share"].sum().to_numpy() == pytest.approx([1, 1])
    five = out[out["item"] == "net_cov_home"]
    d5 = item_distribution(data, items="net_cov_home", design=design, codes=range(1, 6))
    assert list(five["codes"]) == ["1", "2", "3", "4", "5"]
    assert five["share"].to_numpy() == pytest.approx(d5["share"].to_numpy())
    ten = out[out["item"] == "brand_trust"]
    d10 = item_distribution(data, items="brand_trust", design=design, codes=range(1, 11))
    assert list(ten["codes"]) == ["1-2", "3-4", "5-6", "7-8", "9-10"]
    assert ten["share"].to_numpy() == pytest.approx(
        d10["share"].to_numpy().reshape(5, 2).sum(axis=1)
    )
    assert ten["count"].sum() == data["brand_trust"].notna().sum() == ten["n"].iloc[0]
    assert set(out["scale"]) == {"1-5", "1-10"}
    assert ten["area_label"].iloc[0] == "Brand 品牌形象"
    by = banded_distribution(data, study=study, items=items, by=["wave"])
    assert by.groupby(["wave", "item"])["share"].sum().to_numpy() == pytest.approx([1] * 4)
    full = banded_distribution(data, study=study)
    assert full["item"].nunique() == 40 and len(full) == 200
    with pytest.raises(
        ValueError,
        match="item 'net_cov_home' on 1-5: 5 codes do not split into 2 bands symmetrically",
    ):
        banded_distribution(data, study=study, items=items, bands=2)
    with pytest.raises(ValueError, match="bands must be at least 2, got 1"):
        banded_distribution(data, study=study, bands=1)
    with pytest.raises(KeyError, match=r"\['nope'\] are not items of the study"):
        banded_distribution(data, study=study, items=["nope"])


def test_hierarchy_table_matches_the_plain_estimators(study, data):
    out = hierarchy_table(data, study=study)
    design = study_design(study)
    h = study.hierarchy()
    assert len(out) == 1 + 8 + 16 + 40
    assert list(out["level"][:5]) == ["index", "area", "indicator", "item", "item"]
    assert list(out["name"][:4]) == ["index", "network", "net_coverage", "net_cov_home"]
    items = out[out["level"] == "item"].set_index("name")
    m = survey_mean(data, items=list(h["item"]), design=design).set_index("item")
    assert items["mean"].to_numpy() == pytest.approx(m.loc[items.index, "estimate"].to_numpy())
    assert items["mean_se"].to_numpy() == pytest.approx(m.loc[items.index, "se"].to_numpy())
    assert items["n"].to_numpy() == pytest.approx(m.loc[items.index, "n"].to_numpy())
    tb = top_box(data, items=["brand_trust"], top=(9, 10), design=design).iloc[0]
    assert items.loc["brand_trust", "top2"] == pytest.approx(tb["estimate"])
    assert items.loc["brand_trust", "top2_se"] == pytest.approx(tb["se"])
    tb = top_box(data, items=["hot_wait"], top=(4, 5), design=design).iloc[0]
    assert items.loc["hot_wait", "top2"] == pytest.approx(tb["estimate"])
    # aggregates: equal weights, so an area is the mean of its indicators' results
    index = csi(data, hierarchy=h, design=design).set_index(["level", "name"])
    assert out["index"].to_numpy() == pytest.approx(
        index.loc[list(zip(out["level"], out["name"], strict=True)), "estimate"].to_numpy()
    )
    nodes = out.set_index("name")
    net_inds = nodes.loc[["net_coverage", "net_quality"]]
    assert nodes.loc["network", "top2"] == pytest.approx(net_inds["top2"].mean())
    assert nodes.loc["network", "mean"] == pytest.approx(net_inds["mean"].mean())
    cov = items.loc[["net_cov_home", "net_cov_travel", "net_indoor"]]
    assert nodes.loc["net_coverage", "mean"] == pytest.approx(cov["mean"].mean())
    assert (nodes.loc["network", "scale_min"], nodes.loc["network", "scale_max"]) == (1, 5)
    # the index mixes 1-5 and 1-10 items: no mean, but a top-2 share and an index
    assert np.isnan(nodes.loc["index", "mean"]) and np.isnan(nodes.loc["index", "scale_min"])
    assert 0 < nodes.loc["index", "top2"] < 1
    assert nodes.loc["index", "label"] == "Customer satisfaction index (CSI)"
    assert nodes.loc["net_cov_home", "area"] == "network"
    assert nodes.loc["net_cov_home", "indicator"] == "net_coverage"
    ok = out.dropna(subset=["mean"])
    assert (ok["mean_ci_low"] < ok["mean"]).all() and (ok["mean"] < ok["mean_ci_high"]).all()
    by = hierarchy_table(data, study=study, by=["wave"])
    assert len(by) == 2 * 65 and list(by["wave"].unique()) == ["2024Q1", "2024Q2"]
    one = hierarchy_table(data[data["wave"] == "2024Q2"], study=study)
    assert by[by["wave"] == "2024Q2"]["top2"].to_numpy() == pytest.approx(one["top2"].to_numpy())


def test_expectation_gaps_rescales_and_adjusts(study, data):
    out = expectation_gaps(data, study=study)
    plain = expectation_gap(data, pairs=study.expectation_pairs(), design=study_design(study))
    assert out["estimate"].to_numpy() == pytest.approx(plain["estimate"].to_numpy())
    span = np.where(out["scale_max"] == 10, 9.0, 4.0)
    assert out["gap_100"].to_numpy() == pytest.approx(100 * plain["estimate"] / span)
    assert out["satisfaction_100"].to_numpy() == pytest.approx(
        100 * (plain["mean_satisfaction"] - 1) / span
    )
    holm = multipletests(plain["p_value"], method="holm")[1]
    assert out["p_adjusted"].to_numpy() == pytest.approx(holm)
    assert (out["significant"] == (holm < 0.05)).all()
    assert out.set_index("satisfaction").loc["brand_trust", "label"] == "Trustworthy"
    by = expectation_gaps(data, study=study, by=["wave"])
    w2 = data[data["wave"] == "2024Q2"]
    alone = expectation_gaps(w2, study=study)
    assert by[by["wave"] == "2024Q2"]["p_adjusted"].to_numpy() == pytest.approx(
        alone["p_adjusted"].to_numpy()
    )


def test_cut_bases_by_hand(study):
    d = pd.DataFrame(
        {
            "region": ["north"] * 45 + ["south"] * 15,
            "channel": ["online"] * 40 + ["store"] * 5 + ["online"] * 15,
        }
    )
    out = cut_bases(d, study=study, columns=["region", "channel"]).set_index("cut")
    assert list(out.index) == ["region", "channel", "region x channel"]
    assert out.loc["region", "cells"] == 2 and out.loc["region", "low_base"] == 1
    assert out.loc["channel", "min_n"] == 5 and out.loc["channel", "suppressed"] == 1
    both = out.loc["region x channel"]
    assert (both["cells"], both["min_n"], both["max_n"]) == (3, 5, 40)
    assert (both["low_base"], both["suppressed"]) == (1, 1)
    assert both["share_reportable"] == pytest.approx(1 / 3)
    assert both["cut_label"] == "Region 地区 x Main channel 主要渠道"
    assert len(cut_bases(d.assign(tenure="lt1", customer_type="contract"), study=study)) == 15
    with pytest.raises(KeyError, match=r"cut_bases: data has no column\(s\) \['tenure'\]"):
        cut_bases(d, study=study, columns=["region", "tenure"])
    with pytest.raises(ValueError, match="cut_bases: no columns to cross"):
        cut_bases(d, study=study, columns=[])


def test_kpi_tables_call_the_estimators_by_their_current_words(study, data):
    """The study-aware layer uses no deprecated spelling (pytest turns one into an error)."""
    from analysis_helpers.study_tables import kpi_summary, segment_kpis

    t = kpi_summary(data, study=study, by=["wave"])
    assert {"nps", "csi", "overall_mean"} <= set(t["kpi"])
    assert len(segment_kpis(data, study=study)) > 0


def test_study_tables_of_a_study_without_the_optional_parts(tmp_path):
    """A study without KPIs, segments or an index: empty tables, not a crash."""
    from analysis_helpers.cleaning import clean
    from analysis_helpers.demo import write_study_shape
    from analysis_helpers.study import load_study
    from analysis_helpers.study_tables import (
        KPI_COLUMNS,
        kpi_summary,
        profile_by_segment,
        segment_area_index,
        segment_kpis,
    )

    study = load_study(write_study_shape(tmp_path / "minimal", "minimal"))
    data = clean(study).data
    empty = kpi_summary(data, study=study, by=["wave"])
    assert empty.empty and list(empty.columns) == ["wave", *KPI_COLUMNS]
    assert segment_kpis(data, study=study).empty
    assert profile_by_segment(data, study=study).empty
    assert segment_area_index(data, study=study).empty
    study = load_study(write_study_shape(tmp_path / "no_kpis", "no_kpis"))
    kpis = kpi_summary(clean(study).data, study=study)
    assert kpis["kpi"].tolist() == ["csi"]  # the index is the one headline left
    study = load_study(write_study_shape(tmp_path / "nps", "nps_1_10"))
    kpis = kpi_summary(clean(study).data, study=study).set_index("kpi")
    assert -100 <= kpis.loc["nps", "estimate"] <= 100


def test_band_widths_follow_the_scale():
    from analysis_helpers.study_tables import band_widths

    assert band_widths(5) == [1, 1, 1, 1, 1]  # 1-5: every code
    assert band_widths(7) == [1] * 7  # 1-7: every code
    assert band_widths(10) == [2, 2, 2, 2, 2]  # 1-10: 1-2 ... 9-10
    assert band_widths(11) == [2, 2, 3, 2, 2]  # 0-10: the middle band takes the odd code
    assert band_widths(8) == [2, 1, 2, 1, 2]  # the end bands stay two-code boxes
    assert band_widths(7, 5) == [2, 1, 1, 1, 2]  # 1-7 in five bands: 1-2 ... 6-7
    for k in range(2, 16):
        assert sum(band_widths(k)) == k
        assert band_widths(k) == band_widths(k)[::-1]  # symmetric
    with pytest.raises(ValueError, match="5 codes do not split into 2 bands symmetrically"):
        band_widths(5, 2)
    with pytest.raises(ValueError, match="3 codes do not fill 5 bands"):
        band_widths(3, 5)
    with pytest.raises(ValueError, match="bands must be at least 2, got 1"):
        band_widths(5, 1)


def test_banded_distribution_of_seven_and_eleven_point_scales(tmp_path):
    """A 1-7 item keeps its seven codes; a 0-10 item gets five symmetric bands."""
    from analysis_helpers.demo import write_study_shape

    study = load_study(write_study_shape(tmp_path / "p", "scale_1_7"))
    rng = np.random.default_rng(3)
    n = 300
    data = pd.DataFrame(
        {
            "net_cov_home": rng.integers(1, 8, n).astype(float),
            "nps_recommend": rng.integers(0, 11, n).astype(float),
            "rake_weight": rng.uniform(0.5, 2, n),
            "region": "north",
        }
    )
    assert study.items["net_cov_home"].scale.max == 7
    out = banded_distribution(data, study=study, items=["net_cov_home", "nps_recommend"])
    seven = out[out["item"] == "net_cov_home"]
    assert list(seven["codes"]) == ["1", "2", "3", "4", "5", "6", "7"]
    assert set(seven["n_bands"]) == {7}
    d7 = item_distribution(
        data, items="net_cov_home", design=study_design(study), codes=range(1, 8)
    )
    assert seven["share"].to_numpy() == pytest.approx(d7["share"].to_numpy())
    eleven = out[out["item"] == "nps_recommend"]
    assert list(eleven["codes"]) == ["0-1", "2-3", "4-6", "7-8", "9-10"]
    counts = data["nps_recommend"].value_counts()
    assert list(eleven["count"]) == [
        counts.reindex(range(a, b + 1), fill_value=0).sum()
        for a, b in [(0, 1), (2, 3), (4, 6), (7, 8), (9, 10)]
    ]


def test_hierarchy_table_without_indicators_has_no_indicator_rows(tmp_path):
    from analysis_helpers.demo import write_study_shape

    study = load_study(write_study_shape(tmp_path / "p", "no_indicators"))
    rng = np.random.default_rng(5)
    n = 200
    data = pd.DataFrame(
        {i: rng.integers(it.scale.min, it.scale.max + 1, n).astype(float)
         for i, it in study.items.items()}
    ).assign(rake_weight=1.0, region="north")  # fmt: skip
    tree = hierarchy_table(data, study=study)
    assert "indicator" not in set(tree["level"])
    assert list(tree["level"][:3]) == ["index", "area", "item"]
    assert (tree.loc[tree["level"] == "item", "indicator"] == "").all()
    # the area is still the mean of its items' results (equal weights)
    net = tree[(tree["area"] == "network") & (tree["level"] == "item")]
    area = tree[(tree["name"] == "network") & (tree["level"] == "area")].iloc[0]
    assert area["index"] == pytest.approx(net["index"].mean())


def test_unasked_items_and_the_page_notes(study, data):
    frame = data.copy()
    assert unasked_items(frame, study=study).empty and index_notes(frame, study=study) == []
    q1 = frame["wave"] == "2024Q1"
    frame.loc[q1, "net_indoor"] = np.nan  # added in the second wave
    frame.loc[q1, "bill_detail"] = np.nan
    frame.loc[~q1, "hot_menu"] = np.nan  # dropped after the first wave
    gaps = unasked_items(frame, study=study)
    assert list(gaps.columns) == ["wave", "wave_label", "item", "label", "area", "area_label"]
    assert gaps[["wave", "item"]].values.tolist() == [
        ["2024Q1", "net_indoor"],
        ["2024Q1", "bill_detail"],
        ["2024Q2", "hot_menu"],
    ]
    assert gaps["wave_label"].tolist() == ["Q1 2024", "Q1 2024", "Q2 2024"]
    notes = index_notes(frame, study=study)
    labels = study.labels()
    assert notes == [
        f"{labels['net_indoor']} and {labels['bill_detail']} were not asked in Q1 2024: in "
        "that wave the satisfaction index rolls up the other items, so compare it with the "
        "other waves with care.",
        f"{labels['hot_menu']} was not asked in Q2 2024: in that wave the satisfaction index "
        "rolls up the other items, so compare it with the other waves with care.",
    ]
    # the index of every wave is a number
    t = csi(frame, hierarchy=study.hierarchy(), by="wave", design=study_design(study))
    assert t.loc[t["level"] == "index", "estimate"].notna().all()
    # an item no wave answered is out of the index: the study's note, not a wave gap
    frame["val_extras"] = np.nan
    study.set_unanswered_items(["val_extras"])
    try:
        notes = index_notes(frame, study=study)
        assert notes[0] == study.index_note() and "Value of extras" in notes[0]
        assert index_notes(frame, study=study, unanswered=False) == notes[1:]
        assert "val_extras" not in set(unasked_items(frame, study=study)["item"])
    finally:
        study.set_unanswered_items([])
