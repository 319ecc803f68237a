from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from demo.seed import PEOPLE, PROFILE_SLUG
from profiles.models import (
    Comment,
    Criterion,
    Membership,
    Profile,
    ProfileVersion,
    SignOff,
    Team,
    User,
    VersionEvent,
)
from profiles.selectors import signoff_states, version_approval_problems
from scoring.models import Account, AccountScore, Deal, ScoringRun


def seed(*args: str) -> str:
    """Run seed_demo; a small account base unless the test asks for one."""
    out = StringIO()
    if "--accounts" not in args:
        args = (*args, "--accounts", "300")
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_it_makes_five_teams_with_managers_and_members() -> None:
    output = seed()
    assert sorted(Team.objects.values_list("function", flat=True)) == sorted(
        ["sales", "marketing", "customer_success", "product", "revops"]
    )
    assert User.objects.count() == len(PEOPLE) == 13
    for team in Team.objects.all():
        roles = set(team.memberships.values_list("role", flat=True))
        assert Membership.Role.MANAGER in roles or Membership.Role.ADMIN in roles, team
    assert "password for all: icpsite-demo" in output
    assert "13 people in 5 teams" in output


@pytest.mark.django_db
def test_the_printed_login_works() -> None:
    seed("--password", "a-long-demo-password")
    ada = User.objects.get(username="ada")
    assert ada.check_password("a-long-demo-password")
    assert ada.is_superuser
    assert ada.is_staff
    assert not User.objects.get(username="liam").is_staff


@pytest.mark.django_db
def test_running_it_twice_changes_nothing() -> None:
    seed()
    snapshot = sorted(Membership.objects.values_list("user__username", "team__slug", "role"))
    seed()
    assert (
        sorted(Membership.objects.values_list("user__username", "team__slug", "role")) == snapshot
    )
    assert User.objects.count() == 13
    assert Team.objects.count() == 5


@pytest.mark.django_db
def test_reset_removes_the_demo_and_keeps_other_data() -> None:
    seed()
    User.objects.create_user("keeper", "keeper@example.com", "x-long-password")
    Membership.objects.filter(user__username="liam").delete()
    seed("--reset")
    assert Membership.objects.filter(user__username="liam").count() == 1
    assert User.objects.filter(username="keeper").exists()


@pytest.mark.django_db
def test_it_refuses_a_short_password_and_writes_nothing() -> None:
    with pytest.raises(CommandError, match="--password: use at least 8 characters"):
        seed("--password", "short")
    assert User.objects.count() == 0
    assert Profile.objects.count() == 0


# --- The ICP --------------------------------------------------------------------

V1_CRITERIA = [
    ("country", "in", ["KP", "IR", "SY", "CU"], 0, "disqualifier"),
    ("crm", "in", ["Salesforce", "HubSpot"], 25, "fit"),
    ("employees", "between", [200, 2000], 30, "fit"),
    ("funding_stage", "in", ["Series B", "Series C", "Series D", "Public"], 15, "fit"),
    ("has_revops", "is_true", None, 10, "fit"),
    ("industry", "in", ["B2C retail", "Consumer"], 0, "disqualifier"),
    ("industry", "in", ["SaaS", "Software", "Fintech"], 20, "fit"),
]


def criteria_of(version: ProfileVersion) -> list[tuple[object, ...]]:
    return sorted(
        version.criteria.values_list("attribute", "operator", "value", "points", "kind"),
        key=repr,
    )


def content() -> dict[str, object]:
    """Everything the demo profile holds, without ids or timestamps."""
    profile = Profile.objects.get(slug=PROFILE_SLUG)
    return {
        "versions": list(
            profile.versions.order_by("number").values_list(
                "number", "status", "revision", "parent__number", "rationale"
            )
        ),
        "criteria": sorted(
            Criterion.objects.filter(version__profile=profile).values_list(
                "version__number", "attribute", "operator", "value", "points", "kind", "rationale"
            ),
            key=repr,
        ),
        "comments": list(
            Comment.objects.filter(version__profile=profile)
            .order_by("id")
            .values_list(
                "version__number",
                "team__slug",
                "author__username",
                "criterion__attribute",
                "parent__author__username",
                "resolved",
                "resolved_by__username",
                "body",
            )
        ),
        "signoffs": sorted(
            SignOff.objects.filter(version__profile=profile).values_list(
                "version__number", "team__slug", "user__username", "decision", "revision", "note"
            )
        ),
        "events": list(
            VersionEvent.objects.filter(version__profile=profile)
            .order_by("id")
            .values_list("version__number", "actor__username", "verb", "summary", "revision")
        ),
    }


