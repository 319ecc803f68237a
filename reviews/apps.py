from django.apps import AppConfig


class ReviewsConfig(AppConfig):
    name = "reviews"
    verbose_name = "Overrides, reviews and check-ins"

    def ready(self) -> None:
        from profiles.signals import signoffs_stale, version_approved, version_submitted
        from reviews.mywork import receivers
        from reviews.services import overrides_on_merge
        from scoring.signals import accounts_merging

        accounts_merging.connect(overrides_on_merge, dispatch_uid="reviews.overrides_on_merge")
        version_submitted.connect(
            receivers.on_version_submitted, dispatch_uid="reviews.notify_submitted"
        )
        signoffs_stale.connect(receivers.on_signoffs_stale, dispatch_uid="reviews.notify_stale")
        version_approved.connect(
            receivers.on_version_approved, dispatch_uid="reviews.notify_approved"
        )
