"""Markdown is rendered, and whatever HTML it carries is sanitised."""

import pytest

from catalogue.dossier.rendering import render_markdown


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
