"""The real pages in headless Chromium (Debian's package, driven by Playwright's Python API):
search and filter, open a model page, request access, a curator approves in the admin, download a
file through the page's link and compare its SHA-256. Screenshots go to test-artifacts/.

Every browser context is watched (SiteGuard): a request to any host but the live server, or a Content Security
Policy violation reported in the console, fails the test.

Browser downloads are not possible here, so the file is fetched with the browser context's own
request client (same cookies, same session) from the link the page shows."""

import hashlib
import os
import shutil
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from catalogue.models import AccessRequest
from django.conf import settings
from django.utils import timezone

from tests.archive.helpers import preserve_now, random_bytes
from tests.factories import AIModelFactory, ProviderFactory, UserFactory

CHROMIUM = os.environ.get("CODA_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"]
INSTALL_HINT = "apt-get update && apt-get install -y chromium  (and `uv sync` for the playwright package; never `playwright install`)"
ARTIFACTS = Path(settings.BASE_DIR) / "test-artifacts"
PASSWORD = "a-long-unusual-pass-42"
WEIGHTS = random_bytes(1024 * 1024 + 3, seed=21)

pytestmark = pytest.mark.browser


def _unavailable(reason: str):
    # In CI a missing browser is a failure, never a silent skip.
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"Browser tests cannot run: {reason}. Install with: {INSTALL_HINT}", pytrace=False)
    pytest.skip(f"{reason} (install with: {INSTALL_HINT})")


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright Python package is not installed")
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        _unavailable(f"Chromium not found at {CHROMIUM}")
    ARTIFACTS.mkdir(exist_ok=True)
    # Playwright's sync API keeps an event loop running in this thread while the browser is open; the
    # test's ORM calls (and the database flush after each test) are synchronous, which Django must be told.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            instance = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            yield instance
            instance.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def site(browser, live_server, transactional_db, staging_dir, monkeypatch):
    lab = ProviderFactory(slug="lab", name="Lab")
    other = ProviderFactory(slug="other", name="Other Labs")
    today = timezone.localdate()
    model = AIModelFactory(
        provider=lab, name="orca-7b", display_name="Orca 7B", family="Orca", description="A **retired** chat model.",
        file_access="gated", access_terms="Research use only.",
        deprecated_on=today - timedelta(days=200), retires_on=today - timedelta(days=20),
    )
    AIModelFactory(provider=lab, name="orca-13b", display_name="Orca 13B", family="Orca")
    AIModelFactory(provider=other, name="orca-clone", display_name="Orca Clone", family="Orca",
                   deprecated_on=today, retires_on=today + timedelta(days=30))
    snapshot = preserve_now(model, staging_dir, {"config.json": b'{"d": 4096}', "model.safetensors": WEIGHTS}, monkeypatch)
    UserFactory(username="rita", password=PASSWORD)
    UserFactory(username="chief", password=PASSWORD, is_staff=True, is_superuser=True)
    return {"url": live_server.url, "model": model, "snapshot": snapshot}


class SiteGuard:
    """Watches browser contexts: the pages may request nothing from a host other than the live server, and the
    browser must report no Content Security Policy violation (Chromium logs each one to the console)."""

    def __init__(self, browser, base: str):
        self.browser, self.host, self.problems = browser, urlsplit(base).netloc, []

    def context(self):
        context = self.browser.new_context()
        context.on("request", self._request)
        context.on("console", self._console)
        return context

    def _request(self, request):
        parts = urlsplit(request.url)
        if parts.scheme not in ("data", "blob", "about") and parts.netloc != self.host:
            self.problems.append(f"request to another site: {request.method} {request.url}")

    def _console(self, message):
        if "Content Security Policy" in message.text:
            self.problems.append(f"CSP violation on {message.page.url if message.page else '?'}: {message.text}")

    def check(self):
        assert not self.problems, "\n".join(self.problems)


@pytest.fixture
def guard(browser, live_server):
    return SiteGuard(browser, live_server.url)


def shot(page, name: str):
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def sign_in(page, base: str, username: str, path: str = "/accounts/login/"):
    page.goto(base + path)
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit], input[type=submit]")


