"""The study file: one YAML file that describes a survey study.

A study file (``config/<study>.yml``) says where the wave exports are and in what format,
which columns identify respondents, waves and the sampling design, every item with its
scale, missing codes, reverse coding and place in the area > indicator > item hierarchy,
the KPI items, the segments, the data-quality rules and the reporting rules.

It is read with :func:`yaml.safe_load` and validated by the pydantic models below. Every
mistake is reported in one :class:`StudyFileError` that names the file, the key path and
what was expected, e.g. ``config/demo.yml: items[12].scale: min 5 is greater than max 1``.

Paths inside a study file are relative to the project root: the folder that holds the
``config/`` folder the study file sits in (or the study file's own folder otherwise).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any, Literal

import pandas as pd
import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

__all__ = [
    "StudyFileError",
    "Study",
    "load_study",
    "project_root",
]

Code = int | float | str


class StudyFileError(ValueError):
    """A study file could not be read or does not describe a valid study."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --------------------------------------------------------------------------------------
# Building blocks
# --------------------------------------------------------------------------------------
class Scale(_Model):
    """The valid answer codes of a rating item: the integers ``min`` .. ``max``."""

    min: int
    max: int

    @model_validator(mode="after")
    def _ordered(self) -> Scale:
        if self.min >= self.max:
            word = "greater than" if self.min > self.max else "equal to"
            raise ValueError(f"min {self.min} is {word} max {self.max}")
        return self

    @property
    def midpoint(self) -> float:
        return (self.min + self.max) / 2

    def default_top_box(self) -> tuple[int, ...]:
        """The top-2 box: ``(max - 1, max)``."""
        return (self.max - 1, self.max)


class Item(_Model):
    """One survey question answered on a numeric rating scale."""

    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_.]*$")
    label: str
    scale: Scale
    role: Literal["satisfaction", "expectation", "importance", "kpi", "other"] = "satisfaction"
    area: str | None = None
    indicator: str | None = None
    missing_codes: list[Code] = Field(default_factory=list)
    reverse: bool = False
    expectation: str | None = None
    top_box: list[int] | None = None

    @model_validator(mode="after")
    def _codes(self) -> Item:
        for code in self.missing_codes:
            if isinstance(code, int | float) and self.scale.min <= code <= self.scale.max:
                raise ValueError(
                    f"missing code {code} lies inside the scale {self.scale.min}-{self.scale.max}"
                )
        for code in self.top_box or []:
            if not self.scale.min <= code <= self.scale.max:
                raise ValueError(
                    f"top_box code {code} lies outside the scale {self.scale.min}-{self.scale.max}"
                )
        if self.role == "satisfaction" and (self.area is None or self.indicator is None):
            raise ValueError("a satisfaction item needs an 'area' and an 'indicator'")
        return self

    @property
    def top_codes(self) -> tuple[int, ...]:
        """The codes counted as top box (stated, or the top two of the scale)."""
        return tuple(self.top_box) if self.top_box else self.scale.default_top_box()


class Area(_Model):
    name: str
    label: str
    weight: float | None = Field(default=None, ge=0)


class Indicator(_Model):
    name: str
    label: str
    area: str
    weight: float | None = Field(default=None, ge=0)


class DataFile(_Model):
    """One export file: a wave, or several waves stacked with a wave column."""

    path: str
    format: Literal["csv", "excel", "spss", "qualtrics", "parquet"] = "csv"
    encoding: str | None = None
    sheet: str | int | None = None
    wave: str | None = None


class WaveSpec(_Model):
    column: str = "wave"
    order: list[str] = Field(min_length=1)
    labels: dict[str, str] = Field(default_factory=dict)

    @field_validator("order")
    @classmethod
    def _unique(cls, order: list[str]) -> list[str]:
        dup = [w for w, k in Counter(order).items() if k > 1]
        if dup:
            raise ValueError(f"wave {dup[0]!r} is listed more than once")
        return order


class DesignSpec(_Model):
    weight: str | None = None
    strata: str | None = None
    cluster: str | None = None
    fpc: str | None = None


