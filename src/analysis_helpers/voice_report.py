"""The customer-voice page (``70-voice``): open comments as themes, in a client's words.

The estimators live in :mod:`analysis_helpers.comments` (tokenising, theme coding,
design-based theme shares and tests, themes as drivers, safe verbatims); this module turns
their tables into what the page shows: the overview sentence, each segment value's themes
against the rest of the sample, and the takeaways. Every sentence takes its numbers from
a computed table, and nothing that is not significant is called a difference or a change.

References
----------
Rao, J. N. K. and Scott, A. J. (1984). On chi-squared tests for multiway contingency tables
with cell proportions estimated from survey data. *Annals of Statistics* 12(1), 46-60
(the design-based comparison of shares behind :func:`segment_theme_differences`).
Holm, S. (1979). A simple sequentially rejective multiple test procedure. *Scandinavian
Journal of Statistics* 6(2), 65-70.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .comments import theme_differences
from .estimation import SurveyDesign
from .formatting import fmt_change, fmt_p
from .safe_output import Md, md
from .study import Study
from .text import join, size, template, text
from .trend import adjust_p

__all__ = [
    "voice_overview",
    "theme_takeaway",
    "change_takeaway",
    "segment_theme_differences",
    "segment_takeaways",
    "outcome_takeaways",
    "verbatim_blocks",
    "terms_takeaway",
]

_NO_THEME = "no_theme"
_CORRECTIONS = {"holm": "Holm", "fdr_bh": "Benjamini-Hochberg", "bonferroni": "Bonferroni"}


def _lang(study: Study | str) -> str:
    return study if isinstance(study, str) else study.language


def _t(study: Study | str, key: str, /, **values: Any) -> Md:
    """Return the sentence of ``key`` in the study's language (see :mod:`.text`)."""
    return text(key, _lang(study), **values)


def _test_words(study: Study) -> str:
    """Say how the page names its test: ``"p < 0.05, Holm-adjusted"`` (in the study's language)."""
    rep = study.reporting
    if rep.correction in _CORRECTIONS:
        return template("test.adjusted", study.language).format(
            alpha=f"{rep.alpha:g}", correction=_CORRECTIONS[rep.correction]
        )
    return template("test.plain", study.language).format(alpha=f"{rep.alpha:g}")


def voice_overview(
    data: pd.DataFrame,
    *,
    coded: pd.DataFrame,
    column: str,
    study: Study,
) -> Md:
    """Return the page's opening sentence: who left a comment, and what did not count.

    Parameters
    ----------
    data : DataFrame
        Clean analysis data (the rows the page works on).
    coded : DataFrame
        :func:`~analysis_helpers.comments.code_themes` of ``data``.
    column : str
        The open-ended column.
    study : Study
        Gives the weight column (the weighted share is reported when the study is
        weighted).

    Returns
    -------
    Md
        E.g. "2,780 of 9,008 respondents left a comment (31%, weighted 30%); 118 answers
        such as "n/a" or "-" count as no comment."
    """
    n = len(data)
    has = coded["has_comment"].to_numpy(dtype=bool)
    k = int(has.sum())
    text = data[column].astype("string").fillna("").str.strip()
    junk = int(((text != "") & ~has).sum())
    share = k / n if n else float("nan")
    weighted = ""
    if study.is_weighted and study.weight_column in data.columns and n:
        w = pd.to_numeric(data[study.weight_column], errors="coerce").fillna(0).to_numpy()
        if w.sum() > 0:
            weighted = _t(study, "voice.weighted", share=float(w[has].sum() / w.sum()))
    out = _t(
        study,
        "voice.overview",
        k=k,
        n=n,
        share=share,
        weighted=Md(weighted),
    )
    if junk:
        out = _t(study, "voice.junk_one" if junk == 1 else "voice.junk", head=out, junk=junk)
    return out


