"""Installs config.admin.CodaAdminSite as the default admin site (kept apart: app configs load before models)."""

from django.contrib.admin.apps import AdminConfig


class CodaAdminConfig(AdminConfig):
    default_site = "config.admin.CodaAdminSite"
