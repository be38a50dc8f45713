from django.apps import AppConfig


class ArchiveConfig(AppConfig):
    name = "archive"
    verbose_name = "Archive"

    def ready(self):
        # Imported here because archive.events and archive.tasks import models, loadable only once apps are ready.
        from archive import tasks  # noqa: F401  (registers every task with archive.dispatch)
        from archive.storage import checks  # noqa: F401  (the start-up check of Object Lock, archive.E001)
        from archive.events import event_record
        from core.events import recorder_register

        recorder_register(event_record)

        # The two-person rule's kinds of change that live in the archive (catalogue.approvals holds the registry).
        from archive import snapshots, withdrawals
        from archive.sealing import keys

        for module in (snapshots, withdrawals, keys):
            module.approval_kinds_register()
