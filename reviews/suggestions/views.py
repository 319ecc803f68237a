"""The suggestions panel of the version page and of a check-in, and the
form that adopts the ticked ones.

The panel is its own page (without JavaScript) or the fragment HTMX loads
into the version page and the check-in after they have shown, since working
suggestions out takes a moment on a large base. Adopting posts a plain form
and lands on the draft, with a message.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_POST

from icpsite.numbers import counted
from icpsite.refusals import refusal_text
from profiles.models import ProfileVersion, Team, User
from profiles.policies import roles_of
from profiles.redirects import next_url
from profiles.selectors import version_by_slug
from reviews.forms import SuggestionAdoptForm
from reviews.policies import can_adopt_suggestions
from reviews.suggestions import suggest
from reviews.suggestions.adopt import open_version_besides, suggestions_adopt
from reviews.suggestions.text import one_by_one


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def _version(slug: str, number: int) -> ProfileVersion:
    version = version_by_slug(slug=slug, number=number)
    if version is None:
        raise Http404("No such version.")
    return version


def _version_url(version: ProfileVersion) -> str:
    return reverse("version-detail", args=[version.profile.slug, version.number])


def panel_context(user: User, version: ProfileVersion, back: str) -> dict[str, Any]:
    """What the panel shows `user` for `version`; the adopt form sends the
    person back to `back` when it is refused."""
    open_version = open_version_besides(version)
    suggestions = suggest.current_suggestions(version=version)
    reweighting = suggestions.reweighting
    reweight = reweighting.suggestion if reweighting else None
    edits = one_by_one(suggestions.shown)
    return {
        "version": version,
        "suggestions": suggestions,
        "edits": edits,
        "tickable": bool(edits) or bool(reweight and reweight.shown),
        "waiting": one_by_one(suggestions.not_enough),
        "can_adopt": can_adopt_suggestions(user, version, open_version),
        "open_version": open_version,
        "teams": list(Team.objects.filter(pk__in=roles_of(user)).order_by("name")),
        "adopt_label": "Add to this draft"
        if version.is_open
        else "Start a draft from these suggestions",
        "back": back,
    }


@login_required
def version_suggestions(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    version = _version(slug, number)
    back = next_url(request) or _version_url(version)
    context = panel_context(_user(request), version, back)
    if getattr(request, "htmx", False):
        return render(request, "reviews/partials/_suggestions.html", context)
    return render(request, "reviews/suggestions.html", context)


@login_required
@require_POST
def suggestions_adopt_post(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    version = _version(slug, number)
    back = next_url(request) or _version_url(version)
    form = SuggestionAdoptForm(request.POST, teams=Team.objects.all())
    if not form.is_valid():
        messages.error(request, form.error_text())
        return HttpResponseRedirect(back + "#suggestions")
    keys = form.cleaned_data["keys"]
    try:
        draft = suggestions_adopt(
            actor=_user(request), version=version, keys=keys, team=form.cleaned_data["team"]
        )
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, refusal_text(exc))
        return HttpResponseRedirect(back + "#suggestions")
    adopted = counted(len(set(keys)), "suggestion")
    done = (
        f"Added {adopted} to v{draft.number}"
        if draft.pk == version.pk
        else f"Started v{draft.number} from {adopted}"
    )
    messages.success(
        request,
        f"{done}, each with its evidence in its criterion's thread. "
        "The required teams sign off as usual.",
    )
    return HttpResponseRedirect(_version_url(draft))
