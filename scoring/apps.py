from django.apps import AppConfig


class ScoringConfig(AppConfig):
    name = "scoring"
    verbose_name = "Accounts and scoring"

    def ready(self) -> None:
        from icpsite import lookups

        lookups.register()  # field__any=values, for the import's batches

        from icpsite.api.errors import answer_with, conflict_response
        from scoring.traits import TraitConflictError

        answer_with(TraitConflictError, conflict_response)

        from profiles.signals import version_approved
        from scoring.services import run_on_approval

        version_approved.connect(run_on_approval, dispatch_uid="scoring.run_on_approval")

        from scoring.webhooks import on_version_approved

        version_approved.connect(on_version_approved, dispatch_uid="scoring.webhooks")

        from django.db.models.signals import post_delete

        from scoring.models import ScoringRun
        from scoring.score_tables import on_run_deleted

        post_delete.connect(on_run_deleted, sender=ScoringRun, dispatch_uid="scoring.score_tables")
