"""The report runner: every pipeline notebook, executed by papermill into a dated folder.

``python -m analysis_helpers report --study config/demo.yml`` (or ``make report``)

1. executes ``notebooks/10-*.ipynb`` (cleaning) first, then the analysis notebooks, which
   do not depend on each other, side by side in worker processes, and last the notebooks
   that declare the notebooks they need (``00-summary`` reads the other pages' tables: it
   is shown first and runs last; see :func:`discover_notebooks`);
2. renders each executed notebook to code-free, self-contained HTML (images embedded),
   writes an ``index.html`` that a client reads (title, client, description, the parts
   with their question) and a ``run.html`` with the run's details;
3. writes ``run.json``: parameters, input file hashes, package versions, git commit,
   start and end time and each notebook's duration.

Layout: one folder per study, one per date::

    reports/index.html                   the studies, each with its latest report
    reports/<study>/index.html           the study's reports, newest first
    reports/<study>/latest               link to the newest report (latest.html where
                                         the filesystem has no symbolic links)
    reports/<study>/YYYY-MM-DD/          one complete report
    reports/<study>/YYYY-MM-DD.failed-HHMMSS/   a failed run, kept for inspection

Fit for cron. A report is built in a hidden staging folder and moved into place only when
every notebook succeeded, so a dated folder is always complete. One run per study and date
holds a lock (a second one waits ``--wait`` seconds or refuses, naming the holder's pid,
host and start time); the lock of a killed run is free and taken over, its staging folder
removed. Runs of one study for other dates (or into other folders) queue behind it, up to
the run's time limit, because they share the study's cleaned data. The workers and their Jupyter kernels die with the runner (also after
``kill -9``); SIGTERM, SIGINT and SIGHUP end them and remove the staging folder. Each
notebook and the whole run have a time limit (``--timeout``, ``--run-timeout``; defaults in
the study file's ``runner:`` section). ``--force`` is honoured at the moment of the final
move; ``--keep N`` keeps the newest N reports of the study. Every outcome has its exit code
(:data:`EXIT_CODES`); errors end in one line, never a traceback.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno as errno_mod
import itertools
import json
import multiprocessing
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from . import _runctl
from ._runpages import (
    DATE_RE,
    dated_reports,
    esc,
    href,
    question,
    read_json,
    report_index_html,
    reports_index_html,
    run_html,
    study_index_html,
)

if TYPE_CHECKING:  # the workers import this module: keep its own imports light
    from .study import Study

__all__ = [
    "KERNEL_NAME",
    "EXIT_CODES",
    "ReportError",
    "ReportExists",
    "NotebookFailed",
    "NotebookTimeout",
    "AlreadyRunning",
    "ReportOSError",
    "ReportInterrupted",
    "run_report",
    "discover_notebooks",
    "notebook_needs",
    "progress_bar_wanted",
]

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

EXIT_OK = 0
EXIT_INPUT = 2
EXIT_NOTEBOOK = 3
EXIT_TIMEOUT = 4
EXIT_RUNNING = 5
EXIT_OS = 6

#: the exit status of ``python -m analysis_helpers report`` for each outcome
EXIT_CODES: dict[int, str] = {
    EXIT_OK: "the report was written",
    1: "an unexpected error (a bug: the traceback is printed)",
    EXIT_INPUT: "input error: bad argument, study file or parameter; or the report of that "
    "date exists (FORCE=1 / --force replaces it)",
    EXIT_NOTEBOOK: "a notebook failed (the message names it and the cell; the executed "
    "notebooks are kept in <date>.failed-HHMMSS/)",
    EXIT_TIMEOUT: "a notebook or the run exceeded its time limit (named like a failure)",
    EXIT_RUNNING: "already running: another run holds the lock of that study and date "
    "(after --wait), or kept the study's cleaned data longer than the run's time limit",
    EXIT_OS: "OS error: permissions, read-only folder, disk full (nothing is left behind)",
    130: "stopped by SIGINT (Ctrl-C); 143 by SIGTERM, 129 by SIGHUP (128 + signal)",
}

#: set by the Makefile's ``report`` target, so messages name make's variables
VIA_MAKE_ENV = "ANALYSIS_HELPERS_VIA_MAKE"
_MAKE_NAMES = {
    "force": "FORCE=1",
    "date": "DATE",
    "out": "OUT",
    "study": "STUDY",
    "wait": "WAIT",
    "timeout": "TIMEOUT",
    "run-timeout": "RUN_TIMEOUT",
    "keep": "KEEP",
    "per": "PER",
}
_RESERVED_NAMES = {"scratch"}  # reports/scratch/ is where notebooks write when run by hand
_TMP_PREFIX = "analysis-helpers-run-"
_GRACE = 10.0  # seconds a kernel has to stop after the interrupt at a time limit
_HARD_MARGIN = 150.0  # after limit + this (kernel start-up, grace, page), a silent worker is killed


def _opt(name: str, value: object | None = None) -> str:
    """How the user sets an option: ``--name value``, or ``NAME=value`` under make."""
    if os.environ.get(VIA_MAKE_ENV) == "1" and name in _MAKE_NAMES:
        var = _MAKE_NAMES[name]
        return var if "=" in var else f"{var}={value if value is not None else '...'}"
    return f"--{name}" + (f" {value}" if value is not None else "")


# --------------------------------------------------------------------------------------
# Errors: each carries its exit status
# --------------------------------------------------------------------------------------
class ReportError(RuntimeError):
    """The report could not be produced (the message says why and what to do).

    ``exit_code`` is the command's exit status; the base class is an input error.
    """

    exit_code = EXIT_INPUT


class ReportExists(ReportError):
    """A complete report of that study and date exists and ``force`` was not given."""


class NotebookFailed(ReportError):
    """A notebook raised an error; the message names the notebook and the cell."""

    exit_code = EXIT_NOTEBOOK


class NotebookTimeout(NotebookFailed):
    """A notebook (or the run) exceeded its time limit; named like a failed notebook."""

    exit_code = EXIT_TIMEOUT


class AlreadyRunning(ReportError):
    """Another run holds the lock; the message names its pid, host and start time."""

    exit_code = EXIT_RUNNING


class ReportOSError(ReportError):
    """The system refused (permissions, read-only folder, disk full); nothing is left."""

    exit_code = EXIT_OS


class ReportInterrupted(ReportError):
    """Stopped by a signal; the workers were ended and the staging folder removed."""

    def __init__(self, message: str, signum: int) -> None:
        super().__init__(message)
        self.exit_code = 128 + signum


class _Stop(BaseException):
    """Raised in the main thread by the signal handler."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


# --------------------------------------------------------------------------------------
# Notebooks
# --------------------------------------------------------------------------------------
@dataclass
class NotebookRun:
    name: str
    status: str = "pending"  # ok | failed | timeout | oserror | pending | skipped
    seconds: float = 0.0
    where: str = ""  # "cell 4 (execution count 2)"
    error: str = ""
    title: str = ""
    question: str = ""
    html: str = ""
    limit: str = ""  # which time limit applied: "notebook" or "run"
    page: str = field(default="", repr=False)  # the rendered page, once it succeeded
    built: dict[str, Any] = field(default_factory=dict, repr=False)  # deliverables' record


@dataclass
class _Job:
    name: str
    source: str
    target: str
    parameters: dict[str, Any]
    kernel: str
    cwd: str
    limit: float | None = None  # seconds this notebook may run
    single_thread: bool = False
    needs: tuple[str, ...] = ()  # notebooks that must have succeeded before this one runs
    language: str = "en"  # the report's language: its Markdown cells come from that table
    after: tuple[int, ...] | None = None  # jobs (indices) to succeed first; None: see _dependencies
    expected: float = 0.0  # seconds it took in the last report (0: look it up by name)
    label: str = ""  # its name in the progress lines (default: the notebook's)
    group: str = ""  # the report it belongs to, when a run makes several (progress lines)
    kind: str = "notebook"  # or "deliverables": the report's workbook and deck (source: study)


#: where a notebook declares the notebooks it needs: its metadata
#: ``{"analysis_helpers": {"needs": ["20-describe", "30-trend"]}}``
NEEDS_KEY = "analysis_helpers"


def notebook_needs(path: Path) -> tuple[str, ...]:
    """Return the notebooks that ``path`` needs, from its metadata (see :data:`NEEDS_KEY`).

    A notebook that reads the tables of other pages (``00-summary``) names them in its
    notebook metadata, ``"analysis_helpers": {"needs": ["20-describe", ...]}``; the runner
    then runs it after them (and ``--only`` adds them).

    Parameters
    ----------
    path : Path
        The notebook (read as plain JSON).

    Returns
    -------
    tuple of str
        Notebook names (file stems), in the order given; empty when none are declared.
    """
    try:
        meta = json.loads(path.read_text(encoding="utf-8")).get("metadata", {})
    except (ValueError, AttributeError, UnicodeDecodeError):
        raise ReportError(f"{path}: not a readable notebook (JSON)") from None
    needs = (meta.get(NEEDS_KEY) or {}).get("needs", []) if isinstance(meta, dict) else []
    if isinstance(needs, str) or not all(isinstance(n, str) for n in needs):
        raise ReportError(f"{path}: metadata {NEEDS_KEY}.needs must be a list of notebook names")
    return tuple(needs)


def discover_notebooks(folder: Path) -> list[Path]:
    """Return the pipeline notebooks ``NN-topic.ipynb`` in run order.

    The order is explicit, not only the file names':

    1. the first notebook by name that needs no other: cleaning (``10-clean``), alone;
    2. every other notebook that needs none, side by side (``20-describe`` ... ``60-index``);
    3. the notebooks that declare what they need (:func:`notebook_needs`), after round 2 -
       ``00-summary`` is numbered first because it is the first page a client reads
       (the index page and the run record list the pages by name), but it runs last
       because it reads the tables the other pages saved.

    A notebook may need only notebooks of rounds 1 and 2 (no chains).

    Raises
    ------
    ReportError
        No notebook, or a notebook needs one that does not exist or itself needs others.
    """
    found = sorted(p for p in folder.glob("[0-9][0-9]-*.ipynb") if p.is_file())
    if not found:
        raise ReportError(f"no pipeline notebooks (NN-topic.ipynb) in {folder}")
    needs = {p.stem: notebook_needs(p) for p in found}
    for name, wanted in needs.items():
        for other in wanted:
            if other not in needs:
                raise ReportError(f"{name} needs the notebook {other!r}, which is not in {folder}")
            if needs[other]:
                raise ReportError(
                    f"{name} needs {other}, which needs other notebooks itself; a notebook "
                    "may need only notebooks that need none"
                )
    free = [p for p in found if not needs[p.stem]]
    if not free:
        raise ReportError(f"every notebook in {folder} needs another one; none can run first")
    return [*free, *(p for p in found if needs[p.stem])]


