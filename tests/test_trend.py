"""Wave-over-wave change: hand-computed z tests and Holm adjustment."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from analysis_helpers.trend import adjust_p, turning_points, wave_over_wave


@pytest.fixture
def table():
    return pd.DataFrame(
        {
            "kpi": ["a", "a", "a", "b", "b", "b"],
            "wave": ["w2", "w1", "w3", "w1", "w2", "w3"],
            "estimate": [7.0, 7.5, 7.1, 40.0, 41.0, 30.0],
            "se": [0.1, 0.1, 0.2, 2.0, 2.0, 2.5],
        }
    )


def test_changes_by_hand(table):
    out = wave_over_wave(table, order=["w1", "w2", "w3"], correction="none")
    a = out[out.kpi == "a"].reset_index(drop=True)
    assert list(a.wave_from) == ["w1", "w2"] and list(a.wave_to) == ["w2", "w3"]
    assert a.change[0] == pytest.approx(-0.5)
    assert a.se[0] == pytest.approx(np.sqrt(0.1**2 + 0.1**2))
    z = -0.5 / np.sqrt(0.02)
    assert a.statistic[0] == pytest.approx(z)
    assert a.p_value[0] == pytest.approx(2 * stats.norm.sf(abs(z)))
    assert a.direction[0] == "down" and bool(a.significant[0])
    b = out[out.kpi == "b"].reset_index(drop=True)
    assert not b.significant[0] and b.direction[0] == ""
    assert b.change[1] == pytest.approx(-11.0)


def test_holm_matches_statsmodels(table):
    out = wave_over_wave(table, order=["w1", "w2", "w3"], correction="holm")
    expected = multipletests(out.p_value, method="holm")[1]
    np.testing.assert_allclose(out.p_adjusted, expected)
    assert (out.p_adjusted >= out.p_value).all()


def test_turning_points_largest_first(table):
    out = wave_over_wave(table, order=["w1", "w2", "w3"])
    tp = turning_points(out)
    assert list(tp.kpi) == ["b", "a"]
    assert list(tp.wave_to) == ["w3", "w2"]
    assert turning_points(out, min_change=1.0).kpi.tolist() == ["b"]


def test_adjust_p_keeps_nan():
    out = adjust_p([0.01, np.nan, 0.04], correction="bonferroni")
    assert out[0] == pytest.approx(0.02) and np.isnan(out[1]) and out[2] == pytest.approx(0.08)


def test_errors(table):
    with pytest.raises(KeyError, match=r"no column\(s\) \['se'\]"):
        wave_over_wave(table.drop(columns="se"), order=["w1", "w2", "w3"])
    with pytest.raises(ValueError, match=r"wave\(s\) \['w3'\] are not in the wave order"):
        wave_over_wave(table, order=["w1", "w2"])
    with pytest.raises(ValueError, match="correction='sidak'"):
        adjust_p([0.1], correction="sidak")
    with pytest.raises(KeyError, match="expected the output of wave_over_wave"):
        turning_points(table)


def test_operational_link_matches_statsmodels_wls():
    import statsmodels.api as sm

    from analysis_helpers.trend import operational_link

    scores = pd.DataFrame(
        {
            "wave": list("aabbcc"),
            "region": list("xyxyxy"),
            "estimate": [70.0, 68.0, 66.0, 65.5, 71.0, 69.0],
            "se": [1.0, 1.5, 1.0, 2.0, 1.2, 1.0],
        }
    )
    ops = pd.DataFrame(
        {"wave": list("aabbcc"), "region": list("xyxyxy"), "wait": [2.0, 2.5, 4.0, 4.5, 1.5, 2.2]}
    )
    out = operational_link(scores, ops, metric="wait", on=["wave", "region"]).iloc[0]
    fit = sm.WLS(scores.estimate, sm.add_constant(ops.wait), weights=1 / scores.se**2).fit()
    assert out.slope == pytest.approx(fit.params["wait"])
    assert out.se == pytest.approx(fit.bse["wait"])
    assert out.p_value == pytest.approx(fit.pvalues["wait"])
    assert out.n_cells == 6 and out.slope < 0


def test_operational_link_errors():
    from analysis_helpers.trend import operational_link

    s = pd.DataFrame({"w": ["a", "b"], "estimate": [1.0, 2.0], "se": [0.1, 0.1]})
    m = pd.DataFrame({"w": ["a", "b"], "wait": [1.0, 2.0]})
    with pytest.raises(ValueError, match="only 2 cells have both a score and 'wait'"):
        operational_link(s, m, metric="wait", on=["w"])
    with pytest.raises(KeyError, match=r"metrics has no column\(s\) \['queue'\]"):
        operational_link(s, m, metric="queue", on=["w"])
    s3 = pd.DataFrame({"w": list("abc"), "estimate": [1.0, 2.0, 3.0], "se": [0.1] * 3})
    m3 = pd.DataFrame({"w": list("abc"), "wait": [1.0] * 3})
    with pytest.raises(ValueError, match="does not vary"):
        operational_link(s3, m3, metric="wait", on=["w"])
