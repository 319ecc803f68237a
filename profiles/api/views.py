"""Viewsets of the profiles API.

Reads go through profiles.selectors and writes through profiles.services,
the same calls the pages make, so the API allows exactly what the pages
allow. Authentication comes from REST_FRAMEWORK's default classes; every
endpoint needs a signed-in person, and a person in no team reads but cannot
write (the services refuse).
"""

from typing import Any, ClassVar, cast

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer
from rest_framework.viewsets import GenericViewSet

from icpsite.api.base import ApiViewMixin, QuerySerializers
from icpsite.api.params import ANY_SEGMENT, id_in_path, row_in_path, slug_in_path, valid_body
from profiles import services
from profiles.api import serializers as s
from profiles.api.errors import answers
from profiles.diff import version_diff, versions_to_compare
from profiles.models import (
    Comment,
    Criterion,
    Profile,
    ProfileVersion,
    SignOff,
    SignOffDecision,
    User,
    VersionEvent,
)
from profiles.selectors import (
    comment_list,
    criterion_list,
    profile_get,
    profile_list,
    signoff_list,
    version_event_list,
    version_get,
    version_list,
)

# --- Schema pieces ----------------------------------------------------------

SLUG = OpenApiParameter(
    "slug", OpenApiTypes.STR, OpenApiParameter.PATH, description="The profile's slug."
)
NUMBER = OpenApiParameter(
    "number", OpenApiTypes.INT, OpenApiParameter.PATH, description="The version number."
)
ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The id.")

NO_CONTENT = OpenApiResponse(description="Removed.")


# --- Shared behaviour -------------------------------------------------------


class ProfilesAPIViewSet(ApiViewMixin, GenericViewSet[Any]):
    """Signed-in access, the services' errors translated, and nested lookups.

    Each subclass names its model with an empty `queryset` (for the schema)
    and reads its rows through a selector in `get_queryset`.
    """

    permission_classes = (IsAuthenticated,)

    @property
    def actor(self) -> User:
        return cast(User, self.request.user)

    def get_profile(self) -> Profile:
        if not hasattr(self, "_profile"):
            slug = slug_in_path(self.kwargs["slug"], "profile")
            try:
                self._profile = profile_get(slug=slug)
            except Profile.DoesNotExist:
                raise exceptions.NotFound(f"No profile {slug!r}.") from None
        return self._profile

    def get_version(self) -> ProfileVersion:
        if not hasattr(self, "_version"):
            self._version = self.find_version(id_in_path(self.kwargs["number"], "version"))
        return self._version

    def get_object(self) -> Any:
        return row_in_path(self.get_queryset(), self.kwargs["pk"])

    def find_version(self, number: int) -> ProfileVersion:
        profile = self.get_profile()
        try:
            return version_get(profile=profile, number=number)
        except ProfileVersion.DoesNotExist:
            raise exceptions.NotFound(f"{profile.name} has no v{number}.") from None

    def valid_input(self, serializer_class: type[BaseSerializer[Any]], **kwargs: Any) -> Any:
        return valid_body(self.request, serializer_class, **kwargs)

    def version_response(self, version: ProfileVersion, code: int = 200) -> Response:
        fresh = self.find_version(version.number)
        return Response(
            s.VersionDetailSerializer(fresh, context=self.get_serializer_context()).data,
            status=code,
        )


# --- Profiles ---------------------------------------------------------------


