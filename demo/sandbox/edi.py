"""The sandbox's EDI trading partner: a buyer that sends X12 850 purchase orders (cases and
eaches, allowances, some drop ships), 860 changes, and an 820 remittance advice for each payment
the sandbox bank makes for it (its bank statement then carries the money alone), into o2c's drop
folder for it; and reads the 855, 856, 810 and 997 o2c posts back with a reader of its own (not
o2c's), keeping what it rejected and why. Every PO carries its ground truth: the lines in eaches
at the net price o2c should book; every 820, the payment it stands for.

Fault switches (``switches.py``): the next n interchanges with a malformed segment or a wrong
SE count, an interchange sent twice, and 997s held back this many seconds.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

#: Who the sandbox buyer is in the envelopes, and who it sends to (o2c's defaults).
SENDER = ("ZZ", "SANDBOXBUY")
RECEIVER = ("ZZ", "O2CDIST")
#: Items the buyer orders in cases of this many, and names by its own part numbers.
CASE = 12
PARTNER_NAME = "sandbox-buyer"
#: The bank's deduction reasons (``payments.REASONS``) as the buyer writes them in an 820's ADX02
#: (X12 element 426): 04 item not accepted, damaged; 59 item not received; 01 pricing error;
#: 54 freight deducted; 56 advertising allowance taken; 72 authorised return.
ADX_CODES = {"DMG": "04", "SHT": "59", "PRC": "01", "FRT": "54", "PRO": "56", "RET": "72"}


def cased(sku: str) -> bool:
    """Every third sandbox item is ordered by the case."""
    return int(sku.split("-")[1]) % 3 == 0


def buyer_part(sku: str) -> str | None:
    """Every fourth is named by the buyer's own part number."""
    return f"BUY-{sku.split('-')[1]}" if int(sku.split("-")[1]) % 4 == 0 else None


@dataclass
class Received:
    code: str
    control: str
    reference: str
    accepted: bool
    reasons: list[str]


