"""Names of the segments and elements o2c reads and writes, for the console's readable view of a
transaction set: each segment with its name, each element with its meaning."""

from __future__ import annotations

from dataclasses import dataclass

from .x12 import Interchange, value

SEGMENTS = {
    "ST": "Transaction set header", "SE": "Transaction set trailer",
    "BEG": "Beginning segment for purchase order", "BCH": "Beginning segment for PO change",
    "BAK": "Beginning segment for PO acknowledgement", "BSN": "Beginning segment for ship notice",
    "BIG": "Beginning segment for invoice", "BPR": "Beginning segment for payment order",
    "CUR": "Currency", "REF": "Reference identification", "PER": "Administrative contact",
    "DTM": "Date/time reference", "TD5": "Carrier details (routing)", "TD1": "Carrier details",
    "N1": "Party identification", "N2": "Additional name", "N3": "Address",
    "N4": "Geographic location", "PO1": "Baseline item data", "POC": "Line item change",
    "PID": "Product description", "SAC": "Service, promotion, allowance or charge",
    "CTT": "Transaction totals", "AMT": "Monetary amount", "ACK": "Line item acknowledgement",
    "HL": "Hierarchical level", "PRF": "Purchase order reference", "MAN": "Marks and numbers",
    "LIN": "Item identification", "SN1": "Item detail (shipment)", "ITD": "Terms of sale",
    "IT1": "Baseline item data (invoice)", "TDS": "Total monetary value summary",
    "TXI": "Tax information", "TRN": "Trace", "ENT": "Entity", "RMR": "Remittance advice",
    "ADX": "Adjustment", "AK1": "Functional group response header",
    "AK2": "Transaction set response header", "AK3": "Segment note", "AK4": "Element note",
    "AK5": "Transaction set response trailer", "AK9": "Functional group response trailer",
    "MSG": "Message text", "FOB": "Shipping instructions", "ITA": "Allowance or charge",
}  # fmt: skip

ELEMENTS = {
    "ST": ["Transaction set code", "Control number"],
    "SE": ["Number of included segments", "Control number"],
    "BEG": ["Purpose", "PO type", "PO number", "Release number", "PO date"],
    "BCH": ["Purpose", "PO type", "PO number", "Release number", "Change sequence", "PO date"],
    "BAK": ["Purpose", "Acknowledgement type", "PO number", "PO date"],
    "BSN": ["Purpose", "Shipment id", "Date", "Time", "Hierarchical structure"],
    "BIG": ["Invoice date", "Invoice number", "PO date", "PO number", "Release", "Change",
            "Transaction type"],
    "CUR": ["Entity", "Currency"],
    "REF": ["Qualifier", "Reference"],
    "PER": ["Function", "Name", "Number qualifier", "Number"],
    "DTM": ["Qualifier", "Date"],
    "TD5": ["Routing sequence", "Id qualifier", "Carrier (SCAC)", "Transport method", "Routing"],
    "N1": ["Entity", "Name", "Id qualifier", "Id"],
    "N3": ["Address"],
    "N4": ["City", "State", "Postal code", "Country"],
    "PO1": ["Line", "Quantity", "Unit", "Unit price", "Price basis", "Id qualifier", "Product id",
            "Id qualifier", "Product id", "Id qualifier", "Product id"],
    "POC": ["Line", "Change type", "Quantity ordered", "Quantity left", "Unit", "Unit price",
            "Price basis", "Id qualifier", "Product id", "Id qualifier", "Product id"],
    "PID": ["Type", "", "", "", "Description"],
    "SAC": ["Allowance or charge", "Code", "", "", "Amount (cents)", "Percent qualifier",
            "Percent", "Rate", "Unit", "Quantity", "", "Method of handling", "", "", "Description"],
    "CTT": ["Number of lines", "Hash total"],
    "AMT": ["Qualifier", "Amount"],
    "ACK": ["Line status", "Quantity", "Unit", "Date qualifier", "Date"],
    "HL": ["Id", "Parent id", "Level (S shipment, O order, P pack, I item)"],
    "PRF": ["PO number"],
    "MAN": ["Qualifier", "Marks (SSCC-18)"],
    "LIN": ["Line", "Id qualifier", "Product id", "Id qualifier", "Product id"],
    "SN1": ["Line", "Quantity shipped", "Unit"],
    "ITD": ["Terms type", "Basis date", "", "", "", "Net due date", "Net days"],
    "IT1": ["Line", "Quantity invoiced", "Unit", "Unit price", "Price basis", "Id qualifier",
            "Product id"],
    "TDS": ["Total (cents)"],
    "TXI": ["Tax type", "Amount"],
    "AK1": ["Functional id", "Group control number", "Version"],
    "AK2": ["Transaction set code", "Control number"],
    "AK3": ["Segment", "Position", "Loop", "Error code"],
    "AK4": ["Element position", "Element reference", "Error code", "Bad value"],
    "AK5": ["Verdict (A accepted, E with errors, R rejected)", "Error code", "Error code"],
    "AK9": ["Verdict (A, E, P partly, R)", "Sets included", "Sets received", "Sets accepted"],
    "BPR": ["Handling", "Amount", "Credit/debit", "Payment method"],
    "TRN": ["Trace type", "Reference"],
    "RMR": ["Qualifier", "Reference", "Action", "Amount paid", "Invoice amount", "Discount"],
    "ADX": ["Adjustment amount", "Reason code"],
}  # fmt: skip


@dataclass
class ReadableSegment:
    position: int
    id: str
    name: str
    elements: list[tuple[str, str, str]]  # (position "01", value, meaning)


@dataclass
class ReadableSet:
    code: str
    control: str
    group: str
    segments: list[ReadableSegment]


def readable(interchange: Interchange) -> list[ReadableSet]:
    sets = []
    for group in interchange.groups:
        for transaction_set in group.sets:
            rows = []
            for position, segment in enumerate(transaction_set.segments, start=1):
                seg_id = segment.get_seg_id() or ""
                names = ELEMENTS.get(seg_id, [])
                elements = [
                    (f"{n:02d}", value(segment, n), names[n - 1] if n <= len(names) else "")
                    for n in range(1, len(segment.elements) + 1)
                    if value(segment, n)
                ]
                rows.append(ReadableSegment(position, seg_id, SEGMENTS.get(seg_id, ""), elements))
            sets.append(
                ReadableSet(transaction_set.code, transaction_set.control, group.control, rows)
            )
    return sets
