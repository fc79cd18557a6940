"""The embedded demo study: a seeded generator of a realistic multi-wave survey.

The demo models the network-operator case of the domain primer: six quarterly waves of a
customer-satisfaction survey with 8 areas x 5 items (1-5 and 1-10 scales), overall
satisfaction, NPS, customer effort, a loyalty item, 8 expectation items paired with
satisfaction items, four segments, post-stratification weights, completion time, an
open-ended comment (some in Chinese) and the dirt that real exports carry: duplicates,
speeders, straightliners, missing codes, out-of-range and non-numeric entries and
incomplete responses.

It plants known truths and writes them to ``truths.json`` beside the data, so that tests
can check that the analyses find them: the true driver weights of overall satisfaction and
of loyalty, a basic and an excitement factor, a satisfaction trough (one segment low on one
area), a turning point (an area falls in one wave) and an operational metric that moves
satisfaction. The same seed gives byte-identical files.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import io as dio
from .comments import DEMO_CLAUSES, demo_comments

__all__ = [
    "DemoSpec",
    "AREAS",
    "generate_demo",
    "write_demo",
    "StudyShape",
    "SHAPES",
    "shape_study",
    "write_study_shape",
]

# area name -> (label, scale max, [(indicator, indicator label, [(item, label), ...]), ...])
AREAS: dict[str, tuple[str, int, list[tuple[str, str, list[tuple[str, str]]]]]] = {
    "network": (
        "Network service 网络服务",
        5,
        [
            (
                "net_coverage",
                "Coverage 覆盖",
                [
                    ("net_cov_home", "Coverage at home"),
                    ("net_cov_travel", "Coverage when travelling"),
                    ("net_indoor", "Indoor signal"),
                ],
            ),
            (
                "net_quality",
                "Call and data quality 通话与数据质量",
                [
                    ("net_call_clarity", "Call clarity"),
                    ("net_drop", "Calls often drop (negatively worded)"),
                ],
            ),
        ],
    ),
    "complaint": (
        "Complaint handling 投诉处理",
        5,
        [
            (
                "cmp_process",
                "Complaint process 投诉流程",
                [
                    ("cmp_ease", "Ease of making a complaint"),
                    ("cmp_updates", "Updates on progress"),
                ],
            ),
            (
                "cmp_outcome",
                "Complaint outcome 投诉结果",
                [
                    ("cmp_speed", "Speed of resolution"),
                    ("cmp_fairness", "Fairness of the outcome"),
                    ("cmp_resolved", "Problem actually solved"),
                ],
            ),
        ],
    ),
    "hotline": (
        "Hotline 客服热线",
        5,
        [
            (
                "hot_access",
                "Reaching the hotline 接通",
                [
                    ("hot_wait", "Waiting time"),
                    ("hot_menu", "Ease of the phone menu"),
                ],
            ),
            (
                "hot_staff",
                "Hotline staff 客服人员",
                [
                    ("hot_attitude", "Staff friendliness"),
                    ("hot_knowledge", "Staff knowledge"),
                    ("hot_fcr", "Solved on the first call"),
                ],
            ),
        ],
    ),
    "billing": (
        "Billing 账单",
        5,
        [
            (
                "bill_clarity",
                "Bill clarity 账单清晰",
                [
                    ("bill_clear", "Bill easy to understand"),
                    ("bill_detail", "Itemised detail"),
                ],
            ),
            (
                "bill_correct",
                "Bill correctness 账单准确",
                [
                    ("bill_accuracy", "Bill is accurate"),
                    ("bill_payment", "Ease of payment"),
                    ("bill_no_surprise", "No unexpected charges"),
                ],
            ),
        ],
    ),
    "outlets": (
        "Outlets 营业厅",
        5,
        [
            (
                "out_access",
                "Outlet access 网点便利",
                [
                    ("out_location", "Convenient location"),
                    ("out_hours", "Opening hours"),
                ],
            ),
            (
                "out_service",
                "Outlet service 网点服务",
                [
                    ("out_queue", "Queueing time"),
                    ("out_staff", "Staff helpfulness"),
                    ("out_env", "Store environment"),
                ],
            ),
        ],
    ),
    "promotions": (
        "Promotions 促销活动",
        5,
        [
            (
                "promo_offer",
                "Offers 优惠",
                [
                    ("promo_attractive", "Attractive offers"),
                    ("promo_relevance", "Offers tailored to me"),
                ],
            ),
            (
                "promo_comm",
                "Offer communication 活动沟通",
                [
                    ("promo_clear", "Clear terms and conditions"),
                    ("promo_info", "Timely information"),
                    ("promo_rewards", "Loyalty rewards"),
                ],
            ),
        ],
    ),
    "brand": (
        "Brand 品牌形象",
        10,
        [
            (
                "brand_image",
                "Brand image 品牌形象",
                [
                    ("brand_trust", "Trustworthy"),
                    ("brand_innov", "Innovative"),
                    ("brand_modern", "Modern"),
                ],
            ),
            (
                "brand_social",
                "Brand in society 社会形象",
                [
                    ("brand_resp", "Socially responsible"),
                    ("brand_pride", "Proud to be a customer"),
                ],
            ),
        ],
    ),
    "value": (
        "Value for money 性价比",
        10,
        [
            (
                "value_price",
                "Price 价格",
                [
                    ("val_price", "Price level"),
                    ("val_plan", "Plan fits my needs"),
                    ("val_data", "Data allowance for the price"),
                ],
            ),
            (
                "value_compare",
                "Value compared 比较",
                [
                    ("val_compare", "Value compared with other operators"),
                    ("val_extras", "Value of extras"),
                ],
            ),
        ],
    ),
}

#: net_drop is worded negatively: the raw answer runs the other way.
REVERSED = ("net_drop",)

#: the satisfaction item each expectation item is paired with
EXPECTATION_PAIRS = {
    "exp_net_cov_home": "net_cov_home",
    "exp_cmp_speed": "cmp_speed",
    "exp_hot_wait": "hot_wait",
    "exp_bill_accuracy": "bill_accuracy",
    "exp_out_queue": "out_queue",
    "exp_promo_attractive": "promo_attractive",
    "exp_brand_trust": "brand_trust",
    "exp_val_price": "val_price",
}

SEGMENTS = {
    "customer_type": (
        "Customer type 客户类型",
        {"contract": "Contract 合约", "high_bill": "High-bill 高消费", "prepaid": "Prepaid 预付费"},
    ),
    "tenure": (
        "Tenure 在网时长",
        {"lt1": "< 1 year", "y1_3": "1-3 years", "y3_5": "3-5 years", "y5p": "5+ years"},
    ),
    "region": (
        "Region 地区",
        {"north": "North 华北", "south": "South 华南", "east": "East 华东", "west": "West 西部"},
    ),
    "channel": (
        "Main channel 主要渠道",
        {"online": "Online 线上", "store": "Store 门店", "phone": "Phone 电话"},
    ),
}

#: the version of the demo's generator, in ``truths.json``: ``demo-data --if-missing``
#: writes the files again when an older generator wrote them (2: comments with themes;
#: 3: planted actions and the per-customer operational file)
DEMO_VERSION = 3

COMMENTS = [
    "Signal at home is weak in the evening.",
    "Hotline kept me waiting for twenty minutes.",
    "The app is great, billing is clear.",
    "Prices went up without notice.",
    "Staff in the shop were very helpful!",
    "网络信号很好，但是客服等待时间太长。",
    "账单看不懂，希望更清楚一些。",
    "营业厅服务态度很好。",
    "希望有更多适合我的优惠活动。",
    "投诉处理太慢了",
    "Bill said <b>€45</b> & then charged €60 <script>alert('x')</script>",
    "5G coverage when travelling is patchy",
]


@dataclass(frozen=True)
class DemoSpec:
    """Size and planted effects of the demo study (defaults are the shipped demo)."""

    seed: int = 20261122
    waves: tuple[str, ...] = ("2024Q1", "2024Q2", "2024Q3", "2024Q4", "2025Q1", "2025Q2")
    respondents_per_wave: int = 1600
    #: true importance of each area for overall satisfaction (latent scale)
    driver_weights: tuple[tuple[str, float], ...] = (
        ("network", 0.42),
        ("value", 0.32),
        ("hotline", 0.24),
        ("billing", 0.14),
        ("promotions", 0.07),
        ("complaint", 0.06),
        ("brand", 0.03),
        ("outlets", 0.0),
    )
    #: importance of areas for loyalty (repurchase): value and brand lead, not network
    loyalty_weights: tuple[tuple[str, float], ...] = (
        ("value", 0.40),
        ("brand", 0.30),
        ("network", 0.10),
        ("hotline", 0.05),
    )
    basic_item: str = "bill_accuracy"
    excitement_item: str = "promo_relevance"
    #: loading of every area on the general satisfaction factor (areas correlate through it)
    general_loading: float = 0.35
    #: drop of overall satisfaction (latent) when the basic factor is rated low (<= 2 of 5)
    basic_penalty: float = 0.5
    #: lift of overall satisfaction (latent) when the excitement factor is rated high (>= 4)
    excitement_reward: float = 0.2
    trough: tuple[str, str, str, float] = ("customer_type", "high_bill", "complaint", -0.9)
    turning_point: tuple[str, str, float] = ("network", "2024Q4", -0.7)
    #: latent change of the hotline area per extra minute of waiting
    wait_slope: float = -0.15
    #: how much dirt to plant, relative to the shipped demo's counts per wave (40 speeders,
    #: 30 straightliners, 25 incomplete, 12 out-of-range and 4 text entries, 10 repeated ids
    #: and 6 repeated answer vectors); scale it down with the number of respondents
    dirt: float = 1.0
    #: the scale of the areas the demo asks on 1-5: 5, or 7 for a 1-7 study
    short_scale: int = 5
    #: plant the dirt with whole-column draws (the same kinds and shares, other random
    #: numbers): for studies of a million respondents (``benchmarks/bench_report.py``); the
    #: default keeps the shipped demo's files byte for byte
    fast_dirt: bool = False
    #: planted actions: (name, targeted items, first wave it shows in, latent lift of the
    #: targeted items from that wave on); a lift of 0 is an action that does not work. The
    #: targets are no comment theme's item, so the themes' planted links stay as they were
    actions: tuple[tuple[str, tuple[str, ...], str, float], ...] = (
        ("hotline_upgrade", ("hot_menu", "hot_fcr"), "2025Q1", 0.35),
        ("bill_redesign", ("bill_clear", "bill_detail"), "2024Q3", 0.0),
    )
    #: the per-customer operational file: the waiting minutes above which the hotline
    #: area's satisfaction drops (flat below, falling above)
    wait_threshold: float = 8.0


def _items(short_scale: int = 5) -> list[tuple[str, str, str, str, int]]:
    """(item, label, indicator, area, scale max) for every satisfaction item."""
    out = []
    for area, (_, smax, inds) in AREAS.items():
        for ind, _, items in inds:
            for item, label in items:
                out.append((item, label, ind, area, short_scale if smax == 5 else smax))
    return out


def _rate(latent: np.ndarray, smax: int, offset: float = 0.0) -> np.ndarray:
    """Latent scores to ratings: 1-5 and 1-7 by fixed cut-points, 1-10 linearly."""
    z = latent + offset
    if smax == 5:
        return 1 + np.searchsorted(np.array([-1.7, -0.8, 0.15, 1.15]), z)
    if smax == 7:
        return 1 + np.searchsorted(np.array([-1.9, -1.2, -0.5, 0.15, 0.8, 1.45]), z)
    return np.clip(np.rint(6.3 + 1.55 * z), 1, 10).astype(int)


def _check_spec(spec: DemoSpec) -> None:
    if spec.short_scale not in (5, 7):
        raise ValueError(f"short_scale must be 5 or 7, not {spec.short_scale}")
    if spec.turning_point[1] not in spec.waves:
        raise ValueError(
            f"turning_point wave {spec.turning_point[1]!r} is not one of the waves {spec.waves}"
        )


def generate_demo(
    spec: DemoSpec | None = None,
) -> tuple[dict[str, pd.DataFrame], pd.DataFrame, pd.DataFrame, dict]:
    """Generate the demo waves, the operational metrics and the planted truths.

    Parameters
    ----------
    spec : DemoSpec, optional
        Size and effects; the default is the shipped demo study.

    Returns
    -------
    waves : dict of str to DataFrame
        One raw export per wave, exactly as it is written to disk (text values included).
    operations : DataFrame
        Hotline waiting minutes per wave and region.
    customers : DataFrame
        Each customer's hotline waiting minutes (``customer_ops.csv``): the respondents
        and some customers not in the survey.
    truths : dict
        The planted truths, JSON-ready.
    """
    spec = spec or DemoSpec()
    _check_spec(spec)
    rng = np.random.default_rng(spec.seed)
    items = _items(spec.short_scale)
    areas = list(AREAS)
    w_sat = dict(spec.driver_weights)
    w_loy = dict(spec.loyalty_weights)
    tenure_eff = {"lt1": 0.15, "y1_3": 0.0, "y3_5": -0.15, "y5p": -0.3}
    type_eff = {"contract": 0.0, "high_bill": -0.1, "prepaid": 0.2}
    pop_type = {"contract": 0.45, "high_bill": 0.15, "prepaid": 0.40}
    smp_type = {"contract": 0.40, "high_bill": 0.30, "prepaid": 0.30}
    pop_region = {"north": 0.30, "south": 0.25, "east": 0.30, "west": 0.15}
    regions = list(pop_region)
    # operational metric: hotline waiting minutes per wave x region
    wait = {}
    for t, wave in enumerate(spec.waves):
        for r, name in enumerate(regions):
            wait[(wave, name)] = round(
                2.5 + 0.4 * r + [0.0, 0.5, 1.5, 3.0, 2.0, 0.5][t % 6] + rng.normal(0, 0.3), 1
            )
    mean_wait = float(np.mean(list(wait.values())))
    tp_area, tp_wave, tp_size = spec.turning_point
    tp_index = spec.waves.index(tp_wave)
    waves: dict[str, pd.DataFrame] = {}
    planted: dict[str, dict[str, list[str]]] = {}
    comment_rng = np.random.default_rng([spec.seed, 2])
    ops_rng = np.random.default_rng([spec.seed, 3])
    customer_ops: list[pd.DataFrame] = []
    for t, wave in enumerate(spec.waves):
        n = spec.respondents_per_wave
        ctype = rng.choice(list(smp_type), size=n, p=list(smp_type.values()))
        region = rng.choice(regions, size=n)
        tenure = rng.choice(list(tenure_eff), size=n, p=[0.2, 0.3, 0.25, 0.25])
        channel = rng.choice(["online", "store", "phone"], size=n, p=[0.5, 0.3, 0.2])
        g = rng.normal(size=n)
        base = np.array([type_eff[c] + tenure_eff[k] for c, k in zip(ctype, tenure, strict=True)])
        latent = {}
        for area in areas:
            a = 0.3 + spec.general_loading * g + 0.8 * rng.normal(size=n) + base
            if area == spec.trough[2]:
                a = a + spec.trough[3] * (ctype == spec.trough[1])
            if area == tp_area and t >= tp_index:
                # falls in the turning-point wave, recovers by a third each wave after
                a = a + tp_size * (2 / 3) ** (t - tp_index)
            if area == "hotline":
                w_min = np.array([wait[(wave, r)] for r in region])
                a = a + spec.wait_slope * (w_min - mean_wait)
            latent[area] = a
        ratings: dict[str, np.ndarray] = {}
        for k, (item, _, _, area, smax) in enumerate(items):
            offset = _item_offset(spec, item, k, t)
            ratings[item] = _rate(latent[area] + 0.65 * rng.normal(size=n), smax, offset)
        # overall satisfaction: weighted areas + penalty/reward of the planted factors
        o = sum(w_sat[a] * latent[a] for a in areas)
        o = (
            o
            - spec.basic_penalty * (ratings[spec.basic_item] <= 2)
            + spec.excitement_reward * (ratings[spec.excitement_item] >= 4)
        )
        o = o + 0.35 * rng.normal(size=n)
        osat = np.clip(np.rint(6.6 + 1.6 * (o - 0.25)), 1, 10).astype(int)
        loy = sum(w * latent[a] for a, w in w_loy.items()) + 0.45 * rng.normal(size=n)
        repurchase = _rate(loy, 5, 0.1)
        rec = 0.75 * (o - 0.25) + 0.3 * latent["brand"] + 0.5 * rng.normal(size=n)
        nps_rec = np.clip(np.rint(7.2 + 1.9 * rec), 0, 10).astype(int)
        effort = -0.5 * (latent["hotline"] + latent["complaint"]) / 2 + 0.7 * rng.normal(size=n)
        ces = np.clip(np.rint(3.0 + 1.4 * effort), 1, 7).astype(int)
        exp_ratings = {}
        for exp_item, sat_item in EXPECTATION_PAIRS.items():
            smax = next(s for i, _, _, _, s in items if i == sat_item)
            e = 0.9 + 0.4 * g + 0.7 * rng.normal(size=n)
            exp_ratings[exp_item] = _rate(e, smax)
        duration = np.rint(np.exp(rng.normal(np.log(620), 0.35, size=n))).astype(int)
        ids = np.array([f"{wave[2:]}-{i:05d}" for i in range(1, n + 1)])
        df = pd.DataFrame(
            {
                "resp_id": ids,
                "wave": wave,
                "customer_type": ctype,
                "tenure": tenure,
                "region": region,
                "channel": channel,
                "duration_sec": duration,
            }
        )
        for item, *_ in items:
            raw = ratings[item]
            if item in REVERSED:
                raw = spec.short_scale + 1 - raw
            df[item] = raw
        df["osat"] = osat
        df["nps_recommend"] = nps_rec
        df["ces"] = ces
        df["repurchase"] = repurchase
        for exp_item, vals in exp_ratings.items():
            df[exp_item] = vals
        has_comment = rng.random(n) < 0.45
        # the earlier demo drew its comments here; the draw stays so that every other
        # number of the demo is unchanged, and the comments come from their own generator
        rng.choice(COMMENTS, size=n)
        voice = {item: ratings.get(item, np.zeros(n)) for _, item, _, _ in DEMO_CLAUSES}
        df["comment"] = demo_comments(voice, has_comment=has_comment, rng=comment_rng)
        # post-stratification weights to population type x region shares
        cell = pd.Series(list(zip(ctype, region, strict=True)))
        share = cell.map(cell.value_counts(normalize=True)).to_numpy()
        target = np.array([pop_type[c] * pop_region[r] for c, r in zip(ctype, region, strict=True)])
        weight = target / share
        df["weight"] = np.round(weight / weight.mean(), 6)
        customer_ops.append(_customer_waits(ids, latent["hotline"], spec, ops_rng))
        add = _add_dirt_fast if spec.fast_dirt else _add_dirt
        df, dirt = add(df, rng, items, spec.dirt)
        waves[wave] = df
        planted[wave] = dirt
    ops = pd.DataFrame(
        [{"wave": w, "region": r, "hotline_wait_min": v} for (w, r), v in wait.items()]
    )
    customer_truth: dict[str, Any] = {
        "file": "customer_ops.csv",
        "id": "customer_id",
        "metric": "hotline_wait_min",
        "outcome": "hotline",
        "threshold": spec.wait_threshold,
        "unknown_ids": _UNKNOWN_CUSTOMERS,
        "note": "hotline satisfaction is flat up to the threshold, then drops and falls",
    }
    truths = {
        "demo_version": DEMO_VERSION,
        "seed": spec.seed,
        "driver_weights_overall": dict(spec.driver_weights),
        "driver_rank_overall": [a for a, _ in sorted(spec.driver_weights, key=lambda x: -x[1])],
        "driver_weights_loyalty": dict(spec.loyalty_weights),
        "loyalty_outcome": "repurchase",
        "basic_factor": spec.basic_item,
        "excitement_factor": spec.excitement_item,
        "trough": {
            "segment": spec.trough[0],
            "value": spec.trough[1],
            "area": spec.trough[2],
            "latent_effect": spec.trough[3],
        },
        "turning_point": {
            "area": tp_area,
            "wave": tp_wave,
            "latent_effect": tp_size,
            "note": "falls in this wave, recovers by a third each wave after",
        },
        "operational_metric": {
            "file": "operations.csv",
            "metric": "hotline_wait_min",
            "by": ["wave", "region"],
            "area": "hotline",
            "latent_slope_per_unit": spec.wait_slope,
        },
        "actions": {
            name: {"targets": list(targets), "start": start, "latent_lift": lift, "works": lift > 0}
            for name, targets, start, lift in spec.actions
        },
        "respondent_operations": customer_truth,
        "reversed_items": list(REVERSED),
        "comments": {
            "themes": {theme: item for theme, item, _, _ in DEMO_CLAUSES},
            "note": (
                "a commenter who rates a theme's item low mentions the theme far more often: "
                "the signal theme rises in the turning point's wave, and those who mention a "
                "theme rate overall satisfaction lower"
            ),
        },
        "planted_dirt": planted,
    }
    customers = pd.concat(customer_ops, ignore_index=True)
    extra = pd.DataFrame(
        {
            "customer_id": [f"99-{k:05d}" for k in range(1, _UNKNOWN_CUSTOMERS + 1)],
            "hotline_wait_min": np.round(ops_rng.uniform(0.5, 20, _UNKNOWN_CUSTOMERS), 1),
        }
    )
    customers = pd.concat([customers, extra], ignore_index=True)
    customers = customers.iloc[ops_rng.permutation(len(customers))].reset_index(drop=True)
    customer_truth["rows"] = len(customers)
    return waves, ops, customers, truths


def _item_offset(spec: DemoSpec, item: str, k: int, t: int) -> float:
    """Return the latent offset of item number ``k`` in wave number ``t``.

    Items differ a little in level; the basic factor performs well, the excitement factor
    modestly; an action's targeted items rise by its lift from its start wave on.
    """
    offset = [0.2, -0.1, 0.0, 0.1, -0.2][k % 5]
    if item == spec.basic_item:
        offset += 0.6  # basic factors usually perform well
    if item == spec.excitement_item:
        offset -= 0.5  # excitement factors usually perform modestly
    for _, targets, start, lift in spec.actions:
        if item in targets and start in spec.waves and t >= spec.waves.index(start):
            offset += lift
    return offset


#: customers of the per-customer operational file who are not in the survey (ids that a
#: CRM extract holds beyond the sample): reported, never silently dropped
_UNKNOWN_CUSTOMERS = 25


def _customer_waits(
    ids: np.ndarray, hotline: np.ndarray, spec: DemoSpec, rng: np.random.Generator
) -> pd.DataFrame:
    """Return each respondent's minutes waited on the hotline, with a planted threshold.

    The customers with the lowest hotline scores (plus noise) waited longer than the
    threshold, the lower the score the longer; below it the minutes do not depend on the
    score: the satisfaction curve is flat up to the threshold, then drops and falls.
    Drawn from the demo's own generator, so no other number of the demo changes.
    """
    z = (hotline - hotline.mean()) / hotline.std()
    n = len(ids)
    pressure = -z + rng.normal(0, 0.6, n)
    cut = np.quantile(pressure, 0.65)
    minutes = np.where(
        pressure > cut,
        spec.wait_threshold + 0.1 + 4.0 * (pressure - cut),
        rng.uniform(0.5, spec.wait_threshold, n),
    )
    return pd.DataFrame({"customer_id": ids, "hotline_wait_min": np.round(minutes, 1)})


def _add_dirt(
    df: pd.DataFrame, rng: np.random.Generator, items, scale: float = 1.0
) -> tuple[pd.DataFrame, dict]:
    """Plant the problems of a real export; return the frame and the ids affected.

    ``scale`` multiplies the shipped demo's counts per wave (see :attr:`DemoSpec.dirt`).
    """
    n = len(df)
    short = max(s for *_, s in items if s != 10)
    grid5 = [i for i, _, _, _, s in items if s == short]
    grid10 = [i for i, _, _, _, s in items if s == 10]
    all_items = [i for i, *_ in items]

    def count(k: int) -> int:
        return k if scale == 1.0 else max(1, int(round(k * scale)))

    n_spd, n_stl, n_inc = count(40), count(30), count(25)
    pick = rng.permutation(n)  # a small sample simply gets fewer of each
    spd = pick[:n_spd]
    stl = pick[n_spd : n_spd + n_stl]
    inc = pick[n_spd + n_stl : n_spd + n_stl + n_inc]
    df = df.copy()
    df.loc[spd, "duration_sec"] = rng.integers(45, 160, size=len(spd))
    for r in stl:
        v = int(rng.integers(3, 6))
        for c in grid5:
            df.loc[r, c] = v
    blank = all_items[5:]
    df = df.astype(
        {
            c: object
            for c in [*all_items, "osat", "nps_recommend", "ces", "repurchase", *EXPECTATION_PAIRS]
        }
    )
    for r in inc:
        for c in blank:
            df.at[r, c] = None
    # missing codes ("don't know") and out-of-range and text entries
    codes = []
    for c in all_items:
        rows = rng.choice(n, size=int(0.02 * n), replace=False)
        for r in rows:
            if df.at[r, c] is not None:
                df.at[r, c] = 99 if c in grid5 else rng.choice([99, -99])
                codes.append(c)
    oor = []
    for _ in range(count(12)):
        r, c = int(rng.integers(n)), str(rng.choice(all_items))
        df.at[r, c] = short + 1 if c in grid5 else 11
        oor.append(df.at[r, "resp_id"])
    text = []
    for val in ["N/A", "５", "five", "n/a"][: count(4)]:
        r, c = int(rng.integers(n)), str(rng.choice(grid10 + grid5))
        df.at[r, c] = val
        text.append(df.at[r, "resp_id"])
    # duplicates: the same respondent twice; and one answer vector under a new id
    n_same, n_new = count(10), count(6)
    dup_rows = rng.choice(n, size=n_same + n_new, replace=False)
    same_id = df.iloc[dup_rows[:n_same]].copy()
    new_id = df.iloc[dup_rows[n_same:]].copy()
    new_id["resp_id"] = [f"{x}-B" for x in new_id["resp_id"]]
    out = pd.concat([df, same_id, new_id], ignore_index=True)
    out = out.iloc[np.argsort(rng.random(len(out)), kind="stable")].reset_index(drop=True)
    dirt = {
        "speeders": df.loc[spd, "resp_id"].tolist(),
        "straightliners": df.loc[stl, "resp_id"].tolist(),
        "incomplete": df.loc[inc, "resp_id"].tolist(),
        "duplicate_id": same_id["resp_id"].tolist(),
        "duplicate_answers": new_id["resp_id"].tolist(),
        "out_of_range": oor,
        "non_numeric": text,
    }
    return out, dirt


def _add_dirt_fast(
    df: pd.DataFrame, rng: np.random.Generator, items, scale: float = 1.0
) -> tuple[pd.DataFrame, dict]:
    """Plant the dirt of :func:`_add_dirt` with whole-column draws (for large studies).

    The same kinds, counts and shares of problems; the random numbers differ from
    :func:`_add_dirt`'s, so the shipped demo uses that one.
    """
    n = len(df)
    short = max(s for *_, s in items if s != 10)
    grid5 = [i for i, _, _, _, s in items if s == short]
    grid10 = [i for i, _, _, _, s in items if s == 10]
    all_items = [i for i, *_ in items]
    n_spd, n_stl, n_inc, n_oor, n_same, n_new = (
        k if scale == 1.0 else max(1, int(round(k * scale))) for k in (40, 30, 25, 12, 10, 6)
    )
    pick = rng.permutation(n)
    spd = pick[:n_spd]
    stl = pick[n_spd : n_spd + n_stl]
    inc = pick[n_spd + n_stl : n_spd + n_stl + n_inc]
    duration = df["duration_sec"].to_numpy().copy()
    duration[spd] = rng.integers(45, 160, size=len(spd))
    cols: dict[str, Any] = {c: df[c].to_numpy() for c in df.columns}
    cols["duration_sec"] = duration
    straight = rng.integers(3, 6, size=len(stl))
    blank = set(all_items[5:])
    ids = cols["resp_id"]
    oor_rows = rng.integers(n, size=n_oor)
    oor_cols = rng.choice(all_items, size=n_oor)
    text_vals = ["N/A", "５", "five", "n/a"][: min(4, n_oor)]
    text_rows = rng.integers(n, size=len(text_vals))
    text_cols = rng.choice(grid10 + grid5, size=len(text_vals))
    for c in [*all_items, "osat", "nps_recommend", "ces", "repurchase", *EXPECTATION_PAIRS]:
        v = cols[c].astype(object)
        if c in grid5:
            v[stl] = straight
        if c in blank:
            v[inc] = None
        if c in all_items:
            rows = rng.choice(n, size=int(0.02 * n), replace=False)
            rows = rows[pd.notna(v[rows])]
            v[rows] = 99 if c in grid5 else rng.choice([99, -99], size=len(rows))
            v[oor_rows[oor_cols == c]] = short + 1 if c in grid5 else 11
            for val, r, tc in zip(text_vals, text_rows, text_cols, strict=True):
                if tc == c:
                    v[r] = val
        cols[c] = v
    out0 = pd.DataFrame(cols, index=df.index)
    dup_rows = rng.choice(n, size=n_same + n_new, replace=False)
    same_id = out0.iloc[dup_rows[:n_same]].copy()
    new_id = out0.iloc[dup_rows[n_same:]].copy()
    new_id["resp_id"] = [f"{x}-B" for x in new_id["resp_id"]]
    out = pd.concat([out0, same_id, new_id], ignore_index=True)
    out = out.iloc[np.argsort(rng.random(len(out)), kind="stable")].reset_index(drop=True)
    dirt = {
        "speeders": ids[spd].tolist(),
        "straightliners": ids[stl].tolist(),
        "incomplete": ids[inc].tolist(),
        "duplicate_id": same_id["resp_id"].tolist(),
        "duplicate_answers": new_id["resp_id"].tolist(),
        "out_of_range": ids[oor_rows].tolist(),
        "non_numeric": ids[text_rows].tolist(),
    }
    return out, dirt


def write_demo(folder: str | Path, spec: DemoSpec | None = None) -> list[Path]:
    """Write the demo study's raw files into ``folder`` (created if needed).

    The six waves arrive in the formats analysts receive, so that every reader is used
    when the demo report runs:

    ========  ===================  ==============================================
    wave      file                 format
    ========  ===================  ==============================================
    2024Q1    wave_2024Q1.csv      CSV, UTF-8 with BOM (encoding detected)
    2024Q2    wave_2024Q2.csv      CSV, GB18030 (a Chinese Excel export)
    2024Q3    wave_2024Q3.xlsx     Excel, sheet "Responses"
    2024Q4    wave_2024Q4.sav      SPSS, with variable labels, value labels and
                                   user-missing 99 / -99
    2025Q1    wave_2025Q1.csv      Qualtrics CSV (three header rows)
    2025Q2    wave_2025Q2.parquet  Parquet
    ========  ===================  ==============================================

    plus ``operations.csv`` and ``truths.json``. Timestamps that the Excel and SPSS
    writers embed are fixed, so the same seed gives byte-identical files.

    Returns
    -------
    list of Path
        The files written.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    waves, ops, customers, truths = generate_demo(spec)
    labels = {item: label for item, label, *_ in _items()}
    labels.update({col: label for col, (label, _) in SEGMENTS.items()})
    scale = {item: smax for item, _, _, _, smax in _items()}
    written = []
    formats = ["csv_bom", "csv_gb18030", "excel", "spss", "qualtrics", "parquet"]
    for k, (wave, df) in enumerate(waves.items()):
        fmt = formats[k % len(formats)]
        if fmt == "csv_bom":
            p = dio.write_csv_export(df, folder / f"wave_{wave}.csv", encoding="utf-8-sig")
        elif fmt == "csv_gb18030":
            p = dio.write_csv_export(df, folder / f"wave_{wave}.csv", encoding="gb18030")
        elif fmt == "excel":
            p = dio.write_excel_export(df, folder / f"wave_{wave}.xlsx", sheet="Responses")
        elif fmt == "spss":
            five: dict[float, str] = {1: "Very dissatisfied", 5: "Very satisfied", 99: "Don't know"}
            ten: dict[float, str] = {
                1: "Very dissatisfied",
                10: "Very satisfied",
                99: "Don't know",
                -99: "Refused",
            }
            p = dio.write_spss_export(
                df,
                folder / f"wave_{wave}.sav",
                variable_labels=labels,
                value_labels={c: five if s == 5 else ten for c, s in scale.items()},
                user_missing={c: [99] if s == 5 else [99, -99] for c, s in scale.items()},
            )
        elif fmt == "qualtrics":
            p = dio.write_qualtrics_export(df, folder / f"wave_{wave}.csv", question_text=labels)
        else:
            p = dio.write_parquet_export(df, folder / f"wave_{wave}.parquet")
        written.append(p)
    p = folder / "operations.csv"
    ops.to_csv(p, index=False, lineterminator="\n")
    written.append(p)
    p = folder / "customer_ops.csv"
    customers.to_csv(p, index=False, lineterminator="\n")
    written.append(p)
    p = folder / "truths.json"
    p.write_text(json.dumps(truths, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    written.append(p)
    return written


# --------------------------------------------------------------------------------------
# study shapes: the demo's survey in the shapes real studies come in
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StudyShape:
    """What a generated study has: each switch turns one optional part off or changes it.

    The default is a small version of the demo with every part present (three waves of
    150 respondents, four areas). :data:`SHAPES` names the shapes the tests use;
    :func:`write_study_shape` writes a shape's exports and study file.

    Attributes
    ----------
    name : str
        The study name (``config/<name>.yml``, ``data/raw/<name>/``).
    waves : int
        Number of waves (1 to 6), quarterly from 2024Q1.
    respondents : int
        Respondents per wave, before the planted duplicates.
    areas : tuple of str
        Areas of the demo to ask (each 5 items; network, hotline and billing on the short
        scale, value and brand on 1-10).
    hierarchy : {"full", "areas", "none"}
        Areas with indicators, areas only (items roll up straight into areas), or no
        hierarchy at all (items without areas: no index).
    overall, ces, loyalty, expectations : bool
        Whether the study has the overall-satisfaction, effort and loyalty KPI items and
        expectation items paired with satisfaction items.
    nps : {"0-10", "1-10", "none"}
        The scale of the likelihood-to-recommend item, or no NPS item.
    segments : {"text", "integer", "spss", "none"}
        Segment codes as text (``contract``), as integers with labels in the study file
        (``values: {1: Contract}``), as SPSS numeric codes whose labels come from the file
        (no ``values`` in the study file), or no segments (the columns are still in the
        export, unused).
    weights : {"rake", "delivered", "none"}
        Rake to population margins from the delivered weights, use the delivered weights
        as they are, or no weights (no weight column in the export).
    strata : bool
        Whether the design states region as strata.
    id_column : bool
        Whether the export has a respondent id (``data.respondent_id``).
    wave_column : bool
        False: one export without any wave column and no ``data.wave`` (one wave only).
    stacked : bool
        All waves in one file with a wave column.
    duration, text, operations : bool
        Completion time, an open-ended comment, an operational-metrics file.
    customers : bool
        Whether the study has a per-customer operational file (``customer_ops.csv``:
        each respondent's hotline waiting minutes and some ids outside the survey, joined
        by the respondent id; ``data.respondent_operations``); only with an id column.
    actions : bool
        Whether the study file lists an action (the first two items of the first area,
        from the last wave on); only with two waves or more and a hierarchy.
    model : bool
        Whether the study file maps its areas onto the ECSI model (``model: {ecsi: ...}``:
        quality, value, image from the areas, satisfaction the overall item, loyalty the
        loyalty item); only with a hierarchy and the overall item.
    scale : {5, 7}
        The short scale of the network, hotline and billing items.
    late_items, dropped_items : tuple of str
        Items first asked in the second wave (their columns are absent from the first
        wave's export: a questionnaire that grew) and items no longer asked in the last
        wave (absent from its export); those waves' index rolls up the rest.
    format : {"csv", "excel", "spss", "qualtrics", "parquet", "mixed"}
        The exports' format; "mixed" rotates through all five as the demo does. "spss"
        writes value labels and user-missing codes; "qualtrics" adds the Qualtrics
        metadata columns and names the id ``ResponseId``.
    language : {"en", "zh"}
        Labels in English or in Chinese.
    seed : int
    """

    name: str = "full"
    waves: int = 3
    respondents: int = 150
    areas: tuple[str, ...] = ("network", "hotline", "billing", "value")
    hierarchy: str = "full"
    overall: bool = True
    nps: str = "0-10"
    ces: bool = True
    loyalty: bool = True
    expectations: bool = True
    segments: str = "text"
    weights: str = "rake"
    strata: bool = True
    id_column: bool = True
    wave_column: bool = True
    stacked: bool = False
    duration: bool = True
    text: bool = True
    operations: bool = True
    actions: bool = True
    model: bool = True
    customers: bool = True
    scale: int = 5
    late_items: tuple[str, ...] = ()
    dropped_items: tuple[str, ...] = ()
    format: str = "csv"
    language: str = "en"
    seed: int = 7

    def check(self) -> None:
        """Raise ``ValueError`` for switches that do not fit together."""
        choices = {
            "hierarchy": ("full", "areas", "none"),
            "nps": ("0-10", "1-10", "none"),
            "segments": ("text", "integer", "spss", "none"),
            "weights": ("rake", "delivered", "none"),
            "format": ("csv", "excel", "spss", "qualtrics", "parquet", "mixed"),
            "language": ("en", "zh"),
            "scale": (5, 7),
        }
        for key, allowed in choices.items():
            if getattr(self, key) not in allowed:
                raise ValueError(f"shape {self.name!r}: {key} must be one of {allowed}")
        unknown = [a for a in self.areas if a not in AREAS]
        if unknown or not self.areas:
            raise ValueError(f"shape {self.name!r}: unknown areas {unknown} (known: {list(AREAS)})")
        if not 1 <= self.waves <= 6:
            raise ValueError(f"shape {self.name!r}: waves must be 1 to 6")
        if not self.wave_column and (self.waves > 1 or self.operations or self.stacked):
            raise ValueError(
                f"shape {self.name!r}: an export without a wave column has one wave, no "
                "operations file and is not stacked"
            )
        if self.weights == "rake" and self.segments == "none":
            raise ValueError(f"shape {self.name!r}: raking needs segments")
        if self.strata and self.weights == "none":
            raise ValueError(f"shape {self.name!r}: strata without weights: set strata=False")
        if self.respondents < 30:
            raise ValueError(f"shape {self.name!r}: at least 30 respondents per wave")
        asked = [i for i, *_, area, _ in _items(self.scale) if area in self.areas]
        changed = {*self.late_items, *self.dropped_items}
        if changed and (self.waves < 2 or changed - set(asked)):
            raise ValueError(
                f"shape {self.name!r}: late_items and dropped_items must be items of its "
                "areas, with two waves or more"
            )


#: the study shapes the tests use: each optional part off, other scales, formats, languages
SHAPES: dict[str, StudyShape] = {
    s.name: s
    for s in [
        StudyShape(name="full"),
        StudyShape(name="no_kpis", overall=False, nps="none", ces=False, loyalty=False),
        StudyShape(name="no_nps", nps="none"),
        StudyShape(name="no_overall", overall=False),
        StudyShape(name="no_expectations", expectations=False),
        StudyShape(name="no_segments", segments="none", weights="delivered"),
        StudyShape(name="one_wave", waves=1),
        StudyShape(name="no_wave_column", waves=1, wave_column=False, operations=False),
        StudyShape(name="unweighted", weights="none", strata=False),
        StudyShape(name="delivered_weights", weights="delivered", strata=False),
        StudyShape(name="no_operations", operations=False),
        StudyShape(name="no_actions", actions=False),
        StudyShape(name="no_duration", duration=False),
        StudyShape(name="no_text", text=False),
        StudyShape(name="no_indicators", hierarchy="areas"),
        StudyShape(name="no_hierarchy", hierarchy="none"),
        StudyShape(name="no_id", id_column=False),
        StudyShape(name="nps_1_10", nps="1-10"),
        StudyShape(name="scale_1_7", scale=7),
        StudyShape(name="integer_codes", segments="integer"),
        StudyShape(name="spss_codes", segments="spss", format="spss"),
        StudyShape(name="chinese", language="zh"),
        StudyShape(name="small", waves=2, respondents=40, weights="delivered"),
        StudyShape(name="stacked", stacked=True),
        StudyShape(name="excel", format="excel"),
        StudyShape(name="qualtrics", format="qualtrics"),
        StudyShape(name="mixed_formats", waves=5, format="mixed"),
        StudyShape(
            name="changed_questionnaire",
            late_items=("hot_menu",),
            dropped_items=("val_price", "val_plan", "val_data", "val_compare", "val_extras"),
        ),
        StudyShape(
            name="minimal",
            waves=1,
            wave_column=False,
            id_column=False,
            hierarchy="none",
            overall=False,
            nps="none",
            ces=False,
            loyalty=False,
            expectations=False,
            segments="none",
            weights="none",
            strata=False,
            duration=False,
            text=False,
            operations=False,
        ),
    ]
}

_ZH = {
    "network": "网络服务", "net_coverage": "覆盖", "net_cov_home": "家中信号覆盖",
    "net_cov_travel": "出行时信号覆盖", "net_indoor": "室内信号", "net_quality": "通话与数据质量",
    "net_call_clarity": "通话清晰度", "net_drop": "经常掉线（反向表述）",
    "complaint": "投诉处理", "cmp_process": "投诉流程", "cmp_ease": "投诉是否方便",
    "cmp_updates": "进展通知", "cmp_outcome": "投诉结果", "cmp_speed": "解决速度",
    "cmp_fairness": "结果是否公平", "cmp_resolved": "问题是否真正解决",
    "hotline": "客服热线", "hot_access": "接通", "hot_wait": "等待时间",
    "hot_menu": "语音菜单是否易用", "hot_staff": "客服人员", "hot_attitude": "客服态度",
    "hot_knowledge": "专业知识", "hot_fcr": "一次解决问题",
    "billing": "账单", "bill_clarity": "账单清晰", "bill_clear": "账单易懂",
    "bill_detail": "明细详尽", "bill_correct": "账单准确", "bill_accuracy": "账单准确无误",
    "bill_payment": "缴费便利", "bill_no_surprise": "没有意外收费",
    "outlets": "营业厅", "out_access": "网点便利", "out_location": "位置方便",
    "out_hours": "营业时间", "out_service": "网点服务", "out_queue": "排队时间",
    "out_staff": "员工是否乐于助人", "out_env": "营业厅环境",
    "promotions": "促销活动", "promo_offer": "优惠", "promo_attractive": "优惠有吸引力",
    "promo_relevance": "优惠适合我", "promo_comm": "活动沟通", "promo_clear": "条款清楚",
    "promo_info": "信息及时", "promo_rewards": "积分回馈",
    "brand": "品牌形象", "brand_image": "品牌形象", "brand_trust": "值得信赖",
    "brand_innov": "有创新", "brand_modern": "现代", "brand_social": "社会形象",
    "brand_resp": "有社会责任感", "brand_pride": "作为客户感到自豪",
    "value": "性价比", "value_price": "价格", "val_price": "价格水平",
    "val_plan": "套餐符合需求", "val_data": "流量与价格相符", "value_compare": "比较",
    "val_compare": "与其他运营商相比的性价比", "val_extras": "附加服务的价值",
    "osat": "总体满意度", "nps_recommend": "推荐意愿", "ces": "办事费力程度（1 = 很省力）",
    "repurchase": "续约意愿", "customer_type": "客户类型", "tenure": "在网时长",
    "region": "地区", "channel": "主要渠道",
    "contract": "合约", "high_bill": "高消费", "prepaid": "预付费", "lt1": "不到1年",
    "y1_3": "1-3年", "y3_5": "3-5年", "y5p": "5年以上", "north": "华北", "south": "华南",
    "east": "华东", "west": "西部", "online": "线上", "store": "门店", "phone": "电话",
}  # fmt: skip
_KPI_EN = {
    "osat": "Overall satisfaction",
    "nps_recommend": "Likelihood to recommend",
    "ces": "Effort to get things done (1 = very little)",
    "repurchase": "Would stay at contract renewal",
}
_QUARTERS_ZH = {"Q1": "第一季度", "Q2": "第二季度", "Q3": "第三季度", "Q4": "第四季度"}
#: population shares the raked shapes are weighted to (as the demo study file)
_MARGINS = {
    "customer_type": {"contract": 0.45, "high_bill": 0.15, "prepaid": 0.40},
    "region": {"north": 0.30, "south": 0.25, "east": 0.30, "west": 0.15},
    "tenure": {"lt1": 0.20, "y1_3": 0.30, "y3_5": 0.25, "y5p": 0.25},
}
_QUALTRICS_META = ["StartDate", "EndDate", "Status", "Progress", "Finished", "RecordedDate"]


def _english(label: str) -> str:
    """Return the English part of a demo label such as ``"Network service 网络服务"``."""
    return "".join(ch for ch in label if not "\u3000" <= ch <= "\u9fff").strip()


class _Labels:
    """Labels of a shape's study in its language."""

    def __init__(self, shape: StudyShape) -> None:
        self.zh = shape.language == "zh"
        self.items = {i: label for i, label, *_ in _items()}

    def __call__(self, name: str, english: str) -> str:
        return _ZH[name] if self.zh else _english(english)

    def item(self, name: str) -> str:
        if name in _KPI_EN:
            return self(name, _KPI_EN[name])
        if name in EXPECTATION_PAIRS:
            sat = EXPECTATION_PAIRS[name]
            return f"期望：{_ZH[sat]}" if self.zh else f"Expected: {self.items[sat].lower()}"
        return self(name, self.items[name])

    def wave(self, code: str) -> str:
        year, quarter = code[:4], code[4:]
        return f"{year}年{_QUARTERS_ZH[quarter]}" if self.zh else f"{quarter} {year}"


def _shape_codes(shape: StudyShape) -> dict[str, dict[str, int]]:
    """Segment value -> integer code, for shapes with numeric segment codes."""
    return {col: {v: k + 1 for k, v in enumerate(values)} for col, (_, values) in SEGMENTS.items()}


def _shape_items(shape: StudyShape) -> tuple[list[dict], list[str]]:
    """Return the study file's items of a shape, and the export columns they need."""
    lab = _Labels(shape)
    short = shape.scale
    items, columns = [], []
    for item, _, ind, area, smax in _items(short):
        if area not in shape.areas:
            continue
        entry: dict[str, Any] = {
            "name": item,
            "label": lab.item(item),
            "scale": {"min": 1, "max": smax},
        }
        if shape.hierarchy != "none":
            entry["area"] = area
        if shape.hierarchy == "full":
            entry["indicator"] = ind
        entry["missing_codes"] = [99] if smax == short else [99, -99]
        if item in REVERSED:
            entry["reverse"] = True
        exp = next((e for e, s in EXPECTATION_PAIRS.items() if s == item), None)
        if shape.expectations and exp:
            entry["expectation"] = exp
        items.append(entry)
        columns.append(item)
    kpis = [
        ("osat", shape.overall, {"min": 1, "max": 10}, {"top_box": [9, 10]}),
        ("nps_recommend", shape.nps != "none", _nps_scale(shape), {}),
        ("ces", shape.ces, {"min": 1, "max": 7}, {"top_box": [1, 2]}),
        ("repurchase", shape.loyalty, {"min": 1, "max": 5}, {}),
    ]
    for name, has, scale, extra in kpis:
        if has:
            items.append(
                {"name": name, "label": lab.item(name), "scale": scale, "role": "kpi", **extra}
            )
            columns.append(name)
    if shape.expectations:
        for exp, sat in EXPECTATION_PAIRS.items():
            smax = next(s for i, *_, s in _items(short) if i == sat)
            if next(a for i, _, _, a, _ in _items() if i == sat) in shape.areas:
                items.append(
                    {
                        "name": exp,
                        "label": lab.item(exp),
                        "scale": {"min": 1, "max": smax},
                        "role": "expectation",
                    }
                )
                columns.append(exp)
    return items, columns


def _nps_scale(shape: StudyShape) -> dict[str, int]:
    return {"min": 1 if shape.nps == "1-10" else 0, "max": 10}


def _shape_hierarchy(shape: StudyShape) -> dict:
    lab = _Labels(shape)
    out: dict = {}
    if shape.hierarchy == "none":
        return out
    out["areas"] = [{"name": a, "label": lab(a, AREAS[a][0])} for a in shape.areas]
    if shape.hierarchy == "full":
        out["indicators"] = [
            {"name": ind, "label": lab(ind, label), "area": a}
            for a in shape.areas
            for ind, label, _ in AREAS[a][2]
        ]
    return out


def _shape_model(shape: StudyShape) -> dict | None:
    """Return the ECSI mapping of a shape's areas (None without a hierarchy or overall item)."""
    if not shape.model or shape.hierarchy == "none" or not shape.overall:
        return None
    quality = [a for a in shape.areas if a not in ("value", "brand")]
    ecsi: dict = {}
    if "brand" in shape.areas:
        ecsi["image"] = "brand"
    if quality:
        ecsi["quality"] = quality
    if "value" in shape.areas:
        ecsi["value"] = "value"
    ecsi["satisfaction"] = ["osat"]
    if shape.loyalty:
        ecsi["loyalty"] = ["repurchase"]
    return {"ecsi": ecsi}


def _shape_segments(shape: StudyShape) -> list[dict]:
    lab = _Labels(shape)
    codes = _shape_codes(shape)
    out = []
    for col, (label, values) in SEGMENTS.items():
        entry: dict = {"column": col, "label": lab(col, label)}
        if shape.segments == "text":
            entry["values"] = {v: lab(v, text) for v, text in values.items()}
        elif shape.segments == "integer":
            entry["values"] = {codes[col][v]: lab(v, text) for v, text in values.items()}
        out.append(entry)
    return out


def _shape_names(shape: StudyShape) -> tuple[str, str]:
    """Return the id and duration column names of the shape's exports."""
    if shape.format == "qualtrics":
        return "ResponseId", "Duration (in seconds)"
    return "resp_id", "duration_sec"


def _shape_customers(shape: StudyShape) -> dict:
    """Return a shape's ``data.respondent_operations`` as a mapping to merge ({} for none)."""
    if not (shape.customers and shape.id_column):
        return {}
    out: dict = {"path": "customer_ops.csv", "id": "customer_id", "metrics": ["hotline_wait_min"]}
    if shape.hierarchy != "none" and "hotline" in shape.areas:
        out["outcome"] = "hotline"
    return {"respondent_operations": out}


def shape_study(shape: StudyShape) -> dict:
    """Return the study file of a shape, as the mapping :func:`write_study_shape` writes.

    Returns
    -------
    dict
        Study-file keys (``study``, ``data``, ``areas``, ... as in ``docs/study-file.md``),
        with only the parts the shape has.
    """
    shape.check()
    lab = _Labels(shape)
    codes = DemoSpec().waves[: shape.waves]
    id_col, dur_col = _shape_names(shape)
    title = "网络运营商客户满意度调查" if lab.zh else "Network operator customer survey"
    data: dict = {"root": f"data/raw/{shape.name}", "files": _shape_files(shape, codes)}
    if shape.id_column:
        data["respondent_id"] = id_col
    if shape.wave_column:
        wave: dict = {"column": "wave", "labels": {w: lab.wave(w) for w in codes}}
        if shape.stacked:
            wave["order"] = list(codes)
        data["wave"] = wave
    design = {}
    if shape.weights == "rake":
        design["weight"] = "rake_weight"
    elif shape.weights == "delivered":
        design["weight"] = "weight"
    if shape.strata:
        design["strata"] = "region"
    if design:
        data["design"] = design
    if shape.duration:
        data["duration"] = dur_col
    if shape.text:
        data["text_columns"] = ["comment"]
    if shape.operations:
        data["operations"] = "operations.csv"
    data.update(_shape_customers(shape))
    items, _ = _shape_items(shape)
    out: dict = {
        "study": {"name": shape.name, "title": title, "description": f"Study shape {shape.name!r}"},
        "data": data,
        **_shape_hierarchy(shape),
        "items": items,
    }
    kpis = {
        "overall": "osat" if shape.overall else None,
        "nps": "nps_recommend" if shape.nps != "none" else None,
        "ces": "ces" if shape.ces else None,
        "loyalty": ["repurchase"] if shape.loyalty else None,
    }
    kpis = {k: v for k, v in kpis.items() if v}
    if kpis:
        out["kpis"] = kpis
    if shape.segments != "none":
        out["segments"] = _shape_segments(shape)
    model = _shape_model(shape)
    if model:
        out["model"] = model
    out["actions"] = _shape_actions(shape, items, codes, lab)  # [] lists none
    if shape.weights == "rake":
        numeric = shape.segments in ("integer", "spss")
        sc = _shape_codes(shape)
        out["weighting"] = {
            "output": "rake_weight",
            "base_weight": "weight",
            "trim": [0.3, 3.0],
            "margins": {
                col: {(sc[col][v] if numeric else v): t for v, t in targets.items()}
                for col, targets in _MARGINS.items()
            },
        }
    return out


def _shape_actions(
    shape: StudyShape, items: list[dict], codes: tuple[str, ...], lab: _Labels
) -> list[dict]:
    """Return the shape's action register: the first two items of its first area, last wave."""
    first = [i["name"] for i in items if i.get("area") == shape.areas[0]][:2]
    if not (shape.actions and shape.waves > 1 and first):
        return []
    return [
        {
            "name": "first_action",
            "label": "改进措施" if lab.zh else "Improvement programme",
            "targets": first,
            "start": codes[-1],
        }
    ]


def _shape_files(shape: StudyShape, codes: tuple[str, ...]) -> list[dict]:
    ext = {"csv": "csv", "excel": "xlsx", "spss": "sav", "qualtrics": "csv", "parquet": "parquet"}
    formats = ["csv", "csv", "excel", "spss", "qualtrics", "parquet"]
    files = []
    if shape.stacked:
        fmt = "csv" if shape.format == "mixed" else shape.format
        return [{"path": f"responses.{ext[fmt]}", "format": fmt}]
    for k, w in enumerate(codes):
        fmt = formats[k % len(formats)] if shape.format == "mixed" else shape.format
        entry: dict = {"path": f"wave_{w}.{ext[fmt]}", "format": fmt}
        if fmt == "excel":
            entry["sheet"] = "Responses"
        if shape.wave_column:
            entry["wave"] = w
        else:
            entry["path"] = f"export.{ext[fmt]}"
        files.append(entry)
    return files


def _shape_frames(
    shape: StudyShape,
) -> tuple[dict[str, pd.DataFrame], pd.DataFrame, pd.DataFrame]:
    """Return the shape's exports per wave (columns as delivered), operations and customers."""
    codes = DemoSpec().waves[: shape.waves]
    spec = DemoSpec(
        seed=shape.seed,
        waves=codes,
        respondents_per_wave=shape.respondents,
        turning_point=("network", codes[min(1, len(codes) - 1)], -0.7),
        dirt=shape.respondents / DemoSpec().respondents_per_wave,
        short_scale=shape.scale,
    )
    waves, ops, customers, _ = generate_demo(spec)
    _, item_cols = _shape_items(shape)
    id_col, dur_col = _shape_names(shape)
    seg_codes = _shape_codes(shape)
    out = {}
    for k, (w, df) in enumerate(waves.items()):
        keep = ["resp_id", "wave", *SEGMENTS, "duration_sec", *item_cols, "comment", "weight"]
        if k == 0:
            keep = [c for c in keep if c not in shape.late_items]
        if k == len(waves) - 1:
            keep = [c for c in keep if c not in shape.dropped_items]
        df = df[keep].copy()
        if shape.nps == "1-10":
            df["nps_recommend"] = df["nps_recommend"].map(lambda v: max(int(v), 1))
        if shape.segments in ("integer", "spss"):
            for col, mapping in seg_codes.items():
                df[col] = df[col].map(mapping)
        drop = []
        if not shape.id_column:
            drop.append("resp_id")
        if not shape.wave_column:
            drop.append("wave")
        if not shape.duration:
            drop.append("duration_sec")
        if not shape.text:
            drop.append("comment")
        if shape.weights == "none":
            drop.append("weight")
        df = df.drop(columns=drop).rename(columns={"resp_id": id_col, "duration_sec": dur_col})
        if shape.format == "qualtrics":
            meta: dict[str, object] = {c: "2024-01-01 00:00:00" for c in _QUALTRICS_META}
            meta.update({"Status": 0, "Progress": 100, "Finished": 1})
            df = pd.concat([pd.DataFrame(meta, index=df.index), df], axis=1)
        out[w] = df
    return out, ops, customers


def write_study_shape(folder: str | Path, shape: StudyShape | str) -> Path:
    """Write a shape's exports and its study file into a project folder.

    Writes ``folder/config/<name>.yml`` and ``folder/data/raw/<name>/`` (the exports and,
    if the shape has them, ``operations.csv`` and ``customer_ops.csv``), so that ``folder`` is the project root of
    the study: ``load_study``, ``clean`` and the report runner work on it as on the demo.

    Parameters
    ----------
    folder : str or Path
        The project folder (created if needed).
    shape : StudyShape or str
        A shape, or the name of one in :data:`SHAPES`.

    Returns
    -------
    Path
        The study file.
    """
    import yaml

    if isinstance(shape, str):
        if shape not in SHAPES:
            raise KeyError(f"unknown study shape {shape!r}; shapes: {list(SHAPES)}")
        shape = SHAPES[shape]
    study = shape_study(shape)
    folder = Path(folder)
    raw = folder / "data" / "raw" / shape.name
    raw.mkdir(parents=True, exist_ok=True)
    (folder / "config").mkdir(parents=True, exist_ok=True)
    frames, ops, customers = _shape_frames(shape)
    files = study["data"]["files"]
    if shape.stacked:
        parts = [frames[w] for w in frames]
        _write_export(pd.concat(parts, ignore_index=True), raw / files[0]["path"], files[0], shape)
    else:
        for f, df in zip(files, frames.values(), strict=True):
            _write_export(df, raw / f["path"], f, shape)
    if shape.operations:
        ops.to_csv(raw / "operations.csv", index=False, lineterminator="\n")
    if shape.customers and shape.id_column:
        customers.to_csv(raw / "customer_ops.csv", index=False, lineterminator="\n")
    path = folder / "config" / f"{shape.name}.yml"
    header = (
        f"# Study shape {shape.name!r}, written by analysis_helpers.demo.write_study_shape.\n"
        "# Every key is documented in docs/study-file.md.\n"
    )
    body = yaml.safe_dump(study, sort_keys=False, allow_unicode=True, width=100)
    path.write_text(header + body, encoding="utf-8")
    return path


def _write_export(df: pd.DataFrame, path: Path, entry: dict, shape: StudyShape) -> Path:
    fmt = entry["format"]
    lab = _Labels(shape)
    if fmt == "csv":
        return dio.write_csv_export(df, path)
    if fmt == "excel":
        return dio.write_excel_export(df, path, sheet=entry.get("sheet", "Sheet1"))
    if fmt == "qualtrics":
        labels = {c: lab.item(c) for c in df.columns if c in _items_and_kpis()}
        return dio.write_qualtrics_export(df, path, question_text=labels)
    if fmt == "parquet":
        return dio.write_parquet_export(df, path)
    short = shape.scale
    scales = {i: s for i, *_, s in _items(short)}
    scales.update({"osat": 10, "nps_recommend": 10, "ces": 7, "repurchase": 5})
    scales.update({e: scales[s] for e, s in EXPECTATION_PAIRS.items()})
    bottom = {"nps_recommend": _nps_scale(shape)["min"]}
    value_labels: dict[str, dict[float, str]] = {}
    missing: dict[str, list[float]] = {}
    for c in df.columns:
        if c in scales and c in _items_and_kpis():
            top = scales[c]
            value_labels[c] = {
                float(bottom.get(c, 1)): "Very dissatisfied",
                float(top): "Very satisfied",
            }
            if c in dict.fromkeys(i for i, *_ in _items()):
                value_labels[c][99.0] = "Don't know"
                missing[c] = [99.0] if top == short else [99.0, -99.0]
    if shape.segments == "spss":
        for col, mapping in _shape_codes(shape).items():
            if col in df.columns:
                value_labels[col] = {
                    float(code): lab(v, SEGMENTS[col][1][v]) for v, code in mapping.items()
                }
    variable_labels = {c: lab.item(c) for c in df.columns if c in _items_and_kpis()}
    variable_labels.update(
        {col: lab(col, SEGMENTS[col][0]) for col in SEGMENTS if col in df.columns}
    )
    return dio.write_spss_export(
        df, path, variable_labels=variable_labels, value_labels=value_labels, user_missing=missing
    )


def _items_and_kpis() -> set[str]:
    return {i for i, *_ in _items()} | set(_KPI_EN) | set(EXPECTATION_PAIRS)
