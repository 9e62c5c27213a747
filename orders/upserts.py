"""Bulk upserts of master data for imports: insert new rows and update changed ones, with history.

Each function takes canonical records (integrations maps raw messages to them) and returns the
keys it could not apply with the reason, so the caller can dead-letter exactly those.
"""

from collections.abc import Iterable

from django.db import transaction
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from .models import ARBalance, Customer, InventoryPosition, Item, PriceAgreement, ShipTo, Warehouse


def _upsert(model, *, source: str, rows: dict[str, dict], actor, reason: str) -> None:
    """rows: external id -> field values. Unchanged rows are left alone (no history noise)."""
    existing = {
        obj.external_id: obj
        for obj in model.objects.filter(source_system=source, external_id__in=rows)
    }
    new, changed, fields = [], [], set()
    for external_id, values in rows.items():
        obj = existing.get(external_id)
        if obj is None:
            new.append(model(source_system=source, external_id=external_id, **values))
            continue
        diff = {name: value for name, value in values.items() if getattr(obj, name) != value}
        if diff:
            for name, value in diff.items():
                setattr(obj, name, value)
            fields |= diff.keys()
            changed.append(obj)
    if new:
        bulk_create_with_history(new, model, default_user=actor, default_change_reason=reason)
    if changed:
        bulk_update_with_history(
            changed, model, sorted(fields), default_user=actor, default_change_reason=reason
        )


def _taken(model, field: str, *, source: str, records: list, attr: str) -> dict[str, str]:
    """Records whose natural key (customer number, SKU) another record already owns: another
    source's, another record of this source, or an earlier record of the same batch. Each is
    refused with its reason (a dead letter), instead of failing the batch on the unique index."""
    rejected, owner = {}, {}
    for record in records:
        value = getattr(record, attr)
        if owner.setdefault(value, record.external_id) != record.external_id:
            rejected[record.external_id] = (
                f"{attr}: “{value}” is also sent for {owner[value]} in the same batch"
            )
    for obj in model.objects.filter(**{f"{field}__in": list(owner)}).only(
        field, "source_system", "external_id"
    ):
        value = getattr(obj, field)
        if obj.source_system != source:
            rejected[owner[value]] = f"{attr}: “{value}” belongs to another source"
        elif obj.external_id != owner[value]:
            rejected[owner[value]] = f"{attr}: “{value}” already belongs to {obj.external_id}"
    return rejected


@transaction.atomic
def customers_upsert(*, actor, source: str, records: Iterable, reason: str) -> dict[str, str]:
    records = list(records)
    rejected = _taken(Customer, "number", source=source, records=records, attr="number")
    records = [r for r in records if r.external_id not in rejected]
    _upsert(
        Customer,
        source=source,
        actor=actor,
        reason=reason,
        rows={
            r.external_id: {
                "number": r.number,
                "name": r.name,
                "segment": r.segment,
                "territory": r.territory,
                "credit_limit": r.credit_limit,
                "payment_terms": r.payment_terms,
                "credit_status": r.credit_status,
                "billing_rule": r.billing_rule,
                "tax_region": r.tax_region,
                "discount_percent": r.discount_percent,
                "discount_days": r.discount_days,
            }
            for r in records
        },
    )
    _link_parents(records, actor=actor, reason=reason)
    customers = {
        c.external_id: c
        for c in Customer.objects.filter(
            source_system=source, external_id__in=[r.external_id for r in records]
        )
    }
    ship_rows = {
        f"{r.external_id}/{s.code}": {
            "customer": customers[r.external_id],
            "code": s.code,
            "name": s.name,
            "address": s.address,
            "city": s.city,
            "postal_code": s.postal_code,
        }
        for r in records
        for s in r.ship_tos
    }
    _upsert(ShipTo, source=source, actor=actor, reason=reason, rows=ship_rows)
    return rejected


def _link_parents(records: list, *, actor, reason: str) -> None:
    """Point each customer at the group company that pays for it (named by customer number; one
    not known yet is linked when a later pull brings it)."""
    wanted = {r.number: r.parent for r in records}
    numbers = {n for n in wanted.values() if n} | set(wanted)
    by_number = {c.number: c for c in Customer.objects.filter(number__in=numbers)}
    for number, parent_number in wanted.items():
        customer = by_number.get(number)
        parent = by_number.get(parent_number) if parent_number else None
        if customer is None or customer.parent_id == (parent.pk if parent else None):
            continue
        if parent_number and parent is None:
            continue
        customer.parent = parent
        customer._history_user, customer._change_reason = actor, reason
        customer.save(update_fields=["parent"])


@transaction.atomic
def items_upsert(*, actor, source: str, records: Iterable, reason: str) -> dict[str, str]:
    records = list(records)
    rejected = _taken(Item, "sku", source=source, records=records, attr="sku")
    _upsert(
        Item,
        source=source,
        actor=actor,
        reason=reason,
        rows={
            r.external_id: {
                "sku": r.sku,
                "description": r.description,
                "uom": r.uom,
                "list_price": r.list_price,
                "unit_cost": r.unit_cost,
            }
            for r in records
            if r.external_id not in rejected
        },
    )
    return rejected


