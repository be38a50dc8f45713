"""Content-Security-Policy for the web catalogue's pages: they load scripts, styles, images, fonts and
connections from Coda itself only, so nothing on a researcher's screen comes from (or reports to) another site.

The pages need nothing more than `'self'`: one stylesheet and one deferred script (catalogue/static/catalogue/),
no inline script or style, no <img> in sanitised Markdown (catalogue.rendering). The header is scoped to
views in the `web` URL namespace: the Django admin and the API's Swagger UI (/api/docs/, drf-spectacular-sidecar,
whose page has an inline script and style) are left alone."""

from django.conf import settings

POLICY = "; ".join(
    [
        "default-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",  # form-action does not fall back to default-src
        "frame-ancestors 'none'",
    ]
)


class WebCatalogueCSPMiddleware:
    """Adds POLICY to HTML responses of the web catalogue's views (URL namespace `web`)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        if (
            match is not None
            and "web" in match.namespaces
            and response.get("Content-Type", "").startswith("text/html")
            and "Content-Security-Policy" not in response
            # Django's debug error pages (DEBUG only) style themselves inline; leave them readable.
            and not (settings.DEBUG and response.status_code >= 400)
        ):
            response["Content-Security-Policy"] = POLICY
        return response
