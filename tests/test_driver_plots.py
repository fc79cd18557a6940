"""Driver charts draw what the helpers return, on a given Axes, readable with 40 items."""

from __future__ import annotations

import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from analysis_helpers.driver_plots import (  # noqa: E402
    importance_bars,
    importance_by_group,
    penalty_reward_chart,
    quadrant_chart,
)
from analysis_helpers.drivers import (  # noqa: E402
    driver_importance,
    importance_performance,
    penalty_reward,
    segment_importance,
)
from analysis_helpers.plots import apply_theme  # noqa: E402


@pytest.fixture(scope="module")
def survey():
    rng = np.random.default_rng(1)
    n = 600
    x = rng.integers(1, 6, (n, 4)).astype(float)
    frame = pd.DataFrame(x, columns=["网络服务", "price", "staff", "wait"])
    frame["sat"] = x @ [0.8, 0.5, 0.3, 0.1] + rng.standard_normal(n)
    return frame


def _texts(ax):
    return [t.get_text() for t in ax.texts]


def test_importance_bars_with_intervals(survey):
    table = driver_importance(survey, outcome="sat", drivers=list(survey.columns[:4]), n_boot=50,
                              random_state=0)  # fmt: skip
    fig, ax = plt.subplots()
    out = importance_bars(table, measure="lmg_pct", ax=ax)
    assert out is ax
    assert len(ax.patches) == 4
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[-1] == "网络服务"  # most important on top
    assert ax.get_xlabel() == "LMG / Shapley (% of R²)"
    assert len(ax.collections) == 1  # the whiskers
    assert any(t.startswith("R² = ") for t in _texts(ax))


def test_importance_bars_refuses_empty_or_stacked(survey):
    drivers = list(survey.columns[:4])
    skipped = driver_importance(survey, outcome="sat", drivers=drivers, lmg_max_drivers=2)
    with pytest.raises(ValueError, match="'lmg' is empty: lmg skipped"):
        importance_bars(skipped, measure="lmg")
    with pytest.raises(ValueError, match="one segment per chart"):
        importance_bars(pd.concat([skipped, skipped]), measure="beta")
    with pytest.raises(KeyError, match="lacks column"):
        importance_bars(skipped, measure="nope")
    assert isinstance(importance_bars(skipped, measure="beta"), plt.Axes)


def test_quadrant_chart_names_quadrants_and_labels_items():
    ipa = importance_performance(
        {"price": 0.4, "staff": 0.3, "wait": 0.2, "decor": 0.1},
        {"price": 6.0, "staff": 8.5, "wait": 7.0, "decor": 9.0},
    )
    ax = quadrant_chart(ipa)
    texts = _texts(ax)
    for name in ["concentrate here", "keep up the good work", "low priority", "possible overkill"]:
        assert name in texts
    assert {"price", "staff", "wait", "decor"} <= set(texts)
    x0, x1 = ax.get_xlim()
    assert x0 < ipa["performance_cut"].iloc[0] < x1


def test_quadrant_chart_numbers_forty_items(tmp_path):
    apply_theme()  # the house theme supplies the CJK font; the chart sets none
    rng = np.random.default_rng(2)
    items = [f"item {k:02d} 服务" for k in range(40)]
    ipa = importance_performance(
        pd.Series(rng.uniform(0, 1, 40), index=items), pd.Series(rng.uniform(5, 9, 40), index=items)
    )
    ax = quadrant_chart(ipa, key_rows=20)
    texts = _texts(ax)
    keys = [t for t in texts if "\n" in t]
    assert len(keys) == 2 and all(len(k.splitlines()) == 20 for k in keys)
    top = ipa.loc[ipa["importance"].idxmax(), "item"]
    assert keys[0].splitlines()[0] == f" 1  {top}"
    assert {str(k) for k in range(1, 41)} <= set(texts)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a missing glyph would raise
        ax.figure.savefig(tmp_path / "ipa.png", bbox_inches="tight")
    assert (tmp_path / "ipa.png").stat().st_size > 10_000


def test_penalty_reward_chart(survey):
    prca = penalty_reward(survey, outcome="sat", drivers=list(survey.columns[:4]), low_max=2,
                          high_min=4)  # fmt: skip
    fig, ax = plt.subplots()
    assert penalty_reward_chart(prca, ax=ax) is ax
    assert len(ax.patches) == 8  # a penalty and a reward bar per attribute
    assert ax.get_legend() is not None
    lefts = [p.get_width() for p in ax.patches[:4]]
    assert all(w <= 0 for w in lefts)  # penalties drawn to the left
    with pytest.raises(KeyError, match="prca lacks"):
        penalty_reward_chart(prca.drop(columns="reward"))


