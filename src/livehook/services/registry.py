"""The set of use cases a composition root hands to the API, the portal and the CLI."""

from __future__ import annotations

from dataclasses import dataclass

from livehook.crypto import SecretBox
from livehook.services.keys import KeyService
from livehook.services.webhooks import WebhookService
from livehook.storage.db import Database


@dataclass(slots=True)
class Services:
    db: Database
    box: SecretBox
    keys: KeyService
    webhooks: WebhookService
    allow_local_urls: bool = False
