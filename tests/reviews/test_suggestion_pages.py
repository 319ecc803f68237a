"""The suggestions panel on the version page and the check-in, and its
adopt form (tests/suggesting.py says what the engine answers)."""

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from profiles import services
from profiles.models import Comment, ProfileVersion, User
from reviews import services as reviews_services
from reviews.models import CheckIn, CheckInKind
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


def panel(client: Client, version: ProfileVersion) -> str:
    url = reverse("version-suggestions", args=[version.profile.slug, version.number])
    response = client.get(url, headers={"HX-Request": "true"})
    assert response.status_code == 200
    return response.content.decode()


def adopt_url(version: ProfileVersion) -> str:
    return reverse("suggestions-adopt", args=[version.profile.slug, version.number])


def said(response: object) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]  # type: ignore[attr-defined]


def test_the_panel_shows_each_suggestion_with_its_evidence_and_backtest(
    client: Client, approved: ProfileVersion, rep: User, engine: list[ProfileVersion]
) -> None:
    client.force_login(rep)
    html = panel(client, approved)
    assert html.count('data-testid="suggestion"') == 3
    assert "Add a value" in html
    assert "Industry: add Fintech" in html
    assert "Fintech accounts won 64% of 50 closed deals, against 40% overall." in html
    assert '<td>Fintech</td><td class="num">50</td><td class="num">32</td>' in html
    assert "64% (50%\u201376%)" in html
    assert "1.60\u00d7" in html
    assert "Accepted overrides agreeing: 2 of 2." in html
    assert "<summary>The accepted overrides (2)</summary>" in html
    assert "Ledgerly</a>: scored C, claimed A, Strategic account" in html
    assert '<td class="num">50%</td><td class="num">67%</td><td class="num">40</td>' in html
    assert "Accounts moving tier: 12." in html
    assert "Accounts moving tier: 40." in html
    # Only the suggestion with overrides speaks of them; no tier without deals.
    assert html.count('data-testid="overrides-agreeing"') == 1
    assert "tier-DQ" not in html
    assert 'value="industry-fintech"' in html
    assert 'value="reweight"' in html
    assert "Start a draft from these suggestions" in html
    assert '<input type="hidden" name="team" value="sales">' in html


def test_the_panel_lists_what_lacks_evidence_and_the_reweighting(
    client: Client, approved: ProfileVersion, rep: User, engine: list[ProfileVersion]
) -> None:
    client.force_login(rep)
    html = panel(client, approved)
    not_enough = html.split('data-testid="not-enough"')[1].split("</ul>")[0]
    assert "CRM: add Pipedrive" in not_enough
    assert "not enough evidence yet: too few closed deals" in not_enough
    assert 'value="crm-pipedrive"' not in html
    points = html.split('data-testid="points"')[1].split("</table>")[0]
    assert '<td>employees between</td><td class="num">30</td><td class="num">40</td>' in points
    held_out = html.split('data-testid="held-out"')[1].split("</table>")[0]
    assert '<td class="num">50%</td><td class="num">60%</td>' in held_out


def test_an_open_version_takes_them_itself(
    client: Client, draft: ProfileVersion, rep: User, engine: list[ProfileVersion]
) -> None:
    client.force_login(rep)
    html = panel(client, draft)
    assert "Add to this draft" in html
    assert "Start a draft" not in html


def test_a_person_in_several_teams_chooses_which_one_comments(
    client: Client, approved: ProfileVersion, rep: User, engine: list[ProfileVersion]
) -> None:
    MembershipFactory.create(user=rep, team__name="Product", team__slug="product")
    client.force_login(rep)
    html = panel(client, approved)
    assert '<select name="team" required>' in html
    assert '<option value="product">Product</option><option value="sales">Sales</option>' in html


def test_while_another_version_is_open_the_live_panel_points_at_it(
    client: Client, approved: ProfileVersion, rep: User, engine: list[ProfileVersion]
) -> None:
    services.version_start_draft(actor=rep, profile=approved.profile)
    client.force_login(rep)
    html = panel(client, approved)
    assert 'name="keys"' not in html
    assert "Start a draft from these suggestions" not in html
    assert "v2 is open: adopt suggestions into it from" in html
    assert f'href="/profiles/{approved.profile.slug}/v2/"' in html


def test_a_person_in_no_team_reads_them_without_the_form(
    client: Client, approved: ProfileVersion, outsider: User, engine: list[ProfileVersion]
) -> None:
    client.force_login(outsider)
    html = panel(client, approved)
    assert "Industry: add Fintech" in html
    assert 'name="keys"' not in html
    assert "You are in no team" in html


def test_without_javascript_the_panel_is_a_page_of_its_own(
    client: Client, approved: ProfileVersion, rep: User, engine: list[ProfileVersion]
) -> None:
    client.force_login(rep)
    url = reverse("version-suggestions", args=[approved.profile.slug, approved.number])
    response = client.get(url)
    html = response.content.decode()
    assert "<title>Suggestions for Mid-market SaaS v1" in html
    assert 'data-testid="suggestions"' in html
    assert client.get(url.replace("v1", "v9")).status_code == 404


