import pytest
from django.urls import reverse

from catalogue.models import Retirement
from tests.factories import AIModelFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(username="admin", is_staff=True, is_superuser=True))
    return client


@pytest.mark.parametrize(
    "name", ["catalogue_aimodel", "catalogue_provider", "catalogue_retirement", "catalogue_tag", "catalogue_platformavailability"]
)
def test_admin_changelists_render(admin_client, name):
    AIModelFactory()
    response = admin_client.get(reverse(f"admin:{name}_changelist"))
    assert response.status_code == 200


def test_admin_model_list_filters_by_status_and_searches(admin_client):
    from datetime import date

    AIModelFactory(name="old-model", retires_on=date(2020, 1, 1))
    AIModelFactory(name="new-model")
    url = reverse("admin:catalogue_aimodel_changelist")
    retired = admin_client.get(url + "?status=retired").content.decode()
    assert "old-model" in retired and "new-model" not in retired
    assert "new-model" in admin_client.get(url + "?q=new").content.decode()


def test_admin_registers_retirement_on_model_screen(admin_client):
    model = AIModelFactory(name="to-retire")
    url = reverse("admin:catalogue_aimodel_change", args=[model.pk])
    page = admin_client.get(url)
    assert page.status_code == 200 and b"retirement" in page.content.lower()
    data = {
        "provider": model.provider_id,
        "name": model.name,
        "display_name": model.display_name,
        "family": model.family,
        "modality": "text",
        "aliases": "[]",
        "metadata_access": "public",
        "file_access": "gated",
        "retires_on": "2026-01-05",
        "deprecated_on": "2025-06-30",
        "retirement-TOTAL_FORMS": "1",
        "retirement-INITIAL_FORMS": "0",
        "retirement-0-reason_category": "cost",
        "retirement-0-access_after_retirement": "paid_api",
        "retirement-0-model": model.pk,
        "platforms-TOTAL_FORMS": "0",
        "platforms-INITIAL_FORMS": "0",
    }
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    retirement = Retirement.objects.get(model=model)
    assert retirement.registered_by.username == "admin"
