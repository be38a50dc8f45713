from django.apps import AppConfig


class DossierConfig(AppConfig):
    name = "dossier"
    label = "dossier"
    verbose_name = "Retirement dossier"

    def ready(self):
        # Imported here, not at module level: Django loads app configs before models are ready.
        from catalogue.web.sections import register_model_section
        from dossier.browse import model_dossier

        register_model_section(name="dossier", template="dossier/_dossier.html", context=model_dossier)
