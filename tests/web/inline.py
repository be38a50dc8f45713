"""What CSP `default-src 'self'` would block in a page: inline styles and executable inline scripts. A JSON-LD
data block (`<script type="application/ld+json">`) is not executed, so CSP does not apply to it."""

import re

INLINE_SCRIPT = re.compile(r'<script(?![^>]*\b(?:src=|type="application/ld\+json"))')
INLINE_STYLE = re.compile(r"\sstyle=|<style")


def has_inline_code(html: str) -> bool:
    return bool(INLINE_SCRIPT.search(html) or INLINE_STYLE.search(html))