class DataSpec(_Model):
    root: str
    files: list[DataFile] = Field(min_length=1)
    respondent_id: str
    wave: WaveSpec
    design: DesignSpec = DesignSpec()
    duration: str | None = None
    text_columns: list[str] = Field(default_factory=list)
    operations: str | None = None


class Segment(_Model):
    column: str
    label: str
    values: dict[str, str] = Field(min_length=1)


class KPIs(_Model):
    overall: str
    nps: str | None = None
    ces: str | None = None
    loyalty: list[str] = Field(default_factory=list)


Action = Literal["exclude", "flag", "off"]


class DuplicateRule(_Model):
    action: Action = "exclude"


class SpeederRule(_Model):
    action: Action = "exclude"
    method: Literal["median_fraction", "zscore"] = "median_fraction"
    fraction: float = Field(default=1 / 3, gt=0, lt=1)
    z: float = Field(default=2.0, gt=0)


class StraightlinerRule(_Model):
    action: Action = "exclude"
    grid: list[str] = Field(default_factory=list)
    min_items: int = Field(default=8, ge=3)
    max_run_share: float = Field(default=1.0, gt=0, le=1)


class IncompleteRule(_Model):
    action: Action = "exclude"
    min_answered_share: float = Field(default=0.5, gt=0, le=1)


class OutOfRangeRule(_Model):
    action: Action = "flag"
    max_per_respondent: int = Field(default=3, ge=0)


class QualityRules(_Model):
    duplicates: DuplicateRule = DuplicateRule()
    speeders: SpeederRule = SpeederRule()
    straightliners: StraightlinerRule = StraightlinerRule()
    incomplete: IncompleteRule = IncompleteRule()
    out_of_range: OutOfRangeRule = OutOfRangeRule()


class WeightingSpec(_Model):
    """Raking of weights to known population margins (iterative proportional fitting)."""

    method: Literal["rake"] = "rake"
    output: str = Field(default="rake_weight", pattern=r"^[A-Za-z_][A-Za-z0-9_.]*$")
    base_weight: str | None = None
    by_wave: bool = True
    margins: dict[str, dict[str, float]] = Field(min_length=1)
    trim: tuple[float, float] | None = None
    max_iter: int = Field(default=100, ge=1)
    tol: float = Field(default=1e-6, gt=0)

    @model_validator(mode="after")
    def _targets(self) -> WeightingSpec:
        for col, targets in self.margins.items():
            if not targets:
                raise ValueError(f"margins.{col}: no categories given")
            for value, t in targets.items():
                if not t >= 0:
                    raise ValueError(f"margins.{col}.{value}: target {t} is negative")
            if sum(targets.values()) <= 0:
                raise ValueError(f"margins.{col}: targets sum to 0")
        if self.trim is not None:
            lo, hi = self.trim
            if not 0 < lo < 1 < hi:
                raise ValueError(f"trim: bounds must satisfy 0 < low < 1 < high, got [{lo}, {hi}]")
        return self


class Reporting(_Model):
    min_base: int = Field(default=30, ge=1)
    suppress_below: int = Field(default=10, ge=0)
    alpha: float = Field(default=0.05, gt=0, lt=1)
    confidence: float = Field(default=0.95, gt=0, lt=1)
    correction: Literal["holm", "fdr_bh", "bonferroni", "none"] = "holm"

    @model_validator(mode="after")
    def _bases(self) -> Reporting:
        if self.suppress_below > self.min_base:
            raise ValueError(
                f"suppress_below {self.suppress_below} is greater than min_base {self.min_base}"
            )
        return self


class StudyInfo(_Model):
    name: str = Field(pattern=r"^[A-Za-z0-9_-]+$")
    title: str
    client: str | None = None
    description: str | None = None


Name = Annotated[str, Field(min_length=1)]


# --------------------------------------------------------------------------------------
# The structural model: a PLS path model of the index (ECSI / ACSI; issue 13)
# --------------------------------------------------------------------------------------
#: ECSI construct names accepted under ``model.ecsi`` (see analysis_helpers.pls.model)
ECSI_NAMES = ("image", "expectation", "quality", "value", "satisfaction", "complaints", "loyalty")


