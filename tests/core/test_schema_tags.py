"""/api/docs/ groups operations by what they are about (issue 30 part 6): every operation carries exactly one
of the declared tags (catalogue, snapshots, archive, access, approvals, log, dossier), none falls back to the
path's first segment ("v1"), and the groups a reader expects hold their operations."""

import pytest
from django.conf import settings
from drf_spectacular.generators import SchemaGenerator


@pytest.fixture(scope="module")
def schema():
    return SchemaGenerator().get_schema(request=None, public=True)


def _operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if isinstance(operation, dict) and "operationId" in operation:
                yield path, method, operation


def test_every_operation_has_one_declared_tag(schema):
    declared = {tag["name"] for tag in settings.SPECTACULAR_SETTINGS["TAGS"]}
    assert {tag["name"] for tag in schema.get("tags", [])} <= declared
    for path, method, operation in _operations(schema):
        assert len(operation["tags"]) == 1 and operation["tags"][0] in declared, (method, path, operation["tags"])


@pytest.mark.parametrize(("method", "path", "tag"), [
    ("get", "/api/v1/models/", "catalogue"),
    ("get", "/api/v1/providers/", "catalogue"),
    ("post", "/api/v1/models/{provider}/{name}/snapshots/", "snapshots"),
    ("get", "/api/v1/models/{provider}/{name}/snapshots/{revision}/files/{path}", "snapshots"),
    ("get", "/api/v1/ingest-jobs/{id}/", "archive"),
    ("get", "/api/v1/access-requests/", "access"),
    ("get", "/api/v1/models/{provider}/{name}/interviews/", "dossier"),
])
def test_operations_land_in_their_group(schema, method, path, tag):
    assert schema["paths"][path][method]["tags"] == [tag]
