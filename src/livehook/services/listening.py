"""`livehook listen`: the listening endpoint of an API key, opened and closed by the CLI.

The endpoint is an ordinary webhook (``livehook-listen://<key id>``), so its deliveries are
queued with the session change that caused them, signed, retried and logged like any other
(see ``delivery/relay.py`` for how they travel). It outlives a dropped connection, so what
happens meanwhile waits in the queue, and its row outlives Ctrl-C (which disables it), so its
signing secret stays the same from one `livehook listen` to the next and its delivery log stays.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from livehook.clock import Clock, system_clock
from livehook.domain import catalog
from livehook.domain.accounts import Principal
from livehook.domain.listening import listen_url
from livehook.domain.scopes import WEBHOOKS_WRITE
from livehook.domain.webhooks import Webhook
from livehook.services.errors import InvalidRequest, PermissionDenied
from livehook.services.fanout import fan_out
from livehook.services.webhooks import WebhookDraft, WebhookService
from livehook.storage.database import Database
from livehook.storage.delivery_queue import DeliveryQueue
from livehook.storage.repositories.listening import ListeningRepository

# The local server may be paused in a debugger: more time than the 5 s a customer gets.
LISTEN_TIMEOUT_SECONDS = 10
# The most events one --since replays at once: a developer's window, not an export.
MAX_REPLAYED_EVENTS = 1000
STOPPED_REASON = "livehook listen stopped"


@dataclass(frozen=True, slots=True)
class Listening:
    webhook: Webhook
    secret: str  # signs this endpoint's deliveries; the same every time for one API key
    due_now: int  # deliveries that waited for the listener and go out now
    replayed: int  # deliveries queued by ``since``


class ListenService:
    def __init__(
        self,
        db: Database,
        webhooks: WebhookService,
        *,
        on_enqueued: Callable[[], None] = lambda: None,
        clock: Clock = system_clock,
    ) -> None:
        self._db = db
        self._webhooks = webhooks
        self._on_enqueued = on_enqueued
        self._clock = clock

    async def open(
        self, principal: Principal, *, events: Sequence[str] = (), since: datetime | None = None
    ) -> Listening:
        """The key's listening endpoint, active with ``events`` (all when empty); what waited
        for it comes due now, and ``since`` sends again everything that happened after that
        time, delivered before or not."""
        if not principal.allows(WEBHOOKS_WRITE):
            raise PermissionDenied(f"this API key lacks the `{WEBHOOKS_WRITE}` scope")
        now = self._clock()
        if since is not None and since > now:
            raise InvalidRequest("since must not be in the future", field="since")
        webhook, secret = await self._endpoint(principal, list(events))
        async with self._db.transaction() as tx:
            queue = DeliveryQueue(tx)
            due_now = await queue.hurry(webhook.id, now=now)
            replayed = 0
            if since is not None:
                wanted = list(webhook.events) or list(catalog.SESSION_EVENT_TYPES)
                replayed = await queue.replay(webhook.id, since=since, event_types=wanted, now=now)
                missed = await ListeningRepository(tx).events_never_sent(
                    webhook_id=webhook.id,
                    api_key_id=principal.key_id,
                    since=since,
                    limit=MAX_REPLAYED_EVENTS,
                )
                replayed += await fan_out(tx, missed, candidates=[webhook], now=now)
        if due_now or replayed:
            self._on_enqueued()
        return Listening(webhook, secret, due_now, replayed)

    async def close(self, principal: Principal, webhook_id: str) -> None:
        """Ctrl-C: the endpoint stops receiving (disabled, with its log and secret kept)."""
        await self._webhooks.update(
            principal, webhook_id, {"status": "disabled", "disabled_reason": STOPPED_REASON}
        )

    async def _endpoint(self, principal: Principal, events: list[str]) -> tuple[Webhook, str]:
        url = listen_url(principal.key_id)
        async with self._db.read() as tx:
            existing = await self._webhooks.repository(tx).find_duplicate(
                principal.key_id, url, None
            )
        if existing is None:
            draft = WebhookDraft(
                url=url,
                description="livehook listen",
                events=tuple(events),
                timeout_seconds=LISTEN_TIMEOUT_SECONDS,
            )
            created = await self._webhooks.create_internal(principal, draft)
            return created.webhook, created.secret
        webhook = await self._webhooks.update(
            principal, existing, {"status": "active", "events": events}
        )
        async with self._db.read() as tx:
            secrets = await self._webhooks.signing_secrets(tx, webhook.id, self._clock())
        return webhook, secrets[0]
