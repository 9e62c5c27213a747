"""Hold rules at their boundaries: exactly at a threshold passes, just beyond it fires."""

from dataclasses import replace
from decimal import Decimal as D

import pytest

from exceptions.rules import (
    CustomerFacts,
    LineFacts,
    OrderFacts,
    Thresholds,
    anomaly_rule,
    credit_rule,
    evaluate,
    inventory_rule,
    master_data_rule,
    pricing_rule,
)

T = Thresholds(
    credit_tolerance=D("0.10"),
    past_due_days=60,
    price_tolerance=D("0.05"),
    margin_floor=D("0.10"),
    stock_variance=D("0.05"),
    anomaly_factor=D("5"),
)
CUSTOMER = CustomerFacts(
    credit_limit=D("1000"),
    credit_status="ok",
    open_ar=D("500"),
    oldest_past_due_days=0,
    released_uninvoiced=D("100"),
    payment_terms="NET30",
    tax_region="US-MA",
)
LINE = LineFacts(
    line_id=1,
    sku="SKU-A",
    quantity=D("10"),
    unit_price=D("10"),
    contract_price=D("10"),
    list_price=D("12"),
    unit_cost=D("6"),
    available=D("50"),
    erp_on_hand=D("100"),
    wms_on_hand=D("100"),
    median_quantity=D("10"),
)


def facts(total=D("100"), customer=CUSTOMER, line=LINE, ship_to=True) -> OrderFacts:
    return OrderFacts(order_total=total, has_ship_to=ship_to, customer=customer, lines=(line,))


def codes(findings):
    return [f.reason_code for f in findings]


def test_a_clean_order_raises_nothing():
    assert evaluate(facts(), T) == []


@pytest.mark.parametrize("total, fires", [(D("500"), False), (D("500.01"), True)])
def test_credit_limit_with_tolerance_boundary(total, fires):
    # exposure = 500 AR + 100 released + total; allowed = 1000 × 1.10 = 1100
    findings = credit_rule(facts(total=total), T)
    assert ("CREDIT_LIMIT" in codes(findings)) is fires
    if fires:
        context = findings[0].context
        assert (context["exposure"], context["allowed"], context["overage"]) == (
            "1100.01",
            "1100.00",
            "0.01",
        )


@pytest.mark.parametrize("days, fires", [(60, False), (61, True)])
def test_past_due_boundary(days, fires):
    findings = credit_rule(facts(customer=replace(CUSTOMER, oldest_past_due_days=days)), T)
    assert ("CREDIT_PAST_DUE" in codes(findings)) is fires


def test_blocked_customer_always_holds():
    assert codes(credit_rule(facts(customer=replace(CUSTOMER, credit_status="blocked")), T)) == [
        "CREDIT_BLOCKED"
    ]


def test_segment_tolerance_changes_the_outcome():
    strict = replace(T, credit_tolerance=D("0"))
    assert codes(credit_rule(facts(total=D("450")), T)) == []
    assert codes(credit_rule(facts(total=D("450")), strict)) == ["CREDIT_LIMIT"]


@pytest.mark.parametrize("price, fires", [(D("9.50"), False), (D("9.49"), True)])
def test_price_below_contract_boundary(price, fires):
    # contract 10, tolerance 5 % -> floor 9.50
    findings = pricing_rule(facts(line=replace(LINE, unit_price=price)), T)
    assert ("PRICE_BELOW_CONTRACT" in codes(findings)) is fires


def test_list_price_is_the_reference_without_a_contract():
    line = replace(LINE, contract_price=None, unit_price=D("11.39"))  # list 12 × 0.95 = 11.40
    finding = next(
        f for f in pricing_rule(facts(line=line), T) if f.reason_code == "PRICE_BELOW_CONTRACT"
    )
    assert finding.context["reference_price"] == "12" and finding.value_at_risk == D("6.10")


@pytest.mark.parametrize("cost, fires", [(D("9.00"), False), (D("9.01"), True)])
def test_margin_floor_boundary(cost, fires):
    # price 10: margin (10 - 9) / 10 = 10 % exactly at the floor
    findings = pricing_rule(facts(line=replace(LINE, unit_cost=cost)), T)
    assert ("MARGIN_BELOW_FLOOR" in codes(findings)) is fires


def test_missing_price_fires():
    assert codes(pricing_rule(facts(line=replace(LINE, unit_price=None)), T)) == ["PRICE_MISSING"]


@pytest.mark.parametrize("available, fires", [(D("10"), False), (D("9.999"), True)])
def test_stock_short_boundary(available, fires):
    findings = inventory_rule(facts(line=replace(LINE, available=available)), T)
    assert ("STOCK_SHORT" in codes(findings)) is fires


@pytest.mark.parametrize("wms, fires", [(D("95"), False), (D("94.9"), True)])
def test_erp_wms_variance_boundary(wms, fires):
    findings = inventory_rule(facts(line=replace(LINE, wms_on_hand=wms)), T)
    assert ("STOCK_VARIANCE" in codes(findings)) is fires


def test_master_data_names_what_is_missing():
    customer = replace(CUSTOMER, payment_terms="", tax_region="")
    [finding] = master_data_rule(facts(customer=customer, ship_to=False), T)
    assert finding.context["missing"] == ["ship_to", "payment_terms", "tax_region"]


@pytest.mark.parametrize("quantity, fires", [(D("50"), False), (D("50.001"), True)])
def test_anomaly_boundary(quantity, fires):
    # median 10 × factor 5 = 50
    line = replace(LINE, quantity=quantity, available=D("1000"))
    assert bool(anomaly_rule(facts(line=line), T)) is fires


def test_anomaly_needs_history():
    line = replace(LINE, quantity=D("10000"), median_quantity=None, available=D("1000000"))
    assert anomaly_rule(facts(line=line), T) == []


def test_rules_are_deterministic():
    messy = facts(
        total=D("900"),
        line=replace(LINE, unit_price=D("5"), available=D("1")),
        customer=replace(CUSTOMER, tax_region=""),
    )
    assert evaluate(messy, T) == evaluate(messy, T)
    assert codes(evaluate(messy, T)) == [
        "CREDIT_LIMIT",
        "PRICE_BELOW_CONTRACT",
        "MARGIN_BELOW_FLOOR",
        "STOCK_SHORT",
        "MASTER_DATA_MISSING",
    ]
