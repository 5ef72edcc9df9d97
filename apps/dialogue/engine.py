"""The dialogue engine: one customer turn through NLU, state tracking, policy and a handler.

    safety in (turn_handle) -> NLU -> state update -> policy -> handler -> guard + stream
                                                               (turn_handle)
Handlers: ``faq`` retrieves passages and answers from the best one (extractive), ``flow`` asks,
confirms and acts, ``smalltalk`` answers from the workspace's replies, ``clarify`` asks to
rephrase, ``handoff`` passes the conversation to a person with a summary for the agent. Each
stage's latency, the NLU output, the state before and after, and the route with its reason go
into the turn trace.

The state row is locked while a turn is decided, so two workers taking alternate turns of one
conversation read and write one consistent state.
"""

import logging
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from typing import Any

import httpx
from django.db import transaction

from apps.accounts.models import Workspace
from apps.chat.models import Conversation, Message
from apps.chat.services import conversation_handoff
from apps.core.db import db_async
from apps.dialogue.models import ConversationState, DialogueSettings, Flow
from apps.dialogue.replies import HANDOFF_NOTICE, ReplyMeta, TurnInput
from apps.dialogue.response_cache import (
    CachedAnswer,
    answer_cache_put,
    answer_lookup,
    cached_compute,
)
from apps.generation.services import (
    AdapterPick,
    adapter_pick,
    answer_filler_get,
    answer_stream,
    conversation_turns,
    engine_identity,
    passages_from_retrieval,
)
from apps.knowledge.services.audit import knowledge_version
from apps.knowledge.services.search import (
    chunk_intents,
    intent_answered,
    knowledge_retrieve,
    title_similarity,
)
from apps.knowledge.services.variables import answer_stream_filled, sources_filled
from apps.nlu.runtime import model_serving
from ml.dialogue.control import control_read, control_reply, leans_on_context
from ml.dialogue.flows import FlowSpec, flow_step, render
from ml.dialogue.policy import (
    HOW_QUESTION,
    OFFERED_PERSON,
    Route,
    RoutingConfig,
    gives_details,
    route_decide,
)
from ml.dialogue.state import DialogueState, SlotVocabulary, state_update
from ml.dialogue.triggers import trigger_match
from ml.generation.contracts import Passage, Turn
from ml.generation.prompts import SYSTEM_PROMPT
from ml.nlu.contracts import NluResult
from ml.retrieval.contracts import RetrievedPassage
from ml.serving.fallback import GenerationTrace, passages_cited

logger = logging.getLogger(__name__)

CLARIFY = "Sorry, I didn't quite get that. Could you say it another way?"
NOT_FOUND = (
    "I couldn't find that in our help articles. Could you rephrase, or shall I connect you with "
    "a person?"
)
SMALLTALK_DEFAULT = "Hello! How can I help you today?"
PASSAGES = 3
# A follow-up this short that the model can't place alone is read with the customer's previous
# message ("and how long does that take?").
FOLLOW_UP_WORDS = 12


@dataclass
class TurnDecision:
    text: str
    meta: ReplyMeta
    trace: dict[str, Any] = field(default_factory=dict)
    # For a knowledge-base answer: what the generator answers from.
    workspace: Workspace | None = None
    turns: list[Turn] = field(default_factory=list)
    passages: list[Passage] = field(default_factory=list)
    # The generator adapter (and its registry version) for this customer session.
    adapter: AdapterPick | None = None
    # After a digression: the question the flow under way waits for, said after the answer.
    resume: str = ""


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 2)


def routing_config(workspace: Workspace) -> tuple[RoutingConfig, DialogueSettings]:
    settings_row = DialogueSettings.objects.filter(workspace=workspace).first() or DialogueSettings(
        workspace=workspace
    )
    flows = {
        flow.intent: FlowSpec.from_json({"name": flow.name, "intent": flow.intent, **flow.spec})
        for flow in Flow.objects.filter(workspace=workspace, enabled=True)
    }
    config = RoutingConfig(
        flows=flows,
        smalltalk_intents=frozenset(settings_row.smalltalk_intents),
        handoff_intents=frozenset(settings_row.handoff_intents),
        sensitive_intents=frozenset(settings_row.sensitive_intents),
        min_confidence=settings_row.min_confidence,
        switch_confidence=settings_row.switch_confidence,
        max_low_confidence_turns=settings_row.max_low_confidence_turns,
        negative_threshold=settings_row.negative_threshold,
        max_negative_turns=settings_row.max_negative_turns,
        languages=frozenset(settings_row.languages or ["en"]),
    )
    return config, settings_row


