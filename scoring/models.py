from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import models

from profiles.attributes import (
    BUILTIN_ATTRIBUTES,
    LIST_SEPARATOR,
    AttrType,
    canonical,
    compared_items,
)
from profiles.models import Profile, ProfileVersion, User


class DealStatus(models.TextChoices):
    """An account's `deal_status`, the outcome field that reads its outcome
    deal's status (see `outcome_values`): empty while it has none."""

    NONE = "", "No deal"
    OPEN = "open", "Open"
    WON = "won", "Won"
    LOST = "lost", "Lost"


class Account(models.Model):
    """A company in the CRM's account base, with the attributes criteria test,
    its lifecycle stage and churn. Its deals (Deal) are the outcomes that later
    tell whether the profile was right; its outcome fields are read from one
    of them, its outcome deal (`outcome_values`).

    Missing data is stored as NULL (numbers, booleans), an empty string
    (categories) or an empty list, never as a guess.

    Category values are kept as the CRM sent them; criteria compare them in
    canonical form (profiles.attributes.canonical), which the database cannot
    compute alike everywhere (SQLite's lower() folds ASCII only). So the
    canonical forms are stored beside them, computed in Python whenever the
    values are written (`reindex`): `<category>_canonical` for each built-in
    category, `traits_canonical` for the text traits, and `list_index`, every
    list attribute's items as "|key:item|" text so a run tests membership
    with a portable LIKE. Whatever writes an account's values reindexes it.
    """

    external_id = models.CharField(max_length=64, unique=True, help_text="The CRM's id.")
    name = models.CharField(max_length=200)
    domain = models.CharField(max_length=200, blank=True, db_index=True)
    employees = models.PositiveIntegerField(null=True, blank=True)
    annual_revenue = models.BigIntegerField(
        null=True, blank=True, help_text="Whole units of the reporting currency."
    )
    industry = models.CharField(max_length=200, blank=True)
    country = models.CharField(max_length=200, blank=True)
    funding_stage = models.CharField(max_length=200, blank=True)
    crm = models.CharField(max_length=200, blank=True)
    tech_stack = models.JSONField(default=list, blank=True)
    has_revops = models.BooleanField(null=True, blank=True)
    traits = models.JSONField(default=dict, blank=True)
    list_index = models.TextField(default="", blank=True, editable=False)
    industry_canonical = models.TextField(default="", blank=True, editable=False)
    country_canonical = models.TextField(default="", blank=True, editable=False)
    funding_stage_canonical = models.TextField(default="", blank=True, editable=False)
    crm_canonical = models.TextField(default="", blank=True, editable=False)
    traits_canonical = models.JSONField(default=dict, blank=True, editable=False)

    lifecycle_stage = models.CharField(max_length=60, blank=True)
    churned_at = models.DateTimeField(null=True, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        # The accounts list sorted by name reads the first page from this
        # index instead of sorting the base (200 ms -> 12 ms at a million).
        # The list's filters by industry and country find rare values
        # without reading the base. Its search by name or domain uses
        # trigram indexes on PostgreSQL (migrations 0020 and 0022,
        # ACCOUNT_SEARCH_INDEXES).
        indexes = [
            models.Index(fields=["name", "id"], name="account_name_order"),
            models.Index(fields=["industry_canonical", "id"], name="account_industry"),
            models.Index(fields=["country_canonical", "id"], name="account_country"),
        ]

    def __str__(self) -> str:
        return self.name

    def facts(self) -> dict[str, Any]:
        """The account as the scoring engine reads it."""
        facts: dict[str, Any] = {key: getattr(self, key) for key in BUILTIN_ATTRIBUTES}
        facts["traits"] = self.traits or {}
        return facts

    def reindex(self) -> bool:
        """Bring the canonical columns and the list index in step with the
        account's values; True when any of them changed. A column not loaded
        (deferred) is set without reading it, and counts as changed."""
        changed = False
        deferred = self.get_deferred_fields()
        for name, value in canonical_fields(self.facts()).items():
            if name in deferred or getattr(self, name) != value:
                setattr(self, name, value)
                changed = True
        return changed


class DealType(models.TextChoices):
    NEW = "new", "New business"
    EXPANSION = "expansion", "Expansion"
    RENEWAL = "renewal", "Renewal"


class DealState(models.TextChoices):
    OPEN = "open", "Open"
    WON = "won", "Won"
    LOST = "lost", "Lost"


# A deal written through an account's outcome fields (the outcomes endpoint,
# an account row's deal_* fields, a CSV's deal columns) is the account's
# one "outcome deal", kept under this external id prefix.
OUTCOME_DEAL_PREFIX = "outcome:"
# What an outcome deal's id becomes when its account is merged into another
# (scoring.services.accounts_merge): "merged:outcome:<merged external id>".
MERGED_OUTCOME_PREFIX = "merged:"
# An account's outcome fields, as an account row, a CSV file and the API
# name them, and the field of the account's outcome deal each one is.
OUTCOME_FIELDS = {
    "opportunity_opened_at": "opened_at",
    "deal_status": "status",
    "deal_closed_at": "closed_at",
    "deal_amount": "amount",
}


def outcome_deal_id(account_external_id: str) -> str:
    """The external id of the account's outcome deal."""
    return OUTCOME_DEAL_PREFIX + account_external_id


class Deal(models.Model):
    """An opportunity in the CRM: new business, an expansion or a renewal,
    open or closed won or lost on its own date.

    Win rates, the backtest, drift and the evidence panel count deals, so an
    account with three renewals counts three times. `external_id` is the
    CRM's opportunity id; deals recorded through an account's outcome
    shortcut are kept as `OUTCOME_DEAL_PREFIX + account.external_id`.
    """

    external_id = models.CharField(max_length=100, unique=True, help_text="The CRM's deal id.")
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="deals")
    name = models.CharField(max_length=200, blank=True)
    stage = models.CharField(
        max_length=60, blank=True, help_text="The CRM's own stage name, kept as sent."
    )
    status = models.CharField(max_length=8, choices=DealState.choices, default=DealState.OPEN)
    type = models.CharField(max_length=10, choices=DealType.choices, default=DealType.NEW)
    amount = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    currency = models.CharField(
        max_length=3, blank=True, help_text="ISO 4217 code; blank is the reporting currency."
    )
    opened_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        ordering = ["-closed_at", "-opened_at", "id"]
        indexes = [
            models.Index(fields=["account", "status"], name="deal_account_status"),
            models.Index(fields=["status", "closed_at"], name="deal_status_closed"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=DealState.values), name="deal_status_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(type__in=DealType.values), name="deal_type_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(amount__gte=0) | models.Q(amount__isnull=True),
                name="deal_amount_not_negative",
            ),
            models.CheckConstraint(
                condition=models.Q(status="open") | models.Q(closed_at__isnull=False),
                name="deal_closed_has_date",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.external_id} ({self.status})"

    @property
    def is_outcome(self) -> bool:
        """Written through the account's outcome fields (the outcome shortcut)."""
        return self.external_id.startswith(OUTCOME_DEAL_PREFIX)


