"""The case desk's pages: the queue shows only the user's queues at a query count that does not
grow with its length, claims in place, refuses other roles, and a case resolved from its page
credits the lines chosen."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from billing.models import CreditMemo
from cases.models import Case, CaseReason, CaseState
from tests.cases.test_deductions import _one_unit, _pay_short, cash_user, invoice, reasons
from tests.fixtures.factories import CustomerFactory

__all__ = ["cash_user", "invoice", "reasons"]  # fixtures shared with the service tests

pytestmark = pytest.mark.django_db


def _cases(n: int, invoice, code: str = "PRICING") -> None:
    reason = CaseReason.objects.get(code=code)
    now = timezone.now()
    for i in range(n):
        customer = CustomerFactory()
        Case.objects.create(
            kind=Case.Kind.DISPUTE,
            customer=customer,
            invoice=invoice,
            amount=Decimal("1.00") + i,
            currency="USD",
            reason=reason,
            queue=reason.queue,
            opened_at=now,
            due_at=now + timedelta(hours=i),
        )


def _queue_queries(client) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("cases:queue"))
    assert response.status_code == 200
    return len(queries), response.content.decode()


def test_the_queue_shows_the_users_queues_at_a_constant_query_count(client, invoice, pricing_user):
    # given pricing's cases and one of the warehouse's
    _cases(2, invoice)
    _cases(1, invoice, code="DAMAGE")
    client.force_login(pricing_user)
    few, page = _queue_queries(client)
    # then the pricing analyst sees pricing's cases only
    assert page.count('class="case work-row"') == 2 and "Damaged goods" not in page
    # and twenty more rows cost no more queries
    _cases(20, invoice)
    many, page = _queue_queries(client)
    assert page.count('class="case work-row"') == 22
    assert many == few


def test_roles_without_a_case_queue_are_refused(client, credit_user):
    client.force_login(credit_user)
    assert client.get(reverse("cases:queue")).status_code == 403


def test_a_case_is_claimed_in_place_and_resolved_valid_from_its_page(
    client, invoice, cash_user, pricing_user
):
    short = _one_unit(invoice)
    _pay_short(invoice, short, "PRC", cash_user)
    case = Case.objects.get()
    line = invoice.lines.get()
    client.force_login(pricing_user)
    # the case page shows the evidence: the invoice line and the contract price in force
    page = client.get(reverse("cases:case", args=[case.pk])).content.decode()
    assert invoice.number in page and "contract from" in page and "code PRC" in page
    # claim from the queue, in place
    response = client.post(reverse("cases:claim", args=[case.pk]), HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "Claimed" in response.content.decode()
    # a quantity crediting more than the case is refused in place with the numbers
    url = reverse("cases:resolve", args=[case.pk])
    body = {"outcome": "valid", "amount": str(short), "root_cause": "price_file", "note": "ok"}
    response = client.post(url, {**body, f"qty-{line.pk}": "3"})
    assert response.status_code == 400
    assert f"more than the {short:,.2f} USD agreed" in response.content.decode()
    assert not CreditMemo.objects.exists()
    # one unit is credited
    response = client.post(url, {**body, f"qty-{line.pk}": "1"})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.state == CaseState.VALID and case.credit_memo.total == short


def test_a_file_attached_to_a_case_downloads_only_for_those_who_see_the_case(
    client, invoice, pricing_user, warehouse_user, settings, tmp_path
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.MEDIA_ROOT = tmp_path
    _cases(1, invoice)
    case = Case.objects.get()
    client.force_login(pricing_user)
    scan = SimpleUploadedFile("pod scan.pdf", b"%PDF-1.4 proof of delivery", "application/pdf")
    done = client.post(reverse("cases:attach", args=[case.pk]), {"file": scan})
    assert done.status_code == 302
    (attachment,) = case.attachments.all()
    assert attachment.name == "pod scan.pdf" and attachment.size == 26
    assert "pod scan" not in attachment.file.name  # stored under a generated name
    page = client.get(reverse("cases:case", args=[case.pk])).content.decode()
    assert "pod scan.pdf" in page and "Attached pod scan.pdf" in page
    download = client.get(reverse("cases:attachment", args=[case.pk, attachment.pk]))
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == b"%PDF-1.4 proof of delivery"
    assert download["Content-Type"] == "application/octet-stream"
    assert download["Content-Disposition"].startswith("attachment;")
    # a script is refused, storing nothing; the warehouse cannot read pricing's case
    script = SimpleUploadedFile("claim.html", b"<script>alert(1)</script>", "text/html")
    refused = client.post(reverse("cases:attach", args=[case.pk]), {"file": script})
    assert refused.status_code == 400 and "is not a type cases take" in refused.content.decode()
    assert case.attachments.count() == 1 and len(list(tmp_path.rglob("*.*"))) == 1
    client.force_login(warehouse_user)
    other = client.get(reverse("cases:attachment", args=[case.pk, attachment.pk]))
    assert other.status_code in (403, 404)


def test_a_file_above_the_limit_is_refused_with_the_sizes(
    client, invoice, pricing_user, settings, tmp_path
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.MEDIA_ROOT, settings.O2C_ATTACHMENT_MAX_BYTES = tmp_path, 1_048_576
    _cases(1, invoice)
    case = Case.objects.get()
    client.force_login(pricing_user)
    big = SimpleUploadedFile("photos.png", b"x" * 2_200_000, "image/png")
    refused = client.post(reverse("cases:attach", args=[case.pk]), {"file": big})
    assert refused.status_code == 400
    assert "“photos.png” is 2.1 MB; the limit is 1 MB." in refused.content.decode()
    assert not case.attachments.exists()


def test_a_case_note_mentioning_a_colleague_tells_them_and_a_blind_mention_saves_nothing(
    client, invoice, pricing_user, manager_user, warehouse_user
):
    from exceptions.models import Notification

    # given
    _cases(1, invoice)
    case = Case.objects.get()
    client.force_login(pricing_user)
    url = reverse("cases:note", args=[case.pk])
    # when: the warehouse may not open pricing's case
    refused = client.post(url, {"text": "@warehouse was it damaged?"})
    # then
    assert refused.status_code == 400
    assert f"@warehouse may not see case {case.pk}" in refused.content.decode()
    assert not case.notes.exists() and not Notification.objects.exists()
    # when: the manager may
    done = client.post(url, {"text": "@manager price list was out of date"}, follow=True)
    # then
    assert "Note added; told @manager." in done.content.decode()
    (notice,) = Notification.objects.all()
    assert notice.user == manager_user
    assert (
        notice.message
        == f"pricing mentioned you on case {case.pk}: @manager price list was out of date"
    )


def test_a_malformed_since_is_refused_with_a_message_not_widened(client, invoice, pricing_user):
    _cases(2, invoice)
    client.force_login(pricing_user)
    response = client.get(reverse("cases:queue"), {"since": "yesterday-ish"})
    body = response.content.decode()
    assert response.status_code == 200 and "Fix the filters to see cases." in body
    assert 'class="case"' not in body  # no rows shown as if the filter were absent
