"""Webhook endpoints: register, change, rotate the secret, disable; secrets shown once."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from livehook import ids
from livehook.clock import Clock, system_clock
from livehook.crypto import SecretBox
from livehook.domain import catalog, profiles
from livehook.domain.accounts import Principal
from livehook.domain.addresses import UnsafeURLError, check_url
from livehook.domain.payloads import check_format
from livehook.domain.retry import RetryPolicy
from livehook.domain.webhooks import (
    MAX_PREVIOUS_SECRETS,
    MAX_TIMEOUT_SECONDS,
    MIN_TIMEOUT_SECONDS,
    HeaderError,
    Webhook,
    check_custom_headers,
    restore_redacted,
    rotation_overlap,
)
from livehook.services.errors import Conflict, InvalidRequest, NotFound
from livehook.services.idempotency import Idempotency, claim, record
from livehook.storage.database import Database, Transaction
from livehook.storage.repositories.webhooks import DuplicateWebhookError, WebhookRepository

# Checks a URL (rules + DNS) and returns it normalized; raises UnsafeURLError.
UrlGuard = Callable[[str], Awaitable[str]]


@dataclass(frozen=True, slots=True)
class WebhookDraft:
    url: str
    description: str = ""
    events: tuple[str, ...] = ()
    model: str | None = None
    payload_format: str = "full"
    # None: follow the wire profile (an older client may still name `standard-webhooks`).
    signature_scheme: str | None = None
    wire_profile: str | None = None  # None: the deployment's default
    retry_policy: str | list[int] | None = None  # None: the wire profile's
    timeout_seconds: int = 5
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class WithSecret:
    """A webhook with its new secret in clear: only create and rotate return one."""

    webhook: Webhook
    secret: str
    previous_secret_expires_at: datetime | None = None


class WebhookService:
    def __init__(
        self,
        db: Database,
        box: SecretBox,
        url_guard: UrlGuard,
        clock: Clock = system_clock,
        *,
        default_profile: str = profiles.DEFAULT_PROFILE,
        user_agent: str | None = None,
    ) -> None:
        """``default_profile`` is the deployment's wire profile for endpoints that name none;
        ``user_agent`` overrides every profile's agent (the worker reads it from here)."""
        self._db = db
        self._box = box
        self._guard = url_guard
        self._clock = clock
        self.default_profile = profiles.get(default_profile).name
        self.user_agent = user_agent

    def repository(self, tx: Transaction) -> WebhookRepository:
        return WebhookRepository(tx, self._decode_headers)

    def _decode_headers(self, stored: str | None) -> dict[str, str]:
        return json.loads(self._box.decrypt(stored)) if stored else {}

    def _encode_headers(self, headers: Mapping[str, str]) -> str | None:
        return self._box.encrypt(json.dumps(dict(headers))) if headers else None

    async def create(
        self,
        principal: Principal,
        draft: WebhookDraft,
        *,
        idempotency: Idempotency[WithSecret] | None = None,
    ) -> WithSecret:
        url = await self._checked_url(draft.url)
        return await self._create(principal, draft, url, idempotency)

    async def create_internal(self, principal: Principal, draft: WebhookDraft) -> WithSecret:
        """Create an endpoint whose URL livehook made itself (a `livehook listen` endpoint):
        the rules for customer URLs do not apply to it."""
        return await self._create(principal, draft, draft.url, None)

    async def _create(
        self,
        principal: Principal,
        draft: WebhookDraft,
        url: str,
        idempotency: Idempotency[WithSecret] | None,
    ) -> WithSecret:
        values = _validated(draft, self.default_profile)
        now = self._clock()
        secret = ids.new_signing_secret()
        webhook = Webhook(
            id=ids.new_id("wh"),
            account_id=principal.account_id,
            api_key_id=principal.key_id,
            url=url,
            description=draft.description,
            status="active",
            disabled_reason=None,
            disabled_at=None,
            failing_since=None,
            created_at=now,
            updated_at=now,
            **values,
        )
        try:
            async with self._db.transaction() as tx:
                if idempotency is not None:
                    await claim(tx, principal.account_id, idempotency, now)
                repo = self.repository(tx)
                existing = await repo.find_duplicate(principal.key_id, url, webhook.model)
                if existing:
                    raise _duplicate(existing)
                await repo.add(webhook, headers_encrypted=self._encode_headers(webhook.headers))
                await repo.add_secret(ids.new_id("whs"), webhook.id, self._box.encrypt(secret), now)
                created = WithSecret(webhook, secret)
                if idempotency is not None:
                    await record(tx, principal.account_id, idempotency, created)
        except DuplicateWebhookError:
            raise await self._raced_duplicate(principal.key_id, url, webhook.model) from None
        return created

    async def get(self, principal: Principal, webhook_id: str) -> Webhook:
        async with self._db.read() as tx:
            return await self._get(self.repository(tx), principal, webhook_id)

    @staticmethod
    async def _get(repo: WebhookRepository, principal: Principal, webhook_id: str) -> Webhook:
        webhook = await repo.get(webhook_id, account_id=principal.account_id)
        if webhook is None:
            raise NotFound(f"webhook {webhook_id} not found")
        return webhook

    async def list_page(
        self,
        principal: Principal,
        *,
        after: str | None = None,
        limit: int = 50,
        status: str | None = None,
    ) -> list[Webhook]:
        async with self._db.read() as tx:
            return await self.repository(tx).list_page(
                account_id=principal.account_id, after=after, limit=limit, status=status
            )

    async def update(
        self,
        principal: Principal,
        webhook_id: str,
        changes: Mapping[str, Any],
        *,
        idempotency: Idempotency[Webhook] | None = None,
    ) -> Webhook:
        """Apply the fields present in ``changes``; the URL is checked again if it changes."""
        url = await self._checked_url(changes["url"]) if "url" in changes else None
        now = self._clock()
        try:
            return await self._update(principal, webhook_id, changes, url, now, idempotency)
        except _RacedDuplicate as raced:
            raise await self._raced_duplicate(*raced.args) from None

    async def _update(
        self,
        principal: Principal,
        webhook_id: str,
        changes: Mapping[str, Any],
        url: str | None,
        now: datetime,
        idempotency: Idempotency[Webhook] | None,
    ) -> Webhook:
        async with self._db.transaction() as tx:
            if idempotency is not None:
                await claim(tx, principal.account_id, idempotency, now)
            repo = self.repository(tx)
            current = await self._get(repo, principal, webhook_id)
            merged = _merge(current, changes, url)
            values = _validated(merged, current.wire_profile)
            if (merged.url, values["model"]) != (current.url, current.model):
                existing = await repo.find_duplicate(
                    current.api_key_id, merged.url, values["model"]
                )
                if existing and existing != webhook_id:
                    raise _duplicate(existing)
            columns: dict[str, Any] = {
                "url": merged.url,
                "description": merged.description,
                "events": list(values["events"]),
                "model": values["model"] or "",
                "payload_format": values["payload_format"],
                "signature_scheme": values["signature_scheme"],
                "wire_profile": values["wire_profile"],
                "retry_policy": values["retry_policy"],
                "timeout_seconds": values["timeout_seconds"],
                "headers": self._encode_headers(values["headers"]),
                "updated_at": now,
                **_status_columns(current, changes, now),
            }
            try:
                await repo.update(webhook_id, columns)
            except DuplicateWebhookError:
                raise _RacedDuplicate(current.api_key_id, merged.url, values["model"]) from None
            updated = await repo.get(webhook_id, account_id=principal.account_id)
            assert updated is not None
            if idempotency is not None:
                await record(tx, principal.account_id, idempotency, updated)
        return updated

    async def delete(
        self,
        principal: Principal,
        webhook_id: str,
        *,
        idempotency: Idempotency[None] | None = None,
    ) -> None:
        async with self._db.transaction() as tx:
            if idempotency is not None:
                await claim(tx, principal.account_id, idempotency, self._clock())
            if not await self.repository(tx).delete(webhook_id, account_id=principal.account_id):
                raise NotFound(f"webhook {webhook_id} not found")
            if idempotency is not None:
                await record(tx, principal.account_id, idempotency, None)

    async def rotate_secret(
        self,
        principal: Principal,
        webhook_id: str,
        overlap_seconds: int | None = None,
        *,
        idempotency: Idempotency[WithSecret] | None = None,
    ) -> WithSecret:
        """A new secret; the current one keeps signing beside it for the overlap."""
        try:
            overlap = rotation_overlap(overlap_seconds)
        except ValueError as exc:
            raise InvalidRequest(str(exc), field="overlap_seconds") from None
        now = self._clock()
        secret = ids.new_signing_secret()
        async with self._db.transaction() as tx:
            if idempotency is not None:
                await claim(tx, principal.account_id, idempotency, now)
            repo = self.repository(tx)
            webhook = await self._get(repo, principal, webhook_id)
            await repo.delete_expired_secrets(webhook_id, now)
            live = await repo.secrets(webhook_id, now=now)
            ends = now + overlap
            # The newest live secrets stay (up to the cap); older ones stop signing now.
            keep, drop = live[:MAX_PREVIOUS_SECRETS], live[MAX_PREVIOUS_SECRETS:]
            await repo.expire_secrets([s.id for s in keep if s.expires_at is None], ends)
            await repo.expire_secrets([s.id for s in drop], now)
            await repo.add_secret(ids.new_id("whs"), webhook_id, self._box.encrypt(secret), now)
            rotated = WithSecret(webhook, secret, ends if overlap else None)
            if idempotency is not None:
                await record(tx, principal.account_id, idempotency, rotated)
        return rotated

    async def signing_secrets(self, tx: Transaction, webhook_id: str, now: datetime) -> list[str]:
        """The secrets that sign a delivery now, newest first (decrypted)."""
        stored = await self.repository(tx).secrets(webhook_id, now=now)
        return [self._box.decrypt(s.secret) for s in stored]

    async def _raced_duplicate(self, api_key_id: str, url: str, model: str | None) -> Conflict:
        """The 409 when the unique constraint, not the check before it, caught the duplicate.

        Looked up in a new transaction: the failed one is aborted (PostgreSQL).
        """
        async with self._db.read() as tx:
            existing = await self.repository(tx).find_duplicate(api_key_id, url, model)
        return _duplicate(existing)

    async def _checked_url(self, url: str) -> str:
        try:
            return await self._guard(url)
        except UnsafeURLError as exc:
            raise InvalidRequest(str(exc) + _local_hint(url, exc), field="url") from None


