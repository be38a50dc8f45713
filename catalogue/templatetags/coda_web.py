"""Template helpers for the web catalogue: sanitised Markdown, pagination links that keep the filters."""

import markdown as md
import nh3
from django import template
from django.utils.safestring import mark_safe

register = template.Library()


@register.filter
def markdown(text: str) -> str:
    """Render a model card's Markdown and sanitise the HTML (curators write it, but pages must stay safe)."""
    if not text:
        return ""
    return mark_safe(nh3.clean(md.markdown(text, extensions=["fenced_code", "tables"])))


@register.simple_tag(takes_context=True)
def url_with(context, key: str, value) -> str:
    """The current query string with one parameter replaced (for pagination links)."""
    params = context["request"].GET.copy()
    if value in (None, ""):
        params.pop(key, None)
    else:
        params[key] = value
    encoded = params.urlencode()
    return f"?{encoded}" if encoded else "?"
