"""Serializers of the CRM sync API.

Incoming account and deal rows are checked by scoring.ingest.rows and
deal_rows (the same rules as the CSV import), not here: AccountInSerializer
and DealInSerializer only describe a row for the schema. The envelope
serializers check what surrounds the rows.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import (
    PolymorphicProxySerializer,
    extend_schema_field,
    extend_schema_serializer,
)
from rest_framework import serializers

from icpsite.api.fields import StrictBooleanField, StrictCharField, stored_text
from icpsite.api.pagination import MAX_PAGE_SIZE, PAGE_SIZE
from icpsite.api.params import unknown_names
from profiles.attributes import (
    MAX_VALUE_LENGTH,
    OPERATOR_CHOICES,
    OPERATORS_BY_TYPE,
    AttrType,
)
from profiles.models import (
    TRAIT_CATEGORY_CHOICES,
    TRAIT_HELP_LENGTH,
    TRAIT_KEY_MAX_LENGTH,
    TRAIT_KEY_PATTERN,
    TRAIT_KEY_RULE,
    TRAIT_LABEL_LENGTH,
    TRAIT_TYPE_CHOICES,
    Trait,
    validate_trait_key,
)
from scoring.engine import Outcome, Tier
from scoring.ingest.deal_rows import DEAL_ID_LENGTH, DEAL_NAME_LENGTH, STAGE_LENGTH
from scoring.ingest.importer import MODES
from scoring.ingest.rows import (
    COLUMNS,
    LIFECYCLE_STAGE_LENGTH,
    MAX_BIGINT,
    MAX_DEAL_AMOUNT,
    MAX_EXTERNAL_ID_LENGTH,
    MAX_INT,
    NAME_LENGTH,
)
from scoring.models import (
    Account,
    Deal,
    DealState,
    DealStatus,
    DealType,
    ScoringRun,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEvent,
    WebhookSubscription,
)
from scoring.services import MERGE_MAX

MAX_ROWS = 1000

# Text without NUL characters (the database refuses them).
NO_NUL = r"^[^\x00]*$"


class StrictFieldsMixin(serializers.Serializer[Any]):
    """Refuse keys the serializer does not declare, instead of ignoring them,
    alongside any errors of the fields it does (icpsite.api.params.unknown_names)."""

    def to_internal_value(self, data: Any) -> Any:
        unknown = unknown_names(data, self.fields, "field") if isinstance(data, dict) else {}
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if unknown and isinstance(exc.detail, dict):
                raise serializers.ValidationError({**exc.detail, **unknown}) from exc
            raise
        if unknown:
            raise serializers.ValidationError(unknown)
        return value


class StrictURLField(StrictCharField, serializers.URLField):
    """A URL, sent as a JSON string."""


def _text(max_length: int, **kwargs: Any) -> serializers.CharField:
    return serializers.CharField(
        max_length=max_length, allow_null=True, required=False, allow_blank=True, **kwargs
    )


class OutcomeInSerializer(serializers.Serializer[Any]):
    """Deal outcome and churn fields of one account (schema only). The deal
    fields are a shortcut: they write the account's outcome deal,
    `outcome:<external_id>`, one of the account's deals."""

    external_id = serializers.CharField(
        max_length=MAX_EXTERNAL_ID_LENGTH, help_text="The CRM's id of the account."
    )
    lifecycle_stage = _text(LIFECYCLE_STAGE_LENGTH)
    opportunity_opened_at = serializers.DateTimeField(
        allow_null=True, required=False, help_text="The outcome deal's `opened_at`."
    )
    deal_status = serializers.ChoiceField(
        choices=DealStatus.choices,
        allow_null=True,
        allow_blank=True,
        required=False,
        help_text="The outcome deal's `status`; won or lost needs `deal_closed_at`, sent or "
        "stored. Empty or null: no outcome (the deal is removed unless it still holds a date "
        "or an amount, and is then open).",
    )
    deal_closed_at = serializers.DateTimeField(
        allow_null=True, required=False, help_text="The outcome deal's `closed_at`."
    )
    deal_amount = serializers.DecimalField(
        max_digits=14,
        decimal_places=2,
        min_value=0,
        max_value=MAX_DEAL_AMOUNT,
        allow_null=True,
        required=False,
        coerce_to_string=False,
        help_text="The outcome deal's `amount`.",
    )
    churned_at = serializers.DateTimeField(allow_null=True, required=False)


