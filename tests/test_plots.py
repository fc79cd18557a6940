"""Charts render labels in any language and the shared chart helpers draw what they get."""

from __future__ import annotations

import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from analysis_helpers.plots import apply_theme, bar_with_ci, cjk_font_path, kpi_trend  # noqa: E402


def test_cjk_font_is_bundled():
    assert cjk_font_path().is_file()


def test_chinese_labels_render_without_missing_glyphs(tmp_path):
    apply_theme()
    fig, ax = plt.subplots()
    ax.set_title("客户满意度 Customer satisfaction")
    ax.bar(["网络服务", "投诉处理", "Billing 账单"], [3.9, 3.1, 4.2])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "Glyph ... missing from font(s)" would raise
        fig.savefig(tmp_path / "cjk.png")
    plt.close(fig)
    assert (tmp_path / "cjk.png").stat().st_size > 5000


def test_missing_glyph_is_detected_without_the_theme(tmp_path):
    """The check above can fail: with a Latin-only font a CJK label warns."""
    with matplotlib.rc_context({"font.family": "sans-serif", "font.sans-serif": ["DejaVu Sans"]}):
        fig, ax = plt.subplots()
        ax.set_title("满意度")
        with pytest.warns(UserWarning, match="missing from font"):
            fig.savefig(tmp_path / "latin.png")
        plt.close(fig)


def test_bar_with_ci_labels_bases():
    apply_theme()
    t = pd.DataFrame(
        {
            "name": ["网络", "账单"],
            "estimate": [3.5, 4.0],
            "ci_low": [3.4, 3.8],
            "ci_high": [3.6, 4.2],
            "n": [1200, 35],
        }
    )
    ax = bar_with_ci(t, label="name", axis_label="Mean")
    texts = [a.get_text() for a in ax.texts]
    assert texts == ["n=1,200", "n=35"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["网络", "账单"]
    assert ax.get_xlabel() == "Mean"
    assert [p.get_width() for p in ax.patches] == [3.5, 4.0]
    vertical = bar_with_ci(t, label="name", base=None, horizontal=False)
    assert not vertical.texts and [p.get_height() for p in vertical.patches] == [3.5, 4.0]
    with pytest.raises(KeyError, match=r"bar_with_ci: table has no column\(s\) \['n_effective'\]"):
        bar_with_ci(t, label="name", base="n_effective")


def test_bar_with_ci_old_spelling_still_works():
    t = pd.DataFrame({"name": ["a", "b"], "estimate": [1.0, 2.0], "lo": [0.5, 1.5],
                      "hi": [1.5, 2.5], "n": [10, 20]})  # fmt: skip
    with pytest.warns(DeprecationWarning) as caught:
        ax = bar_with_ci(t, x="name", low="lo", high="hi", label="Mean")
    said = " | ".join(str(w.message) for w in caught)
    assert "bar_with_ci: x= is deprecated; use label=" in said
    assert "bar_with_ci: low= is deprecated; use ci_low=" in said
    assert "use axis_label=" in said
    assert ax.get_xlabel() == "Mean"  # the old label= was the axis text
    assert [x.get_text() for x in ax.get_yticklabels()] == ["a", "b"]


def test_kpi_trend_one_line_per_group():
    t = pd.DataFrame(
        {
            "wave": ["w1", "w2", "w1", "w2"],
            "g": ["a", "a", "b", "b"],
            "estimate": [1, 2, 3, 4],
            "ci_low": [0, 1, 2, 3],
            "ci_high": [2, 3, 4, 5],
        }
    )
    ax = kpi_trend(t, by="g", order=["w1", "w2"])
    assert len(ax.get_lines()) == 2
    assert list(ax.get_lines()[1].get_ydata()) == [3, 4]


def _waves(n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "wave": [f"20{24 + k // 4}Q{k % 4 + 1}" for k in range(n)],
            "estimate": [6.0 + 0.1 * k for k in range(n)],
            "ci_low": [5.8 + 0.1 * k for k in range(n)],
            "ci_high": [6.2 + 0.1 * k for k in range(n)],
        }
    )


def test_kpi_trend_shows_wave_labels_in_time_order():
    from analysis_helpers.report_checks import text_overlaps

    apply_theme()
    t = _waves(3)
    labels = {"2024Q1": "Q1 2024", "2024Q2": "Q2 2024", "2024Q3": "Q3 2024"}
    ax = kpi_trend(t.iloc[::-1], order=list(labels), labels=labels)
    assert [x.get_text() for x in ax.get_xticklabels()] == list(labels.values())
    assert list(ax.get_lines()[0].get_xdata()) == [0, 1, 2]
    assert list(ax.get_lines()[0].get_ydata()) == pytest.approx([6.0, 6.1, 6.2])
    assert text_overlaps(ax).empty
    plt.close(ax.figure)


def test_kpi_trend_line_missing_a_wave_keeps_its_waves_in_place():
    t = pd.concat([_waves(3).assign(g="a"), _waves(3).assign(g="b").iloc[1:]])
    ax = kpi_trend(t.iloc[::-1], by="g", order=["2024Q1", "2024Q2", "2024Q3"])
    by_label = {line.get_label(): list(line.get_xdata()) for line in ax.get_lines()}
    assert by_label == {"a": [0, 1, 2], "b": [1, 2]}
    plt.close(ax.figure)


@pytest.mark.parametrize("n, width", [(6, 3.2), (6, 1.6), (24, 3.0)])
def test_wave_labels_never_overlap_on_a_narrow_panel(n, width):
    """The known bug: six wave labels on one of three panels ran together."""
    from analysis_helpers.report_checks import text_overlaps

    apply_theme()
    t = _waves(n)
    labels = {w: f"Q{w[-1]} {w[:4]}" for w in t["wave"]}
    fig, ax = plt.subplots(figsize=(width, 3))
    kpi_trend(t, order=list(labels), labels=labels, ax=ax)
    shown = [x.get_text() for x in ax.get_xticklabels()]
    assert text_overlaps(fig).empty, text_overlaps(fig)
    assert shown[-1].replace("\n", " ") == labels[t["wave"].iloc[-1]]  # the latest wave shows
    assert sum(bool(s) for s in shown) >= 2
    plt.close(fig)


def test_fit_tick_labels_leaves_roomy_labels_alone_and_checks_its_axis():
    from analysis_helpers.plots import fit_tick_labels

    fig, ax = plt.subplots(figsize=(8, 3))
    ax.set_xticks([0, 1], ["a", "b"])
    fit_tick_labels(ax)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b"]
    assert ax.get_xticklabels()[0].get_rotation() == 0
    with pytest.raises(ValueError, match="axis must be 'x' or 'y'"):
        fit_tick_labels(ax, axis="z")
    plt.close(fig)
