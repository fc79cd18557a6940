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

import math
import os
from collections import Counter
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
    "code_text",
    "PARTS",
    "NPS_SCALES",
    "SINGLE_WAVE",
    "ROW_ID",
    "DATA_DIRS_ENV",
    "allowed_folders",
    "path_problems",
    "kpi_names",
]

Code = int | float | str

#: the wave code of a study whose exports carry no wave (one wave, no ``data.wave``)
SINGLE_WAVE = "all"
#: the id column of the clean data when the study file names no ``data.respondent_id``:
#: ``<file>:<row>`` (the file as named in the study file, the row as seen in that file)
ROW_ID = "_id"


class StudyFileError(ValueError):
    """A study file could not be read or does not describe a valid study."""


def code_text(value: Any) -> str:
    """Return a code as the study file and the data share it: text, whole numbers without ``.0``.

    ``1``, ``1.0`` and ``"1"`` all become ``"1"``; ``1.5`` stays ``"1.5"``; text is kept
    as written (trimmed). YAML reads ``yes``/``no``/``on``/``off`` as booleans, which are
    not accepted as codes: quote them.

    Raises
    ------
    ValueError
        For a boolean, a missing value or a container.
    """
    if isinstance(value, bool):
        raise ValueError(
            f"the code {value!r} was read as a yes/no value: quote it in the study file "
            "(e.g. 'yes': ...)"
        )
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value:
            raise ValueError("a code is missing (.nan)")
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, str):
        return value.strip()
    if value is None:
        raise ValueError("a code is empty (null)")
    raise ValueError(f"a code must be a number or text, not {type(value).__name__}")


def _code_keys(mapping: Any) -> Any:
    """Return the mapping with its keys as code text (labels given as numbers become text too)."""
    if not isinstance(mapping, dict):
        return mapping
    return {
        code_text(k): (
            code_text(v) if isinstance(v, int | float) and not isinstance(v, bool) else v
        )
        for k, v in mapping.items()
    }


def _code_list(values: Any) -> Any:
    if not isinstance(values, list):
        return values
    return [code_text(v) if isinstance(v, int | float | str) else v for v in values]


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
        """Return the top-2 box: ``(max - 1, max)``."""
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

    @field_validator("wave", mode="before")
    @classmethod
    def _wave_code(cls, wave: Any) -> Any:
        return None if wave is None else code_text(wave) if isinstance(wave, int | float) else wave


class WaveSpec(_Model):
    """The waves: the column that holds them and their order in time.

    ``order`` may be omitted when every file declares its wave (``data.files[].wave``):
    the waves are then in file order.
    """

    column: str = "wave"
    order: list[str] = Field(default_factory=list)
    labels: dict[str, str] = Field(default_factory=dict)

    @field_validator("order", mode="before")
    @classmethod
    def _order_codes(cls, order: Any) -> Any:
        return _code_list(order)

    @field_validator("labels", mode="before")
    @classmethod
    def _label_codes(cls, labels: Any) -> Any:
        return _code_keys(labels)

    @field_validator("order")
    @classmethod
    def _unique(cls, order: list[str]) -> list[str]:
        dup = [w for w, k in Counter(order).items() if k > 1]
        if dup:
            raise ValueError(f"wave {dup[0]!r} is listed more than once")
        return order


_REPLICATE_TYPES = Literal["JK1", "JKn", "BRR", "Fay", "bootstrap", "subbootstrap", "SDR", "other"]


class ReplicatesSpec(_Model):
    """Replicate weights the data carry (``data.design.replicates``), as R ``svrepdesign``.

    The columns are ``columns`` (a list) or ``prefix`` with ``count`` (``rep1`` ..
    ``rep80``). ``scale`` defaults by ``type`` (R's ``svrepdesign`` defaults, ``R``
    replicates): JK1 ``(R - 1) / R``; BRR ``1 / R``; Fay ``1 / (R (1 - rho)^2)``;
    bootstrap and subbootstrap ``1 / (R - 1)``; SDR ``4 / R``; JKn ``1`` with its
    ``rscales``; ``other`` needs ``scale``.
    """

    columns: list[str] | None = None
    prefix: str | None = None
    count: int | None = Field(default=None, ge=2)
    type: _REPLICATE_TYPES = "other"
    scale: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    rscales: list[Annotated[float, Field(ge=0, allow_inf_nan=False)]] | None = None
    #: centre the replicates at the full-sample estimate (True) or at their mean
    mse: bool = False
    #: Fay's factor (type Fay)
    rho: float | None = Field(default=None, gt=0, lt=1)
    #: degrees of freedom (default: replicates - 1)
    df: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _columns_given(self) -> ReplicatesSpec:
        if (self.columns is None) == (self.prefix is None):
            raise ValueError(
                "give the replicate weight columns (columns: [rep1, rep2, ...]) or a prefix "
                "and count (prefix: rep, count: 80), not both"
            )
        if self.prefix is not None and self.count is None:
            raise ValueError(f"prefix {self.prefix!r}: give count, the number of replicates")
        if self.columns is not None:
            if len(self.columns) < 2:
                raise ValueError("give at least 2 replicate weight columns")
            dup = [c for c, k in Counter(self.columns).items() if k > 1]
            if dup:
                raise ValueError(f"column {dup[0]!r} is listed more than once")
        R = len(self.names())
        if self.rscales is not None and len(self.rscales) != R:
            raise ValueError(f"{len(self.rscales)} rscales for {R} replicate columns")
        if self.type == "other" and self.scale is None:
            raise ValueError("type 'other' needs scale (the factor of the replicate variance)")
        if self.type == "JKn" and self.rscales is None:
            raise ValueError("type 'JKn' needs rscales ((n_h - 1) / n_h of each replicate)")
        if self.type == "Fay" and self.rho is None and self.scale is None:
            raise ValueError("type 'Fay' needs rho (or scale)")
        if self.rho is not None and self.type != "Fay":
            raise ValueError(f"rho is Fay's factor; type is {self.type!r}")
        return self

    def names(self) -> list[str]:
        """Return the replicate weight columns."""
        if self.columns is not None:
            return list(self.columns)
        return [f"{self.prefix}{k}" for k in range(1, int(self.count or 0) + 1)]

    def resolved_scale(self) -> float:
        """Return ``scale``, or the default of ``type`` for the number of replicates."""
        if self.scale is not None:
            return float(self.scale)
        R = len(self.names())
        rho = float(self.rho or 0.0)
        return {
            "JK1": (R - 1) / R,
            "JKn": 1.0,
            "BRR": 1 / R,
            "Fay": 1 / (R * (1 - rho) ** 2),
            "bootstrap": 1 / (R - 1),
            "subbootstrap": 1 / (R - 1),
            "SDR": 4 / R,
        }[self.type]


class DesignSpec(_Model):
    """The sampling design: weight, strata, the cluster and fpc of each stage.

    ``cluster`` and ``fpc`` take one column or a list, one per stage of a multi-stage
    sample, outermost first (``[district, school]``); there cannot be more fpc columns
    than stages.
    """

    weight: str | None = None
    strata: str | None = None
    cluster: str | list[str] | None = None
    fpc: str | list[str] | None = None
    #: a stratum with one PSU (e.g. a wave of one respondent): fail, adjust, remove or
    #: average, as ``SurveyDesign(lonely_psu=...)``
    lonely_psu: Literal["fail", "adjust", "remove", "average"] = "fail"
    #: replicate weights instead of strata and clusters (a public-use file)
    replicates: ReplicatesSpec | None = None

    @model_validator(mode="after")
    def _replicates_alone(self) -> DesignSpec:
        if self.replicates is None:
            return self
        if self.weight is None:
            raise ValueError(
                "replicates: give the full-sample weight too (design.weight); the replicate "
                "columns are analysis weights"
            )
        extra = [k for k in ("strata", "cluster", "fpc") if getattr(self, k) is not None]
        if extra:
            raise ValueError(
                f"replicates carry the design: remove {', '.join(extra)} (or the replicates)"
            )
        return self

    @field_validator("cluster", "fpc")
    @classmethod
    def _stage_list(cls, value: str | list[str] | None) -> str | list[str] | None:
        if isinstance(value, list):
            if not value:
                raise ValueError("give a column name or a non-empty list of column names")
            dup = [c for c, k in Counter(value).items() if k > 1]
            if dup:
                raise ValueError(f"column {dup[0]!r} is listed more than once")
        return value

    @model_validator(mode="after")
    def _fpc_stages(self) -> DesignSpec:
        clusters, fpcs = self.stages("cluster"), self.stages("fpc")
        if len(fpcs) > max(len(clusters), 1):
            raise ValueError(
                f"{len(fpcs)} fpc columns but {max(len(clusters), 1)} sampling stage(s): "
                "give a cluster column for every stage with an fpc (design.cluster: "
                "[psu, ..., respondent id])"
            )
        return self

    def stages(self, role: str) -> list[str]:
        """Return the columns of ``cluster`` or ``fpc`` as a list, one per stage."""
        value = getattr(self, role)
        if value is None:
            return []
        return [value] if isinstance(value, str) else list(value)


