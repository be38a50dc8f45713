"""The schema tells the truth (issue 26 part 6): every answer matches the operation's documented responses (status,
media type, body), types are what the schema says both ways (a number is not a string, `-1` is not a boolean), and
what the schema allows is accepted (an empty `cursor=` is the first page).

Each repro of the issue is a test here; the class each belongs to is tested over every operation of the live schema
(/api/schema/), so a new operation is covered without being named."""

import re
from datetime import date, timedelta
from urllib.parse import unquote

import pytest
from django.core.management import call_command
from django.urls import get_resolver
from django.utils import timezone
from knox.models import AuthToken
from rest_framework import serializers

from archive.events import event_record
from archive.models import EventOutcome, EventType, IngestJob
from archive.refs import snapshot_tag_create
from archive.withdrawals import model_withdraw, snapshot_withdraw
from catalogue import approvals
from catalogue import services as catalogue_services
from catalogue.embargoes import access_change_schedule
from catalogue.models import AIModel
from core.input import InputSerializer
from dossier.models import ExitInterview, ModelRequest, PostDeploymentReport
from tests.archive.citation.snapshots import sealed_snapshot
from tests.archive.helpers import preserve_now
from tests.core.openapi import call, load_openapi
from tests.factories import AccessRequestFactory, AIModelFactory, CuratorFactory, ProviderFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("_keep_connection")]
NOT_A_STRING = re.compile(r"Expected a string, got")


def token_for(user) -> str:
    return AuthToken.objects.create(user=user, expiry=None)[1]


@pytest.fixture
def openapi():
    return load_openapi()


@pytest.fixture
def acme(db):
    """acme/m-1 (no dates at all) and acme/m-2, a curator's token, a researcher's token."""
    provider = ProviderFactory(slug="acme")
    return {
        "m1": AIModelFactory(provider=provider, name="m-1"),
        "m2": AIModelFactory(provider=provider, name="m-2"),
        "curator": token_for(CuratorFactory()),
        "researcher": token_for(UserFactory()),
    }


def operations(openapi, method: str = "GET"):
    """(path, operation definition) of every documented operation with this method."""
    for path, item in openapi.raw_schema["paths"].items():
        if method.lower() in item:
            yield path, item[method.lower()]


def query_parameters(definition: dict) -> dict[str, dict]:
    return {p["name"]: p for p in definition.get("parameters", []) if p["in"] == "query"}


# --- the success answer says null where it can be null ----------------------------------------------------------


def test_a_retirement_registered_without_a_deprecation_date_answers_what_the_schema_says(openapi, acme):
    """Repro: POST /retirements/ for a model with no deprecation date answered deprecated_on and notice_period_days
    null where the schema said they could not be."""
    body = {"model": "acme/m-1", "reason_category": "cost", "retires_on": "2027-04-08"}
    response = call(openapi, "post", "/api/v1/retirements/", token=acme["curator"], body=body)  # validated
    assert response.status_code == 201, response.text
    data = response.json()
    assert data["deprecated_on"] is None and data["notice_period_days"] is None and data["retires_on"] == "2027-04-08"
    listed = call(openapi, "get", "/api/v1/retirements/", token=acme["curator"])
    assert [row["model"] for row in listed.json()["results"]] == ["acme/m-1"]
    call(openapi, "get", "/api/v1/retirements/{id}/", path_parameters={"id": data["id"]})


def test_a_nullable_source_makes_a_nullable_field_in_the_schema(openapi):
    """The class behind the repro: a declared read-only field whose source can be None is documented nullable."""
    retirement = openapi.raw_schema["components"]["schemas"]["Retirement"]["properties"]
    assert retirement["deprecated_on"].get("nullable") and retirement["notice_period_days"].get("nullable")
    assert not retirement["id"].get("nullable") and not retirement["model"].get("nullable")


# --- a withdrawn model or snapshot: the 410 is documented ------------------------------------------------------------


