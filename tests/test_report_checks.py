"""The sentence check and the chart-text overlap check, on hand-made pages and figures."""

from __future__ import annotations

import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import nbformat  # noqa: E402
import pytest  # noqa: E402

from analysis_helpers.report_checks import (  # noqa: E402
    SENTENCE_COLUMNS,
    page_sentences,
    sentence_problems,
    text_overlaps,
)

# the degenerate sentences of issue 8, as a one-wave, unweighted study printed them
DEGENERATE = [
    (
        "The share that moved most is Attractiveness's: from 16.1% of R² (2013) to 16.1% (2013).",
        "a change from a value to the same value",
    ),
    ("In 2013 the weights run from 1.00 to 1.00 times the average weight.", "the same value"),
    ("After weighting its share stays between 45% and 45%.", "the same value"),
    ("The index moved from Q2 2025 to Q2 2025.", "the same value"),
    ("The index moved from 2024年第二季度 to 2024年第二季度.", "the same value"),
    ("250 respondents over 1 waves.", '"1 waves"'),
    ("Among the 1 indicators, Speed has the lowest index.", '"1 indicators"'),
    ("Only 1 waves have respondents.", '"1 waves"'),
    ("In Q2 2025, Over 1 waves.", '"1 waves"'),
    ("Of 0 wave-over-wave comparisons, 0 are significant.", "a count of nothing"),
    ("0 of 0 cells are suppressed.", "a count of nothing"),
    (
        "The largest shortfall is Price: customers expect 7.58 and rate it 7.94 on 1-10, "
        "a gap of 0.36.",
        "shortfall with a positive gap",
    ),
    ("The satisfaction index is nan out of 100.", "'nan'"),
    ("The lowest area is None.", "'None'"),
    ("Weights range up to inf.", "'inf'"),
    ("The last wave is NaT.", "NaT"),
    ("Reverse-coded items: [].", "empty list"),
    ("The top driver is {top['area']} in {wave}.", "unfilled template placeholder"),
    ("2 area(s) cannot be shown to reach 0.70.", "count-aware plural"),
]

SOUND = [
    "9,019 respondents over 6 waves (Q1 2024 to Q2 2025).",
    "The index rose from 60.7 to 62.6 between Q4 2024 and Q2 2025.",
    "It stays at 45%, between 38% and 42% of a wave's interviews.",
    "1 wave, 1 respondent, 1 analysis, 1 of 3 items, 1.0 points and 1 plus 2.",
    "The largest shortfall is Speed: customers expect 4.18 and rate it 3.39, a gap of -0.78.",
    "Of 30 comparisons, 5 are significant; 0 of 84 cells fall below the minimum base.",
    "Nanjing 南京 and the Nan river; information and influence.",
    "p < 0.001 (Holm-adjusted), 95% CI 6.54–6.70.",
    "From 2024年第二季度 to 2024年第三季度, no KPI changed significantly.",
    "Topic 1 scores highest; Store 1 leads the region and (Area 1 trails).",
]


@pytest.mark.parametrize(("sentence", "problem"), DEGENERATE)
def test_degenerate_sentences_are_found(sentence, problem):
    found = sentence_problems(f"<p>{sentence}</p>", page="p.html")
    assert list(found.columns) == SENTENCE_COLUMNS
    assert len(found) >= 1, sentence
    assert found["page"].eq("p.html").all() and found["sentence"].iloc[0] == sentence
    assert found["problem"].str.contains(problem, regex=False).any(), found["problem"].tolist()


@pytest.mark.parametrize("sentence", SOUND)
def test_sound_sentences_pass(sentence):
    assert sentence_problems(f"<p>{sentence}</p>").empty


def test_sentences_are_split_and_code_and_styles_are_skipped():
    page = (
        "<html><head><style>.x {content: 'nan'}</style></head><body>"
        "<p>First is fine. Then 1 waves follow.</p><p>See <code>{study}/None</code>.</p>"
        "<table><tr><td>nan</td><td>12</td></tr></table><script>var x = None;</script>"
        "</body></html>"
    )
    found = sentence_problems(page, page="x.html")
    assert found["sentence"].tolist() == ["Then 1 waves follow.", "nan"]


def test_executed_notebooks_and_report_folders(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Title\n\nUse `{placeholder}` in code."),
        nbformat.v4.new_code_cell(
            "x",
            outputs=[
                nbformat.v4.new_output(
                    "display_data",
                    data={"text/html": "<p>Fine.</p>", "text/plain": "Fine."},
                ),
                nbformat.v4.new_output(
                    "display_data", data={"text/markdown": "From 5% to 5%.", "text/plain": ""}
                ),
                nbformat.v4.new_output("stream", name="stdout", text="mean is nan\n"),
            ],
        ),
    ]
    path = tmp_path / "30-trend.ipynb"
    path.write_text(json.dumps(nb), encoding="utf-8")
    found = sentence_problems([path])
    assert found["page"].unique().tolist() == ["30-trend.ipynb"]
    assert found["sentence"].tolist() == ["From 5% to 5%.", "mean is nan"]
    (tmp_path / "a.html").write_text("<p>1 items.</p>", encoding="utf-8")
    (tmp_path / "b.html").write_text("<p>All good.</p>", encoding="utf-8")
    folder = sentence_problems(tmp_path)
    assert folder[["page", "sentence"]].values.tolist() == [["a.html", "1 items."]]
    assert page_sentences(tmp_path / "b.html") == ["All good."]


# ---- chart text -------------------------------------------------------------------------
def test_crowded_tick_labels_and_point_labels_overlap():
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.bar(range(6), range(6))
    ax.set_xticks(range(6), [f"a long label {i}" for i in range(6)])
    ax.annotate("point A", (1, 1))
    ax.annotate("point B", (1.05, 1.02))
    found = text_overlaps(fig)
    ticks = found[(found["role_a"] == "tick label") & (found["role_b"] == "tick label")]
    assert len(ticks) >= 5 and (ticks["overlap_px"] > 0).all()
    assert ((found["text_a"] == "point A") & (found["text_b"] == "point B")).sum() == 1
    assert set(found.loc[found["text_a"] == "point A", "role_a"]) == {"annotation"}
    plt.close(fig)


def test_a_clean_chart_has_no_overlaps():
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot([0, 1, 2], [1, 3, 2], label="series")
    ax.set_title("A short title")
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.legend(loc="lower right")
    assert text_overlaps(fig).empty
    plt.close(fig)


def test_rotated_labels_are_compared_as_drawn():
    """Labels turned by 45 degrees whose upright envelopes overlap but whose own boxes do not
    are not an overlap; the same labels horizontal are."""
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.plot(range(8), range(8))
    ax.set_xticks(range(8), [f"wave {i}" for i in range(8)], rotation=45, ha="right")
    assert text_overlaps(fig).empty
    ax.set_xticks(range(8), [f"wave {i}" for i in range(8)], rotation=0)
    assert not text_overlaps(fig).empty
    plt.close(fig)


def test_title_over_legend_and_hidden_text():
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.plot([0, 1], [0, 1], label="a legend entry that is long")
    ax.legend(loc="upper left", bbox_to_anchor=(0, 1.12))
    ax.set_title("A title that the legend covers", loc="left")
    hidden = ax.text(0.5, 0.5, "hidden", visible=False)
    found = text_overlaps(ax)
    assert {"title", "legend"} <= set(found["role_a"]) | set(found["role_b"])
    assert "hidden" not in set(found["text_a"]) | set(found["text_b"])
    hidden.remove()
    plt.close(fig)
