"""Pages of what is mine: My work (a page of its own, and a panel HTMX
loads into the dashboard), the navigation's counts, notifications and the
choice of how each kind is emailed. Writes go through reviews.mywork.services."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import Resolver404, resolve, reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from icpsite.refusals import add_refusal_to_form
from profiles.models import User
from profiles.redirects import redirect_to_next
from reviews.models import Override
from reviews.mywork import services
from reviews.mywork.forms import PreferencesForm, ThroughForm
from reviews.mywork.selectors import (
    my_work_get,
    notification_list,
    override_queue_position,
    preferences_get,
)
from reviews.views import PAGE_SIZE


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def _is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def _made_at() -> str:
    return timezone.now().isoformat()


# --- My work ------------------------------------------------------------------------


def _my_work_response(request: HttpRequest) -> HttpResponse:
    context = {"work": my_work_get(viewer=_user(request)), "made_at": _made_at()}
    if _is_htmx(request):
        return render(request, "reviews/partials/_my_work.html", context)
    return render(request, "reviews/my_work.html", {**context, "standalone": True})


@login_required
def my_work(request: HttpRequest) -> HttpResponse:
    """The page, or (for HTMX, as the dashboard loads it) the panel alone."""
    return _my_work_response(request)


@login_required
def my_work_nav(request: HttpRequest) -> HttpResponse:
    """The navigation's My work and Notifications links with fresh counts,
    which a page loads again after each write it makes with HTMX."""
    current = ""
    htmx = getattr(request, "htmx", None)
    if htmx and htmx.current_url:
        try:
            current = resolve(urlparse(htmx.current_url).path).url_name or ""
        except Resolver404:
            current = ""
    return render(request, "reviews/partials/_nav_work.html", {"nav_current": current})


@login_required
@require_POST
def my_work_clear(request: HttpRequest) -> HttpResponse:
    """Clear the news on My work, up to when the panel was made."""
    form = ThroughForm(request.POST)
    if not form.is_valid():
        return HttpResponse(form.error_text(), status=400, content_type="text/plain")
    services.my_work_clear(actor=_user(request), through=form.cleaned_data["through"])
    if _is_htmx(request):
        return _my_work_response(request)
    messages.success(request, "News cleared: what happens from now on shows here.")
    return redirect_to_next(request, "my-work")


@login_required
def queue_override(request: HttpRequest, pk: int) -> HttpResponse:
    """An override's row in the viewer's review queue, on the page that
    holds it; an override that is not theirs to decide (any more) opens on
    its account's page, which shows its history."""
    override = Override.objects.filter(pk=pk).first()
    if override is None:
        raise Http404("No such override.")
    position = override_queue_position(viewer=_user(request), override=override)
    if position is None:
        account = reverse("account-detail", kwargs={"pk": override.account_id})
        return HttpResponseRedirect(account + "#overrides")
    page = position // PAGE_SIZE + 1
    return HttpResponseRedirect(f"{reverse('review-queue')}?all=1&op={page}#override-{pk}")


# --- Notifications ---------------------------------------------------------------------


@login_required
def notifications(request: HttpRequest) -> HttpResponse:
    viewer = _user(request)
    page = Paginator(notification_list(viewer=viewer), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "reviews/notifications.html",
        {
            "page": page,
            "made_at": _made_at(),
            "any_unread": notification_list(viewer=viewer).filter(read_at__isnull=True).exists(),
        },
    )


@login_required
@require_POST
def notification_read(request: HttpRequest, pk: int) -> HttpResponse:
    note = notification_list(viewer=_user(request)).filter(pk=pk).first()
    if note is None:
        raise Http404("You have no such notification.")
    note = services.notification_read(actor=_user(request), notification=note)
    if _is_htmx(request):
        return render(request, "reviews/partials/_notification.html", {"note": note})
    return redirect_to_next(request, "notification-list")


@login_required
@require_POST
def notifications_read_all(request: HttpRequest) -> HttpResponse:
    form = ThroughForm(request.POST)
    if not form.is_valid():
        return HttpResponse(form.error_text(), status=400, content_type="text/plain")
    done = services.notifications_read_all(
        actor=_user(request), through=form.cleaned_data["through"]
    )
    messages.success(request, f"{done} notification{'s' if done != 1 else ''} marked read.")
    return redirect_to_next(request, "notification-list")


@login_required
def notification_preferences(request: HttpRequest) -> HttpResponse:
    viewer = _user(request)
    form = PreferencesForm(request.POST or None, initial=preferences_get(viewer=viewer))
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.preferences_set(actor=viewer, choices=form.cleaned_data)
            except (ValidationError, PermissionDenied) as exc:
                add_refusal_to_form(form, exc)
                status = 422
            else:
                messages.success(request, "Saved: new notifications follow your choices.")
                return redirect("notification-preferences")
        else:
            status = 422
    context: dict[str, Any] = {"form": form}
    return render(request, "reviews/notification_preferences.html", context, status=status)
