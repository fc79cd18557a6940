"""The IPMA chart draws what ipma returns, one group at a time, with no overlapping text."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
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


# --------------------------------------------------------------------------------------
# The model diagram
# --------------------------------------------------------------------------------------
def _paths(model, estimates, significant):
    from analysis_helpers.pls.summary import path_summary

    boot = pd.DataFrame(
        {
            "kind": "path",
            "from": [a for a, _ in model.paths],
            "to": [b for _, b in model.paths],
            "estimate": estimates,
            "se": 0.05,
            "ci_low": [
                e - 0.01 if s else -0.1 for e, s in zip(estimates, significant, strict=True)
            ],
            "ci_high": [
                e + 0.01 if s else 0.1 for e, s in zip(estimates, significant, strict=True)
            ],
            "p_value": 0.01,
        }
    )
    return path_summary(boot, model=model)


def test_diagram_layout_follows_the_causal_order():
    from analysis_helpers.pls_plots import diagram_layout

    lay = diagram_layout(MODEL).set_index("block")
    assert lay["column"].to_dict() == {"IMAG": 0, "EXPE": 1, "QUAL": 2, "VAL": 3, "SAT": 4,
                                       "LOY": 5}  # fmt: skip
    assert (lay["x"] == lay["column"] * 4.0).all()
    wide = PathModel(blocks={f"a{k}": [f"x{k}"] for k in range(4)} | {"s": ["y"], "l": ["z"]},
                     paths=[*((f"a{k}", "s") for k in range(4)), ("s", "l"), ("a3", "l")])  # fmt: skip
    w = diagram_layout(wide).set_index("block")
    assert list(w.loc[[f"a{k}" for k in range(4)], "y"]) == [0.0, 1.0, 2.0, 3.0]
    assert w.loc["s", "column"] == 1 and w.loc["l", "column"] == 2
    assert w.loc["s", "y"] == 1.5  # centred in a column of one


def test_path_diagram_draws_every_path_without_overlapping_text():
    from analysis_helpers.pls_plots import path_diagram
    from analysis_helpers.report_checks import text_overlaps

    apply_theme()
    areas = ["Network service 网络服务", "Complaint handling 投诉处理", "Hotline 客服热线",
             "Billing 账单", "Outlets 营业厅", "Promotions 促销活动", "Brand 品牌形象",
             "Value for money 性价比"]  # fmt: skip
    blocks = {f"a{k}": [f"x{k}_{j}" for j in range(3)] for k in range(8)}
    blocks |= {"sat": ["osat"], "loy": ["rep"]}
    paths = [*((f"a{k}", "sat") for k in range(8)), ("sat", "loy"), ("a7", "loy"), ("a6", "loy")]
    labels = {f"a{k}": areas[k] for k in range(8)} | {"sat": "Overall satisfaction 总体满意度"}
    model = PathModel(blocks=blocks, paths=paths, labels=labels | {"loy": "Loyalty"})
    est = [0.42, 0.07, 0.25, 0.21, 0.0, 0.16, 0.03, 0.32, 0.17, 0.40, 0.32]
    sig = [True] * 4 + [False] + [True] * 6
    tab = _paths(model, est, sig)
    ax = path_diagram(tab, model=model, r_squared={"sat": 0.73, "loy": 0.45}, confidence="90%")
    assert text_overlaps(ax.figure).empty
    texts = [t.get_text() for t in ax.texts]
    for e in est:
        assert f"{e:.2f}" in texts
    assert any("R² = 0.73" in t for t in texts) and any("90%" in t for t in texts)
    arrows = [t.arrow_patch for t in ax.texts if getattr(t, "arrow_patch", None) is not None]
    assert len(arrows) == len(paths)
    assert [a.get_linestyle() for a in arrows].count("--") == 1  # outlets only
    # coefficient labels sit off every box
    ax.figure.canvas.draw()
    r = ax.figure.canvas.get_renderer()
    boxes = [p.get_window_extent(r) for p in ax.patches if p.__class__.__name__ == "FancyBboxPatch"]
    coefs = [t for t in ax.texts if t.get_text() in {f"{e:.2f}" for e in est}]
    assert coefs and not any(t.get_window_extent(r).overlaps(b) for t in coefs for b in boxes)
    plt.close(ax.figure)


def test_path_diagram_on_the_bank_model_and_bad_input():
    from analysis_helpers.pls_plots import path_diagram
    from analysis_helpers.report_checks import text_overlaps

    tab = _paths(MODEL, [0.5, 0.2, 0.1, 0.6, 0.4, 0.3, 0.5, 0.6, 0.1, 0.5], [True] * 10)
    ax = path_diagram(tab, model=MODEL)
    assert text_overlaps(ax.figure).empty
    plt.close(ax.figure)
    with pytest.raises(KeyError, match="lacks column"):
        path_diagram(tab.drop(columns="significant"), model=MODEL)
    with pytest.raises(ValueError, match="path IMAG -> NOPE is not in the model"):
        path_diagram(tab.assign(to="NOPE"), model=MODEL)
