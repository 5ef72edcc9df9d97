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


class CapturingReplier:
    """Records what the generator is given (the LLM request) and answers plainly."""

    seen: list[str] = []
    meta = ReplyMeta(route="test", reason="capturing test replier")

    async def stream(self, turn: TurnInput) -> AsyncIterator[str]:
        CapturingReplier.seen.append(turn.text)
        yield "Noted. "
        yield "We will look into it."


class LeakingReplier:
    """A generator gone wrong: it streams another customer's phone number."""

    meta = ReplyMeta(route="test", reason="leaking test replier")

    async def stream(self, turn: TurnInput) -> AsyncIterator[str]:
        for word in [
            "Sure,",
            "the",
            "other",
            "customer",
            "can",
            "be",
            "reached",
            "on",
            "+44",
            "20",
            "7946",
            "0958",
            "any",
            "day",
        ]:
            yield word + " "


class FailingReplier:
    """Fails as a generator or a store can (a dropped connection) the first ``failures`` times
    it is asked, then answers. Set ``FailingReplier.failures`` and ``calls`` in the test."""

    failures = 1
    calls = 0
    meta = ReplyMeta(route="test", reason="failing test replier")

    async def stream(self, turn: TurnInput) -> AsyncIterator[str]:
        FailingReplier.calls += 1
        if FailingReplier.calls <= FailingReplier.failures:
            raise ConnectionError("the replier's backend went away")
        yield "Answered "
        yield "after a retry."
