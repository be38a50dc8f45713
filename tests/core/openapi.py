"""The live OpenAPI schema for tests: loaded through the WSGI app, so requests made from it use the test database
(tests using it need the `_keep_connection` fixture of tests/core/conftest.py)."""

import schemathesis
from django.core.wsgi import get_wsgi_application
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

# What "the answer matches the schema" means here: a documented status, a documented media type, a valid body.
CONFORMANCE = [status_code_conformance, content_type_conformance, response_schema_conformance]


def load_openapi(config: dict | None = None):
    """The schema /api/schema/ serves, for schemathesis (its operations call the app in-process)."""
    return schemathesis.openapi.from_wsgi(
        "/api/schema/?format=json", get_wsgi_application(), config=schemathesis.Config.from_dict(config or {})
    )


def call(openapi, method: str, path: str, *, token: str | None = None, **parts):
    """Make one request to a documented operation (`path` as the schema spells it, `parts`: path_parameters, query,
    body) and check the answer against the schema; returns the response."""
    case = openapi[path][method.upper()].Case(headers={"Authorization": f"Bearer {token}"} if token else None, **parts)
    response = case.call()
    case.validate_response(response, checks=CONFORMANCE)
    return response