class ModelConstruct(_Model):
    """One construct of ``model.constructs``: its items (a list, or an area) and mode."""

    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_.]*$")
    label: str | None = None
    items: list[str] | None = None
    area: str | None = None
    mode: Literal["A", "B"] = "A"

    @model_validator(mode="after")
    def _source(self) -> ModelConstruct:
        if self.items is not None and self.area is not None:
            raise ValueError(f"construct {self.name!r}: give 'items' or 'area', not both")
        if self.area is None and not self.items:
            raise ValueError(
                f"construct {self.name!r} has no items: give 'items' (item names) or 'area' "
                "(an area of the hierarchy)"
            )
        return self


class ModelSpec(_Model):
    """The ``model`` section: the PLS path model behind the satisfaction index."""

    constructs: list[ModelConstruct] | None = None
    paths: list[tuple[str, str]] | None = None
    ecsi: dict[str, str | list[str]] | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    modes: dict[str, Literal["A", "B"]] = Field(default_factory=dict)
    target: str | None = None
    scheme: Literal["path", "centroid", "factorial"] = "path"

    @field_validator("paths", mode="before")
    @classmethod
    def _pairs(cls, value: Any) -> Any:
        if not isinstance(value, list):
            return value
        out = []
        for k, p in enumerate(value):
            if isinstance(p, str):
                parts = [s.strip() for s in p.split("->")]
                if len(parts) != 2 or not all(parts):
                    raise ValueError(f"paths[{k}]: {p!r} is not of the form 'from -> to'")
                out.append(tuple(parts))
            else:
                out.append(p)
        return out

    @model_validator(mode="after")
    def _shape(self) -> ModelSpec:
        if self.ecsi is None and self.constructs is None:
            raise ValueError(
                "give 'ecsi' (ECSI constructs mapped to areas or items) or 'constructs' and 'paths'"
            )
        if self.ecsi is not None and (self.constructs is not None or self.paths is not None):
            raise ValueError("give 'ecsi' or 'constructs' and 'paths', not both")
        if self.ecsi is not None:
            for key in self.ecsi:
                if key not in ECSI_NAMES:
                    raise ValueError(
                        f"ecsi: unknown ECSI construct {key!r} (known: {list(ECSI_NAMES)})"
                    )
            if "satisfaction" not in self.ecsi:
                raise ValueError("ecsi: the ECSI model needs a 'satisfaction' construct")
            return self
        if not self.paths:
            raise ValueError(
                "'paths' is required with 'constructs' (e.g. 'quality -> satisfaction')"
            )
        names = [c.name for c in self.constructs]
        dup = [n for n, k in Counter(names).items() if k > 1]
        if dup:
            raise ValueError(f"constructs: name {dup[0]!r} is used more than once")
        for k, (a, b) in enumerate(self.paths):
            for end in (a, b):
                if end not in names:
                    raise ValueError(
                        f"paths[{k}]: {a} -> {b}: unknown construct {end!r} (constructs: {names})"
                    )
        graph = {n: [b for a, b in self.paths if a == n] for n in names}
        cycle = _model_cycle(graph)
        if cycle:
            raise ValueError(
                "paths: the paths make a cycle " + " -> ".join(cycle) + "; a PLS path model "
                "must be recursive (remove one of these paths)"
            )
        return self

    def construct_names(self) -> list[str]:
        if self.ecsi is not None:
            return [n for n in ECSI_NAMES if n in self.ecsi]
        return [c.name for c in self.constructs]

    def blocks(self, spec: StudySpec) -> dict[str, list[str]]:
        """Each construct's items, areas expanded to their items (in file order)."""
        by_area: dict[str, list[str]] = {}
        for item in spec.items:
            if item.area is not None:
                by_area.setdefault(item.area, []).append(item.name)
        out: dict[str, list[str]] = {}
        if self.ecsi is not None:
            for name in self.construct_names():
                refs = self.ecsi[name]
                refs = [refs] if isinstance(refs, str) else refs
                out[name] = [i for r in refs for i in by_area.get(r, [r])]
        else:
            for c in self.constructs:
                out[c.name] = by_area.get(c.area, []) if c.area is not None else list(c.items)
        return out

    def mode_of(self, name: str) -> str:
        if self.constructs is not None:
            return next(c.mode for c in self.constructs if c.name == name)
        return self.modes.get(name, "A")

    def label_of(self, name: str) -> str | None:
        if self.constructs is not None:
            found = next(c.label for c in self.constructs if c.name == name)
            if found is not None:
                return found
        return self.labels.get(name)


