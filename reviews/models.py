"""Evidence from the field that keeps a profile honest.

`Override`: a rep says an account's tier is wrong, and why. `CheckIn`: a
profile's periodic (or drift-triggered) review, with an agenda that is live
while it is open and frozen when it is held, and an outcome. `ReviewMark`
and `ReviewCheckpoint`: what a manager has already looked at in their
weekly queue, so the queue can show what is new.
"""

from __future__ import annotations

from django.db import models

from profiles.models import Criterion, Profile, ProfileVersion, Team, User
from scoring.models import Account

TIERS = ["A", "B", "C", "DQ"]


class ClaimedTier(models.TextChoices):
    A = "A", "A"
    B = "B", "B"
    C = "C", "C"
    DQ = "DQ", "DQ"
    NOT_A_FIT = "not_a_fit", "Not a fit"


# A rep who says "not a fit" means the account should not be worked at all,
# which is what DQ says (tier C still says "fits, weakly"). Accepting such an
# override therefore makes the account's effective tier DQ.
NOT_A_FIT_TIER = "DQ"


def effective_claim(claimed: str) -> str:
    """The tier an accepted claim sets."""
    return NOT_A_FIT_TIER if claimed == ClaimedTier.NOT_A_FIT else claimed


class OverrideReason(models.TextChoices):
    DATA_WRONG = "data_wrong", "Data is wrong"
    STRATEGIC = "strategic", "Strategic account"
    TOO_STRICT = "too_strict", "Criterion too strict"
    TOO_LOOSE = "too_loose", "Criterion too loose"
    TIMING = "timing", "Timing or intent"
    OTHER = "other", "Other"


class OverrideStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    ACCEPTED = "accepted", "Accepted"
    REJECTED = "rejected", "Rejected"


class Override(models.Model):
    """A rep's claim that an account belongs in another tier.

    The machine's score and tier under the live version are stored beside
    the claim, so the evidence survives rescoring. `team` is the rep's team
    when logged: its managers review the override. `rep` is whose claim it
    is; `logged_by` is who made it (the rep, or a manager or the CRM in the
    rep's name). Neither may decide it, so every claim has a second pair of
    eyes.
    """

    Status = OverrideStatus
    Reason = OverrideReason
    Claimed = ClaimedTier

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="overrides")
    profile = models.ForeignKey(Profile, on_delete=models.CASCADE, related_name="overrides")
    version = models.ForeignKey(
        ProfileVersion,
        on_delete=models.PROTECT,
        related_name="overrides",
        help_text="The live version when the override was logged.",
    )
    rep = models.ForeignKey(User, on_delete=models.PROTECT, related_name="overrides")
    logged_by = models.ForeignKey(
        User,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Who logged the claim: the rep, or someone in the rep's name.",
    )
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="overrides")
    machine_score = models.PositiveSmallIntegerField(null=True, blank=True)
    machine_tier = models.CharField(max_length=2, blank=True)
    claimed_tier = models.CharField(max_length=12, choices=ClaimedTier.choices)
    reason = models.CharField(max_length=16, choices=OverrideReason.choices)
    criterion = models.ForeignKey(
        Criterion,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The criterion the reason is about, if any.",
    )
    criterion_label = models.CharField(max_length=200, blank=True)
    note = models.TextField(blank=True)
    status = models.CharField(
        max_length=10, choices=OverrideStatus.choices, default=OverrideStatus.PENDING
    )
    reviewed_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    review_note = models.TextField(blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["profile", "status", "created_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["profile", "account", "rep"],
                condition=models.Q(status="pending"),
                name="override_one_open_per_account_rep",
            ),
            models.CheckConstraint(
                condition=models.Q(claimed_tier__in=ClaimedTier.values),
                name="override_claimed_tier_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(reason__in=OverrideReason.values),
                name="override_reason_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=OverrideStatus.values),
                name="override_status_valid",
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(status="pending", reviewed_by__isnull=True, reviewed_at__isnull=True)
                    | (
                        ~models.Q(status="pending")
                        & models.Q(reviewed_by__isnull=False, reviewed_at__isnull=False)
                    )
                ),
                name="override_reviewed_when_decided",
            ),
            models.CheckConstraint(
                condition=models.Q(reviewed_by__isnull=True)
                | (
                    ~models.Q(reviewed_by=models.F("rep"))
                    & ~models.Q(reviewed_by=models.F("logged_by"))
                ),
                name="override_decided_by_a_second_person",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account} {self.machine_tier or '?'} -> {self.get_claimed_tier_display()}"

    @property
    def sets_tier(self) -> str:
        return effective_claim(self.claimed_tier)

    @property
    def logged_in_reps_name(self) -> bool:
        return self.logged_by_id != self.rep_id

    @property
    def attribution(self) -> str:
        """Whose claim it is, naming who logged it when that is someone else
        ("logged by Mona Manager for Rita Rep"), so nobody mistakes a claim
        made in a rep's name for the rep's own."""
        if self.logged_in_reps_name:
            return f"logged by {self.logged_by} for {self.rep}"
        return str(self.rep)