@pytest.mark.parametrize("role", ["anonymous", "curator"])
def test_a_withdrawn_model_and_a_withdrawn_snapshot_answer_the_documented_410(openapi, acme, role):
    """Repro: the 410 Gone of a withdrawn model's detail was not in the schema."""
    token = acme["curator"] if role == "curator" else None
    curator = CuratorFactory()
    acme["m1"].file_access = acme["m2"].file_access = "public"
    sealed_snapshot(acme["m1"])
    gone = sealed_snapshot(acme["m2"])
    model_withdraw(model=acme["m1"], reason="Legal request", keep_bytes="keep", withdrawn_by=curator)
    snapshot_withdraw(snapshot=gone, reason="Wrong files", keep_bytes="keep", withdrawn_by=curator)

    detail = call(openapi, "get", "/api/v1/models/{provider}/{name}/", token=token,
                  path_parameters={"provider": "acme", "name": "m-1"})
    assert detail.status_code == 410
    assert detail.json()["tombstone"]["reason"] == "Legal request" and detail.json()["model"]["id"] == "acme/m-1"
    for suffix in ("", "manifest", "manifest.sha256"):
        answer = call(openapi, "get", "/api/v1/models/{provider}/{name}/snapshots/{revision}/" + suffix, token=token,
                      path_parameters={"provider": "acme", "name": "m-2", "revision": gone.revision})
        assert answer.status_code == 410, (suffix, answer.text)
        assert answer.json()["code"] == "withdrawn" and answer.json()["tombstone"]["reason"] == "Wrong files"


# --- text is text --------------------------------------------------------------------------------------------------


def _input_serializers() -> list[type[InputSerializer]]:
    get_resolver().url_patterns  # noqa: B018  imports every API module, so every input serializer is defined
    found, todo = [], [InputSerializer]
    while todo:
        for subclass in todo.pop().__subclasses__():
            found.append(subclass)
            todo.append(subclass)
    return found


def _text_fields(serializer) -> list[tuple[str, bool]]:
    """(name, is_a_list) of each writable text field: a CharField of any kind, or a list of them."""
    fields = []
    for name, field in serializer.fields.items():
        if field.read_only:
            continue
        if isinstance(field, serializers.CharField):
            fields.append((name, False))
        elif isinstance(field, serializers.ListField) and isinstance(field.child, serializers.CharField):
            fields.append((name, True))
    return fields


@pytest.mark.parametrize("value", [5, 0, 2.5, True, False, {"a": "b"}, ["x"]])
def test_every_input_text_field_refuses_what_is_not_a_string(value):
    """The class behind the repro: DRF's CharField takes 5 as "5"; every text field of every input serializer
    (declared as CharField, SlugField, URLField … or a list of them) refuses anything but a string, by name."""
    checked = []
    for serializer_class in _input_serializers():
        for name, is_list in _text_fields(serializer_class()):
            serializer = serializer_class(data={name: [value] if is_list else value}, partial=True)
            assert not serializer.is_valid(), (serializer_class.__name__, name)
            errors = serializer.errors[name]
            message = str(errors[0] if not is_list else errors[0][0] if isinstance(errors, dict) else errors)
            assert NOT_A_STRING.search(message), (serializer_class.__name__, name, serializer.errors)
            checked.append(f"{serializer_class.__name__}.{name}")
    assert {"ModelInputSerializer.name", "TurnInputSerializer.text", "ModelInputSerializer.aliases"} <= set(checked)
    assert len(checked) > 40


def test_integers_for_name_and_text_are_a_400_naming_the_field(openapi, acme):
    """Repro: `name` and `text` took integers (stored as "5")."""
    created = call(openapi, "post", "/api/v1/models/", token=acme["curator"], body={"provider": "acme", "name": 5})
    assert created.status_code == 400 and NOT_A_STRING.search(created.json()["errors"]["name"][0])
    assert not AIModel.objects.filter(name="5").exists()
    interview = {"protocol": "p", "conducted_on": "2025-01-01", "turns": [{"speaker": "model", "text": 5}]}
    answer = call(openapi, "post", "/api/v1/models/{provider}/{name}/interviews/", token=acme["curator"],
                  path_parameters={"provider": "acme", "name": "m-1"}, body=interview)
    assert answer.status_code == 400 and NOT_A_STRING.search(answer.json()["errors"]["turns"]["0"]["text"][0])
    assert not ExitInterview.objects.exists()
    fine = call(openapi, "post", "/api/v1/models/", token=acme["curator"], body={"provider": "acme", "name": "m-5"})
    assert fine.status_code == 201


# --- a boolean query parameter is true or false -------------------------------------------------------------------


