"""Process and file machinery of the report runner (private).

- :class:`FileLock`: an exclusive ``flock`` on a small file that records its holder (pid,
  host, start time). The kernel releases the lock when the holder dies, however it dies,
  so a lock left by a killed run is free and is taken over; what the file still says about
  the dead holder is handed back so the runner can clean up after it.
- :func:`die_with_parent`: a worker process ends when the runner ends, even by SIGKILL
  (``prctl(PR_SET_PDEATHSIG)`` on Linux, and a watchdog thread everywhere).
- :func:`deathsig_prefix`: a command prefix that gives a kernel the same fate on Linux.
- :func:`kill_tree`: end processes and everything they started.
- :func:`rename_noreplace` / :func:`exchange`: moves that never replace a folder by
  accident (``renameat2`` on Linux, with a checked fallback elsewhere).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

__all__ = [
    "FileLock",
    "LockBusy",
    "die_with_parent",
    "deathsig_prefix",
    "kill_tree",
    "pid_alive",
    "rename_noreplace",
    "exchange",
]

_PR_SET_PDEATHSIG = 1
_AT_FDCWD = -100
_RENAME_NOREPLACE = 1
_RENAME_EXCHANGE = 2

#: run by ``python -I -S -c`` between fork and the kernel: ask Linux to kill this process
#: when its parent (the worker) dies, give up if the worker is already gone, then become
#: the kernel (exec keeps the parent-death signal)
_LAUNCHER = (
    "import ctypes, os, signal, sys\n"
    "ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)\n"
    "if os.getppid() != int(sys.argv[1]):\n"
    "    os._exit(1)\n"
    "os.execvp(sys.argv[2], sys.argv[2:])\n"
)


def _libc() -> Any | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:  # pragma: no cover - no C library to load
        return None


# --------------------------------------------------------------------------------------
# Processes
# --------------------------------------------------------------------------------------
def die_with_parent(parent_pid: int, *, on_orphan: Callable[[], None] | None = None) -> None:
    """End this process as soon as the process ``parent_pid`` is no longer its parent.

    On Linux the kernel sends SIGKILL at the parent's death (``PR_SET_PDEATHSIG``); a
    daemon thread also polls the parent every half second (the only guard elsewhere), calls
    ``on_orphan`` (e.g. to end a kernel) and exits.
    """
    libc = _libc()
    if libc is not None:
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent_pid:  # the parent died before the request was made
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(0.5)
        if on_orphan is not None:
            with contextlib.suppress(Exception):
                on_orphan()
        os._exit(1)

    threading.Thread(target=watch, name="die-with-parent", daemon=True).start()


def deathsig_prefix() -> list[str]:
    """Return a command prefix that kills the command when this process dies (on Linux).

    Elsewhere the prefix is empty.
    """
    if _libc() is None:
        return []
    return [sys.executable, "-I", "-S", "-c", _LAUNCHER, str(os.getpid())]


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists (zombies count as ended)."""
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except (psutil.NoSuchProcess, psutil.AccessDenied, ValueError):
        return False


def kill_tree(pids: Iterable[int], *, timeout: float = 5.0) -> None:
    """SIGKILL the processes ``pids`` and all their descendants, and wait until they are gone.

    Wait at most ``timeout`` seconds. Descendants are collected before anything is killed,
    so children in sessions of their own (Jupyter kernels) are found too.
    """
    import psutil

    procs: list[psutil.Process] = []
    for pid in pids:
        try:
            p = psutil.Process(pid)
            procs.extend([p, *p.children(recursive=True)])
        except psutil.Error:
            continue
    for p in procs:
        with contextlib.suppress(psutil.Error):
            p.kill()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(pid_alive(p.pid) for p in procs):
        time.sleep(0.05)


# --------------------------------------------------------------------------------------
# Locks
# --------------------------------------------------------------------------------------
class LockBusy(Exception):
    """The lock is held by another process; ``holder`` is what its file says (or None)."""

    def __init__(self, path: Path, holder: dict[str, Any] | None) -> None:
        super().__init__(str(path))
        self.path = path
        self.holder = holder


def _read_info(data: bytes) -> dict[str, Any] | None:
    try:
        info = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    return info if isinstance(info, dict) else None


class FileLock:
    """An exclusive lock on ``path`` that records who holds it.

    Parameters
    ----------
    path : Path
        The lock file (created if missing).
    info : dict
        What the holder writes into the file (JSON): pid, host, start time, ...
    unlink : bool
        Remove the file on release (safe: a waiter checks that the file it locked is
        still the one at ``path``).
    """

    def __init__(self, path: Path, info: dict[str, Any], *, unlink: bool = False) -> None:
        self.path = Path(path)
        self.info = info
        self.unlink = unlink
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def holder(self) -> dict[str, Any] | None:
        """Return what the lock file says about its holder (None if it says nothing)."""
        try:
            return _read_info(self.path.read_bytes())
        except OSError:
            return None

    def acquire(
        self, wait: float = 0.0, *, on_wait: Callable[[dict | None], None] | None = None
    ) -> dict[str, Any] | None:
        """Take the lock, waiting at most ``wait`` seconds.

        Returns
        -------
        dict or None
            What the file said about an earlier holder that ended without releasing the
            lock (a stale lock, now taken over), else None.

        Raises
        ------
        LockBusy
            Another process still holds the lock after ``wait`` seconds.
        OSError
            The file cannot be created or locked (permissions, read-only, no locks).
        """
        deadline = time.monotonic() + max(0.0, wait)
        told = False
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                os.close(fd)
                if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    raise
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise LockBusy(self.path, self.holder()) from None
                if on_wait is not None and not told:
                    on_wait(self.holder())
                    told = True
                time.sleep(min(0.2, remaining))
                continue
            try:
                same = os.stat(self.path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if not same:  # the holder removed the file as we waited: lock the new one
                os.close(fd)
                continue
            try:
                previous = _read_info(os.pread(fd, 1 << 16, 0))
                data = json.dumps(self.info).encode("utf-8")
                os.ftruncate(fd, 0)
                os.pwrite(fd, data, 0)
            except OSError:
                os.close(fd)
                raise
            self._fd = fd
            return previous

    def release(self) -> None:
        """Give the lock up (idempotent); the file is removed or emptied first."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            if self.unlink:
                with contextlib.suppress(OSError):
                    os.unlink(self.path)
            else:
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, 0)
        finally:
            os.close(fd)


# --------------------------------------------------------------------------------------
# Renames
# --------------------------------------------------------------------------------------
def _renameat2(src: Path, dst: Path, flags: int) -> bool:
    """``renameat2``; False when the system or the filesystem cannot do it."""
    libc = _libc()
    fn = getattr(libc, "renameat2", None) if libc is not None else None
    if fn is None:
        return False
    if fn(_AT_FDCWD, os.fsencode(src), _AT_FDCWD, os.fsencode(dst), flags) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(dst))


def rename_noreplace(src: Path, dst: Path) -> None:
    """Move ``src`` to ``dst``; FileExistsError if ``dst`` exists (atomically on Linux)."""
    if _renameat2(src, dst, _RENAME_NOREPLACE):
        return
    if os.path.lexists(dst):  # fallback: callers hold the lock of ``dst``
        raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(dst))
    os.rename(src, dst)


def exchange(a: Path, b: Path) -> bool:
    """Swap two existing paths atomically; False when the system cannot."""
    return _renameat2(a, b, _RENAME_EXCHANGE)
