"""Hold rules: pure, deterministic functions from an order's facts to findings.

No ORM calls and no clock reads here: the caller gathers the facts (exposure, stock, history)
and the thresholds in force, so each rule is trivially testable at its boundaries. A rule fires
only when a figure is strictly beyond its threshold; exactly at the threshold passes.
"""

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from core.money import CENT, ZERO

ONE = Decimal("1")


class Category:
    CREDIT = "credit"
    PRICING = "pricing"
    INVENTORY = "inventory"
    MASTER_DATA = "master_data"
    ANOMALY = "anomaly"


@dataclass(frozen=True)
class Thresholds:
    """The thresholds in force for one customer segment (HoldPolicy resolves them)."""

    credit_tolerance: Decimal = Decimal("0.00")  # 0.10 allows exposure up to 110 % of the limit
    past_due_days: int = 60  # oldest past-due invoice may be this many days old
    price_tolerance: Decimal = Decimal("0.05")  # a line may be 5 % below its reference price
    margin_floor: Decimal = Decimal("0.10")  # (price - cost) / price must be at least 10 %
    stock_variance: Decimal = Decimal("0.05")  # ERP and WMS on-hand may differ by 5 % of ERP
    anomaly_factor: Decimal = Decimal("5")  # a quantity up to 5 × the customer's median is normal
    #: an order-anomaly score (0-1, from the triage model) above this holds the order; None: never
    anomaly_score_threshold: Decimal | None = Decimal("0.65")


@dataclass(frozen=True)
class CustomerFacts:
    credit_limit: Decimal
    credit_status: str  # "ok", "watch" or "blocked"
    open_ar: Decimal
    oldest_past_due_days: int
    released_uninvoiced: Decimal  # released orders not yet invoiced, excluding this order
    payment_terms: str
    tax_region: str


@dataclass(frozen=True)
class LineFacts:
    line_id: int
    sku: str
    quantity: Decimal
    unit_price: Decimal | None
    contract_price: Decimal | None
    list_price: Decimal
    unit_cost: Decimal
    available: Decimal  # WMS on-hand minus allocated, across the allowed warehouses
    erp_on_hand: Decimal
    wms_on_hand: Decimal
    median_quantity: Decimal | None  # over the customer's last N orders of this item; None if none


@dataclass(frozen=True)
class AnomalyFacts:
    """How unlike the customer's usual orders this one is, as a model scored it (0-1; about 0.5
    is ordinary), with its top factors in words: ``{"text", "direction", "weight"}`` each."""

    score: Decimal
    factors: tuple[dict, ...] = ()
    model: str = ""  # the model and version that scored it, e.g. "order_anomaly v2"


@dataclass(frozen=True)
class OrderFacts:
    order_total: Decimal
    has_ship_to: bool
    customer: CustomerFacts
    lines: tuple[LineFacts, ...]
    #: None when no model scored the order (off, shadow, no usable version, too little history)
    anomaly: AnomalyFacts | None = None


@dataclass(frozen=True)
class Finding:
    category: str
    reason_code: str
    value_at_risk: Decimal
    context: dict = field(default_factory=dict)  # the numbers behind the finding, JSON-ready
    line_id: int | None = None


def _s(value) -> str | None:
    """Decimals travel as strings in context snapshots: JSON has no exact decimal type."""
    return None if value is None else str(value)


def credit_position(facts: OrderFacts, t: Thresholds) -> tuple[Decimal, Decimal]:
    """(exposure, allowed): open AR, released orders not yet invoiced and this order, against
    the credit limit and its tolerance."""
    c = facts.customer
    exposure = c.open_ar + c.released_uninvoiced + facts.order_total
    allowed = (c.credit_limit * (ONE + t.credit_tolerance)).quantize(CENT, rounding=ROUND_HALF_UP)
    return exposure, allowed


def credit_rule(facts: OrderFacts, t: Thresholds) -> list[Finding]:
    c = facts.customer
    exposure, allowed = credit_position(facts, t)
    context = {
        "exposure": _s(exposure),
        "open_ar": _s(c.open_ar),
        "released_uninvoiced": _s(c.released_uninvoiced),
        "order_total": _s(facts.order_total),
        "credit_limit": _s(c.credit_limit),
        "tolerance": _s(t.credit_tolerance),
        "allowed": _s(allowed),
        "oldest_past_due_days": c.oldest_past_due_days,
        "past_due_days_allowed": t.past_due_days,
        "credit_status": c.credit_status,
    }
    findings = []
    if c.credit_status == "blocked":
        findings.append(Finding(Category.CREDIT, "CREDIT_BLOCKED", facts.order_total, context))
    if exposure > allowed:
        context = context | {"overage": _s(exposure - allowed)}
        findings.append(Finding(Category.CREDIT, "CREDIT_LIMIT", facts.order_total, context))
    if c.oldest_past_due_days > t.past_due_days:
        findings.append(Finding(Category.CREDIT, "CREDIT_PAST_DUE", facts.order_total, context))
    return findings