class RespondentOperations(_Model):
    """An operational file with one row per customer, joined to respondents by their id.

    E.g. each customer's waiting minutes, repair time or bill shock from the CRM.
    """

    path: str
    #: the file's customer-id column (default: the study's ``data.respondent_id``)
    id: str | None = None
    #: the metric columns (default: every numeric column but the id)
    metrics: list[str] = Field(default_factory=list)
    #: what satisfaction is: an item or an area (default ``kpis.overall``, else the index)
    outcome: str | None = None
    #: number of bands of each metric for the satisfaction curve (quantile bands)
    bands: int = Field(default=5, ge=2, le=20)


class DataSpec(_Model):
    root: str | None = None
    files: list[DataFile] = Field(min_length=1)
    respondent_id: str | None = None
    wave: WaveSpec | None = None
    design: DesignSpec = DesignSpec()
    duration: str | None = None
    text_columns: list[str] = Field(default_factory=list)
    operations: str | None = None
    respondent_operations: RespondentOperations | None = None


class Segment(_Model):
    """A column that splits respondents into groups, with its value labels in display order.

    Without ``values`` the codes and labels come from the data: an SPSS file's value labels
    (codes as text, e.g. ``"1"``, labelled ``"Postpaid"``), otherwise the codes found in the
    data, sorted, each its own label (see :meth:`Study.segment`).
    """

    column: str
    label: str | None = None
    values: dict[str, str] = Field(default_factory=dict)

    @field_validator("values", mode="before")
    @classmethod
    def _value_codes(cls, values: Any) -> Any:
        return _code_keys(values)

    @property
    def title(self) -> str:
        """The label, or the column name when the study file gives none."""
        return self.label or self.column


class KPIs(_Model):
    overall: str | None = None
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
    #: a rule that would exclude more than this share of a wave's rows stops the cleaning
    max_excluded_share: float = Field(default=0.5, gt=0, le=1)
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
    #: raking-aware standard errors: the variance from the residuals of the raking (R's
    #: linearisation after ``rake()``); false treats the raked weights as fixed
    raking_se: bool = True

    @field_validator("margins", mode="before")
    @classmethod
    def _margin_codes(cls, margins: Any) -> Any:
        if not isinstance(margins, dict):
            return margins
        return {k: _code_keys(v) for k, v in margins.items()}

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
    language: str = "en"

    @field_validator("language", mode="before")
    @classmethod
    def _language(cls, value: Any) -> str:
        from .text import LANGUAGES

        if value not in LANGUAGES:
            names = " or ".join(f"{code} ({name})" for code, name in LANGUAGES.items())
            raise ValueError(f"unknown language {value!r}: the report is written in {names}")
        return str(value)

    @model_validator(mode="after")
    def _bases(self) -> Reporting:
        if self.suppress_below > self.min_base:
            raise ValueError(
                f"suppress_below {self.suppress_below} is greater than min_base {self.min_base}"
            )
        return self


class StudyInfo(_Model):
    name: str = Field(pattern=r"^[A-Za-z0-9_-]+$")
    title: str | None = None
    client: str | None = None
    description: str | None = None


Name = Annotated[str, Field(min_length=1)]

#: the scales an NPS item may use (promoters 9-10, passives 7-8, detractors up to 6)
NPS_SCALES = ((0, 10), (1, 10))


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
        names = [c.name for c in self.constructs or []]
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
        return [c.name for c in self.constructs or []]

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
            for c in self.constructs or []:
                out[c.name] = by_area.get(c.area, []) if c.area is not None else list(c.items or [])
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
    areas = {a.name for a in spec.areas}
    items = {i.name for i in spec.items}
    names = m.construct_names()
    if m.ecsi is not None:
        errors = _ecsi_references(m.ecsi, areas, items)
    else:
        errors = _construct_references(m.constructs or [], areas, items)
    for key in ("labels", "modes"):
        for name in getattr(m, key):
            if name not in names:
                errors.append(f"model.{key}.{name}: unknown construct (constructs: {names})")
    if errors:
        return errors
    errors = _block_problems(m, spec)
    if m.target is not None and m.target not in names:
        errors.append(f"model.target: unknown construct {m.target!r} (constructs: {names})")
    if m.ecsi is None:
        errors += _path_problems(m.paths or [], names, m.target)
    return errors


class IndexSpec(_Model):
    """The ``index`` section: which weights the satisfaction index (CSI) rolls up with."""

    weights: str = "stated"

    @field_validator("weights", mode="before")
    @classmethod
    def _weights(cls, value: Any) -> str:
        if value not in INDEX_WEIGHTS:
            raise ValueError(
                f"unknown value {value!r}: use 'stated' (the study file's area and indicator "
                "weights, equal where none is stated) or 'model' (the items weighted by the "
                "structural model's rescaled outer weights)"
            )
        return str(value)


#: the values of ``index.weights``
INDEX_WEIGHTS = ("stated", "model")


def _index_references(spec: StudySpec) -> list[str]:
    """Cross-reference checks of ``index.weights: model``: a model holding every index item.

    Each area's items must lie in one construct, so that the outer weights (which sum to 1
    within a construct) compare the items of an area; the indicators' weights come from
    the model, so none may be stated.
    """
    if spec.index.weights != "model":
        return []
    if spec.model is None:
        return [
            "index.weights: 'model' needs a structural model: add a model: section "
            "(see docs/study-file.md) or use 'stated'"
        ]
    if _model_references(spec):
        return []  # the model's own messages say what to fix first
    owner = {i: c for c, its in spec.model.blocks(spec).items() for i in its}
    errors = []
    by_area: dict[str, list[str]] = {}
    for item in spec.items:
        if item.role == "satisfaction" and item.area is not None:
            by_area.setdefault(item.area, []).append(item.name)
    for area, its in by_area.items():
        outside = [i for i in its if i not in owner]
        if outside:
            errors.append(
                f"index.weights: 'model': item(s) {outside} of area {area!r} are in no construct "
                "of the model; put them in the area's construct or use 'stated'"
            )
            continue
        blocks = list(dict.fromkeys(owner[i] for i in its))
        if len(blocks) > 1:
            errors.append(
                f"index.weights: 'model': the items of area {area!r} are in constructs {blocks}; "
                "with weights from the model each area's items must be in one construct "
                "(outer weights compare items within a construct only)"
            )
    for k, ind in enumerate(spec.indicators):
        if ind.weight is not None:
            errors.append(
                f"indicators[{k}].weight: with index.weights: 'model' the indicators' weights "
                "come from the model; remove the weight or use index.weights: 'stated'"
            )
    return errors


def _ecsi_references(
    ecsi: dict[str, str | list[str]], areas: set[str], items: set[str]
) -> list[str]:
    """Return the problems of ``model.ecsi``: references to unknown areas or items."""
    errors = []
    for key, refs in ecsi.items():
        for r in [refs] if isinstance(refs, str) else refs:
            if r not in areas and r not in items:
                errors.append(f"model.ecsi.{key}: unknown area or item {r!r}")
    return errors


def _construct_references(
    constructs: list[ModelConstruct], areas: set[str], items: set[str]
) -> list[str]:
    """Return the problems of ``model.constructs``: unknown areas or items."""
    errors = []
    for k, c in enumerate(constructs):
        if c.area is not None and c.area not in areas:
            errors.append(
                f"model.constructs[{k}].area: unknown area {c.area!r} (known: {sorted(areas)})"
            )
        for j, i in enumerate(c.items or []):
            if i not in items:
                errors.append(f"model.constructs[{k}].items[{j}]: unknown item {i!r}")
    return errors


def _block_problems(m: ModelSpec, spec: StudySpec) -> list[str]:
    """Return the problems of the constructs' blocks: empty, one-item mode B, shared items."""
    errors = []
    owner: dict[str, str] = {}
    for name, its in m.blocks(spec).items():
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
    return errors


def _path_problems(paths: list[tuple[str, str]], names: list[str], target: str | None) -> list[str]:
    """Return the problems of ``model.paths``: constructs on no path, a target nothing drives."""
    errors = []
    linked = {c for p in paths for c in p}
    for name in names:
        if name not in linked:
            errors.append(f"model: construct {name!r} is on no path")
    if target is not None and target in names and target not in {b for _, b in paths}:
        errors.append(f"model.target: {target!r} has no incoming path, so nothing drives it")
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


