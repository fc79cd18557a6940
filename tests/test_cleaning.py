"""The cleaning step: values, quality rules, nothing lost, processed files, load_clean."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from analysis_helpers.cleaning import (
    CUBE_COLUMNS,
    RULES,
    answer_cube,
    clean,
    data_dictionary,
    funnel_long,
    load_clean,
    parse_numbers,
    problem_summary,
    read_cube,
)
from analysis_helpers.io import as_text_frame, read_study_files, write_processed
from analysis_helpers.study import load_study

ROOT = Path(__file__).resolve().parents[1]
BASE = yaml.safe_load((ROOT / "tests/bad_inputs/config/base.yml").read_text(encoding="utf-8"))
COLUMNS = ["rid", "wave", "type", "wt", "secs", "q1", "q2", "q3", "q4", "overall", "note"]


# ---- the demo study -------------------------------------------------------------------
@pytest.fixture(scope="module")
def demo():
    study = load_study(ROOT / "config/demo.yml")
    return study, clean(study)


@pytest.fixture(scope="module")
def dirt(truths) -> dict:
    return truths["planted_dirt"]


def excluded_for(result, rule: str) -> set[str]:
    ex = result.exclusions
    return set(ex.loc[ex["reasons"].str.split(";").map(lambda r: rule in r), "resp_id"])


def test_rows_read_equal_kept_plus_excluded_per_wave(demo):
    study, res = demo
    kept = res.data.groupby("wave", observed=False).size()
    excl = res.exclusions.groupby("wave").size().reindex(study.waves, fill_value=0)
    f = res.funnel.set_index("wave")
    assert (f["read"] == kept + excl).all()
    assert (f["analysed"] == kept).all()
    assert (f["read"] == 1616).all()
    # the log's removals add up to the exclusions, the funnel falls step by step
    removed = res.log.groupby("wave")["n_excluded"].sum()
    assert (removed == excl).all()
    steps = f[["read", *RULES, "analysed"]].to_numpy()
    assert (np.diff(steps, axis=1) <= 0).all()


@pytest.mark.parametrize(
    ("planted", "rule"),
    [("speeders", "speeders"), ("straightliners", "straightliners"), ("incomplete", "incomplete")],
)
def test_planted_respondents_are_excluded_with_their_reason(demo, dirt, planted, rule):
    _, res = demo
    hit = excluded_for(res, rule)
    for wave, d in dirt.items():
        ids = set(d[planted])
        assert ids <= hit, (wave, sorted(ids - hit)[:5])
        assert not ids & set(res.data["resp_id"]), wave


def test_planted_duplicates_are_excluded(demo, dirt):
    _, res = demo
    dup_id = excluded_for(res, "duplicate_id")
    dup_ans = excluded_for(res, "duplicate_answers")
    for wave, d in dirt.items():
        assert set(d["duplicate_id"]) <= dup_id, wave
        for copy in d["duplicate_answers"]:
            original = copy.removesuffix("-B")
            # of the pair, the later row in the file is the duplicate
            assert {copy, original} & dup_ans, (wave, copy)
    # a respondent id appears once in the clean file per wave
    assert not res.data.duplicated(["wave", "resp_id"]).any()


def test_planted_bad_values_are_listed_as_problems(demo, dirt):
    _, res = demo
    p = res.problems
    oor = set(p.loc[p["rule"] == "out_of_range", "respondent_id"])
    text = p[p["rule"].isin(["non_numeric", "full_width_digits"])]
    for wave, d in dirt.items():
        assert set(d["out_of_range"]) <= oor, wave
        assert set(d["non_numeric"]) <= set(text["respondent_id"]), wave
    assert {"N/A", "five", "n/a", "５"} <= set(text["value"])
    assert (text.loc[text["value"] == "５", "rule"] == "full_width_digits").all()
    assert list(p.columns) == ["file", "row", "respondent_id", "column", "value", "rule"]


def test_clean_values(demo):
    study, res = demo
    data = res.data
    for name, item in study.items.items():
        col = data[name]
        assert col.dtype == np.float64, name
        v = col.dropna()
        assert v.between(item.scale.min, item.scale.max).all(), name
        assert (v == v.round()).all(), name
    assert data["wave"].cat.ordered and list(data["wave"].cat.categories) == study.waves
    assert data["weight"].dtype == np.float64 and (data["weight"] > 0).all()
    assert set(data["customer_type"].dropna()) <= {"contract", "high_bill", "prepaid"}
    assert set(data["flags"]) <= {"", "out_of_range"}
    assert {"_file", "_row", "comment"} <= set(data.columns)


def test_reverse_coding_and_missing_codes_against_raw(demo):
    study, res = demo
    from analysis_helpers.io import read_study_files

    raw = read_study_files(study).frame.set_index(["_file", "_row"])
    data = res.data.set_index(["_file", "_row"])
    given = pd.to_numeric(raw.loc[data.index, "net_drop"], errors="coerce")
    ok = given.between(1, 5).to_numpy()
    assert np.array_equal(data["net_drop"].to_numpy()[ok], 6 - given.to_numpy()[ok])
    codes = given.isin([99]).to_numpy()
    assert codes.sum() > 50
    assert np.isnan(data["net_drop"].to_numpy()[codes]).all()
    assert res.recodes.query("item == 'net_drop'")["reversed"].sum() >= ok.sum()


def test_exclusions_keep_original_values(demo):
    study, res = demo
    from analysis_helpers.io import read_study_files

    raw = read_study_files(study).frame
    ex = res.exclusions
    assert set(raw.columns) <= set(ex.columns)
    merged = ex.merge(raw, on=["_file", "_row"], suffixes=("", "_raw"))
    assert len(merged) == len(ex)
    for col in ["resp_id", "net_cov_home", "duration_sec", "comment"]:
        a, b = merged[col].fillna("<NA>"), merged[f"{col}_raw"].fillna("<NA>")
        assert (a == b).all(), col
    assert ex["reasons"].str.len().gt(0).all()


def test_data_dictionary_counts(demo):
    study, res = demo
    d = data_dictionary(study, res.data)
    assert list(d.columns) == [
        "item", "label", "role", "area", "scale_min", "scale_max", "reverse",
        "valid_n", "missing_n", "mean", "in_index",
    ]  # fmt: skip
    assert (d["valid_n"] + d["missing_n"] == len(res.data)).all()
    assert d["in_index"].tolist() == [i in study.index_items() for i in d["item"]]
    assert d.set_index("item").loc["net_drop", "reverse"]
    with pytest.raises(KeyError, match="item 'net_cov_home' of study 'demo' is not a column"):
        data_dictionary(study, res.data.drop(columns="net_cov_home"))


def test_summaries(demo):
    _, res = demo
    s = problem_summary(res.problems)
    assert s["n"].sum() == len(res.problems)
    long = funnel_long(res.funnel)
    assert len(long) == len(res.funnel) * (len(RULES) + 2)
    assert long.groupby("wave")["share"].first().eq(1).all()
    with pytest.raises(KeyError, match="funnel has no column 'read'"):
        funnel_long(res.funnel.drop(columns="read"))


# ---- processed files and load_clean ------------------------------------------------------
@pytest.fixture
def project(tmp_path) -> Path:
    """A copy of the project's demo study and raw files in a temporary root."""
    (tmp_path / "config").mkdir()
    shutil.copy(ROOT / "config/demo.yml", tmp_path / "config/demo.yml")
    shutil.copytree(ROOT / "data/raw/demo", tmp_path / "data/raw/demo")
    return tmp_path


