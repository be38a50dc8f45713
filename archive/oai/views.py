"""The OAI-PMH 2.0 endpoint: one view, six verbs (https://www.openarchives.org/OAI/openarchivesprotocol.html)."""

from datetime import datetime, timezone as dt_timezone
from xml.etree import ElementTree as ET

from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import HttpResponse
from django.http.multipartparser import MultiPartParserError
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods
from lxml import etree

from archive.citation.datacite import datacite_etree, datacite_json, model_datacite_json
from archive.citation.records import citation_for
from archive.models import Snapshot
from archive.oai.arguments import FORMATS, OAI_DC, OAIError, check_arguments, parse_date, token_decode, token_encode
from catalogue import selectors as catalogue_selectors
from catalogue.models import AIModel, LifecycleStatus, Provider
from catalogue.permissions import visible_models
from core.text import clean_text

OAI = "http://www.openarchives.org/OAI/2.0/"
DC = "http://purl.org/dc/elements/1.1/"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
REPOSITORY = "coda"
PAGE_SIZE = 500
EARLIEST = "2000-01-01T00:00:00Z"
# §3.2: after a badVerb or badArgument the <request> element carries the base URL only, no attributes.
NOT_ECHOED = ("badVerb", "badArgument")
for prefix, name in (("", OAI), ("oai_dc", OAI_DC), ("dc", DC), ("xsi", XSI)):
    ET.register_namespace(prefix, name)


