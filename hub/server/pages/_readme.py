"""README cards: Markdown rendered with raw HTML off, then sanitized; other text shown as is.

Two independent guards, so neither alone has to be perfect: markdown-it-py with
``html=False`` turns any raw HTML in the README (``<script>``, ``<img onerror=...>``)
into visible text, and nh3 (the Rust sanitizer ammonia) then keeps only an allow-list
of tags and attributes and only http, https and mailto URLs (no ``javascript:``,
``vbscript:`` or ``data:`` link or image). The pages' CSP forbids script on top.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup, escape

URL_SCHEMES = frozenset({"http", "https", "mailto"})
_TAGS = frozenset({
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "details", "div", "dl", "dt",
    "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "kbd", "li", "ol", "p", "pre",
    "s", "span", "strong", "sub", "summary", "sup", "table", "tbody", "td", "th", "thead",
    "tr", "ul",
})
_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}, "ol": {"start"}}
# CommonMark plus GitHub's tables and strikethrough (operator cards use tables); linkify
# off: it needs another package, and bare URLs read fine as text. The parser holds only
# its rules, so one serves every thread.
_MARKDOWN = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable(
    ["table", "strikethrough"])


def render_readme(text: str, content_type: str | None) -> Markup:
    """The README as safe HTML: Markdown for ``text/markdown``, else preformatted text.

    PEP 566 makes a missing ``Description-Content-Type`` reStructuredText, which is shown
    as text (no renderer is bundled).
    """
    if not text.strip():
        return Markup("")
    if _is_markdown(content_type):
        return sanitize(_MARKDOWN.render(text))
    return Markup('<pre class="readme-text">') + escape(text) + Markup("</pre>")


def sanitize(html: str) -> Markup:
    """Only allow-listed tags, attributes and URL schemes survive; links get
    ``rel="noopener noreferrer nofollow"`` (a README is the author's, not the hub's)."""
    return Markup(nh3.clean(html, tags=set(_TAGS), attributes=_ATTRIBUTES,
                            url_schemes=set(URL_SCHEMES), strip_comments=True,
                            link_rel="noopener noreferrer nofollow"))


def _is_markdown(content_type: str | None) -> bool:
    return (content_type or "").split(";")[0].strip().lower() == "text/markdown"


@dataclass(frozen=True)
class ReadmeCard:
    """A version's README for its page: ``html`` is empty when ``too_large``."""

    html: Markup
    size: int  # bytes of the README's text
    too_large: bool


class RenderCache:
    """README cards by key, least recently used dropped past ``max_chars`` of HTML in total.

    A file's README never changes (published files are immutable), so a key is
    (project, filename); rendering costs about 0.7 ms per kB of Markdown here.
    """

    def __init__(self, max_chars: int = 16 * 1024 * 1024) -> None:
        self.max_chars = max_chars
        self._items: OrderedDict[tuple[str, str], ReadmeCard] = OrderedDict()
        self._chars = 0
        self._lock = threading.Lock()  # page handlers run in a thread pool

    def get(self, key: tuple[str, str], render: Callable[[], ReadmeCard]) -> ReadmeCard:
        """The cached value for ``key``, else ``render()``, kept for next time."""
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = render()
        with self._lock:
            if key not in self._items and len(value.html) <= self.max_chars:
                self._items[key] = value
                self._chars += len(value.html)
                while self._chars > self.max_chars:
                    self._chars -= len(self._items.popitem(last=False)[1].html)
        return value

    def __len__(self) -> int:
        return len(self._items)
