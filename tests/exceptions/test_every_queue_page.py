"""Every queue a hold reason routes to has a page, opened by its role (and managers) and refused to
the roles that do not work it; the queues come from the reasons in the database, not a list."""

import pytest
from django.urls import reverse

from core.roles import Role
from exceptions.models import HoldReason, Queue
from exceptions.selectors import QUEUE_OF_ROLE
from exceptions.services import hold_raise
from tests.fixtures.factories import OrderFactory
from tests.fixtures.users import make_user

pytestmark = pytest.mark.django_db

ROLE_OF_QUEUE = {queue: role for role, queue in QUEUE_OF_ROLE.items()}


def _routed_queues() -> list[str]:
    """The queues of every hold reason after migrations and the fixtures' defaults."""
    return sorted(set(HoldReason.objects.values_list("queue", flat=True)))


def _hold_in(queue: str):
    reason = HoldReason.objects.filter(queue=queue).order_by("code").first()
    order = OrderFactory()
    return hold_raise(order_id=order.pk, reason_code=reason.code, context={"test": queue})


def test_every_routed_queue_opens_for_its_role_and_managers(client, billing_defaults):
    # given: a hold in each queue a reason routes to (the integration queue among them)
    queues = _routed_queues()
    assert Queue.INTEGRATION in queues and len(queues) >= 6, queues
    holds = {queue: _hold_in(queue) for queue in queues}
    manager = make_user("queue_manager", Role.MANAGER)
    for queue, hold in holds.items():
        url = reverse("exceptions:queue", args=[queue])
        for user in (make_user(f"works_{queue}", ROLE_OF_QUEUE[queue]), manager):
            client.force_login(user)
            # when
            response = client.get(url)
            # then: the queue's page, its label, its hold's row and its actions
            assert response.status_code == 200, (queue, user.username)
            html = response.content.decode()
            assert f"<h1>{Queue(queue).label} queue</h1>" in html, queue
            assert f'id="hold-{hold.pk}"' in html and hold.order.number in html, queue
            assert reverse("exceptions:bulk", args=[queue]) in html  # bulk claim and release
            assert f"/queues/holds/{hold.pk}/claim/" in html  # row actions
            # the summary and the filters answer as on every other queue
            summary = client.get(reverse("exceptions:summary", args=[queue]))
            assert summary.status_code == 200 and "1</strong> open" in summary.content.decode()
            filtered = client.get(url, {"reason": hold.reason.code, "sort": "value"})
            assert f'id="hold-{hold.pk}"' in filtered.content.decode()
            other = client.get(url, {"reason": "NO_SUCH_REASON"})
            assert f'id="hold-{hold.pk}"' not in other.content.decode()


def test_every_routed_queue_is_refused_to_roles_that_do_not_work_it(client, billing_defaults):
    for queue in _routed_queues():
        _hold_in(queue)
        outsider = Role.CREDIT if queue != Queue.CREDIT else Role.PRICING
        client.force_login(make_user(f"outsider_{queue}", outsider))
        assert client.get(reverse("exceptions:queue", args=[queue])).status_code == 403, queue
        assert client.get(reverse("exceptions:summary", args=[queue])).status_code == 403, queue


def test_integration_admins_find_their_queue_in_the_navigation(client, billing_defaults):
    # given: an unmatched shipment held in the integration queue
    hold = _hold_in(Queue.INTEGRATION)
    client.force_login(make_user("integrator", Role.INTEGRATION_ADMIN))
    # when
    home = client.get(reverse("home")).content.decode()
    counts = client.get(reverse("exceptions:counts")).content.decode()
    # then: "My work", and the queue's link with its count, and no other team's queue
    assert reverse("exceptions:mine") in home and reverse("exceptions:counts") in home
    assert reverse("exceptions:queue", args=[Queue.INTEGRATION]) in counts
    assert 'aria-label="1 open"' in counts
    assert reverse("exceptions:queue", args=[Queue.CREDIT]) not in counts
    assert hold.queue == Queue.INTEGRATION
