"""Open-ended comments: customer voice grouped into themes and linked to satisfaction.

What the module does, in the order an analyst works:

1. **Normalise** every answer (:func:`normalize_comment`) and set the *no comment* answers
   aside (:func:`is_no_comment`; the rule is below).
2. **Tokenise** (:func:`tokenize`): Chinese with jieba (Sun 2012-2020, precise mode with its
   HMM for unknown words, the dictionary shipped with the package, so it works offline),
   Latin and other space-separated scripts by words; mixed Chinese/English comments are split
   into runs of each script first.
3. Without a theme dictionary, list the **frequent terms and phrases** (:func:`frequent_terms`,
   unigrams and bigrams with counts and weighted shares) and draft a dictionary from them
   (:func:`draft_themes`), which the analyst edits into the study file's ``comments`` section.
4. **Code the themes** (:func:`code_themes`): one True/False column per theme, a respondent
   mentions a theme when the comment contains one of its keywords (matching rules below).
5. **Theme shares** by segment and wave with design-based SEs (:func:`theme_shares`), tests
   between two segments or waves (:func:`theme_differences`), wave-over-wave changes
   (:func:`theme_changes`) and the themes that rise significantly (:func:`rising_themes`).
6. **Themes as drivers** (:func:`theme_outcomes`): mean satisfaction of those who mention a
   theme against those who do not, with design-based intervals and a corrected test.
7. **Example verbatims** per theme (:func:`example_verbatims`), chosen reproducibly, redacted
   and escaped for display.

Normalisation and the no-comment rule
-------------------------------------
Text is normalised by Unicode NFKC (full-width letters and digits become ASCII, ligatures
split), curly apostrophes become ``'``, case is folded (``str.casefold``: ``"Straße"`` ->
``"strasse"``) and runs of white space become one space. An answer is **no comment** when

* it is missing, empty or white space only;
* it has no letter of any script (only punctuation, symbols, digits or emoji: ``"-"``,
  ``"..."``, ``"0"``, ``"???"``);
* its letters and digits alone (spaces and punctuation dropped) are one of the junk answers
  of :data:`NO_COMMENT_ANSWERS` (``"n/a"``, ``"none"``, ``"nothing"``, ``"no comment"``,
  ``"无"``, ``"没有"``, ``"暂无"``, ``"无意见"``, ...) or of the ``no_comment`` list the study
  file adds (e.g. ``"same as above"``), normalised the same way.

A no-comment answer counts as no comment everywhere: it is never coded to a theme, never
counted in a base "of those who commented" and never shown as a verbatim.

Tokens and stop words
---------------------
Runs of Chinese characters (CJK unified ideographs, extensions and compatibility ideographs)
are segmented by jieba; everything else is split into words of letters and digits
(``"5G"`` -> ``"5g"``, ``"don't"`` stays one word, ``"wi-fi"`` -> ``"wi"``, ``"fi"``).
Japanese kana and other scripts written without spaces are kept as whole runs (a
limitation). Stop words (:data:`STOP_WORDS`, small lists for ``en``, ``zh``, ``de``, ``fr``,
``es``) are dropped only from frequent terms and from the word count that judges whether a
verbatim is informative; theme keywords are matched against every word.

Keyword matching
----------------
A keyword is a word or phrase in any language; no regular expressions, so a keyword can
never run code or blow up. Keywords are normalised like the comments.

* **Latin-script keywords** match whole words: ``"bill"`` matches "my bill" but not
  "billing"; a phrase ``"on hold"`` matches the words in that order. A trailing ``*`` makes
  the last word a prefix: ``"bill*"`` matches "bill", "bills", "billing".
* **Chinese keywords** (any keyword containing a Chinese character) match as substrings of
  the comment with white space removed (``chinese_match="substring"``, the default): robust
  to jieba cutting a keyword differently in context, but a short keyword also matches inside
  longer words (``"费"`` in ``"免费"``). ``chinese_match="token"`` instead requires the
  keyword's jieba words to appear as whole words, in order.

Limitations, as for any dictionary coding: no negation or sentiment (``"not slow"`` and
``"slow"`` both mention *speed*; ``"信号不好"`` and ``"信号很好"`` both mention *signal*) - a
theme is a topic, read it with the satisfaction of those who mention it
(:func:`theme_outcomes`); no spelling correction or stemming beyond the ``*`` prefix; a
comment can mention several themes, so shares of themes do not add up to 100%.

Bases of the shares
-------------------
``among="commented"`` (the default) estimates the share **of respondents who left a
comment** (a no-comment answer is outside the base): a domain estimate of a 0/1 indicator.
``among="all"`` estimates the share **of all respondents** (those without a comment count as
not mentioning the theme). Standard errors, intervals and tests come from the survey design
through :mod:`analysis_helpers.estimation` (Taylor linearisation, as R ``survey``): shares
are ``survey_mean`` of the indicators with logit intervals as ``svyciprop(method="logit")``,
differences are ``domain_difference`` (``svyttest``) of the same indicators.

Display safety
--------------
Every text this module returns for display (verbatims) goes through one function,
:func:`display_text`, built on :mod:`analysis_helpers.safe_output`: e-mail addresses, phone
numbers and ID numbers are redacted, every Markdown/HTML syntax character is escaped, and a
leading ``=``, ``+``, ``-``, ``@`` is quote-prefixed so that no spreadsheet reads it as a
formula. Frequent terms are made of letters and digits only, never all-digit words (phone
numbers, IDs).
"""

from __future__ import annotations

import contextlib
import logging
import re
import unicodedata
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

from ._checks import check_choice, check_confidence, check_frame
from ._design import logit_ci, normal_quantile
from .estimation import PreparedDesign, SurveyDesign, survey_mean, survey_proportion
from .safe_output import escape_markdown, redact, spreadsheet_safe
from .trend import adjust_p

if TYPE_CHECKING:
    from .study import Study

__all__ = [
    "NO_COMMENT_ANSWERS",
    "STOP_WORDS",
    "RESERVED_COLUMNS",
    "CommentSettings",
    "normalize_comment",
    "is_no_comment",
    "tokenize",
    "stop_words",
    "keyword_problem",
    "keyword_key",
    "theme_labels",
    "code_themes",
    "frequent_terms",
    "draft_themes",
    "comment_rate",
    "theme_shares",
    "theme_differences",
    "theme_changes",
    "rising_themes",
    "theme_outcomes",
    "example_verbatims",
    "display_text",
    "settings_from_study",
    "demo_comments",
]

#: columns of :func:`code_themes` besides the themes (theme names may not use them)
RESERVED_COLUMNS = ("has_comment", "no_theme")

#: answers that mean "no comment", compared without spaces and punctuation (see the module)
NO_COMMENT_ANSWERS: frozenset[str] = frozenset(
    {
        # English
        "na", "n a", "none", "nothing", "no", "nope", "nil", "null", "nothing to add",
        "nothing else", "no comment", "no comments", "not applicable", "no opinion",
        "dont know", "don't know", "idk", "x", "xx", "xxx", "asdf", "test",
        # Chinese
        "无", "没有", "暂无", "无意见", "没意见", "没有意见", "无建议", "没有建议", "暂时没有",
        "没有了", "无可奉告", "不知道", "不清楚", "同上", "略",
        # German, French, Spanish
        "keine", "nichts", "keine angabe", "rien", "aucun", "sans commentaire", "nada",
        "ninguno", "sin comentarios",
    }
)  # fmt: skip

#: small stop-word lists per language (dropped from frequent terms only)
STOP_WORDS: dict[str, frozenset[str]] = {
    "en": frozenset(
        "a about after all also am an and any are as at be been but by can could did do does "
        "doesn't don't for from get got had has have i i'm if in into is isn't it it's its "
        "just me more my no not of on or our out so some than that the their them then there "
        "they this to too up us very was wasn't we were what when which who will with would "
        "you your".split()
    ),
    "zh": frozenset(
        "的 了 是 在 我 你 他 她 它 们 我们 你们 他们 和 与 及 也 都 就 而 或 但 但是 很 太 "
        "又 还 要 会 能 可以 这 那 这个 那个 一个 一些 有 没 不 吧 吗 呢 啊 呀 哦 嗯 着 过 "
        "把 被 让 给 对 从 到 为 以 之 其 如果 因为 所以 非常 比较 觉得 感觉 希望 已经 "
        "就是 还是 一下 一直 什么 怎么 这样 那样 自己 更 多 更多 最 再 才 只 挺 有点 "
        "一点 一样 时候 现在 每次 还有 然后 "
        # praise without an object (很好, 挺好的, 服务好 -> 好): says nothing of what was good
        "好 不错 还好 蛮".split()
    ),
    "de": frozenset(
        "aber alle als am an auch auf aus bei bin bis das dass dem den der des die doch du "
        "ein eine einen er es für hat ich ihr im in ist ja mit nicht noch nur oder sehr sich "
        "sie sind so und uns von war wie wir zu zum zur".split()
    ),
    "fr": frozenset(
        "a au aux avec ce ces c'est dans de des du elle en est et il ils je j'ai la le les "
        "leur ma mais me mes mon ne nous on ou par pas plus pour qu'il que qui sa se ses son "
        "sur ta te tres très tu un une vous y".split()
    ),
    "es": frozenset(
        "a al algo con de del el ella en es esta está este ha hay la las le lo los me mi muy "
        "más no nos o para pero por que se su sus un una y ya yo".split()
    ),
}

