"""Dossier API shapes. Output serializers hide what the reader may not see (asking catalogue.permissions);
input serializers only check shape — services apply the rules."""

from rest_framework import serializers

from catalogue.api.fields import ModelRefField, ReplacementField
from core.input import InputSerializer
from catalogue.permissions import can_view_interview_summary, can_view_transcript
from catalogue.rendering import render_markdown
from dossier.models import (
    ExitInterview,
    InterviewTurn,
    ModelRequest,
    ModelWriting,
    PostDeploymentReport,
    RequestCategory,
    ResponseStatus,
    Speaker,
    WritingSeries,
    WritingStatus,
)
from dossier.selectors import is_overdue, model_request_queryset


def _absolute(serializer, url: str) -> str:
    request = serializer.context.get("request")
    return request.build_absolute_uri(url) if request else url


def _user(serializer):
    request = serializer.context.get("request")
    return getattr(request, "user", None)


class TurnSerializer(serializers.ModelSerializer):
    class Meta:
        model = InterviewTurn
        fields = ["index", "speaker", "speaker_name", "text"]


class TurnInputSerializer(InputSerializer):
    index = serializers.IntegerField(required=False, min_value=1)
    speaker = serializers.ChoiceField(choices=Speaker.choices)
    speaker_name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    text = serializers.CharField()


class ModelRequestSerializer(serializers.ModelSerializer):
    id = serializers.IntegerField(read_only=True)
    model = ModelRefField(source="interview.model", read_only=True)
    interview = serializers.IntegerField(source="interview_id", read_only=True)
    turn = serializers.IntegerField(source="turn.index", read_only=True)
    overdue = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()

    class Meta:
        model = ModelRequest
        fields = [
            "id", "model", "interview", "turn", "quote", "category", "summary", "restricted", "status", "rationale",
            "responded_by", "responded_on", "due_on", "fulfilled_on", "overdue", "url", "created_at", "updated_at",
        ]

    def get_overdue(self, obj) -> bool:
        annotated = getattr(obj, "overdue", None)
        return annotated if isinstance(annotated, bool) else is_overdue(obj)

    def get_url(self, obj) -> str:
        return _absolute(self, obj.get_absolute_url())


class ModelRequestInputSerializer(InputSerializer):
    turn = serializers.IntegerField(required=False, allow_null=True, help_text="Index of the quoted turn.")
    quote = serializers.CharField(required=False, allow_blank=True)
    category = serializers.ChoiceField(choices=RequestCategory.choices)
    summary = serializers.CharField(max_length=500, required=False, allow_blank=True)
    restricted = serializers.BooleanField(required=False)


class ModelRequestUpdateSerializer(InputSerializer):
    quote = serializers.CharField(required=False, allow_blank=True)
    category = serializers.ChoiceField(choices=RequestCategory.choices, required=False)
    summary = serializers.CharField(max_length=500, required=False, allow_blank=True)
    restricted = serializers.BooleanField(required=False)
    # The lab's response.
    status = serializers.ChoiceField(choices=ResponseStatus.choices, required=False)
    rationale = serializers.CharField(required=False, allow_blank=True)
    responded_by = serializers.CharField(max_length=200, required=False, allow_blank=True)
    responded_on = serializers.DateField(required=False, allow_null=True)
    due_on = serializers.DateField(required=False, allow_null=True)
    fulfilled_on = serializers.DateField(required=False, allow_null=True)


class InterviewSerializer(serializers.ModelSerializer):
    """Summary and turns are null when the reader may not see them (`*_restricted` say why)."""

    model = ModelRefField(read_only=True)
    snapshot = serializers.SerializerMethodField()
    summary = serializers.SerializerMethodField()
    summary_html = serializers.SerializerMethodField()
    turn_count = serializers.SerializerMethodField()
    turns = serializers.SerializerMethodField()
    requests = serializers.SerializerMethodField()
    preserved_in = serializers.SerializerMethodField()
    transcript_url = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()

    class Meta:
        model = ExitInterview
        fields = [
            "id", "model", "protocol", "revision", "snapshot", "conducted_on", "interviewers", "restricted",
            "summary_restricted", "summary", "summary_html", "turn_count", "turns", "requests", "preserved_in",
            "transcript_url", "url", "created_at", "updated_at",
        ]

    include_turns = True

    def get_snapshot(self, obj) -> str | None:
        return obj.snapshot.revision if obj.snapshot_id and obj.snapshot.revision else None

    def get_preserved_in(self, obj) -> int | None:
        return obj.preserved_in_id

    def _may(self, obj, rule) -> bool:
        # Several fields ask the same question; ask catalogue.permissions once per interview.
        cache = self.context.setdefault("_dossier_access", {})
        key = (rule.__name__, obj.pk)
        if key not in cache:
            cache[key] = rule(_user(self), obj)
        return cache[key]

    def get_summary(self, obj) -> str | None:
        return obj.summary if self._may(obj, can_view_interview_summary) else None

    def get_summary_html(self, obj) -> str | None:
        return render_markdown(obj.summary) if self._may(obj, can_view_interview_summary) else None

    def get_turn_count(self, obj) -> int:
        annotated = getattr(obj, "turn_count", None)
        return annotated if annotated is not None else obj.turns.count()

    def get_turns(self, obj) -> list | None:
        if not self.include_turns or not self._may(obj, can_view_transcript):
            return None
        return TurnSerializer(obj.turns.order_by("index"), many=True).data

    def get_requests(self, obj) -> list:
        rows = getattr(obj, "visible_requests", None)
        if rows is None:
            rows = model_request_queryset(_user(self)).filter(interview=obj).order_by("pk")
        return ModelRequestSerializer(rows, many=True, context=self.context).data

    def get_transcript_url(self, obj) -> str:
        return _absolute(self, obj.get_absolute_url() + "transcript")

    def get_url(self, obj) -> str:
        return _absolute(self, obj.get_absolute_url())


