"""A believable demo company, built through the same services as real use.

Each function is idempotent: it finds what an earlier run made (by username,
team slug, external id...) instead of making it twice.
"""

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from demo.accounts import EXTERNAL_ID_PREFIX
from profiles import services
from profiles.models import Membership, Profile, ProfileVersion, Team, User
from profiles.selectors import signoff_states
from profiles.services import membership_set, team_create
from scoring import services as scoring_services
from scoring.models import Account, AccountScore, ScoringRun

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


# --- The ICP: an approved v1 and a v2 in review --------------------------------

PROFILE_NAME = "Mid-market B2B SaaS"
PROFILE_SLUG = "mid-market-b2b-saas"
V1_LIVE_FOR = timedelta(days=180)
REQUIRED_TEAMS = ["sales", "marketing", "customer-success", "revops"]
APPROVING_TEAMS = ["revops"]


@dataclass(frozen=True)
class Rule:
    attribute: str
    operator: str
    value: Any
    points: int = 0
    kind: str = "fit"
    rationale: str = ""


V1_RULES: list[Rule] = [
    Rule(
        "employees",
        "between",
        [200, 2000],
        30,
        rationale="Big enough to need a RevOps tool, small enough for a mid-market cycle.",
    ),
    Rule(
        "industry",
        "in",
        ["SaaS", "Software", "Fintech"],
        20,
        rationale="Our wins cluster in software companies and tech-led finance.",
    ),
    Rule(
        "crm",
        "in",
        ["Salesforce", "HubSpot"],
        25,
        rationale="Our integrations cover these two; others need services work.",
    ),
    Rule(
        "funding_stage",
        "in",
        ["Series B", "Series C", "Series D", "Public"],
        15,
        rationale="Funded for a sales team that follows a process.",
    ),
    Rule("has_revops", "is_true", None, 10, rationale="Someone owns the pipeline data."),
    Rule(
        "industry",
        "in",
        ["B2C retail", "Consumer"],
        kind="disqualifier",
        rationale="We sell to businesses that sell to businesses.",
    ),
    Rule(
        "country",
        "in",
        ["KP", "IR", "SY", "CU"],
        kind="disqualifier",
        rationale="Embargoed countries: we cannot sell there.",
    ),
]


@dataclass(frozen=True)
class Edit:
    """A change to one of v1's criteria in the v2 draft, by one person."""

    username: str
    attribute: str
    kind: str
    value: Any
    points: int
    rationale: str


V2_EDITS: list[Edit] = [
    Edit(
        "sofia",
        "employees",
        "fit",
        [150, 2000],
        30,
        "Four of last quarter's wins had 150 to 200 employees.",
    ),
    Edit(
        "jonas",
        "crm",
        "fit",
        ["Salesforce", "HubSpot"],
        30,
        "A supported CRM predicts a fast onboarding better than anything else we track.",
    ),
    Edit(
        "jonas",
        "has_revops",
        "fit",
        None,
        5,
        "Half of our wins hired RevOps after buying; keep it as a tiebreaker.",
    ),
]


@dataclass(frozen=True)
class SeededProfile:
    """What seed_profile found or made, for the command to report."""

    profile: Profile
    created: bool
    live: ProfileVersion | None
    draft: ProfileVersion | None

    def lines(self) -> list[str]:
        head = f"Profile {self.profile.name!r}" + ("" if self.created else " (already there)")
        lines = [f"{head}:"]
        for version in (self.live, self.draft):
            if version is None:
                continue
            fit = version.criteria.filter(kind="fit").count()
            dq = version.criteria.filter(kind="disqualifier").count()
            lines.append(
                f"  v{version.number} {version.get_status_display().lower()}: "
                f"{fit} fit criteria, {dq} disqualifiers, {version.comments.count()} comments"
            )
        if self.draft is not None:
            states = signoff_states(version=self.draft)
            signed = [s.team.name for s in states if s.state == "approved"]
            waiting = [s.team.name for s in states if s.state != "approved"]
            lines.append(
                f"  v{self.draft.number} sign-off: {', '.join(signed) or 'nobody yet'}; "
                f"waiting for {', '.join(waiting) or 'nobody'}"
            )
        return lines


def _add_rule(actor: User, version: ProfileVersion, rule: Rule) -> None:
    services.criterion_add(
        actor=actor,
        version=version,
        revision=version.revision,
        attribute=rule.attribute,
        operator=rule.operator,
        value=rule.value,
        points=rule.points,
        kind=rule.kind,
        rationale=rule.rationale,
    )


def _apply_edit(actor: User, version: ProfileVersion, edit: Edit) -> None:
    criterion = version.criteria.get(attribute=edit.attribute, kind=edit.kind)
    criterion.version = version
    services.criterion_update(
        actor=actor,
        criterion=criterion,
        revision=version.revision,
        attribute=criterion.attribute,
        operator=criterion.operator,
        value=edit.value,
        points=edit.points,
        kind=criterion.kind,
        category=criterion.category,
        rationale=edit.rationale,
    )