@extend_schema(tags=["profiles"])
class ProfileViewSet(ProfilesAPIViewSet):
    """Ideal Customer Profiles."""

    serializer_class = s.ProfileSerializer
    queryset = Profile.objects.none()
    lookup_field = "slug"
    lookup_value_regex = ANY_SEGMENT
    query_serializers: ClassVar[QuerySerializers] = {"diff": s.DiffQuerySerializer}

    def get_queryset(self) -> QuerySet[Profile]:
        return profile_list()

    @extend_schema(summary="List profiles", responses=answers(s.ProfileSerializer(many=True), 403))
    def list(self, request: Request) -> Response:
        return Response(self.get_serializer(self.get_queryset(), many=True).data)

    @extend_schema(
        summary="Read a profile",
        parameters=[SLUG],
        responses=answers(s.ProfileDetailSerializer, 403, 404),
    )
    def retrieve(self, request: Request, slug: str) -> Response:
        return Response(s.ProfileDetailSerializer(self._detail(slug)).data)

    @extend_schema(
        summary="Create a profile",
        description="Administrators and RevOps managers create profiles. Approving teams "
        "default to the RevOps teams, admins to the person creating it.",
        request=s.ProfileCreateSerializer,
        responses=answers(s.ProfileDetailSerializer, 400, 403, 415, ok_status=201),
        examples=[
            OpenApiExample(
                "A profile",
                request_only=True,
                value={
                    "name": "Mid-market SaaS",
                    "description": "B2B software companies of 200 to 2,000 people.",
                    "required_teams": ["sales", "marketing", "revops"],
                    "checkin_cadence": 3,
                },
            )
        ],
    )
    def create(self, request: Request) -> Response:
        data = self.valid_input(s.ProfileCreateSerializer)
        profile = services.profile_create(
            actor=self.actor,
            name=data["name"],
            description=data["description"],
            required_teams=data["required_teams"],
            approving_teams=data.get("approving_teams") or None,
            admins=data.get("admins") or [self.actor],
            checkin_cadence=data["checkin_cadence"],
        )
        body = s.ProfileDetailSerializer(self._detail(profile.slug)).data
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Compare two versions",
        description="Criteria added, removed and changed (paired by lineage), and thresholds "
        "changed, from `old` to `new`. Without parameters: the latest version against "
        "the version it was copied from.",
        parameters=[SLUG, s.DiffQuerySerializer],
        responses=answers(s.VersionDiffSerializer, 400, 403, 404),
    )
    @action(detail=True, methods=["get"])
    def diff(self, request: Request, slug: str) -> Response:
        numbers = self.query
        profile = self.get_profile()
        versions = {v.number: v for v in version_list(profile=profile).select_related("parent")}
        if not versions:
            raise exceptions.NotFound(f"{profile.name} has no versions yet.")
        errors = {
            name: [f"{profile.name} has no v{numbers[name]}."]
            for name in ("old", "new")
            if name in numbers and numbers[name] not in versions
        }
        if errors:
            raise exceptions.ValidationError(errors)
        old, new = versions_to_compare(versions, old=numbers.get("old"), new=numbers.get("new"))
        diff = version_diff(old=old, new=new)
        return Response(s.VersionDiffSerializer(diff, context=self.get_serializer_context()).data)

    def _detail(self, slug: str) -> Profile:
        slug = slug_in_path(slug, "profile")
        try:
            return profile_list().prefetch_related("approving_teams", "admins").get(slug=slug)
        except Profile.DoesNotExist:
            raise exceptions.NotFound(f"No profile {slug!r}.") from None


# --- Versions ---------------------------------------------------------------