def pricing_rule(facts: OrderFacts, t: Thresholds) -> list[Finding]:
    findings = []
    for line in facts.lines:
        reference = line.contract_price if line.contract_price is not None else line.list_price
        context = {
            "sku": line.sku,
            "unit_price": _s(line.unit_price),
            "contract_price": _s(line.contract_price),
            "list_price": _s(line.list_price),
            "reference_price": _s(reference),
            "unit_cost": _s(line.unit_cost),
            "price_tolerance": _s(t.price_tolerance),
            "margin_floor": _s(t.margin_floor),
        }
        if line.unit_price is None:
            findings.append(
                Finding(
                    Category.PRICING,
                    "PRICE_MISSING",
                    reference * line.quantity,
                    context,
                    line.line_id,
                )
            )
            continue
        floor_price = reference * (ONE - t.price_tolerance)
        if line.unit_price < floor_price:
            gap = (reference - line.unit_price) * line.quantity
            findings.append(
                Finding(
                    Category.PRICING,
                    "PRICE_BELOW_CONTRACT",
                    gap,
                    context | {"floor_price": _s(floor_price)},
                    line.line_id,
                )
            )
        margin = (line.unit_price - line.unit_cost) / line.unit_price if line.unit_price else -ONE
        if margin < t.margin_floor:
            at_risk = (line.unit_cost * (ONE + t.margin_floor) - line.unit_price) * line.quantity
            findings.append(
                Finding(
                    Category.PRICING,
                    "MARGIN_BELOW_FLOOR",
                    max(at_risk, ZERO),
                    context | {"margin": _s(margin.quantize(Decimal("0.0001")))},
                    line.line_id,
                )
            )
    return findings


def inventory_rule(facts: OrderFacts, t: Thresholds) -> list[Finding]:
    findings = []
    for line in facts.lines:
        price = line.unit_price if line.unit_price is not None else line.list_price
        context = {
            "sku": line.sku,
            "requested": _s(line.quantity),
            "available": _s(line.available),
            "erp_on_hand": _s(line.erp_on_hand),
            "wms_on_hand": _s(line.wms_on_hand),
            "stock_variance": _s(t.stock_variance),
        }
        if line.quantity > line.available:
            short = line.quantity - max(line.available, ZERO)
            findings.append(
                Finding(
                    Category.INVENTORY,
                    "STOCK_SHORT",
                    short * price,
                    context | {"short": _s(short)},
                    line.line_id,
                )
            )
        variance = abs(line.erp_on_hand - line.wms_on_hand)
        if variance > line.erp_on_hand * t.stock_variance:
            findings.append(
                Finding(
                    Category.INVENTORY,
                    "STOCK_VARIANCE",
                    line.quantity * price,
                    context | {"variance": _s(variance)},
                    line.line_id,
                )
            )
    return findings


def master_data_rule(facts: OrderFacts, t: Thresholds) -> list[Finding]:
    missing = [
        name
        for name, present in [
            ("ship_to", facts.has_ship_to),
            ("payment_terms", bool(facts.customer.payment_terms)),
            ("tax_region", bool(facts.customer.tax_region)),
        ]
        if not present
    ]
    if not missing:
        return []
    return [
        Finding(
            Category.MASTER_DATA, "MASTER_DATA_MISSING", facts.order_total, {"missing": missing}
        )
    ]


def anomaly_rule(facts: OrderFacts, t: Thresholds) -> list[Finding]:
    findings = []
    for line in facts.lines:
        if line.median_quantity is None or line.median_quantity <= 0:
            continue  # no history for this item: nothing to compare against
        if line.quantity > line.median_quantity * t.anomaly_factor:
            price = line.unit_price if line.unit_price is not None else line.list_price
            findings.append(
                Finding(
                    Category.ANOMALY,
                    "QUANTITY_ANOMALY",
                    line.quantity * price,
                    {
                        "sku": line.sku,
                        "quantity": _s(line.quantity),
                        "median_quantity": _s(line.median_quantity),
                        "factor": _s(t.anomaly_factor),
                        "ratio": _s(
                            (line.quantity / line.median_quantity).quantize(Decimal("0.01"))
                        ),
                    },
                    line.line_id,
                )
            )
    return findings


def order_anomaly_rule(facts: OrderFacts, t: Thresholds) -> list[Finding]:
    """The whole order against the customer's usual ones (amount, lines, quantities, items,
    ship-to, time of day), as the order-anomaly model scored it. It complements the quantity
    rule, which judges each line alone: both may fire on one order. No score, or no threshold in
    the policy, finds nothing."""
    anomaly, threshold = facts.anomaly, t.anomaly_score_threshold
    if anomaly is None or threshold is None or anomaly.score <= threshold:
        return []
    return [
        Finding(
            Category.ANOMALY,
            "ORDER_ANOMALY",
            facts.order_total,
            {
                "score": _s(anomaly.score),
                "threshold": _s(threshold),
                "model": anomaly.model,
                "factors": [dict(factor) for factor in anomaly.factors],
            },
        )
    ]


RULES = (
    credit_rule,
    pricing_rule,
    inventory_rule,
    master_data_rule,
    anomaly_rule,
    order_anomaly_rule,
)


def evaluate(facts: OrderFacts, thresholds: Thresholds) -> list[Finding]:
    """Every finding for the order, in a stable order (rule, then line)."""
    return [finding for rule in RULES for finding in rule(facts, thresholds)]
