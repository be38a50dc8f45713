"""The story pages in headless Chromium: the retirement timeline at 1280 px and on a phone, and Claude 3 Opus's
page with its lifecycle bar and sourced dossier; screenshots in test-artifacts/, axe-core finds no violation,
nothing is fetched from another site and no CSP violation is reported (SiteGuard)."""

from datetime import date

import pytest

from dossier.story import story_load
from tests.web.test_browser import ARTIFACTS, axe_violations, browser, guard, shot  # noqa: F401 (fixtures)
from tests.factories import AIModelFactory, ProviderFactory

pytestmark = pytest.mark.browser


@pytest.fixture
def story(live_server, transactional_db):
    anthropic = ProviderFactory(slug="anthropic", name="Anthropic")
    newer = AIModelFactory(provider=anthropic, name="claude-opus-4-8", display_name="Claude Opus 4.8",
                           release_date=date(2025, 11, 1))
    AIModelFactory(provider=anthropic, name="claude-3-opus-20240229", display_name="Claude 3 Opus",
                   release_date=date(2024, 2, 29), deprecated_on=date(2025, 6, 30), replacement=newer)
    AIModelFactory(provider=ProviderFactory(slug="lab", name="Lab"), name="orca-7b", display_name="Orca 7B",
                   release_date=date(2024, 5, 1), deprecated_on=date(2026, 1, 1), retires_on=date(2027, 3, 1))
    story_load()
    return live_server.url


def test_timeline_and_story_pages_in_the_browser(guard, story):
    context = guard.context()
    page = context.new_page()
    found = {}
    for width, name in ((1280, "desktop"), (390, "phone")):
        page.set_viewport_size({"width": width, "height": 900})
        response = page.goto(story + "/timeline/")
        assert "default-src 'self'" in response.headers["content-security-policy"]
        lanes = page.locator("svg.tl g.tl-lane")
        assert lanes.count() == 3
        # Drawn, not just present: the bars have a size, and the names stay legible (not scaled down).
        box = page.locator("svg.tl rect.tl-deprecated").first.bounding_box()
        assert box["width"] > 10 and box["height"] >= 9
        assert page.locator("svg.tl text.tl-name").first.bounding_box()["height"] >= 10
        # The page itself does not overflow the phone's width: the picture scrolls inside its own region.
        assert page.evaluate("document.documentElement.scrollWidth") <= width + 1
        shot(page, f"story-timeline-{name}")
        found[f"/timeline/ at {width}px"] = axe_violations(page)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(story + "/timeline/?provider=lab")
    assert page.locator("svg.tl g.tl-lane").count() == 1
    assert page.locator('svg.tl a[aria-label^="Claude 3 Opus"]').count() == 0
    page.goto(story + "/timeline/")
    page.locator('svg.tl a[aria-label^="Claude 3 Opus"]').click()
    page.wait_for_url("**/models/anthropic/claude-3-opus-20240229/")
    text = page.locator("main").inner_text()
    assert "No retirement has been registered" not in text
    assert "Claude's Corner" in text and "Bundled sample data" in text
    assert page.locator("svg.tl circle.tl-retired title").text_content() == "Retired 2026-01-05"
    shot(page, "story-opus-3")
    found["Claude 3 Opus page"] = axe_violations(page)
    context.close()
    report = "\n".join(f"{where}: {v}" for where, violations in found.items() for v in violations)
    (ARTIFACTS / "axe-story-report.txt").write_text(report or "no violations\n")
    assert not report, report
    guard.check()
