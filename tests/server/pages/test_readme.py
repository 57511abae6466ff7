"""README cards: Markdown without raw HTML, sanitized; every known script vector stays inert."""

from __future__ import annotations

import pytest
from markupsafe import Markup
from support.pages import HOSTILE_README, assert_inert

from hub.server.pages._readme import ReadmeCard, RenderCache, render_readme, sanitize

MD = "text/markdown"


@pytest.mark.parametrize("attack", [
    "<script>alert(1)</script>",
    '<img src="x" onerror="alert(1)">',
    "<svg onload=alert(1)></svg>",
    '<iframe src="javascript:alert(1)"></iframe>',
    '<a href="javascript:alert(1)">x</a>',
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x](java&#x09;script:alert(1))",
    "[x](&#106;avascript:alert(1))",
    "[x](vbscript:msgbox(1))",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9ImFsZXJ0KDEpIj48L3N2Zz4=)",
    "<javascript:alert(1)>",
    "[x][r]\n\n[r]: javascript:alert(1)",
    '[x](https://example.org "t" onmouseover="alert(1)")',
    "```\n</code></pre><script>alert(1)</script>\n```",
    "<div style=\"background:url(javascript:alert(1))\">x</div>",
    HOSTILE_README,
])
def test_no_script_vector_survives(attack: str) -> None:
    assert_inert(render_readme(attack, MD))


def test_raw_html_is_shown_as_text() -> None:
    html = render_readme("<script>alert(1)</script>", MD)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_markdown_features_operator_cards_use() -> None:
    text = ("# Title\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n```python\nx = 1\n```\n\n"
            "~~old~~ **bold** [docs](https://example.org/docs) <https://example.org>\n")
    html = render_readme(text, MD)
    assert "<h1>Title</h1>" in html and "<td>1</td>" in html and "<s>old</s>" in html
    assert "<pre><code>x = 1\n</code></pre>" in html and "<strong>bold</strong>" in html
    assert ('<a href="https://example.org/docs" rel="noopener noreferrer nofollow">docs</a>'
            in html)


def test_sanitizer_alone_strips_what_markdown_would_not_make() -> None:
    """The second guard: even HTML that did not come from markdown-it loses script."""
    html = sanitize('<p onclick="x">a</p><a href="javascript:x">b</a><script>c</script>'
                    '<a href="mailto:a@example.org">m</a>')
    assert html == ('<p>a</p><a rel="noopener noreferrer nofollow">b</a>'
                    '<a href="mailto:a@example.org" rel="noopener noreferrer nofollow">m</a>')


@pytest.mark.parametrize("content_type", [None, "text/plain", "text/x-rst", "text/html"])
def test_other_content_types_are_preformatted_text(content_type: str | None) -> None:
    html = render_readme("Title\n=====\n\n<b>x</b>", content_type)
    assert html == '<pre class="readme-text">Title\n=====\n\n&lt;b&gt;x&lt;/b&gt;</pre>'


def test_markdown_with_parameters_and_empty_readme() -> None:
    assert "<em>x</em>" in render_readme("*x*", "text/markdown; charset=UTF-8; variant=GFM")
    assert render_readme("  \n", MD) == ""


def test_render_cache_keeps_recent_cards_within_its_size() -> None:
    cache = RenderCache(max_chars=10)
    calls: list[str] = []

    def card(text: str) -> ReadmeCard:
        calls.append(text)
        return ReadmeCard(Markup(text), len(text), False)

    assert cache.get(("p", "a"), lambda: card("aaaa")).html == "aaaa"
    assert cache.get(("p", "a"), lambda: card("other")).html == "aaaa"  # cached
    cache.get(("p", "b"), lambda: card("bbbb"))
    cache.get(("p", "a"), lambda: card("aaaa"))  # a is now the most recent
    cache.get(("p", "c"), lambda: card("cccc"))  # over 10 chars: b goes
    assert len(cache) == 2 and calls == ["aaaa", "bbbb", "cccc"]
    cache.get(("p", "b"), lambda: card("bbbb"))
    assert calls[-1] == "bbbb"
    cache.get(("p", "huge"), lambda: card("x" * 11))  # larger than the cache: not kept
    assert len(cache) == 2
