"""Banner tables and weak spots: checked against the package's estimators (which match R
``survey``), by hand, and on studies without the optional parts."""

from __future__ import annotations

from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis_helpers.cross import (
    BANNER_COLUMNS,
    banner,
    banner_highlights,
    banner_note,
    banner_view,
    difference_text,
    letters_for,
    segment_index_by_wave,
    segment_index_takeaway,
    segment_index_view,
    significance_phrase,
    weak_spots,
)
from analysis_helpers.estimation import SurveyDesign, domain_difference
from analysis_helpers.kpis import nps_difference
from analysis_helpers.study import load_study
from analysis_helpers.study_tables import (
    kpi_summary,
    segment_area_index,
    segment_kpis,
    study_design,
)
from analysis_helpers.trend import adjust_p

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def study():
    return load_study(ROOT / "config" / "demo.yml", check_files=False)


@pytest.fixture(scope="module")
def data(study):
    """600 respondents with every item of the demo study (some missing), weights, strata;
    high-bill customers rate the first complaint item lower, so the tests find something."""
    rng = np.random.default_rng(11)
    n = 600
    cols = {}
    for name, it in study.items.items():
        x = rng.integers(it.scale.min, it.scale.max + 1, n).astype(float)
        x[rng.random(n) < 0.05] = np.nan
        cols[name] = x
    frame = pd.DataFrame(cols)
    for seg in study.segments:
        frame[seg.column] = rng.choice(list(seg.values), n)
    frame["rake_weight"] = rng.uniform(0.5, 2.0, n)
    frame["wave"] = "2024Q1"
    low = study.items[study.kpis.overall].scale.min
    frame.loc[frame["customer_type"] == "high_bill", study.kpis.overall] = np.where(
        rng.random((frame["customer_type"] == "high_bill").sum()) < 0.6,
        low,
        frame.loc[frame["customer_type"] == "high_bill", study.kpis.overall],
    )
    return frame


@pytest.fixture(scope="module")
def table(study, data):
    return banner(data, study=study)


def test_letters_run_a_to_z_then_double():
    assert [letters_for(k) for k in (0, 1, 25, 26, 27, 51, 52)] == [
        "A", "B", "Z", "AA", "AB", "AZ", "BA",
    ]  # fmt: skip
    with pytest.raises(ValueError, match="k must be >= 0"):
        letters_for(-1)


@pytest.mark.parametrize("correction", ["holm", "fdr_bh", "bonferroni", "none"])
def test_the_package_correction_matches_statsmodels(correction):
    from statsmodels.stats.multitest import multipletests

    rng = np.random.default_rng(4)
    for p in ([0.01, np.nan, 0.04, 0.03, 0.5, 0.002, 0.04], rng.uniform(0, 0.2, 50)):
        p = np.asarray(p, dtype=float)
        ok = ~np.isnan(p)
        want = p.copy()
        if correction != "none":
            want[ok] = multipletests(p[ok], method=correction)[1]
        np.testing.assert_allclose(adjust_p(p, correction=correction), want, rtol=1e-12)
    # by hand: Holm of (0.01, 0.04, 0.03) is (0.03, 0.06, 0.06)
    np.testing.assert_allclose(adjust_p([0.01, 0.04, 0.03], correction="holm"), [0.03, 0.06, 0.06])


def test_banner_has_every_kpi_and_area_for_total_and_every_segment_value(study, table):
    assert list(table.columns) == BANNER_COLUMNS
    rows = list(dict.fromkeys(table["row"]))
    assert rows[:6] == ["overall_mean", "overall_top2", "nps", "ces_mean", "repurchase_top2", "csi"]
    assert rows[6:] == [f"area:{a}" for a in study.hierarchy()["area"].unique()]
    per_row = sum(len(s.values) for s in study.segments) + 1
    assert (table.groupby("row").size() == per_row).all()
    first = table[table["row"] == "nps"]
    assert first["letter"].tolist()[:4] == ["", "A", "B", "C"]
    assert first["value_label"].iloc[1] == study.segment("customer_type").values["contract"]


