"""The study file: the demo loads, and every validation rule gives its exact message."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from analysis_helpers.study import StudyFileError, load_study

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "config" / "demo.yml"


@pytest.fixture(scope="module")
def demo_raw() -> dict:
    return yaml.safe_load(DEMO.read_text(encoding="utf-8"))


def write_study(tmp_path: Path, raw: dict) -> Path:
    """Write a study file into tmp/config/ so tmp is its project root."""
    (tmp_path / "config").mkdir(exist_ok=True)
    path = tmp_path / "config" / "study.yml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


def load_mutated(tmp_path, demo_raw, mutate) -> None:
    raw = copy.deepcopy(demo_raw)
    mutate(raw)
    load_study(write_study(tmp_path, raw), check_files=False)


def test_demo_study_loads():
    study = load_study(DEMO, check_files=False)
    assert study.name == "demo"
    assert study.root == ROOT
    assert len(study.item_names("satisfaction")) == 40
    assert len(study.spec.areas) == 8
    assert len(study.expectation_pairs()) == 8
    assert study.waves == ["2024Q1", "2024Q2", "2024Q3", "2024Q4", "2025Q1", "2025Q2"]
    assert study.kpis.overall == "osat" and study.kpis.nps == "nps_recommend"
    assert study.design_columns() == {
        "weight": "rake_weight",
        "strata": "region",
        "cluster": None,
        "fpc": None,
    }
    h = study.hierarchy()
    assert list(h.columns[:3]) == ["item", "label", "indicator"]
    assert len(h) == 40 and h["area"].nunique() == 8
    assert set(h.loc[h.area == "brand", "scale_max"]) == {10}
    # the raked weight is computed by the cleaning step; its base weight is read
    assert study.raw_design_columns()["weight"] == study.weighting.base_weight == "weight"
    assert study.weighting.margins["region"]["west"] == 0.15
    assert study.items["net_drop"].reverse is True
    assert study.items["osat"].top_codes == (9, 10)
    assert study.items["net_cov_home"].top_codes == (4, 5)
    assert "网络服务" in study.label("network")
    assert study.segment("region").values["north"] == "North 华北"


# one case per rule: (mutation, exact message after "<file>: ")
CASES = [
    (
        "scale min > max",
        lambda r: r["items"][12].update(scale={"min": 5, "max": 1}),
        "items[12].scale: min 5 is greater than max 1",
    ),
    (
        "scale min == max",
        lambda r: r["items"][0].update(scale={"min": 3, "max": 3}),
        "items[0].scale: min 3 is equal to max 3",
    ),
    (
        "missing code inside the scale",
        lambda r: r["items"][1].update(missing_codes=[3]),
        "items[1]: missing code 3 lies inside the scale 1-5",
    ),
    (
        "top box outside the scale",
        lambda r: r["items"][1].update(top_box=[6]),
        "items[1]: top_box code 6 lies outside the scale 1-5",
    ),
    (
        "satisfaction item without an area",
        lambda r: r["items"][2].pop("area"),
        "items[2]: a satisfaction item needs an 'area' and an 'indicator'",
    ),
    (
        "unknown key",
        lambda r: r["items"][3].update(lable="typo"),
        "items[3].lable: unexpected key (check the spelling; see docs/study-file.md)",
    ),
    (
        "missing required key",
        lambda r: r["items"][4].pop("label"),
        "items[4].label: required key is missing",
    ),
    (
        "bad item name",
        lambda r: r["items"][5].update(name="bad name"),
        "items[5].name: String should match pattern '^[A-Za-z_][A-Za-z0-9_.]*$'",
    ),
    (
        "unknown role",
        lambda r: r["items"][5].update(role="driver"),
        "items[5].role: Input should be 'satisfaction', 'expectation', 'importance', 'kpi' or 'other'",
    ),
    (
        "unknown area of an item",
        lambda r: r["items"][6].update(area="nowhere"),
        "items[6].area: unknown area 'nowhere'",
    ),
    (
        "unknown indicator",
        lambda r: r["items"][6].update(indicator="nothing"),
        "items[6].indicator: unknown indicator 'nothing'",
    ),
    (
        "indicator of another area",
        lambda r: r["items"][0].update(indicator="cmp_process"),
        "items[0].indicator: indicator 'cmp_process' belongs to area 'complaint', not 'network'",
    ),
    (
        "unknown area of an indicator",
        lambda r: r["indicators"][0].update(area="nowhere"),
        "indicators[0].area: unknown area 'nowhere' (known: ['billing', 'brand', 'complaint', "
        "'hotline', 'network', 'outlets', 'promotions', 'value'])",
    ),
    (
        "indicator without items",
        lambda r: r["indicators"].append({"name": "empty", "label": "Empty", "area": "network"}),
        "indicators[16]: indicator 'empty' has no items",
    ),
    (
        "duplicate item name",
        lambda r: r["items"].append(copy.deepcopy(r["items"][0])),
        "items: name 'net_cov_home' is used 2 times",
    ),
    (
        "duplicate segment",
        lambda r: r["segments"].append(copy.deepcopy(r["segments"][0])),
        "segments: name 'customer_type' is used 2 times",
    ),
    (
        "unknown expectation item",
        lambda r: r["items"][0].update(expectation="exp_nothing"),
        "items[0].expectation: unknown item 'exp_nothing'",
    ),
    (
        "expectation on another scale",
        lambda r: r["items"][0].update(expectation="exp_brand_trust"),
        "items[0].expectation: 'exp_brand_trust' is on scale 1-10, 'net_cov_home' on 1-5",
    ),
    (
        "unknown KPI item",
        lambda r: r["kpis"].update(overall="osat_typo"),
        "kpis.overall: unknown item 'osat_typo'",
    ),
    (
        "unknown loyalty item",
        lambda r: r["kpis"].update(loyalty=["repurchase", "stay"]),
        "kpis.loyalty[1]: unknown item 'stay'",
    ),
    (
        "NPS item not 0-10",
        lambda r: r["kpis"].update(nps="osat"),
        "kpis.nps: item 'osat' must be on a 0-10 scale, not 1-10",
    ),
    (
        "grid item unknown",
        lambda r: r["quality"]["straightliners"].update(grid=["net_cov_home", "nope"]),
        "quality.straightliners.grid[1]: unknown item 'nope'",
    ),
    (
        "file of an unknown wave",
        lambda r: r["data"]["files"][0].update(wave="2023Q4"),
        "data.files[0].wave: wave '2023Q4' is not in data.wave.order",
    ),
    (
        "wave listed twice",
        lambda r: r["data"]["wave"].update(order=["2024Q1", "2024Q1"]),
        "data.wave.order: wave '2024Q1' is listed more than once",
    ),
    (
        "unknown file format",
        lambda r: r["data"]["files"][0].update(format="sas"),
        "data.files[0].format: Input should be 'csv', 'excel', 'spss', 'qualtrics' or 'parquet'",
    ),
    (
        "no files",
        lambda r: r["data"].update(files=[]),
        "data.files: List should have at least 1 item after validation, not 0",
    ),
    (
        "negative area weight",
        lambda r: r["areas"][0].update(weight=-1),
        "areas[0].weight: Input should be greater than or equal to 0",
    ),
    (
        "bad quality action",
        lambda r: r["quality"]["speeders"].update(action="drop"),
        "quality.speeders.action: Input should be 'exclude', 'flag' or 'off'",
    ),
    (
        "speeder fraction out of range",
        lambda r: r["quality"]["speeders"].update(fraction=1.5),
        "quality.speeders.fraction: Input should be less than 1",
    ),
    (
        "suppression above the minimum base",
        lambda r: r["reporting"].update(suppress_below=50),
        "reporting: suppress_below 50 is greater than min_base 30",
    ),
    (
        "unknown correction",
        lambda r: r["reporting"].update(correction="sidak"),
        "reporting.correction: Input should be 'holm', 'fdr_bh', 'bonferroni' or 'none'",
    ),
    (
        "scale given as text",
        lambda r: r["items"][7].update(scale={"min": "one", "max": 5}),
        "items[7].scale.min: Input should be a valid integer, unable to parse string as an integer",
    ),
    (
        "bad study name",
        lambda r: r["study"].update(name="my study"),
        "study.name: String should match pattern '^[A-Za-z0-9_-]+$'",
    ),
]


@pytest.mark.parametrize("mutate,message", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_study_file_errors(tmp_path, demo_raw, mutate, message):
    with pytest.raises(StudyFileError) as info:
        load_mutated(tmp_path, demo_raw, mutate)
    lines = str(info.value).splitlines()
    assert f"{tmp_path / 'config' / 'study.yml'}: {message}" in lines or any(
        line.endswith(f"study.yml: {message}") for line in lines
    ), str(info.value)


def test_several_errors_are_reported_together(tmp_path, demo_raw):
    def mutate(r):
        r["items"][0].update(scale={"min": 5, "max": 1})
        r["items"][1].update(lable="x")

    with pytest.raises(StudyFileError) as info:
        load_mutated(tmp_path, demo_raw, mutate)
    text = str(info.value)
    assert "items[0].scale: min 5 is greater than max 1" in text
    assert "items[1].lable: unexpected key" in text


def test_missing_study_file(tmp_path):
    with pytest.raises(StudyFileError, match=r"nothing\.yml: study file not found"):
        load_study(tmp_path / "nothing.yml")


def test_invalid_yaml_names_line(tmp_path):
    (tmp_path / "bad.yml").write_text("study:\n  name: [demo\n", encoding="utf-8")
    with pytest.raises(StudyFileError, match=r"bad\.yml: line 3, column 1: invalid YAML"):
        load_study(tmp_path / "bad.yml")


def test_yaml_is_loaded_safely(tmp_path):
    (tmp_path / "evil.yml").write_text(
        "!!python/object/apply:os.system ['echo hi']\n", encoding="utf-8"
    )
    with pytest.raises(StudyFileError, match="invalid YAML"):
        load_study(tmp_path / "evil.yml")


def test_top_level_must_be_a_mapping(tmp_path):
    (tmp_path / "list.yml").write_text("- a\n- b\n", encoding="utf-8")
    with pytest.raises(StudyFileError, match="expected a mapping of keys at the top, got list"):
        load_study(tmp_path / "list.yml")


def test_not_utf8(tmp_path):
    (tmp_path / "gbk.yml").write_bytes("study: 满意度\n".encode("gbk"))
    with pytest.raises(StudyFileError, match=r"gbk\.yml: not UTF-8 text"):
        load_study(tmp_path / "gbk.yml")


def test_missing_data_file_is_named(tmp_path, demo_raw):
    raw = copy.deepcopy(demo_raw)
    raw["data"]["root"] = str(tmp_path / "raw")
    (tmp_path / "raw").mkdir()
    with pytest.raises(StudyFileError) as info:
        load_study(write_study(tmp_path, raw))
    first = str(info.value).splitlines()[0]
    assert first.endswith(
        f"data.files[0].path: file not found: {tmp_path / 'raw' / 'wave_2024Q1.csv'}"
    )
    assert len(str(info.value).splitlines()) == 6


def test_chinese_labels_round_trip(tmp_path, demo_raw):
    raw = copy.deepcopy(demo_raw)
    raw["items"][0]["label"] = "家中信号覆盖"
    study = load_study(write_study(tmp_path, raw), check_files=False)
    assert study.label("net_cov_home") == "家中信号覆盖"
