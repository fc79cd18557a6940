"""The public functions that implement a published method cite it and show it at work.

Each has a ``References`` section and an ``Examples`` section; the examples run as
doctests with the unit tests (``--doctest-modules`` in pyproject.toml).
"""

from __future__ import annotations

import importlib
import inspect
import re

import pytest

PUBLISHED = {
    "analysis_helpers.estimation": [
        "survey_mean",
        "survey_total",
        "survey_proportion",
        "survey_ratio",
        "survey_var",
        "domain_difference",
        "survey_ttest",
        "survey_chisq",
        "survey_glm",
        "sample_profile",
    ],
    "analysis_helpers.kpis": [
        "top_box",
        "nps",
        "nps_difference",
        "ces",
        "csi",
        "cronbach_alpha",
    ],
    "analysis_helpers.weighting": ["rake", "weighting_report"],
    "analysis_helpers.trend": ["adjust_p", "wave_over_wave", "operational_link"],
    "analysis_helpers.drivers.importance": ["importance_from_correlation", "driver_importance"],
    "analysis_helpers.drivers.ipa": ["importance_performance"],
    "analysis_helpers.drivers.penalty_reward": ["penalty_reward"],
    "analysis_helpers.pls.fit": [
        "fit_pls",
        "PLSFit.htmt",
        "PLSFit.goodness_of_fit",
        "PLSFit.reliability",
    ],
    "analysis_helpers.pls.index": ["index_weights", "construct_index", "ipma"],
    "analysis_helpers.pls.bootstrap": ["percentile_interval", "bca_interval"],
}

CASES = [(m, name) for m, names in PUBLISHED.items() for name in names]


def _section(doc: str, title: str) -> str:
    m = re.search(rf"^{title}\n-+\n(.*?)(?=^\w[\w ]*\n-+\n|\Z)", doc, flags=re.M | re.S)
    return m.group(1).strip() if m else ""


@pytest.mark.parametrize(("module", "name"), CASES, ids=[f"{m}.{n}" for m, n in CASES])
def test_published_method_cites_and_shows(module, name):
    obj = importlib.import_module(module)
    for part in name.split("."):
        obj = getattr(obj, part)
    doc = inspect.getdoc(obj) or ""
    refs = _section(doc, "References")
    assert re.search(r"\(\d{4}\)", refs), f"{module}.{name}: no References with a year"
    examples = _section(doc, "Examples")
    assert ">>> " in examples, f"{module}.{name}: no Examples with a doctest"