def _selected(notebooks: list[Path], only: list[str]) -> list[Path]:
    """Return cleaning, the notebooks in ``only`` and the notebooks these need, in run order."""
    wanted = set(only)
    for p in notebooks:  # a notebook that reads others' tables brings them along
        if p.stem in wanted:
            wanted.update(notebook_needs(p))
    return [p for i, p in enumerate(notebooks) if i == 0 or p.stem in wanted]


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


# --------------------------------------------------------------------------------------
# In the worker processes
# --------------------------------------------------------------------------------------
_WORKER: dict[str, Any] = {"runtime": None, "kernel_pid": None}
_KERNEL_IDS = itertools.count()
_KM_CLASS: type | None = None


def _kernel_manager_class() -> type:
    """Return the kernel manager class of the report's kernels (built on first use).

    jupyter_client is imported only in the workers.

    - IPC transport: the kernel talks over Unix sockets in a private folder (mode 0700), so
      nothing listens on a TCP port and ipykernel has no reason for its "running over TCP
      without encryption" warning.
    - On Linux the kernel gets a parent-death signal, so it dies with its worker.
    - No interrupt before the shutdown: jupyter_client interrupts every kernel before
      shutting it down, which in an idle kernel only logs "KeyboardInterrupt caught in
      kernel". The shutdown still ends the kernel (and kills it if it does not stop);
      a kernel that is still busy at a time limit is interrupted by the worker itself.
    """
    global _KM_CLASS
    if _KM_CLASS is not None:
        return _KM_CLASS
    from jupyter_client.manager import AsyncKernelManager
    from traitlets import CaselessStrEnum

    class ReportKernelManager(AsyncKernelManager):
        transport = CaselessStrEnum(["tcp", "ipc"], default_value="ipc", config=True)

        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            folder = _WORKER["runtime"] or tempfile.mkdtemp(prefix=_TMP_PREFIX)
            name = f"k{os.getpid()}-{next(_KERNEL_IDS)}"
            self.connection_file = os.path.join(folder, f"{name}.json")
            if len(folder) > 70:  # a socket path must fit in 107 bytes: TCP, as Jupyter does
                self.transport = "tcp"
            if self.transport == "ipc":
                self.ip = os.path.join(folder, name)

        def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
            return [*_runctl.deathsig_prefix(), *super().format_kernel_cmd(extra_arguments)]

        async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
            from jupyter_client.provisioning import LocalProvisioner

            zygote = _WORKER.get("zygote")
            prov: Any = self.provisioner
            forked = None
            if zygote is not None and isinstance(prov, LocalProvisioner):
                forked = zygote.launch(kernel_cmd, kw.get("env") or {}, kw.get("cwd"))
            if forked is None:
                await super()._async_launch_kernel(kernel_cmd, **kw)
            else:  # a fork of the worker's pre-warmed zygote (see _zygote)
                prov.process, prov.pid, prov.pgid = forked, forked.pid, forked.pid
                prov.cwd = kw.get("cwd")
                self._reconcile_connection_info(prov.connection_info)
            _WORKER["kernel_pid"] = getattr(self.provisioner, "pid", None)

        async def _async_interrupt_kernel(self) -> None:
            if self.shutting_down:
                return
            await super()._async_interrupt_kernel()

    _KM_CLASS = ReportKernelManager
    return _KM_CLASS


class _Deadline:
    """Interrupt the kernel when the notebook's time is up, kill it if it does not stop.

    The clock starts with the first cell (kernel start-up has papermill's own limit). The
    interrupt is repeated every second, so one that lands between two cells is not lost.
    """

    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds
        self.fired = False
        self.done = threading.Event()
        self._started = False

    def start(self) -> None:
        if self.seconds is not None and not self._started:
            self._started = True
            threading.Thread(target=self._watch, daemon=True).start()

    def _signal(self, signum: int) -> None:
        pid = _WORKER["kernel_pid"]
        if pid:
            with contextlib.suppress(OSError):
                os.killpg(pid, signum)  # the kernel leads a session of its own

    def _watch(self) -> None:
        if self.done.wait(self.seconds):
            return
        self.fired = True
        for _ in range(int(_GRACE)):
            self._signal(signal.SIGINT)
            if self.done.wait(1.0):
                return
        self._signal(signal.SIGKILL)


def _oserror_errno(ename: str, evalue: str) -> int | None:
    """Return the errno of an OS-level failure raised inside a notebook, else None.

    Such failures (disk full, read-only, no permission) end as OS errors, not as notebook
    failures.
    """
    if not ename.endswith("Error"):
        return None
    m = re.search(r"\[errno (\d+)\]", evalue, flags=re.IGNORECASE)
    code = int(m.group(1)) if m else None
    return code if code in _OS_ERRNOS else None


_OS_ERRNOS = {
    errno_mod.ENOSPC,
    errno_mod.EDQUOT,
    errno_mod.EROFS,
    errno_mod.EACCES,
    errno_mod.EPERM,
    errno_mod.EIO,
}


def _one_line(text: object, limit: int = 300) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _cell_of(target: str, cell_id: str | None) -> str:
    """``cell N`` of the cell with this id in the saved output notebook."""
    import nbformat

    if cell_id:
        with contextlib.suppress(Exception):
            nb = nbformat.read(target, as_version=4)
            for k, cell in enumerate(nb.cells):
                if cell.get("id") == cell_id:
                    return f"cell {k + 1}"
    return "a cell"


def _localised(source: str, language: str) -> Any:
    """Return the notebook at ``source`` with its headings in ``language`` (see text tables).

    Markdown cells that name a key of the template tables (cell metadata ``text``) get the
    table's text; a notebook without such cells is passed on as its path.
    """
    import nbformat

    from .text import localise_notebook

    nb = nbformat.read(source, as_version=4)
    return nb if localise_notebook(nb, language) else source


def _execute(job: _Job) -> dict[str, Any]:
    """Run one notebook and render its page (in a worker process).

    Returns
    -------
    dict
        ``seconds``, ``status`` (``ok``, ``failed``, ``timeout``, ``oserror``), ``error``
        (one line, ``""`` on success), ``title``, ``question``, ``html``.
    """
    if job.kind == "deliverables":
        return _execute_deliverables(job)
    import papermill as pm
    from nbclient.exceptions import DeadKernelError

    # notebooks run side by side: one BLAS thread each, so they do not fight for the cores
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        saved = _WORKER.setdefault(f"env:{var}", os.environ.get(var))
        if job.single_thread:
            os.environ[var] = "1"
        elif saved is None:
            os.environ.pop(var, None)
        else:
            os.environ[var] = saved
    current: dict[str, str | None] = {"id": None}
    deadline = _Deadline(job.limit)

    def track(cell: Any) -> None:  # nbclient asks each code cell for its timeout
        current["id"] = cell.get("id")
        deadline.start()
        return None  # no timeout of nbclient's own: the deadline interrupts

    out: dict[str, Any] = {"status": "ok", "where": "", "error": ""}
    out.update(title="", question="", html="")
    start = time.perf_counter()
    try:
        pm.execute_notebook(
            _localised(job.source, job.language),
            job.target,
            parameters=job.parameters,
            kernel_name=job.kernel,
            cwd=job.cwd,
            progress_bar=False,
            log_output=False,
            kernel_manager_class=_kernel_manager_class(),
            timeout_func=track,
        )
    except pm.PapermillExecutionError as exc:
        out["where"] = f"cell {exc.cell_index + 1}" + (
            f" (execution count {exc.exec_count})" if exc.exec_count else ""
        )
        out["error"] = f"{exc.ename}: {_one_line(exc.evalue)}"
        if deadline.fired:  # the interrupt at the time limit: a KeyboardInterrupt
            out.update(status="timeout", error="")
        elif _oserror_errno(exc.ename, exc.evalue) is not None:
            out["status"] = "oserror"
        else:
            out["status"] = "failed"
    except DeadKernelError as exc:
        out["where"] = _cell_of(job.target, current["id"])
        out["status"] = "timeout" if deadline.fired else "failed"
        out["error"] = (
            "it did not stop when interrupted and its kernel was ended"
            if deadline.fired
            else f"the kernel died ({_one_line(exc)})"
        )
    except OSError as exc:  # the output notebook could not be written, ...
        out["status"] = "oserror" if exc.errno in _OS_ERRNOS else "failed"
        out["error"] = f"{type(exc).__name__}: {_one_line(exc)}"
    except Exception as exc:  # kernel did not start, notebook unreadable, ...
        out["status"] = "timeout" if deadline.fired else "failed"
        if deadline.fired:
            out["where"] = _cell_of(job.target, current["id"])
        out["error"] = f"{type(exc).__name__}: {_one_line(exc)}"
    finally:
        deadline.done.set()
        _WORKER["kernel_pid"] = None
    out["seconds"] = time.perf_counter() - start
    if out["status"] == "ok":
        try:
            out["title"], out["question"], out["html"] = _to_html(Path(job.target))
        except Exception as exc:
            oserr = isinstance(exc, OSError) and exc.errno in _OS_ERRNOS
            out["status"] = "oserror" if oserr else "failed"
            out["error"] = f"rendering its page: {type(exc).__name__}: {_one_line(exc)}"
    return out


