"""The suggestions API, under a version's address:

- GET  /api/v1/profiles/{slug}/versions/{number}/suggestions/
- POST /api/v1/profiles/{slug}/versions/{number}/suggestions/adopt/

The read is suggest.current_suggestions in plain JSON (numbers as numbers,
rates from 0 to 1, intervals as {low, high}); the write is
adopt.suggestions_adopt, which reads the edits again on the server from the
keys, as the page's form does. Included by reviews.api.
"""

from __future__ import annotations

from typing import Any, cast

from django.urls import re_path, reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import exceptions, serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from icpsite.api.base import ApiViewMixin
from icpsite.api.errors import answers
from icpsite.api.fields import StrictCharField, StrictSlugRelatedField
from icpsite.api.params import ANY_SEGMENT, id_in_path, slug_in_path, valid_body
from profiles.models import Profile, ProfileVersion, Team, User
from profiles.selectors import profile_get, version_get
from reviews.suggestions import suggest
from reviews.suggestions.adopt import suggestions_adopt
from reviews.suggestions.model import EditKind, Suggestion

# --- Serializers (read-only, over the dataclasses of suggestions.model) -----------


class WinIntervalSerializer(serializers.Serializer[Any]):
    low = serializers.FloatField(help_text="From 0 to 1.")
    high = serializers.FloatField(help_text="From 0 to 1.")


class LiftWindowSerializer(serializers.Serializer[Any]):
    start = serializers.DateTimeField(help_text="Included.")
    end = serializers.DateTimeField(help_text="Not included.")


def _number() -> serializers.DecimalField:
    return serializers.DecimalField(
        max_digits=20, decimal_places=2, coerce_to_string=False, allow_null=True
    )


class OutcomesSerializer(serializers.Serializer[Any]):
    accounts = serializers.IntegerField(help_text="Accounts that closed a deal in the window.")
    won = serializers.IntegerField()
    lost = serializers.IntegerField()
    closed = serializers.IntegerField(help_text="Closed deals: won + lost.")
    win_rate = serializers.FloatField(allow_null=True, help_text="won / closed, 0 to 1.")
    win_interval = WinIntervalSerializer(
        allow_null=True, help_text="The win rate's 95% Wilson interval."
    )
    won_amount = _number()
    won_priced = serializers.IntegerField(
        help_text="Won deals with an amount in the reporting currency."
    )
    avg_deal = _number()
    customers = serializers.IntegerField()
    churned = serializers.IntegerField()
    churn_rate = serializers.FloatField(allow_null=True)
    churn_interval = WinIntervalSerializer(allow_null=True)
    claimed_higher = serializers.IntegerField(
        help_text="Overrides accepted in the window claiming a higher tier than the score gave."
    )
    claimed_lower = serializers.IntegerField()


class BucketSerializer(serializers.Serializer[Any]):
    low = _number()
    high = _number()
    label = serializers.CharField()  # type: ignore[assignment]


class ValueLiftSerializer(serializers.Serializer[Any]):
    value = serializers.CharField(allow_null=True, help_text="Null: accounts without a value.")
    label = serializers.CharField()  # type: ignore[assignment]
    outcomes = OutcomesSerializer()
    lift = serializers.FloatField(allow_null=True, help_text="Win rate / the base win rate.")
    standing = serializers.CharField(
        help_text="clears, too_few_deals or overlaps_base (docs/suggestions.md)."
    )
    clears = serializers.BooleanField()
    bucket = BucketSerializer(allow_null=True, help_text="A number's range.")


class ProposedCriterionSerializer(serializers.Serializer[Any]):
    attribute = serializers.CharField()
    operator = serializers.CharField()
    value = serializers.JSONField(allow_null=True)
    points = serializers.IntegerField()
    kind = serializers.CharField(help_text="fit or disqualifier.")
    lineage = serializers.CharField(
        allow_null=True,
        help_text="Follows a criterion from version to version; null for a new one.",
    )


class ProposedChangeSerializer(serializers.Serializer[Any]):
    before = ProposedCriterionSerializer(
        allow_null=True, help_text="Null: the change adds `after`."
    )
    after = ProposedCriterionSerializer(
        allow_null=True, help_text="Null: the change removes `before`."
    )


class OverrideRefSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    account_id = serializers.IntegerField()
    account_name = serializers.CharField()
    machine_tier = serializers.CharField()
    claimed_tier = serializers.CharField()
    reason = serializers.CharField()
    reviewed_at = serializers.DateTimeField(allow_null=True)


