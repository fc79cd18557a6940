"""The study's raking in its design: raking-aware SEs on by default, the switch, the table."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import yaml

from analysis_helpers.cleaning import clean
from analysis_helpers.estimation import Calibration, survey_mean
from analysis_helpers.study import StudyFileError, load_study
from analysis_helpers.study_tables import kpi_summary, study_calibration, study_design
from analysis_helpers.weighting import raking_se_effect, raking_se_takeaway

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "config" / "demo.yml"


def _study(tmp_path: Path, mutate):
    raw = yaml.safe_load(DEMO.read_text(encoding="utf-8"))
    raw = copy.deepcopy(raw)
    mutate(raw)
    (tmp_path / "config").mkdir(exist_ok=True)
    path = tmp_path / "config" / "study.yml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return load_study(path, check_files=False)


@pytest.fixture(scope="module")
def demo():
    study = load_study(DEMO)
    return study, clean(study).data


def test_raking_study_design_carries_the_raking_by_default(demo):
    study, _ = demo
    wt = study.weighting
    assert wt is not None and wt.raking_se is True
    cal = study_design(study).calibration
    assert cal == Calibration(
        list(wt.margins), method="rake", within=study.wave_column, if_missing="fixed"
    )
    assert study_design(study, raking_se=False).calibration is None


def test_raking_se_false_switches_it_off_and_is_validated(tmp_path):
    def off(raw):
        raw["weighting"]["raking_se"] = False

    study = _study(tmp_path, off)
    assert study.weighting.raking_se is False
    assert study_calibration(study) is None
    assert study_design(study, raking_se=True).calibration is not None

    def bad(raw):
        raw["weighting"]["raking_se"] = "sometimes"

    with pytest.raises(StudyFileError, match="raking_se"):
        _study(tmp_path, bad)


def test_raking_se_effect_matches_the_two_designs(demo):
    study, data = demo
    effect = raking_se_effect(data, study=study)
    assert set(effect["kpi"]) >= {"overall_mean", "nps", "csi"}
    assert effect["in_use"].all()
    aware = kpi_summary(data, study=study, by=[study.wave_column])
    fixed = kpi_summary(
        data, study=study, by=[study.wave_column], design=study_design(study, raking_se=False)
    )
    keys = [study.wave_column, "kpi"]
    e = effect.set_index(keys)
    np.testing.assert_allclose(e["se_raking"], aware.set_index(keys).loc[e.index, "se"])
    np.testing.assert_allclose(e["se_fixed"], fixed.set_index(keys).loc[e.index, "se"])
    np.testing.assert_allclose(e["se_ratio"], e["se_raking"] / e["se_fixed"])
    # the demo's items depend on the raked segments: raking-aware SEs are smaller
    assert (e["se_ratio"] < 1).all() and (e["se_ratio"] > 0.8).all()
    said = raking_se_takeaway(effect)
    assert said["key"] == "clean.raking_se"
    assert said["low"] == f"{100 * (e['se_ratio'].min() - 1):+.1f}%"


def test_margin_shares_are_known_within_each_wave(demo):
    # a raked margin's shares are fixed by the raking: SE ~0 with the raking counted
    study, data = demo
    col = next(iter(study.weighting.margins))
    w = data.assign(_m=(data[col] == data[col].iloc[0]).astype(float))
    se = survey_mean(w, items="_m", by=study.wave_column, design=study_design(study))["se"]
    fixed = survey_mean(
        w, items="_m", by=study.wave_column, design=study_design(study, raking_se=False)
    )["se"]
    assert (se < 1e-3 * fixed).all()


def test_a_study_without_raking_has_no_calibration(tmp_path):
    def drop(raw):
        raw.pop("weighting")
        raw["data"]["design"]["weight"] = "weight"

    study = _study(tmp_path, drop)
    assert study_calibration(study) is None
    with pytest.raises(ValueError, match="does not rake"):
        raking_se_effect(None, study=study)
