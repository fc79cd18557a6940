"""The study-shape matrix: the real report runner on small studies of many shapes.

Each shape (see :data:`analysis_helpers.demo.SHAPES`) switches one optional part off or
changes a convention (one wave, no weights, no id, NPS on 1-10, 1-7 scales, SPSS codes,
Chinese labels, ...). Every shape must give a complete report: every notebook runs, every
page exists, and no page carries a degenerate sentence ("from 16.1% to 16.1%", "1 waves",
"0 of 0", a shortfall with a positive gap, ``nan``, ``None``), an error output or a table
header in snake_case.

``pytest tests/test_study_shapes.py -k one_wave`` runs one shape; the ``SHAPE_NOTEBOOKS``
environment variable (e.g. ``20-describe,30-trend``) limits the notebooks while working
on one page; ``00-summary`` brings the pages whose tables it reads (the runner adds the
notebooks a notebook needs), so ``SHAPE_NOTEBOOKS=00-summary`` checks the summary and them.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import nbformat
import pytest

from analysis_helpers.demo import SHAPES, write_study_shape
from analysis_helpers.report_checks import sentence_problems
from analysis_helpers.runner import run_report
from analysis_helpers.safe_output import plain_text

ROOT = Path(__file__).resolve().parents[1]

#: the shapes of the matrix in `make test`: everything optional off at once (minimal), no
#: KPIs, no segments, one wave, unweighted, no id, 1-10 NPS, 1-7 scales, SPSS numeric
#: codes, Chinese labels and a tiny study
MATRIX = [
    "no_kpis",
    "no_segments",
    "one_wave",
    "unweighted",
    "no_id",
    "nps_1_10",
    "scale_1_7",
    "spss_codes",
    "chinese",
    "small",
    "minimal",
]

#: the rest of the matrix, one optional part off each: `make test-slow` (a full report
#: per shape costs about a minute of CPU, and `make test` has to stay within its budget)
MATRIX_SLOW = [
    "full",
    "no_nps",
    "no_overall",
    "no_expectations",
    "no_wave_column",
    "no_operations",
    "no_actions",
    "no_hierarchy",
    "no_indicators",
    "delivered_weights",
    "no_duration",
    "no_text",
    "integer_codes",
    "stacked",
    "excel",
    "qualtrics",
    "mixed_formats",
    "changed_questionnaire",
]

#: what a shape's analysis pages must say: a questionnaire that changed between waves (an
#: item added in the second wave, a whole area dropped from the last) is named on every
#: page that shows the index
MUST_SAY = {
    "changed_questionnaire": (
        ["10-clean", "20-describe", "30-trend", "40-cross", "50-drivers", "60-index"],
        [
            "Ease of the phone menu was not asked in Q1 2024",
            "Data allowance for the price, Value compared with other operators and Value of "
            "extras were not asked in Q3 2024",
        ],
    ),
}

pytestmark = pytest.mark.notebooks


def _only() -> list[str] | None:
    value = os.environ.get("SHAPE_NOTEBOOKS", "").strip()
    return [v.strip() for v in value.split(",") if v.strip()] or None


def _outputs(nb) -> tuple[list[str], list[str]]:
    errors, text = [], []
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            if o.get("output_type") == "error":
                errors.append(f"{o.get('ename')}: {o.get('evalue')}")
            if o.get("output_type") == "stream" and o.get("name") == "stderr":
                continue
            data = o.get("data", {})
            text.append(data.get("text/markdown", "") + data.get("text/html", ""))
        if cell.cell_type == "markdown":
            text.append(cell.source)
    return errors, text


_SNAKE_HEADER = re.compile(r"<th[^>]*>\s*([a-z]+_[a-z0-9_]+)\s*</th>")


@pytest.mark.parametrize(
    "name", [*MATRIX, *(pytest.param(n, marks=pytest.mark.slow) for n in MATRIX_SLOW)]
)
def test_every_shape_gives_a_complete_readable_report(tmp_path, name):
    study_file = write_study_shape(tmp_path / "project", name)
    only = _only()
    report = run_report(
        study_file,
        date="2026-01-31",
        out=tmp_path / "reports",
        only=[n for n in only if n != "10-clean"] if only else None,
        root=ROOT,
        progress=lambda _: None,
    )
    record = json.loads((report / "run.json").read_text(encoding="utf-8"))
    names = [n["name"] for n in record["notebooks"]]
    assert all(n["status"] == "ok" for n in record["notebooks"]), record["notebooks"]
    if only is None:
        expected = sorted(p.stem for p in (ROOT / "notebooks").glob("[0-9]*.ipynb"))
        assert names == expected
    problems = []
    for nb_name in names:
        assert (report / f"{nb_name}.html").is_file(), nb_name
        nb = nbformat.read(report / f"{nb_name}.ipynb", as_version=4)
        errors, text = _outputs(nb)
        assert not errors, (nb_name, errors)
        page = "\n".join(text)
        for header in _SNAKE_HEADER.findall(page):
            problems.append((nb_name, f"column name as header: {header}"))
        words = plain_text(page)
        pages, phrases = MUST_SAY.get(name, ([], []))
        for phrase in phrases if nb_name in pages else []:
            if phrase not in " ".join(words.split()):
                problems.append((nb_name, f"does not say {phrase!r}"))
        for bad in (" nan", "NaN", "None", "1 waves", "<NA>", "True", "False", "PosixPath"):
            if re.search(rf"(?<![\w-]){re.escape(bad.strip())}(?![\w-])", words):
                problems.append((nb_name, f"{bad.strip()!r} on the page"))
    found = sentence_problems(sorted(report.glob("*.ipynb")))
    for row in found.to_dict("records"):
        problems.append((row.get("page", "?"), f"{row.get('problem')}: {row.get('sentence')}"))
    assert not problems, "\n".join(f"{p}: {m}" for p, m in problems)


def test_the_matrix_covers_the_shapes_the_issue_names():
    for shape in [*MATRIX, *MATRIX_SLOW]:
        assert shape in SHAPES
    assert len(MATRIX) >= 10
    assert set(SHAPES) <= {*MATRIX, *MATRIX_SLOW}, set(SHAPES) - {*MATRIX, *MATRIX_SLOW}
