"""``report --per SEGMENT``: one complete report per unit and the index of the units.

On the runner's tiny project (tests/runner_project.py): every unit folder is complete, the
index lists the units (a unit too small has its sentence instead), folder names are safe,
a failing unit leaves no partial folder (its notebooks are kept in ``<date>.failed-*``),
--force and the dated folder work as for the main report, a segment that is not one is a
clear input error. On a small study shape with the real notebooks: the numbers of a unit's
report are the full report's numbers computed on the unit's data.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
from runner_project import make_project

from analysis_helpers.cli import main
from analysis_helpers.runner import NotebookFailed, ReportError, ReportExists, run_report

ROOT = Path(__file__).resolve().parents[1]

SEGMENT = """\
segments:
  - column: region
    label: "Region <i>"
    values: {n: "North <b>", s: South, "../up": "Up & away", t: Tiny}
reporting: {min_base: 2, suppress_below: 1}
quality: {duplicates: {action: "off"}}
"""

#: a notebook that shows its unit's rows (as the real notebooks get them) and fails for
#: the unit named in ``fail_unit``
UNIT_NOTEBOOK = (
    "import json\nfrom pathlib import Path\n"
    "from analysis_helpers.cleaning import load_clean\n"
    "from analysis_helpers.notebook import setup\n"
    "ctx = setup(study_file, report_dir, notebook='40-unit')\n"
    "data = load_clean(ctx.study)\n"
    "unit = json.loads(Path(report_dir, 'unit.json').read_text())\n"
    "if unit['value'] == fail_unit:\n    raise ValueError('planted unit failure')\n"
    "ctx.save_table(data[['id', 'q1', 'region']], 'rows')\n"
    "ctx.show(data[['q1']].describe().reset_index(), caption='Q1')"
)


@pytest.fixture
def project(tmp_path) -> Path:
    root = make_project(tmp_path / "proj", extra=SEGMENT)
    (root / "data/raw/tiny/w1.csv").write_text(
        "id,q1,region\n1,4,n\n2,5,n\n3,2,s\n4,3,s\n5,1,../up\n6,2,../up\n7,5,t\n"
    )
    nb = new_notebook(
        metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
        }
    )
    params = new_code_cell('study_file: str = ""\nreport_dir: str = ""\nfail_unit: str = ""')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [new_markdown_cell("# Unit"), params, new_code_cell(UNIT_NOTEBOOK)]
    nbformat.write(nb, root / "notebooks/40-unit.ipynb")
    return root


def run(project, **kw):
    kw.setdefault("progress", lambda _: None)
    kw.setdefault("date", "2026-02-01")
    kw.setdefault("workers", 2)
    return run_report("config/tiny.yml", root=project, per="region", **kw)


REPORT_FILES = {
    "20-second.html",
    "20-second.ipynb",
    "30-third.html",
    "30-third.ipynb",
    "40-unit.html",
    "40-unit.ipynb",
    "index.html",
    "items.json",
    "report.pptx",
    "report.xlsx",
    "run.html",
    "run.json",
    "tables",
    "deliverables",
    "unit.json",
}


def test_one_complete_report_per_unit_and_an_index(project):
    out = run(project)
    by_dir = project / "reports" / "tiny" / "by-region"
    assert out == by_dir / "2026-02-01"
    # every unit folder complete; the unit "../up" has a folder inside; "t" is too small
    assert sorted(p.name for p in out.iterdir()) == [
        "index.html", "n", "run.json", "s", "units.csv", "up",
    ]  # fmt: skip
    for unit in ("n", "s", "up"):
        assert {p.name for p in (out / unit).iterdir()} == REPORT_FILES, unit
    assert not (project / "reports" / "tiny" / "up").exists()
    # only the unit's respondents, with the unit in the title of its pages
    rows = pd.read_csv(out / "n" / "tables" / "rows.csv", encoding="utf-8-sig")
    assert rows["id"].tolist() == [1, 2] and set(rows["region"]) == {"n"}
    up = pd.read_csv(out / "up" / "tables" / "rows.csv", encoding="utf-8-sig")
    assert up["id"].tolist() == [5, 6]
    record = json.loads((out / "n" / "run.json").read_text(encoding="utf-8"))
    assert record["unit"]["segment"] == "region" and record["unit"]["value"] == "n"
    assert record["title"] == "Tiny <study> & co – Region <i>: North <b>"
    assert [n["name"] for n in record["notebooks"]] == ["20-second", "30-third", "40-unit"]
    assert record["parameters"]["report_dir"] == str(out / "n")
    page = (out / "n" / "40-unit.html").read_text(encoding="utf-8")
    assert (
        "Region &lt;i&gt;: North &lt;b&gt;" in page and "<b>" not in page.split("<body")[1][:2000]
    )
    # the index: the total, each unit linked with its base, the small unit's sentence
    index = (out / "index.html").read_text(encoding="utf-8")
    assert '<a href="n/index.html">North &lt;b&gt;</a>' in index
    assert '<a href="up/index.html">Up &amp; away</a>' in index
    assert "Tiny has 1 respondent, fewer than the 2 a report needs" in index
    assert "<b>" not in index and "<i>" not in index
    units = json.loads((out / "run.json").read_text(encoding="utf-8"))["units"]
    assert [(u["value"], u["folder"], u["n"], u["status"]) for u in units] == [
        ("n", "n", 2, "ok"), ("s", "s", 2, "ok"), ("../up", "up", 2, "ok"),
        ("t", None, 1, "too small"),
    ]  # fmt: skip
    comparison = pd.read_csv(out / "units.csv", encoding="utf-8-sig")
    assert set(comparison["value"]) == {"n", "s", "../up", "t"}
    # the folder of runs by unit, latest, nothing left over; the study page links it
    assert sorted(p.name for p in by_dir.iterdir()) == [
        ".lock", ".study.json", "2026-02-01", "index.html", "latest",
    ]  # fmt: skip
    assert os.readlink(by_dir / "latest") == "2026-02-01"
    study_page = (project / "reports" / "tiny" / "index.html").read_text(encoding="utf-8")
    assert 'href="by-region/index.html">By Region &lt;i&gt;</a>' in study_page
    # the date's folder exists: refused without --force, replaced with it
    with pytest.raises(ReportExists, match="by-region/2026-02-01 exists already; pass --force"):
        run(project)
    (out / "n" / "marker").write_text("old")
    run(project, force=True)
    assert not (out / "n" / "marker").exists() and (out / "n" / "index.html").is_file()


def test_a_failing_unit_leaves_no_partial_folder(project):
    with pytest.raises(NotebookFailed) as caught:
        run(project, parameters={"fail_unit": "s"})
    message = str(caught.value)
    assert "1 of 3 unit reports were not produced" in message
    assert "s (South): 40-unit failed in cell " in message and "planted unit failure" in message
    by_dir = project / "reports" / "tiny" / "by-region"
    out = by_dir / "2026-02-01"
    # the other units are complete, the failed one absent; its notebooks kept aside
    assert sorted(p.name for p in out.iterdir()) == [
        "index.html",
        "n",
        "run.json",
        "units.csv",
        "up",
    ]
    assert {p.name for p in (out / "n").iterdir()} == REPORT_FILES
    failed = [p for p in by_dir.iterdir() if p.name.startswith("2026-02-01.failed-")]
    assert len(failed) == 1 and (failed[0] / "s" / "40-unit.ipynb").is_file()
    assert not [p for p in by_dir.iterdir() if p.name.startswith(".staging")]
    index = (out / "index.html").read_text(encoding="utf-8")
    assert "Its report was not produced in this run" in index
    assert '<a href="s/index.html">' not in index
    units = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert units["status"] == "partial"
    assert [u["status"] for u in units["units"]] == ["ok", "failed", "ok", "too small"]


def test_a_failed_cleaning_leaves_no_units(project):
    (project / "data/raw/tiny/w1.csv").write_text("id,q1,region\n1,4,n\n")
    (project / "notebooks/10-first.ipynb").write_text(
        (project / "notebooks/10-first.ipynb").read_text().replace("print('ok')", "1/0")
    )
    with pytest.raises(NotebookFailed, match="10-first failed"):
        run(project)
    by_dir = project / "reports" / "tiny" / "by-region"
    assert not (by_dir / "2026-02-01").exists()
    assert [p.name[:18] for p in by_dir.iterdir() if ".failed-" in p.name] == ["2026-02-01.failed-"]


def test_a_segment_that_is_not_one_is_an_input_error(project, capsys, monkeypatch):
    with pytest.raises(
        ReportError,
        match=r"--per regoin: 'regoin' is not a segment of study 'tiny'; its segments: region",
    ):
        run_report("config/tiny.yml", root=project, per="regoin", progress=lambda _: None)
    assert not (project / "reports" / "tiny" / "by-regoin").exists()
    monkeypatch.chdir(project)
    assert main(["report", "--study", "config/tiny.yml", "--per", "regoin"]) == 2
    assert "its segments: region" in capsys.readouterr().err


@pytest.mark.notebooks
def test_a_unit_report_has_the_full_reports_numbers_on_the_units_data(tmp_path):
    from analysis_helpers.cleaning import load_clean
    from analysis_helpers.demo import write_study_shape
    from analysis_helpers.describe import pick_wave
    from analysis_helpers.study import load_study
    from analysis_helpers.study_tables import flag_bases, kpi_summary
    from analysis_helpers.units import unit_rows

    study_file = write_study_shape(tmp_path / "project", "full")
    out = run_report(
        study_file,
        date="2026-01-31",
        out=tmp_path / "reports",
        only=["20-describe"],
        root=ROOT,
        per="customer_type",
        progress=lambda _: None,
    )
    study = load_study(study_file)
    data = load_clean(study)
    record = json.loads((out / "run.json").read_text(encoding="utf-8"))
    made = [u for u in record["units"] if u["status"] == "ok"]
    assert len(made) == 3
    for u in made:
        report = out / u["folder"]
        assert (report / "20-describe.html").is_file() and (report / "report.xlsx").is_file()
        part = data[unit_rows(data, study=study, segment="customer_type", value=u["value"])]
        now = part[part[study.wave_column] == pick_wave(part, study=study)]
        expected = flag_bases(kpi_summary(now, study=study), study=study)
        shown = pd.read_csv(report / "tables" / "kpi_summary.csv", encoding="utf-8-sig")
        assert shown["n"].tolist() == expected["n"].tolist()
        assert shown["estimate"].to_numpy() == pytest.approx(expected["estimate"].to_numpy())
        assert shown["se"].to_numpy() == pytest.approx(expected["se"].to_numpy())
    index = (out / "index.html").read_text(encoding="utf-8")
    assert all(f'href="{u["folder"]}/index.html"' in index for u in made)
