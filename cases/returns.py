"""Returns (RMA), every write and read: customer service authorises goods to come back against
invoiced lines (never more than was invoiced less what is already coming back); the warehouse
is told through the outbox (``return_authorised``), and its receipt, with the inspection, is
credited less the restocking fee, or refused. A credit above the case policy's limit waits for
a second person in finance (never the one who authorised the return, superusers too)."""

from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import Prefetch, Q, QuerySet, Sum
from django.utils import timezone

from billing.models import FINAL_STATES, CreditReason, InvoiceLine
from billing.services import credit_memo_create, credit_memo_tier
from billing.services.numbering import save_with_next_number
from core.audit import save_audited
from core.errors import ApplicationError, Conflict, PermissionDenied, require_reason
from core.models import NoticeKind
from core.money import ZERO, round_money
from core.roles import Role, UserLike, get_system_user, has_role, is_system_user, user_roles
from orders.selectors import territories_for

from .models import ReturnAuthorisation, ReturnLine, ReturnReason, ReturnState
from .selectors import case_policy
from .services import credit_value
from .signals import customer_to_be_told, return_authorised

#: Who sees returns; who authorises them; who approves or refuses a credit that waits.
RETURN_VIEWER_ROLES = (Role.CUSTOMER_SERVICE, Role.WAREHOUSE, Role.FINANCE, Role.MANAGER)
RETURN_AUTHORISER_ROLES = (Role.CUSTOMER_SERVICE, Role.MANAGER)
RETURN_APPROVER_ROLES = (Role.FINANCE, Role.MANAGER)
#: States in which a return's quantities count against what may still come back.
COUNTED_STATES = (ReturnState.AUTHORISED, ReturnState.RECEIVED, ReturnState.CREDITED)


def _qty(value: Decimal) -> str:
    """A quantity as people write it: 10, 2.5 (not 10.000)."""
    return f"{value.normalize():f}"


_CONFLICT = "Someone else changed this return a moment ago; reload to see it."


# -- reads -------------------------------------------------------------------------------------


def returns_for_user(user: UserLike) -> QuerySet[ReturnAuthorisation]:
    """The returns the user may open: every role that sees returns, within their territories."""
    if not (is_system_user(user) or user_roles(user) & set(RETURN_VIEWER_ROLES)):
        return ReturnAuthorisation.objects.none()
    queryset = ReturnAuthorisation.objects.all()
    territories = territories_for(user)
    if territories is not None:
        queryset = queryset.filter(customer__territory__in=territories)
    return queryset


def return_list(*, user: UserLike, state: str = "", search: str = "") -> QuerySet:
    queryset = returns_for_user(user).select_related("customer", "invoice", "credit_memo")
    if state:
        queryset = queryset.filter(state=state)
    if search:
        queryset = queryset.filter(
            Q(number__iexact=search)
            | Q(invoice__number__iexact=search)
            | Q(customer__name__icontains=search)
            | Q(customer__number__iexact=search)
        )
    return queryset.order_by("-authorised_at", "-id")


def return_get(*, user: UserLike, rma_id: int) -> ReturnAuthorisation:
    rma = (
        returns_for_user(user)
        .select_related(
            "customer", "invoice", "credit_memo", "authorised_by", "decided_by", "invoice__order"
        )
        .prefetch_related(
            Prefetch(
                "lines",
                queryset=ReturnLine.objects.select_related(
                    "invoice_line", "invoice_line__order_line__item"
                ),
            )
        )
        .filter(pk=rma_id)
        .first()
    )
    if rma is None:
        raise PermissionDenied("No such return.", {"rma_id": rma_id})
    return rma


@dataclass(frozen=True)
class Returnable:
    line: InvoiceLine
    returning: Decimal  # on returns authorised, received or credited
    left: Decimal  # what may still come back


