"""Notices to people: in the app (``Notification``), and by mail or a daily digest as each person
chose for the kind (core.notices), plus the team's chat channels for the kinds posted there. Mail
and chat go through durable deliveries (core.deliveries), written in the caller's transaction
and sent by a task after commit; nobody is told of their own action."""

from collections import defaultdict
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from core.deliveries import chat_messages, deliveries_enqueue, mail_enqueue_once, mail_message
from core.models import Delivery, NoticeKind, NoticeMode, NoticePreference
from core.notices import notice_modes
from core.roles import Role, is_system_user
from core.timezones import default_zone, zone_named

from .models import Hold, Notification

#: How far back a digest looks for notices no digest listed yet (a person who just chose the
#: digest gets the past week's, not years of them).
DIGEST_REACH = timedelta(days=7)
#: The subject of a notice's mail: the product's tag and the start of the message.
SUBJECT = "[o2c] {}"


def notify_users(
    role: str, message: str, *, kind: str, hold: Hold | None = None, actor=None, also=()
) -> int:
    """Notify every active user of ``role``, and ``also`` these people (an escalated hold's
    assignee), once each."""
    people = list(get_user_model().objects.filter(groups__name=role, is_active=True))
    return notify_people([*people, *also], message, kind=kind, hold=hold, actor=actor)


def notify_people(
    people: list, message: str, *, kind: str, hold: Hold | None = None, order=None, actor=None
) -> int:
    """Notify these people (each once, never ``actor``) of ``message``: in the app unless they
    turned the kind off, by mail now if they chose email, and in their digest if they chose that.
    The kinds O2C_CHAT_KINDS names go to the chat channels too. All of it is written in the
    caller's transaction; mail and chat are sent after it commits. Returns how many were told."""
    # the system user and the models act, but read nothing (models are inactive accounts)
    unique = {p.pk: p for p in people if p is not None and p.is_active and not is_system_user(p)}
    if actor is not None:
        unique.pop(actor.pk, None)
    modes = notice_modes(user_ids=list(unique), kind=kind)
    told = [p for pk, p in unique.items() if modes[pk] != NoticeMode.OFF]
    now = timezone.now()
    Notification.objects.bulk_create(
        [
            Notification(
                user=p, hold=hold, order=order, kind=kind, message=message[:300], created_at=now
            )
            for p in told
        ]
    )
    subject = SUBJECT.format(message[:120])
    deliveries = [
        mail_message(to=p.email, subject=subject, body=message, kind=kind, user=p)
        for p in told
        if modes[p.pk] == NoticeMode.EMAIL and p.email
    ]
    deliveries += chat_messages(subject=subject, body=message, kind=kind)
    deliveries_enqueue(deliveries)
    return len(told)


def notify_managers(hold: Hold, message: str, *, actor=None) -> None:
    """An escalated hold: the managers, and the person who has it (if it is not theirs to do)."""
    notify_users(
        Role.MANAGER,
        message,
        kind=NoticeKind.ESCALATION,
        hold=hold,
        actor=actor,
        also=[hold.assignee] if hold.assignee_id else [],
    )


def _digest_body(notices: list[Notification], name: str, zone) -> str:
    lines = [f"Hello {name},", "", f"{len(notices)} notices you have not read in o2c:", ""]
    for notice in notices:
        lines.append(f"- {notice.created_at.astimezone(zone):%Y-%m-%d %H:%M} {notice.message}")
    lines += ["", "Read them under Notifications; change how they reach you under Notices."]
    return "\n".join(lines)


def notices_digest(*, now=None) -> int:
    """Beat task body (hourly): each person who chose the digest for some kind, once it is
    O2C_DIGEST_HOUR or later in their own time zone, gets one mail listing their unread notices
    of those kinds that no digest listed yet (of the last week). Once a day: the digest's key is
    the person and their local date, so another run that day writes and sends nothing. Returns
    mails written."""
    now = now or timezone.now()
    kinds: dict[int, list[str]] = defaultdict(list)
    for user_id, kind in NoticePreference.objects.filter(mode=NoticeMode.DIGEST).values_list(
        "user_id", "kind"
    ):
        kinds[user_id].append(kind)
    people = get_user_model().objects.filter(pk__in=list(kinds), is_active=True).exclude(email="")
    zones = dict(people.filter(preference__isnull=False).values_list("pk", "preference__time_zone"))
    written = 0
    for person in people.order_by("pk"):
        local = now.astimezone(zone_named(str(zones.get(person.pk) or "")) or default_zone())
        if local.hour < settings.O2C_DIGEST_HOUR:
            continue
        key = f"digest:{person.pk}:{local.date().isoformat()}"
        if Delivery.objects.filter(key=key).exists():
            continue
        unlisted = Notification.objects.filter(
            user=person,
            read_at=None,
            digested_at=None,
            kind__in=kinds[person.pk],
            created_at__gt=now - DIGEST_REACH,
            created_at__lte=now,
        )
        notices = list(unlisted.order_by("created_at")[:200])
        if not notices:
            continue
        with transaction.atomic():
            delivery = mail_enqueue_once(
                key=key,
                to=person.email,
                subject=f"[o2c] Your digest for {local:%Y-%m-%d}: {len(notices)} notices",
                body=_digest_body(
                    notices, person.get_full_name() or person.get_username(), local.tzinfo
                ),
                kind="digest",
                user=person,
            )
            if delivery is not None:
                # in the digest's transaction: listed once, even if a later run finds them unread
                Notification.objects.filter(pk__in=[n.pk for n in notices]).update(digested_at=now)
                written += 1
    return written
