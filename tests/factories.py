import functools

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group

from catalogue.models import AIModel, Provider
from catalogue.permissions import CURATORS_GROUP
from tests.access_matrix import ROLES  # noqa: F401  (defined with the shared table of expectations)


@functools.lru_cache(maxsize=None)
def _hashed(password: str) -> str:
    # Hashing costs ~0.2 s (PBKDF2 at full strength); tests reuse one real hash per distinct password.
    return make_password(password)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    password = factory.django.Password("correct horse battery staple", transform=_hashed)


class CuratorFactory(UserFactory):
    @factory.post_generation
    def curators_group(self, create, extracted, **kwargs):
        if create:
            group, _ = Group.objects.get_or_create(name=CURATORS_GROUP)
            self.groups.add(group)


class ProviderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Provider
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"lab{n}")
    name = factory.LazyAttribute(lambda p: p.slug.title())


class AIModelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AIModel

    provider = factory.SubFactory(ProviderFactory)
    name = factory.Sequence(lambda n: f"model-{n}")
    display_name = factory.LazyAttribute(lambda m: m.name.title())
    family = "Test family"


class AccessRequestFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "catalogue.AccessRequest"

    user = factory.SubFactory(UserFactory)
    model = factory.SubFactory(AIModelFactory)
    purpose = "Study of refusal behaviour across model generations."
    affiliation = "Example University"
    accepted_terms = True


def role_users(*models) -> dict:
    """The five roles of the access matrix (None = anonymous); `granted` holds a current approved grant for each
    of `models`, `expired` an approved grant that has expired."""
    from datetime import timedelta

    from django.utils import timezone

    granted = UserFactory(username="granted")
    expired = UserFactory(username="expired")
    for model in models:
        AccessRequestFactory(user=granted, model=model, status="approved", expires_at=timezone.now() + timedelta(days=7))
        AccessRequestFactory(user=expired, model=model, status="approved", expires_at=timezone.now() - timedelta(minutes=1))
    return {
        "anonymous": None,
        "researcher": UserFactory(username="plain"),
        "granted": granted,
        "expired": expired,
        "curator": CuratorFactory(username="cur"),
    }


def api_client(user=None):
    """A DRF test client authenticated the way scripts are (a Bearer knox token), or anonymous for None."""
    from knox.models import AuthToken
    from rest_framework.test import APIClient

    client = APIClient()
    if user is not None:
        _, token = AuthToken.objects.create(user=user, expiry=None)
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client

