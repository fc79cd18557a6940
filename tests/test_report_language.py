"""The demo report in Chinese (config/demo-zh.yml, reporting.language: zh), run end to end:
the migrated pages carry the Chinese headings and none of the English templates, the summary
names the planted truths, the index page, the workbook and the deck are in Chinese.

A whole second report run (several minutes on two cores): marked slow, as `make report`
runs it (both languages) and `make test-slow` checks it."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from analysis_helpers import text as tx
from analysis_helpers.pages import page_text
from analysis_helpers.runner import run_report
from analysis_helpers.study import load_study

pytestmark = [pytest.mark.notebooks, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
#: the pages whose words all come from the text tables (30-trend is migrated later; its
#: headings are still the notebook's)
MIGRATED = {"00-summary": "summary", "10-clean": "clean", "20-describe": "describe"}
MIGRATED |= {"50-drivers": "drivers", "70-voice": "voice"}
MIGRATED |= {"40-cross": "cross", "60-index": "pls"}


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("reports")
    return run_report("config/demo-zh.yml", date="2026-01-31", out=out, progress=lambda _: None)


def headings(language: str, short: str) -> list[str]:
    """Return the headings of a page's Markdown cells in ``language`` (without the #)."""
    table = tx.load_table(language)
    keys = [k for k in table if k.startswith(f"page.{short}.")]
    return [table[k].splitlines()[0].lstrip("#").strip() for k in keys]


def test_the_migrated_pages_are_in_chinese(report):
    for nb, short in MIGRATED.items():
        shown = page_text((report / f"{nb}.html").read_text(encoding="utf-8"))
        for heading in headings("zh", short):
            assert heading in shown, (nb, heading)
        for heading in headings("en", short):
            assert heading not in shown, (nb, heading)


def test_the_summary_has_no_english_template_left(report):
    shown = page_text((report / "00-summary.html").read_text(encoding="utf-8"))
    en = tx.load_table("en")
    for key, source in en.items():
        if key.startswith("summary."):
            # the words of each template between its placeholders, where long enough
            pieces = re.split(r"\{[^}]*\}|\[[^\]]*\]\([^)]*\)", source)
            pieces = [p.strip(" .,:;()*-") for p in pieces]
            for piece in pieces:
                if len(piece) >= 12 and " " in piece:  # words, not a label's one word
                    assert piece not in shown, (key, piece)


def test_the_chinese_summary_names_the_planted_truths(report, truths):
    study = load_study(ROOT / "config/demo-zh.yml")
    said = pd.read_csv(report / "tables/summary.csv", encoding="utf-8-sig")
    said = said.set_index("section")["text"]
    trough, tp = truths["trough"], truths["turning_point"]
    first = said["weak_spots"].split("：", 1)[1].split("；")[0]
    assert study.segment(trough["segment"]).values[trough["value"]] in first
    assert study.label(trough["area"]) in first and "低" in first
    turn = said["turning_point"]
    assert f"{study.label(tp['area'])} 从" in turn and "下降" in turn
    assert f"到 {study.wave_label(tp['wave'])} " in turn
    top = truths["driver_rank_overall"][0]
    assert said["drivers"].split("：", 1)[1].startswith(study.label(top))
    assert not any("{" in s for s in said)


def test_the_index_workbook_and_deck_are_in_chinese(report):
    import openpyxl
    from pptx import Presentation

    index = page_text((report / "index.html").read_text(encoding="utf-8"))
    assert "目录" in index and "Contents" not in index
    assert "执行摘要" in index  # the summary's part name, from its zh heading
    book = openpyxl.load_workbook(report / "report.xlsx", read_only=True)
    assert book.sheetnames[0] == "目录"
    deck = Presentation(str(report / "report.pptx"))
    titles = [s.shapes.title.text for s in deck.slides if s.shapes.title is not None]
    assert "执行摘要" in titles and "Executive summary" not in titles
