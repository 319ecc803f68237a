"""Pages for the account base: the scored list, one account with its math,
and CSV import and export."""

from __future__ import annotations

from typing import cast

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.functional import cached_property
from django.views.decorators.http import require_GET, require_http_methods

from profiles.models import Profile
from scoring.filters import AccountFilter
from scoring.forms import AccountImportForm
from scoring.ingest import (
    IMPORT_REFUSED,
    ImportFileError,
    Mode,
    accounts_import,
    can_import_accounts,
    declared_traits,
    export_lines,
)
from scoring.models import Account, ScoringRun
from scoring.selectors import (
    account_explanations,
    account_history,
    account_list,
    current_run,
    scored_profiles,
)

PAGE_SIZE = 50

# The list counts matching accounts up to this many and says "more than"
# beyond: an exact total over a million accounts costs a scan of the whole
# base on every page view, the cap stops the scan early.
COUNT_CAP = 10_000


class CappedPaginator(Paginator):
    @cached_property
    def count(self) -> int:
        accounts = cast(QuerySet[Account], self.object_list)
        return int(accounts.order_by()[: COUNT_CAP + 1].count())

    @cached_property
    def capped(self) -> bool:
        return self.count > COUNT_CAP

    @property
    def cap(self) -> int:
        return COUNT_CAP


# Rows fetched from the database per round trip while streaming an export.
EXPORT_CHUNK_SIZE = 2000


def _chosen(request: HttpRequest) -> tuple[list[Profile], Profile | None, ScoringRun | None]:
    """The scored profiles, the one asked for (or the first), and its current run."""
    profiles = list(scored_profiles())
    chosen = request.GET.get("profile")
    profile = next((p for p in profiles if p.slug == chosen), profiles[0] if profiles else None)
    run = current_run(profile=profile) if profile else None
    return profiles, profile, run


@login_required
def account_index(request: HttpRequest) -> HttpResponse:
    profiles, profile, run = _chosen(request)
    accounts = account_list(viewer=request.user, run=run)  # type: ignore[arg-type]
    filters = AccountFilter(request.GET, queryset=accounts)
    page = CappedPaginator(filters.qs, PAGE_SIZE).get_page(request.GET.get("page"))
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
            "can_import": can_import_accounts(request.user),  # type: ignore[arg-type]
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


@login_required
@require_http_methods(["GET", "POST"])
def account_import(request: HttpRequest) -> HttpResponse:
    """Upload a CSV file of accounts; shows the counts, or every bad row."""
    if not can_import_accounts(request.user):  # type: ignore[arg-type]
        raise PermissionDenied(IMPORT_REFUSED)
    form = AccountImportForm(request.POST or None, request.FILES or None)
    report = None
    status = 200
    if request.method == "POST":
        if form.is_valid():
            mode: Mode = "valid_only" if form.cleaned_data["valid_only"] else "all_or_nothing"
            try:
                report = accounts_import(
                    actor=request.user,  # type: ignore[arg-type]
                    rows=form.cleaned_data["file"],
                    mode=mode,
                    first_row=2,
                )
            except ImportFileError as exc:
                form.add_error("file", list(exc.problems))
                status = 400
            else:
                status = 422 if report.errors and not report.written else 200
        else:
            status = 400
    return render(
        request,
        "scoring/account_import.html",
        {"form": form, "report": report, "traits": declared_traits()},
        status=status,
    )


@login_required
@require_GET
def account_export(request: HttpRequest) -> HttpResponseBase:
    """The accounts the list shows for the same filters, as CSV, streamed
    from the database in chunks so a large base never sits in memory."""
    _, profile, run = _chosen(request)
    accounts = account_list(viewer=request.user, run=run)  # type: ignore[arg-type]
    filters = AccountFilter(request.GET, queryset=accounts)
    if not filters.is_valid():
        problems = "; ".join(
            f"{name}: {' '.join(messages)}" for name, messages in filters.errors.items()
        )
        return HttpResponse(
            f"Fix the filters first: {problems}",
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    rows = filters.qs.values_list(
        "external_id", "name", "domain", "score", "tier", "effective_tier", "override_tier"
    )
    lines = export_lines(
        rows.iterator(chunk_size=EXPORT_CHUNK_SIZE),
        profile=profile.name if profile else "",
        version=run.version.number if run else "",
    )
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    stamp = timezone.localdate().isoformat()
    name = f"accounts-{profile.slug}-{stamp}.csv" if profile else f"accounts-{stamp}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
