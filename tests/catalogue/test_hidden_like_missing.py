"""A restricted model costs the same work as a missing one on every door that looks a model up (issue 26 part 5):
the same SQL statements in the same order (only the looked-up name differs), the same status and body. Time is
measured by benchmarks/hidden_timing.py; this test pins the cause a timing difference would have."""

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from archive.models import Snapshot
from tests.archive.citation.snapshots import sealed_snapshot
from tests.factories import AIModelFactory, ProviderFactory, UserFactory

pytestmark = pytest.mark.django_db

DOORS = {
    "rest-detail": "/api/v1/models/lab/{name}/",
    "web-page": "/models/lab/{name}/",
    "hf-info": "/hf/api/models/lab/{name}",
    "cite": "/api/v1/models/lab/{name}/snapshots/{rev}/cite/bibtex",
    "resolve": "/hf/lab/{name}/resolve/main/config.json",
}


@pytest.fixture
def hidden():
    model = AIModelFactory(provider=ProviderFactory(slug="lab"), name="secret", metadata_access="restricted")
    return sealed_snapshot(model)


def _run(client, url):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    return response, [q["sql"] for q in queries.captured_queries]


def _normalise(statements: list[str], name: str) -> list[str]:
    # The looked-up name is the one value that differs; savepoint ids are counters, "now" moves.
    out = []
    for sql in statements:
        sql = re.sub(r"s\d+_x\d+", "SP", sql.replace(name, "NAME"))
        out.append(re.sub(r"'\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)?\+00:00'", "'NOW'", sql))
    return out


@pytest.mark.parametrize("door", DOORS, ids=DOORS.keys())
@pytest.mark.parametrize("role", ["anonymous", "researcher"])
def test_hidden_and_missing_do_the_same_work(hidden, door, role):
    client = Client()
    if role == "researcher":
        client.force_login(UserFactory(username="someone"))
    rev = hidden.revision
    client.get(DOORS[door].format(name="warm-up", rev=rev))  # session, content types: first-request costs
    secret, secret_sql = _run(client, DOORS[door].format(name="secret", rev=rev))
    missing, missing_sql = _run(client, DOORS[door].format(name="absent", rev=rev))
    assert secret.status_code == missing.status_code == 404
    assert secret.content.replace(b"secret", b"NAME") == missing.content.replace(b"absent", b"NAME")
    assert _normalise(secret_sql, "secret") == _normalise(missing_sql, "absent")
    assert Snapshot.objects.filter(model__name="secret").exists()
