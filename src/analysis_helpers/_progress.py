"""Progress bars for long work (cleaning, bootstraps, the report's notebooks), quiet by default.

Other modules call two functions and never import tqdm themselves::

    from ._progress import steps, bar

    for start in steps(range(0, n, step), desc="bootstrap", unit="replicate", scale=step):
        ...

    with bar(total=len(data), desc="cleaning", unit="row") as done:
        ...
        done(len(chunk))

Whether a bar is drawn (:func:`wanted`):

- ``ANALYSIS_HELPERS_PROGRESS=1`` (set by ``report --progress`` for its kernels) shows
  bars, ``=0`` hides them, whatever else holds;
- otherwise none in CI (a ``CI`` variable), none inside a Jupyter kernel (the bar would end
  up in the report page) and none when standard error is not a terminal (cron, logs,
  ``make -j``'s grouped output, tests): bars appear only at an interactive terminal.

Bars are written to the process's own standard error (``sys.__stderr__``): inside a
report kernel that is the runner's terminal, not the notebook's output. A disabled bar
costs one function call per update.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

__all__ = ["PROGRESS_ENV", "wanted", "steps", "bar"]

#: the environment variable that turns bars on (``1``) or off (``0``)
PROGRESS_ENV = "ANALYSIS_HELPERS_PROGRESS"

_ON = {"1", "true", "yes", "on"}
_OFF = {"0", "false", "no", "off"}
T = TypeVar("T")


def _in_kernel() -> bool:
    """Whether this process is a Jupyter kernel (its stderr is a notebook's output)."""
    return type(sys.stderr).__module__.startswith("ipykernel")


def wanted(asked: bool | None = None) -> bool:
    """Return whether progress bars are drawn in this process.

    Parameters
    ----------
    asked : bool, optional
        An explicit choice (``--progress`` / ``--no-progress``); wins over everything.

    Returns
    -------
    bool
        ``asked`` if given; else :data:`PROGRESS_ENV` if set to a yes/no value; else False
        in CI, inside a Jupyter kernel, or when standard error is not a terminal, True at
        an interactive terminal.
    """
    if asked is not None:
        return asked
    env = os.environ.get(PROGRESS_ENV, "").strip().lower()
    if env in _ON:
        return True
    if env in _OFF:
        return False
    if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
        return False
    if _in_kernel():
        return False
    stream = sys.__stderr__
    return bool(stream is not None and getattr(stream, "isatty", lambda: False)())


def _tqdm(total: float | None, desc: str, unit: str) -> Any:
    from tqdm import tqdm  # type: ignore[import-untyped]

    return tqdm(
        total=total,
        desc=desc,
        unit=unit,
        file=sys.__stderr__,
        leave=False,
        dynamic_ncols=True,
        mininterval=0.5,
    )


def steps(
    iterable: Iterable[T],
    *,
    desc: str = "",
    unit: str = "it",
    total: float | None = None,
    scale: float = 1,
    show: bool | None = None,
) -> Iterator[T]:
    """Yield the items of ``iterable``, advancing a bar by ``scale`` after each one.

    Parameters
    ----------
    iterable : iterable
        The loop's items (e.g. ``range(0, n, step)`` of a chunked loop).
    desc, unit : str
        The bar's label and unit ("bootstrap", "replicate").
    total : float, optional
        The bar's total in ``unit`` (default: ``len(iterable) * scale`` when it has one).
    scale : float
        Units per item (the chunk size of a chunked loop: the bar counts replicates).
    show : bool, optional
        Force the bar on or off (default: :func:`wanted`).

    Yields
    ------
    The items of ``iterable``, unchanged.
    """
    if not wanted(show):
        yield from iterable
        return
    if total is None and hasattr(iterable, "__len__"):
        total = len(iterable) * scale  # type: ignore[arg-type]
    progress = _tqdm(total, desc, unit)
    try:
        for item in iterable:
            yield item
            progress.update(min(scale, progress.total - progress.n) if progress.total else scale)
    finally:
        progress.close()


@contextlib.contextmanager
def bar(
    *, total: float | None = None, desc: str = "", unit: str = "it", show: bool | None = None
) -> Iterator[Callable[[float], None]]:
    """Show a bar while the block runs; the block calls the yielded function with units done.

    Parameters
    ----------
    total : float, optional
        The amount of work in ``unit`` (rows, replicates); None for a counter.
    desc, unit : str
        The bar's label and unit.
    show : bool, optional
        Force the bar on or off (default: :func:`wanted`).

    Yields
    ------
    callable
        ``done(n)`` adds ``n`` units to the bar (a no-op when no bar is drawn).
    """
    if not wanted(show):
        yield _nothing
        return
    progress = _tqdm(total, desc, unit)
    try:
        yield progress.update
    finally:
        progress.close()


def _nothing(n: float = 1) -> None:
    """Advance no bar."""