def hashes(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}


def test_write_processed_and_load_clean(project):
    study = load_study(project / "config/demo.yml")
    raw_before = hashes(study.raw_dir)
    res = clean(study)
    written = write_processed(res, study)
    names = {p.name for p in written}
    assert {
        "clean.parquet", "exclusions.parquet", "exclusions.csv", "problems.csv",
        "funnel.csv", "cleaning_log.csv", "manifest.json",
    } <= names  # fmt: skip
    assert hashes(study.raw_dir) == raw_before  # raw files byte-identical
    manifest = json.loads((study.processed_dir / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["rows"]["read"] == manifest["rows"]["kept"] + manifest["rows"]["excluded"]
    assert len(manifest["inputs"]) == 1 + len(study.spec.data.files)
    back = load_clean(study)
    pd.testing.assert_frame_equal(back, res.data, check_dtype=False)
    assert back["wave"].cat.ordered
    ex = pd.read_parquet(study.processed_dir / "exclusions.parquet")
    assert len(ex) == len(res.exclusions)
    # a changed study file makes the processed file stale: clean in memory, write nothing
    text = study.path.read_text(encoding="utf-8").replace(
        "min_answered_share: 0.5", "min_answered_share: 0.9"
    )
    study.path.write_text(text, encoding="utf-8")
    stamp = (study.processed_dir / "clean.parquet").stat().st_mtime_ns
    fresh = load_clean(load_study(study.path))
    assert len(fresh) < len(res.data)
    assert (study.processed_dir / "clean.parquet").stat().st_mtime_ns == stamp


# ---- rules and values on small hand-made studies -----------------------------------------
def make_study(root: Path, waves: dict[str, pd.DataFrame], **changes):
    """A small study (tests/bad_inputs/config/base.yml) over the given per-wave frames."""
    raw = root / "data" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    files = []
    for wave, df in waves.items():
        df.to_csv(raw / f"{wave}.csv", index=False)
        files.append({"path": f"{wave}.csv", "format": "csv", "wave": wave})
    spec = json.loads(json.dumps(BASE))
    spec["data"]["files"] = files
    for key, value in changes.items():
        node = spec
        *path, last = key.split(".")
        for part in path:
            node = node[part]
        node[last] = value
    (root / "config").mkdir(exist_ok=True)
    p = root / "config" / "small.yml"
    p.write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    return load_study(p)


def wave_frame(n: int = 20, seed: int = 0, prefix: str = "r") -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "rid": [f"{prefix}{k:03d}" for k in range(n)],
            "type": rng.choice(["a", "b"], n),
            "wt": 1.0,
            "secs": rng.integers(500, 700, n),
            **{f"q{j}": rng.integers(1, 6, n).astype(object) for j in range(1, 5)},
            "overall": rng.integers(1, 11, n),
            "note": "",
        }
    )


def test_values_codes_and_problems(tmp_path):
    df = wave_frame()
    df.loc[0, "q1"] = "don't know"
    df.loc[1, "q1"] = 99
    df.loc[2, "q2"] = 7
    df.loc[3, "q2"] = "five"
    df.loc[4, "q3"] = "４"
    df.loc[5, "q3"] = 2.5
    df.loc[6, "type"] = "c"
    df.loc[7, "q4"] = 1
    study = make_study(tmp_path, {"W1": df})
    res = clean(study)
    d = res.data.set_index("rid")
    assert np.isnan(d.loc["r000", "q1"]) and np.isnan(d.loc["r001", "q1"])
    assert np.isnan(d.loc["r002", "q2"]) and np.isnan(d.loc["r003", "q2"])
    assert d.loc["r004", "q3"] == 4.0
    assert d.loc["r007", "q4"] == 5.0  # reversed
    assert pd.isna(d.loc["r006", "type"])
    p = res.problems.set_index("respondent_id")
    assert p.loc["r002", "rule"] == "out_of_range" and p.loc["r002", "value"] == "7"
    assert p.loc["r003", "rule"] == "non_numeric" and p.loc["r003", "row"] == 5
    assert p.loc["r004", "rule"] == "full_width_digits"
    assert p.loc["r005", "rule"] == "out_of_range"
    assert p.loc["r006", "rule"] == "unknown_segment_value"
    assert "r000" not in p.index and "r001" not in p.index  # missing codes are not problems
    assert res.recodes.set_index("item").loc["q1", "missing_codes"] == 2


def test_parse_numbers_statuses():
    v, s = parse_numbers(pd.Series(["1", " 2 ", None, "", "x", "３", "1e1"], dtype="str"))
    assert s.tolist() == [1, 1, 0, 0, 3, 2, 1]
    assert v[[0, 1, 5, 6]].tolist() == [1.0, 2.0, 3.0, 10.0]


