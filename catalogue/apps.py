from django.apps import AppConfig


class CatalogueConfig(AppConfig):
    name = "catalogue"
    verbose_name = "Catalogue"

    def ready(self):
        from catalogue import throttling  # noqa: F401  (connects the sign-in failure counter)