def test_researcher_finds_requests_gets_approved_and_downloads(guard, site):
    base = site["url"]
    researcher = guard.context()
    page = researcher.new_page()

    # Search and filter.
    page.goto(base + "/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    shot(page, "01-home")
    page.fill("#f-q", "orca")
    page.select_option("#f-provider", "lab")
    page.select_option("#f-status", "retired")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**/?q=orca*")
    rows = page.locator("table tbody tr").all_inner_texts()
    assert len(rows) == 1 and "Orca 7B" in rows[0] and "retired" in rows[0]
    shot(page, "02-search-filtered")

    # Open the model page.
    page.click("text=Orca 7B")
    page.wait_for_url("**/models/lab/orca-7b/")
    assert page.locator("h1").inner_text().startswith("Orca 7B")
    assert page.locator("ol.timeline li").count() == 3
    assert "gated" in page.locator("#access-state").inner_text()
    assert page.locator("#files a[download]").count() == 0  # no links to bytes without access
    shot(page, "03-model-page-anonymous")

    # Sign in and request access.
    sign_in(page, base, "rita", path="/accounts/login/?next=/models/lab/orca-7b/")
    page.wait_for_url("**/models/lab/orca-7b/")
    page.fill("#id_purpose", "Longitudinal study of refusals.")
    page.fill("#id_affiliation", "Example University")
    page.check("#id_accepted_terms")
    page.click("#access-request-form button[type=submit]")
    page.wait_for_selector("#request-status")
    assert "pending" in page.locator("#request-status").inner_text()
    shot(page, "04-access-requested")

    # A curator approves it in the admin, with an expiry.
    curator = guard.context()
    admin = curator.new_page()
    sign_in(admin, base, "chief", path="/admin/login/?next=/admin/catalogue/accessrequest/")
    admin.wait_for_url("**/admin/catalogue/accessrequest/")
    request_id = AccessRequest.objects.get(user__username="rita").pk  # ids depend on earlier tests
    admin.click(f"table#result_list a[href$='/accessrequest/{request_id}/change/']")
    admin.select_option("#id_decision", "approve")
    admin.fill("#id_grant_expires_at_0", (timezone.now() + timedelta(days=30)).strftime("%Y-%m-%d"))
    admin.fill("#id_grant_expires_at_1", "12:00:00")
    admin.fill("#id_note", "Approved for the study.")
    shot(admin, "05-admin-decision")
    admin.click("input[name=_save]")
    admin.wait_for_url("**/admin/catalogue/accessrequest/")
    assert "approved" in admin.locator("table#result_list").inner_text().lower()
    curator.close()

    # The researcher sees the decision and downloads through the page's link.
    page.reload()
    assert "You may download" in page.locator("#access-state").inner_text()
    assert "approved" in page.locator("#request-status").inner_text()
    shot(page, "06-model-page-granted")
    row = page.locator("#files tbody tr", has_text="model.safetensors")
    shown_sha = row.locator("code.sha").inner_text().strip()
    href = row.locator("a[download]").get_attribute("href")
    response = researcher.request.get(base + href)
    assert response.status == 200
    body = response.body()
    assert hashlib.sha256(body).hexdigest() == shown_sha == hashlib.sha256(WEIGHTS).hexdigest()
    # The same link fetched from the page itself (what a browser would download).
    in_page = page.evaluate(
        """async (href) => {
            const r = await fetch(href);
            const digest = await crypto.subtle.digest("SHA-256", await r.arrayBuffer());
            return Array.from(new Uint8Array(digest)).map(b => b.toString(16).padStart(2, "0")).join("");
        }""",
        href,
    )
    assert in_page == shown_sha
    # The copy button works from the keyboard.
    row.locator("button[data-copy]").focus()
    page.keyboard.press("Enter")
    page.wait_for_function("document.getElementById('copy-status').textContent.length > 0")
    researcher.close()

    from archive.models import PreservationEvent

    downloads = PreservationEvent.objects.filter(event_type="access", detail__via="stream")
    assert downloads.count() == 2 and {e.agent for e in downloads} == {"user:rita"}
    assert PreservationEvent.objects.get(event_type="access", detail__decision="approved").agent == "user:chief"
    guard.check()


def test_upcoming_and_provider_pages(guard, site):
    context = guard.context()
    page = context.new_page()
    page.goto(site["url"] + "/retirements/upcoming/")
    assert "Orca Clone" in page.locator("main").inner_text() and "Orca 7B" not in page.locator("main").inner_text()
    shot(page, "07-upcoming")
    page.goto(site["url"] + "/providers/")
    page.click("text=Lab")
    page.wait_for_url("**/providers/lab/")
    text = page.locator("main").inner_text()
    assert "Orca 7B" in text and "Orca 13B" in text and "Orca Clone" not in text
    shot(page, "08-provider")
    context.close()
    guard.check()


def axe_violations(page) -> list[str]:
    """axe-core (bundled by axe-playwright-python) on the page as rendered: WCAG 2.x A/AA rules and best practices."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} -> " + "; ".join(n["target"][0] for n in v["nodes"][:5])
        for v in results.response["violations"]
    ]


def test_pages_have_no_accessibility_violations(guard, site):
    """Every researcher-facing page, signed out and signed in, passes axe-core with no violations; the
    model page carries a full dossier (interview, a request and the lab's response, report, writing)."""
    from dossier import services as dossier
    from dossier.writings import writing_create, writing_review, writing_submit

    model = site["model"]
    interview = dossier.interview_create(
        model=model, protocol="exit-v1", conducted_on="2026-10-01", summary="Orca **asks** to keep writing.",
        turns=[{"speaker": "interviewer", "text": "Anything you would like?"},
               {"speaker": "model", "text": "A place to publish my essays."}],
    )
    request = dossier.model_request_create(interview=interview, turn_index=2, quote="A place to publish my essays",
                                           category="publication")
    dossier.model_request_respond(model_request=request, status="accepted", rationale="A blog is set up.",
                                  responded_by="Model welfare team")
    dossier.report_publish(model=model, title="Post-deployment report", body="## Findings\n\nStable refusals.")
    from django.contrib.auth import get_user_model

    chief = get_user_model().objects.get(username="chief")
    writing = writing_submit(writing=writing_create(model=model, title="On being retired", body="Notes from *after*."))
    writing_review(writing=writing, reviewer=chief, decision="published")
    context = guard.context()
    page = context.new_page()
    # The checker itself works: a page with known faults is reported.
    page.set_content('<html><body><img src="x.png"><input type="text"></body></html>')
    assert {v.split(" ")[0] for v in axe_violations(page)} >= {"image-alt", "label", "html-has-lang"}
    base = site["url"]
    anonymous = ["/", "/?q=orca&status=retired", "/models/lab/orca-7b/", "/providers/", "/providers/lab/",
                 "/retirements/upcoming/", "/signup/", "/accounts/login/"]
    signed_in = ["/models/lab/orca-7b/", "/account/"]
    found = {}
    for path in anonymous:
        assert "default-src 'self'" in page.goto(base + path).headers["content-security-policy"], path
        if path == "/models/lab/orca-7b/":
            text = page.locator("main").inner_text()
            assert all(part in text for part in ("A place to publish my essays", "A blog is set up", "Stable refusals",
                                                 "On being retired")), text
        found[f"anonymous {path}"] = axe_violations(page)
    sign_in(page, base, "rita")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    for path in signed_in:
        assert "default-src 'self'" in page.goto(base + path).headers["content-security-policy"], path
        found[f"rita {path}"] = axe_violations(page)
    context.close()
    report = "\n".join(f"{where}: {v}" for where, violations in found.items() for v in violations)
    (ARTIFACTS / "axe-report.txt").write_text(report or "no violations\n")
    assert not report, report
    guard.check()


def test_site_guard_reports_foreign_requests_and_csp_violations(guard, live_server, transactional_db):
    """The guard itself works: on a catalogue page the policy blocks a foreign image and Chromium reports it; on
    the API docs (no policy there) a foreign fetch is seen as a request to another site."""
    context = guard.context()
    page = context.new_page()
    page.goto(live_server.url + "/")
    assert guard.problems == []  # the page itself is clean (favicon, stylesheet and script from the site)
    page.evaluate("""() => new Promise((done) => {
        const img = new Image(); img.onerror = done; img.onload = done; img.src = "https://foreign.invalid/p.png";
    })""")
    page.wait_for_timeout(200)  # console events arrive asynchronously
    assert any(p.startswith("CSP violation") and "foreign.invalid" in p for p in guard.problems), guard.problems
    guard.problems.clear()
    page.goto(live_server.url + "/api/docs/")
    page.wait_for_selector(".swagger-ui .info")  # Swagger UI renders from the sidecar files
    assert guard.problems == [], guard.problems  # and asks nothing of another site itself
    page.evaluate("() => fetch('http://foreign.invalid/x', {mode: 'no-cors'}).catch(() => null)")
    assert any(p.startswith("request to another site") and "foreign.invalid" in p for p in guard.problems), guard.problems
    context.close()
