"""The package as a whole: its version, and every module imports on its own."""

from __future__ import annotations

import importlib
import pkgutil
import tomllib
import warnings
from pathlib import Path

import pytest

import analysis_helpers

ROOT = Path(__file__).resolve().parents[1]


def test_version_is_the_declared_version():
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert analysis_helpers.__version__ == declared["project"]["version"]


MODULES = sorted(
    m.name
    for m in pkgutil.walk_packages(analysis_helpers.__path__, "analysis_helpers.")
    if m.name not in {"analysis_helpers.__main__", "analysis_helpers.scorecard"}
)


@pytest.mark.parametrize("name", MODULES)
def test_module_imports_without_deprecation_warnings(name):
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        importlib.import_module(name)


@pytest.mark.parametrize(
    "notebook", sorted(p.name for p in (ROOT / "notebooks").glob("[0-9]*.ipynb"))
)
def test_every_notebook_parameter_has_one_line_and_its_help(notebook):
    # `papermill --help-notebook` reads the help from the comment on the parameter's line:
    # a parameter that the formatter wrapped over several lines loses its help
    import nbformat
    from papermill.inspection import inspect_notebook

    path = ROOT / "notebooks" / notebook
    params = inspect_notebook(str(path))
    assert params, notebook
    for name, p in params.items():
        assert (p["help"] or "").strip(), (notebook, name)
        assert not str(p["default"]).startswith("("), (notebook, name, p["default"])
    nb = nbformat.read(path, as_version=4)
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    lines = [ln for ln in cell.source.splitlines() if ln.strip()]
    assert len(lines) == len(params), (notebook, lines)
