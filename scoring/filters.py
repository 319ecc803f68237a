"""Filters over the account base, shared by the accounts page and the API."""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.db.models import Q, QuerySet

from profiles.attributes import canonical
from scoring.engine import Thresholds, Tier, tier_scores
from scoring.models import CANONICAL_COLUMNS, Account, AccountScore
from scoring.selectors import ACCOUNT_SORTS, account_order


class AccountOrdering(django_filters.OrderingFilter):
    """The accounts list's sort, ordered as scoring.selectors.account_order
    says (ties broken, unscored accounts last)."""

    def filter(self, qs: QuerySet[Account], value: Any) -> QuerySet[Account]:
        if not value:
            return qs
        return qs.order_by(*account_order(value[0]))


class ScoreBandFilter(django_filters.FilterSet):
    """The accounts list's filters a score row answers (tier, score range,
    and industry and country from the row's copies of the account's,
    AccountScore): over account_list's accounts, or over a run's
    AccountScore rows (the head of a page sorted by score,
    scoring.selectors.account_rows)."""

    tier = django_filters.MultipleChoiceFilter(
        field_name="tier",
        choices=[(t.value, t.value) for t in Tier],
        label="Tier",
        distinct=False,  # one row per account already; DISTINCT over a million rows is slow
    )
    score_min = django_filters.NumberFilter(
        field_name="score", lookup_expr="gte", label="Score from"
    )
    score_max = django_filters.NumberFilter(field_name="score", lookup_expr="lte", label="Score to")
    # Category filters compare as criteria do: in canonical form.
    industry = django_filters.CharFilter(
        field_name=CANONICAL_COLUMNS["industry"], method="same_value", label="Industry"
    )
    country = django_filters.CharFilter(
        field_name=CANONICAL_COLUMNS["country"], method="same_value", label="Country"
    )

    class Meta:
        model = AccountScore
        fields: tuple[str, ...] = ()

    # The filters a run's indexes on (category, score, account) serve.
    CATEGORIES = ("industry", "country")

    def __init__(self, *args: Any, thresholds: Thresholds | None = None, **kwargs: Any) -> None:
        """`thresholds`: those of the version that scored the rows filtered,
        when they are a run's (see filter_queryset)."""
        super().__init__(*args, **kwargs)
        self.thresholds = thresholds

    def filter_queryset(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        """The rows the filters allow. A tier asked with a category, given
        the run's thresholds, also bounds the scores to those the tiers can
        have (tier_scores): the run's index on (category, score, account)
        then reads the tier's range instead of walking past the other tiers
        (180,000 rows of SaaS before its first of tier C). Not for a tier
        alone: its own index serves it, and the planner, which takes tier
        and score for independent, then misjudged how many rows match."""
        rows = super().filter_queryset(queryset)
        data = self.form.cleaned_data
        tiers = data.get("tier") or []
        if self.thresholds is None or not tiers or not any(data.get(c) for c in self.CATEGORIES):
            return rows
        bounds = [tier_scores(Tier(tier), self.thresholds) for tier in tiers]
        return rows.filter(
            score__gte=min(low for low, _ in bounds), score__lte=max(high for _, high in bounds)
        )

    # The filters that leave unscored accounts out.
    SCORED_ONLY = ("tier", "score_min", "score_max")

    @property
    def scored_only(self) -> bool:
        """Whether any of SCORED_ONLY is set (after the form is validated)."""
        data = self.form.cleaned_data
        return any(data.get(name) not in (None, "", []) for name in self.SCORED_ONLY)

    def same_value(self, queryset: QuerySet[Any], name: str, value: Any) -> QuerySet[Any]:
        """The rows whose canonical column `name` holds `value`, ignoring case
        and spacing (profiles.attributes.canonical)."""
        compared = canonical(str(value))
        if not compared:
            return queryset
        return queryset.filter(**{name: compared})


class AccountFilterForm(forms.Form):
    field_order = [  # noqa: RUF012 (a Django form option, read from the class)
        "q",
        "tier",
        "effective_tier",
        "score_min",
        "score_max",
        "industry",
        "country",
        "crm",
        "sort",
    ]


class AccountFilter(ScoreBandFilter):
    q = django_filters.CharFilter(method="search", label="Name or domain")
    effective_tier = django_filters.MultipleChoiceFilter(
        field_name="effective_tier",
        choices=[(t.value, t.value) for t in Tier],
        label="Effective tier",
        distinct=False,
    )
    crm = django_filters.CharFilter(
        field_name=CANONICAL_COLUMNS["crm"], method="same_value", label="CRM"
    )
    sort = AccountOrdering(
        fields=[(field, key) for key, field in ACCOUNT_SORTS.items()],
        field_labels={
            "score": "Score",
            "name": "Name",
            "employees": "Employees",
            "annual_revenue": "Revenue",
        },
        label="Sort by",
        empty_label="Best score first",
    )

    class Meta:
        model = Account
        fields: tuple[str, ...] = ()
        form = AccountFilterForm

    # Filters that narrow the accounts by their own columns (or by an
    # override) which the score rows do not answer: their matches may sit
    # anywhere along the run's scores. (Industry and country the rows
    # answer from their copies, through the run's indexes on them.)
    NARROWING = ("q", "crm", "effective_tier")

    # The filters on the accounts' own columns alone.
    OWN = ("q", "industry", "country", "crm")

    @property
    def narrowing(self) -> bool:
        """Whether any of NARROWING is set (after the form is validated)."""
        return self._any_set(self.NARROWING)

    def own_accounts(self) -> QuerySet[Account] | None:
        """The accounts, scored or not, that the filters allow when all of
        them read the accounts' own columns (OWN), else None: such a list
        is counted without joining each account to the run."""
        reading_run = tuple(name for name in self.filters if name not in (*self.OWN, "sort"))
        if self._any_set(reading_run):
            return None
        accounts = Account.objects.all()
        for name in self.OWN:
            value = self.form.cleaned_data.get(name)
            if value not in (None, "", []):
                accounts = self.filters[name].filter(accounts, value)
        return accounts

    def _any_set(self, names: tuple[str, ...]) -> bool:
        data = self.form.cleaned_data
        return any(data.get(name) not in (None, "", []) for name in names)

    def search(self, queryset: QuerySet[Account], _name: str, value: Any) -> QuerySet[Account]:
        value = str(value).strip()
        if not value:
            return queryset
        return queryset.filter(Q(name__icontains=value) | Q(domain__icontains=value))


TIERS = [(t.value, t.value) for t in Tier]


class ScoreFilter(django_filters.FilterSet):
    """Filters of the scores feed (scoring.selectors.score_feed)."""

    tier = django_filters.MultipleChoiceFilter(
        field_name="tier", choices=TIERS, label="Tier", distinct=False
    )
    effective_tier = django_filters.MultipleChoiceFilter(
        field_name="effective_tier",
        choices=TIERS,
        label="Effective tier (override or tier)",
        distinct=False,
    )
    score_min = django_filters.NumberFilter(
        field_name="score", lookup_expr="gte", min_value=0, max_value=100, label="Score from"
    )
    score_max = django_filters.NumberFilter(
        field_name="score", lookup_expr="lte", min_value=0, max_value=100, label="Score to"
    )
    overridden = django_filters.BooleanFilter(
        method="filter_overridden", label="Only accounts with (true) or without (false) an override"
    )
    version = django_filters.NumberFilter(
        field_name="version_number", min_value=1, label="Version number that scored the account"
    )

    class Meta:
        model = Account
        fields: tuple[str, ...] = ()

    def filter_overridden(self, queryset: QuerySet[Account], _name: str, value: Any) -> Any:
        if value is None:
            return queryset
        return queryset.filter(**{"override_tier__isnull": not value})
