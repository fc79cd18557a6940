"""The index page's study-aware helpers (index_report) on a generated study with the ECSI
model: the checked choices, the model run and its one-sentence failure, tables checked
against an independent route (the respondents' own index scores, the fit's paths), and
takeaways that say only what the tables show."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis_helpers.cleaning import clean
from analysis_helpers.demo import write_study_shape
from analysis_helpers.index_report import (
    IndexRun,
    IndexSetup,
    area_weight_takeaway,
    area_weights,
    estimate_index_model,
    htmt_takeaway,
    htmt_view,
    index_by_segment,
    index_by_wave,
    index_setup,
    index_table,
    index_takeaway,
    ipma_item_table,
    ipma_takeaway,
    model_takeaway,
    path_takeaway,
    path_view,
    quality_takeaway,
    rollup_table,
    segment_index_display,
    segment_index_takeaway,
    wave_index_display,
    wave_index_takeaway,
)
from analysis_helpers.pls import index_scores
from analysis_helpers.pls.summary import index_comparison, path_summary
from analysis_helpers.report_checks import sentence_problems
from analysis_helpers.safe_output import plain_text, render_markdown
from analysis_helpers.study import load_study
from analysis_helpers.study_tables import study_design


def _words(text) -> str:
    return plain_text(render_markdown(text)).strip()


@pytest.fixture(scope="module")
def full(tmp_path_factory):
    study = load_study(write_study_shape(tmp_path_factory.mktemp("full"), "full"))
    return study, clean(study).data


@pytest.fixture(scope="module")
def run(full):
    study, data = full
    return estimate_index_model(data, study=study, setup=index_setup(study, n_boot=30,
                                                                        random_state=1))  # fmt: skip


def test_index_setup_checks_the_parameters_and_reads_the_study(full):
    study, _ = full
    page = index_setup(study)
    assert page == IndexSetup("", "customer_type", "percentile", 200, None)
    assert index_setup(study, segment="region", interval="bca").segment == "region"
    with pytest.raises(ValueError, match="wave '2019' is not one of the study's waves"):
        index_setup(study, wave="2019")
    with pytest.raises(ValueError, match="segment 'area' is not one of the study's segments"):
        index_setup(study, segment="area")
    with pytest.raises(ValueError, match="interval='normal'; use one of 'percentile', 'bca'"):
        index_setup(study, interval="normal")


def test_the_model_run_and_its_opening_sentence(full, run):
    study, data = full
    assert run.problem is None and run.fit.n == len(data) == len(run.sample)
    assert run.target == "satisfaction" and run.labels["quality"] == "Perceived quality"
    assert _words(model_takeaway(run, study=study)) == (
        f"A path model of 4 constructs and 4 paths, estimated on {len(data):,} respondents "
        "(all waves pooled) with the survey weights; intervals from 30 bootstrap replicates "
        "of the survey design. The index is Customer satisfaction."
    )
    one = estimate_index_model(data, study=study, setup=IndexSetup(wave="2024Q2", n_boot=10))
    assert len(one.sample) == (data["wave"].astype(str) == "2024Q2").sum()
    assert "(Q2 2024)" in _words(model_takeaway(one, study=study))


def test_a_study_without_a_model_gets_one_sentence(tmp_path):
    study = load_study(write_study_shape(tmp_path, "no_hierarchy"))
    run = estimate_index_model(clean(study).data, study=study, setup=index_setup(study))
    assert run.fit is None and run.model is None and run.labels == {}
    assert run.problem.startswith("This study file states no structural model")
    with pytest.raises(ValueError, match="there is no model"):
        _ = run.target


def test_index_table_is_the_weighted_mean_of_the_respondents_scores(full, run):
    study, _ = full
    index = index_table(run, study=study).set_index("block")
    scores = index_scores(run.sample, fit=run.fit, scale_min=run.scale_min,
                          scale_max=run.scale_max)  # fmt: skip
    w = run.sample["rake_weight"].to_numpy()
    for block in ("quality", "satisfaction"):
        ok = scores[block].notna().to_numpy()
        expected = np.average(scores[block].to_numpy()[ok], weights=w[ok])
        assert index.loc[block, "estimate"] == pytest.approx(expected, rel=1e-10)
    b = run.boot[run.boot["kind"] == "index"].set_index("block")
    assert index.loc["value", "boot_ci_high"] == b.loc["value", "ci_high"]
    assert index.loc["loyalty", "label"] == "Loyalty"
    text = _words(index_takeaway(index.reset_index(), run=run))
    value = index.loc["satisfaction", "estimate"]
    assert text.startswith(f"The index (Customer satisfaction) is {value:.1f} of 100 (95% interval")


def test_index_by_wave_and_by_segment(full, run):
    study, _ = full
    by_wave = index_by_wave(run, study=study)
    assert by_wave["wave"].tolist() == ["Q1 2024", "Q2 2024", "Q3 2024"]
    assert by_wave["previous"].tolist() == ["", "Q1 2024", "Q2 2024"]
    change = by_wave["estimate"].diff().iloc[1:].to_numpy()
    assert by_wave["difference"].iloc[1:].to_numpy() == pytest.approx(change, rel=1e-10)
    assert wave_index_display(run)["caption"] == "Customer satisfaction: index by wave"
    by_seg = index_by_segment(run, study=study)
    assert by_seg["value"].tolist() == ["Contract", "High-bill", "Prepaid"]
    assert by_seg["n"].sum() == run.fit.n and (by_seg["flag"] == "").all()
    shown = segment_index_display(run, study=study)
    assert shown["columns"]["value"] == "Customer type"
    assert shown["caption"] == "Customer satisfaction: index by Customer type"


def test_paths_in_reading_order_and_their_takeaway(run):
    paths = path_summary(run.boot, model=run.model, labels=run.labels)
    view = path_view(paths, model=run.model)
    order = [run.model.constructs.index(c) for c in view["to"]]
    assert order == sorted(order)
    into = view[view["to"] == "satisfaction"]
    assert into["rank"].tolist() == sorted(into["rank"])
    text = _words(path_takeaway(paths, run=run))
    r2 = run.fit.r_squared()["satisfaction"]
    assert text.startswith(f"The model explains {r2:.0%} of the variation in Customer satisfaction")
    assert f"Its strongest driver is {into['from_label'].iloc[0]}" in text
    assert sentence_problems(f"<p>{text}</p>").empty


# ---- takeaways from hand-made tables ----------------------------------------------------
def _by_wave(diff: float, flag: str = "", significant: bool = True) -> pd.DataFrame:
    return pd.DataFrame(
        {"wave": ["Q2 2024", "Q3 2024"], "previous": ["", "Q2 2024"],
         "estimate": [72.6, 72.6 + diff], "difference": [np.nan, diff],
         "p_adjusted": [np.nan, 0.003], "significant": [False, significant],
         "flag": ["", flag]}
    )  # fmt: skip


def test_wave_index_takeaway_never_says_from_x_to_x():
    assert _words(wave_index_takeaway(_by_wave(-1.4))) == (
        "In Q3 2024 the index is 71.2, 1.4 points lower than in Q2 2024 (p = 0.003; a "
        "significant change)."
    )
    assert "2.0 points higher than in Q2 2024" in _words(wave_index_takeaway(_by_wave(2.0)))
    same = _words(wave_index_takeaway(_by_wave(0.0, significant=False)))
    assert "the same as in Q2 2024" in same and "within sampling error" in same
    assert _words(wave_index_takeaway(_by_wave(1.0, flag="suppressed"))) == (
        "The last wave has too few respondents to compare its index."
    )


def test_segment_index_takeaway_names_the_range_and_the_groups_that_differ():
    t = pd.DataFrame(
        {"value": ["A", "B", "C"], "estimate": [60.0, 66.5, 63.0],
         "difference": [-4.5, 3.2, 0.1], "p_adjusted": [0.0004, 0.04, 0.9],
         "significant": [True, True, False], "flag": ["", "", ""]}
    )  # fmt: skip
    assert _words(segment_index_takeaway(t, segment="Region")) == (
        "By Region, the index runs from 60.0 (A) to 66.5 (B). Significantly different from "
        "everyone else: A (-4.5 points, p < 0.001) and B (+3.2 points, p = 0.040)."
    )
    t["significant"] = False
    assert _words(segment_index_takeaway(t, segment="Region")).endswith(
        "No group differs significantly from everyone else."
    )
    t["flag"] = ["suppressed", "suppressed", ""]
    assert _words(segment_index_takeaway(t, segment="Region")) == (
        "Too few respondents per group of Region to compare the index."
    )


def test_quality_and_htmt_takeaways():
    q = pd.DataFrame(
        {"label": ["Quality", "Value"], "rho_c": [0.91, 0.78], "ave": [0.62, 0.48],
         "shortfall": ["", "AVE below 0.5"]}
    )  # fmt: skip
    assert _words(quality_takeaway(q)) == (
        "Short of a threshold: Value. The lowest composite reliability is 0.78 (Value); the "
        "lowest AVE 0.48 (Value)."
    )
    h = pd.DataFrame(
        {"label_1": ["Quality", "Quality", "Value"], "label_2": ["Value", "Image", "Image"],
         "htmt": [0.62, 0.81, 0.40], "ci_high": [0.70, 0.90, 0.5],
         "distinct": [True, False, True]}
    )  # fmt: skip
    assert htmt_view(h, top=2)["htmt"].tolist() == [0.81, 0.62]
    assert _words(htmt_takeaway(h, confidence="90%")) == (
        "1 of 3 pairs are not clearly distinct: read their paths with care. The closest pair "
        "is Quality and Image (HTMT 0.81, 90% interval up to 0.90)."
    )


def test_area_weights_and_the_rollup(full, run):
    study, _ = full
    weights = area_weights(run, study=study)
    assert weights["weight_derived"].sum() == pytest.approx(1.0)
    rollup = rollup_table(run, weights, study=study)
    assert rollup["label"].tolist() == ["Study weights", "Weights from the model"]
    text = _words(area_weight_takeaway(weights, rollup, run=run))
    most = weights.loc[weights["weight_derived"].idxmax()]
    assert text.startswith(
        f"By the model, {most['area_label']} should weigh {most['weight_derived']:.1%} of the "
        f"index, against {most['weight_study']:.1%} in the study's roll-up."
    )
    assert sentence_problems(f"<p>{text}</p>").empty


def test_a_run_without_a_fit_refuses_tables():
    run = IndexRun(IndexSetup(), pd.DataFrame(), None, None, None, problem="no model")
    with pytest.raises(ValueError, match=r"there is no model \(no model\)"):
        model_takeaway(run, study=None)


def test_segment_pairs_are_every_pair_with_design_based_tests(full, run):
    from analysis_helpers.index_report import segment_pairs, segment_pairs_takeaway

    study, _ = full
    pairs = segment_pairs(run, study=study)
    by_seg = index_by_segment(run, study=study).set_index("value")
    assert list(zip(pairs["value"], pairs["value_reference"], strict=True)) == [
        ("High-bill", "Contract"), ("Prepaid", "Contract"), ("Prepaid", "High-bill")
    ]  # fmt: skip
    for r in pairs.itertuples():
        assert r.estimate == pytest.approx(by_seg.loc[r.value, "estimate"], rel=1e-12)
        assert r.estimate_reference == pytest.approx(by_seg.loc[r.value_reference, "estimate"])
        assert r.difference == pytest.approx(r.estimate - r.estimate_reference, rel=1e-10)
        assert r.se > 0 and 0 <= r.p_value <= r.p_adjusted <= 1
    # adjacent pairs are the "previous" comparisons, before the correction
    prev = index_comparison(run.sample, fit=run.fit, scale_min=run.scale_min,
                            scale_max=run.scale_max, by="customer_type",
                            order=list(study.segment("customer_type").values),
                            against="previous")  # fmt: skip
    got = pairs.set_index(["group", "reference"])["p_value"]
    for r in prev.iloc[1:].itertuples():
        assert got.loc[(r.group, r.reference)] == pytest.approx(r.p_value, rel=1e-12)
    text = _words(segment_pairs_takeaway(pairs))
    assert text.startswith("The widest gap between two groups:") and " vs " in text


def test_item_and_segment_ipma(full, run):
    from analysis_helpers.index_report import (
        ipma_item_table,
        ipma_segment_table,
        ipma_segment_takeaway,
        ipma_table,
    )
    from analysis_helpers.pls import ipma

    study, _ = full
    items = ipma_item_table(run, study=study)
    constructs = ipma_table(run, study=study).set_index("block")["importance"]
    # an item's importance is its index weight x its construct's: they add up per block
    summed = items.groupby("block")["importance"].sum()
    assert summed.to_numpy() == pytest.approx(constructs[summed.index].to_numpy(), rel=1e-9)
    assert (items["label"] != "").all() and items["priority"].min() == 1
    seg = ipma_segment_table(run, study=study)
    assert list(dict.fromkeys(seg["value"])) == ["Contract", "High-bill", "Prepaid"]
    # per group: the map of the model fitted on that group alone
    part = run.sample[run.sample["customer_type"].astype(str) == "high_bill"]
    alone = ipma(part, model=run.model, scale_min=run.scale_min, scale_max=run.scale_max,
                 design=study_design(study)).set_index("block")  # fmt: skip
    mine = seg[seg["value"] == "High-bill"].set_index("block")
    assert mine["importance"].to_numpy() == pytest.approx(
        alone.loc[mine.index, "importance"].to_numpy(), rel=1e-9
    )
    sentences = [_words(s) for s in ipma_segment_takeaway(seg, run=run, study=study)]
    assert len(sentences) == 3 and sentences[1].startswith("High-bill: Improve ")


def test_the_item_map_action_names_the_priority_one_item(full, run):
    study, _ = full
    item_map = ipma_item_table(run, study=study)  # carries a display "label" column
    first = item_map.loc[item_map["priority"] == 1].iloc[0]
    labels = dict(zip(item_map["item"], item_map["label"], strict=True))
    said = _words(ipma_takeaway(item_map, labels=labels))
    assert said.startswith(f"Improve {first['label']} first")
    if first["quadrant"] == "concentrate here":
        assert "of the drivers that matter more than average" in said
