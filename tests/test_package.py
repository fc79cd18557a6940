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
