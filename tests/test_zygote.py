"""Pre-warmed kernels (analysis_helpers._zygote): a kernel forked from the worker's zygote
runs code like a launched one, in a session of its own, with the libraries already imported
and its own environment and folder; anything unexpected falls back to the ordinary launch."""

from __future__ import annotations

import asyncio
import os
import sys
import time

import pytest

from analysis_helpers import _runctl, runner
from analysis_helpers._zygote import ForkedKernel, Zygote

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this system")


class _Spec:
    def __init__(self, argv: list[str]) -> None:
        self.argv = argv


def _with_argv(monkeypatch, argv: list[str]) -> None:
    from jupyter_client import kernelspec

    monkeypatch.setattr(
        kernelspec.KernelSpecManager, "get_kernel_spec", lambda self, n: _Spec(argv)
    )


def test_only_this_interpreters_kernel_of_the_usual_shape_gets_a_zygote(monkeypatch):
    tail = ["-m", "ipykernel_launcher", "-f", "{connection_file}"]
    assert Zygote.start(None, []) is None
    _with_argv(monkeypatch, ["/usr/bin/some-other-python", *tail])
    assert Zygote.start("k", []) is None
    _with_argv(monkeypatch, [sys.executable, "-m", "other_kernel", "-f", "{connection_file}"])
    assert Zygote.start("k", []) is None
    _with_argv(monkeypatch, [sys.executable, *tail])
    monkeypatch.setenv("ANALYSIS_HELPERS_NO_ZYGOTE", "1")
    assert Zygote.start("k", []) is None


def test_a_command_of_another_shape_is_launched_as_usual():
    z = Zygote.__new__(Zygote)  # not started: launch must decline before asking it
    z.argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    z.prefix = ["launcher", "123"]
    assert z.launch(["other", *z.argv[:-1], "/c.json"], {}, None) is None
    assert z.launch(["launcher", "123", "python9", "-f", "/c.json"], {}, None) is None


def test_a_forked_kernel_ends_like_a_process():
    import subprocess

    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    k = ForkedKernel(proc.pid)
    assert k.poll() is None
    k.kill()
    proc.wait(timeout=10)  # reaped by its parent, as the zygote reaps its kernels
    assert k.wait(timeout=5) == 0
    assert k.poll() == 0


async def _run_in_kernel(km_class: type, cwd: str, code: str) -> tuple[str, int]:
    km = km_class(kernel_name=runner.KERNEL_NAME)
    await km.start_kernel(cwd=cwd, env={**os.environ, "ZYGOTE_TEST": "yes"})
    pid = km.provisioner.pid
    kc = km.client()
    kc.start_channels()
    try:
        await kc.wait_for_ready(timeout=60)
        out: list[str] = []

        def keep(msg: dict) -> None:
            if msg["msg_type"] == "stream":
                out.append(msg["content"]["text"])

        reply = await kc.execute_interactive(code, output_hook=keep, timeout=60)
        assert reply["content"]["status"] == "ok", reply["content"]
    finally:
        kc.stop_channels()
        await km.shutdown_kernel(now=False)
    return "".join(out), pid


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux process model")
def test_a_kernel_forked_from_the_zygote_runs_code_in_its_own_session(tmp_path):
    from jupyter_client.kernelspec import KernelSpecManager

    if runner.KERNEL_NAME not in KernelSpecManager().find_kernel_specs():
        pytest.skip("the project kernel is not registered (make env)")
    zygote = Zygote.start(runner.KERNEL_NAME, _runctl.deathsig_prefix())
    if zygote is None:
        pytest.skip("the registered kernel is another interpreter's")
    runner._WORKER["zygote"] = zygote
    runner._WORKER["runtime"] = str(tmp_path)
    try:
        code = (
            "import os, sys\n"
            "print('pandas' in sys.modules, os.getpgid(0) == os.getpid(), os.getcwd(),\n"
            "      os.environ.get('ZYGOTE_TEST'), os.getppid())\n"
        )
        t = time.monotonic()
        text, pid = asyncio.run(_run_in_kernel(runner._kernel_manager_class(), str(tmp_path), code))
        assert time.monotonic() - t < 60
    finally:
        runner._WORKER["zygote"] = None
        zygote.close()
    preloaded, own_group, cwd, env, parent = text.split()
    assert (preloaded, own_group, cwd, env) == ("True", "True", str(tmp_path), "yes")
    assert int(parent) == zygote.proc.pid  # a fork of the zygote, not a launched process
    deadline = time.monotonic() + 10
    while _runctl.pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _runctl.pid_alive(pid)  # shut down and reaped