@extend_schema(tags=["versions"], parameters=[SLUG])
class VersionViewSet(ProfilesAPIViewSet):
    """The numbered versions of a profile, and their way through review."""

    serializer_class = s.VersionListSerializer
    queryset = ProfileVersion.objects.none()
    lookup_field = "number"
    lookup_value_regex = ANY_SEGMENT

    def get_queryset(self) -> QuerySet[ProfileVersion]:
        return version_list(profile=self.get_profile()).select_related("parent")

    @extend_schema(
        summary="List a profile's versions",
        responses=answers(s.VersionListSerializer(many=True), 403, 404),
    )
    def list(self, request: Request, slug: str) -> Response:
        return Response(self.get_serializer(self.get_queryset(), many=True).data)

    @extend_schema(
        summary="Read a version",
        description="With its criteria, each required team's sign-off state on the current "
        "revision, and what stands between it and approval.",
        parameters=[NUMBER],
        responses=answers(s.VersionDetailSerializer, 403, 404),
    )
    def retrieve(self, request: Request, slug: str, number: str) -> Response:
        return self.version_response(self.get_version())

    @extend_schema(
        summary="Start a draft",
        description="Copies the approved version (or `source`), keeping each criterion's "
        "lineage, or starts empty. A profile has one open version at a time.",
        request=s.VersionStartSerializer,
        responses=answers(s.VersionDetailSerializer, 400, 403, 404, 415, ok_status=201),
        examples=[
            OpenApiExample(
                "From the approved version",
                request_only=True,
                value={"rationale": "Q3 revision: smaller companies convert well."},
            ),
            OpenApiExample("Empty", request_only=True, value={"empty": True}),
        ],
    )
    def create(self, request: Request, slug: str) -> Response:
        data = self.valid_input(s.VersionStartSerializer)
        source = None
        if data.get("source") is not None:
            try:
                source = version_get(profile=self.get_profile(), number=data["source"])
            except ProfileVersion.DoesNotExist:
                raise exceptions.ValidationError(
                    {"source": [f"{self.get_profile().name} has no v{data['source']}."]}
                ) from None
        draft = services.version_start_draft(
            actor=self.actor,
            profile=self.get_profile(),
            source=source,
            empty=data["empty"],
            rationale=data["rationale"],
        )
        return self.version_response(draft, status.HTTP_201_CREATED)

    @extend_schema(
        summary="Change a version's rationale or tier thresholds",
        parameters=[NUMBER],
        request=s.VersionUpdateSerializer,
        responses=answers(s.VersionDetailSerializer, 400, 403, 404, 409, 415),
        examples=[
            OpenApiExample(
                "New thresholds",
                request_only=True,
                value={"revision": 6, "threshold_a": 75, "threshold_b": 45},
            )
        ],
    )
    def partial_update(self, request: Request, slug: str, number: str) -> Response:
        version = self.get_version()
        data = self.valid_input(s.VersionUpdateSerializer)
        services.version_update(
            actor=self.actor,
            version=version,
            revision=data["revision"],
            rationale=data.get("rationale", version.rationale),
            threshold_a=data.get("threshold_a", version.threshold_a),
            threshold_b=data.get("threshold_b", version.threshold_b),
        )
        return self.version_response(version)

    @extend_schema(
        summary="Submit a draft for review",
        description="Any team member may submit; required teams may then sign off. A draft "
        "that could not be approved as it stands (fit points that do not add up to 100, a "
        "criterion with a bad value, thresholds out of order) answers 400 listing every "
        "problem, the points total among them. A version that is no longer a draft answers "
        "409.",
        parameters=[NUMBER],
        request=None,
        responses=answers(s.VersionDetailSerializer, 400, 403, 404, 409),
    )
    @action(detail=True, methods=["post"])
    def submit(self, request: Request, slug: str, number: str) -> Response:
        version = services.version_submit(actor=self.actor, version=self.get_version())
        return self.version_response(version)

    @extend_schema(
        summary="Approve a version",
        description="The profile's admins and the managers of its approving teams approve a "
        "version in review once every required team has approved its current revision and "
        "the fit points add up to 100. The previous approved version is superseded. A "
        "version that is not ready answers 400 listing every problem. A version that moved "
        "on meanwhile (edited after `revision`, sent back to draft, withdrawn, already "
        "approved) answers 409 and nothing is approved.",
        parameters=[NUMBER],
        request=s.ApproveSerializer,
        responses=answers(s.VersionDetailSerializer, 400, 403, 404, 409, 415),
    )
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, slug: str, number: str) -> Response:
        data = self.valid_input(s.ApproveSerializer)
        version = services.version_approve(
            actor=self.actor, version=self.get_version(), revision=data.get("revision")
        )
        return self.version_response(version)

    @extend_schema(
        summary="Withdraw an open version",
        description="Its author and the profile's approvers withdraw it. A version that is "
        "no longer open answers 409.",
        parameters=[NUMBER],
        request=s.WithdrawSerializer,
        responses=answers(s.VersionDetailSerializer, 400, 403, 404, 409, 415),
    )
    @action(detail=True, methods=["post"])
    def withdraw(self, request: Request, slug: str, number: str) -> Response:
        data = self.valid_input(s.WithdrawSerializer)
        version = services.version_withdraw(
            actor=self.actor, version=self.get_version(), reason=data["reason"]
        )
        return self.version_response(version)

    @extend_schema(
        summary="Request changes for a team",
        description="Records the team's decision to request changes on the revision "
        "reviewed and sends the version back to draft.",
        parameters=[NUMBER],
        request=s.RequestChangesSerializer,
        responses=answers(s.VersionDetailSerializer, 400, 403, 404, 409, 415),
        examples=[
            OpenApiExample(
                "Sales wants smaller companies",
                request_only=True,
                value={"team": "sales", "note": "We win at 150 people too.", "revision": 6},
            )
        ],
    )
    @action(detail=True, methods=["post"], url_path="request-changes")
    def request_changes(self, request: Request, slug: str, number: str) -> Response:
        data = self.valid_input(s.RequestChangesSerializer)
        version = self.get_version()
        services.signoff_give(
            actor=self.actor,
            version=version,
            team=data["team"],
            decision=SignOffDecision.REQUEST_CHANGES,
            note=data["note"],
            revision=data["revision"],
        )
        return self.version_response(version)


# --- Criteria ---------------------------------------------------------------


