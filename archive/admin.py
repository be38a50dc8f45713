"""Archive admin: locations visible, everything about stored bytes read-only (events are append-only)."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.core.exceptions import ValidationError

from archive.models import (
    Blob, IngestJob, Lease, PreservationEvent, Replica, Snapshot, SnapshotFile, SnapshotTag, StorageLocation,
)
from archive.assurance.retention import snapshot_legal_hold_set
from archive.refs import snapshot_tag_check, snapshot_tag_create
from archive.snapshots import snapshot_access_params, snapshot_access_set
from archive.withdrawals import BYTES_CHOICES, model_withdraw, snapshot_withdraw, withdraw_params
from catalogue import approvals
from catalogue.admin import AIModelAdmin
from core.exceptions import DomainError


class WithdrawActionForm(ActionForm):
    """The withdrawal action's two inputs, beside the action menu: the reason and the explicit choice of bytes."""

    reason = forms.CharField(required=False, help_text="Withdrawal reason (legal request, licence, error …)")
    bytes = forms.ChoiceField(choices=[(c, f"{c} the bytes") for c in BYTES_CHOICES], required=False, initial="keep")


def _withdraw_each(modeladmin, request, queryset, withdraw, kind) -> None:
    reason = request.POST.get("reason", "")
    keep_bytes = request.POST.get("bytes") or "keep"
    for obj in queryset:
        try:
            model, snapshot = (obj, None) if kind == "model_withdraw" else (obj.model, obj)
            proposal = None
            if reason.strip() and keep_bytes in BYTES_CHOICES:  # else the service says what is wrong
                proposal = approvals.propose_if_required(
                    kind=kind, proposed_by=request.user, model=model,
                    params=withdraw_params(reason=reason, keep_bytes=keep_bytes, snapshot=snapshot))
            if proposal is not None:
                modeladmin.message_user(request, f"{obj}: {approvals.proposal_body(proposal)['detail']}",
                                        messages.WARNING)
                continue
            withdraw(obj, reason=reason, keep_bytes=keep_bytes, withdrawn_by=request.user)
        except (ValidationError, DomainError) as exc:
            text = " ".join(exc.messages) if isinstance(exc, ValidationError) else exc.message
            modeladmin.message_user(request, f"{obj}: {text}", messages.ERROR)
        else:
            modeladmin.message_user(request, f"Withdrawn: {obj} (bytes: {keep_bytes})")


@admin.action(description="Withdraw the selected models (tombstone; give a reason and keep or delete the bytes)")
def models_withdraw(modeladmin, request, queryset):
    _withdraw_each(modeladmin, request, queryset,
                   lambda model, **kw: model_withdraw(model=model, **kw), "model_withdraw")


@admin.action(description="Withdraw the selected snapshots (tombstone; give a reason and keep or delete the bytes)")
def snapshots_withdraw(modeladmin, request, queryset):
    _withdraw_each(modeladmin, request, queryset,
                   lambda snapshot, **kw: snapshot_withdraw(snapshot=snapshot, **kw), "snapshot_withdraw")


def _hold_each(modeladmin, request, queryset, on: bool) -> None:
    for snapshot in queryset:
        try:
            snapshot_legal_hold_set(snapshot=snapshot, on=on, reason=request.POST.get("reason", ""), by=request.user)
        except (ValidationError, DomainError) as exc:
            text = " ".join(exc.messages) if isinstance(exc, ValidationError) else exc.message
            modeladmin.message_user(request, f"{snapshot}: {text}", messages.ERROR)
        else:
            modeladmin.message_user(request, f"Legal hold {'put on' if on else 'released from'}: {snapshot}")


@admin.action(description="Put a legal hold on the selected snapshots (give the reason; storage keeps every copy)")
def snapshots_legal_hold(modeladmin, request, queryset):
    _hold_each(modeladmin, request, queryset, on=True)


@admin.action(description="Release the legal hold of the selected snapshots")
def snapshots_legal_hold_release(modeladmin, request, queryset):
    _hold_each(modeladmin, request, queryset, on=False)


