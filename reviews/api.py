"""The reviews API: overrides (the CRM logs them by account external id and
rep email), check-ins, the caller's review queue and validation figures; a
version's suggestions and their adoption (reviews.suggestions.api).

Reads go through reviews.selectors, writes through reviews.services: the
same calls and permissions as the pages.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, cast

from django.db.models import QuerySet
from django.urls import path, re_path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter
from rest_framework.views import APIView
from rest_framework.viewsets import GenericViewSet

from icpsite.api.base import ApiViewMixin, QuerySerializers
from icpsite.api.errors import answers
from icpsite.api.fields import StrictCharField, StrictSlugRelatedField
from icpsite.api.pagination import MAX_PAGE_SIZE, NewestFirstCursor, NumberedPages
from icpsite.api.params import ANY_SEGMENT, row_in_path, slug_in_path, valid_body
from profiles.models import Criterion, Profile, ProfileVersion, User
from reviews import services
from reviews.agenda import Agenda, checkin_agenda
from reviews.evidence import validation_for
from reviews.models import (
    CheckIn,
    CheckInOutcome,
    ClaimedTier,
    Override,
    OverrideReason,
    OverrideStatus,
)
from reviews.selectors import checkin_list, override_list, queue_get
from reviews.suggestions import api as suggestions_api
from scoring.models import Account
from scoring.selectors import current_run

# --- Serializers ------------------------------------------------------------------


class OverrideSerializer(serializers.ModelSerializer[Override]):
    account = serializers.CharField(source="account.external_id", read_only=True)
    account_name = serializers.CharField(source="account.name", read_only=True)
    profile = serializers.CharField(source="profile.slug", read_only=True)
    version = serializers.IntegerField(source="version.number", read_only=True)
    # Emails as stored: empty for a person (an integration account) without one.
    rep = serializers.CharField(
        source="rep.email", read_only=True, help_text="The email of the rep whose claim it is."
    )
    logged_by = serializers.CharField(
        source="logged_by.email",
        read_only=True,
        help_text="The email of who logged the claim: the rep, or a manager or integration in "
        "the rep's name. Neither they nor the rep may accept or reject it.",
    )
    team = serializers.CharField(
        source="team.slug", read_only=True, help_text="The team whose managers review it."
    )
    reviewed_by = serializers.SerializerMethodField()
    sets_tier = serializers.CharField(read_only=True)

    class Meta:
        model = Override
        fields = (
            "id", "account", "account_name", "profile", "version", "rep", "logged_by", "team",
            "machine_score", "machine_tier", "claimed_tier", "sets_tier", "reason",
            "criterion", "criterion_label", "note", "status", "reviewed_by", "review_note",
            "reviewed_at", "created_at",
        )  # fmt: skip

    def get_reviewed_by(self, override: Override) -> str | None:
        return override.reviewed_by.email if override.reviewed_by else None


class OverrideCreateSerializer(serializers.Serializer[Any]):
    profile = StrictSlugRelatedField(slug_field="slug", queryset=Profile.objects.all())
    account = StrictSlugRelatedField(
        slug_field="external_id",
        queryset=Account.objects.all(),
        help_text="The account's external id in the CRM.",
    )
    rep = serializers.EmailField(
        required=False,
        help_text="The rep's email; defaults to the caller. The caller is recorded as "
        "`logged_by` either way.",
    )
    claimed_tier = serializers.ChoiceField(choices=ClaimedTier.choices)
    reason = serializers.ChoiceField(choices=OverrideReason.choices)
    criterion = serializers.PrimaryKeyRelatedField(
        queryset=Criterion.objects.all(), required=False, allow_null=True
    )
    note = StrictCharField(required=False, allow_blank=True, default="")

    def validate_rep(self, email: str) -> User:
        user = User.objects.filter(email__iexact=email).first()
        if user is None:
            raise serializers.ValidationError(f"No person has the email {email}.")
        return user


class NoteSerializer(serializers.Serializer[Any]):
    note = StrictCharField(required=False, allow_blank=True, default="")


class CheckInSerializer(serializers.ModelSerializer[CheckIn]):
    profile = serializers.CharField(source="profile.slug", read_only=True)
    draft = serializers.SerializerMethodField()
    is_open = serializers.BooleanField(read_only=True)
    since = serializers.SerializerMethodField(
        help_text="Start of the period the agenda covers: when the profile's last check-in "
        "was held, or its live version approved."
    )
    agenda = serializers.SerializerMethodField(
        help_text="Worked out at the moment of the request while the check-in is open; "
        "as recorded when it was held once it is. Lists (the check-ins, the queue) leave an "
        "open check-in's agenda out (null, with `since` and `agenda_as_of`): working it out "
        "reads the whole account base, so read the check-in itself for it."
    )
    agenda_live = serializers.SerializerMethodField(
        help_text="True while the agenda is worked out afresh (the check-in is open)."
    )
    agenda_as_of = serializers.SerializerMethodField(
        help_text="When the agenda was worked out (now, or when it was recorded)."
    )
    trigger_figures = serializers.JSONField(
        read_only=True, help_text="What the drift check measured when it opened the check-in."
    )

    class Meta:
        model = CheckIn
        fields = (
            "id", "profile", "kind", "due_on", "trigger", "trigger_reason", "trigger_figures",
            "since", "agenda", "agenda_live", "agenda_as_of", "is_open", "outcome",
            "outcome_note", "draft", "closed_at", "created_at",
        )  # fmt: skip

    def _agenda(self, checkin: CheckIn) -> Agenda | None:
        """One agenda per check-in and response, however many fields read it;
        None for an open check-in in a list (the `live_agenda` context flag
        is set for one check-in read on its own)."""
        if checkin.is_open and not self.context.get("live_agenda"):
            return None
        cache: dict[int, Agenda] = self.context.setdefault("agendas", {})
        if checkin.pk not in cache:
            cache[checkin.pk] = checkin_agenda(checkin=checkin)
        return cache[checkin.pk]

    def get_draft(self, checkin: CheckIn) -> int | None:
        return checkin.draft.number if checkin.draft else None

    def get_since(self, checkin: CheckIn) -> datetime | None:
        agenda = self._agenda(checkin)
        return None if agenda is None else agenda.since

    def get_agenda(self, checkin: CheckIn) -> dict[str, Any] | None:
        agenda = self._agenda(checkin)
        return None if agenda is None else agenda.data

    def get_agenda_live(self, checkin: CheckIn) -> bool:
        agenda = self._agenda(checkin)
        return checkin.is_open if agenda is None else agenda.live

    def get_agenda_as_of(self, checkin: CheckIn) -> datetime | None:
        agenda = self._agenda(checkin)
        return None if agenda is None else agenda.as_of


class OutcomeSerializer(serializers.Serializer[Any]):
    outcome = serializers.ChoiceField(choices=[c for c in CheckInOutcome.choices if c[0]])
    note = StrictCharField(required=False, allow_blank=True, default="")


def _page_size() -> serializers.IntegerField:
    return serializers.IntegerField(
        min_value=1,
        max_value=MAX_PAGE_SIZE,
        required=False,
        help_text=f"Rows per page, 1 to {MAX_PAGE_SIZE}.",
    )


class OverrideQuerySerializer(serializers.Serializer[Any]):
    status = serializers.ChoiceField(choices=OverrideStatus.choices, required=False)
    profile = serializers.SlugField(required=False, help_text="A profile's slug.")
    account = serializers.CharField(required=False, help_text="An account's external id.")
    cursor = serializers.CharField(required=False, help_text="A page's place, from `next`.")
    page_size = _page_size()


class CheckInQuerySerializer(serializers.Serializer[Any]):
    page = serializers.IntegerField(min_value=1, required=False)
    page_size = _page_size()


class ValidationQuerySerializer(serializers.Serializer[Any]):
    draft = serializers.IntegerField(
        min_value=1, required=False, help_text="A version number to show beside the live one."
    )


# --- Views -------------------------------------------------------------------------


class ReviewsViewSet(ApiViewMixin, GenericViewSet[Any]):
    permission_classes = (IsAuthenticated,)
    lookup_value_regex = ANY_SEGMENT

    @property
    def actor(self) -> User:
        return cast(User, self.request.user)

    def valid(self, serializer_class: type[serializers.Serializer[Any]]) -> Any:
        return valid_body(self.request, serializer_class)

    def get_object(self) -> Any:
        return row_in_path(self.get_queryset(), self.kwargs["pk"])


@extend_schema(tags=["reviews"])
class OverrideViewSet(ReviewsViewSet):
    """Reps' claims that an account belongs in another tier."""

    serializer_class = OverrideSerializer
    queryset = Override.objects.none()
    pagination_class = NewestFirstCursor
    query_serializers: ClassVar[QuerySerializers] = {"list": OverrideQuerySerializer}

    def get_queryset(self) -> QuerySet[Override]:
        return override_list()

    @extend_schema(
        summary="List overrides",
        parameters=[OverrideQuerySerializer],
        responses=answers(OverrideSerializer, 400),
    )
    def list(self, request: Request) -> Response:
        query = self.query
        overrides = override_list(status=query.get("status"))
        if "profile" in query:
            overrides = overrides.filter(profile__slug=query["profile"])
        if "account" in query:
            overrides = overrides.filter(account__external_id=query["account"])
        page = self.paginate_queryset(overrides)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(summary="Read an override", responses=answers(OverrideSerializer, 404))
    def retrieve(self, request: Request, pk: str) -> Response:
        checkin = self.get_object()
        context = {**self.get_serializer_context(), "live_agenda": True}
        return Response(CheckInSerializer(checkin, context=context).data)

    @extend_schema(
        summary="Log an override",
        description="By the account's external id and the rep's email (the caller by "
        "default). Logging in another rep's name needs a manager or admin of their team, "
        "or the `reviews.add_override` permission (an integration account's, granted in the "
        "admin); the caller (the API key's user) is recorded as "
        "`logged_by` and may not decide the claim.",
        request=OverrideCreateSerializer,
        responses=answers(OverrideSerializer, 400, 403, 415, ok_status=201),
        examples=[
            OpenApiExample(
                "In a rep's name",
                request_only=True,
                value={
                    "profile": "mid-market-saas",
                    "account": "0015g00000XyZ12",
                    "rep": "noah@northwind.example",
                    "claimed_tier": "A",
                    "reason": "strategic",
                    "note": "Board-level sponsor; they buy like mid-market.",
                },
            )
        ],
    )
    def create(self, request: Request) -> Response:
        data = self.valid(OverrideCreateSerializer)
        override = services.override_create(
            actor=self.actor,
            rep=data.get("rep"),
            account=data["account"],
            profile=data["profile"],
            claimed_tier=data["claimed_tier"],
            reason=data["reason"],
            criterion=data.get("criterion"),
            note=data["note"],
        )
        body = self.get_serializer(override_list().get(pk=override.pk)).data
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Accept an override",
        description="Managers of the rep's team and the profile's admins accept; never "
        "the rep nor whoever logged the claim (403 with the reason). The claimed tier "
        "becomes the account's effective tier.",
        request=NoteSerializer,
        responses=answers(OverrideSerializer, 400, 403, 404, 415),
    )
    @action(detail=True, methods=["post"])
    def accept(self, request: Request, pk: str) -> Response:
        override = services.override_accept(
            actor=self.actor, override=self.get_object(), note=self.valid(NoteSerializer)["note"]
        )
        return Response(self.get_serializer(override_list().get(pk=override.pk)).data)

    @extend_schema(
        summary="Reject an override",
        description="The same people as accepting (never the rep nor whoever logged the "
        "claim); a rejection needs a note.",
        request=NoteSerializer,
        responses=answers(OverrideSerializer, 400, 403, 404, 415),
    )
    @action(detail=True, methods=["post"])
    def reject(self, request: Request, pk: str) -> Response:
        override = services.override_reject(
            actor=self.actor, override=self.get_object(), note=self.valid(NoteSerializer)["note"]
        )
        return Response(self.get_serializer(override_list().get(pk=override.pk)).data)


