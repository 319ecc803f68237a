"""Pages for reviews: the manager's queue, overrides on the account page,
check-ins, a draft's evidence panel and the outcome validation charts.

Writes go through reviews.services; a refusal is shown where it happened.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from icpsite.numbers import counted
from icpsite.refusals import add_refusal_to_form, refusal_text
from profiles.models import User
from profiles.redirects import next_url, redirect_to_next
from profiles.selectors import (
    live_criterion_list,
    live_profile_list,
    unapproved_version_list,
    version_by_slug,
)
from reviews import services
from reviews.agenda import checkin_agenda
from reviews.charts import validation_charts
from reviews.drift import drift_signals, live_version
from reviews.evidence import evidence_for, validation_for
from reviews.forms import CheckInOutcomeForm, GroupMarkForm, MarkForm, OverrideForm, ReviewForm
from reviews.models import CheckIn, Override
from reviews.policies import can_close_checkin
from reviews.selectors import (
    SurpriseEntries,
    checkin_get,
    checkin_list,
    checkins_for_draft,
    is_reviewer,
    override_get,
    override_list,
    queue_get,
    surprise_kinds,
    surprise_window_start,
)
from scoring.models import Account
from scoring.selectors import (
    account_get,
    account_standings,
    current_run,
    current_run_list,
    scored_profiles,
)

PAGE_SIZE = 25


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def _is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


# --- The queue ----------------------------------------------------------------


def _queue_context(request: HttpRequest, params: QueryDict) -> dict[str, Any]:
    """The queue page's context for the query `params` (the page's own, or
    the page a group was marked on)."""
    viewer = _user(request)
    include_reviewed = params.get("all") == "1"
    data = queue_get(viewer=viewer, include_reviewed=include_reviewed)
    overrides = Paginator(data.overrides, PAGE_SIZE).get_page(params.get("op"))
    entries = SurpriseEntries(viewer, surprise_window_start(), include_reviewed)
    surprises = Paginator(entries, PAGE_SIZE).get_page(params.get("sp"))
    for override in overrides:
        override.is_new = data.is_new(override.created_at)  # type: ignore[attr-defined]
    return {
        "queue": data,
        "is_reviewer": is_reviewer(viewer),
        "overrides": overrides,
        "surprises": surprises,
        "surprise_kinds": surprise_kinds(viewer=viewer, current=entries.current),
        "checkins": list(data.checkins),
        "surprise_days": settings.REVIEWS_SURPRISE_DAYS,
        "usual_weeks": settings.REVIEWS_SURPRISE_USUAL_WEEKS,
        "review_form": ReviewForm(),
        "today": timezone.localdate(),
        "shown_at": timezone.now(),
        "here": f"{reverse('review-queue')}?{params.urlencode()}" if params else "",
    }


@login_required
def queue(request: HttpRequest) -> HttpResponse:
    return render(request, "reviews/queue.html", _queue_context(request, request.GET))


@login_required
@require_POST
def override_decide(request: HttpRequest, pk: int, decision: str) -> HttpResponse:
    if decision not in ("accept", "reject"):
        raise Http404("Accept or reject.")
    try:
        override = override_get(pk=pk)
    except Override.DoesNotExist:
        raise Http404("No such override.") from None
    form = ReviewForm(request.POST)
    form.is_valid()
    note = form.cleaned_data.get("note", "")
    error = ""
    try:
        if decision == "accept":
            services.override_accept(actor=_user(request), override=override, note=note)
        else:
            services.override_reject(actor=_user(request), override=override, note=note)
    except (ValidationError, PermissionDenied) as exc:
        error = refusal_text(exc)
    override = override_list().get(pk=pk)
    if _is_htmx(request):
        return render(
            request,
            "reviews/partials/_override_row.html",
            {"o": override, "error": error, "review_form": form, "queue": None},
        )
    if error:
        messages.error(request, error)
    else:
        messages.success(request, f"Override on {override.account.name} {override.status}.")
    return redirect_to_next(request, "review-queue")


@login_required
@require_POST
def mark(request: HttpRequest) -> HttpResponse:
    form = MarkForm(request.POST)
    if not form.is_valid():
        return HttpResponse(form.error_text(), status=400, content_type="text/plain")
    kind = form.cleaned_data["kind"]
    object_id = form.cleaned_data["object_id"]
    occurred: datetime | None = form.cleaned_data["occurred_at"]
    occurred_raw = request.POST.get("occurred_at") or ""
    undo = form.cleaned_data["undo"]
    try:
        if undo:
            services.review_unmark(
                actor=_user(request), kind=kind, object_id=object_id, occurred_at=occurred
            )
        else:
            services.review_mark(
                actor=_user(request), kind=kind, object_id=object_id, occurred_at=occurred
            )
    except ValidationError as exc:
        return HttpResponse(refusal_text(exc), status=400)
    if _is_htmx(request):
        return render(
            request,
            "reviews/partials/_mark.html",
            {"kind": kind, "object_id": object_id, "occurred": occurred_raw, "reviewed": not undo},
        )
    return redirect("review-queue")


@login_required
@require_POST
def mark_group(request: HttpRequest) -> HttpResponse:
    """Mark a group of surprises reviewed in one go: a whole kind, or one
    account's surprises of a kind. With HTMX the surprises section is drawn
    again in place; without, the browser goes back to the queue page."""
    form = GroupMarkForm(request.POST)
    if not form.is_valid():
        return HttpResponse(form.error_text(), status=400, content_type="text/plain")
    kind = form.cleaned_data["kind"]
    account_id = form.cleaned_data["account_id"]
    try:
        marked = services.review_mark_surprises(
            actor=_user(request),
            kind=kind,
            account_id=account_id,
            through=form.cleaned_data["through"],
        )
    except ValidationError as exc:
        return HttpResponse(refusal_text(exc), status=400, content_type="text/plain")
    said = f"Marked {counted(marked, 'surprise')} reviewed." if marked else "Already reviewed."
    if _is_htmx(request):
        target = next_url(request) or reverse("review-queue")
        context = _queue_context(request, QueryDict(urlsplit(target).query))
        context["group_marked"] = said
        return render(request, "reviews/queue.html", context)
    messages.success(request, said)
    return redirect_to_next(request, "review-queue")


@login_required
@require_POST
def checkpoint(request: HttpRequest) -> HttpResponse:
    services.review_checkpoint_set(actor=_user(request))
    messages.success(
        request,
        "Review finished. From now on, overrides logged and surprises that happen "
        "after this moment are marked New.",
    )
    return redirect("review-queue")


# --- Overrides on the account page ------------------------------------------------


def _account_context(account: Account, form: OverrideForm | None) -> dict[str, Any]:
    profiles = list(scored_profiles())
    criteria = live_criterion_list(profiles=profiles)
    if form is None:
        form = OverrideForm(profiles=scored_profiles(), criteria=criteria)
    standing = account_standings(account=account)
    return {
        "account": account,
        "form": form,
        "standing": standing,
        "overrides": override_list(account_id=account.pk)[:20],
        "can_log": bool(profiles),
    }


@login_required
def account_overrides(request: HttpRequest, pk: int) -> HttpResponse:
    """The account page's overrides panel: effective tiers, history, and the
    form a rep logs an override with."""
    try:
        account = account_get(pk=pk)
    except Account.DoesNotExist:
        raise Http404("No such account.") from None
    form = None
    status = 200
    if request.method == "POST":
        form = OverrideForm(
            request.POST, profiles=scored_profiles(), criteria=live_criterion_list()
        )
        if form.is_valid():
            try:
                services.override_create(
                    actor=_user(request),
                    account=account,
                    profile=form.cleaned_data["profile"],
                    claimed_tier=form.cleaned_data["claimed_tier"],
                    reason=form.cleaned_data["reason"],
                    criterion=form.cleaned_data["criterion"],
                    note=form.cleaned_data["note"],
                )
            except ValidationError as exc:
                add_refusal_to_form(form, exc)
                status = 422
            except PermissionDenied as exc:
                add_refusal_to_form(form, exc)
                status = 403 if not _is_htmx(request) else 422
            else:
                form = None
        else:
            status = 422
    context = _account_context(account, form)
    context["logged"] = request.method == "POST" and form is None
    return render(request, "reviews/partials/_account_overrides.html", context, status=status)


# --- Check-ins --------------------------------------------------------------------


@login_required
def checkins(request: HttpRequest) -> HttpResponse:
    drift = [(run.profile, drift_signals(run=run)) for run in current_run_list()]
    page = Paginator(checkin_list(), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "reviews/checkin_list.html", {"page": page, "drift": drift})


@login_required
def checkin_detail(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        checkin = checkin_get(pk=pk)
    except CheckIn.DoesNotExist:
        raise PermissionDenied("No such check-in.") from None
    form = CheckInOutcomeForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                checkin = services.checkin_close(
                    actor=_user(request),
                    checkin=checkin,
                    outcome=form.cleaned_data["outcome"],
                    note=form.cleaned_data["note"],
                )
            except (ValidationError, PermissionDenied) as exc:
                form.add_error(None, refusal_text(exc))
                status = 422
            else:
                if checkin.draft is not None:
                    messages.success(
                        request, f"Started v{checkin.draft.number} from this check-in."
                    )
                    return redirect(
                        "version-detail", slug=checkin.profile.slug, number=checkin.draft.number
                    )
                messages.success(request, "Check-in closed: no change.")
                return redirect("checkin-detail", pk=checkin.pk)
        else:
            status = 422
    return render(
        request,
        "reviews/checkin_detail.html",
        {
            "checkin": checkin,
            "agenda": checkin_agenda(checkin=checkin),
            "form": form,
            "can_close": can_close_checkin(_user(request), checkin.profile),
            # Suggestions for the live version, while the check-in can still act on them.
            "live": live_version(checkin.profile) if checkin.is_open else None,
        },
        status=status,
    )


# --- Evidence and validation ---------------------------------------------------------


@login_required
def version_evidence(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    version = version_by_slug(slug=slug, number=number)
    if version is None:
        raise Http404("No such version.")
    return render(
        request,
        "reviews/partials/_evidence.html",
        {
            "version": version,
            "evidence": evidence_for(version=version),
            "checkins": checkins_for_draft(version=version),
        },
    )


@login_required
def validation(request: HttpRequest) -> HttpResponse:
    profiles = list(live_profile_list())
    chosen = request.GET.get("profile")
    profile = next((p for p in profiles if p.slug == chosen), profiles[0] if profiles else None)
    run = current_run(profile=profile) if profile else None
    drafts = list(unapproved_version_list(profile=profile)) if profile else []
    draft = None
    if "draft" in request.GET:  # chosen; empty is "live only"
        draft = next((v for v in drafts if str(v.number) == request.GET["draft"]), None)
    elif drafts and drafts[0].is_open:
        draft = drafts[0]
    figures = validation_for(run=run, draft=draft)
    return render(
        request,
        "reviews/validation.html",
        {
            "profiles": profiles,
            "profile": profile,
            "live": live_version(profile) if profile else None,
            "drafts": drafts,
            "draft": draft,
            "figures": figures,
            "charts": validation_charts(figures),
        },
    )
