"""The R reference fixtures (tests/reference/r_*.json and their data) are well formed.

These tests check the frozen files themselves, not package code: every entry names its data,
software, version, call, values and tolerance; every file it needs exists; the frozen
replicate and calibrated weights and the derived columns agree with the data they belong to.
They keep the fixtures from rotting when files move or a script is re-run.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

REF_DIR = Path(__file__).resolve().parent / "reference"
R_DIR = REF_DIR / "r"
JSON_FILES = (
    "r_survey_designs.json",
    "r_banner_tests.json",
    "r_banner_index.json",
    "r_trend_contrasts.json",
    "r_replicate_extras.json",
)
REQUIRED = ("data", "software", "version", "design_call", "call", "values", "tolerance")


def _load(name: str) -> dict:
    return json.loads((REF_DIR / name).read_text(encoding="utf-8"))


def _entries() -> list[tuple[str, str, dict]]:
    return [(f, key, e) for f in JSON_FILES for key, e in _load(f)["entries"].items()]


ENTRIES = _entries()


def _numbers(x, path=""):
    """Yield (path, value) for every leaf that is not a string."""
    if isinstance(x, dict):
        for k, v in x.items():
            yield from _numbers(v, f"{path}/{k}")
    elif isinstance(x, list):
        for i, v in enumerate(x):
            yield from _numbers(v, f"{path}/{i}")
    elif not isinstance(x, str):
        yield path, x


def test_every_file_has_entries_and_one_version():
    for name in JSON_FILES:
        doc = _load(name)
        assert doc["about"] and doc["entries"], name
        versions = {e["version"] for e in doc["entries"].values()}
        assert versions == {doc["software"]}, name
        assert re.fullmatch(r"R \d+\.\d+\.\d+, survey \d+\.\d+[.-]\d+", doc["software"])


@pytest.mark.parametrize(("file", "key", "entry"), ENTRIES, ids=[f"{f}:{k}" for f, k, _ in ENTRIES])
def test_entry_is_well_formed(file, key, entry):
    missing = [k for k in REQUIRED if k not in entry]
    assert not missing, f"{file}:{key} lacks {missing}"
    assert re.fullmatch(r"[A-Za-z0-9_.\-]+", key), key
    for rel in [entry["data"], *entry.get("data_extra", [])]:
        assert (REF_DIR / rel).is_file(), f"{file}:{key} names missing data file {rel}"
    for path in re.findall(r"tests/reference/(data/[\w.\-]+\.csv)", entry.get("setup", "")):
        assert (REF_DIR / path).is_file(), f"{file}:{key} setup reads missing {path}"
    assert entry["call"].strip() and entry["design_call"].strip()
    tol = entry["tolerance"]
    assert set(tol) == {"estimate", "se"} and all(0 < t <= 1e-6 for t in tol.values())
    values = entry["values"]
    assert isinstance(values, dict) and values, f"{file}:{key} has no values"
    if "error" in values:  # an R error is itself the reference (survey.lonely.psu = 'fail')
        assert entry.get("options", {}).get("survey.lonely.psu") == "fail", key
        assert "only one PSU" in values["error"]
        return
    nulls = []
    for path, v in _numbers(values):
        if v is None:
            nulls.append(path)
        else:
            assert isinstance(v, int | float), f"{key}{path}: {v!r}"
            assert math.isfinite(v), f"{key}{path}"
    # R gives NaN (null) only where the notes say so
    assert not nulls or "NaN" in " ".join(np.atleast_1d(entry.get("notes", ""))), (key, nulls)
    if "estimate" in values and isinstance(values["estimate"], dict) and "se" in values:
        assert values["estimate"].keys() == values["se"].keys(), key
        if "vcov" in values:
            vc = values["vcov"]
            names = list(values["estimate"])
            assert vc["rownames"] == names and vc["colnames"] == names, key
            m = np.array(vc["values"], dtype=float)
            assert m.shape == (len(names), len(names))
            np.testing.assert_allclose(np.sqrt(np.diag(m)), list(values["se"].values()), rtol=1e-6)


def test_every_data_file_is_used_and_every_script_documented():
    used = {"data/" + p.name for p in (REF_DIR / "data").glob("*.csv")}
    named = {e["data"] for _, _, e in ENTRIES} | {
        d for _, _, e in ENTRIES for d in e.get("data_extra", [])
    }
    named |= {
        p
        for _, _, e in ENTRIES
        for p in re.findall(
            r"data/[\w.\-]+\.csv",
            e.get("notes", "") if isinstance(e.get("notes"), str) else " ".join(e.get("notes", [])),
        )
    }
    old = {
        "data/survey_apistrat.csv",
        "data/plspm_satisfaction.csv",
        "data/datasets_swiss.csv",
        "data/datasets_mtcars.csv",
    }
    readme = (R_DIR / "README.md").read_text(encoding="utf-8")
    orphans = sorted(p for p in used - named - old if Path(p).name not in readme)
    assert not orphans, f"data files no entry or README names: {orphans}"
    for script in R_DIR.glob("*.R"):
        assert script.name in readme, f"{script.name} is not described in r/README.md"


def _read(name: str) -> pd.DataFrame:
    return pd.read_csv(REF_DIR / "data" / name)


@pytest.mark.parametrize(
    ("rep_file", "data_file", "n_rep"),
    [
        ("rep_apiclus1_jk1.csv", "survey_apiclus1.csv", 15),
        ("rep_apiclus1_bootstrap.csv", "survey_apiclus1.csv", 50),
        ("rep_apiclus1_subbootstrap.csv", "survey_apiclus1.csv", 50),
        ("rep_apiclus2_mrbbootstrap.csv", "survey_apiclus2.csv", 50),
        ("rep_apistrat_brr.csv", "survey_apistrat.csv", 24),
        ("rep_apistrat_fay.csv", "survey_apistrat.csv", 24),
        ("rep_apistrat_sdr.csv", "survey_apistrat.csv", 80),
    ],
)
def test_frozen_replicate_weights_match_their_data(rep_file, data_file, n_rep):
    rep, data = _read(rep_file), _read(data_file)
    cols = [c for c in rep.columns if re.fullmatch(r"rep\d+", c)]
    assert cols == [f"rep{i}" for i in range(1, n_rep + 1)]
    assert len(rep) == len(data) and set(rep["snum"]) == set(data["snum"])
    merged = rep.merge(data[["snum", "pw"]], on="snum", suffixes=("", "_data"))
    np.testing.assert_allclose(merged["pw"], merged["pw_data"], rtol=1e-12)
    assert rep[cols].notna().all().all() and (rep[cols] >= 0).all().all()
    entries = {k: e for _, k, e in ENTRIES if k.endswith(".design") and "replicates" in e["values"]}
    assert any(e["values"]["replicates"] == n_rep for e in entries.values())


def test_calibrated_weights_hit_the_population_margins():
    pop = _read("survey_apipop.csv")
    w = _read("calibrated_apiclus1_weights.csv").merge(
        _read("survey_apiclus1.csv"), on=["snum", "dnum", "pw"]
    )
    for col in ("w_raked", "w_cal_linear", "w_cal_raking"):
        for var in ("stype",) + (("sch.wide",) if col == "w_raked" else ()):
            got = w.groupby(var)[col].sum()
            want = pop[var].value_counts()
            np.testing.assert_allclose(got.sort_index(), want.sort_index(), rtol=1e-9, err_msg=col)
    for col in ("w_cal_linear", "w_cal_raking"):
        np.testing.assert_allclose((w[col] * w["api99"]).sum(), pop["api99"].sum(), rtol=1e-9)
    ws = _read("calibrated_apistrat_weights.csv").merge(
        _read("survey_apistrat.csv"), on=["snum", "stype", "pw"]
    )
    for var in ("sch.wide", "awards"):
        np.testing.assert_allclose(
            ws.groupby(var)["w_raked"].sum().sort_index(),
            pop[var].value_counts().sort_index(),
            rtol=1e-9,
        )


def test_derived_columns_follow_their_rule():
    der = _read("survey_api_derived.csv")
    for name, file in (("apistrat", "survey_apistrat.csv"), ("apiclus1", "survey_apiclus1.csv")):
        d = der[der["dataset"] == name].merge(_read(file), on="snum")
        assert len(d) == len(_read(file))
        band = pd.cut(
            d["meals"], [-np.inf, 25, 50, 75, np.inf], labels=["0-25", "26-50", "51-75", "76-100"]
        )
        assert (band.astype(str) == d["meals_band"]).all()
        assert (d["hi700"] == (d["api00"] >= 700)).all()
        nps = np.where(d["api00"] >= 750, 1, np.where(d["api00"] < 600, -1, 0))
        assert (d["nps_code"] == nps).all()
        assert (d["wave"] == np.where(d["comp.imp"] == "Yes", "w2", "w1")).all()
        np.testing.assert_allclose(d["targeted"], (d["api00"] + d["api99"]) / 20)
        np.testing.assert_allclose(d["untargeted"], (d["full"] + d["pct.resp"]) / 2)
        np.testing.assert_allclose(d["did_diff"], d["targeted"] - d["untargeted"])
        assert (d["schwide_yes"] == (d["sch.wide"] == "Yes")).all()
