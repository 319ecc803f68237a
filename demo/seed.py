"""A believable demo company, built through the same services as real use.

Each function is idempotent: it finds what an earlier run made (by username,
team slug, external id...) instead of making it twice.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from demo import history
from demo.accounts import EXTERNAL_ID_PREFIX
from profiles import services
from profiles.models import Comment, Membership, Profile, ProfileVersion, Team, User
from profiles.selectors import signoff_states
from profiles.services import membership_set, team_create
from reviews.models import CheckIn, CheckInKind, CheckInOutcome
from reviews.services import checkin_close, checkin_open
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
CHECKIN_OWNER = "riley"


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


# --- The ICP: v1 to v3 approved months apart, v3 live, v4 in review ------------

PROFILE_NAME = "Mid-market B2B SaaS"
PROFILE_SLUG = "mid-market-b2b-saas"
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
    """A change to one of the live version's criteria in a draft, by one person."""

    username: str
    attribute: str
    kind: str
    value: Any
    points: int
    rationale: str


# v2, drafted at the second quarterly check-in: the CRM predicts more than funding.
V2_EDITS: list[Edit] = [
    Edit(
        "jonas",
        "crm",
        "fit",
        ["Salesforce", "HubSpot"],
        30,
        "Two quarters of deals: a supported CRM predicts a win better than anything else.",
    ),
    Edit(
        "riley",
        "funding_stage",
        "fit",
        ["Series B", "Series C", "Series D", "Public"],
        10,
        "Funding stage mattered less than we thought; keep it, with fewer points.",
    ),
]

# v3, drafted at the fourth: bigger companies win too.
V3_EDITS: list[Edit] = [
    Edit(
        "sofia",
        "employees",
        "fit",
        [200, 2500],
        30,
        "We won six accounts of 2,000 to 2,500 people this year; the ceiling was too low.",
    ),
]

