"""Serializers of the profiles API.

Input serializers check the shape of a request (types, choices, that a
named team or user exists); the services decide what is allowed and what
is valid across rows. Output serializers only read.
"""

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from icpsite.api.fields import StrictCharField, StrictSlugRelatedField
from profiles.attributes import (
    CATEGORIES,
    MAX_ATTRIBUTE_KEY_LENGTH,
    MAX_COMMENT_LENGTH,
    MAX_PROFILE_NAME_LENGTH,
    MAX_RATIONALE_LENGTH,
    OPERATOR_LABELS,
    Attribute,
    Operator,
)
from profiles.diff import CriterionChange, VersionDiff
from profiles.models import (
    Comment,
    Criterion,
    CriterionKind,
    Profile,
    ProfileVersion,
    SignOff,
    SignOffDecision,
    Team,
    User,
    VersionEvent,
)
from profiles.selectors import (
    attribute_registry,
    criterion_list,
    criterion_text,
    signoff_states,
    version_approval_problems,
)

# --- References -------------------------------------------------------------


class UserRefSerializer(serializers.ModelSerializer[User]):
    name = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ("id", "username", "name")

    def get_name(self, user: User) -> str:
        return user.get_full_name() or user.username


class TeamRefSerializer(serializers.ModelSerializer[Team]):
    class Meta:
        model = Team
        fields = ("slug", "name", "function")


def _registry(context: dict[str, Any]) -> dict[str, Attribute]:
    """The attribute registry, read once per response and shared by nested serializers."""
    if "registry" not in context:
        context["registry"] = attribute_registry()
    registry: dict[str, Attribute] = context["registry"]
    return registry


# --- Profiles ---------------------------------------------------------------


class ProfileSerializer(serializers.ModelSerializer[Profile]):
    required_teams = TeamRefSerializer(many=True, read_only=True)
    live_version = serializers.SerializerMethodField(
        help_text="Number of the approved version, if any."
    )
    open_version = serializers.SerializerMethodField(
        help_text="Number of the draft or in-review version, if any."
    )
    version_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Profile
        fields: tuple[str, ...] = (
            "id",
            "slug",
            "name",
            "description",
            "checkin_cadence",
            "required_teams",
            "live_version",
            "open_version",
            "version_count",
            "created_at",
        )

    def get_live_version(self, profile: Profile) -> int | None:
        versions: list[ProfileVersion] = getattr(profile, "live_versions", [])
        return versions[0].number if versions else None

    def get_open_version(self, profile: Profile) -> int | None:
        versions: list[ProfileVersion] = getattr(profile, "open_versions", [])
        return versions[0].number if versions else None


class ProfileDetailSerializer(ProfileSerializer):
    approving_teams = TeamRefSerializer(many=True, read_only=True)
    admins = UserRefSerializer(many=True, read_only=True)

    class Meta(ProfileSerializer.Meta):
        fields = (*ProfileSerializer.Meta.fields, "approving_teams", "admins")


class ProfileCreateSerializer(serializers.Serializer[Any]):
    name = StrictCharField(max_length=MAX_PROFILE_NAME_LENGTH)
    description = StrictCharField(allow_blank=True, default="")
    required_teams = StrictSlugRelatedField(
        many=True,
        slug_field="slug",
        queryset=Team.objects.all(),
        help_text="Slugs of the teams whose fresh sign-off approval needs.",
    )
    approving_teams = StrictSlugRelatedField(
        many=True,
        slug_field="slug",
        queryset=Team.objects.all(),
        required=False,
        help_text="Slugs of the teams whose managers approve; default: the RevOps teams.",
    )
    admins = StrictSlugRelatedField(
        many=True,
        slug_field="username",
        queryset=User.objects.all(),
        required=False,
        help_text="Usernames of the profile's admins; default: the person creating it.",
    )
    checkin_cadence = serializers.ChoiceField(
        choices=Profile.Cadence.choices, default=Profile.Cadence.QUARTERLY
    )


