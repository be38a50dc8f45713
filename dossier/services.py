"""Writes to the retirement dossier. The API, the admin and `manage.py import_interview` call these."""

from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from archive.exceptions import SnapshotNotFound
from archive.selectors import snapshot_get
from catalogue.models import AIModel
from dossier import transcripts
from core.text import text_check
from dossier.exceptions import (
    InvalidResponse,
    QuoteNotInTurn,
    RequestWithoutTurn,
    TranscriptFormatError,
    TurnOrderGap,
)
from dossier.models import (
    ExitInterview,
    InterviewTurn,
    ModelRequest,
    PostDeploymentReport,
    ResponseStatus,
)

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
    rows = [
        InterviewTurn(
            interview=interview,
            index=position,
            speaker=t["speaker"],
            speaker_name=(t.get("speaker_name") or "").strip(),
            text=(t.get("text") or "").strip(),
        )
        for position, t in enumerate(turns, start=1)
    ]
    text_check(*rows)  # bulk_create sends no pre_save: the free-text rule is checked here
    InterviewTurn.objects.bulk_create(rows)
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


# The model's writings live in their own module; re-exported so the doors use one `services` namespace.
from dossier.writings import (  # noqa: E402,F401
    series_create,
    series_slots,
    series_window,
    writing_create,
    writing_review,
    writing_submit,
    writing_update,
)