class CheckInKind(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    OFF_CYCLE = "off_cycle", "Off-cycle"


class CheckInOutcome(models.TextChoices):
    NONE = "", "Open"
    NO_CHANGE = "no_change", "No change"
    START_REVISION = "start_revision", "Start a revision"


class CheckIn(models.Model):
    """A review of how a profile is doing against the field.

    Scheduled ones follow the profile's cadence; off-cycle ones open when
    drift is detected (`trigger` says which check, `trigger_figures` what it
    measured then). While open, its agenda is worked out afresh whenever it
    is shown (reviews.agenda); holding it (an outcome: no change with a
    note, or a revision, which links the draft it started) stores the agenda
    of that moment in `agenda`, with `since` and `agenda_at`, and from then
    on the stored one is shown. Rows from before that rule hold the agenda
    of their creation, `agenda_at` their creation time.
    """

    Kind = CheckInKind
    Outcome = CheckInOutcome

    profile = models.ForeignKey(Profile, on_delete=models.CASCADE, related_name="checkins")
    kind = models.CharField(max_length=10, choices=CheckInKind.choices)
    due_on = models.DateField()
    trigger = models.CharField(max_length=20, blank=True, help_text="Drift check that fired.")
    trigger_reason = models.CharField(max_length=300, blank=True)
    trigger_figures = models.JSONField(
        default=dict, blank=True, help_text="What the drift check measured when it fired."
    )
    since = models.DateTimeField(
        null=True, blank=True, help_text="Start of the period the stored agenda covers."
    )
    agenda = models.JSONField(
        default=dict, blank=True, help_text="The agenda as recorded when the check-in was held."
    )
    agenda_at = models.DateTimeField(
        null=True, blank=True, help_text="When the stored agenda was worked out."
    )
    outcome = models.CharField(
        max_length=16, choices=CheckInOutcome.choices, default=CheckInOutcome.NONE, blank=True
    )
    outcome_note = models.TextField(blank=True)
    draft = models.ForeignKey(
        ProfileVersion,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="checkins",
    )
    closed_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-due_on", "-id"]
        verbose_name = "check-in"
        constraints = [
            models.UniqueConstraint(
                fields=["profile", "due_on"],
                condition=models.Q(kind="scheduled"),
                name="checkin_one_scheduled_per_due_date",
            ),
            models.UniqueConstraint(
                fields=["profile", "trigger"],
                condition=models.Q(kind="off_cycle", outcome=""),
                name="checkin_one_open_per_trigger",
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=CheckInKind.values), name="checkin_kind_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(outcome__in=CheckInOutcome.values),
                name="checkin_outcome_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(outcome="") | models.Q(closed_at__isnull=False),
                name="checkin_closed_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.profile} check-in due {self.due_on:%Y-%m-%d} ({self.get_kind_display()})"

    @property
    def is_open(self) -> bool:
        return self.outcome == CheckInOutcome.NONE


class ReviewMark(models.Model):
    """A queue item a manager marked reviewed.

    Items are identified by kind, an object id and, for outcomes, when the
    outcome happened: a surprising deal (won, lost) by the deal's id and its
    close, a churn by the account's id and its churn date. A deal closed
    again later, or an account churning again, shows up as unreviewed.
    """

    class Kind(models.TextChoices):
        OVERRIDE = "override", "Override"
        DRAFT = "draft", "Draft"
        CHECKIN = "checkin", "Check-in"
        RUN = "run", "Tier moves of a run"
        WON = "won", "Deal won by tier C or DQ"
        LOST = "lost", "Deal lost by tier A"
        CHURNED = "churned", "Churned in tier A"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="review_marks")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    object_id = models.BigIntegerField()
    occurred_at = models.DateTimeField(null=True, blank=True)
    marked_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "kind", "object_id", "occurred_at"], name="review_mark_once"
            ),
            models.UniqueConstraint(
                fields=["user", "kind", "object_id"],
                condition=models.Q(occurred_at__isnull=True),
                name="review_mark_once_timeless",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} reviewed {self.kind} {self.object_id}"


