"""``index: {weights: model}``: the structural model's rescaled outer weights feed the CSI
roll-up (Study.hierarchy), computed once and cached in data/processed keyed on data + model;
the study file's section validated with exact messages."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
import yaml

import analysis_helpers.pls.rollup as rollup
from analysis_helpers.cleaning import clean
from analysis_helpers.demo import write_study_shape
from analysis_helpers.index_report import csi_weights_note
from analysis_helpers.kpis import csi
from analysis_helpers.pls import fit_pls, study_path_model
from analysis_helpers.safe_output import plain_text, render_markdown
from analysis_helpers.study import Study, StudyFileError, load_study
from analysis_helpers.study_tables import study_design


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """The 'full' shape (ECSI model, quality spanning three areas) and a copy with the switch."""
    root = tmp_path_factory.mktemp("rollup")
    path = write_study_shape(root, "full")
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    on = {**raw, "study": {**raw["study"], "name": "full_pls"}, "index": {"weights": "model"}}
    on["data"] = {**raw["data"], "root": "data/raw/full"}
    on_path = path.with_name("full_pls.yml")
    on_path.write_text(yaml.safe_dump(on, allow_unicode=True), encoding="utf-8")
    return root, path, on_path, raw


def _variant(project, tmp_name: str, change) -> str:
    root, _, _, raw = project
    new = json.loads(json.dumps(raw))
    new["data"]["root"] = "data/raw/full"
    change(new)
    p = root / "config" / f"{tmp_name}.yml"
    p.write_text(yaml.safe_dump(new, allow_unicode=True), encoding="utf-8")
    return str(p)


def _hand_rollup(data: pd.DataFrame, study) -> float:
    """The CSI by hand: the model's 0-100 item weights within each area, areas equal."""
    model = study_path_model(study)
    fit = fit_pls(data, model=model, design=study_design(study))
    lo = {i: study.items[i].scale.min for i in model.items}
    hi = {i: study.items[i].scale.max for i in model.items}
    raw = fit.raw_weights()
    w100 = {i: raw[i] * (hi[i] - lo[i]) for i in model.items}  # Fornell: on the 0-100 metric
    wt = data[study.weight_column].to_numpy(float) if study.weight_column else None
    areas = {}
    for item in study.index_items():
        x = data[item].to_numpy(float)
        ok = ~np.isnan(x)
        mean = np.average(x[ok], weights=None if wt is None else wt[ok])
        areas.setdefault(study.items[item].area, []).append(
            (w100[item], 100 * (mean - lo[item]) / (hi[item] - lo[item]))
        )
    per_area = [sum(w * s for w, s in v) / sum(w for w, _ in v) for v in areas.values()]
    return float(np.mean(per_area))


def test_with_the_switch_the_csi_is_the_hand_rollup_with_the_pls_weights(project):
    _, _, on_path, _ = project
    study = load_study(on_path)
    data = clean(study).data
    h = study.hierarchy()
    assert study.index_weights == "model"
    # weight_item: the rescaled outer weights, summing to 1 within each construct
    w = rollup.model_rollup_weights(study, data)
    assert np.allclose(w.groupby("block")["index_weight"].sum(), 1.0)
    assert np.allclose(h["weight_item"], h["item"].map(w["index_weight"]))
    top = csi(data, hierarchy=h, design=study_design(study))
    got = float(top.loc[top["level"] == "index", "estimate"].iloc[0])
    assert got == pytest.approx(_hand_rollup(data, study), abs=1e-9)
    # ... and differs from the equal-weight roll-up (the switch does something)
    stated = load_study(project[1])
    eq = csi(data, hierarchy=stated.hierarchy(), design=study_design(stated))
    assert abs(float(eq.loc[eq["level"] == "index", "estimate"].iloc[0]) - got) > 1e-3
    assert "outer weights" in study.index_note()


def test_an_area_that_is_one_construct_rolls_up_to_that_constructs_weights(project):
    _, _, on_path, _ = project
    study = load_study(on_path)
    data = clean(study).data
    w = rollup.model_rollup_weights(study, data)
    h = study.hierarchy()
    value = h[h["area"] == "value"]
    # the value area is the value construct: its items' weights are the construct's, and
    # the indicators carry the sum of their items' weights
    assert set(value["item"]) == set(w.loc[w["block"] == "value", "item"])
    for _, g in value.groupby("indicator"):
        assert g["weight_indicator"].iloc[0] == pytest.approx(g["weight_item"].sum())


def test_without_the_switch_nothing_changes(project):
    _, path, _, _ = project
    study = load_study(path)
    assert study.index_weights == "stated"
    h = study.hierarchy()
    assert "weight_item" not in h.columns
    assert h["weight_indicator"].isna().all()
    assert study.index_note() == ""
    assert not (study.processed_dir / rollup.CACHE_FILE).exists()


