"""The report runner on a tiny project of its own (tests/runner_project.py): the folder
layout, the client pages, --force, --keep and latest, failures, input errors, -p lists and
the exit codes. The runner's faults (locks, kills, full disks, time limits) are in
test_runner_faults.py."""

from __future__ import annotations

import argparse
import json
import os
import re
from pathlib import Path

import pytest
from runner_project import make_project

from analysis_helpers import cli
from analysis_helpers._runpages import question
from analysis_helpers.cli import _parameter, main
from analysis_helpers.runner import (
    EXIT_CODES,
    AlreadyRunning,
    NotebookFailed,
    NotebookTimeout,
    ReportError,
    ReportExists,
    ReportInterrupted,
    ReportOSError,
    _update_latest,
    run_report,
)


@pytest.fixture
def project(tmp_path) -> Path:
    return make_project(tmp_path / "proj")


def run(project, **kw):
    kw.setdefault("progress", lambda _: None)
    kw.setdefault("date", "2026-02-01")
    kw.setdefault("workers", 1)
    return run_report("config/tiny.yml", root=project, **kw)


def test_report_folder_pages_and_indexes(project):
    items = ["2024Q1", 3, None, [1.5, "x"]]
    out = run(project, workers=2, parameters={"items": items})
    reports = project / "reports"
    assert out == reports / "tiny" / "2026-02-01"
    assert sorted(p.name for p in out.iterdir()) == [
        "10-first.html",
        "10-first.ipynb",
        "20-second.html",
        "20-second.ipynb",
        "30-third.html",
        "30-third.ipynb",
        "index.html",
        "items.json",
        "report.pptx",
        "report.xlsx",
        "run.html",
        "run.json",
        "tables",
    ]
    # a YAML list from -p reaches the notebook as a list
    assert json.loads((out / "items.json").read_text()) == items
    # the study folder: the report, its index, latest, nothing left over
    assert sorted(p.name for p in (reports / "tiny").iterdir()) == [
        ".lock",
        ".study.json",
        "2026-02-01",
        "index.html",
        "latest",
    ]
    assert os.readlink(reports / "tiny" / "latest") == "2026-02-01"
    assert sorted(p.name for p in reports.iterdir()) == [".lock", "index.html", "tiny"]

    record = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert [n["title"] for n in record["notebooks"]] == [
        "First",
        "Second: how does it go?",
        "Third",
    ]
    assert record["parameters"]["report_dir"] == str(out)
    assert record["parameters"]["items"] == items
    assert record["runner"] == {"timeout": 1800.0, "run_timeout": 7200.0, "keep": None}
    assert record["client"] == "ACME <b>Corp</b>" and record["status"] == "ok"
    assert set(record["inputs"]) == {"config/tiny.yml", "data/raw/tiny/w1.csv"}

    # the client page: title, client, description, parts with their question; escaped
    index = (out / "index.html").read_text(encoding="utf-8")
    assert "<h1>Tiny &lt;study&gt; &amp; co</h1>" in index
    assert '<p class="client">ACME &lt;b&gt;Corp&lt;/b&gt;</p>' in index
    assert "Two respondents &lt;script&gt;alert(1)&lt;/script&gt;." in index
    assert "<script" not in index and "<b>" not in index
    assert "Report of 1 February 2026" in index
    contents = index.split('<ol class="parts">')[1].split("</ol>")[0]
    parts = re.findall(r'<li><a href="([^"]+)">([^<]+)</a>(.*?)</li>', contents)
    assert parts == [
        ("10-first.html", "First", ""),
        ("20-second.html", "Second", '<span class="question">How does it go?</span>'),
        ("30-third.html", "Third", '<span class="question">Is this the third one?</span>'),
    ]
    # the workbook and the deck, linked and recorded (the notebooks showed nothing)
    assert '<a href="report.xlsx">report.xlsx</a>' in index
    assert "Excel workbook (the report shows no tables)" in index
    assert '<a href="report.pptx">report.pptx</a>' in index
    assert [f["file"] for f in record["deliverables"]["files"]] == ["report.xlsx", "report.pptx"]
    assert record["deliverables"]["files"][1]["slides"] == 2
    # run details are on a page of their own, not on the client page
    assert "sha" not in index.lower() and 'href="run.html"' in index
    run_page = (out / "run.html").read_text(encoding="utf-8")
    assert record["inputs"]["data/raw/tiny/w1.csv"] in run_page
    assert "Tiny &lt;study&gt;" in run_page and "<script" not in run_page
    assert "1800 s per notebook, 7200 s per run" in run_page

    study_index = (reports / "tiny" / "index.html").read_text(encoding="utf-8")
    assert 'href="2026-02-01/index.html"' in study_index and "<script" not in study_index
    top = (reports / "index.html").read_text(encoding="utf-8")
    assert 'href="tiny/index.html">Tiny &lt;study&gt; &amp; co</a>' in top
    assert 'href="tiny/2026-02-01/index.html">1 February 2026</a> (1 in all)' in top
    assert "ACME &lt;b&gt;Corp" in top and "<script" not in top


