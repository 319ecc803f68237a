from django.apps import AppConfig


class DemoConfig(AppConfig):
    """Demo data for trying icpsite out. Depends on every app; nothing depends on it."""

    name = "demo"
    verbose_name = "Demo data"
