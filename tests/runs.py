"""Helpers for tests that need a rescoring run finished in this process."""

from scoring import services
from scoring.models import ScoringRun


def run_all(run: ScoringRun, chunk_size: int = 2) -> ScoringRun | None:
    """Drive a run the way the tasks do, with small chunks."""
    for low, high in services.run_plan(run.pk, chunk_size):
        services.run_score_chunk(run.pk, low, high)
    return services.run_finish(run.pk)
