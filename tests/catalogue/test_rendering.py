"""Markdown is rendered, and whatever HTML it carries is sanitised."""

import pytest

from catalogue.rendering import render_markdown, sanitise_html


@pytest.mark.parametrize(
    "source",
    [
        "<script>alert(1)</script>",
        "Hi <img src=x onerror=alert(1)>",
        '<a href="javascript:alert(1)">x</a>',
        "[click](javascript:alert(1))",
        '<div onclick="steal()">x</div>',
        "<iframe src=https://evil.example></iframe>",
        '<svg><script>alert(1)</script></svg>',
        "<style>body{display:none}</style>",
        '<p style="background:url(javascript:alert(1))">x</p>',
    ],
)
def test_dangerous_html_never_survives(source):
    html = render_markdown(source).lower()
    for needle in ("<script", "onerror", "onclick", "javascript:", "<iframe", "<style", "style=", "<svg"):
        assert needle not in html, html


def test_markdown_still_renders():
    html = render_markdown("# Title\n\n**bold** and [a link](https://example.org)\n\n```\ncode\n```")
    assert "<h1>Title</h1>" in html
    assert "<strong>bold</strong>" in html
    assert 'href="https://example.org"' in html and 'rel="noopener noreferrer nofollow"' in html
    assert "<pre><code>code" in html


@pytest.mark.parametrize(
    "source",
    [
        "![logo](https://tracker.example/pixel.png)",
        '<img src="https://tracker.example/pixel.png" alt="logo">',
        '<img src="//tracker.example/pixel.png">',
        '<img src="/static/catalogue/coda.css">',  # even same-site: the sanitiser keeps no images at all
        '<p><img srcset="https://tracker.example/a.png 2x"></p>',
    ],
)
def test_images_are_dropped(source):
    html = render_markdown(source).lower()
    assert "<img" not in html and "tracker.example" not in html, html


def test_sanitiser_drops_javascript_links_and_keeps_others_with_rel():
    html = sanitise_html(
        '<a href="javascript:alert(1)">bad</a> <a href="JaVaScRiPt:alert(1)">bad2</a>'
        ' <a href="https://example.org/x">ext</a> <a href="/models/lab/m/">local</a>'
    )
    assert "javascript" not in html.lower()
    assert '<a href="https://example.org/x" rel="noopener noreferrer nofollow">ext</a>' in html
    assert '<a href="/models/lab/m/" rel="noopener noreferrer nofollow">local</a>' in html
    assert ">bad<" in html and ">bad2<" in html  # the text stays, only the href goes


def test_model_card_filter_uses_the_same_sanitiser():
    from web.templatetags.coda_web import markdown

    html = markdown('A card ![x](https://tracker.example/p.png) [home](https://example.org) [x](javascript:alert(1))')
    assert html == render_markdown('A card ![x](https://tracker.example/p.png) [home](https://example.org) [x](javascript:alert(1))')
    assert "<img" not in html and "javascript:" not in html and 'rel="noopener noreferrer nofollow"' in html
