"""Server-rendered pages of the researchers' site (the catalogue, the archive's holdings, the dossier). Thin: parse input, call selectors/services, render.
Who sees what is decided by catalogue.permissions only."""

import json
import re

from django.utils.safestring import mark_safe

from archive.citation.formats import FORMATS, json_ld, text
from archive.citation.records import citation_for
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import BadRequest, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST
from knox.models import AuthToken

from archive import preservation as archive_preservation
from archive.assurance import retention as archive_retention
from archive import selectors as archive_selectors
from catalogue.models import PreservationStatus
from catalogue import access, accounts, approvals, selectors
from catalogue.embargoes import access_changes_pending
from web import browse
from web.dossier import model_dossier
from web.health import health_charts
from web.timeline import timeline_layout
from core import throttling
from core.exceptions import DomainError, NotFoundError
from core.text import text_problem
from catalogue.models import AccessRequest, FileAccess, LifecycleStatus, Retirement
from catalogue.permissions import (
    access_request_refusal,
    can_read_files,
    file_access_denial,
    file_access_level,
    has_grant,
    is_curator,
    visible_replacement,
)
from web.forms import AccessRequestForm, InviteForm, SignupForm, TokenForm

FILES_PER_PAGE = 50
# Query values of the filters, as the pages' own forms send them; anything else is a hand-made URL and a 400
# (Django's Bad Request page, as the site's 404 is Django's Not Found). Pages are Django's documented fallback.
YEAR = re.compile(r"[0-9]{1,4}\Z")  # ASCII only: str.isdigit() takes '²', which int() refuses


def _page(request, queryset, param="page", per_page=None):
    return Paginator(queryset, per_page or settings.CODA_WEB_PAGE_SIZE).get_page(request.GET.get(param))


def _text(request, name: str) -> str:
    value = request.GET.get(name, "")
    if problem := text_problem(value):  # Coda's one rule for text (core.text): no form field sends these
        raise BadRequest(f"{name} {problem}.")
    return value


def _choice(request, name: str, choices) -> str:
    value = _text(request, name)
    if value and value not in choices:
        raise BadRequest(f"{name} must be one of {', '.join(choices)}.")
    return value


def _year(request) -> int | None:
    value = _text(request, "retirement_year")
    if not value:
        return None
    if not YEAR.match(value) or not 1 <= int(value) <= 9999:
        raise BadRequest("retirement_year must be a year from 1 to 9999.")
    return int(value)


def _filters(request) -> browse.ModelFilters:
    """The home page's and the timeline's filters; BadRequest (400) for a value their forms never send."""
    return browse.ModelFilters(
        q=_text(request, "q").strip()[:200],
        provider=_text(request, "provider").strip(),
        status=_choice(request, "status", LifecycleStatus.values),
        retirement_year=_year(request),
        preservation=_choice(request, "preservation", PreservationStatus.values),
    )


def home(request):
    filters = _filters(request)
    context = {
        "filters": filters,
        "page": _page(request, browse.model_search(user=request.user, filters=filters)),
        "providers": browse.providers_visible(request.user),
        "statuses": LifecycleStatus.choices,
        "years": browse.retirement_years(request.user),
        "preservation_choices": PreservationStatus.choices,
        # The guide is for the first page; a search or filter shows only its results.
        "overview": None if request.GET else browse.home_overview(request.user),
    }
    return render(request, "web/home.html", context)


def timeline(request):
    filters = _filters(request)
    models, replacements = browse.timeline_models(user=request.user, filters=filters)
    context = {
        "filters": filters,
        "timeline": timeline_layout(models, today=timezone.localdate(), replacements=replacements),
        "providers": browse.providers_visible(request.user),
        "statuses": LifecycleStatus.choices,
    }
    return render(request, "web/timeline.html", context)


@login_required
def preservation_health(request):
    """Curators only: copies per file, days since each copy was verified, open problems (others: 404)."""
    if not is_curator(request.user):
        raise Http404("Only curators see the preservation health view.")
    health = archive_preservation.archive_health()
    pending = approvals.proposals_list(status="pending")  # the two-person rule's open proposals (part 5)
    expiring = archive_retention.replicas_expiring()  # Object Lock: copies whose retention ends within 30 days
    return render(request, "web/preservation_health.html", {
        "health": health, "charts": health_charts(health),
        "pending_approvals": pending[:20], "pending_approval_count": pending.count(),
        "expiring": list(expiring[:100]), "expiring_count": expiring.count(),
        "expiring_days": archive_retention.EXPIRING_DAYS,
    })


def upcoming(request):
    page = _page(request, browse.upcoming_retirements(request.user))
    return render(request, "web/upcoming.html", {"page": page, "today": timezone.localdate()})


