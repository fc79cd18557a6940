"""The runner's own pages in the report's language (run page, the study's index of reports)
and when the runner shows its live progress bar."""

from __future__ import annotations

import io

from analysis_helpers import runner
from analysis_helpers._runpages import run_html, study_index_html

RECORD = {
    "date": "2026-03-05",
    "started": "2026-03-05T06:00:00+00:00",
    "finished": "2026-03-05T06:00:20+00:00",
    "seconds": 20.04,
    "git": {"commit": "abc123", "dirty": True},
    "kernel": "survey-analysis",
    "runner": {"timeout": 1800, "run_timeout": None},
    "platform": {"system": "Linux", "cpus": 2},
    "deliverables": {"files": [{"file": "report.xlsx"}], "seconds": 1.25},
    "notebooks": [
        {
            "name": "10-clean",
            "title": "Cleaning",
            "html": "10-clean.html",
            "status": "ok",
            "seconds": 3.0,
        }
    ],
    "parameters": {"wave": "2025Q1"},
    "inputs": {"config/x.yml": "ff00"},
    "packages": {"pandas": "2.2"},
}


def info(language: str) -> dict:
    return {"title": "Study <T>", "client": "", "description": "", "language": language}


def test_the_run_page_in_chinese():
    page = run_html(info("zh"), RECORD)
    for words in [
        "2026年3月5日报告的运行记录",
        ">返回报告</a>",
        "<h2>运行</h2>",
        "<td>用时</td>",
        "<td>20.0 秒</td>",
        "abc123（含未提交的修改）",
        "每个笔记本 1800 秒，整次运行 无",
        "Linux，2 个核心",
        "report.xlsx，生成用时 1.2 秒",
        '<th class="num">运行时间</th>',
        ">3.0 秒</td>",
        "<h2>输入文件（SHA-256）</h2>",
        'lang="zh"',
        "Study &lt;T&gt;",
    ]:
        assert words in page, words
    assert "Back to the report" not in page and "Duration" not in page


def test_the_run_page_in_english():
    page = run_html(info("en"), RECORD)
    for words in [
        "Run record of the report of 5 March 2026",
        "<td>20.0 s</td>",
        "abc123 (with uncommitted changes)",
        "1800 s per notebook, none per run",
        "Linux, 2 cores",
        "report.xlsx, built in 1.2 s",
    ]:
        assert words in page, words


def test_the_study_index_in_chinese(tmp_path):
    page = study_index_html(info("zh"), tmp_path)
    assert "<h2>报告</h2>" in page and "尚无完整的报告。" in page
    assert '<a href="../index.html">所有研究</a>' in page
    (tmp_path / "2026-03-05").mkdir()
    (tmp_path / "2026-03-05" / "run.json").write_text('{"notebooks": [1, 2]}')
    page = study_index_html(info("zh"), tmp_path)
    assert '2026年3月5日</a></td><td class="num">2</td>' in page


class _Stream(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


def test_the_bar_only_at_a_terminal_outside_ci(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setattr("sys.stderr", _Stream(True))
    assert runner.progress_bar_wanted() is True
    assert runner.progress_bar_wanted(False) is False
    monkeypatch.setenv("CI", "true")
    assert runner.progress_bar_wanted() is False
    assert runner.progress_bar_wanted(True) is True  # --progress
    monkeypatch.setenv("CI", "0")
    assert runner.progress_bar_wanted() is True
    monkeypatch.setattr("sys.stderr", _Stream(False))  # cron, a log file, make -j -O
    assert runner.progress_bar_wanted() is False
