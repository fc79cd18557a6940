"""The sentence builders of the pages 10-clean, 20-describe, 50-drivers and 70-voice in
Chinese (config/demo-zh.yml): every sentence, caption, header and chart text they make
comes from the zh template table, so no English word is left - only the study file's
labels (kept as the study gives them), units and abbreviations such as CSI and NPS - and
the charts draw every Chinese character (a missing glyph fails the test).

The builders run on the demo as the notebooks call them (the drivers without bootstrap
replicates, to stay fast); the same calls in English give the English sentences."""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib.pyplot as plt
import pytest

from analysis_helpers import cleaning as cl
from analysis_helpers import comments as cm
from analysis_helpers import describe as ds
from analysis_helpers import driver_report as dr
from analysis_helpers import voice_report as vr
from analysis_helpers.cleaning_plots import plot_funnel
from analysis_helpers.describe_plots import distribution_chart, gap_chart
from analysis_helpers.driver_plots import penalty_reward_chart, quadrant_chart
from analysis_helpers.drivers import action_list
from analysis_helpers.estimation import sample_profile
from analysis_helpers.formatting import format_table
from analysis_helpers.kpis import cronbach_alpha, csi
from analysis_helpers.plots import apply_theme
from analysis_helpers.safe_output import Md, plain_text, render_markdown
from analysis_helpers.study import load_study
from analysis_helpers.study_tables import (
    banded_distribution,
    cut_bases,
    expectation_gaps,
    flag_bases,
    hierarchy_table,
    kpi_summary,
    profile_by_segment,
    study_design,
    weighting_by_wave,
)

ROOT = Path(__file__).resolve().parents[1]

#: words that are no English left over: units, abbreviations, method names, file names
ALLOWED = {
    "CSI", "NPS", "KPI", "CI", "LMG", "Shapley", "Pratt", "beta", "Alpha", "Holm",
    "Benjamini", "Hochberg", "Bonferroni", "df", "pp", "csv", "problems", "kpis", "loyalty",
    "nps", "overall", "data", "duration", "respondent_id", "n/a",
}  # fmt: skip
WORD = re.compile(r"[A-Za-z][A-Za-z_]+")


def study_words(study) -> set[str]:
    """Return every word of the study file's labels: items, areas, segments, waves, themes."""
    spec = study.spec
    texts = [study.title, study.client or "", *study.wave_labels().values()]
    texts += [study.label(n) for n in study.items]
    texts += [study.label(a.name) for a in spec.areas] + indicator_labels(study)
    for col in study.segment_columns():
        seg = study.segment(col)
        texts += [seg.title, col, *map(str, seg.values.values()), *map(str, seg.values)]
    if spec.comments is not None:
        texts += [t.label for t in spec.comments.themes]
    texts += list(spec.data.text_columns)
    return {w for t in texts for w in WORD.findall(str(t))}


def indicator_labels(study) -> list[str]:
    """Return the labels of the study's indicators."""
    return [study.label(i) for i in study.hierarchy()["indicator"].dropna().unique() if i]


def english(text: str, allowed: set[str]) -> list[str]:
    """Return the ASCII words of ``text`` that are neither a label's nor allowed."""
    return [w for w in WORD.findall(text) if w not in allowed and w not in ALLOWED]


def shown(x) -> str:
    """Return a sentence (Md) or a caption as the reader sees it."""
    return plain_text(render_markdown(x)) if isinstance(x, Md) else str(x)


#: a chart that cannot draw a Chinese character fails the test (the theme's CJK font)
pytestmark = pytest.mark.filterwarnings("error:Glyph .* missing from font")


@pytest.fixture(scope="module")
def zh():
    apply_theme()  # as setup() does in every notebook: the bundled CJK font
    study = load_study(ROOT / "config/demo-zh.yml")
    result = cl.clean(study)
    return study, result