def _local_hint(url: str, refusal: UnsafeURLError) -> str:
    """How to reach a URL refused only for being local (http, loopback, a private address)."""
    if "cloud metadata" in refusal.reason:  # refused even for local development
        return ""
    try:
        check_url(url, allow_local=True)
    except UnsafeURLError:
        return ""
    return (
        "; for local development, set LIVEHOOK_ALLOW_LOCAL_URLS=true on the livehook server, "
        "or forward deliveries with `livehook listen --forward-to URL` (no webhook needed)"
    )


class _RacedDuplicate(Exception):
    """Carries (api_key_id, url, model) out of the aborted transaction of an update."""


def _duplicate(existing_id: str | None) -> Conflict:
    if existing_id is None:  # registered and deleted again while we looked
        return Conflict("a webhook for this API key, URL and model changed meanwhile; try again")
    return Conflict(
        f"a webhook for this API key, URL and model already exists: {existing_id}",
        existing_id=existing_id,
    )


def _merge(current: Webhook, changes: Mapping[str, Any], url: str | None) -> WebhookDraft:
    def pick(name: str) -> Any:
        return changes[name] if name in changes else getattr(current, name)

    try:
        headers = restore_redacted(pick("headers"), current.headers)
    except HeaderError as exc:
        raise InvalidRequest(str(exc), field="headers") from None

    return WebhookDraft(
        url=url or current.url,
        description=pick("description"),
        events=tuple(pick("events")),
        model=pick("model"),
        payload_format=pick("payload_format"),
        # Absent: follow the profile (a change of profile brings its scheme along).
        signature_scheme=changes.get("signature_scheme"),
        wire_profile=changes.get("wire_profile"),
        retry_policy=pick("retry_policy"),
        timeout_seconds=pick("timeout_seconds"),
        headers=headers,
    )


