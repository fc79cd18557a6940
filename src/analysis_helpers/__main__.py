"""``python -m analysis_helpers``: see :mod:`analysis_helpers.cli`."""

import sys

from .cli import main

sys.exit(main())
