"""Production settings plus the demo app, for compose.yaml's `sandbox` profile only: the sandbox
ERP/WMS/bank (`manage.py sandbox`) and its demo data (`manage.py seed_demo`) beside a real stack.
Never for a desk that holds real money: seed_demo creates logins with published passwords."""

from .production import *  # noqa: F403
from .production import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "demo"]