@extend_schema(tags=["reviews"])
class CheckInViewSet(ReviewsViewSet):
    """Profile check-ins with their agenda and outcome."""

    serializer_class = CheckInSerializer
    queryset = CheckIn.objects.none()
    pagination_class = NumberedPages
    query_serializers: ClassVar[QuerySerializers] = {"list": CheckInQuerySerializer}

    def get_queryset(self) -> QuerySet[CheckIn]:
        return checkin_list()

    @extend_schema(
        summary="List check-ins",
        description="Open ones first by due date, then closed ones newest first. A page "
        "past the last answers 404.",
        parameters=[CheckInQuerySerializer],
        responses=answers(CheckInSerializer, 400, 404),
    )
    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(
        summary="Read a check-in with its agenda", responses=answers(CheckInSerializer, 404)
    )
    def retrieve(self, request: Request, pk: str) -> Response:
        checkin = self.get_object()
        context = {**self.get_serializer_context(), "live_agenda": True}
        return Response(CheckInSerializer(checkin, context=context).data)

    @extend_schema(
        summary="Record a check-in's outcome",
        description="The profile's approvers and the managers of the teams it requires "
        "close a check-in: no change (the note says why) or start a revision, which opens "
        "a draft from the live version.",
        request=OutcomeSerializer,
        responses=answers(CheckInSerializer, 400, 403, 404, 415),
    )
    @action(detail=True, methods=["post"])
    def outcome(self, request: Request, pk: str) -> Response:
        data = self.valid(OutcomeSerializer)
        checkin = services.checkin_close(
            actor=self.actor, checkin=self.get_object(), outcome=data["outcome"], note=data["note"]
        )
        return Response(self.get_serializer(checkin).data)