def test_every_boolean_query_parameter_refuses_other_spellings(openapi, acme):
    """Repro: `has_replacement=-1` was read as "no filter" and answered the whole list. Every boolean query
    parameter of the schema answers 400 naming itself for anything but true/false (1/0), in any case."""
    acme["m2"].replacement = acme["m1"]
    acme["m2"].save()
    checked = []
    for path, definition in operations(openapi):
        booleans = [name for name, p in query_parameters(definition).items() if p["schema"].get("type") == "boolean"]
        for name in booleans:
            where = {"path_parameters": {"provider": "acme", "name": "m-1"}} if "{provider}" in path else {}
            for bad in ["-1", "2", "yes", "", "truthy", "null"]:
                answer = call(openapi, "get", path, token=acme["curator"], query={name: bad}, **where)
                assert answer.status_code == 400, (path, name, bad, answer.status_code)
                assert name in answer.json()["errors"], answer.json()
            for good in ["true", "false", "1", "0", "True", "FALSE"]:
                answer = call(openapi, "get", path, token=acme["curator"], query={name: good}, **where)
                assert answer.status_code == 200, (path, name, good, answer.text[:300])
            checked.append((path, name))
    assert {("/api/v1/models/", "has_replacement"), ("/api/v1/commitments/", "overdue")} <= set(checked)
    replaced = call(openapi, "get", "/api/v1/models/", query={"has_replacement": "true"}).json()["results"]
    assert [m["id"] for m in replaced] == ["acme/m-2"]


# --- an empty cursor is the first page -------------------------------------------------------------------------


def test_an_empty_cursor_is_the_first_page_of_every_cursor_list(openapi, acme):
    """Repro: `cursor=` answered 400 while the schema allows an empty string. On every cursor-paginated list it now
    answers the first page, as no cursor does (the parameter's description says so)."""
    curator = CuratorFactory()
    for seq in range(2):
        sealed_snapshot(acme["m1"], seq=seq)
        catalogue_services.retirement_register(model=acme[f"m{seq + 1}"], retires_on=date(2027, 4, 8),
                                               reason_category="cost", registered_by=curator)
        AccessRequestFactory(model=acme["m1"])
        event_record(event_type=EventType.FIXITY, outcome=EventOutcome.SUCCESS, agent="test", model=acme["m1"])
    checked = []
    for path, definition in operations(openapi):
        cursor = query_parameters(definition).get("cursor")
        if cursor is None:
            continue
        assert "empty" in cursor["description"].lower(), path
        where = {"path_parameters": {"provider": "acme", "name": "m-1"}} if "{provider}" in path else {}
        first = call(openapi, "get", path, token=acme["curator"], query={"page_size": 1}, **where)
        empty = call(openapi, "get", path, token=acme["curator"], query={"page_size": 1, "cursor": ""}, **where)
        assert first.status_code == empty.status_code == 200, (path, empty.text[:300])
        assert empty.json()["results"] == first.json()["results"] and empty.json()["previous"] is None, path
        if empty.json()["next"]:  # the link from a page asked for with `cursor=` leads on
            cursor_value = re.search(r"[?&]cursor=([^&]+)", empty.json()["next"]).group(1)
            second = call(openapi, "get", path, token=acme["curator"],
                          query={"page_size": 1, "cursor": unquote(cursor_value)}, **where)
            assert second.status_code == 200 and second.json()["results"] != first.json()["results"], path
        checked.append(path)
    assert {"/api/v1/models/", "/api/v1/retirements/", "/api/v1/events/", "/api/v1/providers/",
            "/api/v1/models/{provider}/{name}/snapshots/"} <= set(checked), checked


# --- a date-time is a date-time, whatever its offset ----------------------------------------------------------------


def test_a_date_time_filter_reads_any_offset_in_utc(openapi, acme):
    """Found by the fuzz once curator cases reached more handlers: `since=0108-12-26T12:02:02.50-18:19` answered 500
    (PostgreSQL refuses offsets past ±15:59) and aborted the transaction the request ran in."""
    event_record(event_type=EventType.FIXITY, outcome=EventOutcome.SUCCESS, agent="test", model=acme["m1"])
    hour_ago = (timezone.now() - timedelta(hours=1)).astimezone(timezone.get_fixed_timezone(-(18 * 60 + 19)))
    for since, found in [("0108-12-26T12:02:02.50-18:19", 1), (hour_ago.isoformat(), 1), ("2999-01-01T00:00:00+23:59", 0)]:
        answer = call(openapi, "get", "/api/v1/events/", token=acme["curator"], query={"since": since})
        assert answer.status_code == 200 and len(answer.json()["results"]) == found, (since, answer.text[:300])
    for since in ["0001-01-01T00:00:00+05:00", "2026-13-01T00:00:00Z", "2026-01-01T00:00:00+24:00", "yesterday"]:
        answer = call(openapi, "get", "/api/v1/events/", token=acme["curator"], query={"since": since})
        assert answer.status_code == 400 and "since" in answer.json()["errors"], (since, answer.text[:300])


