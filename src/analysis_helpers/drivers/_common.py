"""Shared pieces of the driver analysis (private): its errors and column checks."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from .._checks import as_names, check_columns, check_frame, numeric_values, weight_values
from .._design import SurveyDesign


class DriverError(ValueError):
    """The data cannot support a driver analysis; the message names the columns involved."""


class MissingColumnError(DriverError, KeyError):
    """A column named in the call is not in the data (a ``DriverError`` and a ``KeyError``)."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


def _names(value: str | Sequence[str], role: str, func: str) -> list[str]:
    return as_names(value, role, func, empty=False, unique=True)


def _check_columns(
    data: pd.DataFrame, columns: Sequence[str], weight: str | None, func: str
) -> None:
    check_frame(data, func)
    wanted = [*columns, *([weight] if weight is not None else [])]
    check_columns(data, wanted, "the", func, error=MissingColumnError)
    for c in wanted:
        numeric_values(data, c, "weight" if c == weight else "the", func, error=DriverError)


def _float(data: pd.DataFrame, column: str, func: str) -> np.ndarray:
    return numeric_values(data, column, "the", func, error=DriverError)


def _weights(data: pd.DataFrame, weight: str | None, func: str) -> np.ndarray:
    if weight is None:
        return np.ones(len(data))
    return weight_values(data, weight, func, error=DriverError)


def _design_weight(design: SurveyDesign | None, func: str) -> str | None:
    """Return the weight column of a design (drivers use the weight only; see the notes)."""
    if design is None:
        return None
    if not isinstance(design, SurveyDesign):
        raise TypeError(
            f"{func}: design must be a SurveyDesign (e.g. SurveyDesign(weight='w')), "
            f"got {type(design).__name__}"
        )
    return design.weight


def _weight_to_design(weight: str | None) -> SurveyDesign | None:
    """Return the deprecated ``weight="w"`` spelling as ``design=SurveyDesign(weight="w")``."""
    return SurveyDesign(weight=weight) if weight is not None else None
