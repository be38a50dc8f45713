import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from catalogue.models import AIModel, Provider
from catalogue.permissions import CURATORS_GROUP


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    password = factory.django.Password("correct horse battery staple")


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
