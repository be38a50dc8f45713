from django.apps import AppConfig


class DossierConfig(AppConfig):
    name = "dossier"
    label = "dossier"
    verbose_name = "Retirement dossier"
