from django.apps import AppConfig


class CatalogueConfig(AppConfig):
    name = "catalogue"
    verbose_name = "Catalogue"

    def ready(self):
        # The two-person rule's kinds of change that live in the catalogue (the archive registers its own).
        from catalogue import access, embargoes

        access.approval_kinds_register()
        embargoes.approval_kinds_register()
