"""The report runner on a tiny project of its own: success, failure, no overwrite."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat
import pytest
import yaml
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from analysis_helpers.cli import main
from analysis_helpers.runner import NotebookFailed, ReportError, run_report

ROOT = Path(__file__).resolve().parents[1]


def notebook(path: Path, title: str, body: str) -> None:
    nb = new_notebook(
        metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
        }
    )
    params = new_code_cell('study_file: str = ""\nreport_dir: str = ""\nfail: bool = False')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [new_markdown_cell(f"# {title}"), params, new_code_cell(body)]
    nbformat.write(nb, path)


@pytest.fixture
def project(tmp_path) -> Path:
    root = tmp_path / "proj"
    (root / "config").mkdir(parents=True)
    (root / "notebooks").mkdir()
    (root / "pyproject.toml").write_text("[project]\nname='x'\n")
    raw = yaml.safe_load((ROOT / "config/demo.yml").read_text(encoding="utf-8"))
    raw["data"]["root"] = str(ROOT / "data/raw/demo")
    (root / "config/demo.yml").write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    notebook(
        root / "notebooks/10-first.ipynb",
        "First 第一",
        "from pathlib import Path\nPath(report_dir, 'tables').mkdir(exist_ok=True)\n"
        "Path(report_dir, 'tables', 'a.csv').write_text('x\\n1\\n')\nprint('ok')",
    )
    notebook(
        root / "notebooks/20-second.ipynb",
        "Second",
        "if fail:\n    raise ValueError('planted failure')\nprint('fine')",
    )
    return root


def run(project, **kw):
    kw.setdefault("progress", lambda _: None)
    return run_report("config/demo.yml", date="2026-02-01", root=project, workers=1, **kw)


def test_success_writes_complete_folder(project):
    out = run(project)
    assert out == project / "reports/2026-02-01"
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        "10-first.html",
        "10-first.ipynb",
        "20-second.html",
        "20-second.ipynb",
        "index.html",
        "run.json",
        "tables",
    ]
    record = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert [n["title"] for n in record["notebooks"]] == ["First 第一", "Second"]
    assert record["parameters"]["report_dir"] == str(out)
    index = (out / "index.html").read_text(encoding="utf-8")
    assert "First 第一" in index and 'href="20-second.html"' in index
    assert [p.name for p in (project / "reports").iterdir()] == ["2026-02-01"]


def test_existing_report_is_not_overwritten_unless_forced(project):
    out = run(project)
    (out / "marker").write_text("old")
    with pytest.raises(ReportError, match="exists already; pass --force"):
        run(project)
    assert (out / "marker").exists()
    run(project, force=True)
    assert not (out / "marker").exists()
    assert sorted(p.name for p in (project / "reports").iterdir()) == ["2026-02-01"]


def test_failure_names_notebook_and_cell_and_keeps_it(project):
    with pytest.raises(NotebookFailed) as info:
        run(project, parameters={"fail": True})
    msg = str(info.value)
    assert "20-second failed in cell 4" in msg
    assert "ValueError: planted failure" in msg
    reports = project / "reports"
    assert not (reports / "2026-02-01").exists()  # nothing that looks complete
    kept = [p for p in reports.iterdir() if p.name.startswith("2026-02-01.failed-")]
    assert len(kept) == 1 and (kept[0] / "20-second.ipynb").is_file()
    assert str(kept[0]) in msg


def test_unknown_parameter_and_bad_date(project):
    with pytest.raises(ReportError, match=r"no notebook declares the parameter\(s\) \['colour'\]"):
        run(project, parameters={"colour": "red"})
    with pytest.raises(ReportError, match="--date '31/01/2026' is not a date"):
        run_report("config/demo.yml", date="31/01/2026", root=project)
    with pytest.raises(ReportError, match=r"unknown notebook\(s\) \['30-x'\]"):
        run(project, only=["30-x"])


def test_no_notebooks(project):
    shutil.rmtree(project / "notebooks")
    (project / "notebooks").mkdir()
    with pytest.raises(ReportError, match="no pipeline notebooks"):
        run(project)


def test_cli_reports_errors_with_exit_codes(tmp_path, capsys):
    assert main(["validate", "--study", str(tmp_path / "none.yml")]) == 2
    assert "study file not found" in capsys.readouterr().err
    assert main(["validate", "--study", "config/demo.yml"]) == 0
    assert "OK - study 'demo', 52 items, 6 waves, 4 segments" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["report", "-p", "novalue"])
