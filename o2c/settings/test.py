"""Settings for pytest: fast hashing, a file-backed test database that worker processes can share."""

import os

from ..queues import broker_queues
from .base import *  # noqa: F403
from .base import DATA_DIR, DATABASES, INSTALLED_APPS

SECRET_KEY = "test-only-not-a-secret"  # noqa: S105
O2C_ACCOUNT_FINGERPRINT_KEY = "test-only-fingerprints"  # noqa: S105
DEBUG = False
ALLOWED_HOSTS = ["*"]
# The demo seeders and the sandbox that tests and fixtures use; production does not install them.
INSTALLED_APPS = [*INSTALLED_APPS, "demo"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not :memory:, so a real celery worker process can open the same test database.
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / f"test-{os.getpid()}.sqlite3")}

# locmem (mail.outbox); a worker started by a delivery test is given a failing one instead.
EMAIL_BACKEND = os.environ.get(
    "O2C_TEST_EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend"
)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# A queue of this run's own, so a shared Redis never hands this run's tasks to another run's
# worker (or stale tasks to ours). Worker processes started by tests inherit it via the env.
# (a prefix for every queue: o2c/queues.py)
O2C_QUEUE_PREFIX = os.environ.get("O2C_QUEUE_PREFIX") or f"o2c-test-{os.getpid()}-"
CELERY_TASK_DEFAULT_QUEUE = f"{O2C_QUEUE_PREFIX}default"
CELERY_TASK_QUEUES = broker_queues(O2C_QUEUE_PREFIX)

# Serve static files from the app folders in tests; no collectstatic step needed.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
