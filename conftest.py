"""Doctest settings for the examples in ``src/analysis_helpers`` (tests have their own
``tests/conftest.py``): frames print as a wide terminal shows them, so an example's
expected output does not depend on the width pytest happens to detect."""

from __future__ import annotations

import pandas as pd
import pytest


@pytest.fixture(autouse=True)
def _doctest_display(request):
    if request.node.__class__.__name__ != "DoctestItem":
        yield
        return
    with pd.option_context("display.width", 120, "display.max_columns", 30):
        yield
