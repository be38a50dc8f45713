"""Every page of the researchers' site, on the seeded data (`import_deprecations` + `load_story` + one preserved
model), answers with the status and title recorded in `page_census.json`: moving the site between apps (issue 25)
changes no URL, no status and no title a researcher sees.

`CODA_UPDATE_CENSUS=1 pytest tests/…/test_page_census.py` rewrites the record (only when a page is meant to change)."""

import json
import os
import re
from html import unescape
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client

from catalogue.models import AIModel, Provider
from tests.archive.helpers import preserve_now
from tests.factories import CuratorFactory, UserFactory

RECORD = Path(__file__).with_name("page_census.json")
TITLE = re.compile(r"<title>(.*?)</title>", re.S)

FIXED = [
    "/", "/providers/", "/retirements/upcoming/", "/timeline/", "/preservation/", "/signup/", "/accounts/login/",
    "/account/", "/?q=claude", "/models/anthropic/claude-3-opus-20240229/?tab=files", "/?status=retired", "/?status=active", "/?retirement_year=2024", "/?provider=anthropic",
    "/?sort=-retires_on", "/?page=2", "/timeline/?provider=openai", "/timeline/?retirement_year=2025",
    "/models/nobody/nothing/", "/providers/nobody/", "/no-such-page/",
]


def _urls() -> list[str]:
    urls = list(FIXED)
    urls += [f"/providers/{slug}/" for slug in Provider.objects.order_by("slug").values_list("slug", flat=True)]
    urls += [
        f"/models/{provider}/{name}/"
        for provider, name in AIModel.objects.order_by("provider__slug", "name").values_list("provider__slug", "name")
    ]
    return urls


def _title(html: str) -> str:
    found = TITLE.search(html)
    return " ".join(unescape(found.group(1)).split()) if found else ""


def census(clients: dict[str, Client]) -> dict[str, dict[str, list]]:
    out = {}
    for role, client in clients.items():
        for url in _urls():
            response = client.get(url)
            out.setdefault(url, {})[role] = [response.status_code, _title(response.content.decode())]
    return out


@pytest.mark.django_db(transaction=True)
def test_every_page_keeps_its_status_and_title(staging_dir, monkeypatch):
    call_command("import_deprecations", verbosity=0)
    call_command("load_story", verbosity=0)
    model = AIModel.objects.get(provider__slug="anthropic", name="claude-3-opus-20240229")
    preserve_now(model, staging_dir, {"config.json": b'{"layers": 2}', "weights.safetensors": b"\x00" * 4096}, monkeypatch)

    curator = Client()
    curator.force_login(CuratorFactory(username="census-curator"))
    researcher = Client()
    researcher.force_login(UserFactory(username="census-researcher"))
    found = census({"anonymous": Client(), "researcher": researcher, "curator": curator})

    if os.environ.get("CODA_UPDATE_CENSUS") == "1":
        RECORD.write_text(json.dumps(found, indent=1, sort_keys=True) + "\n")
    recorded = json.loads(RECORD.read_text())
    assert len(recorded) > 150  # every seeded model's page is in the record
    assert sorted(found) == sorted(recorded)
    changed = {url: (recorded[url], found[url]) for url in recorded if recorded[url] != found[url]}
    assert not changed, changed
