"""Markdown to sanitised HTML. Runs at import time only; pages serve the stored result."""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET  # noqa: S405 - only walks the tree Markdown built
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import markdown
import nh3
from markdown.treeprocessors import Treeprocessor

# What lesson HTML may contain after sanitising. No h1 (the title is the page's only h1),
# no script, style, iframe, form or event attribute; links only http(s), mailto or relative.
ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "dd", "del", "details",
    "div", "dl", "dt", "em", "figcaption", "figure", "h2", "h3", "h4", "h5", "h6", "hr", "i",
    "img", "ins", "kbd", "li", "mark", "ol", "p", "pre", "q", "s", "section", "small", "span",
    "strong", "sub", "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr",
    "u", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "*": {"id", "class", "title", "lang", "dir"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "ol": {"start"},
    "th": {"align", "colspan", "rowspan", "scope"},
    "td": {"align", "colspan", "rowspan"},
}
URL_SCHEMES = {"http", "https", "mailto"}

EXTENSIONS = [
    "markdown.extensions.tables",
    "markdown.extensions.footnotes",
    "markdown.extensions.toc",
    "markdown.extensions.admonition",
    "markdown.extensions.attr_list",
    "markdown.extensions.def_list",
    "markdown.extensions.fenced_code",
    "markdown.extensions.sane_lists",
]
EXTENSION_CONFIGS: dict[str, dict[str, Any]] = {
    "markdown.extensions.tables": {"use_align_attribute": True},
    "markdown.extensions.toc": {"toc_depth": "2-3"},
}

LinkResolver = Callable[[str], str | None]


@dataclass
class Rendered:
    html: str
    toc: list[dict[str, Any]] = field(default_factory=list)


class _LinkRewriter(Treeprocessor):
    """Turns links to course files (`02-children.md`, `../media/map.png`) into portal URLs."""

    def __init__(self, md: markdown.Markdown, resolve: LinkResolver) -> None:
        super().__init__(md)
        self.resolve = resolve

    def run(self, root: ET.Element) -> None:
        for element, attribute in [(a, "href") for a in root.iter("a")] + [
            (img, "src") for img in root.iter("img")
        ]:
            target = element.get(attribute)
            if target:
                replacement = self.resolve(target)
                if replacement is not None:
                    element.set(attribute, replacement)


def sanitise(fragment: str) -> str:
    """Remove everything not on the allow-list: scripts, event handlers, unsafe URLs."""
    return nh3.clean(
        fragment,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer",
        strip_comments=True,
    )


def _flatten_toc(tokens: list[dict[str, Any]]) -> list[dict[str, Any]]:
    flat: list[dict[str, Any]] = []
    for token in tokens:
        flat.append(
            {"level": token["level"], "id": token["id"], "name": html.unescape(token["name"])}
        )
        flat.extend(_flatten_toc(token.get("children", [])))
    return flat


def render_markdown(text: str, resolve_link: LinkResolver | None = None) -> Rendered:
    """Render block Markdown to sanitised HTML, with the table of contents of its headings."""
    md = markdown.Markdown(extensions=EXTENSIONS, extension_configs=EXTENSION_CONFIGS)
    if resolve_link is not None:
        md.treeprocessors.register(_LinkRewriter(md, resolve_link), "course_links", 1)
    body = md.convert(text)
    toc = _flatten_toc(getattr(md, "toc_tokens", []))
    return Rendered(html=sanitise(body), toc=toc)


_SINGLE_PARAGRAPH = re.compile(r"^<p>(?P<inner>.*)</p>$", re.DOTALL)


def render_inline(text: str) -> str:
    """Render a short text (a stem, a choice) without its wrapping paragraph."""
    rendered = render_markdown(text).html.strip()
    match = _SINGLE_PARAGRAPH.match(rendered)
    if match and "<p>" not in match.group("inner"):
        return match.group("inner")
    return rendered
