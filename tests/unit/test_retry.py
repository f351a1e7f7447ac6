"""Retry policies and the decision after each attempt."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from livehook.domain.retry import (
    MAX_DELAY_S,
    AttemptOutcome,
    DisableEndpoint,
    GiveUp,
    RetryAt,
    RetryPolicy,
    Succeeded,
    parse_retry_after,
)

NOW = datetime(2026, 2, 10, 15, 0, 0, tzinfo=UTC)
STANDARD = RetryPolicy.standard()
BASE = [5, 300, 1800, 7200, 18000, 36000, 36000]


def failed(status: int | None = 500, retry_after: str | None = None) -> AttemptOutcome:
    return AttemptOutcome(status=status, retry_after=retry_after)


def delay_of(decision: object) -> float:
    assert isinstance(decision, RetryAt), decision
    return decision.delay_s


def test_standard_policy_has_eight_attempts_with_svix_like_delays() -> None:
    assert STANDARD.max_attempts == 8
    assert [STANDARD.delay_after(n, 0.5) for n in range(1, 8)] == BASE


@pytest.mark.parametrize(("rand", "factor"), [(0.0, 0.8), (0.5, 1.0), (0.999, 1.1996)])
def test_standard_schedule_jitters_within_20_percent(rand: float, factor: float) -> None:
    for n, base in enumerate(BASE, start=1):
        assert STANDARD.delay_after(n, rand) == pytest.approx(base * factor)


def test_decide_schedules_the_retry_at_now_plus_the_jittered_delay() -> None:
    assert STANDARD.decide(2, failed(503), NOW, 0.0) == RetryAt(
        when=NOW + timedelta(seconds=240), delay_s=240.0
    )


def test_once_policy_retries_a_single_time_after_5_seconds_without_jitter() -> None:
    once = RetryPolicy.once()
    assert once.max_attempts == 2
    assert once.decide(1, failed(), NOW, 0.999) == RetryAt(NOW + timedelta(seconds=5), 5.0)
    assert isinstance(once.decide(2, failed(), NOW, 0.0), GiveUp)


def test_custom_delays_are_used_exactly() -> None:
    policy = RetryPolicy.custom([10, 20])
    assert [policy.delay_after(n, 0.999) for n in (1, 2)] == [10.0, 20.0]


@pytest.mark.parametrize("status", [200, 201, 204, 299])
def test_only_2xx_succeeds(status: int) -> None:
    assert STANDARD.decide(1, AttemptOutcome(status=status), NOW, 0.5) == Succeeded()


@pytest.mark.parametrize("status", [101, 301, 302, 304, 307, 308, 400, 401, 404, 500, 503])
def test_redirects_and_other_statuses_are_retried(status: int) -> None:
    decision = STANDARD.decide(1, failed(status), NOW, 0.5)
    assert decision == RetryAt(NOW + timedelta(seconds=5), 5.0)


def test_connection_errors_are_retried() -> None:
    outcome = AttemptOutcome(status=None, error="connection refused")
    assert isinstance(STANDARD.decide(1, outcome, NOW, 0.5), RetryAt)
    assert outcome.describe() == "error: connection refused"


@pytest.mark.parametrize("attempt", [1, 8])
def test_410_disables_the_endpoint_on_any_attempt(attempt: int) -> None:
    assert STANDARD.decide(attempt, failed(410), NOW, 0.5) == DisableEndpoint(
        "the endpoint answered 410 Gone"
    )


def test_last_attempt_gives_up_saying_how_it_ended() -> None:
    assert STANDARD.decide(8, failed(502), NOW, 0.5) == GiveUp(
        "gave up after 8 attempts; last: HTTP 502"
    )
    assert STANDARD.decide(8, AttemptOutcome(None, timed_out=True), NOW, 0.5) == GiveUp(
        "gave up after 8 attempts; last: timed out"
    )


@pytest.mark.parametrize(
    "outcome",
    [AttemptOutcome(None, timed_out=True), AttemptOutcome(429)],
    ids=["timeout", "429"],
)
def test_timeout_and_429_wait_at_least_a_minute(outcome: AttemptOutcome) -> None:
    assert delay_of(STANDARD.decide(1, outcome, NOW, 0.0)) == 60.0
    assert delay_of(STANDARD.decide(3, outcome, NOW, 0.5)) == 1800.0


def test_retry_after_seconds_stretches_a_shorter_policy_delay() -> None:
    decision = STANDARD.decide(1, failed(503, retry_after="120"), NOW, 0.5)
    assert decision == RetryAt(NOW + timedelta(seconds=120), 120.0)


def test_retry_after_never_shortens_the_policy_delay() -> None:
    decision = STANDARD.decide(3, failed(503, retry_after="10"), NOW, 0.5)
    assert decision == RetryAt(NOW + timedelta(seconds=1800), 1800.0)


def test_retry_after_http_date_is_honoured() -> None:
    outcome = failed(429, retry_after="Tue, 10 Feb 2026 15:10:00 GMT")
    assert STANDARD.decide(1, outcome, NOW, 0.5) == RetryAt(NOW + timedelta(minutes=10), 600.0)


def test_retry_after_is_capped_at_a_day() -> None:
    decision = STANDARD.decide(1, failed(503, retry_after="999999"), NOW, 0.5)
    assert decision == RetryAt(NOW + timedelta(seconds=MAX_DELAY_S), float(MAX_DELAY_S))


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("120", 120.0),
        (" 0 ", 0.0),
        ("Tue, 10 Feb 2026 15:00:30 GMT", 30.0),
        ("Tue, 10 Feb 2026 14:00:00 GMT", 0.0),  # in the past: no extra wait
        ("Tue, 10 Feb 2026 15:00:30 -0000", 30.0),
        (None, None),
        ("soon", None),
        ("-5", None),
        ("1.5", None),
        ("²", None),
    ],
)
def test_parse_retry_after_forms(value: str | None, seconds: float | None) -> None:
    assert parse_retry_after(value, NOW) == seconds


def test_malformed_retry_after_is_ignored() -> None:
    assert delay_of(STANDARD.decide(1, failed(503, retry_after="soon"), NOW, 0.5)) == 5.0


@pytest.mark.parametrize(
    ("value", "policy"),
    [
        ("standard", STANDARD),
        (" Once ", RetryPolicy.once()),
        ([5, 60], RetryPolicy("custom", (5, 60))),
        ("5, 60", RetryPolicy("custom", (5, 60))),
        ("[5, 60]", RetryPolicy("custom", (5, 60))),
        ("5s, 2m, 1h", RetryPolicy("custom", (5, 120, 3600))),
        ([1] * 20, RetryPolicy("custom", (1,) * 20)),
        ([86400], RetryPolicy("custom", (86400,))),
    ],
)
def test_parse_reads_names_and_delay_lists(value: str | list[int], policy: RetryPolicy) -> None:
    assert RetryPolicy.parse(value) == policy


@pytest.mark.parametrize(
    ("value", "detail"),
    [
        ([], "got 0 delays"),
        ([1] * 21, "got 21 delays"),
        ([0], "0 s is out of bounds"),
        ([86401], "86401 s is out of bounds"),
        ([True], "True is not a whole number of seconds"),
        ([1.5], "1.5 is not a whole number of seconds"),
        ("fast", "cannot read 'fast' as a delay"),
        ("5x", "cannot read '5x' as a delay"),
        ("5,,6", "cannot read '' as a delay"),
        ("[5,", "is not a JSON list"),
        ("", "got an empty value"),
        ({"delays": [5]}, "got dict"),
    ],
)
def test_parse_errors_explain_what_a_policy_is(value: object, detail: str) -> None:
    with pytest.raises(ValueError) as caught:
        RetryPolicy.parse(value)  # type: ignore[arg-type]
    assert str(caught.value).startswith(
        "a retry policy is 'standard', 'once', or a list of 1 to 20"
    )
    assert detail in str(caught.value)


@pytest.mark.parametrize(
    "policy", [STANDARD, RetryPolicy.once(), RetryPolicy.custom([3, 600])], ids=str
)
def test_to_json_round_trips_through_parse(policy: RetryPolicy) -> None:
    assert RetryPolicy.parse(policy.to_json()) == policy


def test_to_json_stores_names_for_builtins_and_lists_for_custom() -> None:
    assert STANDARD.to_json() == "standard"
    assert RetryPolicy.custom([3, 600]).to_json() == [3, 600]


@pytest.mark.parametrize(
    ("attempt", "now", "rand", "message"),
    [
        (0, NOW, 0.5, "attempt numbers start at 1"),
        (1, datetime(2026, 2, 10), 0.5, "timezone-aware"),
        (1, NOW, 1.0, r"rand must be in \[0, 1\)"),
        (1, NOW, -0.1, r"rand must be in \[0, 1\)"),
    ],
)
def test_decide_refuses_bad_arguments(
    attempt: int, now: datetime, rand: float, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        STANDARD.decide(attempt, failed(), now, rand)


@pytest.mark.parametrize(
    ("name", "delays", "jitter", "message"),
    [
        ("fast", (5,), 0.0, "unknown retry policy 'fast'"),
        ("custom", (5,), 1.0, r"jitter must be a fraction in \[0, 1\)"),
        ("custom", (), 0.0, "got 0 delays"),
    ],
)
def test_policies_are_validated_when_built(
    name: str, delays: tuple[int, ...], jitter: float, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        RetryPolicy(name, delays, jitter)


@pytest.mark.parametrize("attempt", [0, 8])
def test_delay_after_exists_only_between_attempts(attempt: int) -> None:
    with pytest.raises(ValueError, match=f"attempt {attempt} has no retry after it"):
        STANDARD.delay_after(attempt, 0.5)


def test_next_attempt_at_follows_the_schedule() -> None:
    assert STANDARD.next_attempt_at(4, NOW, 0.5) == NOW + timedelta(hours=2)


@given(attempt=st.integers(1, 7), rand=st.floats(0, 1, exclude_max=True))
def test_jittered_delay_always_within_20_percent(attempt: int, rand: float) -> None:
    base = BASE[attempt - 1]
    assert base * 0.8 <= STANDARD.delay_after(attempt, rand) <= base * 1.2


@given(
    attempt=st.integers(1, 7),
    rand=st.floats(0, 1, exclude_max=True),
    status=st.none() | st.integers(100, 599).filter(lambda s: not 200 <= s < 300 and s != 410),
    timed_out=st.booleans(),
    retry_after=st.none() | st.integers(0, 10**9).map(str),
)
def test_every_retry_is_bounded(
    attempt: int, rand: float, status: int | None, timed_out: bool, retry_after: str | None
) -> None:
    outcome = AttemptOutcome(status=status, timed_out=timed_out, retry_after=retry_after)
    decision = STANDARD.decide(attempt, outcome, NOW, rand)
    assert isinstance(decision, RetryAt)
    assert BASE[attempt - 1] * 0.8 <= decision.delay_s <= max(BASE[attempt - 1] * 1.2, MAX_DELAY_S)
    assert decision.when == NOW + timedelta(seconds=decision.delay_s)
