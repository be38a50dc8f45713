"""Admin for curators: register a retirement on the model's own screen."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.utils import timezone

from catalogue import access, approvals, embargoes, selectors
from catalogue.access import MODEL_ACCESS_FIELDS
from catalogue.models import (
    AccessChange, AIModel, LifecycleStatus, PlatformAvailability, Proposal, Provider, Retirement, Tag,
)
from core.exceptions import DomainError


class StatusListFilter(admin.SimpleListFilter):
    title = "lifecycle status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return LifecycleStatus.choices

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(lifecycle_status=self.value())
        return queryset


class RetirementInline(admin.StackedInline):
    model = Retirement
    extra = 0
    max_num = 1
    readonly_fields = ["registered_by", "registered_at"]


class PlatformInline(admin.TabularInline):
    model = PlatformAvailability
    extra = 0
    fields = ["platform", "identifier", "is_maker_platform", "deprecated_on", "retires_on", "status_on_source"]


@admin.register(Provider)
class ProviderAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "website"]
    search_fields = ["slug", "name"]


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ["slug", "name"]
    search_fields = ["slug", "name"]


@admin.register(AIModel)
class AIModelAdmin(admin.ModelAdmin):
    list_display = ["__str__", "display_name", "family", "status_display", "deprecated_on", "retires_on", "replacement"]
    list_filter = [StatusListFilter, "preservation_status", "provider", "modality"]
    list_select_related = ["provider", "replacement__provider"]
    search_fields = ["name", "display_name", "family", "provider__slug"]
    autocomplete_fields = ["replacement", "tags"]
    inlines = [RetirementInline, PlatformInline]
    date_hierarchy = "retires_on"
    readonly_fields = ["preservation_status"]  # kept current by the archive, never typed in

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(lifecycle_status=selectors.status_expression(timezone.localdate()))

    @admin.display(description="status", ordering="lifecycle_status")
    def status_display(self, obj):
        return obj.status

    def save_model(self, request, obj, form, change):
        # Access levels change through catalogue.access (an event each; lowering one may need a second curator).
        changed = {key: form.cleaned_data[key] for key in MODEL_ACCESS_FIELDS if change and key in form.changed_data}
        proposal = None
        if changed:
            current = AIModel.objects.get(pk=obj.pk)
            for key in changed:
                setattr(obj, key, getattr(current, key))
            proposal = approvals.propose_if_required(kind="model_access", proposed_by=request.user, model=current,
                                                     params=changed)
        super().save_model(request, obj, form, change)
        if proposal is not None:
            self.message_user(request, approvals.proposal_body(proposal)["detail"], messages.WARNING)
        elif changed:
            access.model_access_set(model=obj, changed_by=request.user, **changed)
            obj.refresh_from_db()

    def save_formset(self, request, form, formset, change):
        # The curator who registers a retirement is recorded on it.
        instances = formset.save(commit=False)
        for instance in instances:
            if isinstance(instance, Retirement) and instance.registered_by_id is None:
                instance.registered_by = request.user
            instance.save()
        for obj in formset.deleted_objects:
            obj.delete()
        formset.save_m2m()


@admin.register(Retirement)
class RetirementAdmin(admin.ModelAdmin):
    list_display = ["model", "reason_category", "access_after_retirement", "registered_by", "registered_at"]
    list_filter = ["reason_category", "access_after_retirement", "model__provider"]
    search_fields = ["model__name", "model__provider__slug", "reason"]
    list_select_related = ["model__provider", "registered_by"]
    autocomplete_fields = ["model"]
    readonly_fields = ["registered_by", "registered_at"]

    def save_model(self, request, obj, form, change):
        if obj.registered_by_id is None:
            obj.registered_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(PlatformAvailability)
class PlatformAvailabilityAdmin(admin.ModelAdmin):
    list_display = ["identifier", "platform", "model", "is_maker_platform", "deprecated_on", "retires_on"]
    list_filter = ["platform", "is_maker_platform"]
    search_fields = ["identifier", "model__name"]
    list_select_related = ["model__provider"]
    autocomplete_fields = ["model"]


class AccessChangeForm(forms.ModelForm):
    class Meta:
        model = AccessChange
        fields = ["model", "field", "level", "effective_on", "reason"]

    def clean(self):
        data = super().clean()
        if not self.errors:
            embargoes.access_change_check(field=data["field"], level=data["level"], effective_on=data["effective_on"])
        return data


@admin.register(AccessChange)
class AccessChangeAdmin(admin.ModelAdmin):
    """Embargoes: curators schedule a change (through catalogue.embargoes, an event) and cancel one not yet applied;
    the beat applies them on their date. Nothing is edited in place."""

    form = AccessChangeForm
    list_display = ["model", "field", "level", "effective_on", "reason", "applied_at", "created_by"]
    list_filter = ["field", "level", ("applied_at", admin.EmptyFieldListFilter)]
    search_fields = ["model__repo_key", "reason"]
    list_select_related = ["model__provider", "created_by"]
    autocomplete_fields = ["model"]
    actions = ["cancel_changes"]

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False  # cancelling is the action below (an event), never a bare delete

    def save_model(self, request, obj, form, change):
        if change:
            return
        data = form.cleaned_data
        proposal = approvals.propose_if_required(
            kind="access_change_schedule", proposed_by=request.user, model=data["model"],
            params=embargoes.schedule_params(field=data["field"], level=data["level"],
                                             effective_on=data["effective_on"], reason=data.get("reason", "")))
        if proposal is not None:  # opening a restricted model later waits for a second curator
            obj._proposal = proposal
            return
        scheduled = embargoes.access_change_schedule(created_by=request.user, **form.cleaned_data)
        obj.pk = scheduled.pk

    def log_addition(self, request, obj, message):
        if getattr(obj, "_proposal", None) is None:
            return super().log_addition(request, obj, message)

    def response_add(self, request, obj, post_url_continue=None):
        proposal = getattr(obj, "_proposal", None)
        if proposal is None:
            return super().response_add(request, obj, post_url_continue)
        self.message_user(request, approvals.proposal_body(proposal)["detail"], messages.WARNING)
        return redirect("admin:catalogue_accesschange_changelist")

    @admin.action(description="Cancel the selected scheduled changes")
    def cancel_changes(self, request, queryset):
        for change in queryset:
            try:
                embargoes.access_change_cancel(change=change, cancelled_by=request.user)
            except ValidationError as exc:
                self.message_user(request, f"{change}: {' '.join(exc.messages)}", messages.ERROR)
            else:
                self.message_user(request, f"Cancelled: {change}")


from catalogue import access_admin  # noqa: E402,F401  (registers AccessRequestAdmin)


def _decide_each(modeladmin, request, queryset, decide) -> None:
    for proposal in queryset:
        try:
            decided = decide(proposal_id=proposal.pk, user=request.user)
        except DomainError as exc:
            modeladmin.message_user(request, f"Proposal {proposal.pk}: {exc.message}", messages.ERROR)
        except ValidationError as exc:
            modeladmin.message_user(request, f"Proposal {proposal.pk}: {' '.join(exc.messages)}", messages.ERROR)
        else:
            modeladmin.message_user(request, f"Proposal {decided.pk} {decided.status}: {decided.summary}")


@admin.action(description="Approve the selected proposals (a different curator than the proposer)")
def proposals_approve(modeladmin, request, queryset):
    _decide_each(modeladmin, request, queryset,
                 lambda proposal_id, user: approvals.proposal_approve(proposal_id=proposal_id, approved_by=user))


@admin.action(description="Refuse the selected proposals")
def proposals_refuse(modeladmin, request, queryset):
    _decide_each(modeladmin, request, queryset,
                 lambda proposal_id, user: approvals.proposal_refuse(proposal_id=proposal_id, refused_by=user))


@admin.register(Proposal)
class ProposalAdmin(admin.ModelAdmin):
    """The two-person rule's proposals: read-only; decided by the actions, through catalogue.approvals."""

    list_display = ["id", "kind", "summary", "status", "proposed_by", "decided_by", "created_at", "expires_at"]
    list_filter = ["status", "kind"]
    list_select_related = ["proposed_by", "decided_by", "model__provider"]
    search_fields = ["summary", "model__name", "proposed_by__username"]
    actions = [proposals_approve, proposals_refuse]

    def get_queryset(self, request):
        approvals.proposals_expire()  # expired ones are shown (and recorded) as expired
        return super().get_queryset(request)

    def has_add_permission(self, request):
        return False  # proposals come from the doors that would make the change

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # history
