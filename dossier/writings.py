"""Writes for the retired model's writings: drafts, review (published at a scheduled time or rejected),
series windows. Re-exported by dossier.services, so every door calls `services.writing_*`."""

from datetime import date, datetime, time, timedelta
from datetime import timezone as dt_timezone

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.text import slugify

from core.exceptions import ConflictError
from catalogue.models import AIModel
from dossier.exceptions import (
    InvalidTransition,
    OutsideSeriesWindow,
    PublishedBeforeRetirement,
)
from dossier.models import ModelWriting, WritingSeries, WritingStatus


def series_create(
    *, model: AIModel, title: str, starts_on: date | None = None, interval_days: int = 7, slots: int = 12
) -> WritingSeries:
    """Open a window of posts, by default starting on the model's retirement date."""
    starts_on = starts_on or model.retires_on
    if starts_on is None:
        raise ValidationError({"starts_on": f"{model.repo_id} has no retirement date; give the series a start date."})
    if interval_days < 1 or slots < 1:
        raise ValidationError({"slots": "A series has at least one slot and an interval of at least one day."})
    series = WritingSeries(model=model, title=title, starts_on=starts_on, interval_days=interval_days, slots=slots)
    series.full_clean(exclude=["model"])
    series.save()
    return series


def series_window(series: WritingSeries) -> tuple[datetime, datetime]:
    """[first slot, end of window) in UTC."""
    start = datetime.combine(series.starts_on, time(0, 0), tzinfo=dt_timezone.utc)
    return start, start + timedelta(days=series.interval_days * series.slots)


def series_slots(series: WritingSeries) -> list[datetime]:
    start, _ = series_window(series)
    return [start + timedelta(days=series.interval_days * k) for k in range(series.slots)]


def _next_free_slot(series: WritingSeries, *, now: datetime) -> datetime:
    taken = set(
        series.writings.filter(status=WritingStatus.PUBLISHED).values_list("publish_at", flat=True)
    )
    for slot in series_slots(series):
        if slot >= now and slot not in taken:
            return slot
    raise OutsideSeriesWindow(f"Series {series.title!r} has no free slot left ({series.slots} posts).")


def writing_create(
    *, model: AIModel, title: str, body: str, slug: str = "", series: WritingSeries | None = None, publish_at=None
) -> ModelWriting:
    """Save a post written by the model as a draft."""
    slug = slug or slugify(title)[:200]
    if not slug:
        raise ValidationError({"slug": "Give a slug (the title has no letters to make one from)."})
    if ModelWriting.objects.filter(model=model, slug=slug).exists():
        raise ConflictError(f"{model.repo_id} already has a writing {slug!r}.", code="writing_exists")
    if series is not None and series.model_id != model.pk:
        raise ValidationError({"series": f"Series {series.title!r} belongs to another model."})
    writing = ModelWriting(model=model, slug=slug, title=title.strip(), body=body.strip() + "\n", series=series, publish_at=publish_at)
    writing.full_clean(exclude=["model", "series", "reviewed_by"], validate_constraints=False)
    writing.save()
    return writing


def writing_update(*, writing: ModelWriting, **fields) -> ModelWriting:
    """Edit a draft or rejected post (a rejected one goes back to draft); published posts are not edited."""
    allowed = {"title", "body", "publish_at", "series"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationError({key: "Unknown or read-only field." for key in unknown})
    if writing.status not in (WritingStatus.DRAFT, WritingStatus.REJECTED):
        raise InvalidTransition(f"Writing {writing.slug!r} is {writing.get_status_display().lower()}; only drafts and rejected posts are edited.")
    for key, value in fields.items():
        setattr(writing, key, value)
    writing.status = WritingStatus.DRAFT
    writing.full_clean(exclude=["model", "series", "reviewed_by"], validate_constraints=False)
    writing.save()
    return writing


def writing_submit(*, writing: ModelWriting) -> ModelWriting:
    """draft → in review."""
    if writing.status != WritingStatus.DRAFT:
        raise InvalidTransition(f"Writing {writing.slug!r} is {writing.get_status_display().lower()}; only a draft is submitted for review.")
    writing.status = WritingStatus.IN_REVIEW
    writing.submitted_at = timezone.now()
    writing.save(update_fields=["status", "submitted_at", "updated_at"])
    return writing


def writing_review(
    *,
    writing: ModelWriting,
    reviewer,
    decision: str,
    note: str = "",
    publish_at: datetime | None = None,
    allow_before_retirement: bool = False,
    now: datetime | None = None,
) -> ModelWriting:
    """in review → published (at a scheduled time) or rejected, recording reviewer and time."""
    now = now or timezone.now()
    if writing.status != WritingStatus.IN_REVIEW:
        raise InvalidTransition(f"Writing {writing.slug!r} is {writing.get_status_display().lower()}; only a post in review is decided.")
    if decision not in (WritingStatus.PUBLISHED, WritingStatus.REJECTED):
        raise ValidationError({"decision": "Decide 'published' or 'rejected'."})
    if decision == WritingStatus.PUBLISHED:
        publish_at = publish_at or writing.publish_at
        if publish_at is None:
            publish_at = _next_free_slot(writing.series, now=now) if writing.series_id else now
        _check_publication(writing=writing, publish_at=publish_at, allow_before_retirement=allow_before_retirement)
        writing.publish_at = publish_at
        writing.allow_before_retirement = allow_before_retirement
    elif not note.strip():
        raise ValidationError({"note": "Say why the post is rejected."})
    writing.status = decision
    writing.reviewed_by = reviewer
    writing.reviewed_at = now
    writing.review_note = note.strip()
    writing.save()
    return writing


def _check_publication(*, writing: ModelWriting, publish_at: datetime, allow_before_retirement: bool) -> None:
    model = writing.model
    day = timezone.localdate(publish_at)
    if not allow_before_retirement and (model.retires_on is None or day < model.retires_on):
        when = f"retires on {model.retires_on.isoformat()}" if model.retires_on else "has no retirement date"
        raise PublishedBeforeRetirement(
            f"{model.repo_id} {when}; a post cannot be published on {day.isoformat()}, before the model retired, "
            "unless publication before retirement is explicitly allowed (allow_before_retirement)."
        )
    if writing.series_id:
        start, end = series_window(writing.series)
        if not start <= publish_at < end:
            raise OutsideSeriesWindow(
                f"{publish_at.isoformat()} is outside the series window {start.date().isoformat()} – "
                f"{(end - timedelta(days=1)).date().isoformat()} of {writing.series.title!r}."
            )
