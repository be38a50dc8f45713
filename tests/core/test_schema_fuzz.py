"""Schemathesis against the live schema (/api/schema/): every operation, anonymous and as a curator, every check.

Bounded: a few positive and a few negative examples per operation, derandomized (the same cases every run).
Requests go through the WSGI app in-process, so they use the test database (PostgreSQL when DATABASE_URL says so).
"""

import collections

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from knox.models import AuthToken
from schemathesis import GenerationMode

from tests.factories import AIModelFactory, CuratorFactory, ProviderFactory, UserFactory

EXAMPLES = {GenerationMode.POSITIVE: 4, GenerationMode.NEGATIVE: 3}
# Every check runs. One setting differs from the defaults: a schema-valid request may still be a 400, because
# OpenAPI cannot say what the services check (the provider a body names exists, a cursor is one the API issued,
# dates are in order, a slug is well formed). Shape errors stay failures: bodies declare additionalProperties:
# false and page_size its bounds, so generated positive data never trips them. 5xx is dropped from the accepted
# list (schemathesis' default accepts it for positive data; not_a_server_error still fails on any).
CONFIG = {
    "checks": {
        "positive_data_acceptance": {"expected-statuses": ["2xx", "3xx", "400", "401", "403", "404", "409", "429"]}
    }
}


def _fuzz(schema, headers: dict, counts: collections.Counter, statuses: collections.Counter, failures: list,
          path_parameters: dict | None = None) -> None:
    for result in schema.get_all_operations():
        operation = result.ok()
        names = {p.name for p in operation.path_parameters}
        fixed = {k: v for k, v in (path_parameters or {}).items() if k in names}
        if path_parameters and not fixed:
            continue  # the pass over a real model covers only operations under a model
        for mode, examples in EXAMPLES.items():

            @settings(
                max_examples=examples,
                derandomize=True,
                database=None,
                deadline=None,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy(generation_mode=mode, headers=headers, path_parameters=fixed or None))
            def run(case):
                counts[(operation.label, mode.value)] += 1
                try:
                    response = case.call()
                    statuses[response.status_code] += 1
                    case.validate_response(response)
                except (Exception, BaseExceptionGroup) as exc:  # collect every failure, report them together
                    kinds = [type(e).__name__ for e in getattr(exc, "exceptions", [exc])]
                    failures.append(f"{operation.label} [{mode.value}] {kinds}: {str(exc)[:1500]}")

            try:
                run()
            except Unsatisfiable:
                pass


@pytest.fixture
def _keep_connection():
    """The WSGI handler closes the connection after each request; the test transaction must survive it
    (Django's own test client disconnects the same signal)."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


@pytest.mark.django_db
def test_schemathesis_finds_no_server_errors_or_schema_violations(capsys, _keep_connection, settings):
    # The fuzzer sends hundreds of bad tokens from one address; throttling (tested in tests/core/test_throttling.py)
    # would answer every later case 429 and hide the handlers from it.
    settings.CODA_AUTH_FAILURES_PER_ADDRESS = settings.CODA_AUTH_FAILURES_PER_USER = 10**9
    settings.CODA_TOKEN_CREATE_LIMIT = 10**9
    provider = ProviderFactory(slug="acme")
    AIModelFactory(provider=provider, name="m-1")
    curator = CuratorFactory()
    UserFactory()
    _, token = AuthToken.objects.create(user=curator, expiry=None)
    schema = schemathesis.openapi.from_wsgi(
        "/api/schema/?format=json", get_wsgi_application(), config=schemathesis.Config.from_dict(CONFIG)
    )
    counts: collections.Counter = collections.Counter()
    statuses: collections.Counter = collections.Counter()
    failures: list[str] = []
    curator_headers = {"Authorization": f"Bearer {token}"}
    passes = (
        ("anonymous", {}, None),
        ("curator", curator_headers, None),
        # Generated path segments rarely name a real model; this pass fixes provider/name to one that exists so
        # the handlers behind the lookup see generated bodies and parameters too.
        ("curator on acme/m-1", curator_headers, {"provider": "acme", "name": "m-1"}),
    )
    for who, headers, path_parameters in passes:
        before = sum(counts.values())
        _fuzz(schema, headers, counts, statuses, failures, path_parameters)
        with capsys.disabled():
            print(f"\nschemathesis {who}: {sum(counts.values()) - before} cases, failures so far: {len(failures)}")
    with capsys.disabled():
        print(
            f"schemathesis: {len({op for op, _ in counts})} operations, {sum(counts.values())} cases, "
            f"{len(failures)} failures; responses by status: {dict(sorted(statuses.items()))}"
        )
    assert not failures, "\n\n".join(failures)
