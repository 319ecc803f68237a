"""Filters over the account base, shared by the accounts page and the API."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import Q, QuerySet

from scoring.engine import Tier
from scoring.models import Account


class AccountFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Name or domain")
    tier = django_filters.MultipleChoiceFilter(
        field_name="tier", choices=[(t.value, t.value) for t in Tier], label="Tier"
    )
    effective_tier = django_filters.MultipleChoiceFilter(
        field_name="effective_tier",
        choices=[(t.value, t.value) for t in Tier],
        label="Effective tier",
    )
    score_min = django_filters.NumberFilter(
        field_name="score", lookup_expr="gte", label="Score from"
    )
    score_max = django_filters.NumberFilter(field_name="score", lookup_expr="lte", label="Score to")
    industry = django_filters.CharFilter(field_name="industry", lookup_expr="iexact")
    country = django_filters.CharFilter(field_name="country", lookup_expr="iexact")
    crm = django_filters.CharFilter(field_name="crm", lookup_expr="iexact", label="CRM")
    sort = django_filters.OrderingFilter(
        fields=(
            ("name", "name"),
            ("score", "score"),
            ("employees", "employees"),
            ("annual_revenue", "revenue"),
        ),
        field_labels={
            "score": "Score",
            "name": "Name",
            "employees": "Employees",
            "annual_revenue": "Revenue",
        },
        label="Sort by",
    )

    class Meta:
        model = Account
        fields: list[str] = []

    def search(self, queryset: QuerySet[Account], name: str, value: Any) -> QuerySet[Account]:
        value = str(value).strip()
        if not value:
            return queryset
        return queryset.filter(Q(name__icontains=value) | Q(domain__icontains=value))
