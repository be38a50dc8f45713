from django.contrib.auth import views as auth_views
from django.urls import path

from core.throttling import sign_in_guard
from web import approvals, views

app_name = "web"

MODEL = "models/<str:provider>/<str:name>/"

urlpatterns = [
    path("", views.home, name="home"),
    path(MODEL, views.model_detail, name="model"),
    path(MODEL + "access-request/", views.access_request_submit, name="access-request"),
    path("providers/", views.providers, name="providers"),
    path("providers/<str:slug>/", views.provider_detail, name="provider"),
    path("retirements/upcoming/", views.upcoming, name="upcoming"),
    path("timeline/", views.timeline, name="timeline"),
    path("preservation/", views.preservation_health, name="preservation-health"),
    path("approvals/", approvals.approvals_page, name="approvals"),
    path("approvals/<id:pk>/approve/", approvals.approval_decide, {"decision": "approve"}, name="approval-approve"),
    path("approvals/<id:pk>/refuse/", approvals.approval_decide, {"decision": "refuse"}, name="approval-refuse"),
    path("signup/", views.signup, name="signup"),
    path("account/", views.account, name="account"),
    path("account/tokens/", views.token_create, name="token-create"),
    path("account/tokens/<str:token_key>/revoke/", views.token_revoke, name="token-revoke"),
    path("account/invitations/", views.invite, name="invite"),
    path("accounts/login/", sign_in_guard(auth_views.LoginView.as_view()), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
]
