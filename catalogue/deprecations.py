"""Import of published deprecations (catalogue/data/deprecations.json): untrusted input,
validated row by row; a bad row is reported with its line and skipped, never half-imported."""

import json
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction

from catalogue import services
from catalogue.models import AIModel, PlatformAvailability
from catalogue.validators import validate_model_name, validate_provider_slug
from core.text import text_problem

# Platforms run by the model's maker: their schedule is the model's headline lifecycle.
MAKER_PLATFORMS = {
    "anthropic": ("claude-api",),
    "openai": ("openai-api",),
    "google": ("gemini-api", "vertex-ai"),
    "xai": ("xai-api",),
    "cohere": ("cohere-api",),
    "mistral": ("mistral-api",),
    "amazon": ("amazon-bedrock",),
    "ai21": ("ai21-api",),
    "meta": ("meta-api",),
}
PLATFORM_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
BEDROCK_SUFFIX_RE = re.compile(r"-v\d+(?::\d+)?$")
CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
TEXT_FIELDS = ("display_name", "family", "status_on_source", "post_retirement_access", "notes")
MAX_TEXT = 10_000


class RowError(ValueError):
    pass


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged + len(self.errors)


def canonical_name(*, provider: str, platform: str, identifier: str) -> str:
    """The maker's name for a model listed under a platform id (Bedrock: 'anthropic.x-v1:0' -> 'x')."""
    name = identifier
    if platform == "amazon-bedrock":
        if name.startswith(provider + "."):
            name = name[len(provider) + 1 :]
        name = BEDROCK_SUFFIX_RE.sub("", name)
    return name


def _rows_with_lines(text: str) -> list[tuple[int, object]]:
    """Decode the `models` array element by element so each row keeps its line number."""
    document = json.loads(text)
    if not isinstance(document, dict) or not isinstance(document.get("models"), list):
        raise RowError("the file must be a JSON object with a 'models' list")
    decoder = json.JSONDecoder()
    start = re.search(r'"models"\s*:\s*\[', text)
    rows = []
    pos = start.end() if start else 0
    for _ in document["models"]:
        while text[pos] in " \t\r\n,":
            pos += 1
        value, end = decoder.raw_decode(text, pos)
        rows.append((text.count("\n", 0, pos) + 1, value))
        pos = end
    return rows


def _text(row: dict, key: str) -> str:
    value = row.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise RowError(f"'{key}' must be a string or null")
    if len(value) > MAX_TEXT:
        raise RowError(f"'{key}' is longer than {MAX_TEXT} characters")
    if problem := text_problem(value):
        raise RowError(f"'{key}' {problem}")
    return value.strip()


def _date(row: dict, key: str) -> date | None:
    value = row.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise RowError(f"'{key}' must be an ISO date string or null")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise RowError(f"'{key}' is not a valid ISO date: {value!r}") from None


def _identifier(value, key: str) -> str:
    if not isinstance(value, str) or not value or len(value) > 255 or CONTROL_RE.search(value) or " " in value:
        raise RowError(f"'{key}' must be a non-empty identifier without spaces, got {value!r}")
    return value


def _slug(value, key: str, validator) -> str:
    if not isinstance(value, str):
        raise RowError(f"'{key}' must be a string")
    try:
        validator(value)
    except ValidationError as exc:
        raise RowError(f"'{key}': {exc.messages[0]}") from None
    return value


def _sources(row: dict) -> list[str]:
    value = row.get("sources")
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(s, str) for s in value):
        raise RowError("'sources' must be a list of URLs")
    for source in value:
        if not re.match(r"^https?://[^\s]+$", source) or len(source) > 2000:
            raise RowError(f"'sources' holds something that is not an http(s) URL: {source[:80]!r}")
    return value


