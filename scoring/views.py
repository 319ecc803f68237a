"""Pages for the account base: the scored list, one account with its math
and its deals, and CSV import (of accounts or deals) and export."""

from __future__ import annotations

from typing import cast

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.functional import cached_property
from django.views.decorators.http import require_GET, require_http_methods

from profiles.models import Profile, User
from scoring.export import export_lines
from scoring.filters import AccountFilter, ScoreBandFilter
from scoring.forms import AccountImportForm, ImportColumnsForm
from scoring.ingest.csvfiles import MAX_FILE_BYTES
from scoring.ingest.importer import ImportFileError, Mode
from scoring.ingest.jobs import (
    import_job_create,
    import_job_get,
    import_job_header,
    import_job_list,
    import_job_map,
    import_job_preview,
    import_job_preview_fields,
    import_job_progress,
    import_job_report,
    import_job_samples,
    import_mapping_get,
    import_mapping_list,
)
from scoring.ingest.mapping import SKIP, mapping_problems, mapping_propose
from scoring.ingest.mapping import targets as mapping_targets
from scoring.ingest.rows import declared_traits
from scoring.models import Account, ImportJob, ImportKind, ScoringRun
from scoring.policies import IMPORT_REFUSED, can_import_accounts
from scoring.rulesets import thresholds_for
from scoring.selectors import (
    Matches,
    ScoreBand,
    account_deals,
    account_explanations,
    account_history,
    account_list,
    account_matches,
    account_rows,
    current_run,
    run_scores,
    scored_profiles,
)

PAGE_SIZE = 50

# The list counts matching accounts up to this many and says "more than"
# beyond: an exact total over a million accounts costs a scan of the whole
# base on every page view, the cap stops the scan early.
COUNT_CAP = 10_000


class CappedPaginator(Paginator):
    """The filtered accounts counted up to the cap (account_matches), each
    page read by account_rows in the order of `sort` (through the run's
    score indexes)."""

    def __init__(
        self,
        accounts: QuerySet[Account],
        per_page: int,
        *,
        run: ScoringRun | None,
        sort: str,
        band: ScoreBand | None = None,
    ) -> None:
        super().__init__(accounts, per_page)
        self.accounts, self.run, self.sort, self.band = accounts, run, sort, band

    @cached_property
    def matched(self) -> Matches:
        return account_matches(self.accounts, band=self.band, sort=self.sort, cap=COUNT_CAP)

    @cached_property
    def count(self) -> int:
        return self.matched.total

    def page(self, number: int | str) -> Page[Account]:
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = min(bottom + self.per_page, self.count)
        rows = account_rows(
            self.accounts,
            run=self.run,
            sort=self.sort,
            start=bottom,
            stop=top,
            few=not self.capped,
            band=self.band,
            matches=self.matched,
        )
        return Page(rows, number, self)

    @cached_property
    def capped(self) -> bool:
        return self.count > COUNT_CAP

    @property
    def cap(self) -> int:
        return COUNT_CAP


# Rows fetched from the database per round trip while streaming an export.
EXPORT_CHUNK_SIZE = 2000

