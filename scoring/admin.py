from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from profiles.attributes import MAX_VALUE_LENGTH, normalise_list
from scoring.models import Account, ScoringRun, list_index_for
from scoring.services import accounts_score


class AccountAdminForm(forms.ModelForm):
    class Meta:
        model = Account
        fields = [
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
        ]

    def clean_tech_stack(self) -> list[str]:
        value = self.cleaned_data.get("tech_stack") or []
        if not isinstance(value, list):
            raise forms.ValidationError('Enter a list of tools, e.g. ["salesforce", "slack"].')
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
        return value


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    form = AccountAdminForm
    list_display = [
        "name",
        "external_id",
        "domain",
        "industry",
        "country",
        "crm",
        "employees",
        "deal_status",
    ]
    list_filter = ["deal_status", "has_revops", "country", "crm"]
    search_fields = ["name", "domain", "external_id"]
    readonly_fields = ["list_index", "created_at", "updated_at"]

    def save_model(self, request: HttpRequest, obj: Account, form: Any, change: bool) -> None:
        obj.list_index = list_index_for(obj.tech_stack or [], obj.traits or {})
        super().save_model(request, obj, form, change)
        accounts_score([obj.pk])


@admin.register(ScoringRun)
class ScoringRunAdmin(admin.ModelAdmin):
    """Runs are made by approvals and workers; the admin only shows them."""

    list_display = [
        "pk",
        "profile",
        "version",
        "status",
        "is_current",
        "accounts_scored",
        "created_at",
        "finished_at",
    ]
    list_filter = ["status", "profile"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: ScoringRun | None = None) -> bool:
        return False