def test_force_keep_and_latest(project):
    study_dir = project / "reports" / "tiny"
    first = run(project, only=["10-first"])
    (first / "marker").write_text("old")
    other = project / "reports/other/2026-02-01"  # another study's report of that date
    other.mkdir(parents=True)
    with pytest.raises(ReportExists, match="exists already; pass --force to replace it"):
        run(project)
    assert (first / "marker").exists()
    run(project, only=["10-first"], force=True)
    assert not (first / "marker").exists()
    assert other.is_dir()  # FORCE replaces only this study's report of this date
    # a newer report (made by hand here) and an old failed run; then a back-dated run that
    # keeps two reports: the oldest report and the older failed run go, latest stays newest
    newer = study_dir / "2026-03-01"
    newer.mkdir()
    (newer / "run.json").write_text('{"notebooks": []}')
    (study_dir / "2026-01-15.failed-101010").mkdir()
    (study_dir / "2026-02-02.failed-101010").mkdir()
    run(project, only=["10-first"], date="2026-02-02", keep=2)
    assert sorted(p.name for p in study_dir.iterdir() if not p.name.startswith(".")) == [
        "2026-02-02",
        "2026-02-02.failed-101010",
        "2026-03-01",
        "index.html",
        "latest",
    ]
    assert os.readlink(study_dir / "latest") == "2026-03-01"
    page = (study_dir / "index.html").read_text(encoding="utf-8")
    assert page.index("1 March 2026") < page.index("2 February 2026")
    assert "1 February 2026" not in page


def test_latest_without_symbolic_links(tmp_path, monkeypatch):
    study_dir = tmp_path / "tiny"
    for date in ("2026-01-01", "2026-02-01"):
        (study_dir / date).mkdir(parents=True)
        (study_dir / date / "run.json").write_text("{}")
    (study_dir / "2026-03-01.failed-010101").mkdir()  # not a report

    def refuse(*args, **kwargs):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "symlink", refuse)
    _update_latest(study_dir, print)
    assert not (study_dir / "latest").exists()
    assert (study_dir / "latest.txt").read_text() == "2026-02-01\n"
    page = (study_dir / "latest.html").read_text()
    assert 'content="0; url=2026-02-01/index.html"' in page
    assert sorted(p.name for p in study_dir.iterdir()) == [
        "2026-01-01",
        "2026-02-01",
        "2026-03-01.failed-010101",
        "latest.html",
        "latest.txt",
    ]


def test_failure_names_notebook_and_cell_and_keeps_it(project):
    with pytest.raises(NotebookFailed) as info:
        run(project, parameters={"fail": True}, only=["20-second"])
    assert type(info.value) is NotebookFailed and info.value.exit_code == 3
    msg = str(info.value)
    assert "20-second failed in cell 4 (execution count 3): ValueError: planted failure" in msg
    study_dir = project / "reports" / "tiny"
    assert not (study_dir / "2026-02-01").exists()  # nothing that looks complete
    kept = [p for p in study_dir.iterdir() if p.name.startswith("2026-02-01.failed-")]
    assert len(kept) == 1 and (kept[0] / "20-second.ipynb").is_file()
    assert json.loads((kept[0] / "run.json").read_text())["notebooks"][1]["status"] == "failed"
    assert str(kept[0]) in msg
    assert not [p for p in study_dir.iterdir() if p.name.startswith((".staging", ".lock-"))]


def test_deliverables_failure_leaves_no_report(project, monkeypatch):
    """The workbook and deck are built before the final move: a failure there is a failed
    run (exit 3), kept for inspection, and no dated report folder appears."""

    def broken(*args, **kwargs):
        raise ValueError("planted deliverables failure")

    monkeypatch.setattr("analysis_helpers.deliverables.build_deliverables", broken)
    with pytest.raises(NotebookFailed) as info:
        run(project, only=["10-first"])
    assert info.value.exit_code == 3
    assert "deliverables failed: ValueError: planted deliverables failure" in str(info.value)
    study_dir = project / "reports" / "tiny"
    assert not (study_dir / "2026-02-01").exists()
    assert [p.name[:18] for p in study_dir.iterdir() if ".failed-" in p.name] == [
        "2026-02-01.failed-"
    ]