# How often an import's progress page asks for news while the job runs.
IMPORT_POLL_SECONDS = 2


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
    accounts = account_list(run=run)
    filters = AccountFilter(request.GET, queryset=accounts)
    filtered = filters.qs  # validates the form
    sort = filters.form.cleaned_data.get("sort") or [""]
    band = None
    if run is not None:
        thresholds = thresholds_for(run.version)
        scores = ScoreBandFilter(request.GET, queryset=run_scores(run=run), thresholds=thresholds)
        band = ScoreBand(
            scores.qs,
            exact=not filters.narrowing,
            scored_only=scores.scored_only,
            accounts=filters.own_accounts(),
        )
    paginator = CappedPaginator(filtered, PAGE_SIZE, run=run, sort=sort[0], band=band)
    page = paginator.get_page(request.GET.get("page"))
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
            "deals": account_deals(account=account),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def account_import(request: HttpRequest) -> HttpResponse:
    """Upload a CSV file of accounts or of deals. The file is checked as a
    whole and stored as a job that a worker imports; the answer is the
    job's page (or its mapping step, for a CRM's export)."""
    if not can_import_accounts(request.user):  # type: ignore[arg-type]
        raise PermissionDenied(IMPORT_REFUSED)
    form = AccountImportForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            upload = form.cleaned_data["file"]
            mode: Mode = "valid_only" if form.cleaned_data["valid_only"] else "all_or_nothing"
            try:
                job = import_job_create(
                    actor=request.user,  # type: ignore[arg-type]
                    file_name=upload.name or "accounts.csv",
                    data=upload.read(MAX_FILE_BYTES + 1),
                    mode=mode,
                    kind=form.cleaned_data["kind"],
                )
            except ImportFileError as exc:
                form.add_error("file", list(exc.problems))
            else:
                if job.status == ImportJob.Status.MAPPING:
                    return redirect("account-import-columns", pk=job.pk)
                return redirect("account-import-job", pk=job.pk)
        status = 400
    return render(
        request,
        "scoring/account_import.html",
        {
            "form": form,
            "traits": declared_traits(),
            "jobs": import_job_list(viewer=request.user),  # type: ignore[arg-type]
        },
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def account_import_columns(request: HttpRequest, pk: int) -> HttpResponse:
    """The mapping step of an import whose file is not in icpsite's own
    columns: each column's field proposed (a saved mapping, ?mapping=NAME,
    or the names a CRM's export uses), the first rows as they would be
    stored, then the import started with the chosen mapping."""
    viewer = cast(User, request.user)
    job = import_job_get(viewer=viewer, pk=pk)
    if not can_import_accounts(viewer):
        raise PermissionDenied(IMPORT_REFUSED)
    if job.status != ImportJob.Status.MAPPING:
        return redirect("account-import-job", pk=job.pk)
    header = import_job_header(job=job)
    traits = declared_traits()
    saved = import_mapping_get(request.GET.get("mapping", ""), kind=job.kind)
    form = ImportColumnsForm(
        request.POST or None,
        header=header,
        choices=mapping_targets(traits, job.kind),
        proposal=mapping_propose(header, traits, saved.columns if saved else None, job.kind),
        initial={"valid_only": job.mode == ImportJob.Mode.VALID_ONLY},
    )
    status = 200
    if request.method == "POST" and form.is_valid():
        mode: Mode = "valid_only" if form.cleaned_data["valid_only"] else "all_or_nothing"
        if request.POST.get("action") != "preview":
            try:
                import_job_map(
                    actor=viewer,
                    job=job,
                    mapping=form.mapping(),
                    mode=mode,
                    save_as=form.cleaned_data["save_as"],
                )
            except ValidationError as exc:
                for key, messages in exc.message_dict.items():
                    for message in messages:
                        form.add_error(form.field_of(key), message)
            else:
                return redirect("account-import-job", pk=job.pk)
    if form.errors:
        status = 400
    mapping = form.mapping()
    fields = import_job_preview_fields(job=job, mapping=mapping)
    return render(
        request,
        "scoring/account_import_columns.html",
        {
            "job": job,
            "form": form,
            "columns": [
                (field, samples)
                for field, samples in zip(
                    form.column_fields(), import_job_samples(job=job), strict=False
                )
            ],
            "problems": mapping_problems(header, mapping, traits, job.kind).get(SKIP),
            "preview_fields": fields,
            "preview": [
                (row.number, row.cells(fields), row.errors)
                for row in import_job_preview(job=job, mapping=mapping)
            ],
            "saved": import_mapping_list(kind=job.kind),
            "deals": job.kind == ImportKind.DEALS,
            "chosen_mapping": saved,
        },
        status=status,
    )


@login_required
@require_GET
def account_import_job(request: HttpRequest, pk: int) -> HttpResponse:
    """An import's progress while a worker runs it, then its counts and every
    bad row; for its owner and whoever may import. Over HTMX, the section
    alone, which asks again every IMPORT_POLL_SECONDS until the job ends."""
    job = import_job_get(viewer=request.user, pk=pk)  # type: ignore[arg-type]
    context = {
        "job": job,
        "progress": import_job_progress(job=job),
        "report": import_job_report(job=job) if job.status == ImportJob.Status.DONE else None,
        "poll_seconds": IMPORT_POLL_SECONDS,
    }
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "scoring/partials/_import_job.html", context)
    return render(request, "scoring/account_import_job.html", context)


@login_required
@require_GET
def account_export(request: HttpRequest) -> HttpResponseBase:
    """The accounts the list shows for the same filters, as CSV, streamed
    from the database in chunks so a large base never sits in memory."""
    _, profile, run = _chosen(request)
    accounts = account_list(run=run)
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
