"""Every write the product takes, and a world to try them in: the cast of
roles, the state each write acts on, and one row per page POST and API
write saying which roles may make it. The permission matrix tries each row
as every role (tests/icpsite/test_permission_matrix.py), and the hostile
corpus sends every API write its bodies (tests/hostile/).

Roles:
  anonymous       not signed in
  outsider        signed in, in no team
  member          a Sales member (the rep)
  other_team      a Marketing member (author of the version in review)
  manager         a Sales manager
  profile_admin   an admin of the profile, in no team
  staff           staff with no permissions and no team
  superuser       a superuser in no team
  read_key        the superuser's read-only API key
  write_key       the Marketing member's write key (acts as them; never a page)
  admin_key       the superuser's admin key (acts as them; never a page)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from rest_framework.test import APIClient

from profiles import services as profile_services
from profiles.models import Comment, Membership, Profile, ProfileVersion, Team, Trait, User
from reviews import services as review_services
from reviews.models import CheckIn, CheckInKind, Notification, NotificationKind, Override
from scoring import services as scoring_services
from scoring.api_keys import api_key_create
from scoring.models import Account, Deal, ImportJob, WebhookSubscription
from tests.drafting import FIT_100, approved_version, fill, sign_all
from tests.factories import AccountFactory, DealFactory, UserFactory
from tests.runs import run_all

ROLES = (
    "anonymous",
    "outsider",
    "member",
    "other_team",
    "manager",
    "profile_admin",
    "staff",
    "superuser",
    "read_key",
    "write_key",
    "admin_key",
)
KEYS = {"read_key", "write_key", "admin_key"}
PEOPLE = {"outsider", "member", "other_team", "manager", "profile_admin", "staff", "superuser"}
TEAM_MEMBERS = {"member", "other_team", "manager"}
SALES = {"member", "manager"}
NONE: set[str] = set()


@dataclass
class World:
    icp: Profile
    live: ProfileVersion
    review: ProfileVersion
    draft: ProfileVersion
    calm: Profile
    open_comment: Comment
    resolved_comment: Comment
    override: Override
    checkin: CheckIn
    webhook: WebhookSubscription
    acme: Account
    tiny: Account
    deal: Deal
    mapping_job: ImportJob
    sales: Team
    trait: Trait
    people: dict[str, User] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)


@pytest.fixture
def world(
    icp: Profile,
    sales: Team,
    revops: Team,
    rep: User,
    marketer: User,
    manager: User,
    ops_manager: User,
    outsider: User,
) -> World:
    """icp: v1 live over two scored accounts (Acme, tier A, lost a deal: a
    surprise), v2 in review with every sign-off, a pending override and an
    open check-in; seg: a v1 draft;
    calm: a live v1 and nothing open; seats: a trait nothing holds yet."""
    acme = AccountFactory.create(name="Acme", external_id="acme", employees=450, has_revops=True)
    tiny = AccountFactory.create(name="Tiny", external_id="tiny", employees=150, has_revops=True)
    live = approved_version(icp, 1, [200, 2000])
    DealFactory.create(external_id="opp-lost", account=acme, status="lost")
    run_all(scoring_services.run_create(profile=icp, version=live, actor=ops_manager))
    review = profile_services.version_start_draft(actor=marketer, profile=icp)
    review = profile_services.version_submit(actor=marketer, version=review)
    sign_all(review, rep, marketer, ops_manager)
    open_comment = profile_services.comment_create(
        actor=rep, version=review, team=sales, body="Is 200 the right floor?"
    )
    resolved_comment = profile_services.comment_create(
        actor=rep, version=review, team=sales, body="Typo in the rationale."
    )
    profile_services.comment_resolve(actor=rep, comment=resolved_comment)
    seg = Profile.objects.create(name="Segment", slug="segment", created_by=ops_manager)
    seg.required_teams.set([sales])
    draft = fill(profile_services.version_start_draft(actor=rep, profile=seg), rep, FIT_100)
    calm = Profile.objects.create(name="Calm", slug="calm", created_by=ops_manager)
    calm.required_teams.set([sales])
    approved_version(calm, 1, [10, 20])
    override = review_services.override_create(
        actor=rep, account=tiny, profile=icp, claimed_tier="A", reason="strategic"
    )
    assert live.approved_at is not None
    checkin = review_services.checkin_open(
        profile=icp, kind=CheckInKind.SCHEDULED, due_on=live.approved_at.date()
    )
    assert checkin is not None
    webhook = WebhookSubscription.objects.create(
        url="https://hooks.example.com/icp", events=["version.approved"], secret="s" * 32
    )
    profile_admin = UserFactory.create(username="padmin")
    icp.admins.add(profile_admin)
    superuser = UserFactory.create(username="root", is_staff=True, is_superuser=True)
    people = {
        "outsider": outsider,
        "member": rep,
        "other_team": marketer,
        "manager": manager,
        "profile_admin": profile_admin,
        "staff": UserFactory.create(username="staffer", is_staff=True),
        "superuser": superuser,
    }
    keys = {
        "read_key": api_key_create(actor=None, name="Reader", user=superuser, scope="read"),
        "write_key": api_key_create(actor=None, name="Sync", user=marketer, scope="write"),
        "admin_key": api_key_create(actor=None, name="Schema", user=superuser, scope="admin"),
    }
    assert Membership.objects.filter(user=manager, role="manager").exists()
    mapping_job = ImportJob.objects.create(
        created_by=manager,
        file_name="export.csv",
        data=b"Ref,Company\np-1,Acme Export\n",
        mode=ImportJob.Mode.ALL_OR_NOTHING,
        status=ImportJob.Status.MAPPING,
    )
    return World(
        icp=icp,
        live=live,
        review=review,
        draft=draft,
        calm=calm,
        open_comment=open_comment,
        resolved_comment=resolved_comment,
        override=override,
        checkin=checkin,
        webhook=webhook,
        acme=acme,
        tiny=tiny,
        deal=DealFactory.create(external_id="opp-1", account=acme, name="Acme renewal"),
        mapping_job=mapping_job,
        sales=sales,
        trait=Trait.objects.create(
            key="seats", label="Seats", type="number", category="firmographic"
        ),
        people=people,
        keys={role: made.plaintext for role, made in keys.items()},
    )


# --- The cases -----------------------------------------------------------------

Build = Callable[[World], Any]


@dataclass(frozen=True)
class Case:
    name: str
    surface: str  # "ui" or "api"
    method: str
    path: Build
    allowed: frozenset[str]
    data: Build = lambda w: {}

    def allows(self, role: str) -> bool:
        if self.surface == "ui":
            return role in self.allowed
        if role == "write_key":  # a key acts with its user's rights, here other_team's
            return "other_team" in self.allowed
        if role == "admin_key":  # the superuser's, with every scope
            return "superuser" in self.allowed
        return role in self.allowed


def ui(name: str, path: Build, allowed: set[str], data: Build = lambda w: {}) -> Case:
    return Case(name, "ui", "post", path, frozenset(allowed), data)


def api(name: str, method: str, path: Build, allowed: set[str], data: Build = lambda w: {}) -> Case:
    return Case(name, "api", method, path, frozenset(allowed), data)


def v(profile: Profile, version: ProfileVersion, rest: str = "") -> str:
    return f"/profiles/{profile.slug}/v{version.number}/{rest}"


def av(profile: Profile, version: ProfileVersion, rest: str = "") -> str:
    return f"/api/v1/profiles/{profile.slug}/versions/{version.number}/{rest}"


def crit(w: World) -> int:
    return w.review.criteria.order_by("position").first().pk  # type: ignore[union-attr]


def managers_notification(w: World) -> int:
    """The Sales manager's first notification (the claim waiting for them)."""
    return Notification.objects.filter(user=w.people["manager"]).order_by("pk")[0].pk


