from django.apps import AppConfig


class ArchiveConfig(AppConfig):
    name = "archive"
    verbose_name = "Archive"

    def ready(self):
        # Django loads models only after app registries are ready, so the recorder is imported here.
        from archive.services import event_record
        from core.events import recorder_register

        recorder_register(event_record)
