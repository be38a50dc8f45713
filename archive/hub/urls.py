"""Routes of the Hub-compatible API; config/urls.py mounts them at /hf/ (HF_ENDPOINT=https://HOST/hf)."""

from django.urls import path, re_path

from archive.hub import repos, views

app_name = "hub"

REPO = "<str:provider>/<str:name>"

urlpatterns = [
    path("api/models", repos.model_list, name="model-list"),
    path(f"api/models/{REPO}/refs", repos.model_refs, name="refs"),
    path(f"api/models/{REPO}/commits/<path:revision>", repos.model_commits, name="commits"),
    path(f"api/models/{REPO}/paths-info/<path:revision>", repos.paths_info, name="paths-info"),
    path(f"api/models/{REPO}", views.model_info, name="model-info"),
    # Clients quote the revision with safe="" (refs/pr/1 → refs%2Fpr%2F1); Django decodes it, hence <path:>.
    path(f"api/models/{REPO}/revision/<path:revision>", views.model_info, name="model-info-revision"),
    path(f"api/models/{REPO}/tree/<str:revision>", views.tree, name="tree"),
    path(f"api/models/{REPO}/tree/<str:revision>/<path:path>", views.tree, name="tree-path"),
    path(f"{REPO}/resolve/<str:revision>/<path:path>", views.resolve, name="resolve"),
    re_path(r"^(?P<rest>.*)$", views.not_found),
]
