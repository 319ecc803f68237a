from django.apps import AppConfig


class ScoringConfig(AppConfig):
    name = "scoring"
    verbose_name = "Accounts and scoring"

    def ready(self) -> None:
        from profiles.signals import version_approved
        from scoring.services import run_on_approval

        version_approved.connect(run_on_approval, dispatch_uid="scoring.run_on_approval")

        from scoring.webhooks import on_version_approved

        version_approved.connect(on_version_approved, dispatch_uid="scoring.webhooks")