def describe_texts(study, data) -> list[str]:
    """Every text of the describe page's builders, called as 20-describe does."""
    lang = study.language
    current = ds.pick_wave(data, study=study)
    now = data[data[study.wave_column] == current]
    out = [ds.overview(data, study=study, wave=current)]
    profile = flag_bases(profile_by_segment(now, study=study), study=study)
    total = sample_profile(now, design=study_design(study)).iloc[0]
    out += [ds.profile_takeaway(profile, study=study, total=total)]
    out += [h for h in ds.profile_columns(study).values() if h]
    by_wave = flag_bases(profile_by_segment(data, study=study, by=[study.wave_column]), study=study)
    out += [ds.wave_profile_takeaway(by_wave, study=study), *ds.wave_profile_labels(study).values()]
    weights = flag_bases(weighting_by_wave(data, study=study), study=study, value_cols=[])
    out += [ds.weighting_takeaway(weights, study=study, wave=current)]
    out += [h for h in ds.weighting_columns(weights, lang).values() if h]
    kpis = flag_bases(kpi_summary(now, study=study), study=study)
    out += [ds.kpi_takeaway(kpis, study=study), *ds.kpi_titles(kpis, lang).values()]
    out += list(ds.kpi_view(kpis, lang)["scale"]) + list(kpis["label"])
    view = format_table(ds.kpi_view(kpis, lang), ds.localise_columns(ds.KPI_COLUMNS, lang),
                        study=study)  # fmt: skip
    out += [" ".join(c.label) for c in view.columns] + view.notes
    index = csi(now, hierarchy=study.hierarchy(), design=study_design(study))
    areas = index[index["level"] == "area"].assign(area=lambda t: t["name"].map(study.label))
    out += [ds.area_takeaway(areas, study=study)]
    dist = flag_bases(banded_distribution(now, study=study), study=study)
    out += [ds.distribution_note(dist, study=study), ds.distribution_takeaway(dist, lang)]
    axes = distribution_chart(dist, by="area", labels=study.labels(), by_labels=study.labels(),
                              title=ds.distribution_title(dist, study=study, wave=current),
                              language=lang)  # fmt: skip
    fig = axes[0].figure
    out += [fig._suptitle.get_text(), *(ax.get_xlabel() for ax in axes)]
    out += [ax.get_legend().get_title().get_text() for ax in axes]
    plt.close(fig)
    tree = flag_bases(hierarchy_table(now, study=study), study=study, value_cols=ds.HIERARCHY_STATS)
    out += [ds.hierarchy_takeaway(tree, study=study)]
    out += [h for h in ds.hierarchy_columns(study).values() if h]
    out += list(ds.hierarchy_view(tree, lang)["level"].unique())
    gaps = flag_bases(expectation_gaps(now, study=study), study=study)
    out += [ds.gap_takeaway(gaps, study=study)]
    out += [h for h in ds.localise_columns(ds.GAP_COLUMNS, lang).values() if h]
    ax = gap_chart(gaps, label="label", expectation="expectation_100",
                   satisfaction="satisfaction_100", language=lang)  # fmt: skip
    out += [ax.get_xlabel(), *(t.get_text() for t in ax.get_legend().get_texts())]
    plt.close(ax.figure)
    blocks = ds.reliability_blocks(study, data=now)
    rel = cronbach_alpha(now, blocks=blocks, design=study_design(study))
    rel = flag_bases(rel.assign(area=rel["block"].map(study.label)), study=study,
                     value_cols=["alpha", "alpha_standardized", "ci_low", "ci_high"])  # fmt: skip
    out += [ds.reliability_takeaway(rel, study=study, min_alpha=0.7)]
    bases = cut_bases(now, study=study)
    out += [ds.bases_takeaway(bases, study=study)]
    out += [h for h in ds.localise_columns(ds.BASES_COLUMNS, lang).values() if h]
    grid_cols = ds.choose_cut(bases)
    cells = ds.cut_cells(now, study=study, columns=grid_cols)
    out += [
        ds.cut_caption(study, grid_cols),
        ds.cut_takeaway(cells, study=study, columns=grid_cols),
    ]
    return [shown(t) for t in out]