def csv_file(w: World) -> dict[str, Any]:
    body = b"external_id,name,employees\ncrm-9,Nine,300\n"
    return {"file": SimpleUploadedFile("accounts.csv", body, content_type="text/csv")}


def deals_csv_file(w: World) -> dict[str, Any]:
    body = b"external_id,account,name,status,closed_at\nopp-9,acme,Acme expansion,won,2026-11-30\n"
    return {
        "file": SimpleUploadedFile("deals.csv", body, content_type="text/csv"),
        "kind": "deals",
    }


CRITERION = {"attribute": "country", "operator": "in", "points": 0, "kind": "fit"}

UI_CASES = [
    ui(
        "create a profile",
        lambda w: "/profiles/",
        {"superuser"},
        lambda w: {
            "name": "Enterprise",
            "required_teams": [w.sales.pk],
            "checkin_cadence": w.icp.checkin_cadence,
        },
    ),
    ui("start a draft", lambda w: "/profiles/calm/drafts/", TEAM_MEMBERS),
    ui(
        "add a criterion",
        lambda w: v(w.icp, w.review, "criteria/"),
        TEAM_MEMBERS,
        lambda w: {**CRITERION, "value": "US, CA", "revision": w.review.revision},
    ),
    ui(
        "change a criterion",
        lambda w: v(w.icp, w.review, f"criteria/{crit(w)}/"),
        TEAM_MEMBERS,
        lambda w: {
            "attribute": "employees",
            "operator": "between",
            "value": "150, 2000",
            "points": 60,
            "kind": "fit",
            "revision": w.review.revision,
        },
    ),
    ui(
        "remove a criterion",
        lambda w: v(w.icp, w.review, f"criteria/{crit(w)}/delete/"),
        TEAM_MEMBERS,
        lambda w: {"revision": w.review.revision},
    ),
    ui(
        "change the settings",
        lambda w: v(w.icp, w.review, "settings/"),
        TEAM_MEMBERS,
        lambda w: {"revision": w.review.revision, "threshold_a": 75, "threshold_b": 40},
    ),
    ui(
        "comment as Sales",
        lambda w: v(w.icp, w.review, "comments/"),
        SALES,
        lambda w: {"team": w.sales.pk, "body": "Looks right."},
    ),
    ui(
        "resolve a Sales thread",
        lambda w: v(w.icp, w.review, f"comments/{w.open_comment.pk}/resolve/"),
        SALES | {"profile_admin"},
    ),
    ui(
        "sign off for Sales",
        lambda w: v(w.icp, w.review, "signoffs/"),
        SALES,
        lambda w: {
            "team": w.sales.pk,
            "decision": "request_changes",
            "note": "Lower the floor.",
            "revision": w.review.revision,
        },
    ),
    ui("submit a draft", lambda w: v(w.draft.profile, w.draft, "submit/"), TEAM_MEMBERS),
    # The engine answers "country-de" (tests/suggesting.py); the comments are
    # written as Sales.
    ui(
        "adopt suggestions",
        lambda w: v(w.icp, w.review, "suggestions/adopt/"),
        SALES,
        lambda w: {"keys": ["country-de"], "team": "sales"},
    ),
    ui(
        "withdraw a version",
        lambda w: v(w.icp, w.review, "withdraw/"),
        {"other_team", "profile_admin"},
    ),
    ui(
        "approve a version",
        lambda w: v(w.icp, w.review, "approve/"),
        {"profile_admin"},
        lambda w: {"revision": w.review.revision},
    ),
    ui(
        "import accounts",
        lambda w: "/accounts/import/",
        {"manager", "superuser"},
        csv_file,
    ),
    ui(
        "import deals",
        lambda w: "/accounts/import/",
        {"manager", "superuser"},
        deals_csv_file,
    ),
    ui(
        "choose the columns of an import",
        lambda w: f"/accounts/import/{w.mapping_job.pk}/columns/",
        {"manager", "superuser"},
        lambda w: {"column_0": "external_id", "column_1": "name", "action": "import"},
    ),
    ui(
        "mark a queue item reviewed",
        lambda w: "/reviews/marks/",
        PEOPLE,
        lambda w: {"kind": "override", "object_id": w.override.pk},
    ),
    ui(
        "mark a group of surprises reviewed",
        lambda w: "/reviews/marks/surprises/",
        PEOPLE,
        lambda w: {"kind": "lost"},
    ),
    ui("finish a review", lambda w: "/reviews/checkpoint/", PEOPLE),
    ui(
        "accept an override",
        lambda w: f"/reviews/overrides/{w.override.pk}/accept/",
        {"manager", "profile_admin"},
        lambda w: {"note": "Fair."},
    ),
    ui(
        "log an override on an account",
        lambda w: f"/reviews/accounts/{w.acme.pk}/overrides/",
        TEAM_MEMBERS,
        lambda w: {"profile": w.icp.pk, "claimed_tier": "B", "reason": "timing"},
    ),
    ui(
        "close a check-in",
        lambda w: f"/reviews/checkins/{w.checkin.pk}/",
        {"manager", "profile_admin"},
        lambda w: {"outcome": "no_change", "note": "Holding up."},
    ),
    ui("clear the news on My work", lambda w: "/reviews/my-work/clear/", PEOPLE),
    ui(
        "mark a notification read",
        lambda w: f"/reviews/notifications/{managers_notification(w)}/read/",
        {"manager"},
    ),
    # Only those with unread notifications in this world have any to mark.
    ui("mark every notification read", lambda w: "/reviews/notifications/read/", SALES),
    ui(
        "choose what is emailed",
        lambda w: "/reviews/notifications/preferences/",
        PEOPLE,
        lambda w: dict.fromkeys(NotificationKind.values, "off"),
    ),
]