_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ebef"
_HAN_CHAR = re.compile(f"[{_HAN}]")
# a run of Chinese characters, or a word of other letters/digits (apostrophes inside)
_PIECE = re.compile(f"([{_HAN}]+)|([^\\W_{_HAN}]+(?:'[^\\W_{_HAN}]+)*)")
_PIECES = re.compile(f"[{_HAN}]+|[^\\W_{_HAN}]+(?:'[^\\W_{_HAN}]+)*")
_LETTER = re.compile(r"[^\W\d_]")
_NOT_WORD = re.compile(r"[\W_]+")
_RE2_SPECIAL = frozenset("\\.+*?()|[]{}^$")

_AMONG = ("commented", "all")
_CORRECTIONS = ("holm", "fdr_bh", "bonferroni", "none")
_NO_THEME_LABEL = "No theme matched"


# --------------------------------------------------------------------------------------
# Normalising and the no-comment rule
# --------------------------------------------------------------------------------------
def normalize_comment(text: object) -> str:
    r"""One answer normalised for matching: NFKC, ``'`` apostrophes, case-folded, one space.

    Parameters
    ----------
    text : object
        An answer; missing values (None, NaN, ``pd.NA``) give ``""``, other non-text values
        their ``str``.

    Returns
    -------
    str

    Examples
    --------
    >>> normalize_comment("  Ｈotline  kept me\nWAITING ")
    'hotline kept me waiting'
    """
    if text is None or (not isinstance(text, str) and pd.isna(text)):
        return ""
    s = unicodedata.normalize("NFKC", str(text))
    if "\u2019" in s or "\u2018" in s or "\u02bc" in s:
        s = s.replace("\u2019", "'").replace("\u2018", "'").replace("\u02bc", "'")
    return " ".join(s.casefold().split())


def _pieces(norm: str) -> list[str]:
    """Split text into runs of Chinese characters and words of other scripts, in order.

    No jieba here.
    """
    return _PIECES.findall(norm)


def _no_comment_key(norm: str) -> str:
    return _NOT_WORD.sub("", norm)


_NO_COMMENT_KEYS = frozenset(_no_comment_key(normalize_comment(a)) for a in NO_COMMENT_ANSWERS)


def _junk_keys(no_comment: Iterable[str]) -> frozenset[str]:
    if isinstance(no_comment, str):
        raise TypeError(f"no_comment must be a list of answers, got the text {no_comment!r}")
    extra = {_no_comment_key(normalize_comment(a)) for a in no_comment}
    return _NO_COMMENT_KEYS | extra


def _is_junk(norm: str, keys: frozenset[str]) -> bool:
    if not norm or not _LETTER.search(norm):
        return True
    return _no_comment_key(norm) in keys


def is_no_comment(text: object, *, no_comment: Iterable[str] = ()) -> bool:
    """Whether an answer counts as *no comment* (the rule is in the module notes).

    Parameters
    ----------
    text : object
        One answer as delivered.
    no_comment : iterable of str
        Further answers that mean no comment (the study file's ``comments.no_comment``).

    Examples
    --------
    >>> [is_no_comment(x) for x in ["", "  ", "-", "N/A", "无", "没有。", "Too slow"]]
    [True, True, True, True, True, True, False]
    """
    return _is_junk(normalize_comment(text), _junk_keys(no_comment))


# --------------------------------------------------------------------------------------
# Tokenising
# --------------------------------------------------------------------------------------
_JIEBA: Any = None


def _jieba_cache_folder() -> Path:
    """Where jieba keeps its dictionary cache: ``<environment>/var/cache/jieba``."""
    import sys

    folder = Path(sys.prefix) / "var" / "cache" / "jieba"
    with contextlib.suppress(OSError):
        folder.mkdir(parents=True, exist_ok=True)
    return folder


def _jieba() -> Any:
    """Return the jieba tokenizer of this module (built on first use, about 1 s)."""
    global _JIEBA
    if _JIEBA is None:
        import jieba

        jieba.setLogLevel(logging.WARNING)  # jieba logs its dictionary loading to stderr
        tok = jieba.Tokenizer()
        # jieba caches its prefix dictionary in the system's temporary folder by default,
        # shared with every other user; keep it inside the environment instead. Where that
        # is read-only jieba builds it in memory (about 1 s) and its "Dump cache file failed"
        # traceback is silenced.
        tok.tmp_dir = str(_jieba_cache_folder())
        level = jieba.default_logger.level
        jieba.setLogLevel(logging.CRITICAL)
        try:
            tok.initialize()
        finally:
            jieba.setLogLevel(level)
        _JIEBA = tok
    return _JIEBA


@lru_cache(maxsize=1_000_000)
def _cut_han(run: str) -> tuple[str, ...]:
    """Return the jieba words of one run of Chinese characters.

    Cached: runs repeat across comments.
    """
    return tuple(w for w in _jieba().cut(run, HMM=True) if w.strip())


@lru_cache(maxsize=500_000)
def _tokens(norm: str) -> tuple[str, ...]:
    """Return the words of a normalised comment.

    Cached: frequent terms, token matching and verbatims of one report tokenise the same
    comments.
    """
    out: list[str] = []
    for m in _PIECE.finditer(norm):
        han = m.group(1)
        if han:
            out.extend(_cut_han(han))
        else:
            out.append(m.group(2))
    return tuple(out)


def stop_words(languages: Iterable[str] = ("en", "zh")) -> frozenset[str]:
    """Return the union of the stop-word lists of ``languages`` (codes of :data:`STOP_WORDS`)."""
    if isinstance(languages, str):
        languages = [languages]
    out: set[str] = set()
    for lang in languages:
        if lang not in STOP_WORDS:
            raise ValueError(
                f"stop_words: unknown language {lang!r} (known: {', '.join(STOP_WORDS)})"
            )
        out |= STOP_WORDS[lang]
    return frozenset(out)


def tokenize(text: object, *, stop: Collection[str] = ()) -> list[str]:
    """Return the words of one answer: jieba for Chinese runs, letters and digits elsewhere.

    Parameters
    ----------
    text : object
        One answer (normalised first with :func:`normalize_comment`).
    stop : collection of str
        Words to drop, e.g. ``stop_words(["en", "zh"])``. Default: keep every word.

    Returns
    -------
    list of str
        Normalised words in order; punctuation and symbols are dropped.

    Examples
    --------
    >>> tokenize("客服等待时间太长, hotline kept me WAITING!")
    ['客服', '等待时间', '太', '长', 'hotline', 'kept', 'me', 'waiting']
    """
    words = _tokens(normalize_comment(text))
    return [w for w in words if w not in stop] if stop else list(words)


# --------------------------------------------------------------------------------------
# Keywords and themes
# --------------------------------------------------------------------------------------
def keyword_problem(keyword: object) -> str | None:
    """Why a theme keyword cannot be used, or None when it can.

    Used by the study file's validation and by :func:`code_themes`, so both give the same
    message, e.g. ``"'!!!' has no letters or digits to match"``.
    """
    if not isinstance(keyword, str):
        return f"{keyword!r} is not text"
    norm = normalize_comment(keyword)
    if not norm:
        return "a keyword is empty"
    star = norm.endswith("*")
    body = norm[:-1].rstrip() if star else norm
    if "*" in body:
        return f"{keyword!r}: '*' may only end a keyword (a word prefix, e.g. 'bill*')"
    if not _pieces(body):
        return f"{keyword!r} has no letters or digits to match"
    if star:
        if body != norm[:-1]:
            return f"{keyword!r}: '*' must follow a word directly (e.g. 'bill*')"
        if _HAN_CHAR.search(body):
            return (
                f"{keyword!r}: '*' is for Latin-script words; a Chinese keyword already "
                f"matches inside longer words"
            )
    return None


def keyword_key(keyword: str) -> str:
    """Return the normalised form of a keyword: two keywords with one key match the same text."""
    norm = normalize_comment(keyword)
    star = "*" if norm.endswith("*") else ""
    return " ".join(_pieces(norm.rstrip("*"))) + star


@dataclass(frozen=True)
class _Theme:
    name: str
    label: str
    keywords: tuple[str, ...]


