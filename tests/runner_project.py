"""A tiny project of its own for the runner tests: a two-respondent study and three fake
notebooks that run in about a second, with switches to fail, sleep, fill the disk or echo
their parameters."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

STUDY = """\
study:
  name: {name}
  title: "Tiny <study> & co"
  client: "ACME <b>Corp</b>"
  description: "Two respondents <script>alert(1)</script>."
data:
  root: data/raw/tiny
  files: [{{path: w1.csv, wave: "W1"}}]
  respondent_id: id
  wave: {{column: wave, order: ["W1"]}}
areas: [{{name: a, label: A}}]
indicators: [{{name: i, label: I, area: a}}]
items: [{{name: q1, label: Q1, scale: {{min: 1, max: 5}}, area: a, indicator: i}}]
kpis: {{overall: q1}}
{extra}"""

PARAMETERS = (
    'study_file: str = ""\n'
    'report_dir: str = ""\n'
    "fail: bool = False\n"
    "sleep: float = 0.0\n"
    "fill: int = -1\n"
    "items: list = []"
)


def notebook(path: Path, heading: str, body: str, intro: str = "") -> None:
    nb = new_notebook(
        metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
        }
    )
    params = new_code_cell(PARAMETERS)
    params.metadata["tags"] = ["parameters"]
    nb.cells = [new_markdown_cell(f"# {heading}\n\n{intro}"), params, new_code_cell(body)]
    nbformat.write(nb, path)


def make_project(root: Path, *, name: str = "tiny", extra: str = "") -> Path:
    """Write the project under ``root`` and return ``root``."""
    (root / "config").mkdir(parents=True)
    (root / "notebooks").mkdir()
    (root / "data/raw/tiny").mkdir(parents=True)
    (root / "pyproject.toml").write_text("[project]\nname='x'\n")
    (root / "data/raw/tiny/w1.csv").write_text("id,q1\n1,4\n2,5\n")
    (root / f"config/{name}.yml").write_text(STUDY.format(name=name, extra=extra), encoding="utf-8")
    notebook(
        root / "notebooks/10-first.ipynb",
        "First",
        "import json, shutil\nfrom pathlib import Path\n"
        "Path(report_dir, 'tables').mkdir(exist_ok=True)\n"
        "Path(report_dir, 'tables', 'a.csv').write_text('x\\n1\\n')\n"
        "if fill >= 0:  # leave `fill` bytes free on the report's disk\n"
        "    free = shutil.disk_usage(report_dir).free\n"
        "    with open(Path(report_dir, 'filler.bin'), 'wb') as f:\n"
        "        f.write(b'0' * max(0, free - fill))\n"
        "print('ok')",
    )
    notebook(
        root / "notebooks/20-second.ipynb",
        "Second: how does it go?",
        "import json, time\nfrom pathlib import Path\n"
        "if fail:\n    raise ValueError('planted failure')\n"
        "time.sleep(sleep)\n"
        "Path(report_dir, 'items.json').write_text(json.dumps(items))\nprint('fine')",
    )
    notebook(
        root / "notebooks/30-third.ipynb",
        "Third",
        "print('third')",
        intro="**Question.** Is this the *third* one? More words follow.",
    )
    return root
