"""Quantiles with Woodruff intervals against R ``survey`` 4.1.1 ``svyquantile``.

References: ``tests/reference/r_survey_designs.json`` (calls in each entry).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis_helpers.estimation import SurveyDesign
from analysis_helpers.quantiles import survey_quantile

REFERENCE = Path(__file__).resolve().parent / "reference"
ENTRIES = json.loads((REFERENCE / "r_survey_designs.json").read_text(encoding="utf-8"))["entries"]
STRAT = SurveyDesign(weight="pw", strata="stype", fpc="fpc")


def entry(key: str) -> dict:
    return ENTRIES[key]["values"]


def check(t: pd.DataFrame, ref: dict, item: str, close) -> None:
    r = ref["variables"][item]
    sub = t[t["item"] == item]
    close(sub["quantile"], r["probs"])
    close(sub["estimate"], r["quantile"])
    close(sub["ci_low"], r["ci_lower"])
    close(sub["ci_high"], r["ci_upper"])
    close(sub["se"], r["se"])


def test_woodruff_steps(reference_data, close):
    api = reference_data("survey_apistrat.csv")
    r = entry("apistrat.svyquantile_median_woodruff_steps")
    t = survey_quantile(api, items="api00", design=STRAT).iloc[0]
    assert t["estimate"] == r["median"] and t["df"] == r["df"]
    assert (t["ci_low"], t["ci_high"]) == (r["ci_lower"], r["ci_upper"])
    close(t["se"], r["se"])


@pytest.mark.parametrize(
    "key,data,design",
    [
        ("apiclus2.svyquantile_api00_enroll", "survey_apiclus2.csv",
         SurveyDesign(cluster=["dnum", "snum"], fpc=["fpc1", "fpc2"])),
        ("apiclus1.svyquantile_api00_enroll", "survey_apiclus1.csv",
         SurveyDesign(weight="pw", cluster="dnum", fpc="fpc")),
        ("apistrat.svyquantile_mean", "survey_apistrat.csv", STRAT),
    ],
)  # fmt: skip
def test_quartiles(reference_data, key, data, design, close):
    frame = reference_data(data)
    # R's na.rm=TRUE drops the rows where any of the formula's variables is missing
    frame.loc[frame["enroll"].isna(), "api00"] = np.nan
    probs = entry(key)["variables"]["api00"]["probs"]
    t = survey_quantile(frame, items=["api00", "enroll"], quantiles=probs, design=design)
    check(t, entry(key), "api00", close)
    check(t, entry(key), "enroll", close)


def test_deciles_and_90_percent(reference_data, close):
    api = reference_data("survey_apistrat.csv")
    key = "apistrat.svyquantile_qrule_math"
    probs = entry(key)["variables"]["api00"]["probs"]
    t = survey_quantile(api, items=["api00", "enroll"], quantiles=probs, design=STRAT)
    check(t, entry(key), "api00", close)
    check(t, entry(key), "enroll", close)
    t = survey_quantile(api, items="api00", design=STRAT, confidence=0.9)
    check(t, entry("apistrat.svyquantile_median_90"), "api00", close)


def test_median_by_domain(reference_data, close):
    api = reference_data("survey_apistrat.csv")
    r = entry("apistrat.svyby_median_api00_by_sch.wide")
    t = survey_quantile(api, items="api00", by="sch.wide", design=STRAT)
    assert t["sch.wide"].tolist() == ["No", "Yes"]
    close(t["estimate"], [r["estimate"]["No"], r["estimate"]["Yes"]])
    close(t["se"], [r["se"]["No"], r["se"]["Yes"]])


def test_bad_probability(reference_data):
    api = reference_data("survey_apistrat.csv")
    with pytest.raises(ValueError, match="survey_quantile: quantile 1.5 is not between 0 and 1"):
        survey_quantile(api, items="api00", quantiles=[0.5, 1.5])


def test_hand_example():
    # weights 1,1,1,1,4 over 1..5: cumulative shares .125 .25 .375 .5 1
    df = pd.DataFrame({"q": [5.0, 2, 3, 1, 4, np.nan], "w": [4.0, 1, 1, 1, 1, 1]})
    t = survey_quantile(df, items="q", quantiles=[0.25, 0.5, 0.6], design=SurveyDesign(weight="w"))
    assert t["estimate"].tolist() == [2.0, 4.0, 5.0]  # exact hits take the lower answer
    assert (t["n"] == 5).all()
