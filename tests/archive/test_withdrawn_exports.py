"""One answer per state: a withdrawn snapshot (or a snapshot of a withdrawn model) answers 410 `withdrawn` on every
door to its files and exports (files, bag.tar, ro-crate-metadata.json, model.sig, bom.cdx.json, manifests, the
snapshot itself, /hf), for every role (curators too: a withdrawal is not an access level, so never a 403 that hides
it), with one message (archive.withdrawals.withdrawal_notice) naming what was withdrawn: the snapshot, or the model
when the model itself was. The citation is the kept record (tests/archive/test_withdrawals.py)."""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from archive.withdrawals import model_withdraw, snapshot_withdraw, withdrawal_notice
from tests.archive.citation.snapshots import sealed_snapshot
from tests.factories import AIModelFactory, api_client, role_users

pytestmark = pytest.mark.django_db

ROLES = ["anonymous", "researcher", "granted", "curator"]
SNAPSHOT = "/api/v1/models/{repo}/snapshots/{rev}/"
# Every route that serves a snapshot's files or describes them: route name -> (method, URL).
API_EXPORTS = {
    "api:snapshot-detail": ("get", SNAPSHOT),
    "api:snapshot-file": ("get", SNAPSHOT + "files/config.json"),
    "api:snapshot-bag": ("get", SNAPSHOT + "bag.tar"),
    "api:snapshot-rocrate": ("get", SNAPSHOT + "ro-crate-metadata.json"),
    "api:snapshot-signature": ("get", SNAPSHOT + "model.sig"),
    "api:snapshot-bom": ("get", SNAPSHOT + "bom.cdx.json"),
    "api:snapshot-manifest": ("get", SNAPSHOT + "manifest"),
    "api:snapshot-manifest-sha256": ("get", SNAPSHOT + "manifest.sha256"),
}
HUB_EXPORTS = {
    "hub:resolve": ("get", "/hf/{repo}/resolve/{rev}/config.json"),
    "hub:model-info-revision": ("get", "/hf/api/models/{repo}/revision/{rev}"),
    "hub:tree": ("get", "/hf/api/models/{repo}/tree/{rev}"),
    "hub:tree-path": ("get", "/hf/api/models/{repo}/tree/{rev}/docs"),
    "hub:commits": ("get", "/hf/api/models/{repo}/commits/{rev}"),
    "hub:paths-info": ("post", "/hf/api/models/{repo}/paths-info/{rev}"),
}
# Routes about one snapshot that are not an export of it, and why.
KEPT = {
    "api:snapshot-cite": "the citation is the kept record of a withdrawn snapshot",
    "api:snapshot-withdraw": "the curators' action itself (POST)",
    "api:snapshot-legal-hold": "the curators' legal hold (POST/DELETE): a withdrawn snapshot's kept bytes may be held",
}


@pytest.fixture(params=["snapshot", "model"])
def withdrawn(request):
    """A gated model (a researcher would get 403 on its files) with a snapshot withdrawn, or the model withdrawn."""
    model = AIModelFactory(file_access="gated")
    snapshot = sealed_snapshot(model)
    users = role_users(model)
    if request.param == "snapshot":
        snapshot_withdraw(snapshot=snapshot, reason="Wrong files uploaded", keep_bytes="keep", withdrawn_by=users["curator"])
    else:
        model_withdraw(model=model, reason="Legal request", keep_bytes="keep", withdrawn_by=users["curator"])
    model.refresh_from_db()
    snapshot.refresh_from_db()
    return {"scope": request.param, "model": model, "snapshot": snapshot, "users": users}


def _request(user, method: str, url: str, model, snapshot):
    return getattr(api_client(user), method)(url.format(repo=model.repo_id, rev=snapshot.revision))


