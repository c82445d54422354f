"""guanxi_common.breaker: the circuit breaker's states on a clock the test steps."""
import threading

import eventlet
import pytest

from guanxi_common.breaker import BreakerOpen, CircuitBreaker, CircuitBreakers


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now

    def advance(self, seconds):
        self.now += seconds


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def changes():
    return []


@pytest.fixture
def breaker(clock, changes):
    return CircuitBreaker("customer", failure_threshold=3, cooldown=10, clock=clock,
                          on_change=lambda name, old, new: changes.append((name, old.value,
                                                                           new.value)))


def fail(breaker, times=1):
    for _ in range(times):
        breaker.failed(breaker.permit())


def test_it_opens_after_consecutive_failures_only(breaker, changes):
    fail(breaker, 2)
    breaker.succeeded(breaker.permit())  # an answer in between starts the count again
    fail(breaker, 2)
    assert breaker.state == "closed"
    fail(breaker)
    assert breaker.state == "open"
    assert changes == [("customer", "closed", "open")]
    with pytest.raises(BreakerOpen) as refused:
        breaker.permit()
    assert refused.value.retry_after == pytest.approx(10)
    assert "circuit open" in str(refused.value)


def test_after_the_cooldown_one_trial_passes_and_its_success_closes(breaker, clock, changes):
    fail(breaker, 3)
    clock.advance(9.9)
    with pytest.raises(BreakerOpen) as refused:
        breaker.permit()
    assert refused.value.retry_after == pytest.approx(0.1)
    clock.advance(0.1)
    assert breaker.state == "half_open"
    trial = breaker.permit()
    assert trial.trial
    with pytest.raises(BreakerOpen):  # only one trial at a time
        breaker.permit()
    breaker.succeeded(trial)
    assert breaker.state == "closed"
    assert not breaker.permit().trial
    assert [new for _, _, new in changes] == ["open", "half_open", "closed"]


def test_a_failed_trial_opens_it_for_another_cooldown(breaker, clock):
    fail(breaker, 3)
    clock.advance(10)
    breaker.failed(breaker.permit())
    assert breaker.state == "open"
    clock.advance(9)
    with pytest.raises(BreakerOpen):
        breaker.permit()
    clock.advance(1)
    assert breaker.permit().trial


def test_a_trial_that_never_reports_is_replaced_after_a_cooldown(breaker, clock):
    fail(breaker, 3)
    clock.advance(10)
    lost = breaker.permit()
    clock.advance(9)
    with pytest.raises(BreakerOpen):
        breaker.permit()
    clock.advance(1)
    second = breaker.permit()
    assert second.trial and second.generation == lost.generation
    breaker.succeeded(second)
    assert breaker.state == "closed"


def test_reports_of_calls_permitted_before_a_change_are_ignored(breaker, clock):
    slow = [breaker.permit() for _ in range(2)]  # in flight when the outage starts
    fail(breaker, 3)
    breaker.succeeded(slow[0])  # a late answer from before the outage opens nothing up
    assert breaker.state == "open"
    clock.advance(10)
    trial = breaker.permit()
    breaker.failed(slow[1])  # nor does a late failure decide for the trial
    assert breaker.state == "half_open"
    breaker.succeeded(trial)
    assert breaker.state == "closed"
    fail(breaker, 2)
    assert breaker.snapshot() == {"state": "closed", "failures": 2, "retry_after": 0.0}


def test_threshold_zero_turns_it_off(clock):
    off = CircuitBreaker("sales", failure_threshold=0, clock=clock)
    for _ in range(100):
        off.failed(off.permit())
    assert off.state == "closed"


def test_bad_settings_are_refused():
    with pytest.raises(ValueError):
        CircuitBreaker("x", failure_threshold=-1)
    with pytest.raises(ValueError):
        CircuitBreakers(cooldown=0)


def test_the_board_keeps_one_breaker_per_target(clock):
    board = CircuitBreakers(failure_threshold=1, cooldown=5, clock=clock)
    assert board["customer"] is board["customer"]
    board["customer"].failed(board["customer"].permit())
    board["sales"].succeeded(board["sales"].permit())
    assert board.snapshot() == {
        "customer": {"state": "open", "failures": 0, "retry_after": 5.0},
        "sales": {"state": "closed", "failures": 0, "retry_after": 0.0}}


def test_threads_racing_for_the_trial_get_exactly_one(clock):
    breaker = CircuitBreaker("customer", failure_threshold=1, cooldown=1, clock=clock)
    fail(breaker)
    clock.advance(1)
    start, trials, refused = threading.Barrier(16), [], []

    def race():
        start.wait()
        try:
            trials.append(breaker.permit())
        except BreakerOpen:
            refused.append(1)

    threads = [threading.Thread(target=race) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(trials) == 1 and len(refused) == 15


def test_greenthreads_share_one_breaker(clock):
    breaker = CircuitBreaker("customer", failure_threshold=50, cooldown=1, clock=clock)

    def failing_caller():
        for _ in range(10):
            permit = breaker.permit()
            eventlet.sleep(0)  # the reply comes later, other greenthreads run meanwhile
            breaker.failed(permit)

    pool = eventlet.GreenPool()
    for _ in range(5):
        pool.spawn(failing_caller)
    pool.waitall()
    assert breaker.state == "open"  # 50 failures counted, none lost


def test_a_background_probe_takes_the_trial_and_calls_are_never_it(breaker, clock):
    fail(breaker, 3)
    assert breaker.trial_permit() is None  # cooling down
    clock.advance(10)
    with pytest.raises(BreakerOpen):
        breaker.permit(trial=False)  # a user call does not wait for a target still down
    probe = breaker.trial_permit()
    assert probe.trial and breaker.trial_permit() is None  # one probe at a time
    with pytest.raises(BreakerOpen):
        breaker.permit(trial=False)
    breaker.succeeded(probe)
    assert not breaker.permit(trial=False).trial
    assert breaker.trial_permit() is None  # closed: nothing to probe
