"""Open-ended comments: tokens, the no-comment rule, theme matching, design-based theme
shares and tests checked by hand and against the estimation module, drivers, verbatims
that are safe to show, the study file's comments section and the demo's planted themes."""

from __future__ import annotations

import copy
import html
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats
from statsmodels.stats.multitest import multipletests

from analysis_helpers import comments as cm
from analysis_helpers.estimation import SurveyDesign, domain_difference, survey_mean
from analysis_helpers.study import CommentsSpec, StudyFileError, load_study

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "config" / "demo.yml"

THEMES = {
    "wait": {"label": "Waiting 等待", "keywords": ["on hold", "wait*", "等待", "排队"]},
    "bill": {"label": "Bill 账单", "keywords": ["bill", "invoice", "账单"]},
}


# --------------------------------------------------------------------------------------
# Normalising, the no-comment rule, tokens
# --------------------------------------------------------------------------------------
def test_normalize_comment():
    assert cm.normalize_comment("  Ｈｏｔｌｉｎｅ\tkept  ME\nwaiting ") == "hotline kept me waiting"
    assert cm.normalize_comment("Don\u2019t") == "don't"
    assert cm.normalize_comment("Straße ﬁne") == "strasse fine"
    for missing in (None, np.nan, pd.NA, float("nan")):
        assert cm.normalize_comment(missing) == ""
    assert cm.normalize_comment(42) == "42"


@pytest.mark.parametrize(
    "text",
    ["", "   ", "\t\n", "-", "--", "...", "?", "0", "123", "n/a", "N/A", "NA", "none.",
     "Nothing", "no comment!", "Nothing to add", "无", "没有", "没有。", "暂无", "无意见",
     "没有 意见", "不知道", "😀", "x", None, np.nan],
)  # fmt: skip
def test_no_comment_answers(text):
    assert cm.is_no_comment(text)


@pytest.mark.parametrize(
    "text",
    ["ok", "Good", "No signal at home", "nothing works", "无信号", "没有信号", "5G bad", "好"],
)
def test_real_comments_are_kept(text):
    assert not cm.is_no_comment(text)


def test_study_adds_no_comment_answers():
    assert not cm.is_no_comment("same as above")
    assert cm.is_no_comment("Same as above!", no_comment=["same as above"])
    assert cm.is_no_comment("同 上。", no_comment=[])  # built in
    with pytest.raises(TypeError, match="no_comment must be a list of answers, got the text 'x'"):
        cm.is_no_comment("x", no_comment="x")


def test_tokenize_chinese_with_jieba():
    assert cm.tokenize("网络信号很好，但是客服等待时间太长。") == [
        "网络", "信号", "很", "好", "但是", "客服", "等待时间", "太", "长",
    ]  # fmt: skip
    assert cm.tokenize("账单看不懂，希望更清楚一些", stop=cm.stop_words(["zh"])) == [
        "账单", "看不懂", "清楚",
    ]  # fmt: skip


def test_tokenize_english_and_mixed():
    assert cm.tokenize("Hotline kept me WAITING for 20 minutes!") == [
        "hotline", "kept", "me", "waiting", "for", "20", "minutes",
    ]  # fmt: skip
    assert cm.tokenize("Don\u2019t like the ﬁnal bill", stop=cm.stop_words(["en"])) == [
        "like", "final", "bill",
    ]  # fmt: skip
    # Chinese and Latin runs are split apart, in order
    assert cm.tokenize("5G信号差but账单OK") == ["5g", "信号", "差", "but", "账单", "ok"]
    assert cm.tokenize("Ｗｉ-Ｆｉ <b>ok</b>") == ["wi", "fi", "b", "ok", "b"]
    assert cm.tokenize("") == [] and cm.tokenize(None) == []


def test_stop_words():
    assert {"the", "的"} <= cm.stop_words()
    assert "die" in cm.stop_words(["de"]) and "die" not in cm.stop_words(["en"])
    with pytest.raises(ValueError, match="stop_words: unknown language 'xx' \\(known: en, zh"):
        cm.stop_words(["en", "xx"])


def test_chinese_praise_words_are_not_frequent_terms():
    # 很好 / 挺好的 / 服务好 segment to 很 + 好, 挺 + 好 + 的, 服务 + 好: the bare 好 ("good") of
    # every positive comment says nothing about what was good, like 不错 ("not bad") and 还好
    comments = ["很好很好", "挺好的", "服务好", "好", "信号很好", "不错", "还好吧", "蛮好"]
    comments += ["信号不好", "信号差", "信号弱", "网速很慢", "网速太慢"]
    terms = cm.frequent_terms(
        pd.DataFrame({"c": comments}), column="c", ngrams=[1], min_count=2, languages=["zh"]
    )
    # 信号 4 of 13 commenters, 网速 2; 好 would be 7 of 13 and rank first
    assert terms["term"].tolist() == ["信号", "网速"]
    assert terms["count"].tolist() == [4, 2]
    assert {"好", "不错", "还好", "蛮"} <= cm.stop_words(["zh"])


# --------------------------------------------------------------------------------------
# Keywords and matching
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "keyword,problem",
    [
        ("", "a keyword is empty"),
        ("   ", "a keyword is empty"),
        ("!!!", "'!!!' has no letters or digits to match"),
        ("bi*ll", "'bi*ll': '*' may only end a keyword (a word prefix, e.g. 'bill*')"),
        ("*", "'*' has no letters or digits to match"),
        ("bill *", "'bill *': '*' must follow a word directly (e.g. 'bill*')"),
        ("账单*", "'账单*': '*' is for Latin-script words; a Chinese keyword already matches"),
        (3, "3 is not text"),
    ],
)
def test_keyword_problems(keyword, problem):
    assert cm.keyword_problem(keyword).startswith(problem)


def test_keyword_key():
    assert cm.keyword_key("On  HOLD") == cm.keyword_key("on hold") == "on hold"
    assert cm.keyword_key("Bill*") == "bill*" != cm.keyword_key("bill")
    assert cm.keyword_problem("on hold") is None and cm.keyword_problem("5G信号") is None


def code(texts, themes=THEMES, **kw):
    data = pd.DataFrame({"comment": texts})
    return cm.code_themes(data, column="comment", themes=themes, **kw)


def test_latin_keywords_match_whole_words_and_prefixes():
    out = code(
        ["My BILL is wrong", "billing is confusing", "I was on hold", "hold on please",
         "Waited ages", "the invoice.", "ＢＩＬＬ!"],
        themes={"bill": ["bill"], "bills": ["bill*"], "hold": ["on hold"], "wait": ["wait*"],
                "inv": ["invoice"]},
    )  # fmt: skip
    assert out["bill"].tolist() == [True, False, False, False, False, False, True]
    assert out["bills"].tolist() == [True, True, False, False, False, False, True]
    assert out["hold"].tolist() == [False, False, True, False, False, False, False]
    assert out["wait"].tolist() == [False, False, False, False, True, False, False]
    assert out["inv"].tolist() == [False, False, False, False, False, True, False]


