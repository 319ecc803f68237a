"""The `suggestions` command (tests/suggesting.py says what the engine answers)."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from profiles import services
from profiles.models import ProfileVersion, User

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command("suggestions", *args, stdout=out, no_color=True)
    return out.getvalue()


def test_it_prints_the_ranked_suggestions_with_their_evidence_and_backtest(
    approved: ProfileVersion, engine: list[ProfileVersion]
) -> None:
    out = run(approved.profile.slug)
    assert engine == [approved]
    assert out.startswith("Suggestions for Mid-market SaaS v1, ")
    assert "Base: 300 closed deals, win rate 40%." in out
    assert "1. Add a value: Industry: add Fintech  [industry-fintech]\n" in out
    assert "   Fintech accounts won 64% of 50 closed deals, against 40% overall.\n" in out
    assert "   - Fintech: 50 closed deals, 32 won, win rate 64% (95% interval 50%\u201376%)" in out
    assert "   Accepted overrides agreeing: 2 of 2\n" in out
    assert "   Backtest, win rate by tier before -> after: A 50% -> 67% (40 -> 45 deals)" in out
    assert "   Accounts moving tier: 12\n" in out
    assert "2. Remove a criterion: Remove Funding stage" in out
    assert "3. Add a criterion: Add Country is one of DE (10 points)  [country-de]" in out
    assert "4." not in out


def test_it_lists_what_lacks_evidence_and_the_reweighting(
    approved: ProfileVersion, engine: list[ProfileVersion]
) -> None:
    out = run(approved.profile.slug)
    waiting = out.split("Not enough evidence yet\n")[1]
    assert waiting.startswith(
        "- CRM: add Pipedrive (not enough evidence yet: too few closed deals)\n"
    )
    reweighting = out.split("Re-weighting (suggested)  [reweight]\n")[1]
    assert "   - employees between: 30 -> 40\n" in reweighting
    assert "   - crm in: 25 -> 15\n" in reweighting
    assert "current -> fitted: A 50% -> 60% (20 -> 20 deals)" in reweighting


def test_json_is_the_apis(approved: ProfileVersion, engine: list[ProfileVersion]) -> None:
    data = json.loads(run(approved.profile.slug, "--json"))
    assert (data["profile"], data["version"]) == (approved.profile.slug, 1)
    assert [s["key"] for s in data["shown"]][:3] == [
        "industry-fintech",
        "drop-funding",
        "country-de",
    ]
    assert data["shown"][0]["values"][0]["outcomes"]["win_rate"] == 0.64
    assert data["reweighting"]["suggestion"]["key"] == "reweight"


def test_version_names_another_version(
    approved: ProfileVersion, rep: User, engine: list[ProfileVersion]
) -> None:
    draft = services.version_start_draft(actor=rep, profile=approved.profile)
    out = run(approved.profile.slug, "--version", "2")
    assert engine == [draft]
    assert out.startswith("Suggestions for Mid-market SaaS v2, ")


def test_a_bad_slug_or_version_is_named(
    approved: ProfileVersion, engine: list[ProfileVersion]
) -> None:
    with pytest.raises(CommandError, match=r"No profile with the slug 'nope'\. Profiles: mid"):
        run("nope")
    with pytest.raises(
        CommandError, match=r"--version: Mid-market SaaS has no v9; its versions: 1"
    ):
        run(approved.profile.slug, "--version", "9")
    assert engine == []
