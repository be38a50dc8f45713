"""The guided first page: what Coda is, links to a retirement dossier, preserved models, the timeline and the
API docs, and counts within the visibility rules."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from archive.models import Replica
from catalogue import services as catalogue_services
from tests.archive.helpers import preserve_now
from tests.factories import AIModelFactory, CuratorFactory, ProviderFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _count(html: str, name: str) -> str:
    start = html.index(f'id="count-{name}">') + len(f'id="count-{name}">')
    return html[start:html.index("</dd>", start)]


def test_home_page_guides_a_newcomer(client, staging_dir, monkeypatch, settings):
    lab = ProviderFactory(slug="lab", name="Lab")
    kept = AIModelFactory(provider=lab, name="kept", display_name="Kept", retires_on=date(2025, 1, 1))
    AIModelFactory(provider=lab, name="other", display_name="Other")
    hidden = AIModelFactory(provider=lab, name="hidden", metadata_access="restricted", retires_on=date(2025, 2, 1))
    catalogue_services.retirement_register(model=kept, retires_on=date(2025, 1, 1), reason_category="cost")
    preserve_now(kept, staging_dir, {"model.safetensors": b"x" * 3000, "config.json": b"{}"}, monkeypatch)
    preserve_now(hidden, staging_dir, {"w.bin": b"y" * 5000}, monkeypatch)
    # One copy's last proof is older than the audit interval: it no longer counts as recently verified.
    stale = Replica.objects.filter(blob__size=2).get()
    Replica.objects.filter(pk=stale.pk).update(last_verified_at=timezone.now() - timedelta(days=settings.CODA_FIXITY_INTERVAL_DAYS + 1))

    html = client.get("/").content.decode()
    assert "Coda keeps the record of AI models that are retired" in html
    assert 'Retirement dossier: <a href="/models/lab/kept/">Kept</a>' in html
    assert 'Preserved model: <a href="/models/lab/kept/">Kept</a>' in html
    assert 'href="/timeline/"' in html and 'href="/api/docs/"' in html
    assert _count(html, "models") == "2" and _count(html, "retired") == "1" and _count(html, "preserved") == "1"
    assert _count(html, "bytes") == "2.9 KiB"  # 3002 bytes of the visible model; the hidden model's are not counted
    assert _count(html, "verified") == "1 of 2"

    client.force_login(CuratorFactory(username="cur"))
    html = client.get("/").content.decode()
    assert _count(html, "models") == "3" and _count(html, "retired") == "2" and _count(html, "verified") == "2 of 3"


def test_a_search_shows_only_its_results(client):
    AIModelFactory(provider=ProviderFactory(slug="lab"), name="kept")
    html = client.get("/?q=kept").content.decode()
    assert "Coda keeps the record" not in html and 'id="count-models"' not in html
