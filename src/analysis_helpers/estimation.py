"""Design-based estimation with Taylor-linearised standard errors.

Means, totals, proportions, ratios, variances, domain differences, Rao-Scott chi-square
and linear regression.

Every estimator reproduces R's ``survey`` package (Lumley) for a one-stage design
``svydesign(id=~cluster, strata=~strata, weights=~weight, fpc=~fpc, nest=TRUE)`` and for a
multi-stage one ``svydesign(id=~psu+ssu, strata=~strata, fpc=~fpc1+fpc2, nest=TRUE)``.

Method
------
An estimator is written as a smooth function of weighted totals; its *influence values*
``z_i`` (one per respondent, zero outside the estimation domain) give the variance of the
estimate as the design variance of the total ``sum_i z_i``:

``V = sum_h (1 - f_h) n_h / (n_h - 1) sum_j (t_hj - tbar_h)^2``

where ``t_hj`` are the PSU totals of ``z`` in stratum ``h`` (each respondent is its own
PSU when there is no cluster column), ``n_h`` the number of PSUs of the stratum in the
*whole* sample and ``f_h`` the first-stage sampling fraction (0 without fpc). This is the
with-replacement (ultimate cluster) variance of ``survey::svyrecvar``.

Conventions (all as R ``survey`` does unless stated):

* **Missing values** of an item are a domain: the rows stay in the design (they keep the
  PSU counts) with zero influence - ``svymean(..., na.rm=TRUE)``.
* **By-groups** are domains of the whole design - ``svyby``. Rows with a missing ``by``
  value belong to no group but stay in the design.
* **Clusters** are nested within strata (``nest=TRUE``): a PSU is a (stratum, cluster)
  pair.
* **fpc**: a population size (number of PSUs) per stratum, or a sampling fraction <= 1;
  all values must be of one kind and constant within a stratum. Without a weight column
  the weights are derived from the fpc (population over sample size, multiplied over the
  stages), as R does; a stage without an fpc then raises.
* **Multi-stage designs** (``SurveyDesign(cluster=[a, b], fpc=[f1, f2])``, R
  ``svydesign(id=~a+b, fpc=~f1+f2)``): with an fpc the variance is R's ``multistage``
  recursion, ``V = V_1 + sum_j f_1 V_2j + ...``: the first stage as above plus, for each
  PSU, the variance of its stage-2 units (strata: the PSUs), weighted by the first-stage
  sampling fraction, and so on. Without an fpc only the first stage counts (ultimate
  cluster). A stage whose units are all sampled (population size = sample size) adds 0.
* **Lonely PSUs** (a stratum with a single PSU, not sampled in full):
  ``SurveyDesign(lonely_psu="fail")``, R's default, raises; ``"adjust"`` centres the lonely
  PSU total at the mean of the PSU totals of the strata the domain reaches
  (``options(survey.lonely.psu="adjust")``, survey >= 4.2; survey 4.1 used 0, which
  differs for totals); ``"remove"`` lets the stratum contribute nothing; ``"average"``
  scales the variance of the other strata by strata / strata kept (per domain, over the
  strata the domain reaches). At a later stage a unit with a single sampled sub-unit adds
  nothing under ``"adjust"`` and ``"remove"`` and raises under ``"fail"`` and
  ``"average"`` (where R returns NaN).
* **Confidence intervals** of means, totals, ratios and variances are normal
  (``confint`` on a ``svystat``). Logit intervals of proportions use Student's t with the
  domain degrees of freedom, as ``svyciprop(method="logit")``.
* **Degrees of freedom** of t-based tests and intervals are the design's: the number of
  PSUs minus the number of strata among the rows that enter the estimate (``degf`` of the
  subset design); minus 1 for a two-domain difference (``svyttest``); plus 1 minus the
  number of coefficients for a regression (``svyglm``).
* **Design effect** (``deff``) is R's ``deff=TRUE``: the design variance over the variance
  of simple random sampling without replacement of the same size,
  ``s^2_w (1 - n / N_hat) / n`` with ``N_hat`` the sum of weights. When the weights do not
  expand to a population (``N_hat <= n``, e.g. weights normalised to mean 1, or no
  weights) R returns Inf; here the with-replacement reference ``s^2_w / n`` is used
  instead (R's ``deff="replace"``), so unweighted simple random samples give ``deff == 1``.

* **Raked or calibrated weights** (``SurveyDesign(calibration=Calibration(...))``, R
  ``rake()`` / ``calibrate()``): the weights depend on the sample, so influence values
  are replaced by their residuals from a regression on the calibration variables before
  the variance step (Deville & Sarndal 1992; Lumley 2010, ch. 7): for ``rake`` R's ten
  backfitting sweeps of the margin means, for ``calibrate`` the regression weighted by the
  weights before calibration. Every estimator (means, totals, shares, ratios, quantiles,
  domain differences, chi-square, regression) gets it through the design. Without it the weights
  are fixed. Replicate designs ignore it (rake each replicate instead).

All work is vectorised: per-group sums are ``np.bincount`` over integer codes, never a
Python loop over respondents.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from ._checks import (
    as_names,
    check_choice,
    check_columns,
    check_confidence,
    numeric_values,
    show,
)
from ._compat import renamed
from ._design import (
    Calibration,
    Groups,
    PreparedDesign,
    SurveyDesign,
    base_columns,
    category_values,
    finish,
    logit_ci,
    mean_parts,
    normal_quantile,
    rep_mean_sums,
    setup,
    srs_factor,
    t_quantile,
)
from .quantiles import survey_quantile

__all__ = [
    "SurveyDesign",
    "Calibration",
    "PreparedDesign",
    "survey_mean",
    "survey_total",
    "survey_proportion",
    "survey_ratio",
    "survey_var",
    "survey_quantile",
    "domain_difference",
    "survey_ttest",
    "survey_chisq",
    "survey_glm",
    "sample_profile",
]

# transitional: the kernel's old private names (new code imports from ._design)
_Groups = Groups
_mean_parts = mean_parts
_base_frame = base_columns
_finish = finish
_srs_factor = srs_factor
_logit_ci = logit_ci
_show = show


_MEAN_COLS = [
    "item",
    "n",
    "n_weighted",
    "n_effective",
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "deff",
]


@renamed(level="confidence")
def survey_mean(
    data: pd.DataFrame,
    *,
    items: str | Sequence[str],
    by: str | Sequence[str] = (),
    design: SurveyDesign | None = None,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Estimate weighted means with design-based standard errors (R ``svymean`` / ``svyby``).

    Parameters
    ----------
    data : DataFrame
        One row per respondent.
    items : str or sequence of str
        Numeric item columns. Missing values are a domain (``na.rm=TRUE``).
    by : str or sequence of str
        Grouping columns; each group is a domain of the whole design.
    design : SurveyDesign, optional
        Weight, strata, cluster and fpc columns (per stage for a multi-stage sample).
        None: unweighted simple random sample (with replacement), whose SE is the
        textbook ``s / sqrt(n)``.
    confidence : float
        Confidence level of the normal interval.

    Returns
    -------
    DataFrame
        One row per group and item: the ``by`` columns, ``item``, ``n`` (unweighted
        non-missing), ``n_weighted``, ``n_effective`` (Kish), ``estimate``, ``se``,
        ``ci_low``, ``ci_high``, ``deff``. A group with no answers has NaN statistics.

    References
    ----------
    Lumley, T. (2010). *Complex Surveys: A Guide to Analysis Using R*. Wiley, ch. 2
    (``svymean``, ``svyby``). Woodruff, R. S. (1971). A simple method for approximating
    the variance of a complicated estimate. *JASA*, 66(334), 411-414 (linearisation).

    Examples
    --------
    >>> df = pd.DataFrame({"q": [4.0, 5, 3, 4], "w": [1.0, 2.0, 1.0, 1.0]})
    >>> t = survey_mean(df, items="q", design=SurveyDesign(weight="w"))
    >>> t[["item", "n", "n_weighted", "estimate"]]
      item  n  n_weighted  estimate
    0    q  4         5.0       4.2
    >>> round(float(t["se"].iloc[0]), 4)
    0.4665
    """
    items = as_names(items, "items", "survey_mean")
    confidence = check_confidence(confidence, "survey_mean")
    prep, groups = setup(data, design, by, items, func="survey_mean")
    q = normal_quantile(confidence)
    rows = []
    batch = 10  # replicate designs: the replicate sums of 10 items per matrix product
    rep_both: list = []
    for k, item in enumerate(items):
        y = numeric_values(data, item, "item", "survey_mean")
        if prep.rep is not None and k % batch == 0:
            rep_both = rep_mean_sums(
                groups,
                [numeric_values(data, c, "item", "survey_mean") for c in items[k : k + batch]],
            )
        p = mean_parts(groups, y, rep_both=rep_both[k % batch] if prep.rep is not None else None)
        se = np.sqrt(p["var"])
        n = p["n"]
        with np.errstate(divide="ignore", invalid="ignore"):
            s2 = n / (n - 1) * p["ss"] / p["W"]
            deff = p["var"] / (s2 / n * srs_factor(n, p["W"]))
        est = np.where(n > 0, p["estimate"], np.nan)
        se = np.where(n > 0, se, np.nan)
        rows.append(
            {
                "item": item,
                **base_columns(groups, n, p["W"], p["W2"]),
                "estimate": est,
                "se": se,
                "ci_low": est - q * se,
                "ci_high": est + q * se,
                "deff": deff,
            }
        )
    return finish(groups, rows, _MEAN_COLS)


