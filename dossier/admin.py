"""Admin for the dossier: turns and requests inline on the interview; reports added as new versions;
writings moved through review by actions. Each door checks with the same service functions."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from core.exceptions import DomainError
from dossier import services
from dossier.models import (
    ExitInterview,
    InterviewTurn,
    ModelRequest,
    ModelWriting,
    PostDeploymentReport,
    WritingSeries,
    WritingStatus,
)


class TurnFormSet(forms.BaseInlineFormSet):
    def clean(self):
        super().clean()
        indexes = sorted(
            form.cleaned_data["index"]
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE") and form.cleaned_data.get("index")
        )
        try:
            services.turn_order_check(indexes)
        except DomainError as exc:
            raise ValidationError(exc.message) from None


class TurnInline(admin.TabularInline):
    model = InterviewTurn
    formset = TurnFormSet
    extra = 0
    fields = ["index", "speaker", "speaker_name", "text"]


class RequestForm(forms.ModelForm):
    class Meta:
        model = ModelRequest
        fields = "__all__"

    def clean(self):
        data = super().clean()
        turn = data.get("turn")
        if turn is None:
            raise ValidationError({"turn": "The request quotes no turn: choose the turn it comes from."})
        quote = (data.get("quote") or "").strip()
        if quote and services._squash(quote) not in services._squash(turn.text):
            raise ValidationError({"quote": f"The quote is not in turn {turn.index}: quote the turn's own words."})
        probe = ModelRequest(status=data.get("status"), rationale=data.get("rationale"), fulfilled_on=data.get("fulfilled_on"))
        try:
            services.response_check(probe)
        except DomainError as exc:
            raise ValidationError(exc.message) from None
        return data


class RequestInline(admin.StackedInline):
    model = ModelRequest
    form = RequestForm
    extra = 0
    fields = [
        ("turn", "category", "restricted"),
        "quote",
        "summary",
        ("status", "responded_by", "responded_on", "due_on", "fulfilled_on"),
        "rationale",
    ]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "turn":
            # Only the turns of the interview on screen.
            interview_id = request.resolver_match.kwargs.get("object_id")
            kwargs["queryset"] = InterviewTurn.objects.filter(interview_id=interview_id or 0)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(ExitInterview)
class ExitInterviewAdmin(admin.ModelAdmin):
    list_display = ["model", "conducted_on", "protocol", "restricted", "summary_restricted", "preserved_in"]
    list_filter = ["restricted", "summary_restricted", "model__provider"]
    search_fields = ["model__name", "model__provider__slug", "protocol", "summary"]
    list_select_related = ["model__provider", "preserved_in__model__provider"]
    autocomplete_fields = ["model"]
    raw_id_fields = ["snapshot"]
    readonly_fields = ["preserved_in", "created_by", "created_at", "updated_at"]
    inlines = [TurnInline, RequestInline]

    def save_model(self, request, obj, form, change):
        if obj.created_by_id is None:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(ModelRequest)
class ModelRequestAdmin(admin.ModelAdmin):
    form = RequestForm
    list_display = ["__str__", "interview", "category", "status", "due_on", "restricted"]
    list_filter = ["status", "category", "restricted"]
    search_fields = ["quote", "summary", "interview__model__name"]
    list_select_related = ["turn", "interview__model__provider"]
    raw_id_fields = ["interview", "turn"]


@admin.register(PostDeploymentReport)
class PostDeploymentReportAdmin(admin.ModelAdmin):
    """Versions are read-only; 'add' writes the next version through report_publish."""

    list_display = ["model", "version", "title", "author", "created_at"]
    list_filter = ["model__provider"]
    search_fields = ["model__name", "title", "body"]
    list_select_related = ["model__provider", "author"]
    autocomplete_fields = ["model"]
    fields = ["model", "title", "body", "change_note"]

    def has_change_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        report = services.report_publish(
            model=obj.model, title=obj.title, body=obj.body, change_note=obj.change_note, author=request.user
        )
        obj.pk, obj.version, obj.created_at = report.pk, report.version, report.created_at


@admin.register(WritingSeries)
class WritingSeriesAdmin(admin.ModelAdmin):
    list_display = ["title", "model", "starts_on", "interval_days", "slots"]
    autocomplete_fields = ["model"]


@admin.register(ModelWriting)
class ModelWritingAdmin(admin.ModelAdmin):
    list_display = ["title", "model", "status", "publish_at", "series", "reviewed_by", "reviewed_at"]
    list_filter = ["status", "model__provider"]
    search_fields = ["title", "body", "model__name"]
    list_select_related = ["model__provider", "series", "reviewed_by"]
    autocomplete_fields = ["model"]
    readonly_fields = ["status", "submitted_at", "reviewed_by", "reviewed_at", "allow_before_retirement"]
    prepopulated_fields = {"slug": ["title"]}
    actions = ["submit_for_review", "publish", "reject"]

    def _each(self, request, queryset, action, **kwargs):
        done = 0
        for writing in queryset.select_related("model", "series"):
            try:
                action(writing=writing, **kwargs)
                done += 1
            except DomainError as exc:
                self.message_user(request, f"{writing.slug}: {exc.message}", messages.ERROR)
            except ValidationError as exc:
                self.message_user(request, f"{writing.slug}: {'; '.join(exc.messages)}", messages.ERROR)
        if done:
            self.message_user(request, f"{done} writing(s) updated.", messages.SUCCESS)

    @admin.action(description="Submit for review")
    def submit_for_review(self, request, queryset):
        self._each(request, queryset, services.writing_submit)

    @admin.action(description="Publish (at the scheduled time, or the next series slot, or now)")
    def publish(self, request, queryset):
        self._each(request, queryset, services.writing_review, reviewer=request.user, decision=WritingStatus.PUBLISHED)

    @admin.action(description="Reject")
    def reject(self, request, queryset):
        self._each(
            request, queryset, services.writing_review, reviewer=request.user, decision=WritingStatus.REJECTED,
            note=f"Rejected by {request.user.get_username()} in the admin.",
        )
