"""The hold queues as saved views (``core.saved_views``): how many holds a view's filters show the
person now, through the same queryset and row access as the queue page."""

from core.errors import PermissionDenied

from . import selectors
from .forms import QueueFilterForm


def queue_count(user, kwargs: dict, params) -> int | None:
    from .views import QUEUE_PAGES, _filters  # the page's own reading of its filters

    queue = kwargs.get("queue")
    form = QueueFilterForm(params)
    if (queue is not None and queue not in QUEUE_PAGES) or not form.is_valid():
        return None
    filters = _filters(form.cleaned_data)
    if queue is None:  # "My work"
        filters = selectors.HoldFilters(**{**filters.__dict__, "mine": True})
    try:
        return selectors._queue_queryset(user=user, queue=queue, filters=filters).count()
    except PermissionDenied:
        return None  # a queue the person no longer works