def test_chinese_keywords_substring_and_token():
    texts = ["客服等待时间太长", "免费送流量", "话费太贵", "5G 信号很差", "等 待"]
    themes = {"wait": ["等待"], "fee": ["费"], "signal": ["5g信号"], "waittime": ["等待时间"]}
    sub = code(texts, themes=themes)
    assert sub["wait"].tolist() == [True, False, False, False, True]  # spaces are ignored
    assert sub["fee"].tolist() == [False, True, True, False, False]  # 费 inside 免费: documented
    assert sub["signal"].tolist() == [False, False, False, True, False]
    tok = code(texts, themes=themes, chinese_match="token")
    # jieba: 客服/等待时间/太/长 - the word is 等待时间, so 等待 alone is not a token there
    assert tok["wait"].tolist() == [False, False, False, False, False]
    assert tok["waittime"].tolist() == [True, False, False, False, False]
    assert tok["fee"].tolist() == [False, False, False, False, False]


def test_code_themes_counts_no_comment_and_index():
    data = pd.DataFrame(
        {"comment": ["Hotline kept me waiting", "-", None, "账单看不懂", "waiting for my bill",
                     "Great app", "n/a", "排队太久"]},
        index=[10, 11, 12, 13, 14, 15, 16, 17],
    )  # fmt: skip
    before = data.copy()
    out = cm.code_themes(data, column="comment", themes=THEMES)
    pd.testing.assert_frame_equal(data, before)  # never modified
    assert list(out.columns) == ["has_comment", "wait", "bill", "no_theme"]
    assert out.index.equals(data.index)
    assert out["has_comment"].tolist() == [True, False, False, True, True, True, False, True]
    assert out["wait"].tolist() == [True, False, False, False, True, False, False, True]
    assert out["bill"].tolist() == [False, False, False, True, True, False, False, False]
    assert out["no_theme"].tolist() == [False, False, False, False, False, True, False, False]
    assert out.sum().to_dict() == {"has_comment": 5, "wait": 3, "bill": 2, "no_theme": 1}
    # no dictionary: only who commented
    assert list(cm.code_themes(data, column="comment").columns) == ["has_comment"]


def test_code_themes_accepts_study_models_and_plain_lists():
    spec = CommentsSpec.model_validate(
        {"themes": [{"name": "bill", "label": "B", "keywords": ["bill"]}]}
    )
    a = code(["my bill"], themes=spec.themes)
    b = code(["my bill"], themes={"bill": ["bill"]})
    pd.testing.assert_frame_equal(a, b)
    assert cm.theme_labels(spec.themes) == {"bill": "B"}
    assert cm.theme_labels(THEMES) == {"wait": "Waiting 等待", "bill": "Bill 账单"}


@pytest.mark.parametrize(
    "themes,exc,message",
    [
        ({"has_comment": ["x"]}, ValueError, "code_themes: theme name 'has_comment' is reserved"),
        ({"a": []}, ValueError, "code_themes: theme 'a' needs a list of keywords, got \\[\\]"),
        ({"a": "bill"}, ValueError, "code_themes: theme 'a' needs a list of keywords, got 'bill'"),
        ({"a": ["ok", "!!"]}, ValueError, "code_themes: theme 'a': '!!' has no letters or digits"),
        ({"": ["x"]}, ValueError, "code_themes: a theme name must be non-empty text, got ''"),
        ("bill", TypeError, "code_themes: themes must be a list or a mapping of themes"),
    ],
)
def test_code_themes_validation(themes, exc, message):
    with pytest.raises(exc, match=message):
        code(["x"], themes=themes)


def test_code_themes_validation_of_arguments():
    data = pd.DataFrame({"comment": ["a"]})
    with pytest.raises(KeyError, match="code_themes: comment column 'text' is not in the data"):
        cm.code_themes(data, column="text", themes=THEMES)
    with pytest.raises(
        ValueError, match="code_themes: chinese_match='regex'; use one of 'substring', 'token'"
    ):
        cm.code_themes(data, column="comment", themes=THEMES, chinese_match="regex")
    with pytest.raises(TypeError, match="code_themes: data must be a pandas DataFrame, got list"):
        cm.code_themes(["a"], column="comment")
    with pytest.raises(ValueError, match="code_themes: theme 'a' is given twice"):
        cm.code_themes(data, column="comment", themes=[_T("a"), _T("a")])


class _T:
    def __init__(self, name):
        self.name, self.label, self.keywords = name, name, ["x"]


def test_keywords_never_act_as_patterns():
    # regex and RE2 metacharacters in (Chinese substring) keywords are literals
    out = code(
        ["信号.差", "信号x差", "(账单)", "账单", "费+", "费费", "a|b"],
        themes={"t": ["信号.差", "(账单)", "费+", "a|b信号"]},
    )
    assert out["t"].tolist() == [True, False, True, False, True, False, False]
    # Latin keywords are words: punctuation in them is dropped like in the comments
    assert code(["see (c)", "c.d"], themes={"t": ["(c)"]})["t"].tolist() == [True, True]


# --------------------------------------------------------------------------------------
# Design-based shares
# --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def survey():
    rng = np.random.default_rng(11)
    n = 1200
    data = pd.DataFrame(
        {
            "wave": rng.choice(["Q1", "Q2", "Q3"], n),
            "region": rng.choice(["n", "s", "e"], n),
            "w": rng.lognormal(0, 0.4, n),
            "osat": rng.integers(1, 11, n).astype(float),
        }
    )
    has = rng.random(n) < 0.4
    m_wait = has & (rng.random(n) < np.where(data["wave"] == "Q3", 0.45, 0.15))
    m_bill = has & (rng.random(n) < 0.2)
    text = np.where(has, "great app", "")
    text = np.where(m_bill, "my bill", text)
    text = np.where(m_wait, np.where(m_bill, "on hold about my bill", "on hold"), text)
    data["comment"] = text
    data.loc[m_wait, "osat"] = np.clip(data.loc[m_wait, "osat"] - 2, 1, 10)
    data.loc[rng.random(n) < 0.05, "osat"] = np.nan
    coded = cm.code_themes(data, column="comment", themes=THEMES)
    return data, coded