def _model_cycle(graph: dict[str, list[str]]) -> list[str] | None:
    state = dict.fromkeys(graph, 0)
    stack: list[str] = []

    def visit(n: str) -> list[str] | None:
        state[n] = 1
        stack.append(n)
        for m in graph[n]:
            if state[m] == 1:
                return [*stack[stack.index(m) :], m]
            if state[m] == 0 and (found := visit(m)):
                return found
        stack.pop()
        state[n] = 2
        return None

    for n in graph:
        if state[n] == 0 and (found := visit(n)):
            return found
    return None


def _model_references(spec: StudySpec) -> list[str]:
    """Cross-reference checks of ``model``: areas, items, modes, labels, target."""
    m = spec.model
    if m is None:
        return []
    errors: list[str] = []
    areas = {a.name for a in spec.areas}
    items = {i.name for i in spec.items}
    names = m.construct_names()
    if m.ecsi is not None:
        for key, refs in m.ecsi.items():
            for r in [refs] if isinstance(refs, str) else refs:
                if r not in areas and r not in items:
                    errors.append(f"model.ecsi.{key}: unknown area or item {r!r}")
    else:
        for k, c in enumerate(m.constructs):
            if c.area is not None and c.area not in areas:
                errors.append(
                    f"model.constructs[{k}].area: unknown area {c.area!r} (known: {sorted(areas)})"
                )
            for j, i in enumerate(c.items or []):
                if i not in items:
                    errors.append(f"model.constructs[{k}].items[{j}]: unknown item {i!r}")
    for key in ("labels", "modes"):
        for name in getattr(m, key):
            if name not in names:
                errors.append(f"model.{key}.{name}: unknown construct (constructs: {names})")
    if errors:
        return errors
    blocks = m.blocks(spec)
    owner: dict[str, str] = {}
    for name, its in blocks.items():
        if not its:
            errors.append(f"model: construct {name!r} has no items (its area has none)")
        if m.mode_of(name) == "B" and len(its) == 1:
            errors.append(
                f"model: construct {name!r} is in mode B (formative) with one item ({its[0]!r}); "
                "a formative construct needs two or more items - use mode A"
            )
        for i in its:
            if i in owner:
                errors.append(f"model: item {i!r} is in constructs {owner[i]!r} and {name!r}")
            owner.setdefault(i, name)
    if m.target is not None and m.target not in names:
        errors.append(f"model.target: unknown construct {m.target!r} (constructs: {names})")
    if m.ecsi is None:
        linked = {c for p in m.paths for c in p}
        for name in names:
            if name not in linked:
                errors.append(f"model: construct {name!r} is on no path")
        if m.target is not None and m.target in names and m.target not in {b for _, b in m.paths}:
            errors.append(f"model.target: {m.target!r} has no incoming path, so nothing drives it")
    return errors


# --------------------------------------------------------------------------------------
# Open-ended comments: the theme dictionary (analysis_helpers.comments uses it)
# --------------------------------------------------------------------------------------
#: theme names the coded-comments table uses for its own columns
RESERVED_THEME_NAMES = ("has_comment", "no_theme")


