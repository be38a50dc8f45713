"""Routes of the Hub-compatible API; config/urls.py mounts them at /hf/ (HF_ENDPOINT=https://HOST/hf)."""

from django.urls import path, re_path

from archive.hub import repos, views

app_name = "hub"

REPO = "<str:provider>/<str:name>"
# The same, as a regex, and a revision that may be a full ref name. Clients quote the revision with safe=""
# (refs/tags/v1 → refs%2Ftags%2Fv1) and Django decodes it before matching, so a ref's slashes reach us as
# path separators: `refs/heads/<name>` and `refs/tags/<name>` (names carry no slash) are one revision.
REPO_RE = r"(?P<provider>[^/]+)/(?P<name>[^/]+)"
REVISION_RE = r"(?P<revision>refs/(?:heads|tags)/[^/]+|[^/]+)"

urlpatterns = [
    path("api/models", repos.model_list, name="model-list"),
    path(f"api/models/{REPO}/refs", repos.model_refs, name="refs"),
    path(f"api/models/{REPO}/commits/<path:revision>", repos.model_commits, name="commits"),
    path(f"api/models/{REPO}/paths-info/<path:revision>", repos.paths_info, name="paths-info"),
    path(f"api/models/{REPO}", views.model_info, name="model-info"),
    # Clients quote the revision with safe="" (refs/pr/1 → refs%2Fpr%2F1); Django decodes it, hence <path:>.
    path(f"api/models/{REPO}/revision/<path:revision>", views.model_info, name="model-info-revision"),
    re_path(rf"^api/models/{REPO_RE}/tree/{REVISION_RE}\Z", views.tree, name="tree"),
    re_path(rf"^api/models/{REPO_RE}/tree/{REVISION_RE}/(?P<path>.+)\Z", views.tree, name="tree-path"),
    re_path(rf"^{REPO_RE}/resolve/{REVISION_RE}/(?P<path>.+)\Z", views.resolve, name="resolve"),
    re_path(r"^(?P<rest>.*)$", views.not_found),
]