def test_shares_srs_by_hand(survey):
    data, coded = survey
    out = cm.theme_shares(data, coded=coded, labels=cm.theme_labels(THEMES))
    assert out["theme"].tolist() == ["wait", "bill", "no_theme"]
    assert out["theme_label"].tolist() == ["Waiting 等待", "Bill 账单", "No theme matched"]
    has = coded["has_comment"].to_numpy()
    N, nd = len(data), has.sum()
    for row in out.itertuples():
        y = coded[row.theme].to_numpy()[has]
        p = y.mean()
        # domain of an SRS with replacement: z_i = (y_i - p) / n_d in the domain, 0 outside
        se = np.sqrt(N / (N - 1) * p * (1 - p) / nd)
        assert row.n == nd and row.count == y.sum() and row.among == "commented"
        assert row.estimate == pytest.approx(p, rel=1e-12)
        assert row.se == pytest.approx(se, rel=1e-10)
        # logit interval with t on the design df (svyciprop): df = commenters - 1 stratum
        q = stats.t.ppf(0.975, nd - 1)
        eta, s = np.log(p / (1 - p)), se / (p * (1 - p))
        assert row.df == nd - 1
        assert row.ci_low == pytest.approx(1 / (1 + np.exp(-(eta - q * s))), rel=1e-10)
        assert row.ci_high == pytest.approx(1 / (1 + np.exp(-(eta + q * s))), rel=1e-10)


def test_shares_of_all_respondents_textbook_se(survey):
    data, coded = survey
    out = cm.theme_shares(data, coded=coded, among="all").set_index("theme")
    n = len(data)
    p = coded["wait"].mean()
    assert out.loc["wait", "n"] == n and out.loc["wait", "among"] == "all"
    assert out.loc["wait", "estimate"] == pytest.approx(p)
    # the textbook SE of a proportion from an SRS: sqrt(p (1 - p) / (n - 1))
    assert out.loc["wait", "se"] == pytest.approx(np.sqrt(p * (1 - p) / (n - 1)), rel=1e-10)


def test_weighted_shares_by_group_by_hand(survey):
    data, coded = survey
    design = SurveyDesign(weight="w")
    out = cm.theme_shares(data, coded=coded, by="wave", design=design)
    assert out["wave"].tolist() == ["Q1"] * 3 + ["Q2"] * 3 + ["Q3"] * 3
    N = len(data)
    for row in out.itertuples():
        d = (data["wave"] == row.wave).to_numpy() & coded["has_comment"].to_numpy()
        w, y = data["w"].to_numpy()[d], coded[row.theme].to_numpy()[d].astype(float)
        W = w.sum()
        p = (w * y).sum() / W
        z = w * (y - p) / W  # linearised influence values, 0 outside the domain
        se = np.sqrt(N / (N - 1) * ((z**2).sum() - z.sum() ** 2 / N))
        assert row.estimate == pytest.approx(p, rel=1e-12)
        assert row.se == pytest.approx(se, rel=1e-10)
        assert row.n_weighted == pytest.approx(W) and row.count == y.sum()
        assert row.n_effective == pytest.approx(W**2 / (w**2).sum())


def test_shares_agree_with_survey_mean_under_strata(survey):
    data, coded = survey
    design = SurveyDesign(weight="w", strata="region")
    out = cm.theme_shares(data, coded=coded, by="wave", design=design)
    work = data.assign(ind=np.where(coded["has_comment"], coded["bill"].astype(float), np.nan))
    ref = survey_mean(work, items="ind", by="wave", design=design)
    mine = out[out["theme"] == "bill"].reset_index(drop=True)
    for col in ("n", "n_weighted", "estimate", "se", "deff"):
        np.testing.assert_allclose(mine[col].to_numpy(float), ref[col].to_numpy(float))


def test_comment_rate(survey):
    data, coded = survey
    out = cm.comment_rate(data, coded=coded, by="wave")
    for row in out.itertuples():
        d = data["wave"] == row.wave
        assert row.estimate == pytest.approx(coded.loc[d, "has_comment"].mean())
        assert row.n == d.sum() and row.theme == "has_comment" and row.among == "all"


def test_share_validation(survey):
    data, coded = survey
    with pytest.raises(
        ValueError, match="theme_shares: among='everyone'; use one of 'commented', 'all'"
    ):
        cm.theme_shares(data, coded=coded, among="everyone")
    with pytest.raises(ValueError, match="theme_shares: confidence must be in \\(0, 1\\), got 95"):
        cm.theme_shares(data, coded=coded, confidence=95)
    with pytest.raises(ValueError, match="theme_shares: coded does not have the rows of data"):
        cm.theme_shares(data, coded=coded.iloc[:10])
    with pytest.raises(ValueError, match="theme_shares: coded must be the table of code_themes"):
        cm.theme_shares(data, coded=coded.drop(columns="has_comment"))
    with pytest.raises(ValueError, match="theme_shares: coded column 'wait' must be True/False"):
        cm.theme_shares(data, coded=coded.astype({"wait": float}))
    with pytest.raises(KeyError, match="theme_shares: column 'segment' is not in the data"):
        cm.theme_shares(data, coded=coded, by="segment")
    with pytest.raises(TypeError, match="theme_shares: design must be a SurveyDesign, got str"):
        cm.theme_shares(data, coded=coded, design="w")


# --------------------------------------------------------------------------------------
# Differences, changes, rising themes
# --------------------------------------------------------------------------------------
def test_difference_srs_by_hand(survey):
    data, coded = survey
    out = cm.theme_differences(data, coded=coded, by="wave", values=("Q1", "Q3"))
    row = out.set_index("theme").loc["wait"]
    has = coded["has_comment"].to_numpy()
    N = len(data)
    parts = []
    for wave in ("Q1", "Q3"):
        d = has & (data["wave"] == wave).to_numpy()
        y = coded["wait"].to_numpy()[d]
        parts.append((y.mean(), d.sum()))
    (p1, n1), (p2, n2) = parts
    # SRS: the two domains share no PSU, their covariance is 0
    se = np.sqrt(N / (N - 1) * (p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2))
    assert (row.value_1, row.value_2, row.n_1, row.n_2) == ("Q1", "Q3", n1, n2)
    assert row.estimate == pytest.approx(p2 - p1) and row.se == pytest.approx(se, rel=1e-10)
    assert row.df == n1 + n2 - 2
    assert row.p_value == pytest.approx(2 * stats.t.sf(abs((p2 - p1) / se), n1 + n2 - 2))
    holm = multipletests(out["p_value"], method="holm")[1]
    np.testing.assert_allclose(out["p_adjusted"], holm)
    assert bool(row.significant) == (row.p_adjusted < 0.05)


