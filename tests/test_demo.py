"""The demo generator: deterministic, realistic, and its planted truths are recorded."""

from __future__ import annotations

import hashlib
import json

import pandas as pd
import pytest

from analysis_helpers.cleaning import check_data, clean, load_clean
from analysis_helpers.demo import (
    SHAPES,
    DemoSpec,
    StudyShape,
    generate_demo,
    write_demo,
    write_study_shape,
)
from analysis_helpers.io import write_processed
from analysis_helpers.study import load_study


def digest(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def small():
    return DemoSpec(respondents_per_wave=300)


def test_same_seed_gives_byte_identical_files(tmp_path, small):
    a, b = tmp_path / "a", tmp_path / "b"
    write_demo(a, small)
    write_demo(b, small)
    assert digest(a) == digest(b)
    c = tmp_path / "c"
    write_demo(c, DemoSpec(respondents_per_wave=300, seed=7))
    assert digest(c)["wave_2024Q1.csv"] != digest(a)["wave_2024Q1.csv"]


def test_demo_matches_its_study_file(tmp_path):
    """The shipped demo size, and every column the study file names is there."""
    study = load_study("config/demo.yml", check_files=False)
    waves, ops, _, truths = generate_demo()
    assert list(waves) == study.waves
    needed = {
        study.id_column,
        study.wave_column,
        *study.items,
        *study.segment_columns(),
        "weight",
        "region",
        "duration_sec",
        "comment",
    }
    for df in waves.values():
        assert len(df) >= 1500
        assert needed <= set(df.columns), needed - set(df.columns)
        for seg in study.segments:
            assert set(df[seg.column]) <= set(seg.values)
    assert set(ops.columns) == {"wave", "region", "hotline_wait_min"}
    assert len(ops) == 6 * 4


def test_planted_dirt_is_in_the_files(small):
    waves, _, _, truths = generate_demo(small)
    df = waves["2024Q2"]
    dirt = truths["planted_dirt"]["2024Q2"]
    assert df["resp_id"].duplicated().sum() == len(dirt["duplicate_id"]) == 10
    assert len(dirt["speeders"]) == 40 and len(dirt["straightliners"]) == 30
    speeders = df[df["resp_id"].isin(dirt["speeders"])]
    assert (speeders["duration_sec"] < df["duration_sec"].median() / 3).all()
    text = df.astype(str).isin(["N/A", "５", "five", "n/a"]).sum().sum()
    assert text >= 4  # a duplicated row may carry one twice
    codes = df.drop(columns=["resp_id", "wave", "comment"]).isin([99, -99]).sum().sum()
    assert codes > 0.015 * len(df) * 40
    assert df["comment"].str.contains("[\u4e00-\u9fff]", regex=True).any()
    assert df["comment"].str.contains("<script>", regex=False).any()


def test_weights_post_stratify_customer_type(small):
    waves, _, _, _ = generate_demo(small)
    df = waves["2024Q1"]
    df = df[~df["resp_id"].str.endswith("-B")].drop_duplicates("resp_id")
    share = df.groupby("customer_type")["weight"].sum() / df["weight"].sum()
    # population shares contract .45, high_bill .15, prepaid .40 (sample: .40/.30/.30)
    assert share["high_bill"] == pytest.approx(0.15, abs=0.02)
    assert share["prepaid"] == pytest.approx(0.40, abs=0.02)
    assert (df["weight"] > 0).all()


def test_truths_are_recorded(tmp_path, small):
    write_demo(tmp_path, small)
    truths = json.loads((tmp_path / "truths.json").read_text(encoding="utf-8"))
    assert truths["driver_rank_overall"][0] == "network"
    assert truths["basic_factor"] == "bill_accuracy"
    assert truths["excitement_factor"] == "promo_relevance"
    assert truths["trough"] == {
        "segment": "customer_type",
        "value": "high_bill",
        "area": "complaint",
        "latent_effect": -0.9,
    }
    assert truths["turning_point"]["wave"] == "2024Q4"


def test_planted_turning_point_and_trough_show_in_raw_means():
    """A hand check on the raw files: the network area drops in 2024Q4, and high-bill
    customers rate complaint handling lowest."""
    waves, _, _, truths = generate_demo()
    net = ["net_cov_home", "net_cov_travel", "net_indoor", "net_call_clarity"]
    means = {}
    for w, df in waves.items():
        x = df[net].apply(pd.to_numeric, errors="coerce")
        means[w] = x.where((x >= 1) & (x <= 5)).mean().mean()
    assert means["2024Q4"] < means["2024Q3"] - 0.2
    df = pd.concat(waves.values())
    cmp_items = ["cmp_ease", "cmp_updates", "cmp_speed", "cmp_fairness", "cmp_resolved"]
    x = df[cmp_items].apply(pd.to_numeric, errors="coerce")
    score = x.where((x >= 1) & (x <= 5)).mean(axis=1)
    by_type = score.groupby(df["customer_type"].to_numpy()).mean()
    assert by_type.idxmin() == "high_bill"
    assert by_type["prepaid"] - by_type["high_bill"] > 0.5


# ---- study shapes ---------------------------------------------------------------------
def expected_parts(shape) -> dict[str, bool]:
    return {
        "waves": shape.waves > 1,
        "id": shape.id_column,
        "weights": shape.weights != "none",
        "segments": shape.segments != "none",
        "linearised_design": True,  # no shape gives replicate weights
        "expectations": shape.expectations,
        "index": shape.hierarchy != "none",
        "indicators": shape.hierarchy == "full",
        "overall": shape.overall,
        "nps": shape.nps != "none",
        "ces": shape.ces,
        "loyalty": shape.loyalty,
        "operations": shape.operations,
        "respondent_operations": shape.customers and shape.id_column,
        "actions": shape.actions and shape.waves > 1 and shape.hierarchy != "none",
        "duration": shape.duration,
        "text": shape.text,
    }


@pytest.mark.parametrize("name", list(SHAPES))
def test_every_shape_loads_cleans_and_reloads(tmp_path, name):
    shape = SHAPES[name]
    path = write_study_shape(tmp_path, name)
    assert path == tmp_path / "config" / f"{name}.yml"
    study = load_study(path)
    assert study.parts() == expected_parts(shape)
    assert study.n_waves == shape.waves
    found = check_data(study)  # what `validate` reports
    assert not (found["severity"] == "error").any(), found["message"].tolist()
    res = clean(study)
    f = res.funnel
    assert (f["read"] == f["analysed"] + res.exclusions.groupby("wave").size().reindex(
        f["wave"], fill_value=0).to_numpy()).all()  # fmt: skip
    assert (f["analysed"] >= 0.8 * shape.respondents).all()
    assert len(res.data) == f["analysed"].sum()
    al = res.alignment
    changed = al[al["status"].str.startswith(("missing", "added", "dropped"))]
    assert dict(zip(changed["column"], changed["status"], strict=True)) == {
        **{c: f"added in {study.waves[1]}" for c in shape.late_items},
        **{c: f"dropped from {study.waves[-1]}" for c in shape.dropped_items},
    }
    if study.is_weighted:
        assert (res.data[study.weight_column] > 0).all()
    for seg in study.segments:
        assert seg.values and set(res.data[seg.column].dropna()) <= set(seg.values)
    write_processed(res, study)
    back = load_clean(load_study(path))
    assert len(back) == len(res.data)


def test_shape_switches_show_in_the_data(tmp_path):
    def load(name):
        study = load_study(write_study_shape(tmp_path / name, name))
        return study, clean(study)

    study, res = load("scale_1_7")
    assert study.items["net_cov_home"].scale.max == 7
    assert set(res.data["net_cov_home"].dropna()) == set(range(1, 8))
    assert res.data["net_drop"].max() == 7  # reversed on 1-7: 8 - x
    study, res = load("nps_1_10")
    assert study.items["nps_recommend"].scale.min == 1 and res.data["nps_recommend"].min() >= 1
    study, res = load("spss_codes")
    assert study.segment_source("region") == "file labels"
    assert study.segment("region").values == {"1": "North", "2": "South", "3": "East", "4": "West"}
    assert set(res.data["region"]) == {"1", "2", "3", "4"}
    assert res.weighting["wave"].nunique() == 3  # raked to margins keyed by the codes
    study, res = load("chinese")
    assert study.label("network") == "网络服务" and study.wave_label("2024Q2") == "2024年第二季度"
    study, res = load("qualtrics")
    a = res.alignment.set_index("column")
    assert a.loc["StartDate", "status"] == "not used" and study.id_column == "ResponseId"
    assert res.data["_row"].min() == 4  # three header rows
    study, res = load("no_wave_column")
    assert study.waves == ["all"] and list(res.files["file"]) == ["export.csv"]
    study, res = load("stacked")
    assert len(res.files) == 1 and list(res.funnel["wave"]) == study.waves
    study, res = load("no_id")
    assert res.data["_id"].str.match(r"^wave_2024Q\d\.csv:\d+$").all()
    assert "duplicate_answers" in set(res.exclusions["reasons"])
    study, res = load("no_segments")
    assert {"customer_type", "channel"} <= set(
        res.alignment.loc[res.alignment["status"] == "not used", "column"]
    )


def test_shapes_are_reproducible(tmp_path):
    write_study_shape(tmp_path / "a", "spss_codes")
    write_study_shape(tmp_path / "b", "spss_codes")
    assert digest(tmp_path / "a" / "data/raw/spss_codes") == digest(
        tmp_path / "b" / "data/raw/spss_codes"
    )


def test_shape_switches_that_do_not_fit(tmp_path):
    with pytest.raises(ValueError, match="raking needs segments"):
        write_study_shape(tmp_path, StudyShape(name="x", segments="none"))
    with pytest.raises(ValueError, match="an export without a wave column has one wave"):
        write_study_shape(tmp_path, StudyShape(name="x", wave_column=False))
    with pytest.raises(ValueError, match="hierarchy must be one of"):
        write_study_shape(tmp_path, StudyShape(name="x", hierarchy="deep"))
    with pytest.raises(KeyError, match="unknown study shape 'nope'"):
        write_study_shape(tmp_path, "nope")


def test_demo_data_written_by_an_older_generator_is_written_again(tmp_path):
    from analysis_helpers.cli import _demo_complete
    from analysis_helpers.demo import DEMO_VERSION

    folder = tmp_path / "demo"
    folder.mkdir()
    assert not _demo_complete(folder)  # no truths.json
    truths = folder / "truths.json"
    truths.write_text(json.dumps({"seed": 20240601}), encoding="utf-8")
    assert not _demo_complete(folder)  # the first demo wrote no version
    truths.write_text(json.dumps({"demo_version": DEMO_VERSION - 1}), encoding="utf-8")
    assert not _demo_complete(folder)
    truths.write_text("[1, 2", encoding="utf-8")
    assert not _demo_complete(folder)
    truths.write_text(json.dumps({"demo_version": DEMO_VERSION}), encoding="utf-8")
    assert _demo_complete(folder)  # a folder that is not the demo's own raw folder


def test_fast_dirt_plants_the_same_kinds_and_shares_of_dirt():
    """DemoSpec.fast_dirt (the large benchmark studies): counts scale with ``dirt``."""
    spec = DemoSpec(respondents_per_wave=3200, waves=("2024Q1", "2024Q4"), dirt=2.0, fast_dirt=True)
    waves, _, _, truths = generate_demo(spec)
    dirt = truths["planted_dirt"]["2024Q1"]
    # 40 speeders, 30 straightliners, 25 incomplete, 12 out of range, 4 text entries,
    # 10 repeated ids and 6 repeated answer vectors per wave at dirt 1
    sizes = {k: len(v) for k, v in dirt.items()}
    assert sizes == {"speeders": 80, "straightliners": 60, "incomplete": 50,
                     "duplicate_id": 20, "duplicate_answers": 12, "out_of_range": 24,
                     "non_numeric": 4}  # fmt: skip
    df = waves["2024Q1"]
    assert len(df) == 3200 + 20 + 12
    # 2% missing codes per item, an out-of-range and a text entry somewhere
    share = (df["net_cov_home"] == 99).mean()
    assert 0.015 < share < 0.021
    text = df[[c for c in df.columns if df[c].map(lambda v: isinstance(v, str)).any()]]
    assert {"N/A", "five"} <= set(text.stack().astype(str))
    assert generate_demo(spec)[3] == truths  # seeded