def providers(request):
    page = _page(request, browse.providers_with_counts(request.user))
    return render(request, "web/providers.html", {"page": page})


def provider_detail(request, slug):
    try:
        provider = selectors.provider_get(slug=slug)
    except NotFoundError as exc:
        raise Http404(exc.message) from None
    queryset = browse.model_search(user=request.user, filters=browse.ModelFilters(provider=slug))
    return render(request, "web/provider_detail.html", {"provider": provider, "page": _page(request, queryset)})


def _model_or_404(request, provider, name):
    try:
        return selectors.model_get(provider=provider, name=name, user=request.user, check_visible=True)
    except NotFoundError as exc:
        raise Http404(exc.message) from None


def _timeline(model):
    today = timezone.localdate()
    steps = [("Released", model.release_date), ("Deprecated", model.deprecated_on), ("Retired", model.retires_on)]
    rows = [{"label": label, "date": day, "reached": bool(day and day <= today)} for label, day in steps]
    reached = [row for row in rows if row["reached"]]
    if reached:
        reached[-1]["current"] = True
    return rows


def _pick_snapshot(snapshots, ref: str | None, refs):
    """The snapshot asked for (revision, row id, or a ref name: `main`, `dossier`, a tag), else main's head:
    the model's own files, never a newer dossier-only snapshot."""
    by_ref = {r.name: r.snapshot.pk for r in refs} | {r.ref: r.snapshot.pk for r in refs}
    wanted = by_ref.get(ref) if ref else by_ref.get("main")
    for snapshot in snapshots:
        if wanted == snapshot.pk or (ref and ref in (snapshot.revision, str(snapshot.pk))):
            return snapshot
    if ref:
        raise Http404(f"No snapshot {ref!r}.")
    sealed = [s for s in snapshots if s.state == "sealed"]
    return (sealed or snapshots or [None])[0]


def model_detail(request, provider, name, form=None, status=200):
    model = _model_or_404(request, provider, name)
    if model.withdrawn_at is not None:
        status = 410  # a tombstone: the landing page stays, with the reason and date, and serves no files
    user = request.user
    snapshots = list(browse.snapshots_for_page(model))
    refs = browse.model_page_refs(model)
    snapshot = _pick_snapshot(snapshots, request.GET.get("snapshot"), refs)
    preservation = browse.model_preservation(model, snapshots)
    for s in snapshots:
        s.health = preservation["snapshots"][s.pk]
        s.ref_names = [r.name for r in refs if r.snapshot.pk == s.pk]
    can_read = can_read_files(user, model, snapshot)
    files_page = None
    if snapshot is not None:
        files_page = _page(request, archive_selectors.snapshot_files(snapshot), "files_page", FILES_PER_PAGE)
        ref = snapshot.revision or str(snapshot.pk)
        for f in files_page.object_list:
            replicas = getattr(f.blob, "verified_replicas", []) if f.blob_id else []
            f.copies = len(replicas)
            proofs = [r.last_verified_at for r in replicas if r.last_verified_at]
            f.last_verified = max(proofs) if proofs else None
            f.download_url = reverse(
                "api:snapshot-file", kwargs={"provider": provider, "name": name, "revision": ref, "path": f.path}
            )
    refusal = access_request_refusal(user, model)
    latest = browse.latest_request(user=user, model=model)
    grant = latest if latest and latest.status == AccessRequest.Status.APPROVED and has_grant(user, model) else None
    level = file_access_level(model, snapshot)
    try:
        retirement = model.retirement
    except Retirement.DoesNotExist:
        retirement = None
    citation = None
    if snapshot is not None and snapshot.state == "sealed":
        cited = citation_for(snapshot, user=user, build=request.build_absolute_uri)
        data = json.dumps(json_ld(cited), ensure_ascii=False)
        citation = {"text": text(cited).strip(), "identifier": cited.identifier,
                    "json_ld": mark_safe(data.replace("<", "\\u003C").replace(">", "\\u003E").replace("&", "\\u0026")),
                    "formats": {fmt: reverse("api:snapshot-cite", kwargs={"provider": provider, "name": name,
                                "revision": snapshot.revision, "cite_format": fmt}) for fmt in FORMATS}}
    context = {
        "citation": citation,
        "model": model,
        "replacement": visible_replacement(user, model),  # never model.replacement in the template
        "timeline": _timeline(model),
        "lifecycle_bar": timeline_layout([model], today=timezone.localdate()),
        "retirement": retirement,
        "platforms": selectors.model_platforms(model),
        "snapshots": snapshots,
        "snapshot": snapshot,
        "refs": refs,
        "sealed": browse.sealed_snapshot(request=request, snapshot=snapshot, can_read=can_read),
        "files": files_page.object_list if files_page else [],
        "files_page": files_page,
        "preservation": preservation,
        "can_read": can_read,
        "denial": None if can_read else file_access_denial(user, model, snapshot),
        "file_access_label": dict(FileAccess.choices).get(level, level),
        "latest_request": latest,
        "grant": grant,
        "show_request_form": user.is_authenticated
        and refusal is None
        and not (latest and latest.status == AccessRequest.Status.PENDING),
        "form": form or AccessRequestForm(),
        "is_curator": is_curator(user),
        "pending_count": browse.pending_request_count(model) if is_curator(user) else 0,
        "now": timezone.now(),
        "access_changes": list(access_changes_pending(model)),  # embargoes: future access levels, by date
    }
    # Object Lock retention and legal hold of the shown snapshot: for curators only.
    context["retention"] = archive_retention.snapshot_retention(snapshot) if snapshot and is_curator(user) else None
    context["dossier"] = model_dossier(user=user, model=model)  # the retirement dossier's section (web/dossier.py)
    return render(request, "web/model_detail.html", context, status=status)