def _themes(themes: Any, what: str) -> list[_Theme]:
    """Themes from study-file models, a mapping name -> keywords, or name -> {label, keywords}."""
    if themes is None:
        return []
    out: list[_Theme] = []
    if isinstance(themes, Mapping):
        items = []
        for name, spec in themes.items():
            if isinstance(spec, Mapping):
                items.append((name, spec.get("label", name), spec.get("keywords")))
            else:
                items.append((name, name, spec))
    elif isinstance(themes, str):
        raise TypeError(f"{what}: themes must be a list or a mapping of themes, not a text")
    else:
        items = [(t.name, t.label, t.keywords) for t in themes]
    seen = set()
    for name, label, keywords in items:
        if not isinstance(name, str) or not name:
            raise ValueError(f"{what}: a theme name must be non-empty text, got {name!r}")
        if name in RESERVED_COLUMNS:
            raise ValueError(f"{what}: theme name {name!r} is reserved for a column of the result")
        if name in seen:
            raise ValueError(f"{what}: theme {name!r} is given twice")
        seen.add(name)
        if isinstance(keywords, str) or not keywords:
            raise ValueError(f"{what}: theme {name!r} needs a list of keywords, got {keywords!r}")
        for kw in keywords:
            problem = keyword_problem(kw)
            if problem:
                raise ValueError(f"{what}: theme {name!r}: {problem}")
        out.append(_Theme(name, str(label), tuple(keywords)))
    return out


def theme_labels(themes: Any) -> dict[str, str]:
    """Theme names mapped to their labels (``labels=`` of the table functions)."""
    return {t.name: t.label for t in _themes(themes, "theme_labels")}


def _keyword_pattern(keyword: str, chinese_match: str) -> tuple[str, str]:
    """(where, pattern): where is "squeezed" (Chinese substring) or "words" (word string)."""
    norm = normalize_comment(keyword)
    if _HAN_CHAR.search(norm):
        if chinese_match == "substring":
            return "squeezed", "".join(norm.split())
        return "words", " " + " ".join(_tokens(norm)) + " "
    if norm.endswith("*"):
        return "words", " " + " ".join(_pieces(norm[:-1]))
    return "words", " " + " ".join(_pieces(norm)) + " "


def _check_column(data: pd.DataFrame, column: str, what: str) -> pd.Series:
    check_frame(data, what)
    if not isinstance(column, str):
        raise TypeError(f"{what}: column must be one column name, got {column!r}")
    if column not in data.columns:
        raise KeyError(f"{what}: comment column {column!r} is not in the data")
    return data[column]


@dataclass
class _Corpus:
    """The distinct answers of a comment column, normalised once."""

    codes: np.ndarray  # per row: index into ``norm`` (-1 for no comment)
    norm: list[str]  # distinct normalised comments (no-comment answers excluded)
    raw: list[str]  # one original text per distinct normalised comment


def _corpus(s: pd.Series, no_comment: Iterable[str]) -> _Corpus:
    keys = _junk_keys(no_comment)
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    norm_of: dict[str, int] = {}
    norm: list[str] = []
    raw: list[str] = []
    remap = np.full(len(uniques) + 1, -1, dtype=np.int64)
    for k, value in enumerate(uniques):
        t = normalize_comment(value)
        if _is_junk(t, keys):
            continue
        j = norm_of.get(t)
        if j is None:
            j = norm_of[t] = len(norm)
            norm.append(t)
            raw.append(str(value))
        remap[k] = j
    codes = remap[np.where(codes < 0, len(uniques), codes)]
    return _Corpus(codes=codes, norm=norm, raw=raw)


def _re2_literal(text: str) -> str:
    return "".join("\\" + ch if ch in _RE2_SPECIAL else ch for ch in text)


def _contains_any(strings: Any, patterns: Sequence[str]) -> np.ndarray:
    """Which strings contain any of the literal ``patterns`` (Arrow, vectorised).

    Several patterns are one alternation of escaped literals for Arrow's RE2 engine (linear
    time, no backtracking), so a theme is one pass over the comments whatever its size.
    """
    import pyarrow.compute as pc

    if len(patterns) == 1:
        hit = pc.match_substring(strings, patterns[0])
    else:
        hit = pc.match_substring_regex(strings, "|".join(_re2_literal(p) for p in patterns))
    return hit.to_numpy(zero_copy_only=False)


def code_themes(
    data: pd.DataFrame,
    *,
    column: str,
    themes: Any = None,
    no_comment: Iterable[str] = (),
    chinese_match: str = "substring",
) -> pd.DataFrame:
    """Which respondents left a comment, and which themes each comment mentions.

    Identical answers are normalised and matched once (a survey's comments repeat a lot);
    matching runs over the distinct comments with vectorised substring search.

    Parameters
    ----------
    data : DataFrame
        One row per respondent; never modified.
    column : str
        The open-ended column.
    themes : sequence of themes or mapping, optional
        The theme dictionary: the study file's ``comments.themes``, a mapping
        ``name -> [keywords]`` or ``name -> {"label": ..., "keywords": [...]}``. None or
        empty: only ``has_comment``.
    no_comment : iterable of str
        Further answers that mean no comment (see the module notes for the rule).
    chinese_match : {"substring", "token"}
        How Chinese keywords match (module notes).

    Returns
    -------
    DataFrame
        The index of ``data``; ``has_comment`` (bool), one bool column per theme (named by
        the theme, in dictionary order) and, when themes are given, ``no_theme`` (a comment
        that mentions none of them).
    """
    what = "code_themes"
    s = _check_column(data, column, what)
    check_choice(chinese_match, ("substring", "token"), "chinese_match", what)
    theme_list = _themes(themes, what)
    corpus = _corpus(s, no_comment)
    codes = corpus.codes
    has = codes >= 0
    out = pd.DataFrame({"has_comment": has}, index=data.index)
    if not theme_list:
        return out
    words = [
        " " + " ".join(_tokens(t) if chinese_match == "token" else _pieces(t)) + " "
        for t in corpus.norm
    ]
    squeezed = ["".join(t.split()) for t in corpus.norm]
    import pyarrow as pa

    targets = {
        "words": pa.array(words, type=pa.large_string()),
        "squeezed": pa.array(squeezed, type=pa.large_string()),
    }
    U = len(corpus.norm)
    any_theme = np.zeros(len(data), dtype=bool)
    safe = np.append(np.arange(U), U)  # codes -1 -> the extra False slot
    idx = safe[np.where(has, codes, U)]
    for theme in theme_list:
        hit = np.zeros(U + 1, dtype=bool)
        patterns: dict[str, list[str]] = {"words": [], "squeezed": []}
        for kw in theme.keywords:
            where, pattern = _keyword_pattern(kw, chinese_match)
            patterns[where].append(pattern)
        for where, pats in patterns.items():
            if U and pats:
                hit[:U] |= _contains_any(targets[where], list(dict.fromkeys(pats)))
        col = hit[idx]
        out[theme.name] = col
        any_theme |= col
    out["no_theme"] = has & ~any_theme
    return out


# --------------------------------------------------------------------------------------
# Frequent terms and a draft dictionary
# --------------------------------------------------------------------------------------
def _term_ok(word: str, stop: Collection[str]) -> bool:
    if word in stop:
        return False
    if not _LETTER.search(word):
        return False  # numbers (phone numbers, IDs, amounts) are never terms
    return not (len(word) == 1 and not _HAN_CHAR.match(word))


def _join(a: str, b: str) -> str:
    return a + b if _HAN_CHAR.match(a[-1]) and _HAN_CHAR.match(b[0]) else f"{a} {b}"