def _vocabularies(config: RoutingConfig) -> dict[str, SlotVocabulary]:
    return {
        slot.name: SlotVocabulary(values=slot.choices, mentions=(slot.name.replace("_", " "),))
        for flow in config.flows.values()
        for slot in flow.slots
        if slot.choices
    }


def _asked(state: DialogueState) -> list[str]:
    pending = state.pending_question or ""
    return [pending.split(":")[2]] if pending.startswith("slot:") else []


def _nlu_trace(nlu: NluResult) -> dict[str, Any]:
    return {
        "intents": [{"name": i.intent, "score": i.score} for i in nlu.intents[:5]],
        "oos": nlu.is_oos,
        "oos_score": nlu.oos_score,
        "slots": [
            {"slot": s.slot, "value": s.value, "start": s.start, "end": s.end} for s in nlu.slots
        ],
        "sentiment": nlu.sentiment,
        "sentiment_scores": nlu.sentiment_scores,
    }


NO_MODEL: dict[str, Any] = {"model": "none", "version": None}


def _understand(
    workspace: Workspace, text: str, session_key: str
) -> tuple[NluResult, dict[str, Any]]:
    """The NLU result, and which model gave it: its name and its registry version (the
    champion, or the canary for a session in the canary's share)."""
    served = model_serving(workspace=workspace, session_key=session_key)
    if served is None:
        # No trained model yet: every message is a question for the knowledge base.
        return NluResult(text=text, intents=(), is_oos=False, oos_score=0.0), NO_MODEL
    version = served.run.to_trace()
    result = cached_compute(
        stage="nlu",
        workspace_id=workspace.pk,
        text=text,
        # The adapter's name carries its weights' digest; a refit moves the threshold.
        versions={
            "run": version,
            "adapter": served.model.adapter,
            "oos": served.model.oos.threshold,
        },
        compute=lambda: served.model.predict([text])[0],
    )
    model = {"model": str(served.model.meta.get("name", "")), "version": version}
    return result, model


def _retrieve(
    workspace: Workspace, text: str, intent: str | None = None, context: list[str] | None = None
) -> list[RetrievedPassage]:
    """The passages for ``text`` (the injection-flagged ones left out), from the response cache
    when the same query met the same knowledge base version."""

    def compute() -> list[RetrievedPassage]:
        found = knowledge_retrieve(
            workspace=workspace, query=text, k=PASSAGES, intent=intent, context=context or []
        )
        return [p for p in found if not p.injection_flagged]

    if context:  # the conversation's earlier words: one customer's, not a frequent question
        return compute()
    return cached_compute(
        stage="retrieval",
        workspace_id=workspace.pk,
        text=text,
        versions={
            "knowledge": knowledge_version(workspace_id=workspace.pk),
            "k": PASSAGES,
            "intent": intent,
        },
        compute=compute,
    )


def _faq(
    workspace: Workspace, text: str, intent: str | None, context: list[str]
) -> tuple[list[RetrievedPassage], list[dict[str, Any]]]:
    passages = _retrieve(workspace, text, intent, context)
    return passages, _sources(passages)


def _sources(passages: list[RetrievedPassage]) -> list[dict[str, Any]]:
    return [
        {
            "id": p.chunk_id,
            "title": p.title or " / ".join(p.heading_path),
            "source": p.source,
            "score": round(p.score, 4),
            "channels": {hit.channel: round(hit.score, 4) for hit in p.channels},
            "found_by": list(p.found_by),
        }
        for p in passages
    ]


