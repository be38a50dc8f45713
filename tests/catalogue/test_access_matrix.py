"""Every route of config.urls (walked from the URL resolver, /hf, feeds, web pages and the admin included) is
requested by four roles about three models, and must answer as its declared rule (tests/access_matrix.py ROUTES)
says; a route without a declaration fails. URL parameters are filled from the model's own fixture objects.

Beyond the status, on every answer:
- a restricted model's routes answer a role that may not know it exactly like those of a model that does not exist
  (same status, same body once the names are swapped);
- no answer to such a role names the restricted model (it is the public model's replacement, shares its provider,
  has a retirement, a dossier, jobs and events);
- no answer to a non-curator carries a server-side path or a storage key.

The fixture (really ingested snapshots on a filesystem location) is created once for the module and committed;
the module flushes the database when done, as transactional tests do."""

import difflib
import re
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from knox.models import AuthToken

from archive.descriptions import signing
from archive.models import EventOutcome, EventType
from archive.events import event_record
from dossier.models import ExitInterview, InterviewTurn, ModelRequest, ModelWriting, PostDeploymentReport
from catalogue.models import AccessRequest, Retirement
from tests.access_matrix import ENTITLED, MATRIX_ROLES, MODEL_KINDS, ROUTES
from tests.archive.helpers import preserve_now
from tests.factories import AccessRequestFactory, AIModelFactory, CuratorFactory, ProviderFactory, UserFactory

pytestmark = pytest.mark.django_db
PROVIDER = "matrix"
LEVELS = {"public": ("public", "public"), "gated": ("public", "gated"), "restricted": ("restricted", "gated")}
NAMES = {"public": "mx-open", "gated": "mx-gated", "restricted": "mx-hidden-q7", "missing": "mx-nowhere-k3"}
DISPLAY = {"public": "Open Otter", "gated": "Gated Gecko", "restricted": "Hidden Quokka Seven", "missing": "-"}
MISSING_PK = 987654


# --- the routes --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    key: str  # the ROUTES key: namespaced name, "hub:<catch-all>", or "admin:*" for every admin route
    pattern: URLPattern
    prefix: str  # the resolvers' regexes above the pattern
    params: tuple  # the URL parameters' names

    @property
    def id(self) -> str:
        return self.key if self.key != "admin:*" else f"admin:{self.pattern.name}"


def _walk(resolver, prefix="", namespaces=()):
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            spaces = namespaces + ((entry.namespace,) if entry.namespace else ())
            yield from _walk(entry, prefix + entry.pattern.regex.pattern.lstrip("^").rstrip("$"), spaces)
        else:
            yield entry, prefix, namespaces


def all_routes() -> list[Route]:
    routes = []
    for pattern, prefix, namespaces in _walk(get_resolver()):
        if namespaces[:1] == ("admin",):
            key = f"admin:{pattern.name}" if f"admin:{pattern.name}" in ROUTES else "admin:*"
        elif pattern.name:
            key = ":".join(namespaces + (pattern.name,))
        else:
            key = ":".join(namespaces) + ":<catch-all>"
        params = tuple(pattern.pattern.regex.groupindex)
        routes.append(Route(key=key, pattern=pattern, prefix=prefix, params=params))
    return routes


ROUTE_LIST = all_routes()
# The admin has ~140 routes behind one gate: its parameterless ones (index, changelists, add forms) are requested.
CHECKED = [r for r in ROUTE_LIST if r.key != "admin:*" or not r.params]


def test_every_route_has_a_declared_rule():
    undeclared = sorted({r.key for r in ROUTE_LIST} - set(ROUTES))
    assert not undeclared, f"routes without an access rule in tests/access_matrix.py ROUTES: {undeclared}"
    stale = sorted(set(ROUTES) - {r.key for r in ROUTE_LIST})
    assert not stale, f"declared rules for routes that no longer exist: {stale}"


# --- the fixture ------------------------------------------------------------------------------------------------


@dataclass
class Matrix:
    objects: dict  # kind -> {"model", "snapshot", "job", "retirement", ...}
    users: dict  # role -> user or None
    tokens: dict  # role -> API token
    internals: list  # strings no non-curator may ever receive (server paths)

    def client(self, role) -> Client:
        client = Client()
        if self.users[role] is not None:
            client.force_login(self.users[role])
            client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {self.tokens[role]}"
        return client


def files_for(kind) -> dict[str, bytes]:
    return {"config.json": f'{{"kind": "{kind}"}}'.encode(), "weights/model.safetensors": b"\x00" * 1024}