def returnable_lines(invoice_id: int) -> list[Returnable]:
    """Each line of the invoice with what is already coming back and what may still."""
    lines = (
        InvoiceLine.objects.filter(invoice_id=invoice_id, voided=False)
        .select_related("order_line__item")
        .annotate(
            returning=Sum(
                "return_lines__quantity",
                filter=Q(return_lines__rma__state__in=COUNTED_STATES),
            )
        )
        .order_by("line_number")
    )
    return [
        Returnable(
            line=line,
            returning=line.returning or ZERO,
            left=max(line.quantity - (line.returning or ZERO), ZERO),
        )
        for line in lines
    ]


# -- writes ------------------------------------------------------------------------------------


def _save(rma: ReturnAuthorisation, actor, reason: str) -> ReturnAuthorisation:
    return save_audited(rma, actor=actor, reason=reason[:100], conflict=_CONFLICT)


@transaction.atomic
def return_authorise(
    *, actor, invoice_id: int, reason: str, quantities: dict[int, Decimal], note: str
) -> ReturnAuthorisation:
    """Authorise ``quantities`` (invoice line id -> quantity) of a released invoice to come back.
    A line may take what it invoiced less what is already coming back; anything above is refused
    with the numbers, and nothing is written. The invoice row is locked, so two authorisations of
    the same line cannot both take its last units."""
    from billing.selectors import invoices_for_user

    note = require_reason(note)
    if not (is_system_user(actor) or has_role(actor, *RETURN_AUTHORISER_ROLES)):
        raise PermissionDenied("Returns are authorised by customer service.")
    if reason not in ReturnReason.values:
        raise ApplicationError("Choose why the goods come back.", {"field": "reason"})
    invoice = invoices_for_user(actor).select_for_update(of=("self",)).filter(pk=invoice_id).first()
    if invoice is None:
        raise ApplicationError("No such invoice.", {"field": "invoice"})
    if invoice.state not in FINAL_STATES:
        raise ApplicationError(
            f"Invoice {invoice.number} is {invoice.get_state_display().lower()}; only a released "
            "invoice's goods can be returned.",
            {"field": "invoice"},
        )
    wanted = {line_id: qty for line_id, qty in quantities.items() if qty}
    if not wanted:
        raise ApplicationError("Enter a quantity on at least one line.", {"field": "lines"})
    available = {r.line.pk: r for r in returnable_lines(invoice.pk)}
    for line_id, qty in sorted(wanted.items()):
        row = available.get(line_id)
        if row is None:
            raise ApplicationError("That line is not on this invoice.", {"field": "lines"})
        if qty < 0:
            raise ApplicationError(
                f"Line {row.line.line_number}: a quantity cannot be negative.", {"field": "lines"}
            )
        if qty > row.left:
            raise ApplicationError(
                f"Line {row.line.line_number}: {_qty(qty)} is more than may come back — invoiced "
                f"{_qty(row.line.quantity)}, already returning {_qty(row.returning)}, so at most "
                f"{_qty(row.left)}.",
                {"field": "lines", "line": row.line.line_number, "available": str(row.left)},
            )
    now = timezone.now()
    rma = ReturnAuthorisation(
        customer_id=invoice.customer_id,
        invoice=invoice,
        reason=reason,
        note=note,
        restocking_fee_percent=case_policy().restocking_fee_percent,
        authorised_at=now,
        authorised_by=actor,
        correlation_id=invoice.correlation_id,
    )
    rma._history_user = actor
    rma._change_reason = f"Authorised by {actor.get_username()}"
    save_with_next_number(rma, prefix="RMA-")
    for position, (line_id, qty) in enumerate(
        sorted(wanted.items(), key=lambda item: available[item[0]].line.line_number), start=1
    ):
        line = ReturnLine(
            rma=rma, line_number=position, invoice_line=available[line_id].line, quantity=qty
        )
        line._history_user = actor
        line.save()
    return_authorised.send(sender=ReturnAuthorisation, rma=rma)
    return rma


def _credited_quantities(rma: ReturnAuthorisation) -> dict[int, Decimal]:
    return {line.invoice_line_id: line.credit_qty for line in rma.lines.all() if line.credit_qty}


