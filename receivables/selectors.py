"""Reads of receivables: the cash policy in force, and what matching needs for a batch of
payments, fetched set-wise (a few queries per batch, whatever its size)."""

from collections import defaultdict
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

from django.db import connection
from django.db.models import F, Max

from billing.models import Invoice
from billing.models.invoice import RECEIVABLE_STATES
from core.money import ZERO, round_money
from orders.models import Customer

from .matching import (
    Context,
    CustomerInfo,
    NameIndex,
    OpenInvoice,
    PaymentIn,
    Thresholds,
    customers_for_payment,
    customers_named,
    reads_open_invoices,
    reference_keys,
    swapped_keys_for_payment,
)
from .models import CashPolicy, Payment, PaymentState

#: Invoice numbers are "INV-" and at least seven digits (billing's numbering).
INVOICE_PREFIX, INVOICE_DIGITS = "INV-", 7


def cash_policy() -> CashPolicy:
    return CashPolicy.objects.order_by("pk").first() or CashPolicy()


def thresholds_of(policy: CashPolicy) -> Thresholds:
    return Thresholds(
        auto=policy.auto_threshold,
        suggest=policy.suggest_threshold,
        margin=policy.margin,
        amount_tolerance=policy.amount_tolerance,
    )


def _open_invoice(row) -> OpenInvoice:
    """An open invoice from (id, number, customer, currency, open, total, issued, due, discount
    percent, discount days), with the early-payment discount its customer's terms allow."""
    pk, number, customer_id, currency, open_, total, issued, due, percent, days = row
    discount = min(round_money(total * percent / 100), open_) if percent else ZERO
    return OpenInvoice(
        id=pk,
        number=number,
        customer_id=customer_id,
        currency=currency,
        open_amount=open_,
        issued_on=issued,
        due_date=due,
        discount_amount=discount,
        discount_until=issued + timedelta(days=days) if discount else None,
    )


_COLUMNS = (
    "pk",
    "number",
    "customer_id",
    "currency",
    "open",
    "total",
    "issued_on",
    "due_date",
    "customer__discount_percent",
    "customer__discount_days",
)


def _open_invoices(queryset) -> list[OpenInvoice]:
    """Open invoices with the early-payment discount their customer's terms allow."""
    rows = (
        queryset.filter(state__in=RECEIVABLE_STATES)
        .annotate(open=F("total") - F("settled_amount") - F("credited_amount"))
        .filter(open__gt=0)
        .values_list(*_COLUMNS)
    )
    return [_open_invoice(row) for row in rows]


#: Headroom on a ceiling: the tolerance of an amount fit is added by the caller; this covers the
#: half-cent a rounded discount can exceed ``total × percent / 100`` by.
_ROUNDING = Decimal("0.01")


def _open_invoices_within(ceilings: dict[int, Decimal]) -> list[OpenInvoice]:
    """The open invoices of the customers in ``ceilings`` that a payment of at most the
    customer's ceiling could settle, with its discount: open − discount ≤ ceiling. Amount
    matching never looks at the others (a single invoice or a combination must add up to the
    payment, or to less), and they were about half the rows read. One query; on PostgreSQL read
    raw, each customer's ceiling joined from arrays, as the ORM cannot say it in one statement."""
    if not ceilings:
        return []
    if connection.vendor != "postgresql":
        return [
            invoice
            for invoice in _open_invoices(Invoice.objects.filter(customer_id__in=ceilings))
            if invoice.open_amount - invoice.discount_amount <= ceilings[invoice.customer_id]
        ]
    ids = list(ceilings)
    return _read_open(
        "FROM unnest(%s::bigint[], %s::numeric[]) AS b(customer_id, most) "
        "JOIN {invoice} i ON i.customer_id = b.customer_id",
        "AND o.open <= b.most + i.total * c.discount_percent / 100 + %s",
        [ids, [ceilings[pk] for pk in ids]],
        [_ROUNDING],
    )


