"""The Django admin for teams, traits, profiles and versions.

Versions are written only through profiles.services, as everywhere else: a
draft's settings and criteria saved here take the next revision and land in
the activity log under the admin's name, and the same rules (policies, value
checks, stale revisions) refuse what the pages and the API refuse. Approved,
superseded and withdrawn versions are read-only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet, construct_instance
from django.http import HttpRequest, HttpResponse, QueryDict
from django.utils.html import format_html_join

from profiles import services
from profiles.attributes import CATEGORIES
from profiles.forms import StoredTextFormMixin
from profiles.models import (
    Comment,
    Criterion,
    Membership,
    Profile,
    ProfileVersion,
    SignOff,
    Team,
    Trait,
    User,
    VersionEvent,
)
from profiles.selectors import (
    attribute_registry,
    criterion_text,
    signoff_states,
    version_approval_problems,
)

CRITERION_FIELDS = ("attribute", "operator", "value", "points", "kind", "category", "rationale")
VERSION_FIELDS = ("rationale", "threshold_a", "threshold_b")

# What the services refused in a save, kept on the request so that the change
# form can be shown again with the errors on the fields they name.
_REFUSAL_ATTR = "_profiles_admin_refusal"


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 1
    autocomplete_fields = ["user"]


class UserMembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["team"]
    verbose_name = "team membership"


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    inlines = [UserMembershipInline]
    list_display = ["username", "email", "first_name", "last_name", "is_staff", "is_active"]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "function", "slug"]
    list_filter = ["function"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]


@admin.register(Trait)
class TraitAdmin(admin.ModelAdmin):
    """Custom account attributes. The key is fixed once made, because criteria
    and every account's traits refer to it."""

    list_display = ["label", "key", "type", "category"]
    list_filter = ["type", "category"]
    search_fields = ["label", "key"]

    def get_readonly_fields(self, request: HttpRequest, obj: Trait | None = None) -> list[str]:
        return ["key"] if obj is not None else []


# --- Profiles ---------------------------------------------------------------


