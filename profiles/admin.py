"""The Django admin for teams, profiles and versions (traits are scoring's:
their rules read the accounts).

Versions are written only through profiles.services, as everywhere else: a
draft's settings and criteria saved here take the next revision and land in
the activity log under the admin's name, and the same rules (policies, value
checks, stale revisions) refuse what the pages and the API refuse. Approved,
superseded and withdrawn versions are read-only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import (
    AdminIntegerFieldWidget,
    AdminTextareaWidget,
    AdminTextInputWidget,
)
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest, HttpResponse, QueryDict
from django.utils.html import format_html_join

from profiles import services
from profiles.attributes import CATEGORIES, MAX_RATIONALE_LENGTH, OPERATOR_LABELS, Operator
from profiles.forms import StoredTextFormMixin
from profiles.models import (
    Comment,
    Criterion,
    CriterionKind,
    Membership,
    Profile,
    ProfileVersion,
    SignOff,
    Team,
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

# The DraftRefusal of a refused save, kept on the request while the change
# form is shown again.
_REFUSAL_ATTR = "_profiles_admin_refusal"


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 1
    autocomplete_fields = ("user",)


class UserMembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ("team",)
    verbose_name = "team membership"


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    inlines = (UserMembershipInline,)
    list_display = ("username", "email", "first_name", "last_name", "is_staff", "is_active")


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("name", "function", "slug")
    list_filter = ("function",)
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}  # noqa: RUF012 (the admin checks for a dict)
    inlines = (MembershipInline,)


# --- Profiles ---------------------------------------------------------------


class ProfileVersionInline(admin.TabularInline):
    """A profile's versions, newest first, each a link to its own page."""

    model = ProfileVersion
    fields = ("number", "status", "revision", "created_by", "created_at", "approved_at")
    readonly_fields = ("number", "status", "revision", "created_by", "created_at", "approved_at")
    ordering = ("-number",)
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
    list_display = ("name", "required_team_names", "checkin_cadence", "created_at")
    list_filter = ("checkin_cadence",)
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}  # noqa: RUF012 (the admin checks for a dict)
    fields = (
        "name",
        "slug",
        "description",
        "required_teams",
        "approving_teams",
        "admins",
        "checkin_cadence",
        "created_by",
        "created_at",
    )
    readonly_fields = ("created_by", "created_at")
    filter_horizontal = ("required_teams", "approving_teams")
    autocomplete_fields = ("admins",)
    inlines = (ProfileVersionInline,)

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
#
# An admin save of an open version is one edit, written through the same
# services as the drafting pages: the settings through version_update, each
# criterion row through criterion_remove, criterion_update or criterion_add.
# The forms only read input; they neither fill nor validate the model
# instances (their fields are their own, and Meta.exclude keeps the model's
# fields out). If the services refuse any part of a save, all of it is rolled
# back and the change form is shown again with their errors on the fields and
# rows they name (see ProfileVersionAdmin.changeform_view).


@dataclass
class DraftRefusal:
    """What the services refused in one admin save of an open version; none
    of that save is stored.

    `version_errors` go on the version form and `row_errors` on the
    criterion rows by row prefix, each as {field or None: messages}. After a
    stale revision, `current_revision` is the version's revision now, so the
    input shown again can be saved over it.
    """

    version_errors: dict[str | None, list[str]] = field(default_factory=dict)
    row_errors: dict[str, dict[str | None, list[str]]] = field(default_factory=dict)
    current_revision: int | None = None

    @property
    def refused(self) -> bool:
        return bool(self.version_errors or self.row_errors)

    def all_messages(self) -> list[str]:
        found = [m for messages_ in self.version_errors.values() for m in messages_]
        for errors in self.row_errors.values():
            found.extend(m for messages_ in errors.values() for m in messages_)
        return found


class _RefusedError(Exception):
    """Raised out of an admin save so that its transaction rolls back."""

    def __init__(self, refusal: DraftRefusal) -> None:
        super().__init__("The services refused the change.")
        self.refusal = refusal


def _refusal_of(request: HttpRequest) -> DraftRefusal | None:
    refusal = getattr(request, _REFUSAL_ATTR, None)
    return refusal if isinstance(refusal, DraftRefusal) else None


