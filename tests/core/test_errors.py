"""A 401 says how to pass a token (issue 30 part 4), in the one error shape: the header, the coda command's
--token and CODA_TOKEN, and where tokens come from."""

import pytest
from rest_framework.test import APIClient


@pytest.mark.django_db
def test_a_bad_token_is_told_how_to_pass_one():
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer not-a-real-token")
    response = client.get("/api/v1/models/")
    assert response.status_code == 401
    body = response.json()
    assert body["code"] == "authentication_failed" and body["status"] == 401
    assert "Authorization: Bearer <token>" in body["detail"] and "CODA_TOKEN" in body["detail"]
    assert "--token" in body["detail"]
