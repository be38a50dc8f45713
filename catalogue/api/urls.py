from django.urls import path, re_path

from catalogue.api import access, approvals, embargoes, views

MODEL = "models/<str:provider>/<str:name>/"

urlpatterns = [
    path("providers/", views.ProviderViewSet.as_view({"get": "list", "post": "create"}), name="provider-list"),
    path(
        "providers/<str:slug>/",
        views.ProviderViewSet.as_view({"get": "retrieve", "patch": "partial_update"}),
        name="provider-detail",
    ),
    path("models/", views.ModelViewSet.as_view({"get": "list", "post": "create"}), name="model-list"),
    path(
        MODEL,
        views.ModelViewSet.as_view({"get": "retrieve", "patch": "partial_update", "put": "update"}),
        name="model-detail",
    ),
    path("retirements/", views.RetirementViewSet.as_view({"get": "list", "post": "create"}), name="retirement-list"),
    path(
        "retirements/<id:pk>/",
        views.RetirementViewSet.as_view({"get": "retrieve", "patch": "partial_update"}),
        name="retirement-detail",
    ),
    path(MODEL + "access-requests/", access.ModelAccessRequestsView.as_view(), name="model-access-requests"),
    path(MODEL + "access-grants/", access.ModelAccessGrantView.as_view(), name="model-access-grants"),
    path(MODEL + "access-changes/", embargoes.ModelAccessChangesView.as_view(), name="model-access-changes"),
    path(MODEL + "access-changes/<id:pk>/", embargoes.ModelAccessChangeView.as_view(), name="model-access-change"),
    path("access-requests/", access.AccessRequestListView.as_view(), name="access-request-list"),
    path("access-requests/<id:pk>/", access.AccessRequestDetailView.as_view(), name="access-request-detail"),
    # `approve`, `deny`, `revoke`, with or without a trailing slash.
    re_path(r"^access-requests/(?P<pk>[0-9]{1,18})/approve/?$", access.AccessRequestDecisionView.as_view(decision="approve"), name="access-request-approve"),
    re_path(r"^access-requests/(?P<pk>[0-9]{1,18})/deny/?$", access.AccessRequestDecisionView.as_view(decision="deny"), name="access-request-deny"),
    re_path(r"^access-requests/(?P<pk>[0-9]{1,18})/revoke/?$", access.AccessRequestDecisionView.as_view(decision="revoke"), name="access-request-revoke"),
    # The two-person rule's proposals (curators): list, detail, approve, refuse.
    path("approvals/", approvals.ApprovalListView.as_view(), name="approval-list"),
    path("approvals/<id:pk>/", approvals.ApprovalDetailView.as_view(), name="approval-detail"),
    path("approvals/<id:pk>/approve/", approvals.ApprovalDecisionView.as_view(decision="approve"), name="approval-approve"),
    path("approvals/<id:pk>/refuse/", approvals.ApprovalDecisionView.as_view(decision="refuse"), name="approval-refuse"),
]
