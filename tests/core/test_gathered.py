"""After-commit work gathered over a run of transactions: done once for what committed, in the
order asked, at the end of the block or once ``MAX_WAIT`` has passed; at the commit outside."""

import pytest
from django.db import transaction

from core import gathered as gathered_module
from core.gathered import gathered, on_commit_with

pytestmark = pytest.mark.django_db


class Log:
    def __init__(self) -> None:
        self.calls: list[tuple[str, set]] = []

    def refresh(self, ids: set) -> None:
        self.calls.append(("refresh", set(ids)))

    def judge(self, ids: set) -> None:
        self.calls.append(("judge", set(ids)))


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    """A transaction asking for both works with ``ids``, committed (its on-commit callbacks run
    as it ends: the test's own transaction never commits) or rolled back."""

    def commit(log: Log, ids: set, *, fail: bool = False) -> None:
        with django_capture_on_commit_callbacks(execute=True):
            try:
                with transaction.atomic():
                    on_commit_with(log.refresh, ids)
                    on_commit_with(log.judge, ids)
                    if fail:
                        raise RuntimeError("rolled back")
            except RuntimeError:
                pass

    return commit


def test_outside_a_block_the_work_runs_at_each_commit_and_never_for_a_rollback(commit):
    log = Log()
    commit(log, {1, 2})
    assert log.calls == [("refresh", {1, 2}), ("judge", {1, 2})]
    commit(log, {3}, fail=True)
    assert len(log.calls) == 2


def test_in_a_block_each_work_runs_once_for_what_committed_in_the_order_asked(commit):
    log = Log()
    with gathered():
        commit(log, {1, 2})
        commit(log, {9}, fail=True)
        commit(log, {2, 3})
        assert log.calls == []  # nothing yet: the run is not over and MAX_WAIT has not passed
    assert log.calls == [("refresh", {1, 2, 3}), ("judge", {1, 2, 3})]


def test_a_commit_after_max_wait_runs_what_was_gathered_so_far(monkeypatch, commit):
    now = [100.0]
    monkeypatch.setattr(gathered_module.time, "monotonic", lambda: now[0])
    log = Log()
    with gathered():
        commit(log, {1})
        now[0] += gathered_module.MAX_WAIT  # the first id has waited long enough
        commit(log, {2})
        # the refresh ran at the second commit with both; the judging of 2 was asked after it
        assert log.calls == [("refresh", {1, 2}), ("judge", {1})]
        commit(log, {3})
    # and at the end, still the refresh first: 3 is never judged before its refresh
    assert log.calls[2:] == [("refresh", {3}), ("judge", {2, 3})]


def test_a_transaction_that_commits_after_the_block_runs_its_work_at_its_commit(
    django_capture_on_commit_callbacks,
):
    # given the block runs inside an outer transaction (a caller's, or a test's)
    log = Log()
    with django_capture_on_commit_callbacks(execute=True):
        with gathered(), transaction.atomic():
            on_commit_with(log.refresh, {1})
        assert log.calls == []  # the outer transaction has not committed
    # then its commit, after the block, still runs the work
    assert log.calls == [("refresh", {1})]
