"""A believable demo company, built through the same services as real use.

Each function is idempotent: it finds what an earlier run made (by username,
team slug, external id...) instead of making it twice.
"""

from dataclasses import dataclass

from django.db import transaction

from profiles.models import Membership, Team, User
from profiles.services import membership_set, team_create

COMPANY_DOMAIN = "northwind.example"

TEAMS: list[tuple[str, str, str]] = [
    ("sales", "Sales", Team.Function.SALES),
    ("marketing", "Marketing", Team.Function.MARKETING),
    ("customer-success", "Customer Success", Team.Function.CUSTOMER_SUCCESS),
    ("product", "Product", Team.Function.PRODUCT),
    ("revops", "RevOps", Team.Function.REVOPS),
]

ADMIN_USERNAME = "ada"


@dataclass(frozen=True)
class Person:
    username: str
    first_name: str
    last_name: str
    team_slug: str
    role: str
    title: str


PEOPLE: list[Person] = [
    Person(
        "ada", "Ada", "Okafor", "revops", Membership.Role.ADMIN, "Head of RevOps, administrator"
    ),
    Person("riley", "Riley", "Morgan", "revops", Membership.Role.MANAGER, "RevOps manager"),
    Person("jonas", "Jonas", "Berg", "revops", Membership.Role.MEMBER, "RevOps analyst"),
    Person("sofia", "Sofia", "Reyes", "sales", Membership.Role.MANAGER, "Sales manager"),
    Person("liam", "Liam", "Chen", "sales", Membership.Role.MEMBER, "Account executive"),
    Person("noah", "Noah", "Patel", "sales", Membership.Role.MEMBER, "Account executive"),
    Person("emma", "Emma", "Brooks", "sales", Membership.Role.MEMBER, "Sales development rep"),
    Person("maya", "Maya", "Johnson", "marketing", Membership.Role.MANAGER, "Marketing manager"),
    Person("oliver", "Oliver", "Smith", "marketing", Membership.Role.MEMBER, "Demand generation"),
    Person("grace", "Grace", "Kim", "customer-success", Membership.Role.MANAGER, "CS manager"),
    Person(
        "lucas",
        "Lucas",
        "Meyer",
        "customer-success",
        Membership.Role.MEMBER,
        "CS manager of accounts",
    ),
    Person("ethan", "Ethan", "Wright", "product", Membership.Role.MANAGER, "Product lead"),
    Person("ava", "Ava", "Rossi", "product", Membership.Role.MEMBER, "Product manager"),
]


def _user(person: Person, password: str) -> User:
    user, _ = User.objects.get_or_create(
        username=person.username,
        defaults={
            "first_name": person.first_name,
            "last_name": person.last_name,
            "email": f"{person.username}@{COMPANY_DOMAIN}",
        },
    )
    user.set_password(password)
    if person.username == ADMIN_USERNAME:
        user.is_staff = True
        user.is_superuser = True
    user.save()
    return user


@transaction.atomic
def seed_people(*, password: str) -> dict[str, User]:
    """The five teams and their people; the first person is the administrator."""
    users = {person.username: _user(person, password) for person in PEOPLE}
    admin = users[ADMIN_USERNAME]
    teams = {team.slug: team for team in Team.objects.filter(slug__in=[t[0] for t in TEAMS])}
    for slug, name, function in TEAMS:
        if slug not in teams:
            teams[slug] = team_create(actor=admin, name=name, slug=slug, function=function)
    for person in PEOPLE:
        membership_set(
            actor=admin, team=teams[person.team_slug], user=users[person.username], role=person.role
        )
    return users


@transaction.atomic
def reset() -> None:
    """Remove everything the demo made, and only that."""
    User.objects.filter(username__in=[p.username for p in PEOPLE]).delete()
    Team.objects.filter(slug__in=[t[0] for t in TEAMS]).delete()