API_CASES = [
    api(
        "create a profile",
        "post",
        lambda w: "/api/v1/profiles/",
        {"superuser"},
        lambda w: {"name": "Enterprise", "required_teams": ["sales"]},
    ),
    api("start a draft", "post", lambda w: "/api/v1/profiles/calm/versions/", TEAM_MEMBERS),
    api(
        "change the settings",
        "patch",
        lambda w: av(w.icp, w.review),
        TEAM_MEMBERS,
        lambda w: {"revision": w.review.revision, "threshold_a": 75},
    ),
    api(
        "approve",
        "post",
        lambda w: av(w.icp, w.review, "approve/"),
        {"profile_admin"},
        lambda w: {"revision": w.review.revision},
    ),
    api(
        "request changes for Sales",
        "post",
        lambda w: av(w.icp, w.review, "request-changes/"),
        SALES,
        lambda w: {"team": "sales", "note": "Lower the floor.", "revision": w.review.revision},
    ),
    api("submit", "post", lambda w: av(w.draft.profile, w.draft, "submit/"), TEAM_MEMBERS),
    api(
        "adopt suggestions",
        "post",
        lambda w: av(w.icp, w.review, "suggestions/adopt/"),
        SALES,
        lambda w: {"keys": ["country-de"], "team": "sales"},
    ),
    api(
        "withdraw",
        "post",
        lambda w: av(w.icp, w.review, "withdraw/"),
        {"other_team", "profile_admin"},
    ),
    api(
        "add a criterion",
        "post",
        lambda w: av(w.icp, w.review, "criteria/"),
        TEAM_MEMBERS,
        lambda w: {**CRITERION, "value": ["US"], "revision": w.review.revision},
    ),
    api(
        "replace a criterion",
        "put",
        lambda w: av(w.icp, w.review, f"criteria/{crit(w)}/"),
        TEAM_MEMBERS,
        lambda w: {**CRITERION, "value": ["US"], "revision": w.review.revision},
    ),
    api(
        "change a criterion",
        "patch",
        lambda w: av(w.icp, w.review, f"criteria/{crit(w)}/"),
        TEAM_MEMBERS,
        lambda w: {"points": 50, "revision": w.review.revision},
    ),
    api(
        "remove a criterion",
        "delete",
        lambda w: av(w.icp, w.review, f"criteria/{crit(w)}/?revision={w.review.revision}"),
        TEAM_MEMBERS,
    ),
    api(
        "comment as Sales",
        "post",
        lambda w: av(w.icp, w.review, "comments/"),
        SALES,
        lambda w: {"team": "sales", "body": "Looks right."},
    ),
    api(
        "resolve a Sales thread",
        "post",
        lambda w: av(w.icp, w.review, f"comments/{w.open_comment.pk}/resolve/"),
        SALES | {"profile_admin"},
    ),
    api(
        "reopen a Sales thread",
        "post",
        lambda w: av(w.icp, w.review, f"comments/{w.resolved_comment.pk}/unresolve/"),
        SALES | {"profile_admin"},
    ),
    api(
        "sign off for Sales",
        "post",
        lambda w: av(w.icp, w.review, "signoffs/"),
        SALES,
        lambda w: {
            "team": "sales",
            "decision": "request_changes",
            "note": "Lower the floor.",
            "revision": w.review.revision,
        },
    ),
    api(
        "upsert accounts",
        "post",
        lambda w: "/api/v1/accounts/bulk-upsert/",
        {"manager", "superuser"},
        lambda w: {"accounts": [{"external_id": "crm-9", "name": "Nine"}]},
    ),
    api(
        "record outcomes",
        "post",
        lambda w: "/api/v1/accounts/outcomes/",
        {"manager", "superuser"},
        lambda w: {
            "outcomes": [
                {"external_id": "acme", "deal_status": "won", "deal_closed_at": "2026-11-30"}
            ]
        },
    ),
    api(
        "remove an account", "delete", lambda w: "/api/v1/accounts/acme/", {"manager", "superuser"}
    ),
    api(
        "remove accounts in bulk",
        "post",
        lambda w: "/api/v1/accounts/bulk-delete/",
        {"manager", "superuser"},
        lambda w: {"external_ids": ["acme", "crm-unknown"]},
    ),
    api(
        "merge accounts",
        "post",
        lambda w: "/api/v1/accounts/merge/",
        {"manager", "superuser"},
        lambda w: {"into": "acme", "from": ["tiny"]},
    ),
    api(
        "upsert deals",
        "post",
        lambda w: "/api/v1/deals/bulk-upsert/",
        {"manager", "superuser"},
        lambda w: {
            "deals": [
                {
                    "external_id": "opp-9",
                    "account": "acme",
                    "name": "Acme expansion",
                    "type": "expansion",
                    "status": "won",
                    "closed_at": "2026-11-30",
                    "amount": 12000,
                    "currency": "EUR",
                }
            ]
        },
    ),
    api(
        "remove a deal",
        "delete",
        lambda w: f"/api/v1/deals/{w.deal.external_id}/",
        {"manager", "superuser"},
    ),
    api(
        "subscribe a webhook",
        "post",
        lambda w: "/api/v1/webhooks/",
        {"superuser"},
        lambda w: {"url": "https://hooks.example.com/other", "events": ["version.approved"]},
    ),
    api(
        "change a webhook",
        "patch",
        lambda w: f"/api/v1/webhooks/{w.webhook.pk}/",
        {"superuser"},
        lambda w: {"is_active": False},
    ),
    api(
        "rotate a webhook's secret",
        "post",
        lambda w: f"/api/v1/webhooks/{w.webhook.pk}/rotate-secret/",
        {"superuser"},
    ),
    api("remove a webhook", "delete", lambda w: f"/api/v1/webhooks/{w.webhook.pk}/", {"superuser"}),
    api(
        "declare a trait",
        "post",
        lambda w: "/api/v1/traits/",
        {"superuser"},  # holders of profiles.add_trait; with a key, an admin key
        lambda w: {"key": "plan", "label": "Plan", "type": "category", "category": "firmographic"},
    ),
    api(
        "change a trait",
        "patch",
        lambda w: f"/api/v1/traits/{w.trait.key}/",
        {"superuser"},
        lambda w: {"label": "Licensed seats", "type": "list"},
    ),
    api("remove a trait", "delete", lambda w: f"/api/v1/traits/{w.trait.key}/", {"superuser"}),
    api(
        "log an override in the rep's name",
        "post",
        lambda w: "/api/v1/reviews/overrides/",
        SALES | {"superuser"},  # superusers hold reviews.add_override
        lambda w: {
            "profile": w.icp.slug,
            "account": "acme",
            "rep": w.people["member"].email,
            "claimed_tier": "B",
            "reason": "timing",
        },
    ),
    api(
        "accept an override",
        "post",
        lambda w: f"/api/v1/reviews/overrides/{w.override.pk}/accept/",
        {"manager", "profile_admin"},
    ),
    api(
        "reject an override",
        "post",
        lambda w: f"/api/v1/reviews/overrides/{w.override.pk}/reject/",
        {"manager", "profile_admin"},
        lambda w: {"note": "Tiny is too small for A."},
    ),
    api(
        "close a check-in",
        "post",
        lambda w: f"/api/v1/reviews/checkins/{w.checkin.pk}/outcome/",
        {"manager", "profile_admin"},
        lambda w: {"outcome": "no_change", "note": "Holding up."},
    ),
]

CASES = UI_CASES + API_CASES


# --- Trying a case as a role ---------------------------------------------------


def client_for(world: World, case: Case, role: str) -> Client:
    client: Client = APIClient() if case.surface == "api" else Client()
    if role in KEYS:
        client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {world.keys[role]}"
    elif role != "anonymous":
        client.force_login(world.people[role])
    return client


def attempt(client: Client, world: World, case: Case) -> Any:
    world.review.refresh_from_db()
    send = getattr(client, case.method)
    url, data = case.path(world), case.data(world)
    if case.surface == "api":
        return send(url, data, format="json") if data else send(url)
    return send(url, data)


def rolled_back() -> Iterator[None]:
    """A savepoint undone afterwards, so the next role meets the same state."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def refused(case: Case, role: str, response: Any) -> bool:
    if case.surface == "api":
        return response.status_code in (401, 403, 404)
    if role == "anonymous" or role in KEYS:
        return response.status_code == 302 and "/accounts/login/" in response["Location"]
    return response.status_code < 500