def test_rules_flag_off_and_zscore(tmp_path):
    df = wave_frame(n=40)
    df.loc[0, "secs"] = 50  # a speeder
    df.loc[1, ["q1", "q2", "q3", "q4"]] = 3  # a straightliner
    df.loc[2, ["q1", "q2", "q3", "q4", "overall"]] = None  # incomplete
    dup = df.iloc[[5]].assign(rid="r005")  # same id again
    twin = df.iloc[[6]].assign(rid="r900")  # same answers, new id
    df = pd.concat([df, dup, twin], ignore_index=True)
    study = make_study(
        tmp_path,
        {"W1": df},
        **{
            "quality.speeders": {"action": "flag"},
            "quality.incomplete": {"action": "off"},
            "quality.out_of_range": {"action": "exclude", "max_per_respondent": 0},
        },
    )
    res = clean(study)
    ex = res.exclusions.set_index("rid")
    assert "straightliners" in ex.loc["r001", "reasons"]
    assert ex.loc["r900", "reasons"] == "duplicate_answers"
    assert "duplicate_id" in ex.loc["r005", "reasons"]
    assert "r000" not in ex.index  # flagged, kept
    kept = res.data.set_index("rid")
    assert kept.loc["r000", "flags"] == "speeders"
    assert "r002" in kept.index  # incomplete rule off
    log = res.log.set_index("rule")
    assert log.loc["incomplete", "action"] == "off" and log.loc["incomplete", "n_hit"] == 0
    assert log.loc["speeders", "n_hit"] == 1 and log.loc["speeders", "n_excluded"] == 0
    z = clean(
        make_study(
            tmp_path / "z", {"W1": df}, **{"quality.speeders": {"method": "zscore", "z": 2.0}}
        )
    )
    assert "speeders" in z.exclusions.set_index("rid").loc["r000", "reasons"]


def test_waves_aligned_when_an_item_is_dropped(tmp_path):
    w1 = wave_frame(seed=1)
    w2 = wave_frame(seed=2, prefix="s").drop(columns="q3").assign(extra=1)
    study = make_study(tmp_path, {"W1": w1, "W2": w2})
    res = clean(study)
    a = res.alignment.set_index("column")
    assert a.loc["q3", "status"] == "dropped from W2"
    assert bool(a.loc["q3", "W1"]) and not bool(a.loc["q3", "W2"])
    # an export column the study does not use is information, not a problem
    assert a.loc["extra", "status"] == "not used" and a.loc["extra", "role"] == "not used"
    assert res.data.loc[res.data["wave"] == "W2", "q3"].isna().all()
    assert res.data.loc[res.data["wave"] == "W1", "q3"].notna().all()
    p = res.problems
    assert set(p["rule"]) == {"missing_column"}
    assert p.loc[p["rule"] == "missing_column", ["file", "column", "value"]].values.tolist() == [
        ["W2.csv", "q3", "W2"]
    ]
    # the dropped item does not make W2's respondents incomplete
    assert (res.funnel.set_index("wave").loc["W2", "analysed"]) == 20


def test_stacked_file_with_wave_column(tmp_path):
    stacked = pd.concat(
        [wave_frame(seed=1).assign(wave="W2"), wave_frame(seed=2, prefix="s").assign(wave="W1")]
    )
    raw = tmp_path / "data" / "raw"
    raw.mkdir(parents=True)
    stacked.to_csv(raw / "all.csv", index=False)
    spec = json.loads(json.dumps(BASE))
    spec["data"]["files"] = [{"path": "all.csv", "format": "csv"}]
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "s.yml").write_text(yaml.safe_dump(spec), encoding="utf-8")
    res = clean(load_study(tmp_path / "config" / "s.yml"))
    assert list(res.funnel["wave"]) == ["W1", "W2"]
    assert (res.funnel["read"] == 20).all()
    assert res.data["_row"].min() == 2 and res.data["_row"].max() == 41


def test_clean_rejects_what_is_not_a_study():
    with pytest.raises(TypeError, match="study must be a Study"):
        clean("config/demo.yml")


# ---- raking to the study file's margins (cleaning.apply_weighting) -------------------
def test_raked_weights_meet_the_margins_in_every_wave():
    from analysis_helpers.cleaning import clean
    from analysis_helpers.study import load_study

    study = load_study(ROOT / "config" / "demo.yml")
    result = clean(study)
    data, wt = result.data, study.weighting
    assert wt.output == study.weight_column == "rake_weight"
    assert data[wt.output].notna().all() and (data[wt.output] > 0).all()
    for wave, part in data.groupby(study.wave_column, observed=True):
        w = part[wt.output]
        for col, targets in wt.margins.items():
            share = w.groupby(part[col]).sum() / w.sum()
            for value, target in targets.items():
                assert share[value] == pytest.approx(target / sum(targets.values()), abs=1e-5), (
                    wave,
                    col,
                    value,
                )
        lo, hi = wt.trim
        assert w.min() >= lo * w.mean() - 1e-9 and w.max() <= hi * w.mean() + 1e-9
    report = result.weighting  # the delivered weights ("before") and the raked ones
    after = report[report["weights"] == "after"]
    assert list(after["wave"]) == study.waves
    assert list(report.loc[report["weights"] == "before", "wave"]) == study.waves
    assert (after["efficiency"] < 1).all() and (after["deff_weighting"] > 1).all()


def test_raking_failure_names_the_wave(tmp_path, monkeypatch):
    import yaml

    from analysis_helpers.cleaning import clean
    from analysis_helpers.study import DATA_DIRS_ENV, load_study
    from analysis_helpers.weighting import RakingError

    # the demo's exports, outside this project folder: allowed by the environment variable
    monkeypatch.setenv(DATA_DIRS_ENV, str(ROOT / "data" / "raw"))
    raw = yaml.safe_load((ROOT / "config" / "demo.yml").read_text(encoding="utf-8"))
    raw["data"]["root"] = str(ROOT / "data" / "raw" / "demo")
    raw["weighting"]["trim"] = [0.99, 1.01]  # cannot meet the margins within these bounds
    (tmp_path / "config").mkdir()
    path = tmp_path / "config" / "tight.yml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(RakingError, match=r"tight\.yml: weighting of wave 2024Q1: "):
        clean(load_study(path))


