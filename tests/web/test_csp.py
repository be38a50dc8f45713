"""The web catalogue's pages carry a Content-Security-Policy that allows Coda itself only; the admin and the
API's Swagger UI (which run inline scripts) answer as before, without it."""

import re

import pytest
from django.test import Client

from web.csp import POLICY
from tests.factories import AIModelFactory, ProviderFactory, UserFactory
from tests.web.inline import INLINE_SCRIPT

PIXEL = "https://tracker.example/pixel.png"


@pytest.fixture
def model(db):
    return AIModelFactory(
        provider=ProviderFactory(slug="lab", name="Lab"), name="orca-7b", display_name="Orca 7B",
        description=f"A card with a picture ![pixel]({PIXEL}) and [a link](https://example.org).",
        file_access="gated", access_terms=f"Research use only. <img src=\"{PIXEL}\">",
    )


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


PAGES = ["/", "/?q=orca", "/models/lab/orca-7b/", "/providers/", "/providers/lab/", "/retirements/upcoming/",
         "/signup/", "/accounts/login/"]


def test_policy_allows_only_this_site():
    directives = dict(part.strip().split(" ", 1) for part in POLICY.split(";"))
    assert directives["default-src"] == "'self'"
    assert "unsafe-inline" not in POLICY and "unsafe-eval" not in POLICY and "http" not in POLICY
    assert directives["object-src"] == "'none'" and directives["form-action"] == "'self'"


@pytest.mark.parametrize("client_kind", ["anonymous", "researcher"])
def test_web_pages_carry_the_policy_and_nothing_inline(model, client_kind):
    client = Client() if client_kind == "anonymous" else signed_in(UserFactory(username="rita"))
    paths = PAGES if client_kind == "anonymous" else ["/models/lab/orca-7b/", "/account/"]
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, path
        assert response["Content-Security-Policy"] == POLICY, path
        html = response.content.decode()
        # Nothing the policy would block: no inline script or style, no event handler, no foreign source.
        assert not INLINE_SCRIPT.search(html), path
        assert "<style" not in html and not re.search(r"\sstyle=", html), path
        assert not re.search(r"\son[a-z]+=", html), path
        assert not re.search(r"""\b(?:src|href)=["'](?:https?:)?//""", html.replace('href="https://example.org"', "")), path
    if client_kind == "researcher":
        html = client.get("/models/lab/orca-7b/").content.decode()
        assert "Research use only." in html and "I accept the access terms" in html  # the request form with terms


def test_model_card_images_do_not_reach_the_page(model):
    html = Client().get("/models/lab/orca-7b/").content.decode()
    assert "<img" not in html and "tracker.example" not in html
    assert '<a href="https://example.org" rel="noopener noreferrer nofollow">a link</a>' in html


def test_not_found_in_the_catalogue_carries_the_policy(db):
    response = Client().get("/models/lab/nothing/")
    assert response.status_code == 404 and response["Content-Security-Policy"] == POLICY


def test_admin_and_api_docs_still_answer_without_the_policy(db):
    chief = UserFactory(username="chief", is_staff=True, is_superuser=True)
    anonymous = Client()
    for path in ("/admin/login/", "/api/docs/"):
        response = anonymous.get(path)
        assert response.status_code == 200, path
        assert "Content-Security-Policy" not in response, path
    admin = signed_in(chief)
    for path in ("/admin/", "/admin/catalogue/accessrequest/", "/api/docs/"):
        response = admin.get(path)
        assert response.status_code == 200, path
        assert "Content-Security-Policy" not in response, path


def test_api_is_not_given_the_html_policy(model):
    response = Client().get("/api/v1/models/lab/orca-7b/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200 and "Content-Security-Policy" not in response