def _act(
    spec: FlowSpec, values: dict[str, str], conversation: Conversation, language: str
) -> tuple[str, dict[str, Any]]:
    if spec.action == "canned":
        return render(spec.text("result", language), values), {"action": "canned"}
    try:
        response = httpx.post(
            spec.endpoint,
            json={"flow": spec.name, "conversation_id": conversation.pk, "slots": values},
            timeout=spec.timeout_s,
        )
        response.raise_for_status()
        body = (
            response.json()
            if response.headers.get("content-type", "").startswith("application/json")
            else {}
        )
    except (httpx.HTTPError, ValueError) as error:
        logger.warning("flow action failed flow=%s error=%s", spec.name, type(error).__name__)
        return "", {"action": "https", "ok": False, "error": type(error).__name__}
    message = str(body.get("message", "")) if isinstance(body, dict) else ""
    return message or render(spec.text("result", language), values), {
        "action": "https",
        "ok": True,
        "status": response.status_code,
    }


def handoff_summary(conversation: Conversation, state: DialogueState, reason: str) -> str:
    """What the agent reads first: why, what the customer wants, what the bot already knows."""
    recent = list(
        Message.objects.filter(conversation=conversation, sender=Message.Sender.CUSTOMER)
        .order_by("-created_at")
        .values_list("text", flat=True)[:3]
    )[::-1]
    slots = ", ".join(f"{k}={v}" for k, v in state.values().items()) or "none"
    intents = ", ".join(dict.fromkeys(reversed(state.intent_history))) or "unknown"
    lines = [
        f"Handed off: {reason}.",
        f"Intent(s): {intents}. Known details: {slots}.",
        "Customer said: " + " | ".join(t[:200] for t in recent),
    ]
    return "\n".join(lines)


def _previous_customer_text(conversation: Conversation, turn: TurnInput) -> str:
    """The customer's message before this one (stored, so redacted), for a follow-up."""
    texts = list(
        Message.objects.filter(conversation=conversation, sender=Message.Sender.CUSTOMER)
        .order_by("-id")
        .values_list("text", flat=True)[:2]
    )
    # The newest stored message is this turn's own.
    return texts[1] if len(texts) > 1 and texts[0] == turn.text else (texts[0] if texts else "")


def _confident(nlu: NluResult, config: RoutingConfig) -> bool:
    return bool(nlu.intents) and not nlu.is_oos and nlu.confidence >= config.min_confidence


def _understand_in_context(
    workspace: Workspace,
    conversation: Conversation,
    turn: TurnInput,
    text: str,
    before: DialogueState,
    config: RoutingConfig,
) -> tuple[NluResult, dict[str, Any], dict[str, Any]]:
    """NLU on the message; a short follow-up it can't place alone ("and what about the rest of
    my balance?") is read again after the customer's previous message, and taken so when that
    is understood. Returns the result, the model, and what the context did (for the trace)."""
    session_key = str(conversation.customer_session_id)
    nlu, nlu_model = _understand(workspace, text, session_key)
    if _confident(nlu, config) or not nlu.intents or before.active_intent is None:
        return nlu, nlu_model, {}
    if len(re.findall(r"\w+", text)) > FOLLOW_UP_WORDS or not leans_on_context(text):
        return nlu, nlu_model, {}
    previous = _previous_customer_text(conversation, turn)
    if not previous:
        return nlu, nlu_model, {}
    joined, _ = _understand(workspace, f"{previous} {text}", session_key)
    used = _confident(joined, config)
    context = {"previous": previous, "intent": joined.intent, "score": joined.confidence}
    if not used:
        return nlu, nlu_model, {**context, "used": False}
    # The customer's words, understood with the context.
    return replace(joined, text=nlu.text), nlu_model, {**context, "used": True}


def _flow_tasks(config: RoutingConfig, language: str) -> list[str]:
    return [t for f in config.flows.values() if (t := f.title_in(language))]


