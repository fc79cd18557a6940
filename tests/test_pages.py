"""Report pages: the embedded CJK font covers every character shown and comes first in every
font stack; the study header is on top; a slow test renders a page in headless Chromium
without system CJK fonts and finds no empty boxes."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import matplotlib
import nbformat
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")

from analysis_helpers.notebook import setup  # noqa: E402
from analysis_helpers.pages import (  # noqa: E402
    CJK_RANGES,
    FONT_FAMILY,
    embedded_font_characters,
    finish_page,
    font_face,
    page_header,
    page_text,
    uncovered_characters,
)

# no character here looks like an empty box when drawn (no 口, 回, 日, 品 ...), so any box
# the slow test finds is a missing glyph
SEGMENT = "Customer type 客户类型"
FULLWIDTH = "第１２３号"


def _cjk(ch: str) -> bool:
    return any(lo <= ord(ch) <= hi for lo, hi in CJK_RANGES)


def _outputs(ctx, monkeypatch) -> list:
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj, **kw: shown.append(obj))
    table = pd.DataFrame(
        {
            "segment_label": [SEGMENT, SEGMENT, "Tenure 在网时长"],
            "value_label": ["Contract 合约", "Prepaid 预付费", FULLWIDTH],
            "n": [573, 481, 318],
            "share": [0.381, 0.32, 0.211],
        }
    )
    ctx.show(
        table,
        columns={"segment_label": "细分 Segment", "value_label": None, "n": None, "share": None},
        caption="样本 Sample",
    )
    ctx.say("**{title}** - 满意度 {x:share} ({n}).", title=ctx.study.title, x=0.45, n=FULLWIDTH)
    ctx.show(table.iloc[::-1], caption="第二个表 Second table")
    return [
        nbformat.v4.new_output("display_data", data={k: v for k, v in out.items()}) for out in shown
    ]


def build_page(tmp_path, monkeypatch, *, style: str | None = None) -> str:
    """A page made the way the runner makes one: outputs of ``ctx.show`` / ``ctx.say`` in a
    notebook, rendered by nbconvert's lab template without code, finished by
    :func:`finish_page` with the font subset of the page."""
    from nbconvert import HTMLExporter

    ctx = setup("config/demo.yml", str(tmp_path / "rep"), notebook="99-page")
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# 页面 Page test"),
        nbformat.v4.new_code_cell("pass", outputs=_outputs(ctx, monkeypatch)),
    ]
    exporter = HTMLExporter(
        template_name="lab",
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )
    body, _ = exporter.from_notebook_node(nb)
    style = font_face([body, page_header(ctx.study)]) if style is None else style
    return finish_page(body, study=ctx.study, style=style)


@pytest.fixture
def page(tmp_path, monkeypatch) -> str:
    return build_page(tmp_path, monkeypatch)


def test_embedded_font_covers_every_character_of_the_page(page):
    text = page_text(page)
    assert SEGMENT in text and FULLWIDTH in text and "细分 Segment" in text
    cjk = {c for c in text if _cjk(c)}
    assert {"客", "户", "１", "２", "细"} <= cjk
    assert cjk <= embedded_font_characters(page)
    # and what the embedded font does not draw, DejaVu Sans (the default sans) does
    assert uncovered_characters(text) == []


def test_embedded_font_comes_first_in_every_font_stack(page):
    """The cause of the first-row boxes: the font used to be last, after sans-serif."""
    style = re.search(r'<style id="report-fonts">(.*?)</style>', page, re.DOTALL).group(1)
    stacks = re.findall(r"(?:font-family|--jp-[a-z-]*font-family[a-z-]*)\s*:\s*([^;}]+)", style)
    assert len(stacks) >= 6
    assert all(s.strip().startswith(f'"{FONT_FAMILY}"') for s in stacks), stacks
    declared = re.search(r"unicode-range: ([^;]+);", style).group(1)
    ranges = [tuple(int(x, 16) for x in r.strip()[2:].split("-")) for r in declared.split(",")]
    covered = {chr(cp) for r in ranges for cp in range(r[0], r[-1] + 1)}
    assert covered == embedded_font_characters(page)
    assert all(_cjk(c) for c in covered)  # Latin text never touches the CJK font


def test_page_header_shows_client_title_and_description(page):
    head = page[page.index("<body") :][:2000]
    assert '<header class="report-header">' in head
    assert "Demo Telecom" in head and "客户满意度 (demo)" in head and "planted truths" in head
    assert page.index('<header class="report-header">') < page.index("Page test")


def test_page_header_escapes_the_study_file(tmp_path):
    import yaml

    spec = yaml.safe_load(Path("config/demo.yml").read_text(encoding="utf-8"))
    spec["study"]["client"] = "<script>alert(1)</script>"
    spec["study"]["description"] = "[x](javascript:alert(1)) & <b>"
    path = tmp_path / "hostile.yml"
    path.write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    from analysis_helpers.study import load_study

    study = load_study(path, check_files=False)
    head = page_header(study)
    assert "<script>" not in head and "&lt;script&gt;" in head and "<b>" not in head
    done = finish_page(
        "<html><head></head><body class='x'><main>hi</main></body></html>", study=study
    )
    assert done.index("report-header") < done.index("<main>")


def test_no_cjk_no_font():
    assert font_face(["<p>plain English</p>"]) == ""


# ---- the slow check in a real browser -------------------------------------------------
def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _fontconfig_without_cjk(folder: Path) -> Path:
    """A fontconfig file that hides every system font covering Chinese, Japanese or Korean,
    as on a server without CJK fonts."""
    files = set()
    for lang in ("zh", "ja", "ko"):
        out = subprocess.run(
            ["fc-list", f":lang={lang}", "file"], capture_output=True, text=True, timeout=60
        ).stdout
        files |= {line.split(":")[0].strip() for line in out.splitlines() if line.strip()}
    rejects = "".join(f"<glob>{f}</glob>" for f in sorted(files))
    conf = folder / "fonts.conf"
    conf.write_text(
        '<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd"><fontconfig>'
        '<include ignore_missing="yes">/etc/fonts/fonts.conf</include>'
        f"<selectfont><rejectfont>{rejects}</rejectfont></selectfont>"
        f"<cachedir>{folder / 'cache'}</cachedir></fontconfig>",
        encoding="utf-8",
    )
    return conf


def _screenshot(html: str, folder: Path, name: str, conf: Path) -> np.ndarray:
    from PIL import Image

    page = folder / f"{name}.html"
    page.write_text(html, encoding="utf-8")
    png = folder / f"{name}.png"
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                _chromium(),
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                f"--user-data-dir={profile}",
                f"--screenshot={png}",
                "--window-size=1200,900",
                page.as_uri(),
            ],
            env={"FONTCONFIG_FILE": str(conf), "HOME": profile, "PATH": "/usr/bin:/bin"},
            capture_output=True,
            timeout=120,
            check=False,
        )
    assert png.is_file(), f"chromium wrote no screenshot of {name}"
    return np.asarray(Image.open(png).convert("L"))


def tofu_boxes(gray: np.ndarray, *, threshold: int = 235) -> list[tuple[int, int, int, int]]:
    """Empty boxes in a screenshot: what a browser draws for a character no font has.

    A box is a connected group of non-white pixels 7-40 px high whose four edges are
    (almost) fully drawn and whose inside is empty; boxes drawn side by side touch and form
    a ladder, whose rungs are allowed. Returns (top, left, height, width) of each.
    """
    from scipy import ndimage

    labels, _ = ndimage.label(gray < threshold, structure=np.ones((3, 3)))
    found = []
    for k, sl in enumerate(ndimage.find_objects(labels), 1):
        h, w = sl[0].stop - sl[0].start, sl[1].stop - sl[1].start
        if not (7 <= h <= 40 and h <= 1.6 * w and w <= 12 * h):
            continue
        c = labels[sl] == k
        if min(c[0].mean(), c[-1].mean(), c[:, 0].mean(), c[:, -1].mean()) < 0.9:
            continue
        inner = c[2:-2, 2:-2]
        if not inner.size:
            continue
        rungs = inner.all(axis=0)
        if rungs.mean() > 0.6 or (~rungs).any() and inner[:, ~rungs].mean() > 0.05:
            continue
        # a ladder of touching boxes: split it at its rungs
        edges = [0, *(2 + j for j in range(1, len(rungs)) if rungs[j] and not rungs[j - 1]), w]
        for a, b in zip(edges, edges[1:], strict=False):
            found.append((sl[0].start, sl[1].start + a, h, b - a))
    return found


@pytest.mark.slow
def test_chinese_renders_in_every_row_in_headless_chromium(tmp_path, monkeypatch):
    if _chromium() is None or shutil.which("fc-list") is None:
        pytest.skip("needs chromium and fontconfig (apt-get install chromium)")
    conf = _fontconfig_without_cjk(tmp_path)
    hidden = subprocess.run(
        ["fc-list", ":lang=zh"], capture_output=True, text=True, env={"FONTCONFIG_FILE": str(conf)}
    ).stdout
    assert hidden.strip() == "", f"system CJK fonts still visible: {hidden}"
    page = build_page(tmp_path, monkeypatch)
    n_cjk = sum(_cjk(c) for c in page_text(page))

    # the detector finds the boxes when the page has no usable CJK font at all ...
    bare = re.sub(r'<style id="report-fonts">.*?</style>', "", page, flags=re.DOTALL)
    missing = tofu_boxes(_screenshot(bare, tmp_path, "bare", conf))
    assert len(missing) >= 0.5 * n_cjk, (len(missing), n_cjk)

    # ... and with the old font order (embedded font last) the first rows show boxes ...
    legacy = re.sub(r'"Report CJK", ([^;}]+)', r'\1, "Report CJK"', page)
    legacy = legacy.replace("unicode-range:", "x-unicode-range:")
    assert len(tofu_boxes(_screenshot(legacy, tmp_path, "legacy", conf))) >= 4

    # ... while the finished page draws every character, in every row
    assert tofu_boxes(_screenshot(page, tmp_path, "page", conf)) == []
