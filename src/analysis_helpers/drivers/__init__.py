"""Drivers of satisfaction: what moves an outcome, and where to act.

A package of four rooms, re-exported here so ``from analysis_helpers.drivers import ...``
finds every public name:

* :mod:`~analysis_helpers.drivers.importance` - derived importance from the
  survey-weighted correlation matrix (correlation, beta, Johnson's relative weights, LMG
  / Shapley decomposition of R^2 and the other ``relaimpo`` metrics), design-based
  (Rao-Wu) bootstrap intervals, importance per segment, and a tree-ensemble
  permutation-importance check;
* :mod:`~analysis_helpers.drivers.ipa` - importance-performance analysis (Martilla &
  James 1977) and its action list;
* :mod:`~analysis_helpers.drivers.penalty_reward` - penalty-reward contrast analysis
  (Brandt 1987; Matzler & Sauerwein 2002) with cut-offs from each scale;
* :mod:`~analysis_helpers.drivers.index_weights` - importance turned into the weights of
  an index roll-up.

Every function takes column names; the study-aware performance axis of IPA,
:func:`analysis_helpers.study_tables.item_performance`, lives in the study-aware layer.

Data problems (constant or collinear drivers, too few respondents, missing or non-numeric
columns) raise :class:`DriverError` with a message that names the columns involved; a
missing column raises :class:`MissingColumnError`, which is both a ``DriverError`` and a
``KeyError``.
"""

from __future__ import annotations

from typing import Any

from .._compat import warn_deprecated
from ._common import DriverError, MissingColumnError
from .importance import (
    driver_importance,
    importance_from_correlation,
    permutation_importance_check,
    segment_importance,
    weighted_correlation,
)
from .index_weights import importance_to_index_weights, with_index_weights
from .ipa import QUADRANTS, action_list, importance_performance
from .penalty_reward import penalty_reward, scale_cutoffs

__all__ = [
    "DriverError",
    "MissingColumnError",
    "QUADRANTS",
    "weighted_correlation",
    "importance_from_correlation",
    "driver_importance",
    "permutation_importance_check",
    "importance_performance",
    "action_list",
    "penalty_reward",
    "segment_importance",
    "importance_to_index_weights",
    "with_index_weights",
    "scale_cutoffs",
]


def __getattr__(name: str) -> Any:
    # deprecated: the study-aware item_performance moved to the study-aware layer; imported
    # on first use, because study_tables imports kpis, which imports this package
    if name == "item_performance":
        from ..study_tables import item_performance

        warn_deprecated(
            "analysis_helpers.drivers.item_performance is deprecated; use "
            "analysis_helpers.study_tables.item_performance"
        )
        return item_performance
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
