"""Thin Celery wrappers: scoring open work on a beat, retraining weekly."""

from celery import shared_task

from core.tasks import TASK_OPTIONS


@shared_task(**TASK_OPTIONS)
def triage_score_task() -> dict:
    """Beat: open holds, cases, invoices and released orders the active versions have not scored
    yet."""
    from .case_scoring import cases_score
    from .payment_scoring import invoices_score
    from .scoring import holds_score
    from .shipment_scoring import orders_ship_score

    return {"holds": holds_score(), "cases": cases_score(), "invoices": invoices_score(),
            "orders": orders_ship_score()}  # fmt: skip


@shared_task(**TASK_OPTIONS)
def triage_train_task() -> dict:
    """Beat, weekly: a new version from the history since; too little history keeps the old."""
    from .training import TRAINERS, NotEnoughHistory, model_train

    done = {}
    for name in TRAINERS:
        try:
            version = model_train(name=name)
            done[name] = f"v{version.number}" + ("" if version.active else " (inactive)")
        except NotEnoughHistory as exc:
            done[name] = exc.message
    return done