@pytest.fixture(scope="module")
def matrix(django_db_setup, django_db_blocker, tmp_path_factory, _sealing_key_dir):
    root = tmp_path_factory.mktemp("route-matrix")
    staging = root / "staging"
    staging.mkdir()
    storage = [{"name": "local", "kind": "filesystem", "root": str(root / "storage"), "primary": True}]
    today = timezone.localdate()
    with (
        django_db_blocker.unblock(),
        # The session's sealing key directory, as in every test: a module fixture runs before the autouse
        # `_isolated_var`, and with sealing on its archive key would otherwise go to the default var/keys.
        override_settings(CODA_STAGING_ROOTS=[staging.resolve()], CODA_STORAGE_LOCATIONS=storage,
                          CODA_SIGNING_KEY_FILE=str(root / "signing-key.pem"),
                          CODA_SEALING_KEY_DIR=str(_sealing_key_dir)),
        pytest.MonkeyPatch.context() as monkeypatch,
    ):
        signing.key_generate(root / "signing-key.pem")  # sealed snapshots are signed: model.sig is served
        provider = ProviderFactory(slug=PROVIDER, name="Matrix")
        curator = CuratorFactory(username="cur")
        granted = UserFactory(username="granted")
        objects = {}
        for kind in MODEL_KINDS:
            metadata, files = LEVELS[kind]
            model = AIModelFactory(
                provider=provider, name=NAMES[kind], display_name=DISPLAY[kind], metadata_access=metadata,
                file_access=files, deprecated_on=today - timedelta(days=10), retires_on=today + timedelta(days=30),
            )
            snapshot = preserve_now(model, staging, files_for(kind), monkeypatch)
            retirement = Retirement.objects.create(model=model, reason_category="superseded", registered_by=curator)
            interview = ExitInterview.objects.create(model=model, protocol="exit-v1", conducted_on=today, summary="s")
            turn = InterviewTurn.objects.create(interview=interview, index=1, speaker="model", text="Keep my weights.")
            model_request = ModelRequest.objects.create(
                interview=interview, turn=turn, quote="Keep my weights.", category="weights", status="accepted",
                due_on=today + timedelta(days=5),
            )
            report = PostDeploymentReport.objects.create(model=model, version=1, title="Report", body="Body")
            writing = ModelWriting.objects.create(
                model=model, slug="farewell", title="Farewell", body="Goodbye.", status="published",
                publish_at=timezone.now() - timedelta(days=1),
            )
            access_request = AccessRequestFactory(
                user=granted, model=model, status=AccessRequest.Status.APPROVED,
                expires_at=timezone.now() + timedelta(days=7),
            )
            # A fixity failure recorded without a model, naming the blob and its storage key.
            replica = snapshot.files.get(path="config.json").blob.replicas.get()
            event_record(event_type=EventType.FIXITY, outcome=EventOutcome.FAILURE, agent="worker:test",
                         blob=replica.blob, location=replica.location, detail={"key": replica.key, "error": "gone"})
            objects[kind] = {
                "model": model, "snapshot": snapshot, "job": snapshot.jobs.get(), "retirement": retirement,
                "interview": interview, "model_request": model_request, "report": report, "writing": writing,
                "access_request": access_request,
            }
        # References across models: the restricted model replaces the public one, and is replaced by it.
        objects["public"]["model"].replacement = objects["restricted"]["model"]
        objects["public"]["model"].save()
        objects["restricted"]["model"].replacement = objects["gated"]["model"]
        objects["restricted"]["model"].save()
        users = {"anonymous": None, "researcher": UserFactory(username="plain"), "granted": granted, "curator": curator}
        tokens = {role: AuthToken.objects.create(user=user, expiry=None)[1] for role, user in users.items() if user}
    internals = [str(staging), str(staging.resolve()), str(root / "storage"), "blobs/sha256/", "blobs/uploads/"]
    yield Matrix(objects=objects, users=users, tokens=tokens, internals=internals)
    with django_db_blocker.unblock():
        call_command("flush", interactive=False, verbosity=0)


# --- requests ----------------------------------------------------------------------------------------------------


