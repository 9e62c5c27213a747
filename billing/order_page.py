"""What billing adds to the order page: shipments, invoices and credit memos, and their history
in the order's timeline."""

from orders.selectors import TimelineEntry, history_entries

from .models import CreditMemo, Invoice, Shipment
from .selectors import credit_memos_of_order, invoices_of_order, is_finance, shipments_of_order


def billing_panel(order, user) -> tuple[str, dict]:
    return "billing/order_billing_panel.html", {
        "shipments": list(shipments_of_order(order_id=order.pk)),
        "invoices": list(invoices_of_order(order_id=order.pk)),
        "credit_memos": list(credit_memos_of_order(order_id=order.pk)),
        "is_finance": is_finance(user),
    }


def billing_timeline(order) -> list[TimelineEntry]:
    shipments = list(Shipment.history.filter(order_id=order.pk).select_related("history_user"))
    invoice_ids = list(invoices_of_order(order_id=order.pk).values_list("pk", flat=True))
    invoices = list(Invoice.history.filter(id__in=invoice_ids).select_related("history_user"))
    memos = list(
        CreditMemo.history.filter(invoice_id__in=invoice_ids).select_related("history_user")
    )
    return (
        history_entries(shipments, subject_of=lambda row: f"Shipment {row.external_id or row.id}")
        + history_entries(invoices, subject_of=lambda row: f"Invoice {row.number}")
        + history_entries(memos, subject_of=lambda row: f"Credit memo {row.number}")
    )