def _issue_credit(rma: ReturnAuthorisation, *, actor, approved_by=None) -> ReturnAuthorisation:
    """The credit memo of the credited quantities, less the fee; the return is credited."""
    who = (approved_by or actor).get_username()
    memo = credit_memo_create(
        invoice_id=rma.invoice_id,
        actor=get_system_user(),
        quantities=_credited_quantities(rma),
        reason=f"Return {rma.number} ({rma.get_reason_display().lower()})"
        + (f", approved by {who}" if approved_by else ""),
        reason_code=CreditReason.RETURN,
        fee=rma.fee or ZERO,
    )
    rma.credit(by=approved_by or actor, at=timezone.now(), memo=memo)
    return _save(rma, approved_by or actor, f"Credited by {memo.number}")


@transaction.atomic
def return_receive(
    *, actor, number: str, receipt_id: str, lines: dict[int, tuple[Decimal, Decimal]]
) -> ReturnAuthorisation:
    """The warehouse's receipt of return ``number``: ``lines`` maps the return's line number to
    (received, of which damaged). Credited: what arrived, capped at what was authorised, less
    damaged units when the customer chose to return them (their loss); less the restocking fee
    when the customer chose. Nothing creditable refuses the return, saying why; a credit above
    the policy's limit waits for finance; otherwise it is credited now. The same receipt again
    changes nothing; another receipt of a return already received is a conflict."""
    rma = (
        ReturnAuthorisation.objects.select_for_update(of=("self",))
        .filter(number=number)
        .prefetch_related("lines")
        .first()
    )
    if rma is None:
        raise ApplicationError(f"No return {number}.", {"field": "rma"})
    if rma.receipt_id == receipt_id:
        return rma
    if rma.state != ReturnState.AUTHORISED:
        raise Conflict(
            f"Return {number} is already {rma.get_state_display().lower()} (receipt "
            f"{rma.receipt_id}); receipt {receipt_id} changes nothing.",
            {"state": rma.state},
        )
    own = {line.line_number: line for line in rma.lines.all()}
    unknown = sorted(set(lines) - set(own))
    if unknown:
        raise ApplicationError(f"Return {number} has no line {unknown[0]}.", {"field": "lines"})
    explained = []
    for number_, line in own.items():
        received, damaged = lines.get(number_, (ZERO, ZERO))
        if received < 0 or damaged < 0 or damaged > received:
            raise ApplicationError(
                f"Line {number_}: received {received}, damaged {damaged} do not add up.",
                {"field": "lines"},
            )
        counted = min(received, line.quantity)
        good = max(counted - damaged, ZERO)
        line.received_qty, line.damaged_qty = received, damaged
        line.credit_qty = good if rma.fee_applies else counted
        line._history_user = actor
        line.save(update_fields=["received_qty", "damaged_qty", "credit_qty"])
        if received < line.quantity:
            explained.append(f"line {number_}: {_qty(received)} of {_qty(line.quantity)} arrived")
        if damaged and rma.fee_applies:
            explained.append(f"line {number_}: {_qty(damaged)} damaged, not credited")
    gross = credit_value(rma.invoice_id, _credited_quantities(rma))
    fee = round_money(gross * rma.restocking_fee_percent / 100) if rma.fee_applies else ZERO
    now = timezone.now()
    rma.receive(at=now, receipt_id=receipt_id, gross=gross, fee=fee)
    _save(
        rma, actor, f"Received ({receipt_id})" + (f": {'; '.join(explained)}" if explained else "")
    )
    if gross <= 0:
        rma.refuse(
            by=actor,
            at=now,
            why="Nothing that came back can be credited"
            + (f" ({'; '.join(explained)})" if explained else "")
            + ".",
        )
        _save(rma, actor, "Refused: nothing to credit")
        _tell_refused(rma)
        return rma
    if credit_memo_tier(gross - fee):
        return rma  # finance approves (return_approve), one or two people by the memo's tier
    try:
        with transaction.atomic():
            return _issue_credit(rma, actor=actor)
    except (ApplicationError, Conflict) as exc:
        # the invoice cannot take it now (paid meanwhile, credited otherwise): finance decides
        rma.refresh_from_db()
        _save(rma, actor, f"Credit not issued: {exc.message}")
        return rma