def test_estimates_and_ses_are_the_kpi_tables(study, data, table):
    """Every cell is the same estimate and design-based SE as kpi_summary / csi."""
    total = kpi_summary(data, study=study).set_index("kpi")
    t = table[table["column"] == "total"].set_index("row")
    for kpi in total.index:
        assert t.loc[kpi, "estimate"] == pytest.approx(total.loc[kpi, "estimate"], rel=1e-10)
        assert t.loc[kpi, "se"] == pytest.approx(total.loc[kpi, "se"], rel=1e-8)
        assert t.loc[kpi, "n"] == total.loc[kpi, "n"]
    seg = segment_kpis(data, study=study).set_index(["kpi", "segment", "value"])
    cells = table[table["column"] != "total"].set_index(["row", "segment", "value"])
    for key, r in seg.iterrows():
        assert cells.loc[key, "estimate"] == pytest.approx(r["estimate"], rel=1e-10), key
        assert cells.loc[key, "se"] == pytest.approx(r["se"], rel=1e-8), key
    areas = segment_area_index(data, study=study)
    for r in areas.itertuples():
        got = cells.loc[(f"area:{r.name}", r.segment, r.value)]
        assert got["estimate"] == pytest.approx(r.estimate, rel=1e-10)
        assert got["se"] == pytest.approx(r.se, rel=1e-8)
        assert got["n"] == r.n


def test_letters_are_the_holm_adjusted_domain_differences(study, data, table):
    """Column letters for the overall mean = svyttest (domain_difference) of every pair of
    the segment's values, Holm-adjusted within the segment, judged at alpha."""
    design = study_design(study)
    item = study.kpis.overall
    rows = table[table["row"] == "overall_mean"].set_index("column")
    found = 0
    for seg in study.segments:
        values = list(seg.values)
        pairs = list(combinations(values, 2))
        diffs = [
            domain_difference(data, items=item, by=seg.column, values=pair, design=design).iloc[0]
            for pair in pairs
        ]
        adj = adjust_p([d["p_value"] for d in diffs], correction=study.reporting.correction)
        expect = {v: [] for v in values}
        for (a, b), d, p in zip(pairs, diffs, adj, strict=True):
            if p < study.reporting.alpha:
                hi, lo = (b, a) if d["estimate"] > 0 else (a, b)
                expect[hi].append(rows.loc[f"{seg.column}={lo}", "letter"])
        for v in values:
            assert rows.loc[f"{seg.column}={v}", "letters"] == "".join(sorted(expect[v]))
            found += len(expect[v])
    assert found > 0  # the planted difference gives letters
    high_bill = rows.loc["customer_type=high_bill"]
    assert high_bill["letters"] == ""  # rated lowest: higher than nobody
    assert "B" in rows.loc["customer_type=contract", "letters"]


def test_against_the_rest_is_the_domain_difference_to_the_complement(study, data, table):
    design = study_design(study)
    item = study.kpis.overall
    it = study.items[item]
    top = data[item].where(data[item].isna(), data[item].isin(it.top_codes).astype(float))
    frame = data.assign(_top=top, _in=data["customer_type"] == "high_bill")
    d = domain_difference(frame, items="_top", by="_in", values=(False, True), design=design)
    cell = table.set_index(["row", "column"]).loc[("overall_top2", "customer_type=high_bill")]
    assert cell["difference_rest"] == pytest.approx(d["estimate"].iloc[0], rel=1e-10)
    assert cell["se_rest"] == pytest.approx(d["se"].iloc[0], rel=1e-10)
    assert cell["p_rest"] == pytest.approx(d["p_value"].iloc[0], rel=1e-8)
    assert cell["significant_rest"] and cell["difference_rest"] < 0


def test_nps_difference_matches_nps_difference(study, data, table):
    design = study_design(study)
    got = table.set_index(["row", "column"])
    ref = nps_difference(
        data, items=study.kpis.nps, by="region", values=("north", "south"), design=design
    ).iloc[0]
    a, b = got.loc[("nps", "region=north")], got.loc[("nps", "region=south")]
    assert b["estimate"] - a["estimate"] == pytest.approx(ref["estimate"], rel=1e-10)


