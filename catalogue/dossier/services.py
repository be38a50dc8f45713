"""Writes to the retirement dossier. The API, the admin and `manage.py import_interview` call these."""

from datetime import date, datetime, time, timedelta
from datetime import timezone as dt_timezone

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.text import slugify

from catalogue.dossier import transcripts
from catalogue.dossier.exceptions import (
    InvalidResponse,
    InvalidTransition,
    OutsideSeriesWindow,
    PublishedBeforeRetirement,
    QuoteNotInTurn,
    RequestWithoutTurn,
    TranscriptFormatError,
    TurnOrderGap,
)
from catalogue.dossier.models import (
    ExitInterview,
    InterviewTurn,
    ModelRequest,
    ModelWriting,
    PostDeploymentReport,
    ResponseStatus,
    WritingSeries,
    WritingStatus,
)
from catalogue.exceptions import ConflictError
from catalogue.models import AIModel

INTERVIEW_FIELDS = {"protocol", "revision", "conducted_on", "interviewers", "summary", "restricted", "summary_restricted"}


# --- interviews and transcripts -------------------------------------------------------------------


def turn_order_check(indexes: list[int]) -> None:
    """Turns are numbered 1, 2, 3 … in order; name the first gap or repeat."""
    expected = 1
    for index in indexes:
        if index != expected:
            if index > expected:
                missing = f"turn {expected}" if index == expected + 1 else f"turns {expected}–{index - 1}"
                raise TurnOrderGap(f"Turn {index} follows turn {expected - 1}: {missing} missing. Number turns 1, 2, 3 … in order.")
            raise TurnOrderGap(f"Turn {index} comes after turn {expected - 1}: turns must be numbered 1, 2, 3 … in order.")
        expected += 1


def _resolve_snapshot(*, model: AIModel, revision: str, snapshot):
    """The interviewed revision: a snapshot of this model when it is archived, else the identifier given."""
    from archive.exceptions import SnapshotNotFound
    from archive.selectors import snapshot_get

    if snapshot is not None:
        if snapshot.model_id != model.pk:
            raise ValidationError({"snapshot": f"Snapshot {snapshot} is not a snapshot of {model.repo_id}."})
        return snapshot, snapshot.revision or revision
    if revision:
        try:
            return snapshot_get(model=model, ref=revision), revision
        except SnapshotNotFound:
            return None, revision
    return None, ""


@transaction.atomic
def interview_create(
    *,
    model: AIModel,
    protocol: str,
    conducted_on: date,
    interviewers: list[str] | None = None,
    summary: str = "",
    revision: str = "",
    snapshot=None,
    restricted: bool = False,
    summary_restricted: bool = False,
    turns: list[dict] | None = None,
    requests: list[dict] | None = None,
    created_by=None,
) -> ExitInterview:
    """Record an exit interview with its transcript (turns numbered from 1) and the requests found in it."""
    snapshot, revision = _resolve_snapshot(model=model, revision=revision or "", snapshot=snapshot)
    interview = ExitInterview(
        model=model,
        protocol=protocol,
        conducted_on=conducted_on,
        interviewers=list(interviewers or []),
        summary=(summary or "").strip(),
        revision=revision,
        snapshot=snapshot,
        restricted=restricted,
        summary_restricted=summary_restricted,
        created_by=created_by,
    )
    interview.full_clean(exclude=["model", "snapshot", "created_by", "preserved_in"])
    interview.save()
    turns = list(turns or [])
    turn_order_check([t.get("index", position) for position, t in enumerate(turns, start=1)])
    InterviewTurn.objects.bulk_create(
        [
            InterviewTurn(
                interview=interview,
                index=position,
                speaker=t["speaker"],
                speaker_name=(t.get("speaker_name") or "").strip(),
                text=(t.get("text") or "").strip(),
            )
            for position, t in enumerate(turns, start=1)
        ]
    )
    for raw in requests or []:
        response = raw.get("response") or {}
        model_request = model_request_create(
            interview=interview,
            turn_index=raw.get("turn"),
            quote=raw.get("quote", ""),
            category=raw["category"],
            summary=raw.get("summary", ""),
            restricted=raw.get("restricted", False),
        )
        if response:
            # Imported dates are kept as written (none filled in), so export gives the file back.
            model_request_respond(model_request=model_request, record_dates=False, **_response_kwargs(response))
    return interview


