"""Deprecated: the study-aware layer is :mod:`analysis_helpers.study_tables`.

This module is removed in the next release. Importing it warns; every name still works.
"""

from __future__ import annotations

from ._compat import warn_deprecated
from .study_tables import *  # noqa: F403
from .study_tables import __all__  # noqa: F401

warn_deprecated(
    "analysis_helpers.scorecard is deprecated; use analysis_helpers.study_tables", stacklevel=2
)
