"""Archive admin: locations visible, everything about stored bytes read-only (events are append-only)."""

from django.contrib import admin

from archive.models import Blob, IngestJob, PreservationEvent, Replica, Snapshot, SnapshotFile, StorageLocation


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(StorageLocation)
class StorageLocationAdmin(ReadOnlyAdmin):
    list_display = ["name", "kind", "address", "is_primary", "is_active"]
    list_filter = ["kind", "is_primary", "is_active"]


class ReplicaInline(admin.TabularInline):
    model = Replica
    extra = 0
    can_delete = False
    fields = ["location", "key", "state", "last_verified_at", "verification"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Blob)
class BlobAdmin(ReadOnlyAdmin):
    list_display = ["sha256", "size", "created_at"]
    search_fields = ["sha256"]
    inlines = [ReplicaInline]


@admin.register(Replica)
class ReplicaAdmin(ReadOnlyAdmin):
    list_display = ["blob", "location", "state", "last_verified_at", "verification"]
    list_filter = ["state", "location"]
    search_fields = ["blob__sha256", "key"]
    list_select_related = ["blob", "location"]


class SnapshotFileInline(admin.TabularInline):
    model = SnapshotFile
    extra = 0
    can_delete = False
    fields = ["path", "size", "kind", "format", "state", "blob", "error"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Snapshot)
class SnapshotAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "state", "source", "created_at", "sealed_at"]
    list_filter = ["state", "model__provider"]
    search_fields = ["revision", "model__name", "source"]
    list_select_related = ["model__provider"]
    inlines = [SnapshotFileInline]


@admin.register(SnapshotFile)
class SnapshotFileAdmin(ReadOnlyAdmin):
    list_display = ["path", "snapshot", "size", "kind", "format", "state"]
    list_filter = ["state", "kind", "format"]
    search_fields = ["path", "blob__sha256"]
    list_select_related = ["snapshot__model__provider"]


@admin.register(IngestJob)
class IngestJobAdmin(ReadOnlyAdmin):
    list_display = ["pk", "snapshot", "state", "files_total", "bytes_total", "started_at", "finished_at"]
    list_filter = ["state"]
    list_select_related = ["snapshot__model__provider"]


@admin.register(PreservationEvent)
class PreservationEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "event_type", "outcome", "model", "location", "agent"]
    list_filter = ["event_type", "outcome", "location"]
    search_fields = ["blob__sha256", "agent", "model__name"]
    list_select_related = ["model__provider", "location"]
