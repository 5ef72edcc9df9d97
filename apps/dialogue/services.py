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

from apps.accounts.models import Workspace
from apps.chat import events
from apps.chat.models import Conversation, Message
from apps.chat.selectors import bot_turns_due
from apps.chat.services import (
    ClaimedTurn,
    bot_turn_claim,
    bot_turn_done,
    bot_turn_fail,
    bot_turn_renew,
    conversation_handoff,
    message_create,
)
from apps.core import metrics
from apps.core.db import db_async
from apps.core.exceptions import NotFound
from apps.dialogue import hooks
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
from apps.knowledge.selectors import published_contacts_get
from apps.nlu.runtime import model_for
from apps.safety import services as safety

logger = logging.getLogger(__name__)

TRACE_VERSION = 1


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
        guard=safety.output_guard_for(
            workspace=conversation.workspace,
            published_values=published_contacts_get(workspace=conversation.workspace),
            policy=policy,
        ),
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
            # The model registry's versions that answered (None: no model, or not used).
            "versions": {
                "nlu": (engine.get("nlu") or {}).get("version"),
                "adapter": replier.meta.generator.get("adapter_version"),
            },
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
        bot_turn_done(customer_message_id=customer_message_id)
        transaction.on_commit(
            lambda: metrics.turn_observe(trace=data, customer_text=turn.text, reply_text=text)
        )
    return reply


class _DeltaStream:
    """Publishes reply chunks as they come. While one publish is in flight, newer chunks wait
    and go out together in the next one: a slow generator streams token by token, a fast one
    doesn't flood the channel layer with a message per token."""

    def __init__(self, group: str, conversation_id: int, stream_id: str, *, restart: bool):
        self.group = group
        self.conversation_id = conversation_id
        self.stream_id = stream_id
        # A retried turn streams under the same id; its first delta tells clients to start over.
        self.restart = restart
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
            extra = {"restart": True} if self.restart else {}
            event = events.event(
                "message.delta",
                conversation_id=self.conversation_id,
                stream_id=self.stream_id,
                delta=delta,
                **extra,
            )
            if await _publish_quietly(self.group, event):
                self.restart = False

    async def finish(self) -> None:
        if self.sender is not None:
            await self.sender


async def _publish_quietly(group: str, event: dict[str, Any]) -> bool:
    """Publishes a courtesy event (typing, a streamed delta). A broker that is down loses it
    and the turn goes on: the stored reply and its ``message.done`` are what count, and a client
    that missed deltas gets the whole reply with them (or with its next sync or resend)."""
    try:
        await events.apublish(group, event)
    except Exception:
        logger.warning("%s not published to %s", event.get("type"), group, exc_info=True)
        return False
    return True


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 2)


async def turn_handle(*, turn: TurnInput, customer_message_id: int, attempt: int = 1) -> Message:
    """Answers one customer message (the caller holds its bot turn: see ``turn_run``).

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
    typing = events.event("typing", conversation_id=conversation_id, sender="bot", active=True)
    await _publish_quietly(group, typing)
    stream = _DeltaStream(group, conversation_id, stream_id, restart=attempt > 1)
    guarded = _GuardedText(checks.guard, checks.customer_keys)
    guarding = 0.0
    async for chunk in replier.stream(turn):
        mark = time.perf_counter()
        released = await guarded.feed(chunk)
        guarding += time.perf_counter() - mark
        if released:
            latency.setdefault("first_chunk", _ms(started))
            stream.push(released)
        if guarded.reasons:
            break
        await asyncio.sleep(0)  # let the publisher run between chunks
    mark = time.perf_counter()
    released = await guarded.finish()
    latency["guard"] = round((guarding + time.perf_counter() - mark) * 1000, 2)
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
    done = events.event(
        "message.done",
        conversation_id=conversation_id,
        stream_id=stream_id,
        message=events.message_payload(reply),  # a bot reply has no agent to load
    )
    for delay in (0.2, 1.0, 0):
        try:
            await events.apublish(group, done)
            break
        except Exception:
            # The reply is stored: a client that misses this event gets it with its next sync.
            logger.warning("message.done not published conversation=%s", conversation_id)
            await asyncio.sleep(delay)
    return reply


# --- running turns: once per stored message, again after a failure or a dead process -----------

# Customer message id -> the task running its turn in this process.
_running: dict[int, asyncio.Task[Message | None]] = {}
# The event loop that runs this process's turns (a server has one), for starts from other threads.
_loop: asyncio.AbstractEventLoop | None = None
_recovery: asyncio.Task[None] | None = None


async def turn_run(*, customer_message_id: int) -> Message | None:
    """Claims the message's bot turn and runs it, renewing the lease while it runs. A failure
    puts the turn back to be tried again later (or hands the conversation to a person after the
    last attempt). ``None`` when the turn was not this process's to run."""
    try:
        claim = await db_async(bot_turn_claim)(
            customer_message_id=customer_message_id, lease_seconds=settings.TURN_LEASE_SECONDS
        )
    except Exception:
        # The database went away: the turn is still waiting, the recovery loop tries again.
        logger.warning("bot turn not claimed message=%s", customer_message_id, exc_info=True)
        return None
    if claim is None:
        return None
    turn = TurnInput(
        workspace_id=claim.workspace_id,
        language=claim.language,
        conversation_id=claim.conversation_id,
        text=claim.text,
    )
    heartbeat = asyncio.get_running_loop().create_task(_lease_keep(claim))
    try:
        return await turn_handle(
            turn=turn, customer_message_id=customer_message_id, attempt=claim.attempt
        )
    except Exception as exc:
        logger.exception("bot turn failed message=%s", customer_message_id)
        try:
            await db_async(bot_turn_fail)(
                customer_message_id=customer_message_id,
                attempt=claim.attempt,
                error=type(exc).__name__,
            )
        except Exception:
            # The lease runs out and the recovery loop takes the turn again.
            logger.exception("bot turn failure not recorded message=%s", customer_message_id)
        return None
    finally:
        heartbeat.cancel()