class AccountInSerializer(OutcomeInSerializer):
    """One account as a CRM sends it (schema only; scoring.ingest.rows validates).

    A field left out keeps the stored value; null clears it.
    """

    name = serializers.CharField(
        max_length=NAME_LENGTH,
        required=False,
        help_text="Required for a new account; an update may leave it out (not send it empty).",
    )
    domain = _text(MAX_VALUE_LENGTH)
    employees = serializers.IntegerField(
        min_value=0, max_value=MAX_INT, allow_null=True, required=False
    )
    annual_revenue = serializers.IntegerField(
        min_value=0, max_value=MAX_BIGINT, allow_null=True, required=False
    )
    industry = _text(MAX_VALUE_LENGTH)
    country = _text(MAX_VALUE_LENGTH)
    funding_stage = _text(MAX_VALUE_LENGTH)
    crm = _text(MAX_VALUE_LENGTH)
    tech_stack = serializers.ListField(
        child=serializers.CharField(max_length=MAX_VALUE_LENGTH), allow_null=True, required=False
    )
    has_revops = serializers.BooleanField(allow_null=True, required=False)
    traits = serializers.DictField(
        required=False,
        help_text="Declared traits by key: a number, text, list of text or true/false; "
        "null clears one.",
    )


class RowField(serializers.DictField):
    """A bulk request's row: a JSON object, taken as it came. Its values are
    checked by the row rules of scoring.ingest (the same for the API and a
    CSV file), which name each bad field; running a DRF field over every
    value first would only repeat that work."""

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, dict):
            self.fail("not_a_dict", input_type=type(data).__name__)
        return data


def _rows_field(**kwargs: Any) -> serializers.ListField:
    return serializers.ListField(child=RowField(), min_length=1, max_length=MAX_ROWS, **kwargs)


class BulkUpsertSerializer(StrictFieldsMixin):
    accounts = _rows_field()
    mode = serializers.ChoiceField(choices=MODES, default="all_or_nothing")


class OutcomesSerializer(StrictFieldsMixin):
    outcomes = _rows_field()
    mode = serializers.ChoiceField(choices=MODES, default="all_or_nothing")


# The request bodies as the schema shows them: one of two shapes. By default
# (all_or_nothing) every row must be a valid row, or the request is refused;
# with valid_only a row may be anything, since a bad row is reported in the
# answer rather than refused.

ALL_OR_NOTHING = "all_or_nothing: one bad row and nothing is stored (400); the default."
VALID_ONLY = "valid_only: the good rows are stored and each bad one is reported (200)."
ANY_ROWS = "Rows shaped as in all_or_nothing; each one is checked on its own."


def _bulk_request(name: str, rows: str, row: serializers.Serializer[Any]) -> Any:
    """The schema of a bulk request whose rows (`rows`, each a `row`) come in
    one of the two shapes above; the component is called `name`."""
    strict = type(
        f"AllOrNothing{name}Serializer",
        (serializers.Serializer,),
        {
            rows: serializers.ListField(child=row, min_length=1, max_length=MAX_ROWS),
            "mode": serializers.ChoiceField(
                choices=["all_or_nothing"], default="all_or_nothing", help_text=ALL_OR_NOTHING
            ),
        },
    )
    loose = type(
        f"ValidOnly{name}Serializer",
        (serializers.Serializer,),
        {
            rows: _rows_field(help_text=ANY_ROWS),
            "mode": serializers.ChoiceField(choices=["valid_only"], help_text=VALID_ONLY),
        },
    )
    return PolymorphicProxySerializer(
        component_name=f"{name}Request", serializers=[strict, loose], resource_type_field_name=None
    )


