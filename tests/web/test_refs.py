"""The model page names its refs: `main` (the model's files, shown by default even when a dossier snapshot is
newer), `dossier`, and curator tags; each opens its snapshot, and the page stays CSP-clean."""

import re

import pytest
from django.test import Client

from archive import refs
from tests.archive.helpers import preserve_now
from tests.factories import AIModelFactory, ProviderFactory, UserFactory
from tests.web.inline import has_inline_code

WEIGHTS = {"config.json": b'{"layers": 2}', "weights/model.safetensors": b"\x00" * 4096}
DOSSIER = {"interviews/2025-01-01-1.md": b"# Exit interview\n", "reports/post-deployment-report-v1.md": b"# Report\n"}


@pytest.fixture
def model_refs(transactional_db, staging_dir, monkeypatch):
    model = AIModelFactory(provider=ProviderFactory(slug="lab", name="Lab"), name="ref-model", file_access="public")
    weights = preserve_now(model, staging_dir, WEIGHTS, monkeypatch, name="w")
    dossier = preserve_now(model, staging_dir, DOSSIER, monkeypatch, name="d")
    refs.snapshot_tag_create(snapshot=weights, name="as-retired", created_by=UserFactory(username="cur", is_staff=True),
                             message="The weights as served on the last day")
    return model, weights, dossier


def shown(html: str) -> str:
    return re.search(r'<h3 id="files-h">Files of <code>([^<]+)</code>', html).group(1)


def test_model_page_lists_refs_and_opens_each(model_refs):
    model, weights, dossier = model_refs
    client = Client()
    url = f"/models/{model.repo_id}/"
    html = client.get(url).content.decode()
    assert dossier.sealed_at >= weights.sealed_at and shown(html) == weights.revision  # main, not the newer dossier
    table = re.search(r'<table id="refs">.*?</table>', html, re.S).group(0)
    rows = re.findall(r'<a href="\?snapshot=([^"#]+)#files-h"><code>([^<]+)</code></a></td>\s*<td>([a-z]+)[^<]*</td>\s*'
                      r'<td><code>([0-9a-f]{40})</code></td>\s*<td>([^<]*)</td>', table)
    assert rows == [("main", "main", "branch", weights.revision, ""),
                    ("dossier", "dossier", "branch", dossier.revision, ""),
                    ("as-retired", "as-retired", "tag", weights.revision, "The weights as served on the last day")]
    assert not has_inline_code(html)
    for ref, revision in [("dossier", dossier.revision), ("refs/heads/dossier", dossier.revision),
                          ("as-retired", weights.revision), ("refs/tags/as-retired", weights.revision),
                          ("main", weights.revision), (dossier.revision, dossier.revision)]:
        response = client.get(url, {"snapshot": ref})
        assert response.status_code == 200 and shown(response.content.decode()) == revision, ref
    assert client.get(url, {"snapshot": "no-such-tag"}).status_code == 404


def test_each_snapshot_row_names_the_refs_pointing_at_it(model_refs):
    model, weights, dossier = model_refs
    html = Client().get(f"/models/{model.repo_id}/").content.decode()
    html = re.search(r"Snapshots of this model</caption>.*?</table>", html, re.S).group(0)
    for snapshot, names in [(weights, ["main", "as-retired"]), (dossier, ["dossier"])]:
        row = re.search(rf"<tr[^>]*>\s*<td>(?:(?!</tr>).)*{snapshot.revision}(?:(?!</tr>).)*</tr>", html, re.S).group(0)
        assert re.findall(r'<code class="ref">([^<]+)</code>', row) == names