def _actor(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _error_map(exc: ValidationError, fields: Sequence[str]) -> dict[str | None, list[str]]:
    """A service's ValidationError as {field or None: messages}; fields the
    form lacks become errors of the form as a whole."""
    if not hasattr(exc, "error_dict"):
        return {None: list(exc.messages)}
    errors: dict[str | None, list[str]] = {}
    for name, messages_ in exc.message_dict.items():
        errors.setdefault(name if name in fields else None, []).extend(messages_)
    return errors


def _add_errors(form: forms.BaseForm, errors: dict[str | None, list[str]]) -> None:
    for name, messages_ in errors.items():
        form.add_error(name if name in form.fields else None, messages_)


CATEGORY_CHOICES = (("", "(from the attribute)"), *((c, c.title()) for c in CATEGORIES))
OPERATOR_CHOICES = tuple((o.value, OPERATOR_LABELS[o]) for o in Operator)


class ProfileVersionAdminForm(StoredTextFormMixin, forms.ModelForm):
    """An open version's rationale and tier thresholds, and the revision they
    were loaded at. version_update checks and stores them."""

    rationale = forms.CharField(
        required=False,
        widget=AdminTextareaWidget,
        help_text="Why this version: what changed and why.",
    )
    threshold_a = forms.IntegerField(label="Threshold a", widget=AdminIntegerFieldWidget)
    threshold_b = forms.IntegerField(label="Threshold b", widget=AdminIntegerFieldWidget)
    loaded_revision = forms.IntegerField(
        widget=forms.HiddenInput,
        help_text="The revision this form was loaded at; a save based on an older one is refused.",
    )

    class Meta:
        model = ProfileVersion
        fields = ()
        # The model's fields of these names are left out, so that the form
        # neither fills nor validates the instance with them.
        exclude = VERSION_FIELDS  # noqa: DJ006

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            for name in VERSION_FIELDS:
                self.initial.setdefault(name, getattr(self.instance, name))
            self.initial.setdefault("loaded_revision", self.instance.revision)

    def settings_changed(self) -> bool:
        return any(name in self.changed_data for name in VERSION_FIELDS)

    def settings(self) -> dict[str, Any]:
        """version_update's arguments besides actor, version and revision."""
        return {name: self.cleaned_data[name] for name in VERSION_FIELDS}

    def show_refusal(self, refusal: DraftRefusal) -> None:
        """Put the refused save's version errors on the form. After a stale
        revision the form takes the current revision, so that the input it
        keeps is saved over the current state once the admin saves again."""
        _add_errors(self, refusal.version_errors)
        if refusal.current_revision is not None:
            data = self.data.copy() if isinstance(self.data, QueryDict) else dict(self.data)
            data[self.add_prefix("loaded_revision")] = str(refusal.current_revision)
            self.data = data


class CriterionValueField(forms.JSONField):
    """A criterion's value as JSON text. A JSON escape can carry a lone
    surrogate, which the services refuse; shown again, it stays an escape,
    since the page could not be encoded with the character itself."""

    def prepare_value(self, value: Any) -> Any:
        text = super().prepare_value(value)
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


class CriterionAdminForm(StoredTextFormMixin, forms.ModelForm):
    """One criterion row of a draft. criterion_add and criterion_update check
    and store it; `attribute_choices` are the attributes a row may name."""

    attribute = forms.ChoiceField(choices=())
    operator = forms.ChoiceField(choices=OPERATOR_CHOICES)
    value = CriterionValueField(
        required=False,
        widget=AdminTextInputWidget(attrs={"size": 30}),
        help_text='JSON, e.g. [200, 2000] or ["SaaS", "Software"]; null or empty for true/false.',
    )
    points = forms.IntegerField(min_value=0, max_value=100, initial=0)
    kind = forms.ChoiceField(choices=CriterionKind.choices, initial=CriterionKind.FIT)
    category = forms.ChoiceField(choices=CATEGORY_CHOICES, required=False)
    rationale = forms.CharField(
        required=False, max_length=MAX_RATIONALE_LENGTH, widget=AdminTextInputWidget
    )

    class Meta:
        model = Criterion
        fields = ()
        exclude = CRITERION_FIELDS  # noqa: DJ006 (as ProfileVersionAdminForm's)

    def __init__(
        self, *args: Any, attribute_choices: Sequence[tuple[str, str]] = (), **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            for name in CRITERION_FIELDS:
                self.initial.setdefault(name, getattr(self.instance, name))
        choices = list(attribute_choices)
        current = self.initial.get("attribute")
        if current and current not in dict(choices):
            choices.append((current, f"{current} (unknown attribute)"))
        attribute = self.fields["attribute"]
        assert isinstance(attribute, forms.ChoiceField)
        attribute.choices = choices

    def criterion(self) -> dict[str, Any]:
        """criterion_add's and criterion_update's arguments for this row,
        besides actor, revision and the version or criterion."""
        data = {name: self.cleaned_data.get(name) for name in CRITERION_FIELDS}
        data["category"] = data["category"] or None
        data["rationale"] = data["rationale"] or ""
        return data


class CriterionFormSet(BaseInlineFormSet):
    """A draft's criterion rows.

    `refusal`, when given, is the refused save this formset shows again: its
    row errors go on the rows, and the formset is not valid, so the admin
    stores nothing and shows the form again.
    """

    def __init__(self, *args: Any, refusal: DraftRefusal | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.refusal = refusal
        self.attribute_choices = [(key, a.label) for key, a in attribute_registry().items()]

    def get_form_kwargs(self, index: int | None) -> dict[str, Any]:
        return {**super().get_form_kwargs(index), "attribute_choices": self.attribute_choices}

    def clean(self) -> None:
        super().clean()
        if self.refusal is None:
            return
        for row in self.forms:
            _add_errors(row, self.refusal.row_errors.get(row.prefix or "", {}))

    def is_valid(self) -> bool:
        return super().is_valid() and self.refusal is None


class _DraftSave:
    """One admin save of an open version, written through profiles.services.

    The settings go first, then each criterion row in order; each write is
    based on the revision the previous one left. What the services refuse is
    collected in `refusal`. A stale revision or a denied permission ends the
    save, since every later write would be refused the same way; a refused
    value does not, so that every row's problem is shown at once.
    """

    def __init__(self, *, actor: User, version: ProfileVersion, revision: int) -> None:
        self.actor = actor
        self.version = version
        self.revision = revision
        self.refusal = DraftRefusal()
        self.halted = False

    def save_settings(self, form: ProfileVersionAdminForm) -> None:
        if not form.settings_changed():
            return
        try:
            services.version_update(
                actor=self.actor, version=self.version, revision=self.revision, **form.settings()
            )
        except (services.StaleRevisionError, PermissionDenied) as exc:
            self._halt(exc)
        except ValidationError as exc:
            for name, messages_ in _error_map(exc, VERSION_FIELDS).items():
                self.refusal.version_errors.setdefault(name, []).extend(messages_)
        else:
            self.revision = self.version.revision

    def save_criteria(self, formset: CriterionFormSet) -> None:
        """Remove, change or add each row that asks for it, and record what
        was saved where the admin's change message looks for it."""
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        removed = formset.deleted_forms
        for row in formset.forms:
            if self.halted:
                return
            criterion: Criterion | None = row.instance if row.instance.pk is not None else None
            if row in removed:
                if criterion is not None:
                    self._remove(formset, row, criterion)
            elif row.has_changed():
                self._save_row(formset, row, criterion)

    def _remove(
        self, formset: CriterionFormSet, row: CriterionAdminForm, criterion: Criterion
    ) -> None:
        text = criterion_text(criterion)
        try:
            services.criterion_remove(actor=self.actor, criterion=criterion, revision=self.revision)
        except (services.StaleRevisionError, PermissionDenied) as exc:
            self._halt(exc)
        except ValidationError as exc:
            reason = f"Could not remove {text}: {' '.join(exc.messages)}"
            self.refusal.row_errors[row.prefix or ""] = {None: [reason]}
        else:
            formset.deleted_objects.append(criterion)
            self.revision = self.version.revision

    def _save_row(
        self, formset: CriterionFormSet, row: CriterionAdminForm, criterion: Criterion | None
    ) -> None:
        try:
            if criterion is None:
                saved = services.criterion_add(
                    actor=self.actor,
                    version=self.version,
                    revision=self.revision,
                    **row.criterion(),
                )
                formset.new_objects.append(saved)
            else:
                saved = services.criterion_update(
                    actor=self.actor, criterion=criterion, revision=self.revision, **row.criterion()
                )
                formset.changed_objects.append((saved, row.changed_data))
        except (services.StaleRevisionError, PermissionDenied) as exc:
            self._halt(exc)
        except ValidationError as exc:
            self.refusal.row_errors[row.prefix or ""] = _error_map(exc, CRITERION_FIELDS)
        else:
            self.revision = self.version.revision

    def _halt(self, exc: services.StaleRevisionError | PermissionDenied) -> None:
        """End the save, with the reason on the version form as a whole."""
        if isinstance(exc, PermissionDenied):
            self.refusal.version_errors.setdefault(None, []).append(str(exc))
        else:
            self.refusal.version_errors.setdefault(None, []).extend(exc.messages)
            self.refusal.current_revision = exc.current_revision
        self.halted = True


class _FrozenAwareInline(admin.TabularInline):
    """Editable only while the version is open (and then only if `editable`)."""

    editable: ClassVar[bool] = False
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
    fields = CRITERION_FIELDS
    ordering = ("position", "id")
    editable = True


class SignOffInline(_FrozenAwareInline):
    """A sign-off is a team's own word on a revision; only the team gives it."""

    model = SignOff
    fields = ("team", "decision", "user", "note", "revision", "freshness", "created_at")
    readonly_fields = ("team", "decision", "user", "note", "revision", "freshness", "created_at")

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
    fields = ("created_at", "team", "author", "criterion_label", "parent", "body", "resolved")
    readonly_fields = (
        "created_at",
        "team",
        "author",
        "criterion_label",
        "parent",
        "body",
        "resolved",
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Comment]:
        return super().get_queryset(request).select_related("team", "author", "parent")


class VersionEventInline(_FrozenAwareInline):
    """The activity log, newest first; written only by the services."""

    model = VersionEvent
    verbose_name = "activity"
    verbose_name_plural = "activity log"
    fields = ("created_at", "actor", "team", "verb", "summary", "revision")
    readonly_fields = ("created_at", "actor", "team", "verb", "summary", "revision")
    ordering = ("-created_at", "-id")

    def get_queryset(self, request: HttpRequest) -> QuerySet[VersionEvent]:
        return super().get_queryset(request).select_related("actor", "team")


@admin.register(ProfileVersion)
class ProfileVersionAdmin(admin.ModelAdmin):
    """Versions start through the "Start a new draft" action, never the raw
    add form; an open version's settings and criteria are saved through the
    services; approved, superseded and withdrawn versions are read-only."""

    form = ProfileVersionAdminForm
    list_display = ("__str__", "status", "revision", "created_by", "created_at", "approved_at")
    list_filter = ("status", "profile")
    list_select_related = ("profile", "created_by")
    search_fields = ("profile__name", "rationale")
    actions = ("start_draft_from", "approve")
    inlines = (CriterionInline, SignOffInline, CommentInline, VersionEventInline)
    readonly_fields = (
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
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[ProfileVersion]:
        return super().get_queryset(request).select_related("profile")

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        editing = list(VERSION_FIELDS)
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

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        """Save in one transaction; if the services refuse any part, roll it
        all back and show the form again, bound to what was posted, with
        their errors on the fields and rows they name."""
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except _RefusedError as refused:
            setattr(request, _REFUSAL_ATTR, refused.refusal)
            return super().changeform_view(request, object_id, form_url, extra_context)

    def get_formset_kwargs(
        self, request: HttpRequest, obj: Any, inline: Any, prefix: str
    ) -> dict[str, Any]:
        kwargs = super().get_formset_kwargs(request, obj, inline, prefix)
        if isinstance(inline, CriterionInline):
            kwargs["refusal"] = _refusal_of(request)
        return kwargs

    def save_form(self, request: HttpRequest, form: Any, change: bool) -> Any:
        """The instance as loaded (the form never changes it); when a refused
        save is shown again, its version errors go on the form here."""
        obj = super().save_form(request, form, change)
        refusal = _refusal_of(request)
        if refusal is not None:
            form.show_refusal(refusal)
        return obj

    def save_model(
        self, request: HttpRequest, obj: ProfileVersion, form: Any, change: bool
    ) -> None:
        """Nothing is written here: save_related writes the settings and the
        criteria together, so a save is stored whole or not at all."""

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        """Write the save through the services (see _DraftSave); if they
        refuse any part, raise so that changeform_view rolls it all back.

        Sign-offs, comments and the activity log are read-only here, so
        nothing of their formsets is written."""
        shown = _refusal_of(request)
        if shown is not None:
            # Only the criteria formset keeps a refused save from being
            # written again; without it (no permission to see criteria) the
            # save is refused outright.
            raise PermissionDenied(" ".join(shown.all_messages()))
        draft = _DraftSave(
            actor=_actor(request),
            version=form.instance,
            revision=form.cleaned_data["loaded_revision"],
        )
        draft.save_settings(form)
        for formset in formsets:
            if isinstance(formset, CriterionFormSet):
                draft.save_criteria(formset)
            else:
                formset.save(commit=False)
        if draft.refusal.refused:
            raise _RefusedError(draft.refusal)

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