class DealInSerializer(serializers.Serializer[Any]):
    """One deal (an opportunity) as a CRM sends it (schema only;
    scoring.ingest.deal_rows validates). A field left out keeps the stored
    value; null clears it."""

    external_id = serializers.CharField(
        max_length=DEAL_ID_LENGTH,
        help_text="The CRM's deal id. Ids starting with `outcome:` are the accounts' outcome "
        "deals, written through the accounts' outcome fields only.",
    )
    account = serializers.CharField(
        max_length=MAX_EXTERNAL_ID_LENGTH,
        required=False,
        help_text="The account's external_id: required for a new deal; an update may leave it "
        "out (or move the deal to another account). An account not held is the row's error.",
    )
    name = _text(DEAL_NAME_LENGTH)
    stage = _text(
        STAGE_LENGTH,
        help_text="The CRM's stage, kept as sent. Without `status`, a won stage (Closed Won, "
        "closedwon, Won) makes the deal won, a lost one lost, any other open.",
    )
    status = serializers.ChoiceField(
        choices=DealState.choices,
        required=False,
        help_text="Won and lost need `closed_at`, sent or stored. Left out: read from "
        "`stage`, else kept (open for a new deal).",
    )
    type = serializers.ChoiceField(
        choices=DealType.choices,
        required=False,
        allow_null=True,
        help_text="Null or left out: kept (new for a new deal). A CRM's words for the three "
        "(New Business, Existing Business, Renewal) are read too.",
    )
    amount = serializers.DecimalField(
        max_digits=14,
        decimal_places=2,
        min_value=0,
        max_value=MAX_DEAL_AMOUNT,
        allow_null=True,
        required=False,
        coerce_to_string=False,
        help_text="0 or more, at most 2 decimals; a number or its text.",
    )
    currency = serializers.CharField(
        min_length=3,
        max_length=3,
        allow_blank=True,
        allow_null=True,
        required=False,
        help_text="An ISO 4217 code such as EUR; empty is the reporting currency.",
    )
    opened_at = serializers.DateTimeField(
        allow_null=True, required=False, help_text="A date, or a date and time with an offset."
    )
    closed_at = serializers.DateTimeField(
        allow_null=True,
        required=False,
        help_text="When a won or lost deal closed; on an open deal, the CRM's expected close "
        "date, if it keeps one.",
    )


class DealBulkUpsertSerializer(StrictFieldsMixin):
    deals = _rows_field()
    mode = serializers.ChoiceField(choices=MODES, default="all_or_nothing")


BULK_UPSERT_REQUEST = _bulk_request("BulkUpsert", "accounts", AccountInSerializer())
OUTCOMES_REQUEST = _bulk_request("Outcomes", "outcomes", OutcomeInSerializer())
DEAL_UPSERT_REQUEST = _bulk_request("DealBulkUpsert", "deals", DealInSerializer())


# --- Reconciling: the accounts held, removals and merges ------------------------

# The fields of a listed account: every column an upsert row takes, and traits.
SYNC_FIELDS = (*COLUMNS, "traits")


class OutcomeFieldMixin:
    """An account's outcome field, read from its outcome deal: the view looks
    the page's up in one query (scoring.selectors.account_outcomes) and
    passes them as the context's `outcomes`, account id -> fields."""

    field_name: str | None
    context: dict[str, Any]

    def get_attribute(self, instance: Account) -> Any:
        return self.context["outcomes"][instance.pk][self.field_name]


class OutcomeDateTimeField(OutcomeFieldMixin, serializers.DateTimeField):
    """An outcome date: the deal's opened_at or closed_at."""


class OutcomeChoiceField(OutcomeFieldMixin, serializers.ChoiceField):
    """The outcome's status: the deal's."""


class OutcomeDecimalField(OutcomeFieldMixin, serializers.DecimalField):
    """The outcome's amount: the deal's."""


