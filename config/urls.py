from django.contrib import admin
from django.contrib.auth.views import LoginView, LogoutView
from django.urls import include, path, re_path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from archive.oai.views import oai
from core.throttling import sign_in_guard

api_v1 = [
    path("", include("catalogue.api.urls")),
    path("", include("archive.api.urls")),
    path("", include("dossier.api.urls")),
]

# DRF's browsable-API sign-in, throttled like every sign-in door (core/throttling.py).
api_auth = [
    path("login/", sign_in_guard(LoginView.as_view(template_name="rest_framework/login.html")), name="login"),
    path("logout/", LogoutView.as_view(), name="logout"),
]

DOSSIER_ADMIN_MODELS = "exitinterview|interviewturn|modelrequest|postdeploymentreport|writingseries|modelwriting"

urlpatterns = [
    # The dossier's admin screens moved with its app (catalogue → dossier); old links still lead to them.
    re_path(
        rf"^admin/catalogue/(?P<rest>(?:{DOSSIER_ADMIN_MODELS})/.*)$",
        RedirectView.as_view(url="/admin/dossier/%(rest)s", permanent=True, query_string=True),
        name="admin-dossier-redirect",
    ),
    path("admin/", admin.site.urls),
    path("api/v1/", include((api_v1, "api"), namespace="api")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api-auth/", include((api_auth, "rest_framework"))),
    path("feeds/", include("dossier.urls")),
    path("hf/", include("archive.hub.urls")),  # Hugging Face Hub-compatible read API (HF_ENDPOINT=…/hf)
    path("oai", oai, name="oai"),  # OAI-PMH 2.0 for library harvesters (archive/oai)
    path("", include("web.urls", namespace="web")),
]