# --- every read, on realistic data, answers what the schema says -----------------------------------------------------


def _path_parameters(path: str, world: dict) -> dict | None:
    """Real values for an operation's path parameters (None when the test has none for it: then it fails)."""
    model = world["model"]
    values = {"provider": model.provider.slug, "name": model.name, "revision": world["revision"],
              "cite_format": "datacite.json", "path": "config.json", "slug": world["writing"],
              "version": world["report"]}
    ids = {
        "/api/v1/access-requests/{id}/": world["access_request"],
        "/api/v1/ingest-jobs/{id}/": world["job"],
        "/api/v1/models/{provider}/{name}/access-changes/{id}/": world["access_change"],
        "/api/v1/models/{provider}/{name}/interviews/{id}/": world["interview"],
        "/api/v1/models/{provider}/{name}/interviews/{id}/transcript": world["interview"],
        "/api/v1/models/{provider}/{name}/interviews/{id}/requests/": world["interview"],
        "/api/v1/models/{provider}/{name}/interviews/{id}/turns/": world["interview"],
        "/api/v1/models/{provider}/{name}/requests/{id}/": world["request"],
        "/api/v1/retirements/{id}/": world["retirement"],
        "/api/v1/approvals/{id}/": world["proposal"],
    }
    if "{id}" in path:
        if path not in ids:
            return None
        values["id"] = ids[path]
    if path.startswith("/api/v1/providers/{slug}"):
        values["slug"] = model.provider.slug
    names = re.findall(r"{(\w+)}", path)
    return {name: values[name] for name in names}


@pytest.fixture
def seeded(db, staging_dir, monkeypatch):
    """The catalogue as `make run` seeds it (deprecations + the Claude 3 Opus story) plus: a preserved snapshot with
    its ingest job and events, a tag, an access request and a scheduled access change, a published writing, a model
    retired without a deprecation date, a withdrawn model and a withdrawn snapshot."""
    call_command("import_deprecations", verbosity=0)
    call_command("load_story", verbosity=0)
    opus = AIModel.objects.get(provider__slug="anthropic", name="claude-3-opus-20240229")
    opus.file_access = "gated"  # anonymous readers meet the file rule (403), curators read the files
    opus.save()
    curator = CuratorFactory()
    snapshot = preserve_now(opus, staging_dir, {"config.json": b'{"layers": 2}', "w.safetensors": b"\x00" * 64}, monkeypatch)
    snapshot_tag_create(snapshot=snapshot, name="as-retired", created_by=curator, message="At retirement.")
    access_change = access_change_schedule(model=opus, field="file_access", level="gated", reason="Embargo",
                                           effective_on=timezone.localdate() + timedelta(days=30), created_by=curator)
    access_request = AccessRequestFactory(model=opus)
    proposal = approvals.proposal_create(kind="access_grant", proposed_by=curator, model=opus,  # two-person rule
                                         params={"user": access_request.user.username, "expires_at": None, "note": ""})
    undated = AIModelFactory(provider=ProviderFactory(slug="acme"), name="undated")
    catalogue_services.retirement_register(model=undated, retires_on=date(2027, 4, 8), reason_category="cost",
                                           registered_by=curator)
    withdrawn = AIModelFactory(provider=undated.provider, name="withdrawn", file_access="public")
    withdrawn_snapshot = sealed_snapshot(withdrawn)
    model_withdraw(model=withdrawn, reason="Legal request", keep_bytes="keep", withdrawn_by=curator)
    partly = AIModelFactory(provider=undated.provider, name="partly", file_access="public")
    kept, gone = sealed_snapshot(partly, seq=0), sealed_snapshot(partly, seq=1)
    snapshot_withdraw(snapshot=gone, reason="Wrong files", keep_bytes="keep", withdrawn_by=curator)
    interview = ExitInterview.objects.filter(model=opus).first()
    world = {
        "model": opus, "revision": snapshot.revision, "job": IngestJob.objects.get(snapshot=snapshot).pk,
        "access_change": access_change.pk, "access_request": access_request.pk, "interview": interview.pk,
        "request": ModelRequest.objects.filter(interview=interview).first().pk,
        "report": PostDeploymentReport.objects.filter(model=opus).order_by("version").first().version,
        "retirement": opus.retirement.pk, "curator": curator, "proposal": proposal.pk,
    }
    token = token_for(curator)
    writing = {"title": "A letter", "body": "Thank you.", "slug": "a-letter",
               "publish_at": (timezone.now() - timedelta(days=1)).isoformat()}
    return world | {"token": token, "writing": writing, "others": [
        (withdrawn, withdrawn_snapshot.revision), (partly, gone.revision), (partly, kept.revision)]}


