"""Pages for teams, profiles and versions.

Writes go through profiles.services; a refused write (PermissionDenied,
ValidationError) is shown to the person on the page they came from, and
nothing they typed is lost. Criteria and comments are edited in place with
HTMX: the same views answer a full page or the fragment HTMX asked for.
"""

from typing import Any, cast

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_POST
from django_htmx.http import trigger_client_event
from django_htmx.middleware import HtmxDetails

from icpsite.refusals import add_refusal_to_form, refusal_text
from profiles import policies, services
from profiles.attributes import CATEGORIES
from profiles.diff import version_diff, versions_to_compare
from profiles.forms import (
    CommentForm,
    CriterionForm,
    ProfileForm,
    SignOffForm,
    VersionSettingsForm,
    value_text,
)
from profiles.models import Comment, Criterion, Profile, ProfileVersion, Team, User
from profiles.selectors import (
    CriterionRow,
    attribute_registry,
    criterion_row_get,
    criterion_rows,
    profile_get,
    profile_list,
    signoff_states,
    team_roster_list,
    version_approval_problems,
    version_get,
    version_list,
    version_threads,
)


class AuthenticatedRequest(HttpRequest):
    """A request behind login_required: its user is a real User."""

    user: User
    htmx: HtmxDetails


def keep_typed_input(form: forms.Form, stale: services.StaleRevisionError) -> None:
    """Show a stale form back as typed, with the conflict explained, set to
    save against the current revision once the person has looked."""
    form.add_error(None, stale.messages[0])
    data = cast(QueryDict, form.data).copy()
    data["revision"] = str(stale.current_revision)
    form.data = data


@login_required
def dashboard(request: AuthenticatedRequest) -> HttpResponse:
    rosters = team_roster_list()
    teams = [roster.team for roster in rosters]
    my_team_ids = {m.team_id for m in request.user.memberships.all()}
    context = {
        "teams": teams,
        "rosters": rosters,
        "my_teams": [t for t in teams if t.pk in my_team_ids],
        "people_count": len({m.user_id for t in teams for m in t.memberships.all()}),
        "profiles": list(profile_list()),
    }
    return render(request, "profiles/dashboard.html", context)


# --- Profiles ---------------------------------------------------------------


@login_required
def profile_index(request: AuthenticatedRequest) -> HttpResponse:
    form = ProfileForm(request.POST or None)
    can_create = policies.can_create_profile(request.user)
    if request.method == "POST" and form.is_valid():
        try:
            profile = services.profile_create(
                actor=request.user,
                name=form.cleaned_data["name"],
                description=form.cleaned_data["description"],
                required_teams=form.cleaned_data["required_teams"],
                approving_teams=form.cleaned_data["approving_teams"] or None,
                admins=[request.user],
                checkin_cadence=form.cleaned_data["checkin_cadence"],
            )
        except (ValidationError, PermissionDenied) as exc:
            form.add_error(None, refusal_text(exc, name_fields=True))
        else:
            messages.success(request, f"{profile.name} created. Start its first draft.")
            return redirect("profile-detail", slug=profile.slug)
    return render(
        request,
        "profiles/profile_list.html",
        {"profiles": profile_list(), "form": form, "can_create": can_create},
    )


