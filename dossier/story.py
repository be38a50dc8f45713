"""The bundled story: a sourced sample dossier (Claude 3 Opus's retirement) loaded through the services.

Loading is idempotent and never overwrites: each item (retirement, interview, writing series, report) is created
only when the model has none of its kind from this file yet, so a second `make run` adds nothing and a curator's
later edits stay. Every item's text names the sources it was paraphrased from (`dossier/data/*.json`)."""

import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from django.db import transaction

from catalogue import services as catalogue_services
from catalogue.models import AIModel, Retirement
from core.exceptions import NotFoundError
from dossier import services
from dossier.exceptions import TranscriptFormatError
from dossier.models import ExitInterview, PostDeploymentReport, WritingSeries

STORY_PATH = Path(__file__).resolve().parent / "data" / "claude-3-opus.json"
STORY_FORMAT = "coda-story/1"


@dataclass
class StoryReport:
    model: str
    created: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        created = ", ".join(self.created) or "nothing"
        kept = ", ".join(self.kept) or "nothing"
        return f"{self.model}: created {created}; already present {kept}"


def story_read(path: Path = STORY_PATH) -> dict:
    """The bundled story file, checked: every item names sources the file defines."""
    doc = json.loads(Path(path).read_text(encoding="utf-8"))
    if doc.get("format") != STORY_FORMAT:
        raise TranscriptFormatError(f"{path}: not a {STORY_FORMAT} file.")
    known = set(doc["sources"])
    items = [doc.get(key) for key in ("retirement", "interview", "writing_series", "report")]
    items += list(doc.get("interview", {}).get("turns", [])) + list(doc.get("interview", {}).get("requests", []))
    for item in filter(None, items):
        cited = item.get("sources") or []
        if not cited or set(cited) - known:
            raise TranscriptFormatError(f"{path}: every item cites sources defined in the file (got {cited}).")
    return doc


def citation(doc: dict, keys: list[str], *, markdown: bool = False) -> str:
    """'Sources: …' naming each source (title, publisher, address), as plain text or Markdown links."""
    parts = []
    for key in keys:
        source = doc["sources"][key]
        title, url = source["title"], source.get("url") or ""
        if markdown:
            parts.append(f"- [{title}]({url}), {source['publisher']}" if url else f"- {title}, {source['publisher']}")
        else:
            parts.append(f"{title}, {source['publisher']}" + (f" <{url}>" if url else ""))
    if markdown:
        return "Sources:\n\n" + "\n".join(parts)
    return "Sources: " + "; ".join(parts) + "."


def _marked(doc: dict, text: str, keys: list[str]) -> str:
    """Markdown: the text, the sample-data mark and the sources (when not already in the text)."""
    cited = f"\n\n{citation(doc, keys, markdown=True)}" if keys else ""
    return f"{text}\n\n*{doc['sample_note']}*{cited}\n"


@transaction.atomic
def story_load(*, path: Path = STORY_PATH) -> StoryReport:
    """Load the bundled dossier for its model through the catalogue and dossier services (idempotent)."""
    doc = story_read(path)
    provider, _, name = doc["model"].partition("/")
    model = AIModel.objects.filter(provider__slug=provider, name=name).select_related("provider").first()
    if model is None:
        raise NotFoundError(f"{doc['model']} is not in the catalogue; import the deprecations first.")
    report = StoryReport(model=model.repo_id)
    _retirement(doc, model, report)
    _interview(doc, model, report)
    _series(doc, model, report)
    _report(doc, model, report)
    return report


def _retirement(doc: dict, model: AIModel, report: StoryReport) -> None:
    item = doc["retirement"]
    if Retirement.objects.filter(model=model).exists():
        report.kept.append("retirement")
        return
    sources = citation(doc, item["sources"])
    catalogue_services.retirement_register(
        model=model,
        retires_on=date.fromisoformat(item["retires_on"]),
        reason_category=item["reason_category"],
        reason=item["reason"],
        access_after_retirement=item["access_after_retirement"],
        access_note=item["access_note"],
        preservation_statement=f"{item['preservation_statement']} {doc['sample_note']} {sources}",
        preserved_for_lifetime=item["preserved_for_lifetime"],
    )
    report.created.append("retirement")


def _interview(doc: dict, model: AIModel, report: StoryReport) -> None:
    item = doc["interview"]
    if ExitInterview.objects.filter(model=model, protocol=item["protocol"]).exists():
        report.kept.append("interview")
        return
    turns = [
        {"speaker": t["speaker"], "text": f"{t['text']} ({citation(doc, t['sources'])})"} for t in item["turns"]
    ]
    requests = [
        {
            "turn": r["turn"],
            "category": r["category"],
            "summary": r["summary"],
            "response": {**r["response"], "rationale": f"{r['response']['rationale']} {citation(doc, r['sources'])}"},
        }
        for r in item["requests"]
    ]
    services.interview_create(
        model=model,
        protocol=item["protocol"],
        conducted_on=date.fromisoformat(item["conducted_on"]),
        summary=_marked(doc, f"{item['summary']}\n\n{item['date_note']}", item["sources"]),
        turns=turns,
        requests=requests,
    )
    report.created.append("interview")


def _series(doc: dict, model: AIModel, report: StoryReport) -> None:
    item = doc["writing_series"]
    if WritingSeries.objects.filter(model=model, title=item["title"]).exists():
        report.kept.append("writing series")
        return
    services.series_create(
        model=model,
        title=item["title"],
        starts_on=date.fromisoformat(item["starts_on"]),
        interval_days=item["interval_days"],
        slots=item["slots"],
    )
    report.created.append("writing series")


def _report(doc: dict, model: AIModel, report: StoryReport) -> None:
    item = doc["report"]
    if PostDeploymentReport.objects.filter(model=model).exists():
        report.kept.append("report")
        return
    series = doc["writing_series"]
    body = (
        f"{item['body']}\n\n{citation(doc, item['sources'], markdown=True)}\n\n"
        f"## The retired model's writings\n\n{series['title']}, every {series['interval_days']} days from "
        f"{series['starts_on']}. {series['start_note']} {series['review_rule']}\n\n"
        f"{citation(doc, series['sources'], markdown=True)}"
    )
    services.report_publish(model=model, title=item["title"], body=_marked(doc, body, []))
    report.created.append("report")