@renamed(level="confidence")
def survey_total(
    data: pd.DataFrame,
    *,
    items: str | Sequence[str],
    by: str | Sequence[str] = (),
    design: SurveyDesign | None = None,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Estimate weighted totals with design-based standard errors (R ``svytotal``).

    Parameters
    ----------
    data, items, by, design, confidence
        As :func:`survey_mean`.

    Returns
    -------
    DataFrame
        Same columns as :func:`survey_mean`; ``estimate`` is the estimated population
        total of the item in the group (missing answers count as not in the domain).

    References
    ----------
    Lumley, T. (2010). *Complex Surveys: A Guide to Analysis Using R*. Wiley, ch. 2
    (``svytotal``).

    Examples
    --------
    The weighted total is ``sum w y`` = 4 + 10 + 3 + 4 = 21; its with-replacement variance
    is ``n/(n-1)`` times the sum of squares of ``w y`` about its mean, 4/3 * 30.75 = 41:

    >>> df = pd.DataFrame({"q": [4.0, 5, 3, 4], "w": [1.0, 2.0, 1.0, 1.0]})
    >>> t = survey_total(df, items="q", design=SurveyDesign(weight="w"))
    >>> t[["item", "n", "estimate"]]
      item  n  estimate
    0    q  4      21.0
    >>> round(float(t["se"].iloc[0]) ** 2, 4)
    41.0
    """
    items = as_names(items, "items", "survey_total")
    confidence = check_confidence(confidence, "survey_total")
    prep, groups = setup(data, design, by, items, func="survey_total")
    q = normal_quantile(confidence)
    rows = []
    for item in items:
        y = numeric_values(data, item, "item", "survey_total")
        valid = ~np.isnan(y) & groups.member
        wd = np.where(valid, prep.w, 0.0)
        y0 = np.where(valid, y, 0.0)
        tot = groups.sums(wd * y0)
        var = groups.var(wd * y0)
        p = mean_parts(groups, y)
        n, W = p["n"], p["W"]
        with np.errstate(divide="ignore", invalid="ignore"):
            s2 = n / (n - 1) * p["ss"] / W
            deff = var / (s2 * W * W / n * srs_factor(n, W))
        se = np.sqrt(var)
        rows.append(
            {
                "item": item,
                **base_columns(groups, n, W, p["W2"]),
                "estimate": tot,
                "se": se,
                "ci_low": tot - q * se,
                "ci_high": tot + q * se,
                "deff": deff,
            }
        )
    return finish(groups, rows, _MEAN_COLS)


@renamed(item="items", level="confidence")
def survey_proportion(
    data: pd.DataFrame,
    *,
    items: str | Sequence[str],
    by: str | Sequence[str] = (),
    design: SurveyDesign | None = None,
    confidence: float = 0.95,
    method: str = "logit",
) -> pd.DataFrame:
    """Estimate the weighted share of each category of an item (R ``svymean``, ``svyciprop``).

    Parameters
    ----------
    data : DataFrame
        One row per respondent.
    items : str or sequence of str
        Categorical, string or numeric columns; each distinct non-missing value is a
        category (categorical columns keep all their categories, in order).
    by, design
        As :func:`survey_mean`.
    confidence : float
        Confidence level of the intervals.
    method : {"logit", "wald"}
        ``"logit"``: interval on the logit scale with Student's t on the domain degrees
        of freedom, as ``svyciprop(method="logit")`` (a share of exactly 0 or 1 gets the
        degenerate interval [p, p]). ``"wald"``: normal interval ``p +- z se``.

    Returns
    -------
    DataFrame
        One row per item, group and category: the ``by`` columns, ``item``, ``category``,
        ``n`` (unweighted non-missing base of the item), ``n_weighted``, ``n_effective``,
        ``count`` (unweighted respondents in the category), ``estimate`` in [0, 1],
        ``se``, ``ci_low``, ``ci_high``, ``deff``, ``df``.

    References
    ----------
    Lumley, T. (2010). *Complex Surveys: A Guide to Analysis Using R*. Wiley, ch. 2
    (``svyciprop``, logit interval).

    Examples
    --------
    >>> df = pd.DataFrame({"q": ["yes", "no", "yes", "yes"], "w": [1.0, 2.0, 1.0, 1.0]})
    >>> t = survey_proportion(df, items="q", design=SurveyDesign(weight="w"))
    >>> t[["item", "category", "n", "estimate"]]
      item category  n  estimate
    0    q       no  4       0.4
    1    q      yes  4       0.6
    """
    check_choice(method, ("logit", "wald"), "method", "survey_proportion")
    items = as_names(items, "items", "survey_proportion", empty=False)
    confidence = check_confidence(confidence, "survey_proportion")
    prep, groups = setup(data, design, by, items, func="survey_proportion")
    cols = [
        "item",
        "category",
        "n",
        "n_weighted",
        "n_effective",
        "count",
        "estimate",
        "se",
        "ci_low",
        "ci_high",
        "deff",
        "df",
    ]
    parts = []
    for item in items:
        s = data[item]
        notna = s.notna().to_numpy()
        cats = category_values(s)
        df = groups.degf(notna)
        q = normal_quantile(confidence)
        rows = []
        for cat in cats:
            y = np.where(notna, (s == cat).to_numpy(dtype=bool, na_value=False), np.nan)
            p = mean_parts(groups, y.astype(float), valid=notna)
            n, W = p["n"], p["W"]
            est = np.where(n > 0, p["estimate"], np.nan)
            se = np.where(n > 0, np.sqrt(p["var"]), np.nan)
            with np.errstate(divide="ignore", invalid="ignore"):
                s2 = n / (n - 1) * p["ss"] / W
                deff = p["var"] / (s2 / n * srs_factor(n, W))
            if method == "logit":
                lo, hi = logit_ci(est, se, df, confidence)
            else:
                lo, hi = est - q * se, est + q * se
            count = groups.sums((y == 1).astype(float)).astype(np.int64)
            rows.append(
                {
                    "item": item,
                    "category": cat,
                    **base_columns(groups, n, W, p["W2"]),
                    "count": count,
                    "estimate": est,
                    "se": se,
                    "ci_low": lo,
                    "ci_high": hi,
                    "deff": deff,
                    "df": df,
                }
            )
        out = finish(groups, rows, cols)
        if groups.by:
            order = np.argsort(np.tile(np.arange(groups.G), len(cats)), kind="stable")
            out = out.iloc[order].reset_index(drop=True)
        parts.append(out)
    return pd.concat(parts, ignore_index=True)


@renamed(level="confidence")
def survey_ratio(
    data: pd.DataFrame,
    *,
    numerator: str,
    denominator: str,
    by: str | Sequence[str] = (),
    design: SurveyDesign | None = None,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Estimate the ratio of two weighted totals (R ``svyratio``), on rows with both answered.

    Parameters
    ----------
    data : DataFrame
        One row per respondent.
    numerator, denominator : str
        Numeric columns; the estimate is ``sum w y / sum w x``.
    by, design, confidence
        As :func:`survey_mean`.

    Returns
    -------
    DataFrame
        The ``by`` columns, ``numerator``, ``denominator``, ``n``, ``n_weighted``,
        ``n_effective``, ``estimate``, ``se``, ``ci_low``, ``ci_high`` (normal).

    References
    ----------
    Cochran, W. G. (1977). *Sampling Techniques* (3rd ed.). Wiley, ch. 6 (the ratio
    estimator and its linearised variance). Lumley, T. (2010). *Complex Surveys: A Guide to
    Analysis Using R*. Wiley, ch. 2 (``svyratio``).

    Examples
    --------
    Spend per visit: ``sum w y / sum w x`` = (10 + 20 + 60 + 40) / (1 + 2 + 4 + 3) = 13.

    >>> d = pd.DataFrame(
    ...     {"spend": [10.0, 20, 30, 40], "visits": [1.0, 2, 2, 3], "w": [1.0, 1, 2, 1]}
    ... )
    >>> design = SurveyDesign(weight="w")
    >>> t = survey_ratio(d, numerator="spend", denominator="visits", design=design)
    >>> t[["numerator", "denominator", "n", "estimate"]]
      numerator denominator  n  estimate
    0     spend      visits  4      13.0
    >>> round(float(t["se"].iloc[0]), 4)
    1.2111
    """
    confidence = check_confidence(confidence, "survey_ratio")
    prep, groups = setup(data, design, by, [numerator, denominator], func="survey_ratio")
    y = numeric_values(data, numerator, "item", "survey_ratio")
    x = numeric_values(data, denominator, "item", "survey_ratio")
    valid = ~np.isnan(y) & ~np.isnan(x) & groups.member
    wd = np.where(valid, prep.w, 0.0)
    y0, x0 = np.where(valid, y, 0.0), np.where(valid, x, 0.0)
    Y, X = groups.sums(wd * y0), groups.sums(wd * x0)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = Y / X
        z = np.nan_to_num(wd * (y0 - groups.expand(r) * x0) / groups.expand(X))
    if prep.rep is not None:  # the replicate ratios themselves (svrepdesign svyratio)
        v0 = valid.astype(float)
        both = groups.rep_sums(np.column_stack([v0 * y0, v0 * x0]))
        with np.errstate(divide="ignore", invalid="ignore"):
            se = np.sqrt(prep.rep.spread(r, both[:, :, 0] / both[:, :, 1]))
    else:
        se = np.sqrt(groups.var(z))
    q = normal_quantile(confidence)
    base = base_columns(
        groups, groups.sums(valid.astype(float)), groups.sums(wd), groups.sums(wd * prep.w)
    )
    row = {
        "numerator": numerator,
        "denominator": denominator,
        **base,
        "estimate": r,
        "se": se,
        "ci_low": r - q * se,
        "ci_high": r + q * se,
    }
    return finish(groups, [row], list(row))


@renamed(level="confidence")
def survey_var(
    data: pd.DataFrame,
    *,
    items: str | Sequence[str],
    by: str | Sequence[str] = (),
    design: SurveyDesign | None = None,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Estimate the population variance of items with a design-based SE (R ``svyvar``).

    The estimate is ``n/(n-1) sum w (y - ybar)^2 / sum w`` over the non-missing rows of
    the group; its SE is that of the weighted mean of ``n/(n-1) (y - ybar)^2`` (the mean's
    own uncertainty drops out of the linearisation).

    Returns
    -------
    DataFrame
        The ``by`` columns, ``item``, ``n``, ``n_weighted``, ``n_effective``, ``estimate``,
        ``se``, ``ci_low``, ``ci_high`` (normal).

    References
    ----------
    Lumley, T. (2010). *Complex Surveys: A Guide to Analysis Using R*. Wiley, ch. 2
    (``svyvar``). Woodruff, R. S. (1971). A simple method for approximating the variance of
    a complicated estimate. *JASA*, 66(334), 411-414 (linearisation).

    Examples
    --------
    Unweighted, the estimate is the sample variance: squares 0, 1, 1, 0 about the mean 4,
    summed 2, over n - 1 = 3.

    >>> df = pd.DataFrame({"q": [4.0, 5, 3, 4]})
    >>> t = survey_var(df, items="q")
    >>> round(float(t["estimate"].iloc[0]), 4)
    0.6667
    """
    items = as_names(items, "items", "survey_var")
    confidence = check_confidence(confidence, "survey_var")
    prep, groups = setup(data, design, by, items, func="survey_var")
    q = normal_quantile(confidence)
    rows = []
    for item in items:
        y = numeric_values(data, item, "item", "survey_var")
        p = mean_parts(groups, y)
        n = p["n"]
        with np.errstate(divide="ignore", invalid="ignore"):
            u = (y - groups.expand(p["estimate"])) ** 2 * groups.expand(n / (n - 1))
        u = np.where(p["valid"], u, np.nan)
        pv = mean_parts(groups, u, valid=p["valid"])
        se = np.sqrt(pv["var"])
        est = pv["estimate"]
        if prep.rep is not None:  # the variance recomputed with each replicate weight
            se = np.sqrt(prep.rep.spread(est, _replicate_variances(groups, y, p)))
        rows.append(
            {
                "item": item,
                **base_columns(groups, n, p["W"], p["W2"]),
                "estimate": est,
                "se": se,
                "ci_low": est - q * se,
                "ci_high": est + q * se,
            }
        )
    return finish(groups, rows, _MEAN_COLS[:-1])


def _replicate_variances(groups: Groups, y: np.ndarray, p: dict) -> np.ndarray:
    """Return the variance of ``y`` per group recomputed with each replicate weight (G x R).

    As R ``svyvar`` on an ``svrepdesign``: ``n/(n-1) sum w_r (y - ybar_r)^2 / sum w_r``
    with the replicate's own mean ``ybar_r`` and ``n`` the group's answers; computed from
    the replicate sums of 1, ``y`` and ``y^2`` with ``y`` centred at the full-sample mean.
    """
    v = p["valid"]
    yc = np.where(v, y - groups.expand(np.nan_to_num(p["estimate"])), 0.0)
    both = groups.rep_sums(np.column_stack([v.astype(float), yc, yc * yc]))
    n = p["n"][:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        m1 = both[:, :, 1] / both[:, :, 0]
        out: np.ndarray = n / (n - 1) * (both[:, :, 2] / both[:, :, 0] - m1 * m1)
    return out


# --------------------------------------------------------------------------------------
# Domain differences (svyttest)
# --------------------------------------------------------------------------------------
@renamed(item="items", levels="values", level="confidence")
def domain_difference(
    data: pd.DataFrame,
    *,
    items: str | Sequence[str],
    by: str,
    values: Sequence | None = None,
    within: str | Sequence[str] = (),
    design: SurveyDesign | None = None,
    confidence: float = 0.95,
    distribution: str = "t",
) -> pd.DataFrame:
    """Estimate the difference of each item's mean between two domains, with their covariance.

    The difference ``mean(value_2) - mean(value_1)`` is a smooth function of domain totals
    of the same design; its influence values are the second domain's minus the first's,
    so its SE includes the covariance the design induces between the domains (shared
    strata and PSUs). With two domains this is R's ``svyttest(item ~ by, design)``.

    Parameters
    ----------
    data : DataFrame
        One row per respondent.
    items : str or sequence of str
        Numeric columns (missing values are a domain).
    by : str
        The column defining the domains (e.g. the wave).
    values : pair, optional
        ``(first, second)`` values of ``by``; default: the column's two values (error if
        it has more).
    within : str or sequence of str
        Further grouping (e.g. segment): one difference per group.
    design : SurveyDesign, optional
        The sampling design.
    confidence : float
        Confidence level of the interval.
    distribution : {"t", "normal"}
        Reference distribution for the test and interval: Student's t with ``df`` = design
        df of the two domains' rows (PSUs minus strata) minus 1, as ``svyttest``; or the
        normal (a z test).

    Returns
    -------
    DataFrame
        One row per item and ``within`` group: the ``within`` columns, ``item``,
        ``value_1``, ``value_2``, ``n_1``, ``n_2``, ``estimate_1``, ``estimate_2``,
        ``estimate`` (difference 2 - 1), ``se``, ``statistic`` (t or z), ``df``,
        ``p_value`` (two-sided), ``ci_low``, ``ci_high``.

    References
    ----------
    Lumley, T. (2010). *Complex Surveys: A Guide to Analysis Using R*. Wiley, ch. 2.5
    (domain estimation, ``svyttest``).

    Examples
    --------
    >>> df = pd.DataFrame({"y": [1.0, 2, 3, 4, 5, 6], "g": ["a", "a", "a", "b", "b", "b"]})
    >>> t = domain_difference(df, items="y", by="g")
    >>> t[["item", "value_1", "value_2", "estimate"]]
      item value_1 value_2  estimate
    0    y       a       b       3.0
    """
    func = "domain_difference"
    check_choice(distribution, ("t", "normal"), "distribution", func)
    if not isinstance(by, str):
        raise ValueError(f"{func}: by must be one column name, got {by!r}")
    items = as_names(items, "items", func, empty=False)
    confidence = check_confidence(confidence, func)
    within = as_names(within, "within", func)
    check_columns(data, [by], "by", func)
    if by in within:
        raise ValueError(f"{func}: column {by!r} is both by and within")
    prep, groups = setup(data, design, within, items, func=func)
    s = data[by]
    if values is None:
        values = category_values(s)
        if len(values) != 2:
            raise ValueError(
                f"{func}: by column {by!r} has {len(values)} values {values!r}; "
                "give values=(first, second)"
            )
    values = list(values)
    if len(values) != 2 or values[0] == values[1]:
        raise ValueError(f"{func}: values must be two different values of {by!r}, got {values!r}")
    present = set(s.dropna().unique().tolist())
    for v in values:
        if v not in present:
            raise ValueError(f"{func}: by column {by!r} has no value {v!r}")
    in_domain = [(s == v).to_numpy(dtype=bool, na_value=False) for v in values]
    rows = []
    for item in items:
        y = numeric_values(data, item, "item", func)
        parts = [mean_parts(groups, y, valid=~np.isnan(y) & d) for d in in_domain]
        est = parts[1]["estimate"] - parts[0]["estimate"]
        if prep.rep is not None:  # differences of the replicate means
            se = np.sqrt(prep.rep.spread(est, parts[1]["replicates"] - parts[0]["replicates"]))
        else:
            se = np.sqrt(groups.var(parts[1]["z"] - parts[0]["z"]))
        union = parts[0]["valid"] | parts[1]["valid"]
        df = groups.degf(union) - 1
        with np.errstate(divide="ignore", invalid="ignore"):
            stat = est / se
        if distribution == "t":
            p = 2 * stats.t.sf(np.abs(stat), df)
            q = t_quantile(confidence, df)
        else:
            p = 2 * stats.norm.sf(np.abs(stat))
            q = normal_quantile(confidence)
        rows.append(
            {
                "item": item,
                "value_1": values[0],
                "value_2": values[1],
                "n_1": parts[0]["n"].astype(np.int64),
                "n_2": parts[1]["n"].astype(np.int64),
                "estimate_1": parts[0]["estimate"],
                "estimate_2": parts[1]["estimate"],
                "estimate": est,
                "se": se,
                "statistic": stat,
                "df": df,
                "p_value": p,
                "ci_low": est - q * se,
                "ci_high": est + q * se,
            }
        )
    return finish(groups, rows, list(rows[0]))


@renamed(item="items", group="by", level="confidence")
def survey_ttest(
    data: pd.DataFrame,
    *,
    items: str | Sequence[str],
    by: str,
    design: SurveyDesign | None = None,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Test a mean difference between two groups with the design (R ``svyttest``).

    A thin wrapper of :func:`domain_difference` with the t distribution; ``by`` must
    have exactly two values, and the difference is second minus first (sorted order, or
    category order for a categorical column).

    Returns
    -------
    DataFrame
        One row per item, columns as :func:`domain_difference`.

    References
    ----------
    Lumley, T. (2010). *Complex Surveys: A Guide to Analysis Using R*. Wiley, ch. 2.5.

    Examples
    --------
    >>> df = pd.DataFrame({"y": [1.0, 2, 3, 4, 5, 6], "g": ["a", "a", "a", "b", "b", "b"]})
    >>> t = survey_ttest(df, items="y", by="g")
    >>> round(float(t["statistic"].iloc[0]), 4), int(t["df"].iloc[0])
    (4.1079, 4)
    """
    return domain_difference(
        data, items=items, by=by, design=design, confidence=confidence, distribution="t"
    )


# --------------------------------------------------------------------------------------
# Rao-Scott chi-square (svychisq)
# --------------------------------------------------------------------------------------
def survey_chisq(
    data: pd.DataFrame,
    *,
    row: str,
    col: str,
    design: SurveyDesign | None = None,
    statistic: str = "F",
) -> pd.DataFrame:
    """Test association in a weighted two-way table with Rao-Scott's correction (``svychisq``).

    Pearson's X^2 of the weighted table rescaled to the sample size is corrected by the
    design effects of the cell proportions: ``Delta = (C' D^-1 C / N)^-1 C' D^-1 V D^-1 C``
    with ``C`` a basis of the interaction contrasts, ``D`` the diagonal of cell shares and
    ``V`` their design covariance (Rao & Scott 1984, Ann. Stat. 12(1)).

    Parameters
    ----------
    data : DataFrame
        One row per respondent; rows with a missing ``row`` or ``col`` are left out
        (R counts them in the rescaling total N; here N is the complete rows).
    row, col : str
        The two categorical columns.
    design : SurveyDesign, optional
        The sampling design.
    statistic : {"F", "Chisq"}
        ``"F"``: ``X^2 / trace(Delta)`` on ``F(d, d nu)`` with the Satterthwaite
        ``d = trace(Delta)^2 / trace(Delta^2)`` and ``nu`` the design df (PSUs - strata)
        - the second-order correction. ``"Chisq"``: as R, ``statistic`` is Pearson's X^2
        and the p-value is from ``X^2 / mean(eigenvalues of Delta)`` on
        ``(r-1)(c-1)`` df - the first-order correction.

    Returns
    -------
    DataFrame
        One row: ``statistic``, ``pearson`` (uncorrected X^2), ``adjusted`` (the statistic
        the p-value is read from), ``ndf``, ``ddf`` (NaN for Chisq), ``df`` ((r-1)(c-1)),
        ``p_value``, ``method``.

    References
    ----------
    Rao, J. N. K., & Scott, A. J. (1984). On chi-squared tests for multiway contingency
    tables with cell proportions estimated from survey data. *Annals of Statistics*,
    12(1), 46-60.

    Examples
    --------
    Unweighted, Pearson's X^2 of the table (30, 10 / 20, 20) against the expected
    (25, 15 / 25, 15) is 1 + 5/3 + 1 + 5/3 = 5.3333; the first-order correction of a
    with-replacement design rescales it by (N - 1) / N = 79/80:

    >>> t = pd.DataFrame(
    ...     {
    ...         "plan": ["a"] * 40 + ["b"] * 40,
    ...         "renew": ["yes"] * 30 + ["no"] * 10 + ["yes"] * 20 + ["no"] * 20,
    ...     }
    ... )
    >>> r = survey_chisq(t, row="plan", col="renew", statistic="Chisq")
    >>> r[["pearson", "adjusted", "df", "p_value"]].round(4)
       pearson  adjusted  df  p_value
    0   5.3333    5.2667   1   0.0217
    """
    if statistic not in ("F", "Chisq"):
        raise ValueError(f"survey_chisq: statistic {statistic!r}: use 'F' or 'Chisq'")
    prep, _ = setup(data, design, [], [row, col], role="table", func="survey_chisq")
    if row == col:
        raise ValueError(f"survey_chisq: row and col are the same column {row!r}")
    r_codes, r_lev = pd.factorize(data[row], sort=True)
    c_codes, c_lev = pd.factorize(data[col], sort=True)
    nr, nc = len(r_lev), len(c_lev)
    for name, k in ((row, nr), (col, nc)):
        if k < 2:
            raise ValueError(f"survey_chisq: column {name!r} needs at least two values, has {k}")
    ok = (r_codes >= 0) & (c_codes >= 0)
    cell = np.where(ok, c_codes * nr + r_codes, -1)  # rows vary fastest, as R interaction()
    K = nr * nc
    N = int(ok.sum())
    w = np.where(ok, prep.w, 0.0)
    Wt = w.sum()
    Z = np.zeros((prep.n, K))
    idx = np.flatnonzero(ok)
    Z[idx, cell[idx]] = 1.0
    p = Z.T @ w / Wt
    infl = (Z - p) * (w / Wt)[:, None]
    infl[~ok] = 0.0
    if prep.rep is not None:  # the replicate cell shares themselves (svrepdesign svychisq)
        Zw = Z[idx]

        def shares(wr: np.ndarray) -> np.ndarray:
            wo = wr[idx]
            return Zw.T @ wo / wo.sum()

        V = prep.rep.cov(p, prep.rep.estimates(shares, p))
    else:
        V = prep.vcov(infl)
    table = (p * N).reshape(nc, nr).T
    expected = np.outer(table.sum(1), table.sum(0)) / N
    pearson = float(((table - expected) ** 2 / expected).sum())
    rr, cc = np.tile(np.arange(nr), nc), np.repeat(np.arange(nc), nr)
    X1 = np.column_stack(
        [np.ones(K)]
        + [(rr == i).astype(float) for i in range(1, nr)]
        + [(cc == j).astype(float) for j in range(1, nc)]
    )
    X12 = np.column_stack(
        [((rr == i) & (cc == j)).astype(float) for j in range(1, nc) for i in range(1, nr)]
    )
    Cmat = X12 - X1 @ np.linalg.lstsq(X1, X12, rcond=None)[0]
    with np.errstate(divide="ignore"):
        idm = np.where(p == 0, 0.0, 1 / p)
    denom = (Cmat * (idm / N)[:, None]).T @ Cmat
    numr = (Cmat * idm[:, None]).T @ V @ (Cmat * idm[:, None])
    Delta = np.linalg.solve(denom, numr)
    tr = float(np.trace(Delta))
    d0 = tr**2 / float(np.trace(Delta @ Delta))
    nu = prep.degf
    df = (nr - 1) * (nc - 1)
    if statistic == "F":
        stat = pearson / tr
        out = {
            "statistic": stat,
            "pearson": pearson,
            "adjusted": stat,
            "ndf": d0,
            "ddf": d0 * nu,
            "df": df,
            "p_value": float(stats.f.sf(stat, d0, d0 * nu)),
            "method": "Rao-Scott F (second-order)",
        }
    else:
        adj = pearson / (tr / df)
        out = {
            "statistic": pearson,
            "pearson": pearson,
            "adjusted": adj,
            "ndf": np.nan,
            "ddf": np.nan,
            "df": df,
            "p_value": float(stats.chi2.sf(adj, df)),
            "method": "Rao-Scott chi-square (first-order)",
        }
    return pd.DataFrame([out])


# --------------------------------------------------------------------------------------
# Linear regression (svyglm, gaussian)
# --------------------------------------------------------------------------------------
@renamed(predictors="drivers", level="confidence")
def survey_glm(
    data: pd.DataFrame,
    *,
    outcome: str,
    drivers: Sequence[str],
    design: SurveyDesign | None = None,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Fit a survey-weighted linear regression with sandwich SEs (R ``svyglm``, gaussian).

    Coefficients solve the weighted normal equations ``X'WX b = X'Wy`` on complete rows;
    the covariance is ``A^-1 V A^-1`` with ``A = X'WX`` and ``V`` the design covariance of
    the score totals ``w_i x_i e_i``. Tests and intervals use Student's t on
    ``df_residual = degf + 1 - p`` (``summary.svyglm``).

    Parameters
    ----------
    data : DataFrame
        One row per respondent.
    outcome : str
        Numeric response.
    drivers : sequence of str
        Numeric predictors; an intercept is added.
    design : SurveyDesign, optional
        The sampling design.
    confidence : float
        Confidence level of the intervals.

    Returns
    -------
    DataFrame
        One row per term (``"(Intercept)"`` first): ``term``, ``estimate``, ``se``,
        ``statistic`` (t), ``df``, ``p_value``, ``ci_low``, ``ci_high``, ``n``.

    References
    ----------
    Binder, D. A. (1983). On the variances of asymptotically normal estimators from
    complex surveys. *International Statistical Review*, 51(3), 279-292. Lumley, T. (2010).
    *Complex Surveys*, ch. 5 (``svyglm``).

    Examples
    --------
    Unweighted, the coefficients are those of ordinary least squares: slope
    ``Sxy / Sxx`` = 19.7 / 10 = 1.97, intercept 7 - 1.97 * 3 = 1.09.

    >>> g = pd.DataFrame({"x": [1.0, 2, 3, 4, 5], "y": [3.1, 4.9, 7.2, 8.8, 11.0]})
    >>> survey_glm(g, outcome="y", drivers=["x"])[["term", "estimate", "df", "n"]].round(4)
              term  estimate   df  n
    0  (Intercept)      1.09  3.0  5
    1            x      1.97  3.0  5
    """
    predictors = as_names(drivers, "drivers", "survey_glm")
    confidence = check_confidence(confidence, "survey_glm")
    if not predictors:
        raise ValueError("survey_glm: drivers is empty")
    prep, groups = setup(data, design, [], [outcome, *predictors], role="model", func="survey_glm")
    y = numeric_values(data, outcome, "item", "survey_glm")
    X = np.column_stack(
        [np.ones(prep.n)] + [numeric_values(data, c, "item", "survey_glm") for c in predictors]
    )
    ok = ~np.isnan(y) & ~np.isnan(X).any(axis=1)
    k = X.shape[1]
    if ok.sum() <= k:
        raise ValueError(f"survey_glm: only {int(ok.sum())} complete rows for {k} coefficients")
    w = np.where(ok, prep.w, 0.0)
    Xo = np.where(ok[:, None], X, 0.0)
    yo = np.where(ok, y, 0.0)
    A = (Xo * w[:, None]).T @ Xo
    if np.linalg.matrix_rank(A) < k:
        raise ValueError(f"survey_glm: the predictors {predictors} are collinear")
    beta = np.linalg.solve(A, (Xo * w[:, None]).T @ yo)
    e = yo - Xo @ beta
    U = Xo * (w * e)[:, None]
    Ainv = np.linalg.inv(A)
    if prep.rep is not None:  # the replicate coefficients themselves (svrepdesign svyglm)

        def refit(wr: np.ndarray) -> np.ndarray:
            wr = np.where(ok, wr, 0.0)
            return np.linalg.lstsq((Xo * wr[:, None]).T @ Xo, (Xo * wr[:, None]).T @ yo)[0]

        cov = prep.rep.cov(beta, prep.rep.estimates(refit, beta))
    else:
        cov = Ainv @ prep.vcov(U) @ Ainv
    se = np.sqrt(np.diag(cov))
    df = float(groups.degf(ok)[0]) + 1 - k
    t = beta / se
    q = t_quantile(confidence, df)
    return pd.DataFrame(
        {
            "term": ["(Intercept)", *predictors],
            "estimate": beta,
            "se": se,
            "statistic": t,
            "df": df,
            "p_value": 2 * stats.t.sf(np.abs(t), df),
            "ci_low": beta - q * se,
            "ci_high": beta + q * se,
            "n": int(ok.sum()),
        }
    )


# --------------------------------------------------------------------------------------
# Sample profile
# --------------------------------------------------------------------------------------
def sample_profile(
    data: pd.DataFrame,
    *,
    by: str | Sequence[str] = (),
    design: SurveyDesign | None = None,
) -> pd.DataFrame:
    """Count the unweighted, weighted and effective sample size per group, with shares.

    Parameters
    ----------
    data : DataFrame
        One row per respondent.
    by : str or sequence of str
        Grouping columns. Shares are those of the *last* ``by`` column within each
        combination of the others (e.g. ``by=["wave", "segment"]``: each segment's share of
        its wave); with one column, each value's share of the sample.
    design : SurveyDesign, optional
        Supplies the weight.

    Returns
    -------
    DataFrame
        The ``by`` columns, ``n``, ``n_weighted``, ``n_effective`` (Kish
        ``(sum w)^2 / sum w^2``), ``share`` (of ``n``) and ``share_weighted`` (of
        ``n_weighted``), both in [0, 1].

    References
    ----------
    Kish, L. (1965). *Survey Sampling*. Wiley. Kish, L. (1992). Weighting for unequal
    P_i. *Journal of Official Statistics*, 8(2), 183-200 (the effective sample size
    ``(sum w)^2 / sum w^2`` of unequal weights).

    Examples
    --------
    Group ``a`` has weights 1 and 2: ``n_effective`` = 3^2 / (1 + 4) = 1.8.

    >>> df = pd.DataFrame({"g": ["a", "a", "b", "b"], "w": [1.0, 2.0, 1.0, 1.0]})
    >>> sample_profile(df, by="g", design=SurveyDesign(weight="w"))
       g  n  n_weighted  n_effective  share  share_weighted
    0  a  2         3.0          1.8    0.5             0.6
    1  b  2         2.0          2.0    0.5             0.4
    """
    prep, groups = setup(data, design, by, [], func="sample_profile")
    w = prep.w
    one = groups.member.astype(float)
    n = groups.sums(one)
    W = groups.sums(w)
    out = groups.keys.copy() if groups.by else pd.DataFrame(index=range(1))
    base = base_columns(groups, n, W, groups.sums(w * w))
    for c, v in base.items():
        out[c] = v
    outer = groups.by[:-1]
    if outer:
        tot_n = out.groupby(outer, sort=False, observed=True)["n"].transform("sum")
        tot_w = out.groupby(outer, sort=False, observed=True)["n_weighted"].transform("sum")
    else:
        tot_n, tot_w = out["n"].sum(), out["n_weighted"].sum()
    out["share"] = out["n"] / tot_n
    out["share_weighted"] = out["n_weighted"] / tot_w
    return out