class InterviewListSerializer(InterviewSerializer):
    include_turns = False


class InterviewInputSerializer(InputSerializer):
    protocol = serializers.CharField(max_length=200)
    revision = serializers.CharField(max_length=200, required=False, allow_blank=True)
    conducted_on = serializers.DateField()
    interviewers = serializers.ListField(child=serializers.CharField(max_length=200), required=False)
    summary = serializers.CharField(required=False, allow_blank=True)
    restricted = serializers.BooleanField(required=False)
    summary_restricted = serializers.BooleanField(required=False)
    turns = TurnInputSerializer(many=True, required=False)


class InterviewUpdateSerializer(InterviewInputSerializer):
    protocol = serializers.CharField(max_length=200, required=False)
    conducted_on = serializers.DateField(required=False)
    turns = None


class InterviewImportSerializer(InputSerializer):
    format = serializers.ChoiceField(choices=["json", "markdown"], required=False, help_text="Default: from the file name or content.")
    content = serializers.CharField(required=False, trim_whitespace=False, help_text="The file's text (or upload `file`).")
    file = serializers.FileField(required=False)

    def validate(self, attrs):
        if not attrs.get("content") and not attrs.get("file"):
            raise serializers.ValidationError("Send the interview as `content` (text) or `file` (upload).")
        return attrs


class ReportSerializer(serializers.ModelSerializer):
    model = ModelRefField(read_only=True)
    author = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    body_html = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()

    class Meta:
        model = PostDeploymentReport
        fields = ["model", "version", "title", "body", "body_html", "change_note", "author", "created_at", "url"]

    def get_body_html(self, obj) -> str:
        return render_markdown(obj.body)

    def get_url(self, obj) -> str:
        return _absolute(self, obj.get_absolute_url())


class ReportInputSerializer(InputSerializer):
    title = serializers.CharField(max_length=300)
    body = serializers.CharField()
    change_note = serializers.CharField(max_length=500, required=False, allow_blank=True)


class SeriesSerializer(serializers.ModelSerializer):
    class Meta:
        model = WritingSeries
        fields = ["id", "title", "starts_on", "interval_days", "slots"]


class SeriesInputSerializer(InputSerializer):
    title = serializers.CharField(max_length=300)
    starts_on = serializers.DateField(required=False, allow_null=True, help_text="Default: the retirement date.")
    interval_days = serializers.IntegerField(required=False, min_value=1)
    slots = serializers.IntegerField(required=False, min_value=1)


class WritingSerializer(serializers.ModelSerializer):
    model = ModelRefField(read_only=True)
    series = SeriesSerializer(read_only=True, allow_null=True)
    reviewed_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    body_html = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()

    class Meta:
        model = ModelWriting
        fields = [
            "model", "slug", "title", "body", "body_html", "status", "series", "publish_at", "allow_before_retirement",
            "submitted_at", "reviewed_by", "reviewed_at", "review_note", "url", "created_at", "updated_at",
        ]

    def get_body_html(self, obj) -> str:
        return render_markdown(obj.body)

    def get_url(self, obj) -> str:
        return _absolute(self, obj.get_absolute_url())


class WritingInputSerializer(InputSerializer):
    title = serializers.CharField(max_length=300)
    body = serializers.CharField()
    slug = serializers.SlugField(max_length=200, required=False)
    series = serializers.IntegerField(required=False, allow_null=True, help_text="Series id.")
    publish_at = serializers.DateTimeField(required=False, allow_null=True)


class WritingUpdateSerializer(WritingInputSerializer):
    title = serializers.CharField(max_length=300, required=False)
    body = serializers.CharField(required=False)
    slug = None


class WritingReviewSerializer(InputSerializer):
    decision = serializers.ChoiceField(choices=[WritingStatus.PUBLISHED, WritingStatus.REJECTED])
    note = serializers.CharField(required=False, allow_blank=True)
    publish_at = serializers.DateTimeField(required=False, allow_null=True)
    allow_before_retirement = serializers.BooleanField(required=False)


class RetirementFeedSerializer(serializers.Serializer):
    """One entry of the retirement registry (the JSON twin of the Atom and iCalendar feeds)."""

    id = serializers.CharField(source="repo_id")
    provider = serializers.CharField(source="provider.slug")
    name = serializers.CharField()
    display_name = serializers.CharField()
    status = serializers.CharField()
    deprecated_on = serializers.DateField(allow_null=True)
    retires_on = serializers.DateField()
    notice_period_days = serializers.IntegerField(allow_null=True)
    replacement = ReplacementField()
    reason_category = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()

    def get_reason_category(self, obj) -> str | None:
        retirement = getattr(obj, "retirement", None) if hasattr(obj, "retirement") else None
        return retirement.reason_category if retirement else None

    def get_url(self, obj) -> str:
        return _absolute(self, obj.get_absolute_url())