# v4, in review now: smaller companies are winning.
V4_EDITS: list[Edit] = [
    Edit(
        "sofia",
        "employees",
        "fit",
        [150, 2500],
        30,
        "Four of last quarter's wins had 150 to 200 employees.",
    ),
    Edit(
        "jonas",
        "crm",
        "fit",
        ["Salesforce", "HubSpot"],
        35,
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


def _signoffs(
    users: dict[str, User],
    teams: dict[str, Team],
    version: ProfileVersion,
    signers: list[tuple[str, str, str]],
    first: datetime,
) -> None:
    """Sign-offs on the version, a day apart from `first`."""
    for day, (username, slug, note) in enumerate(signers):
        with history.dated(first + timedelta(days=day)):
            services.signoff_give(
                actor=users[username],
                version=version,
                team=teams[slug],
                decision="approve",
                note=note,
                revision=version.revision,
            )


def _revision(
    users: dict[str, User], version: ProfileVersion, edits: list[Edit], first: datetime
) -> ProfileVersion:
    """The edits to a draft, a day apart from `first`."""
    for day, edit in enumerate(edits):
        with history.dated(first + timedelta(days=day)):
            _apply_edit(users[edit.username], version, edit)
        version.refresh_from_db()
    return version


def _approved(
    users: dict[str, User],
    teams: dict[str, Team],
    version: ProfileVersion,
    *,
    drafted: datetime,
    submitted: datetime,
    approved: datetime,
    previous: ProfileVersion | None,
) -> ProfileVersion:
    """Submit the draft, have every required team sign it off over the
    following days and RevOps approve it, each on its day."""
    with history.dated(submitted):
        services.version_submit(actor=users["riley"], version=version)
    version.refresh_from_db()
    _signoffs(
        users,
        teams,
        version,
        [
            ("sofia", "sales", "Matches what we close."),
            ("maya", "marketing", "Our campaign lists follow it."),
            ("grace", "customer-success", "The accounts we keep look like this."),
            ("riley", "revops", ""),
        ],
        submitted + timedelta(days=1),
    )
    with history.dated(approved):
        version = services.version_approve(actor=users["riley"], version=version)
    version = history.version_dated(
        version, created_at=drafted, submitted_at=submitted, approved_at=approved
    )
    if previous is not None:
        history.version_dated(previous, superseded_at=approved)
    return version


def _checkin_held(
    users: dict[str, User],
    profile: Profile,
    timeline: history.Timeline,
    quarters_ago: int,
    outcome: str,
    note: str,
) -> CheckIn:
    """The quarterly check-in due `quarters_ago` quarters back, opened two
    weeks before and held the day after its due date, its agenda recorded
    as it stood then."""
    due = timeline.checkin_due(quarters_ago)
    held = timeline.held(quarters_ago)
    with history.dated(history.at_hour(due - timedelta(days=14), 6)):
        checkin = checkin_open(profile=profile, kind=CheckInKind.SCHEDULED, due_on=due)
    assert checkin is not None
    with history.dated(held):
        checkin = checkin_close(
            actor=users[CHECKIN_OWNER], checkin=checkin, outcome=outcome, note=note, now=held
        )
    return checkin


@transaction.atomic
def seed_profile(*, users: dict[str, User]) -> SeededProfile:
    """The company's ICP and its fifteen months, built step by step as its
    teams would (see demo.history for the dates).

    v1 was drafted by RevOps, signed off by all four required teams and
    approved by a RevOps manager about fifteen months ago. The first
    quarterly check-in changed nothing; the second started v2 (the CRM
    counts more, funding less), approved weeks later; the third changed
    nothing; the fourth started v3 (a higher headcount ceiling), live for
    about two months. v4 is a copy of v3 with three edits from the last
    quarter's deals, now in review: Sales commented on the headcount
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
    timeline = history.Timeline(today=timezone.localdate())
    teams = Team.objects.in_bulk(REQUIRED_TEAMS + APPROVING_TEAMS, field_name="slug")
    ada, riley, jonas = users["ada"], users["riley"], users["jonas"]

    v1_approved = history.at_hour(timeline.v1_approved, 16)
    v1_started = v1_approved - timedelta(days=21)
    with history.dated(v1_started):
        profile = services.profile_create(
            actor=riley,
            name=PROFILE_NAME,
            description=(
                "B2B software companies of 200 to 2,500 people with a supported CRM: "
                "the accounts we win fastest and keep longest."
            ),
            required_teams=[teams[slug] for slug in REQUIRED_TEAMS],
            approving_teams=[teams[slug] for slug in APPROVING_TEAMS],
            admins=[ada],
            checkin_cadence=Profile.Cadence.QUARTERLY,
        )
        Profile.objects.filter(pk=profile.pk).update(created_at=v1_started)
        v1 = services.version_start_draft(
            actor=riley,
            profile=profile,
            rationale="Our first shared ICP, from two years of won and lost deals.",
        )
        for rule in V1_RULES:
            _add_rule(jonas if rule.kind == "fit" else riley, v1, rule)
    v1.refresh_from_db()
    v1 = _approved(
        users,
        teams,
        v1,
        drafted=v1_started,
        submitted=v1_started + timedelta(days=7),
        approved=v1_approved,
        previous=None,
    )
    history.run_recorded(profile=profile, version=v1, previous=None, at=v1_approved)

    _checkin_held(
        users,
        profile,
        timeline,
        4,
        CheckInOutcome.NO_CHANGE,
        "Too few closed deals under v1 to judge; look again next quarter.",
    )
    v2_drafted = timeline.held(3)
    v2 = _checkin_held(
        users,
        profile,
        timeline,
        3,
        CheckInOutcome.START_REVISION,
        "The CRM keeps predicting wins; funding stage does not. Revise the points.",
    ).draft
    assert v2 is not None
    v2 = _revision(users, v2, V2_EDITS, v2_drafted + timedelta(days=2))
    v2_approved = v2_drafted + timedelta(days=21)
    with history.dated(v2_drafted + timedelta(days=8)):
        question = services.comment_create(
            actor=users["oliver"],
            version=v2,
            team=teams["marketing"],
            criterion=v2.criteria.get(attribute="funding_stage"),
            body="Fewer points for funding: do Series A accounts move up to tier B?",
        )
    with history.dated(v2_drafted + timedelta(days=9)):
        services.comment_create(
            actor=jonas,
            version=v2,
            team=teams["revops"],
            parent=question,
            body="A few do; the impact preview lists them. None reach tier A.",
        )
        services.comment_resolve(actor=users["maya"], comment=question)
    Comment.objects.filter(pk=question.pk).update(resolved_at=v2_drafted + timedelta(days=9))
    v2 = _approved(
        users,
        teams,
        v2,
        drafted=v2_drafted,
        submitted=v2_drafted + timedelta(days=7),
        approved=v2_approved,
        previous=v1,
    )
    history.run_recorded(profile=profile, version=v2, previous=v1, at=v2_approved)

    _checkin_held(
        users,
        profile,
        timeline,
        2,
        CheckInOutcome.NO_CHANGE,
        "Win rates by tier hold up under v2; overrides are few and mixed.",
    )
    v3_drafted = timeline.held(1)
    v3 = _checkin_held(
        users,
        profile,
        timeline,
        1,
        CheckInOutcome.START_REVISION,
        "Sales keeps winning companies just above the headcount ceiling.",
    ).draft
    assert v3 is not None
    v3 = _revision(users, v3, V3_EDITS, v3_drafted + timedelta(days=1))
    v3_approved = v3_drafted + timedelta(days=18)
    v3 = _approved(
        users,
        teams,
        v3,
        drafted=v3_drafted,
        submitted=v3_drafted + timedelta(days=6),
        approved=v3_approved,
        previous=v2,
    )

    v4_drafted = history.at_hour(timeline.today - timedelta(days=20), 11)
    with history.dated(v4_drafted):
        v4 = services.version_start_draft(
            actor=jonas,
            profile=profile,
            source=v3,
            rationale=(
                "Quarterly revision: smaller companies are winning, and a supported CRM "
                "matters more than an existing RevOps team."
            ),
        )
    v4 = _revision(users, v4, V4_EDITS, v4_drafted + timedelta(days=1))
    v4_submitted = v4_drafted + timedelta(days=6)
    with history.dated(v4_submitted):
        v4 = services.version_submit(actor=jonas, version=v4)
    v4 = history.version_dated(v4, created_at=v4_drafted, submitted_at=v4_submitted)

    headcount = v4.criteria.get(attribute="employees")
    with history.dated(v4_submitted + timedelta(days=1)):
        thread = services.comment_create(
            actor=users["liam"],
            version=v4,
            team=teams["sales"],
            criterion=headcount,
            body=(
                "We closed four deals at 150 to 200 employees last quarter, all with a RevOps "
                "hire planned. 150 is where our wins start."
            ),
        )
    with history.dated(v4_submitted + timedelta(days=2)):
        services.comment_create(
            actor=users["grace"],
            version=v4,
            team=teams["customer-success"],
            parent=thread,
            body=(
                "Fine by us, but accounts under 200 need the guided onboarding package. "
                "Please flag them in the handoff."
            ),
        )
        question = services.comment_create(
            actor=users["maya"],
            version=v4,
            team=teams["marketing"],
            body="Does Fintech stay in the industry list? Our Q3 campaign targets it.",
        )
    resolved = v4_submitted + timedelta(days=3)
    with history.dated(resolved):
        services.comment_resolve(actor=riley, comment=question)
    Comment.objects.filter(pk=question.pk).update(resolved_at=resolved)
    _signoffs(
        users,
        teams,
        v4,
        [
            ("sofia", "sales", "Matches what we close."),
            ("maya", "marketing", "Fintech stays, so the campaign lists hold."),
        ],
        resolved + timedelta(days=1),
    )
    v4.refresh_from_db()
    return SeededProfile(profile=profile, created=True, live=v3, draft=v4)


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
