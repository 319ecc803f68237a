from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect

from icpsite.refusals import refusal_text
from profiles.attributes import MAX_LIST_ITEMS, MAX_VALUE_LENGTH, normalise_list
from profiles.forms import StoredTextFormMixin, validate_stored_text
from profiles.models import Trait, User, validate_trait_key
from scoring.api_keys import api_key_create, api_key_revoke
from scoring.ingest.deals import deal_delete
from scoring.models import (
    Account,
    ApiKey,
    Deal,
    ImportMapping,
    ScoringRun,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEvent,
    WebhookSubscription,
)
from scoring.policies import can_manage_webhooks
from scoring.services import accounts_remove, accounts_score
from scoring.traits import (
    TraitConflictError,
    trait_declare,
    trait_delete,
    trait_delete_problem,
    trait_type_problem,
    trait_update,
)
from scoring.webhook_targets import TargetRefusedError, target_check
from scoring.webhooks import (
    webhook_subscription_create,
    webhook_subscription_delete,
    webhook_subscription_rotate_secret,
    webhook_subscription_update,
)


class AccountAdminForm(StoredTextFormMixin, forms.ModelForm):
    class Meta:
        model = Account
        fields = (
            "external_id",
            "name",
            "domain",
            "employees",
            "annual_revenue",
            "industry",
            "country",
            "funding_stage",
            "crm",
            "tech_stack",
            "has_revops",
            "traits",
            "lifecycle_stage",
            "churned_at",
        )

    def clean_tech_stack(self) -> list[str]:
        value = self.cleaned_data.get("tech_stack") or []
        if not isinstance(value, list):
            raise forms.ValidationError('Enter a list of tools, e.g. ["salesforce", "slack"].')
        if len(value) > MAX_LIST_ITEMS:
            raise forms.ValidationError(f"Enter at most {MAX_LIST_ITEMS} tools.")
        for item in value:
            validate_stored_text(item)
        try:
            return normalise_list(value)
        except (TypeError, ValueError):
            raise forms.ValidationError(
                f"Each tool must be text of at most {MAX_VALUE_LENGTH} characters, without '|'."
            ) from None

    def clean_traits(self) -> dict[str, Any]:
        value = self.cleaned_data.get("traits") or {}
        if not isinstance(value, dict):
            raise forms.ValidationError('Enter an object of trait values, e.g. {"seats": 120}.')
        for key, item in value.items():
            for text in [key, *(item if isinstance(item, list) else [item])]:
                validate_stored_text(text)
        # As in an import, null clears a trait: holding the key is holding a value.
        return {key: item for key, item in value.items() if item is not None}


# A deal's fields as the admin shows them.
DEAL_FIELDS = (
    "external_id",
    "name",
    "type",
    "stage",
    "status",
    "amount",
    "currency",
    "opened_at",
    "closed_at",
)


class DealInline(admin.TabularInline):
    """The account's deals, newest first, as the CRM sent them: read only
    (deals come in through the API and the import, which check them)."""

    model = Deal
    extra = 0
    can_delete = False
    show_change_link = True
    fields = DEAL_FIELDS
    readonly_fields = DEAL_FIELDS
    ordering = ("-opened_at", "-id")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    """Accounts, with their deals below, its outcome deal among them (the
    record of the outcome fields an account row sends)."""

    form = AccountAdminForm
    inlines = (DealInline,)
    list_display = (
        "name",
        "external_id",
        "domain",
        "industry",
        "country",
        "crm",
        "employees",
        "lifecycle_stage",
    )
    list_filter = ("lifecycle_stage", "has_revops", "country", "crm")
    search_fields = ("name", "domain", "external_id")
    readonly_fields = (
        "list_index",
        "created_at",
        "updated_at",
    )

    def save_model(self, request: HttpRequest, obj: Account, form: Any, change: bool) -> None:
        obj.reindex()
        super().save_model(request, obj, form, change)
        accounts_score([obj.pk])

    def delete_model(self, request: HttpRequest, obj: Account) -> None:
        """Removed as the API removes one: scores and tombstones included."""
        accounts_remove(actor=request.user, account_ids=[obj.pk])  # type: ignore[arg-type]

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Account]) -> None:
        accounts_remove(
            actor=request.user,  # type: ignore[arg-type]
            account_ids=list(queryset.values_list("pk", flat=True)),
        )


