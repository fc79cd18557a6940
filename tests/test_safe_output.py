"""Safe output: data never becomes markup, links, formulas, and personal data is redacted."""

from __future__ import annotations

import html
import re

import pandas as pd
import pytest
from nbconvert.filters.markdown_mistune import markdown2html_mistune

from analysis_helpers.io import write_report_table
from analysis_helpers.safe_output import (
    Md,
    client_text,
    escape_html,
    escape_markdown,
    md,
    plain_text,
    redact,
    redact_frame,
    render_markdown,
    spreadsheet_safe,
    spreadsheet_safe_frame,
)

HOSTILE = [
    "[click](javascript:alert(1))",
    "![img](http://evil.example/x.png)",
    "<img src=x onerror=alert(1)>",
    "<script>alert('x')</script>",
    "<b>bold</b> <a href='http://evil.example'>a</a>",
    "<http://evil.example/autolink>",
    "https://evil.example/bare and www.evil.example",
    "mail li.wei@example.com",
    "**strong** __strong__ *em* _em_ ~~del~~",
    "`code` ```fence```",
    "# heading",
    "1. list item",
    "- bullet",
    "> quote",
    "| a | b |",
    "$x^2$ and $$y$$",
    "&amp; &lt; &#42; \\* \\[",
    "line one\n\n# injected heading\n\n[x](javascript:y)",
    "[ref]: javascript:alert(1)\n[ref]",
    "网络服务 <满意> ＊全角＊",
]

_MARKUP = re.compile(r"<(?!/?p>)[a-z!/]", re.IGNORECASE)


