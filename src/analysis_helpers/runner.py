"""The report runner: every pipeline notebook, executed by papermill into a dated folder.

``python -m analysis_helpers report --study config/demo.yml`` (or ``make report``)

1. executes ``notebooks/10-*.ipynb`` (cleaning) first, then the analysis notebooks, which
   do not depend on each other, in parallel on the available cores;
2. renders each executed notebook to code-free, self-contained HTML (images embedded)
   and writes an ``index.html`` that links them;
3. writes ``run.json``: parameters, input file hashes, package versions, git commit,
   start and end time and each notebook's duration.

The report is built in a hidden staging folder and moved into ``reports/YYYY-MM-DD/`` only
when every notebook succeeded, so a folder with that name is always complete. A failed run
exits non-zero, names the notebook and cell that failed and keeps the staging folder as
``reports/YYYY-MM-DD.failed-HHMMSS/`` for inspection. An existing report for the same date
is only replaced when asked (``--force``).
"""

from __future__ import annotations

import datetime as dt
import html
import json
import multiprocessing
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from .io import file_sha256
from .pages import SANS, finish_page, font_face, page_header
from .study import load_study, project_root

__all__ = ["KERNEL_NAME", "ReportError", "NotebookFailed", "run_report", "discover_notebooks"]

KERNEL_NAME = "survey-analysis"
PACKAGES = [
    "analysis-helpers",
    "pandas",
    "numpy",
    "scipy",
    "statsmodels",
    "scikit-learn",
    "pingouin",
    "matplotlib",
    "seaborn",
    "papermill",
    "nbconvert",
    "pyarrow",
    "pyreadstat",
    "pydantic",
    "PyYAML",
    "mplfonts",
]


class ReportError(RuntimeError):
    """The report could not be produced (the message says why and what to do)."""


class NotebookFailed(ReportError):
    """A notebook raised an error; the message names the notebook and the cell."""


@dataclass
class NotebookRun:
    name: str
    status: str = "pending"
    seconds: float = 0.0
    error: str = ""
    title: str = ""
    html: str = ""


@dataclass
class _Job:
    source: str
    target: str
    parameters: dict[str, Any]
    kernel: str
    cwd: str
    timeout: int | None = None
    single_thread: bool = False


def discover_notebooks(folder: Path) -> list[Path]:
    """The pipeline notebooks ``NN-topic.ipynb`` in run order."""
    found = sorted(p for p in folder.glob("[0-9][0-9]-*.ipynb") if p.is_file())
    if not found:
        raise ReportError(f"no pipeline notebooks (NN-topic.ipynb) in {folder}")
    return found


def _kernel_name() -> str:
    from jupyter_client.kernelspec import KernelSpecManager

    if KERNEL_NAME in KernelSpecManager().find_kernel_specs():
        return KERNEL_NAME
    # the native kernel of this interpreter: still the project's own Python, never PATH's
    print(
        f"note: Jupyter kernel {KERNEL_NAME!r} is not registered (run `make env`); "
        f"using this interpreter's own kernel ({sys.executable})",
        file=sys.stderr,
    )
    return "python3"


def _execute(job: _Job) -> tuple[float, str, str, str]:
    """Run one notebook and render its HTML (in a worker process).

    Returns
    -------
    (seconds, error, title, html)
        ``error`` is ``""`` on success; ``title`` and ``html`` are empty on failure.
    """
    import papermill as pm

    # notebooks run side by side: one BLAS thread each, so they do not fight for the cores
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        if job.single_thread:
            os.environ[var] = "1"
    start = time.perf_counter()
    try:
        pm.execute_notebook(
            job.source,
            job.target,
            parameters=job.parameters,
            kernel_name=job.kernel,
            cwd=job.cwd,
            progress_bar=False,
            log_output=False,
            execution_timeout=job.timeout,
        )
    except pm.PapermillExecutionError as exc:
        where = f"cell {exc.cell_index + 1}" + (
            f" (execution count {exc.exec_count})" if exc.exec_count else ""
        )
        return time.perf_counter() - start, f"{where}: {exc.ename}: {exc.evalue}", "", ""
    except Exception as exc:  # kernel died, notebook unreadable, ...
        return time.perf_counter() - start, f"{type(exc).__name__}: {exc}", "", ""
    seconds = time.perf_counter() - start
    title, body = _to_html(Path(job.target))
    return seconds, "", title, body


def _to_html(executed: Path) -> tuple[str, str]:
    """Render an executed notebook to code-free HTML with embedded images.

    Returns
    -------
    (title, body)
        The first Markdown heading and the page.
    """
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(executed, as_version=4)
    title = executed.stem
    for cell in nb.cells:
        if cell.cell_type == "markdown" and cell.source.lstrip().startswith("#"):
            title = cell.source.lstrip().splitlines()[0].lstrip("#").strip()
            break
    nb.metadata["title"] = title
    exporter = HTMLExporter(
        template_name="lab",
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        embed_images=True,
    )
    body, _ = exporter.from_notebook_node(nb)
    # no scripts fetched from the network: the report is read offline
    return title, _strip_remote_scripts(body)