class TierRateSerializer(serializers.Serializer[Any]):
    tier = serializers.CharField()
    won = serializers.IntegerField()
    lost = serializers.IntegerField()
    closed = serializers.IntegerField()
    win_rate = serializers.FloatField(allow_null=True)


class BacktestSerializer(serializers.Serializer[Any]):
    tiers = TierRateSerializer(many=True, help_text="Closed deals, each in its account's tier.")
    auc = serializers.FloatField(allow_null=True)
    accounts = serializers.DictField(
        child=serializers.IntegerField(), help_text="Accounts of the whole base by tier."
    )


class EffectSerializer(serializers.Serializer[Any]):
    before = BacktestSerializer(help_text="The version as it is.")
    after = BacktestSerializer(help_text="The version with the edit.")
    moved = serializers.IntegerField(help_text="Accounts of the base that would change tier.")
    auc_gain = serializers.FloatField()


class SuggestionSerializer(serializers.Serializer[Any]):
    key = serializers.CharField(help_text="What adopt takes.")
    kind = serializers.ChoiceField(choices=[k.value for k in EditKind])
    kind_label = serializers.SerializerMethodField()
    attribute = serializers.CharField()
    attribute_label = serializers.CharField()
    change = serializers.CharField(help_text="The edit in words.")
    sentence = serializers.CharField(help_text="The evidence in one sentence.")
    changes = ProposedChangeSerializer(many=True)
    values = ValueLiftSerializer(many=True)
    effect = EffectSerializer()
    shown = serializers.BooleanField(help_text="Whether the evidence clears the minimum.")
    standing = serializers.CharField(help_text="Why not, when it does not.")
    overrides = OverrideRefSerializer(many=True)
    overrides_agreeing = serializers.IntegerField()
    lineage = serializers.CharField(
        allow_null=True, help_text="The criterion the edit is about; null for a new one."
    )

    def get_kind_label(self, suggestion: Suggestion) -> str:
        return suggestion.kind.label


class PointsRowSerializer(serializers.Serializer[Any]):
    lineage = serializers.CharField(allow_null=True)
    text = serializers.CharField()
    current = serializers.IntegerField()
    fitted = serializers.IntegerField()


class ReweightingSerializer(serializers.Serializer[Any]):
    fitted_on = LiftWindowSerializer()
    held_out = LiftWindowSerializer()
    rows = PointsRowSerializer(many=True)
    current = BacktestSerializer(help_text="The current points on the held-out deals.")
    fitted = BacktestSerializer(help_text="The fitted points on the held-out deals.")
    suggestion = SuggestionSerializer(allow_null=True)


class SuggestionsSerializer(serializers.Serializer[Any]):
    profile = serializers.CharField(source="version.profile.slug")
    version = serializers.IntegerField(source="version.number")
    window = LiftWindowSerializer()
    min_deals = serializers.IntegerField(help_text="Closed deals a value needs at least.")
    base = OutcomesSerializer(help_text="Every closed deal in the window.")
    shown = SuggestionSerializer(many=True, help_text="Ranked, best first.")
    not_enough = SuggestionSerializer(many=True, help_text="Not enough evidence yet.")
    reweighting = ReweightingSerializer(allow_null=True)
    computed_at = serializers.DateTimeField()


class AdoptSerializer(serializers.Serializer[Any]):
    keys = serializers.ListField(
        child=StrictCharField(max_length=200),
        allow_empty=False,
        max_length=100,
        help_text="The keys of the suggestions to adopt together.",
    )
    team = StrictSlugRelatedField(
        slug_field="slug",
        queryset=Team.objects.all(),
        help_text="The slug of the team the evidence comments are written as; the caller "
        "must belong to it.",
    )


@extend_schema_field(OpenApiTypes.URI)
class _UrlField(serializers.CharField):
    pass


class AdoptedSerializer(serializers.Serializer[Any]):
    profile = serializers.CharField()
    number = serializers.IntegerField(help_text="The draft's number.")
    status = serializers.CharField()
    revision = serializers.IntegerField(help_text="The draft's revision after the edits.")
    url = _UrlField(help_text="The draft in the API.")
    page = _UrlField(help_text="The draft's page.")


# --- Views ------------------------------------------------------------------------

PATH = [
    OpenApiParameter(
        "slug", OpenApiTypes.STR, OpenApiParameter.PATH, description="The profile's slug."
    ),
    OpenApiParameter(
        "number", OpenApiTypes.INT, OpenApiParameter.PATH, description="The version number."
    ),
]


