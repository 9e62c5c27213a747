"""A bulk action's dry run, shared by the queues that act on many rows at once (holds released,
invoices approved): each selected row with what would happen to it or why it would be refused,
and the value of the rows that would act, per currency."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

REFUSED = "refused"


@dataclass(frozen=True)
class PreviewRow:
    """One selected row: ``outcome`` says what would happen ("released", "waits for a second
    approver"…), or is ``REFUSED`` with the refusal's ``message``. ``label`` and ``customer``
    are empty for a row the person may not see."""

    id: int
    label: str
    customer: str
    value: Decimal
    currency: str
    outcome: str
    message: str = ""

    @property
    def refused(self) -> bool:
        return self.outcome == REFUSED


@dataclass(frozen=True)
class BulkPreview:
    """Every selected row, in the order selected; the totals are never summed across
    currencies."""

    rows: list[PreviewRow]

    @property
    def acting(self) -> list[PreviewRow]:
        return [row for row in self.rows if not row.refused]

    @property
    def refused(self) -> list[PreviewRow]:
        return [row for row in self.rows if row.refused]

    @property
    def totals(self) -> list[tuple[str, Decimal]]:
        totals: dict[str, Decimal] = {}
        for row in self.acting:
            totals[row.currency] = totals.get(row.currency, Decimal("0")) + row.value
        return sorted(totals.items())


def unseen(row_id: int, message: str) -> PreviewRow:
    """A selected id the person may not see (or that does not exist): refused, naming nothing."""
    return PreviewRow(row_id, "", "", Decimal("0"), "", REFUSED, message)
