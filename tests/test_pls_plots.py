"""The IPMA chart draws what ipma returns, one group at a time, with no overlapping text."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from analysis_helpers.plots import apply_theme  # noqa: E402
from analysis_helpers.pls import PathModel, ipma, ipma_items  # noqa: E402
from analysis_helpers.pls_plots import ipma_map  # noqa: E402

REF = Path(__file__).parent / "reference"
CASE = json.loads((REF / "expected.json").read_text())["pls_path_model"]["results"][
    "satisfaction_plspm"
]
MODEL = PathModel(
    blocks=CASE["model"]["blocks"],
    paths=[tuple(p.split(" -> ")) for p in CASE["model"]["structure"]],
    target="SAT",
)


@pytest.fixture(scope="module")
def sat():
    return pd.read_csv(REF / "data" / "plspm_satisfaction.csv")


def _texts(ax):
    ax.figure.canvas.draw()
    r = ax.figure.canvas.get_renderer()
    return [(t.get_text(), t.get_window_extent(r)) for t in ax.texts if t.get_text()]


def _no_overlap(ax):
    boxes = _texts(ax)
    for i, (a, ba) in enumerate(boxes):
        for b, bb in boxes[i + 1 :]:
            assert not ba.overlaps(bb), (a, b)


def test_construct_map_labels_every_point_without_overlap(sat):
    apply_theme()
    table = ipma(sat, model=MODEL, scale_min=0, scale_max=10)
    labels = {"IMAG": "Image 形象", "EXPE": "Expectations", "QUAL": "Quality", "VAL": "Value",
              "SAT": "Satisfaction"}  # fmt: skip
    ax = ipma_map(table, labels=labels)
    texts = [t for t, _ in _texts(ax)]
    for name in ("Image 形象", "Expectations", "Quality", "Value", "concentrate here"):
        assert name in texts
    assert "Satisfaction" in ax.get_ylabel()
    _no_overlap(ax)


def test_item_map_numbers_points_and_writes_a_key(sat):
    table = ipma_items(sat, model=MODEL, scale_min=0, scale_max=10)
    assert len(table) > 12
    ax = ipma_map(table)
    texts = [t for t, _ in _texts(ax)]
    key = [t for t in texts if "\n" in t][0]
    assert key.splitlines()[0].split()[0] == "1"
    _no_overlap(ax)


def test_one_group_at_a_time(sat):
    table = ipma(sat, model=MODEL, scale_min=0, scale_max=10, by="gender")
    with pytest.raises(ValueError, match="more than one map"):
        ipma_map(table)
    ax = ipma_map(table[table.gender == "male"])
    assert ax.get_xlabel() == "Performance (index 0-100)"
    with pytest.raises(KeyError, match=r"ipma_map: table lacks column\(s\) \['priority'\]"):
        ipma_map(table.drop(columns="priority"))
