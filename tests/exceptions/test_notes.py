"""Notes and files on holds and orders: @-mentions that notify, refusals that change nothing, the
thread on the order page and in its timeline, downloads only for those who may see the item."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from exceptions.models import Notification, OrderAttachment, OrderNote
from orders.models import TerritoryAssignment
from tests.fixtures.users import make_user

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def credit_hold(enter):
    return enter(quantity="60").holds.get()  # 6,000 against a 5,000 limit


def _note(client, hold, text, **headers):
    return client.post(reverse("notes:hold", args=[hold.pk]), {"text": text}, **headers)


def _stored(media) -> list:
    return [path for path in media.rglob("*") if path.is_file()]


def test_a_note_mentioning_a_colleague_notifies_that_colleague_only(
    client, credit_hold, credit_user, manager_user, cs_user, mailoutbox,
    django_capture_on_commit_callbacks, send_deliveries,
):  # fmt: skip
    # given
    manager_user.email = "manager@example.com"
    manager_user.save()
    client.force_login(credit_user)
    # when: an e-mail address in the text is no mention; the writer is never told of their own note
    with django_capture_on_commit_callbacks(execute=True):
        response = _note(
            client,
            credit_hold,
            "@manager the customer's AP (ap@acme.com) promises a wire Friday; ok to wait? @credit",
            **HTMX,
        )
    # then
    assert response.status_code == 200
    body = response.content.decode()
    assert "Note added; told @manager." in body
    assert "promises a wire Friday" in body
    (note,) = OrderNote.objects.all()
    assert (
        note.hold == credit_hold and note.order == credit_hold.order and note.author == credit_user
    )
    (notice,) = Notification.objects.all()
    assert notice.user == manager_user and notice.hold == credit_hold
    assert notice.message.startswith(
        f"credit mentioned you on the CREDIT_LIMIT hold of order {credit_hold.order.number}"
    )
    send_deliveries()
    (mail,) = mailoutbox
    assert mail.to == ["manager@example.com"] and "promises a wire Friday" in mail.body
    # the manager finds it among their notifications, linked to the hold
    client.force_login(manager_user)
    page = client.get(reverse("exceptions:notifications")).content.decode()
    assert "mentioned you on the CREDIT_LIMIT hold" in page
    assert reverse("exceptions:hold", args=[credit_hold.pk]) in page


def test_a_mention_nobody_would_receive_is_refused_and_nothing_is_saved(
    client, credit_hold, credit_user, warehouse_user
):
    # given
    client.force_login(credit_user)
    # when: a misspelt name
    unknown = _note(client, credit_hold, "@managr please look", **HTMX)
    # then
    assert unknown.status_code == 400
    body = unknown.content.decode()
    assert "No colleague is called @managr" in body
    assert "@managr please look</textarea>" in body  # kept, to be fixed
    # when: a colleague who may not see a credit hold
    blind = _note(client, credit_hold, "@warehouse can you check stock?", **HTMX)
    # then
    assert blind.status_code == 400
    assert "@warehouse may not see the CREDIT_LIMIT hold" in blind.content.decode()
    assert not OrderNote.objects.exists() and not Notification.objects.exists()


def test_an_empty_note_is_refused(client, credit_hold, credit_user):
    client.force_login(credit_user)
    response = _note(client, credit_hold, "   \n ", **HTMX)
    assert response.status_code == 400
    assert "Write something in the note first." in response.content.decode()
    assert not OrderNote.objects.exists()


def test_a_plain_post_returns_to_the_hold_page_with_the_note(client, credit_hold, credit_user):
    client.force_login(credit_user)
    response = _note(client, credit_hold, "Called the customer: PO follows.")
    assert response.status_code == 302
    assert response["Location"] == reverse("exceptions:hold", args=[credit_hold.pk])
    page = client.get(response["Location"]).content.decode()
    assert "Called the customer: PO follows." in page and "Note added." in page


def test_notes_show_on_the_order_page_thread_timeline_and_history(
    client, credit_hold, credit_user, cs_user, manager_user, warehouse_user
):
    # given: a note on the credit hold, and one on the order itself
    order = credit_hold.order
    client.force_login(credit_user)
    assert _note(client, credit_hold, "Exposure checked with finance.").status_code == 302
    client.force_login(cs_user)
    done = client.post(
        reverse("notes:order", args=[order.pk]),
        {"text": "Customer wants it by Monday, @warehouse."},
    )
    assert done.status_code == 302 and done["Location"] == reverse("orders:detail", args=[order.pk])
    # the warehouse opens every order of its territory: told, with a link to the order
    (notice,) = Notification.objects.all()
    assert (notice.user, notice.order, notice.hold) == (warehouse_user, order, None)
    # when: the manager (who sees every hold) opens the order
    client.force_login(manager_user)
    page = client.get(reverse("orders:detail", args=[order.pk])).content.decode()
    # then: both notes in the thread, both in the timeline (who and where, not the words)
    assert (
        "Exposure checked with finance." in page
        and "Customer wants it by Monday, @warehouse." in page
    )
    assert "Note on hold CREDIT_LIMIT" in page and "Note on the order" in page
    # customer service opens the order too, but may not see the credit hold: not its note
    client.force_login(cs_user)
    page = client.get(reverse("orders:detail", args=[order.pk])).content.decode()
    assert "Customer wants it by Monday, @warehouse." in page
    assert "Exposure checked with finance." not in page
    assert "Note on hold CREDIT_LIMIT" in page  # that a note exists is part of the order's story
    # and each note has its history row, with its author and why
    history = OrderNote.history.order_by("history_date")
    assert [(row.history_user, row.history_change_reason) for row in history] == [
        (credit_user, "Note added"),
        (cs_user, "Note added"),
    ]


def test_a_file_of_a_wrong_type_is_refused_and_nothing_is_stored(
    client, credit_hold, credit_user, media
):
    client.force_login(credit_user)
    url = reverse("notes:hold-attach", args=[credit_hold.pk])
    # a type notes do not take
    script = SimpleUploadedFile("remittance.html", b"<script>alert(1)</script>", "text/html")
    refused = client.post(url, {"file": script}, **HTMX)
    assert refused.status_code == 400
    assert "“remittance.html” is not a type notes take; attach one of eml, gif" in (
        refused.content.decode()
    )
    # a file that lies about its type: named .pdf, but a Windows program
    fake = SimpleUploadedFile("statement.pdf", b"MZ\x90\x00\x03" + b"\x00" * 64, "application/pdf")
    refused = client.post(url, {"file": fake}, **HTMX)
    assert refused.status_code == 400
    assert "“statement.pdf” is not what its name says" in refused.content.decode()
    assert not OrderAttachment.objects.exists() and _stored(media) == []


def test_a_file_above_the_limit_is_refused_with_the_sizes(
    client, credit_hold, credit_user, media, settings
):
    settings.O2C_ATTACHMENT_MAX_BYTES = 1_048_576
    client.force_login(credit_user)
    big = SimpleUploadedFile("photo.png", b"\x89PNG\r\n\x1a\n" + b"x" * 2_200_000, "image/png")
    refused = client.post(
        reverse("notes:hold-attach", args=[credit_hold.pk]), {"file": big}, **HTMX
    )
    assert refused.status_code == 400
    assert "“photo.png” is 2.1 MB; the limit is 1 MB." in refused.content.decode()
    assert not OrderAttachment.objects.exists() and _stored(media) == []


def test_a_hold_file_downloads_only_for_those_who_see_the_hold(
    client, credit_hold, credit_user, cs_user, warehouse_user, media
):
    # given: credit attaches the customer's mail to the hold
    client.force_login(credit_user)
    mail = b"From: ap@acme.example\r\nSubject: wire on Friday\r\n\r\nWe pay Friday.\r\n"
    done = client.post(
        reverse("notes:hold-attach", args=[credit_hold.pk]),
        {"file": SimpleUploadedFile("AP promise.eml", mail, "message/rfc822")},
        **HTMX,
    )
    assert done.status_code == 200 and "Attached AP promise.eml." in done.content.decode()
    (attachment,) = OrderAttachment.objects.all()
    assert "AP promise" not in attachment.file.name  # stored under a generated name
    assert attachment.hold == credit_hold and attachment.size == len(mail)
    url = reverse("notes:file", args=[attachment.pk])
    # when / then: credit downloads it, as a download that no browser renders
    download = client.get(url)
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == mail
    assert download["Content-Type"] == "application/octet-stream"
    assert download["Content-Disposition"].startswith("attachment;")
    assert download["X-Content-Type-Options"] == "nosniff"
    # IDOR: the id one past it; another queue; a credit analyst of another territory;
    # customer service, who opens the order but not its credit hold
    assert client.get(reverse("notes:file", args=[attachment.pk + 1])).status_code in (403, 404)
    west_credit = make_user("credit_west", "credit")
    TerritoryAssignment.objects.create(user=west_credit, territory="WEST")
    for outsider in (warehouse_user, west_credit, cs_user):
        client.force_login(outsider)
        assert client.get(url).status_code in (403, 404), outsider
    # nor do they reach the hold's thread to post into it
    client.force_login(west_credit)
    assert _note(client, credit_hold, "peek").status_code in (403, 404)
    assert not OrderNote.objects.exists()


def test_an_order_file_downloads_for_those_who_open_the_order(
    client, credit_hold, cs_user, warehouse_user, west_cs_user, media
):
    order = credit_hold.order
    client.force_login(cs_user)
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
    done = client.post(
        reverse("notes:order-attach", args=[order.pk]),
        {"file": SimpleUploadedFile("label.png", png, "image/png")},
    )
    assert done.status_code == 302
    (attachment,) = OrderAttachment.objects.all()
    url = reverse("notes:file", args=[attachment.pk])
    client.force_login(warehouse_user)  # any role that opens the order
    assert client.get(url).status_code == 200
    page = client.get(reverse("orders:detail", args=[order.pk])).content.decode()
    assert "label.png" in page and "File on the order" in page
    client.force_login(west_cs_user)  # an EAST order is not theirs
    assert client.get(url).status_code in (403, 404)


def _queries(client, url, **headers) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, **headers)
    assert response.status_code == 200
    return len(queries), response.content.decode()


def test_the_thread_costs_the_same_queries_with_few_or_many_notes(
    client, credit_hold, credit_user, manager_user, media
):
    # given: notes on the hold and files on the order, read by a manager
    order = credit_hold.order
    page, thread = (
        reverse("orders:detail", args=[order.pk]),
        reverse("notes:order", args=[order.pk]),
    )

    def add(n):
        client.force_login(credit_user)
        for i in range(n):
            _note(client, credit_hold, f"note {i} for @manager")
            client.post(
                reverse("notes:order-attach", args=[order.pk]),
                {"file": SimpleUploadedFile(f"f{i}.txt", b"plain text", "text/plain")},
            )
        client.force_login(manager_user)

    add(2)
    few_page, _ = _queries(client, page)
    few_thread, body = _queries(client, thread, **HTMX)
    assert body.count("<li>") == 4
    # when: ten times as many
    add(18)
    many_page, _ = _queries(client, page)
    many_thread, body = _queries(client, thread, **HTMX)
    # then: the same queries, more rows
    assert body.count("<li>") == 40
    assert (many_page, many_thread) == (few_page, few_thread)
