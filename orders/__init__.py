"""Master data and the canonical order with its lifecycle state machine."""
