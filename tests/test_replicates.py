"""Replicate-weight designs against R ``survey`` 4.1.1 (``tests/reference/r_survey_designs.json``)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from analysis_helpers.estimation import (
    SurveyDesign,
    survey_mean,
    survey_proportion,
    survey_total,
)
from analysis_helpers.replicates import ReplicateDesign, as_replicate

REFERENCE = Path(__file__).resolve().parent / "reference"
ENTRIES = json.loads((REFERENCE / "r_survey_designs.json").read_text(encoding="utf-8"))["entries"]


def entry(key: str) -> dict:
    return ENTRIES[key]["values"]


def frozen(reference_data, kind: str):
    api = reference_data("survey_apiclus1.csv")
    reps = reference_data(f"rep_apiclus1_{kind}.csv")
    cols = [c for c in reps.columns if c.startswith("rep")]
    data = api.merge(reps[["snum", *cols]], on="snum", validate="1:1")
    return data, cols


@pytest.mark.parametrize("kind,key", [("jk1", "apiclus1_JK1"), ("bootstrap", "apiclus1_bootstrap")])
def test_given_replicate_columns(reference_data, kind, key, close):
    data, cols = frozen(reference_data, kind)
    d = entry(f"{key}.design")
    for mse, suffix in ((d["mse"], ""), (not d["mse"], "_mse_true")):
        design = ReplicateDesign(
            weight="pw", replicates=cols, type=d["type"], scale=d["scale"],
            rscales=d["rscales"], mse=mse,
        )  # fmt: skip
        r = entry(f"{key}.svymean_api00{suffix}")
        t = survey_mean(data, items="api00", design=design)
        close(t["estimate"], r["estimate"]["api00"])
        close(t["se"], r["se"]["api00"])
    design = ReplicateDesign(
        weight="pw", replicates=cols, type=d["type"], scale=d["scale"], df=d["df"]
    )  # R keeps the df of the design the replicates were made from
    r = entry(f"{key}.svymean_api00_api99")
    t = survey_mean(data, items=["api00", "api99"], design=design)
    close(t["se"], [r["se"]["api00"], r["se"]["api99"]])
    r = entry(f"{key}.svytotal_enroll")
    t = survey_total(data, items="enroll", design=design)
    close(t["estimate"], r["estimate"]["enroll"])
    close(t["se"], r["se"]["enroll"])
    r = entry(f"{key}.svymean_sch.wide")
    t = survey_proportion(data, items="sch.wide", design=design)
    close(t["se"], [r["se"]["sch.wideNo"], r["se"]["sch.wideYes"]])
    assert (t["df"] == d["df"]).all()
    r = entry(f"{key}.svyby_api00_by_stype")
    t = survey_mean(data, items="api00", by="stype", design=design)
    close(t["estimate"], [r["estimate"][k] for k in "EHM"])
    close(t["se"], [r["se"][k] for k in "EHM"])


def test_as_replicate_jk1_reproduces_r(reference_data, close):
    api = reference_data("survey_apiclus1.csv")
    frozen_data, cols = frozen(reference_data, "jk1")
    out, design = as_replicate(api, SurveyDesign(weight="pw", cluster="dnum", fpc="fpc"))
    close(design.scale, entry("apiclus1_JK1.design")["scale"])
    # the same replicates as R's (possibly in another PSU order)
    mine = np.sort(out[list(design.replicates)].to_numpy().T, axis=0)
    ref = np.sort(frozen_data.set_index("snum").loc[api["snum"], cols].to_numpy().T, axis=0)
    close(mine, ref)
    r = entry("apiclus1_JK1.svymean_api00")
    t = survey_mean(out, items="api00", design=design)
    close(t["se"], r["se"]["api00"])


def test_jkn_equals_hand_jackknife(reference_data, close):
    api = reference_data("survey_apistrat.csv").iloc[::10].reset_index(drop=True)
    out, design = as_replicate(api, SurveyDesign(weight="pw", strata="stype"), type="JKn")
    t = survey_total(out, items="enroll", design=design)
    # the total's JKn variance equals the stratified with-replacement variance
    lin = survey_total(api, items="enroll", design=SurveyDesign(weight="pw", strata="stype"))
    close(t["se"], lin["se"])
    assert int(t["n"].iloc[0]) == len(api)


def test_replicate_validation(reference_data):
    data, cols = frozen(reference_data, "jk1")
    with pytest.raises(ValueError, match="give no strata, cluster or fpc"):
        ReplicateDesign(weight="pw", replicates=cols, strata="stype")
    with pytest.raises(ValueError, match="3 rscales for 15 replicate columns"):
        ReplicateDesign(weight="pw", replicates=cols, rscales=(1.0, 1.0, 1.0))
    bad = data.copy()
    bad.loc[4, "rep2"] = -1.0
    with pytest.raises(
        ValueError, match="replicate weight column 'rep2' has the value -1.0 in row 4"
    ):
        survey_mean(bad, items="api00", design=ReplicateDesign(weight="pw", replicates=cols))