def theme_takeaway(shares: pd.DataFrame, *, top: int = 3, language: str = "en") -> Md:
    """Return the sentence naming the themes mentioned most, with their shares.

    Parameters
    ----------
    shares : DataFrame
        :func:`~analysis_helpers.comments.theme_shares` of one group (one row per theme;
        ``no_theme`` is reported last, as the share that matched no theme).
    top : int
        How many themes to name.
    language : str
        The sentence's language (``"en"`` or ``"zh"``).

    Returns
    -------
    Md
        E.g. "Commenters write most about **Offers** (24%), **Network signal** (20%)
        and **Hotline waiting** (12%); 40% of the comments match no theme."
    """
    themes = shares[shares["theme"] != _NO_THEME].sort_values("estimate", ascending=False)
    themes = themes[themes["estimate"] > 0].head(top)
    if themes.empty:
        return _t(language, "voice.no_theme_mentioned")
    parts = [
        _t(language, "voice.share_item", t=r.theme_label, s=r.estimate) for r in themes.itertuples()
    ]
    out = _t(language, "voice.themes_most", themes=join(parts, language))
    rest = shares[shares["theme"] == _NO_THEME]
    if len(rest) and rest["estimate"].iloc[0] > 0:
        out = _t(language, "voice.themes_rest", head=out, share=float(rest["estimate"].iloc[0]))
    else:
        out = _t(language, "voice.themes_end", head=out)
    return out


def change_takeaway(changes: pd.DataFrame, *, study: Study, wave: str, previous: str | None) -> Md:
    """Return the sentence on which themes changed significantly into ``wave``, and before.

    Parameters
    ----------
    changes : DataFrame
        :func:`~analysis_helpers.comments.theme_changes` by wave (``direction`` is
        ``"rise"`` / ``"fall"`` only when the change is significant after correction).
    study : Study
        Gives wave labels and the test's wording.
    wave, previous : str
        The wave described and the one before it (None: no earlier wave).

    Returns
    -------
    Md
        E.g. "From Q1 2025 to Q2 2025, no theme's share changed significantly (p < 0.05,
        Holm-adjusted). Earlier, **Network signal** rose 6.9 pp to 20% from Q3 2024 to
        Q4 2024 (p = 0.031)."
    """
    themes = changes[changes["theme"] != _NO_THEME]
    moved = themes[themes["direction"] != ""]
    into = moved["value_2"].astype(str) == str(wave)
    test = _test_words(study)
    lang = study.language
    if previous is None:
        head = _t(study, "voice.first_wave", wave=study.wave_label(wave))
    else:
        span = _t(
            study,
            "voice.span",
            a=study.wave_label(str(previous)),
            b=study.wave_label(str(wave)),
        )
        now = moved[into].sort_values("estimate", key=np.abs, ascending=False)
        if now.empty:
            head = _t(study, "voice.no_change", span=span, test=test)
        else:
            parts = [_move(r, lang) for r in now.itertuples()]
            head = _t(study, "voice.changes", span=span, parts=join(parts, lang), test=test)
    before = moved[~into].sort_values("estimate", key=np.abs, ascending=False)
    if before.empty:
        return head
    parts = [
        _t(
            study,
            "voice.move_span",
            move=_move(r, lang, p=False),
            a=study.wave_label(str(r.value_1)),
            b=study.wave_label(str(r.value_2)),
        )
        for r in before.head(3).itertuples()
    ]
    return _t(study, "voice.earlier", head=head, parts=join(parts, lang))


def _move(r: Any, language: str = "en", *, p: bool = True) -> Md:
    """Return "**Network signal** rose 6.9 pp to 20% (p = 0.031)" for a change row."""
    text = _t(
        language,
        "voice.rose" if r.direction == "rise" else "voice.fell",
        t=r.theme_label,
        d=size(abs(r.estimate), "share", language)
        if language != "en"
        else fmt_change(abs(r.estimate), "share").lstrip("+"),
        s=r.estimate_2,
    )
    if not p:
        return text
    return _t(language, "voice.with_p", text=text, p=fmt_p(r.p_adjusted, prefix=True))


