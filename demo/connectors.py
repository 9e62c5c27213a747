"""Demo connectors: the bundled sandbox ERP, WMS and bank on loopback, with their pull schedules."""

import os

from integrations.models import Connector
from integrations.services.schedule import connector_schedule, outbox_schedule

# O2C_SANDBOX_URL: where the workers reach the sandbox when it runs elsewhere (compose.yaml).
SANDBOX_URL = os.environ.get("O2C_SANDBOX_URL", "http://127.0.0.1:8100")


def seed_connectors() -> list[str]:
    names = []
    for name, kind, every in [
        ("sandbox-erp", Connector.Kind.ERP, 30),
        ("sandbox-wms", Connector.Kind.WMS, 30),
        ("sandbox-bank", Connector.Kind.BANK, 60),
    ]:
        connector, _ = Connector.objects.get_or_create(
            name=name,
            defaults={"kind": kind, "base_url": SANDBOX_URL, "poll_interval_seconds": every},
        )
        connector_schedule(connector=connector)
        names.append(name)
    outbox_schedule()
    return names