def _execute_deliverables(job: _Job) -> dict[str, Any]:
    """Build a report's workbook and deck in its staging folder (in a worker process).

    ``job.source`` is the study file, ``job.target`` the staging folder, its parameters
    the report's ``date`` and the pages' ``titles``. Returns ``status`` (``ok``,
    ``failed``, ``oserror``), ``error``, ``seconds`` and ``built`` (the record of
    :func:`~analysis_helpers.deliverables.build_deliverables`).
    """
    from .deliverables import build_deliverables
    from .study import load_study

    start = time.perf_counter()
    out: dict[str, Any] = {"status": "ok", "where": "", "error": "", "built": {}}
    try:
        study = load_study(Path(job.source), check_files=False)
        out["built"] = build_deliverables(
            Path(job.target),
            study,
            date=job.parameters["date"],
            titles=job.parameters["titles"],
        )
    except OSError as exc:
        out["status"] = "oserror"
        out["error"] = _os_message(exc, "build the Excel workbook and the PowerPoint deck")
    except Exception as exc:
        out["status"] = "failed"
        out["error"] = f"{type(exc).__name__}: {_one_line(exc)}"
    out["seconds"] = time.perf_counter() - start
    return out


def _worker_main(conn: Any, parent_pid: int, runtime: str, kernel: str | None = None) -> None:
    """Run, as a worker, the notebooks it is sent until it is sent ``None``.

    The worker first starts its zygote for ``kernel`` (:mod:`analysis_helpers._zygote`),
    which imports the notebooks' libraries while the worker waits for its first notebook.
    """

    def end_kernel() -> None:
        pid = _WORKER["kernel_pid"]
        if pid:
            os.killpg(pid, signal.SIGKILL)

    _runctl.die_with_parent(parent_pid, on_orphan=end_kernel)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the runner decides what Ctrl-C ends
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # blocked at the start
    _WORKER["runtime"] = runtime
    from ._zygote import Zygote

    _WORKER["zygote"] = Zygote.start(kernel, _runctl.deathsig_prefix())
    with contextlib.suppress(Exception):  # what every job needs, while the zygote imports
        import papermill  # noqa: F401

        _html_exporter()
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        try:
            result = _execute(job)
        except Exception as exc:  # never a traceback from a worker
            result = {"status": "failed", "error": f"{type(exc).__name__}: {exc}"}
        try:
            conn.send(result)
        except (OSError, EOFError):
            return


# --------------------------------------------------------------------------------------
# Pages of one notebook
# --------------------------------------------------------------------------------------
def _html_exporter() -> Any:
    """Return this process's nbconvert exporter of the pages (its templates loaded once)."""
    exporter = _WORKER.get("exporter")
    if exporter is None:
        from nbconvert import HTMLExporter

        exporter = _WORKER["exporter"] = HTMLExporter(
            template_name="lab",
            exclude_input=True,
            exclude_input_prompt=True,
            exclude_output_prompt=True,
            embed_images=True,
        )
    return exporter


def _to_html(executed: Path) -> tuple[str, str, str]:
    """Render an executed notebook to code-free HTML with embedded images.

    Returns
    -------
    (title, question, body)
        The first Markdown heading, the part's one-line question ("" if none), the page.
    """
    import nbformat

    nb = nbformat.read(executed, as_version=4)
    title = executed.stem
    for cell in nb.cells:
        if cell.cell_type == "markdown" and cell.source.lstrip().startswith("#"):
            title = cell.source.lstrip().splitlines()[0].lstrip("#").strip()
            break
    asks = question(nb, title)
    nb.metadata["title"] = title
    body, _ = _html_exporter().from_notebook_node(nb)
    # no scripts fetched from the network: the report is read offline
    return title, asks, _strip_remote_scripts(body)


def _strip_remote_scripts(body: str) -> str:
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


# --------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------
@dataclass
class _Slot:
    proc: Any
    conn: Any
    job: int | None = None
    hard_deadline: float = float("inf")


@dataclass
class _State:
    """Everything a run holds, so that any ending (error, signal) can let go of it."""

    progress: Callable[[str], None]
    slots: list[_Slot] = field(default_factory=list)
    locks: list[_runctl.FileLock] = field(default_factory=list)
    staging: Path | None = None
    runtime: Path | None = None
    doing: str = "start"
    finalizing: bool = False
    stopping: int = 0
    show_bar: bool = False  # a live bar of the notebooks (see progress_bar_wanted)
    bar: Any = None

    def kill_workers(self) -> None:
        slots, self.slots = self.slots, []
        # only workers not yet reaped: a reaped worker's pid may belong to another process
        pids = [s.proc.pid for s in slots if s.proc.pid is not None and s.proc.exitcode is None]
        if pids:
            _runctl.kill_tree(pids)
        for s in slots:
            with contextlib.suppress(Exception):
                s.proc.join(timeout=1)
            with contextlib.suppress(Exception):
                s.conn.close()

    def release(self) -> None:
        locks, self.locks = self.locks, []
        for lock in reversed(locks):
            lock.release()


def _holder_text(holder: Mapping[str, Any] | None) -> str:
    if not holder:
        return "a run that has not yet said who it is"
    text = f"pid {holder.get('pid')} on {holder.get('host')}, started {holder.get('started')}"
    if holder.get("date"):
        text += f", for {holder.get('date')}"
    return text


def _lock_info(study: Study, date: str, started: dt.datetime, runtime: Path | None) -> dict:
    return {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started": started.isoformat(timespec="seconds"),
        "study": study.name,
        "date": date,
        "runtime": str(runtime) if runtime else None,
        "command": " ".join(sys.argv)[:500],
    }


def _remove_runtime(path: str | None) -> None:
    """Remove a dead run's private kernel folder (only one of ours, under the temp dir)."""
    if not path:
        return
    p = Path(path)
    if p.parent == Path(tempfile.gettempdir()) and p.name.startswith(_TMP_PREFIX):
        shutil.rmtree(p, ignore_errors=True)


def _probe_free(lock_path: Path) -> bool:
    """Whether nobody holds the lock at ``lock_path`` (a missing file is free)."""
    import fcntl

    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CLOEXEC)
    except FileNotFoundError:
        return True
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return True
    finally:
        os.close(fd)


_LEFTOVER_RE = re.compile(r"^\.(staging|replaced)-(\d{4}-\d{2}-\d{2})-\d+$")


def _clean_leftovers(study_dir: Path, date: str, progress: Callable[[str], None]) -> None:
    """Remove the staging folders of runs that ended without cleaning up (killed, power loss).

    Those of this date (whose lock we hold) and of dates whose lock is free.
    """
    for p in sorted(study_dir.iterdir()):
        m = _LEFTOVER_RE.match(p.name)
        if not m or not p.is_dir():
            continue
        lock = study_dir / f".lock-{m.group(2)}"
        if m.group(2) != date:
            if not _probe_free(lock):
                continue  # a live run of that date owns it
            with contextlib.suppress(OSError):
                _remove_runtime((_runctl._read_info(lock.read_bytes()) or {}).get("runtime"))
        shutil.rmtree(p)
        progress(f"removed {p.name}, left by an earlier run that did not finish")
    for p in study_dir.glob(".*.tmp-*"):  # half-written index files (we hold the folder's lock)
        with contextlib.suppress(OSError):
            p.unlink()


def _check_owner(study: Study, study_dir: Path, root: Path) -> None:
    """Refuse a second study file with the same ``study.name`` (a copied demo file)."""
    owner = read_json(study_dir / ".study.json")
    if not owner or not owner.get("study_file"):
        return
    theirs = Path(owner["study_file"])
    theirs = theirs if theirs.is_absolute() else root / theirs
    if not theirs.is_file() or theirs.resolve() == study.path.resolve():
        return
    from .study import load_study

    try:
        other = load_study(theirs, check_files=False)
    except Exception:
        return  # that file no longer describes a study: this one takes the folder over
    if other.name == study.name:
        raise ReportError(
            f"{_rel(study.path, root)} and {_rel(theirs, root)} have the same study.name "
            f"{study.name!r}, and {_rel(study_dir, root)}/ holds the reports of "
            f"{_rel(theirs, root)}; give {_rel(study.path, root)} a name of its own "
            "(study.name), so that its reports and processed data have folders of their own"
        )


@contextlib.contextmanager
def _short_lock(path: Path, info: dict[str, Any], what: str) -> Any:
    """Hold a lock for a moment (clean-up, the final move, an index page)."""
    lock = _runctl.FileLock(path, info)
    try:
        lock.acquire(60)
    except _runctl.LockBusy as busy:
        raise AlreadyRunning(
            f"{what} has been locked for over a minute by {_holder_text(busy.holder)} ({busy.path})"
        ) from None
    try:
        yield lock
    finally:
        lock.release()


def _rel(path: Path, root: Path) -> str:
    path = Path(path)
    with contextlib.suppress(ValueError):
        return str(path.resolve().relative_to(root.resolve()))
    return str(path)


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def _update_latest(study_dir: Path, progress: Callable[[str], None]) -> None:
    """Point ``latest`` at the newest complete report.

    A symbolic link; where the filesystem has none, ``latest.html`` and ``latest.txt``.
    """
    dates = dated_reports(study_dir)
    if not dates:
        return
    link = study_dir / "latest"
    if link.exists() and not link.is_symlink():
        progress(f"note: {link} is not a link made by the runner; left as it is")
        return
    tmp = study_dir / f".latest.tmp-{os.getpid()}"
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    try:
        os.symlink(dates[0], tmp, target_is_directory=True)
        os.replace(tmp, link)
        for name in ("latest.html", "latest.txt"):
            with contextlib.suppress(FileNotFoundError):
                (study_dir / name).unlink()
        return
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        if exc.errno not in (errno_mod.EPERM, errno_mod.EOPNOTSUPP, errno_mod.ENOSYS):
            raise
    target = href(dates[0], "index.html")
    _write_atomic(study_dir / "latest.txt", dates[0] + "\n")
    _write_atomic(
        study_dir / "latest.html",
        f'<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
        f'<meta http-equiv="refresh" content="0; url={target}"><title>Latest report</title>'
        f'</head><body><a href="{target}">Latest report: {esc(dates[0])}</a></body></html>\n',
    )


