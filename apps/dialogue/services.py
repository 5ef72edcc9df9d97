"""One bot turn: stream the reply to the conversation's group, store it, and trace it.

A turn runs as its own task, not inside the customer's socket: when the socket drops halfway
through a streamed reply, the reply is still finished and stored, and the customer gets it with
``sync`` after reconnecting.
"""

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils.module_loading import import_string

from apps.chat import events
from apps.chat.models import Conversation, Message
from apps.chat.services import conversation_handoff, message_create
from apps.core.db import db_async
from apps.dialogue.models import TurnTrace
from apps.dialogue.replies import (
    BLOCKED_REPLY,
    HANDOFF_NOTICE,
    REFUSAL,
    Replier,
    ReplyMeta,
    StaticReplier,
    TurnInput,
)
from apps.safety import services as safety

logger = logging.getLogger(__name__)

TRACE_VERSION = 1
_running: set[asyncio.Task[Message]] = set()


def replier_get() -> Replier:
    replier: Replier = import_string(settings.DIALOGUE_REPLIER)()
    return replier


@dataclass(frozen=True)
class _TurnSafety:
    """What the safety layer decided before the bot answers, and the guard for its answer."""

    injection: dict[str, Any]
    action: str  # "answer", "refuse" or "handoff"
    guard: Any
    customer_keys: frozenset[str]
    inbound: dict[str, int]


def _turn_safety(turn: TurnInput, customer_message_id: int) -> _TurnSafety:
    conversation = Conversation.objects.select_related("workspace").get(id=turn.conversation_id)
    policy = safety.policy_get(workspace=conversation.workspace)
    verdict = safety.injection_check(text=turn.text)
    action = "answer"
    if verdict.is_injection and policy.injection_action != "flag":
        action = policy.injection_action
    if action == "handoff":
        conversation_handoff(conversation_id=conversation.id, reason="prompt_injection")
    inbound = Message.objects.values_list("pii_found", flat=True).get(id=customer_message_id)
    return _TurnSafety(
        injection={
            "flagged": verdict.is_injection,
            "score": verdict.score,
            "rules": list(verdict.rules),
            "policy": policy.injection_action,
        },
        action=action,
        guard=safety.output_guard_for(workspace=conversation.workspace),
        customer_keys=frozenset(conversation.pii_placeholders),
        inbound=inbound or {},
    )


def _replier_for(checks: _TurnSafety) -> Replier:
    if checks.action == "refuse":
        return StaticReplier(
            REFUSAL,
            ReplyMeta(route="refuse", reason=f"prompt injection suspected: {checks.injection}"),
        )
    if checks.action == "handoff":
        return StaticReplier(
            HANDOFF_NOTICE,
            ReplyMeta(route="handoff", reason=f"prompt injection suspected: {checks.injection}"),
        )
    return replier_get()


class _GuardedText:
    """Releases a streamed reply only after the output guard has seen it.

    Text is held back until it is followed by enough other text (a card number or an address is
    never cut in half), and nothing ending in a digit or an "@" is released early. When the
    guard blocks, nothing more goes out and the reply is replaced.
    """

    HOLD = 32
    CHECK_EVERY = 48
    # Tokens before a cut that must be free of digits and "@" (an address or a phone number is
    # several tokens long).
    CLEAN_TOKENS = 3

    def __init__(self, guard: Any, customer_keys: frozenset[str]):
        self.guard = guard
        self.customer_keys = customer_keys
        self.text = ""
        self.released = 0
        self.checked = 0
        self.reasons: tuple[str, ...] = ()

    def _cut(self) -> int:
        cut = self.text.rfind(" ", 0, max(0, len(self.text) - self.HOLD))
        while cut > 0:
            tokens = self.text[:cut].split(" ")[-self.CLEAN_TOKENS :]
            if not any(c.isdigit() or c == "@" for token in tokens for c in token):
                return cut
            cut = self.text.rfind(" ", 0, cut)
        return 0

    def _check(self, end: int) -> bool:
        start = max(0, self.checked - self.HOLD)
        verdict = self.guard.check(self.text[start:end], customer_keys=self.customer_keys)
        self.checked = end
        if verdict.blocked:
            self.reasons = verdict.reasons
        return not verdict.blocked

    async def feed(self, chunk: str) -> str:
        self.text += chunk
        cut = self._cut()
        if cut - self.released < self.CHECK_EVERY or self.reasons:
            return ""
        # A regex-only check of a short window (about a millisecond): cheaper inline than a
        # hop to a thread that would compete for the GIL with the database calls.
        if not self._check(cut):
            return ""
        released, self.released = self.text[self.released : cut], cut
        return released

    async def finish(self) -> str:
        if self.reasons or not self._check(len(self.text)):
            return ""
        released, self.released = self.text[self.released :], len(self.text)
        return released


