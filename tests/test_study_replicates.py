"""``data.design.replicates`` in the study file (issue 15): validation and the design it gives."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from analysis_helpers.estimation import survey_mean
from analysis_helpers.replicates import ReplicateDesign
from analysis_helpers.study import StudyFileError, load_study
from analysis_helpers.study_tables import kpi_summary, study_design

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "config" / "demo.yml"


@pytest.fixture(scope="module")
def demo_raw() -> dict:
    return yaml.safe_load(DEMO.read_text(encoding="utf-8"))


def write_study(tmp_path: Path, raw: dict) -> Path:
    (tmp_path / "config").mkdir(exist_ok=True)
    path = tmp_path / "config" / "study.yml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


def with_replicates(demo_raw: dict, replicates: dict, **design) -> dict:
    raw = copy.deepcopy(demo_raw)
    d = raw["data"]["design"]
    d.update(strata=None, cluster=None, fpc=None, replicates=replicates)
    d.update(design)
    return raw


CASES = [
    (
        "columns and prefix",
        {"columns": ["r1", "r2"], "prefix": "r", "count": 2, "type": "JK1"},
        {},
        "data.design.replicates: give the replicate weight columns (columns: [rep1, rep2, ...]) "
        "or a prefix and count (prefix: rep, count: 80), not both",
    ),
    (
        "prefix without count",
        {"prefix": "rep", "type": "bootstrap"},
        {},
        "data.design.replicates: prefix 'rep': give count, the number of replicates",
    ),
    (
        "one column",
        {"columns": ["r1"], "type": "JK1"},
        {},
        "data.design.replicates: give at least 2 replicate weight columns",
    ),
    (
        "column twice",
        {"columns": ["r1", "r1"], "type": "JK1"},
        {},
        "data.design.replicates: column 'r1' is listed more than once",
    ),
    (
        "rscales of another length",
        {"prefix": "rep", "count": 4, "type": "JKn", "rscales": [0.5, 0.5]},
        {},
        "data.design.replicates: 2 rscales for 4 replicate columns",
    ),
    (
        "other without scale",
        {"prefix": "rep", "count": 4},
        {},
        "data.design.replicates: type 'other' needs scale (the factor of the replicate variance)",
    ),
    (
        "JKn without rscales",
        {"prefix": "rep", "count": 4, "type": "JKn"},
        {},
        "data.design.replicates: type 'JKn' needs rscales ((n_h - 1) / n_h of each replicate)",
    ),
    (
        "Fay without rho",
        {"prefix": "rep", "count": 4, "type": "Fay"},
        {},
        "data.design.replicates: type 'Fay' needs rho (or scale)",
    ),
    (
        "rho on BRR",
        {"prefix": "rep", "count": 4, "type": "BRR", "rho": 0.5},
        {},
        "data.design.replicates: rho is Fay's factor; type is 'BRR'",
    ),
    (
        "negative scale",
        {"prefix": "rep", "count": 4, "type": "BRR", "scale": -1},
        {},
        "data.design.replicates.scale: Input should be greater than 0",
    ),
    (
        "unknown type",
        {"prefix": "rep", "count": 4, "type": "jackknife"},
        {},
        "data.design.replicates.type: Input should be 'JK1', 'JKn', 'BRR', 'Fay', 'bootstrap', "
        "'subbootstrap', 'SDR' or 'other'",
    ),
    (
        "with strata",
        {"prefix": "rep", "count": 4, "type": "BRR"},
        {"strata": "region"},
        "data.design: replicates carry the design: remove strata (or the replicates)",
    ),
    (
        "without weight",
        {"prefix": "rep", "count": 4, "type": "BRR"},
        {"weight": None},
        "data.design: replicates: give the full-sample weight too (design.weight); the "
        "replicate columns are analysis weights",
    ),
]


@pytest.mark.parametrize(
    "replicates,design,message", [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_replicates_errors_name_the_file_and_key(tmp_path, demo_raw, replicates, design, message):
    raw = with_replicates(demo_raw, replicates, **design)
    with pytest.raises(StudyFileError) as info:
        load_study(write_study(tmp_path, raw), check_files=False)
    lines = str(info.value).splitlines()
    assert any(line.endswith(f"study.yml: {message}") for line in lines), str(info.value)


@pytest.mark.parametrize(
    "kind,extra,scale",
    [("JK1", {}, 3 / 4), ("BRR", {}, 1 / 4), ("Fay", {"rho": 0.5}, 1.0),
     ("bootstrap", {}, 1 / 3), ("SDR", {}, 1.0), ("other", {"scale": 0.7}, 0.7)],
)  # fmt: skip
def test_replicates_give_a_replicate_design(tmp_path, demo_raw, kind, extra, scale):
    raw = with_replicates(demo_raw, {"prefix": "rep", "count": 4, "type": kind, **extra})
    study = load_study(write_study(tmp_path, raw), check_files=False)
    d = study_design(study)
    assert isinstance(d, ReplicateDesign)
    assert d.replicates == ("rep1", "rep2", "rep3", "rep4")
    assert d.weight == "rake_weight" and d.type == kind and d.mse is False
    assert d.scale == pytest.approx(scale)
    cols = study.design_columns()
    assert [cols[f"replicate{k}"] for k in range(1, 5)] == ["rep1", "rep2", "rep3", "rep4"]


def test_kpis_and_ses_come_from_the_replicates(tmp_path, demo_raw):
    """The study's KPI table uses the replicate design: JK1 of 4 groups, SE by hand."""
    raw = with_replicates(
        demo_raw, {"columns": ["ra", "rb", "rc", "rd"], "type": "JK1", "mse": True}
    )
    study = load_study(write_study(tmp_path, raw), check_files=False)
    rng = np.random.default_rng(1)
    n = 80
    data = pd.DataFrame(
        {
            name: rng.integers(item.scale.min, item.scale.max + 1, n).astype(float)
            for name, item in study.items.items()
            if item.scale is not None
        }
    )
    data["rake_weight"] = rng.uniform(0.5, 2, n)
    group = np.arange(n) % 4
    for k, col in enumerate(["ra", "rb", "rc", "rd"]):
        data[col] = np.where(group == k, 0.0, data["rake_weight"] * 4 / 3)
    overall = study.kpis.overall
    y, w = data[overall].to_numpy(), data["rake_weight"].to_numpy()
    full = (w @ y) / w.sum()
    reps = np.array([(data[c].to_numpy() @ y) / data[c].sum() for c in ["ra", "rb", "rc", "rd"]])
    se = np.sqrt(3 / 4 * ((reps - full) ** 2).sum())
    mean = survey_mean(data, items=overall, design=study_design(study))
    np.testing.assert_allclose(mean["se"], se, rtol=1e-10)
    table = kpi_summary(data, study=study)
    row = table[(table["estimate"] - full).abs() < 1e-12]
    assert len(row) == 1, table
    np.testing.assert_allclose(row["se"].iloc[0], se, rtol=1e-10)