_Language = Literal["en", "zh", "de", "fr", "es"]


def _default_languages() -> list[_Language]:
    """Return the default languages of the comments: English and Chinese."""
    return ["en", "zh"]


class CommentsSpec(_Model):
    """The open-ended question to analyse and its theme dictionary (all optional)."""

    column: str | None = None
    outcome: str | None = None
    languages: list[_Language] = Field(default_factory=_default_languages, min_length=1)
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
    """Limits and retention of report runs (``runner:``).

    The report command's ``--timeout``, ``--run-timeout`` and ``--keep`` override them.
    ``null``: no limit.
    """

    notebook_timeout: int | None = Field(default=1800, ge=1)  # seconds per notebook
    run_timeout: int | None = Field(default=7200, ge=1)  # seconds for the whole run
    keep: int | None = Field(default=None, ge=1)  # newest reports kept (null: all)


class EngineSpec(_Model):
    """Where the KPI tables are computed (``engine:``); a plain name is the ``name``.

    ``memory``: in memory (pandas / NumPy); ``duckdb``: the out-of-core engine
    (:mod:`analysis_helpers.engine`) over the clean Parquet file; ``auto`` (default):
    DuckDB when the clean data file is larger than ``memory_fraction`` of the machine's
    memory, else in memory.
    """

    name: Literal["auto", "memory", "duckdb"] = "auto"
    memory_fraction: float = Field(default=0.5, gt=0, le=1)
    #: DuckDB's memory limit (it spills to disk beyond it), e.g. "2GB" or "500MB"
    memory_limit: str = Field(
        default="2GB", pattern=r"^[0-9]+(\.[0-9]+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$"
    )


class DeliverablesSpec(_Model):
    """The Excel workbook and PowerPoint deck of a report (``deliverables:``)."""

    #: a client's PowerPoint file (``.pptx``, inside the project) whose masters, layouts
    #: and theme the deck uses; null: python-pptx's plain 16:9 design
    pptx_template: str | None = None
    #: the East Asian typeface every run of the deck names (Chinese, Japanese, Korean)
    east_asian_font: str = Field(default="Microsoft YaHei", min_length=1)

    @field_validator("pptx_template")
    @classmethod
    def _inside_project(cls, value: str | None) -> str | None:
        if value is None:
            return value
        p = Path(value)
        if p.is_absolute() or ".." in p.parts:
            raise ValueError(
                f"{value!r}: give a path inside the project, relative to its root "
                "(e.g. config/templates/client.pptx)"
            )
        if p.suffix.lower() != ".pptx":
            raise ValueError(
                f"{value!r}: a PowerPoint template must be a .pptx file (save a .potx as .pptx)"
            )
        return value


# --------------------------------------------------------------------------------------
# Banner tables (issue 11): analysis_helpers.banners and 40-cross use them
# --------------------------------------------------------------------------------------
BannerStatistic = Literal["mean", "top_box", "bottom_box", "nps", "distribution"]
BannerTest = Literal["pairwise", "total", "rest", "omnibus"]
BannerIndex = Literal["csi", "areas", "indicators"]


def _default_statistics() -> list[BannerStatistic]:
    """Return the statistics a banner shows when the study file names none."""
    return ["mean", "top_box"]


def _default_tests() -> list[BannerTest]:
    """Return the tests a banner runs when the study file names none."""
    return ["pairwise", "total", "omnibus"]


class BannerSpec(_Model):
    """One banner of ``banners:``: its banner variables, its rows and its tests.

    The banner variables are segment columns side by side; a pair ``[outer, inner]`` nests
    inner within outer.
    """

    name: str = Field(pattern=r"^[A-Za-z0-9_-]+$")
    title: str | None = None
    by: list[str | list[str]] = Field(min_length=1)
    kpis: bool = True  # the KPI rows (overall mean and top box, NPS, CES, loyalty)
    items: list[str] = Field(default_factory=list)  # further items, with `statistics`
    index: list[BannerIndex] = Field(default_factory=list)  # CSI, area, indicator index rows
    statistics: list[BannerStatistic] = Field(default_factory=_default_statistics)
    tests: list[BannerTest] = Field(default_factory=_default_tests)
    correction: Literal["holm", "fdr_bh", "bonferroni", "none"] | None = None
    alpha: float | None = Field(default=None, gt=0, lt=1)
    second_alpha: float | None = Field(default=None, gt=0, lt=1)
    by_wave: bool = False  # one banner per wave

    @field_validator("by")
    @classmethod
    def _nesting(cls, by: list[str | list[str]]) -> list[str | list[str]]:
        for k, entry in enumerate(by):
            if isinstance(entry, list) and (len(entry) != 2 or entry[0] == entry[1]):
                raise ValueError(
                    f"[{k}]: a nested banner variable is [outer, inner], two different "
                    f"segment columns; got {entry}"
                )
        return by


def _banner_references(spec: StudySpec) -> list[str]:
    """Cross-references of ``banners`` (called from ``StudySpec._references``)."""
    errors: list[str] = []
    segs = [s.column for s in spec.segments]
    items = {i.name for i in spec.items}
    for name, k in Counter(b.name for b in spec.banners).items():
        if k > 1:
            errors.append(f"banners: name {name!r} is used {k} times")
    for j, b in enumerate(spec.banners):
        for k, entry in enumerate(b.by):
            cols = [entry] if isinstance(entry, str) else entry
            for i, col in enumerate(cols):
                where = f"banners[{j}].by[{k}]" + ("" if isinstance(entry, str) else f"[{i}]")
                if col not in segs:
                    errors.append(f"{where}: {col!r} is not a segment column (segments: {segs})")
        for k, item in enumerate(b.items):
            if item not in items:
                errors.append(f"banners[{j}].items[{k}]: unknown item {item!r}")
        if b.items and not b.statistics:
            errors.append(f"banners[{j}].statistics: give at least one statistic for the items")
        alpha = b.alpha if b.alpha is not None else spec.reporting.alpha
        if b.second_alpha is not None and b.second_alpha <= alpha:
            errors.append(
                f"banners[{j}].second_alpha: {b.second_alpha:g} must be above alpha {alpha:g} "
                "(lower-case letters mark the weaker level)"
            )
        if b.by_wave and spec.data.wave is None and not any(f.wave for f in spec.data.files):
            errors.append(f"banners[{j}].by_wave: the study has no waves")
        if not b.kpis and not b.items and not b.index:
            errors.append(f"banners[{j}]: no rows: set kpis: true or list items or index rows")
        if b.index and not any(i.role == "satisfaction" and i.area for i in spec.items):
            errors.append(
                f"banners[{j}].index: the study has no index (no satisfaction item is placed "
                "in an area)"
            )
    return errors


# --------------------------------------------------------------------------------------
# Trend settings (issue 16): 30-trend's year-earlier comparison and its alerts
# --------------------------------------------------------------------------------------
def _threshold(value: Any) -> Any:
    """Check one alert threshold: a number above 0, in the KPI's or the area's unit."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(
            f"threshold {value!r} is not a number; give the smallest change that raises an "
            "alert, in the KPI's unit (index points for the CSI and the areas)"
        )
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"threshold {value!r} must be a number above 0")
    return float(value)


class AlertSpec(_Model):
    """The alerts of 30-trend (``trend.alerts``): the changes worth a manager's attention.

    A KPI or area is listed when its latest change is significant (at ``reporting.alpha``
    after ``reporting.correction``) and at least its threshold in size.
    """

    #: KPI name -> smallest change that alerts, in the KPI's unit (shares in [0, 1], NPS in
    #: points, the CSI in index points); names as in 30-trend's tables (``overall_mean``,
    #: ``overall_top2``, ``nps``, ``ces_mean``, ``<loyalty item>_top2``, ``csi``)
    kpis: dict[str, Any] = Field(default_factory=dict)
    #: index points: one threshold for every area, or area name -> threshold
    areas: Any = None

    @field_validator("kpis", mode="before")
    @classmethod
    def _kpi_thresholds(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            raise ValueError(f"give KPI name: threshold pairs, got {value!r}")
        return _thresholds(value)

    @field_validator("areas", mode="before")
    @classmethod
    def _area_thresholds(cls, value: Any) -> Any:
        if value is None:
            return None
        return _thresholds(value) if isinstance(value, dict) else _threshold(value)


def _thresholds(value: dict) -> dict[str, float]:
    """Check name -> threshold pairs; raise one ``ValueError`` naming every bad pair."""
    errors, out = [], {}
    for k, v in value.items():
        try:
            out[str(k)] = _threshold(v)
        except ValueError as exc:
            errors.append(f"{k}: {exc}")
    if errors:
        raise ValueError("\n".join(errors))
    return out


class TrendSpec(_Model):
    """Settings of the trend page (``trend:``), all optional."""

    #: waves in a year, evenly spaced: the wave that many places earlier is "a year
    #: earlier"; null: read the year from the wave codes or labels (2024Q1, Q1 2024, 2024-03)
    waves_per_year: int | None = Field(default=None, ge=1, le=52)
    alerts: AlertSpec = AlertSpec()


def kpi_names(spec: StudySpec) -> list[str]:
    """Return the names of the KPIs a study file defines, as 30-trend's tables name them."""
    k = spec.kpis
    names = ["overall_mean", "overall_top2"] if k.overall else []
    names += ["nps"] if k.nps else []
    names += ["ces_mean"] if k.ces else []
    names += [f"{name}_top2" for name in k.loyalty]
    if any(i.area for i in spec.items):
        names.append("csi")
    return names


