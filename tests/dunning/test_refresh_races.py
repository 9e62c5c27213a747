"""Two workers applying cash for the same customers at once both refresh their collections
accounts and standings: neither fails (a failure there once rolled back a whole bank file), and
the customers end with one standing and one account per currency, each history change once."""

import threading

import pytest
from django.db import connections

from dunning.models import CollectionAccount, CustomerStanding, Standing
from dunning.receivers import refresh_customers
from tests.fixtures.billing import past_due_invoice
from tests.fixtures.factories import CustomerFactory


@pytest.mark.django_db(transaction=True)
def test_concurrent_refreshes_of_the_same_customers_neither_fail_nor_duplicate():
    customers = [CustomerFactory(name=f"Late {n}") for n in range(6)]
    for customer in customers:  # blocked: beyond the policy's 60 days
        past_due_invoice(customer, "100.00", days_past_due=75)
    ids = {c.pk for c in customers}
    rounds = 5
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def refresh() -> None:
        try:
            for _ in range(rounds):
                barrier.wait(timeout=20)
                refresh_customers(ids)
        except BaseException as exc:  # noqa: BLE001 - reported below, whatever it is
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=refresh) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert CustomerStanding.objects.filter(customer_id__in=ids).count() == len(ids)
    assert set(CustomerStanding.objects.values_list("status", flat=True)) == {Standing.BLOCKED}
    assert CollectionAccount.objects.filter(customer_id__in=ids).count() == len(ids)
    # each customer moved to blocked once, whoever moved them
    for customer_id in ids:
        moves = CustomerStanding.history.filter(customer_id=customer_id, status=Standing.BLOCKED)
        assert moves.count() == 1