def _resume(config: RoutingConfig, state: DialogueState, language: str) -> str:
    """After a digression, the question the flow under way is waiting for."""
    pending = state.pending_question or ""
    if not pending.startswith(("slot:", "confirm:")):
        return ""
    name = pending.split(":")[1]
    spec = next((f for f in config.flows.values() if f.name == name), None)
    if spec is None:
        return ""
    if pending.startswith("confirm:"):
        question = render(spec.text("confirm", language), state.values())
    else:
        question = spec.text(f"{pending.split(':')[2]}.prompt", language)
    task = spec.title_in(language) or spec.name.replace("_", " ")
    return control_reply("resume", language, tasks=[], overrides={}).format(
        task=task, question=question
    )


def _plain_retrieval(workspace: Workspace, text: str) -> list[RetrievedPassage]:
    """Retrieval without an intent's preference: what the two second opinions below read."""
    return _retrieve(workspace, text)


def _near_match(
    retrieved: list[RetrievedPassage], text: str, threshold: float
) -> tuple[list[RetrievedPassage], float]:
    """The passages, best title first, when an article's title says what the customer asked,
    nearly word for word."""
    titled = [p for p in retrieved if p.title]
    if threshold <= 0 or not titled:
        return [], 0.0
    similarity = title_similarity(text, [p.title for p in titled])
    best = max(range(len(titled)), key=lambda i: similarity[i])
    if similarity[best] < threshold:
        return [], similarity[best]
    return [titled[best], *(p for i, p in enumerate(titled) if i != best)], similarity[best]


def _agreeing(
    workspace: Workspace, retrieved: list[RetrievedPassage], intent: str
) -> list[RetrievedPassage]:
    """The passages for an unsure intent when retrieval, asked without it, puts an article of
    that intent first: two readings that agree make an answer neither makes alone."""
    if not retrieved:
        return []
    intents = chunk_intents(workspace, [retrieved[0].chunk_id])
    return retrieved if intent in intents.get(retrieved[0].chunk_id, []) else []