def _trend_references(spec: StudySpec) -> list[str]:
    """Cross-references of ``trend`` (called from ``StudySpec._references``)."""
    a = spec.trend.alerts
    errors = []
    known = kpi_names(spec)
    for name in a.kpis:
        if name not in known:
            errors.append(f"trend.alerts.kpis.{name}: unknown KPI {name!r} (KPIs: {known})")
    areas = [x.name for x in spec.areas]
    if isinstance(a.areas, dict):
        for name in a.areas:
            if name not in areas:
                errors.append(f"trend.alerts.areas.{name}: unknown area {name!r} (areas: {areas})")
    if a.areas is not None and not areas:
        errors.append("trend.alerts.areas: the study has no areas")
    return errors


# --------------------------------------------------------------------------------------
# Action register (issue 16): analysis_helpers.actions and 30-trend use it
# --------------------------------------------------------------------------------------
class ActionSpec(_Model):
    """One action of ``actions:``: what it targeted, from which wave, for whom.

    The page compares the change of the targeted items with the change of comparable
    untargeted items (a difference in differences) before and after ``start``.
    """

    name: str = Field(pattern=r"^[A-Za-z0-9_-]+$")
    label: str | None = None
    #: areas or satisfaction items the action aimed to improve
    targets: list[str] = Field(min_length=1)
    #: the first wave the action can show in (its "after" period starts there)
    start: str
    #: segment column -> the values the action reached (default: every respondent)
    segments: dict[str, list[Code]] = Field(default_factory=dict)
    #: areas or items to compare with (default: see docs/study-file.md, ``actions``)
    compare: list[str] = Field(default_factory=list)

    @field_validator("start", mode="before")
    @classmethod
    def _start_code(cls, wave: Any) -> Any:
        return code_text(wave) if isinstance(wave, int | float) else wave

    @field_validator("segments", mode="before")
    @classmethod
    def _segment_codes(cls, segments: Any) -> Any:
        if not isinstance(segments, dict):
            return segments
        return {
            k: [code_text(v) for v in (vals if isinstance(vals, list) else [vals])]
            for k, vals in segments.items()
        }


def _action_targets(
    names: list[str], key: str, areas: set[str], items: dict[str, Item]
) -> list[str]:
    """Check the areas or items of one action's ``targets`` or ``compare``."""
    errors = []
    for k, name in enumerate(names):
        if name in areas:
            continue
        item = items.get(name)
        if item is None:
            errors.append(f"{key}[{k}]: unknown item or area {name!r} (areas: {sorted(areas)})")
        elif item.role != "satisfaction" or item.area is None:
            errors.append(
                f"{key}[{k}]: item {name!r} is not a satisfaction item of an area; actions "
                "target areas or the satisfaction items of the index"
            )
    return errors


def _action_references(spec: StudySpec) -> list[str]:
    """Cross-references of ``actions`` (called from ``StudySpec._references``)."""
    errors: list[str] = []
    areas = {a.name for a in spec.areas}
    items = {i.name: i for i in spec.items}
    segs = {s.column: s for s in spec.segments}
    wave = spec.data.wave
    declared = [f.wave for f in spec.data.files if f.wave is not None]
    waves = list(wave.order) if wave is not None and wave.order else list(dict.fromkeys(declared))
    for name, k in Counter(a.name for a in spec.actions).items():
        if k > 1:
            errors.append(f"actions: name {name!r} is used {k} times")
    for j, act in enumerate(spec.actions):
        where = f"actions[{j}]"
        errors += _action_targets(act.targets, f"{where}.targets", areas, items)
        errors += _action_targets(act.compare, f"{where}.compare", areas, items)
        both = sorted(set(act.targets) & set(act.compare))
        if both:
            errors.append(f"{where}.compare: {both} are also targets of the action")
        if act.start not in waves:
            errors.append(
                f"{where}.start: wave {act.start!r} is outside the study (waves: {waves})"
            )
        elif waves.index(act.start) == 0:
            errors.append(
                f"{where}.start: wave {act.start!r} is the study's first wave; an action "
                "needs at least one wave before it to compare with"
            )
        for col, values in act.segments.items():
            seg = segs.get(col)
            if seg is None:
                errors.append(
                    f"{where}.segments.{col}: not a segment column (segments: {sorted(segs)})"
                )
                continue
            known = set(seg.values)
            for v in values:
                if known and v not in known:
                    errors.append(
                        f"{where}.segments.{col}: {v!r} is not a value of segment {col!r} "
                        f"(values: {sorted(known)})"
                    )
    return errors


def _respondent_operations_references(spec: StudySpec) -> list[str]:
    """Cross-references of ``data.respondent_operations``."""
    ops = spec.data.respondent_operations
    if ops is None:
        return []
    errors = []
    key = "data.respondent_operations"
    if spec.data.respondent_id is None:
        errors.append(
            f"{key}: needs data.respondent_id: the file is joined to respondents by their id"
        )
    areas = {a.name for a in spec.areas}
    items = {i.name for i in spec.items}
    if ops.outcome is not None and ops.outcome not in areas | items:
        errors.append(f"{key}.outcome: unknown item or area {ops.outcome!r}")
    return errors


