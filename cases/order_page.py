"""What cases add to the order's timeline: returns of its invoiced lines, authorised, received,
credited or refused, with each returned line's quantities."""

from orders.selectors import TimelineEntry, history_entries

from .models import ReturnAuthorisation, ReturnLine


def returns_timeline(order) -> list[TimelineEntry]:
    lines = list(
        ReturnLine.history.filter(invoice_line__order_line__order_id=order.pk)
        .select_related("history_user")
        .order_by("history_date")
    )
    if not lines:
        return []
    numbers = dict(
        ReturnAuthorisation.objects.filter(pk__in={row.rma_id for row in lines}).values_list(
            "pk", "number"
        )
    )
    returns = list(
        ReturnAuthorisation.history.filter(id__in=numbers).select_related("history_user")
    )
    return history_entries(
        returns, subject_of=lambda row: f"Return {row.number}"
    ) + history_entries(
        lines, subject_of=lambda row: f"Return {numbers[row.rma_id]} line {row.line_number}"
    )