def _log_signed(settings) -> dict:
    """The tamper-evident log's reads (docs/log.md) need a signed checkpoint, and its proofs their query: the key is
    made after the seal, so snapshots stay unsigned (model.sig still unread). Query parameters by path."""
    from pathlib import Path

    from django.contrib.auth.models import AnonymousUser

    from archive.descriptions import signing
    from archive.log import services as log_services
    from archive.models import PreservationEvent
    from archive.selectors import visible_events

    signing.key_generate(Path(settings.CODA_SIGNING_KEY_FILE))
    assert log_services.checkpoint_sign(agent="worker:test") is not None
    event = visible_events(AnonymousUser(), PreservationEvent.objects.order_by("pk")).first()
    return {"/api/v1/log/proof/inclusion": {"event": event.pk}, "/api/v1/log/proof/consistency": {"from": 1}}


def _read_all(openapi, requests) -> tuple[dict[int, set[str]], list[str]]:
    """Make each (path, path parameters, query, token, label) GET; the paths by status, and every failure."""
    statuses, failures = {}, []
    for path, parameters, query, token, label in requests:
        try:
            answer = call(openapi, "get", path, token=token, path_parameters=parameters, query=query)
        except (Exception, BaseExceptionGroup) as exc:  # every failure at once, not the first
            failures.append(f"{path} {label} {'curator' if token else 'anonymous'}: {str(exc)[:600]}")
            continue
        statuses.setdefault(answer.status_code, set()).add(path)
    return statuses, failures


@pytest.mark.django_db(transaction=True)  # the ingest queues its file tasks on commit (tests/archive/helpers.py)
def test_every_read_answers_what_the_schema_says(openapi, seeded, settings):
    """Every GET operation of the schema, anonymous and as a curator, on the seeded data (lists at their largest
    page): status, media type and body as documented. Then every read under a model again for a withdrawn model,
    a withdrawn snapshot and a kept snapshot of a model with a withdrawn one."""
    world = seeded
    writing = call(openapi, "post", "/api/v1/models/{provider}/{name}/writings/", token=world["token"],
                   path_parameters={"provider": "anthropic", "name": "claude-3-opus-20240229"}, body=world["writing"])
    assert writing.status_code == 201, writing.text
    world["writing"] = writing.json()["slug"]
    log_queries = _log_signed(settings)
    requests, missing = [], []
    for path, definition in operations(openapi):
        parameters = _path_parameters(path, world)
        if parameters is None:
            missing.append(path)
            continue
        query = {"page_size": 500} if "page_size" in query_parameters(definition) else None
        query = log_queries.get(path, query)
        requests += [(path, parameters, query, token, "") for token in (None, world["token"])]
    assert not missing, f"no test data for {missing}"
    statuses, failures = _read_all(openapi, requests)
    assert not failures, "\n\n".join(failures)
    assert set(statuses) <= {200, 302, 401, 403, 404}, statuses
    # Every read answered 200 at least once (not only errors were checked), but model.sig: no signing key here.
    unread = {path for path, _ in operations(openapi)} - statuses[200]
    assert unread == {"/api/v1/models/{provider}/{name}/snapshots/{revision}/model.sig"}, unread

    requests = []
    for model, revision in world["others"]:
        for path, definition in operations(openapi):
            if not path.startswith("/api/v1/models/{provider}/{name}/") or "{id}" in path:
                continue
            parameters = {"provider": model.provider.slug, "name": model.name, "revision": revision,
                          "cite_format": "datacite.json", "path": "config.json", "slug": "none", "version": "1"}
            parameters = {k: v for k, v in parameters.items() if "{" + k + "}" in path}
            requests += [(path, parameters, None, token, f"{model}@{revision[:8]}") for token in (None, world["token"])]
    statuses, failures = _read_all(openapi, requests)
    assert not failures, "\n\n".join(failures)
    assert {"/api/v1/models/{provider}/{name}/", "/api/v1/models/{provider}/{name}/snapshots/{revision}/"} <= statuses[410]
