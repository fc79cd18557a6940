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

import numpy as np
import pandas as pd

from . import io as dio

__all__ = ["DemoSpec", "AREAS", "generate_demo", "write_demo"]

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


def _items() -> list[tuple[str, str, str, str, int]]:
    """(item, label, indicator, area, scale max) for every satisfaction item."""
    out = []
    for area, (_, smax, inds) in AREAS.items():
        for ind, _, items in inds:
            for item, label in items:
                out.append((item, label, ind, area, smax))
    return out


def _rate(latent: np.ndarray, smax: int, offset: float = 0.0) -> np.ndarray:
    """Latent scores to ratings: 1-5 by fixed cut-points, 1-10 linearly."""
    z = latent + offset
    if smax == 5:
        return 1 + np.searchsorted(np.array([-1.7, -0.8, 0.15, 1.15]), z)
    return np.clip(np.rint(6.3 + 1.55 * z), 1, 10).astype(int)


def generate_demo(
    spec: DemoSpec | None = None,
) -> tuple[dict[str, pd.DataFrame], pd.DataFrame, dict]:
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
    truths : dict
        The planted truths, JSON-ready.
    """
    spec = spec or DemoSpec()
    rng = np.random.default_rng(spec.seed)
    items = _items()
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
        for r, region in enumerate(regions):
            wait[(wave, region)] = round(
                2.5 + 0.4 * r + [0.0, 0.5, 1.5, 3.0, 2.0, 0.5][t % 6] + rng.normal(0, 0.3), 1
            )
    mean_wait = float(np.mean(list(wait.values())))
    tp_area, tp_wave, tp_size = spec.turning_point
    tp_index = spec.waves.index(tp_wave)
    waves: dict[str, pd.DataFrame] = {}
    planted: dict[str, dict[str, list[str]]] = {}
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
            offset = [0.2, -0.1, 0.0, 0.1, -0.2][k % 5]
            if item == spec.basic_item:
                offset += 0.6  # basic factors usually perform well
            if item == spec.excitement_item:
                offset -= 0.5  # excitement factors usually perform modestly
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
                raw = 6 - raw
            df[item] = raw
        df["osat"] = osat
        df["nps_recommend"] = nps_rec
        df["ces"] = ces
        df["repurchase"] = repurchase
        for exp_item, vals in exp_ratings.items():
            df[exp_item] = vals
        has_comment = rng.random(n) < 0.3
        comment = np.where(has_comment, rng.choice(COMMENTS, size=n), "")
        df["comment"] = comment
        # post-stratification weights to population type x region shares
        cell = pd.Series(list(zip(ctype, region, strict=True)))
        share = cell.map(cell.value_counts(normalize=True)).to_numpy()
        target = np.array([pop_type[c] * pop_region[r] for c, r in zip(ctype, region, strict=True)])
        weight = target / share
        df["weight"] = np.round(weight / weight.mean(), 6)
        df, dirt = _add_dirt(df, rng, items)
        waves[wave] = df
        planted[wave] = dirt
    ops = pd.DataFrame(
        [{"wave": w, "region": r, "hotline_wait_min": v} for (w, r), v in wait.items()]
    )
    truths = {
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
        "reversed_items": list(REVERSED),
        "planted_dirt": planted,
    }
    return waves, ops, truths


def _add_dirt(df: pd.DataFrame, rng: np.random.Generator, items) -> tuple[pd.DataFrame, dict]:
    """Plant the problems of a real export; return the frame and the ids affected."""
    n = len(df)
    grid5 = [i for i, _, _, _, s in items if s == 5]
    grid10 = [i for i, _, _, _, s in items if s == 10]
    all_items = [i for i, *_ in items]
    pick = rng.permutation(n)
    spd, stl, inc = pick[:40], pick[40:70], pick[70:95]
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
    for _ in range(12):
        r, c = int(rng.integers(n)), str(rng.choice(all_items))
        df.at[r, c] = 6 if c in grid5 else 11
        oor.append(df.at[r, "resp_id"])
    text = []
    for val in ["N/A", "５", "five", "n/a"]:
        r, c = int(rng.integers(n)), str(rng.choice(grid10 + grid5))
        df.at[r, c] = val
        text.append(df.at[r, "resp_id"])
    # duplicates: the same respondent twice; and one answer vector under a new id
    dup_rows = rng.choice(n, size=16, replace=False)
    same_id = df.iloc[dup_rows[:10]].copy()
    new_id = df.iloc[dup_rows[10:]].copy()
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
    waves, ops, truths = generate_demo(spec)
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
            five = {1: "Very dissatisfied", 5: "Very satisfied", 99: "Don't know"}
            ten = {1: "Very dissatisfied", 10: "Very satisfied", 99: "Don't know", -99: "Refused"}
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
    p = folder / "truths.json"
    p.write_text(json.dumps(truths, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    written.append(p)
    return written