class ProfileVersionInline(admin.TabularInline):
    """A profile's versions, newest first, each a link to its own page."""

    model = ProfileVersion
    fields = ["number", "status", "revision", "created_by", "created_at", "approved_at"]
    readonly_fields = ["number", "status", "revision", "created_by", "created_at", "approved_at"]
    ordering = ["-number"]
    show_change_link = True
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[ProfileVersion]:
        return super().get_queryset(request).select_related("created_by")


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin):
    list_display = ["name", "required_team_names", "checkin_cadence", "created_at"]
    list_filter = ["checkin_cadence"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    fields = [
        "name",
        "slug",
        "description",
        "required_teams",
        "approving_teams",
        "admins",
        "checkin_cadence",
        "created_by",
        "created_at",
    ]
    readonly_fields = ["created_by", "created_at"]
    filter_horizontal = ["required_teams", "approving_teams"]
    autocomplete_fields = ["admins"]
    inlines = [ProfileVersionInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Profile]:
        return super().get_queryset(request).prefetch_related("required_teams")

    @admin.display(description="required teams")
    def required_team_names(self, profile: Profile) -> str:
        return ", ".join(team.name for team in profile.required_teams.all())

    def save_model(self, request: HttpRequest, obj: Profile, form: Any, change: bool) -> None:
        if not change:
            obj.created_by = _actor(request)
        super().save_model(request, obj, form, change)


# --- Versions ---------------------------------------------------------------


class _RefusedError(Exception):
    """The services refused part of an admin save; everything is rolled back
    and the form is shown again with these errors.

    `errors` is {form prefix ("" for the version form): {field or None: messages}}.
    After a stale revision, `current_revision` lets the form be saved again
    once the admin has looked at what changed.
    """

    def __init__(
        self, errors: dict[str, dict[str | None, list[str]]], current_revision: int | None
    ) -> None:
        super().__init__("The services refused the change.")
        self.errors = errors
        self.current_revision = current_revision


def _refusal_of(request: HttpRequest) -> _RefusedError | None:
    refusal = getattr(request, _REFUSAL_ATTR, None)
    return refusal if isinstance(refusal, _RefusedError) else None


def _actor(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _error_map(
    exc: ValidationError | PermissionDenied, fields: tuple[str, ...]
) -> dict[str | None, list[str]]:
    """A service error as {field or None: messages}; fields the form lacks become non-field."""
    if isinstance(exc, PermissionDenied):
        return {None: [str(exc)]}
    if not hasattr(exc, "error_dict"):
        return {None: list(exc.messages)}
    errors: dict[str | None, list[str]] = {}
    for name, messages_ in exc.message_dict.items():
        key = name if name in fields else None
        errors.setdefault(key, []).extend(messages_)
    return errors


def _add_refused(form: forms.BaseForm, errors: dict[str | None, list[str]]) -> None:
    for name, messages_ in errors.items():
        form.add_error(name if name in form.fields else None, messages_)


@dataclass
class _DraftEdit:
    """One admin save of an open version: the version as stored, the revision
    the next write is based on, and what the services refused so far."""

    version: ProfileVersion
    revision: int
    errors: dict[str, dict[str | None, list[str]]] = field(default_factory=dict)
    halted: bool = False
    current_revision: int | None = None

    def refuse(
        self, prefix: str, exc: ValidationError | PermissionDenied, fields: tuple[str, ...]
    ) -> None:
        bucket = self.errors.setdefault(prefix, {})
        for name, messages_ in _error_map(exc, fields).items():
            bucket.setdefault(name, []).extend(messages_)
        if isinstance(exc, PermissionDenied | services.StaleRevisionError):
            self.halted = True
        if isinstance(exc, services.StaleRevisionError):
            self.current_revision = exc.current_revision

    def wrote(self) -> None:
        self.revision = self.version.revision


class ProfileVersionAdminForm(StoredTextFormMixin, forms.ModelForm):
    loaded_revision = forms.IntegerField(
        widget=forms.HiddenInput,
        help_text="The revision this form was loaded at; a save based on an older one is refused.",
    )
    refused: dict[str | None, list[str]] = {}
    rebase_to: int | None = None
    edit: _DraftEdit | None = None

    class Meta:
        model = ProfileVersion
        fields = list(VERSION_FIELDS)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            self.fields["loaded_revision"].initial = self.instance.revision
        if self.rebase_to is not None and isinstance(self.data, QueryDict):
            data = self.data.copy()
            data[self.add_prefix("loaded_revision")] = str(self.rebase_to)
            self.data = data

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        _add_refused(self, self.refused)
        return cleaned

    def _post_clean(self) -> None:
        """Fill the instance but leave the rules to profiles.services, which
        run on save and name the field they refuse."""
        self.instance = construct_instance(self, self.instance, self._meta.fields)


class CriterionAdminForm(StoredTextFormMixin, forms.ModelForm):
    attribute = forms.ChoiceField(choices=())
    points = forms.IntegerField(min_value=0, max_value=100, initial=0)
    category = forms.ChoiceField(
        choices=[("", "(from the attribute)")] + [(c, c.title()) for c in CATEGORIES],
        required=False,
    )
    attribute_choices: list[tuple[str, str]] = []
    refused: dict[str, dict[str | None, list[str]]] = {}

    class Meta:
        model = Criterion
        fields = list(CRITERION_FIELDS)
        widgets = {"value": forms.TextInput(attrs={"size": 30})}
        help_texts = {
            "value": 'JSON, e.g. [200, 2000] or ["SaaS", "Software"]; null or empty for true/false.'
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        attribute = self.fields["attribute"]
        assert isinstance(attribute, forms.ChoiceField)
        choices = list(self.attribute_choices)
        current = self.instance.attribute
        if current and current not in dict(choices):
            choices.append((current, f"{current} (unknown attribute)"))
        attribute.choices = choices

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        _add_refused(self, self.refused.get(self.prefix or "", {}))
        return cleaned

    def _post_clean(self) -> None:
        """Fill the instance but leave the rules to profiles.services."""
        self.instance = construct_instance(self, self.instance, self._meta.fields)


class CriterionFormSet(BaseInlineFormSet):
    refused: dict[str | None, list[str]] = {}

    def clean(self) -> None:
        super().clean()
        if self.refused:
            raise ValidationError([m for messages_ in self.refused.values() for m in messages_])


class _FrozenAwareInline(admin.TabularInline):
    """Editable only while the version is open (and then only if `editable`)."""

    editable = False
    extra = 0

    def _open(self, obj: ProfileVersion | None) -> bool:
        return self.editable and obj is not None and obj.is_open

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._open(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._open(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._open(obj) and super().has_delete_permission(request, obj)


class CriterionInline(_FrozenAwareInline):
    """A draft's criteria; saved through criterion_add/update/remove."""

    model = Criterion
    form = CriterionAdminForm
    formset = CriterionFormSet
    fields = list(CRITERION_FIELDS)
    ordering = ["position", "id"]
    editable = True

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        formset = super().get_formset(request, obj, **kwargs)
        registry = attribute_registry()
        refusal = _refusal_of(request)
        refused = refusal.errors if refusal is not None else {}
        formset.form = type(
            "CriterionAdminForm",
            (formset.form,),
            {
                "attribute_choices": [(key, a.label) for key, a in registry.items()],
                "refused": {k: v for k, v in refused.items() if k.startswith("criteria-")},
            },
        )
        return type("CriterionFormSet", (formset,), {"refused": refused.get("criteria", {})})


class SignOffInline(_FrozenAwareInline):
    """A sign-off is a team's own word on a revision; only the team gives it."""

    model = SignOff
    fields = ["team", "decision", "user", "note", "revision", "freshness", "created_at"]
    readonly_fields = ["team", "decision", "user", "note", "revision", "freshness", "created_at"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[SignOff]:
        return super().get_queryset(request).select_related("team", "user", "version")

    @admin.display(description="fresh?")
    def freshness(self, signoff: SignOff) -> str:
        if signoff.revision == signoff.version.revision:
            return "Current revision"
        return f"Stale: the version is at revision {signoff.version.revision}"


class CommentInline(_FrozenAwareInline):
    """Comments are written as a team, by its members, on the version page."""

    model = Comment
    fk_name = "version"
    fields = ["created_at", "team", "author", "criterion_label", "parent", "body", "resolved"]
    readonly_fields = [
        "created_at",
        "team",
        "author",
        "criterion_label",
        "parent",
        "body",
        "resolved",
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Comment]:
        return super().get_queryset(request).select_related("team", "author", "parent")


class VersionEventInline(_FrozenAwareInline):
    """The activity log, newest first; written only by the services."""

    model = VersionEvent
    verbose_name = "activity"
    verbose_name_plural = "activity log"
    fields = ["created_at", "actor", "team", "verb", "summary", "revision"]
    readonly_fields = ["created_at", "actor", "team", "verb", "summary", "revision"]
    ordering = ["-created_at", "-id"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[VersionEvent]:
        return super().get_queryset(request).select_related("actor", "team")


@admin.register(ProfileVersion)
class ProfileVersionAdmin(admin.ModelAdmin):
    """Versions start through the "Start a new draft" action, never the raw
    add form; an open version's settings and criteria are saved through the
    services; approved, superseded and withdrawn versions are read-only."""

    form = ProfileVersionAdminForm
    list_display = ["__str__", "status", "revision", "created_by", "created_at", "approved_at"]
    list_filter = ["status", "profile"]
    list_select_related = ["profile", "created_by"]
    search_fields = ["profile__name", "rationale"]
    actions = ["start_draft_from", "approve"]
    inlines = [CriterionInline, SignOffInline, CommentInline, VersionEventInline]
    readonly_fields = [
        "profile",
        "number",
        "status",
        "parent",
        "revision",
        "approval_problems",
        "signoff_summary",
        "created_by",
        "created_at",
        "submitted_by",
        "submitted_at",
        "approved_by",
        "approved_at",
        "superseded_at",
        "withdrawn_by",
        "withdrawn_at",
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[ProfileVersion]:
        return super().get_queryset(request).select_related("profile")

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        editing = ["rationale", "threshold_a", "threshold_b"]
        if obj is not None and obj.is_open and self.has_change_permission(request, obj):
            editing.append("loaded_revision")
        return [
            (None, {"fields": ["profile", "number", "status", "parent", "revision", *editing]}),
            ("Review", {"fields": ["approval_problems", "signoff_summary"]}),
            (
                "History",
                {
                    "fields": [
                        ("created_by", "created_at"),
                        ("submitted_by", "submitted_at"),
                        ("approved_by", "approved_at"),
                        "superseded_at",
                        ("withdrawn_by", "withdrawn_at"),
                    ]
                },
            ),
        ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and obj.is_frozen:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Versions are never deleted here: an open one is withdrawn, and a
        frozen one is part of the record."""
        return False

    @admin.display(description="what stands between it and approval")
    def approval_problems(self, version: ProfileVersion) -> str:
        if not version.is_open:
            return "-"
        problems = version_approval_problems(version=version)
        if not problems:
            return "Nothing: an approver may approve it."
        return format_html_join("", "<p>{}</p>", ((p,) for p in problems))

    @admin.display(description="sign-off")
    def signoff_summary(self, version: ProfileVersion) -> str:
        return format_html_join(
            "",
            "<p>{}: {}</p>",
            ((s.team.name, s.label) for s in signoff_states(version=version)),
        )

    # -- Saving an open version through the services --------------------------

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kw: Any
    ) -> Any:
        form = super().get_form(request, obj, change, **kw)
        refusal = _refusal_of(request)
        if refusal is None:
            return form
        return type(
            form.__name__,
            (form,),
            {"refused": refusal.errors.get("", {}), "rebase_to": refusal.current_revision},
        )

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        """Save in one transaction; if the services refuse any part, roll it
        all back and show the form again with their errors on the fields."""
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except _RefusedError as refusal:
            setattr(request, _REFUSAL_ATTR, refusal)
            return super().changeform_view(request, object_id, form_url, extra_context)

    def save_model(
        self, request: HttpRequest, obj: ProfileVersion, form: Any, change: bool
    ) -> None:
        """Apply rationale and thresholds through version_update; never a raw save."""
        version = ProfileVersion.objects.select_related("profile").get(pk=obj.pk)
        edit = _DraftEdit(version=version, revision=form.cleaned_data["loaded_revision"])
        form.edit = edit
        if not any(name in form.changed_data for name in VERSION_FIELDS):
            return
        try:
            services.version_update(
                actor=_actor(request),
                version=version,
                revision=edit.revision,
                **{name: form.cleaned_data[name] for name in VERSION_FIELDS},
            )
            edit.wrote()
        except (ValidationError, PermissionDenied) as exc:
            edit.refuse("", exc, VERSION_FIELDS)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        """Apply each criterion row through criterion_add/update/remove, each
        on the revision the previous write left; refusals are collected per row."""
        if formset.model is not Criterion:
            formset.save()
            return
        edit: _DraftEdit = form.edit
        actor = _actor(request)
        stored = Criterion.objects.in_bulk(
            [row.instance.pk for row in formset.forms if row.instance.pk is not None]
        )
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for row in formset.forms:
            if edit.halted:
                break
            deleted = formset.can_delete and formset._should_delete_form(row)
            original = stored.get(row.instance.pk) if row.instance.pk is not None else None
            if original is not None:
                original.version = edit.version
            fields = {name: row.cleaned_data.get(name) for name in CRITERION_FIELDS}
            fields["rationale"] = fields["rationale"] or ""
            try:
                if deleted and original is not None:
                    services.criterion_remove(
                        actor=actor, criterion=original, revision=edit.revision
                    )
                    formset.deleted_objects.append(original)
                elif deleted or not row.has_changed():
                    continue
                elif original is not None:
                    saved = services.criterion_update(
                        actor=actor, criterion=original, revision=edit.revision, **fields
                    )
                    formset.changed_objects.append((saved, row.changed_data))
                else:
                    saved = services.criterion_add(
                        actor=actor, version=edit.version, revision=edit.revision, **fields
                    )
                    formset.new_objects.append(saved)
                edit.wrote()
            except (ValidationError, PermissionDenied) as exc:
                if isinstance(exc, services.StaleRevisionError | PermissionDenied):
                    edit.refuse("", exc, ())
                elif deleted and original is not None:
                    reason = ValidationError(
                        f"Could not remove {criterion_text(original)}: {exc.messages[0]}"
                    )
                    edit.refuse("criteria", reason, ())
                else:
                    edit.refuse(row.prefix, exc, CRITERION_FIELDS)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        if form.edit.errors:
            raise _RefusedError(form.edit.errors, form.edit.current_revision)

    # -- Actions ---------------------------------------------------------------

    @admin.action(description="Start a new draft from this version")
    def start_draft_from(self, request: HttpRequest, queryset: QuerySet[ProfileVersion]) -> None:
        for version in queryset.select_related("profile").order_by("profile__name", "number"):
            try:
                draft = services.version_start_draft(
                    actor=_actor(request),
                    profile=version.profile,
                    source=version,
                )
            except (ValidationError, PermissionDenied) as exc:
                for message in _messages_of(exc):
                    self.message_user(request, f"{version}: {message}", messages.ERROR)
                continue
            self.message_user(
                request,
                f"Started {draft} as a draft copied from v{version.number}.",
                messages.SUCCESS,
            )

    @admin.action(description="Approve")
    def approve(self, request: HttpRequest, queryset: QuerySet[ProfileVersion]) -> None:
        for version in queryset.select_related("profile").order_by("profile__name", "number"):
            try:
                services.version_approve(actor=_actor(request), version=version)
            except (ValidationError, PermissionDenied) as exc:
                for message in _messages_of(exc):
                    self.message_user(request, f"{version}: {message}", messages.ERROR)
                continue
            self.message_user(request, f"Approved {version}; it is now live.", messages.SUCCESS)


def _messages_of(exc: ValidationError | PermissionDenied) -> list[str]:
    if isinstance(exc, PermissionDenied):
        return [str(exc)]
    return list(exc.messages)