def segment_theme_differences(
    data: pd.DataFrame,
    *,
    coded: pd.DataFrame,
    segment: str,
    study: Study,
    design: SurveyDesign | None = None,
    labels: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Compare each segment value's theme shares with the rest of the sample.

    For every value of ``segment`` and every theme, the share of commenters of that value
    mentioning the theme against the share among all other commenters, with the SE of the
    difference from the survey design (:func:`~analysis_helpers.comments.
    theme_differences`). The p-values of all value x theme pairs are adjusted together
    with the study's correction, so a page can list the significant ones without
    inflating the error rate.

    Parameters
    ----------
    data : DataFrame
        Clean analysis data with the segment column.
    coded : DataFrame
        :func:`~analysis_helpers.comments.code_themes` of ``data``.
    segment : str
        The segment column.
    study : Study
        Gives the segment's value labels and order, ``reporting.alpha``,
        ``reporting.confidence`` and ``reporting.correction``.
    design : SurveyDesign, optional
        The study's design (:func:`~analysis_helpers.study_tables.study_design`).
    labels : mapping, optional
        Theme name -> label.

    Returns
    -------
    DataFrame
        One row per value and theme (``no_theme`` left out): ``segment``, ``value``,
        ``value_label``, ``theme``, ``theme_label``, ``n`` (unweighted commenters of the
        value), ``n_rest``, ``estimate`` (share in the value), ``estimate_rest``,
        ``difference`` (value minus rest, in [-1, 1]), ``se``, ``p_value``,
        ``p_adjusted``, ``significant``, ``direction`` (``"above"`` / ``"below"`` when
        significant, else ``""``). Values without a commenter, or whose commenters are
        all of the sample, are left out.
    """
    cols = [
        "segment", "value", "value_label", "theme", "theme_label", "n", "n_rest",
        "estimate", "estimate_rest", "difference", "se", "p_value", "p_adjusted",
        "significant", "direction",
    ]  # fmt: skip
    seg = study.segment(segment)
    rep = study.reporting
    codes = data[segment].astype("string")
    commented = coded["has_comment"].to_numpy(dtype=bool)
    parts = []
    for value, value_label in seg.values.items():
        mine = (codes == str(value)).fillna(False).to_numpy(dtype=bool)
        if not (mine & commented).any() or not (~mine & commented).any():
            continue
        work = data.assign(_versus=np.where(mine, "value", "rest"))
        t = theme_differences(
            work,
            coded=coded,
            by="_versus",
            values=["rest", "value"],  # the difference is value_2 - value_1
            design=design,
            confidence=rep.confidence,
            alpha=rep.alpha,
            correction="none",
            labels=labels,
        )
        t = t[t["theme"] != _NO_THEME]
        parts.append(
            pd.DataFrame(
                {
                    "segment": segment,
                    "value": value,
                    "value_label": value_label,
                    "theme": t["theme"].to_numpy(),
                    "theme_label": t["theme_label"].to_numpy(),
                    "n": t["n_2"].to_numpy(),
                    "n_rest": t["n_1"].to_numpy(),
                    "estimate": t["estimate_2"].to_numpy(),
                    "estimate_rest": t["estimate_1"].to_numpy(),
                    "difference": t["estimate"].to_numpy(),
                    "se": t["se"].to_numpy(),
                    "p_value": t["p_value"].to_numpy(),
                }
            )
        )
    if not parts:
        return pd.DataFrame(columns=cols)
    out = pd.concat(parts, ignore_index=True)
    out["p_adjusted"] = adjust_p(out["p_value"], correction=rep.correction)
    out["significant"] = out["p_adjusted"] < rep.alpha
    out["direction"] = np.where(
        out["significant"], np.where(out["difference"] > 0, "above", "below"), ""
    )
    return out[cols]


def segment_takeaways(diffs: pd.DataFrame, *, study: Study, top: int = 4) -> list[Md]:
    """Return sentences for the largest significant theme differences by segment value.

    Parameters
    ----------
    diffs : DataFrame
        :func:`segment_theme_differences`.
    study : Study
        Gives the segment's title and the test's wording.
    top : int
        At most this many sentences, largest difference first.

    Returns
    -------
    list of Md
        E.g. "**High-bill** customers mention **Bills and charges** more often than the
        rest: 21% of their comments against 11% (p < 0.001, n = 420)." One sentence
        saying no value differs when none does.
    """
    sig = diffs[diffs["significant"].astype(bool)] if len(diffs) else diffs
    if sig.empty:
        title = study.segment(diffs["segment"].iloc[0]).title if len(diffs) else ""
        return [
            _t(
                study,
                "voice.no_segment_difference",
                segment=title or template("drivers.kind_segment", study.language),
                test=_test_words(study),
            )
        ]
    sig = sig.sort_values("difference", key=np.abs, ascending=False).head(top)
    out = []
    for r in sig.itertuples():
        out.append(
            _t(
                study,
                "voice.segment_more" if r.difference > 0 else "voice.segment_less",
                group=r.value_label,
                segment=study.segment(r.segment).title,
                theme=r.theme_label,
                s=r.estimate,
                rest=r.estimate_rest,
                p=fmt_p(r.p_adjusted, prefix=True),
                n=int(r.n),
            )
        )
    return out


def outcome_takeaways(
    outcomes: pd.DataFrame, *, study: Study, outcome: str, top: int = 3
) -> list[Md]:
    """Return sentences on the themes whose mention goes with the lowest outcome.

    Parameters
    ----------
    outcomes : DataFrame
        :func:`~analysis_helpers.comments.theme_outcomes` of one group.
    study : Study
        Gives the outcome's label and scale, and the test's wording.
    outcome : str
        The outcome item.
    top : int
        At most this many sentences (largest significant gaps first, either sign).

    Returns
    -------
    list of Md
        E.g. "Those who mention **Network signal** rate overall satisfaction 0.69
        points lower than the other commenters (5.96 against 6.66, p < 0.001, n = 454)."
    """
    label = _in_sentence(study.label(outcome)) if study.language == "en" else study.label(outcome)
    ok = outcomes[outcomes["significant"].fillna(False).astype(bool)]
    ok = ok[ok["theme"] != _NO_THEME]
    if ok.empty:
        return [_t(study, "voice.no_outcome_difference", label=label, test=_test_words(study))]
    ok = ok.sort_values("estimate", key=np.abs, ascending=False).head(top)
    out = []
    for r in ok.itertuples():
        out.append(
            _t(
                study,
                "voice.outcome_lower" if r.estimate < 0 else "voice.outcome_higher",
                theme=r.theme_label,
                label=label,
                gap=abs(r.estimate),
                a=r.mean_mention,
                b=r.mean_other,
                p=fmt_p(r.p_adjusted, prefix=True),
                n=int(r.n_mention),
            )
        )
    return out


def verbatim_blocks(verbatims: pd.DataFrame) -> list[Md]:
    """Return one Markdown block per theme: its label and its example comments as quotes.

    Parameters
    ----------
    verbatims : DataFrame
        :func:`~analysis_helpers.comments.example_verbatims` (``text`` is redacted and
        escaped there, so it is placed as it is).

    Returns
    -------
    list of Md
        ``**Network signal**`` followed by one quoted line per example, in rank order.
    """
    out = []
    for _, group in verbatims.sort_values(["theme", "rank"], kind="stable").groupby(
        "theme", sort=False
    ):
        lines = [str(md("**{t}**", t=group["theme_label"].iloc[0]))]
        lines += [f"> “{text}”\n>" for text in group["text"]]
        out.append(Md("\n".join(lines).rstrip(">").rstrip()))
    order = list(dict.fromkeys(verbatims["theme"]))
    keyed = dict(zip(sorted(order), out, strict=True))
    return [keyed[t] for t in order]


def terms_takeaway(terms: pd.DataFrame, *, top: int = 5, language: str = "en") -> Md:
    """Return the sentence naming the most frequent words of the comments.

    For a study without a theme dictionary: what customers write about, as words.

    Parameters
    ----------
    terms : DataFrame
        :func:`~analysis_helpers.comments.frequent_terms` of one group.
    top : int
        How many single words to name.
    language : str
        The sentence's language (``"en"`` or ``"zh"``).

    Returns
    -------
    Md
        E.g. "The words used most are **signal** (14% of commenters), **bill** (12%) ..."
    """
    words = terms[terms["ngram"] == 1].sort_values("rank").head(top)
    if words.empty:
        return _t(language, "voice.no_words")
    parts: Sequence[Md] = [
        _t(language, "voice.share_item", t=r.term, s=r.share) for r in words.itertuples()
    ]
    return _t(language, "voice.words", parts=join(parts, language))


def _in_sentence(label: str) -> str:
    """Return a label as it reads inside a sentence: its first letter in lower case.

    "Overall satisfaction" -> "overall satisfaction"; acronyms and labels that start with
    a non-Latin letter are kept.
    """
    if len(label) > 1 and label[0].isupper() and label[1].islower() and label[0].isascii():
        return label[0].lower() + label[1:]
    return label
