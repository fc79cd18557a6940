"""The replicate-moment engine of the bootstraps: Rao-Wu blocks and given replicates."""

from __future__ import annotations

import numpy as np

from analysis_helpers._bootmoments import RaoWu, cross_features, given_sums


def test_cross_features_are_the_weighted_upper_triangle_products():
    x = np.array([[1.0, 2.0, 3.0], [-1.0, 0.5, 2.0]])
    w = np.array([2.0, 0.5])
    f = cross_features(x, w, np.float64)
    iu, ju = np.triu_indices(3)
    expected = np.column_stack([w, x * w[:, None], x[:, iu] * x[:, ju] * w[:, None]])
    np.testing.assert_array_equal(f, expected)


def test_rao_wu_blocks_draw_n_h_minus_one_per_stratum_and_repeat_themselves():
    """Counts add up to n_h - 1 in every stratum and replicate, also across blocks."""
    strata = np.repeat([0, 1, 2], [40000, 25, 1])  # 40,000 units: several blocks at B=1000
    rw = RaoWu(strata, 1000, np.random.default_rng(4))
    assert len(rw.blocks) > 3
    per = {0: np.zeros(1000), 1: np.zeros(1000), 2: np.zeros(1000)}
    for k, (units, scale, m, _) in enumerate(rw.blocks):
        h = int(strata[units[0]])
        per[h] += rw.counts(k).sum(axis=1)
        if m is None:
            assert scale == 1.0
    np.testing.assert_array_equal(per[0], 39999)
    np.testing.assert_array_equal(per[1], 24)
    np.testing.assert_array_equal(per[2], 1)  # a lonely unit keeps multiplier 1
    again = RaoWu(strata, 1000, np.random.default_rng(4))
    np.testing.assert_array_equal(rw.counts(1), again.counts(1))
    # the replicate sums of a unit's value: mean = the total, the Rao-Wu variance
    y = np.random.default_rng(0).standard_normal(len(strata))
    sums = rw.sums(lambda u: y[u, None], np.array([y.sum()]))[:, 0]
    assert abs(sums.mean() - y.sum()) < 4 * np.sqrt(40000 / 1000)
    n0 = 40000
    var0 = n0 / (n0 - 1) * ((y[:n0] - y[:n0].mean()) ** 2).sum()
    var1 = 25 / 24 * ((y[n0 : n0 + 25] - y[n0 : n0 + 25].mean()) ** 2).sum()
    assert 0.88 < np.var(sums, ddof=1) / (var0 + var1) < 1.12  # 1,000 replicates: +-9% at 2 SE


def test_given_sums_match_the_double_precision_products():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((5000, 4))
    w = rng.uniform(0.5, 2.0, 5000)
    mult = rng.uniform(0.0, 2.0, (5000, 30))
    f = cross_features(x, w, np.float64)
    exact = mult.T @ f
    got = given_sums(mult, lambda rows: f[rows], f.sum(axis=0))
    np.testing.assert_allclose(got, exact, rtol=1e-5, atol=1e-3)
    # only the rows inside a domain
    present = np.zeros(5000, dtype=bool)
    present[::3] = True
    rw = RaoWu(np.zeros(5000, dtype=np.int64), 50, rng)
    dom = rw.sums(lambda u: f[u], f[present].sum(axis=0), present)
    order = np.concatenate([b[0] for b in rw.blocks])
    m = np.zeros((50, 5000))
    m[:, order] = np.hstack([rw.multipliers(k) for k in range(len(rw.blocks))])
    np.testing.assert_allclose(dom, (m * present) @ f, rtol=1e-5, atol=1e-3)
