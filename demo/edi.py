"""The demo's EDI trading partner: the sandbox buyer (``demo.sandbox.edi``) trading as its
sandbox customer, with the part numbers and case sizes it orders by. Run after the ERP's master
data has arrived (``make run`` does; tests call ``seed_edi_partner`` the same way)."""

from decimal import Decimal

from integrations.models import Connector, TradingPartner
from integrations.services.schedule import connector_schedule
from orders.models import Customer, CustomerItem, Item, ItemUnit

from .sandbox.data import Catalog
from .sandbox.edi import CASE, PARTNER_NAME, SENDER, buyer_part, cased


def seed_edi_partner(
    *, sandbox_url: str, customer_number: str = "SBC0001"
) -> TradingPartner | None:
    """The EDI connector and the sandbox buyer, idempotent; None until the customer is synced."""
    customer = Customer.objects.filter(number=customer_number).first()
    if customer is None:
        return None
    connector, _ = Connector.objects.get_or_create(
        name="sandbox-edi",
        defaults={"kind": Connector.Kind.EDI, "base_url": sandbox_url, "poll_interval_seconds": 15},
    )
    connector_schedule(connector=connector)
    partner, _ = TradingPartner.objects.get_or_create(
        name=PARTNER_NAME,
        defaults={
            "customer": customer,
            "connector": connector,
            "isa_qualifier": SENDER[0],
            "isa_id": SENDER[1],
            "gs_id": SENDER[1],
            "production": False,
            "item_qualifiers": "BP,VP,UP",
            "sends_820": True,
            "inbound_folder": f"{PARTNER_NAME}/in",
            "endpoint_url": f"{sandbox_url.rstrip('/')}/edi/receive",
            "sscc": True,
            "gs1_prefix": "0614141",
        },
    )
    skus = [item["sku"] for item in Catalog().items]
    items = Item.objects.in_bulk(skus, field_name="sku")
    for sku, item in items.items():
        if cased(sku):
            ItemUnit.objects.get_or_create(item=item, uom="CA", defaults={"factor": Decimal(CASE)})
        part = buyer_part(sku)
        if part:
            CustomerItem.objects.get_or_create(
                customer=customer, buyer_part=part, defaults={"item": item}
            )
    return partner
