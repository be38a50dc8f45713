from django.apps import AppConfig


class WebConfig(AppConfig):
    """The researchers' site: pages composing the catalogue, the archive's holdings and the dossier (top layer)."""

    name = "web"
    label = "web"
    verbose_name = "Researchers' site"