def _lock_received(actor, rma_id: int) -> ReturnAuthorisation:
    if not (is_system_user(actor) or has_role(actor, *RETURN_APPROVER_ROLES)):
        raise PermissionDenied("Return credits are approved by finance.")
    rma = returns_for_user(actor).select_for_update(of=("self",)).filter(pk=rma_id).first()
    if rma is None:
        raise PermissionDenied("No such return.", {"rma_id": rma_id})
    if rma.state != ReturnState.RECEIVED:
        who = rma.decided_by.get_username() if rma.decided_by else "the warehouse"
        raise Conflict(
            f"Return {rma.number} is {rma.get_state_display().lower()} (by {who}); nothing was "
            "changed.",
            {"state": rma.state},
        )
    return rma


@transaction.atomic
def return_approve(*, actor, rma_id: int, reason: str) -> ReturnAuthorisation:
    """Maker-checker: a person other than the one who authorised the return issues its credit."""
    reason = require_reason(reason)
    rma = _lock_received(actor, rma_id)
    if rma.authorised_by_id == actor.pk:
        raise PermissionDenied("You authorised this return; someone else must approve its credit.")
    if rma.first_approver_id == actor.pk:
        raise PermissionDenied("You gave the first approval; someone else must give the second.")
    credit = (rma.credit_gross or ZERO) - (rma.fee or ZERO)
    if credit_memo_tier(credit) >= 2 and rma.first_approver_id is None:
        rma.first_approver = actor
        return _save(rma, actor, f"First approval by {actor.get_username()}: {reason}")
    rma._change_reason = reason
    _tell_authoriser(rma, actor, "approved: its credit is issued", reason)
    return _issue_credit(rma, actor=actor, approved_by=actor)


@transaction.atomic
def return_refuse(*, actor, rma_id: int, reason: str) -> ReturnAuthorisation:
    """Finance refuses the credit; ``reason`` is what the customer is told."""
    reason = require_reason(reason)
    rma = _lock_received(actor, rma_id)
    rma.refuse(by=actor, at=timezone.now(), why=reason)
    _save(rma, actor, f"Refused by {actor.get_username()}")
    _tell_refused(rma)
    _tell_authoriser(rma, actor, "refused", reason)
    return rma


def _tell_authoriser(rma: ReturnAuthorisation, actor, outcome: str, reason: str) -> None:
    """Maker-checker: the person who authorised the return hears finance's decision on its
    credit."""
    from exceptions.notifications import notify_people

    notify_people(
        [rma.authorised_by],
        f"The credit for return {rma.number} you authorised was {outcome} by "
        f"{actor.get_username()}: {reason}",
        kind=NoticeKind.APPROVAL,
        actor=actor,
    )


def _tell_refused(rma: ReturnAuthorisation) -> None:
    customer_to_be_told.send(
        sender=ReturnAuthorisation,
        customer_id=rma.customer_id,
        subject=f"Return {rma.number} not credited",
        text=f"Your return {rma.number} against invoice {rma.invoice.number} was not credited: "
        f"{rma.refusal}",
    )


def return_payload(rma: ReturnAuthorisation) -> dict:
    """What the warehouse is told to expect: the return's lines, with the items' SKUs."""
    lines = rma.lines.select_related("invoice_line__order_line__item")
    return {
        "rma": rma.number,
        "customer": rma.customer.number,
        "invoice": rma.invoice.number,
        "reason": rma.reason,
        "lines": [
            {
                "line": line.line_number,
                "sku": line.invoice_line.order_line.item.sku,
                "quantity": str(line.quantity),
            }
            for line in lines
        ],
    }