# --- Traits -------------------------------------------------------------------

TRAIT_FIELDS = ("key", "label", "type", "category", "help")


class TraitAdminForm(StoredTextFormMixin, forms.ModelForm):
    """The model's fields; the key checked by its rule alone
    (profiles.models.validate_trait_key, as the API checks it), and a type
    change asked of scoring.traits before the save."""

    key = forms.CharField(
        validators=[validate_trait_key], help_text=Trait._meta.get_field("key").help_text
    )

    class Meta:
        model = Trait
        fields = TRAIT_FIELDS

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        new_type = cleaned.get("type")
        if self.instance.pk is not None and new_type and "type" in self.changed_data:
            problem = trait_type_problem(trait=self.instance, type=new_type)
            if problem is not None:
                self.add_error("type", problem)
        return cleaned


@admin.register(Trait)
class TraitAdmin(admin.ModelAdmin):
    """Custom account attributes (they show under profiles, with the criteria
    that test them), written through scoring.traits, as the API writes them:
    the key is fixed once declared, the type changes and a trait goes only
    while no account holds a value for it and no live or open version's
    criterion tests it."""

    form = TraitAdminForm
    list_display = ("label", "key", "type", "category")
    list_filter = ("type", "category")
    search_fields = ("label", "key")

    def get_readonly_fields(self, request: HttpRequest, obj: Trait | None = None) -> list[str]:
        return ["key"] if obj is not None else []

    def save_model(self, request: HttpRequest, obj: Trait, form: Any, change: bool) -> None:
        actor: User = request.user  # type: ignore[assignment]
        fields = {k: v for k, v in form.cleaned_data.items() if k in TRAIT_FIELDS}
        if change:
            fields.pop("key", None)
            trait_update(actor=actor, trait=obj, **fields)
            return
        made = trait_declare(actor=actor, **fields)
        obj.pk = made.pk

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        """The form asked the rules before saving; one that changed in between
        (an account took a value meanwhile) refuses the save, which rolls back."""
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except (ValidationError, TraitConflictError) as exc:
            self.message_user(request, _refusal(exc), messages.ERROR)
            return HttpResponseRedirect(request.path)

    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        """A trait in use is not removed: the page says why instead of asking."""
        trait = self.get_object(request, object_id)
        problem = trait_delete_problem(trait=trait) if trait is not None else None
        try:
            if problem is not None:
                raise TraitConflictError(problem)
            return super().delete_view(request, object_id, extra_context)
        except TraitConflictError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return HttpResponseRedirect(request.path.removesuffix("delete/") + "change/")

    def delete_model(self, request: HttpRequest, obj: Trait) -> None:
        trait_delete(actor=request.user, trait=obj)  # type: ignore[arg-type]

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        """No bulk delete: each trait goes on its own terms, from its own page
        (the bulk action would announce every selected trait deleted)."""
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions


def _refusal(exc: ValidationError | TraitConflictError) -> str:
    return str(exc) if isinstance(exc, TraitConflictError) else refusal_text(exc)


@admin.register(Deal)
class DealAdmin(admin.ModelAdmin):
    """Deals as the CRM sent them: the CRM owns them, so the admin shows and
    removes them (as the API's DELETE does) but neither adds nor edits; a
    change comes with the CRM's next sync."""

    list_display = (
        "external_id",
        "account",
        "name",
        "type",
        "stage",
        "status",
        "amount",
        "currency",
        "opened_at",
        "closed_at",
        "updated_at",
    )
    list_filter = ("status", "type", "currency")
    list_select_related = ("account",)
    search_fields = ("external_id", "name", "stage", "account__name", "account__external_id")
    date_hierarchy = "closed_at"
    readonly_fields = (*DEAL_FIELDS, "account", "created_at", "updated_at")
    fields = ("external_id", "account", *DEAL_FIELDS[1:], "created_at", "updated_at")
    ordering = ("-updated_at", "-id")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Deal | None = None) -> bool:
        return False

    def delete_model(self, request: HttpRequest, obj: Deal) -> None:
        deal_delete(actor=request.user, deal=obj)  # type: ignore[arg-type]

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Deal]) -> None:
        for deal in queryset:
            self.delete_model(request, deal)