class StudySpec(_Model):
    """The whole study file, as validated data."""

    study: StudyInfo
    data: DataSpec
    areas: list[Area] = Field(default_factory=list)
    indicators: list[Indicator] = Field(default_factory=list)
    items: list[Item] = Field(min_length=1)
    kpis: KPIs = KPIs()
    segments: list[Segment] = Field(default_factory=list)
    quality: QualityRules = QualityRules()
    weighting: WeightingSpec | None = None
    reporting: Reporting = Reporting()
    model: ModelSpec | None = None
    comments: CommentsSpec | None = None
    runner: RunnerSettings = RunnerSettings()
    engine: EngineSpec = EngineSpec()
    deliverables: DeliverablesSpec = DeliverablesSpec()
    banners: list[BannerSpec] = Field(default_factory=list)
    trend: TrendSpec = TrendSpec()
    actions: list[ActionSpec] = Field(default_factory=list)
    index: IndexSpec = IndexSpec()

    @field_validator("engine", mode="before")
    @classmethod
    def _engine_name(cls, value: Any) -> Any:
        """Read ``engine: duckdb`` as ``engine: {name: duckdb}``."""
        return {"name": value} if isinstance(value, str) else value

    @model_validator(mode="before")
    @classmethod
    def _area_from_indicator(cls, raw: Any) -> Any:
        """Put an item with an indicator but no area in its indicator's area."""
        if not isinstance(raw, dict):
            return raw
        inds, items = raw.get("indicators"), raw.get("items")
        if not isinstance(inds, list) or not isinstance(items, list):
            return raw
        area_of = {
            i.get("name"): i.get("area") for i in inds if isinstance(i, dict) and i.get("area")
        }
        filled = []
        for item in items:
            if isinstance(item, dict) and item.get("area") is None and item.get("indicator"):
                area = area_of.get(item["indicator"])
                if area is not None:
                    item = {**item, "area": area}
            filled.append(item)
        return {**raw, "items": filled}

    @model_validator(mode="after")
    def _references(self) -> StudySpec:
        errors = [
            *self._check_unique(),
            *self._check_hierarchy(),
            *self._check_items(),
            *self._check_kpis(),
            *self._check_waves(),
            *self._check_weighting(),
            *_model_references(self),
            *_comments_references(self),
            *_banner_references(self),
            *_trend_references(self),
            *_action_references(self),
            *_respondent_operations_references(self),
            *_index_references(self),
        ]
        if errors:
            raise ValueError("\n".join(errors))
        return self

    def _check_unique(self) -> list[str]:
        errors = []
        for kind, names in [
            ("areas", [a.name for a in self.areas]),
            ("indicators", [i.name for i in self.indicators]),
            ("items", [i.name for i in self.items]),
            ("segments", [s.column for s in self.segments]),
        ]:
            for name, k in Counter(names).items():
                if k > 1:
                    errors.append(f"{kind}: name {name!r} is used {k} times")
        return errors

    def _check_hierarchy(self) -> list[str]:
        errors = []
        areas = {a.name for a in self.areas}
        indicators = {i.name: i for i in self.indicators}
        for k, ind in enumerate(self.indicators):
            if ind.area not in areas:
                errors.append(
                    f"indicators[{k}].area: unknown area {ind.area!r} (known: {sorted(areas)})"
                )
        for k, item in enumerate(self.items):
            if item.area is not None and item.area not in areas:
                errors.append(f"items[{k}].area: unknown area {item.area!r}")
            if item.indicator is None:
                continue
            owner = indicators.get(item.indicator)
            if owner is None:
                errors.append(f"items[{k}].indicator: unknown indicator {item.indicator!r}")
            elif item.area is not None and owner.area != item.area:
                errors.append(
                    f"items[{k}].indicator: indicator {item.indicator!r} belongs to area "
                    f"{owner.area!r}, not {item.area!r}"
                )
        used = {i.indicator for i in self.items if i.indicator}
        for k, ind in enumerate(self.indicators):
            if ind.name not in used:
                errors.append(f"indicators[{k}]: indicator {ind.name!r} has no items")
        # an area's items either all have indicators or none (they then roll up directly)
        with_ind = {i.area for i in self.items if i.area and i.indicator}
        for k, item in enumerate(self.items):
            if item.area in with_ind and item.indicator is None and item.role == "satisfaction":
                errors.append(
                    f"items[{k}]: item {item.name!r} has no indicator, but other items of area "
                    f"{item.area!r} have one; give every item of an area an indicator, or none"
                )
        return errors

    def _check_items(self) -> list[str]:
        errors = []
        items = {i.name: i for i in self.items}
        for k, item in enumerate(self.items):
            if item.expectation is None:
                continue
            exp = items.get(item.expectation)
            if exp is None:
                errors.append(f"items[{k}].expectation: unknown item {item.expectation!r}")
            elif exp.scale != item.scale:
                errors.append(
                    f"items[{k}].expectation: {item.expectation!r} is on scale "
                    f"{exp.scale.min}-{exp.scale.max}, {item.name!r} on "
                    f"{item.scale.min}-{item.scale.max}"
                )
        for j, name in enumerate(self.quality.straightliners.grid):
            if name not in items:
                errors.append(f"quality.straightliners.grid[{j}]: unknown item {name!r}")
        return errors

    def _check_kpis(self) -> list[str]:
        errors = []
        items = {i.name: i for i in self.items}
        kp = self.kpis
        for key, name in [("overall", kp.overall), ("nps", kp.nps), ("ces", kp.ces)] + [
            (f"loyalty[{j}]", n) for j, n in enumerate(kp.loyalty)
        ]:
            if name is not None and name not in items:
                errors.append(f"kpis.{key}: unknown item {name!r}")
        if kp.nps is not None and kp.nps in items:
            sc = items[kp.nps].scale
            if (sc.min, sc.max) not in NPS_SCALES:
                errors.append(
                    f"kpis.nps: item {kp.nps!r} is on a {sc.min}-{sc.max} scale; NPS needs a "
                    "0-10 or 1-10 likelihood-to-recommend item (promoters 9-10, detractors up "
                    "to 6). List another recommend or loyalty item under kpis.loyalty instead"
                )
        return errors

    def _check_waves(self) -> list[str]:
        errors = []
        files = self.data.files
        declared = [j for j, f in enumerate(files) if f.wave is not None]
        undeclared = [j for j, f in enumerate(files) if f.wave is None]
        wave = self.data.wave
        if wave is None:
            if declared and undeclared:
                errors.append(
                    f"data.files[{undeclared[0]}].wave: required, because other files declare "
                    "their wave; or name the wave column and the order in data.wave for "
                    "stacked files"
                )
            return errors
        if not wave.order and undeclared:
            errors.append(
                f"data.wave.order: required, because data.files[{undeclared[0]}] declares no "
                "wave (a stacked file): list the waves in time order"
            )
        order = wave.order or list(dict.fromkeys(f.wave for f in files if f.wave))
        for j in declared:
            if files[j].wave not in order:
                errors.append(
                    f"data.files[{j}].wave: wave {files[j].wave!r} is not in data.wave.order"
                )
        for w in wave.labels:
            if w not in order:
                errors.append(f"data.wave.labels: wave {w!r} is not in data.wave.order {order}")
        return errors

    def _check_weighting(self) -> list[str]:
        wt = self.weighting
        if wt is None:
            return []
        errors = []
        items = {i.name for i in self.items}
        segs = {s.column: s for s in self.segments}
        for col, targets in wt.margins.items():
            if col not in segs:
                errors.append(
                    f"weighting.margins.{col}: not a segment column (margins need the "
                    f"segment's value labels; segments: {sorted(segs)})"
                )
                continue
            known = set(segs[col].values)
            if not known:  # values come from the data: checked by the cleaning step
                continue
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
        return errors


