"""Pre-warmed Jupyter kernels: one process imports the libraries once, kernels fork from it.

Every report notebook imports the same libraries (pandas, scipy, matplotlib, pyarrow,
pydantic, the package itself, ipykernel): 2-6 s of CPU per kernel, most of a demo report's
time. Each report worker therefore starts one *zygote* as soon as it starts: a process
running the kernel's own interpreter (the kernel spec's command) that imports those
modules (the cleaning page's first, the rest between requests) and waits. A kernel is then a ``fork`` of the zygote that becomes an IPython kernel
on the connection file the kernel manager wrote: it starts in milliseconds with the
modules in memory, and the notebook runs exactly as in a freshly launched kernel (its own
session and process group, its own working folder and environment, the same connection
file, parent-death signal).

Only modules without import-time side effects on the kernel are preloaded; the matplotlib
inline backend is not (it hooks into the kernel's shell when first imported). The zygote
holds no threads (BLAS pools are limited to one thread while it imports; each kernel sets
its own limit from its environment) and reaps ended kernels at once. Anything unexpected (another interpreter, a kernel command of another shape, a zygote
that died) falls back to the ordinary launch.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from typing import Any

__all__ = ["Zygote", "ForkedKernel", "PRELOAD"]

#: modules every notebook kernel needs (imported once per worker, in the zygote); those up to
#: the cleaning page's are imported before the first kernel, the others between requests
PRELOAD = (
    "ipykernel.kernelapp",
    "ipykernel.ipkernel",
    "numpy",
    "pandas",
    "pyarrow",
    "pyarrow.compute",
    "pyarrow.parquet",
    "scipy.stats",
    "scipy.sparse",
    "matplotlib.pyplot",
    "seaborn",
    "pydantic",
    "yaml",
    "threadpoolctl",
    "mistune",
    "analysis_helpers.notebook",
    "analysis_helpers.cleaning",
    "analysis_helpers.cleaning_plots",
    "analysis_helpers.describe",
    "analysis_helpers.describe_plots",
    "analysis_helpers.study_tables",
    "analysis_helpers.trend_report",
    "analysis_helpers.trend_plots",
    "analysis_helpers.linkage",
    "analysis_helpers.actions",
    "analysis_helpers.cross",
    "analysis_helpers.cross_plots",
    "analysis_helpers.banners",
    "analysis_helpers.driver_report",
    "analysis_helpers.driver_plots",
    "analysis_helpers.drivers",
    "analysis_helpers.index_report",
    "analysis_helpers.pls",
    "analysis_helpers.pls.summary",
    "analysis_helpers.pls_plots",
    "analysis_helpers.comments",
    "analysis_helpers.voice_report",
    "analysis_helpers.summary",
)
_FIRST = PRELOAD.index("analysis_helpers.cleaning_plots") + 1
_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
_TAIL = ["-m", "ipykernel_launcher", "-f", "{connection_file}"]
_CODE = "from analysis_helpers._zygote import main; main()"
_PR_SET_PDEATHSIG = 1


class ForkedKernel:
    """A kernel forked by the zygote, with the part of ``subprocess.Popen`` that Jupyter uses.

    The kernel is the zygote's child, not this process's: its end is seen as the pid being
    gone (the zygote reaps it at once).
    """

    stdin = stdout = stderr = None

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        """Return None while the kernel runs, else its exit status (unknown: 0 or -9)."""
        if self.returncode is None:
            try:
                os.kill(self.pid, 0)
            except ProcessLookupError:
                self.returncode = 0
            except PermissionError:  # the pid was reused by someone else's process
                self.returncode = 0
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        """Wait until the kernel has ended; return its status."""
        end = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if end is not None and time.monotonic() > end:
                raise subprocess.TimeoutExpired(["kernel"], timeout or 0.0)
            time.sleep(0.02)
        return self.returncode or 0

    def send_signal(self, signum: int) -> None:
        """Send ``signum`` to the kernel."""
        if self.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signum)

    def kill(self) -> None:
        """SIGKILL the kernel."""
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        """SIGTERM the kernel."""
        self.send_signal(signal.SIGTERM)


class Zygote:
    """The zygote of one worker: started at once, asked for kernels by :meth:`launch`."""

    def __init__(self, argv: list[str], prefix: list[str]) -> None:
        self.argv = argv  # the kernel spec's command, {connection_file} unfilled
        self.prefix = prefix  # what the kernel manager puts in front (parent-death launcher)
        self.sock, theirs = socket.socketpair()
        env = dict(os.environ)
        env.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
        for var in _THREAD_VARS:  # no BLAS threads in a process that forks
            env[var] = "1"
        cmd = [*prefix, *argv[: -len(_TAIL)], "-c", _CODE, str(theirs.fileno())]
        self.proc = subprocess.Popen(
            cmd, pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL, env=env
        )
        theirs.close()
        self.file = self.sock.makefile("rwb", buffering=0)
        self.ready: bool | None = None

    @classmethod
    def start(cls, kernel: str | None, prefix: list[str]) -> Zygote | None:
        """Start the zygote of the kernel spec ``kernel``; None where that cannot be done."""
        if not kernel or not hasattr(os, "fork") or os.environ.get("ANALYSIS_HELPERS_NO_ZYGOTE"):
            return None
        try:
            from jupyter_client.kernelspec import KernelSpecManager

            argv = list(KernelSpecManager().get_kernel_spec(kernel).argv)
        except Exception:
            return None
        # only this interpreter's own kernel: the zygote must import what the kernel would
        if argv[-len(_TAIL) :] != _TAIL or argv[0] != sys.executable:
            return None
        try:
            return cls(argv, prefix)
        except OSError:
            return None

    def _call(self, message: dict[str, Any]) -> dict[str, Any] | None:
        try:
            self.file.write(json.dumps(message).encode() + b"\n")
            line = self.file.readline()
        except OSError:
            return None
        return json.loads(line) if line else None

    def launch(self, cmd: list[str], env: dict[str, str], cwd: str | None) -> ForkedKernel | None:
        """Fork a kernel for the command ``cmd`` the kernel manager built; None: launch it."""
        n = len(self.prefix)
        if cmd[:n] != self.prefix:
            return None
        rest = cmd[n:]
        if len(rest) != len(self.argv) or rest[:-1] != self.argv[:-1]:
            return None
        if self.ready is None:
            reply = self._readline()
            self.ready = bool(reply and reply.get("ready"))
        if not self.ready or self.proc.poll() is not None:
            return None
        env = {**env, "JPY_PARENT_PID": str(os.getpid())}  # as jupyter_client's launcher
        reply = self._call({"connection_file": rest[-1], "env": env, "cwd": cwd})
        if not reply or "pid" not in reply:
            self.ready = False
            return None
        return ForkedKernel(int(reply["pid"]))

    def _readline(self) -> dict[str, Any] | None:
        try:
            line = self.file.readline()
        except OSError:
            return None
        return json.loads(line) if line else None

    def close(self) -> None:
        """End the zygote (kernels it forked are not touched)."""
        with contextlib.suppress(OSError):
            self.sock.close()
        with contextlib.suppress(OSError):
            self.proc.kill()
            self.proc.wait(timeout=5)


# --------------------------------------------------------------------------------------
# In the zygote
# --------------------------------------------------------------------------------------
def _prctl_deathsig() -> None:
    if sys.platform.startswith("linux"):
        import ctypes

        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _become_kernel(request: dict[str, Any], ready_fd: int, zygote: int) -> None:
    """In the forked child: take the kernel's session, folder and environment, then run it."""
    os.setsid()  # a session and process group of its own, as Jupyter launches kernels
    _prctl_deathsig()
    if os.getppid() != zygote:
        os._exit(1)
    os.write(ready_fd, b"x")
    os.close(ready_fd)
    for signum in (signal.SIGCHLD, signal.SIGTERM, signal.SIGHUP, signal.SIGPIPE):
        signal.signal(signum, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    cwd = request.get("cwd") or os.getcwd()
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(request.get("env") or {})
    threads = next((os.environ[v] for v in _THREAD_VARS if os.environ.get(v)), None)
    try:
        from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

        threadpool_limits(int(threads) if threads and threads.isdigit() else os.cpu_count())
    except Exception:  # noqa: S110 - no BLAS to limit
        pass
    sys.argv = ["ipykernel_launcher", "-f", request["connection_file"]]
    # read from the environment when ipykernel was imported (in the zygote): given again
    # (the kernel's parent is the zygote, which the kernel's poller then watches)
    if os.environ.get("JPY_PARENT_PID"):
        sys.argv.append(f"--IPKernelApp.parent_handle={os.getppid()}")
    if sys.path and sys.path[0] in ("", os.getcwd()):
        del sys.path[0]  # as ipykernel_launcher does; the kernel adds it back
    from ipykernel import kernelapp

    kernelapp.launch_new_instance()


def _import(name: str) -> None:
    import importlib

    with contextlib.suppress(Exception):
        importlib.import_module(name)
    sys.modules.pop("matplotlib_inline.backend_inline", None)  # hooks into a shell: not here


def _serve(sock: socket.socket, later: list[str]) -> None:
    """Fork a kernel per request; import the modules ``later`` while none is waiting."""
    import select

    file = sock.makefile("rwb", buffering=0)
    me = os.getpid()
    while True:
        while later and not select.select([sock], [], [], 0)[0]:
            _import(later.pop(0))
        line = file.readline()
        if not line:
            return
        request = json.loads(line)
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                os.close(r)
                file.close()
                sock.close()
                _become_kernel(request, w, me)
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
            except BaseException:
                import traceback

                traceback.print_exc()
            finally:
                with contextlib.suppress(Exception):
                    sys.stdout.flush()
                    sys.stderr.flush()
                os._exit(code)
        os.close(w)
        os.read(r, 1)  # the child has its session: signals to its group now reach it
        os.close(r)
        file.write(json.dumps({"pid": pid}).encode() + b"\n")


def _reap(signum: int, frame: Any) -> None:
    """Reap every ended kernel (waited for, so their CPU time counts as the zygote's)."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def main() -> None:
    """Run as the zygote: import :data:`PRELOAD`, then fork a kernel per request."""
    fd = int(sys.argv[-1])
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the runner decides what Ctrl-C ends
    signal.signal(signal.SIGCHLD, _reap)  # ended kernels are reaped at once
    sock = socket.socket(fileno=fd)
    for name in PRELOAD[:_FIRST]:
        _import(name)
    sock.sendall(json.dumps({"ready": True}).encode() + b"\n")
    _serve(sock, list(PRELOAD[_FIRST:]))
