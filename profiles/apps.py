from django.apps import AppConfig


class ProfilesConfig(AppConfig):
    name = "profiles"
    verbose_name = "Teams and ICP profiles"

    def ready(self) -> None:
        from icpsite.api.errors import answer_with
        from profiles.api.errors import stale_revision_response
        from profiles.services import StaleRevisionError

        answer_with(StaleRevisionError, stale_revision_response)
