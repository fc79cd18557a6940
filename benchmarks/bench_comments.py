"""Benchmark: open-comment themes for a large study (mixed English and Chinese comments).

Generates a study with numpy: 6 waves, 3 segments, 4 regions as strata, lognormal weights,
an overall satisfaction item, and open comments from 30% of respondents. A comment is one
to three clauses, each built from a subject, a complaint and a detail (a number, a place,
a time) in English or Chinese, so most comments are distinct, as in real exports; 4% are
junk ("-", "n/a", "无") and 1% hostile (markup, a formula, an e-mail, a phone number). Then
times each step of the comments analysis and prints seconds per step, the total, the
number of distinct comments and Chinese runs (what jieba had to cut) and peak memory.

    python benchmarks/bench_comments.py --n 1000000
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from analysis_helpers import comments as cm  # noqa: E402
from analysis_helpers.estimation import SurveyDesign  # noqa: E402

# (theme, English subjects and complaints, Chinese subjects and complaints)
CLAUSES = [
    ("hotline", ["the hotline", "customer service", "the call centre", "support"],
     ["kept me waiting", "put me on hold", "never answers", "took ages to pick up"],
     ["客服热线", "人工客服", "热线电话", "客服"], ["等待时间太长", "一直打不通", "排队太久", "没人接"]),
    ("signal", ["the signal", "coverage", "5G", "mobile data", "the network"],
     ["is weak", "keeps dropping", "is patchy", "is very slow"],
     ["信号", "网络", "5G信号", "手机上网"], ["很差", "经常掉线", "不稳定", "太慢了"]),
    ("billing", ["my bill", "the invoice", "billing", "the monthly statement"],
     ["is hard to understand", "had a wrong charge", "charged me twice", "is confusing"],
     ["账单", "话费账单", "月结单", "扣费"], ["看不懂", "有错误", "重复扣费", "不清楚"]),
    ("price", ["the price", "my plan", "the tariff", "roaming"],
     ["is too expensive", "went up again", "costs too much", "is not worth it"],
     ["资费", "套餐价格", "流量费", "漫游费"], ["太贵了", "又涨价了", "不划算", "太高"]),
    ("staff", ["the shop staff", "the agent", "the outlet", "the technician"],
     ["was very helpful", "was rude", "solved it quickly", "did not know the answer"],
     ["营业厅", "工作人员", "服务人员", "装维师傅"], ["服务态度很好", "态度很差", "很专业", "不耐烦"]),
    ("app", ["the app", "the website", "online top-up", "the self-service portal"],
     ["crashes", "is easy to use", "is slow to load", "logged me out"],
     ["手机营业厅", "APP", "网上营业厅", "小程序"], ["经常闪退", "很好用", "加载太慢", "登录不了"]),
]  # fmt: skip
DETAILS_EN = ["at home", "in the evening", "on weekends", "last month", "every time", "downtown",
              "for {k} minutes", "{k} times this month", "since {k} days", ""]  # fmt: skip
DETAILS_ZH = ["在家里", "晚上", "周末", "上个月", "每次", "市中心", "等了{k}分钟", "这个月{k}次",
              "已经{k}天了", ""]  # fmt: skip
# Chinese openers and closers: Chinese clauses are written without spaces, so each
# combination is a distinct run for jieba to cut (real comments vary even more)
OPEN_ZH = ["", "", "真的", "感觉", "说实话", "最近", "我家", "公司", "老是", "总是", "有时候",
           "每个月", "今天", "昨天", "一直以来"]  # fmt: skip
CLOSE_ZH = ["", "", "希望改进", "很失望", "请尽快解决", "太麻烦了", "不满意", "还可以", "谢谢",
            "建议优化", "让人头疼", "体验很差"]  # fmt: skip
JUNK = ["-", "n/a", "无", "没有", "nothing", "...", "N/A"]
HOSTILE = [
    "<script>alert('x')</script> the hotline kept me waiting",
    '=HYPERLINK("http://evil.example/x","refund") my bill is wrong',
    "call me on +86 138 0013 8000 or li.wei@example.com, signal is weak",
    "[click](javascript:alert(1)) 资费太贵了",
]
THEMES = {
    "hotline": ["hotline", "customer service", "call centre", "on hold", "wait*", "客服", "热线"],
    "signal": ["signal", "coverage", "network", "5g", "mobile data", "信号", "网络", "掉线"],
    "billing": ["bill*", "invoice", "charge*", "statement", "账单", "扣费", "话费"],
    "price": ["price*", "expensive", "tariff", "roaming", "cost*", "资费", "价格", "贵", "涨价"],
    "staff": ["staff", "agent", "outlet", "technician", "rude", "营业厅", "工作人员", "态度"],
    "app": ["app", "website", "online", "portal", "闪退", "登录", "小程序"],
    "slow": ["slow*", "ages", "慢", "太久"],
    "helpful": ["helpful", "easy to use", "quickly", "很好", "专业", "好用"],
}


def make_comment(rng: np.random.Generator) -> str:
    u = rng.random()
    if u < 0.04:
        return JUNK[rng.integers(len(JUNK))]
    if u < 0.05:
        return HOSTILE[rng.integers(len(HOSTILE))]
    parts = []
    zh = rng.random() < 0.5
    for _ in range(1 + rng.poisson(0.6) % 3):
        _, subj, comp, zsubj, zcomp = CLAUSES[rng.integers(len(CLAUSES))]
        k = int(rng.integers(2, 60))
        if zh if rng.random() < 0.8 else not zh:
            d = DETAILS_ZH[rng.integers(len(DETAILS_ZH))].format(k=k)
            parts.append(
                OPEN_ZH[rng.integers(len(OPEN_ZH))] + d + zsubj[rng.integers(4)]
                + zcomp[rng.integers(4)] + CLOSE_ZH[rng.integers(len(CLOSE_ZH))]
            )  # fmt: skip
        else:
            d = DETAILS_EN[rng.integers(len(DETAILS_EN))].format(k=k)
            c = f"{subj[rng.integers(len(subj))]} {comp[rng.integers(4)]} {d}".strip()
            parts.append(c.capitalize() if rng.random() < 0.5 else c)
    return ["，", ", ", ". ", "; ", "。"][rng.integers(5)].join(parts)


def make_study(n: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    wave = rng.integers(0, 6, n)
    region = rng.integers(0, 4, n)
    has = rng.random(n) < 0.3
    # comments drawn once per distinct pattern would hide the tokenising cost: draw them all
    text = np.full(n, "", dtype=object)
    idx = np.flatnonzero(has)
    text[idx] = [make_comment(rng) for _ in range(len(idx))]
    hotline = np.char.find(text.astype(str), "hotline") >= 0
    osat = np.clip(np.round(7 + rng.normal(0, 1.8, n) - 1.2 * hotline), 1, 10)
    return pd.DataFrame(
        {
            "wave": pd.Categorical.from_codes(wave, [f"W{i + 1}" for i in range(6)]),
            "segment": pd.Categorical.from_codes(
                rng.integers(0, 3, n), ["prepaid", "contract", "business"]
            ),
            "region": region,
            "weight": rng.lognormal(0, 0.4, n),
            "osat": osat,
            "comment": text,
        }
    )


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000, help="respondents")
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    data = make_study(args.n)
    gen = time.perf_counter() - t0
    design = SurveyDesign(weight="weight", strata="region")
    labels = {t: t.title() for t in THEMES}
    coded: dict[str, pd.DataFrame] = {}

    def code() -> pd.DataFrame:
        coded["x"] = cm.code_themes(data, column="comment", themes=THEMES)
        return coded["x"]

    steps = [
        ("code 8 themes", code),
        (
            "comment rate by wave",
            lambda: cm.comment_rate(data, coded=coded["x"], by="wave", design=design),
        ),
        (
            "theme shares by wave",
            lambda: cm.theme_shares(
                data, coded=coded["x"], by="wave", design=design, labels=labels
            ),
        ),
        (
            "theme shares by wave x segment",
            lambda: cm.theme_shares(data, coded=coded["x"], by=["wave", "segment"], design=design),
        ),
        (
            "theme changes, 5 wave pairs",
            lambda: cm.theme_changes(data, coded=coded["x"], by="wave", design=design),
        ),
        (
            "themes as drivers (osat)",
            lambda: cm.theme_outcomes(data, coded=coded["x"], outcome="osat", design=design),
        ),
        (
            "frequent terms (jieba, 1+2-grams)",
            lambda: cm.frequent_terms(data, column="comment", design=design),
        ),
        (
            "example verbatims, 3 per theme",
            lambda: cm.example_verbatims(data, column="comment", coded=coded["x"]),
        ),
    ]
    n_comments = int((data["comment"] != "").sum())
    n_distinct = data["comment"].nunique() - 1
    print(
        f"{args.n:,} respondents, {n_comments:,} comments ({n_comments / args.n:.0%}), "
        f"{n_distinct:,} distinct; 6 waves x 3 segments; design: weights + 4 strata"
    )
    print(f"{'data generation (not counted)':36s} {gen:7.2f} s")
    total = 0.0
    for name, fn in steps:
        t = time.perf_counter()
        out = fn()
        dt = time.perf_counter() - t
        total += dt
        print(f"{name:36s} {dt:7.2f} s   ({len(out):,} rows)")
    print(f"{'total comments time':36s} {total:7.2f} s")
    info = cm._cut_han.cache_info()
    print(f"distinct Chinese runs cut by jieba: {info.currsize:,}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory: {peak:,.0f} MB (ru_maxrss, includes the data)")


if __name__ == "__main__":
    main()
