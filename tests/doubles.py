"""Test doubles. They live here only, never in the product's code paths."""

import asyncio
from collections.abc import AsyncIterator

from apps.dialogue.replies import ReplyMeta, TurnInput


class SlowReplier:
    """Streams ten chunks 50 ms apart: slow enough to drop a socket halfway through."""

    meta = ReplyMeta(
        route="test", reason="slow test replier", sources=({"title": "T", "url": "/t"},)
    )

    async def stream(self, turn: TurnInput) -> AsyncIterator[str]:
        for index in range(10):
            await asyncio.sleep(0.05)
            yield f"part{index} "
