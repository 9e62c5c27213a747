"""Deductions and disputes: cases opened from short payments and complaints, routed by reason,
resolved with a credit memo, a re-bill or a write-off, and a root cause."""