def test_index_difference_se_without_strata_adds_the_domain_variances(study, data):
    """In an unstratified design, disjoint domains' influence totals are uncorrelated, so
    the SE of an index difference to the rest is sqrt(se_cell^2 + se_rest^2) from csi."""
    from analysis_helpers.kpis import csi
    from analysis_helpers.study import Study

    spec = study.spec
    design = spec.data.design.model_copy(update={"strata": None})
    weighting = spec.weighting.model_copy(update={"raking_se": False})  # fixed weights, as csi's
    plain = spec.model_copy(
        update={"data": spec.data.model_copy(update={"design": design}), "weighting": weighting}
    )

    st = Study(plain, path=study.path, root=study.root)
    t = banner(data, study=st).set_index(["row", "column"])
    frame = data.assign(_in=np.where(data["tenure"] == "y5p", "in", "out"))
    idx = csi(frame, hierarchy=st.hierarchy(), by="_in", design=SurveyDesign(weight="rake_weight"))
    idx = idx[idx["level"] == "index"].set_index("_in")
    cell = t.loc[("csi", "tenure=y5p")]
    assert cell["estimate"] == pytest.approx(idx.loc["in", "estimate"], rel=1e-10)
    assert cell["difference_rest"] == pytest.approx(
        idx.loc["in", "estimate"] - idx.loc["out", "estimate"], rel=1e-10
    )
    assert cell["se_rest"] == pytest.approx(
        np.hypot(idx.loc["in", "se"], idx.loc["out", "se"]), rel=1e-10
    )


def test_small_cells_are_flagged_and_never_tested(study, data):
    rep = study.reporting
    small = pd.concat(
        [
            data[data["channel"] != "phone"],
            data[data["channel"] == "phone"].head(rep.min_base - 1),
        ]
    )
    tiny = pd.concat([small[small["region"] != "west"], small[small["region"] == "west"].head(3)])
    t = banner(tiny, study=study).set_index(["row", "column"])
    phone = t.loc[("overall_mean", "channel=phone")]
    assert phone["flag"] == "low base" and phone["letters"] == ""
    assert np.isnan(phone["p_rest"]) and not phone["significant_rest"]
    letter = phone["letter"]
    others = t.xs("overall_mean")
    assert not others["letters"].str.contains(letter).any()
    west = t.loc[("overall_mean", "region=west")]
    assert west["flag"] == "suppressed" and np.isnan(west["estimate"])
    view = banner_view(t.reset_index(), study=study)
    col = [c for c in view.columns if c[1].startswith(study.segment("channel").values["phone"])]
    assert view.loc[study.items[study.kpis.overall].label + ": mean", col[0]].endswith("†")
    note = banner_note(t.reset_index(), study=study)
    assert f"fewer than {rep.min_base}" in note and f"fewer than {rep.suppress_below}" in note


def test_banner_view_formats_cells_with_letters_and_bases(study, table):
    view = banner_view(table, study=study)
    assert view.index.name == "KPI"
    assert view.index[:2].tolist() == ["Base", "Effective base"]
    assert view.columns[0] == ("", "Total")
    ct = study.segment("customer_type")
    assert view.columns[1] == (ct.title, f"{ct.values['contract']} (A)")
    label = study.items[study.kpis.overall].label + ": mean"
    cell = table.set_index(["row", "column"]).loc[("overall_mean", "customer_type=contract")]
    assert view.loc[label, view.columns[1]] == f"{cell['estimate']:.2f} {cell['letters']}".strip()
    share = view.loc[study.items[study.kpis.overall].label + ": top-2-box", ("", "Total")]
    assert share.endswith("%")
    assert view.loc["Base", ("", "Total")] == f"{table['n'].max():,}"
    note = banner_note(table, study=study)
    assert "p < 0.05" in note and "Holm" in note and "Low base" not in note


def test_weak_spots_rank_the_area_cells_against_the_rest(study, data, table):
    spots = weak_spots(table, study=study)
    areas = table[(table["level"] == "area") & (table["column"] != "total")]
    assert len(spots) == len(areas)
    assert spots["difference"].is_monotonic_increasing
    assert spots["rank"].tolist() == list(range(1, len(spots) + 1))
    np.testing.assert_allclose(
        spots["p_adjusted"],
        adjust_p(spots["p_value"], correction=study.reporting.correction),
        rtol=1e-12,
    )
    first = spots.iloc[0]
    assert first["estimate"] - first["estimate_rest"] == pytest.approx(first["difference"])
    assert first["direction"] == "below"
    assert set(spots["direction"]) <= {"below", "above"}


