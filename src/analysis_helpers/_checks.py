"""Argument, column, weight and confidence checks shared by every module (private).

One wording and one rule for the whole package. Every message starts with the name of the
public function that was called, then names the column, the row (the data's index label)
and the value, e.g. ``survey_mean: weight column 'w' has the value -0.5 in row 17``.

Offered here:

* :func:`show` - a value as it appears in a message (numpy scalars as plain Python);
* :func:`check_frame` - ``data`` is a DataFrame (``TypeError`` otherwise);
* :func:`as_names` - one column name or a sequence of them, as a list (optionally
  non-empty and without repeats);
* :func:`check_columns` - the columns are in the data (``KeyError`` naming them);
* :func:`numeric_values` - a column as floats; non-numeric dtype or infinite values raise;
* :func:`weight_values` - a weight column as floats, **finite and > 0 in every row** (the
  one weight rule of the package, see ``docs/api.md``);
* :func:`check_weights` - the same rule for a weight array that is not a column;
* :func:`check_confidence` - a confidence level (or a significance level) in (0, 1);
* :func:`check_choice` - an option is one of its allowed values.

Each check takes ``func`` (the public function's name, for the message) and, where a
module has its own exception classes (e.g. :class:`~analysis_helpers.drivers.DriverError`),
the class to raise; the default classes are ``KeyError`` for a missing column, ``TypeError``
for a wrong type and ``ValueError`` for a bad value.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import numpy as np
import pandas as pd

__all__ = [
    "show",
    "check_frame",
    "as_names",
    "check_columns",
    "numeric_values",
    "weight_values",
    "check_weights",
    "check_confidence",
    "check_choice",
]


def show(value: object) -> str:
    """Return the ``repr`` of a value for an error message, numpy scalars as plain Python."""
    if isinstance(value, np.generic):
        value = value.item()
    return repr(value)


def check_frame(data: object, func: str, *, name: str = "data") -> None:
    """Raise ``TypeError`` unless ``data`` is a pandas DataFrame."""
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"{func}: {name} must be a pandas DataFrame, got {type(data).__name__}")


def as_names(
    value: str | Sequence[str] | None,
    role: str,
    func: str,
    *,
    empty: bool = True,
    unique: bool = False,
    error: type[Exception] = ValueError,
) -> list[str]:
    """Return one column name or a sequence of names as a list of str.

    Parameters
    ----------
    value : str, sequence of str or None
        None and ``()`` give an empty list.
    role : str
        The argument's name, e.g. ``"items"`` or ``"by"``.
    func : str
        The public function, for the message.
    empty : bool
        Whether an empty list is allowed.
    unique : bool
        Whether a name may be given twice.
    error : exception class
        Raised for a bad value.

    Examples
    --------
    >>> as_names("q1", "items", "survey_mean")
    ['q1']
    >>> as_names(["q1", "q2"], "items", "survey_mean")
    ['q1', 'q2']
    """
    if value is None:
        out: list = []
    elif isinstance(value, str):
        out = [value]
    else:
        try:
            out = list(value)
        except TypeError:
            raise error(f"{func}: {role} must be column names (str), got {value!r}") from None
    bad = [c for c in out if not isinstance(c, str)]
    if bad:
        raise error(f"{func}: {role} must be column names (str), got {show(bad[0])}")
    if not empty and not out:
        raise error(f"{func}: {role} is empty; give at least one column")
    if unique:
        dupes = sorted({c for c in out if out.count(c) > 1})
        if dupes:
            raise error(
                f"{func}: {role} names column(s) more than once: {', '.join(map(repr, dupes))}"
            )
    return out


def check_columns(
    data: pd.DataFrame,
    columns: Sequence[str],
    role: str,
    func: str,
    *,
    error: type[Exception] = KeyError,
) -> None:
    """Raise ``error`` (default ``KeyError``) naming the ``columns`` not in ``data``."""
    check_frame(data, func)
    missing = [c for c in columns if c not in data.columns]
    if missing:
        which = ", ".join(map(repr, missing))
        noun = "column" if len(missing) == 1 else "columns"
        verb = "is" if len(missing) == 1 else "are"
        raise error(f"{func}: {role} {noun} {which} {verb} not in the data")


def _first(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def numeric_values(
    data: pd.DataFrame,
    column: str,
    role: str,
    func: str,
    *,
    error: type[Exception] = ValueError,
    allow_inf: bool = False,
) -> np.ndarray:
    """Return the column as a float array (missing -> NaN); not numeric or infinite -> ``error``."""
    s = data[column]
    if not (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)) or (
        pd.api.types.is_complex_dtype(s)
    ):
        raise error(
            f"{func}: {role} column {column!r} must be numeric, got dtype {s.dtype}; "
            "recode it to numbers first"
        )
    y = s.to_numpy(dtype=float, na_value=np.nan)
    if not allow_inf:
        inf = np.isinf(y)
        if inf.any():
            i = _first(inf)
            raise error(
                f"{func}: {role} column {column!r} has the value {show(y[i])} in row "
                f"{show(data.index[i])}"
            )
    return y


def weight_values(
    data: pd.DataFrame, column: str, func: str, *, error: type[Exception] = ValueError
) -> np.ndarray:
    """Return the weight column as floats; every weight must be finite and > 0.

    A zero, negative, infinite or missing weight is a data problem the cleaning step
    reports; here it raises ``error`` naming the column, the first bad row and its value.

    Examples
    --------
    >>> df = pd.DataFrame({"w": [1.0, -0.5]}, index=[16, 17])
    >>> weight_values(df, "w", "survey_mean")
    Traceback (most recent call last):
    ...
    ValueError: survey_mean: weight column 'w' has the value -0.5 in row 17; weights must be finite and > 0
    """
    w = numeric_values(data, column, "weight", func, error=error, allow_inf=True)
    bad = ~np.isfinite(w) | (w <= 0)
    if bad.any():
        i = _first(bad)
        raise error(
            f"{func}: weight column {column!r} has the value {show(w[i])} in row "
            f"{show(data.index[i])}; weights must be finite and > 0"
        )
    return w


def check_weights(
    w: np.ndarray, what: str, func: str, *, error: type[Exception] = ValueError
) -> None:
    """Apply the weight rule to an array that is not a data column (``what`` names it)."""
    bad = ~np.isfinite(w) | (w <= 0)
    if bad.any():
        i = _first(bad)
        raise error(
            f"{func}: {what} has the value {show(w[i])} at position {i}; "
            "weights must be finite and > 0"
        )


def check_confidence(value: object, func: str, *, name: str = "confidence") -> float:
    """Return a confidence (or significance) level as a float in (0, 1), checked.

    Examples
    --------
    >>> check_confidence(0.9, "survey_mean")
    0.9
    >>> check_confidence(95, "survey_mean")
    Traceback (most recent call last):
    ...
    ValueError: survey_mean: confidence must be in (0, 1), got 95
    """
    if isinstance(value, bool) or not isinstance(value, int | float | np.floating):
        raise ValueError(f"{func}: {name} must be a number in (0, 1), got {value!r}")
    if not 0 < value < 1:
        raise ValueError(f"{func}: {name} must be in (0, 1), got {show(value)}")
    return float(value)


def check_choice(value: object, allowed: Collection, name: str, func: str) -> None:
    """Raise ``ValueError`` unless ``value`` is one of ``allowed``."""
    if value not in allowed:
        options = ", ".join(repr(a) for a in allowed)
        raise ValueError(f"{func}: {name}={value!r}; use one of {options}")
