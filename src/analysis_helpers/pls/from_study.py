"""The path model and the item scales a study file states (its ``model:`` section).

``model:`` names the constructs with their items (a list, or an area of the hierarchy),
modes, paths, target and scheme; or maps the ECSI constructs onto the study's areas and
items (``model: {ecsi: {quality: [network, billing], value: value, satisfaction: [osat],
...}}``), which gives the ECSI model (:func:`~analysis_helpers.pls.ecsi_model`) for the
constructs mapped. docs/study-file.md describes the section.
"""

from __future__ import annotations

from analysis_helpers.pls.model import ECSI_CONSTRUCTS, PathModel, ecsi_model
from analysis_helpers.study import Study

__all__ = ["study_path_model", "study_scales"]


def study_path_model(study: Study) -> PathModel | None:
    """Return the study's path model, or None when its file has no ``model:`` section.

    Construct labels: the ``label`` (or ``labels``) stated, else an area's label when the
    construct is one area, else the ECSI label or the name.
    """
    m = study.spec.model
    if m is None:
        return None
    blocks = m.blocks(study.spec)
    area_labels = {a.name: a.label for a in study.spec.areas}
    labels = {}
    for name in blocks:
        stated = m.label_of(name)
        if stated is not None:
            labels[name] = stated
            continue
        if m.ecsi is not None:
            labels[name] = ECSI_CONSTRUCTS[name]
            continue
        area = next(c.area for c in m.constructs or [] if c.name == name)
        labels[name] = area_labels.get(area, name) if area is not None else name
    modes = {name: m.mode_of(name) for name in blocks}
    if m.ecsi is not None:
        return ecsi_model(
            blocks,
            labels=labels,
            modes=modes,
            target=m.target or "satisfaction",
            scheme=m.scheme,
        )
    return PathModel(
        blocks=blocks, paths=list(m.paths or []), modes=modes, labels=labels, target=m.target,
        scheme=m.scheme,
    )  # fmt: skip


def study_scales(study: Study, model: PathModel) -> tuple[dict[str, int], dict[str, int]]:
    """``(scale_min, scale_max)`` mappings of the model's items, from the study file."""
    items = study.items
    return (
        {i: items[i].scale.min for i in model.items},
        {i: items[i].scale.max for i in model.items},
    )