# The kinds of surprise (outcomes the live tier did not predict), in the
# order the queue shows them.
SURPRISE_KINDS = (ReviewMark.Kind.WON, ReviewMark.Kind.LOST, ReviewMark.Kind.CHURNED)


class ReviewCheckpoint(models.Model):
    """When a manager last finished their review; later items are new."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="review_checkpoint")
    reviewed_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.user} reviewed at {self.reviewed_at:%Y-%m-%d %H:%M}"


class DigestSent(models.Model):
    """One weekly digest per manager and week, claimed before sending so a
    repeated task never mails twice."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    week_of = models.DateField()
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "week_of"], name="digest_once_per_week"),
        ]

    def __str__(self) -> str:
        return f"Digest for {self.user}, week of {self.week_of:%Y-%m-%d}"


# --- Notifications and My work ---------------------------------------------------


class NotificationKind(models.TextChoices):
    """What a person can be told about, each about something that is theirs
    (the same rules as My work and the policies: who may act on it)."""

    VERSION_SUBMITTED = "version_submitted", "A version waits for my team's sign-off"
    SIGNOFF_STALE = "signoff_stale", "My team's sign-off went stale"
    VERSION_APPROVED = "version_approved", "A version I signed or commented on was approved"
    OVERRIDE_WAITING = "override_waiting", "An override waits for my decision"
    OVERRIDE_DECIDED = "override_decided", "An override of mine was decided"
    CHECKIN_DUE = "checkin_due", "A check-in I take part in comes due"


class NotificationDelivery(models.TextChoices):
    """How a kind of notification reaches the person by email. Every
    notification is listed in the app whatever the choice."""

    IMMEDIATELY = "immediately", "Email me at once"
    DIGEST = "digest", "In the Monday digest"
    OFF = "off", "No email"


# Until a person chooses: everything at once, except claims waiting for a
# manager, which a CRM may log by the hundred and the Monday digest already
# gathers in the review queue.
DEFAULT_DELIVERY = {
    **dict.fromkeys(NotificationKind, NotificationDelivery.IMMEDIATELY),
    NotificationKind.OVERRIDE_WAITING: NotificationDelivery.DIGEST,
}


class NotificationPreference(models.Model):
    """A person's choice of delivery for one kind; no row means the default."""

    Kind = NotificationKind
    Delivery = NotificationDelivery

    user = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="notification_preferences"
    )
    kind = models.CharField(max_length=24, choices=NotificationKind.choices)
    delivery = models.CharField(max_length=12, choices=NotificationDelivery.choices)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["user", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["user", "kind"], name="notification_preference_once"),
            models.CheckConstraint(
                condition=models.Q(kind__in=NotificationKind.values),
                name="notification_preference_kind_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(delivery__in=NotificationDelivery.values),
                name="notification_preference_delivery_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user}: {self.get_kind_display()}: {self.get_delivery_display()}"


class Notification(models.Model):
    """One event told to one person: listed in the app (unread until they
    mark it read) and emailed as their preference for its kind said when
    it happened.

    `key` names the event within its kind (the override, the version's
    revision), so an event repeated by a retry is recorded once per person.
    `emailed_at` is set when the email is claimed for sending (at once, or in
    the digest), so no email goes twice.
    """

    Kind = NotificationKind
    Delivery = NotificationDelivery

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=24, choices=NotificationKind.choices)
    key = models.CharField(max_length=100)
    title = models.CharField(max_length=300)
    detail = models.TextField(blank=True)
    path = models.CharField(max_length=500, help_text="Where to act, on this site.")
    actor = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    delivery = models.CharField(max_length=12, choices=NotificationDelivery.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["user", "read_at"], name="notification_unread"),
            models.Index(fields=["delivery", "emailed_at"], name="notification_unsent"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "kind", "key"], name="notification_once_per_event"
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=NotificationKind.values),
                name="notification_kind_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(delivery__in=NotificationDelivery.values),
                name="notification_delivery_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"To {self.user}: {self.title}"

    @property
    def is_read(self) -> bool:
        return self.read_at is not None


class MyWorkCheckpoint(models.Model):
    """When a person last cleared the news on their My work panel (their
    overrides decided, runs finished for versions they signed); later news
    shows there until they clear it again."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="my_work_checkpoint")
    seen_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.user} cleared My work at {self.seen_at:%Y-%m-%d %H:%M}"