# A model's withdrawal can delete stored bytes, so it is an archive service; its action joins the catalogue's
# model admin from here (the catalogue may not import the archive).
AIModelAdmin.actions = [*(AIModelAdmin.actions or []), models_withdraw]
AIModelAdmin.action_form = WithdrawActionForm


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
    list_display = ["blob", "location", "state", "last_verified_at", "verification", "version_id", "retain_until",
                    "legal_hold"]
    list_filter = ["state", "location", "legal_hold"]
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

    def has_change_permission(self, request, obj=None):
        return False  # view-only: files are immutable


@admin.register(Snapshot)
class SnapshotAdmin(ReadOnlyAdmin):
    """Read-only but for the file-access override, which goes through archive.snapshots (an event)."""

    list_display = ["__str__", "state", "file_access", "source", "created_at", "sealed_at"]
    list_filter = ["state", "file_access", "model__provider"]
    search_fields = ["revision", "model__name", "source"]
    list_select_related = ["model__provider"]
    inlines = [SnapshotFileInline]
    actions = [snapshots_withdraw, snapshots_legal_hold, snapshots_legal_hold_release]
    action_form = WithdrawActionForm
    fields = ["model", "revision", "state", "source", "created_by", "created_at", "sealed_at", "manifest_key", "file_access",
              "legal_hold", "legal_hold_reason"]
    readonly_fields = [f for f in fields if f != "file_access"]

    def has_change_permission(self, request, obj=None):
        return super(ReadOnlyAdmin, self).has_change_permission(request, obj)

    def save_model(self, request, obj, form, change):
        level = form.cleaned_data["file_access"] or ""
        current = Snapshot.objects.get(pk=obj.pk)  # `obj` already carries the form's value
        proposal = approvals.propose_if_required(kind="snapshot_access", proposed_by=request.user, model=current.model,
                                                 params=snapshot_access_params(current, level))
        if proposal is not None:
            self.message_user(request, approvals.proposal_body(proposal)["detail"], messages.WARNING)
            return
        snapshot_access_set(snapshot=current, file_access=level, changed_by=request.user)


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


@admin.register(Lease)
class LeaseAdmin(ReadOnlyAdmin):
    list_display = ["name", "state", "holder", "attempts", "heartbeat_at", "created_at", "finished_at"]
    list_filter = ["state"]
    search_fields = ["name", "holder"]


@admin.register(PreservationEvent)
class PreservationEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "event_type", "outcome", "model", "location", "agent"]
    list_filter = ["event_type", "outcome", "location"]
    search_fields = ["blob__sha256", "agent", "model__name"]
    list_select_related = ["model__provider", "location"]


class SnapshotTagForm(forms.ModelForm):
    """A bad, duplicate or unsealed tag is a form error (archive.refs decides), never a 500."""

    class Meta:
        model = SnapshotTag
        fields = ("snapshot", "name", "message")

    def clean(self):
        data = super().clean()
        snapshot, name = data.get("snapshot"), data.get("name")
        if snapshot is not None and name is not None:
            try:
                snapshot_tag_check(snapshot=snapshot, name=name)
            except DomainError as exc:
                self.add_error("name" if exc.code in ("invalid_tag", "tag_exists") else "snapshot", exc.message)
        return data


@admin.register(SnapshotTag)
class SnapshotTagAdmin(admin.ModelAdmin):
    """Curators add tags (through archive.refs, the one rule); a tag never changes or moves, so no edit or delete."""

    form = SnapshotTagForm
    list_display = ("name", "model", "snapshot", "created_by", "created_at")
    search_fields = ("name", "model__repo_key")
    fields = ("snapshot", "name", "message")
    raw_id_fields = ("snapshot",)

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        if change:
            return
        tag = snapshot_tag_create(snapshot=obj.snapshot, name=obj.name, created_by=request.user, message=obj.message)
        obj.pk = tag.pk