async def _lease_keep(claim: ClaimedTurn) -> None:
    interval = settings.TURN_LEASE_SECONDS / 3
    while True:
        await asyncio.sleep(interval)
        try:
            held = await db_async(bot_turn_renew)(
                customer_message_id=claim.customer_message_id,
                attempt=claim.attempt,
                lease_seconds=settings.TURN_LEASE_SECONDS,
            )
        except Exception:
            logger.warning("lease not renewed message=%s", claim.customer_message_id)
            continue
        if not held:
            return


def turn_start(*, customer_message_id: int) -> asyncio.Task[Message | None]:
    """Runs the message's bot turn in the background of this process's event loop (once: a
    second start while it runs returns the running task)."""
    loop = asyncio.get_running_loop()
    running = _running.get(customer_message_id)
    if running is not None and not running.done() and running.get_loop() is loop:
        return running
    task = loop.create_task(turn_run(customer_message_id=customer_message_id))
    _running[customer_message_id] = task

    def finished(done: asyncio.Task[Message | None]) -> None:
        if _running.get(customer_message_id) is done:
            del _running[customer_message_id]

    task.add_done_callback(finished)
    return task


def turn_dispatch(*, customer_message_id: int) -> None:
    """``turn_start`` from synchronous code (a REST view in a worker thread): hands the start to
    the server's event loop. Where no loop runs yet, the recovery loop starts it once one does."""
    loop = _loop
    if loop is not None and loop.is_running() and not loop.is_closed():
        loop.call_soon_threadsafe(lambda: turn_start(customer_message_id=customer_message_id))


async def turns_recover(*, limit: int = 50) -> list[int]:
    """Starts the turns that are due and not running in this process: those waiting after a
    failure, and those held by a process that died. Returns their message ids."""
    due = await db_async(bot_turns_due)(limit=limit)
    started = [message_id for message_id in due if message_id not in _running]
    for message_id in started:
        turn_start(customer_message_id=message_id)
    return started


def turn_recovery_ensure() -> None:
    """Starts this process's recovery loop on the running event loop (once per loop)."""
    global _loop, _recovery
    loop = asyncio.get_running_loop()
    _loop = loop
    if settings.TURN_RECOVERY_INTERVAL_SECONDS <= 0:
        return  # switched off (the test settings: tests run a pass themselves)
    if _recovery is not None and not _recovery.done() and _recovery.get_loop() is loop:
        return
    _recovery = loop.create_task(_recover_forever())


async def _recover_forever() -> None:
    while True:
        try:
            await turns_recover()
        except Exception:
            logger.warning("bot turn recovery pass failed", exc_info=True)
        await asyncio.sleep(settings.TURN_RECOVERY_INTERVAL_SECONDS)


# --- explaining a turn's intent -------------------------------------------------------------


def trace_explain(*, trace_id: int) -> dict[str, Any] | None:
    """SHAP attributions for the intent a turn was routed by, stored in its trace (the analyst's
    "why"). Runs in a task: about a second of CPU. Returns None when there is nothing to explain
    (no intent, or the workspace has no model any more)."""
    from ml.nlu.explain import explain

    trace = TurnTrace.objects.select_related("workspace", "conversation", "customer_message").get(
        pk=trace_id
    )
    # The model that serves the turn's customer (the canary's customers are explained by it).
    model = model_for(
        workspace=trace.workspace, session_key=str(trace.conversation.customer_session_id)
    )
    if model is None or not trace.intent or trace.customer_message is None:
        return None
    if trace.intent not in model.labels.intents:
        return None
    result = explain(model, trace.customer_message.text, intent=trace.intent)
    explanation = {
        "intent": result.intent,
        "tokens": [{"token": t.token, "weight": t.weight} for t in result.tokens],
        "seconds": round(result.seconds, 3),
    }
    with transaction.atomic():
        locked = TurnTrace.objects.select_for_update().get(pk=trace_id)
        locked.data = {**locked.data, "explanation": explanation}
        locked.save(update_fields=["data"])
    return explanation


def trace_explain_request(*, workspace: Workspace, trace_id: int) -> None:
    if not TurnTrace.objects.filter(workspace=workspace, pk=trace_id).exists():
        raise NotFound("no such turn in this workspace")
    transaction.on_commit(lambda: hooks.trace_explain_queue(trace_id))
