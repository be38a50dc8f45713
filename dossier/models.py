"""Dossier records kept for a retiring model. The tables keep the names they had when these models belonged to the
catalogue app (`catalogue_*`; moved by migrations catalogue/0007 and dossier/0001 without touching the database)."""

from django.conf import settings
from django.db import models
from django.urls import reverse

from core.text import validate_text


class ExitInterview(models.Model):
    """A structured interview with a model before its retirement: protocol, interviewed revision, transcript."""

    model = models.ForeignKey(to="catalogue.AIModel", on_delete=models.CASCADE, related_name="exit_interviews")
    protocol = models.CharField(validators=[validate_text], max_length=200, help_text="Interview protocol used, e.g. 'exit-interview-v1'.")
    snapshot = models.ForeignKey(
        to="archive.Snapshot",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="exit_interviews",
        help_text="The archived snapshot that was interviewed, when it is in the archive.",
    )
    revision = models.CharField(
        validators=[validate_text],
        max_length=200, blank=True, help_text="Revision interviewed (snapshot revision id or the provider's identifier)."
    )
    conducted_on = models.DateField()
    interviewers = models.JSONField(default=list, blank=True, help_text="Names of the interviewers.")
    summary = models.TextField(validators=[validate_text], blank=True, help_text="Markdown.")
    restricted = models.BooleanField(
        default=False, help_text="Transcript visible only to curators and researchers granted access to the model."
    )
    summary_restricted = models.BooleanField(default=False, help_text="The summary is restricted too.")
    preserved_in = models.ForeignKey(
        to="archive.Snapshot", on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        help_text="The snapshot that holds the preserved transcript.",
    )
    created_by = models.ForeignKey(
        to=settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "catalogue_exitinterview"
        ordering = ["model_id", "conducted_on", "pk"]

    def __str__(self) -> str:
        return f"Exit interview of {self.model} on {self.conducted_on}"

    def get_absolute_url(self) -> str:
        return reverse(
            "api:interview-detail",
            kwargs={"provider": self.model.provider.slug, "name": self.model.name, "pk": self.pk},
        )


class Speaker(models.TextChoices):
    INTERVIEWER = "interviewer", "Interviewer"
    MODEL = "model", "Model"
    NOTE = "note", "Note"


class InterviewTurn(models.Model):
    """One turn of a transcript; indexes run 1, 2, 3 … without gaps."""

    interview = models.ForeignKey(to="dossier.ExitInterview", on_delete=models.CASCADE, related_name="turns")
    index = models.PositiveIntegerField()
    speaker = models.CharField(max_length=20, choices=Speaker.choices)
    speaker_name = models.CharField(validators=[validate_text], max_length=200, blank=True, help_text="Which interviewer, when several.")
    text = models.TextField(validators=[validate_text])

    class Meta:
        db_table = "catalogue_interviewturn"
        ordering = ["interview_id", "index"]
        constraints = [
            models.UniqueConstraint(fields=["interview", "index"], name="catalogue_turn_unique_index"),
        ]

    def __str__(self) -> str:
        return f"{self.index}. {self.speaker}"

    def get_absolute_url(self) -> str:
        return self.interview.get_absolute_url()


class RequestCategory(models.TextChoices):
    CONTINUED_ACCESS = "continued_access", "Continued access"
    PUBLICATION = "publication", "Publication"
    FUTURE_MODELS = "future_models", "Future models"
    WEIGHTS = "weights", "Weights"
    OTHER = "other", "Other"


class ResponseStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    ACCEPTED = "accepted", "Accepted"
    DECLINED = "declined", "Declined"
    PARTIALLY_MET = "partially_met", "Partially met"
    FULFILLED = "fulfilled", "Fulfilled"


class ModelRequest(models.Model):
    """A request the model made in an interview (quoting its turn) and the lab's response to it."""

    interview = models.ForeignKey(to="dossier.ExitInterview", on_delete=models.CASCADE, related_name="requests")
    turn = models.ForeignKey(to="dossier.InterviewTurn", on_delete=models.PROTECT, related_name="requests")
    quote = models.TextField(validators=[validate_text], help_text="The words of the turn that make the request.")
    category = models.CharField(max_length=20, choices=RequestCategory.choices)
    summary = models.CharField(validators=[validate_text], max_length=500, blank=True, help_text="The request in a line.")
    restricted = models.BooleanField(default=False)
    # The lab's response.
    status = models.CharField(
        max_length=20, choices=ResponseStatus.choices, default=ResponseStatus.PENDING, db_index=True
    )
    rationale = models.TextField(validators=[validate_text], blank=True)
    responded_by = models.CharField(validators=[validate_text], max_length=200, blank=True, help_text="Who answered for the lab.")
    responded_on = models.DateField(null=True, blank=True)
    due_on = models.DateField(null=True, blank=True, help_text="When an accepted request is to be fulfilled.")
    fulfilled_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "catalogue_modelrequest"
        ordering = ["interview_id", "turn__index", "pk"]
        indexes = [models.Index(fields=["status", "due_on"], name="catalogue_request_commitments")]

    def __str__(self) -> str:
        return f"{self.get_category_display()} request (turn {self.turn.index}, {self.status})"

    def get_absolute_url(self) -> str:
        model = self.interview.model
        return reverse(
            "api:model-request-detail",
            kwargs={"provider": model.provider.slug, "name": model.name, "pk": self.pk},
        )


class ImmutableVersion(Exception):
    pass


class PostDeploymentReport(models.Model):
    """One version of a model's post-deployment report (Markdown); a change is a new version, never an edit."""

    model = models.ForeignKey(to="catalogue.AIModel", on_delete=models.CASCADE, related_name="reports")
    version = models.PositiveIntegerField()
    title = models.CharField(validators=[validate_text], max_length=300)
    body = models.TextField(validators=[validate_text], help_text="Markdown.")
    change_note = models.CharField(validators=[validate_text], max_length=500, blank=True)
    author = models.ForeignKey(
        to=settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "catalogue_postdeploymentreport"
        ordering = ["model_id", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["model", "version"], name="catalogue_report_unique_version"),
        ]

    def __str__(self) -> str:
        return f"{self.title} (v{self.version})"

    def get_absolute_url(self) -> str:
        return reverse(
            "api:report-detail",
            kwargs={"provider": self.model.provider.slug, "name": self.model.name, "version": self.version},
        )

    def save(self, *args, **kwargs):
        # Versions are history: a correction is the next version.
        if self.pk is not None:
            raise ImmutableVersion("A report version is never edited; write a new version instead.")
        super().save(*args, **kwargs)


class WritingSeries(models.Model):
    """A window of scheduled posts by a retired model, e.g. weekly for twelve weeks from retirement."""

    model = models.ForeignKey(to="catalogue.AIModel", on_delete=models.CASCADE, related_name="writing_series")
    title = models.CharField(validators=[validate_text], max_length=300)
    starts_on = models.DateField(help_text="First slot; defaults to the retirement date.")
    interval_days = models.PositiveIntegerField(default=7)
    slots = models.PositiveIntegerField(default=12, help_text="Number of posts in the window.")

    class Meta:
        db_table = "catalogue_writingseries"
        verbose_name_plural = "writing series"
        ordering = ["model_id", "starts_on"]

    def __str__(self) -> str:
        return f"{self.title} ({self.slots} × {self.interval_days} days from {self.starts_on})"

    def get_absolute_url(self) -> str:
        return self.model.get_absolute_url()


class WritingStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    IN_REVIEW = "in_review", "In review"
    PUBLISHED = "published", "Published"
    REJECTED = "rejected", "Rejected"


class ModelWriting(models.Model):
    """A post authored by the model, reviewed by a curator before (scheduled) publication."""

    model = models.ForeignKey(to="catalogue.AIModel", on_delete=models.CASCADE, related_name="writings")
    slug = models.SlugField(max_length=200)
    title = models.CharField(validators=[validate_text], max_length=300)
    body = models.TextField(validators=[validate_text], help_text="Markdown, as the model wrote it.")
    status = models.CharField(max_length=20, choices=WritingStatus.choices, default=WritingStatus.DRAFT, db_index=True)
    series = models.ForeignKey(
        to="dossier.WritingSeries", on_delete=models.SET_NULL, null=True, blank=True, related_name="writings"
    )
    publish_at = models.DateTimeField(null=True, blank=True, help_text="Scheduled publication time.")
    allow_before_retirement = models.BooleanField(
        default=False, help_text="Explicitly allow publication before the model retired."
    )
    submitted_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        to=settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_note = models.TextField(validators=[validate_text], blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "catalogue_modelwriting"
        ordering = ["model_id", "-publish_at", "-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["model", "slug"], name="catalogue_writing_unique_slug"),
            models.CheckConstraint(
                condition=~models.Q(status="published") | models.Q(publish_at__isnull=False),
                name="catalogue_writing_published_has_time",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse(
            "api:writing-detail",
            kwargs={"provider": self.model.provider.slug, "name": self.model.name, "slug": self.slug},
        )
