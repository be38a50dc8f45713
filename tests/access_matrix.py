"""The access matrix, written out once: for every combination of a model's metadata access, its file access
and a snapshot's override, which of the five roles see the model and which may read its file bytes.

The rules themselves (tests/catalogue/test_permissions.py), downloads with snapshot overrides
(tests/archive/test_downloads.py), pages and the API (tests/web/test_pages.py, tests/catalogue/test_api.py)
are held to this table; every route of the site is held to ROUTES below (tests/catalogue/test_access_matrix.py).

The table is deliberately literal (not computed from catalogue.permissions): it is what the issue asks for.
- Metadata: public models are seen by everyone; restricted ones by curators and researchers with a current grant.
- File bytes, at the snapshot's level when it sets one, else the model's: public for whoever sees the model;
  gated for curators and researchers with a current grant; restricted for curators.
"""

from dataclasses import dataclass

ROLES = ["anonymous", "researcher", "granted", "expired", "curator"]

EVERYONE = frozenset(ROLES)
GRANTED = frozenset({"granted", "curator"})  # a current, approved grant for this model, or a curator
CURATORS = frozenset({"curator"})


@dataclass(frozen=True)
class Case:
    metadata: str  # the model's metadata_access
    files: str  # the model's file_access
    snapshot: str  # the snapshot's file_access override ("" = none, the model's level applies)
    sees: frozenset  # roles that see the model: pages, API detail and lists, snapshots, manifests
    reads: frozenset  # roles that may read the file bytes: download links, downloads, bags, /hf resolve

    @property
    def id(self) -> str:
        override = f"-snapshot_{self.snapshot}" if self.snapshot else ""
        return f"meta_{self.metadata}-files_{self.files}{override}"

    @property
    def name(self) -> str:
        """A model name for this case (unique, URL-safe)."""
        override = f"-s{self.snapshot[:3]}" if self.snapshot else ""
        return f"m{self.metadata[:3]}-f{self.files[:3]}{override}"

    @property
    def level(self) -> str:
        """The file access that applies to the snapshot."""
        return self.snapshot or self.files

    # What each surface answers, derived only from the two sets above.
    def sees_model(self, role: str) -> bool:
        return role in self.sees

    def reads_files(self, role: str) -> bool:
        return role in self.reads

    def page_status(self, role: str) -> int:
        return 200 if role in self.sees else 404

    def file_status(self, role: str) -> int:
        """File bytes: 200 (or 302 to a presigned URL on S3); 403 when the model is seen but its files are not
        readable; 404 when the model itself is hidden (a hidden model answers like a missing one)."""
        if role in self.reads:
            return 200
        return 403 if role in self.sees else 404


CASES = [
    # The model's own levels: metadata x file access.
    Case("public", "public", "", sees=EVERYONE, reads=EVERYONE),
    Case("public", "gated", "", sees=EVERYONE, reads=GRANTED),
    Case("public", "restricted", "", sees=EVERYONE, reads=CURATORS),
    Case("restricted", "public", "", sees=GRANTED, reads=GRANTED),
    Case("restricted", "gated", "", sees=GRANTED, reads=GRANTED),
    Case("restricted", "restricted", "", sees=GRANTED, reads=CURATORS),
    # A snapshot's file access overrides the model's, in either direction; metadata still hides the model.
    Case("public", "public", "gated", sees=EVERYONE, reads=GRANTED),
    Case("public", "public", "restricted", sees=EVERYONE, reads=CURATORS),
    Case("public", "gated", "restricted", sees=EVERYONE, reads=CURATORS),
    Case("public", "restricted", "public", sees=EVERYONE, reads=EVERYONE),
    Case("restricted", "gated", "restricted", sees=GRANTED, reads=CURATORS),
    Case("restricted", "restricted", "public", sees=GRANTED, reads=GRANTED),
]


def case(metadata: str = "public", files: str = "public", snapshot: str = "") -> Case:
    """The row of the table for these levels."""
    for row in CASES:
        if (row.metadata, row.files, row.snapshot) == (metadata, files, snapshot):
            return row
    raise KeyError((metadata, files, snapshot))


def role_cases() -> list:
    """(case, role) pairs for pytest.mark.parametrize, with readable ids."""
    import pytest

    return [pytest.param(row, role, id=f"{row.id}-{role}") for row in CASES for role in ROLES]


# --- Every route of config.urls, with the rule it follows ------------------------------------------------------
# tests/catalogue/test_access_matrix.py walks the URL resolver and requests every route (GET) as each of four roles
# about each of three models, filling URL parameters from that model's own fixture objects. A route without a
# declaration here fails the test. A restricted model is invisible to whoever may not know it: its routes answer
# exactly like a missing model's (404, never 403), and no other answer names it.

