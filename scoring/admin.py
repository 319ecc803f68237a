from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest

from profiles.attributes import MAX_LIST_ITEMS, MAX_VALUE_LENGTH, normalise_list
from profiles.forms import StoredTextFormMixin, validate_stored_text
from profiles.models import User
from scoring.api_keys import api_key_create, api_key_revoke
from scoring.models import (
    Account,
    ApiKey,
    ImportMapping,
    ScoringRun,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEvent,
    WebhookSubscription,
)
from scoring.policies import can_manage_webhooks
from scoring.services import accounts_score
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
            "opportunity_opened_at",
            "deal_status",
            "deal_closed_at",
            "deal_amount",
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
        return value


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    form = AccountAdminForm
    list_display = (
        "name",
        "external_id",
        "domain",
        "industry",
        "country",
        "crm",
        "employees",
        "deal_status",
    )
    list_filter = ("deal_status", "has_revops", "country", "crm")
    search_fields = ("name", "domain", "external_id")
    readonly_fields = ("list_index", "created_at", "updated_at")

    def save_model(self, request: HttpRequest, obj: Account, form: Any, change: bool) -> None:
        obj.reindex()
        super().save_model(request, obj, form, change)
        accounts_score([obj.pk])


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

    list_display = ("name", "created_by", "updated_at")
    search_fields = ("name",)
    form = ImportMappingForm
    readonly_fields = ("columns", "created_by", "updated_at")
    fields = ("name", "columns", "created_by", "updated_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
