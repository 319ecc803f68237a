from __future__ import annotations

import re
import uuid
from typing import Any

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower

from profiles.attributes import (
    BUILTIN_ATTRIBUTES,
    CATEGORIES,
    COMPARED,
    MAX_ATTRIBUTE_KEY_LENGTH,
    MAX_PROFILE_NAME_LENGTH,
    MAX_RATIONALE_LENGTH,
    OPERATOR_LABELS,
    Attribute,
    AttrType,
    Operator,
    trait_attribute,
)


class User(AbstractUser):
    """A person who signs in. Email is unique (case-insensitively) because
    the CRM refers to reps by email address."""

    email = models.EmailField("email address")

    # The person's role in each of their teams, by team id, once
    # profiles.policies.roles_of has read it for this object (a request's).
    team_roles: dict[int, str] | None = None

    class Meta:
        verbose_name = "user"
        constraints = [
            models.UniqueConstraint(
                Lower("email"), condition=~models.Q(email=""), name="user_email_unique_ci"
            ),
        ]

    def __str__(self) -> str:
        return self.get_full_name() or self.username


class TeamFunction(models.TextChoices):
    SALES = "sales", "Sales"
    MARKETING = "marketing", "Marketing"
    CUSTOMER_SUCCESS = "customer_success", "Customer success"
    PRODUCT = "product", "Product"
    REVOPS = "revops", "RevOps"
    OTHER = "other", "Other"


class MembershipRole(models.TextChoices):
    MEMBER = "member", "Member"
    MANAGER = "manager", "Manager"
    ADMIN = "admin", "Admin"


