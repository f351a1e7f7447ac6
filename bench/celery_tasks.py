"""The Celery peer's task module: what a competent Python team would write instead of livehook.

    celery -A bench.celery_tasks worker --pool=prefork --concurrency=<cores> -Q livehook-bench

Redis is the broker and there is no result backend (the receiver counts arrivals). The task
signs the body like livehook (hmac-sha256 of the raw body) and POSTs it with a ``requests``
session kept per worker process, so connections are reused; failures retry with backoff.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import time

import requests
from celery import Celery  # type: ignore[import-untyped]  # celery ships no type hints

BROKER_ENV = "BENCH_CELERY_BROKER"
# Database 15 keeps the bench's queue away from anything else using the local Redis.
DEFAULT_BROKER = "redis://127.0.0.1:6379/15"
QUEUE = "livehook-bench"
SEND_TIMEOUT_SECONDS = 5.0

app = Celery("livehook_bench", broker=os.environ.get(BROKER_ENV, DEFAULT_BROKER))
app.conf.update(
    task_default_queue=QUEUE,
    task_ignore_result=True,
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
)

# Created at import, before the prefork pool forks; each child then opens its own connections.
_session = requests.Session()


@app.task(  # type: ignore[untyped-decorator]  # celery ships no type hints
    autoretry_for=(requests.RequestException,),
    retry_backoff=5,
    retry_jitter=True,
    max_retries=7,
)
def deliver(url: str, body_text: str, secret: str, event_id: str, event_type: str) -> None:
    """Sign ``body_text`` and POST it; a non-2xx answer or a network error is retried."""
    body = body_text.encode()
    signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Livehook-Webhook/1.0",
        "X-Webhook-Event": event_type,
        "X-Webhook-Id": event_id,
        "X-Webhook-Timestamp": str(int(time.time())),
        "X-Webhook-Signature": f"sha256={signature}",
    }
    response = _session.post(
        url, data=body, headers=headers, timeout=SEND_TIMEOUT_SECONDS, allow_redirects=False
    )
    response.raise_for_status()
