"""What integrations add to the order's timeline: the inbound and outbound messages behind it."""

from orders.selectors import TimelineEntry, history_entries

from .models import InboundMessage, OutboundMessage


def message_timeline(order) -> list[TimelineEntry]:
    """Messages share the order's correlation id: the upstream record it came from, and the
    instructions sent downstream about it."""
    inbound = list(
        InboundMessage.history.filter(correlation_id=order.correlation_id)
        .select_related("history_user", "connector")
        .order_by("history_date")
    )
    outbound = list(
        OutboundMessage.history.filter(correlation_id=order.correlation_id)
        .select_related("history_user")
        .order_by("history_date")
    )
    entries = history_entries(
        inbound,
        subject_of=lambda row: (
            f"Message {row.stream}:{row.external_id} v{row.version} ({row.state})"
        ),
    )
    entries += history_entries(
        outbound, subject_of=lambda row: f"Outbound {row.topic} ({row.state})"
    )
    return entries
