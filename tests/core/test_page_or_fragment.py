"""One URL, two shapes: every view that answers an htmx request with a fragment and a plain one
with the page says so in ``Vary``, and a history restore gets the page (core.middleware)."""

import pytest
from django.db import transaction
from django.test import Client

from tests.fixtures.factories import UserFactory
from tests.security.conftest import world  # noqa: F401 - the fixture: one object of each kind
from tests.security.test_access_matrix import _action_url, routes

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
RESTORE = {**HTMX, "HTTP_HX_HISTORY_RESTORE_REQUEST": "true"}
#: Views known to serve both shapes: the walk must find at least these, so it cannot pass empty.
KNOWN_DUAL = {
    "orders:list",
    "exceptions:mine",
    "exceptions:queue",
    "exceptions:hold",
    "billing:queue",
    "billing:invoices",
    "billing:invoice",
    "cases:queue",
    "cases:case",
    "receivables:queue",
    "receivables:payment",
}


def _is_page(response) -> bool:
    return response.content.lstrip()[:15].lower() == b"<!doctype html>"


def _varies(response) -> set[str]:
    return {h.strip().lower() for h in response.get("Vary", "").split(",") if h.strip()}


def _get(client, url, headers):
    point = transaction.savepoint()
    response = client.get(url, **headers)
    transaction.savepoint_rollback(point)
    return response


def test_every_page_that_also_serves_a_fragment_varies_on_hx_request(world):  # noqa: F811
    client = Client()
    client.force_login(UserFactory(username="vary_root", is_superuser=True, is_staff=True))
    dual, missing = set(), []
    for name, pattern in routes():
        if pattern.startswith("api/"):
            continue  # JSON, one shape
        try:
            url = _action_url(name, pattern, world)
        except KeyError:  # a parameter the access matrix cannot fill yet: it fails there
            continue
        page, fragment = _get(client, url, {}), _get(client, url, HTMX)
        if page.status_code != 200 or page.streaming or not _is_page(page) or _is_page(fragment):
            continue
        dual.add(name)
        restored = _get(client, url, RESTORE)
        for shape, response in (("page", page), ("fragment", fragment), ("restore", restored)):
            if not {"hx-request", "hx-history-restore-request"} <= _varies(response):
                missing.append(f"{url} ({name}) {shape}: Vary {response.get('Vary')!r}")
        # a history restore (htmx found no snapshot to go back to) needs the whole page
        if not _is_page(restored):
            missing.append(f"{url} ({name}): a history restore got a fragment")
    assert dual >= KNOWN_DUAL, sorted(KNOWN_DUAL - dual)
    assert not missing, "\n".join(missing)


def test_a_history_restore_of_a_queue_gets_the_whole_page(client, credit_user, enter):
    # given: a queue page the browser goes back to without a snapshot in its history cache
    hold = enter(quantity="60").holds.get()
    client.force_login(credit_user)
    url = "/queues/credit/?sort=value"
    # when
    fragment = client.get(url, **HTMX)
    restored = client.get(url, **RESTORE)
    # then: the filter swap gets the results, the restore the page with its layout and rows
    assert not _is_page(fragment) and f'id="hold-{hold.pk}"' in fragment.content.decode()
    html = restored.content.decode()
    assert _is_page(restored) and '<header class="topbar">' in html
    assert f'id="hold-{hold.pk}"' in html and "<h1>Credit queue</h1>" in html


def test_a_view_that_never_reads_request_htmx_does_not_vary_on_it(client, credit_user):
    client.force_login(credit_user)
    response = client.get("/queues/counts/", **HTMX)
    assert response.status_code == 200 and "hx-request" not in _varies(response)
