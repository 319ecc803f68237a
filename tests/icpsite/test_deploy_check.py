"""`manage.py check --deploy` is clean with production values."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "k7#Qv9!xR2mZ@p4Lw8^Tn1&Hs6*Yb3%Jd5+Fg0-Uc2=Ae9~Oi7_Kr4|Xl8?Mq1",
    "ALLOWED_HOSTS": "icp.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://icp.example.com",
    "HTTPS": "true",
}


def run_deploy_check(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    ours = {"DEBUG", "SECRET_KEY", "HTTPS", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    clean = {k: v for k, v in os.environ.items() if k not in ours}
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_deploy_check_is_clean_with_production_values() -> None:
    result = run_deploy_check(PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_deploy_check_flags_the_development_defaults() -> None:
    result = run_deploy_check({"DEBUG": "true"})
    assert result.returncode != 0
    assert "security.W018" in result.stderr  # DEBUG on
    assert "security.W009" in result.stderr  # the insecure fallback SECRET_KEY