# --------------------------------------------------------------------------------------
# The study as the analyses use it
# --------------------------------------------------------------------------------------
class Study:
    """A validated study file with the lookups the analyses need.

    Create it with :func:`load_study`. ``spec`` holds the validated file; the methods
    answer questions such as "which items are satisfaction items", "what is the hierarchy
    table" or "does this study have an NPS item" so that notebooks never parse the YAML
    themselves.

    What a study has
    ----------------
    Every optional part of the study file has a lookup, so that a page can adapt to the
    study instead of assuming the demo's shape:

    ==================  ========================================================
    lookup              true when
    ==================  ========================================================
    ``n_waves``         number of waves (1 for a single export without a wave)
    ``is_multiwave``    two or more waves: trends and wave-over-wave tests apply
    ``has_id``          the study file names a respondent id (``data.respondent_id``)
    ``is_weighted``     there is a design weight (``data.design.weight``)
    ``has_design``      weight, strata, cluster or fpc are stated
    ``has_segments``    at least one segment
    ``has_expectations``  at least one item is paired with an expectation item
    ``has_index``       at least one satisfaction item is placed in an area
    ``has_indicators``  the study file has an indicator level
    ``has_overall``     ``kpis.overall`` (the outcome of driver analysis)
    ``has_nps``         ``kpis.nps``; ``has_ces``, ``has_loyalty`` likewise
    ``has_operations``  ``data.operations``
    ``has_respondent_operations``  ``data.respondent_operations``
    ``has_actions``     ``actions`` lists at least one action
    ``has_duration``    ``data.duration``
    ``has_text``        ``data.text_columns``
    ==================  ========================================================

    :meth:`absent` gives the one sentence a page shows where a part is missing, and
    :meth:`parts` all of them at once.
    """

    def __init__(self, spec: StudySpec, *, path: Path, root: Path) -> None:
        self.spec = spec
        self.path = path
        self.root = root
        self._segment_values: dict[str, dict[str, str]] = {}
        self._segment_source: dict[str, str] = {}
        self._unanswered: list[str] = []
        self._unit: tuple[str, str] | None = None
        self._model_weights: pd.Series | None = None

    def __repr__(self) -> str:
        """Return ``Study('<name>', <n> items, file='<path>')``."""
        return f"Study({self.name!r}, {len(self.spec.items)} items, file={str(self.path)!r})"

    # names and places -------------------------------------------------------------
    @property
    def language(self) -> str:
        """The report's language (``reporting.language``): ``"en"`` or ``"zh"``."""
        return self.spec.reporting.language

    @property
    def name(self) -> str:
        """The study's name (``study.name``)."""
        return self.spec.study.name

    @property
    def title(self) -> str:
        """The study's title (its name when the study file gives none).

        In a report of one unit (:attr:`unit`) the unit follows: "Title – Region: North".
        """
        title = self.spec.study.title or self.name
        if self._unit is None:
            return title
        seg = self.segment(self._unit[0])
        return f"{title} – {seg.title}: {seg.values.get(self._unit[1], self._unit[1])}"

    @property
    def client(self) -> str | None:
        """The client's name (``study.client``), None if not given."""
        return self.spec.study.client

    @property
    def description(self) -> str | None:
        """The study's description (``study.description``), None if not given."""
        return self.spec.study.description

    def resolve(self, path: str | Path) -> Path:
        """Return a path from the study file, resolved against the project root."""
        p = Path(path)
        return p if p.is_absolute() else (self.root / p)

    @property
    def raw_dir(self) -> Path:
        """The folder of the exports: ``data.root``, by default ``data/raw/<name>``."""
        return self.resolve(self.spec.data.root or f"data/raw/{self.name}")

    @property
    def processed_dir(self) -> Path:
        """The folder the cleaning step writes to: ``data/processed/<study name>``."""
        return self.root / "data" / "processed" / self.name

    def data_files(self) -> list[Path]:
        """Return the paths of the raw export files (``data.files``), in file order."""
        return [self.raw_dir / f.path for f in self.spec.data.files]

    # items -------------------------------------------------------------------------
    @property
    def items(self) -> dict[str, Item]:
        """The items of the study by name, in study order."""
        return {i.name: i for i in self.spec.items}

    def item_names(self, role: str | None = None, *, area: str | None = None) -> list[str]:
        """Item names in file order, optionally of one role and/or one area."""
        return [
            i.name
            for i in self.spec.items
            if (role is None or i.role == role) and (area is None or i.area == area)
        ]

    def index_items(self) -> list[str]:
        """Return the satisfaction items placed in an area: the items of the satisfaction index.

        Items the data leave unanswered are left out (see :meth:`unanswered_items`).
        """
        return [
            i.name
            for i in self.spec.items
            if i.role == "satisfaction" and i.area and i.name not in self._unanswered
        ]

    def set_unanswered_items(self, names: list[str]) -> None:
        """Mark items without a single answer in the clean data.

        Set by the cleaning step and :func:`~analysis_helpers.cleaning.load_clean`: these items
        are left out of the satisfaction index and its roll-ups (:meth:`hierarchy`,
        :meth:`index_items`).
        """
        self._unanswered = [n for n in self.items if n in set(names)]

    @property
    def unanswered_items(self) -> list[str]:
        """Return the items of the study without a single answer in the clean data, in study order.

        See :meth:`set_unanswered_items`.
        """
        return list(self._unanswered)

    def index_note(self) -> str:
        """Return the note a page shows under the satisfaction index on items left out of it.

        Items are left out for having no answers; the note names them by label, and is ``""``
        when none was left out. With ``index.weights: model`` a sentence says that the
        index weighs each area's items by the structural model's outer weights.

        Examples
        --------
        ``"Q3 has no answers in the data: it is left out of the satisfaction index, which
        rolls up the other items."``
        """
        from .text import template, words

        out = [n for n in self._unanswered if self.items[n].role == "satisfaction"]
        notes = []
        if out:
            labels = [self.label(n) for n in out]
            key = "notes.unanswered_one" if len(labels) == 1 else "notes.unanswered_many"
            notes.append(template(key, self.language).format(labels=words(labels, self.language)))
        if self.index_weights == "model" and self.has_index:
            notes.append(template("notes.model_weights", self.language))
        return " ".join(notes)

    def unplaced_items(self) -> list[str]:
        """Satisfaction items without an area: described item by item, not in the index."""
        return [i.name for i in self.spec.items if i.role == "satisfaction" and not i.area]

    def label(self, name: str) -> str:
        """Return the label of an item, area, indicator or segment column (the name if none)."""
        for coll in (self.spec.items, self.spec.areas, self.spec.indicators):
            for x in coll:
                if x.name == name:
                    return x.label
        for s in self.spec.segments:
            if s.column == name:
                return s.title
        return name

    def labels(self) -> dict[str, str]:
        """Every item, area and indicator name mapped to its label."""
        out = {a.name: a.label for a in self.spec.areas}
        out.update({i.name: i.label for i in self.spec.indicators})
        out.update({i.name: i.label for i in self.spec.items})
        return out

    def hierarchy(self) -> pd.DataFrame:
        """Return the satisfaction items of the index with their place in the hierarchy and weights.

        Items without an area are not in it (see :meth:`unplaced_items`), nor items the
        data leave without a single answer (:meth:`unanswered_items`). In an area whose
        items have no indicators, the items roll up straight into the area: the indicator
        column then holds the area itself (same name, label and no weight), so that the
        index is the area mean of the item scores.

        Returns
        -------
        DataFrame
            One row per satisfaction item in an area: ``item``, ``label``, ``indicator``,
            ``indicator_label``, ``area``, ``area_label``, ``scale_min``, ``scale_max``,
            ``weight_indicator``, ``weight_area`` (NaN where the study file states no
            weight: equal weights at that level). No rows when the study has no index.
            With ``index.weights: model`` also ``weight_item``: each item's rescaled outer
            weight in its construct (:meth:`model_index_weights`), and ``weight_indicator``
            is the sum of its items' weights, so an area that is one construct rolls up to
            that construct's index; the areas keep the stated weights.
        """
        ind = {i.name: i for i in self.spec.indicators}
        area = {a.name: a for a in self.spec.areas}
        rows = []
        for i in self.spec.items:
            if i.role != "satisfaction" or not i.area or i.name in self._unanswered:
                continue
            a = area[i.area]
            node = ind.get(i.indicator) if i.indicator else None
            rows.append(
                {
                    "item": i.name,
                    "label": i.label,
                    "indicator": node.name if node else a.name,
                    "indicator_label": node.label if node else a.label,
                    "area": a.name,
                    "area_label": a.label,
                    "scale_min": i.scale.min,
                    "scale_max": i.scale.max,
                    "weight_indicator": node.weight if node else None,
                    "weight_area": a.weight,
                }
            )
        columns = [
            "item", "label", "indicator", "indicator_label", "area", "area_label",
            "scale_min", "scale_max", "weight_indicator", "weight_area",
        ]  # fmt: skip
        out = pd.DataFrame(rows, columns=columns).astype(
            {"weight_indicator": float, "weight_area": float}
        )
        if self.spec.index.weights == "model" and len(out):
            out["weight_item"] = out["item"].map(self.model_index_weights()).astype(float)
            out["weight_indicator"] = out.groupby("indicator", sort=False)["weight_item"].transform(
                "sum"
            )
        return out

    @property
    def index_weights(self) -> str:
        """Return which weights the satisfaction index rolls up with: ``"stated"`` or ``"model"``.

        ``index.weights`` of the study file; see :meth:`hierarchy`.
        """
        return self.spec.index.weights

    def model_index_weights(self) -> pd.Series:
        """Return the items' index weights from the study's structural model (item -> weight).

        The rescaled outer weights (Fornell et al. 1996) of a fit on every clean respondent,
        computed once and cached in ``data/processed/<study>/`` keyed on the data and the
        model (:func:`analysis_helpers.pls.rollup.model_rollup_weights`).
        """
        if self._model_weights is None:
            from .pls.rollup import model_rollup_weights

            self._model_weights = model_rollup_weights(self)["index_weight"]
        return self._model_weights

    def expectation_pairs(self) -> list[tuple[str, str]]:
        """Return the (expectation item, satisfaction item) pairs, in file order."""
        return [(i.expectation, i.name) for i in self.spec.items if i.expectation]

    # waves ----------------------------------------------------------------------------
    @property
    def wave_column(self) -> str:
        """The wave column of the clean data (``data.wave.column``, or ``"wave"``)."""
        wave = self.spec.data.wave
        return wave.column if wave is not None else "wave"

    @property
    def waves(self) -> list[str]:
        """The wave codes in time order.

        ``data.wave.order``; else the waves the files declare, in file order; else one
        wave, :data:`SINGLE_WAVE`, for exports that carry no wave at all.
        """
        wave = self.spec.data.wave
        if wave is not None and wave.order:
            return list(wave.order)
        declared = [f.wave for f in self.spec.data.files if f.wave is not None]
        return list(dict.fromkeys(declared)) if declared else [SINGLE_WAVE]

    @property
    def n_waves(self) -> int:
        """The number of waves."""
        return len(self.waves)

    @property
    def is_multiwave(self) -> bool:
        """Two or more waves: trends and wave-over-wave comparisons apply."""
        return self.n_waves > 1

    @property
    def waves_declared(self) -> bool:
        """Whether the study file names waves at all (``data.wave`` or ``files[].wave``)."""
        return self.spec.data.wave is not None or any(f.wave for f in self.spec.data.files)

    def file_wave(self, index: int) -> str | None:
        """Return the wave of every row of ``data.files[index]``, or None for a stacked file."""
        f = self.spec.data.files[index]
        if f.wave is not None:
            return f.wave
        return None if self.waves_declared else SINGLE_WAVE

    def wave_label(self, wave: str) -> str:
        """Return the display label of a wave (its code when the study file gives none)."""
        wave = str(wave)
        spec = self.spec.data.wave
        if spec is not None and wave in spec.labels:
            return spec.labels[wave]
        if wave == SINGLE_WAVE and not self.waves_declared:
            from .text import template

            return template("study.all_respondents", self.language)
        return wave

    def wave_labels(self) -> dict[str, str]:
        """Every wave code mapped to its label, in time order."""
        return {w: self.wave_label(w) for w in self.waves}

    # segments -------------------------------------------------------------------------
    @property
    def segments(self) -> list[Segment]:
        """Return the segments, with value labels filled in from the data where needed.

        The data fill in the labels where the study file gives none (see :meth:`segment`).
        """
        return [self.segment(s.column) for s in self.spec.segments]

    def segment_columns(self) -> list[str]:
        """Return the segment columns, in study order."""
        return [s.column for s in self.spec.segments]

    def segment(self, column: str) -> Segment:
        """Return a segment with its value labels.

        Where the study file lists no ``values``, they come from the data once it has been
        read (:func:`analysis_helpers.io.read_study_files` and
        :func:`analysis_helpers.cleaning.load_clean` fill them in): an SPSS file's value
        labels (codes as text, ``"1"`` -> ``"Postpaid"``), otherwise the codes found,
        sorted, each labelled with itself. See :meth:`segment_source`.
        """
        s = self._stated(column)
        if not s.values and column in self._segment_values:
            return s.model_copy(update={"values": dict(self._segment_values[column])})
        return s

    def segment_source(self, column: str) -> str:
        """Return where a segment's value labels come from.

        One of ``"study file"``, ``"file labels"`` (an SPSS file's value labels), ``"data"``
        (the codes found) or ``"unresolved"`` (the data have not been read yet).
        """
        if self._stated(column).values:
            return "study file"
        return self._segment_source.get(column, "unresolved")

    def _stated(self, column: str) -> Segment:
        for s in self.spec.segments:
            if s.column == column:
                return s
        raise KeyError(f"{column!r} is not a segment of study {self.name!r}")

    def set_segment_values(self, column: str, values: dict[str, str], *, source: str) -> None:
        """Fill in the value labels of a segment whose study file entry lists none.

        Parameters
        ----------
        column : str
            A segment column without ``values`` in the study file.
        values : dict
            Code (text) -> label, in display order.
        source : {"file labels", "data"}
            Where they come from.
        """
        if self._stated(column).values:
            raise ValueError(f"segment {column!r} has values in the study file")
        if source not in ("file labels", "data"):
            raise ValueError(f"source must be 'file labels' or 'data', not {source!r}")
        self._segment_values[column] = {str(k): str(v) for k, v in values.items()}
        self._segment_source[column] = source

    # the unit of a unit report --------------------------------------------------------
    @property
    def unit(self) -> tuple[str, str] | None:
        """Return the unit of a unit report: ``(segment column, code)``, else None.

        Set by :func:`analysis_helpers.notebook.setup` in a report of one unit
        (``report --per SEGMENT``, see :mod:`analysis_helpers.units`):
        :func:`~analysis_helpers.cleaning.load_clean` then returns that unit's respondents
        only.
        """
        return self._unit

    def set_unit(self, segment: str, value: Any) -> None:
        """Restrict the analyses to one value of a segment (a unit report).

        Parameters
        ----------
        segment : str
            A segment column of the study.
        value : str or number
            One of its codes (compared as :func:`code_text`).

        Raises
        ------
        KeyError
            ``segment`` is not a segment of the study; the message names the valid ones.
        """
        if segment not in self.segment_columns():
            valid = ", ".join(self.segment_columns()) or "none"
            raise KeyError(
                f"{segment!r} is not a segment of study {self.name!r}; its segments: {valid}"
            )
        self._unit = (segment, code_text(value))

    # respondents and design -----------------------------------------------------------
    @property
    def id_column(self) -> str:
        """Return the respondent id column.

        That is ``data.respondent_id``, or :data:`ROW_ID` (file and row, ``"<file>:<row>"``)
        when the study file names none.
        """
        return self.spec.data.respondent_id or ROW_ID

    @property
    def has_id(self) -> bool:
        """Whether the study file names a respondent id column."""
        return self.spec.data.respondent_id is not None

    @property
    def weight_column(self) -> str | None:
        """The design weight column, None for an unweighted study."""
        return self.spec.data.design.weight

    @property
    def is_weighted(self) -> bool:
        """Whether estimates use a design weight (stated or raked by the cleaning step)."""
        return self.weight_column is not None

    @property
    def has_design(self) -> bool:
        """Whether any design column (weight, strata, cluster, fpc) is stated."""
        return any(v is not None for v in self.design_columns().values())

    def design_columns(self) -> dict[str, str | None]:
        """Return the design roles (weight, strata, cluster, fpc) mapped to column names.

        The later stages of a multi-stage design are ``cluster2``, ``fpc2`` and so on;
        replicate weight columns are ``replicate1``, ``replicate2``, ...
        """
        d = self.spec.data.design
        cols: dict[str, str | None] = {"weight": d.weight, "strata": d.strata}
        for role in ("cluster", "fpc"):
            names = d.stages(role)
            cols[role] = names[0] if names else None
            for k, col in enumerate(names[1:], start=2):
                cols[f"{role}{k}"] = col
        if d.replicates is not None:  # replicate weights: replicate1, replicate2, ...
            for k, col in enumerate(d.replicates.names(), start=1):
                cols[f"replicate{k}"] = col
        return cols

    @property
    def replicates(self) -> ReplicatesSpec | None:
        """Return the replicate weights of the design (``data.design.replicates``), if any."""
        return self.spec.data.design.replicates

    def design_stages(self, role: str) -> list[str]:
        """Return the ``cluster`` or ``fpc`` column of each sampling stage (``data.design``)."""
        return self.spec.data.design.stages(role)

    @property
    def lonely_psu(self) -> str:
        """Return what estimates do with a stratum of one PSU (``data.design.lonely_psu``).

        One of ``"fail"`` (the default), ``"adjust"``, ``"remove"`` or ``"average"``, as
        ``SurveyDesign(lonely_psu=...)``.
        """
        return self.spec.data.design.lonely_psu

    @property
    def weighting(self) -> WeightingSpec | None:
        """The raking settings (``weighting:``), None if the study has none."""
        return self.spec.weighting

    def raw_design_columns(self) -> dict[str, str | None]:
        """Return the design columns read from the exports.

        The raked weight, which the cleaning step computes, is not one of them (its
        ``base_weight`` is, if given).
        """
        cols = self.design_columns()
        wt = self.spec.weighting
        if wt is not None:
            cols["weight"] = wt.base_weight
        return cols

    @property
    def reporting(self) -> Reporting:
        """The report settings (``reporting:``)."""
        return self.spec.reporting

    @property
    def engine(self) -> EngineSpec:
        """Where the KPI tables are computed (``engine:``; default ``auto``)."""
        return self.spec.engine

    @property
    def banners(self) -> list[BannerSpec]:
        """The ``banners:`` section (empty when the study file has none)."""
        return list(self.spec.banners)

    # KPIs and the other optional parts -----------------------------------------------
    @property
    def kpis(self) -> KPIs:
        """The KPI roles of the study (``kpis:``)."""
        return self.spec.kpis

    def kpi_items(self) -> dict[str, list[str]]:
        """Return the KPI roles the study has, each with its item(s).

        The order is ``overall``, ``nps``, ``ces``, ``loyalty``; roles the study lacks are left
        out.
        """
        k = self.spec.kpis
        out: dict[str, list[str]] = {}
        for role, names in (
            ("overall", [k.overall] if k.overall else []),
            ("nps", [k.nps] if k.nps else []),
            ("ces", [k.ces] if k.ces else []),
            ("loyalty", list(k.loyalty)),
        ):
            if names:
                out[role] = names
        return out

    @property
    def has_overall(self) -> bool:
        """Whether the study has an overall satisfaction item."""
        return self.spec.kpis.overall is not None

    @property
    def has_nps(self) -> bool:
        """Whether the study has a recommendation (NPS) item."""
        return self.spec.kpis.nps is not None

    @property
    def has_ces(self) -> bool:
        """Whether the study has a customer effort (CES) item."""
        return self.spec.kpis.ces is not None

    @property
    def has_loyalty(self) -> bool:
        """Whether the study has loyalty items."""
        return bool(self.spec.kpis.loyalty)

    @property
    def has_segments(self) -> bool:
        """Whether the study has segments."""
        return bool(self.spec.segments)

    @property
    def has_linearised_design(self) -> bool:
        """Whether the SEs come from strata and clusters (not from replicate weights).

        Every report table works on either kind of design (the banners of 40-cross too);
        :meth:`absent` has a sentence for a page that needs linearised SEs.
        """
        return self.replicates is None

    @property
    def has_expectations(self) -> bool:
        """Whether the study pairs expectation items with satisfaction items."""
        return bool(self.expectation_pairs())

    @property
    def has_index(self) -> bool:
        """Whether the study has a satisfaction index (items placed in an area, with answers)."""
        return bool(self.index_items())

    @property
    def has_indicators(self) -> bool:
        """Whether the study has indicators."""
        return bool(self.spec.indicators)

    @property
    def has_operations(self) -> bool:
        """Whether the study has an operations file (``data.operations``)."""
        return self.spec.data.operations is not None

    @property
    def has_respondent_operations(self) -> bool:
        """Whether the study has a per-respondent operational file (``data.respondent_operations``)."""
        return self.spec.data.respondent_operations is not None

    @property
    def has_actions(self) -> bool:
        """Whether the study file lists actions (``actions``)."""
        return bool(self.spec.actions)

    @property
    def actions(self) -> list[ActionSpec]:
        """The actions of the action register, as the study file lists them."""
        return list(self.spec.actions)

    @property
    def has_duration(self) -> bool:
        """Whether the study names an interview duration column (``data.duration``)."""
        return self.spec.data.duration is not None

    @property
    def has_text(self) -> bool:
        """Whether the study has open-text columns (``data.text_columns``)."""
        return bool(self.spec.data.text_columns)

    def parts(self) -> dict[str, bool]:
        """Every optional part (the keys of :data:`PARTS`) mapped to whether the study has it."""
        return {part: getattr(self, attr) for part, (attr, _) in PARTS.items()}

    def absent(self, part: str) -> str | None:
        """Return the sentence a page shows where the study lacks ``part``; None if it has it.

        Parameters
        ----------
        part : str
            One of the keys of :data:`PARTS`: ``"waves"``, ``"id"``, ``"weights"``,
            ``"segments"``, ``"linearised_design"``, ``"expectations"``, ``"index"``, ``"indicators"``,
            ``"overall"``, ``"nps"``, ``"ces"``, ``"loyalty"``, ``"operations"``,
            ``"duration"``, ``"text"``.

        Returns
        -------
        str or None
            E.g. for a one-wave study, ``absent("waves")`` is "This study has one wave;
            comparisons over time need two or more."
        """
        if part not in PARTS:
            raise KeyError(f"unknown part {part!r}; parts: {list(PARTS)}")
        attr, key = PARTS[part]
        if getattr(self, attr):
            return None
        from .text import template

        return template(key, self.language)


