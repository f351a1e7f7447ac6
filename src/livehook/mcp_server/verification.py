"""The two tools an agent verifies a human with: start a session, then learn how it ended."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import MCPServer
from mcp.types import ToolAnnotations
from pydantic import Field

from livehook.api.schemas.sessions import SessionCreate
from livehook.api.schemas.webhooks import WireProfileName
from livehook.domain import catalog
from livehook.domain.addresses import MAX_URL_LENGTH
from livehook.domain.scopes import SESSIONS_READ, SESSIONS_WRITE
from livehook.domain.sessions import MAX_LABEL_CHARS
from livehook.mcp_server.access import Caller, ToolContext
from livehook.mcp_server.shapes import VerificationStarted, VerificationStatus
from livehook.services.registry import Services
from livehook.services.sessions import SessionDraft

VERIFY_DESCRIPTION = """\
Verify that a real human is present: starts a liveness verification session and returns its \
`session_id` (and, when this deployment has a verification page, the `verification_url` to hand \
to the human, who completes the check there).

Learn the outcome one of two ways:
- Preferred: pass `callback_url`. livehook POSTs the signed outcome there \
(`verification.completed` with the verdict, or `verification.failed`), signed with your API key's \
callback secret; verify it before trusting it (`livehook.receiver.verify`).
- Otherwise: call `check_verification_status` every 1-2 seconds until `ended` is true.

The verdict is in `result.verdict`: `live` (a real human) or `fake`. Needs the `sessions:write` \
scope."""

STATUS_DESCRIPTION = """\
The current state of a verification session started by `verify_human_presence`: its status, the \
stages reached with their times, the verdict (`result`) or the error, and `ended`. Poll every 1-2 \
seconds until `ended` is true (or wait for the callback). `status` is `completed` with \
`result.verdict` `live` or `fake`, `failed` with an `error`, or `cancelled` when the person gave \
up. Needs the `sessions:read` scope."""

Model = Annotated[
    str,
    Field(
        max_length=32,
        description=f"The detection model: {', '.join(catalog.MODELS)} "
        f"({catalog.RECOMMENDED_MODEL} is recommended).",
    ),
]
Label = Annotated[str | None, Field(min_length=1, max_length=MAX_LABEL_CHARS)]


def _next_step(verification_url: str | None, callback_url: str | None) -> str:
    hand = f"Give the human this link: {verification_url}. " if verification_url else ""
    if callback_url:
        return hand + "The signed outcome will be POSTed to callback_url."
    return hand + "Call check_verification_status every 1-2 seconds until `ended` is true."


def register(
    server: MCPServer[Any], services: Services, caller: Caller, verification_url: str | None
) -> None:
    @server.tool(
        description=VERIFY_DESCRIPTION,
        annotations=ToolAnnotations(title="Verify human presence", open_world_hint=True),
    )
    async def verify_human_presence(
        ctx: ToolContext,
        model: Model = catalog.RECOMMENDED_MODEL,
        external_id: Annotated[
            Label, Field(description="Your id for this verification (e.g. your user id).")
        ] = None,
        external_tracker: Annotated[
            Label, Field(description="A non-PII label to group sessions (e.g. a campaign).")
        ] = None,
        tenant_metadata: Annotated[
            dict[str, Any] | None,
            Field(description="Any small JSON object; echoed back with the verdict."),
        ] = None,
        callback_url: Annotated[
            str | None,
            Field(
                max_length=MAX_URL_LENGTH,
                description="HTTPS URL that receives the signed outcome. Preferred to polling.",
            ),
        ] = None,
        callback_profile: Annotated[
            WireProfileName | None,
            Field(
                description="How the callback looks on the wire (body, headers, signature): "
                "livehook, moveris, verifeye, verifyyou or standard-webhooks. Default: the "
                "deployment's."
            ),
        ] = None,
    ) -> VerificationStarted:
        async with caller(ctx, SESSIONS_WRITE) as principal:
            # The API's own request model: the same rules (known model, bounded metadata).
            body = SessionCreate(
                model=model,
                external_id=external_id,
                external_tracker=external_tracker,
                tenant_metadata=tenant_metadata,
                callback_url=callback_url,
                callback_profile=callback_profile,
            )
            view = await services.sessions.create(principal, SessionDraft(**body.draft_fields()))
        session = view.session
        link = verification_url.replace("{session_id}", session.id) if verification_url else None
        return VerificationStarted(
            session_id=session.id,
            status=session.status,
            model=session.model,
            verification_url=link,
            callback_url=session.callback_url,
            created_at=session.created_at,
            next_step=_next_step(link, session.callback_url),
        )

    @server.tool(
        description=STATUS_DESCRIPTION,
        annotations=ToolAnnotations(title="Check verification status", read_only_hint=True),
    )
    async def check_verification_status(
        ctx: ToolContext,
        session_id: Annotated[
            str, Field(max_length=64, description="The `session_id` verify_human_presence gave.")
        ],
    ) -> VerificationStatus:
        async with caller(ctx, SESSIONS_READ) as principal:
            view = await services.sessions.get(principal, session_id)
        return VerificationStatus.of(view)