def frequent_terms(
    data: pd.DataFrame,
    *,
    column: str,
    by: str | Sequence[str] = (),
    design: SurveyDesign | None = None,
    ngrams: Sequence[int] = (1, 2),
    top: int = 30,
    min_count: int = 5,
    languages: Iterable[str] = ("en", "zh"),
    no_comment: Iterable[str] = (),
) -> pd.DataFrame:
    """Count the most frequent words and two-word phrases of the comments, to draft themes from.

    A term counts once per comment (document frequency), however often the comment repeats
    it. Unigrams drop the stop words of ``languages``, numbers and single Latin letters;
    bigrams are two adjacent words of a comment, neither of them dropped by those rules (so
    "on hold" shows only as "hold", while "waiting time" is a phrase). Counting runs once
    over the distinct comments, with jieba words and scikit-learn's ``CountVectorizer``.

    Parameters
    ----------
    data : DataFrame
        One row per respondent.
    column : str
        The open-ended column.
    by : str or sequence of str
        Groups (e.g. wave, segment); the terms are ranked within each group.
    design : SurveyDesign, optional
        Only its weight is used: ``share`` is the weighted share of commenters. None:
        unweighted.
    ngrams : sequence of int
        Term lengths in words, from ``{1, 2}``.
    top : int
        Terms kept per group and length (the most frequent by weighted share).
    min_count : int
        Terms used by fewer commenters (unweighted) are dropped: rare words say little and
        may identify a respondent.
    languages : iterable of str
        Stop-word lists to apply (:data:`STOP_WORDS`).
    no_comment : iterable of str
        Further answers that mean no comment.

    Returns
    -------
    DataFrame
        The ``by`` columns, ``ngram`` (1 or 2), ``rank`` (1 = most frequent), ``term``
        (words joined by a space, Chinese words without one), ``count`` (unweighted
        commenters using it), ``n`` (unweighted commenters of the group), ``share`` (weighted
        share of the group's commenters using it, in [0, 1]). Sorted by group, ngram, rank.
    """
    from scipy import sparse
    from sklearn.feature_extraction.text import CountVectorizer

    what = "frequent_terms"
    s = _check_column(data, column, what)
    by = [by] if isinstance(by, str) else list(by)
    for c in by:
        if c not in data.columns:
            raise KeyError(f"{what}: by column {c!r} is not in the data")
    ngrams = sorted(set(ngrams))
    if not ngrams or not set(ngrams) <= {1, 2}:
        raise ValueError(f"{what}: ngrams={ngrams!r}: use 1, 2 or both")
    for name, v, lo in (("top", top, 1), ("min_count", min_count, 1)):
        if not isinstance(v, int | np.integer) or v < lo:
            raise ValueError(f"{what}: {name} must be an integer >= {lo}, got {v!r}")
    stop = stop_words(languages)
    w = _weights(data, design, what)
    corpus = _corpus(s, no_comment)
    cols = ["ngram", "rank", "term", "count", "n", "share"]
    has = corpus.codes >= 0
    gcodes, groups = _group_codes(data, by)
    G = len(groups)
    ok = has & (gcodes >= 0)
    U = len(corpus.norm)
    if U == 0 or not ok.any():
        return pd.DataFrame(columns=[*by, *cols])

    vec = CountVectorizer(analyzer=_term_analyzer(ngrams, stop), binary=True, dtype=np.float64)
    X = vec.fit_transform(corpus.norm).tocsc()
    vocab = vec.get_feature_names_out()
    rows = gcodes[ok]
    cols_u = corpus.codes[ok]
    M = sparse.csr_matrix((np.ones(ok.sum()), (rows, cols_u)), shape=(G, U))
    Mw = sparse.csr_matrix((w[ok], (rows, cols_u)), shape=(G, U))
    count = np.asarray((M @ X).todense())
    wsum = np.asarray((Mw @ X).todense())
    n_g = np.bincount(rows, minlength=G)
    W_g = np.bincount(rows, weights=w[ok], minlength=G)
    length = np.array([t.count(" ") + 1 for t in vocab])
    parts = []
    for g in range(G):
        share = wsum[g] / W_g[g] if W_g[g] > 0 else np.full(len(vocab), np.nan)
        for k in ngrams:
            sel = np.flatnonzero((length == k) & (count[g] >= min_count))
            if not len(sel):
                continue
            order = np.lexsort((vocab[sel], -count[g, sel], -share[sel]))[:top]
            sel = sel[order]
            terms = [t if k == 1 else _join(*t.split(" ")) for t in vocab[sel]]
            part = pd.DataFrame(
                {
                    "ngram": k,
                    "rank": np.arange(1, len(sel) + 1),
                    "term": terms,
                    "count": count[g, sel].astype(np.int64),
                    "n": int(n_g[g]),
                    "share": share[sel],
                }
            )
            for c in by:
                part[c] = groups[c].iloc[g]
            parts.append(part[[*by, *cols]])
    if not parts:
        return pd.DataFrame(columns=[*by, *cols])
    return pd.concat(parts, ignore_index=True)


def _term_analyzer(ngrams: Sequence[int], stop: Collection[str]) -> Callable[[str], list[str]]:
    """Return the analyzer of :func:`frequent_terms`: a comment's kept words and phrases.

    Unigrams are the words :func:`_term_ok` keeps; bigrams are two adjacent kept words.
    """
    ok_cache: dict[str, bool] = {}

    def analyzer(norm: str) -> list[str]:
        toks = _tokens(norm)
        keep = []
        for t in toks:
            k = ok_cache.get(t)
            if k is None:
                k = ok_cache[t] = _term_ok(t, stop)
            keep.append(k)
        out = []
        if 1 in ngrams:
            out += [t for t, k in zip(toks, keep, strict=True) if k]
        if 2 in ngrams:
            out += [
                f"{toks[i]} {toks[i + 1]}" for i in range(len(toks) - 1) if keep[i] and keep[i + 1]
            ]
        return out

    return analyzer


def _slug(term: str) -> str:
    s = re.sub(r"[^a-z0-9]+", "_", term.casefold()).strip("_")
    return s if s and s[0].isalpha() and s.isascii() else ""


def _overlaps(a: str, b: str) -> bool:
    """Whether one term is part of the other (whole words; Chinese as substrings)."""
    if _HAN_CHAR.search(a) or _HAN_CHAR.search(b):
        return a in b or b in a
    return f" {a} " in f" {b} " or f" {b} " in f" {a} "


def draft_themes(terms: pd.DataFrame, *, top: int = 15) -> str:
    """Draft a ``comments:`` section of the study file from :func:`frequent_terms`.

    Each of the ``top`` most frequent terms (by weighted share over every row of
    ``terms``, then count, then alphabetically) becomes a theme with that term as its
    keyword; a term that is part of a more frequent term already chosen, or contains one
    (``"hotline waiting"`` after ``"hotline"``), is left out. The analyst merges, renames and adds
    keywords before use: a draft, not a coding.

    Parameters
    ----------
    terms : DataFrame
        Output of :func:`frequent_terms` (without ``by``, or the rows of one group).
    top : int
        Number of draft themes.

    Returns
    -------
    str
        YAML text that the study file's ``comments`` section accepts, with each theme's
        count and share as a comment line.
    """
    import yaml

    need = {"term", "count", "share", "ngram"}
    if not isinstance(terms, pd.DataFrame) or not need <= set(terms.columns):
        raise ValueError(
            f"draft_themes: terms must be the table of frequent_terms (columns {sorted(need)})"
        )
    if not isinstance(top, int) or top < 1:
        raise ValueError(f"draft_themes: top must be an integer >= 1, got {top!r}")
    agg = (
        terms.groupby(["term", "ngram"], sort=False)
        .agg(count=("count", "sum"), share=("share", "max"))
        .reset_index()
        .sort_values(["share", "count", "term"], ascending=[False, False, True], kind="stable")
    )
    chosen: list[tuple[str, int, float]] = []
    for term, _, count, share in agg.itertuples(index=False):
        if any(_overlaps(term, t) for t, _, _ in chosen):
            continue
        chosen.append((term, int(count), float(share)))
        if len(chosen) == top:
            break
    lines = [
        "# Draft theme dictionary from the most frequent terms: merge, rename and add",
        "# keywords (both languages) before use. See docs/study-file.md, `comments`.",
        "comments:",
        "  themes:",
    ]
    names: set[str] = set()
    for k, (term, count, share) in enumerate(chosen, start=1):
        name = _slug(term) or f"theme_{k:02d}"
        while name in names or name in RESERVED_COLUMNS:
            name = f"{name}_{k}"
        names.add(name)
        body = yaml.safe_dump(
            [{"name": name, "label": term, "keywords": [term]}],
            allow_unicode=True,
            default_flow_style=False,
            sort_keys=False,
        )
        lines.append(f"    # {count} comments, {share:.1%} of commenters (weighted)")
        lines += ["    " + ln for ln in body.rstrip("\n").split("\n")]
    if not chosen:
        lines[-1] = "  themes: []"
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------
# Design-based shares and tests
# --------------------------------------------------------------------------------------
def _weights(data: pd.DataFrame, design: SurveyDesign | None, what: str) -> np.ndarray:
    if design is not None and not isinstance(design, SurveyDesign):
        raise TypeError(f"{what}: design must be a SurveyDesign, got {type(design).__name__}")
    if design is None or design.weight is None:
        return np.ones(len(data))
    return design.prepare(data).w


def _check_common(what: str, among: str, confidence: float) -> None:
    check_choice(among, _AMONG, "among", what)
    check_confidence(confidence, what)


def _check_test(what: str, alpha: float, correction: str) -> None:
    check_confidence(alpha, what, name="alpha")
    check_choice(correction, _CORRECTIONS, "correction", what)


def _theme_names(coded: pd.DataFrame, data: pd.DataFrame, what: str) -> list[str]:
    if not isinstance(coded, pd.DataFrame) or "has_comment" not in coded.columns:
        raise ValueError(f"{what}: coded must be the table of code_themes (a has_comment column)")
    if not coded.index.equals(data.index):
        raise ValueError(
            f"{what}: coded does not have the rows of data (give code_themes(data, ...) of "
            f"this data)"
        )
    names = [c for c in coded.columns if c != "has_comment"]
    for c in coded.columns:
        if not pd.api.types.is_bool_dtype(coded[c]):
            raise ValueError(f"{what}: coded column {c!r} must be True/False, got {coded[c].dtype}")
    return names


def _work(
    data: pd.DataFrame, design: SurveyDesign | None, cols: Iterable[str], what: str
) -> pd.DataFrame:
    if design is not None and not isinstance(design, SurveyDesign):
        raise TypeError(f"{what}: design must be a SurveyDesign, got {type(design).__name__}")
    need = list(dict.fromkeys([*cols, *(design.roles().values() if design else [])]))
    for c in need:
        if c not in data.columns:
            raise KeyError(f"{what}: column {c!r} is not in the data")
    # arrays, not Series: no alignment, so a repeated index label is no problem
    return pd.DataFrame({c: data[c].array for c in need}, index=data.index)


