"""The event catalog, the models, and which endpoint wants which event."""

from __future__ import annotations

import pytest

from livehook.domain.catalog import (
    DROP_OFF_STAGES,
    EVENT_TYPES,
    FUNNEL_STAGES,
    MODELS,
    OPERATIONAL_EVENT_TYPES,
    RECOMMENDED_MODEL,
    SESSION_EVENT_TYPES,
    EventType,
    check_event_types,
    check_model,
    webhook_wants,
)

# The published catalog, as (name, step), in its order: written out, not read from the code.
PUBLISHED_CATALOG = [
    ("verification.initialized", 1),
    ("verification.started", 2),
    ("account.created", None),
    ("consent.granted", 3),
    ("liveness.started", 4),
    ("liveness.passed", 5),
    ("liveness.failed", None),
    ("liveness.cancelled", None),
    ("face.collision", None),
    ("verification.completed", 6),
    ("verification.failed", None),
]


def test_catalog_lists_design_types_in_order_with_their_steps() -> None:
    session_types = [(t.name, t.step) for t in EVENT_TYPES.values() if not t.operational]
    assert session_types == PUBLISHED_CATALOG


def test_operational_types_are_flagged_and_have_no_step() -> None:
    assert OPERATIONAL_EVENT_TYPES == ("webhook.disabled", "delivery.exhausted")
    for name in OPERATIONAL_EVENT_TYPES:
        assert EVENT_TYPES[name].operational
        assert EVENT_TYPES[name].step is None
    assert tuple(name for name, _ in PUBLISHED_CATALOG) == SESSION_EVENT_TYPES


def test_funnel_is_the_stepped_happy_path_in_step_order() -> None:
    assert FUNNEL_STAGES == (
        "verification.initialized",
        "verification.started",
        "consent.granted",
        "liveness.started",
        "liveness.passed",
        "verification.completed",
    )


def test_drop_off_stages_are_the_three_funnel_losses() -> None:
    assert DROP_OFF_STAGES == ("liveness.failed", "liveness.cancelled", "face.collision")
    assert {n for n, t in EVENT_TYPES.items() if t.drop_off} == set(DROP_OFF_STAGES)


def test_every_type_has_a_description_and_catalog_cannot_be_mutated() -> None:
    assert all(t.description.endswith(".") for t in EVENT_TYPES.values())
    with pytest.raises(TypeError):
        EVENT_TYPES["x.y"] = EventType("x.y", None, "nope.")  # type: ignore[index]


def test_models_frames_match_their_names_and_only_30_is_recommended() -> None:
    assert list(MODELS) == [
        "mixed-10-v2",
        "mixed-30-v2",
        "mixed-60-v2",
        "mixed-90-v2",
        "mixed-120-v2",
    ]
    for name, model in MODELS.items():
        assert name == f"mixed-{model.frames}-v2"
    assert [m.name for m in MODELS.values() if m.recommended] == ["mixed-30-v2"]
    assert RECOMMENDED_MODEL == "mixed-30-v2"


def test_check_event_types_deduplicates_keeping_first_order() -> None:
    assert check_event_types(["liveness.passed", "account.created", "liveness.passed"]) == (
        "liveness.passed",
        "account.created",
    )


def test_check_event_types_names_every_unknown_type() -> None:
    with pytest.raises(ValueError, match=r"unknown event type\(s\): verification\.done, nope"):
        check_event_types(["verification.completed", "verification.done", "nope"])


def test_check_model_refuses_unknown_models_listing_known_ones() -> None:
    assert check_model("mixed-60-v2") == "mixed-60-v2"
    with pytest.raises(ValueError, match="unknown model 'mixed-45-v2'; known: mixed-10-v2"):
        check_model("mixed-45-v2")


ALL = ()  # an empty subscription: every non-operational type


@pytest.mark.parametrize(
    ("event_type", "subscribed", "webhook_model", "event_model", "expected"),
    [
        # type filter
        ("verification.completed", ALL, None, "mixed-30-v2", True),
        ("liveness.started", ALL, None, "mixed-30-v2", True),
        ("verification.completed", ("verification.completed",), None, "mixed-30-v2", True),
        ("liveness.started", ("verification.completed",), None, "mixed-30-v2", False),
        (
            "verification.failed",
            ("verification.completed", "verification.failed"),
            None,
            None,
            True,
        ),
        # operational events only reach endpoints naming them
        ("webhook.disabled", ALL, None, None, False),
        ("delivery.exhausted", ALL, None, None, False),
        ("webhook.disabled", ("webhook.disabled",), None, None, True),
        ("delivery.exhausted", ("webhook.disabled",), None, None, False),
        ("webhook.disabled", ("verification.completed",), None, None, False),
        # model filter
        ("verification.completed", ALL, "mixed-30-v2", "mixed-30-v2", True),
        ("verification.completed", ALL, "mixed-30-v2", "mixed-10-v2", False),
        ("verification.completed", ALL, None, "mixed-120-v2", True),
        (
            "verification.completed",
            ("verification.completed",),
            "mixed-60-v2",
            "mixed-10-v2",
            False,
        ),
        # events without a model are not filtered by model
        ("webhook.disabled", ("webhook.disabled",), "mixed-30-v2", None, True),
        ("verification.initialized", ALL, "mixed-30-v2", None, True),
    ],
)
def test_webhook_wants_matrix(
    event_type: str,
    subscribed: tuple[str, ...],
    webhook_model: str | None,
    event_model: str | None,
    expected: bool,
) -> None:
    assert webhook_wants(event_type, subscribed, webhook_model, event_model) is expected


def test_all_events_subscribers_get_every_session_type_and_no_operational_one() -> None:
    wanted = [name for name in EVENT_TYPES if webhook_wants(name, [], None, None)]
    assert wanted == list(SESSION_EVENT_TYPES)


def test_webhook_wants_refuses_unknown_event_types() -> None:
    with pytest.raises(ValueError, match=r"unknown event type 'verification\.done'"):
        webhook_wants("verification.done", ["verification.done"], None, None)
