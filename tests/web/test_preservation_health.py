"""The curators' preservation-health page (/preservation/): copies per file, a histogram of days since each copy was
last verified against the audit interval, open problems; curators only, server-rendered, nothing inline."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from archive.models import IngestJob, Replica, Snapshot
from archive.preservation import archive_health
from web.csp import POLICY
from tests.archive.helpers import preserve_now
from tests.web.test_browser import ARTIFACTS, axe_violations, browser, guard, shot  # noqa: F401 (fixtures)
from tests.factories import AIModelFactory, CuratorFactory, ProviderFactory, UserFactory
from tests.web.inline import has_inline_code


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _archive(staging_dir, monkeypatch, settings):
    """Two preserved models (four distinct files), then: one copy corrupt, two copies verified long ago, one
    failed ingest."""
    settings.CODA_FIXITY_INTERVAL_DAYS = 30
    lab = ProviderFactory(slug="lab", name="Lab")
    kept = AIModelFactory(provider=lab, name="kept")
    other = AIModelFactory(provider=lab, name="other", metadata_access="restricted")
    first = preserve_now(kept, staging_dir, {"a.safetensors": b"a" * 300, "b.json": b"{}"}, monkeypatch)
    preserve_now(other, staging_dir, {"c.bin": b"c" * 500, "d.txt": b"d", "same.json": b"{}"}, monkeypatch)
    replicas = {r.blob.snapshot_files.first().path: r for r in Replica.objects.select_related("blob")}
    now = timezone.now()
    Replica.objects.filter(pk=replicas["c.bin"].pk).update(state=Replica.State.CORRUPT)
    Replica.objects.filter(pk=replicas["a.safetensors"].pk).update(last_verified_at=now - timedelta(days=45))
    Replica.objects.filter(pk=replicas["d.txt"].pk).update(last_verified_at=now - timedelta(days=12))
    failed = Snapshot.objects.create(model=kept, source=str(staging_dir / "gone"), state=Snapshot.State.FAILED)
    IngestJob.objects.create(snapshot=failed, state=IngestJob.State.FAILED, error="source vanished: gone/x.bin")
    return first


def test_health_figures(transactional_db, staging_dir, monkeypatch, settings):
    _archive(staging_dir, monkeypatch, settings)
    health = archive_health()
    # b.json and same.json are one content: four distinct stored files; c.bin has no verified copy left.
    assert health["files"] == 4
    assert {row["copies"]: row["files"] for row in health["copies_per_file"]} == {0: 1, 1: 3}
    assert [row["enough"] for row in health["copies_per_file"]] == [False, True]
    bins = {row["label"]: row["copies"] for row in health["histogram"]}
    assert sum(bins.values()) == health["copies_verified"] == 3
    assert bins["over 30 days (overdue)"] == 1 and bins["10–15 days"] == 1 and bins["0–5 days"] == 1
    assert health["bad_copy_count"] == 1 and health["bad_copies"][0].blob.size == 500
    assert health["short_file_count"] == 1 and health["short_files"][0].path == "c.bin"
    assert health["failed_job_count"] == 1


def test_curators_see_the_page_others_do_not(transactional_db, staging_dir, monkeypatch, settings):
    _archive(staging_dir, monkeypatch, settings)
    assert Client().get("/preservation/").status_code == 302  # to the sign-in page
    assert signed_in(UserFactory(username="rita")).get("/preservation/").status_code == 404
    response = signed_in(CuratorFactory(username="cora")).get("/preservation/")
    assert response.status_code == 200 and response["Content-Security-Policy"] == POLICY
    html = response.content.decode()
    assert not has_inline_code(html)
    assert html.count('<svg class="bars"') == 2
    assert 'class="bar-bad"' in html  # the short file and the overdue copy are drawn as problems
    assert "over 30 days (overdue)" in html and "source vanished: gone/x.bin" in html
    assert "lab/other" in html  # curators see restricted models too
    assert 'id="no-problems"' not in html


def test_a_healthy_archive_has_no_open_problems(transactional_db, staging_dir, monkeypatch, settings):
    preserve_now(AIModelFactory(name="fine"), staging_dir, {"w.bin": b"w" * 100}, monkeypatch)
    html = signed_in(CuratorFactory(username="cora")).get("/preservation/").content.decode()
    assert 'id="no-problems"' in html and 'class="bar-bad"' not in html


@pytest.mark.browser
def test_health_page_in_the_browser(guard, live_server, transactional_db, staging_dir, monkeypatch, settings):
    _archive(staging_dir, monkeypatch, settings)
    curator = CuratorFactory(username="cora")
    client = Client()
    client.force_login(curator)
    context = guard.context()
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}])
    page = context.new_page()
    found = {}
    for width, name in ((1280, "desktop"), (390, "phone")):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(live_server.url + "/preservation/")
        assert page.locator("h1").text_content() == "Preservation health"
        bar = page.locator("svg.bars rect.bar-bad").first.bounding_box()
        assert bar["width"] > 10 and bar["height"] >= 19
        wide = page.evaluate("""() => [...document.querySelectorAll('main *')].filter(e => !e.closest('.chart-scroll') && e.getBoundingClientRect().right > innerWidth + 1).map(e => e.tagName + '.' + e.className.baseVal + e.className).slice(0, 8)""")
        assert page.evaluate("document.documentElement.scrollWidth") <= width + 1, wide
        shot(page, f"preservation-health-{name}")
        found[f"/preservation/ at {width}px"] = axe_violations(page)
    context.close()
    report = "\n".join(f"{where}: {v}" for where, violations in found.items() for v in violations)
    (ARTIFACTS / "axe-health-report.txt").write_text(report or "no violations\n")
    assert not report, report
    guard.check()