def driver_texts(study, data) -> list[str]:
    """Every text of the drivers page's builders (no bootstrap), as 50-drivers calls them."""
    lang = study.language
    plan = dr.driver_setup(study, n_boot=0, random_state=1)
    scores = dr.driver_data(data, study=study, setup=plan)
    out = [dr.intro_takeaway(plan, scores, study=study), dr.skipped_note(lang)]
    imp = dr.outcome_importance(scores, study=study, setup=plan)
    show = dr.importance_display(imp, setup=plan)
    out += [show["caption"], *(h for h in show["columns"].values() if h)]
    out += [dr.importance_takeaway(imp, study=study, outcome=plan.outcome)]
    perm = dr.permutation_display(plan)
    out += [perm["caption"], *(h for h in perm["columns"].values() if h)]
    ipa_in = dr.ipa_inputs(scores, study=study, setup=plan, importance=imp)
    ipa = dr.ipa_table(ipa_in, study=study)
    actions = action_list(ipa)
    shown_actions = dr.action_display(actions, ipa_in)
    out += [shown_actions["caption"], *(h for h in shown_actions["columns"].values() if h)]
    out += [dr.ipa_takeaway(ipa, actions, crosshair=ipa_in.crosshair, noun=ipa_in.level,
                            language=lang), ipa_in.unit]  # fmt: skip
    if ipa_in.level == "area":
        out += [dr.ipa_fallback_sentence(ipa_in, n_areas=len(ipa))]
    ax = quadrant_chart(ipa.assign(item=ipa["label"]), language=lang)
    out += [ax.get_xlabel(), ax.get_ylabel(), *(t.get_text() for t in ax.texts[:4])]
    plt.close(ax.figure)
    pr_plan = dr.penalty_reward_plan(scores, study=study, setup=plan)
    prca, why = dr.run_penalty_reward(scores, pr_plan, study=study, outcome=plan.outcome,
                                      design=study_design(study))  # fmt: skip
    if prca is None:
        out += [why]
    else:
        out += [dr.penalty_reward_takeaway(prca, pr_plan, study=study, outcome=plan.outcome)]
        out += list(prca["factor_label"].unique())
        factors = dr.factor_display(pr_plan)
        out += [factors["caption"], *(h for h in factors["columns"].values() if h)]
        ax = penalty_reward_chart(prca.assign(driver=prca["label"]), language=lang)
        out += [ax.get_xlabel(), *(t.get_text() for t in ax.get_legend().get_texts())]
        plt.close(ax.figure)
    if plan.loyalty is not None and dr.loyalty_problem(scores, study=study, setup=plan) is None:
        loy = dr.outcome_importance(scores, study=study, setup=plan, outcome=plan.loyalty)
        out += [dr.loyalty_takeaway(imp, loy, study=study, outcome=plan.outcome,
                                    loyalty=plan.loyalty)]  # fmt: skip
    for kind in ("segment", "wave"):
        groups = dr.group_drivers(data, study=study, setup=plan, kind=kind)
        out += [groups.title, groups.problem if groups.problem is not None else groups.takeaway()]
    weights = dr.index_weight_table(imp, scores, study=study)
    shown_weights = dr.index_weight_display(weights, lang)
    out += [shown_weights["caption"], *(h for h in shown_weights["columns"].values() if h)]
    out += [dr.index_weight_takeaway(weights, study=study)]
    return [shown(t) for t in out]