# ---- studies without the optional parts -------------------------------------------------
def drop_key(study_path: Path, *keys: str) -> None:
    """Remove ``data.respondent_id`` and the like from a written study file."""
    spec = yaml.safe_load(study_path.read_text(encoding="utf-8"))
    for key in keys:
        node = spec
        *path, last = key.split(".")
        for part in path:
            node = node[part]
        node.pop(last)
    study_path.write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")


def test_without_an_id_rows_are_named_by_file_and_row(tmp_path):
    df = wave_frame(n=30).drop(columns="rid")
    df.loc[3, "q2"] = 9
    df = pd.concat([df, df.iloc[[4]]], ignore_index=True)  # the same answers again
    study = make_study(tmp_path, {"W1": df})
    drop_key(study.path, "data.respondent_id")
    study = load_study(study.path)
    res = clean(study)
    assert not study.has_id and study.id_column == "_id"
    assert res.data["_id"].iloc[0] == "W1.csv:2"
    assert list(res.exclusions["_id"]) == ["W1.csv:32"]
    assert res.exclusions["reasons"].iloc[0] == "duplicate_answers"
    log = res.log.set_index("rule")
    assert log.loc["duplicate_id", "status"] == "not applied"
    assert log.loc["duplicate_id", "reason"] == "no respondent id column (data.respondent_id)"
    assert log.loc["duplicate_id", "n_hit"] == 0
    assert log.loc["duplicate_answers", "status"] == "applied"
    p = res.problems.set_index("rule")
    assert p.loc["out_of_range", "respondent_id"] == "W1.csv:5"
    assert "_id" not in set(res.alignment["column"])


def test_a_single_export_without_waves(tmp_path):
    raw = tmp_path / "data" / "raw"
    raw.mkdir(parents=True)
    wave_frame(n=25).to_csv(raw / "export.csv", index=False)
    spec = json.loads(json.dumps(BASE))
    spec["data"]["files"] = [{"path": "export.csv"}]
    spec["data"].pop("wave")
    (tmp_path / "config").mkdir()
    p = tmp_path / "config" / "one.yml"
    p.write_text(yaml.safe_dump(spec), encoding="utf-8")
    study = load_study(p)
    res = clean(study)
    assert study.waves == ["all"] and list(res.funnel["wave"]) == ["all"]
    assert list(res.data["wave"].cat.categories) == ["all"] and len(res.data) == 25
    assert list(res.files["wave"]) == ["all"]
    # an export that does carry a wave column needs the waves declared
    wave_frame(n=25).assign(wave="2024").to_csv(raw / "export.csv", index=False)
    with pytest.raises(Exception, match="the file has a column 'wave', but the study file "):
        clean(load_study(p))


def test_a_rule_that_would_exclude_most_of_a_wave_stops_the_cleaning(tmp_path):
    from analysis_helpers.cleaning import CleaningError

    df = wave_frame(n=40).assign(rid=["store1", "store2"] * 20)  # not a respondent id
    study = make_study(tmp_path, {"W1": df})
    with pytest.raises(CleaningError) as info:
        clean(study)
    assert str(info.value) == (
        "small.yml: quality rule 'duplicate_id' would exclude 38 of 40 rows (95%) of wave "
        "'W1', more than quality.max_excluded_share (50%): is data.respondent_id ('rid') "
        "really unique per respondent? Without a unique id, remove data.respondent_id: rows "
        "are then named by file and row, and duplicates are found by identical answers. To go "
        "ahead anyway, set quality.duplicates.action to flag, or raise "
        "quality.max_excluded_share"
    )
    res = clean(make_study(tmp_path, {"W1": df}, **{"quality.max_excluded_share": 1.0}))
    assert len(res.data) == 2
    res = clean(make_study(tmp_path, {"W1": df}, **{"quality.duplicates": {"action": "flag"}}))
    assert len(res.data) == 40 and (res.data["flags"] == "duplicate_id").sum() == 38


def test_rules_that_cannot_apply_are_not_applied(tmp_path):
    study = make_study(
        tmp_path,
        {"W1": wave_frame(n=30).drop(columns="secs")},
        **{
            "quality.straightliners": {"grid": ["q1", "q2", "q3", "q4"], "min_items": 8},
            "quality.incomplete": {"action": "off"},
        },
    )
    drop_key(study.path, "data.duration")
    res = clean(load_study(study.path))
    log = res.log.set_index("rule")
    assert log.loc["speeders", "status"] == "not applied"
    assert log.loc["speeders", "reason"] == "no completion-time column (data.duration)"
    assert log.loc["straightliners", "reason"] == (
        "the grid has 4 items, fewer than quality.straightliners.min_items (8)"
    )
    assert log.loc["incomplete", "status"] == "off"
    assert log.loc["incomplete", "reason"] == "off in the study file (quality.incomplete.action)"
    assert (
        log.loc["out_of_range", "status"] == "applied" and log.loc["out_of_range", "reason"] == ""
    )
    assert list(res.log.columns) == [
        "wave", "rule", "action", "status", "reason", "n_hit", "n_excluded",
    ]  # fmt: skip


def test_speeders_not_applied_in_a_wave_without_times(tmp_path):
    w1 = wave_frame(n=30, seed=1)
    w2 = wave_frame(n=30, seed=2, prefix="s").drop(columns="secs")
    res = clean(make_study(tmp_path, {"W1": w1, "W2": w2}))
    log = res.log.set_index(["wave", "rule"])
    assert log.loc[("W1", "speeders"), "status"] == "applied"
    assert log.loc[("W2", "speeders"), "status"] == "not applied"
    assert log.loc[("W2", "speeders"), "reason"] == "no completion times in this wave"