def _turn_persist(
    turn: TurnInput,
    customer_message_id: int,
    replier: Replier,
    text: str,
    latency_ms: dict[str, float],
    checks: _TurnSafety,
    guard_reasons: tuple[str, ...],
    engine_trace: dict[str, Any],
) -> Message:
    conversation = Conversation.objects.get(id=turn.conversation_id)
    with transaction.atomic():
        reply, _ = message_create(
            conversation=conversation,
            sender=Message.Sender.BOT,
            text=text,
            # One reply per customer message, even if a turn were run twice.
            client_message_id=f"reply-{customer_message_id}",
            sources=list(replier.meta.sources),
            publish=False,
        )
        engine = dict(engine_trace)
        stages = {**engine.pop("latency_ms", {}), **latency_ms}
        top = (engine.get("nlu") or {}).get("intents") or [{}]
        data: dict[str, Any] = {
            **engine,
            "version": TRACE_VERSION,
            "inbound": {"redactions": checks.inbound, "injection": checks.injection},
            "guard": {"blocked": bool(guard_reasons), "reasons": list(guard_reasons)},
            "route": {"name": replier.meta.route, "reason": replier.meta.reason},
            "sources": list(replier.meta.sources),
            "generator": {"engine": type(replier).__name__, **replier.meta.generator},
            "latency_ms": stages,
        }
        TurnTrace.objects.update_or_create(
            conversation=conversation,
            customer_message_id=customer_message_id,
            defaults={
                "workspace_id": conversation.workspace_id,
                "reply_message": reply,
                "route": replier.meta.route,
                "intent": top[0].get("name") or "",
                "intent_score": top[0].get("score"),
                "latency_ms": latency_ms["total"],
                "data": data,
            },
        )
    return reply


class _DeltaStream:
    """Publishes reply chunks as they come. While one publish is in flight, newer chunks wait
    and go out together in the next one: a slow generator streams token by token, a fast one
    doesn't flood the channel layer with a message per token."""

    def __init__(self, group: str, conversation_id: int, stream_id: str):
        self.group = group
        self.conversation_id = conversation_id
        self.stream_id = stream_id
        self.pending: list[str] = []
        self.sender: asyncio.Task[None] | None = None

    def push(self, chunk: str) -> None:
        self.pending.append(chunk)
        if self.sender is None or self.sender.done():
            self.sender = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        while self.pending:
            delta = "".join(self.pending)
            self.pending.clear()
            await events.apublish(
                self.group,
                events.event(
                    "message.delta",
                    conversation_id=self.conversation_id,
                    stream_id=self.stream_id,
                    delta=delta,
                ),
            )

    async def finish(self) -> None:
        if self.sender is not None:
            await self.sender


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 2)


async def turn_handle(*, turn: TurnInput, customer_message_id: int) -> Message:
    """Answers one customer message (the caller checked the bot has the conversation).

    inbound safety (injection policy) -> reply stream -> output guard -> stream and persist.
    """
    started = time.perf_counter()
    conversation_id = turn.conversation_id
    latency: dict[str, float] = {}
    checks = await db_async(_turn_safety)(turn, customer_message_id)
    latency["safety_in"] = _ms(started)
    replier = _replier_for(checks)
    group = events.conversation_group(conversation_id)
    stream_id = f"turn-{customer_message_id}"
    await events.apublish(
        group, events.event("typing", conversation_id=conversation_id, sender="bot", active=True)
    )
    stream = _DeltaStream(group, conversation_id, stream_id)
    guarded = _GuardedText(checks.guard, checks.customer_keys)
    async for chunk in replier.stream(turn):
        released = await guarded.feed(chunk)
        if released:
            latency.setdefault("first_chunk", _ms(started))
            stream.push(released)
        if guarded.reasons:
            break
        await asyncio.sleep(0)  # let the publisher run between chunks
    released = await guarded.finish()
    if released:
        latency.setdefault("first_chunk", _ms(started))
        stream.push(released)
    await stream.finish()
    latency["generate"] = _ms(started)
    text = guarded.text
    engine_trace: dict[str, Any] = getattr(replier, "engine_trace", {}) or {}
    if guarded.reasons:
        replier = StaticReplier(
            BLOCKED_REPLY,
            ReplyMeta(route=replier.meta.route, reason=f"{replier.meta.reason}; reply blocked"),
        )
        text = BLOCKED_REPLY.get(turn.language, BLOCKED_REPLY["en"])
    latency["total"] = _ms(started)
    reply: Message = await db_async(_turn_persist)(
        turn, customer_message_id, replier, text, latency, checks, guarded.reasons, engine_trace
    )
    await events.apublish(
        group,
        events.event(
            "message.done",
            conversation_id=conversation_id,
            stream_id=stream_id,
            message=events.message_payload(reply),  # a bot reply has no agent to load
        ),
    )
    return reply


def turn_start(*, turn: TurnInput, customer_message_id: int) -> asyncio.Task[Message]:
    """Runs ``turn_handle`` in the background of this process's event loop."""
    task = asyncio.get_running_loop().create_task(
        turn_handle(turn=turn, customer_message_id=customer_message_id)
    )
    _running.add(task)
    task.add_done_callback(_turn_finished)
    return task


def _turn_finished(task: asyncio.Task[Message]) -> None:
    _running.discard(task)
    if not task.cancelled() and task.exception() is not None:
        logger.error("turn failed", exc_info=task.exception())
