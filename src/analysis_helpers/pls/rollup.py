"""The satisfaction index rolled up with the structural model's weights (``index.weights: model``).

With ``index: {weights: model}`` in the study file, :meth:`Study.hierarchy
<analysis_helpers.study.Study.hierarchy>` weighs each item by its rescaled outer weight
(Fornell et al. 1996): the model is fitted once on every clean respondent (all waves pooled,
the survey weights honoured, as 60-index does by default), and the weights are cached in
``data/processed/<study>/index_weights.json`` under a key made of the data the fit reads (the
model's item columns and the weight column, hashed) and the model (constructs, items, modes,
paths, scheme, scales). A cache whose key differs is never used: it is recomputed and
overwritten. Every page that rolls up the CSI (20-describe, 30-trend, 40-cross, ...) then
uses the same weights.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd

from analysis_helpers.pls.fit import fit_pls
from analysis_helpers.pls.from_study import study_path_model, study_scales
from analysis_helpers.pls.index import index_weights
from analysis_helpers.study import Study

__all__ = ["CACHE_FILE", "model_rollup_weights", "rollup_key"]

#: the cache file in the study's processed folder
CACHE_FILE = "index_weights.json"
#: bump when the weights' computation changes, so older caches are never read
_VERSION = 1


def rollup_key(study: Study, data: pd.DataFrame) -> str:
    """Return the cache key of the roll-up weights: SHA-256 of the model and its data.

    Parameters
    ----------
    study : Study
    data : DataFrame
        The clean respondents the model is fitted on.

    Returns
    -------
    str
        Hex digest over the computation's version, the model (blocks, modes, paths, scheme),
        the items' scales, the weight column and the hashed values of the model's item
        columns and the weight column.
    """
    model = study_path_model(study)
    if model is None:
        raise ValueError("index.weights: 'model' needs a model: section in the study file")
    lo, hi = study_scales(study, model)
    weight = study.weight_column
    spec = {
        "version": _VERSION,
        "blocks": {c: model.blocks[c] for c in model.constructs},
        "modes": {c: model.mode(c) for c in model.constructs},
        "paths": [list(p) for p in model.paths],
        "scheme": model.scheme,
        "scales": {i: [lo[i], hi[i]] for i in model.items},
        "weight": weight,
        "design": study.design_columns(),
    }
    h = hashlib.sha256(json.dumps(spec, sort_keys=True, default=str).encode())
    cols = [*model.items, *([weight] if weight else [])]
    absent = [c for c in cols if c not in data.columns]
    if absent:
        raise KeyError(f"index.weights: 'model': column {absent[0]!r} is not in the clean data")
    frame = data[cols].apply(pd.to_numeric, errors="coerce").astype(float)
    h.update(str(len(frame)).encode())
    h.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return h.hexdigest()


def _read_cache(path: Path, key: str) -> pd.DataFrame | None:
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("key") != key:
        return None
    try:
        return pd.DataFrame(record["weights"])[["block", "item", "index_weight"]].assign(
            index_weight=lambda d: d["index_weight"].astype(float)
        ).set_index("item", drop=False).rename_axis(None)  # fmt: skip
    except (KeyError, TypeError, ValueError):
        return None


def model_rollup_weights(study: Study, data: pd.DataFrame | None = None) -> pd.DataFrame:
    """Return the items' roll-up weights from the study's model, cached in ``data/processed``.

    Parameters
    ----------
    study : Study
        With a ``model:`` section.
    data : DataFrame, optional
        The clean respondents; default every respondent of the study
        (:func:`analysis_helpers.cleaning.load_clean` with ``unit=False``, so a unit report
        uses the whole sample's weights).

    Returns
    -------
    DataFrame
        Indexed by item, one row per item of the model: ``block`` (its construct),
        ``item``, ``index_weight`` (the rescaled outer weight, summing to 1 within the
        construct; :func:`~analysis_helpers.pls.index_weights`).

    Raises
    ------
    ValueError
        No model, or an item with a negative weight (the roll-up needs weights >= 0),
        naming the item and its construct; the fit's own errors (no convergence, an item
        without variance) as :func:`~analysis_helpers.pls.fit_pls` raises them.
    """
    if data is None:
        from analysis_helpers.cleaning import load_clean

        data = load_clean(study, unit=False)
    key = rollup_key(study, data)
    path = study.processed_dir / CACHE_FILE
    cached = _read_cache(path, key)
    if cached is not None:
        return cached
    from analysis_helpers.study_tables import study_design

    model = study_path_model(study)
    assert model is not None  # rollup_key checked it
    lo, hi = study_scales(study, model)
    fit = fit_pls(data, model=model, design=study_design(study))
    w = index_weights(fit, scale_min=lo, scale_max=hi)
    negative = w[w["index_weight"] < 0]
    if len(negative):
        first = negative.iloc[0]
        raise ValueError(
            f"index.weights: 'model': item {first['item']!r} has a negative outer weight "
            f"({first['index_weight']:.3f}) in construct {first['block']!r}; the index roll-up "
            "needs weights of 0 or more: check the item's coding (reverse: true?) or use "
            "index.weights: 'stated'"
        )
    out = w[["block", "item", "index_weight"]].set_index("item", drop=False).rename_axis(None)
    record = {
        "key": key,
        "n": int(fit.n),
        "note": "index.weights: model - rescaled outer weights (Fornell et al. 1996); "
        "recomputed whenever the key (data + model) changes",
        "weights": [
            {"block": r.block, "item": r.item, "index_weight": float(r.index_weight)}
            for r in out.itertuples()
        ],
    }
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        tmp.replace(path)
    except OSError:
        pass  # a read-only processed folder: the weights are recomputed next time
    assert np.isfinite(out["index_weight"]).all()
    return out
