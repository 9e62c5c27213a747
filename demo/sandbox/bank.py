"""The sandbox bank: it pays the invoices the sandbox ERP received, as customers really pay (with
noise), writes the payments into statement files once, and keeps the truth behind each payment.

Deterministic: every draw comes from one generator seeded by the catalog's seed, taken in
invoice-number order, so the same invoices settled in the same runs give the same files.
"""

import random
import threading
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from . import statements
from .payers import bank_written, name_variant, payer_account, stranger
from .payments import (
    DEFAULT_NOISE,
    REASONS,
    REFERENCE_NOISE,
    ZERO,
    Applied,
    Due,
    Payment,
    StatementFile,
    decimal_or_none,
    due_of,
    fraction,
    miswritten,
)
from .statements import Credit, Remit, quantum

#: How customers are set up to pay: (home format, share of customers).
HOMES = (("bai2", 0.45), ("camt053", 0.40), ("lockbox", 0.15))
#: Payments per statement file at most; more on one day make further files.
STATEMENT_SIZE = 20


@dataclass
class Profile:
    """How one customer pays: from which account, into which of our accounts."""

    account: str
    home: str
    checks: int  # the next check number it writes


@dataclass
class Bank:
    """Payments made so far, their files and truth; ``settle`` pays what has come due."""

    customers: dict[str, dict]
    seed: int
    payments: list[Payment] = field(default_factory=list)
    files: list[StatementFile] = field(default_factory=list)
    malformed: list[dict] = field(default_factory=list)  # files first sent broken
    settled: set[str] = field(default_factory=set)  # invoice keys paid (or not payable)
    lock: threading.Lock = field(default_factory=threading.Lock)
    #: The customer whose remittances go by the EDI buyer's 820s, while it has a drop folder.
    remit_by_edi: str | None = None
    #: Payments made whose 820 is still to be sent (``State.bank_settle`` hands them over).
    edi_advices: list[Payment] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._rng = random.Random(f"{self.seed}:bank")
        self._profiles: dict[str, Profile] = {}
        self._balances = {
            statements.BAI2_ACCOUNT: Decimal("250000.00"),
            statements.CAMT_ACCOUNT: Decimal("180000.00"),
        }
        self._entries = 0
        self._batches = 0

    # -- paying -----------------------------------------------------------------------------

    def settle(
        self,
        invoices: dict[str, dict],
        credit_memos: list[dict],
        *,
        noise: dict[str, float],
        size: int = STATEMENT_SIZE,
        malformed: int = 0,
    ) -> int:
        """Pay every invoice of ``invoices`` (by key) not paid yet, net of its credit memos, and
        write the payments into new statement files. The first ``malformed`` new files are
        sent first with a bad amount, then again corrected. Returns how many were."""
        credited: dict[str, Decimal] = {}
        for memo in credit_memos:
            amount = decimal_or_none(memo.get("total"))
            if amount is not None and memo.get("invoice"):
                credited[memo["invoice"]] = credited.get(memo["invoice"], ZERO) + amount
        todo: list[Due] = []
        for key in sorted(
            set(invoices) - self.settled, key=lambda k: str(invoices[k].get("number"))
        ):
            self.settled.add(key)
            due = due_of(invoices[key], credited)
            if due is not None:
                todo.append(due)
        if not todo:
            return 0
        rng = self._rng
        noise = {**DEFAULT_NOISE, **noise}
        made: list[Payment] = []
        by_customer: dict[str, list[Due]] = {}
        for due in todo:
            by_customer.setdefault(due.customer, []).append(due)
        for customer in sorted(by_customer):
            for unit in self._units(by_customer[customer], noise):
                made.append(self._payment(unit, noise))
                if rng.random() < noise["unknown_payer"]:
                    made.append(self._stranger(made[-1]))
        return self._file(made, size=max(1, size), malformed=malformed)

    def _units(self, dues: list[Due], noise: dict[str, float]) -> list[list[Due]]:
        """The customer's invoices due now as payments: each alone, or in bundles of two to
        five when the customer pays them together (same currency only)."""
        rng = self._rng
        if len(dues) < 2 or rng.random() >= noise["bundle"]:
            return [[due] for due in dues]
        units: list[list[Due]] = []
        by_currency: dict[str, list[Due]] = {}
        for due in dues:
            by_currency.setdefault(due.currency, []).append(due)
        for group in by_currency.values():
            while group:
                take = rng.randint(2, 5)
                units.append(group[:take])
                group = group[take:]
                if len(group) == 1:
                    units[-1].append(group.pop())
        return units

    def _payment(self, unit: list[Due], noise: dict[str, float]) -> Payment:
        rng = self._rng
        first = unit[0]
        customer = self.customers.get(first.customer, {})
        payer = first.customer
        modifiers: list[str] = []
        if customer.get("parent") and rng.random() < noise["parent"]:
            payer = customer["parent"]
            modifiers.append("parent")
        kind = "bundle" if len(unit) > 1 else self._kind(customer, first.open, noise)
        q = quantum(first.currency)
        applies, lines = [], []
        for due in unit:
            applied, discount, short, reason, paid = due.open, ZERO, ZERO, "", due.open
            if kind == "partial":
                paid = applied = max(q, (due.open * fraction(rng)).quantize(q, ROUND_HALF_UP))
            elif kind in ("discount", "late_discount"):
                percent = Decimal(customer.get("discount_percent") or "0")
                discount = (due.open * percent / 100).quantize(q, ROUND_HALF_UP)
                paid = applied = due.open - discount
            elif kind == "short":
                share = Decimal(rng.randint(2, 15)) / 100
                short = max(q, (due.open * share).quantize(q, ROUND_HALF_UP))
                reason = rng.choice(sorted(REASONS))
                paid = applied = due.open - short
            elif kind == "over":
                paid = due.open + max(q, (due.open * Decimal(rng.randint(3, 20)) / 100).quantize(q))
            applies.append(Applied(due.number, applied, discount, short, reason))
            lines.append(Remit(due.number, paid, due.open, discount, short, reason))
        amount = sum((line.paid for line in lines), ZERO)
        written, reference_noise = self._references(lines, kind, noise)
        modifiers += reference_noise
        profile = self._profile(payer)
        fmt = profile.home if rng.random() < 0.9 else rng.choice([h for h, _ in HOMES])
        structured = kind not in ("exact", "bundle", "over") or fmt == "lockbox"
        method = (
            "check"
            if fmt == "lockbox"
            else ("ach" if structured else rng.choice(["ach", "ach", "wire"]))
        )
        name = self.customers.get(payer, {}).get("name", payer)
        if rng.random() < noise["name_variant"]:
            name, _way = name_variant(name, rng)
            modifiers.append("name_variant")
        if fmt == "bai2":
            name = bank_written(name)
        via = ""
        if self.remit_by_edi == first.customer and fmt != "lockbox" and written:
            # an EDI payer sends its money by ACH and what it pays by 820, apart; no draw is
            # taken here, so the other payments' truth does not move
            via, method = "edi820", "ach"
        return Payment(
            id="",
            kind=kind,
            noise=modifiers,
            customer=first.customer,
            payer=payer,
            format=fmt,
            amount=amount,
            currency=first.currency,
            value_date=self._value_date(unit, kind, customer),
            method=method,
            payer_name=name,
            payer_account=profile.account,
            applies=applies,
            remittance=written if method != "wire" else [],
            free_text=" ".join(line.reference for line in written) if method == "wire" else "",
            via=via,
            on_account=amount - sum((a.applied for a in applies), ZERO),
            duplicated=fmt != "lockbox" and rng.random() < noise["duplicate"],
        )

    def _kind(self, customer: dict, amount: Decimal, noise: dict[str, float]) -> str:
        """How a payment for one invoice pays; a discount only on terms that allow one."""
        draw = self._rng.random()
        if amount < 1:
            return "exact"  # too small to pay in part
        for kind in ("partial", "discount", "late_discount", "short", "over"):
            if draw < noise[kind]:
                discounted = Decimal(customer.get("discount_percent") or "0") > 0
                return kind if discounted or "discount" not in kind else "exact"
            draw -= noise[kind]
        return "exact"

    def _references(
        self, lines: list[Remit], kind: str, noise: dict[str, float]
    ) -> tuple[list[Remit], list[str]]:
        """The remittance as the payer wrote it, and the reference noise in it."""
        draw = self._rng.random()
        for name in REFERENCE_NOISE:
            if draw < noise[name]:
                break
            draw -= noise[name]
        else:
            return lines, []
        if name == "reference_missing":
            return ([], [name]) if kind in ("exact", "bundle") else (lines, [])
        index = self._rng.randrange(len(lines))
        written = miswritten(lines[index].reference, name, self._rng)
        if written is None:
            return lines, []
        lines = list(lines)
        lines[index] = Remit(**{**lines[index].__dict__, "reference": written})
        return lines, [name]

    def _value_date(self, unit: list[Due], kind: str, customer: dict) -> date:
        """When the money arrived, on the invoices' own calendar: within the discount window
        for a discount, after it for a late one, else around the due date; never before issue."""
        rng = self._rng
        issued = max(due.issued for due in unit)
        days = int(customer.get("discount_days") or 0)
        if kind == "discount":
            return issued + timedelta(days=rng.randint(1, max(1, days)))
        if kind == "late_discount":
            return issued + timedelta(days=rng.randint(days + 3, days + 25))
        around = min(due.due for due in unit) + timedelta(days=rng.randint(-12, 8))
        return max(around, issued + timedelta(days=1))

    def _stranger(self, beside: Payment) -> Payment:
        """Money from a name and account no customer has, naming no invoice of ours."""
        rng = self._rng
        amount = Decimal(rng.randint(2500, 900000)) / 100
        fmt = rng.choice(["bai2", "camt053", "bai2", "camt053", "lockbox"])
        name = stranger(rng)
        note = rng.choice(["", "PAYMENT", f"PO {rng.randint(4000, 9999)}", "DEPOSIT", "SERVICES"])
        return Payment(
            id="",
            kind="unknown_payer",
            noise=[],
            customer=None,
            payer=None,
            format=fmt,
            amount=amount,
            currency=beside.currency,
            value_date=beside.value_date,
            method="check" if fmt == "lockbox" else rng.choice(["ach", "wire"]),
            payer_name=bank_written(name) if fmt == "bai2" else name,
            payer_account=payer_account(rng),
            applies=[],
            remittance=[],
            free_text=note,
            unknown=amount,
        )

    def _profile(self, number: str) -> Profile:
        profile = self._profiles.get(number)
        if profile is None:
            rng = random.Random(f"{self.seed}:payer:{number}")
            draw, home = rng.random(), HOMES[-1][0]
            for name, share in HOMES:
                if draw < share:
                    home = name
                    break
                draw -= share
            profile = Profile(payer_account(rng), home, rng.randint(1001, 9000))
            self._profiles[number] = profile
        return profile

    # -- writing ----------------------------------------------------------------------------

    def _file(self, made: list[Payment], *, size: int, malformed: int) -> int:
        """Statement files of the new payments: one per format, currency and day, at most
        ``size`` payments each; the first ``malformed`` also go out broken first."""
        groups: dict[tuple[str, str, date], list[Payment]] = {}
        for payment in made:
            groups.setdefault((payment.format, payment.currency, payment.value_date), []).append(
                payment
            )
        broken = 0
        for key in sorted(groups):
            group = groups[key]
            for start in range(0, len(group), size):
                chunk = group[start : start + size]
                if self._write(key, chunk, broken < malformed):
                    broken += 1
        return broken

    def _write(self, key: tuple[str, str, date], chunk: list[Payment], broken: bool) -> bool:
        fmt, currency, day = key
        credits: list[Credit] = []
        number = len(self.files) + 1
        batch = ""
        if fmt == "lockbox":
            self._batches += 1
            batch = f"{self._batches:03d}"
        for item, payment in enumerate(chunk, start=1):
            self._entries += 1
            payment.id = f"PAY-{len(self.payments) + 1:06d}"
            if fmt == "lockbox":
                profile = self._profile(payment.payer) if payment.payer else None
                check = str(profile.checks if profile else self._rng.randint(100, 999))
                if profile:
                    profile.checks += 1
                reference = f"{batch}/{item}/{check}"
            elif fmt == "bai2":
                check, reference = (
                    "",
                    f"{'ACH' if payment.method == 'ach' else 'FED'}{day:%y%m%d}{self._entries:07d}",
                )
            else:
                check, reference = "", f"SBXT{day:%Y%m%d}{self._entries:07d}"
            payment.credit = Credit(
                reference=reference,
                amount=payment.amount,
                currency=payment.currency,
                value_date=payment.value_date,
                payer_name=payment.payer_name,
                payer_account=payment.payer_account,
                method=payment.method,
                remittance=() if payment.via else tuple(payment.remittance),
                free_text=payment.free_text,
                batch=batch,
                item=item,
                check_number=check,
            )
            self.payments.append(payment)
            if payment.via:
                self.edi_advices.append(payment)
            credits.append(payment.credit)
            if payment.duplicated:
                credits.append(payment.credit)
        content, account, statement_id = self._content(fmt, day, number, credits)
        for payment in chunk:
            payment.bank_account, payment.statement_id = account, statement_id
        prefix = {"bai2": "BAI2", "camt053": "CAMT", "lockbox": "LBX"}[fmt]
        if broken:
            bad, line = statements.malformed(fmt, content)
            bad_id = f"SBX-{prefix}-{number:06d}"
            self.files.append(StatementFile(bad_id, fmt, account, bad))
            number += 1
        file_id = f"SBX-{prefix}-{number:06d}"
        self.files.append(StatementFile(file_id, fmt, account, content))
        for payment in chunk:
            payment.file = file_id
        if broken:
            self.malformed.append(
                {"file": bad_id, "line": line, "field": "amount", "corrected_by": file_id}
            )
        return broken

    def _content(
        self, fmt: str, day: date, number: int, credits: list[Credit]
    ) -> tuple[str, str, str]:
        """(file text, our account, the statement id the parser reads from it)."""
        if fmt == "lockbox":
            return statements.lockbox(credits=credits), statements.LOCKBOX, day.isoformat()
        account = statements.BAI2_ACCOUNT if fmt == "bai2" else statements.CAMT_ACCOUNT
        opening = self._balances[account]
        self._balances[account] = opening + sum((c.amount for c in credits), ZERO)
        if fmt == "bai2":
            text = statements.bai2(file_number=number, day=day, opening=opening, credits=credits)
            return text, account, f"{statements.BAI2_ORIGINATOR}:{day.isoformat()}"
        statement_id = f"{account}-{day:%Y%m%d}-{number:04d}"
        text = statements.camt053(
            statement_id=statement_id,
            file_number=number,
            day=day,
            opening=opening,
            credits=credits,
            version=2 if number % 3 == 0 else 8,
        )
        return text, account, statement_id

    def truth(self) -> dict:
        return {
            "payments": [payment.as_json() for payment in self.payments],
            "malformed": list(self.malformed),
        }