def test_a_study_without_segments_or_kpis(tmp_path, study, data):
    from analysis_helpers.cleaning import clean
    from analysis_helpers.demo import write_study_shape

    none = load_study(write_study_shape(tmp_path / "no_segments", "no_segments"))
    clean_data = clean(none).data
    t = banner(clean_data, study=none)
    assert set(t["column"]) == {"total"} and (t["letters"] == "").all()
    assert weak_spots(t, study=none).empty
    assert banner_view(t, study=none).shape[1] == 1
    minimal = load_study(write_study_shape(tmp_path / "minimal", "minimal"))
    empty = banner(clean(minimal).data, study=minimal)
    assert empty.empty and list(empty.columns) == BANNER_COLUMNS
    assert banner_view(empty, study=minimal).empty
    assert weak_spots(empty, study=minimal).empty
    with pytest.raises(KeyError, match="not a segment"):
        banner(data, study=study, segments=["overall"])


def test_area_heatmap_marks_cells_and_has_no_overlapping_text(study, table):
    from analysis_helpers.cross_plots import area_heatmap
    from analysis_helpers.plots import apply_theme
    from analysis_helpers.report_checks import text_overlaps

    apply_theme()
    ax = area_heatmap(table, title="Satisfaction index by segment and area, Q2 2025")
    texts = [t.get_text() for t in ax.texts]
    areas = table[(table["level"] == "area") & (table["column"] != "total")]
    assert len(texts) == len(areas)  # one label per cell
    marked = areas[areas["significant_rest"]]
    assert sum(t.endswith(("▲", "▼")) for t in texts) == len(marked)
    ticks = [t.get_text() for t in ax.get_yticklabels()]
    ct = study.segment("customer_type")
    assert ticks[0] == f"{ct.title}: {ct.values['contract']}"
    assert text_overlaps(ax.figure).empty
    with pytest.raises(ValueError, match="no rows of level"):
        area_heatmap(table[table["level"] == "kpi"])


def test_highlights_pick_the_largest_significant_gap_per_row(table):
    tops = banner_highlights(table)
    sig = table[table["significant_rest"] & table["level"].isin(["kpi", "index"])]
    assert set(tops["row"]) == set(sig["row"])
    for r in tops.itertuples():
        rows = sig[sig["row"] == r.row]
        assert abs(r.difference) == rows["difference_rest"].abs().max()
        assert r.direction == ("below" if r.difference < 0 else "above")
    assert banner_highlights(table[~table["significant_rest"]]).empty


def test_words_for_differences_and_tests(study):
    assert difference_text(-46.2, "points") == "46 points"
    assert difference_text(0.357, "share") == "35.7 pp"
    assert difference_text(-4.12, "index (0-100)") == "4.1 index points"
    assert difference_text(0.517, "mean (1-10)") == "0.52"
    assert significance_phrase(study) == "p < 0.05, Holm-adjusted"
    assert significance_phrase(study, within="within each row") == (
        "p < 0.05, Holm-adjusted within each row"
    )


def test_numeric_codes_meet_the_study_files_text_codes(study, data):
    """Integer or float codes in the data (1, 1.0) are the study file's "1"."""
    from analysis_helpers.study import Study

    spec = study.spec
    codes = {"contract": 1.0, "high_bill": 2.0, "prepaid": 3.0}
    labels = {"1": "Contract", "2": "High-bill", "3": "Prepaid"}
    segs = [
        s.model_copy(update={"values": labels}) if s.column == "customer_type" else s
        for s in spec.segments
    ]
    st = Study(spec.model_copy(update={"segments": segs}), path=study.path, root=study.root)
    frame = data.assign(customer_type=data["customer_type"].map(codes))
    got = banner(frame, study=st, segments=["customer_type"])
    ref = banner(data, study=study, segments=["customer_type"])
    cols = got[got["column"] != "total"].drop_duplicates("column")
    assert cols["value"].tolist() == ["1", "2", "3"]
    assert cols["value_label"].tolist() == ["Contract", "High-bill", "Prepaid"]
    np.testing.assert_allclose(got["estimate"], ref["estimate"], rtol=1e-12)
    assert got["letters"].tolist() == ref["letters"].tolist()


# ---- the index by segment and wave -------------------------------------------------
@pytest.fixture(scope="module")
def waves(study, data):
    """Three waves; high-bill customers rate every item one point lower, and there is no
    prepaid customer in the second wave (so the letters of that wave's banner shift)."""
    frames = []
    rng = np.random.default_rng(5)
    for w in ["2024Q1", "2024Q2", "2024Q3"]:
        f = data.copy()
        f["wave"] = w
        f["customer_type"] = rng.choice(["contract", "high_bill", "prepaid"], len(f))
        if w == "2024Q2":
            f.loc[f["customer_type"] == "prepaid", "customer_type"] = "contract"
        hb = f["customer_type"] == "high_bill"
        for item in study.hierarchy()["item"]:
            lo = study.items[item].scale.min
            f.loc[hb, item] = np.maximum(f.loc[hb, item] - 1, lo)
        frames.append(f)
    return pd.concat(frames, ignore_index=True)