def voice_texts(study, data) -> list[str]:
    """Every text of the voice page's builders, as 70-voice calls them."""
    lang = study.language
    settings = cm.settings_from_study(study)
    current = ds.pick_wave(data, study=study)
    now = data[data[study.wave_column] == current]
    design = study_design(study)
    coded_all = cm.code_themes(data, column=settings.column, themes=list(settings.themes),
                               no_comment=settings.no_comment,
                               chinese_match=settings.chinese_match)  # fmt: skip
    coded = coded_all.loc[now.index]
    out = [vr.voice_overview(now, coded=coded, column=settings.column, study=study)]
    shares = cm.theme_shares(now, coded=coded, design=design, labels=settings.labels)
    out += [vr.theme_takeaway(shares, language=lang), *shares["theme_label"]]
    waves = sorted(data[study.wave_column].astype(str).unique(), key=study.waves.index)
    changes = cm.theme_changes(data, coded=coded_all, by=study.wave_column, values=waves,
                               design=design, alpha=study.reporting.alpha,
                               correction=study.reporting.correction,
                               labels=settings.labels)  # fmt: skip
    previous = waves[waves.index(current) - 1]
    out += [vr.change_takeaway(changes, study=study, wave=current, previous=previous)]
    column = study.segment_columns()[0]
    diffs = vr.segment_theme_differences(now, coded=coded, segment=column, study=study,
                                         design=design, labels=settings.labels)  # fmt: skip
    out += vr.segment_takeaways(diffs, study=study)
    outcomes = cm.theme_outcomes(now, coded=coded, outcome=settings.outcome, design=design,
                                 alpha=study.reporting.alpha,
                                 correction=study.reporting.correction,
                                 labels=settings.labels)  # fmt: skip
    out += vr.outcome_takeaways(outcomes, study=study, outcome=settings.outcome)
    return [shown(t) for t in out]


def test_the_cleaning_sentences_are_in_chinese(zh):
    study, result = zh
    allowed = study_words(study) | set(result.alignment["column"].astype(str))
    allowed |= {w for r in result.log["reason"].astype(str) for w in WORD.findall(r)}
    texts = [shown(t) for t in cl.cleaning_takeaways(result, study).values()]
    texts += [*cl.rule_labels("zh").values(), *cl.problem_labels("zh").values()]
    ax = plot_funnel(result.funnel, wave_labels=study.wave_labels(), language="zh")
    texts += [ax.get_title(), ax.get_ylabel(), *(t.get_text() for t in ax.get_xticklabels())]
    texts += [t.get_text() for t in ax.get_legend().get_texts()]
    plt.close(ax.figure)
    left = {t: english(t, allowed) for t in texts if english(t, allowed)}
    assert left == {}
    read, kept = int(result.funnel["read"].sum()), int(result.funnel["analysed"].sum())
    assert texts[2].startswith(f"读取的 {read:,} 行中，{kept:,} 行（")  # the rules' takeaway


def test_the_describe_sentences_are_in_chinese(zh):
    study, result = zh
    texts = describe_texts(study, result.data)
    allowed = study_words(study)
    left = {t: english(t, allowed) for t in texts if english(t, allowed)}
    assert left == {}
    assert any(t.startswith("加权后，") for t in texts)  # the profile's weighted takeaway


def test_the_driver_sentences_are_in_chinese(zh):
    study, result = zh
    texts = driver_texts(study, result.data)
    left = {t: english(t, study_words(study)) for t in texts if english(t, study_words(study))}
    assert left == {}
    assert any("最为重要，占已解释变异的" in t for t in texts)


def test_the_voice_sentences_are_in_chinese(zh):
    study, result = zh
    texts = voice_texts(study, result.data)
    left = {t: english(t, study_words(study)) for t in texts if english(t, study_words(study))}
    assert left == {}
    assert any("位受访者中有" in t and "留下了评论" in t for t in texts)


def test_the_same_builders_in_english_read_english(zh):
    study, result = zh
    en = load_study(ROOT / "config/demo.yml")
    texts = describe_texts(en, result.data)
    assert any(t.startswith("The ") and "interviews are worth an effective sample" in t
               for t in texts)  # fmt: skip
    assert "Base" in texts and "95% CI" in texts and "Top-2-box loyalty" in " ".join(texts)
    # Chinese only in the demo's bilingual labels, never in the words around them
    assert not [t for t in texts if re.search(r"[\u4e00-\u9fff]", english_free(t, en))]


def english_free(text: str, study) -> str:
    """Return ``text`` without the study's labels (the demo's labels are bilingual)."""
    labels = [study.label(n) for n in study.items] + [study.label(a.name) for a in study.spec.areas]
    labels += (
        indicator_labels(study)
        + [study.title]
        + [s.title for s in map(study.segment, study.segment_columns())]
    )
    for col in study.segment_columns():
        labels += [str(v) for v in study.segment(col).values.values()]
    for label in sorted(labels, key=len, reverse=True):
        text = text.replace(label, "")
    return text
