"""The study file: the demo loads, and every validation rule gives its exact message."""

from __future__ import annotations

import copy
import re
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
        "an item without an indicator among items with one",
        lambda r: r["items"][2].pop("indicator"),
        "items[2]: item 'net_indoor' has no indicator, but other items of area 'network' "
        "have one; give every item of an area an indicator, or none",
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
        "NPS item not 0-10 or 1-10",
        lambda r: r["kpis"].update(nps="repurchase"),
        "kpis.nps: item 'repurchase' is on a 1-5 scale; NPS needs a 0-10 or 1-10 "
        "likelihood-to-recommend item (promoters 9-10, detractors up to 6). List another "
        "recommend or loyalty item under kpis.loyalty instead",
    ),
    (
        "stacked file without a wave order",
        lambda r: (r["data"]["files"][0].pop("wave"), r["data"]["wave"].pop("order")),
        "data.wave.order: required, because data.files[0] declares no wave (a stacked file): "
        "list the waves in time order",
    ),
    (
        "some files declare a wave, some do not",
        lambda r: (r["data"].pop("wave"), r["data"]["files"][1].pop("wave")),
        "data.files[1].wave: required, because other files declare their wave; or name the "
        "wave column and the order in data.wave for stacked files",
    ),
    (
        "a wave label of an unknown wave",
        lambda r: r["data"]["wave"]["labels"].update({"2030Q1": "Q1 2030"}),
        "data.wave.labels: wave '2030Q1' is not in data.wave.order ['2024Q1', '2024Q2', "
        "'2024Q3', '2024Q4', '2025Q1', '2025Q2']",
    ),
    (
        "a yes/no segment code",
        lambda r: r["segments"][0].update(values={True: "Yes"}),
        "segments[0].values: the code True was read as a yes/no value: quote it in the study "
        "file (e.g. 'yes': ...)",
    ),
    (
        "max excluded share above 1",
        lambda r: r["quality"].update(max_excluded_share=1.5),
        "quality.max_excluded_share: Input should be less than or equal to 1",
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
        "unknown report language",
        lambda r: r["reporting"].update(language="fr"),
        "reporting.language: unknown language 'fr': the report is written in en (English) or "
        "zh (Chinese)",
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


# ---- every optional part is optional ---------------------------------------------------
MINIMAL = {
    "study": {"name": "tiny"},
    "data": {"files": [{"path": "export.csv"}]},
    "items": [{"name": "q1", "label": "Q1", "scale": {"min": 1, "max": 5}}],
}


def test_a_minimal_study_file_loads_and_says_what_it_lacks(tmp_path):
    study = load_study(write_study(tmp_path, MINIMAL), check_files=False)
    assert study.title == "tiny" and study.client is None
    assert study.raw_dir == tmp_path / "data" / "raw" / "tiny"
    assert study.waves == ["all"] and study.n_waves == 1 and not study.is_multiwave
    assert study.wave_column == "wave" and study.wave_label("all") == "all respondents"
    assert study.file_wave(0) == "all" and not study.waves_declared
    assert study.id_column == "_id" and not study.has_id
    assert not study.is_weighted and not study.has_design
    assert study.kpi_items() == {} and study.segments == []
    assert study.item_names("satisfaction") == ["q1"] and study.unplaced_items() == ["q1"]
    h = study.hierarchy()
    assert len(h) == 0 and "weight_area" in h.columns
    parts = study.parts()
    assert parts.pop("linearised_design")  # no replicate weights: the SEs are linearised
    assert not any(parts.values()), parts
    assert study.absent("waves") == (
        "This study has one wave; comparisons over time need two or more."
    )
    assert study.absent("nps").startswith("The study file names no likelihood-to-recommend")
    with pytest.raises(KeyError, match="unknown part 'trend'"):
        study.absent("trend")


def test_the_demo_has_every_part():
    study = load_study(DEMO, check_files=False)
    assert all(study.parts().values())
    assert study.absent("segments") is None
    assert study.kpi_items() == {
        "overall": ["osat"],
        "nps": ["nps_recommend"],
        "ces": ["ces"],
        "loyalty": ["repurchase"],
    }
    assert study.n_waves == 6 and study.wave_labels()["2024Q1"] == "Q1 2024"
    assert study.index_items() == study.item_names("satisfaction")


def test_waves_from_the_files_in_file_order(tmp_path):
    raw = copy.deepcopy(MINIMAL)
    raw["data"]["files"] = [{"path": "b.csv", "wave": 2024}, {"path": "a.csv", "wave": 2023}]
    study = load_study(write_study(tmp_path, raw), check_files=False)
    assert study.waves == ["2024", "2023"] and study.waves_declared
    assert study.wave_label("2023") == "2023"
    raw["data"]["wave"] = {"labels": {2023: "Spring 2023"}}
    study = load_study(write_study(tmp_path, raw), check_files=False)
    assert study.wave_label("2023") == "Spring 2023" and study.file_wave(1) == "2023"


def test_codes_as_people_write_them(tmp_path):
    raw = copy.deepcopy(MINIMAL)
    raw["data"]["wave"] = {"column": "year", "order": [2023, 2024]}
    raw["data"]["design"] = {"weight": "w"}
    raw["segments"] = [{"column": "plan", "values": {1: "Postpaid", 2.0: "Prepaid", "x": 3}}]
    raw["weighting"] = {"output": "w", "margins": {"plan": {1: 0.5, 2: 0.3, "x": 0.2}}}
    study = load_study(write_study(tmp_path, raw), check_files=False)
    assert study.waves == ["2023", "2024"]
    seg = study.segment("plan")
    assert seg.values == {"1": "Postpaid", "2": "Prepaid", "x": "3"}
    assert seg.title == "plan" and study.label("plan") == "plan"
    assert study.weighting.margins["plan"] == {"1": 0.5, "2": 0.3, "x": 0.2}
    assert study.segment_source("plan") == "study file"


def test_segment_values_from_the_data(tmp_path):
    raw = copy.deepcopy(MINIMAL)
    raw["segments"] = [{"column": "plan", "label": "Plan"}]
    study = load_study(write_study(tmp_path, raw), check_files=False)
    assert study.segment("plan").values == {} and study.segment_source("plan") == "unresolved"
    study.set_segment_values("plan", {"1": "Postpaid", "2": "Prepaid"}, source="file labels")
    assert study.segments[0].values == {"1": "Postpaid", "2": "Prepaid"}
    assert study.segment_source("plan") == "file labels"
    with pytest.raises(ValueError, match="source must be 'file labels' or 'data'"):
        study.set_segment_values("plan", {}, source="guess")
    demo = load_study(DEMO, check_files=False)
    with pytest.raises(ValueError, match="segment 'region' has values in the study file"):
        demo.set_segment_values("region", {"n": "North"}, source="data")
    with pytest.raises(KeyError, match="'nope' is not a segment of study 'demo'"):
        demo.segment("nope")


def test_hierarchy_without_indicators_and_area_from_the_indicator(tmp_path):
    raw = copy.deepcopy(MINIMAL)
    raw["areas"] = [{"name": "a", "label": "Area A"}, {"name": "b", "label": "Area B"}]
    raw["indicators"] = [{"name": "i", "label": "Ind I", "area": "b"}]
    raw["items"] = [
        {"name": "q1", "label": "Q1", "scale": {"min": 1, "max": 5}, "area": "a"},
        {"name": "q2", "label": "Q2", "scale": {"min": 1, "max": 7}, "area": "a"},
        {"name": "q3", "label": "Q3", "scale": {"min": 1, "max": 5}, "indicator": "i"},
        {"name": "q4", "label": "Q4", "scale": {"min": 1, "max": 5}},
    ]
    study = load_study(write_study(tmp_path, raw), check_files=False)
    h = study.hierarchy().set_index("item")
    assert list(h.index) == ["q1", "q2", "q3"]
    assert h.loc["q1", "indicator"] == "a" and h.loc["q1", "indicator_label"] == "Area A"
    assert h.loc["q3", "area"] == "b" and study.items["q3"].area == "b"
    assert study.unplaced_items() == ["q4"] and study.has_index and study.has_indicators


@pytest.mark.parametrize("scale", [(0, 10), (1, 10)])
def test_nps_on_0_10_or_1_10(tmp_path, scale):
    raw = copy.deepcopy(MINIMAL)
    lo, hi = scale
    raw["items"].append(
        {"name": "rec", "label": "Recommend", "scale": {"min": lo, "max": hi}, "role": "kpi"}
    )
    raw["kpis"] = {"nps": "rec"}
    study = load_study(write_study(tmp_path, raw), check_files=False)
    assert study.has_nps and not study.has_overall and study.kpi_items() == {"nps": ["rec"]}


# multi-stage designs in the study file (issue 15) ----------------------------------------
DESIGN_CASES = [
    (
        "more fpc columns than stages",
        {"cluster": "region", "fpc": ["n1", "n2"]},
        "data.design: 2 fpc columns but 1 sampling stage(s): give a cluster column for every "
        "stage with an fpc (design.cluster: [psu, ..., respondent id])",
    ),
    (
        "empty cluster list",
        {"cluster": []},
        "data.design.cluster: give a column name or a non-empty list of column names",
    ),
    (
        "cluster listed twice",
        {"cluster": ["store", "store"]},
        "data.design.cluster: column 'store' is listed more than once",
    ),
    (
        "unknown lonely-PSU rule",
        {"lonely_psu": "certainty"},
        "data.design.lonely_psu: Input should be 'fail', 'adjust', 'remove' or 'average'",
    ),
]


@pytest.mark.parametrize(
    "design,message", [c[1:] for c in DESIGN_CASES], ids=[c[0] for c in DESIGN_CASES]
)
def test_design_stage_errors(tmp_path, demo_raw, design, message):
    def mutate(r):
        r["data"]["design"].update(design)

    with pytest.raises(StudyFileError) as info:
        load_mutated(tmp_path, demo_raw, mutate)
    assert any(line.endswith(f"study.yml: {message}") for line in str(info.value).splitlines()), (
        str(info.value)
    )


def test_design_stage_lists(tmp_path, demo_raw):
    from analysis_helpers.study_tables import study_design

    def mutate(r):
        r["data"]["design"].update(
            cluster=["region", "store"], fpc=["n_regions", "n_stores"], lonely_psu="average"
        )

    raw = copy.deepcopy(demo_raw)
    mutate(raw)
    study = load_study(write_study(tmp_path, raw), check_files=False)
    assert study.design_columns() == {
        "weight": "rake_weight",
        "strata": "region",
        "cluster": "region",
        "fpc": "n_regions",
        "cluster2": "store",
        "fpc2": "n_stores",
    }
    assert study.design_stages("cluster") == ["region", "store"]
    d = study_design(study)
    assert d.clusters == ("region", "store") and d.fpcs == ("n_regions", "n_stores")
    assert d.lonely_psu == "average"


# ---- trend: (issue 16) ------------------------------------------------------------------
def test_trend_section_reads_thresholds():
    study = load_study(ROOT / "config" / "demo.yml", check_files=False)
    t = study.spec.trend
    assert t.waves_per_year == 4
    assert t.alerts.kpis == {"csi": 1.0, "nps": 5.0, "overall_mean": 0.3}
    assert t.alerts.areas == 3.0


@pytest.mark.parametrize(
    ("alerts", "message"),
    [
        (
            {"kpis": {"csi": "big"}},
            "trend.alerts.kpis: csi: threshold 'big' is not a number; give the smallest "
            "change that raises an alert",
        ),
        ({"kpis": {"nps": -2}}, "trend.alerts.kpis: nps: threshold -2 must be a number above 0"),
        ({"areas": "x"}, "trend.alerts.areas: threshold 'x' is not a number"),
        (
            {"areas": {"network": True}},
            "trend.alerts.areas: network: threshold True is not a number",
        ),
        (
            {"kpis": {"csat": 1}},
            "trend.alerts.kpis.csat: unknown KPI 'csat' (KPIs: ['overall_mean', 'overall_top2', "
            "'nps', 'ces_mean', 'repurchase_top2', 'csi'])",
        ),
        ({"areas": {"netwrk": 2}}, "trend.alerts.areas.netwrk: unknown area 'netwrk' (areas: "),
        ({"kpi": {"csi": 1}}, "trend.alerts.kpi: unexpected key"),
    ],
)
def test_trend_alerts_bad_input_is_named(tmp_path, demo_raw, alerts, message):
    def mutate(raw):
        raw["trend"] = {"alerts": alerts}

    with pytest.raises(StudyFileError, match=re.escape(message)):
        load_mutated(tmp_path, demo_raw, mutate)


def test_trend_waves_per_year_must_be_positive(tmp_path, demo_raw):
    def mutate(raw):
        raw["trend"] = {"waves_per_year": 0}

    with pytest.raises(StudyFileError, match=r"trend\.waves_per_year: Input should be greater"):
        load_mutated(tmp_path, demo_raw, mutate)