def test_segment_index_by_wave_is_each_wave_s_banner_with_fixed_letters(study, waves):
    t = segment_index_by_wave(waves, study=study, segments=["customer_type"])
    assert list(t.columns[:2]) == ["wave", "wave_label"]
    assert list(t.columns[2:]) == BANNER_COLUMNS
    assert (t["row"] == "csi").all()
    letter = dict(zip(t["value"], t["letter"], strict=False))
    assert letter == {"": "", "contract": "A", "high_bill": "B", "prepaid": "C"}
    for w in ["2024Q1", "2024Q2", "2024Q3"]:
        ref = banner(waves[waves["wave"] == w], study=study, segments=["customer_type"])
        ref = ref[ref["row"] == "csi"].set_index("column")
        got = t[t["wave"] == w].set_index("column")
        assert list(got.index) == list(ref.index)
        np.testing.assert_allclose(got["estimate"], ref["estimate"])
        np.testing.assert_allclose(got["se"], ref["se"])
        np.testing.assert_allclose(got["p_rest_adjusted"], ref["p_rest_adjusted"])
        # the wave's letters name the same groups as the pooled letters
        ref_value = dict(zip(ref["letter"], ref["value"], strict=True))
        for col in got.index:
            mine = {ref_value[x] for x in ref.loc[col, "letters"]}
            assert {v for v, lt in letter.items() if lt and lt in got.loc[col, "letters"]} == mine
    # without prepaid customers in 2024Q2, that wave's banner calls high-bill "B" still
    q2 = t[t["wave"] == "2024Q2"].set_index("value")
    assert "prepaid" not in q2.index and q2.loc["contract", "letters"] == "B"
    view = segment_index_view(t)
    assert list(view.columns) == ["Q1 2024", "Q2 2024", "Q3 2024"]
    prepaid = [k for k in view.index if k[1].endswith("(C)")][0]
    assert view.loc[prepaid, "Q2 2024"] == ""
    assert view.loc[("", "Total"), "Q1 2024"] == f"{t.iloc[0]['estimate']:.1f}"


def test_segment_index_takeaway_names_the_lowest_group(study, waves):
    t = segment_index_by_wave(waves, study=study, segments=["customer_type"])
    from analysis_helpers.safe_output import plain_text, render_markdown

    text = plain_text(render_markdown(segment_index_takeaway(t, study=study)))
    hb = t[(t["wave"] == "2024Q3") & (t["value"] == "high_bill")].iloc[0]
    label = study.segment("customer_type").values["high_bill"]
    assert text.startswith(f"In Q3 2024, {label} (")
    assert f": {hb['estimate']:.1f}, {-hb['difference_rest']:.1f} index points below" in text
    assert text.endswith("they had the lowest index of their segment in 3 of 3 waves.")
    assert segment_index_by_wave(waves.drop(columns="wave"), study=study).empty


def test_segment_index_by_wave_leaves_out_a_wave_too_small_to_estimate(study, waves):
    one = waves[waves["wave"] == "2024Q3"].head(1).assign(wave="2025Q1")  # one respondent
    t = segment_index_by_wave(pd.concat([waves, one]), study=study, segments=["customer_type"])
    assert sorted(t["wave"].unique()) == ["2024Q1", "2024Q2", "2024Q3"]
    with pytest.raises(ValueError, match="only one PSU"):  # asked for by name: computed
        segment_index_by_wave(one, study=study, waves=["2025Q1"], segments=["customer_type"])


def test_column_letters_are_the_pooled_banner_s_letters(study, waves):
    """segment_index_by_wave takes the pooled letters without computing the pooled banner."""
    from analysis_helpers.cross import _column_letters

    segs = ["customer_type", *[c for c in study.segment_columns() if c != "customer_type"]]
    segs = [c for c in segs if c in waves.columns]
    pooled = banner(waves, study=study, segments=segs, areas=False)
    pooled = pooled[pooled["row"] == "csi"]
    assert _column_letters(waves, study, segs) == dict(
        zip(pooled["column"], pooled["letter"], strict=True)
    )
