from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

api_v1 = [
    path("", include("catalogue.api.urls")),
    path("", include("archive.api.urls")),
    path("", include("catalogue.dossier.api.urls")),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include((api_v1, "api"), namespace="api")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api-auth/", include("rest_framework.urls")),
    path("feeds/", include("catalogue.dossier.feed_urls")),
    path("hf/", include("archive.hub.urls")),  # Hugging Face Hub-compatible read API (HF_ENDPOINT=…/hf)
    path("", include("catalogue.web.urls", namespace="web")),
]
