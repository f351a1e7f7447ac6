"""The set of use cases a composition root hands to the API, the portal, the MCP server and
the CLI.

Each use case is built, and its module imported, the first time it is asked for: `livehook keys
list` loads the key service alone, not the fan-out, the delivery log's SQL or argon2.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING

from livehook.crypto import SecretBox
from livehook.storage.database import Database
from livehook.storage.wakeup import Wakeup

if TYPE_CHECKING:
    from livehook.services.deliveries import DeliveryService
    from livehook.services.keys import KeyService
    from livehook.services.listening import ListenService
    from livehook.services.portal import PortalService
    from livehook.services.sessions import SessionService
    from livehook.services.stats import StatsService
    from livehook.services.webhooks import UrlGuard, WebhookService


class Services:
    def __init__(
        self,
        db: Database,
        box: SecretBox,
        *,
        url_guard: UrlGuard,
        wakeup: Wakeup,
        default_profile: str,
        user_agent: str | None,
        retention: timedelta,
        allow_local_urls: bool = False,
    ) -> None:
        self.db = db
        self.box = box
        # Set after a commit that queued deliveries: wakes the in-process worker.
        self.wakeup = wakeup
        self.allow_local_urls = allow_local_urls
        self._url_guard = url_guard
        self._default_profile = default_profile
        self._user_agent = user_agent
        self._retention = retention

    def build_all(self) -> None:
        """Build every use case now: a server pays for the imports at start, not on a request."""
        for name in ("keys", "webhooks", "sessions", "stats", "deliveries", "portal", "listening"):
            getattr(self, name)

    @property
    def _on_enqueued(self) -> Callable[[], None]:
        return self.wakeup.set

    @cached_property
    def keys(self) -> KeyService:
        from livehook.services.keys import KeyService

        return KeyService(self.db, self.box)

    @cached_property
    def webhooks(self) -> WebhookService:
        from livehook.services.webhooks import WebhookService

        return WebhookService(
            self.db,
            self.box,
            self._url_guard,
            default_profile=self._default_profile,
            user_agent=self._user_agent,
        )

    @cached_property
    def sessions(self) -> SessionService:
        from livehook.services.sessions import SessionService

        return SessionService(
            self.db,
            self._url_guard,
            on_enqueued=self._on_enqueued,
            default_profile=self._default_profile,
        )

    @cached_property
    def stats(self) -> StatsService:
        from livehook.services.stats import StatsService

        return StatsService(self.db)

    @cached_property
    def deliveries(self) -> DeliveryService:
        from livehook.services.deliveries import DeliveryService

        return DeliveryService(
            self.db, self.webhooks, on_enqueued=self._on_enqueued, retention=self._retention
        )

    @cached_property
    def portal(self) -> PortalService:
        from livehook.services.portal import PortalService

        return PortalService(self.db)

    @cached_property
    def listening(self) -> ListenService:
        """`livehook listen` endpoints."""
        from livehook.services.listening import ListenService

        return ListenService(self.db, self.webhooks, on_enqueued=self._on_enqueued)