class CommentTheme(_Model):
    """One theme of the open comments: a label and the keywords that signal it."""

    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    label: Name
    keywords: list[str] = Field(min_length=1)

    @field_validator("name")
    @classmethod
    def _not_reserved(cls, name: str) -> str:
        if name in RESERVED_THEME_NAMES:
            raise ValueError(
                f"theme name {name!r} is reserved (reserved: {', '.join(RESERVED_THEME_NAMES)})"
            )
        return name

    @field_validator("keywords")
    @classmethod
    def _keywords(cls, keywords: list[str]) -> list[str]:
        from .comments import keyword_key, keyword_problem

        seen: dict[str, int] = {}
        for j, kw in enumerate(keywords):
            problem = keyword_problem(kw)
            if problem:
                raise ValueError(f"[{j}] {problem}")
            key = keyword_key(kw)
            if key in seen:
                k = seen[key]
                raise ValueError(f"[{j}] {kw!r} is the same keyword as [{k}] {keywords[k]!r}")
            seen[key] = j
        return keywords


class CommentsSpec(_Model):
    """The open-ended question to analyse and its theme dictionary (all optional)."""

    column: str | None = None
    outcome: str | None = None
    languages: list[Literal["en", "zh", "de", "fr", "es"]] = Field(
        default_factory=lambda: ["en", "zh"], min_length=1
    )
    no_comment: list[Name] = Field(default_factory=list)
    chinese_match: Literal["substring", "token"] = "substring"
    themes: list[CommentTheme] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique(self) -> CommentsSpec:
        for what, values in (
            ("name", [t.name for t in self.themes]),
            ("label", [t.label for t in self.themes]),
        ):
            first: dict[str, int] = {}
            for k, v in enumerate(values):
                if v in first:
                    raise ValueError(f"themes[{k}].{what}: {v!r} is also themes[{first[v]}].{what}")
                first[v] = k
        return self


def _comments_references(spec: StudySpec) -> list[str]:
    """Cross-references of the ``comments`` section (called from ``StudySpec._references``)."""
    c = spec.comments
    if c is None:
        return []
    errors = []
    text = spec.data.text_columns
    if c.column is not None and c.column not in text:
        errors.append(
            f"comments.column: {c.column!r} is not one of data.text_columns {text} "
            f"(list the open-ended column there)"
        )
    elif c.column is None and len(text) != 1:
        errors.append(
            "comments.column: data.text_columns lists no column; list the open-ended column there"
            if not text
            else f"comments.column: data.text_columns lists {len(text)} columns {text}; "
            f"name the one to analyse"
        )
    if c.outcome is not None and c.outcome not in {i.name for i in spec.items}:
        errors.append(f"comments.outcome: unknown item {c.outcome!r}")
    return errors


class RunnerSettings(_Model):
    """Limits and retention of report runs (``runner:``); the report command's
    ``--timeout``, ``--run-timeout`` and ``--keep`` override them. ``null``: no limit."""

    notebook_timeout: int | None = Field(default=1800, ge=1)  # seconds per notebook
    run_timeout: int | None = Field(default=7200, ge=1)  # seconds for the whole run
    keep: int | None = Field(default=None, ge=1)  # newest reports kept (null: all)