@login_required
def profile_detail(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    profile = _profile_or_404(slug)
    versions = list(version_list(profile=profile))
    open_version = next((v for v in versions if v.is_open), None)
    return render(
        request,
        "profiles/profile_detail.html",
        {
            "profile": profile,
            "versions": versions,
            "live": next((v for v in versions if v.status == "approved"), None),
            "open_version": open_version,
            "can_start": policies.can_start_draft(request.user, open_version),
        },
    )


@login_required
@require_POST
def draft_start(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    profile = _profile_or_404(slug)
    source = None
    if number := request.POST.get("source"):
        source = get_object_or_404(ProfileVersion, profile=profile, number=number)
    try:
        draft = services.version_start_draft(actor=request.user, profile=profile, source=source)
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, refusal_text(exc, name_fields=True))
        return redirect("profile-detail", slug=slug)
    return redirect(_version_url(draft))


@login_required
def version_compare(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    profile = _profile_or_404(slug)
    versions = list(version_list(profile=profile))
    by_number = {v.number: v for v in versions}
    chosen_new, chosen_old = request.GET.get("to"), request.GET.get("from")
    try:
        old, new = versions_to_compare(
            by_number,
            old=int(chosen_old) if chosen_old else None,
            new=int(chosen_new) if chosen_new else None,
        )
    except (KeyError, ValueError):
        messages.error(request, "Choose two versions of this profile to compare.")
        return redirect("profile-detail", slug=slug)
    return render(
        request,
        "profiles/version_compare.html",
        {
            "profile": profile,
            "versions": versions,
            "diff": version_diff(old=old, new=new),
            "registry": attribute_registry(),
        },
    )


# --- The version page -------------------------------------------------------

# After an HTMX write, the fragment it targets is swapped in, and these other
# parts of the page are refreshed out of band: an edit takes a new revision,
# which changes sign-off states, the problems list, the diff and the revision
# every other form on the page must name.
REFRESHED_AFTER = {
    "criteria": ("head", "actions", "settings", "live_diff", "signoffs", "timeline", "about"),
    "discussion": ("signoffs", "timeline", "talk"),
}


@login_required
def version_detail(request: AuthenticatedRequest, slug: str, number: int) -> HttpResponse:
    version = _version_or_404(slug, number)
    return render(request, "profiles/version_detail.html", version_context(request, version))


def version_context(
    request: AuthenticatedRequest, version: ProfileVersion, **extra: Any
) -> dict[str, Any]:
    """Everything the version page shows, in a fixed number of queries."""
    user = request.user
    registry = attribute_registry()
    my_team_ids = set(policies.roles_of(user)) if user.is_authenticated else set()
    approver = policies.is_approver(user, version.profile)
    threads = version_threads(version=version, my_team_ids=my_team_ids, approver=approver)
    criteria = criterion_rows(version=version, threads=threads, registry=registry)
    groups: dict[str, list[CriterionRow]] = {}
    for criterion in criteria:
        groups.setdefault(criterion.category, []).append(criterion)
    order = {category: index for index, category in enumerate(CATEGORIES)}
    required = list(version.profile.required_teams.all())
    my_teams = list(Team.objects.filter(pk__in=my_team_ids))
    live = (
        ProfileVersion.objects.filter(profile=version.profile, status="approved")
        .exclude(pk=version.pk)
        .first()
    )
    edit = policies.can_edit(user, version)
    withdraw = policies.can_withdraw(user, version)
    context = {
        "profile": version.profile,
        "version": version,
        "criteria_groups": sorted(groups.items(), key=lambda item: order.get(item[0], len(order))),
        "criteria_count": len(criteria),
        "fit_total": sum(c.points for c in criteria if c.kind == "fit"),
        "criterion_form": CriterionForm(registry=registry, initial={"revision": version.revision}),
        "settings_form": VersionSettingsForm(
            initial={
                "revision": version.revision,
                "rationale": version.rationale,
                "threshold_a": version.threshold_a,
                "threshold_b": version.threshold_b,
            }
        ),
        "comment_form": CommentForm(teams=Team.objects.filter(pk__in=my_team_ids)),
        "signoff_form": SignOffForm(
            teams=Team.objects.filter(pk__in=my_team_ids & {t.pk for t in required}),
            initial={"revision": version.revision},
        ),
        "threads": threads,
        "unresolved_count": sum(1 for t in threads if not t.resolved),
        "signoff_states": signoff_states(version=version),
        "problems": version_approval_problems(version=version) if version.is_open else [],
        "events": version.events.select_related("actor", "team")[:100],
        "my_teams": my_teams,
        "can_edit": edit,
        "can_submit": policies.can_submit(user, version),
        "can_approve": policies.can_approve(user, version),
        "can_withdraw": withdraw,
        # Buttons are shown to the people the rule is for; to them, a button
        # that is not yet usable is disabled and says why.
        "show_submit": version.status == "draft" and bool(edit),
        "show_approve": version.is_open and approver,
        "show_withdraw": bool(withdraw),
        "can_comment": bool(my_team_ids),
        "sign_teams": [t for t in required if t.pk in my_team_ids],
        "live": live,
        "live_diff": version_diff(old=live, new=version) if live and version.is_open else None,
        "registry": registry,
    }
    context.update(extra)
    return context


def _render_version(
    request: AuthenticatedRequest,
    version: ProfileVersion,
    partial: str,
    status: int = 200,
    refresh: bool = True,
    **extra: Any,
) -> HttpResponse:
    """The whole page, or for an HTMX request `partial` plus the parts of the
    page that an edit changes, swapped out of band."""
    version.refresh_from_db()
    context = version_context(request, version, **extra)
    if not request.htmx:
        return render(request, "profiles/version_detail.html", context, status=status)
    html = render_to_string(f"profiles/partials/_{partial}.html", context, request=request)
    if refresh:
        oob = {**context, "oob": True}
        for name in REFRESHED_AFTER.get(partial, ()):
            html += render_to_string(f"profiles/partials/_{name}.html", oob, request=request)
    response = HttpResponse(html, status=status)
    if refresh and partial == "criteria" and status == 200:
        # The panels computed from the criteria (impact, evidence) listen
        # for this and load themselves again for the new revision.
        trigger_client_event(response, "version-changed", {"revision": version.revision})
    return response


def _criterion_fields(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "revision": data["revision"],
        "attribute": data["attribute"],
        "operator": data["operator"],
        "value": data["parsed_value"],
        "points": data["points"],
        "kind": data["kind"],
        "category": data["category"] or None,
        "rationale": data["rationale"],
    }


@login_required
@require_POST
def criterion_save(
    request: AuthenticatedRequest, slug: str, number: int, pk: int | None = None
) -> HttpResponse:
    """Add a criterion, or change one. A stale revision shows the person's
    input again beside the current state, with who changed what."""
    version = _version_or_404(slug, number)
    criterion = Criterion.objects.filter(pk=pk, version=version).first() if pk else None
    registry = attribute_registry()
    form = CriterionForm(request.POST, registry=registry)
    if pk and criterion is None:
        return _criterion_removed_meanwhile(request, version, form)
    if form.is_valid():
        fields = _criterion_fields(form.cleaned_data)
        try:
            if criterion is None:
                services.criterion_add(actor=request.user, version=version, **fields)
            else:
                services.criterion_update(actor=request.user, criterion=criterion, **fields)
        except services.StaleRevisionError as exc:
            return _criterion_form_again(request, version, criterion, form, exc)
        except ValidationError as exc:
            add_refusal_to_form(form, exc)
        except PermissionDenied as exc:
            form.add_error(None, refusal_text(exc, name_fields=True))
        else:
            if not request.htmx:
                return HttpResponseRedirect(_version_url(version) + "#criteria")
            return _render_version(request, version, "criteria")
    return _criterion_form_again(request, version, criterion, form, None)


def _criterion_removed_meanwhile(
    request: AuthenticatedRequest, version: ProfileVersion, form: CriterionForm
) -> HttpResponse:
    """Someone removed the criterion being edited: offer the typed input as a new one."""
    stale = services.StaleRevisionError(version, _int(request.POST.get("revision")))
    removal = next(
        (e for e in reversed(stale.events) if e.verb == "criterion_removed"),
        None,
    )
    who = (
        (removal.actor.get_full_name() or removal.actor.username)
        if removal and removal.actor
        else ""
    )
    form.is_valid()
    form.add_error(
        None,
        (f"{who} removed this criterion" if who else "This criterion was removed")
        + " after you opened it. Your input is kept below: add it again if it still matters.",
    )
    data = cast(QueryDict, form.data).copy()
    data["revision"] = str(stale.current_revision)
    form.data = data
    return _render_version(request, version, "criteria", status=409, form=form, stale=stale)


def _criterion_form_again(
    request: AuthenticatedRequest,
    version: ProfileVersion,
    criterion: Criterion | None,
    form: CriterionForm,
    stale: services.StaleRevisionError | None,
) -> HttpResponse:
    editing: Criterion | CriterionRow | None = criterion
    if stale is not None:
        keep_typed_input(form, stale)
        if criterion is not None:
            editing = criterion_row_get(pk=criterion.pk)
    return _render_version(
        request,
        version,
        "criteria",
        status=409 if stale else 422,
        form=form,
        editing=editing,
        current_criterion=editing if stale else None,
        stale=stale,
    )


@login_required
def criterion_edit(request: AuthenticatedRequest, slug: str, number: int, pk: int) -> HttpResponse:
    """The criteria with one opened for editing in place (HTMX), or the page with it open."""
    version = _version_or_404(slug, number)
    criterion = get_object_or_404(Criterion, pk=pk, version=version)
    form = CriterionForm(
        registry=attribute_registry(),
        initial={
            "revision": version.revision,
            "attribute": criterion.attribute,
            "operator": criterion.operator,
            "value": value_text(criterion.value),
            "points": criterion.points,
            "kind": criterion.kind,
            "category": criterion.category,
            "rationale": criterion.rationale,
        },
    )
    return _render_version(
        request, version, "criteria", refresh=False, form=form, editing=criterion
    )


@login_required
@require_POST
def criterion_delete(
    request: AuthenticatedRequest, slug: str, number: int, pk: int
) -> HttpResponse:
    version = _version_or_404(slug, number)
    criterion = Criterion.objects.filter(pk=pk, version=version).first()
    if criterion is None:
        return _render_version(
            request,
            version,
            "criteria",
            status=409,
            criteria_error="That criterion was already removed; the list below is current.",
        )
    try:
        services.criterion_remove(
            actor=request.user, criterion=criterion, revision=_int(request.POST.get("revision"))
        )
    except (ValidationError, PermissionDenied) as exc:
        return _render_version(
            request,
            version,
            "criteria",
            status=409,
            criteria_error=refusal_text(exc, name_fields=True),
        )
    if not request.htmx:
        return HttpResponseRedirect(_version_url(version) + "#criteria")
    return _render_version(request, version, "criteria")


@login_required
@require_POST
def version_settings(request: AuthenticatedRequest, slug: str, number: int) -> HttpResponse:
    version = _version_or_404(slug, number)
    form = VersionSettingsForm(request.POST)
    status = 422
    if form.is_valid():
        try:
            services.version_update(actor=request.user, version=version, **form.cleaned_data)
        except services.StaleRevisionError as exc:
            keep_typed_input(form, exc)
            status = 409
        except ValidationError as exc:
            add_refusal_to_form(form, exc)
        except PermissionDenied as exc:
            form.add_error(None, refusal_text(exc, name_fields=True))
        else:
            messages.success(request, "Thresholds and rationale saved.")
            return redirect(_version_url(version))
    return _render_version(request, version, "settings", status=status, settings_form=form)


@login_required
@require_POST
def comment_post(request: AuthenticatedRequest, slug: str, number: int) -> HttpResponse:
    version = _version_or_404(slug, number)
    # Any team may be named; the service refuses, with the reason, a team the
    # person does not belong to.
    form = CommentForm(request.POST, teams=Team.objects.all())
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.comment_create(
                actor=request.user,
                version=version,
                team=data["team"],
                body=data["body"],
                criterion=Criterion.objects.filter(pk=data["criterion"], version=version).first()
                if data["criterion"]
                else None,
                parent=Comment.objects.filter(pk=data["parent"], version=version).first()
                if data["parent"]
                else None,
            )
        except ValidationError as exc:
            add_refusal_to_form(form, exc)
        except PermissionDenied as exc:
            form.add_error(None, refusal_text(exc, name_fields=True))
        else:
            if not request.htmx:
                return HttpResponseRedirect(_version_url(version) + "#comments")
            return _render_version(request, version, "discussion")
    elif not request.POST.get("team"):
        form.errors.pop("team", None)
        form.add_error(
            None,
            "You are in no team, so you cannot comment."
            if not policies.roles_of(request.user)
            else "Choose the team you speak for.",
        )
    return _render_version(
        request,
        version,
        "discussion",
        status=422,
        refresh=False,
        comment_form=form,
        reply_to=_int(request.POST.get("parent")),
    )


@login_required
@require_POST
def comment_resolve(request: AuthenticatedRequest, slug: str, number: int, pk: int) -> HttpResponse:
    version = _version_or_404(slug, number)
    comment = get_object_or_404(Comment, pk=pk, version=version)
    try:
        services.comment_resolve(
            actor=request.user, comment=comment, resolved=request.POST.get("resolved") != "false"
        )
    except (ValidationError, PermissionDenied) as exc:
        if not request.htmx:
            messages.error(request, refusal_text(exc, name_fields=True))
            return HttpResponseRedirect(_version_url(version) + "#comments")
        return _render_version(
            request,
            version,
            "discussion",
            status=422,
            refresh=False,
            discussion_error=refusal_text(exc, name_fields=True),
        )
    if not request.htmx:
        return HttpResponseRedirect(_version_url(version) + "#comments")
    return _render_version(request, version, "discussion")


@login_required
@require_POST
def signoff_post(request: AuthenticatedRequest, slug: str, number: int) -> HttpResponse:
    version = _version_or_404(slug, number)
    # Any team may be named; the service refuses, with the reason, a team the
    # person does not belong to or the profile does not ask.
    form = SignOffForm(request.POST, teams=Team.objects.all())
    status = 422
    if form.is_valid():
        try:
            services.signoff_give(actor=request.user, version=version, **form.cleaned_data)
        except services.StaleRevisionError as exc:
            form.add_error(
                None,
                exc.messages[0].replace(
                    "Your input is kept below; check the current state and save again.",
                    "Read the changes, then record your decision on the current revision.",
                ),
            )
            status = 409
        except ValidationError as exc:
            add_refusal_to_form(form, exc)
        except PermissionDenied as exc:
            form.add_error(None, refusal_text(exc, name_fields=True))
        else:
            team = form.cleaned_data["team"]
            messages.success(
                request, f"Recorded {team.name}'s decision on revision {version.revision}."
            )
            return redirect(_version_url(version))
    return _render_version(request, version, "signoffs", status=status, signoff_form=form)


@login_required
@require_POST
def version_transition(
    request: AuthenticatedRequest, slug: str, number: int, action: str
) -> HttpResponse:
    """Submit, withdraw or approve: each is one service call and a message."""
    version = _version_or_404(slug, number)
    if action not in ("submit", "withdraw", "approve"):
        raise Http404(f"There is no {action!r} action on a version.")
    try:
        if action == "submit":
            services.version_submit(actor=request.user, version=version)
            messages.success(
                request, f"v{version.number} is in review: required teams may sign off."
            )
        elif action == "withdraw":
            services.version_withdraw(
                actor=request.user, version=version, reason=request.POST.get("reason", "")
            )
            messages.success(request, f"v{version.number} was withdrawn.")
        else:
            revision = request.POST.get("revision")
            services.version_approve(
                actor=request.user,
                version=version,
                revision=_int(revision) if revision is not None else None,
            )
            messages.success(request, f"v{version.number} is approved and live.")
    except services.StaleRevisionError as exc:
        messages.error(
            request,
            exc.messages[0].replace(
                "Your input is kept below; check the current state and save again.",
                "Read the changes on the page before you try again.",
            ),
        )
    except ValidationError as exc:
        what = {"submit": "submitted", "withdraw": "withdrawn", "approve": "approved"}[action]
        text = refusal_text(exc, name_fields=True)
        messages.error(request, f"v{version.number} cannot be {what} yet: {text}")
    except PermissionDenied as exc:
        messages.error(request, refusal_text(exc, name_fields=True))
    return redirect(_version_url(version))


# --- Helpers ----------------------------------------------------------------


def _int(raw: Any) -> int:
    try:
        return int(raw)
    except (TypeError, ValueError):
        return -1


def _profile_or_404(slug: str) -> Profile:
    try:
        return profile_get(slug=slug)
    except Profile.DoesNotExist:
        raise Http404(f"No profile {slug!r}.") from None


def _version_or_404(slug: str, number: int) -> ProfileVersion:
    profile = _profile_or_404(slug)
    try:
        return version_get(profile=profile, number=number)
    except ProfileVersion.DoesNotExist:
        raise Http404(f"{profile.name} has no version {number}.") from None


def _version_url(version: ProfileVersion) -> str:
    return reverse(
        "version-detail", kwargs={"slug": version.profile.slug, "number": version.number}
    )
