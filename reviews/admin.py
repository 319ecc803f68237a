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
from reviews.models import CheckIn, Override


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