class QueueView(ApiViewMixin, APIView):
    """The caller's review queue (first page of each list, with totals)."""

    permission_classes = (IsAuthenticated,)

    @extend_schema(
        tags=["reviews"],
        summary="My review queue",
        description="Pending overrides, drafts waiting for the caller's teams, check-ins due, "
        "the last rescoring's largest moves and the surprises of the last "
        "REVIEWS_SURPRISE_DAYS days: each deal won by a tier C or DQ account and each deal "
        "lost by a tier A account (`kind` won or lost, `deal` its external id, `amount` in "
        "`currency`, blank for the reporting currency), and each tier A customer that "
        "churned (`kind` churned, no deal). The surprises' `count` counts each outcome once; "
        "`items` (the newest 50) hold one per outcome and profile whose live tier it "
        "surprised.",
        responses=answers(OpenApiTypes.OBJECT),
    )
    def get(self, request: Request) -> Response:
        queue = queue_get(viewer=cast(User, request.user))
        return Response(
            {
                "headline": queue.headline,
                "last_review": queue.checkpoint,
                "overrides": {
                    "count": queue.count("overrides"),
                    "items": OverrideSerializer(queue.overrides[:50], many=True).data,
                },
                "drafts": [
                    {
                        "profile": d.version.profile.slug,
                        "version": d.version.number,
                        "teams": [t.slug for t in d.teams],
                    }
                    for d in queue.drafts
                ],
                "checkins": CheckInSerializer(queue.checkins, many=True).data,
                "moves": [
                    {
                        "profile": m.profile.slug,
                        "account_id": m.account_id,
                        "name": m.name,
                        "from": m.old_tier,
                        "to": m.new_tier,
                    }
                    for m in queue.moves
                ],
                "surprises": {
                    "count": queue.count("surprises"),
                    "items": [
                        {
                            "account": s.external_id,
                            "name": s.account_name,
                            "profile": s.profile_slug,
                            "tier": s.tier,
                            "kind": s.kind,
                            "deal": s.deal,
                            "amount": None if s.amount is None else str(s.amount),
                            "currency": s.currency,
                            "at": s.occurred_at,
                        }
                        for s in queue.surprises[:50]
                    ],
                },
            }
        )