def test_integer_codes_match_the_data(tmp_path):
    df = wave_frame(n=20).assign(type=[1, 2.0] * 10)
    df["type"] = df["type"].astype(object)
    df.loc[0, "type"] = "2.0"
    study = make_study(
        tmp_path, {"W1": df}, segments=[{"column": "type", "values": {1: "One", 2: "Two"}}]
    )
    res = clean(study)
    assert set(res.data["type"]) == {"1", "2"}
    assert not (res.problems["rule"] == "unknown_segment_value").any()
    assert list(res.segments["value"]) == ["1", "2"]


def test_segment_values_from_the_data_when_the_study_gives_none(tmp_path):
    df = wave_frame(n=20).assign(type=["b", "a", "10", "9"] * 5)
    study = make_study(tmp_path, {"W1": df}, segments=[{"column": "type"}])
    res = clean(study)
    assert study.segment("type").values == {"9": "9", "10": "10", "a": "a", "b": "b"}
    assert res.segments["source"].unique().tolist() == ["data"]


def spss_study(root: Path, **changes):
    """A one-wave study over an SPSS file with numeric codes and value labels."""
    from analysis_helpers.io import write_spss_export

    df = wave_frame(n=30).assign(type=[1, 2, 1] * 10)
    df.loc[0, "type"] = 3  # a code without a label
    df.loc[1, "q1"] = 9  # labelled "Don't know", outside the 1-5 scale
    df.loc[2, "q1"] = 8  # neither in the scale nor labelled
    raw = root / "data" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    write_spss_export(
        df,
        raw / "W1.sav",
        value_labels={
            "type": {1.0: "Postpaid", 2.0: "Prepaid"},
            "q1": {1.0: "Very poor", 5.0: "Very good", 9.0: "Don't know"},
        },
    )
    spec = json.loads(json.dumps(BASE))
    spec["data"]["files"] = [{"path": "W1.sav", "format": "spss", "wave": "W1"}]
    spec["segments"] = [{"column": "type", "label": "Plan"}]
    spec.update(changes)
    (root / "config").mkdir(exist_ok=True)
    p = root / "config" / "spss.yml"
    p.write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    return load_study(p)


def test_spss_codes_take_the_files_value_labels(tmp_path):
    study = spss_study(tmp_path)
    res = clean(study)
    assert study.segment("type").values == {"1": "Postpaid", "2": "Prepaid"}
    assert study.segment_source("type") == "file labels"
    assert set(res.data["type"].dropna()) == {"1", "2"}
    p = res.problems
    assert p.loc[p["rule"] == "unknown_segment_value", "value"].tolist() == ["3"]
    # 9 is labelled (a missing code in effect), 8 is not
    assert p.loc[(p["rule"] == "out_of_range") & (p["column"] == "q1"), "value"].tolist() == ["8"]
    assert res.recodes.set_index("item").loc["q1", "missing_codes"] == 1
    d = res.data.set_index("rid")
    assert np.isnan(d.loc["r001", "q1"]) and np.isnan(d.loc["r002", "q1"])
    assert res.segments[["value", "value_label", "source"]].values.tolist() == [
        ["1", "Postpaid", "file labels"],
        ["2", "Prepaid", "file labels"],
    ]


def test_spss_codes_match_a_study_that_lists_the_labels(tmp_path):
    study = spss_study(
        tmp_path,
        segments=[{"column": "type", "values": {"Postpaid": "Post", "Prepaid": "Pre"}}],
    )
    res = clean(study)
    assert set(res.data["type"].dropna()) == {"Postpaid", "Prepaid"}
    assert (res.data["type"] == "Postpaid").sum() == 19  # 20 ones, one of them row 0 -> 3


def test_load_clean_restores_segment_values_from_the_data(tmp_path):
    study = spss_study(tmp_path)
    write_processed(clean(study), study)
    fresh = load_study(study.path)
    assert fresh.segment("type").values == {}
    load_clean(fresh)
    assert fresh.segment("type").values == {"1": "Postpaid", "2": "Prepaid"}
    assert fresh.segment_source("type") == "file labels"


def test_a_segment_whose_values_are_not_its_codes(tmp_path):
    from analysis_helpers.io import DataFileError

    df = wave_frame(n=20).assign(type=[1, 2] * 10)
    study = make_study(tmp_path, {"W1": df})  # the study lists codes a and b
    with pytest.raises(DataFileError) as info:
        clean(study)
    assert str(info.value) == (
        "data/raw/W1.csv: row 2: column 'type': value '1': 20 of 20 values are not codes of "
        "segment 'type' ('a', 'b'): list the codes the export uses in the segment's values "
        "(numbers may be written as numbers, e.g. {1: Postpaid}), or leave values out to "
        "take them from the data"
    )


def test_an_item_whose_values_lie_mostly_outside_its_scale(tmp_path):
    from analysis_helpers.io import DataFileError

    df = wave_frame(n=20).assign(q2=[6, 7, 8, 9, 10, 6, 2, 3, 4, 5] * 2)
    with pytest.raises(DataFileError) as info:
        clean(make_study(tmp_path, {"W1": df}))
    assert str(info.value) == (
        "data/raw/W1.csv: row 2: column 'q2': value '6': 12 of 20 values lie outside the "
        "item's scale 1-5 (e.g. 6, 7, 8, 9, 10): fix the scale in the study file, or "
        "declare codes such as 'not applicable' in missing_codes"
    )