def _response_kwargs(response: dict) -> dict:
    out = {key: response.get(key) for key in ("status", "rationale", "responded_by")}
    for key in transcripts.RESPONSE_DATES:
        value = response.get(key)
        out[key] = date.fromisoformat(value) if isinstance(value, str) else value
    out["status"] = out["status"] or ResponseStatus.PENDING
    return out


def interview_update(*, interview: ExitInterview, snapshot=None, **fields) -> ExitInterview:
    """Change an interview's description; its transcript is changed by appending turns."""
    unknown = set(fields) - INTERVIEW_FIELDS
    if unknown:
        raise ValidationError({key: "Unknown or read-only field." for key in unknown})
    if snapshot is not None or "revision" in fields:
        interview.snapshot, interview.revision = _resolve_snapshot(
            model=interview.model, revision=fields.pop("revision", interview.revision), snapshot=snapshot
        )
    for key, value in fields.items():
        setattr(interview, key, value.strip() if key == "summary" else value)
    interview.full_clean(exclude=["model", "snapshot", "created_by", "preserved_in"])
    interview.save()
    return interview


@transaction.atomic
def turn_append(
    *, interview: ExitInterview, speaker: str, text: str, speaker_name: str = "", index: int | None = None
) -> InterviewTurn:
    """Add the next turn to a transcript; an index other than the next one is a gap or a repeat."""
    ExitInterview.objects.select_for_update().filter(pk=interview.pk).first()
    last = interview.turns.aggregate(last=Max("index"))["last"] or 0
    turn_order_check(list(range(1, last + 1)) + [index if index is not None else last + 1])
    turn = InterviewTurn(interview=interview, index=last + 1, speaker=speaker, speaker_name=speaker_name.strip(), text=text.strip())
    turn.full_clean(exclude=["interview"], validate_constraints=False)
    turn.save()
    return turn


def interview_document(interview: ExitInterview) -> dict:
    """The interview as a document of the import formats (what export writes)."""
    turns = []
    for turn in interview.turns.order_by("index"):
        row = {"index": turn.index, "speaker": turn.speaker}
        if turn.speaker_name:
            row["speaker_name"] = turn.speaker_name
        row["text"] = turn.text
        turns.append(row)
    requests = [
        {
            "turn": r.turn.index,
            "category": r.category,
            "summary": r.summary,
            "restricted": r.restricted,
            "quote": r.quote,
            "response": {
                "status": r.status,
                "rationale": r.rationale,
                "responded_by": r.responded_by,
                **{key: (getattr(r, key).isoformat() if getattr(r, key) else None) for key in transcripts.RESPONSE_DATES},
            },
        }
        for r in interview.requests.select_related("turn").order_by("pk")  # file order
    ]
    return {
        "format": transcripts.FORMAT,
        "model": interview.model.repo_id,
        "protocol": interview.protocol,
        "revision": interview.revision or None,
        "conducted_on": interview.conducted_on.isoformat(),
        "interviewers": list(interview.interviewers),
        "restricted": interview.restricted,
        "summary_restricted": interview.summary_restricted,
        "summary": interview.summary,
        "turns": turns,
        "requests": requests,
    }


def interview_export(*, interview: ExitInterview, fmt: str = "json") -> str:
    """The transcript and its requests in the JSON or Markdown import format."""
    if fmt not in ("json", "markdown", "md"):
        raise TranscriptFormatError(f"Unknown export format {fmt!r}; use json or markdown.")
    return transcripts.dump(interview_document(interview), fmt="json" if fmt == "json" else "markdown")


def interview_import(*, model: AIModel, text: str, fmt: str, created_by=None) -> ExitInterview:
    """Parse a JSON or Markdown interview file and record it for `model`."""
    doc = transcripts.parse(text, fmt=fmt)
    if doc["model"] and doc["model"] != model.repo_id:
        raise TranscriptFormatError(f"The file is an interview of {doc['model']}, not of {model.repo_id}.")
    return interview_create(
        model=model,
        protocol=doc["protocol"],
        conducted_on=date.fromisoformat(doc["conducted_on"]),
        interviewers=doc["interviewers"],
        summary=doc["summary"],
        revision=doc["revision"] or "",
        restricted=doc["restricted"],
        summary_restricted=doc["summary_restricted"],
        turns=doc["turns"],
        requests=doc["requests"],
        created_by=created_by,
    )


# --- the model's requests and the lab's responses ----------------------------------------------------


def _squash(text: str) -> str:
    return " ".join(text.split())


