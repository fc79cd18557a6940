"""The action register: whether an action moved the items it targeted (30-trend).

The study file lists the actions taken (``actions:``: a name, the areas or items targeted,
the wave from which the action can show, optionally the segments it reached). Each action
is evaluated as a **difference in differences**: the change of the targeted items' score
from the waves before the action to the waves from its start on, minus the change of
comparable items that were not targeted, over the same respondents and waves. A change
that the whole survey shares (a general mood, a sample shift, a turning point elsewhere)
moves both and cancels out; what is left is the part of the change that belongs to the
targeted items.

Scores are per respondent: the mean of the answered targeted (comparison) items, each
rescaled to 0-100 with its scale. The four domain means (targeted / comparison x before /
after) are estimated on the whole design (:mod:`~analysis_helpers._design`: domains keep
the design's strata and PSUs, as R ``svyby`` does) and the contrast's standard error comes
from their joint influence values, as R ``svycontrast(svyby(~targeted + comparison,
~period, D, svymean, covmat=TRUE), c(-1, 1, 1, -1))`` (the test checks it against R's
numbers). An action "worked" when the difference is positive and significant after the
study's correction over the actions.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from ._checks import check_columns, check_confidence, numeric_values
from ._design import SurveyDesign, mean_parts, normal_quantile, setup
from .formatting import fmt_ci, fmt_p
from .safe_output import Md
from .study import ActionSpec, Study, code_text
from .study_tables import study_design
from .text import join, text, words
from .trend import adjust_p
from .trend_decompose import wave_text

__all__ = [
    "difference_in_differences",
    "action_items",
    "action_scores",
    "evaluate_actions",
    "action_waves",
    "action_sentence",
    "pre_trend_sentence",
    "actions_takeaway",
    "ACTION_COLUMNS",
]

#: the columns of :func:`evaluate_actions`
ACTION_COLUMNS = [
    "action", "label", "targets", "compare", "segments", "start", "before_waves",
    "after_waves", "n_before", "n_after", "targeted_before", "targeted_after",
    "targeted_change", "compare_before", "compare_after", "compare_change", "estimate",
    "se", "ci_low", "ci_high", "statistic", "p_value", "p_adjusted", "significant",
    "verdict", "reason", "pre_from", "pre_to", "pre_estimate", "pre_se", "pre_p_value",
    "pre_trend",
]  # fmt: skip


def difference_in_differences(
    data: pd.DataFrame,
    *,
    targeted: str,
    comparison: str,
    period: str,
    values: Sequence = ("before", "after"),
    domain: str | None = None,
    design: SurveyDesign | None = None,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Estimate a difference in differences of two scores between two periods.

    ``(targeted_after - targeted_before) - (comparison_after - comparison_before)``: four
    domain means of the same design, their changes and the contrast, each with its
    design-based standard error from the joint influence values of the four means (so the
    covariance between periods that share strata or PSUs, and between the two scores of
    the same respondents, is taken into account).

    Parameters
    ----------
    data : DataFrame
        One row per respondent.
    targeted, comparison : str
        Numeric columns: each respondent's score on the targeted and on the comparison
        items (missing values are a domain: the row stays in the design).
    period : str
        The column that names each respondent's period.
    values : pair
        The ``(before, after)`` values of ``period``; rows with other values belong to no
        period but stay in the design.
    domain : str, optional
        A boolean column: only these respondents (e.g. the segment an action reached)
        form the domains; the others stay in the design.
    design : SurveyDesign, optional
        The sampling design (None: simple random sampling, weight 1).
    confidence : float
        Confidence level of the intervals.

    Returns
    -------
    DataFrame
        One row: ``n_before``, ``n_after`` (respondents with a targeted score),
        ``targeted_before``, ``targeted_after``, ``targeted_change``,
        ``targeted_change_se``, ``compare_before``, ``compare_after``, ``compare_change``,
        ``compare_change_se``, ``estimate`` (the difference in differences), ``se``,
        ``ci_low``, ``ci_high`` (normal, as ``confint`` of ``svycontrast``),
        ``statistic`` (z) and ``p_value`` (two-sided).

    Raises
    ------
    ValueError
        ``values`` is not two different values present in ``period``, or a period has
        no respondent with both scores.

    References
    ----------
    Lumley, T. (2010). *Complex Surveys: A Guide to Analysis Using R*. Wiley (domain means,
    ``svycontrast``). Angrist, J. D., & Pischke, J.-S. (2009). *Mostly Harmless
    Econometrics*. Princeton University Press, ch. 5 (difference in differences).

    Examples
    --------
    The targeted score rises by 10 points, the comparison score by 4: the difference in
    differences is 6.

    >>> df = pd.DataFrame(
    ...     {
    ...         "t": [50.0, 60, 55, 65, 70, 60],
    ...         "c": [40.0, 50, 45, 49, 54, 47],
    ...         "p": ["before"] * 3 + ["after"] * 3,
    ...     }
    ... )
    >>> r = difference_in_differences(df, targeted="t", comparison="c", period="p")
    >>> r[["targeted_change", "compare_change", "estimate"]].round(4)
       targeted_change  compare_change  estimate
    0             10.0             5.0       5.0
    """
    func = "difference_in_differences"
    confidence = check_confidence(confidence, func)
    check_columns(data, [period], "period", func)
    if domain is not None:
        check_columns(data, [domain], "domain", func)
    values = list(values)
    if len(values) != 2 or values[0] == values[1]:
        raise ValueError(f"{func}: values must be two different values of {period!r}")
    prep, groups = setup(data, design, (), [targeted, comparison], func=func)
    s = data[period]
    inside = (
        np.ones(len(data), dtype=bool)
        if domain is None
        else data[domain].fillna(False).to_numpy(dtype=bool)
    )
    y = {c: numeric_values(data, c, "score", func) for c in (targeted, comparison)}
    both = ~np.isnan(y[targeted]) & ~np.isnan(y[comparison]) & inside
    parts = {}
    for v in values:
        in_period = s.eq(v).to_numpy(dtype=bool, na_value=False) & both
        if not in_period.any():
            raise ValueError(
                f"{func}: no respondent of period {v!r} (column {period!r}) has both scores"
            )
        for c in (targeted, comparison):
            parts[c, v] = mean_parts(groups, y[c], valid=in_period)
    b, a = values
    est = {k: float(p["estimate"][0]) for k, p in parts.items()}
    z_t = parts[targeted, a]["z"] - parts[targeted, b]["z"]
    z_c = parts[comparison, a]["z"] - parts[comparison, b]["z"]
    cov = prep.vcov(np.column_stack([z_t, z_c, z_t - z_c]))
    se_t, se_c, se = np.sqrt(np.maximum(np.diag(cov), 0.0))
    did = (est[targeted, a] - est[targeted, b]) - (est[comparison, a] - est[comparison, b])
    q = normal_quantile(confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = did / se if se > 0 else np.nan
    return pd.DataFrame(
        [
            {
                "n_before": int(parts[targeted, b]["n"][0]),
                "n_after": int(parts[targeted, a]["n"][0]),
                "targeted_before": est[targeted, b],
                "targeted_after": est[targeted, a],
                "targeted_change": est[targeted, a] - est[targeted, b],
                "targeted_change_se": float(se_t),
                "compare_before": est[comparison, b],
                "compare_after": est[comparison, a],
                "compare_change": est[comparison, a] - est[comparison, b],
                "compare_change_se": float(se_c),
                "estimate": did,
                "se": float(se),
                "ci_low": did - q * se,
                "ci_high": did + q * se,
                "statistic": stat,
                "p_value": float(2 * stats.norm.sf(abs(stat))) if se > 0 else np.nan,
            }
        ]
    )


def action_items(action: ActionSpec, *, study: Study) -> tuple[list[str], list[str]]:
    """Return the targeted items of an action and the comparable items it is compared with.

    Targets are areas (all their index items) and items. The comparison is the action's
    ``compare`` list when given; otherwise the untargeted index items of the targeted
    items' areas (a like-for-like comparison within the same areas) when the action
    names items, else (or when those are all targeted) every other index item.

    Parameters
    ----------
    action : ActionSpec
        One entry of the study's ``actions``.
    study : Study

    Returns
    -------
    (targeted, comparison) : tuple of list of str
        Item names in the study's order; the comparison never holds a targeted item.
    """
    index = study.index_items()
    area_of = {i: study.items[i].area for i in index}

    def expand(names: Sequence[str]) -> list[str]:
        chosen = set()
        for name in names:
            chosen |= {i for i in index if area_of[i] == name} if name not in area_of else {name}
        return [i for i in index if i in chosen]

    targeted = expand(action.targets)
    if action.compare:
        return targeted, [i for i in expand(action.compare) if i not in targeted]
    item_areas = {area_of[t] for t in action.targets if t in area_of}
    same = [i for i in index if area_of[i] in item_areas and i not in targeted]
    rest = [i for i in index if i not in targeted]
    return targeted, same or rest


def action_scores(data: pd.DataFrame, *, study: Study, items: Sequence[str]) -> pd.Series:
    """Return each respondent's mean of ``items`` rescaled to 0-100 (NaN without an answer).

    Parameters
    ----------
    data : DataFrame
        Clean analysis data.
    study : Study
        Gives each item's scale.
    items : sequence of str
        Item columns.

    Returns
    -------
    Series
        One value per row of ``data``, on 0-100.
    """
    items = list(items)
    check_columns(data, items, "item", "action_scores")
    total = np.zeros(len(data))
    count = np.zeros(len(data))
    for name in items:
        sc = study.items[name].scale
        x = pd.to_numeric(data[name], errors="coerce").to_numpy(float)
        r = 100 * (x - sc.min) / (sc.max - sc.min)
        ok = ~np.isnan(r)
        total += np.where(ok, r, 0.0)
        count += ok
    with np.errstate(divide="ignore", invalid="ignore"):
        return pd.Series(np.where(count > 0, total / count, np.nan), index=data.index)


def _reached(data: pd.DataFrame, action: ActionSpec) -> np.ndarray:
    """Return which respondents the action reached (its ``segments``; all without)."""
    mask = np.ones(len(data), dtype=bool)
    for col, values in action.segments.items():
        # each distinct value's code once, not once per respondent
        cat = data[col].astype("category")
        hit = [code_text(v) in values for v in cat.cat.categories]
        mask &= np.asarray([*hit, None in values], dtype=bool)[cat.cat.codes.to_numpy()]
    return mask


def _segments_words(action: ActionSpec, study: Study) -> str:
    """Return the segments an action reached in words ("Customer type: Prepaid")."""
    parts = []
    for col, values in action.segments.items():
        seg = study.segment(col)
        parts.append(f"{seg.title}: " + ", ".join(seg.values.get(str(v), str(v)) for v in values))
    return "; ".join(parts)


def _unmeasured(
    action: ActionSpec, study: Study, targeted: list[str], comparison: list[str], reason: str
) -> dict:
    """Return the row of an action that cannot be evaluated, with the reason in words."""
    return {
        "action": action.name,
        "label": action.label or action.name,
        "targets": words([study.label(i) for i in targeted], study.language),
        "compare": words([study.label(i) for i in comparison], study.language),
        "segments": _segments_words(action, study),
        "start": action.start,
        "verdict": "not measurable",
        "reason": reason,
    }


def _design_columns(design: SurveyDesign, data: pd.DataFrame) -> list[str]:
    """Return the columns the design needs: its roles and a calibration's columns."""
    cols = list(design.roles().values())
    cal = getattr(design, "calibration", None)
    if cal is not None:
        extra = [*_as_list(cal.columns), *_as_list(cal.within), *_as_list(cal.base_weight)]
        cols += [c for c in extra if c in data.columns]
    return list(dict.fromkeys(cols))


def _as_list(value) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _pre_trend(
    frame: pd.DataFrame, before: list[str], *, wave_of: pd.Series, design: SurveyDesign
) -> dict:
    """Check parallel trends before an action: the same difference in differences, placebo.

    The earlier waves before the start against the last wave before it: targeted and
    comparable items that already drifted apart before the action make its estimate
    suspect. One wave before the start: nothing to check (``pre_trend`` "cannot check").
    """
    if len(before) < 2:
        return {"pre_trend": "cannot check"}
    wv = wave_text(wave_of)
    placebo = frame.assign(
        _period=np.where(
            np.isin(wv, before[:-1]), "before", np.where(wv == before[-1], "after", "")
        )
    )
    try:
        pre = difference_in_differences(
            placebo, targeted="_targeted", comparison="_compare", period="_period",
            domain="_reached", design=design,
        ).iloc[0]  # fmt: skip
    except ValueError:
        return {"pre_trend": "cannot check"}
    return {
        "pre_from": ", ".join(before[:-1]),
        "pre_to": before[-1],
        "pre_estimate": float(pre["estimate"]),
        "pre_se": float(pre["se"]),
        "pre_p_value": float(pre["p_value"]),
    }


def evaluate_actions(
    data: pd.DataFrame, *, study: Study, window: int | None = None
) -> pd.DataFrame:
    """Evaluate every action of the study's register by a difference in differences.

    For each action: the respondents it reached (its ``segments``), its targeted and
    comparison items (:func:`action_items`), their 0-100 scores (:func:`action_scores`),
    the waves before ``start`` against the waves from ``start`` on (the ``window`` waves
    nearest to the start on each side), and :func:`difference_in_differences` with the
    study's design. p-values are corrected over the actions with the study's correction.

    Parameters
    ----------
    data : DataFrame
        Clean analysis data with the study's wave column.
    study : Study
        A study with ``actions``.
    window : int, optional
        Waves on each side of the start (None: every wave before and every wave from the
        start on).

    Returns
    -------
    DataFrame
        One row per action (:data:`ACTION_COLUMNS`): ``action``, ``label``, ``targets``
        and ``compare`` (the items' labels), ``segments`` (in words, "" for everyone),
        ``start``, ``before_waves`` and ``after_waves`` (wave codes, comma-separated),
        the :func:`difference_in_differences` columns, ``p_adjusted``, ``significant``,
        ``verdict`` (``"worked"``, ``"no effect"``, ``"backfired"``, ``"not
        measurable"``), ``reason`` (why an action is not measurable, else ""), and the
        parallel-trends check before the start: ``pre_from`` (the earlier waves before
        it, comma-separated), ``pre_to`` (the last wave before it), ``pre_estimate``,
        ``pre_se`` and ``pre_p_value`` (the same difference in differences between them,
        unadjusted: a check, where a miss costs more than a false alarm) and
        ``pre_trend`` (``"parallel"``, ``"diverging"`` at the study's level, ``"cannot
        check"`` with one wave before the start, ``""`` for an unmeasurable action).
    """
    if window is not None and window < 1:
        raise ValueError(f"evaluate_actions: window must be 1 or more, got {window}")
    wave = study.wave_column
    wv = wave_text(data[wave])
    waves = [w for w in study.waves if w in set(np.unique(wv))]
    design = study_design(study)
    rows = []
    for action in study.actions:
        targeted, comparison = action_items(action, study=study)
        base = {"before_waves": "", "after_waves": ""}
        if not targeted or not comparison:
            what = "targeted" if not targeted else "comparable untargeted"
            rows.append(
                _unmeasured(
                    action,
                    study,
                    targeted,
                    comparison,
                    f"it has no {what} items in the index",
                )  # fmt: skip
            )
            continue
        k = study.waves.index(action.start)
        before = [w for w in waves if study.waves.index(w) < k]
        after = [w for w in waves if study.waves.index(w) >= k]
        if window is not None:
            before, after = before[-window:], after[:window]
        if not before or not after:
            side = "before" if not before else "from"
            reason = f"no wave {side} {study.wave_label(action.start)} has respondents"
            rows.append(_unmeasured(action, study, targeted, comparison, reason))
            continue
        frame = pd.DataFrame(
            {
                "_targeted": action_scores(data, study=study, items=targeted),
                "_compare": action_scores(data, study=study, items=comparison),
                "_period": np.where(
                    np.isin(wv, before), "before", np.where(np.isin(wv, after), "after", "")
                ),
                "_reached": _reached(data, action),
            },
            index=data.index,
        )
        frame = pd.concat([frame, data[_design_columns(design, data)]], axis=1)
        base = {"before_waves": ", ".join(before), "after_waves": ", ".join(after)}
        try:
            did = difference_in_differences(
                frame,
                targeted="_targeted",
                comparison="_compare",
                period="_period",
                domain="_reached",
                design=design,
                confidence=study.reporting.confidence,
            )
        except ValueError as exc:
            rows.append(
                _unmeasured(action, study, targeted, comparison, str(exc).split(": ", 1)[-1])
            )
            continue
        rows.append(
            {
                **_unmeasured(action, study, targeted, comparison, ""),
                **base,
                **did.iloc[0].to_dict(),
                **_pre_trend(frame, before, wave_of=data[wave], design=design),
                "verdict": "",
            }
        )
    out = pd.DataFrame(rows).reindex(columns=ACTION_COLUMNS)
    for col in ("pre_trend", "pre_from", "pre_to"):  # all-missing columns come as numbers
        out[col] = out[col].astype(object).where(out[col].notna(), "")
    measured = out["verdict"] != "not measurable"
    out["reason"] = out["reason"].fillna("")
    out["before_waves"] = out["before_waves"].fillna("")
    out["after_waves"] = out["after_waves"].fillna("")
    out["p_adjusted"] = adjust_p(
        out["p_value"].astype(float), correction=study.reporting.correction
    )
    out["significant"] = measured & (out["p_adjusted"] < study.reporting.alpha)
    checked = measured & out["pre_p_value"].notna()
    out.loc[checked, "pre_trend"] = np.where(
        out.loc[checked, "pre_p_value"] < study.reporting.alpha, "diverging", "parallel"
    )
    out.loc[measured & ~checked, "pre_trend"] = "cannot check"
    out.loc[measured, "verdict"] = np.where(
        out.loc[measured, "significant"],
        np.where(out.loc[measured, "estimate"] > 0, "worked", "backfired"),
        "no effect",
    )
    return out


def action_waves(data: pd.DataFrame, *, study: Study, actions: pd.DataFrame) -> pd.DataFrame:
    """Return the targeted and the comparable items' score of every measured action by wave.

    The chart of the action register: each wave's weighted mean score (0-100) of the
    targeted items and of the comparable items, among the respondents the action reached,
    with design-based confidence intervals (the rows outside the segment stay in the
    design).

    Parameters
    ----------
    data : DataFrame
        Clean analysis data.
    study : Study
    actions : DataFrame
        :func:`evaluate_actions` output (actions that are not measurable are left out).

    Returns
    -------
    DataFrame
        One row per action, series and wave: ``action``, ``label``, ``series``
        (``"targeted"`` or ``"compare"``), the wave column, ``period`` (``"before"`` or
        ``"after"`` the start), ``n``, ``estimate``, ``se``, ``ci_low``, ``ci_high``.
    """
    from .estimation import survey_mean

    wave = study.wave_column
    design = study_design(study)
    cols = ["action", "label", "series", wave, "period", "n", "estimate", "se", "ci_low",
            "ci_high"]  # fmt: skip
    specs = {a.name: a for a in study.actions}
    parts = []
    wv = wave_text(data[wave])
    for _, row in actions[actions["verdict"] != "not measurable"].iterrows():
        action = specs[row["action"]]
        targeted, comparison = action_items(action, study=study)
        reached = _reached(data, action)
        frame = pd.DataFrame(
            {
                "targeted": action_scores(data, study=study, items=targeted).where(reached),
                "compare": action_scores(data, study=study, items=comparison).where(reached),
                wave: wv,
            },
            index=data.index,
        )
        roles = [c for c in _design_columns(design, data) if c not in frame.columns]
        frame = pd.concat([frame, data[roles]], axis=1)
        est = survey_mean(frame, items=["targeted", "compare"], by=[wave], design=design,
                          confidence=study.reporting.confidence)  # fmt: skip
        k = study.waves.index(action.start)
        est = est.assign(
            action=row["action"], label=row["label"], series=est["item"],
            period=[("after" if study.waves.index(str(w)) >= k else "before")
                    for w in est[wave].astype(str)],
        )  # fmt: skip
        parts.append(est[est["estimate"].notna()])
    if not parts:
        return pd.DataFrame(columns=cols)
    return pd.concat(parts, ignore_index=True)[cols]


def pre_trend_sentence(row: pd.Series, *, study: Study) -> Md:
    """Say in one sentence whether the targeted and comparable items ran parallel before.

    Parameters
    ----------
    row : Series
        One measured row of :func:`evaluate_actions`.
    study : Study

    Returns
    -------
    Md
        E.g. "Before it started, the targeted and comparable items moved in parallel
        (Q1 2024 to Q3 2024 against Q4 2024: -0.8 points apart, p = 0.12)."
    """
    lang = study.language
    if row["pre_trend"] == "cannot check":
        return text("trend.pre_cannot", lang)
    earlier = [study.wave_label(w) for w in str(row["pre_from"]).split(", ") if w]
    span = earlier[0] if len(earlier) == 1 else text(
        "trend.pre_span", lang, a=earlier[0], b=earlier[-1]
    )  # fmt: skip
    return text(
        "trend.pre_parallel" if row["pre_trend"] == "parallel" else "trend.pre_diverging",
        lang, span=span, last=study.wave_label(row["pre_to"]), d=f"{row['pre_estimate']:+.1f}",
        p=fmt_p(row["pre_p_value"], prefix=True),
    )  # fmt: skip


def action_sentence(row: pd.Series, *, study: Study) -> Md:
    """Say in one sentence whether one action worked.

    Parameters
    ----------
    row : Series
        One row of :func:`evaluate_actions`.
    study : Study

    Returns
    -------
    Md
        E.g. "**Hotline callback** worked: from Q1 2025 on, the targeted items rose 6.1
        points (0-100) more than comparable items (95% CI 3.2 to 9.0, adjusted p < 0.001)."
        In the study's report language.
    """
    lang = study.language
    name = row["label"]
    if row["verdict"] == "not measurable":
        return text("trend.action_unmeasured", lang, name=name, reason=row["reason"])
    d = float(row["estimate"])
    evidence = text(
        "trend.action_evidence", lang,
        confidence=f"{study.reporting.confidence:.0%}",
        ci=fmt_ci(row["ci_low"], row["ci_high"], kind="number.1"),
        p=fmt_p(row["p_adjusted"], prefix=True),
    )  # fmt: skip
    since = text("trend.action_since", lang, start=study.wave_label(row["start"]))
    who = text("trend.action_who", lang, seg=row["segments"]) if row["segments"] else Md("")
    key = {"worked": "trend.action_worked", "backfired": "trend.action_backfired"}.get(
        row["verdict"], "trend.action_no_effect"
    )
    size = f"{d:+.1f}" if key == "trend.action_no_effect" else f"{abs(d):.1f}"
    return text(key, lang, name=name, since=since, who=who, d=size, evidence=evidence)


def actions_takeaway(table: pd.DataFrame, *, study: Study) -> Md:
    """Return the section's takeaway: how many actions worked, then one sentence each.

    A measured action's sentence is followed by its parallel-trends check
    (:func:`pre_trend_sentence`).

    Parameters
    ----------
    table : DataFrame
        :func:`evaluate_actions` output with at least one row.
    study : Study

    Returns
    -------
    Md
    """
    if table.empty:
        raise ValueError("actions_takeaway: no actions")
    lang = study.language
    worked = table[table["verdict"] == "worked"]
    n = len(table)
    head = (
        text(
            "trend.actions_head", lang, k=len(worked), n=n, names=join(list(worked["label"]), lang)
        )  # fmt: skip
        if len(worked) and n > 1
        else Md("")
    )
    sentences = []
    for _, r in table.iterrows():
        s = action_sentence(r, study=study)
        if r["verdict"] != "not measurable" and r.get("pre_trend", ""):
            s = s + " " + pre_trend_sentence(r, study=study)
        sentences.append(s)
    body = Md(" ").join(sentences)
    return head + " " + body if head else body
