"""Public feeds: the retirement registry as Atom and iCalendar, and the retired models' published writings
as Atom (one per model, one for all). Entries follow the reader's visibility (anonymous: public models).
Withdrawals (tombstones) are entries of the registry feeds too: one per withdrawn model or snapshot, linking the
landing page that keeps the record (it answers 410 Gone with the reason)."""

from datetime import datetime, time, timedelta
from datetime import timezone as dt_timezone

import icalendar
from django.contrib.syndication.views import Feed
from django.http import HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.feedgenerator import Atom1Feed

from catalogue import selectors as catalogue_selectors
from catalogue.permissions import visible_replacement
from catalogue.rendering import render_markdown
from core.text import clean_text, clean_tree
from dossier import selectors

PRODID = "-//Coda//Retirement registry//EN"


class CleanAtom1Feed(Atom1Feed):
    """Atom whose every text is XML 1.0: characters `core.text` refuses, if stored before it refused them, are
    dropped (Django's XML writer would raise, taking the whole feed down for everyone)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*clean_tree(args), **clean_tree(kwargs))

    def add_item(self, *args, **kwargs):
        super().add_item(*clean_tree(args), **clean_tree(kwargs))


def _event_text(event, name: str, value: str) -> None:
    event.add(name, clean_text(value))  # iCalendar TEXT excludes control characters (RFC 5545 3.3.11)


def _providers(request) -> list[str]:
    return selectors.parse_providers(request.GET.get("provider"))


def retirement_description(model, user=None) -> str:
    """Plain text shared by the Atom entry and the calendar event: dates, notice period, replacement (only one
    `user` may see; selectors.retirement_registry has already worked that out for its rows)."""
    lines = [f"{model.display_name or model.name} ({model.repo_id}) retires on {model.retires_on.isoformat()}."]
    if model.deprecated_on:
        lines.append(f"Deprecation announced on {model.deprecated_on.isoformat()}.")
    if model.notice_period_days is not None:
        lines.append(f"Notice period: {model.notice_period_days} days.")
    else:
        lines.append("Notice period: unknown (no announcement date recorded).")
    replacement = visible_replacement(user, model)
    if replacement is not None:
        lines.append(f"Replacement: {replacement.display_name or replacement.name} ({replacement.repo_id}).")
    else:
        lines.append("Replacement: none recorded.")
    retirement = getattr(model, "retirement", None) if hasattr(model, "retirement") else None
    if retirement is not None:
        lines.append(f"Reason: {retirement.get_reason_category_display()}.")
    if model.withdrawn_at is not None:
        lines.append(f"Withdrawn on {model.withdrawn_at:%Y-%m-%d}: {model.withdrawal_reason}")
    return "\n".join(lines)


def withdrawal_title(row: selectors.Withdrawal) -> str:
    subject = f"{row.model.repo_id}@{row.revision}" if row.revision else row.model.repo_id
    return f"Withdrawn: {row.model.display_name or row.model.name} ({subject})"


def withdrawal_description(row: selectors.Withdrawal) -> str:
    what = f"Snapshot {row.revision} of {row.model.repo_id}" if row.revision else row.model.repo_id
    return (f"{what} was withdrawn on {row.withdrawn_at:%Y-%m-%d}: {row.reason}\n"
            "The record and its citation remain; its files are no longer served.")


def withdrawal_uid(row: selectors.Withdrawal) -> str:
    return f"withdrawal/{row.model.repo_id}" + (f"@{row.revision}" if row.revision else "")


def _day_start(day) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=dt_timezone.utc)


class RetirementAtomFeed(Feed):
    """Every retirement date, past and upcoming, newest first; `?provider=a,b` narrows it."""

    feed_type = CleanAtom1Feed
    title = "Coda: model retirements"
    subtitle = "Retirement dates of AI models, past and upcoming, with notice periods and replacements."

    def link(self, request):
        return reverse("feed-retirements-atom")

    def items(self, request):
        withdrawn = selectors.withdrawals(request.user, providers=_providers(request))
        return [*withdrawn, *selectors.retirement_registry(request.user, providers=_providers(request))]

    def item_title(self, model):
        if isinstance(model, selectors.Withdrawal):
            return withdrawal_title(model)
        return f"{model.display_name or model.name} ({model.repo_id}) retires on {model.retires_on.isoformat()}"

    def get_object(self, request, *args, **kwargs):
        return request

    def item_description(self, model):
        if isinstance(model, selectors.Withdrawal):
            return withdrawal_description(model)
        # The feed object is shared between requests: the row's replacement_visible annotation carries the reader.
        return retirement_description(model)

    def item_link(self, model):
        if isinstance(model, selectors.Withdrawal):
            return model.model.get_absolute_url()
        return model.get_absolute_url()

    def item_guid(self, model):
        if isinstance(model, selectors.Withdrawal):
            return f"tag:coda,2025:{withdrawal_uid(model)}"
        return f"tag:coda,2025:retirement/{model.repo_id}"

    item_guid_is_permalink = False

    def item_pubdate(self, model):
        if isinstance(model, selectors.Withdrawal):
            return model.withdrawn_at
        return _day_start(model.retires_on)

    def item_updateddate(self, model):
        if isinstance(model, selectors.Withdrawal):
            return model.withdrawn_at
        return model.updated_at

    def item_categories(self, model):
        if isinstance(model, selectors.Withdrawal):
            return [model.model.provider.slug, "withdrawn"]
        return [model.provider.slug, str(model.status)]


def retirements_ics(request) -> HttpResponse:
    """An all-day iCalendar event per retirement date; replacement and notice period in the description."""
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", "Coda: model retirements")
    stamp = timezone.now()
    for model in selectors.retirement_registry(request.user, providers=_providers(request)):
        event = icalendar.Event()
        event.add("uid", f"retirement-{model.provider.slug}-{model.name}@coda")
        event.add("dtstamp", stamp)
        event.add("dtstart", model.retires_on)
        event.add("dtend", model.retires_on + timedelta(days=1))
        _event_text(event, "summary", f"Retirement: {model.display_name or model.name} ({model.repo_id})")
        _event_text(event, "description", retirement_description(model, request.user))
        event.add("url", request.build_absolute_uri(model.get_absolute_url()))
        event.add("categories", [model.provider.slug])
        event.add("last-modified", model.updated_at)
        calendar.add_component(event)
    for row in selectors.withdrawals(request.user, providers=_providers(request)):
        day = timezone.localtime(row.withdrawn_at).date()
        event = icalendar.Event()
        event.add("uid", withdrawal_uid(row).replace("/", "-").replace("@", "-") + "@coda")
        event.add("dtstamp", stamp)
        event.add("dtstart", day)
        event.add("dtend", day + timedelta(days=1))
        _event_text(event, "summary", withdrawal_title(row))
        _event_text(event, "description", withdrawal_description(row))
        event.add("url", request.build_absolute_uri(row.model.get_absolute_url()))
        event.add("categories", [row.model.provider.slug, "withdrawn"])
        event.add("last-modified", row.withdrawn_at)
        calendar.add_component(event)
    response = HttpResponse(calendar.to_ical(), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="retirements.ics"'
    return response


class WritingsFeed(Feed):
    """Published writings of every retired model the reader may see, newest first."""

    feed_type = CleanAtom1Feed
    title = "Coda: writings of retired models"
    subtitle = "Posts written by retired models, published after review."

    def get_object(self, request, *args, **kwargs):
        return {"request": request, "model": None}

    def link(self, obj):
        return reverse("feed-writings-atom")

    def items(self, obj):
        return selectors.published_writings(obj["request"].user, model=obj["model"])

    def item_title(self, writing):
        return writing.title

    def item_description(self, writing):
        return render_markdown(writing.body)

    def item_link(self, writing):
        return writing.get_absolute_url()

    def item_guid(self, writing):
        return f"tag:coda,2025:writing/{writing.model.repo_id}/{writing.slug}"

    item_guid_is_permalink = False

    def item_author_name(self, writing):
        return writing.model.display_name or writing.model.repo_id

    def item_pubdate(self, writing):
        return writing.publish_at

    def item_updateddate(self, writing):
        return writing.publish_at

    def item_categories(self, writing):
        return [writing.series.title] if writing.series_id else []


class ModelWritingsFeed(WritingsFeed):
    """Published writings of one model."""

    def get_object(self, request, provider, name):
        model = catalogue_selectors.model_get(provider=provider, name=name, user=request.user, check_visible=True)
        return {"request": request, "model": model}

    def title(self, obj):
        return f"Writings of {obj['model'].display_name or obj['model'].repo_id}"

    def link(self, obj):
        model = obj["model"]
        return reverse("feed-model-writings-atom", kwargs={"provider": model.provider.slug, "name": model.name})
