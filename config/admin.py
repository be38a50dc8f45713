"""The Django admin for curators: anyone `core.permissions.is_curator` accepts may sign in (staff or the
`curators` group); what they may do there comes from `catalogue.permissions.CuratorBackend`."""

from django import forms
from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm

from core.permissions import is_curator
from core.throttling import sign_in_guard


class CuratorLoginForm(AdminAuthenticationForm):
    def confirm_login_allowed(self, user):
        if not user.is_active or not is_curator(user):
            raise forms.ValidationError(self.error_messages["invalid_login"], code="invalid_login",
                                        params={"username": self.username_field.verbose_name})


class CodaAdminSite(admin.AdminSite):
    site_header = "Coda curation"
    site_title = "Coda"
    login_form = CuratorLoginForm

    def login(self, request, extra_context=None):
        return sign_in_guard(super().login)(request, extra_context)

    def has_permission(self, request) -> bool:
        return is_curator(request.user)
