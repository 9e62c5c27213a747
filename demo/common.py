"""Constants and helpers shared by the demo seeders."""

from core.roles import Role
from orders.models import Channel, OrderState

SEED = 20261122
DEMO_SOURCE = "demo"
DEMO_PASSWORD = "o2c-demo-2026"  # noqa: S105 - published demo login for the local sandbox only
TERRITORIES = ["NORTHEAST", "SOUTHEAST", "MIDWEST", "SOUTHWEST", "WEST"]
CITIES = [
    "Boston",
    "Atlanta",
    "Chicago",
    "Dallas",
    "Denver",
    "Phoenix",
    "Seattle",
    "Portland",
    "Columbus",
    "Nashville",
    "Omaha",
    "Tampa",
    "Reno",
    "Buffalo",
    "Tucson",
]
WORDS = [
    "Allied",
    "Summit",
    "Harbor",
    "Pioneer",
    "Keystone",
    "Granite",
    "Cedar",
    "Atlas",
    "Beacon",
    "Frontier",
    "Liberty",
    "Northwind",
    "Redwood",
    "Sterling",
    "Union",
    "Vista",
]
KINDS = ["Supply", "Industrial", "Foods", "Medical", "Hardware", "Electric", "Plumbing", "Trading"]
PRODUCTS = [
    "Bolt",
    "Valve",
    "Gasket",
    "Bearing",
    "Filter",
    "Hose",
    "Fitting",
    "Sensor",
    "Glove",
    "Cable",
    "Switch",
    "Pump",
    "Bracket",
    "Seal",
    "Clamp",
    "Coupling",
    "Adhesive",
    "Tape",
]
USERS = [
    ("cs", "Casey", "Service", Role.CUSTOMER_SERVICE),
    ("credit", "Carla", "Credit", Role.CREDIT),
    ("pricing", "Pat", "Pricing", Role.PRICING),
    ("warehouse", "Wes", "Warehouse", Role.WAREHOUSE),
    ("finance", "Fran", "Finance", Role.FINANCE),
    ("integration", "Ian", "Integration", Role.INTEGRATION_ADMIN),
    ("manager", "Morgan", "Manager", Role.MANAGER),
    ("cash", "Cass", "Cash", Role.CASH_APPLICATION),
    ("collector", "Cole", "Collector", Role.COLLECTIONS),
]
# Final state -> share of demo orders; the path to each is built by _path().
STATE_MIX = [
    (OrderState.RECEIVED, 6),
    (OrderState.ON_HOLD, 12),
    (OrderState.RELEASED, 10),
    (OrderState.ALLOCATED, 8),
    (OrderState.PARTIALLY_SHIPPED, 5),
    (OrderState.SHIPPED, 8),
    (OrderState.PARTIALLY_INVOICED, 4),
    (OrderState.INVOICED, 15),
    (OrderState.CLOSED, 26),
    (OrderState.CANCELLED, 6),
]
CHANNEL_MIX = [
    (Channel.EDI, 35),
    (Channel.ECOMMERCE, 25),
    (Channel.INSIDE_SALES, 20),
    (Channel.PORTAL, 15),
    (Channel.API, 5),
]
HOLD_REASONS = [
    "Credit exposure above limit",
    "Price below contract",
    "Short stock at DC",
    "Missing ship-to",
    "Quantity far above customer's usual",
]


def pick(rng, mix):
    """A weighted choice from [(value, weight), ...]."""
    values, weights = zip(*mix, strict=True)
    return rng.choices(values, weights=weights)[0]