class AccountSyncSerializer(serializers.ModelSerializer[Account]):
    """An account's stored fields as bulk-upsert takes them: an item sent
    back as a row changes nothing. The outcome fields are its outcome deal's
    (context `outcomes`, see OutcomeFieldMixin)."""

    tech_stack = serializers.ListField(child=serializers.CharField(), read_only=True)
    traits = serializers.DictField(read_only=True, help_text="Declared traits by key.")
    opportunity_opened_at = OutcomeDateTimeField(
        read_only=True, allow_null=True, help_text="The outcome deal's `opened_at`."
    )
    deal_status = OutcomeChoiceField(
        choices=DealStatus.choices,
        read_only=True,
        help_text="The outcome deal's `status`; empty when the account has none.",
    )
    deal_closed_at = OutcomeDateTimeField(
        read_only=True, allow_null=True, help_text="The outcome deal's `closed_at`."
    )
    deal_amount = OutcomeDecimalField(
        max_digits=14,
        decimal_places=2,
        read_only=True,
        allow_null=True,
        help_text="The outcome deal's `amount`.",
    )

    class Meta:
        model = Account
        fields = SYNC_FIELDS
        read_only_fields = fields


class AwareDateTimeField(serializers.DateTimeField):
    """A date and time with its offset (Z or +02:00); without one the moment
    would be a guess, as the account rows refuse it too."""

    def to_internal_value(self, value: Any) -> datetime:
        try:
            parsed = parse_datetime(value.strip()) if isinstance(value, str) else None
        except ValueError:  # a date that does not exist: the field says so below
            parsed = None
        if parsed is not None and timezone.is_naive(parsed):
            raise serializers.ValidationError("Add an offset such as Z or +02:00.")
        return super().to_internal_value(value)


class AccountListQuerySerializer(serializers.Serializer[Any]):
    updated_since = AwareDateTimeField(
        required=False,
        help_text="Only accounts icpsite changed at or after this moment (ISO 8601 with an "
        "offset, e.g. 2026-11-30T00:00:00Z).",
    )
    external_id__in = serializers.CharField(
        required=False,
        help_text=f"Only these accounts: external ids separated by commas, at most {MAX_ROWS:,}.",
    )
    tier = serializers.MultipleChoiceField(
        choices=[t.value for t in Tier],
        required=False,
        help_text="Only accounts whose effective tier (an accepted override, else the scored "
        "tier) under `profile` is one of these; repeat the parameter for several. Needs "
        "`profile`.",
    )
    profile = serializers.SlugField(
        max_length=200, required=False, help_text="The profile whose tiers `tier` reads."
    )
    cursor = serializers.CharField(required=False, help_text="A page's place, from `next`.")
    page_size = serializers.IntegerField(
        min_value=1,
        max_value=MAX_PAGE_SIZE,
        required=False,
        help_text=f"Rows per page, 1 to {MAX_PAGE_SIZE:,} (default {PAGE_SIZE}).",
    )

    def validate_external_id__in(self, value: str) -> list[str]:
        text = stored_text(value)
        ids = list(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
        if not ids:
            raise serializers.ValidationError("Give at least one external id.")
        if len(ids) > MAX_ROWS:
            raise serializers.ValidationError(
                f"At most {MAX_ROWS:,} external ids per request; got {len(ids):,}."
            )
        return ids

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # A list parameter left out reads as an empty list.
        if not attrs.get("tier"):
            attrs.pop("tier", None)
        if "tier" in attrs and "profile" not in attrs:
            raise serializers.ValidationError(
                {"profile": ["Name the profile whose tiers to read."]}
            )
        if "profile" in attrs and "tier" not in attrs:
            raise serializers.ValidationError({"tier": ["Give the tiers to keep under profile."]})
        return attrs


class BulkDeleteSerializer(StrictFieldsMixin):
    """The accounts to remove, by the CRM's ids."""

    external_ids = serializers.ListField(
        child=StrictCharField(max_length=MAX_EXTERNAL_ID_LENGTH),
        min_length=1,
        max_length=MAX_ROWS,
        help_text="The CRM's ids of the accounts to remove.",
    )


class DeleteResultSerializer(serializers.Serializer[Any]):
    index = serializers.IntegerField(help_text="The id's position in the request, from 0.")
    external_id = serializers.CharField()
    status = serializers.ChoiceField(
        choices=["deleted", "not_found"],
        help_text="not_found: icpsite held no such account (never sent, or already removed).",
    )


class BulkDeleteResultSerializer(serializers.Serializer[Any]):
    deleted = serializers.IntegerField()
    not_found = serializers.IntegerField()
    results = DeleteResultSerializer(many=True)


class AccountMergeSerializer(StrictFieldsMixin):
    """The survivor and the accounts merged into it, by the CRM's ids."""

    into = StrictCharField(
        max_length=MAX_EXTERNAL_ID_LENGTH, help_text="The survivor's external id."
    )

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        fields = super().get_fields()
        # "from" is a Python keyword, so the field is added by name.
        fields["from"] = serializers.ListField(
            child=StrictCharField(max_length=MAX_EXTERNAL_ID_LENGTH),
            min_length=1,
            max_length=MERGE_MAX,
            help_text="The external ids of the accounts merged into the survivor and removed.",
        )
        return fields


class AccountMergeResultSerializer(serializers.Serializer[Any]):
    into = serializers.CharField(help_text="The survivor's external id.")
    merged = serializers.ListField(
        child=serializers.CharField(), help_text="The external ids merged into it, now removed."
    )
    deals_moved = serializers.IntegerField()
    tier_overrides_moved = serializers.IntegerField()


class RowWarningSerializer(serializers.Serializer[Any]):
    field = serializers.CharField(help_text='The field, e.g. "industry" or "traits.region".')
    message = serializers.CharField()


class RowResultSerializer(serializers.Serializer[Any]):
    index = serializers.IntegerField(help_text="The row's position in the request, from 0.")
    external_id = serializers.CharField(allow_blank=True)
    status = serializers.ChoiceField(
        choices=["created", "updated", "unchanged", "invalid", "not_written"],
        help_text="not_written: the row is valid but other rows were not (all_or_nothing).",
    )
    errors = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="For an invalid row: field name -> what is wrong.",
    )
    warnings = RowWarningSerializer(
        many=True,
        required=False,
        help_text="For a valid row holding a category value no criterion of a live or draft "
        "version names (compared ignoring case and spacing): the field and what to look at. "
        "The row is stored as sent.",
    )


