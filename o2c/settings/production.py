"""Production settings: nothing guessed. The database, broker, cache, mail server, secret and hosts
come from the environment, and a missing one stops the start with its name; HTTPS everywhere."""

import os

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import env_bool, env_list
from .parsing import cache_config, email_config

#: What production cannot run without, each with an example of its shape.
REQUIRED = {
    "SECRET_KEY": "a long random string, e.g. python -c 'import secrets; print(secrets.token_urlsafe(50))'",
    "O2C_ACCOUNT_FINGERPRINT_KEY": "another long random string, set once and never rotated: it "
    "keys the bank-account fingerprints",
    "ALLOWED_HOSTS": "the host names the desk is served under, comma-separated: o2c.example.com",
    "DATABASE_URL": "postgres://user:password@host:5432/o2c",
    "CELERY_BROKER_URL": "redis://host:6379/0",
    "EMAIL_URL": "smtp://user:password@host:587/?tls=1 (console:// to print mail instead)",
}


def _required() -> dict[str, str]:
    values = {name: os.environ.get(name, "").strip() for name in REQUIRED}
    missing = [name for name, value in values.items() if not value]
    if missing:
        examples = "; ".join(f"{name}={REQUIRED[name]}" for name in missing)
        raise ImproperlyConfigured(
            f"{', '.join(missing)} must be set in the environment for production settings "
            f"(o2c.settings.production falls back to nothing). For example: {examples}"
        )
    return values


_env = _required()

DEBUG = False
SECRET_KEY = _env["SECRET_KEY"]
O2C_ACCOUNT_FINGERPRINT_KEY = _env["O2C_ACCOUNT_FINGERPRINT_KEY"]
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

DATABASES = {
    "default": dj_database_url.parse(_env["DATABASE_URL"], conn_max_age=60, conn_health_checks=True)
}
CELERY_BROKER_URL = _env["CELERY_BROKER_URL"]
if CELERY_BROKER_URL.startswith("filesystem://"):
    # The folder transport only works for processes on one machine with one disk.
    raise ImproperlyConfigured(
        "CELERY_BROKER_URL=filesystem:// is for `make run` only: use redis://host:6379/0."
    )
globals().update(email_config(_env["EMAIL_URL"]))

# Shared by every web and worker process, so throttles, lockouts and locks count across them:
# CACHE_URL, else the Redis the broker already uses (Django's keys are prefixed, kombu's are not).
_cache_url = os.environ.get("CACHE_URL", "").strip() or (
    CELERY_BROKER_URL if CELERY_BROKER_URL.startswith(("redis://", "rediss://")) else ""
)
if not _cache_url:
    raise ImproperlyConfigured(
        "CACHE_URL must be set in the environment for production settings when the broker is not "
        "Redis: redis://host:6379/1"
    )
CACHES = {"default": cache_config(_cache_url)}

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
# Probes and the metrics scraper talk to the process directly, over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^health/", r"^metrics$"]
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = 31536000
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# /metrics: no address is trusted by default here. Behind a proxy on the same host every request
# arrives from loopback, so the loopback default of the other settings would open the business
# gauges to anyone: set O2C_METRICS_TOKEN (scrape with a bearer token) or name the scraper's
# addresses in O2C_METRICS_ALLOWED_IPS.
O2C_METRICS_ALLOWED_IPS = env_list("O2C_METRICS_ALLOWED_IPS")

# --- Static files ------------------------------------------------------------------------------
# Collected once, when the image is built (Dockerfile), under content-hashed names listed in a
# manifest: a browser may cache them for ever and a new release never serves yesterday's script.
# A page naming a file missing from the manifest fails loudly instead of linking to nothing.
# O2C_STATIC_ROOT keeps them out of the data volume, which would hide the image's copy.
STATIC_ROOT = os.environ.get("O2C_STATIC_ROOT", "").strip() or DATA_DIR / "staticfiles"  # noqa: F405
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
