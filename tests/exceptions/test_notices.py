"""People are told what concerns them, through the real services: a hold's assignee when it is
escalated, a new assignee, the first approver when the second decides; never of their own action.
Each person's preferences decide how (email at once, a daily digest, in the app, or off), and
they set them on their own page only."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from core.models import Delivery, DeliveryChannel, NoticeKind, NoticeMode, NoticePreference
from exceptions.models import Notification
from exceptions.notifications import notices_digest, notify_people
from exceptions.services import (
    hold_approve,
    hold_claim,
    hold_escalate,
    hold_reassign,
    hold_reject,
    hold_release,
    holds_escalate_overdue,
)
from tests.fixtures.users import make_user

pytestmark = pytest.mark.django_db


def _mailed() -> list[str]:
    return sorted(
        Delivery.objects.filter(channel=DeliveryChannel.EMAIL).values_list("address", flat=True)
    )


@pytest.fixture
def people(credit_user, manager_user):
    credit_user.email, manager_user.email = "credit@o2c.example", "manager@o2c.example"
    credit_user.save()
    manager_user.save()
    return credit_user, manager_user


def test_an_escalated_hold_tells_its_assignee_and_the_managers_not_the_escalator(
    enter, people, send_deliveries
):
    credit_user, manager_user = people
    other_manager = make_user("manager2", "manager", email="m2@o2c.example")
    hold = enter(quantity="60").holds.get()
    hold_claim(hold_id=hold.pk, actor=credit_user)

    # when a manager escalates the hold credit_user has claimed
    hold_escalate(hold_id=hold.pk, actor=manager_user, reason="customer on the phone")

    # then the assignee and the other manager are told, in the app and by mail; the escalating
    # manager is not told of their own action
    told = Notification.objects.filter(hold=hold, kind=NoticeKind.ESCALATION)
    assert sorted(n.user.username for n in told) == ["credit", "manager2"]
    assert _mailed() == ["credit@o2c.example", "m2@o2c.example"]
    send_deliveries()
    assert sorted(m.to[0] for m in mail.outbox) == ["credit@o2c.example", "m2@o2c.example"]
    assert all("escalated to level 1: customer on the phone" in m.body for m in mail.outbox)
    assert other_manager.notifications.count() == 1


def test_the_sla_escalation_tells_the_assignee_too(enter, people):
    credit_user, manager_user = people
    hold = enter(quantity="60").holds.get()
    hold_claim(hold_id=hold.pk, actor=credit_user)
    assert holds_escalate_overdue(now=hold.due_at + timedelta(minutes=1)) == 1
    told = Notification.objects.filter(hold=hold).values_list("user__username", flat=True)
    assert sorted(told) == ["credit", "manager"]


def test_a_reassigned_hold_tells_its_new_assignee(enter, people):
    credit_user, _ = people
    colleague = make_user("credit2", "credit", email="c2@o2c.example")
    hold = enter(quantity="60").holds.get()
    hold_claim(hold_id=hold.pk, actor=credit_user)
    hold_reassign(hold_id=hold.pk, actor=credit_user, to_user_id=colleague.pk, reason="her deal")
    (notice,) = Notification.objects.all()
    assert notice.user == colleague and notice.kind == NoticeKind.ASSIGNMENT
    assert notice.message.startswith("credit assigned you") and notice.message.endswith("her deal")
    assert _mailed() == ["c2@o2c.example"]


def test_the_first_approver_hears_the_second_approve_or_reject(enter, people):
    credit_user, _ = people
    checker = make_user("credit_lead", "credit")
    # given two releases above the policy amount, each waiting for a second approval
    first = enter(quantity="200").holds.get(reason__code="CREDIT_LIMIT")
    second = enter(quantity="200").holds.get(reason__code="CREDIT_LIMIT")
    for hold in (first, second):
        hold_release(hold_id=hold.pk, actor=credit_user, reason="Strategic deal")
    assert not Notification.objects.exists()

    # when the checker approves one and rejects the other
    hold_approve(hold_id=first.pk, actor=checker, reason="Confirmed with CFO")
    hold_reject(hold_id=second.pk, actor=checker, reason="No guarantee", confirm_cancel=True)

    # then the maker hears both outcomes, and the checker nothing
    notices = Notification.objects.filter(user=credit_user, kind=NoticeKind.APPROVAL)
    assert {n.hold_id: n.message.split(" by ")[0].rsplit(" was ", 1)[1] for n in notices} == {
        first.pk: "approved",
        second.pk: "rejected (the order is cancelled)",
    }
    assert not Notification.objects.filter(user=checker).exists()


@pytest.mark.parametrize(
    ("mode", "in_app", "mailed"),
    [
        (NoticeMode.EMAIL, True, True),
        (NoticeMode.DIGEST, True, False),
        (NoticeMode.IN_APP, True, False),
        (NoticeMode.OFF, False, False),
    ],
)
def test_a_preference_decides_how_a_notice_reaches_a_person(people, mode, in_app, mailed):
    credit_user, _ = people
    NoticePreference.objects.create(user=credit_user, kind=NoticeKind.MENTION, mode=mode)
    notify_people([credit_user], "cs mentioned you", kind=NoticeKind.MENTION)
    # another kind keeps its default: mailed at once
    notify_people([credit_user], "a hold escalated", kind=NoticeKind.ESCALATION)
    mentions = Notification.objects.filter(user=credit_user, kind=NoticeKind.MENTION)
    assert mentions.exists() is in_app
    assert Delivery.objects.filter(kind=NoticeKind.MENTION).exists() is mailed
    assert Delivery.objects.filter(kind=NoticeKind.ESCALATION).count() == 1


def test_the_digest_is_one_mail_a_day_listing_the_unread_notices(people, settings, send_deliveries):
    from core.timezones import user_time_zone_set

    credit_user, manager_user = people
    settings.O2C_DIGEST_HOUR = 17
    berlin = ZoneInfo("Europe/Berlin")
    user_time_zone_set(actor=credit_user, time_zone="Europe/Berlin")
    NoticePreference.objects.create(
        user=credit_user, kind=NoticeKind.MENTION, mode=NoticeMode.DIGEST
    )
    day = datetime(2026, 3, 10, tzinfo=berlin)
    notify_people([credit_user, manager_user], "cs mentioned you on SO-1", kind="mention")
    notify_people([credit_user], "cs mentioned you on SO-2", kind="mention")
    notify_people([credit_user], "SO-3 escalated", kind="escalation")  # email, not digest
    Notification.objects.update(created_at=day.replace(hour=10))
    Notification.objects.filter(message__contains="SO-2").update(read_at=day.replace(hour=11))

    # before the digest hour in Berlin nothing; at 18:00 one mail; again that day nothing
    assert notices_digest(now=day.replace(hour=16, minute=59)) == 0
    assert notices_digest(now=day.replace(hour=18)) == 1
    assert notices_digest(now=day.replace(hour=23)) == 0
    send_deliveries()
    (digest,) = [m for m in mail.outbox if "digest" in m.subject]
    assert digest.to == ["credit@o2c.example"] and "2026-03-10: 1 notices" in digest.subject
    assert "2026-03-10 10:00 cs mentioned you on SO-1" in digest.body  # unread, a digest kind
    assert "SO-2" not in digest.body and "SO-3" not in digest.body  # read; not a digest kind
    assert not any("digest" in m.subject for m in mail.outbox if m.to == [manager_user.email])

    # the next day lists only what is new, though SO-1 is still unread
    notify_people([credit_user], "cs mentioned you on SO-4", kind="mention")
    Notification.objects.filter(message__contains="SO-4").update(created_at=day.replace(hour=20))
    assert notices_digest(now=day.replace(hour=18) + timedelta(days=1)) == 1
    latest = Delivery.objects.filter(kind="digest").latest("pk")
    assert "SO-4" in latest.body and "SO-1" not in latest.body


def test_a_person_sets_their_own_preferences_only(client, people):
    credit_user, manager_user = people
    NoticePreference.objects.create(user=manager_user, kind="mention", mode=NoticeMode.OFF)
    client.force_login(credit_user)
    url = reverse("notice-preferences")
    page = client.get(url).content.decode()
    assert 'name="mention"' in page and "Notes that mention me" in page
    modes = dict.fromkeys(NoticeKind.values, NoticeMode.EMAIL) | {"mention": "digest"}

    # a user id in the request is ignored: only the signed-in person's rows are written
    response = client.post(url, {**modes, "user": manager_user.pk, "user_id": manager_user.pk})
    assert response.status_code == 302
    assert NoticePreference.objects.get(user=credit_user, kind="mention").mode == "digest"
    assert NoticePreference.objects.get(user=manager_user, kind="mention").mode == "off"

    # through HTMX the form comes back in place, saying it saved
    modes["model"] = "off"
    response = client.post(url, modes, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "Notice preferences saved (1 changed)" in (
        response.content.decode()
    )
    assert "<html" not in response.content.decode()


def test_a_bad_choice_is_refused_and_changes_nothing(client, people):
    credit_user, _ = people
    client.force_login(credit_user)
    modes = dict.fromkeys(NoticeKind.values, NoticeMode.OFF) | {"approval": "pigeon"}
    response = client.post(reverse("notice-preferences"), modes)
    assert response.status_code == 400
    body = response.content.decode()
    assert "“pigeon” is not a way notices can reach you" in body and "Nothing was saved" in body
    assert not NoticePreference.objects.exists()
    missing = client.post(reverse("notice-preferences"), {"mention": "off"})
    assert missing.status_code == 400 and "Choose how" in missing.content.decode()
    assert not NoticePreference.objects.exists()


def test_the_preferences_page_needs_a_signed_in_person_and_a_csrf_token(people):
    credit_user, _ = people
    url = reverse("notice-preferences")
    assert Client().get(url).status_code == 302  # to the login page
    guarded = Client(enforce_csrf_checks=True)
    guarded.force_login(credit_user)
    modes = dict.fromkeys(NoticeKind.values, NoticeMode.OFF)
    assert guarded.post(url, modes).status_code == 403
    assert not NoticePreference.objects.exists()
    # and the user menu links to it
    assert f'href="{url}"' in guarded.get(reverse("home")).content.decode()