def _retain(study_dir: Path, keep: int, current: str, progress: Callable[[str], None]) -> None:
    """Keep the newest ``keep`` complete reports (and always ``current``).

    Older reports are removed, and failed runs older than the oldest report kept.
    """
    dates = dated_reports(study_dir)
    kept = set(dates[:keep]) | {current}
    old = [d for d in dates if d not in kept]
    oldest = min(kept)
    for p in sorted(study_dir.glob("[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9].failed-*")):
        if p.name[:10] < oldest:
            old.append(p.name)
    removed = []
    for name in old:
        try:
            shutil.rmtree(study_dir / name)
            removed.append(name)
        except OSError as exc:
            progress(f"note: could not remove the old report {name}: {exc.strerror}")
    if removed:
        progress(
            f"removed {len(removed)} old report folder(s) ({_opt('keep', keep)}): "
            + ", ".join(sorted(removed))
        )


def _install_handlers(state: _State) -> dict[int, Any]:
    """SIGTERM, SIGINT, SIGHUP end the run cleanly (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        return {}

    def handler(signum: int, frame: Any) -> None:
        if state.stopping:
            return
        state.stopping = signum
        if not state.finalizing:
            raise _Stop(signum)

    old: dict[int, Any] = {}
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        with contextlib.suppress(ValueError, OSError):
            old[sig] = signal.signal(sig, handler)
    return old


def _os_message(exc: OSError, doing: str) -> str:
    where = f"{exc.filename}: " if exc.filename else ""
    hint = {
        errno_mod.ENOSPC: "free some space or choose another folder",
        errno_mod.EDQUOT: "free some space or choose another folder",
        errno_mod.EROFS: "the folder is read-only: choose another",
        errno_mod.EACCES: "no permission: choose a folder you may write to",
        errno_mod.EPERM: "no permission: choose a folder you may write to",
    }.get(exc.errno or 0, "")
    hint = f"; {hint} ({_opt('out', 'DIR')})" if hint else ""
    reason = exc.strerror or str(exc)
    return f"could not {doing}: {where}{reason}{hint}; nothing was left behind"


def run_report(
    study_file: str | Path,
    *,
    date: str | None = None,
    out: str | Path | None = None,
    parameters: Mapping[str, Any] | None = None,
    force: bool = False,
    workers: int | None = None,
    only: list[str] | None = None,
    timeout: float | None = None,
    run_timeout: float | None = None,
    keep: int | None = None,
    wait: float = 0.0,
    per: str | None = None,
    progress: Callable[[str], None] = print,
    progress_bar: bool | None = None,
    root: str | Path | None = None,
    also: Sequence[str | Path] = (),
) -> Path:
    """Execute the pipeline notebooks into ``<out>/<study>/<date>/``.

    With ``per``, one report per value of that segment instead (see :func:`_run_units`):
    ``<out>/<study>/by-<segment>/<date>/<unit>/``, each with the unit's respondents only
    and its comparison against the total, and ``index.html`` there listing the units.

    Parameters
    ----------
    study_file : str or Path
        The study file (absolute, or relative to the project root).
    date : str, optional
        The report date ``YYYY-MM-DD`` (default: today).
    out : str or Path, optional
        The reports folder that receives ``<study>/<date>/`` and the index of studies
        (default ``reports/``).
    parameters : mapping, optional
        Extra notebook parameters, passed to every notebook that declares them.
    force : bool
        Replace an existing report of the same study and date (decided at the final move).
    workers : int, optional
        Notebooks run at once after cleaning (default: the number of cores).
    only : list of str, optional
        Run only these notebooks (names such as ``"20-describe"``); cleaning always runs.
    timeout, run_timeout : float, optional
        Seconds one notebook, and the whole run, may take; ``0`` means no limit. Default:
        ``runner.notebook_timeout`` and ``runner.run_timeout`` of the study file.
    keep : int, optional
        Keep only the newest ``keep`` reports of the study (default: ``runner.keep`` of
        the study file; none removed when that is empty too).
    wait : float
        Seconds to wait for another run of the same study and date (or using the same
        cleaned data) before refusing.
    per : str, optional
        A segment column of the study: one report per unit (value) of it.
    progress : callable
        Receives one line per step.
    progress_bar : bool, optional
        Show a live bar of the notebooks done (on standard error) besides the lines. Default
        (None): only at a terminal and outside CI (no ``CI`` environment variable), so
        scheduled runs and their logs stay quiet (see :func:`progress_bar_wanted`).
    root : str or Path, optional
        The project root holding ``notebooks/`` (default: found from the working folder).
    also : sequence of str or Path
        More study files reported in the same run, with the same options (e.g. the
        study's twin in another language, ``config/demo-zh.yml``): all the reports'
        notebooks share the run's workers and pre-warmed kernels (see
        :func:`_run_planned`); each report folder is complete or absent on its own.

    Returns
    -------
    Path
        The finished report folder (with ``per``: the folder of the units' reports); the
        folders of ``also`` are named in the progress lines.

    Raises
    ------
    ReportError
        Input error: bad date or option, unknown notebook or parameter, a ``per`` that is
        not a segment of the study (exit 2).
    ReportExists
        The report exists and ``force`` is not set (exit 2).
    NotebookFailed
        A notebook raised an error; the message names it and the cell (exit 3).
    NotebookTimeout
        A notebook or the run exceeded its time limit (exit 4).
    AlreadyRunning
        Another run holds the lock (exit 5).
    ReportOSError
        Permissions, read-only folder, disk full (exit 6).
    ReportInterrupted
        SIGINT, SIGTERM or SIGHUP (exit 128 + signal).
    StudyFileError
        The study file is invalid (exit 2).
    """
    state = _State(progress=progress, show_bar=progress_bar_wanted(progress_bar))
    states = [state, *(_State(progress=progress) for _ in also)]
    old_handlers = _install_handlers(state)
    options: dict[str, Any] = {
        "date": date,
        "out": out,
        "force": force,
        "workers": workers,
        "only": only,
        "timeout": timeout,
        "run_timeout": run_timeout,
        "keep": keep,
        "wait": wait,
        "per": per,
        "root": root,
    }
    try:
        if also and per is not None:
            raise ReportError(f"{_opt('per', per)} makes the reports of one study at a time")
        with _kernel_progress(progress_bar):
            plans: list[_Planned] = []
            for st, path in zip(states, [study_file, *also], strict=True):
                plan = _plan(st, path, parameters=dict(parameters or {}), **options)
                if isinstance(plan, Path):  # the reports by unit, written
                    return plan
                plans.append(plan)
            names = [p.study.name for p in plans]
            if len(set(names)) < len(names):
                raise ReportError(f"the study files name the same study twice: {names}")
            return _run_planned(states, plans, workers=workers)[0]
    except _Stop as stop:
        name = signal.Signals(stop.signum).name
        raise ReportInterrupted(
            f"stopped by {name}: the notebooks were ended and the unfinished report removed",
            stop.signum,
        ) from None
    except OSError as exc:
        raise ReportOSError(_os_message(exc, state.doing)) from None
    finally:
        state.finalizing = True  # no second interruption while letting go
        state.kill_workers()
        for st in states:
            st.finalizing = True
            if st.staging is not None:
                shutil.rmtree(st.staging, ignore_errors=True)
            st.release()
            if st.runtime is not None:
                shutil.rmtree(st.runtime, ignore_errors=True)
        for sig, h in old_handlers.items():
            with contextlib.suppress(ValueError, OSError, TypeError):
                signal.signal(sig, h)


def _limit(value: float | None, default: float | None, name: str) -> float | None:
    v = default if value is None else value
    if v is None:
        return None
    try:
        v = float(v)
    except (TypeError, ValueError):
        raise ReportError(f"{_opt(name, value)}: expected seconds, got {value!r}") from None
    if v < 0:
        raise ReportError(f"{_opt(name, value)}: a time limit cannot be negative")
    return v or None


def _plan(
    state: _State,
    study_file: str | Path,
    *,
    date: str | None,
    out: str | Path | None,
    parameters: dict[str, Any],
    force: bool,
    workers: int | None,
    only: list[str] | None,
    timeout: float | None,
    run_timeout: float | None,
    keep: int | None,
    wait: float,
    per: str | None,
    root: str | Path | None,
) -> _Planned | Path:
    """Check a report's study file and options; return its plan (with ``per``: run it)."""
    from .study import load_study, project_root

    started = dt.datetime.now().astimezone()
    root = Path(root) if root else project_root()
    study_path = Path(study_file)
    study_path = study_path if study_path.is_absolute() else (root / study_path)
    study = load_study(study_path)  # fail early, with the study file's own messages
    _check_deliverables(study, study_path, root)
    settings = getattr(study.spec, "runner", None)
    date = date or started.date().isoformat()
    try:
        if not DATE_RE.match(date):
            raise ValueError
        dt.date.fromisoformat(date)
    except ValueError:
        raise ReportError(
            f"{_opt('date', repr(date))} is not a date of the form YYYY-MM-DD"
        ) from None
    if study.name in _RESERVED_NAMES:
        raise ReportError(
            f"study.name {study.name!r} is reserved: reports/{study.name}/ is where notebooks "
            "run by hand write; give the study another name"
        )
    nb_limit = _limit(timeout, getattr(settings, "notebook_timeout", 1800), "timeout")
    run_limit = _limit(run_timeout, getattr(settings, "run_timeout", None), "run-timeout")
    keep = keep if keep is not None else getattr(settings, "keep", None)
    if keep is not None and (not isinstance(keep, int) or keep < 1):
        raise ReportError(f"{_opt('keep', keep)}: keep at least 1 report")
    if workers is not None and workers < 1:
        raise ReportError(f"--workers {workers}: at least 1")
    if wait < 0:
        raise ReportError(f"{_opt('wait', wait)}: cannot wait a negative time")
    state.doing = "read the notebooks"
    notebooks = discover_notebooks(root / "notebooks")
    if only:
        known = {p.stem for p in notebooks}
        unknown = sorted(set(only) - known)
        if unknown:
            raise ReportError(f"unknown notebook(s) {unknown}; known: {sorted(known)}")
        notebooks = _selected(notebooks, only)
    declared_by = {p: _declared_parameters(p) for p in notebooks}
    unused = sorted(set(parameters) - set().union(*declared_by.values()))
    if unused:
        raise ReportError(f"no notebook declares the parameter(s) {unused}")
    parameters = _as_declared(parameters, notebooks)

    reports = Path(out) if out else root / "reports"
    reports = reports if reports.is_absolute() else root / reports
    if per is not None:
        from ._unitrun import UnitsRun, run_units

        return run_units(
            state,
            study,
            UnitsRun(
                per=per,
                study_path=study_path,
                root=root,
                reports=reports,
                date=date,
                started=started,
                notebooks=notebooks,
                declared_by=declared_by,
                parameters=parameters,
                force=force,
                wait=wait,
                workers=workers,
                nb_limit=nb_limit,
                run_limit=run_limit,
                keep=keep,
            ),
        )
    return _Planned(
        study=study,
        study_path=study_path,
        root=root,
        reports=reports,
        date=date,
        started=started,
        notebooks=notebooks,
        declared_by=declared_by,
        parameters=parameters,
        force=force,
        wait=wait,
        nb_limit=nb_limit,
        run_limit=run_limit,
        keep=keep,
    )


@dataclass
class _Planned:
    """One report of a run, checked and ready to be staged (see :func:`_stage`)."""

    study: Study
    study_path: Path
    root: Path
    reports: Path
    date: str
    started: dt.datetime
    notebooks: list[Path]
    declared_by: dict[Path, set[str]]
    parameters: dict[str, Any]
    force: bool
    wait: float
    nb_limit: float | None
    run_limit: float | None
    keep: int | None
    jobs: list[_Job] = field(default_factory=list)
    runs: list[NotebookRun] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)
    kernel: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    last: dict[str, float] = field(default_factory=dict)
    built: NotebookRun | None = None  # the deliverables, when a worker built them

    @property
    def final(self) -> Path:
        """The report's folder once it is complete."""
        return self.reports / self.study.name / self.date