#: optional part -> (the Study lookup that says whether a study has it, the key of the
#: sentence a page shows where it is missing, in the text tables of :mod:`analysis_helpers.text`)
PARTS: dict[str, tuple[str, str]] = {
    "waves": ("is_multiwave", "absent.waves"),
    "id": ("has_id", "absent.id"),
    "weights": ("is_weighted", "absent.weights"),
    "segments": ("has_segments", "absent.segments"),
    "linearised_design": ("has_linearised_design", "absent.linearised_design"),
    "expectations": ("has_expectations", "absent.expectations"),
    "index": ("has_index", "absent.index"),
    "indicators": ("has_indicators", "absent.indicators"),
    "overall": ("has_overall", "absent.overall"),
    "nps": ("has_nps", "absent.nps"),
    "ces": ("has_ces", "absent.ces"),
    "loyalty": ("has_loyalty", "absent.loyalty"),
    "operations": ("has_operations", "absent.operations"),
    "respondent_operations": ("has_respondent_operations", "absent.respondent_operations"),
    "actions": ("has_actions", "absent.actions"),
    "duration": ("has_duration", "absent.duration"),
    "text": ("has_text", "absent.text"),
}


# --------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------
def project_root(start: str | Path | None = None) -> Path:
    """Return the project root.

    That is the nearest folder at or above ``start`` with a ``config/`` folder and a
    ``pyproject.toml``; failing that, the checkout this package was installed from.
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


#: environment variable: folders outside the project that data files may be read from
#: (``os.pathsep``-separated), e.g. a shared drive mounted read-only
DATA_DIRS_ENV = "ANALYSIS_HELPERS_DATA_DIRS"


def allowed_folders(root: Path) -> list[Path]:
    """Return the folders paths of a study file may point into.

    These are the project root and the folders listed in the ``ANALYSIS_HELPERS_DATA_DIRS``
    environment variable (symbolic links resolved).
    """
    extra = [p for p in os.environ.get(DATA_DIRS_ENV, "").split(os.pathsep) if p.strip()]
    return [Path(root).resolve(), *(Path(p).expanduser().resolve() for p in extra)]


def _outside(path: Path, folders: list[Path]) -> str | None:
    """Why ``path`` is not inside one of ``folders`` (None: it is).

    Both the path as written (``..`` collapsed) and the path with symbolic links
    resolved must be inside: a link that points out of the project is refused too.
    """
    written = Path(os.path.normpath(os.path.abspath(path)))
    real = path.resolve()

    def inside(p: Path) -> bool:
        return any(p == f or p.is_relative_to(f) for f in folders)

    if not inside(written):
        return "is outside the project folder"
    if not inside(real):
        return "leads through a symbolic link to a place outside the project folder"
    return None


def path_problems(study: Study) -> list[str]:
    """Return one message for every path of the study file that leads outside the allowed folders.

    The paths are ``data.root``, ``data.files[].path``, ``data.operations`` and
    ``data.respondent_operations.path``.
    """
    folders = allowed_folders(study.root)
    data = study.spec.data
    hint = (
        "; paths in the study file must stay inside the project folder (or a folder listed in "
        f"the {DATA_DIRS_ENV} environment variable)"
    )
    keyed = [("data.root", data.root or f"data/raw/{study.name}", study.raw_dir)]
    keyed += [
        (f"data.files[{j}].path", f.path, study.raw_dir / f.path) for j, f in enumerate(data.files)
    ]
    if data.operations:
        keyed.append(("data.operations", data.operations, study.raw_dir / data.operations))
    if data.respondent_operations:
        ops_path = data.respondent_operations.path
        keyed.append(("data.respondent_operations.path", ops_path, study.raw_dir / ops_path))
    out = []
    root_bad = False
    for key, written, path in keyed:
        why = _outside(path, folders)
        if why is None:
            continue
        rel = os.path.normpath(written)
        if key == "data.root":
            root_bad = True
        elif root_bad and not (Path(rel).is_absolute() or rel.startswith("..")):
            continue  # inside data.root, whose own message says it
        out.append(f"{key}: {written!r} {why}{hint}")
    return out


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


def _merged(base: Any, over: Any) -> Any:
    """Return ``over`` laid on ``base``: mappings key by key, anything else replaced."""
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for key, value in over.items():
            out[key] = _merged(base.get(key), value) if key in base else value
        return out
    return over


def _extended(raw: dict, path: Path, shown: str) -> dict:
    """Return the study file ``raw`` laid on the study file it ``extends`` (one level).

    ``extends: demo.yml`` names a study file relative to this one's folder; this file's
    keys replace the other's, mapping by mapping (lists are replaced whole). The base may
    not extend a third file.
    """
    raw = dict(raw)
    name = raw.pop("extends")
    if not isinstance(name, str) or not name:
        raise StudyFileError(f"{shown}: extends: expected a study file name, got {name!r}")
    base_path = path.parent / name
    if not base_path.is_file():
        raise StudyFileError(f"{shown}: extends: study file not found: {_display(base_path)}")
    try:
        base = yaml.safe_load(base_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise StudyFileError(
            f"{shown}: extends: {_display(base_path)} is not a readable study file "
            f"({type(exc).__name__})"
        ) from None
    if not isinstance(base, dict):
        raise StudyFileError(f"{shown}: extends: {_display(base_path)} is not a mapping of keys")
    if "extends" in base:
        raise StudyFileError(
            f"{shown}: extends: {_display(base_path)} extends another file; "
            "only one level is supported"
        )
    return _merged(base, raw)


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
    if "extends" in raw:
        raw = _extended(raw, p, shown)
    try:
        spec = StudySpec.model_validate(raw)
    except ValidationError as exc:
        raise StudyFileError(_format_errors(shown, exc)) from None
    if root is None:
        parent = p.resolve().parent
        root = parent.parent if parent.name == "config" else parent
    study = Study(spec, path=p.resolve(), root=Path(root).resolve())
    escapes = path_problems(study)
    if escapes:
        raise StudyFileError("\n".join(f"{shown}: {e}" for e in escapes))
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
