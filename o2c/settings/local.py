"""Settings for `make run` on a developer machine: debug on, an embedded, non-secret key."""

from .base import *  # noqa: F403
from .base import INSTALLED_APPS, env_bool

DEBUG = env_bool("DEBUG", True)
# Only for local development; production refuses to start without a real SECRET_KEY.
SECRET_KEY = SECRET_KEY or "local-dev-only-not-a-secret"  # noqa: F405, S105
O2C_ACCOUNT_FINGERPRINT_KEY = O2C_ACCOUNT_FINGERPRINT_KEY or "local-dev-only-fingerprints"  # noqa: F405, S105

# Demo seeding and the sandbox (`manage.py seed_demo`, `manage.py sandbox`): not in production.
INSTALLED_APPS = [*INSTALLED_APPS, "demo"]