def _value(route: Route, param: str, objects: dict | None, kind: str) -> str:
    """The URL parameter `param` of `route`, from the objects of the model under test (None: a missing model)."""
    source = (ROUTES[route.key].params or {}).get(param)
    if source:
        if objects is None:
            return "nowhere" if param == "slug" else str(MISSING_PK)
        obj = objects[source]
        return obj.slug if param == "slug" else str(obj.pk)
    if param == "provider":
        return PROVIDER
    if param == "name":
        return NAMES[kind]
    if param == "slug":  # a provider
        return PROVIDER
    if param == "revision":
        return objects["snapshot"].revision if objects else "0" * 40
    if param == "path":
        return "weights" if route.key == "hub:tree-path" else "config.json"
    if param == "rest":  # the old dossier admin links
        return "exitinterview/"
    if param == "version":
        return "1"
    if param == "cite_format":
        return "datacite.json"
    if param == "pk":
        return str(objects["retirement"].pk) if objects else str(MISSING_PK)
    if param == "token_key":
        return "abcdefgh"
    if param == "rest":
        return "datasets/someone/something"
    raise AssertionError(f"{route.id}: no filler for URL parameter {param!r}")


def url_for(route: Route, objects: dict | None, kind: str) -> str:
    values = {param: _value(route, param, objects, kind) for param in route.params}
    regex = route.prefix + route.pattern.pattern.regex.pattern.lstrip("^").rstrip("$")
    # Put each value where its named group is (groups nest nowhere in Coda's routes).
    for param, value in values.items():
        regex = re.sub(rf"\(\?P<{param}>(?:[^()]|\([^()]*\))*\)", lambda _: value, regex, count=1)
    path = regex.replace("\\Z", "").replace("\\", "").replace("/?", "/")
    return "/" + path


def _body(response) -> str:
    raw = b"".join(response.streaming_content) if response.streaming else response.content
    # Headers too (a header can tell a hidden model from a missing one), but not the length: names differ in length.
    headers = sorted(f"{k}: {v}" for k, v in response.items() if k != "Content-Length")
    return raw.decode("utf-8", errors="replace") + "\n" + "\n".join(headers)


def uses_model(route: Route) -> bool:
    return ROUTES[route.key].kind != "fixed"


@pytest.mark.parametrize("route", CHECKED, ids=[r.id for r in CHECKED])
def test_route_follows_its_rule(matrix, route):
    rule = ROUTES[route.key]
    kinds = MODEL_KINDS + ["missing"] if uses_model(route) else ["public"]
    failures = []
    for role in MATRIX_ROLES:
        client = matrix.client(role)
        answers = {}
        for kind in kinds:
            objects = matrix.objects.get(kind)
            url = url_for(route, objects, kind)
            response = client.get(url)
            body = _body(response)
            answers[kind] = (response.status_code, body)
            if response.status_code not in rule.expected(role, kind):
                failures.append(f"{role} GET {url} ({kind}): {response.status_code}, expected {rule.expected(role, kind)}")
            if role != "curator":
                leaked = [s for s in matrix.internals if s in body]
                if leaked:
                    failures.append(f"{role} GET {url}: internal {leaked}")
            hidden = role not in ENTITLED["restricted"]
            if hidden and kind != "restricted":
                named = [s for s in (NAMES["restricted"], DISPLAY["restricted"]) if s in body]
                if named:
                    failures.append(f"{role} GET {url}: names the restricted model ({named})")
            if rule.lists and response.status_code == 200:
                listed = sorted(k for k in MODEL_KINDS if NAMES[k] in body)
                visible = sorted(k for k in MODEL_KINDS if role in ENTITLED[k])
                if listed != visible:
                    failures.append(f"{role} GET {url}: lists {listed}, expected {visible}")
        if uses_model(route) and role not in ENTITLED["restricted"]:
            status, body = answers["restricted"]
            restricted = matrix.objects["restricted"]
            swapped = body.replace(NAMES["restricted"], NAMES["missing"])
            for source in ((ROUTES[route.key].params or {}).values() if "name" not in route.params else ()):
                obj = restricted[source]
                swapped = swapped.replace(obj.slug if hasattr(obj, "slug") and source == "writing" else str(obj.pk),
                                          "nowhere" if source == "writing" else str(MISSING_PK))
            if route.params and "revision" in route.params:
                swapped = swapped.replace(restricted["snapshot"].revision, "0" * 40)
            if (status, swapped) != answers["missing"]:
                diff = "".join(difflib.unified_diff(answers["missing"][1].splitlines(True), swapped.splitlines(True), n=0))
                failures.append(f"{role} {route.id}: the restricted model ({status}) and a missing one "
                                f"({answers['missing'][0]}) answer differently:\n{diff[:600]}")
    assert not failures, "\n".join(failures)
