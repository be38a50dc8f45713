from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.input import InputSerializer
from core.schema import WithdrawnSerializer
from catalogue.models import FileAccess
from catalogue.permissions import can_see_internals, file_access_level

from archive import selectors
from archive.ingest import jobs
from archive.inspection.files import inspection_summary
from archive.models import IngestJob, PreservationEvent, SigningKey, Snapshot, SnapshotFile
from archive.withdrawals import tombstone


# Event detail entries that name storage (object keys, raw storage errors): curators only.
INTERNAL_DETAIL_KEYS = frozenset({"key", "manifest_key", "orphan_key", "incomplete_multipart_upload", "error", "source"})


def _internals(serializer) -> bool:
    """Whether the reader may see server-side paths, storage keys and raw errors (catalogue.permissions)."""
    request = serializer.context.get("request")
    return can_see_internals(getattr(request, "user", None))


class SnapshotFileSerializer(serializers.ModelSerializer):
    sha256 = serializers.CharField(source="blob.sha256", read_only=True, allow_null=True, default=None)
    copies = serializers.SerializerMethodField()
    last_verified_at = serializers.SerializerMethodField()
    inspection = serializers.SerializerMethodField()

    class Meta:
        model = SnapshotFile
        fields = [
            "path", "size", "sha256", "kind", "format", "state", "copies", "last_verified_at", "error",
            "inspection", "problems",
        ]

    def get_inspection(self, obj) -> dict:
        return inspection_summary(obj.inspection)

    def to_representation(self, obj):
        data = super().to_representation(obj)
        if data.get("error") and not _internals(self):
            data["error"] = "failed" if obj.state == SnapshotFile.State.FAILED else ""
        return data

    def get_copies(self, obj) -> int:
        return len(getattr(obj.blob, "verified_replicas", [])) if obj.blob_id else 0

    def get_last_verified_at(self, obj):
        replicas = getattr(obj.blob, "verified_replicas", []) if obj.blob_id else []
        dates = [r.last_verified_at for r in replicas if r.last_verified_at]
        return min(dates) if dates else None


class SnapshotSerializer(serializers.ModelSerializer):
    id = serializers.IntegerField(read_only=True)
    model = serializers.CharField(source="model.repo_id", read_only=True)
    # null for readers who may not see server-side paths and storage keys (to_representation)
    source = serializers.CharField(read_only=True, allow_null=True, help_text="Where the files were read from; null unless curator.")
    manifest_key = serializers.CharField(read_only=True, allow_null=True, help_text="Storage key of the manifest; null unless curator.")
    file_count = serializers.IntegerField(read_only=True)
    total_size = serializers.IntegerField(read_only=True)
    url = serializers.SerializerMethodField()
    effective_file_access = serializers.SerializerMethodField(
        help_text="The file access that applies: the snapshot's override (`file_access`) or else the model's."
    )
    signing_key_id = serializers.CharField(
        source="signing_key.key_id", read_only=True, default=None, allow_null=True,
        help_text="key_id (GET /api/v1/signing-keys/) of the key that signed model.sig; null when unsigned.",
    )
    tombstone = serializers.SerializerMethodField(
        help_text="null, or when and why the snapshot (or its model) was withdrawn and whether its bytes were deleted."
    )

    class Meta:
        model = Snapshot
        fields = [
            "id", "model", "revision", "state", "source", "file_access", "effective_file_access", "file_count",
            "total_size", "created_at", "sealed_at", "manifest_key", "url", "signing_key_id", "tombstone",
        ]

    def get_tombstone(self, obj) -> dict | None:
        gone = tombstone(obj.model, obj)
        return gone and {**gone, "bytes_deleted": obj.bytes_deleted_at is not None}

    def get_effective_file_access(self, obj) -> str:
        return file_access_level(obj.model, obj)

    def to_representation(self, obj):
        data = super().to_representation(obj)
        if not _internals(self):  # a server-side path and a storage key: curators only
            data["source"] = None
            data["manifest_key"] = None
        return data

    def get_url(self, obj) -> str:
        request = self.context.get("request")
        return request.build_absolute_uri(obj.get_absolute_url()) if request else obj.get_absolute_url()