@admin.register(ScoringRun)
class ScoringRunAdmin(admin.ModelAdmin):
    """Runs are made by approvals and workers; the admin only shows them."""

    list_display = (
        "pk",
        "profile",
        "version",
        "status",
        "is_current",
        "accounts_scored",
        "created_at",
        "finished_at",
    )
    list_filter = ("status", "profile")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: ScoringRun | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: ScoringRun | None = None) -> bool:
        """Runs are pruned after each rescoring, keeping the current one and
        the one before it."""
        return False


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Keys are made here and shown once, in the message after saving; only
    a digest is kept. A key is revoked, never edited."""

    list_display = ("name", "prefix", "user", "scope", "created_at", "last_used_at", "revoked_at")
    list_filter = ("scope",)
    search_fields = ("name", "prefix", "user__username")
    readonly_fields = ("prefix", "created_by", "created_at", "last_used_at", "revoked_at")
    actions = ("revoke",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[ApiKey]:
        """Staff see and revoke their own keys; a superuser sees every key."""
        keys = super().get_queryset(request).select_related("user")
        if request.user.is_superuser:
            return keys
        return keys.filter(user_id=request.user.pk)

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        """Staff make keys for themselves only (api_keys.can_hold_key_for); the
        form offers no one else, so a forged choice is refused naming `user`."""
        if db_field.name == "user" and not request.user.is_superuser:
            kwargs["queryset"] = User.objects.filter(username=request.user.get_username())
            kwargs["initial"] = request.user.pk
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_fields(self, request: HttpRequest, obj: ApiKey | None = None) -> Any:
        if obj is None:
            return ["name", "user", "scope"]
        return ["name", "user", "scope", *self.readonly_fields]

    def get_readonly_fields(self, request: HttpRequest, obj: ApiKey | None = None) -> list[str]:
        if obj is None:
            return []
        return ["name", "user", "scope", *self.readonly_fields]

    def save_model(self, request: HttpRequest, obj: ApiKey, form: Any, change: bool) -> None:
        if change:
            return
        made = api_key_create(
            actor=request.user,  # type: ignore[arg-type]
            name=obj.name,
            user=obj.user,
            scope=obj.scope,
        )
        obj.pk = made.key.pk
        obj.prefix = made.key.prefix
        messages.warning(
            request,
            f"The key for {made.key.name}: {made.plaintext} — copy it now; it is not shown again.",
        )

    @admin.action(description="Revoke the selected keys")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        revoked = 0
        for key in queryset:
            try:
                api_key_revoke(actor=request.user, key=key)  # type: ignore[arg-type]
            except PermissionDenied as exc:
                self.message_user(request, str(exc), messages.ERROR)
            else:
                revoked += 1
        self.message_user(request, f"Revoked {revoked} key(s).")


def _manages_webhooks(request: HttpRequest) -> bool:
    return bool(can_manage_webhooks(request.user))  # type: ignore[arg-type]


class WebhookSubscriptionForm(StoredTextFormMixin, forms.ModelForm):
    url = forms.URLField(max_length=500, assume_scheme="https")
    events = forms.MultipleChoiceField(
        choices=WebhookEvent.choices, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = WebhookSubscription
        fields = ("url", "events", "description", "is_active")

    def clean_url(self) -> str:
        """A new or changed address must pass scoring.webhook_targets' rule."""
        url: str = self.cleaned_data["url"]
        if self.instance.pk is None or "url" in self.changed_data:
            try:
                target_check(url)
            except TargetRefusedError as refused:
                raise forms.ValidationError(refused.reason) from None
        return url


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin):
    """Managed by whom scoring.policies.can_manage_webhooks allows (staff
    alone see nothing here). The secret is made on adding and shown once, in
    the message after saving; the change page says only that it is set, and
    the action "Rotate the secret" makes a new one, shown once the same way."""

    form = WebhookSubscriptionForm
    list_display = ("url", "description", "is_active", "created_at")
    list_filter = ("is_active",)
    readonly_fields = ("secret_state", "created_by", "created_at")
    actions = ("rotate_secret",)

    def get_fields(self, request: HttpRequest, obj: WebhookSubscription | None = None) -> Any:
        fields = list(WebhookSubscriptionForm.Meta.fields)
        return fields if obj is None else [*fields, *self.readonly_fields]

    @admin.display(description="secret")
    def secret_state(self, obj: WebhookSubscription) -> str:
        if not obj.secret:
            return "Not set."
        return "Set; it is never shown again. Lost or leaked: rotate it from the list."

    def has_module_permission(self, request: HttpRequest) -> bool:
        return _manages_webhooks(request)

    def has_view_permission(
        self, request: HttpRequest, obj: WebhookSubscription | None = None
    ) -> bool:
        return _manages_webhooks(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return _manages_webhooks(request)

    def has_change_permission(
        self, request: HttpRequest, obj: WebhookSubscription | None = None
    ) -> bool:
        return _manages_webhooks(request)

    def has_delete_permission(
        self, request: HttpRequest, obj: WebhookSubscription | None = None
    ) -> bool:
        return _manages_webhooks(request)

    def save_model(
        self, request: HttpRequest, obj: WebhookSubscription, form: Any, change: bool
    ) -> None:
        actor = request.user
        fields = {k: form.cleaned_data[k] for k in form.Meta.fields}
        if change:
            webhook_subscription_update(actor=actor, subscription=obj, **fields)  # type: ignore[arg-type]
            return
        made = webhook_subscription_create(actor=actor, **fields)  # type: ignore[arg-type]
        obj.pk = made.pk
        messages.warning(
            request,
            f"The secret for {made.url}: {made.secret} — copy it to the receiver now; it is "
            "not shown again.",
        )

    def delete_model(self, request: HttpRequest, obj: WebhookSubscription) -> None:
        webhook_subscription_delete(actor=request.user, subscription=obj)  # type: ignore[arg-type]

    def delete_queryset(
        self, request: HttpRequest, queryset: QuerySet[WebhookSubscription]
    ) -> None:
        for subscription in queryset:
            self.delete_model(request, subscription)

    @admin.action(
        description="Rotate the secret (the new one is shown once)", permissions=["change"]
    )
    def rotate_secret(self, request: HttpRequest, queryset: QuerySet[WebhookSubscription]) -> None:
        for subscription in queryset:
            rotated = webhook_subscription_rotate_secret(
                actor=request.user,  # type: ignore[arg-type]
                subscription=subscription,
            )
            messages.warning(
                request,
                f"The new secret for {rotated.url}: {rotated.secret} — copy it to the receiver "
                "now; it is not shown again. Deliveries are signed with it from now on.",
            )


class WebhookAttemptInline(admin.TabularInline):
    """Every attempt at a delivery, read only."""

    model = WebhookAttempt
    extra = 0
    can_delete = False
    fields = ("number", "attempted_at", "response_status", "duration_ms", "outcome", "error")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    """The delivery log: what was sent where, and how it went; for those
    who manage webhooks."""

    list_display = ("event", "subscription", "status", "attempts", "response_status", "created_at")
    list_filter = ("status", "event")
    readonly_fields = tuple(f.name for f in WebhookDelivery._meta.fields)
    inlines = (WebhookAttemptInline,)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return _manages_webhooks(request)

    def has_view_permission(self, request: HttpRequest, obj: WebhookDelivery | None = None) -> bool:
        return _manages_webhooks(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(
        self, request: HttpRequest, obj: WebhookDelivery | None = None
    ) -> bool:
        return False


class ImportMappingForm(StoredTextFormMixin, forms.ModelForm):
    class Meta:
        model = ImportMapping
        fields = ("name",)


@admin.register(ImportMapping)
class ImportMappingAdmin(admin.ModelAdmin):
    """Saved column mappings of the import page: renamed or removed here,
    made and changed on the import page, which checks their columns."""

    list_display = ("name", "kind", "created_by", "updated_at")
    list_filter = ("kind",)
    search_fields = ("name",)
    form = ImportMappingForm
    readonly_fields = ("kind", "columns", "created_by", "updated_at")
    fields = ("name", "kind", "columns", "created_by", "updated_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
