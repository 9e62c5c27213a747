"""Document numbers (INV-, CM-): the next free number, retried if a concurrent insert took it."""

from django.db import IntegrityError, transaction

from core.errors import Conflict


def save_with_next_number(obj, *, prefix: str, attempts: int = 5) -> None:
    """Insert ``obj`` under ``prefix`` + the next sequence; a number taken by a concurrent insert
    only undoes this savepoint, and the next try reads the new maximum."""
    model = type(obj)
    for attempt in range(attempts):
        last = model.objects.filter(number__startswith=prefix).order_by("-number").first()
        tail = last.number[len(prefix) :] if last else ""
        obj.number = f"{prefix}{(int(tail) + 1 if tail.isdigit() else 1):07d}"
        try:
            with transaction.atomic():
                obj.save()
            return
        except IntegrityError as exc:
            obj.pk = None
            if attempt == attempts - 1:
                raise Conflict(f"Could not number the {model._meta.verbose_name}; retry.") from exc