def _stage(state: _State, plan: _Planned, kernel: str) -> None:
    """Take the report's locks, make its staging folder and its jobs (``plan.jobs``)."""
    study, date, root = plan.study, plan.date, plan.root
    study_dir = plan.reports / study.name
    state.doing = f"create the report folder {study_dir}"
    study_dir.mkdir(parents=True, exist_ok=True)
    plan.info = _take_locks(
        state,
        study,
        date,
        plan.started,
        study_dir,
        force=plan.force,
        wait=plan.wait,
        run_limit=plan.run_limit,
        root=root,
    )
    state.doing = "create the staging folder"
    staging = study_dir / f".staging-{date}-{os.getpid()}"
    state.staging = staging
    staging.mkdir()
    plan.kernel = kernel
    plan.params = {
        "study_file": str(plan.study_path),
        "report_dir": str(staging),
        **plan.parameters,
    }
    plan.runs = [NotebookRun(p.stem) for p in plan.notebooks]
    plan.jobs = [
        _Job(
            p.stem,
            str(p),
            str(staging / p.name),
            {k: v for k, v in plan.params.items() if k in plan.declared_by[p]},
            kernel,
            str(root / "notebooks"),
            needs=notebook_needs(p),
            language=study.language,
        )
        for p in plan.notebooks
    ]
    plan.last = _last_durations(study_dir)


def _complete(state: _State, plan: _Planned) -> Path:
    """Finish a report whose notebooks ran: deliverables, pages, run record, final move."""
    study, date, runs, staging = plan.study, plan.date, plan.runs, state.staging
    assert staging is not None
    nb_limit, run_limit = plan.nb_limit, plan.run_limit
    if any(r.status != "ok" for r in runs):
        _fail(state, study, date, plan.started, runs, nb_limit, run_limit)
    # the workbook and the deck, from what the notebooks showed: in the staging folder,
    # so a report folder has them or does not exist
    state.doing = "build the Excel workbook and the PowerPoint deck"
    deliverables = _build_deliverables(state, study, staging, date, runs, plan.built)
    if deliverables is None:
        _fail(state, study, date, plan.started, runs, nb_limit, run_limit)
    study_info = _study_info(study, plan.root)
    record = _write_report(
        state,
        study,
        staging,
        runs,
        study_info=study_info,
        date=date,
        started=plan.started,
        params=plan.params,
        final=plan.final,
        kernel=plan.kernel,
        root=plan.root,
        runner={"timeout": nb_limit, "run_timeout": run_limit, "keep": plan.keep},
        deliverables=deliverables,
    )
    _finalize(state, staging, plan.final, plan.info, study_info, force=plan.force, keep=plan.keep)
    state.progress(f"report written to {plan.final} in {record['seconds']:.1f} s")
    if state.stopping:
        state.progress(f"note: {signal.Signals(state.stopping).name} arrived during the final move")
    return plan.final


def _run_planned(states: list[_State], plans: list[_Planned], *, workers: int | None) -> list[Path]:
    """Run the notebooks of every planned report in one pool; complete each report.

    The reports' jobs form one graph: each report's analysis notebooks wait for its own
    cleaning, its summary for its own analysis round, and the workers (and their
    pre-warmed kernels) are shared, so two reports of the same study in two languages
    take the cores together instead of fighting for them. A report whose notebook failed
    does not keep the others from being written; its error is raised after them.
    """
    kernel = _kernel_name()
    for state, plan in zip(states, plans, strict=True):
        _stage(state, plan, kernel)
    main = states[0]
    jobs: list[_Job] = []
    runs: list[NotebookRun] = []
    last: dict[str, float] = {}
    several = len(plans) > 1
    for plan in plans:
        base = len(jobs)
        deps = _dependencies(plan.jobs)
        for job, run, dep in zip(plan.jobs, plan.runs, deps, strict=True):
            if several:
                job.after = tuple(base + d for d in dep)
                job.label = f"{plan.study.name}/{run.name}"
                job.group = plan.study.name
                job.expected = plan.last.get(run.name, 0.0)
            jobs.append(job)
            runs.append(run)
        if several:  # its workbook and deck, by a worker, once its notebooks succeeded
            plan.built = NotebookRun("deliverables")
            jobs.append(
                _Job(
                    "deliverables",
                    str(plan.study_path),
                    str(Path(plan.jobs[0].target).parent),
                    {"date": plan.date, "titles": {}},
                    kernel,
                    str(plan.root),
                    after=tuple(range(base, len(jobs))),
                    label=f"{plan.study.name}/deliverables",
                    group=plan.study.name,
                    kind="deliverables",
                )
            )
            runs.append(plan.built)
        last.update(plan.last if not several else {})
        total = len(plan.jobs)
        main.progress(
            f"Report of study '{plan.study.name}' for {plan.date}: {total} "
            f"notebook{'s' * (total != 1)}, kernel {kernel}"
        )
    main.doing = "run the notebooks"
    nb_limit = min((p.nb_limit for p in plans if p.nb_limit), default=None)
    run_limit = min((p.run_limit for p in plans if p.run_limit), default=None)
    _run_notebooks(
        main, jobs, runs, workers=workers, nb_limit=nb_limit, run_limit=run_limit, last=last
    )
    written: list[Path] = []
    error: ReportError | None = None
    for state, plan in zip(states, plans, strict=True):
        try:
            written.append(_complete(state, plan))
        except ReportError as exc:
            if not several:
                raise
            error = error or exc
            main.progress(f"{plan.study.name}: {exc}")
    if error is not None:
        raise error
    return written


def _study_info(study: Study, root: Path) -> dict[str, Any]:
    """Return what the index pages show of a study (title, client, description, file)."""
    return {
        "name": study.name,
        "title": study.title,
        "client": study.spec.study.client,
        "description": study.spec.study.description,
        "study_file": _rel(study.path, root),
        "language": study.language,
    }