def outcome_values(deal: Deal | None) -> dict[str, Any]:
    """An account's outcome fields, read from its outcome deal `deal`: the
    deal's values, or no outcome (deal_status empty, the rest null) while the
    account has none. The deal is the one place the outcome is stored."""
    if deal is None:
        return {name: DealStatus.NONE if name == "deal_status" else None for name in OUTCOME_FIELDS}
    return {name: getattr(deal, field) for name, field in OUTCOME_FIELDS.items()}


def list_index_for(tech_stack: list[str], traits: dict[str, Any]) -> str:
    """The "|key:item|" text for every list attribute, each item in the form
    it is compared in (profiles.attributes.compared_items)."""
    parts = [f"tech_stack:{item}" for item in compared_items(tech_stack)]
    for key, value in sorted(traits.items()):
        if isinstance(value, list):
            parts.extend(f"{key}:{item}" for item in compared_items(value))
    if not parts:
        return ""
    return LIST_SEPARATOR + LIST_SEPARATOR.join(parts) + LIST_SEPARATOR


# Each built-in category attribute -> the column holding its canonical form.
CANONICAL_COLUMNS: dict[str, str] = {
    key: f"{key}_canonical"
    for key, attribute in BUILTIN_ATTRIBUTES.items()
    if attribute.type == AttrType.CATEGORY
}

# The account's columns each of its score rows carries a copy of (AccountScore).
SCORE_ROW_COPIES = (CANONICAL_COLUMNS["industry"], CANONICAL_COLUMNS["country"])

# The account's columns derived from its values by canonical_fields: kept
# in step by Account.reindex, never sent or compared on their own.
DERIVED_FIELDS = ("list_index", *CANONICAL_COLUMNS.values(), "traits_canonical")