def test_the_version_page_loads_the_panel_after_it_shows(
    client: Client, approved: ProfileVersion, rep: User, engine: list[ProfileVersion]
) -> None:
    client.force_login(rep)
    page = client.get(reverse("version-detail", args=[approved.profile.slug, 1]))
    html = page.content.decode()
    slug = approved.profile.slug
    assert f'hx-get="/profiles/{slug}/v1/suggestions/?next=/profiles/{slug}/v1/"' in html
    assert 'hx-trigger="load"' in html
    assert "Computing suggestions from the closed deals" in html
    assert engine == []


def test_a_withdrawn_version_has_no_panel(
    client: Client, draft: ProfileVersion, marketer: User, engine: list[ProfileVersion]
) -> None:
    services.version_withdraw(actor=marketer, version=draft, reason="Not now")
    client.force_login(marketer)
    page = client.get(reverse("version-detail", args=[draft.profile.slug, draft.number]))
    assert "suggestions" not in page.content.decode()


def test_adopting_lands_on_the_new_draft_with_a_message(
    client: Client, approved: ProfileVersion, rep: User, engine: list[ProfileVersion]
) -> None:
    client.force_login(rep)
    response = client.post(
        adopt_url(approved), {"keys": ["industry-fintech", "country-de"], "team": "sales"}
    )
    slug = approved.profile.slug
    assert response.status_code == 302
    assert response["Location"] == f"/profiles/{slug}/v2/"
    assert said(response) == [
        "Started v2 from 2 suggestions, each with its evidence in its criterion's thread. "
        "The required teams sign off as usual."
    ]
    draft = ProfileVersion.objects.get(profile=approved.profile, number=2)
    assert Comment.objects.filter(version=draft, author=rep).count() == 2


def test_adopting_into_a_draft_says_so(
    client: Client, draft: ProfileVersion, rep: User, engine: list[ProfileVersion]
) -> None:
    client.force_login(rep)
    response = client.post(adopt_url(draft), {"keys": ["drop-funding"], "team": "sales"})
    assert response["Location"] == f"/profiles/{draft.profile.slug}/v1/"
    assert said(response)[0].startswith("Added 1 suggestion to v1,")


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ({"team": "sales"}, "Tick at least one suggestion to adopt."),
        ({"keys": ["nope"], "team": "sales"}, "'nope'"),
        ({"keys": ["industry-fintech"]}, "Choose the team you speak for."),
        ({"keys": ["industry-fintech"], "team": "nobody"}, "Team: choose one of your teams."),
        ({"keys": ["industry-fintech"], "team": "marketing"}, "not a member of Marketing"),
    ],
)
def test_a_refused_adoption_goes_back_with_the_reason_and_changes_nothing(
    client: Client,
    approved: ProfileVersion,
    rep: User,
    marketer: User,
    engine: list[ProfileVersion],
    data: dict[str, object],
    words: str,
) -> None:
    client.force_login(rep)
    response = client.post(adopt_url(approved), data)
    assert response.status_code == 302
    assert response["Location"] == f"/profiles/{approved.profile.slug}/v1/#suggestions"
    [message] = said(response)
    assert words in message
    assert ProfileVersion.objects.count() == 1
    assert not Comment.objects.exists()


def test_a_refusal_from_the_check_in_goes_back_to_it(
    client: Client, approved: ProfileVersion, rep: User, engine: list[ProfileVersion]
) -> None:
    client.force_login(rep)
    response = client.post(adopt_url(approved), {"team": "sales", "next": "/reviews/checkins/1/"})
    assert response["Location"] == "/reviews/checkins/1/#suggestions"
    elsewhere = client.post(adopt_url(approved), {"team": "sales", "next": "https://evil.example/"})
    assert elsewhere["Location"] == f"/profiles/{approved.profile.slug}/v1/#suggestions"


def test_the_open_check_in_loads_the_panel_for_the_live_version(
    client: Client, approved: ProfileVersion, ops_manager: User, engine: list[ProfileVersion]
) -> None:
    checkin = reviews_services.checkin_open(
        profile=approved.profile, kind=CheckInKind.SCHEDULED, due_on=timezone.localdate()
    )
    assert isinstance(checkin, CheckIn)
    client.force_login(ops_manager)
    url = reverse("checkin-detail", args=[checkin.pk])
    html = client.get(url).content.decode()
    slug = approved.profile.slug
    assert f'hx-get="/profiles/{slug}/v1/suggestions/?next={url}"' in html
    reviews_services.checkin_close(
        actor=ops_manager, checkin=checkin, outcome="no_change", note="Fine as it is."
    )
    assert "suggestions" not in client.get(url).content.decode()
