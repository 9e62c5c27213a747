"""Production settings pass `manage.py check --deploy` with zero warnings, and refuse to start unsafe."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _check(env_extra: dict) -> subprocess.CompletedProcess:
    env = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {
            "SECRET_KEY",
            "ALLOWED_HOSTS",
            "DEBUG",
            "DJANGO_ALLOW_ASYNC_UNSAFE",
            "CACHE_URL",
            "EMAIL_URL",
        }
    }
    # what production requires besides the secret and hosts each test chooses
    env |= {
        "DJANGO_SETTINGS_MODULE": "o2c.settings.production",
        "DATABASE_URL": "postgres://o2c@db.example.com:5432/o2c",
        "CELERY_BROKER_URL": "redis://redis.example.com:6379/0",
        "EMAIL_URL": "smtp://mailer:secret@smtp.example.com:587/?tls=1",
        "O2C_ACCOUNT_FINGERPRINT_KEY": "f" * 20 + "-a-long-random-fingerprint-key-1a2b3c",
        **env_extra,
    }
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_with_a_real_secret_and_hosts():
    result = _check(
        {
            "SECRET_KEY": "k" * 20 + "-a-long-random-production-secret-value-9f8e7d6c5b4a",
            "ALLOWED_HOSTS": "o2c.example.com",
        }
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret():
    result = _check({"ALLOWED_HOSTS": "o2c.example.com"})
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr
