"""Rendered lesson HTML is sanitised: no script, no event handler, no unsafe URL."""

from __future__ import annotations

import pytest

from app.authoring.render import render_inline, render_markdown

HOSTILE = """
## Heading

<script>alert('x')</script>

<img src="x.png" onerror="alert(1)" alt="x">

[click](javascript:alert(1))

<iframe src="https://example.org/"></iframe>

<a href="https://example.org/" onclick="steal()">fine link</a>

<style>body { display: none }</style>

<form action="/steal"><input name="q"></form>
"""


@pytest.fixture(scope="module")
def hostile_html() -> str:
    return render_markdown(HOSTILE).html


@pytest.mark.parametrize(
    "forbidden", ["<script", "alert(", "onerror", "javascript:", "<iframe", "onclick", "<style",
                  "<form", "<input"],
)  # fmt: skip
def test_hostile_markup_never_survives(hostile_html: str, forbidden: str):
    assert forbidden not in hostile_html.lower()


def test_safe_content_survives(hostile_html: str):
    assert '<h2 id="heading">Heading</h2>' in hostile_html
    assert 'href="https://example.org/"' in hostile_html
    assert "fine link" in hostile_html


def test_extensions_render():
    html = render_markdown(
        "| a | b |\n|---|--:|\n| 1 | 2 |\n\nText[^n]\n\n[^n]: Note.\n\n"
        '!!! tip "Remember"\n    Inside.\n\nTerm\n:   Meaning\n\n## Part {: #custom }\n'
    ).html
    assert "<table>" in html and 'align="right"' in html
    assert 'class="footnote"' in html
    assert '<div class="admonition tip">' in html
    assert "<dl>" in html
    assert '<h2 id="custom">Part</h2>' in html


def test_inline_rendering_drops_the_paragraph():
    assert render_inline("The *act* alone") == "The <em>act</em> alone"
