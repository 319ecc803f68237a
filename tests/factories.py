from typing import Any

import factory
from django.contrib.auth.models import Permission
from django.utils import timezone
from django.utils.text import slugify

from profiles.models import Criterion, Membership, Profile, ProfileVersion, Team, User
from scoring.models import Account, Deal, DealState, DealType

PASSWORD = "correct-horse-battery"


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def save_password(self: User, create: bool, extracted: object, **kwargs: object) -> None:
        if create:
            self.save()

    @factory.post_generation
    def permissions(
        self: User, create: bool, extracted: list[str] | None, **kwargs: object
    ) -> None:
        """`permissions=["scoring.add_account"]` grants those model permissions."""
        if create and extracted:
            for name in extracted:
                app_label, codename = name.split(".")
                self.user_permissions.add(
                    Permission.objects.get(content_type__app_label=app_label, codename=codename)
                )


class TeamFactory(factory.django.DjangoModelFactory[Team]):
    class Meta:
        model = Team
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Team {n}")
    slug = factory.LazyAttribute(lambda t: slugify(t.name))
    function = Team.Function.OTHER


class MembershipFactory(factory.django.DjangoModelFactory[Membership]):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    team = factory.SubFactory(TeamFactory)
    role = Membership.Role.MEMBER


class ProfileFactory(factory.django.DjangoModelFactory[Profile]):
    class Meta:
        model = Profile
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Profile {n}")
    slug = factory.LazyAttribute(lambda p: slugify(p.name))
    created_by = factory.SubFactory(UserFactory)

    @factory.post_generation
    def required_teams(
        obj: Profile, create: bool, extracted: list[Team] | None, **kw: object
    ) -> None:
        if create and extracted:
            obj.required_teams.set(extracted)

    @factory.post_generation
    def approving_teams(
        obj: Profile, create: bool, extracted: list[Team] | None, **kw: object
    ) -> None:
        if create and extracted:
            obj.approving_teams.set(extracted)


class VersionFactory(factory.django.DjangoModelFactory[ProfileVersion]):
    class Meta:
        model = ProfileVersion

    profile = factory.SubFactory(ProfileFactory)
    number = factory.Sequence(lambda n: n + 1)
    created_by = factory.SubFactory(UserFactory)


class CriterionFactory(factory.django.DjangoModelFactory[Criterion]):
    class Meta:
        model = Criterion

    version = factory.SubFactory(VersionFactory)
    attribute = "employees"
    operator = "between"
    value = factory.LazyFunction(lambda: [200, 2000])
    points = 30
    kind = "fit"
    category = "firmographic"
    position = factory.Sequence(lambda n: n)


class AccountFactory(factory.django.DjangoModelFactory[Account]):
    """A mid-market SaaS account that fits the usual test profile."""

    class Meta:
        model = Account

    external_id = factory.Sequence(lambda n: f"crm-{n:06d}")
    name = factory.Sequence(lambda n: f"Company {n}")
    domain = factory.LazyAttribute(lambda a: f"{a.external_id}.example")
    employees = 450
    industry = "SaaS"
    country = "DE"
    funding_stage = "Series B"
    crm = "HubSpot"
    has_revops = True

    @classmethod
    def _build(cls, model_class: type[Account], *args: Any, **kwargs: Any) -> Account:
        """With its canonical columns and list index, as every write of an
        account's values stores it (built ones may go to bulk_create)."""
        account = model_class(*args, **kwargs)
        account.reindex()
        return account

    @classmethod
    def _create(cls, model_class: type[Account], *args: Any, **kwargs: Any) -> Account:
        account = cls._build(model_class, *args, **kwargs)
        account.save(force_insert=True)
        return account


class DealFactory(factory.django.DjangoModelFactory[Deal]):
    """A new-business deal of an account of its own, open unless a status is
    given; a won or lost one closes now unless `closed_at` says when."""

    class Meta:
        model = Deal

    external_id = factory.Sequence(lambda n: f"deal-{n:06d}")
    account = factory.SubFactory(AccountFactory)
    name = factory.LazyAttribute(lambda d: f"{d.account.name}: new business")
    stage = "Qualification"
    status = DealState.OPEN
    type = DealType.NEW
    amount = None
    currency = ""
    opened_at = None
    closed_at = factory.LazyAttribute(
        lambda d: None if d.status == DealState.OPEN else timezone.now()
    )