# ---- validate: the data checked without cleaning ------------------------------------
CASES = yaml.safe_load((ROOT / "tests/bad_inputs/cases.yml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("case", sorted(CASES))
def test_validate_reports_every_bad_input_with_its_message(case, monkeypatch, capsys):
    from analysis_helpers.cli import main

    monkeypatch.chdir(ROOT)
    expected = CASES[case]
    rc = main(["validate", "--study", f"tests/bad_inputs/config/{case}.yml"])
    err = capsys.readouterr().err.splitlines()
    if expected["error"] == "StudyFileError":
        assert rc == 2 and "\n".join(err) == f"error: {expected['message']}"
    else:
        assert rc == 1 and f"error: {expected['message']}" in err, err


def test_validate_collects_every_error_at_once(tmp_path):
    from analysis_helpers.cleaning import check_data

    w1 = wave_frame(n=20).drop(columns="q3").assign(type=[1, 2] * 10)
    w2 = wave_frame(n=20, prefix="s").drop(columns="q3")
    w2.loc[3, "wt"] = -1
    w2.loc[4, "q1"] = 6
    study = make_study(tmp_path, {"W1": w1, "W2": w2})
    found = check_data(study)
    assert list(found.columns) == ["severity", "file", "row", "column", "value", "message"]
    errors = found[found["severity"] == "error"]
    assert errors["message"].tolist() == [
        "W1.csv, W2.csv: column 'q3': column 'q3' (item in the study file) is in none of the "
        "data files; fix its name in the study file or in the exports",
        "data/raw/W1.csv: row 2: column 'type': value '1': 20 of 20 values are not codes of "
        "segment 'type' ('a', 'b'): list the codes the export uses in the segment's values "
        "(numbers may be written as numbers, e.g. {1: Postpaid}), or leave values out to "
        "take them from the data",
        "data/raw/W2.csv: row 5: column 'wt': value '-1.0': 1 row without a valid weight "
        "(e.g. '-1.0'): every respondent needs a weight above 0 (not missing, zero, negative "
        "or text)",
    ]
    warnings = found[found["severity"] == "warning"]
    assert warnings["message"].tolist() == [
        "data/raw/W2.csv: row 6: column 'q1': value '6': 1 value outside the item's scale 1-5 "
        "(e.g. '6'): set to missing by the cleaning step; a code such as 'not applicable' "
        "belongs in missing_codes",
    ]
    assert warnings["row"].tolist() == [6] and warnings["file"].tolist() == ["data/raw/W2.csv"]


def test_validate_the_demo(monkeypatch, capsys):
    from analysis_helpers.cli import main

    monkeypatch.chdir(ROOT)
    assert main(["validate", "--study", "config/demo.yml", "--no-data"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [
        f"{ROOT / 'config/demo.yml'}: study file OK - study 'demo', 52 items, 6 waves, "
        "4 segments, 6 data files"
    ]
    assert main(["validate", "--study", "config/demo.yml", "--max-warnings", "99"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert (
        "warning: demo.yml: wave 'Q1 2024': 10 rows repeat an earlier respondent id (column "
        "'resp_id'); the duplicates rule excludes them" in out
    )
    n = sum(line.startswith("warning: ") for line in out)
    assert out[-1].startswith(f"data OK: 0 errors, {n} warnings (")


def test_validate_max_warnings_and_strict(tmp_path, capsys):
    from analysis_helpers.cli import main

    df = wave_frame(n=20)
    df.loc[[1, 2], "q1"] = 7
    df.loc[3, "q2"] = "x"
    study = make_study(tmp_path, {"W1": df})
    assert main(["validate", "--study", str(study.path), "--max-warnings", "1"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 4 and out[1].startswith("warning: data/raw/W1.csv: row 3: column 'q1'")
    assert out[2] == "... and 1 more warnings (--max-warnings)"
    assert out[3].startswith("data OK: 0 errors, 2 warnings (")
    assert main(["validate", "--study", str(study.path), "--strict"]) == 1
    assert capsys.readouterr().out.splitlines()[-1].startswith("data FAILED: 0 errors, 2 warnings")


# ---- the cleaning page on studies of other shapes ------------------------------------
@pytest.mark.notebooks
@pytest.mark.parametrize("shape", ["minimal", "spss_codes", "no_duration"])
def test_the_cleaning_page_reads_well_for_other_shapes(tmp_path, shape):
    import nbformat
    import papermill

    from analysis_helpers.demo import write_study_shape

    study_file = write_study_shape(tmp_path / "project", shape)
    out = tmp_path / "10-clean.ipynb"
    papermill.execute_notebook(
        str(ROOT / "notebooks" / "10-clean.ipynb"),
        str(out),
        parameters={"study_file": str(study_file), "report_dir": str(tmp_path / "report")},
        kernel_name="survey-analysis",
        cwd=str(ROOT / "notebooks"),
        progress_bar=False,
    )
    nb = nbformat.read(out, as_version=4)
    text = []
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            assert o.get("output_type") != "error", o
            data = o.get("data", {})
            text.append(data.get("text/markdown", "") + data.get("text/html", ""))
    page = "\n".join(text)
    for bad in (" nan", ">nan<", "None", "exclude, 0"):
        assert bad not in page, bad
    assert not re.search(r"\b1 (waves|files)\b", page)  # not "11 files"
    from analysis_helpers.report_checks import sentence_problems

    problems = sentence_problems([out])
    assert problems.empty, problems.to_dict("records")
    from analysis_helpers.safe_output import plain_text

    page = plain_text(page)
    assert (tmp_path / "report" / "figures" / "cleaning_funnel.png").is_file()
    if shape == "minimal":
        assert "Repeated respondent id not applied: no respondent id column" in page
        assert "Speeders not applied: no completion-time column (data.duration)." in page
        assert (
            "4 columns the study file does not use (customer_type, tenure, region, channel)" in page
        )
        assert "read from 1 file;" in page
    if shape == "spss_codes":
        assert "Segment codes and labels taken from the data" in page


def test_page_tables_and_takeaways(tmp_path):
    from analysis_helpers.cleaning import (
        cleaning_takeaways,
        column_changes,
        files_table,
        rule_summary,
        unused_columns,
    )

    w1 = wave_frame(n=30, seed=1)
    w2 = wave_frame(n=30, seed=2, prefix="s").drop(columns=["secs", "q3"]).assign(extra=1)
    w2.loc[0, "q1"] = 7
    study = make_study(
        tmp_path,
        {"W1": w1, "W2": w2},
        **{"data.wave": {"column": "wave", "order": ["W1", "W2"], "labels": {"W2": "Spring"}}},
    )
    res = clean(study)
    assert files_table(res, study)["wave"].tolist() == ["W1", "Spring"]
    assert unused_columns(res) == ["extra"]
    changes = column_changes(res, study)
    assert changes.to_dict("records") == [
        {"column": "secs", "role": "duration", "status": "dropped from Spring"},
        {"column": "q3", "role": "item", "status": "dropped from Spring"},
    ]
    rules = rule_summary(res, study).set_index("rule")
    assert rules.loc["speeders", "status"] == "applied in 1 of 2 waves"
    assert rules.loc["speeders", "reason"] == "Spring: no completion times in this wave"
    assert rules.loc["straightliners", "status"] == "applied"
    from analysis_helpers.safe_output import plain_text, render_markdown

    t = {
        k: plain_text(render_markdown(v)).strip() for k, v in cleaning_takeaways(res, study).items()
    }
    assert t["read"] == (
        "Bad-input corpus: 60 rows read from 2 files in 2 waves; 59 kept for analysis "
        "(98.3%) and 1 excluded."
    )
    assert t["columns"] == (
        "9 of the 11 columns the study file names are in every wave's file; 2 are not: secs "
        "(dropped from Spring), q3 (dropped from Spring). The exports also have 1 column the "
        "study file does not use (extra); it is listed for information and not analysed."
    )
    assert t["rules"] == (
        "Of 60 rows read, 59 (98.3%) are analysed. The rule that removes most is identical "
        "answers (1 row). The lowest retention is in Spring (96.7% of 30 rows). Speeders: "
        "applied in 1 of 2 waves only (Spring: no completion times in this wave)."
    )
    assert t["problems"] == (
        "3 problems listed: 2 columns missing in a wave's file, 1 value outside its item's "
        "scale (set to missing). The full list (file, row, respondent, column, value) is in "
        "the file problems.csv."
    )
    assert t["dictionary"] == (
        "The clean file has 59 respondents and 5 items. The item with the most missing answers "
        "is Q3: 29 of 59 (49.2%). Reverse-coded (negatively worded): Q4 (negatively worded)."
    )
    # data reach the page escaped: a label with markup shows as typed
    res.dictionary.loc[0, "label"] = "<b>Q1</b> [x](javascript:alert(1))"
    res.dictionary.loc[0, "missing_n"] = 59
    html = render_markdown(cleaning_takeaways(res, study)["dictionary"])
    assert "<b>Q1" not in html and "<a " not in html
    assert "<b>Q1</b> [x](javascript:alert(1))" in plain_text(html)


def test_why_a_rule_was_not_applied_follows_the_report_language(tmp_path):
    """A Chinese report says in Chinese why a rule did not apply (and names one-wave data)."""
    import yaml

    from analysis_helpers.demo import write_study_shape

    path = write_study_shape(tmp_path, "minimal")
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    raw.setdefault("reporting", {})["language"] = "zh"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    study = load_study(path)
    log = clean(study).log.set_index("rule")
    assert log.loc["duplicate_id", "reason"] == "没有受访者编号列（data.respondent_id）"
    assert log.loc["speeders", "reason"] == "没有答题时长列（data.duration）"
    assert study.wave_label(study.waves[0]) == "全部受访者"


def test_a_hint_ending_in_a_question_gets_no_full_stop_after_it(tmp_path):
    from analysis_helpers.cleaning import CleaningError

    df = wave_frame(n=40)
    df = pd.DataFrame([df.iloc[0].to_dict()] * 40)  # every row answers the same ...
    df["rid"] = [f"r{i}" for i in range(40)]  # ... under its own id
    with pytest.raises(CleaningError) as info:
        clean(make_study(tmp_path, {"W1": df}))
    msg = str(info.value)
    assert "are the items' names right? To go ahead anyway" in msg and "?." not in msg


# ---- typed number columns (Parquet) are cleaned without a text round trip ---------------
def test_parse_numbers_of_typed_numbers_without_text():
    col = pd.Series([1.0, np.nan, np.inf, 2.5, -np.inf, 3.0])
    v, s = parse_numbers(col)
    assert s.tolist() == [1, 0, 3, 1, 3, 1]
    assert v[[0, 3, 5]].tolist() == [1.0, 2.5, 3.0] and np.isnan(v[[1, 2, 4]]).all()
    assert np.isinf(col.iloc[2])  # the column read is untouched
    v, s = parse_numbers(pd.Series([4, None, 99], dtype="Int64"))
    assert s.tolist() == [1, 0, 1] and v[0] == 4.0 and v[2] == 99.0


def _typed_wave() -> pd.DataFrame:
    df = wave_frame(30, seed=3)
    for j in range(1, 5):
        df[f"q{j}"] = df[f"q{j}"].astype(float)
    df.loc[1, "q1"] = 99  # missing code
    df.loc[2, "q2"] = 7  # out of range
    df.loc[5, "q3"] = 2.5  # not a whole number
    df.loc[6, "q3"] = np.inf  # not a number
    df.loc[8, "q4"] = np.nan  # blank
    df.loc[9, "wt"] = 0.0  # invalid weight: the row must go (the study stops otherwise)
    return df.drop(index=9).reset_index(drop=True)


def _parquet_study(root: Path, df: pd.DataFrame):
    study = make_study(root, {"W1": df})
    df.to_parquet(study.raw_dir / "W1.parquet", index=False)
    spec = yaml.safe_load(study.path.read_text(encoding="utf-8"))
    spec["data"]["files"] = [{"path": "W1.parquet", "format": "parquet", "wave": "W1"}]
    study.path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    return load_study(study.path)


def test_parquet_numbers_clean_as_their_text(tmp_path):
    """Typed Parquet items give the clean file, problems and exclusions of their text."""
    study = _parquet_study(tmp_path, _typed_wave())
    raw = read_study_files(study)
    assert raw.frame["q1"].dtype == np.float64 and raw.frame["secs"].dtype == np.int64  # typed
    assert raw.frame["rid"].dtype == "str" and raw.frame["type"].dtype == "str"
    as_text = dataclasses.replace(raw, frame=as_text_frame(raw.frame))  # the text round trip
    assert as_text.frame["q1"].dtype == "str" and as_text.frame["q1"].iat[1] == "99"
    a, b = clean(study, raw=as_text), clean(study)
    for part in ("data", "problems", "exclusions", "funnel", "log", "recodes", "dictionary"):
        pd.testing.assert_frame_equal(getattr(a, part), getattr(b, part), check_exact=True)
    p = b.problems.set_index(["respondent_id", "column"])
    assert p.loc[("r002", "q2"), "value"] == "7" and p.loc[("r002", "q2"), "rule"] == "out_of_range"
    assert p.loc[("r005", "q3"), "value"] == "2.5"
    assert (
        p.loc[("r006", "q3"), "value"] == "inf" and p.loc[("r006", "q3"), "rule"] == "non_numeric"
    )
    assert np.isnan(b.data.set_index("rid").loc["r001", "q1"])  # 99: missing code
    assert raw.frame["q1"].iat[1] == 99.0  # the rows read are untouched


def test_typed_weight_error_names_the_value_as_read(tmp_path):
    df = _typed_wave()
    df.loc[3, "wt"] = -2.0
    with pytest.raises(ValueError, match=r"row 4.*'-2'"):
        clean(_parquet_study(tmp_path, df))


# ---- the answer cube ---------------------------------------------------------------------
def test_answer_cube_counts_by_hand(tmp_path):
    df = wave_frame(6, seed=1)
    df["type"] = ["a", "a", "b", "b", "a", None]
    df["wt"] = [1.0, 2.0, 0.5, 1.5, 3.0, 1.0]
    df["q2"] = [5, 5, 4, 99, 5, 1]
    study = make_study(tmp_path, {"W1": df})
    res = clean(study)
    cube = res.cube
    assert tuple(cube.columns) == CUBE_COLUMNS
    q2 = cube[(cube["item"] == "q2") & (cube["wave"] == "W1")].set_index(
        ["segment", "group", "code"]
    )
    # all respondents: 5 by rows 0, 1, 4 (weights 1 + 2 + 3); 4 by row 2; 1 by row 5; 99 missing
    assert q2.loc[("", "", 5.0), "count"] == 3 and q2.loc[("", "", 5.0), "count_weighted"] == 6.0
    assert q2.loc[("", "", 4.0), "count_weighted"] == 0.5
    assert q2.loc[("", "", 1.0), "count"] == 1 and q2.loc[("", "", 2.0), "count"] == 0
    # segment a: rows 0, 1, 4; b: rows 2, 3 (3 answered 99); row 5 has no segment
    assert q2.loc[("type", "a", 5.0), "count_weighted"] == 6.0
    assert q2.loc[("type", "b", 4.0), "count"] == 1
    assert q2.xs(("type", "b"), level=["segment", "group"])["count"].sum() == 1
    assert len(q2.loc[("", "")]) == 5  # every code of the scale 1-5
    again = answer_cube(res.data, study)
    pd.testing.assert_frame_equal(again, cube)


def test_cube_is_written_with_the_clean_file_and_goes_stale_with_it(project):
    study = load_study(project / "config/demo.yml")
    res = clean(study)
    names = {p.name for p in write_processed(res, study)}
    assert "answer_cube.parquet" in names
    pd.testing.assert_frame_equal(read_cube(study), res.cube)
    text = study.path.read_text(encoding="utf-8") + "\n# changed\n"
    study.path.write_text(text, encoding="utf-8")
    assert read_cube(load_study(study.path)) is None


def test_number_column_typed_in_one_file_and_text_in_another(tmp_path):
    """A column typed in one file and text in another is read as text: the same result."""
    typed = _typed_wave()
    text = wave_frame(25, seed=4, prefix="t")
    text.loc[0, "q1"], text.loc[1, "q2"], text.loc[2, "q3"] = "N/A", "５", 7
    study = make_study(
        tmp_path,
        {"W1": typed, "W2": text},
        **{"data.wave": {"column": "wave", "order": ["W1", "W2"]}},
    )
    typed.to_parquet(study.raw_dir / "W1.parquet", index=False)
    spec = yaml.safe_load(study.path.read_text(encoding="utf-8"))
    spec["data"]["files"][0] = {"path": "W1.parquet", "format": "parquet", "wave": "W1"}
    study.path.write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    study = load_study(study.path)
    raw = read_study_files(study)
    assert raw.frame["q1"].dtype == "str" and raw.frame["q1"].iat[1] == "99"  # text in both
    assert raw.frame["q1"].iat[len(typed)] == "N/A"
    a = clean(study, raw=dataclasses.replace(raw, frame=as_text_frame(raw.frame)))
    b = clean(study, raw=raw)
    for part in ("data", "problems", "exclusions", "funnel", "log", "recodes"):
        pd.testing.assert_frame_equal(getattr(a, part), getattr(b, part), check_exact=True)
    p = b.problems.set_index(["respondent_id", "column"])
    assert (
        p.loc[("t000", "q1"), "value"] == "N/A"
        and p.loc[("t001", "q2"), "rule"] == "full_width_digits"
    )
    assert p.loc[("r006", "q3"), "value"] == "inf" and p.loc[("r002", "q2"), "value"] == "7"


def test_kept_frame_takes_the_kept_rows_of_every_kind_of_column():
    from analysis_helpers.cleaning import _kept_frame

    out = {
        "id": pd.Series(["a", "b", "c", "d"], dtype="str"),
        "wave": pd.Categorical(["W1", "W2", "W1", "W2"], categories=["W1", "W2"], ordered=True),
        "q1": np.array([1.0, np.nan, 3.0, 4.0]),
        "_row": np.array([2, 3, 4, 5]),
    }
    want = pd.DataFrame(out)[[False, True, False, True]].reset_index(drop=True)
    got = _kept_frame(out, np.array([1, 3]))
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    assert out == {}  # each column dropped once taken
    assert got["id"].tolist() == ["b", "d"] and got["_row"].tolist() == [3, 5]
    assert got["wave"].cat.categories.tolist() == ["W1", "W2"] and np.isnan(got["q1"].iat[0])
