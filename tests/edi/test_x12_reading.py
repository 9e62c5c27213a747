"""Reading interchanges: delimiters from the ISA, several groups and sets, both versions, and
envelope errors judged set by set, as the 997 reports them."""

import pytest
import pyx12.segment

from integrations.edi import acks, syntax, x12
from tests.edi.samples import interchange, po_850


def _sets(text):
    return [(s.code, s.control, s.accepted) for s in x12.read(text).sets]


@pytest.mark.parametrize(
    "delimiters",
    [
        {"element": "*", "component": ">", "terminator": "~", "newline": "\n"},
        {"element": "*", "component": ":", "terminator": "~", "newline": ""},  # one long line
        {"element": "|", "component": "^", "terminator": "\n", "newline": ""},  # line per segment
        {"element": "\x1d", "component": "\x1f", "terminator": "\x1c", "newline": ""},  # binary
        {"element": "*", "component": ">", "terminator": "'", "newline": "\r\n"},
    ],
)
def test_delimiters_come_from_the_isa(delimiters):
    text = interchange(
        [("PO", 1, [("850", "0001", po_850("PO-1")), ("850", "0002", po_850("PO-2"))])],
        **delimiters,
    )
    read = x12.read(text)
    assert [(s.code, s.control, s.accepted) for s in read.sets] == [
        ("850", "0001", True),
        ("850", "0002", True),
    ]
    assert read.sender == "ACMEBUY" and read.control == "000000101" and read.usage == "T"
    beg = read.sets[1].segments[1]
    assert beg.get_seg_id() == "BEG" and x12.value(beg, 3) == "PO-2"


def test_several_groups_and_both_versions():
    groups = [
        ("PO", 7, [("850", "0001", po_850("PO-1"))]),
        ("PO", 8, [("850", "0001", po_850("PO-2")), ("850", "0002", po_850("PO-3"))]),
    ]
    for version in ("00401", "00501"):
        read = x12.read(interchange(groups, version=version))
        assert read.version == version
        assert [(g.control, len(g.sets)) for g in read.groups] == [("7", 1), ("8", 2)]
        assert all(s.accepted for s in read.sets)


def test_a_wrong_count_rejects_its_set_only_and_the_997_says_where():
    text = interchange(
        [("PO", 9, [("850", "0001", po_850("PO-1")), ("850", "0002", po_850("PO-2"))])],
        se_count_off=("0001", 3),
    )
    read = x12.read(text)
    assert _sets(text) == [("850", "0001", False), ("850", "0002", True)]
    assert read.sets[0].envelope_codes == ["4"]
    body = acks.ack_997(read.groups[0], "004010")
    assert body[0] == ["AK1", "PO", "9"]
    assert ["AK2", "850", "0001"] in body and ["AK5", "R", "4"] in body
    assert body[-1] == ["AK9", "P", "2", "2", "1"]


def test_segment_and_element_errors_name_position_and_element():
    segments = po_850("PO-1")
    segments[0][5] = "20261345"  # BEG05: no 45th of the 13th month
    segments.insert(3, ["ZZZ", "1"])  # not a segment of an 850
    po1 = next(s for s in segments if s[0] == "PO1")
    po1[2] = "2X"  # PO102: not a number
    read = x12.read(interchange([("PO", 1, [("850", "0001", segments)])]))
    found = syntax.check(read.sets[0])
    where = {(e.segment, e.position, e.element, e.element_code) for e in found}
    assert ("BEG", 2, 5, "8") in where
    assert ("ZZZ", 5, None, "") in where
    po1_position = next(
        i for i, s in enumerate(read.sets[0].segments, 1) if s.get_seg_id() == "PO1"
    )
    assert ("PO1", po1_position, 2, "6") in where
    read.sets[0].errors = found
    body = acks.ack_997(read.groups[0], "004010")
    assert ["AK3", "BEG", "2", "", "8"] in body
    assert ["AK4", "5", "373", "8", "20261345"] in body
    assert ["AK5", "R", "5"] in body and body[-1][1] == "R"