class StudySpec(_Model):
    """The whole study file, as validated data."""

    study: StudyInfo
    data: DataSpec
    areas: list[Area] = Field(min_length=1)
    indicators: list[Indicator] = Field(min_length=1)
    items: list[Item] = Field(min_length=1)
    kpis: KPIs
    segments: list[Segment] = Field(default_factory=list)
    quality: QualityRules = QualityRules()
    weighting: WeightingSpec | None = None
    reporting: Reporting = Reporting()
    model: ModelSpec | None = None
    comments: CommentsSpec | None = None
    runner: RunnerSettings = RunnerSettings()

    @model_validator(mode="after")
    def _references(self) -> StudySpec:
        errors: list[str] = []

        def unique(kind: str, names: Iterable[str]) -> None:
            for name, k in Counter(names).items():
                if k > 1:
                    errors.append(f"{kind}: name {name!r} is used {k} times")

        unique("areas", (a.name for a in self.areas))
        unique("indicators", (i.name for i in self.indicators))
        unique("items", (i.name for i in self.items))
        unique("segments", (s.column for s in self.segments))
        areas = {a.name for a in self.areas}
        indicators = {i.name: i for i in self.indicators}
        items = {i.name: i for i in self.items}
        for k, ind in enumerate(self.indicators):
            if ind.area not in areas:
                errors.append(
                    f"indicators[{k}].area: unknown area {ind.area!r} (known: {sorted(areas)})"
                )
        for k, item in enumerate(self.items):
            if item.area is not None and item.area not in areas:
                errors.append(f"items[{k}].area: unknown area {item.area!r}")
            if item.indicator is not None:
                ind = indicators.get(item.indicator)
                if ind is None:
                    errors.append(f"items[{k}].indicator: unknown indicator {item.indicator!r}")
                elif item.area is not None and ind.area != item.area:
                    errors.append(
                        f"items[{k}].indicator: indicator {item.indicator!r} belongs to area "
                        f"{ind.area!r}, not {item.area!r}"
                    )
            if item.expectation is not None:
                exp = items.get(item.expectation)
                if exp is None:
                    errors.append(f"items[{k}].expectation: unknown item {item.expectation!r}")
                elif exp.scale != item.scale:
                    errors.append(
                        f"items[{k}].expectation: {item.expectation!r} is on scale "
                        f"{exp.scale.min}-{exp.scale.max}, {item.name!r} on "
                        f"{item.scale.min}-{item.scale.max}"
                    )
        used = {i.indicator for i in self.items if i.indicator}
        for k, ind in enumerate(self.indicators):
            if ind.name not in used:
                errors.append(f"indicators[{k}]: indicator {ind.name!r} has no items")
        kp = self.kpis
        for key, name in [("overall", kp.overall), ("nps", kp.nps), ("ces", kp.ces)] + [
            (f"loyalty[{j}]", n) for j, n in enumerate(kp.loyalty)
        ]:
            if name is not None and name not in items:
                errors.append(f"kpis.{key}: unknown item {name!r}")
        if kp.nps is not None and kp.nps in items:
            sc = items[kp.nps].scale
            if (sc.min, sc.max) != (0, 10):
                errors.append(
                    f"kpis.nps: item {kp.nps!r} must be on a 0-10 scale, not {sc.min}-{sc.max}"
                )
        for j, name in enumerate(self.quality.straightliners.grid):
            if name not in items:
                errors.append(f"quality.straightliners.grid[{j}]: unknown item {name!r}")
        for j, f in enumerate(self.data.files):
            if f.wave is not None and f.wave not in self.data.wave.order:
                errors.append(f"data.files[{j}].wave: wave {f.wave!r} is not in data.wave.order")
        wt = self.weighting
        if wt is not None:
            segs = {s.column: s for s in self.segments}
            for col, targets in wt.margins.items():
                if col not in segs:
                    errors.append(
                        f"weighting.margins.{col}: not a segment column (margins need the "
                        f"segment's value labels; segments: {sorted(segs)})"
                    )
                    continue
                known = set(segs[col].values)
                for value in targets:
                    if value not in known:
                        errors.append(
                            f"weighting.margins.{col}.{value}: not a value of segment {col!r} "
                            f"(values: {sorted(known)})"
                        )
                for value in sorted(known - set(targets)):
                    errors.append(f"weighting.margins.{col}: no target for value {value!r}")
            if self.data.design.weight != wt.output:
                errors.append(
                    f"data.design.weight: must name the raked weight {wt.output!r} "
                    f"(weighting.output) so that every estimate uses it, not "
                    f"{self.data.design.weight!r}"
                )
            if wt.output in items or wt.output == wt.base_weight:
                errors.append(f"weighting.output: {wt.output!r} is already a column of the study")
        errors.extend(_model_references(self))
        errors += _comments_references(self)
        if errors:
            raise ValueError("\n".join(errors))
        return self


