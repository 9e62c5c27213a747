"""App config for exceptions: connects the order-event receivers, and declares what holds add to
the order (a guard on its steps, the holds and notes panels and timeline rows on
its page; see orders.extensions)."""

from django.apps import AppConfig


class ExceptionsConfig(AppConfig):
    name = "exceptions"
    verbose_name = "Holds and work queues"
    order_step_guards = ("exceptions.selectors.blocking_reasons",)
    order_panels = ("exceptions.order_page.holds_panel", "exceptions.order_page.notes_panel")
    order_timelines = (
        "exceptions.order_page.hold_timeline",
        "exceptions.order_page.notes_timeline",
    )
    saved_view_lists = {
        "exceptions:queue": ("Holds", "exceptions.saved_views.queue_count"),
        "exceptions:mine": ("My work", "exceptions.saved_views.queue_count"),
    }

    def ready(self) -> None:
        from . import receivers  # noqa: F401 - connects the signal receivers
