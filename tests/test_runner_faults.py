"""The runner's faults, as cron meets them (issue 10): runs started together, kill -9 and
SIGTERM of the runner, a read-only reports folder, a disk that fills up, a stuck cell and the
run's time limit - each with its exit code, a one-line message and nothing left behind.

Runs go through the real command (``python -m analysis_helpers report``) where the process
matters, on the tiny project of tests/runner_project.py. The full disk and the read-only
folder are small tmpfs mounts (root only; skipped with the reason otherwise, except that the
read-only case falls back to file permissions for a normal user).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psutil
import pytest
from runner_project import make_project

from analysis_helpers.cli import main
from analysis_helpers.runner import NotebookTimeout, ReportOSError, run_report

DATE = "2026-03-01"


@pytest.fixture
def project(tmp_path) -> Path:
    return make_project(tmp_path / "proj")


def start(
    project: Path, *args: str, name: str, date: str = DATE
) -> tuple[subprocess.Popen, Path, Path]:
    """Start the report command in the project; stdout and stderr go to files."""
    out, err = project / f"{name}.out", project / f"{name}.err"
    env = {k: v for k, v in os.environ.items() if k != "ANALYSIS_HELPERS_VIA_MAKE"}
    cmd = [sys.executable, "-m", "analysis_helpers", "report", "--study", "config/tiny.yml"]
    proc = subprocess.Popen(
        [*cmd, "--date", date, *args],
        cwd=project,
        stdout=out.open("w"),
        stderr=err.open("w"),
        env=env,
    )
    return proc, out, err


def wait_for(predicate, timeout: float = 120.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def alive(procs: list[psutil.Process]) -> list[psutil.Process]:
    out = []
    for p in procs:
        with contextlib.suppress(psutil.Error):
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                out.append(p)
    return out


def kernels_of(pid: int) -> list[psutil.Process]:
    try:
        children = psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return []
    found = []
    for p in children:
        with contextlib.suppress(psutil.Error):
            cmd = " ".join(p.cmdline())
            # a launched kernel, or one forked from a worker's zygote (a session of its own)
            if "ipykernel" in cmd or ("_zygote" in cmd and os.getsid(p.pid) == p.pid):
                found.append(p)
    return found


def leftovers(study_dir: Path) -> list[str]:
    if not study_dir.exists():
        return []
    return sorted(p.name for p in study_dir.iterdir() if p.name.startswith((".staging", ".lock-")))


def test_runs_started_together_never_both_succeed(project):
    a, a_out, a_err = start(project, "--only", "20-second", "-p", "sleep=5", name="a")
    b, b_out, b_err = start(project, "--only", "20-second", "-p", "sleep=5", name="b")
    wait_for(lambda: "Report of study" in a_out.read_text() + b_out.read_text(), what="a lock")
    # a third run waits for the lock, then finds the report made and must not replace it;
    # a run of another date queues behind the first (they share the cleaned data) and succeeds
    c, _, c_err = start(project, "--wait", "300", name="c")
    d, d_out, _ = start(project, "--only", "10-first", name="d", date="2026-03-02")
    codes = {"a": a.wait(300), "b": b.wait(300), "c": c.wait(300), "d": d.wait(300)}
    winner, loser = ("a", "b") if codes["a"] == 0 else ("b", "a")
    assert sorted([codes["a"], codes["b"]]) == [0, 5]
    holder = {"a": a, "b": b}[winner]
    message = (project / f"{loser}.err").read_text()
    assert message.count("\n") == 1
    assert f"another run of study 'tiny' for {DATE} is in progress: pid {holder.pid} on " in message
    assert socket.gethostname() in message and ", started 20" in message
    assert "wait for it (--wait SECONDS)" in message
    # the winner's stderr is empty: no "Kernel is running over TCP without encryption",
    # no "KeyboardInterrupt caught in kernel" (kernels talk over IPC, no interrupt at shutdown)
    assert (project / f"{winner}.err").read_text() == ""
    assert codes["c"] == 2
    assert "exists already; pass --force to replace it" in c_err.read_text()
    assert codes["d"] == 0
    assert "which is using data/processed/tiny/ ..." in d_out.read_text()
    assert (project / "reports/tiny" / DATE / "run.json").is_file()
    assert leftovers(project / "reports/tiny") == []


def test_kill_9_leaves_no_process_and_the_next_run_cleans_up(project):
    proc, out, _ = start(project, "--only", "20-second", "-p", "sleep=120", name="k")
    wait_for(lambda: "analysis notebook" in out.read_text(), what="the analysis notebook")
    wait_for(lambda: kernels_of(proc.pid), what="its kernel")
    tree = psutil.Process(proc.pid).children(recursive=True)
    assert len(tree) >= 3  # workers (and multiprocessing's tracker), the kernel
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    wait_for(lambda: not alive(tree), timeout=15, what="the workers and kernels to die")
    study_dir = project / "reports/tiny"
    assert leftovers(study_dir) == [f".lock-{DATE}", f".staging-{DATE}-{proc.pid}"]
    lines: list[str] = []
    run_report(
        "config/tiny.yml",
        date=DATE,
        root=project,
        only=["10-first"],
        workers=1,
        progress=lines.append,
    )
    assert f"pid {proc.pid} on {socket.gethostname()}" in lines[0]
    assert lines[0].startswith("note: took over the lock of an earlier run")
    assert f"removed .staging-{DATE}-{proc.pid}, left by an earlier run" in lines[1]
    assert leftovers(study_dir) == []


def test_sigterm_ends_workers_and_kernels_and_removes_staging(project):
    proc, out, err = start(project, "--only", "20-second", "-p", "sleep=120", name="t")
    wait_for(lambda: "analysis notebook" in out.read_text(), what="the analysis notebook")
    wait_for(lambda: kernels_of(proc.pid), what="its kernel")
    tree = psutil.Process(proc.pid).children(recursive=True)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(60) == 143
    wait_for(lambda: not alive(tree), timeout=15, what="the workers and kernels to die")
    assert err.read_text() == (
        "error: stopped by SIGTERM: the notebooks were ended and the unfinished report removed\n"
    )
    assert leftovers(project / "reports/tiny") == []


def test_stuck_cell_times_out_like_a_failure(project):
    with pytest.raises(NotebookTimeout) as info:
        run_report(
            "config/tiny.yml",
            date=DATE,
            root=project,
            only=["20-second"],
            workers=1,
            timeout=2,
            parameters={"sleep": 600},
            progress=lambda _: None,
        )
    assert info.value.exit_code == 4
    assert (
        "20-second timed out in cell 4 (execution count 3): stopped at the time limit of 2 s "
        "per notebook (--timeout SECONDS, or runner.notebook_timeout in the study file)"
    ) in str(info.value)
    study_dir = project / "reports/tiny"
    assert [p.name[:18] for p in study_dir.iterdir() if ".failed-" in p.name] == [f"{DATE}.failed-"]
    assert not kernels_of(os.getpid()) and leftovers(study_dir) == []


def test_run_time_limit(project):
    project.joinpath("config/tiny.yml").open("a").write("runner: {run_timeout: 2}\n")
    with pytest.raises(NotebookTimeout) as info:
        run_report(
            "config/tiny.yml",
            date=DATE,
            root=project,
            only=["20-second"],
            workers=1,
            progress=lambda _: None,
        )
    assert "not run: the run's time limit of 2 s was reached first: 20-second" in str(info.value)


# --------------------------------------------------------------------------------------
# Read-only folder and full disk: small tmpfs mounts
# --------------------------------------------------------------------------------------
@pytest.fixture
def tmpfs(tmp_path):
    """mount(size, readonly=False) -> a fresh tmpfs; unmounted at the end."""
    mounted: list[Path] = []

    def mount(size: str, *, readonly: bool = False) -> Path:
        if os.geteuid() != 0:
            pytest.skip("mounting a tmpfs needs root (mount -t tmpfs)")
        where = tmp_path / f"mnt-{uuid.uuid4().hex[:6]}"
        where.mkdir()
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
        mounted.append(where)
        (where / "reports/tiny/2026-01-01").mkdir(parents=True)  # an older report
        if readonly:
            subprocess.run(["mount", "-o", "remount,ro", str(where)], check=True)
        return where

    yield mount
    for where in mounted:
        subprocess.run(["umount", "-l", str(where)], check=False)


def test_read_only_reports_folder(project, tmpfs, tmp_path, monkeypatch, capsys):
    if os.geteuid() == 0:
        targets = [tmpfs("1m", readonly=True) / "reports"]
        reason = "Read-only file system"
    else:  # a normal user: permissions do it
        folder = tmp_path / "ro"
        (folder / "reports/tiny").mkdir(parents=True)
        folder.joinpath("reports").chmod(0o555)
        targets, reason = [folder / "reports"], "Permission denied"
    targets.append(targets[0] / "new")  # a reports folder that is yet to be made
    monkeypatch.chdir(project)
    for reports in targets:
        code = main(["report", "--study", "config/tiny.yml", "--date", DATE, "--out", str(reports)])
        err = capsys.readouterr().err
        assert code == 6, err
        assert err.count("\n") == 1 and err.startswith("error: could not ")
        assert reason in err and "nothing was left behind" in err and "(--out DIR)" in err
    assert sorted(p.name for p in targets[0].iterdir()) == ["tiny"]


@pytest.mark.parametrize("fill", [64 * 1024, 0], ids=["pages", "notebook"])
def test_disk_full(project, tmpfs, fill):
    """The disk fills while the pages and run.json are written (64 KB left after the
    notebooks), or inside a notebook (nothing left): one line, exit 6, nothing left."""
    reports = tmpfs("4m") / "reports"
    with pytest.raises(ReportOSError) as info:
        run_report(
            "config/tiny.yml",
            date=DATE,
            out=reports,
            root=project,
            only=["10-first"],
            workers=1,
            parameters={"fill": fill},
            progress=lambda _: None,
        )
    msg = str(info.value)
    assert info.value.exit_code == 6 and "\n" not in msg
    assert "No space left on device" in msg and msg.endswith("nothing was left behind")
    if fill:
        assert msg.startswith("could not write the report page ")
    study_dir = reports / "tiny"
    assert sorted(p.name for p in study_dir.iterdir()) == [".lock", "2026-01-01"]
    assert not kernels_of(os.getpid())