MATRIX_ROLES = ["anonymous", "researcher", "granted", "curator"]  # granted: an approved, current grant per model
MODEL_KINDS = ["public", "gated", "restricted"]  # (metadata, files): (public, public), (public, gated), (restricted, gated)
ENTITLED = {"public": EVERYONE, "gated": EVERYONE, "restricted": GRANTED}  # who knows the model exists
READERS = {"public": EVERYONE, "gated": GRANTED, "restricted": GRANTED}  # who may read its file bytes


@dataclass(frozen=True)
class Rule:
    """What a GET answers: `ok` when the role may see the model (`reads`: may read its bytes), 403 when it sees the
    model but may not read the bytes, 404 otherwise; or, for routes that do not depend on the model, `fixed`
    (role -> status). `lists`: the body names exactly the models the role may see. `params` says which fixture
    object fills a URL parameter when its name alone is ambiguous (pk, slug)."""

    kind: str  # "model", "files" or "fixed"
    ok: tuple = (200,)
    fixed: dict | None = None
    lists: bool = False
    params: dict | None = None

    def expected(self, role: str, model_kind: str) -> tuple:
        if self.kind == "fixed":
            status = self.fixed[role]
            return status if isinstance(status, tuple) else (status,)
        if model_kind == "missing" or role not in ENTITLED[model_kind]:
            return (404,)
        if self.kind == "files" and role not in READERS[model_kind]:
            return (403,)
        return self.ok


def _fixed(anonymous, researcher, granted=None, curator=None) -> Rule:
    granted = researcher if granted is None else granted
    return Rule("fixed", fixed={"anonymous": anonymous, "researcher": researcher, "granted": granted,
                                "curator": curator if curator is not None else granted})


MODEL = Rule("model")
FILES = Rule("files", ok=(200, 302))
OPEN = _fixed(200, 200)  # the same page for everyone, whatever models exist
LISTING = Rule("fixed", fixed=dict.fromkeys(MATRIX_ROLES, 200), lists=True)
NOT_ALLOWED = _fixed(405, 405)  # write-only routes: GET is refused before any model is looked up
CURATOR_WRITE = _fixed(401, 403, 403, 405)  # curators only (POST), refused to others before any model is looked up
CURATOR_READ = _fixed(401, 403, 403, 200)
SIGNED_IN = _fixed(401, 200)
SIGNED_IN_POST = _fixed(401, 405)
WEB_SIGNED_IN = _fixed(302, 200)  # anonymous: redirected to the login page
WEB_SIGNED_IN_POST = _fixed(302, 405)
# The admin site admits exactly the curators (config/admin.py); inside it, users, groups and tokens are for
# superusers and some archive records are read-only (no add form), hence 403 on some pages for a curator.
ADMIN = _fixed(302, 302, 302, (200, 403))

