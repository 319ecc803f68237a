"""Admin for overrides and check-ins: decisions go through the services, so
the admin allows exactly what the pages allow."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest

from icpsite.refusals import refusal_text
from reviews import services
from reviews.models import CheckIn, Notification, NotificationPreference, Override
from reviews.mywork import services as mywork


def _decide(request: HttpRequest, overrides: QuerySet[Override], accept: bool) -> None:
    done = 0
    for override in overrides:
        try:
            if accept:
                services.override_accept(actor=request.user, override=override)  # type: ignore[arg-type]
            else:
                services.override_reject(
                    actor=request.user,  # type: ignore[arg-type]
                    override=override,
                    note="Rejected in the admin.",
                )
            done += 1
        except (ValidationError, PermissionDenied) as exc:
            messages.error(request, f"{override.account}: {refusal_text(exc)}")
    if done:
        messages.success(request, f"{done} override{'s' if done != 1 else ''} decided.")


@admin.register(Override)
class OverrideAdmin(admin.ModelAdmin):
    list_display = (
        "account", "profile", "claim_of", "team", "machine_tier", "claimed_tier", "reason",
        "status", "created_at",
    )  # fmt: skip
    list_filter = ("status", "reason", "claimed_tier", "profile", "team")
    search_fields = (
        "account__name", "account__external_id", "rep__username", "rep__email",
        "logged_by__username", "logged_by__email",
    )  # fmt: skip
    list_select_related = ("account", "profile", "rep", "logged_by", "team")
    actions = ("accept", "reject")

    @admin.display(description="Rep", ordering="rep__username")
    def claim_of(self, override: Override) -> str:
        return override.attribution

    def get_readonly_fields(self, request: HttpRequest, obj: Override | None = None) -> Any:
        return [f.name for f in Override._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Accept the selected overrides")
    def accept(self, request: HttpRequest, queryset: QuerySet[Override]) -> None:
        _decide(request, queryset, accept=True)

    @admin.action(description="Reject the selected overrides")
    def reject(self, request: HttpRequest, queryset: QuerySet[Override]) -> None:
        _decide(request, queryset, accept=False)


@admin.register(CheckIn)
class CheckInAdmin(admin.ModelAdmin):
    list_display = ("profile", "kind", "due_on", "trigger", "outcome", "draft", "closed_at")
    list_filter = ("kind", "outcome", "profile")
    list_select_related = ("profile", "draft")

    def get_readonly_fields(self, request: HttpRequest, obj: CheckIn | None = None) -> Any:
        return [f.name for f in CheckIn._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(admin.ModelAdmin):
    """Each person's choice of delivery per kind; a change goes through the
    service, which checks the kind and the delivery."""

    list_display = ("user", "kind", "delivery", "updated_at")
    list_filter = ("kind", "delivery")
    search_fields = ("user__username", "user__email")
    list_select_related = ("user",)
    autocomplete_fields = ("user",)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ("user", "kind", "updated_at") if obj is not None else ("updated_at",)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        mywork.preferences_set(
            actor=request.user,  # type: ignore[arg-type]
            user=obj.user,
            choices={obj.kind: obj.delivery},
        )
        saved = NotificationPreference.objects.get(user=obj.user, kind=obj.kind)
        obj.pk, obj.updated_at = saved.pk, saved.updated_at


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    """What was told to whom, and when it was read and emailed: a record,
    read-only here."""

    list_display = ("user", "kind", "title", "delivery", "created_at", "read_at", "emailed_at")
    list_filter = ("kind", "delivery", ("read_at", admin.EmptyFieldListFilter),
                   ("emailed_at", admin.EmptyFieldListFilter))  # fmt: skip
    search_fields = ("title", "user__username", "user__email")
    list_select_related = ("user",)
    date_hierarchy = "created_at"

    def get_readonly_fields(self, request: HttpRequest, obj: Notification | None = None) -> Any:
        return [f.name for f in Notification._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
