"""X12 interchanges shaped like published real-world samples: fixed-width ISA, the partner's own
delimiters, with and without line breaks. ``interchange`` counts SE01/GE01/IEA01 itself (not
through o2c's writer), so a test can also make them wrong on purpose."""


def interchange(
    groups,
    *,
    sender=("ZZ", "ACMEBUY"),
    receiver=("ZZ", "O2CDIST"),
    control="000000101",
    version="00401",
    usage="T",
    element="*",
    component=">",
    terminator="~",
    newline="\n",
    se_count_off=None,
):
    """``groups``: [(GS01, GS06, [(ST01, ST02, [segment, ...]), ...]), ...], each segment a list of
    elements (its id first)."""
    e = element
    repetition = "^" if version == "00501" else "U"
    isa = e.join(
        [
            "ISA", "00", " " * 10, "00", " " * 10, sender[0], sender[1].ljust(15), receiver[0],
            receiver[1].ljust(15), "261205", "0930", repetition, version, control, "0", usage,
            component,
        ]
    )  # fmt: skip
    rows = [isa]
    gs_version = "004010" if version == "00401" else "005010"
    for functional_id, group_control, sets in groups:
        rows.append(e.join(["GS", functional_id, sender[1], receiver[1], "20261205", "0930",
                            str(group_control), "X", gs_version]))  # fmt: skip
        for code, set_control, segments in sets:
            rows.append(e.join(["ST", code, set_control]))
            rows += [e.join(segment) for segment in segments]
            count = len(segments) + 2
            if se_count_off and se_count_off[0] == set_control:
                count += se_count_off[1]
            rows.append(e.join(["SE", str(count), set_control]))
        rows.append(e.join(["GE", str(len(sets)), str(group_control)]))
    rows.append(e.join(["IEA", str(len(groups)), control]))
    return (terminator + newline).join(rows) + terminator + newline


def po_850(po="PO-1001", *, ship_to=("92", "DOCK1"), lines=None, extra=(), amount=None, ctt=None,
           purpose="00", po_type="SA"):  # fmt: skip
    """An 850's segments. ``lines``: [(line, quantity, unit, price, [(qualifier, id), ...],
    [segments after the line's PID, e.g. its SAC])]; ``extra``: header segments (a SAC)."""
    lines = lines or [("1", "2", "CA", "120.00", [("VP", "SKU-A")])]
    segments = [
        ["BEG", purpose, po_type, po, "", "20261205"],
        ["REF", "DP", "038"],
        ["PER", "BD", "PAT BUYER", "TE", "6175550100"],
        ["DTM", "002", "20261215"],
        ["TD5", "", "", "", "", "UPS GROUND"],
        ["N1", "ST", "ACME DC 1", ship_to[0], ship_to[1]],
        ["N3", "1 COMMERCE WAY"],
        ["N4", "BOSTON", "MA", "02110"],
        *[list(s) for s in extra],
    ]
    for line, quantity, unit, price, ids, *after in lines:
        po1 = ["PO1", line, quantity, unit, price, "PE"]
        for qualifier, ident in ids:
            po1 += [qualifier, ident]
        segments.append(po1)
        segments.append(["PID", "F", "", "", "", f"ITEM {line}"])
        segments += [list(s) for s in (after[0] if after else [])]
    segments.append(["CTT", str(ctt if ctt is not None else len(lines))])
    if amount is not None:
        segments.append(["AMT", "TT", amount])
    return segments