@pytest.mark.parametrize(
    "design",
    [None, SurveyDesign(weight="w"), SurveyDesign(weight="w", strata="region")],
    ids=["srs", "weights", "strata"],
)
def test_differences_agree_with_domain_difference(survey, design):
    data, coded = survey
    out = cm.theme_differences(
        data, coded=coded, by="wave", values=("Q2", "Q3"), within="region", design=design
    )
    work = data.assign(ind=np.where(coded["has_comment"], coded["wait"].astype(float), np.nan))
    ref = domain_difference(
        work, items="ind", by="wave", values=("Q2", "Q3"), within="region", design=design
    )
    mine = out[out["theme"] == "wait"].reset_index(drop=True)
    assert mine["region"].tolist() == ref["region"].tolist()
    for col in ("n_1", "n_2", "estimate_1", "estimate_2", "estimate", "se", "df", "p_value",
                "ci_low", "ci_high"):  # fmt: skip
        np.testing.assert_allclose(mine[col].to_numpy(float), ref[col].to_numpy(float))
    # one family per region: holm over that region's themes
    for _, g in out.groupby("region"):
        np.testing.assert_allclose(g["p_adjusted"], multipletests(g["p_value"], method="holm")[1])


def test_clustered_difference_agrees_with_domain_difference(survey):
    data, coded = survey
    data = data.assign(psu=np.arange(len(data)) // 6)
    design = SurveyDesign(weight="w", cluster="psu")
    out = cm.theme_differences(data, coded=coded, by="wave", values=("Q1", "Q2"), design=design)
    work = data.assign(ind=np.where(coded["has_comment"], coded["bill"].astype(float), np.nan))
    ref = domain_difference(work, items="ind", by="wave", values=("Q1", "Q2"), design=design)
    mine = out[out["theme"] == "bill"]
    for col in ("estimate", "se", "df", "p_value"):
        assert mine[col].iloc[0] == pytest.approx(ref[col].iloc[0], rel=1e-10)


def test_changes_find_the_planted_rise(survey):
    data, coded = survey
    design = SurveyDesign(weight="w", strata="region")
    ch = cm.theme_changes(data, coded=coded, by="wave", values=["Q1", "Q2", "Q3"], design=design)
    assert list(zip(ch["value_1"], ch["value_2"], ch["theme"], strict=True)) == [
        ("Q1", "Q2", "wait"), ("Q1", "Q2", "bill"), ("Q2", "Q3", "wait"), ("Q2", "Q3", "bill"),
    ]  # fmt: skip
    got = ch.set_index(["value_2", "theme"])
    assert got.loc[("Q3", "wait"), "direction"] == "rise"  # planted: 15% -> 45%
    assert got.loc[("Q3", "bill"), "direction"] == ""
    assert got.loc[("Q2", "wait"), "direction"] == ""
    rise = cm.rising_themes(ch)
    assert rise["theme"].tolist() == ["wait"] and rise["value_2"].tolist() == ["Q3"]
    assert cm.rising_themes(ch, value="Q2").empty
    # each wave pair is its own family
    q3 = ch[ch["value_2"] == "Q3"]
    np.testing.assert_allclose(q3["p_adjusted"], multipletests(q3["p_value"], method="holm")[1])
    # a reversed order turns the rise into a fall
    back = cm.theme_changes(data, coded=coded, by="wave", values=["Q3", "Q2"], design=design)
    assert back.set_index("theme").loc["wait", "direction"] == "fall"


def test_insignificant_changes_are_not_called_changes(survey):
    data, coded = survey
    ch = cm.theme_changes(data, coded=coded, by="wave", correction="bonferroni", alpha=1e-12)
    assert (ch["direction"] == "").all() and not ch["significant"].any()


def test_difference_validation(survey):
    data, coded = survey
    with pytest.raises(ValueError, match="theme_differences: by column 'wave' has 3 values"):
        cm.theme_differences(data, coded=coded, by="wave")
    with pytest.raises(ValueError, match="theme_differences: by column 'wave' has no value 'Q9'"):
        cm.theme_differences(data, coded=coded, by="wave", values=("Q1", "Q9"))
    with pytest.raises(ValueError, match="theme_differences: values must be two values"):
        cm.theme_differences(data, coded=coded, by="wave", values=("Q1", "Q2", "Q3"))
    with pytest.raises(ValueError, match="theme_differences: by must be one column name"):
        cm.theme_differences(data, coded=coded, by=["wave"])
    with pytest.raises(ValueError, match="theme_differences: column 'wave' is both by and within"):
        cm.theme_differences(data, coded=coded, by="wave", values=("Q1", "Q2"), within="wave")
    with pytest.raises(
        ValueError, match="theme_differences: correction='sidak'; use one of 'holm', 'fdr_bh'"
    ):
        cm.theme_differences(data, coded=coded, by="wave", values=("Q1", "Q2"), correction="sidak")
    with pytest.raises(ValueError, match="theme_changes: alpha must be in \\(0, 1\\), got 5"):
        cm.theme_changes(data, coded=coded, by="wave", alpha=5)
    with pytest.raises(
        ValueError, match="theme_changes: values of 'wave' are listed more than once"
    ):
        cm.theme_changes(data, coded=coded, by="wave", values=["Q1", "Q1"])
    with pytest.raises(ValueError, match="theme_changes: by column 'wave' needs two values"):
        cm.theme_changes(data, coded=coded, by="wave", values=["Q1"])
    with pytest.raises(
        ValueError, match="rising_themes: changes must be the table of theme_changes"
    ):
        cm.rising_themes(pd.DataFrame({"x": [1]}))
    ch = cm.theme_changes(data, coded=coded, by="wave")
    with pytest.raises(ValueError, match="rising_themes: 'Q7' is not a wave of the table"):
        cm.rising_themes(ch, value="Q7")


def test_one_wave_or_no_themes_say_so_without_crashing(survey):
    data, coded = survey
    one = data[data["wave"] == "Q1"]
    with pytest.raises(ValueError, match="theme_changes: by column 'wave' needs two values"):
        cm.theme_changes(one, coded=coded.loc[one.index], by="wave")
    bare = coded[["has_comment"]]
    assert cm.theme_shares(data, coded=bare).empty
    assert cm.theme_changes(data, coded=bare, by="wave").empty
    assert cm.theme_outcomes(data, coded=bare, outcome="osat").empty
    assert cm.example_verbatims(data, column="comment", coded=bare).empty


# --------------------------------------------------------------------------------------
# Themes as drivers
# --------------------------------------------------------------------------------------
def test_outcomes_srs_by_hand(survey):
    data, coded = survey
    out = cm.theme_outcomes(data, coded=coded, outcome="osat").set_index("theme")
    row = out.loc["wait"]
    has, m = coded["has_comment"].to_numpy(), coded["wait"].to_numpy()
    y = data["osat"].to_numpy()
    ok = ~np.isnan(y)
    a, b = y[has & m & ok], y[has & ~m & ok]
    N = len(data)
    se_a = np.sqrt(N / (N - 1) * a.var() / len(a))
    se_b = np.sqrt(N / (N - 1) * b.var() / len(b))
    assert (row.n_mention, row.n_other, row["item"]) == (len(a), len(b), "osat")
    assert row.mean_mention == pytest.approx(a.mean()) and row.mean_other == pytest.approx(b.mean())
    assert row.mean_mention_ci_low == pytest.approx(a.mean() - 1.959963984540054 * se_a)
    assert row.estimate == pytest.approx(a.mean() - b.mean())
    assert row.se == pytest.approx(np.hypot(se_a, se_b), rel=1e-10)
    assert row.df == len(a) + len(b) - 2
    # planted: those who mention waiting are about 2 points less satisfied
    assert row.estimate < -1 and row.significant
    np.testing.assert_allclose(out["p_adjusted"], multipletests(out["p_value"], method="holm")[1])


@pytest.mark.parametrize("among", ["commented", "all"])
def test_outcomes_agree_with_estimation(survey, among):
    data, coded = survey
    design = SurveyDesign(weight="w", strata="region")
    out = cm.theme_outcomes(
        data, coded=coded, outcome="osat", by="wave", design=design, among=among
    )
    mine = out[out["theme"] == "bill"].reset_index(drop=True)
    g = np.where(coded["bill"], "m", "o").astype(object)
    if among == "commented":
        g[~coded["has_comment"].to_numpy()] = None
    work = data.assign(g=g)
    ref = domain_difference(
        work, items="osat", by="g", values=("o", "m"), within="wave", design=design
    )
    for col in ("estimate", "se", "df", "p_value", "ci_low", "ci_high"):
        np.testing.assert_allclose(mine[col].to_numpy(float), ref[col].to_numpy(float))
    means = survey_mean(work, items="osat", by=["wave", "g"], design=design)
    m = means[means["g"] == "m"].reset_index(drop=True)
    np.testing.assert_allclose(mine["mean_mention"], m["estimate"])
    np.testing.assert_allclose(mine["mean_mention_ci_high"], m["ci_high"])
    np.testing.assert_array_equal(mine["n_mention"], m["n"])
    assert (mine["among"] == among).all()


def test_outcome_of_a_theme_nobody_mentions(survey):
    data, coded = survey
    coded = coded.assign(wait=False)
    out = cm.theme_outcomes(data, coded=coded, outcome="osat").set_index("theme")
    assert out.loc["wait", "n_mention"] == 0
    assert np.isnan(out.loc["wait", "estimate"]) and not out.loc["wait", "significant"]
    assert np.isfinite(out.loc["bill", "estimate"])


def test_outcome_validation(survey):
    data, coded = survey
    with pytest.raises(KeyError, match="theme_outcomes: column 'nps' is not in the data"):
        cm.theme_outcomes(data, coded=coded, outcome="nps")
    with pytest.raises(
        ValueError, match="theme_outcomes: outcome column 'comment' must be numeric"
    ):
        cm.theme_outcomes(data, coded=coded, outcome="comment")
    with pytest.raises(
        ValueError, match="theme_outcomes: column 'osat' is both the outcome and a by"
    ):
        cm.theme_outcomes(data, coded=coded, outcome="osat", by="osat")
    bad = data.assign(osat=data["osat"].where(data.index != 5, np.inf))
    with pytest.raises(ValueError, match="theme_outcomes: outcome column 'osat' has the value inf"):
        cm.theme_outcomes(bad, coded=coded, outcome="osat")


# --------------------------------------------------------------------------------------
# Frequent terms and the draft dictionary
# --------------------------------------------------------------------------------------
def test_frequent_terms_by_hand():
    data = pd.DataFrame(
        {
            "comment": ["The bill is wrong", "bill wrong again, bill!", "账单错误", "账单错误",
                        "call 13800138000", "-", "signal bad", "Bill wrong"],
            "w": [1.0, 2.0, 1.0, 1.0, 1.0, 5.0, 1.0, 3.0],
            "wave": ["a", "a", "a", "b", "b", "b", "b", "b"],
        }
    )  # fmt: skip
    out = cm.frequent_terms(data, column="comment", design=SurveyDesign(weight="w"), min_count=2)
    uni = out[out["ngram"] == 1].set_index("term")
    # 'bill' is in 3 comments (counted once each), weights 1 + 2 + 3 of commenters' 10
    assert uni.loc["bill", "count"] == 3 and uni.loc["bill", "share"] == pytest.approx(6 / 10)
    assert uni.loc["wrong", "count"] == 3
    assert uni.loc["账单", "count"] == 2 and uni.loc["账单", "share"] == pytest.approx(2 / 10)
    assert "the" not in uni.index and "13800138000" not in uni.index  # stop words, numbers
    assert "signal" not in uni.index  # used by one commenter only (< min_count)
    assert (out["n"] == 7).all()  # "-" is no comment
    bi = out[out["ngram"] == 2].set_index("term")
    assert bi.loc["bill wrong", "count"] == 2 and bi.loc["账单错误", "count"] == 2
    assert uni["rank"].tolist() == list(range(1, len(uni) + 1))
    assert uni["share"].is_monotonic_decreasing
    by = cm.frequent_terms(data, column="comment", by="wave", ngrams=[1], min_count=1, top=2)
    assert by["wave"].tolist() == ["a", "a", "b", "b"]
    assert by.set_index(["wave", "term"]).loc[("a", "bill"), "share"] == pytest.approx(2 / 3)


def test_frequent_terms_validation():
    data = pd.DataFrame({"comment": ["a b"]})
    with pytest.raises(ValueError, match="frequent_terms: ngrams=\\[3\\]: use 1, 2 or both"):
        cm.frequent_terms(data, column="comment", ngrams=[3])
    with pytest.raises(ValueError, match="frequent_terms: top must be an integer >= 1, got 0"):
        cm.frequent_terms(data, column="comment", top=0)
    with pytest.raises(ValueError, match="frequent_terms: min_count must be an integer >= 1"):
        cm.frequent_terms(data, column="comment", min_count=0.5)
    with pytest.raises(KeyError, match="frequent_terms: by column 'wave' is not in the data"):
        cm.frequent_terms(data, column="comment", by="wave")
    empty = cm.frequent_terms(pd.DataFrame({"comment": ["-", ""]}), column="comment")
    assert empty.empty and list(empty.columns) == ["ngram", "rank", "term", "count", "n", "share"]


def test_draft_themes_is_a_valid_comments_section():
    data = pd.DataFrame(
        {"comment": ["hotline waiting"] * 6 + ["账单错误"] * 5 + ["hotline rude"] * 5}
    )
    terms = cm.frequent_terms(data, column="comment")
    text = cm.draft_themes(terms, top=4)
    section = yaml.safe_load(text)["comments"]
    spec = CommentsSpec.model_validate(section)
    # "hotline waiting" and "hotline rude" contain the more frequent "hotline": left out
    assert [t.keywords for t in spec.themes] == [["hotline"], ["waiting"], ["rude"], ["账单"]]
    assert [t.name for t in spec.themes] == ["hotline", "waiting", "rude", "theme_04"]
    assert "# 11 comments, 68.8% of commenters (weighted)" in text
    assert yaml.safe_load(cm.draft_themes(terms.iloc[:0]))["comments"]["themes"] == []
    with pytest.raises(ValueError, match="draft_themes: terms must be the table of frequent_terms"):
        cm.draft_themes(pd.DataFrame({"x": [1]}))
    with pytest.raises(ValueError, match="draft_themes: top must be an integer >= 1, got 0"):
        cm.draft_themes(terms, top=0)


# --------------------------------------------------------------------------------------
# Verbatims and display safety
# --------------------------------------------------------------------------------------
HOSTILE = [
    "Bill said <b>45</b> <script>alert('x')</script> so I waited",
    '=HYPERLINK("http://evil.example/x","refund") my bill',
    "+cmd|' /C calc'!A0 bill",
    "@SUM(1+1) bill",
    "-2+3 bill",
    "[click here](javascript:alert(1)) bill",
    "![img](http://evil.example/p.png) bill",
    "mail li.wei@example.com or call +86 138 0013 8000 about the bill",
    "call (555) 123-4567 about my bill",
    "身份证 11010519491231002X 账单",
    "see www.evil.example/x for my bill",
    "<img src=x onerror=alert(1)> bill",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_display_text_defuses_hostile_comments(text):
    out = cm.display_text(text)
    # no markup character is left as such: no tag, link, image, emphasis or formula
    assert not set(out) & set('<>[]()*_`=+@"|!'), out
    assert not out.startswith(("=", "+", "-", "@"))
    assert "://" not in out and "javascript:" not in out
    # what a reader sees (references decoded): the respondent's words, personal data gone
    seen = html.unescape(out)
    for secret in ("li.wei@example.com", "138 0013 8000", "123-4567", "11010519491231002X"):
        assert secret not in seen


def test_display_text_uses_the_safe_output_layer():
    from analysis_helpers.safe_output import escape_markdown, redact, spreadsheet_safe

    for text in [*HOSTILE, "5G 信号差，45.50 yuan。", "  many\n\nlines "]:
        expected = escape_markdown(spreadsheet_safe(redact(" ".join(text.split()))))
        assert cm.display_text(text) == expected
    seen = lambda t: html.unescape(cm.display_text(t))  # noqa: E731
    assert seen("a <b> & c") == "a <b> & c"  # shown as typed, never as markup
    assert seen("mail a.b@example.com") == "mail [email]"
    assert seen("电话１３８００１３８０００，邮箱 li＠example．com") == "电话[phone]，邮箱 [email]"
    assert seen("=1+1") == "'=1+1"
    assert seen("5G 信号差，45.50 yuan。") == "5G 信号差，45.50 yuan。"  # Chinese punctuation kept
    assert seen("  many\n\nlines ") == "many lines"


def test_verbatims_are_safe_reproducible_and_follow_the_rule():
    texts = HOSTILE + [
        "bill", "my bill is wrong again this month", "the bill is too long to read now",
        "bill and waiting on hold forever", "账单看不懂希望更清楚", "bill wrong",
    ]  # fmt: skip
    data = pd.DataFrame({"comment": texts + texts})  # duplicates are shown once
    coded = cm.code_themes(data, column="comment", themes=THEMES)
    a = cm.example_verbatims(data, column="comment", coded=coded, n=4, random_state=3)
    b = cm.example_verbatims(data, column="comment", coded=coded, n=4, random_state=3)
    pd.testing.assert_frame_equal(a, b)
    assert list(a.columns) == ["theme", "theme_label", "rank", "text", "words", "themes"]
    bill = a[a["theme"] == "bill"]
    assert bill["rank"].tolist() == [1, 2, 3, 4]
    assert bill["text"].is_unique
    assert (bill["words"] >= 3).all()  # informative ones exist, so the short "bill" is not shown
    assert (bill["themes"] == 1).all()  # focused examples before comments of two themes
    for text in a["text"]:
        assert not set(text) & set("<>[]()@="), text
    # every theme's verbatim comes from a respondent who mentions it
    all_ = cm.example_verbatims(data, column="comment", coded=coded, n=50)
    assert set(all_.loc[all_["theme"] == "wait", "text"]) == {
        cm.display_text(t) for t in texts if coded.loc[texts.index(t), "wait"]
    }


def test_verbatims_are_shown_shortest_first():
    texts = [
        "the bill arrived late again this month",
        "my bill is wrong every month",
        "bill price far too high",
        "账单看不懂希望更清楚",
        "a very long comment about the bill " + "and more " * 40,
    ]
    data = pd.DataFrame({"comment": texts})
    coded = cm.code_themes(data, column="comment", themes={"bill": ["bill", "账单"]})
    out = cm.example_verbatims(data, column="comment", coded=coded, n=4, random_state=1)
    # the 300+ character comment is not informative (max_chars), the others are
    assert sorted(out["text"], key=len) == out["text"].tolist()
    assert set(out["text"]) == set(texts[:4])
    other = cm.example_verbatims(data, column="comment", coded=coded, n=2, random_state=2)
    assert len(other) == 2 and set(other["text"]) <= set(texts[:4])


def test_verbatims_fall_back_to_short_comments():
    data = pd.DataFrame({"comment": ["bill", "BILL", "账单"]})
    coded = cm.code_themes(data, column="comment", themes=THEMES)
    out = cm.example_verbatims(data, column="comment", coded=coded, n=3)
    assert out["text"].tolist() == ["账单", "bill"]  # "BILL" is the same comment as "bill"


def test_verbatim_validation(survey):
    data, coded = survey
    with pytest.raises(ValueError, match="example_verbatims: n must be an integer >= 1, got 0"):
        cm.example_verbatims(data, column="comment", coded=coded, n=0)
    with pytest.raises(ValueError, match="example_verbatims: max_chars must be an integer >= 1"):
        cm.example_verbatims(data, column="comment", coded=coded, max_chars=True)
    with pytest.raises(KeyError, match="example_verbatims: comment column 'x' is not in the data"):
        cm.example_verbatims(data, column="x", coded=coded)


# --------------------------------------------------------------------------------------
# The study file's comments section
# --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def demo_raw() -> dict:
    return yaml.safe_load(DEMO.read_text(encoding="utf-8"))


SECTION = {
    "column": "comment",
    "outcome": "osat",
    "languages": ["en", "zh"],
    "no_comment": ["same as above"],
    "themes": [
        {"name": "hotline_wait", "label": "Hotline waiting 热线等待",
         "keywords": ["hotline", "on hold", "wait*", "热线", "等待", "排队"]},
        {"name": "billing", "label": "Billing 账单", "keywords": ["bill*", "账单", "扣费"]},
    ],
}  # fmt: skip


def load_with(tmp_path, raw, mutate=None):
    raw = copy.deepcopy(raw)
    raw["comments"] = copy.deepcopy(SECTION)
    if mutate:
        mutate(raw)
    (tmp_path / "config").mkdir(exist_ok=True)
    path = tmp_path / "config" / "study.yml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return load_study(path, check_files=False)


def test_comments_section_loads_and_resolves(tmp_path, demo_raw):
    study = load_with(tmp_path, demo_raw)
    s = cm.settings_from_study(study)
    assert (s.column, s.outcome, s.languages, s.chinese_match) == (
        "comment", "osat", ("en", "zh"), "substring",
    )  # fmt: skip
    assert s.labels == {
        "no_theme": "No theme matched",  # in the report's language
        "hotline_wait": "Hotline waiting 热线等待",
        "billing": "Billing 账单",
    }
    assert s.no_comment == ("same as above",)
    # defaults: the only text column, the overall KPI, no themes
    bare = load_with(tmp_path, demo_raw, lambda r: r.update(comments={}))
    s = cm.settings_from_study(bare)
    assert (s.column, s.outcome, s.themes) == ("comment", "osat", ())
    none = load_with(tmp_path, demo_raw, lambda r: r.pop("comments"))
    assert cm.settings_from_study(none).column == "comment"
    no_text = load_with(
        tmp_path, demo_raw, lambda r: (r.pop("comments"), r["data"].update(text_columns=[]))
    )
    assert cm.settings_from_study(no_text) is None


def _theme(k):
    return lambda r: r["comments"]["themes"][k]


COMMENT_CASES = [
    ("column not a text column", lambda r: r["comments"].update(column="osat"),
     "comments.column: 'osat' is not one of data.text_columns ['comment'] (list the "
     "open-ended column there)"),
    ("no text columns", lambda r: (r["comments"].pop("column"), r["data"].update(text_columns=[])),
     "comments.column: data.text_columns lists no column; list the open-ended column there"),
    ("two text columns", lambda r: (r["comments"].pop("column"),
                                    r["data"].update(text_columns=["comment", "other"])),
     "comments.column: data.text_columns lists 2 columns ['comment', 'other']; name the one "
     "to analyse"),
    ("unknown outcome", lambda r: r["comments"].update(outcome="nps"),
     "comments.outcome: unknown item 'nps'"),
    ("bad theme name", lambda r: _theme(0)(r).update(name="hotline wait"),
     "comments.themes[0].name: String should match pattern '^[A-Za-z_][A-Za-z0-9_]*$'"),
    ("reserved theme name", lambda r: _theme(1)(r).update(name="no_theme"),
     "comments.themes[1].name: theme name 'no_theme' is reserved (reserved: has_comment, "
     "no_theme)"),
    ("empty label", lambda r: _theme(0)(r).update(label=""),
     "comments.themes[0].label: String should have at least 1 character"),
    ("no keywords", lambda r: _theme(0)(r).update(keywords=[]),
     "comments.themes[0].keywords: List should have at least 1 item after validation, not 0"),
    ("keyword without letters", lambda r: _theme(1)(r)["keywords"].append("!!!"),
     "comments.themes[1].keywords: [3] '!!!' has no letters or digits to match"),
    ("star inside a keyword", lambda r: _theme(1)(r)["keywords"].insert(0, "bi*ll"),
     "comments.themes[1].keywords: [0] 'bi*ll': '*' may only end a keyword (a word prefix, "
     "e.g. 'bill*')"),
    ("star on Chinese", lambda r: _theme(1)(r)["keywords"].append("账*"),
     "comments.themes[1].keywords: [3] '账*': '*' is for Latin-script words; a Chinese "
     "keyword already matches inside longer words"),
    ("repeated keyword", lambda r: _theme(0)(r)["keywords"].append("On  Hold"),
     "comments.themes[0].keywords: [6] 'On  Hold' is the same keyword as [1] 'on hold'"),
    ("keyword not text", lambda r: _theme(0)(r)["keywords"].append(5),
     "comments.themes[0].keywords[6]: Input should be a valid string"),
    ("repeated theme name", lambda r: _theme(1)(r).update(name="hotline_wait"),
     "comments: themes[1].name: 'hotline_wait' is also themes[0].name"),
    ("repeated theme label", lambda r: _theme(1)(r).update(label="Hotline waiting 热线等待"),
     "comments: themes[1].label: 'Hotline waiting 热线等待' is also themes[0].label"),
    ("unknown language", lambda r: r["comments"].update(languages=["en", "jp"]),
     "comments.languages[1]: Input should be 'en', 'zh', 'de', 'fr' or 'es'"),
    ("no language", lambda r: r["comments"].update(languages=[]),
     "comments.languages: List should have at least 1 item after validation, not 0"),
    ("bad chinese_match", lambda r: r["comments"].update(chinese_match="regex"),
     "comments.chinese_match: Input should be 'substring' or 'token'"),
    ("empty no-comment answer", lambda r: r["comments"].update(no_comment=[""]),
     "comments.no_comment[0]: String should have at least 1 character"),
    ("unknown key", lambda r: r["comments"].update(theme=[]),
     "comments.theme: unexpected key (check the spelling; see docs/study-file.md)"),
]  # fmt: skip


@pytest.mark.parametrize(
    "mutate,message", [c[1:] for c in COMMENT_CASES], ids=[c[0] for c in COMMENT_CASES]
)
def test_comments_section_errors(tmp_path, demo_raw, mutate, message):
    with pytest.raises(StudyFileError) as err:
        load_with(tmp_path, demo_raw, mutate)
    lines = str(err.value).splitlines()
    assert f"config/study.yml: {message}" in [ln[ln.index("config/study.yml") :] for ln in lines]


# --------------------------------------------------------------------------------------
# The demo's comments: a planted signal the analysis finds
# --------------------------------------------------------------------------------------
def test_demo_comments_plant_their_themes():
    rng = np.random.default_rng(5)
    n = 6000
    ratings = {item: rng.integers(1, 6, n) for _, item, _, _ in cm.DEMO_CLAUSES}
    ratings["val_price"] = rng.integers(1, 11, n)
    has = rng.random(n) < 0.3
    text = cm.demo_comments(ratings, has_comment=has, rng=np.random.default_rng(1))
    again = cm.demo_comments(ratings, has_comment=has, rng=np.random.default_rng(1))
    assert (text == again).all() and (text[~has] == "").all()
    data = pd.DataFrame({"comment": text, "low_wait": ratings["hot_wait"] <= 2})
    themes = {
        "hotline_wait": ["hotline", "on hold", "热线"],
        "signal": ["signal", "coverage", "信号"],
    }
    coded = cm.code_themes(data, column="comment", themes=themes)
    assert 0.02 < 1 - coded["has_comment"].sum() / has.sum() < 0.08  # junk answers
    assert data["comment"].str.contains("<script>", regex=False).any()
    assert data["comment"].str.contains("[\u4e00-\u9fff]", regex=True).any()
    share = cm.theme_shares(data.assign(g=data["low_wait"]), coded=coded, by="g")
    wait = share[share["theme"] == "hotline_wait"].set_index("g")["estimate"]
    # planted: 6% + 50% after a low waiting-time rating, 6% otherwise
    assert wait[True] == pytest.approx(0.56, abs=0.06) and wait[False] == pytest.approx(
        0.06, abs=0.03
    )
    sig = share[share["theme"] == "signal"].set_index("g")["estimate"]
    assert 0.6 < sig[True] / sig[False] < 1.6  # signal does not depend on the hotline rating
    assert (share.set_index("theme").loc["no_theme", "estimate"] > 0.05).all()


def test_the_documented_example_section_is_valid():
    text = (ROOT / "docs" / "study-file.md").read_text(encoding="utf-8")
    part = text[text.index("## `comments`") :]
    block = part[
        part.index("```yaml") + len("```yaml") : part.index("```", part.index("```yaml") + 7)
    ]
    spec = CommentsSpec.model_validate(yaml.safe_load(block)["comments"])
    assert [t.name for t in spec.themes] == [
        "hotline_wait", "signal", "billing", "price", "staff", "offers",
    ]  # fmt: skip
    # it codes every theme of the demo's clauses
    clauses = {theme: texts for theme, _, _, texts in cm.DEMO_CLAUSES}
    data = pd.DataFrame({"comment": [t for texts in clauses.values() for t in texts]})
    coded = cm.code_themes(data, column="comment", themes=spec.themes)
    k = 0
    for theme, texts in clauses.items():
        assert coded[theme].iloc[k : k + len(texts)].all(), theme
        k += len(texts)
    assert not coded["no_theme"].any()
    other = cm.code_themes(pd.DataFrame({"comment": list(cm.DEMO_OTHER)}), column="comment",
                           themes=spec.themes)  # fmt: skip
    assert other["no_theme"].all()


def test_remaining_argument_checks(survey):
    data, coded = survey
    with pytest.raises(TypeError, match="code_themes: column must be one column name, got"):
        cm.code_themes(data, column=["comment"])
    with pytest.raises(TypeError, match="frequent_terms: design must be a SurveyDesign, got str"):
        cm.frequent_terms(data, column="comment", design="w")
    with pytest.raises(ValueError, match="theme_changes: by must be one column name"):
        cm.theme_changes(data, coded=coded, by=["wave"])
    with pytest.raises(ValueError, match="theme_changes: column 'wave' is both by and within"):
        cm.theme_changes(data, coded=coded, by="wave", within=["region", "wave"])
    with pytest.raises(ValueError, match="theme_outcomes: outcome must be one column name"):
        cm.theme_outcomes(data, coded=coded, outcome=["osat"])
    with pytest.raises(ValueError, match="theme_outcomes: among='x'; use one of"):
        cm.theme_outcomes(data, coded=coded, outcome="osat", among="x")
    with pytest.raises(ValueError, match="example_verbatims: min_words must be an integer >= 0"):
        cm.example_verbatims(data, column="comment", coded=coded, min_words=-1)


def test_small_bases_are_flagged_with_the_kpis_rule(survey):
    from analysis_helpers.kpis import flag_small_bases

    data, coded = survey
    out = cm.theme_shares(data, coded=coded, by=["wave", "region"])
    small = out.assign(n=np.where(out.index % 3 == 0, 5, out["n"]))
    flagged = flag_small_bases(small, min_base=30, suppress_below=10)
    sup = flagged["flag"] == "suppressed"
    assert sup.sum() == (small["n"] < 10).sum() > 0
    assert flagged.loc[sup, ["estimate", "se", "ci_low", "ci_high"]].isna().all().all()
    assert flagged.loc[~sup, "estimate"].notna().all()


def test_repeated_index_labels_and_categorical_groups():
    data = pd.DataFrame(
        {
            "comment": ["my bill", "on hold", "-", "bill and hold", "great", "wait"],
            "wave": pd.Categorical(["b", "b", "a", "a", "b", "a"], categories=["b", "a"]),
            "osat": [3.0, 4, 5, 6, 7, 8],
        },
        index=[1, 1, 2, 2, 3, 3],
    )
    coded = cm.code_themes(data, column="comment", themes=THEMES)
    shares = cm.theme_shares(data, coded=coded, by="wave")
    assert shares["wave"].tolist() == ["b"] * 3 + ["a"] * 3  # the categories' order
    got = shares.set_index(["wave", "theme"])["estimate"]
    assert got[("b", "bill")] == pytest.approx(1 / 3) and got[("a", "wait")] == pytest.approx(1 / 2)
    ch = cm.theme_changes(data, coded=coded, by="wave")
    assert ch[["value_1", "value_2"]].drop_duplicates().values.tolist() == [["b", "a"]]
    out = cm.theme_outcomes(data, coded=coded, outcome="osat")
    assert out.set_index("theme").loc["bill", "mean_mention"] == pytest.approx(4.5)


def test_frequent_terms_of_hostile_comments_are_plain_words():
    data = pd.DataFrame({"comment": HOSTILE * 6})
    terms = cm.frequent_terms(data, column="comment", min_count=1, top=500)
    assert len(terms) > 20
    for term in terms["term"]:
        assert not set(term) & set('<>&"()[]=+@|*_`\\/:;!#'), term  # letters, digits, '

        assert not term.startswith(("=", "+", "-", "@"))
        assert any(ch.isalpha() for ch in term)
    assert not terms["term"].str.contains("138|8000|4567|0013", regex=True).any()
    draft = cm.draft_themes(terms, top=10)
    CommentsSpec.model_validate(yaml.safe_load(draft)["comments"])


def test_jieba_keeps_its_cache_inside_the_environment(tmp_path, monkeypatch):
    import tempfile

    from analysis_helpers import comments as cm

    shared = tmp_path / "shared-tmp"
    shared.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(shared))
    own = tmp_path / "env-cache"
    own.mkdir()
    monkeypatch.setattr(cm, "_jieba_cache_folder", lambda: own)
    monkeypatch.setattr(cm, "_JIEBA", None)
    cm._cut_han.cache_clear()
    assert cm.tokenize(["网络信号很差"]) == ["网络", "信号", "很差"]
    assert [p.name for p in own.iterdir()] == ["jieba.cache"]
    assert list(shared.iterdir()) == []