class BulkResultSerializer(serializers.Serializer[Any]):
    written = serializers.BooleanField()
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    invalid = serializers.IntegerField()
    results = RowResultSerializer(many=True)


class DealSerializer(serializers.ModelSerializer[Deal]):
    account = serializers.CharField(
        source="account_external_id", read_only=True, help_text="The account's external_id."
    )

    class Meta:
        model = Deal
        fields = (
            "external_id",
            "account",
            "name",
            "stage",
            "status",
            "type",
            "amount",
            "currency",
            "opened_at",
            "closed_at",
            "created_at",
            "updated_at",
        )
        read_only_fields = fields


class ScoreRowSerializer(serializers.Serializer[Any]):
    external_id = serializers.CharField()
    score = serializers.IntegerField(allow_null=True)
    tier = serializers.ChoiceField(choices=[t.value for t in Tier], allow_null=True)
    effective_tier = serializers.ChoiceField(choices=[t.value for t in Tier], allow_null=True)
    overridden = serializers.BooleanField()
    version = serializers.IntegerField(allow_null=True)
    top_reasons = serializers.ListField(child=serializers.CharField())
    changed_at = serializers.DateTimeField()
    seq = serializers.IntegerField(
        help_text="The change number of the account's latest change; rows changed together "
        "share one."
    )


class RemovedRowSerializer(serializers.Serializer[Any]):
    """An account removed since the cursor (deleted, or merged into another)."""

    external_id = serializers.CharField()
    deleted = serializers.BooleanField(
        help_text="Always true: drop the record. Reported once to a sync reading changes "
        "since a cursor from before the removal; never in a sync without changed_since."
    )


FEED_ITEM = PolymorphicProxySerializer(
    component_name="ScoreFeedItem",
    serializers=[ScoreRowSerializer, RemovedRowSerializer],
    resource_type_field_name=None,
    many=True,
)


