"""The customer-voice page's helpers: sentences checked against hand-made tables, the
segment-versus-rest comparison against the comments module's own two-group test, and
verbatims that stay escaped."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis_helpers import comments as cm
from analysis_helpers.estimation import SurveyDesign
from analysis_helpers.formatting import fmt_p
from analysis_helpers.safe_output import plain_text, render_markdown
from analysis_helpers.study import load_study
from analysis_helpers.trend import adjust_p
from analysis_helpers.voice_report import (
    change_takeaway,
    outcome_takeaways,
    segment_takeaways,
    segment_theme_differences,
    terms_takeaway,
    theme_takeaway,
    verbatim_blocks,
    voice_overview,
)

ROOT = Path(__file__).resolve().parents[1]


def words(text) -> str:
    """What a reader sees of a sentence: rendered, tags dropped."""
    return plain_text(render_markdown(text))


THEMES = {
    "wait": {"label": "Waiting", "keywords": ["on hold", "wait*"]},
    "bill": {"label": "Bill", "keywords": ["bill*"]},
}


@pytest.fixture(scope="module")
def study():
    return load_study(ROOT / "config" / "demo.yml", check_files=False)


@pytest.fixture(scope="module")
def survey():
    """600 respondents: prepaid customers wait on the hotline far more often."""
    rng = np.random.default_rng(3)
    n = 600
    ctype = rng.choice(["contract", "high_bill", "prepaid"], n)
    text = np.where(
        rng.random(n) < np.where(ctype == "prepaid", 0.7, 0.15), "kept waiting on hold", ""
    ).astype(object)
    bill = rng.random(n) < 0.3
    text = np.where(bill, np.char.add(text.astype(str), " my bill is wrong"), text)
    text = np.where(rng.random(n) < 0.1, "n/a", text)
    text = np.where(rng.random(n) < 0.2, "", text)
    frame = pd.DataFrame(
        {
            "customer_type": ctype,
            "comment": text,
            "rake_weight": rng.uniform(0.5, 1.5, n),
            "region": rng.choice(["north", "south"], n),
            "osat": rng.integers(1, 11, n).astype(float),
        }
    )
    frame.loc[frame["comment"].str.contains("waiting"), "osat"] -= 2
    return frame


def test_overview_counts_comments_and_no_comment_answers(study, survey):
    coded = cm.code_themes(survey, column="comment", themes=THEMES)
    text = words(voice_overview(survey, coded=coded, column="comment", study=study))
    k = int(coded["has_comment"].sum())
    junk = int((survey["comment"].str.strip().ne("") & ~coded["has_comment"]).sum())
    assert junk == (survey["comment"] == "n/a").sum() > 0
    w = survey["rake_weight"]
    wshare = w[coded["has_comment"]].sum() / w.sum()
    assert text.startswith(f"{k:,} of 600 respondents left a comment ({round(100 * k / 600)}%")
    assert f"weighted {round(100 * wshare)}%" in text
    assert f"{junk} answers such as “n/a” or “-” count as no comment." in text


def test_theme_takeaway_ranks_by_share_and_names_the_unmatched():
    shares = pd.DataFrame(
        {
            "theme": ["a", "b", "c", "d", "no_theme"],
            "theme_label": ["A", "B", "C", "D", "No theme matched"],
            "estimate": [0.10, 0.30, 0.05, 0.20, 0.40],
        }
    )
    assert words(theme_takeaway(shares)) == (
        "Commenters write most about B (30%), D (20%) and A (10%); 40% of the "
        "comments match no theme."
    )
    none = shares.assign(estimate=[0.0, 0, 0, 0, 1.0])
    assert words(theme_takeaway(none)) == "No comment mentions any theme of the study's dictionary."


def _changes(direction_q2, direction_q3):
    return pd.DataFrame(
        {
            "theme": ["a", "a", "no_theme"],
            "theme_label": ["Signal", "Signal", "No theme matched"],
            "value_1": ["2024Q1", "2024Q2", "2024Q2"],
            "value_2": ["2024Q2", "2024Q3", "2024Q3"],
            "estimate_2": [0.2, 0.15, 0.5],
            "estimate": [0.069, -0.05, 0.2],
            "p_adjusted": [0.031, 0.0004, 0.001],
            "direction": [direction_q2, direction_q3, "rise"],
        }
    )


def test_change_takeaway_calls_only_significant_moves_a_change(study):
    text = words(change_takeaway(_changes("", ""), study=study, wave="2024Q3", previous="2024Q2"))
    assert text == (
        "From Q2 2024 to Q3 2024, no theme's share changed significantly (p < 0.05, Holm-adjusted)."
    )
    text = words(
        change_takeaway(_changes("rise", "fall"), study=study, wave="2024Q3", previous="2024Q2")
    )
    assert text == (
        "From Q2 2024 to Q3 2024, Signal fell 5.0 pp to 15% (p < 0.001) (p < 0.05, "
        "Holm-adjusted). Earlier, Signal rose 6.9 pp to 20% from Q1 2024 to Q2 2024."
    )
    first = words(change_takeaway(_changes("", ""), study=study, wave="2024Q1", previous=None))
    assert first == "Q1 2024 is the first wave with comments; changes start with the next one."


def test_segment_versus_rest_is_the_two_group_test_adjusted_together(study, survey):
    coded = cm.code_themes(survey, column="comment", themes=THEMES)
    design = SurveyDesign(weight="rake_weight", strata="region")
    out = segment_theme_differences(
        survey,
        coded=coded,
        segment="customer_type",
        study=study,
        design=design,
        labels={"wait": "Waiting", "bill": "Bill"},
    )
    assert list(out.columns) == [
        "segment", "value", "value_label", "theme", "theme_label", "n", "n_rest",
        "estimate", "estimate_rest", "difference", "se", "p_value", "p_adjusted",
        "significant", "direction",
    ]  # fmt: skip
    assert len(out) == 3 * 2  # three values x two themes, no_theme left out
    # each value against the rest equals the comments module's two-group test
    for value in ["contract", "high_bill", "prepaid"]:
        work = survey.assign(vs=np.where(survey["customer_type"] == value, "v", "r"))
        ref = cm.theme_differences(
            work, coded=coded, by="vs", values=["r", "v"], design=design, correction="none"
        ).set_index("theme")
        got = out[out["value"] == value].set_index("theme")
        for theme in ["wait", "bill"]:
            assert got.loc[theme, "difference"] == pytest.approx(ref.loc[theme, "estimate"])
            assert got.loc[theme, "se"] == pytest.approx(ref.loc[theme, "se"])
            assert got.loc[theme, "p_value"] == pytest.approx(ref.loc[theme, "p_value"])
            assert got.loc[theme, "estimate_rest"] == pytest.approx(ref.loc[theme, "estimate_1"])
            assert got.loc[theme, "n"] == ref.loc[theme, "n_2"]
    # one Holm family over all six comparisons
    np.testing.assert_allclose(out["p_adjusted"], adjust_p(out["p_value"], correction="holm"))
    wait = out[out["theme"] == "wait"].set_index("value")
    assert wait.loc["prepaid", "direction"] == "above" and wait.loc["prepaid", "significant"]
    assert wait.loc["contract", "direction"] == "below"
    sentences = [words(s) for s in segment_takeaways(out, study=study)]
    prepaid = study.segment("customer_type").values["prepaid"]
    assert any(s.startswith(f"{prepaid} (Customer type") for s in sentences)
    assert any("mention Waiting more often than the rest" in s for s in sentences)


def test_segment_takeaways_without_a_difference(study):
    diffs = pd.DataFrame(
        {"segment": ["customer_type"], "significant": [False], "difference": [0.01]}
    )
    [s] = segment_takeaways(diffs, study=study)
    assert words(s).startswith("No Customer type")
    assert "significantly more or less often" in words(s)


def test_outcome_takeaways(study, survey):
    coded = cm.code_themes(survey, column="comment", themes=THEMES)
    out = cm.theme_outcomes(survey, coded=coded, outcome="osat", labels={"wait": "Waiting"})
    sentences = [words(s) for s in outcome_takeaways(out, study=study, outcome="osat")]
    row = out.set_index("theme").loc["wait"]
    assert row["significant"] and row["estimate"] < 0
    assert sentences[0] == (
        f"Those who mention Waiting rate overall satisfaction 总体满意度 "
        f"{abs(row['estimate']):.2f} points lower than the other commenters "
        f"({row['mean_mention']:.2f} against {row['mean_other']:.2f}, "
        f"{fmt_p(row['p_adjusted'], prefix=True)}, n = {int(row['n_mention']):,})."
    )
    none = out.assign(significant=False)
    [s] = outcome_takeaways(none, study=study, outcome="osat")
    assert words(s).startswith("No theme goes with a significantly different overall satisfaction")


def test_verbatims_stay_escaped():
    data = pd.DataFrame(
        {
            "comment": [
                "I waited <script>alert(1)</script> for ages on the hotline",
                "Call li.wei@example.com, I waited two hours",
                "my bill was **wrong** again this month",
            ]
        }
    )
    coded = cm.code_themes(data, column="comment", themes=THEMES)
    quotes = cm.example_verbatims(data, column="comment", coded=coded, n=3, labels=None)
    blocks = [str(b) for b in verbatim_blocks(quotes)]
    assert len(blocks) == 2
    joined = "\n".join(blocks)
    assert "<script>" not in joined and "li.wei@example.com" not in joined
    assert "**wrong**" not in joined  # markdown in a comment is not emphasis
    assert blocks[0].splitlines()[0].startswith("**")
    assert all(line.startswith("> “") or line.startswith("**") or line == ">" for b in blocks
               for line in b.splitlines())  # fmt: skip


def test_terms_takeaway():
    terms = pd.DataFrame(
        {"ngram": [1, 1, 2], "rank": [1, 2, 1], "term": ["signal", "bill", "on hold"],
         "share": [0.14, 0.12, 0.05]}
    )  # fmt: skip
    assert words(terms_takeaway(terms, top=2)) == (
        "The words commenters use most are signal (14%) and bill (12%) (share of "
        "commenters using each)."
    )
    assert "no word" in words(terms_takeaway(terms.iloc[0:0]))
