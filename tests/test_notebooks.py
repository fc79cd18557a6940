"""Every pipeline notebook, executed end to end on the demo study by the report runner
(papermill into a temporary folder), and the golden checks: the demo's planted truths are
found by the analyses.

This is the one run of the notebooks in `make test`; `make test-nbval` runs them in place
with their defaults under nbval (lax), which only checks that no cell fails.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from analysis_helpers.pages import (
    CJK_RANGES,
    embedded_font_characters,
    page_text,
    uncovered_characters,
)
from analysis_helpers.report_checks import sentence_problems
from analysis_helpers.runner import run_report

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = [
    "00-summary",
    "10-clean",
    "20-describe",
    "30-trend",
    "40-cross",
    "50-drivers",
    "60-index",
    "70-voice",
]

pytestmark = pytest.mark.notebooks


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("reports")
    return run_report("config/demo.yml", date="2026-01-31", out=out, progress=lambda _: None)


def table(report: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(report / "tables" / f"{name}.csv", encoding="utf-8-sig")


def test_report_folder_is_complete(report):
    assert report.name == "2026-01-31"
    for name in NOTEBOOKS:
        assert (report / f"{name}.ipynb").is_file()
        assert (report / f"{name}.html").is_file()
    index = (report / "index.html").read_text(encoding="utf-8")
    for name in NOTEBOOKS:
        assert f'href="{name}.html"' in index
    record = json.loads((report / "run.json").read_text(encoding="utf-8"))
    assert [n["name"] for n in record["notebooks"]] == NOTEBOOKS
    assert all(n["status"] == "ok" and n["seconds"] > 0 for n in record["notebooks"])
    assert record["parameters"]["report_dir"] == str(report)
    assert "config/demo.yml" in record["inputs"]
    assert all(len(h) == 64 for h in record["inputs"].values())
    assert record["packages"]["pandas"] and record["packages"]["papermill"]
    assert record["started"] <= record["finished"]
    # nothing left behind: no staging folder beside the report
    assert report.parent.name == "demo"  # reports/<study>/<date>/
    assert sorted(p.name for p in report.parent.iterdir() if p.name.startswith(".")) == [
        ".lock",
        ".study.json",
    ]


def test_html_is_code_free_and_self_contained(report):
    page = (report / "20-describe.html").read_text(encoding="utf-8")
    assert "from analysis_helpers" not in page  # no code cells
    assert "data:image/png;base64," in page  # charts embedded
    assert 'src="https://' not in page and "src='https://" not in page


def test_respondent_text_is_escaped(report):
    page = (report / "10-clean.html").read_text(encoding="utf-8")
    assert "<script>alert" not in page


def test_executed_notebooks_have_no_errors(report):
    for name in NOTEBOOKS:
        nb = nbformat.read(report / f"{name}.ipynb", as_version=4)
        for cell in nb.cells:
            for out in cell.get("outputs", []):
                assert out.get("output_type") != "error", (name, out.get("ename"))
                if out.get("output_type") == "stream" and out.get("name") == "stderr":
                    assert "missing from font" not in out.get("text", ""), name
                    # notebooks call the package by its current words only
                    assert "DeprecationWarning" not in out.get("text", ""), name


def test_expected_tables_and_columns(report):
    expect = {
        "sample_profile": {"segment", "value", "n", "n_weighted", "n_effective"},
        "kpi_summary": {"kpi", "label", "n", "estimate", "se", "ci_low", "ci_high"},
        "kpi_by_wave": {"wave", "kpi", "estimate", "se"},
        "wave_changes": {"kpi", "wave_from", "wave_to", "change", "p_adjusted", "significant"},
        "segment_kpis": {"segment", "value", "kpi", "estimate", "n"},
        "segment_area_index": {"segment", "value", "name", "estimate"},
        "banner": {"row", "column", "letter", "estimate", "letters", "p_rest_adjusted", "flag"},
        "banner_segments": {"row", "variable", "column", "estimate", "letters", "letters_second"},
        "banner_segments_tests": {"row", "variable", "test", "f_statistic", "p_value"},
        "banner_region_by_type": {"row", "outer_value", "estimate", "letters", "flag"},
        "banner_region_by_type_tests": {"row", "test", "chisq", "p_value", "cramers_v"},
        "weak_spots": {"rank", "segment", "value", "row", "difference", "p_adjusted"},
        "driver_importance": {"driver", "correlation", "relative_weight", "lmg", "r2", "n"},
        "profile_by_wave": {"wave", "segment", "value", "n", "n_effective"},
        "weighting": {"wave", "efficiency", "deff_weighting"},
        "item_distribution": {"item", "band", "share", "n"},
        "hierarchy_table": {"level", "name", "n", "mean", "top2", "index", "flag"},
        "expectation_gap": {"expectation", "satisfaction", "estimate", "p_value", "n"},
        "reliability": {"alpha", "alpha_standardized", "ci_low", "ci_high"},
        "ipa": {"item", "importance", "performance", "quadrant"},
        "action_list": {"item", "quadrant"},
        "penalty_reward": {"driver", "penalty", "reward", "factor_class"},
        "loyalty_drivers": {"driver", "relative_weight"},
        "segment_drivers": {"driver", "relative_weight"},
        "wave_drivers": {"driver", "relative_weight"},
        "index_weights": {"area", "weight_equal", "weight_derived"},
        "data_dictionary": {"item", "valid_n", "missing_n"},
        "cleaning_funnel": {"wave", "read", "analysed"},
        "operational_link": {"metric", "slope", "ci_low", "ci_high", "p_value"},
        "pls_paths": {"from", "to", "estimate", "ci_low", "ci_high", "p_value", "significant"},
        "pls_quality": {"block", "alpha", "rho_a", "rho_c", "ave", "shortfall"},
        "pls_htmt": {"block_1", "block_2", "htmt", "ci_high", "distinct"},
        "pls_index": {"block", "estimate", "ci_low", "ci_high", "n"},
        "pls_index_by_wave": {"group", "estimate", "difference", "p_adjusted", "flag"},
        "pls_index_by_segment": {"group", "estimate", "difference", "p_adjusted", "flag"},
        "pls_ipma": {"block", "importance", "performance", "quadrant", "priority"},
        "pls_area_weights": {"area", "weight_study", "weight_derived", "difference"},
        "pls_rollup": {"weights", "estimate", "ci_low", "ci_high"},
        "theme_shares": {"theme", "theme_label", "n", "estimate", "ci_low", "ci_high"},
        "theme_changes": {"theme", "value_1", "value_2", "estimate", "p_adjusted", "direction"},
        "theme_segments": {"segment", "value", "theme", "difference", "p_adjusted"},
        "theme_outcomes": {"theme", "mean_mention", "mean_other", "estimate", "p_adjusted"},
    }
    for name, cols in expect.items():
        t = table(report, name)
        assert len(t) > 0, name
        assert cols <= set(t.columns), (name, cols - set(t.columns))
    figures = {p.stem for p in (report / "figures").glob("*.png")}
    assert {
        "area_index",
        "kpi_trend",
        "area_trend",
        "segment_area_heatmap",
        "driver_importance",
        "pls_model",
        "pls_ipma",
    } <= figures


def test_kpi_summary_has_every_kpi(report):
    t = table(report, "kpi_summary")
    assert set(t["kpi"]) == {
        "overall_mean",
        "overall_top2",
        "nps",
        "ces_mean",
        "repurchase_top2",
        "csi",
    }
    nps = t.set_index("kpi").loc["nps"]
    assert -100 <= nps["ci_low"] < nps["estimate"] < nps["ci_high"] <= 100


# ---- golden checks: the planted truths are found ------------------------------------
def test_golden_turning_point_is_found(report, truths):
    tp = truths["turning_point"]
    changes = table(report, "area_changes")
    hit = changes[changes["significant"] & (changes["change"] < 0)]
    biggest = hit.loc[hit["change"].idxmin()]
    assert biggest["name"] == tp["area"]
    assert biggest["wave_to"] == tp["wave"]


def test_golden_trough_is_found(report, truths):
    trough = truths["trough"]
    cells = table(report, "segment_area_index")
    cells = cells.assign(
        gap=cells["estimate"] - cells.groupby("name")["estimate"].transform("mean")
    )
    worst = cells.loc[cells["gap"].idxmin()]
    assert (worst["segment"], worst["value"], worst["name"]) == (
        trough["segment"],
        trough["value"],
        trough["area"],
    )


def test_golden_trough_is_the_first_weak_spot(report, truths):
    """The banner's weak-spot ranking (design-based, against the rest of the sample) puts
    the planted trough first, significant after the correction over all cells."""
    trough = truths["trough"]
    first = table(report, "weak_spots").iloc[0]
    assert (first["segment"], first["value"], first["row"]) == (
        trough["segment"],
        trough["value"],
        f"area:{trough['area']}",
    )
    assert first["significant"] and first["difference"] < 0


def test_banner_letters_follow_the_planted_trough(report, truths):
    trough = truths["trough"]
    b = table(report, "banner")
    cells = b[(b["row"] == f"area:{trough['area']}") & (b["segment"] == trough["segment"])]
    low = cells[cells["value"] == trough["value"]].iloc[0]
    others = cells[cells["value"] != trough["value"]]
    assert pd.isna(low["letters"]) or low["letters"] == ""  # higher than nobody
    assert all(low["letter"] in str(x) for x in others["letters"])  # everyone beats it


def test_study_banners_find_the_planted_trough(report, truths):
    """The banners of the study file: the trough's segment value is significantly below
    Total on every complaint item, higher than no other column, and its row test says the
    segment matters; the nested banner tests the answer distribution (Rao-Scott)."""
    trough = truths["trough"]
    b = table(report, "banner_segments")
    items = {"cmp_speed", "cmp_resolved"}  # the complaint items of the demo's banner
    for item in items:
        cells = b[(b["row"] == f"{item}:mean") & (b["segment"] == trough["segment"])]
        low = cells[cells["value"] == trough["value"]].iloc[0]
        assert low["significant_total"] == "below"
        assert pd.isna(low["letters"]) or low["letters"] == ""
        others = cells[cells["value"] != trough["value"]]
        assert all(low["letter"] in str(x) for x in others["letters"])
    tests = table(report, "banner_segments_tests")
    row = tests[(tests["row"] == "cmp_resolved:mean") & (tests["variable"] == trough["segment"])]
    assert row["p_value"].iloc[0] < 0.001
    nested = table(report, "banner_region_by_type_tests")
    dist = nested[nested["test"] == "rao_scott"].iloc[0]
    assert dist["p_value"] < 0.05 and 0 < dist["cramers_v"] < 1


def test_golden_drivers_and_factor_classes_are_found(report, truths):
    imp = table(report, "driver_importance").sort_values("relative_weight", ascending=False)
    assert list(imp["driver"]) == truths["driver_rank_overall"]
    prca = table(report, "penalty_reward").set_index("driver")
    assert prca.loc[truths["basic_factor"], "factor_class"] == "basic"
    assert prca.loc[truths["excitement_factor"], "factor_class"] == "excitement"


def test_golden_summary_names_the_planted_trough_turning_point_and_top_driver(report, truths):
    """The executive summary's first weak spot is the planted trough, its turning point the
    planted fall, its first driver the planted top driver - each linking to its page."""
    from analysis_helpers.study import load_study

    study = load_study(ROOT / "config/demo.yml")
    said = table(report, "summary").set_index("section")["text"]
    trough, tp = truths["trough"], truths["turning_point"]
    cells = said["weak_spots"].split(": ", 1)[1].split("; ")
    assert study.segment(trough["segment"]).values[trough["value"]] in cells[0]
    assert study.label(trough["area"]) in cells[0] and "below the rest" in cells[0]
    turn = said["turning_point"]
    assert f"{study.label(tp['area'])} fell" in turn
    assert f"to {study.wave_label(tp['wave'])} " in turn
    top = truths["driver_rank_overall"][0]
    assert said["drivers"].split(": ", 1)[1].startswith(study.label(top))
    assert set(said.index) >= {"kpis", "movers", "fix", "maintain", "watch"}
    page = (report / "00-summary.html").read_text(encoding="utf-8")
    for target in ("20-describe.html", "30-trend.html", "40-cross.html", "50-drivers.html"):
        assert f'href="{target}"' in page
    index = (report / "index.html").read_text(encoding="utf-8")
    parts = index.split('<ol class="parts">')[1]
    assert parts.index('href="00-summary.html"') < parts.index('href="10-clean.html"')


def test_golden_path_model_recovers_the_planted_structure(report, truths):
    """The demo plants areas -> overall satisfaction (driver weights) and value and brand
    -> loyalty (loyalty weights); the model of config/demo.yml recovers the path order."""
    paths = table(report, "pls_paths")
    into_sat = paths[paths["to"] == "satisfaction"].sort_values("estimate", ascending=False)
    assert list(into_sat["from"]) == truths["driver_rank_overall"]
    unplanted = [a for a, w in truths["driver_weights_overall"].items() if w == 0]
    sig = paths.set_index("from")[paths.set_index("from")["to"] == "satisfaction"]["significant"]
    assert not sig[unplanted].any() and sig.drop(unplanted).all()
    into_loy = paths[paths["to"] == "loyalty"].sort_values("estimate", ascending=False)
    planted = [a for a, _ in sorted(truths["driver_weights_loyalty"].items(), key=lambda x: -x[1])]
    assert list(into_loy["from"])[:2] == [a for a in planted if a in set(into_loy["from"])][:2]
    weights = table(report, "pls_area_weights").sort_values("weight_derived", ascending=False)
    assert set(weights["area"].iloc[:2]) == set(truths["driver_rank_overall"][:2])
    ipma = table(report, "pls_ipma").sort_values("priority")
    assert ipma["block"].iloc[0] == truths["driver_rank_overall"][0]


def test_golden_comment_themes_follow_the_planted_ratings(report, truths):
    # the signal theme is planted on low indoor-signal ratings: it rises significantly
    # into the wave in which the network area falls
    planted = truths["comments"]["themes"]
    assert planted["signal"] == "net_indoor"
    changes = table(report, "theme_changes")
    rises = changes[changes["direction"] == "rise"]
    assert ("signal", truths["turning_point"]["wave"]) in set(
        zip(rises["theme"], rises["value_2"], strict=True)
    )
    # those who mention a planted theme rate overall satisfaction lower: every estimated
    # difference is negative, and the hotline and signal themes are significant
    out = table(report, "theme_outcomes").set_index("theme")
    assert (out["estimate"].dropna() < 0).all()
    assert out.loc[["hotline_wait", "signal"], "significant"].all()
    page = page_text((report / "70-voice.html").read_text(encoding="utf-8"))
    assert "Network signal 网络信号 rose" in " ".join(page.split())


def test_golden_operational_metric_is_found(report, truths):
    op = truths["operational_metric"]
    link = table(report, "operational_link").iloc[0]
    assert link["metric"] == op["metric"]
    assert link["slope"] < 0 and link["ci_high"] < 0  # planted: waiting lowers the index


def test_chinese_text_renders_offline_with_the_embedded_font(report):
    """Every page embeds the CJK font subset it needs, so Chinese labels render in any
    browser, with no font fetched from the network."""
    for page, chinese in [
        ("index.html", "客户满意度"),
        ("20-describe.html", "网络服务"),
        ("50-drivers.html", "网络服务"),
    ]:
        text = (report / page).read_text(encoding="utf-8")
        assert chinese in text
        assert '@font-face { font-family: "Report CJK"; src: url(data:font/otf;base64,' in text


def test_every_page_embeds_every_character_it_shows_and_the_study_header(report):
    for page in sorted(report.glob("*.html")):
        html = page.read_text(encoding="utf-8")
        text = page_text(html)
        cjk = {c for c in text if any(lo <= ord(c) <= hi for lo, hi in CJK_RANGES)}
        assert cjk and cjk <= embedded_font_characters(html), (
            page.name,
            cjk - embedded_font_characters(html),
        )
        assert uncovered_characters(text) == [], page.name
        assert '<header class="report-header">' in html and "Demo Telecom" in html, page.name


def test_pages_have_no_degenerate_sentences(report):
    found = sentence_problems([*sorted(report.glob("*.html")), *sorted(report.glob("*.ipynb"))])
    assert found.empty, found.to_string()
    # no cell leaves a Python object's repr on a page (a returned path, a list)
    for page in sorted(report.glob("*.html")):
        words = page_text(page.read_text(encoding="utf-8"))
        for bad in ("PosixPath(", "Path('", "<Axes", "dtype:"):
            assert bad not in words, (page.name, bad)


def test_demo_ipa_chart_has_no_overlapping_text(report):
    """The demo's 40-item importance-performance map, drawn as 50-drivers draws it: no
    point label, quadrant name, key or title overlaps another text."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from analysis_helpers.driver_plots import quadrant_chart
    from analysis_helpers.plots import apply_theme
    from analysis_helpers.report_checks import text_overlaps

    apply_theme()
    ipa = table(report, "ipa")
    assert len(ipa) == 40
    fig, ax = plt.subplots(figsize=(10, 6.5))
    quadrant_chart(ipa.assign(item=ipa["label"]), ax=ax)
    ax.set_xlabel("Performance: mean, 0-100")
    ax.set_ylabel("Importance: relative weight, % of R²")
    ax.set_title("Importance and performance of the 40 items", pad=12)
    overlaps = text_overlaps(fig)
    plt.close(fig)
    assert overlaps.empty, overlaps.to_string()
