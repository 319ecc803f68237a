"""My work: exactly what each person may act on, on the dashboard's panel,
its own page and as a count in the navigation; each item leaves the moment
it is acted on, and the count costs one query on every page."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from profiles import policies as profile_policies
from profiles import services as profile_services
from profiles.models import Comment, Profile, ProfileVersion, Team, User
from reviews import policies, services
from reviews.models import CheckIn, CheckInKind, Override
from reviews.mywork import services as mywork
from reviews.mywork.selectors import MyWork, my_work_counts, my_work_get
from scoring.models import Account, ScoringRun
from tests.drafting import sign_for
from tests.factories import AccountFactory, MembershipFactory
from tests.runs import run_all

pytestmark = pytest.mark.django_db

ROLES = ("rep", "manager", "marketer", "ops_manager", "outsider")


class Scene:
    """icp's v1 is live and scored; v2, drafted by the marketer, is in
    review with a Sales thread and a RevOps thread the marketer replied in;
    the rep claims Tiny is A; a scheduled check-in is due today."""

    def __init__(self, people: dict[str, User], v2: ProfileVersion, **things: Any) -> None:
        self.people = people
        self.v2 = v2
        self.sales_thread: Comment = things["sales_thread"]
        self.revops_thread: Comment = things["revops_thread"]
        self.override: Override = things["override"]
        self.checkin: CheckIn = things["checkin"]


@pytest.fixture
def scene(
    icp: Profile,
    live_run: ScoringRun,
    tiny: Account,
    rep: User,
    manager: User,
    marketer: User,
    ops_manager: User,
    outsider: User,
    sales: Team,
    marketing: Team,
    revops: Team,
) -> Scene:
    v2 = profile_services.version_start_draft(actor=marketer, profile=icp)
    v2 = profile_services.version_submit(actor=marketer, version=v2)
    sales_thread = profile_services.comment_create(
        actor=rep, version=v2, team=sales, body="Is 200 the right floor?"
    )
    revops_thread = profile_services.comment_create(
        actor=ops_manager, version=v2, team=revops, body="Does RevOps count as a team?"
    )
    profile_services.comment_create(
        actor=marketer, version=v2, team=marketing, body="We think so.", parent=revops_thread
    )
    override = services.override_create(
        actor=rep, account=tiny, profile=icp, claimed_tier="A", reason="strategic"
    )
    checkin = services.checkin_open(
        profile=icp, kind=CheckInKind.SCHEDULED, due_on=timezone.localdate()
    )
    assert checkin is not None
    people = {
        "rep": rep,
        "manager": manager,
        "marketer": marketer,
        "ops_manager": ops_manager,
        "outsider": outsider,
    }
    return Scene(
        people,
        v2,
        sales_thread=sales_thread,
        revops_thread=revops_thread,
        override=override,
        checkin=checkin,
    )


def summary(work: MyWork) -> dict[str, list[Any]]:
    """What a panel lists, by section, in words a test can compare."""
    return {
        "signoffs": [(s.version.number, s.team.slug, s.stale) for s in work.signoffs],
        "threads": [c.body for c in work.threads],
        "overrides": [o.account.external_id for o in work.overrides],
        "checkins": [c.pk for c in work.checkins],
        "decided": [o.account.external_id for o in work.decided],
        "runs": [r.pk for r in work.runs],
    }


def listed(user: User) -> dict[str, list[Any]]:
    return {section: items for section, items in summary(my_work_get(viewer=user)).items() if items}


def test_each_role_sees_exactly_what_is_theirs_to_act_on(scene: Scene) -> None:
    sales_q, revops_q = "Is 200 the right floor?", "Does RevOps count as a team?"
    checkin = scene.checkin.pk
    assert {role: listed(user) for role, user in scene.people.items()} == {
        "rep": {"signoffs": [(2, "sales", False)], "threads": [sales_q]},
        "manager": {
            "signoffs": [(2, "sales", False)],
            "threads": [sales_q],
            "overrides": ["tiny"],
            "checkins": [checkin],
        },
        "marketer": {"signoffs": [(2, "marketing", False)], "threads": [revops_q]},
        "ops_manager": {
            "signoffs": [(2, "revops", False)],
            "threads": [revops_q],
            "checkins": [checkin],
        },
        "outsider": {},
    }


def test_the_items_are_exactly_those_the_policies_let_each_person_act_on(
    scene: Scene, sales: Team, marketing: Team, revops: Team
) -> None:
    for user in scene.people.values():
        work = summary(my_work_get(viewer=user))
        may_sign = {
            team.slug
            for team in (sales, marketing, revops)
            if profile_policies.can_sign_off(user, scene.v2, team)
        }
        assert {slug for _, slug, _ in work["signoffs"]} == may_sign, user
        decides = bool(policies.can_review_override(user, scene.override))
        assert work["overrides"] == (["tiny"] if decides else []), user
        closes = bool(policies.can_close_checkin(user, scene.checkin.profile))
        assert work["checkins"] == ([scene.checkin.pk] if closes else []), user


def test_the_count_is_what_the_panel_lists(scene: Scene) -> None:
    for user in scene.people.values():
        work = my_work_get(viewer=user)
        lists = sum(len(items) for items in summary(work).values())
        assert my_work_counts(viewer=user).total == work.counts.total == lists, user


def test_the_navigation_shows_the_count_on_every_page(scene: Scene, client: Client) -> None:
    client.force_login(scene.people["manager"])
    for url in ("/", "/profiles/", "/reviews/", reverse("notification-list")):
        html = client.get(url).content.decode()
        assert 'data-testid="my-work-count">4</span>' in html, url
    client.force_login(scene.people["outsider"])
    assert 'data-testid="my-work-count"' not in client.get("/").content.decode()


def test_the_dashboard_loads_the_panel_and_the_panel_links_where_to_act(
    scene: Scene, client: Client
) -> None:
    client.force_login(scene.people["manager"])
    dashboard = client.get("/").content.decode()
    assert f'hx-get="{reverse("my-work")}"' in dashboard
    panel = client.get(reverse("my-work"), headers={"HX-Request": "true"}).content.decode()
    assert "<html" not in panel
    v2 = f"/profiles/{scene.v2.profile.slug}/v2/"
    assert f'href="{v2}#signoffs"' in panel
    assert f'href="{v2}#thread-{scene.sales_thread.pk}"' in panel
    assert f'href="/reviews/queue/overrides/{scene.override.pk}/"' in panel
    assert f'href="/reviews/checkins/{scene.checkin.pk}/"' in panel
    page = client.get(reverse("my-work")).content.decode()
    assert "<html" in page
    assert '<h1 id="my-work-h">My work' in page


def test_an_override_link_opens_its_row_on_the_queue_page_that_holds_it(
    scene: Scene, client: Client, icp: Profile, rep: User, manager: User
) -> None:
    accounts = AccountFactory.create_batch(26, employees=450)
    for account in accounts:
        services.override_create(
            actor=rep, account=account, profile=icp, claimed_tier="C", reason="timing"
        )
    last = Override.objects.order_by("-created_at", "-id").first()
    assert last is not None
    client.force_login(manager)
    response = client.get(reverse("queue-override", args=[last.pk]))
    assert response["Location"] == f"/reviews/?all=1&op=2#override-{last.pk}"
    queue = client.get(response["Location"].split("#")[0]).content.decode()
    assert f'id="override-{last.pk}"' in queue
    client.force_login(rep)
    mine = client.get(reverse("queue-override", args=[last.pk]))
    assert mine["Location"] == f"/accounts/{last.account_id}/#overrides"


# --- Acting clears an item ----------------------------------------------------------


def test_signing_off_clears_the_teams_sign_off_for_every_member(scene: Scene, sales: Team) -> None:
    rep, manager = scene.people["rep"], scene.people["manager"]
    profile_services.signoff_give(actor=rep, version=scene.v2, team=sales, decision="approve")
    assert "signoffs" not in listed(rep)
    assert "signoffs" not in listed(manager)
    assert listed(scene.people["marketer"])["signoffs"] == [(2, "marketing", False)]


def test_a_stale_sign_off_comes_back_to_the_team(scene: Scene, sales: Team) -> None:
    rep, marketer = scene.people["rep"], scene.people["marketer"]
    profile_services.signoff_give(actor=rep, version=scene.v2, team=sales, decision="approve")
    scene.v2.refresh_from_db()
    profile_services.version_update(
        actor=marketer, version=scene.v2, revision=scene.v2.revision, rationale="Tighter.",
        threshold_a=75, threshold_b=40,
    )  # fmt: skip
    assert listed(rep)["signoffs"] == [(2, "sales", True)]
    assert listed(scene.people["manager"])["signoffs"] == [(2, "sales", True)]
    [owed] = my_work_get(viewer=rep).signoffs
    assert owed.signoff is not None
    assert (owed.signoff.revision, owed.version.revision) == (1, 2)


def test_requesting_changes_takes_the_version_out_of_everyones_sign_offs(
    scene: Scene, sales: Team
) -> None:
    profile_services.signoff_give(
        actor=scene.people["manager"], version=scene.v2, team=sales,
        decision="request_changes", note="Lower the floor.",
    )  # fmt: skip
    for user in scene.people.values():
        assert "signoffs" not in listed(user)


def test_resolving_a_thread_clears_it(scene: Scene) -> None:
    profile_services.comment_resolve(actor=scene.people["manager"], comment=scene.sales_thread)
    assert "threads" not in listed(scene.people["rep"])
    assert "threads" not in listed(scene.people["manager"])


def test_deciding_a_claim_clears_it_and_tells_the_rep_until_they_clear_the_news(
    scene: Scene, icp: Profile, acme: Account
) -> None:
    rep, manager = scene.people["rep"], scene.people["manager"]
    services.override_accept(actor=manager, override=scene.override, note="Fair.")
    assert "overrides" not in listed(manager)
    assert listed(rep)["decided"] == ["tiny"]
    assert my_work_counts(viewer=rep).decided == 1
    mywork.my_work_clear(actor=rep)
    assert "decided" not in listed(rep)
    later = services.override_create(
        actor=rep, account=acme, profile=icp, claimed_tier="C", reason="timing"
    )
    services.override_reject(actor=manager, override=later, note="Acme buys.")
    assert listed(rep)["decided"] == ["acme"]


def test_clearing_leaves_what_came_after_the_panel_was_made(
    scene: Scene, icp: Profile, acme: Account
) -> None:
    rep, manager = scene.people["rep"], scene.people["manager"]
    made_at = timezone.now() - timedelta(seconds=30)
    services.override_accept(actor=manager, override=scene.override)
    mywork.my_work_clear(actor=rep, through=made_at)
    assert listed(rep)["decided"] == ["tiny"]
    mywork.my_work_clear(actor=rep, through=made_at - timedelta(days=1))
    assert listed(rep)["decided"] == ["tiny"]  # never moves back


def test_closing_a_check_in_clears_it(scene: Scene) -> None:
    services.checkin_close(
        actor=scene.people["ops_manager"], checkin=scene.checkin, outcome="no_change",
        note="Holding up.",
    )  # fmt: skip
    assert "checkins" not in listed(scene.people["manager"])
    assert "checkins" not in listed(scene.people["ops_manager"])


def test_a_finished_run_is_news_for_whoever_signed_the_version(scene: Scene, icp: Profile) -> None:
    people = scene.people
    sign_for(
        scene.v2, {"sales": people["rep"], "marketing": people["marketer"],
                   "revops": people["ops_manager"]},
    )  # fmt: skip
    profile_services.version_approve(actor=people["ops_manager"], version=scene.v2)
    run = ScoringRun.objects.get(version=scene.v2)
    assert "runs" not in listed(people["rep"])  # queued, not finished
    run_all(run)
    for role in ("rep", "marketer", "ops_manager"):
        assert listed(people[role])["runs"] == [run.pk], role
    assert "runs" not in listed(people["manager"])
    assert "signoffs" not in listed(people["rep"])  # v2 is live: nothing to sign
    assert "threads" not in listed(people["rep"])  # nor to discuss


def test_clearing_the_news_from_the_panel_keeps_the_rest(scene: Scene, client: Client) -> None:
    rep, manager = scene.people["rep"], scene.people["manager"]
    services.override_accept(actor=manager, override=scene.override)
    client.force_login(rep)
    panel = client.get(reverse("my-work"), headers={"HX-Request": "true"})
    assert 'data-testid="work-decided-tiny"' in panel.content.decode()
    made_at = panel.context["made_at"]
    response = client.post(
        reverse("my-work-clear"), {"through": made_at}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="work-decided-tiny"' not in html
    assert 'data-testid="work-signoff-sales"' in html


def test_a_bad_moment_to_clear_through_is_a_400_naming_it(scene: Scene, client: Client) -> None:
    client.force_login(scene.people["rep"])
    response = client.post(reverse("my-work-clear"), {"through": "0000-00-00"})
    assert response.status_code == 400
    assert response.content.decode().startswith("through: ")


# --- Cost ----------------------------------------------------------------------------


def grow(scene: Scene, n: int, icp: Profile) -> None:
    """n more of everything on the manager's and the rep's My work."""
    rep, manager = scene.people["rep"], scene.people["manager"]
    sales = Team.objects.get(slug="sales")
    for i in range(n):
        profile_services.comment_create(
            actor=rep, version=scene.v2, team=sales, body=f"Question {i}"
        )
        account = AccountFactory.create(employees=450)
        claim = services.override_create(
            actor=rep, account=account, profile=icp, claimed_tier="C", reason="timing"
        )
        if i % 2:
            services.override_accept(actor=manager, override=claim)
        services.checkin_open(
            profile=icp, kind=CheckInKind.SCHEDULED,
            due_on=timezone.localdate() - timedelta(days=i + 1),
        )  # fmt: skip
        MembershipFactory.create(team=sales)


def with_roles(user: User) -> User:
    """The user as a page holds them: their roles read (by the navigation's teams)."""
    fresh = User.objects.get(pk=user.pk)
    profile_policies.roles_of(fresh)
    return fresh


@pytest.mark.parametrize("who", ["manager", "rep"])
def test_the_panel_and_the_count_cost_the_same_for_few_or_many_items(
    scene: Scene,
    icp: Profile,
    client: Client,
    who: str,
    django_assert_max_num_queries: Any,
    django_assert_num_queries: Any,
) -> None:
    user = scene.people[who]
    client.force_login(user)

    def panel() -> None:
        assert client.get(reverse("my-work"), headers={"HX-Request": "true"}).status_code == 200

    with django_assert_max_num_queries(PANEL_QUERIES) as few:
        panel()
    viewer = with_roles(user)
    with django_assert_num_queries(1):
        assert my_work_counts(viewer=viewer).total > 0
    grow(scene, 12, icp)
    with django_assert_max_num_queries(PANEL_QUERIES) as many:
        panel()
    assert len(many) == len(few)
    viewer = with_roles(user)
    with django_assert_num_queries(1):
        assert my_work_counts(viewer=viewer).total > 12


# The panel: session, user, the person's roles (for the queue's rules), the
# counts, the sign-offs owed (pairs, versions, their sign-offs), one query for
# each other section, and the navigation's teams.
PANEL_QUERIES = 13


def test_only_a_page_counts_not_the_fragments_it_loads(scene: Scene, client: Client) -> None:
    """The count is worked out when the navigation shows it (a page, or the
    navigation reloading after a write), in one query; the fragments a page
    loads with HTMX do not pay for it."""
    client.force_login(scene.people["rep"])

    def counting(url: str, **headers: str) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url, headers=headers).status_code == 200
        return sum("counted" in q["sql"] for q in captured.captured_queries)

    slug = scene.v2.profile.slug
    assert counting("/") == 1
    assert counting(reverse("my-work-nav"), **{"HX-Request": "true"}) == 1
    assert counting(reverse("run-progress", args=[slug]), **{"HX-Request": "true"}) == 0
    assert counting(reverse("version-evidence", args=[slug, 2]), **{"HX-Request": "true"}) == 0


def test_the_navigation_reloads_its_counts_after_a_write_made_in_place(
    scene: Scene, client: Client
) -> None:
    manager = scene.people["manager"]
    client.force_login(manager)
    nav = client.get("/").content.decode()
    assert f'data-counts-url="{reverse("my-work-nav")}"' in nav
    services.override_accept(actor=manager, override=scene.override)
    fresh = client.get(
        reverse("my-work-nav"), headers={"HX-Request": "true", "HX-Current-URL": "/reviews/"}
    ).content.decode()
    assert 'data-testid="my-work-count">3</span>' in fresh
    assert "<html" not in fresh