def test_the_weights_are_cached_keyed_on_data_and_model(project, monkeypatch):
    _, _, on_path, _ = project
    study = load_study(on_path)
    data = clean(study).data
    first = rollup.model_rollup_weights(study, data)
    cache = study.processed_dir / rollup.CACHE_FILE
    record = json.loads(cache.read_text(encoding="utf-8"))
    assert record["key"] == rollup.rollup_key(study, data)
    assert record["n"] == len(data)

    # the same data and model: read from the cache, no fit
    def no_fit(*a, **k):
        raise AssertionError("fitted although the cache is current")

    monkeypatch.setattr(rollup, "fit_pls", no_fit)
    again = rollup.model_rollup_weights(load_study(on_path), data)
    pd.testing.assert_frame_equal(again, first)
    monkeypatch.undo()

    # other data: another key, so the cache is not used
    changed = data.copy()
    changed.loc[changed.index[:50], "val_price"] = 1
    assert rollup.rollup_key(study, changed) != record["key"]
    monkeypatch.setattr(rollup, "fit_pls", no_fit)
    with pytest.raises(AssertionError, match="fitted although"):
        rollup.model_rollup_weights(study, changed)
    monkeypatch.undo()

    # a stale cache (another key, wrong weights) is never read
    stale = {**record, "key": "0" * 64}
    stale["weights"] = [{**r, "index_weight": 0.5} for r in record["weights"]]
    cache.write_text(json.dumps(stale), encoding="utf-8")
    fresh = rollup.model_rollup_weights(study, data)
    pd.testing.assert_frame_equal(fresh, first)
    assert json.loads(cache.read_text(encoding="utf-8"))["key"] == record["key"]


def test_another_model_gives_another_key(project):
    _, _, on_path, _ = project
    study = load_study(on_path)
    data = clean(study).data
    p = _variant(
        project,
        "full_centroid",
        lambda r: r.update(index={"weights": "model"}, model={**r["model"], "scheme": "centroid"}),
    )
    assert rollup.rollup_key(load_study(p), data) != rollup.rollup_key(study, data)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda r: r.update(index={"weights": "pls"}),
            "index.weights: unknown value 'pls': use 'stated' (the study file's area and "
            "indicator weights, equal where none is stated) or 'model' (the items weighted "
            "by the structural model's rescaled outer weights)",
        ),
        (
            lambda r: (r.update(index={"weights": "model"}), r.pop("model")),
            "index.weights: 'model' needs a structural model: add a model: section (see "
            "docs/study-file.md) or use 'stated'",
        ),
        (
            lambda r: r.update(
                index={"weights": "model"},
                model={"ecsi": {**r["model"]["ecsi"], "quality": ["network", "hotline"]}},
            ),
            "index.weights: 'model': item(s) ['bill_clear', 'bill_detail', 'bill_accuracy', "
            "'bill_payment', 'bill_no_surprise'] of area 'billing' are in no construct of "
            "the model; put them in the area's construct or use 'stated'",
        ),
        (
            lambda r: r.update(
                index={"weights": "model"},
                model={
                    "ecsi": {
                        **r["model"]["ecsi"],
                        "quality": ["network", "hotline", "bill_clear", "bill_detail"],
                        "image": ["bill_accuracy", "bill_payment", "bill_no_surprise"],
                    }
                },
            ),
            "index.weights: 'model': the items of area 'billing' are in constructs "
            "['quality', 'image']; with weights from the model each area's items must be "
            "in one construct (outer weights compare items within a construct only)",
        ),
        (
            lambda r: (
                r.update(index={"weights": "model"}),
                r["indicators"][1].update(weight=2),
            ),
            "indicators[1].weight: with index.weights: 'model' the indicators' weights come "
            "from the model; remove the weight or use index.weights: 'stated'",
        ),
    ],
)
def test_the_switch_is_validated_with_exact_messages(project, change, message):
    p = _variant(project, "bad_index", change)
    with pytest.raises(StudyFileError, match=re.escape(message)):
        load_study(p)


def test_a_negative_outer_weight_stops_with_the_item_and_construct(project, monkeypatch):
    _, _, on_path, _ = project
    study = load_study(on_path)
    data = clean(study).data.copy()
    real = rollup.index_weights

    def flipped(fit, **k):
        out = real(fit, **k)
        out.loc[out["item"] == "val_extras", "index_weight"] = -0.1
        return out

    monkeypatch.setattr(rollup, "index_weights", flipped)
    data.loc[data.index[:3], "val_price"] = 2  # another key: not from the cache
    with pytest.raises(ValueError, match=r"item 'val_extras' has a negative outer weight "
                       r"\(-0\.100\) in construct 'value'"):  # fmt: skip
        rollup.model_rollup_weights(study, data)


def test_the_index_page_says_which_weights_the_csi_uses(project, monkeypatch):
    _, path, on_path, _ = project
    on, off = load_study(on_path), load_study(path)
    said_on = plain_text(render_markdown(csi_weights_note(on)))
    said_off = plain_text(render_markdown(csi_weights_note(off)))
    assert said_on.startswith("The CSI of the other pages weighs each area's items by the model")
    assert said_off.startswith("The CSI of the other pages uses the study file's weights")
    assert "index.weights: model" in said_on and "{" not in said_on + said_off
    monkeypatch.setattr(Study, "language", property(lambda self: "zh"))
    assert "外部权重" in plain_text(render_markdown(csi_weights_note(on)))