def _decide_locked(turn: TurnInput) -> TurnDecision:
    started = time.perf_counter()
    latency: dict[str, float] = {}
    conversation = Conversation.objects.select_related("workspace").get(id=turn.conversation_id)
    workspace = conversation.workspace
    row, _ = ConversationState.objects.select_for_update().get_or_create(conversation=conversation)
    before = DialogueState.from_json(row.data)
    config, settings_row = routing_config(workspace)
    latency["load"] = _ms(started)

    mark = time.perf_counter()
    pending = before.pending_question or ""
    control = control_read(turn.text, flow_under_way=pending.startswith(("slot:", "confirm:")))
    # "4821" is in no language: the conversation's stays.
    worded = re.search(r"[^\W\d_]", turn.text) is not None
    language = control.language if worded else before.language
    if language != control.language:
        control = replace(control, language=language)
    text = control.rest or turn.text
    context: dict[str, Any] = {}
    trigger = None
    nlu, nlu_model = NluResult(text=turn.text, intents=(), is_oos=False, oos_score=0.0), NO_MODEL
    understood = control.act is None and language in config.languages
    if understood:
        nlu, nlu_model, context = _understand_in_context(
            workspace, conversation, turn, text, before, config
        )
    if control.act is None:
        triggers = {f.name: f.triggers for f in config.flows.values() if f.triggers}
        trigger = trigger_match(text, triggers) if triggers else None
    latency["nlu"] = _ms(mark)

    mark = time.perf_counter()
    state = state_update(
        before,
        nlu,
        vocabularies=_vocabularies(config),
        asked=_asked(before),
        low_confidence=config.min_confidence,
        conversational=not understood,
    )
    state = replace(state, language=language)
    latency["state"] = _ms(mark)

    mark = time.perf_counter()
    route: Route = (
        route_decide(state, nlu, config, control=control, trigger=trigger)
        if nlu.intents or not understood or trigger
        else Route("faq", "no NLU model: the knowledge base answers")
    )
    near = 0.0
    retrieved: list[RetrievedPassage] = []
    starting = route.name == "flow" and not pending.startswith(("slot:", "confirm:"))
    if starting and route.intent and HOW_QUESTION.search(text):
        spec = next(f for f in config.flows.values() if f.name == route.flow)
        # "How do I cancel a transfer?" asks how, not to cancel one now: the article answers.
        if not gives_details(spec, text) and intent_answered(workspace, route.intent):
            route = Route("faq", f"a question how {spec.name} works; {route.reason}", route.intent)
    retrieval = 0.0
    if route.name in ("clarify", "decline") and understood:
        searched = time.perf_counter()
        plain = _plain_retrieval(workspace, text)
        retrieval += time.perf_counter() - searched
        retrieved, near = _near_match(plain, text, settings_row.near_match_threshold)
        if retrieved:
            route = Route("faq", f"near match to an article title ({near:.2f}); {route.reason}")
        elif route.name == "clarify" and nlu.intent:
            retrieved = _agreeing(workspace, plain, nlu.intent)
            if retrieved:
                route = Route(
                    "faq",
                    f"the best article answers intent {nlu.intent}, as NLU reads it; "
                    f"{route.reason}",
                    nlu.intent,
                )
        if retrieved:
            state = replace(state, low_confidence_turns=0)
    if state.pending_question == OFFERED_PERSON:
        state = replace(state, pending_question=None)  # the offer stands for one turn
    latency["policy"] = _ms(mark)

    mark = time.perf_counter()
    sources: list[dict[str, Any]] = []
    handler: dict[str, Any] = {}
    tasks = _flow_tasks(config, language)
    if route.name == "flow" and route.flow:
        spec = next(f for f in config.flows.values() if f.name == route.flow)
        step = flow_step(spec, state, text if control.act is None else turn.text, language)
        state = step.state
        handler = {"flow": spec.name, "step": step.kind, "slot": step.slot}
        reply = step.message
        if step.kind == "act":
            reply, handler["result"] = _act(spec, dict(step.values), conversation, language)
            if not reply:
                route = Route("handoff", f"flow {spec.name}: the action failed", route.intent)
                reply = spec.text("failure", language)
    elif route.name == "smalltalk" and control.act is not None:
        reply = control_reply(
            control.act, language, tasks=tasks, overrides=settings_row.smalltalk_replies
        )
    elif route.name == "smalltalk":
        reply = settings_row.smalltalk_replies.get(route.intent or "", SMALLTALK_DEFAULT)
    elif route.name == "decline":
        answers = language in config.languages  # the help centre is in the workspace's languages
        reply = control_reply("decline", language, tasks=tasks, answers=answers, overrides={})
        state = replace(state, pending_question=OFFERED_PERSON)
    elif route.name == "clarify":
        reply = CLARIFY
    elif route.name == "faq":
        query_context = [context["previous"]] if context.get("used") else []
        if retrieved:
            sources = _sources(retrieved)
        else:
            searched = time.perf_counter()
            retrieved, sources = _faq(workspace, text, route.intent, query_context)
            retrieval += time.perf_counter() - searched
        handler = {"passages": len(retrieved)}
        reply = "" if retrieved else NOT_FOUND
        if not retrieved:
            handler["unanswered"] = True
            state = replace(state, pending_question=OFFERED_PERSON)
    else:
        reply = ""
    if route.name == "handoff":
        summary = handoff_summary(conversation, state, route.reason)
        conversation_handoff(conversation_id=conversation.pk, reason=route.reason[:120])
        handler["summary"] = summary
        state = DialogueState(**{**state.__dict__, "summary": summary, "pending_question": None})
        reply = reply or HANDOFF_NOTICE.get(language, HANDOFF_NOTICE["en"])
    resume = "" if route.name in ("flow", "handoff") else _resume(config, state, language)
    if resume and reply:
        reply = f"{reply}\n\n{resume}"
    latency["handler"] = _ms(mark)
    if retrieval:  # inside policy or handler: the knowledge base's share of them
        latency["retrieval"] = round(retrieval * 1000, 2)

    row.data = state.to_json()
    row.version += 1
    row.save(update_fields=["data", "version", "updated_at"])
    trace = {
        "nlu": {**_nlu_trace(nlu), **nlu_model},
        "control": {
            "act": control.act,
            "language": language,
            "opened": control.opened,
            "angry": control.angry,
        },
        "context": context,
        "trigger": (
            {"flow": trigger.key, "phrase": trigger.phrase, "score": trigger.score}
            if trigger
            else None
        ),
        "near_match": near,
        "state": {"before": before.to_json(), "after": state.to_json(), "version": row.version},
        "handler": handler,
        "latency_ms": latency,
    }
    meta = ReplyMeta(route=route.name, reason=route.reason, sources=tuple(sources))
    decision = TurnDecision(text=reply, meta=meta, trace=trace, resume=resume)
    if route.name == "faq" and not reply:
        decision.workspace = workspace
        decision.turns = conversation_turns(conversation.pk)
        decision.passages = passages_from_retrieval(retrieved)
        decision.adapter = adapter_pick(
            workspace=workspace, session_key=str(conversation.customer_session_id)
        )
    return decision