def test_replicate_columns_of_the_exports_survive_cleaning(tmp_path):
    """A study whose exports carry replicate weights: cleaned, then the KPIs use them.

    The cleaning step parses the replicate columns as numbers; the overall mean's SE is the
    JK1 spread of the replicate means, by hand.
    """
    from analysis_helpers.cleaning import clean
    from analysis_helpers.demo import write_study_shape

    path = write_study_shape(tmp_path, "delivered_weights")
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    folder = path.parent.parent / "data" / "raw" / "delivered_weights"
    rng = np.random.default_rng(0)
    for f in raw["data"]["files"]:
        assert f["format"] == "csv"
        export = pd.read_csv(folder / f["path"], dtype=str, keep_default_na=False)
        w = pd.to_numeric(export["weight"])
        group = rng.integers(0, 5, len(export))
        for k in range(5):
            export[f"rep{k + 1}"] = np.where(group == k, 0.0, w * 5 / 4)
        export.to_csv(folder / f["path"], index=False)
    raw["data"]["design"]["replicates"] = {"prefix": "rep", "count": 5, "type": "JK1"}
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    study = load_study(path)
    data = clean(study).data
    assert all(data[f"rep{k}"].dtype == float for k in range(1, 6))
    table = kpi_summary(data, study=study).set_index("kpi")
    y = pd.to_numeric(data[study.kpis.overall]).to_numpy(dtype=float)
    ok = ~np.isnan(y)
    w = data["weight"].to_numpy(dtype=float)
    full = (w[ok] @ y[ok]) / w[ok].sum()
    reps = []
    for k in range(1, 6):
        rw = pd.to_numeric(data[f"rep{k}"]).to_numpy(dtype=float)
        reps.append((rw[ok] @ y[ok]) / rw[ok].sum())
    reps = np.array(reps)
    se = np.sqrt(4 / 5 * ((reps - reps.mean()) ** 2).sum())
    np.testing.assert_allclose(table.loc["overall_mean", "estimate"], full, rtol=1e-10)
    np.testing.assert_allclose(table.loc["overall_mean", "se"], se, rtol=1e-10)


def test_a_bad_replicate_weight_stops_the_cleaning_naming_file_row_and_value(tmp_path):
    """A kept respondent whose replicate weight is text stops the cleaning with its place."""
    from analysis_helpers.cleaning import clean
    from analysis_helpers.demo import write_study_shape
    from analysis_helpers.io import DataFileError

    path = write_study_shape(tmp_path, "delivered_weights")
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    folder = path.parent.parent / "data" / "raw" / "delivered_weights"
    first = raw["data"]["files"][0]["path"]
    for f in raw["data"]["files"]:
        export = pd.read_csv(folder / f["path"], dtype=str, keep_default_na=False)
        for k in range(2):
            export[f"rep{k + 1}"] = export["weight"]
        if f["path"] == first:
            export.loc[3, "rep2"] = "n/a"
        export.to_csv(folder / f["path"], index=False)
    raw["data"]["design"]["replicates"] = {"prefix": "rep", "count": 2, "type": "JK1"}
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    with pytest.raises(DataFileError) as err:
        clean(load_study(path))
    e = err.value
    assert (Path(e.file).name, e.row, e.column, e.value) == (Path(first).name, 5, "rep2", "n/a")
    assert "replicate weight" in str(e)


def test_replicate_studies_are_not_linearised(tmp_path, demo_raw):
    """A replicate study is not linearised (the part and its sentence stay for the pages)."""
    raw = with_replicates(demo_raw, {"prefix": "rep", "count": 4, "type": "JK1"})
    study = load_study(write_study(tmp_path, raw), check_files=False)
    assert not study.has_linearised_design
    assert study.absent("linearised_design").startswith(
        "This study's standard errors come from replicate weights"
    )
    assert load_study(DEMO).absent("linearised_design") is None