def test_missing_pptx_template_is_an_input_error(tmp_path):
    project = make_project(
        tmp_path / "proj", extra="deliverables:\n  pptx_template: config/client.pptx\n"
    )
    with pytest.raises(ReportError, match="deliverables.pptx_template: file not found"):
        run(project)
    assert not (project / "reports").exists()  # refused before any notebook ran


def test_input_errors(project, monkeypatch):
    with pytest.raises(ReportError, match=r"no notebook declares the parameter\(s\) \['colour'\]"):
        run(project, parameters={"colour": "red"})
    with pytest.raises(ReportError, match="--date '31/01/2026' is not a date"):
        run(project, date="31/01/2026")
    monkeypatch.setenv("ANALYSIS_HELPERS_VIA_MAKE", "1")  # messages name make's variables
    with pytest.raises(ReportError, match="DATE='2026-13-01' is not a date"):
        run(project, date="2026-13-01")
    with pytest.raises(ReportError, match="KEEP=0: keep at least 1"):
        run(project, keep=0)
    monkeypatch.delenv("ANALYSIS_HELPERS_VIA_MAKE")
    with pytest.raises(ReportError, match=r"unknown notebook\(s\) \['30-x'\]"):
        run(project, only=["30-x"])
    with pytest.raises(ReportError, match="--timeout -1: a time limit cannot be negative"):
        run(project, timeout=-1)
    for p in (project / "notebooks").iterdir():
        p.unlink()
    with pytest.raises(ReportError, match="no pipeline notebooks"):
        run(project)
    assert not (project / "reports").exists()  # input errors create nothing


def test_exists_message_names_make_variable(project, monkeypatch):
    (project / "reports/tiny/2026-02-01").mkdir(parents=True)
    monkeypatch.setenv("ANALYSIS_HELPERS_VIA_MAKE", "1")
    with pytest.raises(ReportExists, match="pass FORCE=1 to replace it, or DATE=YYYY-MM-DD"):
        run(project)


