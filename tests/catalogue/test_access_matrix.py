"""The full access matrix on every surface: for each row of tests/access_matrix.py (metadata x file access, and
snapshot overrides) and each of the five roles, the web pages, the REST API, file downloads, bags and the
Hub-compatible API must all answer as the one table says, so they cannot drift apart.

The models, snapshots (really ingested, on the default filesystem location), users and grants are created once
for the module and committed; each test reads them inside its own transaction (rolled back: sessions, access
events), and the module flushes the database when done, as transactional tests do."""

from dataclasses import dataclass

import pytest
from django.core.management import call_command
from django.test import Client, override_settings
from knox.models import AuthToken
from rest_framework.test import APIClient

from catalogue.models import FileAccess
from tests.access_matrix import CASES, ROLES, role_cases
from tests.archive.helpers import preserve_now
from tests.factories import AIModelFactory, ProviderFactory, role_users

pytestmark = pytest.mark.django_db
PROVIDER = "matrix"


def files_for(row) -> dict[str, bytes]:
    # Distinct bytes per model, so each snapshot has its own revision and a download proves which file it served.
    return {"config.json": f'{{"case": "{row.id}"}}'.encode(), "weights/model.safetensors": b"\x00" * 2048}


@dataclass
class Matrix:
    models: dict  # Case -> (model, snapshot)
    users: dict  # role -> user (None for anonymous)
    tokens: dict  # role -> API token

    def api(self, role) -> APIClient:
        client = APIClient()
        if role in self.tokens:
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {self.tokens[role]}")
        return client

    def web(self, role) -> Client:
        client = Client()
        if self.users[role] is not None:
            client.force_login(self.users[role])
        return client


@pytest.fixture(scope="module")
def matrix(django_db_setup, django_db_blocker, tmp_path_factory):
    root = tmp_path_factory.mktemp("access-matrix")
    staging = root / "staging"
    staging.mkdir()
    storage = [{"name": "local", "kind": "filesystem", "root": str(root / "storage"), "primary": True}]
    with (
        django_db_blocker.unblock(),
        override_settings(CODA_STAGING_ROOTS=[staging.resolve()], CODA_STORAGE_LOCATIONS=storage),
        pytest.MonkeyPatch.context() as monkeypatch,
    ):
        provider = ProviderFactory(slug=PROVIDER, name="Matrix")
        models = {}
        for row in CASES:
            model = AIModelFactory(provider=provider, name=row.name, metadata_access=row.metadata, file_access=row.files)
            snapshot = preserve_now(model, staging, files_for(row), monkeypatch)
            if row.snapshot:
                snapshot.file_access = row.snapshot
                snapshot.save(update_fields=["file_access"])
            models[row] = (model, snapshot)
        users = role_users(*(model for model, _ in models.values()))  # a current and an expired grant per model
        tokens = {role: AuthToken.objects.create(user=user, expiry=None)[1] for role, user in users.items() if user}
    yield Matrix(models=models, users=users, tokens=tokens)
    with django_db_blocker.unblock():
        call_command("flush", interactive=False, verbosity=0)


def _consume(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def observe(matrix: Matrix, row, role) -> dict:
    """What every surface answers this role about this row's model."""
    model, snapshot = matrix.models[row]
    rev = snapshot.revision
    api_base = f"/api/v1/models/{PROVIDER}/{model.name}"
    download_url = f"{api_base}/snapshots/{rev}/files/config.json"
    api, web = matrix.api(role), matrix.web(role)

    page = web.get(f"/models/{PROVIDER}/{model.name}/")
    html = page.content.decode() if page.status_code == 200 else None
    download = api.get(download_url)
    download_body = _consume(download)
    if download.status_code == 200:
        assert download_body == files_for(row)["config.json"], (row.id, role)
    elif download.status_code == 403:
        assert download.json()["code"] == "access_denied" and model.repo_id in download.json()["detail"]
    bag = api.get(f"{api_base}/snapshots/{rev}/bag.tar")
    _consume(bag)
    hub_file = api.get(f"/hf/{PROVIDER}/{model.name}/resolve/{rev}/config.json")
    hub_body = _consume(hub_file)
    if hub_file.status_code == 200:
        assert hub_body == files_for(row)["config.json"], (row.id, role)
    hub_info = api.get(f"/hf/api/models/{PROVIDER}/{model.name}")
    return {
        "page": page.status_code,
        "page: file table": None if html is None else "weights/model.safetensors" in html,
        "page: download link": None if html is None else f'href="{download_url}"' in html,
        "page: file access shown": None if html is None else _shown_level(html),
        "api: model": api.get(f"{api_base}/").status_code,
        "api: snapshots": api.get(f"{api_base}/snapshots/").status_code,
        "api: snapshot": api.get(f"{api_base}/snapshots/{rev}/").status_code,
        "api: manifest": api.get(f"{api_base}/snapshots/{rev}/manifest").status_code,
        "api: manifest.sha256": api.get(f"{api_base}/snapshots/{rev}/manifest.sha256").status_code,
        "api: preservation": api.get(f"{api_base}/preservation/").status_code,
        "download": download.status_code,
        "bag": bag.status_code,
        "hf: model info": hub_info.status_code,
        "hf: gated": hub_info.json().get("gated") if hub_info.status_code == 200 else None,
        "hf: resolve": hub_file.status_code,
    }


def _shown_level(html: str) -> str | None:
    for value, label in FileAccess.choices:
        if f"<dt>File access</dt><dd>{label}</dd>" in html:
            return value
    return None


def expected(row, role) -> dict:
    """The same answers, from the shared table alone."""
    sees = row.sees_model(role)
    metadata = row.page_status(role)
    files = row.file_status(role)
    return {
        "page": metadata,
        "page: file table": True if sees else None,  # digests and paths are metadata; only the links differ
        "page: download link": row.reads_files(role) if sees else None,
        "page: file access shown": row.level if sees else None,
        "api: model": metadata,
        "api: snapshots": metadata,
        "api: snapshot": metadata,
        "api: manifest": metadata,
        "api: manifest.sha256": metadata,
        "api: preservation": metadata,
        "download": files,
        "bag": files,
        "hf: model info": metadata,
        "hf: gated": (False if row.level == "public" else "manual") if sees else None,  # the Hub's own values
        "hf: resolve": files,
    }


def test_the_table_is_consistent():
    assert len({(row.metadata, row.files, row.snapshot) for row in CASES}) == len(CASES)
    for row in CASES:
        assert row.reads <= row.sees, f"{row.id}: whoever reads the files must see the model"
        assert "curator" in row.reads, f"{row.id}: curators read everything"
        for rule in (row.sees, row.reads):  # an expired grant is no grant
            assert ("expired" in rule) == ("researcher" in rule), row.id


@pytest.mark.parametrize("row,role", role_cases())
def test_every_surface_answers_as_the_table(matrix, row, role):
    assert observe(matrix, row, role) == expected(row, role)


@pytest.mark.parametrize("role", ROLES)
def test_lists_show_exactly_the_visible_models(matrix, role):
    visible = sorted(model.name for row, (model, _) in matrix.models.items() if row.sees_model(role))
    body = matrix.api(role).get(f"/api/v1/models/?provider={PROVIDER}&page_size=100").json()
    assert sorted(item["name"] for item in body["results"]) == visible
    for url in [f"/providers/{PROVIDER}/", "/"]:
        html = matrix.web(role).get(url).content.decode()
        listed = sorted(model.name for model, _ in matrix.models.values() if f"/models/{PROVIDER}/{model.name}/" in html)
        assert listed == visible, (role, url)
