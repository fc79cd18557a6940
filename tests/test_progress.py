"""Progress bars of long work (analysis_helpers._progress): quiet unless at a terminal or asked."""

from __future__ import annotations

import io
import sys

import pytest

from analysis_helpers import _progress
from analysis_helpers._progress import PROGRESS_ENV, bar, steps, wanted


@pytest.fixture
def terminal(monkeypatch):
    """Standard error is a terminal (a StringIO that says so); no CI, no setting."""
    stream = io.StringIO()
    stream.isatty = lambda: True  # type: ignore[method-assign]
    monkeypatch.setattr(sys, "__stderr__", stream)
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv(PROGRESS_ENV, raising=False)
    monkeypatch.setattr(_progress, "_in_kernel", lambda: False)
    return stream


def test_bars_at_a_terminal_only_outside_ci_and_kernels(terminal, monkeypatch):
    assert wanted() is True
    monkeypatch.setenv("CI", "true")
    assert wanted() is False
    assert wanted(True) is True  # asked wins
    monkeypatch.setenv(PROGRESS_ENV, "1")  # report --progress sets this for its kernels
    assert wanted() is True
    monkeypatch.delenv("CI")
    monkeypatch.setenv(PROGRESS_ENV, "0")
    assert wanted() is False
    monkeypatch.delenv(PROGRESS_ENV)
    monkeypatch.setattr(_progress, "_in_kernel", lambda: True)  # the bar would be on the page
    assert wanted() is False
    monkeypatch.setattr(_progress, "_in_kernel", lambda: False)
    terminal.isatty = lambda: False  # cron, a log file, make's grouped output
    assert wanted() is False


class _Bar:
    """Stands in for tqdm: records the total, the updates and the closing."""

    def __init__(self, total, desc, unit):
        self.total, self.desc, self.unit, self.n, self.closed = total, desc, unit, 0, False

    def update(self, n=1):
        self.n += n

    def close(self):
        self.closed = True


@pytest.fixture
def bars(terminal, monkeypatch):
    made: list[_Bar] = []
    monkeypatch.setattr(_progress, "_tqdm", lambda *a: made.append(_Bar(*a)) or made[-1])
    return made


def test_steps_counts_units_and_yields_the_items_unchanged(bars):
    items = list(steps(range(0, 1000, 300), desc="boot", unit="replicate", scale=300, total=1000))
    assert items == [0, 300, 600, 900]
    # 4 chunks of 300 replicates, the last one counted as the 100 it holds
    assert (bars[0].desc, bars[0].unit, bars[0].n, bars[0].total) == (
        "boot",
        "replicate",
        1000,
        1000,
    )
    assert bars[0].closed
    assert list(steps("abc", desc="cleaning", unit="item")) == ["a", "b", "c"]
    assert (bars[1].n, bars[1].total) == (3, 3)  # the total from len()


def test_bar_advances_by_what_the_block_reports(bars):
    with bar(total=10, desc="rows cleaned", unit="row") as done:
        done(4)
        done(6)
    assert (bars[0].n, bars[0].total, bars[0].closed) == (10, 10, True)


def test_a_real_bar_is_drawn_on_standard_error(terminal):
    list(steps(range(3), desc="bootstrap"))
    assert "bootstrap" in terminal.getvalue()


def test_quiet_steps_and_bar_write_nothing(terminal):
    terminal.isatty = lambda: False
    assert list(steps([1, 2], desc="x")) == [1, 2]
    with bar(total=10, desc="rows") as done:
        done(4)
        done(6)
    assert terminal.getvalue() == ""
