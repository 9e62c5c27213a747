"""Collections' nightly run, on the beat (its schedule is in admin): dunning steps, promises,
accounts and standings."""

from celery import shared_task

from .services import dunning_run


@shared_task(name="dunning.tasks.dunning_daily")
def dunning_daily() -> dict:
    return dunning_run()