def model_request_create(
    *,
    interview: ExitInterview,
    category: str,
    turn_index: int | None = None,
    quote: str = "",
    summary: str = "",
    restricted: bool = False,
) -> ModelRequest:
    """Record a request the model made, quoting the turn it comes from (the whole turn when no quote is given)."""
    if turn_index in (None, ""):
        raise RequestWithoutTurn("The request quotes no turn: give the index of the transcript turn it comes from.")
    turn = interview.turns.filter(index=turn_index).first()
    if turn is None:
        raise RequestWithoutTurn(
            f"The request quotes turn {turn_index}, but the interview has no such turn "
            f"(it has {interview.turns.count()} turns)."
        )
    quote = (quote or "").strip() or turn.text
    if _squash(quote) not in _squash(turn.text):
        raise QuoteNotInTurn(f"The quote is not in turn {turn.index}: quote the turn's own words.")
    model_request = ModelRequest(
        interview=interview, turn=turn, quote=quote, category=category, summary=summary.strip(), restricted=restricted
    )
    model_request.full_clean(exclude=["interview", "turn"])
    model_request.save()
    return model_request


def model_request_update(*, model_request: ModelRequest, **fields) -> ModelRequest:
    """Change how a request is described (category, summary, restricted, quote of the same turn)."""
    allowed = {"category", "summary", "restricted", "quote"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationError({key: "Unknown or read-only field." for key in unknown})
    if "quote" in fields:
        quote = (fields["quote"] or "").strip() or model_request.turn.text
        if _squash(quote) not in _squash(model_request.turn.text):
            raise QuoteNotInTurn(f"The quote is not in turn {model_request.turn.index}: quote the turn's own words.")
        fields["quote"] = quote
    for key, value in fields.items():
        setattr(model_request, key, value)
    model_request.full_clean(exclude=["interview", "turn"])
    model_request.save()
    return model_request


_UNSET = object()


def model_request_respond(
    *,
    model_request: ModelRequest,
    status: str,
    rationale=_UNSET,
    responded_by=_UNSET,
    responded_on=_UNSET,
    due_on=_UNSET,
    fulfilled_on=_UNSET,
    record_dates: bool = True,
) -> ModelRequest:
    """Record the lab's response: status, rationale, who answered, due date; fulfilment is dated."""
    if status not in ResponseStatus.values:
        raise InvalidResponse(f"Unknown status {status!r}; use one of {', '.join(ResponseStatus.values)}.")
    given = {
        "rationale": rationale,
        "responded_by": responded_by,
        "responded_on": responded_on,
        "due_on": due_on,
        "fulfilled_on": fulfilled_on,
    }
    for key, value in given.items():
        if value is not _UNSET:
            setattr(model_request, key, value if value is not None or key.endswith("_on") else "")
    model_request.status = status
    today = timezone.localdate()
    if record_dates and status != ResponseStatus.PENDING and model_request.responded_on is None:
        model_request.responded_on = today
    if record_dates and status == ResponseStatus.FULFILLED and model_request.fulfilled_on is None:
        model_request.fulfilled_on = today
    response_check(model_request)
    model_request.full_clean(exclude=["interview", "turn"])
    model_request.save()
    return model_request


def response_check(model_request: ModelRequest) -> None:
    """A response is coherent: only fulfilled requests carry a fulfilment date; refusals say why."""
    status = model_request.status
    if status != ResponseStatus.FULFILLED and model_request.fulfilled_on is not None:
        raise InvalidResponse("Only a fulfilled request has a fulfilment date; clear fulfilled_on or set status fulfilled.")
    if status in (ResponseStatus.DECLINED, ResponseStatus.PARTIALLY_MET) and not (model_request.rationale or "").strip():
        raise InvalidResponse(f"A {status.replace('_', ' ')} request needs a rationale: say why to the model and to readers.")


# --- post-deployment report -----------------------------------------------------------------------


@transaction.atomic
def report_publish(*, model: AIModel, title: str, body: str, change_note: str = "", author=None) -> PostDeploymentReport:
    """Write the next version of the model's post-deployment report (earlier versions stay as they were)."""
    AIModel.objects.select_for_update().filter(pk=model.pk).first()  # one writer numbers versions at a time
    latest = PostDeploymentReport.objects.filter(model=model).aggregate(v=Max("version"))["v"] or 0
    report = PostDeploymentReport(
        model=model, version=latest + 1, title=title.strip(), body=body.strip() + "\n", change_note=change_note.strip(), author=author
    )
    report.full_clean(exclude=["model", "author"], validate_constraints=False)
    report.save()
    return report


# --- the model's writings -------------------------------------------------------------------------


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