class _VersionView(ApiViewMixin, APIView):
    permission_classes = (IsAuthenticated,)

    def version(self, slug: str, number: str) -> ProfileVersion:
        slug = slug_in_path(slug, "profile")
        try:
            profile = profile_get(slug=slug)
        except Profile.DoesNotExist:
            raise exceptions.NotFound(f"No profile {slug!r}.") from None
        wanted = id_in_path(number, "version")
        try:
            return version_get(profile=profile, number=wanted)
        except ProfileVersion.DoesNotExist:
            raise exceptions.NotFound(f"{profile.name} has no v{wanted}.") from None


class SuggestionsView(_VersionView):
    """A version's suggestions."""

    @extend_schema(
        tags=["reviews"],
        summary="A version's suggestions",
        description="Concrete edits of the version's criteria, each with its evidence over the "
        "window (the values' closed deals, win rate with its 95% interval, lift; the accepted "
        "overrides that back it) and its backtest (win rate by tier before and after, accounts "
        "that would move tier). `shown` clear the minimum evidence, ranked; `not_enough` do "
        "not yet, `standing` says why. `reweighting` fits the points on the earlier deals and "
        "backtests both sets on the later ones. Worked out for the version's revision at the "
        "first request, which may take a few seconds on a large base, and kept a while "
        "(REVIEWS_SUGGESTIONS_CACHE_SECONDS).",
        parameters=PATH,
        responses=answers(SuggestionsSerializer, 404),
    )
    def get(self, request: Request, slug: str, number: str) -> Response:
        suggestions = suggest.current_suggestions(version=self.version(slug, number))
        return Response(SuggestionsSerializer(suggestions).data)


class SuggestionsAdoptView(_VersionView):
    """Adopt suggestions into a draft."""

    @extend_schema(
        tags=["reviews"],
        summary="Adopt suggestions",
        description="Reads the suggestions again for the version's current revision (as "
        "the GET answers them) and applies the ones `keys` names "
        "together: into this version when it is open (a draft or in review), else into a new "
        "draft started from this live version. Refused (400, naming the field) for an unknown "
        "key, a version that is neither open nor live, or a live version while another is "
        "open; 403 with the reason for a team the caller is not in. Each edit takes a "
        "revision as an edit by hand does (sign-offs go stale); each adopted suggestion's "
        "evidence is posted as the team in the thread of the criterion it changes. Answers "
        "the draft.",
        parameters=PATH,
        request=AdoptSerializer,
        responses=answers(
            AdoptedSerializer,
            400,
            403,
            404,
            415,
            ok_status=201,
            own={
                409: OpenApiResponse(
                    dict[str, Any],
                    description="The version was edited or moved on while the suggestions "
                    "were worked out; nothing was saved. Try again.",
                )
            },
        ),
        examples=[
            OpenApiExample(
                "Two suggestions as Sales",
                request_only=True,
                value={"keys": ["industry-add-fintech", "employees-widen"], "team": "sales"},
            ),
            OpenApiExample(
                "Unknown key",
                response_only=True,
                status_codes=["400"],
                value={"keys": ["No suggestion 'industry-add-fintch' for v3."]},
            ),
        ],
    )
    def post(self, request: Request, slug: str, number: str) -> Response:
        version = self.version(slug, number)
        data = valid_body(request, AdoptSerializer)
        draft = suggestions_adopt(
            actor=cast(User, request.user), version=version, keys=data["keys"], team=data["team"]
        )
        kwargs = {"slug": draft.profile.slug, "number": draft.number}
        body = {
            "profile": draft.profile.slug,
            "number": draft.number,
            "status": draft.status,
            "revision": draft.revision,
            "url": request.build_absolute_uri(reverse("api:version-detail", kwargs=kwargs)),
            "page": request.build_absolute_uri(reverse("version-detail", kwargs=kwargs)),
        }
        return Response(AdoptedSerializer(body).data, status=status.HTTP_201_CREATED)


VERSION = rf"^profiles/(?P<slug>{ANY_SEGMENT})/versions/(?P<number>{ANY_SEGMENT})/suggestions/"

urlpatterns = [
    re_path(VERSION + "$", SuggestionsView.as_view(), name="suggestions"),
    re_path(VERSION + "adopt/$", SuggestionsAdoptView.as_view(), name="suggestions-adopt"),
]