@pytest.mark.django_db
def test_it_makes_the_mid_market_profile_with_its_teams() -> None:
    seed()
    profile = Profile.objects.get(slug=PROFILE_SLUG)
    assert profile.name == "Mid-market B2B SaaS"
    assert sorted(profile.required_teams.values_list("function", flat=True)) == [
        "customer_success",
        "marketing",
        "revops",
        "sales",
    ]
    assert list(profile.approving_teams.values_list("slug", flat=True)) == ["revops"]
    assert list(profile.admins.values_list("username", flat=True)) == ["ada"]
    assert profile.created_by.username == "riley"
    assert profile.checkin_cadence == Profile.Cadence.QUARTERLY


@pytest.mark.django_db
def test_v1_was_approved_with_the_agreed_criteria_and_every_sign_off() -> None:
    seed()
    v1 = ProfileVersion.objects.get(profile__slug=PROFILE_SLUG, number=1)
    assert (v1.status, v1.approved_by.username if v1.approved_by else None) == (
        "superseded",
        "riley",
    )
    assert criteria_of(v1) == sorted(V1_CRITERIA, key=repr)
    assert sorted(v1.signoffs.values_list("team__slug", "decision", "revision")) == [
        ("customer-success", "approve", v1.revision),
        ("marketing", "approve", v1.revision),
        ("revops", "approve", v1.revision),
        ("sales", "approve", v1.revision),
    ]
    assert not v1.comments.exists()


@pytest.mark.django_db
def test_v4_is_a_copy_of_v3_in_review_with_three_edits() -> None:
    seed()
    *_, v1, v2 = ProfileVersion.objects.filter(profile__slug=PROFILE_SLUG).order_by("number")
    assert (v2.status, v2.parent_id, v2.submitted_by.username if v2.submitted_by else None) == (
        "in_review",
        v1.pk,
        "jonas",
    )
    assert sorted(v2.criteria.values_list("lineage", flat=True)) == sorted(
        v1.criteria.values_list("lineage", flat=True)
    )
    edited = {
        "employees": ("employees", "between", [150, 2500], 30, "fit"),
        "crm": ("crm", "in", ["Salesforce", "HubSpot"], 35, "fit"),
        "has_revops": ("has_revops", "is_true", None, 5, "fit"),
        "funding_stage": (
            "funding_stage",
            "in",
            ["Series B", "Series C", "Series D", "Public"],
            10,
            "fit",
        ),
    }
    expected = [edited.get(str(c[0]), c) for c in V1_CRITERIA]
    assert criteria_of(v2) == sorted(expected, key=repr)
    changes = list(
        v2.events.filter(verb=VersionEvent.Verb.CRITERION_CHANGED)
        .order_by("id")
        .values_list("actor__username", "summary")
    )
    assert changes == [
        ("sofia", "Employees is between 150 and 2,500 (value, rationale)"),
        ("jonas", "CRM is one of Salesforce, HubSpot (points, rationale)"),
        ("jonas", "Has RevOps is true (points, rationale)"),
    ]


@pytest.mark.django_db
def test_v4_has_comments_from_three_teams_a_thread_and_a_resolved_question() -> None:
    seed()
    v2 = ProfileVersion.objects.get(profile__slug=PROFILE_SLUG, number=4)
    comments = list(
        v2.comments.order_by("id").values_list(
            "team__slug",
            "author__username",
            "criterion__attribute",
            "criterion_label",
            "parent__author__username",
            "resolved",
            "resolved_by__username",
        )
    )
    assert comments == [
        ("sales", "liam", "employees", "Employees is between 150 and 2,500", None, False, None),
        (
            "customer-success",
            "grace",
            "employees",
            "Employees is between 150 and 2,500",
            "liam",
            False,
            None,
        ),
        ("marketing", "maya", None, "", None, True, "riley"),
    ]


@pytest.mark.django_db
def test_v4_is_signed_off_by_sales_and_marketing_and_waits_for_the_others() -> None:
    seed()
    v2 = ProfileVersion.objects.get(profile__slug=PROFILE_SLUG, number=4)
    assert sorted(v2.signoffs.values_list("team__slug", "user__username", "decision")) == [
        ("marketing", "maya", "approve"),
        ("sales", "sofia", "approve"),
    ]
    assert sorted((s.team.slug, s.state) for s in signoff_states(version=v2)) == [
        ("customer-success", "missing"),
        ("marketing", "approved"),
        ("revops", "missing"),
        ("sales", "approved"),
    ]
    assert version_approval_problems(version=v2) == [
        "Customer Success has not signed off.",
        "RevOps has not signed off.",
    ]