# --- Criteria ---------------------------------------------------------------


class CriterionSerializer(serializers.ModelSerializer[Criterion]):
    text = serializers.SerializerMethodField(help_text="The criterion in words.")
    version_revision = serializers.IntegerField(
        source="version.revision",
        read_only=True,
        help_text="The version's current revision; send it with the next edit.",
    )

    class Meta:
        model = Criterion
        fields: tuple[str, ...] = (
            "id",
            "lineage",
            "attribute",
            "operator",
            "value",
            "points",
            "kind",
            "category",
            "rationale",
            "position",
            "text",
            "version_revision",
            "created_at",
            "updated_at",
        )
        read_only_fields = fields

    def get_text(self, criterion: Criterion) -> str:
        return criterion_text(criterion, _registry(self.context))


class CriterionPlainSerializer(CriterionSerializer):
    """A criterion without its version's revision, as the diff shows it."""

    class Meta(CriterionSerializer.Meta):
        fields = tuple(f for f in CriterionSerializer.Meta.fields if f != "version_revision")
        read_only_fields = fields


class CriterionInputSerializer(serializers.Serializer[Any]):
    revision = serializers.IntegerField(
        min_value=1, help_text="The version revision this edit is based on."
    )
    attribute = StrictCharField(max_length=MAX_ATTRIBUTE_KEY_LENGTH)
    operator = serializers.ChoiceField(choices=[(o.value, OPERATOR_LABELS[o]) for o in Operator])
    value = serializers.JSONField(
        default=None,
        allow_null=True,
        help_text="[low, high] for between; a number for gte/lte/eq on numbers; a string "
        "for eq on categories; a list of strings for in/not_in/contains_*; null for "
        "is_true/is_false.",
    )
    points = serializers.IntegerField(min_value=0, max_value=100, default=0)
    kind = serializers.ChoiceField(choices=CriterionKind.choices, default=CriterionKind.FIT)
    category = serializers.ChoiceField(
        choices=[(c, c.title()) for c in CATEGORIES],
        required=False,
        allow_null=True,
        help_text="Default: the attribute's own category.",
    )
    rationale = StrictCharField(max_length=MAX_RATIONALE_LENGTH, allow_blank=True, default="")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # A partial change (PATCH) leaves every field optional but this one:
        # an edit must say which revision it was made on.
        if "revision" not in attrs:
            raise serializers.ValidationError({"revision": ["This field is required."]})
        return attrs


class RevisionSerializer(serializers.Serializer[Any]):
    revision = serializers.IntegerField(
        min_value=1, help_text="The version revision this edit is based on."
    )


# --- Versions ---------------------------------------------------------------


class VersionSerializer(serializers.ModelSerializer[ProfileVersion]):
    # Declared fields leave the class body (DRF's metaclass), so sharing a name
    # with a Field attribute is safe; the stubs cannot see that.
    parent = serializers.SerializerMethodField(  # type: ignore[assignment]
        help_text="Number of the version it was copied from."
    )
    created_by = UserRefSerializer(read_only=True)
    submitted_by = UserRefSerializer(read_only=True, allow_null=True)
    approved_by = UserRefSerializer(read_only=True, allow_null=True)
    withdrawn_by = UserRefSerializer(read_only=True, allow_null=True)

    class Meta:
        model = ProfileVersion
        fields: tuple[str, ...] = (
            "number",
            "status",
            "parent",
            "rationale",
            "threshold_a",
            "threshold_b",
            "revision",
            "created_by",
            "created_at",
            "updated_at",
            "submitted_by",
            "submitted_at",
            "approved_by",
            "approved_at",
            "superseded_at",
            "withdrawn_by",
            "withdrawn_at",
        )
        read_only_fields = fields

    def get_parent(self, version: ProfileVersion) -> int | None:
        return version.parent.number if version.parent else None