def parse_row(row) -> dict:
    """Validate one row and return clean values; raises RowError naming the problem."""
    if not isinstance(row, dict):
        raise RowError("row must be a JSON object")
    provider = _slug(row.get("provider"), "provider", validate_provider_slug)
    platform = row.get("platform")
    if not isinstance(platform, str) or not PLATFORM_RE.match(platform):
        raise RowError(f"'platform' must be a lowercase slug, got {platform!r}")
    identifier = _identifier(row.get("name"), "name")
    name = canonical_name(provider=provider, platform=platform, identifier=identifier)
    _slug(name, "name", validate_model_name)
    replacement = row.get("replacement")
    if replacement is not None:
        if not isinstance(replacement, str) or replacement.count("/") != 1:
            raise RowError(f"'replacement' must be 'provider/name' or null, got {replacement!r}")
        rep_provider, rep_name = replacement.split("/")
        _slug(rep_provider, "replacement", validate_provider_slug)
        _slug(rep_name, "replacement", validate_model_name)
        if (rep_provider, rep_name) == (provider, name):
            raise RowError("'replacement' names the model itself")
    parsed = {key: _text(row, key) for key in TEXT_FIELDS}
    parsed.update(
        provider=provider,
        platform=platform,
        identifier=identifier,
        name=name,
        replacement=replacement,
        released=_date(row, "released"),
        deprecated=_date(row, "deprecated"),
        retired=_date(row, "retired"),
        sources=_sources(row),
    )
    if parsed["deprecated"] and parsed["retired"] and parsed["retired"] < parsed["deprecated"]:
        raise RowError(
            f"'retired' ({parsed['retired']}) is before 'deprecated' ({parsed['deprecated']})"
        )
    return parsed


def _model_for(provider_slug: str, name: str, *, display_name: str = "", family: str = "") -> tuple[AIModel, bool]:
    model = AIModel.objects.filter(provider__slug=provider_slug, name=name).first()
    if model is not None:
        return model, False
    provider = services.provider_get_or_create(slug=provider_slug)
    return services.model_create(provider=provider, name=name, display_name=display_name, family=family), True


def _headline(model: AIModel) -> PlatformAvailability | None:
    """The platform whose schedule is the model's headline: the maker's, else the only one known."""
    rows = list(model.platforms.order_by("-is_maker_platform", "platform"))
    if not rows:
        return None
    if rows[0].is_maker_platform or len(rows) == 1:
        return rows[0]
    return None


@transaction.atomic
def import_row(parsed: dict) -> str:
    """Apply one validated row; returns 'created', 'updated' or 'unchanged'."""
    model, created = _model_for(
        parsed["provider"], parsed["name"], display_name=parsed["display_name"], family=parsed["family"]
    )
    is_maker = parsed["platform"] in MAKER_PLATFORMS.get(parsed["provider"], ())
    _, platform_changed = services.platform_upsert(
        model=model,
        platform=parsed["platform"],
        identifier=parsed["identifier"],
        is_maker_platform=is_maker,
        deprecated_on=parsed["deprecated"],
        retires_on=parsed["retired"],
        status_on_source=parsed["status_on_source"],
        post_retirement_access=parsed["post_retirement_access"],
        sources=parsed["sources"],
        notes=parsed["notes"],
    )
    changes: dict = {}
    if parsed["display_name"] and model.display_name in ("", model.name) and model.display_name != parsed["display_name"]:
        changes["display_name"] = parsed["display_name"]
    if parsed["family"] and not model.family:
        changes["family"] = parsed["family"]
    if parsed["released"] and model.release_date != parsed["released"]:
        changes["release_date"] = parsed["released"]
    if parsed["identifier"] != model.name and parsed["identifier"] not in model.aliases:
        changes["aliases"] = sorted({*model.aliases, parsed["identifier"]})
    headline = _headline(model)
    if headline is not None and headline.platform == parsed["platform"]:
        for field_name, value in (("deprecated_on", parsed["deprecated"]), ("retires_on", parsed["retired"])):
            if getattr(model, field_name) != value:
                changes[field_name] = value
        if parsed["replacement"]:
            rep_provider, rep_name = parsed["replacement"].split("/")
            replacement, _ = _model_for(rep_provider, rep_name)
            if model.replacement_id != replacement.pk:
                changes["replacement"] = replacement
    if changes:
        services.model_update(model=model, **changes)
    if created:
        return "created"
    return "updated" if (changes or platform_changed) else "unchanged"


def deprecations_import(*, path: Path) -> ImportReport:
    """Import a deprecations file; idempotent, each row all-or-nothing."""
    report = ImportReport()
    try:
        text = Path(path).read_text(encoding="utf-8")
        rows = _rows_with_lines(text)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RowError) as exc:
        raise RowError(f"cannot read {path}: {exc}") from None
    for index, (line, row) in enumerate(rows):
        try:
            outcome = import_row(parse_row(row))
        except (RowError, ValidationError) as exc:
            message = "; ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
            report.errors.append(f"row {index} (line {line}): {message}")
            continue
        setattr(report, outcome, getattr(report, outcome) + 1)
    return report
