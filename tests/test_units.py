"""One report per unit: the unit filter, safe folder names, which units get a report, and
the comparison against the total (checked against domain_difference, by hand, and by the
identity unit - total = (1 - s)(unit - rest))."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis_helpers.estimation import domain_difference
from analysis_helpers.io import read_unit_file, write_unit_file
from analysis_helpers.study import load_study
from analysis_helpers.study_tables import study_design
from analysis_helpers.units import (
    RESERVED_FOLDERS,
    comparison_caption,
    comparison_heading,
    comparison_takeaway,
    index_table,
    plan_units,
    safe_folder,
    segment_folder,
    unit_comparison,
    unit_rows,
)

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def study():
    return load_study(ROOT / "config" / "demo.yml", check_files=False)


@pytest.fixture(scope="module")
def data():
    """400 respondents of the demo study in two waves, weighted; the north rates overall
    satisfaction two points higher, so the comparison finds it."""
    s = load_study(ROOT / "config" / "demo.yml", check_files=False)
    rng = np.random.default_rng(5)
    n = 400
    cols = {}
    for name, it in s.items.items():
        x = rng.integers(it.scale.min, it.scale.max + 1, n).astype(float)
        x[rng.random(n) < 0.05] = np.nan
        cols[name] = x
    frame = pd.DataFrame(cols)
    for seg in s.segments:
        frame[seg.column] = rng.choice(list(seg.values), n)
    # west is tiny in the latest wave: 5 respondents
    frame["wave"] = np.where(np.arange(n) < 200, s.waves[-2], s.waves[-1])
    latest = frame["wave"] == s.waves[-1]
    west = frame.index[latest & (frame["region"] == "west")]
    frame.loc[west[5:], "region"] = "east"
    frame["rake_weight"] = rng.uniform(0.5, 2.0, n)
    overall = s.kpis.overall
    top = s.items[overall].scale.max
    north = frame["region"] == "north"
    frame.loc[north, overall] = np.minimum(frame.loc[north, overall] + 2, top)
    return frame


# -- folder names --------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("north", "north"),
        ("North East", "north-east"),
        ("../../etc", "etc"),
        ("a/b\\c", "a-b-c"),
        (".hidden", "hidden"),
        ("Île-de-France", "ile-de-france"),
        (7, "7"),
    ],
)
def test_folder_names_are_plain_and_stay_inside(value, expected):
    assert safe_folder(value) == expected


def test_folder_names_never_collide_or_take_reserved_names():
    chinese = safe_folder("华北")
    assert chinese.startswith("unit-") and len(chinese) == 13
    assert safe_folder("华南") != chinese  # two empty slugs, two hashes
    assert safe_folder("..").startswith("unit-")
    for name in RESERVED_FOLDERS:
        assert safe_folder(name) != name and safe_folder(name).startswith(f"{name}-")
    first = safe_folder("North")
    second = safe_folder("north", taken={first})
    assert second != first and second.startswith("north-")
    long = safe_folder("x" * 100)
    assert long == "x" * 40
    for text in ("a" * 100, "../" * 20, "\x00nul", "con:prn"):
        name = safe_folder(text)
        assert "/" not in name and "\\" not in name and not name.startswith(".")
        assert set(name) <= set("abcdefghijklmnopqrstuvwxyz0123456789_-")
    assert segment_folder("Main channel") == "by-main-channel"


# -- the unit of a study ---------------------------------------------------------------
def test_set_unit_names_the_valid_segments(study):
    with pytest.raises(
        KeyError,
        match=r"'regoin' is not a segment of study 'demo'; its "
        r"segments: customer_type, tenure, region, channel",
    ):
        study.set_unit("regoin", "north")
    study.set_unit("region", "north")
    assert study.unit == ("region", "north")
    assert study.title.endswith("– Region 地区: North 华北")


def test_unit_rows_compare_codes_as_text(study):
    frame = pd.DataFrame({"region": [1, 1.0, "1", " 1", 2, None]})
    assert unit_rows(frame, study=study, segment="region", value="1").tolist() == [
        True, True, True, True, False, False,
    ]  # fmt: skip
    with pytest.raises(ValueError, match="no unit given"):
        unit_rows(frame, study=study)
    with pytest.raises(KeyError, match="its segments: customer_type"):
        unit_rows(frame, study=study, segment="nope", value=1)


def test_unit_file_round_trip_and_errors(tmp_path):
    write_unit_file(tmp_path, {"segment": "region", "value": "north", "value_label": "N"})
    assert read_unit_file(tmp_path)["value"] == "north"
    assert read_unit_file(tmp_path / "absent") is None
    (tmp_path / "unit.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match="unit.json: a unit file needs a 'segment'"):
        read_unit_file(tmp_path)
    (tmp_path / "unit.json").write_text("{oops")
    with pytest.raises(ValueError, match="not a readable unit file"):
        read_unit_file(tmp_path)
    with pytest.raises(KeyError, match="no 'value'"):
        write_unit_file(tmp_path, {"segment": "region"})


# -- which units get a report ---------------------------------------------------------------
def test_plan_units_counts_the_latest_wave_and_notes_small_units(study, data):
    plan = plan_units(data, study=study, segment="region")
    assert plan["value"].tolist() == ["north", "south", "east", "west"]
    latest = data[data["wave"] == study.waves[-1]]
    assert plan["n"].tolist() == [int((latest["region"] == v).sum()) for v in plan["value"]]
    assert plan["n_all"].sum() == len(data)
    west = plan.set_index("value").loc["west"]
    assert west["n"] == 5 and not west["report"]
    assert west["note"] == (
        f"West 西部 has 5 respondents in {study.wave_label(study.waves[-1])}, fewer than the "
        "30 a report needs (reporting.min_base), so it has no report of its own."
    )
    assert plan.loc[plan["value"] != "west", "report"].all()
    assert (plan.loc[plan["report"], "note"] == "").all()
    with pytest.raises(KeyError, match="'regoin' is not a segment .* its segments: "):
        plan_units(data, study=study, segment="regoin")


# -- the comparison against the total -------------------------------------------------------
def test_comparison_matches_domain_difference_and_the_total(study, data):
    table = unit_comparison(data, study=study, segment="region", value="north")
    overall = study.kpis.overall
    row = table.set_index("row").loc["overall_mean"]
    latest = data[data["wave"] == study.waves[-1]]
    w, y = latest["rake_weight"], latest[overall]
    ok = y.notna()
    north = (latest["region"] == "north") & ok
    unit = float((w[north] * y[north]).sum() / w[north].sum())
    total = float((w[ok] * y[ok]).sum() / w[ok].sum())
    rest_mask = ok & ~north
    rest = float((w[rest_mask] * y[rest_mask]).sum() / w[rest_mask].sum())
    assert row["estimate"] == pytest.approx(unit)
    assert row["total"] == pytest.approx(total)
    assert row["total_difference"] == pytest.approx(unit - total)
    assert row["difference_rest"] == pytest.approx(unit - rest)
    assert row["n"] == int(north.sum()) and row["total_n"] == int(ok.sum())
    # unit - total = (1 - s)(unit - rest), s the unit's weighted share of the answers
    s = float(w[north].sum() / w[ok].sum())
    assert row["total_difference"] == pytest.approx((1 - s) * row["difference_rest"])
    # the test against the rest is R svyttest's, as domain_difference computes it
    ref = domain_difference(
        latest.assign(is_north=latest["region"] == "north"),
        items=overall,
        by="is_north",
        values=(False, True),
        design=study_design(study),
    ).iloc[0]
    assert row["difference_rest"] == pytest.approx(ref["estimate"])
    assert row["p_rest"] == pytest.approx(ref["p_value"])
    assert bool(row["significant"])  # planted: two points higher
    assert set(table["wave"]) == {study.waves[-1]}


def test_comparison_of_every_unit_and_the_index_table(study, data):
    every = unit_comparison(data, study=study, segment="region")
    one = unit_comparison(data, study=study, segment="region", value="south")
    assert set(every["value"]) == {"north", "south", "east", "west"}
    pd.testing.assert_frame_equal(
        every[every["value"] == "south"].reset_index(drop=True), one, check_dtype=False
    )
    # the study's own unit is the default
    unit_study = copy.copy(study)
    unit_study.set_unit("region", "south")
    pd.testing.assert_frame_equal(unit_comparison(data, study=unit_study), one)
    plan = plan_units(data, study=study, segment="region")
    table = index_table(plan, every)
    assert table["value_label"].tolist()[0] == "Total"
    assert table["n"].iloc[0] == every["total_n"].max()
    label = every.set_index("row").loc["overall_mean", "label"].iloc[0]
    north = table.set_index("value").loc["north", label]
    assert north.endswith(" ▲")  # significantly higher than the rest
    west = table.set_index("value").loc["west"]
    assert not west["report"] and west[label] in ("–", f"{west[label]}")


def test_takeaway_names_only_significant_differences(study, data):
    unit_study = copy.copy(study)
    unit_study.set_unit("region", "north")
    table = unit_comparison(data, study=unit_study)
    text = str(comparison_takeaway(table, study=unit_study))
    assert text.startswith("**North 华北** is significantly higher than the rest of the sample on ")
    assert study.items[study.kpis.overall].label in text
    flat = table.assign(significant=False)
    assert "does not differ significantly from the rest of the sample on any of the" in str(
        comparison_takeaway(flat, study=unit_study)
    )
    untested = table.assign(significant=False, p_rest=np.nan)
    assert "cannot be tested" in str(comparison_takeaway(untested, study=unit_study))
    assert "North 华北 compared with the total" in str(comparison_heading(table, study=unit_study))
    assert comparison_caption(table, study=unit_study) == (
        f"North 华北 against the total, {study.wave_label(study.waves[-1])}"
    )


def test_the_comparison_is_shown_by_each_rows_unit(study, data):
    from analysis_helpers.formatting import format_table
    from analysis_helpers.units import COMPARISON_COLUMNS

    table = unit_comparison(data, study=study, segment="region", value="north")
    text = format_table(table, COMPARISON_COLUMNS, study=study).to_text(20)
    top2 = table.set_index("row").loc["overall_top2"]
    assert f"{100 * top2['total_difference']:+.1f} pp" in text  # shares in points
    assert "▲" in text  # overall satisfaction: significantly higher than the rest