def _open_invoices_numbered(numbers: list[str]) -> list[OpenInvoice]:
    """The open invoices with these numbers, with their discounts. One query; on PostgreSQL
    read raw, as the payers' are (the ORM's row building was a third of this read)."""
    if not numbers:
        return []
    if connection.vendor != "postgresql":
        return _open_invoices(Invoice.objects.filter(number__in=numbers))
    return _read_open("FROM {invoice} i", "AND i.number = ANY(%s::varchar[])", [], [numbers])


def _read_open(source: str, condition: str, before: list, after: list) -> list[OpenInvoice]:
    """Open invoices ``source`` (naming the invoice table ``i``) gives that meet ``condition``,
    with the discount their customers' terms allow worked out by PostgreSQL as ``_open_invoice``
    works it out (``ROUND`` takes halves away from zero, as ``ROUND_HALF_UP`` does): building
    each row's discount in Python was a third of this read's time in a worker. ``before`` and
    ``after`` are the parameters around the state's."""
    invoice, customer = Invoice._meta.db_table, Customer._meta.db_table
    sql = f"""
        SELECT i.id, i.number, i.customer_id, i.currency, o.open, i.issued_on, i.due_date,
               d.discount,
               CASE WHEN d.discount <> 0 THEN i.issued_on + c.discount_days END
        {source.format(invoice=invoice)}
        JOIN {customer} c ON c.id = i.customer_id
        CROSS JOIN LATERAL (
            SELECT i.total - i.settled_amount - i.credited_amount AS open) o
        CROSS JOIN LATERAL (
            SELECT CASE WHEN c.discount_percent <> 0
                        THEN LEAST(ROUND(i.total * c.discount_percent / 100, 2), o.open)
                        ELSE 0 END AS discount) d
        WHERE i.state = ANY(%s)
          AND o.open > 0
          {condition}
    """  # noqa: S608 - table names from the models; every value is a parameter
    with connection.cursor() as cursor:
        cursor.execute(sql, [*before, list(RECEIVABLE_STATES), *after])
        return [OpenInvoice(*row) for row in cursor.fetchall()]


_INDEX: dict = {"version": None, "index": None}


def name_index() -> NameIndex:
    """Every customer's name and parent, indexed for payer look-ups. Built once per process and
    again only when a customer changes (its history's newest row moves): about 0.4 s for 20,000
    customers, against one indexed query per batch to see whether it is still current."""
    # the newest row's id and time: an id alone can come back after a rolled-back insert
    version = tuple(
        Customer.history.aggregate(last=Max("history_id"), at=Max("history_date")).values()
    )
    if _INDEX["version"] != version or _INDEX["index"] is None:
        _INDEX["index"] = NameIndex(
            CustomerInfo(id=pk, name=name, parent_id=parent_id)
            for pk, name, parent_id in Customer.objects.values_list("pk", "name", "parent_id")
        )
        _INDEX["version"] = version
    return _INDEX["index"]