def turn_decide(turn: TurnInput) -> TurnDecision:
    with transaction.atomic():
        return _decide_locked(turn)


def _pieces(text: str) -> list[str]:
    parts = re.findall(r"\S+\s*", text)
    return parts or [text]


class EngineReplier:
    """The dialogue engine as a replier (``DIALOGUE_REPLIER``): decides, then streams; a
    knowledge-base answer comes from the generator chain (vLLM, in process, or the best passage
    when neither is there), every other reply from the handler."""

    def __init__(self) -> None:
        self.meta = ReplyMeta(route="pending", reason="")
        self.engine_trace: dict[str, Any] = {}

    async def stream(self, turn: TurnInput) -> AsyncIterator[str]:
        decision = await db_async(turn_decide)(turn)
        filler = await db_async(answer_filler_get)(
            workspace_id=turn.workspace_id, conversation_id=turn.conversation_id
        )
        # Every text the customer reads (an answer, a flow's question, a handler's reply, the
        # sources' titles) shows the workspace's variable values and no one else's placeholder.
        self.meta = replace(decision.meta, sources=sources_filled(decision.meta.sources, filler))
        self.engine_trace = decision.trace
        async for piece in answer_stream_filled(self._text(decision, turn.text), filler):
            yield piece

    async def _text(self, decision: TurnDecision, question: str) -> AsyncIterator[str]:
        if decision.workspace is None:
            for piece in _pieces(decision.text):
                yield piece
            return
        generating = time.perf_counter()
        generation = GenerationTrace()
        generator = {
            "engines": engine_identity(),
            "adapter": decision.adapter.name if decision.adapter else None,
            "adapter_version": decision.adapter.to_trace() if decision.adapter else None,
        }
        key, cached = await db_async(answer_lookup)(
            workspace_id=decision.workspace.pk,
            question=question,
            passage_ids=[p.pid for p in decision.passages],
            generator=generator,
        )
        if cached is not None:
            generation = GenerationTrace.from_json({**cached.generator, "cache": "hit"})
            for piece in _pieces(cached.text):
                yield piece
        else:
            started = time.perf_counter()
            written: list[str] = []
            async for delta in answer_stream(
                workspace=decision.workspace,
                turns=decision.turns,
                passages=decision.passages,
                trace=generation,
                adapter=decision.adapter,
            ):
                written.append(delta)
                yield delta
            if key:
                generation.cache = "miss"
                answer = CachedAnswer("".join(written), generation.to_json())
                seconds = time.perf_counter() - started
                await db_async(answer_cache_put)(key=key, answer=answer, seconds=seconds)
        # The answer's own time (cache lookup or generator), apart from the deciding before it.
        self.engine_trace.setdefault("latency_ms", {})["generation"] = _ms(generating)
        if decision.resume:
            yield f"\n\n{decision.resume}"
        sources = self.meta.sources
        # The passages the answer cites are its sources; all of them when it cites none.
        if cited := {p.source_id for p in passages_cited(decision.passages, generation.cited)}:
            sources = tuple(source for source in sources if source.get("id") in cited)
        self.meta = replace(
            self.meta,
            sources=sources,
            system_prompt=SYSTEM_PROMPT,
            generator={
                **generation.to_json(),
                "adapter_version": decision.adapter.to_trace() if decision.adapter else None,
            },
        )