def canonical_fields(facts: Mapping[str, Any]) -> dict[str, Any]:
    """The stored comparison forms of an account's values, from the values
    as the engine reads them (Account.facts, or a row of fields with
    "traits"): each built-in category's canonical column, `traits_canonical`
    (the canonical form of every text trait, by key) and `list_index`."""
    traits = facts.get("traits") or {}
    fields: dict[str, Any] = {
        column: canonical(value) if isinstance(value := facts.get(key), str) else ""
        for key, column in CANONICAL_COLUMNS.items()
    }
    fields["traits_canonical"] = {
        key: canonical(value) for key, value in sorted(traits.items()) if isinstance(value, str)
    }
    fields["list_index"] = list_index_for(facts.get("tech_stack") or [], traits)
    return fields


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    SUPERSEDED = "superseded", "Superseded"


class ScoringRun(models.Model):
    """One rescoring of the whole account base against one approved version.

    Exactly one run per profile is current; readers only ever see the scores
    of the current run, so a half-written run is never visible.
    """

    Status = RunStatus

    profile = models.ForeignKey(Profile, on_delete=models.CASCADE, related_name="scoring_runs")
    version = models.ForeignKey(
        ProfileVersion, on_delete=models.CASCADE, related_name="scoring_runs"
    )
    status = models.CharField(max_length=12, choices=RunStatus.choices, default=RunStatus.QUEUED)
    is_current = models.BooleanField(default=False)
    requested_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    split_max_id = models.BigIntegerField(
        null=True, blank=True, help_text="Highest account id when the run was split into chunks."
    )
    chunks_total = models.PositiveIntegerField(default=0)
    chunks_done = models.PositiveIntegerField(default=0)
    accounts_scored = models.PositiveIntegerField(default=0)
    tier_counts = models.JSONField(default=dict, blank=True)
    tier_movement = models.JSONField(
        default=dict, blank=True, help_text='Counts against the previous run, e.g. {"A->B": 12}.'
    )
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    progressed_at = models.DateTimeField(
        null=True, blank=True, help_text="When the run was planned or a chunk last finished."
    )
    finished_at = models.DateTimeField(null=True, blank=True)
    dispatched_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When its rescoring task was handed to the broker; empty while it was not "
        "(the broker did not answer), and the sweep on beat sends it.",
    )
    previous = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The current run the chunks compared against when they were planned.",
    )
    feed_seq = models.BigIntegerField(
        null=True, blank=True, help_text="The change number the flip drew (see ChangeClock)."
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        get_latest_by = "created_at"
        constraints = [
            models.UniqueConstraint(
                fields=["profile"],
                condition=models.Q(is_current=True),
                name="run_one_current_per_profile",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=RunStatus.values), name="run_status_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(is_current=False) | models.Q(status="succeeded"),
                name="run_current_has_succeeded",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.profile} run {self.pk} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in (RunStatus.QUEUED, RunStatus.RUNNING)

    @property
    def progress(self) -> int:
        """Percent of chunks done."""
        if self.status == RunStatus.SUCCEEDED:
            return 100
        if not self.chunks_total:
            return 0
        return min(99, self.chunks_done * 100 // self.chunks_total)

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


class AccountScore(models.Model):
    """An account's score in one run.

    The primary key is (run, account) and neither column carries a foreign
    key constraint or an index of its own: a run inserts hundreds of thousands
    of rows at once, and a per-row constraint check and second index made
    that insert about three times slower. Runs and accounts are deleted by
    services that delete their scores too. On PostgreSQL the table is
    partitioned by run, each run's rows in a table of its own keyed by
    account (see scoring.score_tables).

    `matched` is a bit mask over the version's criteria in rule order (bit i
    set when criterion i matched), enough to show the math later.

    `changed_seq` and `changed_at` say when the row's score, tier, matched
    criteria or override last changed, for the feed's "changed since" (see
    ChangeClock). NULL means "changed by this run": the run's own `feed_seq`
    and `finished_at`, drawn at its flip. A run's chunks carry the values of
    the previous run's row over when nothing changed, so a flip publishes a
    million rows' change numbers by writing one number on the run.

    `industry_canonical` and `country_canonical` are copies of the
    account's (SCORE_ROW_COPIES), written with the score by every statement
    that writes one and brought in step whenever the account is scored
    again (scoring.services.accounts_score): the accounts list filtered by
    an industry or a country and sorted by score reads a run's index on
    (category, score, account) instead of joining every match to the run.
    """

    pk = models.CompositePrimaryKey("run", "account")
    run = models.ForeignKey(
        ScoringRun,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )
    account = models.ForeignKey(
        Account,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="scores",
    )
    score = models.PositiveSmallIntegerField()
    tier = models.CharField(max_length=2)
    matched = models.BigIntegerField(default=0)
    changed_seq = models.BigIntegerField(null=True, blank=True)
    changed_at = models.DateTimeField(null=True, blank=True)
    industry_canonical = models.TextField(default="", blank=True, editable=False)
    country_canonical = models.TextField(default="", blank=True, editable=False)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(score__lte=100), name="score_at_most_100"),
        ]

    def __str__(self) -> str:
        return f"{self.account_id}: {self.score} ({self.tier})"