def resolve_customers(*, source: str, refs: Iterable[str]) -> dict[str, Customer]:
    return {
        c.external_id: c
        for c in Customer.objects.filter(source_system=source, external_id__in=set(refs))
    }


def resolve_items(skus: Iterable[str]) -> dict[str, Item]:
    return {i.sku: i for i in Item.objects.filter(sku__in=set(skus))}


@transaction.atomic
def prices_upsert(*, actor, source: str, records: list, reason: str) -> dict[str, str]:
    customers = resolve_customers(source=source, refs=[r.customer for r in records])
    items = resolve_items(r.sku for r in records)
    rejected = {
        r.external_id: f"customer: unknown “{r.customer}”"
        for r in records
        if r.customer not in customers
    }
    rejected |= {
        r.external_id: f"sku: unknown “{r.sku}”"
        for r in records
        if r.sku not in items and r.external_id not in rejected
    }
    _upsert(
        PriceAgreement,
        source=source,
        actor=actor,
        reason=reason,
        rows={
            r.external_id: {
                "customer": customers[r.customer],
                "item": items[r.sku],
                "contract_price": r.contract_price,
                "valid_from": r.valid_from,
                "valid_to": r.valid_to,
            }
            for r in records
            if r.external_id not in rejected
        },
    )
    return rejected


@transaction.atomic
def ar_upsert(*, actor, source: str, records: list, reason: str) -> dict[str, str]:
    customers = resolve_customers(source=source, refs=[r.customer for r in records])
    rejected = {
        r.external_id: f"customer: unknown “{r.customer}”"
        for r in records
        if r.customer not in customers
    }
    existing = {b.customer_id: b for b in ARBalance.objects.filter(customer__in=customers.values())}
    new, changed = [], []
    names = ["current", "past_due_1_30", "past_due_31_60", "past_due_61_90", "past_due_over_90"]
    for r in records:
        if r.external_id in rejected:
            continue
        customer = customers[r.customer]
        values = dict(zip(names, r.buckets, strict=True)) | {
            "open_amount": r.open_amount,
            "oldest_past_due_days": r.oldest_past_due_days,
            "as_of": r.as_of,
        }
        balance = existing.get(customer.pk)
        if balance is None:
            new.append(ARBalance(customer=customer, **values))
        elif any(getattr(balance, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(balance, k, v)
            changed.append(balance)
    if new:
        bulk_create_with_history(new, ARBalance, default_user=actor, default_change_reason=reason)
    if changed:
        bulk_update_with_history(
            changed,
            ARBalance,
            [*names, "open_amount", "oldest_past_due_days", "as_of"],
            default_user=actor,
            default_change_reason=reason,
        )
    return rejected


@transaction.atomic
def inventory_upsert(*, actor, source: str, records: list, reason: str) -> dict[str, str]:
    items = resolve_items(r.sku for r in records)
    rejected = {r.external_id: f"sku: unknown “{r.sku}”" for r in records if r.sku not in items}
    warehouses = {
        w.code: w for w in Warehouse.objects.filter(code__in={r.warehouse for r in records})
    }
    missing = [
        Warehouse(code=code, name=code, source_system=source, external_id=code)
        for code in {r.warehouse for r in records} - warehouses.keys()
    ]
    if missing:
        bulk_create_with_history(
            missing, Warehouse, default_user=actor, default_change_reason=reason
        )
        warehouses = {
            w.code: w for w in Warehouse.objects.filter(code__in={r.warehouse for r in records})
        }
    existing = {
        (p.item_id, p.warehouse_id): p
        for p in InventoryPosition.objects.filter(item__in=items.values())
    }
    new, changed = [], []
    for r in records:
        if r.external_id in rejected:
            continue
        key = (items[r.sku].pk, warehouses[r.warehouse].pk)
        values = {
            "erp_on_hand": r.erp_on_hand,
            "wms_on_hand": r.wms_on_hand,
            "allocated": r.allocated,
            "as_of": r.as_of,
        }
        position = existing.get(key)
        if position is None:
            position = InventoryPosition(item_id=key[0], warehouse_id=key[1], **values)
            existing[key] = position
            new.append(position)
        elif any(getattr(position, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(position, k, v)
            changed.append(position)
    if new:
        bulk_create_with_history(
            new, InventoryPosition, default_user=actor, default_change_reason=reason
        )
    if changed:
        bulk_update_with_history(
            changed,
            InventoryPosition,
            ["erp_on_hand", "wms_on_hand", "allocated", "as_of"],
            default_user=actor,
            default_change_reason=reason,
        )
    return rejected


__all__ = ["ar_upsert", "customers_upsert", "inventory_upsert", "items_upsert", "prices_upsert"]
