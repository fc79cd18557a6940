"""The specification of a PLS path model: constructs, their items, modes and paths.

A :class:`PathModel` is plain data: each construct (a ``block`` of items), its mode (A
reflective: outer weights are item-score covariances; B formative: a multiple regression),
the inner paths between constructs, the target construct and the inner weighting scheme.
:meth:`PathModel.validate` checks it before any data are read and raises
:class:`PathModelError` naming the construct or path at fault.

:data:`ECSI_PATHS` is the European Customer Satisfaction Index model (ECSI Technical
Committee 1998; Tenenhaus et al. 2005, CSDA 48, fig. 2): image -> expectations, perceived
quality, perceived value, satisfaction, loyalty; expectations -> quality, value,
satisfaction; quality -> value, satisfaction; value -> satisfaction; satisfaction ->
complaints, loyalty; complaints -> loyalty. :func:`ecsi_model` builds it for the
constructs a study has (a construct it lacks drops out with its paths).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from analysis_helpers.pls._kernel import SCHEMES, Structure

__all__ = [
    "PathModel",
    "PathModelError",
    "ECSI_CONSTRUCTS",
    "ECSI_PATHS",
    "ecsi_model",
]


class PathModelError(ValueError):
    """A path model is not well specified, or its estimation failed (names the construct)."""


#: the ECSI constructs in causal order, with their usual labels
ECSI_CONSTRUCTS: dict[str, str] = {
    "image": "Image",
    "expectation": "Customer expectations",
    "quality": "Perceived quality",
    "value": "Perceived value",
    "satisfaction": "Customer satisfaction",
    "complaints": "Complaints",
    "loyalty": "Loyalty",
}

#: the inner paths of the ECSI model (from, to)
ECSI_PATHS: tuple[tuple[str, str], ...] = (
    ("image", "expectation"),
    ("image", "satisfaction"),
    ("image", "loyalty"),
    ("expectation", "quality"),
    ("expectation", "value"),
    ("expectation", "satisfaction"),
    ("quality", "value"),
    ("quality", "satisfaction"),
    ("value", "satisfaction"),
    ("satisfaction", "complaints"),
    ("satisfaction", "loyalty"),
    ("complaints", "loyalty"),
)


def _find_cycle(names: list[str], paths: Sequence[tuple[str, str]]) -> list[str] | None:
    """Return a cycle of the directed graph as a list of constructs (first == last), or None."""
    succ: dict[str, list[str]] = {n: [] for n in names}
    for a, b in paths:
        succ[a].append(b)
    state = dict.fromkeys(names, 0)  # 0 new, 1 on the stack, 2 done
    stack: list[str] = []

    def visit(n: str) -> list[str] | None:
        state[n] = 1
        stack.append(n)
        for m in succ[n]:
            if state[m] == 1:
                return [*stack[stack.index(m) :], m]
            if state[m] == 0:
                found = visit(m)
                if found:
                    return found
        stack.pop()
        state[n] = 2
        return None

    for n in names:
        if state[n] == 0:
            found = visit(n)
            if found:
                return found
    return None


@dataclass(frozen=True)
class PathModel:
    """A PLS path model.

    Parameters
    ----------
    blocks : mapping of construct name -> sequence of item columns
        The items of each construct (its ``block``), in order. An item belongs to one
        construct only.
    paths : sequence of (from, to) pairs
        The inner model; it must be acyclic (a recursive model).
    modes : mapping of construct name -> "A" or "B", optional
        Outer mode per construct; default "A" (reflective). Mode B (formative) needs at
        least two items.
    labels : mapping of construct name -> display text, optional
    target : str, optional
        The construct whose drivers the importance-performance map ranks (e.g.
        satisfaction). Default: the last construct in causal order that has predecessors.
    scheme : {"path", "centroid", "factorial"}
        Inner weighting scheme. "path" is SmartPLS' and seminr's default; R ``plspm``'s
        default is "centroid".
    """

    blocks: Mapping[str, Sequence[str]]
    paths: Sequence[tuple[str, str]]
    modes: Mapping[str, str] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)
    target: str | None = None
    scheme: str = "path"

    def __post_init__(self) -> None:
        """Store the fields as plain lists and dicts, then validate the model."""
        object.__setattr__(self, "blocks", {str(k): list(v) for k, v in dict(self.blocks).items()})
        object.__setattr__(self, "paths", [tuple(p) for p in self.paths])
        object.__setattr__(self, "modes", dict(self.modes))
        object.__setattr__(self, "labels", dict(self.labels))
        self.validate()

    # ------------------------------------------------------------------------------
    @property
    def constructs(self) -> list[str]:
        """Construct names in the order of ``blocks``."""
        return list(self.blocks)

    @property
    def items(self) -> list[str]:
        """All item columns, block by block."""
        return [i for items in self.blocks.values() for i in items]

    def mode(self, construct: str) -> str:
        """Return the measurement mode of a construct: ``"A"`` (reflective) unless stated."""
        return self.modes.get(construct, "A")

    def label(self, construct: str) -> str:
        """Return the display label of a construct (its name if none)."""
        return self.labels.get(construct, construct)

    def predecessors(self, construct: str) -> list[str]:
        """Return the constructs with a path into ``construct``, in path order."""
        return [a for a, b in self.paths if b == construct]

    @property
    def target_construct(self) -> str:
        """The stated target, or the last endogenous construct in causal order."""
        if self.target is not None:
            return self.target
        endo = [c for c in self.causal_order() if self.predecessors(c)]
        return endo[-1]

    def causal_order(self) -> list[str]:
        """Return the constructs sorted so that every path runs forward.

        The sort is stable: ties keep the order of ``blocks``.
        """
        names = self.constructs
        indeg = {n: 0 for n in names}
        for _, b in self.paths:
            indeg[b] += 1
        out: list[str] = []
        ready = [n for n in names if indeg[n] == 0]
        while ready:
            n = ready.pop(0)
            out.append(n)
            for a, b in self.paths:
                if a == n:
                    indeg[b] -= 1
                    if indeg[b] == 0:
                        ready.append(b)
            ready.sort(key=names.index)
        return out

    # ------------------------------------------------------------------------------
    def validate(self) -> None:
        """Check the model; raise :class:`PathModelError` naming the construct or path.

        Checked: at least two constructs and one path; every construct has items; an item
        is in one construct only; a mode-B construct has two or more items; modes are A
        or B; paths name known constructs, are not self-loops or duplicates, and make no
        cycle; every construct is on a path; the target is a known construct with
        predecessors; the scheme is known.
        """
        names = list(self.blocks)
        if len(names) < 2:
            raise PathModelError(f"PathModel: needs at least two constructs, got {names}")
        self._check_blocks()
        self._check_modes()
        if self.scheme not in SCHEMES:
            raise PathModelError(f"PathModel: scheme {self.scheme!r}: use one of {list(SCHEMES)}")
        self._check_paths(names)
        if self.target is not None:
            if self.target not in self.blocks:
                raise PathModelError(
                    f"PathModel: target {self.target!r} is not a construct (constructs: {names})"
                )
            if not self.predecessors(self.target):
                raise PathModelError(
                    f"PathModel: target {self.target!r} has no incoming path, so nothing drives it"
                )

    def _check_blocks(self) -> None:
        """Raise :class:`PathModelError` for an empty block or an item in two places."""
        for name, items in self.blocks.items():
            if not items:
                raise PathModelError(f"PathModel: construct {name!r} has no items")
            if not all(isinstance(i, str) for i in items):
                raise PathModelError(
                    f"PathModel: construct {name!r}: items must be column names, got {items!r}"
                )
        seen: dict[str, str] = {}
        for name, items in self.blocks.items():
            for i in items:
                if i in seen:
                    where = f"twice in construct {name!r}" if seen[i] == name else (
                        f"in constructs {seen[i]!r} and {name!r}"
                    )  # fmt: skip
                    raise PathModelError(f"PathModel: item {i!r} is {where}")
                seen[i] = name

    def _check_modes(self) -> None:
        """Raise :class:`PathModelError` for a bad mode or a one-item mode-B construct."""
        for name, mode in self.modes.items():
            if name not in self.blocks:
                raise PathModelError(f"PathModel: modes names unknown construct {name!r}")
            if mode not in ("A", "B"):
                raise PathModelError(
                    f"PathModel: construct {name!r} has mode {mode!r}; use 'A' (reflective) "
                    "or 'B' (formative)"
                )
            if mode == "B" and len(self.blocks[name]) < 2:
                raise PathModelError(
                    f"PathModel: construct {name!r} is in mode B (formative) with one item "
                    f"({self.blocks[name][0]!r}); a formative construct needs two or more "
                    "items - use mode A for a single-item construct"
                )

    def _check_paths(self, names: list[str]) -> None:
        """Raise :class:`PathModelError` for a bad path, a cycle or a construct on no path."""
        if not self.paths:
            raise PathModelError("PathModel: the inner model has no paths")
        done: set[tuple[str, str]] = set()
        for pair in self.paths:
            if len(pair) != 2:
                raise PathModelError(f"PathModel: path {pair!r} must be a (from, to) pair")
            a, b = pair
            for end in (a, b):
                if end not in self.blocks:
                    raise PathModelError(
                        f"PathModel: path {a} -> {b} names unknown construct {end!r} "
                        f"(constructs: {names})"
                    )
            if a == b:
                raise PathModelError(f"PathModel: path {a} -> {b} points to itself")
            if (a, b) in done:
                raise PathModelError(f"PathModel: path {a} -> {b} is listed twice")
            done.add((a, b))
        cycle = _find_cycle(names, self.paths)
        if cycle:
            raise PathModelError(
                "PathModel: the paths make a cycle " + " -> ".join(cycle) + "; PLS path "
                "models must be recursive (remove one of these paths)"
            )
        linked = {c for p in self.paths for c in p}
        for name in names:
            if name not in linked:
                raise PathModelError(f"PathModel: construct {name!r} is on no path")

    def structure(self) -> Structure:
        """Return the model in integer codes (block order as given)."""
        names = self.constructs
        pos = {n: k for k, n in enumerate(names)}
        block_of = np.array([pos[c] for c, items in self.blocks.items() for _ in items])
        A = np.zeros((len(names), len(names)), dtype=np.int64)
        for a, b in self.paths:
            A[pos[a], pos[b]] = 1
        return Structure(
            block_of=block_of,
            modes=tuple(self.mode(n) for n in names),
            adjacency=A,
            scheme=self.scheme,
        )


def ecsi_model(
    blocks: Mapping[str, Sequence[str]],
    *,
    labels: Mapping[str, str] | None = None,
    modes: Mapping[str, str] | None = None,
    target: str = "satisfaction",
    scheme: str = "path",
) -> PathModel:
    """Return the ECSI model for the constructs given (a subset of :data:`ECSI_CONSTRUCTS`).

    Parameters
    ----------
    blocks : mapping of ECSI construct name -> item columns
        Keys among ``image``, ``expectation``, ``quality``, ``value``, ``satisfaction``,
        ``complaints``, ``loyalty``; ``satisfaction`` is required. Constructs left out drop
        out of the model with their paths (the ACSI, for instance, has no image).
    labels : mapping, optional
        Display labels; default :data:`ECSI_CONSTRUCTS`.
    modes, target, scheme
        As :class:`PathModel`.

    Returns
    -------
    PathModel
        Blocks in ECSI causal order.
    """
    unknown = [k for k in blocks if k not in ECSI_CONSTRUCTS]
    if unknown:
        raise PathModelError(
            f"ecsi_model: unknown ECSI construct {unknown[0]!r} (known: {list(ECSI_CONSTRUCTS)})"
        )
    if "satisfaction" not in blocks:
        raise PathModelError("ecsi_model: the ECSI model needs a 'satisfaction' construct")
    ordered = {k: list(blocks[k]) for k in ECSI_CONSTRUCTS if k in blocks}
    paths = [(a, b) for a, b in ECSI_PATHS if a in ordered and b in ordered]
    lab = {k: (labels or {}).get(k, ECSI_CONSTRUCTS[k]) for k in ordered}
    return PathModel(
        blocks=ordered,
        paths=paths,
        modes=dict(modes or {}),
        labels=lab,
        target=target,
        scheme=scheme,
    )
