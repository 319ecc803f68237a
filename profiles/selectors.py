from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Case, Count, IntegerField, Prefetch, Q, QuerySet, Value, When

from profiles.attributes import (
    BUILTIN_ATTRIBUTES,
    MAX_CRITERIA,
    OPERATOR_LABELS,
    OPERATORS_BY_TYPE,
    Attribute,
    AttrType,
    Operator,
    canonical,
    describe,
    validate_value,
)
from profiles.models import (
    OPEN_STATUSES,
    Comment,
    Criterion,
    CriterionKind,
    Membership,
    Profile,
    ProfileVersion,
    SignOff,
    SignOffDecision,
    Team,
    Trait,
    User,
    VersionEvent,
    VersionStatus,
)


def membership_list(*, user: User) -> QuerySet[Membership]:
    """The teams a user belongs to, with their role in each."""
    return Membership.objects.filter(user=user).select_related("team").order_by("team__name")


def team_list() -> QuerySet[Team]:
    """Every team with its members (managers first) and head counts.

    Any signed-in person may see who is in which team: sign-off and comments
    are attributed to teams, so the roster is part of the audit trail.
    """
    role_rank = Case(
        When(role=Membership.Role.ADMIN, then=Value(0)),
        When(role=Membership.Role.MANAGER, then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )
    members = Membership.objects.select_related("user").order_by(
        role_rank, "user__first_name", "user__username"
    )
    return (
        Team.objects.annotate(
            member_count=Count("memberships"),
            manager_count=Count(
                "memberships",
                filter=Q(memberships__role__in=[Membership.Role.MANAGER, Membership.Role.ADMIN]),
            ),
        )
        .prefetch_related(Prefetch("memberships", queryset=members))
        .order_by("name")
    )


# --- Attributes, profiles and versions -------------------------------------


def attribute_registry() -> dict[str, Attribute]:
    """Built-in account attributes, then the company's declared traits."""
    registry = dict(BUILTIN_ATTRIBUTES)
    for trait in Trait.objects.all():
        registry[trait.key] = trait.as_attribute()
    return registry


def trait_list() -> QuerySet[Trait]:
    """The declared traits, by key."""
    return Trait.objects.order_by("key")


def trait_get(*, key: str) -> Trait | None:
    return Trait.objects.filter(key=key).first()


def trait_types(*, keys: Iterable[str]) -> list[tuple[str, str]]:
    """The (key, type) of each declared trait among `keys`."""
    return list(Trait.objects.filter(key__in=list(keys)).values_list("key", "type"))


def trait_criterion_list(*, key: str) -> QuerySet[Criterion]:
    """The criteria of live and open (draft, in review) versions that test
    the attribute `key`, with their version and profile: what scores, or is
    about to, by it."""
    return (
        Criterion.objects.filter(
            attribute=key, version__status__in=[VersionStatus.APPROVED, *OPEN_STATUSES]
        )
        .select_related("version__profile")
        .order_by("version__profile__name", "version__number", "position")
    )


def criterion_text(criterion: Criterion, registry: dict[str, Attribute] | None = None) -> str:
    """A criterion in words, e.g. "Employees is between 200 and 2,000"."""
    registry = registry if registry is not None else attribute_registry()
    attribute = registry.get(criterion.attribute)
    if attribute is None:
        return f"{criterion.attribute} (unknown attribute) {criterion.operator} {criterion.value}"
    try:
        return describe(attribute, Operator(criterion.operator), criterion.value)
    except ValueError:
        return f"{attribute.label} {criterion.operator} {criterion.value}"


def profile_list() -> QuerySet[Profile]:
    """Every profile with its live and open versions; everyone signed in reads them."""
    live = ProfileVersion.objects.filter(status=VersionStatus.APPROVED)
    open_versions = ProfileVersion.objects.filter(status__in=OPEN_STATUSES)
    return Profile.objects.prefetch_related(
        "required_teams",
        Prefetch("versions", queryset=live, to_attr="live_versions"),
        Prefetch("versions", queryset=open_versions, to_attr="open_versions"),
    ).annotate(version_count=Count("versions"))


def live_profile_list() -> QuerySet[Profile]:
    """The profiles with a live (approved) version, by name."""
    return Profile.objects.filter(versions__status=VersionStatus.APPROVED).order_by("name")


def live_criterion_list(*, profiles: Iterable[Profile] | None = None) -> QuerySet[Criterion]:
    """The criteria of the live versions (of `profiles`, or of every
    profile), in each version's order."""
    live = ProfileVersion.objects.filter(status=VersionStatus.APPROVED)
    if profiles is not None:
        live = live.filter(profile__in=list(profiles))
    return Criterion.objects.filter(version__in=live).order_by("version", "position")


@dataclass(frozen=True)
class ValuesInUse:
    """The values the criteria of live and open versions name for one
    category attribute: each value's canonical form -> its spelling in the
    first criterion naming it."""

    attribute: Attribute
    values: dict[str, str]


def category_values_in_use(*, registry: dict[str, Attribute]) -> dict[str, ValuesInUse]:
    """For each category attribute of `registry` that a criterion of a live
    (approved) or open (draft, in review) version tests, the values those
    criteria name; one query."""
    categories = {key: a for key, a in registry.items() if a.type == AttrType.CATEGORY}
    criteria = (
        Criterion.objects.filter(
            version__status__in=[VersionStatus.APPROVED, *OPEN_STATUSES],
            attribute__in=list(categories),
        )
        .order_by("version_id", "position", "id")
        .values_list("attribute", "value")
    )
    in_use: dict[str, ValuesInUse] = {}
    for key, value in criteria:
        named = in_use.setdefault(key, ValuesInUse(categories[key], {}))
        for item in [value] if isinstance(value, str) else value or []:
            compared = canonical(item) if isinstance(item, str) else ""
            if compared:
                named.values.setdefault(compared, item.strip())
    return {key: named for key, named in in_use.items() if named.values}


def version_by_slug(*, slug: str, number: int) -> ProfileVersion | None:
    """A version by its profile's slug and its number, with its profile."""
    return (
        ProfileVersion.objects.select_related("profile")
        .filter(profile__slug=slug, number=number)
        .first()
    )


def unapproved_version_list(*, profile: Profile) -> QuerySet[ProfileVersion]:
    """A profile's versions other than the live one, newest first."""
    return profile.versions.exclude(status=VersionStatus.APPROVED).order_by("-number")


def profile_get(*, slug: str) -> Profile:
    return Profile.objects.prefetch_related("required_teams", "approving_teams", "admins").get(
        slug=slug
    )


def version_list(*, profile: Profile) -> QuerySet[ProfileVersion]:
    return (
        profile.versions.select_related("created_by", "approved_by", "submitted_by", "withdrawn_by")
        .annotate(criteria_count=Count("criteria"))
        .order_by("-number")
    )


def version_get(*, profile: Profile, number: int) -> ProfileVersion:
    return (
        ProfileVersion.objects.select_related(
            "profile", "parent", "created_by", "approved_by", "submitted_by", "withdrawn_by"
        )
        .prefetch_related("profile__required_teams", "profile__approving_teams")
        .get(profile=profile, number=number)
    )


@dataclass(frozen=True)
class TeamSignOffState:
    team: Team
    signoff: SignOff | None
    state: str  # missing | approved | changes_requested | stale

    @property
    def label(self) -> str:
        return {
            "missing": "Waiting for sign-off",
            "approved": "Approved",
            "changes_requested": "Changes requested",
            "stale": "Stale: signed an earlier revision",
        }[self.state]


def signoff_states(*, version: ProfileVersion) -> list[TeamSignOffState]:
    """Each required team's sign-off state on the version's current revision."""
    by_team = {s.team_id: s for s in version.signoffs.select_related("user", "team")}
    states = []
    for team in version.profile.required_teams.all():
        signoff = by_team.get(team.pk)
        if signoff is None:
            state = "missing"
        elif signoff.revision != version.revision:
            state = "stale"
        elif signoff.decision == SignOffDecision.APPROVE:
            state = "approved"
        else:
            state = "changes_requested"
        states.append(TeamSignOffState(team=team, signoff=signoff, state=state))
    return states


def version_approval_problems(*, version: ProfileVersion) -> list[str]:
    """Everything that stands between this version and approval, in words.

    Empty means it may be approved (by someone allowed to). Each problem
    names the criterion or team it is about.
    """
    return [*version_content_problems(version=version), *_signoff_problems(version)]


def version_content_problems(*, version: ProfileVersion) -> list[str]:
    """What is wrong with the version's own content (criteria, points,
    thresholds), whoever has signed it."""
    registry = attribute_registry()
    problems: list[str] = []
    criteria = list(version.criteria.all())
    fit = [c for c in criteria if c.kind == CriterionKind.FIT]
    if not fit:
        problems.append("Add at least one fit criterion.")
    total = sum(c.points for c in fit)
    if total != 100:
        problems.append(f"Fit points add up to {total}; they must add up to exactly 100.")
    if len(criteria) > MAX_CRITERIA:
        problems.append(f"A version holds at most {MAX_CRITERIA} criteria; it has {len(criteria)}.")
    if not 0 <= version.threshold_b < version.threshold_a <= 100:
        problems.append("Tier thresholds must satisfy 0 <= B < A <= 100.")
    for index, criterion in enumerate(criteria, start=1):
        attribute = registry.get(criterion.attribute)
        if attribute is None:
            problems.append(
                f"Criterion {index} uses the attribute {criterion.attribute!r}, "
                "which no longer exists; remove or change it."
            )
            continue
        try:
            operator = Operator(criterion.operator)
            if operator not in OPERATORS_BY_TYPE[attribute.type]:
                raise ValueError(f"{attribute.label} cannot use {OPERATOR_LABELS[operator]!r}.")
            validate_value(attribute, operator, criterion.value)
        except ValueError as exc:
            problems.append(f"Criterion {index} ({criterion_text(criterion, registry)}): {exc}")
    return problems


def _signoff_problems(version: ProfileVersion) -> list[str]:
    problems = []
    for team_state in signoff_states(version=version):
        name = team_state.team.name
        if team_state.state == "missing":
            problems.append(f"{name} has not signed off.")
        elif team_state.state == "stale":
            assert team_state.signoff is not None
            problems.append(
                f"{name} signed off on revision {team_state.signoff.revision}; the version "
                f"has changed since (now revision {version.revision}). {name} must sign again."
            )
        elif team_state.state == "changes_requested":
            problems.append(f"{name} requested changes.")
    return problems


# --- What a version holds, and its history ---------------------------------


def criterion_list(*, version: ProfileVersion) -> QuerySet[Criterion]:
    """A version's criteria in their display order."""
    return version.criteria.order_by("position", "id")


def comment_list(*, version: ProfileVersion) -> QuerySet[Comment]:
    """Every comment and reply on a version, oldest first."""
    return version.comments.select_related("author", "team", "resolved_by").order_by(
        "created_at", "id"
    )


def signoff_list(*, version: ProfileVersion) -> QuerySet[SignOff]:
    """Each team's latest decision on a version."""
    return version.signoffs.select_related("team", "user").order_by("team__name")


def version_event_list(*, version: ProfileVersion) -> QuerySet[VersionEvent]:
    """A version's activity log, newest first."""
    return version.events.select_related("actor", "team").order_by("-created_at", "-id")


# --- The pages' rows ----------------------------------------------------------


@dataclass(frozen=True)
class TeamRoster:
    """A team (as team_list gives it) and its managers and admins."""

    team: Team
    managers: list[User]


def team_roster_list() -> list[TeamRoster]:
    """Every team with its managers, in the queries team_list makes."""
    return [
        TeamRoster(team, [m.user for m in team.memberships.all() if m.can_manage])
        for team in team_list()
    ]


@dataclass(frozen=True)
class Thread:
    """A root comment with its replies, oldest first, and whether the viewer
    may resolve it (members of the thread's team and the profile's approvers)."""

    root: Comment
    entries: list[Comment]
    can_resolve: bool

    @property
    def pk(self) -> int:
        return self.root.pk

    @property
    def criterion_id(self) -> int | None:
        return self.root.criterion_id

    @property
    def criterion_label(self) -> str:
        return self.root.criterion_label

    @property
    def resolved(self) -> bool:
        return self.root.resolved

    @property
    def resolved_by(self) -> User | None:
        return self.root.resolved_by

    @property
    def resolved_at(self) -> datetime | None:
        return self.root.resolved_at


@dataclass(frozen=True)
class CriterionRow:
    """A criterion as the version page shows it: in words, with the comment
    threads about it."""

    criterion: Criterion
    text: str
    threads: list[Thread] = field(default_factory=list)

    @property
    def pk(self) -> int:
        return self.criterion.pk

    @property
    def attribute(self) -> str:
        return self.criterion.attribute

    @property
    def kind(self) -> str:
        return self.criterion.kind

    @property
    def points(self) -> int:
        return self.criterion.points

    @property
    def category(self) -> str:
        return self.criterion.category

    @property
    def rationale(self) -> str:
        return self.criterion.rationale


def version_threads(
    *, version: ProfileVersion, my_team_ids: set[int], approver: bool
) -> list[Thread]:
    """The version's comment threads, in one query."""
    comments = list(version.comments.select_related("author", "team", "resolved_by"))
    return [
        Thread(
            root=root,
            entries=[root, *(c for c in comments if c.parent_id == root.pk)],
            can_resolve=approver or root.team_id in my_team_ids,
        )
        for root in comments
        if root.parent_id is None
    ]


def criterion_rows(
    *,
    version: ProfileVersion,
    threads: list[Thread],
    registry: dict[str, Attribute] | None = None,
) -> list[CriterionRow]:
    """The version's criteria in words, each with its threads, in one query."""
    registry = attribute_registry() if registry is None else registry
    by_criterion: dict[int, list[Thread]] = {}
    for thread in threads:
        if thread.criterion_id:
            by_criterion.setdefault(thread.criterion_id, []).append(thread)
    return [
        CriterionRow(c, criterion_text(c, registry), by_criterion.get(c.pk, []))
        for c in version.criteria.all()
    ]


def criterion_row_get(*, pk: int) -> CriterionRow | None:
    """A criterion in words, as saved now; None once it is removed."""
    criterion = Criterion.objects.filter(pk=pk).first()
    return CriterionRow(criterion, criterion_text(criterion)) if criterion else None
