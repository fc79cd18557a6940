"""The study file's `engine:` and the report's KPI table through the DuckDB engine."""

import copy
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from analysis_helpers.engine import DuckEngine, choose
from analysis_helpers.engine.kpis import kpi_summary as engine_kpis
from analysis_helpers.study import StudySpec, load_study
from analysis_helpers.study_tables import kpi_summary, study_design

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def raw():
    return yaml.safe_load((ROOT / "config" / "demo.yml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def study():
    return load_study(ROOT / "config" / "demo.yml", check_files=False)


@pytest.fixture(scope="module")
def data(study):
    rng = np.random.default_rng(7)
    n = 600
    cols = {}
    for name, it in study.items.items():
        x = rng.integers(it.scale.min, it.scale.max + 1, n).astype(float)
        x[rng.random(n) < 0.05] = np.nan
        cols[name] = x
    frame = pd.DataFrame(cols)
    frame["wave"] = rng.choice(["2024Q1", "2024Q2"], n)
    frame["customer_type"] = rng.choice(["contract", "high_bill", "prepaid"], n)
    frame["region"] = rng.choice(["north", "south", "east", "west"], n)
    frame["tenure"] = rng.choice(["lt1", "y1_3"], n)
    frame["rake_weight"] = rng.uniform(0.4, 2.5, n)
    return frame


def test_engine_key(raw):
    assert StudySpec.model_validate(raw).engine.name == "auto"
    spec = StudySpec.model_validate({**raw, "engine": "duckdb"}).engine
    assert (spec.name, spec.memory_fraction, spec.memory_limit) == ("duckdb", 0.5, "2GB")
    spec = StudySpec.model_validate(
        {**raw, "engine": {"name": "auto", "memory_fraction": 0.1}}
    ).engine
    assert spec.memory_fraction == 0.1
    for bad in ("spark", {"name": "duckdb", "memory_fraction": 0}, {"memory_limit": "lots"}):
        with pytest.raises(ValueError, match="engine"):
            StudySpec.model_validate({**raw, "engine": bad})


def test_choose_engine(study, tmp_path, monkeypatch):
    f = tmp_path / "clean.parquet"
    f.write_bytes(b"x" * 1000)
    monkeypatch.setattr(choose, "_memory_bytes", lambda: 10_000)
    assert choose.choose_engine(study, f)[0] == "memory"  # 1000 <= 0.5 * 10000
    monkeypatch.setattr(choose, "_memory_bytes", lambda: 1_500)
    name, why = choose.choose_engine(study, f)
    assert name == "duckdb" and "larger than 0.5" in why
    assert choose.choose_engine(study, tmp_path / "none.parquet")[0] == "memory"
    assert choose.choose_engine(_with_engine(study, "memory"), f) == (
        "memory",
        "the study file sets engine: memory",
    )


def _with_engine(study, name):
    out = copy.copy(study)
    out.spec = study.spec.model_copy(
        update={"engine": study.spec.engine.model_copy(update={"name": name})}
    )
    return out


def test_kpi_summary_through_duckdb_equals_memory(study, data, caplog):
    fixed = study_design(study, raking_se=False)
    by = ["wave", "customer_type"]
    mem = kpi_summary(data, study=_with_engine(study, "memory"), by=by, design=fixed)
    with caplog.at_level(logging.INFO, logger="analysis_helpers.engine"):
        duck = kpi_summary(data, study=_with_engine(study, "duckdb"), by=by, design=fixed)
    assert "engine duckdb" in caplog.text
    assert set(mem["kpi"]) == {
        "overall_mean",
        "overall_top2",
        "nps",
        "ces_mean",
        "repurchase_top2",
        "csi",
    }
    assert list(mem.columns) == list(duck.columns) and len(mem) == len(duck)
    for c in mem.columns:
        if pd.api.types.is_numeric_dtype(mem[c]):
            np.testing.assert_allclose(duck[c].to_numpy(float), mem[c].to_numpy(float), rtol=1e-10)
        else:
            assert mem[c].tolist() == duck[c].tolist()


def test_kpi_summary_from_parquet(study, data, tmp_path):
    fixed = study_design(study, raking_se=False)
    data.to_parquet(tmp_path / "clean.parquet")
    with DuckEngine(tmp_path / "clean.parquet", memory_limit="300MB") as eng:
        duck = engine_kpis(eng, study=study, design=fixed)
    mem = kpi_summary(data, study=_with_engine(study, "memory"), design=fixed)
    np.testing.assert_allclose(duck["se"].to_numpy(float), mem["se"].to_numpy(float), rtol=1e-10)
    np.testing.assert_allclose(
        duck["estimate"].to_numpy(float), mem["estimate"].to_numpy(float), rtol=1e-10
    )


def test_calibrated_design_stays_in_memory(study, data, caplog):
    raking = study_design(study)  # the demo's raking-aware SEs
    assert raking.calibration is not None
    with caplog.at_level(logging.INFO, logger="analysis_helpers.engine"):
        got = kpi_summary(data, study=_with_engine(study, "duckdb"), by=["wave"], design=raking)
    assert "engine memory, not duckdb" in caplog.text and "calibrated" in caplog.text
    mem = kpi_summary(data, study=_with_engine(study, "memory"), by=["wave"], design=raking)
    pd.testing.assert_frame_equal(got, mem)