def test_importance_by_group_dodges_groups_with_whiskers(survey):
    drivers = list(survey.columns[:4])
    data = survey.assign(seg=np.where(np.arange(len(survey)) % 3 == 0, "a", "b"))
    table = segment_importance(data, outcome="sat", drivers=drivers, by="seg", n_boot=30,
                               random_state=0, methods=("relative_weight",))  # fmt: skip
    fig, ax = plt.subplots()
    out = importance_by_group(table, by="seg", ax=ax, order=["b", "a"],
                              labels={"a": "Segment A", "b": "段 B"})  # fmt: skip
    assert out is ax
    points = [c for c in ax.collections if c.get_offsets().shape[0] == 4]
    assert len(points) >= 2  # one marker set per group (plus whisker collections)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["段 B", "Segment A"]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[-1] == "网络服务"  # most important on top
    # the first group in the legend is drawn above the second on every row
    y_b = ax.collections[1].get_offsets()[:, 1]
    y_a = ax.collections[3].get_offsets()[:, 1]
    assert (y_b > y_a).all()
    assert ax.get_xlabel() == "Relative weight (% of R²)"


def test_importance_by_group_skips_empty_groups_and_validates(survey):
    drivers = list(survey.columns[:4])
    table = pd.concat(
        [
            driver_importance(survey, outcome="sat", drivers=drivers).assign(outcome="sat"),
            pd.DataFrame({"driver": drivers, "outcome": "empty", "relative_weight_pct": np.nan}),
        ]
    )
    ax = importance_by_group(table, by="outcome")
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["sat"]
    with pytest.raises(KeyError, match="lacks column"):
        importance_by_group(table, by="segment")
    with pytest.raises(ValueError, match="empty for every group"):
        importance_by_group(table[table["outcome"] == "empty"], by="outcome")
    # any number of groups: 12 waves get the 8 colours, then squares in the same colours
    many = pd.concat([table.assign(outcome=str(k)) for k in range(12)])
    ax = importance_by_group(many, by="outcome")
    assert len(ax.get_legend().get_texts()) == 12
    dots = [c for c in ax.collections if c.get_label() in ("0", "8")]
    assert [c.get_facecolor()[0].tolist() for c in dots] == [
        list(matplotlib.colors.to_rgba("#0072B2"))
    ] * 2
    shapes = [len(c.get_paths()[0].vertices) for c in dots]
    assert shapes[0] != shapes[1]  # a dot, then a square


def _crowded_ipa(n: int, seed: int, label: str = "item {k:02d}") -> pd.DataFrame:
    """Items in tight clusters: points a few pixels apart, as on the demo's 40 items."""
    rng = np.random.default_rng(seed)
    items = [label.format(k=k) for k in range(n)]
    centres = rng.uniform([50, 2], [70, 8], (4, 2))
    xy = centres[rng.integers(0, 4, n)] + rng.normal(0, [0.8, 0.25], (n, 2))
    return importance_performance(
        pd.Series(xy[:, 1], index=items), pd.Series(xy[:, 0], index=items)
    )


@pytest.mark.parametrize(
    ("n", "label"), [(40, "item {k:02d}"), (10, "Coverage {k} at home"), (12, "网络服务 {k}")]
)
def test_quadrant_chart_places_labels_without_overlaps(n, label):
    from analysis_helpers.report_checks import text_overlaps

    apply_theme()
    fig, ax = plt.subplots(figsize=(10, 6.5))
    quadrant_chart(_crowded_ipa(n, seed=n, label=label), ax=ax)
    ax.set_title("Importance and performance of the items", pad=12)
    ax.set_xlabel("Performance: mean, 0-100")
    overlaps = text_overlaps(fig)
    plt.close(fig)
    assert overlaps.empty, overlaps.to_string()


def test_label_placement_moves_a_label_off_a_neighbour():
    """Two points 1 pixel apart: the second label goes elsewhere, with a leader line."""
    from analysis_helpers.driver_plots import _place_labels

    fig, ax = plt.subplots(figsize=(6, 4))
    ax.set_xlim(0, 100)
    ax.set_ylim(0, 10)
    x, y = np.array([50.0, 50.2]), np.array([5.0, 5.02])
    notes = _place_labels(ax, x, y, ["first label", "second label"], order=[0, 1], fontsize=10)
    r = fig.canvas.get_renderer()
    a, b = (n.get_window_extent(r) for n in notes)
    assert not a.overlaps(b)
    assert notes[0].arrow_patch is None  # the first takes the nearest place, no leader line
    plt.close(fig)