class VersionListSerializer(VersionSerializer):
    criteria_count = serializers.IntegerField(read_only=True)

    class Meta(VersionSerializer.Meta):
        fields = (*VersionSerializer.Meta.fields, "criteria_count")
        read_only_fields = fields


class SignOffSerializer(serializers.ModelSerializer[SignOff]):
    team = TeamRefSerializer(read_only=True)
    user = UserRefSerializer(read_only=True)
    is_stale = serializers.SerializerMethodField(
        help_text="True when the version has changed since this decision."
    )

    class Meta:
        model = SignOff
        fields = ("id", "team", "user", "decision", "note", "revision", "is_stale", "created_at")
        read_only_fields = fields

    def get_is_stale(self, signoff: SignOff) -> bool:
        return signoff.revision != signoff.version.revision


class SignOffStateSerializer(serializers.Serializer[Any]):
    team = TeamRefSerializer()
    state = serializers.ChoiceField(
        choices=["missing", "approved", "changes_requested", "stale"],
        help_text="stale: the team signed an earlier revision and must sign again.",
    )
    label = serializers.CharField()  # type: ignore[assignment]
    signoff = SignOffSerializer(allow_null=True)


class VersionDetailSerializer(VersionSerializer):
    criteria = serializers.SerializerMethodField()
    signoff_states = serializers.SerializerMethodField(
        help_text="Each required team's sign-off state on the current revision."
    )
    approval_problems = serializers.SerializerMethodField(
        help_text="What stands between an open version and approval; empty once it may be "
        "approved, and always empty for a closed version."
    )

    class Meta(VersionSerializer.Meta):
        fields = (*VersionSerializer.Meta.fields, "criteria", "signoff_states", "approval_problems")
        read_only_fields = fields

    @extend_schema_field(CriterionSerializer(many=True))
    def get_criteria(self, version: ProfileVersion) -> Any:
        return CriterionSerializer(
            criterion_list(version=version), many=True, context=self.context
        ).data

    @extend_schema_field(SignOffStateSerializer(many=True))
    def get_signoff_states(self, version: ProfileVersion) -> Any:
        return SignOffStateSerializer(
            signoff_states(version=version), many=True, context=self.context
        ).data

    def get_approval_problems(self, version: ProfileVersion) -> list[str]:
        return version_approval_problems(version=version) if version.is_open else []


class VersionStartSerializer(serializers.Serializer[Any]):
    source = serializers.IntegerField(  # type: ignore[assignment]
        min_value=1,
        required=False,
        allow_null=True,
        help_text="Number of the version to copy; default: the approved version.",
    )
    empty = serializers.BooleanField(
        default=False, help_text="Start with no criteria instead of copying a version."
    )
    rationale = StrictCharField(allow_blank=True, default="")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["empty"] and attrs.get("source") is not None:
            raise serializers.ValidationError(
                {"source": "Copy a version or start empty, not both."}
            )
        return attrs


class VersionUpdateSerializer(serializers.Serializer[Any]):
    revision = serializers.IntegerField(
        min_value=1, help_text="The version revision this edit is based on."
    )
    rationale = StrictCharField(allow_blank=True, required=False)
    threshold_a = serializers.IntegerField(required=False, help_text="Score where tier A starts.")
    threshold_b = serializers.IntegerField(required=False, help_text="Score where tier B starts.")


class ApproveSerializer(serializers.Serializer[Any]):
    revision = serializers.IntegerField(
        min_value=1,
        required=False,
        help_text="The version revision you reviewed. When it is no longer the current one, "
        "nothing is approved (409). Without it, the revision current when the request "
        "arrives is approved, and a change that lands while it is being approved wins.",
    )


class WithdrawSerializer(serializers.Serializer[Any]):
    reason = StrictCharField(allow_blank=True, default="")


# --- Review -----------------------------------------------------------------


