import pytest


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: object) -> None:
    """Seeding hashes thirteen passwords per run; the demo tests need no strong hashes."""
    settings.PASSWORD_HASHERS = [  # type: ignore[attr-defined]
        "django.contrib.auth.hashers.MD5PasswordHasher"
    ]
