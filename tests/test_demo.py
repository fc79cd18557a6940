"""The demo generator: deterministic, realistic, and its planted truths are recorded."""

from __future__ import annotations

import hashlib
import json

import pandas as pd
import pytest

from analysis_helpers.demo import DemoSpec, generate_demo, write_demo
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
    waves, ops, truths = generate_demo()
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
    waves, _, truths = generate_demo(small)
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
    waves, _, _ = generate_demo(small)
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
    waves, _, truths = generate_demo()
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