class SignOffInputSerializer(serializers.Serializer[Any]):
    team = StrictSlugRelatedField(
        slug_field="slug", queryset=Team.objects.all(), help_text="Slug of the team you sign for."
    )
    decision = serializers.ChoiceField(choices=SignOffDecision.choices)
    note = StrictCharField(allow_blank=True, default="")
    revision = serializers.IntegerField(min_value=1, help_text="The version revision you reviewed.")


class RequestChangesSerializer(serializers.Serializer[Any]):
    team = StrictSlugRelatedField(
        slug_field="slug", queryset=Team.objects.all(), help_text="Slug of the team you speak for."
    )
    note = StrictCharField(allow_blank=True, default="", help_text="What should change.")
    revision = serializers.IntegerField(min_value=1, help_text="The version revision you reviewed.")


class CommentSerializer(serializers.ModelSerializer[Comment]):
    team = TeamRefSerializer(read_only=True)
    author = UserRefSerializer(read_only=True)
    resolved_by = UserRefSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Comment
        fields = (
            "id",
            "team",
            "author",
            "criterion",
            "criterion_label",
            "parent",
            "body",
            "resolved",
            "resolved_by",
            "resolved_at",
            "created_at",
        )
        read_only_fields = fields


class CommentInputSerializer(serializers.Serializer[Any]):
    team = StrictSlugRelatedField(
        slug_field="slug", queryset=Team.objects.all(), help_text="Slug of the team you speak for."
    )
    body = StrictCharField(max_length=MAX_COMMENT_LENGTH)
    criterion = serializers.PrimaryKeyRelatedField(
        queryset=Criterion.objects.all(),
        required=False,
        allow_null=True,
        help_text="Id of the criterion the comment is about.",
    )
    parent = serializers.PrimaryKeyRelatedField(  # type: ignore[assignment]
        queryset=Comment.objects.all(),
        required=False,
        allow_null=True,
        help_text="Id of the comment this replies to.",
    )


class VersionEventSerializer(serializers.ModelSerializer[VersionEvent]):
    actor = UserRefSerializer(read_only=True, allow_null=True)
    team = TeamRefSerializer(read_only=True, allow_null=True)
    verb_label = serializers.CharField(source="get_verb_display", read_only=True)

    class Meta:
        model = VersionEvent
        fields = (
            "id",
            "verb",
            "verb_label",
            "summary",
            "actor",
            "team",
            "before",
            "after",
            "revision",
            "created_at",
        )
        read_only_fields = fields


# --- Diff -------------------------------------------------------------------


class DiffQuerySerializer(serializers.Serializer[Any]):
    old = serializers.IntegerField(
        min_value=1,
        required=False,
        help_text="Version number to compare from; default: new's parent.",
    )
    new = serializers.IntegerField(
        min_value=1, required=False, help_text="Version number to compare to; default: the latest."
    )


class CriterionChangeSerializer(serializers.Serializer[CriterionChange]):
    before = CriterionPlainSerializer()
    after = CriterionPlainSerializer()
    changed_fields = serializers.ListField(
        source="fields", child=serializers.CharField(), help_text="Which fields differ."
    )


class ThresholdChangeSerializer(serializers.Serializer[Any]):
    field = serializers.CharField()
    old = serializers.IntegerField()
    new = serializers.IntegerField()


class VersionDiffSerializer(serializers.Serializer[VersionDiff]):
    old = serializers.IntegerField(source="old.number")
    new = serializers.IntegerField(source="new.number")
    added = CriterionPlainSerializer(many=True)
    removed = CriterionPlainSerializer(many=True)
    changed = CriterionChangeSerializer(many=True)
    unchanged = serializers.IntegerField(help_text="How many criteria are the same in both.")
    thresholds = serializers.SerializerMethodField()
    is_empty = serializers.BooleanField()

    @extend_schema_field(ThresholdChangeSerializer(many=True))
    def get_thresholds(self, diff: VersionDiff) -> Any:
        return [
            {"field": name, "old": old, "new": new} for name, (old, new) in diff.thresholds.items()
        ]
