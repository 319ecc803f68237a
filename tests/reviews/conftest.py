"""The reviews cast: the suite's fixed people, a profile whose v1 is live and
has scored a small account base."""

import pytest

from profiles.models import Profile, ProfileVersion, User
from scoring import services as scoring_services
from scoring.models import Account, ScoringRun
from tests.factories import AccountFactory
from tests.runs import run_all


@pytest.fixture
def acme(db: None) -> Account:
    return AccountFactory.create(
        name="Acme", external_id="acme", employees=450, has_revops=True
    )  # A


@pytest.fixture
def tiny(db: None) -> Account:
    return AccountFactory.create(
        name="Tiny", external_id="tiny", employees=150, has_revops=True
    )  # B 40


@pytest.fixture
def live_run(
    icp: Profile, v1: ProfileVersion, acme: Account, tiny: Account, ops_manager: User
) -> ScoringRun:
    run = run_all(scoring_services.run_create(profile=icp, version=v1, actor=ops_manager))
    assert run is not None
    return run