class CriterionOutcomeSerializer(serializers.Serializer[Any]):
    criterion = serializers.IntegerField(allow_null=True, help_text="The criterion's id.")
    text = serializers.CharField(help_text='In words, e.g. "Employees is between 200 and 2,000".')
    kind = serializers.ChoiceField(choices=["fit", "disqualifier"])
    outcome = serializers.ChoiceField(
        choices=[o.value for o in Outcome], help_text="unknown: the account lacks the data."
    )
    points = serializers.IntegerField(help_text="Points given (0 for a disqualifier).")
    points_possible = serializers.IntegerField()


class ProfileScoreSerializer(serializers.Serializer[Any]):
    profile = serializers.CharField(help_text="The profile's slug.")
    version = serializers.IntegerField(help_text="The live version that scored the account.")
    score = serializers.IntegerField(allow_null=True, help_text="Stored by the current run.")
    tier = serializers.ChoiceField(choices=[t.value for t in Tier], allow_null=True)
    effective_tier = serializers.ChoiceField(choices=[t.value for t in Tier], allow_null=True)
    overridden = serializers.BooleanField()
    scored_at = serializers.DateTimeField(allow_null=True)
    rescore_pending = serializers.BooleanField(
        help_text="The account changed since it was scored; the math below is for its data now."
    )
    disqualified_by = serializers.ListField(child=serializers.CharField())
    criteria = CriterionOutcomeSerializer(many=True)


class ScoreHistorySerializer(serializers.Serializer[Any]):
    profile = serializers.CharField()
    version = serializers.IntegerField()
    scored_at = serializers.DateTimeField(allow_null=True)
    score = serializers.IntegerField()
    tier = serializers.ChoiceField(choices=[t.value for t in Tier])


class AccountDetailSerializer(serializers.Serializer[Any]):
    external_id = serializers.CharField()
    name = serializers.CharField()
    domain = serializers.CharField()
    employees = serializers.IntegerField(allow_null=True)
    annual_revenue = serializers.IntegerField(allow_null=True)
    industry = serializers.CharField()
    country = serializers.CharField()
    funding_stage = serializers.CharField()
    crm = serializers.CharField()
    tech_stack = serializers.ListField(child=serializers.CharField())
    has_revops = serializers.BooleanField(allow_null=True)
    traits = serializers.DictField()
    lifecycle_stage = serializers.CharField()
    deal_status = serializers.CharField()
    deal_amount = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)
    deal_closed_at = serializers.DateTimeField(allow_null=True)
    churned_at = serializers.DateTimeField(allow_null=True)
    updated_at = serializers.DateTimeField()
    scores = ProfileScoreSerializer(many=True, help_text="One per profile with a current run.")
    history = ScoreHistorySerializer(many=True, help_text="Every retained run, newest first.")


# A list action is documented as an array of its serializer; this one answers one page.
@extend_schema_serializer(many=False)
class ScorePageSerializer(serializers.Serializer[Any]):
    results = FEED_ITEM
    next = serializers.URLField(allow_null=True, help_text="The next page; null on the last.")
    run = serializers.IntegerField(
        allow_null=True,
        help_text="The run whose scores this page serves (the profile's current run when "
        "the sync started; see `GET profiles/{slug}/runs/{id}/`); null before any run.",
    )
    cursor = serializers.CharField(
        help_text="Keep it: `changed_since=<cursor>` later returns what changed since. An "
        "opaque token of this profile's feed; send it back exactly as it came."
    )


class WebhookSubscriptionSerializer(serializers.ModelSerializer[WebhookSubscription]):
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=WebhookEvent.choices), min_length=1
    )

    class Meta:
        model = WebhookSubscription
        fields: tuple[str, ...] = ("id", "url", "events", "description", "is_active", "created_at")


class WebhookCreatedSerializer(WebhookSubscriptionSerializer):
    """The answer to a creation: the only one with the secret."""

    class Meta(WebhookSubscriptionSerializer.Meta):
        fields = (*WebhookSubscriptionSerializer.Meta.fields, "secret")