def _write_report(
    state: _State,
    study: Study,
    staging: Path,
    runs: list[NotebookRun],
    *,
    study_info: Mapping[str, Any],
    date: str,
    started: dt.datetime,
    params: Mapping[str, Any],
    final: Path,
    kernel: str,
    root: Path,
    runner: Mapping[str, Any],
    deliverables: dict[str, Any],
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Write a finished report's pages and run record into ``staging``; return the record.

    The notebooks' pages (``runs[k].page``) get the study header, beside them the client's
    ``index.html``, ``run.html`` and ``run.json`` (with ``extra`` added to the record).
    """
    progress = state.progress
    finished = dt.datetime.now().astimezone()
    state.doing = "hash the input files"
    record = _record(study, study_info, date, started, finished, params, final, kernel, root)
    record["runner"] = dict(runner)
    record["deliverables"] = deliverables
    record.update(extra or {})
    # pages in reading order (by name: 00-summary first), whatever order they ran in
    shown = sorted(runs, key=lambda r: r.name)
    record["notebooks"] = [
        {
            "name": r.name,
            "title": r.title,
            "question": r.question,
            "status": r.status,
            "seconds": round(r.seconds, 3),
            "html": r.html,
        }
        for r in shown
    ]
    state.doing = "write the report pages"
    from .pages import finish_page, page_header

    pages = {r.html: r.page for r in runs if r.status == "ok"}
    index = report_index_html(study_info, date, shown, deliverables=deliverables["files"])
    run_page = run_html(study_info, record)
    # the notebook pages get the study header on top; the index and run pages have it
    style = _font_style([*pages.values(), index, run_page, page_header(study)])
    written = {name: finish_page(page, study=study, style=style) for name, page in pages.items()}
    written["index.html"] = finish_page(index, style=style)
    written["run.html"] = finish_page(run_page, style=style)
    written["run.json"] = json.dumps(record, indent=1, ensure_ascii=False) + "\n"
    for name, text in written.items():
        state.doing = f"write the report page {name}"
        (staging / name).write_text(text, encoding="utf-8")
    progress("rendered HTML pages")
    return record


#: the last font style made in this process and the CJK characters it covers
_LAST_STYLE: dict[str, Any] = {"chars": frozenset(), "style": ""}


def _font_style(texts: Iterable[str]) -> str:
    """Return :func:`~analysis_helpers.pages.font_face` of ``texts``, made much faster.

    ``font_face`` looks only at which characters the texts hold; a page with embedded
    charts is millions of characters (a demo report about 9 million, 23 s in a Python loop),
    so each text is passed as its distinct characters (same subset, same style). Each
    subset of the CJK font costs about 2 s, so an index page whose CJK characters the last
    style made here covers (the study's index after its report) reuses that style.
    """
    from .pages import _in_cjk, font_face

    distinct = ["".join(set(t)) for t in texts]
    chars = frozenset(c for t in distinct for c in t if _in_cjk(c))
    if chars and chars <= _LAST_STYLE["chars"]:
        return str(_LAST_STYLE["style"])
    style = font_face(distinct)
    _LAST_STYLE.update(chars=chars, style=style)
    return style


def _check_deliverables(study: Study, study_path: Path, root: Path) -> None:
    """Refuse, before any notebook runs, a study whose PowerPoint template is missing."""
    from .deliverables import template_path

    try:
        template_path(study)
    except FileNotFoundError as exc:
        raise ReportError(f"{_rel(study_path, root)}: {exc}") from None


def _build_deliverables(
    state: _State,
    study: Study,
    staging: Path,
    date: str,
    runs: list[NotebookRun],
    done: NotebookRun | None = None,
) -> dict[str, Any] | None:
    """Build ``report.xlsx`` and ``report.pptx`` in the staging folder.

    See :mod:`analysis_helpers.deliverables`. Return None after a failure, which is added
    to ``runs`` as the part ``deliverables`` (an OS error propagates: nothing is left
    behind). ``done``: they were built by a worker of the run (its job's run), not here.
    """
    if done is not None:
        if done.status == "oserror":
            raise ReportOSError(done.error)
        if done.status != "ok":
            runs.append(
                NotebookRun("deliverables", status=done.status, error=done.error or "not built")
            )
            return None
        built = done.built
    else:
        from .deliverables import build_deliverables

        try:
            built = build_deliverables(
                staging, study, date=date, titles={r.name: r.title or r.name for r in runs}
            )
        except OSError:
            raise
        except Exception as exc:
            runs.append(
                NotebookRun(
                    "deliverables",
                    status="failed",
                    error=f"{type(exc).__name__}: {_one_line(exc)}",
                )
            )
            return None
    files = {f["file"]: f for f in built["files"]}
    book, deck = files.get("report.xlsx", {}), files.get("report.pptx", {})
    state.progress(
        f"built report.xlsx ({book.get('sheets', 0)} tables) and report.pptx "
        f"({deck.get('slides', 0)} slides) in {built['seconds']:.1f} s"
    )
    return built


def _take_locks(
    state: _State,
    study: Study,
    date: str,
    started: dt.datetime,
    study_dir: Path,
    *,
    force: bool,
    wait: float,
    run_limit: float | None,
    root: Path,
) -> dict[str, Any]:
    """Take the locks of a run and return the lock info.

    Take the lock of the study and date (waiting ``wait`` seconds), clean up after dead
    runs, check that the report may be made, and take the lock of the study's cleaned data
    (waiting up to the run's time limit: runs of other dates queue).
    """
    progress = state.progress
    final = study_dir / date
    state.doing = "lock the report"
    state.runtime = Path(tempfile.mkdtemp(prefix=_TMP_PREFIX))
    info = _lock_info(study, date, started, state.runtime)
    lock = _runctl.FileLock(study_dir / f".lock-{date}", info, unlink=True)
    waited = time.monotonic()

    def say_wait(holder: dict | None) -> None:
        progress(f"waiting up to {wait:g} s for another run ({_holder_text(holder)}) ...")

    try:
        previous = lock.acquire(max(wait, 0.5), on_wait=say_wait if wait else None)
    except _runctl.LockBusy as busy:
        raise AlreadyRunning(
            f"another run of study {study.name!r} for {date} is in progress: "
            f"{_holder_text(busy.holder)} (lock {busy.path}); wait for it "
            f"({_opt('wait', 'SECONDS')}) or choose another date ({_opt('date', 'YYYY-MM-DD')})"
        ) from None
    state.locks.append(lock)
    if previous:
        progress(
            "note: took over the lock of an earlier run that ended without releasing it "
            f"({_holder_text(previous)})"
        )
        _remove_runtime(previous.get("runtime"))
    state.doing = "clean up after earlier runs"
    with _short_lock(study_dir / ".lock", info, f"the folder {study_dir}"):
        _clean_leftovers(study_dir, date, progress)
        _check_owner(study, study_dir, root)
    if os.path.lexists(final) and not force:
        raise ReportExists(
            f"{final} exists already; pass {_opt('force')} to replace it, or "
            f"{_opt('date', 'YYYY-MM-DD')} for another date"
        )
    # the study's cleaned data are shared by its runs of every date: one at a time
    processed = study.processed_dir
    state.doing = f"lock the processed data folder {processed.parent}"
    processed.parent.mkdir(parents=True, exist_ok=True)
    data_lock = _runctl.FileLock(processed.parent / f".lock-{study.name}", info)
    # a run of another date (or into another folder) is not this report: queue behind it,
    # as long as this run may take (--wait if longer)
    queue = max(0.5, wait - (time.monotonic() - waited), run_limit or 0.0)

    def say_queue(holder: dict | None) -> None:
        progress(
            f"waiting up to {queue:g} s for another run of study {study.name!r} "
            f"({_holder_text(holder)}), which is using {_rel(processed, root)}/ ..."
        )

    try:
        data_lock.acquire(queue, on_wait=say_queue)
    except _runctl.LockBusy as busy:
        raise AlreadyRunning(
            f"another run of study {study.name!r} is using its cleaned data in "
            f"{_rel(processed, root)}/: {_holder_text(busy.holder)}; it did not finish "
            f"within {queue:g} s ({_opt('wait', 'SECONDS')})"
        ) from None
    state.locks.append(data_lock)

    return info


def _record(
    study: Study,
    study_info: Mapping[str, Any],
    date: str,
    started: dt.datetime,
    finished: dt.datetime,
    params: Mapping[str, Any],
    final: Path,
    kernel: str,
    root: Path,
) -> dict[str, Any]:
    """Return the run record (``run.json``) without its ``runner`` and ``notebooks`` parts."""
    from .io import file_sha256

    inputs = [study.path, *study.data_files()]
    if study.spec.data.operations:
        ops = study.raw_dir / study.spec.data.operations
        if ops.is_file():
            inputs.append(ops)
    return {
        "study": study.name,
        "study_file": str(study.path),
        "title": study.title,
        "client": study_info["client"],
        "description": study_info["description"],
        "date": date,
        "status": "ok",
        "started": started.isoformat(timespec="seconds"),
        "finished": finished.isoformat(timespec="seconds"),
        "seconds": round((finished - started).total_seconds(), 3),
        "parameters": {k: (v if k != "report_dir" else str(final)) for k, v in params.items()},
        "kernel": kernel,
        "runner": {},
        "inputs": {
            str(p.relative_to(root)) if p.is_relative_to(root) else str(p): file_sha256(p)
            for p in inputs
        },
        "packages": _versions(),
        "platform": {"system": platform.platform(), "cpus": os.cpu_count()},
        "git": _git(root),
        "notebooks": [],
    }


def _finalize(
    state: _State,
    staging: Path,
    final: Path,
    info: dict[str, Any],
    study_info: Mapping[str, Any],
    *,
    force: bool,
    keep: int | None,
    reports: Path | None = None,
    study_page: Callable[[Mapping[str, Any], Path], str] = study_index_html,
) -> None:
    """Move the report into place (``force`` decided now, under the study's lock).

    Then apply ``keep``, point ``latest`` at the newest report and rewrite the index pages:
    ``study_page`` of the report's parent folder and the index of studies in ``reports``
    (default: the parent's parent).
    """
    from .pages import finish_page

    progress = state.progress
    study_dir, date = final.parent, final.name
    reports = reports or study_dir.parent
    state.doing = f"move the report into {final}"
    state.finalizing = True
    with _short_lock(study_dir / ".lock", info, f"the folder {study_dir}"):
        if os.path.lexists(final):
            if not force:
                raise ReportExists(
                    f"{final} appeared during the run, so the new report was discarded; "
                    f"pass {_opt('force')} to replace it"
                )
            old = study_dir / f".replaced-{date}-{os.getpid()}"
            if _runctl.exchange(staging, final):
                old = staging  # the old report, now at the staging path
            else:
                os.rename(final, old)
                try:
                    _runctl.rename_noreplace(staging, final)
                except OSError:
                    os.rename(old, final)  # put the old report back
                    raise
            state.staging = None
            shutil.rmtree(old, ignore_errors=True)  # or removed by the next run's clean-up
        else:
            _runctl.rename_noreplace(staging, final)
        state.staging = None
        state.doing = "update the study's index"
        try:
            if keep is not None:
                _retain(study_dir, keep, date, progress)
            _update_latest(study_dir, progress)
            _write_atomic(study_dir / ".study.json", json.dumps(study_info, ensure_ascii=False))
            page = study_page(study_info, study_dir)
            _write_atomic(study_dir / "index.html", finish_page(page, style=_font_style([page])))
        except OSError as exc:  # the report itself is complete and in place
            progress(f"note: {_os_message(exc, state.doing).rsplit(';', 1)[0]}")
    try:
        with _short_lock(reports / ".lock", info, f"the folder {reports}"):
            page = reports_index_html(reports)
            _write_atomic(reports / "index.html", finish_page(page, style=_font_style([page])))
    except (OSError, AlreadyRunning) as exc:
        progress(f"note: the index of studies was not updated: {exc}")


def progress_bar_wanted(asked: bool | None = None) -> bool:
    """Whether the runner shows its live bar: as ``asked``, else at a terminal outside CI.

    Quiet (no bar, only the progress lines) when standard error is not a terminal (cron,
    a log file, ``make -j``'s grouped output) or the ``CI`` environment variable is set.
    """
    if asked is not None:
        return asked
    if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
        return False
    return bool(getattr(sys.stderr, "isatty", lambda: False)())


@contextlib.contextmanager
def _kernel_progress(asked: bool | None) -> Any:
    """Let the kernels draw their own bars (cleaning, bootstraps) when ``--progress`` asked.

    Only on request: the kernels' bars go to the runner's standard error, which a default
    run keeps for its progress lines (see :mod:`analysis_helpers._progress`).
    """
    from ._progress import PROGRESS_ENV

    if asked is None or PROGRESS_ENV in os.environ:
        yield
        return
    os.environ[PROGRESS_ENV] = "1" if asked else "0"
    try:
        yield
    finally:
        os.environ.pop(PROGRESS_ENV, None)


@contextlib.contextmanager
def _notebook_bar(state: _State, total: int) -> Any:
    """Show a tqdm bar of the notebooks done while the block runs (if the run wants one).

    The progress lines are written above the bar meanwhile.
    """
    if not state.show_bar or state.bar is not None:
        yield
        return
    from tqdm import tqdm  # type: ignore[import-untyped]

    lines = state.progress
    bar = tqdm(total=total, unit="notebook", file=sys.stderr, leave=False, dynamic_ncols=True)
    state.bar = bar
    state.progress = lambda line: bar.write(str(line), file=sys.stdout)
    try:
        yield
    finally:
        state.progress, state.bar = lines, None
        bar.close()


def _run_notebooks(
    state: _State,
    jobs: list[_Job],
    runs: list[NotebookRun],
    *,
    workers: int | None,
    nb_limit: float | None,
    run_limit: float | None,
    last: dict[str, float],
    after_cleaning: Callable[[], None] | None = None,
) -> dict[str, str]:
    """Run cleaning, then the rest side by side, in worker processes; fill ``runs``.

    ``after_cleaning`` is called once cleaning succeeded and may add jobs (and their runs)
    to ``jobs`` and ``runs``: the reports of the units (``report --per``), which need the
    cleaned data to be planned.

    Returns
    -------
    dict
        HTML file name -> page, for the notebooks that succeeded (each run also keeps its
        page, ``NotebookRun.page``).
    """
    with _notebook_bar(state, len(jobs)):
        return _run_pool(
            state,
            jobs,
            runs,
            workers=workers,
            nb_limit=nb_limit,
            run_limit=run_limit,
            last=last,
            after_cleaning=after_cleaning,
        )


def _dependencies(jobs: list[_Job]) -> list[tuple[int, ...]]:
    """Return, for each job, the jobs that must have succeeded before it runs.

    A job's explicit ``after`` wins. Otherwise: the first job (cleaning) needs none; a job
    that declares ``needs`` runs after its cleaning and after every job of its group (the
    same ``unit/`` prefix) that declares none - the round of analysis notebooks; any other
    job runs after cleaning.
    """

    def group(name: str) -> str:
        return name.rpartition("/")[0]

    out: list[tuple[int, ...]] = []
    for k, job in enumerate(jobs):
        if job.after is not None:
            out.append(tuple(job.after))
        elif k == 0:
            out.append(())
        elif job.needs:
            mine = group(job.name)
            out.append(
                (
                    0,
                    *(
                        i
                        for i, other in enumerate(jobs)
                        if i
                        and other.after is None
                        and not other.needs
                        and group(other.name) == mine
                    ),
                )
            )
        else:
            out.append((0,))
    return out


def _run_pool(
    state: _State,
    jobs: list[_Job],
    runs: list[NotebookRun],
    *,
    workers: int | None,
    nb_limit: float | None,
    run_limit: float | None,
    last: dict[str, float],
    after_cleaning: Callable[[], None] | None,
) -> dict[str, str]:
    """Run the notebooks of :func:`_run_notebooks` (which shows the bar around this).

    The jobs form a graph (:func:`_dependencies`): each job is given to an idle worker as
    soon as the jobs it depends on have succeeded - the jobs that unblock the most others
    first, then the longest (as measured by the last report), so the workers end together.
    A job whose dependency did not succeed is not run (it stays ``pending``).
    """
    cap = workers or os.cpu_count() or 1
    pool = _Pool(
        state,
        jobs,
        runs,
        nb_limit=nb_limit,
        run_limit=run_limit,
        ctx=multiprocessing.get_context("spawn"),
        run_deadline=time.monotonic() + run_limit if run_limit else None,
    )
    graph = _Graph(state, jobs, runs, cap=cap, last=last, after_cleaning=after_cleaning)
    while True:
        ready = graph.ready()
        busy = [s for s in state.slots if s.job is not None]
        # as many workers as jobs can run now; at the start all of them, so that their
        # kernels warm up while cleaning runs
        at_start = not busy and all(r.status == "pending" for r in runs)
        want = min(cap, max(1, len(jobs) - 1)) if at_start else min(cap, len(ready) + len(busy))
        while len(state.slots) < want:
            pool.spawn()
        for slot in [s for s in state.slots if s.job is None]:
            while ready:
                k = ready.pop(0)
                graph.waiting.discard(k)
                # side by side: one BLAS thread each, so they do not fight for the cores
                alongside = len(ready) + sum(1 for s in state.slots if s.job is not None)
                jobs[k].single_thread = cap > 1 and alongside > 0
                graph.prepare(k)
                if pool.dispatch(slot, k):
                    graph.started(k)
                    break
        busy = [s for s in state.slots if s.job is not None]
        if not busy:
            graph.skip_the_rest()
            break
        for k in pool.wait(busy, more=bool(graph.waiting)):
            graph.ended(k)
    for slot in list(state.slots):  # done: let the workers go
        with contextlib.suppress(OSError):
            slot.conn.send(None)
    for slot in list(state.slots):
        slot.proc.join(timeout=5)
    state.kill_workers()
    return pool.pages


class _Graph:
    """Which jobs of a run may start: those whose dependencies (:func:`_dependencies`) succeeded.

    ``waiting`` holds the jobs not yet given to a worker; a job whose dependency did not
    succeed leaves it without running (its run stays ``pending``).
    """

    def __init__(
        self,
        state: _State,
        jobs: list[_Job],
        runs: list[NotebookRun],
        *,
        cap: int,
        last: dict[str, float],
        after_cleaning: Callable[[], None] | None,
    ) -> None:
        self.state, self.jobs, self.runs, self.cap, self.last = state, jobs, runs, cap, last
        self.after_cleaning = after_cleaning
        self.deps = _dependencies(jobs)
        self.waiting = set(range(len(jobs)))

    def _ok(self, k: int) -> bool:
        return all(self.runs[d].status == "ok" for d in self.deps[k])

    def _expected(self, k: int) -> float:
        name = self.runs[k].name
        return self.jobs[k].expected or self.last.get(
            name, self.last.get(name.rpartition("/")[2], 0.0)
        )

    def ready(self) -> list[int]:
        """Return the jobs that may start now: first those that unblock the most, then longest."""
        runs = self.runs
        self.waiting -= {
            k
            for k in self.waiting
            if any(runs[d].status not in ("ok", "pending") for d in self.deps[k])
        }
        ready = [k for k in self.waiting if self._ok(k)]
        unblocks = {k: sum(k in d for d in self.deps) for k in ready}
        ready.sort(key=lambda k: (-unblocks[k], -self._expected(k), k))
        return ready

    def prepare(self, k: int) -> None:
        """Give a deliverables job the titles of the pages it follows (known only now)."""
        job = self.jobs[k]
        if job.kind == "deliverables":
            job.parameters["titles"] = {
                self.runs[d].name: self.runs[d].title or self.runs[d].name for d in self.deps[k]
            }

    def skip_the_rest(self) -> None:
        """Mark the jobs that could have run as skipped: the run's time is up."""
        for k in self.waiting:
            if self._ok(k):
                self.runs[k].status, self.runs[k].limit = "skipped", "run"

    def started(self, k: int) -> None:
        """Say that job ``k`` started, for cleaning and for a page that reads others' tables."""
        label = self.jobs[k].label or self.runs[k].name
        if not self.deps[k]:
            self.state.progress(f"[{k + 1}/{len(self.jobs)}] {label} running ...")
        elif self.jobs[k].needs:
            self.state.progress(f"running {label} after the notebooks it needs ...")

    def ended(self, k: int) -> None:
        """Take note that job ``k`` ended: after cleaning, plan the units and say what runs."""
        jobs, state = self.jobs, self.state
        if k == 0 and self.after_cleaning is not None and self.runs[0].status == "ok":
            hook, self.after_cleaning = self.after_cleaning, None
            before = len(jobs)
            hook()  # the units' jobs (report --per)
            self.deps = _dependencies(jobs)
            self.waiting.update(range(before, len(jobs)))
            if state.bar is not None:
                state.bar.total = len(jobs)
                state.bar.refresh()
        if self.deps[k] or self.runs[k].status != "ok":
            return
        n = sum(1 for j, d in enumerate(self.deps) if d == (k,) and not jobs[j].needs)
        if n:
            of = f" of {jobs[k].group}" if jobs[k].group else ""
            w = min(self.cap, n)
            state.progress(
                f"running {n} analysis notebook{'s' * (n != 1)}{of} on {w} "
                f"worker{'s' * (w != 1)} ..."
            )


@dataclass
class _Pool:
    """The worker processes of a run and the notebook jobs they are given.

    The workers are ``state.slots``; ``runs[k]`` records how ``jobs[k]`` went and ``pages``
    collects the HTML page of each notebook that succeeded.
    """

    state: _State
    jobs: list[_Job]
    runs: list[NotebookRun]
    nb_limit: float | None
    run_limit: float | None
    ctx: Any
    run_deadline: float | None
    pages: dict[str, str] = field(default_factory=dict)

    def spawn(self) -> _Slot:
        """Start a worker process and return its slot (also added to ``state.slots``)."""
        parent, child = self.ctx.Pipe()
        proc = self.ctx.Process(
            target=_worker_main,
            args=(
                child,
                os.getpid(),
                str(self.state.runtime),
                self.jobs[0].kernel if self.jobs else None,
            ),
            name="report-worker",
            daemon=True,
        )
        # the worker starts with Ctrl-C blocked and ignores it once running: the runner
        # decides what a Ctrl-C ends, and no worker prints a KeyboardInterrupt traceback
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            proc.start()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        child.close()
        slot = _Slot(proc, parent)
        self.state.slots.append(slot)
        return slot

    def finish(self, k: int, result: Mapping[str, Any]) -> None:
        """Record job ``k``'s result in ``runs[k]`` (and its page) and report it."""
        total = len(self.jobs)
        r = self.runs[k]
        r.seconds = float(result.get("seconds", 0.0))
        r.status, r.where = result["status"], result.get("where", "")
        r.error = result.get("error", "")
        r.title, r.question = result.get("title", ""), result.get("question", "")
        r.built = result.get("built") or {}
        if self.jobs[k].kind == "notebook":
            r.html = Path(self.jobs[k].target).with_suffix(".html").name
        if self.state.bar is not None:
            self.state.bar.set_postfix_str(r.name, refresh=False)
            self.state.bar.update(1)
        label = self.jobs[k].label
        if r.status == "ok" and r.html:
            self.pages[r.html] = r.page = result["html"]
            self.state.progress(f"[{k + 1}/{total}] {label or r.name} done in {r.seconds:.1f} s")
        else:
            line = _failure_line(r, self.nb_limit, self.run_limit)
            self.state.progress(f"[{k + 1}/{total}] {line} (after {r.seconds:.1f} s)")

    def dispatch(self, slot: _Slot, k: int) -> bool:
        """Give job ``k`` to the idle worker ``slot``; False: skipped, the run's time is up."""
        limit, kind = self.nb_limit, "notebook"
        if self.run_deadline is not None:
            left = self.run_deadline - time.monotonic()
            if left <= 0:
                self.runs[k].status, self.runs[k].limit = "skipped", "run"
                return False
            if limit is None or left < limit:
                limit, kind = left, "run"
        self.jobs[k].limit = limit
        self.runs[k].limit = kind
        try:
            slot.conn.send(self.jobs[k])
        except OSError:  # the idle worker died (out of memory?): a new one takes the job
            if slot.proc.exitcode is None:
                _runctl.kill_tree([slot.proc.pid])
            self.state.slots.remove(slot)
            slot = self.spawn()
            slot.conn.send(self.jobs[k])
        slot.job = k
        slot.hard_deadline = time.monotonic() + limit + _HARD_MARGIN if limit else float("inf")
        return True

    def wait(self, busy: list[_Slot], *, more: bool) -> list[int]:
        """Wait until a busy worker is done (or lost); return the jobs that ended.

        ``more``: jobs are still to come, so a lost worker is replaced.
        """
        from multiprocessing.connection import wait as mp_wait

        state = self.state
        now = time.monotonic()
        wake = min(s.hard_deadline for s in busy) - now
        if state.bar is not None:  # the bar's clock ticks every second
            state.bar.refresh()
            wake = min(wake, 1.0)
        ready = mp_wait(
            [s.conn for s in busy] + [s.proc.sentinel for s in busy],
            timeout=max(0.0, min(wake, 3600.0)),
        )
        ended = []
        for slot in busy:
            job = slot.job
            if self._take(slot, ready, more) and job is not None:
                ended.append(job)
        return ended

    def _take(self, slot: _Slot, ready: list[Any], more: bool) -> bool:
        """Record the result of a busy worker that is ready, has died or is past its time.

        Returns whether its job ended.
        """
        job = slot.job
        assert job is not None
        result: dict[str, Any] | None = None
        if slot.conn in ready:
            try:
                result = slot.conn.recv()
            except (EOFError, OSError):
                result = None
        elif slot.proc.sentinel not in ready and time.monotonic() < slot.hard_deadline:
            return False
        if result is not None:
            slot.job = None
            self.finish(job, result)
            return True
        self._lost(slot, job)
        if more:
            self.spawn()
        return True

    def _lost(self, slot: _Slot, k: int) -> None:
        """End a worker that died or did not stop at its time limit; record job ``k``."""
        timed_out = time.monotonic() >= slot.hard_deadline
        if slot.proc.exitcode is None:
            _runctl.kill_tree([slot.proc.pid])
        slot.proc.join(timeout=1)
        self.state.slots.remove(slot)
        if timed_out:
            self.finish(
                k,
                {
                    "status": "timeout",
                    "error": "it did not stop when interrupted and its processes were ended",
                    "seconds": (self.jobs[k].limit or 0) + _HARD_MARGIN,
                },
            )
            return
        code = slot.proc.exitcode
        why = " (killed by SIGKILL: out of memory?)" if code == -signal.SIGKILL else ""
        self.finish(
            k,
            {
                "status": "failed",
                "seconds": 0.0,
                "error": f"its worker process ended unexpectedly, exit code {code}{why}",
            },
        )


def _failure_line(r: NotebookRun, nb_limit: float | None, run_limit: float | None) -> str:
    """Return the line that names a failed notebook, the cell and the error.

    ``20-describe failed in cell 4 (execution count 2): ValueError: ...``; a timed-out
    notebook is named the same way, with the limit it reached and where that is set.
    """
    where = f" in {r.where}" if r.where else ""
    if r.status != "timeout":
        return f"{r.name} failed{where}: {r.error}"
    if r.limit == "run":
        limit = (
            f"the run's time limit of {run_limit or 0:g} s ({_opt('run-timeout', 'SECONDS')}, "
            "or runner.run_timeout in the study file)"
        )
    else:
        limit = (
            f"the time limit of {nb_limit or 0:g} s per notebook ({_opt('timeout', 'SECONDS')}, "
            "or runner.notebook_timeout in the study file)"
        )
    return f"{r.name} timed out{where}: stopped at {limit}" + (f"; {r.error}" if r.error else "")


def _fail(
    state: _State,
    study: Study,
    date: str,
    started: dt.datetime,
    runs: list[NotebookRun],
    nb_limit: float | None,
    run_limit: float | None,
) -> NoReturn:
    """Raise the error of a run in which a notebook did not succeed.

    Its notebooks are kept for inspection (unless the system refused to write: then
    nothing is kept).
    """
    lines = [
        _failure_line(r, nb_limit, run_limit)
        for r in runs
        if r.status in ("failed", "oserror", "timeout")
    ]
    cleaning_ok = bool(runs) and runs[0].status == "ok"
    skipped = [r.name for r in runs if r.status == "pending"]
    if skipped and cleaning_ok:
        lines.append(f"not run because a notebook it needs did not succeed: {', '.join(skipped)}")
    elif skipped:
        lines.append(f"not run because cleaning did not succeed: {', '.join(skipped)}")
    late = [r.name for r in runs if r.status == "skipped"]
    if late:
        lines.append(
            f"not run: the run's time limit of {run_limit:g} s was reached first: "
            + ", ".join(late)
        )
    if any(r.status == "oserror" for r in runs):
        if state.staging is not None:
            shutil.rmtree(state.staging, ignore_errors=True)
        state.staging = None
        raise ReportOSError("; ".join(lines) + "; nothing was left behind")
    kept_note = ""
    staging = state.staging
    if staging is not None:
        kept = staging.parent / f"{date}.failed-{started:%H%M%S}"
        try:
            with contextlib.suppress(OSError):
                (staging / "run.json").write_text(
                    json.dumps(
                        {
                            "study": study.name,
                            "date": date,
                            "status": "failed",
                            "started": started.isoformat(timespec="seconds"),
                            "notebooks": [
                                {
                                    "name": r.name,
                                    "status": r.status,
                                    "where": r.where,
                                    "error": r.error,
                                    "seconds": round(r.seconds, 3),
                                }
                                for r in runs
                            ],
                        },
                        indent=1,
                        ensure_ascii=False,
                    )
                    + "\n",
                    encoding="utf-8",
                )
            try:
                _runctl.rename_noreplace(staging, kept)
            except FileExistsError:
                kept = kept.with_name(f"{kept.name}-{os.getpid()}")
                _runctl.rename_noreplace(staging, kept)
            state.staging = None
            kept_note = f"\nThe executed notebooks are kept for inspection in {kept}"
        except OSError:
            kept_note = ""
    cls = (
        NotebookTimeout if any(r.status in ("timeout", "skipped") for r in runs) else NotebookFailed
    )
    raise cls("the report was not produced:\n  " + "\n  ".join(lines) + kept_note)


def _last_durations(study_dir: Path) -> dict[str, float]:
    """Each notebook's run time in the newest complete report of the study (if any)."""
    for date in dated_reports(study_dir):
        record = read_json(study_dir / date / "run.json")
        try:
            return {n["name"]: float(n["seconds"]) for n in record["notebooks"]}  # type: ignore[index]
        except (KeyError, TypeError, ValueError):
            continue
    return {}


def _text_parameters(path: Path) -> set[str]:
    """Return the parameters the notebook declares as text (``name: str = ...``)."""
    import ast

    nb = json.loads(path.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        if cell.get("cell_type") == "code" and "parameters" in cell.get("metadata", {}).get(
            "tags", []
        ):
            source = cell.get("source", "")
            source = "".join(source) if isinstance(source, list) else source
            return {
                node.target.id
                for node in ast.parse(source).body
                if isinstance(node, ast.AnnAssign)
                and isinstance(node.target, ast.Name)
                and isinstance(node.annotation, ast.Name)
                and node.annotation.id == "str"
            }
    return set()


def _as_declared(parameters: dict[str, Any], notebooks: list[Path]) -> dict[str, Any]:
    """Return the parameters with numbers given to a text parameter turned into text.

    ``-p wave=1`` is read as YAML, so the wave code ``1`` arrives as the number 1; a
    notebook that declares ``wave: str`` compares it with the study's wave codes, which
    are text. A number (not a yes/no) given to a parameter any notebook declares as
    ``str`` is passed as the text it was typed as (``1``, ``2.5``).
    """
    text = set().union(*(_text_parameters(p) for p in notebooks)) if notebooks else set()
    return {
        k: (str(v) if k in text and isinstance(v, int | float) and not isinstance(v, bool) else v)
        for k, v in parameters.items()
    }


def _declared_parameters(path: Path) -> set[str]:
    """Return the names assigned in the cell tagged ``parameters``.

    The notebook is read as plain JSON: nbformat's import costs a second the runner's own
    process does not need.
    """
    import ast

    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
        cells = nb["cells"]
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise ReportError(f"{path}: not a readable notebook (JSON)") from None
    for cell in cells:
        tags = cell.get("metadata", {}).get("tags", [])
        if cell.get("cell_type") == "code" and "parameters" in tags:
            source = cell.get("source", "")
            source = "".join(source) if isinstance(source, list) else source
            try:
                body = ast.parse(source).body
            except SyntaxError as exc:
                raise ReportError(
                    f"{path}: the parameters cell is not valid Python (line {exc.lineno})"
                ) from None
            names = set()
            for node in body:
                if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                    names.add(node.target.id)
                elif isinstance(node, ast.Assign):
                    names.update(t.id for t in node.targets if isinstance(t, ast.Name))
            return names
    return set()