def _stamp(moment: datetime) -> str:
    return moment.astimezone(dt_timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _identifier(model: AIModel) -> str:
    return f"oai:{REPOSITORY}:{model.repo_key}"


def _model_for(identifier: str) -> AIModel:
    prefix = f"oai:{REPOSITORY}:"
    key = identifier[len(prefix):] if identifier.startswith(prefix) else None
    model = key and _records().filter(repo_key=key).first()
    if not model:
        raise OAIError("idDoesNotExist", f"No record {identifier!r} in this repository.")
    return model


def _records():
    """Every model an anonymous visitor may see (withdrawn ones included, as deleted records)."""
    return visible_models(AnonymousUser(), AIModel.objects.select_related("provider")).order_by("repo_key")


def _sets(model: AIModel) -> list[str]:
    return [f"provider:{model.provider.slug}", f"status:{model.status}"]


def _el(parent, tag: str, text: str | None = None, **attrs):
    element = ET.SubElement(parent, tag, {k: clean_text(v) for k, v in attrs.items() if v is not None})
    if text is not None:
        element.text = clean_text(text)  # XML 1.0: text stored before core.text refused its controls loses them
    return element


def _header(parent, model: AIModel):
    header = _el(parent, f"{{{OAI}}}header", status="deleted" if model.withdrawn_at else None)
    _el(header, f"{{{OAI}}}identifier", _identifier(model))
    _el(header, f"{{{OAI}}}datestamp", _stamp(model.updated_at))
    for spec in _sets(model):
        _el(header, f"{{{OAI}}}setSpec", spec)


def _landing(request, model: AIModel) -> str:
    return request.build_absolute_uri(reverse("web:model", kwargs={"provider": model.provider.slug, "name": model.name}))


def _metadata(request, parent, model: AIModel, prefix: str):
    metadata = _el(parent, f"{{{OAI}}}metadata")
    if prefix == "oai_dc":
        dc = _el(metadata, f"{{{OAI_DC}}}dc", **{f"{{{XSI}}}schemaLocation": f"{OAI_DC} {FORMATS['oai_dc'][1]}"})
        _el(dc, f"{{{DC}}}title", model.display_name or model.name)
        _el(dc, f"{{{DC}}}creator", model.provider.name)
        _el(dc, f"{{{DC}}}type", "Model")
        _el(dc, f"{{{DC}}}identifier", _landing(request, model))
        _el(dc, f"{{{DC}}}identifier", model.repo_id)
        if model.release_date:
            _el(dc, f"{{{DC}}}date", model.release_date.isoformat())
        if model.description.strip():
            _el(dc, f"{{{DC}}}description", model.description.strip()[:2000])
        if model.license:
            _el(dc, f"{{{DC}}}rights", model.license)
        _el(dc, f"{{{DC}}}publisher", "Coda")
        return
    snapshot = Snapshot.objects.filter(model=model, state=Snapshot.State.SEALED).order_by("-sealed_at", "-pk").first()
    if snapshot is not None:
        snapshot.model = model
        data = datacite_json(citation_for(snapshot, user=AnonymousUser(), build=request.build_absolute_uri))
    else:
        data = model_datacite_json(model=model, url=_landing(request, model))
    metadata.append(ET.fromstring(etree.tostring(datacite_etree(data))))


def _page(request, root, verb: str, args: dict):
    if verb == "ListSets":
        if "resumptionToken" in args:  # the sets fit in one answer: no ListSets token was ever issued
            raise OAIError("badResumptionToken", "This resumption token is not valid.")
        specs = [(f"provider:{slug}", name) for slug, name in Provider.objects.order_by("slug").values_list("slug", "name")]
        specs += [(f"status:{value}", f"Lifecycle: {label}") for value, label in LifecycleStatus.choices]
        container = _el(root, f"{{{OAI}}}ListSets")
        for spec, name in specs:
            item = _el(container, f"{{{OAI}}}set")
            _el(item, f"{{{OAI}}}setSpec", spec)
            _el(item, f"{{{OAI}}}setName", name)
        return
    state = token_decode(args["resumptionToken"], verb=verb) if "resumptionToken" in args else {
        "verb": verb, "prefix": args["metadataPrefix"], "from": args.get("from"), "until": args.get("until"),
        "set": args.get("set"), "after": "",
    }
    if state["prefix"] not in FORMATS:
        raise OAIError("cannotDisseminateFormat", f"Unknown metadataPrefix {state['prefix']!r}.")
    records = _records()
    bounds = {}
    for key, end in (("from", False), ("until", True)):
        if state[key] is not None:
            bounds[key] = parse_date(state[key], end=end)
    if len({g for _, g in bounds.values()}) > 1:
        raise OAIError("badArgument", "from and until must have the same granularity.")
    if "from" in bounds:
        records = records.filter(updated_at__gte=bounds["from"][0])
    if "until" in bounds:
        records = records.filter(updated_at__lte=bounds["until"][0])
    spec = state["set"]
    if spec is not None:
        kind, _, value = spec.partition(":")
        if kind == "provider":
            records = records.filter(provider__slug=value)
        elif kind == "status" and value in LifecycleStatus.values:
            records = records.annotate(oai_status=catalogue_selectors.status_expression(timezone.localdate())).filter(oai_status=value)
        else:
            raise OAIError("badArgument", f"No set {spec!r}; ListSets names them.")
    page = list(records.filter(repo_key__gt=state["after"])[: PAGE_SIZE + 1])
    if not page:
        if "resumptionToken" in args:
            raise OAIError("badResumptionToken", "This resumption token is not valid.")
        raise OAIError("noRecordsMatch", "No records match these arguments.")
    container = _el(root, f"{{{OAI}}}{verb}")
    for model in page[:PAGE_SIZE]:
        if verb == "ListIdentifiers":
            _header(container, model)
        else:
            record = _el(container, f"{{{OAI}}}record")
            _header(record, model)
            if not model.withdrawn_at:
                _metadata(request, record, model, state["prefix"])
    if len(page) > PAGE_SIZE or "resumptionToken" in args:
        token = token_encode({**state, "after": page[PAGE_SIZE - 1].repo_key}) if len(page) > PAGE_SIZE else ""
        _el(container, f"{{{OAI}}}resumptionToken", token)


def _verb(request, root, verb: str, args: dict):
    if verb == "Identify":
        identify = _el(root, f"{{{OAI}}}Identify")
        _el(identify, f"{{{OAI}}}repositoryName", "Coda: an archive of retired AI models")
        _el(identify, f"{{{OAI}}}baseURL", request.build_absolute_uri(request.path))
        _el(identify, f"{{{OAI}}}protocolVersion", "2.0")
        _el(identify, f"{{{OAI}}}adminEmail", "archive@coda.invalid")
        _el(identify, f"{{{OAI}}}earliestDatestamp", EARLIEST)
        _el(identify, f"{{{OAI}}}deletedRecord", "persistent")
        _el(identify, f"{{{OAI}}}granularity", "YYYY-MM-DDThh:mm:ssZ")
    elif verb == "ListMetadataFormats":
        if "identifier" in args:
            _model_for(args["identifier"])
        formats = _el(root, f"{{{OAI}}}ListMetadataFormats")
        for prefix, (namespace, schema) in FORMATS.items():
            item = _el(formats, f"{{{OAI}}}metadataFormat")
            _el(item, f"{{{OAI}}}metadataPrefix", prefix)
            _el(item, f"{{{OAI}}}schema", schema)
            _el(item, f"{{{OAI}}}metadataNamespace", namespace)
    elif verb == "GetRecord":
        if args["metadataPrefix"] not in FORMATS:
            raise OAIError("cannotDisseminateFormat", f"Unknown metadataPrefix {args['metadataPrefix']!r}.")
        model = _model_for(args["identifier"])
        record = _el(_el(root, f"{{{OAI}}}GetRecord"), f"{{{OAI}}}record")
        _header(record, model)
        if not model.withdrawn_at:
            _metadata(request, record, model, args["metadataPrefix"])
    else:
        _page(request, root, verb, args)


def _query(request):
    """The arguments: the query string of a GET, the form body of a POST (§3.1.1)."""
    if request.method != "POST":
        return request.GET
    try:
        return request.POST
    except (MultiPartParserError, RequestDataTooBig, SuspiciousOperation):  # a body Django cannot read as a form
        raise OAIError("badArgument", "The request body is not a form Coda can read.") from None


@csrf_exempt
@require_http_methods(["GET", "POST"])
def oai(request):
    """GET or POST /oai?verb=… (core.guard leaves a NUL in these arguments to this view: badArgument)."""
    root = ET.Element(f"{{{OAI}}}OAI-PMH", {f"{{{XSI}}}schemaLocation": f"{OAI} http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd"})
    _el(root, f"{{{OAI}}}responseDate", _stamp(timezone.now()))
    request_el = _el(root, f"{{{OAI}}}request", request.build_absolute_uri(request.path))
    echoed = {}
    try:
        verb, args = check_arguments(_query(request))
        echoed = {"verb": verb, **args}  # every value XML can carry (check_arguments); ElementTree escapes the rest
        _verb(request, root, verb, args)
    except OAIError as exc:
        _el(root, f"{{{OAI}}}error", exc.message, code=exc.code)
        if exc.code in NOT_ECHOED:
            echoed = {}
    for key, value in echoed.items():
        request_el.set(key, value)
    body = b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8", xml_declaration=False)
    return HttpResponse(body, content_type="text/xml; charset=utf-8")
