"""Several reports in one run (``report --also``, ``make report``'s two languages): one pool
of workers for every report's notebooks, each report complete or absent on its own, and
the dependency graph of the jobs (:func:`analysis_helpers.runner._dependencies`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from runner_project import STUDY

from analysis_helpers.runner import (
    NotebookFailed,
    ReportError,
    _dependencies,
    _Job,
    run_report,
)


@pytest.fixture
def project(tmp_path) -> Path:
    from runner_project import make_project

    root = make_project(tmp_path / "proj")
    twin = STUDY.format(name="twin", extra="reporting: {language: zh}\n")
    (root / "config/twin.yml").write_text(twin, encoding="utf-8")
    return root


def _job(name: str, needs: tuple[str, ...] = (), after: tuple[int, ...] | None = None) -> _Job:
    return _Job(name, "", "", {}, "k", "", needs=needs, after=after)


def test_dependencies_cleaning_first_then_the_round_then_the_pages_that_need_it():
    jobs = [_job("10-c"), _job("20-a"), _job("30-b"), _job("00-s", needs=("20-a",))]
    # the summary waits for the whole analysis round (and cleaning), not only 20-a
    assert _dependencies(jobs) == [(), (0,), (0,), (0, 1, 2)]
    # units: a unit's summary waits for its own unit's round only
    jobs = [
        _job("10-c"),
        _job("n/20-a"),
        _job("n/00-s", needs=("n/20-a",)),
        _job("s/20-a"),
        _job("s/00-s", needs=("s/20-a",)),
    ]
    assert _dependencies(jobs) == [(), (0,), (0, 1), (0,), (0, 3)]
    # explicit dependencies win (the jobs of a second report of the run)
    jobs = [_job("10-c"), _job("10-c", after=()), _job("20-a", after=(1,))]
    assert _dependencies(jobs) == [(), (), (1,)]


def test_two_reports_in_one_run_share_the_workers(project):
    lines: list[str] = []
    out = run_report(
        "config/tiny.yml",
        also=["config/twin.yml"],
        root=project,
        date="2026-02-01",
        workers=2,
        parameters={"items": [7]},
        progress=lines.append,
    )
    reports = project / "reports"
    assert out == reports / "tiny" / "2026-02-01"
    for name in ("tiny", "twin"):
        folder = reports / name / "2026-02-01"
        record = json.loads((folder / "run.json").read_text(encoding="utf-8"))
        assert record["study"] == name
        assert [n["name"] for n in record["notebooks"]] == ["10-first", "20-second", "30-third"]
        assert json.loads((folder / "items.json").read_text()) == [7]
        assert (folder / "report.xlsx").is_file() and (folder / "report.pptx").is_file()
    # each report's analysis round started after its own cleaning
    for name in ("tiny", "twin"):
        done = lines.index(next(x for x in lines if f"{name}/10-first done" in x))
        for nb in ("20-second", "30-third"):
            assert lines.index(next(x for x in lines if f"{name}/{nb} done" in x)) > done
    assert sum("report written to" in x for x in lines) == 2
    index = (reports / "index.html").read_text(encoding="utf-8")
    assert "tiny/" in index and "twin/" in index


def test_a_failed_report_leaves_the_other_one_written(project):
    # only the twin fails: its notebook raises when the study is the twin
    nb = project / "notebooks/30-third.ipynb"
    data = json.loads(nb.read_text(encoding="utf-8"))
    data["cells"][-1]["source"] = "if 'twin' in study_file:\n    raise ValueError('planted')\n"
    nb.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(NotebookFailed, match="30-third failed.*planted"):
        run_report(
            "config/tiny.yml",
            also=["config/twin.yml"],
            root=project,
            date="2026-02-01",
            workers=2,
            progress=lambda _: None,
        )
    reports = project / "reports"
    assert (reports / "tiny/2026-02-01/run.json").is_file()
    assert not (reports / "twin/2026-02-01").exists()  # absent, not half-written
    assert [p.name for p in (reports / "twin").glob("2026-02-01.failed-*")]


def test_the_same_study_twice_and_per_are_refused(project):
    with pytest.raises(ReportError, match="same study twice"):
        run_report("config/tiny.yml", also=["config/tiny.yml"], root=project, progress=print)
    with pytest.raises(ReportError, match="one study at a time"):
        run_report("config/tiny.yml", also=["config/twin.yml"], per="x", root=project)
