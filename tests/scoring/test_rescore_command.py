from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from profiles.models import Profile, User
from scoring.models import AccountScore, ScoringRun
from tests.drafting import approved_version
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db


def test_rescore_scores_every_account_and_prints_progress(icp: Profile, ops_manager: User) -> None:
    AccountFactory.create_batch(3)
    approved_version(icp, 1, [200, 2000])
    out = StringIO()
    call_command("rescore", icp.slug, stdout=out)
    run = ScoringRun.objects.get(profile=icp, is_current=True)
    assert AccountScore.objects.filter(run=run).count() == 3
    assert "100%  1/1 chunks" in out.getvalue()
    assert "Scored 3 accounts with Mid-market SaaS v1" in out.getvalue()


def test_rescore_names_an_unknown_profile(icp: Profile) -> None:
    with pytest.raises(CommandError, match=r"No profile 'nope'\. Profiles: mid-market-saas\."):
        call_command("rescore", "nope")


def test_rescore_needs_an_approved_version(icp: Profile) -> None:
    with pytest.raises(CommandError, match="has no approved version"):
        call_command("rescore", icp.slug)
