"""PLS path models (PLS-PM) for satisfaction indices.

ECSI/ACSI model, weighted estimation, bootstrap intervals, the 0-100 index and the
importance-performance map.
"""

from analysis_helpers.pls.bootstrap import bca_interval, percentile_interval, pls_bootstrap
from analysis_helpers.pls.fit import PLSFit, fit_pls
from analysis_helpers.pls.from_study import study_path_model, study_scales
from analysis_helpers.pls.index import (
    ACTION_KEYS,
    ACTION_TEMPLATE,
    construct_index,
    index_difference,
    index_scores,
    index_weights,
    ipma,
    ipma_action,
    ipma_items,
)
from analysis_helpers.pls.model import (
    ECSI_CONSTRUCTS,
    ECSI_PATHS,
    PathModel,
    PathModelError,
    ecsi_model,
)

__all__ = [
    "ACTION_KEYS",
    "ACTION_TEMPLATE",
    "construct_index",
    "index_difference",
    "index_scores",
    "index_weights",
    "ipma",
    "ipma_action",
    "ipma_items",
    "ECSI_CONSTRUCTS",
    "ECSI_PATHS",
    "PLSFit",
    "bca_interval",
    "percentile_interval",
    "pls_bootstrap",
    "study_path_model",
    "study_scales",
    "PathModel",
    "PathModelError",
    "ecsi_model",
    "fit_pls",
]
