"""The webhook intake and the replay as services: a pushed record is stored once under its key and
its stream processed only after commit; a key reused with another payload is a Conflict that
changes nothing; replayed dead letters are processed after commit, a stream once."""

import pytest
from django.utils import timezone

from core.errors import ApplicationError, Conflict
from integrations.models import InboundMessage, InboundState
from integrations.services import inbox_receive, inbox_replay
from integrations.tasks import inbox_process_task

pytestmark = pytest.mark.django_db

CUSTOMER = {
    "id": "WH-1",
    "number": "WH-1",
    "name": "Webhook Co",
    "territory": "WEST",
    "credit_limit": "1000.00",
}


@pytest.fixture
def queued(monkeypatch):
    """The (connector id, stream) of every processing run sent to the broker."""
    sent = []
    monkeypatch.setattr(inbox_process_task, "delay", lambda *args: sent.append(args))
    return sent


def test_a_pushed_record_is_stored_and_processed_after_commit(
    erp, queued, django_capture_on_commit_callbacks
):
    # given a record pushed with an idempotency key
    # when it is received
    with django_capture_on_commit_callbacks() as callbacks:
        message, stored = inbox_receive(
            connector=erp, stream="customers", record=CUSTOMER, key="k-1"
        )
        # then nothing is sent to the broker before the commit
        assert queued == []

    # then it is stored under the key, and its stream is processed once committed
    assert stored and message.external_id == "k-1" and message.state == InboundState.RECEIVED
    for callback in callbacks:
        callback()
    assert queued == [(erp.pk, "customers")]


def test_a_retry_gets_the_first_result_and_queues_nothing(
    erp, queued, django_capture_on_commit_callbacks
):
    # given a record already received
    first, _ = inbox_receive(connector=erp, stream="customers", record=CUSTOMER, key="k-1")

    # when the same payload comes again under the same key
    with django_capture_on_commit_callbacks(execute=True):
        again, stored = inbox_receive(
            connector=erp, stream="customers", record=dict(CUSTOMER), key="k-1"
        )

    # then it is the first message, not stored again, and nothing more is processed
    assert not stored and again.pk == first.pk
    assert InboundMessage.objects.count() == 1
    assert queued == []


def test_a_reused_key_with_another_payload_is_a_conflict_that_changes_nothing(erp):
    # given a record received under a key
    first, _ = inbox_receive(connector=erp, stream="customers", record=CUSTOMER, key="k-1")

    # when another payload comes under the same key
    with pytest.raises(Conflict) as refused:
        inbox_receive(
            connector=erp,
            stream="customers",
            record={**CUSTOMER, "credit_limit": "999999.00"},
            key="k-1",
        )

    # then it is refused naming the first message, which is unchanged
    assert refused.value.status_code == 409 and refused.value.extra == {"id": first.pk}
    assert InboundMessage.objects.get().payload["credit_limit"] == "1000.00"


@pytest.mark.parametrize(
    "record, field",
    [
        ({**CUSTOMER, "version": 0}, "version"),
        ({**CUSTOMER, "version": True}, "version"),
        ({**CUSTOMER, "credit_limit": "-5"}, "credit_limit"),
        ({key: value for key, value in CUSTOMER.items() if key != "id"}, "id"),
    ],
)
def test_a_record_that_cannot_apply_is_refused_naming_the_field(erp, record, field):
    # given a record with a bad field (or no key at all)
    # when it is received without a key header
    with pytest.raises(ApplicationError) as refused:
        inbox_receive(connector=erp, stream="customers", record=record)

    # then it is a 400 naming the field, and nothing is stored
    assert refused.value.status_code == 400 and refused.value.extra == {"field": field}
    assert not InboundMessage.objects.exists()


def _dead(erp, external_id: str, stream: str = "orders") -> InboundMessage:
    message = InboundMessage.objects.create(
        connector=erp,
        stream=stream,
        external_id=external_id,
        version=1,
        payload={},
        received_at=timezone.now(),
    )
    # the state field is protected: a dead letter made directly, as a failed apply leaves it
    InboundMessage.objects.filter(pk=message.pk).update(state=InboundState.DEAD)
    return message


def test_replay_processes_each_stream_once_after_commit(
    erp, queued, manager_user, django_capture_on_commit_callbacks
):
    # given three dead letters on two streams
    dead = [_dead(erp, "A"), _dead(erp, "B"), _dead(erp, "C", stream="customers")]

    # when they are replayed
    with django_capture_on_commit_callbacks() as callbacks:
        count = inbox_replay(
            message_ids=[m.pk for m in dead], actor=manager_user, reason="Items loaded"
        )
        # then nothing is sent before the commit
        assert queued == []

    # then all three wait again, and each stream is processed once, after the commit
    assert count == 3
    for callback in callbacks:
        callback()
    assert sorted(queued) == [(erp.pk, "customers"), (erp.pk, "orders")]


def test_replay_without_processing_queues_nothing(
    erp, queued, manager_user, django_capture_on_commit_callbacks
):
    # given a dead letter
    dead = _dead(erp, "A")

    # when it is replayed by a caller that processes it itself (manage.py replay_dead_letters)
    with django_capture_on_commit_callbacks(execute=True):
        count = inbox_replay(
            message_ids=[dead.pk], actor=manager_user, reason="Items loaded", process=False
        )

    # then it waits again and nothing is queued
    assert count == 1 and queued == []
    assert InboundMessage.objects.get(pk=dead.pk).state == InboundState.RECEIVED
