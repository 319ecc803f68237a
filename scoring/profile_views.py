"""Scoring panels shown on a profile's pages: run progress and a draft's
impact preview. HTMX loads them into the profile pages, which stay free of
any scoring import."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from profiles.models import Profile, ProfileVersion
from scoring.preview import impact_preview, run_for_progress

# How often the progress panel polls while a run is in flight.
POLL_SECONDS = 2


@login_required
def run_progress(request: HttpRequest, slug: str) -> HttpResponse:
    profile = get_object_or_404(Profile, slug=slug)
    run = run_for_progress(profile_id=profile.pk)
    return render(
        request,
        "scoring/partials/_run_progress.html",
        {"profile": profile, "run": run, "poll_seconds": POLL_SECONDS},
    )


@login_required
def version_impact(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    version = get_object_or_404(ProfileVersion, profile__slug=slug, number=number)
    return render(
        request,
        "scoring/partials/_impact.html",
        {"version": version, "preview": impact_preview(version=version)},
    )
