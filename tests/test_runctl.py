"""The runner's process and file machinery (analysis_helpers._runctl), without notebooks:
locks and their holders, stale locks of killed processes, dying with the parent, moves that
never replace by accident."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import psutil
import pytest

from analysis_helpers import _runctl
from analysis_helpers._runctl import FileLock, LockBusy

LINUX = sys.platform.startswith("linux")


def python(code: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        stdout=subprocess.PIPE,
        text=True,
    )


def gone(pid: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _runctl.pid_alive(pid):
            return True
        time.sleep(0.05)
    return False


def test_lock_is_exclusive_and_names_its_holder(tmp_path):
    path = tmp_path / ".lock-x"
    first = FileLock(path, {"pid": 1, "host": "h", "started": "t"}, unlink=True)
    assert first.acquire() is None
    second = FileLock(path, {"pid": 2})
    t0 = time.monotonic()
    with pytest.raises(LockBusy) as info:
        second.acquire(0.3)
    assert time.monotonic() - t0 >= 0.3
    assert info.value.holder == {"pid": 1, "host": "h", "started": "t"}
    first.release()
    assert not path.exists()  # unlink=True
    assert second.acquire() is None  # a fresh file: no earlier holder
    second.release()
    assert path.read_bytes() == b""  # emptied, not removed


def test_lock_of_a_killed_process_is_taken_over(tmp_path):
    path = tmp_path / ".lock-y"
    holder = python(
        """
        import sys
        from pathlib import Path
        from analysis_helpers._runctl import FileLock
        FileLock(Path(sys.argv[1]), {"pid": 42, "note": "dead soon"}).acquire()
        print("locked", flush=True)
        import time; time.sleep(60)
        """,
        str(path),
    )
    assert holder.stdout.readline().strip() == "locked"
    with pytest.raises(LockBusy):
        FileLock(path, {}).acquire(0)
    holder.send_signal(signal.SIGKILL)
    holder.wait(10)
    lock = FileLock(path, {"pid": os.getpid()})
    assert lock.acquire(5) == {"pid": 42, "note": "dead soon"}  # what the dead one said
    assert json.loads(path.read_text()) == {"pid": os.getpid()}
    lock.release()


def test_waiter_follows_a_lock_file_removed_by_its_holder(tmp_path):
    """A holder that removes its lock file on release must not let two processes hold
    "the" lock (one on the removed file, one on a new one)."""
    path = tmp_path / ".lock-z"
    a = FileLock(path, {"who": "a"}, unlink=True)
    a.acquire()
    fd = os.open(path, os.O_RDWR)  # a waiter that opened the old file
    a.release()
    b = FileLock(path, {"who": "b"}, unlink=True)
    b.acquire()
    assert os.fstat(fd).st_ino != os.stat(path).st_ino
    os.close(fd)
    with pytest.raises(LockBusy):
        FileLock(path, {}).acquire(0)
    b.release()


@pytest.mark.skipif(not LINUX, reason="parent-death signal is Linux only")
@pytest.mark.parametrize("how", ["die_with_parent", "deathsig_prefix"])
def test_children_die_with_their_parent_after_kill_9(how):
    """A parent starts a grandchild (sleep) and is killed with SIGKILL: the grandchild dies."""
    parent = python(
        f"""
        import os, subprocess, sys, time
        from analysis_helpers import _runctl
        if {how!r} == "die_with_parent":
            code = "import os, sys, time; from analysis_helpers import _runctl; " \\
                   "_runctl.die_with_parent(int(sys.argv[1])); " \\
                   "os.execvp('sleep', ['sleep', '60'])"
            child = subprocess.Popen([sys.executable, "-c", code, str(os.getpid())])
        else:
            child = subprocess.Popen([*_runctl.deathsig_prefix(), "sleep", "60"])
        print(child.pid, flush=True)
        time.sleep(60)
        """
    )
    child = int(parent.stdout.readline())
    deadline = time.monotonic() + 30  # wait until the child is set up: it runs sleep
    while "sleep" not in " ".join(psutil.Process(child).cmdline()):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    parent.send_signal(signal.SIGKILL)
    parent.wait(10)
    assert gone(child)


def test_kill_tree_ends_children_in_sessions_of_their_own():
    parent = python(
        """
        import subprocess, time
        child = subprocess.Popen(["sleep", "60"], start_new_session=True)
        print(child.pid, flush=True)
        time.sleep(60)
        """
    )
    child = int(parent.stdout.readline())
    _runctl.kill_tree([parent.pid])
    parent.wait(10)
    assert gone(child)


@pytest.mark.parametrize("native", [True, False], ids=["renameat2", "fallback"])
def test_moves_never_replace_by_accident(tmp_path, monkeypatch, native):
    if not native:
        monkeypatch.setattr(_runctl, "_renameat2", lambda *a: False)
    src, dst = tmp_path / "new", tmp_path / "final"
    src.mkdir()
    (src / "a").write_text("new")
    dst.mkdir()  # even an empty folder, which os.rename would silently replace
    with pytest.raises(FileExistsError):
        _runctl.rename_noreplace(src, dst)
    assert (src / "a").exists()
    dst.rmdir()
    _runctl.rename_noreplace(src, dst)
    assert (dst / "a").read_text() == "new" and not src.exists()
    other = tmp_path / "other"
    other.mkdir()
    (other / "b").write_text("old")
    swapped = _runctl.exchange(other, dst)
    assert swapped is (native and LINUX)
    if swapped:
        assert (dst / "b").read_text() == "old" and (other / "a").read_text() == "new"
