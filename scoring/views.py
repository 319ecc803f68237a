"""Pages for the account base: the scored list and one account with its math."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from scoring.filters import AccountFilter
from scoring.models import Account
from scoring.selectors import (
    account_explanations,
    account_history,
    account_list,
    current_run,
    scored_profiles,
)

PAGE_SIZE = 50


@login_required
def account_index(request: HttpRequest) -> HttpResponse:
    profiles = list(scored_profiles())
    chosen = request.GET.get("profile")
    profile = next((p for p in profiles if p.slug == chosen), profiles[0] if profiles else None)
    run = current_run(profile=profile) if profile else None
    accounts = account_list(viewer=request.user, run=run)  # type: ignore[arg-type]
    filters = AccountFilter(request.GET, queryset=accounts)
    page = Paginator(filters.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "scoring/account_list.html",
        {
            "profiles": profiles,
            "profile": profile,
            "run": run,
            "filters": filters,
            "page": page,
            "query": query.urlencode(),
        },
    )


@login_required
def account_detail(request: HttpRequest, pk: int) -> HttpResponse:
    account = get_object_or_404(Account, pk=pk)
    return render(
        request,
        "scoring/account_detail.html",
        {
            "account": account,
            "explanations": account_explanations(account=account),
            "history": account_history(account=account),
        },
    )
