"""Markdown to safe HTML, the one sanitiser for every curator- or model-written text (model cards and access
terms on the web pages, the retirement dossier on pages, in the API and in feeds): python-markdown renders,
nh3 (ammonia) keeps only an allow-list of tags and attributes, so script tags, event handlers and javascript:
URLs never reach a page or a feed. Images are dropped: an <img> would make a reader's browser load from
wherever its src points, and Coda's pages load nothing from other sites (see web/csp.py). Links
stay, with rel="noopener noreferrer nofollow"."""

import markdown
import nh3

TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "div", "dl", "dt", "em", "h1", "h2", "h3", "h4",
    "h5", "h6", "hr", "i", "li", "ol", "p", "pre", "s", "span", "strong", "sub", "sup", "table", "tbody",
    "td", "th", "thead", "tr", "ul",
}
ATTRIBUTES = {
    "a": {"href", "title"},
    "abbr": {"title"},
    "td": {"align"},
    "th": {"align"},
    "code": {"class"},
}
URL_SCHEMES = {"http", "https", "mailto"}
LINK_REL = "noopener noreferrer nofollow"


def sanitise_html(html: str) -> str:
    """HTML reduced to the allow-list above (no images, no scripts, no styles, only http(s)/mailto/relative links)."""
    return nh3.clean(
        html or "",
        tags=TAGS,
        attributes=ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel=LINK_REL,
        strip_comments=True,
    )


def render_markdown(text: str) -> str:
    """Markdown (with tables and fenced code) to sanitised HTML."""
    html = markdown.markdown(text or "", extensions=["fenced_code", "tables", "sane_lists"], output_format="html")
    return sanitise_html(html)