@transaction.atomic
def seed_profile(*, users: dict[str, User]) -> SeededProfile:
    """The company's ICP, built step by step as its teams would.

    v1 was drafted by RevOps, signed off by all four required teams and
    approved by a RevOps manager. v2 is a copy of v1 with three edits from
    the last quarter's deals, now in review: Sales commented on the headcount
    change and Customer Success replied, Marketing's question is resolved,
    Sales and Marketing signed off, Customer Success and RevOps have not.

    Found by its slug when it exists, and then left exactly as it is.
    """
    existing = Profile.objects.filter(slug=PROFILE_SLUG).first()
    if existing is not None:
        versions = existing.versions.all()
        return SeededProfile(
            profile=existing,
            created=False,
            live=versions.filter(status="approved").first(),
            draft=versions.filter(status__in=["draft", "in_review"]).first(),
        )
    teams = Team.objects.in_bulk(REQUIRED_TEAMS + APPROVING_TEAMS, field_name="slug")
    ada, riley, jonas = users["ada"], users["riley"], users["jonas"]
    profile = services.profile_create(
        actor=riley,
        name=PROFILE_NAME,
        description=(
            "B2B software companies of 200 to 2,000 people with a supported CRM: "
            "the accounts we win fastest and keep longest."
        ),
        required_teams=[teams[slug] for slug in REQUIRED_TEAMS],
        approving_teams=[teams[slug] for slug in APPROVING_TEAMS],
        admins=[ada],
        checkin_cadence=Profile.Cadence.QUARTERLY,
    )

    v1 = services.version_start_draft(
        actor=riley,
        profile=profile,
        rationale="Our first shared ICP, from two years of won and lost deals.",
    )
    for rule in V1_RULES:
        _add_rule(jonas if rule.kind == "fit" else riley, v1, rule)
    services.version_submit(actor=riley, version=v1)
    for username, slug in (
        ("sofia", "sales"),
        ("maya", "marketing"),
        ("grace", "customer-success"),
        ("riley", "revops"),
    ):
        services.signoff_give(
            actor=users[username],
            version=v1,
            team=teams[slug],
            decision="approve",
            revision=v1.revision,
        )
    v1 = services.version_approve(actor=riley, version=v1)
    # The story: v1 has been live for half a year, long enough for the deals
    # closed since to serve as evidence for v2.
    live_since = timezone.now() - V1_LIVE_FOR
    ProfileVersion.objects.filter(pk=v1.pk).update(approved_at=live_since)
    v1.refresh_from_db()

    v2 = services.version_start_draft(
        actor=jonas,
        profile=profile,
        source=v1,
        rationale=(
            "Quarterly revision: smaller companies are winning, and a supported CRM "
            "matters more than an existing RevOps team."
        ),
    )
    for edit in V2_EDITS:
        _apply_edit(users[edit.username], v2, edit)
    v2 = services.version_submit(actor=jonas, version=v2)

    headcount = v2.criteria.get(attribute="employees")
    thread = services.comment_create(
        actor=users["liam"],
        version=v2,
        team=teams["sales"],
        criterion=headcount,
        body=(
            "We closed four deals at 150 to 200 employees last quarter, all with a RevOps "
            "hire planned. 150 is where our wins start."
        ),
    )
    services.comment_create(
        actor=users["grace"],
        version=v2,
        team=teams["customer-success"],
        parent=thread,
        body=(
            "Fine by us, but accounts under 200 need the guided onboarding package. "
            "Please flag them in the handoff."
        ),
    )
    question = services.comment_create(
        actor=users["maya"],
        version=v2,
        team=teams["marketing"],
        body="Does Fintech stay in the industry list? Our Q3 campaign targets it.",
    )
    services.comment_resolve(actor=riley, comment=question)
    for username, slug, note in (
        ("sofia", "sales", "Matches what we close."),
        ("maya", "marketing", "Fintech stays, so the campaign lists hold."),
    ):
        services.signoff_give(
            actor=users[username],
            version=v2,
            team=teams[slug],
            decision="approve",
            note=note,
            revision=v2.revision,
        )
    return SeededProfile(profile=profile, created=True, live=v1, draft=v2)


@transaction.atomic
def reset() -> None:
    """Remove everything the demo made, and only that."""
    demo_runs = ScoringRun.objects.filter(profile__slug=PROFILE_SLUG)
    scoring_services.runs_delete(run_ids=list(demo_runs.values_list("pk", flat=True)))
    demo_accounts = Account.objects.filter(external_id__startswith=EXTERNAL_ID_PREFIX)
    AccountScore.objects.filter(account_id__in=demo_accounts.values("pk")).delete()
    demo_accounts.delete()
    Profile.objects.filter(slug=PROFILE_SLUG).delete()
    User.objects.filter(username__in=[p.username for p in PEOPLE]).delete()
    Team.objects.filter(slug__in=[t[0] for t in TEAMS]).delete()
