from django.apps import AppConfig


class ReviewsConfig(AppConfig):
    name = "reviews"
    verbose_name = "Overrides, reviews and check-ins"

    def ready(self) -> None:
        from reviews.services import overrides_on_merge
        from scoring.signals import accounts_merging

        accounts_merging.connect(overrides_on_merge, dispatch_uid="reviews.overrides_on_merge")
