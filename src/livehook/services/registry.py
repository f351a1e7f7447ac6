"""The set of use cases a composition root hands to the API, the portal, the MCP server and
the CLI."""

from __future__ import annotations

from dataclasses import dataclass

from livehook.crypto import SecretBox
from livehook.services.deliveries import DeliveryService
from livehook.services.keys import KeyService
from livehook.services.listening import ListenService
from livehook.services.portal import PortalService
from livehook.services.sessions import SessionService
from livehook.services.stats import StatsService
from livehook.services.webhooks import WebhookService
from livehook.storage.database import Database
from livehook.storage.notify import Wakeup


@dataclass(slots=True)
class Services:
    db: Database
    box: SecretBox
    keys: KeyService
    webhooks: WebhookService
    sessions: SessionService
    stats: StatsService
    deliveries: DeliveryService
    portal: PortalService
    listening: ListenService  # `livehook listen` endpoints
    wakeup: Wakeup  # set after a commit that queued deliveries: wakes the in-process worker
    allow_local_urls: bool = False
