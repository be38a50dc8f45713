from django.apps import AppConfig

from core import converters  # noqa: F401  (registers the <id:> row-id path converter for every app's URLs)


class CoreConfig(AppConfig):
    """The shared kernel: domain errors and the JSON error shape, authentication, pagination, permission
    primitives and the event-record hook. It imports no other Coda app."""

    name = "core"
    verbose_name = "Core"

    def ready(self):
        # Imported once the app registry is ready (it touches auth signals): connects the sign-in failure counter.
        from core import throttling  # noqa: F401
        from django.db.models.signals import pre_save

        from core.text import text_guard

        # The last line of defence for free text (core/text.py): every save, whichever door it came through.
        pre_save.connect(text_guard, dispatch_uid="core.text_guard")
