"""Template helpers for the web catalogue: sanitised Markdown, pagination links that keep the filters."""

from django import template
from django.utils.safestring import mark_safe

from catalogue.rendering import render_markdown
from core.units import count_label, size_label

register = template.Library()


@register.filter
def markdown(text: str) -> str:
    """Render a model card's Markdown and sanitise the HTML (curators write it, but pages must stay safe): the one
    sanitiser (catalogue.rendering, also the dossier's), so no image or script from another site gets in."""
    if not text:
        return ""
    return mark_safe(render_markdown(text))


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


@register.filter
def size(octets) -> str:
    """A size in binary units labelled as such (core.units: 1.2 MiB), never Django's MiB labelled "MB"."""
    return size_label(octets)


@register.filter
def count(value) -> str:
    """A count with thousands separators (1,234,567)."""
    return count_label(value)
