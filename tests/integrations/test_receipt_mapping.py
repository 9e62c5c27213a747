"""The WMS's return receipts as the mapper reads them: what arrived and what was damaged per
line; a receipt that cannot be right is refused naming the line and field (a dead letter)."""

from decimal import Decimal

import pytest

from integrations.mappers import MappingError, map_receipt, map_shipment

RECEIPT = {
    "id": "RCV-RMA-0000001",
    "rma": "RMA-0000001",
    "received_at": "2026-11-25T10:00:00Z",
    "lines": [{"line": 1, "received": "3", "damaged": "1"}, {"line": 2, "received": "2"}],
}


def test_a_receipt_maps_each_line_received_and_damaged():
    record = map_receipt(RECEIPT)
    assert record.rma == "RMA-0000001" and record.external_id == "RCV-RMA-0000001"
    assert [(line.line, line.received, line.damaged) for line in record.lines] == [
        (1, Decimal("3"), Decimal("1")),
        (2, Decimal("2"), Decimal("0")),
    ]


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ([], "lines: at least one line is required"),
        ([{"line": 0, "received": "1"}], "lines[1].line: expected a line number"),
        ([{"line": 1, "received": "1"}, {"line": True, "received": "1"}], "lines[2].line"),
        ([{"line": 1}], "lines[1].received: required"),
        ([{"line": 1, "received": "2", "damaged": "3"}], "lines[1].damaged: 3 is more than"),
    ],
)
def test_a_receipt_that_cannot_be_right_names_the_line_and_field(lines, message):
    with pytest.raises(MappingError) as refused:
        map_receipt({**RECEIPT, "lines": lines})
    assert message in str(refused.value)


def test_shipments_read_their_lines_the_same_way():
    with pytest.raises(MappingError, match=r"lines\[1\]\.line: expected a line number"):
        map_shipment(
            {
                "id": "SHP-1",
                "order": "SO-1",
                "shipped_at": "2026-11-22T12:00:00Z",
                "lines": [{"line": "x", "quantity": "1"}],
            }
        )
