"""Admin for access requests: curators approve (with an expiry), deny or revoke through the same service
as the API, so every decision is an event. The request itself is read-only here."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import AdminSplitDateTime
from django.core.exceptions import ValidationError

from catalogue import access, approvals
from core.exceptions import DomainError
from catalogue.models import AccessRequest


class AccessDecisionForm(forms.ModelForm):
    decision = forms.ChoiceField(
        choices=[("", "— no change —"), ("approve", "Approve"), ("deny", "Deny"), ("revoke", "Revoke")],
        required=False,
    )
    grant_expires_at = forms.SplitDateTimeField(
        required=False, widget=AdminSplitDateTime, label="Grant expires at",
        help_text="For an approval: when the grant ends (UTC). Empty = CODA_ACCESS_GRANT_DAYS (default 365) days from now.",
    )
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}), label="Decision note")

    class Meta:
        model = AccessRequest
        fields = []

    def clean(self):
        data = super().clean()
        if data.get("decision"):
            problem = access.decision_problem(
                access_request=self.instance, decision=data["decision"], expires_at=data.get("grant_expires_at")
            )
            if problem:
                raise ValidationError(problem)
        return data


@admin.register(AccessRequest)
class AccessRequestAdmin(admin.ModelAdmin):
    form = AccessDecisionForm
    list_display = ["id", "model", "user", "affiliation", "status", "expires_at", "created_at", "decided_by"]
    list_filter = ["status", "model__provider"]
    list_select_related = ["model__provider", "user", "decided_by"]
    search_fields = ["user__username", "user__email", "model__name", "affiliation", "purpose"]
    readonly_fields = [
        "user", "model", "purpose", "affiliation", "accepted_terms", "status", "expires_at",
        "decided_by", "decided_at", "decision_note", "created_at",
    ]
    fieldsets = [
        ("Request", {"fields": ["user", "model", "purpose", "affiliation", "accepted_terms", "created_at"]}),
        ("Current decision", {"fields": ["status", "expires_at", "decided_by", "decided_at", "decision_note"]}),
        ("Decide", {"fields": ["decision", "grant_expires_at", "note"]}),
    ]

    def has_add_permission(self, request):
        return False  # researchers create requests on the model page or through the API

    def has_delete_permission(self, request, obj=None):
        return False  # decisions are history

    def save_model(self, request, obj, form, change):
        decision = form.cleaned_data.get("decision")
        if not decision:
            return
        try:
            proposal = None
            if decision == "approve":
                proposal = approvals.propose_if_required(
                    kind="access_request_approve", proposed_by=request.user, model=obj.model,
                    params=access.approve_params(access_request=obj, expires_at=form.cleaned_data.get("grant_expires_at"),
                                                 note=form.cleaned_data.get("note", "")))
            if proposal is not None:
                messages.warning(request, approvals.proposal_body(proposal)["detail"])
                return
            access.access_request_decide(
                access_request=obj,
                decided_by=request.user,
                decision=decision,
                expires_at=form.cleaned_data.get("grant_expires_at") if decision == "approve" else None,
                note=form.cleaned_data.get("note", ""),
            )
        except (DomainError, ValidationError) as exc:
            messages.error(request, getattr(exc, "message", None) or "; ".join(exc.messages))
        else:
            obj.refresh_from_db()
