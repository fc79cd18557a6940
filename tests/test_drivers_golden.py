"""Golden checks of the driver analysis: the demo study's planted truths are recovered.

The demo (``analysis_helpers.demo``, truths in ``data/raw/demo/truths.json``) plants area
weights for overall satisfaction and for loyalty, a basic factor and an excitement factor.
The analyses run here exactly as ``notebooks/50-drivers.ipynb`` runs them, on the clean
data of all waves: weighted relative weights of the 0-100 area scores, and penalty-reward
contrast analysis of the 40 items with cut-offs from each scale and Holm-adjusted tests.

All eight planted area weights are recovered in rank order (n = 9,008). Every adjacent
pair but the last is also separated by non-overlapping 95% bootstrap intervals; the last
pair (brand, planted weight 0.03, vs outlets, 0) overlaps slightly (about 3.0% vs 2.3% of
R², brand ahead in about 97% of replicates), so only its point order is asserted.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from scipy.stats import spearmanr

from analysis_helpers.cleaning import load_clean
from analysis_helpers.drivers import driver_importance, penalty_reward, scale_cutoffs
from analysis_helpers.estimation import SurveyDesign
from analysis_helpers.study import load_study
from analysis_helpers.study_tables import area_scores

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def study():
    return load_study(ROOT / "config" / "demo.yml")


@pytest.fixture(scope="module")
def data(study) -> pd.DataFrame:
    return load_clean(study)


@pytest.fixture(scope="module")
def scores(study, data) -> pd.DataFrame:
    keep = [study.kpis.overall, *study.kpis.loyalty, study.weight_column]
    return area_scores(data, study=study).join(data[keep])


def _importance(scores, study, outcome: str) -> pd.DataFrame:
    areas = [a.name for a in study.spec.areas]
    table = driver_importance(
        scores, outcome=outcome, drivers=areas, design=SurveyDesign(weight=study.weight_column), n_boot=200,
        random_state=2026,
    )  # fmt: skip
    return table.sort_values("relative_weight", ascending=False, ignore_index=True)


@pytest.fixture(scope="module")
def satisfaction(scores, study) -> pd.DataFrame:
    return _importance(scores, study, study.kpis.overall)


@pytest.fixture(scope="module")
def loyalty(scores, study, truths) -> pd.DataFrame:
    assert truths["loyalty_outcome"] == study.kpis.loyalty[0]
    return _importance(scores, study, truths["loyalty_outcome"])


def _separated(table: pd.DataFrame, upper: set[str], lower: set[str]) -> float:
    """Gap between the lowest CI bound of ``upper`` and the highest of ``lower`` (> 0 when
    every area of ``upper`` is separated from every area of ``lower``), in % of R²."""
    t = table.set_index("driver")
    return float(
        t.loc[sorted(upper), "relative_weight_pct_ci_low"].min()
        - t.loc[sorted(lower), "relative_weight_pct_ci_high"].max()
    )


def test_planted_satisfaction_drivers_are_recovered_in_rank_order(satisfaction, truths):
    planted = truths["driver_rank_overall"]
    found = satisfaction["driver"].tolist()
    assert found == planted  # all eight, in order
    # every adjacent pair but the last is backed by non-overlapping bootstrap intervals
    for upper, lower in zip(planted[:6], planted[1:7], strict=True):
        assert _separated(satisfaction, {upper}, {lower}) > 0, (upper, lower)


def test_planted_basic_and_excitement_factors_are_classified(data, study, truths):
    items = study.item_names("satisfaction")
    cuts = scale_cutoffs(study.hierarchy()).set_index("item")
    assert cuts.loc[truths["basic_factor"], "low_max"] == 2  # planted: low = <= 2 of 5
    assert cuts.loc[truths["excitement_factor"], "high_min"] == 4  # planted: high = >= 4 of 5
    for rule in ("difference", "ratio", "significance"):
        prca = penalty_reward(
            data, outcome=study.kpis.overall, drivers=items, low_max=cuts["low_max"],
            high_min=cuts["high_min"], design=SurveyDesign(weight=study.weight_column), rule=rule,
            correction=study.reporting.correction,
        ).set_index("driver")  # fmt: skip
        assert prca.loc[truths["basic_factor"], "factor_class"] == "basic", rule
        assert prca.loc[truths["excitement_factor"], "factor_class"] == "excitement", rule
    # and they are the most asymmetric items of all (difference = penalty - reward)
    assert prca["difference"].idxmax() == truths["basic_factor"]
    assert prca["difference"].idxmin() == truths["excitement_factor"]
    basic = prca.loc[truths["basic_factor"]]
    excite = prca.loc[truths["excitement_factor"]]
    assert basic["difference"] / basic["difference_se"] > 5
    assert excite["difference"] / excite["difference_se"] < -5


def test_loyalty_drivers_differ_from_satisfaction_drivers(satisfaction, loyalty, truths):
    planted = [a for a, w in sorted(truths["driver_weights_loyalty"].items(), key=lambda x: -x[1])]
    found = loyalty["driver"].tolist()
    # value and brand lead loyalty, then network and hotline, as planted
    assert found[: len(planted)] == planted
    for k in range(len(planted) - 1):
        assert _separated(loyalty, {found[k]}, {found[k + 1]}) > 0, found[k : k + 2]
    # ... while network leads satisfaction, and brand is near the bottom there
    assert satisfaction["driver"].iloc[0] != found[0]
    sat_rank = satisfaction["driver"].tolist()
    assert sat_rank.index("brand") >= 5 and found.index("brand") == 1
    both = pd.Series(range(len(found)), index=found)
    rho = spearmanr(both.loc[sat_rank], range(len(sat_rank))).statistic
    assert rho < 0.6
