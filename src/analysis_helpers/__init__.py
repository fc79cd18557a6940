"""Helpers for customer-satisfaction survey analysis notebooks.

The vocabulary of every public function is in ``docs/api.md``; what changed between
versions is in ``CHANGELOG.md``.
"""

from importlib import metadata

try:
    __version__: str = metadata.version("analysis-helpers")
except metadata.PackageNotFoundError:  # imported from a source tree that is not installed
    __version__ = "0+unknown"

__all__ = ["__version__"]