@login_required
@require_POST
def access_request_submit(request, provider, name):
    model = _model_or_404(request, provider, name)
    form = AccessRequestForm(request.POST)
    if not form.is_valid():
        return model_detail(request, provider, name, form=form, status=400)
    try:
        access.access_request_create(user=request.user, model=model, **form.cleaned_data)
    except ValidationError as exc:
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
        return model_detail(request, provider, name, form=form, status=400)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("web:model", provider=provider, name=name)
    messages.success(request, f"Your request for {model.repo_id} was sent; a curator will decide it.")
    return redirect("web:model", provider=provider, name=name)


def signup(request):
    invitation = request.POST.get("invitation") or request.GET.get("invitation") or ""
    if not accounts.signup_allowed(invitation=invitation):
        return render(request, "web/signup.html", {"closed": True}, status=403)
    invited_email = accounts.invitation_email(invitation) if invitation else None
    form = SignupForm(request.POST or None, initial={"email": invited_email} if invited_email else None)
    if request.method == "POST" and form.is_valid():
        try:
            user = accounts.user_signup(
                username=form.cleaned_data["username"],
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password1"],
                invitation=invitation or None,
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
            context = {"form": form, "invitation": invitation, "invited_email": invited_email}
            return render(request, "web/signup.html", context, status=exc.status_code)
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, f"Welcome, {user.get_username()}.")
        return redirect("web:account")
    context = {"form": form, "invitation": invitation, "invited_email": invited_email}
    return render(request, "web/signup.html", context, status=400 if request.method == "POST" else 200)


def _account(request, status=200, **extra):
    context = {
        "tokens": AuthToken.objects.filter(user=request.user).order_by("-created"),
        "requests": browse.user_requests(request.user)[:200],
        "token_form": TokenForm(),
        "invite_form": InviteForm(),
        "is_curator": is_curator(request.user),
        "default_token_days": settings.CODA_TOKEN_TTL_DAYS or None,
        "now": timezone.now(),
        **extra,
    }
    return render(request, "web/account.html", context, status=status)


@login_required
def account(request):
    return _account(request)


@login_required
@require_POST
def token_create(request):
    if not throttling.token_create_allowed(request.user):
        return throttling.too_many("Too many tokens created; try again later.")
    form = TokenForm(request.POST)
    if not form.is_valid():
        return _account(request, status=400, token_form=form)
    _, token = accounts.api_token_create(
        user=request.user,
        expires_days=form.cleaned_data["expires_days"],
        never_expires=form.cleaned_data["never_expires"],
    )
    # Rendered in this response only (never stored in plain text or in the session).
    response = _account(request, new_token=token)
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def token_revoke(request, token_key):
    try:
        accounts.api_token_revoke(user=request.user, token_key=token_key)
    except NotFoundError as exc:
        raise Http404(exc.message) from None
    messages.success(request, f"Token {token_key}… revoked.")
    return redirect("web:account")


@login_required
@require_POST
def invite(request):
    form = InviteForm(request.POST)
    if not is_curator(request.user):
        raise Http404("Only curators invite researchers.")
    if not form.is_valid():
        return _account(request, status=400, invite_form=form)
    token = accounts.invitation_create(inviter=request.user, email=form.cleaned_data["email"])
    url = request.build_absolute_uri(reverse("web:signup") + f"?invitation={token}")
    return _account(request, invite_url=url, invite_email=form.cleaned_data["email"])