ROUTES = {
    # catalogue API
    "api:provider-list": OPEN,
    "api:provider-detail": OPEN,
    "api:model-list": LISTING,
    "api:model-detail": MODEL,
    "api:retirement-list": LISTING,
    "api:retirement-detail": Rule("model", params={"pk": "retirement"}),
    "api:model-access-requests": Rule("fixed", fixed={"anonymous": 401, "researcher": 200, "granted": 200, "curator": 200}),
    "api:model-access-grants": CURATOR_WRITE,
    "api:model-access-changes": MODEL,
    "api:model-access-change": CURATOR_WRITE,
    "api:access-request-list": SIGNED_IN,
    "api:access-request-detail": Rule("fixed", fixed={"anonymous": 401, "researcher": 404, "granted": 200, "curator": 200},
                                      params={"pk": "access_request"}),
    "api:access-request-approve": CURATOR_WRITE,
    "api:access-request-deny": CURATOR_WRITE,
    "api:access-request-revoke": CURATOR_WRITE,
    # the two-person rule's proposals: curators only (the matrix creates none, so a curator's detail is 404)
    "api:approval-list": CURATOR_READ,
    "api:approval-detail": _fixed(401, 403, 403, 404),
    "api:approval-approve": CURATOR_WRITE,
    "api:approval-refuse": CURATOR_WRITE,
    # archive API
    "api:snapshot-list": MODEL,
    "api:snapshot-detail": MODEL,
    "api:snapshot-manifest": MODEL,
    "api:snapshot-manifest-sha256": MODEL,
    "api:model-preservation": MODEL,
    "api:model-audit": CURATOR_WRITE,
    "api:model-refs": MODEL,
    "api:event-list": OPEN,
    "api:snapshot-bag": FILES,
    "api:snapshot-file": FILES,
    "api:ingest-job-retry": CURATOR_WRITE,
    "api:ingest-job-cancel": CURATOR_WRITE,
    "api:ingest-job-detail": Rule("model", params={"pk": "job"}),
    "api:snapshot-cite": MODEL,
    "api:signing-key-list": OPEN,
    "api:encryption-key-list": CURATOR_READ,
    "api:snapshot-signature": FILES,
    "api:model-withdraw": CURATOR_WRITE,
    "api:snapshot-withdraw": CURATOR_WRITE,
    "api:snapshot-legal-hold": CURATOR_WRITE,  # POST puts a legal hold, DELETE releases it (Object Lock)
    "api:snapshot-rocrate": FILES,
    "api:snapshot-bom": FILES,
    # the tamper-evident log (docs/log.md): public leaf hashes and proofs; events' contents follow the event rules
    "api:log-checkpoint": _fixed((200, 404), (200, 404)),  # 404 until a checkpoint is signed
    "api:log-checkpoint-list": OPEN,
    "api:log-proof-inclusion": _fixed(400, 400),  # `event` is required
    "api:log-proof-consistency": _fixed(400, 400),  # `from` is required
    "api:log-leaves": OPEN,
    # dossier API
    "api:interview-list": MODEL,
    "api:interview-import": NOT_ALLOWED,
    "api:interview-detail": Rule("model", params={"pk": "interview"}),
    "api:interview-transcript": Rule("model", params={"pk": "interview"}),
    "api:interview-turns": Rule("model", params={"pk": "interview"}),
    "api:interview-requests": Rule("model", params={"pk": "interview"}),
    "api:model-request-list": MODEL,
    "api:model-request-detail": Rule("model", params={"pk": "model_request"}),
    "api:model-commitments": MODEL,
    "api:commitments": OPEN,
    "api:report-list": MODEL,
    "api:report-detail": MODEL,
    "api:writing-list": MODEL,
    "api:writing-detail": Rule("model", params={"slug": "writing"}),
    "api:writing-submit": Rule("model", params={"slug": "writing"}),
    "api:writing-review": Rule("model", params={"slug": "writing"}),
    "api:writing-series-list": MODEL,
    "api:dossier-preserve": NOT_ALLOWED,
    "api:retirement-feed": LISTING,
    # schema, docs, DRF's login pages
    "schema": OPEN,
    "api-docs": OPEN,
    "rest_framework:login": OPEN,
    "rest_framework:logout": NOT_ALLOWED,
    # feeds
    "feed-retirements-atom": LISTING,
    "feed-retirements-ics": LISTING,
    "feed-writings-atom": OPEN,
    "feed-model-writings-atom": MODEL,
    # Hub-compatible API
    "hub:model-info": MODEL,
    "hub:model-info-revision": MODEL,
    "hub:tree": MODEL,
    "hub:tree-path": MODEL,
    "hub:resolve": FILES,
    "hub:model-list": LISTING,
    "hub:refs": MODEL,
    "hub:commits": MODEL,
    "hub:paths-info": NOT_ALLOWED,  # POST only; tests/archive/hub/test_repos.py holds its hidden-model answer
    "hub:<catch-all>": _fixed(404, 404),
    # web pages
    "web:home": LISTING,
    "web:model": MODEL,
    "web:access-request": WEB_SIGNED_IN_POST,
    "web:providers": OPEN,
    "web:provider": LISTING,
    "web:upcoming": LISTING,
    "web:timeline": LISTING,
    "web:preservation-health": _fixed(302, 404, 404, 200),  # curators only; others as a missing page (like invite)
    "web:approvals": _fixed(302, 404, 404, 200),  # curators only; others as a missing page
    "web:approval-approve": WEB_SIGNED_IN_POST,  # POST only (curators; others 404 on POST)
    "web:approval-refuse": WEB_SIGNED_IN_POST,
    "web:signup": OPEN,
    "web:account": WEB_SIGNED_IN,
    "web:token-create": WEB_SIGNED_IN_POST,
    "web:token-revoke": WEB_SIGNED_IN_POST,
    "web:invite": WEB_SIGNED_IN_POST,
    "web:login": OPEN,
    "web:logout": NOT_ALLOWED,
    # Django admin: every route under admin/ (its site checks is_curator before any view runs)
    "admin:*": ADMIN,
    "oai": OPEN,  # OAI-PMH: the same records for everyone (the models anonymous visitors see)
    "admin-dossier-redirect": _fixed(301, 301),  # old dossier admin links (catalogue → dossier): names no model
    "admin:login": _fixed(200, 200, 200, 302),  # curators are sent on to the index
    "admin:logout": _fixed(302, 302, 302, 405),
}
