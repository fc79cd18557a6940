"""Deprecated spellings (private): old argument names that keep working for one release.

:func:`renamed` maps old keyword arguments to the new words of ``docs/api.md`` and warns
with a ``DeprecationWarning`` that names the new word; :func:`deprecated_alias` turns a
function into a deprecated alias of another. The table of every deprecated spelling is at
the end of ``docs/api.md``; they are removed in the next release.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["renamed", "deprecated_alias", "warn_deprecated"]

F = TypeVar("F", bound=Callable[..., Any])


def warn_deprecated(message: str, *, stacklevel: int = 3) -> None:
    """Issue a ``DeprecationWarning`` pointing at the caller's caller."""
    warnings.warn(message + " (removed in the next release)", DeprecationWarning, stacklevel)


def renamed(**old_to_new: str | tuple[str, Callable[[Any], Any]]) -> Callable[[F], F]:
    """Accept deprecated keyword names: ``@renamed(level="confidence")``.

    A value may be ``(new_name, convert)`` when the old argument also took another form,
    e.g. ``weight=("design", lambda w: SurveyDesign(weight=w))``. Passing both the old and
    the new name is a ``TypeError``.
    """

    def deco(func: F) -> F:
        name = func.__name__

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            for old, spec in old_to_new.items():
                if old not in kwargs:
                    continue
                new, convert = (spec, None) if isinstance(spec, str) else spec
                if new in kwargs:
                    raise TypeError(f"{name}: give {new}= only, not also the deprecated {old}=")
                warn_deprecated(f"{name}: {old}= is deprecated; use {new}=")
                value = kwargs.pop(old)
                kwargs[new] = convert(value) if convert is not None else value
            return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return deco


def deprecated_alias(new: F, old_name: str, where: str) -> F:
    """Return a function named ``old_name`` that warns and calls ``new`` (``where`` = new home)."""

    @functools.wraps(new)
    def alias(*args: Any, **kwargs: Any) -> Any:
        warn_deprecated(f"{old_name} is deprecated; use {where}")
        return new(*args, **kwargs)

    alias.__name__ = old_name.rsplit(".", 1)[-1]
    alias.__qualname__ = alias.__name__
    alias.__doc__ = f"Deprecated alias of :func:`{where}` (removed in the next release)."
    return alias  # type: ignore[return-value]
