"""The access matrix: anonymous, researcher, researcher with a grant, with an expired grant, curator."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from catalogue.models import AccessRequest, AIModel
from catalogue.permissions import can_read_files, can_view_model, file_access_denial, file_access_level, visible_models
from tests.access_matrix import CASES, ROLES
from tests.factories import AIModelFactory, CuratorFactory, ProviderFactory, UserFactory, role_users

pytestmark = pytest.mark.django_db


@pytest.fixture
def users():
    model_for_grants = AIModelFactory(name="granted-model")
    granted = UserFactory(username="granted")
    expired = UserFactory(username="expired")
    return {
        "anonymous": AnonymousUser(),
        "researcher": UserFactory(username="plain"),
        "granted": granted,
        "expired": expired,
        "curator": CuratorFactory(username="cur"),
        "_model": model_for_grants,
    }


def grant(user, model, *, expires_at=None, status="approved"):
    AccessRequest.objects.create(
        user=user, model=model, purpose="p", affiliation="a", accepted_terms=True, status=status, expires_at=expires_at
    )


@pytest.mark.parametrize(
    "file_access,expected",
    [
        ("public", {"anonymous": True, "researcher": True, "granted": True, "expired": True, "curator": True}),
        ("gated", {"anonymous": False, "researcher": False, "granted": True, "expired": False, "curator": True}),
        ("restricted", {"anonymous": False, "researcher": False, "granted": False, "expired": False, "curator": True}),
    ],
)
def test_file_access_matrix(users, file_access, expected):
    model = users["_model"]
    model.file_access = file_access
    model.save()
    grant(users["granted"], model, expires_at=timezone.now() + timedelta(days=1))
    grant(users["expired"], model, expires_at=timezone.now() - timedelta(seconds=1))
    grant(users["researcher"], model, status="denied")
    for role, allowed in expected.items():
        assert can_read_files(users[role], model) is allowed, role


def test_snapshot_override_wins(users):
    from archive.models import Snapshot

    model = users["_model"]
    model.file_access = "public"
    model.save()
    snapshot = Snapshot(model=model, source="x", file_access="restricted")
    assert can_read_files(users["researcher"], model) is True
    assert can_read_files(users["researcher"], model, snapshot) is False
    assert can_read_files(users["curator"], model, snapshot) is True


@pytest.mark.parametrize("role,expected", [("anonymous", False), ("researcher", False), ("granted", True), ("expired", False), ("curator", True)])
def test_restricted_metadata_matrix(users, role, expected):
    model = users["_model"]
    model.metadata_access = "restricted"
    model.save()
    grant(users["granted"], model)
    grant(users["expired"], model, expires_at=timezone.now() - timedelta(days=1))
    assert can_view_model(users[role], model) is expected


def test_denial_message_says_how_to_request(users):
    model = users["_model"]
    message = file_access_denial(users["anonymous"], model)
    assert "request access" in message and model.repo_id in message


def test_rules_follow_the_shared_table():
    """The rule functions themselves, for every row of tests/access_matrix.py and every role; the same table
    drives the surface tests (tests/test_access_matrix.py), so pages, API and downloads cannot disagree with it."""
    from archive.models import Snapshot

    provider = ProviderFactory(slug="rules")
    rows = {}
    for row in CASES:
        model = AIModelFactory(provider=provider, name=row.name, metadata_access=row.metadata, file_access=row.files)
        rows[row] = (model, Snapshot(model=model, source="x", file_access=row.snapshot))
    users = role_users(*(model for model, _ in rows.values()))
    users["anonymous"] = AnonymousUser()
    observed, expected = {}, {}
    for role in ROLES:
        listed = set(visible_models(users[role], AIModel.objects.filter(provider=provider)).values_list("pk", flat=True))
        for row, (model, snapshot) in rows.items():
            observed[row.id, role] = {
                "can_view_model": can_view_model(users[role], model),
                "visible_models": model.pk in listed,
                "can_read_files": can_read_files(users[role], model, snapshot),
                "file_access_level": file_access_level(model, snapshot),
            }
            expected[row.id, role] = {
                "can_view_model": row.sees_model(role),
                "visible_models": row.sees_model(role),
                "can_read_files": row.reads_files(role),
                "file_access_level": row.level,
            }
    assert observed == expected