class WebhookSecretSerializer(serializers.ModelSerializer[WebhookSubscription]):
    """The answer to a rotation: the new secret, shown this once."""

    class Meta:
        model = WebhookSubscription
        fields = ("id", "secret")


class WebhookInSerializer(StrictFieldsMixin):
    url = StrictURLField(max_length=500)
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=WebhookEvent.choices), min_length=1
    )
    description = StrictCharField(max_length=200, required=False, allow_blank=True, default="")
    is_active = StrictBooleanField(required=False, default=True)
    secret = StrictCharField(
        min_length=16,
        max_length=100,
        required=False,
        help_text="Leave out to have one made; it is returned once, on creation, and "
        "never shown again (rotate-secret makes a new one).",
    )


class WebhookAttemptSerializer(serializers.ModelSerializer[WebhookAttempt]):
    class Meta:
        model = WebhookAttempt
        fields = ("number", "attempted_at", "response_status", "duration_ms", "error", "outcome")
        read_only_fields = fields


class WebhookDeliverySerializer(serializers.ModelSerializer[WebhookDelivery]):
    attempt_log = WebhookAttemptSerializer(
        many=True,
        read_only=True,
        help_text="Its attempts, oldest first; those older than "
        "WEBHOOK_ATTEMPT_RETENTION_DAYS are pruned nightly, so an old delivery may show "
        "fewer than `attempts`, or none. A refusal is in the log, not in `attempts`.",
    )

    class Meta:
        model = WebhookDelivery
        fields = (
            "id",
            "event",
            "event_id",
            "status",
            "attempts",
            "response_status",
            "last_error",
            "created_at",
            "last_attempt_at",
            "attempt_log",
            "delivered_at",
        )
        read_only_fields = fields
        extra_kwargs: ClassVar[dict[str, dict[str, str]]] = {
            "status": {
                "help_text": "pending: not sent yet, or to be retried; succeeded: a 2xx answer; "
                "failed: 8 attempts without one; refused: not sent, the address broke the "
                "rule when it was due."
            },
            "attempts": {"help_text": "The POSTs tried (at most 8); a refusal is not counted."},
            "response_status": {
                "help_text": "The HTTP status of the last attempt; null when none came back "
                "(no connection, a timeout, a refusal)."
            },
            "last_error": {
                "help_text": "What went wrong the last time (at most 1,000 characters); empty "
                "once delivered."
            },
            "last_attempt_at": {"help_text": "When it was last tried, or refused."},
            "delivered_at": {"help_text": "When a 2xx answer came back; null until then."},
        }


class RunSerializer(serializers.ModelSerializer[ScoringRun]):
    """A scoring run: the rescoring of every account with one version."""

    profile: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    version = serializers.IntegerField(source="version.number", read_only=True)
    progress = serializers.IntegerField(
        read_only=True, help_text="Percent of the run's chunks scored (100 once it succeeded)."
    )
    tier_counts = serializers.DictField(
        child=serializers.IntegerField(),
        read_only=True,
        help_text="Accounts per tier (A, B, C, DQ), recorded when the run succeeds; empty "
        "before, and for a run that failed or was superseded.",
    )
    tier_movement = serializers.DictField(
        child=serializers.IntegerField(),
        read_only=True,
        help_text="Accounts whose tier differs from the run that was current when this one "
        'succeeded, e.g. {"B->A": 12}; empty for a profile\'s first run and until it succeeds.',
    )

    class Meta:
        model = ScoringRun
        fields = (
            "id",
            "profile",
            "version",
            "status",
            "is_current",
            "progress",
            "chunks_done",
            "chunks_total",
            "accounts_scored",
            "tier_counts",
            "tier_movement",
            "error",
            "created_at",
            "started_at",
            "finished_at",
        )
        read_only_fields = fields
        extra_kwargs: ClassVar[dict[str, dict[str, str]]] = {
            "is_current": {
                "help_text": "The run whose scores the feed serves; one per profile, and only "
                "a run that succeeded."
            },
            "chunks_done": {"help_text": "Chunks of account ids scored so far."},
            "chunks_total": {
                "help_text": "Chunks the account ids were split into (SCORING_CHUNK_SIZE "
                "each); 0 until the run starts."
            },
            "accounts_scored": {
                "help_text": "Accounts the run scored, recorded when it succeeds; 0 before, "
                "and for a run that failed or was superseded."
            },
            "error": {"help_text": "Why it failed; empty otherwise."},
            "started_at": {"help_text": "When a worker first took it up; null until then."},
            "finished_at": {
                "help_text": "When it succeeded, failed or was superseded; null while queued "
                "or running."
            },
        }