def _indicator(coded: pd.DataFrame, name: str, among: str) -> np.ndarray:
    y = coded[name].to_numpy(dtype=float)
    if among == "commented":
        y[~coded["has_comment"].to_numpy(dtype=bool)] = np.nan
    return y


def _label(name: str, labels: Mapping[str, str] | None) -> str:
    if labels and name in labels:
        return labels[name]
    return _NO_THEME_LABEL if name == "no_theme" else name


_SHARE_COLS = [
    "theme",
    "theme_label",
    "among",
    "n",
    "count",
    "n_weighted",
    "n_effective",
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "deff",
    "df",
]


def _shares(work, names, coded, by, design, among, confidence, labels):
    """survey_mean of every indicator at once; df and logit intervals as svyciprop."""
    cols = []
    for j, name in enumerate(names):
        col = f"__ind{j}"
        work[col] = _indicator(coded, name, among)
        cols.append(col)
    means = survey_mean(work, items=cols, by=by, design=design, confidence=confidence)
    # design df of each group's base (the same rows for every indicator): svyciprop's df
    dfs = survey_proportion(work, items=cols[0], by=by, design=design, confidence=confidence)
    dfs = dfs.drop_duplicates(subset=by or None)[[*by, "df"]] if by else dfs[["df"]].iloc[:1]
    if by:
        means = means.merge(dfs, on=by, how="left", sort=False)
    else:
        means["df"] = float(dfs["df"].iloc[0])
    counts = [
        work.groupby(by, sort=True, observed=True, dropna=True)[c].sum(min_count=0)
        if by
        else pd.Series([np.nansum(work[c].to_numpy())])
        for c in cols
    ]
    est = means["estimate"].to_numpy(dtype=float)
    se = means["se"].to_numpy(dtype=float)
    lo, hi = logit_ci(est, se, means["df"].to_numpy(dtype=float), confidence)
    means["ci_low"], means["ci_high"] = lo, hi
    name_of = dict(zip(cols, names, strict=True))
    means["theme"] = means["item"].map(name_of)
    means["theme_label"] = [_label(t, labels) for t in means["theme"]]
    means["among"] = among
    if by:
        cnt = pd.concat(
            [
                c.rename("count").reset_index().assign(item=col)
                for c, col in zip(counts, cols, strict=True)
            ],
            ignore_index=True,
        )
        means = means.merge(cnt, on=[*by, "item"], how="left", sort=False)
    else:
        means["count"] = [float(c.iloc[0]) for c in counts]
    means["count"] = means["count"].fillna(0).astype(np.int64)
    out = means[[*by, *_SHARE_COLS]]
    # group-major order: each group's themes in dictionary order
    if by:  # groups in survey_mean's order (categories, else sorted), not re-sorted as text
        out = out.assign(
            _g=out.groupby(by, sort=False, dropna=False).ngroup(),
            _t=out["theme"].map({t: k for k, t in enumerate(names)}),
        )
        out = out.sort_values(["_g", "_t"], kind="stable").drop(columns=["_g", "_t"])
    return out.reset_index(drop=True)


