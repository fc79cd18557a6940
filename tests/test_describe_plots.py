"""Descriptive charts draw from tidy tables and return their Axes."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from analysis_helpers.describe_plots import (  # noqa: E402
    diverging_likert,
    gap_chart,
    grouped_likert,
    kpi_bars_with_ci,
    kpi_panels,
)
from analysis_helpers.kpis import expectation_gap, item_distribution, top_box  # noqa: E402
from analysis_helpers.plots import bar_with_ci  # noqa: E402


@pytest.fixture(scope="module")
def ratings():
    rng = np.random.default_rng(2)
    n = 200
    return pd.DataFrame(
        {f"q{i}": rng.integers(1, 6, n).astype(float) for i in range(1, 5)}
        | {"seg": rng.choice(["x", "y"], n)}
    )


def test_diverging_likert_widths_are_the_shares(ratings):
    dist = item_distribution(ratings, items=["q1", "q2"], codes=[1, 2, 3, 4, 5])
    ax = diverging_likert(dist, labels={"q1": "网络服务", "q2": "Billing"})
    widths = sorted(round(p.get_width(), 9) for p in ax.patches)
    assert widths == sorted(round(v, 9) for v in dist["share"] * 100)
    # the neutral code 3 is centred on zero: its bar starts at -half its width
    mid = [p for p in ax.patches if p.get_facecolor()[:3] == matplotlib.colors.to_rgb("#BBBBBB")]
    assert len(mid) == 2
    for p in mid:
        assert p.get_x() == pytest.approx(-p.get_width() / 2)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["网络服务", "Billing"]


def test_diverging_likert_even_scale_and_errors(ratings):
    dist = item_distribution(ratings.assign(q1=ratings["q1"].clip(1, 4)), items="q1")
    fig, ax = plt.subplots()
    assert diverging_likert(dist, ax=ax) is ax
    left = sum(p.get_width() for p in ax.patches if p.get_x() < 0)
    share12 = dist.loc[dist["code"] <= 2, "share"].sum() * 100
    assert left == pytest.approx(share12)
    with pytest.raises(
        KeyError, match="diverging_likert: table has no column\\(s\\) \\['share'\\]"
    ):
        diverging_likert(dist.drop(columns="share"))
    with pytest.raises(ValueError, match="neutral code 9 is not among"):
        diverging_likert(dist, neutral=9)


def test_bar_with_ci_series_side_by_side_and_sorted(ratings):
    t = top_box(ratings, items=["q1", "q2", "q3"], top=(4, 5), by="seg")
    ax = bar_with_ci(t, by="seg", percent=True)
    assert len(ax.patches) == 6
    widths = sorted(p.get_width() for p in ax.patches)
    assert widths == pytest.approx(sorted(t["estimate"] * 100))
    assert [x.get_text() for x in ax.get_legend().get_texts()] == ["x", "y"]
    ax2 = bar_with_ci(t[t["seg"] == "x"], sort=True)
    top_label = ax2.get_yticklabels()[0].get_text()  # the first bar is drawn on top
    assert ax2.get_ylim()[0] > ax2.get_ylim()[1]
    assert top_label == t[t["seg"] == "x"].sort_values("estimate")["item"].iloc[-1]
    with pytest.raises(ValueError, match="bar_with_ci: table is empty"):
        bar_with_ci(t.iloc[:0])


def test_kpi_bars_with_ci_is_a_deprecated_alias(ratings):
    t = top_box(ratings, items=["q1", "q2", "q3"], top=(4, 5), by="seg")
    with pytest.warns(DeprecationWarning, match="use analysis_helpers.plots.bar_with_ci"):
        ax = kpi_bars_with_ci(t, hue="seg", percent=True)
    assert len(ax.patches) == 6 and not ax.texts  # no bases, as before


def test_gap_chart(ratings):
    g = expectation_gap(ratings, pairs=[("q1", "q2"), ("q3", "q4")])
    ax = gap_chart(g)
    assert len(ax.lines) == 2
    assert [t.get_text() for t in ax.get_yticklabels()] == g.sort_values(
        "estimate", ascending=False
    )["satisfaction"].tolist()
    with pytest.raises(TypeError, match="gap_chart: expected a DataFrame"):
        gap_chart(g.to_dict())


def test_grouped_likert_groups_and_end_shares(ratings):
    dist = item_distribution(ratings, items=["q1", "q2", "q3"], codes=[1, 2, 3, 4, 5])
    dist["area"] = dist["item"].map({"q1": "a", "q2": "a", "q3": "b"})
    ax = grouped_likert(dist, by="area", by_labels={"a": "网络服务", "b": "Billing"})
    widths = sorted(round(p.get_width(), 9) for p in ax.patches)
    assert widths == sorted(round(v, 9) for v in dist["share"] * 100)
    texts = [t.get_text() for t in ax.texts]
    assert "网络服务" in texts and "Billing" in texts
    # one separator between the two groups (plus the zero line)
    assert len([ln for ln in ax.lines if ln.get_ydata()[0] == ln.get_ydata()[1]]) == 1
    q3 = dist[dist["item"] == "q3"].set_index("code")["share"]
    assert f"{(q3[1] + q3[2]) * 100:.0f}%" in texts
    assert f"{(q3[4] + q3[5]) * 100:.0f}%" in texts
    assert [t.get_text() for t in ax.get_yticklabels()] == ["q1", "q2", "q3"]
    assert ax.get_legend() is not None and len(ax.get_legend().get_texts()) == 5
    bare = grouped_likert(dist, by="area", annotate=False, ax=plt.subplots()[1])
    assert [t.get_text() for t in bare.texts] == ["a", "b"]
    bad = dist.assign(area=np.where(dist["code"] == 1, "b", dist["area"]))
    with pytest.raises(ValueError, match="bar 'q1' lies in more than one 'area'"):
        grouped_likert(bad, by="area")
    with pytest.raises(KeyError, match="grouped_likert: table has no column"):
        grouped_likert(dist, by="segment")


def test_kpi_panels_one_panel_per_unit():
    t = pd.DataFrame(
        {
            "label": ["mean", "top-2", "loyal", "NPS"],
            "unit": ["mean (1-5)", "share", "share", "points"],
            "n": [100, 100, 90, 100],
            "estimate": [3.5, 0.4, 0.6, -5.0],
            "ci_low": [3.4, 0.35, 0.55, -12.0],
            "ci_high": [3.6, 0.45, 0.65, 2.0],
        }
    )
    axes = kpi_panels(t)
    assert len(axes) == 3
    share = axes[1]
    assert share.get_title(loc="left") == "% of respondents"
    assert sorted(p.get_width() for p in share.patches) == pytest.approx([40, 60])
    notes = [a.get_text() for a in share.texts]
    assert "40%  (n=100)" in notes and "60%  (n=90)" in notes
    assert axes[2].patches[0].get_width() == pytest.approx(-5.0)
    assert axes[2].get_xlim()[0] < -12
    assert [a.get_text() for a in axes[0].texts] == ["3.50  (n=100)"]
    fig, own = plt.subplots(3, 1)
    assert list(kpi_panels(t, axes=own, base=None)) == list(own)
    assert [a.get_text() for a in own[0].texts] == ["3.50"]
    with pytest.raises(ValueError, match="kpi_panels: 3 units need 3 axes, got 2"):
        kpi_panels(t, axes=own[:2])
    with pytest.raises(KeyError, match=r"kpi_panels: table has no column\(s\) \['unit'\]"):
        kpi_panels(t.drop(columns="unit"))


def test_distribution_chart_one_panel_per_band_count_without_overlaps():
    from analysis_helpers.describe_plots import distribution_chart
    from analysis_helpers.plots import apply_theme
    from analysis_helpers.report_checks import text_overlaps

    apply_theme()  # the report theme: CJK labels render

    rows = []
    for item, area, scale, codes in [
        ("a", "net", "1-5", ["1", "2", "3", "4", "5"]),
        ("b", "net", "1-10", ["1-2", "3-4", "5-6", "7-8", "9-10"]),
        ("c", "bill", "1-7", list("1234567")),
        ("d", "bill", "1-7", list("1234567")),
    ]:
        for band, code in enumerate(codes, start=1):
            rows.append({"item": item, "area": area, "scale": scale, "band": band,
                         "n_bands": len(codes), "codes": code, "share": 1 / len(codes)})  # fmt: skip
    dist = pd.DataFrame(rows)
    axes = distribution_chart(
        dist,
        by="area",
        labels={"a": "网络覆盖", "b": "Value", "c": "Bill", "d": "Payment"},
        by_labels={"net": "Network 网络", "bill": "Billing"},
        title="Answers to the 4 items, Q1 2024",
    )
    assert len(axes) == 2
    first, second = axes
    assert first.get_legend().get_title().get_text() == "1-5 items: codes | 1-10 items: bands"
    assert [t.get_text() for t in first.get_legend().get_texts()] == [
        "1 | 1-2", "2 | 3-4", "3 | 5-6", "4 | 7-8", "5 | 9-10"
    ]  # fmt: skip
    assert second.get_legend().get_title().get_text() == "1-7 items: codes"
    assert len(second.get_legend().get_texts()) == 7
    assert [t.get_text() for t in first.get_yticklabels()] == ["网络覆盖", "Value"]
    assert text_overlaps(first.figure).empty
    # without groups: no group names beside the bars
    plain = distribution_chart(dist[dist["n_bands"] == 7], by=None)
    texts = {t.get_text() for t in plain[0].texts}
    assert "bill" not in texts and "Billing" not in texts
    plt.close("all")


def test_kpi_panels_titles_and_labels_by_kind_without_overlaps():
    from analysis_helpers.plots import apply_theme
    from analysis_helpers.report_checks import text_overlaps

    apply_theme()
    kpis = pd.DataFrame(
        {
            "label": ["Overall: mean", "Overall: top-2-box", "NPS (Recommend)", "CSI"],
            "unit": ["mean (1-10)", "share", "points", "index (0-100)"],
            "estimate": [6.354, 0.04, 1.61, 58.93],
            "ci_low": [6.08, 0.01, -12.0, 56.6],
            "ci_high": [6.62, 0.10, 15.0, 61.3],
            "n": [141, 141, 141, 141],
        }
    )
    axes = kpi_panels(kpis, titles={"points": "NPS points (-100 to 100)"})
    assert [ax.get_title(loc="left") for ax in axes] == [
        "mean (1-10)", "% of respondents", "NPS points (-100 to 100)", "index (0-100)"
    ]  # fmt: skip
    labels = [t.get_text() for ax in axes for t in ax.texts]
    assert labels == ["6.35  (n=141)", "4%  (n=141)", "2  (n=141)", "58.9  (n=141)"]
    assert text_overlaps(axes[0].figure).empty
    plt.close("all")


def test_gap_chart_of_the_describe_page_has_no_overlapping_text():
    from analysis_helpers.plots import apply_theme
    from analysis_helpers.report_checks import text_overlaps

    apply_theme()
    gaps = pd.DataFrame(
        {
            "label": ["家中信号覆盖", "Waiting time", "Price level", "Bill is accurate"],
            "expectation_100": [77.8, 78.7, 74.3, 77.3],
            "satisfaction_100": [58.0, 62.5, 64.1, 77.9],
            "p_adjusted": [0.0001, 0.0001, 0.0001, 0.84],
        }
    )
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(gaps) + 1.8))
    gap_chart(gaps, label="label", expectation="expectation_100",
              satisfaction="satisfaction_100", significant="p_adjusted", ax=ax)  # fmt: skip
    ax.set_xlabel("mean on the 0-100 index scale (solid line: significant gap, dashed: not)")
    ax.legend(frameon=False, ncol=2, loc="upper center", bbox_to_anchor=(0.5, -0.18))
    ax.set_title("Expectation and satisfaction, Q3 2024")
    ticks = [t.get_text() for t in ax.get_yticklabels()]
    assert ticks[-1] == "家中信号覆盖"  # the largest shortfall on top
    assert text_overlaps(fig).empty
    plt.close("all")
