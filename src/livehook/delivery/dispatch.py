"""One attempt of one delivery: where it goes and how it is signed, the POST, the record.

``load_targets`` reads, just after the claim, what every endpoint of a batch needs (URL,
secrets, custom headers, timeout, retry policy) once per endpoint. ``send_attempt`` signs with
the secrets of now and posts the stored bytes; ``decide`` turns the answer into the next step.
``record_attempts`` hands a batch's typed outcomes to the queue (``storage/delivery_queue.py``,
which writes only those whose lease still holds) and writes their consequences (endpoint health,
operational events) in the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from livehook.crypto import DecryptionError, SecretBox
from livehook.delivery.operational import emit_operational_event
from livehook.delivery.sender import Sender, SendResult
from livehook.domain import profiles
from livehook.domain.catalog import DELIVERY_EXHAUSTED, EVENT_TYPES, WEBHOOK_DISABLED
from livehook.domain.deliveries import (
    FAILED,
    PENDING,
    SUCCEEDED,
    Attempt,
    Delivery,
    build_request_headers,
    loggable_headers,
    response_excerpt,
)
from livehook.domain.payloads import delivery_exhausted_data, webhook_disabled_data
from livehook.domain.retry import (
    AttemptOutcome,
    Decision,
    DisableEndpoint,
    GiveUp,
    RetryAt,
    RetryPolicy,
    Succeeded,
)
from livehook.domain.webhooks import DEFAULT_TIMEOUT_SECONDS, Webhook
from livehook.storage.database import Database, Transaction
from livehook.storage.delivery_queue import DeliveryQueue, Outcome
from livehook.storage.repositories.accounts import ApiKeyRepository
from livehook.storage.repositories.sessions import SessionRepository
from livehook.storage.repositories.webhooks import WebhookRepository

NewId = Callable[[str], str]
Clock = Callable[[], datetime]


class Endpoints(Protocol):
    """Where the worker reads endpoints (the webhook service: it holds the headers' codec)."""

    user_agent: str | None  # the deployment's override of the profiles' agents

    def repository(self, tx: Transaction) -> WebhookRepository: ...


@dataclass(frozen=True, slots=True)
class Target:
    url: str
    scheme: str
    secrets: tuple[str, ...]  # newest first
    custom_headers: Mapping[str, str]
    timeout_s: float
    policy: RetryPolicy
    webhook: Webhook | None  # None: a session's callback_url
    user_agent: str | None = None  # the deployment's override of the profiles' agents
    # Callbacks: sessions of several keys, even accounts, may share a callback URL (one
    # endpoint for limits and the breaker), but each is signed with its own key's secrets and
    # retried by its own session's policy.
    key_secrets: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    session_policies: Mapping[str, RetryPolicy] = field(default_factory=dict)

    def policy_for(self, delivery: Delivery) -> RetryPolicy:
        if delivery.session_id is not None and delivery.session_id in self.session_policies:
            return self.session_policies[delivery.session_id]
        return self.policy

    def secrets_for(self, delivery: Delivery) -> tuple[str, ...]:
        if self.webhook is None:
            return self.key_secrets.get(delivery.api_key_id, ())
        return self.secrets

    def scheme_for(self, delivery: Delivery) -> str:
        """An endpoint's scheme of now; a callback's is its session's profile's, fixed."""
        return delivery.signature_scheme if self.webhook is None else self.scheme


@dataclass(frozen=True, slots=True)
class Unavailable:
    """An endpoint whose rows cannot be sent now: ``fail`` ends them, otherwise they wait."""

    reason: str
    fail: bool


@dataclass(frozen=True, slots=True)
class Job:
    delivery: Delivery
    token: str
    target: Target
    origin: Mapping[str, str] | None = None  # trace context of the request behind its event

    @property
    def delivery_id(self) -> str:
        return self.delivery.id

    @property
    def number(self) -> int:
        """This attempt's number: numbers continue across redeliveries."""
        return self.delivery.attempt_count + 1


@dataclass(frozen=True, slots=True)
class Sent:
    started_at: datetime
    finished_at: datetime
    request_headers: dict[str, str]  # as sent, sensitive custom values redacted
    result: SendResult


async def load_targets(
    tx: Transaction,
    claimed: list[Delivery],
    webhooks: Endpoints,
    box: SecretBox,
    now: datetime,
) -> dict[str, Target | Unavailable]:
    """What each endpoint of the batch needs, keyed by ``Delivery.endpoint_key``: the
    endpoints and their secrets of now, read in one query each for the whole batch."""
    hook_ids = {d.webhook_id for d in claimed if d.webhook_id is not None}
    repo = webhooks.repository(tx)
    hooks: dict[str, Webhook | DecryptionError]
    try:
        hooks = dict(await repo.get_many_any(hook_ids))
    except DecryptionError:  # some endpoint's headers cannot be read: find which, one by one
        hooks = {}
        for hook_id in hook_ids:
            try:
                if (one := await repo.get_any(hook_id)) is not None:
                    hooks[hook_id] = one
            except DecryptionError as exc:
                hooks[hook_id] = exc
    secrets = await repo.secrets_of(list(hooks), now=now)
    callbacks = [d for d in claimed if d.webhook_id is None]
    policies = await _session_policies(tx, {d.session_id for d in callbacks if d.session_id})
    key_secrets = await _callback_secrets(tx, {d.api_key_id for d in callbacks}, box, now)
    user_agent = webhooks.user_agent
    targets: dict[str, Target | Unavailable] = {}
    for delivery in claimed:
        key = delivery.endpoint_key
        if key in targets:
            continue
        try:
            if delivery.webhook_id is None:
                targets[key] = _callback_target(delivery, key_secrets, policies, user_agent)
            else:
                webhook = hooks.get(delivery.webhook_id)
                if isinstance(webhook, DecryptionError):
                    raise webhook
                stored = secrets.get(delivery.webhook_id, [])
                targets[key] = _webhook_target(
                    webhook, [box.decrypt(s.secret) for s in stored], user_agent
                )
        except DecryptionError as exc:
            targets[key] = Unavailable(str(exc), fail=False)
    return targets


async def _session_policies(tx: Transaction, session_ids: set[str]) -> dict[str, RetryPolicy]:
    """The callback retry policy of each session: its own, or its callback profile's."""
    stored = await SessionRepository(tx).callback_settings(session_ids)
    return {
        session_id: RetryPolicy.parse(profiles.retry_policy_of(profile, policy))
        for session_id, (profile, policy) in stored.items()
    }


async def _callback_secrets(
    tx: Transaction, key_ids: set[str], box: SecretBox, now: datetime
) -> dict[str, tuple[str, ...]]:
    """The callback secrets of now of each key, newest first (a key that is gone: none)."""
    repo = ApiKeyRepository(tx)
    found = {key_id: await repo.callback_secrets(key_id, now=now) for key_id in key_ids}
    return {key_id: tuple(box.decrypt(s) for s in stored) for key_id, stored in found.items()}


def _callback_target(
    delivery: Delivery,
    key_secrets: Mapping[str, tuple[str, ...]],
    policies: Mapping[str, RetryPolicy],
    user_agent: str | None,
) -> Target | Unavailable:
    if not key_secrets.get(delivery.api_key_id):
        return Unavailable("the API key of this session is gone", fail=True)
    return Target(
        url=delivery.target_url,
        scheme=delivery.signature_scheme,  # per delivery: `scheme_for`
        secrets=(),  # per delivery: `secrets_for`
        custom_headers={},
        timeout_s=DEFAULT_TIMEOUT_SECONDS,
        policy=RetryPolicy.standard(),
        webhook=None,
        user_agent=user_agent,
        key_secrets=key_secrets,
        session_policies=policies,
    )


def _webhook_target(
    webhook: Webhook | None, secrets: list[str], user_agent: str | None
) -> Target | Unavailable:
    if webhook is None or not webhook.active:
        return Unavailable("endpoint disabled", fail=True)
    # The endpoint's settings of now apply: a fixed URL or a rotated secret is used at once.
    return Target(
        url=webhook.url,
        scheme=webhook.signature_scheme,
        secrets=tuple(secrets),
        custom_headers=webhook.headers,
        timeout_s=webhook.timeout_seconds,
        policy=RetryPolicy.parse(webhook.retry_policy),
        webhook=webhook,
        user_agent=user_agent,
    )


async def send_attempt(job: Job, sender: Sender, clock: Clock) -> Sent:
    """Sign with the secrets of now and POST the stored bytes, exactly."""
    delivery, target = job.delivery, job.target
    started = clock()
    body = (delivery.request_body or "").encode()
    try:
        headers = build_request_headers(
            event_type=delivery.event_type,
            event_id=delivery.event_id,
            session_id=delivery.session_id,
            timestamp=int(started.timestamp()),
            secrets=target.secrets_for(delivery),
            body=body,
            scheme=target.scheme_for(delivery),  # an endpoint's of now, as its URL and secrets
            profile=delivery.wire_profile,
            user_agent=target.user_agent,
            is_test=delivery.is_test,
            custom_headers=target.custom_headers,
        )
    except ValueError as exc:  # no live secret, or an unknown scheme: nothing can be sent
        unsigned = SendResult(None, {}, b"", 0.0, f"not sent: {exc}", False, None)
        return Sent(started, clock(), {}, unsigned)
    result = await sender.send(target.url, body, headers, target.timeout_s)
    return Sent(started, clock(), loggable_headers(headers, target.custom_headers), result)


def decide(job: Job, sent: Sent, rand: float) -> Decision:
    result = sent.result
    outcome = AttemptOutcome(
        status=result.status,
        timed_out=result.timed_out,
        error=result.error,
        retry_after=result.retry_after,
    )
    return job.target.policy_for(job.delivery).decide(job.number, outcome, sent.finished_at, rand)


def _delivery_state(
    decision: Decision, result: SendResult
) -> tuple[str, datetime | None, str | None]:
    """(status, next attempt, last error) of the delivery after this decision."""
    if isinstance(decision, Succeeded):
        return SUCCEEDED, None, None
    if isinstance(decision, RetryAt):
        return PENDING, decision.when, result.error
    return FAILED, None, decision.reason


@dataclass(frozen=True, slots=True)
class Finished:
    """A sent attempt waiting to be recorded. ``postpone_until``: the endpoint's breaker just
    opened until then."""

    job: Job
    sent: Sent
    decision: Decision
    postpone_until: datetime | None = None


async def record_attempts(
    db: Database, batch: Sequence[Finished], *, new_id: NewId, disable_after: timedelta
) -> list[int | None]:
    """Hand each attempt's outcome to the queue and write what follows from it, all in one
    transaction. For each: how many operational deliveries it queued, or None if its lease was
    lost (then nothing of it is written)."""
    async with db.transaction() as tx:
        written = await DeliveryQueue(tx).finish([_outcome(f, new_id) for f in batch])
        kept = [f for f in batch if f.job.delivery_id in written]
        hooks = WebhookRepository(tx)
        queued: dict[str, int] = {}
        # Successes stop their endpoint's failure clock in one statement at the end; one
        # followed by a failure of the same endpoint stops it first, as in order.
        to_clear: set[str] = set()
        for f in kept:
            webhook = f.job.target.webhook
            queued[f.job.delivery_id] = 0
            if webhook is None:
                continue
            if isinstance(f.decision, Succeeded):
                to_clear.add(webhook.id)
                continue
            if webhook.id in to_clear:
                to_clear.discard(webhook.id)
                await hooks.clear_failing([webhook.id])
            queued[f.job.delivery_id] = await _endpoint_health(
                tx, f, new_id, disable_after, f.sent.finished_at
            )
        await hooks.clear_failing(to_clear)
    return [queued.get(f.job.delivery_id) for f in batch]


def _outcome(f: Finished, new_id: NewId) -> Outcome:
    status, next_attempt_at, last_error = _delivery_state(f.decision, f.sent.result)
    result = f.sent.result
    return Outcome(
        delivery_id=f.job.delivery_id,
        token=f.job.token,
        status=status,
        attempt_count=f.job.number,
        next_attempt_at=next_attempt_at,
        last_status_code=result.status,
        last_error=last_error,
        signature_scheme=f.job.target.scheme_for(f.job.delivery),
        target_url=f.job.target.url,
        at=f.sent.finished_at,
        attempt=Attempt(
            id=new_id("att"),
            delivery_id=f.job.delivery_id,
            number=f.job.number,
            started_at=f.sent.started_at,
            duration_ms=round(result.duration_ms, 3),
            request_headers=f.sent.request_headers,
            response_status=result.status,
            response_headers=result.headers if result.status else None,
            response_body=response_excerpt(result.body_excerpt) if result.status else None,
            error=result.error,
            next_attempt_at=next_attempt_at,
        ),
    )


async def _endpoint_health(
    tx: Transaction, f: Finished, new_id: NewId, disable_after: timedelta, now: datetime
) -> int:
    """Failure clock, disabling, breaker postponement, ``delivery.exhausted``; returns the
    operational deliveries queued."""
    job, sent, decision, postpone_until = f.job, f.sent, f.decision, f.postpone_until
    webhook = job.target.webhook
    assert webhook is not None
    hooks = WebhookRepository(tx)
    if isinstance(decision, Succeeded):
        await hooks.clear_failing([webhook.id])
        return 0
    await hooks.mark_failing(webhook.id, now)
    queued = 0
    reason = _disable_reason(decision, webhook, disable_after, now)
    if reason is not None:
        queued += await _disable(tx, webhook, reason, now, new_id)
    elif postpone_until is not None:
        await DeliveryQueue(tx).postpone(webhook.id, until=postpone_until, now=now)
    # Only the end of the automatic schedule is news; a manual redelivery failing again is not,
    # and an operational event about an operational delivery could chain forever.
    if (
        isinstance(decision, GiveUp)
        and job.number == job.target.policy.max_attempts
        and not EVENT_TYPES[job.delivery.event_type].operational
    ):
        data = delivery_exhausted_data(
            webhook_id=webhook.id,
            delivery_id=job.delivery.id,
            event_id=job.delivery.event_id,
            event_type=job.delivery.event_type,
            attempts=job.number,
            last_status=sent.result.status,
            last_error=sent.result.error,
        )
        queued += await emit_operational_event(
            tx,
            account_id=webhook.account_id,
            event_type=DELIVERY_EXHAUSTED,
            data=data,
            now=now,
            new_id=new_id,
        )
    return queued


def _disable_reason(
    decision: Decision, webhook: Webhook, disable_after: timedelta, now: datetime
) -> str | None:
    if isinstance(decision, DisableEndpoint):
        return decision.reason
    if webhook.failing_since is not None and now - webhook.failing_since >= disable_after:
        days = disable_after.total_seconds() / 86400
        return f"every delivery failed for {days:g} days"
    return None


async def _disable(
    tx: Transaction, webhook: Webhook, reason: str, now: datetime, new_id: NewId
) -> int:
    if not await WebhookRepository(tx).disable(webhook.id, reason, now):
        return 0  # another worker disabled it first and told the account
    await DeliveryQueue(tx).fail_pending(webhook.id, now=now)
    return await emit_operational_event(
        tx,
        account_id=webhook.account_id,
        event_type=WEBHOOK_DISABLED,
        data=webhook_disabled_data(
            webhook_id=webhook.id, url=webhook.url, reason=reason, disabled_at=now
        ),
        now=now,
        new_id=new_id,
    )