@extend_schema(tags=["criteria"], parameters=[SLUG, NUMBER])
class CriterionViewSet(ProfilesAPIViewSet):
    """The weighted criteria and disqualifiers of a version. Every edit sends the
    version revision it was based on and takes the next one."""

    serializer_class = s.CriterionSerializer
    queryset = Criterion.objects.none()
    lookup_value_regex = ANY_SEGMENT
    query_serializers: ClassVar[QuerySerializers] = {"destroy": s.RevisionSerializer}

    def get_queryset(self) -> QuerySet[Criterion]:
        return criterion_list(version=self.get_version())

    @extend_schema(
        summary="List a version's criteria",
        responses=answers(s.CriterionSerializer(many=True), 403, 404),
    )
    def list(self, request: Request, slug: str, number: str) -> Response:
        return Response(self.get_serializer(self.get_queryset(), many=True).data)

    @extend_schema(
        summary="Read a criterion",
        parameters=[ID],
        responses=answers(s.CriterionSerializer, 403, 404),
    )
    def retrieve(self, request: Request, slug: str, number: str, pk: str) -> Response:
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(
        summary="Add a criterion",
        request=s.CriterionInputSerializer,
        responses=answers(s.CriterionSerializer, 400, 403, 404, 409, 415, ok_status=201),
        examples=[
            OpenApiExample(
                "Headcount range",
                request_only=True,
                value={
                    "revision": 1,
                    "attribute": "employees",
                    "operator": "between",
                    "value": [200, 2000],
                    "points": 30,
                    "kind": "fit",
                },
            ),
            OpenApiExample(
                "Disqualifier",
                request_only=True,
                value={
                    "revision": 2,
                    "attribute": "industry",
                    "operator": "in",
                    "value": ["B2C retail"],
                    "kind": "disqualifier",
                },
            ),
        ],
    )
    def create(self, request: Request, slug: str, number: str) -> Response:
        data = self.valid_input(s.CriterionInputSerializer)
        criterion = services.criterion_add(actor=self.actor, version=self.get_version(), **data)
        return Response(self.get_serializer(criterion).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Replace a criterion",
        parameters=[ID],
        request=s.CriterionInputSerializer,
        responses=answers(s.CriterionSerializer, 400, 403, 404, 409, 415),
    )
    def update(self, request: Request, slug: str, number: str, pk: str) -> Response:
        return self._save(partial=False)

    @extend_schema(
        summary="Change some fields of a criterion",
        description="Send `revision` (the version revision the edit is based on) and the "
        "fields to change; a body without `revision` is refused (400).",
        parameters=[ID],
        request=s.CriterionInputSerializer(partial=True),
        responses=answers(s.CriterionSerializer, 400, 403, 404, 409, 415),
        examples=[
            OpenApiExample(
                "Lower the floor",
                request_only=True,
                value={"revision": 6, "value": [150, 2000]},
            )
        ],
    )
    def partial_update(self, request: Request, slug: str, number: str, pk: str) -> Response:
        return self._save(partial=True)

    @extend_schema(
        summary="Remove a criterion",
        parameters=[ID, s.RevisionSerializer],
        request=None,
        responses=answers(NO_CONTENT, 400, 403, 404, 409, ok_status=204),
    )
    def destroy(self, request: Request, slug: str, number: str, pk: str) -> Response:
        criterion = self.get_object()
        revision = self.query["revision"]
        services.criterion_remove(actor=self.actor, criterion=criterion, revision=revision)
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _save(self, *, partial: bool) -> Response:
        criterion = self.get_object()
        data = self.valid_input(s.CriterionInputSerializer, partial=partial)
        current = {
            "attribute": criterion.attribute,
            "operator": criterion.operator,
            "value": criterion.value,
            "points": criterion.points,
            "kind": criterion.kind,
            "category": criterion.category,
            "rationale": criterion.rationale,
        }
        if not partial:
            current["value"] = None
            current["category"] = None
        saved = services.criterion_update(
            actor=self.actor, criterion=criterion, **{**current, **data}
        )
        return Response(self.get_serializer(saved).data)


# --- Comments ---------------------------------------------------------------