class Team(models.Model):
    Function = TeamFunction

    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    function = models.CharField(max_length=32, choices=TeamFunction.choices)
    members: models.ManyToManyField[User, Membership] = models.ManyToManyField(
        User, through="Membership", related_name="teams"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(function__in=TeamFunction.values),
                name="team_function_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    Role = MembershipRole

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(
        max_length=16, choices=MembershipRole.choices, default=MembershipRole.MEMBER
    )
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["team__name", "user__username"]
        constraints = [
            models.UniqueConstraint(fields=["user", "team"], name="membership_one_per_team"),
            models.CheckConstraint(
                condition=models.Q(role__in=MembershipRole.values),
                name="membership_role_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.team} ({self.get_role_display()})"

    @property
    def can_manage(self) -> bool:
        return self.role in {self.Role.MANAGER, self.Role.ADMIN}


TRAIT_KEY_MAX_LENGTH = 40
TRAIT_LABEL_LENGTH = 80
TRAIT_HELP_LENGTH = 200
TRAIT_TYPE_CHOICES = [(t.value, t.value.title()) for t in AttrType]
TRAIT_CATEGORY_CHOICES = [(c, c.title()) for c in CATEGORIES]

# Lower-case words of letters and digits joined by single underscores.
TRAIT_KEY_PATTERN = r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*"
_TRAIT_KEY = re.compile(TRAIT_KEY_PATTERN)

# Words the ORM reads as an operation rather than a key at the end of
# `traits__<key>` (e.g. `traits__contains=True`), where the scoring
# expressions name a trait.
_JSON_LOOKUPS = frozenset(models.JSONField.get_lookups())

TRAIT_KEY_RULE = (
    "lower-case letters and digits, words joined by single underscores, starting with a "
    f"letter (e.g. seats or arr_band), at most {TRAIT_KEY_MAX_LENGTH} characters"
)


def trait_key_problem(key: str) -> str | None:
    """What is wrong with `key` as a new trait's key, or None.

    The key names the trait in every account's traits, in CSV columns
    (`traits.<key>`), in criteria and in the database expressions that
    score them, which read `__` as a path step and a trailing `_` as part of
    one, a leading digit as a list index and a lookup word (`contains`,
    `exact`) as an operation. A built-in attribute's key would shadow it.
    """
    if len(key) > TRAIT_KEY_MAX_LENGTH or not _TRAIT_KEY.fullmatch(key):
        return f"{key[:60]!r} is not a trait key: use {TRAIT_KEY_RULE}."
    if key in BUILTIN_ATTRIBUTES:
        return (
            f"{key!r} is the key of the built-in attribute "
            f"{BUILTIN_ATTRIBUTES[key].label}; choose another key."
        )
    if key in _JSON_LOOKUPS:
        return f"{key!r} is a word the database reads as an operation; choose another key."
    return None


def validate_trait_key(key: str) -> None:
    """The rule for a new trait's key (trait_key_problem), as a field validator:
    the admin's form and scoring.traits both check the key through it."""
    problem = trait_key_problem(key)
    if problem is not None:
        raise ValidationError(problem, code="invalid_trait_key")


class Trait(models.Model):
    """A custom account attribute the company declares (stored in Account.traits).

    Criteria may use it like a built-in attribute; ingest validates its values
    against the declared type. Declared, changed and removed through
    scoring.traits (the admin and the API alike), whose rules read the
    accounts; the key never changes once declared.
    """

    key = models.CharField(
        max_length=TRAIT_KEY_MAX_LENGTH,
        unique=True,
        validators=[validate_trait_key],
        error_messages={"unique": "A trait with this key is already declared."},
        help_text=f"Key in the account's traits: {TRAIT_KEY_RULE}. It cannot change later.",
    )
    label = models.CharField(max_length=TRAIT_LABEL_LENGTH)
    type = models.CharField(max_length=16, choices=TRAIT_TYPE_CHOICES)
    category = models.CharField(max_length=16, choices=TRAIT_CATEGORY_CHOICES)
    help = models.CharField(max_length=TRAIT_HELP_LENGTH, blank=True)

    class Meta:
        ordering = ["label"]

    def __str__(self) -> str:
        return self.label

    def as_attribute(self) -> Attribute:
        type_ = AttrType(self.type)
        compared = COMPARED if type_ in (AttrType.CATEGORY, AttrType.LIST) else ""
        help_ = " ".join(text for text in (self.help, compared) if text)
        return trait_attribute(self.key, self.label, type_, self.category, help_)


class Profile(models.Model):
    """One ICP. Most companies run one; some run one per segment."""

    class Cadence(models.IntegerChoices):
        MONTHLY = 1, "Monthly"
        QUARTERLY = 3, "Quarterly"
        HALF_YEARLY = 6, "Every six months"
        YEARLY = 12, "Yearly"

    name = models.CharField(max_length=MAX_PROFILE_NAME_LENGTH, unique=True)
    slug = models.SlugField(max_length=MAX_PROFILE_NAME_LENGTH, unique=True)
    description = models.TextField(blank=True)
    required_teams: models.ManyToManyField[Team, Any] = models.ManyToManyField(
        Team, related_name="required_for", help_text="Teams whose fresh sign-off approval needs."
    )
    approving_teams: models.ManyToManyField[Team, Any] = models.ManyToManyField(
        Team,
        related_name="approves",
        blank=True,
        help_text="Managers and admins of these teams may approve a version.",
    )
    admins: models.ManyToManyField[User, Any] = models.ManyToManyField(
        User,
        related_name="administered_profiles",
        blank=True,
        help_text="Profile admins may approve, withdraw and manage the profile.",
    )
    checkin_cadence = models.PositiveSmallIntegerField(
        choices=Cadence.choices, default=Cadence.QUARTERLY
    )
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class VersionStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    IN_REVIEW = "in_review", "In review"
    APPROVED = "approved", "Approved"
    SUPERSEDED = "superseded", "Superseded"
    WITHDRAWN = "withdrawn", "Withdrawn"


OPEN_STATUSES = (VersionStatus.DRAFT, VersionStatus.IN_REVIEW)
FROZEN_STATUSES = (VersionStatus.APPROVED, VersionStatus.SUPERSEDED, VersionStatus.WITHDRAWN)


class ProfileVersion(models.Model):
    """A numbered version of a profile's criteria and thresholds.

    `revision` counts edits to the content; a sign-off and every edit name
    the revision they were based on, which makes stale sign-offs and lost
    updates detectable. Approved, superseded and withdrawn versions are frozen.
    """

    Status = VersionStatus

    profile = models.ForeignKey(Profile, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=VersionStatus.choices, default="draft")
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children"
    )
    rationale = models.TextField(blank=True, help_text="Why this version: what changed and why.")
    threshold_a = models.PositiveSmallIntegerField(default=70)
    threshold_b = models.PositiveSmallIntegerField(default=40)
    revision = models.PositiveIntegerField(default=1)
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    submitted_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    superseded_at = models.DateTimeField(null=True, blank=True)
    withdrawn_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["profile", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["profile", "number"], name="version_number_unique"),
            models.UniqueConstraint(
                fields=["profile"],
                condition=models.Q(status="approved"),
                name="version_one_approved_per_profile",
            ),
            models.UniqueConstraint(
                fields=["profile"],
                condition=models.Q(status__in=["draft", "in_review"]),
                name="version_one_open_per_profile",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=VersionStatus.values), name="version_status_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(threshold_a__lte=100, threshold_a__gt=models.F("threshold_b")),
                name="version_thresholds_ordered",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="approved") | models.Q(approved_at__isnull=False),
                name="version_approved_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.profile} v{self.number}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def is_frozen(self) -> bool:
        return self.status in FROZEN_STATUSES


class CriterionKind(models.TextChoices):
    FIT = "fit", "Fit"
    DISQUALIFIER = "disqualifier", "Disqualifier"


class Criterion(models.Model):
    """One weighted rule over an account attribute, or a disqualifier.

    `lineage` is kept when a draft copies its parent's criteria, so the
    diff between versions pairs a criterion with its earlier self.
    """

    Kind = CriterionKind

    version = models.ForeignKey(ProfileVersion, on_delete=models.CASCADE, related_name="criteria")
    lineage = models.UUIDField(default=uuid.uuid4, editable=False)
    attribute = models.CharField(max_length=MAX_ATTRIBUTE_KEY_LENGTH)
    operator = models.CharField(
        max_length=16, choices=[(o.value, OPERATOR_LABELS[o]) for o in Operator]
    )
    value = models.JSONField(null=True, blank=True)
    points = models.PositiveSmallIntegerField(default=0)
    kind = models.CharField(max_length=16, choices=CriterionKind.choices, default="fit")
    category = models.CharField(max_length=16, choices=[(c, c.title()) for c in CATEGORIES])
    rationale = models.CharField(max_length=MAX_RATIONALE_LENGTH, blank=True)
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["version", "position", "id"]
        verbose_name_plural = "criteria"
        constraints = [
            models.UniqueConstraint(fields=["version", "lineage"], name="criterion_lineage_unique"),
            models.CheckConstraint(
                condition=models.Q(points__lte=100), name="criterion_points_max"
            ),
            models.CheckConstraint(
                condition=models.Q(kind="fit") | models.Q(points=0),
                name="criterion_disqualifier_has_no_points",
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=CriterionKind.values), name="criterion_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.attribute} {self.operator} {self.value!r}"


class Comment(models.Model):
    """A comment written as one of the author's teams, on a version or one criterion."""

    version = models.ForeignKey(ProfileVersion, on_delete=models.CASCADE, related_name="comments")
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="comments")
    author = models.ForeignKey(User, on_delete=models.PROTECT, related_name="comments")
    criterion = models.ForeignKey(
        Criterion, null=True, blank=True, on_delete=models.SET_NULL, related_name="comments"
    )
    criterion_label = models.CharField(
        max_length=200, blank=True, help_text="What the criterion said when commented on."
    )
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="replies"
    )
    body = models.TextField()
    resolved = models.BooleanField(default=False)
    resolved_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.author} for {self.team}: {self.body[:40]}"


