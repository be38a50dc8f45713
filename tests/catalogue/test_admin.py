import pytest
from django.urls import reverse

from catalogue.models import Retirement
from tests.factories import AIModelFactory, CuratorFactory, UserFactory

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


ROLE_USERS = {
    "anonymous": lambda: None,
    "researcher": lambda: UserFactory(username="rita"),
    "curators group": lambda: CuratorFactory(username="cur"),
    "staff": lambda: UserFactory(username="staff", is_staff=True),
    "superuser": lambda: UserFactory(username="root", is_staff=True, is_superuser=True),
}


@pytest.mark.parametrize("role", ROLE_USERS)
def test_admin_access_follows_is_curator_for_every_role(client, role):
    """Who may use the admin, and for what, is decided by catalogue.permissions like everywhere else."""
    user = ROLE_USERS[role]()
    if user is not None:
        client.force_login(user)
    model = AIModelFactory(name="m")
    curated = [
        reverse("admin:index"),
        reverse("admin:catalogue_aimodel_change", args=[model.pk]),
        reverse("admin:catalogue_accessrequest_changelist"),
        reverse("admin:archive_preservationevent_changelist"),
        reverse("admin:archive_snapshot_changelist"),
    ]
    users_admin = reverse("admin:auth_user_changelist")
    codes = [client.get(url).status_code for url in curated]
    if role in ("anonymous", "researcher"):
        assert all(code == 302 for code in codes), codes  # to the admin's sign-in page
        return
    assert codes == [200] * len(curated)
    # Users, groups and tokens stay with superusers: a curator cannot make themselves one.
    assert client.get(users_admin).status_code == (200 if role == "superuser" else 403)


@pytest.mark.parametrize("role,allowed", [("researcher", False), ("curators group", True)])
def test_admin_sign_in_form_follows_is_curator(client, role, allowed):
    ROLE_USERS[role]()
    username = {"researcher": "rita", "curators group": "cur"}[role]
    response = client.post(reverse("admin:login"), {"username": username, "password": "correct horse battery staple",
                                                    "next": reverse("admin:index")})
    assert (response.status_code == 302) is allowed, response.status_code