def _status_columns(current: Webhook, changes: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    status = changes.get("status")
    if status is None or status == current.status:
        return {}
    if status == "active":
        # Re-enabling starts a clean slate for the failure clock.
        return {
            "status": "active",
            "disabled_reason": None,
            "disabled_at": None,
            "failing_since": None,
        }
    if status == "disabled":
        reason = changes.get("disabled_reason") or "disabled by the account"
        return {"status": "disabled", "disabled_reason": reason, "disabled_at": now}
    raise InvalidRequest("status must be `active` or `disabled`", field="status")


def _profile(draft: WebhookDraft, fallback: str) -> profiles.WireProfile:
    try:
        return profiles.resolve(draft.wire_profile, draft.signature_scheme, fallback)
    except ValueError as exc:
        field = "wire_profile" if draft.wire_profile is not None else "signature_scheme"
        raise InvalidRequest(str(exc), field=field) from None


def _validated(draft: WebhookDraft, fallback_profile: str) -> dict[str, Any]:
    """The draft's fields checked against the catalogs and bounds; InvalidRequest names a field.

    ``fallback_profile``: the deployment's default on create, the endpoint's own on update."""
    profile = _profile(draft, fallback_profile)
    try:
        events = catalog.check_event_types(draft.events)
    except ValueError as exc:
        raise InvalidRequest(str(exc), field="events") from None
    unsent = [name for name in events if not profile.carries(name)]
    if unsent:
        raise InvalidRequest(
            f"the {profile.name} wire profile does not send {', '.join(unsent)}",
            field="events",
        )
    if draft.model is not None:
        try:
            catalog.check_model(draft.model)
        except ValueError as exc:
            raise InvalidRequest(str(exc), field="model") from None
    try:
        check_format(draft.payload_format, "payload_format")
    except ValueError as exc:
        raise InvalidRequest(str(exc), field="payload_format") from None
    if draft.payload_format not in profile.payload_formats:
        raise InvalidRequest(profiles.fixed_shape_message(profile), field="payload_format")
    try:
        policy = RetryPolicy.parse(
            profile.retry_policy if draft.retry_policy is None else draft.retry_policy
        )
    except ValueError as exc:
        raise InvalidRequest(str(exc), field="retry_policy") from None
    if not MIN_TIMEOUT_SECONDS <= draft.timeout_seconds <= MAX_TIMEOUT_SECONDS:
        raise InvalidRequest(
            f"timeout_seconds must be between {MIN_TIMEOUT_SECONDS} and {MAX_TIMEOUT_SECONDS}",
            field="timeout_seconds",
        )
    try:
        headers = check_custom_headers(draft.headers)
    except HeaderError as exc:
        raise InvalidRequest(str(exc), field="headers") from None
    return {
        "events": events,
        "model": draft.model,
        "payload_format": draft.payload_format,
        "signature_scheme": profile.signature,
        "wire_profile": profile.name,
        "retry_policy": policy.to_json(),
        "timeout_seconds": draft.timeout_seconds,
        "headers": headers,
    }