class SignOffDecision(models.TextChoices):
    APPROVE = "approve", "Approve"
    REQUEST_CHANGES = "request_changes", "Request changes"


class SignOff(models.Model):
    """A team's decision on a version, bound to the revision it was given on.

    One per team and version: a new decision replaces the team's earlier one.
    """

    Decision = SignOffDecision

    version = models.ForeignKey(ProfileVersion, on_delete=models.CASCADE, related_name="signoffs")
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="signoffs")
    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="signoffs")
    decision = models.CharField(max_length=16, choices=SignOffDecision.choices)
    note = models.TextField(blank=True)
    revision = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["team__name"]
        constraints = [
            models.UniqueConstraint(fields=["version", "team"], name="signoff_one_per_team"),
            models.CheckConstraint(
                condition=models.Q(decision__in=SignOffDecision.values),
                name="signoff_decision_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.team}: {self.get_decision_display()} (rev {self.revision})"


class VersionEvent(models.Model):
    """The activity log of a version: who did what, when, with before/after."""

    class Verb(models.TextChoices):
        CREATED = "created", "started the draft"
        EDITED = "edited", "edited the version"
        CRITERION_ADDED = "criterion_added", "added a criterion"
        CRITERION_CHANGED = "criterion_changed", "changed a criterion"
        CRITERION_REMOVED = "criterion_removed", "removed a criterion"
        SUBMITTED = "submitted", "submitted for review"
        COMMENTED = "commented", "commented"
        RESOLVED = "resolved", "resolved a comment"
        SIGNED_OFF = "signed_off", "signed off"
        CHANGES_REQUESTED = "changes_requested", "requested changes"
        WITHDRAWN = "withdrawn", "withdrew the version"
        APPROVED = "approved", "approved the version"
        SUPERSEDED = "superseded", "superseded by a newer version"

    version = models.ForeignKey(ProfileVersion, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(User, null=True, on_delete=models.PROTECT, related_name="+")
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    verb = models.CharField(max_length=24, choices=Verb.choices)
    summary = models.CharField(max_length=300)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    revision = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.actor} {self.get_verb_display()}: {self.summary}"
