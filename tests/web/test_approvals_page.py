"""The curators' approvals page (/approvals/) and the health page's pending approvals: a second curator approves or
refuses with a CSRF-protected form, the proposer cannot approve, others get 404; nothing inline (CSP)."""

import pytest
from django.test import Client

from catalogue.models import AIModel, Proposal
from tests.factories import AIModelFactory, CuratorFactory, ProviderFactory, UserFactory, api_client
from tests.web.inline import has_inline_code

pytestmark = pytest.mark.django_db


def signed_in(user, **kwargs) -> Client:
    client = Client(**kwargs)
    client.force_login(user)
    return client


@pytest.fixture
def proposed():
    alice, bob = CuratorFactory(username="alice"), CuratorFactory(username="bob")
    model = AIModelFactory(provider=ProviderFactory(slug="lab"), name="secret", file_access="restricted")
    answer = api_client(alice).patch("/api/v1/models/lab/secret/", {"file_access": "public"}, format="json")
    assert answer.status_code == 202
    return {"alice": alice, "bob": bob, "model": model, "id": answer.json()["proposal"]["id"]}


def test_second_curator_approves_on_the_page(proposed):
    bob = signed_in(proposed["bob"])
    page = bob.get("/approvals/")
    html = page.content.decode()
    assert page.status_code == 200 and f'id="proposal-{proposed["id"]}"' in html
    assert "Lower lab/secret&#x27;s file access from restricted to public" in html
    assert f'action="/approvals/{proposed["id"]}/approve/"' in html and "csrfmiddlewaretoken" in html
    assert not has_inline_code(html)
    done = bob.post(f"/approvals/{proposed['id']}/approve/", {"note": "ok"}, follow=True)
    assert f"Change {proposed['id']} approved" in done.content.decode()
    assert AIModel.objects.get(pk=proposed["model"].pk).file_access == "public"
    assert Proposal.objects.get(pk=proposed["id"]).decided_by == proposed["bob"]


def test_proposer_sees_no_approve_button_and_cannot_approve(proposed):
    alice = signed_in(proposed["alice"])
    html = alice.get("/approvals/").content.decode()
    assert "another curator approves" in html and f'/approvals/{proposed["id"]}/approve/' not in html
    refused = alice.post(f"/approvals/{proposed['id']}/approve/", follow=True)
    assert "a different curator must approve it" in refused.content.decode()
    assert AIModel.objects.get(pk=proposed["model"].pk).file_access == "restricted"


def test_refuse_on_the_page_and_forms_need_the_csrf_token(proposed):
    strict = signed_in(proposed["bob"], enforce_csrf_checks=True)
    assert strict.post(f"/approvals/{proposed['id']}/refuse/").status_code == 403  # no token: refused
    assert Proposal.objects.get(pk=proposed["id"]).status == "pending"
    done = signed_in(proposed["bob"]).post(f"/approvals/{proposed['id']}/refuse/", follow=True)
    assert f"Change {proposed['id']} refused" in done.content.decode()
    assert AIModel.objects.get(pk=proposed["model"].pk).file_access == "restricted"
    listed = signed_in(proposed["bob"]).get("/approvals/?status=refused").content.decode()
    assert f'id="proposal-{proposed["id"]}"' in listed


def test_non_curators_get_404(proposed):
    rita = signed_in(UserFactory(username="rita"))
    assert rita.get("/approvals/").status_code == 404
    assert rita.post(f"/approvals/{proposed['id']}/approve/").status_code == 404
    assert Client().get("/approvals/").status_code == 302  # to the sign-in page
    assert Proposal.objects.get(pk=proposed["id"]).status == "pending"


def test_health_page_lists_pending_approvals(proposed):
    html = signed_in(proposed["bob"]).get("/preservation/").content.decode()
    assert 'id="pending-approvals"' in html and "1 change waiting for a second curator" in html
    assert "Lower lab/secret" in html and not has_inline_code(html)
    signed_in(proposed["bob"]).post(f"/approvals/{proposed['id']}/approve/")
    assert 'id="no-pending-approvals"' in signed_in(proposed["bob"]).get("/preservation/").content.decode()
