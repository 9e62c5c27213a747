"""Collections' tasks: the nightly run on the beat (its schedule is in admin), and a refresh of
some customers retried when the one after cash failed."""

from celery import shared_task

from .services import dunning_run


@shared_task(name="dunning.tasks.dunning_daily")
def dunning_daily() -> dict:
    return dunning_run()


@shared_task(
    name="dunning.tasks.refresh_customers",
    autoretry_for=(Exception,),
    retry_backoff=True,
    max_retries=5,
)
def refresh_customers_task(customer_ids: list[int]) -> None:
    from .receivers import refresh_customers

    refresh_customers(set(customer_ids))
