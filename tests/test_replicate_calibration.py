"""Raked replicate designs and replicate refits of svyvar / csi against R ``survey`` 4.1.1.

References: ``tests/reference/r_replicate_calibration.json`` and the raked weights
``data/rep_apiclus1_jk1_raked.csv`` (made by ``tests/reference/r/replicate_calibration.R``):
JK1 replicates of apiclus1 (R's, frozen in ``data/rep_apiclus1_jk1.csv``) as given and after
``rake(rclus1, list(~stype, ~sch.wide), ...)``, which rakes every replicate weight too.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis_helpers.estimation import (
    Calibration,
    survey_mean,
    survey_ratio,
    survey_total,
    survey_var,
)
from analysis_helpers.replicates import ReplicateDesign

REF = Path(__file__).resolve().parent / "reference"
E = json.loads((REF / "r_replicate_calibration.json").read_text(encoding="utf-8"))["entries"]


def values(design: str, key: str) -> dict:
    return E[f"{design}.{key}"]["values"]


def jk1(raked: bool) -> tuple[pd.DataFrame, ReplicateDesign]:
    """apiclus1 with R's unraked JK1 replicates; raked: R's raked full-sample weight."""
    d = pd.read_csv(REF / "data" / "survey_apiclus1.csv")
    reps = pd.read_csv(REF / "data" / "rep_apiclus1_jk1.csv")
    cols = [c for c in reps.columns if c.startswith("rep")]
    d = d.merge(reps[["snum", *cols]], on="snum", validate="1:1")
    name = "apiclus1_JK1_raked" if raked else "apiclus1_JK1"
    info = values(name, "design")
    weight, cal = "pw", None
    if raked:
        w = pd.read_csv(REF / "data" / "rep_apiclus1_jk1_raked.csv")[["snum", "w_raked"]]
        d = d.merge(w, on="snum", validate="1:1")
        weight, cal = "w_raked", Calibration(["stype", "sch.wide"])
    design = ReplicateDesign(
        weight=weight, replicates=cols, type="JK1", scale=info["scale"], rscales=info["rscales"],
        mse=info["mse"], df=info["df"], calibration=cal,
    )  # fmt: skip
    return d, design


def test_every_replicate_weight_is_raked_as_r():
    d, design = jk1(raked=True)
    prep = design.prepare(d)
    r = pd.read_csv(REF / "data" / "rep_apiclus1_jk1_raked.csv").set_index("snum")
    want = r.loc[d["snum"], list(design.replicates)].to_numpy()
    np.testing.assert_allclose(prep.rep.weights, want, rtol=1e-9, atol=1e-9)
    # raked again: unchanged (the replicates already meet the margins)
    again = d.copy()
    again[list(design.replicates)] = prep.rep.weights
    np.testing.assert_allclose(design.prepare(again).rep.weights, prep.rep.weights, rtol=1e-12)


@pytest.mark.parametrize("raked", [False, True], ids=["as_given", "raked"])
def test_means_totals_ratios_shares_match_r(raked, close):
    d, design = jk1(raked)
    name = "apiclus1_JK1_raked" if raked else "apiclus1_JK1"
    r = values(name, "svymean_api00_api99_D_")
    t = survey_mean(d, items=["api00", "api99"], design=design)
    close(t["estimate"], [r["estimate"]["api00"], r["estimate"]["api99"]])
    close(t["se"], [r["se"]["api00"], r["se"]["api99"]])
    r = values(name, "svytotal_enroll_D_")
    t = survey_total(d, items="enroll", design=design)
    close(t["estimate"], r["estimate"]["enroll"])
    close(t["se"], r["se"]["enroll"])
    r = values(name, "svyratio_api00_api99_D_")
    t = survey_ratio(d, numerator="api00", denominator="api99", design=design)
    close(t["estimate"], list(r["estimate"].values()))
    close(t["se"], list(r["se"].values()))
    r = values(name, "svymean_awards_D_")
    t = survey_mean(d.assign(yes=(d["awards"] == "Yes").astype(float)), items="yes", design=design)
    close(t["estimate"], r["estimate"]["awardsYes"])
    close(t["se"], r["se"]["awardsYes"])
    r = values(name, "svyby_api00_awards_D_svymean_")
    t = survey_mean(d, items="api00", by="awards", design=design)
    close(t["estimate"], [r["estimate"]["No"], r["estimate"]["Yes"]])
    close(t["se"], [r["se"]["No"], r["se"]["Yes"]])


@pytest.mark.parametrize("raked", [False, True], ids=["as_given", "raked"])
def test_survey_var_is_recomputed_per_replicate(raked, close):
    d, design = jk1(raked)
    name = "apiclus1_JK1_raked" if raked else "apiclus1_JK1"
    r = values(name, "svyvar_api00_D_")
    t = survey_var(d, items="api00", design=design)
    close(t["estimate"], r["estimate"]["api00"])
    close(t["se"], r["se"]["api00"])
    r = values(name, "svyby_api00_stype_D_svyvar_")
    t = survey_var(d, items="api00", by="stype", design=design)
    close(t["estimate"], [r["estimate"][k] for k in "EHM"])
    close(t["se"], [r["se"][k] for k in "EHM"])


def test_raking_changes_the_replicate_se():
    """Without re-raking the replicates the SE of a raked margin's share would not be 0."""
    d, design = jk1(raked=True)
    t = survey_mean(d.assign(e=(d["stype"] == "E").astype(float)), items="e", design=design)
    assert float(t["se"].iloc[0]) == pytest.approx(0.0, abs=1e-9)  # a margin is fixed
    fixed = ReplicateDesign(**{**design.__dict__, "calibration": None})
    t = survey_mean(d.assign(e=(d["stype"] == "E").astype(float)), items="e", design=fixed)
    assert float(t["se"].iloc[0]) > 0.01