def matching_context(payments: list[PaymentIn], policy: CashPolicy) -> Context:
    """Everything matching reads for ``payments``: invoices their references name (as written,
    then with two digits swapped where nobody vouches for that reading); for the payments those
    do not settle firmly, the open invoices of their likely payers, subsidiaries and the families
    their references name that an amount here could settle; the customers, and the bank
    accounts confirmed for a customer by earlier applications. At most five queries per
    batch."""
    index = name_index()
    thresholds = thresholds_of(policy)
    # the batch's unseen payer spellings searched together, before anything asks for one
    index.look_ahead((p.payer_name for p in payments), thresholds.name_cutoff)
    fingerprints = {p.payer_account_fingerprint for p in payments if p.payer_account_fingerprint}
    accounts: dict[str, set[int]] = defaultdict(set)
    for fingerprint, customer_id in (
        Payment.objects.filter(
            payer_account_fingerprint__any=list(fingerprints),
            state__in=(PaymentState.APPLIED, PaymentState.POSTED),
            customer__isnull=False,
        )
        .values_list("payer_account_fingerprint", "customer_id")
        .distinct()
    ):
        accounts[fingerprint].add(customer_id)
    # an account seen paying for two customers identifies neither
    by_account = {fp: next(iter(ids)) for fp, ids in accounts.items() if len(ids) == 1}
    partial = Context(name_index=index, customers_by_account=by_account)
    by_key: dict[str, list[OpenInvoice]] = defaultdict(list)

    def fetch(keys: set[str]) -> None:
        numbers = [INVOICE_PREFIX + key.zfill(INVOICE_DIGITS) for key in keys if key.isdigit()]
        for invoice in _open_invoices_numbered(numbers):
            by_key[invoice.number[len(INVOICE_PREFIX) :].lstrip("0")].append(invoice)

    # the references as written first; then the swapped-digit readings of those nobody vouches
    # for, the only ones matching reads (every reading up front read ~580 invoices a full-scale
    # file, most of them strangers'; now ~125)
    written = set().union(*(reference_keys(p) for p in payments)) if payments else set()
    fetch(written)
    first = replace(partial, invoices_by_key=by_key)
    fetch(
        set().union(*(swapped_keys_for_payment(p, first, thresholds) for p in payments)) - written
    )
    named = replace(partial, invoices_by_key=by_key)
    # each likely payer's (and subsidiary's, and named family's) largest payment here: no amount
    # fit goes beyond it
    # a payment whose references name, firmly and in full, what it pays never reads its
    # payers' open invoices (about two in three): they were most of the rows a batch read
    ceilings: dict[int, Decimal] = {}
    for payment in payments:
        if not reads_open_invoices(payment, named, thresholds):
            continue
        most = payment.amount + thresholds.amount_tolerance
        customers = customers_for_payment(payment, partial, thresholds)
        for customer_id in customers | customers_named(payment, named):
            if most > ceilings.get(customer_id, ZERO):
                ceilings[customer_id] = most
    by_customer: dict[int, list[OpenInvoice]] = defaultdict(list)
    for invoice in _open_invoices_within(ceilings):
        by_customer[invoice.customer_id].append(invoice)
    return Context(
        invoices_by_key=dict(by_key),
        open_by_customer=dict(by_customer),
        customers=index.customers,
        name_index=index,
        customers_by_account=by_account,
    ).remember(named)


def payment_input(payment: Payment, lines) -> PaymentIn:
    """A stored payment as matching reads it (``lines``: its remittance lines)."""
    from .matching import RemittanceLine

    return PaymentIn(
        key=payment.key,
        amount=payment.amount,
        currency=payment.currency,
        value_date=payment.value_date,
        payer_name=payment.payer_name,
        payer_account_fingerprint=payment.payer_account_fingerprint,
        free_text=payment.free_text,
        remittance=tuple(
            RemittanceLine(
                reference=line.reference,
                paid=line.paid,
                discount=line.discount,
                adjustment=line.adjustment,
                reason_code=line.reason_code,
                text=line.text,
                invoice_amount=line.invoice_amount,
            )
            for line in lines
        ),
    )


def cash_known_to_erp(balances: dict) -> dict[int, Decimal]:
    """Credit exposure, with billing's ``own_receivables``: the ERP's AR snapshot already took
    off the cash o2c posted to it before the snapshot's time (on invoices it knew by then), so
    that much less of the snapshot is o2c's invoices, and is added back. One query."""
    from django.db.models import OuterRef, Subquery, Sum

    from orders.models import ARBalance

    from .models import Application

    as_of = ARBalance.objects.filter(customer_id=OuterRef("invoice__customer_id")).values("as_of")[
        :1
    ]
    rows = (
        Application.objects.filter(
            invoice__customer_id__in=[cid for cid, ar in balances.items() if ar is not None],
            reversed_at__isnull=True,
            payment__posted_at__lte=Subquery(as_of),
            invoice__posted_at__lte=Subquery(as_of),
        )
        .values("invoice__customer_id")
        .annotate(cash=Sum(F("amount") + F("discount")))
        .values_list("invoice__customer_id", "cash")
        .order_by()
    )
    return {customer_id: cash for customer_id, cash in rows if cash}