_SANS = SANS


def _strip_remote_scripts(body: str) -> str:
    import re

    return re.sub(
        r"<script[^>]*src=\"https?://[^\"]+\"[^>]*>\s*</script>", "", body, flags=re.IGNORECASE
    )


def _git(root: Path) -> dict[str, Any]:
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        return {"commit": commit, "dirty": bool(dirty)}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}


def _versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def _index_html(title: str, date: str, runs: list[NotebookRun], record: dict) -> str:
    e = html.escape
    rows = "\n".join(
        f'<tr><td><a href="{e(r.html)}">{e(r.title)}</a></td><td>{e(r.name)}</td>'
        f"<td>{r.seconds:.1f} s</td></tr>"
        for r in runs
    )
    inputs = "\n".join(f"<li><code>{e(k)}</code></li>" for k in record["inputs"])
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{e(title)} – report {e(date)}</title>
<style>
body {{ font-family: {_SANS}; margin: 2rem auto;
       max-width: 56rem; color: #222; }}
table {{ border-collapse: collapse; width: 100%; }}
td, th {{ border-bottom: 1px solid #ddd; padding: .4rem .6rem; text-align: left; }}
a {{ color: #0072B2; }}
</style></head>
<body>
<h1>{e(title)}</h1>
<p>Report of {e(date)}. Each part opens as a page of its own; the folders
<code>tables/</code> and <code>figures/</code> hold every table (CSV) and chart (PNG).</p>
<table><thead><tr><th>Part</th><th>Notebook</th><th>Run time</th></tr></thead>
<tbody>
{rows}
</tbody></table>
<h2>Run</h2>
<p>Started {e(record["started"])}, finished {e(record["finished"])}
({record["seconds"]:.1f} s). Code version {e(str(record["git"]["commit"]))}.
The run record <a href="run.json">run.json</a> lists the parameters, package versions and
the SHA-256 of every input file:</p>
<ul>{inputs}</ul>
</body></html>
"""


def run_report(
    study_file: str | Path,
    *,
    date: str | None = None,
    out: str | Path | None = None,
    parameters: Mapping[str, Any] | None = None,
    force: bool = False,
    workers: int | None = None,
    only: list[str] | None = None,
    timeout: int | None = 1800,
    progress: Callable[[str], None] = print,
    root: str | Path | None = None,
) -> Path:
    """Execute the pipeline notebooks into a dated report folder.

    Parameters
    ----------
    study_file : str or Path
        The study file (absolute, or relative to the project root).
    date : str, optional
        The report date ``YYYY-MM-DD`` (default: today).
    out : str or Path, optional
        The reports folder that receives ``<date>/`` (default ``reports/``).
    parameters : mapping, optional
        Extra notebook parameters, passed to every notebook that declares them.
    force : bool
        Replace an existing report for the same date.
    workers : int, optional
        Notebooks run at once after cleaning (default: the number of cores).
    only : list of str, optional
        Run only these notebooks (names such as ``"20-describe"``); cleaning always runs.
    timeout : int, optional
        Seconds one cell may run.
    progress : callable
        Receives one line per step.
    root : str or Path, optional
        The project root holding ``notebooks/`` (default: found from the working folder).

    Returns
    -------
    Path
        The finished report folder.

    Raises
    ------
    ReportError
        The report exists already, or inputs are missing.
    NotebookFailed
        A notebook raised an error; the message names it and the cell.
    """
    import nbformat

    started = dt.datetime.now().astimezone()
    root = Path(root) if root else project_root()
    study_path = Path(study_file)
    study_path = study_path if study_path.is_absolute() else (root / study_path)
    study = load_study(study_path)  # fail early, with the study file's own messages
    date = date or started.date().isoformat()
    try:
        dt.date.fromisoformat(date)
    except ValueError:
        raise ReportError(f"--date {date!r} is not a date of the form YYYY-MM-DD") from None
    reports = Path(out) if out else root / "reports"
    reports = reports if reports.is_absolute() else root / reports
    final = reports / date
    if final.exists() and not force:
        raise ReportError(
            f"{final} exists already; pass --force to replace it, or --date for another date"
        )
    notebooks = discover_notebooks(root / "notebooks")
    if only:
        known = {p.stem for p in notebooks}
        unknown = sorted(set(only) - known)
        if unknown:
            raise ReportError(f"unknown notebook(s) {unknown}; known: {sorted(known)}")
        notebooks = [p for i, p in enumerate(notebooks) if i == 0 or p.stem in only]
    reports.mkdir(parents=True, exist_ok=True)
    staging = reports / f".staging-{date}-{os.getpid()}"
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir()
    kernel = _kernel_name()
    params = {"study_file": str(study_path), "report_dir": str(staging), **(parameters or {})}
    runs = [NotebookRun(p.stem) for p in notebooks]
    declared_by = {p: _declared_parameters(nbformat.read(p, as_version=4)) for p in notebooks}
    unused = sorted(set(parameters or {}) - set().union(*declared_by.values()))
    if unused:
        raise ReportError(f"no notebook declares the parameter(s) {unused}")
    jobs = []
    for p in notebooks:
        declared = declared_by[p]
        jobs.append(
            _Job(
                str(p),
                str(staging / p.name),
                {k: v for k, v in params.items() if k in declared},
                kernel,
                str(root / "notebooks"),
                timeout,
            )
        )
    total = len(jobs)
    progress(f"Report of study '{study.name}' for {date}: {total} notebooks, kernel {kernel}")

    pages: dict[str, str] = {}

    def finish(k: int, seconds: float, error: str, title: str, body: str) -> None:
        runs[k].seconds = seconds
        runs[k].title, runs[k].html = title, Path(jobs[k].target).with_suffix(".html").name
        pages[runs[k].html] = body
        if error:
            runs[k].status, runs[k].error = "failed", error
            progress(f"[{k + 1}/{total}] {runs[k].name} FAILED after {seconds:.1f} s - {error}")
        else:
            runs[k].status = "ok"
            progress(f"[{k + 1}/{total}] {runs[k].name} done in {seconds:.1f} s")

    progress(f"[1/{total}] {runs[0].name} running ...")
    finish(0, *_execute(jobs[0]))
    if runs[0].status == "ok" and total > 1:
        n_workers = max(1, min(workers or os.cpu_count() or 1, total - 1))
        progress(f"running {total - 1} analysis notebooks on {n_workers} worker(s) ...")
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=n_workers, mp_context=ctx) as pool:
            # longest first (as measured by the last report), so the workers end together
            last = _last_durations(reports)
            order = sorted(range(1, total), key=lambda k: -last.get(runs[k].name, 0.0))
            for k in order:
                jobs[k].single_thread = n_workers > 1
            futures = {pool.submit(_execute, jobs[k]): k for k in order}
            for fut in as_completed(futures):
                finish(futures[fut], *fut.result())
    failed = [r for r in runs if r.status != "ok"]
    if failed or runs[0].status != "ok":
        kept = reports / f"{date}.failed-{started:%H%M%S}"
        staging.rename(kept)
        lines = [f"{r.name} failed in {r.error}" for r in failed]
        skipped = [r.name for r in runs if r.status == "pending"]
        if skipped:
            lines.append(f"not run because cleaning failed: {', '.join(skipped)}")
        raise NotebookFailed(
            "the report was not produced:\n  "
            + "\n  ".join(lines)
            + f"\nThe executed notebooks are kept for inspection in {kept}"
        )
    style = font_face([*pages.values(), page_header(study), *map(str, study.data_files())])
    for name, page in pages.items():
        (staging / name).write_text(finish_page(page, study=study, style=style), encoding="utf-8")
    progress("rendered HTML pages")
    finished = dt.datetime.now().astimezone()
    inputs = [study.path, *study.data_files()]
    if study.spec.data.operations:
        ops = study.raw_dir / study.spec.data.operations
        if ops.is_file():
            inputs.append(ops)
    record = {
        "study": study.name,
        "study_file": str(study.path),
        "date": date,
        "started": started.isoformat(timespec="seconds"),
        "finished": finished.isoformat(timespec="seconds"),
        "seconds": round((finished - started).total_seconds(), 3),
        "parameters": {k: (v if k != "report_dir" else str(final)) for k, v in params.items()},
        "kernel": kernel,
        "inputs": {
            str(p.relative_to(root)) if p.is_relative_to(root) else str(p): file_sha256(p)
            for p in inputs
        },
        "packages": _versions(),
        "platform": {"system": platform.platform(), "cpus": os.cpu_count()},
        "git": _git(root),
        "notebooks": [
            {
                "name": r.name,
                "title": r.title,
                "status": r.status,
                "seconds": round(r.seconds, 3),
                "html": r.html,
            }
            for r in runs
        ],
    }
    (staging / "run.json").write_text(
        json.dumps(record, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    (staging / "index.html").write_text(
        finish_page(_index_html(study.title, date, runs, record), study=study, style=style),
        encoding="utf-8",
    )
    if final.exists():  # --force: swap in the new report, then drop the old one
        old = reports / f".replaced-{date}-{os.getpid()}"
        final.rename(old)
        staging.rename(final)
        shutil.rmtree(old)
    else:
        staging.rename(final)
    progress(f"report written to {final} in {record['seconds']:.1f} s")
    return final


def _last_durations(reports: Path) -> dict[str, float]:
    """Each notebook's run time in the newest complete report under ``reports`` (if any)."""
    for folder in sorted(reports.glob("[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]"), reverse=True):
        try:
            record = json.loads((folder / "run.json").read_text(encoding="utf-8"))
            return {n["name"]: float(n["seconds"]) for n in record["notebooks"]}
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return {}


def _declared_parameters(nb) -> set[str]:
    """Names assigned in the cell tagged ``parameters``."""
    import ast

    for cell in nb.cells:
        if cell.cell_type == "code" and "parameters" in cell.metadata.get("tags", []):
            names = set()
            for node in ast.parse(cell.source).body:
                if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                    names.add(node.target.id)
                elif isinstance(node, ast.Assign):
                    names.update(t.id for t in node.targets if isinstance(t, ast.Name))
            return names
    return set()
