"""Every write to holds, by subdomain: evaluation (holds raised and cleared by rules and other
apps), the queue actions, the remedies for particular causes (each locked and audited), and notes and
files on holds and orders (audited inserts)."""

from .actions import (
    hold_approve,
    hold_claim,
    hold_escalate,
    hold_reassign,
    hold_reject,
    hold_release,
    hold_unclaim,
    holds_escalate_overdue,
    holds_release_preview,
    notifications_mark_read,
)
from .automatic import auto_release_refusal, hold_auto_release, hold_reinstate
from .evaluation import (
    EVALUATED_STATES,
    RULE_CATEGORIES,
    hold_for_finding,
    hold_raise,
    holds_clear,
    holds_close_for_cancelled,
    order_evaluate,
    orders_evaluate_imported,
)
from .notes import hold_attach, hold_note_add, order_attach, order_note_add
from .remedies import (
    FULFILMENT_REASONS,
    hold_accept_backorder,
    hold_approve_partial,
    hold_cancel_line,
    hold_close_short,
    hold_correct_price,
    hold_fix_master_data,
    hold_investigate,
    hold_reevaluate,
    hold_substitute,
)

__all__ = [
    "auto_release_refusal",
    "hold_auto_release",
    "hold_reinstate",
    "EVALUATED_STATES",
    "FULFILMENT_REASONS",
    "RULE_CATEGORIES",
    "hold_accept_backorder",
    "hold_approve",
    "hold_approve_partial",
    "hold_attach",
    "hold_note_add",
    "order_attach",
    "order_note_add",
    "hold_cancel_line",
    "hold_claim",
    "hold_close_short",
    "hold_correct_price",
    "hold_escalate",
    "hold_fix_master_data",
    "hold_for_finding",
    "hold_investigate",
    "hold_raise",
    "hold_reassign",
    "hold_reevaluate",
    "hold_reject",
    "hold_release",
    "hold_substitute",
    "hold_unclaim",
    "holds_clear",
    "holds_close_for_cancelled",
    "holds_escalate_overdue",
    "holds_release_preview",
    "notifications_mark_read",
    "order_evaluate",
    "orders_evaluate_imported",
]
