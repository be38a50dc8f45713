from django.apps import AppConfig


class CoreConfig(AppConfig):
    """The shared kernel: domain errors and the JSON error shape, authentication, pagination, permission
    primitives and the event-record hook. It imports no other Coda app."""

    name = "core"
    verbose_name = "Core"