@dataclass
class EdiPartner:
    customer: dict
    items: list[dict]
    drop: Path | None = None  # o2c's inbound folder for this buyer
    seed: int = 11
    sent: dict[str, dict] = field(default_factory=dict)  # PO number -> ground truth
    remitted: dict[str, dict] = field(default_factory=dict)  # payment -> its 820's truth
    control: int = 0
    received: list[Received] = field(default_factory=list)
    rejected: list[dict] = field(default_factory=list)
    # switches
    malformed_next: int = 0
    wrong_count_next: int = 0
    duplicate_next: int = 0
    ack_delay_seconds: float = 0.0
    pending_acks: list[tuple[float, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    # -- what the buyer sends -------------------------------------------------------------

    def send_orders(self, count: int) -> list[str]:
        """Write ``count`` 850s, one interchange each, into the drop folder; returns the POs."""
        rng = random.Random(self.seed + len(self.sent))
        made = []
        for _ in range(count):
            number = f"SBPO{len(self.sent) + 1:05d}"
            segments, truth = self._850(number, rng)
            self.sent[number] = truth
            self._write("PO", "850", [segments], note=number)
            made.append(number)
        return made

    def send_change(self, number: str, line: int, quantity: int) -> None:
        """An 860 setting one line's quantity (in the unit it was ordered in)."""
        truth = self.sent[number]
        truth["version"] = truth.get("version", 1) + 1
        ordered = truth["lines"][line - 1]
        before = Decimal(ordered["quantity"])
        ordered["quantity"] = str(quantity * ordered["factor"])
        change = "QI" if Decimal(ordered["quantity"]) > before else "QD"
        segments = [
            ["BCH", "04", "SA", number, "", str(truth["version"] - 1), "20261205"],
            ["POC", str(line), change, str(quantity), "", ordered["unit"],
             ordered["price_per_unit"]],
        ]  # fmt: skip
        self._write("PC", "860", [segments], note=f"{number}-chg{truth['version']}")

    def send_remittances(self, payments: list) -> list[str]:
        """An 820 per payment the bank made for the buyer (``bank.py``), naming the payment by
        the reference its bank reports (TRN02) and, per invoice, what it paid, the discount it
        took and what it kept back, with the X12 reason code; one interchange each."""
        names = []
        for payment in payments:
            day = payment.value_date.strftime("%Y%m%d")
            rows = [
                ["BPR", "C", f"{payment.amount:.2f}", "C", "ACH", "CTX", "01", "011000015", "DA",
                 "4400012", "1044004400", "", "01", "021000021", "DA", "7700021", day],
                ["TRN", "1", payment.credit.reference],
                ["CUR", "PR", payment.currency],
                ["N1", "PR", self.customer["name"][:60]],
                ["N1", "PE", "O2C DISTRIBUTION"],
                ["ENT", "1"],
            ]  # fmt: skip
            lines = []
            for line in payment.remittance:
                rmr = ["RMR", "IV", line.reference, "PI", f"{line.paid:.2f}",
                       f"{line.invoice_amount:.2f}"]  # fmt: skip
                if line.discount:
                    rmr.append(f"{line.discount:.2f}")
                rows.append(rmr)
                if line.adjustment:
                    rows.append(
                        ["ADX", f"{-line.adjustment:.2f}", ADX_CODES.get(line.reason, "CS")]
                    )
                lines.append(
                    {"reference": line.reference, "paid": str(line.paid),
                     "discount": str(line.discount), "adjustment": str(line.adjustment),
                     "reason": ADX_CODES.get(line.reason, "CS") if line.adjustment else ""}
                )  # fmt: skip
            self.remitted[payment.id] = {
                "reference": payment.credit.reference,
                "amount": str(payment.amount),
                "lines": lines,
            }
            names.append(self._write("RA", "820", [rows], note=payment.id))
        return names

    def _850(self, number: str, rng: random.Random) -> tuple[list, dict]:
        drop_ship = len(self.sent) % 5 == 4
        chosen = rng.sample(self.items, 3)
        rows = [
            ["BEG", "00", "DS" if drop_ship else "SA", number, "", "20261205"],
            ["REF", "DP", "042"],
            ["PER", "BD", "SANDBOX BUYER", "TE", "6175550100"],
            ["DTM", "002", "20261220"],
            ["TD5", "", "2", "UPSN", "", "UPS GROUND"],
            ["N1", "ST", self.customer["ship_tos"][0]["name"][:60], "92", "MAIN"],
            ["N3", self.customer["ship_tos"][0]["address"]],
            ["N4", self.customer["ship_tos"][0]["city"], "MA",
             self.customer["ship_tos"][0]["postal_code"]],
        ]  # fmt: skip
        lines, total = [], Decimal(0)
        for index, item in enumerate(chosen, start=1):
            sku, each = item["sku"], Decimal(item["list_price"])
            factor = CASE if cased(sku) else 1
            unit = "CA" if factor == CASE else "EA"
            quantity = rng.randint(1, 6)
            price = each * factor
            po1 = ["PO1", str(index), str(quantity), unit, f"{price:.2f}", "PE"]
            part = buyer_part(sku)
            po1 += ["BP", part, "VP", sku] if part else ["VP", sku]
            rows.append(po1)
            rows.append(["PID", "F", "", "", "", item["description"][:80]])
            net = each
            if index == 2:  # a 5 % promotional allowance on the second line
                rows.append(["SAC", "A", "C310", "", "", "", "R", "5"])
                net = (each * Decimal("0.95")).quantize(Decimal("0.0001"), ROUND_HALF_UP)
            lines.append(
                {"sku": sku, "quantity": str(quantity * factor), "unit_price": str(net),
                 "unit": unit, "factor": factor, "price_per_unit": f"{price:.2f}"}
            )  # fmt: skip
            total += (net * quantity * factor).quantize(Decimal("0.01"), ROUND_HALF_UP)
        rows.append(["CTT", str(len(lines))])
        rows.append(["AMT", "TT", f"{total:.2f}"])
        return rows, {"po": number, "drop_ship": drop_ship, "lines": lines, "version": 1}

    def _write(self, functional_id: str, code: str, sets: list[list], *, note: str) -> str:
        if self.drop is None:
            raise RuntimeError("the EDI partner has no drop folder")
        with self.lock:
            self.control += 1
            control = self.control
            wrong = self.wrong_count_next > 0
            self.wrong_count_next -= 1 if wrong else 0
            broken = self.malformed_next > 0
            self.malformed_next -= 1 if broken else 0
            twice = self.duplicate_next > 0
            self.duplicate_next -= 1 if twice else 0
        text = interchange(functional_id, code, sets, control, wrong_count=wrong, malformed=broken)
        self.drop.mkdir(parents=True, exist_ok=True)
        name = f"{control:09d}-{note}.x12"
        part = self.drop / f".{name}.part"
        part.write_text(text)
        part.rename(self.drop / name)
        if twice:
            (self.drop / f"{control:09d}-{note}-again.x12").write_text(text)
        return name

    # -- what o2c sends the buyer ---------------------------------------------------------

    def receive(self, body: bytes) -> dict:
        """Read an interchange o2c posted with the buyer's own reader; reply with a 997 (now, or
        after ``ack_delay_seconds``) unless it was a 997."""
        try:
            envelope, sets = read(body.decode("ascii"))
        except ValueError as exc:
            with self.lock:
                self.rejected.append({"control": "", "code": "", "reason": str(exc)})
            return {"status": "rejected", "reason": str(exc)}
        outcome = []
        for code, control, _group, segments, problem in sets:
            reference = _reference(code, segments)
            with self.lock:
                self.received.append(
                    Received(code, control, reference, not problem, [problem] if problem else [])
                )
                if problem:
                    self.rejected.append(
                        {"control": envelope["control"], "code": code, "set": control,
                         "reference": reference, "reason": problem}
                    )  # fmt: skip
            outcome.append({"code": code, "control": control, "accepted": not problem})
        codes = {code for code, *_ in sets}
        if codes - {"997"}:
            ack = self._997(sets)
            if self.ack_delay_seconds:
                with self.lock:
                    self.pending_acks.append((time.monotonic() + self.ack_delay_seconds, ack))
            else:
                self._drop_ack(ack)
        return {"status": "received", "sets": outcome}

    def _997(self, sets) -> str:
        by_group: dict[str, list] = {}
        for code, control, group, _segments, problem in sets:
            by_group.setdefault(group, []).append((code, control, problem))
        acks = []
        for group, members in by_group.items():
            functional = {"855": "PR", "856": "SH", "810": "IN"}.get(members[0][0], "PO")
            rows = [["AK1", functional, group]]
            for code, control, problem in members:
                rows += [["AK2", code, control], ["AK5", "R" if problem else "A"]]
            accepted = sum(1 for *_, p in members if not p)
            verdict = "A" if accepted == len(members) else "P" if accepted else "R"
            rows.append(["AK9", verdict, str(len(members)), str(len(members)), str(accepted)])
            acks.append(rows)
        with self.lock:
            self.control += 1
            control = self.control
        return interchange("FA", "997", acks, control)

    def _drop_ack(self, text: str) -> None:
        if self.drop is None:
            return
        self.drop.mkdir(parents=True, exist_ok=True)
        name = f"ack-{time.time_ns()}.x12"
        (self.drop / f".{name}.part").write_text(text)
        (self.drop / f".{name}.part").rename(self.drop / name)

    def release_due_acks(self) -> int:
        now = time.monotonic()
        with self.lock:
            due = [a for t, a in self.pending_acks if t <= now]
            self.pending_acks = [(t, a) for t, a in self.pending_acks if t > now]
        for ack in due:
            self._drop_ack(ack)
        return len(due)

    def truth(self) -> dict:
        with self.lock:
            return {
                "orders": dict(self.sent),
                "remittances": dict(self.remitted),
                "received": [r.__dict__ for r in self.received],
                "rejected": list(self.rejected),
            }


def _reference(code: str, segments: list[list[str]]) -> str:
    first = segments[1] if len(segments) > 1 else []
    position = {"855": 3, "856": 2, "810": 2}.get(code)
    return first[position] if position and len(first) > position else ""


def interchange(
    functional_id: str, code: str, sets: list[list], control: int, *, wrong_count=False,
    malformed=False,
) -> str:  # fmt: skip
    """An interchange as the buyer's translator writes it: ``*`` and ``~`` with line breaks."""
    isa = ["ISA", "00", " " * 10, "00", " " * 10, SENDER[0], SENDER[1].ljust(15), RECEIVER[0],
           RECEIVER[1].ljust(15), "261205", "1200", "U", "00401", f"{control:09d}", "0", "T", ">"]  # fmt: skip
    rows = ["*".join(isa), "*".join(["GS", functional_id, SENDER[1], RECEIVER[1], "20261205",
                                      "1200", str(control), "X", "004010"])]  # fmt: skip
    for index, segments in enumerate(sets, start=1):
        st = f"{index:04d}"
        body = [list(s) for s in segments]
        if malformed and body:
            body[0] = [body[0][0], *body[0][1:2], "", *body[0][3:]]  # its key element blanked
        rows.append(f"ST*{code}*{st}")
        rows += ["*".join(s) for s in body]
        count = len(body) + 2 + (3 if wrong_count else 0)
        rows.append(f"SE*{count}*{st}")
    rows.append(f"GE*{len(sets)}*{control}")
    rows.append(f"IEA*1*{control:09d}")
    return "~\n".join(rows) + "~\n"


def read(text: str) -> tuple[dict, list]:
    """The buyer's reader: delimiters from the ISA; for each set (code, control, group control,
    segments, problem or "")."""
    text = text.lstrip()
    if not text.startswith("ISA") or len(text) < 106:
        raise ValueError("not an interchange: no ISA of 106 characters")
    element, terminator = text[3], text[105]
    segments = [s.strip().split(element) for s in text.split(terminator) if s.strip()]
    if segments[-1][0] != "IEA":
        raise ValueError("no IEA trailer")
    envelope = {"control": segments[0][13], "version": segments[0][12]}
    if segments[-1][2] != envelope["control"]:
        raise ValueError("IEA02 does not match ISA13")
    sets, group, current = [], "", None
    groups = 0
    for segment in segments[1:-1]:
        tag = segment[0]
        if tag == "GS":
            group, groups = segment[6], groups + 1
        elif tag == "ST":
            current = [segment[1], segment[2], group, [segment]]
        elif tag == "SE" and current is not None:
            current[3].append(segment)
            problem = ""
            if int(segment[1]) != len(current[3]):
                problem = f"SE01 says {segment[1]} segments; {len(current[3])} found"
            elif segment[2] != current[1]:
                problem = "SE02 does not match ST02"
            else:
                problem = _check(current[0], current[3])
            sets.append((current[0], current[1], current[2], current[3], problem))
            current = None
        elif current is not None:
            current[3].append(segment)
    if int(segments[-1][1]) != groups:
        raise ValueError(f"IEA01 says {segments[-1][1]} groups; {groups} found")
    return envelope, sets


REQUIRED = {"855": ("BAK", "CTT"), "856": ("BSN", "HL", "CTT"), "810": ("BIG", "TDS", "CTT"),
            "997": ("AK1", "AK9")}  # fmt: skip


def _check(code: str, segments: list[list[str]]) -> str:
    tags = [s[0] for s in segments]
    missing = [t for t in REQUIRED.get(code, ()) if t not in tags]
    if missing:
        return f"{code}: missing {', '.join(missing)}"
    if code == "810":
        lines = sum(Decimal(s[2]) * Decimal(s[4]) for s in segments if s[0] == "IT1" and len(s) > 4)
        tds = next(Decimal(s[1]) / 100 for s in segments if s[0] == "TDS")
        if tds < lines.quantize(Decimal("0.01")) - Decimal("0.05"):
            return f"810: TDS {tds} is less than its lines ({lines:.2f})"
    if code == "856":
        levels = [s[3] for s in segments if s[0] == "HL" and len(s) > 3]
        if not levels or levels[0] != "S" or "I" not in levels:
            return "856: the hierarchy must start with S and reach I"
    if code == "855" and not any(s[0] == "ACK" for s in segments):
        return "855: no ACK for its lines"
    return ""