# --- Traits -------------------------------------------------------------------

TRAIT_TYPE_HELP = (
    "number (whole or decimal, below 1e15), category (one text value), list (text values, "
    "compared without regard to case) or boolean (true or false)."
)


class TraitSerializer(serializers.ModelSerializer[Trait]):
    """A declared trait. `accounts_with_value` comes from the view's context
    ("counts": key -> accounts), read in one pass for the whole answer."""

    type = serializers.ChoiceField(choices=TRAIT_TYPE_CHOICES, help_text=TRAIT_TYPE_HELP)
    operators = serializers.SerializerMethodField(
        help_text="What a criterion may test it with, by the trait's type."
    )
    accounts_with_value = serializers.SerializerMethodField(
        help_text="How many accounts hold a value for it."
    )

    class Meta:
        model = Trait
        fields = ("key", "label", "help", "type", "category", "operators", "accounts_with_value")
        read_only_fields = fields

    @extend_schema_field(
        serializers.ListField(child=serializers.ChoiceField(choices=OPERATOR_CHOICES))
    )
    def get_operators(self, trait: Trait) -> list[str]:
        return [o.value for o in OPERATORS_BY_TYPE[AttrType(trait.type)]]

    def get_accounts_with_value(self, trait: Trait) -> int:
        counts: dict[str, int] = self.context.get("counts", {})
        return counts.get(trait.key, 0)


@extend_schema_field(
    {"type": "string", "pattern": f"^{TRAIT_KEY_PATTERN}$", "maxLength": TRAIT_KEY_MAX_LENGTH}
)
class TraitKeyField(StrictCharField):
    """A new trait's key, checked by its one rule (validate_trait_key, the
    length included, in the words the admin shows); the schema gives the
    pattern and length it holds to."""


class TraitInSerializer(StrictFieldsMixin):
    key = TraitKeyField(
        validators=[validate_trait_key],
        help_text=f"The key accounts send it under (`traits.<key>` in a CSV file): "
        f"{TRAIT_KEY_RULE}; not a built-in attribute's. It never changes.",
    )
    # Declared fields leave the class body (DRF's metaclass), so a field named
    # like Field.label is safe; the stubs cannot see that.
    label = StrictCharField(  # type: ignore[assignment]
        max_length=TRAIT_LABEL_LENGTH, help_text="What people see, e.g. 'Paid seats'."
    )
    type = serializers.ChoiceField(choices=TRAIT_TYPE_CHOICES, help_text=TRAIT_TYPE_HELP)
    category = serializers.ChoiceField(
        choices=TRAIT_CATEGORY_CHOICES, help_text="Where criteria on it are grouped by default."
    )
    help = StrictCharField(
        max_length=TRAIT_HELP_LENGTH,
        allow_blank=True,
        default="",
        help_text="A line of explanation.",
    )


class TraitUpdateSerializer(StrictFieldsMixin):
    label = StrictCharField(max_length=TRAIT_LABEL_LENGTH, required=False)  # type: ignore[assignment]
    help = StrictCharField(max_length=TRAIT_HELP_LENGTH, required=False, allow_blank=True)
    category = serializers.ChoiceField(choices=TRAIT_CATEGORY_CHOICES, required=False)
    type = serializers.ChoiceField(
        choices=TRAIT_TYPE_CHOICES,
        required=False,
        help_text="Changes only while no account holds a value for the trait and no "
        "criterion of a live or open version tests it.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs:
            raise serializers.ValidationError(
                {"non_field_errors": ["Send at least one of label, help, category, type."]}
            )
        return attrs