class TierOverride(models.Model):
    """A tier people set for an account against the machine's score, under
    one profile version (an accepted rep override, for instance).

    It is the account's effective tier while `version` is the version that
    scored the profile's current run; once a newer version goes live it no
    longer applies and the account is tiered by its score again. `source`
    says where it came from, e.g. "override:42".
    """

    profile = models.ForeignKey(Profile, on_delete=models.CASCADE, related_name="tier_overrides")
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="tier_overrides")
    version = models.ForeignKey(ProfileVersion, on_delete=models.CASCADE, related_name="+")
    tier = models.CharField(max_length=2)
    source = models.CharField(max_length=60, blank=True)
    set_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    set_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["profile", "account"], name="tier_override_one_per_account"
            ),
            models.CheckConstraint(
                condition=models.Q(tier__in=["A", "B", "C", "DQ"]), name="tier_override_tier_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account} -> {self.tier} ({self.profile})"


class ChangeClock(models.Model):
    """A profile's change counter for the scores feed ("changed since").

    Every write that changes what the feed shows for some accounts (a run's
    flip, scoring ingested accounts, setting or clearing an override,
    removing or merging accounts) takes this row's lock, draws the next
    number, stamps the rows it changes with it (a removal: its tombstones)
    and commits both together. Numbers are therefore handed out in commit
    order: once a reader sees the counter at N, every change numbered N or
    less is visible. Scoring chunks hold a shared lock on the row while they
    write, so a change to the current run cannot slip between a chunk's read
    of it and the chunk's commit. A writer that locks accounts' rows takes
    them before the clock, so writers never wait for each other in a circle.

    `tombstones_pruned_seq` is the highest change number among the
    tombstones pruned so far: a cursor below it may have missed a removal
    that is no longer kept, so its sync starts over.
    """

    profile = models.OneToOneField(
        Profile, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    seq = models.BigIntegerField(default=0)
    tombstones_pruned_seq = models.BigIntegerField(
        default=0, help_text="Tombstones numbered up to this one have been pruned."
    )

    def __str__(self) -> str:
        return f"{self.profile_id} at {self.seq}"


class AccountTombstone(models.Model):
    """An account removed (deleted, or merged into another), as one
    profile's scores feed reports it: `{"external_id": ..., "deleted": true}`
    to a sync reading changes since a cursor from before `seq`.

    One per profile with a current run at the removal, numbered from that
    profile's ChangeClock like every other change of its feed. `account_id`
    is the removed row's id (ids are never reused), the feed's paging key
    beside the live accounts. Kept FEED_TOMBSTONE_RETENTION_DAYS, then
    pruned (see ChangeClock.tombstones_pruned_seq).
    """

    profile = models.ForeignKey(Profile, on_delete=models.CASCADE, related_name="+")
    account_id = models.BigIntegerField(help_text="The removed account's id.")
    external_id = models.CharField(max_length=64)
    seq = models.BigIntegerField(help_text="The change number of the removal (see ChangeClock).")
    removed_at = models.DateTimeField()

    class Meta:
        ordering = ["profile", "account_id"]
        indexes = [
            # The feed's window of change numbers (changed_since < seq <= until).
            models.Index(fields=["profile", "seq"], name="tombstone_profile_seq"),
            # The nightly prune.
            models.Index(fields=["removed_at"], name="tombstone_removed_at"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["profile", "account_id"], name="tombstone_one_per_account"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.external_id} removed ({self.profile_id} at {self.seq})"


class RunChunk(models.Model):
    """One id range of a run, scored by one task; `tally` holds its
    [tier, previous tier, count] rows once done, or None when ingest has
    rescored accounts in it since (the finish counts the range again)."""

    run = models.ForeignKey(ScoringRun, on_delete=models.CASCADE, related_name="chunks")
    low = models.BigIntegerField()
    high = models.BigIntegerField()
    done = models.BooleanField(default=False)
    tally = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["run", "low"]
        constraints = [
            models.UniqueConstraint(fields=["run", "low"], name="run_chunk_one_per_range"),
        ]

    def __str__(self) -> str:
        return f"run {self.run_id} ids {self.low}-{self.high}"


class ApiKeyScope(models.TextChoices):
    READ = "read", "Read: GET requests only"
    WRITE = "write", "Read and write"
    ADMIN = "admin", "Admin: read, write, and declare and change traits"


class ApiKey(models.Model):
    """A key an integration (a CRM sync) sends as `Authorization: Bearer <key>`.

    The key acts as its `user`, with that person's permissions, narrowed by
    `scope`: a read key only reads, a write key also writes, and only an
    admin key changes what the account base is made of (declaring traits),
    which a CRM sync never needs. Only a SHA-256 digest is stored: the key is 32 random bytes, so
    a slow password hash adds nothing, and the digest makes a stolen
    database useless for calling the API. `prefix`, the first characters of
    the key, finds the row and tells keys apart in lists.
    """

    Scope = ApiKeyScope

    name = models.CharField(max_length=100, help_text="What uses the key, e.g. 'Salesforce sync'.")
    user = models.ForeignKey(
        User,
        on_delete=models.CASCADE,
        related_name="api_keys",
        help_text="The key acts as this person, with their permissions.",
    )
    scope = models.CharField(max_length=8, choices=ApiKeyScope.choices, default=ApiKeyScope.READ)
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "API key"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(scope__in=ApiKeyScope.values), name="api_key_scope_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @property
    def can_write(self) -> bool:
        return self.scope in (ApiKeyScope.WRITE, ApiKeyScope.ADMIN)

    @property
    def can_administer(self) -> bool:
        return self.scope == ApiKeyScope.ADMIN


class WebhookEvent(models.TextChoices):
    VERSION_APPROVED = "version.approved", "A profile version was approved"
    RUN_FINISHED = "scoring_run.finished", "A scoring run finished and is current"
    OVERRIDE_ACCEPTED = "override.accepted", "A rep's tier override was accepted"


class WebhookSubscription(models.Model):
    """An address that receives the chosen events as signed JSON POSTs."""

    url = models.URLField(max_length=500)
    secret = models.CharField(
        max_length=100, help_text="Signs each delivery (HMAC-SHA256); shared with the receiver."
    )
    events = models.JSONField(default=list, help_text="Event names, e.g. ['version.approved'].")
    is_active = models.BooleanField(default=True)
    description = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        permissions = [
            ("manage_webhooks", "Can manage webhooks (addresses, events, secrets, the log)")
        ]

    def __str__(self) -> str:
        return self.url


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    # The address broke the rule of scoring.webhook_targets when it was due; not sent.
    REFUSED = "refused", "Refused (not sent)"


class WebhookDelivery(models.Model):
    """One event sent to one subscription, with how its attempts went."""

    Status = DeliveryStatus

    subscription = models.ForeignKey(
        WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.CharField(max_length=40, choices=WebhookEvent.choices)
    event_id = models.UUIDField(help_text="Same for every subscription the event went to.")
    payload = models.JSONField()
    status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    response_status = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the task of its next attempt is due: when it was handed to the broker, "
        "or when a retry is. Empty while no task was handed over (the broker did not answer), "
        "and the sweep on beat sends one.",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "webhook deliveries"
        indexes = [
            # The sweep's every-minute look for pending deliveries whose task was lost.
            models.Index(
                fields=["due_at"],
                condition=models.Q(status="pending"),
                name="webhook_delivery_pending_due",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=DeliveryStatus.values),
                name="webhook_delivery_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event} to {self.subscription} ({self.status})"


class WebhookAttempt(models.Model):
    """One attempt at a delivery: when, what the receiver answered, how
    long it took, what went wrong. Kept WEBHOOK_ATTEMPT_RETENTION_DAYS."""

    delivery = models.ForeignKey(
        WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log"
    )
    number = models.PositiveIntegerField(help_text="1 for the first attempt.")
    attempted_at = models.DateTimeField()
    response_status = models.PositiveIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(
        null=True, blank=True, help_text="Empty when nothing was sent (the address was refused)."
    )
    error = models.TextField(blank=True)
    outcome = models.CharField(
        max_length=10,
        choices=DeliveryStatus.choices,
        help_text="The delivery's status after this attempt (pending: to be retried).",
    )

    class Meta:
        ordering = ["delivery", "number"]
        indexes = [models.Index(fields=["attempted_at"], name="webhook_attempt_when")]

    def __str__(self) -> str:
        return f"attempt {self.number} of delivery {self.delivery_id}"


class ImportJobStatus(models.TextChoices):
    MAPPING = "mapping", "Waiting for its columns"
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class ImportKind(models.TextChoices):
    ACCOUNTS = "accounts", "Accounts"
    DEALS = "deals", "Deals"


class ImportMode(models.TextChoices):
    ALL_OR_NOTHING = "all_or_nothing", "All or nothing"
    VALID_ONLY = "valid_only", "The valid rows"


class ImportJob(models.Model):
    """A CSV file of accounts or of deals (`kind`) uploaded on the import
    page, and its import by a worker (scoring.ingest.jobs).

    The file's bytes live in the row, not on a disk: web and worker machines
    share only PostgreSQL and Redis. They are dropped once the job is
    finished; the counts and the report stay. `errors` holds the first
    problems, [row, external_id, field, message] in row order, and
    `error_count` how many there were in all. `warnings` holds the first
    category values no criterion names, [field, value, rows, first row,
    message] in order of their first row, and `warning_count` how many such
    values there were (scoring.ingest.picklists). `problems` says why a failed
    job stored nothing (the file as a whole, or the import stopping).
    While the job runs, its live counts are in the cache (scoring.ingest.jobs),
    since the import's own transaction hides its writes until the end.
    """

    Status = ImportJobStatus
    Mode = ImportMode
    Kind = ImportKind

    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    file_name = models.CharField(max_length=255)
    file_size = models.PositiveIntegerField(default=0)
    data = models.BinaryField(default=b"", help_text="The file, until the job is finished.")
    mode = models.CharField(max_length=16, choices=ImportMode.choices)
    kind = models.CharField(
        max_length=8,
        choices=ImportKind.choices,
        default=ImportKind.ACCOUNTS,
        help_text="What the file holds; the counts below count records of this kind.",
    )
    status = models.CharField(
        max_length=8, choices=ImportJobStatus.choices, default=ImportJobStatus.QUEUED
    )
    rows_read = models.PositiveIntegerField(default=0)
    rows_bad = models.PositiveIntegerField(default=0)
    blank = models.PositiveIntegerField(default=0)
    accounts_created = models.PositiveIntegerField(default=0)
    accounts_updated = models.PositiveIntegerField(default=0)
    accounts_unchanged = models.PositiveIntegerField(default=0)
    written = models.BooleanField(default=False)
    errors = models.JSONField(default=list, blank=True)
    error_count = models.PositiveIntegerField(default=0)
    warnings = models.JSONField(default=list, blank=True)
    warning_count = models.PositiveIntegerField(default=0)
    problems = models.JSONField(default=list, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # When the job's task was handed to the broker (scoring.dispatch); NULL
    # until then, and again after a send the broker refused.
    dispatched_at = models.DateTimeField(null=True, blank=True)
    # The file's columns -> the fields they fill ("" skips one), chosen on
    # the mapping page; empty when the file uses icpsite's own names.
    mapping = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["created_by", "-created_at"], name="import_job_by_owner")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=ImportJobStatus.values),
                name="import_job_status_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(mode__in=ImportMode.values), name="import_job_mode_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=ImportKind.values), name="import_job_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in (ImportJobStatus.DONE, ImportJobStatus.FAILED)

    @property
    def is_pending(self) -> bool:
        """Queued or running: the job's page keeps asking how it goes."""
        return self.status in (ImportJobStatus.QUEUED, ImportJobStatus.RUNNING)

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


class ImportMapping(models.Model):
    """A named mapping of a CSV file's columns to the fields of an account or
    a deal (`kind`), saved on the import page for the next file of the same
    shape (a CRM's export)."""

    NAME_LENGTH = 100

    name = models.CharField(max_length=NAME_LENGTH, unique=True)
    kind = models.CharField(max_length=8, choices=ImportKind.choices, default=ImportKind.ACCOUNTS)
    columns = models.JSONField(
        default=dict, help_text='The file\'s column -> the field it fills ("" to skip it).'
    )
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=ImportKind.values), name="import_mapping_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.name