def theme_shares(
    data: pd.DataFrame,
    *,
    coded: pd.DataFrame,
    by: str | Sequence[str] = (),
    design: SurveyDesign | None = None,
    among: str = "commented",
    confidence: float = 0.95,
    labels: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Share of respondents mentioning each theme, per group, with design-based SEs.

    Parameters
    ----------
    data : DataFrame
        One row per respondent (the ``by`` and design columns).
    coded : DataFrame
        :func:`code_themes` of ``data``.
    by : str or sequence of str
        Groups, e.g. ``"wave"`` or ``["wave", "region"]``; each is a domain of the whole
        design.
    design : SurveyDesign, optional
        The sampling design; None: unweighted simple random sample.
    among : {"commented", "all"}
        The base: respondents who left a comment, or all respondents (module notes).
    confidence : float
        Level of the intervals.
    labels : mapping, optional
        Theme name -> label (e.g. :func:`theme_labels`); ``no_theme`` is labelled
        "No theme matched".

    Returns
    -------
    DataFrame
        One row per group and theme (``no_theme`` last): the ``by`` columns, ``theme``,
        ``theme_label``, ``among`` (the base), ``n`` (unweighted base), ``count``
        (unweighted respondents mentioning the theme), ``n_weighted``, ``n_effective``,
        ``estimate`` (share in [0, 1]), ``se``, ``ci_low``, ``ci_high`` (logit interval on
        the design df, as ``svyciprop``), ``deff``, ``df``.
    """
    what = "theme_shares"
    _check_common(what, among, confidence)
    names = _theme_names(coded, data, what)
    by = [by] if isinstance(by, str) else list(by)
    if not names:
        return pd.DataFrame(columns=[*by, *_SHARE_COLS])
    work = _work(data, design, by, what)
    return _shares(work, names, coded, by, design, among, confidence, labels)


def comment_rate(
    data: pd.DataFrame,
    *,
    coded: pd.DataFrame,
    by: str | Sequence[str] = (),
    design: SurveyDesign | None = None,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Share of all respondents who left a comment (not a no-comment answer), per group.

    Returns
    -------
    DataFrame
        Columns as :func:`theme_shares` with ``theme == "has_comment"``, ``theme_label``
        "Left a comment" and ``among == "all"``.
    """
    what = "comment_rate"
    _check_common(what, "all", confidence)
    _theme_names(coded, data, what)
    by = [by] if isinstance(by, str) else list(by)
    work = _work(data, design, by, what)
    return _shares(
        work,
        ["has_comment"],
        coded,
        by,
        design,
        "all",
        confidence,
        {"has_comment": "Left a comment"},
    )


_DIFF_COLS = [
    "theme",
    "theme_label",
    "among",
    "value_1",
    "value_2",
    "n_1",
    "n_2",
    "estimate_1",
    "estimate_2",
    "estimate",
    "se",
    "statistic",
    "df",
    "p_value",
    "ci_low",
    "ci_high",
    "p_adjusted",
    "significant",
]


def _group_codes(work: pd.DataFrame, cols: list[str]) -> tuple[np.ndarray, pd.DataFrame]:
    """Integer group of each row over ``cols`` (-1: a missing value) and the group keys."""
    if not cols:
        return np.zeros(len(work), dtype=np.int64), pd.DataFrame(index=range(1))
    g = work.groupby(cols, sort=True, dropna=True, observed=True).ngroup().to_numpy()
    g = np.where(np.isnan(g.astype(float)), -1, g).astype(np.int64)
    keys = (
        work[cols]
        .assign(_g=g)
        .loc[g >= 0]
        .drop_duplicates("_g")
        .sort_values("_g")
        .drop(columns="_g")
        .reset_index(drop=True)
    )
    return g, keys


def _domain_means(prep: PreparedDesign, y: np.ndarray, masks: list[np.ndarray]) -> dict:
    """Means of ``y`` over domains of the whole design, with their design covariance.

    Each domain is a boolean mask; rows with ``y`` missing are outside it. The influence
    values of a domain mean are ``w_i (y_i - mean) / W`` on the domain's rows and 0
    elsewhere (R ``svymean`` on a ``subset`` of the design), and the covariance matrix of
    the means is :meth:`PreparedDesign.vcov` of those columns - one pass for every domain,
    with the strata, PSUs and fpc of the whole sample. Tests check it against
    ``survey_mean`` and ``domain_difference``.
    """
    ok = ~np.isnan(y)
    K = len(masks)
    Z = np.zeros((prep.n, K))
    est = np.full(K, np.nan)
    n = np.zeros(K, dtype=np.int64)
    for k, m in enumerate(masks):
        idx = np.flatnonzero(m & ok)
        if not len(idx):
            continue
        w = prep.w[idx]
        W = w.sum()
        mk = float(w @ y[idx]) / W
        Z[idx, k] = w * (y[idx] - mk) / W
        est[k], n[k] = mk, len(idx)
    V = prep.vcov(Z) if K else np.zeros((0, 0))
    return {"estimate": est, "n": n, "vcov": V, "valid": [m & ok for m in masks]}


def _degf(prep: PreparedDesign, rows: np.ndarray) -> float:
    """Design df of the rows that enter an estimate: PSUs minus strata among them.

    A replicate-weight design has no PSUs: its df is the replicates' (R ``degf`` of an
    ``svrepdesign``: the rank of the replicate weights minus 1, or the df given).
    """
    if prep.rep is not None:
        return float(prep.rep.df)
    idx = np.flatnonzero(rows)
    strata = int((np.bincount(prep.stratum[idx], minlength=prep.n_strata) > 0).sum())
    psus = len(idx) if prep.psu is None else int(np.unique(prep.psu[idx]).size)
    return float(psus - strata)


def _t_test(est, se, df, confidence):
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = est / se
        p = 2 * stats.t.sf(np.abs(stat), df)
        q = stats.t.ppf(0.5 + confidence / 2, df)
    return stat, p, est - q * se, est + q * se


def _differences(work, names, coded, by, pairs, within, prep, among, confidence):
    """Domain differences of each theme's indicator for each pair of values of ``by``.

    As :func:`analysis_helpers.estimation.domain_difference` (``svyttest``): the SE of a
    difference includes the design covariance of the two domains, the test is t on the
    design df of the two domains' rows minus 1.
    """
    values = list(dict.fromkeys(v for pair in pairs for v in pair))
    vcode = pd.Index(values).get_indexer(work[by])
    gcode, keys = _group_codes(work, within)
    rows = []
    ind = {name: _indicator(coded, name, among) for name in names}
    for g in range(len(keys)):
        in_g = gcode == g
        for name in names:
            y = ind[name]
            dm = _domain_means(prep, y, [in_g & (vcode == k) for k in range(len(values))])
            V = dm["vcov"]
            for a, b in pairs:
                i, j = values.index(a), values.index(b)
                est = dm["estimate"][j] - dm["estimate"][i]
                se = float(np.sqrt(max(V[i, i] + V[j, j] - 2 * V[i, j], 0.0)))
                df = _degf(prep, dm["valid"][i] | dm["valid"][j]) - 1
                stat, p, lo, hi = _t_test(est, se, df, confidence)
                row = {c: keys[c].iloc[g] for c in within}
                row.update(
                    theme=name, value_1=a, value_2=b, n_1=int(dm["n"][i]), n_2=int(dm["n"][j]),
                    estimate_1=dm["estimate"][i], estimate_2=dm["estimate"][j], estimate=est,
                    se=se, statistic=stat, df=df, p_value=p, ci_low=lo, ci_high=hi,
                )  # fmt: skip
                rows.append(row)
    return pd.DataFrame(rows)


def _finish_tests(out, within, alpha, correction, labels, names, family):
    out["theme_label"] = [_label(t, labels) for t in out["theme"]]
    if family:
        out["p_adjusted"] = out.groupby(family, sort=False, dropna=False)["p_value"].transform(
            lambda p: adjust_p(p.to_numpy(), correction=correction)
        )
    else:
        out["p_adjusted"] = adjust_p(out["p_value"].to_numpy(), correction=correction)
    out["significant"] = (out["p_adjusted"] < alpha).to_numpy(dtype=bool)
    return out


def theme_differences(
    data: pd.DataFrame,
    *,
    coded: pd.DataFrame,
    by: str,
    values: Sequence | None = None,
    within: str | Sequence[str] = (),
    design: SurveyDesign | None = None,
    among: str = "commented",
    confidence: float = 0.95,
    alpha: float = 0.05,
    correction: str = "holm",
    labels: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Difference of each theme's share between two values of ``by`` (two waves, segments).

    Each difference is :func:`analysis_helpers.estimation.domain_difference` of the theme's
    0/1 indicator (R ``svyttest``): its SE includes the covariance the design induces
    between the two domains, the test is Student's t on the design df.

    Parameters
    ----------
    data, coded, design, among, confidence, labels
        As :func:`theme_shares`.
    by : str
        The column whose two values are compared (e.g. ``"wave"`` or ``"region"``).
    values : pair, optional
        ``(first, second)``; the difference is second minus first. Default: the column's
        two values (an error if it has more).
    within : str or sequence of str
        Further groups: one comparison per group (e.g. per segment).
    alpha : float
        Significance level of ``significant``.
    correction : {"holm", "fdr_bh", "bonferroni", "none"}
        Multiple-comparison correction over the themes of each ``within`` group (one family
        per group).

    Returns
    -------
    DataFrame
        The ``within`` columns, ``theme``, ``theme_label``, ``among``, ``value_1``,
        ``value_2``, ``n_1``, ``n_2`` (unweighted bases), ``estimate_1``, ``estimate_2``
        (shares), ``estimate`` (difference, share points in [-1, 1]), ``se``, ``statistic``,
        ``df``, ``p_value``, ``ci_low``, ``ci_high``, ``p_adjusted``, ``significant``.
    """
    what = "theme_differences"
    _check_common(what, among, confidence)
    _check_test(what, alpha, correction)
    names = [n for n in _theme_names(coded, data, what) if n != "no_theme"]
    within = [within] if isinstance(within, str) else list(within)
    if not isinstance(by, str):
        raise ValueError(f"{what}: by must be one column name, got {by!r}")
    if not names:
        return pd.DataFrame(columns=[*within, *_DIFF_COLS])
    work = _work(data, design, [by, *within], what)
    if by in within:
        raise ValueError(f"{what}: column {by!r} is both by and within")
    if values is None:
        values = _order(work, by, None, what)
        if len(values) != 2:
            raise ValueError(
                f"{what}: by column {by!r} has {len(values)} values {values!r}; "
                f"give values=(first, second)"
            )
    values = _order(work, by, values, what)
    if len(values) != 2:
        raise ValueError(f"{what}: values must be two values of {by!r}, got {values!r}")
    prep = (design or SurveyDesign()).prepare(work)
    out = _differences(work, names, coded, by, [tuple(values)], within, prep, among, confidence)
    out["among"] = among
    out = _finish_tests(out, within, alpha, correction, labels, names, within)
    return out[[*within, *_DIFF_COLS]]


def _order(data: pd.DataFrame, by: str, values: Sequence | None, what: str) -> list:
    s = data[by]
    present = list(pd.unique(s.dropna()))
    if values is None:
        if isinstance(s.dtype, pd.CategoricalDtype):
            values = [c for c in s.cat.categories if c in set(present)]
        else:
            values = sorted(present)
    values = list(values)
    if len(set(values)) != len(values):
        raise ValueError(f"{what}: values of {by!r} are listed more than once: {values!r}")
    missing = [v for v in values if v not in set(present)]
    if missing:
        raise ValueError(f"{what}: by column {by!r} has no value {missing[0]!r}")
    if len(values) < 2:
        raise ValueError(f"{what}: by column {by!r} needs two values to compare, got {values!r}")
    return values


def theme_changes(
    data: pd.DataFrame,
    *,
    coded: pd.DataFrame,
    by: str,
    values: Sequence | None = None,
    within: str | Sequence[str] = (),
    design: SurveyDesign | None = None,
    among: str = "commented",
    confidence: float = 0.95,
    alpha: float = 0.05,
    correction: str = "holm",
    labels: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Each theme's share in each wave against the previous wave (consecutive pairs).

    Parameters
    ----------
    by : str
        The wave column.
    values : sequence, optional
        The waves in time order (e.g. ``study.waves``); waves absent from the data must not
        be listed. Default: the column's categories, or its sorted values.
    data, coded, within, design, among, confidence, alpha, labels
        As :func:`theme_differences`.
    correction : {"holm", "fdr_bh", "bonferroni", "none"}
        Over the themes of each pair of waves (and ``within`` group): one family each.

    Returns
    -------
    DataFrame
        Columns of :func:`theme_differences` (``value_1`` the previous wave, ``value_2`` the
        wave) plus ``direction``: ``"rise"`` or ``"fall"`` when significant, else ``""``
        (nothing insignificant is called a change). Pairs in time order.
    """
    what = "theme_changes"
    _check_common(what, among, confidence)
    _check_test(what, alpha, correction)
    if not isinstance(by, str):
        raise ValueError(f"{what}: by must be one column name, got {by!r}")
    names = [n for n in _theme_names(coded, data, what) if n != "no_theme"]
    within = [within] if isinstance(within, str) else list(within)
    work = _work(data, design, [by, *within], what)
    order = _order(work, by, values, what)
    cols = [*within, *_DIFF_COLS, "direction"]
    if not names:
        return pd.DataFrame(columns=cols)
    if by in within:
        raise ValueError(f"{what}: column {by!r} is both by and within")
    prep = (design or SurveyDesign()).prepare(work)
    pairs = list(zip(order[:-1], order[1:], strict=True))
    out = _differences(work, names, coded, by, pairs, within, prep, among, confidence)
    # pairs in time order, each pair's themes in dictionary order
    out["_p"] = [pairs.index((a, b)) for a, b in zip(out["value_1"], out["value_2"], strict=True)]
    out = out.sort_values("_p", kind="stable").drop(columns="_p").reset_index(drop=True)
    out["among"] = among
    out = _finish_tests(out, within, alpha, correction, labels, names, [*within, "value_2"])
    sig = out["significant"].to_numpy(dtype=bool)
    est = out["estimate"].to_numpy(dtype=float)
    out["direction"] = np.where(sig & (est > 0), "rise", np.where(sig & (est < 0), "fall", ""))
    return out[cols].reset_index(drop=True)


def rising_themes(changes: pd.DataFrame, *, value: object = None) -> pd.DataFrame:
    """Return the themes that rose significantly into one wave (for the executive summary).

    Parameters
    ----------
    changes : DataFrame
        Output of :func:`theme_changes`.
    value : optional
        The wave (``value_2``); default the last wave of ``changes``.

    Returns
    -------
    DataFrame
        The rows of ``changes`` for that wave with ``direction == "rise"``, largest rise
        first. Empty when nothing rose significantly.
    """
    need = {"value_2", "direction", "estimate"}
    if not isinstance(changes, pd.DataFrame) or not need <= set(changes.columns):
        raise ValueError("rising_themes: changes must be the table of theme_changes")
    if changes.empty:
        return changes.copy()
    if value is None:
        value = changes["value_2"].iloc[-1]
    elif value not in set(changes["value_2"]):
        raise ValueError(
            f"rising_themes: {value!r} is not a wave of the table "
            f"(waves: {list(pd.unique(changes['value_2']))})"
        )
    sel = changes[(changes["value_2"] == value) & (changes["direction"] == "rise")]
    return sel.sort_values("estimate", ascending=False, kind="stable").reset_index(drop=True)


# --------------------------------------------------------------------------------------
# Themes as drivers
# --------------------------------------------------------------------------------------
_OUTCOME_COLS = [
    "item",
    "theme",
    "theme_label",
    "among",
    "n_mention",
    "n_other",
    "mean_mention",
    "mean_mention_ci_low",
    "mean_mention_ci_high",
    "mean_other",
    "mean_other_ci_low",
    "mean_other_ci_high",
    "estimate",
    "se",
    "statistic",
    "df",
    "p_value",
    "ci_low",
    "ci_high",
    "p_adjusted",
    "significant",
]


def theme_outcomes(
    data: pd.DataFrame,
    *,
    coded: pd.DataFrame,
    outcome: str,
    by: str | Sequence[str] = (),
    design: SurveyDesign | None = None,
    among: str = "commented",
    confidence: float = 0.95,
    alpha: float = 0.05,
    correction: str = "holm",
    labels: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Mean outcome of respondents who mention each theme vs those who do not.

    The groups' means are ``survey_mean`` domains and their difference is
    ``domain_difference`` (``svyttest``) with the design covariance between the two groups;
    a theme mentioned by unhappy customers has a negative ``estimate``. An association, not
    a cause: those who mention a theme may differ in other ways too.

    Parameters
    ----------
    outcome : str
        A numeric item, e.g. the study's overall satisfaction (``kpis.overall``) or any
        rating; its missing values are a domain.
    among : {"commented", "all"}
        Who the mentioners are compared with: the other commenters (default: those who wrote
        about something else), or every other respondent (non-commenters included).
    correction : {"holm", "fdr_bh", "bonferroni", "none"}
        Over the themes of each ``by`` group (one family per group).
    data, coded, by, design, confidence, alpha, labels
        As :func:`theme_shares`.

    Returns
    -------
    DataFrame
        One row per group and theme: the ``by`` columns, ``item`` (the outcome),
        ``theme``, ``theme_label``, ``among``, ``n_mention``, ``n_other`` (unweighted, with
        an answer to the outcome), ``mean_mention`` and ``mean_other`` with their normal
        ``_ci_low`` / ``_ci_high``, ``estimate`` (mention minus other), ``se``,
        ``statistic``, ``df``, ``p_value``, ``ci_low``, ``ci_high``, ``p_adjusted``,
        ``significant``. A theme nobody (or everybody) in a group mentions has NaN
        statistics there.
    """
    what = "theme_outcomes"
    _check_common(what, among, confidence)
    _check_test(what, alpha, correction)
    names = [n for n in _theme_names(coded, data, what) if n != "no_theme"]
    by = [by] if isinstance(by, str) else list(by)
    if not isinstance(outcome, str):
        raise ValueError(f"{what}: outcome must be one column name, got {outcome!r}")
    if outcome in by:
        raise ValueError(f"{what}: column {outcome!r} is both the outcome and a by column")
    work = _work(data, design, [outcome, *by], what)
    if not (
        pd.api.types.is_numeric_dtype(work[outcome]) or pd.api.types.is_bool_dtype(work[outcome])
    ):
        raise ValueError(
            f"{what}: outcome column {outcome!r} must be numeric, got dtype {work[outcome].dtype}"
        )
    if not names:
        return pd.DataFrame(columns=[*by, *_OUTCOME_COLS])
    prep = (design or SurveyDesign()).prepare(work)
    y = work[outcome].to_numpy(dtype=float, na_value=np.nan)
    if np.isinf(y).any():
        i = int(np.flatnonzero(np.isinf(y))[0])
        raise ValueError(
            f"{what}: outcome column {outcome!r} has the value {y[i]} in row {data.index[i]!r}"
        )
    has = coded["has_comment"].to_numpy(dtype=bool)
    gcode, keys = _group_codes(work, by)
    q = normal_quantile(confidence)
    rows = []
    for g in range(len(keys)):
        in_g = gcode == g
        base = in_g & has if among == "commented" else in_g
        for name in names:
            m = coded[name].to_numpy(dtype=bool)
            dm = _domain_means(prep, y, [base & m, base & ~m])
            V = dm["vcov"]
            (mean_m, mean_o), (n_m, n_o) = dm["estimate"], dm["n"]
            se_m, se_o = np.sqrt(max(V[0, 0], 0.0)), np.sqrt(max(V[1, 1], 0.0))
            est = mean_m - mean_o
            se = float(np.sqrt(max(V[0, 0] + V[1, 1] - 2 * V[0, 1], 0.0)))
            df = _degf(prep, dm["valid"][0] | dm["valid"][1]) - 1
            stat, p, lo, hi = _t_test(est, se, df, confidence)
            if n_m == 0 or n_o == 0:  # nobody (or everybody) mentions it: nothing to compare
                est = se = stat = p = lo = hi = np.nan
            row = {c: keys[c].iloc[g] for c in by}
            row.update(
                item=outcome, theme=name, among=among, n_mention=int(n_m), n_other=int(n_o),
                mean_mention=mean_m, mean_mention_ci_low=mean_m - q * se_m,
                mean_mention_ci_high=mean_m + q * se_m, mean_other=mean_o,
                mean_other_ci_low=mean_o - q * se_o, mean_other_ci_high=mean_o + q * se_o,
                estimate=est, se=se, statistic=stat, df=df, p_value=p, ci_low=lo, ci_high=hi,
            )  # fmt: skip
            rows.append(row)
    out = pd.DataFrame(rows)
    out = _finish_tests(out, by, alpha, correction, labels, names, by)
    return out[[*by, *_OUTCOME_COLS]]


# --------------------------------------------------------------------------------------
# Example verbatims and display safety
# --------------------------------------------------------------------------------------
def display_text(text: object) -> str:
    """Respondent text made safe to show, through the project's safe-output layer.

    :func:`analysis_helpers.safe_output.redact` replaces e-mail addresses, phone numbers
    and ID numbers (``[email]``, ``[phone]``, ``[ID number]``);
    :func:`~analysis_helpers.safe_output.spreadsheet_safe` quote-prefixes a leading ``=``,
    ``+``, ``-``, ``@`` so no spreadsheet evaluates it; and
    :func:`~analysis_helpers.safe_output.escape_markdown` writes every character that could
    start Markdown or HTML syntax as a character reference, so the text shows as typed in
    a Markdown cell and in an HTML page alike (links, images, tags stay text). White space
    is collapsed to single spaces; other characters stay as the respondent typed them.
    Place the result in Markdown or HTML as it is: escaping it again would show the
    character references.
    """
    return escape_markdown(spreadsheet_safe(redact(" ".join(str(text).split()))))


def example_verbatims(
    data: pd.DataFrame,
    *,
    column: str,
    coded: pd.DataFrame,
    n: int = 3,
    min_words: int = 3,
    max_chars: int = 300,
    random_state: int | np.random.Generator | None = 0,
    languages: Iterable[str] = ("en", "zh"),
    labels: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Choose a few example comments per theme, reproducibly, and make them safe to show.

    Rule, per theme: (1) the candidates are the distinct comments (after normalisation) of
    respondents who mention the theme; (2) *informative* candidates have at least
    ``min_words`` words that are not stop words and at most ``max_chars`` characters;
    (3) informative candidates come before the others, then those that mention fewer other
    themes (a focused example), ties in a random order drawn with ``random_state``;
    (4) the first ``n`` are shown shortest first. A theme with fewer candidates shows fewer.

    Parameters
    ----------
    data : DataFrame
        One row per respondent.
    column : str
        The open-ended column.
    coded : DataFrame
        :func:`code_themes` of ``data``.
    n : int
        Verbatims per theme.
    min_words, max_chars : int
        The informative rule above.
    random_state : int, Generator or None
        The only source of randomness.
    languages : iterable of str
        Stop words not counted as words.
    labels : mapping, optional
        Theme name -> label.

    Returns
    -------
    DataFrame
        ``theme``, ``theme_label``, ``rank`` (1 = shown first), ``text`` (through
        :func:`display_text`: redacted, escaped for Markdown and HTML, formula-safe; place
        it as is), ``words`` (words that are not stop words), ``themes`` (how many themes
        the comment mentions).
    """
    what = "example_verbatims"
    s = _check_column(data, column, what)
    names = [c for c in _theme_names(coded, data, what) if c != "no_theme"]
    for name, v, lo in (("n", n, 1), ("min_words", min_words, 0), ("max_chars", max_chars, 1)):
        if not isinstance(v, int | np.integer) or isinstance(v, bool) or v < lo:
            raise ValueError(f"{what}: {name} must be an integer >= {lo}, got {v!r}")
    stop = stop_words(languages)
    rng = np.random.default_rng(random_state)
    corpus = _corpus(s, ())
    codes = corpus.codes
    has = coded["has_comment"].to_numpy(dtype=bool) & (codes >= 0)
    cols = ["theme", "theme_label", "rank", "text", "words", "themes"]
    if not names:
        return pd.DataFrame(columns=cols)
    n_themes = coded[names].to_numpy(dtype=bool).sum(axis=1)
    words_cache: dict[int, int] = {}
    rows = []
    for name in names:
        sel = has & coded[name].to_numpy(dtype=bool)
        if not sel.any():
            continue
        uc, first = np.unique(codes[sel], return_index=True)
        others = n_themes[np.flatnonzero(sel)[first]] - 1
        # focused examples first, ties at random; informative ones before the others
        informative: list[int] = []
        rest: list[int] = []
        for k in np.lexsort((rng.random(len(uc)), others)):
            u = uc[k]
            if u not in words_cache:
                words_cache[u] = sum(1 for t in _tokens(corpus.norm[u]) if _term_ok(t, stop))
            if words_cache[u] >= min_words and len(corpus.raw[u].strip()) <= max_chars:
                informative.append(k)
                if len(informative) == n:
                    break
            elif len(rest) < n:
                rest.append(k)
        picked = (informative + rest)[:n]
        length = [len(corpus.raw[uc[k]].strip()) for k in picked]
        order = [picked[i] for i in np.argsort(length, kind="stable")]
        for rank, k in enumerate(order, start=1):
            u = uc[k]
            rows.append(
                {
                    "theme": name,
                    "theme_label": _label(name, labels),
                    "rank": rank,
                    "text": display_text(corpus.raw[u]),
                    "words": int(words_cache[u]),
                    "themes": int(others[k] + 1),
                }
            )
    return pd.DataFrame(rows, columns=cols)


# --------------------------------------------------------------------------------------
# The study file's settings
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CommentSettings:
    """The ``comments`` section of a study file, resolved (see :func:`settings_from_study`)."""

    column: str
    outcome: str | None  # None: no comments.outcome and no kpis.overall
    themes: tuple[Any, ...]
    labels: dict[str, str]
    languages: tuple[str, ...]
    no_comment: tuple[str, ...]
    chinese_match: str


def settings_from_study(study: Study) -> CommentSettings | None:
    """Return the study's open-comment settings, or None when it has no open-ended column.

    Without a ``comments`` section, a study with exactly one ``data.text_columns`` column
    analyses that column with no themes (frequent terms only), English and Chinese stop
    words, and the overall satisfaction item as outcome. The labels name ``no_theme`` in
    the report's language ("No theme matched").
    """
    spec = study.spec
    c = spec.comments
    text = list(spec.data.text_columns)
    if c is None:
        if len(text) != 1:
            return None
        from .study import CommentsSpec

        c = CommentsSpec()
    column = c.column or text[0]
    from .text import template  # the report's words: the label of "no theme"

    return CommentSettings(
        column=column,
        outcome=c.outcome or spec.kpis.overall,
        themes=tuple(c.themes),
        labels={
            "no_theme": template("voice.no_theme", study.language),
            **{t.name: t.label for t in c.themes},
        },
        languages=tuple(c.languages),
        no_comment=tuple(c.no_comment),
        chinese_match=c.chinese_match,
    )


# --------------------------------------------------------------------------------------
# Demo data: comments with planted themes
# --------------------------------------------------------------------------------------
#: (theme, item whose low rating makes the theme likely, the highest code rated low,
#: English and Chinese clauses)
DEMO_CLAUSES: tuple[tuple[str, str, int, tuple[str, ...]], ...] = (
    (
        "hotline_wait",
        "hot_wait",
        2,
        (
            "Hotline kept me waiting for twenty minutes",
            "I was on hold forever when I called the hotline",
            "waiting time on the hotline is too long",
            "客服热线等待时间太长",
            "打热线排队半小时才接通",
        ),
    ),
    (
        "signal",
        "net_indoor",
        2,
        (
            "Signal at home is weak in the evening",
            "5G coverage when travelling is patchy",
            "calls drop indoors, no signal in the lift",
            "家里信号很差",
            "地铁里网络信号不好，经常掉线",
        ),
    ),
    (
        "billing",
        "bill_clear",
        2,
        (
            "The bill is hard to understand",
            "I was charged twice on my bill",
            "billing errors every month",
            "账单看不懂，希望更清楚一些",
            "账单上有不明扣费",
        ),
    ),
    (
        "price",
        "val_price",
        4,
        (
            "Prices went up without notice",
            "too expensive for what you get",
            "the plan price is too high",
            "资费太贵了",
            "套餐价格太高",
        ),
    ),
    (
        "staff",
        "out_staff",
        2,
        (
            "Staff in the shop were very helpful!",
            "the outlet staff were rude",
            "营业厅服务态度很好",
            "营业厅工作人员态度差",
        ),
    ),
    (
        "offers",
        "promo_relevance",
        2,
        (
            "I would like offers that fit me",
            "promotions are never for existing customers",
            "希望有更多适合我的优惠活动",
        ),
    ),
)

#: comments about nothing in the dictionary (they count in the "no theme matched" share)
DEMO_OTHER = (
    "Overall fine, thanks",
    "Great app",
    "no complaints so far",
    "总体还可以",
    "一切都好，谢谢",
    "Been a customer for years",
)
#: answers that mean nothing, and answers that test the display safety
DEMO_JUNK = ("-", "n/a", "无", "没有", "nothing", "  ")
DEMO_HOSTILE = (
    "Bill said <b>€45</b> & then charged €60 <script>alert('x')</script>",
    '=HYPERLINK("http://evil.example/x","refund") my bill is wrong',
    "Call me on +86 138 0013 8000 or mail li.wei@example.com about the hotline waiting",
    "[click here](javascript:alert(1)) signal is bad",
)


def demo_comments(
    ratings: Mapping[str, np.ndarray],
    *,
    has_comment: np.ndarray,
    rng: np.random.Generator,
    base: float = 0.06,
    lift: float = 0.5,
) -> np.ndarray:
    """Open comments for the demo study, with planted themes (for ``analysis_helpers.demo``).

    Each commenter mentions each theme of :data:`DEMO_CLAUSES` independently, with
    probability ``base`` plus ``lift`` when they rated that theme's item low (1-2 of 5,
    1-4 of 10: the third field of :data:`DEMO_CLAUSES`), in a clause of English or Chinese; a commenter who mentions no
    theme writes a clause of :data:`DEMO_OTHER`. So the planted signals are: a theme is
    about nine times as frequent among low ratings of its item (hotline waiting among low
    waiting-time ratings), theme shares move with those ratings across waves (signal
    comments rise in the wave the network's ratings fall) and those who mention a theme
    are less satisfied. 4% of commenters give a junk answer ("-", "n/a", "无"), and each
    hostile answer of :data:`DEMO_HOSTILE` (markup, a spreadsheet formula, an e-mail and a
    phone number, a ``javascript:`` link) is given once per call (per wave).

    Parameters
    ----------
    ratings : mapping of str to array
        Ratings of the respondents for the items of :data:`DEMO_CLAUSES`, on their scales
        (1-5 or 1-10); missing values and codes below 1 count as not low.
    has_comment : array of bool
        Who comments (the others get ``""``).
    rng : Generator
        The source of randomness (give the demo a generator of its own, so that the other
        demo data do not change with the comments).
    base, lift : float
        Mention probability of a theme, and its increase after a low rating.

    Returns
    -------
    ndarray of str (object)
    """
    has_comment = np.asarray(has_comment, dtype=bool)
    n = len(has_comment)
    lows = []
    for _, item, low_max, _ in DEMO_CLAUSES:
        r = np.asarray(ratings[item], dtype=float)
        lows.append((r >= 1) & (r <= low_max))
    low = np.column_stack(lows) if n else np.zeros((0, len(DEMO_CLAUSES)), dtype=bool)
    out = np.full(n, "", dtype=object)
    idx = np.flatnonzero(has_comment)
    u = rng.random(len(idx))
    mention = rng.random((len(idx), len(DEMO_CLAUSES))) < base + lift * low[idx]
    hostile = rng.choice(len(idx), size=min(len(DEMO_HOSTILE), len(idx)), replace=False)
    seps = (", ", "; ", ". ", "，", "。")
    for j, i in enumerate(idx):
        if u[j] < 0.04:
            out[i] = DEMO_JUNK[rng.integers(len(DEMO_JUNK))]
            continue
        themes = rng.permutation(np.flatnonzero(mention[j]))
        parts = [DEMO_CLAUSES[t][3][rng.integers(len(DEMO_CLAUSES[t][3]))] for t in themes]
        if not parts:
            parts = [DEMO_OTHER[rng.integers(len(DEMO_OTHER))]]
        out[i] = seps[rng.integers(len(seps))].join(parts)
    for k, j in enumerate(hostile):
        out[idx[j]] = DEMO_HOSTILE[k]
    return out
