"""Serializers of the CRM sync API.

Incoming account rows are checked by scoring.ingest.rows (the same rules as the
CSV import), not here: AccountInSerializer only describes a row for the
schema. The envelope serializers check what surrounds the rows.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema_serializer
from rest_framework import serializers

from icpsite.api.fields import StrictBooleanField, StrictCharField
from icpsite.api.params import unknown_names
from profiles.attributes import MAX_VALUE_LENGTH
from scoring.engine import Outcome, Tier
from scoring.ingest.importer import MODES
from scoring.ingest.rows import (
    LIFECYCLE_STAGE_LENGTH,
    MAX_BIGINT,
    MAX_DEAL_AMOUNT,
    MAX_EXTERNAL_ID_LENGTH,
    MAX_INT,
    NAME_LENGTH,
)
from scoring.models import (
    DealStatus,
    ScoringRun,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEvent,
    WebhookSubscription,
)

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
    """Deal outcome and churn fields of one account (schema only)."""

    external_id = serializers.CharField(
        max_length=MAX_EXTERNAL_ID_LENGTH, help_text="The CRM's id of the account."
    )
    lifecycle_stage = _text(LIFECYCLE_STAGE_LENGTH)
    opportunity_opened_at = serializers.DateTimeField(allow_null=True, required=False)
    deal_status = serializers.ChoiceField(
        choices=DealStatus.choices, allow_null=True, allow_blank=True, required=False
    )
    deal_closed_at = serializers.DateTimeField(allow_null=True, required=False)
    deal_amount = serializers.DecimalField(
        max_digits=14,
        decimal_places=2,
        min_value=0,
        max_value=MAX_DEAL_AMOUNT,
        allow_null=True,
        required=False,
        coerce_to_string=False,
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


class BulkUpsertSerializer(StrictFieldsMixin):
    accounts = serializers.ListField(
        child=serializers.DictField(), min_length=1, max_length=MAX_ROWS
    )
    mode = serializers.ChoiceField(choices=MODES, default="all_or_nothing")


class OutcomesSerializer(StrictFieldsMixin):
    outcomes = serializers.ListField(
        child=serializers.DictField(), min_length=1, max_length=MAX_ROWS
    )
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
            rows: serializers.ListField(
                child=serializers.DictField(), min_length=1, max_length=MAX_ROWS, help_text=ANY_ROWS
            ),
            "mode": serializers.ChoiceField(choices=["valid_only"], help_text=VALID_ONLY),
        },
    )
    return PolymorphicProxySerializer(
        component_name=f"{name}Request", serializers=[strict, loose], resource_type_field_name=None
    )


BULK_UPSERT_REQUEST = _bulk_request("BulkUpsert", "accounts", AccountInSerializer())
OUTCOMES_REQUEST = _bulk_request("Outcomes", "outcomes", OutcomeInSerializer())


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
    results = ScoreRowSerializer(many=True)
    next = serializers.URLField(allow_null=True, help_text="The next page; null on the last.")
    run = serializers.IntegerField(
        allow_null=True,
        help_text="The run whose scores this page serves (the profile's current run when "
        "the sync started; see `GET profiles/{slug}/runs/{id}/`); null before any run.",
    )
    cursor = serializers.IntegerField(
        help_text="Keep it: `changed_since=<cursor>` later returns what changed since."
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
        help_text="Every attempt, oldest first (kept WEBHOOK_ATTEMPT_RETENTION_DAYS).",
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
        child=serializers.IntegerField(), read_only=True, help_text="Accounts per tier."
    )
    tier_movement = serializers.DictField(
        child=serializers.IntegerField(),
        read_only=True,
        help_text='Accounts that changed tier against the run before, e.g. {"B->A": 12}.',
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