@pytest.mark.django_db
def test_it_prints_what_it_made() -> None:
    output = seed()
    assert (
        "Profile 'Mid-market B2B SaaS':\n"
        "  v3 approved: 5 fit criteria, 2 disqualifiers, 0 comments\n"
        "  v4 in review: 5 fit criteria, 2 disqualifiers, 3 comments\n"
        "  v4 sign-off: Marketing, Sales; waiting for Customer Success, RevOps\n"
    ) in output


@pytest.mark.django_db
def test_a_second_run_leaves_the_profile_exactly_as_it_is() -> None:
    seed()
    before = content()
    output = seed()
    assert content() == before
    assert Profile.objects.count() == 1
    assert "Profile 'Mid-market B2B SaaS' (already there):" in output


@pytest.mark.django_db
def test_the_same_seed_makes_the_same_profile_after_a_reset() -> None:
    seed("--seed", "7")
    first = content()
    seed("--reset", "--seed", "7")
    assert content() == first
    assert Profile.objects.count() == 1
    assert ProfileVersion.objects.count() == 4


@pytest.mark.django_db
def test_reset_removes_the_demo_profile_and_keeps_other_profiles(ops_manager: User) -> None:
    seed()
    other = Profile.objects.create(name="Enterprise", slug="enterprise", created_by=ops_manager)
    ProfileVersion.objects.filter(profile__slug=PROFILE_SLUG, number=4).update(
        rationale="Edited by hand"
    )
    seed("--reset")
    assert Profile.objects.filter(pk=other.pk).exists()
    assert ProfileVersion.objects.get(profile__slug=PROFILE_SLUG, number=4).rationale.startswith(
        "Quarterly revision"
    )


@pytest.mark.django_db
def test_it_makes_accounts_with_deals_scored_by_the_live_version() -> None:
    output = seed()
    accounts = Account.objects.filter(external_id__startswith="demo-")
    assert accounts.count() == 300
    assert "Accounts: 300 (300 new" in output
    deals = Deal.objects.filter(account__in=accounts)
    assert set(deals.values_list("status", flat=True)) == {"open", "won", "lost"}
    assert set(deals.values_list("type", flat=True)) == {"new", "expansion", "renewal"}
    assert deals.filter(external_id__startswith="demo-").count() == deals.count()
    assert accounts.filter(employees__isnull=True).exists()  # some data is missing
    run = ScoringRun.objects.get(profile__slug=PROFILE_SLUG, is_current=True)
    assert run.version.number == 3
    assert AccountScore.objects.filter(run=run).count() == 300
    assert set(run.tier_counts) >= {"A", "B", "C"}


@pytest.mark.django_db
def test_more_accounts_later_are_added_and_scored() -> None:
    seed()
    first = list(Account.objects.order_by("external_id").values_list("external_id", "employees"))
    output = seed("--accounts", "400")
    assert "Accounts: 400 (100 new" in output
    assert "Rescored 400 accounts with v3." in output
    run = ScoringRun.objects.get(profile__slug=PROFILE_SLUG, is_current=True)
    assert AccountScore.objects.filter(run=run).count() == 400
    again = list(Account.objects.order_by("external_id").values_list("external_id", "employees"))
    assert again[:300] == first


@pytest.mark.django_db
def test_the_same_seed_makes_the_same_accounts() -> None:
    seed("--seed", "7")
    first = list(Account.objects.order_by("external_id").values_list("name", "employees", "crm"))
    seed("--seed", "7", "--reset")
    assert (
        list(Account.objects.order_by("external_id").values_list("name", "employees", "crm"))
        == first
    )
    assert AccountScore.objects.count() == 300  # the old run's rows went with the reset


@pytest.mark.django_db
def test_the_same_seed_makes_the_same_deals() -> None:
    seed("--seed", "7")
    columns = ("external_id", "account__external_id", "type", "status", "amount", "stage")
    first = list(Deal.objects.order_by("external_id").values_list(*columns))
    seed("--seed", "7", "--reset")
    assert list(Deal.objects.order_by("external_id").values_list(*columns)) == first
    seed("--seed", "8", "--reset")
    assert list(Deal.objects.order_by("external_id").values_list(*columns)) != first


@pytest.mark.django_db
def test_a_negative_account_count_is_refused() -> None:
    with pytest.raises(CommandError, match="--accounts"):
        seed("--accounts", "-5")
    assert not Account.objects.exists()