@extend_schema(tags=["comments"], parameters=[SLUG, NUMBER])
class CommentViewSet(ProfilesAPIViewSet):
    """The discussion on a version: each person comments as one of their teams."""

    serializer_class = s.CommentSerializer
    queryset = Comment.objects.none()
    lookup_value_regex = ANY_SEGMENT

    def get_queryset(self) -> QuerySet[Comment]:
        return comment_list(version=self.get_version())

    @extend_schema(
        summary="List a version's comments",
        description="Oldest first; a reply names its thread's first comment as `parent`.",
        responses=answers(s.CommentSerializer(many=True), 403, 404),
    )
    def list(self, request: Request, slug: str, number: str) -> Response:
        return Response(self.get_serializer(self.get_queryset(), many=True).data)

    @extend_schema(
        summary="Read a comment",
        parameters=[ID],
        responses=answers(s.CommentSerializer, 403, 404),
    )
    def retrieve(self, request: Request, slug: str, number: str, pk: str) -> Response:
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(
        summary="Comment as one of your teams",
        request=s.CommentInputSerializer,
        responses=answers(s.CommentSerializer, 400, 403, 404, 415, ok_status=201),
        examples=[
            OpenApiExample(
                "On a criterion",
                request_only=True,
                value={"team": "sales", "body": "We win at 150 people too.", "criterion": 12},
            )
        ],
    )
    def create(self, request: Request, slug: str, number: str) -> Response:
        data = self.valid_input(s.CommentInputSerializer)
        comment = services.comment_create(
            actor=self.actor,
            version=self.get_version(),
            team=data["team"],
            body=data["body"],
            criterion=data.get("criterion"),
            parent=data.get("parent"),
        )
        return Response(self.get_serializer(comment).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Resolve a thread",
        description="Members of the thread's team and the profile's approvers resolve it; "
        "resolving a reply resolves its thread. Answers the thread's first comment.",
        parameters=[ID],
        request=None,
        responses=answers(s.CommentSerializer, 403, 404),
    )
    @action(detail=True, methods=["post"])
    def resolve(self, request: Request, slug: str, number: str, pk: str) -> Response:
        return self._resolve(resolved=True)

    @extend_schema(
        summary="Reopen a thread",
        parameters=[ID],
        request=None,
        responses=answers(s.CommentSerializer, 403, 404),
    )
    @action(detail=True, methods=["post"])
    def unresolve(self, request: Request, slug: str, number: str, pk: str) -> Response:
        return self._resolve(resolved=False)

    def _resolve(self, *, resolved: bool) -> Response:
        root = services.comment_resolve(
            actor=self.actor, comment=self.get_object(), resolved=resolved
        )
        return Response(self.get_serializer(root).data)


# --- Sign-offs --------------------------------------------------------------


@extend_schema(tags=["sign-offs"], parameters=[SLUG, NUMBER])
class SignOffViewSet(ProfilesAPIViewSet):
    """Each required team's decision on a version, bound to the revision it saw."""

    serializer_class = s.SignOffSerializer
    queryset = SignOff.objects.none()

    def get_queryset(self) -> QuerySet[SignOff]:
        return signoff_list(version=self.get_version())

    @extend_schema(
        summary="List a version's sign-offs",
        description="One per team: a new decision replaces the team's earlier one. "
        "`is_stale` marks a decision given on an earlier revision.",
        responses=answers(s.SignOffSerializer(many=True), 403, 404),
    )
    def list(self, request: Request, slug: str, number: str) -> Response:
        return Response(self.get_serializer(self.get_queryset(), many=True).data)

    @extend_schema(
        summary="Sign off for one of your teams",
        description="Only members of a team the profile requires, while the version is in "
        "review. `revision` is the revision reviewed; if the version changed since, "
        "nothing is recorded (409). Requesting changes needs a note and sends the "
        "version back to draft.",
        request=s.SignOffInputSerializer,
        responses=answers(s.SignOffSerializer, 400, 403, 404, 409, 415, ok_status=201),
        examples=[
            OpenApiExample(
                "Approve",
                request_only=True,
                value={"team": "sales", "decision": "approve", "note": "", "revision": 7},
            ),
            OpenApiExample(
                "Request changes",
                request_only=True,
                value={
                    "team": "marketing",
                    "decision": "request_changes",
                    "note": "Add a disqualifier for B2C retail.",
                    "revision": 7,
                },
            ),
        ],
    )
    def create(self, request: Request, slug: str, number: str) -> Response:
        data = self.valid_input(s.SignOffInputSerializer)
        signoff = services.signoff_give(actor=self.actor, version=self.get_version(), **data)
        return Response(self.get_serializer(signoff).data, status=status.HTTP_201_CREATED)


# --- Activity ---------------------------------------------------------------


@extend_schema(tags=["versions"], parameters=[SLUG, NUMBER])
class VersionEventViewSet(ProfilesAPIViewSet):
    """A version's activity log: who did what, when, with before and after."""

    serializer_class = s.VersionEventSerializer
    queryset = VersionEvent.objects.none()

    def get_queryset(self) -> QuerySet[VersionEvent]:
        return version_event_list(version=self.get_version())

    @extend_schema(
        summary="A version's activity log",
        description="Newest first.",
        responses=answers(s.VersionEventSerializer(many=True), 403, 404),
    )
    def list(self, request: Request, slug: str, number: str) -> Response:
        return Response(self.get_serializer(self.get_queryset(), many=True).data)