def _assert_names_what_was_withdrawn(detail: str, withdrawn: dict) -> None:
    model, snapshot = withdrawn["model"], withdrawn["snapshot"]
    assert detail == withdrawal_notice(model, snapshot)
    if withdrawn["scope"] == "snapshot":
        day = f"{snapshot.withdrawn_at:%Y-%m-%d}"
        assert detail.startswith(f"Snapshot {model.repo_id}@{snapshot.revision} was withdrawn on {day}: "
                                 "Wrong files uploaded.")
        assert "The model" not in detail  # only the snapshot was withdrawn
    else:
        day = f"{model.withdrawn_at:%Y-%m-%d}"
        assert detail.startswith(f"The model {model.repo_id} was withdrawn on {day}: Legal request.")


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("route", API_EXPORTS)
def test_every_api_export_of_a_withdrawn_snapshot_answers_410_withdrawn(withdrawn, route, role):
    method, url = API_EXPORTS[route]
    answer = _request(withdrawn["users"][role], method, url, withdrawn["model"], withdrawn["snapshot"])
    assert answer.status_code == 410, (route, answer.content[:300])
    body = answer.json()
    assert body["code"] == "withdrawn" and body["status"] == 410
    assert body["tombstone"]["scope"] == withdrawn["scope"]
    _assert_names_what_was_withdrawn(body["detail"], withdrawn)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("route", HUB_EXPORTS)
def test_every_hub_route_of_a_withdrawn_snapshot_answers_410_in_the_same_words(withdrawn, route, role):
    method, url = HUB_EXPORTS[route]
    answer = _request(withdrawn["users"][role], method, url, withdrawn["model"], withdrawn["snapshot"])
    assert answer.status_code == 410, (route, answer.content[:300])
    expected = "RevisionWithdrawn" if withdrawn["scope"] == "snapshot" else "RepoWithdrawn"
    assert answer["X-Error-Code"] == expected
    _assert_names_what_was_withdrawn(answer.json()["error"], withdrawn)


def test_every_route_about_one_snapshot_is_an_export_or_kept_on_purpose():
    """A new route under a snapshot must say what it answers once the snapshot is withdrawn."""

    def walk(resolver, namespaces=()):
        for entry in resolver.url_patterns:
            if isinstance(entry, URLResolver):
                yield from walk(entry, namespaces + ((entry.namespace,) if entry.namespace else ()))
            elif isinstance(entry, URLPattern) and entry.name and "revision" in entry.pattern.regex.groupindex:
                yield ":".join(namespaces + (entry.name,))

    routes = set(walk(get_resolver()))
    assert routes == set(API_EXPORTS) | set(HUB_EXPORTS) | set(KEPT)


def test_the_withdrawn_snapshot_alone_is_gone_and_a_hidden_model_stays_hidden():
    model = AIModelFactory(file_access="public")
    withdrawn, sibling = sealed_snapshot(model), sealed_snapshot(model, seq=-1)
    hidden = AIModelFactory(metadata_access="restricted", file_access="public")
    hidden_snapshot = sealed_snapshot(hidden)
    users = role_users(model, hidden)  # `granted` may see the hidden model
    snapshot_withdraw(snapshot=withdrawn, reason="Wrong files", keep_bytes="keep", withdrawn_by=users["curator"])
    model_withdraw(model=hidden, reason="Legal request", keep_bytes="keep", withdrawn_by=users["curator"])
    for role in ROLES:
        client = api_client(users[role])
        assert client.get(SNAPSHOT.format(repo=model.repo_id, rev=sibling.revision) + "manifest").status_code == 200
        assert client.get(SNAPSHOT.format(repo=model.repo_id, rev=withdrawn.revision) + "manifest").status_code == 410
        # Visibility first: who may not know the hidden model gets the answer of a missing one, not its tombstone.
        hidden_url = SNAPSHOT.format(repo=hidden.repo_id, rev=hidden_snapshot.revision)
        assert client.get(hidden_url + "bag.tar").status_code == (410 if role in ("granted", "curator") else 404)


def test_a_withdrawn_snapshot_of_a_withdrawn_model_names_both():
    model = AIModelFactory(file_access="public")
    snapshot = sealed_snapshot(model)
    users = role_users(model)
    snapshot_withdraw(snapshot=snapshot, reason="Wrong files", keep_bytes="keep", withdrawn_by=users["curator"])
    model_withdraw(model=model, reason="Legal request", keep_bytes="keep", withdrawn_by=users["curator"])
    detail = api_client(users["curator"]).get(SNAPSHOT.format(repo=model.repo_id, rev=snapshot.revision) + "bag.tar")
    assert detail.status_code == 410
    text = detail.json()["detail"]
    assert text.startswith(f"Snapshot {model.repo_id}@{snapshot.revision} was withdrawn") and "Wrong files." in text
    assert f"The model {model.repo_id} was withdrawn" in text and "Legal request." in text
