"""Pure portal rules: capabilities, link lifetimes, emails, passwords, the failure window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from livehook.domain.portal import (
    FailureWindow,
    UnknownCapabilityError,
    check_password,
    link_ttl,
    normalize_capabilities,
    normalize_email,
)

T0 = datetime(2026, 12, 1, tzinfo=UTC)


def test_capabilities_always_include_view_in_catalog_order() -> None:
    assert normalize_capabilities([]) == ("view",)
    assert normalize_capabilities(["secrets", "manage", "manage"]) == ("view", "manage", "secrets")
    with pytest.raises(UnknownCapabilityError, match="admin"):
        normalize_capabilities(["admin"])


def test_link_lifetime_defaults_to_an_hour_and_stops_at_seven_days() -> None:
    assert link_ttl(None) == timedelta(hours=1)
    assert link_ttl(7 * 86400) == timedelta(days=7)
    for bad in (59, 7 * 86400 + 1):
        with pytest.raises(ValueError, match="between"):
            link_ttl(bad)


def test_emails_are_lower_cased_and_checked() -> None:
    assert normalize_email("  Dev@Example.COM ") == "dev@example.com"
    for bad in ("dev", "dev@", "@example.com", "a b@example.com", "x@" + "a" * 260 + ".com"):
        with pytest.raises(ValueError):
            normalize_email(bad)


def test_password_length_bounds() -> None:
    check_password("x" * 10)
    for bad in ("x" * 9, "x" * 1025):
        with pytest.raises(ValueError):
            check_password(bad)


def test_failure_window_blocks_at_the_limit_and_slides() -> None:
    window = FailureWindow(limit=3, window=timedelta(minutes=15))
    for n in range(3):
        assert not window.blocked("k", T0 + timedelta(minutes=n))
        window.fail("k", T0 + timedelta(minutes=n))
    assert window.blocked("k", T0 + timedelta(minutes=3))
    # The first failure leaves the window at 15 min: one slot frees up.
    assert not window.blocked("k", T0 + timedelta(minutes=15))
    window.clear("k")
    assert not window.blocked("k", T0 + timedelta(minutes=15))


def test_failure_window_forgets_expired_keys_when_full() -> None:
    window = FailureWindow(limit=3, window=timedelta(minutes=15), max_keys=2)
    window.fail("a", T0)
    window.fail("b", T0)
    window.fail("c", T0 + timedelta(minutes=20))  # a and b expired: swept out first
    assert set(window._failures) == {"c"}


def test_bucket_series_fills_empty_steps_oldest_first() -> None:
    from livehook.domain.deliveries import bucket_series

    end = datetime(2026, 12, 1, 10, 30, tzinfo=UTC)
    hour = 3600
    now_bucket = int(end.timestamp()) // hour
    series = bucket_series(
        {(now_bucket, "succeeded"): 4, (now_bucket, "failed"): 1, (now_bucket - 2, "failed"): 2},
        end=end,
        step=timedelta(hours=1),
        buckets=3,
    )
    assert [(b.start.hour, b.succeeded, b.failed) for b in series] == [
        (8, 0, 2),
        (9, 0, 0),
        (10, 4, 1),
    ]


def test_activity_sums_hours_into_the_day_the_week_and_daily_bars() -> None:
    from livehook.domain.deliveries import activity_since, summarize_activity

    now = datetime(2026, 12, 3, 10, 30, tzinfo=UTC)
    hour = int(now.timestamp()) // 3600
    hourly = {
        (hour, "succeeded"): 5,
        (hour, "pending"): 2,
        (hour - 23, "failed"): 1,  # the oldest hour of the last 24
        (hour - 24, "failed"): 7,  # yesterday, outside them
        (hour - 5 * 24, "succeeded"): 3,
    }
    activity = summarize_activity(hourly, now)
    assert (activity.last_day.succeeded, activity.last_day.failed) == (5, 1)
    assert activity.last_day.pending == 2
    assert (activity.last_week.succeeded, activity.last_week.failed) == (8, 8)
    assert [(b.start.day, b.succeeded, b.failed) for b in activity.days] == [
        (27, 0, 0),
        (28, 3, 0),
        (29, 0, 0),
        (30, 0, 0),
        (1, 0, 0),
        (2, 0, 8),
        (3, 5, 0),
    ]
    assert activity.hours[-1].succeeded == 5 and len(activity.hours) == 24
    assert activity_since(now) == datetime(2026, 11, 27, tzinfo=UTC)