# --------------------------------------------------------------------------------------
# The study as the analyses use it
# --------------------------------------------------------------------------------------
class Study:
    """A validated study file with the lookups the analyses need.

    Create it with :func:`load_study`. ``spec`` holds the validated file; the methods
    answer questions such as "which items are satisfaction items" or "what is the
    hierarchy table" so that notebooks never parse the YAML themselves.
    """

    def __init__(self, spec: StudySpec, *, path: Path, root: Path) -> None:
        self.spec = spec
        self.path = path
        self.root = root

    def __repr__(self) -> str:
        return f"Study({self.name!r}, {len(self.spec.items)} items, file={str(self.path)!r})"

    # names and places -------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.spec.study.name

    @property
    def title(self) -> str:
        return self.spec.study.title

    def resolve(self, path: str | Path) -> Path:
        """A path from the study file, resolved against the project root."""
        p = Path(path)
        return p if p.is_absolute() else (self.root / p)

    @property
    def raw_dir(self) -> Path:
        return self.resolve(self.spec.data.root)

    @property
    def processed_dir(self) -> Path:
        return self.root / "data" / "processed" / self.name

    def data_files(self) -> list[Path]:
        return [self.raw_dir / f.path for f in self.spec.data.files]

    # items -------------------------------------------------------------------------
    @property
    def items(self) -> dict[str, Item]:
        return {i.name: i for i in self.spec.items}

    def item_names(self, role: str | None = None, *, area: str | None = None) -> list[str]:
        """Item names in file order, optionally of one role and/or one area."""
        return [
            i.name
            for i in self.spec.items
            if (role is None or i.role == role) and (area is None or i.area == area)
        ]

    def label(self, name: str) -> str:
        """The label of an item, area, indicator or segment column (the name if none)."""
        for coll in (self.spec.items, self.spec.areas, self.spec.indicators):
            for x in coll:
                if x.name == name:
                    return x.label
        for s in self.spec.segments:
            if s.column == name:
                return s.label
        return name

    def labels(self) -> dict[str, str]:
        """Every item, area and indicator name mapped to its label."""
        out = {x.name: x.label for x in [*self.spec.areas, *self.spec.indicators]}
        out.update({i.name: i.label for i in self.spec.items})
        return out

    def hierarchy(self) -> pd.DataFrame:
        """The satisfaction items with their place in the hierarchy and stated weights.

        Returns
        -------
        DataFrame
            One row per satisfaction item: ``item``, ``label``, ``indicator``, ``area``,
            ``scale_min``, ``scale_max``, ``weight_indicator``, ``weight_area`` (NaN where
            the study file states no weight: equal weights at that level).
        """
        ind = {i.name: i for i in self.spec.indicators}
        area = {a.name: a for a in self.spec.areas}
        rows = []
        for i in self.spec.items:
            if i.role != "satisfaction":
                continue
            rows.append(
                {
                    "item": i.name,
                    "label": i.label,
                    "indicator": i.indicator,
                    "indicator_label": ind[i.indicator].label,
                    "area": i.area,
                    "area_label": area[i.area].label,
                    "scale_min": i.scale.min,
                    "scale_max": i.scale.max,
                    "weight_indicator": ind[i.indicator].weight,
                    "weight_area": area[i.area].weight,
                }
            )
        return pd.DataFrame(rows).astype({"weight_indicator": float, "weight_area": float})

    def expectation_pairs(self) -> list[tuple[str, str]]:
        """(expectation item, satisfaction item) pairs, in file order."""
        return [(i.expectation, i.name) for i in self.spec.items if i.expectation]

    # waves, segments, design ---------------------------------------------------------
    @property
    def wave_column(self) -> str:
        return self.spec.data.wave.column

    @property
    def waves(self) -> list[str]:
        return list(self.spec.data.wave.order)

    def wave_label(self, wave: str) -> str:
        return self.spec.data.wave.labels.get(wave, wave)

    @property
    def segments(self) -> list[Segment]:
        return list(self.spec.segments)

    def segment_columns(self) -> list[str]:
        return [s.column for s in self.spec.segments]

    def segment(self, column: str) -> Segment:
        for s in self.spec.segments:
            if s.column == column:
                return s
        raise KeyError(f"{column!r} is not a segment of study {self.name!r}")

    @property
    def id_column(self) -> str:
        return self.spec.data.respondent_id

    @property
    def weight_column(self) -> str | None:
        return self.spec.data.design.weight

    def design_columns(self) -> dict[str, str | None]:
        """The design roles (weight, strata, cluster, fpc) mapped to column names."""
        return self.spec.data.design.model_dump()

    @property
    def weighting(self) -> WeightingSpec | None:
        return self.spec.weighting

    def raw_design_columns(self) -> dict[str, str | None]:
        """Design columns read from the exports: the raked weight, which the cleaning
        step computes, is not one of them (its ``base_weight`` is, if given)."""
        cols = self.design_columns()
        wt = self.spec.weighting
        if wt is not None:
            cols["weight"] = wt.base_weight
        return cols

    @property
    def reporting(self) -> Reporting:
        return self.spec.reporting

    @property
    def kpis(self) -> KPIs:
        return self.spec.kpis


