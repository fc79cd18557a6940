"""Raking and the weighting report against hand-computed 2x2 examples."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis_helpers.estimation import SurveyDesign
from analysis_helpers.weighting import RakingError, rake, weighting_report


def sample(counts: dict[tuple[str, str], int]) -> pd.DataFrame:
    rows = [(a, b) for (a, b), k in counts.items() for _ in range(k)]
    return pd.DataFrame(rows, columns=["sex", "age"])


def test_rake_independent_2x2_is_one_cycle_cell_weights(close):
    # independent sample table (odds ratio 1): raking gives w = N r_i c_j / count_ij
    data = sample({("m", "y"): 10, ("m", "o"): 30, ("f", "y"): 20, ("f", "o"): 60})
    w = rake(data, margins={"sex": {"m": 0.5, "f": 0.5}, "age": {"y": 0.6, "o": 0.4}}, tol=1e-12)
    cell = w.groupby([data["sex"], data["age"]]).first()
    close(cell[("m", "y")], 120 * 0.5 * 0.6 / 10)
    close(cell[("m", "o")], 120 * 0.5 * 0.4 / 30)
    close(cell[("f", "y")], 120 * 0.5 * 0.6 / 20)
    close(cell[("f", "o")], 120 * 0.5 * 0.4 / 60)
    assert w.name == "weight" and w.index.equals(data.index)


def test_rake_2x2_keeps_the_odds_ratio(close):
    # raking meets the margins and preserves the sample odds ratio (closed form below)
    counts = {("m", "y"): 30, ("m", "o"): 10, ("f", "y"): 20, ("f", "o"): 40}
    data = sample(counts)
    r1, c1 = 0.45, 0.35
    w = rake(
        data,
        margins={"sex": {"m": r1, "f": 1 - r1}, "age": {"y": c1, "o": 1 - c1}},
        tol=1e-12,
        max_iter=1000,
    )
    odds = (30 * 40) / (10 * 20)
    # p11 (1 - r1 - c1 + p11) = odds (r1 - p11)(c1 - p11): a quadratic in p11
    a = 1 - odds
    b = (1 - r1 - c1) + odds * (r1 + c1)
    c = -odds * r1 * c1
    p11 = (-b + np.sqrt(b * b - 4 * a * c)) / (2 * a)
    share = w.groupby([data["sex"], data["age"]]).sum() / w.sum()
    close(share[("m", "y")], p11, rtol=1e-9)
    close(share[("m", "o")], r1 - p11, rtol=1e-9)
    close(share[("f", "y")], c1 - p11, rtol=1e-9)
    close(w.sum(), len(data))


def test_rake_counts_base_weight_and_no_mutation(close):
    data = sample({("m", "y"): 10, ("m", "o"): 30, ("f", "y"): 20, ("f", "o"): 60})
    data["d"] = np.where(data["sex"] == "m", 2.0, 1.0)
    before = data.copy()
    w = rake(
        data,
        margins={"sex": {"m": 5000, "f": 5000}, "age": {"y": 7000, "o": 3000}},
        design=SurveyDesign(weight="d"),
        tol=1e-12,
    )
    close(w.sum(), 10000)
    close(w.groupby(data["age"]).sum()[["y", "o"]], [7000, 3000])
    pd.testing.assert_frame_equal(data, before)


def test_rake_trimming_bounds_hold(close):
    rng = np.random.default_rng(5)
    n = 400
    data = pd.DataFrame(
        {
            "a": rng.choice(["p", "q"], n, p=[0.8, 0.2]),
            "b": rng.choice(["u", "v", "x"], n, p=[0.6, 0.3, 0.1]),
        }
    )
    margins = {"a": {"p": 0.55, "q": 0.45}, "b": {"u": 0.4, "v": 0.35, "x": 0.25}}
    free = rake(data, margins=margins)
    trimmed = rake(data, margins=margins, trim=(0.3, 4.0), max_iter=1000)
    ratio = trimmed / trimmed.mean()
    assert ratio.max() <= 4.0 * (1 + 1e-9) and ratio.min() >= 0.3 * (1 - 1e-9)
    assert (free / free.mean()).max() > 6
    close(trimmed.groupby(data["a"]).sum()[["p", "q"]] / n, [0.55, 0.45], atol=1e-6)
    with pytest.raises(RakingError, match="did not converge in 50 iterations.*too tight"):
        rake(data, margins=margins, trim=(0.9, 1.1), max_iter=50)


def test_rake_errors():
    data = sample({("m", "y"): 3, ("f", "o"): 3})
    good = {"sex": {"m": 0.5, "f": 0.5}, "age": {"y": 0.5, "o": 0.5}}
    with pytest.raises(RakingError, match="margin 'age': sample category 'o' has no margin"):
        rake(data, margins={"sex": good["sex"], "age": {"y": 1.0}})
    with pytest.raises(RakingError, match="category 'z' has a target but no respondents"):
        rake(data, margins={"sex": good["sex"], "age": {"y": 0.4, "o": 0.4, "z": 0.2}})
    with pytest.raises(KeyError, match="margin column 'region' is not in the data"):
        rake(data, margins={"region": {"n": 1.0}})
    with pytest.raises(RakingError, match="margin column 'sex': row 2 is missing"):
        rake(data.assign(sex=data["sex"].where(data.index != 2)), margins=good)
    with pytest.raises(RakingError, match="category 'm' has target -0.5"):
        rake(data, margins={"sex": {"m": -0.5, "f": 1.5}})
    with pytest.raises(RakingError, match="must share one population total"):
        rake(data, margins={"sex": {"m": 50, "f": 50}, "age": {"y": 60, "o": 60}})
    with pytest.raises(RakingError, match="rake: weight column 'd' has the value 0.0 in row 1"):
        rake(data.assign(d=[1.0, 0, 1, 1, 1, 1]), margins=good, design=SurveyDesign(weight="d"))
    with pytest.raises(KeyError, match="base weight column 'd' is not in the data"):
        rake(data, margins=good, design=SurveyDesign(weight="d"))
    with pytest.raises(RakingError, match="margins is empty"):
        rake(data, margins={})
    with pytest.raises(ValueError, match="trim must be \\(lo, hi\\)"):
        rake(data, margins=good, trim=(2.0, 3.0))
    # a design the margins cannot reach: sex and age are the same split in the sample
    with pytest.raises(RakingError, match="did not converge"):
        rake(data, margins={"sex": {"m": 0.5, "f": 0.5}, "age": {"y": 0.9, "o": 0.1}}, max_iter=20)


def test_weighting_report_by_hand(close):
    t = weighting_report(pd.Series([1.0, 1, 2, 4]))
    r = t.iloc[0]
    assert r["weights"] == "weights" and r["n"] == 4
    close([r["sum"], r["mean"], r["min"], r["max"], r["ratio_max_min"]], [8, 2, 1, 4, 4])
    close(r["n_effective"], 64 / 22)
    close(r["efficiency"], 64 / 22 / 4)
    close(r["deff_weighting"], 4 * 22 / 64)
    close(r["deff_weighting"], 1 + r["cv"] ** 2)
    both = weighting_report(pd.Series([1.0, 1, 2, 4]), before=pd.Series([1.0, 1, 1, 1]))
    assert both["weights"].tolist() == ["before", "after"]
    close(both["deff_weighting"].iloc[0], 1.0)
    with pytest.raises(
        ValueError, match="weighting_report: weights weights has the value -1.0 at position 1"
    ):
        weighting_report(pd.Series([1.0, -1.0]))
    with pytest.raises(ValueError, match="after weights are empty"):
        weighting_report(pd.Series([], dtype=float), before=pd.Series([1.0]))