def test_second_study_file_with_the_same_name_is_refused(project):
    """A copied demo file that kept study.name would mix its reports with the demo's."""
    (project / "config/copy.yml").write_text(
        (project / "config/tiny.yml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    study_dir = project / "reports/tiny"
    study_dir.mkdir(parents=True)
    (study_dir / ".study.json").write_text(json.dumps({"study_file": "config/tiny.yml"}))
    with pytest.raises(ReportError, match="config/copy.yml and config/tiny.yml have the same"):
        run_report("config/copy.yml", root=project, progress=lambda _: None)


def test_reserved_study_name(tmp_path):
    project = make_project(tmp_path / "p", name="scratch")
    with pytest.raises(ReportError, match="study.name 'scratch' is reserved"):
        run_report("config/scratch.yml", root=project, progress=lambda _: None)


def test_question_of_a_part():
    from nbformat.v4 import new_markdown_cell, new_notebook

    nb = new_notebook(cells=[new_markdown_cell("# Drivers: what moves it\n\nText.")])
    assert question(nb, "Drivers: what moves it") == "What moves it"
    nb = new_notebook(
        cells=[
            new_markdown_cell(
                "# Cleaning: files\n\n**Question.** What did we `get`, e.g. "
                "[here](x)? More.\n\n**Inputs.** x"
            )
        ]
    )
    assert question(nb, "Cleaning: files") == "What did we get, e.g. here?"
    assert question(new_notebook(), "Plain") == ""


def test_parameter_values_are_yaml_values_or_lists():
    assert _parameter("wave=2025Q1") == ("wave", "2025Q1")
    assert _parameter("n=3") == ("n", 3)
    assert _parameter("x=") == ("x", "")
    assert _parameter("waves=[2024Q1, 2025Q1]") == ("waves", ["2024Q1", "2025Q1"])
    assert _parameter("m=[[1, 2], [3, null]]") == ("m", [[1, 2], [3, None]])
    assert _parameter("d=2026-01-31") == ("d", "2026-01-31")  # the text, not a date
    assert _parameter("d=[2026-01-31]") == ("d", ["2026-01-31"])
    with pytest.raises(argparse.ArgumentTypeError, match="not a mapping"):
        _parameter("m={a: 1}")
    with pytest.raises(argparse.ArgumentTypeError, match="not a mapping"):
        _parameter("m=[{a: 1}]")
    with pytest.raises(argparse.ArgumentTypeError, match="cannot read"):
        _parameter("x=!!python/object/apply:os.system ['echo hi']")
    with pytest.raises(argparse.ArgumentTypeError, match="expected name=value"):
        _parameter("novalue")


def test_cli_exit_codes(tmp_path, capsys, monkeypatch):
    assert main(["validate", "--study", str(tmp_path / "none.yml")]) == 2
    assert "study file not found" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:  # argparse: a usage error
        main(["report", "-p", "x=!!python/name:os.system"])
    assert info.value.code == 2
    assert "cannot read" in capsys.readouterr().err
    assert main(["report", "--study", str(tmp_path / "none.yml")]) == 2
    assert "study file not found" in capsys.readouterr().err
    expected = {
        ReportError("bad"): 2,
        ReportExists("there"): 2,
        NotebookFailed("nb"): 3,
        NotebookTimeout("slow"): 4,
        AlreadyRunning("busy"): 5,
        ReportOSError("disk"): 6,
        ReportInterrupted("stop", 15): 143,
        PermissionError(13, "Permission denied"): 6,
    }
    for exc, code in expected.items():

        def fail(*args, exc=exc, **kwargs):
            raise exc

        monkeypatch.setattr("analysis_helpers.runner.run_report", fail)
        assert main(["report"]) == code
        err = capsys.readouterr().err
        assert err.startswith("error: ") and err.count("\n") == 1
    assert set(EXIT_CODES) == {0, 1, 2, 3, 4, 5, 6, 130}
    help_text = cli._parser().format_help()
    assert "report" in help_text


def test_report_help_lists_exit_codes(capsys):
    with pytest.raises(SystemExit):
        main(["report", "--help"])
    out = capsys.readouterr().out
    for code, what in EXIT_CODES.items():
        assert f"{code:>3}  {what}" in out


def _summary_notebook(project: Path, needs: list[str]) -> None:
    """A ``00-sum`` page that reads what ``20-second`` wrote and declares that it needs it."""
    import nbformat
    from runner_project import notebook

    path = project / "notebooks/00-sum.ipynb"
    notebook(
        path,
        "Summary",
        "import json\nfrom pathlib import Path\n"
        "print(json.loads(Path(report_dir, 'items.json').read_text()))",
    )
    nb = nbformat.read(path, as_version=4)
    nb.metadata["analysis_helpers"] = {"needs": needs}
    nbformat.write(nb, path)


def test_a_notebook_that_needs_others_runs_after_them_and_is_listed_first(project):
    from analysis_helpers.runner import discover_notebooks

    _summary_notebook(project, ["20-second"])
    order = [p.stem for p in discover_notebooks(project / "notebooks")]
    assert order == ["10-first", "20-second", "30-third", "00-sum"]  # run order
    lines: list[str] = []
    out = run(project, workers=2, parameters={"items": [1, 2]}, progress=lines.append)
    # it ran after 20-second (it read its file) and after the analysis round
    assert lines.index("running 00-sum after the notebooks it needs ...") > max(
        k for k, line in enumerate(lines) if "20-second done" in line or "30-third done" in line
    )
    record = json.loads((out / "run.json").read_text(encoding="utf-8"))
    names = [n["name"] for n in record["notebooks"]]
    assert names == ["00-sum", "10-first", "20-second", "30-third"]  # reading order
    index = (out / "index.html").read_text(encoding="utf-8")
    contents = index.split('<ol class="parts">')[1]
    assert contents.index('href="00-sum.html"') < contents.index('href="10-first.html"')
    # --only of the summary brings the notebook it needs (and cleaning)
    out = run(project, only=["00-sum"], force=True)
    record = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert [n["name"] for n in record["notebooks"]] == ["00-sum", "10-first", "20-second"]


def test_a_notebook_whose_needs_failed_is_not_run(project):
    _summary_notebook(project, ["20-second"])
    with pytest.raises(NotebookFailed) as info:
        run(project, parameters={"fail": True})
    msg = str(info.value)
    assert "20-second failed" in msg
    assert "not run because a notebook it needs did not succeed: 00-sum" in msg


def test_needs_must_name_notebooks_that_need_none(project):
    _summary_notebook(project, ["99-missing"])
    with pytest.raises(ReportError, match="00-sum needs the notebook '99-missing'"):
        run(project)


def test_a_number_given_to_a_text_parameter_is_passed_as_text():
    from analysis_helpers.runner import _as_declared, _text_parameters

    root = Path(__file__).resolve().parents[1]
    notebooks = sorted((root / "notebooks").glob("*.ipynb"))
    assert "wave" in _text_parameters(root / "notebooks" / "40-cross.ipynb")
    got = _as_declared({"wave": 1, "seed": 7, "show": True, "waves": [1, 2]}, notebooks)
    assert got["wave"] == "1"  # -p wave=1: the wave code "1", not the number
    assert got["seed"] == 7 and got["show"] is True and got["waves"] == [1, 2]
    assert _as_declared({"wave": 2.5}, notebooks)["wave"] == "2.5"
