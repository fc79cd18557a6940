"""The engine's aggregation statements, written once and rendered for any SQL dialect.

Every statement is built as a :mod:`sqlglot` expression over one table named
:data:`SOURCE` (a view of the Parquet files, registered by the engine that runs it) and
uses only standard SQL: ``SUM``, ``COUNT``, ``MIN``, ``MAX``, ``CASE``, ``CAST(... AS
DOUBLE)``, ``GROUP BY`` and derived tables. :func:`render` turns one into the text of a
dialect (``"duckdb"``, ``"spark"``, ``"postgres"``...), so the statements that DuckDB runs
on one machine run unchanged on Spark SQL for data beyond it.

A *variable* is a per-respondent value and the condition under which the respondent is
in its domain (answered): an item's score, a top-box indicator, an NPS score. The
statements return, per cell, the sums that every linearised estimator needs:

``n_<k>``
    respondents in the domain of variable ``k`` (answered);
``w_<k>``, ``ww_<k>``
    the sum of their weights and of their squared weights;
``y_<k>``, ``yy_<k>``
    the weighted sum of the variable and of its square;
``wy2_<k>``, ``wyy2_<k>`` (only :func:`cell_sums` with ``squares=True``)
    the sums of ``w^2 y`` and ``w^2 y^2``, which give the sums of squares of the
    influence values when each respondent is its own PSU.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import sqlglot
from sqlglot import exp

__all__ = [
    "SOURCE",
    "Variable",
    "render",
    "cell_sums",
    "stratum_sizes",
    "count_cube",
    "cross_products",
    "linear_sums",
]

#: the name of the table every statement reads (a view of the data)
SOURCE = "survey"


@dataclass(frozen=True)
class Variable:
    """A per-respondent value with its domain condition, as SQL expressions.

    Parameters
    ----------
    key : str
        Short identifier of the variable in result column names (letters, digits, _).
    value : sqlglot Expression
        The value (a number) of an answered respondent.
    valid : sqlglot Expression
        True for the respondents in the variable's domain (those who answered).
    """

    key: str
    value: exp.Expr
    valid: exp.Expr


def col(name: str) -> exp.Column:
    """Return a quoted column reference (any name, in any dialect)."""
    return exp.column(name, quoted=True)


def num(x: float) -> exp.Expr:
    """Return a numeric literal (negative numbers as a negation)."""
    return exp.Neg(this=exp.Literal.number(-x)) if x < 0 else exp.Literal.number(x)


def double(e: exp.Expr) -> exp.Cast:
    """Return ``CAST(e AS DOUBLE)``."""
    return exp.Cast(this=e, to=exp.DataType.build("double"))


def item_variable(key: str, item: str) -> Variable:
    """Return the variable of a numeric item: its value, answered when not missing."""
    return Variable(
        key, double(col(item)), exp.Not(this=exp.Is(this=col(item), expression=exp.Null()))
    )


def indicator_variable(key: str, item: str, codes: Sequence[float]) -> Variable:
    """Return 1 when ``item`` is one of ``codes`` (else 0), answered when not missing."""
    hit = exp.In(this=col(item), expressions=[num(float(c)) for c in codes])
    value = exp.Case(ifs=[exp.If(this=hit, true=num(1.0))], default=num(0.0))
    return Variable(key, value, item_variable(key, item).valid)


def flag_variable(
    key: str, item: str, *, at_least: float | None = None, at_most: float | None = None
) -> Variable:
    """Return 1 when ``item >= at_least`` (or ``<= at_most``), else 0; answered when not missing."""
    c = col(item)
    if at_least is not None:
        cond: exp.Expr = exp.GTE(this=c, expression=num(at_least))
    elif at_most is not None:
        cond = exp.LTE(this=c, expression=num(at_most))
    else:
        raise ValueError("flag_variable: give at_least or at_most")
    value = exp.Case(ifs=[exp.If(this=cond, true=num(1.0))], default=num(0.0))
    return Variable(key, value, item_variable(key, item).valid)


def score_variable(key: str, item: str, high: float, low: float) -> Variable:
    """Return 1 when ``item >= high``, -1 when ``item <= low``, else 0 (the NPS score)."""
    c = col(item)
    value = exp.Case(
        ifs=[
            exp.If(this=exp.GTE(this=c, expression=num(high)), true=num(1.0)),
            exp.If(this=exp.LTE(this=c.copy(), expression=num(low)), true=num(-1.0)),
        ],
        default=num(0.0),
    )
    return Variable(key, value, item_variable(key, item).valid)


def render(statement: exp.Expr, dialect: str = "duckdb") -> str:
    """Return the text of ``statement`` in ``dialect`` (any dialect sqlglot writes)."""
    return statement.sql(dialect=dialect)


def _when(cond: exp.Expr, value: exp.Expr) -> exp.Case:
    return exp.Case(ifs=[exp.If(this=cond.copy(), true=value.copy())])


def _sum(e: exp.Expr, alias: str) -> exp.Expr:
    return exp.alias_(exp.Sum(this=e), alias, quoted=True)


def _factor(e: exp.Expr) -> exp.Expr:
    """Return ``e`` as a factor of a product (a sum or difference in parentheses)."""
    e = e.copy()
    return exp.paren(e) if isinstance(e, exp.Add | exp.Sub) else e


def _mul(*parts: exp.Expr) -> exp.Expr:
    out = _factor(parts[0])
    for p in parts[1:]:
        out = exp.Mul(this=out, expression=_factor(p))
    return out


def _keys(by: Sequence[str], stratum: exp.Expr, psu: exp.Expr | None) -> list[tuple[str, exp.Expr]]:
    keys: list[tuple[str, exp.Expr]] = [(f"g{k}", col(c)) for k, c in enumerate(by)]
    keys.append(("h", stratum))
    if psu is not None:
        keys.append(("p", psu))
    return keys


def _group(q: exp.Select, keys: Sequence[exp.Expr]) -> exp.Select:
    """Group ``q`` by the key expressions that are not constants (a constant stratum)."""
    grouping = [e.copy() for e in keys if not isinstance(e, exp.Literal)]
    return q.group_by(*grouping) if grouping else q


def _member(by: Sequence[str]) -> exp.Expr | None:
    """Rows with every ``by`` value present (the others are outside every group)."""
    conds: list[exp.Expr] = [exp.Not(this=exp.Is(this=col(c), expression=exp.Null())) for c in by]
    if not conds:
        return None
    out = conds[0]
    for c in conds[1:]:
        out = exp.And(this=out, expression=c)
    return out


def cell_sums(
    by: Sequence[str],
    stratum: exp.Expr,
    psu: exp.Expr | None,
    weight: exp.Expr,
    variables: Sequence[Variable],
    *,
    squares: bool,
) -> exp.Select:
    """Return the sums of every variable per group x stratum (x PSU) cell.

    Parameters
    ----------
    by : sequence of str
        Group columns (rows missing one are left out); result columns ``g0``, ``g1``...
    stratum : Expression
        The stratum of a row (a constant without strata); result column ``h``.
    psu : Expression, optional
        The PSU of a row (None: each respondent is a PSU); result column ``p``.
    weight : Expression
        The sampling weight (a constant without weights).
    variables : sequence of Variable
        The variables; see the module notes for the result columns.
    squares : bool
        Add ``wy2_<k>`` and ``wyy2_<k>`` (for designs without clusters).

    Returns
    -------
    sqlglot Select
        One row per observed cell: the key columns, ``rows`` (respondents in the cell)
        and the sums of each variable.
    """
    keys = _keys(by, stratum, psu)
    w = weight
    sel: list[exp.Expr] = [exp.alias_(e.copy(), a, quoted=True) for a, e in keys]
    sel.append(exp.alias_(exp.Count(this=exp.Star()), "rows", quoted=True))
    one = num(1.0)
    for v in variables:
        y = v.value
        sel.append(_sum(_when(v.valid, one), f"n_{v.key}"))
        sel.append(_sum(_when(v.valid, w), f"w_{v.key}"))
        sel.append(_sum(_when(v.valid, _mul(w, w)), f"ww_{v.key}"))
        sel.append(_sum(_when(v.valid, _mul(w, y)), f"y_{v.key}"))
        sel.append(_sum(_when(v.valid, _mul(w, y, y)), f"yy_{v.key}"))
        if squares:
            sel.append(_sum(_when(v.valid, _mul(w, w, y)), f"wy2_{v.key}"))
            sel.append(_sum(_when(v.valid, _mul(w, w, y, y)), f"wyy2_{v.key}"))
    q = exp.select(*sel).from_(exp.to_table(SOURCE))
    member = _member(by)
    if member is not None:
        q = q.where(member)
    return _group(q, [e for _, e in keys])


def stratum_sizes(
    stratum: exp.Expr, psu: exp.Expr | None, fpc: str | None, weight: exp.Expr
) -> exp.Select:
    """Return per stratum ``h``: ``rows``, ``psus`` (sampled PSUs) and ``fpc_lo`` / ``fpc_hi``.

    ``bad_weight`` counts rows whose weight is missing or not positive.

    Counts every row of the data (also those outside every group): the stratum's PSU
    count and fpc are properties of the whole design.
    """
    inner_keys = [exp.alias_(stratum.copy(), "h", quoted=True)]
    inner_sel: list[exp.Expr] = list(inner_keys)
    inner_sel.append(exp.alias_(exp.Count(this=exp.Star()), "rows", quoted=True))
    bad = exp.Or(
        this=exp.Is(this=weight.copy(), expression=exp.Null()),
        expression=exp.LTE(this=weight.copy(), expression=num(0.0)),
    )
    inner_sel.append(_sum(_when(bad, num(1.0)), "bad_weight"))
    fpc_e = double(col(fpc)) if fpc else None
    if fpc_e is not None:
        inner_sel.append(exp.alias_(exp.Min(this=fpc_e.copy()), "fpc_lo", quoted=True))
        inner_sel.append(exp.alias_(exp.Max(this=fpc_e.copy()), "fpc_hi", quoted=True))
    group = [stratum.copy()] + ([psu.copy()] if psu is not None else [])
    inner = _group(exp.select(*inner_sel).from_(exp.to_table(SOURCE)), group)
    h = col("h")
    outer: list[exp.Expr] = [h]
    outer.append(_sum(col("rows"), "rows"))
    outer.append(_sum(col("bad_weight"), "bad_weight"))
    if psu is not None:
        outer.append(exp.alias_(exp.Count(this=exp.Star()), "psus", quoted=True))
    else:
        outer.append(_sum(col("rows"), "psus"))
    if fpc_e is not None:
        outer.append(exp.alias_(exp.Min(this=col("fpc_lo")), "fpc_lo", quoted=True))
        outer.append(exp.alias_(exp.Max(this=col("fpc_hi")), "fpc_hi", quoted=True))
    return exp.select(*outer).from_(inner.subquery("cells")).group_by(h.copy())


def count_cube(
    by: Sequence[str], weight: exp.Expr, items: Sequence[str], codes: Sequence[float] | np.ndarray
) -> exp.Select:
    """Return the weighted count cube: per group, ``c_<i>_<k>`` / ``cw_<i>_<k>``.

    ``c_<i>_<k>`` counts the respondents answering code ``codes[k]`` to ``items[i]``,
    ``cw_<i>_<k>`` sums their weights; ``o_<i>`` counts answers outside ``codes`` (an
    error for the caller to report).
    """
    keys = [(f"g{k}", col(c)) for k, c in enumerate(by)]
    sel: list[exp.Expr] = [exp.alias_(e.copy(), a, quoted=True) for a, e in keys]
    for i, item in enumerate(items):
        c = col(item)
        for k, code in enumerate(codes):
            hit = exp.EQ(this=c.copy(), expression=num(float(code)))
            sel.append(_sum(_when(hit, num(1.0)), f"c_{i}_{k}"))
            sel.append(_sum(_when(hit, weight), f"cw_{i}_{k}"))
        known = (
            exp.Or(
                this=exp.Is(this=c.copy(), expression=exp.Null()),
                expression=exp.In(this=c.copy(), expressions=[num(float(x)) for x in codes]),
            )
            if len(codes)
            else exp.Is(this=c.copy(), expression=exp.Null())
        )
        sel.append(_sum(_when(exp.Not(this=exp.paren(known)), num(1.0)), f"o_{i}"))
    q = exp.select(*sel).from_(exp.to_table(SOURCE))
    member = _member(by)
    if member is not None:
        q = q.where(member)
    return q.group_by(*[e.copy() for _, e in keys]) if keys else q


def cross_products(
    by: Sequence[str], weight: exp.Expr, items: Sequence[str], *, pairwise: bool
) -> exp.Select:
    """Return the weighted cross-product sums of ``items`` for correlations.

    Listwise (``pairwise=False``, rows answering every item): ``n``, ``sw``, ``s_<i>`` and
    ``s_<i>_<j>`` (i <= j). Pairwise: for every ordered pair over the rows answering both,
    ``n_<i>_<j>``, ``sw_<i>_<j>``, ``sww_<i>_<j>`` (of ``w^2``), ``sx_<i>_<j>`` (sum of ``w x_i``), ``sxx_<i>_<j>`` (of
    ``w x_i^2``) and ``sxy_<i>_<j>`` (of ``w x_i x_j``).
    """
    keys = [(f"g{k}", col(c)) for k, c in enumerate(by)]
    sel: list[exp.Expr] = [exp.alias_(e.copy(), a, quoted=True) for a, e in keys]
    xs = [double(col(c)) for c in items]
    ok = [exp.Not(this=exp.Is(this=col(c), expression=exp.Null())) for c in items]
    w = weight
    one = num(1.0)
    q = len(items)
    if not pairwise:
        sel.append(exp.alias_(exp.Count(this=exp.Star()), "n", quoted=True))
        sel.append(_sum(w.copy(), "sw"))
        for i in range(q):
            sel.append(_sum(_mul(w, xs[i]), f"s_{i}"))
            for j in range(i, q):
                sel.append(_sum(_mul(w, xs[i], xs[j]), f"s_{i}_{j}"))
    else:
        for i in range(q):
            for j in range(q):
                both = exp.And(this=ok[i].copy(), expression=ok[j].copy())
                if i <= j:
                    sel.append(_sum(_when(both, one), f"n_{i}_{j}"))
                    sel.append(_sum(_when(both, w), f"sw_{i}_{j}"))
                    sel.append(_sum(_when(both, _mul(w, w)), f"sww_{i}_{j}"))
                    sel.append(_sum(_when(both, _mul(w, xs[i], xs[j])), f"sxy_{i}_{j}"))
                sel.append(_sum(_when(both, _mul(w, xs[i])), f"sx_{i}_{j}"))
                sel.append(_sum(_when(both, _mul(w, xs[i], xs[i])), f"sxx_{i}_{j}"))
    src = exp.select(exp.Star()).from_(exp.to_table(SOURCE))
    conds: list[exp.Expr] = list(ok) if not pairwise else []
    member = _member(by)
    if member is not None:
        conds.append(member)
    if conds:
        where: exp.Expr = conds[0]
        for c in conds[1:]:
            where = exp.And(this=where, expression=c)
        src = src.where(where)
    out = exp.select(*sel).from_(src.subquery("rows_used"))
    return out.group_by(*[exp.column(a, quoted=True) for a, _ in keys]) if keys else out


def linear_sums(
    by: Sequence[str],
    stratum: exp.Expr,
    psu: exp.Expr | None,
    weight: exp.Expr,
    terms: Sequence[tuple[str, exp.Expr]],
    params: str,
) -> exp.Select:
    """Return per group x stratum the sums ``t_<k>`` and squares ``tt_<k>`` of linear scores.

    Each term ``(key, expression)`` is a respondent's influence value divided by its weight,
    written over the data's columns and the columns of the table ``params`` (one row per
    group, joined on the ``by`` columns as ``g0``, ``g1``...). Without ``psu`` each
    respondent is a PSU (the squares of its own values); with one, the values are summed
    per PSU first.
    """
    keys = _keys(by, stratum, psu)
    inner: list[exp.Expr] = [exp.alias_(e.copy(), a, quoted=True) for a, e in keys]
    for key, e in terms:
        value = _mul(weight, e)
        inner.append(
            exp.alias_(exp.Sum(this=value) if psu is not None else value, f"t_{key}", quoted=True)
        )
    src = exp.select(*inner).from_(exp.to_table(SOURCE))
    if by:
        on: exp.Expr | None = None
        for k, c in enumerate(by):
            eq = exp.EQ(
                this=exp.column(c, table=SOURCE, quoted=True),
                expression=exp.column(f"g{k}", table=params, quoted=True),
            )
            on = eq if on is None else exp.And(this=on, expression=eq)
        src = src.join(exp.to_table(params), on=on, join_type="inner")
    if psu is not None:
        src = _group(src, [e for _, e in keys])
    outer_keys = [a for a, _ in keys if a != "p"]
    sel: list[exp.Expr] = [exp.column(a, quoted=True) for a in outer_keys]
    for key, _ in terms:
        t = exp.column(f"t_{key}", quoted=True)
        sel.append(_sum(t.copy(), f"t_{key}"))
        sel.append(_sum(_mul(t, t), f"tt_{key}"))
    out = exp.select(*sel).from_(src.subquery("psu_totals"))
    return out.group_by(*[exp.column(a, quoted=True) for a in outer_keys])


def parse(text: str) -> exp.Expr:
    """Parse an SQL expression written in standard SQL (for callers' own terms)."""
    return sqlglot.parse_one(text)
