from django.apps import AppConfig


class CatalogueConfig(AppConfig):
    name = "catalogue"
    verbose_name = "Catalogue"

    def ready(self):
        # The two-person rule's kinds of change that live in the catalogue (the archive registers its own).
        from catalogue.access import approval_kinds_register

        approval_kinds_register()