# --------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------
def project_root(start: str | Path | None = None) -> Path:
    """The project root: the nearest folder at or above ``start`` with a ``config/`` folder
    and a ``pyproject.toml``; failing that, the checkout this package was installed from.
    """
    here = Path(start or Path.cwd()).resolve()
    for p in [here, *here.parents]:
        if (p / "pyproject.toml").is_file() and (p / "config").is_dir():
            return p
    pkg_root = Path(__file__).resolve().parents[2]
    if (pkg_root / "config").is_dir():
        return pkg_root
    raise FileNotFoundError(
        f"no project root (a folder with pyproject.toml and config/) at or above {here}"
    )


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif str(part).startswith(("function-after", "function-before")):
            continue
        else:
            out += ("." if out else "") + str(part)
    return out


def _format_errors(shown: str, exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unexpected key (check the spelling; see docs/study-file.md)"
        elif err["type"] == "missing":
            msg = "required key is missing"
        where = _loc(err["loc"])
        for part in msg.split("\n"):
            # cross-reference errors carry their own key path
            if where:
                lines.append(f"{shown}: {where}: {part}")
            else:
                lines.append(f"{shown}: {part}")
    return "\n".join(lines)


def load_study(
    path: str | Path, *, root: str | Path | None = None, check_files: bool = True
) -> Study:
    """Read and validate a study file.

    Parameters
    ----------
    path : str or Path
        The YAML study file; a relative path is taken from the project root if it does
        not exist relative to the working directory.
    root : str or Path, optional
        The project root that paths in the file are relative to. By default the folder
        above ``config/`` (or the study file's folder).
    check_files : bool, default True
        Also check that every data file the study names exists.

    Returns
    -------
    Study

    Raises
    ------
    StudyFileError
        If the file is missing, is not valid YAML, or does not describe a valid study. The
        message names the file, the key path and what was expected, one problem a line.
    """
    p = Path(path)
    if not p.is_absolute() and not p.exists():
        try:
            candidate = project_root() / p
        except FileNotFoundError:
            candidate = p
        p = candidate
    shown = _display(p)
    if not p.is_file():
        raise StudyFileError(f"{shown}: study file not found")
    try:
        raw = yaml.safe_load(p.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise StudyFileError(
            f"{shown}: not UTF-8 text ({exc.reason} at byte {exc.start})"
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise StudyFileError(f"{shown}: {where}invalid YAML: {problem}") from None
    if not isinstance(raw, dict):
        raise StudyFileError(
            f"{shown}: expected a mapping of keys at the top, got {type(raw).__name__}"
        )
    try:
        spec = StudySpec.model_validate(raw)
    except ValidationError as exc:
        raise StudyFileError(_format_errors(shown, exc)) from None
    if root is None:
        parent = p.resolve().parent
        root = parent.parent if parent.name == "config" else parent
    study = Study(spec, path=p.resolve(), root=Path(root).resolve())
    if check_files:
        missing = [
            (j, f) for j, f in enumerate(spec.data.files) if not (study.raw_dir / f.path).is_file()
        ]
        if missing:
            raise StudyFileError(
                "\n".join(
                    f"{shown}: data.files[{j}].path: file not found: {_display(study.raw_dir / f.path)}"
                    for j, f in missing
                )
            )
    return study
