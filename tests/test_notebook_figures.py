"""A saved figure is not drawn a second time for the page (notebook._show_saved_png)."""

from __future__ import annotations

import base64

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from IPython.core.interactiveshell import InteractiveShell  # noqa: E402
from IPython.core.pylabtools import select_figure_formats  # noqa: E402

from analysis_helpers import notebook  # noqa: E402


@pytest.fixture
def shell(monkeypatch):
    """An IPython shell with the inline backend's PNG formatter (base64 PNG of a Figure)."""
    sh = InteractiveShell.instance()
    select_figure_formats(sh, {"png"})
    monkeypatch.setattr("IPython.get_ipython", lambda: sh)
    yield sh
    InteractiveShell.clear_instance()


def _png(sh, fig):
    return sh.display_formatter.formatters["image/png"](fig)


def test_the_page_shows_the_saved_png_until_the_figure_changes(shell, tmp_path):
    fig, ax = plt.subplots()
    ax.bar(["a", "b"], [1, 2])
    ax.set_title("Satisfaction")
    path = tmp_path / "f.png"
    fig.savefig(path)
    notebook._show_saved_png(fig, path)
    saved = base64.b64encode(path.read_bytes()).decode("ascii")
    assert _png(shell, fig) == saved  # the file's bytes, not a second drawing
    ax.set_title("Changed after saving")
    again = _png(shell, fig)
    assert again != saved and base64.b64decode(again)[:8] == b"\x89PNG\r\n\x1a\n"
    # a figure never saved is drawn as before
    other, ax2 = plt.subplots()
    ax2.plot([1, 2])
    assert base64.b64decode(_png(shell, other))[:4] == b"\x89PNG"
    plt.close("all")


def test_retina_pages_are_left_alone(shell, tmp_path):
    select_figure_formats(shell, {"retina"})  # twice the resolution: the file would not do
    fig, ax = plt.subplots()
    ax.plot([1, 2])
    path = tmp_path / "f.png"
    fig.savefig(path)
    notebook._show_saved_png(fig, path)
    assert not hasattr(fig, notebook._SAVED_PNG)
    plt.close("all")
