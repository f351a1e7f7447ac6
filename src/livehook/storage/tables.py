"""The schema, declared once: migrations are checked against it by a test."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from livehook.storage.types import JSONType, UTCDateTime

# A partial index's predicate, the same on both databases. Kept in the index's `info` rather
# than as `postgresql_where=`: naming a PostgreSQL option loads that dialect (about 35 ms of CPU)
# in every command on SQLite. Alembic compares no predicate; tests/integration/test_schema.py
# checks the migrated indexes against these.
PARTIAL = "where"

# Stable constraint names, so migrations can refer to them on both databases.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

ID = String(40)  # prefixed sortable ids: "<prefix>_" + 26 chars

accounts = Table(
    "accounts",
    metadata,
    Column("id", ID, primary_key=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("created_at", UTCDateTime(), nullable=False),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", ID, primary_key=True),
    Column("account_id", ID, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(100), nullable=False),
    # SHA-256 hex of the key: keys are 256-bit random, so a fast hash cannot be brute-forced.
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("key_prefix", String(16), nullable=False),
    Column("scopes", JSONType, nullable=False),
    # Signs deliveries to per-session callback URLs; encrypted with LIVEHOOK_SECRET_KEY.
    Column("callback_secret", Text, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("revoked_at", UTCDateTime(), nullable=True),
    # A rotated-out callback secret signs beside the current one until it expires.
    Column("previous_callback_secret", Text, nullable=True),
    Column("previous_callback_secret_expires_at", UTCDateTime(), nullable=True),
    Index(None, "account_id"),
)

webhooks = Table(
    "webhooks",
    metadata,
    Column("id", ID, primary_key=True),
    Column("account_id", ID, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("api_key_id", ID, ForeignKey("api_keys.id", ondelete="CASCADE"), nullable=False),
    Column("url", Text, nullable=False),
    Column("description", Text, nullable=False, server_default=""),
    Column("events", JSONType, nullable=False),
    # "" means every model: NULL would not take part in the uniqueness constraint below.
    Column("model", String(32), nullable=False, server_default=""),
    Column("payload_format", String(8), nullable=False),
    Column("signature_scheme", String(32), nullable=False),
    Column("retry_policy", JSONType, nullable=False),
    Column("timeout_seconds", Integer, nullable=False),
    # Custom headers as encrypted JSON: they often carry credentials.
    Column("headers", Text, nullable=True),
    Column("status", String(16), nullable=False),
    Column("disabled_reason", Text, nullable=True),
    Column("disabled_at", UTCDateTime(), nullable=True),
    # First failure of the current unbroken run of failures; cleared by any success.
    Column("failing_since", UTCDateTime(), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    # How its deliveries look on the wire (domain/profiles.py).
    Column("wire_profile", String(32), nullable=False, server_default="livehook"),
    UniqueConstraint("api_key_id", "url", "model"),
    Index(None, "account_id", "id"),
)

webhook_secrets = Table(
    "webhook_secrets",
    metadata,
    Column("id", ID, primary_key=True),
    Column("webhook_id", ID, ForeignKey("webhooks.id", ondelete="CASCADE"), nullable=False),
    Column("secret", Text, nullable=False),  # encrypted
    Column("created_at", UTCDateTime(), nullable=False),
    # NULL for the current secret; a rotated-out secret signs beside it until this time.
    Column("expires_at", UTCDateTime(), nullable=True),
    Index(None, "webhook_id"),
)

sessions = Table(
    "sessions",
    metadata,
    Column("id", String(36), primary_key=True),  # UUID
    Column("account_id", ID, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("api_key_id", ID, ForeignKey("api_keys.id", ondelete="CASCADE"), nullable=False),
    Column("model", String(32), nullable=False),
    Column("external_id", String(255), nullable=True),
    Column("external_tracker", String(255), nullable=True),
    Column("tenant_metadata", JSONType, nullable=True),
    Column("callback_url", Text, nullable=True),
    Column("callback_format", String(8), nullable=False, server_default="full"),
    Column("stage", String(40), nullable=False),
    Column("status", String(20), nullable=False),
    Column("trust_score", Float, nullable=True),
    Column("result", JSONType, nullable=True),
    Column("error", JSONType, nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("ended_at", UTCDateTime(), nullable=True),
    Column("callback_profile", String(32), nullable=False, server_default="livehook"),
    # NULL: the callback profile's default policy.
    Column("callback_retry_policy", JSONType, nullable=True),
    Index(None, "account_id", "created_at"),
    Index(None, "account_id", "external_id"),
)

events = Table(
    "events",
    metadata,
    Column("id", ID, primary_key=True),
    Column("account_id", ID, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("session_id", String(36), ForeignKey("sessions.id", ondelete="CASCADE"), nullable=True),
    Column("type", String(40), nullable=False),
    Column("data", JSONType, nullable=False),
    Column("is_test", Boolean, nullable=False, server_default=text("false")),
    Column("created_at", UTCDateTime(), nullable=False),
    # Copied from the session so the funnel query reads one covering index, no join.
    Column("model", String(32), nullable=True),
    Column("external_tracker", String(255), nullable=True),
    Column("session_created_at", UTCDateTime(), nullable=True),
    # W3C `traceparent`/`tracestate` of the request that created the event (JSON), when traced:
    # each delivery attempt's span links to it.
    Column("trace_context", String(512), nullable=True),
    Index(None, "account_id", "created_at"),
    Index(None, "session_id", "created_at"),
    # Covers the funnel query with or without its filters: an index-only range scan, no join.
    Index(
        "ix_events_funnel",
        "account_id",
        "session_created_at",
        "type",
        "model",
        "external_tracker",
    ),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", ID, primary_key=True),
    Column("account_id", ID, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("event_id", ID, ForeignKey("events.id", ondelete="CASCADE"), nullable=False),
    # NULL for a delivery to a session's callback_url.
    Column("webhook_id", ID, ForeignKey("webhooks.id", ondelete="CASCADE"), nullable=True),
    Column("api_key_id", ID, ForeignKey("api_keys.id", ondelete="CASCADE"), nullable=False),
    Column("session_id", String(36), nullable=True),
    Column("target_url", Text, nullable=False),
    Column("event_type", String(40), nullable=False),
    Column("model", String(32), nullable=True),
    Column("payload_format", String(8), nullable=False),
    Column("signature_scheme", String(32), nullable=False),
    Column("is_test", Boolean, nullable=False, server_default=text("false")),
    # pending -> succeeded | failed. A claimed row stays pending and holds a lease: its token
    # guards every write for it until lease_expires_at. The claim also moves next_attempt_at to
    # the lease's end, so claims keep reading only due rows and a dead worker's row comes due
    # again by itself.
    Column("status", String(16), nullable=False),
    Column("attempt_count", Integer, nullable=False, server_default=text("0")),
    Column("next_attempt_at", UTCDateTime(), nullable=True),
    Column("lease_token", String(32), nullable=True),
    Column("lease_expires_at", UTCDateTime(), nullable=True),
    # The exact bytes signed and sent (delivery_bodies, below); NULL once pruned by retention.
    Column("body_id", String(64), nullable=True),
    Column("payload_pruned_at", UTCDateTime(), nullable=True),
    Column("last_status_code", Integer, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("completed_at", UTCDateTime(), nullable=True),
    # Fixed when the body is built: headers of every attempt follow the body's profile.
    Column("wire_profile", String(32), nullable=False, server_default="livehook"),
    # The claim reads only due pending rows: its cost follows the batch, not the backlog.
    Index("ix_deliveries_due", "next_attempt_at", info={PARTIAL: "status = 'pending'"}),
    Index(None, "webhook_id", "id"),
    Index(None, "account_id", "id"),
    Index(None, "event_id"),
    Index(None, "created_at"),
    # A session's delivery log (its webhooks' and its callback's).
    Index(None, "session_id", "id"),
    # Retention drops a body once no delivery refers to it.
    Index(None, "body_id"),
    # Retention walks only payloads not yet pruned: its cost follows what is left to prune.
    Index("ix_deliveries_unpruned", "created_at", info={PARTIAL: "payload_pruned_at IS NULL"}),
)

# The exact bytes deliveries sign and send (UTF-8 JSON), stored once however many deliveries
# carry them: a fan-out of one event in one profile and format to 100 endpoints writes its body
# once. Keyed by the body's SHA-256 (hex), so equal bytes are one row and different bytes never
# share one. Retention deletes a body once no delivery refers to it.
delivery_bodies = Table(
    "delivery_bodies",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("body", Text, nullable=False),
)

attempts = Table(
    "attempts",
    metadata,
    Column("id", ID, primary_key=True),
    Column("delivery_id", ID, ForeignKey("deliveries.id", ondelete="CASCADE"), nullable=False),
    Column("number", Integer, nullable=False),
    Column("started_at", UTCDateTime(), nullable=False),
    Column("duration_ms", Float, nullable=False),
    Column("request_headers", JSONType, nullable=False),
    Column("response_status", Integer, nullable=True),
    Column("response_headers", JSONType, nullable=True),
    Column("response_body", Text, nullable=True),  # first 4 KiB
    Column("error", Text, nullable=True),
    Column("next_attempt_at", UTCDateTime(), nullable=True),
    Index(None, "delivery_id", "number"),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("account_id", ID, ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("request_fingerprint", String(64), nullable=False),
    Column("status_code", Integer, nullable=False),
    Column("response_body", Text, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Index(None, "created_at"),
)

# --- the developer portal -------------------------------------------------------------------

portal_users = Table(
    "portal_users",
    metadata,
    Column("id", ID, primary_key=True),
    Column("account_id", ID, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("email", String(254), nullable=False, unique=True),  # lower-cased
    Column("password_hash", Text, nullable=False),  # argon2id, salt and parameters inside
    Column("created_at", UTCDateTime(), nullable=False),
    Column("last_sign_in_at", UTCDateTime(), nullable=True),
    Index(None, "account_id"),
)

# Single-use sign-in links minted by the API; only the token's SHA-256 is kept.
portal_links = Table(
    "portal_links",
    metadata,
    Column("id", ID, primary_key=True),
    Column("account_id", ID, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("capabilities", JSONType, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("used_at", UTCDateTime(), nullable=True),
)

# A signed-in browser; the cookie carries the token, the table its SHA-256.
portal_sessions = Table(
    "portal_sessions",
    metadata,
    Column("id", ID, primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("account_id", ID, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", ID, ForeignKey("portal_users.id", ondelete="CASCADE"), nullable=True),
    Column("capabilities", JSONType, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Index(None, "expires_at"),
)