def test_a_missing_trailer_and_garbage_are_reported_not_guessed():
    text = interchange([("PO", 1, [("850", "0001", po_850())])])
    cut = text[: text.index("SE*")]  # the set, group and interchange never end
    read = x12.read(cut + "~")
    assert read.sets[0].envelope_codes == ["2"] and not read.sets[0].accepted
    with pytest.raises(x12.InterchangeError) as caught:
        x12.read("GS*PO*X*Y~ST*850*1~")
    assert caught.value.position == 1
    with pytest.raises(x12.InterchangeError):
        x12.read("ISA*00*short~")


def test_what_o2c_writes_reads_back():
    envelope = x12.Envelope(
        "ZZ",
        "O2CDIST",
        "ZZ",
        "ACMEBUY",
        "O2CDIST",
        "ACMEBUY",
        "005010",
        "P",
        42,
        "20261205",
        "1200",
    )
    body = [["BAK", "00", "AC", "PO*1~", "20261205"], ["CTT", "1"]]
    text = x12.write(envelope, [("PR", 43, [("855", "0044", body)])])
    read = x12.read(text)
    assert read.control == "000000042" and read.usage == "P" and read.version == "00501"
    [only] = read.sets
    assert only.accepted and only.code == "855" and len(only.segments) == 4
    assert x12.value(only.segments[1], 3) == "PO 1 "  # a delimiter in a value cannot split it


def test_a_group_count_off_is_accepted_with_errors_and_says_what_was_declared():
    text = interchange([("PO", 4, [("850", "0001", po_850("PO-1"))])]).replace("GE*1*4", "GE*3*4")
    read = x12.read(text)
    assert read.sets[0].accepted and read.groups[0].codes == ["5"]
    # AK902 repeats GE01 (3 declared), AK903 the one received, AK905 the group's error
    assert acks.ack_997(read.groups[0], "004010")[-1] == ["AK9", "E", "3", "1", "1", "5"]


@pytest.mark.parametrize(
    "line",
    [
        "PO1*1*2*CA*120.00**VP*SKU-A*BP*CUST-77~",
        "N1*ST*Dock>1>>*92*DOCK1",  # a composite with trailing empty components
        "REF*ZZ***~",  # trailing empty elements
        "C30*A>B>C*>*X",
        "ISA*00*          *00*          *ZZ*ACMEBUY        *ZZ*O2CDIST        *261205*1200*U*00401*000000101*0*T*>~",
        "1X*A",  # not a segment id
        "ZZ",  # no elements
        "ST**~",  # every element empty
        "PID*F****Widget, 10>pack",
    ],
)
def test_a_segment_reads_as_pyx12s_own_does(line):
    """o2c's segment keeps the text that pyx12's splits into objects: every answer pyx12's reader
    and o2c's mapping ask of it is the same as pyx12's own segment gives."""
    ours = x12.Segment(line, "~", "*", ">")
    theirs = pyx12.segment.Segment(line, "~", "*", ">")
    assert ours.get_seg_id() == theirs.get_seg_id()
    assert len(ours) == len(theirs)
    assert ours.is_empty() == theirs.is_empty()
    assert ours.is_seg_id_valid() == theirs.is_seg_id_valid()
    assert ours.format() == theirs.format()
    assert ours.format("", "|", "^") == theirs.format("", "|", "^")
    # a reference names the segment only when its id is one (pyx12's reader asks only of those)
    seg_id = theirs.get_seg_id() if theirs.is_seg_id_valid() else ""
    for n in range(1, len(theirs) + 2):
        for reference in (f"{seg_id}{n:02d}", *(f"{seg_id}{n:02d}-{c}" for c in (1, 2, 4))):
            assert ours.get_value(reference) == theirs.get_value(reference), reference
