"""The first start's sign-in link, printed beside the first API key."""

from __future__ import annotations

from rich.console import Console

from livehook.domain.portal import CAPABILITIES, DEFAULT_LINK_TTL, LINK_PATH
from livehook.services.registry import Services


async def print_sign_in_link(
    console: Console, services: Services, account_id: str, base_url: str
) -> None:
    """A one-time link with every capability, for the person at the terminal only: output
    that goes to a file or a log collector gets none (the token would outlive the screen)."""
    if not console.is_terminal:
        return
    link = await services.portal.mint_link_for(account_id, CAPABILITIES, DEFAULT_LINK_TTL)
    minutes = int(DEFAULT_LINK_TTL.total_seconds() // 60)
    console.print(
        # Unstyled and unwrapped: one contiguous URL that terminals recognise and copy whole.
        f"Developer portal: open {base_url}{LINK_PATH}?token={link.token}\n"
        f"(works once, for {minutes} minutes; then sign in as a user made with "
        "`livehook users create`)",
        soft_wrap=True,
        highlight=False,
    )
