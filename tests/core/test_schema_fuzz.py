"""Schemathesis against the live schema (/api/schema/): every operation, anonymous and as a curator, every check
(response_schema_conformance included: a curator's writes reach their success answers through real references).

Bounded: a few positive and a few negative examples per operation, derandomized (the same cases every run).
Requests go through the WSGI app in-process, so they use the test database (PostgreSQL when DATABASE_URL says so).
"""

import collections

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from knox.models import AuthToken
from schemathesis import GenerationMode

from archive.withdrawals import model_withdraw
from tests.archive.citation.snapshots import sealed_snapshot
from tests.core.openapi import load_openapi
from tests.factories import AIModelFactory, CuratorFactory, ProviderFactory, UserFactory

EXAMPLES = {GenerationMode.POSITIVE: 4, GenerationMode.NEGATIVE: 3}
# Every check runs. Two settings differ from the defaults. A schema-valid request may still be a 400, because
# OpenAPI cannot say what the services check (the provider a body names exists, a cursor is one the API issued,
# dates are in order, a slug is well formed). Shape errors stay failures: bodies declare additionalProperties:
# false and page_size its bounds, so generated positive data never trips them. 5xx is dropped from the accepted
# list (schemathesis' default accepts it for positive data; not_a_server_error still fails on any).
# And 410 Gone, the documented answer of a withdrawn model's or snapshot's doors (its state, like 404 and 409), is
# among the answers to valid data and among the refusals of invalid data (the door refuses before it reads the rest).
REFUSALS = ["400", "401", "403", "404", "405", "406", "409", "410", "415", "422", "428", "429"]
CONFIG = {
    "checks": {
        "positive_data_acceptance": {
            "expected-statuses": ["2xx", "3xx", "400", "401", "403", "404", "409", "410", "429"]
        },
        "negative_data_rejection": {"expected-statuses": REFUSALS},
    }
}


def _refer_to_real_objects(case, references: dict) -> None:
    """Generated references (`"model": "x/y"`) name nothing, so a write that needs one never got past its 400 and its
    success answer was never checked against the schema. In a positive case each string a body gives for one of
    these keys becomes a real object (negative cases stay as generated: the string may be what is wrong)."""
    if isinstance(case.body, dict):
        for key, value in references.items():
            if isinstance(case.body.get(key), str):
                case.body[key] = value


def _fuzz(schema, headers: dict, counts: collections.Counter, statuses: collections.Counter, failures: list,
          path_parameters: dict | None = None, references: dict | None = None) -> None:
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
                if references and mode is GenerationMode.POSITIVE:
                    _refer_to_real_objects(case, references)
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


@pytest.mark.django_db
def test_schemathesis_finds_no_server_errors_or_schema_violations(capsys, _keep_connection, settings):
    # The fuzzer sends hundreds of bad tokens from one address; throttling (tested in tests/core/test_throttling.py)
    # would answer every later case 429 and hide the handlers from it.
    settings.CODA_AUTH_FAILURES_PER_ADDRESS = settings.CODA_AUTH_FAILURES_PER_USER = 10**9
    settings.CODA_TOKEN_CREATE_LIMIT = 10**9
    provider = ProviderFactory(slug="acme")
    m1 = AIModelFactory(provider=provider, name="m-1", file_access="public")
    AIModelFactory(provider=provider, name="m-2")
    curator = CuratorFactory()
    UserFactory()
    _, token = AuthToken.objects.create(user=curator, expiry=None)
    sealed = sealed_snapshot(m1)
    gone = AIModelFactory(provider=provider, name="gone", file_access="public")
    gone_snapshot = sealed_snapshot(gone)
    model_withdraw(model=gone, reason="Legal request", keep_bytes="keep", withdrawn_by=curator)
    schema = load_openapi(CONFIG)
    counts: collections.Counter = collections.Counter()
    statuses: collections.Counter = collections.Counter()
    failures: list[str] = []
    curator_headers = {"Authorization": f"Bearer {token}"}
    references = {"model": "acme/m-1", "replacement": "acme/m-2", "provider": "acme"}
    passes = (
        ("anonymous", {}, None, None),
        ("curator", curator_headers, None, references),
        # Generated path segments rarely name a real model; these passes fix provider/name (and the revision) to ones
        # that exist so the handlers behind the lookup see generated bodies and parameters too: a model with a sealed
        # snapshot, then a withdrawn one (its doors answer 410 Gone, which must be documented).
        ("curator on acme/m-1", curator_headers, {"provider": "acme", "name": "m-1", "revision": sealed.revision}, references),
        ("curator on acme/gone (withdrawn)", curator_headers,
         {"provider": "acme", "name": "gone", "revision": gone_snapshot.revision}, references),
    )
    for who, headers, path_parameters, body_references in passes:
        before = sum(counts.values())
        _fuzz(schema, headers, counts, statuses, failures, path_parameters, body_references)
        with capsys.disabled():
            print(f"\nschemathesis {who}: {sum(counts.values()) - before} cases, failures so far: {len(failures)}")
    with capsys.disabled():
        print(
            f"schemathesis: {len({op for op, _ in counts})} operations, {sum(counts.values())} cases, "
            f"{len(failures)} failures; responses by status: {dict(sorted(statuses.items()))}"
        )
    assert not failures, "\n\n".join(failures)