def _visible(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


@pytest.mark.parametrize("value", HOSTILE)
@pytest.mark.parametrize("renderer", [render_markdown, markdown2html_mistune])
def test_escaped_values_render_as_their_own_text(value, renderer):
    """In the page renderer (mistune, as nbconvert uses it) an escaped value produces no
    element at all - no link, image, emphasis, heading, list, code or raw HTML - and shows
    exactly the characters typed."""
    out = renderer(escape_markdown(value))
    assert not _MARKUP.search(out.replace("<p>", "").replace("</p>", "")), out
    assert 'href="' not in out and 'src="' not in out
    assert _visible(html.unescape(re.sub(r"</?p>", "", out))) == _visible(value)


@pytest.mark.parametrize("value", HOSTILE)
def test_escaped_markdown_is_also_safe_as_html(value):
    """The same escaped text placed in HTML shows literally (no tag, no attribute)."""
    out = escape_markdown(value)
    assert "<" not in out and ">" not in out and '"' not in out and "'" not in out
    assert html.unescape(out) == re.sub(r"\s*[\r\n]+\s*", " ", value)


def test_escaping_removes_control_and_bidi_characters():
    assert escape_html("a\u202eb\x00c") == "abc"
    assert escape_markdown("x\u2066y") == "xy"
    assert escape_html('<a href="x">') == "&lt;a href=&quot;x&quot;&gt;"


def test_md_keeps_the_template_markup_and_escapes_values():
    out = md("**{label}** scored *{score}*", label="[x](javascript:alert(1))", score="<b>9</b>")
    assert isinstance(out, Md)
    rendered = render_markdown(out)
    assert rendered.startswith("<p><strong>[x](javascript:alert(1))</strong> scored <em>")
    assert "<b>" not in rendered and "&lt;b&gt;9&lt;/b&gt;" in rendered
    assert "<a" not in rendered


def test_md_specs_name_the_formatting_kinds():
    out = md(
        "{s:share} {s1:share.1} {m:mean} {i:index} {p:p} {n:base} {x:num} {big:,}",
        s=0.4512,
        s1=0.4512,
        m=6.62206,
        i=63.41,
        p=5.1e-67,
        n=680.733,
        x=12.345,
        big=12345,
    )
    assert plain_text(render_markdown(out)) == "45% 45.1% 6.62 63.4 < 0.001 681 12.3 12,345"


def test_md_values_that_are_md_are_kept():
    piece = md("**{x}**", x="a*b")
    out = md("{piece} and {other}", piece=piece, other="**not bold**")
    assert render_markdown(out) == "<p><strong>a*b</strong> and **not bold**</p>\n"


def test_md_combining_escapes_plain_strings():
    assert str(Md("**a** ") + "*b*") == "**a** &#42;b&#42;"
    assert str("*b* " + Md("**a**")) == "&#42;b&#42; **a**"
    assert str(Md(", ").join(["_x_", Md("*y*")])) == "&#95;x&#95;, *y*"


def test_md_rejects_templates_that_would_reach_into_values():
    with pytest.raises(KeyError, match=r"the template names \{area\} but no value area= was given"):
        md("{area} leads")
    with pytest.raises(ValueError, match="looks up an attribute or item"):
        md("{row.label}", row=pd.Series({"label": "x"}))
    with pytest.raises(ValueError, match="!r and !a"):
        md("{x!r}", x="y")
    with pytest.raises(TypeError, match="formatted already"):
        md(md("x"), y=1)


def test_plain_text_skips_styles_scripts_and_anchors():
    page = (
        "<style>p {color: red}</style><h2>Title<a class='anchor-link' href='#t'>¶</a></h2>"
        "<p>One\n two &amp; three</p><script>x()</script><table><tr><td>a</td><td>b</td></tr>"
        "</table>"
    )
    assert plain_text(page) == "Title\nOne two & three\na\tb"


# ---- spreadsheets ---------------------------------------------------------------------
@pytest.mark.parametrize(
    "value", ["=1+1", "+SUM(A1)", "-2+3", "@cmd", "\tx", "\rx", '=HYPERLINK("http://x")']
)
def test_formula_like_text_is_quote_prefixed(value):
    assert spreadsheet_safe(value) == "'" + value


@pytest.mark.parametrize("value", ["plain", "a=b", "", "网络", 1.5, -3, None, float("nan")])
def test_other_cells_are_unchanged(value):
    out = spreadsheet_safe(value)
    assert out is value or out == value


def test_spreadsheet_safe_frame_leaves_numbers_exact():
    t = pd.DataFrame(
        {
            "label": ["=cmd|' /C calc'!A0", "ok", None],
            "estimate": [-0.123456789012345, 1e-300, float("nan")],
            "n": [1, -2, 3],
            "cat": pd.Categorical(["@x", "y", "@x"]),
        }
    ).rename(columns={"n": "=n"})
    out = spreadsheet_safe_frame(t)
    assert list(out["label"][:2]) == ["'=cmd|' /C calc'!A0", "ok"] and pd.isna(out["label"][2])
    assert out["estimate"].equals(t["estimate"]) and out["'=n"].equals(t["=n"])
    assert list(out["cat"]) == ["'@x", "y", "'@x"]
    assert list(t.columns) == ["label", "estimate", "=n", "cat"]  # input untouched


def test_report_tables_are_written_formula_safe_and_unrounded(tmp_path):
    t = pd.DataFrame({"comment": ['=WEBSERVICE("http://x")', "好"], "x": [-0.1234567890123, 2.0]})
    path = write_report_table(t, tmp_path / "t.csv")
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    back = pd.read_csv(path, encoding="utf-8-sig")
    assert back["comment"][0] == '\'=WEBSERVICE("http://x")' and back["comment"][1] == "好"
    assert back["x"][0] == pytest.approx(-0.1234567890123, abs=1e-16)


# ---- redaction -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mail me: li.wei+survey@example.com.cn!", "mail me: [email]!"),
        ("全角 li＠example.com 谢谢", "全角 [email] 谢谢"),
        ("call 13812345678 now", "call [phone] now"),
        ("call 138 1234 5678 or 138-1234-5678", "call [phone] or [phone]"),
        ("电话：１３８１２３４５６７８", "电话：[phone]"),
        ("+86 138 1234 5678", "[phone]"),
        ("landline 010-62345678 ext", "landline [phone] ext"),
        ("US (555) 123-4567.", "US [phone]."),
        ("+44 20 7946 0958", "[phone]"),
        ("ID 11010519491231002X here", "ID [ID number] here"),
        ("身份证号110105194912310021", "身份证号[ID number]"),
        ("card 6222 0212 3456 7890 123", "card [ID number]"),
        ("account 123456789012", "account [ID number]"),
    ],
)
def test_personal_data_is_redacted(text, expected):
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "waited 45 minutes, rated 9 out of 10",
        "we have 1,234,567 customers",
        "on 2024-01-31 and 31/01/2024",
        "price 12.50 per month, plan 128",
        "Q3 2024 was worse than Q2 2024",
        "",
    ],
)
def test_ordinary_numbers_are_not_redacted(text):
    assert redact(text) == text


def test_redaction_switches_and_non_text():
    assert redact("a@b.com 13812345678", emails=False) == "a@b.com [phone]"
    assert redact("a@b.com 13812345678", phones=False) == "[email] [ID number]"
    assert redact(None) is None and redact(12) == 12
    t = pd.DataFrame({"comment": ["x@y.org", None], "other": ["x@y.org", "z"]})
    out = redact_frame(t, ["comment", "missing"])
    assert out["comment"][0] == "[email]" and pd.isna(out["comment"][1])
    assert out["other"][0] == "x@y.org"
    assert client_text("a@b.com\u202e") == "[email]"
    assert client_text("a@b.com", redacted=False) == "a@b.com"
