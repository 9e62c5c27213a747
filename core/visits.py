"""A person's home-page visits: the moment "new since my last visit" counts from."""

from datetime import datetime, timedelta

from django.db import transaction

from .models import HomeVisit

#: Opening the home page again within this gap is the same visit: the baseline stays, so a
#: reload (or coming back from a queue a minute later) does not wipe out the "new" figures
#: before they were acted on. Half an hour is about one sitting.
SAME_VISIT = timedelta(minutes=30)


@transaction.atomic
def home_visit_record(*, user, now: datetime) -> datetime | None:
    """Record that ``user`` opened their home page at ``now``; return the moment what is new
    counts from (the previous visit), or None on a first visit. Two queries: the locked read
    and the write."""
    visit = HomeVisit.objects.select_for_update().filter(user=user).first()
    if visit is None:
        # two first visits at once: the unique user key lets one insert win, the other no-ops
        HomeVisit.objects.bulk_create([HomeVisit(user=user, seen_at=now)], ignore_conflicts=True)
        return None
    if now - visit.seen_at > SAME_VISIT:
        visit.previous_at = visit.seen_at
    visit.seen_at = now
    visit.save(update_fields=["seen_at", "previous_at"])
    return visit.previous_at
