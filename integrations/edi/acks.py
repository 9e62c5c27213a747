"""The 997 functional acknowledgement o2c returns for each functional group it receives: per
set accepted or rejected, with the AK3 segment and AK4 element of every finding."""

from __future__ import annotations

from .x12 import Body, Group


def verdict(group: Group) -> str:
    """AK901: A every set accepted; E every set accepted but the group's envelope has errors
    (named in AK905); P some sets rejected; R none accepted."""
    accepted = sum(1 for s in group.sets if s.accepted)
    if not accepted:
        return "R"
    if accepted < len(group.sets):
        return "P"
    return "E" if group.codes else "A"


def ack_997(group: Group, version: str) -> Body:
    """The body (AK1 to AK9) of the 997 for ``group``."""
    ak1 = ["AK1", group.functional_id, group.control]
    if version.startswith("005"):
        ak1.append(group.version)
    rows = [ak1]
    for transaction_set in group.sets:
        rows.append(["AK2", transaction_set.code, transaction_set.control])
        last = len(transaction_set.segments)
        for error in transaction_set.errors[:20]:  # a 997 names the first findings, not all
            rows.append(["AK3", error.segment, str(error.position or last), "", error.code])
            if error.element:
                rows.append(
                    ["AK4", str(error.element), error.reference, error.element_code,
                     error.value[:99]]
                )  # fmt: skip
        if transaction_set.accepted:
            rows.append(["AK5", "A"])
        else:
            codes = list(transaction_set.envelope_codes)
            if transaction_set.errors and "5" not in codes:
                codes.append("5")
            rows.append(["AK5", "R", *codes[:5]])
    accepted = sum(1 for s in group.sets if s.accepted)
    # AK902: the sets the sender declared (GE01); AK903: those received
    declared = group.declared if group.declared.isdigit() else str(len(group.sets))
    rows.append(
        ["AK9", verdict(group), declared, str(len(group.sets)), str(accepted), *group.codes[:5]]
    )
    return rows
