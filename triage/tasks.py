"""Thin Celery wrappers: scoring open holds on a beat, retraining weekly."""

from celery import shared_task

from core.tasks import TASK_OPTIONS


@shared_task(**TASK_OPTIONS)
def triage_score_task() -> dict:
    """Beat: open holds the active hold-outcome version has not scored yet."""
    from .scoring import holds_score

    return holds_score()


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
