"""A running `celery worker` process scores with the version that is active when the task runs: a
version made active after the worker has loaded another is used from the next run, no restart."""

from copy import deepcopy

import pytest
from django.db import transaction
from django.utils import timezone

from core.roles import Role
from exceptions.models import Hold
from tests.fixtures.processes import wait_for
from tests.fixtures.users import make_user
from tests.triage.test_hold_outcome import _history
from triage.models import Mode, ModelVersion, Prediction, TriageModel
from triage.tasks import triage_score_task
from triage.training import digest_of, model_train

OPEN = 6


@pytest.mark.django_db(transaction=True)
def test_a_running_worker_uses_the_version_made_active_meanwhile(
    celery_worker_process, hold_policy
):
    credit = make_user("credit-analyst", Role.CREDIT)
    model, _ = TriageModel.objects.get_or_create(name=TriageModel.HOLD_OUTCOME)
    model.mode, model.min_examples = Mode.SUGGEST, 200
    model.save()
    _history(credit, still_open=OPEN)
    first = model_train(name=model.name)
    assert first.active

    # the worker scores the open holds with version 1, and keeps it loaded
    triage_score_task.apply_async()
    by_first = wait_for(
        lambda: Prediction.objects.filter(version=first).count() == OPEN, timeout=90
    )
    assert by_first, "the worker did not score the open holds with version 1"

    # version 2 (version 1's parameters, each weight doubled) is made active, as the admin does
    parameters = deepcopy(first.parameters)
    parameters["coef"] = [2 * c for c in parameters["coef"]]
    with transaction.atomic():
        ModelVersion.objects.filter(pk=first.pk).update(active=False)
        second = ModelVersion.objects.create(
            model=model, number=2, trained_at=timezone.now(), digest=digest_of(parameters),
            features=first.features, parameters=parameters, window_start=first.window_start,
            window_end=first.window_end, counts=first.counts, metrics=first.metrics, active=True,
        )  # fmt: skip

    # the same worker, not restarted, scores them again with version 2 on its next run
    triage_score_task.apply_async()
    by_second = wait_for(
        lambda: Prediction.objects.filter(version=second).count() == OPEN, timeout=90
    )
    assert by_second, "the running worker kept using version 1"
    assert celery_worker_process.poll() is None, "the worker died"
    then = dict(Prediction.objects.filter(version=first).values_list("subject_id", "probability"))
    now = dict(Prediction.objects.filter(version=second).values_list("subject_id", "probability"))
    assert then.keys() == now.keys()
    assert any(now[pk] != then[pk] for pk in now), "version 2's weights changed no score"
    # the recommendations on the holds now name version 2
    shown = Hold.objects.filter(pk__in=now.keys()).values_list("suggestion", flat=True)
    assert {s["version"] for s in shown} == {2}
