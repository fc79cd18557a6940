"""PLS path models (PLS-PM) for satisfaction indices: ECSI/ACSI model, weighted estimation,
bootstrap intervals, the 0-100 index and the importance-performance map.
"""

from analysis_helpers.pls.fit import PLSFit, fit_pls
from analysis_helpers.pls.model import (
    ECSI_CONSTRUCTS,
    ECSI_PATHS,
    PathModel,
    PathModelError,
    ecsi_model,
)

__all__ = [
    "ECSI_CONSTRUCTS",
    "ECSI_PATHS",
    "PLSFit",
    "PathModel",
    "PathModelError",
    "ecsi_model",
    "fit_pls",
]
