"""Production settings refuse to guess: each required variable missing stops Django's start with
that variable named; with all of them set it starts on Redis for the cache and SMTP for mail."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

COMPLETE = {
    "SECRET_KEY": "k" * 20 + "-a-long-random-production-secret-value-9f8e7d6c5b4a",
    "O2C_ACCOUNT_FINGERPRINT_KEY": "f" * 20 + "-a-long-random-fingerprint-key-1a2b3c",
    "ALLOWED_HOSTS": "o2c.example.com",
    "DATABASE_URL": "postgres://o2c@db.example.com:5432/o2c",
    "CELERY_BROKER_URL": "redis://redis.example.com:6379/0",
    "EMAIL_URL": "smtp://mailer:p%40ss@smtp.example.com:587/?tls=1",
}

# What Django reports once set up: the cache, mail and database it would use.
PROBE = (
    "import django; django.setup(); from django.conf import settings as s; "
    "print(s.CACHES['default']['BACKEND'], s.CACHES['default'].get('LOCATION'), "
    "s.EMAIL_BACKEND, s.EMAIL_HOST, s.EMAIL_PORT, s.EMAIL_USE_TLS, s.EMAIL_HOST_PASSWORD, "
    "s.DATABASES['default']['ENGINE'], s.CELERY_BROKER_URL)"
)


def _start(env_extra: dict) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in COMPLETE and k != "CACHE_URL"}
    env |= {"DJANGO_SETTINGS_MODULE": "o2c.settings.production", **env_extra}
    return subprocess.run(  # noqa: S603 - fixed argv
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("missing", sorted(COMPLETE))
def test_production_refuses_to_start_without_each_required_variable(missing):
    # given every required variable but one
    env = {k: v for k, v in COMPLETE.items() if k != missing}

    # when Django starts on production settings
    result = _start(env)

    # then it stops, naming the missing variable
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert f"{missing} must be set in the environment" in result.stderr


def test_production_treats_a_blank_variable_as_missing():
    result = _start(COMPLETE | {"DATABASE_URL": "  "})
    assert result.returncode != 0
    assert "DATABASE_URL must be set in the environment" in result.stderr


def test_production_starts_with_every_variable_and_shares_its_cache_in_redis():
    result = _start(COMPLETE)

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django.core.cache.backends.redis.RedisCache",
        "redis://redis.example.com:6379/0",
        "django.core.mail.backends.smtp.EmailBackend",
        "smtp.example.com",
        "587",
        "True",
        "p@ss",
        "django.db.backends.postgresql",
        "redis://redis.example.com:6379/0",
    ]


def test_production_uses_cache_url_when_given():
    result = _start(COMPLETE | {"CACHE_URL": "redis://cache.example.com:6379/3"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[1] == "redis://cache.example.com:6379/3"


def test_production_refuses_the_folder_broker():
    result = _start(COMPLETE | {"CELERY_BROKER_URL": "filesystem://"})
    assert result.returncode != 0
    assert "CELERY_BROKER_URL=filesystem://" in result.stderr


def test_a_bare_celery_app_loads_production_settings():
    # given no settings module named: a worker started as `celery -A o2c worker` would be
    env = {
        k: v for k, v in os.environ.items() if k not in COMPLETE and k != "DJANGO_SETTINGS_MODULE"
    }

    # when the Celery app loads its configuration
    result = subprocess.run(  # noqa: S603 - fixed argv
        [sys.executable, "-c", "from o2c.celery import app; app.conf.broker_url"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    # then it is production's, which refuses to start rather than fall back to make run's
    assert result.returncode != 0
    assert "must be set in the environment for production settings" in result.stderr


def test_production_trusts_no_address_for_metrics_unless_told():
    """Behind a proxy on the same host every request comes from loopback: production trusts no
    address for /metrics by default (a token or named addresses open it)."""
    probe = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(repr(s.O2C_METRICS_ALLOWED_IPS))"
    )
    env = {k: v for k, v in os.environ.items() if k not in COMPLETE}
    env = env | {"DJANGO_SETTINGS_MODULE": "o2c.settings.production", **COMPLETE}
    env.pop("O2C_METRICS_ALLOWED_IPS", None)
    run = subprocess.run(  # noqa: S603 - fixed argv
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"
    named = subprocess.run(  # noqa: S603 - fixed argv
        [sys.executable, "-c", probe], cwd=ROOT, text=True, capture_output=True, timeout=120,
        env=env | {"O2C_METRICS_ALLOWED_IPS": "10.0.0.5"},
    )  # fmt: skip
    assert named.stdout.strip() == "['10.0.0.5']"