class SnapshotDetailSerializer(SnapshotSerializer):
    files = serializers.SerializerMethodField()
    inspection = serializers.JSONField(read_only=True)

    class Meta(SnapshotSerializer.Meta):
        fields = SnapshotSerializer.Meta.fields + ["inspection", "files"]

    def get_files(self, obj) -> list[dict]:
        return SnapshotFileSerializer(selectors.snapshot_files(obj), many=True, context=self.context).data


class WithdrawnSnapshotSerializer(WithdrawnSerializer):
    """410 Gone of a withdrawn snapshot's detail (or of a snapshot of a withdrawn model): the tombstone, the kept
    record and where its citation stays."""

    snapshot = SnapshotDetailSerializer(help_text="The snapshot's record, as its detail shows it.")
    citation = serializers.DictField(child=serializers.URLField(), help_text="Citation format → its URL (it stays).")

    class Meta:
        ref_name = "WithdrawnSnapshot"


class IngestRequestSerializer(InputSerializer):
    source = serializers.CharField(
        max_length=2000, help_text="Directory under a staging root, or s3://bucket/prefix on the source endpoint."
    )
    file_access = serializers.ChoiceField(
        choices=FileAccess.choices, required=False,
        help_text="Override the model's file access for this snapshot.",
    )


class IngestJobSerializer(serializers.ModelSerializer):
    model = serializers.CharField(source="snapshot.model.repo_id", read_only=True)
    snapshot = serializers.SerializerMethodField()
    revision = serializers.CharField(source="snapshot.revision", read_only=True, allow_null=True)
    progress = serializers.SerializerMethodField()
    requested_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    url = serializers.SerializerMethodField()

    class Meta:
        model = IngestJob
        fields = [
            "id", "model", "snapshot", "revision", "state", "progress", "requested_by",
            "created_at", "started_at", "finished_at", "error", "url", "last_heartbeat_at", "stuck",
        ]

    last_heartbeat_at = serializers.SerializerMethodField()
    stuck = serializers.SerializerMethodField()

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_last_heartbeat_at(self, obj):
        return jobs.ingest_job_heartbeat(obj)

    def get_stuck(self, obj) -> bool:
        """Queued or running with no worker heartbeat for CODA_WORK_STALE_SECONDS: retry or cancel it."""
        return jobs.ingest_job_stuck(obj)

    def get_snapshot(self, obj) -> str:
        request = self.context.get("request")
        url = obj.snapshot.get_absolute_url()
        return request.build_absolute_uri(url) if request else url

    def get_progress(self, obj) -> dict:
        return selectors.job_progress(obj)

    def to_representation(self, obj):
        data = super().to_representation(obj)
        if not _internals(self):  # raw storage errors and who ran the job: curators only
            data["requested_by"] = None
            if data.get("error"):
                data["error"] = "The ingest failed; curators can see why."
        return data

    def get_url(self, obj) -> str:
        request = self.context.get("request")
        return request.build_absolute_uri(obj.get_absolute_url()) if request else obj.get_absolute_url()


class PreservationEventSerializer(serializers.ModelSerializer):
    type = serializers.CharField(source="event_type")
    model = serializers.SerializerMethodField()
    revision = serializers.CharField(source="snapshot.revision", default=None, allow_null=True)
    sha256 = serializers.CharField(source="blob.sha256", default=None, allow_null=True)
    location = serializers.CharField(source="location.name", default=None, allow_null=True)

    class Meta:
        model = PreservationEvent
        fields = ["id", "type", "outcome", "created_at", "model", "revision", "sha256", "location", "agent", "detail"]

    def get_model(self, obj) -> str | None:
        return obj.model.repo_id if obj.model_id else None

    def to_representation(self, obj):
        data = super().to_representation(obj)
        if not _internals(self) and isinstance(data.get("detail"), dict):
            data["detail"] = {k: v for k, v in data["detail"].items() if k not in INTERNAL_DETAIL_KEYS}
        return data


class SnapshotAccessSerializer(InputSerializer):
    file_access = serializers.ChoiceField(
        choices=["public", "gated", "restricted", ""], allow_null=True, allow_blank=True,
        help_text="Overrides the model's file access for this snapshot; \"\" or null inherits.",
    )



class SigningKeySerializer(serializers.ModelSerializer):
    class Meta:
        model = SigningKey
        fields = ["key_id", "algorithm", "public_key_pem", "created_at", "retired_at"]