class ValidationView(ApiViewMixin, APIView):
    """Outcome figures by tier for the live version and, with ?draft=N, a draft."""

    permission_classes = (IsAuthenticated,)
    query_serializers: ClassVar[QuerySerializers] = {"get": ValidationQuerySerializer}

    @extend_schema(
        tags=["reviews"],
        summary="Outcome validation figures",
        description="Per tier of each version, over every recorded outcome. Deal-level: `won`, "
        "`lost`, `win_rate` (closed deals won, each deal in its account's tier, renewals and "
        "expansions included), `won_amount`, `won_priced` and `avg_deal` (won deals with an "
        "amount in the reporting currency). Account-level: `accounts`, `customers` (accounts "
        "that won a deal or churned), `churned` and `churn_rate`. `lift_a` is tier A's win "
        "rate over the win rate of all closed deals.",
        parameters=[ValidationQuerySerializer],
        responses=answers(OpenApiTypes.OBJECT, 400, 404),
    )
    def get(self, request: Request, slug: str) -> Response:
        slug = slug_in_path(slug, "profile")
        profile = Profile.objects.filter(slug=slug).first()
        if profile is None:
            raise exceptions.NotFound(f"No profile {slug!r}.")
        query = self.query
        draft = None
        if "draft" in query:
            draft = ProfileVersion.objects.filter(profile=profile, number=query["draft"]).first()
            if draft is None:
                raise exceptions.ValidationError(
                    {"draft": [f"{profile.name} has no such version."]}
                )
        return Response(validation_for(run=current_run(profile=profile), draft=draft).as_json())


router = SimpleRouter()
router.register("reviews/overrides", OverrideViewSet, basename="override")
router.register("reviews/checkins", CheckInViewSet, basename="checkin")

urlpatterns = [
    *router.urls,
    *suggestions_api.urlpatterns,
    path("reviews/queue/", QueueView.as_view(), name="review-queue"),
    re_path(
        rf"^reviews/validation/(?P<slug>{ANY_SEGMENT})/$",
        ValidationView.as_view(),
        name="validation",
    ),
]
